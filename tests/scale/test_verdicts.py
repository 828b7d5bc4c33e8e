"""Per-image verdicts in evaluation files, and the exact McNemar test of two evaluated models."""

import json
import math

import numpy as np
import pytest
import torch

from robviz import scale
from robviz.cli import main
from robviz.runtime import predict
from robviz.scale.cifar import to_float

TRAIN = ["train", "--tiny", "--quiet", "--threads", "1", "--epochs", "3", "--train-size", "512"]
EVALUATE = ["--quiet", "--threads", "1", "--pgd-steps", "10"]
BATTERY = ["--attacks", "pgd", "pgd-auto", "noise", "rotation"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny models (SCE, MMC) evaluated on the same 24 synthetic test images."""
    root = tmp_path_factory.mktemp("verdicts")
    files = {}
    for objective in ("sce", "mmc"):
        main(TRAIN + ["--objective", objective, "--out", str(root / objective)])
        files[objective] = root / f"{objective}.json"
        checkpoint = str(root / objective / "checkpoint.pt")
        main(
            ["evaluate", checkpoint, "--n", "24", "--out", str(files[objective])]
            + EVALUATE
            + BATTERY
        )
    checkpoint = str(root / "sce" / "checkpoint.pt")
    files["sce-16"] = root / "sce-16.json"
    main(["evaluate", checkpoint, "--n", "16", "--out", str(files["sce-16"])] + EVALUATE + BATTERY)
    files["sce-pgd"] = root / "sce-pgd.json"
    main(
        ["evaluate", checkpoint, "--n", "24", "--out", str(files["sce-pgd"]), "--attacks", "pgd"]
        + EVALUATE
    )
    return root, files


def _evaluation(verdicts: dict, sha="0" * 64, n=None):
    """A hand-made evaluation: one row per (attack, eps) -> verdict string."""
    n = n or len(next(iter(verdicts.values())))
    rows = [
        dict(model="m", attack=attack, eps=eps, accuracy=text.count("1") / n, n=n, verdicts=text)
        for (attack, eps), text in verdicts.items()
    ]
    images = dict(dataset="synthetic", split="test", start=0, stop=n, sha256=sha)
    return dict(model="m", checkpoint="c.pt", n=n, rows=rows, images=images)


def test_clean_verdicts_round_trip_to_the_models_predictions(runs):
    root, files = runs
    data = scale.read_evaluation(files["sce"])
    assert data["images"]["start"] == 0 and data["images"]["stop"] == data["n"] == 24
    model, trained, _ = scale.load_trained(root / "sce" / "checkpoint.pt")
    test = scale.load_data(trained.dataset, train_size=trained.train_size)
    x, y = to_float(test.x_test[:24]), test.y_test[:24]
    with torch.no_grad():
        correct = (predict(model(x)) == y).numpy()
    decoded = scale.verdicts(files["sce"], "clean", None)
    assert decoded.dtype == bool and np.array_equal(decoded, correct)
    assert 0 < decoded.sum() < len(decoded)  # a model neither always right nor always wrong
    # what evaluate returned and what the file holds give the same verdicts
    assert data["rows"] == json.loads(json.dumps(data["rows"]))
    assert np.array_equal(scale.verdicts(data, "clean", None), decoded)


def test_verdicts_agree_with_the_stored_accuracies_and_the_worst_case(runs):
    _, files = runs
    for key in ("sce", "mmc"):
        data = scale.read_evaluation(files[key])
        clean = scale.verdicts(data, "clean", None)
        rows = data["rows"]
        assert {row["attack"] for row in rows} >= {"clean", "PGD10-un", "worst case", "noise"}
        for row in rows:
            kept = scale.verdicts(data, row["attack"], row["eps"])
            assert len(kept) == row["n"] == data["n"]
            # exactly: the stored accuracy is the count over n (24 images: not a float32 mean)
            assert kept.mean() == row["accuracy"] == kept.sum() / 24, row["attack"]
            assert not (kept & ~clean).any(), row["attack"]  # robust only if correct clean
        for worst in (row for row in rows if row["attack"] == "worst case"):
            each = [scale.verdicts(data, attack, worst["eps"]) for attack in worst["attacks"]]
            assert len(each) == 3
            assert np.array_equal(
                scale.verdicts(data, "worst case", worst["eps"]), np.logical_and.reduce(each)
            )


def test_worst_case_verdicts_are_the_and_over_attacks_where_the_attacks_differ():
    from robviz.attacks import RobustnessTable
    from robviz.scale.evaluate import _json_row

    def row(attack, eps, bits):
        robust = torch.tensor([b == "1" for b in bits])
        return dict(
            model="m",
            attack=attack,
            eps=eps,
            accuracy=robust.float().mean().item(),
            distance=math.nan,
            n=len(bits),
            robust=robust,
        )

    table = RobustnessTable(
        [row("clean", None, "1111110"), row("A", 0.1, "1101100"), row("B", 0.1, "1011100")]
    ).with_worst_case()
    rows = [_json_row(r) for r in table.rows]
    assert [r["verdicts"] for r in rows] == ["1111110", "1101100", "1011100", "1001100"]
    assert rows[-1]["accuracy"] == 3 / 7 and rows[-1]["distance"] is None
    assert "robust" not in rows[-1]


def test_old_files_are_read_and_refused_for_pairing(runs, tmp_path):
    _, files = runs
    old = {}
    for key in ("sce", "mmc"):
        data = json.loads(files[key].read_text())
        del data["images"]
        for row in data["rows"]:
            del row["verdicts"]
        old[key] = tmp_path / f"{key}.json"
        old[key].write_text(json.dumps(data))
    assert scale.read_evaluation(old["sce"])["rows"]
    models, _, values, _ = scale.measured_vs_talk([old["sce"], old["mmc"]])
    assert models == ["sce", "mmc"] and values[0][0] == pytest.approx(
        100 * scale.verdicts(files["sce"], "clean", None).mean()
    )
    with pytest.raises(
        ValueError, match="before robviz evaluate recorded per-image verdicts: re-run"
    ):
        scale.verdicts(old["sce"])
    with pytest.raises(ValueError, match="re-run robviz evaluate"):
        scale.paired_test(old["mmc"], files["sce"])
    with pytest.raises(ValueError, match="re-run robviz evaluate"):
        scale.paired_test(files["mmc"], old["sce"])
    with pytest.raises(ValueError, match="not an evaluation file"):
        scale.read_evaluation({"model": "sce"})


def test_pairing_is_refused_for_different_images(runs, tmp_path):
    _, files = runs
    with pytest.raises(ValueError, match="different images.*0..23.*0..15"):
        scale.paired_test(files["sce"], files["sce-16"])
    # the same indices of other images (another data set, another version): the hash differs
    other = json.loads(files["mmc"].read_text())
    other["images"]["sha256"] = "f" * 64
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    with pytest.raises(ValueError, match="different images"):
        scale.paired_test(files["sce"], path)
    # a worst case over another battery compares batteries, not models
    with pytest.raises(ValueError, match="combine different attacks"):
        scale.paired_test(files["sce"], files["sce-pgd"])
    with pytest.raises(ValueError, match="no row attack='C&W'"):
        scale.paired_test(files["sce"], files["mmc"], "C&W", None)


def _binomial_p(k, m):
    """Two-sided exact binomial p-value of k successes in k + m trials at 1/2, by hand."""
    total = k + m
    if total == 0:
        return 1.0
    tail = sum(math.comb(total, i) for i in range(min(k, m) + 1)) / 2**total
    return min(1.0, 2 * tail) if k != m else 1.0


def test_paired_test_matches_a_hand_computed_binomial_p_value():
    # 9 images only a keeps, 1 only b, 3 both, 2 neither: p = 2 (1 + 10) / 2^10
    a = _evaluation({("worst case", 8 / 255): "1111111110" + "111" + "00"})
    b = _evaluation({("worst case", 8 / 255): "0000000001" + "111" + "00"})
    test = scale.paired_test(a, b)
    assert (test.n, test.robust_a, test.robust_b, test.only_a, test.only_b) == (15, 12, 4, 9, 1)
    assert test.pvalue == pytest.approx(22 / 1024, rel=1e-12) == _binomial_p(9, 1)
    reverse = scale.paired_test(b, a)
    assert (reverse.only_a, reverse.only_b) == (1, 9) and reverse.pvalue == pytest.approx(
        test.pvalue
    )


def test_paired_test_of_two_evaluated_models(runs):
    _, files = runs
    for attack, eps in (("clean", None), ("worst case", 8 / 255), ("noise", 0.05)):
        a = scale.verdicts(files["mmc"], attack, eps)
        b = scale.verdicts(files["sce"], attack, eps)
        k, m = int((a & ~b).sum()), int((b & ~a).sum())
        test = scale.paired_test(files["mmc"], files["sce"], attack, eps)
        assert (test.only_a, test.only_b, test.n) == (k, m, 24)
        assert test.pvalue == pytest.approx(_binomial_p(k, m), rel=1e-9)


def test_table_prints_the_paired_test(runs, tmp_path, capsys):
    _, files = runs
    out = tmp_path / "t.md"
    main(["table", str(files["mmc"]), str(files["sce"]), "--paired", "--out", str(out), "--quiet"])
    text = out.read_text()
    for eps, label in ((8 / 255, "8/255"), (16 / 255, "16/255")):
        test = scale.paired_test(files["mmc"], files["sce"], "worst case", eps)
        assert (
            f"* worst case {label}, 24 images: mmc keeps {test.robust_a}, sce keeps "
            f"{test.robust_b}; only mmc {test.only_a}, only sce {test.only_b}; "
            f"exact McNemar p = {test.pvalue:.3g}"
        ) in text
    with pytest.raises(SystemExit, match="paired compares two evaluation files"):
        main(["table", str(files["mmc"]), "--paired"])
    with pytest.raises(SystemExit, match="different images"):
        main(["table", str(files["mmc"]), str(files["sce-16"]), "--paired"])
