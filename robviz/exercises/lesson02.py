"""Self-checks for lesson 2, "Adversarial examples and their trajectories"."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..attacks import FGSM, PGD
from ..attacks.objectives import cross_entropy_objective
from . import Mistake, exercise, expect_function, expect_number

#: The weights of the linear score in exercise 2.1 (one per pixel of an 8x8 digit) and the FGSM
#: radius.
SCORE_WEIGHTS = torch.linspace(-1.0, 1.0, 64, dtype=torch.float64)
SCORE_EPS = 8 / 255


@exercise("2.1", "How far one FGSM step moves a linear score")
def linear_score_change(answer: object) -> tuple[bool, str]:
    """Check the largest change of s(x) = w . x under an L-inf move of eps: eps * ||w||_1.

    Here w = SCORE_WEIGHTS.

    Parameters
    ----------
    answer : float
        Your largest change of the score, a number.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    w, eps = SCORE_WEIGHTS, SCORE_EPS
    return expect_number(
        answer,
        eps * float(w.abs().sum()),
        mistakes=[
            (
                eps * float(w.norm()),
                "That is eps * ||w||_2, the answer for an L2 ball. In the L-inf ball every "
                "pixel moves by eps independently: each contributes eps * |w_i|.",
            ),
            (
                eps * float(w.sum()),
                "Moving every pixel by +eps adds eps * sum(w), and positive and negative weights "
                "cancel. FGSM moves each pixel by eps * sign(w_i), so every term is eps * |w_i|.",
            ),
            (
                eps,
                "One pixel moves by at most eps, but all 64 move at once: add up eps * |w_i| over "
                "the pixels.",
            ),
            (
                float(w.abs().sum()),
                "That is ||w||_1, the change when every pixel moves by 1. Each pixel moves by eps: "
                "multiply by eps = 8/255.",
            ),
            (
                8 * float(w.abs().sum()),
                "eps is 8/255, not 8: the pixels are in [0, 1] and the radius is 8 of 255 grey "
                "levels.",
            ),
        ],
        hint="FGSM moves pixel i by eps * sign(w_i); add up the changes w_i * eps * sign(w_i).",
    )


def _linear_model(generator: torch.Generator, features: int, classes: int) -> nn.Module:
    """Return a fixed linear classifier in float64.

    It is the smallest model with a non-trivial input gradient.
    """
    model = nn.Linear(features, classes).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(classes, features, generator=generator, dtype=torch.float64))
        model.bias.copy_(torch.randn(classes, generator=generator, dtype=torch.float64))
    return model.requires_grad_(False)


def _attack_inputs(
    seed: int, variant: int = 0
) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor, float, tuple[float, float]]]:
    """Linear models, inputs and their bounds, some inputs on the bounds so that clipping matters.

    One case has bounds other than (0, 1), so a function that clips to (0, 1) instead of to its
    ``bounds`` argument fails. A ``variant`` > 0 draws other models and adds one more shape (the
    hidden tests).
    """
    generator = torch.Generator().manual_seed(seed + 100 * variant)
    cases = []
    shapes = [
        (8, 2, 3, 0.25, (0.0, 1.0)),
        (6, 5, 4, 0.1, (-1.0, 2.0)),
        (4, 64, 10, 8 / 255, (0.0, 1.0)),
    ]
    shapes += [(3, 7 + variant, 5, 0.05, (0.0, 1.0))] * (variant > 0)
    for n, features, classes, eps, (low, high) in shapes:
        model = _linear_model(generator, features, classes)
        x = torch.rand(n, features, generator=generator, dtype=torch.float64)
        x[0, 0], x[-1, -1] = 0.0, 1.0
        x = low + (high - low) * x
        y = torch.randint(0, classes, (n,), generator=generator)
        cases.append((model, x, y, eps, (low, high)))
    return cases


