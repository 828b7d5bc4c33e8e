"""Quantities over a 2-D feature plane, as plain tensors for ``robviz.viz.density`` to draw.

* :func:`loss_on_grid`: a loss evaluated at every point of a grid (the loss landscape a class sees);
* :func:`gsce_loss`: the generalized softmax cross-entropy of the ICLR 2020 paper, one value per
  sample;
* :func:`trace_contour`: a walk along a level set of a loss (where the loss does not change);
* :func:`feature_density`: how many features fall in each grid cell per unit area, frame by frame.

Grids follow ``robviz.data.grid_points``: row i of an (R, R) grid is y = y_min + i (y_max - y_min) /
(R - 1), column j is x = x_min + j (x_max - x_min) / (R - 1). Nothing here plots, and nothing
trains.

References
----------
T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu, "Rethinking Softmax Cross-Entropy Loss for
Adversarial Robustness", ICLR 2020.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from . import checks
from .data import grid_points
from .objectives import (
    LossFn,
    Objective,
    cross_entropy_per_sample,
    per_sample_loss,
    squared_distances,
)

__all__ = [
    "LossGrid",
    "loss_on_grid",
    "gsce_loss",
    "trace_contour",
    "DensityGrid",
    "feature_density",
]


@dataclass
class LossGrid:
    """A loss evaluated on a square grid of 2-D features, for one label.

    Attributes
    ----------
    values : torch.Tensor
        (R, R) float64 losses; ``values[i, j]`` is the loss at (xs[j], ys[i]).
    extent : tuple[float, float, float, float]
        (x_min, x_max, y_min, y_max).
    label : int
        The class y whose loss L(z, y) was evaluated.
    name : str
        What the loss is, for titles (e.g. "MMC").
    """

    values: torch.Tensor
    extent: tuple[float, float, float, float]
    label: int
    name: str = "loss"

    @property
    def resolution(self) -> int:
        """The grid size R."""
        return self.values.shape[-1]

    @property
    def xs(self) -> torch.Tensor:
        """(R,) the grid's x coordinates (columns)."""
        return torch.linspace(self.extent[0], self.extent[1], self.resolution)

    @property
    def ys(self) -> torch.Tensor:
        """(R,) the grid's y coordinates (rows)."""
        return torch.linspace(self.extent[2], self.extent[3], self.resolution)


@torch.no_grad()
def loss_on_grid(
    loss: Objective | LossFn,
    extent: Sequence[float],
    resolution: int = 100,
    label: int = 0,
    *,
    name: str | None = None,
    chunk_size: int = 16_384,
) -> LossGrid:
    """Return the loss L(z, label) on a ``resolution`` x ``resolution`` grid over ``extent``.

    Parameters
    ----------
    loss : robviz.objectives.Objective or callable
        A robviz objective (its per-sample training loss, e.g. MMC: factor ||z - mu*_y||^2) or a
        callable ``(M, 2) features, (M,) labels -> (M,) losses`` such as :func:`gsce_loss` with its
        parameters bound.
    extent : tuple of float
        (x_min, x_max, y_min, y_max) of the feature plane.
    resolution : int
        R, points per side (>= 2).
    label : int
        The class y (an integer in [0, L)).
    name : str or None
        A name for titles; default: the objective's name, or "loss".
    chunk_size : int
        Grid points per call of the loss.

    Returns
    -------
    LossGrid
        :class:`LossGrid` with (R, R) float64 values.

    Raises
    ------
    ValueError
        A bad ``extent``, ``resolution`` < 2, ``label`` outside the objective's classes,
        ``chunk_size`` < 1.

    Examples
    --------
    >>> from robviz.objectives import MMC
    >>> grid = loss_on_grid(MMC(3, 2), (-12, 12, -12, 12), resolution=5, label=0)
    >>> grid.values.shape
    torch.Size([5, 5])
    """
    extent = checks.extent("extent", extent)
    resolution = checks.integer("resolution", resolution, low=2)
    label = checks.integer("label", label, low=0)
    chunk_size = checks.integer("chunk_size", chunk_size, low=1)
    loss_fn = per_sample_loss(loss)
    points = grid_points(extent, resolution)
    if isinstance(loss, Objective):
        if label >= loss.num_classes:
            raise ValueError(f"label must be < num_classes ({loss.num_classes}), got {label}")
        points = points.to(next(iter(loss.buffers()), points).device)
    values = torch.cat(
        [
            loss_fn(chunk, torch.full((len(chunk),), label, dtype=torch.long, device=chunk.device))
            .detach()
            .to(torch.float64)
            .cpu()
            for chunk in points.split(chunk_size)
        ]
    )
    name = name or (loss.name if isinstance(loss, Objective) else "loss")
    return LossGrid(values.reshape(resolution, resolution), extent, label, name)


