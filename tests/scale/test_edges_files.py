"""Files users hand to robviz that are not what they should be: each is refused naming the file.

Checkpoints (truncated, empty, text, a bare ``state_dict``, a toy model's checkpoint given to
``robviz evaluate``), evaluation files (truncated JSON, rows of another shape), CIFAR archives
(truncated, pixels or labels of another type), and paths a command writes (a file named as the
run folder, a folder named as the output file). Before, these gave tracebacks naming no file
(``OSError: [Errno 22] Invalid argument``, ``KeyError: 101``, ``KeyError: 'accuracy'``) or,
for CIFAR batches, silently wrong numbers; output paths failed only after the work was done.
"""

import io
import json
import pickle
import tarfile

import numpy as np
import pytest
import torch

from robviz import checks
from robviz.cli import main
from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.runtime import atomic_write
from robviz.scale import EvaluateRun, TableRun, TrainRun, read_evaluation
from robviz.scale import cifar
from robviz.scale.cifar import load_cifar
from robviz.scale.evaluate import load_trained
from robviz.train import load_checkpoint, read_checkpoint, save_checkpoint

QUIET = ["--quiet", "--threads", "1"]


@pytest.fixture(scope="module")
def toy():
    data = gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    return make_model(data, "mmc", 2, seed=0)


@pytest.fixture
def saved(tmp_path, toy):
    return save_checkpoint(tmp_path / "a run" / "toy.pt", toy, epoch=1)


def _bad_checkpoints(saved, toy):
    raw = saved.read_bytes()
    files = {
        "truncated": raw[: len(raw) // 2],
        "empty": b"",
        "text": b"hello",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = saved.with_name(f"{name}.pt")
        paths[name].write_bytes(content)
    paths["bare state_dict"] = saved.with_name("bare.pt")
    torch.save(toy.state_dict(), paths["bare state_dict"])
    paths["list"] = saved.with_name("list.pt")
    torch.save([1, 2], paths["list"])
    paths["folder"] = saved.parent
    return paths


def test_a_file_that_is_no_checkpoint_is_refused_naming_it(saved, toy):
    # before: OSError [Errno 22], EOFError '', KeyError 101, KeyError 'state_dict', TypeError,
    # IsADirectoryError: none of them said "checkpoint", three named no file
    for kind, path in _bad_checkpoints(saved, toy).items():
        with pytest.raises(ValueError, match="checkpoint") as error:
            read_checkpoint(path)
        assert str(path) in str(error.value), kind
        with pytest.raises(ValueError, match="checkpoint"):
            load_checkpoint(path, toy)
    assert load_checkpoint(saved, toy) == {"epoch": 1}  # a real one still loads


def test_evaluate_turns_unreadable_checkpoints_into_one_line(saved, toy):
    # before: tracebacks (OSError, FileNotFoundError, KeyError 'config', IsADirectoryError)
    bad = _bad_checkpoints(saved, toy)
    missing = saved.with_name("absent.pt")
    for path in (bad["truncated"], bad["folder"], missing, saved):
        with pytest.raises(SystemExit, match=r"^robviz: .*" + path.name):
            main(["evaluate", str(path), *QUIET, "--attacks", "noise"])
    with pytest.raises(ValueError, match="not a checkpoint of robviz train.*config"):
        load_trained(saved)  # a toy model's checkpoint: no run to rebuild the network from
    evil = saved.with_name("evil.pt")
    torch.save({"state_dict": {}, "metadata": {"f": print}}, evil)
    # torch.load(weights_only=True)'s refusal, with the file's name, as one line
    with pytest.raises(SystemExit, match=r"^robviz: .*evil.pt: Weights only load failed"):
        main(["evaluate", str(evil), *QUIET, "--attacks", "noise"])


def test_resume_from_a_corrupt_checkpoint_is_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"PK\x03\x04 half a zip")
    tiny = ["train", "--tiny", *QUIET, "--batch-size", "8"]
    tiny += ["--train-size", "16", "--test-size", "16"]
    with pytest.raises(SystemExit, match=r"^robviz: .*checkpoint.pt cannot be read"):
        main(tiny + ["--out", str(run), "--resume"])


def test_output_paths_are_refused_before_any_work(tmp_path):
    # before: train --out FILE failed at the first checkpoint (after an epoch), evaluate --out
    # FOLDER after every attack, naming a temporary file
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="out = .*notes.txt' is a file; name a folder"):
        TrainRun(out=str(a_file))
    with pytest.raises(ValueError, match="lies under .*notes.txt', which is a file"):
        TrainRun(out=str(a_file / "run"))
    with pytest.raises(ValueError, match="out = .* is a folder; name a file"):
        EvaluateRun(checkpoint="c.pt", out=str(tmp_path))
    for name in ("out", "html"):
        with pytest.raises(ValueError, match=f"{name} = .* is a folder; name a file"):
            TableRun(results=("e.json",), **{name: str(tmp_path)})
    with pytest.raises(SystemExit, match="^robviz: out = .*notes.txt' is a file"):
        main(["train", "--tiny", *QUIET, "--out", str(a_file)])
    with pytest.raises(SystemExit, match="^robviz: out = .* is a folder"):
        main(["evaluate", "c.pt", *QUIET, "--out", str(tmp_path)])
    # paths that do not exist yet, or are what they are named as, pass unchanged
    assert TrainRun(out=str(tmp_path / "new" / "run")).out == str(tmp_path / "new" / "run")
    assert checks.output_path("out", tmp_path, folder=True) == str(tmp_path)
    assert checks.output_path("out", str(a_file)) == str(a_file)
    with pytest.raises(TypeError, match="out must be a path"):
        checks.output_path("out", 3)


