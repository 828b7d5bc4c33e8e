"""Tests of APGD, the DLR loss, the AutoAttack-style runner and EOT.

They check hand-checkable values, budgets and strength.
"""

import pytest
import torch

from robviz.attacks import PGD
from robviz.attacks.apgd import (
    APGD,
    apgd_checkpoints,
    auto_attack,
    dlr_loss,
    dlr_objective,
    dlr_targeted_loss,
)
from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.train import accuracy, fit


@pytest.fixture(scope="module")
def toy(trained_blobs):
    """Four Gaussian blobs and an undefended (SCE) model."""
    return trained_blobs(4)


def test_checkpoint_schedule_for_100_steps():
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (the increments shrink by 0.03 down to
    # 0.06)
    assert apgd_checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(1000)[:3] == [0, 220, 410]
    assert apgd_checkpoints(1) == [0, 1]


def test_dlr_loss_by_hand():
    logits = torch.tensor([[3.0, 1.0, 2.0, 0.0]])
    # y = 0: -(3 - 2) / (3 - 1) = -0.5 (correct, negative); y = 1: -(1 - 3) / (3 - 1) = 1.0 (wrong,
    # positive)
    assert dlr_loss(logits, torch.tensor([0])).item() == pytest.approx(-0.5)
    assert dlr_loss(logits, torch.tensor([1])).item() == pytest.approx(1.0)
    # targeted, y = 0, t = 3: -(3 - 0) / (3 - (1 + 0) / 2) = -1.2
    assert dlr_targeted_loss(logits, torch.tensor([0]), torch.tensor([3])).item() == pytest.approx(
        -1.2
    )
    # invariant to shifting and positive scaling of the logits
    z = torch.randn(8, 5)
    y = torch.randint(0, 5, (8,))
    assert torch.allclose(dlr_loss(7 * z + 3, y), dlr_loss(z, y), atol=1e-5)
    with pytest.raises(ValueError, match="at least 3 classes"):
        dlr_loss(torch.randn(2, 2), torch.tensor([0, 1]))


def test_apgd_stays_in_budget_and_bounds(toy):
    data, model = toy
    x, y = data.x_test[:40], data.y_test[:40]
    for loss in ("ce", "dlr"):
        x_adv = APGD(model, eps=0.3, steps=20, loss=loss, bounds=data.bounds)(x, y)
        assert (x_adv - x).abs().max() <= 0.3 + 1e-6
        assert x_adv.min() >= data.bounds[0] - 1e-6 and x_adv.max() <= data.bounds[1] + 1e-6


def test_apgd_at_least_as_strong_as_pgd10(toy):
    data, model = toy
    x, y = data.x_test, data.y_test
    for eps in (0.25, 0.5):
        pgd = accuracy(
            model, PGD(model, eps=eps, alpha=eps / 4, steps=10, bounds=data.bounds)(x, y), y
        )
        for loss in ("ce", "dlr"):
            apgd = accuracy(
                model, APGD(model, eps=eps, steps=20, loss=loss, bounds=data.bounds)(x, y), y
            )
            assert apgd <= pgd + 1e-9, (eps, loss, apgd, pgd)


def test_apgd_targeted_reaches_targets_and_records(toy):
    data, model = toy
    x, y = data.x_test[:30], data.y_test[:30]
    target = (y + 1) % 4
    for loss in ("ce", "dlr"):
        result = APGD(model, eps=1.0, steps=20, loss=loss, targeted=True, bounds=data.bounds).run(
            x, y, target
        )
        assert result.success_rate > 0.8
    result = APGD(model, eps=0.3, steps=10, bounds=data.bounds).run(x, y, record=True)
    assert result.trajectory.inputs.shape == (11, 30, 2)


def test_apgd_validates():
    model = torch.nn.Linear(2, 3)
    with pytest.raises(ValueError, match="loss must be"):
        APGD(model, loss="hinge")
    with pytest.raises(ValueError, match="rho"):
        APGD(model, rho=1.5)
    assert APGD(model, loss=dlr_objective).loss is dlr_objective


def test_auto_attack_never_rises_and_beats_apgd_ce(toy):
    data, model = toy
    x, y = data.x_test, data.y_test
    result = auto_attack(model, x, y, 0.5, bounds=data.bounds, steps=20, progress=False)
    values = list(result.log.values())
    assert list(result.log) == ["clean", "APGD-CE", "APGD-T (DLR)"]
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert result.accuracy == pytest.approx(values[-1])
    assert accuracy(model, result.x_adv, y) <= result.log["APGD-CE"] + 1e-9
    assert (result.x_adv - x).abs().max() <= 0.5 + 1e-6


def test_matches_torchattacks_apgd(toy, torchattacks):
    data, model = toy
    low, high = data.bounds
    x, y = data.x_test, data.y_test

    class UnitBox(torch.nn.Module):  # torchattacks expects images (N, C, H, W) in [0, 1]
        def forward(self, u):
            return model(low + (high - low) * u.flatten(1))

    # random starts differ, so compare the mean over three seeds (one seed alone varies by about
    # 0.05 here)
    wrapped, seeds = UnitBox(), range(3)
    u = ((x - low) / (high - low))[:, :, None, None]
    for loss in ("ce", "dlr"):
        for eps in (0.5, 0.75):
            ours = sum(
                accuracy(
                    model,
                    APGD(model, eps=eps, steps=50, loss=loss, bounds=data.bounds, seed=s)(x, y),
                    y,
                )
                for s in seeds
            ) / len(seeds)
            theirs = sum(
                accuracy(
                    wrapped,
                    torchattacks.APGD(
                        wrapped,
                        norm="Linf",
                        eps=eps / (high - low),
                        steps=50,
                        n_restarts=1,
                        loss=loss,
                        seed=s,
                    )(u, y),
                    y,
                )
                for s in seeds
            ) / len(seeds)
            assert abs(ours - theirs) <= 0.05, (loss, eps, ours, theirs)


def test_apgd_and_auto_attack_pick_the_adaptive_objective():
    from robviz.attacks.objectives import cross_entropy_objective

    data = gaussian_mixture(num_classes=4, n_per_class=30)
    mmc = make_model(data, "mmc")
    from robviz.attacks.objectives import margin_objective, paper_objective

    assert APGD(mmc).loss is margin_objective
    assert APGD(make_model(data, "sce")).loss is cross_entropy_objective
    result = auto_attack(
        mmc, data.x_test[:20], data.y_test[:20], 0.3, bounds=data.bounds, steps=5, progress=False
    )
    assert list(result.log)[:2] == ["clean", "APGD-margin"]
    paper = auto_attack(
        mmc,
        data.x_test[:20],
        data.y_test[:20],
        0.3,
        bounds=data.bounds,
        steps=5,
        progress=False,
        loss=paper_objective(mmc),
    )
    assert list(paper.log)[:2] == ["clean", "APGD-MMC"]


def test_auto_attack_closes_the_gap_to_the_exact_robust_accuracy():
    # lesson 2's setting, smaller: one restart misses adversarial corners of the ball that five
    # restarts find
    from robviz import exact
    from robviz.data import spirals

    data = spirals(num_classes=3, n_per_class=120, noise=0.2, seed=0)
    for name in ("sce", "mmc"):
        model = make_model(data, name)
        fit(model, data, steps=300, lr=0.01, progress=False, record_every=0)
        x, y = data.x_test, data.y_test
        truth, _ = exact.robust_accuracy(model, x, y, 0.25, norm="Linf", bounds=data.bounds)
        result = auto_attack(model, x, y, 0.25, bounds=data.bounds, steps=50, progress=False)
        assert truth - 1e-9 <= result.accuracy <= truth + 0.02, (name, truth, result.accuracy)


def test_auto_attack_on_two_classes_uses_the_margin():
    from robviz.data import moons

    data = moons(n_per_class=60)
    model = make_model(data, "sce")
    fit(model, data, steps=100, progress=False, record_every=0)
    result = auto_attack(
        model, data.x_test, data.y_test, 0.3, bounds=data.bounds, steps=10, progress=False
    )
    assert list(result.log) == ["clean", "APGD-CE", "APGD-margin"]
    assert result.log["APGD-margin"] <= result.log["APGD-CE"]


def test_auto_attack_runs_in_eval_mode_and_restores_the_mode():
    data = gaussian_mixture(num_classes=4, n_per_class=30)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.BatchNorm1d(16),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(16, 4),
    )
    model(data.x_train)  # running statistics that differ from the initial ones
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = data.x_test[:20], data.y_test[:20]
    first = auto_attack(model, x, y, 0.3, bounds=data.bounds, steps=5, progress=False)
    second = auto_attack(model, x, y, 0.3, bounds=data.bounds, steps=5, progress=False)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert first.log == second.log  # no Dropout draws in the clean pass
    model.eval()
    assert first.log["clean"] == pytest.approx(accuracy(model, x, y))


def test_apgd_checks_success_on_the_gradient_pass(toy):
    data, model = toy

    class Counting(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x):
            self.calls += 1
            return self.inner(x)

    counted = Counting(model)
    counted.num_classes = model.num_classes  # as a Classifier says: no pass to read L
    steps = 10
    APGD(counted, eps=0.3, steps=steps, loss="ce", bounds=data.bounds)(
        data.x_test[:10], data.y_test[:10]
    )
    # one pass at the start, one per step, one for the base class's final prediction; none to check
    # success
    assert counted.calls == steps + 2
    # A model that does not say how many classes it has gets one pass of one input more: the
    # labels are checked against the width of its logits.
    del counted.num_classes
    counted.calls = 0
    APGD(counted, eps=0.3, steps=steps, loss="ce", bounds=data.bounds)(
        data.x_test[:10], data.y_test[:10]
    )
    assert counted.calls == steps + 3
