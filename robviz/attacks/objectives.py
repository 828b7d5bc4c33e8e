"""Attack objectives: what an attack pushes up (untargeted) or down (targeted).

An objective is a function ``objective(model, x, labels) -> (N,)``, one value per input, *small when the model
predicts ``labels``*. Untargeted attacks increase it at the true labels y; targeted attacks decrease it at the
targets t. Any callable with that signature can be passed to an attack as ``loss=``.

The adaptive choices of the papers (ALGORITHMS.md): the MMC model is attacked through its own loss
(untargeted: maximize ||z - mu_y||^2, targeted: minimize ||z - mu_t||^2), the RCE model through cross-entropy on
its negated logits, which is what ``model(x)`` returns, so :func:`auto_objective` needs no RCE case.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["cross_entropy_objective", "margin_objective", "mmc_objective", "auto_objective"]


def cross_entropy_objective(model, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy on the model's logits, per sample: -log softmax(model(x))_labels.

    x: (N, ...), labels: (N,) -> (N,). The default objective (Goodfellow et al. 2015; Madry et al. 2018).
    """
    return F.cross_entropy(model(x), labels, reduction="none")


def margin_objective(model, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The logit margin of Carlini & Wagner ("Towards Evaluating the Robustness of Neural Networks", S&P 2017):

        m(x, l) = max_{k != l} Z_k(x) - Z_l(x),   Z = model(x),

    negative exactly when the model predicts l. It does not saturate like cross-entropy, so it is a good
    objective against softmax saturation and for SPSA. x: (N, ...), labels: (N,) -> (N,).
    """
    logits = model(x)
    own = logits.gather(1, labels[:, None]).squeeze(1)
    others = logits.scatter(1, labels[:, None], float("-inf")).amax(dim=1)
    return others - own


def mmc_objective(centers: torch.Tensor, factor: float = 0.5):
    """The MMC loss as an attack objective (Pang et al., "Rethinking Softmax Cross-Entropy Loss for Adversarial
    Robustness", ICLR 2020): the adaptive attack of the paper.

        J(x, l) = factor * ||z(x) - mu_l||^2,   z = model.features(x),

    so an untargeted attack pushes the feature away from its class center mu_y and a targeted attack pulls it to
    the target's center mu_t. (The paper writes mu_yhat, the clean prediction; for the correctly classified
    inputs that robust accuracy counts, it is mu_y.) ``factor`` only rescales the values (paper 1/2, code 1).

    Args: centers (L, d), the fixed Max-Mahalanobis centers (``model.objective.centers``).
    Returns: a function ``(model, x, labels) -> (N,)``.
    """
    def objective(model, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        z = model.features(x)
        return factor * (z - centers.to(z.device, z.dtype)[labels]).pow(2).sum(dim=1)

    objective.__name__ = objective.__qualname__ = "mmc_objective"
    return objective


def auto_objective(model):
    """The adaptive objective for ``model``: :func:`mmc_objective` with the model's own centers when
    ``model.objective.name == "mmc"``, else :func:`cross_entropy_objective` on ``model(x)`` (for RCE these are
    the negated logits, the attack the RCE paper evaluates)."""
    head = getattr(model, "objective", None)
    if getattr(head, "name", None) == "mmc":
        return mmc_objective(head.centers.detach(), factor=getattr(head, "factor", 0.5))
    return cross_entropy_objective
