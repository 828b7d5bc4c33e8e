"""Every figure builder refuses empty and non-finite data, naming the argument.

Plotly draws an empty trace as an empty panel and leaves NaN and inf out without a word, so a figure
of bad data would look like a figure of good data. ``EXAMPLES`` holds, per public figure builder of
``robviz.viz``, a function giving its arguments in four variants: ``"valid"`` (tiny data that
renders), ``"empty"`` (no series or no points), ``"bad"`` (a NaN or inf the builder refuses) and,
for the builders that give a non-finite value a meaning, ``"meaning"`` (that value, which the
figure must label). A new builder without an entry fails the completeness test.
"""

import dataclasses
import inspect
import json
import re
import math
from typing import Callable, NamedTuple

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz import viz
from robviz.landscape import DensityGrid, LossGrid
from robviz.masking import BoxComparison, EpsCurve, LossLine, LossSurface, StepsCurve
from robviz.mixup_inference import MixingEffect
from robviz.regions import Regions
from robviz.shell_density import SampleDensity
from robviz.train import History, TrainConfig

NAN, INF = math.nan, math.inf

# The names of robviz.viz.__all__ that are no figure builder: the style, constants, helpers that
# return a trace or coordinates, and the data check itself.
NOT_FIGURE_BUILDERS = {
    "ball_outline",  # coordinates of an outline
    "boundary_trace",  # one trace (NaN there are its gaps between segments)
    "figure_series",
    "figure_mapping",
    "figure_record",
    "figure_values",
    "CLASS_COLORS",
    "SERIES_COLORS",
    "TEMPLATE",
    "OBJECTIVE_LABELS",
    "INK",
    "MAX_WIDTH",
    "MAX_PLAY_HEIGHT",
    "MAX_HEIGHT",
    "NAMED_COLORS",
    "class_color",
    "class_count",
    "distinct_labels",
    "series_color",
    "named_color",
    "series_colors",
    "series_dash",
    "math_text",
    "plot_array",
    "fit_layout",
    "legend_row_count",
    "animation_controls",
    "animate",
    "frame_duration",
}


class Example(NamedTuple):
    """How to call one builder, and what its errors must name."""

    make: Callable[[str], tuple[tuple, dict]]  # variant -> (args, kwargs)
    empty: str  # the argument the "empty" variant's error names
    bad: str  # the argument the "bad" variant's error names
    shows: str | None = None  # the label of the "meaning" variant, where NaN or inf has one


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _spoil(x, variant, value=NAN, at=0):
    """Return ``x``, or a copy with flat entry ``at`` set to ``value`` for variant "bad"."""
    if variant != "bad":
        return x
    x = x.double().clone() if torch.is_tensor(x) else torch.tensor(np.array(x, dtype=np.float64))
    x.view(-1)[at] = value
    return x


Y6 = torch.tensor([0, 1, 2, 0, 1, 2])


def _history(variant="valid"):
    features = _spoil(_rand(2, 6, 2) * 4 - 2, variant, at=13)
    return History(
        objective="sce",
        config=TrainConfig(),
        step=[0, 10],
        loss=[float(value) for value in _spoil([1.0, 0.5], variant, at=1)],
        train_accuracy=[0.3, 0.9],
        test_accuracy=[0.3, 0.8],
        feature_norm=[1.0, 2.0],
        features=features.float(),
        probe_y=Y6,
    )


def _histories(v):
    return {} if v == "empty" else {"sce": _history(v)}


def _regions():
    return Regions(torch.zeros(4, 4, dtype=torch.long), (-3.0, 3.0, -3.0, 3.0))


def attack_animation(v):
    n = 0 if v == "empty" else 2
    inputs = _spoil(_rand(3, n, 2), v, at=2).float()
    return (inputs, torch.zeros(3, n, dtype=torch.long), torch.zeros(n, dtype=torch.long)), {}


