"""Certified lower bounds on robustness for ReLU networks of any input size: IBP and CROWN.

IBP is interval bound propagation.

An attack finds inputs that *are* misclassified, so its robust accuracy is an upper bound. A
certificate goes the other way: it bounds every logit margin z_y - z_k from below over the whole
ball, so a point it certifies is robust, and the certified accuracy is a *lower* bound. Both methods
here replace each ReLU by something convex that contains it; the price of the relaxation is
looseness (points that are robust but not certified), never a wrong certificate.
:mod:`robviz.exact.milp` closes the gap exactly where the network is small enough.

    lower, upper = interval_bounds(layers, x_low, x_high)          # every pre-activation, per point
    margins = margin_lower_bounds(model, x, y, eps, bounds=(0, 1), method="crown")   # (N, L)
    certified = certified_robust(model, x, y, eps, bounds=(0, 1), method="crown")    # (N,) bool

Everything is float64 NumPy, batched over points. The network is read by
:func:`robviz.exact.linear_regions.affine_pieces` (Linear, ReLU, BatchNorm, Flatten, Dropout,
Identity, conv bodies of Conv2d, AvgPool2d and AdaptiveAvgPool2d as dense matrices on the flattened
input, and any robviz head): ``layers`` is its list of (W, b), with a ReLU between consecutive
ones. The input shape is read from x.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .. import checks
from .linear_regions import affine_pieces
from ..runtime import inference, predict, to_numpy

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "CROWN_CHUNK_ENTRIES",
    "network_layers",
    "input_ball",
    "interval_bounds",
    "crown_bounds",
    "margin_lower_bounds",
    "certified_robust",
    "unstable_relus",
]

#: The most entries of one (points, n_i, n_j) matrix of a CROWN pass: 2**24 (128 MiB of float64);
#: :func:`crown_bounds` takes the points in chunks that keep under it.
CROWN_CHUNK_ENTRIES = 2**24


def network_layers(
    model: nn.Module, input_shape: Sequence[int] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``model`` as float64 layers [(W_1, b_1), ..., (W_L, b_L)].

    A ReLU follows every layer but the last; the last layer's argmax is the prediction.

    Parameters
    ----------
    model : nn.Module
        A ReLU network that :func:`~robviz.exact.linear_regions.affine_pieces` reads.
    input_shape : tuple of int or None
        The shape of one input, ``x.shape[1:]``; needed for conv bodies, whose layers become dense
        matrices on the flattened input.

    Returns
    -------
    list[tuple[np.ndarray, np.ndarray]]
        W_i (n_i, n_{i-1}) and b_i (n_i,), n_0 the flattened input size.

    Raises
    ------
    TypeError
        For models that are not ReLU networks.
    ValueError
        As :func:`~robviz.exact.linear_regions.affine_pieces` (no input shape for a conv, a dense
        matrix over the size limit).
    """
    checks.model("model", model, module=True)
    steps = affine_pieces(model, input_shape)
    # pragma: no cover - affine_pieces starts with an affine map
    if any(kind == "relu" for kind, _ in steps[:1]):
        raise TypeError("the network must start with an affine layer")
    return [value for kind, value in steps if kind == "affine"]


def input_ball(
    x: torch.Tensor | np.ndarray, eps: float, bounds: Sequence[float] | Dataset
) -> tuple[np.ndarray, np.ndarray]:
    """Return the L-inf ball of radius ``eps`` around each input, intersected with ``bounds``.

    Parameters
    ----------
    x : torch.Tensor or np.ndarray
        (N, ...) inputs inside ``bounds`` (within 1e-9 of its width).
    eps : float
        The L-inf radius, in the units of the inputs, >= 0.
    bounds : tuple of float or robviz.data.Dataset
        The input range (low, high), or a Dataset (its ``.bounds``).

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        (low (N, D), high (N, D)) float64, D the flattened input size.

    Raises
    ------
    ValueError
        For inputs that are empty or non-finite (the error names the sample index), an ``eps``
        that is not a finite number >= 0, bounds that are not finite (low, high) with low < high,
        or inputs outside ``bounds``.
    TypeError
        Inputs of integers (:func:`robviz.checks.floating_inputs`).
    """
    # First: a NaN passes the bounds check below (NaN < low is False) and gives a NaN ball.
    checks.finite_inputs("x", x)
    checks.floating_inputs("x", x)
    eps = checks.real("eps", eps, low=0)
    low, high = checks.bounds(bounds)
    points = to_numpy(x, np.float64)
    points = points.reshape(len(points), int(np.prod(points.shape[1:])))
    slack = 1e-9 * (high - low)  # relative: an absolute 1e-9 is a whole range of (0, 1e-12)
    if points.min() < low - slack or points.max() > high + slack:
        raise ValueError(f"every input must lie in bounds ({low:g}, {high:g})")
    return np.clip(points - eps, low, high), np.clip(points + eps, low, high)


