"""robviz against the authors' public code, formula by formula and rule by rule.

Each ``authors_*`` function below is a small NumPy transcription of one computation in the authors'
repositories, written from reading them (file named in its docstring):
P2333/Max-Mahalanobis-Training (MMC, MMLDA), P2333/Reverse-Cross-Entropy (RCE, non-ME, K-density,
AUC), P2333/Adaptive-Diversity-Promoting (ADP) and P2333/Mixup-Inference (MI). robviz is compared
with them on random inputs; where robviz deliberately differs (the paper's factor 1/2, the AUC of
tied scores) the test pins the difference.
"""

import math

import numpy as np
import pytest
import torch

from robviz import detect
from robviz.centers import mm_centers
from robviz.ensemble import adp_regularizer
from robviz.mixup_inference import MixupInference
from robviz.objectives import MMC, MMLDA, RCE
from robviz.scale.optimizers import KerasAdam, KerasSGD, make_optimizer
from robviz.scale.recipes import get_recipe, lr_factor
from robviz.scale.resnet import adp_loss, cifar_resnet

RNG = np.random.default_rng(0)


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- MM centers, MMC, MMLDA


def authors_centers(L, D, mean_var):
    """kernel_paras/craft_MMcenters.m: the recursion, then times mean_var (every center's length).

    Matlab grows the matrix when D = L - 1 (mu_L[L] = 0), hence the spare column.
    """
    mu = np.zeros((L, max(D, L)))
    mu[0, 0] = 1.0
    for k in range(1, L):
        for j in range(k):
            mu[k, j] = -(1 / (L - 1) + mu[k] @ mu[j]) / mu[j, j]
        mu[k, k] = math.sqrt(abs(1 - np.linalg.norm(mu[k]) ** 2))
    return mu[:, :D] * mean_var


def authors_mm_loss(z, y, means, use_ball):
    """train.py: MMLDA_layer, dot_loss, batch mean.

    MMLDA_layer: logits -||z - mu_k||^2, log-softmax when not use_ball.
    """
    logits = -((z[:, None, :] - means[None]) ** 2).sum(-1)
    if not use_ball:
        logits = logits - logits.max(-1, keepdims=True)
        logits = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    onehot = np.eye(means.shape[0])[y]
    return logits, (-(logits * onehot).sum(-1)).mean()


@pytest.mark.parametrize("L, D", [(10, 256), (10, 64), (100, 256), (4, 3)])
def test_mm_centers_match_the_authors(L, D):
    assert np.allclose(
        mm_centers(L, D, 10.0).double().numpy(), authors_centers(L, D, 10), atol=1e-5
    )


@pytest.mark.parametrize("head, use_ball", [(MMC, True), (MMLDA, False)])
def test_mmc_and_mmlda_with_factor_one_are_the_authors_loss(head, use_ball):
    z, y = RNG.normal(0, 4, (16, 64)), RNG.integers(0, 10, 16)
    objective = head(10, 64, norm=10.0, factor=1.0)
    zt, yt = torch.tensor(z, dtype=torch.float32), torch.tensor(y)
    logits, loss = authors_mm_loss(z, y, authors_centers(10, 64, 10), use_ball)
    h = objective(zt)
    assert np.allclose(
        h.double().numpy(),
        -((z[:, None] - authors_centers(10, 64, 10)[None]) ** 2).sum(-1),
        rtol=1e-5,
    )
    assert objective.loss(zt, h, yt).item() == pytest.approx(loss, rel=1e-5)


def test_paper_factor_halves_mmc_and_is_a_temperature_for_mmlda():
    z, y = RNG.normal(0, 4, (16, 64)), RNG.integers(0, 10, 16)
    zt, yt = torch.tensor(z, dtype=torch.float32), torch.tensor(y)
    means = authors_centers(10, 64, 10)
    mmc = MMC(10, 64)  # the default: the paper's 1/2
    assert mmc.loss(zt, mmc(zt), yt).item() == pytest.approx(
        0.5 * authors_mm_loss(z, y, means, True)[1], rel=1e-5
    )
    z = RNG.normal(
        0, 0.1, (16, 64)
    )  # near the origin the softmax is soft: the factor acts as a temperature
    zt, mmlda = torch.tensor(z, dtype=torch.float32), MMLDA(10, 64)
    code = authors_mm_loss(z, y, means, False)[1]
    assert mmlda.loss(zt, mmlda(zt), yt).item() != pytest.approx(0.5 * code, rel=0.05)


