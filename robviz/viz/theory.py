"""Pictures of the Max-Mahalanobis theory: the centers and the robustness they give.

Builders only: each takes tensors or arrays that ``robviz.centers`` and ``robviz.theory`` computed
and returns a plotly Figure (template "robviz", colour-blind-safe colours, a title and labelled
axes). Coordinates travel as float32 NumPy arrays, which plotly stores as compact typed arrays. The
pictures of the ICLR 2020 paper (loss contours, sample density, convergence) are in
:mod:`robviz.viz.density`.

Paper: T. Pang, C. Du, J. Zhu, "Max-Mahalanobis Linear Discriminant Analysis Networks", ICML 2018
(centers, Theorem 1 on robustness).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .. import checks
from ..theory.robustness import mahalanobis_distances, robustness_bound
from .inputs import figure_values
from .style import INK, class_color, fit_layout, plot_array, series_color

__all__ = ["centers_figure", "expected_distance_figure", "robustness_comparison_figure"]


# ------------------------------------------------------------------------------------------ centers


#: The range of a distance, an expected distance or a standard error: [0, inf).
_HALF = (0.0, math.inf)


def _closest_pairs(points: np.ndarray, tolerance: float = 1e-3) -> list[tuple[int, int]]:
    """Return the index pairs at the smallest pairwise distance: the pairs that set RB.

    Pairs within a relative ``tolerance`` of the smallest distance count.
    """
    distances = mahalanobis_distances(points).numpy()
    smallest = 2 * robustness_bound(points)
    return [
        (i, j)
        for i in range(len(points))
        for j in range(i + 1, len(points))
        if distances[i, j] <= smallest * (1 + tolerance)
    ]


def _edge_coordinates(points: np.ndarray, pairs: list[tuple[int, int]]) -> list[np.ndarray]:
    """Return one array per coordinate with the segments of ``pairs``, separated by NaN.

    One trace then draws all edges.
    """
    columns = []
    for axis in range(points.shape[1]):
        values = []
        for i, j in pairs:
            values += [points[i, axis], points[j, axis], np.nan]
        columns.append(np.asarray(values, dtype=np.float32))
    return columns


def _center_summary(points: np.ndarray) -> str:
    smallest = 2 * robustness_bound(points)
    return f"min ‖μ<sub>i</sub> − μ<sub>j</sub>‖ = {smallest:.2f}"


def centers_figure(
    centers: npt.ArrayLike,
    *,
    title: str | None = None,
    show_sphere: bool = True,
    matrix: str = "cosine",
    max_distance: float | None = None,
) -> go.Figure:
    """Draw class centers mu (L, d) as a picture.

    2-D scatter (d <= 2), 3-D scatter (d = 3), or the matrix of pairwise cosines (d > 3).

    In 2-D and 3-D, lines join the pairs at the smallest pairwise distance (the pairs that decide
    the robustness bound RB_bar = min_ij ||mu_i - mu_j|| / 2, ICML 2018): for Max-Mahalanobis
    centers with d >= L - 1 every pair, a regular simplex; for the optimized fallback (d < L - 1)
    only the neighbours. The circle (sphere) of radius C = the mean center norm is drawn for
    reference. In 3-D an orthographic camera looks from the direction (of a grid of views 15 to 45
    degrees above the z₁z₂ plane) that puts the centers furthest apart on the screen, so no two
    labels fall on each other (up to 16 centers: at least 0.3 C apart). For d > 3 the heatmap shows
    cos(mu_i, mu_j), which is -1/(L - 1) off the diagonal for the exact simplex.

    Parameters
    ----------
    centers : torch.Tensor or np.ndarray
        (L, d) tensor or array.
    title : str or None
        The figure title (default: L, d, C and the smallest distance).
    show_sphere : bool
        Draw the circle / sphere of radius C in 2-D / 3-D.
    matrix : str
        For d > 3, ``"cosine"`` (cos(mu_i, mu_j), independent of C) or ``"distance"`` (||mu_i -
        mu_j||, which grows with C: what an explorer with a C control should show).
    max_distance : float or None
        The top of the distance colour scale (default: the largest distance), fixed so that the
        colours follow C.

    Returns
    -------
    go.Figure
        A plotly Figure.

    Raises
    ------
    ValueError
        Centers that are not (L, d) with L >= 2, or have a NaN or infinite coordinate (naming the
        center), an unknown ``matrix``, a center at the origin with ``matrix="cosine"`` (d > 3:
        its cosines have no value), or a ``max_distance`` not a finite number > 0.
    """
    show_sphere = checks.flag("show_sphere", show_sphere)
    max_distance = checks.real("max_distance", max_distance, low=0, low_open=True, allow_none=True)
    mu = figure_values("centers", centers)
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"centers must have shape (L, d) with L >= 2, got {mu.shape}")
    num_classes, dim = mu.shape
    norm = float(np.linalg.norm(mu, axis=1).mean())
    title = title or f"{num_classes} centers in d = {dim}, C = {norm:.3g}: {_center_summary(mu)}"
    if dim > 3:
        if matrix == "distance":
            return _distance_heatmap(mu, title, max_distance)
        if matrix != "cosine":
            raise ValueError(f"matrix must be 'cosine' or 'distance', got {matrix!r}")
        origin = np.flatnonzero(~np.linalg.norm(mu, axis=1).astype(bool)).tolist()
        if origin:  # its cosines are 0/0: NaN cells, drawn blank
            raise ValueError(
                f"centers at index {origin} lie at the origin, where a cosine has no value; "
                f"draw matrix='distance' instead"
            )
        return _cosine_heatmap(mu, title)
    if dim == 1:
        mu = np.concatenate([mu, np.zeros_like(mu)], axis=1)
    pairs = _closest_pairs(mu)
    if mu.shape[1] == 2:
        return _centers_2d(mu, pairs, norm, title, show_sphere and dim == 2)
    return _centers_3d(mu, pairs, norm, title, show_sphere)


def _centers_2d(
    mu: np.ndarray, pairs: list[tuple[int, int]], norm: float, title: str, show_circle: bool
) -> go.Figure:
    fig = go.Figure()
    if show_circle:
        angle = np.linspace(0, 2 * np.pi, 121)
        fig.add_trace(
            go.Scatter(
                x=plot_array(norm * np.cos(angle)),
                y=plot_array(norm * np.sin(angle)),
                mode="lines",
                name=f"‖z‖ = C = {norm:.3g}",
                hoverinfo="skip",
                line=dict(color="#BBBBBB", width=1, dash="dot"),
            )
        )
    ex, ey = _edge_coordinates(mu, pairs)
    fig.add_trace(
        go.Scatter(
            x=ex,
            y=ey,
            mode="lines",
            name="closest pairs",
            hoverinfo="skip",
            line=dict(color=INK, width=1.5),
        )
    )
    for k, point in enumerate(mu):
        fig.add_trace(
            go.Scatter(
                x=plot_array(point[:1]),
                y=plot_array(point[1:2]),
                mode="markers+text",
                text=[f"μ{k}"],
                textposition="top center",
                name=f"class {k}",
                showlegend=False,
                # the label μk names the center: past 10 classes the colours repeat
                marker=dict(
                    size=13, color=class_color(k, cycle=True), line=dict(width=1, color="white")
                ),
            )
        )
    # every center at the origin: a unit range, not the empty range [0, 0]
    reach = 1.25 * max(norm, float(np.abs(mu).max())) or 1.0
    fig.update_layout(
        xaxis=dict(title="z₁", range=[-reach, reach], constrain="domain"),
        yaxis=dict(title="z₂", range=[-reach, reach], scaleanchor="x"),
    )
    return fit_layout(fig, height=400, width=620, title=title, legend_rows="auto")


#: The camera directions the 3-D centers figure chooses from: elevations (degrees above the z₁z₂
#: plane, plotly's default view is at 35) and azimuths, every 5 degrees.
_ELEVATIONS, _AZIMUTHS = np.radians(np.arange(15, 50, 5)), np.radians(np.arange(0, 360, 5))
#: plotly's default distance of the camera from the scene's center (its default eye is (1.25, 1.25,
#: 1.25)); with an orthographic camera it sets the zoom, so the figure keeps plotly's default size.
_EYE_DISTANCE = 1.25 * math.sqrt(3)


def _screen(points: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Return the (N, 2) screen positions of (N, 3) ``points`` seen along the unit ``direction``.

    ``direction`` points from the scene's center to the camera, an orthographic camera whose up is
    z₃.
    """
    right = np.cross([0.0, 0.0, 1.0], direction)
    right /= np.linalg.norm(right)
    return np.stack([points @ right, points @ np.cross(direction, right)], axis=1)


