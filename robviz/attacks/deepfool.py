"""DeepFool: the minimal L2 perturbation that reaches the nearest decision boundary."""

from __future__ import annotations

from typing import Any

import torch

from .. import checks
from ..models import Predictor
from .base import Attack

__all__ = ["DeepFool"]


class DeepFool(Attack):
    """DeepFool.

    Moosavi-Dezfooli et al., "DeepFool: a simple and accurate method to fool deep neural networks",
    CVPR 2016, https://arxiv.org/abs/1511.04599. Distance: L2 (minimized, no eps).

    At each step the classifier is linearized around x_t; with f_k = Z_k - Z_y and w_k = grad f_k,
    the nearest linearized boundary is l = argmin_{k != y} |f_k| / ||w_k||, and

        r_t = (|f_l| + 1e-4) / ||w_l||^2 * w_l,   x_{t+1} = clip(x + (1 + overshoot) * sum_t r_t),

    until the prediction changes. ||x_adv - x||_2 estimates the distance d_ij of the talk's
    robustness definition (i = y, j = the class reached, ``result.prediction``); for an affine
    classifier it is exact after one step (up to the overshoot). With ``targeted=True`` only the
    boundary to the target t is considered (f = Z_t - Z_top), which estimates d_it for a chosen j =
    t.

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). Every step computes the L logit
    gradients; the trajectory has up to steps + 1 frames (it stops when every sample is done).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (``loss`` only sets the recorded
        objective values).
    steps : int
        The largest number of linearizations. Default 50.
    overshoot : float
        The final push past the boundary. Default 0.02.

    Examples
    --------
    >>> result = DeepFool(model).run(x, y)
    >>> d = result.perturbation_norm("L2")       # minimal distances, per sample
    """

    norm = "L2"

    def __init__(
        self, model: Predictor, *, steps: int = 50, overshoot: float = 0.02, **options: Any
    ) -> None:
        super().__init__(model, **options)
        self.steps = self._check_int("steps", steps)
        self.overshoot = checks.real("overshoot", overshoot, low=0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: DeepFool's accumulated linearized steps.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...): x + (1 + overshoot) times the summed steps, clipped to the bounds; a
            sample stops once it is misclassified (reaches the target, if targeted).
        """
        rows = torch.arange(len(x), device=x.device)
        r_total, x_adv = torch.zeros_like(x), x.clone()
        self._log(x_adv)
        for _ in range(self.steps):
            x_in = x_adv.detach().requires_grad_(True)
            logits = self.model(x_in)
            prediction = logits.argmax(dim=1)
            active = prediction != labels if self.targeted else prediction == labels
            if not active.any():
                break
            grads = torch.stack(
                [
                    torch.autograd.grad(logits[:, k].sum(), x_in, retain_graph=True)[0]
                    for k in range(logits.shape[1])
                ],
                dim=1,
            ).flatten(2)  # (N, L, D)
            logits = logits.detach()
            if self.targeted:  # cross the boundary between the current top class and the target
                f = logits[rows, labels] - logits[rows, prediction]
                w = grads[rows, labels] - grads[rows, prediction]
            else:  # the nearest boundary to any other class
                f_all = logits - logits[rows, labels][:, None]
                w_all = grads - grads[rows, labels][:, None]
                distance = f_all.abs() / w_all.norm(dim=2).clamp_min(1e-12)
                distance[rows, labels] = float("inf")
                nearest = distance.argmin(dim=1)
                f, w = f_all[rows, nearest], w_all[rows, nearest]
            step = ((f.abs() + 1e-4) / w.pow(2).sum(dim=1).clamp_min(1e-12))[:, None] * w
            r_total = r_total + step.reshape(x.shape) * active.reshape(-1, *([1] * (x.dim() - 1)))
            x_adv = self._clip(x + (1 + self.overshoot) * r_total)
            self._log(x_adv)
        return x_adv
