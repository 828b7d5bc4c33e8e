"""runtime.setup: seeds, device and the CPU thread pool."""

import pytest
import torch

import robviz


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
