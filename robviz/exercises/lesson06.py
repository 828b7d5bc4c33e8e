"""Self-checks for lesson 6, "ADP ensembles: diversity on the wrong labels"."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..ensemble import adp_regularizer, ensemble_diversity, non_true_predictions
from ..theory import adp_optimum
from . import Mistake, exercise, expect_function, expect_number


def _member_predictions(seed: int, variant: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Return (K, N, L) softmax outputs of random logits, from flat to confident, and (N,) labels.

    A ``variant`` > 0 draws others and adds one more shape (the hidden tests).
    """
    generator = torch.Generator().manual_seed(seed + 100 * variant)
    inputs = []
    shapes = [(3, 6, 4, 1.0), (2, 8, 10, 3.0), (3, 5, 10, 5.0), (4, 1, 6, 2.0)] + [
        (5, 3, 7, 2.0)
    ] * (variant > 0)
    for members, n, classes, scale in shapes:
        logits = torch.randn(members, n, classes, generator=generator, dtype=torch.float64) * scale
        y = torch.randint(0, classes, (n,), generator=generator)
        inputs.append((torch.softmax(logits, dim=-1), y))
    return inputs


def _entropy(p: torch.Tensor) -> torch.Tensor:
    # xlogy: 0 log 0 = 0, so the known mistakes are recognized on rows with zeros too
    return -torch.special.xlogy(p, p).sum(dim=-1)


def _reference_entropy(probabilities: torch.Tensor) -> torch.Tensor:
    # The entropy term of the ADP regularizer alone (alpha = 1, beta = 0), with its sign turned
    # back.
    y = torch.zeros(probabilities.shape[1], dtype=torch.long)
    return -adp_regularizer(probabilities, y, alpha=1.0, beta=0.0, reduction="none")


