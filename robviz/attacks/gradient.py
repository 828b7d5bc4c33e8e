"""Gradient attacks with a radius eps: FGSM, BIM, PGD (L-inf and L2), ILCM and MIM.

Each is one small class on :class:`~robviz.attacks.base.Attack`. With J the attack objective
(cross-entropy on the logits by default), an untargeted attack climbs J(x, y) and a targeted one
descends J(x, t), and every iterate is projected back onto the eps-ball around x and into the input
bounds.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import checks
from ..models import Predictor
from .base import Attack, least_likely, norm_name

__all__ = ["FGSM", "BIM", "PGD", "ILCM", "MIM"]


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norm shaped to broadcast against t: (N, ...) -> (N, 1, ..., 1).

    Never 0: a saturated softmax gives gradients of norm 1e-13 whose direction still counts, so no
    epsilon is added.
    """
    norm = t.reshape(len(t), -1).norm(dim=1).clamp_min(torch.finfo(t.dtype).tiny)
    return norm.reshape(-1, *([1] * (t.dim() - 1)))


class FGSM(Attack):
    """Fast gradient sign method.

    Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015,
    https://arxiv.org/abs/1412.6572. Distance: L-inf.

        x_adv = clip(x + eps * sign(grad_x J(x, y)))      (targeted: x - eps * sign(grad_x J(x, t)))

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). The trajectory has 2 frames.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (bounds, targeted, loss, batch_size,
        device, seed; see :class:`~robviz.attacks.base.Attack`).
    eps : float
        The L-inf radius. Default 8/255.

    Examples
    --------
    >>> attack = FGSM(model, eps=8/255)
    >>> x_adv = attack(x, y)
    """

    def __init__(self, model: Predictor, *, eps: float = 8 / 255, **options: Any) -> None:
        super().__init__(model, **options)
        self.eps = self._check_eps(eps)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: one signed-gradient step of size eps.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...), clipped to the bounds.
        """
        self._log(x)
        x_adv = self._clip(x + self.eps * self._gradient(x, labels).sign())
        self._log(x_adv)
        return x_adv


class PGD(Attack):
    """Projected gradient descent.

    Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018,
    https://arxiv.org/abs/1706.06083. Distance: L-inf or L2.

        x_0 = x (+ a uniform random point of the eps-ball if random_start)
        x_{t+1} = clip(Proj_{B(x, eps)}(x_t + alpha * s_t)),
        s_t = sign(g_t) (L-inf) or g_t / ||g_t||_2 (L2),

    with g_t = grad_x J(x_t, y) (untargeted) or -grad_x J(x_t, t) (targeted).

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...). The trajectory has steps + 1 frames, the
    first is the (random) start.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (bounds, targeted, loss, batch_size,
        device, seed; see :class:`~robviz.attacks.base.Attack`).
    eps : float
        The radius. Default 8/255 (for L2 a typical image radius is 0.5).
    alpha : float or None
        The step size; None means eps / steps. Default 2/255.
    steps : int
        Iterations. Default 10.
    random_start : bool
        Start from a uniform random point of the ball (seeded). Default True.
    norm : str
        ``"Linf"`` or ``"L2"``. Default ``"Linf"``.

    Examples
    --------
    >>> attack = PGD(model, eps=8/255, alpha=2/255, steps=10, random_start=True)
    >>> x_adv = attack(x, y)
    >>> result = attack.run(x, y, record=True)     # result.trajectory.inputs: (11, N, ...)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        alpha: float | None = 2 / 255,
        steps: int = 10,
        random_start: bool = True,
        norm: str = "Linf",
        **options: Any,
    ) -> None:
        random_start = checks.flag("random_start", random_start)
        super().__init__(model, **options)
        self.norm = norm_name(norm, allowed=("Linf", "L2"))
        self.eps = self._check_eps(eps)
        self.alpha = self._check_positive("alpha", alpha, allow_none=True)
        self.steps = self._check_int("steps", steps)
        self.random_start = bool(random_start)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: :meth:`iterate` from the (random) start.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...), in the eps-ball and the bounds.
        """
        # x itself without a random start: iterate never writes into its start
        start = self._clip(x + self._random_delta(x)) if self.random_start else x
        return self.iterate(x, start, labels)

    def iterate(self, x: torch.Tensor, start: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the PGD iteration alone: ``steps`` projected steps from ``start`` around ``x``.

        What :meth:`run` does after drawing its start, without its checks, batching, eval mode or
        final prediction. Callers that draw the start themselves use it, e.g. adversarial training
        in :mod:`robviz.scale`, whose random starts come from the run's own generator so that a
        resumed or data-parallel run draws the same ones; wrap the call in
        :func:`robviz.runtime.evaluating`.

        Parameters
        ----------
        x : torch.Tensor
            The clean inputs (N, ...), the centers of the eps-balls.
        start : torch.Tensor
            The first iterate (N, ...); left unchanged.
        labels : torch.Tensor
            (N,) y, or the targets when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...), in the eps-ball around x and in the bounds, laid out in memory like x,
            without gradient history.
        """
        alpha = self.eps / self.steps if self.alpha is None else self.alpha
        x_adv = start
        self._log(x_adv)
        if self.norm == "Linf":
            low, high = self._eps_box(x)
        for _ in range(self.steps):
            grad = self._gradient(x_adv, labels)
            # the step is written into a tensor laid out like x: a clamp's own output is plain
            # (N, C, H, W), which would switch channels-last inputs (the digits' images) to
            # another convolution layout after the first step, a slower one on the CPU; no_grad:
            # the step is never differentiated (the next gradient starts from a detached copy),
            # and out= refuses inputs with gradient history
            with torch.no_grad():
                out = torch.empty_like(x)
                if self.norm == "Linf":
                    x_adv = torch.clamp(
                        grad.sign_().mul_(alpha).add_(x_adv), min=low, max=high, out=out
                    )
                else:
                    delta = x_adv + alpha * grad / _flat_norm(grad) - x
                    step = x + delta * (self.eps / _flat_norm(delta)).clamp(max=1.0)
                    x_adv = torch.clamp(step, min=self.bounds[0], max=self.bounds[1], out=out)
            self._log(x_adv)
        return x_adv

    def _random_delta(self, x: torch.Tensor) -> torch.Tensor:
        """Return a uniform random point of the eps-ball (L-inf: a box; L2: uniform in the ball)."""
        if self.norm == "Linf":
            return self.eps * (2 * self._rand(*x.shape, like=x) - 1)
        direction = self._randn(*x.shape, like=x)
        direction = direction / _flat_norm(direction)
        radius = self._rand(len(x), like=x) ** (1.0 / x[0].numel())
        return self.eps * direction * radius.reshape(-1, *([1] * (x.dim() - 1)))


