"""JSMA: change a few input features, chosen by a saliency map, until the target class wins."""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import checks
from ..models import Predictor
from .base import Attack

__all__ = ["JSMA"]


class JSMA(Attack):
    """Jacobian-based saliency map attack.

    Papernot et al., "The Limitations of Deep Learning in Adversarial Settings", IEEE EuroS&P 2016,
    https://arxiv.org/abs/1511.07528. Distance: L0. Targeted.

    Each step takes the gradients of the target logit, a = grad Z_t, and of the other logits, b =
    grad sum_{k != t} Z_k, and picks the pair of features (i, j) still in the search domain that
    maximizes

        (a_i + a_j) * |b_i + b_j|   subject to  a_i + a_j > 0,  b_i + b_j < 0
        (theta > 0; the signs flip for theta < 0)

    then moves both by theta (clipped to the bounds) and removes them from the domain; it stops when
    the target wins, after gamma * D features, or when no pair qualifies. For 2-D inputs it is
    degenerate (one pair).

    Shape: x (N, ...) in bounds, target (N,) -> x_adv (N, ...). Each step scores the K^2 pairs of
    the K features that can still be in a qualifying pair (K <= D) of every sample still running,
    ``pair_scores_at_once`` scores at a time (memory stays bounded; time grows with K^2).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; ``**options`` are the base options (``loss`` only sets the recorded
        objective values). ``targeted`` must stay True; without a ``target`` each sample gets a
        seeded random class != y (the RCE paper used the least-likely class: ``run(x, y,
        least_likely(model, x))``).
    theta : float
        The change of each chosen feature, in input units (1.0 turns a pixel white). Default 1.0.
    gamma : float
        The largest fraction of the D input features that may change. Default 0.1.

    Examples
    --------
    >>> result = JSMA(model, theta=1.0, gamma=0.1).run(x, y)
    >>> changed = result.perturbation_norm("L0")          # features changed, (N,)
    """

    norm = "L0"
    #: At most this many pair scores are held at once (samples are searched in chunks): 2^23 floats,
    #: 32 MiB (about 100 MiB with the search's other temporaries).
    pair_scores_at_once = 2**23

    def __init__(
        self, model: Predictor, *, theta: float = 1.0, gamma: float = 0.1, **options: Any
    ) -> None:
        if options.setdefault("targeted", True) is not True:
            raise ValueError("JSMA is a targeted attack; leave targeted=True")
        super().__init__(model, **options)
        self.theta = checks.real("theta", theta)
        if self.theta == 0:
            raise ValueError("theta must be a nonzero number, got 0")
        self.gamma = checks.real("gamma", gamma, low=0, high=1, low_open=True)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return adversarial examples of x for the target classes.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds.
        target : torch.Tensor
            The target classes (N,).

        Returns
        -------
        torch.Tensor
            x_adv (N, ...).

        Raises
        ------
        ValueError
            ``gamma`` lets fewer than one pair of the D input features change.
        """
        n, shape = len(x), x.shape
        x_adv = x.reshape(n, -1).clone()
        d = x_adv.shape[1]
        low, high = self.bounds
        pairs = int(d * self.gamma) // 2
        # no pair may change: every input would come back unchanged, a silent 0 % success
        if pairs == 0:
            raise ValueError(
                f"gamma={self.gamma:g} lets JSMA change int({d} * {self.gamma:g}) = "
                f"{int(d * self.gamma)} "
                f"of the {d} input features, less than one pair: it would do nothing; use gamma >= "
                f"{2 / d:.3g} for inputs of {d} features"
            )
        domain = x_adv < high if self.theta > 0 else x_adv > low
        self._log(x)
        rows = torch.arange(
            n, device=x.device
        )  # the samples still running; one that stops never restarts
        for _ in range(pairs):
            rows = rows[domain[rows].sum(dim=1) >= 2]
            if len(rows) == 0:
                break
            # One forward pass gives the predictions (who has reached the target) and the Jacobian
            # rows.
            x_in = x_adv[rows].reshape(len(rows), *shape[1:]).requires_grad_(True)
            logits = self.model(x_in)
            running = logits.argmax(dim=1) != target[rows]
            if not running.any():
                break
            own = logits.gather(1, target[rows, None]).sum()
            (a,) = torch.autograd.grad(own, x_in, retain_graph=True)
            (total,) = torch.autograd.grad(logits.sum(), x_in)
            rows, a, total = (
                rows[running],
                a.reshape(len(running), d)[running],
                total.reshape(len(running), d)[running],
            )
            first, second, found = self._best_pairs(a, total - a, domain[rows])
            if not found.any():
                break
            rows, first, second = rows[found], first[found], second[found]
            for feature in (first, second):
                x_adv[rows, feature] = (x_adv[rows, feature] + self.theta).clamp(low, high)
                domain[rows, feature] = False
            self._log(x_adv.reshape(shape))
        return x_adv.reshape(shape).detach()

    def _best_pairs(
        self, a: torch.Tensor, b: torch.Tensor, domain: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the saliency map's best pair per sample.

        a, b (M, D) gradients, domain (M, D) -> (first, second, found), each (M,). The (M, K, K)
        pair scores of the K candidate features are built a few samples at a time
        (``pair_scores_at_once``), so memory stays bounded on MNIST-sized inputs (D = 784: up to
        0.6 M pairs per sample, 2.4 MB).
        """
        m, d = a.shape
        if self.theta < 0:  # the mirrored search: a_i + a_j < 0 and b_i + b_j > 0
            a, b = -a, -b
        # A pair's score is relu(a_i + a_j) * relu(-(b_i + b_j)): positive exactly when
        # a_i + a_j > 0 and b_i + b_j < 0, else 0. Features outside the domain never qualify:
        # a = -inf and -b = -inf make both factors 0. nb_i + nb_j (nb = -b) is -(b_i + b_j) exactly
        # (IEEE negation), so the scores are bit for bit those of masks then product: five passes
        # over the (chunk, K, K) scores instead of ten.
        a = a.masked_fill(~domain, -math.inf)
        nb = (-b).masked_fill(~domain, -math.inf)
        # Only features that can be in a qualifying pair are searched: a_i + a_j > 0 needs
        # a_i > -max(a), and nb_i + nb_j > 0 needs nb_i > -max(nb). They come first, in feature
        # order (a stable sort), so the pairs keep their order; every pair left out scores 0.
        candidate = (a > -a.amax(dim=1, keepdim=True)) & (nb > -nb.amax(dim=1, keepdim=True))
        k = int(candidate.sum(dim=1).max()) if m else 0
        if k < 2:  # no sample has a pair that qualifies
            none = torch.zeros(m, dtype=torch.long, device=a.device)
            return none, none, torch.zeros(m, dtype=torch.bool, device=a.device)
        features = torch.argsort((~candidate).to(torch.uint8), dim=1, stable=True)[:, :k]
        kept = candidate.gather(1, features)
        a = a.gather(1, features).masked_fill(~kept, -math.inf)
        nb = nb.gather(1, features).masked_fill(~kept, -math.inf)
        chunk = max(1, self.pair_scores_at_once // (k * k))
        best, found = [], []
        for i in range(0, m, chunk):
            ai, nbi = a[i : i + chunk], nb[i : i + chunk]
            # In place, to hold two (chunk, K, K) float tensors at a time.
            score = (ai[:, :, None] + ai[:, None, :]).clamp_(min=0)
            beta = (nbi[:, :, None] + nbi[:, None, :]).clamp_(min=0)
            score.mul_(beta)
            del beta
            score.diagonal(dim1=1, dim2=2).zero_()  # a pair is two distinct features
            value, index = score.reshape(len(ai), -1).max(dim=1)
            best.append(index)
            found.append(value > 0)
        best_pair = torch.cat(best)
        first = features.gather(1, (best_pair // k)[:, None]).squeeze(1)
        second = features.gather(1, (best_pair % k)[:, None]).squeeze(1)
        return first, second, torch.cat(found)