def two_sgd_steps(factor, lr, weight_decay):
    """Two momentum-SGD steps on factor * ||W x - mu_y||^2 from a fixed start.

    Constant lr: Keras = PyTorch.
    """
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(3, 5))
    x, mu = torch.randn(8, 5), torch.randn(8, 3)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=0.9, weight_decay=weight_decay)
    for _ in range(2):
        optimizer.zero_grad()
        (factor * (x @ w.T - mu).pow(2).sum(1).mean()).backward()
        optimizer.step()
    return w.detach()


def test_factor_one_half_is_not_a_learning_rate_rescale():
    """robviz's paper default is the code's factor 1 only at lr 0.005 and l2 2e-4.

    The paper default: factor 1/2, lr 0.01, decay 2e-4.
    """
    paper = two_sgd_steps(0.5, 0.01, 2e-4)
    assert torch.allclose(paper, two_sgd_steps(1.0, 0.005, 4e-4), atol=1e-6)
    assert not torch.allclose(paper, two_sgd_steps(1.0, 0.01, 2e-4), atol=1e-4)


# ---------------------------------------------------------------------- RCE, non-ME, K-density, AUC


def authors_rce_cost(logits, y, L):
    """resnet_model_cifar.py costs: (sum labels * log softmax - sum log softmax) / (L - 1).

    Averaged over the batch.
    """
    log_p = np.log(softmax(logits))
    onehot = np.eye(L)[y]
    return ((onehot * log_p).sum(1) - log_p.sum(1)).mean() / (L - 1)


def authors_non_me(predict):
    """test_adv.py: sum -log(p) p over the non-maximal labels / their mass, + log(their mass)."""
    mask = 1.0 - np.eye(predict.shape[1])[predict.argmax(1)]
    mass = (predict * mask).sum(1)
    return (-np.log(predict) * predict * mask).sum(1) / mass + np.log(mass)


def authors_density(feature, kernel_points, sigma2):
    """Matlab_scripts/auc_of_roc_RCE.m: mean(exp(-sum((z - kernel).^2, 2) / sigma2)).

    Over the class's points.
    """
    return np.exp(-((kernel_points - feature) ** 2).sum(1) / sigma2).mean()


def authors_auc(targets, outputs):
    """Matlab_scripts/AUC.m: sort ascending, sum the ranks of the positives.

    Matlab's sort is stable.
    """
    order = np.argsort(outputs, kind="stable")
    M = int((targets == 1).sum())
    N = len(targets) - M
    sigma = sum(i + 1 for i in range(len(order)) if targets[order[i]] == 1)
    return (sigma - (M + 1) * M / 2) / (M * N)


def test_rce_loss_and_prediction_match_the_authors():
    logits, y = RNG.normal(0, 3, (32, 10)), RNG.integers(0, 10, 32)
    head = RCE(10, 8)
    h = torch.tensor(logits, dtype=torch.float32)
    assert head.loss(None, h, torch.tensor(y)).item() == pytest.approx(
        authors_rce_cost(logits, y, 10), rel=1e-5
    )
    # train.py: predictions = argmin of softmax(logits); robviz: argmax of the negated logits
    assert (head.output(h).argmax(1).numpy() == softmax(logits).argmin(1)).all()


def test_non_me_matches_the_authors():
    predict = softmax(RNG.normal(0, 3, (64, 10)))
    assert np.allclose(detect.non_max_entropy(predict), authors_non_me(predict), atol=1e-10)


