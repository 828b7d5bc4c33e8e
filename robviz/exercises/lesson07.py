"""Self-checks for lesson 7, "Mixup Inference"."""

from __future__ import annotations

import torch
from torch import nn

from ..mixup_inference import MixupInference
from . import Mistake, exercise, expect_function, expect_number


class _TinyNet(nn.Module):
    """A seeded two-layer tanh network, (..., 3) -> (..., 4) logits.

    Nonlinear, so that averaging probabilities, averaging logits and averaging the partners give
    three different answers.
    """

    def __init__(self, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.w1 = nn.Parameter(torch.randn(3, 8, generator=generator, dtype=torch.float64))
        self.b1 = nn.Parameter(torch.randn(8, generator=generator, dtype=torch.float64))
        self.w2 = nn.Parameter(torch.randn(8, 4, generator=generator, dtype=torch.float64) * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.w1 + self.b1) @ self.w2


def _mi_reference(
    model: nn.Module, x: torch.Tensor, partners: torch.Tensor, lam: float
) -> torch.Tensor:
    """Compute ``MixupInference.mix`` with the partners given, (B, n, ...).

    The partners are given instead of drawn from a pool.
    """
    batch, count = partners.shape[:2]
    pool = partners.reshape(batch * count, *partners.shape[2:])
    # Every class in the pool (MixupInference requires it), in nondecreasing order so that the
    # pool's sort by class keeps the partners where the draw below expects them.
    num_classes = model(pool[:1]).shape[-1]
    labels = torch.arange(batch * count) * num_classes // (batch * count)
    mi = MixupInference(model, pool, labels, mode="PL", samples=count, lam=lam)
    # The given partners replace the draw, which then needs no predicted classes.
    mi.draw = lambda predicted, n, same: torch.arange(batch * count).reshape(batch, count)  # type: ignore[method-assign]
    return mi.mix(x, None, count, same=True)  # type: ignore[arg-type]


def _mi_inputs(variant: int = 0) -> list[tuple[_TinyNet, torch.Tensor, torch.Tensor, float]]:
    """Return a network and batches.

    A ``variant`` > 0 draws another network, other inputs and one more batch shape (the hidden
    tests).
    """
    generator = torch.Generator().manual_seed(100 * variant)
    model = _TinyNet(variant)
    inputs = []
    # lam != 0.5 everywhere: at 0.5 a swapped lam and 1 - lam would go unnoticed
    for batch, n, lam in [(5, 4, 0.6), (3, 10, 0.3), (1, 7, 0.8)] + [(4, 2 + variant, 0.7)] * (
        variant > 0
    ):
        x = torch.randn(batch, 3, generator=generator, dtype=torch.float64) * 2
        partners = torch.randn(batch, n, 3, generator=generator, dtype=torch.float64) * 2
        inputs.append((model, x, partners, lam))
    return inputs


def _mix(x: torch.Tensor, partners: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * x[:, None] + (1 - lam) * partners


@exercise("7.1", "Write the MI prediction")
def write_mi_prediction(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``mi_predict(model, x, partners, lam)`` against ``MixupInference.mix``.

    Both use the same partners.

    On a small nonlinear network and three batches with lam = 0.6, 0.3, 0.8.

    Parameters
    ----------
    answer : callable
        Your function ``mi_predict(model, x, partners, lam)``: inputs x (B, ...), partners
        (B, n, ...) and the mixing weight lam in, the mean of the n mixtures' softmax
        probabilities (B, L) out.
    seed : int, default 0
        0 is the visible check; another seed draws another network, other inputs and one more
        batch shape (the hidden tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_function(
        answer,
        _mi_reference,
        _mi_inputs(seed),
        mistakes=[
            Mistake(
                lambda m, x, p, lam: _mi_reference(m, x, p, 1 - lam),
                "lambda weighs the *input* and 1 - lambda the partner: lambda x + (1 - lambda) "
                "x_s. Swapped, the "
                "perturbation in x would be scaled by 1 - lambda instead of lambda.",
            ),
            Mistake(
                lambda m, x, p, lam: m(_mix(x, p, lam)).mean(dim=1).softmax(dim=1),
                "Average the *probabilities* (the softmax of each mixture), not the logits: the "
                "softmax of averaged "
                "logits is a normalized geometric mean of the probabilities, a different vote than "
                "MI's.",
            ),
            Mistake(
                lambda m, x, p, lam: m(_mix(x, p, lam)).log_softmax(dim=-1).mean(dim=1).exp(),
                "Average the probabilities themselves, not their logs: exp(mean log p) is a "
                "geometric mean, which no longer sums to 1 and lets one confident mixture veto "
                "the others.",
            ),
            Mistake(
                lambda m, x, p, lam: m(lam * x + (1 - lam) * p.mean(dim=1)).softmax(dim=1),
                "Mix the input with each partner separately and average the n predictions; mixing "
                "with the mean "
                "of the partners runs the model once, on a blurred partner, and the model is not "
                "linear.",
            ),
            Mistake(
                lambda m, x, p, lam: _mi_reference(m, x, p, lam).log(),
                "Return the averaged probabilities themselves; `MixupInference.forward` takes "
                "their log only so "
                "that the attacks can use cross-entropy on it.",
            ),
        ],
        hint="Mix every input with each of its n partners (x[:, None] broadcasts against partners "
        "(B, n, ...)), run "
        "the model on the B * n mixtures, take the softmax of each and average over the n "
        "partners.",
    )


@exercise("7.2", "How much of the perturbation survives mixing")
def perturbation_after_mixing(answer: object) -> tuple[bool, str]:
    """Check the L-inf size of the perturbation left in a mixed input: lam * eps.

    Here eps = 0.5 and lam = 0.6.

    Parameters
    ----------
    answer : float
        Your L-inf size of the perturbation, a number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    eps, lam = 0.5, 0.6
    return expect_number(
        answer,
        lam * eps,
        mistakes=[
            (
                (1 - lam) * eps,
                "That is the partner's weight 1 - lambda times eps. The perturbation sits in the "
                "input, "
                "which MI weighs by lambda: lambda (x + delta) + (1 - lambda) x_s.",
            ),
            (
                eps,
                "Mixing does shrink it: the two mixtures lambda (x + delta) + (1 - lambda) x_s and "
                "lambda x + (1 - lambda) x_s differ by lambda delta.",
            ),
            (
                0.5 * eps,
                "That is lambda = 0.5 (the mixup model's default); this exercise uses lambda = "
                "0.6.",
            ),
            (eps / lam, "Mixing multiplies the perturbation by lambda; it does not divide it."),
        ],
        hint="Subtract the mixed clean input from the mixed adversarial one: what is left of "
        "delta?",
    )
