import numpy as np
import pytest
import torch

from robviz import embed


def blobs(seed=0, n=150, d=10, shift=0.0):
    rng = np.random.default_rng(seed)
    centers = np.eye(3, d) * 6
    y = np.repeat(np.arange(3), n // 3)
    return (centers[y] + rng.normal(size=(len(y), d)) + shift).astype(np.float32), y


def test_tsne_separates_blobs_and_is_cached(monkeypatch):
    embed.clear_cache()
    x, y = blobs()
    e = embed.tsne(x, perplexity=20, n_iter=150)
    assert e.shape == (len(x), 2) and e.dtype == np.float32
    means = np.stack([e[y == k].mean(0) for k in range(3)])
    spread = max(np.linalg.norm(e[y == k] - means[k], axis=1).mean() for k in range(3))
    gaps = [np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i + 1, 3)]
    assert min(gaps) > 2 * spread
    assert embed.cache_size() == 1

    def recompute(*args, **kwargs):  # a seeded rerun would give e again: forbid it
        raise AssertionError("t-SNE ran again instead of reading the cache")

    monkeypatch.setattr("openTSNE.TSNE", recompute)
    again = embed.tsne(torch.from_numpy(x), perplexity=20, n_iter=150)
    np.testing.assert_array_equal(again, e)
    assert embed.cache_size() == 1


def test_tsne_disk_cache(tmp_path):
    embed.clear_cache()
    x, _ = blobs(n=60)
    e = embed.tsne(x, perplexity=10, n_iter=100, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npy")
    np.testing.assert_array_equal(np.load(path), e)
    embed.clear_cache()
    np.testing.assert_array_equal(embed.tsne(x, perplexity=10, n_iter=100, cache_dir=tmp_path), e)
    # The run is seeded, so a recomputed embedding would equal e too: mark the file and check the
    # next call (memory cache cleared) returns the file's content.
    np.save(path, e + 1)
    embed.clear_cache()
    np.testing.assert_array_equal(
        embed.tsne(x, perplexity=10, n_iter=100, cache_dir=tmp_path), e + 1
    )


def test_aligned_tsne_frames_are_closer_than_independent_ones():
    embed.clear_cache()
    rng = np.random.default_rng(1)
    x, _ = blobs(n=120)
    sequence = [x + 0.3 * rng.normal(size=x.shape).astype(np.float32) * s for s in range(3)]
    aligned = embed.aligned_tsne(sequence, perplexity=20, n_iter=150, later_iter=60)
    assert aligned.shape == (3, len(x), 2)
    independent = [
        embed.tsne(f, init="random", perplexity=20, n_iter=150, seed=s + 10)
        for s, f in enumerate(sequence)
    ]

    def step(a, b):  # mean displacement relative to the embedding's size
        return np.linalg.norm(a - b, axis=1).mean() / np.linalg.norm(a - a.mean(0), axis=1).mean()

    aligned_steps = [step(aligned[i], aligned[i + 1]) for i in range(2)]
    independent_steps = [step(independent[i], independent[i + 1]) for i in range(2)]
    assert max(aligned_steps) < min(independent_steps)


def test_pca_and_bad_shapes():
    x, _ = blobs(n=30)
    p = embed.pca(x)
    assert p.shape == (30, 2) and p.dtype == np.float32
    assert p[:, 0].var() >= p[:, 1].var()
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        embed.tsne(np.ones(10))
    with pytest.raises(ValueError, match="perplexity"):
        embed.tsne(x, perplexity=100)
    with pytest.raises(ValueError, match="init must"):
        embed.tsne(x, init=np.zeros((3, 2)), perplexity=10)
    with pytest.raises(ValueError, match="init must"):
        embed.tsne(x, init="spectral", perplexity=10)
    with pytest.raises(ValueError, match="same N"):
        embed.aligned_tsne([x, x[:10]])
    with pytest.raises(ValueError, match="n_components"):
        embed.pca(x, 20)
