import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robviz.attacks import FGSM, PGD
from robviz.data import gaussian_mixture
from robviz.ensemble import (
    Ensemble,
    adp_regularizer,
    ensemble_diversity,
    non_true_predictions,
    pairwise_angles,
    recorded_predictions,
    solve_adp,
    transferability,
)
from robviz.models import make_model
from robviz.theory import adp_optimum
from robviz.train import fit


def numpy_adp(p, y, alpha, beta):
    """The ADP term written out per sample in NumPy (float64)."""
    K, N, L = p.shape
    values = []
    for n in range(N):
        mean = p[:, n].mean(0)
        entropy = -(mean * np.log(mean + 1e-20)).sum()
        rows = np.stack([np.delete(p[k, n], y[n]) for k in range(K)])
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        log_det = np.log(np.linalg.det(rows @ rows.T + 1e-6 * np.eye(K)))
        values.append(-alpha * entropy - beta * log_det)
    return np.mean(values)


@pytest.fixture(scope="module")
def toy():
    data = gaussian_mixture(num_classes=4, n_per_class=30, seed=0)
    ens = Ensemble(
        [make_model(data, "sce", feature_dim=4, seed=k) for k in range(3)], alpha=2.0, beta=0.5
    )
    history = fit(ens, data, steps=30, record_every=15, probe_size=20, progress=False)
    return data, ens, history


@pytest.mark.parametrize("alpha,beta", [(2.0, 0.5), (0.0, 1.0), (1.5, 0.0)])
def test_adp_matches_numpy(alpha, beta):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(3, 7, 5, generator=g, dtype=torch.float64).mul(2).softmax(-1)
    y = torch.randint(0, 5, (7,), generator=g)
    ours = adp_regularizer(p, y, alpha, beta).item()
    assert ours == pytest.approx(numpy_adp(p.numpy(), y.numpy(), alpha, beta), rel=1e-9, abs=1e-9)


def test_adp_gradient_is_finite_when_members_agree():
    logits = torch.tensor([[3.0, 0.5, -1.0, 0.2]]).repeat(3, 1).unsqueeze(1).requires_grad_(True)
    value = adp_regularizer(logits.softmax(-1), torch.tensor([0]), 2.0, 0.5)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
    # identical members: M M^T is all ones (eigenvalues K, 0, 0), so log det = log(3 + 1e-6) + 2
    # log(1e-6)
    mean = logits[:, 0].softmax(-1)[0].detach().double()
    entropy = -(mean * mean.log()).sum().item()
    expected = -2.0 * entropy - 0.5 * (np.log(3 + 1e-6) + 2 * np.log(1e-6))
    assert value.item() == pytest.approx(
        expected, abs=0.2
    )  # float32 rounding is ~1e-7 next to the 1e-6 floor


def test_forward_is_log_of_mean_softmax(toy):
    data, ens, _ = toy
    x = data.x_test[:11]
    p = torch.stack([m(x).softmax(-1) for m in ens.members])
    assert torch.allclose(ens(x).exp(), p.mean(0), atol=1e-6)
    assert torch.allclose(ens.member_probabilities(x), p, atol=1e-6)
    assert torch.equal(ens.predict(x), p.mean(0).argmax(1))
    assert ens(x).exp().sum(1).sub(1).abs().max() < 1e-5


def test_loss_is_sum_of_ce_plus_adp(toy):
    data, ens, _ = toy
    x, y = data.x_train[:16], data.y_train[:16]
    logits = ens.member_logits(x)
    ce = sum(nn.functional.cross_entropy(logits[k], y) for k in range(3))
    assert ens.loss(x, y).item() == pytest.approx(
        (ce + adp_regularizer(logits.softmax(-1), y)).item(), rel=1e-5
    )
    base = Ensemble(list(ens.members), alpha=0, beta=0)
    assert base.name == "baseline" and base.loss(x, y).item() == pytest.approx(ce.item(), rel=1e-6)


def test_fit_records_member_predictions(toy):
    data, ens, history = toy
    assert history.objective == "ADP_2,0.5" and history.step == [0, 15, 30]
    p = recorded_predictions(history, 3)
    assert p.shape == (3, 20, 3, 4)
    assert torch.allclose(p.sum(-1), torch.ones(3, 20, 3), atol=1e-5)


def test_geometry_helpers():
    p = torch.tensor([[[0.7, 0.3, 0.0, 0.0]], [[0.7, 0.0, 0.3, 0.0]], [[0.7, 0.0, 0.0, 0.3]]])
    y = torch.tensor([0])
    assert ensemble_diversity(p, y).item() == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(non_true_predictions(p, y, "l1")[:, 0], torch.eye(3))
    # the three non-true parts are orthogonal: 90 degrees between every pair, 0 to itself
    angles = pairwise_angles(p, y)[0]
    assert torch.allclose(angles, 90.0 * (1 - torch.eye(3)), atol=1e-3)
    same = p[:1].repeat(3, 1, 1)
    assert ensemble_diversity(same, y).item() == pytest.approx(0.0, abs=1e-6)


