"""Detection scores (higher = more normal) and the RCE paper's ROC/AUC protocol.

See :mod:`robviz.detect`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .. import checks
from ..models import FeatureModel, Predictor
from ..runtime import inference, predict, to_numpy

if TYPE_CHECKING:
    from ..attacks import AttackResult
    from ..models import Classifier

__all__ = [
    "confidence",
    "non_max_entropy",
    "non_max_entropy_logits",
    "non_max_entropy_score",
    "KernelDensity",
    "LID",
    "lid_mle",
    "kd_bandwidth",
    "detection_pairs",
    "DetectionPairs",
    "roc_auc",
    "auc_standard_error",
    "roc_curve",
    "detection_scores",
    "KD_BANDWIDTH",
    "non_me_domain",
    "max_non_me_lines",
]

# sigma^2 of the K-density kernel in the RCE authors' code: 0.1 / 0.26 for RCE models, 1 / 0.26 for
# CE.
KD_BANDWIDTH = {"rce": 0.1 / 0.26, "ce": 1.0 / 0.26}


def _logits(model: Predictor, x: torch.Tensor) -> torch.Tensor:
    """Return model(x) for a detector: inputs checked non-empty and finite, eval mode, batched."""
    return checks.logits("model", inference(model, checks.finite_inputs("x", x)))


def _features(model: FeatureModel, x: torch.Tensor) -> torch.Tensor:
    """Return model.features(x), finite: a finite input can overflow the model (x = 1e38)."""
    z = inference(model, checks.finite_inputs("x", x), method="features")
    return checks.finite_inputs("model.features(x)", z)


def _check_outputs(values: npt.ArrayLike, name: str) -> np.ndarray:
    values = to_numpy(values, np.float64)
    if values.ndim != 2 or values.shape[1] < 3:
        raise ValueError(f"{name} must have shape (N, L) with L >= 3 classes, got {values.shape}")
    # A NaN row has no maximal entry: its non-ME would come out as an ordinary number.
    checks.finite_inputs(name, values, allow_empty=True)
    return values


# ----------------------------------------------------------------------------------- softmax scores


def confidence(model: Predictor, x: torch.Tensor) -> np.ndarray:
    """Return the baseline detector: the largest predicted probability, max_k softmax(model(x))_k.

    Higher = more normal.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, x -> prediction logits (N, L); run in eval mode, batched.
    x : torch.Tensor
        Inputs (N, ...).

    Returns
    -------
    np.ndarray
        Scores (N,) float64 in [1/L, 1].

    Raises
    ------
    ValueError
        Empty or non-finite x, or an output of the model that is not finite (naming the samples)
        or not (N, L) logits with L >= 2 (:func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    # a finite input can overflow the model: its NaN confidence would read as a score
    logits = checks.finite_inputs("model(x)", _logits(model, x))
    return to_numpy(logits.double().log_softmax(dim=1).max(dim=1).values.exp())


def _non_max_entropy_log(log_scores: np.ndarray) -> np.ndarray:
    """Return non-ME from log-probabilities or logits (N, L) float64, in log space.

    The non-maximal entries' renormalized distribution is their softmax, so no probability is formed
    before it is renormalized.
    """
    rows = np.arange(len(log_scores))
    top = log_scores.argmax(axis=1)
    rest = log_scores.copy()
    rest[rows, top] = -np.inf
    peak = rest.max(axis=1, keepdims=True)
    undefined = ~np.isfinite(peak[:, 0])  # every non-maximal probability is exactly 0
    peak[undefined] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_hat = rest - peak - np.log(np.exp(rest - peak).sum(axis=1, keepdims=True))
        terms = np.where(np.isfinite(log_hat), np.exp(log_hat) * log_hat, 0.0)
    entropy = -terms.sum(axis=1)
    entropy[undefined] = math.log(log_scores.shape[1] - 1)  # the convention for 0/0: uniform
    return entropy


def non_max_entropy(probabilities: npt.ArrayLike) -> np.ndarray:
    """Non-maximal entropy (non-ME) of predicted probabilities.

    Pang et al., "Towards Robust Detection of Adversarial Examples", NeurIPS 2018,
    https://arxiv.org/abs/1706.00633.

    With yhat = argmax_k F_k and the non-maximal probabilities renormalized, p_i = F_i / sum_{j !=
    yhat} F_j:

        nonME(F) = - sum_{i != yhat} p_i log p_i,      0 <= nonME <= log(L - 1),

    maximal when the L - 1 non-maximal probabilities are equal. RCE training drives clean inputs
    there.

    Computed in float64 and in log space; 0 log 0 = 0; when every non-maximal probability is exactly
    0 the renormalized distribution is taken as uniform (non-ME = log(L-1)). Probabilities that
    underflowed to 0 cannot be renormalized: from a model, use :func:`non_max_entropy_logits`.

    Parameters
    ----------
    probabilities : array-like or torch.Tensor
        Probabilities (N, L), L >= 3, each row summing to 1 (within 0.01).

    Returns
    -------
    np.ndarray
        non-ME (N,) float64 in [0, log(L - 1)].

    Raises
    ------
    ValueError
        ``probabilities`` is not (N, L) with L >= 3, has a NaN or infinite value (naming the
        sample), a negative one, or a row not summing to 1 (logits passed by mistake: their
        non-ME is :func:`non_max_entropy_logits`; the error names the rows).
    """
    p = _check_outputs(probabilities, "probabilities")
    if (p < 0).any():  # log of a negative number is NaN, and its term would be dropped as 0
        raise ValueError(f"probabilities must be >= 0, got {p.min()!r}")
    # Positive logits would otherwise pass, renormalized as if they were probabilities: [2, 3, 5]
    # scores 0.67 where its softmax scores 0.58.
    off = np.flatnonzero(np.abs(p.sum(axis=1) - 1) > 1e-2)
    if len(off):
        raise ValueError(
            f"probabilities must sum to 1 in each row, got {len(off)} of {len(p)} rows that do "
            f"not, at sample index {checks.first_items(off.tolist())} (sums "
            f"{checks.first_items([f'{v:.4g}' for v in p[off].sum(axis=1)])}): for logits use "
            "non_max_entropy_logits"
        )
    with np.errstate(divide="ignore"):
        return _non_max_entropy_log(np.log(p))


def non_max_entropy_logits(logits: npt.ArrayLike) -> np.ndarray:
    """Return :func:`non_max_entropy` of softmax(logits), computed in log space.

    p_i = softmax over the non-maximal logits, so float32 logits such as [0, -150, -160, -170],
    whose softmax underflows to [1, 0, 0, 0], still give the right value (about 5e-4, not log 3).

    Parameters
    ----------
    logits : array-like or torch.Tensor
        Logits (N, L), L >= 3.

    Returns
    -------
    np.ndarray
        non-ME (N,) float64.

    Raises
    ------
    ValueError
        ``logits`` is not (N, L) with L >= 3, or has a NaN or infinite value (naming the
        sample).
    """
    return _non_max_entropy_log(_check_outputs(logits, "logits"))


def non_max_entropy_score(model: Predictor, x: torch.Tensor) -> np.ndarray:
    """Return the non-ME detector: :func:`non_max_entropy_logits` of model(x).

    Higher = more normal (for an RCE model, clean inputs sit near the maximum log(L - 1)).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, x -> prediction logits (N, L), L >= 3.
    x : torch.Tensor
        Inputs (N, ...).

    Returns
    -------
    np.ndarray
        Scores (N,) float64.

    Raises
    ------
    ValueError
        Empty or non-finite x, or fewer than 3 classes (a model of one logit as
        :func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    return non_max_entropy_logits(_logits(model, x))


# ----------------------------------------------------------------------------------- kernel density


def kd_bandwidth(objective: str) -> float:
    """Return the default sigma^2 of :class:`KernelDensity` for an objective.

    Parameters
    ----------
    objective : str
        The objective's name (case-insensitive): ``"rce"`` gives 0.1/0.26, CE (``"sce"`` or
        ``"ce"``) 1/0.26, the values of the RCE authors' code.

    Returns
    -------
    float
        sigma^2.

    Raises
    ------
    ValueError
        Any other objective.
    """
    key = str(objective).lower()
    if key == "rce":
        return KD_BANDWIDTH["rce"]
    if key in ("sce", "ce"):
        return KD_BANDWIDTH["ce"]
    raise ValueError(
        f"no default K-density bandwidth for objective {objective!r}; valid: 'rce', 'sce', 'ce'"
    )


def _check_fitted_on(detector: KernelDensity | LID, model: FeatureModel) -> None:
    """Refuse to score with another model than the one fitted on.

    The detector's reference features are that model's: another model's features measured
    against them give numbers that look like scores and mean nothing.
    """
    if detector.model_ is not None and detector.model_ is not model:
        name = type(detector).__name__
        raise ValueError(
            f"{name} was fitted on another model: its reference features are that model's; "
            f"score with the model it was fitted on, or fit it on this one first"
        )


class KernelDensity:
    """Kernel density (K-density) on the features.

    Feinman et al., "Detecting Adversarial Samples from Artifacts", 2017,
    https://arxiv.org/abs/1703.00410; with the RCE paper's settings.

        KD(x) = 1/|Z_yhat| sum_{z_i in Z_yhat} exp(-||z(x) - z_i||^2 / sigma^2),

    where z(x) = ``model.features(x)`` and Z_yhat are the kernel points (training features) of the
    *predicted* class yhat = argmax model(x). :meth:`score` returns log KD (computed with
    log-sum-exp, so far points do not underflow to ties at 0); the logarithm does not change a ROC
    curve.

    Shapes: ``fit(model, x_train (M, ...), y_train (M,))``; ``score(model, x (N, ...)) -> (N,)``.

    Parameters
    ----------
    sigma2 : float or None
        The kernel's sigma^2. Default: :func:`kd_bandwidth` of the model's objective at :meth:`fit`
        (0.1/0.26 for RCE, 1/0.26 for CE).
    points_per_class : int
        Kernel points per class, drawn from the training set with ``seed``. Default 1000.
    seed : int
        Seeds the draw.

    Attributes
    ----------
    kernel_points : dict of int to torch.Tensor
        Class -> its kernel features (M_k, d), set by :meth:`fit`.

    Raises
    ------
    ValueError
        ``sigma2`` <= 0 or ``points_per_class`` < 1.

    Examples
    --------
    >>> kd = KernelDensity().fit(model, data.x_train, data.y_train)
    >>> x_adv = FGSM(model, eps=0.1)(x, y)
    >>> scores = kd(model, x_adv)          # log-densities, (N,)
    """

    def __init__(self, sigma2: float | None = None, *, points_per_class: int = 1000, seed: int = 0):
        seed = checks.seed("seed", seed)
        sigma2 = checks.real("sigma2", sigma2, low=0, low_open=True, allow_none=True)
        points_per_class = checks.integer("points_per_class", points_per_class, low=1)
        self.sigma2, self.points_per_class, self.seed = sigma2, points_per_class, seed
        # The bandwidth in use, set at fit (scikit-learn's trailing underscore): ``sigma2`` stays
        # what was asked for, so refitting on a model of another objective takes that model's.
        self.sigma2_: float | None = None
        self.kernel_points: dict[int, torch.Tensor] = {}
        self.model_: FeatureModel | None = None  # the model fitted on: score refuses another

    def fit(self, model: Classifier, x: torch.Tensor, y: torch.Tensor) -> "KernelDensity":
        """Store up to ``points_per_class`` training features per class.

        Sets the bandwidth in use, ``sigma2_``: ``sigma2`` when given, else the default of the
        model's objective (:func:`kd_bandwidth`), chosen anew at every fit.

        Parameters
        ----------
        model : Classifier
            The classifier, with ``features`` and ``objective``.
        x : torch.Tensor
            Training inputs (M, ...), every class present.
        y : torch.Tensor
            Their labels (M,).

        Returns
        -------
        KernelDensity
            self.

        Raises
        ------
        ValueError
            x and y of different lengths or y not 1-D; a label outside the model's classes [0, L)
            (naming the sample index); a class of the model without a sample in y; no default
            bandwidth for the model's objective (give ``sigma2``).
        TypeError
            ``model`` without ``features``, or without ``objective`` when ``sigma2`` is None.
        """
        checks.model(
            "model", model, needs=("features",) + (("objective",) if self.sigma2 is None else ())
        )
        y = checks.as_tensor("y", y)
        if len(x) != len(y) or y.dim() != 1:
            raise ValueError(
                f"x and y must hold the same number of samples, y 1-D; got {tuple(x.shape)}, "
                f"{tuple(y.shape)}"
            )
        from ..data import sample_per_class

        sigma2 = kd_bandwidth(model.objective.name) if self.sigma2 is None else self.sigma2
        num_classes = _logits(model, x[:1]).shape[1]
        y = checks.labels("y", y, len(x), num_classes=num_classes)
        missing = sorted(set(range(num_classes)) - set(torch.unique(y).tolist()))
        if missing:
            raise ValueError(
                f"the fit data has no sample of class(es) {missing} of the model's {num_classes}: "
                f"inputs predicted as those classes would get no kernel points (density 0); fit "
                f"on training data with every class (e.g. data.x_train, data.y_train)"
            )
        index = sample_per_class(y, self.points_per_class, seed=self.seed)
        z, labels = _features(model, x[index]), y[index].to("cpu")
        self.kernel_points = {
            int(k): z[labels.to(z.device) == k] for k in torch.unique(labels).tolist()
        }
        self.sigma2_, self.model_ = sigma2, model
        return self

    @torch.no_grad()
    def log_density(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Return log KD of features under the kernel points of the given classes.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        classes : torch.Tensor
            The class (N,) whose kernel points score each feature.

        Returns
        -------
        torch.Tensor
            log KD (N,) float64, on the CPU.

        Raises
        ------
        RuntimeError
            Not fitted.
        ValueError
            A class without kernel points.
        """
        sigma2 = self.sigma2_
        if not self.kernel_points or sigma2 is None:
            raise RuntimeError(
                "KernelDensity is not fitted: call fit(model, x_train, y_train) first"
            )
        out = torch.full((len(z),), -math.inf, dtype=torch.float64)
        for k in torch.unique(classes).tolist():
            mask = classes == k
            if k not in self.kernel_points:
                raise ValueError(f"class {k} has no kernel points: refit on data with every class")
            points = self.kernel_points[k].to(z.device, torch.float64)
            d2 = torch.cdist(z[mask].double(), points).pow(2)
            out[mask.cpu()] = (torch.logsumexp(-d2 / sigma2, dim=1) - math.log(len(points))).cpu()
        return out

    def score(self, model: FeatureModel, x: torch.Tensor) -> np.ndarray:
        """Return log KD(x) with the predicted class's kernel points.

        Higher = more normal.

        Parameters
        ----------
        model : Classifier
            The classifier it was fitted on.
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        np.ndarray
            Scores (N,) float64.

        Raises
        ------
        ValueError
            Empty or non-finite x, or non-finite features of it (a finite input can overflow the
            model); ``model`` not the model it was fitted on.
        RuntimeError
            Not fitted.
        """
        _check_fitted_on(self, model)
        z = _features(model, x)
        predicted = _logits(model, x).argmax(
            dim=1
        )  # x is finite; a NaN output is refused by log_density
        return to_numpy(self.log_density(z, predicted))

    __call__ = score

    def __repr__(self) -> str:
        return (
            f"KernelDensity(sigma2={self.sigma2}, "
            f"points_per_class={self.points_per_class}, seed={self.seed})"
        )


