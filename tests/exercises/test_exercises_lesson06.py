"""Lesson 6's self-checks: the right answers pass, the known mistakes get their own hints."""

import pytest
import torch
import torch.nn.functional as F

from robviz import exercises
from robviz.theory import adp_optimum


def _entropy(p):
    return -torch.special.xlogy(p, p).sum(dim=-1)


def ensemble_entropy(p):
    return _entropy(p.mean(dim=0))


def test_ensemble_entropy_passes():
    assert exercises.check("6.1", ensemble_entropy)


def test_ensemble_entropy_nan_at_zero_probabilities_fails(lenient):
    # a class no member gives any probability: 0 log 0 must be 0, not NaN
    mean = lambda p: p.mean(dim=0)  # noqa: E731
    feedback = exercises.check("6.1", lambda p: -(mean(p) * mean(p).log()).sum(dim=-1))
    assert not feedback and "0 log 0 = 0" in feedback.message


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda p: _entropy(p).mean(dim=0), "mean entropy"),
        # the grading test's wrong answer: mean entropy written with a plain log, NaN at 0
        (lambda p: -(p * p.log()).sum(dim=-1).mean(dim=0), "mean entropy"),
        (lambda p: _entropy(p.sum(dim=0)), "sums to K"),
        (lambda p: -ensemble_entropy(p), "Wrong sign"),
    ],
)
def test_ensemble_entropy_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("6.1", wrong)
    assert not feedback and keyword in feedback.message


def test_ensemble_entropy_unknown_error_gets_the_general_hint(lenient):
    feedback = exercises.check("6.1", lambda p: _entropy(p.mean(dim=0)) / 2)
    assert not feedback and "Average over the members" in feedback.message


def _non_true(p, y):
    K, N, L = p.shape
    keep = torch.ones(N, L, dtype=torch.bool)
    keep[torch.arange(N), y] = False
    return p[:, keep].reshape(K, N, L - 1).transpose(0, 1)  # (N, K, L - 1)


def _det(m):
    return torch.linalg.det(m @ m.transpose(1, 2))


def diversity(p, y):
    return _det(F.normalize(_non_true(p, y), dim=-1))


def test_diversity_passes():
    assert exercises.check("6.2", diversity)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda p, y: _det(_non_true(p, y)), "unit length"),
        (lambda p, y: _det(F.normalize(p, dim=-1).transpose(0, 1)), "Remove the true label"),
        (lambda p, y: _det(_non_true(p, y) / _non_true(p, y).sum(-1, keepdim=True)), "L2 norm"),
        (lambda p, y: diversity(p, y).log(), "log det"),
        (
            lambda p, y: torch.logdet(
                F.normalize(_non_true(p, y), dim=-1)
                @ F.normalize(_non_true(p, y), dim=-1).transpose(1, 2)
                + 1e-6 * torch.eye(p.shape[0], dtype=p.dtype)
            ),
            "log det",
        ),
    ],
)
def test_diversity_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("6.2", wrong)
    assert not feedback and keyword in feedback.message


def test_diversity_unknown_error_gets_the_general_hint(lenient):
    feedback = exercises.check("6.2", lambda p, y: diversity(p, y).sqrt())
    assert not feedback and "Drop entry y" in feedback.message


def test_eq7_passes():
    assert exercises.check("6.3", adp_optimum(2.0, 3, 10))
    assert exercises.check("6.3", 0.5878)
    assert exercises.check("6.3", 0.59)  # F_y rounded to two decimals


def test_eq7_tolerance_is_not_loose(lenient):
    feedback = exercises.check("6.3", 0.595)
    assert not feedback and "too large" in feedback.message


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (adp_optimum(2.0, 1, 10), "α/K"),
        (adp_optimum(2.0, 3, 2), "L − 1"),
        (0.1, "uniform"),
        ((1 - adp_optimum(2.0, 3, 10)) / 9, "one wrong"),
    ],
)
def test_eq7_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("6.3", wrong)
    assert not feedback and keyword in feedback.message


def test_eq7_other_number_fails(lenient):
    feedback = exercises.check("6.3", 0.9)
    assert not feedback and "too large" in feedback.message
