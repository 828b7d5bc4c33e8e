import math

import numpy as np
import pytest
import torch
from torch import nn

from robviz import detect
from robviz.attacks import FGSM
from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.train import fit


class FixedFeatures(nn.Module):
    """A stand-in model: the input *is* the feature (N, 2); logits are a fixed linear map of it."""

    def __init__(self, weight, name="sce"):
        super().__init__()
        self.weight = torch.as_tensor(weight, dtype=torch.float32)
        self.objective = type("Head", (), {"name": name})()

    def features(self, x):
        return x

    def forward(self, x):
        return x @ self.weight.T


def reference_non_me(p):
    out = []
    for row in p:
        top = row.argmax()
        rest = np.delete(row, top)
        hat = rest / rest.sum()
        out.append(-sum(q * math.log(q) for q in hat if q > 0))
    return np.array(out)


def test_non_max_entropy_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 6)) * 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(
        detect.non_max_entropy(p), reference_non_me(p), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        detect.non_max_entropy(torch.tensor(p)), reference_non_me(p), rtol=1e-10
    )


def test_non_max_entropy_is_maximal_for_uniform_non_max_probabilities():
    L = 10
    p = np.full((1, L), 0.05 / (L - 1))
    p[0, 3] = 0.95
    assert detect.non_max_entropy(p)[0] == pytest.approx(math.log(L - 1), rel=1e-12)
    q = p.copy()
    q[0, 0], q[0, 1] = q[0, 0] * 1.5, q[0, 1] * 0.5
    assert detect.non_max_entropy(q)[0] < math.log(L - 1)
    one_hot = np.eye(L)[[2]]
    assert detect.non_max_entropy(one_hot)[0] == pytest.approx(
        math.log(L - 1)
    )  # 0/0 -> uniform by convention


def test_non_max_entropy_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, L\)"):
        detect.non_max_entropy(np.ones(5))
    with pytest.raises(ValueError, match="L >= 3"):
        detect.non_max_entropy(np.ones((4, 2)) / 2)


def test_confidence_and_non_me_scores_use_the_model_output():
    model = FixedFeatures(torch.eye(3))
    x = torch.tensor([[5.0, 0.0, 0.0], [1.0, 1.0, 0.9]])
    p = torch.softmax(x, 1).numpy()
    np.testing.assert_allclose(detect.confidence(model, x), p.max(1), rtol=1e-6)
    np.testing.assert_allclose(
        detect.non_max_entropy_score(model, x), reference_non_me(p), rtol=1e-5
    )


def test_kernel_density_uses_the_predicted_class_kernel_points():
    # Class 0 lives at (+3, 0), class 1 at (-3, 0), class 2 at (0, +3); the logits are z itself (3
    # classes of 2-D).
    w = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    model = FixedFeatures(w)
    x_train = torch.tensor(
        [[3.0, 0.0], [3.0, 0.2], [-3.0, 0.0], [-3.0, 0.2], [0.0, 3.0], [0.2, 3.0]]
    )
    y_train = torch.tensor([0, 0, 1, 1, 2, 2])
    kd = detect.KernelDensity(sigma2=1.0).fit(model, x_train, y_train)
    assert kd.sigma2_ == 1.0 and set(kd.kernel_points) == {0, 1, 2}
    x = torch.tensor([[3.0, 0.1], [2.0, 0.0]])  # both predicted as class 0
    expected = [
        math.log(np.mean([math.exp(-((p[0] - 3) ** 2 + (p[1] - q) ** 2)) for q in (0.0, 0.2)]))
        for p in x.tolist()
    ]
    np.testing.assert_allclose(kd(model, x), expected, rtol=1e-6)
    # Far from its predicted class's points, a point near *another* class's points still scores low.
    far = torch.tensor(
        [[0.5, 2.9]]
    )  # predicted class 2 (logit 2.9): near class 2's points, high density
    near_wrong = torch.tensor(
        [[3.0, 3.05]]
    )  # predicted class 2 but sitting at class 0 shifted: low
    assert kd(model, far)[0] > kd(model, near_wrong)[0]
    # The log-sum-exp keeps far points finite (no ties at density 0).
    assert np.isfinite(kd(model, torch.tensor([[300.0, 0.0]]))).all()


