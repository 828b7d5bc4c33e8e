"""Self-checks for lesson 10, "Adversarial training"."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import Mistake, exercise, expect_choice, expect_function

# One check's arguments: (model, x, y, eps, alpha, steps, bounds, start).
_Case = tuple[
    nn.Module, torch.Tensor, torch.Tensor, float, float, int, tuple[float, float], torch.Tensor
]
# The inner maximization: the arguments of a _Case -> x_adv.
_Maximization = Callable[
    [nn.Module, torch.Tensor, torch.Tensor, float, float, int, tuple[float, float], torch.Tensor],
    torch.Tensor,
]


def _model(seed: int) -> nn.Module:
    """Return a small seeded 2-D ReLU classifier (2 -> 8 -> 3), in eval mode."""
    from ..models import Classifier, ToyMLP
    from ..objectives import make_objective

    torch.manual_seed(100 + seed)
    return Classifier(ToyMLP(2, 3, hidden=8, depth=1), make_objective("sce", 3, 3)).double().eval()


def _inputs(variant: int = 0) -> list[_Case]:
    """Return (model, x, y, eps, alpha, steps, bounds, start) tuples.

    A ``variant`` > 0 draws others (hidden tests).

    Some points sit near the bounds, so that a missing clip shows; alpha is large, so a missing
    projection shows.
    """
    generator = torch.Generator().manual_seed(10 + variant)
    cases = []
    for k, (eps, alpha, steps) in enumerate(
        [(0.3, 0.2, 4), (0.5, 0.3, 6), (0.2, 0.15, 3 + variant)]
    ):
        x = torch.rand(12, 2, generator=generator, dtype=torch.float64) * 4 - 2
        x[:3] = x[:3].sign() * 1.9  # near the corners of the box [-2, 2]
        y = torch.randint(0, 3, (12,), generator=generator)
        start = (
            x + eps * (2 * torch.rand(x.shape, generator=generator, dtype=torch.float64) - 1)
        ).clamp(-2, 2)
        cases.append((_model(variant * 3 + k), x, y, eps, alpha, steps, (-2.0, 2.0), start))
    return cases


def _pgd(
    sign: float = 1.0,
    project: bool = True,
    clip: bool = True,
    use_sign: bool = True,
    from_x: bool = False,
    around_start: bool = False,
) -> _Maximization:
    """PGD on cross-entropy from ``start``: the reference (defaults) and the usual slips.

    ``from_x`` starts at the clean x instead of ``start``; ``around_start`` projects onto the ball
    around ``start`` instead of the one around x.
    """

    def run(
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        alpha: float,
        steps: int,
        bounds: tuple[float, float],
        start: torch.Tensor,
    ) -> torch.Tensor:
        x_adv = (x if from_x else start).clone()
        centre = start if around_start else x
        for _ in range(steps):
            x_adv = x_adv.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
            x_adv = x_adv.detach() + sign * alpha * (grad.sign() if use_sign else grad)
            if project:
                x_adv = torch.max(torch.min(x_adv, centre + eps), centre - eps)
            if clip:
                x_adv = x_adv.clamp(*bounds)
        return x_adv.detach()

    return run


def _with_robviz(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    bounds: tuple[float, float],
    start: torch.Tensor,
) -> torch.Tensor:
    """Return the inner maximization of robviz.adversarial from the same start.

    It is attacks.PGD's iterate.
    """
    from ..attacks import PGD, cross_entropy_objective

    attack = PGD(
        model, eps=eps, alpha=alpha, steps=steps, bounds=bounds, loss=cross_entropy_objective
    )
    return attack.iterate(x, start, y).detach()


def _answer(function: Callable[..., object]) -> Callable[..., object]:
    """Run a student's function, its output detached.

    ``expect_function`` gives it copies and fails it when it changes them.
    """

    def run(
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        eps: float,
        alpha: float,
        steps: int,
        bounds: tuple[float, float],
        start: torch.Tensor,
    ) -> object:
        out = function(model, x, y, eps, alpha, steps, bounds, start)
        return out.detach() if torch.is_tensor(out) else out

    return run


@exercise("10.1", "Write the inner maximization")
def inner_maximization(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``inner_max(model, x, y, eps, alpha, steps, bounds, start)``.

    L-inf PGD on cross-entropy from ``start``, checked against :meth:`robviz.attacks.PGD.iterate` on
    small 2-D models.

    Parameters
    ----------
    answer : callable
        Your function ``inner_max(model, x, y, eps, alpha, steps, bounds, start)``, returning the
        adversarial inputs, shaped as x; it must not change its inputs.
    seed : int, default 0
        0 is the visible check; another seed draws other models and inputs (the hidden tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    if not callable(answer):
        return False, f"Expected a function, got {type(answer).__name__}."
    passed, message = expect_function(
        _answer(answer),
        _with_robviz,
        _inputs(seed),
        mistakes=[
            Mistake(
                _pgd(sign=-1.0),
                "It *descends* the loss: the inner maximization climbs it, x + alpha * sign(grad).",
            ),
            Mistake(
                _pgd(project=False),
                "It leaves the eps-ball: after each step clamp x_adv to [x - eps, x + eps] "
                "(the projection of PGD), before clipping to the bounds.",
            ),
            Mistake(
                _pgd(clip=False),
                "It leaves the input box: clip x_adv to `bounds` after the projection.",
            ),
            Mistake(
                _pgd(from_x=True),
                "It starts at the clean x: start at `start`, the random point of the ball the "
                "caller drew (PGD's random start), and keep x only as the centre of the ball.",
            ),
            Mistake(
                _pgd(around_start=True),
                "It projects onto the ball around `start`: the ball is centred on the clean x, "
                "so clamp to [x - eps, x + eps] whatever the starting point.",
            ),
            Mistake(
                _pgd(use_sign=False),
                "It steps along the raw gradient: the L-inf step is alpha * sign(grad), "
                "the steepest ascent inside a box.",
            ),
        ],
        hint="Each step: the gradient of the cross-entropy at x_adv, x_adv + alpha * sign(grad), "
        "then clamp to "
        "[x - eps, x + eps] and to the bounds.",
    )
    if not passed:
        return False, message
    return True, (
        "It agrees with `robviz.attacks.PGD.iterate` on every test model: this is the inner "
        "maximization "
        "that `fit(..., adversarial=AdversarialTraining(...))` runs before every training step."
    )


@exercise("10.2", "Does robustness at the training radius carry over to twice the radius")
def twice_the_radius(answer: object) -> tuple[bool, str]:
    """Check what adversarial training at eps gives at 2 eps (multiple choice).

    The lesson measures it exactly.

    Parameters
    ----------
    answer : str
        Your choice, the letter of one option: ``"a"``, ``"b"`` or ``"c"``.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_choice(
        answer,
        "b",
        {
            "a": "Robust accuracy can only fall as the radius grows: every ball of radius 2 eps "
            "holds the ball of radius "
            "eps. Nothing made the boundary keep a distance of 2 eps from the data.",
            "c": "Training pushed the boundary away from the training points, beyond eps where it "
            "could; a point whose distance grew past eps may have grown past 2 eps too, and "
            "nothing stops the advantage at eps. Compare the exact values of SCE and SCE-AT at "
            "2 eps.",
        },
        why="Right: the model is robust only where training put the boundary; at twice the radius "
        "it keeps part of "
        "its advantage over the plain model, and loses much of its robust accuracy.",
    )
