"""Tests of robviz.attacks: agreement with independent code, budgets, bounds, targets, model state.

Tiny models are trained once per module; torch runs on one thread here (tiny models are faster that
way).
"""

import math
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robviz.attacks import (
    APGD,
    BIM,
    CW,
    EAD,
    FGSM,
    ILCM,
    JSMA,
    MIM,
    PGD,
    SPSA,
    Attack,
    DeepFool,
    auto_objective,
    cross_entropy_objective,
    least_likely,
    margin_objective,
    mmc_objective,
    paper_objective,
)
from robviz.data import digits, gaussian_mixture
from robviz.models import make_model
from robviz.train import fit


@pytest.fixture(scope="module")
def toy():
    """Three Gaussian blobs and an undefended (SCE), an MMC and an RCE model trained on them."""
    data = gaussian_mixture(num_classes=3, n_per_class=60)
    models = {}
    for name in ("sce", "mmc", "rce"):
        models[name] = make_model(data, name)
        fit(models[name], data, steps=150, progress=False, record_every=0)
    return data, models


@pytest.fixture(scope="module")
def digit_model():
    data = digits()
    model = make_model(data, "sce", feature_dim=16)
    fit(model, data, steps=60, batch_size=128, progress=False, record_every=0)
    return data, model


@pytest.fixture(scope="module")
def linear():
    """An affine 3-class classifier on 2-D points, with exact distances to its decision boundary.

    The distances are L2 and L1.
    """
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    x = torch.rand(40, 2) * 4 - 2
    with torch.no_grad():
        f = model(x)
    y = f.argmax(1)
    w = model.weight.detach()
    exact = {"L2": [], "L1": []}
    for n in range(len(x)):
        others = [k for k in range(3) if k != y[n]]
        gap = [(f[n, y[n]] - f[n, k]).item() for k in others]
        exact["L2"].append(min(g / (w[y[n]] - w[k]).norm().item() for g, k in zip(gap, others)))
        exact["L1"].append(
            min(g / (w[y[n]] - w[k]).abs().max().item() for g, k in zip(gap, others))
        )  # dual norm
    return model, x, y, {k: torch.tensor(v) for k, v in exact.items()}


# -------------------------------------------------------------------- independent reference attacks


def reference_gradient(model, x_i, label, targeted):
    """Gradient of -log softmax(model(x_i))_label for one sample, the ascent direction.

    Negated when targeted.
    """
    x_i = x_i.detach().clone().requires_grad_(True)
    log_p = torch.log_softmax(model(x_i[None]), dim=1)[0, label]
    (grad,) = torch.autograd.grad(log_p if targeted else -log_p, x_i)
    return grad


def reference_pgd(model, x, labels, eps, alpha, steps, bounds, norm="Linf", targeted=False):
    """PGD without random start, one sample at a time, written from the paper's equations."""
    out = []
    for x0, label in zip(x, labels):
        x_i = x0.clone()
        for _ in range(steps):
            g = reference_gradient(model, x_i, label, targeted)
            if norm == "Linf":
                x_i = torch.minimum(torch.maximum(x_i + alpha * torch.sign(g), x0 - eps), x0 + eps)
            else:
                delta = x_i + alpha * g / g.norm() - x0
                if delta.norm() > eps:
                    delta = delta * (eps / delta.norm())
                x_i = x0 + delta
            x_i = torch.minimum(
                torch.maximum(x_i, torch.tensor(bounds[0])), torch.tensor(bounds[1])
            )
        out.append(x_i)
    return torch.stack(out)


def reference_fgsm(model, x, labels, eps, bounds, targeted=False):
    return torch.stack(
        [
            torch.clamp(
                x0 + eps * torch.sign(reference_gradient(model, x0, label, targeted)), *bounds
            )
            for x0, label in zip(x, labels)
        ]
    )


