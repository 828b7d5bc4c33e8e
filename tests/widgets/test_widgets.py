from robviz.widgets import ObjectiveExplorer


def test_explorer_retrains_and_redraws_when_a_control_moves():
    explorer = ObjectiveExplorer(objective="mmc", steps=100)
    assert "robviz-explorer" in explorer.widget._dom_classes
    first = explorer.figure().layout.title.text
    assert first.startswith("MMC")
    explorer.objective.value = "sce"
    assert explorer.history.objective == "sce"
    assert explorer.figure().layout.title.text.startswith("SCE")
    explorer.num_classes.value = 4
    assert explorer.history.probe_y.max().item() == 3
    assert "4 classes" in explorer.figure().layout.title.text
    assert explorer.batch_size.label == "full batch" and explorer.history.config.batch_size is None
    explorer.batch_size.value = 16
    assert explorer.history.config.batch_size == 16


def test_dashboards_carry_a_keyboard_scope_for_their_own_class():
    from robviz.widgets import KeyboardScope, ObjectiveExplorer
    from robviz.widgets.centers import MMCentersExplorer

    for explorer in (ObjectiveExplorer(steps=100), MMCentersExplorer()):
        scopes = [child for child in explorer.widget.children if isinstance(child, KeyboardScope)]
        assert len(scopes) == 1 and scopes[0].scope in explorer.widget._dom_classes
