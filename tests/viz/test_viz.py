import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz import viz
from robviz.data import digits, gaussian_mixture
from robviz.models import make_model
from robviz.regions import feature_regions, input_regions
from robviz.train import fit, fit_objectives


@pytest.fixture(scope="module")
def runs():
    data = gaussian_mixture(num_classes=3, n_per_class=40)
    models, histories = fit_objectives(
        data, ["sce", "mmc", "center"], steps=40, record_every=20, progress=False
    )
    return data, models, histories


def test_figures_with_play_controls_fit_a_laptop_screen(runs):
    """Figures with Play controls fit a laptop screen.

    Lesson 1's six panels in two rows were 916 px tall: Play sat below the fold of a 647 px notebook
    area.
    """
    data, models, histories = runs
    six = {f"{name} {k}": h for k in range(2) for name, h in histories.items()}
    fig = viz.feature_animation(six, title="t")
    assert fig.layout.height <= viz.MAX_PLAY_HEIGHT and fig.layout.sliders
    # the cap holds whatever the furniture above the plot, down to a readable plot
    for rows in (
        0,
        3,
    ):
        capped = viz.fit_layout(
            go.Figure(), height=900, legend_rows=rows, subplot_titles=True, slider=True
        )
        assert capped.layout.height <= viz.MAX_PLAY_HEIGHT
    # without Play too: lesson 1's six decision-region panels were 813 px tall, their title or
    # their x axis out of view
    for rows in (0, 3):
        static = viz.fit_layout(go.Figure(), height=900, legend_rows=rows, subplot_titles=True)
        assert static.layout.height <= viz.MAX_HEIGHT < 900
    assert viz.fit_layout(go.Figure(), height=300).layout.height == 300 + 46 + 58


def test_feature_animation_is_synchronized_with_fixed_axes(runs):
    data, models, histories = runs
    fig = viz.feature_animation(histories, title="t")
    assert isinstance(fig, go.Figure)
    assert [f.name for f in fig.frames] == ["0", "20", "40"]
    assert all(list(f.traces) == list(range(len(fig.data))) for f in fig.frames)
    assert fig.layout.sliders[0].steps[2].label == "40"
    assert fig.layout.updatemenus[0].buttons[0].label == "Play"
    # Fixed axes: each panel's x and y ranges hold every point of every frame, and fit them (the
    # outermost point reaches at least half the range), so nothing moves out of view during Play.
    for panel in ("", "2", "3"):
        traces = [i for i, t in enumerate(fig.data) if t.xaxis == f"x{panel}"]
        assert traces, panel
        for axis in ("x", "y"):
            low, high = fig.layout[f"{axis}axis{panel}"].range
            values = np.concatenate(
                [np.asarray(f.data[i][axis], dtype=float) for f in fig.frames for i in traces]
            )
            assert low <= np.nanmin(values) and np.nanmax(values) <= high, (panel, axis)
            assert np.nanmax(np.abs(values)) >= 0.5 * max(-low, high), (panel, axis)
    assert all(f.layout.xaxis.range is None for f in fig.frames)  # no frame resets the axes
    # Centers of the center-loss objective move between frames; MMC's stay fixed.
    mmc_centers, center_centers = [i for i, t in enumerate(fig.data) if t.name == "centers"]
    first, last = fig.frames[0].data, fig.frames[-1].data
    assert list(first[center_centers].x) != list(last[center_centers].x)
    assert list(first[mmc_centers].x) == list(last[mmc_centers].x)


def test_feature_panels_draw_regions_features_and_centers(runs):
    _, models, histories = runs
    regions = {n: feature_regions(models[n], h, resolution=12) for n, h in histories.items()}
    fig = viz.feature_panels(histories, regions)
    assert [t.type for t in fig.data].count("heatmap") == 3
    assert fig.layout.title.text == "Features and decision regions at step 40"
    assert fig.layout.xaxis3.range[0] == regions["center"].extent[0]


def test_six_feature_panels_in_two_rows_fit_a_laptop_screen(runs):
    """Lesson 1's six heads in two rows were 813 px tall: the title or the x axes out of view."""
    data, models, histories = runs
    six = {f"{name} {k}": h for k in range(2) for name, h in histories.items()}
    regions = {n: feature_regions(models[n.split()[0]], h, resolution=8) for n, h in six.items()}
    fig = viz.feature_panels(six, regions)
    assert fig.layout.height <= viz.MAX_HEIGHT and fig.layout.yaxis4.domain[1] < 0.5


