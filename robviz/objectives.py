"""Training objectives: each is a head (features z -> raw logits h), a loss, and a prediction rule.

Shapes everywhere: z is (N, d) features, h is (N, L) raw logits, y is (N,) integer labels in [0, L).
The *output logits* of an objective (what ``model(x)`` returns) are the ones whose argmax is the
prediction: they equal h for every objective except RCE, whose prediction negates them.

The losses are plain functions, short enough to read in a lecture; the classes only hold parameters.

| name | head | loss | paper |
|---|---|---|---|
| ``sce`` | linear | softmax cross-entropy | - |
| ``center`` | linear + learnable centers | SCE + lambda/2 ||z - c_y||^2 | Wen et al., ECCV 2016 |
| ``lgm`` | learned Gaussian means | margin SCE + lambda/2 ||z - mu_y||^2 | Wan et al., CVPR 2018 |
| ``mmlda`` | fixed MM centers | SCE on -factor ||z - mu_k||^2 | Pang et al., ICML 2018 |
| ``mmc`` | fixed MM centers | factor ||z - mu_y||^2 (no softmax) | Pang et al., ICLR 2020 |
| ``rce`` | linear | reverse cross-entropy, negated logits | Pang et al., NeurIPS 2018 |
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .centers import mm_centers

__all__ = [
    "OBJECTIVES",
    "Objective",
    "SCE",
    "CenterLoss",
    "LGM",
    "MMLDA",
    "MMC",
    "RCE",
    "make_objective",
    "nearest_center_decision",
    "sce_loss",
    "center_loss",
    "lgm_loss",
    "mmlda_loss",
    "mmc_loss",
    "rce_loss",
    "squared_distances",
    "cross_entropy_per_sample",
    "per_sample_loss",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------------------------------- losses


def squared_distances(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Return ||z_n - mu_k||^2 for every sample n and center k.

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    centers : torch.Tensor
        Centers (L, d), same dtype and device as ``z``.

    Returns
    -------
    torch.Tensor
        Squared Euclidean distances (N, L).

    Raises
    ------
    ValueError
        Features and centers of two dimensions d.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    if z.shape[-1] != centers.shape[-1]:
        raise ValueError(
            f"z and centers must have one feature dimension d, got z {tuple(z.shape)} and centers "
            f"{tuple(centers.shape)}"
        )
    return (z.unsqueeze(1) - centers.unsqueeze(0)).pow(2).sum(dim=2)


def sce_loss(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy: mean over the batch of -log softmax(h)_y.

    Parameters
    ----------
    h : torch.Tensor
        Raw logits (N, L).
    y : torch.Tensor
        Integer labels (N,) in [0, L).

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`).
    """
    h = checks.tensor_argument("h", h, "(N, L)")
    return F.cross_entropy(h, checks.labels("y", y, len(h), num_classes=h.shape[1]))


def center_loss(
    h: torch.Tensor, z: torch.Tensor, y: torch.Tensor, centers: torch.Tensor, weight: float = 0.1
) -> torch.Tensor:
    """Center loss (Wen et al., ECCV 2016).

    The paper: "A Discriminative Feature Learning Approach for Deep Face Recognition".

    L = SCE(h, y) + weight/2 * mean_n ||z_n - c_{y_n}||^2, with learnable class centers c (L, d).

    Parameters
    ----------
    h : torch.Tensor
        Raw logits (N, L).
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Integer labels (N,) in [0, L).
    centers : torch.Tensor
        The class centers c (L, d).
    weight : float
        lambda, the weight of the center term.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`); ``weight`` < 0.
    """
    h = checks.tensor_argument("h", h, "(N, L)")
    z = checks.tensor_argument("z", z, "(N, d)")
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    y = checks.labels("y", y, len(z), num_classes=len(centers))
    weight = checks.real("weight", weight, low=0)
    pull = 0.5 * (z - centers[y]).pow(2).sum(dim=1).mean()
    return sce_loss(h, y) + weight * pull


