"""Detectors refuse logits given as probabilities, and models or references they cannot use."""

import math

import numpy as np
import pytest
import torch

from robviz import detect


def test_non_max_entropy_refuses_rows_that_are_not_probabilities():
    # positive logits passed as probabilities: before, scored 0.673 (the non-ME of 2/5, 3/5)
    # where the softmax of the logits scores 0.582
    logits = np.array([[1.0, 0.5, 0.2], [2.0, 3.0, 5.0]])
    with pytest.raises(
        ValueError, match=r"sum to 1 in each row, got 1 of 2 rows .* index 1 \(sums 10\)"
    ):
        detect.non_max_entropy(
            np.vstack([np.exp(logits[:1]) / np.exp(logits[:1]).sum(), logits[1:]])
        )
    p = torch.softmax(torch.tensor(logits), dim=1)
    assert detect.non_max_entropy(p)[1] == pytest.approx(0.5822031, abs=1e-6)
    np.testing.assert_allclose(
        detect.non_max_entropy(p), detect.non_max_entropy_logits(logits), rtol=1e-12
    )
    # probabilities rounded to float16 still sum to 1 within the tolerance
    half = torch.softmax(torch.randn(6, 10), dim=1).half()
    assert detect.non_max_entropy(half).shape == (6,)


def test_lid_refuses_a_reference_that_is_not_a_tensor():
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="reference must be"):
        detect.lid_mle(z, np.zeros((30, 2)), k=5)  # before: an AttributeError
    assert math.isfinite(float(detect.lid_mle(torch.randn(3, 2), torch.randn(30, 2), k=5)[0]))


def test_fitting_a_detector_on_a_model_without_features_names_the_model():
    plain = torch.nn.Linear(2, 3)
    x, y = torch.randn(40, 2), torch.arange(40) % 3
    with pytest.raises(TypeError, match="model must be a robviz model with"):
        detect.LID(k=3, reference_size=10).fit(plain, x)
    with pytest.raises(TypeError, match="model must be a robviz model with"):
        detect.KernelDensity().fit(plain, x, y)


def test_kernel_density_fits_on_labels_held_in_numpy(trained_blobs):
    data, model = trained_blobs(3)
    kd = detect.KernelDensity(points_per_class=20)
    a = kd.fit(model, data.x_train, data.y_train.numpy()).score(model, data.x_test[:5])
    b = kd.fit(model, data.x_train, data.y_train).score(model, data.x_test[:5])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("detector", ["confidence", "KernelDensity", "LID"])
def test_a_finite_input_that_overflows_the_model_is_refused_not_scored_nan(trained_blobs, detector):
    # x = 1e38 is finite, but the model's features and logits at it are not: before, confidence
    # and log KD came back NaN for that sample, beside ordinary scores
    data, model = trained_blobs(3)
    x = data.x_test[:4].clone()
    x[1] = 1e38
    score = {
        "confidence": lambda: detect.confidence,
        "KernelDensity": lambda: detect.KernelDensity(points_per_class=10).fit(
            model, data.x_train, data.y_train
        ),
        "LID": lambda: detect.LID(k=3, reference_size=20).fit(model, data.x_train),
    }[detector]()
    with pytest.raises(ValueError, match=r"non-finite values .* at sample index 1"):
        score(model, x)
    assert np.isfinite(score(model, x[[0, 2, 3]])).all()


def test_pairs_refuse_a_result_of_other_points_of_the_same_count(trained_blobs):
    # before: clean point i was paired with the adversarial example of another point, and the
    # AUC computed from the mismatch
    from robviz.attacks import PGD

    data, model = trained_blobs(3)
    x, y = data.x_test[:20], data.y_test[:20]
    attack = PGD(model, eps=0.5, steps=3, bounds=data.bounds)
    other = attack.run(data.x_test[20:40], data.y_test[20:40])
    with pytest.raises(ValueError, match=r"result must be the attack's result on x and y"):
        detect.detection_pairs(model, x, y, other)
    with pytest.raises(ValueError, match=r"differ at 1 of 20 samples \(sample index 3\)"):
        shifted = y.clone()
        shifted[3] = (shifted[3] + 1) % 3
        detect.detection_pairs(model, x, shifted, attack.run(x, y))
    with pytest.raises(ValueError, match="result must be the attack's result on x and y"):
        detect.detection_scores({"confidence": detect.confidence}, model, x, y, other)
    # the result of these points, given in float64, pairs
    pairs = detect.detection_pairs(model, x.double(), y, attack.run(x, y))
    assert pairs.pairs.shape == (20,)


def test_the_study_refuses_results_of_a_model_it_was_not_given(trained_blobs):
    # before: a KeyError 'rce' after the detectors of every given model were fitted
    from robviz.attacks import FGSM
    from robviz.detect.study import detection_study

    data, model = trained_blobs(3)
    x, y = data.x_test[:20], data.y_test[:20]
    result = FGSM(model, eps=0.5, bounds=data.bounds).run(x, y)
    with pytest.raises(ValueError, match=r"results name models \['rce'\] that are not keys"):
        detection_study({"sce": model}, data, x, y, {"FGSM": {"rce": result}})
