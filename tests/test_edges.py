"""Inputs users give that once gave wrong numbers: each test pins the right value, and the table-driven tests at
the end call every public attack, detector and evaluator on the awkward cases at once (float64 models, a batch of
one, two classes, a model left in train mode with BatchNorm and dropout)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from robviz import attacks, detect, embed, masking
from robviz.centers import mm_centers
from robviz.data import gaussian_mixture
from robviz.ensemble import Ensemble, transferability
from robviz.train import accuracy, load_checkpoint, save_checkpoint

# ------------------------------------------------------------------------------ row 1: non-ME in log space


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
    assert detect.non_max_entropy_score(model, torch.zeros(3, 2)) == pytest.approx([expected] * 3, rel=1e-9)
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


# ---------------------------------------------------------------------------- row 2: target equal to y


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
    "JSMA": lambda m, b: attacks.JSMA(m, targeted=True, bounds=b),
}


@pytest.mark.parametrize("name", list(TARGETED))
def test_a_target_equal_to_the_label_is_refused(blobs, name):
    data, model = blobs
    x, y = data.x_test[:8], data.y_test[:8]
    target = (y + 1) % 3
    target[3] = y[3]
    try:
        attack = TARGETED[name](model, data.bounds)
    except TypeError:
        pytest.skip(f"{name} has no targeted mode")
    with pytest.raises(ValueError, match=r"target equals the true label y for 1 of 8 inputs"):
        attack.run(x, y, target)
    # Without targets every input gets a random class != y, so no success is free.
    result = attack.run(x, y)
    assert (result.target != y).all()


# ------------------------------------------------------------------------------------ row 5: t-SNE input


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


# ---------------------------------------------------------------------------- row 6: every number type


@pytest.mark.parametrize("eps", [0.25, np.float32(0.25), np.float64(0.25), torch.tensor(0.25),
                                 np.array(0.25), torch.tensor([0.1, 0.25])[1]])
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
    table = attacks.robust_accuracy(model, data.x_test[:20], data.y_test[:20],
                                    {"FGSM": attacks.FGSM(model, eps=0.1, bounds=data.bounds)},
                                    eps_list=np.array([0.1, 0.3], dtype=np.float32), progress=False)
    assert [r["eps"] for r in table.rows[1:]] == pytest.approx([0.1, 0.3])


# --------------------------------------------------------------------------- row 7: checkpoint metadata


def test_checkpoint_metadata_in_numpy_types_reads_back(tmp_path):
    model = nn.Linear(2, 3)
    path = save_checkpoint(tmp_path / "m.pt", model, accuracy=np.float64(0.9), epoch=np.int64(3),
                           curve=np.array([0.5, 0.75]), where=tmp_path / "x", nested={"loss": [np.float32(0.5)]})
    meta = load_checkpoint(path, nn.Linear(2, 3))
    assert meta == {"accuracy": 0.9, "epoch": 3, "curve": [0.5, 0.75], "where": str(tmp_path / "x"),
                    "nested": {"loss": [0.5]}}
    assert type(meta["accuracy"]) is float and type(meta["epoch"]) is int


def test_checkpoint_metadata_that_cannot_be_read_back_is_refused_before_writing(tmp_path):
    class Config:
        pass

    with pytest.raises(TypeError, match=r"metadata\['config'\] is a .*Config"):
        save_checkpoint(tmp_path / "m.pt", nn.Linear(2, 3), config=Config())
    assert not (tmp_path / "m.pt").exists()


# ------------------------------------------------------------------------------ row 8: the dashboard


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


# ------------------------------------------------------------------- table-driven: every public entry point


class BatchNormNet(nn.Module):
    """2-D inputs -> 2-D features (Linear, BatchNorm, ReLU, Dropout) -> logits."""

    def __init__(self, num_classes):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
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


ATTACKS = {
    "FGSM": lambda m, b: attacks.FGSM(m, eps=0.5, bounds=b),
    "BIM": lambda m, b: attacks.BIM(m, eps=0.5, steps=3, bounds=b),
    "PGD": lambda m, b: attacks.PGD(m, eps=0.5, steps=3, random_start=True, bounds=b),
    "PGD-L2": lambda m, b: attacks.PGD(m, eps=0.5, steps=3, norm="L2", bounds=b),
    "ILCM": lambda m, b: attacks.ILCM(m, eps=0.5, steps=3, bounds=b),
    "MIM": lambda m, b: attacks.MIM(m, eps=0.5, steps=3, bounds=b),
    "CW": lambda m, b: attacks.CW(m, steps=5, binary_steps=2, bounds=b),
    "EAD": lambda m, b: attacks.EAD(m, steps=5, binary_steps=2, bounds=b),
    "JSMA": lambda m, b: attacks.JSMA(m, bounds=b),
    "DeepFool": lambda m, b: attacks.DeepFool(m, steps=5, bounds=b),
    "SPSA": lambda m, b: attacks.SPSA(m, eps=0.5, steps=2, samples=4, bounds=b),
    "APGD": lambda m, b: attacks.APGD(m, eps=0.5, steps=5, bounds=b),
    "PGD-targeted": lambda m, b: attacks.PGD(m, eps=0.5, steps=3, targeted=True, bounds=b),
}

CASES = [pytest.param(2, torch.float64, 1, id="float64-2classes-batch1"),
         pytest.param(3, torch.float64, 5, id="float64-3classes"),
         pytest.param(2, torch.float32, 1, id="float32-2classes-batch1")]


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_untouched(model, before):
    assert model.training and all(m.training for m in model.modules()), "the model's mode was not restored"
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed"


@pytest.mark.parametrize("num_classes, dtype, n", CASES)
@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_on_awkward_models(name, num_classes, dtype, n):
    data, model = trained(num_classes, dtype)
    x, y = data.x_test[:n], data.y_test[:n]  # float32 inputs: the attack follows the model's dtype
    before = state(model)
    result = ATTACKS[name](model, data.bounds).run(x, y)
    assert result.x_adv.shape == x.shape and torch.isfinite(result.x_adv).all()
    assert result.x_adv.dtype == dtype
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(result.x_adv.to(dtype)).argmax(1), result.prediction)
        model.train()
    assert_untouched(model, before)


DETECTORS = {
    "confidence": lambda m, d: detect.confidence,
    "non-ME": lambda m, d: detect.non_max_entropy_score,
    "K-density": lambda m, d: detect.KernelDensity(sigma2=1.0, points_per_class=10).fit(m, d.x_train, d.y_train),
    "LID": lambda m, d: detect.LID(k=5, reference_size=30).fit(m, d.x_train),
}


@pytest.mark.parametrize("num_classes, dtype, n", CASES)
@pytest.mark.parametrize("name", list(DETECTORS))
def test_every_detector_on_awkward_models(name, num_classes, dtype, n):
    data, model = trained(num_classes, dtype)
    before = state(model)
    if name == "non-ME" and num_classes < 3:
        with pytest.raises(ValueError, match="L >= 3 classes"):
            DETECTORS[name](model, data)(model, data.x_test[:n])
        return
    scores = DETECTORS[name](model, data)(model, data.x_test[:n])
    assert scores.shape == (n,) and np.isfinite(scores).all()
    assert_untouched(model, before)


EVALUATORS = {
    "accuracy": lambda m, d, x, y: accuracy(m, x, y),
    "robust_accuracy": lambda m, d, x, y: attacks.robust_accuracy(
        m, x, y, {"PGD": attacks.PGD(m, eps=0.3, steps=3, bounds=d.bounds)}, eps_list=[0.1, 0.3], progress=False),
    "accuracy_vs_eps": lambda m, d, x, y: masking.accuracy_vs_eps(m, x, y, [0.1, 1.0], bounds=d.bounds),
    "accuracy_vs_steps": lambda m, d, x, y: masking.accuracy_vs_steps(m, x, y, 0.3, steps_list=(1, 3),
                                                                      bounds=d.bounds),
    "loss_along_direction": lambda m, d, x, y: masking.loss_along_direction(m, x, y),
    "auto_attack": lambda m, d, x, y: attacks.auto_attack(m, x, y, 0.3, bounds=d.bounds, steps=5, restarts=1),
    "detection_pairs": lambda m, d, x, y: detect.detection_pairs(
        m, x, y, attacks.FGSM(m, eps=0.3, bounds=d.bounds).run(x, y)),
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
    matrix = transferability(ensemble, data.x_test[:4], data.y_test[:4],
                             lambda m: attacks.FGSM(m, eps=0.3, bounds=data.bounds))
    assert matrix.shape == (2, 2) and ((0 <= matrix) & (matrix <= 1)).all()
    assert_untouched(ensemble, before)
    assert math.isfinite(float(matrix.sum()))
