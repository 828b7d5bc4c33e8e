"""ipywidgets dashboards for the Max-Mahalanobis theory.

Controls wired to "recompute, then redraw".
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from .. import checks
from ..centers import mm_centers
from ..theory import expected_robustness, robustness_bound
from ..viz.theory import centers_figure
from .base import Dashboard

__all__ = ["MMCentersExplorer"]


class MMCentersExplorer(Dashboard):
    """Pick the number of classes L, the feature dimension d and the norm C.

    The Max-Mahalanobis centers are recomputed (``robviz.centers.mm_centers``) and redrawn
    (``robviz.viz.theory.centers_figure``: 2-D or 3-D scatter; for d > 3 the pairwise distances
    ||mu_i - mu_j|| on a colour scale fixed to the largest C, so that moving C changes the picture,
    not only its title), with their robustness printed:

    * the smallest pairwise distance min ||mu_i - mu_j||;
    * RB_bar = (1/2) min ||mu_i - mu_j|| and RB = min E(d_ij) (ICML 2018, Theorem 1, identity
      covariance);
    * the simplex value (C/2) sqrt(2L/(L-1)), which only the exact simplex (d >= L - 1) reaches.

    Parameters
    ----------
    num_classes, feature_dim, norm
        The initial L, d and C (``dim``: the old name of ``feature_dim``).
    max_classes, max_feature_dim : int
        The sliders' upper ends.

    Attributes
    ----------
    widget
        The ipywidgets box (CSS class ``robviz-centers-explorer``); ``display(explorer)`` shows it.
    centers
        The last (L, d) centers.
    numbers
        A dict of the last printed values.

    """

    @checks.renamed(dim="feature_dim", max_dim="max_feature_dim")
    def __init__(
        self,
        num_classes: int = 3,
        feature_dim: int = 2,
        norm: float = 10.0,
        *,
        max_classes: int = 16,
        max_feature_dim: int = 16,
    ):
        max_classes = checks.integer("max_classes", max_classes, low=2)
        max_feature_dim = checks.integer("max_feature_dim", max_feature_dim, low=2)
        num_classes = checks.integer("num_classes", num_classes, low=2, high=max_classes)
        feature_dim = checks.integer("feature_dim", feature_dim, low=2, high=max_feature_dim)
        norm = checks.real("norm", norm, low=0.5, high=20.0)
        style = {"description_width": "initial"}
        self.num_classes = widgets.IntSlider(
            value=num_classes,
            min=2,
            max=max_classes,
            description="classes L",
            continuous_update=False,
            style=style,
        )
        self.feature_dim = widgets.IntSlider(
            value=feature_dim,
            min=2,
            max=max_feature_dim,
            description="dimension d",
            continuous_update=False,
            style=style,
        )
        self.norm = widgets.FloatSlider(
            value=norm,
            min=0.5,
            max=20.0,
            step=0.5,
            description="norm C",
            continuous_update=False,
            style=style,
        )
        self.centers: torch.Tensor | None = None
        self.numbers: dict = {}
        self._assemble([self.num_classes, self.feature_dim, self.norm], "robviz-centers-explorer")
        self.update()

    def compute(self) -> dict:
        """Recompute the centers and their robustness numbers for the current control values."""
        L, d, C = self.num_classes.value, self.feature_dim.value, float(self.norm.value)
        self.centers = mm_centers(L, d, C)
        bound = robustness_bound(self.centers)
        self.numbers = {
            "num_classes": L,
            "feature_dim": d,
            "norm": C,
            "construction": "exact simplex" if d >= L - 1 else "optimized fallback (d < L − 1)",
            "min_distance": 2 * bound,
            "rb_bar": bound,
            "rb": expected_robustness(self.centers),
            "simplex_rb_bar": 0.5 * C * math.sqrt(2 * L / (L - 1)),
        }
        return self.numbers

    def figure(self) -> go.Figure:
        """Return the centers figure of the current values."""
        assert self.centers is not None  # compute, which sets them, runs first
        n = self.numbers
        title = (
            f"{n['num_classes']} MM centers in d = {n['feature_dim']}, C = {n['norm']:g} "
            f"({n['construction']})"
        )
        # Distances, not cosines, for d > 3: cosines do not depend on C. One colour scale for every
        # C (the simplex edge at the largest C), so that a larger C reads as brighter cells.
        top = self.norm.max * math.sqrt(2 * n["num_classes"] / (n["num_classes"] - 1))
        return centers_figure(self.centers, title=title, matrix="distance", max_distance=top)

    def report(self) -> str:
        """Return the printed numbers, as HTML."""
        n = self.numbers
        share = n["rb_bar"] / n["simplex_rb_bar"]
        return (
            f"min ‖μ<sub>i</sub> − μ<sub>j</sub>‖ = <b>{n['min_distance']:.3f}</b> &nbsp;·&nbsp; "
            f"RB̄ = ½ min Δ = <b>{n['rb_bar']:.3f}</b> &nbsp;·&nbsp; RB = min E(d) = {n['rb']:.3f} "
            f"&nbsp;·&nbsp; simplex RB̄ = {n['simplex_rb_bar']:.3f} ({100 * share:.0f}% of it)"
        )
