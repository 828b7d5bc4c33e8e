"""Optimization attacks for the smallest perturbation: Carlini-Wagner L2 and EAD (elastic net, L1).

Both minimize a distance plus c times the C&W margin loss and search c per sample by bisection: a
success lowers c (look for a closer adversarial), a failure raises it (x10 until the first success).
They return, per sample, the closest adversarial input found; a sample that never succeeded is
returned unchanged (x_adv = x, ``success`` False). They optimize the margin on ``model(x)`` (the
papers' f_6); ``loss`` is not used.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import checks
from ..models import Predictor
from .base import Attack, lp_norm
from .objectives import margin_objective

__all__ = ["CW", "EAD"]


class _MarginSearch(Attack):
    """Base of CW and EAD.

    Shared by both: the margin objective, its confidence kappa, the best-so-far bookkeeping and the
    bisection over c.
    """

    def __init__(
        self,
        model: Predictor,
        *,
        c: float,
        kappa: float,
        steps: int,
        lr: float,
        binary_steps: int,
        **options: Any,
    ) -> None:
        if options.pop("loss", None) is not None:
            raise ValueError(
                f"{type(self).__name__} optimizes the C&W margin on model(x); it takes no loss="
            )
        super().__init__(model, loss=margin_objective, **options)
        self.c = self._check_positive("c", c)
        self.kappa = checks.real("kappa", kappa, low=0)
        self.steps = self._check_int("steps", steps)
        self.lr = self._check_positive("lr", lr)
        self.binary_steps = self._check_int("binary_steps", binary_steps)

    def _penalty(
        self, x_adv: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return f = max(-a, -kappa) and the success mask, per sample.

        a is the signed margin (> 0 once the attack succeeds); the success mask is a > 0 and a >=
        kappa.
        """
        a = self._ascent(x_adv, labels)
        return (-a).clamp(min=-self.kappa), (a > 0) & (a >= self.kappa)

    def _search_state(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the initial search state per sample: the constant c and its bisection bounds.

        Then the best example so far and its distance.
        """
        c = torch.full((len(x),), self.c, device=x.device)
        return (
            c,
            torch.zeros_like(c),
            torch.full_like(c, math.inf),
            x.clone(),
            torch.full_like(c, math.inf),
        )

    @staticmethod
    def _keep_best(
        best: torch.Tensor,
        best_dist: torch.Tensor,
        candidate: torch.Tensor,
        dist: torch.Tensor,
        ok: torch.Tensor,
    ) -> torch.Tensor:
        """Store the successful candidates closer than the best so far; return the new distances.

        The best examples are updated in place.
        """
        better = ok & (dist < best_dist)
        best[better] = candidate[better].detach()
        return torch.where(better, dist, best_dist)

    @staticmethod
    def _bisect(
        c: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, found: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        upper = torch.where(found, torch.minimum(upper, c), upper)
        lower = torch.where(found, lower, torch.maximum(lower, c))
        return torch.where(torch.isfinite(upper), (lower + upper) / 2, c * 10), lower, upper


class CW(_MarginSearch):
    """Carlini & Wagner L2 attack.

    Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017,
    https://arxiv.org/abs/1608.04644. Distance: L2 (minimized, no eps).

        minimize_w  ||x' - x||_2^2 + c * max(Z_y(x') - max_{k != y} Z_k(x'), -kappa),
        x' = low + (high - low) (tanh(w) + 1) / 2
        (targeted: max(max_{k != t} Z_k - Z_t, -kappa))

    with Adam on w (the tanh change of variables keeps x' in bounds) and a binary search over c per
    sample.

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). The trajectory has one frame per Adam
    step (up to binary_steps * steps + 1).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options except ``loss`` (see
        :class:`~robviz.attacks.base.Attack`).
    c : float
        The initial constant c. Default 1e-2 (the MMC paper's 0.01).
    kappa : float
        The confidence margin; kappa = 0 is C&W, the RCE paper's C&W-hc uses 10. Default 0.
    steps : int
        Adam steps per value of c. Default 100 (the papers use 1000).
    lr : float
        Adam's learning rate. Default 0.01 (the MMC paper 5e-3). Inputs at the bounds (the black
        background of digits) sit where tanh is flat and barely move at small lr; there 0.05 to 0.1
        finds closer adversarials in 100 steps.
    binary_steps : int
        Values of c tried. Default 9.
    abort_early : bool
        Stop a sample's search at a value of c when its loss has not dropped by 0.01% over
        steps // 10 steps. Per sample, so a batch gives the same result as one input at a time.

    Examples
    --------
    >>> result = CW(model, c=1e-2, kappa=0, steps=100).run(x, y)
    >>> # the talk's "C&W" column
    >>> mean_distance = result.perturbation_norm("L2")[result.success].mean()
    """

    norm = "L2"

    def __init__(
        self,
        model: Predictor,
        *,
        c: float = 1e-2,
        kappa: float = 0.0,
        steps: int = 100,
        lr: float = 0.01,
        binary_steps: int = 9,
        abort_early: bool = True,
        **options: Any,
    ) -> None:
        abort_early = checks.flag("abort_early", abort_early)
        super().__init__(
            model, c=c, kappa=kappa, steps=steps, lr=lr, binary_steps=binary_steps, **options
        )
        self.abort_early = bool(abort_early)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: the closest successful iterate of the search.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...): per sample the successful iterate of smallest squared L2 distance over
            all c, or the clean input where none succeeded.
        """
        low, high = self.bounds
        scale = (high - low) / 2
        w0 = torch.atanh(((x - low) / scale - 1).clamp(-1 + 1e-6, 1 - 1e-6))
        n = len(x)
        c, lower, upper, best, best_dist = self._search_state(x)
        self._log(x)
        every = max(self.steps // 10, 1)
        for _ in range(self.binary_steps):
            w = w0.clone().requires_grad_(True)
            optimizer = torch.optim.Adam([w], lr=self.lr)
            found = torch.zeros(n, dtype=torch.bool, device=x.device)
            # Early abort per sample (a batch-summed loss would let one sample's progress keep
            # another running).
            active, previous = torch.ones_like(found), torch.full_like(c, math.inf)
            for step in range(self.steps):
                x_adv = low + scale * (torch.tanh(w) + 1)
                dist = (x_adv - x).pow(2).reshape(n, -1).sum(dim=1)
                penalty, ok = self._penalty(x_adv, labels)
                loss = dist + c * penalty
                (w.grad,) = torch.autograd.grad(
                    loss.sum(), w
                )  # never touches the model's parameters
                stopped = w.detach()[~active]
                optimizer.step()
                with torch.no_grad():
                    w[~active] = stopped  # a stopped sample stays where it stopped
                    best_dist = self._keep_best(best, best_dist, x_adv, dist, ok & active)
                    found |= ok & active
                self._log(x_adv)
                if self.abort_early and step % every == 0:
                    loss = loss.detach()
                    active &= ~(loss > previous * 0.9999)
                    previous = torch.where(active, loss, previous)
                    if not bool(active.any()):
                        break
            c, lower, upper = self._bisect(c, lower, upper, found)
        return best


class EAD(_MarginSearch):
    """Elastic-net attack.

    Chen et al., "EAD: Elastic-Net Attacks to Deep Neural Networks via Adversarial Examples", AAAI
    2018, https://arxiv.org/abs/1709.04114. Distance: L1 (minimized, no eps).

        minimize_x'  c * f(x') + ||x' - x||_2^2 + beta * ||x' - x||_1,   x' in bounds,

    f the C&W margin loss (as in :class:`CW`), solved by FISTA: a gradient step on the smooth part
    with learning rate lr * sqrt(1 - k / steps), then the projected shrinkage-thresholding S_beta
    (entries of x' - x smaller than beta in size become 0, the others shrink by beta; clip to
    bounds), then momentum k / (k + 3). A binary search over c as in C&W.

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...); one trajectory frame per iteration.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options except ``loss``.
    beta : float
        The L1 weight (and threshold). Default 1e-3 (the paper; the ADP paper uses 0.01).
    c : float
        The initial constant. Default 1e-3 (the paper).
    kappa : float
        The confidence margin. Default 0.
    steps : int
        FISTA iterations per value of c. Default 100 (the paper 1000).
    lr : float
        The initial learning rate. Default 0.01.
    binary_steps : int
        Values of c tried. Default 9.
    decision : str
        Which successful iterate is the best: ``"EN"`` (elastic-net distance, the default) or
        ``"L1"``.

    Examples
    --------
    >>> result = EAD(model, beta=1e-2).run(x, y)
    >>> distances = result.perturbation_norm("L1")          # (N,)
    """

    norm = "L1"

    def __init__(
        self,
        model: Predictor,
        *,
        beta: float = 1e-3,
        c: float = 1e-3,
        kappa: float = 0.0,
        steps: int = 100,
        lr: float = 0.01,
        binary_steps: int = 9,
        decision: str = "EN",
        **options: Any,
    ) -> None:
        super().__init__(
            model, c=c, kappa=kappa, steps=steps, lr=lr, binary_steps=binary_steps, **options
        )
        beta = checks.real("beta", beta, low=0)
        if decision not in ("EN", "L1"):
            raise ValueError(f"decision must be 'EN' or 'L1', got {decision!r}")
        self.beta, self.decision = float(beta), decision

    def _shrink(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Projected shrinkage-thresholding S_beta(z) around x, clipped to the bounds."""
        diff = z - x
        return self._clip(x + diff.sign() * (diff.abs() - self.beta).clamp(min=0))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: the best successful iterate of the search.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...): per sample the successful iterate of smallest distance (L1, or the
            elastic net beta L1 + L2^2 for ``decision="EN"``) over all c, or the clean input where
            none succeeded.
        """
        n = len(x)
        c, lower, upper, best, best_dist = self._search_state(x)
        self._log(x)
        for _ in range(self.binary_steps):
            x_k, slack = x.clone(), x.clone()
            found = torch.zeros(n, dtype=torch.bool, device=x.device)
            for k in range(self.steps):
                slack.requires_grad_(True)
                penalty, _ = self._penalty(slack, labels)
                smooth = (c * penalty + (slack - x).pow(2).reshape(n, -1).sum(dim=1)).sum()
                (grad,) = torch.autograd.grad(smooth, slack)
                lr = self.lr * (1 - k / self.steps) ** 0.5
                with torch.no_grad():
                    x_next = self._shrink(slack - lr * grad, x)
                    slack = self._clip(x_next + k / (k + 3) * (x_next - x_k))
                    x_k = x_next
                    _, ok = self._penalty(x_k, labels)
                    l1 = lp_norm(x_k - x, "L1")
                    dist = (
                        l1
                        if self.decision == "L1"
                        else l1 * self.beta + lp_norm(x_k - x, "L2").pow(2)
                    )
                    best_dist = self._keep_best(best, best_dist, x_k, dist, ok)
                    found |= ok
                self._log(x_k)
            c, lower, upper = self._bisect(c, lower, upper, found)
        return best
