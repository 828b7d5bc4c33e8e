import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robviz.centers import mm_centers
from robviz.objectives import (
    MMC,
    MMLDA,
    OBJECTIVES,
    RCE,
    center_loss,
    cross_entropy_per_sample,
    lgm_loss,
    make_objective,
    mmc_loss,
    mmlda_loss,
    per_sample_loss,
    rce_loss,
    sce_loss,
    squared_distances,
)

# One sample, three classes, 2-D features: small enough to compute every loss by hand.
Z = torch.tensor([[1.0, 2.0]])
Y = torch.tensor([0])
MU = torch.tensor([[1.0, 1.0], [0.0, 0.0], [-2.0, 2.0]])  # squared distances to z: 1, 5, 9


def test_squared_distances():
    assert squared_distances(Z, MU).tolist() == [[1.0, 5.0, 9.0]]


def test_sce_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(1) + 1))
    assert sce_loss(h, Y).item() == pytest.approx(expected, abs=1e-6)


def test_mmc_loss_by_hand():
    assert mmc_loss(Z, Y, MU).item() == pytest.approx(0.5 * 1.0)
    assert mmc_loss(Z, torch.tensor([2]), MU, factor=1.0).item() == pytest.approx(
        9.0
    )  # the code's convention
    # Averaged over the batch.
    assert mmc_loss(Z.repeat(2, 1), torch.tensor([0, 1]), MU).item() == pytest.approx(
        0.5 * (1 + 5) / 2
    )


def test_mmlda_loss_by_hand():
    logits = [-0.5, -2.5, -4.5]  # -1/2 * (1, 5, 9)
    expected = -logits[0] + math.log(sum(math.exp(v) for v in logits))
    assert mmlda_loss(Z, Y, MU).item() == pytest.approx(expected, abs=1e-6)


def test_rce_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    p = torch.softmax(h, dim=1)[0]
    expected = -0.5 * (math.log(p[1]) + math.log(p[2]))  # reverse label (0, 1/2, 1/2)
    assert rce_loss(h, Y).item() == pytest.approx(expected, abs=1e-6)


def test_center_loss_by_hand():
    h = torch.tensor([[2.0, 1.0, 0.0]])
    expected = sce_loss(h, Y).item() + 0.1 * 0.5 * 1.0
    assert center_loss(h, Z, Y, MU, weight=0.1).item() == pytest.approx(expected, abs=1e-6)


def test_lgm_loss_by_hand():
    d = [0.5, 2.5, 4.5]
    margin, weight = 0.1, 0.1
    logits = [-d[0] * (1 + margin), -d[1], -d[2]]
    expected = -logits[0] + math.log(sum(math.exp(v) for v in logits)) + weight * d[0]
    assert lgm_loss(Z, Y, MU, margin, weight).item() == pytest.approx(expected, abs=1e-6)


def test_mmc_head_uses_fixed_mm_centers_and_predicts_nearest():
    head = MMC(num_classes=4, feature_dim=3)
    assert torch.allclose(head.centers, mm_centers(4, 3))
    assert not any(p.requires_grad for p in head.parameters())  # the centers are never trained
    z = head.centers + 0.1
    assert head.output(head(z)).argmax(1).tolist() == [0, 1, 2, 3]


def test_rce_predicts_argmin_of_softmax():
    head = RCE(num_classes=5, feature_dim=4)
    z = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    h = head(z)
    assert torch.equal(head.output(h), -h)
    assert torch.equal(head.output(h).argmax(1), torch.softmax(h, 1).argmin(1))