def test_fgsm_matches_reference(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    target = (y + 1) % 3
    for eps in (0.1, 0.6):
        ours = FGSM(model, eps=eps, bounds=data.bounds)(x, y)
        assert torch.allclose(
            ours, reference_fgsm(model, x, y, eps, data.bounds), atol=1e-6, rtol=0
        )
        ours = FGSM(model, eps=eps, bounds=data.bounds, targeted=True)(x, y, target)
        assert torch.allclose(
            ours, reference_fgsm(model, x, target, eps, data.bounds, True), atol=1e-6, rtol=0
        )


@pytest.mark.parametrize("norm, eps, alpha", [("Linf", 0.5, 0.1), ("L2", 0.7, 0.15)])
@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_matches_reference(toy, norm, eps, alpha, targeted):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    target = (y + 2) % 3
    attack = PGD(
        model,
        eps=eps,
        alpha=alpha,
        steps=10,
        random_start=False,
        norm=norm,
        bounds=data.bounds,
        targeted=targeted,
    )
    ours = attack(x, y, target) if targeted else attack(x, y)
    theirs = reference_pgd(
        model, x, target if targeted else y, eps, alpha, 10, data.bounds, norm, targeted
    )
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    assert (ours != x).any()


def test_pgd_matches_reference_on_images(digit_model):
    data, model = digit_model
    x, y = data.x_test[:20], data.y_test[:20]
    ours = PGD(model, eps=8 / 255, alpha=2 / 255, steps=5, random_start=False)(x, y)
    assert (ours != x).flatten(1).any(dim=1).all()  # x itself would match a reference that fails
    assert torch.allclose(
        ours, reference_pgd(model, x, y, 8 / 255, 2 / 255, 5, (0.0, 1.0)), atol=1e-6, rtol=0
    )


def test_iterates_keep_the_layout_of_x_and_leave_the_start_alone(digit_model):
    # one-channel images in channels-last strides (how the digits come): a clamp's own output is
    # plain NCHW, which would move every step after the first to other convolution kernels
    data, model = digit_model
    clean, y = data.x_test[:16], data.y_test[:16]
    x = torch.empty_strided(clean.shape, (64, 1, 8, 1)).copy_(clean)
    plain = clean.clone(memory_format=torch.contiguous_format)  # NCHW strides (64, 64, 8, 1)
    assert x.stride() != plain.stride()
    for attack in (
        PGD(model, eps=8 / 255, alpha=2 / 255, steps=3, random_start=False),
        PGD(model, eps=0.5, alpha=0.1, steps=3, random_start=False, norm="L2"),
        MIM(model, eps=8 / 255, alpha=2 / 255, steps=3),
    ):
        x_adv = attack(x, y)
        assert x_adv.stride() == x.stride() and (x_adv != x).any(), attack
        assert attack(plain, y).stride() == plain.stride(), attack
    pgd = PGD(model, eps=8 / 255, alpha=2 / 255, steps=3)
    start = (x + 4 / 255).clamp(0, 1)
    before = start.clone()
    pgd.iterate(x, start, y)
    assert torch.equal(start, before)


def test_matches_torchattacks(digit_model, torchattacks):
    data, model = digit_model
    x, y = data.x_test[:32], data.y_test[:32]
    pairs = [
        (FGSM(model, eps=8 / 255), torchattacks.FGSM(model, eps=8 / 255)),
        (
            PGD(model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False),
            torchattacks.PGD(model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=False),
        ),
        (
            PGD(model, eps=0.5, alpha=0.1, steps=10, random_start=False, norm="L2"),
            torchattacks.PGDL2(model, eps=0.5, alpha=0.1, steps=10, random_start=False),
        ),
        (
            MIM(model, eps=8 / 255, alpha=2 / 255, steps=10),
            torchattacks.MIFGSM(model, eps=8 / 255, alpha=2 / 255),
        ),
    ]
    for ours, theirs in pairs:
        x_adv = ours(x, y)
        assert (x_adv != x).any() and torch.allclose(x_adv, theirs(x, y), atol=1e-6, rtol=0), type(
            ours
        ).__name__
    target = (y + 1) % 10
    theirs = torchattacks.PGD(model, eps=16 / 255, alpha=2 / 255, steps=10, random_start=False)
    theirs.set_mode_targeted_by_label(quiet=True)
    ours = PGD(model, eps=16 / 255, alpha=2 / 255, steps=10, random_start=False, targeted=True)
    assert torch.allclose(ours(x, y, target), theirs(x, target), atol=1e-6, rtol=0)


# ------------------------------------------------------ minimal-perturbation attacks: exact answers


def test_deepfool_is_exact_on_an_affine_classifier(linear):
    model, x, y, exact = linear
    result = DeepFool(model, overshoot=0.02, bounds=(-5, 5)).run(x, y)
    assert result.success.all()
    # One linearization is exact: ||r|| = (|f| + 1e-4) / ||w|| * (1 + overshoot).
    norms = result.perturbation_norm("L2")
    assert torch.allclose(norms, 1.02 * exact["L2"], rtol=1e-3, atol=2e-4)


def test_deepfool_binary_closed_form():
    torch.manual_seed(1)
    w, b = torch.randn(5), torch.randn(())
    model = nn.Linear(5, 2)
    with torch.no_grad():  # logits (w.x + b, 0): the boundary is the hyperplane w.x + b = 0
        model.weight.copy_(torch.stack([w, torch.zeros(5)]))
        model.bias.copy_(torch.stack([b, torch.zeros(())]))
    x = torch.randn(30, 5)
    y = model(x).argmax(1)
    result = DeepFool(model, overshoot=0.0, bounds=(-20, 20)).run(x, y)
    distance = (x @ w + b).abs() / w.norm()
    assert result.success.all()
    assert torch.allclose(result.perturbation_norm("L2"), distance, rtol=1e-3, atol=2e-4)


def test_cw_is_close_to_the_exact_distance(linear):
    model, x, y, exact = linear
    result = CW(model, bounds=(-4, 4)).run(x, y)
    assert result.success.all()
    ratio = result.perturbation_norm("L2") / exact["L2"]
    far = exact["L2"] > 0.05  # Adam's granularity dominates the tiny distances
    assert ratio.min() > 1 - 1e-3  # no adversarial is closer than the boundary
    assert ratio[far].max() < 1.1


def test_ead_finds_sparse_l1_perturbations(linear):
    model, x, y, exact = linear
    ead = EAD(model, beta=0.1, decision="L1", bounds=(-4, 4)).run(x, y)
    cw = CW(model, bounds=(-4, 4)).run(x, y)
    assert ead.success.all()
    ratio = ead.perturbation_norm("L1") / exact["L1"]
    assert ratio.min() > 1 - 1e-3 and ratio.median() < 1.1
    assert (
        ead.perturbation_norm("L0").mean() < cw.perturbation_norm("L0").mean() - 0.5
    )  # sparser than C&W


def test_jsma_changes_few_pixels(digit_model):
    data, model = digit_model
    x, y = data.x_test[:40], data.y_test[:40]
    result = JSMA(model, theta=1.0, gamma=0.2).run(x, y)
    changed = result.perturbation_norm("L0")
    assert changed.max() <= int(0.2 * 64)
    assert (
        result.x_adv >= x
    ).all() and result.x_adv.max() <= 1.0  # theta > 0 only increases pixels
    assert result.success_rate > 0.5
    assert (result.prediction[result.success] == result.target[result.success]).all()
    assert (result.target != y).all()


def test_jsma_searches_pairs_in_chunks_as_in_one_go(digit_model):
    data, model = digit_model
    x, y = data.x_test[:20], data.y_test[:20]
    whole = JSMA(model, theta=1.0, gamma=0.2).run(x, y)
    chunked = JSMA(model, theta=1.0, gamma=0.2)
    chunked.pair_scores_at_once = 1  # one sample at a time
    assert (whole.x_adv != x).flatten(1).any(dim=1).all()  # both unchanged would agree too
    assert torch.equal(chunked.run(x, y).x_adv, whole.x_adv)


def test_jsma_best_pair_is_the_brute_force_best(digit_model):
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 7, generator=generator), torch.randn(5, 7, generator=generator)
    domain = torch.rand(5, 7, generator=generator) > 0.3
    first, second, found = JSMA(digit_model[1])._best_pairs(a, b, domain)
    for k in range(5):
        scores = {
            (i, j): (a[k, i] + a[k, j]) * -(b[k, i] + b[k, j])
            for i in range(7)
            for j in range(7)
            if i != j
            and domain[k, i]
            and domain[k, j]
            and a[k, i] + a[k, j] > 0
            and b[k, i] + b[k, j] < 0
        }
        assert bool(found[k]) == bool(scores)
        if scores:
            assert torch.isclose(scores[int(first[k]), int(second[k])], max(scores.values()))