def test_training_animations_open_on_the_trained_state(runs):
    """Lessons 0, 1 and 4 opened on step 0: every feature at the origin, nothing to see."""
    data, models, histories = runs
    fig = viz.feature_animation(histories)
    last = len(fig.frames) - 1
    assert last > 0 and fig.layout.sliders[0].active == last
    # what the figure shows is the frame the slider names (the browser check of the lessons)
    for index, trace in zip(fig.frames[last].traces, fig.frames[last].data):
        assert list(fig.data[index].x) == list(trace.x)
    assert list(fig.data[0].x) != list(fig.frames[0].data[0].x)
    # Play runs from the first frame: without fromcurrent trimming at the last frame (plotly.js
    # plays the whole list when the current frame is the last)
    assert fig.layout.updatemenus[0].buttons[0].args[0] is None
    opened = viz.feature_animation(histories, active=0)
    assert opened.layout.sliders[0].active == 0
    assert list(opened.data[0].x) == list(opened.frames[0].data[0].x)


def test_feature_regions_change_for_sce_not_for_mmc(runs):
    _, models, histories = runs
    sce = feature_regions(models["sce"], histories["sce"], resolution=15)
    mmc = feature_regions(models["mmc"], histories["mmc"], resolution=15)
    assert sce.labels.shape == (3, 15, 15)
    assert not (sce.labels[0] == sce.labels[-1]).all()
    assert (mmc.labels[0] == mmc.labels[-1]).all()


def test_input_regions_and_static_figure(runs):
    data, models, histories = runs
    r = input_regions(models["sce"], (-3, 3, -3, 3), resolution=10)
    assert r.labels.shape == (10, 10)
    h = histories["mmc"]
    fig = viz.feature_figure(h.features[-1], h.probe_y, centers=h.centers, title="MMC")
    assert fig.layout.title.text == "MMC"


def test_training_curves(runs):
    _, _, histories = runs
    fig = viz.training_curves(histories, metrics=("loss", "feature_norm"), log_y=("loss",))
    assert len(fig.data) == 6
    with pytest.raises(ValueError, match="unknown metric"):
        viz.training_curves(histories, metrics=("speed",))


def test_animation_refuses_high_dimensional_features():
    data = digits()
    model = make_model(data, "sce", feature_dim=8)
    h = fit(model, data, steps=2, progress=False)
    with pytest.raises(ValueError, match="2-D features"):
        viz.feature_animation({"sce": h})


def test_attack_animation_frames_follow_the_trajectory(runs):
    from robviz.attacks import PGD

    data, models, histories = runs
    model = models["sce"]
    result = PGD(model, eps=0.5, alpha=0.1, steps=5, random_start=False, bounds=data.bounds).run(
        data.x_test[:4], data.y_test[:4], record=True
    )
    t = result.trajectory
    fig = viz.attack_animation(
        t.inputs,
        t.predictions,
        data.y_test[:4],
        features=t.features,
        input_regions=input_regions(model, (-3, 3, -3, 3), resolution=10),
        eps=0.5,
    )
    assert [f.name for f in fig.frames] == [str(i) for i in range(6)]
    assert all(len(f.data) == len(fig.data) for f in fig.frames)
    # The last frame's marker of sample 0 sits at the final adversarial input.
    markers = [
        tr for tr in fig.frames[-1].data if tr.type == "scatter" and tr.name == "input plane 0"
    ]
    assert markers and abs(float(markers[0].x[0]) - float(result.x_adv[0, 0])) < 1e-5
    with pytest.raises(ValueError, match="predictions must have shape"):
        viz.attack_animation(t.inputs, t.predictions[:2], data.y_test[:4])


def test_ball_outline_and_heatmap():
    x, y = viz.ball_outline((0.0, 0.0), 0.5, "Linf")
    assert max(abs(v) for v in x) == 0.5 and x[0] == x[-1]
    with pytest.raises(ValueError, match="unknown norm"):
        viz.ball_outline((0, 0), 1, "L3")
    fig = viz.robustness_heatmap(
        ["SCE"], ["clean", "PGD"], [[99.0, 10.0]], reference=[[92.9, None]]
    )
    assert "talk 92.9" in fig.data[0].text[0][0] and fig.data[0].text[0][1] == "10.0"


