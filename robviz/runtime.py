"""Shared notebook setup: device choice, the default/full switch, seeds."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["pick_device", "full_mode", "seed_everything"]


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
