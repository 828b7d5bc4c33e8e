"""JSMA: change a few input features, chosen by a saliency map, until the target class wins."""

from __future__ import annotations

import torch

from .. import checks
from .base import Attack

__all__ = ["JSMA"]


class JSMA(Attack):
    """Jacobian-based saliency map attack (Papernot et al., "The Limitations of Deep Learning in Adversarial
    Settings", IEEE EuroS&P 2016, https://arxiv.org/abs/1511.07528). Distance: L0. Targeted.

    Each step takes the gradients of the target logit, a = grad Z_t, and of the other logits, b = grad sum_{k != t}
    Z_k, and picks the pair of features (i, j) still in the search domain that maximizes

        (a_i + a_j) * |b_i + b_j|   subject to  a_i + a_j > 0,  b_i + b_j < 0     (theta > 0; signs flip for theta < 0)

    then moves both by theta (clipped to the bounds) and removes them from the domain; it stops when the target
    wins, after gamma * D features, or when no pair qualifies. For 2-D inputs it is degenerate (one pair).

    Args:
        model: the classifier; ``**options`` are the base options (``loss`` only sets the recorded objective
            values). ``targeted`` must stay True; without a ``target`` each sample gets a seeded random class
            != y (the RCE paper used the least-likely class: ``run(x, y, least_likely(model, x))``).
        theta: the change of each chosen feature, in input units (1.0 turns a pixel white). Default 1.0.
        gamma: the largest fraction of the D input features that may change. Default 0.1.

    Shape: x (N, ...) in bounds, target (N,) -> x_adv (N, ...). Memory per sample ~ D^2 floats.

    Example:
        >>> result = JSMA(model, theta=1.0, gamma=0.1).run(x, y)
        >>> result.perturbation_norm("L0")          # features changed
    """

    norm = "L0"

    def __init__(self, model, *, theta: float = 1.0, gamma: float = 0.1, **options):
        if options.setdefault("targeted", True) is not True:
            raise ValueError("JSMA is a targeted attack; leave targeted=True")
        super().__init__(model, **options)
        self.theta = checks.real("theta", theta)
        if self.theta == 0:
            raise ValueError("theta must be a nonzero number, got 0")
        self.gamma = checks.real("gamma", gamma, low=0, high=1, low_open=True)

    def forward(self, x, target):
        n, shape = len(x), x.shape
        x_adv = x.reshape(n, -1).clone()
        d = x_adv.shape[1]
        low, high = self.bounds
        domain = x_adv < high if self.theta > 0 else x_adv > low
        pairs_ok = ~torch.eye(d, dtype=torch.bool, device=x.device)
        self._log(x)
        for _ in range(int(d * self.gamma) // 2):
            x_in = x_adv.reshape(shape).clone().requires_grad_(True)
            logits = self.model(x_in)
            active = (logits.argmax(dim=1) != target) & (domain.sum(dim=1) >= 2)
            if not active.any():
                break
            own = logits.gather(1, target[:, None]).sum()
            (a,) = torch.autograd.grad(own, x_in, retain_graph=True)
            (total,) = torch.autograd.grad(logits.sum(), x_in)
            a, b = a.reshape(n, d), total.reshape(n, d) - a.reshape(n, d)
            alpha, beta = a[:, :, None] + a[:, None, :], b[:, :, None] + b[:, None, :]
            sign = 1.0 if self.theta > 0 else -1.0
            valid = (sign * alpha > 0) & (sign * beta < 0) & domain[:, :, None] & domain[:, None, :] & pairs_ok
            score = torch.where(valid, -alpha * beta, torch.zeros_like(alpha)).reshape(n, -1)
            best = score.argmax(dim=1)
            move = active & valid.reshape(n, -1).any(dim=1)
            if not move.any():
                break
            rows = torch.nonzero(move).squeeze(1)
            for feature in (best[rows] // d, best[rows] % d):
                x_adv[rows, feature] = (x_adv[rows, feature] + self.theta).clamp(low, high)
                domain[rows, feature] = False
            self._log(x_adv.reshape(shape))
        return x_adv.reshape(shape).detach()
