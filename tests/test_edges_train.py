"""Degenerate settings of training and its measurements: each is refused naming the argument.

A test fraction that leaves a class out of a split (scikit-learn's message named its own
``test_size``), a history asked for the head of a model of another objective or at a float
frame, and a sample density of points whose losses coincide (a result of NaNs only).
"""

import pytest
import torch
from torch import nn

from robviz.data import gaussian_mixture
from robviz.models import make_model
from robviz.regions import input_regions
from robviz.shell_density import mmc_shell_density, sample_density
from robviz.centers import mm_centers
from robviz.train import fit, load_checkpoint, read_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def trained():
    data = gaussian_mixture(num_classes=3, n_per_class=20, seed=0)
    model = make_model(data, "mmc", 2, seed=0)
    history = fit(model, data, steps=4, record_every=2, record_models=True, progress=False)
    return data, model, history


def test_a_test_fraction_that_leaves_a_class_out_names_test_fraction():
    # before: "The test_size = 1 should be greater or equal to the number of classes = 4",
    # naming an argument robviz does not have
    for fraction in (0.01, 0.99):
        with pytest.raises(ValueError, match=f"test_fraction={fraction} cannot split 16 points"):
            gaussian_mixture(num_classes=4, n_per_class=4, test_fraction=fraction)
    assert len(gaussian_mixture(num_classes=4, n_per_class=4, test_fraction=0.5).x_test) == 8


def test_head_at_refuses_a_model_of_another_objective_and_a_float_frame(trained):
    data, model, history = trained
    other = make_model(data, "sce", 2, seed=0)
    # before: load_state_dict's RuntimeError "Missing key(s) ... linear.weight"
    with pytest.raises(
        ValueError, match="this history trained a mmc head, model's objective is sce"
    ):
        history.head_at(other, 0)
    # before: "list indices must be integers or slices, not float"
    for method in (history.head_at, history.model_at):
        with pytest.raises(ValueError, match="frame must be an integer"):
            method(model, 1.0)
    first = history.head_at(model, 0)
    assert torch.equal(first.centers, model.objective.centers)  # MM centers are fixed
    assert len(history) == 3 and history.model_at(model, -1).objective.name == "mmc"


def test_a_density_with_no_shell_to_count_in_is_refused(trained):
    data, model, _ = trained
    # every point of a class at one feature: before, a SampleDensity of NaN edges and no counts
    x = data.x_train[:1].repeat(6, 1)
    y = data.y_train[:1].repeat(6)
    with pytest.raises(ValueError, match="no class has two points of distinct loss"):
        sample_density(model, x, y, num_shells=2)
    centers = mm_centers(3, 2)
    z = centers[torch.tensor([0, 1, 2])]  # one point per class
    with pytest.raises(ValueError, match="no shell to count in"):
        mmc_shell_density(z, torch.tensor([0, 1, 2]), centers)
    # one class measurable is a density, the others stay NaN rows as documented
    z = torch.cat([z, centers[:1] + torch.tensor([[0.5, 0.0]])])
    density = mmc_shell_density(
        z, torch.tensor([0, 1, 2, 0]), centers, num_shells=1, quantiles=(0.0, 1.0)
    )
    assert density.counts[0].sum() == 2 and torch.isnan(density.edges[1:]).all()


def test_a_wrapped_models_checkpoint_loads_into_the_bare_model(tmp_path, trained):
    # before: keys "module.body..." (DataParallel, DDP) or "_orig_mod.body..." (torch.compile),
    # which load_state_dict refuses on the model itself
    data, model, _ = trained
    for wrapped in (nn.DataParallel(model), torch.compile(model)):
        path = save_checkpoint(tmp_path / "wrapped.pt", wrapped)
        fresh = make_model(data, "mmc", 2, seed=1)
        load_checkpoint(path, fresh)
        for (key, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
            assert torch.equal(a, b), key


def test_tsne_recomputes_a_broken_cache_file_and_refuses_a_file_as_cache_dir(tmp_path):
    # before: a cut-short file in cache_dir raised numpy's error naming no file, and a stored
    # array of another shape was returned as the embedding; a file given as cache_dir failed
    # only after the embedding had been computed
    import numpy as np

    from robviz import embed

    x = np.random.default_rng(7).normal(size=(40, 3))
    first = embed.tsne(x, perplexity=5, n_iter=50, cache_dir=tmp_path)
    (stored,) = tmp_path.glob("*.npy")
    for broken in (stored.read_bytes()[:100], None):
        if broken is None:
            np.save(stored, np.zeros((3, 2), np.float32))  # another shape under this key
        else:
            stored.write_bytes(broken)
        embed.clear_cache()
        again = embed.tsne(x, perplexity=5, n_iter=50, cache_dir=tmp_path)
        np.testing.assert_array_equal(again, first)  # seeded: the same embedding, recomputed
        np.testing.assert_array_equal(np.load(stored), first)  # and the file replaced
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="cache_dir = .*notes.txt' is a file"):
        embed.tsne(x, perplexity=5, n_iter=50, cache_dir=a_file)
    embed.clear_cache()  # other tests embed without a cache to find