# ---------------------------------------------------------------------------------------------- LID


def lid_mle(
    z: torch.Tensor, reference: torch.Tensor, k: int = 20, *, exclude_self: bool = False
) -> torch.Tensor:
    """Return the maximum-likelihood local intrinsic dimensionality (LID) of each point in z.

    The estimator of Amsaleg et al. 2015, as used by Ma et al. 2018.

    Per point,

        LID(z) = -( 1/k sum_{i=1..k} log(r_i(z) / r_k(z)) )^{-1},

    with r_i(z) the distance from z to its i-th nearest neighbour in ``reference``.

    Parameters
    ----------
    z : torch.Tensor
        Points (N, d).
    reference : torch.Tensor
        Reference points (M, d), M >= k (M >= k + 1 when ``exclude_self``).
    k : int
        The number of nearest neighbours, >= 2 (with k = 1 every log(r_1 / r_1) is 0 and every
        point's LID the same infinity).
    exclude_self : bool
        Drop the nearest neighbour (use it when z is part of ``reference``).

    Returns
    -------
    torch.Tensor
        LID (N,) float64.

    Raises
    ------
    ValueError
        z and reference not (N, d) and (M, d), a NaN or infinite value in either (naming the
        sample), or k out of range.
    """
    exclude_self = checks.flag("exclude_self", exclude_self)
    z = checks.tensor_argument("z", z, "(N, d)")
    reference = checks.tensor_argument("reference", reference, "(M, d)")
    if z.dim() != 2 or reference.dim() != 2 or z.shape[1] != reference.shape[1]:
        raise ValueError(
            f"z and reference must be (N, d) and (M, d), got {tuple(z.shape)}, "
            f"{tuple(reference.shape)}"
        )
    checks.finite_inputs("z", z, allow_empty=True)
    checks.finite_inputs("reference", reference, allow_empty=True)
    skip = int(exclude_self)
    k = checks.integer(
        "k", k, low=2, high=len(reference) - skip, note=f"{len(reference)} reference points"
    )
    d = torch.cdist(z.double(), reference.to(z.device).double())
    r = d.topk(k + skip, dim=1, largest=False).values[:, skip:].clamp_min(1e-12)
    return -1.0 / torch.log(r / r[:, -1:]).mean(dim=1).clamp_max(-1e-12)