def test_exact_figures_keep_their_legend_and_axis_on_the_data():
    from robviz.viz.exact import distance_scatter, exact_vs_attacks

    attacks = {
        m: {
            a: [0.6, 0.1]
            for a in ("FGSM", "PGD-10", "PGD-50", "APGD (1 restart)", "SPSA", "auto_attack")
        }
        for m in ("SCE", "MMC")
    }
    fig = exact_vs_attacks([0.25, 0.5], {"SCE": [0.5, 0.0], "MMC": [0.5, 0.0]}, attacks)
    assert (
        fig.layout.legend.orientation == "h" and fig.layout.margin.t >= 46 + 2 * 24
    )  # rows above the plot
    exact = torch.tensor([0.2, 0.5, 0.6])
    scatter = distance_scatter({"SCE": exact}, {"SCE DeepFool": torch.tensor([0.3, 1.0, 4.4])})
    assert scatter.layout.xaxis.range[1] == pytest.approx(
        1.05 * 0.6
    )  # not 4.4: the x data end at 0.6
    assert max(scatter.data[-1].x) == pytest.approx(0.6)


def test_bounds_sandwich_one_panel_per_model_one_legend_per_series():
    from robviz.viz.exact import bounds_sandwich

    panels = {
        m: {"IBP": [0.5, 0.0], "CROWN": [0.9, 0.4], "exact": [1.0, 0.6], "PGD-10": [1.0, 0.7]}
        for m in ("SCE", "MMC")
    }
    fig = bounds_sandwich([0.01, 0.05], panels)
    assert len(fig.data) == 8 and [t.showlegend for t in fig.data].count(True) == 4
    sce = {t.name: t for t in fig.data if t.xaxis == "x"}
    mmc = {t.name: t for t in fig.data if t.xaxis == "x2"}
    assert sce["exact"].line.color == viz.NAMED_COLORS["exact"]
    assert sce["IBP"].line.color == mmc["IBP"].line.color
    assert list(sce["CROWN"].y) == [90.0, 40.0] and set(mmc) == set(panels["MMC"])
    assert fig.layout.height <= 600
    # the legend in the given order; the exact line drawn first (under the others), dotted lines
    # over solid ones, so that two series that agree both show
    ranked = sorted((t for t in fig.data if t.showlegend), key=lambda t: t.legendrank)
    assert [t.name for t in ranked] == ["IBP", "CROWN", "exact", "PGD-10"]
    drawn = [t.name for t in fig.data if t.xaxis == "x"]
    assert drawn[0] == "exact"
    dotted = [drawn.index(n) for n, t in sce.items() if t.line.dash == "dot"]
    solid = [drawn.index(n) for n, t in sce.items() if t.line.dash is None and n != "exact"]
    assert dotted and solid and min(dotted) > max(solid)
    with pytest.raises(ValueError, match="2 radii"):
        bounds_sandwich([0.01, 0.05], {"SCE": {"IBP": [0.1]}})
    with pytest.raises(ValueError, match="empty"):
        bounds_sandwich([0.01], {})


def test_box_comparison_labels_an_attack_not_run_on_a_model():
    from robviz.masking import BoxComparison

    fig = viz.box_comparison_figure(
        {
            "SCE": BoxComparison(eps=0.1, accuracy={"white-box PGD": 0.2, "SPSA": 0.3}),
            "MMC": BoxComparison(eps=0.1, accuracy={"white-box PGD": 0.5}),
        }
    )
    spsa = next(t for t in fig.data if t.name == "SPSA")
    assert list(spsa.x) == ["SCE", "MMC"] and list(spsa.text) == ["", "not run"]
    assert spsa.y[0] == pytest.approx(30.0)
    pgd = next(t for t in fig.data if t.name == "white-box PGD")
    assert list(pgd.text) == ["", ""] and list(pgd.y) == pytest.approx([20.0, 50.0])


def test_distance_scatter_draws_each_estimate_against_its_own_model():
    """ "SCE-AT C&W" was drawn against SCE's exact distances, the first name it starts with."""
    from robviz.viz.exact import distance_scatter

    exact = {"SCE": torch.tensor([0.1, 0.2]), "SCE-AT": torch.tensor([0.5, 0.6])}
    fig = distance_scatter(exact, {"SCE-AT C&W": torch.tensor([0.7, 0.8])})
    assert list(fig.data[0].x) == pytest.approx([0.5, 0.6])
    # a label of no model is refused, never drawn against another model's truth
    with pytest.raises(ValueError, match=r"estimates\['mmc DeepFool'\] starts with no model"):
        distance_scatter(exact, {"mmc DeepFool": torch.tensor([0.7, 0.8])})
    # one model: every estimate is its own, whatever its label
    fig = distance_scatter(torch.tensor([0.1, 0.2]), {"DeepFool": torch.tensor([0.3, 0.4])})
    assert list(fig.data[0].x) == pytest.approx([0.1, 0.2])