def test_transferability_diagonal_is_white_box_accuracy(toy):
    data, ens, _ = toy
    x, y = data.x_test, data.y_test
    factory = lambda m: FGSM(m, eps=0.5, bounds=data.bounds)  # noqa: E731
    matrix = transferability(ens, x, y, factory)
    assert matrix.shape == (3, 3)
    # Every entry by hand: (i, j) is member j's accuracy on FGSM examples crafted on member i.
    for i, source in enumerate(ens.members):
        x_adv = factory(source)(x, y)
        for j, member in enumerate(ens.members):
            with torch.no_grad():
                accuracy = (member(x_adv).argmax(1) == y).float().mean().item()
            assert matrix[i, j].item() == pytest.approx(accuracy), (i, j)
    assert ((matrix >= 0) & (matrix <= 1)).all()
    assert not torch.allclose(matrix, matrix.T)  # the attack's source matters: (i, j) != (j, i)


def test_attacks_run_on_the_ensemble(toy):
    data, ens, _ = toy
    x, y = data.x_test, data.y_test
    result = PGD(ens, eps=0.25, alpha=0.1, steps=3, bounds=data.bounds).run(x, y)
    assert result.x_adv.shape == x.shape
    # Inside the L-inf ball, and the gradient reached the ensemble: every input moved and the
    # ensemble's own loss (NLL of its log mean softmax) rose on every one of them.
    assert (result.x_adv - x).abs().max() <= 0.25 + 1e-6
    assert (result.x_adv != x).any(dim=1).all()
    with torch.no_grad():
        before = F.nll_loss(ens(x), y, reduction="none")
        after = F.nll_loss(ens(result.x_adv), y, reduction="none")
        assert (after > before).all()
        assert torch.equal(result.prediction, ens(result.x_adv).argmax(1))
    assert torch.equal(result.success, result.prediction != y)


def test_clear_errors():
    data = gaussian_mixture(num_classes=4, n_per_class=10)
    other = gaussian_mixture(num_classes=3, n_per_class=10)
    with pytest.raises(ValueError, match="K >= 2"):
        Ensemble([make_model(data)])
    with pytest.raises(ValueError, match="same number of classes"):
        Ensemble([make_model(data), make_model(other)])
    with pytest.raises(ValueError, match="alpha"):
        Ensemble([make_model(data), make_model(data, seed=1)], alpha=-1)
    mixed = Ensemble([nn.Linear(2, 4), nn.Linear(2, 3)])
    with pytest.raises(ValueError, match="one shape"):
        mixed(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="K >= 2"):
        adp_regularizer(torch.full((1, 2, 4), 0.25), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="y must be"):
        adp_regularizer(torch.full((3, 2, 4), 0.25), torch.tensor([0]))


def test_theorems_numerically():
    one_hot = solve_adp(0.0, 0.5, 3, 4, steps=300, lr=0.1)  # Theorem 1: alpha = 0 -> F^k = 1_y
    assert one_hot[:, 0].min() > 0.99
    eq7 = solve_adp(2.0, 0.0, 3, 4, steps=300, lr=0.1)  # Theorem 2: F^k_y = Eq. 7, mean wrong flat
    target = adp_optimum(2.0, 3, 4)
    assert torch.allclose(eq7[:, 0], torch.full((3,), target, dtype=torch.float64), atol=5e-3)
    assert torch.allclose(
        eq7.mean(0)[1:], torch.full((3,), (1 - target) / 3, dtype=torch.float64), atol=5e-3
    )


class _FixedLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits


def authors_loss(p, y, lamda, log_det_lamda):
    """The authors' ``Loss_withEE_DPP`` (utils.py), written for (K, N, L) probabilities in NumPy.

    y_pred is the members' softmax outputs side by side, y_true the one-hot label repeated K times;
    the log-det mask drops the entries where y_true is 1. Keras's clip of the probabilities to
    [1e-7, 1 - 1e-7] is left out (the inputs here stay inside it).
    """
    K, N, L = p.shape
    y_pred = np.concatenate(list(p), axis=1)  # (N, K L)
    y_true = np.tile(np.eye(L)[y], (1, K))
    ce = sum(-(y_true[:, :L] * np.log(y_pred[:, k * L : (k + 1) * L])).sum(1) for k in range(K))
    mean = sum(np.split(y_pred, K, axis=1)) / K
    entropy = (-mean * np.log(mean + 1e-20)).sum(-1)
    m = y_pred[(np.ones_like(y_true) - y_true) != 0].reshape(-1, K, L - 1)
    m = m / np.linalg.norm(m, axis=2, keepdims=True)
    log_det = np.linalg.slogdet(m @ m.transpose(0, 2, 1) + 1e-6 * np.eye(K)[None])[1]
    return (ce - lamda * entropy - log_det_lamda * log_det).mean()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ensemble_loss_is_the_authors_loss_with_their_constants(dtype):
    g = torch.Generator().manual_seed(2)
    logits = (3 * torch.randn(3, 25, 10, generator=g)).to(dtype)
    y = torch.randint(0, 10, (25,), generator=g)
    ens = Ensemble([_FixedLogits(logits[k]) for k in range(3)])  # the defaults: alpha 2, beta 0.5
    expected = authors_loss(logits.softmax(-1).double().numpy(), y.numpy(), 2.0, 0.5)
    ours = ens.loss(torch.zeros(25, 1, dtype=dtype), y).item()
    assert ours == pytest.approx(expected, rel=1e-12 if dtype == torch.float64 else 1e-6)
    mean = logits.softmax(-1).double().mean(0)
    assert torch.allclose(ens(torch.zeros(25, 1)).double().exp(), mean, atol=1e-6)
