"""Inputs users give that once gave wrong numbers: each test pins the right value.

The table-driven tests call every public attack, detector and evaluator on the awkward cases at once
(float64 models, a batch of one, two classes, a model left in train mode with BatchNorm and
dropout). Attacks and detectors come from the registries (every attack class in
``robviz.attacks.__all__``, every detector in ``robviz.detect``), so a new one meets the awkward
models, non-finite inputs, empty inputs and zero budgets without a hand-written list. The entries of
``robviz.exact`` and ``robviz.mixup_inference`` that take inputs are found from their modules'
``__all__`` and checked against the table that calls them."""

import inspect
import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from robviz import adversarial as adversarial_module
from robviz import attacks, checks, detect, embed, exact, landscape, masking, mixup_inference
from robviz import centers as centers_module
from robviz import data as data_module
from robviz import objectives, regions, theory
from robviz.attacks import apgd as attacks_apgd
from robviz.attacks import base as attacks_base
from robviz.exact import boundary as exact_boundary
from robviz.exact import certify as exact_certify
from robviz.exact import linear_regions as exact_linear_regions
from robviz.exact import milp as exact_milp
from robviz.exact import paired as exact_paired
from robviz.centers import feature_spread, mm_centers
from robviz.data import Dataset, gaussian_mixture
from robviz.ensemble import Ensemble, adp_regularizer, solve_adp, transferability
from robviz.landscape import trace_contour
from robviz.models import make_model
from robviz.objectives import OBJECTIVES, make_objective, mmc_loss, per_sample_loss
from robviz.shell_density import mmc_shell_density, monte_carlo_shell_density
from robviz.train import (
    TrainConfig,
    accuracy,
    fit,
    fit_objectives,
    load_checkpoint,
    save_checkpoint,
)

# ----------------------------------------------------------------------- row 1: non-ME in log space


class ConstantLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.register_buffer("logits", torch.as_tensor(logits, dtype=torch.float32))
        self.weight = nn.Parameter(torch.zeros(1))

    def features(self, x):
        return x

    def forward(self, x):
        return self.logits.expand(len(x), -1) + 0 * self.weight


def test_non_me_of_far_apart_float32_logits_is_computed_in_log_space():
    logits = torch.tensor([[0.0, -150.0, -160.0, -170.0]])
    # Softmax over the three non-maximal logits, by hand in float64: (e^0, e^-10, e^-20) / sum.
    rest = np.array([-150.0, -160.0, -170.0])
    p = np.exp(rest - rest.max()) / np.exp(rest - rest.max()).sum()
    expected = -(p * np.log(p)).sum()
    assert expected == pytest.approx(4.994e-4, rel=1e-3)
    assert detect.non_max_entropy_logits(logits)[0] == pytest.approx(expected, rel=1e-9)
    model = ConstantLogits(logits[0])
    assert detect.non_max_entropy_score(model, torch.zeros(3, 2)) == pytest.approx(
        [expected] * 3, rel=1e-9
    )
    # The same value from log-probabilities: non-ME depends on the logits only through softmax.
    log_p = torch.log_softmax(logits.double(), 1)
    assert detect.non_max_entropy_logits(log_p)[0] == pytest.approx(expected, rel=1e-9)


def test_confidence_of_far_apart_logits_is_exact():
    model = ConstantLogits([0.0, -150.0, -160.0])
    assert detect.confidence(model, torch.zeros(1, 2))[0] == 1.0


def test_eot_wrapper_averages_in_log_space():
    model = ConstantLogits([0.0, -200.0, -300.0])
    out = attacks.EOT(model, samples=3)(torch.zeros(1, 2))
    assert torch.isfinite(out).all()
    assert out[0, 1].item() == pytest.approx(-200.0, abs=1e-3)  # not log(1e-12) = -27.6


# ------------------------------------------------------------------------- row 2: target equal to y


@pytest.fixture(scope="module")
def blobs():
    torch.manual_seed(0)
    data = gaussian_mixture(num_classes=3, n_per_class=40)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
        opt.step()
    return data, model


TARGETED = {
    "PGD": lambda m, b: attacks.PGD(m, eps=0.5, steps=5, targeted=True, bounds=b),
    "CW": lambda m, b: attacks.CW(m, steps=5, binary_steps=1, targeted=True, bounds=b),
    "DeepFool": lambda m, b: attacks.DeepFool(m, steps=5, targeted=True, bounds=b),
    "JSMA": lambda m, b: attacks.JSMA(m, gamma=1.0, targeted=True, bounds=b),
}


@pytest.mark.parametrize("name", list(TARGETED))
def test_a_target_equal_to_the_label_is_refused(blobs, name):
    data, model = blobs
    x, y = data.x_test[:8], data.y_test[:8]
    target = (y + 1) % 3
    target[3] = y[3]
    attack = TARGETED[name](model, data.bounds)  # every entry has a targeted mode: no skip
    with pytest.raises(ValueError, match=r"target equals the true label y for 1 of 8 inputs"):
        attack.run(x, y, target)
    # Without targets every input gets a random class != y, so no success is free.
    result = attack.run(x, y)
    assert (result.target != y).all()


# ------------------------------------------------------------------------------- row 5: t-SNE input


def test_tsne_refuses_identical_features_and_caches_nothing():
    embed.clear_cache()
    with pytest.raises(ValueError, match="all 40 feature vectors are identical"):
        embed.tsne(np.ones((40, 3)), perplexity=10)
    assert embed.cache_size() == 0


def test_tsne_of_1d_features_names_init():
    x = np.random.default_rng(0).standard_normal((40, 1))
    with pytest.raises(ValueError, match="init='random'"):
        embed.tsne(x, perplexity=10)
    out = embed.tsne(x, perplexity=10, init="random", cache=False)
    assert out.shape == (40, 2) and np.isfinite(out).all()


def test_tsne_with_some_duplicates_is_finite():
    x = np.random.default_rng(0).standard_normal((40, 3))
    x[:39] = x[0]
    assert np.isfinite(embed.tsne(x, perplexity=10, cache=False)).all()


# ------------------------------------------------------------------------- row 6: every number type


@pytest.mark.parametrize(
    "eps",
    [
        0.25,
        np.float32(0.25),
        np.float64(0.25),
        torch.tensor(0.25),
        np.array(0.25),
        torch.tensor([0.1, 0.25])[1],
    ],
)
def test_every_real_number_type_is_a_radius(blobs, eps):
    data, model = blobs
    attack = attacks.PGD(model, eps=eps, steps=3, bounds=data.bounds)
    assert attack.eps == 0.25 and type(attack.eps) is float


@pytest.mark.parametrize("count", [10, np.int64(10), np.int32(10), torch.tensor(10)])
def test_every_integer_type_is_a_count(count):
    assert mm_centers(count, 16).shape == (10, 16)
    assert attacks.PGD(nn.Linear(2, 3), eps=0.1, steps=count).steps == 10


@pytest.mark.parametrize("bad", [True, 2.5, "3", None, float("nan"), torch.tensor([1, 2])])
def test_non_numbers_are_refused_with_the_name(bad):
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        attacks.PGD(nn.Linear(2, 3), eps=0.1, steps=bad)


def test_float32_eps_list_sweeps(blobs):
    data, model = blobs
    table = attacks.robust_accuracy(
        model,
        data.x_test[:20],
        data.y_test[:20],
        {"FGSM": attacks.FGSM(model, eps=0.1, bounds=data.bounds)},
        eps_list=np.array([0.1, 0.3], dtype=np.float32),
        progress=False,
    )
    assert [r["eps"] for r in table.rows[1:]] == pytest.approx([0.1, 0.3])


# ----------------------------------------------------------------------- row 7: checkpoint metadata


def test_checkpoint_metadata_in_numpy_types_reads_back(tmp_path):
    model = nn.Linear(2, 3)
    path = save_checkpoint(
        tmp_path / "m.pt",
        model,
        accuracy=np.float64(0.9),
        epoch=np.int64(3),
        curve=np.array([0.5, 0.75]),
        where=tmp_path / "x",
        nested={"loss": [np.float32(0.5)]},
    )
    meta = load_checkpoint(path, nn.Linear(2, 3))
    assert meta == {
        "accuracy": 0.9,
        "epoch": 3,
        "curve": [0.5, 0.75],
        "where": str(tmp_path / "x"),
        "nested": {"loss": [0.5]},
    }
    assert type(meta["accuracy"]) is float and type(meta["epoch"]) is int


def test_checkpoint_metadata_that_cannot_be_read_back_is_refused_before_writing(tmp_path):
    class Config:
        pass

    with pytest.raises(TypeError, match=r"metadata\['config'\] is a .*Config"):
        save_checkpoint(tmp_path / "m.pt", nn.Linear(2, 3), config=Config())
    assert not (tmp_path / "m.pt").exists()


# ----------------------------------------------------------------------------- row 8: the dashboard


def test_explorer_on_moons_offers_only_two_classes_and_shows_errors():
    from robviz.widgets import ObjectiveExplorer

    explorer = ObjectiveExplorer(dataset="moons", num_classes=2, steps=100)
    assert explorer.num_classes.disabled and explorer.num_classes.min == 2
    with pytest.raises(ValueError, match="num_classes must be an integer in \\[2, 2\\]"):
        ObjectiveExplorer(dataset="moons", num_classes=3, steps=100)
    with pytest.raises(ValueError, match="unknown dataset 'moon'"):
        ObjectiveExplorer(dataset="moon")
    # An error inside a callback is shown in the dashboard, and the next change redraws again.
    explorer.batch_size.options = [("full batch", 0), ("bad", -5)]
    explorer.batch_size.value = -5
    assert "batch_size must be an integer >= 1" in explorer.error
    assert "Error" in explorer.status.value
    explorer.batch_size.value = 0
    assert explorer.error is None and explorer.status.value == ""


# ================================================= the registries the tables below are built from


# Every public attack class, found in robviz.attacks.__all__: a new attack is covered without
# editing a list.


def attack_classes() -> list[str]:
    """The public attack classes: what robviz.attacks exports that subclasses Attack."""
    return sorted(
        name
        for name in attacks.__all__
        if inspect.isclass(getattr(attacks, name))
        and issubclass(getattr(attacks, name), attacks.Attack)
        and name != "Attack"
    )


ATTACK_CLASSES = attack_classes()
#: Small budgets for the fast tests; an attack gets those of its keyword arguments it has.
FAST = dict(eps=0.5, steps=3, binary_steps=2, samples=4, restarts=1, gamma=1.0)
BUDGETS = ("steps", "binary_steps", "samples", "restarts")


def keywords(cls) -> list[str]:
    return [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind == p.KEYWORD_ONLY
    ]


def fast_attack(name, model, bounds, **options):
    cls = getattr(attacks, name)
    return cls(
        model, bounds=bounds, **{**{k: v for k, v in FAST.items() if k in keywords(cls)}, **options}
    )


# ------------------------------------------------------ detectors, found in robviz.detect's exports


def _fitted(name, model, data):
    obj = getattr(detect, name)
    if inspect.isclass(obj):
        fit = inspect.signature(obj.fit).parameters
        args = (model, data.x_train, data.y_train) if "y" in fit else (model, data.x_train)
        small = {
            k: v
            for k, v in dict(k=5, reference_size=30, points_per_class=10, sigma2=1.0).items()
            if k in inspect.signature(obj.__init__).parameters
        }
        return obj(**small).fit(*args)
    return obj


DETECTOR_NAMES = sorted(
    name
    for name in detect.__all__
    if (
        inspect.isclass(getattr(detect, name))
        and hasattr(getattr(detect, name), "fit")
        and hasattr(getattr(detect, name), "score")
    )
    or (
        inspect.isfunction(getattr(detect, name))
        and [
            p.name
            for p in inspect.signature(getattr(detect, name)).parameters.values()
            if p.default is p.empty
        ]
        == ["model", "x"]
    )
)


# ----------------------------------------------------------- table-driven: every public entry point


class BatchNormNet(nn.Module):
    """2-D inputs -> 2-D features (Linear, BatchNorm, ReLU, Dropout) -> logits."""

    def __init__(self, num_classes):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2)
        )
        self.head = nn.Linear(2, num_classes)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))


def trained(num_classes, dtype):
    torch.manual_seed(0)
    data = gaussian_mixture(num_classes=num_classes, n_per_class=40)
    model = BatchNormNet(num_classes).to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.x_train.to(dtype)), data.y_train).backward()
        opt.step()
    return data, model.train()  # left in train mode, as users do


