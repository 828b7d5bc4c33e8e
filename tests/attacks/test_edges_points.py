"""Rows of a robustness table know which points they measured: per-point pairing refuses others."""

import json
import math

import pytest
import torch

from robviz.attacks import FGSM, PGD, RobustnessTable, battery_sanity, robust_accuracy
from robviz.attacks.evaluate import points_fingerprint


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def _table(model, x, y, label):
    attacks = {label: PGD(model, eps=0.3, alpha=0.1, steps=3, bounds=(-10.0, 10.0))}
    return robust_accuracy(model, x, y, attacks, name="m", progress=False)


def test_the_fingerprint_names_the_points_not_their_dtype_device_or_layout():
    x, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    fp = points_fingerprint(x, y)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert points_fingerprint(x.double(), y.int()) == fp
    assert points_fingerprint(x.t().contiguous().t(), y) == fp  # a non-contiguous view
    assert points_fingerprint(x.flip(0), y.flip(0)) != fp  # the same points in another order
    assert points_fingerprint(x, y.roll(1)) != fp  # other labels
    assert points_fingerprint(x.reshape(6, 1, 2), y) != fp  # another shape
    images = torch.rand(3, 3, 4, 4)
    labels = torch.tensor([0, 1, 2])
    channels_last = images.to(memory_format=torch.channels_last)
    assert points_fingerprint(channels_last, labels) == points_fingerprint(images, labels)


def test_every_row_of_robust_accuracy_carries_the_fingerprint_of_its_points():
    model, x, y = _model(), torch.randn(8, 2), torch.randint(0, 3, (8,))
    table = _table(model, x, y, "PGD")
    assert {row["points"] for row in table.rows} == {points_fingerprint(x, y)}
    worst = table.with_worst_case()
    assert worst.rows[-1]["points"] == points_fingerprint(x, y)
    # kept through addition (the newcomer renamed) and through JSON, where the tensors are dropped
    both = table + _table(model, x + 1, y, "PGD")
    assert [row["points"] for row in both.rows][-1] == points_fingerprint(x + 1, y)
    kept = json.loads(
        json.dumps([{k: v for k, v in r.items() if k != "robust"} for r in both.rows])
    )
    assert [r["points"] for r in kept] == [r["points"] for r in both.rows]
    assert "points" not in both.pivot()[1]  # a label, never a column of numbers
    with pytest.raises(ValueError, match="unknown value .points."):
        both.pivot("points")


def test_the_worst_case_refuses_rows_of_one_model_that_measured_other_points():
    # Two runs of one model on different points of equal count: before, with_worst_case combined
    # point i of one set with point i of the other, a worst case of no set of points.
    model = _model()
    x, y = torch.randn(8, 2), torch.randint(0, 3, (8,))
    a = _table(model, x, y, "PGD-a")
    b = _table(model, torch.randn(8, 2), y, "PGD-b")
    mixed = RobustnessTable(a.rows + b.rows[1:])  # one model, b's clean row left out
    with pytest.raises(ValueError, match=r"measured different points: 'PGD-a' \(.*'PGD-b'"):
        mixed.with_worst_case()
    # the same points, run twice, combine
    again = RobustnessTable(a.rows + _table(model, x, y, "PGD-b").rows[1:]).with_worst_case()
    assert again.rows[-1]["attacks"] == ["PGD-a", "PGD-b"]
    # rows read back from older files, without the key, stay readable and combine unchecked
    old = RobustnessTable([{k: v for k, v in r.items() if k != "points"} for r in mixed.rows])
    assert "points" not in old.with_worst_case().rows[-1]
    assert not math.isnan(old.with_worst_case().get("worst case", 0.3))


def test_the_battery_check_refuses_fgsm_and_pgd_on_other_points():
    model = _model()
    x, y = torch.randn(8, 2), torch.randint(0, 3, (8,))
    fgsm = robust_accuracy(
        model, x, y, {"FGSM": FGSM(model, eps=0.3, bounds=(-10.0, 10.0))}, name="m", progress=False
    )
    pgd = _table(model, x.flip(0), y.flip(0), "PGD")
    with pytest.raises(ValueError, match="measured different points"):
        battery_sanity(RobustnessTable(fgsm.rows + pgd.rows[1:]))
    same = _table(model, x, y, "PGD")
    assert battery_sanity(RobustnessTable(fgsm.rows + same.rows[1:])).compared == 1
