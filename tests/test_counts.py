"""Counts and sizes given something that is no count: 2.5, 3.0, True, "3", 0, -1.

Every public entry (``_public_entries`` of ``test_edges``, the one walk of the modules' ``__all__``)
with an integer parameter whose name says it counts or sizes something (steps, samples, batch
sizes, hidden widths, grid resolutions, frames, ...) refuses a non-integer or a value below its
minimum with a ``ValueError`` naming the parameter (``checks.integer``), not torch's "empty():
argument 'size' must be tuple of ints", a ``range()`` error, or a silent ``True`` = 1 step. A new
entry with such a parameter is checked without editing a list.
"""

import inspect
import re

import numpy as np
import pytest
import torch
from torch import nn
from test_edges import _is_record, _public_entries, _public_parameters

from robviz.centers import mm_centers
from robviz.data import gaussian_mixture
from robviz.models import ToyMLP, make_model
from robviz.runtime import inference

#: Names of counts and sizes (a parameter's whole name).
COUNT_NAME = re.compile(
    r"^(steps|\w+_steps|restarts|samples|\w+_samples|n|n_\w+|num|num_\w+|\w+_size|hidden|depth"
    r"|dim|\w+_dim|frames|resolution|points|k|neighbors|members|\w*per_class|\w+_iter|\w+_every"
    r"|epochs|width|in_channels|K|L|d|chunk|columns|ncontours|min_pairs|threads)$"
)
#: A count is annotated as one integer; a parameter of a count's name annotated otherwise holds
#: something else (``steps``: the recorded step numbers of an animation, a list).
INT_ANNOTATIONS = ("int", "int | None")
#: Modules whose integers are checked elsewhere: the checks' own bounds, the exercises (they check
#: answers), the course (timeouts in seconds handed to nbclient).
ELSEWHERE = ("robviz.checks.", "robviz.exercises.", "robviz.course.")
#: Names that match but are no count of this kind, each with the reason.
NOT_COUNTS = {
    # a figure's size in pixels, laid out by plotly
    "robviz.viz.style.fit_layout:width": "pixels",
    "robviz.viz.style.legend_row_count:width": "pixels",
    # a class index, 0 the first; -1 (a non-finite prediction) has a message of its own
    "robviz.viz.style.class_color:k": "a class index",
    # a result robviz builds from the exact computation (its __post_init__ derives the edges)
    "robviz.exact.boundary.ExactBoundary:num_classes": "a result",
}
#: Counts where 0 means something (documented at the entry): refused only below 0.
ZERO_ALLOWED = {
    "robviz.train.TrainConfig:record_every": "0: only the first and the last snapshot",
    "robviz.scale.config.TrainRun:checkpoint_every": "0: a checkpoint at the end only",
    "robviz.scale.cifar.augment_params:n": "0 images: an empty batch's parameters",
    "robviz.scale.cifar.keras_shift_params:n": "0 images: an empty batch's parameters",
    "robviz.viz.style.frame_duration:frames": "a figure with no frames yet",
    "robviz.runtime.setup:threads": "0, like None: decided by small_models",
    "robviz.embed.tsne:early_exaggeration_iter": "0: no exaggeration phase (an array init's)",
    "robviz.viz.masking.loss_line_figure:samples": "0: no per-sample lines, the default",
    "robviz.landscape.trace_contour:newton_steps": "0: no corrections, bare tangent steps",
    "robviz.widgets.objectives.ObjectiveExplorer:batch_size": "0, like None: the full batch",
}


def _count_entries() -> dict:
    """Every public entry's count parameter: "name:parameter" -> (entry, parameter)."""
    return {
        f"{name}:{parameter.name}": (obj, parameter.name)
        for name, obj, parameter in _public_parameters(skip=ELSEWHERE)
        if COUNT_NAME.match(parameter.name)
        and parameter.annotation in INT_ANNOTATIONS
        and f"{name}:{parameter.name}" not in NOT_COUNTS
        and not _is_record(obj)
    }


COUNT_ENTRIES = _count_entries()


def test_the_count_entries_are_found():
    assert {
        "robviz.models.ToyMLP:hidden",
        "robviz.models.make_mlp:depth",
        "robviz.attacks.gradient.PGD:steps",
        "robviz.data.grid_points:resolution",
        "robviz.viz.density.curse_of_softmax_animation:num_frames",
        "robviz.runtime.inference:batch_size",
        "robviz.train.TrainConfig:batch_size",
    } <= set(COUNT_ENTRIES)
    stale = [
        key
        for key in (*NOT_COUNTS, *ZERO_ALLOWED)
        if key.split(":")[1]
        not in inspect.signature(_public_entries()[key.split(":")[0]]).parameters
    ]
    assert not stale, f"exclusions of parameters that no longer exist: {stale}"


