"""Figures of robviz.viz.exact and robviz.viz.theory at the edges of their inputs.

Keys that read alike, values a figure's fixed axis would hide, degenerate ranges, boundary
segments of the wrong shape or with NaN endpoints.
"""

import math

import numpy as np
import pytest
import torch

from robviz import viz
from robviz.viz.style import MAX_HEIGHT


@pytest.mark.parametrize(
    "call",
    [
        lambda: viz.exact_vs_attacks([0.0, 0.1], {1: [1.0, 0.5], "1": [1.0, 0.4]}, {}),
        lambda: viz.exact_vs_attacks(
            [0.0, 0.1], {"a": [1.0, 0.5]}, {"a": {2: [1.0, 0.6], "2": [1.0, 0.7]}}
        ),
        lambda: viz.bounds_sandwich([0.1], {1: {"exact": [0.5]}, "1": {"exact": [0.5]}}),
        lambda: viz.bounds_sandwich([0.1], {"a": {3: [0.4]}, "b": {"3": [0.5]}}),
        lambda: viz.distance_scatter(torch.tensor([0.1]), {1: [0.2], "1": [0.3]}),
    ],
    ids=["exact models", "attacks", "panels", "series", "estimates"],
)
def test_keys_that_read_alike_are_refused(call):
    # one legend name (or subplot title) for two series: read as one
    with pytest.raises(ValueError, match="both drawn as"):
        call()


def test_attacks_of_a_model_must_be_a_mapping():
    with pytest.raises(TypeError, match=r"attacks\['a'\] must be a mapping"):
        viz.exact_vs_attacks([0.0, 0.1], {"a": [1.0, 0.5]}, {"a": [1.0, 0.6]})


def test_distance_scatter_takes_keys_of_any_type():
    # the estimate "0 PGD" starts with the model 0's name; before: 'int' has no 'startswith'
    fig = viz.distance_scatter(
        {0: torch.tensor([0.1, 0.3]), 1: torch.tensor([0.2, 0.4])},
        {"0 PGD": [0.2, 0.5], "1 PGD": [0.3, 0.4]},
    )
    drawn = {trace.name: list(trace.x) for trace in fig.data if trace.mode == "markers"}
    np.testing.assert_allclose(drawn["0 PGD"], [0.1, 0.3], rtol=1e-6)
    np.testing.assert_allclose(drawn["1 PGD"], [0.2, 0.4], rtol=1e-6)
    one = viz.distance_scatter(torch.tensor([0.1]), {7: [0.2]})
    assert one.data[0].name == "7"


def test_boundary_trace_refuses_bad_segments():
    with pytest.raises(ValueError, match=r"segments must have shape \(S, 2, 2\)"):
        viz.boundary_trace(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="segments has non-finite values"):
        viz.boundary_trace(np.array([[[0.0, 0.0], [1.0, 1.0]], [[0.0, np.nan], [1.0, 0.0]]]))
    empty = viz.boundary_trace(np.zeros((0, 2, 2)))  # no boundary in the box: an empty line
    assert len(empty.x) == 0
    trace = viz.boundary_trace([[[0.0, 0.0], [1.0, 1.0]], [[2.0, 0.0], [3.0, 1.0]]])
    np.testing.assert_array_equal(trace.x, np.array([0, 1, np.nan, 2, 3, np.nan], np.float32))


def test_robustness_comparison_refuses_negative_bounds_and_keeps_a_range():
    with pytest.raises(ValueError, match="random_bounds has values outside"):
        viz.robustness_comparison_figure([-1.0, 0.5], 0.7)
    with pytest.raises(ValueError, match="mm_bound must be a finite number >= 0"):
        viz.robustness_comparison_figure([1.0, 0.5], -0.7)
    with pytest.raises(ValueError, match="upper_bound must be"):
        viz.robustness_comparison_figure([1.0, 0.5], 0.7, upper_bound=-1.0)
    # coinciding centers: every bound 0, the axis [0, 1] (not the empty range [0, 0])
    fig = viz.robustness_comparison_figure([0.0, 0.0], 0.0)
    assert tuple(fig.layout.xaxis.range) == (0, 1.0)


def test_expected_distance_figure_checks_its_monte_carlo_arguments():
    deltas, values = [0.0, 1.0], [0.8, 1.0]
    for bad in (math.nan, -3.0, "3"):
        with pytest.raises(ValueError, match="num_errors must be a finite number >= 0"):
            viz.expected_distance_figure(deltas, values, [0.8, 1.0], [0.1, 0.1], num_errors=bad)
    with pytest.raises(ValueError, match="mc_errors has values outside"):
        viz.expected_distance_figure(deltas, values, [0.8, 1.0], [-0.1, 0.1])
    with pytest.raises(ValueError, match="pass mc_means with them"):
        viz.expected_distance_figure(deltas, values, None, [0.1, 0.1])
    with pytest.raises(ValueError, match="deltas has values outside"):
        viz.expected_distance_figure([-1.0, 0.0], values)
    fig = viz.expected_distance_figure(deltas, values, [0.8, 1.0], [0.1, 0.2], num_errors=2)
    np.testing.assert_allclose(fig.data[-1].error_y.array, [0.2, 0.4], rtol=1e-6)
    assert fig.layout.height <= MAX_HEIGHT


