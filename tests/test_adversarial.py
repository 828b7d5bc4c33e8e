"""robviz.adversarial: PGD adversarial training and TRADES through robviz.attacks.PGD.

Both for fit and for the CIFAR loop.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robviz import exact
from robviz.adversarial import (
    AdversarialTraining,
    adversarial_batch,
    exact_over_training,
    kl_objective,
    trades_loss,
    uniform_start,
)
from robviz.attacks import PGD, paper_objective
from robviz.data import moons
from robviz.models import Classifier, ToyMLP
from robviz.objectives import make_objective
from robviz.train import TrainConfig, fit


def toy_model(objective="sce", hidden=16, seed=0):
    torch.manual_seed(seed)
    return Classifier(ToyMLP(2, 2, hidden=hidden), make_objective(objective, 2, 2))


@pytest.fixture(scope="module")
def data():
    return moons(n_per_class=100, noise=0.2, seed=0)


@pytest.mark.parametrize("objective", ["sce", "mmc"])
@pytest.mark.parametrize("norm", ["Linf", "L2"])
def test_inner_maximization_is_the_pgd_of_the_attacks_module(data, objective, norm):
    """The adversarial batch of "pgd" is PGD's x_adv: same start, same steps, same objective.

    The same start is a generator seeded s, PGD(seed=s); the objective is the papers' adaptive one
    (the MMC loss for MMC, as the talk trains AT-MMC).
    """
    model = toy_model(objective)
    x, y = data.x_train[:32], data.y_train[:32]
    setting = AdversarialTraining(eps=0.3, steps=5, norm=norm)
    ours = setting.examples(model, x, y, data.bounds, torch.Generator().manual_seed(3))
    theirs = PGD(
        model,
        eps=0.3,
        alpha=setting.alpha,
        steps=5,
        norm=norm,
        bounds=data.bounds,
        seed=3,
        loss=paper_objective(model),
    ).run(x, y)
    assert torch.equal(ours, theirs.x_adv)
    assert not torch.equal(ours, x) and not ours.requires_grad


def test_default_step_is_madrys_rule_and_the_config_round_trips():
    setting = AdversarialTraining(eps=0.2, steps=8)
    assert setting.alpha == pytest.approx(2.5 * 0.2 / 8)
    config = TrainConfig(
        adversarial=dict(method="trades", eps=0.1, beta=3.0)
    )  # what asdict(config) holds
    assert config.adversarial == AdversarialTraining(method="trades", eps=0.1, beta=3.0)


def test_trades_loss_against_a_hand_computation(data):
    model = toy_model()
    x, y = data.x_train[:16], data.y_train[:16]
    x_adv = x + 0.1
    p, q = F.softmax(model(x), 1), F.softmax(model(x_adv), 1)
    by_hand = F.cross_entropy(model(x), y) + 2.0 * (p * (p.log() - q.log())).sum(1).mean()
    assert trades_loss(model, x, y, x_adv, beta=2.0).item() == pytest.approx(
        by_hand.item(), rel=1e-5
    )
    with pytest.raises(ValueError, match="x_adv has shape"):
        trades_loss(model, x, y, x_adv[:1], beta=2.0)
    for beta in (0.0, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            trades_loss(model, x, y, x_adv, beta=beta)
    kl = kl_objective(model(x))(model, x_adv, y)
    assert kl.shape == (16,) and torch.allclose(kl, (p * (p.log() - q.log())).sum(1), atol=1e-6)
    assert kl_objective(model(x))(model, x, y).abs().max() < 1e-6  # KL(p || p) = 0
    with pytest.raises(ValueError, match="whole batch"):
        kl_objective(model(x))(model, x[:4], y[:4])


def test_trades_inner_maximization_raises_the_kl(data):
    model = toy_model()
    fit(model, data, steps=100, lr=0.02, progress=False, record_every=0)
    x, y = data.x_train[:64], data.y_train[:64]
    setting = AdversarialTraining(method="trades", eps=0.3, steps=10)
    x_adv = setting.examples(model, x, y, data.bounds, torch.Generator().manual_seed(0))
    assert (x_adv - x).abs().max() <= 0.3 + 1e-6
    kl = kl_objective(model(x))
    assert kl(model, x_adv, y).mean() > 10 * kl(model, (x + 0.001).clamp(*data.bounds), y).mean()


@pytest.mark.parametrize("method", ["pgd", "trades"])
def test_adversarial_training_raises_exact_robust_accuracy(data, method):
    """On moons, training on the worst case of the 0.3-ball raises the exact robust accuracy at 0.3.

    The truth is from robviz.exact; the gain is over plain training from the same initialisation and
    batches.
    """
    eps, results = 0.3, {}
    for adversarial in (None, AdversarialTraining(method=method, eps=eps, steps=5)):
        model = toy_model()
        fit(
            model,
            data,
            steps=300,
            batch_size=64,
            lr=0.01,
            progress=False,
            record_every=0,
            adversarial=adversarial,
        )
        results[adversarial is not None], _ = exact.robust_accuracy(
            model, data.x_test, data.y_test, eps, bounds=data.bounds
        )
    assert results[True] > results[False] + 0.05, results


class ModeSpy(nn.Module):
    """An identity layer that records the mode of every call; with dropout so the mode matters."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


