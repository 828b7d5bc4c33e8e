"""Gradient-masking checks that return evidence, not opinions.

A defense that only breaks the attacker's gradients looks robust to gradient attacks and is not. The
checks of Athalye, Carlini and Wagner ("Obfuscated Gradients Give a False Sense of Security", ICML
2018, https://arxiv.org/abs/1802.00420) and Carlini et al. ("On Evaluating Adversarial Robustness",
2019, https://arxiv.org/abs/1902.06705), each a function returning a small dataclass with the
measured numbers, a ``looks_masked`` flag and a one-line ``verdict``:

* :func:`accuracy_vs_eps`: accuracy must fall to about 0 as eps grows to the whole input range;
* :func:`accuracy_vs_steps`: more steps and more restarts must never raise the accuracy;
* :func:`whitebox_vs_blackbox`: a white-box attack must beat black-box (SPSA) and transfer attacks;
* :func:`loss_along_direction`, :func:`loss_landscape_2d`: the loss along the attack direction
  should rise smoothly, as the gradient predicts.

A ``looks_masked = False`` is no proof of robustness: it only says this check found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from . import checks
from .attacks import (
    PGD,
    SPSA,
    Attack,
    cross_entropy_objective,
    judged_predictions,
    margin_objective,
)
from .models import Predictor
from .runtime import evaluating, inference, num_classes_of, percent_text, predict, to_model

if TYPE_CHECKING:
    from .data import Dataset

# An attack objective: (model, x, labels) -> (N,) losses.
_Objective = Callable[[Predictor, torch.Tensor, torch.Tensor], torch.Tensor]

__all__ = [
    "EpsCurve",
    "StepsCurve",
    "BoxComparison",
    "LossLine",
    "LossSurface",
    "accuracy_vs_eps",
    "accuracy_vs_steps",
    "whitebox_vs_blackbox",
    "loss_along_direction",
    "loss_landscape_2d",
    "gradient_direction",
]


def _default_attack(
    model: Predictor,
    eps: float,
    steps: int = 20,
    seed: int = 0,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
) -> PGD:
    """L-inf PGD with a random start, step 2.5 eps / steps and the margin loss.

    The step is Madry et al.'s rule.

    Not cross-entropy: on a confidently classified point softmax is exactly 1 in float32, so the
    cross-entropy gradient underflows to 0 (or to denormal noise) and the sign step wanders. At
    large radii the random start lands in such places: on lesson 8's full-size SCE model, PGD-20 on
    cross-entropy left 25 % accuracy at eps = 1 and 10.7 % at eps = the whole box, where the margin
    loss leaves 7.7 % and 0 %. The margin max_{j != y} z_j - z_y (Carlini & Wagner 2017) never
    saturates, which is what a masking check needs: a failure to reach 0 % then says something about
    the model, not about float32.
    """
    return PGD(
        model,
        eps=eps,
        alpha=2.5 * eps / steps,
        steps=steps,
        random_start=True,
        bounds=bounds,
        seed=seed,
        loss=margin_objective,
    )


def _correct(model: Predictor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return (N,) bool on the CPU: the model classifies x as y."""
    x = checks.finite_inputs("x", x)
    logits = checks.logits("model", inference(model, x))
    return predict(logits).cpu() == checks.labels("y", y, len(x), num_classes=logits.shape[1]).cpu()


def _robust(model: Predictor, x: torch.Tensor, y: torch.Tensor, attack: Attack) -> torch.Tensor:
    """Return (N,) bool on the CPU: correct clean and under the attack."""
    return _correct(model, x, y) & _holds(model, x, y, attack)


def _holds(model: Predictor, x: torch.Tensor, y: torch.Tensor, attack: Attack) -> torch.Tensor:
    """Return (N,) bool on the CPU: ``model`` still predicts y on the attack's examples.

    Judged by ``model`` (:func:`robviz.attacks.judged_predictions`), whatever model the attack
    was built on; a failed sample never holds.
    """
    prediction, failed = judged_predictions(model, attack, attack.run(x, y))
    return ((prediction == y) & ~failed).cpu()


