"""Expectation over transformation (EOT): attacking a randomized model through its mean output.

Athalye, Engstrom, Ilyas and Kwok, "Synthesizing Robust Adversarial Examples", ICML 2018,
https://arxiv.org/abs/1707.07397; used against randomized defenses by Athalye, Carlini and Wagner,
"Obfuscated Gradients Give a False Sense of Security", ICML 2018, https://arxiv.org/abs/1802.00420.

A randomized model (Mixup Inference draws new mixing partners at every call) gives a different
gradient at every call; one draw points in a random direction. EOT attacks the expectation
E_r[J(f_r(x), y)] and estimates its gradient by the mean of ``samples`` draws, which cuts the
gradient's variance by ``samples``:

    objective = eot_objective(cross_entropy_objective, samples=10)
    x_adv = PGD(mi_model, eps=8/255, loss=objective)(x, y)          # any attack takes it as loss=
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .. import checks
from ..models import Predictor
from .objectives import cross_entropy_objective

__all__ = ["eot_objective", "EOT"]

# An attack objective: (model, x, labels) -> (N,) values to ascend.
_Objective = Callable[[Predictor, torch.Tensor, torch.Tensor], torch.Tensor]


def eot_objective(base_objective: _Objective | None = None, samples: int = 10) -> _Objective:
    """Return an attack objective averaged over ``samples`` calls of a randomized model.

    The objective is

        J_EOT(x, l) = (1 / S) sum_{s=1..S} J(f_{r_s}(x), l),

    so its gradient is the mean of S independent gradients. Each call of the model must draw new
    randomness (robviz's :class:`~robviz.mixup_inference.MixupInference` does). Memory grows with
    ``samples`` (one graph per draw).

    Parameters
    ----------
    base_objective : callable or None
        ``base_objective(model, x, labels) -> (N,)``; None (default) cross-entropy on
        ``model(x)``.
    samples : int
        S, the number of draws, >= 1.

    Returns
    -------
    callable
        A function ``(model, x, labels) -> (N,)``, to pass to any attack as ``loss=``.

    Raises
    ------
    ValueError
        ``samples`` < 1, or ``base_objective`` not callable.
    """
    base = cross_entropy_objective if base_objective is None else base_objective
    samples = checks.integer("samples", samples, low=1)
    if not callable(base):
        raise ValueError(
            f"base_objective must be a callable objective(model, x, labels), got {base!r}"
        )

    def objective(model: Predictor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.stack([base(model, x, labels) for _ in range(samples)]).mean(dim=0)

    objective.__name__ = objective.__qualname__ = (
        f"eot_{getattr(base, '__name__', 'objective')}_{samples}"
    )
    return objective


class EOT(nn.Module):
    """A randomized model averaged over ``samples`` calls.

    ``forward(x) = log mean_s softmax(model(x))``.

    Its argmax is the majority-of-probability prediction, and any attack with its default objective
    (cross-entropy on ``forward``) then attacks the expected probabilities, an EOT attack in one
    wrapper. x (N, ...) -> (N, L).

    Parameters
    ----------
    model : torch.nn.Module
        The randomized model, x -> logits (N, L), drawing new randomness at every call.
    samples : int
        The number of calls averaged, >= 1.

    Raises
    ------
    ValueError
        ``samples`` < 1.
    """

    def __init__(self, model: nn.Module, samples: int = 10):
        checks.model("model", model)
        super().__init__()
        samples = checks.integer("samples", samples, low=1)
        self.model, self.samples = model, samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return log mean_s softmax(model(x)) over ``samples`` calls.

        Computed in log space.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Log-probabilities (N, L).
        """
        log_probs = torch.stack([self.model(x).log_softmax(dim=1) for _ in range(self.samples)])
        return torch.logsumexp(log_probs, dim=0) - math.log(
            self.samples
        )  # log of the mean, in log space