#: Every attack class of the registry runs with its FAST settings; these variants add the settings
#: that take other code paths (the L2 step, the random start, targets). A new attack needs no entry.
ATTACK_VARIANTS = {
    "PGD-L2": ("PGD", dict(norm="L2")),
    "PGD-random-start": ("PGD", dict(random_start=True)),
    "PGD-targeted": ("PGD", dict(targeted=True)),
}
AWKWARD_ATTACKS = {**{name: (name, {}) for name in ATTACK_CLASSES}, **ATTACK_VARIANTS}


CASES = [
    pytest.param(2, torch.float64, 1, id="float64-2classes-batch1"),
    pytest.param(3, torch.float64, 5, id="float64-3classes"),
    pytest.param(2, torch.float32, 1, id="float32-2classes-batch1"),
]


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_untouched(model, before):
    assert model.training and all(m.training for m in model.modules()), (
        "the model's mode was not restored"
    )
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed"


@pytest.mark.parametrize("num_classes, dtype, n", CASES)
@pytest.mark.parametrize("name", list(AWKWARD_ATTACKS))
def test_every_attack_on_awkward_models(name, num_classes, dtype, n):
    data, model = trained(num_classes, dtype)
    x, y = data.x_test[:n], data.y_test[:n]  # float32 inputs: the attack follows the model's dtype
    before = state(model)
    cls, options = AWKWARD_ATTACKS[name]
    result = fast_attack(cls, model, data.bounds, **options).run(x, y)
    assert result.x_adv.shape == x.shape and torch.isfinite(result.x_adv).all()
    assert result.x_adv.dtype == dtype
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(result.x_adv.to(dtype)).argmax(1), result.prediction)
        model.train()
    assert_untouched(model, before)


#: Detectors that need three classes or more (non-ME: the entropy of the L - 1 non-maximal
#: probabilities is 0 for every input when L = 2); on two classes they must say so.
NEEDS_THREE_CLASSES = {"non_max_entropy_score": "L >= 3 classes"}


def test_the_awkward_model_exceptions_name_registered_kinds():
    """The variants and exceptions next to the registries name attacks and detectors that exist."""
    assert {cls for cls, _ in ATTACK_VARIANTS.values()} <= set(ATTACK_CLASSES)
    assert set(NEEDS_THREE_CLASSES) <= set(DETECTOR_NAMES)


@pytest.mark.parametrize("num_classes, dtype, n", CASES)
@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_every_detector_on_awkward_models(name, num_classes, dtype, n):
    data, model = trained(num_classes, dtype)
    before = state(model)
    detector = _fitted(name, model, data)
    if name in NEEDS_THREE_CLASSES and num_classes < 3:
        with pytest.raises(ValueError, match=NEEDS_THREE_CLASSES[name]):
            detector(model, data.x_test[:n])
        return
    scores = detector(model, data.x_test[:n])
    assert scores.shape == (n,) and np.isfinite(scores).all()
    assert_untouched(model, before)


EVALUATORS = {
    "accuracy": lambda m, d, x, y: accuracy(m, x, y),
    "mixing_effect": lambda m, d, x, y: mixup_inference.mixing_effect(
        m, x, x, y, d.x_train[:20], [0.5, 1.0], samples=2
    ),
    "robust_accuracy": lambda m, d, x, y: attacks.robust_accuracy(
        m,
        x,
        y,
        {"PGD": attacks.PGD(m, eps=0.3, steps=3, bounds=d.bounds)},
        eps_list=[0.1, 0.3],
        progress=False,
    ),
    "accuracy_vs_eps": lambda m, d, x, y: masking.accuracy_vs_eps(
        m, x, y, [0.1, 1.0], bounds=d.bounds
    ),
    "accuracy_vs_steps": lambda m, d, x, y: masking.accuracy_vs_steps(
        m, x, y, 0.3, steps_list=(1, 3), bounds=d.bounds
    ),
    "loss_along_direction": lambda m, d, x, y: masking.loss_along_direction(m, x, y),
    "auto_attack": lambda m, d, x, y: attacks.auto_attack(
        m, x, y, 0.3, bounds=d.bounds, steps=5, restarts=1
    ),
    "detection_pairs": lambda m, d, x, y: detect.detection_pairs(
        m, x, y, attacks.FGSM(m, eps=0.3, bounds=d.bounds).run(x, y)
    ),
}


@pytest.mark.parametrize("num_classes, dtype, n", CASES)
@pytest.mark.parametrize("name", list(EVALUATORS))
def test_every_evaluator_on_awkward_models(name, num_classes, dtype, n):
    data, model = trained(num_classes, dtype)
    before = state(model)
    EVALUATORS[name](model, data, data.x_test[:n], data.y_test[:n])
    assert_untouched(model, before)


def test_transferability_of_a_float64_ensemble_in_train_mode():
    _, a = trained(3, torch.float64)
    data, b = trained(3, torch.float64)
    ensemble = Ensemble([a, b], alpha=0.0, beta=0.0).train()
    before = state(ensemble)
    matrix = transferability(
        ensemble,
        data.x_test[:4],
        data.y_test[:4],
        lambda m: attacks.FGSM(m, eps=0.3, bounds=data.bounds),
    )
    assert matrix.shape == (2, 2) and ((0 <= matrix) & (matrix <= 1)).all()
    assert_untouched(ensemble, before)
    assert math.isfinite(float(matrix.sum()))


# ======= round 2: the kinds, kind-wide (the registries are above, before the tables)


def test_the_registry_finds_every_attack():
    assert {
        "FGSM",
        "PGD",
        "CW",
        "EAD",
        "JSMA",
        "DeepFool",
        "SPSA",
        "APGD",
        "MIM",
        "ILCM",
        "BIM",
    } <= set(ATTACK_CLASSES)


def poisoned(x, value, index=2):
    x = x.clone()
    x[index, 0] = value
    return x


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_every_attack_refuses_non_finite_inputs_naming_the_sample(blobs, name, value):
    check_refuses_non_finite(blobs, name, value)


def check_refuses_non_finite(blobs, name, value):
    data, model = blobs
    attack = fast_attack(name, model, data.bounds)
    x, y = poisoned(data.x_test[:5], value), data.y_test[:5]
    with pytest.raises(
        ValueError,
        match=r"x has non-finite values \(NaN or inf\) in 1 of 5 samples, at sample "
        r"index 2",
    ):
        attack.run(x, y)
    with pytest.raises(ValueError, match="sample index 2"):
        attack(x, y)


@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_every_attack_refuses_an_empty_set(blobs, name):
    check_refuses_empty(blobs, name)


def check_refuses_empty(blobs, name):
    data, model = blobs
    with pytest.raises(ValueError, match=r"x is empty"):
        fast_attack(name, model, data.bounds).run(data.x_test[:0], data.y_test[:0])


def zero_budgets(names) -> list[tuple[str, str]]:
    return [
        (name, budget)
        for name in names
        for budget in BUDGETS
        if budget in keywords(getattr(attacks, name))
    ]


def test_the_registry_finds_every_kind_of_attack_budget():
    # An empty list would leave the parametrized test below with nothing to run.
    assert {
        ("PGD", "steps"),
        ("CW", "binary_steps"),
        ("SPSA", "samples"),
        ("APGD", "restarts"),
    } <= set(zero_budgets(ATTACK_CLASSES))


@pytest.mark.parametrize("name, budget", zero_budgets(ATTACK_CLASSES))
def test_every_zero_budget_is_refused_naming_it(blobs, name, budget):
    check_zero_budget_refused(blobs, name, budget)


def check_zero_budget_refused(blobs, name, budget):
    data, model = blobs
    with pytest.raises(ValueError, match=f"{budget} must be an integer >= 1"):
        fast_attack(name, model, data.bounds, **{budget: 0})


def test_jsma_with_no_pair_to_change_is_refused_naming_gamma(blobs):
    data, model = blobs
    # 2-D inputs: int(2 * 0.1) // 2 = 0 pairs; the attack would return every input unchanged (0 %
    # success).
    with pytest.raises(
        ValueError,
        match=r"gamma=0.1 lets JSMA change int\(2 \* 0.1\) = 0 of the 2 input features"
        r".*use gamma >= 1",
    ):
        attacks.JSMA(model, theta=1.0, gamma=0.1, bounds=data.bounds).run(
            data.x_test[:4], data.y_test[:4]
        )
    result = attacks.JSMA(model, theta=1.0, gamma=1.0, bounds=data.bounds).run(
        data.x_test[:4], data.y_test[:4]
    )
    assert (result.x_adv != data.x_test[:4]).any()  # the one pair moved


def test_zero_restarts_and_empty_sweeps_are_refused(blobs):
    data, model = blobs
    x, y = data.x_test[:4], data.y_test[:4]
    with pytest.raises(ValueError, match="restarts_list entry must be an integer >= 1"):
        masking.accuracy_vs_steps(
            model, x, y, 0.3, steps_list=(1,), restarts_list=(0,), bounds=data.bounds
        )
    with pytest.raises(ValueError, match="eps_list is empty"):
        masking.accuracy_vs_eps(model, x, y, [], bounds=data.bounds)
    pgd = {"PGD": attacks.PGD(model, eps=0.3, steps=2, bounds=data.bounds)}
    with pytest.raises(ValueError, match="eps_list is empty"):
        attacks.robust_accuracy(model, x, y, pgd, eps_list=[], progress=False)
    with pytest.raises(ValueError, match="attacks is empty"):
        attacks.robust_accuracy(model, x, y, {}, progress=False)


def test_the_registry_finds_every_detector():
    assert {"confidence", "non_max_entropy_score", "KernelDensity", "LID"} <= set(DETECTOR_NAMES)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_every_detector_refuses_non_finite_and_empty_inputs(name):
    data, model = trained(3, torch.float32)
    detector = _fitted(name, model, data)
    for value in (math.nan, math.inf):
        with pytest.raises(ValueError, match="x has non-finite values .* at sample index 2"):
            detector(model, poisoned(data.x_test[:5], value))
    with pytest.raises(ValueError, match="x is empty"):
        detector(model, data.x_test[:0])


#: The counts a detector's construction takes; each found in a detector's signature is tried at 0.
DETECTOR_BUDGETS = ("k", "reference_size", "points_per_class", *BUDGETS)


def detector_budgets() -> list[tuple[str, str]]:
    return [
        (name, budget)
        for name in DETECTOR_NAMES
        if inspect.isclass(getattr(detect, name))
        for budget in DETECTOR_BUDGETS
        if budget in inspect.signature(getattr(detect, name).__init__).parameters
    ]


def test_the_registry_finds_every_detector_budget():
    assert {
        ("LID", "k"),
        ("LID", "reference_size"),
        ("KernelDensity", "points_per_class"),
    } <= set(detector_budgets())


@pytest.mark.parametrize("name, budget", detector_budgets())
def test_every_zero_detector_budget_is_refused_naming_it(name, budget):
    small = dict(k=5, reference_size=30, points_per_class=10, sigma2=1.0)
    cls = getattr(detect, name)
    options = {k: v for k, v in small.items() if k in inspect.signature(cls.__init__).parameters}
    with pytest.raises(ValueError, match=rf"{budget} must be an integer >= \d+"):
        cls(**{**options, budget: 0})


def test_non_me_never_scores_a_nan_image_as_normal():
    data, model = trained(3, torch.float32)
    with pytest.raises(ValueError, match="sample index 2"):
        detect.non_max_entropy_score(model, poisoned(data.x_test[:8], math.nan))


# ----------------------------------------------------------------------- evaluators: the same kinds


@pytest.mark.parametrize("name", list(EVALUATORS))
def test_every_evaluator_refuses_non_finite_and_empty_inputs(name):
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5], data.y_test[:5]
    with pytest.raises(ValueError, match=r"non-finite values .* at sample index 2"):
        EVALUATORS[name](model, data, poisoned(x, math.nan), y)
    with pytest.raises(ValueError, match=r"is empty"):
        EVALUATORS[name](model, data, x[:0], y[:0])


# ---------------------------------- exact and Mixup Inference: every public entry that takes inputs
# Found from the modules' __all__ (functions, constructors and public methods with an input
# argument); each needs a call in INPUT_ENTRIES, which is checked against that list.

EXACT_AND_MI_MODULES = (
    exact_boundary,
    exact_certify,
    exact_milp,
    exact_linear_regions,
    exact_paired,
    mixup_inference,
)
INPUT_ARGUMENTS = {"x", "x_adv", "x_pool", "x_low", "x_high"}
#: Entries that take inputs and do not check them, with the reason.
NOT_CHECKED = {
    f"MixupModel.{method}": "a model wrapper: like every Classifier it computes what it is given; "
    "the training loss (mixup_loss) and the evaluators that call it check"
    for method in ("features", "forward", "predict", "loss")
}


def _takes_inputs(function, arguments=INPUT_ARGUMENTS) -> bool:
    try:
        return bool(arguments & set(inspect.signature(function).parameters))
    except (TypeError, ValueError):
        return False