class BIM(PGD):
    """Basic iterative method.

    Kurakin et al., "Adversarial Examples in the Physical World", ICLR 2017 workshop,
    https://arxiv.org/abs/1607.02533. PGD from x itself, without a random start. Distance: L-inf (or
    L2).

    Default step alpha = eps / steps, the setting of the RCE paper (10 steps of eps / 10). Arguments
    as :class:`PGD` (``random_start`` defaults to False).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (bounds, targeted, loss, batch_size,
        device, seed; see :class:`~robviz.attacks.base.Attack`).
    eps : float
        The radius. Default 8/255.
    alpha : float or None
        The step size; None (default) means eps / steps.
    steps : int
        Iterations. Default 10.
    random_start : bool
        Start from a uniform random point of the ball. Default False.
    norm : str
        ``"Linf"`` or ``"L2"``. Default ``"Linf"``.

    Examples
    --------
    >>> x_adv = BIM(model, eps=8/255, steps=10)(x, y)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        alpha: float | None = None,
        steps: int = 10,
        random_start: bool = False,
        norm: str = "Linf",
        **options: Any,
    ) -> None:
        random_start = checks.flag("random_start", random_start)
        super().__init__(
            model,
            eps=eps,
            alpha=alpha,
            steps=steps,
            random_start=random_start,
            norm=norm,
            **options,
        )


class ILCM(BIM):
    """Iterative least-likely class method.

    Kurakin et al., "Adversarial Machine Learning at Scale", ICLR 2017,
    https://arxiv.org/abs/1611.01236. A targeted BIM whose target is the least-likely class on the
    clean input, y_LL = argmin_k model(x)_k. Distance: L-inf.

    Always targeted; ``success`` means the prediction reached y_LL. A ``target`` passed to ``run``
    replaces y_LL. Arguments as :class:`BIM`.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options and :class:`BIM`'s (``random_start``,
        ``norm``); ``targeted`` may only be True.
    eps : float
        The L-inf radius. Default 8/255.
    alpha : float or None
        The step size; None (default) means eps / steps.
    steps : int
        Iterations. Default 10.

    Raises
    ------
    ValueError
        ``targeted`` other than True, or invalid settings (as :class:`PGD`).

    Examples
    --------
    >>> result = ILCM(model, eps=8/255, steps=10).run(x, y)
    >>> targets = result.target          # the least-likely classes, (N,)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        alpha: float | None = None,
        steps: int = 10,
        **options: Any,
    ) -> None:
        if options.pop("targeted", True) is not True:
            raise ValueError(
                "ILCM is always targeted (at the least-likely class); use BIM for untargeted"
            )
        super().__init__(model, eps=eps, alpha=alpha, steps=steps, targeted=True, **options)

    def _default_target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return least_likely(self.model, x)