def test_jsma_best_pair_skips_only_features_that_cannot_qualify(digit_model):
    # The search keeps the features that can be in a qualifying pair (a_i > -max a, -b_i > -max -b):
    # a sample without any (empty domain, or every a negative) finds nothing, the others find the
    # brute-force best over all D^2 pairs.
    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 9, generator=generator), torch.randn(4, 9, generator=generator)
    domain = torch.ones(4, 9, dtype=torch.bool)
    domain[0] = False
    a[1] = -a[1].abs()
    first, second, found = JSMA(digit_model[1])._best_pairs(a, b, domain)
    assert found.tolist() == [False, False, True, True]
    for k in (2, 3):
        pair = (a[k, :, None] + a[k, None, :]).clamp(min=0) * (
            -(b[k, :, None] + b[k, None, :])
        ).clamp(min=0)
        pair.fill_diagonal_(0)
        assert pair[first[k], second[k]] == pair.max() > 0


def test_spsa_is_about_as_strong_as_pgd_without_gradients(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    pgd = PGD(model, eps=1.0, alpha=0.1, steps=20, bounds=data.bounds).run(x, y).success_rate
    spsa = SPSA(model, eps=1.0, lr=0.25, steps=20, bounds=data.bounds).run(x, y).success_rate
    noise = (
        (
            model(
                (x + 2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) - 1).clamp(
                    *data.bounds
                )
            ).argmax(1)
            != y
        )
        .float()
        .mean()
        .item()
    )
    assert pgd > 0.4 and abs(spsa - pgd) <= 0.2
    assert spsa > noise + 0.3


