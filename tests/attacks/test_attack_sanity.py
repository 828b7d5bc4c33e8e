"""The battery's sanity check (robviz.attacks.sanity) and worst case over the battery per point."""

import math

import pytest
import torch

from robviz.attacks import FGSM, PGD, BatteryCheck, RobustnessTable, battery_sanity, robust_accuracy


def row(attack, eps, robust, model="m"):
    robust = torch.tensor(robust)
    return dict(
        model=model,
        attack=attack,
        eps=eps,
        accuracy=robust.float().mean().item(),
        distance=math.nan,
        n=len(robust),
        robust=robust,
    )


def table_of(pgd_at_half):
    """Four points; FGSM breaks points 1 and 2 at 0.5; PGD at 0.5 is given; BIM breaks 0 and 2."""
    return RobustnessTable(
        [
            row("clean", None, [True, True, True, True]),
            row("FGSM", 0.25, [True, True, False, True]),
            row("PGD", 0.25, [True, False, False, True]),
            row("FGSM", 0.5, [True, False, False, True]),
            row("PGD", 0.5, pgd_at_half),
            row("BIM", 0.5, [False, True, False, True]),
        ]
    )


def test_the_flag_fires_when_a_multi_step_attack_leaves_more_points_than_fgsm():
    # PGD at 0.5 leaves 3 of 4 points, FGSM 2 of 4: PGD survives on point 1, which FGSM broke
    check = battery_sanity(table_of([True, True, False, True]))
    assert isinstance(check, BatteryCheck) and check.looks_weak
    assert check.compared == 3  # PGD at 0.25, PGD and BIM at 0.5
    assert check.flags == [
        dict(
            model="m",
            eps=0.5,
            attack="PGD",
            one_step="FGSM",
            accuracy=0.75,
            one_step_accuracy=0.5,
            points=1,
        )
    ]
    assert (
        "PGD leaves 75.0% correct, one-step FGSM 50.0%" in check.verdict
        and "eps 0.5" in check.verdict
    )


def test_the_flag_does_not_fire_when_every_multi_step_attack_is_at_least_as_strong():
    # equal accuracy on other points is no flag: BIM breaks different points, as many as FGSM
    check = battery_sanity(table_of([True, False, False, False]))
    assert not check.looks_weak and check.flags == [] and check.compared == 3
    assert "at least as strong as FGSM" in check.verdict
    # a tolerance of 0.25 lets the one-point excess through; only the named attacks are compared
    assert not battery_sanity(table_of([True, True, False, True]), tolerance=0.25).looks_weak
    assert battery_sanity(table_of([True, True, False, True]), multi_step="BIM").compared == 1
    assert not battery_sanity(table_of([True, True, False, True]), multi_step=["BIM"]).looks_weak


def test_tables_without_per_point_results_are_flagged_without_a_count():
    rows = [
        {k: v for k, v in r.items() if k != "robust"}
        for r in table_of([True, True, True, True]).rows
    ]
    check = battery_sanity(RobustnessTable(rows))
    assert (
        check.looks_weak and check.flags[0]["points"] is None and check.flags[0]["accuracy"] == 1.0
    )


def test_battery_sanity_refuses_what_it_cannot_compare():
    table = table_of([True, False, False, True])
    with pytest.raises(ValueError, match="one_step must be an attack of the table"):
        battery_sanity(table, one_step="fgsm")
    with pytest.raises(ValueError, match="multi_step must name attacks"):
        battery_sanity(table, multi_step="MIM")
    with pytest.raises(ValueError, match="multi_step must name attacks"):
        battery_sanity(table, multi_step="FGSM")
    with pytest.raises(ValueError, match="tolerance must be a finite number"):
        battery_sanity(table, tolerance=-0.1)
    other_points = RobustnessTable(
        [row("FGSM", 0.5, [True, False]), row("PGD", 0.5, [True, True, False])]
    )
    with pytest.raises(ValueError, match="different numbers of points"):
        battery_sanity(other_points)
    apart = RobustnessTable([row("FGSM", 0.5, [True]), row("PGD", 0.25, [True])])
    with pytest.raises(ValueError, match="nothing to compare"):
        battery_sanity(apart)