def _clear_view(mu: np.ndarray) -> np.ndarray:
    """Return the unit camera direction that puts the (L, 3) centers furthest apart on the screen.

    One of :data:`_ELEVATIONS` x :data:`_AZIMUTHS`, the one with the largest smallest pairwise
    distance: from plotly's default eye, centers in front of and behind the sphere can fall on one
    spot, and their labels on each other (10 centers in d = 3: 0.24 C apart, orthographic; this
    view: 0.52 C).
    """
    elevation, azimuth = (a.ravel() for a in np.meshgrid(_ELEVATIONS, _AZIMUTHS))
    directions = np.stack(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ],
        axis=1,
    )
    upper = np.triu_indices(len(mu), 1)

    def smallest_gap(direction: np.ndarray) -> float:
        screen = _screen(mu, direction)
        return np.linalg.norm(screen[:, None] - screen[None], axis=2)[upper].min()

    return directions[int(np.argmax([smallest_gap(d) for d in directions]))]


def _centers_3d(
    mu: np.ndarray, pairs: list[tuple[int, int]], norm: float, title: str, show_sphere: bool
) -> go.Figure:
    fig = go.Figure()
    if show_sphere:
        u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
        fig.add_trace(
            go.Surface(
                x=plot_array(norm * np.cos(u) * np.sin(v)),
                y=plot_array(norm * np.sin(u) * np.sin(v)),
                z=plot_array(norm * np.cos(v)),
                opacity=0.12,
                showscale=False,
                hoverinfo="skip",
                colorscale=[[0, "#BBBBBB"], [1, "#BBBBBB"]],
                name=f"‖z‖ = C = {norm:.3g}",
            )
        )
    ex, ey, ez = _edge_coordinates(mu, pairs)
    fig.add_trace(
        go.Scatter3d(
            x=ex,
            y=ey,
            z=ez,
            mode="lines",
            name="closest pairs",
            hoverinfo="skip",
            line=dict(color=INK, width=3),
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=plot_array(mu[:, 0]),
            y=plot_array(mu[:, 1]),
            z=plot_array(mu[:, 2]),
            mode="markers+text",
            text=[f"μ{k}" for k in range(len(mu))],
            name="centers",
            # each center is labelled μk beside it; a legend entry would show one class's colour
            # for all of them (the 2-D figure has none either)
            showlegend=False,
            marker=dict(size=6, color=[class_color(k, cycle=True) for k in range(len(mu))]),
        )
    )
    reach = 1.2 * max(norm, float(np.abs(mu).max()))
    axis = dict(range=[-reach, reach])
    # An orthographic camera from the direction that keeps the centers (and their labels) apart on
    # the screen; equal edges of a simplex look equal, whatever their depth.
    eye = _EYE_DISTANCE * _clear_view(mu)
    camera = dict(
        eye=dict(x=float(eye[0]), y=float(eye[1]), z=float(eye[2])),
        up=dict(x=0, y=0, z=1),
        center=dict(x=0, y=0, z=0),
        projection=dict(type="orthographic"),
    )
    fig.update_layout(
        scene=dict(
            xaxis=dict(title="z₁", **axis),
            yaxis=dict(title="z₂", **axis),
            zaxis=dict(title="z₃", **axis),
            aspectmode="cube",
            camera=camera,
        )
    )
    return fit_layout(fig, height=440, width=660, title=title, legend_rows="auto", bottom=10)


