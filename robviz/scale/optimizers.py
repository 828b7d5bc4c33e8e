"""The optimizers a :class:`robviz.scale.recipes.Recipe` names, built for a model.

PyTorch's SGD and Adam, or the update rules of Keras 2.2.4 (the authors' code), and the per-step
learning-rate schedule.

    optimizer = make_optimizer(model, recipe)
    scheduler = make_scheduler(optimizer, recipe, steps_per_epoch)

Weight decay follows the recipe's ``decay_scope``: conv kernels only (the authors' Keras ``l2`` on
Conv2D) or every weight matrix; biases and normalization parameters are never decayed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim.optimizer import ParamsT

from .. import checks
from .recipes import Recipe, lr_factor

__all__ = ["make_optimizer", "make_scheduler", "KerasSGD", "KerasAdam"]


def _decayed(parameter: torch.Tensor, scope: str) -> bool:
    """Return whether ``parameter`` is decayed under ``scope``.

    Conv kernels are 4-D, linear weights 2-D; biases and norm parameters 1-D (never decayed).
    """
    return parameter.dim() == 4 if scope == "conv" else parameter.dim() > 1


def make_optimizer(model: torch.nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """Return the recipe's optimizer.

    Two parameter groups, group 0 (decayed: conv kernels, plus linear weights with
    ``decay_scope="weights"``) with ``recipe.weight_decay`` and group 1 (the rest) without.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its parameters with ``requires_grad`` are optimized.
    recipe : Recipe
        Reads ``optimizer`` (``"adam"`` or SGD), ``rule`` (``"pytorch"``: ``torch.optim.SGD``/
        ``Adam``; ``"keras"``: :class:`KerasSGD`/:class:`KerasAdam`), ``lr``, ``momentum``,
        ``nesterov`` (SGD), ``weight_decay`` and ``decay_scope``.

    Returns
    -------
    torch.optim.Optimizer
        The optimizer, its two parameter groups as above.

    Raises
    ------
    ValueError
        For ``rule="keras"`` SGD with Nesterov momentum (the authors' code has none).
    """
    checks.model("model", model, module=True)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if _decayed(p, recipe.decay_scope)]
    rest = [p for p in params if not _decayed(p, recipe.decay_scope)]
    groups = [
        {"params": decay, "weight_decay": recipe.weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    keras = recipe.rule == "keras"
    if recipe.optimizer == "adam":
        return KerasAdam(groups, lr=recipe.lr) if keras else torch.optim.Adam(groups, lr=recipe.lr)
    if keras:
        if recipe.nesterov:
            raise ValueError(
                "rule='keras' supports plain momentum only (nesterov=False), as the authors' code"
            )
        return KerasSGD(groups, lr=recipe.lr, momentum=recipe.momentum)
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)


def make_scheduler(
    optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Return a ``LambdaLR`` stepped once per optimizer step.

    Its state (the step count) goes into checkpoints.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer whose learning rates the schedule multiplies.
    recipe : Recipe
        Its schedule (:func:`robviz.scale.recipes.lr_factor`).
    steps_per_epoch : int
        Optimizer steps per epoch, to place epoch milestones and the one-cycle's length.

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR
        The scheduler.
    """
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(recipe, step, steps_per_epoch)
    )


class KerasSGD(torch.optim.Optimizer):
    """SGD with momentum as Keras 2 applies it (``keras/optimizers.py``, ``SGD.get_updates``).

    With the L2 term of ``kernel_regularizer=l2(c)`` as ``weight_decay = 2 c`` in the gradient:

        g = grad + weight_decay * w,   v <- momentum * v - lr * g,   w <- w + v.

    The learning rate sits inside the velocity: at a learning-rate drop the old velocity keeps its
    old scale, where ``torch.optim.SGD`` (v <- momentum v + g, w <- w - lr v) rescales it at once.
    With a constant lr the two are identical. State per parameter: ``velocity``.

    Parameters
    ----------
    params : iterable
        Parameters, or parameter groups (dicts), as for any ``torch.optim.Optimizer``.
    lr : float, default 0.01
        The learning rate, > 0.
    momentum : float, default 0.0
        The momentum, >= 0.
    weight_decay : float, default 0.0
        The L2 coefficient added to the gradient, >= 0 (``2 c`` for Keras' ``l2(c)``).

    Raises
    ------
    ValueError
        For an lr <= 0 or a negative momentum or weight decay.
    """

    def __init__(
        self, params: ParamsT, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        if not lr > 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"need lr > 0, momentum >= 0, weight_decay >= 0; got {lr}, {momentum}, "
                f"{weight_decay}"
            )
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    # One signature for Optimizer.step's two overloads (no closure -> None, a closure -> its loss).
    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], float] | None = None
    ) -> float | None:
        """Take one update step; return the loss of ``closure`` when given.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called once, before the update).

        Returns
        -------
        torch.Tensor or None
            The closure's loss, or None without a closure.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                v = self.state[p].setdefault("velocity", torch.zeros_like(p))
                v.mul_(group["momentum"]).add_(g, alpha=-group["lr"])
                p.add_(v)
        return loss


class KerasAdam(torch.optim.Optimizer):
    """Adam as Keras 2 applies it (``keras/optimizers.py``, ``Adam.get_updates``).

    Its ``epsilon = K.epsilon() = 1e-7``.

    With the L2 term as ``weight_decay`` in the gradient (coupled, not AdamW):

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).

    ``torch.optim.Adam`` puts eps inside the bias correction (m_hat / (sqrt(v_hat) + eps)); the two
    differ while sqrt(v) is comparable to eps. State per parameter: ``step``, ``m``, ``v``.

    Parameters
    ----------
    params : iterable
        Parameters, or parameter groups (dicts), as for any ``torch.optim.Optimizer``.
    lr : float, default 1e-3
        The learning rate, > 0.
    betas : tuple of 2 floats, default (0.9, 0.999)
        b1 and b2, each in [0, 1).
    eps : float, default 1e-7
        Keras' epsilon, >= 0, added to sqrt(v).
    weight_decay : float, default 0.0
        The L2 coefficient added to the gradient, >= 0.

    Raises
    ------
    ValueError
        For a setting out of those ranges.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        if (
            not lr > 0
            or not 0 <= betas[0] < 1
            or not 0 <= betas[1] < 1
            or eps < 0
            or weight_decay < 0
        ):
            raise ValueError(
                f"invalid Adam settings: lr={lr}, betas={betas}, eps={eps}, "
                f"weight_decay={weight_decay}"
            )
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        )

    # One signature for Optimizer.step's two overloads (no closure -> None, a closure -> its loss).
    @torch.no_grad()
    def step(  # type: ignore[override]
        self, closure: Callable[[], float] | None = None
    ) -> float | None:
        """Take one update step; return the loss of ``closure`` when given.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called once, before the update).

        Returns
        -------
        torch.Tensor or None
            The closure's loss, or None without a closure.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                state = self.state[p]
                if not state:
                    state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["step"] += 1
                t = state["step"]
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                rate = group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t)
                p.addcdiv_(state["m"], state["v"].sqrt().add_(group["eps"]), value=-rate)
        return loss