@dataclass
class EpsCurve:
    """Robust accuracy against the radius.

    ``eps`` and ``accuracy`` are lists (fractions); ``looks_masked`` when the accuracy at the
    largest radius stays above ``floor`` or the curve rises by more than ``tolerance``.
    """

    eps: list[float]
    accuracy: list[float]
    looks_masked: bool
    verdict: str


def accuracy_vs_eps(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    eps_list: Sequence[float],
    attack_factory: Callable[[Predictor, float], Attack] | None = None,
    *,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
    floor: float = 0.05,
    tolerance: float = 0.02,
) -> EpsCurve:
    """Robust accuracy at every radius in ``eps_list``.

    End the list with the whole input range (``bounds[1] - bounds[0]``), where every input can be
    replaced by any other and accuracy must reach ~0.

    Parameters
    ----------
    model, x, y
        The classifier, inputs (N, ...) and labels (N,).
    eps_list : sequence of float
        Increasing radii (the verdict compares neighbouring radii and reads the last as the
        largest).
    attack_factory : callable or None
        ``factory(model, eps) -> Attack``; default L-inf PGD-20 on the margin loss, step 2.5 eps /
        20.
    bounds : tuple of float or robviz.data.Dataset
        The input range.
    floor : float
        The largest accuracy at the largest radius that still counts as "about 0". Default 0.05.
    tolerance : float
        How much the curve may rise between radii (sampling noise), >= 0. Default 0.02.

    Returns
    -------
    EpsCurve
        The accuracies, ``looks_masked`` and a one-line verdict.

    Raises
    ------
    ValueError
        An empty ``eps_list``, an entry < 0, or radii not increasing (``[0.5, 0.1]`` read a falling
        curve as rising); ``floor`` outside [0, 1] or ``tolerance`` < 0 (a verdict against a
        threshold no accuracy can meet); x empty or non-finite; y not one integer label per input
        in [0, L); a ``model`` whose output is not (N, L) logits with L >= 2
        (:func:`robviz.checks.logits`).
    TypeError
        ``eps_list`` a single number, not a sequence.
    """
    checks.model("model", model)
    floor = checks.real("floor", floor, low=0, high=1)
    tolerance = checks.real("tolerance", tolerance, low=0)
    factory = attack_factory or (lambda m, e: _default_attack(m, e, bounds=bounds))
    eps_list = [
        checks.real("eps_list entry", e, low=0)
        for e in checks.sequence("eps_list", eps_list, "radii, e.g. [0.0, 0.1, 1.0]")
    ]
    if not eps_list:
        raise ValueError("eps_list is empty: give the radii, ending with the whole input range")
    if any(b <= a for a, b in zip(eps_list, eps_list[1:])):
        raise ValueError(
            f"eps_list must be increasing, got {_listed(eps_list)}: the verdict compares "
            "neighbouring radii and reads the last as the largest"
        )
    accuracy = [
        _robust(model, x, y, factory(model, eps)).float().mean().item()
        if eps > 0
        else _correct(model, x, y).float().mean().item()
        for eps in eps_list
    ]
    rises = any(b > a + tolerance for a, b in zip(accuracy, accuracy[1:]))
    stuck = accuracy[-1] > floor
    masked = rises or stuck
    if stuck:
        verdict = (
            f"masked: accuracy is still {percent_text(100 * accuracy[-1])}% at eps = "
            f"{eps_list[-1]:g}, where an attack that works must reach ~0%"
        )
    elif rises:
        verdict = "masked: accuracy rises with a larger radius, which a working attack never allows"
    else:
        verdict = (  # "monotonically" would be false for a rise within the tolerance
            f"no sign of masking: accuracy reaches {percent_text(100 * accuracy[-1])}% at eps = "
            f"{eps_list[-1]:g} and never rises by more than {100 * tolerance:.0f} points from one "
            "radius to the next"
        )
    return EpsCurve(eps_list, accuracy, masked, verdict)