def test_centers_figure_edges():
    # every center at the origin: a unit range in 2-D, a named error for cosines in d > 3
    fig = viz.centers_figure(np.zeros((2, 2)))
    assert tuple(fig.layout.xaxis.range) == (-1.0, 1.0)
    with pytest.raises(ValueError, match=r"centers at index \[0, 2\] lie at the origin"):
        viz.centers_figure(np.array([[0.0] * 5, [1.0] * 5, [0.0] * 5]))
    viz.centers_figure(np.zeros((3, 5)), matrix="distance")  # distances are defined
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="max_distance must be a finite number > 0"):
            viz.centers_figure(np.eye(5), matrix="distance", max_distance=bad)


def test_roc_figure_checks_each_line():
    good = ([0.0, 0.5, 1.0], [0.0, 0.7, 1.0], 0.6)
    viz.roc_figure({"PGD": {"SCE · KD": good}})
    # an AUC of 1.5 was printed as "150 %" in the hover; a pair unpacked with Python's error
    with pytest.raises(ValueError, match=r"auc must be a finite number in \[0, 1\]"):
        viz.roc_figure({"PGD": {"SCE · KD": ([0.0, 1.0], [0.0, 1.0], 1.5)}})
    with pytest.raises(
        ValueError, match=r"curves\['PGD'\]\['SCE · KD'\] must be \(fpr, tpr, auc\)"
    ):
        viz.roc_figure({"PGD": {"SCE · KD": ([0.0, 1.0], [0.0, 1.0])}})


def test_detection_table_checks_aucs_and_pair_counts():
    for bad in (1.5, -0.1):
        with pytest.raises(ValueError, match=r"aucs\['PGD'\]\['SCE'\]\['KD'\] has values outside"):
            viz.detection_table({"PGD": {"SCE": {"KD": bad}}})
    aucs = {"PGD": {"SCE": {"KD": 0.5}, "RCE": {"KD": 0.9}}}
    # the error named auc_standard_error's n_clean, an argument the caller never passed
    with pytest.raises(ValueError, match=r"pairs\[\('PGD', 'RCE'\)\] must be an integer >= 1"):
        viz.detection_table(aucs, pairs={("PGD", "SCE"): 50, ("PGD", "RCE"): 0})
    viz.detection_table(aucs, pairs={("PGD", "SCE"): 50, ("PGD", "RCE"): 50})


def test_points_of_the_plane_must_have_two_coordinates():
    # (N, 3) points and (L, 3) centers were drawn by their first two coordinates, silently
    z, y = torch.rand(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"centers must be \(L, 2\)"):
        viz.feature_figure(z, y, centers=torch.rand(3, 3))
    with pytest.raises(ValueError, match=r"centers must be \(L, 2\)"):
        viz.feature_figure(z, y, centers=torch.rand(3))
    assert viz.feature_figure(z, y, centers=torch.rand(3, 2)).data[-1].name == "centers"
    segments = [np.array([[[0.0, -1.0], [0.0, 1.0]]]), np.zeros((0, 2, 2))]
    box = {"extent": (-3.0, 3.0, -3.0, 3.0)}
    with pytest.raises(ValueError, match=r"x must be points of the plane, \(N, 2\)"):
        viz.boundary_animation({"SCE": segments}, [0, 10], torch.rand(6, 3), y, **box)
    with pytest.raises(ValueError, match=r"boundaries\['SCE'\]\[0\] must be \(B, 2, 2\)"):
        viz.boundary_animation({"SCE": [np.zeros((1, 4)), segments[1]]}, [0, 10], z, y, **box)
    assert viz.boundary_animation({"SCE": segments}, [0, 10], z, y, **box).frames


def test_ball_outline_reads_norms_as_the_attacks_do_and_checks_its_ball():
    square = viz.ball_outline((0.0, 0.0), 0.5, "Linf")
    for spelling in ("inf", "linf", math.inf):
        np.testing.assert_array_equal(viz.ball_outline((0.0, 0.0), 0.5, spelling), square)
    circle = viz.ball_outline(torch.tensor([1.0, 2.0]), 0.5, 2)  # refused as "unknown norm 2"
    np.testing.assert_allclose(np.hypot(circle[0] - 1.0, circle[1] - 2.0), 0.5)
    # a NaN radius drew nothing, a negative one the same square: both read as a ball
    for bad in (math.nan, -0.5):
        with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
            viz.ball_outline((0.0, 0.0), bad, "L2")
    with pytest.raises(ValueError, match="center must be 2 numbers"):
        viz.ball_outline((0.0, 0.0, 0.0), 0.5, "L2")  # unpacking's "too many values" before
    with pytest.raises(ValueError, match="center has non-finite values"):
        viz.ball_outline((math.nan, 0.0), 0.5, "L2")


