"""Self-checks for lesson 3, "Max-Mahalanobis centers"."""

from __future__ import annotations

import math

import torch

from ..centers import simplex_centers
from . import Mistake, _to_tensor, _where, exercise, expect_function, expect_number


@exercise("3.1", "The smallest feature dimension for 10 simplex centers")
def simplex_dimension(answer: object) -> tuple[bool, str]:
    """Check the smallest d at which L = 10 MM centers form the simplex: L - 1 = 9.

    There they reach the simplex RB-bar.

    Parameters
    ----------
    answer : int
        Your dimension d, a whole number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_number(
        answer,
        9,
        atol=1e-6,
        mistakes=[
            (
                10,
                "Ten centers do not need ten dimensions: they sum to zero, so each is minus the "
                "sum of the other "
                "nine, and all ten lie in the span of nine vectors.",
            ),
            (
                256,
                "256 is the papers' feature dimension, far more than needed: RB-bar stops growing "
                "much earlier.",
            ),
            (
                5,
                "At d = 5 RB-bar is close to the simplex value but below it, and it stays there "
                "for a few more dimensions: compare robustness_bound(mm_centers(10, d, C)) for "
                "d = 5 to 12 with the simplex value.",
            ),
            (
                8,
                "With d = 8 the ten centers cannot all sit at the same distance: count the "
                "dimensions that L vectors "
                "summing to zero span.",
            ),
        ],
        hint="L vectors that sum to zero span at most L - 1 dimensions; the simplex needs exactly "
        "that many.",
    )


def _gram(centers: torch.Tensor) -> torch.Tensor:
    centers = torch.as_tensor(centers).detach().to(torch.float64)
    return centers @ centers.T


def _reference_gram(num_classes: int, dim: int, norm: float) -> torch.Tensor:
    return _gram(simplex_centers(num_classes, dim, norm))


def _recursion_gram(
    num_classes: int, dim: int, norm: float, *, target: float | None = None
) -> torch.Tensor:
    """Return the Gram matrix of Algorithm 1 run with pairwise unit inner product ``target``.

    ``target`` defaults to -1/(L-1).

    A wrong target is a known mistake.
    """
    L = num_classes
    target = -1.0 / (L - 1) if target is None else target
    mu = torch.zeros(L, max(dim, L), dtype=torch.float64)
    mu[0, 0] = 1.0
    for k in range(1, L):
        for j in range(k):
            mu[k, j] = (target - mu[k] @ mu[j]) / mu[j, j]
        mu[k, k] = math.sqrt(abs(1.0 - float(mu[k] @ mu[k])))
    return _gram(norm * mu[:, :dim])


def _centered_one_hot_gram(
    num_classes: int, dim: int, norm: float, *, normalize_last: bool = False
) -> torch.Tensor:
    """Return the Gram matrix of the centered one-hot vectors e_i - 1/L, cut or padded to d columns.

    They form a simplex in L coordinates; cut to d = L - 1 they do not. ``normalize_last``
    rescales to length ``norm`` after the cut instead of before it: both are known mistakes.
    """
    L = num_classes
    centered = torch.eye(L, dtype=torch.float64) - 1.0 / L
    if not normalize_last:
        centered = centered / centered.norm(dim=1, keepdim=True)
    mu = torch.zeros(L, dim, dtype=torch.float64)
    mu[:, : min(L, dim)] = centered[:, : min(L, dim)]
    if normalize_last:
        mu = mu / mu.norm(dim=1, keepdim=True)
    return _gram(norm * mu)


_CENTERED_ONE_HOT_HINT = (
    "Your centers are the centered one-hot vectors e_i - (1/L, ..., 1/L): a simplex, but in L "
    "coordinates, and cutting them to d = L - 1 columns changes their lengths and angles. Write "
    "them in an orthonormal basis of the L - 1 dimensions they span (`torch.linalg.qr`), or follow "
    "the recursion of section 1."
)


@exercise("3.2", "Write the simplex (MM) centers")
def write_simplex_centers(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``simplex(L, d, C)`` against robviz.centers.simplex_centers.

    Any rotation of the simplex is right, so the check compares shapes and then the Gram matrices mu
    mu^T (norms and pairwise inner products).

    Parameters
    ----------
    answer : callable
        Your function ``simplex(L, d, C)``, returning the (L, d) centers of norm C.
    seed : int, default 0
        0 is the visible check; another seed checks other class counts, dimensions and norms (the
        hidden tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    if not callable(answer):
        return False, f"Expected a function, got {type(answer).__name__}."
    inputs = [(3, 2, 10.0), (4, 3, 1.0), (5, 8, 2.5), (10, 16, 10.0)]
    if seed:
        inputs = [(5 + seed, 4 + seed, 0.5 * seed), (2, 1 + seed, 3.0), (20 + seed, 19 + seed, 7.0)]
    for num_classes, dim, norm in inputs:
        try:
            centers = answer(num_classes, dim, norm)
        except Exception as exc:  # a student's code may raise anything; say what and where
            return (
                False,
                f"Your function raised {type(exc).__name__}: {exc}{_where(exc)} (for "
                f"L={num_classes}, d={dim}).",
            )
        if centers is not None and centers is not Ellipsis:
            try:
                shape = tuple(_to_tensor(centers).shape)
            except TypeError as exc:  # a string, a ragged list: say so, not a traceback
                return False, f"Your function {exc} (for L={num_classes}, d={dim})."
            if shape != (num_classes, dim):
                return False, (
                    f"For L={num_classes}, d={dim} your function returns shape {shape}; expected "
                    f"({num_classes}, {dim}): one row per class, one column per feature."
                )

    def student_gram(num_classes: int, dim: int, norm: float) -> object:
        centers = answer(num_classes, dim, norm)
        return centers if centers is None or centers is Ellipsis else _gram(centers)

    return expect_function(
        student_gram,
        _reference_gram,
        inputs,
        mistakes=[
            Mistake(
                lambda L, d, C: _reference_gram(L, d, 1.0),
                "Your centers have length 1: scale them by C at the end, so that ||mu_i|| = C.",
            ),
            Mistake(
                lambda L, d, C: _reference_gram(L, d, C**2),
                "Your centers have length C^2: scale the unit vectors by C, not C^2 (the inner "
                "products are then "
                "-C^2 / (L - 1)).",
            ),
            Mistake(
                lambda L, d, C: _recursion_gram(L, d, C, target=1.0 / (L - 1)),
                "Your pairwise inner products are positive: the centers should point *away* from "
                "each other, "
                "<mu_i, mu_j> = -C^2 / (L - 1) (mind the sign in the recursion).",
            ),
            Mistake(
                lambda L, d, C: _gram(C * torch.eye(L, d, dtype=torch.float64)),
                "Your centers are (truncated) scaled one-hot vectors: orthogonal, with inner "
                "product 0. MM centers "
                "are further apart, <mu_i, mu_j> = -C^2 / (L - 1), sum to zero, and fit in L - 1 "
                "dimensions.",
            ),
            *[
                Mistake(
                    lambda L, d, C, last=last: _centered_one_hot_gram(L, d, C, normalize_last=last),
                    _CENTERED_ONE_HOT_HINT,
                )
                for last in (False, True)
            ],
        ],
        rtol=1e-4,
        atol=1e-3,
        hint="Check ||mu_i|| = C for every center and <mu_i, mu_j> = -C^2 / (L - 1) for "
        "every pair; the recursion of section 1 builds exactly that.",
    )