def lgm_loss(
    z: torch.Tensor, y: torch.Tensor, means: torch.Tensor, margin: float = 0.1, weight: float = 0.1
) -> torch.Tensor:
    """Large-margin Gaussian mixture loss.

    Wan et al., "Rethinking Feature Distribution for Loss Functions in Image Classification", CVPR
    2018. With identity covariances.

    d_k = 1/2 ||z - mu_k||^2; the true class's distance is enlarged by the margin, d_y * (1 +
    margin); L = SCE(-d with margin, y) + weight * mean_n d_{y_n} (the likelihood regularizer).

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Integer labels (N,) in [0, L).
    means : torch.Tensor
        The class means mu (L, d).
    margin : float
        The relative margin on the true class's distance (0: plain Gaussian-mixture softmax).
    weight : float
        The weight of the likelihood regularizer.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`); ``margin`` or ``weight`` < 0.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    means = checks.tensor_argument("means", means, "(L, d)")
    y = checks.labels("y", y, len(z), num_classes=len(means))
    margin = checks.real("margin", margin, low=0)
    weight = checks.real("weight", weight, low=0)
    d = 0.5 * squared_distances(z, means)
    d_true = d.gather(1, y[:, None])
    d_margin = d.scatter(1, y[:, None], d_true * (1.0 + margin))
    return sce_loss(-d_margin, y) + weight * d_true.mean()


def mmlda_loss(
    z: torch.Tensor, y: torch.Tensor, centers: torch.Tensor, factor: float = 0.5
) -> torch.Tensor:
    """MMLDA loss (Pang et al., "Max-Mahalanobis Linear Discriminant Analysis Networks", ICML 2018).

    Softmax cross-entropy on the logits h_k = -factor * ||z - mu*_k||^2, with fixed Max-Mahalanobis
    centers mu* (L, d). The paper writes factor = 1/2; the authors' code
    (P2333/Max-Mahalanobis-Training, ``train.py`` with ``use_ball=False``: cross-entropy on the
    log-softmax of -||z - mu_k||^2) uses factor = 1. Here the factor is a temperature: it changes
    the softmax itself, not only the size of the loss.

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Labels (N,).
    centers : torch.Tensor
        The Max-Mahalanobis centers (L, d).
    factor : float
        The loss factor, > 0.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`); ``factor`` not > 0; ``z`` and ``centers`` of two
        dimensions.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    factor = checks.real("factor", factor, low=0, low_open=True)
    return sce_loss(-factor * squared_distances(z, centers), y)


def mmc_loss(
    z: torch.Tensor, y: torch.Tensor, centers: torch.Tensor, factor: float = 0.5
) -> torch.Tensor:
    """Max-Mahalanobis center (MMC) loss.

    Pang et al., "Rethinking Softmax Cross-Entropy Loss for Adversarial Robustness", ICLR 2020.

        L_MMC(z, y) = factor * ||z - mu*_y||^2,   averaged over the batch,

    with fixed Max-Mahalanobis centers mu* (L, d) (see ``robviz.centers.mm_centers``). No softmax:
    the loss pulls each feature straight to its own center. The paper writes factor = 1/2; the
    authors' code (P2333/Max-Mahalanobis-Training, ``train.py``: ``dot_loss`` on the logits -||z -
    mu_k||^2) uses 1. This is not a pure learning-rate rescale: under SGD with weight decay, factor
    1/2 halves the loss gradient but not the decay, so it equals the code's training only at half
    the learning rate *and* twice the decay. ``robviz.scale.recipes`` has both: ``paper`` (1/2) and
    ``authors``/``mmc-authors`` (1).

    Parameters
    ----------
    z : torch.Tensor
        Features (N, d).
    y : torch.Tensor
        Labels (N,).
    centers : torch.Tensor
        The Max-Mahalanobis centers (L, d).
    factor : float
        The loss factor (paper 1/2, code 1).

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`); ``factor`` not > 0; ``z`` and ``centers`` of two
        dimensions.
    """
    z = checks.tensor_argument("z", z, "(N, d)")
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    y = checks.labels("y", y, len(z), num_classes=len(centers))
    factor = checks.real("factor", factor, low=0, low_open=True)
    if z.shape[-1] != centers.shape[-1]:
        raise ValueError(
            f"z and centers must have one feature dimension d, got z {tuple(z.shape)} and centers "
            f"{tuple(centers.shape)}"
        )
    return factor * (z - centers[y]).pow(2).sum(dim=1).mean()


def rce_loss(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Reverse cross-entropy (Pang et al., NeurIPS 2018).

    The paper: "Towards Robust Detection of Adversarial Examples".

    With the reverse label R_y = (1 - onehot_y) / (L - 1):
        L_RCE = -R_y . log softmax(h) = -1/(L-1) * sum_{i != y} log softmax(h)_i,   averaged over
        the batch.
    Training drives softmax(h) towards R_y; the prediction then uses the *negated* logits,
    softmax(-h).

    Parameters
    ----------
    h : torch.Tensor
        Raw logits (N, L), L >= 2.
    y : torch.Tensor
        Integer labels (N,) in [0, L).

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        ``y`` not one integer label per sample, or a label outside [0, L)
        (:func:`robviz.checks.labels`); fewer than 2 classes.
    """
    h = checks.tensor_argument("h", h, "(N, L)")
    num_classes = h.shape[1]
    if num_classes < 2:  # the reverse label 1/(L - 1) is 0/0
        raise ValueError(
            f"h must have L >= 2 classes for a reverse label, got shape {tuple(h.shape)}"
        )
    y = checks.labels("y", y, len(h), num_classes=num_classes)
    reverse = (1.0 - F.one_hot(y, num_classes).to(h.dtype)) / (num_classes - 1)
    return -(reverse * F.log_softmax(h, dim=1)).sum(dim=1).mean()


