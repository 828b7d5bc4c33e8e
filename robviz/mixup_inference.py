"""Mixup Inference (MI) and the mixup-trained models it expects.

Pang, Xu and Zhu, "Mixup Inference: Better Exploiting Mixup to Defend Adversarial Attacks", ICLR 2020,
https://arxiv.org/abs/1909.11515. A mixup-trained model behaves linearly between training points, so mixing
an input with a clean image, lambda x + (1 - lambda) x_s, shrinks an adversarial perturbation delta to
lambda delta while the clean image keeps its own, correct, share of the prediction. MI averages the softmax
over N such mixtures:

* MI-PL (predicted label): x_s from the class the model predicts for x; N = 10, lambda = 0.5.
* MI-OL (other labels): x_s from the other classes; N = 30, lambda = 0.5 (mixup model) or 0.6 (interpolated AT).
* MI-Combined: gap = max softmax f(x) - max of the MI-PL average (N = 5); gap < 0.2 -> MI-PL, else MI-OL
  (N = 15).

Training: :class:`MixupModel` wraps a :class:`~robviz.models.Classifier` so that :func:`robviz.train.fit`
trains it with mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018,
https://arxiv.org/abs/1710.09412, alpha = 1), or with interpolated adversarial training (Lamb et al.,
"Interpolated Adversarial Training", AISec 2019, https://arxiv.org/abs/1906.06784) when given an attack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["MixupInference", "MixupModel", "mixup_batch", "mixup_loss", "interpolated_adversarial_training",
           "MI_DEFAULTS", "MixingEffect", "mixing_effect"]

#: The paper's settings per mode: samples N and mixing weight lambda (for a mixup-trained model).
MI_DEFAULTS = {"PL": dict(samples=10, lam=0.5), "OL": dict(samples=30, lam=0.5),
               "combined": dict(samples=(5, 15), lam=0.5, threshold=0.2)}


class MixupInference(nn.Module):
    """A model that predicts by Mixup Inference (Pang et al., ICLR 2020), itself a model robviz can attack.

    ``forward(x)`` returns log of the averaged softmax, (N, L), so argmax is the MI prediction and the attacks
    (with cross-entropy, an EOT objective or :class:`~robviz.attacks.eot.EOT`) differentiate through the
    mixing. Every call draws new mixing partners from a seeded generator (``reseed()`` starts it again), so the
    model is randomized: attack it with EOT.

    Args:
        model: the trained classifier (``model(x)`` -> logits).
        x_pool, y_pool: the clean pool (P, ...) and its labels (P,), every class present (e.g. training images
            picked with :func:`robviz.data.sample_per_class`).
        mode: ``"PL"``, ``"OL"`` or ``"combined"``.
        samples: N; for ``"combined"`` a pair (N_PL, N_OL). Default: the paper's (10, 30, (5, 15)).
        lam: the weight lambda of the input in lambda x + (1 - lambda) x_s. Default 0.5.
        threshold: the gap below which MI-Combined keeps MI-PL. Default 0.2.
        seed: seeds the draws of mixing partners.

    Shape: x (N, ...) -> (N, L); one call runs the model on N * samples mixtures (MI-Combined: N * (N_PL + N_OL)).

    Example:
        >>> mi = MixupInference(model, data.x_train, data.y_train, mode="PL")
        >>> mi(x).argmax(1)
    """

    def __init__(self, model: nn.Module, x_pool: torch.Tensor, y_pool: torch.Tensor, mode: str = "PL", *,
                 samples=None, lam: float | None = None, threshold: float = 0.2, seed: int = 0):
        super().__init__()
        if mode not in MI_DEFAULTS:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MI_DEFAULTS))}, got {mode!r}")
        if not torch.is_tensor(x_pool) or not torch.is_tensor(y_pool) or len(x_pool) != len(y_pool) \
                or len(x_pool) == 0 or y_pool.dim() != 1:
            raise ValueError("x_pool (P, ...) and y_pool (P,) must be non-empty tensors of the same length")
        samples = MI_DEFAULTS[mode]["samples"] if samples is None else samples
        lam = MI_DEFAULTS[mode]["lam"] if lam is None else lam
        counts = samples if mode == "combined" else (samples,)
        if mode == "combined" and (not isinstance(samples, (tuple, list)) or len(samples) != 2):
            raise ValueError(f"for mode='combined' samples must be a pair (N_PL, N_OL), got {samples!r}")
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in counts):
            raise ValueError(f"samples must be integers >= 1, got {samples!r}")
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must lie in [0, 1], got {lam!r}")
        self.model, self.mode, self.samples, self.lam = model, mode, samples, float(lam)
        self.threshold, self.seed = float(threshold), seed
        order = torch.argsort(y_pool.cpu(), stable=True)
        y_sorted = y_pool.cpu()[order].long()
        num_classes = int(y_sorted.max()) + 1
        counts = torch.bincount(y_sorted, minlength=num_classes)
        if (counts == 0).any() or (mode != "PL" and (counts == len(y_sorted)).any()):
            raise ValueError(f"the pool must hold images of every class 0..{num_classes - 1}; counts per class: "
                             f"{counts.tolist()}")
        self.register_buffer("x_pool", x_pool.detach()[order.to(x_pool.device)], persistent=False)
        self.register_buffer("y_pool", y_sorted.to(y_pool.device), persistent=False)
        self.counts = counts
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)[:-1]])
        self.generator = torch.Generator().manual_seed(seed)
        self.last_choice = None  # combined mode: which samples used MI-PL in the last call

    def reseed(self, seed: int | None = None) -> None:
        """Restart the draws of mixing partners (from ``seed``, default the constructor's)."""
        self.generator.manual_seed(self.seed if seed is None else seed)

    def draw(self, predicted: torch.Tensor, n: int, same: bool) -> torch.Tensor:
        """Pool indices (B, n): ``n`` partners per input, from its predicted class (``same``) or from the others.

        Uniform over the allowed pool images, drawn on the CPU with the seeded generator.
        """
        k = predicted.cpu().long()
        if int(k.max()) >= len(self.counts):
            raise ValueError(f"predicted class {int(k.max())} has no images in the pool")
        u = torch.rand(len(k), n, generator=self.generator)
        count, offset = self.counts[k][:, None], self.offsets[k][:, None]
        if same:
            index = offset + (u * count).long().clamp_max(count - 1)
        else:
            others = len(self.y_pool) - count
            position = (u * others).long().clamp_max(others - 1)
            index = position + count * (position >= offset).long()
        return index.to(self.x_pool.device)

    def mix(self, x: torch.Tensor, predicted: torch.Tensor, n: int, same: bool) -> torch.Tensor:
        """The averaged softmax of f(lambda x + (1 - lambda) x_s) over ``n`` partners x_s: (B, L)."""
        index = self.draw(predicted, n, same)
        partners = self.x_pool[index]  # (B, n, ...)
        mixed = self.lam * x[:, None] + (1 - self.lam) * partners
        probs = self.model(mixed.reshape(-1, *x.shape[1:])).softmax(dim=1)
        return probs.reshape(len(x), n, -1).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            clean = self.model(x).softmax(dim=1)
        predicted = clean.argmax(dim=1)
        if self.mode == "PL":
            probs = self.mix(x, predicted, self.samples, same=True)
        elif self.mode == "OL":
            probs = self.mix(x, predicted, self.samples, same=False)
        else:
            pl = self.mix(x, predicted, self.samples[0], same=True)
            ol = self.mix(x, predicted, self.samples[1], same=False)
            gap = clean.max(dim=1).values - pl.detach().max(dim=1).values
            use_pl = gap < self.threshold
            self.last_choice = use_pl.detach().cpu()
            probs = torch.where(use_pl[:, None], pl, ol)
        return probs.clamp_min(1e-12).log()

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, samples={self.samples}, lam={self.lam}, pool={len(self.y_pool)}"


def mixup_batch(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0, generator: torch.Generator | None = None):
    """Mix a batch with a shuffled copy of itself (Zhang et al., ICLR 2018):

        lam ~ Beta(alpha, alpha),   x_mix = lam x + (1 - lam) x[perm],

    one lam per batch, as the authors' code. Returns (x_mix, y, y[perm], lam); the loss is
    lam * L(x_mix, y) + (1 - lam) * L(x_mix, y[perm]). x (N, ...), y (N,).
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def mixup_loss(model, x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The mixup training loss of a :class:`~robviz.models.Classifier` on a batch (its objective's loss on the
    mixed inputs, weighted between the two labels): lam * L(x_mix, y_a) + (1 - lam) * L(x_mix, y_b)."""
    x_mix, y_a, y_b, lam = mixup_batch(x, y, alpha, generator)
    if hasattr(model, "objective") and hasattr(model, "features"):
        z = model.features(x_mix)
        h = model.objective(z)
        return lam * model.objective.loss(z, h, y_a) + (1 - lam) * model.objective.loss(z, h, y_b)
    return lam * model.loss(x_mix, y_a) + (1 - lam) * model.loss(x_mix, y_b)


class MixupModel(nn.Module):
    """A :class:`~robviz.models.Classifier` trained with mixup: what :func:`robviz.train.fit` needs.

    ``loss(x, y)`` is the mixup loss in training mode (the plain loss in eval mode); ``forward``, ``features``,
    ``objective``, ``raw_logits`` and ``predict`` are the classifier's. With ``attack`` (an
    :class:`~robviz.attacks.Attack` built on the *classifier*, e.g. PGD) it is interpolated adversarial training
    (Lamb et al. 2019): the mean of the mixup loss on the clean batch and on its adversarial examples.

    Args:
        model: the classifier to train (trained in place; use it directly afterwards).
        alpha: the Beta(alpha, alpha) parameter. Default 1.0 (the MI paper's).
        attack: None (mixup) or an attack for interpolated adversarial training.
        seed: seeds the mixing weights and permutations.

    Example:
        >>> model = make_model(data, "sce")
        >>> fit(MixupModel(model, alpha=1.0), data, steps=300)
    """

    def __init__(self, model: nn.Module, alpha: float = 1.0, *, attack=None, seed: int = 0):
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        self.classifier, self.alpha, self.attack = model, float(alpha), attack
        self.generator = torch.Generator().manual_seed(seed)
        self._calls = 0

    @property
    def objective(self):
        return self.classifier.objective

    @property
    def num_classes(self) -> int:
        return self.classifier.num_classes

    def features(self, x):
        return self.classifier.features(x)

    def raw_logits(self, z):
        return self.classifier.raw_logits(z)

    def forward(self, x):
        return self.classifier(x)

    @torch.no_grad()
    def predict(self, x):
        return self(x).argmax(dim=1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.training or not torch.is_grad_enabled():
            return self.classifier.loss(x, y)
        loss = mixup_loss(self.classifier, x, y, self.alpha, self.generator)
        if self.attack is None:
            return loss
        self._calls += 1
        self.attack.seed = self.attack.seed + 1  # a fresh random start for every batch
        x_adv = self.attack(x, y).detach()
        self.classifier.train()
        return 0.5 * (loss + mixup_loss(self.classifier, x_adv, y, self.alpha, self.generator))


def interpolated_adversarial_training(model: nn.Module, eps: float, *, bounds=(0.0, 1.0), steps: int = 5,
                                      alpha: float = 1.0, seed: int = 0) -> MixupModel:
    """A :class:`MixupModel` for interpolated adversarial training (Lamb et al. 2019): mixup on clean inputs and
    on L-inf PGD examples (``steps`` steps of 2.5 eps / steps, random start) of the current model.

    Example:
        >>> fit(interpolated_adversarial_training(model, eps=0.25, bounds=data.bounds), data, steps=300)
    """
    from .attacks import PGD

    attack = PGD(model, eps=eps, alpha=2.5 * eps / steps, steps=steps, random_start=True, bounds=bounds,
                 seed=seed)
    return MixupModel(model, alpha, attack=attack, seed=seed)


@dataclass
class MixingEffect:
    """How much an adversarial perturbation still changes the prediction after mixing, per lambda.

    Attributes:
        lams: (K,) the mixing weights.
        effect: (K,) mean over inputs of the total-variation distance between the averaged softmax of the mixed
            clean inputs and of the mixed adversarial inputs (same partners): 0 = no effect left, 1 = maximal.
        clean_true, adv_true: (K,) mean probability of the true class for the mixed clean / adversarial inputs.
        mixed_clean, mixed_adv: (K, N, samples, ...) the mixed inputs themselves (for pictures; CPU).
    """

    lams: torch.Tensor
    effect: torch.Tensor
    clean_true: torch.Tensor
    adv_true: torch.Tensor
    mixed_clean: torch.Tensor
    mixed_adv: torch.Tensor


@torch.no_grad()
def mixing_effect(model, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor, x_pool: torch.Tensor, lams, *,
                  samples: int = 10, seed: int = 0) -> MixingEffect:
    """Mix clean inputs x and their adversarial versions x_adv with the *same* ``samples`` partners drawn
    uniformly from ``x_pool``, for every lambda in ``lams``: the two mixtures differ by exactly lambda * delta,
    so the perturbation shrinks linearly with lambda, and this measures how much of its effect on the averaged
    softmax is left (the mechanism of Mixup Inference, Pang et al. 2020, Sec. 3). x, x_adv (N, ...), y (N,).
    """
    generator = torch.Generator().manual_seed(seed)
    index = torch.randint(0, len(x_pool), (len(x), samples), generator=generator).to(x_pool.device)
    partners = x_pool[index]
    lams = torch.as_tensor(lams, dtype=torch.float32)
    effect, clean_true, adv_true, mixed_c, mixed_a = [], [], [], [], []
    for lam in lams.tolist():
        mc = lam * x[:, None] + (1 - lam) * partners
        ma = lam * x_adv[:, None] + (1 - lam) * partners
        pc = model(mc.reshape(-1, *x.shape[1:])).softmax(1).reshape(len(x), samples, -1).mean(1)
        pa = model(ma.reshape(-1, *x.shape[1:])).softmax(1).reshape(len(x), samples, -1).mean(1)
        effect.append(0.5 * (pc - pa).abs().sum(1).mean().item())
        clean_true.append(pc.gather(1, y[:, None]).mean().item())
        adv_true.append(pa.gather(1, y[:, None]).mean().item())
        mixed_c.append(mc.cpu())
        mixed_a.append(ma.cpu())
    return MixingEffect(lams, torch.tensor(effect), torch.tensor(clean_true), torch.tensor(adv_true),
                        torch.stack(mixed_c), torch.stack(mixed_a))