class LID:
    """Local intrinsic dimensionality of the features.

    Ma et al., "Characterizing Adversarial Subspaces Using Local Intrinsic Dimensionality", ICLR
    2018, https://arxiv.org/abs/1801.02613.

    Ma et al. compute the LID of every layer's activations against a mini-batch of clean inputs and
    train a logistic regression on those LID features. robviz keeps the idea and drops the training:
    one layer (the features z = ``model.features(x)``), the :func:`lid_mle` estimate with k = 20
    nearest neighbours in a fixed reference batch of clean training features, and the score

        score(x) = -LID(z(x))       (higher = more normal: adversarial regions have higher LID).

    Shapes: ``fit(model, x_train (M, ...))``; ``score(model, x (N, ...)) -> (N,)``.

    Parameters
    ----------
    k : int
        The number of nearest neighbours, >= 2. Default 20 (Ma et al.).
    reference_size : int
        Clean training points in the reference batch, > k. Default 1000.
    seed : int
        Seeds the draw of the reference batch.

    Attributes
    ----------
    reference : torch.Tensor or None
        The reference features (R, d), set by :meth:`fit`.

    Raises
    ------
    ValueError
        ``k`` < 2 (see :func:`lid_mle`) or ``reference_size`` <= k.
    """

    def __init__(self, k: int = 20, *, reference_size: int = 1000, seed: int = 0):
        seed = checks.seed("seed", seed)
        k = checks.integer("k", k, low=2)
        reference_size = checks.integer(
            "reference_size", reference_size, low=k + 1, note=f"more than k = {k}"
        )
        self.k, self.reference_size, self.seed = k, reference_size, seed
        self.reference: torch.Tensor | None = None
        self.model_: FeatureModel | None = None  # the model fitted on: score refuses another

    def fit(self, model: FeatureModel, x: torch.Tensor) -> "LID":
        """Draw the reference batch from ``x`` (clean training inputs) and store its features.

        Parameters
        ----------
        model : Classifier
            The classifier, with ``features``.
        x : torch.Tensor
            Clean training inputs (M, ...), M > k; up to ``reference_size`` of them are drawn.

        Returns
        -------
        LID
            self.

        Raises
        ------
        ValueError
            M <= k, or non-finite x or features of it.
        TypeError
            ``model`` without ``features``.
        """
        checks.model("model", model, needs=("features",))
        if len(x) <= self.k:
            raise ValueError(f"need more than k = {self.k} reference inputs, got {len(x)}")
        generator = torch.Generator().manual_seed(self.seed)
        index = torch.randperm(len(x), generator=generator)[: self.reference_size].to(x.device)
        self.reference, self.model_ = _features(model, x[index]), model
        return self

    def score(
        self, model: FeatureModel, x: torch.Tensor, *, exclude_self: bool = False
    ) -> np.ndarray:
        """Return -LID of each input's feature against the reference batch.

        Parameters
        ----------
        model : Classifier
            The classifier it was fitted on.
        x : torch.Tensor
            Inputs (N, ...).
        exclude_self : bool
            Drop each input's nearest reference point: use it for inputs drawn from the reference
            batch itself (training inputs), whose own copy at distance 0 would otherwise make the
            estimate collapse to a very "normal" score (LID 0.16 to 0.17 instead of 1.2 to 20 for
            three such points of a toy model, k = 5).

        Returns
        -------
        np.ndarray
            Scores (N,) float64, higher = more normal.

        Raises
        ------
        RuntimeError
            Not fitted.
        ValueError
            Empty or non-finite x, or non-finite features of it (a finite input can overflow the
            model); ``model`` not the model it was fitted on.
        """
        if self.reference is None:
            raise RuntimeError("LID is not fitted: call fit(model, x_train) first")
        _check_fitted_on(self, model)
        return to_numpy(
            -lid_mle(_features(model, x), self.reference, self.k, exclude_self=exclude_self)
        )

    __call__ = score

    def __repr__(self) -> str:
        return f"LID(k={self.k}, reference_size={self.reference_size}, seed={self.seed})"


