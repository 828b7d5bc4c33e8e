import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz import viz
from robviz.theory import adp_optimum
from robviz.viz.ensemble import (
    adp_optimum_figure,
    diversity_figure,
    ternary_animation,
    transferability_heatmap,
)


def simplex(S, K, P, seed):
    return torch.rand(S, K, P, 3, generator=torch.Generator().manual_seed(seed)).softmax(-1)


def test_ternary_animation_opens_on_its_last_frame_with_the_reference_under_the_points():
    points = {"baseline": simplex(3, 3, 10, 0), "ADP": simplex(3, 3, 10, 1)}
    fig = ternary_animation(points, [0, 10, 20], reference=np.eye(3))
    assert isinstance(fig, go.Figure)
    assert [f.name for f in fig.frames] == ["0", "10", "20"]
    assert len(fig.data) == 8 and all(
        len(f.data) == 6 and list(f.traces) == list(range(2, 8)) for f in fig.frames
    )
    assert {t.subplot for t in fig.data} == {"ternary", "ternary2"}
    # The rings of the reference come first, so every member's point is drawn over them.
    assert [t.name for t in fig.data[:2]] == ["Corollary 1 optimum"] * 2
    assert fig.data[2].a.dtype == np.float32
    # it opens on the trained ensembles: the slider and the data on the last snapshot
    assert fig.layout.sliders[0].active == 2
    np.testing.assert_array_equal(fig.data[2].a, points["baseline"][2, 0, :, 0].numpy())
    np.testing.assert_array_equal(fig.data[2].a, fig.frames[2].data[0].a)
    first = ternary_animation(points, [0, 10, 20], reference=np.eye(3), active=0)
    np.testing.assert_array_equal(first.data[2].a, points["baseline"][0, 0, :, 0].numpy())
    assert fig.layout.width is None  # follows the notebook column


def test_ternary_animation_checks_shapes():
    with pytest.raises(ValueError, match=r"points must map names to \(S, K, P, 3\) arrays"):
        ternary_animation({"a": torch.rand(2, 3, 4, 4)}, [0, 1])
    with pytest.raises(ValueError, match=r"needs 3 snapshots \(one per step\), got \[2\]"):
        ternary_animation({"a": simplex(2, 3, 4, 0)}, [0, 1, 2])


def test_other_figures():
    fig = diversity_figure([0, 10], {"a": [0.1, 0.5]}, {"a": [10.0, 60.0]})
    assert len(fig.data) == 2
    # the determinant in the first panel, the angle in the second, each over the steps
    (det, angle) = fig.data
    assert (det.xaxis, angle.xaxis) == ("x", "x2") and det.name == angle.name == "a"
    np.testing.assert_allclose(det.x, [0, 10])
    np.testing.assert_allclose(angle.x, [0, 10])
    np.testing.assert_allclose(det.y, [0.1, 0.5], rtol=1e-6)
    np.testing.assert_allclose(angle.y, [10.0, 60.0])
    assert fig.layout.yaxis.title.text == "det(M Mᵀ)" and "angle" in fig.layout.yaxis2.title.text
    heat = transferability_heatmap({"a": torch.eye(3), "b": torch.ones(3, 3)})
    assert len(heat.data) == 2 and heat.data[0].z[0][0] == 100
    # every cell in percent, each matrix in its own panel
    np.testing.assert_allclose(heat.data[0].z, 100 * np.eye(3))
    np.testing.assert_allclose(heat.data[1].z, np.full((3, 3), 100.0))
    assert (heat.data[0].xaxis, heat.data[1].xaxis) == ("x", "x2")
    with pytest.raises(ValueError, match=r"a transferability matrix is \(K, K\), got \(2, 3\)"):
        transferability_heatmap({"a": torch.ones(2, 3)})
    alphas = [0.5, 1.0, 2.0]
    fig = adp_optimum_figure(
        alphas, [adp_optimum(a, 3, 4) for a in alphas], {"solved": ([2.0], [0.72])}, K=3, L=4
    )
    assert len(fig.data) == 3
    uniform = fig.data[-1]  # the 1/L reference is a drawn line over the alphas, not only a label
    assert (
        list(uniform.x) == [0.5, 2.0]
        and list(uniform.y) == [0.25, 0.25]
        and uniform.mode == "lines"
    )
    assert "F_y" not in fig.to_json() and "F<sub>y</sub>" in fig.layout.title.text


def test_diversity_figure_gives_a_model_its_colour_of_every_figure():
    """A run named after an objective took the cycle's colour of its position, not its own."""
    fig = viz.diversity_figure(
        [0, 1], {"x": [0.1, 0.2], "SCE": [0.2, 0.3]}, {"x": [10.0, 20.0], "SCE": [30.0, 40.0]}
    )
    colors = {t.name: t.line.color for t in fig.data}
    assert colors["SCE"] == viz.NAMED_COLORS["sce"] != colors["x"]


def test_an_ensemble_keeps_the_colour_its_lesson_gives_it_in_both_figures():
    """Lesson 6 drew ADP(α=2, β=0.5) green beside the ADP optimum and vermillion in the diversity
    figure: each figure coloured its runs by their position in it."""
    colors = {"baseline": "#0072B2", "ADP(β=0)": "#D55E00", "ADP(β=0.5)": "#009E73"}
    diversity = viz.diversity_figure(
        [0, 1],
        {"baseline": [0.1, 0.2], "ADP(β=0.5)": [0.2, 0.6]},
        {"baseline": [10.0, 20.0], "ADP(β=0.5)": [30.0, 60.0]},
        colors=colors,
    )
    drawn = {t.name: t.line.color for t in diversity.data}
    assert drawn == {"baseline": colors["baseline"], "ADP(β=0.5)": colors["ADP(β=0.5)"]}
    optimum = viz.adp_optimum_figure(
        [1.0, 2.0],
        [0.9, 0.7],
        {"direct": ([1.0], [0.9]), "ADP(β=0)": ([2.0], [0.7]), "ADP(β=0.5)": ([2.0], [0.72])},
        K=3,
        L=4,
        colors=colors,
    )
    markers = {t.name: t.marker.color for t in optimum.data if t.mode == "markers"}
    assert markers["ADP(β=0)"] == colors["ADP(β=0)"]
    assert markers["ADP(β=0.5)"] == colors["ADP(β=0.5)"]
    # a series without a given colour takes one that the given ones leave free
    assert markers["direct"] not in colors.values()