def _valid_arguments() -> dict:
    """Small valid values of the arguments the count entries take besides their counts."""
    data = gaussian_mixture(num_classes=3, n_per_class=5, seed=0)
    model = make_model(data, "mmc")
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    return {
        "model": model,
        "data": data,
        "dataset": data,
        "num_classes": 3,
        "feature_dim": 2,
        "x": data.x_test[:4],
        "y": data.y_test[:4],
        "x_adv": data.x_test[:4],
        "x_pool": data.x_train,
        "y_pool": data.y_train,
        "z": z,
        "features": z,
        "reference": z,
        "sequence": [z, z],
        "centers": mm_centers(3, 2),
        "extent": (-3.0, 3.0, -3.0, 3.0),
        "eps": 0.3,
        "auc": 0.9,
        "alpha": 1.0,
        "n_clean": 10,
        "n_adversarial": 10,
        "K": 3,
        "L": 4,
        "label": 0,
        "loss": model.objective,
        "name": "mmc",
        "objectives": ["sce"],
    }


def _call(entry, count, value):
    """Call ``entry`` with ``count=value`` and valid values (or None) for its other arguments."""
    valid = _valid_arguments()
    required = [
        p.name
        for p in inspect.signature(entry).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    result = entry(**({p: valid.get(p) for p in required} | {count: value}))
    if inspect.isgenerator(result):  # a generator (of batches) checks at its first item
        next(result)


@pytest.mark.parametrize("wrong", [2.5, 3.0, True, "3", 0, -1])
@pytest.mark.parametrize("name", sorted(COUNT_ENTRIES))
def test_entries_taking_a_count_refuse_anything_else_naming_it(name, wrong):
    # torch's "empty(): argument 'size' must be tuple of ints", "range() arg 3 must not be zero",
    # "'<' not supported between 'str' and 'int'", or True taken as 1, before
    entry, count = COUNT_ENTRIES[name]
    if wrong == 0 and not isinstance(wrong, bool) and name in ZERO_ALLOWED:
        wrong = -1
    # a gloss may follow the name: "K (ensemble members) must be an integer >= 1"
    with pytest.raises(ValueError, match=rf"^{count}( \(.*\))? must be an integer"):
        _call(entry, count, wrong)


@pytest.mark.parametrize("hidden", [8, np.int64(8), np.int32(8), torch.tensor(8)])
def test_a_count_of_any_integer_type_is_taken(hidden):
    assert ToyMLP(hidden=hidden).net[0].out_features == 8
    # runtime's own check (it cannot import checks) takes the same types
    x = torch.arange(20.0).reshape(10, 2)
    assert torch.equal(inference(nn.Identity(), x, batch_size=hidden), x)


#: The centers a closed form of robviz.theory takes, by name, and small valid values of the
#: arguments that come with them (the g-SCE pair's scales and the loss value C).
THEORY_CENTERS = ("centers", "mu_k", "mu_kt")
THEORY_VALUES = {
    "centers": mm_centers(3, 2),
    "mu_k": torch.tensor([1.0, 0.0]),
    "mu_kt": torch.tensor([0.0, 1.0]),
    "sigma_k": 1.0,
    "sigma_kt": 2.0,
    "C": 1.0,
    "N": 100.0,
    "p_of_C": 0.5,
    "d": 2,
}


def _theory_center_entries() -> dict:
    """Every public function of robviz.theory taking centers: "name:parameter" -> (entry, it)."""
    return {
        f"{name}:{parameter.name}": (obj, parameter.name)
        for name, obj, parameter in _public_parameters()
        if name.startswith("robviz.theory.")
        and inspect.isfunction(obj)
        and parameter.name in THEORY_CENTERS
    }


THEORY_CENTER_ENTRIES = _theory_center_entries()


def test_the_theory_center_entries_are_found():
    assert {
        "robviz.theory.robustness.mahalanobis_distances:centers",
        "robviz.theory.density.gsce_contour:mu_k",
        "robviz.theory.density.gsce_sample_density:mu_kt",
    } <= set(THEORY_CENTER_ENTRIES)


@pytest.mark.parametrize("wrong", [None, "abc", {"a": 1}])
@pytest.mark.parametrize("name", sorted(THEORY_CENTER_ENTRIES))
def test_the_theory_refuses_what_is_not_centers_naming_them(name, wrong):
    # torch's "Could not infer dtype of NoneType" from gsce_contour's means before
    entry, argument = THEORY_CENTER_ENTRIES[name]
    required = [
        p.name
        for p in inspect.signature(entry).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    arguments = {p: THEORY_VALUES.get(p) for p in required} | {argument: wrong}
    with pytest.raises(ValueError, match=rf"^{argument} must be numbers"):
        entry(**arguments)
    entry(**(arguments | {argument: THEORY_VALUES[argument]}))  # the valid values are valid