@pytest.mark.parametrize("objective, sigma2", [("rce", 0.1 / 0.26), ("sce", 1 / 0.26)])
def test_kernel_density_and_bandwidths_match_the_authors(objective, sigma2):
    assert detect.kd_bandwidth(objective) == pytest.approx(sigma2)
    kd = detect.KernelDensity(sigma2)
    points = {k: RNG.normal(k, 0.5, (30, 6)) for k in range(3)}
    kd.kernel_points = {k: torch.tensor(v) for k, v in points.items()}
    kd.sigma2_ = sigma2  # what fit sets, from the points given here
    z, classes = RNG.normal(1, 0.7, (20, 6)), RNG.integers(0, 3, 20)
    ours = kd.log_density(torch.tensor(z), torch.tensor(classes)).exp().numpy()
    theirs = [authors_density(z[i], points[classes[i]], sigma2) for i in range(20)]
    assert np.allclose(ours, theirs, rtol=1e-9)


def test_auc_matches_the_authors_without_ties_and_says_how_ties_differ():
    clean, adv = RNG.normal(1, 1, 40), RNG.normal(0, 1, 30)
    targets = np.r_[np.ones(40), np.zeros(30)]
    assert detect.roc_auc(clean, adv) == pytest.approx(
        authors_auc(targets, np.r_[clean, adv]), abs=1e-12
    )
    clean, adv = np.round(clean), np.round(adv)  # many ties
    tied = (clean[:, None] == adv[None, :]).sum()
    theirs = authors_auc(
        targets, np.r_[clean, adv]
    )  # a tied clean score ranks below the tied adversarial one
    assert tied > 0 and detect.roc_auc(clean, adv) == pytest.approx(
        theirs + 0.5 * tied / (40 * 30), abs=1e-12
    )


# ---------------------------------------------------------------------------------------------- ADP


def authors_adp_loss(probs, y, lamda, log_det_lamda):
    """utils.py Loss_withEE_DPP, Ensemble_Entropy and log_det.

    Loss_withEE_DPP: probs (K, N, L) member softmax outputs, Keras' clipped categorical CE.
    Ensemble_Entropy: offset 1e-20. log_det: true label masked out, rows L2-normalized, + 1e-6 I.
    """
    K, N, L = probs.shape
    onehot = np.eye(L)[y]
    ce = sum(
        -(onehot * np.log(np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7))).sum(-1)
        for p in probs
    )
    mean = probs.mean(0)
    entropy = (-mean * np.log(mean + 1e-20)).sum(-1)
    m = np.stack([probs[:, n, np.arange(L) != y[n]] for n in range(N)])  # (N, K, L - 1)
    m = m / np.linalg.norm(m, axis=2, keepdims=True)
    log_det = np.linalg.slogdet(m @ m.transpose(0, 2, 1) + 1e-6 * np.eye(K))[1]
    return (ce - lamda * entropy - log_det_lamda * log_det).mean()


def test_adp_loss_matches_the_authors():
    logits, y = RNG.normal(0, 2, (3, 16, 10)), RNG.integers(0, 10, 16)
    theirs = authors_adp_loss(softmax(logits), y, 2.0, 0.5)
    lt, yt = torch.tensor(logits), torch.tensor(y)
    ours = sum(torch.nn.functional.cross_entropy(lt[k], yt) for k in range(3)) + adp_regularizer(
        lt.softmax(-1), yt, 2.0, 0.5
    )
    assert ours.item() == pytest.approx(theirs, rel=1e-9)
    assert adp_loss(lt.float(), yt, 2.0, 0.5).item() == pytest.approx(theirs, rel=1e-4)


# ---------------------------------------------------------------------------------- Mixup Inference


def authors_ol_partner(rng, class_sizes, predicted):
    """attack_resnet_mixuptest_OL.py: a label, then an image index within that label's pool.

    The label is uniform in range(num_s), redrawn while it equals the prediction; the index is
    uniform within that label's pool.
    """
    label = rng.integers(len(class_sizes))
    while label == predicted:
        label = rng.integers(len(class_sizes))
    return label, rng.integers(class_sizes[label])


def authors_mi(logits_fn, x, partners, lam):
    """The authors' MI loops: the mean softmax of f((1 - lam) x_s + lam x) over the partners x_s."""
    return np.mean([softmax(logits_fn((1 - lam) * xs + lam * x)) for xs in partners], axis=0)