# ------------------------------------------------------------------------- budgets, bounds, targets


def every_attack(model, bounds, eps, jsma_gamma=0.1):
    return {
        "FGSM": FGSM(model, eps=eps, bounds=bounds),
        "PGD": PGD(model, eps=eps, alpha=eps / 4, bounds=bounds),
        "PGD-L2": PGD(model, eps=eps, alpha=eps / 4, norm="L2", bounds=bounds),
        "BIM": BIM(model, eps=eps, bounds=bounds),
        "ILCM": ILCM(model, eps=eps, bounds=bounds),
        "MIM": MIM(model, eps=eps, bounds=bounds),
        "SPSA": SPSA(model, eps=eps, lr=eps / 4, samples=32, bounds=bounds),
        "CW": CW(model, steps=30, binary_steps=4, bounds=bounds),
        "EAD": EAD(model, steps=30, binary_steps=4, bounds=bounds),
        "DeepFool": DeepFool(model, bounds=bounds),
        "JSMA": JSMA(model, gamma=jsma_gamma, bounds=bounds),
    }


@pytest.mark.parametrize("where", ["toy", "digits"])
def test_every_attack_respects_its_budget_and_the_bounds(toy, digit_model, where):
    if where == "toy":
        data, model, eps = toy[0], toy[1]["sce"], 0.5
    else:
        (data, model), eps = digit_model, 16 / 255
    x, y = data.x_test[:30], data.y_test[:30]
    low, high = data.bounds
    # JSMA on 2-D inputs: gamma = 1 allows its one pair (0.1 would allow none and is refused).
    for name, attack in every_attack(
        model, data.bounds, eps, 1.0 if where == "toy" else 0.1
    ).items():
        result = attack.run(x, y)
        assert result.x_adv.shape == x.shape and result.success.dtype == torch.bool, name
        assert result.x_adv.min() >= low and result.x_adv.max() <= high, name
        if hasattr(attack, "eps"):
            assert result.perturbation_norm(attack.norm).max() <= eps + 1e-6, name
        with torch.no_grad():
            assert torch.equal(result.prediction, model(result.x_adv).argmax(1)), name


def test_targeted_attacks_reach_the_target(toy):
    data, models = toy
    x, y, model, bounds = data.x_test, data.y_test, models["sce"], data.bounds
    target = (y + 1) % 3
    attacks = [
        PGD(model, eps=2.0, alpha=0.25, steps=20, bounds=bounds, targeted=True),
        PGD(model, eps=3.0, alpha=0.5, steps=20, norm="L2", bounds=bounds, targeted=True),
        BIM(model, eps=2.0, steps=20, bounds=bounds, targeted=True),
        MIM(model, eps=2.0, alpha=0.25, steps=20, bounds=bounds, targeted=True),
        SPSA(model, eps=2.0, lr=0.5, steps=20, bounds=bounds, targeted=True),
        CW(model, bounds=bounds, targeted=True),
        EAD(model, bounds=bounds, targeted=True),
        DeepFool(model, bounds=bounds, targeted=True),
    ]
    for attack in attacks:
        result = attack.run(x, y, target)
        assert torch.equal(result.target, target)
        assert result.success_rate >= 0.9, attack
        assert torch.equal(result.success, result.prediction == target)


