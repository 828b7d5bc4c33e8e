"""What a call leaves behind: the caller's inputs, random stream, model and autograd mode.

The kinds peer libraries were caught on (foolbox, ART, torchattacks, scikit-learn), each over the
registries of ``test_edges`` so that a new entry is checked without editing a list:

* a seed that reseeds torch's global generator: ``setup(seed=1)`` and ``setup(seed=2)`` then gave
  the same "random" draws after ``make_model(data)`` (scikit-learn's rule: a ``random_state``
  never touches the global state);
* an attack called inside the caller's ``torch.no_grad()`` (an evaluation loop's habit): autograd's
  "element 0 of tensors does not require grad" from deep inside, before;
* an input changed in place, an input that requires gradients, gradients left in the model's
  ``.grad`` (an optimizer's next step would apply them).
"""

import random
import warnings

import numpy as np
import pytest
import torch
from test_edges import (
    AWKWARD_ATTACKS,
    DETECTOR_NAMES,
    EVALUATORS,
    SEED_ENTRIES,
    _fitted,
    fast_attack,
    trained,
)

from robviz import attacks, centers, detect, embed, ensemble, landscape, masking, shell_density
from robviz import data as data_module
from robviz import mixup_inference as mi
from robviz import models, train
from robviz.objectives import make_objective
from robviz.runtime import seeded
from robviz.scale import config as scale_config
from robviz.scale import data as scale_data
from robviz.scale import resnet
from robviz.theory import robustness
from robviz.widgets import ObjectiveExplorer

# --------------------------------------------------------------- a seed leaves the global RNG alone


#: The purpose of these is to seed the global generators.
GLOBAL_SEEDERS = {"robviz.runtime.seed_everything", "robviz.runtime.setup"}


@pytest.fixture(scope="module")
def small():
    data = data_module.gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    return data, models.make_model(data, "mmc")


def _draw_inside(context):
    with context:
        return torch.rand(2)


def _points(seed=0):
    return np.random.default_rng(seed).standard_normal((30, 3))


