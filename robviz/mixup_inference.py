"""Mixup Inference (MI) and the mixup-trained models it expects.

Pang, Xu and Zhu, "Mixup Inference: Better Exploiting Mixup to Defend Adversarial Attacks", ICLR
2020, https://arxiv.org/abs/1909.11515. A mixup-trained model behaves linearly between training
points, so mixing an input with a clean image, lambda x + (1 - lambda) x_s, shrinks an adversarial
perturbation delta to lambda delta while the clean image keeps its own, correct, share of the
prediction. MI averages the softmax over N such mixtures:

* MI-PL (predicted label): x_s from the class the model predicts for x; N = 10, lambda = 0.5.
* MI-OL (other labels): x_s from the other classes; N = 30, lambda = 0.5 (mixup model) or 0.6
  (interpolated AT).
* MI-Combined: gap = max softmax f(x) - max of the MI-PL average (N = 5); gap < 0.2 -> MI-PL, else
  MI-OL (N = 15). Each branch has its own lambda (the authors' README example: lambda_PL = 0.5,
  lambda_OL = 0.4).

Partners are drawn as the authors' code draws them (P2333/Mixup-Inference,
``attack_resnet_mixuptest_PL.py``, ``_OL.py``, ``_Combined.py``): MI-PL picks an image uniformly
from the predicted class; MI-OL first picks a class uniformly among the other L - 1 classes, then an
image uniformly within it (on a class-unbalanced pool this is not uniform over the other classes'
images). Averages of softmax outputs are computed in log space (log-softmax and logsumexp), so tiny
probabilities keep their logarithms.

Training: :class:`MixupModel` wraps a :class:`~robviz.models.Classifier` so that
:func:`robviz.train.fit` trains it with mixup (Zhang et al., "mixup: Beyond Empirical Risk
Minimization", ICLR 2018, https://arxiv.org/abs/1710.09412, alpha = 1), or with interpolated
adversarial training (Lamb et al., "Interpolated Adversarial Training", AISec 2019,
https://arxiv.org/abs/1906.06784) when given an attack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict, cast, overload

import numpy as np
import torch
from torch import nn

from . import checks
from .attacks import Attack, PGD, RobustnessTable
from .attacks.eot import eot_objective
from .ensemble import log_mean_softmax
from .models import Classifier, Predictor, TrainableModel
from .runtime import inference, num_classes_of, predict
from .train import accuracy

if TYPE_CHECKING:
    from .data import Dataset
    from .objectives import Objective

__all__ = [
    "MixupInference",
    "MixupModel",
    "mixup_batch",
    "mixup_loss",
    "interpolated_adversarial_training",
    "MI_DEFAULTS",
    "MixingEffect",
    "mixing_effect",
    "log_mean_softmax",
    "mi_robustness",
]


class _Defaults(TypedDict, total=False):
    samples: int | tuple[int, int]  # N, or (N_PL, N_OL) for MI-Combined
    lam: float
    threshold: float


#: The paper's settings per mode: samples N and mixing weight lambda (for a mixup-trained model).
MI_DEFAULTS: dict[str, _Defaults] = {
    "PL": dict(samples=10, lam=0.5),
    "OL": dict(samples=30, lam=0.5),
    "combined": dict(samples=(5, 15), lam=0.5, threshold=0.2),
}


class MixupInference(nn.Module):
    """A model that predicts by Mixup Inference (Pang et al., ICLR 2020).

    It is itself a model robviz can attack.

    ``forward(x)`` returns log of the averaged softmax, (N, L), so argmax is the MI prediction and
    the attacks (with cross-entropy, an EOT objective or :class:`~robviz.attacks.eot.EOT`)
    differentiate through the mixing. Every call draws new mixing partners from a seeded generator
    (``reseed()`` starts it again), so the model is randomized: attack it with EOT.

    Shape: x (N, ...) -> (N, L); one call runs the model on N * samples mixtures (MI-Combined: N *
    (N_PL + N_OL)).

    Parameters
    ----------
    model : nn.Module
        The trained classifier (``model(x)`` -> logits).
    x_pool, y_pool : torch.Tensor
        The clean pool (P, ...) and its labels (P,), every class present (e.g. training images
        picked with :func:`robviz.data.sample_per_class`).
    mode : str
        ``"PL"``, ``"OL"`` or ``"combined"``.
    samples : int or tuple of int or None
        N; for ``"combined"`` a pair (N_PL, N_OL). Default: the paper's (10, 30, (5, 15)).
    lam : float or tuple of float or None
        The weight lambda of the input in lambda x + (1 - lambda) x_s, in (0, 1]. Default 0.5. For
        ``"combined"`` a number (both branches) or a pair (lambda_PL, lambda_OL), e.g. (0.5, 0.4) as
        the authors' README.
    threshold : float
        The gap below which MI-Combined keeps MI-PL, in [0, 1]. Default 0.2.
    seed : int
        Seeds the draws of mixing partners.

    Raises
    ------
    ValueError
        An unknown ``mode``; ``x_pool`` empty or non-finite (the error names the sample index),
        ``y_pool`` not one label per pool image, a label outside the model's classes [0, L)
        (naming the sample index) or a class missing from the pool; bad ``samples``,
        ``lam`` (outside (0, 1]) or ``threshold`` (outside [0, 1]). Calling the model on an empty
        or non-finite x raises too (a NaN input would give a NaN row, whose argmax reads as class
        0).

    Examples
    --------
    >>> mi = MixupInference(model, data.x_train, data.y_train, mode="PL")
    >>> predictions = mi(x).argmax(1)          # (N,)
    """

    x_pool: torch.Tensor  # buffers (registered in __init__)
    y_pool: torch.Tensor

    def __init__(
        self,
        model: nn.Module,
        x_pool: torch.Tensor,
        y_pool: torch.Tensor,
        mode: str = "PL",
        *,
        samples: int | tuple[int, int] | None = None,
        lam: float | tuple[float, float] | None = None,
        threshold: float = 0.2,
        seed: int = 0,
    ) -> None:
        checks.model("model", model, module=True)
        seed = checks.seed("seed", seed)
        super().__init__()
        if not isinstance(mode, str) or mode not in MI_DEFAULTS:
            raise ValueError(
                f"mode must be one of {', '.join(map(repr, MI_DEFAULTS))}, got {mode!r}"
            )
        checks.finite_inputs("x_pool", x_pool, tensor=True)
        if (
            not torch.is_tensor(x_pool)
            or not torch.is_tensor(y_pool)
            or len(x_pool) != len(y_pool)
            or len(x_pool) == 0
            or y_pool.dim() != 1
        ):
            raise ValueError(
                "x_pool (P, ...) and y_pool (P,) must be non-empty tensors of the same length"
            )
        given: object = MI_DEFAULTS[mode]["samples"] if samples is None else samples
        lam = MI_DEFAULTS[mode]["lam"] if lam is None else lam
        if mode == "combined" and (not isinstance(given, (tuple, list)) or len(given) != 2):
            raise ValueError(
                f"for mode='combined' samples must be a pair (N_PL, N_OL), got {given!r}"
            )
        parts = given if isinstance(given, (tuple, list)) and mode == "combined" else (given,)
        counts = [checks.integer("samples", s, low=1) for s in parts]
        # An int for MI-PL and MI-OL, a pair (N_PL, N_OL) for MI-Combined.
        self.samples: int | tuple[int, int] = (
            (counts[0], counts[1]) if mode == "combined" else counts[0]
        )
        self.model, self.mode = model, mode
        self.lam, self.lam_pl, self.lam_ol = _check_lam(lam, mode)
        # a gap of two probabilities: outside [0, 1] MI-Combined would be MI-PL or MI-OL alone
        self.threshold = checks.real("threshold", threshold, low=0, high=1)
        self.seed = seed
        # Every class of the model, and no other: MI-OL draws among the L - 1 other classes.
        num_classes = num_classes_of(model, x_pool)
        checks.labels("y_pool", y_pool, len(x_pool), num_classes=num_classes)
        order = torch.argsort(y_pool.cpu(), stable=True)
        y_sorted = y_pool.cpu()[order].long()
        per_class = torch.bincount(y_sorted, minlength=num_classes)
        if (per_class == 0).any() or (mode != "PL" and (per_class == len(y_sorted)).any()):
            raise ValueError(
                f"the pool must hold images of every class 0..{num_classes - 1}; counts per class: "
                f"{per_class.tolist()}"
            )
        self.register_buffer("x_pool", x_pool.detach()[order.to(x_pool.device)], persistent=False)
        self.register_buffer("y_pool", y_sorted.to(y_pool.device), persistent=False)
        self.counts = per_class
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), per_class.cumsum(0)[:-1]])
        self.generator = torch.Generator().manual_seed(seed)
        self.last_choice: torch.Tensor | None = (
            None  # combined mode: which samples used MI-PL in the last call
        )

    def reseed(self, seed: int | None = None) -> None:
        """Restart the draws of mixing partners.

        Parameters
        ----------
        seed : int or None
            The new seed; None (default) the constructor's ``seed``.
        """
        self.generator.manual_seed(self.seed if seed is None else seed)

    def draw(self, predicted: torch.Tensor, n: int, same: bool) -> torch.Tensor:
        """Draw pool indices: ``n`` partners per input, on the CPU by the seeded generator.

        ``same``: uniform over the images of the predicted class (MI-PL). Otherwise (MI-OL) as the
        authors' code: a class uniform among the L - 1 other classes, then an image uniform within
        it. One uniform number u per partner: with n_c the size of the class of rank floor(u (L -
        1)) among the others, position floor(u (L - 1) n_c) gives the rank (position // n_c) and the
        image (position % n_c); on a balanced pool this is exactly a uniform draw over all
        other-class images.

        Parameters
        ----------
        predicted : torch.Tensor
            The predicted classes (B,) of the inputs.
        n : int
            The number of partners per input.
        same : bool
            Draw from the predicted class (MI-PL) rather than from the other classes (MI-OL).

        Returns
        -------
        torch.Tensor
            Indices (B, n) into the (class-sorted) pool, on the pool's device.

        Raises
        ------
        ValueError
            A predicted class beyond the pool's largest class.
        """
        k = predicted.cpu().long()[:, None]
        if int(k.max()) >= len(self.counts):
            raise ValueError(f"predicted class {int(k.max())} has no images in the pool")
        u = torch.rand(len(k), n, generator=self.generator)
        if same:
            count = self.counts[k]
            return (self.offsets[k] + (u * count).long().clamp_max(count - 1)).to(
                self.x_pool.device
            )
        others = len(self.counts) - 1
        rank = (u * others).long().clamp_max(others - 1)
        count = self.counts[rank + (rank >= k).long()]
        position = (u * (others * count)).long()
        rank = (position // count).clamp_max(others - 1)
        cls = rank + (rank >= k).long()
        within = (position - rank * count).clamp(min=0).minimum(self.counts[cls] - 1)
        return (self.offsets[cls] + within).to(self.x_pool.device)

    def log_mix(
        self, x: torch.Tensor, predicted: torch.Tensor, n: int, same: bool, lam: float | None = None
    ) -> torch.Tensor:
        """Return the log of the averaged softmax of f(lambda x + (1 - lambda) x_s).

        Averaged over ``n`` partners x_s, computed as logsumexp over the partners of log_softmax,
        minus log n.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (B, ...).
        predicted : torch.Tensor
            Their predicted classes (B,), which choose the partners (see :meth:`draw`).
        n : int
            The number of partners per input.
        same : bool
            Partners of the predicted class (MI-PL) or of the other classes (MI-OL).
        lam : float or None
            lambda; None (default) the mode's lambda (``lam_pl`` if ``same``, else ``lam_ol``).

        Returns
        -------
        torch.Tensor
            Log-probabilities (B, L).

        Raises
        ------
        ValueError
            ``x`` empty or non-finite (the error names the sample index), or its inputs not of
            the pool's shape (they would broadcast against the partners: a pool of (P, 1) mixed
            into inputs of (N, 2) without a word).
        """
        checks.finite_inputs("x", x, tensor=True)
        if x.shape[1:] != self.x_pool.shape[1:]:
            shape = ", ".join(map(str, self.x_pool.shape[1:]))
            raise ValueError(
                f"x must hold inputs of the pool's shape, (N, {shape}), got {tuple(x.shape)}"
            )
        lam = (self.lam_pl if same else self.lam_ol) if lam is None else lam
        # in x's dtype: a float64 pool beside a float32 model would reach the model as float64
        partners = self.x_pool[self.draw(predicted, n, same)].to(x.dtype)  # (B, n, ...)
        mixed = lam * x[:, None] + (1 - lam) * partners
        return log_mean_softmax(self.model(mixed.reshape(-1, *x.shape[1:])).reshape(len(x), n, -1))

    def mix(
        self, x: torch.Tensor, predicted: torch.Tensor, n: int, same: bool, lam: float | None = None
    ) -> torch.Tensor:
        """Return the averaged softmax of f(lambda x + (1 - lambda) x_s).

        Averaged over ``n`` partners x_s: ``log_mix(...).exp()``.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (B, ...).
        predicted : torch.Tensor
            Their predicted classes (B,).
        n : int
            The number of partners per input.
        same : bool
            Partners of the predicted class (MI-PL) or of the other classes (MI-OL).
        lam : float or None
            lambda; None (default) the mode's lambda.

        Returns
        -------
        torch.Tensor
            Probabilities (B, L).
        """
        return self.log_mix(x, predicted, n, same, lam).exp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the log of the averaged softmax of the inputs mixed with the mode's partners.

        Mode ``combined`` uses MI-PL for the inputs whose clean confidence exceeds the MI-PL one by
        less than ``threshold``, MI-OL for the others, and records the choice in ``last_choice``.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Log-probabilities (N, L).

        Raises
        ------
        ValueError
            ``x`` empty or non-finite (the error names the sample index), or its inputs not of
            the pool's shape.
        """
        checks.finite_inputs("x", x, tensor=True)
        with torch.no_grad():
            clean = self.model(x).log_softmax(dim=1)
        predicted = clean.argmax(dim=1)
        # The constructor stores samples as an int for MI-PL and MI-OL, a pair for MI-Combined.
        if self.mode == "PL":
            return self.log_mix(x, predicted, cast(int, self.samples), same=True)
        if self.mode == "OL":
            return self.log_mix(x, predicted, cast(int, self.samples), same=False)
        n_pl, n_ol = cast("tuple[int, int]", self.samples)
        pl = self.log_mix(x, predicted, n_pl, same=True)
        ol = self.log_mix(x, predicted, n_ol, same=False)
        gap = clean.max(dim=1).values.exp() - pl.detach().max(dim=1).values.exp()
        use_pl = gap < self.threshold
        self.last_choice = use_pl.detach().cpu()
        return torch.where(use_pl[:, None], pl, ol)

    def extra_repr(self) -> str:
        """Return the settings shown in the module's repr."""
        return (
            f"mode={self.mode!r}, samples={self.samples}, lam={self.lam}, pool={len(self.y_pool)}"
        )


