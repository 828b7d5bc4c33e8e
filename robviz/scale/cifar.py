"""CIFAR-10 and CIFAR-100, and the on-device augmentation of the training loop.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.

:func:`load_cifar` downloads the official python archive once into a cache folder (``$ROBVIZ_DATA``
or ``~/.cache/robviz``), checks its md5, and reads the batches straight from the tar file. The
pickles inside are read with an unpickler that only accepts the plain containers and NumPy arrays
the official files hold.

Training keeps the whole set on the device as uint8 (150 MB for CIFAR-10) and augments there
(:func:`augment`: 4-pixel zero pad, random 32x32 crop, horizontal flip); :func:`gpu_batches` yields
ready float batches, sharded by rank for data-parallel training, without DataLoader workers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.error import URLError
from urllib.request import urlopen

import numpy as np
import torch

from .. import checks
from ..data import Dataset
from ..runtime import atomic_write

__all__ = [
    "CIFAR",
    "CifarSpec",
    "CifarDownloadError",
    "default_root",
    "is_cached",
    "load_cifar",
    "download",
    "md5sum",
    "augment",
    "augment_params",
    "apply_augment",
    "keras_shift_params",
    "apply_keras_shift",
    "AUGMENTATIONS",
    "gpu_batches",
    "to_float",
]


@dataclass(frozen=True)
class CifarSpec:
    """Where an official archive lives and what is inside it."""

    url: str
    md5: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: bytes
    names_key: bytes
    num_classes: int

    @property
    def filename(self) -> str:
        """The archive's file name, the last part of ``url``."""
        return self.url.rsplit("/", 1)[-1]


CIFAR = {
    "cifar10": CifarSpec(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
        "batches.meta",
        b"labels",
        b"label_names",
        10,
    ),
    "cifar100": CifarSpec(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
        ("train",),
        "test",
        "meta",
        b"fine_labels",
        b"fine_label_names",
        100,
    ),
}


class CifarDownloadError(RuntimeError):
    """The archive could not be downloaded; the message says where to put it by hand."""


def default_root() -> Path:
    """Return ``$ROBVIZ_DATA`` if set, else ``~/.cache/robviz``."""
    return Path(os.environ.get("ROBVIZ_DATA") or Path.home() / ".cache" / "robviz")


def is_cached(name: str = "cifar10", root: str | Path | None = None) -> bool:
    """Return True when the official archive of ``name`` is already in the cache folder.

    Then no download is needed.

    Parameters
    ----------
    name : str, default "cifar10"
        ``"cifar10"`` or ``"cifar100"`` (any case, hyphens ignored).
    root : str or Path, optional
        The cache folder; default :func:`default_root` (``$ROBVIZ_DATA`` or ``~/.cache/robviz``).

    Returns
    -------
    bool
        Whether the archive's file exists (its checksum is not checked).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    key = str(name).lower().replace("-", "")
    if key not in CIFAR:
        raise ValueError(f"unknown CIFAR set {name!r}; valid names: {', '.join(CIFAR)}")
    return (Path(root if root is not None else default_root()) / CIFAR[key].filename).is_file()


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the MD5 hex digest of the file at ``path``, read in chunks of ``chunk`` bytes.

    Parameters
    ----------
    path : str or Path
        The file.
    chunk : int, default 1 MiB
        The read size in bytes.

    Returns
    -------
    str
        The 32-character hex digest.
    """
    chunk = checks.integer("chunk", chunk, low=1)
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _by_hand(url: str, target: Path, md5: str | None) -> str:
    check = f" (md5 {md5})" if md5 else ""
    return (
        f"Download it on a machine with internet access and put it at {target}{check}:\n"
        f"    curl -L -o {target} {url}\n"
        f"or choose another folder with root= (command line: --data-root) or $ROBVIZ_DATA."
    )