def _cosine_heatmap(mu: np.ndarray, title: str) -> go.Figure:
    unit = mu / np.linalg.norm(mu, axis=1, keepdims=True)
    cosines = unit @ unit.T
    labels = [f"μ{k}" for k in range(len(mu))]
    show_text = len(mu) <= 12
    fig = go.Figure(
        go.Heatmap(
            z=plot_array(cosines),
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            colorbar=dict(title="cos"),
            texttemplate="%{z:.3f}" if show_text else None,
            hovertemplate="cos(%{y}, %{x}) = %{z:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="center j", constrain="domain"),
        yaxis=dict(title="center i", autorange="reversed", scaleanchor="x"),
    )
    return fit_layout(fig, height=420, width=620, title=title)


def _distance_heatmap(mu: np.ndarray, title: str, max_distance: float | None) -> go.Figure:
    distances = mahalanobis_distances(mu).numpy()
    labels = [f"μ{k}" for k in range(len(mu))]
    show_text = len(mu) <= 12
    top = float(max_distance) if max_distance is not None else float(distances.max()) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=plot_array(distances),
            x=labels,
            y=labels,
            zmin=0,
            zmax=top,
            colorscale="Viridis",
            colorbar=dict(title=dict(text="‖μ<sub>i</sub> − μ<sub>j</sub>‖", side="right")),
            texttemplate="%{z:.2f}" if show_text else None,
            hovertemplate="‖%{y} − %{x}‖ = %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(title="center j", constrain="domain"),
        yaxis=dict(title="center i", autorange="reversed", scaleanchor="x"),
    )
    return fit_layout(fig, height=420, width=620, title=title)


