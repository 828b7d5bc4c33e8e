"""Shared notebook setup: device choice, the default/full switch, seeds."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["pick_device", "full_mode", "seed_everything", "setup"]


def pick_device(prefer: str | None = None) -> torch.device:
    """``cuda`` when a GPU is present (or ``prefer`` names a device), else ``cpu``.

    The environment variable ``ROBVIZ_DEVICE`` overrides both (e.g. ``ROBVIZ_DEVICE=cpu``).
    """
    choice = os.environ.get("ROBVIZ_DEVICE") or prefer
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} requested but no CUDA GPU is available; use 'cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def full_mode() -> bool:
    """True when lessons should run at full scale: set ``ROBVIZ_FULL=1`` before starting Jupyter.

    The default (fast) mode keeps every lesson to about a minute on a 2-core CPU.
    """
    return os.environ.get("ROBVIZ_FULL", "0").lower() in ("1", "true", "yes")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, device: str | None = None, threads: int | None = None, *,
          small_models: bool = True) -> torch.device:
    """The first call of every lesson: seed everything, pick the device, size PyTorch's CPU thread pool.

    With ``small_models`` (the toy lessons: MLPs and 8x8-digit CNNs) on a CPU, PyTorch gets one thread, in both
    modes: the models are so small that synchronizing threads costs more than it saves, and much more when other
    work shares the cores (measured: several times slower with two threads on a busy 2-core machine; lesson 4's
    full run took about 5 min with two threads and 20 s with one). Lessons with ResNets (``small_models=False``)
    keep PyTorch's default; ``threads`` overrides both.

    Returns:
        The device lessons should put data and models on.
    """
    seed_everything(seed)
    chosen = pick_device(device)
    if threads is None and small_models and chosen.type == "cpu":
        threads = 1
    if threads:
        torch.set_num_threads(threads)
    print(f"robviz: device {chosen}, {'full' if full_mode() else 'default (fast)'} mode, "
          f"{torch.get_num_threads()} CPU thread(s), seed {seed}")
    return chosen