def test_distance_scatter_on_log_axes_spans_the_drawn_distances_with_the_diagonal():
    """Lesson 2 patched the figure: one DeepFool estimate of 4.4 squeezed C&W's below 0.95."""
    from robviz.viz.exact import distance_scatter

    exact = {"MMC": torch.tensor([0.1, 0.4, 0.0, math.inf])}
    estimates = {"MMC DeepFool": torch.tensor([4.4, 0.5, 0.3, math.inf])}
    fig = distance_scatter(exact, estimates, log=True)
    x_axis, y_axis = fig.layout.xaxis, fig.layout.yaxis
    assert x_axis.type == y_axis.type == "log" and "log scale" in x_axis.title.text
    assert x_axis.range == pytest.approx((math.log10(0.1 / 1.2), math.log10(0.4 * 1.2)))
    assert y_axis.range == pytest.approx((math.log10(0.1 / 1.2), math.log10(4.4 * 1.2)))
    diagonal = fig.data[-1]
    assert diagonal.name == "estimate = exact" and list(diagonal.x) == list(diagonal.y)
    assert list(diagonal.x) == pytest.approx([0.1 / 1.2, 0.4 * 1.2])
    assert list(fig.data[0].x) == pytest.approx([0.1, 0.4])  # 0 and inf are not drawn
    linear = distance_scatter(exact, estimates)
    assert linear.layout.xaxis.type is None and list(linear.data[-1].x) == pytest.approx([0, 0.4])


def test_distance_scatter_has_the_layout_of_every_figure():
    """Lesson 2's scatter kept plotly's legend column on the right: it never called fit_layout."""
    from robviz.viz.exact import distance_scatter

    estimates = {
        f"{m} {a}": torch.tensor([0.3, 0.4]) for m in ("SCE", "MMC") for a in ("DeepFool", "C&W")
    }
    exact = {"SCE": torch.tensor([0.1, 0.2]), "MMC": torch.tensor([0.1, 0.2])}
    fig = distance_scatter(exact, estimates, title="L_2 distances")
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yref == "container"
    assert fig.layout.height <= viz.MAX_HEIGHT and fig.layout.width is None
    assert fig.layout.title.text == "L<sub>2</sub> distances"


def test_a_series_missing_from_the_first_panel_keeps_its_legend_entry():
    """The legend was the first panel's: a series drawn only in a later panel had no entry."""
    from robviz.viz.density import convergence_figure
    from robviz.viz.detection import roc_figure
    from robviz.viz.exact import bounds_sandwich

    def legend(fig):
        return sorted(t.name for t in fig.data if t.name and t.showlegend is not False)

    steps = torch.arange(3)
    fig = convergence_figure(
        {
            "loss": {"mmc": (steps, [3.0, 2.0, 1.0])},
            "acc": {"mmc": (steps, [0.1, 0.5, 0.9]), "center": (steps, [0.2, 0.3, 0.4])},
        }
    )
    assert legend(fig) == ["Center loss", "MMC"]
    rate = torch.linspace(0, 1, 3)
    fig = roc_figure(
        {
            "FGSM": {"RCE · K-density": (rate, rate, 0.5)},
            "PGD": {"RCE · K-density": (rate, rate, 0.5), "CE · K-density": (rate, rate, 0.6)},
        }
    )
    assert legend(fig) == ["CE · K-density", "RCE · K-density"]
    fig = bounds_sandwich(
        [0.1, 0.2],
        {"SCE": {"exact": [1.0, 0.5]}, "MMC": {"exact": [1.0, 0.6], "PGD-10": [1.0, 0.7]}},
    )
    assert legend(fig) == ["PGD-10", "exact"]


def test_a_fixed_plane_range_never_cuts_off_a_drawn_point():
    """The regions' or the given extent set the axes: a point outside it was not drawn."""
    from robviz.regions import Regions

    def holds(fig, axis, points):
        (x_min, x_max), (y_min, y_max) = (
            fig.layout[f"xaxis{axis}"].range,
            fig.layout[f"yaxis{axis}"].range,
        )
        points = torch.as_tensor(points).reshape(-1, 2)
        return bool(
            (points[:, 0] >= x_min).all()
            and (points[:, 0] <= x_max).all()
            and (points[:, 1] >= y_min).all()
            and (points[:, 1] <= y_max).all()
        )

    small = Regions(torch.zeros(4, 4, dtype=torch.long), (-1.0, 1.0, -1.0, 1.0))
    z, y = torch.tensor([[0.0, 0.0], [3.0, -2.0]]), torch.tensor([0, 1])
    fig = viz.feature_figure(z, y, regions=small)
    assert holds(fig, "", z) and fig.layout.xaxis.range[0] == -1.0  # widened only where needed
    path = torch.tensor([[[0.0, 0.0]], [[0.5, 0.5]], [[2.5, 0.5]]])  # leaves the regions' box
    fig = viz.attack_animation(
        path,
        torch.zeros(3, 1, dtype=torch.long),
        torch.zeros(1, dtype=torch.long),
        input_regions=small,
    )
    assert holds(fig, "", path)
    fig = viz.boundary_animation(
        {"SCE": [np.zeros((0, 2, 2))]}, [0], z, y, extent=(-1.0, 1.0, -1.0, 1.0)
    )
    assert holds(fig, "", z)


