"""Ensembles and the Adaptive Diversity Promoting (ADP) regularizer (Pang et al., ICML 2019).

An :class:`Ensemble` holds K member classifiers; its prediction is the mean of the members' softmax
outputs. Training minimizes ``sum_k CE(y, F^k) + ADP``, where the ADP term rewards a high entropy of
the mean prediction and a large volume spanned by the members' *non-true-label* predictions: the
members agree on the true label and disagree on how to be wrong, so an adversarial example crafted
on one member transfers less to the others.

The ensemble follows the robviz model contract, so ``robviz.train.fit`` trains it (one optimizer
over all members) and every attack works on it:

* ``ensemble(x)``: the log of the mean softmax, (N, L). Its argmax is the ensemble's prediction and
  cross-entropy on it is ``-log mean_k F^k_y``, the natural white-box attack on the averaged
  ensemble.
* ``ensemble.features(x)``: the members' predictions side by side, (N, K * L). This is what ``fit``
  records for its probe set at every snapshot; :func:`recorded_predictions` turns a History back
  into (S, P, K, L).
* ``ensemble.loss(x, y)``: the training loss; ``ensemble.objective.name`` names the run in a
  History.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .runtime import predict
from .train import History, accuracy

__all__ = [
    "Ensemble",
    "adp_regularizer",
    "non_true_predictions",
    "ensemble_diversity",
    "pairwise_angles",
    "recorded_predictions",
    "transferability",
    "solve_adp",
    "LOG_OFFSET",
    "DET_OFFSET",
    "log_mean_softmax",
]

#: Offsets of the authors' code: inside the entropy's log, and on the diagonal of the Gram matrix.
LOG_OFFSET = 1e-20
DET_OFFSET = 1e-6


def log_mean_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Return the log of the mean over dim 1 of softmax(logits).

    Computed in log space (logsumexp of log_softmax, minus log n), so a probability of exp(-150) is
    -150, not log 0.

    Parameters
    ----------
    logits : torch.Tensor
        Logits (B, n, L): n samples per input.

    Returns
    -------
    torch.Tensor
        Log-probabilities (B, L).

    Raises
    ------
    ValueError
        ``logits`` not (B, n, L) with n >= 1 (a mean over no sample is no probability).
    """
    logits = checks.tensor_argument("logits", logits, "(B, n, L)")
    if logits.dim() != 3 or logits.shape[1] == 0:
        raise ValueError(f"logits must have shape (B, n, L) with n >= 1, got {tuple(logits.shape)}")
    return torch.logsumexp(logits.log_softmax(dim=-1), dim=1) - math.log(logits.shape[1])