def _input_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Return the gradient of the cross-entropy with respect to x.

    Its sign does not depend on ``reduction``, its size does: the mistakes that drop the sign are
    matched with both reductions.
    """
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction=reduction), x)
    return grad


def _fgsm_reference(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, bounds: tuple[float, float]
) -> torch.Tensor:
    return FGSM(model, eps=eps, bounds=bounds, loss=cross_entropy_objective)(x, y)


@exercise("2.2", "Write one FGSM step")
def write_fgsm(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``fgsm(model, x, y, eps, bounds)`` against robviz.attacks.FGSM.

    The models are fixed and linear.

    Parameters
    ----------
    answer : callable
        Your function ``fgsm(model, x, y, eps, bounds)``, returning the adversarial inputs,
        shaped as x.
    seed : int, default 0
        0 is the visible check; another seed draws other models and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    inputs = list(_attack_inputs(2, seed))
    return expect_function(
        answer,
        _fgsm_reference,
        inputs,
        mistakes=[
            *[
                Mistake(
                    lambda m, x, y, e, b, r=reduction: (x + e * _input_gradient(m, x, y, r)).clamp(
                        *b
                    ),
                    "Take the *sign* of the gradient: FGSM moves every coordinate by exactly eps, "
                    "the corner of "
                    "the L-inf ball that the linearized loss prefers.",
                )
                for reduction in ("mean", "sum")
            ],
            Mistake(
                lambda m, x, y, e, b: (x - e * _input_gradient(m, x, y).sign()).clamp(*b),
                "The step goes the wrong way: that is gradient *descent*, which makes the "
                "prediction more "
                "confident. An attack climbs the loss: x + eps * sign(grad).",
            ),
            Mistake(
                lambda m, x, y, e, b: x + e * _input_gradient(m, x, y).sign(),
                "Clip the result to the data bounds (`.clamp(*bounds)`): an adversarial input must "
                "still be a "
                "valid input.",
            ),
            Mistake(
                lambda m, x, y, e, b: (x + e * _input_gradient(m, x, y).sign()).clamp(0, 1),
                "Clip to the `bounds` argument (`.clamp(*bounds)`), not to (0, 1): the data "
                "sets have other ranges (the spirals' are (-4, 4)).",
            ),
            Mistake(
                lambda m, x, y, e, b: x - e * _input_gradient(m, x, y).sign(),
                "Two things: the step descends the loss (use +eps * sign(grad)), and the result is "
                "not clipped "
                "to the data bounds.",
            ),
        ],
        hint="Compute the gradient of the cross-entropy with respect to x (`x.requires_grad_()`, "
        "`torch.autograd.grad`), step x + eps * grad.sign() and clip to the bounds.",
    )


def _pgd_reference(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    bounds: tuple[float, float],
) -> torch.Tensor:
    return PGD(
        model,
        eps=eps,
        alpha=alpha,
        steps=steps,
        random_start=False,
        bounds=bounds,
        loss=cross_entropy_objective,
    )(x, y)


def _pgd_variant(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    bounds: tuple[float, float],
    *,
    project: bool = True,
    clip: bool = True,
    sign: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """PGD from x with one of its parts switched off: each switch is a known mistake."""
    x_adv = x.clone()
    for _ in range(steps):
        grad = _input_gradient(model, x_adv, y, reduction)
        x_adv = x_adv + alpha * (grad.sign() if sign else grad)
        if project:
            x_adv = torch.min(torch.max(x_adv, x - eps), x + eps)
        if clip:
            x_adv = x_adv.clamp(*bounds)
    return x_adv


@exercise("2.3", "Write PGD: signed steps, projected back into the eps-ball")
def write_pgd(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``pgd(model, x, y, eps, alpha, steps, bounds)`` against robviz.attacks.PGD.

    Without random start, on fixed linear models; the step alpha is large enough that the
    projection matters.

    Parameters
    ----------
    answer : callable
        Your function ``pgd(model, x, y, eps, alpha, steps, bounds)``, returning the adversarial
        inputs, shaped as x.
    seed : int, default 0
        0 is the visible check; another seed draws other models and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    cases = _attack_inputs(3, seed)
    inputs = [(model, x, y, eps, eps / 3, 8 + seed, bounds) for model, x, y, eps, bounds in cases]
    # Steps of eps/3 fill the ball in 3 steps, and where no gradient sign flips later, 7 or 20
    # steps end at the same corner: one case whose steps add up to half the ball tells every
    # number of steps (and a step other than alpha) apart.
    model, x, y, eps, bounds = cases[0]
    inputs.append((model, x, y, eps, eps / (2 * (8 + seed)), 8 + seed, bounds))
    return expect_function(
        answer,
        _pgd_reference,
        inputs,
        mistakes=[
            Mistake(
                lambda *args: _pgd_variant(*args, project=False),
                "Project back into the eps-ball around the *clean* x after every step "
                "(clamp to [x - eps, x + eps]); without it the steps add up far beyond eps.",
            ),
            Mistake(
                lambda *args: _pgd_variant(*args, clip=False),
                "Clip every iterate to the data bounds as well, after the projection.",
            ),
            Mistake(
                lambda m, x, y, e, a, n, b: _pgd_variant(m, x, y, e, a, n, (0.0, 1.0)),
                "Clip to the `bounds` argument (`.clamp(*bounds)`), not to (0, 1): the data "
                "sets have other ranges (the spirals' are (-4, 4)).",
            ),
            *[
                Mistake(
                    lambda *args, r=reduction: _pgd_variant(*args, sign=False, reduction=r),
                    "Step along the *sign* of the gradient (alpha * grad.sign()), as in FGSM: that "
                    "is the steepest "
                    "ascent for the L-inf distance.",
                )
                for reduction in ("mean", "sum")
            ],
        ],
        hint="Start from x_adv = x; repeat: x_adv + alpha * sign(grad at x_adv), clamp to [x - "
        "eps, x + eps], "
        "clamp to the bounds.",
    )


def _worst_case_reference(robust: torch.Tensor) -> float:
    return robust.all(dim=0).double().mean().item()


def _robust_flags(seed: int, variant: int = 0) -> list[tuple[torch.Tensor]]:
    """Per-attack robust flags (A, N) in which the worst case differs from every mistake.

    Point 0 survives every attack, point 1 only attack 0 breaks, point 2 only attack 1: so the
    worst case lies below the best attack, the best case and the mean. A ``variant`` > 0 draws
    other flags and one more shape (the hidden tests).
    """
    generator = torch.Generator().manual_seed(40 + seed + 100 * variant)
    cases = []
    for attacks, points in [(2, 12), (5, 40), (3, 9)] + [(4, 7 + variant)] * (variant > 0):
        robust = torch.rand(attacks, points, generator=generator) < 0.7
        robust[:, :3] = True
        robust[0, 1] = robust[1, 2] = False
        cases.append((robust,))
    return cases


@exercise("2.4", "The worst case over an attack battery, point by point")
def worst_case_accuracy(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check ``worst_case_accuracy(robust)``: the share of points that every attack left correct.

    ``robust`` is an (A, N) boolean tensor, row a the points attack a left correctly classified;
    the answer is ``robust.all(dim=0).mean()``, the robust accuracy of the whole battery
    (``RobustnessTable.with_worst_case``).

    Parameters
    ----------
    answer : callable
        Your function ``worst_case_accuracy(robust)``, returning one number in [0, 1].
    seed : int, default 0
        0 is the visible check; another seed draws other flags and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_function(
        answer,
        _worst_case_reference,
        _robust_flags(4, seed),
        mistakes=[
            Mistake(
                lambda robust: robust.any(dim=0).double().mean().item(),
                "That is the best case: a point counts as soon as one attack failed to break it. "
                "In the worst case a point counts only if every attack left it correct: `all` "
                "over the attacks (dim=0).",
            ),
            Mistake(
                lambda robust: robust.double().mean(dim=1).min().item(),
                "That is the strongest single attack's accuracy. Together the attacks do better: "
                "one breaks some points, another breaks others. Per point, take `all` over the "
                "attacks first, then the mean over the points.",
            ),
            Mistake(
                lambda robust: 100 * _worst_case_reference(robust),
                "That is a percentage: return the share of points, a number in [0, 1].",
            ),
            Mistake(
                lambda robust: float(robust.all(dim=0).sum()),
                "That counts the points every attack left correct; divide by the number of points "
                "N for the share.",
            ),
            Mistake(
                lambda robust: robust.double().mean().item(),
                "That averages over attacks and points: the accuracy of an average attack, not "
                "of the battery. Per point, take `all` over the attacks, then the mean.",
            ),
        ],
        hint="A point survives the battery when robust[a, i] is True for every attack a: "
        "robust.all(dim=0), then the share of such points.",
    )