def input_entries(arguments=INPUT_ARGUMENTS) -> set[str]:
    """Public functions, constructors and methods of exact and mixup_inference that take inputs.

    (Or any of ``arguments``.)
    """
    found = set()
    for module in EXACT_AND_MI_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and (attr == "__init__" or attr[0] != "_"):
                        if _takes_inputs(member, arguments):
                            found.add(name if attr == "__init__" else f"{name}.{attr}")
            elif inspect.isfunction(obj) and _takes_inputs(obj, arguments):
                found.add(name)
    return found


def _entry(space, call, arg="x", index=2, empty=None):
    """space: whose inputs are poisoned; call(c, x, y); the error names arg and sample index."""
    return dict(space=space, call=call, arg=arg, index=index, empty=empty or f"{arg} is empty")


def _mi(c):
    return mixup_inference.MixupInference(c.blobs_model, c.data.x_train, c.data.y_train, samples=2)


def _mi_robustness(c, x, y, x_adv, x_pool):
    return mixup_inference.mi_robustness(
        c.blobs_model,
        x,
        y,
        x_adv,
        x_pool,
        c.data.y_train[: len(x_pool)],
        eps=0.1,
        alpha=0.05,
        steps=1,
        eot_samples=1,
        modes=("PL",),
        bounds=c.data.bounds,
    )


INPUT_ENTRIES = {
    "minimal_distance/plane": _entry(
        "plane", lambda c, x, y: exact.minimal_distance(c.plane, x, y, bounds=PLANE_BOX)
    ),
    "minimal_distance/cube": _entry(
        "cube", lambda c, x, y: exact.minimal_distance(c.cube, x, y, bounds=(0, 1))
    ),
    "robust_accuracy/plane": _entry(
        "plane", lambda c, x, y: exact.robust_accuracy(c.plane, x, y, 0.1, bounds=PLANE_BOX)
    ),
    "robust_accuracy/cube": _entry(
        "cube", lambda c, x, y: exact.robust_accuracy(c.cube, x, y, 0.1, bounds=(0, 1))
    ),
    "robust_accuracy_curve/plane": _entry(
        "plane",
        lambda c, x, y: exact.robust_accuracy_curve(c.plane, x, y, [0.1], bounds=PLANE_BOX),
    ),
    "robust_accuracy_curve/cube": _entry(
        "cube", lambda c, x, y: exact.robust_accuracy_curve(c.cube, x, y, [0.1], bounds=(0, 1))
    ),
    "grid_minimal_distance": _entry(
        "plane",
        lambda c, x, y: exact.grid_minimal_distance(c.plane, x, y, bounds=PLANE_BOX, resolution=20),
    ),
    "ExactBoundary.class_distances": _entry("plane", lambda c, x, y: c.boundary.class_distances(x)),
    "ExactBoundary.predict": _entry("plane", lambda c, x, y: c.boundary.predict(x)),
    "ExactBoundary.distance": _entry("plane", lambda c, x, y: c.boundary.distance(x, y)),
    "ExactBoundary.robust_accuracy": _entry(
        "plane", lambda c, x, y: c.boundary.robust_accuracy(x, y, 0.1)
    ),
    "verify": _entry("cube", lambda c, x, y: exact.verify(c.cube, x, y, 0.1, bounds=(0, 1))),
    "minimal_linf_distance": _entry(
        "cube", lambda c, x, y: exact.minimal_linf_distance(c.cube, x, y, bounds=(0, 1))
    ),
    "relu_units": _entry(
        "cube",
        lambda c, x, y: exact.relu_units(c.cube, x[2:3] if len(x) else x),
        index=0,
        empty="one input of shape",
    ),
    "input_ball": _entry("cube", lambda c, x, y: exact_certify.input_ball(x, 0.1, (0, 1))),
    "interval_bounds": _entry(
        "cube",
        lambda c, x, y: exact.interval_bounds(c.cube_layers, x.numpy(), c.cube_x.numpy()),
        arg="x_low",
    ),
    "crown_bounds": _entry(
        "cube",
        lambda c, x, y: exact.crown_bounds(c.cube_layers, c.cube_x.numpy(), x.numpy()),
        arg="x_high",
    ),
    "margin_lower_bounds": _entry(
        "cube",
        lambda c, x, y: exact.margin_lower_bounds(c.cube, x, y, 0.1, bounds=(0, 1)),
    ),
    "certified_robust": _entry(
        "cube", lambda c, x, y: exact.certified_robust(c.cube, x, y, 0.1, bounds=(0, 1))
    ),
    "unstable_relus": _entry(
        "cube", lambda c, x, y: exact.unstable_relus(c.cube, x, 0.1, bounds=(0, 1))
    ),
    "MixupInference": _entry(
        "blobs",
        lambda c, x, y: mixup_inference.MixupInference(c.blobs_model, x, y),
        arg="x_pool",
    ),
    "MixupInference.forward": _entry("blobs", lambda c, x, y: _mi(c)(x)),
    "MixupInference.log_mix": _entry(
        "blobs", lambda c, x, y: _mi(c).log_mix(x, torch.zeros_like(y), 2, same=True)
    ),
    "MixupInference.mix": _entry(
        "blobs", lambda c, x, y: _mi(c).mix(x, torch.zeros_like(y), 2, same=False)
    ),
    "mixup_batch": _entry("blobs", lambda c, x, y: mixup_inference.mixup_batch(x, y)),
    "mixup_loss": _entry(  # a trainable model: a plain network has no loss(x, y) to mix
        "blobs", lambda c, x, y: mixup_inference.mixup_loss(make_model(c.data, "sce"), x, y)
    ),
    "mixing_effect/x_adv": _entry(
        "blobs",
        lambda c, x, y: mixup_inference.mixing_effect(
            c.blobs_model, c.blobs_x, x, c.blobs_y, c.data.x_train, [0.5], samples=2
        ),
        arg="x_adv",
    ),
    "mixing_effect/x_pool": _entry(
        "blobs",
        lambda c, x, y: mixup_inference.mixing_effect(
            c.blobs_model, c.blobs_x, c.blobs_x, c.blobs_y, x, [0.5], samples=2
        ),
        arg="x_pool",
    ),
    "mi_robustness/x": _entry(
        "blobs", lambda c, x, y: _mi_robustness(c, x, y, c.blobs_x, c.data.x_train)
    ),
    "mi_robustness/x_adv": _entry(
        "blobs",
        lambda c, x, y: _mi_robustness(c, c.blobs_x, c.blobs_y, x, c.data.x_train),
        arg="x_adv",
    ),
    "mi_robustness/x_pool": _entry(
        "blobs",
        lambda c, x, y: _mi_robustness(c, c.blobs_x, c.blobs_y, c.blobs_x, x),
        arg="x_pool",
    ),
}
PLANE_BOX = (-3.0, 3.0)


def test_every_exact_and_mi_entry_that_takes_inputs_is_in_the_table():
    covered = {key.split("/")[0] for key in INPUT_ENTRIES}
    missing = input_entries() - covered - set(NOT_CHECKED)
    assert not missing, (
        f"{sorted(missing)} take inputs: add a call to INPUT_ENTRIES in tests/test_edges.py (it "
        f"is checked to refuse non-finite and empty inputs), or the reason to NOT_CHECKED"
    )
    assert {"verify", "MixupInference", "ExactBoundary.distance"} <= input_entries()


