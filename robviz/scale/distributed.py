"""Data-parallel set-up under ``torchrun``, bf16 autocast on CUDA, and the loss module DDP wraps."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

import torch

if TYPE_CHECKING:
    from ..models import Classifier, TrainableModel

__all__ = ["Distributed", "LossModule", "autocast"]


def autocast(device: torch.device) -> torch.autocast:
    """Return bf16 autocast on CUDA, a no-op context elsewhere.

    Used by the training step and the evaluation passes.

    Parameters
    ----------
    device : torch.device
        The device computed on; autocast is enabled only when its type is ``"cuda"``.

    Returns
    -------
    torch.autocast
        The context manager.
    """
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


class Distributed:
    """Rank, world size and device of this process.

    Initializes the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1: NCCL on CUDA,
    gloo on the CPU) and destroys it in :meth:`close` if it started it.

    Parameters
    ----------
    device : str or None
        The preferred device (:func:`robviz.runtime.pick_device`); under torchrun on CUDA each
        process takes ``cuda:LOCAL_RANK``.
    """

    def __init__(self, device: str | None = None):
        from ..runtime import pick_device

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        chosen = pick_device(device)
        if chosen.type == "cuda" and self.world > 1:
            chosen = torch.device("cuda", local_rank)
            torch.cuda.set_device(chosen)
        self.device = chosen
        self.started = False
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group(
                backend="nccl" if chosen.type == "cuda" else "gloo"
            )
            self.started = True

    @property
    def main(self) -> bool:
        """True on rank 0, the process that prints and writes files."""
        return self.rank == 0

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Return the mean of ``value`` over the processes (a copy; ``value`` itself when alone).

        Parameters
        ----------
        value : torch.Tensor
            This process's value, any shape, on this process's device; every process must call
            this (an all-reduce).

        Returns
        -------
        torch.Tensor
            The elementwise mean over the processes, same shape.
        """
        if self.world > 1:
            value = value.clone()
            torch.distributed.all_reduce(value)
            value /= self.world
        return value

    def close(self) -> None:
        """Destroy the process group if this object started it."""
        if self.started:
            torch.distributed.destroy_process_group()


def _full_precision(z: torch.Tensor) -> torch.Tensor:
    """Return float32 for autocast's half-precision features; float32 and float64 as they are."""
    return z.float() if z.dtype in (torch.float16, torch.bfloat16) else z


class LossModule(torch.nn.Module):
    """``forward(x, y) = model.loss(x, y)`` as a module.

    As a module, DistributedDataParallel synchronizes the loss's gradients.

    For a single network the body runs under the caller's autocast and the head and its loss in
    float32; an ensemble's loss casts to float32 itself.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`robviz.models.Classifier` (``body`` and ``objective``) or a model with
        ``loss(x, y)`` and no ``body``, such as an ADP ensemble.
    """

    def __init__(self, model: Classifier | TrainableModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        weight: torch.Tensor | None = None,
        y_b: torch.Tensor | None = None,
        lam: torch.Tensor | None = None,
        groups: int = 1,
    ) -> torch.Tensor:
        """Return the scalar loss of the batch.

        With ``weight`` or ``y_b`` and ``lam`` (mixup, mixed adversarial and clean batches) the loss
        is a weighted sum of per-sample losses, sum_i weight_i (lam_i L_i(y_i) + (1 - lam_i)
        L_i(y_b,i)) (weight 1/N and lam 1 when not given). An ensemble takes weights that are
        constant within each chunk and no mixup (its ADP loss is a batch mean, so chunk weight x
        mean is that sum).

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).
        y : torch.Tensor
            Integer labels (N,).
        weight : torch.Tensor, optional
            Per-sample weights (N,); None weighs each sample 1/N.
        y_b, lam : torch.Tensor, optional
            Mixup's second labels (N,) and mixing weights (N,), given together.
        groups : int, default 1
            Split the batch into that many chunks with a forward pass each (their own BatchNorm
            statistics); the chunks are equal, the last taking the remainder.

        Returns
        -------
        torch.Tensor
            The loss, a scalar.

        Raises
        ------
        ValueError
            For an ensemble given mixup labels or weights that vary within a chunk, or one of
            ``y_b`` and ``lam`` without the other.
        """
        if (y_b is None) != (lam is None):
            raise ValueError(
                "y_b and lam go together (mixup's second labels and mixing weights): got "
                f"{'y_b' if lam is None else 'lam'} alone"
            )
        if weight is None and y_b is None and groups == 1:
            return self._mean_loss(x, y)
        if weight is None:
            weight = torch.full((len(x),), 1.0 / len(x), device=x.device)
        size = len(x) // groups
        total: torch.Tensor | int = 0
        for g in range(groups):
            part = slice(g * size, (g + 1) * size if g < groups - 1 else len(x))
            total = total + self._weighted_loss(
                x[part],
                y[part],
                weight[part],
                None if y_b is None else y_b[part],
                None if lam is None else lam[part],
            )
        return cast(torch.Tensor, total)  # a sum of at least one chunk's loss

    def _mean_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if getattr(self.model, "body", None) is None:
            return self.model.loss(x, y)
        classifier = cast("Classifier", self.model)  # a model with a body is a Classifier
        head = classifier.objective
        z = classifier.body(x)
        with torch.autocast(x.device.type, enabled=False):
            z = _full_precision(z)
            return head.loss(z, head(z), y)

    def _weighted_loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        weight: torch.Tensor,
        y_b: torch.Tensor | None,
        lam: torch.Tensor | None,
    ) -> torch.Tensor:
        from ..objectives import per_sample_loss

        if getattr(self.model, "body", None) is None:
            if y_b is not None or not bool((weight == weight[0]).all()):
                raise ValueError(
                    "an ensemble's loss is a batch mean: it takes neither mixup nor weights that "
                    "vary "
                    "within a forward pass"
                )
            return weight.sum() * self.model.loss(x, y)
        classifier = cast("Classifier", self.model)  # a model with a body is a Classifier
        z = classifier.body(x)
        with torch.autocast(x.device.type, enabled=False):
            z = _full_precision(z)
            losses = per_sample_loss(classifier.objective)
            per = losses(z, y)
            if y_b is not None and lam is not None:  # forward gives them together
                lam = lam.to(per.dtype)
                per = lam * per + (1 - lam) * losses(z, y_b)
            return (weight.to(per.dtype) * per).sum()
