"""Tests of Mixup Inference, mixup training, interpolated adversarial training, EOT through MI."""

import copy

import numpy as np
import pytest
import torch

from robviz.attacks import PGD
from robviz.attacks.eot import EOT, eot_objective
from robviz.data import gaussian_mixture, sample_per_class
from robviz.mixup_inference import (
    MixupInference,
    MixupModel,
    interpolated_adversarial_training,
    mi_robustness,
    mixup_batch,
    mixup_loss,
)
from robviz.models import make_model
from robviz.train import accuracy, fit


@pytest.fixture(scope="module")
def toy():
    """Four Gaussian blobs, a mixup-trained model, a clean pool of 10 training points per class."""
    data = gaussian_mixture(num_classes=4, n_per_class=60)
    model = make_model(data, "sce")
    fit(MixupModel(model, alpha=1.0), data, steps=120, progress=False, record_every=0)
    pool = sample_per_class(data.y_train, 10)
    return data, model, data.x_train[pool], data.y_train[pool]


def test_pl_with_lambda_one_is_the_plain_model(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="PL", lam=1.0)
    x = data.x_test
    assert torch.equal(mi(x).argmax(1), model(x).argmax(1))
    assert torch.allclose(mi(x).exp(), model(x).softmax(1), atol=1e-5)


def test_pool_drawn_from_the_right_classes(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="OL")
    predicted = torch.arange(4).repeat(25)
    same = mi.draw(predicted, 30, same=True)
    other = mi.draw(predicted, 30, same=False)
    assert same.shape == other.shape == (100, 30)
    assert (mi.y_pool[same] == predicted[:, None]).all()
    assert (mi.y_pool[other] != predicted[:, None]).all()
    # every other-class pool image can be drawn
    assert set(other[predicted == 0].flatten().tolist()) == set(
        (mi.y_pool != 0).nonzero().flatten().tolist()
    )


def test_modes_give_probabilities_and_paper_defaults(toy):
    data, model, xp, yp = toy
    x = data.x_test[:20]
    for mode, samples in (("PL", 10), ("OL", 30), ("combined", (5, 15))):
        mi = MixupInference(model, xp, yp, mode=mode)
        assert mi.samples == samples and mi.lam == 0.5
        out = mi(x)
        assert out.shape == (20, 4)
        assert torch.allclose(out.exp().sum(1), torch.ones(20), atol=1e-4)
    assert mi.last_choice.shape == (20,)
    assert accuracy(MixupInference(model, xp, yp, mode="PL"), data.x_test, data.y_test) > 0.9


def test_mi_is_seeded_and_random_between_calls(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="OL", samples=3, seed=1)
    x = data.x_test[:10]
    first, second = mi(x), mi(x)
    assert not torch.allclose(first, second)
    mi.reseed()
    assert torch.allclose(mi(x), first)


def test_mi_validates(toy):
    data, model, xp, yp = toy
    with pytest.raises(ValueError, match="mode"):
        MixupInference(model, xp, yp, mode="XL")
    with pytest.raises(ValueError, match="every class"):
        MixupInference(model, xp[yp != 2], yp[yp != 2], mode="PL")
    with pytest.raises(ValueError, match="pair"):
        MixupInference(model, xp, yp, mode="combined", samples=5)
    with pytest.raises(ValueError, match="lam"):
        MixupInference(model, xp, yp, lam=1.5)


def test_mixup_batch_mixes_linearly():
    x, y = torch.randn(16, 2), torch.arange(16) % 4
    x_mix, y_a, y_b, lam = mixup_batch(x, y, alpha=1.0, generator=torch.Generator().manual_seed(3))
    again = mixup_batch(x, y, alpha=1.0, generator=torch.Generator().manual_seed(3))
    assert 0 <= lam <= 1 and lam == again[3] and torch.equal(x_mix, again[0])
    partner = (x_mix - lam * x) / (1 - lam)
    assert torch.equal(y_a, y)
    for i in range(16):  # each partner is some row of x with the label y_b
        match = (partner[i] - x).abs().sum(1).argmin()
        assert y[match] == y_b[i]
    with pytest.raises(ValueError, match="alpha"):
        mixup_batch(x, y, alpha=0)
    # Beta(inf, inf) draws NaN weights: an infinite alpha is refused, not turned into NaN losses
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        mixup_batch(x, y, alpha=float("inf"))
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        MixupModel(make_model(gaussian_mixture(), "sce"), alpha=float("inf"))


