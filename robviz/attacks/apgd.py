"""Auto-PGD (APGD) with the cross-entropy and DLR losses, and an AutoAttack-style runner.

Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
parameter-free attacks", ICML 2020, https://arxiv.org/abs/2003.01690. APGD is PGD without a step
size to tune: it starts with a step of 2 eps, adds momentum, and halves the step at checkpoints
where progress stalled, restarting from the best point found so far. The DLR loss is invariant to
shifting and rescaling the logits, so a defense that only saturates or rescales its softmax cannot
hide behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict, cast

import torch

from .. import checks
from ..models import FeatureModel, Predictor
from ..runtime import inference, percent_text, predict, to_model
from .base import Attack, AttackObjective
from .objectives import auto_objective, cross_entropy_objective, margin_objective

__all__ = [
    "APGD",
    "apgd_checkpoints",
    "dlr_loss",
    "dlr_targeted_loss",
    "dlr_objective",
    "auto_attack",
    "AutoAttackResult",
]

if TYPE_CHECKING:
    from ..data import Dataset


class _LogitTap:
    """Stands in for the model inside an attack objective.

    It keeps what the gradient pass computed at ``x``.

    The logits of a single ``model(x)`` call, or the features of a single ``model.features(x)`` call
    (the MMC objective), from which a robviz ``Classifier``'s head gives the logits. APGD then
    checks success without a second forward pass.
    """

    def __init__(self, model: Predictor, x: torch.Tensor) -> None:
        self.model, self.x = model, x
        self.outputs: list[torch.Tensor | None] = []
        self.features_seen: list[torch.Tensor | None] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        self.outputs.append(out if x is self.x else None)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        z = cast(FeatureModel, self.model).features(x)  # called by objectives that read z
        self.features_seen.append(z if x is self.x else None)
        return z

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)

    @torch.no_grad()
    def logits(self) -> torch.Tensor | None:
        """Return the (N, L) logits at x from the gradient pass.

        None when the objective did not compute them once.
        """
        if len(self.outputs) == 1 and not self.features_seen and self.outputs[0] is not None:
            return self.outputs[0].detach()
        from ..models import Classifier

        model = self.model
        if (
            isinstance(model, Classifier)  # a plain Classifier: its logits are the head's output
            and type(model).forward is Classifier.forward
            and type(model).features is Classifier.features
            and len(self.features_seen) == 1
            and not self.outputs
            and self.features_seen[0] is not None
        ):
            return model.objective.output(model.objective(self.features_seen[0].detach()))
        return None


def apgd_checkpoints(steps: int) -> list[int]:
    """Return the iterations at which APGD may halve its step (Croce and Hein 2020, Sec. 3.2).

    They are w_j = ceil(p_j * steps) with

        p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06),   while p_j <= 1.

    For 100 steps: [0, 22, 41, 57, 70, 80, 87, 93, 99]. (The p_j are rounded to 1e-9 so that 0.22 *
    100 is 22.)

    Parameters
    ----------
    steps : int
        The number of iterations, >= 1.

    Returns
    -------
    list of int
        The checkpoints w_j, increasing, starting at 0.

    Raises
    ------
    ValueError
        ``steps`` < 1.
    """
    steps = Attack._check_int("steps", steps)
    p = [0.0, 0.22]
    while True:
        nxt = round(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06), 9)
        if nxt > 1:
            break
        p.append(nxt)
    points: list[int] = []
    for value in p:
        w = math.ceil(round(value * steps, 9))
        if not points or w > points[-1]:
            points.append(w)
    return points


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the Difference of Logits Ratio loss (Croce and Hein 2020, Eq. 5), per sample.

    For L >= 3 classes:

        DLR(z, y) = -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12),

    with z_pi1 >= z_pi2 >= ... the sorted logits. Negative while the model predicts y, positive once
    it does not; unchanged when the logits are shifted or scaled by a positive factor.

    Parameters
    ----------
    logits : torch.Tensor
        Logits z (N, L), L >= 3.
    y : torch.Tensor
        Labels (N,).

    Returns
    -------
    torch.Tensor
        DLR (N,).

    Raises
    ------
    ValueError
        Fewer than 3 classes; ``y`` not one label in [0, L) per row of ``logits``.
    """
    logits = checks.tensor_argument("logits", logits, "(N, L)")
    if logits.shape[1] < 3:
        raise ValueError(
            f"the DLR loss needs at least 3 classes, got logits of shape {tuple(logits.shape)}"
        )
    y = checks.labels("y", y, len(logits), num_classes=logits.shape[1])
    top = logits.sort(dim=1, descending=True).values
    own = logits.gather(1, y[:, None]).squeeze(1)
    others = logits.scatter(1, y[:, None], float("-inf")).amax(dim=1)
    return -(own - others) / (top[:, 0] - top[:, 2] + 1e-12)