#: entry -> call(seed, (data, model)); each the cheapest call that draws with its seed.
SEED_CALLS = {
    "robviz.attacks.apgd.auto_attack": lambda s, c: attacks.auto_attack(
        c[1],
        c[0].x_test[:6],
        c[0].y_test[:6],
        0.3,
        bounds=c[0].bounds,
        steps=3,
        restarts=1,
        seed=s,
        progress=False,
    ),
    "robviz.attacks.base.Attack": lambda s, c: attacks.PGD(
        c[1], eps=0.3, steps=3, random_start=True, bounds=c[0].bounds, seed=s
    ).run(c[0].x_test[:6], c[0].y_test[:6]),
    "robviz.attacks.evaluate.talk_battery": lambda s, c: attacks.talk_battery(
        c[1], kind="toy", bounds=c[0].bounds, seed=s
    ),
    "robviz.centers.spread_centers": lambda s, c: centers.spread_centers(3, 2, steps=10, seed=s),
    "robviz.data.digits": lambda s, c: data_module.digits(seed=s),
    "robviz.data.gaussian_mixture": lambda s, c: data_module.gaussian_mixture(
        n_per_class=5, seed=s
    ),
    "robviz.data.mnist5k": None,  # a download: its split is digits' _split, checked there
    "robviz.data.moons": lambda s, c: data_module.moons(n_per_class=5, seed=s),
    "robviz.data.spirals": lambda s, c: data_module.spirals(n_per_class=5, seed=s),
    "robviz.data.sample_per_class": lambda s, c: data_module.sample_per_class(
        c[0].y_train, 2, seed=s
    ),
    "robviz.detect.scores.KernelDensity": lambda s, c: detect.KernelDensity(sigma2=1.0, seed=s).fit(
        c[1], c[0].x_train, c[0].y_train
    ),
    "robviz.detect.scores.LID": lambda s, c: detect.LID(k=5, seed=s).fit(c[1], c[0].x_train),
    "robviz.embed.tsne": lambda s, c: embed.tsne(_points(), perplexity=5, seed=s, cache=False),
    "robviz.embed.aligned_tsne": lambda s, c: embed.aligned_tsne(
        [_points(), _points(1)], perplexity=5, n_iter=50, seed=s, cache=False
    ),
    "robviz.ensemble.solve_adp": lambda s, c: ensemble.solve_adp(1.0, 0.5, steps=5, seed=s),
    "robviz.masking.loss_landscape_2d": lambda s, c: masking.loss_landscape_2d(
        c[1], c[0].x_test[:1], c[0].y_test[:1], seed=s
    ),
    "robviz.masking.whitebox_vs_blackbox": lambda s, c: masking.whitebox_vs_blackbox(
        c[1],
        c[0].x_test[:6],
        c[0].y_test[:6],
        0.3,
        bounds=c[0].bounds,
        pgd_steps=2,
        spsa_steps=2,
        spsa_samples=4,
        seed=s,
    ),
    "robviz.mixup_inference.MixupInference": lambda s, c: mi.MixupInference(
        c[1], c[0].x_train, c[0].y_train, samples=2, seed=s
    )(c[0].x_test[:6]),
    "robviz.mixup_inference.MixupModel": lambda s, c: mi.MixupModel(c[1], seed=s).loss(
        c[0].x_train[:8], c[0].y_train[:8]
    ),
    "robviz.mixup_inference.interpolated_adversarial_training": lambda s, c: (
        mi.interpolated_adversarial_training(c[1], 0.1, bounds=c[0].bounds, steps=1, seed=s).loss(
            c[0].x_train[:8], c[0].y_train[:8]
        )
    ),
    "robviz.mixup_inference.mixing_effect": lambda s, c: mi.mixing_effect(
        c[1],
        c[0].x_test[:6],
        c[0].x_test[:6],
        c[0].y_test[:6],
        c[0].x_train,
        [0.5],
        samples=2,
        seed=s,
    ),
    "robviz.models.make_model": lambda s, c: models.make_model(c[0], "center", seed=s),
    "robviz.models.make_mlp": lambda s, c: models.make_mlp(c[0], "lgm", seed=s),
    "robviz.runtime.seeded": lambda s, c: _draw_inside(seeded(s)),
    "robviz.scale.config.EvaluateRun": lambda s, c: scale_config.EvaluateRun(
        checkpoint="m.pt", seed=s
    ),
    "robviz.scale.config.TrainRun": lambda s, c: scale_config.TrainRun(seed=s),
    "robviz.scale.data.synthetic_images": lambda s, c: scale_data.synthetic_images(8, 8, seed=s),
    "robviz.scale.resnet.cifar_adp_ensemble": lambda s, c: resnet.cifar_adp_ensemble(
        8, members=2, width=4, seed=s
    ),
    "robviz.scale.resnet.cifar_resnet": lambda s, c: resnet.cifar_resnet(8, width=4, seed=s),
    "robviz.scale.resnet.make_cifar_model": lambda s, c: resnet.make_cifar_model(
        "resnet8", width=4, seed=s
    ),
    "robviz.shell_density.monte_carlo_shell_density": lambda s, c: (
        shell_density.monte_carlo_shell_density(
            torch.as_tensor(_points()[:12, :2], dtype=torch.float32),
            torch.arange(12) % 3,
            lambda z, y: (z**2).sum(1),
            num_samples=100,
            seed=s,
        )
    ),
    "robviz.shell_density.sample_density": lambda s, c: shell_density.sample_density(
        c[1], c[0].x_test[:6], c[0].y_test[:6], num_samples=100, seed=s
    ),
    "robviz.theory.robustness.monte_carlo_expected_distance": lambda s, c: (
        robustness.monte_carlo_expected_distance(0.5, n=100, seed=s)
    ),
    "robviz.train.TrainConfig": lambda s, c: train.fit(
        models.make_model(c[0], "sce"), c[0], train.TrainConfig(steps=2, seed=s), progress=False
    ),
    "robviz.train.fit_objectives": lambda s, c: train.fit_objectives(
        c[0], ["sce"], train.TrainConfig(steps=2), seed=s, progress=False
    ),
    "robviz.widgets.objectives.ObjectiveExplorer": lambda s, c: ObjectiveExplorer(
        dataset="gaussians", steps=100, seed=s
    ),
}


def test_every_entry_taking_a_seed_is_in_the_table():
    missing = set(SEED_ENTRIES) - set(SEED_CALLS) - GLOBAL_SEEDERS
    assert not missing, f"{sorted(missing)} take a seed: add a call to SEED_CALLS"
    assert set(SEED_CALLS) <= set(SEED_ENTRIES), "SEED_CALLS names an entry that is gone"


def _global_state():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


@pytest.mark.parametrize(
    "name",
    [name for name, call in SEED_CALLS.items() if call is not None],
)
def test_a_seed_leaves_the_callers_global_random_state_alone(small, name):
    # make_model reseeded torch's global generator: setup(seed=1) and setup(seed=2) then drew the
    # same torch.randperm after it, and a loop of trials drew one "random" subset, before
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    torch_state, numpy_state, python_state = _global_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small run's own warnings (t-SNE, convergence)
        SEED_CALLS[name](7, small)
    after = _global_state()
    assert torch.equal(after[0], torch_state), "torch's global generator was changed"
    assert np.array_equal(after[1], numpy_state), "NumPy's global generator was changed"
    assert after[2] == python_state, "Python's random was changed"