# -------------------------------------------------------------------------------------------- heads


class Objective(nn.Module):
    """Base class of the objective heads.

    ``forward(z)`` gives raw logits h, ``loss(z, h, y)`` the training loss, ``output(h)`` the logits
    whose argmax is the prediction. ``centers`` is the (L, d) tensor of class centers, if any.

    What the rest of robviz needs to know about an objective it reads here, from the class, so that
    adding an objective is one class and one ``OBJECTIVES`` entry (``tests/test_registries.py``
    checks every entry):

    * ``name``: the registry key (``OBJECTIVES``), the CLI choice and the recipes' lookup key;
    * ``label``: how figures and tables name it;
    * ``cifar_feature_dim``: the CIFAR ResNet's extra feature layer by default (None: the pooled
      features);
    * ``has_factor``: the loss takes the MMC/MMLDA ``factor`` (paper 1/2, authors' code 1), set by
      the recipes;
    * ``softmax_loss``: the loss is exactly the softmax cross-entropy of h, -log softmax(h)_y, and
      nothing else; ``per_sample_loss(float64=True)`` then computes it in the form that keeps tiny
      losses nonzero;
    * ``authors_recipe``: the recipe of ``robviz.scale.recipes`` that reproduces the authors' code
      for it, or None (the default: ``get_recipe("authors", name)`` then raises, it never falls back
      to another paper's);
    * :meth:`decision`: the prediction as an affine map of z, which ``robviz.exact`` reads;
    * ``centers``: the class centers, or None;
    * ``attack_objective``: the attack objective every attack uses by default
      (``robviz.attacks.auto_objective``), the one measured to find the most adversarial examples:
      a key of ``robviz.attacks.objectives.ATTACK_OBJECTIVES`` (``"cross-entropy"``, ``"margin"``,
      ``"mmc"``), ``"cross-entropy"`` by default;
    * ``paper_attack_objective``: the adaptive attack objective of the head's paper
      (``robviz.attacks.paper_objective``, the talk's battery and adversarial training), a key of
      the same mapping, ``"cross-entropy"`` by default;
    * :meth:`spherical_loss`: (centers, factor) when the per-sample loss is factor ||z - mu_y||^2,
      whose loss shells are spheres of closed-form volume (``robviz.shell_density``), or None.

    Parameters
    ----------
    num_classes : int
        L, the number of classes, >= 2.
    feature_dim : int
        d, the feature dimension, >= 1.

    Attributes
    ----------
    num_classes, feature_dim : int
        As given.

    Raises
    ------
    ValueError
        ``num_classes`` < 2 or ``feature_dim`` < 1 (or not integers).
    """

    name = "objective"
    label = "objective"
    cifar_feature_dim: int | None = None
    has_factor = False
    softmax_loss = False
    authors_recipe: str | None = None
    attack_objective = "cross-entropy"
    paper_attack_objective = "cross-entropy"

    def __init__(self, num_classes: int, feature_dim: int):
        super().__init__()
        self.num_classes = checks.integer("num_classes", num_classes, low=2)
        self.feature_dim = checks.integer("feature_dim", feature_dim, low=1)

    @property
    def centers(self) -> torch.Tensor | None:
        """The (L, d) class centers of the head, or None (a linear head)."""
        return None

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the scalar training loss of features z, raw logits h and labels y.

        Every head's loss begins with ``y = self.check_labels(y, n)``, n the length of the z or
        h it reads (a head that reads only h may be given ``z=None``).

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        h : torch.Tensor
            Raw logits (N, L), ``self(z)``.
        y : torch.Tensor
            Integer labels (N,) in [0, L).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            ``y`` not one integer label per feature, or a label outside [0, L)
            (:meth:`check_labels`).
        """
        raise NotImplementedError

    def check_labels(self, y: torch.Tensor, n: int) -> torch.Tensor:
        """Return the labels ``y`` as int64 (n,), or raise if one lies outside the head's classes.

        The first line of every head's :meth:`loss`: a label outside [0, L) is no class, yet as an
        index it picks another class's value (``centers[-1]`` is the last class's center), a
        finite loss that trains the wrong thing. One min/max on ``y``'s device
        (:func:`robviz.checks.labels`). The range is not read inside ``torch.compile`` and
        ``torch.func`` transforms: their callers check once outside (:func:`per_sample_loss`
        before its ``vmap``; the CIFAR loop's labels when its :class:`robviz.data.Dataset` is
        built).

        Parameters
        ----------
        y : torch.Tensor
            Integer labels (n,).
        n : int
            The number of features they label.

        Returns
        -------
        torch.Tensor
            (n,) int64, on ``y``'s device.

        Raises
        ------
        ValueError
            ``y`` not of shape (n,) or not integer, or a label outside [0, L); the error names
            ``y`` and the first sample indices.
        """
        return checks.labels("y", y, n, num_classes=self.num_classes)

    def output(self, h: torch.Tensor) -> torch.Tensor:
        """Return the prediction logits of raw logits h; here h itself.

        Parameters
        ----------
        h : torch.Tensor
            Raw logits (N, L).

        Returns
        -------
        torch.Tensor
            Prediction logits (N, L), whose argmax is the prediction.
        """
        return h

    def decision(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Return the prediction as an affine map of the feature.

        (W (L, d), b (L,)) such that the prediction logits ``output(forward(z))`` equal ``z @ W.T +
        b`` plus a term that is the same for every class (0 for linear heads, -factor ||z||^2 for
        nearest-center heads). So the argmax and every logit difference agree, and ``robviz.exact``
        reads the decision from here. None (the default): the decision is not affine in z, and
        ``robviz.exact`` refuses the model with a ``TypeError``.
        """
        return None

    def spherical_loss(self) -> tuple[torch.Tensor, float] | None:
        """Return (centers, factor) if the per-sample loss is factor ||z - mu_y||^2, else None.

        Such a loss has spherical level sets around the centers, so its loss shells have a
        closed-form volume (``robviz.shell_density.sample_density`` then counts exact shells, in any
        dimension, instead of estimating volumes by Monte Carlo), and the loss itself is an attack
        objective (``"mmc"`` in ``robviz.attacks.objectives.ATTACK_OBJECTIVES``). None (the
        default): any other loss.

        Returns
        -------
        tuple of (torch.Tensor, float) or None
            The (L, d) centers mu and the factor, or None.
        """
        return None

    def extra_repr(self) -> str:
        """Return the settings shown in the module's repr."""
        return f"num_classes={self.num_classes}, feature_dim={self.feature_dim}"


