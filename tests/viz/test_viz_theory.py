import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz.centers import mm_centers
from robviz.landscape import feature_density, loss_on_grid
from robviz.objectives import MMC, MMLDA
from robviz.shell_density import mmc_shell_density
from robviz.theory import expected_distance
from robviz.viz.density import (
    convergence_figure,
    curse_of_softmax_animation,
    density_heatmap_animation,
    loss_contours_figure,
    sample_density_figure,
    shell_density_figure,
)
from robviz.viz.theory import centers_figure, expected_distance_figure, robustness_comparison_figure
from robviz.widgets.centers import MMCentersExplorer


def edges_of(fig, name="closest pairs"):
    trace = next(t for t in fig.data if t.name == name)
    return int(np.isnan(np.asarray(trace.x, dtype=float)).sum())  # one NaN after every segment


def assert_titled(fig):
    assert fig.layout.title.text
    assert fig.layout.template.layout.font.family.startswith("Arial")  # the "robviz" template


def test_centers_figure_2d_joins_every_simplex_pair_and_only_the_polygon_sides_of_the_fallback():
    triangle = centers_figure(mm_centers(3, 2, 10.0))
    assert_titled(triangle)
    assert edges_of(triangle) == 3
    assert sum(t.mode == "markers+text" for t in triangle.data) == 3
    assert triangle.layout.xaxis.title.text == "z₁" and triangle.layout.yaxis.scaleanchor == "x"
    decagon = centers_figure(mm_centers(10, 2, 10.0))
    assert edges_of(decagon) == 10
    assert "6.18" in decagon.layout.title.text  # 2 C sin(pi/10)


def test_center_figures_write_subscripts_that_plotly_renders():
    """Plotly shows an underscore literally: indices are <sub> tags."""
    figures = [
        centers_figure(mm_centers(3, 2, 10.0)),
        centers_figure(mm_centers(10, 9, 10.0), matrix="distance"),
        robustness_comparison_figure(torch.rand(50), 1.2),
    ]
    for fig in figures:
        text = fig.to_json()
        assert "\\u03bc" in text  # each figure writes a μ (JSON-escaped), so the check has work
        assert "μ_" not in text and "\\u03bc_" not in text
    assert "μ<sub>i</sub>" in figures[2].layout.xaxis.title.text


def test_centers_figure_3d_is_a_scatter3d_with_the_tetrahedron_edges():
    fig = centers_figure(mm_centers(4, 3, 2.0))
    assert any(isinstance(t, go.Scatter3d) and t.name == "centers" for t in fig.data)
    assert any(isinstance(t, go.Surface) for t in fig.data)
    assert edges_of(fig) == 6
    assert fig.layout.scene.zaxis.title.text == "z₃"