def test_a_region_of_a_class_no_point_has_keeps_its_own_colour():
    """Class 2's region took class 1's colour when the points drawn over it were of 0 and 1 only."""
    from robviz.regions import Regions

    regions = Regions(torch.tensor([[0, 1, 2]] * 3), (-1.0, 1.0, -1.0, 1.0))
    fig = viz.attack_animation(
        torch.zeros(2, 2, 2),
        torch.tensor([[0, 1], [0, 1]]),
        torch.tensor([0, 1]),
        input_regions=regions,
    )
    heatmap = next(t for t in fig.data if t.type == "heatmap")
    assert heatmap.zmax == 3 and heatmap.colorscale[-1][1] == viz.class_color(2)


def test_animate_refuses_an_active_frame_that_does_not_exist():
    """active=5 of three frames opened on frame 2 (taken modulo 3) without a word."""

    def build(active):
        fig = go.Figure([go.Scatter(x=[0], y=[0])])
        frames = [[go.Scatter(x=[i], y=[i])] for i in range(3)]
        return viz.animate(fig, frames, ["a", "b", "c"], active=active)

    assert build(-1).layout.sliders[0].active == 2
    with pytest.raises(ValueError, match="active must index one of the 3 frames, got 5"):
        build(5)


def test_a_power_written_with_a_caret_is_set_as_a_superscript():
    """Lesson 4's legend showed "ℓ^((d-1)/2)" as typed: a caret is code, not mathematics."""
    fig = go.Figure([go.Scatter(x=[1, 2], y=[1, 2], name="N p(ℓ) / ℓ^((d-1)/2), fitted")])
    fig.update_xaxes(title_text="det(M M^T)")
    viz.fit_layout(fig, height=300, title="SD ∝ ℓ^-1 and σ_y^2")
    assert fig.data[0].name == "N p(ℓ) / ℓ<sup>(d-1)/2</sup>, fitted"
    assert fig.layout.xaxis.title.text == "det(M M<sup>T</sup>)"
    assert fig.layout.title.text == "SD ∝ ℓ<sup>-1</sup> and σ<sub>y</sub><sup>2</sup>"
    assert viz.math_text("no power here") == "no power here"


def test_a_plane_panel_keeps_its_range_on_both_axes():
    """Lesson 4's three loss panels, taller than wide, stretched their y range from ±8 to ±11."""
    from plotly.subplots import make_subplots

    from robviz.viz.features import plane_axes

    fig = make_subplots(rows=1, cols=3)
    for p in range(3):
        plane_axes(fig, p, (-8.0, 8.0, -8.0, 8.0))
    for axis in ("", "2", "3"):
        x, y = fig.layout[f"xaxis{axis}"], fig.layout[f"yaxis{axis}"]
        assert y.scaleanchor == f"x{axis}"  # equal scale
        assert x.constrain == y.constrain == "domain"  # the panel shrinks, never the range
        assert y.constraintoward == "top"  # under its subplot title
        assert list(y.range) == [-8.0, 8.0]


def test_exact_vs_attacks_gives_each_model_one_legend_row():
    """Lesson 2's legend ran five entries to a row: SCE's four and MMC's exact line, then MMC's
    attacks under them."""
    from robviz.viz.exact import exact_vs_attacks

    exact = {"SCE": [0.5, 0.1], "MMC": [0.6, 0.0]}
    attacks = {m: {a: [0.7, 0.2] for a in ("FGSM", "PGD-50", "auto_attack")} for m in exact}
    legend = exact_vs_attacks([0.25, 0.5], exact, attacks).layout.legend
    assert legend.entrywidth == 0.25 and legend.entrywidthmode == "fraction"
    # models with different numbers of attacks: the entries flow as they fit
    attacks["MMC"] = {"FGSM": [0.7, 0.2]}
    assert exact_vs_attacks([0.25, 0.5], exact, attacks).layout.legend.entrywidth is None