def _pool(sizes, dim=2):
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(sizes)])
    return torch.randn(len(y), dim, generator=torch.Generator().manual_seed(1)), y


@pytest.mark.parametrize("sizes", [[3, 7, 2, 8], [5, 5, 5, 5]])
def test_mi_ol_draws_partners_as_the_authors(sizes):
    x_pool, y_pool = _pool(sizes)
    mi = MixupInference(torch.nn.Linear(2, 4), x_pool, y_pool, mode="OL", seed=2)
    rng, draws = np.random.default_rng(3), 30000
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]

    def exact(k):
        return np.array(
            [
                0.0 if c == k else 1 / (len(sizes) - 1) / sizes[c]
                for c in range(len(sizes))
                for _ in range(sizes[c])
            ]
        )

    for k in range(len(sizes)):
        ours = (
            np.bincount(
                mi.draw(torch.full((draws,), k), 1, same=False).flatten().numpy(),
                minlength=sum(sizes),
            )
            / draws
        )
        theirs = np.zeros(sum(sizes))
        for _ in range(draws):
            label, index = authors_ol_partner(rng, sizes, k)
            theirs[offsets[label] + index] += 1 / draws
        assert 0.5 * np.abs(ours - theirs).sum() < 0.03
        assert 0.5 * np.abs(ours - exact(k)).sum() < 0.02
    # uniform over the other classes' images would be far off on the unbalanced pool (total
    # variation 0.28)
    uniform = np.where(
        np.repeat(np.arange(len(sizes)), sizes) == 1, 0.0, 1 / (sum(sizes) - sizes[1])
    )
    assert 0.5 * np.abs(uniform - exact(1)).sum() == pytest.approx(
        0.282 if sizes[0] == 3 else 0.0, abs=1e-3
    )


@pytest.mark.parametrize("mode, lam", [("PL", 0.5), ("OL", 0.6), ("combined", (0.5, 0.4))])
def test_mi_predictions_match_the_authors_with_the_same_partners(mode, lam):
    x_pool, y_pool = _pool([6, 9, 4, 7])
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 4).double()
    w, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    logits_fn = lambda v: v @ w.T + b  # noqa: E731
    mi = MixupInference(model, x_pool.double(), y_pool, mode=mode, lam=lam, threshold=0.2, seed=4)
    x = torch.randn(12, 2, dtype=torch.float64)
    predicted = model(x).argmax(1)
    counts = (mi.samples,) if mode != "combined" else mi.samples
    index = [mi.draw(predicted, n, same) for n, same in zip(counts, (mode != "OL", False))]
    mi.reseed()
    ours = mi(x).exp().detach().numpy()
    pool = mi.x_pool.numpy()
    for i in range(len(x)):
        xi = x[i].numpy()
        first = authors_mi(
            logits_fn, xi, pool[index[0][i]], mi.lam_pl if mode != "OL" else mi.lam_ol
        )
        expected = first
        # attack_resnet_mixuptest_Combined.py: gap of the clean confidence to MI-PL's
        if mode == "combined":
            gap = softmax(logits_fn(xi)).max() - first.max()
            expected = (
                first if gap < 0.2 else authors_mi(logits_fn, xi, pool[index[1][i]], mi.lam_ol)
            )
        assert np.allclose(ours[i], expected, atol=1e-12)


# --------------------------------------------------------------------------------- training recipes


def keras_lr_schedule(base, drops):
    """train.py / train_cifar.py lr_schedule(epoch): the base rate times 1e-1, 1e-2 after the drops.

    Base times 1e-1, 1e-2 once epoch (from 0) exceeds each drop.
    """

    def schedule(epoch):
        return base * 0.1 ** sum(epoch > d for d in drops)

    return schedule


def rce_learning_rate(train_step):
    """Reverse-Cross-Entropy train.py, _LearningRateSetterHook (CIFAR-10)."""
    return (
        0.1
        if train_step < 40000
        else 0.01
        if train_step < 60000
        else 0.001
        if train_step < 80000
        else 1e-4
    )