def test_mixup_model_trains_with_fit_and_delegates():
    data = gaussian_mixture(num_classes=3, n_per_class=40)
    model = make_model(data, "sce")
    wrapper = MixupModel(model)
    history = fit(wrapper, data, steps=40, progress=False, record_every=0)
    assert history.objective == "sce" and accuracy(model, data.x_test, data.y_test) > 0.8
    wrapper.eval()
    x, y = data.x_test, data.y_test
    assert torch.equal(wrapper(x), model(x)) and torch.equal(wrapper.features(x), model.features(x))
    assert torch.allclose(wrapper.loss(x, y), model.loss(x, y))
    assert torch.isfinite(mixup_loss(model, x, y))


def test_interpolated_adversarial_training_runs():
    data = gaussian_mixture(num_classes=3, n_per_class=40)
    model = make_model(data, "sce")
    initial = copy.deepcopy(model.state_dict())
    objective = interpolated_adversarial_training(model, eps=0.25, bounds=data.bounds, steps=3)
    # mixup of the model's own PGD examples: 3 steps of 2.5 eps / 3 from a random start
    attack = objective.attack
    assert isinstance(objective, MixupModel) and objective.classifier is model
    assert isinstance(attack, PGD) and attack.model is model and attack.random_start
    assert (attack.eps, attack.steps, attack.bounds) == (0.25, 3, data.bounds)
    assert attack.alpha == pytest.approx(2.5 * 0.25 / 3)
    fit(objective, data, steps=20, progress=False, record_every=0)
    assert attack.seed == 20  # the loss attacked every one of the 20 batches, each a fresh start
    assert any(not torch.equal(initial[k], v) for k, v in model.state_dict().items())
    assert accuracy(model, data.x_test, data.y_test) > 0.7


def test_eot_reduces_gradient_variance(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="OL", samples=2)
    x, y = data.x_test[:8], data.y_test[:8]

    def spread(samples):
        objective = eot_objective(samples=samples)
        grads = []
        for _ in range(12):
            xg = x.clone().requires_grad_(True)
            grads.append(torch.autograd.grad(objective(mi, xg, y).sum(), xg)[0])
        return torch.stack(grads).var(dim=0).mean().item()

    assert spread(16) < 0.3 * spread(1)


def test_eot_attacks_mi(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="PL", samples=4)
    x, y = data.x_test, data.y_test
    adaptive = PGD(
        mi, eps=0.5, alpha=0.125, steps=10, bounds=data.bounds, loss=eot_objective(samples=4)
    )(x, y)
    assert accuracy(mi, adaptive, y) < accuracy(mi, x, y)
    assert EOT(mi, samples=3)(x).shape == (len(x), 4)
    with pytest.raises(ValueError, match="samples"):
        eot_objective(samples=0)


def test_mixing_effect_vanishes_at_lambda_zero_and_shrinks(toy):
    from robviz.mixup_inference import mixing_effect

    data, model, xp, yp = toy
    x, y = data.x_test[:30], data.y_test[:30]
    x_adv = PGD(model, eps=0.75, alpha=0.2, steps=10, bounds=data.bounds)(x, y)
    result = mixing_effect(model, x, x_adv, y, xp, [0.0, 0.5, 1.0], samples=5)
    assert result.effect[0] == 0 and result.effect[1] < result.effect[2]
    assert torch.allclose(
        result.mixed_adv[1] - result.mixed_clean[1], 0.5 * (x_adv - x)[:, None].expand(-1, 5, -1)
    )


def test_mixing_effect_keeps_the_weights_and_a_float64_model_exact(toy):
    from robviz.mixup_inference import mixing_effect

    data, model, xp, _ = toy
    model64 = copy.deepcopy(model).double()
    x, y, xp = data.x_test[:8].double(), data.y_test[:8], xp.double()
    x_adv = (x + 0.1).clamp(*data.bounds)
    result = mixing_effect(model64, x, x_adv, y, xp, [0.3], samples=4)
    # The weights as given (a float32 copy mixed with 0.30000001), the values in float64.
    assert result.lams.dtype == torch.float64 and result.lams.tolist() == [0.3]
    partners = (result.mixed_clean[0] - 0.3 * x[:, None]) / 0.7
    assert torch.allclose(result.mixed_adv[0], 0.3 * x_adv[:, None] + 0.7 * partners, atol=1e-12)
    p_clean = model64(result.mixed_clean[0].flatten(0, 1)).softmax(1).reshape(8, 4, -1).mean(1)
    true = p_clean.gather(1, y[:, None]).mean().item()
    assert result.clean_true.dtype == torch.float64
    assert abs(result.clean_true[0].item() - true) < 1e-12