def test_ilcm_targets_the_least_likely_class(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    result = ILCM(model, eps=2.0, steps=20, bounds=data.bounds).run(x, y)
    assert torch.equal(result.target, least_likely(model, x))
    assert result.success_rate >= 0.9
    with pytest.raises(ValueError, match="always targeted"):
        ILCM(model, targeted=False, bounds=data.bounds)


def test_random_targets_are_seeded_and_differ_from_y(toy):
    data, models = toy
    x, y = data.x_test, data.y_test
    make = lambda seed: PGD(models["sce"], eps=0.5, bounds=data.bounds, targeted=True, seed=seed)  # noqa: E731
    first, again, other = make(0).run(x, y), make(0).run(x, y), make(1).run(x, y)
    assert (first.target != y).all() and (other.target != y).all()
    assert torch.equal(first.target, again.target) and torch.equal(first.x_adv, again.x_adv)
    assert not torch.equal(first.target, other.target)


# -------------------------------------------------------------------------------- the model's state


class BatchNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
        self.head = nn.Linear(2, 3)
        self.modes = []
        self.register_forward_pre_hook(lambda module, args: module.modes.append(module.training))

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))


def test_attacks_leave_the_model_untouched(toy):
    data = toy[0]
    torch.manual_seed(0)
    model = BatchNormNet()
    model.train()
    model(data.x_train)  # give BatchNorm some statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = data.x_test[:20], data.y_test[:20]
    for name, attack in every_attack(model, data.bounds, 0.5, jsma_gamma=1.0).items():
        model.modes.clear()
        attack.run(x, y, record=True)
        assert model.training, f"{name} did not restore train mode"
        assert model.modes and not any(model.modes), f"{name} ran the model in train mode"
        for key, value in model.state_dict().items():
            assert torch.equal(value, before[key]), f"{name} changed {key}"
        assert all(p.grad is None for p in model.parameters()), (
            f"{name} left gradients on the parameters"
        )
    model.eval()
    PGD(model, eps=0.5, bounds=data.bounds)(x, y)
    assert not model.training


# ---------------------------------------------------------------------------------------- recording