def test_rce_loss_is_minimal_at_the_reverse_label():
    # softmax(h) = R_y exactly is the minimizer: log-probabilities log(1/(L-1)) on the other
    # classes.
    L = 4
    h = torch.tensor([[-30.0, 0.0, 0.0, 0.0]])
    assert rce_loss(h, torch.tensor([0])).item() == pytest.approx(math.log(L - 1), abs=1e-4)
    assert rce_loss(torch.zeros(1, L), torch.tensor([0])).item() > math.log(L - 1)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_gives_a_finite_differentiable_loss(name):
    head = make_objective(name, num_classes=3, feature_dim=2)
    z = torch.randn(8, 2, requires_grad=True)
    y = torch.randint(0, 3, (8,))
    h = head(z)
    assert h.shape == (8, 3)
    loss = head.loss(z, h, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_registry_is_case_insensitive_and_lists_valid_names():
    assert isinstance(make_objective("MMC", 3, 2), MMC)
    with pytest.raises(ValueError, match="unknown objective 'softmax'.*sce.*mmc.*rce"):
        make_objective("softmax", 3, 2)


def test_objectives_reject_bad_sizes():
    with pytest.raises(ValueError, match="num_classes"):
        make_objective("sce", 1, 2)
    with pytest.raises(ValueError, match="feature_dim"):
        make_objective("sce", 3, 0)


# -------------------------------------------------------------------------------- per-sample losses


def test_per_sample_loss_of_an_objective_is_per_sample_and_differentiable():
    head = MMC(3, 2, norm=2.0)
    loss_fn = per_sample_loss(head)
    z = torch.randn(4, 2, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0])
    losses = loss_fn(z, y)
    assert losses.shape == (4,)
    assert torch.allclose(losses, 0.5 * (z - head.centers[y]).pow(2).sum(dim=1))
    (gradient,) = torch.autograd.grad(losses.sum(), z)
    assert torch.allclose(gradient, z - head.centers[y])


def test_cross_entropy_per_sample_matches_cross_entropy_and_keeps_tiny_losses_apart():
    torch.manual_seed(0)
    h, y = torch.randn(20, 4, dtype=torch.float64), torch.randint(0, 4, (20,))
    expected = torch.nn.functional.cross_entropy(h, y, reduction="none")
    assert torch.allclose(cross_entropy_per_sample(h, y), expected, atol=1e-12)
    confident = torch.tensor([[60.0, 0.0, 0.0], [80.0, 0.0, 0.0]], dtype=torch.float64)
    labels = torch.zeros(2, dtype=torch.long)
    assert (
        torch.nn.functional.cross_entropy(confident, labels, reduction="none") == 0
    ).all()  # rounded away
    tiny = cross_entropy_per_sample(confident, labels)
    assert torch.allclose(
        tiny, 2 * torch.exp(torch.tensor([-60.0, -80.0], dtype=torch.float64)), rtol=1e-12
    )


def test_float64_per_sample_loss_gives_each_samples_own_term():
    objective = make_objective("sce", 4, 2)
    z, y = torch.randn(9, 2), torch.randint(0, 4, (9,))
    losses = per_sample_loss(objective, float64=True)(z, y)
    assert losses.dtype == torch.float64
    assert torch.allclose(losses.float(), F.cross_entropy(objective(z), y, reduction="none"))
    center = make_objective("center", 4, 2)
    assert torch.allclose(
        per_sample_loss(center, float64=True)(z, y).float(),
        torch.stack(
            [center.loss(z[i : i + 1], center(z[i : i + 1]), y[i : i + 1]) for i in range(9)]
        ),
    )


def test_float64_per_sample_loss_keeps_tiny_softmax_losses_apart():
    """Far from the boundary float32 rounds SCE losses to 0; the float64 form keeps them apart."""
    objective = make_objective("sce", 3, 2)
    # fixed head (not the random init): class 0's logit grows fastest along z_1
    with torch.no_grad():
        objective.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 0.0], [0.0, 0.0]]))
        objective.linear.bias.zero_()
    z = torch.linspace(200, 400, 50)[:, None] * torch.tensor([[1.0, 0.0]])
    logits = objective(z)
    y = logits.argmax(1)  # every point is class 0 with margin >= 100: losses far below 1e-7
    assert (y == 0).all()
    assert (F.cross_entropy(logits, y, reduction="none") == 0).sum() > 10
    losses = per_sample_loss(objective, float64=True)(z, y)
    assert (losses > 0).all() and len(torch.unique(losses)) == 50


