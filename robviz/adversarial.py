"""Adversarial training: the one place that makes an adversarial batch.

Used by ``robviz.train.fit`` and the CIFAR loop.

Both methods solve a saddle-point problem: an inner maximization finds a worst-case input in the
ball B(x, eps) = {x' : ||x' - x|| <= eps} around each training point (clipped to the input bounds),
an outer minimization trains on it.

* PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018, https://arxiv.org/abs/1706.06083):

      min_theta  E_(x, y) [ max_{x' in B(x, eps)} L(theta; x', y) ],

  the inner max approximated by PGD from a uniform random start on the attack objective J (the
  model's adaptive one, :func:`robviz.attacks.paper_objective`: the MMC loss for MMC, as the talk
  trains AT-MMC; else cross-entropy), and L the model's own training loss ``model.loss``.

* TRADES (Zhang et al., "Theoretically Principled Trade-off between Robustness and Accuracy", ICML
  2019, https://arxiv.org/abs/1901.08573):

      min_theta  E_(x, y) [ L(theta; x, y) + beta * max_{x' in B(x, eps)} KL( p(x) || p(x') ) ],

  p = softmax(model(x)) the predicted class probabilities; the inner max by PGD on the KL from the
  paper's start x + 0.001 N(0, I). ``beta`` trades clean accuracy (small) for robustness (large);
  the paper uses 6.

The inner maximization is :meth:`robviz.attacks.PGD.iterate`, run in eval mode (BatchNorm statistics
and dropout do not change while attacking) by :func:`adversarial_batch`; the training step that
follows runs in the mode the caller set (train mode in ``fit``).

What adversarial training does to a 2-D model is measured exactly, snapshot by snapshot, by
:func:`exact_over_training` (robust accuracy per set and radius, and the decision boundary, from
``robviz.exact``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .models import Predictor, TrainableModel
from .runtime import evaluating

if TYPE_CHECKING:
    from .attacks import PGD
    from .data import Dataset
    from .train import History

# An attack objective: (model, x, labels) -> (N,) values to ascend.
_Objective = Callable[[Predictor, torch.Tensor, torch.Tensor], torch.Tensor]

__all__ = [
    "AdversarialTraining",
    "adversarial_batch",
    "uniform_start",
    "kl_objective",
    "trades_loss",
    "ExactOverTraining",
    "exact_over_training",
]

TRADES_START = 0.001  # the standard deviation of the TRADES start around x (the authors' code)


def adversarial_batch(
    attack: PGD, x: torch.Tensor, labels: torch.Tensor, start: torch.Tensor
) -> torch.Tensor:
    """Return the adversarial batch.

    ``attack.iterate`` (a :class:`robviz.attacks.PGD`) from ``start`` around ``x``, in eval mode
    (each submodule's mode restored after), detached.

    The one implementation of "make the adversarial batch": :class:`AdversarialTraining` (for
    ``fit``) and the CIFAR loop (:func:`robviz.scale.adversarial_examples`, which draws its starts
    from the run's generator) call it.

    Parameters
    ----------
    attack : robviz.attacks.PGD
        A :class:`robviz.attacks.PGD` (its eps, alpha, steps, norm, bounds, objective, targeted).
    x : torch.Tensor
        The clean batch (N, ...), in the attack's bounds.
    labels : torch.Tensor
        (N,) the labels the attack uses: y (untargeted) or the targets (targeted).
    start : torch.Tensor
        (N, ...) the first iterate (e.g. :func:`uniform_start`).

    Returns
    -------
    torch.Tensor
        x_adv (N, ...), in the eps-ball around x and in the bounds, without gradient history.
    """
    with evaluating(attack.model):
        return attack.iterate(x, start, labels).detach()


def uniform_start(
    x: torch.Tensor, eps: float, norm: str, bounds: tuple[float, float], generator: torch.Generator
) -> torch.Tensor:
    """Return a uniform random point of the eps-ball around each x, clipped to ``bounds``.

    L-inf: the box; L2: the ball.

    Drawn on the CPU with ``generator`` in the order :class:`robviz.attacks.PGD` draws its random
    start, so a generator seeded s gives the start of ``PGD(..., seed=s)``.

    Parameters
    ----------
    x : torch.Tensor
        The centers (N, ...).
    eps : float
        The radius, in input units, >= 0.
    norm : str
        ``"Linf"`` or ``"L2"``.
    bounds : tuple of float
        (low, high) of the inputs, low < high.
    generator : torch.Generator
        A CPU generator.

    Returns
    -------
    torch.Tensor
        The starts (N, ...), on x's device and in its dtype.

    Raises
    ------
    ValueError
        A norm other than ``"Linf"`` or ``"L2"``; ``eps`` < 0; ``bounds`` not finite with low < high
        (clamping to a reversed box puts every start on one value).
    """
    eps = checks.real("eps", eps, low=0)
    low, high = (checks.real(f"bounds[{i}]", b) for i, b in enumerate(bounds))
    if not low < high:
        raise ValueError(f"bounds must be (low, high) with low < high, got {tuple(bounds)}")
    if norm not in ("Linf", "L2"):
        raise ValueError(
            f"norm must be 'Linf' or 'L2' (the balls with a uniform draw here), got {norm!r}"
        )
    shape = (-1,) + (1,) * (x.dim() - 1)
    if norm == "Linf":
        delta = eps * (2 * torch.rand(*x.shape, generator=generator).to(x.device, x.dtype) - 1)
    else:
        direction = torch.randn(*x.shape, generator=generator).to(x.device, x.dtype)
        direction = direction / direction.reshape(len(x), -1).norm(dim=1).clamp_min(
            torch.finfo(x.dtype).tiny
        ).reshape(shape)
        radius = torch.rand(len(x), generator=generator).to(x.device, x.dtype) ** (
            1.0 / x[0].numel()
        )
        delta = eps * direction * radius.reshape(shape)
    return (x + delta).clamp(*bounds)


def kl_objective(clean_logits: torch.Tensor) -> _Objective:
    """Return the TRADES inner objective as an attack objective ``(model, x', labels) -> (N,)``.

    Per sample,

        KL( p(x) || p(x') ) = sum_k p_k(x) (log p_k(x) - log p_k(x')),   p = softmax(model(.)),

    with p(x) fixed from ``clean_logits`` (no gradient flows into it). ``labels`` is not
    used: TRADES pushes the prediction away from the model's own clean prediction, not from y.

    Parameters
    ----------
    clean_logits : torch.Tensor
        The model's logits (N, L) of the clean inputs x.

    Returns
    -------
    callable
        ``objective(model, x', labels) -> (N,)`` per-sample KL, named ``kl_objective``; it raises
        a ``ValueError`` when x' does not hold N inputs (an attack run in chunks).

    Raises
    ------
    ValueError
        ``clean_logits`` not (N, L).
    """
    if clean_logits.dim() != 2:
        raise ValueError(f"clean_logits must have shape (N, L), got {tuple(clean_logits.shape)}")
    clean = F.log_softmax(clean_logits.detach(), dim=1)

    def objective(model: Predictor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if len(x) != len(clean):  # a chunk of the batch would pair inputs with others' logits
            raise ValueError(
                f"kl_objective holds the clean logits of {len(clean)} inputs and was given "
                f"{len(x)}: attack the whole batch at once (batch_size=None)"
            )
        return (clean.exp() * (clean - F.log_softmax(model(x), dim=1))).sum(dim=1)

    objective.__name__ = objective.__qualname__ = "kl_objective"
    return objective


def trades_loss(
    model: TrainableModel, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor, beta: float
) -> torch.Tensor:
    """Return the TRADES loss ``model.loss(x, y) + beta * mean_i KL(p(x_i) || p(x_adv_i))``.

    The natural term is the model's own objective (cross-entropy for SCE, the MMC loss for MMC); the
    KL is summed over classes and averaged over the batch (the authors' ``KLDivLoss(reduction="sum")
    / N``); both terms carry gradients.

    Parameters
    ----------
    model : TrainableModel
        The model, with ``loss(x, y)``.
    x, x_adv : torch.Tensor
        Clean and adversarial inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    beta : float
        The weight of the KL term.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        x_adv not of x's shape, beta not a finite number > 0, or labels outside the model's classes
        (from ``model.loss``).
    """
    checks.model("model", model, needs=("loss",))
    if x_adv.shape != x.shape:  # (1, ...) against (N, ...) would broadcast into a wrong KL
        raise ValueError(
            f"x_adv has shape {tuple(x_adv.shape)}, x {tuple(x.shape)}: TRADES compares each "
            "input with its own adversarial example"
        )
    beta = checks.real("beta", beta, low=0.0, low_open=True)
    logits = model(x)
    kl = F.kl_div(
        F.log_softmax(model(x_adv), dim=1),
        F.log_softmax(logits, dim=1),
        reduction="sum",
        log_target=True,
    ) / len(x)
    return model.loss(x, y) + beta * kl


@dataclass
class AdversarialTraining:
    """How ``robviz.train.fit`` trains adversarially.

    Given as ``TrainConfig(adversarial=AdversarialTraining(...))``.

    Attributes
    ----------
    method : str
        ``"pgd"`` (Madry et al. 2018: train on the PGD examples with the model's loss) or
        ``"trades"`` (Zhang et al. 2019: clean loss + beta * KL(p(x) || p(x_adv))). See the module's
        docstring.
    eps : float
        The training radius, in the input's units (> 0).
    alpha : float or None
        The PGD step size; None gives 2.5 * eps / steps (Madry et al.'s rule), filled in when built.
    steps : int
        PGD iterations of the inner maximization (>= 1).
    norm : str
        ``"Linf"`` or ``"L2"``.
    beta : float
        The TRADES weight of the KL term (> 0; unused by ``"pgd"``). The paper's default 6.

    Raises
    ------
    ValueError
        An unknown method or norm, eps, alpha or beta not > 0, steps < 1 (naming the setting).
    """

    method: str = "pgd"
    eps: float = 0.1
    alpha: float | None = None
    steps: int = 10
    norm: str = "Linf"
    beta: float = 6.0

    def __post_init__(self) -> None:
        from .attacks.base import norm_name

        self.method = checks.choice("method", self.method, ("pgd", "trades"))
        self.eps = checks.real("eps", self.eps, low=0, low_open=True)
        self.steps = checks.integer("steps", self.steps, low=1)
        self.alpha = checks.real("alpha", self.alpha, low=0, low_open=True, allow_none=True)
        if self.alpha is None:
            self.alpha = 2.5 * self.eps / self.steps
        self.norm = norm_name(self.norm, allowed=("Linf", "L2"))
        self.beta = checks.real("beta", self.beta, low=0, low_open=True)

    def attack(
        self, model: Predictor, bounds: tuple[float, float], loss: _Objective | None = None
    ) -> PGD:
        """Return the :class:`robviz.attacks.PGD` of the inner maximization.

        Parameters
        ----------
        model : torch.nn.Module
            The model attacked.
        bounds : tuple of float or Dataset
            (low, high) of the inputs.
        loss : callable or None
            The attack objective ``(model, x, labels) -> (N,)``; None, the papers' adaptive one,
            :func:`robviz.attacks.paper_objective`: the MMC loss for MMC, as the talk trains AT-MMC.

        Returns
        -------
        robviz.attacks.PGD
            The attack, with this setting's eps, alpha, steps and norm.

        Raises
        ------
        ValueError
            For an L-inf eps larger than the input range.
        """
        from .attacks import PGD, paper_objective

        return PGD(
            model,
            eps=self.eps,
            alpha=self.alpha,
            steps=self.steps,
            norm=self.norm,
            bounds=bounds,
            loss=paper_objective(model) if loss is None else loss,
        )

    def examples(
        self,
        model: Predictor,
        x: torch.Tensor,
        y: torch.Tensor,
        bounds: tuple[float, float],
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Return the adversarial batch of this method.

        Random starts drawn from ``generator``. For ``"pgd"`` with a generator seeded s it equals
        ``PGD(model, eps, alpha, steps, norm, bounds, seed=s).run(x, y).x_adv``; for ``"trades"``
        the start is x + 0.001 N(0, I) and the objective :func:`kl_objective`.

        Parameters
        ----------
        model : torch.nn.Module
            The model attacked (in eval mode during the attack, its modes restored after).
        x : torch.Tensor
            Clean inputs (N, ...).
        y : torch.Tensor
            Labels (N,).
        bounds : tuple of float
            (low, high) of the inputs.
        generator : torch.Generator
            A seeded CPU generator.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...), detached.
        """
        if self.method == "pgd":
            return adversarial_batch(
                self.attack(model, bounds),
                x,
                y,
                uniform_start(x, self.eps, self.norm, bounds, generator),
            )
        with torch.no_grad(), evaluating(model):
            clean_logits = model(x)
        noise = torch.randn(*x.shape, generator=generator).to(x.device, x.dtype)
        start = (x + TRADES_START * noise).clamp(*bounds)
        return adversarial_batch(
            self.attack(model, bounds, kl_objective(clean_logits)), x, y, start
        )

    def loss(
        self,
        model: TrainableModel,
        x: torch.Tensor,
        y: torch.Tensor,
        bounds: tuple[float, float],
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Return one adversarial training loss on a batch.

        The inner maximization in eval mode, then the outer loss in the model's current mode (train
        mode in ``fit``): ``model.loss(x_adv, y)`` for ``"pgd"``, :func:`trades_loss` for
        ``"trades"``.

        Parameters
        ----------
        model : TrainableModel
            The model trained, with ``loss(x, y)``.
        x : torch.Tensor
            Clean inputs (N, ...).
        y : torch.Tensor
            Labels (N,).
        bounds : tuple of float
            (low, high) of the inputs.
        generator : torch.Generator
            A seeded CPU generator for the random starts.

        Returns
        -------
        torch.Tensor
            A scalar with gradients.
        """
        x_adv = self.examples(model, x, y, bounds, generator)
        if self.method == "pgd":
            return model.loss(x_adv, y)
        return trades_loss(model, x, y, x_adv, self.beta)


@dataclass
class ExactOverTraining:
    """The truth about a 2-D model at every snapshot of its training (:func:`exact_over_training`).

    Attributes
    ----------
    step : list
        (S,) the snapshot steps.
    eps : list
        (E,) the radii.
    accuracy : dict
        ``{set name: (S, E) exact robust accuracy}``, at radius 0 the clean accuracy.
    segments : list
        Per snapshot, the exact decision boundary as (B_s, 2, 2) line segments (for
        :func:`robviz.viz.boundary_animation`).
    """

    step: list
    eps: list
    accuracy: dict
    segments: list


def exact_over_training(
    model: nn.Module,
    history: History,
    sets: dict,
    eps_list: Iterable[float],
    *,
    bounds: tuple[float, float] | Dataset,
    norm: str = "Linf",
) -> ExactOverTraining:
    """Return the exact robust accuracy of every snapshot of a 2-D model's training, on each set.

    Computed with :mod:`robviz.exact`.

    Parameters
    ----------
    model : torch.nn.Module
        The 2-D ReLU classifier ``history`` trained (``fit(..., record_models=True)``).
    history : robviz.train.History
        Its :class:`robviz.train.History`.
    sets : dict
        ``{name: (x (N, 2), y (N,))}``, e.g. ``{"train": ..., "test": ...}``.
    eps_list : sequence of float
        The radii (>= 0, at most the box's diameter).
    bounds : tuple of float or robviz.data.Dataset
        The input box (``data.bounds``).
    norm : str
        ``"Linf"`` or ``"L2"``.

    Returns
    -------
    ExactOverTraining
        An :class:`ExactOverTraining`. One linear-region enumeration per snapshot (about 0.1-1 s
        each on one core for a 2-32-32-2 network).

    Raises
    ------
    ValueError
        The history holds no model states, or an eps out of range.
    """
    checks.model("model", model)
    from .exact import decision_boundary
    from .runtime import inference, predict

    eps_list = [float(e) for e in eps_list]
    if not history.model_states:
        raise ValueError(
            "the history holds no model states; train with fit(..., record_models=True)"
        )
    accuracy: dict = {name: np.zeros((len(history.model_states), len(eps_list))) for name in sets}
    segments = []
    for frame in range(len(history.model_states)):
        snapshot = history.model_at(model, frame)
        boundary = decision_boundary(snapshot, bounds)
        for name, (x, y) in sets.items():
            prediction = predict(inference(snapshot, x.cpu()))  # NaN logits: no class
            distance = boundary.distance(x.cpu(), y.cpu(), norm, prediction=prediction)
            accuracy[name][frame] = [
                (distance > boundary.check_eps(e, norm)).double().mean().item() for e in eps_list
            ]
        segments.append(boundary.segments()[0])
    return ExactOverTraining(list(history.step), eps_list, accuracy, segments)