@pytest.fixture(scope="module")
def spaces(blobs):
    torch.manual_seed(0)
    plane = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    cube = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    plane_x, cube_x = torch.rand(5, 2) * 2 - 1, torch.rand(5, 4)
    data, blobs_model = blobs
    return SimpleNamespace(
        plane=plane,
        plane_x=plane_x,
        plane_y=plane(plane_x).argmax(1).detach(),
        boundary=exact.decision_boundary(plane, PLANE_BOX),
        cube=cube,
        cube_x=cube_x,
        cube_y=cube(cube_x).argmax(1).detach(),
        cube_layers=exact_certify.network_layers(cube),
        data=data,
        blobs_model=blobs_model,
        blobs_x=data.x_test[:5],
        blobs_y=data.y_test[:5],
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", list(INPUT_ENTRIES))
def test_every_exact_and_mi_entry_refuses_non_finite_inputs_naming_the_sample(spaces, name, value):
    # inf and -inf lie outside every box: the error must still be about finiteness (and name the
    # sample), not "every input must lie in the box".
    entry = INPUT_ENTRIES[name]
    x, y = getattr(spaces, f"{entry['space']}_x"), getattr(spaces, f"{entry['space']}_y")
    with pytest.raises(
        ValueError,
        match=rf"{entry['arg']} has non-finite values \(NaN or inf\) in 1 of \d+ samples, at "
        rf"sample index {entry['index']}:",
    ):
        entry["call"](spaces, poisoned(x, value), y)


@pytest.mark.parametrize("name", list(INPUT_ENTRIES))
def test_every_exact_and_mi_entry_refuses_an_empty_set(spaces, name):
    entry = INPUT_ENTRIES[name]
    x, y = getattr(spaces, f"{entry['space']}_x"), getattr(spaces, f"{entry['space']}_y")
    with pytest.raises(ValueError, match=entry["empty"]):
        entry["call"](spaces, x[:0], y[:0])


#: Every count an evaluator takes, at 0 (an evaluator has no registry: add a new one's counts).
EVALUATOR_BUDGETS = {
    ("mixing_effect", "samples"): lambda m, d, x, y: mixup_inference.mixing_effect(
        m, x, x, y, d.x_train[:20], [0.5], samples=0
    ),
    ("accuracy_vs_steps", "steps_list entry"): lambda m, d, x, y: masking.accuracy_vs_steps(
        m, x, y, 0.3, steps_list=(0,), bounds=d.bounds
    ),
    ("accuracy_vs_steps", "restarts_list entry"): lambda m, d, x, y: masking.accuracy_vs_steps(
        m, x, y, 0.3, steps_list=(1,), restarts_list=(0,), bounds=d.bounds
    ),
    ("auto_attack", "steps"): lambda m, d, x, y: attacks.auto_attack(
        m, x, y, 0.3, bounds=d.bounds, steps=0, restarts=1, progress=False
    ),
    ("auto_attack", "restarts"): lambda m, d, x, y: attacks.auto_attack(
        m, x, y, 0.3, bounds=d.bounds, steps=5, restarts=0, progress=False
    ),
    ("MixupInference", "samples"): lambda m, d, x, y: mixup_inference.MixupInference(
        m, d.x_train, d.y_train, samples=0
    ),
    **{
        ("mi_robustness", budget): lambda m, d, x, y, budget=budget: mixup_inference.mi_robustness(
            m,
            x,
            y,
            x,
            d.x_train,
            d.y_train,
            eps=0.1,
            alpha=0.05,
            bounds=d.bounds,
            modes=("PL",),
            **{budget: 0},
        )
        for budget in ("steps", "eot_samples", "batch_size")
    },
}


@pytest.mark.parametrize("name, budget", list(EVALUATOR_BUDGETS))
def test_every_zero_evaluator_budget_is_refused_naming_it(name, budget):
    data, model = trained(3, torch.float32)
    with pytest.raises(ValueError, match=rf"^{budget} must be an integer >= 1"):
        EVALUATOR_BUDGETS[name, budget](model, data, data.x_test[:5], data.y_test[:5])


def test_empty_sets_have_no_accuracy():
    from robviz.scale.loop import accuracy as scale_accuracy

    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="x is empty"):
        accuracy(model, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="x is empty"):
        scale_accuracy(
            model, torch.zeros(0, 3, 4, 4, dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
        )


# -------------------------------------- a non-finite iterate or output is never robust or a success


class DistanceToCenters(nn.Module):
    """Logits -||x - c_k||: the gradient is NaN at a center (sqrt at 0).

    At a center, the prediction is that center's class.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("centers", torch.tensor([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]]))

    def forward(self, x):
        return -((x[:, None] - self.centers) ** 2).sum(-1).sqrt()


@pytest.mark.parametrize("name", ["PGD-L2", "DeepFool"])
def test_a_nan_gradient_is_reported_as_failed_never_as_robust(name):
    model = DistanceToCenters()
    x = torch.tensor([[-1.0, 0.0], [0.9, 0.1], [0.0, 1.4]])  # sample 0 sits on its class's center
    y = torch.tensor([0, 1, 2])
    bounds = (-3.0, 3.0)
    attack = (
        attacks.PGD(
            model, eps=0.5, alpha=0.2, steps=5, norm="L2", random_start=False, bounds=bounds
        )
        if name == "PGD-L2"
        else attacks.DeepFool(model, steps=5, bounds=bounds)
    )
    result = attack.run(x, y)
    assert result.failed.tolist() == [True, False, False]
    assert not result.success[0] and result.prediction[0] == -1
    assert torch.isfinite(result.x_adv).all() and torch.equal(
        result.x_adv[0], x[0]
    )  # the last finite iterate
    assert "failed=1" in repr(result)
    table = attacks.robust_accuracy(model, x, y, {name: attack}, progress=False)
    row = table.rows[1]
    assert row["failed"] == 1
    assert row["accuracy"] == pytest.approx(
        1 - (result.success.sum().item() + 1) / 3
    )  # sample 0 not robust


class NaNLogits(nn.Module):
    """Logits [NaN, 0, 0] that depend on x (so attacks have a graph): argmax would say class 0."""

    def forward(self, x):
        return torch.tensor([math.nan, 0.0, 0.0]) + 0 * x.sum(dim=1, keepdim=True)


def test_nan_logits_are_never_class_0():
    model = NaNLogits()
    y = torch.zeros(4, dtype=torch.long)
    assert accuracy(model, torch.zeros(4, 2), y) == 0.0
    table = attacks.robust_accuracy(
        model, torch.zeros(4, 2), y, {"FGSM": attacks.FGSM(model, eps=0.1)}, progress=False
    )
    assert table.get("clean") == 0.0 and table.get("FGSM", 0.1) == 0.0


# ------------------------------------------------------------------ labels that key data are unique


def test_two_models_with_one_default_name_get_two_rows(blobs):
    data, model = blobs
    _, other = trained(3, torch.float32)
    x, y = data.x_test[:10], data.y_test[:10]
    fgsm = {"FGSM": attacks.FGSM(model, eps=0.3, bounds=data.bounds)}
    first = attacks.robust_accuracy(model, x, y, fgsm, name="sce", progress=False)
    second = attacks.robust_accuracy(
        other.eval(),
        x,
        y,
        {"FGSM": attacks.FGSM(other, eps=0.3, bounds=data.bounds)},
        name="sce",
        progress=False,
    )
    table = first + second
    assert table.models == ["sce", "sce #2"]
    assert table.get("clean", model="sce") == first.get("clean")
    assert table.get("clean", model="sce #2") == second.get("clean")
    assert len(table.pivot()[2]) == 2
    with pytest.raises(ValueError, match="appears more than once"):
        attacks.RobustnessTable(first.rows + second.rows)


def test_robviz_table_keeps_two_files_labelled_alike_apart(tmp_path):
    from robviz.scale import measured_vs_talk

    for i, accuracy_value in enumerate((0.5, 0.25)):
        rows = [
            dict(
                model="sce", attack="clean", eps=None, accuracy=accuracy_value, distance=None, n=10
            )
        ]
        (tmp_path / f"e{i}.json").write_text(json.dumps({"rows": rows}))
    models, columns, values, reference = measured_vs_talk(
        [tmp_path / "e0.json", tmp_path / "e1.json"]
    )
    assert models == ["sce", "sce #2"] and [row[0] for row in values] == [50.0, 25.0]
    assert reference[0][0] == reference[1][0] == "92.9"  # both compared with the talk's sce row


def test_a_heatmap_refuses_two_rows_labelled_alike():
    from robviz.viz import robustness_heatmap

    with pytest.raises(ValueError, match="rows must be unique, but 'sce' appears more than once"):
        robustness_heatmap(["sce", "sce"], ["clean"], [[50.0], [25.0]])
    with pytest.raises(ValueError, match="labels must be unique"):
        checks.unique_labels("labels", ["a", "b", "a"])


# --------------------------------------------------------------------------- coinciding class means


def test_feature_spread_of_coinciding_class_means_is_infinite():
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    y = torch.tensor([0, 0, 1, 1, 2, 2])  # classes 0 and 1: identical features, equal means
    assert feature_spread(z, y) == math.inf
    # Means 1e-3 apart: the honest ratio within / between (0.5 / 1e-3), not the spread to the far
    # class.
    z_close = z.clone()
    z_close[2:4, 1] += 1e-3
    assert feature_spread(z_close, y) == pytest.approx(0.5 / 1e-3, rel=1e-3)
    # Means 1e-9 apart (float32 holds 1e-9 next to 0 exactly enough): the docstring's "huge, honest
    # ratio", within / between = 0.5 / 1e-9 = 5e8. Finite, and read the documented way (lower =
    # tighter) it says "not separated", as inf does; the spread to the far class (about 0.07) would
    # say the opposite.
    z_hair = z.clone()
    z_hair[2:4, 1] += 1e-9
    assert feature_spread(z_hair, y) == pytest.approx(0.5 / 1e-9, rel=1e-3)


# ---------------------------------------------------------------------- C&W stops per sample


def test_cw_early_abort_is_per_sample_so_batched_equals_one_at_a_time(blobs):
    data, model = blobs
    x, y = data.x_test[:12], data.y_test[:12]
    attack = attacks.CW(
        model, steps=40, binary_steps=3, lr=0.05, bounds=data.bounds
    )  # abort_early=True
    batched = attack.run(x, y)
    single = torch.cat([attack.run(x[i : i + 1], y[i : i + 1]).x_adv for i in range(len(x))])
    assert torch.allclose(batched.x_adv, single, atol=1e-5)


# ------------------------------------------------------------------ LID of its own reference points


def test_lid_exclude_self_ignores_a_points_own_copy():
    data, model = trained(3, torch.float32)
    lid = detect.LID(k=5, reference_size=50).fit(model, data.x_train)
    generator = torch.Generator().manual_seed(lid.seed)
    inside = data.x_train[
        torch.randperm(len(data.x_train), generator=generator)[:3]
    ]  # in the reference batch
    with_copy = lid(model, inside)
    without = lid.score(model, inside, exclude_self=True)
    z, reference = detect.scores._features(model, inside), lid.reference
    expected = -detect.lid_mle(z, reference, 5, exclude_self=True).numpy()
    np.testing.assert_allclose(without, expected)
    assert (
        with_copy > without + 1
    ).all()  # the copy at distance 0 makes the point look far too "normal"


# ---------------------------------------------------------------- the grid check's documented bound


def test_grid_minimal_distance_states_the_bound_the_tests_check():
    from robviz.exact import grid_minimal_distance

    doc = grid_minimal_distance.__doc__
    assert "h * sqrt(2) (L2) or h (L-inf)" in " ".join(doc.split())


# --------------------------------------------------------------------- resume with changed settings


TINY_RUN = [
    "train",
    "--tiny",
    "--quiet",
    "--threads",
    "1",
    "--train-size",
    "32",
    "--batch-size",
    "16",
    "--test-size",
    "16",
]


def test_resume_with_changed_settings_is_refused_naming_each(tmp_path):
    import torch as _torch

    from robviz.cli import main

    out = tmp_path / "run"
    main(TINY_RUN + ["--out", str(out), "--stop-after", "1"])
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(
        SystemExit, match=r"lr 0.05 -> 0.5, seed 0 -> 7.*--resume\).*--out NEW, without --resume"
    ):
        main(TINY_RUN + ["--out", str(out), "--resume", "--lr", "0.5", "--seed", "7"])
    # another objective or architecture: the same refusal, not load_state_dict's missing keys
    for changed, message in (
        (["--objective", "mmc"], "objective 'sce' -> 'mmc'"),
        (["--arch", "resnet20"], "arch 'resnet8' -> 'resnet20'"),
    ):
        with pytest.raises(SystemExit, match=f"settings that differ .*: {message}"):
            main(TINY_RUN + ["--out", str(out), "--resume", *changed])
    assert (out / "checkpoint.pt").read_bytes() == before  # nothing recorded that was not used
    main(TINY_RUN + ["--out", str(out), "--resume"])  # the same settings continue
    meta = _torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)["metadata"]
    assert meta["epoch"] == 2 and meta["config"]["lr"] == 0.05


def test_labels_that_do_not_label_the_inputs_are_refused_everywhere():
    """A y of another length would broadcast against the predictions: a meaningless number."""
    from robviz.models import make_model
    from robviz.scale.loop import accuracy as cifar_accuracy

    data = gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    model = make_model(data, "sce")
    x, y = data.x_test[:6], data.y_test[:6]
    message = r"y must hold one integer class label per input"
    fgsm = {"FGSM": attacks.FGSM(model, eps=0.1, bounds=data.bounds)}
    for bad in (y[:1], y[:, None], y.float()):
        with pytest.raises(ValueError, match=message):
            accuracy(model, x, bad)
        with pytest.raises(ValueError, match=message):
            attacks.robust_accuracy(model, x, bad, attacks=fgsm, progress=False)
        with pytest.raises(ValueError, match=message):
            masking.accuracy_vs_eps(model, x, bad, eps_list=[0.1], bounds=data.bounds)
        with pytest.raises(ValueError, match=message):
            transferability(Ensemble([model, model]), x, bad, lambda m: attacks.FGSM(m, eps=0.1))
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match=message):
        cifar_accuracy(lambda u: torch.zeros(len(u), 10), images, torch.zeros(1, dtype=torch.long))


# ----------------------------------------------- labels outside the model's classes: never a number
# A label < 0 or >= L is no class: an accuracy counted it wrong (0.0 that looks measured) and an
# index picked another class's value (centers[-1] is the last class's center: a finite MMC loss).
# Every entry that takes labels and knows L refuses one, naming the argument and the sample.

#: For the 3-class models below: just below the classes and the first past them.
BAD_LABELS = [-1, 3]


def relabelled(y, value, index=2):
    y = y.clone()
    y[index] = value
    return y


def outside(arg="y", num_classes=3, index="2", count=r"1 of \d+"):
    """The error of checks.labels for one label outside [0, num_classes) at sample ``index``."""
    return (
        rf"^{arg} must hold class labels in \[0, {num_classes - 1}\] \(the {num_classes} "
        rf"classes\), got {count} samples outside, at sample index {index} "
    )


def test_the_labels_check_names_the_range_the_count_and_the_samples():
    y = torch.tensor([0, 2, -1, 1, 3, 7, 9, -4, 5, 6])
    with pytest.raises(
        ValueError,
        match=r"^y must hold class labels in \[0, 2\] \(the 3 classes\), got 7 of 10 samples "
        r"outside, at sample index 2, 4, 5, 6, 7, \.\.\. \(labels -1, 3, 7, 9, -4, \.\.\.\)$",
    ):
        checks.labels("y", y, 10, num_classes=3)
    assert checks.labels("y", np.array([0, 2, 1]), 3, num_classes=3).tolist() == [0, 2, 1]
    assert checks.labels("y", y, 10).tolist() == y.tolist()  # no L given: the range is not checked
    assert checks.labels("y", y[:0], 0, num_classes=3).shape == (0,)


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_every_attack_refuses_labels_outside_the_classes(blobs, name, bad):
    data, model = blobs
    x, y = data.x_test[:5], data.y_test[:5]
    with pytest.raises(ValueError, match=outside("y")):
        fast_attack(name, model, data.bounds).run(x, relabelled(y, bad))


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", list(TARGETED))
def test_a_target_outside_the_classes_is_refused(blobs, name, bad):
    data, model = blobs
    x, y = data.x_test[:5], data.y_test[:5]
    attack = TARGETED[name](model, data.bounds)
    with pytest.raises(ValueError, match=outside("target")):
        attack.run(x, y, relabelled((y + 1) % 3, bad))


def test_an_attack_reads_the_classes_of_a_classifier_from_its_head():
    data = gaussian_mixture(num_classes=3, n_per_class=10)
    model = make_model(data, "mmc", seed=0)  # num_classes from the head, no extra forward pass
    x, y = data.x_test[:5], data.y_test[:5]
    with pytest.raises(ValueError, match=outside("y")):
        attacks.PGD(model, eps=0.3, steps=1, bounds=data.bounds).run(x, relabelled(y, 3))
    assert attacks.PGD(model, eps=0.3, steps=1, bounds=data.bounds).run(x, y).x_adv.shape == x.shape


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", list(EVALUATORS))
def test_every_evaluator_refuses_labels_outside_the_classes(name, bad):
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5], data.y_test[:5]
    with pytest.raises(ValueError, match=outside("y")):
        EVALUATORS[name](model, data, x, relabelled(y, bad))


@pytest.mark.parametrize("bad", BAD_LABELS)
def test_detection_refuses_labels_outside_the_classes(bad):
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5], data.y_test[:5]
    result = attacks.FGSM(model, eps=0.3, bounds=data.bounds).run(x, y)
    with pytest.raises(ValueError, match=outside("y")):
        detect.detection_pairs(model, x, relabelled(y, bad), result)
    with pytest.raises(ValueError, match=outside("y")):
        detect.KernelDensity(sigma2=1.0, points_per_class=5).fit(
            model, data.x_train, relabelled(data.y_train, bad)
        )


#: The entries of INPUT_ENTRIES whose call passes its y on as labels, by the labels' name.
LABELLED_ENTRIES = {
    **{
        name: "y"
        for name in INPUT_ENTRIES
        if name.split("/")[0]
        in {
            "minimal_distance",
            "robust_accuracy",
            "robust_accuracy_curve",
            "grid_minimal_distance",
            "ExactBoundary.distance",
            "ExactBoundary.robust_accuracy",
            "verify",
            "minimal_linf_distance",
            "margin_lower_bounds",
            "certified_robust",
        }
    },
    "MixupInference": "y_pool",
    "mi_robustness/x": "y",
}
#: Entries with a labels argument called here with calls of their own: (labels' name, call(c, y)).
LABELLED_CALLS = {
    "mixing_effect": (
        "y",
        lambda c, y: mixup_inference.mixing_effect(
            c.blobs_model, c.blobs_x, c.blobs_x, y, c.data.x_train, [0.5], samples=2
        ),
    ),
    "mi_robustness/y_pool": (
        "y_pool",
        lambda c, y: mixup_inference.mi_robustness(
            c.blobs_model,
            c.blobs_x,
            c.blobs_y,
            c.blobs_x,
            c.blobs_x,
            y,
            eps=0.1,
            alpha=0.05,
            steps=1,
            eot_samples=1,
            modes=("PL",),
            bounds=c.data.bounds,
        ),
    ),
}
#: Entries with a labels argument that do not check it against the classes, with the reason.
LABELS_NOT_CHECKED = {
    "ExactBoundary": "its labels are the classes decision_boundary computes per region",
    "mixup_batch": "it knows no L: it mixes the labels it is given, and the loss they go to checks",
    "mixup_loss": "the labels go to the classifier's loss, whose head checks them "
    "(test_every_objective_head_refuses_labels_outside_the_classes)",
    "MixupModel.loss": "the labels go to the classifier's loss, whose head checks them",
}
LABEL_ARGUMENTS = {"y", "y_pool", "labels", "target"}


def test_every_exact_and_mi_entry_that_takes_labels_is_in_the_table():
    covered = {key.split("/")[0] for key in [*LABELLED_ENTRIES, *LABELLED_CALLS]}
    missing = input_entries(LABEL_ARGUMENTS) - covered - set(LABELS_NOT_CHECKED)
    assert not missing, (
        f"{sorted(missing)} take labels: add them to LABELLED_ENTRIES or LABELLED_CALLS in "
        f"tests/test_edges.py (checked to refuse labels outside the classes), or the reason to "
        f"LABELS_NOT_CHECKED"
    )
    assert {"verify", "MixupInference", "mi_robustness"} <= input_entries(LABEL_ARGUMENTS)


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", [*LABELLED_ENTRIES, *LABELLED_CALLS])
def test_every_exact_and_mi_entry_refuses_labels_outside_the_classes(spaces, name, bad):
    if name in LABELLED_CALLS:
        arg, call = LABELLED_CALLS[name]
        y = spaces.blobs_y if arg == "y" else spaces.data.y_train[:5]
        with pytest.raises(ValueError, match=outside(arg)):
            call(spaces, relabelled(y, bad))
        return
    entry = INPUT_ENTRIES[name]
    x, y = getattr(spaces, f"{entry['space']}_x"), getattr(spaces, f"{entry['space']}_y")
    with pytest.raises(ValueError, match=outside(LABELLED_ENTRIES[name])):
        entry["call"](spaces, x, relabelled(y, bad))


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_head_refuses_labels_outside_the_classes(name, bad):
    head = make_objective(name, num_classes=3, feature_dim=4)
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1])
    assert torch.isfinite(head.loss(z, head(z), y))
    with pytest.raises(ValueError, match=outside("y")):
        head.loss(z, head(z), relabelled(y, bad))
    for float64 in (False, True):  # the per-sample losses run the head's loss under vmap
        assert per_sample_loss(head, float64=float64)(z, y).shape == (5,)
        with pytest.raises(ValueError, match=outside("y")):
            per_sample_loss(head, float64=float64)(z, relabelled(y, bad))


def test_mmc_loss_of_label_minus_1_is_refused_not_the_last_classs_loss():
    head = make_objective("mmc", num_classes=3, feature_dim=4)
    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    # The silent number it once gave: indexing with -1 reads the last class's center, so the loss
    # of label -1 was exactly the loss of label 2, finite and plausible. The loss function itself
    # refuses it now, as its head does.
    with pytest.raises(ValueError, match=outside("y", count="1 of 8")):
        mmc_loss(z, relabelled(y, -1), head.mm_centers, head.factor)
    with pytest.raises(ValueError, match=outside("y", count="1 of 8")):
        head.loss(z, head(z), relabelled(y, -1))
    data = gaussian_mixture(num_classes=3, n_per_class=10)
    model = make_model(data, "mmc", seed=0)
    with pytest.raises(ValueError, match=outside("y")):
        model.loss(data.x_train[:8], relabelled(data.y_train[:8], -1))
    with pytest.raises(ValueError, match=outside("y")):
        mixup_inference.mixup_loss(model, data.x_train[:8], relabelled(data.y_train[:8], -1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("bad", BAD_LABELS)
def test_on_cuda_a_label_outside_the_classes_stops_the_run_without_a_host_sync(bad):
    # The CIFAR loop's heads check every step's labels: on CUDA the range is asserted on the
    # device (torch._assert_async), so the check costs no synchronization. A failed device
    # assertion leaves the process's CUDA context unusable: it runs in a process of its own.
    code = f"""
import torch
from robviz.objectives import make_objective
head = make_objective("mmc", num_classes=3, feature_dim=4).cuda()
z = torch.randn(5, 4, device="cuda")
y = torch.tensor([0, 1, 2, 0, 1], device="cuda")
assert torch.isfinite(head.loss(z, head(z), y))
y[2] = {bad}
head.loss(z, head(z), y)
torch.cuda.synchronize()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    # CUDA reports the failed device assertion (with or without the message, by torch version)
    stopped = "class labels in [0, 2]" in done.stderr or "device-side assert" in done.stderr
    assert done.returncode != 0 and stopped, done.stderr[-2000:]


def test_accuracy_of_labels_outside_the_classes_is_refused_not_0():
    torch.manual_seed(0)
    model, x = nn.Linear(2, 3), torch.randn(8, 2)
    with pytest.raises(
        ValueError, match=outside("y", index=r"0, 1, 2, 3, 4, \.\.\.", count="8 of 8")
    ):
        accuracy(model, x, torch.full((8,), 7))
    with pytest.raises(ValueError, match=outside("y", count="1 of 8")):
        accuracy(model, x, relabelled(model(x).argmax(1), -1))
    # In range it is the share of correct predictions: two of eight labels changed to another class.
    y = model(x).argmax(1)
    y[:2] = (y[:2] + 1) % 3
    assert accuracy(model, x, y) == 6 / 8


@pytest.mark.parametrize("bad", BAD_LABELS)
def test_fit_refuses_labels_outside_the_heads_classes(bad):
    data = gaussian_mixture(num_classes=3, n_per_class=10)
    model = make_model(data, "mmc", seed=0)
    data.y_train[2] = bad  # changed after the Dataset checked its labels
    with pytest.raises(ValueError, match=outside("data.y_train")):
        fit(model, data, steps=1, progress=False)
    # A head of two classes on data of three: labels 2 are outside its classes, checked before
    # training.
    two = make_model(gaussian_mixture(num_classes=2, n_per_class=10), "sce", seed=0)
    three = gaussian_mixture(num_classes=3, n_per_class=10)
    with pytest.raises(
        ValueError, match=outside("data.y_train", 2, index=r"[0-9, .]+", count=r"\d+ of \d+")
    ):
        fit(two, three, steps=1, progress=False)


@pytest.mark.parametrize("bad", BAD_LABELS)
def test_a_dataset_refuses_labels_outside_its_classes(bad):
    data = gaussian_mixture(num_classes=3, n_per_class=10)
    with pytest.raises(ValueError, match=outside("y_train")):
        replace(data, y_train=relabelled(data.y_train, bad))
    with pytest.raises(ValueError, match=outside("y_test")):
        replace(data, y_test=relabelled(data.y_test, bad))


def _scale_accuracy(y):
    from robviz.scale.loop import accuracy as scale_accuracy

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 3))
    return scale_accuracy(model, torch.zeros(5, 3, 4, 4, dtype=torch.uint8), y)


