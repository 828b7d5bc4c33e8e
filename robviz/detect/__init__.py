"""Detecting adversarial examples: scores with one interface, the ROC/AUC protocol of the RCE paper.

Every detector maps a batch of inputs to one score per input, **higher = more normal** (as in the
authors' AUC code: clean inputs are the positive class). A detector is anything callable as
``detector(model, x)`` returning a NumPy array (N,):

| detector | score | paper |
|---|---|---|
| :func:`confidence` | max_k softmax(model(x))_k | Hendrycks & Gimpel, ICLR 2017 (baseline) |
| :func:`non_max_entropy_score` | non-ME of softmax(model(x)) | Pang et al., NeurIPS 2018 |
| :class:`KernelDensity` | log Gaussian KDE of the feature, predicted class | Feinman et al. 2017 |
| :class:`LID` | minus the local intrinsic dimensionality of the feature | Ma et al., ICLR 2018 |

``model(x)`` returns the logits whose argmax is the prediction (for RCE the *negated* logits, see
``robviz.models``), so no detector special-cases an objective. Evaluation (:func:`detection_pairs`,
:func:`roc_auc`, :func:`roc_curve`) follows the RCE paper: only the test images that are classified
correctly *and* whose attack succeeded enter, once clean (label 1) and once adversarial (label 0).

The wing's modules: :mod:`robviz.detect.scores` (the scores above, the pair protocol, ROC/AUC;
re-exported here) and :mod:`robviz.detect.study` (every detector against every attack, per model:
:func:`detection_study`).
"""

from .scores import (
    KD_BANDWIDTH,
    LID,
    DetectionPairs,
    KernelDensity,
    auc_standard_error,
    confidence,
    detection_pairs,
    detection_scores,
    kd_bandwidth,
    lid_mle,
    max_non_me_lines,
    non_max_entropy,
    non_max_entropy_logits,
    non_max_entropy_score,
    non_me_domain,
    roc_auc,
    roc_curve,
)
from .study import DetectionStudy, default_detectors, detection_study

__all__ = [
    "confidence",
    "non_max_entropy",
    "non_max_entropy_logits",
    "non_max_entropy_score",
    "KernelDensity",
    "LID",
    "lid_mle",
    "kd_bandwidth",
    "detection_pairs",
    "DetectionPairs",
    "roc_auc",
    "auc_standard_error",
    "roc_curve",
    "detection_scores",
    "KD_BANDWIDTH",
    "non_me_domain",
    "max_non_me_lines",
    "default_detectors",
    "detection_study",
    "DetectionStudy",
]