@pytest.mark.parametrize(
    "name, objective, schedule",
    [
        ("mmc-authors", "mmc", keras_lr_schedule(0.01, (100, 150))),
        ("authors", "mmlda", keras_lr_schedule(0.01, (100, 150))),
        ("adp-authors", "adp", keras_lr_schedule(1e-3, (100, 150))),
    ],
)
def test_authors_recipes_follow_the_keras_schedules(name, objective, schedule):
    recipe, steps = get_recipe(name, objective), 7
    for epoch in range(recipe.epochs):
        for step in (epoch * steps, epoch * steps + steps - 1):
            assert recipe.lr * lr_factor(recipe, step, steps) == pytest.approx(
                schedule(epoch), rel=1e-12
            )


def test_rce_authors_recipe_follows_the_step_schedule():
    recipe = get_recipe("authors", "rce")
    assert (recipe.batch_size, recipe.weight_decay, recipe.decay_scope) == (128, 2e-4, "weights")
    for step in (0, 39999, 40000, 59999, 60000, 79999, 80000, 90000):
        assert recipe.lr * lr_factor(recipe, step, 390) == pytest.approx(
            rce_learning_rate(step), rel=1e-12
        )


def keras_sgd(w, grads, lrs, momentum, l2):
    """Keras 2.2.4 SGD.get_updates: v = m v - lr g; w = w + v.

    g is the gradient of loss + l2 ||w||^2.
    """
    v = np.zeros_like(w)
    for grad_fn, lr in zip(grads, lrs):
        v = momentum * v - lr * (grad_fn(w) + 2 * l2 * w)
        w = w + v
    return w


def keras_adam(w, grads, lrs, l2, b1=0.9, b2=0.999, eps=1e-7):
    """Keras 2.2.4 Adam.get_updates: w -= lr_t m / (sqrt(v) + eps).

    With lr_t = lr sqrt(1 - b2^t) / (1 - b1^t).
    """
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, (grad_fn, lr) in enumerate(zip(grads, lrs), start=1):
        g = grad_fn(w) + 2 * l2 * w
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return w


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_keras_update_rules_match_keras(rule):
    target = RNG.normal(size=5)
    grad = lambda w: 2 * (w - target)  # noqa: E731  (the gradient of ||w - target||^2)
    lrs = [0.05] * 4 + [0.005] * 4  # a learning-rate drop in the middle
    start = RNG.normal(size=5)
    w = torch.nn.Parameter(torch.tensor(start))
    optimizer = (
        KerasSGD([w], lr=0.05, momentum=0.9, weight_decay=2e-4)
        if rule == "sgd"
        else KerasAdam([w], lr=0.05, weight_decay=2e-4)
    )
    for lr in lrs:
        optimizer.param_groups[0]["lr"] = lr
        optimizer.zero_grad()
        (w - torch.tensor(target)).pow(2).sum().backward()
        optimizer.step()
    expected = (
        keras_sgd(start, [grad] * 8, lrs, 0.9, 1e-4)
        if rule == "sgd"
        else keras_adam(start, [grad] * 8, lrs, 1e-4)
    )
    assert np.allclose(w.detach().numpy(), expected, atol=1e-12)


def test_authors_weight_decay_is_on_conv_kernels_only():
    model = cifar_resnet(8, 10, "mmc", width=4)
    optimizer = make_optimizer(model, get_recipe("authors", "mmc"))
    kernels = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Conv2d)}
    decayed = optimizer.param_groups[0]
    assert {id(p) for p in decayed["params"]} == kernels and decayed["weight_decay"] == 2e-4
    assert optimizer.param_groups[1]["weight_decay"] == 0.0 and isinstance(optimizer, KerasSGD)


# -------------------------------------------------------- MI and ADP training steps (loop features)


def authors_lambda_lr(base, epochs, anneal):
    """Mixup-Inference train_resnet_mixup.py: LambdaLR(optimizer, [anneal_lr]).

    It calls lr_scheduler.step() at the start of every epoch, before its first update. Returns the
    learning rate each 0-based epoch trains with.
    """
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=base, momentum=0.9)
    # PyTorch warns that step() comes before optimizer.step(), as in the code
    with pytest.warns(UserWarning, match=r"lr_scheduler\.step\(\)` before `optimizer\.step\(\)"):
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [anneal])
        rates = []
        for _ in range(epochs):
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
    return rates