def _check_lam(
    lam: float | Sequence[float], mode: str
) -> tuple[float | tuple[float, float], float, float]:
    """Return (lam as given, lambda_PL, lambda_OL), or raise ValueError for a bad ``lam``.

    Raises ValueError outside (0, 1] or for a pair outside mode ``combined``: with lam = 0 the
    mixtures hold nothing of the input, and the "prediction" is the pool's.
    """
    if isinstance(lam, (tuple, list)):
        if mode != "combined" or len(lam) != 2:
            raise ValueError(
                f"lam must be a number in (0, 1] (a pair (lambda_PL, lambda_OL) only for "
                f"mode='combined'), got {lam!r}"
            )
        pl, ol = (checks.real("lam", v, low=0, high=1, low_open=True) for v in lam)
        return (pl, ol), pl, ol
    number = checks.real("lam", lam, low=0, high=1, low_open=True)
    return number, number, number


# The weight lam is a float for the batch, or with per_sample a (N,) tensor.
@overload
def mixup_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float = ...,
    generator: torch.Generator | None = ...,
    *,
    per_sample: Literal[False] = ...,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]: ...
@overload
def mixup_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float = ...,
    generator: torch.Generator | None = ...,
    *,
    per_sample: Literal[True],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]: ...
@overload
def mixup_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float = ...,
    generator: torch.Generator | None = ...,
    *,
    per_sample: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float | torch.Tensor]: ...