# --------------------------------------------------------------------------------------- robustness


def expected_distance_figure(
    deltas: npt.ArrayLike,
    formula_values: npt.ArrayLike,
    mc_means: npt.ArrayLike | None = None,
    mc_errors: npt.ArrayLike | None = None,
    *,
    mc_deltas: npt.ArrayLike | None = None,
    num_errors: float = 3.0,
    title: str | None = None,
) -> go.Figure:
    """Plot E(d_ij) against the Mahalanobis distance Delta_ij (ICML 2018, Theorem 1).

    Monte-Carlo points are drawn over the curve.

    E(d) = sqrt(2/pi) exp(-Delta^2/8) + (Delta/2) [1 - 2 Phi(-Delta/2)]
    (``robviz.theory.expected_distance``) as a line; the approximation RB_bar = Delta/2 dashed
    beneath it; Monte-Carlo means (``robviz.theory.monte_carlo_expected_distance``) as markers with
    error bars of ``num_errors`` standard errors.

    Parameters
    ----------
    deltas : sequence of float
        (K,) Delta values of the curve.
    formula_values : sequence of float
        (K,) E(d) at ``deltas``.
    mc_means, mc_errors
        (M,) Monte-Carlo means and standard errors, or None.
    mc_deltas : sequence of float or None
        (M,) where the Monte-Carlo points lie (default: ``deltas``).
    num_errors : float
        The half-width of the error bars in standard errors.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        An empty curve, arrays of different lengths, a NaN or infinite value or a negative one
        (naming the argument and the index), a ``num_errors`` not a finite number >= 0, or
        ``mc_errors`` or ``mc_deltas`` without ``mc_means``.
    """
    # Delta is a distance, E(d) and a standard error >= 0: a negative one is a mixed-up argument
    count = len(figure_values("deltas", deltas, within=_HALF))
    if count != len(figure_values("formula_values", formula_values, within=_HALF)):
        raise ValueError("deltas and formula_values must have one value each per point")
    num_errors = checks.real("num_errors", num_errors, low=0)
    if mc_means is None and (mc_errors is not None or mc_deltas is not None):
        raise ValueError(
            "mc_errors and mc_deltas describe Monte-Carlo points: pass mc_means with them"
        )
    if mc_means is not None:
        count = len(figure_values("mc_means", mc_means, within=_HALF))
        where = deltas if mc_deltas is None else mc_deltas
        named = "deltas" if mc_deltas is None else "mc_deltas"
        places = len(figure_values(named, where, within=_HALF))
        if places != count:
            raise ValueError(f"mc_means has {count} values for {places} {named}")
        spread = None if mc_errors is None else figure_values("mc_errors", mc_errors, within=_HALF)
        if spread is not None and len(spread) != count:
            raise ValueError(f"mc_errors must have one value per mc_means value ({count})")
    delta = plot_array(deltas)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=delta,
            y=plot_array(formula_values),
            mode="lines",
            name="Theorem 1: E(d)",
            line=dict(color=series_color(0), width=3),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=delta,
            y=delta / 2,
            mode="lines",
            name="Δ/2 (the bound RB̄)",
            line=dict(color=series_color(6), width=1.5, dash="dash"),
        )
    )
    if mc_means is not None:
        where = delta if mc_deltas is None else plot_array(mc_deltas)
        errors = (
            None
            if mc_errors is None
            else dict(
                type="data", array=num_errors * plot_array(mc_errors), visible=True, thickness=1.5
            )
        )
        fig.add_trace(
            go.Scatter(
                x=where,
                y=plot_array(mc_means),
                mode="markers",
                error_y=errors,
                name=f"Monte Carlo (± {num_errors:g} s.e.)",
                marker=dict(color=series_color(1), size=9, symbol="diamond"),
            )
        )
    fig.update_layout(
        xaxis=dict(title="Mahalanobis distance Δ between two centers"),
        yaxis=dict(title="expected distance E(d) to the boundary"),
    )
    return fit_layout(
        fig,
        height=320,
        legend_rows="auto",
        title=title
        or "Expected distance to the decision boundary grows with the Mahalanobis distance",
    )