def _check_boxes(x_low: np.ndarray, x_high: np.ndarray) -> None:
    """Raise a ValueError naming the box and the sample when a box is empty or not finite."""
    checks.finite_inputs("x_low", x_low)
    checks.finite_inputs("x_high", x_high)
    if np.shape(x_low) != np.shape(x_high):
        raise ValueError(
            f"x_low and x_high must have one shape, got {np.shape(x_low)} and {np.shape(x_high)}"
        )
    # A box with a lower corner above its upper one holds no point: its "bounds" would be crossed.
    crossed = (np.asarray(x_low) > np.asarray(x_high)).reshape(len(x_low), -1).any(axis=1)
    if crossed.any():
        index = np.flatnonzero(crossed).tolist()
        raise ValueError(
            f"x_low must be <= x_high in every coordinate, but {len(index)} of {len(x_low)} boxes "
            f"are crossed, at sample index {checks.first_items(index)}"
        )


def interval_bounds(
    layers: Sequence[tuple[np.ndarray, np.ndarray]], x_low: np.ndarray, x_high: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Interval bound propagation.

    Gowal et al., "On the Effectiveness of Interval Bound Propagation for Training Verifiably Robust
    Models", 2018, https://arxiv.org/abs/1810.12715.

    Carry a box [l, u] through the network: an affine map sends the box with centre m and radius r
    to the box with centre W m + b and radius |W| r; a ReLU sends [l, u] to [relu(l), relu(u)].
    Every step is exact for a box, but the image of a box under W is not a box, so the looseness
    compounds with depth.

    Parameters
    ----------
    layers : list of tuple
        [(W_i, b_i)] from :func:`network_layers`.
    x_low, x_high : np.ndarray
        (N, D) the input box of each point.

    Returns
    -------
    list[tuple[np.ndarray, np.ndarray]]
        [(l_i, u_i)] for every layer i = 1..L: the (N, n_i) bounds of its output *before* the ReLU
        (the last entry bounds the logits).

    Raises
    ------
    ValueError
        For boxes that are empty, non-finite or crossed (x_low > x_high somewhere), or x_low and
        x_high of two shapes (the error names the sample index).
    """
    _check_boxes(x_low, x_high)
    out = []
    low, high = x_low, x_high
    for i, (w, b) in enumerate(layers):
        if i:
            low, high = np.maximum(low, 0.0), np.maximum(high, 0.0)
        centre, radius = (high + low) / 2, (high - low) / 2
        centre, radius = centre @ w.T + b, radius @ np.abs(w).T
        low, high = centre - radius, centre + radius
        out.append((low, high))
    return out


def _backward(
    spec: np.ndarray,
    offset: np.ndarray,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    bounds: Sequence[tuple[np.ndarray, np.ndarray]],
    x_low: np.ndarray,
    x_high: np.ndarray,
) -> np.ndarray:
    """Return CROWN's lower bound on spec @ (output of layers[-1]) + offset.

    Shapes: spec (N, m, n), offset (N, m) -> (N, m).

    ``bounds`` holds the pre-activation bounds of every hidden layer (the ReLUs between ``layers``).
    """
    w, b = layers[-1]
    a, c = spec @ w, offset + spec @ b
    for (w, b), (low, high) in zip(layers[-2::-1], bounds[::-1]):
        # The ReLU of each neuron lies between two lines of its pre-activation v on [l, u]: above by
        # the chord u (v - l) / (u - l) and below by alpha v, alpha = 1 if u > -l else 0 (the
        # smaller-area choice). A positive coefficient takes the lower line, a negative one the
        # upper line; stable neurons are exact.
        unstable = (low < 0) & (high > 0)
        chord = np.where(
            unstable, high / np.where(unstable, high - low, 1.0), (low >= 0).astype(float)
        )
        lower_slope = np.where(unstable, (high > -low).astype(float), chord)
        slope = np.where(a >= 0, lower_slope[:, None, :], chord[:, None, :])
        c = c + (np.minimum(a, 0.0) * np.where(unstable, -chord * low, 0.0)[:, None, :]).sum(-1)
        a = a * slope
        a, c = a @ w, c + a @ b
    return c + (
        np.maximum(a, 0.0) * x_low[:, None, :] + np.minimum(a, 0.0) * x_high[:, None, :]
    ).sum(-1)


def crown_bounds(
    layers: Sequence[tuple[np.ndarray, np.ndarray]], x_low: np.ndarray, x_high: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """CROWN.

    Zhang et al., "Efficient Neural Network Robustness Certification with General Activation
    Functions", NeurIPS 2018, https://arxiv.org/abs/1811.00866. The linear relaxation also behind
    DeepPoly (Singh et al., POPL 2019).

    Each output is bounded by a *linear* function of the input, found by going backwards through the
    network: a linear function of a layer's output is a linear function of its input (through W),
    and a linear function of ReLU outputs is bounded by one of their inputs by replacing each
    unstable ReLU with a line below or above it (see ``_backward``). The final linear function of x
    is minimised over the input box in closed form. The bounds of each hidden layer are computed
    first, in order, because the lines of its ReLUs need them; each is intersected with the interval
    bound, so CROWN is never looser than :func:`interval_bounds`.

    Cost: one backward pass per layer, (N, n_i, n_j) matrices, computed for
    :data:`CROWN_CHUNK_ENTRIES` / (widest layer)^2 points at a time (a width-8 SmallCNN on digits,
    512 ReLUs wide: 64 points at a time).

    Parameters
    ----------
    layers : list of tuple
        [(W_i, b_i)] from :func:`network_layers`.
    x_low, x_high : np.ndarray
        (N, D) the input box of each point.

    Returns
    -------
    list[tuple[np.ndarray, np.ndarray]]
        [(l_i, u_i)] for every layer i = 1..L: the (N, n_i) bounds of its output *before* the ReLU
        (the last entry bounds the logits), each within the interval bounds.

    Raises
    ------
    ValueError
        For boxes that are empty, non-finite or crossed (x_low > x_high somewhere), or x_low and
        x_high of two shapes (the error names the sample index).
    """
    _check_boxes(x_low, x_high)
    widest = max([x_low.shape[1], *(len(w) for w, _ in layers)])
    chunk = max(1, CROWN_CHUNK_ENTRIES // widest**2)
    if len(x_low) > chunk:  # each point's bounds are its own: the same numbers, less memory
        parts = [
            crown_bounds(layers, x_low[i : i + chunk], x_high[i : i + chunk])
            for i in range(0, len(x_low), chunk)
        ]
        return [
            (np.concatenate([p[j][0] for p in parts]), np.concatenate([p[j][1] for p in parts]))
            for j in range(len(layers))
        ]
    boxes = interval_bounds(layers, x_low, x_high)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for i, (w, _) in enumerate(layers):
        eye = np.broadcast_to(np.eye(len(w)), (len(x_low), len(w), len(w)))
        zero = np.zeros((len(x_low), len(w)))
        low = _backward(eye, zero, layers[: i + 1], out, x_low, x_high)
        high = -_backward(-eye, zero, layers[: i + 1], out, x_low, x_high)
        out.append((np.maximum(low, boxes[i][0]), np.minimum(high, boxes[i][1])))
    return out


def margin_lower_bounds(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | npt.ArrayLike,
    eps: float,
    *,
    bounds: Sequence[float] | Dataset,
    method: str = "crown",
) -> np.ndarray:
    """Return certified lower bounds on the margins z_y - z_k over the L-inf ball of radius ``eps``.

    The ball is intersected with ``bounds``.

    The margin is bounded directly (the last layer merged into the specification, as both papers
    do), which is tighter than subtracting bounds on two logits.

    Parameters
    ----------
    model : nn.Module
        A ReLU network that :func:`~robviz.exact.linear_regions.affine_pieces` reads.
    x : torch.Tensor
        (N, ...) inputs inside ``bounds``; ``x.shape[1:]`` is the model's input shape.
    y : torch.Tensor or np.ndarray
        (N,) labels in [0, L).
    eps : float
        The L-inf radius, in the units of the inputs, >= 0.
    bounds : tuple of float or robviz.data.Dataset
        The input range (low, high), e.g. ``(0, 1)`` for images, or a Dataset.
    method : str
        ``"ibp"`` (:func:`interval_bounds`) or ``"crown"`` (:func:`crown_bounds`, the default).

    Returns
    -------
    np.ndarray
        (N, L) float64, +inf at k = y.

    Raises
    ------
    TypeError
        For models that are not ReLU networks, or inputs of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        For inputs that are empty or non-finite (the error names the sample index), another
        ``method``, a bad ``eps`` or ``bounds``, inputs outside ``bounds`` or of a size the model's
        first layer does not take, labels not of shape (N,) or out of range, and as
        :func:`network_layers`.
    """
    checks.model("model", model, module=True)
    checks.finite_inputs("x", x, tensor=True)
    if method not in ("ibp", "crown"):
        raise ValueError(f"method must be 'ibp' or 'crown', got {method!r}")
    x_low, x_high = input_ball(x, eps, bounds)
    layers = network_layers(model, tuple(x.shape[1:]))
    if x_low.shape[1] != layers[0][0].shape[1]:
        raise ValueError(
            f"the model's first layer takes {layers[0][0].shape[1]} inputs, x has "
            f"{x_low.shape[1]} per point"
        )
    num_classes = len(layers[-1][0])
    labels = to_numpy(checks.labels("y", y, len(x_low), num_classes=num_classes))
    spec = (
        np.eye(num_classes)[labels][:, None, :] - np.eye(num_classes)[None]
    )  # (N, L, L): e_y - e_k
    zero = np.zeros((len(x_low), num_classes))
    if method == "ibp":
        hidden = interval_bounds(layers[:-1], x_low, x_high)
        low, high = (
            (np.maximum(hidden[-1][0], 0), np.maximum(hidden[-1][1], 0))
            if hidden
            else (x_low, x_high)
        )
        w, b = layers[-1]
        merged = spec @ w  # (N, L, n): the margins as one affine layer on the last box
        centre, radius = (high + low) / 2, (high - low) / 2
        margins = (
            (merged @ centre[..., None])[..., 0]
            + spec @ b
            - (np.abs(merged) @ radius[..., None])[..., 0]
        )
    else:
        hidden = crown_bounds(layers[:-1], x_low, x_high)
        margins = _backward(spec, zero, layers, hidden, x_low, x_high)
    margins[np.arange(len(labels)), labels] = np.inf
    return margins


def certified_robust(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | npt.ArrayLike,
    eps: float,
    *,
    bounds: Sequence[float] | Dataset,
    method: str = "crown",
) -> torch.Tensor:
    """Return the points certified robust at radius ``eps``.

    A point is certified when it is classified correctly (by finite logits:
    :func:`robviz.runtime.predict`) and every margin's lower bound
    (:func:`margin_lower_bounds`) is > 0.

    Parameters
    ----------
    model, x, eps, bounds, method
        As in :func:`margin_lower_bounds`.
    y : torch.Tensor
        (N,) labels.

    Returns
    -------
    torch.Tensor
        (N,) bool on the CPU. Its mean is a lower bound on the robust accuracy.

    Raises
    ------
    TypeError
        For models that are not ReLU networks, or inputs of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        As :func:`margin_lower_bounds`.
    """
    checks.model("model", model, module=True)
    margins = margin_lower_bounds(model, x, y, eps, bounds=bounds, method=method)  # checks all
    # predict: non-finite logits are no class (argmax would read NaN logits as class 0)
    correct = predict(inference(model, x)).cpu() == checks.labels("y", y, len(x)).cpu()
    return correct & torch.from_numpy(margins.min(axis=1) > 0)


def unstable_relus(
    model: nn.Module,
    x: torch.Tensor,
    eps: float,
    *,
    bounds: Sequence[float] | Dataset,
    method: str = "crown",
) -> np.ndarray:
    """Count the hidden ReLUs of ``model`` that can change sign in each point's L-inf ball.

    The ball has radius ``eps`` (intersected with ``bounds``); the pre-activation bounds are those
    of ``method``.

    A ReLU whose pre-activation bounds straddle 0 is one binary variable of
    :func:`robviz.exact.verify`'s program (before it tightens deeper bounds); stable ones need none.
    CROWN's bounds are intersected with the interval bounds, so its count is never above IBP's.

    Parameters
    ----------
    model : nn.Module
        A ReLU network that :func:`~robviz.exact.linear_regions.affine_pieces` reads.
    x : torch.Tensor
        (N, ...) inputs inside ``bounds``; ``x.shape[1:]`` is the model's input shape.
    eps : float
        The L-inf radius, >= 0.
    bounds : tuple of float or robviz.data.Dataset
        The input range (low, high), or a Dataset.
    method : str
        ``"ibp"`` or ``"crown"`` (the default).

    Returns
    -------
    np.ndarray
        (N,) int64, the unstable hidden ReLUs of each point.

    Raises
    ------
    TypeError
        For models that are not ReLU networks, or inputs of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        For inputs that are empty or non-finite (the error names the sample index), another
        ``method``, a bad ``eps`` or ``bounds``, inputs outside ``bounds`` or of a size the model's
        first layer does not take, and as :func:`network_layers`.
    """
    checks.model("model", model, module=True)
    checks.finite_inputs("x", x, tensor=True)
    if method not in ("ibp", "crown"):
        raise ValueError(f"method must be 'ibp' or 'crown', got {method!r}")
    x_low, x_high = input_ball(x, eps, bounds)
    layers = network_layers(model, tuple(x.shape[1:]))
    if x_low.shape[1] != layers[0][0].shape[1]:
        raise ValueError(
            f"the model's first layer takes {layers[0][0].shape[1]} inputs, x has "
            f"{x_low.shape[1]} per point"
        )
    hidden = (interval_bounds if method == "ibp" else crown_bounds)(layers[:-1], x_low, x_high)
    counts = np.zeros(len(x_low), dtype=np.int64)
    for low, high in hidden:
        counts += ((low < 0) & (high > 0)).sum(axis=1)
    return counts