def download(
    url: str, target: str | Path, md5: str | None = None, *, timeout: float = 60.0
) -> Path:
    """Download ``url`` to ``target``, then check ``md5``.

    Written through a temporary file and an atomic rename.

    Parameters
    ----------
    url : str
        The address.
    target : str or Path
        The file written; its folder is created.
    md5 : str, optional
        The expected hex digest; None skips the check.
    timeout : float, default 60.0
        The network timeout in seconds (of each blocking operation, as ``urlopen``'s).

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    CifarDownloadError
        When the network fails (the message names the URL, the target and a curl command).
    ValueError
        When the downloaded file's md5 differs from ``md5`` (the file is removed).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)

    def fetch(out: BinaryIO) -> None:
        digest = hashlib.md5()
        try:
            with urlopen(url, timeout=timeout) as response:
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
        except (URLError, OSError) as error:
            raise CifarDownloadError(
                f"could not download {url} to {target}: {error}.\n" + _by_hand(url, target, md5)
            ) from error
        if md5 is not None and (found := digest.hexdigest()) != md5:
            raise ValueError(
                f"the file downloaded from {url} has md5 {found}, expected {md5}; try again"
            )

    return atomic_write(target, fetch)  # a failed or corrupt download leaves nothing behind


_fetch = download  # load_cifar's ``download`` argument shadows the function


class _SafeUnpickler(pickle.Unpickler):
    """Accepts only what the official CIFAR pickles hold.

    Dicts, lists, bytes, str, numbers and NumPy arrays.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch file")


def _read_pickle(tar: tarfile.TarFile, member: str) -> dict:
    try:
        handle = tar.extractfile(member)
    except KeyError:
        handle = None
    if handle is None:
        raise ValueError(f"{tar.name!s} is not an official CIFAR archive: it has no file {member}")
    return _SafeUnpickler(io.BytesIO(handle.read()), encoding="bytes").load()