def _adp_loss(y):
    from robviz.scale.resnet import adp_loss

    return adp_loss(torch.randn(2, 5, 3), y)


def _ensemble():
    torch.manual_seed(0)
    return Ensemble([nn.Linear(2, 3), nn.Linear(2, 3)], alpha=2.0, beta=0.5)


#: Entries that take labels and know L, outside the registries above: call(y), 5 samples, 3 classes.
OTHER_LABEL_ENTRIES = {
    "scale.loop.accuracy": _scale_accuracy,
    "scale.resnet.adp_loss": _adp_loss,
    "Ensemble.loss": lambda y: _ensemble().loss(torch.randn(5, 2), y),
    "adp_regularizer": lambda y: adp_regularizer(torch.rand(2, 5, 3).softmax(-1), y),
    "transferability": lambda y: transferability(
        Ensemble([make_model(gaussian_mixture(3, 5), "sce", seed=k) for k in range(2)]),
        torch.zeros(5, 2),
        y,
        lambda m: attacks.FGSM(m, eps=0.1, bounds=(-3, 3)),
    ),
    "mmc_shell_density": lambda y: mmc_shell_density(torch.randn(5, 2), y, mm_centers(3, 2)),
    "monte_carlo_shell_density": lambda y: monte_carlo_shell_density(
        torch.randn(5, 2), y, lambda z, y: z.pow(2).sum(1), num_classes=3
    ),
}


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", list(OTHER_LABEL_ENTRIES))
def test_other_entries_refuse_labels_outside_the_classes(name, bad):
    y = torch.tensor([0, 1, 2, 0, 1])
    if bad < 0 and name in ("mmc_shell_density", "monte_carlo_shell_density"):
        # negative labels were refused before by the features' own check, under its wording
        with pytest.raises(ValueError, match="labels y must be non-negative"):
            OTHER_LABEL_ENTRIES[name](relabelled(y, bad))
        return
    with pytest.raises(ValueError, match=outside("y")):
        OTHER_LABEL_ENTRIES[name](relabelled(y, bad))


def test_single_labels_outside_the_classes_are_refused_naming_them():
    with pytest.raises(ValueError, match=r"^label must be an integer in \[0, 2\], got 3"):
        trace_contour(make_objective("sce", 3, 2), 3, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^y must be an integer in \[0, 3\] .*got -1"):
        solve_adp(1.0, 0.5, K=3, L=4, y=-1, steps=1)


# ------------------------------------- the computing modules: the same kinds, outside the attacks
# Each entry gave a silent number or a crash deep inside torch before (the comment says which).


def features_and_labels(n=12, dim=2, num_classes=3):
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(0))
    return z, torch.arange(n) % num_classes


def _mc_density(z, y, **options):
    loss_fn = per_sample_loss(make_objective("mmc", 3, 2))
    return monte_carlo_shell_density(z, y, loss_fn, num_classes=3, num_samples=500, **options)


# name -> (argument named in the error, call taking the poisoned (12, 2) array at sample index 2)
NON_FINITE_ENTRIES = {
    # NaN distances, and an RB of NaN
    "theory.mahalanobis_distances": ("centers", lambda z: theory.mahalanobis_distances(z)),
    "theory.expected_robustness": ("centers", lambda z: theory.expected_robustness(z)),
    # a NaN class mean, and a class-mean distance of NaN
    "centers.class_means": ("z", lambda z: centers_module.class_means(z, torch.arange(12) % 3)),
    "centers.class_mean_distance": (
        "z",
        lambda z: centers_module.class_mean_distance(z, torch.arange(12) % 3),
    ),
    # the histogram dropped the point: a density lower than measured, no error
    "landscape.feature_density": (
        "features",
        lambda z: landscape.feature_density(z, (-3.0, 3.0, -3.0, 3.0)),
    ),
    "landscape.feature_density (frames)": (
        "features",
        lambda z: landscape.feature_density(torch.stack([z, z]), (-3.0, 3.0, -3.0, 3.0)),
    ),
    # an extent of NaN
    "regions.feature_extent": ("features", lambda z: regions.feature_extent(z)),
    # a dataset that trains every weight to NaN
    "data.Dataset": (
        "x_train",
        lambda z: data_module.Dataset(
            "d", z, torch.arange(12) % 3, z, torch.arange(12) % 3, 3, (-3, 3)
        ),
    ),
    # non-ME 0.69 = log 2 for a NaN row, an ordinary score
    "detect.non_max_entropy": ("probabilities", lambda z: detect.non_max_entropy(z.repeat(1, 2))),
    "detect.non_max_entropy_logits": (
        "logits",
        lambda z: detect.non_max_entropy_logits(z.repeat(1, 2)),
    ),
    # LID NaN
    "detect.lid_mle": ("z", lambda z: detect.lid_mle(z, torch.randn(20, 2), k=5)),
    "detect.lid_mle (reference)": (
        "reference",
        lambda z: detect.lid_mle(torch.randn(3, 2), z, k=5),
    ),
    # class 0, the argmin of NaN logits
    "attacks.least_likely": ("x", lambda z: attacks_base.least_likely(nn.Linear(2, 3), z)),
    # every shell edge NaN
    "shell_density.mmc_shell_density": (
        "z",
        lambda z: mmc_shell_density(z, torch.arange(12) % 3, mm_centers(3, 2)),
    ),
    "shell_density.monte_carlo_shell_density": (
        "z",
        lambda z: _mc_density(z, torch.arange(12) % 3),
    ),
}


