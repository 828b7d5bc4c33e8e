"""The CIFAR loader on tiny archives in the official format, and the on-device augmentation."""

import collections
import hashlib
import io
import pickle
import tarfile
from urllib.error import URLError

import numpy as np
import pytest
import torch

import robviz.scale.cifar as cifar
from robviz.scale.cifar import CifarDownloadError, apply_augment, augment, gpu_batches, load_cifar


def write_archive(folder, name="cifar10", n=6, seed=0):
    """A tar.gz laid out like the official python archive, with ``n`` images per batch file."""
    spec = cifar.CIFAR[name]
    rng = np.random.default_rng(seed)
    path = folder / spec.filename
    batches = {}
    with tarfile.open(path, "w:gz") as tar:

        def add(member, payload):
            # protocol 2 and NumPy 1's module path, as in the official files
            blob = pickle.dumps(payload, protocol=2).replace(
                b"numpy._core.multiarray", b"numpy.core.multiarray"
            )
            info = tarfile.TarInfo(f"{spec.folder}/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

        for member in spec.train_files + (spec.test_file,):
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, spec.num_classes, n)]
            batches[member] = (data, labels)
            add(member, {b"data": data, spec.label_key: labels, b"batch_label": b"x"})
        add(spec.meta_file, {spec.names_key: [b"c%d" % i for i in range(spec.num_classes)]})
    return path, hashlib.md5(path.read_bytes()).hexdigest(), batches


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_loads_the_official_format(tmp_path, name):
    path, md5, batches = write_archive(tmp_path, name)
    data = load_cifar(name, tmp_path, download=False, md5=md5)
    spec = cifar.CIFAR[name]
    assert data.x_train.shape == (6 * len(spec.train_files), 3, 32, 32) and data.x_test.shape == (
        6,
        3,
        32,
        32,
    )
    assert data.num_classes == spec.num_classes and data.bounds == (0.0, 1.0)
    first, labels = batches[spec.train_files[0]]
    # row layout: 1024 red, 1024 green, 1024 blue values, each row-major 32x32
    assert torch.allclose(
        data.x_train[0, 1, 0, :3], torch.tensor(first[0, 1024:1027] / 255.0, dtype=torch.float32)
    )
    assert data.y_train[:6].tolist() == labels
    raw = load_cifar(name, tmp_path, download=False, md5=None, dtype=torch.uint8)
    assert raw.x_test.dtype == torch.uint8 and np.array_equal(
        raw.x_test.flatten(1).numpy(), batches[spec.test_file][0]
    )


def test_checksum_mismatch_raises(tmp_path):
    write_archive(tmp_path)
    with pytest.raises(ValueError, match="md5"):
        load_cifar("cifar10", tmp_path, download=False)  # the official checksum does not match


def test_download_through_a_url_with_checksum(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    path, md5, _ = write_archive(source)
    cache = tmp_path / "cache"
    data = load_cifar("cifar10", cache, md5=md5, url=path.as_uri())
    assert (cache / "cifar-10-python.tar.gz").exists() and len(data.x_train) == 30
    with pytest.raises(ValueError, match="md5"):
        load_cifar("cifar10", tmp_path / "other", md5="0" * 32, url=path.as_uri())
    assert not list((tmp_path / "other").iterdir())  # no partial file is left behind


def test_offline_message_names_url_target_and_command(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("no route to host")

    monkeypatch.setattr(cifar, "urlopen", offline)
    with pytest.raises(CifarDownloadError) as info:
        load_cifar("cifar100", tmp_path)
    message = str(info.value)
    target = tmp_path / "cifar-100-python.tar.gz"
    assert (
        cifar.CIFAR["cifar100"].url in message
        and str(target) in message
        and "curl -L -o" in message
    )
    assert not target.exists()
    with pytest.raises(FileNotFoundError, match="curl"):
        load_cifar("cifar10", tmp_path, download=False)


def test_default_root_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ROBVIZ_DATA", str(tmp_path))
    assert cifar.default_root() == tmp_path


def test_rejects_foreign_objects_in_pickles(tmp_path):
    spec = cifar.CIFAR["cifar10"]
    path = tmp_path / spec.filename
    with tarfile.open(path, "w:gz") as tar:
        blob = pickle.dumps(
            {
                b"data": np.zeros((1, 3072), np.uint8),
                b"labels": [0],
                b"x": collections.OrderedDict(),
            }
        )
        info = tarfile.TarInfo(f"{spec.folder}/data_batch_1")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(pickle.UnpicklingError, match="unexpected"):
        load_cifar("cifar10", tmp_path, download=False, md5=None)


def test_augment_is_a_padded_crop_and_flip():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).view(2, 3, 32, 32).to(torch.uint8)
    same = apply_augment(x, torch.tensor([4, 4]), torch.tensor([4, 4]), torch.tensor([False, True]))
    assert torch.equal(same[0], x[0]) and torch.equal(same[1], x[1].flip(-1))
    shifted = apply_augment(
        x, torch.tensor([0, 8]), torch.tensor([0, 8]), torch.tensor([False, False])
    )
    assert (shifted[0, :, :4, :] == 0).all() and torch.equal(
        shifted[0, :, 4:, 4:], x[0, :, :28, :28]
    )
    assert torch.equal(shifted[1, :, :28, :28], x[1, :, 4:, 4:])
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8


def test_gpu_batches_shard_the_global_batch():
    x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8)
    y = torch.arange(40)
    whole = list(gpu_batches(x, y, 8, torch.Generator().manual_seed(1)))
    parts = [
        list(gpu_batches(x, y, 8, torch.Generator().manual_seed(1), rank=r, world_size=2))
        for r in (0, 1)
    ]
    assert len(whole) == 5 and whole[0][0].dtype == torch.float32 and whole[0][0].max() <= 1
    for k, (xb, yb) in enumerate(whole):
        assert torch.equal(torch.cat([parts[0][k][0], parts[1][k][0]]), xb)
        assert torch.equal(torch.cat([parts[0][k][1], parts[1][k][1]]), yb)
    with pytest.raises(ValueError, match="multiple"):
        next(gpu_batches(x, y, 7, world_size=2))


