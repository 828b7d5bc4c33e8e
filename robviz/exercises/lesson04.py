"""Self-checks for lesson 4, "Sample density: why MMC, and why it converges faster"."""

from __future__ import annotations

import math

import torch

from ..centers import mm_centers
from ..objectives import squared_distances
from ..theory import mmc_sample_density
from . import Mistake, exercise, expect_function, expect_number


def _reference_logits(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    return -0.5 * squared_distances(z, centers)


@exercise("4.1", "Write the MMLDA logits")
def write_mmlda_logits(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``mmlda_logits(z, centers)`` against h_k = -1/2 ||z - mu_k||^2.

    On MM centers and on centers of unequal norms (where the linear logits z^T mu_k are no longer a
    shortcut).

    Parameters
    ----------
    answer : callable
        Your function ``mmlda_logits(z, centers)``: features z (N, d) and centers (L, d) in, the
        logits (N, L) out.
    seed : int, default 0
        0 is the visible check; another seed draws other features and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    generator = torch.Generator().manual_seed(4 + 100 * seed)
    inputs = []
    for n, classes, dim in [(6, 3, 2), (16, 10, 9), (1, 4, 3)] + [(2 + seed, 6, 5 + seed)] * (
        seed > 0
    ):
        z = torch.randn(n, dim, generator=generator, dtype=torch.float64) * 3
        inputs.append((z, mm_centers(classes, dim, norm=3.0).double()))
    inputs.append(
        (
            torch.randn(5, 4, generator=generator, dtype=torch.float64),
            torch.randn(6, 4, generator=generator, dtype=torch.float64) * 2,
        )
    )
    return expect_function(
        answer,
        _reference_logits,
        inputs,
        mistakes=[
            Mistake(
                lambda z, c: -squared_distances(z, c),
                "It lacks the factor 1/2: the lesson (and the paper) use "
                "h_k = -1/2 ||z - mu_k||^2; the authors' code uses factor 1, which only rescales "
                "the logits.",
            ),
            Mistake(
                lambda z, c: 0.5 * squared_distances(z, c),
                "Wrong sign: a logit must be *largest* at the nearest "
                "center, so it is minus the squared distance.",
            ),
            Mistake(
                lambda z, c: -0.5 * squared_distances(z, c).sqrt(),
                "Square the distance: with -1/2 ||z - mu_k||^2 "
                "the ||z||^2 term is the same for every class and cancels in the softmax (the "
                "lesson's identity).",
            ),
            Mistake(
                lambda z, c: z @ c.T,
                "Those are the linear logits z^T mu_k. They give the same softmax only when "
                "every center has the same norm (-1/2 ||z - mu_k||^2 = z^T mu_k - 1/2 ||z||^2 - "
                "1/2 ||mu_k||^2), "
                "but they are not the same logits: subtract the two norm terms, or compute the "
                "distance.",
            ),
        ],
        hint="Return the (N, L) matrix of -1/2 ||z_n - mu_k||^2, e.g. with `torch.cdist(z, "
        "centers).pow(2)`.",
    )


def _log10_density(loss: float, d: int, form: str = "exact") -> float:
    return float(mmc_sample_density(loss, d, 1, 1.0, form=form, log=True)) / math.log(10)


@exercise("4.2", "Theorem 2 in 64 dimensions")
def density_ratio_in_64_dimensions(answer: object) -> tuple[bool, str]:
    """Check log10 of SD(ℓ = 0.01) / SD(ℓ = 0.04) for MMC in d = 64 with the same N p(ℓ).

    The shell volume is exact.

    Parameters
    ----------
    answer : float
        Your log10 of the density ratio, a number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    d, low, high = 64, 0.01, 0.04
    expected = _log10_density(low, d) - _log10_density(high, d)
    printed = _log10_density(low, d, "theorem") - _log10_density(high, d, "theorem")
    # 0.05 accepts the answer rounded to one decimal (18.7) and still tells it from the printed
    # exponent's, 0.3 away.
    return expect_number(
        answer,
        expected,
        atol=0.05,
        mistakes=[
            (
                printed,
                "That is the printed exponent (d - 1)/2. The lesson measured the exact shell "
                "volume, whose "
                "derivative in ℓ grows like ℓ^((d - 2)/2). (If you rounded to a whole number, give "
                "one decimal: the two exponents' answers differ by less than one order.)",
            ),
            (
                0.5 * d * math.log10(high / low),
                "That exponent d/2 is the volume of the whole ball; the density divides "
                "by the shell's volume per unit of loss, dVol/dℓ ~ ℓ^((d - 2)/2).",
            ),
            (
                expected * math.log(10),
                "That is the natural log of the ratio; the question asks for log10 (orders of "
                "magnitude).",
            ),
            (
                10**expected,
                "That is the density ratio itself; the question asks for its log10, the number "
                "of orders of magnitude.",
            ),
            (
                -expected,
                "Wrong direction: the density is *higher* at the lower loss, so the answer is "
                "positive.",
            ),
        ],
        hint="With N p(ℓ) equal, SD(ℓ) ∝ 1 / ℓ^((d - 2)/2): take log10 of (0.04 / 0.01)^((d - "
        "2)/2).",
    )