def test_fit_trains_on_float64_data_as_on_float32(trained):
    # before: torch's "mat1 and mat2 must have the same dtype, but got Double and Float" for a
    # Dataset built from NumPy float64 arrays
    from robviz.data import Dataset

    data = trained[0]
    wide = Dataset(
        "wide",
        data.x_train.double(),
        data.y_train,
        data.x_test.double(),
        data.y_test,
        3,
        data.bounds,
    )
    runs = []
    for d in (data, wide):
        model = make_model(data, "mmc", 2, seed=0)
        runs.append((model, fit(model, d, steps=5, record_every=1, progress=False)))
    (a, history_a), (b, history_b) = runs
    assert history_a.loss == history_b.loss and len(history_a.loss) == 6
    for (key, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), key
    assert wide.x_train.dtype == torch.float64  # the caller's dataset is left as it was


def test_a_dataset_refuses_inputs_outside_its_bounds_arrays_and_mixed_shapes(trained):
    # before: all three accepted; an attack's first clamp then moved every clean point outside
    # the box, and a NumPy x_train failed later inside torch
    from robviz.data import Dataset

    data = trained[0]
    x, y, xt, yt = data.x_train, data.y_train, data.x_test, data.y_test
    shifted = x.clone()
    shifted[[3, 7], 0] = data.bounds[1] + 0.5
    with pytest.raises(
        ValueError,
        match=r"x_train has values outside bounds .* in 2 of 42 samples, at sample index 3, 7",
    ):
        Dataset("d", shifted, y, xt, yt, 3, data.bounds)
    with pytest.raises(ValueError, match="x_train must be a tensor"):
        Dataset("d", x.numpy(), y, xt, yt, 3, data.bounds)
    with pytest.raises(ValueError, match=r"x_test inputs have shape \(1,\), x_train inputs \(2,\)"):
        Dataset("d", x, y, xt[:, :1], yt, 3, data.bounds)
    pixels = torch.full((4, 1, 2, 2), 255, dtype=torch.uint8)  # raw pixels: to_float's scale
    labels = torch.tensor([0, 1, 0, 1])
    assert Dataset("u8", pixels, labels, pixels, labels, 2, (0.0, 1.0)).x_train.max() == 255


def test_input_regions_refuses_a_model_without_two_logits():
    # before: one logit per input painted the whole plane class 0; a (N, 2, 1) output gave a
    # picture of argmax over the wrong axis
    one = nn.Linear(2, 1)
    with torch.no_grad():
        one.weight.copy_(torch.tensor([[1.0, 0.0]]))  # logit x: class 1 on the right half
        one.bias.zero_()
    for model in (one, lambda x: torch.stack([x, -x], 2)):
        with pytest.raises(
            ValueError, match=r"model must return class logits of shape \(N, L\) with L >= 2"
        ):
            input_regions(model, (-1, 1, -1, 1), 4)
    # the hint's two logits: class 1 exactly where the one logit is > 0
    two = lambda x: torch.cat([torch.zeros(len(x), 1), one(x)], 1)  # noqa: E731
    labels = input_regions(two, (-1, 1, -1, 1), 5).labels
    assert labels.tolist() == [[0, 0, 0, 1, 1]] * 5  # x = -1, -0.5, 0 (a tie: 0), 0.5, 1


def test_fit_objectives_reads_one_string_as_one_name_and_refuses_one_objective_twice():
    # before: "sce" trained 's' (unknown objective 's'), "mmc" was 'm' twice; ["mmc", "MMC"]
    # trained the same objective twice under two keys
    from robviz.train import fit_objectives

    data = gaussian_mixture(num_classes=3, n_per_class=10, seed=0)
    models, histories = fit_objectives(data, "sce", steps=1, progress=False)
    assert list(models) == list(histories) == ["sce"] and histories["sce"].objective == "sce"
    with pytest.raises(ValueError, match="one objective twice, 'mmc' and 'MMC'"):
        fit_objectives(data, ["mmc", "MMC"], steps=1, progress=False)


def test_metadata_a_safe_load_cannot_read_is_refused_before_writing(tmp_path):
    # before: an object or datetime64 array (and a datetime64 scalar) passed plain_metadata, and
    # the checkpoint written could not be read back (weights_only=True refused it)
    import numpy as np

    model = nn.Linear(2, 2)
    path = tmp_path / "c.pt"
    for value in (
        np.array([1, print], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.datetime64("2020-01-01"),
    ):
        with pytest.raises(TypeError, match=r"metadata\['v'\]"):
            save_checkpoint(path, model, v=value)
        assert not path.exists()
    kept = {"a": np.array([[1, 2]], np.int64), "b": np.float32(0.5), "c": np.array([1 + 2j])}
    save_checkpoint(path, model, **kept)
    assert read_checkpoint(path)["metadata"] == {"a": [[1, 2]], "b": 0.5, "c": [1 + 2j]}


def test_region_maps_refuse_logits_that_are_not_finite():
    # before: the NaN half of the plane was painted class 0
    class HalfNaN(torch.nn.Module):
        def forward(self, x):
            logits = torch.zeros(len(x), 2, dtype=x.dtype)
            logits[x[:, 0] > 0.5] = float("nan")
            return logits

    with pytest.raises(ValueError, match=r"not finite at \d+ of 100 grid points"):
        input_regions(HalfNaN(), (0.0, 1.0, 0.0, 1.0), resolution=10)
