"""Lesson 5's detection study: every detector against every attack, per model, on toy models."""

import math

import numpy as np
import pytest

from robviz import detect
from robviz.attacks import BIM, FGSM
from robviz.data import gaussian_mixture
from robviz.detect.study import DetectionStudy, default_detectors, detection_study
from robviz.train import TrainConfig, fit_objectives


@pytest.fixture(scope="module")
def setting():
    data = gaussian_mixture(num_classes=3, n_per_class=40, seed=0)
    models, _ = fit_objectives(
        data, ["sce", "rce"], TrainConfig(steps=60, record_every=0), progress=False
    )
    x, y = data.x_test, data.y_test
    attacks = {
        "FGSM": lambda m: FGSM(m, eps=1.0, bounds=data.bounds).run(x, y),
        "weak": lambda m: BIM(m, eps=0.01, steps=2, bounds=data.bounds).run(x, y),
    }
    results = {
        attack: {name: run(model) for name, model in models.items()}
        for attack, run in attacks.items()
    }
    return data, models, x, y, results


def test_study_fills_the_talks_table(setting):
    data, models, x, y, results = setting
    study = detection_study(models, data, x, y, results, min_pairs=5)
    assert isinstance(study, DetectionStudy) and list(study.aucs) == ["FGSM", "weak"]
    detectors = ["Confidence", "non-ME", "K-density", "LID"]
    for name, model in models.items():
        count = detect.detection_pairs(model, x, y, results["FGSM"][name]).count
        assert study.pairs["FGSM", name] == count >= 5
        assert list(study.aucs["FGSM"][name]) == detectors
        assert all(0.0 <= auc <= 1.0 for auc in study.aucs["FGSM"][name].values())
    # One AUC recomputed by hand from the same pairs.
    scores = detect.detection_scores(
        {"non-ME": detect.non_max_entropy_score}, models["rce"], x, y, results["FGSM"]["rce"]
    )
    assert study.aucs["FGSM"]["rce"]["non-ME"] == detect.roc_auc(*scores["non-ME"])
    fpr, tpr, auc = study.curves["FGSM"]["RCE · non-ME"]
    assert auc == study.aucs["FGSM"]["rce"]["non-ME"] and fpr[0] == 0 and tpr[-1] == 1
    assert set(study.curves["FGSM"]) == {f"{m} · {d}" for m in ("CE", "RCE") for d in detectors}


def test_every_model_keeps_its_curves(setting):
    # A third model (here the CE model again, under another name) was labelled "CE" too and
    # silently replaced the CE model's curves.
    data, models, x, y, results = setting
    models = {**models, "mmc": models["sce"]}
    results = {a: {**r, "mmc": r["sce"]} for a, r in results.items()}
    study = detection_study(models, data, x, y, results, min_pairs=5)
    labels = {name.split(" · ")[0] for name in study.curves["FGSM"]}
    assert labels == {"CE", "RCE", "mmc"}
    assert study.curves["FGSM"]["mmc · LID"][2] == study.aucs["FGSM"]["mmc"]["LID"]


def test_too_few_pairs_give_nan_and_no_curve(setting):
    data, models, x, y, results = setting
    study = detection_study(models, data, x, y, results, min_pairs=len(x) + 1)
    assert all(
        math.isnan(v)
        for per_model in study.aucs.values()
        for aucs in per_model.values()
        for v in aucs.values()
    )
    assert study.curves == {"FGSM": {}, "weak": {}}
    assert study.compare("non-ME") == ([], [])


def test_compare_and_custom_detectors(setting):
    data, models, x, y, results = setting
    study = detection_study(
        models,
        data,
        x,
        y,
        {"FGSM": results["FGSM"]},
        min_pairs=1,
        detectors=lambda model, data: {"non-ME": detect.non_max_entropy_score},
    )
    both, better = study.compare("non-ME")
    assert both == ["FGSM"]
    assert better == (
        ["FGSM"]
        if study.aucs["FGSM"]["rce"]["non-ME"] > study.aucs["FGSM"]["sce"]["non-ME"]
        else []
    )
    assert set(default_detectors(models["sce"], data)) == {
        "Confidence",
        "non-ME",
        "K-density",
        "LID",
    }
    assert np.isfinite(study.aucs["FGSM"]["sce"]["non-ME"])


def test_auc_standard_error_is_the_spread_of_aucs_over_repeated_experiments():
    """Hanley and McNeil's formula is exact for exponential scores: check it by simulation."""
    from robviz.detect import auc_standard_error

    rng = np.random.default_rng(0)
    n_clean, n_adversarial, experiments = 40, 25, 4000
    # X ~ Exp(rate 1) (clean), Y ~ Exp(rate 4) (adversarial): P(X > Y) = 4 / (1 + 4) = 0.8
    clean = rng.exponential(1.0, (experiments, n_clean))
    adversarial = rng.exponential(0.25, (experiments, n_adversarial))
    aucs = (clean[:, :, None] > adversarial[:, None, :]).mean(axis=(1, 2))
    assert aucs.mean() == pytest.approx(0.8, abs=0.005)
    assert auc_standard_error(0.8, n_clean, n_adversarial) == pytest.approx(aucs.std(), rel=0.05)
    assert auc_standard_error(1.0, 10, 10) == 0.0 and auc_standard_error(0.5, 1, 1) > 0.4
    with pytest.raises(ValueError, match="auc must be"):
        auc_standard_error(1.2, 10, 10)
    with pytest.raises(ValueError, match="n_clean must be an integer >= 1"):
        auc_standard_error(0.8, 0, 10)


def test_verdicts_call_a_difference_only_beyond_two_standard_errors():
    from robviz.detect import DetectionStudy

    study = DetectionStudy()
    cells = {"A": (0.95, 0.60), "B": (0.62, 0.60), "C": (0.30, 0.90), "D": (math.nan, 0.7)}
    for attack, (rce, sce) in cells.items():
        study.aucs[attack] = {"rce": {"non-ME": rce}, "sce": {"non-ME": sce}}
        study.pairs[attack, "rce"] = study.pairs[attack, "sce"] = 50
    assert study.verdicts("non-ME") == {"A": "rce", "B": "within 2 SE", "C": "sce"}
    # with few pairs even 0.95 against 0.60 is noise; a looser z calls B
    for attack in cells:
        study.pairs[attack, "rce"] = study.pairs[attack, "sce"] = 3
    assert study.verdicts("non-ME")["A"] == "within 2 SE"
    assert study.verdicts("non-ME", z=0.01)["B"] == "rce"
    with pytest.raises(ValueError, match="z must be"):
        study.verdicts("non-ME", z=0)
