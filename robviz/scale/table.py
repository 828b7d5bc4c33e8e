"""The talk's white-box table beside measured numbers: markdown and a heatmap.

The table is Table 2 of the MMC paper (ICLR 2020).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..runtime import atomic_write
from .config import TableRun
from .talk import TALK_COLUMNS, TALK_TABLE

__all__ = ["TALK_TABLE", "TALK_COLUMNS", "measured_vs_talk", "render_table"]


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def measured_vs_talk(
    paths: Iterable[str | Path], talk_rows: Sequence[str] = ()
) -> tuple[list[str], list[str], list[list[float]], list[list[str | None]]]:
    """Read evaluation JSON files and pair them with the talk's Table 2.

    The files are written by :func:`robviz.scale.evaluate`.

    An adversarially trained checkpoint lands in its AT row by its label (``mmc-AT-un``,
    ``sce-AT-tar``: what :func:`robviz.scale.evaluate` names a checkpoint of ``--adversarial``
    training, e.g. ``--recipe paper-at``). ``talk_rows`` (labels of :data:`TALK_TABLE`) adds those
    rows of the talk's table that no file measured, with NaN values beside the talk's numbers: the
    rows a run has not reached yet.

    Parameters
    ----------
    paths : iterable of str or Path
        The evaluation JSON files, in the order of their rows.
    talk_rows : iterable of str, default ()
        Labels of :data:`TALK_TABLE` to show even when no file measured them.

    Returns
    -------
    tuple[list[str], list[str], list[list[float]], list[list[str | None]]]
        ``(models, columns, values, reference)``: ``values[i][j]`` is the measured accuracy (%) of
        model ``i`` under column ``j`` (NaN where not run), ``reference[i][j]`` the talk's number as
        printed, or None. Two files with the same model label give two rows, the later ``"sce #2"``
        (tables add up as :class:`robviz.attacks.RobustnessTable` does), each compared with the
        talk's ``"sce"`` row.

    Raises
    ------
    ValueError
        For a label in ``talk_rows`` that is not a row of the talk's table.
    FileNotFoundError
        For a missing file.
    """
    from ..attacks import RobustnessTable

    table = RobustnessTable()
    for path in paths:
        data = json.loads(Path(path).read_text())
        table += RobustnessTable(
            [
                {**row, "accuracy": _nan(row["accuracy"]), "distance": _nan(row.get("distance"))}
                for row in data["rows"]
            ]
        )
    models, columns, values = table.pivot()
    unknown = [row for row in talk_rows if row not in TALK_TABLE]
    if unknown:
        raise ValueError(
            f"talk_rows {unknown} are not rows of the talk's table; valid: {', '.join(TALK_TABLE)}"
        )
    for row in talk_rows:
        if row not in models:
            models.append(row)
            values.append([math.nan] * len(columns))
    reference = [[TALK_TABLE.get(m.split(" #")[0], {}).get(c) for c in columns] for m in models]
    return models, columns, values, reference


def _markdown(
    models: list[str],
    columns: list[str],
    values: list[list[float]],
    reference: list[list[str | None]],
) -> str:
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for model, row, ref in zip(models, values, reference):
        cells = [
            ("" if r is None else f"not run ({r})")
            if v != v
            else f"{v:.1f}" + ("" if r is None else f" ({r})")
            for v, r in zip(row, ref)
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if any(r is not None for ref in reference for r in ref):
        lines.append(
            "\nIn parentheses: the talk's numbers (MMC paper, ICLR 2020, Table 2; CIFAR-10, "
            "ResNet-32)."
        )
    return "\n".join(lines)


def render_table(run: TableRun | dict) -> str:
    """Return the measured numbers of ``run.results`` with the talk's in parentheses, as markdown.

    Each cell reads ``measured (talk)``; ``not run (talk)`` in the ``run.talk_rows`` no file
    measured.

    Parameters
    ----------
    run : TableRun or dict
        The settings (a dict is read by :meth:`TableRun.from_dict`): ``results`` (the evaluation
        JSON files), ``talk_rows``; the markdown is written to ``run.out`` and, as a plotly
        heatmap, to ``run.html`` when given, and printed unless ``run.progress`` is False.

    Returns
    -------
    str
        The markdown table.

    Raises
    ------
    ValueError
        An invalid setting, or as :func:`measured_vs_talk`.
    """
    run = TableRun.from_dict(run)
    models, columns, values, reference = measured_vs_talk(run.results, run.talk_rows)
    markdown = _markdown(models, columns, values, reference)
    if run.out:
        Path(run.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(run.out, markdown + "\n")
    if run.html:
        from ..viz.attacks import robustness_heatmap

        figure = robustness_heatmap(
            models,
            columns,
            values,
            reference=reference,
            title="Robust accuracy (%): measured (talk)",
        )
        Path(run.html).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(run.html, figure.to_html())
    if run.progress:
        print(markdown)
    return markdown
