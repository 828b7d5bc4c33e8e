"""Data-parallel: `torchrun` with 2 CPU processes equals one process with the same global batch.

The processes use gloo.

Group normalization keeps the comparison exact in meaning: batch normalization would normalize over
each process's half batch (use --sync-bn on GPUs). Adversarial training is left out here: the sign
of a gradient entry near zero can flip between float summation orders, so PGD examples agree only
approximately.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robviz.cli import main

ROOT = Path(__file__).resolve().parents[2]
RUN = [
    "train",
    "--tiny",
    "--quiet",
    "--threads",
    "1",
    "--train-size",
    "64",
    "--batch-size",
    "16",
    "--test-size",
    "32",
    "--normalization",
    "group",
    "--objective",
    "mmc",
    "--epochs",
    "2",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="this PyTorch build has no gloo backend",
)
def test_two_processes_equal_one(tmp_path):
    single, multi = tmp_path / "single", tmp_path / "multi"
    main(RUN + ["--out", str(single)])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ROBVIZ_DEVICE": "cpu"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        "-m",
        "robviz",
    ]
    done = subprocess.run(
        command + RUN + ["--out", str(multi)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    a = torch.load(single / "checkpoint.pt", map_location="cpu", weights_only=True)
    b = torch.load(multi / "checkpoint.pt", map_location="cpu", weights_only=True)
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key], b["state_dict"][key], rtol=1e-4, atol=1e-5), key
    ra, rb = (json.loads((p / "results.json").read_text()) for p in (single, multi))
    assert rb["world_size"] == 2 and ra["world_size"] == 1
    for x, y in zip(ra["history"], rb["history"]):
        assert abs(x["train_loss"] - y["train_loss"]) < 1e-4 * max(1.0, abs(x["train_loss"]))
    assert sorted(p.name for p in multi.iterdir()) == [
        "checkpoint.pt",
        "results.json",
    ]  # rank 0 writes alone