# ----------------------------------------------------------------------------------------- protocol


@dataclass
class DetectionPairs:
    """The masks of the RCE paper's AUC protocol, all (N,) bool.

    Attributes
    ----------
    correct : torch.Tensor
        The clean input is classified correctly.
    success : torch.Tensor
        The attack succeeded (``AttackResult.success``).
    pairs : torch.Tensor
        Both; the clean and the adversarial input of these samples are scored.
    """

    correct: torch.Tensor
    success: torch.Tensor
    pairs: torch.Tensor

    @property
    def count(self) -> int:
        """The number of (clean, adversarial) pairs scored."""
        return int(self.pairs.sum())


@torch.no_grad()
def detection_pairs(
    model: Predictor, x: torch.Tensor, y: torch.Tensor, result: AttackResult
) -> DetectionPairs:
    """Which samples the AUC uses: clean correctly classified *and* attack successful.

    As in the RCE paper, Sec. 5.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    x : torch.Tensor
        Clean inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    result : robviz.attacks.AttackResult
        The :class:`~robviz.attacks.AttackResult` of x.

    Returns
    -------
    DetectionPairs
        The per-sample masks ``correct``, ``success`` and ``pairs``.

    Raises
    ------
    ValueError
        When x, y and result do not describe the same samples (their counts differ, or
        ``result.x`` and ``result.y`` are not ``x`` and ``y``: the error names the first samples
        that differ), or a label lies outside the model's classes [0, L) (naming the sample
        index); a ``model`` whose output is not (N, L) logits with L >= 2
        (:func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    if len(x) != len(y) or len(result.success) != len(y):
        raise ValueError(
            f"x, y and result must describe the same samples, got {len(x)}, {len(y)}, "
            f"{len(result.success)}"
        )
    logits = _logits(model, x)
    y = checks.labels("y", y, len(x), num_classes=logits.shape[1])
    _same_samples(x, y, result)
    correct = predict(logits).cpu() == y.cpu()
    # Judged by model, whose pairs these are: a result of an attack on another model (a surrogate)
    # carries that model's predictions.
    adversarial = predict(_logits(model, result.x_adv)).cpu()  # -1: a non-finite output
    if result.target is not None:
        success = adversarial == result.target.cpu()
    else:
        success = (adversarial != y.cpu()) & (adversarial >= 0)
    if result.failed is not None:
        success &= ~result.failed.bool().cpu()
    return DetectionPairs(correct=correct, success=success, pairs=correct & success)


def _same_samples(x: torch.Tensor, y: torch.Tensor, result: AttackResult) -> None:
    """Refuse a result of an attack on other points than (x, y), even of the same count.

    A pair is clean point i beside adversarial example i: a result of other points (another
    slice, a shuffled copy) would pair each clean point with another point's example. The result
    holds its clean inputs in the attacking model's dtype, so x is compared in that dtype.
    """
    if tuple(result.x.shape) != tuple(x.shape):
        raise ValueError(
            f"result must be the attack's result on x, of shape {tuple(x.shape)}, but its clean "
            f"inputs have shape {tuple(result.x.shape)}"
        )
    shape = (len(x), -1)
    x_there = x.detach().to(result.x.device, result.x.dtype).reshape(shape)
    differ = (x_there != result.x.detach().reshape(shape)).any(dim=1).cpu()
    differ |= y.cpu() != result.y.cpu()
    if bool(differ.any()):
        index = torch.nonzero(differ).flatten().tolist()
        raise ValueError(
            f"result must be the attack's result on x and y, but its clean inputs or labels "
            f"differ at {len(index)} of {len(x)} samples (sample index "
            f"{checks.first_items(index)}): run the attack on these x and y"
        )


def _check_scores(
    clean: npt.ArrayLike, adversarial: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    clean, adversarial = (to_numpy(s, np.float64) for s in (clean, adversarial))
    if clean.ndim != 1 or adversarial.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shapes {clean.shape} and {adversarial.shape}")
    if len(clean) == 0 or len(adversarial) == 0:
        raise ValueError("need at least one clean and one adversarial score (no successful pairs?)")
    if not (np.isfinite(clean).all() and np.isfinite(adversarial).all()):
        raise ValueError("scores must be finite")
    return clean, adversarial


def _labelled(clean: npt.ArrayLike, adversarial: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    clean, adversarial = _check_scores(clean, adversarial)
    labels = np.concatenate([np.ones(len(clean)), np.zeros(len(adversarial))])
    return labels, np.concatenate([clean, adversarial])


def roc_auc(
    scores_clean: npt.ArrayLike, scores_adversarial: npt.ArrayLike, *, ties: str = "half"
) -> float:
    """Area under the ROC curve, clean = positive.

    Higher score = normal. The AUC is the rank-sum (Mann-Whitney) statistic: the share of (clean,
    adversarial) pairs whose clean score is the higher one.

    1.0: every clean score above every adversarial one; 0.5: chance; 0.0: the detector is exactly
    reversed (the talk's 0.0 for confidence on C&W-hc).

    Tied pairs are where the two conventions differ (only there): ``"half"``, the default, counts a
    tie as 1/2 (``sklearn.metrics.roc_auc_score``); ``"authors"`` counts it as 0, as the RCE
    authors' ``Matlab_scripts/AUC.m`` does (ranks from MATLAB's stable sort with the clean scores
    listed first, so a tied clean score ranks below the adversarial one). Ties are common for
    saturated scores: if every clean and 60 % of the adversarial confidences are 1.0 and the rest
    0.9, ``"half"`` gives 0.7 and ``"authors"`` 0.4; all scores tied give 0.5 and 0.0.

    Parameters
    ----------
    scores_clean : array-like
        Scores (N_clean,) of the clean inputs.
    scores_adversarial : array-like
        Scores (N_adv,) of the adversarial inputs.
    ties : str
        ``"half"`` (default) or ``"authors"``, see above.

    Returns
    -------
    float
        The AUC in [0, 1].

    Raises
    ------
    ValueError
        Scores not 1-D, empty or not finite; an unknown ``ties``.
    """
    if ties == "authors":
        clean, adversarial = _check_scores(scores_clean, scores_adversarial)
        below = np.searchsorted(np.sort(adversarial), clean, side="left")  # strictly lower
        return float(below.sum() / (len(clean) * len(adversarial)))
    if ties != "half":
        raise ValueError(f"ties must be 'half' or 'authors', got {ties!r}")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(*_labelled(scores_clean, scores_adversarial)))


def auc_standard_error(auc: float, n_clean: int, n_adversarial: int) -> float:
    """Return the standard error of an AUC, from the AUC and the two sample sizes alone.

    Hanley and McNeil (1982), "The meaning and use of the area under a receiver operating
    characteristic (ROC) curve", Radiology 143, Eq. 2:

    SE^2 = [A (1 - A) + (n_c - 1) (Q1 - A^2) + (n_a - 1) (Q2 - A^2)] / (n_c n_a),
    Q1 = A / (2 - A), Q2 = 2 A^2 / (1 + A),

    exact when both classes' scores are exponentially distributed, a good approximation for most
    score distributions. Two AUCs measured on different pairs differ by more than noise when their
    difference exceeds about twice sqrt(SE_1^2 + SE_2^2) (treating them as independent: pairs that
    share clean images make the true standard error of the difference smaller, so the rule is
    conservative there).

    Parameters
    ----------
    auc : float
        The AUC A, in [0, 1].
    n_clean, n_adversarial : int
        The numbers of clean and adversarial scores it was computed from, >= 1.

    Returns
    -------
    float
        The standard error, in the units of the AUC.

    Raises
    ------
    ValueError
        ``auc`` not a finite number in [0, 1], or a sample size below 1.

    Examples
    --------
    >>> round(auc_standard_error(0.9, 50, 50), 4)
    0.0321
    """
    auc = checks.real("auc", auc, low=0, high=1)
    n_clean = checks.integer("n_clean", n_clean, low=1)
    n_adversarial = checks.integer("n_adversarial", n_adversarial, low=1)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (n_clean - 1) * (q1 - auc**2) + (n_adversarial - 1) * (q2 - auc**2)
    ) / (n_clean * n_adversarial)
    return math.sqrt(max(variance, 0.0))


def roc_curve(
    scores_clean: npt.ArrayLike, scores_adversarial: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ROC curve (``sklearn.metrics.roc_curve``), clean = positive.

    Parameters
    ----------
    scores_clean : array-like
        Scores (N_clean,) of the clean inputs.
    scores_adversarial : array-like
        Scores (N_adv,) of the adversarial inputs.

    Returns
    -------
    fpr : np.ndarray
        False-positive rate (T,): adversarial accepted as clean.
    tpr : np.ndarray
        True-positive rate (T,): clean accepted.
    thresholds : np.ndarray
        The score thresholds (T,).

    Raises
    ------
    ValueError
        Scores not 1-D, empty or not finite.
    """
    from sklearn.metrics import roc_curve as _roc_curve

    fpr, tpr, thresholds = _roc_curve(*_labelled(scores_clean, scores_adversarial))
    return fpr, tpr, thresholds


