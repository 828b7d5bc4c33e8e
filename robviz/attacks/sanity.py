"""Sanity of an attack battery: a multi-step attack must beat or match its one-step counterpart.

Carlini et al., "On Evaluating Adversarial Robustness" (2019, https://arxiv.org/abs/1902.06705),
checklist: "verify iterative attacks perform better than single-step attacks". PGD or BIM start from
(or pass through) the fast-gradient step and then climb the loss further, so on the same points and
at the same radius they should leave at most as many points correctly classified as FGSM. When they
leave more, the iterative attack is broken or badly tuned (step size, steps, a saturated loss) or
the model masks its gradients: its number is then no evidence of robustness, and a comparison of
defenses that rests on it says nothing.

:func:`battery_sanity` reads a :class:`~robviz.attacks.RobustnessTable` and flags every such case;
the number a lesson reports is then the worst case over the battery, per point,
:meth:`RobustnessTable.with_worst_case <robviz.attacks.RobustnessTable.with_worst_case>`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import checks
from ..runtime import percent_text
from .evaluate import RobustnessTable, format_eps, same_points

__all__ = ["BatteryCheck", "battery_sanity"]


@dataclass
class BatteryCheck:
    """The result of :func:`battery_sanity`.

    ``flags`` holds one dict per (model, radius, multi-step attack) that left more points correct
    than the one-step attack: ``model``, ``eps``, ``attack``, ``one_step``, ``accuracy`` and
    ``one_step_accuracy`` (fractions), and ``points``: how many points the multi-step attack left
    correct that the one-step attack broke (None when the table has no per-point results).
    ``looks_weak`` is True when there is any flag; ``verdict`` says it in one line per flag.
    ``compared`` counts the (model, radius, attack) pairs checked.
    """

    flags: list[dict] = field(default_factory=list)
    compared: int = 0
    looks_weak: bool = False
    verdict: str = ""


def battery_sanity(
    table: RobustnessTable,
    one_step: str = "FGSM",
    multi_step: str | Sequence[str] | None = None,
    *,
    tolerance: float = 0.0,
) -> BatteryCheck:
    """Flag every multi-step attack that leaves more points correct than the one-step attack.

    Compared at the same model and radius.

    Parameters
    ----------
    table : RobustnessTable
        Robust accuracies of one or more models (:func:`~robviz.attacks.robust_accuracy`), every
        attack run on the same points.
    one_step : str
        The label of the one-step attack (FGSM) in the table.
    multi_step : str or list of str or None
        Labels of the multi-step attacks to check (a string or a list); None: every other attack
        with a radius.
    tolerance : float
        How many accuracy points (a fraction, e.g. 0.01) a multi-step attack may stay above the
        one-step one before it is flagged. Default 0: on the same points, any excess is a real
        difference (random starts aside).

    Returns
    -------
    BatteryCheck
        A :class:`BatteryCheck`: the flags, ``looks_weak`` and a one-line ``verdict`` per flag. No
        flag is no proof that the attacks are strong: it only says this check found nothing.

    Raises
    ------
    ValueError
        ``one_step`` or a ``multi_step`` label is not an attack of the table, or ``one_step`` has no
        row with a radius; ``tolerance`` is negative or not finite; the two rows compared measure
        different numbers of points, or different points (their ``points`` fingerprints differ).
    """
    tolerance = checks.real("tolerance", tolerance, low=0.0)
    names = list(dict.fromkeys(row["attack"] for row in table.rows if row["attack"] != "clean"))
    if one_step not in names:
        raise ValueError(
            f"one_step must be an attack of the table ({', '.join(names) or 'none'}), got "
            f"{one_step!r}"
        )
    if multi_step is None:
        multi = [name for name in names if name != one_step]
    else:
        multi = [multi_step] if isinstance(multi_step, str) else list(multi_step)
        unknown = [name for name in multi if name not in names or name == one_step]
        if unknown or not multi:
            raise ValueError(
                f"multi_step must name attacks of the table other than one_step "
                f"({', '.join(n for n in names if n != one_step)}), got {multi_step!r}"
            )
    reference = [row for row in table.rows if row["attack"] == one_step and row["eps"] is not None]
    if not reference:
        raise ValueError(
            f"one_step={one_step!r} has no row with a radius: the check compares attacks at one eps"
        )
    check = BatteryCheck()
    lines = []
    for ref in reference:
        for row in table.rows:
            if (
                row["model"] != ref["model"]
                or row["attack"] not in multi
                or row["eps"] is None
                or not math.isclose(row["eps"], ref["eps"], abs_tol=1e-9)
            ):
                continue
            if row["n"] != ref["n"]:
                raise ValueError(
                    f"{row['attack']!r} and {one_step!r} on {row['model']!r} measure different "
                    f"numbers of points ({row['n']} and {ref['n']}): compare attacks on the same "
                    "points"
                )
            same_points([ref, row], f"{row['model']!r} at eps={format_eps(row['eps'])}")
            check.compared += 1
            if row["accuracy"] <= ref["accuracy"] + tolerance:
                continue
            points = None
            if row.get("robust") is not None and ref.get("robust") is not None:
                points = int((row["robust"] & ~ref["robust"]).sum())
            check.flags.append(
                dict(
                    model=row["model"],
                    eps=row["eps"],
                    attack=row["attack"],
                    one_step=one_step,
                    accuracy=row["accuracy"],
                    one_step_accuracy=ref["accuracy"],
                    points=points,
                )
            )
            lines.append(
                f"{row['model']}, eps {format_eps(row['eps'])}: {row['attack']} leaves "
                f"{percent_text(100 * row['accuracy'])}% correct, one-step {one_step} "
                f"{percent_text(100 * ref['accuracy'])}%"
                + (
                    ""
                    if points is None
                    else f", keeping {points} point{'' if points == 1 else 's'} "
                    f"that {one_step} broke"
                )
            )
    if check.compared == 0:
        raise ValueError(
            f"no multi-step attack shares a model and a radius with {one_step!r}: nothing to "
            "compare"
        )
    check.looks_weak = bool(check.flags)
    check.verdict = (
        "multi-step weaker than one-step: " + "; ".join(lines)
        if lines
        else f"every multi-step attack is at least as strong as {one_step} ({check.compared} "
        "compared)"
    )
    return check