def gsce_loss(
    z: torch.Tensor,
    y: torch.Tensor,
    centers: torch.Tensor,
    sigmas: float | torch.Tensor,
    offsets: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Return the generalized softmax cross-entropy (g-SCE) of every sample (ICLR 2020).

    With Sigma_i = sigma_i I.

        L_g-SCE(z, y) = -log softmax(h)_y,    h_i = -sigma_i ||z - mu_i||^2 + B_i.

    Plain SCE with a linear head (W z + b) is the case sigma_i = 1, mu_i = W_i / 2, B_i = b_i +
    ||W_i||^2 / 4 (the talk's identity); MMLDA is sigma_i = 1/2 on the Max-Mahalanobis centers. With
    equal sigma_i the loss depends on z only through differences of linear functions, so its
    contours are unbounded (hyperplanes far from the centers); with sigma_y != sigma_i they are
    approximately spheres (Theorem 1, ``robviz.theory.gsce_contour``).

    Parameters
    ----------
    z : torch.Tensor
        (M, d) features.
    y : torch.Tensor
        (M,) labels.
    centers : torch.Tensor
        (L, d) means mu.
    sigmas : float or torch.Tensor
        A float (shared) or (L,) scales sigma_i, each > 0.
    offsets : float or torch.Tensor or None
        None (zeros), a float or (L,) B_i.

    Returns
    -------
    torch.Tensor
        (M,) losses.

    Raises
    ------
    ValueError
        A scale not > 0 (sigma = 0 makes a class's logit constant, sigma < 0 turns its well into a
        hill: neither is g-SCE); ``y`` not one label in [0, L) per feature.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    centers = centers.to(z)
    num_classes = centers.shape[0]
    sigma = torch.as_tensor(sigmas, dtype=z.dtype, device=z.device).expand(num_classes)
    if not bool((sigma > 0).all()):
        raise ValueError(f"sigmas must be > 0, got {sigma.tolist()}")
    offset = (
        torch.zeros(num_classes, dtype=z.dtype, device=z.device)
        if offsets is None
        else torch.as_tensor(offsets, dtype=z.dtype, device=z.device).expand(num_classes)
    )
    h = -sigma * squared_distances(z, centers) + offset
    return cross_entropy_per_sample(h, y)


def _loss_and_gradient(
    loss_fn: LossFn, z: torch.Tensor, label: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        point = z.detach().clone().requires_grad_(True)
        value = loss_fn(point[None], label).sum()
        (gradient,) = torch.autograd.grad(value, point)
    return value.detach(), gradient


def trace_contour(
    loss: Objective | LossFn,
    label: int,
    start: torch.Tensor | Sequence[float],
    *,
    step: float = 0.1,
    max_steps: int = 200,
    extent: Sequence[float] | None = None,
    newton_steps: int = 3,
) -> torch.Tensor:
    """Return points along the contour {z : L(z, label) = L(start, label)} through ``start``.

    The contour lies in a 2-D feature plane.

    A predictor-corrector walk: move ``step`` along the tangent of the level set (the gradient
    turned by 90 degrees), then pull back onto the level with ``newton_steps`` Newton steps along
    the gradient, z <- z - (L(z) - L(start)) grad / ||grad||^2. It walks both ways from ``start``
    and stops at ``max_steps`` per side, when it leaves ``extent``, or where the gradient vanishes
    (a flat region has no contour).

    This is how the lesson moves a feature while the loss "does not notice": along an SCE contour
    the SCE loss stays put while the MMC loss changes (the "curse of softmax", ICLR 2020).

    Parameters
    ----------
    loss : robviz.objectives.Objective or callable
        A robviz objective or a per-sample callable ``(M, 2), (M,) -> (M,)`` (differentiable).
    label : int
        The class y.
    start : torch.Tensor
        (2,) a feature point.
    step : float
        Arc length per step.
    max_steps : int
        Steps per direction.
    extent : tuple of float or None
        (x_min, x_max, y_min, y_max) or None.
    newton_steps : int
        Corrections per step.

    Returns
    -------
    torch.Tensor
        (T, 2) float64 points ordered along the contour, ``start`` among them.

    Raises
    ------
    ValueError
        ``start`` not 2 finite numbers; ``label`` outside the objective's classes; ``step`` not
        > 0, ``max_steps`` < 1, a bad ``extent``.
    """
    # a float64 CPU copy: Newton steps need the precision; the caller's head stays
    max_steps = checks.integer("max_steps", max_steps, low=1)
    newton_steps = checks.integer("newton_steps", newton_steps, low=0)
    if isinstance(loss, Objective):
        loss = copy.deepcopy(loss).to("cpu", torch.float64)
        label = checks.integer("label", label, low=0, high=loss.num_classes - 1)
    loss_fn = per_sample_loss(loss)
    z0 = torch.as_tensor(start, dtype=torch.float64).detach().reshape(-1)
    if z0.numel() != 2:
        raise ValueError(
            f"trace_contour walks in a 2-D plane; start must have 2 entries, got {z0.numel()}"
        )
    if not bool(torch.isfinite(z0).all()):
        raise ValueError(f"start must be a finite point, got {z0.tolist()}")
    step = checks.real("step", step, low=0, low_open=True)
    bounds = None if extent is None else checks.extent("extent", extent)
    target = torch.tensor([label], dtype=torch.long)
    level, _ = _loss_and_gradient(loss_fn, z0, target)

    def inside(z: torch.Tensor) -> bool | torch.Tensor:  # a 0-d bool tensor within bounds
        return bounds is None or (bounds[0] <= z[0] <= bounds[1] and bounds[2] <= z[1] <= bounds[3])

    sides = []
    for direction in (1.0, -1.0):
        z, points = z0.clone(), []
        for _ in range(max_steps):
            _, gradient = _loss_and_gradient(loss_fn, z, target)
            norm = gradient.norm()
            if not torch.isfinite(norm) or norm < 1e-12:
                break
            z = z + direction * step * torch.stack([-gradient[1], gradient[0]]) / norm
            for _ in range(newton_steps):
                value, gradient = _loss_and_gradient(loss_fn, z, target)
                squared = gradient.pow(2).sum()
                if squared < 1e-24:
                    break
                z = z - (value - level) * gradient / squared
            if not inside(z):
                break
            points.append(z)
        sides.append(points)
    forward, backward = sides
    return torch.stack(backward[::-1] + [z0] + forward)


@dataclass
class DensityGrid:
    """Features per unit area on a grid over ``extent``: ``values`` is (S, R, R) for S frames.

    Or ``values`` is (R, R), without the frame axis.

    Cell (i, j) covers x in [x_min + j w, x_min + (j + 1) w), y likewise, with w = (x_max - x_min) /
    R.
    """

    values: torch.Tensor
    extent: tuple[float, float, float, float]


def feature_density(
    features: torch.Tensor, extent: Sequence[float], resolution: int = 40
) -> DensityGrid:
    """Return the empirical density of 2-D features: points per cell divided by the cell's area.

    A picture of the sample density SD = Delta N / Vol(Delta B) (ICLR 2020, Eq. 2) with square cells
    as the neighbourhoods Delta B. Points outside ``extent`` are not counted.

    Parameters
    ----------
    features : torch.Tensor
        (P, 2) or (S, P, 2) features (S frames, e.g. ``History.features``).
    extent : tuple of float
        (x_min, x_max, y_min, y_max), e.g. ``robviz.regions.feature_extent(features)``.
    resolution : int
        R cells per side.

    Returns
    -------
    DensityGrid
        :class:`DensityGrid` with values (R, R) or (S, R, R), float64, in points per unit area.

    Raises
    ------
    ValueError
        ``features`` not (P, 2) or (S, P, 2), with P = 0, or with a NaN or infinite coordinate (a
        point the histogram would drop, a density lower than measured; the error names the point
        index); a bad ``extent`` or ``resolution``.
    """
    features = checks.tensor_argument("features", features, "(P, 2) or (S, P, 2)")
    extent = checks.extent("extent", extent)
    resolution = checks.integer("resolution", resolution, low=1)
    z = torch.as_tensor(features).detach().to(torch.float64).cpu()
    if z.shape[-1] != 2 or z.dim() not in (2, 3):
        raise ValueError(f"features must have shape (P, 2) or (S, P, 2), got {tuple(z.shape)}")
    checks.finite_inputs("features", z if z.dim() == 2 else z.transpose(0, 1))
    frames = z[None] if z.dim() == 2 else z
    x_min, x_max, y_min, y_max = extent
    cell_area = (x_max - x_min) * (y_max - y_min) / resolution**2
    grids = []
    for points in frames:
        counts, _ = torch.histogramdd(
            points, bins=[resolution, resolution], range=[x_min, x_max, y_min, y_max]
        )
        grids.append(counts.T / cell_area)  # histogramdd bins (x, y); rows of a grid are y
    values = torch.stack(grids)
    return DensityGrid(values[0] if z.dim() == 2 else values, extent)
