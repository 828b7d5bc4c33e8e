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


def _centered_one_hot(L, d, C):
    """The simplex e_i - 1/L in L coordinates, cut to the first d: wrong for d = L - 1."""
    centered = torch.eye(L, dtype=torch.float64) - 1 / L
    centered = C * centered / centered.norm(dim=1, keepdim=True)
    return torch.cat([centered, torch.zeros(L, max(d - L, 0), dtype=torch.float64)], dim=1)[:, :d]


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


def test_centered_one_hot_in_an_orthonormal_basis_passes():
    """The centered one-hot vectors written in L - 1 coordinates are a right answer."""

    def centered_in_basis(L, d, C):
        centered = torch.eye(L, dtype=torch.float64) - 1 / L
        basis, _ = torch.linalg.qr(centered.T)  # its first L - 1 columns span the centered vectors
        coordinates = centered @ basis[:, : L - 1]
        coordinates = C * coordinates / coordinates.norm(dim=1, keepdim=True)
        return torch.cat([coordinates, torch.zeros(L, d - (L - 1), dtype=torch.float64)], dim=1)

    assert exercises.check("3.2", centered_in_basis)
    assert exercises.check("3.2", centered_in_basis, seed=1)


@pytest.mark.parametrize(
    "wrong, keyword",
    [
        (lambda L, d, C: _simplex(L, d, 1.0), "length 1"),
        (lambda L, d, C: _simplex(L, d, C**2), "length C^2"),
        (lambda L, d, C: _simplex(L, d, C, target=1 / (L - 1)), "positive"),
        (lambda L, d, C: C * torch.eye(L, d), "one-hot"),
        (_centered_one_hot, "centered one-hot"),
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
