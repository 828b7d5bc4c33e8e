"""SPSA: a gradient-free attack, to tell robustness from gradient masking."""

from __future__ import annotations

from typing import Any

import torch

from ..models import Predictor
from .base import Attack
from .objectives import margin_objective

__all__ = ["SPSA"]


class SPSA(Attack):
    """Simultaneous perturbation stochastic approximation attack.

    Uesato et al., "Adversarial Risk and the Dangers of Evaluating Against Weak Attacks", ICML 2018,
    https://arxiv.org/abs/1802.05666. Distance: L-inf.

    It never calls backward: the gradient of the ascent objective a is estimated from 2 * samples
    forward passes with random Rademacher directions v in {-1, +1}^D,

        g ~ mean_v [ (a(x_t + delta v) - a(x_t - delta v)) / (2 delta) * v ],

    then an Adam step of size lr on x, projected onto the eps-ball and the bounds. A model that
    resists PGD but falls to SPSA was masking its gradients (the MMC paper's check, Part II of the
    talk's table).

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). Each step evaluates 2 * samples * N
    inputs (limit memory with ``batch_size``); the trajectory has steps + 1 frames. The random
    directions are drawn per batch, so another ``batch_size`` draws other directions: the same
    seed and batch size give the same result, another batch size one of the same distribution.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (see
        :class:`~robviz.attacks.base.Attack`), except that the default ``loss`` is
        :func:`~robviz.attacks.objectives.margin_objective`, the logit margin of the paper: finite
        differences of a saturated cross-entropy are often exactly 0.
    eps : float
        The L-inf radius. Default 8/255.
    steps : int
        iterations. Default 10 (the talk's SPSA_10).
    lr : float
        Adam's step size, in input units. Default 0.01 (the MMC paper, for images; on the toy sets
        use about eps / 4).
    delta : float
        The finite-difference radius. Default 0.01.
    samples : int
        Random directions per step. Default 128.

    Examples
    --------
    >>> x_adv = SPSA(model, eps=8/255, steps=10, lr=0.01, delta=0.01)(x, y)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        steps: int = 10,
        lr: float = 0.01,
        delta: float = 0.01,
        samples: int = 128,
        **options: Any,
    ) -> None:
        if options.get("loss") is None:
            options["loss"] = margin_objective
        super().__init__(model, **options)
        self.eps = self._check_eps(eps)
        self.steps = self._check_int("steps", steps)
        self.lr = self._check_positive("lr", lr)
        self.delta = self._check_positive("delta", delta)
        self.samples = self._check_int("samples", samples)

    @torch.no_grad()
    def _estimate(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the SPSA estimate of the gradient of the ascent objective at x, (N, ...)."""
        v = (self._rand(self.samples, *x.shape, like=x) < 0.5).to(x.dtype) * 2 - 1
        probes = torch.cat([x + self.delta * v, x - self.delta * v]).reshape(-1, *x.shape[1:])
        a = self._ascent(probes, labels.repeat(2 * self.samples)).reshape(2, self.samples, len(x))
        slope = (a[0] - a[1]) / (2 * self.delta)
        return (slope.reshape(self.samples, len(x), *([1] * (x.dim() - 1))) * v).mean(dim=0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: Adam steps on SPSA gradient estimates.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...), the last iterate, in the eps-ball and the bounds.
        """
        x_adv, m, v = x.clone(), torch.zeros_like(x), torch.zeros_like(x)
        low, high = self._eps_box(x)
        beta1, beta2 = 0.9, 0.999
        self._log(x_adv)
        for t in range(1, self.steps + 1):
            g = self._estimate(x_adv, labels)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            step = (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + 1e-8)
            x_adv = torch.clamp(x_adv + self.lr * step, min=low, max=high)
            self._log(x_adv)
        return x_adv
