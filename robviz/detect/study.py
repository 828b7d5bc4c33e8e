"""The RCE paper's detection study: every detector against every attack, for several models.

Used in lesson 5.

``robviz.detect`` scores one detector on one attack; :func:`detection_study` runs the whole grid the
paper tabulates (Pang et al., NeurIPS 2018, Table 2): per attack and model, the pairs of correctly
classified clean inputs whose attack succeeded, each detector's AUC on them, and the ROC curves the
viz draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import checks
from ..data import Dataset, check_dataset
from ..models import Classifier
from . import scores as detect  # the scores, by their wing-wide names

__all__ = ["default_detectors", "detection_study", "DetectionStudy"]


def default_detectors(model: Classifier, data: Dataset) -> dict:
    """Return the four detectors of the talk, fitted to ``model`` on ``data``'s training set.

    Their scores: higher = more normal.

    Parameters
    ----------
    model : Classifier
        The classifier, with ``features`` and ``objective`` (its name picks the K-density bandwidth:
        ``rce``, ``sce`` or ``ce``).
    data : robviz.data.Dataset
        Its ``x_train``, ``y_train`` fit K-density and LID.

    Returns
    -------
    dict
        ``{"Confidence", "non-ME", "K-density", "LID"}`` -> ``detector(model, x) -> (N,)`` scores;
        K-density (one kernel per class, the authors' bandwidth) and LID (k = 20) are fitted on
        ``data.x_train``.

    Raises
    ------
    TypeError
        ``data`` not a :class:`~robviz.data.Dataset`.
    ValueError
        No default K-density bandwidth for the model's objective (see
        :func:`~robviz.detect.scores.kd_bandwidth`).
    """
    checks.model("model", model, needs=("objective",))
    data = check_dataset("data", data)
    return {
        "Confidence": detect.confidence,
        "non-ME": detect.non_max_entropy_score,
        "K-density": detect.KernelDensity().fit(model, data.x_train, data.y_train),
        "LID": detect.LID(k=20).fit(model, data.x_train),
    }


def _short(name: str) -> str:
    """Return a model's label in the curves: the papers' "RCE" and "CE", else its own name.

    A name, not "CE" for every model but ``"rce"``: a third model would replace the CE curves.
    """
    return {"rce": "RCE", "sce": "CE"}.get(name, name)


@dataclass
class DetectionStudy:
    """What :func:`detection_study` measured.

    Attributes
    ----------
    aucs : dict
        ``aucs[attack][model][detector]``, the AUC (clean = positive) or NaN where the attack left
        fewer than ``min_pairs`` pairs; the layout ``robviz.viz.detection_table`` draws.
    curves : dict
        ``curves[attack]["CE · non-ME"] = (fpr, tpr, auc)`` for every scored pair: ``"RCE · ..."``
        for the model named ``"rce"``, ``"CE · ..."`` for ``"sce"``, the model's own name for any
        other; the layout ``robviz.viz.roc_figure`` draws.
    pairs : dict
        ``pairs[attack, model]``, the number of (clean, adversarial) pairs that entered.
    min_pairs : int
        The fewest pairs an AUC was computed from.
    """

    aucs: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)
    min_pairs: int = 10

    def compare(
        self, detector: str, model: str = "rce", baseline: str = "sce"
    ) -> tuple[list[str], list[str]]:
        """Return two lists of attacks, compared on the AUC of ``detector``.

        Parameters
        ----------
        detector : str
            The detector's name, a key of the AUC tables.
        model : str
            The model compared.
        baseline : str
            The model it is compared with.

        Returns
        -------
        both : list of str
            The attacks where both models have a finite AUC for ``detector``.
        better : list of str
            Those of them where ``model``'s AUC is higher than ``baseline``'s.

        Raises
        ------
        ValueError
            ``detector``, ``model`` or ``baseline`` is not in the AUC tables (a misspelt name would
            otherwise compare nothing), or ``model`` equals ``baseline``.
        """
        self._check_names(detector, model, baseline)
        both = [
            a
            for a in self.aucs
            if all(
                np.isfinite(self.aucs[a].get(o, {}).get(detector, math.nan))
                for o in (baseline, model)
            )
        ]
        return both, [
            a for a in both if self.aucs[a][model][detector] > self.aucs[a][baseline][detector]
        ]

    def _check_names(self, detector: str, model: str, baseline: str) -> None:
        """Raise a ``ValueError`` unless the names are a detector and two models of the tables."""
        models = list(dict.fromkeys(o for a in self.aucs for o in self.aucs[a]))
        detectors = list(
            dict.fromkeys(d for a in self.aucs for o in self.aucs[a] for d in self.aucs[a][o])
        )
        checks.choice("detector", detector, detectors)
        checks.choice("model", model, models)
        checks.choice("baseline", baseline, models)
        if model == baseline:
            raise ValueError(f"model and baseline are both {model!r}: compare two models")

    def verdicts(
        self, detector: str, model: str = "rce", baseline: str = "sce", z: float = 2.0
    ) -> dict[str, str]:
        """Return, per attack where both have an AUC, which model's ``detector`` AUC is higher.

        Higher means by more than ``z`` standard errors of the difference, each AUC's from
        :func:`~robviz.detect.scores.auc_standard_error` with its pair count, the two treated as
        independent: a few dozen pairs make a single AUC noisy, and "higher" by any amount would
        call noise a win.

        Parameters
        ----------
        detector : str
            The detector's name, a key of the AUC tables.
        model, baseline : str
            The two models compared.
        z : float
            How many standard errors of the difference count as a difference, > 0.

        Returns
        -------
        dict
            ``{attack: model, baseline or "within {z:g} SE"}``, in the order of the attacks.

        Raises
        ------
        ValueError
            ``z`` not > 0; a name not in the AUC tables (see :meth:`compare`).
        """
        z = checks.real("z", z, low=0, low_open=True)
        both, _ = self.compare(detector, model, baseline)
        out = {}
        for attack in both:
            auc = {name: self.aucs[attack][name][detector] for name in (model, baseline)}
            se = math.hypot(
                *(
                    detect.auc_standard_error(auc[n], self.pairs[attack, n], self.pairs[attack, n])
                    for n in auc
                )
            )
            difference = auc[model] - auc[baseline]
            out[attack] = (
                model
                if difference > z * se
                else baseline
                if difference < -z * se
                else f"within {z:g} SE"
            )
        return out


def detection_study(
    models: dict,
    data: Dataset,
    x: torch.Tensor,
    y: torch.Tensor,
    results: dict,
    *,
    detectors: Callable[[Classifier, Dataset], dict] = default_detectors,
    min_pairs: int = 10,
) -> DetectionStudy:
    """Score every attack's pairs with every detector, per model, as in the RCE paper.

    Parameters
    ----------
    models : dict
        Name -> classifier, e.g. ``{"sce": ..., "rce": ...}``.
    data : robviz.data.Dataset
        The :class:`~robviz.data.Dataset` the detectors are fitted on (its training split).
    x, y
        The (N, ...) clean inputs and (N,) labels every attack ran on.
    results : dict
        ``results[attack][model]``, the :class:`~robviz.attacks.AttackResult` of that attack on that
        model.
    detectors : callable
        ``detectors(model, data) -> {name: detector}``, called once per model; default
        :func:`default_detectors`.
    min_pairs : int
        Attacks that leave fewer pairs get NaN AUCs and no curve (too few to rank).

    Returns
    -------
    DetectionStudy
        A :class:`DetectionStudy` (AUCs, ROC curves and pair counts).

    Raises
    ------
    ValueError
        ``min_pairs`` below 1; ``results`` names a model that ``models`` lacks (checked before any
        detector is fitted); a result of other points than ``x`` and ``y`` (see
        :func:`~robviz.detect.scores.detection_pairs`).
    """
    min_pairs = checks.integer("min_pairs", min_pairs, low=1)
    unknown = sorted({name for per_model in results.values() for name in per_model} - set(models))
    if unknown:
        raise ValueError(
            f"results name models {unknown} that are not keys of models "
            f"({', '.join(map(repr, models))}): results[attack][model] must use the same names"
        )
    study = DetectionStudy(min_pairs=min_pairs)
    fitted = {name: detectors(model, data) for name, model in models.items()}
    for attack, per_model in results.items():
        study.aucs[attack], study.curves[attack] = {}, {}
        for name, result in per_model.items():
            scores = detect.detection_scores(fitted[name], models[name], x, y, result)
            count = len(next(iter(scores.values()))[0])  # every detector scores the same pairs
            study.pairs[attack, name] = count
            study.aucs[attack][name] = {}
            for detector, (clean, adversarial) in scores.items():
                if count < min_pairs:
                    study.aucs[attack][name][detector] = math.nan
                    continue
                auc = detect.roc_auc(clean, adversarial)
                study.aucs[attack][name][detector] = auc
                fpr, tpr, _ = detect.roc_curve(clean, adversarial)
                study.curves[attack][f"{_short(name)} · {detector}"] = (fpr, tpr, auc)
    return study