@exercise("6.1", "Write the ensemble entropy")
def write_ensemble_entropy(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``ensemble_entropy(probabilities)`` against H(mean_k F^k) of ADP.

    Shapes: (K, N, L) -> (N,). Also on probabilities of exactly 0 (0 log 0 = 0).

    Parameters
    ----------
    answer : callable
        Your function ``ensemble_entropy(probabilities)``: the members' probabilities (K, N, L) in,
        the entropy of their mean (N,) out.
    seed : int, default 0
        0 is the visible check; another seed draws other inputs and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    inputs = [(p,) for p, _ in _member_predictions(6, seed)]
    # Classes every member gives probability exactly 0, as a confident float32 softmax does:
    # 0 log 0 = 0, never NaN.
    zeros = [
        [[0.9, 0.1, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]],
        [[0.7, 0.3, 0.0, 0.0], [0.2, 0.6, 0.2, 0.0]],
    ]
    inputs.append((torch.tensor(zeros, dtype=torch.float64),))
    return expect_function(
        answer,
        _reference_entropy,
        inputs,
        mistakes=[
            Mistake(
                lambda p: _entropy(p).mean(dim=0),
                "That is the members' mean entropy. ADP rewards the entropy "
                "of the *ensemble's* prediction, H(mean_k F^k): average the probabilities first, "
                "then take the "
                "entropy (confident members can still have an uncertain mean).",
            ),
            Mistake(
                lambda p: -(p * p.log()).sum(dim=-1).mean(dim=0),
                "That is the members' mean entropy. ADP rewards the entropy "
                "of the *ensemble's* prediction, H(mean_k F^k): average the probabilities first, "
                "then take the entropy. Mind 0 log 0 = 0 too: p.log() is -inf at a probability of "
                "exactly 0, and 0 * -inf is NaN (torch.special.xlogy(p, p) gives 0).",
            ),
            Mistake(
                lambda p: _entropy(p.sum(dim=0)),
                "The ensemble predicts with the *mean* of its members' "
                "probabilities: a sum over K members is not a probability vector (it sums to K).",
            ),
            Mistake(
                lambda p: -_entropy(p.mean(dim=0)),
                "Wrong sign: the entropy −Σ p log p is ≥ 0. (ADP *adds* "
                "−α H to the loss, so that minimizing the loss raises H.)",
            ),
        ],
        hint="Average over the members (dim 0), then −Σ_j p_j log p_j over the classes (the last "
        "dim), with 0 log 0 = 0.",
    )


def _gram_det(m: torch.Tensor) -> torch.Tensor:
    return torch.linalg.det(m.transpose(0, 1) @ m.permute(1, 2, 0))


@exercise("6.2", "Write the ensemble diversity det(M Mᵀ)")
def write_ensemble_diversity(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``diversity(probabilities, y)``, (K, N, L) and (N,) -> (N,).

    Against robviz.ensemble.ensemble_diversity: det of the Gram matrix of the L2-normalized
    non-true-label predictions.

    Parameters
    ----------
    answer : callable
        Your function ``diversity(probabilities, y)``: the members' probabilities (K, N, L) and
        integer labels y (N,) in, the diversity (N,) out.
    seed : int, default 0
        0 is the visible check; another seed draws other inputs and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """

    def raw(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return non_true_predictions(p, y, None)

    def log_det(offset: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        def wrong(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            m = non_true_predictions(p, y)
            gram = m.transpose(0, 1) @ m.permute(1, 2, 0)
            return torch.logdet(gram + offset * torch.eye(gram.shape[-1], dtype=gram.dtype))

        return wrong

    log_det_hint = (
        "That is a log det, the form in the ADP loss (-β log det(M Mᵀ + 10⁻⁶ I)). The diversity "
        "itself "
        "is the determinant, between 0 (parallel) and 1 (orthogonal)."
    )
    return expect_function(
        answer,
        ensemble_diversity,
        _member_predictions(7, seed),
        mistakes=[
            Mistake(
                lambda p, y: _gram_det(raw(p, y)),
                "Normalize each member's non-true-label vector to unit length "
                "first: without it the determinant mostly measures how *unconfident* the members "
                "are (small "
                "wrong-label mass, small det), not the angles between them.",
            ),
            Mistake(
                lambda p, y: _gram_det(F.normalize(p, dim=-1)),
                "Remove the true label first: all members agree "
                "on it (they should be right), so including it makes every pair look alike. ADP's "
                "diversity is "
                "about *how to be wrong*.",
            ),
            Mistake(
                lambda p, y: _gram_det(non_true_predictions(p, y, "l1")),
                "Normalize with the L2 norm (unit "
                "vectors), not to sum 1: det(M Mᵀ) is then a squared volume, 1 for orthogonal "
                "members.",
            ),
            Mistake(log_det(0.0), log_det_hint),
            Mistake(log_det(1e-6), log_det_hint),
        ],
        hint="Drop entry y of each member's prediction, L2-normalize the rest (the rows of M, K x "
        "(L - 1)), and "
        "return det(M Mᵀ) per sample.",
    )


@exercise("6.3", "Eq. 7 for the digits ensemble")
def eq7_for_digits(answer: object) -> tuple[bool, str]:
    """F_y of Theorem 2 (Eq. 7) for alpha = 2, K = 3 members, L = 10 classes.

    Parameters
    ----------
    answer : float
        Your F_y, the ensemble's optimal prediction on the true label, a number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    alpha, K, L = 2.0, 3, 10
    f_y = adp_optimum(alpha, K, L)
    # 0.005 accepts F_y rounded to two places (0.59); the nearest known slip is 0.25 away.
    return expect_number(
        answer,
        f_y,
        rtol=0.0,
        atol=0.005,
        mistakes=[
            (
                adp_optimum(alpha, 1, L),
                "That solves 1/F_y = α log(...): Eq. 7 has α/K, the entropy weight per member.",
            ),
            (
                adp_optimum(alpha, K, 2),
                "The log's argument is F_y (L − 1)/(1 − F_y): the factor L − 1 is missing.",
            ),
            (
                1 / L,
                "1/L is the uniform prediction, the limit α → ∞; at α = 2 the ensemble stays "
                "confident.",
            ),
            (
                (1 - f_y) / (L - 1),
                "That is the mean prediction on *one wrong* label, (1 − F_y)/(L − 1); the question "
                "asks for F_y.",
            ),
        ],
        hint="Solve 1/F_y = (α/K) log(F_y (L − 1)/(1 − F_y)) for F_y in (1/L, 1), e.g. by "
        "bisection or with "
        "scipy.optimize.brentq.",
    )
