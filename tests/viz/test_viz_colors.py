"""One colour per model and per instrument, whichever figure draws it (and in whatever order)."""

from types import SimpleNamespace

import plotly.graph_objects as go
import pytest
import torch

from robviz import viz


def _colors(fig: go.Figure) -> dict:
    """Return legend name -> colour of the named traces of ``fig``."""
    out = {}
    for trace in fig.data:
        if not trace.name:
            continue
        line = getattr(trace, "line", None)
        color = (line.color if line is not None else None) or trace.marker.color
        out.setdefault(trace.name, color)
    return out


def _history(step_count=3):
    steps = list(range(step_count))
    return SimpleNamespace(step=steps, loss=[1.0] * step_count, test_accuracy=[0.5] * step_count)


def _figures(order):
    """Every builder that draws series named by model or instrument, series in ``order``."""
    objectives = ["sce", "mmc", "center", "lgm", "mmlda", "rce"]
    labels = [viz.OBJECTIVE_LABELS[name] for name in objectives]
    instruments = ["exact", "IBP", "CROWN", "PGD-10", "auto_attack"]
    if order:
        objectives, labels, instruments = objectives[::-1], labels[::-1], instruments[::-1]
    x, values = [0.0, 0.1], [0.9, 0.5]
    distances = {label: torch.rand(20) for label in labels[:2]}
    curve = SimpleNamespace(eps=x, accuracy=values, looks_masked=False)
    line = SimpleNamespace(
        alphas=torch.linspace(0, 1, 5),
        loss=torch.rand(5, 2),
        mean=torch.rand(5),
        looks_masked=False,
    )
    box = SimpleNamespace(accuracy={"clean": 0.9, "white-box PGD": 0.1})
    return [
        viz.training_curves({n: _history() for n in objectives}, metrics=("loss",)),
        viz.accuracy_lines(x, {n: values for n in objectives}, x_title="x", title="t"),
        viz.accuracy_lines(x, {n: values for n in ["clean", *labels]}, x_title="x", title="t"),
        viz.accuracy_lines(
            x, {n: values for n in ["SCE-AT", *instruments]}, x_title="x", title="t"
        ),
        viz.exact_vs_attacks(x, {n: values for n in labels}, {labels[0]: {"PGD-10": values}}),
        viz.bounds_sandwich(x, {"SCE": {n: values for n in instruments}}),
        viz.distance_histogram(distances),
        viz.distance_scatter(
            {label: torch.rand(20) + 0.1 for label in labels[:2]},
            {f"{label} {attack}": torch.rand(20) + 0.5 for label in labels[:2] for attack in "AB"},
        ),
        viz.eps_curve_figure({n: curve for n in labels}),
        viz.loss_line_figure({n: line for n in labels}),
        viz.box_comparison_figure({n: box for n in labels}),
        viz.convergence_figure({"loss": {n: (torch.arange(2), values) for n in labels}}),
    ]


def test_the_same_name_gets_the_same_colour_in_every_figure():
    """Lesson 2 drew MMC orange in one figure and "SCE C&W" orange in the next.

    The same model or instrument now has one colour everywhere, whatever the order of the series.
    """
    seen: dict = {}
    for order in (0, 1):
        for fig in _figures(order):
            for name, color in _colors(fig).items():
                key = viz.named_color(name)
                if key is None:
                    continue
                seen.setdefault(name.split(":")[0].split(" ")[0], set()).add(color)
                assert color == viz.named_color(name), (name, color, fig.layout.title.text)
    assert {"SCE", "MMC", "Center", "L-GM", "exact", "IBP", "CROWN"} <= set(seen)
    assert all(len(colors) == 1 for colors in seen.values()), seen
    # one colour per objective, one per instrument, all different within each family
    for family in (["sce", "mmc", "center", "lgm", "mmlda", "rce"], ["exact", "ibp", "crown"]):
        assert len({viz.NAMED_COLORS[n] for n in family}) == len(family)


def test_variants_and_spellings_share_the_colour_of_their_model():
    mmc, sce = viz.NAMED_COLORS["mmc"], viz.NAMED_COLORS["sce"]
    for name in ("MMC", "mmc", "MMC-AT", "MMC (TRADES)", "MMC: PGD-10", "MMC · batch 5", "MMC C&W"):
        assert viz.named_color(name) == mmc, name
    assert viz.named_color("Center loss") == viz.named_color("center") != mmc
    assert viz.named_color("PGD-50") == viz.NAMED_COLORS["pgd"]
    assert viz.named_color("clean") is None and viz.named_color("auto") is None
    assert viz.series_dash("SCE-AT") == "dash" and viz.series_dash("SCE") is None
    # the variants of a lesson stay apart: same hue, different dash
    fig = viz.accuracy_lines([0, 1], {n: [0, 1] for n in ("SCE", "SCE-AT")}, x_title="x", title="t")
    assert fig.data[0].line.color == fig.data[1].line.color == sce
    assert fig.data[0].line.dash != fig.data[1].line.dash


def test_names_without_a_colour_take_free_ones():
    colors = viz.series_colors(["clean", "SCE", "rounded SCE", "clean"])
    assert colors[1] == viz.NAMED_COLORS["sce"]
    assert colors[0] == colors[3] and len({colors[0], colors[1], colors[2]}) == 3


@pytest.mark.parametrize(
    "text, shown",
    [
        ("ADP_2,0.5", "ADP<sub>2,0.5</sub>"),
        ("σ_y = 0.35", "σ<sub>y</sub> = 0.35"),
        ("auto_attack", "auto_attack"),
    ],
)
def test_subscripts_are_set_as_subscripts(text, shown):
    fig = viz.accuracy_lines([0, 1], {text: [0, 1]}, x_title="α_1", title=text)
    assert fig.data[0].name == shown and fig.layout.title.text == shown
    assert fig.layout.xaxis.title.text == "α<sub>1</sub>"


def test_log_axes_label_powers_of_ten():
    fig = viz.training_curves(
        {"mmc": _history()}, metrics=("loss", "test_accuracy"), log_y=("loss",)
    )
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
    assert fig.layout.yaxis2.exponentformat is None