@pytest.mark.parametrize("value", [math.nan, math.inf])
@pytest.mark.parametrize("name", list(NON_FINITE_ENTRIES))
def test_computing_entries_refuse_non_finite_inputs_naming_the_sample(name, value):
    arg, call = NON_FINITE_ENTRIES[name]
    z, _ = features_and_labels()
    with pytest.raises(ValueError, match=rf"^{arg} has non-finite values .* at sample index 2:"):
        call(poisoned(z, value))


def test_non_finite_points_and_means_of_the_closed_forms_are_refused():
    mu = torch.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match=r"^mu_k must be finite"):  # a sphere of NaN before
        theory.gsce_contour(1.0, 1.0, 2.0, torch.tensor([math.nan, 0.0]), -mu)
    with pytest.raises(ValueError, match=r"^start must be a finite point"):  # a path [nan, 1]
        trace_contour(make_objective("mmc", 3, 2), 0, [math.nan, 1.0])


def test_empty_features_have_no_density_and_no_extent():
    empty = torch.zeros(0, 2)
    with pytest.raises(ValueError, match=r"^features is empty"):  # a grid of zeros before
        landscape.feature_density(empty, (-1.0, 1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match=r"^features is empty"):  # a crash inside torch.max
        regions.feature_extent(empty)
    with pytest.raises(ValueError, match=r"^z is empty"):  # every shell edge NaN before
        mmc_shell_density(empty, torch.zeros(0, dtype=torch.long), mm_centers(3, 2))
    # an empty batch of scores is empty, not a crash of the non-finite check
    assert detect.non_max_entropy(np.zeros((0, 3))).shape == (0,)
    assert attacks_base.least_likely(nn.Linear(2, 3), empty).shape == (0,)


# name -> (call, the start of the error): each setting leaves no work or the wrong sign
BAD_SETTINGS = {
    # the random start, returned as if optimized
    "spread_centers steps=0": (
        lambda: centers_module.spread_centers(4, 3, steps=0),
        r"steps must be an integer >= 1",
    ),
    "solve_adp steps=0": (lambda: solve_adp(2.0, 0.5, steps=0), r"steps must be an integer >= 1"),
    "solve_adp lr=0": (lambda: solve_adp(2.0, 0.5, lr=0.0), r"lr must be a finite number > 0"),
    "tsne n_iter=0": (
        lambda: embed.tsne(
            np.random.default_rng(0).standard_normal((40, 3)), perplexity=5, n_iter=0, cache=False
        ),
        r"n_iter must be an integer >= 1",
    ),
    # a sphere of radius2 NaN, and a g-SCE whose well is a hill
    "gsce_contour sigma_k=0": (
        lambda: theory.gsce_contour(1.0, 0.0, 1.0, torch.ones(2), -torch.ones(2)),
        r"sigma_k must be a finite number > 0",
    ),
    "gsce_loss sigmas=-1": (
        lambda: landscape.gsce_loss(*features_and_labels(), mm_centers(3, 2), -1.0),
        r"sigmas must be > 0",
    ),
    "feature_extent pad=-1": (
        lambda: regions.feature_extent(torch.ones(4, 2), pad=-1.0),
        r"pad must be a finite number >= 0",
    ),
    # a 1-point "grid" at the corner, and an empty picture
    "grid_points resolution=1": (
        lambda: data_module.grid_points((-1.0, 1.0, -1.0, 1.0), 1),
        r"resolution must be an integer >= 2",
    ),
    "input_regions resolution=0": (
        lambda: regions.input_regions(nn.Linear(2, 3), (-1.0, 1.0, -1.0, 1.0), resolution=0),
        r"resolution must be an integer >= 2",
    ),
    # [:-1] of every class: all but one sample per class
    "sample_per_class per_class=-1": (
        lambda: data_module.sample_per_class(torch.arange(12) % 3, -1),
        r"per_class must be an integer >= 1",
    ),
    "adp_regularizer alpha=-1": (
        lambda: adp_regularizer(torch.full((3, 4, 3), 1 / 3), torch.arange(4) % 3, alpha=-1.0),
        r"alpha must be a finite number >= 0",
    ),
    # losses of 0 everywhere, or features pushed away from their centers
    "MMC factor=0": (
        lambda: objectives.MMC(3, 2, factor=0.0),
        r"factor must be a finite number > 0",
    ),
    "MMLDA factor=-1": (
        lambda: objectives.MMLDA(3, 2, factor=-1.0),
        r"factor must be a finite number > 0",
    ),
    "CenterLoss weight=-1": (
        lambda: objectives.CenterLoss(3, 2, weight=-1.0),
        r"weight must be a finite number >= 0",
    ),
    "LGM margin=-1": (
        lambda: objectives.LGM(3, 2, margin=-1.0),
        r"margin must be a finite number >= 0",
    ),
    "mmc_loss factor=-1": (
        lambda: mmc_loss(*features_and_labels(), mm_centers(3, 2), factor=-1.0),
        r"factor must be a finite number > 0",
    ),
    # LID 1e12 for every point: log(r_1 / r_1) = 0
    "lid_mle k=1": (
        lambda: detect.lid_mle(torch.randn(3, 2), torch.randn(9, 2), k=1),
        r"k must be an integer in \[2, 9\]",
    ),
    "LID k=1": (lambda: detect.LID(k=1), r"k must be an integer >= 2"),
    # starts outside the ball, or all clamped onto one value
    "uniform_start eps=-1": (
        lambda: adversarial_module.uniform_start(
            torch.zeros(2, 2), -1.0, "Linf", (0.0, 1.0), torch.Generator()
        ),
        r"eps must be a finite number >= 0",
    ),
    "uniform_start crossed bounds": (
        lambda: adversarial_module.uniform_start(
            torch.zeros(2, 2), 0.1, "Linf", (1.0, 0.0), torch.Generator()
        ),
        r"bounds must be \(low, high\) with low < high",
    ),
    "TrainConfig momentum=-1": (
        lambda: TrainConfig(momentum=-1.0),
        r"momentum must be a finite number in \[0, 1\)",
    ),
    "TrainConfig weight_decay=-1": (
        lambda: TrainConfig(weight_decay=-1.0),
        r"weight_decay must be a finite number >= 0",
    ),
    "TrainConfig record_every=-1": (
        lambda: TrainConfig(record_every=-1),
        r"record_every must be an integer >= 0",
    ),
    # a crash inside range()
    "accuracy batch_size=0": (
        lambda: accuracy(
            nn.Linear(2, 3), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), batch_size=0
        ),
        r"batch_size must be an integer >= 1",
    ),
    # crashes inside Tensor.split
    "loss_on_grid chunk_size=0": (
        lambda: landscape.loss_on_grid(
            make_objective("mmc", 3, 2), (-1, 1, -1, 1), 4, chunk_size=0
        ),
        r"chunk_size must be an integer >= 1",
    ),
    "monte_carlo_shell_density chunk_size=0": (
        lambda: _mc_density(*features_and_labels(), chunk_size=0),
        r"chunk_size must be an integer >= 1",
    ),
    # bounds with lower > upper, for a box that holds no point
    "interval_bounds crossed box": (
        lambda: exact_certify.interval_bounds(
            exact_certify.network_layers(nn.Sequential(nn.Linear(2, 3))),
            np.ones((2, 2)),
            np.array([[2.0, 2.0], [0.0, 0.0]]),
        ),
        r"x_low must be <= x_high in every coordinate, but 1 of 2 boxes are crossed, at sample "
        r"index 1",
    ),
    "Dataset crossed bounds": (
        lambda: data_module.Dataset(
            "d", *features_and_labels(), *features_and_labels(), 3, (1.0, 0.0)
        ),
        r"bounds must be \(low, high\) with low < high",
    ),
    "Dataset one class": (
        lambda: data_module.Dataset(
            "d",
            *features_and_labels(num_classes=1),
            *features_and_labels(num_classes=1),
            1,
            (0.0, 1.0),
        ),
        r"num_classes must be an integer >= 2",
    ),
    # ({}, {}), and one model under two names
    "fit_objectives []": (
        lambda: fit_objectives(gaussian_mixture(n_per_class=10), [], steps=1, progress=False),
        r"objectives is empty",
    ),
    "fit_objectives twice": (
        lambda: fit_objectives(
            gaussian_mixture(n_per_class=10), ["sce", "sce"], steps=1, progress=False
        ),
        r"objectives must be unique, but 'sce' appears more than once",
    ),
}


@pytest.mark.parametrize("name", list(BAD_SETTINGS))
def test_computing_entries_refuse_settings_that_leave_no_work_naming_them(name):
    call, message = BAD_SETTINGS[name]
    with pytest.raises(ValueError, match=f"^{message}"):
        call()


# name -> (argument named in the error, call taking (12, 2) features and their 3-class labels y)
RAW_LABEL_ENTRIES = {
    # IndexError / RuntimeError inside torch before; label -1 of mmc_loss: the last class's loss
    "objectives.sce_loss": ("y", lambda z, y: objectives.sce_loss(z @ torch.ones(2, 3), y)),
    "objectives.rce_loss": ("y", lambda z, y: objectives.rce_loss(z @ torch.ones(2, 3), y)),
    "objectives.mmlda_loss": ("y", lambda z, y: objectives.mmlda_loss(z, y, mm_centers(3, 2))),
    "objectives.mmc_loss": ("y", lambda z, y: objectives.mmc_loss(z, y, mm_centers(3, 2))),
    "objectives.center_loss": (
        "y",
        lambda z, y: objectives.center_loss(z @ torch.ones(2, 3), z, y, mm_centers(3, 2)),
    ),
    "objectives.lgm_loss": ("y", lambda z, y: objectives.lgm_loss(z, y, mm_centers(3, 2))),
    "objectives.cross_entropy_per_sample": (
        "y",
        lambda z, y: objectives.cross_entropy_per_sample(z @ torch.ones(2, 3), y),
    ),
    "landscape.gsce_loss": ("y", lambda z, y: landscape.gsce_loss(z, y, mm_centers(3, 2), 1.0)),
    "attacks.dlr_loss": ("y", lambda z, y: attacks_apgd.dlr_loss(z @ torch.ones(2, 3), y)),
    # a silent target: (y + shift) mod L for a label that is no class
    "attacks.random_target": ("y", lambda z, y: attacks_base.random_target(y, 3)),
}


@pytest.mark.parametrize("bad", BAD_LABELS)
@pytest.mark.parametrize("name", list(RAW_LABEL_ENTRIES))
def test_raw_losses_refuse_labels_outside_the_classes(name, bad):
    arg, call = RAW_LABEL_ENTRIES[name]
    z, y = features_and_labels()
    with pytest.raises(ValueError, match=outside(arg, count="1 of 12")):
        call(z, relabelled(y, bad))


def test_labels_of_unknown_range_are_refused_when_negative_or_not_integer():
    z, y = features_and_labels()
    # a bincount crash before
    with pytest.raises(ValueError, match=r"^y must hold class labels in \[0, 2\]"):
        centers_module.class_means(z, relabelled(y, -1))
    # float labels averaged by value before
    with pytest.raises(ValueError, match=r"^y must hold one integer class label per input"):
        centers_module.class_means(z, y.float())
    # a draw from "class -1" before
    with pytest.raises(ValueError, match=r"^y must hold class labels in \[0, 2\]"):
        data_module.sample_per_class(relabelled(y, -1), 2)
    # an IndexError inside the permutation before
    with pytest.raises(
        ValueError, match=r"^y must hold one integer class label per input, shape \(12,\)"
    ):
        mixup_inference.mixup_batch(z, y[:6])
    with pytest.raises(ValueError, match=r"^num_classes must be an integer >= 2"):
        attacks_base.random_target(torch.zeros(3, dtype=torch.long), 1)
    # the right numbers still come out
    assert centers_module.class_means(z, y).shape == (3, 2)
    assert y[data_module.sample_per_class(y, 2)].tolist() == [0, 0, 1, 1, 2, 2]
    target = attacks_base.random_target(y, 3, torch.Generator().manual_seed(0))
    assert (target != y).all() and target.max() < 3