def test_atomic_write_refuses_a_folder_naming_it(tmp_path):
    # before: IsADirectoryError naming only the temporary file it tried to move there
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=f"{folder} is a folder"):
        atomic_write(folder, "text")
    assert folder.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_evaluation_files_of_another_shape_are_refused_naming_file_and_row(tmp_path):
    # before: the JSON error named no file; rows of another shape gave TypeError or KeyError
    # tracebacks, an accuracy in percent (85) was tabulated as 8500.0, no rows as an empty table
    row = {"model": "sce", "attack": "clean", "eps": None, "accuracy": 0.5}
    cases = {
        "truncated.json": ('{"rows": [{"attack": "clean", ', "not a JSON file"),
        "ints.json": (json.dumps({"rows": [1, 2]}), r"rows\[0\] = 1 is not a row"),
        "no-model.json": (
            json.dumps({"rows": [row, {"attack": "clean", "eps": None, "accuracy": 0.5}]}),
            r"rows\[1\] = .* is not a row with a model, an attack, an eps and an accuracy",
        ),
        "percent.json": (
            json.dumps({"rows": [{**row, "accuracy": 85}]}),
            r"rows\[0\]\['accuracy'\] must be a finite number in \[0, 1\] or None, got 85",
        ),
        "text-eps.json": (
            json.dumps({"rows": [{**row, "eps": "8/255"}]}),
            r"rows\[0\]\['eps'\] must be a finite number >= 0 or None, got '8/255'",
        ),
        "empty.json": (
            json.dumps({"rows": []}),
            "not an evaluation file of robviz evaluate: no rows",
        ),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match=message) as error:
            read_evaluation(path)
        assert name in str(error.value)
        with pytest.raises(SystemExit, match=f"^robviz: .*{name}"):
            main(["table", str(path), "--quiet"])
    with pytest.raises(SystemExit, match="^robviz: .*absent.json"):
        main(["table", str(tmp_path / "absent.json"), "--quiet"])
    good = {"rows": [row, {**row, "accuracy": None}]}  # None: an accuracy that was not finite
    assert read_evaluation(good) == good


