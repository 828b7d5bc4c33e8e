"""robviz.viz.adversarial: the boundary animation and the accuracy lines of lesson 10."""

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz import viz


def segments(shift):
    return np.array([[[shift, -1.0], [shift, 1.0]], [[shift, 1.0], [shift + 0.5, 2.0]]])


def test_boundary_animation_moves_the_lines_and_keeps_the_points():
    x, y = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]), torch.tensor([0, 1, 1])
    boundaries = {"SCE": [segments(0.0), segments(0.5)], "SCE-AT": [segments(0.1), segments(1.0)]}
    fig = viz.boundary_animation(boundaries, [0, 100], x, y, extent=(-3, 3, -3, 3), title="t")
    assert isinstance(fig, go.Figure) and [f.name for f in fig.frames] == ["0", "100"]
    assert fig.layout.height <= viz.MAX_PLAY_HEIGHT and fig.layout.sliders
    lines = [t for t in fig.data if t.mode == "lines"]
    points = [t for t in fig.data if t.mode == "markers"]
    assert len(lines) == 2 and len(points) == 4  # two classes in each of two panels
    assert sum(len(t.x) for t in points) == 2 * len(x)
    # The second frame of the second panel: its boundary at x = 1.0 (NaN-separated segments).
    moved = fig.frames[1].data[1]
    assert np.nanmin(np.asarray(moved.x, dtype=float)) == pytest.approx(1.0)
    assert list(fig.layout.xaxis2.range) == [-3, 3]
    with pytest.raises(ValueError, match="2 steps"):
        viz.boundary_animation({"SCE": [segments(0.0)]}, [0, 100], x, y, extent=(-3, 3, -3, 3))


def test_accuracy_lines_draw_percent_and_dash_the_named_series():
    fig = viz.accuracy_lines(
        [0, 10, 20],
        {"train": [0.5, 0.8, 0.9], "test": [0.5, 0.7, 0.6]},
        x_title="step",
        title="robust overfitting",
        dashed=("test",),
    )
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[1].y) == pytest.approx([50, 70, 60]) and fig.data[1].line.dash == "dash"
    assert fig.data[0].line.dash is None and fig.layout.xaxis.title.text == "step"
    assert viz.accuracy_lines([0.1], {"sce": [1.0]}, x_title="eps", title="t").data[0].name == "SCE"
    with pytest.raises(ValueError, match="3 x values"):
        viz.accuracy_lines([0, 1, 2], {"a": [0.1]}, x_title="x", title="t")
    with pytest.raises(ValueError, match="empty"):
        viz.accuracy_lines([0], {}, x_title="x", title="t")


def test_accuracy_lines_zoom_to_the_data_in_tens_and_say_so():
    series = {"sce": [0.50, 0.72, 0.62], "mmc": [0.63, 0.75, 0.781]}
    full = viz.accuracy_lines([0, 60, 120], series, x_title="step", title="t")
    assert list(full.layout.yaxis.range) == [-3, 103] and full.layout.yaxis.title.text == (
        "accuracy (%)"
    )
    fig = viz.accuracy_lines([0, 60, 120], series, x_title="step", title="t", zoom=True)
    low, high = fig.layout.yaxis.range
    assert (low, high) == pytest.approx((50 - 0.9, 80 + 0.9))  # 50-80 % with 3 % margins
    assert fig.layout.yaxis.title.text == "accuracy (%, axis from 50)"
    # a zoom that reaches 0 is the plain axis; one value gets a 10-point window
    assert (
        viz.accuracy_lines(
            [0, 1], {"a": [0.05, 0.3]}, x_title="x", title="t", zoom=True
        ).layout.yaxis.title.text
        == "accuracy (%)"
    )
    one = viz.accuracy_lines([0], {"a": [1.0]}, x_title="x", title="t", zoom=True)
    assert list(one.layout.yaxis.range) == pytest.approx([90 - 0.3, 100 + 0.3])
