import os
import random

import numpy as np
import pytest
import torch
from tool_support import require

# The test models are tiny: one thread is faster than a contended pool on a small CI machine.
torch.set_num_threads(1)

# A wrong answer to a lesson's self-checked exercise raises, so a lesson run fails when a solution
# or its check breaks. Kernels started by the tests inherit this environment.
os.environ["ROBVIZ_STRICT_EXERCISES"] = "1"


#: The longest files of the suite (minutes each, on one worker): started first.
LONGEST = ("tests/lessons/test_full_mode.py", "tests/lessons/test_full_mode_detection.py")


def _order(item) -> int:
    if item.nodeid.startswith(LONGEST):
        return 0
    return 1 if item.get_closest_marker("slow") or item.get_closest_marker("browser") else 2


def pytest_collection_modifyitems(config, items):
    """Run the long files first, then the unit tests.

    First the full modes (:data:`LONGEST`), then the lesson runs, grading and browser checks
    (``slow``, ``browser``), then the unit tests. pytest-xdist hands files to workers in this order
    (``tasks.py test`` turns its reordering off), so the many short files fill the end of both
    workers' queues instead of one long file starting last on one worker.
    """
    items.sort(key=_order)


@pytest.fixture
def torchattacks():
    """The peer library the attack tests compare with, output for output (tool_support.require)."""
    return require("torchattacks")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state, on any worker and after whatever ran before."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def lenient(monkeypatch):
    """Exercise checks answer with feedback instead of raising.

    The suite otherwise runs them strict, as nbgrader does.
    """
    from robviz import exercises

    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


@pytest.fixture(scope="session")
def trained_blobs():
    """``trained_blobs(num_classes)`` -> (data, model): Gaussian blobs and an undefended toy model.

    The blobs have 60 points per class; the model (SCE) is trained on them for 150 steps, the model
    most attack and masking tests grade. Trained once per worker and class count; each call returns
    its own copy, so a test may change the model freely.
    """
    import copy

    from robviz.data import gaussian_mixture
    from robviz.models import make_model
    from robviz.train import fit

    cache = {}

    def build(num_classes: int):
        if num_classes not in cache:
            torch.manual_seed(0)
            data = gaussian_mixture(num_classes=num_classes, n_per_class=60)
            model = make_model(data, "sce")
            fit(model, data, steps=150, progress=False, record_every=0)
            cache[num_classes] = data, model
        data, model = cache[num_classes]
        return data, copy.deepcopy(model)

    return build


@pytest.fixture(scope="session")
def lesson_runs(tmp_path_factory):
    """The lessons, executed once per test run and shared by the workers (see lesson_runs.py).

    A lesson's run is read with ``lesson_runs.get("02_attacks")``.
    """
    from lesson_runs import LessonRuns

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, shared by every worker
    return LessonRuns(base / "executed-lessons")