def _archive(folder, change=None):
    """A CIFAR-10 archive of two images per batch; ``change(payload)`` edits data_batch_1."""
    spec = cifar.CIFAR["cifar10"]
    path = folder / spec.filename
    with tarfile.open(path, "w:gz") as tar:
        for member in spec.train_files + (spec.test_file,):
            payload = {b"data": np.full((2, 3072), 7, np.uint8), b"labels": [0, 1]}
            if change is not None and member == "data_batch_1":
                payload = change(payload)
            blob = pickle.dumps(payload, protocol=2)
            info = tarfile.TarInfo(f"{spec.folder}/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def _with(key, value):
    return lambda payload: {**payload, key: value}


@pytest.mark.parametrize(
    "change, message",
    [
        # before: floored to class 1, every pixel 0.0, 300 wrapped to 44/255, -1 to 255/255
        (_with(b"labels", [0.0, 1.5]), "one integer label per image, 2 of them, got float64"),
        (_with(b"data", np.full((2, 3072), 0.5)), r"\(N, 3072\) uint8 rows, got float64"),
        (_with(b"data", np.full((2, 3072), 300)), r"\(N, 3072\) uint8 rows, got int64"),
        (_with(b"data", np.full((2, 3072), -1)), r"\(N, 3072\) uint8 rows, got int64"),
        # before: KeyError b'labels', TypeError, a concatenate error naming no file
        (lambda payload: {b"data": payload[b"data"]}, "must hold a dict with b'data' and"),
        (lambda payload: [payload], "must hold a dict .* got list"),
        (_with(b"labels", np.array([[0], [1]])), r"got int64 of shape \(2, 1\)"),
        (_with(b"labels", [0]), r"2 of them, got int64 of shape \(1,\)"),
    ],
)
def test_cifar_batches_of_another_type_are_refused_naming_the_batch(tmp_path, change, message):
    _archive(tmp_path, change)
    with pytest.raises(ValueError, match=message) as error:
        load_cifar("cifar10", tmp_path, download=False, md5=None)
    assert "cifar-10-batches-py/data_batch_1 in " in str(error.value)


def test_cifar_archives_that_are_not_tar_gz_are_refused_naming_the_file(tmp_path):
    path = _archive(tmp_path)
    data = load_cifar("cifar10", tmp_path, download=False, md5=None)
    assert data.x_train.shape == (10, 3, 32, 32) and data.y_train.tolist()[:2] == [0, 1]
    assert torch.allclose(data.x_train[0, 0, 0, 0], torch.tensor(7 / 255))
    raw = path.read_bytes()
    # before: tarfile.ReadError 'not a gzip file' and EOFError, naming no file
    for content, message in ((b"not a gzip", "not a gzip file"), (raw[: len(raw) // 2], "ended")):
        path.write_bytes(content)
        with pytest.raises(ValueError, match=f"is not a readable tar.gz archive .*{message}"):
            load_cifar("cifar10", tmp_path, download=False, md5=None)


def test_train_and_test_sizes_past_the_set_are_refused(tmp_path):
    # before: --train-size 100000 on mnist32 trained on its 4000 images without a word (the kind
    # robviz evaluate --n was fixed for)
    from robviz.scale import load_data

    with pytest.raises(ValueError, match="train_size = 100000 is more than the 4000 train images"):
        load_data("mnist32", train_size=100_000)
    with pytest.raises(ValueError, match="test_size = 2000 is more than the 1000 test images"):
        load_data("mnist32", test_size=2000)
    data = load_data("mnist32", train_size=4000, test_size=10)
    assert (len(data.x_train), len(data.x_test)) == (4000, 10)
    args = ["train", "--dataset", "mnist32", *QUIET, "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit, match="^robviz: train_size = 100000 is more than"):
        main(args + ["--train-size", "100000"])