def distance_histogram(v):
    values = {"empty": [], "meaning": [0.1, INF, 0.3]}.get(v, [0.1, 0.2, 0.3])
    return ({"SCE": _spoil(torch.tensor(values), v, at=1)},), {}


def robustness_heatmap(v):
    if v == "empty":
        return ([], ["clean"], np.zeros((0, 1))), {}
    values = _spoil([[90.0, 10.0], [91.0, NAN if v == "meaning" else 40.0]], v, INF)
    return (["SCE", "MMC"], ["clean", "PGD"], values), {}


def training_curves(v):
    return (_histories(v),), {"metrics": ("loss", "test_accuracy")}


def exact_vs_attacks(v):
    eps = [] if v == "empty" else [0.1, 0.2]
    return (eps, {"SCE": [0.9, 0.5]}, {"SCE": {"PGD": _spoil([0.95, 0.6], v)}}), {}


def distance_scatter(v):
    estimate = {"meaning": [0.15, INF, 0.35]}.get(v, [0.15, 0.25, 0.35])
    estimates = {} if v == "empty" else {"SCE DeepFool": _spoil(estimate, v, at=1)}
    return ({"SCE": torch.tensor([0.1, 0.2, 0.3])}, estimates), {}


def bounds_sandwich(v):
    panels = {} if v == "empty" else {"SCE": {"IBP": [0.5, 0.2], "exact": _spoil([0.8, 0.5], v)}}
    return ([0.1, 0.2], panels), {}


def feature_animation(v):
    return (_histories(v),), {}


def feature_figure(v):
    n = 0 if v == "empty" else 6
    return (_spoil(_rand(n, 2), v, at=5).float(), Y6[:n]), {}


def feature_panels(v):
    return (_histories(v), {"sce": _regions()}), {}


def boundary_animation(v):
    segments = [np.array([[[0.0, -1.0], [0.0, 1.0]]]), np.zeros((0, 2, 2))]
    boundaries = {} if v == "empty" else {"SCE": segments}
    x = _spoil(_rand(6, 2), v, at=3)
    return (boundaries, [0, 10], x, Y6), {"extent": (-3.0, 3.0, -3.0, 3.0)}


def accuracy_lines(v):
    series = {} if v == "empty" else {"train": _spoil([0.5, 0.6, 0.7], v)}
    return ([0, 1, 2], series), {"x_title": "step", "title": "t"}


def centers_figure(v):
    centers = np.zeros((0, 2)) if v == "empty" else [[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]]
    return (_spoil(centers, v, at=3),), {}


def expected_distance_figure(v):
    deltas, values = ([], []) if v == "empty" else ([0.0, 1.0, 2.0], [0.8, 1.0, 1.3])
    return (deltas, _spoil(values, v, at=2)), {}


def robustness_comparison_figure(v):
    return (_spoil([] if v == "empty" else [0.3, 0.4, 0.5], v), 0.6), {}


def _loss_grid(name, variant="valid"):
    return LossGrid(_spoil(_rand(5, 5) + 0.1, variant, at=7), (-2.0, 2.0, -2.0, 2.0), 0, name)


def loss_contours_figure(v):
    return ([] if v == "empty" else [_loss_grid("SCE", v)],), {}


def curse_of_softmax_animation(v):
    t = 0 if v == "empty" else 4
    path = torch.stack([torch.linspace(-1, 1, t), torch.zeros(t)], dim=1)
    grids = (_loss_grid("SCE"), _loss_grid("MMC"))
    return (*grids, path, torch.full((t,), 0.1), _spoil(torch.linspace(0.1, 1, t), v)), {}


def density_heatmap_animation(v):
    grids = {} if v == "empty" else {"sce": DensityGrid(_spoil(_rand(2, 4, 4), v), (-1, 1, -1, 1))}
    return (grids, [0, 10]), {}


