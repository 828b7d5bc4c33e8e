"""Data-parallel set-up under ``torchrun``, bf16 autocast on CUDA, and the loss module DDP wraps."""

from __future__ import annotations

import os

import torch

__all__ = ["Distributed", "LossModule", "autocast"]


def autocast(device: torch.device):
    """bf16 autocast on CUDA, a no-op context elsewhere (the training step and the evaluation passes)."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


class Distributed:
    """Rank, world size and device of this process; initializes the process group when launched by ``torchrun``
    (``WORLD_SIZE`` > 1: NCCL on CUDA, gloo on the CPU) and destroys it in :meth:`close` if it started it.

    Args:
        device: the preferred device (:func:`robviz.runtime.pick_device`); under torchrun on CUDA each process
            takes ``cuda:LOCAL_RANK``.
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
            torch.distributed.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
            self.started = True

    @property
    def main(self) -> bool:
        """True on rank 0, the process that prints and writes files."""
        return self.rank == 0

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of ``value`` over the processes (a copy; ``value`` itself when alone)."""
        if self.world > 1:
            value = value.clone()
            torch.distributed.all_reduce(value)
            value /= self.world
        return value

    def close(self) -> None:
        if self.started:
            torch.distributed.destroy_process_group()


class LossModule(torch.nn.Module):
    """``forward(x, y) = model.loss(x, y)`` as a module, so DistributedDataParallel synchronizes the loss's
    gradients. For a single network the body runs under the caller's autocast and the head and its loss in
    float32; an ensemble's loss casts to float32 itself. Returns a scalar."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        if getattr(self.model, "body", None) is None:
            return self.model.loss(x, y)
        head = self.model.objective
        z = self.model.body(x)
        with torch.autocast(x.device.type, enabled=False):
            z = z.float()
            return head.loss(z, head(z), y)