@dataclass
class StepsCurve:
    """Robust accuracy against attack steps (rows) and restarts (columns).

    ``accuracy[i][j]`` for ``steps[i]`` and ``restarts[j]``. ``looks_masked`` when more steps raise
    the accuracy by more than the tolerance (more restarts cannot raise it: a sample counts as
    robust only when it survives every restart).
    """

    steps: list[int]
    restarts: list[int]
    accuracy: list[list[float]]
    looks_masked: bool
    verdict: str


def accuracy_vs_steps(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    steps_list: Sequence[int] = (1, 5, 10, 50),
    restarts_list: Sequence[int] = (1, 3),
    attack_factory: Callable[[Predictor, float, int, int], Attack] | None = None,
    *,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
    tolerance: float = 0.02,
) -> StepsCurve:
    """Robust accuracy for every number of steps and of restarts.

    A sample counts as robust only when it is classified correctly and survives every restart.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    x : torch.Tensor
        Inputs (N, ...) in ``bounds``.
    y : torch.Tensor
        Labels (N,).
    eps : float
        The attack radius, in input units.
    steps_list : sequence of int
        The step counts (rows), each >= 1; sorted here (the masking check compares neighbouring
        rows).
    restarts_list : sequence of int
        The restart counts (columns), each >= 1; sorted here.
    attack_factory : callable or None
        ``attack_factory(model, eps, steps, seed) -> Attack``; None: PGD with step 2.5 eps / steps
        and a random start seeded by the restart.
    bounds : tuple of float or Dataset
        (low, high) of the inputs, for the default attack.
    tolerance : float
        The rise of accuracy allowed as noise before the curve counts as masked.

    Returns
    -------
    StepsCurve
        The accuracies, ``looks_masked`` and a one-line verdict.

    Raises
    ------
    ValueError
        An entry < 1 or an empty list; ``tolerance`` < 0; x empty or non-finite; y not one
        integer label per input in [0, L); a ``model`` whose output is not (N, L) logits with
        L >= 2 (:func:`robviz.checks.logits`).
    TypeError
        ``steps_list`` or ``restarts_list`` a single number, not a sequence.
    """
    checks.model("model", model)
    tolerance = checks.real("tolerance", tolerance, low=0)
    factory = attack_factory or (
        lambda m, e, s, seed: _default_attack(m, e, s, seed, bounds=bounds)
    )
    steps_list, restarts_list = (
        checks.sequence(name, counts, "counts, e.g. (1, 5)")
        for name, counts in (("steps_list", steps_list), ("restarts_list", restarts_list))
    )
    # Zero steps or zero restarts attack nothing: the curve would show the clean accuracy as robust.
    steps_list = sorted(checks.integer("steps_list entry", s, low=1) for s in steps_list)
    restarts_list = sorted(checks.integer("restarts_list entry", r, low=1) for r in restarts_list)
    if not steps_list or not restarts_list:
        raise ValueError("steps_list and restarts_list must each hold at least one count")
    grid = []
    for steps in steps_list:
        robust = _correct(model, x, y)
        row, done = [], 0
        for restarts in restarts_list:
            for seed in range(done, restarts):
                robust &= _holds(model, x, y, factory(model, eps, steps, seed))
            done = restarts
            row.append(robust.float().mean().item())
        grid.append(row)
    by_steps = any(
        grid[i + 1][j] > grid[i][j] + tolerance
        for i in range(len(grid) - 1)
        for j in range(len(restarts_list))
    )
    masked = by_steps
    first, last = grid[0][0], grid[-1][-1]
    if masked:
        verdict = (
            "masked: more attack steps raised the accuracy; a converging attack can only lower it "
            "(suspect randomness or a broken gradient)"
        )
    else:
        verdict = (  # "falls" would be false where noise within the tolerance lifts it
            f"no sign of masking: accuracy is {percent_text(100 * first)}% at {steps_list[0]} "
            f"step(s) and {percent_text(100 * last)}% at {steps_list[-1]} steps, "
            f"{restarts_list[-1]} restart(s), never "
            f"rising by more than {100 * tolerance:.0f} points from one step count to the next"
        )
    return StepsCurve(steps_list, restarts_list, grid, masked, verdict)


