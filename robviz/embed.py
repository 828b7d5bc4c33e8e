"""2-D embeddings of high-dimensional features: t-SNE (openTSNE), aligned t-SNE over training, PCA.

* :func:`tsne` embeds (N, d) features with openTSNE (on 1000 64-d digit features, one thread, about
  4 s against 5-6 s for ``sklearn.manifold.TSNE``, measured in lesson 5). Results are cached in
  memory, keyed by a hash of the features and the settings, so the same model and checkpoint are
  embedded once.
* :func:`aligned_tsne` embeds a sequence of feature arrays (the same points at successive epochs) so
  that each embedding starts from the previous one: an animation then moves smoothly instead of
  jumping (the alignment trick of Kobak & Berens, "The art of using t-SNE for single-cell
  transcriptomics", 2019).
* :func:`pca` is the instant, linear alternative.

Shapes: features (N, d) NumPy arrays or tensors; embeddings are (N, 2) float32 NumPy arrays.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from . import checks
from .runtime import atomic_write, to_numpy

__all__ = ["tsne", "aligned_tsne", "pca", "clear_cache", "cache_size"]

_CACHE: dict[str, np.ndarray] = {}


def _features_array(features: npt.ArrayLike, name: str = "features") -> np.ndarray:
    x = to_numpy(features, np.float32)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _key(x: np.ndarray, init: npt.ArrayLike | None, settings: dict) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(x).tobytes())
    digest.update(str(x.shape).encode())
    if init is not None:
        digest.update(np.ascontiguousarray(init, dtype=np.float32).tobytes())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _cached_file(path: Path, n: int) -> np.ndarray | None:
    """Return the (n, 2) finite embedding stored at ``path``, or None to compute it again.

    A file cut short (a disk that filled up, a copy stopped midway) or of another shape is no
    embedding of these features: it is computed again and replaced, never returned.
    """
    try:
        stored = np.load(path)
    except (OSError, ValueError, EOFError):
        return None
    if stored.shape != (n, 2) or not np.isfinite(stored).all():
        return None
    return stored.astype(np.float32, copy=False)


def clear_cache() -> None:
    """Forget every cached embedding (the in-memory cache; files in a ``cache_dir`` stay)."""
    _CACHE.clear()


def cache_size() -> int:
    """How many embeddings the in-memory cache holds."""
    return len(_CACHE)


def tsne(
    features: npt.ArrayLike,
    init: str | np.ndarray | torch.Tensor | None = None,
    *,
    seed: int = 0,
    perplexity: float = 30.0,
    n_iter: int = 500,
    early_exaggeration_iter: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Compute the t-SNE of features with openTSNE.

    t-SNE: van der Maaten & Hinton, JMLR 2008; openTSNE: Policar et al., 2024.

    Longer than most functions here on purpose: its checks (NaN, duplicate or one-dimensional
    features, a perplexity too large for N) and the cache lookup read best in the order openTSNE
    meets them.

    Parameters
    ----------
    features : np.ndarray or torch.Tensor
        (N, d) array or tensor.
    init : str or np.ndarray or None
        ``"pca"`` (default), ``"random"`` or an (N, 2) initial embedding (e.g. the previous
        epoch's), used as it is.
    seed : int
        Random state.
    perplexity : float
        Effective number of neighbours; must be < N.
    n_iter : int
        Optimization iterations after early exaggeration, >= 1.
    early_exaggeration_iter : int or None
        Iterations of early exaggeration (>= 0); default 250, but 0 for an array ``init``
        (a good start needs no exaggeration phase, which would shuffle it).
    cache : bool
        Reuse an embedding computed before for the same features and settings.
    cache_dir : str or pathlib.Path or None
        Optional folder to keep embeddings on disk as ``<hash>.npy`` between runs (a stored file
        that cannot be read, or is not N finite 2-D points, is computed again and replaced).

    Returns
    -------
    np.ndarray
        (N, 2) float32 embedding, always finite.

    Raises
    ------
    ValueError
        Bad shapes or settings; features that are all one vector (nothing to embed: every distance
        is 0, and t-SNE's affinities are 0/0); 1-D features with ``init="pca"`` (PCA needs d >= 2);
        ``n_iter`` < 1 (the start, returned as if it were an embedding) or
        ``early_exaggeration_iter`` < 0; an array ``init`` with a NaN or infinite value; a
        ``cache_dir`` that is a file.
    FloatingPointError
        If openTSNE returns a non-finite embedding (never cached).
    """
    from openTSNE import TSNE

    n_iter = checks.integer("n_iter", n_iter, low=1)
    early_exaggeration_iter = checks.integer(
        "early_exaggeration_iter", early_exaggeration_iter, low=0, allow_none=True
    )
    seed = checks.seed("seed", seed)
    cache = checks.flag("cache", cache)
    if cache_dir is not None:  # a file there would fail only after the embedding was computed
        cache_dir = checks.output_path("cache_dir", cache_dir, folder=True)
    x = _features_array(features)
    perplexity = checks.real(
        "perplexity",
        perplexity,
        low=0,
        high=len(x),
        low_open=True,
        high_open=True,
        note=f"N = {len(x)} points",
    )
    if np.ptp(x, axis=0).max() == 0:
        raise ValueError(
            f"all {len(x)} feature vectors are identical: t-SNE has no distances to preserve (a "
            f"collapsed model or a constant input?); embed features that differ"
        )
    if init is None:
        init = "pca"
    if isinstance(init, str):
        if init not in ("pca", "random"):
            raise ValueError(f"init must be 'pca', 'random' or an (N, 2) array, got {init!r}")
        if init == "pca" and x.shape[1] < 2:
            raise ValueError(
                f"init='pca' needs features with d >= 2 dimensions, got d = {x.shape[1]}: pass "
                f"init='random' (or an (N, 2) array) to embed 1-D features"
            )
    else:
        init = np.asarray(
            init.detach().cpu() if isinstance(init, torch.Tensor) else init, dtype=np.float64
        )
        if init.shape != (len(x), 2):
            raise ValueError(f"init must have shape (N, 2) = ({len(x)}, 2), got {init.shape}")
        checks.finite_inputs("init", init)
    given = not isinstance(init, str)
    if early_exaggeration_iter is None:
        early_exaggeration_iter = 0 if given else 250
    settings = dict(
        seed=seed,
        perplexity=float(perplexity),
        n_iter=n_iter,
        early_exaggeration_iter=early_exaggeration_iter,
    )
    key = _key(x, init if given else None, {**settings, "init": init if not given else "array"})
    path = None if cache_dir is None else Path(cache_dir) / f"{key}.npy"
    if cache and key in _CACHE:
        return _CACHE[key].copy()
    if cache and path is not None and path.exists():
        stored = _cached_file(path, len(x))
        if stored is not None:
            _CACHE[key] = stored
            return stored.copy()
    # openTSNE warns when an initial embedding is wider than 1e-2; a previous epoch's embedding is
    # kept at its own scale on purpose (shrinking it would make the frames of an animation jump), so
    # that warning is muted.
    logger = logging.getLogger("openTSNE.tsne")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        embedding = TSNE(
            n_components=2,
            perplexity=perplexity,
            n_iter=n_iter,
            early_exaggeration_iter=early_exaggeration_iter,
            initialization=init,
            random_state=seed,
            n_jobs=1,
            verbose=False,
        ).fit(x)
    finally:
        logger.setLevel(level)
    out = np.asarray(embedding, dtype=np.float32)
    if not np.isfinite(out).all():
        raise FloatingPointError(
            f"openTSNE returned a non-finite embedding for {x.shape} features (perplexity "
            f"{perplexity:g}); try another perplexity or init. Nothing was cached."
        )
    if cache:
        _CACHE[key] = out
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(
                path, lambda handle: np.save(handle, out)
            )  # a run stopped mid-write leaves no broken file
    return out.copy()