def _images(batch: dict, label_key: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    # what the official files hold, checked as found: a cast to uint8 would wrap 300 to 44 and
    # floor pixels in [0, 1] to 0, a cast of labels to int64 would floor 1.5 to class 1
    if not (isinstance(batch, dict) and b"data" in batch and label_key in batch):
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(
            f"{where} must hold a dict with {b'data'!r} and {label_key!r}, got {found}"
        )
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{where} must hold (N, 3072) uint8 rows, got {data.dtype} of shape {data.shape}"
        )
    if labels.shape != (len(data),) or not (
        labels.dtype.kind in "iu" or (labels.size == 0 and labels.dtype.kind == "f")
    ):
        raise ValueError(
            f"{where} must hold one integer label per image, {len(data)} of them, got "
            f"{labels.dtype} of shape {labels.shape}"
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar(
    name: str = "cifar10",
    root: str | Path | None = None,
    download: bool = True,
    device: torch.device | str = "cpu",
    *,
    dtype: torch.dtype = torch.float32,
    md5: str | None = "official",
    url: str | None = None,
) -> Dataset:
    """Return CIFAR-10 or CIFAR-100 as a :class:`robviz.data.Dataset`.

    The official 50000/10000 split, fine labels.

    Parameters
    ----------
    name : str
        ``"cifar10"`` or ``"cifar100"``.
    root : str or pathlib.Path or None
        The cache folder; default ``$ROBVIZ_DATA`` or ``~/.cache/robviz``.
    download : bool
        Fetch the archive when it is missing (otherwise a missing archive raises FileNotFoundError).
    device : torch.device or str
        Where the tensors go.
    dtype : torch.dtype
        ``torch.float32`` gives images in [0, 1]; ``torch.uint8`` keeps the raw pixels (4x smaller,
        what training keeps resident on the GPU; :func:`gpu_batches` converts per batch).
    md5 : str or None
        The expected checksum: ``"official"`` (the published one), a hex string, or None to skip the
        check.
    url : str or None
        Where to download from (default: the official address).

    Returns
    -------
    Dataset
        x_train (50000, 3, 32, 32), y_train (50000,), x_test (10000, 3, 32, 32), y_test; bounds (0,
        1).

    Raises
    ------
    CifarDownloadError
        Offline; the message gives the URL, the target path and a curl command.
    ValueError
        Checksum mismatch or a file that is not an official archive: not a readable tar.gz
        (truncated), a batch file missing, or one whose pixels are not (N, 3072) uint8 rows or whose
        labels are not one integer per image (naming the batch file).
    """
    download = checks.flag("download", download)
    key = str(name).lower().replace("-", "")
    if key not in CIFAR:
        raise ValueError(f"unknown CIFAR set {name!r}; valid names: {', '.join(CIFAR)}")
    spec = CIFAR[key]
    md5 = spec.md5 if md5 == "official" else md5
    url = url or spec.url
    path = Path(root if root is not None else default_root()) / spec.filename
    if not path.exists():
        if not download:
            raise FileNotFoundError(
                f"no {spec.filename} in {path.parent}. " + _by_hand(url, path, md5)
            )
        _fetch(url, path, md5)
    elif md5 is not None and (found := md5sum(path)) != md5:
        raise ValueError(
            f"{path} has md5 {found}, expected {md5}: a partial or different file. "
            f"Delete it to download again, or fetch it by hand:\n    curl -L -o {path} {url}"
        )
    members = [f"{spec.folder}/{f}" for f in spec.train_files + (spec.test_file,)]
    # a truncated or foreign file: tarfile's, gzip's and zlib's errors name no file
    try:
        with tarfile.open(path, "r:gz") as tar:
            *parts, (x_test, y_test) = [
                _images(_read_pickle(tar, m), spec.label_key, f"{m} in {path}") for m in members
            ]
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(
            f"{path} is not a readable tar.gz archive (truncated or another format): {error}"
        ) from error
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])

    def tensor(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
        return to_float(t, dtype) if dtype != torch.uint8 else t

    return Dataset(
        key,
        tensor(x_train),
        torch.from_numpy(y_train).to(device),
        tensor(x_test),
        torch.from_numpy(y_test).to(device),
        spec.num_classes,
        (0.0, 1.0),
    )


def to_float(x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Convert uint8 pixels to images in [0, 1].

    Float input is returned as it is (cast to ``dtype``).

    Parameters
    ----------
    x : torch.Tensor
        Images, any shape: uint8 pixels in [0, 255], or float images already in [0, 1].
    dtype : torch.dtype, default torch.float32
        The output's dtype.

    Returns
    -------
    torch.Tensor
        The images in [0, 1], ``dtype``, same shape and device.
    """
    return x.to(dtype) / 255.0 if x.dtype == torch.uint8 else x.to(dtype)


def augment_params(
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    pad: int = 4,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return random crop offsets and flip flags drawn with ``generator`` on ``device``.

    Parameters
    ----------
    n : int
        The number of images N.
    generator : torch.Generator, optional
        The random generator, on ``device``; None uses the global one.
    device : torch.device or str, default "cpu"
        Where the draws are made and returned.
    pad : int, default 4
        The padding in pixels.

    Returns
    -------
    oy, ox : torch.Tensor
        Row and column crop offsets (N,), int64 in [0, 2 pad].
    flip : torch.Tensor
        Flip flags (N,), bool, each True with probability 1/2.
    """
    n = checks.integer("n", n, low=0)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
    flip = torch.rand(n, generator=generator, device=device) < 0.5
    return oy, ox, flip


def apply_augment(
    x: torch.Tensor, oy: torch.Tensor, ox: torch.Tensor, flip: torch.Tensor, pad: int = 4
) -> torch.Tensor:
    """Zero-pad ``x`` (N, C, H, W) by ``pad``, crop H x W at (oy, ox) and mirror where ``flip``.

    One gather on the tensor's own device, any dtype (uint8 included).

    Parameters
    ----------
    x : torch.Tensor
        Images (N, C, H, W).
    oy, ox : torch.Tensor
        Crop offsets (N,) in [0, 2 pad], on x's device (:func:`augment_params`).
    flip : torch.Tensor
        Flip flags (N,), bool.
    pad : int, default 4
        The padding in pixels.

    Returns
    -------
    torch.Tensor
        The augmented images (N, C, H, W), x's dtype.
    """
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = oy[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = torch.arange(w, device=x.device).expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + ox[:, None]  # (N, W)
    index_n = torch.arange(n, device=x.device)[:, None, None, None]
    index_c = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[index_n, index_c, rows[:, None, :, None], cols[:, None, None, :]]


def augment(
    x: torch.Tensor, generator: torch.Generator | None = None, pad: int = 4
) -> torch.Tensor:
    """Return the CIFAR augmentation of He et al. (2016), on x's device.

    Pad 4, random crop, random horizontal flip.

    Parameters
    ----------
    x : torch.Tensor
        Images (N, C, H, W), any dtype.
    generator : torch.Generator, optional
        The random generator, on x's device; None uses the global one.
    pad : int, default 4
        The padding in pixels.

    Returns
    -------
    torch.Tensor
        The augmented images (N, C, H, W), x's dtype.
    """
    return apply_augment(x, *augment_params(len(x), generator, x.device, pad), pad=pad)


def keras_shift_params(
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    shift: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return random shifts and flip flags: the authors' Keras augmentation.

    Keras' ``ImageDataGenerator(height_shift_range=shift, width_shift_range=shift,
    horizontal_flip=True)``, the authors' augmentation.

    Parameters
    ----------
    n : int
        The number of images N.
    generator : torch.Generator, optional
        The random generator, on ``device``; None uses the global one.
    device : torch.device or str, default "cpu"
        Where the draws are made and returned.
    shift : float, default 0.1
        The largest shift, a fraction of the image size.

    Returns
    -------
    shifts : torch.Tensor
        (N, 2), (rows, columns) as fractions of the image size drawn uniformly from [-shift,
        shift].
    flip : torch.Tensor
        Flip flags (N,), bool.
    """
    n = checks.integer("n", n, low=0)
    shifts = (torch.rand(n, 2, generator=generator, device=device) * 2 - 1) * shift
    flip = torch.rand(n, generator=generator, device=device) < 0.5
    return shifts, flip


def apply_keras_shift(x: torch.Tensor, shifts: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Apply Keras 2.2.4's shift augmentation to float images ``x`` (N, C, H, W).

    Pixel (r, c) of the output is the input at (r + t_r H, c + t_c W), bilinearly interpolated, the
    image's edge extended beyond it (``keras_preprocessing.image.apply_affine_transform`` with
    ``order=1, fill_mode='nearest'``, i.e. ``scipy.ndimage.affine_transform``), then mirrored where
    ``flip`` (Keras flips after the shift).

    Parameters
    ----------
    x : torch.Tensor
        Float images (N, C, H, W), H and W > 1.
    shifts : torch.Tensor
        (N, 2), the (row, column) shifts t_r, t_c as fractions of the image size
        (:func:`keras_shift_params`).
    flip : torch.Tensor
        Flip flags (N,), bool.

    Returns
    -------
    torch.Tensor
        The shifted images (N, C, H, W), x's dtype.
    """
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device, dtype=x.dtype) + shifts[:, :1].to(x.dtype) * h  # (N, H)
    cols = torch.arange(w, device=x.device, dtype=x.dtype) + shifts[:, 1:].to(x.dtype) * w  # (N, W)
    grid = torch.stack(
        [
            (2 * cols / (w - 1) - 1)[:, None, :].expand(n, h, w),  # x: columns
            (2 * rows / (h - 1) - 1)[:, :, None].expand(n, h, w),
        ],
        dim=-1,
    )  # y: rows
    out = torch.nn.functional.grid_sample(
        x, grid, mode="bilinear", padding_mode="border", align_corners=True
    )
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


#: The training augmentations: ``"crop4"`` (pad 4, random crop, flip: He et al. 2016, the papers),
#: ``"crop2"`` (pad 2: the RCE authors' ``cifar_input.py``), ``"keras-shift"`` (shift up to 10 %
#: with the edge extended, flip: the MMC and ADP authors' Keras code).
AUGMENTATIONS = ("crop4", "crop2", "keras-shift")


def _augmented(
    x: torch.Tensor,
    index: torch.Tensor,
    part: slice,
    method: str,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Return the slice ``part`` of the global batch ``x[index]``, augmented by ``method``.

    The images are ``dtype``, in [0, 1].

    The random parameters are drawn for the whole global batch, so every rank consumes the generator
    alike.
    """
    if method == "keras-shift":
        shifts, flip = keras_shift_params(len(index), generator, x.device)
        return apply_keras_shift(to_float(x[index[part]], dtype), shifts[part], flip[part])
    pad = 2 if method == "crop2" else 4
    oy, ox, flip = augment_params(len(index), generator, x.device, pad)
    return to_float(apply_augment(x[index[part]], oy[part], ox[part], flip[part], pad=pad), dtype)


def gpu_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
    *,
    augmentation: bool = True,
    method: str = "crop4",
    rank: int = 0,
    world_size: int = 1,
    channels_last: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield one epoch of shuffled training batches (x_batch, y_batch) from device-resident tensors.

    Every rank draws the same permutation and augmentation with the same ``generator`` state and
    keeps its contiguous slice of each global batch of ``batch_size`` (which ``world_size`` must
    divide), so data-parallel training sees exactly the batches of a single process. The last
    incomplete batch is dropped.

    Parameters
    ----------
    x : torch.Tensor
        The training images (N, C, H, W), uint8 pixels or float in [0, 1], on the device that
        trains.
    y : torch.Tensor
        Labels (N,), on the same device.
    batch_size : int
        The global batch size, a multiple of ``world_size``, at most N.
    generator : torch.Generator, optional
        The random generator, on x's device; the same state on every rank; None uses the global one.
    augmentation : bool, default True
        Augment the images (by ``method``); False only converts them.
    method : str, default "crop4"
        One of :data:`AUGMENTATIONS`.
    rank, world_size : int
        This process's rank and the number of processes (0 and 1: a single process).
    channels_last : bool, default False
        Return the images in the channels-last memory format.
    dtype : torch.dtype, default torch.float32
        The images' dtype (uint8 input is converted per batch).

    Yields
    ------
    x_batch : torch.Tensor
        (batch_size / world_size, C, H, W), ``dtype`` in [0, 1].
    y_batch : torch.Tensor
        (batch_size / world_size,) labels.

    Raises
    ------
    ValueError
        For an unknown ``method``, a ``batch_size`` that ``world_size`` does not divide, or one
        larger than the training set (raised at the first ``next``, as the function is a
        generator).
    """
    augmentation = checks.flag("augmentation", augmentation)
    channels_last = checks.flag("channels_last", channels_last)
    world_size = checks.integer("world_size", world_size, low=1)
    batch_size = checks.integer("batch_size", batch_size, low=1)
    if method not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {method!r}; valid: {', '.join(AUGMENTATIONS)}")
    if batch_size < world_size or batch_size % world_size:
        raise ValueError(
            f"batch_size ({batch_size}) must be a multiple of the number of processes "
            f"({world_size})"
        )
    n, device = len(x), x.device
    if n < batch_size:
        raise ValueError(f"batch_size ({batch_size}) is larger than the training set ({n})")
    order = torch.randperm(n, generator=generator, device=device)
    local = batch_size // world_size
    part = slice(rank * local, (rank + 1) * local)
    for start in range(0, n - batch_size + 1, batch_size):
        index = order[start : start + batch_size]
        if augmentation:
            xb = _augmented(x, index, part, method, generator, dtype)
        else:
            xb = to_float(x[index[part]], dtype)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        yield xb, y[index[part]]
