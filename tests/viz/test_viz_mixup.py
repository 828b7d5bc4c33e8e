"""The Mixup Inference picture of lesson 7, built from small hand-made inputs."""

import plotly.graph_objects as go
import torch

from robviz import viz
from robviz.mixup_inference import MixingEffect


def _effect(lams, points=3, samples=2):
    base = torch.arange(points * samples * 2, dtype=torch.float32).reshape(points, samples, 2)
    mixed_clean = torch.stack([lam * base for lam in lams])
    return MixingEffect(
        torch.tensor(lams),
        torch.zeros(len(lams)),
        torch.zeros(len(lams)),
        torch.zeros(len(lams)),
        mixed_clean,
        mixed_clean + 1.0,
    )


def test_mixing_animation_has_one_frame_per_lambda_and_opens_on_the_last():
    lams = [0.0, 0.5, 1.0]
    x_train = torch.randn(12, 2, generator=torch.Generator().manual_seed(0))
    y_train = torch.arange(3).repeat(4)
    fig = viz.mixing_animation(_effect(lams), torch.tensor(lams), x_train, y_train)
    assert isinstance(fig, go.Figure)
    assert [frame.name for frame in fig.frames] == ["0.0", "0.5", "1.0"]
    # Three faint class backgrounds, then the two moving traces (6 mixtures each).
    assert [trace.name for trace in fig.data] == [
        "class 0",
        "class 1",
        "class 2",
        "mixed clean",
        "mixed adversarial",
    ]
    assert all(list(frame.traces) == [3, 4] for frame in fig.frames)
    assert len(fig.frames[1].data[0].x) == 6
    assert list(fig.frames[1].data[1].y) == list(
        _effect(lams).mixed_adv[1].reshape(-1, 2)[:, 1].numpy()
    )
    assert list(fig.data[3].x) == list(fig.frames[-1].data[0].x)  # opens on lambda = 1
    assert fig.layout.sliders[0].active == 2 and fig.layout.sliders[0].currentvalue.prefix == "λ = "
    assert fig.layout.xaxis.title.text == "x₁" and fig.layout.yaxis.title.text == "x₂"
    # The shared style: class and series colours, the robviz template, no fixed width.
    assert fig.data[0].marker.color == viz.class_color(0) and fig.data[
        3
    ].marker.color == viz.series_color(0)
    assert fig.frames[0].data[1].marker.color == viz.series_color(1)
    assert fig.layout.template.layout.font.family.startswith("Arial") and fig.layout.width is None


def test_mixing_animation_labels_stay_distinct_for_fine_lambdas():
    lams = [0.5, 0.55, 0.6]
    fig = viz.mixing_animation(
        _effect(lams), lams, torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]), active=0, title="fine"
    )
    assert [frame.name for frame in fig.frames] == ["0.5", "0.55", "0.6"]
    assert fig.layout.sliders[0].active == 0 and fig.layout.title.text == "fine"
