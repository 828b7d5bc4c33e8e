"""runtime: setup (seeds, device, the CPU thread pool) and to_numpy."""

import numpy as np
import pytest
import torch

import robviz
from robviz.runtime import to_numpy


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("full", ["0", "1"])
def test_small_models_get_one_cpu_thread_in_both_modes(monkeypatch, full):
    monkeypatch.setenv("ROBVIZ_FULL", full)
    monkeypatch.setenv("ROBVIZ_DEVICE", "cpu")
    torch.set_num_threads(2)
    assert robviz.setup(seed=0).type == "cpu"
    assert torch.get_num_threads() == 1


def test_resnet_lessons_keep_the_pool_and_threads_override(monkeypatch):
    monkeypatch.setenv("ROBVIZ_DEVICE", "cpu")
    torch.set_num_threads(2)
    robviz.setup(seed=0, small_models=False)
    assert torch.get_num_threads() == 2
    robviz.setup(seed=0, threads=2)
    assert torch.get_num_threads() == 2


def test_setup_seeds_everything(monkeypatch):
    monkeypatch.setenv("ROBVIZ_DEVICE", "cpu")
    robviz.setup(seed=3)
    first = torch.rand(3)
    robviz.setup(seed=3)
    assert torch.equal(first, torch.rand(3))


def test_a_missing_gpu_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    monkeypatch.setenv("ROBVIZ_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        robviz.setup(seed=0)


# ------------------------------------------------------------------------------------------------ to_numpy


def test_to_numpy_detaches_tensors_and_keeps_or_converts_the_dtype():
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3).requires_grad_(True)
    out = to_numpy(t * 1)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert to_numpy(t, np.float32).dtype == np.float32
    assert to_numpy(torch.tensor([1.5], dtype=torch.bfloat16)).tolist() == [1.5]  # NumPy has no bfloat16
    assert to_numpy(torch.tensor([0, 2])).dtype == np.int64
    assert to_numpy([1, 2], np.float32).dtype == np.float32 and to_numpy(np.ones(2)).tolist() == [1.0, 1.0]


def test_to_numpy_of_float32_to_float64_is_exact():
    t = torch.randn(100)
    assert np.array_equal(to_numpy(t, np.float64), t.double().numpy())