def test_kernel_density_default_bandwidths_are_the_authors():
    assert detect.kd_bandwidth("rce") == pytest.approx(0.1 / 0.26)
    assert detect.kd_bandwidth("sce") == pytest.approx(1 / 0.26)
    kd = detect.KernelDensity().fit(
        FixedFeatures(torch.eye(3)[:, :2], name="rce"),
        torch.zeros(4, 2),
        torch.tensor([0, 1, 2, 2]),
    )
    assert kd.sigma2 is None and kd.sigma2_ == pytest.approx(0.1 / 0.26)
    # Refit on a model of another objective: that objective's default, not the first one's.
    kd.fit(
        FixedFeatures(torch.eye(3)[:, :2], name="sce"),
        torch.zeros(4, 2),
        torch.tensor([0, 1, 2, 2]),
    )
    assert kd.sigma2_ == pytest.approx(1 / 0.26)
    # A class without kernel points would score every input predicted as it log 0 = -inf: refused at
    # fit.
    with pytest.raises(ValueError, match=r"no sample of class\(es\) \[2\]"):
        detect.KernelDensity().fit(
            FixedFeatures(torch.eye(3)[:, :2], name="rce"),
            torch.zeros(4, 2),
            torch.tensor([0, 0, 1, 1]),
        )
    with pytest.raises(ValueError, match="sigma2"):
        detect.KernelDensity(sigma2=-1.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        detect.KernelDensity().score(FixedFeatures(torch.eye(2)), torch.zeros(1, 2))


def test_lid_of_a_uniform_cloud_is_close_to_its_dimension():
    torch.manual_seed(0)
    for dim in (2, 5):
        reference = torch.rand(4000, dim)
        z = torch.rand(200, dim) * 0.5 + 0.25  # interior points, away from the cube's faces
        lid = detect.lid_mle(z, reference, k=20)
        assert abs(lid.mean().item() - dim) < 0.25 * dim
    with pytest.raises(ValueError, match="k must"):
        detect.lid_mle(torch.zeros(3, 2), torch.zeros(5, 2), k=10)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        detect.lid_mle(torch.zeros(3, 2), torch.zeros(50, 3))


def test_lid_detector_scores_off_manifold_points_lower():
    torch.manual_seed(0)
    model = FixedFeatures(torch.eye(3))
    reference = torch.randn(500, 3) * torch.tensor([1.0, 1.0, 0.0])  # a plane in 3-D
    lid = detect.LID(k=20, reference_size=400).fit(model, reference)
    on = torch.randn(100, 3) * torch.tensor([1.0, 1.0, 0.0])
    off = on + torch.tensor([0.0, 0.0, 1.0])
    assert detect.roc_auc(lid(model, on), lid(model, off)) > 0.9


def test_roc_auc_of_separated_scores_is_one_and_reversed_is_zero():
    clean, adv = np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.2])
    assert detect.roc_auc(clean, adv) == 1.0
    assert detect.roc_auc(adv, clean) == 0.0
    assert detect.roc_auc(np.ones(4), np.ones(4)) == 0.5
    fpr, tpr, _ = detect.roc_curve(clean, adv)
    assert fpr[0] == 0 and tpr[-1] == 1 and fpr[-1] == 1
    with pytest.raises(ValueError, match="1-D"):
        detect.roc_auc(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="at least one"):
        detect.roc_auc(np.ones(2), np.array([]))


def test_detection_pairs_and_scores_follow_the_paper_protocol():
    data = gaussian_mixture(num_classes=3, n_per_class=40, seed=0)
    model = make_model(data, "rce", seed=0)
    fit(model, data, steps=60, progress=False)
    x, y = data.x_test, data.y_test
    result = FGSM(model, eps=0.5, bounds=data.bounds).run(x, y)
    pairs = detect.detection_pairs(model, x, y, result)
    correct = model.predict(x) == y
    assert torch.equal(pairs.correct, correct)
    assert torch.equal(pairs.pairs, correct & result.success)
    assert pairs.count == int((correct & result.success).sum()) > 0
    scores = detect.detection_scores(
        {"conf": detect.confidence, "non-ME": detect.non_max_entropy_score}, model, x, y, result
    )
    assert all(len(c) == len(a) == pairs.count for c, a in scores.values())
    with pytest.raises(ValueError, match="same samples"):
        detect.detection_pairs(model, x[:-1], y, result)


def authors_non_me(p):
    """The RCE authors' ``test_adv.py``: sum(-log p * p * mask) / S + log S, S the non-max mass."""
    mask = 1.0 - np.eye(p.shape[1])[p.argmax(1)]
    s = (p * mask).sum(1)
    return (-np.log(p) * p * mask).sum(1) / s + np.log(s)


def test_non_max_entropy_matches_the_authors_expression():
    logits = np.random.default_rng(1).normal(size=(40, 10)) * 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(detect.non_max_entropy(p), authors_non_me(p), rtol=1e-12)
    np.testing.assert_allclose(detect.non_max_entropy_logits(logits), authors_non_me(p), rtol=1e-12)


