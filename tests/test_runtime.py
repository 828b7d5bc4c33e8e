"""runtime: setup (seeds, device, the CPU thread pool), to_numpy and atomic_write."""

import random

import numpy as np
import pytest
import torch
from torch import nn

import robviz
from robviz.runtime import atomic_write, evaluating, frozen, to_numpy


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

    def draws():
        return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()

    robviz.setup(seed=3)
    first = draws()
    robviz.setup(seed=3)
    assert draws() == first  # PyTorch, NumPy and Python's random, as the docstring promises
    robviz.setup(seed=4)
    other = draws()
    # the seed is used: another seed gives other draws in each of the three generators
    assert all(a != b for a, b in zip(other, first))


def test_a_missing_gpu_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    monkeypatch.setenv("ROBVIZ_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        robviz.setup(seed=0)


# ----------------------------------------------------------------------------------------- to_numpy


def test_to_numpy_detaches_tensors_and_keeps_or_converts_the_dtype():
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3).requires_grad_(True)
    out = to_numpy(t * 1)
    assert (
        isinstance(out, np.ndarray)
        and out.dtype == np.float64
        and out.tolist() == [[0, 1, 2], [3, 4, 5]]
    )
    assert to_numpy(t, np.float32).dtype == np.float32
    assert to_numpy(torch.tensor([1.5], dtype=torch.bfloat16)).tolist() == [
        1.5
    ]  # NumPy has no bfloat16
    assert to_numpy(torch.tensor([0, 2])).dtype == np.int64
    assert to_numpy([1, 2], np.float32).dtype == np.float32 and to_numpy(np.ones(2)).tolist() == [
        1.0,
        1.0,
    ]


def test_to_numpy_of_float32_to_float64_is_exact():
    t = torch.randn(100)
    assert np.array_equal(to_numpy(t, np.float64), t.double().numpy())


# ------------------------------------------------------------------------------------- atomic_write


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\x00bytes", b"\x00bytes"),
        ("text é", "text é".encode()),
        (lambda f: f.write(b"from a writer"), b"from a writer"),
    ],
)
def test_atomic_write_writes_bytes_text_or_through_a_function(tmp_path, content, expected):
    path = atomic_write(tmp_path / "file.bin", content)
    assert path == tmp_path / "file.bin" and path.read_bytes() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_a_failing_writer_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    def half_then_fail(handle):
        handle.write(b"half a fi")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(tmp_path / "new.pt", half_then_fail)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file
    atomic_write(tmp_path / "old.pt", b"old content")
    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(tmp_path / "old.pt", half_then_fail)
    assert (tmp_path / "old.pt").read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["old.pt"]


def test_checkpoints_and_tsne_caches_are_written_atomically(tmp_path, monkeypatch):
    from robviz import embed, train

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK partial")
        raise OSError("no space left")

    monkeypatch.setattr(train.torch, "save", broken_save)
    with pytest.raises(OSError, match="no space"):
        train.save_checkpoint(tmp_path / "model.pt", torch.nn.Linear(2, 2))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(embed.np, "save", lambda f, array: broken_save(array, f))
    with pytest.raises(OSError, match="no space"):
        embed.tsne(
            np.random.default_rng(0).normal(size=(40, 3)),
            perplexity=5,
            n_iter=50,
            cache_dir=tmp_path,
        )
    embed.clear_cache()
    assert list(tmp_path.iterdir()) == []


def test_evaluating_gives_every_submodule_back_its_own_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a training network
    with evaluating(model):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [True, True, False, True]
    # already in eval mode: a block that switches to train mode still leaves it in eval mode
    model.eval()
    with evaluating(model):
        model.train()
    assert not any(m.training for m in model.modules())


def test_frozen_restores_each_parameter_flag_and_leaves_gradients_alone():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
    model[0].bias.requires_grad_(False)  # a parameter the user froze stays frozen
    model(torch.ones(1, 2)).sum().backward()
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    with pytest.raises(RuntimeError, match="inside"):
        with frozen(model):
            assert not any(p.requires_grad for p in model.parameters())
            x = torch.ones(1, 2, requires_grad=True)
            (gx,) = torch.autograd.grad(model(x).sum(), x)  # the input gradient still flows
            assert torch.isfinite(gx).all()
            raise RuntimeError("inside")
    assert [p.requires_grad for p in model.parameters()] == [True, False, True, True]
    after = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(grads, after))
    with frozen(len) as f:
        assert f is len


def test_an_attack_run_freezes_the_parameters_and_gives_them_back():
    from robviz.attacks import PGD

    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 3)

        def forward(self, x):
            seen.append(self.linear.weight.requires_grad)
            return self.linear(x)

    model = Probe()
    x = torch.rand(4, 2)
    PGD(model, eps=0.1, steps=2, bounds=(0.0, 1.0)).run(x, torch.tensor([0, 1, 2, 0]))
    assert seen and not any(seen)  # no parameter gradient is recorded during the attack
    assert model.linear.weight.requires_grad and model.linear.bias.requires_grad