def detection_scores(
    detectors: dict, model: FeatureModel, x: torch.Tensor, y: torch.Tensor, result: AttackResult
) -> dict:
    """Score the paper's pairs with every detector.

    Parameters
    ----------
    detectors : dict
        Name -> callable ``detector(model, x) -> (N,)``.
    model, x, y
        The model and the clean inputs and labels the attack ran on.
    result : robviz.attacks.AttackResult
        The :class:`~robviz.attacks.AttackResult`.

    Returns
    -------
    dict
        Name -> (clean scores, adversarial scores), both (P,) for the P =
        ``detection_pairs(...).count`` pairs (empty arrays when the attack left no pair: a detector
        refuses an empty input).
    """
    checks.model("model", model, needs=("features",))
    keep = detection_pairs(model, x, y, result).pairs.to(x.device)
    if not bool(keep.any()):
        return {name: (np.zeros(0), np.zeros(0)) for name in detectors}
    x_clean, x_adv = x[keep], result.x_adv.to(x.device)[keep]
    return {
        name: (np.asarray(fn(model, x_clean)), np.asarray(fn(model, x_adv)))
        for name, fn in detectors.items()
    }


# ------------------------------------------------------------------------------- the talk's picture


@torch.no_grad()
def non_me_domain(
    model: Classifier, extent: tuple[float, float, float, float], resolution: int = 150
) -> dict:
    """Return the decision domain and non-ME of a model with 2-D features on a feature-plane grid.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`~robviz.models.Classifier` with 2-D features (its head maps z to logits).
    extent : tuple of float
        (z1_min, z1_max, z2_min, z2_max).
    resolution : int
        Grid points per axis.

    Returns
    -------
    dict
        Dict with ``labels`` (R, R) predicted class, ``non_me`` (R, R) non-ME of softmax(output
        logits) and ``extent``; rows run along z2 (as ``robviz.data.grid_points``).
    """
    checks.model("model", model, needs=("objective",))
    from ..data import grid_points

    if model.objective.feature_dim != 2:
        raise ValueError(
            "the domain picture needs 2-D features, got feature_dim = "
            f"{model.objective.feature_dim}"
        )
    grid = grid_points(extent, resolution)
    logits = model.objective.output(
        model.raw_logits(grid.to(next(model.parameters()).device))
    ).cpu()
    return dict(
        labels=to_numpy(logits.argmax(1).reshape(resolution, resolution)),
        non_me=non_max_entropy_logits(logits).reshape(resolution, resolution),
        extent=tuple(float(e) for e in extent),
    )


