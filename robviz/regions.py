"""Decision regions on a 2-D grid, in the feature plane or the input plane.

The feature plane is the head's view; the input plane, the whole model's.

The results are plain tensors that ``robviz.viz`` draws; nothing here plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch

from . import checks
from .data import grid_points
from .models import Classifier, Predictor
from .runtime import inference

if TYPE_CHECKING:
    from .train import History

__all__ = ["Regions", "feature_extent", "feature_regions", "input_regions"]


@dataclass
class Regions:
    """Predicted classes on a grid.

    ``labels`` is (S, R, R) for S frames (or (R, R)), over ``extent`` = (x_min, x_max, y_min,
    y_max); row i of a frame is y = y_min + i * (y_max - y_min) / (R - 1).
    """

    labels: torch.Tensor
    extent: tuple[float, float, float, float]


def feature_extent(
    features: torch.Tensor, pad: float = 0.1, centers: torch.Tensor | None = None
) -> tuple[float, float, float, float]:
    """Return a square (x_min, x_max, y_min, y_max) holding every 2-D feature of every frame.

    The centers, too. The square is centered at the origin, with a ``pad`` fraction of margin: one
    fixed frame for a whole animation.

    Parameters
    ----------
    features : torch.Tensor
        Features (..., 2), e.g. a History's (S, P, 2).
    pad : float
        The margin, as a fraction of the largest coordinate.
    centers : torch.Tensor or None
        Class centers (L, 2) to include.

    Returns
    -------
    tuple of float
        (-h, h, -h, h).

    Raises
    ------
    ValueError
        Features that are not 2-D, no feature, a NaN or infinite coordinate in ``features`` or
        ``centers`` (the error names the point of the flattened (P, 2) points), ``pad`` < 0.
    """
    features = checks.tensor_argument("features", features, "(N, ...)")
    pad = checks.real("pad", pad, low=0)
    points = features.reshape(-1, features.shape[-1])
    if points.shape[1] != 2:
        raise ValueError(f"feature regions need 2-D features, got dimension {points.shape[1]}")
    checks.finite_inputs("features", points)
    if centers is not None:
        points = torch.cat(
            [points, checks.finite_inputs("centers", centers.reshape(-1, 2).to(points))]
        )
    half = float(points.abs().max()) * (1 + pad) + 1e-6
    return (-half, half, -half, half)


@torch.no_grad()
def feature_regions(
    model: Classifier,
    history: History,
    resolution: int = 80,
    extent: tuple[float, float, float, float] | None = None,
) -> Regions:
    """Return the head's decision regions in the 2-D feature plane at every snapshot of ``history``.

    Each frame takes that snapshot's head (:meth:`robviz.train.History.head_at`) and predicts the
    class of every grid point z (argmax of the objective's output logits).

    Parameters
    ----------
    model : Classifier
        The model ``history`` trained, with 2-D features.
    history : robviz.train.History
        Its History.
    resolution : int
        R, grid points per axis.
    extent : tuple of float or None
        (x_min, x_max, y_min, y_max); None: :func:`feature_extent` of the recorded features and
        centers.

    Returns
    -------
    Regions
        Labels (S, R, R), one frame per snapshot, and the extent.

    Raises
    ------
    ValueError
        Features that are not 2-D, an invalid extent, a history without snapshots, or a head
        whose logits are not finite at a grid point.
    """
    checks.model("model", model, needs=("objective",))
    resolution = checks.integer("resolution", resolution, low=2)
    if history.features is None:
        raise ValueError("history has no recorded features (fit records them at every snapshot)")
    extent = extent or feature_extent(history.features, centers=history.centers)
    points = grid_points(extent, resolution)
    frames = []
    for frame in range(len(history.head_states)):
        head = history.head_at(model, frame)
        logits = head.output(head(points))
        frames.append(_grid_labels(logits, points, frame).reshape(resolution, resolution))
    return Regions(torch.stack(frames), extent)


def _grid_labels(
    logits: torch.Tensor, points: torch.Tensor, frame: int | None = None
) -> torch.Tensor:
    """Return the argmax of each grid point's logits; refuse non-finite ones, naming a point.

    The argmax of a NaN row is class 0: the map would paint that part of the plane class 0.
    """
    bad = ~torch.isfinite(logits).all(dim=1)
    if bool(bad.any()):
        first = points[bad.nonzero()[0, 0]].tolist()
        where = "" if frame is None else f" at snapshot {frame}"
        raise ValueError(
            f"the model's logits{where} are not finite at {int(bad.sum())} of {len(points)} grid "
            f"points (the first at {first}): a region map would paint them class 0"
        )
    return logits.argmax(1)


@torch.no_grad()
def input_regions(
    model: Predictor, extent: tuple[float, float, float, float], resolution: int = 100
) -> Regions:
    """Return the whole model's decision regions over a 2-D input plane (toy data).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier on 2-D inputs.
    extent : tuple of float
        (x_min, x_max, y_min, y_max) of the input plane.
    resolution : int
        R, grid points per axis.

    Returns
    -------
    Regions
        Labels (R, R) on the CPU, and the extent.

    Raises
    ------
    ValueError
        An invalid extent; a model whose output is not (N, L) logits with L >= 2 (one logit per
        input, or probabilities of another shape, would paint the whole plane class 0), as
        :func:`robviz.checks.logits`; logits that are not finite at a grid point.
    """
    checks.model("model", model)
    points = grid_points(extent, resolution)
    logits = checks.logits("model", inference(model, points))
    labels = _grid_labels(logits, points).reshape(resolution, resolution).cpu()
    # grid_points unpacked extent into its four numbers.
    return Regions(labels, cast("tuple[float, float, float, float]", tuple(extent)))