def _masking_toy():
    data = gaussian_mixture(num_classes=3, n_per_class=20)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    return data, model, data.x_test[:8], data.y_test[:8]


# name -> (call on (data, model, x, y), the start of the error)
MASKING_AND_MI_SETTINGS = {
    # verdicts against thresholds no accuracy can meet: 'masked' for any model
    "accuracy_vs_eps floor=-1": (
        lambda d, m, x, y: masking.accuracy_vs_eps(m, x, y, [0.1, 0.2], bounds=d.bounds, floor=-1),
        r"floor must be a finite number in \[0, 1\]",
    ),
    "accuracy_vs_eps tolerance=-1": (
        lambda d, m, x, y: masking.accuracy_vs_eps(
            m, x, y, [0.1, 0.2], bounds=d.bounds, tolerance=-1
        ),
        r"tolerance must be a finite number >= 0",
    ),
    # spsa_lr=0 silently became the default eps / 4
    "whitebox_vs_blackbox spsa_lr=0": (
        lambda d, m, x, y: masking.whitebox_vs_blackbox(
            m, x, y, 0.1, bounds=d.bounds, pgd_steps=2, spsa_steps=2, spsa_samples=4, spsa_lr=0.0
        ),
        r"spsa_lr must be a finite number > 0 or None",
    ),
    # named alpha, PGD's step derived from it, before
    "whitebox_vs_blackbox eps=0": (
        lambda d, m, x, y: masking.whitebox_vs_blackbox(m, x, y, 0.0, bounds=d.bounds),
        r"eps must be a finite number > 0",
    ),
    "loss_along_direction roughness=-1": (
        lambda d, m, x, y: masking.loss_along_direction(m, x, y, roughness=-1.0),
        r"roughness must be a finite number > 0",
    ),
    # crashes inside torch.stack and broadcasting
    "loss_along_direction no alphas": (
        lambda d, m, x, y: masking.loss_along_direction(m, x, y, alphas=torch.zeros(0)),
        r"alphas must be a 1-D sequence of steps, at least one",
    ),
    "loss_along_direction direction of 3 samples": (
        lambda d, m, x, y: masking.loss_along_direction(m, x, y, direction=torch.ones(3, 2)),
        r"direction must have the shape of x, \(8, 2\), got \(3, 2\)",
    ),
    # named x before
    "loss_along_direction NaN alpha": (
        lambda d, m, x, y: masking.loss_along_direction(
            m, x, y, alphas=torch.tensor([0.0, math.nan, 1.0])
        ),
        r"alphas has non-finite values .* at sample index 1",
    ),
    "loss_landscape_2d plateau=2": (
        lambda d, m, x, y: masking.loss_landscape_2d(m, x, y, plateau=2.0),
        r"plateau must be a finite number in \[0, 1\]",
    ),
    # the input weighed 0: the pool's prediction, whatever x is
    "MixupInference lam=0": (
        lambda d, m, x, y: mixup_inference.MixupInference(m, d.x_train, d.y_train, lam=0.0),
        r"lam must be a finite number in \(0, 1\]",
    ),
    # MI-Combined reduced to MI-OL alone
    "MixupInference threshold=-1": (
        lambda d, m, x, y: mixup_inference.MixupInference(
            m, d.x_train, d.y_train, mode="combined", threshold=-1.0
        ),
        r"threshold must be a finite number in \[0, 1\]",
    ),
    # an extrapolation reported as a mixture
    "mixing_effect lams 1.5": (
        lambda d, m, x, y: mixup_inference.mixing_effect(m, x, x, y, d.x_train, [0.5, 1.5]),
        r"lams entry must be a finite number in \[0, 1\], got 1.5",
    ),
    # a broadcasting crash inside the mixture
    "mixing_effect x_adv of 4": (
        lambda d, m, x, y: mixup_inference.mixing_effect(m, x, x[:4], y, d.x_train, [0.5]),
        r"x_adv must have the shape of x, \(8, 2\), got \(4, 2\)",
    ),
    # non-ME of a negative 'probability': its NaN log was dropped as a 0 term
    "non_max_entropy negative": (
        lambda d, m, x, y: detect.non_max_entropy([[-0.5, 0.5, 1.0]]),
        r"probabilities must be >= 0",
    ),
    # a crash inside broadcasting, and the reverse label 1/(L - 1) = 1/0
    "mmc_loss centers of another d": (
        lambda d, m, x, y: mmc_loss(x, y, torch.zeros(3, 3)),
        r"z and centers must have one feature dimension d",
    ),
    "rce_loss one class": (
        lambda d, m, x, y: objectives.rce_loss(torch.zeros(8, 1), torch.zeros(8, dtype=torch.long)),
        r"h must have L >= 2 classes",
    ),
}


@pytest.mark.parametrize("name", list(MASKING_AND_MI_SETTINGS))
def test_masking_and_mi_refuse_settings_with_no_meaning_naming_them(name):
    call, message = MASKING_AND_MI_SETTINGS[name]
    with pytest.raises(ValueError, match=f"^{message}"):
        call(*_masking_toy())


def test_a_zero_direction_and_the_ends_of_lambda_are_still_measured():
    data, model, x, y = _masking_toy()
    # a zero gradient sign is what a masking study looks for: measured, a constant loss
    line = masking.loss_along_direction(model, x, y, direction=torch.zeros_like(x))
    assert torch.equal(line.loss, line.loss[:1].expand_as(line.loss))
    effect = mixup_inference.mixing_effect(model, x, x, y, data.x_train, [0.0, 1.0], samples=2)
    assert effect.effect.tolist() == [0.0, 0.0]  # x_adv = x: no effect at either end


# ----------------------------------------- wrong types: a name or tensors for a Dataset, int inputs


def _public_entries() -> dict:
    """Every public function and class of robviz, from the modules' ``__all__``.

    name -> object; deprecated alias modules are skipped (their new home is walked).
    """
    import importlib
    import pkgutil
    import warnings

    import robviz

    found = {}
    for info in pkgutil.walk_packages(robviz.__path__, "robviz."):
        if info.name.endswith("__main__"):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                module = importlib.import_module(info.name)
            except DeprecationWarning:
                continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def _public_parameters(skip: tuple[str, ...] = ()):
    """Every parameter of every public entry: (entry name, entry, inspect.Parameter).

    The one walk the registry tests read parameters from; entries whose name starts with one of
    ``skip`` are left out, and so are exception classes (no signature of their own).
    """
    for name, obj in _public_entries().items():
        if skip and name.startswith(skip):
            continue
        try:
            parameters = inspect.signature(obj).parameters.values()
        except ValueError:
            continue
        for parameter in parameters:
            yield name, obj, parameter


def _dataset_entries() -> dict:
    """Every public function of robviz with a parameter annotated ``Dataset`` alone.

    name -> (function, that parameter's name), from :func:`_public_entries`, so a new one is
    checked without editing a list.
    """
    return {
        name: (function, parameter.name)
        for name, function in _public_entries().items()
        if inspect.isfunction(function)
        for parameter in inspect.signature(function).parameters.values()
        if parameter.annotation in ("Dataset", Dataset)
    }


DATASET_ENTRIES = _dataset_entries()
# data only handed on to a callable the caller chooses (which may take anything)
DATASET_PASSED_THROUGH = {"robviz.detect.study.detection_study"}


def test_the_dataset_entries_are_found():
    assert {
        "robviz.models.make_model",
        "robviz.train.fit",
        "robviz.detect.study.default_detectors",
    } <= set(DATASET_ENTRIES)
    assert DATASET_PASSED_THROUGH <= set(DATASET_ENTRIES)


@pytest.mark.parametrize("wrong", ["spirals", torch.zeros(4, 2), None])
@pytest.mark.parametrize("name", sorted(set(DATASET_ENTRIES) - DATASET_PASSED_THROUGH))
def test_entries_taking_a_dataset_refuse_anything_else_naming_it(name, wrong):
    # AttributeError ('str' object has no attribute 'input_shape') deep inside before
    function, parameter = DATASET_ENTRIES[name]
    required = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD
    ]
    model = make_model(gaussian_mixture(n_per_class=5, seed=0), "mmc")  # checked before the data
    arguments = {p: model if p == "model" else None for p in required} | {parameter: wrong}
    with pytest.raises(TypeError, match=f"^{parameter} must be a robviz.data.Dataset, got "):
        function(**arguments)
    if isinstance(wrong, str):
        with pytest.raises(TypeError, match=r"robviz\.data\.load_dataset\('spirals'\)"):
            function(**arguments)


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool])
def test_a_classifier_refuses_integer_inputs_at_every_entry(dtype):
    # torch's "mat1 and mat2 must have the same dtype" from inside the body before
    model = make_model(gaussian_mixture(n_per_class=10, seed=0), "mmc")
    x, y = torch.zeros(3, 2, dtype=dtype), torch.zeros(3, dtype=torch.int64)
    calls = {
        "forward": lambda: model(x),
        "features": lambda: model.features(x),
        "loss": lambda: model.loss(x, y),
        "accuracy": lambda: accuracy(model, x, y),
        "exact": lambda: exact.robust_accuracy(model, x, y, 0.1, bounds=(-5, 5)),
    }
    hint = " / 255 for 8-bit pixels" if dtype == torch.uint8 else ""
    for call in calls.values():
        with pytest.raises(TypeError, match=f"must be floating-point, got {dtype}.*x.float\\(\\)"):
            call()
    assert ("/ 255" in str(pytest.raises(TypeError, model, x).value)) == bool(hint)
    assert model(x.float()).shape == (3, 4)  # the same inputs as floats are fine


# ------------------------------------- NumPy arrays and lists where a model's inputs belong (tensor

TENSOR_REFUSAL = r"must be a (floating-point )?tensor of shape \(N, \.\.\.\), got (ndarray|list)"


def _refuses_or_runs(call, x, y):
    """Call with NumPy inputs x (and lists): a refusal naming the tensor, never torch's or NumPy's.

    Entries that take array-likes (detectors, input_ball) may run instead. The labels y stay a
    tensor (every entry converts labels, :func:`robviz.checks.labels`).
    """
    for convert in (lambda t: t.numpy(), lambda t: t.tolist()):
        try:
            call(convert(x), y)
        except ValueError as error:
            assert re.search(TENSOR_REFUSAL, str(error)), error


@pytest.mark.parametrize("name", ATTACK_CLASSES)
def test_every_attack_refuses_numpy_inputs_naming_the_tensor(blobs, name):
    data, model = blobs
    attack = fast_attack(name, model, data.bounds)
    _refuses_or_runs(attack.run, data.x_test[:5], data.y_test[:5])


@pytest.mark.parametrize("name", list(EVALUATORS))
def test_every_evaluator_refuses_numpy_inputs_naming_the_tensor(name):
    # AttributeError ('numpy.ndarray' object has no attribute 'to') from accuracy, robust_accuracy
    # and mixing_effect before
    data, model = trained(3, torch.float32)
    call = lambda x, y: EVALUATORS[name](model, data, x, y)  # noqa: E731
    _refuses_or_runs(call, data.x_test[:5], data.y_test[:5])


@pytest.mark.parametrize("name", list(INPUT_ENTRIES))
def test_every_exact_and_mi_entry_refuses_numpy_inputs_naming_the_tensor(spaces, name):
    entry = INPUT_ENTRIES[name]
    if entry["arg"] in ("x_low", "x_high"):  # boxes are NumPy arrays by design
        return
    x, y = getattr(spaces, f"{entry['space']}_x"), getattr(spaces, f"{entry['space']}_y")
    _refuses_or_runs(lambda x, y: entry["call"](spaces, x, y), x, y)


def test_a_classifier_refuses_numpy_inputs_at_every_entry():
    # "'numpy.ndarray' object has no attribute 'is_floating_point'" from the integer check of the
    # Classifier's own entries (and 'to' from sample_density's inference) before
    from robviz.shell_density import sample_density

    data = gaussian_mixture(n_per_class=10, seed=0)
    model = make_model(data, "mmc")
    x, y = data.x_test[:5], data.y_test[:5]
    calls = {
        "forward": lambda x: model(x),
        "features": lambda x: model.features(x),
        "loss": lambda x: model.loss(x, y),
        "sample_density": lambda x: sample_density(model, x, y),
        "auto_objective": lambda x: attacks.auto_objective(model)(model, x, y),
    }
    for name, call in calls.items():
        for convert in (lambda t: t.numpy(), lambda t: t.tolist()):
            with pytest.raises(ValueError, match=TENSOR_REFUSAL):
                call(convert(x))
        call(x)  # the tensor itself is fine