def test_is_cached_looks_for_the_official_archive(tmp_path):
    assert not cifar.is_cached("cifar10", tmp_path)
    write_archive(tmp_path)
    assert cifar.is_cached("cifar10", tmp_path) and not cifar.is_cached("cifar100", tmp_path)
    with pytest.raises(ValueError, match="valid names"):
        cifar.is_cached("svhn", tmp_path)


def test_keras_shift_is_scipys_affine_transform_with_the_edge_extended():
    """The authors' augmentation, checked against what Keras 2.2.4 calls.

    That is scipy.ndimage.affine_transform (order 1, mode 'nearest') with a pure shift,
    input(r + t_r H, c + t_c W), then the horizontal flip.
    """
    from scipy import ndimage

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 32, 32, generator=generator, dtype=torch.float64)
    shifts, flip = cifar.keras_shift_params(6, generator)
    shifts[0] = torch.tensor([0.1, -0.1])  # the largest shift: the edge is extended over 3.2 pixels
    shifts[1] = torch.tensor([0.0, 0.0])
    flip[:2] = torch.tensor([True, False])
    out = cifar.apply_keras_shift(x, shifts, flip)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out[1], x[1], atol=1e-12)  # no shift, no flip: the image itself
    for i in range(6):
        offset = (shifts[i] * 32).tolist()
        expected = np.stack(
            [
                ndimage.affine_transform(
                    x[i, c].numpy(), np.eye(2), offset=offset, order=1, mode="nearest"
                )
                for c in range(3)
            ]
        )
        if flip[i]:
            expected = expected[:, :, ::-1]
        assert np.allclose(out[i].numpy(), expected, atol=1e-9), i
    assert (shifts.abs() <= 0.1).all() and (
        cifar.keras_shift_params(1000, generator)[0].abs() <= 0.1
    ).all()


def test_batches_use_the_recipes_augmentation_and_split_it_across_ranks_exactly():
    x = (torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 255).to(
        torch.uint8
    )
    y = torch.arange(64) % 10
    for method in cifar.AUGMENTATIONS:
        whole = list(cifar.gpu_batches(x, y, 16, torch.Generator().manual_seed(3), method=method))
        halves = [
            list(
                cifar.gpu_batches(
                    x, y, 16, torch.Generator().manual_seed(3), method=method, rank=r, world_size=2
                )
            )
            for r in (0, 1)
        ]
        for step, (xb, yb) in enumerate(whole):
            assert torch.equal(torch.cat([halves[0][step][0], halves[1][step][0]]), xb), method
            assert xb.dtype == torch.float32 and 0 <= xb.min() and xb.max() <= 1
    crop2 = next(
        iter(cifar.gpu_batches(x, y, 16, torch.Generator().manual_seed(3), method="crop2"))
    )[0]
    crop4 = next(iter(cifar.gpu_batches(x, y, 16, torch.Generator().manual_seed(3))))[0]
    assert not torch.equal(crop2, crop4)
    with pytest.raises(
        ValueError, match="unknown augmentation 'mixup'; valid: crop4, crop2, keras-shift"
    ):
        next(iter(cifar.gpu_batches(x, y, 16, method="mixup")))
    from robviz.scale.recipes import get_recipe

    assert (
        get_recipe("authors", "mmc").augmentation
        == get_recipe("authors", "adp").augmentation
        == "keras-shift"
    )
    assert (
        get_recipe("authors", "rce").augmentation == "crop2"
        and get_recipe("paper", "mmc").augmentation == "crop4"
    )
    assert "apply_keras_shift" in get_recipe("authors", "mmc").describe()