class _Constant(torch.nn.Module):
    """Returns the same float32 logits for every input (N, ...) -> (N, L)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits, dtype=torch.float32)

    def forward(self, x):
        return self.logits.expand(len(x), -1) + 0 * x.flatten(1).sum(1, keepdim=True)


@pytest.mark.parametrize("mode", ["PL", "OL", "combined"])
def test_mi_log_probabilities_are_computed_in_log_space(mode):
    """float32 logits [0, -150, -160, -170]: softmax-then-log would give log(0) for the small ones.

    With a clamp before the log, they would get the clamp instead.
    """
    model = _Constant([0.0, -150.0, -160.0, -170.0])
    x_pool, y_pool = torch.randn(8, 2), torch.arange(4).repeat(2)
    out = MixupInference(
        model, x_pool, y_pool, mode=mode, samples=(2, 3) if mode == "combined" else 3
    )(torch.randn(5, 2))
    assert out.dtype == torch.float32
    assert out[:, 1].tolist() == pytest.approx([-150.0] * 5, abs=1e-3)
    assert out[0].tolist() == pytest.approx([0.0, -150.0, -160.0, -170.0], abs=1e-3)


def test_combined_takes_separate_lambdas(toy):
    data, model, xp, yp = toy
    mi = MixupInference(model, xp, yp, mode="combined", lam=(0.5, 0.4))
    assert (mi.lam, mi.lam_pl, mi.lam_ol) == ((0.5, 0.4), 0.5, 0.4)
    x = data.x_test[:20]
    predicted = model(x).argmax(1)
    pl = mi.log_mix(x, predicted, 5, same=True, lam=0.5)
    ol = mi.log_mix(x, predicted, 15, same=False, lam=0.4)
    mi.reseed()
    out = mi(x)
    expected = torch.where(mi.last_choice[:, None], pl, ol)
    assert torch.allclose(out, expected)
    single = MixupInference(model, xp, yp, mode="combined", lam=0.45)
    assert (single.lam, single.lam_pl, single.lam_ol) == (0.45, 0.45, 0.45)
    with pytest.raises(ValueError, match="pair"):
        MixupInference(model, xp, yp, mode="PL", lam=(0.5, 0.4))
    with pytest.raises(ValueError, match="lam"):
        MixupInference(model, xp, yp, mode="combined", lam=(0.5, 1.4))


def test_ol_partners_on_an_unbalanced_pool_pick_the_class_first():
    """As the authors' code: each other class with probability 1/(L - 1), then an image in it."""
    y_pool = torch.cat([torch.full((n,), c) for c, n in enumerate([3, 7, 2, 8])])
    mi = MixupInference(torch.nn.Linear(2, 4), torch.randn(20, 2), y_pool, mode="OL")
    drawn = mi.y_pool[mi.draw(torch.zeros(30000, dtype=torch.long), 1, same=False)].flatten()
    share = torch.bincount(drawn, minlength=4).float() / len(drawn)
    assert share[0] == 0 and torch.allclose(share[1:], torch.full((3,), 1 / 3), atol=0.015)


def test_mi_robustness_table_matches_direct_measurements(toy):
    data, model, xp, yp = toy
    x, y = data.x_test[:40], data.y_test[:40]
    x_adv = PGD(model, eps=0.5, alpha=0.125, steps=5, bounds=data.bounds)(x, y)
    table = mi_robustness(
        model,
        x,
        y,
        x_adv,
        xp,
        yp,
        eps=0.5,
        alpha=0.125,
        bounds=data.bounds,
        steps=3,
        modes=("PL", "OL"),
    )
    assert table.models == ["no MI", "MI-PL", "MI-OL"]
    assert table.columns == ["clean", "oblivious", "adaptive"]
    assert table.get(model="no MI") == accuracy(model, x, y)
    assert (
        table.get("oblivious", model="no MI")
        == table.get("adaptive", model="no MI")
        == accuracy(model, x_adv, y)
    )
    # A fresh MI of the same mode draws the same partners: the table's numbers are reproducible.
    assert table.get(model="MI-PL") == accuracy(MixupInference(model, xp, yp, mode="PL"), x, y)
    mi = MixupInference(
        model, xp, yp, mode="OL"
    )  # measured in the table's order: clean, oblivious, adaptive
    assert table.get(model="MI-OL") == accuracy(mi, x, y)
    assert table.get("oblivious", model="MI-OL") == accuracy(mi, x_adv, y)
    x_adaptive = PGD(
        mi, eps=0.5, alpha=0.125, steps=3, bounds=data.bounds, loss=eot_objective(samples=2)
    )(x, y)
    assert table.get("adaptive", model="MI-OL") == accuracy(mi, x_adaptive, y)
    assert "| MI-OL |" in table.to_markdown() and all(
        0 <= row["accuracy"] <= 1 for row in table.rows
    )