def test_accuracy_of_numpy_inputs_is_refused_and_of_tensors_measured():
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:20], data.y_test[:20]
    with pytest.raises(ValueError, match=r"x must be a tensor .* torch.as_tensor\(x, dtype="):
        accuracy(model, x.numpy(), y)
    assert 0 <= accuracy(model, x, y) <= 1


# ------------------------------------ something else where a model belongs: a name, None, a layer


#: What each model annotation needs beyond model(x): a plain nn.Linear lacks it.
MODEL_KINDS = {
    "Predictor": None,
    "nn.Module": None,
    "torch.nn.Module": None,
    "FeatureModel": "features",
    "TrainableModel": "loss",
    "Classifier": "objective",
    "_Fittable": "objective",
}


def _model_entries() -> dict:
    """Every public entry with a ``model`` parameter: name -> (entry, annotation)."""
    # runtime sits beside checks: its callers check
    return {
        name: (obj, parameter.annotation)
        for name, obj, parameter in _public_parameters(skip=("robviz.runtime.",))
        if parameter.name == "model" and parameter.annotation in MODEL_KINDS
    }


MODEL_ENTRIES = _model_entries()


def test_the_model_entries_are_found():
    assert {
        "robviz.attacks.gradient.PGD",
        "robviz.train.fit",
        "robviz.train.accuracy",
        "robviz.regions.feature_regions",
        "robviz.exact.boundary.robust_accuracy",
        "robviz.mixup_inference.mixup_loss",
    } <= set(MODEL_ENTRIES)


def _call_with_model(entry, model):
    required = [
        p.name
        for p in inspect.signature(entry).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return entry(**({p: None for p in required} | {"model": model}))


@pytest.mark.parametrize("wrong", ["mmc", None, [0.5, 0.5], {}])
@pytest.mark.parametrize("name", sorted(MODEL_ENTRIES))
def test_entries_taking_a_model_refuse_anything_else_naming_it(name, wrong):
    # "'str' object is not callable" from inside the first measurement, or an attack built on a
    # name that failed only when run, before
    entry, _ = MODEL_ENTRIES[name]
    with pytest.raises(TypeError, match=f"^model must be a .*got {type(wrong).__name__}"):
        _call_with_model(entry, wrong)


@pytest.mark.parametrize(
    "name", sorted(n for n, (_, kind) in MODEL_ENTRIES.items() if MODEL_KINDS[kind])
)
def test_entries_needing_a_robviz_model_refuse_a_plain_layer_naming_what_is_missing(name):
    # "'Linear' object has no attribute 'objective'" from inside torch before
    entry, kind = MODEL_ENTRIES[name]
    needed = MODEL_KINDS[kind]
    with pytest.raises(TypeError, match=f"^model must be a .*model.{needed}.*got Linear"):
        _call_with_model(entry, nn.Linear(2, 3))


# ----------------------------------------------------------- a seed that is no seed: "0", 2.5, -1

#: Seeds not checked here: the exercises check their answers' seeds.
SEEDS_ELSEWHERE = ("robviz.exercises.",)


def _seed_entries() -> dict:
    """Every public entry with a ``seed`` parameter: name -> (entry, its default)."""
    return {
        name: (obj, parameter.default)
        for name, obj, parameter in _public_parameters(skip=SEEDS_ELSEWHERE)
        if parameter.name == "seed"
    }


SEED_ENTRIES = _seed_entries()


def test_the_seed_entries_are_found():
    assert {
        "robviz.data.gaussian_mixture",
        "robviz.attacks.base.Attack",
        "robviz.models.make_model",
        "robviz.train.TrainConfig",
    } <= set(SEED_ENTRIES)


@pytest.mark.parametrize("wrong", ["0", 2.5, -1, 2**32, True])
@pytest.mark.parametrize("name", sorted(SEED_ENTRIES))
def test_entries_taking_a_seed_refuse_anything_else_naming_it(name, wrong):
    # NumPy's "SeedSequence expects int", scikit-learn's "random_state parameter" or torch's
    # "manual_seed expected a long" from inside, or a seed that failed only when used, before
    entry, _ = SEED_ENTRIES[name]
    parameters = inspect.signature(entry).parameters.values()
    required = [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    data = gaussian_mixture(num_classes=3, n_per_class=5, seed=0)
    valid = {"model": make_model(data, "mmc"), "data": data, "dataset": data}
    arguments = {p: valid.get(p) for p in required} | {"seed": wrong}
    with pytest.raises(ValueError, match=r"^seed must be an integer >= 0"):
        entry(**arguments)


# ------------------------------------------------ a flag given a string: "False" is True to bool()

#: Flags not checked here: the argument checks' own options, the exercises, and the records robviz
#: fills in itself (a masking curve's ``looks_masked``).
FLAGS_ELSEWHERE = ("robviz.checks.", "robviz.exercises.", "robviz.viz.inputs.")


def _is_record(obj) -> bool:
    """A dataclass without a check of its own (``__post_init__``): a result robviz fills in."""
    import dataclasses

    return dataclasses.is_dataclass(obj) and not hasattr(obj, "__post_init__")


def _flag_entries() -> dict:
    """Every public entry with a parameter annotated ``bool``: "name:flag" -> (entry, flag)."""
    return {
        f"{name}:{parameter.name}": (obj, parameter.name)
        for name, obj, parameter in _public_parameters(skip=FLAGS_ELSEWHERE)
        if parameter.annotation == "bool" and not _is_record(obj)
    }


FLAG_ENTRIES = _flag_entries()


def test_the_flag_entries_are_found():
    assert {
        "robviz.attacks.base.Attack:targeted",
        "robviz.attacks.gradient.PGD:random_start",
        "robviz.mixup_inference.mixup_batch:per_sample",
        "robviz.train.TrainConfig:record_models",
    } <= set(FLAG_ENTRIES)


@pytest.mark.parametrize("wrong", ["False", 1, None])
@pytest.mark.parametrize("name", sorted(FLAG_ENTRIES))
def test_entries_taking_a_flag_refuse_anything_else_naming_it(name, wrong):
    # bool("False") is True: targeted="False" ran a targeted attack, without a word, before
    entry, flag = FLAG_ENTRIES[name]
    required = [
        p.name
        for p in inspect.signature(entry).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    data = gaussian_mixture(num_classes=3, n_per_class=5, seed=0)
    valid = {"model": make_model(data, "mmc"), "data": data, "dataset": data}
    arguments = {p: valid.get(p) for p in required} | {flag: wrong}
    with pytest.raises(ValueError, match=f"^{flag} must be True or False, got {wrong!r}"):
        result = entry(**arguments)
        if inspect.isgenerator(result):  # a generator (of batches) checks at its first item
            next(result)


# ------------------------------- a NumPy array or a string where features, logits or centers belong

#: The tensors of the feature space a computing entry takes, with a valid (N = 6, d = 2, L = 3)
#: example of each; an entry's other tensors are given these too.
FEATURE_TENSORS = {
    "z": torch.randn(6, 2, generator=torch.Generator().manual_seed(0)),
    "features": torch.randn(6, 2, generator=torch.Generator().manual_seed(1)),
    "h": torch.randn(6, 3, generator=torch.Generator().manual_seed(2)),
    "logits": torch.randn(6, 3, generator=torch.Generator().manual_seed(3)),
    "centers": mm_centers(3, 2),
    "means": mm_centers(3, 2),
}
FEATURE_VALUES = {**FEATURE_TENSORS, "y": torch.tensor([0, 1, 2, 0, 1, 2])}


def _feature_tensor_entries() -> dict:
    """Every public entry with a parameter of FEATURE_TENSORS annotated ``torch.Tensor``."""
    # runtime sits beside checks in the house; figures draw arrays as well as tensors
    return {
        f"{name}:{parameter.name}": (obj, parameter.name)
        for name, obj, parameter in _public_parameters(skip=("robviz.runtime.", "robviz.viz."))
        if parameter.name in FEATURE_TENSORS and parameter.annotation == "torch.Tensor"
    }


FEATURE_TENSOR_ENTRIES = _feature_tensor_entries()


def test_the_feature_tensor_entries_are_found():
    assert {"robviz.objectives.mmc_loss:z", "robviz.objectives.sce_loss:h"} <= set(
        FEATURE_TENSOR_ENTRIES
    )


@pytest.mark.parametrize("kind", ["numpy", "str"])
@pytest.mark.parametrize("name", sorted(FEATURE_TENSOR_ENTRIES))
def test_entries_taking_features_or_logits_refuse_anything_but_a_tensor_naming_it(name, kind):
    # "'str' object has no attribute 'shape'" or "'numpy.ndarray' object has no attribute
    # 'unsqueeze'" from inside the loss before
    entry, argument = FEATURE_TENSOR_ENTRIES[name]
    required = [
        p.name
        for p in inspect.signature(entry).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    arguments = {p: FEATURE_VALUES.get(p) for p in required}
    arguments[argument] = FEATURE_VALUES[argument].numpy() if kind == "numpy" else "z"
    with pytest.raises(ValueError, match=f"^{argument} must be a tensor of shape "):
        entry(**arguments)


def test_a_loss_refuses_features_of_another_rank_naming_the_shape():
    # "The size of tensor a (2) must match ..." from inside torch before
    z, y, centers = FEATURE_VALUES["z"], FEATURE_VALUES["y"], FEATURE_VALUES["centers"]
    with pytest.raises(
        ValueError, match=r"^z must be a tensor of shape \(N, d\), got shape \(2,\)"
    ):
        mmc_loss(z[0], y, centers)
    with pytest.raises(ValueError, match=r"^centers must be a tensor of shape \(L, d\), got shape"):
        mmc_loss(z, y, centers[None])
    assert torch.isfinite(mmc_loss(z, y, centers))


def test_a_list_where_a_name_belongs_is_an_unknown_name_not_unhashable():
    # TypeError: unhashable type: 'list' from the dict lookup before
    from robviz.attacks import talk_battery
    from robviz.mixup_inference import MixupInference

    with pytest.raises(ValueError, match=r"^unknown norm \['Linf'\]; valid: 'Linf', 'L2'"):
        checks.choice("norm", ["Linf"], {"Linf": 1, "L2": 2})
    data = gaussian_mixture(n_per_class=10, seed=0)
    model = make_model(data, "sce")
    with pytest.raises(ValueError, match=r"^kind must be one of 'images', 'toy', got \['toy'\]"):
        talk_battery(model, kind=["toy"], bounds=data.bounds)
    with pytest.raises(ValueError, match=r"^mode must be one of .*, got \['OL'\]"):
        MixupInference(model, data.x_train, data.y_train, mode=["OL"])


@pytest.mark.parametrize(
    "bad", [(0, 1), "abcd", None, (0, 1, 0, 1, 2), (0, 1, 1, 0), (0, math.nan, 0, 1)]
)
def test_a_plane_extent_that_is_not_four_finite_increasing_numbers_is_refused(bad):
    # "not enough values to unpack" or a TypeError from Python before, for the short ones
    from robviz.data import grid_points
    from robviz.detect import max_non_me_lines
    from robviz.landscape import feature_density

    model = make_model(gaussian_mixture(num_classes=3, n_per_class=10, seed=0), "rce")
    calls = {
        "grid_points": lambda: grid_points(bad),
        "input_regions": lambda: regions.input_regions(model, bad),
        "feature_density": lambda: feature_density(torch.zeros(3, 2), bad),
        "max_non_me_lines": lambda: max_non_me_lines(model, bad),
    }
    for call in calls.values():
        with pytest.raises(ValueError, match=r"^extent must be (four numbers|finite)"):
            call()


@pytest.mark.parametrize("bad", [None, {"a": 1}, "abc", [[1.0, 2.0], [3.0]]])
def test_what_is_not_numbers_is_refused_naming_the_argument_before_any_conversion(bad):
    # torch's "Could not infer dtype of NoneType" or NumPy's "inhomogeneous shape" before
    message = r"must be numbers \(a tensor or an array\), got "
    with pytest.raises(ValueError, match=rf"^centers {message}"):
        theory.mahalanobis_distances(bad)
    with pytest.raises(ValueError, match=rf"^z {message}"):
        checks.finite_inputs("z", bad)
    with pytest.raises(ValueError, match=rf"^y {message}"):
        checks.labels("y", bad, 2)
    assert torch.equal(checks.as_tensor("z", [[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]]))