def _sample_density(variant):
    log_densities = _spoil(torch.log(_rand(2, 3) + 0.5), variant, INF)
    if variant == "meaning":
        log_densities[:, 1] = -INF  # the middle shell of both classes is empty
    return SampleDensity(
        edges=torch.tensor([[0.0, 0.1, 0.2, 0.3]] * 2),
        counts=torch.ones(2, 3),
        log_volumes=torch.zeros(2, 3),
        log_densities=log_densities,
        class_sizes=torch.tensor([3, 3]),
        feature_dim=2,
        method="sphere",
        quantiles=(0.02, 0.98),
    )


def shell_density_figure(v):
    return ({} if v == "empty" else {"mmc": _sample_density(v)},), {}


def sample_density_figure(v):
    if v == "empty":
        return ([], [], {}), {}
    measured = {"meaning": [1.0, -INF, 0.0]}.get(v, [1.0, 0.5, 0.0])
    theory = {"exact": ([0.1, 0.2, 0.3], [1.1, 0.4, 0.1])}
    return ([0.1, 0.2, 0.3], _spoil(measured, v, at=1), theory), {}


def convergence_figure(v):
    panels = {} if v == "empty" else {"train accuracy": {"mmc": ([0, 10], _spoil([0.5, 0.9], v))}}
    return (panels,), {}


def embedding_animation(v):
    return ({} if v == "empty" else {"sce": _spoil(_rand(2, 6, 2), v, at=4)}, Y6), {}


def non_me_domain_figure(v):
    panel = dict(
        domain={"labels": np.zeros((4, 4), dtype=int), "extent": (-3.0, 3.0, -3.0, 3.0)},
        lines=[np.array([[0.0, 0.0], [1.0, 1.0]])],
        features=_spoil(_rand(6, 2), v, at=2),
        labels=Y6,
    )
    return ({} if v == "empty" else {"RCE": panel},), {}


def roc_figure(v):
    tpr = _spoil([0.0, 0.8, 1.0], v, at=1)
    return ({} if v == "empty" else {"FGSM": {"RCE · K-density": ([0, 0.5, 1], tpr, 0.8)}},), {}


def detection_table(v):
    if v == "empty":
        return ({},), {}
    rce = {"meaning": NAN, "bad": INF}.get(v, 0.9)
    return ({"FGSM": {"sce": {"non-ME": 0.7}, "rce": {"non-ME": rce}}},), {}


def ternary_animation(v):
    points = _spoil(_rand(2, 2, 3, 3).softmax(-1), v, at=5)
    return ({} if v == "empty" else {"ADP": points}, [0, 10]), {}


def diversity_figure(v):
    diversity = {} if v == "empty" else {"ADP": [0.1, 0.5]}
    return ([0, 10], diversity, {"ADP": _spoil([30.0, 60.0], v)}), {}


def transferability_heatmap(v):
    return ({} if v == "empty" else {"ADP": _spoil(_rand(2, 2), v)},), {}


def adp_optimum_figure(v):
    alphas, theory = ([], []) if v == "empty" else ([1.0, 2.0, 3.0], [0.5, 0.6, 0.7])
    return (alphas, _spoil(theory, v, at=1)), {"K": 3, "L": 10}


def mixing_animation(v):
    k = 0 if v == "empty" else 3
    lams = torch.linspace(0, 1, k)
    effect = MixingEffect(
        lams=lams,
        effect=torch.zeros(k),
        clean_true=torch.zeros(k),
        adv_true=torch.zeros(k),
        mixed_clean=_rand(k, 2, 1, 2),
        mixed_adv=_spoil(_rand(k, 2, 1, 2, seed=1), v, at=3),
    )
    return (effect, lams, _rand(6, 2), Y6), {}


def eps_curve_figure(v):
    curve = EpsCurve(eps=[0.0, 0.1], accuracy=_spoil([0.9, 0.5], v), looks_masked=False, verdict="")
    return ({} if v == "empty" else {"SCE": curve},), {}