@pytest.mark.parametrize("name", ["sce", "center", "lgm", "mmlda", "mmc", "rce"])
def test_per_sample_loss_both_precisions_agree_on_a_float64_head(name):
    """The landscape path and the sample-density path of the per-sample loss agree on float64.

    The landscape path is the objective itself (vmap); the sample-density path is a frozen float64
    copy, exact cross-entropy for softmax heads. They are one function: on a float64 head and
    float64 features they agree.
    """
    torch.manual_seed(0)
    head = make_objective(name, 4, 3).double()
    z, y = 3 * torch.randn(50, 3, dtype=torch.float64), torch.randint(0, 4, (50,))
    landscape = per_sample_loss(head)(z, y)
    density = per_sample_loss(head, float64=True)(z, y)
    by_hand = torch.stack(
        [head.loss(z[i : i + 1], head(z[i : i + 1]), y[i : i + 1]) for i in range(50)]
    )
    assert landscape.dtype == density.dtype == torch.float64
    assert torch.allclose(landscape, by_hand, rtol=1e-12, atol=1e-12)
    # softmax heads: softplus(logsumexp of margins) against logsumexp(h) - h_y, rounded apart on
    # logits ~ 1e3
    assert torch.allclose(density, by_hand, rtol=1e-9, atol=1e-12)


def test_float64_per_sample_loss_is_a_frozen_copy_and_keeps_the_callers_head():
    head = make_objective("mmc", 3, 2)
    loss_fn = per_sample_loss(head, float64=True)
    z, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])
    before = loss_fn(z, y)
    with torch.no_grad():
        head.centers.mul_(2.0)  # changing the caller's head later does not move the measured losses
    assert torch.equal(loss_fn(z, y), before)
    assert head.centers.dtype == torch.float32
    point = z.double().requires_grad_(True)
    (gradient,) = torch.autograd.grad(loss_fn(point, y).sum(), point)
    assert torch.isfinite(gradient).all()


def test_per_sample_loss_passes_callables_through_and_rejects_the_rest():
    fn = lambda z, y: z.sum(1)  # noqa: E731
    assert per_sample_loss(fn) is fn and per_sample_loss(fn, float64=True) is fn
    with pytest.raises(ValueError, match="Objective or a callable"):
        per_sample_loss(3.0)


# ------------------------------------------------- against the authors' code, written out in NumPy


def numpy_log_softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_mm_logits_and_losses_match_numpy_on_a_random_batch(dtype, factor):
    """The authors' ``train.py``: logits -||z - mu_k||^2 (factor 1), MMC = dot_loss on them, MMLDA =
    cross-entropy on their log-softmax; the paper's factor 1/2 scales the logits."""
    g = torch.Generator().manual_seed(0)
    z = (5 * torch.randn(17, 9, generator=g)).to(dtype)
    y = torch.randint(0, 10, (17,), generator=g)
    mu = mm_centers(10, 9, 10.0).to(dtype)
    zn, mn, yn = z.double().numpy(), mu.double().numpy(), y.numpy()
    logits = -factor * ((zn[:, None, :] - mn[None]) ** 2).sum(-1)
    rows = np.arange(17)
    tol = dict(rtol=1e-12) if dtype == torch.float64 else dict(rtol=1e-6)
    head = MMC(10, 9, norm=10.0, factor=factor).to(dtype)
    np.testing.assert_allclose(head(z).double().numpy(), logits, **tol)
    mmc = -logits[rows, yn].mean()
    np.testing.assert_allclose(mmc_loss(z, y, mu, factor).item(), mmc, **tol)
    np.testing.assert_allclose(head.loss(z, head(z), y).item(), mmc, **tol)
    mmlda = -numpy_log_softmax(logits)[rows, yn].mean()
    np.testing.assert_allclose(mmlda_loss(z, y, mu, factor).item(), mmlda, **tol)
    lda = MMLDA(10, 9, norm=10.0, factor=factor).to(dtype)
    np.testing.assert_allclose(lda.loss(z, lda(z), y).item(), mmlda, **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rce_loss_matches_the_authors_expression(dtype):
    """``resnet_model_cifar.py``: (sum_i onehot_i log p_i - sum_i log p_i) / (L - 1)."""
    g = torch.Generator().manual_seed(1)
    h = (4 * torch.randn(23, 10, generator=g)).to(dtype)
    y = torch.randint(0, 10, (23,), generator=g)
    log_p = numpy_log_softmax(h.double().numpy())
    expected = ((log_p[np.arange(23), y.numpy()] - log_p.sum(1)) / 9).mean()
    np.testing.assert_allclose(
        rce_loss(h, y).item(), expected, rtol=1e-12 if dtype == torch.float64 else 1e-6
    )
    head = RCE(10, 4)
    z = torch.randn(5, 4, generator=g)
    assert torch.equal(head.loss(z, h, y), rce_loss(h, y))