def dlr_targeted_loss(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the targeted DLR loss (Croce and Hein 2020, Eq. 6), per sample.

    For L >= 4 classes:

        DLR_t(z, y, t) = -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12),

    which an attack *increases* to move the prediction from y to t.

    Parameters
    ----------
    logits : torch.Tensor
        Logits z (N, L), L >= 4.
    y : torch.Tensor
        The classes to leave (N,).
    target : torch.Tensor
        The target classes t (N,).

    Returns
    -------
    torch.Tensor
        DLR_t (N,).

    Raises
    ------
    ValueError
        Fewer than 4 classes; ``y`` or ``target`` not one label in [0, L) per row of ``logits``.
    """
    logits = checks.tensor_argument("logits", logits, "(N, L)")
    if logits.shape[1] < 4:
        raise ValueError(
            f"the targeted DLR loss needs at least 4 classes, got logits {tuple(logits.shape)}"
        )
    y = checks.labels("y", y, len(logits), num_classes=logits.shape[1])
    target = checks.labels("target", target, len(logits), num_classes=logits.shape[1])
    top = logits.sort(dim=1, descending=True).values
    own = logits.gather(1, y[:, None]).squeeze(1)
    tgt = logits.gather(1, target[:, None]).squeeze(1)
    return -(own - tgt) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


def dlr_objective(model: Predictor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return the DLR loss as an attack objective (small while the model predicts ``labels``).

    ``dlr_loss(model(x), labels)``.

    Parameters
    ----------
    model : Predictor
        The classifier, x -> logits (N, L), L >= 3.
    x : torch.Tensor
        Inputs (N, ...).
    labels : torch.Tensor
        Labels (N,).

    Returns
    -------
    torch.Tensor
        DLR (N,).

    Raises
    ------
    ValueError
        Fewer than 3 classes.
    """
    checks.model("model", model)
    return dlr_loss(model(x), labels)