def nearest_center_decision(
    centers: torch.Tensor, factor: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the affine decision (weights, biases) of logits h_k = -factor ||z - mu_k||^2.

    -factor ||z - mu_k||^2 = 2 factor mu_k . z - factor ||mu_k||^2 - factor ||z||^2, and the last
    term is the same for every class.

    Parameters
    ----------
    centers : torch.Tensor
        The class centers mu (L, d).
    factor : float
        The logit factor, > 0 (not checked here).

    Returns
    -------
    weights : torch.Tensor
        2 factor mu, (L, d).
    biases : torch.Tensor
        -factor ||mu_k||^2, (L,).
    """
    centers = checks.tensor_argument("centers", centers, "(L, d)")
    return 2 * factor * centers, -factor * centers.pow(2).sum(dim=1)


class _LinearHead(Objective):
    def __init__(self, num_classes: int, feature_dim: int):
        super().__init__(num_classes, feature_dim)
        self.linear = nn.Linear(feature_dim, num_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(z)

    def decision(self) -> tuple[torch.Tensor, torch.Tensor]:
        # output() is applied row-wise and linear in h (the identity, or the negation for RCE), so
        # applying it to the rows of W.T and to b gives the affine map of the prediction logits
        return self.output(self.linear.weight.T).T, self.output(self.linear.bias[None])[0]


class SCE(_LinearHead):
    """Softmax cross-entropy with a linear head h = W z + b."""

    name, label = "sce", "SCE"
    softmax_loss, authors_recipe = (
        True,
        "mmc-authors",
    )  # the MMC repository also trains the SCE baseline

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the softmax cross-entropy of the logits h.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d); unused.
        h : torch.Tensor
            Raw logits (N, L).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(h))
        return sce_loss(h, y)


class CenterLoss(_LinearHead):
    """Softmax cross-entropy plus the center loss with learnable centers (Wen et al., ECCV 2016).

    Parameters
    ----------
    num_classes : int
        L, the number of classes, >= 2.
    feature_dim : int
        d, the feature dimension, >= 1.
    weight : float
        lambda, the weight of the center term, >= 0.

    Raises
    ------
    ValueError
        ``weight`` < 0 (a center term that pushes features away from their centers).

    Attributes
    ----------
    class_centers : torch.nn.Parameter
        The learnable centers (L, d), initialized from a standard normal.
    """

    name, label = "center", "Center loss"
    authors_recipe = "mmc-authors"  # the MMC repository's settings (it has no center-loss code)

    def __init__(self, num_classes: int, feature_dim: int, weight: float = 0.1):
        super().__init__(num_classes, feature_dim)
        self.weight = checks.real("weight", weight, low=0)
        self.class_centers = nn.Parameter(torch.randn(num_classes, feature_dim))

    @property
    def centers(self) -> torch.Tensor:
        """The learnable (L, d) centers."""
        return self.class_centers

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return softmax cross-entropy plus ``weight`` times the center loss.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        h : torch.Tensor
            Raw logits (N, L).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(h))
        return center_loss(h, z, y, self.class_centers, self.weight)


class LGM(Objective):
    """Large-margin Gaussian mixture (Wan et al., CVPR 2018).

    Learnable means, logits -1/2 ||z - mu_k||^2 (the margin applies only in the training loss).

    Parameters
    ----------
    num_classes : int
        L, the number of classes, >= 2.
    feature_dim : int
        d, the feature dimension, >= 1.
    margin : float
        The relative margin of the training loss (see :func:`lgm_loss`), >= 0.
    weight : float
        The weight of the likelihood regularizer, >= 0.

    Raises
    ------
    ValueError
        ``margin`` or ``weight`` < 0.

    Attributes
    ----------
    means : torch.nn.Parameter
        The learnable means (L, d), initialized from a standard normal.
    """

    name, label = "lgm", "L-GM"
    authors_recipe = "mmc-authors"  # the MMC repository's settings (it has no L-GM code)

    def __init__(
        self, num_classes: int, feature_dim: int, margin: float = 0.1, weight: float = 0.1
    ):
        super().__init__(num_classes, feature_dim)
        self.margin = checks.real("margin", margin, low=0)
        self.weight = checks.real("weight", weight, low=0)
        self.means = nn.Parameter(torch.randn(num_classes, feature_dim))

    @property
    def centers(self) -> torch.Tensor:
        """The learnable (L, d) means."""
        return self.means

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return the logits -1/2 ||z - mu_k||^2.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).

        Returns
        -------
        torch.Tensor
            Raw logits (N, L).
        """
        return -0.5 * squared_distances(z, self.means)

    def decision(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the affine decision of the nearest-mean rule (factor 1/2)."""
        return nearest_center_decision(self.means, 0.5)

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the L-GM loss with the head's margin and weight.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        h : torch.Tensor
            Raw logits (N, L); unused (the loss recomputes the distances with the margin).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(z))
        return lgm_loss(z, y, self.means, self.margin, self.weight)


class _MMHead(Objective):
    """Fixed Max-Mahalanobis centers of length ``norm`` (the authors' ``mean_var``).

    That is, ||mu_k|| = norm, not norm^2.

    Logits h_k = -factor * ||z - mu_k||^2, factor 1/2 (the papers) or 1 (the authors' code).

    Raises
    ------
    ValueError
        ``factor`` not > 0 (0 makes every loss 0, < 0 trains features away from their centers),
        ``norm`` not > 0 (:func:`robviz.centers.mm_centers`).
    """

    mm_centers: torch.Tensor  # a buffer (registered in __init__)

    def __init__(self, num_classes: int, feature_dim: int, norm: float = 10.0, factor: float = 0.5):
        super().__init__(num_classes, feature_dim)
        # norm is checked by mm_centers; a factor <= 0 would make every loss 0 (or a hill)
        self.norm, self.factor = norm, checks.real("factor", factor, low=0, low_open=True)
        self.register_buffer(
            "mm_centers", mm_centers(num_classes, feature_dim, norm)
        )  # never trained

    @property
    def centers(self) -> torch.Tensor:
        return self.mm_centers

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return -self.factor * squared_distances(z, self.mm_centers)

    def decision(self) -> tuple[torch.Tensor, torch.Tensor]:
        return nearest_center_decision(self.mm_centers, self.factor)


class MMLDA(_MMHead):
    """MMLDA (ICML 2018): softmax cross-entropy on the distances to fixed MM centers.

    Defaults: C = 10 (the code's ``mean_var = 10``, the length of each center), factor 1/2 (the
    paper; the code: 1, which changes the softmax).
    """

    name, label = "mmlda", "MMLDA"
    cifar_feature_dim, has_factor, softmax_loss, authors_recipe = 256, True, True, "mmc-authors"

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the MMLDA loss with the head's factor.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        h : torch.Tensor
            Raw logits (N, L); unused (the loss recomputes the distances).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(z))
        return mmlda_loss(z, y, self.mm_centers, self.factor)


class MMC(_MMHead):
    """MMC (ICLR 2020): pull every feature to its fixed MM center; predict the nearest center.

    Defaults: C = 10 ("MMC-10", the code's ``mean_var = 10``), factor 1/2 (the paper; the code: 1).
    """

    name, label = "mmc", "MMC"
    cifar_feature_dim, has_factor, authors_recipe = 256, True, "mmc-authors"
    # the margin finds far more adversarial examples than the MMC loss against the exact robust
    # accuracy (measured: robviz.attacks.auto_objective); the paper attacks with its own loss
    attack_objective, paper_attack_objective = "margin", "mmc"

    def spherical_loss(self) -> tuple[torch.Tensor, float]:
        """Return the fixed MM centers and the factor: the MMC loss is factor ||z - mu_y||^2."""
        return self.mm_centers, self.factor

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the MMC loss with the head's factor.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).
        h : torch.Tensor
            Raw logits (N, L); unused (the loss recomputes the distances).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(z))
        return mmc_loss(z, y, self.mm_centers, self.factor)


class RCE(_LinearHead):
    """Reverse cross-entropy (NeurIPS 2018): train towards the reverse label, predict with -h.

    Training pulls softmax(h) towards the reverse label.
    """

    name, label = "rce", "RCE"
    authors_recipe = "rce-authors"

    def loss(self, z: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the reverse cross-entropy of the logits h.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d); unused.
        h : torch.Tensor
            Raw logits (N, L).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.

        Raises
        ------
        ValueError
            A label outside [0, L) (:meth:`Objective.check_labels`).
        """
        y = self.check_labels(y, len(h))
        return rce_loss(h, y)

    def output(self, h: torch.Tensor) -> torch.Tensor:
        """Return the prediction logits -h (RCE predicts with the negated logits).

        Parameters
        ----------
        h : torch.Tensor
            Raw logits (N, L).

        Returns
        -------
        torch.Tensor
            Prediction logits (N, L).
        """
        return -h


OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls for cls in (SCE, CenterLoss, LGM, MMLDA, MMC, RCE)
}


def make_objective(
    name: str | Objective, num_classes: int, feature_dim: int, **options: float
) -> Objective:
    """Build an objective by name: one of ``robviz.objectives.OBJECTIVES``.

    Parameters
    ----------
    name : str or Objective
        One of sce, center, lgm, mmlda, mmc, rce (case-insensitive). An :class:`Objective` instance
        is returned unchanged (the other arguments are then ignored).
    num_classes : int
        L, the number of classes.
    feature_dim : int
        d, the feature dimension.
    **options
        Go to the objective's constructor (e.g. ``norm=10.0`` for mmc, ``weight=0.1`` for center).

    Returns
    -------
    Objective
        The new head.

    Raises
    ------
    ValueError
        An unknown name (the error lists the valid ones), or invalid ``num_classes`` /
        ``feature_dim``.
    """
    if isinstance(name, Objective):
        return name
    key = str(name).lower()
    if key not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; valid names: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[key](num_classes, feature_dim, **options)


# -------------------------------------------------------------------------------- per-sample losses


def cross_entropy_per_sample(h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return -log softmax(h)_y for every sample, accurate also for tiny losses.

        -log softmax(h)_y = log(1 + sum_{k != y} exp(h_k - h_y))
                          = softplus(logsumexp_{k != y}(h_k - h_y)).

    The usual logsumexp(h) - h_y rounds to exactly 0 once the loss falls below the float precision
    (about 1e-7 in float32, 1e-16 in float64), which a well-trained softmax head reaches for most
    training points; softplus of a very negative number is its exponential, so this form keeps every
    loss distinct (down to about 1e-308 in float64). Sample-density shells between loss quantiles
    need that: tied losses would merge the shells.

    Parameters
    ----------
    h : torch.Tensor
        Raw logits (N, L).
    y : torch.Tensor
        Integer labels (N,) in [0, L).

    Returns
    -------
    torch.Tensor
        The per-sample losses (N,), in the dtype of ``h``.

    Raises
    ------
    ValueError
        ``y`` not one integer label per row of ``h``, or a label outside [0, L)
        (:func:`robviz.checks.labels`).
    """
    h = checks.tensor_argument("h", h, "(N, L)")
    y = checks.labels("y", y, len(h), num_classes=h.shape[1])
    others = torch.ones_like(h, dtype=torch.bool).scatter(1, y[:, None].long(), False)
    margins = (h - h.gather(1, y[:, None].long())).masked_fill(~others, -math.inf)
    return torch.nn.functional.softplus(torch.logsumexp(margins, dim=1))


def per_sample_loss(loss: Objective | LossFn, *, float64: bool = False) -> LossFn:
    """Return a per-sample loss from an objective or a callable.

    The loss maps ``(M, d) features, (M,) labels -> (M,) losses``.

    An :class:`Objective` gives its own training loss, one term per sample: the objectives' losses
    average over the batch, and applying one to batches of a single sample (``torch.func.vmap``)
    gives every sample's own term, extra terms (center loss, L-GM) included. A callable is returned
    as it is.

    Parameters
    ----------
    loss : Objective or callable
        The objective, or a callable (z, y) -> (M,) per-sample losses.
    float64 : bool
        * ``False`` (loss landscapes, contour tracing): the objective itself, in its dtype,
          differentiable in z and in its parameters.
        * ``True`` (sample-density shells): a frozen float64 copy of the objective (later
          training does not change it), features cast to float64, and for the pure softmax heads
          (``softmax_loss``: SCE, MMLDA) :func:`cross_entropy_per_sample`: a well-fitted softmax
          loss falls below float32's resolution and rounds to 0, and tied losses would merge the
          equal-count shells of ``robviz.shell_density``. Still differentiable in z.

        Ignored for a callable ``loss``.

    Returns
    -------
    callable
        (z (M, d), y (M,)) -> losses (M,); for an objective it raises a ``ValueError`` for a label
        outside [0, L) (:meth:`Objective.check_labels`).

    Raises
    ------
    ValueError
        ``loss`` is neither an :class:`Objective` nor callable.
    """
    float64 = checks.flag("float64", float64)
    if not isinstance(loss, Objective):
        if callable(loss):
            return loss
        raise ValueError(
            "loss must be a robviz Objective or a callable (z, y) -> per-sample losses, got "
            f"{loss!r}"
        )
    head = copy.deepcopy(loss).double().requires_grad_(False) if float64 else loss

    def one(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return head.loss(z[None], head(z[None]), y[None])

    per_sample = torch.func.vmap(one)

    def batched(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The heads' own label check cannot read values inside vmap: once here, for the batch.
        return per_sample(z, head.check_labels(y, len(z)))

    if not float64:
        return batched

    def loss_fn(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z = z.double()
        if head.softmax_loss:
            return cross_entropy_per_sample(head(z), head.check_labels(y, len(z)))
        return batched(z, y)

    return loss_fn
