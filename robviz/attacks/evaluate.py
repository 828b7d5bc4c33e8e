"""Robust accuracy over attacks x radii, as a tidy table in the layout of the talk's tables.

The talk's white-box table (the MMC paper, ICLR 2020, Table 2) has one row per model and the columns
clean | eps = 8/255: PGD10-tar, PGD10-un, PGD50-tar, PGD50-un | eps = 16/255: the same four.
:func:`talk_battery` builds those attacks and :func:`robust_accuracy` fills one row per model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from .. import checks
from ..models import Predictor
from ..runtime import inference, percent_text, predict
from .base import Attack, AttackResult, lp_norm
from .gradient import PGD
from .objectives import paper_objective

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "TALK_EPS",
    "talk_battery",
    "robust_accuracy",
    "judged_predictions",
    "clean_row",
    "points_fingerprint",
    "RobustnessTable",
]

#: The talk's radii (L-inf). Images in [0, 1]: 8/255 and 16/255. Toy sets (standardized 2-D inputs,
#: where two class means lie about 2 to 3 units apart): 0.25 and 0.5, radii at which an undefended
#: model loses a visible share of its points but not all of them.
TALK_EPS = {"images": (8 / 255, 16 / 255), "toy": (0.25, 0.5)}


def talk_battery(
    model: Predictor,
    kind: str = "images",
    bounds: tuple[float, float] | Dataset | None = None,
    *,
    seed: int = 0,
) -> dict[str, PGD]:
    """Return the talk's white-box battery: PGD with 10 and 50 steps, targeted and untargeted.

    As in the MMC paper, Table 2.

    Every attack is L-inf PGD with a random start, radius ``TALK_EPS[kind][0]`` (8/255 for images,
    0.25 for the toy sets; :func:`robust_accuracy` sweeps both radii of ``TALK_EPS``), and a fixed
    step of a quarter of the first radius (2/255 for images, as the paper; 0.0625 for the toy sets).
    The objective is :func:`~robviz.attacks.objectives.paper_objective` (the MMC loss for MMC
    models: the paper's adaptive attack), so the table is the paper's protocol; measured against the
    exact values on digits, the margin objective that every attack now defaults to
    (:func:`~robviz.attacks.objectives.auto_objective`) finds more. Targeted attacks draw a
    uniformly random target != y with ``seed``, the same for PGD10 and PGD50.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    kind : str
        ``"images"`` (inputs in [0, 1]) or ``"toy"`` (the 2-D sets; give ``bounds``).
    bounds : tuple of float or robviz.data.Dataset or None
        The input range; default (0, 1) for images, required for toy data (``data.bounds``).
    seed : int
        Seeds random starts and targets.

    Returns
    -------
    dict[str, PGD]
        ``{"PGD10-tar": PGD, "PGD10-un": PGD, "PGD50-tar": PGD, "PGD50-un": PGD}``, in the table's
        order.
    """
    checks.model("model", model)
    seed = checks.seed("seed", seed)
    if not isinstance(kind, str) or kind not in TALK_EPS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, TALK_EPS))}, got {kind!r}")
    if bounds is None:
        if kind == "toy":
            raise ValueError("toy inputs are not in [0, 1]: pass bounds=data.bounds")
        bounds = (0.0, 1.0)
    eps = TALK_EPS[kind][0]
    return {
        f"PGD{steps}-{tag}": PGD(
            model,
            eps=eps,
            alpha=eps / 4,
            steps=steps,
            random_start=True,
            targeted=targeted,
            bounds=bounds,
            seed=seed,
            loss=paper_objective(model),
        )
        for steps in (10, 50)
        for tag, targeted in (("tar", True), ("un", False))
    }


def format_eps(eps: float | None) -> str:
    """Format ``eps``: 8/255 for multiples of 1/255 below 1, else the number (``0.25``).

    Parameters
    ----------
    eps : float or None
        The radius.

    Returns
    -------
    str
        The label; empty for None.
    """
    if eps is None:
        return ""
    k = eps * 255
    if 0 < eps < 1 and abs(k - round(k)) < 1e-6:
        return f"{round(k)}/255"
    return f"{eps:g}"


@dataclass
class RobustnessTable:
    """A tidy table of robust accuracies: one row (a dict) per model x attack x radius.

    Row keys: ``model``, ``attack`` (``"clean"`` for the clean accuracy), ``eps`` (None for attacks
    without a radius), ``accuracy`` (fraction in [0, 1]), ``distance`` (mean perturbation norm, in
    the attack's norm, of the samples the attack turned from correct to wrong; NaN if none), ``n``
    (samples) and, in attack rows of :func:`robust_accuracy`, ``failed`` (correctly classified
    samples the attack could not evaluate, a non-finite iterate or output: counted as not robust,
    see :class:`~robviz.attacks.AttackResult`) and ``robust`` (the per-point result, an (n,) bool
    CPU tensor: correct clean and under this attack; the clean row's is the clean correctness) and
    ``points`` (:func:`points_fingerprint` of the inputs and labels measured, a string that JSON
    keeps). :meth:`with_worst_case` combines the ``robust`` of a radius's attacks, and refuses rows
    whose ``points`` differ (rows without ``points``, from older files, are combined unchecked).

    Model labels key the rows, so they are unique: adding a table whose model label is already taken
    renames the newcomer ``"sce #2"``, ``"sce #3"``... (and a table built with one (model, column)
    twice is refused).

    ``to_markdown()`` (also the ``repr``) pivots it into the talk's layout: a row per model, a
    column per attack and radius, accuracies in percent. Tables add up: ``table_sce + table_mmc``.

    Parameters
    ----------
    rows : list of dict
        The rows, with the keys above.

    Raises
    ------
    ValueError
        Two rows with the same model and column.
    """

    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        keys = [(row["model"], _column(row)) for row in self.rows]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(
                f"rows must be unique per model and column, but {repeated[0]} appears more than "
                "once: "
                f"give each model its own name (robust_accuracy(..., name=...))"
            )

    def __add__(self, other: "RobustnessTable") -> "RobustnessTable":
        if not isinstance(other, RobustnessTable):
            return NotImplemented  # Python then raises a TypeError naming both types
        taken = set(self.models)
        renamed = {}
        for model in other.models:
            label, k = model, 1
            while label in taken:
                k += 1
                label = f"{model} #{k}"
            renamed[model] = label
            taken.add(label)
        return RobustnessTable(
            self.rows + [{**row, "model": renamed[row["model"]]} for row in other.rows]
        )

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def models(self) -> list[str]:
        """The model names of the rows, in order of first appearance."""
        return list(dict.fromkeys(row["model"] for row in self.rows))

    @property
    def columns(self) -> list[str]:
        """Column names of the pivoted table, in order.

        ``"clean"``, then ``"PGD10-tar 8/255"``, ...
        """
        return list(dict.fromkeys(_column(row) for row in self.rows))

    def get(
        self,
        attack: str = "clean",
        eps: float | None = None,
        model: str | None = None,
        value: str = "accuracy",
    ) -> float:
        """Return one number: e.g. ``table.get("PGD10-un", 8/255)``.

        Parameters
        ----------
        attack : str
            The attack label (``"clean"`` for the clean accuracy).
        eps : float or None
            The radius (compared with a tolerance of 1e-9); None when ``attack`` has rows at
            one radius only (the clean row, an attack run at its own eps).
        model : str or None
            The model label; needed when the table has several.
        value : str
            The row key to return: ``"accuracy"``, ``"distance"``, ``"n"``, ...

        Returns
        -------
        float
            The value of the first matching row.

        Raises
        ------
        ValueError
            ``model`` is None and the table has several models, or not a model of the table;
            ``eps`` is None and ``attack`` has rows at several radii.
        KeyError
            No row matches (the error lists the columns), or the row has no key ``value``.
        """
        if model is None:
            if len(self.models) != 1:
                raise ValueError(
                    f"the table has several models ({', '.join(self.models)}); pass model="
                )
            model = self.models[0]
        checks.choice("model", model, self.models)
        rows = [r for r in self.rows if r["model"] == model and r["attack"] == attack]
        if eps is None and len({r["eps"] for r in rows}) > 1:
            radii = ", ".join(f"{r['eps']:.4g}" for r in rows if r["eps"] is not None)
            raise ValueError(
                f"{attack!r} has rows at several radii ({radii}) for model {model!r}; pass eps="
            )
        for row in rows:
            same_eps = eps is None or (
                row["eps"] is not None and math.isclose(row["eps"], eps, abs_tol=1e-9)
            )
            if same_eps:
                return row[value]
        raise KeyError(
            f"no row for model={model!r}, attack={attack!r}, eps={eps!r}; columns: {self.columns}"
        )

    def with_worst_case(
        self, attacks: str | Sequence[str] | None = None, label: str = "worst case"
    ) -> "RobustnessTable":
        """Return the table plus, per model and radius, a worst-case row ``label``.

        The row is the worst case over the battery, per point.

        A point counts as robust in it only when it is classified correctly and *every* attack at
        that radius failed on it, so its accuracy is at most the smallest accuracy of any one attack
        (it is lower when the attacks break different points). This is the number to report (Carlini
        et al., "On Evaluating Adversarial Robustness", 2019, https://arxiv.org/abs/1902.06705, Sec.
        5: report the per-example worst case over all attacks); it is still an upper bound on the
        true robust accuracy.

        Parameters
        ----------
        attacks : list of str or None
            The attack labels to combine; None: every attack that has a radius (rows with ``eps``
            None, C&W or DeepFool, have no budget and are left out).
        label : str
            The attack label of the new rows.

        Returns
        -------
        RobustnessTable
            A new table: these rows, then one row per model and radius with ``accuracy``, ``robust``
            (the combined per-point result), ``n``, ``distance`` NaN and ``attacks`` (the labels it
            combined).

        Raises
        ------
        ValueError
            ``attacks`` names no attack of the table; ``label`` is not a non-empty string, or is
            already an attack of the table; a
            row to combine has no per-point ``robust`` (a table not made by :func:`robust_accuracy`,
            or read back from JSON); rows of one model measure different numbers of points, or
            different points (their ``points`` fingerprints differ: the error names the attacks); a
            model lacks one of ``attacks`` at one of its radii.
        """
        names = list(dict.fromkeys(row["attack"] for row in self.rows if row["attack"] != "clean"))
        if not isinstance(label, str) or not label.strip():
            # the label heads the new columns: "" would make them bare radii, "0.25"
            raise ValueError(f"label must be a non-empty string, got {label!r}")
        if label in names or label == "clean":
            raise ValueError(
                f"label {label!r} is already a column of the table: choose another label"
            )
        if attacks is not None:
            attacks = [attacks] if isinstance(attacks, str) else list(attacks)
            unknown = [a for a in attacks if a not in names]
            if unknown or not attacks:
                raise ValueError(
                    f"attacks must name attacks of the table ({', '.join(names)}), got {attacks!r}"
                )
        groups: dict[tuple, list[dict]] = {}
        for row in self.rows:
            if (
                row["attack"] == "clean"
                or row["eps"] is None
                or (attacks is not None and row["attack"] not in attacks)
            ):
                continue
            key = next(
                (
                    k
                    for k in groups
                    if k[0] == row["model"] and math.isclose(k[1], row["eps"], abs_tol=1e-9)
                ),
                (row["model"], row["eps"]),
            )
            groups.setdefault(key, []).append(row)
        if not groups:
            raise ValueError(
                "no attack with a radius to combine: with_worst_case needs rows with an eps"
            )
        added = []
        for (model, eps), rows in groups.items():
            missing = [row["attack"] for row in rows if row.get("robust") is None]
            if missing:
                raise ValueError(
                    f"rows of {model!r} at eps={eps:g} have no per-point result 'robust' "
                    f"({', '.join(missing)}): build the table with robust_accuracy"
                )
            if len({len(row["robust"]) for row in rows}) != 1:
                raise ValueError(
                    f"the rows of {model!r} at eps={eps:g} measure different numbers of points: "
                    "the worst case needs the same points under every attack"
                )
            points = same_points(rows, f"{model!r} at eps={eps:g}")
            absent = [a for a in attacks or () if a not in {row["attack"] for row in rows}]
            if absent:
                # a worst case over fewer attacks reads higher, under the same label as the others
                raise ValueError(
                    f"{model!r} has no row of {', '.join(map(repr, absent))} at eps={eps:g}: the "
                    "worst case over attacks= needs each of them at each radius of each model"
                )
            robust = torch.stack([row["robust"] for row in rows]).all(dim=0)
            added.append(
                dict(
                    model=model,
                    attack=label,
                    eps=eps,
                    accuracy=robust.float().mean().item(),
                    distance=math.nan,
                    n=len(robust),
                    robust=robust,
                    attacks=[row["attack"] for row in rows],
                    **({} if points is None else {"points": points}),
                )
            )
        return RobustnessTable(self.rows + added)

    def pivot(self, value: str = "accuracy") -> tuple[list[str], list[str], list[list[float]]]:
        """Return (models, columns, values) in the talk's layout; accuracies in percent.

        Ready for ``robviz.viz.attacks.robustness_heatmap(*table.pivot())``.

        Parameters
        ----------
        value : str
            The row key shown: ``"accuracy"`` (scaled to percent) or another numeric key, e.g.
            ``"distance"`` (unscaled).

        Returns
        -------
        models : list of str
            The row labels (M,).
        columns : list of str
            The column labels (C,).
        values : list of list of float
            (M, C) values; NaN where a cell is empty or its row has no ``value`` (``"failed"`` in
            the clean row).

        Raises
        ------
        ValueError
            ``value`` is a key of no row (a misspelt key would otherwise give a table of blanks).
        """
        keys = list(dict.fromkeys(k for row in self.rows for k in row))
        numeric = [
            k for k in keys if k not in ("model", "attack", "eps", "robust", "attacks", "points")
        ]
        if self.rows:
            checks.choice("value", value, numeric)
        scale = 100.0 if value == "accuracy" else 1.0
        cells = {
            (row["model"], _column(row)): scale * row[value] for row in self.rows if value in row
        }
        columns = self.columns
        return (
            self.models,
            columns,
            [[cells.get((m, c), math.nan) for c in columns] for m in self.models],
        )

    def to_markdown(self, value: str = "accuracy", digits: int = 1) -> str:
        """Return the table in the talk's layout as Markdown (accuracy in percent).

        Parameters
        ----------
        value : str
            The row key shown: ``"accuracy"`` or ``"distance"`` for mean norms.
        digits : int
            Decimals, >= 0; at least 3 for any value other than ``"accuracy"``.

        Returns
        -------
        str
            A Markdown table, a row per model and a column per attack and radius; empty cells blank.

        Raises
        ------
        ValueError
            ``value`` is a key of no row (see :meth:`pivot`); ``digits`` not an integer >= 0.
        """
        digits = checks.integer("digits", digits, low=0)
        models, columns, values = self.pivot(value)
        digits = digits if value == "accuracy" else max(digits, 3)
        lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for model, row in zip(models, values):
            lines.append(
                f"| {model} | "
                + " | ".join(
                    ""
                    if v != v
                    else percent_text(v, digits)
                    if value == "accuracy"
                    else f"{v:.{digits}f}"
                    for v in row
                )
                + " |"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_markdown() if self.rows else "RobustnessTable(rows=[])"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def points_fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    """Return a short fingerprint of the points ``(x, y)``: which inputs and labels were measured.

    The first 16 hex digits of the SHA-256 of the inputs' shape, their values as float64 and the
    labels as int64, so the same points in float32 or float64, on any device, in any memory layout,
    give the same fingerprint, and any other inputs or labels (almost surely) another. Rows that a
    per-point comparison pairs (:meth:`RobustnessTable.with_worst_case`,
    :func:`~robviz.attacks.battery_sanity`) must carry the same one.

    Parameters
    ----------
    x : torch.Tensor
        Inputs (N, ...).
    y : torch.Tensor
        Labels (N,).

    Returns
    -------
    str
        16 lowercase hex digits.
    """
    digest = hashlib.sha256(repr(tuple(x.shape)).encode())
    # in chunks: a float64 copy of 10 000 CIFAR images at once would take 250 MB
    for start in range(0, len(x), 1024):
        chunk = x[start : start + 1024].detach().to("cpu", torch.float64).contiguous()
        digest.update(chunk.numpy().tobytes())
    digest.update(y.detach().to("cpu", torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def same_points(rows: Sequence[dict], where: str) -> str | None:
    """Return the ``points`` fingerprint that ``rows`` share, refusing rows that measured others.

    Rows without ``points`` (older files, rows made by hand) are not checked.

    Parameters
    ----------
    rows : sequence of dict
        Rows of a :class:`RobustnessTable` that a per-point comparison pairs.
    where : str
        What the rows are, for the error (``"'sce' at eps=0.25"``).

    Returns
    -------
    str or None
        The shared fingerprint; None when no row has one.

    Raises
    ------
    ValueError
        Two rows carry different fingerprints: the error names their attacks.
    """
    prints = {row["points"]: row["attack"] for row in rows if row.get("points") is not None}
    if len(prints) > 1:
        named = ", ".join(
            f"{row['attack']!r} ({row['points']})" for row in rows if row.get("points") is not None
        )
        raise ValueError(
            f"the rows of {where} measured different points: {named}; a per-point comparison "
            "needs every attack run on the same x and y"
        )
    return next(iter(prints), None)


def _column(row: dict) -> str:
    return (
        row["attack"]
        if row["attack"] == "clean"
        else f"{row['attack']} {format_eps(row['eps'])}".strip()
    )


def _check_attacks(attacks: object) -> None:
    """Refuse what is not ``{label: Attack}``, and labels that cannot head a column."""
    if not isinstance(attacks, Mapping):
        raise TypeError(
            f"attacks must be a mapping {{label: Attack}}, got {type(attacks).__name__}: e.g. "
            '{"PGD": PGD(model, ...)}'
        )
    for label, attack in attacks.items():
        if not isinstance(attack, Attack):
            raise TypeError(
                f"attacks[{label!r}] must be a robviz Attack, got {type(attack).__name__}"
            )
        if not isinstance(label, str) or not label.strip() or label == "clean":
            # "clean" is the clean row's column; "" would leave a bare radius as the column
            raise ValueError(
                f"attacks must be labelled by non-empty strings other than 'clean', got {label!r}"
            )


def _radii(eps_list: object) -> list[float]:
    """Return ``eps_list`` as floats, each finite and >= 0, no two of them one column."""
    radii = [
        checks.real("eps_list", eps, low=0)
        for eps in checks.sequence("eps_list", eps_list, "radii, e.g. [8/255, 16/255]")
    ]
    if not radii:
        raise ValueError(
            "eps_list is empty: give at least one radius (None: each attack's own eps)"
        )
    labels = [format_eps(eps) for eps in radii]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        # each radius is one column of the table: a repeat would run every attack twice, then fail
        raise ValueError(
            f"eps_list repeats the radius {repeated[0]} (radii {labels}): give each radius once"
        )
    return radii


def clean_row(model: Predictor, x: torch.Tensor, y: torch.Tensor, name: str) -> dict:
    """Return the ``"clean"`` row of a :class:`RobustnessTable`: the accuracy on ``x`` itself.

    The row every attack's row is read against (:func:`robust_accuracy` starts with it).

    Parameters
    ----------
    model : torch.nn.Module or callable
        The classifier, x -> logits (N, L); evaluated in eval mode, in batches.
    x : torch.Tensor
        Inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    name : str
        The model's label in the table.

    Returns
    -------
    dict
        ``model``, ``attack="clean"``, ``eps=None``, ``accuracy``, ``distance=nan``, ``n``,
        ``robust``, the (N,) bool mask of correct predictions on the CPU, and ``points``, the
        :func:`points_fingerprint` of ``(x, y)``.

    Raises
    ------
    ValueError
        ``x`` not a finite, non-empty tensor; ``y`` not one label per input in [0, L); a
        ``model`` whose output is not (N, L) logits with L >= 2 (:func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    checks.finite_inputs("x", x, tensor=True)
    logits = checks.logits("model", inference(model, x, batch_size=1024))
    y = checks.labels("y", y, len(x), num_classes=logits.shape[1])
    correct = predict(logits).to(x.device) == y.to(x.device)
    return dict(
        model=name,
        attack="clean",
        eps=None,
        accuracy=correct.float().mean().item(),
        distance=math.nan,
        n=len(x),
        robust=correct.cpu(),
        points=points_fingerprint(x, y),
    )


def judged_predictions(
    model: Predictor, attack: Attack, result: AttackResult
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``model``'s predictions on an attack's examples, and which of them failed.

    An attack built on ``model`` already predicted its examples with it (``result.prediction``).
    One built on another model (a surrogate, or a wrapper such as ``EOT(model)``) is a transfer
    attack: its result carries that other model's predictions, so the examples are predicted
    again by ``model``, the model being judged. Every robustness count of robviz reads them here.

    Parameters
    ----------
    model : Predictor
        The model being judged.
    attack : Attack
        The attack that produced ``result`` (its ``model`` says whose predictions it holds).
    result : AttackResult
        ``attack.run(x, y)``.

    Returns
    -------
    prediction : torch.Tensor
        (N,) long, ``model``'s class for each adversarial example (-1 where its output is not
        finite), on the device of ``result.x``.
    failed : torch.Tensor
        (N,) bool, samples whose iterate or output was not finite: never robust, never broken.

    Raises
    ------
    TypeError
        ``model`` not a model, ``attack`` not an :class:`Attack`, ``result`` not an
        :class:`AttackResult`.
    """
    model = checks.model("model", model)
    if not isinstance(attack, Attack):
        raise TypeError(f"attack must be a robviz Attack, got {type(attack).__name__}")
    if not isinstance(result, AttackResult):
        raise TypeError(
            f"result must be an AttackResult (attack.run(x, y)), got {type(result).__name__}"
        )
    failed = torch.zeros_like(result.success) if result.failed is None else result.failed
    if attack.model is model:
        return result.prediction, failed
    prediction = predict(inference(model, result.x_adv)).to(result.x.device)
    return prediction, failed | (prediction < 0)


def robust_accuracy(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: Mapping[str, Attack] | None = None,
    *,
    eps_list: Sequence[float] | None = None,
    name: str | None = None,
    kind: str | None = None,
    bounds: tuple[float, float] | Dataset | None = None,
    progress: bool = True,
) -> RobustnessTable:
    """Robust accuracy of ``model`` on (x, y) under every attack at every radius.

    One row of the talk's table.

    A sample counts as robust when the model classifies it correctly both clean and under the
    attack, so every robust accuracy is at most the clean accuracy. For a targeted attack the
    prediction must still be y (not merely differ from the target), the accuracy the MMC authors'
    code reports. An attack built on another model (a surrogate, or a wrapper such as
    ``EOT(model)``) is a transfer attack: its adversarial examples are judged by ``model``'s own
    predictions, never by those of the model the attack was built on.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (``model(x)`` -> logits).
    x, y : torch.Tensor
        Inputs (N, ...) and labels (N,).
    attacks : Mapping[str, Attack] or None
        ``{name: Attack}``, each built on ``model`` for a white-box row (one built on another
        model gives that attack's transfer accuracy). None: :func:`talk_battery` (PGD10/PGD50,
        targeted/untargeted).
    eps_list : sequence of float or None
        Radii; every attack that has an ``eps`` is run at each (``attack.with_eps(eps)``), attacks
        without one (C&W, DeepFool, JSMA) once. None: the talk's radii ``TALK_EPS[kind]`` for the
        default battery, each attack's own eps otherwise.
    name : str or None
        The row label; default the model's objective name (``"sce"``, ``"mmc"``...) or its class.
    kind : str or None
        ``"images"`` or ``"toy"``; default ``"images"`` for 4-D inputs, else ``"toy"``.
    bounds : tuple of float or robviz.data.Dataset or None
        Input range for the default battery (``data.bounds`` for toy data).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    RobustnessTable
        A :class:`RobustnessTable`; print it for the talk's layout, add tables of several models
        with ``+``; ``table.with_worst_case()`` adds the worst case over the attacks per point and
        radius, and :func:`~robviz.attacks.battery_sanity` checks that the multi-step attacks beat
        the one-step one.

    Raises
    ------
    ValueError
        x empty or non-finite, y not one integer label per input or outside the model's classes
        [0, L) (naming the sample index), attacks or eps_list empty; an attack labelled
        ``"clean"`` or not by a non-empty string; a radius of ``eps_list`` negative, not finite, or
        repeated (two radii that make one column, such as 0.25 twice); ``kind`` unknown; a
        ``model`` whose output is not (N, L) logits with L >= 2 (:func:`robviz.checks.logits`).
        All before any attack runs.
    TypeError
        ``attacks`` not a mapping of :class:`Attack`; ``eps_list`` not a sequence of numbers (a
        single radius is ``[0.25]``).

    Examples
    --------
    >>> table = robust_accuracy(model, x, y, bounds=data.bounds, name="SCE", progress=False)
    >>> robust = table.get("PGD10-un", 8/255)          # a share of x, in [0, 1]: an upper bound
    """
    checks.model("model", model)
    from tqdm.auto import tqdm

    progress = checks.flag("progress", progress)
    checks.finite_inputs("x", x, tensor=True)
    y = checks.labels("y", y, len(x))
    if kind is not None:
        checks.choice("kind", kind, TALK_EPS)
    kind = kind or ("images" if x.dim() == 4 else "toy")
    if attacks is None:
        attacks = talk_battery(model, kind, bounds)
        eps_list = TALK_EPS[kind] if eps_list is None else eps_list
    if len(attacks) == 0:
        raise ValueError(
            "attacks is empty: give at least one {name: Attack} (None: the talk's battery)"
        )
    _check_attacks(attacks)
    if eps_list is not None:
        eps_list = _radii(eps_list)
    if name is None:
        name = getattr(getattr(model, "objective", None), "name", None) or type(model).__name__
    rows = [clean_row(model, x, y, name)]
    y = y.to(x.device)
    correct = rows[0]["robust"].to(x.device)
    n = len(x)
    jobs = []
    for index, eps in enumerate([None] if eps_list is None else list(eps_list)):
        for label, attack in attacks.items():
            if eps is not None and hasattr(attack, "eps"):
                jobs.append((label, attack.with_eps(eps)))
            elif index == 0:
                jobs.append((label, attack))
    for label, attack in tqdm(
        jobs, desc=f"robust accuracy {name}", disable=not progress, leave=False
    ):
        result = attack.run(x, y)
        prediction, failed = judged_predictions(model, attack, result)
        robust = correct & (prediction == y) & ~failed  # a failed sample is never robust
        broken = correct & (prediction != y) & ~failed
        norms = lp_norm(result.x_adv - x, attack.norm)[broken]
        rows.append(
            dict(
                model=name,
                attack=label,
                eps=getattr(attack, "eps", None),
                accuracy=robust.float().mean().item(),
                distance=norms.mean().item() if len(norms) else math.nan,
                n=n,
                failed=int((correct & failed).sum()),
                robust=robust.cpu(),
                points=rows[0]["points"],  # hashed once, by clean_row
            )
        )
    return RobustnessTable(rows)
