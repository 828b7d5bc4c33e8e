"""The talk's white-box table as data: Table 2 of the MMC paper (ICLR 2020).

What the run settings validate against (:class:`robviz.scale.config.TableRun`) and the measured
table is drawn beside (:mod:`robviz.scale.table`).
"""

from __future__ import annotations

__all__ = ["TALK_TABLE", "TALK_COLUMNS"]

#: The columns of :class:`robviz.attacks.RobustnessTable.pivot` that the talk's table has.
TALK_COLUMNS = ["clean"] + [
    f"PGD{s}-{t} {e}" for e in ("8/255", "16/255") for s in (10, 50) for t in ("tar", "un")
]
_ROWS = {
    "sce": "92.9 ≤1 3.7 ≤1 3.6 ≤1 2.9 ≤1 2.6",
    "center": "92.8 ≤1 4.4 ≤1 4.3 ≤1 3.1 ≤1 2.9",
    "mmlda": "92.4 ≤1 16.5 ≤1 9.7 ≤1 6.7 ≤1 5.5",
    "lgm": "92.5 37.6 19.8 8.9 4.9 26.0 11.0 2.5 2.8",
    "mmc": "92.7 48.7 36.0 26.6 24.8 36.1 25.2 13.4 17.5",
    "sce-AT-tar": "83.7 70.6 49.7 69.8 47.8 48.4 26.7 31.2 16.0",
    "mmc-AT-tar": "83.0 69.2 54.8 67.0 53.5 58.6 47.3 44.7 45.1",
    "sce-AT-un": "80.9 69.8 55.4 69.4 53.9 53.3 34.1 38.5 21.5",
    "mmc-AT-un": "81.8 70.8 56.3 70.1 55.0 54.7 37.4 39.9 27.7",
}
#: The talk's white-box table (MMC paper, ICLR 2020, Table 2; CIFAR-10, ResNet-32, adaptive
#: attacks): accuracy in percent as printed (strings; "≤1" where the paper says so), by model label
#: and column.
TALK_TABLE = {model: dict(zip(TALK_COLUMNS, values.split())) for model, values in _ROWS.items()}