def test_record_returns_the_trajectory(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    result = PGD(model, eps=0.5, alpha=0.1, steps=8, bounds=data.bounds).run(x, y, record=True)
    trajectory = result.trajectory
    assert trajectory.inputs.shape == (9, len(x), 2)
    assert trajectory.features.shape == (9, len(x), 2)
    assert trajectory.objective.shape == (9, len(x))
    assert trajectory.predictions.shape == (9, len(x))
    assert torch.equal(trajectory.predictions[-1], result.prediction)
    assert torch.equal(trajectory.inputs[-1], result.x_adv)
    assert torch.allclose(trajectory.features[-1], model.features(result.x_adv).detach())
    assert torch.allclose(
        trajectory.objective[-1], cross_entropy_objective(model, result.x_adv, y).detach()
    )
    assert (
        trajectory.objective[-1].mean() > trajectory.objective[0].mean()
    )  # untargeted: the loss goes up
    assert PGD(model, bounds=data.bounds).run(x, y).trajectory is None


def test_record_without_features_and_across_batches(toy):
    data, models = toy
    x, y = data.x_test[:25], data.y_test[:25]
    plain = nn.Sequential(models["sce"].body, models["sce"].objective)  # logits only, no .features
    result = FGSM(plain, eps=0.3, bounds=data.bounds).run(x, y, record=True)
    assert result.trajectory.features is None and result.trajectory.inputs.shape == (2, 25, 2)
    # DeepFool stops early per batch: shorter batches repeat their last frame.
    whole = DeepFool(models["sce"], bounds=data.bounds).run(x, y, record=True)
    batched = DeepFool(models["sce"], bounds=data.bounds, batch_size=6).run(x, y, record=True)
    assert torch.allclose(whole.x_adv, batched.x_adv, atol=1e-5)
    assert batched.trajectory.inputs.shape[1:] == (25, 2)
    assert torch.equal(batched.trajectory.inputs[-1], batched.x_adv)


def test_batching_gives_the_same_result(toy):
    data, models = toy
    x, y = data.x_test, data.y_test
    attack = PGD(models["sce"], eps=0.5, alpha=0.1, random_start=False, bounds=data.bounds)
    batched = PGD(
        models["sce"], eps=0.5, alpha=0.1, random_start=False, bounds=data.bounds, batch_size=7
    )
    # Several batches of 7 with a ragged last one, and an attack that moves every input: two
    # attacks returning x unchanged would agree too.
    assert len(x) > 7 and len(x) % 7 != 0
    whole = attack(x, y)
    assert (whole != x).any(dim=1).all()
    assert torch.allclose(whole, batched(x, y), atol=1e-6)


# --------------------------------------------------------------------------------------- objectives


def test_auto_objective_is_the_adaptive_one(toy):
    data, models = toy
    x, y = data.x_test, data.y_test
    mmc, rce, sce = models["mmc"], models["rce"], models["sce"]
    assert (
        auto_objective(sce) is cross_entropy_objective
        and paper_objective(sce) is cross_entropy_objective
    )
    assert (
        auto_objective(mmc) is margin_objective
    )  # the strongest measured against the exact values
    value = paper_objective(mmc)(mmc, x, y)
    z, centers = mmc.features(x), mmc.objective.centers
    assert torch.allclose(value, 0.5 * (z - centers[y]).pow(2).sum(1))
    assert torch.allclose(
        mmc_objective(centers, factor=1.0)(mmc, x, y), (z - centers[y]).pow(2).sum(1)
    )
    # RCE: model(x) already returns the negated logits, so plain cross-entropy attacks softmax(-h).
    expected = F.cross_entropy(-rce.raw_logits(rce.features(x)), y, reduction="none")
    assert torch.allclose(auto_objective(rce)(rce, x, y), expected)
    assert torch.allclose(paper_objective(rce)(rce, x, y), expected)


def test_mmc_adaptive_attacks_move_features_between_centers(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["mmc"]
    centers = model.objective.centers
    target = (y + 1) % 3
    result = PGD(
        model,
        eps=2.0,
        alpha=0.25,
        steps=20,
        bounds=data.bounds,
        targeted=True,
        loss=paper_objective(model),
    ).run(x, y, target, record=True)
    objective = result.trajectory.objective  # 1/2 ||z - mu_t||^2, pushed down
    assert objective[-1].mean() < 0.8 * objective[0].mean()
    z = result.trajectory.features[-1][result.success]
    assert result.success.sum() >= 5
    assert (
        (z - centers[target[result.success]]).norm(dim=1)
        < (z - centers[y[result.success]]).norm(dim=1)
    ).all()
    # Untargeted: the MMC loss itself (the paper's adaptive attack) beats cross-entropy on the MMC
    # logits.
    adaptive = PGD(
        model, eps=1.5, alpha=0.2, steps=20, bounds=data.bounds, loss=paper_objective(model)
    ).run(x, y, record=True)
    assert adaptive.trajectory.objective[-1].mean() > 2 * adaptive.trajectory.objective[0].mean()
    softmax = PGD(
        model, eps=1.5, alpha=0.2, steps=20, bounds=data.bounds, loss=cross_entropy_objective
    ).run(x, y)
    assert adaptive.success_rate > softmax.success_rate + 0.2


def test_a_custom_objective_is_used(toy):
    data, models = toy
    x, y, model = data.x_test, data.y_test, models["sce"]
    calls = []

    def counting_margin(model, x, labels):
        calls.append(len(x))
        return margin_objective(model, x, labels)

    ours = PGD(
        model, eps=0.5, random_start=False, steps=3, loss=counting_margin, bounds=data.bounds
    )(x, y)
    assert len(calls) == 3
    ce = PGD(model, eps=0.5, random_start=False, steps=3, bounds=data.bounds)(x, y)
    assert not torch.equal(ours, ce)
    with pytest.raises(ValueError, match="one value per input"):
        PGD(model, loss=lambda m, x, t: F.cross_entropy(m(x), t), bounds=data.bounds)(x, y)


# --------------------------------------------------------------------------------------- validation


def test_clear_errors(toy):
    data, models = toy
    model, x, y = models["sce"], data.x_test, data.y_test
    with pytest.raises(ValueError, match=r"\[0, 1\].*8/255"):
        PGD(model, eps=8)
    with pytest.raises(ValueError, match=r"eps must be a finite number >= 0"):
        FGSM(model, eps=-0.1)
    with pytest.raises(ValueError, match=r"unknown norm 'L3'.*'Linf', 'L2'"):
        PGD(model, norm="L3")
    with pytest.raises(
        ValueError, match=r"y must hold one integer class label per input, shape \(54,\)"
    ):
        PGD(model, bounds=data.bounds)(x, y[:10])
    with pytest.raises(ValueError, match="outside bounds"):
        PGD(model)(x, y)  # toy inputs are not in [0, 1]
    with pytest.raises(ValueError, match="untargeted"):
        PGD(model, bounds=data.bounds).run(x, y, target=y)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        PGD(model, steps=0)
    with pytest.raises(ValueError, match="targeted attack"):
        JSMA(model, targeted=False)
    with pytest.raises(ValueError, match="no loss"):
        CW(model, loss=cross_entropy_objective)
    with pytest.raises(ValueError, match="bounds"):
        PGD(model, bounds=(1, 0))
    assert PGD(model, bounds=data).bounds == data.bounds  # a Dataset gives its bounds
    assert repr(PGD(model)).startswith("PGD(") and "eps=0.03137" in repr(PGD(model))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda m: MIM(m, decay=math.inf), "decay"),
        (lambda m: MIM(m, decay="0.5"), "decay"),
        (lambda m: DeepFool(m, overshoot=math.inf), "overshoot"),
        (lambda m: DeepFool(m, overshoot=-0.1), "overshoot"),
        (lambda m: APGD(m, momentum="0.25"), "momentum"),
        (lambda m: APGD(m, momentum=1.0), "momentum"),
    ],
)
def test_hyperparameters_refused_naming_them(toy, make, name):
    # An infinite decay or overshoot once passed (NaN iterates, reported as failures); a string
    # raised a TypeError from the comparison instead of an error naming the argument.
    with pytest.raises(ValueError, match=rf"{name} must be a finite number"):
        make(toy[1]["sce"])


