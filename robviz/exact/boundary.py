"""A 2-D ReLU classifier's exact decision boundary, and the distances and robust accuracy from it.

See :mod:`robviz.exact`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .linear_regions import affine_pieces, class_pieces, input_box, linear_regions
from .. import checks
from ..models import Predictor
from .milp import Verification, minimal_linf_distance, verify
from ..runtime import inference, num_classes_of, predict, to_model, to_numpy

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "ExactBoundary",
    "decision_boundary",
    "minimal_distance",
    "robust_accuracy",
    "robust_accuracy_curve",
    "grid_minimal_distance",
    "affine_pieces",
]

_EDGE_BUDGET = 4_000_000  # point-edge pairs per chunk: about 100 MB of float64 temporaries


# --------------------------------------------------------------------------------------- the result


def _norm_name(norm: str | float) -> str:
    return checks.norm_name(norm, allowed=("Linf", "L2"))


def _segment_distance(
    points: np.ndarray, starts: np.ndarray, ends: np.ndarray, norm: str
) -> np.ndarray:
    """Return the distance from each point (N, 2) to each segment (E, 2), in L2 or L-inf: (N, E).

    Segment e is [starts_e, ends_e].

    L-inf: along the segment s(t) = a + t u the distance max(|s_x(t) - p_x|, |s_y(t) - p_y|) is
    convex and piecewise linear in t, so its minimum over [0, 1] is at t = 0, t = 1 or where a term
    vanishes or the two terms are equal: six candidates, evaluated exactly.
    """
    u = ends - starts
    q = points[:, None, :] - starts[None]  # (N, E, 2)
    if norm == "L2":
        t = np.clip((q * u).sum(-1) / np.maximum((u * u).sum(-1), 1e-300), 0.0, 1.0)
        return np.hypot(q[..., 0] - t * u[:, 0], q[..., 1] - t * u[:, 1])
    ux, uy = u[:, 0], u[:, 1]
    qx, qy = q[..., 0], q[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = [
            np.zeros_like(qx),
            np.ones_like(qx),
            qx / ux,
            qy / uy,
            (qx - qy) / (ux - uy),
            (qx + qy) / (ux + uy),
        ]
    best = np.full(qx.shape, np.inf)
    for t in candidates:
        t = np.clip(np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        best = np.minimum(best, np.maximum(np.abs(qx - t * ux), np.abs(qy - t * uy)))
    return best


@dataclass
class ExactBoundary:
    """A 2-D classifier's decisions over the input box, exactly: convex polygons of one class each.

    The box is cut into convex polygons, each predicted as one class.

    Error bound: every vertex is an intersection of two lines computed in float64, so distances
    carry rounding error only (below 1e-6 in the tests, against closed forms); nothing is sampled on
    a grid.

    Attributes
    ----------
    polygons : list
        List of (V_i, 2) float64 arrays, convex, counter-clockwise or clockwise, covering the box.
    labels : np.ndarray
        (P,) int64, the predicted class on each polygon.
    box : tuple
        (x_min, x_max, y_min, y_max), the input box.
    num_classes : int
        L.
    regions : int
        How many linear regions the network has inside the box.
    steps : list
        The network as float64 layers (see :func:`affine_pieces`).

    """

    polygons: list[np.ndarray]
    labels: np.ndarray
    box: tuple[float, float, float, float]
    num_classes: int
    regions: int
    steps: list[tuple[str, Any]]

    def __post_init__(self) -> None:
        self._edges = self._boundary_edges()

    def _boundary_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the boundary: (S, 2, 2) segments and the (S, 2) classes on their two sides.

        A polygon edge is on it when points 1e-7 * (box size) to either side of its midpoint, both
        inside the box, get different classes; each such edge is kept once (from the side of the
        lower class).
        """
        if not self.polygons:
            return np.zeros((0, 2, 2)), np.zeros((0, 2), dtype=np.int64)
        starts = np.concatenate(self.polygons)
        ends = np.concatenate([np.roll(p, -1, axis=0) for p in self.polygons])
        label = np.repeat(self.labels, [len(p) for p in self.polygons])
        u = ends - starts
        length = np.hypot(u[:, 0], u[:, 1])
        normal = np.stack([-u[:, 1], u[:, 0]], 1) / np.maximum(length, 1e-300)[:, None]
        x0, x1, y0, y1 = self.box
        step = 1e-7 * max(x1 - x0, y1 - y0)
        sides = []
        for sign in (1.0, -1.0):
            probe = (starts + ends) / 2 + sign * step * normal
            inside = (
                (probe[:, 0] >= x0)
                & (probe[:, 0] <= x1)
                & (probe[:, 1] >= y0)
                & (probe[:, 1] <= y1)
            )
            sides.append(np.where(inside, self.predict(probe), -1))
        # a length relative to the box: an absolute 1e-12 dropped every edge of a box 1e-12 wide
        keep = (sides[0] >= 0) & (sides[1] >= 0) & (sides[0] != sides[1]) & (length > 1e-5 * step)
        keep &= label == np.minimum(sides[0], sides[1])
        return np.stack([starts[keep], ends[keep]], 1), np.stack(
            [sides[0][keep], sides[1][keep]], 1
        )

    def __repr__(self) -> str:
        return (
            f"ExactBoundary({len(self.polygons)} class pieces in {self.regions} linear regions, "
            f"box={self.box}, num_classes={self.num_classes})"
        )

    def class_distances(self, x: torch.Tensor | np.ndarray, norm: str | float = "L2") -> np.ndarray:
        """Distance from each point to the nearest boundary segment of each class's region.

        For a point of class y, the nearest point of another class lies on the decision boundary (a
        straight path to it crosses the boundary first), so min_{k != y} of this is the exact
        minimal distance. Computed in chunks of points.

        Parameters
        ----------
        x : torch.Tensor or np.ndarray
            (N, 2) points inside the box (within 1e-9 of its size), read as float64.
        norm : str
            ``"L2"`` or ``"Linf"`` (case-insensitive; ``"2"`` and ``"inf"`` also accepted).

        Returns
        -------
        np.ndarray
            (N, L) float64: column k is the distance to the nearest boundary segment with class k
            on one of its sides; inf for a class without boundary in the box.

        Raises
        ------
        ValueError
            For points that are empty, non-finite (naming the sample index), not of shape (N, 2) or
            outside the box, or another ``norm``.
        """
        points = self._check_points(x)
        norm = _norm_name(norm)
        segments, sides = self._edges
        out = np.full((len(points), self.num_classes), np.inf)
        chunk = max(1, _EDGE_BUDGET // max(len(segments), 1))
        for i in range(0, len(points), chunk):
            dist = _segment_distance(points[i : i + chunk], segments[:, 0], segments[:, 1], norm)
            for k in range(self.num_classes):
                mask = (sides == k).any(axis=1)
                if mask.any():
                    out[i : i + chunk, k] = dist[:, mask].min(axis=1)
        return out

    def predict(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """Return the model's prediction at each point.

        It is computed in float64 from the model's layers.

        Parameters
        ----------
        x : torch.Tensor or np.ndarray
            (N, 2) points, inside the box or not.

        Returns
        -------
        np.ndarray
            (N,) int, the predicted class of each point.

        Raises
        ------
        ValueError
            For points that are empty, non-finite (naming the sample index) or not of shape (N, 2).
        """
        values = self._check_points(x, inside=False)
        for kind, value in self.steps:
            values = values @ value[0].T + value[1] if kind == "affine" else np.maximum(values, 0.0)
        return values.argmax(axis=1)

    def distance(
        self,
        x: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        norm: str | float = "L2",
        prediction: torch.Tensor | np.ndarray | None = None,
    ) -> torch.Tensor:
        """Return each x's exact distance to the nearest box point predicted as a class != y.

        Misclassified points get 0.

        Parameters
        ----------
        x : torch.Tensor or np.ndarray
            (N, 2) points inside the box (within 1e-9 of its size).
        y : torch.Tensor or np.ndarray
            (N,) labels in [0, L).
        norm : str
            ``"L2"`` or ``"Linf"``, as in :meth:`class_distances`.
        prediction : torch.Tensor or np.ndarray or None
            (N,) the model's own prediction at x, which decides which points are misclassified.
            None: the class of the polygon holding x (:meth:`predict`, in float64).

        Returns
        -------
        torch.Tensor
            (N,) float64 on the CPU.

        Raises
        ------
        ValueError
            For points that are empty, non-finite (naming the sample index), not of shape (N, 2)
            or outside the box, labels or predictions not of shape (N,) or outside [0, L), or
            another ``norm``.
        """
        points = self._check_points(x)
        labels = self._check_labels(y, len(points))
        own = (
            self.predict(points)
            if prediction is None
            else self._check_labels(prediction, len(points), "prediction")
        )
        per_class = self.class_distances(points, norm)
        per_class[np.arange(len(points)), labels] = np.inf
        result = per_class.min(axis=1)
        result[own != labels] = 0.0
        return torch.from_numpy(result)

    def robust_accuracy(
        self,
        x: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        eps: float,
        norm: str | float = "Linf",
        prediction: torch.Tensor | np.ndarray | None = None,
    ) -> tuple[float, torch.Tensor]:
        """Return the exact robust accuracy at radius ``eps``.

        The ball is intersected with the box.

        A point is robust when it is classified correctly and no point of another class lies within
        distance <= eps.

        Parameters
        ----------
        x : torch.Tensor or np.ndarray
            (N, 2) points inside the box.
        y : torch.Tensor or np.ndarray
            (N,) labels in [0, L).
        eps : float
            The radius, in the units of the inputs: finite, >= 0 and at most the box's diameter in
            ``norm`` (:meth:`check_eps`).
        norm : str
            ``"Linf"`` or ``"L2"``.
        prediction : torch.Tensor or np.ndarray or None
            (N,) the model's own prediction at x; None: :meth:`predict` (see :meth:`distance`).

        Returns
        -------
        tuple[float, torch.Tensor]
            (accuracy in [0, 1], robust (N,) bool), accuracy the mean of robust.

        Raises
        ------
        ValueError
            For a bad ``eps`` (see :meth:`check_eps`), and as :meth:`distance`.
        """
        eps = self.check_eps(eps, norm)
        robust = self.distance(x, y, norm, prediction) > eps
        return robust.double().mean().item(), robust

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the decision boundary.

        (S, 2, 2) line segments (box edges excluded) and the (S, 2) classes on their two sides.
        Ready for :func:`robviz.viz.exact.boundary_trace`.
        """
        return self._edges

    def check_eps(self, eps: float, norm: str | float = "Linf") -> float:
        """Return ``eps`` as a float, checked to be finite, >= 0 and at most the box's diameter.

        The diameter is measured in ``norm``: the longer side for L-inf, the diagonal for L2.

        Parameters
        ----------
        eps : float
            The radius: a Python int or float (a bool is refused).
        norm : str
            ``"Linf"`` or ``"L2"``, as in :meth:`class_distances`.

        Returns
        -------
        float
            ``eps``.

        Raises
        ------
        ValueError
            For an ``eps`` that is not a real number (NumPy scalars and 0-d tensors count), not
            finite, < 0 or over the diameter, or another ``norm``.
        """
        norm = _norm_name(norm)
        width, height = self.box[1] - self.box[0], self.box[3] - self.box[2]
        largest = max(width, height) if norm == "Linf" else math.hypot(width, height)
        eps = checks.real("eps", eps, low=0)
        if eps > largest:
            raise ValueError(
                f"eps={eps!r} exceeds the {norm} diameter {largest:g} of the input box {self.box}"
            )
        return float(eps)

    def _check_points(self, x: torch.Tensor | np.ndarray, inside: bool = True) -> np.ndarray:
        points = to_numpy(x, np.float64)
        # Before the box check: a NaN fails every comparison below, so it would read as a point
        # outside the box, with no sample index.
        checks.finite_inputs("x", points)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(
                f"robviz.exact works on 2-D inputs of shape (N, 2), got {tuple(points.shape)}"
            )
        x0, x1, y0, y1 = self.box
        slack = 1e-9 * max(x1 - x0, y1 - y0)  # relative to the box, as every tolerance here
        if inside and not (
            (points[:, 0] >= x0 - slack).all()
            and (points[:, 0] <= x1 + slack).all()
            and (points[:, 1] >= y0 - slack).all()
            and (points[:, 1] <= y1 + slack).all()
        ):
            raise ValueError(f"every input must lie in the box {self.box}")
        return points

    def _check_labels(self, y: torch.Tensor | np.ndarray, n: int, name: str = "y") -> np.ndarray:
        return to_numpy(checks.labels(name, y, n, num_classes=self.num_classes))


def decision_boundary(model: nn.Module, bounds: Sequence[float] | Dataset) -> ExactBoundary:
    """Enumerate ``model``'s linear regions inside the input box and split them by predicted class.

    Cost: one polygon clip per linear region and layer; a 2-64-64-2 ToyMLP with an SCE or MMC head
    has a few thousand regions in the spirals' box and takes about a second on one core.

    Parameters
    ----------
    model : nn.Module
        A ReLU network on 2-D inputs: a robviz ``Classifier`` with a ``ToyMLP`` body, an
        ``nn.Linear`` or an ``nn.Sequential`` of Linear / ReLU / BatchNorm1d / Dropout / Identity
        (read in eval mode: BatchNorm uses its running statistics, Dropout is the identity).
    bounds : tuple of float or robviz.data.Dataset
        (low, high) for both coordinates (``data.bounds``), (x_min, x_max, y_min, y_max) or a
        Dataset.

    Returns
    -------
    ExactBoundary
        An :class:`ExactBoundary`.

    Raises
    ------
    TypeError
        For models that are not piecewise affine.
    ValueError
        For models whose inputs are not 2-D, or that give one logit (its argmax is always
        class 0).
    """
    checks.model("model", model, module=True)
    steps = affine_pieces(model)
    if steps[0][1][0].shape[1] != 2:
        raise ValueError(
            f"robviz.exact works on 2-D inputs; the model's first layer takes "
            f"{steps[0][1][0].shape[1]} inputs"
        )
    box = input_box(bounds)
    regions = linear_regions(steps, box)
    tiny_area = 1e-14 * max(box[1] - box[0], box[3] - box[2]) ** 2
    polygons, labels = [], []
    for poly, a, c in regions:
        for piece, label in class_pieces(poly, a, c, tiny_area):
            polygons.append(piece)
            labels.append(label)
    num_classes = steps[-1][1][0].shape[0]
    return ExactBoundary(
        polygons, np.array(labels, dtype=np.int64), box, num_classes, len(regions), steps
    )


def _model_prediction(model: Predictor, x: torch.Tensor) -> torch.Tensor:
    # -1 where the logits are not finite: no class, never the label (argmax of NaN is class 0)
    return predict(inference(model, x))


def minimal_distance(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str | float | None = None,
    bounds: Sequence[float] | Dataset,
    time_limit: float = 10.0,
    progress: bool = True,
) -> torch.Tensor:
    """Return each x's exact distance to the nearest point of the box predicted as a class != y.

    Predicted by ``model``; 0 for misclassified points.

    For an affine classifier w . x + b this is |w . x + b| / ||w||_q with q the dual norm (2 for L2,
    1 for L-inf) when the nearest point lies inside the box. 2-D inputs are read from the linear
    regions (:func:`decision_boundary`); inputs that are not 2-D are solved by mixed-integer
    programming (:func:`robviz.exact.milp.minimal_linf_distance`), L-inf only.

    Parameters
    ----------
    model : nn.Module
        A ReLU network: see :func:`decision_boundary` for the models handled on the plane and
        :func:`robviz.exact.milp.verify` for the others.
    x : torch.Tensor
        (N, 2) points inside the box, or (N, ...) inputs of any other shape inside ``bounds``.
    y : torch.Tensor
        (N,) labels.
    norm : str or None
        ``"L2"`` or ``"Linf"``; only ``"Linf"`` for inputs that are not 2-D. Default None: L2 on
        2-D inputs (read from the plane's linear regions), L-inf on any other (the only norm the
        program solves), so the default works on every input.
    bounds : tuple of float or robviz.data.Dataset
        The input box (``data.bounds``): (low, high), on the plane also (x_min, x_max, y_min,
        y_max), or a Dataset.
    time_limit : float
        Seconds of solving a point, for inputs that are not 2-D (ignored on the plane). Default 10.
    progress : bool
        Show a tqdm progress bar over the points of the mixed-integer programs (inputs that are
        not 2-D; the plane's enumeration takes a second or two).

    Returns
    -------
    torch.Tensor
        (N,) float64 on the CPU.

    Raises
    ------
    NotImplementedError
        For ``norm="L2"`` given on inputs that are not 2-D.
    TypeError
        For models that are not piecewise affine, or an ``x`` of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        For an ``x`` that is not a tensor, is empty or has non-finite values (the error names the
        sample index; checked before the box), another ``norm``, bad bounds, points outside the box,
        labels of the wrong shape or out of range, and (inputs that are not 2-D) points not solved
        within ``time_limit`` seconds.
    """
    checks.model("model", model, module=True)
    progress = checks.flag("progress", progress)
    plane = _is_plane(x)
    checks.finite_inputs("x", x)
    checks.floating_inputs("x", x)  # before the model or the box sees them
    if not plane:
        if norm is not None and _norm_name(norm) != "Linf":
            raise NotImplementedError(
                f"exact minimal distances of inputs that are not 2-D are computed for "
                f"norm='Linf' only, got norm={norm!r}"
            )
        return minimal_linf_distance(
            model, x, y, bounds=bounds, time_limit=time_limit, progress=progress
        )
    norm = "L2" if norm is None else norm
    boundary = decision_boundary(model, bounds)
    return boundary.distance(x, y, norm, prediction=_model_prediction(model, _as_input(x, model)))


def robust_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    norm: str | float = "Linf",
    bounds: Sequence[float] | Dataset,
    time_limit: float = 10.0,
    progress: bool = True,
) -> tuple[float, torch.Tensor] | Verification:
    """Return the exact robust accuracy at radius ``eps`` (the ball intersected with the input box).

    2-D inputs (N, 2): read from the linear regions (:func:`decision_boundary`), L2 or L-inf. Inputs
    of any other shape: L-inf only, decided point by point by mixed-integer linear programming
    (:func:`robviz.exact.milp.verify`).

    Parameters
    ----------
    model : nn.Module
        A ReLU network, as in :func:`minimal_distance`.
    x : torch.Tensor
        (N, 2) points inside the box, or (N, ...) inputs of any other shape inside ``bounds``.
    y : torch.Tensor
        (N,) labels.
    eps : float
        The radius, in the units of the inputs, >= 0 (on the plane at most the box's diameter).
    norm : str
        ``"Linf"`` or ``"L2"``; only ``"Linf"`` for inputs that are not 2-D.
    bounds : tuple of float or robviz.data.Dataset
        The input box, as in :func:`minimal_distance`.
    time_limit : float
        At most this many seconds a point, for inputs that are not 2-D (ignored on the plane).
        Default 10.
    progress : bool
        As in :func:`minimal_distance`.

    Returns
    -------
    tuple[float, torch.Tensor] or Verification
        (accuracy in [0, 1], robust (N,) bool) on the plane. Otherwise a
        :class:`~robviz.exact.milp.Verification`, which unpacks as the same pair, raises
        ``ValueError`` on unpacking when a point is undecided, and carries the verdicts, witnesses
        and the bounds ``lower``, ``upper``.

    Raises
    ------
    NotImplementedError
        For ``norm="L2"`` on inputs that are not 2-D.
    TypeError
        As :func:`minimal_distance`.
    ValueError
        For a bad ``eps``, and as :func:`minimal_distance` (on inputs that are not 2-D, as
        :func:`robviz.exact.milp.verify`; undecided points are not an error until unpacking).
    """
    checks.model("model", model, module=True)
    progress = checks.flag("progress", progress)
    plane = _is_plane(x)
    checks.finite_inputs("x", x)  # before the box check, which would call a NaN "outside"
    checks.floating_inputs("x", x)
    if not plane:
        if _norm_name(norm) != "Linf":
            raise NotImplementedError(
                f"exact robustness of inputs that are not 2-D is computed for norm='Linf' "
                f"only, got norm={norm!r}"
            )
        return verify(model, x, y, eps, bounds=bounds, time_limit=time_limit, progress=progress)
    boundary = decision_boundary(model, bounds)
    return boundary.robust_accuracy(
        x, y, eps, norm, prediction=_model_prediction(model, _as_input(x, model))
    )


def robust_accuracy_curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps_list: Iterable[float],
    *,
    norm: str | float = "Linf",
    bounds: Sequence[float] | Dataset,
    time_limit: float = 10.0,
    progress: bool = True,
) -> list[float]:
    """Exact robust accuracy at every radius of ``eps_list``.

    2-D inputs: one region enumeration for all; other inputs: one :func:`robust_accuracy` per radius
    (L-inf).

    Parameters
    ----------
    model, x, y, norm, bounds, time_limit, progress
        As in :func:`robust_accuracy`.
    eps_list : iterable of float
        The radii, each checked as ``eps`` of :func:`robust_accuracy`.

    Returns
    -------
    list[float]
        The robust accuracy in [0, 1] at each radius, in the order of ``eps_list``.

    Raises
    ------
    NotImplementedError
        For ``norm="L2"`` on inputs that are not 2-D.
    TypeError
        As :func:`minimal_distance`.
    ValueError
        When a point is undecided within ``time_limit`` seconds (inputs that are not 2-D), and as
        :func:`robust_accuracy`.
    """
    checks.model("model", model, module=True)
    progress = checks.flag("progress", progress)
    plane = _is_plane(x)
    checks.finite_inputs("x", x)  # before the box check, which would call a NaN "outside"
    checks.floating_inputs("x", x)
    if not plane:
        if _norm_name(norm) != "Linf":
            raise NotImplementedError(
                f"exact robustness of inputs that are not 2-D is computed for norm='Linf' "
                f"only, got norm={norm!r}"
            )
        return [
            verify(
                model, x, y, eps, bounds=bounds, time_limit=time_limit, progress=progress
            ).accuracy
            for eps in eps_list
        ]
    boundary = decision_boundary(model, bounds)
    distances = boundary.distance(
        x, y, norm, prediction=_model_prediction(model, _as_input(x, model))
    )
    return [(distances > boundary.check_eps(eps, norm)).double().mean().item() for eps in eps_list]


def _is_plane(x: object) -> bool:
    """Whether x holds 2-D points (N, 2), the inputs the linear-region enumeration handles."""
    points = checks.tensor_argument("x", x)
    return points.dim() == 2 and points.shape[1] == 2


def _as_input(x: object, model: Predictor) -> torch.Tensor:
    x = checks.tensor_argument("x", x)
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"robviz.exact works on 2-D inputs of shape (N, 2), got {tuple(x.shape)}")
    return to_model(model, x)  # x's dtype checked by the entry: to_model would convert integers


@torch.no_grad()
def grid_minimal_distance(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str | float = "L2",
    bounds: Sequence[float] | Dataset,
    resolution: int = 1000,
    chunk: int = 65536,
) -> torch.Tensor:
    """Brute force for any 2-D classifier.

    The distance from each x to the nearest node of a ``resolution`` x ``resolution`` grid over the
    box that the model predicts as a class != y (0 for misclassified points).

    Error: every node it finds is a real point of another class, so the result is never below the
    exact distance d; it exceeds it by at most h * sqrt(2) (L2) or h (L-inf), h = (box width) /
    (resolution - 1) the grid spacing, *when every region of another class contains a grid cell* (a
    region thinner than h can be missed). Why twice the half-diagonal: the node nearest to the
    closest boundary point may lie on the wrong side of the boundary; a node of the other class lies
    within h * sqrt(2) / 2 of the point h * sqrt(2) / 2 beyond the boundary (h / 2 and h / 2 in
    L-inf), so within d + h * sqrt(2) of x. Even one straight boundary reaches 1.41 times h *
    sqrt(2) / 2. This is the reference the exact method is tested against, and the estimate for
    models it cannot read.

    Parameters
    ----------
    model : Predictor
        Any classifier of 2-D points, ``model(x)`` -> (N, L) logits (ensembles and randomized
        models included).
    x : torch.Tensor
        (N, 2) points.
    y : torch.Tensor
        (N,) labels.
    norm : str
        ``"L2"`` or ``"Linf"``.
    bounds : tuple of float or robviz.data.Dataset
        The box: (low, high), (x_min, x_max, y_min, y_max) or a Dataset.
    resolution : int
        Grid nodes per axis. Default 1000.
    chunk : int
        Nodes whose distances are computed at a time (memory: N x ``chunk`` float64). Default
        65536.

    Returns
    -------
    torch.Tensor
        (N,) float64 on the CPU.

    Raises
    ------
    ValueError
        For an ``x`` that is not an (N, 2) tensor, is empty or has non-finite values (the error
        names the sample index), ``y`` not one integer label per input in [0, L) (naming the
        sample index), another ``norm`` or bad bounds.
    TypeError
        An ``x`` of integers (:func:`robviz.checks.floating_inputs`).
    """
    checks.model("model", model)
    resolution = checks.integer("resolution", resolution, low=2)
    chunk = checks.integer("chunk", chunk, low=1)
    x = checks.finite_inputs("x", _as_input(checks.floating_inputs("x", x), model))
    y = checks.labels("y", y, len(x), num_classes=num_classes_of(model, x))
    norm = _norm_name(norm)
    box = input_box(bounds)
    from ..data import grid_points

    nodes = grid_points(box, resolution).to(x.device, x.dtype)
    labels = _model_prediction(model, nodes)  # runtime.inference batches the forward passes
    p = 2 if norm == "L2" else math.inf
    best = torch.full((len(x),), math.inf, dtype=torch.float64)
    x64, n64, y_cpu = x.double().cpu(), nodes.double().cpu(), y.cpu()
    for i in range(0, len(nodes), chunk):
        dist = torch.cdist(x64, n64[i : i + chunk], p=p)
        other = labels[i : i + chunk].cpu()[None, :] != y_cpu[:, None]
        dist[~other] = math.inf
        best = torch.minimum(best, dist.min(dim=1).values)
    best[_model_prediction(model, x).cpu() != y_cpu] = 0.0
    return best
