"""A run's images: CIFAR, MNIST padded to 32x32, or a synthetic stand-in; the atomic JSON writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import checks
from ..runtime import atomic_write

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = ["synthetic_images", "load_data", "write_json", "SYNTHETIC_CLASSES"]

SYNTHETIC_CLASSES = 10


def synthetic_images(
    n_train: int = 512,
    n_test: int = 256,
    num_classes: int = SYNTHETIC_CLASSES,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Dataset:
    """Return a learnable stand-in for CIFAR in the same format.

    One smooth random colour pattern per class plus pixel noise. For tests, benchmarks and
    ``--tiny`` runs; no download.

    Parameters
    ----------
    n_train, n_test : int
        The number of training and test images (512 and 256 by default).
    num_classes : int, default 10
        The number of classes, one pattern each.
    seed : int, default 0
        Seeds the patterns and the noise (a generator of its own; the global one is untouched).
    device : torch.device or str, default "cpu"
        Where the tensors go.

    Returns
    -------
    robviz.data.Dataset
        A :class:`robviz.data.Dataset` named ``"synthetic"``: ``x_train`` uint8 (n_train, 3, 32,
        32), ``y_train`` (n_train,) = index mod ``num_classes``, the same for the test split, bounds
        (0, 1) after :func:`robviz.scale.cifar.to_float`.
    """
    from ..data import Dataset

    n_train = checks.integer("n_train", n_train, low=1)
    n_test = checks.integer("n_test", n_test, low=1)
    num_classes = checks.integer("num_classes", num_classes, low=2)
    seed = checks.seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(num_classes, 3, 4, 4, generator=generator)
    templates = torch.nn.functional.interpolate(
        coarse, size=32, mode="bilinear", align_corners=False
    )

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % num_classes
        x = 0.6 * templates[y] + 0.4 * torch.rand(n, 3, 32, 32, generator=generator)
        return (x * 255).round().clamp(0, 255).to(torch.uint8).to(device), y.to(device)

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return Dataset("synthetic", x_train, y_train, x_test, y_test, num_classes, (0.0, 1.0))


def load_data(
    dataset: str,
    *,
    data_root: str | Path | None = None,
    train_size: int | None = None,
    test_size: int | None = None,
    device: torch.device | str = "cpu",
) -> Dataset:
    """Return the named set as uint8 on ``device``.

    Parameters
    ----------
    dataset : str
        ``"cifar10"``, ``"cifar100"``, ``"mnist32"`` (:func:`robviz.data.mnist32`) or
        ``"synthetic"`` (:func:`synthetic_images`, seed 1234).
    data_root : str or Path, optional
        CIFAR's cache folder (:func:`robviz.scale.cifar.load_cifar`); not used by the other sets.
    train_size, test_size : int, optional
        Cut to the first ``train_size``/``test_size`` images when given; the synthetic set is drawn
        at these sizes (512 and 256 when None).
    device : torch.device or str, default "cpu"
        Where the tensors go.

    Returns
    -------
    robviz.data.Dataset
        uint8 images (N, 3, 32, 32) and int64 labels (N,), bounds (0, 1).

    Raises
    ------
    robviz.scale.cifar.CifarDownloadError
        When CIFAR is neither cached nor downloadable (with what to do by hand).
    ValueError
        For a name that is none of these (from :func:`robviz.scale.cifar.load_cifar`), a cached
        CIFAR archive with the wrong checksum, or a ``train_size``/``test_size`` larger than the
        set's split.
    """
    train_size = checks.integer("train_size", train_size, low=1, allow_none=True)
    test_size = checks.integer("test_size", test_size, low=1, allow_none=True)
    if dataset == "synthetic":
        data = synthetic_images(train_size or 512, test_size or 256, seed=1234, device=device)
    elif dataset == "mnist32":
        from ..data import mnist32

        data = mnist32(device=device)
    else:
        from .cifar import load_cifar

        data = load_cifar(dataset, data_root, device=device, dtype=torch.uint8)
    for split, size in (("train", train_size), ("test", test_size)):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if size is not None and size > len(x):
            # slicing would silently train or test on fewer images than asked
            raise ValueError(
                f"{split}_size = {size} is more than the {len(x)} {split} images of {dataset!r}: "
                f"pass {split}_size (--{split}-size) of at most {len(x)}"
            )
        if size:
            setattr(data, f"x_{split}", x[:size])
            setattr(data, f"y_{split}", y[:size])
    return data


def write_json(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically, creating the folder.

    Through ``robviz.runtime.atomic_write``; values JSON cannot hold are written as their ``str``.

    Parameters
    ----------
    path : str or Path
        The file written (replaced if it exists).
    payload : dict
        What to write.

    Returns
    -------
    Path
        The path written, as ``atomic_write`` returns it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(payload, indent=2, default=str) + "\n")
