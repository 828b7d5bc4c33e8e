"""The package's docstring examples run: every ``>>>`` line in robviz, executed with doctest.

Each module's examples run with a small shared namespace that stands for what a user has at hand:
``torch``, ``np``, ``robviz``, the public names of ``robviz.attacks``, a ``model`` (SCE, trained
briefly on the 8x8 digits, pixels in [0, 1]) with its ``data`` and a batch ``x`` (8, 1, 8, 8), ``y``
(8,) from its test set. An example that needs more defines it itself. Outputs are compared as
doctest does (``...`` allowed).
"""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch

import robviz

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(robviz.__path__, "robviz.")
    if not name.endswith("__main__")
)
# Deprecated aliases (robviz.checks.moved) warn on import: their examples live in the modules they
# point to.
ALIASES = {
    "robviz.resnet",
    "robviz.cifar",
    "robviz.recipes",
    "robviz.optimizers",
    "robviz.gallery",
    "robviz.kernels",
    "robviz.widgets_theory",
    "robviz.detection_study",
    "robviz.linear_regions",
}


@pytest.fixture(scope="module")
def namespace():
    from robviz import attacks
    from robviz.data import digits
    from robviz.models import make_model
    from robviz.train import fit

    torch.manual_seed(0)
    data = digits()
    model = make_model(data, "sce", feature_dim=16)
    fit(model, data, steps=60, batch_size=128, progress=False, record_every=0)
    names = {name: getattr(attacks, name) for name in attacks.__all__}
    return {
        **names,
        "torch": torch,
        "np": np,
        "robviz": robviz,
        "model": model,
        "data": data,
        "x": data.x_test[:8],
        "y": data.y_test[:8],
    }


def examples(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    return [
        test
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
        if test.examples and getattr(test, "filename", None) == module.__file__
    ]


WITH_EXAMPLES = [name for name in sorted(set(MODULES) - ALIASES) if examples(name)]


def test_the_examples_are_found():
    assert {"robviz.attacks.gradient", "robviz.checks", "robviz.ensemble"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("module_name", WITH_EXAMPLES)
def test_docstring_examples_run(module_name, namespace):
    tests = examples(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    for test in tests:
        test.globs = {**test.globs, **namespace}
        result = runner.run(test, out=failures.append)
        assert result.attempted
    assert not failures, "".join(failures)