def robustness_comparison_figure(
    random_bounds: npt.ArrayLike,
    mm_bound: float,
    *,
    upper_bound: float | None = None,
    title: str | None = None,
    label: str = "random centers",
) -> go.Figure:
    """Plot the histogram of the robustness bound RB_bar for random centers of norm C.

    RB_bar = min_ij ||mu_i - mu_j|| / 2.

    With a line at the Max-Mahalanobis centers' value (ICML 2018: the MMD maximizes RB_bar).

    Parameters
    ----------
    random_bounds : sequence of float
        (K,) RB_bar of K random center sets.
    mm_bound : float
        RB_bar of the MM centers.
    upper_bound : float or None
        An optional second line, e.g. the simplex value (C/2) sqrt(2L/(L-1)).
    label : str
        The histogram's legend entry.
    title : str or None
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No random bound, or a NaN, infinite or negative bound (naming the argument and the
        index).
    """
    # RB_bar is half a distance, >= 0: the x axis starts at 0 and would hide a negative one
    values = plot_array(figure_values("random_bounds", random_bounds, within=_HALF))
    mm_bound = checks.real("mm_bound", mm_bound, low=0)
    upper_bound = checks.real("upper_bound", upper_bound, low=0, allow_none=True)
    fig = go.Figure(
        go.Histogram(
            x=values, nbinsx=40, name=label, marker=dict(color=series_color(5)), opacity=0.85
        )
    )
    fig.add_vline(
        x=float(mm_bound),
        line=dict(color=series_color(1), width=3),
        opacity=1,
        annotation_text=f"MM centers: {mm_bound:.3f}",
        annotation_position="top left",
    )
    if upper_bound is not None and not math.isclose(upper_bound, mm_bound, rel_tol=1e-4):
        fig.add_vline(
            x=float(upper_bound),
            line=dict(color=INK, width=1.5, dash="dash"),
            opacity=1,
            annotation_text=f"simplex: {upper_bound:.3f}",
            annotation_position="bottom left",
        )
    # all bounds 0 (coinciding centers): a unit range, not the empty range [0, 0]
    right = 1.08 * max(float(values.max()), float(mm_bound), float(upper_bound or 0.0)) or 1.0
    fig.update_layout(
        showlegend=True,
        xaxis=dict(title="RB̄ = ½ min ‖μ<sub>i</sub> − μ<sub>j</sub>‖", range=[0, right]),
        yaxis=dict(title="number of center sets"),
    )
    return fit_layout(
        fig,
        height=300,
        legend_rows="auto",
        title=title or "MM centers have the largest robustness bound",
    )
