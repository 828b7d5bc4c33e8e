"""The ensemble measures refuse logits where the members' softmax outputs belong."""

import pytest
import torch

from robviz import ensemble

MEASURES = {
    "non_true_predictions": ensemble.non_true_predictions,
    "adp_regularizer": ensemble.adp_regularizer,
    "ensemble_diversity": ensemble.ensemble_diversity,
    "pairwise_angles": ensemble.pairwise_angles,
}


@pytest.mark.parametrize("name", MEASURES)
def test_logits_passed_as_probabilities_are_refused_naming_member_and_sample(name):
    # before: angles up to 148 degrees (documented in [0, 90]), a NaN regularizer, a diversity
    # of vectors that are no predictions
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 4) * 3
    y = torch.tensor([0, 1, 2, 3, 0])
    with pytest.raises(ValueError, match=r"member 0 at sample index 0 is not \(-3.38, "):
        MEASURES[name](logits, y)
    # rows not summing to 1, although non-negative: member 2, sample 4
    p = logits.softmax(-1)
    p[2, 4] *= 2
    with pytest.raises(ValueError, match="member 2 at sample index 4 is not"):
        MEASURES[name](p, y)
    # the softmax of the same logits is measured; angles lie in [0, 90]
    MEASURES[name](logits.softmax(-1), y)
    angles = ensemble.pairwise_angles(logits.softmax(-1), y)
    assert 0 <= float(angles.min()) and float(angles.max()) <= 90


def test_a_diverged_member_still_reaches_the_loss_as_nan():
    # the check looks at finite rows only: a NaN member is training's to report, as before
    torch.manual_seed(0)
    p = torch.randn(3, 5, 4).softmax(-1)
    p[1, 2] = float("nan")
    assert torch.isnan(
        ensemble.adp_regularizer(p, torch.tensor([0, 1, 2, 3, 0]), reduction="none")[2]
    )


def test_the_training_loss_equals_the_checked_regularizer(trained_blobs):
    data, _ = trained_blobs(3)
    from robviz.models import make_model

    torch.manual_seed(0)
    ens = ensemble.Ensemble([make_model(data, "sce") for _ in range(3)], alpha=2.0, beta=0.5)
    x, y = data.x_train[:32], data.y_train[:32]
    logits = ens.member_logits(x)
    ce = sum(torch.nn.functional.cross_entropy(logits[k], y) for k in range(3))
    expected = ce + ensemble.adp_regularizer(logits.softmax(-1), y, 2.0, 0.5)
    assert ens.loss(x, y).item() == pytest.approx(expected.item(), rel=1e-6)