def test_with_eps_copies_the_attack(toy):
    data, models = toy
    attack = PGD(models["sce"], eps=0.25, bounds=data.bounds)
    wider = attack.with_eps(0.5)
    assert wider.eps == 0.5 and attack.eps == 0.25 and wider.alpha == attack.alpha
    with pytest.raises(ValueError, match="no radius"):
        DeepFool(models["sce"], bounds=data.bounds).with_eps(0.5)
    assert isinstance(wider, Attack)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(toy):
    data, models = toy
    x, y = data.x_test, data.y_test
    model = make_model(data, "sce")
    model.load_state_dict(models["sce"].state_dict())
    cpu = PGD(model, eps=0.5, bounds=data.bounds, targeted=True).run(x, y)
    model.cuda()
    gpu = PGD(model, eps=0.5, bounds=data.bounds, targeted=True).run(
        x.cuda(), y.cuda(), record=True
    )
    assert gpu.x_adv.device.type == "cuda" and gpu.trajectory.inputs.device.type == "cpu"
    assert torch.equal(cpu.target, gpu.target.cpu())
    assert torch.allclose(cpu.x_adv, gpu.x_adv.cpu(), atol=1e-4)
    assert math.isclose(cpu.success_rate, gpu.success_rate, abs_tol=0.05)


def test_default_objective_on_mmc_finds_at_least_what_the_papers_finds(toy):
    # auto_objective's choice of the margin for MMC, checked against the exact robust accuracy (2-D
    # inputs)
    from robviz import exact

    data, models = toy
    x, y, model = data.x_test, data.y_test, models["mmc"]
    for eps in (0.5, 1.0):
        truth, _ = exact.robust_accuracy(model, x, y, eps, norm="Linf", bounds=data.bounds)
        found = {}
        for name, loss in (("default", None), ("paper", paper_objective(model))):
            x_adv = PGD(model, eps=eps, alpha=eps / 4, steps=20, bounds=data.bounds, loss=loss)(
                x, y
            )
            found[name] = (
                ((model(x).argmax(1) == y) & (model(x_adv).argmax(1) == y)).float().mean().item()
            )
        assert truth - 1e-6 <= found["default"] <= found["paper"] + 1e-6, (eps, truth, found)


@pytest.mark.parametrize(
    "required, outcome", [("1", pytest.fail.Exception), ("0", pytest.skip.Exception)]
)
def test_a_missing_peer_fails_where_the_comparison_is_required(
    monkeypatch, request, required, outcome
):
    monkeypatch.setitem(sys.modules, "torchattacks", None)  # import torchattacks -> ImportError
    monkeypatch.setenv("ROBVIZ_REQUIRE_TEST_TOOLS", required)
    with pytest.raises(outcome, match="torchattacks is missing"):
        request.getfixturevalue("torchattacks")
