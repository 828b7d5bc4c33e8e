import copy
import math
import pickle

import pytest
import torch

from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.objectives import OBJECTIVES
from robviz.adversarial import AdversarialTraining
from robviz.train import TrainConfig, fit, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def data():
    return gaussian_mixture(num_classes=3, n_per_class=60, seed=0)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_training_lowers_the_loss_and_learns(data, name):
    model = make_model(data, name, seed=0)
    history = fit(model, data, steps=150, record_every=50, progress=False)
    assert history.loss[-1] < history.loss[1] < history.loss[0]
    assert history.test_accuracy[-1] > 0.9
    assert history.step == [0, 50, 100, 150]
    assert history.features.shape == (4, 126, 2)


def test_fit_is_deterministic(data):
    runs = []
    for _ in range(2):
        model = make_model(data, "mmc", seed=0)
        runs.append((fit(model, data, steps=60, batch_size=16, progress=False), model))
    (h1, m1), (h2, m2) = runs
    assert h1.loss == h2.loss
    # and the runs trained: two fits that did nothing would agree too
    assert h1.loss[-1] < h1.loss[0]
    fresh = make_model(data, "mmc", seed=0)
    assert not all(torch.equal(p, q) for p, q in zip(m1.parameters(), fresh.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))


def test_minibatch_and_snapshots(data):
    model = make_model(data, "sce")
    h = fit(
        model,
        data,
        TrainConfig(steps=40, batch_size=32, record_every=10, probe_size=50),
        progress=False,
    )
    assert len(h) == 5 and h.features.shape == (5, 50, 2) and h.probe_y.shape == (50,)
    assert len(h.head_states) == 5 and "linear.weight" in h.head_states[0]
    # Head snapshots are copies, not views of the live parameters.
    assert not torch.equal(h.head_states[0]["linear.weight"], h.head_states[-1]["linear.weight"])


def test_snapshot_zero_is_the_untrained_model(data):
    # The loss before any step was measured in train mode: it moved BatchNorm's running statistics
    # before snapshot 0 (and its accuracies) was recorded, and dropout drew masks for it.
    from torch import nn

    from robviz.models import Classifier
    from robviz.objectives import make_objective

    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5))
    model = Classifier(body, make_objective("sce", 3, 8))
    untrained = copy.deepcopy(model)
    start = untrained.state_dict()
    history = fit(model, data, steps=2, record_every=1, record_models=True, progress=False)
    assert all(torch.equal(history.model_states[0][k], v) for k, v in start.items())
    with torch.no_grad():
        loss = untrained.eval().loss(data.x_train, data.y_train).item()
    assert history.loss[0] == pytest.approx(loss, rel=1e-6)
    assert not any(m.training for m in model.modules())  # left in eval mode, as documented


def test_nan_loss_stops_with_a_clear_message(data):
    model = make_model(data, "sce")
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")  # a diverged weight: NaN logits, NaN loss
    with pytest.raises(FloatingPointError, match="loss became nan at step 1.*learning rate"):
        fit(model, data, steps=5, progress=False)


def test_non_finite_training_data_is_refused_naming_the_sample():
    bad = gaussian_mixture(num_classes=3, n_per_class=20)
    bad.x_train[4, 0] = float("nan")
    with pytest.raises(ValueError, match="data.x_train has non-finite values .* at sample index 4"):
        fit(make_model(bad, "sce"), bad, steps=5, progress=False)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("steps", 0, "steps"),
        ("batch_size", 0, "batch_size"),
        ("lr", -1.0, "lr"),
        ("optimizer", "lbfgs", "optimizer"),
    ],
)
def test_bad_config_raises(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_checkpoint_round_trip_is_atomic_and_safe(tmp_path, data):
    model = make_model(data, "lgm")
    fit(model, data, steps=10, progress=False)
    path = save_checkpoint(tmp_path / "ckpt" / "lgm.pt", model, objective="lgm", steps=10)
    assert [p.name for p in path.parent.iterdir()] == ["lgm.pt"]  # no temporary file left behind
    fresh = make_model(data, "lgm", seed=1)
    meta = load_checkpoint(path, fresh)
    assert meta == {"objective": "lgm", "steps": 10}
    assert all(
        torch.equal(p, q) for p, q in zip(model.state_dict().values(), fresh.state_dict().values())
    )
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt", fresh)


def test_checkpoint_refuses_pickled_code(tmp_path, data):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "metadata": {"f": math.sqrt}}, path)
    # torch.load(weights_only=True) refuses the pickled function: an UnpicklingError, not any error
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        load_checkpoint(path, make_model(data, "sce"))


@pytest.mark.parametrize(
    "name, adversarial, label",
    [
        ("sce", None, "fit sce"),
        ("sce", AdversarialTraining(method="pgd", eps=0.1, steps=2), "fit sce (PGD-AT)"),
        ("mmc", AdversarialTraining(method="pgd", eps=0.1, steps=2), "fit mmc (PGD-AT)"),
        ("sce", AdversarialTraining(method="trades", eps=0.1, steps=2), "fit sce (TRADES)"),
        ("mmc", AdversarialTraining(eps=0.5, steps=2, norm="L2"), "fit mmc (PGD-AT, L2)"),
    ],
)
def test_progress_bar_says_what_is_trained(data, capsys, name, adversarial, label):
    """A lesson's five bars all read "fit sce" or "fit mmc", three of them adversarially trained."""
    model = make_model(data, name)
    fit(model, data, steps=2, record_every=2, adversarial=adversarial, progress=True)
    shown = capsys.readouterr().err
    assert f"{label}:" in shown
    assert "(" not in label or f"fit {name}:" not in shown