def test_the_worst_case_is_robust_only_where_every_attack_failed():
    table = table_of([True, True, False, True]).with_worst_case()
    # 0.25: FGSM [T T F T], PGD [T F F T] -> [T F F T]; 0.5: FGSM [T F F T], PGD [T T F T], BIM [F T
    # F T] -> point 3
    assert table.get("worst case", 0.25) == 0.5 and table.get("worst case", 0.5) == 0.25
    assert table.get("worst case", 0.5) < min(table.get(a, 0.5) for a in ("FGSM", "PGD", "BIM"))
    worst = [r for r in table.rows if r["attack"] == "worst case"]
    assert worst[1]["robust"].tolist() == [False, False, False, True]
    assert worst[1]["attacks"] == ["FGSM", "PGD", "BIM"] and worst[1]["n"] == 4
    assert table.columns[-2:] == ["worst case 0.25", "worst case 0.5"]
    only = table_of([True, True, False, True]).with_worst_case(["FGSM", "PGD"], label="FGSM+PGD")
    assert only.get("FGSM+PGD", 0.5) == 0.5


def test_the_worst_case_refuses_rows_it_cannot_combine():
    table = table_of([True, True, False, True])
    with pytest.raises(ValueError, match="already a column"):
        table.with_worst_case(label="PGD")
    with pytest.raises(ValueError, match="attacks must name attacks of the table"):
        table.with_worst_case(["CW"])
    bare = RobustnessTable([{k: v for k, v in r.items() if k != "robust"} for r in table.rows])
    with pytest.raises(ValueError, match="no per-point result 'robust'"):
        bare.with_worst_case()
    with pytest.raises(ValueError, match="no attack with a radius"):
        RobustnessTable([row("clean", None, [True])]).with_worst_case()


def test_a_crippled_pgd_is_flagged_on_a_trained_model_and_a_sound_one_is_not(trained_blobs):
    data, model = trained_blobs(3)
    x, y = data.x_test, data.y_test
    eps = 0.5
    attacks = {
        "FGSM": FGSM(model, eps=eps, bounds=data.bounds),
        "PGD": PGD(model, eps=eps, alpha=eps / 4, steps=20, bounds=data.bounds),
        # two steps of 1/1000 of the radius: it never leaves the clean point's neighbourhood
        "PGD-tiny": PGD(model, eps=eps, alpha=eps / 1000, steps=2, bounds=data.bounds),
    }
    table = robust_accuracy(model, x, y, attacks, progress=False)
    assert table.get("FGSM", eps) < table.get("clean")  # FGSM breaks points at this radius
    check = battery_sanity(table)
    assert [flag["attack"] for flag in check.flags] == ["PGD-tiny"] and check.flags[0]["points"] > 0
    # the per-point results are the attacks' own, and the worst case combines them
    correct = model(x).argmax(1) == y
    again = (
        PGD(model, eps=eps, alpha=eps / 4, steps=20, bounds=data.bounds).run(x, y).prediction == y
    )
    rows = {r["attack"]: r for r in table.rows}
    assert torch.equal(rows["clean"]["robust"], correct) and torch.equal(
        rows["PGD"]["robust"], correct & again
    )
    worst = table.with_worst_case().get("worst case", eps)
    expected = torch.stack([rows[a]["robust"] for a in attacks]).all(0).float().mean().item()
    assert worst == expected <= min(table.get(a, eps) for a in attacks)


def test_get_without_a_radius_refuses_an_attack_run_at_several():
    table = table_of([True, True, True, True])
    assert table.get("clean") == 1.0 and table.get("BIM") == 0.5  # one radius each
    assert table.get("FGSM", 0.5) == 0.5
    with pytest.raises(ValueError, match=r"'FGSM' has rows at several radii \(0.25, 0.5\)"):
        table.get("FGSM")