def test_attack_animation_checks_eps_and_norm_once():
    inputs = torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(0))
    predictions, labels = torch.zeros(3, 2, dtype=torch.long), torch.tensor([0, 1])
    fig = viz.attack_animation(inputs, predictions, labels, eps=0.1, norm="l2")
    assert fig.frames
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        viz.attack_animation(inputs, predictions, labels, eps=math.nan)


def test_adp_optimum_figure_checks_its_measured_series():
    curve = ([1.0, 2.0], [0.6, 0.5])
    with pytest.raises(TypeError, match="measured must be a mapping"):
        viz.adp_optimum_figure(*curve, [(1.0, 0.5)], K=3, L=10)  # an AttributeError before
    with pytest.raises(ValueError, match=r"measured\['a'\] must be \(alphas, F_y values\)"):
        viz.adp_optimum_figure(*curve, {"a": (1.0, 0.5, 3)}, K=3, L=10)
    with pytest.raises(ValueError, match="alphas has values outside"):
        viz.adp_optimum_figure([-1.0, 2.0], curve[1], K=3, L=10)
    # alpha = 0 is a plain ensemble, F_y = 1: drawn
    fig = viz.adp_optimum_figure(*curve, {"no ADP": ([0.0], [1.0])}, K=3, L=10)
    assert [t.name for t in fig.data][1] == "no ADP"


@pytest.mark.parametrize(
    "call, named",
    [
        (
            lambda: viz.sample_density_figure([1.0, 2.0], [0.0, -1.0], {"MMC": ([1.0, 2.0],)}),
            r"theory\['MMC'\] must be \(C, log SD\)",
        ),
        (
            lambda: viz.convergence_figure({"loss": {"SCE": ([0, 1], [1.0, 0.5], [0.0, 0.0])}}),
            r"panels\['loss'\]\['SCE'\] must be \(steps, values\)",
        ),
        (
            lambda: viz.roc_figure({"PGD": {"KD": "curve"}}),
            r"curves\['PGD'\]\['KD'\] must be \(fpr, tpr, auc\), got 'str'",
        ),
    ],
    ids=["sample_density_figure", "convergence_figure", "roc_figure"],
)
def test_a_series_of_the_wrong_length_is_named(call, named):
    # before: Python's "not enough values to unpack" / "too many values to unpack"
    with pytest.raises(ValueError, match=named):
        call()


def test_sample_density_figure_takes_keys_of_any_type():
    fig = viz.sample_density_figure([1.0, 2.0], [0.0, -1.0], {64: ([1.0, 2.0], [0.0, -1.0])})
    assert fig.data[0].name == "64"  # "int + str" raised a TypeError


def test_fit_layout_refuses_a_negative_plot_area_or_legend():
    import plotly.graph_objects as go

    def fig():
        return go.Figure(go.Scatter(x=[1], y=[1], name="a"))

    # height -5 gave a figure 99 px tall; legend_rows -2 moved the legend band over the title
    for bad in (-5, 0, math.nan):
        with pytest.raises(ValueError, match="height must be a finite number > 0"):
            viz.fit_layout(fig(), height=bad)
    for bad in (-2, "autox", 1.5):
        with pytest.raises(ValueError, match="legend_rows must be an integer >= 0"):
            viz.fit_layout(fig(), height=300, legend_rows=bad)
    assert viz.fit_layout(fig(), height=300, legend_rows="auto").layout.height == 300 + 46 + 32 + 58


def test_diversity_figure_refuses_values_off_its_fixed_axes():
    steps, angles = [0, 10], {"ADP": [60.0, 80.0]}
    # a diversity of 30 or -0.5 was drawn off the axis [0, 1.02], invisible
    for bad in ([0.2, 30.0], [-0.5, 0.2]):
        with pytest.raises(ValueError, match=r"diversity\['ADP'\] has values outside"):
            viz.diversity_figure(steps, {"ADP": bad}, angles)
    with pytest.raises(ValueError, match=r"angles\['ADP'\] has values outside"):
        viz.diversity_figure(steps, {"ADP": [0.2, 0.3]}, {"ADP": [60.0, 120.0]})
    # the optimum's volume 1, rounded up, and the right angle of orthogonal members still draw
    fig = viz.diversity_figure(steps, {"ADP": [0.5, 1.0000001]}, {"ADP": [60.0, 90.0]})
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.02)
