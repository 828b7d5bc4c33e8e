"""Lesson 1's self-checks: the right answers pass, each known mistake gets its own hint."""

import pytest
import torch
import torch.nn.functional as F

from robviz import exercises
from robviz.objectives import rce_loss


def _rce(h, y):
    reverse = (1 - F.one_hot(y, h.shape[1]).to(h.dtype)) / (h.shape[1] - 1)
    return -(reverse * F.log_softmax(h, dim=1)).sum(dim=1).mean()


def test_where_three_affine_functions_agree(lenient):
    assert exercises.check("1.1", " A point ")
    for option, keyword in [
        ("a line", "two lines"),
        ("everywhere", "identical"),
        ("nowhere", "always meet"),
    ]:
        feedback = exercises.check("1.1", option)
        assert not feedback and keyword in feedback.message
    assert "not one of the options" in exercises.check("1.1", "a plane").message


def test_rce_loss_passes_and_the_reference_itself_passes():
    assert exercises.check("1.2", _rce)
    assert exercises.check("1.2", rce_loss)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda h, y: F.cross_entropy(h, y), "reverse"),
        (lambda h, y: _rce(h, y) * (h.shape[1] - 1), "L - 1"),
        (lambda h, y: _rce(h, y) * (h.shape[1] - 1) / h.shape[1], "divide by L"),
        (
            lambda h, y: -torch.log(1 - F.softmax(h, dim=1).gather(1, y[:, None])).mean(),
            "pushes the true class down",
        ),
        (lambda h, y: _rce(h, y) * len(h), "mean"),
        (lambda h, y: _rce(-h, y), "prediction"),
    ],
)
def test_rce_loss_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("1.2", wrong)
    assert not feedback and keyword in feedback.message


def test_rce_loss_unfinished_and_unknown_errors(lenient):
    assert not exercises.check("1.2", lambda h, y: ...).answered
    feedback = exercises.check("1.2", lambda h, y: 2 * _rce(h, y) + 1)
    assert not feedback and "R_y" in feedback.message