def test_per_sample_mixup_loss_is_the_soft_cross_entropy_of_the_mixed_labels():
    """The MI authors' mixing, a weight per sample: the soft cross-entropy of the mixed labels.

    For a softmax network the loss is the soft cross-entropy of lam_i onehot(y_a) + (1 - lam_i)
    onehot(y_b), and a MixupModel with per_sample=True trains.
    """
    data = gaussian_mixture(num_classes=3, n_per_class=40)
    model = make_model(data, "sce")
    x, y = data.x_train[:12], data.y_train[:12]
    loss = mixup_loss(model, x, y, 1.0, torch.Generator().manual_seed(5), per_sample=True)
    x_mix, y_a, y_b, lam = mixup_batch(x, y, 1.0, torch.Generator().manual_seed(5), per_sample=True)
    targets = lam[:, None] * torch.eye(3)[y_a] + (1 - lam[:, None]) * torch.eye(3)[y_b]
    soft = -(targets * model(x_mix).log_softmax(dim=1)).sum(dim=1).mean()
    assert loss.item() == pytest.approx(soft.item(), rel=1e-5)
    history = fit(
        MixupModel(model, per_sample=True), data, steps=40, progress=False, record_every=0
    )
    assert history.objective == "sce" and accuracy(model, data.x_test, data.y_test) > 0.8


class _Tanh(torch.nn.Module):
    """A fixed nonlinear float64 model, so mixing inputs is not mixing outputs."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = 3 * torch.randn(5, 6, generator=g, dtype=torch.float64)
        self.b = torch.randn(5, generator=g, dtype=torch.float64)

    def forward(self, x):
        return torch.tanh(x) @ self.w.T + self.b


def _numpy_mi(model, x, partners, lam):
    """mean over the partners x_s of softmax(f(lam x + (1 - lam) x_s)), per input, in NumPy."""
    w, b = model.w.numpy(), model.b.numpy()
    mixed = lam * x.numpy()[:, None] + (1 - lam) * partners.numpy()  # (B, n, D)
    logits = np.tanh(mixed) @ w.T + b
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)).mean(1)


def test_mi_output_is_the_authors_average_of_softmax_over_mixed_inputs():
    """attack_resnet_mixuptest_PL/_OL/_Combined.py: mix the *inputs*, (1 - lam) x_s + lam x, then
    average the softmax outputs; Combined keeps MI-PL where max softmax f(x) minus max of the MI-PL
    average is below the threshold."""
    model = _Tanh()
    g = torch.Generator().manual_seed(1)
    x_pool, y_pool = torch.randn(40, 6, generator=g, dtype=torch.float64), torch.arange(5).repeat(8)
    x = torch.randn(12, 6, generator=g, dtype=torch.float64)
    predicted = model(x).argmax(1)
    for mode, lam in (("PL", 0.5), ("OL", 0.6)):
        mi = MixupInference(model, x_pool, y_pool, mode=mode, lam=lam, seed=3)
        index = mi.draw(predicted, mi.samples, same=mode == "PL")
        mi.reseed()
        classes = mi.y_pool[index]
        assert (
            (classes == predicted[:, None]).all()
            if mode == "PL"
            else (classes != predicted[:, None]).all()
        )
        expected = _numpy_mi(model, x, mi.x_pool[index], lam)
        np.testing.assert_allclose(mi(x).exp().numpy(), expected, atol=1e-12)
    mi = MixupInference(model, x_pool, y_pool, mode="combined", lam=(0.5, 0.4), seed=1)
    pl_index, ol_index = mi.draw(predicted, 5, same=True), mi.draw(predicted, 15, same=False)
    mi.reseed()
    pl = _numpy_mi(model, x, mi.x_pool[pl_index], 0.5)
    ol = _numpy_mi(model, x, mi.x_pool[ol_index], 0.4)
    clean = torch.softmax(model(x), 1).max(1).values.numpy()
    use_pl = clean - pl.max(1) < 0.2
    assert 0 < use_pl.sum() < len(x)  # both branches are exercised
    np.testing.assert_allclose(mi(x).exp().numpy(), np.where(use_pl[:, None], pl, ol), atol=1e-12)
    assert np.array_equal(mi.last_choice.numpy(), use_pl)


def test_mi_robustness_takes_a_lambda_per_mode(toy):
    """For an interpolated-AT model the paper's MI-OL mixes with lambda 0.6, not the default 0.5."""
    data, model, xp, yp = toy
    x, y = data.x_test[:40], data.y_test[:40]
    common = dict(eps=0.5, alpha=0.125, bounds=data.bounds, steps=1, modes=("OL",))
    table = mi_robustness(model, x, y, x, xp, yp, lam={"OL": 0.6}, **common)
    for lam in (0.6, 0.5):
        mi = MixupInference(model, xp, yp, mode="OL", lam=lam)
        measured = accuracy(mi, x, y)
        assert (table.get(model="MI-OL") == measured) == (lam == 0.6), lam
    with pytest.raises(ValueError, match=r"lam names modes \['PL'\]"):
        mi_robustness(model, x, y, x, xp, yp, lam={"PL": 0.6}, **common)