def _targeted_dlr_objective(source: torch.Tensor) -> AttackObjective:
    """Return an objective for targeted attacks from ``source`` (N,), the classes to leave.

    Its labels are the targets.

    It is minus DLR_t, so that descending it (what a targeted attack does) climbs DLR_t.
    """

    def objective(model: Predictor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return -dlr_targeted_loss(model(x), source, labels)

    return objective


class APGD(Attack):
    """Auto-PGD.

    Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
    parameter-free attacks", ICML 2020, https://arxiv.org/abs/2003.01690, Algorithm 1. Distance:
    L-inf.

        x_0 = x + uniform noise in the eps-ball,   eta = 2 eps,
        z_{k+1} = P(x_k + eta sign(grad f(x_k))),
        x_{k+1} = P(x_k + a (z_{k+1} - x_k) + (1 - a)(x_k - x_{k-1})),
        a = 0.75 (a = 1 for the first step),

    with P the projection onto the eps-ball and the bounds. At every checkpoint w_j of
    :func:`apgd_checkpoints` the step of a sample is halved, and the sample restarts from its best
    point, when

        1. fewer than rho * (w_j - w_{j-1}) of the steps since w_{j-1} increased f, or
        2. its step was not halved at w_{j-1} and its best loss has not improved since w_{j-1}.

    (The authors' code tests condition 1 with ``<=``; the paper writes ``<``, used here.) Every
    quantity is per sample.

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). The trajectory of one restart has steps +
    1 frames. Each step costs one forward and backward pass: success is checked on the logits of the
    gradient pass (for the MMC objective, the head applied to its features); only an objective that
    calls the model several times (EOT) or not at all costs one more forward pass.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (bounds, batch_size, device, seed; see
        :class:`~robviz.attacks.base.Attack`).
    eps : float
        The L-inf radius. Default 8/255.
    steps : int
        Iterations per restart. Default 100 (the paper's).
    loss : str or callable
        ``"auto"`` (default: :func:`~robviz.attacks.objectives.auto_objective`: the logit margin for
        MMC models, else cross-entropy), ``"ce"`` (cross-entropy on the logits), ``"dlr"``
        (:func:`dlr_loss`, L >= 3; targeted: the targeted DLR loss, L >= 4) or any attack objective
        ``loss(model, x, labels) -> (N,)``, e.g. an EOT objective
        (:func:`robviz.attacks.eot.eot_objective`).
    restarts : int
        Random restarts; a sample already fooled is not restarted. Default 1.
    rho : float
        The fraction of successful steps below which the step is halved. Default 0.75.
    momentum : float
        The weight 1 - a of the previous step. Default 0.25 (a = 0.75, the paper's).
    targeted : bool
        Move the prediction to a target. With ``loss="dlr"`` the class to leave is the clean
        prediction (the label, on the correctly classified points that robust accuracy counts).

    Raises
    ------
    ValueError
        An unknown loss name, eps out of range, ``steps`` or ``restarts`` < 1, ``rho`` outside
        (0, 1), ``momentum`` outside [0, 1).

    Examples
    --------
    >>> x_adv = APGD(model, eps=8/255, steps=100, loss="dlr")(x, y)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        steps: int = 100,
        loss: str | AttackObjective = "auto",
        restarts: int = 1,
        rho: float = 0.75,
        momentum: float = 0.25,
        targeted: bool = False,
        **options: Any,
    ) -> None:
        checks.model("model", model)
        targeted = checks.flag("targeted", targeted)
        self.loss_name: str = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")
        objective = self._pick_loss(model, loss)
        super().__init__(model, targeted=targeted, loss=objective, **options)
        self.eps = self._check_eps(eps)
        self.steps = self._check_int("steps", steps)
        self.restarts = self._check_int("restarts", restarts)
        self.rho = checks.real("rho", rho, low=0, high=1, low_open=True, high_open=True)
        self.momentum = checks.real("momentum", momentum, low=0, high=1, high_open=True)

    @staticmethod
    def _pick_loss(model: Predictor, loss: str | AttackObjective) -> AttackObjective:
        if callable(loss):
            return loss
        names = {"ce": cross_entropy_objective, "dlr": dlr_objective, "auto": auto_objective(model)}
        if loss not in names:
            raise ValueError(
                f"loss must be 'ce', 'dlr', 'auto' or a callable objective, got {loss!r}"
            )
        return names[loss]

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples, the best of the restarts per sample.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets if targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...): the first successful iterate where one was found, else the point of the
            highest objective.
        """
        objective = self.loss
        if self.targeted and self.loss_name == "dlr":
            with torch.no_grad():
                source = self.model(x).argmax(dim=1)
        try:
            best = x.clone()
            done = torch.zeros(len(x), dtype=torch.bool, device=x.device)
            best_value = torch.full((len(x),), -math.inf, device=x.device, dtype=x.dtype)
            for restart in range(self.restarts):
                todo = (~done).nonzero().flatten()
                if len(todo) == 0:
                    break
                if restart > 0:
                    self._frames = None  # record the first restart only
                if self.targeted and self.loss_name == "dlr":
                    self.loss = _targeted_dlr_objective(source[todo])
                x_r, value_r, success_r = self._one_run(x[todo], labels[todo])
                better = success_r | (value_r > best_value[todo])
                best[todo[better]] = x_r[better]
                best_value[todo[better]] = value_r[better]
                done[todo[success_r]] = True
        finally:
            self.loss = objective
        return best

    def _value_and_grad(
        self, x: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the ascent value, its gradient and the success flags at x.

        All from one forward and backward pass.

        Shapes (N,), (N, ...) and (N,); success reuses the pass's logits (see :class:`_LogitTap`).
        """
        x = x.detach().requires_grad_(True)
        tap = _LogitTap(self.model, x)
        value = self.loss(tap, x, labels)
        if not torch.is_tensor(value) or value.shape != (len(x),):
            return self._fallback_value_and_grad(x, labels)
        value = -value if self.targeted else value
        (grad,) = torch.autograd.grad(value.sum(), x)
        logits = tap.logits()
        if logits is None:
            with torch.no_grad():
                logits = self.model(x)
        prediction = logits.argmax(dim=1)
        return value.detach(), grad, prediction == labels if self.targeted else prediction != labels

    def _fallback_value_and_grad(
        self, x: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        value = self._ascent(x, labels)  # raises the base class's shape error
        (grad,) = torch.autograd.grad(value.sum(), x)  # pragma: no cover - _ascent raised
        # never reached (_ascent raised), so no caller ever sees the None success flag
        return value.detach(), grad, None  # type: ignore[return-value]  # pragma: no cover

    def _one_run(
        self, x: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One APGD run from a random start: (x_adv, best ascent value, success), all per sample."""
        n, eps = len(x), self.eps
        shape = (-1,) + (1,) * (x.dim() - 1)
        low, high = self._eps_box(x)
        project = lambda v: v.clamp(low, high)  # noqa: E731
        x_adv = project(x + eps * (2 * self._rand(*x.shape, like=x) - 1))
        self._log(x_adv)
        value, grad, found = self._value_and_grad(x_adv, labels)
        x_found = x_adv.clone()
        best_value, x_best, grad_best = value.clone(), x_adv.clone(), grad.clone()
        eta = torch.full((n,), 2 * eps, device=x.device, dtype=x.dtype)
        checkpoints = set(apgd_checkpoints(self.steps)[1:])
        last_point, increases = 0, torch.zeros(n, device=x.device)
        last_reduced = torch.zeros(n, dtype=torch.bool, device=x.device)
        last_best = best_value.clone()
        x_prev = x_adv.clone()
        for k in range(self.steps):
            with torch.no_grad():
                z = project(x_adv + eta.view(shape) * grad.sign())
                a = 1.0 if k == 0 else 1.0 - self.momentum
                x_new = project(x_adv + a * (z - x_adv) + (1 - a) * (x_adv - x_prev))
                x_prev, x_adv = x_adv, x_new
            new_value, grad, success = self._value_and_grad(x_adv, labels)
            self._log(x_adv)
            increases += (new_value > value).float()
            value = new_value
            x_found[success] = x_adv[success]
            found |= success
            improved = value > best_value
            best_value[improved], x_best[improved], grad_best[improved] = (
                value[improved],
                x_adv[improved],
                grad[improved],
            )
            if k + 1 in checkpoints:
                stalled = increases < self.rho * (k + 1 - last_point)
                flat = ~last_reduced & (best_value <= last_best)
                reduce = stalled | flat
                last_reduced, last_best = reduce.clone(), best_value.clone()
                eta[reduce] /= 2
                x_adv[reduce], grad[reduce] = x_best[reduce], grad_best[reduce]
                x_prev[reduce] = x_best[reduce]
                increases.zero_()
                last_point = k + 1
        result = torch.where(found.view(shape), x_found, x_best)
        return result, best_value, found


class AutoAttackResult:
    """What :func:`auto_attack` found.

    Parameters
    ----------
    x_adv : torch.Tensor
        The adversarial inputs (N, ...).
    robust : torch.Tensor
        (N,) bool: correct clean and under every attack.
    log : dict of str to float
        The robust accuracy after each attack, e.g. ``{"clean": 0.95, "APGD-CE": 0.40,
        "APGD-T (DLR)": 0.37}``.

    Attributes
    ----------
    x_adv, robust, log
        As given.
    accuracy : float
        The robust accuracy in [0, 1].
    """

    def __init__(self, x_adv: torch.Tensor, robust: torch.Tensor, log: dict[str, float]) -> None:
        self.x_adv, self.robust, self.log = x_adv, robust, log

    @property
    def accuracy(self) -> float:
        """The robust accuracy, the fraction of ``robust`` in [0, 1]."""
        return self.robust.float().mean().item()

    def __repr__(self) -> str:
        steps = ", ".join(f"{k}: {percent_text(100 * v)}%" for k, v in self.log.items())
        return f"AutoAttackResult({steps})"


class _StageOptions(TypedDict):
    """The options of one of :func:`auto_attack`'s APGD runs."""

    loss: str | AttackObjective
    targeted: bool


def _stages(
    model: Predictor, logits: torch.Tensor, loss: AttackObjective | None, targets: int | None
) -> list[tuple[str, _StageOptions, torch.Tensor | None]]:
    """Return :func:`auto_attack`'s stages: (name, APGD options, per-sample targets or None)."""
    num_classes = logits.shape[1]
    first = auto_objective(model) if loss is None else loss
    names = {
        "cross_entropy_objective": "APGD-CE",
        "mmc_objective": "APGD-MMC",
        "margin_objective": "APGD-margin",
    }
    name = names.get(getattr(first, "__name__", ""), f"APGD-{getattr(first, '__name__', 'custom')}")
    stages: list[tuple[str, _StageOptions, torch.Tensor | None]] = [
        (name, dict(loss=first, targeted=False), None)
    ]
    if num_classes >= 4:
        targets = min(9, num_classes - 1) if targets is None else targets
        order = logits.sort(dim=1, descending=True).indices
        stages += [
            (f"APGD-T (DLR) target {i}", dict(loss="dlr", targeted=True), order[:, i])
            for i in range(1, min(targets, num_classes - 1) + 1)
        ]
    elif num_classes == 3:
        stages.append(("APGD-DLR", dict(loss="dlr", targeted=False), None))
    elif first is not margin_objective:  # the first stage already climbed the margin (MMC)
        stages.append(("APGD-margin", dict(loss=margin_objective, targeted=False), None))
    return stages


def _clean_logits(model: Predictor, x: torch.Tensor) -> torch.Tensor:
    """Return model(x) in eval mode, the model's mode restored.

    BatchNorm statistics untouched, Dropout off.
    """
    return checks.logits("model", inference(model, x))


def auto_attack(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    bounds: Sequence[float] | Dataset = (0.0, 1.0),
    steps: int = 100,
    restarts: int = 5,
    targets: int | None = None,
    loss: AttackObjective | None = None,
    seed: int = 0,
    progress: bool = True,
) -> AutoAttackResult:
    """Return an AutoAttack-style evaluation (Croce and Hein 2020).

    APGD on the adaptive objective, then APGD-DLR, each run only on the points that are still
    robust. (The standard AutoAttack adds FAB-T and Square; this runner keeps the two gradient
    attacks, which decide almost every case.)

    Stages, by the number of classes L:

    1. APGD on :func:`~robviz.attacks.objectives.auto_objective` (the logit margin for MMC models,
       where the cross-entropy gradient can be exactly 0 and the paper's MMC loss leaves points
       standing that have an adversarial example, see its docstring; cross-entropy otherwise),
       logged as ``"APGD-margin"`` or ``"APGD-CE"``; ``loss`` replaces it (e.g. an EOT objective, or
       ``paper_objective(model)``, logged as ``"APGD-MMC"`` for MMC).
    2. L >= 4: targeted APGD-DLR at the top ``targets`` other classes (logged together as ``"APGD-T
       (DLR)"``); L = 3: untargeted APGD-DLR (the targeted DLR loss needs 4 classes); L = 2: DLR is
       undefined (it needs a third logit), so APGD climbs the C&W logit margin z_other - z_y instead
       (``"APGD-margin"``).

    The model is evaluated in eval mode (BatchNorm statistics never change) and its own mode is
    restored.

    Measured against the exact robust accuracy (``benchmarks/exact_gaps.py --digits``: 64-32-32-10
    ReLU MLPs on 150 test digits, 50 steps): on SCE it lands on the exact value at eps 0.05, 16/255,
    0.1 and 0.2; on MMC at 0.05 and 0.2, within 1.3 points at 0.1 (4.0 % against 2.7 %), but 3.3
    points above it at 16/255 (52.7 % against 49.3 %), and 1.3 points on the center-loss model at
    0.05, 2.7 on L-GM at 0.1 (8.0 % against 5.3 %). These misses are not a bad default: of the four
    MMC points at 16/255 that the exact program breaks (each witness misclassified by the model)
    and ``auto_attack`` leaves standing, APGD with 20 restarts, 100 steps, or the margin targeted
    at every other class still leaves three; the four L-GM witnesses at 0.1 all lie in the
    second-likeliest class, which the first targeted stage attacks, and 20 restarts, 200 steps or
    the margin objective leave the same points standing (the reasons in ``DIGITS_DOC`` there). The
    adversarial part of their balls is a small region that gradient ascent from a random start
    does not reach; only the exact program finds it. Hence the goal "within 1 point of the truth"
    holds here for SCE, not for every model: grade an attack against :mod:`robviz.exact` where the
    model allows.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (``model(x)`` -> logits); for a randomized model pass ``loss`` an EOT
        objective.
    x, y : torch.Tensor
        Inputs (N, ...) in ``bounds`` and labels (N,).
    eps : float
        The L-inf radius.
    bounds : tuple of float or robviz.data.Dataset
        The input range (``data.bounds`` for the toy sets).
    steps, restarts : int
        Per APGD run. Defaults 100 and 5. Restarts run only on the points still robust, so they cost
        little; they matter: measured against the exact robust accuracy of lesson 2's spiral models
        (:mod:`robviz.exact`) at eps = 0.25, one restart left 6.7 to 8 points of points that do have
        an adversarial example inside the ball (the ball's adversarial part is a small corner that
        one start misses), five restarts 0 to 0.4 points.
    targets : int or None
        How many target classes for APGD-T: the classes with the 2nd, 3rd, ... largest clean logit.
        Default min(9, L - 1) (9 as in AutoAttack; for L = 4 that is 3).
    loss : str or callable or None
        Replaces the adaptive objective in the first stage; None: ``auto_objective(model)``.
    seed : int
        Seeds the random starts.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    AutoAttackResult
        An :class:`AutoAttackResult`; ``result.log`` holds the robust accuracy after each stage.

    Raises
    ------
    ValueError
        x empty or non-finite, or outside ``bounds``; y not one integer label per input in [0, L)
        (naming the sample index); ``targets`` below 1; a ``model`` whose output is not (N, L)
        logits with L >= 2 (:func:`robviz.checks.logits`); and as :class:`APGD` for ``eps``,
        ``steps``, ``restarts``, ``bounds`` and ``loss``. All checked at entry, also when no point
        is left to attack (a clean accuracy of 0 ran no stage and let eps = -1 pass).
    """
    checks.model("model", model)
    seed = checks.seed("seed", seed)
    targets = checks.integer("targets", targets, low=1, allow_none=True, note="None: min(9, L - 1)")
    from tqdm.auto import tqdm

    progress = checks.flag("progress", progress)
    x = to_model(
        model, checks.finite_inputs("x", x)
    )  # the model's dtype and device, as every attack's run
    # every stage's settings, checked once here, where the stages themselves may never run
    template = APGD(
        model, eps=eps, steps=steps, restarts=restarts, bounds=bounds, loss=loss or "auto"
    )
    template._check_inputs(x, y, None)  # x in bounds, y one label per input
    logits = _clean_logits(model, x)
    y = checks.labels("y", y, len(x), num_classes=logits.shape[1]).to(x.device)
    robust = predict(logits) == y
    x_adv = x.clone()
    log = {"clean": robust.float().mean().item()}
    stages = _stages(model, logits, loss, targets)
    bar = tqdm(stages, desc="auto attack", disable=not progress, leave=False)
    for name, options, target in bar:
        index = robust.nonzero().flatten()
        if len(index):
            attack = APGD(
                model, eps=eps, steps=steps, restarts=restarts, bounds=bounds, seed=seed, **options
            )
            result = attack.run(x[index], y[index], None if target is None else target[index])
            fooled = result.prediction != y[index]
            x_adv[index[fooled]] = result.x_adv[fooled]
            robust[index[fooled]] = False
        key = "APGD-T (DLR)" if name.startswith("APGD-T") else name
        log[key] = robust.float().mean().item()
        bar.set_postfix(robust=f"{percent_text(100 * log[key])}%")
    bar.close()
    return AutoAttackResult(x_adv, robust, log)
