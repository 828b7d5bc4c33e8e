"""The sample density of trained models, measured: training points per unit feature volume.

The points are counted in loss shells.

Definition (2) of T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu, "Rethinking Softmax Cross-Entropy
Loss for Adversarial Robustness", ICLR 2020: SD = Delta N / Vol(Delta B), with Delta B = {z : L(z,
y) in [C, C + dC]}.

* :func:`sample_density`: any robviz model, through its features and its own training loss;
* :func:`mmc_shell_density`: exact spherical MMC shells around given centers, any dimension;
* :func:`monte_carlo_shell_density`: any per-sample loss, shell volumes by Monte Carlo (d <= 3).

All return a :class:`SampleDensity`. The closed forms these measurements are compared with (Theorems
1 and 2) are in :mod:`robviz.theory.density`; this module measures, like ``robviz.detect`` and
``robviz.masking``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch

from . import checks
from .objectives import Objective, per_sample_loss
from .runtime import inference
from .theory._checks import as_centers, check_number
from .theory.density import _mmc_shell_log_volume

if TYPE_CHECKING:
    import numpy.typing as npt

    from .models import Classifier

__all__ = ["SampleDensity", "mmc_shell_density", "monte_carlo_shell_density", "sample_density"]


@dataclass
class SampleDensity:
    """Per class, the training points in loss shells [C_s, C_{s+1}] and the shells' volumes.

    The volumes are measured in feature space.

    Definition (2) of the ICLR 2020 paper: SD = Delta N / Vol(Delta B), with Delta B = {z : L(z, y)
    in [C, C + dC]}.

    Attributes
    ----------
    edges : torch.Tensor
        (L, S + 1) shell edges in loss value, per class (NaN rows for classes without two points
        of distinct loss: no shell to count in).
    counts : torch.Tensor
        (L, S) training points of each class in each shell (Delta N).
    log_volumes : torch.Tensor
        (L, S) log Vol(Delta B).
    log_densities : torch.Tensor
        (L, S) log SD = log(count) - log(volume); -inf for empty shells, NaN where the volume is
        unknown (a Monte-Carlo sample that missed the shell).
    class_sizes : torch.Tensor
        (L,) points per class (N_k).
    feature_dim : int
        The feature dimension d (``dim`` is its old name, kept for one release).
    method : str
        "sphere" (exact MMC shells) or "monte-carlo" (volume estimated inside ``box``).
    box : torch.Tensor or None
        (2, d) lower and upper corners of the Monte-Carlo box, or None.
    volume_hits : torch.Tensor or None
        (L, S) uniform samples that fell in each shell (Monte-Carlo only), or None.
    quantiles : tuple of 2 float or None
        The (low, high) loss quantiles between which the shells hold equal counts
        (``spacing="count"``): shell s of every such density holds the same share of its class's
        points, what :func:`robviz.viz.shell_density_figure` compares. None for shells of equal
        width or given edges.
    """

    edges: torch.Tensor
    counts: torch.Tensor
    log_volumes: torch.Tensor
    log_densities: torch.Tensor
    class_sizes: torch.Tensor
    feature_dim: int
    method: str
    box: torch.Tensor | None = None
    volume_hits: torch.Tensor | None = None
    quantiles: tuple[float, float] | None = None

    @property
    def dim(self) -> int:
        """The old name of :attr:`feature_dim`, for one release."""
        warnings.warn(
            "SampleDensity.dim is now SampleDensity.feature_dim (the vocabulary's name for d)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.feature_dim

    @property
    def midpoints(self) -> torch.Tensor:
        """(L, S) the middle loss value of each shell."""
        return 0.5 * (self.edges[:, :-1] + self.edges[:, 1:])

    @property
    def volumes(self) -> torch.Tensor:
        """(L, S) shell volumes (may overflow to inf in high dimension; prefer ``log_volumes``)."""
        return self.log_volumes.exp()

    @property
    def densities(self) -> torch.Tensor:
        """(L, S) SD = count / volume (may under/overflow in high dimension).

        Prefer ``log_densities``.
        """
        return self.log_densities.exp()


def _check_features(z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(z, torch.Tensor) or z.dim() != 2:
        raise ValueError(
            f"features z must be a tensor of shape (N, d), got {getattr(z, 'shape', type(z))}"
        )
    y = torch.as_tensor(y, device=z.device)
    if y.shape != (z.shape[0],) or y.is_floating_point() or (y < 0).any():
        raise ValueError(f"labels y must be non-negative integers of shape ({z.shape[0]},)")
    # No point has no density, and a NaN feature has a NaN loss that turns every edge into NaN.
    checks.finite_inputs("z", z)
    return z.detach(), y.long()


def _shell_edges(
    loss: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    num_shells: int,
    edges: torch.Tensor | None,
    quantiles: tuple[float, float],
    spacing: str,
) -> torch.Tensor:
    """Return (L, S + 1) shell edges: the given ones, or ``num_shells`` shells per class.

    Per class, the shells lie between two loss quantiles.

    Of equal counts (``spacing="count"``, falling back to equal widths where ties make edges repeat)
    or equal widths.
    """
    if spacing not in ("count", "width"):
        raise ValueError(f"spacing must be 'count' or 'width', got {spacing!r}")
    if edges is not None:
        edges = torch.as_tensor(edges, dtype=torch.float64).cpu()
        edges = edges.expand(num_classes, -1) if edges.dim() == 1 else edges
        if edges.shape[0] != num_classes or edges.shape[1] < 2 or not (edges.diff(dim=1) > 0).all():
            raise ValueError(
                f"edges must be increasing, of shape (S + 1,) or ({num_classes}, S + 1) with S >= 1"
            )
        return edges.clone()
    num_shells = checks.integer("num_shells", num_shells, low=1)
    lo_q, hi_q = quantiles
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {quantiles!r}")
    levels = torch.linspace(lo_q, hi_q, num_shells + 1, dtype=torch.float64)
    rows = torch.full((num_classes, num_shells + 1), math.nan, dtype=torch.float64)
    for c in range(num_classes):
        values = loss[y == c]
        if values.numel() < 2:
            continue
        row = torch.quantile(values, levels)
        if spacing == "width" or not (row.diff() > 0).all():
            row = torch.linspace(float(row[0]), float(row[-1]), num_shells + 1, dtype=torch.float64)
        if row[-1] > row[0]:
            rows[c] = row
    if torch.isnan(rows).all():  # a density of NaNs only, measured nowhere: refuse it
        raise ValueError(
            "no class has two points of distinct loss between the quantiles "
            f"{quantiles!r}: no shell to count in (all features identical per class, or one point "
            "per class?); give more points, or edges"
        )
    return rows


def _matched_quantiles(
    edges: torch.Tensor | None, quantiles: tuple[float, float], spacing: str
) -> tuple[float, float] | None:
    """Return the quantiles a density records: those of equal-count shells, else None."""
    if edges is not None or spacing != "count":
        return None
    return (float(quantiles[0]), float(quantiles[1]))


def _histogram(values: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    if torch.isnan(edges).any() or values.numel() == 0:
        return torch.zeros(edges.numel() - 1, dtype=torch.long)
    return torch.histogram(values, bins=edges).hist.long()


def _class_counts(loss: torch.Tensor, y: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    return torch.stack([_histogram(loss[y == c], edges[c]) for c in range(edges.shape[0])])


def _log_density(counts: torch.Tensor, log_volumes: torch.Tensor) -> torch.Tensor:
    log_density = torch.log(counts.to(torch.float64)) - log_volumes
    unknown = torch.isnan(log_volumes) | torch.isneginf(log_volumes)
    return torch.where(unknown, torch.full_like(log_density, math.nan), log_density)


def mmc_shell_density(
    z: torch.Tensor,
    y: torch.Tensor,
    centers: torch.Tensor | npt.ArrayLike,
    *,
    factor: float = 0.5,
    num_shells: int = 20,
    edges: torch.Tensor | None = None,
    quantiles: tuple[float, float] = (0.02, 0.98),
    spacing: str = "count",
) -> SampleDensity:
    """Empirical sample density in exact spherical loss shells around each center.

    Eq. 2 of the ICLR 2020 paper.

    For every point the loss is L = factor ||z - mu_y||^2 (the MMC loss); per class the points with
    L in [C_s, C_{s+1}] are counted and divided by the shell's exact volume
    (:func:`robviz.theory.mmc_shell_log_volume`), in log-space, so any dimension works (2-D toys,
    the 64-d features of the digits/MNIST CNN, 256-d ResNets). With other centers, e.g. the class
    means of an SCE model's features, it measures how densely that model packs its features around
    them in the same units.

    Parameters
    ----------
    z : torch.Tensor
        (N, d) features.
    y : torch.Tensor
        (N,) labels.
    centers : torch.Tensor
        (L, d) class centers.
    factor : float
        The loss factor (paper 1/2).
    num_shells : int
        S shells per class between the class's loss ``quantiles`` (used when ``edges`` is None):
        with ``spacing="count"`` each holds about the same number of points (trained models put most
        points at tiny losses, so equal widths would leave most shells nearly empty);
        ``spacing="width"``: equal widths.
    edges : torch.Tensor or None
        (S + 1,) or (L, S + 1) increasing loss values to use instead.

    Returns
    -------
    SampleDensity
        :class:`SampleDensity` with ``method="sphere"``.

    Raises
    ------
    ValueError
        ``z`` not (N, d), empty or with a NaN or infinite value (naming the sample); ``y`` not one
        label in [0, L) per feature; centers of another dimension; ``factor`` not > 0; bad
        ``num_shells``, ``edges``, ``quantiles`` or ``spacing``; no class with two points of
        distinct loss (no shell to count in).
    """
    num_shells = checks.integer("num_shells", num_shells, low=1)
    z = checks.tensor_argument("z", z, "(N, d)")
    z, y = _check_features(z, y)
    mu = as_centers(centers).to(z.device)
    if mu.shape[1] != z.shape[1]:
        raise ValueError(f"centers have dimension {mu.shape[1]} but the features have {z.shape[1]}")
    y = checks.labels("y", y, len(z), num_classes=mu.shape[0])  # one class per center
    factor = check_number(factor, "factor")
    loss = (factor * (z.to(torch.float64) - mu[y]).pow(2).sum(dim=1)).cpu()
    y = y.cpu()
    matched = _matched_quantiles(edges, quantiles, spacing)
    edges = _shell_edges(loss, y, mu.shape[0], num_shells, edges, quantiles, spacing)
    counts = _class_counts(loss, y, edges)
    log_volumes = _mmc_shell_log_volume(edges[:, :-1], edges[:, 1:], z.shape[1], factor)
    return SampleDensity(
        edges,
        counts,
        log_volumes,
        _log_density(counts, log_volumes),
        torch.bincount(y, minlength=mu.shape[0]),
        z.shape[1],
        "sphere",
        quantiles=matched,
    )


def _feature_box(z: torch.Tensor, margin: float) -> torch.Tensor:
    low, high = z.min(dim=0).values, z.max(dim=0).values
    pad = margin * (high - low).clamp_min(1e-6)
    return torch.stack([low - pad, high + pad])


def monte_carlo_shell_density(
    z: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    num_classes: int | None = None,
    num_shells: int = 20,
    edges: torch.Tensor | None = None,
    quantiles: tuple[float, float] = (0.02, 0.98),
    spacing: str = "count",
    num_samples: int = 200_000,
    box: torch.Tensor | None = None,
    margin: float = 0.1,
    seed: int = 0,
    chunk_size: int = 65_536,
) -> SampleDensity:
    """Empirical sample density for any loss, with shell volumes estimated by Monte Carlo.

    Eq. 2 of the ICLR 2020 paper.

    The shells {z : L(z, y) in [C_s, C_{s+1}]} of a softmax loss are not spheres, and for a linear
    (SCE) head they are unbounded: they stretch along the decision boundaries. The volume is
    therefore measured inside a box, by default the features' bounding box widened by ``margin``
    times its size on each side:

        Vol(Delta B ∩ box)
            ~ Vol(box) * #{uniform samples u in box with L(u, y) in the shell} / num_samples,

    and only the training points inside the box are counted. Monte Carlo needs few dimensions: d <=
    3.

    Parameters
    ----------
    z : torch.Tensor
        (N, d) features, d <= 3.
    y : torch.Tensor
        (N,) labels.
    loss_fn : Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
        Per-sample loss, (M, d) features and (M,) labels -> (M,) losses (e.g.
        :func:`robviz.objectives.per_sample_loss` with ``float64=True``).
    num_classes : int or None
        L (default: max label + 1).
    num_shells, edges, quantiles, spacing
        As in :func:`mmc_shell_density`.
    num_samples : int
        Uniform samples for the volumes.
    box : torch.Tensor or None
        (2, d) lower and upper corners, or None.
    margin : float
        Widening of the default box.
    seed : int
        The sampler's seed.
    chunk_size : int
        Samples per ``loss_fn`` call.

    Returns
    -------
    SampleDensity
        :class:`SampleDensity` with ``method="monte-carlo"``, its ``box`` and ``volume_hits``.

    Raises
    ------
    ValueError
        ``z`` not (N, d) with d <= 3, empty or with a NaN or infinite value (naming the sample);
        ``y`` not one label in [0, L) per feature; ``num_samples`` or ``chunk_size`` < 1,
        ``margin`` < 0, a box without lower < upper; bad ``num_shells``, ``edges``, ``quantiles``
        or ``spacing``; no class with two points of distinct loss (no shell to count in).
    """
    num_shells = checks.integer("num_shells", num_shells, low=1)
    num_samples = checks.integer("num_samples", num_samples, low=1)
    chunk_size = checks.integer("chunk_size", chunk_size, low=1)
    num_classes = checks.integer("num_classes", num_classes, low=2, allow_none=True)
    seed = checks.seed("seed", seed)
    z = checks.tensor_argument("z", z, "(N, d)")
    z, y = _check_features(z, y)
    dim = z.shape[1]
    if dim > 3:
        raise ValueError(
            f"Monte-Carlo shell volumes need d <= 3 (got d={dim}); in higher dimension use "
            "mmc_shell_density (exact spherical shells) for MMC features"
        )
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    num_classes = checks.integer("num_classes", num_classes, low=2)
    y = checks.labels("y", y, len(z), num_classes=num_classes)
    box = (
        _feature_box(z.to(torch.float64), checks.real("margin", margin, low=0))
        if box is None
        else torch.as_tensor(box, dtype=torch.float64, device=z.device)
    )
    if box.shape != (2, dim) or not (box[1] > box[0]).all():
        raise ValueError(f"box must be (2, {dim}) lower and upper corners with lower < upper")
    inside = ((z >= box[0]) & (z <= box[1])).all(dim=1)
    loss = loss_fn(z[inside], y[inside]).detach().to(torch.float64).cpu()
    y_in = y[inside].cpu()
    matched = _matched_quantiles(edges, quantiles, spacing)
    edges = _shell_edges(loss, y_in, num_classes, num_shells, edges, quantiles, spacing)
    counts = _class_counts(loss, y_in, edges)
    hits = _monte_carlo_hits(loss_fn, box, edges, num_samples, seed, chunk_size, z.dtype)
    log_box = float(torch.log(box[1] - box[0]).sum())
    log_volumes = torch.log(hits.to(torch.float64)) - math.log(num_samples) + log_box
    return SampleDensity(
        edges,
        counts,
        log_volumes,
        _log_density(counts, log_volumes),
        torch.bincount(y.cpu(), minlength=num_classes),
        dim,
        "monte-carlo",
        box=box.cpu(),
        volume_hits=hits,
        quantiles=matched,
    )


def _monte_carlo_hits(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    box: torch.Tensor,
    edges: torch.Tensor,
    num_samples: int,
    seed: int,
    chunk_size: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(num_samples, box.shape[1], generator=generator, dtype=torch.float64).to(
        box.device
    )
    u = (box[0] + (box[1] - box[0]) * u).to(dtype)
    hits = torch.zeros(edges.shape[0], edges.shape[1] - 1, dtype=torch.long)
    for c in range(edges.shape[0]):
        for chunk in u.split(chunk_size):
            label = torch.full((chunk.shape[0],), c, dtype=torch.long, device=chunk.device)
            hits[c] += _histogram(loss_fn(chunk, label).detach().to(torch.float64).cpu(), edges[c])
    return hits


def sample_density(
    model: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    num_shells: int = 20,
    edges: torch.Tensor | None = None,
    quantiles: tuple[float, float] = (0.02, 0.98),
    spacing: str = "count",
    num_samples: int = 200_000,
    box: torch.Tensor | None = None,
    margin: float = 0.1,
    seed: int = 0,
    batch_size: int = 1024,
) -> SampleDensity:
    """Empirical sample density SD = Delta N / Vol(Delta B) of a trained robviz model.

    Eq. 2 of the ICLR 2020 paper.

    Computes the features z = model.features(x) (in eval mode) and counts, per class, the training
    points whose loss lies in each shell [C_s, C_{s+1}] of the model's own training loss:

    * a head whose loss is factor ||z - mu_y||^2 (``objective.spherical_loss()`` gives the centers
      and the factor; MMC): exact spherical shells around the centers (:func:`mmc_shell_density`),
      any d;
    * every other objective (``spherical_loss()`` is None: SCE, center loss, L-GM, MMLDA, RCE):
      Monte-Carlo volumes inside the features' bounding box (:func:`monte_carlo_shell_density`),
      for 2-D or 3-D features.

    Parameters
    ----------
    model : torch.nn.Module
        A ``robviz.models.Classifier``.
    x : torch.Tensor
        (N, ...) training inputs.
    y : torch.Tensor
        (N,) labels.
    num_shells, edges, quantiles, spacing
        The shells (see :func:`mmc_shell_density`).
    num_samples, box, margin, seed
        The Monte-Carlo volumes (ignored for a spherical loss).
    batch_size : int
        Inputs per forward pass.

    Returns
    -------
    SampleDensity
        :class:`SampleDensity`.

    Raises
    ------
    ValueError
        What :func:`mmc_shell_density` or :func:`monte_carlo_shell_density` refuses.
    """
    checks.model("model", model, needs=("objective",))
    num_samples = checks.integer("num_samples", num_samples, low=1)
    batch_size = checks.integer("batch_size", batch_size, low=1)
    seed = checks.seed("seed", seed)
    objective = model.objective
    checks.finite_inputs("x", x, tensor=True)
    z = inference(model, x, method="features", batch_size=batch_size)
    # only an Objective declares a spherical loss (a head of another kind goes to per_sample_loss)
    spherical = objective.spherical_loss() if isinstance(objective, Objective) else None
    if spherical is not None:
        centers, factor = spherical
        return mmc_shell_density(
            z,
            y,
            centers,
            factor=factor,
            num_shells=num_shells,
            edges=edges,
            quantiles=quantiles,
            spacing=spacing,
        )
    loss_fn = per_sample_loss(objective, float64=True)
    return monte_carlo_shell_density(
        z,
        y,
        loss_fn,
        num_classes=objective.num_classes,
        num_shells=num_shells,
        edges=edges,
        quantiles=quantiles,
        spacing=spacing,
        num_samples=num_samples,
        box=box,
        margin=margin,
        seed=seed,
    )