@pytest.mark.parametrize("name, base", [("mi-authors", 0.01), ("mi-iat-authors", 0.1)])
def test_mi_authors_recipes_follow_the_lambda_lr_schedule(name, base):
    def anneal_lr(epoch):
        return 1.0 if epoch < 100 else 0.1 if epoch < 150 else 0.01

    recipe, steps = get_recipe(name, "sce"), 5
    assert (
        recipe.epochs,
        recipe.batch_size,
        recipe.momentum,
        recipe.weight_decay,
        recipe.mixup,
    ) == (200, 64, 0.9, 0.0, 1.0)
    expected = authors_lambda_lr(base, recipe.epochs, anneal_lr)
    ours = [
        recipe.lr * lr_factor(recipe, epoch * steps + steps - 1, steps)
        for epoch in range(recipe.epochs)
    ]
    assert ours == pytest.approx(expected, rel=1e-12)
    assert expected[98:100] == pytest.approx(
        [base, base / 10]
    )  # the drop comes one epoch before anneal_lr's 100


def test_adp_at_authors_recipe_follows_the_keras_schedule():
    schedule, recipe = keras_lr_schedule(1e-3, (80, 120, 160)), get_recipe("adp-at-authors", "adp")
    assert (recipe.epochs, recipe.at_eps, recipe.at_eps_max, recipe.at_alpha, recipe.at_steps) == (
        180,
        0.01,
        0.05,
        0.001,
        10,
    )
    for epoch in range(recipe.epochs):
        assert recipe.lr * lr_factor(recipe, epoch * 3, 3) == pytest.approx(
            schedule(epoch), rel=1e-12
        )


def authors_shuffle_minibatch(inputs, onehot, rp1, rp2, ma):
    """train_resnet_mixup.py shuffle_minibatch: inputs[rp1] * ma + inputs[rp2] * (1 - ma).

    The same for the one-hot targets, with ma (N, 1) from np.random.beta.
    """
    ma_img = ma[:, :, None, None]
    return inputs[rp1] * ma_img + inputs[rp2] * (1 - ma_img), onehot[rp1] * ma + onehot[rp2] * (
        1 - ma
    )


def authors_soft_cross_entropy(logits, label):
    """Torture/loss_function.py soft_cross_entropy: -sum label * log_softmax(logits).

    Averaged over the batch.
    """
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return torch.mean(-torch.sum(label * logp, -1))


def test_mixup_loss_is_the_authors_soft_cross_entropy_of_shuffle_minibatch():
    from robviz.scale.distributed import LossModule

    torch.manual_seed(0)
    model = cifar_resnet(8, 10, "sce", width=4).double()
    x, y = torch.rand(6, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 3, 3, 9, 1, 0])
    rp1, rp2 = torch.tensor(RNG.permutation(6)), torch.tensor(RNG.permutation(6))
    ma = torch.tensor(RNG.beta(1.0, 1.0, (6, 1)))
    inputs, targets = authors_shuffle_minibatch(
        x, torch.eye(10, dtype=torch.float64)[y], rp1, rp2, ma
    )
    expected = authors_soft_cross_entropy(model(inputs), targets)
    ours = LossModule(model)(
        inputs,
        y[rp1],
        weight=torch.full((6,), 1 / 6, dtype=torch.float64),
        y_b=y[rp2],
        lam=ma[:, 0],
    )
    assert ours.item() == pytest.approx(expected.item(), rel=1e-6)


