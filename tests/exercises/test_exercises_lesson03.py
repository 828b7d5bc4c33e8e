"""Lesson 3's self-checks: the right answers pass, each known mistake gets its own hint."""

import math

import pytest
import torch

from robviz import exercises
from robviz.centers import simplex_centers


def _simplex(L, d, C, target=None):
    target = -1 / (L - 1) if target is None else target
    mu = torch.zeros(L, max(d, L), dtype=torch.float64)
    mu[0, 0] = 1.0
    for k in range(1, L):
        for j in range(k):
            mu[k, j] = (target - mu[k] @ mu[j]) / mu[j, j]
        mu[k, k] = math.sqrt(abs(1 - float(mu[k] @ mu[k])))
    return C * mu[:, :d]


def test_simplex_dimension(lenient):
    assert exercises.check("3.1", 9)
    for wrong, keyword in [
        (10, "sum to zero"),
        (256, "papers'"),
        (5, "below it"),
        (8, "same distance"),
    ]:
        feedback = exercises.check("3.1", wrong)
        assert not feedback and keyword in feedback.message
    assert "too small" in exercises.check("3.1", 3).message


def test_simplex_centers_pass_in_any_rotation():
    assert exercises.check("3.2", _simplex)
    assert exercises.check("3.2", simplex_centers)
    generator = torch.Generator().manual_seed(0)

    def rotated(L, d, C):
        rotation, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
        return _simplex(L, d, C) @ rotation

    assert exercises.check("3.2", rotated)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda L, d, C: _simplex(L, d, 1.0), "length 1"),
        (lambda L, d, C: _simplex(L, d, C**2), "length C^2"),
        (lambda L, d, C: _simplex(L, d, C, target=1 / (L - 1)), "positive"),
        (lambda L, d, C: C * torch.eye(L, d), "one-hot"),
    ],
)
def test_simplex_mistakes_get_their_hints(lenient, wrong, keyword):
    feedback = exercises.check("3.2", wrong)
    assert not feedback and keyword in feedback.message


def test_simplex_shape_and_unfinished(lenient):
    feedback = exercises.check("3.2", lambda L, d, C: _simplex(L, L, C))
    assert not feedback and "shape" in feedback.message
    assert not exercises.check("3.2", lambda L, d, C: ...).answered
    assert "Expected a function" in exercises.check("3.2", 9).message