def screen_gaps(fig) -> tuple[float, float]:
    """(smallest distance between two centers' labels on the screen, C) in the figure's own camera.

    The camera: the scene's cube (equal, symmetric axis ranges) seen from ``camera.eye`` towards
    ``camera.center`` with ``camera.up`` up, orthographic (what the figure asks for; the labels sit
    on their markers, so their screen positions are the markers' positions, offset alike).
    """
    scene = fig.layout.scene
    ranges = {tuple(axis.range) for axis in (scene.xaxis, scene.yaxis, scene.zaxis)}
    ((low, high),) = ranges
    assert (
        low == -high
        and scene.aspectmode == "cube"
        and scene.camera.projection.type == "orthographic"
    )
    labels = next(t for t in fig.data if t.name == "centers")
    assert "text" in labels.mode and len(set(labels.text)) == len(labels.text)
    points = np.stack(
        [np.asarray(labels.x, float), np.asarray(labels.y, float), np.asarray(labels.z, float)], 1
    )
    camera = scene.camera
    eye, center, up = (
        np.array([v.x, v.y, v.z], float) for v in (camera.eye, camera.center, camera.up)
    )
    forward = (center - eye) / np.linalg.norm(center - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    screen = np.stack([points @ right, points @ np.cross(right, forward)], 1)
    gaps = np.linalg.norm(screen[:, None] - screen[None], axis=2)[np.triu_indices(len(points), 1)]
    return float(gaps.min()), float(np.linalg.norm(points, axis=1).mean())


@pytest.mark.parametrize("num_classes", range(3, 17))
def test_centers_figure_3d_keeps_every_label_apart_on_the_screen(num_classes):
    """The figure's own camera keeps the labels of 3-D centers apart on the screen.

    Lesson 3 draws 4 and 10 centers in d = 3, the explorer up to 16. From plotly's default eye
    (1.25, 1.25, 1.25) two of 10 centers land 0.24 C apart and two of 15 0.02 C apart, their labels
    on each other; the figure's own camera keeps every pair at least 0.3 C apart (C: the radius of
    the sphere drawn).
    """
    gap, norm = screen_gaps(centers_figure(mm_centers(num_classes, 3, 10.0)))
    assert norm == pytest.approx(10.0, rel=1e-4)
    assert gap >= 0.3 * norm, (
        f"{num_classes} centers: two labels {gap / norm:.2f} C apart on the screen"
    )


@pytest.mark.parametrize("num_classes", [10, 15])
def test_the_label_check_catches_plotlys_default_camera(num_classes):
    fig = centers_figure(mm_centers(num_classes, 3, 10.0))
    fig.layout.scene.camera.eye = dict(x=1.25, y=1.25, z=1.25)
    gap, norm = screen_gaps(fig)
    assert gap < 0.3 * norm


def test_centers_figure_beyond_3d_shows_the_pairwise_cosines():
    fig = centers_figure(mm_centers(10, 256, 10.0))
    (heatmap,) = fig.data
    cosines = np.asarray(heatmap.z)
    assert heatmap.type == "heatmap" and cosines.dtype == np.float32 and cosines.shape == (10, 10)
    assert np.allclose(np.diag(cosines), 1, atol=1e-5)
    assert np.allclose(cosines[~np.eye(10, dtype=bool)], -1 / 9, atol=1e-5)
    assert fig.layout.xaxis.title.text == "center j"


def test_expected_distance_figure_has_formula_bound_and_monte_carlo_with_error_bars():
    deltas = torch.linspace(0, 6, 13)
    fig = expected_distance_figure(
        deltas, expected_distance(deltas), [0.8, 1.2], [0.01, 0.02], mc_deltas=[0.0, 2.0]
    )
    assert_titled(fig)
    formula, half, mc = fig.data
    assert np.allclose(half.y, np.asarray(formula.x) / 2)
    assert list(mc.x) == [0.0, 2.0] and np.allclose(mc.error_y.array, [0.03, 0.06])
    assert fig.layout.xaxis.title.text.startswith("Mahalanobis distance")


def test_robustness_comparison_figure_marks_the_mm_value_inside_the_axis():
    fig = robustness_comparison_figure([1.0, 2.0, 2.5], 7.45, upper_bound=8.0)
    assert isinstance(fig.data[0], go.Histogram)
    assert len(fig.layout.shapes) == 2 and fig.layout.shapes[0].x0 == 7.45
    assert fig.layout.xaxis.range[1] > 8.0


@pytest.fixture(scope="module")
def grids():
    softmax, mmc = MMLDA(3, 2, norm=3.0), MMC(3, 2, norm=3.0)
    extent = (-6, 6, -6, 6)
    return (
        loss_on_grid(softmax, extent, 11, 0, name="MMLDA"),
        loss_on_grid(mmc, extent, 11, 0, name="MMC"),
        mmc.centers,
    )


def test_loss_contours_figure_one_panel_per_grid_in_log10(grids):
    softmax, mmc, centers = grids
    arc = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    fig = loss_contours_figure([softmax, mmc], centers=centers, curves=[{"arc": arc}, {}])
    assert_titled(fig)
    contours = [t for t in fig.data if t.type == "contour"]
    assert len(contours) == 2 and contours[1].z.dtype == np.float32
    shown = np.log10(np.maximum(mmc.values.numpy(), 1e-6)).astype(np.float32)
    assert np.allclose(contours[1].z, shown)
    assert [t.name for t in fig.data if t.type == "scatter" and t.mode == "lines"] == ["arc"]
    assert fig.layout.xaxis2.title.text == "z₁"
    with pytest.raises(ValueError, match="one dict per panel"):
        loss_contours_figure([softmax, mmc], curves=[{}])


def test_curse_of_softmax_animation_moves_one_feature_in_three_panels(grids):
    softmax, mmc, centers = grids
    path = torch.stack([torch.linspace(1, 2, 50), torch.linspace(-3, 3, 50)], dim=1)
    fig = curse_of_softmax_animation(
        softmax,
        mmc,
        path,
        torch.full((50,), 0.01),
        torch.linspace(1, 20, 50),
        centers=centers,
        num_frames=10,
    )
    assert_titled(fig)
    assert len(fig.frames) == 10 and all(len(f.data) == 3 for f in fig.frames)
    assert list(fig.frames[0].traces) == [len(fig.data) - 3, len(fig.data) - 2, len(fig.data) - 1]
    assert fig.frames[0].data[0].y[0] == pytest.approx(-3) and fig.frames[-1].data[0].y[
        0
    ] == pytest.approx(3)
    assert "MMC loss 20" in fig.frames[-1].layout.title.text
    assert fig.layout.sliders[0].steps[0].label == "0.0"
    assert fig.layout.yaxis3.type == "log"
    with pytest.raises(ValueError, match="one length"):
        curse_of_softmax_animation(softmax, mmc, path, torch.ones(49), torch.ones(50))


def test_density_heatmap_animation_shares_one_colour_scale():
    features = torch.randn(3, 200, 2)
    grids = {
        "sce": feature_density(features * 10, (-40, 40, -40, 40), 8),
        "mmc": feature_density(features, (-4, 4, -4, 4), 8),
    }
    fig = density_heatmap_animation(grids, [0, 10, 20])
    assert_titled(fig)
    assert [f.name for f in fig.frames] == ["0", "10", "20"]
    first, second = fig.data
    assert first.zmax == second.zmax and first.zmin == second.zmin == -2
    assert first.showscale and not second.showscale
    assert fig.layout.xaxis.range == (-40, 40) and fig.layout.xaxis2.range == (-4, 4)
    with pytest.raises(ValueError, match="len\\(steps\\)"):
        density_heatmap_animation(grids, [0, 10])


def _density(seed, spread):
    generator = torch.Generator().manual_seed(seed)
    centers = mm_centers(3, 2, 5.0)
    y = torch.arange(3).repeat_interleave(100)
    z = centers[y] + spread * torch.randn(300, 2, generator=generator)
    return mmc_shell_density(z, y, centers, num_shells=5)


def test_shell_density_figure_static_and_animated():
    tight, loose = _density(0, 0.1), _density(0, 1.0)
    fig = shell_density_figure({"mmc": tight, "sce": loose})
    assert_titled(fig)
    assert not fig.frames  # static: no animation frames
    mmc_line, sce_line = fig.data
    assert mmc_line.name == "MMC" and np.allclose(
        mmc_line.x, [0.116, 0.308, 0.5, 0.692, 0.884], atol=1e-3
    )
    expected = (tight.log_densities / math.log(10)).mean(dim=0).numpy()
    assert np.allclose(mmc_line.y, expected, atol=1e-5)
    # Shrinking the features 10x in 2-D raises the density 100x in every shell.
    assert np.allclose(np.asarray(mmc_line.y) - np.asarray(sce_line.y), 2.0, atol=1e-4)
    animated = shell_density_figure({"mmc": [loose, tight], "sce": [loose, loose]}, steps=[0, 50])
    assert [f.name for f in animated.frames] == ["0", "50"] and len(animated.frames[1].data) == 2
    with pytest.raises(ValueError, match="steps"):
        shell_density_figure({"mmc": [loose, tight]})


def test_shell_density_figure_places_shells_at_the_quantiles_they_span():
    """The x axis reads each density's own quantiles; shells of other spans are never compared."""
    centers = mm_centers(3, 2, 5.0)
    y = torch.arange(3).repeat_interleave(100)
    z = centers[y] + 0.5 * torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    middle = mmc_shell_density(z, y, centers, num_shells=2, quantiles=(0.25, 0.75))
    assert middle.quantiles == (0.25, 0.75)
    assert list(shell_density_figure({"mmc": middle}).data[0].x) == pytest.approx([0.375, 0.625])
    wide = mmc_shell_density(z, y, centers, num_shells=2)
    with pytest.raises(ValueError, match="same loss quantiles"):
        shell_density_figure({"mmc": middle, "sce": wide})
    with pytest.raises(ValueError, match=r"quantiles: \(0.02, 0.98\)"):
        shell_density_figure({"mmc": middle}, quantiles=(0.02, 0.98))
    for other in (
        mmc_shell_density(z, y, centers, num_shells=2, spacing="width"),
        mmc_shell_density(z, y, centers, edges=torch.tensor([0.0, 1.0, 2.0])),
    ):
        assert other.quantiles is None
        with pytest.raises(ValueError, match=r"densities\['mmc'\] has no equal-count shells"):
            shell_density_figure({"mmc": other})


def test_sample_density_figure_draws_theory_lines_and_measured_points_in_log10():
    c = torch.tensor([0.01, 0.1, 1.0])
    fig = sample_density_figure(
        c,
        torch.log(torch.tensor([100.0, 10.0, 1.0])),
        {"exact": (c, torch.zeros(3)), "printed": (c, torch.ones(3))},
    )
    assert_titled(fig)
    assert [t.name for t in fig.data] == ["exact", "printed", "measured"]
    assert np.allclose(fig.data[2].y, [2, 1, 0], atol=1e-6)
    assert fig.layout.xaxis.type == "log"


def test_sample_density_figure_counts_loss_levels_off_its_log_axis():
    c = torch.tensor([0.0, 0.1, 1.0])  # a grid that starts at 0: no place on a log axis
    fig = sample_density_figure(c, torch.zeros(3), {"exact": (c, torch.zeros(3))})
    assert [t.name for t in fig.data] == [
        "exact (1 of 3 at ℓ <= 0: not drawn)",
        "measured (1 of 3 at ℓ <= 0: not drawn)",
    ]
    both = sample_density_figure(c, torch.tensor([0.0, -float("inf"), 1.0]), {})
    assert both.data[0].name == "measured (1 of 3 at SD = 0; 1 of 3 at ℓ <= 0: not drawn)"


def test_convergence_figure_one_panel_per_metric_with_thresholds_and_styles():
    panels = {
        "accuracy": {"a": ([0, 10], [0.1, 0.9]), "b": ([0, 10], [0.2, 0.95])},
        "spread": {"a": ([0, 10], [1.0, 0.3]), "b": ([0, 10], [1.0, 0.1])},
    }
    fig = convergence_figure(
        panels, thresholds={"accuracy": 0.9}, styles={"b": dict(dash="dot")}, log_y=("spread",)
    )
    assert_titled(fig)
    assert len(fig.data) == 4 and [t.showlegend for t in fig.data] == [True, True, False, False]
    assert fig.data[1].line.dash == "dot" and fig.data[0].line.dash == "solid"
    assert len(fig.layout.shapes) == 1 and fig.layout.yaxis2.type == "log"
    assert fig.layout.yaxis.title.text == "accuracy" and fig.layout.xaxis2.title.text == "step"


def test_centers_explorer_recomputes_and_redraws_when_a_slider_moves():
    explorer = MMCentersExplorer(num_classes=3, feature_dim=2, norm=10.0)
    assert "robviz-centers-explorer" in explorer.widget._dom_classes
    redraws = []
    draw = explorer.figure
    explorer.figure = lambda: redraws.append(1) or draw()

    explorer.num_classes.value = 4
    assert len(redraws) == 1 and explorer.centers.shape == (4, 2)
    assert explorer.numbers["construction"].startswith("optimized fallback")
    assert explorer.numbers["rb_bar"] == pytest.approx(10 * math.sin(math.pi / 4), abs=1e-4)

    explorer.feature_dim.value = 3
    assert len(redraws) == 2 and explorer.numbers["construction"] == "exact simplex"
    assert any(isinstance(t, go.Scatter3d) for t in draw().data)
    assert explorer.numbers["rb_bar"] == pytest.approx(explorer.numbers["simplex_rb_bar"], abs=1e-4)
    assert "100% of it" in explorer.status.value

    explorer.norm.value = 5.0
    assert len(redraws) == 3 and explorer.numbers["rb_bar"] == pytest.approx(
        5 * math.sqrt(2 * 4 / 3) / 2, abs=1e-4
    )
    explorer.feature_dim.value = 6
    assert isinstance(draw().data[0], go.Heatmap)
    assert "C = 5" in draw().layout.title.text


def test_centers_distance_matrix_follows_the_norm_where_cosines_do_not():
    from robviz.centers import mm_centers
    from robviz.viz.theory import centers_figure

    small, large = (
        centers_figure(mm_centers(6, 8, c), matrix="distance", max_distance=40.0)
        for c in (2.0, 8.0)
    )
    np.testing.assert_allclose(
        np.asarray(large.data[0].z), 4 * np.asarray(small.data[0].z), rtol=1e-5
    )
    assert (
        small.data[0].zmax == large.data[0].zmax == 40.0
    )  # one colour scale: a larger C reads brighter
    cosines = [np.asarray(centers_figure(mm_centers(6, 8, c)).data[0].z) for c in (2.0, 8.0)]
    np.testing.assert_allclose(*cosines, atol=1e-5)
    with pytest.raises(ValueError, match="matrix"):
        centers_figure(mm_centers(6, 8, 1.0), matrix="angles")


@pytest.mark.parametrize("dim", [2, 3])
def test_a_center_figure_legend_entry_is_drawn_in_one_colour(dim):
    """The 3-D figure's "centers" entry showed class 0's colour for centers of every class."""
    fig = centers_figure(mm_centers(4, dim, 10.0))
    legend = [t for t in fig.data if t.showlegend is not False and t.name]
    assert [t.name for t in legend] == ["‖z‖ = C = 10", "closest pairs"]  # the loop has work
    for trace in legend:
        if hasattr(trace, "marker"):
            assert isinstance(trace.marker.color, (str, type(None))), trace.name
    # The traces coloured by class (one colour per point, or one trace per class) stay out of
    # the legend, where plotly would show the first class's colour for all of them.
    by_class = [t for t in fig.data if all(t is not shown for shown in legend)]
    assert by_class and all(t.showlegend is False for t in by_class)
    many = [t for t in by_class if not isinstance(t.marker.color, (str, type(None)))]
    assert [t.name for t in many] == (["centers"] if dim == 3 else [])


def test_the_curse_of_softmax_point_is_drawn_whole_at_the_window_edge():
    """Lesson 4's path starts at the window's edge, where the moving point was cut in half."""
    from robviz.viz.density import curse_of_softmax_animation

    mmlda, mmc = MMLDA(3, 2, norm=3.0), MMC(3, 2, norm=3.0)
    extent = (-4.0, 4.0, -4.0, 4.0)
    grids = [
        loss_on_grid(head, extent, 9, label=0, name=name)
        for head, name in ((mmlda, "SCE"), (mmc, "MMC"))
    ]
    path = torch.tensor([[2.0, 4.0], [1.0, 0.0], [2.0, -4.0]])
    fig = curse_of_softmax_animation(*grids, path, torch.ones(3), torch.tensor([5.0, 1.0, 5.0]))
    points = [t for t in fig.data if t.type == "scatter" and t.marker.color == "white"]
    assert len(points) == 3 and all(t.cliponaxis is False for t in points)
    assert all(t.cliponaxis is False for frame in fig.frames for t in frame.data)
