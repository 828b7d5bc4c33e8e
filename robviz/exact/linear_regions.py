"""The linear regions of a ReLU classifier on 2-D inputs: the geometry under :mod:`robviz.exact`.

A ReLU network is affine on each cell of a partition of the plane into convex polygons: on a cell
every neuron keeps its sign, so the whole network is x -> M x + m there. :func:`affine_pieces` reads
a model as alternating affine maps and ReLUs (float64); :func:`linear_regions` splits the input box
along each neuron's zero line, layer by layer (Sutherland-Hodgman clipping of convex polygons), and
:func:`class_pieces` splits one region along the lines where the predicted class changes (the argmax
of affine logits is constant on convex pieces).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ..runtime import to_numpy

__all__ = ["affine_pieces", "linear_regions", "class_pieces", "polygon_area", "input_box"]


# ------------------------------------------------------------------------------ the model as layers


def _affine(weight, bias) -> tuple[np.ndarray, np.ndarray]:
    w = to_numpy(weight, np.float64)
    b = np.zeros(len(w)) if bias is None else to_numpy(bias, np.float64)
    return w, b


def _sequence(module: nn.Module) -> list:
    """Return the module as a list of ("affine", (W, b)) and ("relu", None) steps."""
    if isinstance(module, nn.Linear):
        return [("affine", _affine(module.weight, module.bias))]
    if isinstance(module, nn.ReLU):
        return [("relu", None)]
    if isinstance(module, (nn.Identity, nn.Dropout, nn.Flatten)):
        return []
    if (
        isinstance(module, nn.BatchNorm1d)
        and module.track_running_stats
        and module.running_var is not None
        and module.running_mean is not None
    ):
        scale = (
            module.weight if module.affine else torch.ones_like(module.running_var)
        ) / torch.sqrt(module.running_var + module.eps)
        shift = (
            module.bias if module.affine else torch.zeros_like(module.running_mean)
        ) - module.running_mean * scale
        return [("affine", (np.diag(to_numpy(scale, np.float64)), to_numpy(shift, np.float64)))]
    if isinstance(module, nn.Sequential):
        return [step for child in module for step in _sequence(child)]
    net = getattr(module, "net", None)
    if isinstance(net, nn.Sequential) and type(module).__name__ == "ToyMLP":
        return _sequence(net)
    raise TypeError(
        f"robviz.exact needs a piecewise-affine ReLU network (Linear, ReLU, BatchNorm1d, Dropout, "
        f"Identity), got a {type(module).__name__}; use grid_minimal_distance for a grid estimate"
    )


def _head_decision(head) -> tuple[np.ndarray, np.ndarray]:
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


def affine_pieces(model: nn.Module) -> list:
    """Return ``model`` as alternating steps.

    Affine maps (W, b) in float64 and ReLUs, consecutive affine maps merged, ending with the affine
    map whose argmax is the prediction.

    Raises
    ------
    TypeError
        For other models.
    """
    body = getattr(model, "body", None)
    if isinstance(body, nn.Module) and hasattr(model, "objective"):
        steps = _sequence(body) + [("affine", _head_decision(model.objective))]
    else:
        steps = _sequence(model)
    merged: list[tuple[str, Any]] = []  # ("affine", (W, b)) or ("relu", None)
    for kind, value in steps:
        if kind == "affine" and merged and merged[-1][0] == "affine":
            w0, b0 = merged[-1][1]
            w1, b1 = value
            merged[-1] = ("affine", (w1 @ w0, w1 @ b0 + b1))
        elif kind == "relu" and merged and merged[-1][0] == "relu":
            continue
        else:
            merged.append((kind, value))
    if not merged or merged[-1][0] != "affine":
        raise TypeError("robviz.exact needs a network that ends with an affine layer (the logits)")
    if merged[0][0] != "affine":
        merged.insert(0, ("affine", (np.eye(2), np.zeros(2))))
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
    """Return the area of a polygon given by its vertices in order, (V, 2).

    The area is 0 for fewer than 3 vertices.
    """
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(x[:-1] @ y[1:] - y[:-1] @ x[1:] + x[-1] * y[0] - y[-1] * x[0]))


def input_box(bounds) -> tuple[float, float, float, float]:
    """Return ``bounds`` as the 2-D box (x_min, x_max, y_min, y_max).

    (low, high) or a Dataset gives a square.

    Raises
    ------
    ValueError
        For bounds that are not finite or not increasing.
    """
    bounds = getattr(bounds, "bounds", bounds)
    try:
        values = [float(b) for b in bounds]
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds must be (low, high), (x_min, x_max, y_min, y_max) or a Dataset, got {bounds!r}"
        ) from None
    if len(values) == 2:
        values = values * 2
    if (
        len(values) != 4
        or not all(map(math.isfinite, values))
        or values[1] <= values[0]
        or values[3] <= values[2]
    ):
        raise ValueError(f"bounds must be finite (low, high) with low < high, got {bounds!r}")
    return values[0], values[1], values[2], values[3]


def linear_regions(steps, box) -> list:
    """Return the linear regions inside ``box``: a list of (polygon (V, 2), A (L, 2), c (L,)).

    The logits on a region are A x + c.
    """
    x0, x1, y0, y1 = box
    scale = max(x1 - x0, y1 - y0)
    tiny_area = 1e-14 * scale**2
    w0, b0 = steps[0][1]
    square = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
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
        tol = 1e-9 * (np.abs(values).max() + 1.0)
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


def class_pieces(poly, a, c, tiny_area):
    """Split one linear region by its predicted class: [(polygon, class)]."""
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