@dataclass
class BoxComparison:
    """Robust accuracy under a white-box attack and under black-box ones.

    ``accuracy`` maps ``"clean"``, ``"white-box PGD"`` (``"white-box <class>"`` for another
    white-box attack), ``"black-box SPSA"`` and (with a surrogate) ``"transfer"`` to fractions.
    ``looks_masked`` when a black-box attack beats the white-box one by more than ``tolerance``.
    ``spsa_delta`` is the finite-difference radius SPSA used (NaN when unknown).
    """

    eps: float
    accuracy: dict = field(default_factory=dict)
    looks_masked: bool = False
    verdict: str = ""
    spsa_delta: float = math.nan


def whitebox_vs_blackbox(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    surrogate: Predictor | None = None,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
    pgd_steps: int = 20,
    spsa_steps: int = 20,
    spsa_samples: int = 64,
    spsa_lr: float | None = None,
    spsa_delta: float | None = None,
    white_attack: Attack | None = None,
    tolerance: float = 0.02,
    seed: int = 0,
) -> BoxComparison:
    """White-box PGD against gradient-free SPSA and a transfer attack.

    PGD on a ``surrogate`` model, e.g. the same network trained without the defense, its examples
    fed to ``model``.

    A white-box attack knows everything the black-box ones know and more, so when SPSA or transfer
    examples do better, the white-box gradients were misleading: gradient masking.

    Parameters
    ----------
    model, x, y, eps
        The classifier, inputs (N, ...), labels (N,), L-inf radius.
    surrogate : torch.nn.Module or None
        A model to transfer from, or None to skip the transfer attack.
    bounds : tuple of float or robviz.data.Dataset
        The input range.
    pgd_steps : int
        Steps of the white-box PGD and of the transfer PGD. Default 20.
    spsa_steps, spsa_samples, spsa_lr
        SPSA's settings (lr default eps / 4).
    spsa_delta : float or None
        SPSA's finite-difference radius; None: min(0.01, eps / 2). A defense that is flat at that
        scale (a rounded input, a quantized logit) hides its gradient from SPSA too; recorded as
        ``BoxComparison.spsa_delta``.
    white_attack : robviz.attacks.Attack or None
        An Attack to use as the white-box attack instead of PGD (e.g. PGD with an EOT loss), of
        L-inf radius ``eps`` and in ``bounds``; its accuracy is keyed ``"white-box <its class>"``.
    tolerance : float
        How far black-box may beat white-box before it counts, >= 0. Default 0.02.

    Returns
    -------
    BoxComparison
        The accuracies, ``looks_masked`` and a one-line verdict.

    Raises
    ------
    ValueError
        ``eps`` not > 0, ``spsa_lr`` or ``spsa_delta`` not > 0, ``tolerance`` < 0; a
        ``white_attack`` of another radius, norm or bounds, or without a radius; what the attacks
        refuse (x empty or non-finite, labels outside [0, L), zero steps or samples); a ``model``
        whose output is not (N, L) logits with L >= 2 (:func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    pgd_steps = checks.integer("pgd_steps", pgd_steps, low=1)
    spsa_steps = checks.integer("spsa_steps", spsa_steps, low=1)
    spsa_samples = checks.integer("spsa_samples", spsa_samples, low=1)
    seed = checks.seed("seed", seed)
    eps = checks.real("eps", eps, low=0, low_open=True)
    # An lr of 0 is no SPSA step (refused by SPSA), not the default: only None is eps / 4.
    spsa_lr = checks.real("spsa_lr", spsa_lr, low=0, low_open=True, allow_none=True)
    spsa_delta = checks.real("spsa_delta", spsa_delta, low=0, low_open=True, allow_none=True)
    delta = min(0.01, eps / 2) if spsa_delta is None else spsa_delta
    tolerance = checks.real("tolerance", tolerance, low=0)
    correct = _correct(model, x, y)
    white = white_attack or _default_attack(model, eps, pgd_steps, seed, bounds)
    if white_attack is not None:
        _check_white_attack(white_attack, eps, checks.bounds(bounds))
    white_name = f"white-box {type(white).__name__}"  # "white-box PGD" by default
    accuracy = {
        "clean": correct.float().mean().item(),
        white_name: (correct & _holds(model, x, y, white)).float().mean().item(),
    }
    spsa = SPSA(
        model,
        eps=eps,
        steps=spsa_steps,
        lr=eps / 4 if spsa_lr is None else spsa_lr,
        delta=delta,
        samples=spsa_samples,
        bounds=bounds,
        seed=seed,
    )
    accuracy["black-box SPSA"] = (correct & _holds(model, x, y, spsa)).float().mean().item()
    if surrogate is not None:
        x_t = _default_attack(surrogate, eps, pgd_steps, seed, bounds)(x, y)
        accuracy["transfer"] = (correct & _correct(model, x_t, y)).float().mean().item()
    black = min(v for k, v in accuracy.items() if k in ("black-box SPSA", "transfer"))
    masked = black < accuracy[white_name] - tolerance
    if masked:
        which = min(
            (k for k in accuracy if k in ("black-box SPSA", "transfer")), key=accuracy.__getitem__
        )
        verdict = (
            f"masked: {which} leaves {percent_text(100 * black)}% but {white_name} "
            f"{percent_text(100 * accuracy[white_name])}%; the white-box gradients mislead the "
            "attack"
        )
    else:
        verdict = (
            f"no sign of masking: {white_name} ({percent_text(100 * accuracy[white_name])}%) is at "
            f"least as strong as the black-box attacks ({percent_text(100 * black)}%)"
        )
    return BoxComparison(float(eps), accuracy, masked, verdict, spsa_delta=delta)


def _check_white_attack(attack: Attack, eps: float, bounds: tuple[float, float]) -> None:
    """Refuse a white-box attack of another radius, norm or box than the black-box ones."""
    radius = getattr(attack, "eps", None)
    if radius is None:
        raise ValueError(
            f"white_attack {type(attack).__name__} has no radius eps (it minimizes the "
            "perturbation): give an attack of radius eps, such as PGD or APGD"
        )
    norm = getattr(attack, "norm", "Linf")
    if abs(float(radius) - eps) > 1e-12 * max(1.0, eps) or norm != "Linf":
        raise ValueError(
            f"white_attack has radius {float(radius):.4g} ({norm}), the comparison L-inf eps "
            f"{eps:.4g}: the attacks must search the same ball (attack.with_eps(eps))"
        )
    if tuple(attack.bounds) != bounds:
        raise ValueError(
            f"white_attack has bounds {tuple(attack.bounds)}, the comparison {bounds}: the attacks "
            "must search the same input box"
        )


def gradient_direction(
    model: Predictor, x: torch.Tensor, y: torch.Tensor, objective: _Objective | None = None
) -> torch.Tensor:
    """Return sign(grad_x J(x, y)), the first L-inf attack direction (FGSM's).

    The model runs in eval mode, its modes restored.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    x : torch.Tensor
        Inputs (N, ...), moved to the model's dtype and device.
    y : torch.Tensor
        Labels (N,), on the model's device.
    objective : callable or None
        ``objective(model, x, y) -> (N,)``; None: cross-entropy on the logits.

    Returns
    -------
    torch.Tensor
        Signs (N, ...) in {-1, 0, 1}, on the model's device.

    Raises
    ------
    ValueError
        Empty or non-finite ``x``; ``y`` not one integer label per input in [0, L).
    """
    checks.model("model", model)
    return _input_gradient(model, x, y, objective).sign()


def _input_gradient(
    model: Predictor, x: torch.Tensor, y: torch.Tensor, objective: _Objective | None
) -> torch.Tensor:
    """Return grad_x of the summed objective (None: cross-entropy), in eval mode, (N, ...).

    x and y are checked and moved to the model's dtype and device.
    """
    x = to_model(model, checks.finite_inputs("x", x)).detach().requires_grad_(True)
    y = checks.labels("y", y, len(x), num_classes=num_classes_of(model, x)).to(x.device)
    with evaluating(model), torch.enable_grad():
        value = (objective or cross_entropy_objective)(model, x, y).sum()
        (grad,) = torch.autograd.grad(value, x)
    return grad


def _direction(name: str, d: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Return ``d`` on x's dtype and device, or raise naming ``name``.

    A direction of another shape would broadcast against x (or crash inside torch), and a NaN
    direction probes no input. A zero direction is allowed: a gradient sign is 0 where the
    gradient vanishes, which is what a masking study looks for.
    """
    d = torch.as_tensor(d).to(x)
    if d.shape != x.shape:
        raise ValueError(f"{name} must have the shape of x, {tuple(x.shape)}, got {tuple(d.shape)}")
    return checks.finite_inputs(name, d)


def _listed(values: Sequence[float]) -> str:
    """Return the first few ``values`` for an error, each in ``:g`` format."""
    return checks.first_items([f"{v:g}" for v in values])


def _steps(name: str, steps: torch.Tensor | None, scale: float, num: int) -> torch.Tensor:
    """Return the step sizes (``num`` points of [-scale/2, scale/2] for None), 1-D and finite.

    At least two, increasing: the checks compare the loss at neighbouring steps (unsorted steps
    made a smooth loss read as jagged, one step left nothing to compare).
    """
    if steps is None:
        return torch.linspace(-0.5, 0.5, num) * scale
    steps = torch.as_tensor(steps).float()
    if steps.dim() != 1 or len(steps) < 2:
        raise ValueError(
            f"{name} must be a 1-D sequence of steps, at least one pair of neighbours (two "
            f"steps), got {tuple(steps.shape)}"
        )
    steps = checks.finite_inputs(name, steps)
    if not bool((steps.diff() > 0).all()):
        raise ValueError(
            f"{name} must be increasing, got {_listed(steps.tolist())}: the checks compare "
            "neighbouring steps"
        )
    return steps


@torch.no_grad()
def _loss(
    model: Predictor, x: torch.Tensor, y: torch.Tensor, objective: _Objective | None
) -> torch.Tensor:
    x = to_model(model, checks.finite_inputs("x", x))
    y = checks.labels("y", y, len(x), num_classes=num_classes_of(model, x)).to(x.device)
    return (objective or cross_entropy_objective)(model, x, y)


@dataclass
class LossLine:
    """The loss along x + alpha * d: ``alphas`` (A,), ``loss`` (A, N) per sample, ``mean`` (A,).

    ``slope`` (N,) is the directional derivative grad J . d at alpha = 0. ``looks_masked`` when the
    loss is jagged (total variation more than ``roughness`` times the net change) or the gradient
    points the wrong way (the loss rises along d although the slope at 0 is not positive) for more
    than a fifth of the samples.
    """

    alphas: torch.Tensor
    loss: torch.Tensor
    mean: torch.Tensor
    slope: torch.Tensor
    looks_masked: bool
    verdict: str


def loss_along_direction(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    direction: torch.Tensor | None = None,
    alphas: torch.Tensor | None = None,
    *,
    objective: _Objective | None = None,
    roughness: float = 3.0,
) -> LossLine:
    """Return the loss J(x + alpha d, y) for every alpha, per sample.

    With d = ``direction`` (N, ...) or, by default, the gradient sign (the first PGD step). Inputs
    are not clipped to the bounds: this probes the function.

    Parameters
    ----------
    model, x, y
        The classifier, inputs (N, ...), labels (N,).
    direction : torch.Tensor or None
        (N, ...) or None for :func:`gradient_direction`.
    alphas : torch.Tensor or None
        Step sizes, default 41 points in [-0.5, 0.5] times the input scale ``x.abs().max()``.
    objective : callable or None
        ``objective(model, x, labels) -> (N,)``; default cross-entropy.
    roughness : float
        The total-variation ratio above which the curve counts as jagged, > 0.

    Returns
    -------
    LossLine
        The losses, the slopes, ``looks_masked`` and the verdict.

    Raises
    ------
    ValueError
        Empty or non-finite x; y not one integer label per input in [0, L); a ``direction`` not of
        x's shape or non-finite (naming the sample); ``alphas`` not 1-D, fewer than two, not
        increasing, non-finite or without a step > 0 (the check compares the loss ahead of x with
        the loss at x); ``roughness`` not > 0.
    """
    checks.model("model", model)
    roughness = checks.real("roughness", roughness, low=0, low_open=True)
    x = to_model(model, checks.finite_inputs("x", x))
    grad = _input_gradient(model, x, y, objective)  # one pass: the default direction and the slope
    d = grad.sign() if direction is None else _direction("direction", direction, x)
    scale = float(x.detach().abs().max()) or 1.0
    alphas = _steps("alphas", alphas, scale, 41)
    if not bool((alphas > 0).any()):
        raise ValueError(
            f"alphas must hold a step > 0, got {_listed(alphas.tolist())}: the check compares "
            "the loss ahead of x, along the direction, with the loss at x"
        )
    with evaluating(model):
        loss = torch.stack([_loss(model, x + float(a) * d, y, objective).cpu() for a in alphas])
    slope = (grad * d).reshape(len(x), -1).sum(dim=1).cpu()
    net = (loss[-1] - loss[0]).abs()
    variation = loss.diff(dim=0).abs().sum(dim=0)
    jagged = (variation > roughness * net.clamp_min(1e-6)).float().mean().item() > 0.2
    positive = alphas > 0
    rises = loss[positive].amax(dim=0) > loss[alphas.abs().argmin()] + 1e-4
    wrong_way = (rises & (slope <= 0)).float().mean().item() > 0.2
    masked = jagged or wrong_way
    if jagged:
        verdict = (
            "masked: the loss along the attack direction is jagged, "
            "so gradient steps are unreliable"
        )
    elif wrong_way:
        verdict = (
            "masked: the loss rises along the direction although its gradient says it should not"
        )
    else:
        verdict = (
            "no sign of masking: the loss rises smoothly along the attack direction, "
            "as the gradient predicts"
        )
    return LossLine(alphas, loss, loss.mean(dim=1), slope, masked, verdict)


@dataclass
class LossSurface:
    """The loss on the plane x + a d1 + b d2.

    ``alphas`` (A,), ``betas`` (B,), ``loss`` (B, A) averaged over the inputs (rows: beta).
    ``looks_masked`` when neighbouring grid values jump by more than ``roughness`` times the typical
    (median) jump (the cliffs and spikes of a masked loss), or when a sample's loss stays exactly
    constant over most grid steps where it is not ~0 (``flat_fraction``, the plateaus of shattered
    gradients).
    """

    alphas: torch.Tensor
    betas: torch.Tensor
    loss: torch.Tensor
    looks_masked: bool
    verdict: str
    flat_fraction: float = 0.0


def loss_landscape_2d(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    d1: torch.Tensor | None = None,
    d2: torch.Tensor | None = None,
    alphas: torch.Tensor | None = None,
    betas: torch.Tensor | None = None,
    *,
    objective: _Objective | None = None,
    roughness: float = 10.0,
    plateau: float = 0.3,
    seed: int = 0,
) -> LossSurface:
    """Return the mean loss over (x, y) on a grid of x + a d1 + b d2.

    Engstrom et al.'s and the obfuscated-gradients paper's picture.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (run in eval mode, its modes restored).
    x : torch.Tensor
        Inputs (N, ...), finite.
    y : torch.Tensor
        Labels (N,).
    d1, d2 : torch.Tensor or None
        The directions (N, ...). Defaults: d1 the gradient sign (:func:`gradient_direction`), d2 a
        random sign vector (Rademacher, seeded).
    alphas, betas : sequence of float or None
        The steps a (A,) along d1 and b (B,) along d2; default 21 points of [-0.5, 0.5] times the
        input scale max |x|.
    objective : callable or None
        ``objective(model, x, y) -> (N,)``; None: cross-entropy on the logits.
    roughness : float
        A jump between neighbouring grid values larger than this times the median jump (and than
        half the range) counts as a cliff.
    plateau : float
        The fraction of grid steps over which a sample's loss may stay exactly constant before the
        surface counts as shattered (piecewise constant).
    seed : int
        Seeds d2.

    Returns
    -------
    LossSurface
        The loss (B, A), ``looks_masked``, the verdict and the flat fraction.

    Raises
    ------
    ValueError
        Empty or non-finite x; y not one integer label per input in [0, L); ``d1`` or ``d2`` not
        of x's shape or non-finite (naming the sample); ``alphas`` or ``betas`` not 1-D, fewer
        than two, not increasing or non-finite; ``roughness`` not > 0, ``plateau`` outside [0, 1].
    """
    checks.model("model", model)
    seed = checks.seed("seed", seed)
    roughness = checks.real("roughness", roughness, low=0, low_open=True)
    plateau = checks.real("plateau", plateau, low=0, high=1)
    x = to_model(model, checks.finite_inputs("x", x))
    d1 = gradient_direction(model, x, y, objective) if d1 is None else _direction("d1", d1, x)
    if d2 is None:
        generator = torch.Generator().manual_seed(seed)
        d2 = ((torch.rand(x.shape, generator=generator) < 0.5).float() * 2 - 1).to(x)
    else:
        d2 = _direction("d2", d2, x)
    scale = float(x.detach().abs().max()) or 1.0
    alphas = _steps("alphas", alphas, scale, 21)
    betas = _steps("betas", betas, scale, 21)
    with evaluating(model):
        per_sample = torch.stack(
            [
                torch.stack(
                    [_loss(model, x + float(a) * d1 + float(b) * d2, y, objective) for a in alphas]
                )
                for b in betas
            ]
        ).cpu()  # (B, A, N)
    loss = per_sample.mean(dim=2)
    jumps = torch.cat([loss.diff(dim=0).abs().flatten(), loss.diff(dim=1).abs().flatten()])
    typical = jumps.median().clamp_min(1e-6)
    cliffs = bool(
        jumps.max() > roughness * typical and jumps.max() > 0.5 * (loss.max() - loss.min())
    )
    # exact plateaus, ignoring those where the loss is ~0 (a confidently correct point: saturation,
    # not shattering)
    steps = torch.cat([per_sample.diff(dim=0).flatten(), per_sample.diff(dim=1).flatten()])
    level = torch.cat(
        [
            torch.maximum(per_sample[1:], per_sample[:-1]).flatten(),
            torch.maximum(per_sample[:, 1:], per_sample[:, :-1]).flatten(),
        ]
    )
    counted = level > 1e-4
    flat = (steps[counted] == 0).float().mean().item() if counted.any() else 0.0
    plateaus = flat > plateau
    masked = cliffs or plateaus
    if cliffs:
        verdict = (
            "masked: the loss surface has cliffs "
            "(one grid step changes it by more than half its range)"
        )
    elif plateaus:
        verdict = (
            f"masked: the loss of a sample stays exactly constant over {100 * flat:.0f}% of the "
            "grid steps and "
            f"changes in jumps (shattered gradients)"
        )
    else:
        verdict = "no sign of masking: the loss surface is smooth around the inputs"
    return LossSurface(alphas, betas, loss, masked, verdict, flat)