def aligned_tsne(
    sequence: Iterable[npt.ArrayLike],
    *,
    seed: int = 0,
    perplexity: float = 30.0,
    n_iter: int = 500,
    later_iter: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Aligned t-SNE of the same N points at S moments (e.g. epochs).

    Embedding s starts from embedding s - 1.

    The first array gets a full t-SNE; each later one starts from the previous embedding without
    early exaggeration, so neighbouring frames stay close and an animation moves smoothly.

    Parameters
    ----------
    sequence : sequence of array or torch.Tensor
        S arrays (N, d_s), or one (S, N, d) array/tensor (e.g. ``History.features``).
    seed, perplexity, n_iter
        As :func:`tsne` (``n_iter`` for the first frame).
    later_iter : int or None
        Iterations for every later frame. Default ``n_iter // 2``.
    cache, cache_dir
        As :func:`tsne`.

    Returns
    -------
    np.ndarray
        (S, N, 2) float32 embeddings.

    Raises
    ------
    ValueError
        An empty sequence, frames of different N, ``n_iter`` or ``later_iter`` < 1, or what
        :func:`tsne` refuses.
    """
    seed = checks.seed("seed", seed)
    cache = checks.flag("cache", cache)
    frames = [_features_array(f, f"sequence[{i}]") for i, f in enumerate(sequence)]
    if not frames:
        raise ValueError("sequence is empty: pass at least one (N, d) feature array")
    if len({len(f) for f in frames}) != 1:
        raise ValueError(
            "every array of the sequence must hold the same N points, got "
            f"{[len(f) for f in frames]}"
        )
    n_iter = checks.integer("n_iter", n_iter, low=1)
    later_iter = checks.integer(
        "later_iter", max(n_iter // 2, 1) if later_iter is None else later_iter, low=1
    )
    out = [
        tsne(
            frames[0],
            seed=seed,
            perplexity=perplexity,
            n_iter=n_iter,
            cache=cache,
            cache_dir=cache_dir,
        )
    ]
    for f in frames[1:]:
        out.append(
            tsne(
                f,
                init=out[-1],
                seed=seed,
                perplexity=perplexity,
                n_iter=later_iter,
                cache=cache,
                cache_dir=cache_dir,
            )
        )
    return np.stack(out)


def pca(features: npt.ArrayLike, n_components: int = 2) -> np.ndarray:
    """Principal component analysis (``sklearn.decomposition.PCA``): the instant linear embedding.

    Parameters
    ----------
    features : array-like or torch.Tensor
        Features (N, d), N >= 2, finite.
    n_components : int
        The output dimension, 1 <= n_components <= min(N, d).

    Returns
    -------
    np.ndarray
        The embedding (N, n_components), float32.

    Raises
    ------
    ValueError
        Features not (N, d) with N >= 2 or not finite, or ``n_components`` out of range.
    """
    from sklearn.decomposition import PCA

    x = _features_array(features)
    n_components = checks.integer("n_components", n_components, low=1, high=min(x.shape))
    return PCA(n_components=n_components).fit_transform(x).astype(np.float32)
