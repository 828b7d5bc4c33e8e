"""The linear regions of a ReLU classifier on 2-D inputs: the geometry under :mod:`robviz.exact`.

A ReLU network is affine on each cell of a partition of the plane into convex polygons: on a cell
every neuron keeps its sign, so the whole network is x -> M x + m there. :func:`affine_pieces` reads
a model as alternating affine maps and ReLUs (float64); :func:`linear_regions` splits the input box
along each neuron's zero line, layer by layer (Sutherland-Hodgman clipping of convex polygons), and
:func:`class_pieces` splits one region along the lines where the predicted class changes (the argmax
of affine logits is constant on convex pieces).

:func:`affine_pieces` also reads the networks that :mod:`robviz.exact.milp` and
:mod:`robviz.exact.certify` decide on inputs of any shape: given the shape of one input, a conv body
(Conv2d with any stride, padding, dilation and groups, BatchNorm2d, AvgPool2d, AdaptiveAvgPool2d,
Flatten) is a chain of dense float64 matrices on the flattened input, built by applying each layer
to the identity basis, as long as each has at most :data:`MAX_DENSE_ENTRIES` entries.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, cast

import numpy as np
import torch
from torch import nn

from .. import checks
from ..runtime import to_numpy

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "affine_pieces",
    "linear_regions",
    "class_pieces",
    "polygon_area",
    "input_box",
    "MAX_DENSE_ENTRIES",
]


# ------------------------------------------------------------------------------ the model as layers

#: The most entries a dense layer matrix (outputs x inputs of one affine map) may have: 2**24, 128
#: MiB of float64. A Conv2d read as an affine map is (C_out H_out W_out) x (C_in H_in W_in): a
#: 32-channel 3x3 conv on a 28x28 MNIST image (25088 x 784, 19.7 million entries) is over it, the
#: convs of a :class:`~robviz.models.SmallCNN` of width 8 on 8x8 digits (at most 512 x 256) far
#: below.
MAX_DENSE_ENTRIES = 2**24

# The input rank each linear image layer takes, (C, L), (C, H, W) or (C, D, H, W) without the batch.
_IMAGE_RANK = {
    nn.Conv1d: 2,
    nn.Conv2d: 3,
    nn.Conv3d: 4,
    nn.AvgPool1d: 2,
    nn.AvgPool2d: 3,
    nn.AvgPool3d: 4,
    nn.AdaptiveAvgPool1d: 2,
    nn.AdaptiveAvgPool2d: 3,
    nn.AdaptiveAvgPool3d: 4,
}
_BATCHNORM_RANK = {nn.BatchNorm1d: (1, 2), nn.BatchNorm2d: (3,), nn.BatchNorm3d: (4,)}
_SUPPORTED = (
    "Linear, Conv1d/2d/3d, AvgPool, AdaptiveAvgPool, BatchNorm (running statistics), Flatten, "
    "Dropout, Identity and ReLU"
)


def _affine(
    weight: torch.Tensor | np.ndarray, bias: torch.Tensor | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    w = to_numpy(weight, np.float64)
    b = np.zeros(len(w)) if bias is None else to_numpy(bias, np.float64)
    return w, b


def _check_dense(module: nn.Module, shape: tuple[int, ...], n_out: int, n_in: int) -> None:
    """Raise ``ValueError`` when an (n_out, n_in) matrix exceeds :data:`MAX_DENSE_ENTRIES`."""
    if n_out * n_in > MAX_DENSE_ENTRIES:
        raise ValueError(
            f"robviz.exact reads {type(module).__name__} on inputs of shape {tuple(shape)} as a "
            f"dense {n_out} x {n_in} matrix ({n_out * n_in:,} entries), over the limit of "
            f"{MAX_DENSE_ENTRIES:,} (robviz.exact.linear_regions.MAX_DENSE_ENTRIES, 128 MiB of "
            f"float64); bound this model's robustness from above with attacks (robviz.attacks), "
            f"or verify a smaller model or smaller inputs"
        )


def _image_map(
    module: nn.Module, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Return a linear image layer as (W, b, output shape): W (n_out, n_in) float64.

    Column j of W is the layer (its bias dropped) applied in float64 to the j-th vector of the
    identity basis of the flattened input, in row-major order (as ``x.reshape(N, -1)``); the bias
    of a convolution is broadcast over its output positions.
    """
    rank = _IMAGE_RANK[type(module)]
    if len(shape) != rank:
        raise ValueError(
            f"{type(module).__name__} takes inputs of rank {rank} per point (channels first), got "
            f"shape {tuple(shape)}"
        )
    layer = copy.deepcopy(module).cpu().double().eval()
    bias = getattr(layer, "bias", None)
    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        layer.bias = None
    n_in = math.prod(shape)
    with torch.no_grad():
        try:
            out_shape = tuple(layer(torch.zeros(1, *shape, dtype=torch.float64)).shape[1:])
        except RuntimeError as exc:
            raise ValueError(
                f"{type(module).__name__} cannot take inputs of shape {tuple(shape)}: {exc}"
            ) from None
        n_out = math.prod(out_shape)
        _check_dense(module, shape, n_out, n_in)
        w = np.empty((n_out, n_in))
        chunk = max(1, MAX_DENSE_ENTRIES // 8 // max(n_in, n_out))  # bounded working memory
        for begin in range(0, n_in, chunk):
            stop = min(n_in, begin + chunk)
            basis = torch.zeros(stop - begin, n_in, dtype=torch.float64)
            basis[torch.arange(stop - begin), torch.arange(begin, stop)] = 1.0
            w[:, begin:stop] = layer(basis.reshape(-1, *shape)).reshape(stop - begin, n_out).T
    b = np.zeros(n_out)
    if bias is not None:
        b = np.repeat(to_numpy(bias, np.float64), n_out // out_shape[0])
    return w, b, out_shape


def _batchnorm(
    module: nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d, shape: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return a BatchNorm with running statistics as (W, b): per channel x -> scale x + shift."""
    # The caller reads only BatchNorms whose running statistics are tensors.
    mean = to_numpy(cast(torch.Tensor, module.running_mean), np.float64)
    var = to_numpy(cast(torch.Tensor, module.running_var), np.float64)
    weight = to_numpy(module.weight, np.float64) if module.affine else np.ones_like(var)
    bias = to_numpy(module.bias, np.float64) if module.affine else np.zeros_like(mean)
    scale = weight / np.sqrt(var + module.eps)  # in float64, like every other layer
    shift = bias - mean * scale
    if shape is None:
        return np.diag(scale), shift
    if len(shape) not in _BATCHNORM_RANK[type(module)] or shape[0] != module.num_features:
        raise ValueError(
            f"{type(module).__name__}({module.num_features}) cannot take inputs of shape "
            f"{tuple(shape)} per point"
        )
    per_channel = math.prod(shape[1:])  # channels first: each channel's positions are contiguous
    _check_dense(module, shape, math.prod(shape), math.prod(shape))
    return np.diag(np.repeat(scale, per_channel)), np.repeat(shift, per_channel)


_M = TypeVar("_M", bound=nn.Module)

# The layers read by their class, with the forward of that class only (see _plain).
_READ: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.ReLU,
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.Flatten,
    nn.Sequential,
)


def _plain(module: nn.Module, kind: type[_M]) -> TypeGuard[_M]:
    """Whether ``module`` is a ``kind`` that computes what ``kind`` computes.

    A subclass that overrides ``forward`` (a residual ``nn.Sequential``, a scaled ``nn.Linear``,
    an always-on Monte-Carlo ``nn.Dropout``) is not read as its base class: its parameters alone
    would give another function, without a word.
    """
    return isinstance(module, kind) and type(module).forward is kind.forward


def _sequence(
    module: nn.Module, shape: tuple[int, ...] | None, steps: list[tuple[str, Any]]
) -> tuple[int, ...] | None:
    """Append ``module`` to ``steps`` as ("affine", (W, b)) and ("relu", None) steps.

    ``shape`` is the shape of one input of ``module`` (without the batch dimension), or None when
    unknown (then only flat layers can be read); returns the shape of one output.
    """
    if _plain(module, nn.Linear):
        if shape is not None and (len(shape) != 1 or shape[0] != module.in_features):
            first = not any(kind == "affine" for kind, _ in steps)
            if len(shape) != 1:
                raise TypeError(
                    f"robviz.exact reads Linear on flat inputs only, got inputs of shape "
                    f"{tuple(shape)}: put a Flatten before it"
                )
            raise ValueError(
                f"the model's {'first layer' if first else 'Linear layer'} takes "
                f"{module.in_features} inputs, {'x' if first else 'its input'} has {shape[0]} "
                f"per point"
            )
        steps.append(("affine", _affine(module.weight, module.bias)))
        return (module.out_features,)
    if _plain(module, nn.ReLU):
        steps.append(("relu", None))
        return shape
    if any(_plain(module, kind) for kind in _READ[2:7]):  # Identity and the Dropouts
        return shape  # Dropout is the identity in eval mode, where the model is read
    if _plain(module, nn.Flatten):
        if shape is None:
            return None
        if module.start_dim == 0 or module.start_dim == -len(shape) - 1:
            raise TypeError("robviz.exact reads a Flatten that keeps the batch dimension only")
        return tuple(torch.zeros(1, *shape).flatten(module.start_dim, module.end_dim).shape[1:])
    if (
        type(module) in _BATCHNORM_RANK
        and module.track_running_stats
        and module.running_var is not None
        and module.running_mean is not None
    ):
        norm = cast("nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d", module)
        steps.append(("affine", _batchnorm(norm, shape)))
        return shape
    if type(module) in _IMAGE_RANK:
        if shape is None:
            raise ValueError(
                f"robviz.exact needs the input shape to read {type(module).__name__} as an "
                f"affine map: pass input_shape (the shape of one input, e.g. (1, 8, 8))"
            )
        w, b, shape = _image_map(module, shape)
        steps.append(("affine", (w, b)))
        return shape
    if _plain(module, nn.Sequential):
        for child in module:
            shape = _sequence(child, shape, steps)
        return shape
    net = getattr(module, "net", None)
    if isinstance(net, nn.Sequential) and type(module).__name__ == "ToyMLP":
        return _sequence(net, shape, steps)
    conv, linear = getattr(module, "conv", None), getattr(module, "linear", None)
    if (
        type(module).__name__ == "SmallCNN"
        and isinstance(conv, nn.Module)
        and isinstance(linear, nn.Module)
    ):
        return _sequence(linear, _sequence(conv, shape, steps), steps)
    own = [kind.__name__ for kind in _READ if isinstance(module, kind)]
    raise TypeError(
        f"robviz.exact needs a piecewise-affine ReLU network ({_SUPPORTED}), got a "
        + (
            f"{type(module).__name__}, a {own[0]} with a forward of its own, which its parameters "
            f"alone do not describe; "
            if own
            else f"{type(module).__name__}, which is neither an affine map nor a ReLU (nor a "
            f"stack of them); "
        )
        + "bound its robustness with attacks (robviz.attacks), or on 2-D inputs use "
        "grid_minimal_distance for a grid estimate"
    )


def _head_decision(head: object) -> tuple[np.ndarray, np.ndarray]:
    """Return (A, c) with argmax_k (A z + c)_k the prediction of an objective head, (L, d) and (L,).

    What the head's ``decision()`` declares (``robviz.objectives.Objective.decision``), in float64.
    """
    decision = getattr(head, "decision", None)
    affine = decision() if callable(decision) else None
    if affine is None:
        raise TypeError(
            f"robviz.exact needs a head whose prediction is affine in the feature; the "
            f"{type(head).__name__} head declares none (its decision() returns None or is missing)"
        )
    return _affine(*affine)


def _compose(
    w1: np.ndarray, b1: np.ndarray, w0: np.ndarray, b0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the affine map x -> w1 (w0 x + b0) + b1.

    A diagonal w1 (BatchNorm) scales rows instead of a matrix product.
    """
    diagonal = np.diagonal(w1) if w1.shape[0] == w1.shape[1] else None
    if diagonal is not None and np.count_nonzero(w1) == np.count_nonzero(diagonal):
        return diagonal[:, None] * w0, diagonal * b0 + b1
    return w1 @ w0, w1 @ b0 + b1


def affine_pieces(
    model: nn.Module, input_shape: Sequence[int] | None = None
) -> list[tuple[str, Any]]:
    """Return ``model`` as alternating affine maps and ReLUs, in float64.

    Consecutive affine maps are merged; the last affine map's argmax is the prediction. Linear
    layers of images (Conv1d/2d/3d with any stride, padding, dilation and groups; AvgPool and
    AdaptiveAvgPool; BatchNorm) become dense matrices on the flattened input (row-major, as
    ``x.reshape(N, -1)``), which needs ``input_shape``; each may have at most
    :data:`MAX_DENSE_ENTRIES` entries. BatchNorm is read with its running statistics, whatever the
    module's mode, Dropout as the identity (the model as evaluated in eval mode).

    Parameters
    ----------
    model : nn.Module
        A ReLU network: Linear, Conv1d/2d/3d, AvgPool, AdaptiveAvgPool, BatchNorm1d/2d/3d (with
        running statistics), Flatten, Dropout, Identity and ReLU layers in ``nn.Sequential`` stacks,
        ``ToyMLP`` and ``SmallCNN``; or a robviz ``Classifier`` of such a body and a head with an
        affine ``decision()``.
    input_shape : tuple of int or None
        The shape of one input without the batch dimension, e.g. ``(1, 8, 8)`` (``x.shape[1:]``);
        needed for image layers, checked against Linear layers. None: flat inputs, as on the plane.

    Returns
    -------
    list
        [("affine", (W, b)), ("relu", None), ..., ("affine", (W, b))]: W (n_out, n_in) and b
        (n_out,) float64 arrays.

    Raises
    ------
    TypeError
        For layers that are neither affine nor ReLUs (MaxPool2d, Tanh, ...), a subclass of a
        layer read here that overrides ``forward`` (a residual ``nn.Sequential``), a head without
        an affine decision, or a network that does not end with an affine map.
    ValueError
        For an image layer without ``input_shape``, inputs of the wrong shape, or a dense matrix
        over :data:`MAX_DENSE_ENTRIES` entries, or a network with fewer than two outputs (one
        logit: its argmax is class 0 for every input).
    """
    checks.model("model", model, module=True)
    shape = None if input_shape is None else tuple(int(s) for s in input_shape)
    body = getattr(model, "body", None)
    steps: list[tuple[str, Any]] = []
    if isinstance(body, nn.Module) and hasattr(model, "objective"):
        shape = _sequence(body, shape, steps)
        if shape is not None and len(shape) != 1:
            raise TypeError(
                f"the head takes flat features, the body's output has shape {shape} per point"
            )
        steps.append(("affine", _head_decision(model.objective)))
    else:
        _sequence(model, shape, steps)
    merged: list[tuple[str, Any]] = []  # ("affine", (W, b)) or ("relu", None)
    for kind, value in steps:
        if kind == "affine" and merged and merged[-1][0] == "affine":
            w0, b0 = merged[-1][1]
            w1, b1 = value
            if w1.shape[1] != w0.shape[0]:
                raise ValueError(
                    f"a layer of the model takes {w1.shape[1]} inputs, the one before it gives "
                    f"{w0.shape[0]}"
                )
            if w1.shape[0] * w0.shape[1] > MAX_DENSE_ENTRIES:
                raise ValueError(
                    f"robviz.exact would merge two affine layers into a dense {w1.shape[0]} x "
                    f"{w0.shape[1]} matrix, over the limit of {MAX_DENSE_ENTRIES:,} entries "
                    f"(MAX_DENSE_ENTRIES); bound this model with attacks (robviz.attacks)"
                )
            merged[-1] = ("affine", _compose(w1, b1, w0, b0))
        elif kind == "relu" and merged and merged[-1][0] == "relu":
            continue
        else:
            merged.append((kind, value))
    if not merged or merged[-1][0] != "affine":
        raise TypeError("robviz.exact needs a network that ends with an affine layer (the logits)")
    # argmax over one logit: class 0 everywhere, every point robust; the last bias is the shape
    # of one input's logits, (1, L)
    checks.logits("model", torch.from_numpy(merged[-1][1][1]).reshape(1, -1))
    if merged[0][0] != "affine":
        n_in = 2 if input_shape is None else math.prod(int(s) for s in input_shape)
        merged.insert(0, ("affine", (np.eye(n_in), np.zeros(n_in))))
    return merged


# ----------------------------------------------------------------------------------------- polygons


def _clip(poly: np.ndarray, a: np.ndarray, c: float) -> np.ndarray:
    """Return the part of the convex polygon ``poly`` (V, 2) where a . x + c >= 0.

    Sutherland-Hodgman clipping against one edge.
    """
    values = poly @ a + c
    out = []
    for i in range(len(poly)):
        j = (i + 1) % len(poly)
        if values[i] >= 0:
            out.append(poly[i])
        if (values[i] >= 0) != (values[j] >= 0):
            t = values[i] / (values[i] - values[j])
            out.append(poly[i] + t * (poly[j] - poly[i]))
    return np.array(out).reshape(-1, 2)


def polygon_area(poly: np.ndarray) -> float:
    """Return the area of a polygon given by its vertices in order (the shoelace formula).

    Parameters
    ----------
    poly : np.ndarray
        (V, 2) vertices, clockwise or counter-clockwise.

    Returns
    -------
    float
        The area, >= 0; 0 for fewer than 3 vertices.
    """
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(x[:-1] @ y[1:] - y[:-1] @ x[1:] + x[-1] * y[0] - y[-1] * x[0]))


def input_box(bounds: Sequence[float] | Dataset) -> tuple[float, float, float, float]:
    """Return ``bounds`` as the 2-D box (x_min, x_max, y_min, y_max).

    Parameters
    ----------
    bounds : tuple of float or robviz.data.Dataset
        (x_min, x_max, y_min, y_max), or (low, high) or a Dataset (its ``.bounds``), which give the
        square [low, high]^2.

    Returns
    -------
    tuple[float, float, float, float]
        (x_min, x_max, y_min, y_max).

    Raises
    ------
    ValueError
        For bounds that are not finite or not increasing.
    """
    # A Dataset (or anything with .bounds) gives its (low, high).
    box = cast("Sequence[float]", getattr(bounds, "bounds", bounds))
    try:
        values = [float(b) for b in box]
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds must be (low, high), (x_min, x_max, y_min, y_max) or a Dataset, got {box!r}"
        ) from None
    if len(values) == 2:
        values = values * 2
    if (
        len(values) != 4
        or not all(map(math.isfinite, values))
        or values[1] <= values[0]
        or values[3] <= values[2]
    ):
        raise ValueError(f"bounds must be finite (low, high) with low < high, got {box!r}")
    return values[0], values[1], values[2], values[3]


def linear_regions(
    steps: Sequence[tuple[str, Any]], box: tuple[float, float, float, float]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return the linear regions inside ``box``.

    Each ReLU layer splits the current polygons along the zero lines of the neurons that change
    sign on them; pieces of area <= 1e-14 * (longer box side)^2 are dropped.

    Parameters
    ----------
    steps : list
        The network from :func:`affine_pieces`, whose first affine map takes 2 inputs.
    box : tuple of float
        (x_min, x_max, y_min, y_max), as from :func:`input_box`.

    Returns
    -------
    list
        [(polygon (V, 2), A (L, 2), c (L,))] float64: a convex polygon and the affine map on it;
        the logits on a region are A x + c.
    """
    x0, x1, y0, y1 = box
    scale = max(x1 - x0, y1 - y0)
    tiny_area = 1e-14 * scale**2
    w0, b0 = steps[0][1]
    square = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    # floors[i]: 1e-13 of a bound on the terms of the pre-activations before step i, over the
    # box and every activation pattern; their rounding stays far below it (see the tolerance)
    level, floors = np.full(2, max(map(abs, box))), []
    for kind, value in steps:
        floors.append(1e-13 * float(level.max()))
        if kind == "affine":
            level = np.abs(value[0]) @ level + np.abs(value[1])
    stack = [
        (square, 1, w0, b0)
    ]  # (polygon, index of the next step, M, m): the current map is x -> M x + m
    done = []
    while stack:
        poly, index, m_w, m_b = stack.pop()
        if index == len(steps):
            done.append((poly, m_w, m_b))
            continue
        kind, value = steps[index]
        if kind == "affine":
            w, b = value
            stack.append((poly, index + 1, w @ m_w, w @ m_b + b))
            continue
        values = poly @ m_w.T + m_b  # (V, H) pre-activations at the vertices
        # Relative to the layer's own scale, never absolute: a ReLU network keeps its function
        # when a layer's weights are multiplied by s and the next one's divided by s, and a floor
        # of 1e-9 merged the regions of pre-activations below it (at s = 1e-9 a 2-8-3 network lost
        # 7 of its 8 regions). The floor keeps rounding noise from splitting a polygon again.
        tol = 1e-9 * np.abs(values).max() + floors[index]
        crossing = (values > tol).any(axis=0) & (values < -tol).any(axis=0)
        if crossing.any():
            j = int(np.argmax(crossing))
            for sign in (1.0, -1.0):
                half = _clip(poly, sign * m_w[j], sign * m_b[j])
                if polygon_area(half) > tiny_area:
                    stack.append((half, index, m_w, m_b))
            continue
        active = (values.mean(axis=0) > 0).astype(np.float64)
        stack.append((poly, index + 1, m_w * active[:, None], m_b * active))
    return done


def class_pieces(
    poly: np.ndarray, a: np.ndarray, c: np.ndarray, tiny_area: float
) -> list[tuple[np.ndarray, int]]:
    """Split one linear region by its predicted class.

    The argmax of affine logits is constant on convex pieces, cut out by the lines where two
    classes tie.

    Parameters
    ----------
    poly : np.ndarray
        (V, 2) the region's convex polygon.
    a, c : np.ndarray
        (L, 2) and (L,): the logits on the region are a x + c.
    tiny_area : float
        Pieces of area <= this are dropped (not for a region of one class, returned whole).

    Returns
    -------
    list
        [(polygon (V_k, 2), class k)], one convex polygon per class predicted on the region.
    """
    labels = np.argmax(poly @ a.T + c, axis=1)
    if (labels == labels[0]).all():  # the argmax of affine functions is constant on a convex set
        return [(poly, int(labels[0]))]
    pieces = []
    for k in range(len(a)):
        part = poly
        for j in range(len(a)):
            if j != k and len(part):
                part = _clip(part, a[k] - a[j], c[k] - c[j])
        if polygon_area(part) > tiny_area:
            pieces.append((part, k))
    return pieces