@torch.no_grad()
def max_non_me_lines(
    model: Classifier, extent: tuple[float, float, float, float], num: int = 600
) -> list[np.ndarray]:
    """Where non-ME is maximal for a 3-class model with 2-D features and a linear head (SCE, RCE).

    With three classes, non-ME = log 2 exactly where the two non-maximal logits are equal: on the
    part of the line h_i(z) = h_j(z) inside the domain of the third class k (the talk's black dashed
    lines; RCE training pulls each class's features towards its line).

    Parameters
    ----------
    model : Classifier
        A 3-class classifier with 2-D features and a linear head.
    extent : tuple of float
        (z1_min, z1_max, z2_min, z2_max): the points are clipped to it.
    num : int
        Points sampled along each line before clipping.

    Returns
    -------
    list of np.ndarray
        Up to three (M, 2) float32 arrays of points along those rays.

    Raises
    ------
    ValueError
        The objective is not 3-class, 2-D and linear.
    """
    checks.model("model", model, needs=("objective",))
    num = checks.integer("num", num, low=2)
    head = model.objective
    if head.num_classes != 3 or head.feature_dim != 2 or not hasattr(head, "linear"):
        raise ValueError(
            "max_non_me_lines needs a 3-class objective with 2-D features and a linear head "
            "(sce or rce)"
        )
    linear = cast(nn.Linear, head.linear)  # the linear head of sce and rce, checked above
    w, b = linear.weight.detach().cpu().double(), linear.bias.detach().cpu().double()
    x0, x1, y0, y1 = checks.extent("extent", extent)
    span = 2 * max(x1 - x0, y1 - y0) + float(np.abs(np.array(extent)).max())
    lines = []
    for i, j, k in ((0, 1, 2), (0, 2, 1), (1, 2, 0)):
        a, c = w[i] - w[j], b[i] - b[j]
        if a.norm() < 1e-12:
            continue
        base = -c * a / a.dot(a)
        direction = torch.stack([-a[1], a[0]]) / a.norm()
        t = torch.linspace(-span, span, num, dtype=torch.float64)
        points = base + t[:, None] * direction
        output = head.output(points @ w.T + b)
        inside = (
            (output.argmax(1) == k)
            & (points[:, 0] >= x0)
            & (points[:, 0] <= x1)
            & (points[:, 1] >= y0)
            & (points[:, 1] <= y1)
        )
        if inside.any():
            lines.append(to_numpy(points[inside], np.float32))
    return lines
