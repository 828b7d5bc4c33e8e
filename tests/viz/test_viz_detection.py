import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz import detect
from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.train import fit
from robviz.viz import detection as vd


def test_embedding_animation_has_synchronized_frames_and_float32_data():
    rng = np.random.default_rng(0)
    emb = {"sce": rng.normal(size=(3, 20, 2)), "rce": rng.normal(size=(3, 20, 2))}
    labels = np.repeat(np.arange(4), 5)
    fig = vd.embedding_animation(emb, labels, frame_labels=[1, 2, 3], title="t")
    assert isinstance(fig, go.Figure)
    assert [f.name for f in fig.frames] == ["1", "2", "3"]
    assert len(fig.data) == 8 and all(len(f.data) == 8 for f in fig.frames)
    assert [a.text for a in fig.layout.annotations] == ["CE", "RCE"]
    assert fig.layout.xaxis.title.text == "t-SNE 1" and fig.layout.title.text == "t"
    assert fig.layout.template.layout.font.family.startswith("Arial")
    np.testing.assert_allclose(
        np.asarray(fig.frames[2].data[4 + 1].x), emb["rce"][2][labels == 1, 0].astype(np.float32)
    )
    with pytest.raises(ValueError, match=r"\(S, N, 2\)"):
        vd.embedding_animation({"a": np.zeros((3, 20, 2)), "b": np.zeros((2, 20, 2))}, labels)
    with pytest.raises(ValueError, match="labels"):
        vd.embedding_animation(emb, labels[:5])


def test_non_me_domain_figure_draws_regions_lines_and_points():
    data = gaussian_mixture(num_classes=3, n_per_class=30, seed=0)
    panels = {}
    for name in ("sce", "rce"):
        model = make_model(data, name, feature_dim=2, seed=0)
        fit(model, data, steps=40, progress=False)
        with torch.no_grad():
            z = model.features(data.x_test)
        extent = (-6.0, 6.0, -6.0, 6.0)
        domain = detect.non_me_domain(model, extent, resolution=40)
        lines = detect.max_non_me_lines(model, extent)
        # On the lines the non-ME is maximal, log 2, and the predicted class is the third one.
        for line in lines:
            with torch.no_grad():
                out = model.objective.output(model.raw_logits(torch.from_numpy(line)))
            np.testing.assert_allclose(
                detect.non_max_entropy(torch.softmax(out.double(), 1)), np.log(2), atol=1e-4
            )
        assert domain["labels"].shape == (40, 40) and domain["non_me"].max() <= np.log(2) + 1e-9
        panels[name] = dict(domain=domain, lines=lines, features=z, labels=data.y_test)
    fig = vd.non_me_domain_figure(panels)
    assert sum(t.name == "max non-ME" and t.showlegend for t in fig.data) == 1
    assert sum(isinstance(t, go.Heatmap) for t in fig.data) == 2
    assert fig.layout.xaxis.title.text == "z₁" and fig.layout.title.text
    with pytest.raises(ValueError, match="3-class"):
        detect.max_non_me_lines(
            make_model(gaussian_mixture(num_classes=4, n_per_class=5), "sce", seed=0), extent
        )


def test_roc_figure_and_detection_table():
    curves = {}
    for attack in ("FGSM", "BIM"):
        curves[attack] = {}
        for obj in ("CE", "RCE"):
            for det in ("confidence", "non-ME"):
                fpr, tpr, _ = detect.roc_curve(np.array([0.9, 0.5, 0.3]), np.array([0.4, 0.1]))
                curves[attack][f"{obj} · {det}"] = (fpr, tpr, 0.83)
    fig = vd.roc_figure(curves, columns=2)
    assert [a.text for a in fig.layout.annotations] == ["FGSM", "BIM"]
    named = [t for t in fig.data if t.name == "RCE · non-ME"]
    assert (
        len(named) == 2
        and named[0].line.dash == "solid"
        and named[0].showlegend
        and not named[1].showlegend
    )
    assert [t for t in fig.data if t.name == "CE · non-ME"][0].line.dash == "dash"
    # a curve along an edge (AUC 0 runs along the bottom, then the right side) stays off the axis
    # lines
    for key in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        low, high = fig.layout[key].range
        assert low < 0 and high > 1, key
    aucs = {
        "FGSM": {
            "sce": {"confidence": 0.797, "non-ME": 0.668},
            "rce": {"confidence": 0.988, "non-ME": 0.986},
        },
        "C&W-hc": {
            "sce": {"confidence": 0.0, "non-ME": float("nan")},
            "rce": {"confidence": 0.001, "non-ME": 0.934},
        },
    }
    table = vd.detection_table(aucs)
    cells = table.data[0].cells.values
    assert list(cells[0]) == ["FGSM", "", "C&W-hc", ""] and list(cells[1]) == [
        "CE",
        "RCE",
        "CE",
        "RCE",
    ]
    assert list(cells[2]) == ["79.7", "<b>98.8</b>", "0.0", "<b>0.1</b>"]
    assert list(cells[3])[2:] == ["–", "<b>93.4</b>"]
    assert list(table.data[0].header.values) == ["Attack", "Obj.", "confidence", "non-ME"]


def test_detection_table_shades_each_attack_block_alike():
    """The shading assumed every attack had the first attack's number of objectives."""
    aucs = {
        "FGSM": {"rce": {"non-ME": 0.9}},
        "PGD": {"rce": {"non-ME": 0.8}, "sce": {"non-ME": 0.7}},
        "C&W": {"rce": {"non-ME": 0.6}},
    }
    fills = vd.detection_table(aucs).data[0].cells.fill.color[0]
    assert list(fills) == ["#f4f4f4", "white", "white", "#f4f4f4"]


def test_detection_table_given_pair_counts_bolds_only_differences_beyond_two_standard_errors():
    aucs = {
        "FGSM": {"sce": {"non-ME": 0.60}, "rce": {"non-ME": 0.95}},
        "JSMA": {"sce": {"non-ME": 0.60}, "rce": {"non-ME": 0.62}},
        "C&W-hc": {"sce": {"non-ME": 0.70}, "rce": {"non-ME": float("nan")}},
    }
    pairs = {(a, o): 50 for a in aucs for o in ("sce", "rce")}
    plain = vd.detection_table(aucs).data[0].cells.values[2]
    assert list(plain) == ["60.0", "<b>95.0</b>", "60.0", "<b>62.0</b>", "<b>70.0</b>", "–"]
    cells = vd.detection_table(aucs, pairs=pairs).data[0].cells.values[2]
    # 0.95 vs 0.60 on 50 pairs each is far beyond 2 SE (about 0.07); 0.62 vs 0.60 is noise; a
    # single finite AUC has nothing to beat
    assert list(cells) == ["60.0", "<b>95.0</b>", "60.0", "62.0", "70.0", "–"]
    # as DetectionStudy.verdicts says
    study = detect.DetectionStudy(aucs=aucs, pairs=pairs)
    assert study.verdicts("non-ME") == {"FGSM": "rce", "JSMA": "within 2 SE"}
    few = {key: 3 for key in pairs}
    assert "<b>" not in "".join(vd.detection_table(aucs, pairs=few).data[0].cells.values[2])
    with pytest.raises(ValueError, match=r"pairs has no count for \('FGSM', 'sce'\)"):
        vd.detection_table(aucs, pairs={("FGSM", "rce"): 50})
    with pytest.raises(ValueError, match="z must be"):
        vd.detection_table(aucs, pairs=pairs, z=-1)
