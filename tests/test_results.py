"""Results that read right: a rounded 100 % or 0 % that is not exact, names that do not exist.

Every printed or drawn percentage goes through ``robviz.runtime.percent_text``; these tests give
each place that prints one a value that one decimal would round to 100.0 or 0.0.
"""

import math

import numpy as np
import pytest
import torch

from robviz.attacks import RobustnessTable
from robviz.runtime import percent_text

# 2499 of 2500 points: one decimal of a percentage prints "100.0"
ALMOST_ALL, ALMOST_NONE = 2499 / 2500, 1 / 2500


@pytest.mark.parametrize(
    "value, text",
    [(99.96, "99.96"), (0.04, "0.04"), (100.0, "100.0"), (0.0, "0.0"), (50.04, "50.0")],
)
def test_percent_text_never_rounds_to_an_extreme(value, text):
    assert percent_text(value) == text


def test_percent_text_very_close_to_the_extremes():
    assert float(percent_text(100 - 1e-12)) < 100
    assert float(percent_text(1e-12)) > 0
    assert percent_text(math.nan) == "nan"


def _table():
    row = dict(model="sce", eps=None, distance=math.nan, n=2500)
    return RobustnessTable(
        [
            {**row, "attack": "clean", "accuracy": ALMOST_ALL},
            {**row, "attack": "PGD10", "eps": 0.1, "accuracy": ALMOST_NONE},
        ]
    )


def test_robustness_table_reads_no_rounded_extreme():
    text = repr(_table())
    assert "| 99.96 | 0.04 |" in text, text
    assert "100.0" not in text and "| 0.0 " not in text


def test_robustness_heatmap_reads_no_rounded_extreme():
    from robviz.viz import robustness_heatmap

    fig = robustness_heatmap(*_table().pivot())
    assert list(fig.data[0].text[0]) == ["99.96", "0.04"]


def test_transferability_heatmap_reads_no_rounded_extreme():
    from robviz.viz import transferability_heatmap

    fig = transferability_heatmap({"ADP": np.array([[ALMOST_ALL, ALMOST_NONE], [0.5, 1.0]])})
    assert [list(row) for row in fig.data[0].text] == [["99.96", "0.04"], ["50.0", "100.0"]]


def test_detection_table_reads_no_rounded_extreme():
    from robviz.viz import detection_table

    fig = detection_table({"FGSM": {"sce": {"LID": ALMOST_ALL}, "rce": {"LID": 0.5}}})
    cells = [str(v) for column in fig.data[0].cells.values for v in column]
    assert any("99.96" in cell for cell in cells), cells
    assert not any("100.0" in cell for cell in cells), cells


def test_scale_table_reads_no_rounded_extreme(tmp_path):
    import json

    from robviz.scale import measured_vs_talk
    from robviz.scale.table import _markdown

    path = tmp_path / "evaluation.json"
    rows = [dict(r, robust=None) for r in _table().rows]
    path.write_text(json.dumps(dict(model="sce", n=2500, rows=rows)))
    markdown = _markdown(*measured_vs_talk([path]))
    assert "99.96" in markdown and "100.0" not in markdown, markdown


def _robust_table():
    """Two models: sce under PGD and FGSM at 0.1, mmc under PGD only; 4 points each."""
    rows = []
    for model, attacks in (("sce", ("PGD", "FGSM")), ("mmc", ("PGD",))):
        for attack in attacks:
            robust = torch.tensor([True, True, attack == "PGD", False])
            rows.append(
                dict(
                    model=model,
                    attack=attack,
                    eps=0.1,
                    accuracy=robust.float().mean().item(),
                    distance=math.nan,
                    n=4,
                    robust=robust,
                )
            )
    return RobustnessTable(rows)


def test_worst_case_over_named_attacks_refuses_a_model_without_one():
    # Before: mmc's "worst case" silently combined PGD alone (75 %) beside sce's PGD and FGSM.
    table = _robust_table()
    with pytest.raises(ValueError, match="'mmc' has no row of 'FGSM' at eps=0.1"):
        table.with_worst_case(["PGD", "FGSM"])
    worst = table.with_worst_case(["PGD"])
    assert worst.get("worst case", 0.1, model="mmc") == 0.75
    assert table.with_worst_case().get("worst case", 0.1, model="sce") == 0.5


def test_robustness_table_refuses_names_it_does_not_have():
    table = _robust_table()
    with pytest.raises(ValueError, match="unknown value 'acuracy'"):
        table.to_markdown("acuracy")  # before: a KeyError from inside pivot
    with pytest.raises(ValueError, match="unknown model 'SCE'"):
        table.get("PGD", 0.1, model="SCE")
    # a key some rows lack is a blank cell, not a KeyError
    rows = [dict(r, failed=0) if r["attack"] == "FGSM" else r for r in table.rows]
    _, columns, values = RobustnessTable(rows).pivot("failed")
    assert columns == ["PGD 0.1", "FGSM 0.1"] and values[0][1] == 0 and math.isnan(values[0][0])


def test_detection_study_refuses_names_it_does_not_have():
    from robviz.detect import DetectionStudy

    aucs = {"FGSM": {"sce": {"LID": 0.6}, "rce": {"LID": 0.9}}}
    study = DetectionStudy(aucs=aucs, pairs={("FGSM", "sce"): 50, ("FGSM", "rce"): 50})
    assert study.compare("LID") == (["FGSM"], ["FGSM"])
    for kwargs, match in (
        (dict(detector="lid"), "unknown detector 'lid'"),
        (dict(detector="LID", model="RCE"), "unknown model 'RCE'"),
        (dict(detector="LID", baseline="ce"), "unknown baseline 'ce'"),
        (dict(detector="LID", model="sce"), "both 'sce'"),
    ):
        with pytest.raises(ValueError, match=match):
            study.compare(**kwargs)
        with pytest.raises(ValueError, match=match):
            study.verdicts(**kwargs)
