"""Mixup Inference refuses pools and inputs that would broadcast, and modes that make no table."""

import pytest
import torch

from robviz import mixup_inference as mi
from robviz.attacks import PGD


@pytest.fixture(scope="module")
def setup(trained_blobs):
    data, model = trained_blobs(3)
    x, y = data.x_test[:8], data.y_test[:8]
    x_adv = PGD(model, eps=0.3, steps=3, bounds=data.bounds)(x, y)
    return data, model, x, y, x_adv


def test_a_pool_of_another_input_shape_is_refused_not_broadcast(setup):
    # before: partners of shape (1,) were broadcast against 2-D inputs, and MI answered
    data, model, x, y, x_adv = setup
    narrow = mi.MixupInference(model, data.x_train[:, :1], data.y_train)
    with pytest.raises(ValueError, match=r"x must hold inputs of the pool's shape, \(N, 1\)"):
        narrow(x)
    with pytest.raises(ValueError, match=r"x_pool must hold inputs of the shape of x, \(P, 2\)"):
        mi.mixing_effect(model, x, x_adv, y, data.x_train[:, :1], [0.5])


def test_a_float64_pool_mixes_with_float32_inputs(setup):
    # before: a RuntimeError from the model (float64 mixtures into float32 weights)
    data, model, x, y, _ = setup
    a = mi.MixupInference(model, data.x_train.double(), data.y_train, seed=3)(x)
    b = mi.MixupInference(model, data.x_train, data.y_train, seed=3)(x)
    assert a.dtype == torch.float32 and torch.allclose(a, b, atol=1e-6)


def test_a_single_lambda_is_one_lambda(setup):
    data, model, x, y, x_adv = setup
    one = mi.mixing_effect(model, x, x_adv, y, data.x_train, 0.5)
    listed = mi.mixing_effect(model, x, x_adv, y, data.x_train, [0.5])
    assert torch.equal(one.effect, listed.effect) and one.lams.tolist() == [0.5]


@pytest.mark.parametrize(
    "modes, match",
    [
        (("PL", "PL"), "modes must name each MI variant once"),  # before: after every accuracy,
        ((), "modes must name each MI variant once"),  # "give each model its own name"
        (("XX",), "unknown mode 'XX'"),
    ],
)
def test_mi_robustness_refuses_modes_that_make_no_table(setup, modes, match):
    data, model, x, y, x_adv = setup
    with pytest.raises(ValueError, match=match):
        mi.mi_robustness(
            model,
            x,
            y,
            x_adv,
            data.x_train,
            data.y_train,
            eps=0.3,
            alpha=0.1,
            bounds=data.bounds,
            steps=1,
            eot_samples=1,
            modes=modes,
        )


def test_mi_robustness_checks_x_adv_and_the_attack_at_entry(setup):
    data, model, x, y, x_adv = setup
    kwargs = dict(alpha=0.1, bounds=data.bounds, steps=1, eot_samples=1, modes="PL")
    with pytest.raises(ValueError, match=r"x_adv must have the shape of x, \(8, 2\), got \(4, 2\)"):
        mi.mi_robustness(model, x, y, x_adv[:4], data.x_train, data.y_train, eps=0.3, **kwargs)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        mi.mi_robustness(model, x, y, x_adv, data.x_train, data.y_train, eps=-1.0, **kwargs)
    # a pool of another input shape, refused at entry as by mixing_effect (before: after the bare
    # model's accuracies, by the first MixupInference call)
    with pytest.raises(ValueError, match=r"x_pool must hold inputs of the shape of x, \(P, 2\)"):
        mi.mi_robustness(model, x, y, x_adv, data.x_train[:, :1], data.y_train, eps=0.3, **kwargs)
    # "PL" alone is the mode PL, not the modes "P" and "L"
    table = mi.mi_robustness(model, x, y, x_adv, data.x_train, data.y_train, eps=0.3, **kwargs)
    assert table.models == ["no MI", "MI-PL"]