def _check_shapes(probabilities: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse ``probabilities`` not (K, N, L) with K, L >= 2, and ``y`` not N labels in [0, L).

    No host synchronization on a GPU (:func:`robviz.checks.labels`): what a training step checks.
    """
    if not torch.is_tensor(probabilities) or probabilities.dim() != 3:
        got = tuple(probabilities.shape) if torch.is_tensor(probabilities) else type(probabilities)
        raise ValueError(f"probabilities must be a (K, N, L) tensor, got {got}")
    K, N, L = probabilities.shape
    if K < 2:
        raise ValueError(f"an ensemble needs K >= 2 members, got K={K}")
    if L < 2:
        raise ValueError(f"need L >= 2 classes, got L={L}")
    if not torch.is_tensor(y) or y.shape != (N,) or y.is_floating_point():
        raise ValueError(
            f"y must be an integer tensor of shape ({N},), got "
            f"{tuple(y.shape) if torch.is_tensor(y) else type(y).__name__}"
        )
    checks.labels("y", y, N, num_classes=L)


def _check_probabilities(probabilities: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse what :func:`_check_shapes` refuses, and rows that are no distribution."""
    _check_shapes(probabilities, y)
    # Logits passed by mistake gave angles past 90 degrees and a NaN regularizer; a NaN row (a
    # diverged member) passes, as NaN, for training to report.
    with torch.no_grad():
        off = ((probabilities.sum(-1) - 1).abs() > 1e-2) | (probabilities < 0).any(-1)  # (K, N)
    if bool(off.any()):
        member, sample = (int(i) for i in off.nonzero()[0])
        raise ValueError(
            f"probabilities must be the members' softmax outputs, entries >= 0 summing to 1 over "
            f"the L classes; member {member} at sample index {sample} is not "
            f"({checks.first_items([f'{v:.3g}' for v in probabilities[member, sample].tolist()])})"
            ": for logits pass logits.softmax(-1)"
        )


def non_true_predictions(
    probabilities: torch.Tensor, y: torch.Tensor, normalize: str | None = "l2"
) -> torch.Tensor:
    r"""Each member's prediction with the true-label entry removed (the paper's F^k_{\y}).

    Parameters
    ----------
    probabilities : torch.Tensor
        (K, N, L) member softmax outputs.
    y : torch.Tensor
        (N,) true labels.
    normalize : str or None
        ``"l2"`` (unit vectors: the rows of the paper's M), ``"l1"`` (points on the (L-2)-simplex,
        what the ternary plot shows for L = 4) or None.

    Returns
    -------
    torch.Tensor
        (K, N, L - 1): the remaining labels in increasing order.

    Raises
    ------
    ValueError
        Shapes other than (K, N, L) with K >= 2, L >= 2 and (N,) integer labels in [0, L); rows
        of ``probabilities`` that are no distribution (a negative entry, or not summing to 1); an
        unknown ``normalize``.
    """
    _check_probabilities(probabilities, y)
    return _non_true(probabilities, y, normalize)


def _non_true(probabilities: torch.Tensor, y: torch.Tensor, normalize: str | None) -> torch.Tensor:
    """Return :func:`non_true_predictions` of checked arguments."""
    K, N, L = probabilities.shape
    keep = ~F.one_hot(y, L).bool()  # (N, L)
    rest = probabilities[:, keep].reshape(K, N, L - 1)
    if normalize == "l2":
        return F.normalize(rest, p=2, dim=-1, eps=1e-12)
    if normalize == "l1":
        return rest / rest.sum(-1, keepdim=True).clamp_min(1e-12)
    if normalize is None:
        return rest
    raise ValueError(f"normalize must be 'l2', 'l1' or None, got {normalize!r}")


def _gram(probabilities: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return (N, K, K) Gram matrices M M^T of the L2-normalized non-true-label predictions.

    Of checked arguments (:func:`_check_probabilities`).
    """
    m = _non_true(probabilities, y, "l2").transpose(0, 1)  # (N, K, L-1)
    return m @ m.transpose(1, 2)


def adp_regularizer(
    probabilities: torch.Tensor,
    y: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 0.5,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    """Return the ADP regularizer as it is *added* to the loss.

    Pang et al., "Improving Adversarial Robustness via Promoting Ensemble Diversity" (ICML 2019,
    https://arxiv.org/abs/1901.08846):

        ADP = - alpha * H(mean_k F^k) - beta * log det(M M^T + 1e-6 I_K),
        H(p) = - sum_j p_j log(p_j + 1e-20),

    where row k of M (K x (L-1)) is member k's prediction F^k with the true-label entry removed,
    L2-normalized. det(M M^T) is the squared volume spanned by the members' non-maximal predictions
    (the ensemble diversity); the 1e-6 keeps the log finite when members agree exactly. ``alpha =
    beta = 0`` is the baseline.

    Parameters
    ----------
    probabilities : torch.Tensor
        (K, N, L) member softmax outputs, K >= 2.
    y : torch.Tensor
        (N,) labels.
    alpha : float
        Entropy weight (paper 2), >= 0.
    beta : float
        Log-det weight (paper 0.5), >= 0.
    reduction : str
        ``"mean"`` over the batch (a scalar) or ``"none"`` (N,).

    Returns
    -------
    torch.Tensor
        A scalar (``"mean"``) or (N,) (``"none"``).

    Raises
    ------
    ValueError
        Shapes other than (K, N, L) with K >= 2, L >= 2 and (N,) integer labels in [0, L), rows
        of ``probabilities`` that are no distribution (a negative entry, or not summing to 1), an
        unknown ``reduction``, or ``alpha`` or ``beta`` < 0 (a weight < 0 rewards the members for
        agreeing: the opposite of ADP).
    """
    _check_probabilities(probabilities, y)
    alpha = checks.real("alpha", alpha, low=0)
    beta = checks.real("beta", beta, low=0)
    value = _adp(probabilities, y, alpha, beta)
    if reduction == "none":
        return value
    if reduction == "mean":
        return value.mean()
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _adp(probabilities: torch.Tensor, y: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Return the (N,) ADP regularizer of checked arguments.

    What :class:`Ensemble`'s loss and :func:`robviz.scale.resnet.adp_loss` add at every training
    step: their probabilities are softmax outputs by construction, so the check that the rows are
    distributions (about 7 % of a toy ensemble's step, and a host synchronization per step on a
    GPU) is left out there.
    """
    mean = probabilities.mean(0)  # (N, L)
    entropy = -(mean * torch.log(mean + LOG_OFFSET)).sum(-1)
    gram = _gram(probabilities, y)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    log_det = torch.logdet(gram + DET_OFFSET * eye)
    return -alpha * entropy - beta * log_det


@torch.no_grad()
def ensemble_diversity(probabilities: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the ensemble diversity ED = det(M M^T) per sample, without the offset.

    0 when two members' non-true-label predictions are parallel, 1 when they are orthogonal (one
    member per wrong label).

    Parameters
    ----------
    probabilities : torch.Tensor
        (K, N, L) member softmax outputs, K >= 2, L >= 2.
    y : torch.Tensor
        (N,) integer labels.

    Returns
    -------
    torch.Tensor
        ED (N,) in [0, 1], in the dtype of ``probabilities``.

    Raises
    ------
    ValueError
        Shapes other than (K, N, L) with K >= 2, L >= 2 and (N,) integer labels in [0, L); rows
        of ``probabilities`` that are no distribution (a negative entry, or not summing to 1).
    """
    _check_probabilities(probabilities, y)
    return torch.linalg.det(_gram(probabilities, y).double()).clamp_min(0.0).to(probabilities.dtype)


@torch.no_grad()
def pairwise_angles(probabilities: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return angles in degrees between members' non-true-label predictions.

    0 = same direction, 90 = orthogonal (the most the nonnegative vectors can differ).

    Parameters
    ----------
    probabilities : torch.Tensor
        (K, N, L) member softmax outputs, K >= 2, L >= 2.
    y : torch.Tensor
        (N,) integer labels.

    Returns
    -------
    torch.Tensor
        Angles (N, K, K) in degrees, in [0, 90].

    Raises
    ------
    ValueError
        Shapes other than (K, N, L) with K >= 2, L >= 2 and (N,) integer labels in [0, L); rows
        of ``probabilities`` that are no distribution (a negative entry, or not summing to 1).
    """
    _check_probabilities(probabilities, y)
    cosine = _gram(probabilities, y).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosine))


def recorded_predictions(history: History, num_members: int) -> torch.Tensor:
    """Return the member predictions that ``fit`` recorded for an ensemble's probe set.

    ``fit`` stores ``ensemble.features(probe)`` per snapshot: (S, P, K * L).

    Parameters
    ----------
    history : robviz.train.History
        The History of ``fit`` on an :class:`Ensemble`.
    num_members : int
        K, the number of members.

    Returns
    -------
    torch.Tensor
        (S, P, K, L): per snapshot and probe point, every member's softmax output.

    Raises
    ------
    ValueError
        No recorded features, or their width is not a multiple of ``num_members``.
    """
    num_members = checks.integer("num_members", num_members, low=1)
    features = history.features
    if features is None:
        raise ValueError("history has no recorded features (fit records them at every snapshot)")
    S, P, width = features.shape
    if width % num_members:
        raise ValueError(
            f"recorded features of width {width} do not split into {num_members} members"
        )
    return features.reshape(S, P, num_members, width // num_members)


class _EnsembleObjective(nn.Module):
    """What ``fit`` reads from ``model.objective``: a name and (no) centers. Holds no parameters."""

    centers = None

    def __init__(self, name: str, num_classes: int | None):
        super().__init__()
        self.name, self.num_classes = (
            name,
            num_classes,
        )  # None: no member says how many classes it predicts


class Ensemble(nn.Module):
    """K classifiers trained together; prediction = the mean of their softmax outputs.

    Shape:
        ``forward(x)``: (N, L) log mean softmax. ``member_probabilities(x)``: (K, N, L).
        ``features(x)``: (N, K * L). ``loss(x, y)``: scalar.

    Parameters
    ----------
    members : sequence of torch.nn.Module
        K >= 2 modules with ``member(x)`` -> (N, L) logits and the same L (any robviz model).
    alpha : float
        ADP entropy weight (paper 2).
    beta : float
        ADP log-det weight (paper 0.5). ``alpha = beta = 0``: the baseline, K members trained
        independently with cross-entropy (but through one optimizer).
    name : str or None
        The run's name in a History; default ``"baseline"`` or ``"ADP_{alpha},{beta}"``.

    Attributes
    ----------
    members : torch.nn.ModuleList
        The K members.
    alpha, beta : float
        The ADP weights.
    objective : torch.nn.Module
        Holds the run's ``name`` and ``num_classes`` (None when no member says); no parameters.

    Raises
    ------
    ValueError
        Fewer than 2 members, a member that is not a module, members with different ``num_classes``,
        or ``alpha``/``beta`` negative.

    Examples
    --------
    >>> from robviz.models import make_model
    >>> from robviz.train import fit
    >>> members = [make_model(data, "sce", seed=k) for k in range(3)]
    >>> ens = Ensemble(members, alpha=2.0, beta=0.5)
    >>> history = fit(ens, data, steps=10, progress=False)
    """

    def __init__(
        self,
        members: Iterable[nn.Module],
        alpha: float = 2.0,
        beta: float = 0.5,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__()
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"an ensemble needs K >= 2 members, got {len(members)}")
        if not all(isinstance(m, nn.Module) for m in members):
            raise ValueError("every member must be a torch.nn.Module returning (N, L) logits")
        classes = {c for m in members if (c := getattr(m, "num_classes", None)) is not None}
        if len(classes) > 1:
            raise ValueError(
                f"members must predict the same number of classes, got {sorted(classes)}"
            )
        self.members = nn.ModuleList(members)
        self.alpha, self.beta = checks.real("alpha", alpha, low=0), checks.real("beta", beta, low=0)
        if name is None:
            name = (
                "baseline"
                if self.alpha == 0 and self.beta == 0
                else f"ADP_{self.alpha:g},{self.beta:g}"
            )
        self.objective = _EnsembleObjective(name, classes.pop() if classes else None)

    @property
    def num_members(self) -> int:
        """The number of members K."""
        return len(self.members)

    @property
    def name(self) -> str:
        """The run's name (``objective.name``)."""
        return self.objective.name

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the member logits.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Logits (K, N, L).

        Raises
        ------
        ValueError
            The members disagree on the output shape, or do not return (N, L).
        """
        outputs = [m(x) for m in self.members]
        shapes = {tuple(o.shape) for o in outputs}
        if len(shapes) != 1 or outputs[0].dim() != 2:
            raise ValueError(
                "members must return logits of one shape (N, L), got "
                f"{[tuple(o.shape) for o in outputs]}"
            )
        return torch.stack(outputs)

    def member_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Return the member softmax outputs F^k.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Probabilities (K, N, L).
        """
        return self.member_logits(x).softmax(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return log(mean_k softmax(member_k(x))), computed stably with logsumexp.

        Not logits in the usual sense but log-probabilities: softmax of them is the mean prediction,
        argmax is the ensemble's prediction and cross-entropy on them is -log of the mean
        probability of the label.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Log-probabilities (N, L).
        """
        return log_mean_softmax(self.member_logits(x).transpose(0, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the members' predictions side by side.

        What ``fit`` records for the probe set.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            (N, K * L): member k's softmax output in columns k L to (k + 1) L - 1.
        """
        p = self.member_probabilities(x)
        return p.transpose(0, 1).reshape(p.shape[1], -1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return sum_k CE(y, F^k) + ADP_{alpha, beta}, averaged over the batch.

        The paper's training objective (without the ADP term when alpha = beta = 0). CE is
        computed from the logits, unbounded; the authors' Keras ``categorical_crossentropy`` clips
        the probability to [1e-7, 1 - 1e-7], so there a member with F^k_y < 1e-7 adds at most
        -log 1e-7 = 16.1 and no gradient. Elsewhere the two agree to float32 rounding.

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

        Raises
        ------
        ValueError
            ``y`` not one integer label per input in [0, L) (naming the sample index).
        """
        logits = self.member_logits(x)
        y = checks.labels("y", y, len(x), num_classes=logits.shape[-1])
        losses = [F.cross_entropy(logits[k], y) for k in range(self.num_members)]
        ce = losses[0]
        for member_loss in losses[1:]:
            ce = ce + member_loss
        if self.alpha == 0 and self.beta == 0:
            return ce
        return ce + _adp(logits.softmax(-1), y, self.alpha, self.beta).mean()

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Return the predicted classes, the argmax of the mean softmax, without gradients.

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


def transferability(
    ensemble: Ensemble,
    x: torch.Tensor,
    y: torch.Tensor,
    attack_factory: Callable[[nn.Module], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]],
) -> torch.Tensor:
    """Adversarial transferability among members.

    Entry (i, j) is the accuracy of member j on adversarial examples crafted on member i. The
    diagonal is each member's white-box accuracy under the attack; low off-diagonal accuracy means
    the attack transfers.

    Parameters
    ----------
    ensemble : Ensemble
        An :class:`Ensemble`.
    x, y : torch.Tensor
        Inputs (N, ...) and labels (N,).
    attack_factory : callable
        ``member -> Attack``, e.g. ``lambda m: PGD(m, eps=0.25, bounds=data.bounds)``.

    Returns
    -------
    torch.Tensor
        (K, K) float tensor of accuracies in [0, 1] (plain accuracy on the adversarial inputs).

    Raises
    ------
    ValueError
        Empty or non-finite ``x``; ``y`` not one integer label per input in [0, L).
    """
    x = checks.finite_inputs("x", x)
    # L from the members (None when none says: each member's attack checks y against its logits)
    y = checks.labels("y", y, len(x), num_classes=ensemble.objective.num_classes)
    K = ensemble.num_members
    matrix = torch.zeros(K, K)
    for i, source in enumerate(ensemble.members):
        x_adv = attack_factory(source)(x, y)
        for j, target in enumerate(ensemble.members):
            matrix[i, j] = accuracy(target, x_adv, y)
    return matrix


@torch.enable_grad()
def solve_adp(
    alpha: float,
    beta: float,
    K: int = 3,
    L: int = 4,
    *,
    y: int = 0,
    steps: int = 3000,
    lr: float = 0.05,
    seed: int = 0,
) -> torch.Tensor:
    """Minimize sum_k CE(y, F^k) + ADP_{alpha, beta} over the K predictions of one sample directly.

    Adam on free logits, float64. The numerical counterpart of the paper's Theorems 1 and 2 and
    Corollary 1.

    Parameters
    ----------
    alpha, beta : float
        The ADP weights (entropy, log-det).
    K : int
        The number of members, >= 2.
    L : int
        The number of classes, >= 2.
    y : int
        The sample's label, in [0, L).
    steps : int
        Adam steps, >= 1.
    lr : float
        Adam's learning rate, > 0.
    seed : int
        Seeds the initial logits (0.1 times a standard normal).

    Returns
    -------
    torch.Tensor
        (K, L) float64 member predictions at the end of the descent.

    Raises
    ------
    ValueError
        K < 2 or L < 2 (from :func:`adp_regularizer`), or ``y`` outside [0, L); ``steps`` < 1 or
        ``lr`` not > 0 (no descent: the random start, returned as if it were the optimum).
    """
    K = checks.integer("K", K, low=2, note="an ensemble has 2 members or more")
    L = checks.integer("L", L, low=2)
    seed = checks.seed("seed", seed)
    y = checks.integer("y", y, low=0, high=L - 1, note=f"one of the L = {L} classes")
    steps = checks.integer("steps", steps, low=1)
    lr = checks.real("lr", lr, low=0, low_open=True)
    generator = torch.Generator().manual_seed(seed)
    logits = (0.1 * torch.randn(K, L, generator=generator, dtype=torch.float64)).requires_grad_(
        True
    )
    labels = torch.tensor([y])
    optimizer = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        p = logits.softmax(-1).unsqueeze(1)  # (K, 1, L)
        loss = -torch.log(p[:, 0, y]).sum() + adp_regularizer(p, labels, alpha, beta)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return logits.detach().softmax(-1)