@pytest.mark.parametrize("method", ["pgd", "trades"])
def test_attack_runs_in_eval_mode_and_the_step_in_train_mode(data, method):
    spy = ModeSpy()
    torch.manual_seed(0)
    model = Classifier(
        nn.Sequential(spy, nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)),
        make_objective("sce", 2, 2),
    )
    setting = AdversarialTraining(method=method, eps=0.2, steps=3)
    model.train()
    x, y = data.x_train[:8], data.y_train[:8]
    loss = setting.loss(model, x, y, data.bounds, torch.Generator().manual_seed(0))
    attack_calls = 3 + (method == "trades")  # the steps, and TRADES's clean prediction
    assert spy.modes[:attack_calls] == [False] * attack_calls
    assert spy.modes[attack_calls:] and all(
        spy.modes[attack_calls:]
    )  # the training loss: train mode
    assert model.training and loss.requires_grad


def test_adversarial_batch_restores_the_mode_and_stays_in_the_ball(data):
    model = toy_model().train()
    x, y = data.x_train[:8], data.y_train[:8]
    attack = PGD(model, eps=0.1, alpha=0.05, steps=4, bounds=data.bounds)
    x_adv = adversarial_batch(
        attack, x, y, uniform_start(x, 0.1, "Linf", data.bounds, torch.Generator())
    )
    assert model.training and (x_adv - x).abs().max() <= 0.1 + 1e-6


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(eps=0), "eps"),
        (dict(eps=-0.1), "eps"),
        (dict(method="fgsm"), "method"),
        (dict(steps=0), "steps"),
        (dict(alpha=0), "alpha"),
        (dict(norm="L1"), "norm"),
        (dict(beta=0, method="trades"), "beta"),
        (dict(eps=float("nan")), "eps"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, match):
    with pytest.raises(ValueError, match=match):
        AdversarialTraining(**settings)


def test_bad_adversarial_setting_in_the_config(data):
    with pytest.raises(ValueError, match="adversarial"):
        TrainConfig(adversarial="pgd")
    with pytest.raises(TypeError, match="unexpected keyword argument 'epsilon'"):
        TrainConfig(adversarial=dict(epsilon=0.1))
    with pytest.raises(ValueError, match="eps"):  # larger than the whole input range [-4, 4]
        fit(toy_model(), data, steps=1, progress=False, adversarial=AdversarialTraining(eps=9.0))


def test_record_models_gives_the_model_of_every_snapshot(data):
    model = toy_model()
    history = fit(model, data, steps=20, record_every=10, progress=False, record_models=True)
    assert len(history.model_states) == len(history) == 3
    first, last = history.model_at(model, 0), history.model_at(model, -1)
    assert torch.equal(last(data.x_test), model.eval()(data.x_test))
    assert not torch.equal(first(data.x_test), last(data.x_test))
    with pytest.raises(ValueError, match="record_models"):
        fit(toy_model(), data, steps=2, progress=False).model_at(model)


def test_exact_over_training_is_robviz_exact_at_every_snapshot(data):
    model = toy_model()
    history = fit(
        model,
        data,
        steps=40,
        record_every=20,
        progress=False,
        record_models=True,
        adversarial=AdversarialTraining(eps=0.2, steps=2),
    )
    sets = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)}
    truth = exact_over_training(model, history, sets, [0.0, 0.2], bounds=data.bounds)
    assert (
        truth.step == [0, 20, 40]
        and truth.accuracy["test"].shape == (3, 2)
        and len(truth.segments) == 3
    )
    for frame in (0, -1):
        snapshot = history.model_at(model, frame)
        for name, (x, y) in sets.items():
            expected = exact.robust_accuracy_curve(snapshot, x, y, [0.0, 0.2], bounds=data.bounds)
            assert truth.accuracy[name][frame].tolist() == pytest.approx(expected, abs=1e-12)
    assert truth.segments[-1].shape[1:] == (2, 2) and len(truth.segments[-1]) > 0
    with pytest.raises(ValueError, match="record_models"):
        exact_over_training(
            model, fit(toy_model(), data, steps=2, progress=False), sets, [0.1], bounds=data.bounds
        )


def test_uniform_start_refuses_a_norm_without_a_uniform_draw():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="'L1'"):
        uniform_start(x, 0.1, "L1", (0.0, 1.0), torch.Generator())
