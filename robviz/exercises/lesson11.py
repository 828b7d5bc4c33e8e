"""Self-checks for lesson 11, "What can be proven"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import Mistake, exercise, expect_choice, expect_function


def _reference(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Bound an affine layer then a ReLU on the box [low, high].

    It works by centre and radius, with |W| for the radius.
    """
    centre, radius = (high + low) / 2, (high - low) / 2
    centre, radius = centre @ w.T + b, radius @ w.abs().T
    return torch.stack([(centre - radius).clamp(min=0), (centre + radius).clamp(min=0)])


def _corners(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Push the box's corners through W (W low, W high) as if all weights were positive (the slip).

    The same as sending the radius through W instead of |W|.
    """
    one, two = low @ w.T + b, high @ w.T + b
    return torch.stack([one.clamp(min=0), two.clamp(min=0)])


def _sorted_corners(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Take the smaller and the larger of the two corners' images (the slip).

    Not a bound: with weights of both signs the lowest output mixes the corners.
    """
    one, two = low @ w.T + b, high @ w.T + b
    return torch.stack([torch.min(one, two).clamp(min=0), torch.max(one, two).clamp(min=0)])


def _swapped(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Return the right bounds in the wrong order, (high', low') (the slip)."""
    return _reference(w, b, low, high).flip(0)


def _no_relu(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Bound the affine map without the ReLU (the slip)."""
    centre, radius = (high + low) / 2, (high - low) / 2
    centre, radius = centre @ w.T + b, radius @ w.abs().T
    return torch.stack([centre - radius, centre + radius])


def _relu_first(
    w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Apply the ReLU to the input box, before the affine map, and none after it (the slip)."""
    return _no_relu(w, b, low.clamp(min=0), high.clamp(min=0))


def _inputs(
    variant: int = 0,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Return (w, b, low, high) tuples in float64, weights of both signs.

    A ``variant`` > 0 draws others.
    """
    generator = torch.Generator().manual_seed(20 + variant)
    cases = []
    for n_in, n_out, points in ((3, 4, 5), (6, 2, 3), (4 + variant, 5, 2)):
        w = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64)
        b = torch.randn(n_out, generator=generator, dtype=torch.float64) * 0.5
        centre = torch.rand(points, n_in, generator=generator, dtype=torch.float64)
        radius = 0.3 * torch.rand(points, n_in, generator=generator, dtype=torch.float64)
        cases.append((w, b, centre - radius, centre + radius))
    return cases


def _answer(function: Callable[..., object]) -> Callable[..., object]:
    """Run a student's function; stack its (low, high) into a (2, N, n_out) tensor.

    ``expect_function`` gives it copies and fails it when it changes them.
    """

    def run(w: torch.Tensor, b: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> object:
        out = function(w, b, low, high)
        if out is Ellipsis or out is None:
            return out
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"must return a pair (low, high), got {type(out).__name__}")
        return torch.stack(
            [
                torch.as_tensor(np.asarray(part, dtype=np.float64))
                if not torch.is_tensor(part)
                else part.detach().to(torch.float64)
                for part in out
            ]
        )

    return run


@exercise("11.1", "Interval bounds through one affine layer and its ReLU")
def interval_layer(answer: object, seed: int = 0) -> tuple[bool, str]:
    """Check a student's ``interval_layer(w, b, low, high) -> (low', high')``.

    The box [low, high] (N, n_in) through x -> relu(x W^T + b), checked against the rule of
    :func:`robviz.exact.interval_bounds`.

    Parameters
    ----------
    answer : callable
        Your function ``interval_layer(w, b, low, high)``: weights w (n_out, n_in), bias b (n_out,)
        and the box's corners low, high (N, n_in) in, the bounds (low', high'), each
        (N, n_out), out.
    seed : int, default 0
        0 is the visible check; another seed draws other inputs and shapes (the hidden tests).

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and praise or a hint at the likely mistake.
    """
    if not callable(answer):
        return False, f"Expected a function, got {type(answer).__name__}."
    passed, message = expect_function(
        _answer(answer),
        _reference,
        _inputs(seed),
        mistakes=[
            Mistake(
                _corners,
                "It sends the corners through W (or the radius through W): with a negative weight, "
                "the low "
                "corner gives the *high* end. Use the centre (low + high) / 2 through W and the "
                "radius "
                "(high - low) / 2 through |W|.",
            ),
            Mistake(
                _sorted_corners,
                "It takes the smaller and the larger image of the two corners low and high: with "
                "weights of both signs the lowest output takes low where a weight is positive and "
                "high where it is negative, a point that is neither corner. Use the centre through "
                "W and the radius through |W|.",
            ),
            Mistake(
                _swapped,
                "The bounds are right but in the wrong order: return (low', high'), the lower end "
                "first.",
            ),
            Mistake(
                _relu_first,
                "It applies the ReLU to the input box, before the layer: the layer is x -> relu(x "
                "W^T "
                "+ b), so clip the ends of the *output* intervals at 0.",
            ),
            Mistake(
                _no_relu,
                "It stops before the ReLU: relu is monotone, so apply it to both ends of each "
                "interval.",
            ),
        ],
        hint="The image of the box under x W^T + b has centre m W^T + b and radius r |W|^T (m, r "
        "the box's centre and "
        "radius); then the ReLU of each end.",
    )
    if not passed:
        return False, message
    return True, (
        "It agrees with interval bound propagation (`robviz.exact.interval_bounds`) on every test "
        "box: "
        "repeat it layer by layer and the last box bounds the logits."
    )


@exercise("11.2", "Can the certified robust accuracy exceed the true one")
def certified_above_exact(answer: object) -> tuple[bool, str]:
    """Check whether a certificate can report more robust points than are truly robust.

    A multiple-choice question.

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
        "c",
        {
            "a": "A tighter relaxation is still a relaxation: CROWN bounds every margin from below "
            "over a set that *contains* the network's outputs on the ball, so it never certifies a "
            "point that has an adversarial example.",
            "b": "A certificate is a proof on its own, whatever the exact program did: a certified "
            "point is robust even where the program ran out of time. The lesson's 'proven robust' "
            "count can fall below a certified one (it counts an undecided point as not robust, and "
            "`verify` screens with CROWN, which need not certify what IBP does), but the true "
            "robust accuracy cannot.",
        },
        why="Right: every certified point is truly robust (the relaxation contains the network), "
        "so certified <= true robust accuracy, whatever the network and the radius; the gap is "
        "looseness, never a wrong certificate.",
    )
