"""Self-checks for lesson 8, "Evaluating defenses honestly"."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import Mistake, exercise, expect_choice, expect_function


def _rounded(x: torch.Tensor, step: float) -> torch.Tensor:
    """Return the rounding layer of the lesson's ``Rounded`` model.

    It maps x to the nearest point of the grid of ``step``.
    """
    return torch.round(x / step) * step


def _weights(x: torch.Tensor) -> torch.Tensor:
    """Return fixed random weights for the backward pass.

    The gradient of sum(w * f(x)) is w when f's gradient is the identity, so a gradient scaled,
    negated or zeroed shows.
    """
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)


def _output(
    function: Callable[[torch.Tensor, float], object],
) -> Callable[[torch.Tensor, float], object]:
    """Return ``function``'s output alone, detached."""

    def run(x: torch.Tensor, step: float) -> object:
        out = function(x.detach().clone().requires_grad_(True), step)
        return out.detach() if torch.is_tensor(out) else out

    return run


def _gradient(
    function: Callable[[torch.Tensor, float], object],
) -> Callable[[torch.Tensor, float], object]:
    """Return the gradient of sum(w * function(x, step)) with respect to x.

    Zeros where the output does not depend on x through autograd (a detached or non-differentiable
    output).
    """

    def run(x: torch.Tensor, step: float) -> object:
        x = x.detach().clone().requires_grad_(True)
        out = function(x, step)
        if out is Ellipsis or out is None:
            return out
        if not torch.is_tensor(out):
            raise TypeError(f"returns a {type(out).__name__}, expected a tensor")
        if out.shape != x.shape:
            raise ValueError(
                f"returns shape {tuple(out.shape)}, expected the input's shape {tuple(x.shape)}"
            )
        if not out.requires_grad:
            return torch.zeros_like(x)
        (grad,) = torch.autograd.grad((out * _weights(x)).sum(), x, allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad

    return run


def _bpda_inputs(variant: int = 0) -> list[tuple[torch.Tensor, float]]:
    """Return inputs of several shapes and grid steps.

    A ``variant`` > 0 draws others and adds one shape (hidden tests).
    """
    generator = torch.Generator().manual_seed(100 * variant)
    shapes = [((7,), 0.5), ((4, 3), 0.25), ((2, 1, 3, 3), 0.2)] + [((3, 2 + variant), 0.1)] * (
        variant > 0
    )
    return [
        (torch.randn(shape, generator=generator, dtype=torch.float64) * 2, step)
        for shape, step in shapes
    ]


@exercise("8.1", "Write BPDA for the rounding layer")
def write_bpda_round(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``bpda_round(x, step)``.

    Its output must equal round(x / step) * step and its gradient must be the identity (Athalye et
    al.'s straight-through BPDA). Both are checked, the output first.

    Parameters
    ----------
    answer : callable
        Your function ``bpda_round(x, step)``: a tensor x and the grid step in, the rounded tensor,
        shaped as x, out.
    seed : int, default 0
        0 is the visible check; another seed draws other inputs and one more shape (the hidden
        tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    if not callable(answer):
        return False, f"Expected a function, got {type(answer).__name__}."
    inputs = _bpda_inputs(seed)
    passed, message = expect_function(
        _output(answer),
        _rounded,
        inputs,
        mistakes=[
            Mistake(
                lambda x, step: torch.round(x),
                "It ignores `step`: round x / step to an integer, then multiply by step to get "
                "back to the grid.",
            ),
            Mistake(
                lambda x, step: torch.round(x / step),
                "It returns the grid index round(x / step): multiply by step to get back to the "
                "input's scale.",
            ),
            Mistake(
                lambda x, step: x,
                "The forward pass must round, exactly as the defended model does; only the "
                "*backward* pass "
                "pretends the rounding is the identity.",
            ),
        ],
        hint="The forward pass must equal torch.round(x / step) * step.",
    )
    if not passed:
        return False, f"The output: {message}"
    passed, message = expect_function(
        _gradient(answer),
        lambda x, step: _weights(x),
        inputs,
        mistakes=[
            Mistake(
                lambda x, step: torch.zeros_like(x),
                "Its gradient is 0: that is plain rounding, the very masking BPDA gets around "
                "(torch.round has "
                "gradient 0 almost everywhere). Keep the rounded value but let the gradient pass "
                "straight through "
                "x: add to x a *detached* correction (rounded - x).",
            ),
            Mistake(
                lambda x, step: -_weights(x),
                "Its gradient is minus the identity: the detached term must be the correction "
                "(rounded - x), and "
                "x itself must stay attached to the graph.",
            ),
            Mistake(
                lambda x, step: _weights(x) / step,
                "Its gradient is 1 / step: the grid index x / step carries the gradient but is "
                "never multiplied "
                "back by step. Apply the straight-through trick to x itself.",
            ),
        ],
        hint="The gradient must be the identity, as if the rounding were not there.",
    )
    if not passed:
        return False, f"The output is right; the gradient: {message}"
    return True, (
        "The output is rounded and the gradient is the identity on every test input: an attacker "
        "can now "
        "follow the gradient of the model without the rounding, while the model still rounds."
    )


@exercise("8.2", "Which observation is evidence of gradient masking")
def masking_evidence(answer: object) -> tuple[bool, str]:
    """Multiple choice: the option (a to d) that is evidence of gradient masking.

    Parameters
    ----------
    answer : str
        Your choice, the letter of one option: ``"a"``, ``"b"``, ``"c"`` or ``"d"``.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    return expect_choice(
        answer,
        "c",
        {
            "a": "Losing clean accuracy is a defense's cost, not evidence about the attack: "
            "masking is about an attack "
            "failing where it should succeed. Look for an attack doing worse than a weaker one.",
            "b": "That is a healthy sign: a converging attack can only lower the accuracy as its "
            "steps grow. The warning "
            "sign is the opposite, accuracy *rising* with more steps (masking.accuracy_vs_steps).",
            "d": "That is what a working attack must do: at eps = the whole input range any input "
            "can be replaced by any "
            "other. The warning sign is a curve that stays *above* 0 there "
            "(masking.accuracy_vs_eps).",
        },
        why="Right: white-box PGD knows everything the transfer attacker knows, so it must do at "
        "least as well. When "
        "it does worse, its gradients mislead it: section 5 caught the rounded model this way.",
    )
