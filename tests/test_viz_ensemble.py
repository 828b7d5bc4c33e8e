import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from robviz.theory import adp_optimum
from robviz.viz.ensemble import adp_optimum_figure, diversity_figure, ternary_animation, transferability_heatmap


def simplex(S, K, P, seed):
    return torch.rand(S, K, P, 3, generator=torch.Generator().manual_seed(seed)).softmax(-1)


def test_ternary_animation_has_every_trace_in_every_frame():
    fig = ternary_animation({"baseline": simplex(3, 3, 10, 0), "ADP": simplex(3, 3, 10, 1)}, [0, 10, 20],
                            reference=np.eye(3))
    assert isinstance(fig, go.Figure)
    assert [f.name for f in fig.frames] == ["0", "10", "20"]
    assert all(len(f.data) == len(fig.data) == 8 for f in fig.frames)
    assert {t.subplot for t in fig.data} == {"ternary", "ternary2"}
    assert fig.data[0].a.dtype == np.float32
    assert fig.layout.sliders[0].active == 2


def test_ternary_animation_checks_shapes():
    with pytest.raises(ValueError):
        ternary_animation({"a": torch.rand(2, 3, 4, 4)}, [0, 1])
    with pytest.raises(ValueError):
        ternary_animation({"a": simplex(2, 3, 4, 0)}, [0, 1, 2])


def test_other_figures():
    fig = diversity_figure([0, 10], {"a": [0.1, 0.5]}, {"a": [10.0, 60.0]})
    assert len(fig.data) == 2
    heat = transferability_heatmap({"a": torch.eye(3), "b": torch.ones(3, 3)})
    assert len(heat.data) == 2 and heat.data[0].z[0][0] == 100
    with pytest.raises(ValueError):
        transferability_heatmap({"a": torch.ones(2, 3)})
    alphas = [0.5, 1.0, 2.0]
    fig = adp_optimum_figure(alphas, [adp_optimum(a, 3, 4) for a in alphas], {"solved": ([2.0], [0.72])}, K=3, L=4)
    assert len(fig.data) == 2