def test_per_sample_mixup_uses_two_permutations_and_a_beta_weight_per_sample():
    from robviz.mixup_inference import mixup_batch

    x, y = torch.eye(8, dtype=torch.float64), torch.arange(8) * 3
    x_mix, y_a, y_b, lam = mixup_batch(x, y, 1.0, torch.Generator().manual_seed(4), per_sample=True)
    assert lam.shape == (8,) and bool(((lam > 0) & (lam < 1)).all()) and len(set(lam.tolist())) == 8
    p1, p2 = y_a // 3, y_b // 3
    assert sorted(p1.tolist()) == sorted(p2.tolist()) == list(range(8)) and not torch.equal(p1, p2)
    rebuilt = lam[:, None] * x[p1] + (1 - lam[:, None]) * x[p2]
    assert torch.allclose(x_mix, rebuilt)
    draws = torch.cat(
        [
            mixup_batch(x, y, 1.0, torch.Generator().manual_seed(s), per_sample=True)[3]
            for s in range(500)
        ]
    ).numpy()
    from scipy import stats

    assert stats.kstest(draws, "uniform").pvalue > 1e-3  # Beta(1, 1) is U(0, 1)


def test_interpolated_at_step_is_the_authors_loss():
    """train_resnet_mixup.py with -adv_ratio 0.5: each batch mixed on its own.

    One forward pass of cat([adv, clean]) in training mode, 0.5 soft-CE(adv) + 0.5 soft-CE(clean).
    """
    from robviz.scale import training_batch
    from robviz.scale.distributed import LossModule

    torch.manual_seed(0)
    model = cifar_resnet(8, 10, "sce", width=4).double().train()
    x, y = torch.rand(6, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 3, 3, 9, 1, 0])
    x_adv = (x + 0.03 * torch.randn_like(x)).clamp(0, 1)
    batch = training_batch(
        get_recipe("mi-iat-authors", "sce"), x, y, x_adv, torch.Generator().manual_seed(2)
    )
    assert batch["groups"] == 1 and batch["x"].shape == (12, 3, 8, 8)
    assert torch.allclose(batch["weight"], torch.full((12,), 0.5 / 6, dtype=torch.float64))
    lam, onehot = batch["lam"][:, None], torch.eye(10, dtype=torch.float64)
    targets = lam * onehot[batch["y"]] + (1 - lam) * onehot[batch["y_b"]]
    logits = model(batch["x"])
    expected = 0.5 * authors_soft_cross_entropy(
        logits[:6], targets[:6]
    ) + 0.5 * authors_soft_cross_entropy(logits[6:], targets[6:])
    assert LossModule(model)(**batch).item() == pytest.approx(expected.item(), rel=1e-6)
    # The first half mixes the adversarial images, the second the clean ones.
    for half, source in ((slice(0, 6), x_adv), (slice(6, 12), x)):
        basis, rows = source.flatten(1).T, batch["x"][half].flatten(1).T
        coefficients = torch.linalg.lstsq(basis, rows).solution
        assert torch.allclose(basis @ coefficients, rows, atol=1e-10)


def test_adp_adversarial_training_step_is_clean_plus_adversarial_adp_loss():
    """advtrain_cifar10.py adv_EEDPP: L_ADP(model(adv_x)) + L_ADP(model(x)).

    Two model calls in training mode.
    """
    from robviz.scale.resnet import cifar_adp_ensemble
    from robviz.scale import training_batch
    from robviz.scale.distributed import LossModule

    ensemble = cifar_adp_ensemble(8, 10, 3, width=4, seed=0).train()
    x, y = torch.rand(6, 3, 8, 8), torch.tensor([0, 3, 3, 9, 1, 0])
    x_adv = (x + 0.03 * torch.randn_like(x)).clamp(0, 1)
    batch = training_batch(
        get_recipe("adp-at-authors", "adp"), x, y, x_adv, torch.Generator().manual_seed(2)
    )
    assert batch["groups"] == 2 and batch["y_b"] is None
    torch.manual_seed(1)
    ours = LossModule(ensemble)(**batch)
    expected = ensemble.loss(x_adv, y) + ensemble.loss(x, y)  # BatchNorm sees each batch on its own
    assert ours.item() == pytest.approx(expected.item(), rel=1e-5)
    joint = LossModule(ensemble)(
        **{**batch, "groups": 1}
    )  # one forward of both: other BatchNorm statistics
    assert joint.item() != pytest.approx(expected.item(), rel=1e-5)