def mixup_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    per_sample: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float | torch.Tensor]:
    """Mix a batch with shuffled copies of itself (Zhang et al., ICLR 2018).

    Either way the loss is lam * L(x_mix, y_a) + (1 - lam) * L(x_mix, y_b), per sample: the soft
    cross-entropy of the mixed one-hot labels for softmax networks.

    Parameters
    ----------
    x : torch.Tensor
        Inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    alpha : float
        The Beta(alpha, alpha) parameter of the mixing weights, > 0.
    generator : torch.Generator or None
        A CPU generator the draws come from; None (default) one seeded 0.
    per_sample : bool
        * ``False`` (Zhang et al.'s code): one lam ~ Beta(alpha, alpha) for the batch and one
          permutation, x_mix = lam x + (1 - lam) x[perm].
        * ``True`` (the MI authors' ``train_resnet_mixup.py``, ``shuffle_minibatch``): one lam_i
          per sample and two permutations, x_mix_i = lam_i x[p1]_i + (1 - lam_i) x[p2]_i.

    Returns
    -------
    x_mix : torch.Tensor
        The mixed inputs (N, ...).
    y_a, y_b : torch.Tensor
        The labels (N,) of the two mixed inputs: y and y[perm], or y[p1] and y[p2].
    lam : float or torch.Tensor
        A float, or with ``per_sample`` a (N,) tensor of x's dtype: the weight of ``y_a``.

    Raises
    ------
    ValueError
        ``x`` empty or non-finite (the error names the sample index); ``y`` not one integer label
        per input; ``alpha`` not a finite number > 0.
    """
    per_sample = checks.flag("per_sample", per_sample)
    checks.finite_inputs("x", x, tensor=True)
    y = checks.labels("y", y, len(x))
    alpha = checks.real("alpha", alpha, low=0, low_open=True)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    if per_sample:
        rng = np.random.default_rng(seed)
        weights = torch.as_tensor(rng.beta(alpha, alpha, len(x)), dtype=x.dtype, device=x.device)
        p1 = torch.as_tensor(rng.permutation(len(x)), device=x.device)
        p2 = torch.as_tensor(rng.permutation(len(x)), device=x.device)
        lam_x = weights.view(-1, *([1] * (x.dim() - 1)))
        return lam_x * x[p1] + (1 - lam_x) * x[p2], y[p1], y[p2], weights
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=generator).to(x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def mixup_loss(
    model: TrainableModel,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    per_sample: bool = False,
) -> torch.Tensor:
    """Return the mixup training loss of a :class:`~robviz.models.Classifier` on a batch.

    Its objective's loss on the mixed inputs, weighted between the two labels: lam * L(x_mix, y_a) +
    (1 - lam) * L(x_mix, y_b). A model without ``features`` and ``objective`` (an ensemble) uses its
    own ``loss(x, y)``.

    Parameters
    ----------
    model : Classifier or model with ``loss(x, y)``
        The model to train.
    x : torch.Tensor
        Inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    alpha : float
        The Beta(alpha, alpha) parameter, > 0.
    generator : torch.Generator or None
        A CPU generator for the draws; None one seeded 0 (see :func:`mixup_batch`).
    per_sample : bool
        Mix as the MI authors' code (:func:`mixup_batch`): lam_i per sample, the batch mean of
        lam_i L_i(y_a) + (1 - lam_i) L_i(y_b) with the objective's per-sample losses.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``per_sample`` for a model without ``features`` and ``objective`` (an ensemble); as
        :func:`mixup_batch` (``x`` empty or non-finite, alpha <= 0).
    """
    checks.model("model", model, needs=("loss",))
    from .objectives import per_sample_loss

    per_sample = checks.flag("per_sample", per_sample)
    x_mix, y_a, y_b, lam = mixup_batch(x, y, alpha, generator, per_sample=per_sample)
    if hasattr(model, "objective") and hasattr(model, "features"):
        z = model.features(x_mix)
        if per_sample:
            losses = per_sample_loss(model.objective)
            return (lam * losses(z, y_a) + (1 - lam) * losses(z, y_b)).mean()
        h = model.objective(z)
        return lam * model.objective.loss(z, h, y_a) + (1 - lam) * model.objective.loss(z, h, y_b)
    if per_sample:
        raise ValueError(
            "per-sample mixup needs a classifier with features and an objective, not an ensemble"
        )
    return lam * model.loss(x_mix, y_a) + (1 - lam) * model.loss(x_mix, y_b)


class MixupModel(nn.Module):
    """A :class:`~robviz.models.Classifier` trained with mixup: what :func:`robviz.train.fit` needs.

    ``loss(x, y)`` is the mixup loss in training mode (the plain loss in eval mode); ``forward``,
    ``features``, ``objective``, ``raw_logits`` and ``predict`` are the classifier's. With
    ``attack`` (an :class:`~robviz.attacks.Attack` built on the *classifier*, e.g. PGD) it is
    interpolated adversarial training (Lamb et al. 2019): the mean of the mixup loss on the clean
    batch and on its adversarial examples.

    Parameters
    ----------
    model : Classifier
        The classifier to train (trained in place; use it directly afterwards).
    alpha : float
        The Beta(alpha, alpha) parameter. Default 1.0 (the MI paper's).
    attack : robviz.attacks.Attack or None
        None (mixup) or an attack for interpolated adversarial training.
    seed : int
        Seeds the mixing weights and permutations.
    per_sample : bool
        Mix as the MI authors' code (a weight per sample, two permutations) instead of Zhang et
        al.'s one weight per batch (:func:`mixup_batch`).

    Raises
    ------
    ValueError
        ``alpha`` not a finite number > 0.

    Examples
    --------
    >>> from robviz.models import make_model
    >>> from robviz.train import fit
    >>> model = make_model(data, "sce")
    >>> history = fit(MixupModel(model, alpha=1.0), data, steps=30, progress=False)
    """

    def __init__(
        self,
        model: Classifier,
        alpha: float = 1.0,
        *,
        attack: Attack | None = None,
        seed: int = 0,
        per_sample: bool = False,
    ) -> None:
        checks.model("model", model, needs=("objective",))
        seed = checks.seed("seed", seed)
        per_sample = checks.flag("per_sample", per_sample)
        super().__init__()
        alpha = checks.real("alpha", alpha, low=0, low_open=True)
        self.classifier, self.alpha, self.attack, self.per_sample = (
            model,
            alpha,
            attack,
            bool(per_sample),
        )
        self.generator = torch.Generator().manual_seed(seed)
        self._calls = 0

    @property
    def objective(self) -> Objective:
        """The wrapped classifier's objective head."""
        return self.classifier.objective

    @property
    def num_classes(self) -> int:
        """The number of classes L."""
        return self.classifier.num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the wrapped classifier's features.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Features z (N, d).
        """
        return self.classifier.features(x)

    def raw_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Return the wrapped classifier's raw head logits of features z.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).

        Returns
        -------
        torch.Tensor
            Raw logits h (N, L).
        """
        return self.classifier.raw_logits(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the wrapped classifier's prediction logits.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Prediction logits (N, L).
        """
        return self.classifier(x)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Return the predicted classes, without gradients.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Classes (N,) int64; -1 where the logits are not finite (:func:`robviz.runtime.predict`:
            argmax of NaN logits would read as class 0).
        """
        return predict(self(x))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the training loss, a scalar.

        In train mode with gradients: the mixup loss, averaged with the mixup loss on adversarial
        examples when an attack is set (interpolated adversarial training; the attack's ``seed`` is
        incremented for every batch); otherwise the classifier's own loss.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).
        y : torch.Tensor
            Labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        if not self.training or not torch.is_grad_enabled():
            return self.classifier.loss(x, y)
        loss = mixup_loss(
            self.classifier, x, y, self.alpha, self.generator, per_sample=self.per_sample
        )
        if self.attack is None:
            return loss
        self._calls += 1
        self.attack.seed = self.attack.seed + 1  # a fresh random start for every batch
        x_adv = self.attack(x, y).detach()  # the attack gives every submodule its mode back
        return 0.5 * (
            loss
            + mixup_loss(
                self.classifier, x_adv, y, self.alpha, self.generator, per_sample=self.per_sample
            )
        )


def interpolated_adversarial_training(
    model: Classifier,
    eps: float,
    *,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
    steps: int = 5,
    alpha: float = 1.0,
    seed: int = 0,
) -> MixupModel:
    """Return a :class:`MixupModel` for interpolated adversarial training (Lamb et al. 2019).

    Mixup on clean inputs and on L-inf PGD examples (``steps`` steps of 2.5 eps / steps, random
    start) of the current model.

    Parameters
    ----------
    model : Classifier
        The classifier to train (in place).
    eps : float
        The L-inf radius of the PGD examples, in input units.
    bounds : tuple of float or Dataset
        (low, high) of the inputs, for the attack.
    steps : int
        The number of PGD steps (step size 2.5 eps / steps).
    alpha : float
        The mixup Beta(alpha, alpha) parameter, > 0.
    seed : int
        Seeds the attack's random start and the mixing.

    Returns
    -------
    MixupModel
        The training objective to pass to :func:`robviz.train.fit`.

    Raises
    ------
    ValueError
        ``steps`` not an integer >= 1 (a division by zero or a negative step size before).

    Examples
    --------
    >>> from robviz.train import fit
    >>> objective = interpolated_adversarial_training(model, eps=0.25, bounds=data.bounds)
    >>> history = fit(objective, data, steps=10, progress=False)
    """
    checks.model("model", model, needs=("objective",))
    steps = checks.integer("steps", steps, low=1)
    seed = checks.seed("seed", seed)
    from .attacks import PGD

    attack = PGD(
        model,
        eps=eps,
        alpha=2.5 * eps / steps,
        steps=steps,
        random_start=True,
        bounds=bounds,
        seed=seed,
    )
    return MixupModel(model, alpha, attack=attack, seed=seed)


@dataclass
class MixingEffect:
    """How much an adversarial perturbation still changes the prediction after mixing, per lambda.

    Attributes
    ----------
    lams : torch.Tensor
        (K,) the mixing weights, float64.
    effect : torch.Tensor
        (K,) float64, mean over inputs of the total-variation distance between the averaged softmax
        of the mixed clean inputs and of the mixed adversarial inputs (same partners): 0 = no effect
        left, 1 = maximal.
    clean_true, adv_true : torch.Tensor
        (K,) float64, mean probability of the true class for the mixed clean / adversarial inputs.
    mixed_clean, mixed_adv : torch.Tensor
        (K, N, samples, ...) the mixed inputs themselves (for pictures; CPU).
    """

    lams: torch.Tensor
    effect: torch.Tensor
    clean_true: torch.Tensor
    adv_true: torch.Tensor
    mixed_clean: torch.Tensor
    mixed_adv: torch.Tensor


def _check_sets(x: torch.Tensor, x_adv: torch.Tensor, x_pool: torch.Tensor) -> None:
    """Refuse x, x_adv and x_pool unless finite non-empty tensors of one input shape.

    ``x_adv`` pairs with ``x`` sample by sample; the pool's inputs would broadcast against x (a
    pool of (P, 1) mixed into inputs of (N, 2) without a word).
    """
    for name, value in (("x", x), ("x_adv", x_adv), ("x_pool", x_pool)):
        checks.finite_inputs(name, value, tensor=True)
    if x_adv.shape != x.shape:
        raise ValueError(
            f"x_adv must have the shape of x, {tuple(x.shape)}, got {tuple(x_adv.shape)}"
        )
    if x_pool.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"x_pool must hold inputs of the shape of x, (P, "
            f"{', '.join(map(str, x.shape[1:]))}), got {tuple(x_pool.shape)}"
        )


@torch.no_grad()
def mixing_effect(
    model: Predictor,
    x: torch.Tensor,
    x_adv: torch.Tensor,
    y: torch.Tensor,
    x_pool: torch.Tensor,
    lams: Sequence[float] | torch.Tensor,
    *,
    samples: int = 10,
    seed: int = 0,
) -> MixingEffect:
    """Mix clean x and adversarial x_adv with the *same* partners, for every lambda in ``lams``.

    The ``samples`` partners are drawn uniformly from ``x_pool``: the two mixtures differ by exactly
    lambda * delta, so the perturbation shrinks linearly with lambda, and this measures how much of
    its effect on the averaged softmax is left (the mechanism of Mixup Inference, Pang et al. 2020,
    Sec. 3). The model runs in eval mode (:func:`robviz.runtime.inference`), its own mode restored.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, x -> logits (N, L).
    x, x_adv : torch.Tensor
        Clean and adversarial inputs (N, ...).
    y : torch.Tensor
        True labels (N,).
    x_pool : torch.Tensor
        The partners to draw from (M, ...).
    lams : sequence of float or float
        The mixing weights lambda (K,), each in [0, 1]; a single number is one lambda.
    samples : int
        The number of partners per input, >= 1.
    seed : int
        Seeds the draw of partners.

    Returns
    -------
    MixingEffect
        Per lambda: the effect, the true-class probabilities, and the mixed inputs.

    Raises
    ------
    ValueError
        Empty or non-finite x, x_adv or x_pool; x_adv or the inputs of x_pool not of x's shape
        (they would broadcast against x); ``samples`` < 1; ``y`` not
        one integer label per input in [0, L) (naming the sample index); no lambda, or one outside
        [0, 1] (not a mixture: the input would be extrapolated away from its partner).
    """
    checks.model("model", model)
    seed = checks.seed("seed", seed)
    _check_sets(x, x_adv, x_pool)
    samples = checks.integer("samples", samples, low=1)
    y = checks.labels("y", y, len(x), num_classes=num_classes_of(model, x))
    # float64, as given: a float32 copy would mix with 0.30000001 for 0.3; a single number is one
    # lambda
    lam_values = checks.as_tensor("lams", lams).to(torch.float64).reshape(-1)
    if len(lam_values) == 0:
        raise ValueError("lams is empty: give at least one lambda")
    for lam in lam_values.tolist():
        checks.real("lams entry", lam, low=0, high=1)
    generator = torch.Generator().manual_seed(seed)
    index = torch.randint(0, len(x_pool), (len(x), samples), generator=generator).to(x_pool.device)
    partners = x_pool[index]
    effect, clean_true, adv_true, mixed_c, mixed_a = [], [], [], [], []
    for lam in lam_values.tolist():
        mc = lam * x[:, None] + (1 - lam) * partners
        ma = lam * x_adv[:, None] + (1 - lam) * partners
        pc = log_mean_softmax(
            inference(model, mc.reshape(-1, *x.shape[1:])).reshape(len(x), samples, -1)
        ).exp()
        pa = log_mean_softmax(
            inference(model, ma.reshape(-1, *x.shape[1:])).reshape(len(x), samples, -1)
        ).exp()
        pc, pa = pc.to(y.device), pa.to(y.device)  # in the model's dtype
        effect.append(0.5 * (pc - pa).abs().sum(1).mean().item())
        clean_true.append(pc.gather(1, y[:, None]).mean().item())
        adv_true.append(pa.gather(1, y[:, None]).mean().item())
        mixed_c.append(mc.cpu())
        mixed_a.append(ma.cpu())
    return MixingEffect(
        lam_values,
        torch.tensor(effect, dtype=torch.float64),
        torch.tensor(clean_true, dtype=torch.float64),
        torch.tensor(adv_true, dtype=torch.float64),
        torch.stack(mixed_c),
        torch.stack(mixed_a),
    )


def mi_robustness(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    x_adv: torch.Tensor,
    x_pool: torch.Tensor,
    y_pool: torch.Tensor,
    *,
    eps: float,
    alpha: float,
    bounds: tuple[float, float] | Dataset = (0.0, 1.0),
    steps: int = 10,
    eot_samples: int = 2,
    modes: Sequence[str] = ("PL", "OL", "combined"),
    batch_size: int | None = 64,
    lam: dict[str, float | tuple[float, float]] | None = None,
) -> RobustnessTable:
    """Accuracy of the bare model and of each MI variant, clean and under two attackers.

    As in the MI paper's table.

    * ``oblivious``: ``x_adv``, an attack on the bare ``model`` (e.g. PGD), then fed to MI
      unchanged;
    * ``adaptive``: PGD with ``steps`` steps of size ``alpha`` through MI itself, its gradient
      averaged over ``eot_samples`` draws of the mixing partners (EOT,
      :func:`robviz.attacks.eot.eot_objective`). For the bare model the adaptive attacker is the
      oblivious one.

    Each MI variant is a fresh :class:`MixupInference` (seed 0) with the paper's settings for its
    mode, so the numbers are reproducible. Those are for a mixup-trained model (lambda 0.5); for an
    interpolated-AT model the paper and the authors' README take lambda_OL = 0.6: pass
    ``lam={"OL": 0.6}`` (and ``{"combined": (0.5, 0.6)}`` for MI-Combined's branches).

    Parameters
    ----------
    model : torch.nn.Module
        The mixup-trained classifier.
    x, y : torch.Tensor
        (N, ...) clean inputs and (N,) labels; ``x_adv`` (N, ...) the oblivious attack's examples.
    x_pool, y_pool : torch.Tensor
        (M, ...) clean mixing partners and their (M,) labels.
    eps, alpha, bounds
        The adaptive attack's L-inf radius, step and input range.
    modes : sequence of str
        The MI variants, rows ``"MI-PL"``, ``"MI-OL"``, ``"MI-combined"``.
    batch_size : int or None
        The adaptive attack's batch (None: all at once). Its graph holds ``batch_size x samples x
        eot_samples`` mixtures at once, so memory grows with it; the accuracies depend on it only
        through which partners are drawn.
    lam : dict or None
        lambda per mode, e.g. ``{"OL": 0.6}``; a mode not named takes its default, 0.5
        (:data:`MI_DEFAULTS`). A value as :class:`MixupInference`'s ``lam``.

    Returns
    -------
    RobustnessTable
        A :class:`~robviz.attacks.RobustnessTable` with rows ``"no MI"`` and ``"MI-<mode>"`` and
        columns ``"clean"``, ``"oblivious"``, ``"adaptive"``; each value is the plain accuracy on
        the (attacked) inputs, as the MI paper reports it: ``table.get("oblivious",
        model="MI-PL")``. Print it for the table.

    Raises
    ------
    ValueError
        ``x``, ``x_adv`` or ``x_pool`` empty or non-finite (the error names the argument and the
        sample index); ``y`` or ``y_pool`` not one integer label per input in [0, L) (naming
        the sample index); ``x_adv`` not of the shape of ``x``, or the inputs of ``x_pool`` not of
        the shape of x's; ``modes`` empty, repeating a mode (two rows of one label), or naming no
        mode of :data:`MI_DEFAULTS`; ``steps``, ``eot_samples`` or ``batch_size`` below 1 (named);
        and as :class:`MixupInference` and :class:`~robviz.attacks.PGD` for the other arguments.
        All before any accuracy is computed.
    """
    checks.model("model", model, module=True)
    _check_sets(x, x_adv, x_pool)
    modes = [modes] if isinstance(modes, str) else list(modes)  # "PL" is one mode, not two
    for mode in modes:
        checks.choice("mode", mode, MI_DEFAULTS)
    if not modes or len(set(modes)) != len(modes):
        raise ValueError(
            f"modes must name each MI variant once, at least one of "
            f"{', '.join(map(repr, MI_DEFAULTS))}, got {modes}"
        )
    # the adaptive attack's settings, checked before the bare model's accuracy is computed
    PGD(model, eps=eps, alpha=alpha, steps=steps, bounds=bounds)
    # Checked here, before any accuracy is computed, and under the names given here (the EOT
    # objective calls its count "samples").
    steps = checks.integer("steps", steps, low=1)
    eot_samples = checks.integer("eot_samples", eot_samples, low=1)
    batch_size = checks.integer("batch_size", batch_size, low=1, allow_none=True)
    n = len(x)
    num_classes = num_classes_of(model, x)
    y = checks.labels("y", y, n, num_classes=num_classes)
    checks.labels("y_pool", y_pool, len(x_pool), num_classes=num_classes)
    lam = {} if lam is None else dict(lam)
    if set(lam) - set(modes):
        raise ValueError(
            f"lam names modes {sorted(set(lam) - set(modes))} that are not among modes "
            f"{list(modes)}"
        )

    def rows(name: str, clean: float, oblivious: float, adaptive: float) -> list[dict]:
        return [
            dict(model=name, attack=attack, eps=None, accuracy=value, distance=math.nan, n=n)
            for attack, value in (
                ("clean", clean),
                ("oblivious", oblivious),
                ("adaptive", adaptive),
            )
        ]

    bare = accuracy(model, x_adv, y)
    table = rows("no MI", accuracy(model, x, y), bare, bare)
    for mode in modes:
        mi = MixupInference(model, x_pool, y_pool, mode=mode, lam=lam.get(mode))
        adaptive = PGD(
            mi,
            eps=eps,
            alpha=alpha,
            steps=steps,
            bounds=bounds,
            loss=eot_objective(samples=eot_samples),
            batch_size=batch_size,
        )
        clean, oblivious = accuracy(mi, x, y), accuracy(mi, x_adv, y)
        table += rows(f"MI-{mode}", clean, oblivious, accuracy(mi, adaptive(x, y), y))
    return RobustnessTable(table)
