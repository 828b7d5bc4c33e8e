"""Runtime helpers given what a user mistypes: each is refused naming the argument or variable.

Before: a device name torch does not know gave torch's message naming neither the argument nor
the ``ROBVIZ_DEVICE`` variable it came from (``--device gpu`` a traceback after the recipe was
printed); one sample's (L,) logits gave an ``IndexError`` from argmax; ``percent_text(x, -1)``
Python's "Format specifier missing precision".
"""

import pytest
import torch

from robviz.cli import main
from robviz.runtime import percent_text, pick_device, predict
from robviz.scale import EvaluateRun, TrainRun


def test_a_device_name_torch_does_not_know_is_refused_naming_its_source(monkeypatch):
    monkeypatch.delenv("ROBVIZ_DEVICE", raising=False)
    with pytest.raises(ValueError, match="prefer = 'gpu' is not a device name"):
        pick_device("gpu")
    monkeypatch.setenv("ROBVIZ_DEVICE", "cudaa")
    with pytest.raises(ValueError, match="ROBVIZ_DEVICE = 'cudaa' is not a device name"):
        pick_device("cpu")  # the variable overrides prefer, so it is the one named
    monkeypatch.setenv("ROBVIZ_DEVICE", "cpu")
    assert pick_device("gpu") == torch.device("cpu")


def test_run_settings_refuse_an_unknown_device_before_any_work(tmp_path):
    for run in (lambda d: TrainRun(device=d), lambda d: EvaluateRun(checkpoint="c.pt", device=d)):
        with pytest.raises(ValueError, match="device = 'gpu' is not a device name"):
            run("gpu")
        assert run("cuda:1").device == "cuda:1"  # a name, not a check that the GPU is there
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match="^robviz: device = 'gpu' is not a device name"):
        main(["train", "--tiny", "--quiet", "--device", "gpu", "--out", str(out)])
    assert not out.exists()


def test_predict_refuses_one_samples_logits():
    with pytest.raises(ValueError, match=r"logits must have shape \(N, L\), got \(2,\)"):
        predict(torch.tensor([1.0, 2.0]))
    assert predict(torch.tensor([[1.0, 2.0], [float("nan"), 0.0]])).tolist() == [1, -1]


def test_percent_text_refuses_negative_or_float_digits():
    for digits in (-1, 1.0, True):
        with pytest.raises(ValueError, match="digits must be an integer >= 0"):
            percent_text(50.0, digits)
    assert percent_text(99.96, 0) == "99.96" and percent_text(12.4, 0) == "12"
