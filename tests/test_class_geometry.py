"""The class means of features, the two scales lessons read from them, a past snapshot's head."""

import pytest
import torch

from robviz.centers import class_mean_distance, class_means, feature_spread
from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.regions import feature_regions
from robviz.train import fit


def test_class_means_and_scales_on_a_square():
    corners = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])
    offsets = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    z = (corners[:, None] + offsets).reshape(-1, 2)  # two points per class, 1 from their mean
    y = torch.arange(3).repeat_interleave(2)
    assert torch.allclose(class_means(z, y), corners)
    assert class_mean_distance(z, y) == pytest.approx((4 + 3 + 5) / 3)
    assert feature_spread(z, y) == pytest.approx(1 / 3)
    assert feature_spread(10 * z, y) == pytest.approx(feature_spread(z, y))  # free of scale
    with pytest.raises(ValueError, match="labels"):
        class_means(z, y[:-1])


def test_head_at_gives_the_snapshot_head_and_leaves_the_model_alone():
    data = gaussian_mixture(num_classes=3, n_per_class=30)
    model = make_model(data, "sce", feature_dim=2)
    history = fit(model, data, steps=20, record_every=10, progress=False)
    first, last = history.head_at(model, 0), history.head_at(model)
    for name, value in first.state_dict().items():
        assert torch.equal(value, history.head_states[0][name])
        assert torch.equal(last.state_dict()[name], model.objective.state_dict()[name].cpu())
    assert not first.training and first is not model.objective
    assert any(
        not torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), last.state_dict().values())
    )
    with pytest.raises(IndexError, match=f"frame must index one of the {len(history)} snapshots"):
        history.head_at(model, len(history))
    regions = feature_regions(model, history, resolution=12)
    assert regions.labels.shape == (len(history), 12, 12)


def test_class_means_refuse_a_missing_class_and_a_single_class():
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match=r"class\(es\) \[1\]"):
        class_means(z, torch.tensor([0, 2, 2]))  # class 1 absent: a NaN mean otherwise
    with pytest.raises(ValueError, match="empty"):
        class_means(z[:0], torch.tensor([], dtype=torch.long))
    for measure in (class_mean_distance, feature_spread):
        with pytest.raises(ValueError, match="single class"):
            measure(z, torch.tensor([0, 0, 0]))