def steps_curve_figure(v):
    if v == "empty":
        return (StepsCurve([], [1], [], looks_masked=False, verdict=""),), {}
    accuracy = _spoil([[0.5], [0.4]], v).tolist() if v == "bad" else [[0.5], [0.4]]
    return (StepsCurve([1, 5], [1], accuracy, looks_masked=False, verdict="ok"),), {}


def box_comparison_figure(v):
    accuracy = {"white-box PGD": NAN if v == "bad" else 0.2, "transfer": 0.5}
    return ({} if v == "empty" else {"SCE": BoxComparison(eps=0.1, accuracy=accuracy)},), {}


def loss_line_figure(v):
    loss = _spoil(_rand(3, 2), v, at=3)
    line = LossLine(
        alphas=torch.linspace(-1, 1, 3),
        loss=loss,
        mean=loss.mean(1),
        slope=torch.zeros(2),
        looks_masked=False,
        verdict="",
    )
    return ({} if v == "empty" else {"SCE": line},), {}


def loss_surface_figure(v):
    n = 0 if v == "empty" else 3
    return (
        LossSurface(
            alphas=torch.linspace(-1, 1, n),
            betas=torch.linspace(-1, 1, n),
            loss=_spoil(_rand(n, n), v, at=4),
            looks_masked=False,
            verdict="",
        ),
    ), {}


EXAMPLES = {
    "attack_animation": Example(attack_animation, "inputs", "inputs"),
    "distance_histogram": Example(
        distance_histogram, "distances['SCE']", "distances['SCE']", shows="1 of 3 at ∞"
    ),
    "robustness_heatmap": Example(robustness_heatmap, "rows", "values", shows="not run"),
    "training_curves": Example(training_curves, "histories", "histories['sce'].loss"),
    "exact_vs_attacks": Example(exact_vs_attacks, "eps_list", "attacks['SCE']['PGD']"),
    "distance_scatter": Example(
        distance_scatter, "estimates", "estimates['SCE DeepFool']", shows="1 of 3 not drawn"
    ),
    "bounds_sandwich": Example(bounds_sandwich, "panels", "panels['SCE']['exact']"),
    "feature_animation": Example(feature_animation, "histories", "histories['sce'].features"),
    "feature_figure": Example(feature_figure, "z", "z"),
    "feature_panels": Example(feature_panels, "histories", "histories['sce'].features"),
    "boundary_animation": Example(boundary_animation, "boundaries", "x"),
    "accuracy_lines": Example(accuracy_lines, "series", "series['train']"),
    "centers_figure": Example(centers_figure, "centers", "centers"),
    "expected_distance_figure": Example(expected_distance_figure, "deltas", "formula_values"),
    "robustness_comparison_figure": Example(
        robustness_comparison_figure, "random_bounds", "random_bounds"
    ),
    "loss_contours_figure": Example(loss_contours_figure, "grids", "grids[0].values"),
    "curse_of_softmax_animation": Example(curse_of_softmax_animation, "path", "mmc_losses"),
    "density_heatmap_animation": Example(density_heatmap_animation, "grids", "grids['sce'].values"),
    "shell_density_figure": Example(
        shell_density_figure,
        "densities",
        "densities['mmc'].log_densities",
        shows="1 of 3 shells without a density",
    ),
    "sample_density_figure": Example(
        sample_density_figure, "losses", "log_measured", shows="1 of 3 at SD = 0"
    ),
    "convergence_figure": Example(
        convergence_figure, "panels", "panels['train accuracy']['mmc'] values"
    ),
    "embedding_animation": Example(embedding_animation, "embeddings", "embeddings['sce']"),
    "non_me_domain_figure": Example(non_me_domain_figure, "panels", "panels['RCE']['features']"),
    "roc_figure": Example(roc_figure, "curves", "curves['FGSM']['RCE · K-density'] tpr"),
    "detection_table": Example(detection_table, "aucs", "aucs['FGSM']['rce']['non-ME']", shows="–"),
    "ternary_animation": Example(ternary_animation, "points", "points['ADP']"),
    "diversity_figure": Example(diversity_figure, "diversity", "angles['ADP']"),
    "transferability_heatmap": Example(transferability_heatmap, "matrices", "matrices['ADP']"),
    "adp_optimum_figure": Example(adp_optimum_figure, "alphas", "theory"),
    "mixing_animation": Example(mixing_animation, "lams", "effect.mixed_adv"),
    "eps_curve_figure": Example(eps_curve_figure, "curves", "curves['SCE'].accuracy"),
    "steps_curve_figure": Example(steps_curve_figure, "curve.steps", "curve.accuracy"),
    "box_comparison_figure": Example(
        box_comparison_figure, "comparisons", "comparisons['SCE'].accuracy['white-box PGD']"
    ),
    "loss_line_figure": Example(loss_line_figure, "lines", "lines['SCE'].loss"),
    "loss_surface_figure": Example(loss_surface_figure, "surface.alphas", "surface.loss"),
}


