"""One figure namespace: every public name of every robviz.viz module is robviz.viz.<name>.

No two modules use one name for different things.
"""

import importlib
import pkgutil

import robviz.viz as viz

MODULES = sorted(info.name for info in pkgutil.iter_modules(viz.__path__))


def _module(name):
    return importlib.import_module(f"robviz.viz.{name}")


def test_every_viz_module_declares_its_public_names():
    assert {
        "attacks",
        "density",
        "detection",
        "ensemble",
        "exact",
        "masking",
        "mixup",
        "style",
        "theory",
    } <= set(MODULES)
    for name in MODULES:
        assert getattr(_module(name), "__all__", None), f"robviz.viz.{name} has no __all__"


def test_every_public_name_is_reachable_from_robviz_viz():
    missing = [
        f"{module}.{name}"
        for module in MODULES
        for name in _module(module).__all__
        if getattr(viz, name, None) is not getattr(_module(module), name)
    ]
    assert not missing, (
        f"not re-exported by robviz.viz (or re-exported as something else): {missing}"
    )
    declared = {name for module in MODULES for name in _module(module).__all__}
    assert set(viz.__all__) == declared
    assert len(viz.__all__) == len(set(viz.__all__))


def test_no_name_means_two_things():
    owners = {}
    for module in MODULES:
        for name in _module(module).__all__:
            owners.setdefault(name, set()).add(id(getattr(_module(module), name)))
    clashes = sorted(name for name, objects in owners.items() if len(objects) > 1)
    assert not clashes, (
        f"names bound to different objects in different robviz.viz modules: {clashes}"
    )
    assert not set(viz.__all__) & set(MODULES), (
        "a builder named like a robviz.viz module would shadow it"
    )
