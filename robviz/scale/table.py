"""The talk's white-box table beside measured numbers: markdown and a heatmap.

The table is Table 2 of the MMC paper (ICLR 2020).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..runtime import atomic_write, percent_text
from .config import TableRun
from .evaluate import paired_test, read_evaluation
from .talk import TALK_COLUMNS, TALK_TABLE

__all__ = ["TALK_TABLE", "TALK_COLUMNS", "measured_vs_talk", "paired_lines", "render_table"]


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
        For a label in ``talk_rows`` that is not a row of the talk's table, or a file that is not
        an evaluation file.
    FileNotFoundError
        For a missing file.
    """
    from ..attacks import RobustnessTable

    table = RobustnessTable()
    for path in paths:
        data = read_evaluation(path)
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
            else percent_text(v) + ("" if r is None else f" ({r})")
            for v, r in zip(row, ref)
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if any(r is not None for ref in reference for r in ref):
        lines.append(
            "\nIn parentheses: the talk's numbers (MMC paper, ICLR 2020, Table 2; CIFAR-10, "
            "ResNet-32)."
        )
    return "\n".join(lines)


def paired_lines(a: str | Path, b: str | Path) -> list[str]:
    """Return one line per radius: the exact McNemar test of two files' worst-case verdicts.

    See :func:`robviz.scale.paired_test`.

    Parameters
    ----------
    a, b : str or Path
        Evaluation files of :func:`robviz.scale.evaluate`, on the same images.

    Returns
    -------
    list of str
        ``"worst case 8/255, 64 images: sce keeps 1, mmc keeps 46; only sce 0, only mmc 45;
        exact McNemar p = ..."`` for each radius of a's worst-case rows.

    Raises
    ------
    ValueError
        As :func:`robviz.scale.paired_test`, or when ``a`` has no worst-case row.
    """
    from ..attacks.evaluate import format_eps

    first, second = read_evaluation(a), read_evaluation(b)
    radii = [row["eps"] for row in first["rows"] if row["attack"] == "worst case"]
    if not radii:
        raise ValueError(f"{a} has no worst-case row to pair: evaluate it with an attack battery")
    names = first.get("model", "a"), second.get("model", "b")
    if names[0] == names[1]:
        names = f"{names[0]} (a)", f"{names[1]} (b)"
    lines = []
    for eps in radii:
        test = paired_test(a, b, "worst case", eps)
        lines.append(
            f"worst case {format_eps(eps)}, {test.n} images: {names[0]} keeps {test.robust_a}, "
            f"{names[1]} keeps {test.robust_b}; only {names[0]} {test.only_a}, only {names[1]} "
            f"{test.only_b}; exact McNemar p = {test.pvalue:.3g}"
        )
    return lines


def render_table(run: TableRun | dict) -> str:
    """Return the measured numbers of ``run.results`` with the talk's in parentheses, as markdown.

    Each cell reads ``measured (talk)``; ``not run (talk)`` in the ``run.talk_rows`` no file
    measured.

    Parameters
    ----------
    run : TableRun or dict
        The settings (a dict is read by :meth:`TableRun.from_dict`): ``results`` (the evaluation
        JSON files), ``talk_rows``, ``paired`` (two files: the exact McNemar test of their
        worst-case verdicts at each radius follows the table, :func:`paired_lines`); the markdown
        is written to ``run.out`` and, as a plotly heatmap, to ``run.html`` when given, and
        printed unless ``run.progress`` is False.

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
    if run.paired:
        lines = paired_lines(*run.results)
        markdown += (
            "\n\nPaired on the same images (McNemar 1947, exact binomial form):\n\n"
            + "\n".join(f"* {line}" for line in lines)
        )
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