@pytest.mark.parametrize("name", ["rce", "sce"])
def test_kernel_density_is_the_authors_matlab_formula_with_their_bandwidth(name):
    """``auc_of_roc_RCE.m``: mean(exp(-sum((z - z_i).^2) / sigma2)) over the kernel points of the
    predicted class, sigma2 = 0.1/0.26 (RCE) or 1/0.26 (CE)."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4, 3, generator=g)
    model = FixedFeatures(w, name=name)
    x_train = torch.randn(200, 3, generator=g)
    y_train = (x_train @ w.T).argmax(1)
    kd = detect.KernelDensity().fit(model, x_train, y_train)  # 1000 per class: all of them
    x = torch.randn(30, 3, generator=g)
    sigma2 = {"rce": 0.1 / 0.26, "sce": 1.0 / 0.26}[name]
    z_train, labels = x_train.double().numpy(), y_train.numpy()
    expected = [
        math.log(np.mean(np.exp(-((z_train[labels == k] - q) ** 2).sum(1) / sigma2)))
        for q, k in zip(x.double().numpy(), (x @ w.T).argmax(1).tolist())
    ]
    np.testing.assert_allclose(kd(model, x), expected, rtol=1e-10)


def authors_auc(clean, adversarial):
    """The RCE authors' ``Matlab_scripts/AUC.m``: rank sum after a stable sort, clean first."""
    scores = np.concatenate([clean, adversarial])
    is_clean = np.arange(len(scores)) < len(clean)
    order = np.argsort(scores, kind="stable")
    rank_sum = (np.flatnonzero(is_clean[order]) + 1).sum()
    m, n = len(clean), len(adversarial)
    return (rank_sum - m * (m + 1) / 2) / (m * n)


def test_roc_auc_counts_pairs_and_the_authors_convention_counts_ties_as_zero():
    rng = np.random.default_rng(0)
    clean, adv = rng.normal(size=50).round(1), (rng.normal(size=40) - 0.5).round(1)  # with ties
    pairs = clean[:, None] - adv[None, :]
    assert detect.roc_auc(clean, adv) == pytest.approx(
        (pairs > 0).mean() + 0.5 * (pairs == 0).mean()
    )
    assert detect.roc_auc(clean, adv, ties="authors") == pytest.approx(authors_auc(clean, adv))
    assert detect.roc_auc(clean, adv, ties="authors") == pytest.approx((pairs > 0).mean())
    # saturated confidences: the docstring's example
    saturated = np.r_[np.ones(60), np.full(40, 0.9)]
    assert detect.roc_auc(np.ones(100), saturated) == pytest.approx(0.7)
    assert detect.roc_auc(np.ones(100), saturated, ties="authors") == pytest.approx(0.4)
    assert authors_auc(np.ones(100), saturated) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="ties"):
        detect.roc_auc(clean, adv, ties="average")


def test_detection_pairs_judge_a_surrogates_examples_by_the_model_scored():
    # A result of an attack on another model (a surrogate) carries that model's successes: the
    # pairs then held adversarial inputs the scored model still classifies correctly (digits, PGD
    # at eps 0.1 on SCE, scored on RCE: 149 pairs, of which 53 fool RCE).
    data = gaussian_mixture(num_classes=3, n_per_class=40, seed=0)
    model, surrogate = make_model(data, "rce", seed=0), make_model(data, "sce", seed=1)
    fit(model, data, steps=150, progress=False)
    fit(surrogate, data, steps=150, progress=False)
    x, y = data.x_test, data.y_test
    result = FGSM(surrogate, eps=1.0, bounds=data.bounds).run(x, y)
    pairs = detect.detection_pairs(model, x, y, result)
    with torch.no_grad():
        fooled = model.eval()(result.x_adv).argmax(1) != y
    assert torch.equal(pairs.success, fooled)


@pytest.mark.parametrize(
    "detector", [detect.KernelDensity(sigma2=1.0), detect.LID(k=3)], ids=["KernelDensity", "LID"]
)
def test_a_detector_refuses_to_score_with_another_model_than_it_was_fitted_on(detector):
    # Another model's features against the fitted one's reference gave numbers that look like
    # scores (kernel densities of -2972 or -850) and mean nothing, before.
    data = gaussian_mixture(num_classes=3, n_per_class=20, seed=0)
    model, other = make_model(data, "rce", seed=0), make_model(data, "rce", seed=1)
    fit = (
        (model, data.x_train, data.y_train)
        if isinstance(detector, detect.KernelDensity)
        else (
            model,
            data.x_train,
        )
    )
    detector.fit(*fit)
    assert detector.score(model, data.x_test[:5]).shape == (5,)
    with pytest.raises(ValueError, match="fitted on another model"):
        detector.score(other, data.x_test[:5])
    detector.fit(other, *fit[1:])  # refitted on the other model: now that one scores
    assert detector.score(other, data.x_test[:5]).shape == (5,)
