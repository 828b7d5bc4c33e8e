"""Self-checks for lesson 0, "Start here"."""

from __future__ import annotations

import torch

from ..centers import mm_centers
from ..objectives import mmc_loss
from . import Mistake, exercise, expect_function, expect_number

_Z = torch.tensor([[1.0, 1.0]])
_Y = torch.tensor([0])


@exercise("0.1", "The MMC loss of one feature, by hand")
def mmc_loss_of_one_feature(answer: object) -> tuple[bool, str]:
    """Check the MMC loss of z = (1, 1) with label 0 and centers mm_centers(3, 2) (C = 10).

    The loss has the factor 1/2.

    Parameters
    ----------
    answer : float
        Your value of the loss, a number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    centers = mm_centers(3, 2)
    expected = float(mmc_loss(_Z, _Y, centers))
    distance = float((_Z[0] - centers[0]).norm())
    return expect_number(
        answer,
        expected,
        mistakes=[
            (
                2 * expected,
                "That is ||z - mu_0||^2 without the paper's factor 1/2 (the authors' code "
                "convention).",
            ),
            (
                0.5 * distance,
                "The MMC loss uses the *squared* distance to the center, not the distance.",
            ),
            (distance, "The MMC loss is half the *squared* distance to the center."),
        ],
        hint="Compute 0.5 * ||z - mu_0||^2 with mu_0 = mm_centers(3, 2)[0].",
    )


def _reference(z: torch.Tensor, y: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    return mmc_loss(z, y, centers)


@exercise("0.2", "Write the MMC loss")
def write_mmc_loss(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``mmc(z, y, centers)`` against robviz.objectives.mmc_loss.

    The inputs are random batches.

    Parameters
    ----------
    answer : callable
        Your function ``mmc(z, y, centers)``: features z (N, d), integer labels y (N,) and
        centers (L, d) in, the loss (a scalar tensor) out.
    seed : int, default 0
        0 is the visible check; another seed draws other batches and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = []
    for n, classes, dim in [(5, 3, 2), (16, 10, 9), (1, 4, 3)] + [
        (3 + seed, 5 + seed, 7 + seed)
    ] * (seed > 0):
        z = torch.randn(n, dim, generator=generator, dtype=torch.float64) * 3
        y = torch.randint(0, classes, (n,), generator=generator)
        inputs.append((z, y, mm_centers(classes, dim).double()))
    return expect_function(
        answer,
        _reference,
        inputs,
        mistakes=[
            Mistake(lambda z, y, c: 2 * mmc_loss(z, y, c), "It lacks the paper's factor 1/2."),
            Mistake(
                lambda z, y, c: 0.5 * (z - c[y]).pow(2).sum(),
                "Average over the batch (`.mean()`), don't sum: "
                "the loss must not grow with the batch size.",
            ),
            Mistake(
                lambda z, y, c: 0.5 * (z - c[y]).norm(dim=1).mean(),
                "Square the distance: the MMC loss is 0.5 ||z - mu_y||^2.",
            ),
            Mistake(
                lambda z, y, c: 0.5 * (z - c[y]).pow(2).mean(),
                "`.pow(2).mean()` averages over the feature "
                "dimension too: sum over dimensions (`.sum(dim=1)`), then average over the batch.",
            ),
        ],
        hint="Index the centers with the labels, `centers[y]`, take the squared distance per "
        "sample, halve it and "
        "average over the batch.",
    )