def _call(name, variant):
    args, kwargs = EXAMPLES[name].make(variant)
    return getattr(viz, name)(*args, **kwargs)


def _text(fig):
    """Return the figure as JSON text with its characters as written (∞, not \\u221e)."""
    return json.dumps(json.loads(fig.to_json()), ensure_ascii=False)


def test_every_figure_builder_has_an_example():
    builders = set(viz.__all__) - NOT_FIGURE_BUILDERS
    assert not NOT_FIGURE_BUILDERS - set(viz.__all__), "an exclusion names no public name"
    assert set(EXAMPLES) == builders, (
        f"figure builders without an example: {sorted(builders - set(EXAMPLES))}; "
        f"examples of no public builder: {sorted(set(EXAMPLES) - builders)}"
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_renders(name):
    fig = _call(name, "valid")
    assert isinstance(fig, go.Figure) and fig.data


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_empty_data_is_refused_naming_the_argument(name):
    with pytest.raises(ValueError, match="empty") as error:
        _call(name, "empty")
    assert EXAMPLES[name].empty in str(error.value)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_non_finite_data_is_refused_naming_the_argument(name):
    with pytest.raises(ValueError, match="non-finite|finite") as error:
        _call(name, "bad")
    assert EXAMPLES[name].bad in str(error.value)


@pytest.mark.parametrize("name", sorted(n for n, e in EXAMPLES.items() if e.shows))
def test_a_non_finite_value_with_a_meaning_is_labelled_in_the_figure(name):
    assert EXAMPLES[name].shows not in _text(_call(name, "valid"))
    assert EXAMPLES[name].shows in _text(_call(name, "meaning"))


def test_figure_values_names_the_samples_and_the_refused_kinds():
    with pytest.raises(
        ValueError,
        match=r"d\['a'\] has non-finite values \(NaN\) in 2 of 4 samples, at sample index 1, 3",
    ):
        viz.figure_values("d['a']", [0.0, NAN, INF, NAN], allow=("inf", "-inf"))
    values = viz.figure_values("d", torch.tensor([[0.0, -INF]]), allow=("-inf",))
    assert values.dtype == np.float64 and values.shape == (1, 2)
    assert viz.figure_values("d", np.zeros((0, 2, 2)), allow_empty=True).shape == (0, 2, 2)
    with pytest.raises(ValueError, match="scalar"):
        viz.figure_values("d", 1.0)
    with pytest.raises(ValueError, match="allow"):
        viz.figure_values("d", [1.0], allow=("NaN",))
    with pytest.raises(ValueError, match="mapping is empty"):
        viz.figure_series("mapping", {})


def test_a_prediction_from_non_finite_logits_is_drawn_apart_never_as_a_class():
    # runtime.predict gives -1 for non-finite logits; the class cycle would paint it in class
    # 9's colour.
    inputs = torch.zeros(2, 2, 2)
    predictions = torch.tensor([[0, 1], [0, -1]])
    fig = viz.attack_animation(inputs, predictions, torch.tensor([0, 1]))
    last = fig.frames[-1].data
    markers = [trace for trace in last if trace.mode == "markers" and trace.name]
    failed = [trace for trace in markers if "no prediction" in trace.hovertemplate]
    assert len(failed) == 1 and failed[0].marker.symbol == "x"
    assert viz.class_color(9) not in [trace.marker.color for trace in markers]
    with pytest.raises(ValueError, match="k = -1 is no class index"):
        viz.class_color(-1)
    with pytest.raises(ValueError, match="predictions must be class indices"):
        viz.attack_animation(inputs, torch.tensor([[0, 1], [0, -2]]), torch.tensor([0, 1]))


def _masking_curves(accuracy):
    return {"SCE": EpsCurve(eps=[0.1, 0.2], accuracy=accuracy, looks_masked=False, verdict="")}


# A value the figure's fixed axis or colour scale cannot show: an accuracy in percent where a
# fraction is meant would be drawn off the axis (above 103 %) without a word.
OUT_OF_RANGE = {
    "accuracy_lines": (
        lambda: viz.accuracy_lines([1, 2], {"train": [0.5, 80.0]}, x_title="x", title="t"),
        "series['train']",
    ),
    "exact_vs_attacks": (
        lambda: viz.exact_vs_attacks([0.1, 0.2], {"SCE": [90.0, 50.0]}, {}),
        "exact['SCE']",
    ),
    "bounds_sandwich": (
        lambda: viz.bounds_sandwich([0.1], {"SCE": {"exact": [-0.1]}}),
        "panels['SCE']['exact']",
    ),
    "eps_curve_figure": (
        lambda: viz.eps_curve_figure(_masking_curves([0.9, 50.0])),
        "curves['SCE'].accuracy",
    ),
    "box_comparison_figure": (
        lambda: viz.box_comparison_figure({"SCE": BoxComparison(eps=0.1, accuracy={"PGD": 10.0})}),
        "comparisons['SCE'].accuracy['PGD']",
    ),
    "transferability_heatmap": (
        lambda: viz.transferability_heatmap({"ADP": [[50.0, 40.0], [30.0, 20.0]]}),
        "matrices['ADP']",
    ),
    "robustness_heatmap": (
        lambda: viz.robustness_heatmap(["SCE"], ["clean"], [[150.0]]),
        "values",
    ),
    "roc_figure": (
        lambda: viz.roc_figure({"FGSM": {"RCE": ([0.0, 1.0], [0.0, 1.5], 0.5)}}),
        "curves['FGSM']['RCE'] tpr",
    ),
    "adp_optimum_figure": (
        lambda: viz.adp_optimum_figure([0.0, 1.0], [0.5, 1.2], K=2, L=3),
        "theory",
    ),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_a_value_off_the_fixed_axis_is_refused_naming_the_argument(name):
    build, argument = OUT_OF_RANGE[name]
    with pytest.raises(ValueError, match=re.escape(f"{argument} has values outside [")):
        build()


def test_a_value_off_a_log_axis_is_refused_naming_the_argument():
    """A value <= 0 has no place on a log axis: plotly left it out without a word."""
    history = _history()
    history.loss = [1.0, 0.0]
    with pytest.raises(ValueError, match=r"histories\['sce'\].loss has values <= 0 in 1 of 2"):
        viz.training_curves({"sce": history}, metrics=("loss",), log_y=("loss",))
    viz.training_curves({"sce": history}, metrics=("loss",))  # a linear axis shows 0
    steps = torch.arange(2)
    with pytest.raises(ValueError, match=r"panels\['loss'\]\['mmc'\] values has values <= 0"):
        viz.convergence_figure({"loss": {"mmc": (steps, [1.0, -1.0])}}, log_y=("loss",))
    args, kwargs = curse_of_softmax_animation("valid")
    args = (*args[:3], torch.zeros_like(torch.as_tensor(args[3])), args[4])
    with pytest.raises(ValueError, match="softmax_losses has values <= 0"):
        viz.curse_of_softmax_animation(*args, **kwargs)


def test_steps_curve_refuses_a_step_count_off_its_log_axis():
    curve = StepsCurve(
        steps=[0, 10], restarts=[1], accuracy=[[0.5], [0.4]], looks_masked=False, verdict=""
    )
    with pytest.raises(ValueError, match="curve.steps has values <= 0 in 1 of 2"):
        viz.steps_curve_figure(curve)


# ------------------------------------- another kind where a mapping, a result or a tensor belongs


def _arguments(name):
    """The valid example's arguments of the builder ``name``, by parameter name."""
    args, kwargs = EXAMPLES[name].make("valid")
    return dict(inspect.signature(getattr(viz, name)).bind(*args, **kwargs).arguments)


#: (builder, argument) for every argument of the examples that is a mapping ({name: data}) or a
#: result of robviz (a dataclass: LossSurface, MixingEffect, LossGrid, ...).
MAPPINGS_AND_RESULTS = [
    (name, argument)
    for name in sorted(EXAMPLES)
    for argument, value in _arguments(name).items()
    if isinstance(value, dict) or dataclasses.is_dataclass(value)
]
#: (builder, argument) for every tensor argument of the examples.
TENSORS = [
    (name, argument)
    for name in sorted(EXAMPLES)
    for argument, value in _arguments(name).items()
    if torch.is_tensor(value)
]


def test_the_mapping_result_and_tensor_arguments_are_found():
    assert {("training_curves", "histories"), ("loss_surface_figure", "surface")} <= set(
        MAPPINGS_AND_RESULTS
    )
    assert ("feature_figure", "z") in TENSORS


@pytest.mark.parametrize("wrong", ["SCE", [0.5, 0.25]])
@pytest.mark.parametrize("name, argument", MAPPINGS_AND_RESULTS)
def test_a_mapping_or_result_argument_refuses_another_kind_naming_it(name, argument, wrong):
    # "'list' object has no attribute 'items'" or "'str' object has no attribute 'alphas'" from
    # inside the builder before
    arguments = _arguments(name) | {argument: wrong}
    with pytest.raises(
        TypeError, match=f"^{re.escape(argument)} must be a .*got {type(wrong).__name__}"
    ):
        getattr(viz, name)(**arguments)


@pytest.mark.parametrize("name, argument", TENSORS)
def test_a_tensor_argument_takes_a_numpy_array_as_well(name, argument):
    # "'numpy.ndarray' object has no attribute 'dim'" from attack_animation and feature_figure
    arguments = _arguments(name)
    arguments[argument] = arguments[argument].numpy()
    assert getattr(viz, name)(**arguments).data


def _past_palette(v):
    """Labels of 6 points, one of them class 10 (past the 10 class colours) for variant "bad"."""
    return Y6 if v != "bad" else torch.tensor([0, 1, 2, 0, 1, 10])


#: Every builder that colours points by class, with one label past the palette where it names it.
CLASS_COLOURED = {
    "feature_figure": (lambda v: ((_rand(6, 2), _past_palette(v)), {}), "y"),
    "attack_animation": (
        lambda v: (
            (torch.zeros(2, 6, 2), torch.zeros(2, 6, dtype=torch.long), _past_palette(v)),
            {},
        ),
        "labels",
    ),
    "mixing_animation": (
        lambda v: (mixing_animation("valid")[0][:3] + (_past_palette(v),), {}),
        "y_train",
    ),
    "feature_animation": (
        lambda v: (({"sce": dataclasses.replace(_history(), probe_y=_past_palette(v))},), {}),
        "histories['sce'].probe_y",
    ),
    "feature_panels": (
        lambda v: (
            ({"sce": dataclasses.replace(_history(), probe_y=_past_palette(v))},),
            {"regions": {"sce": _regions()}},
        ),
        "histories['sce'].probe_y",
    ),
}


@pytest.mark.parametrize("name", sorted(CLASS_COLOURED))
def test_more_classes_than_colours_are_refused_naming_the_argument(name):
    # Class 10 took class 0's colour: two classes drawn as one, silently.
    make, argument = CLASS_COLOURED[name]
    args, kwargs = make("valid")
    getattr(viz, name)(*args, **kwargs)  # ten classes draw
    args, kwargs = make("bad")
    with pytest.raises(ValueError, match=re.escape(argument) + " holds class 10"):
        getattr(viz, name)(*args, **kwargs)


def test_class_colours_are_distinct_or_refused():
    assert len(set(viz.CLASS_COLORS)) == len(viz.CLASS_COLORS)
    with pytest.raises(ValueError, match="class 10 has no colour of its own"):
        viz.class_color(10)
    # marks labelled in writing (the centers of robviz.viz.theory) may cycle
    assert viz.class_color(10, cycle=True) == viz.class_color(0)
    regions = Regions(torch.full((4, 4), 11, dtype=torch.long), (-3.0, 3.0, -3.0, 3.0))
    with pytest.raises(ValueError, match=r"regions.labels holds class 11"):
        viz.feature_figure(_rand(6, 2), Y6, regions=regions)
    # the mm-centers explorer allows 16 classes: its labelled centers still draw
    from robviz.centers import mm_centers

    assert viz.centers_figure(mm_centers(12, 2, 1.0)).data
    assert viz.centers_figure(mm_centers(12, 3, 1.0)).data


def test_distance_scatter_log_axes_cut_no_point_off():
    # Before: the y axis began at the smallest exact distance / 1.2, so an estimate below it
    # (0.5 against an exact 1.0) lay outside the plot, and an estimate of 0 vanished on the log
    # axis without being counted.
    exact = torch.tensor([1.0, 2.0, 3.0, 4.0])
    fig = viz.distance_scatter(exact, {"PGD": torch.tensor([0.5, 2.5, 3.5, 0.0])}, log=True)
    points = fig.data[0]
    assert list(points.y) == [0.5, 2.5, 3.5] and "(1 of 4 not drawn" in points.name
    low, high = fig.layout.yaxis.range
    assert 10**low <= min(points.y) and max(points.y) <= 10**high
    with pytest.raises(ValueError, match=r"estimates\['PGD'\] has values outside \[0, inf\]"):
        viz.distance_scatter(exact, {"PGD": torch.tensor([-0.5, 2.5, 3.5, 1.0])})


def test_keys_drawn_under_one_label_are_refused():
    # Before: {"sce": ..., "SCE": ...} drew two runs as "SCE" in one colour, read as one run.
    curves = {"sce": _history(), "SCE": _history()}
    with pytest.raises(ValueError, match="histories has the keys 'sce' and 'SCE', both drawn as"):
        viz.training_curves(curves)
    with pytest.raises(ValueError, match="histories has the keys 'sce' and 'SCE'"):
        viz.feature_animation(curves)
    with pytest.raises(ValueError, match="series has the keys 'sce' and 'SCE'"):
        viz.accuracy_lines(
            [0.0, 0.1], {"sce": [0.9, 0.5], "SCE": [0.8, 0.4]}, x_title="eps", title="t"
        )
    assert viz.distinct_labels("x", ["sce", "mmc", "mine"]) == ["SCE", "MMC", "mine"]


def test_frames_labelled_alike_are_refused():
    # Before: plotly finds a frame by name, so the slider's second "a" showed the first frame.
    embeddings = {"sce": _rand(3, 6, 2)}
    with pytest.raises(ValueError, match="the frame labels must be unique, but 'a' appears"):
        viz.embedding_animation(embeddings, Y6, frame_labels=["a", "a", "b"])
    assert [f.name for f in viz.embedding_animation(embeddings, Y6).frames] == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"labels holds class 10"):
        viz.embedding_animation(embeddings, _past_palette("bad"))