def test_setup_seeds_still_tell_runs_apart_after_make_model(small):
    data, _ = small
    draws = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        models.make_model(data, "sce")
        draws.append(torch.randperm(20))
    assert not torch.equal(*draws)
    # and the model itself is the seed's, whatever the global state
    torch.manual_seed(5)
    a = models.make_model(data, "mmc", seed=3)
    torch.manual_seed(6)
    b = models.make_model(data, "mmc", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_seeded_restores_the_generator_and_checks_the_seed():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with seeded(9):
        inside = torch.rand(3)
    assert torch.equal(torch.rand(3), expected)
    with seeded(9):
        assert torch.equal(torch.rand(3), inside)
    with pytest.raises(ValueError, match=r"^seed must be an integer >= 0"):
        seeded(-1)  # refused when called, before any block


# ------------------------------------------------------- inside the caller's no_grad or inference


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("name", list(AWKWARD_ATTACKS))
def test_every_attack_gives_the_same_result_inside_no_grad(name, mode):
    # "element 0 of tensors does not require grad and does not have a grad_fn" from inside every
    # gradient attack, before
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5], data.y_test[:5]
    cls, options = AWKWARD_ATTACKS[name]
    expected = fast_attack(cls, model, data.bounds, **options).run(x, y)
    with getattr(torch, mode)():
        result = fast_attack(cls, model, data.bounds, **options).run(x, y)
    assert torch.equal(result.x_adv, expected.x_adv)
    assert torch.equal(result.success, expected.success)


@pytest.mark.parametrize(
    "name",
    [n for n in EVALUATORS],
)
def test_every_evaluator_runs_inside_no_grad(name):
    data, model = trained(3, torch.float32)
    with torch.no_grad():
        EVALUATORS[name](model, data, data.x_test[:5], data.y_test[:5])


#: The public entries that differentiate outside an attack (an optimizer over centers or logits,
#: an input gradient): each runs inside the caller's no_grad.
DIFFERENTIATING = {
    "spread_centers": lambda: centers.spread_centers(9, 3, steps=7, seed=12345),  # uncached, Adam
    "solve_adp": lambda: ensemble.solve_adp(1.0, 0.5, steps=5),
    "gradient_direction": lambda: masking.gradient_direction(*_model_x_y()),
    "trace_contour": lambda: landscape.trace_contour(
        make_objective("sce", 3, 2), 0, [0.5, 0.5], max_steps=5
    ),
    "fit": lambda: train.fit(*_model_data(), steps=2, progress=False),
}


def _model_data():
    data = data_module.gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    return models.make_model(data, "sce"), data


def _model_x_y():
    model, data = _model_data()
    return model, data.x_test[:4], data.y_test[:4]


@pytest.mark.parametrize("name", list(DIFFERENTIATING))
def test_every_differentiating_entry_runs_inside_no_grad(name):
    with torch.no_grad():
        DIFFERENTIATING[name]()


# ------------------------------------------ the caller's inputs and the model's gradients untouched


def _grads(model):
    """The model's ``.grad`` (its training's last step left them): a copy, to compare after."""
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def _same_grads(model, before):
    return all(
        (g is None and b is None) or (g is not None and b is not None and torch.equal(g, b))
        for g, b in zip((p.grad for p in model.parameters()), before)
    )


@pytest.mark.parametrize("requires_grad", [False, True], ids=["plain", "requires_grad"])
@pytest.mark.parametrize("name", list(AWKWARD_ATTACKS))
def test_every_attack_leaves_its_inputs_and_the_models_gradients_alone(name, requires_grad):
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5].clone(), data.y_test[:5].clone()
    x_given = x.clone().requires_grad_(requires_grad)
    grads = _grads(model)
    cls, options = AWKWARD_ATTACKS[name]
    expected = fast_attack(cls, model, data.bounds, **options).run(x.clone(), y.clone())
    with warnings.catch_warnings():
        # torch warns (once a process) on float() of a tensor that requires grad in the bounds check
        warnings.simplefilter("ignore")
        result = fast_attack(cls, model, data.bounds, **options).run(x_given, y)
    assert torch.equal(x_given.detach(), x) and torch.equal(y, data.y_test[:5])
    assert x_given.grad is None and _same_grads(model, grads)
    assert torch.equal(result.x_adv, expected.x_adv) and not result.x_adv.requires_grad


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_every_detector_leaves_its_inputs_and_the_models_gradients_alone(name):
    data, model = trained(3, torch.float32)
    x_train, x = data.x_train.clone(), data.x_test[:5].clone()
    grads = _grads(model)
    detector = _fitted(name, model, data)
    expected = detector(model, x.clone())
    x_given = x.clone().requires_grad_(True)
    scores = detector(model, x_given)
    assert torch.equal(x_given.detach(), x) and torch.equal(data.x_train, x_train)
    assert x_given.grad is None and _same_grads(model, grads)
    assert np.array_equal(np.asarray(scores), np.asarray(expected))


@pytest.mark.parametrize("name", list(EVALUATORS))
def test_every_evaluator_leaves_its_inputs_and_the_models_gradients_alone(name):
    data, model = trained(3, torch.float32)
    x, y = data.x_test[:5].clone(), data.y_test[:5].clone()
    grads = _grads(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        EVALUATORS[name](model, data, x, y)
    assert torch.equal(x, data.x_test[:5]) and torch.equal(y, data.y_test[:5])
    assert _same_grads(model, grads)