class MIM(Attack):
    """Momentum iterative method.

    Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018,
    https://arxiv.org/abs/1710.06081. Distance: L-inf.

        g_{t+1} = decay * g_t + grad_x J(x_t) / mean|grad_x J(x_t)|,
        x_{t+1} = clip(Proj(x_t + alpha sign(g_{t+1})))

    Shape: x (N, ...) in bounds, y (N,) -> x_adv (N, ...); the trajectory has steps + 1 frames.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (see
        :class:`~robviz.attacks.base.Attack`).
    eps : float
        The L-inf radius. Default 8/255.
    alpha : float or None
        The step size; None means eps / steps (the paper's). Default None.
    steps : int
        Iterations. Default 10.
    decay : float
        The momentum factor mu. Default 1.0.

    Examples
    --------
    >>> x_adv = MIM(model, eps=8/255, steps=10, decay=1.0)(x, y)
    """

    def __init__(
        self,
        model: Predictor,
        *,
        eps: float = 8 / 255,
        alpha: float | None = None,
        steps: int = 10,
        decay: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self.eps = self._check_eps(eps)
        self.alpha = self._check_positive("alpha", alpha, allow_none=True)
        self.steps = self._check_int("steps", steps)
        self.decay = checks.real("decay", decay, low=0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples: signed steps along the accumulated momentum.

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
        alpha = self.eps / self.steps if self.alpha is None else self.alpha
        x_adv, momentum = x.clone(), torch.zeros_like(x)
        low, high = self._eps_box(x)
        self._log(x_adv)
        dims = tuple(range(1, x.dim()))
        for _ in range(self.steps):
            grad = self._gradient(x_adv, labels)
            scale = grad.abs().mean(dim=dims, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
            momentum = self.decay * momentum + grad / scale
            with torch.no_grad():  # into x's layout, as in PGD.iterate
                step = x_adv + alpha * momentum.sign()
                x_adv = torch.clamp(step, min=low, max=high, out=torch.empty_like(x))
            self._log(x_adv)
        return x_adv
