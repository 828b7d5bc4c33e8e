"""One look for every robviz figure: colour-blind-safe palettes and a plotly template."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["CLASS_COLORS", "SERIES_COLORS", "TEMPLATE", "class_color", "series_color", "OBJECTIVE_LABELS"]

# Paul Tol's "muted" scheme (distinguishable with the common colour-vision deficiencies), for classes.
CLASS_COLORS = ["#332288", "#CC6677", "#117733", "#DDCC77", "#88CCEE", "#882255", "#44AA99", "#999933",
                "#AA4499", "#777777"]
# Okabe and Ito's palette without yellow (too pale on white), for lines of different methods.
SERIES_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

OBJECTIVE_LABELS = {"sce": "SCE", "center": "Center loss", "lgm": "L-GM", "mmlda": "MMLDA", "mmc": "MMC",
                    "rce": "RCE"}


def class_color(k: int) -> str:
    """Colour of class ``k`` (cycles after 10 classes)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def series_color(i: int) -> str:
    return SERIES_COLORS[i % len(SERIES_COLORS)]


TEMPLATE = go.layout.Template(pio.templates["simple_white"])
TEMPLATE.layout.update(
    font=dict(family="Arial, Helvetica, sans-serif", size=13),
    title=dict(x=0.02, xanchor="left", font=dict(size=16)),
    margin=dict(l=60, r=20, t=70, b=50),
    colorway=SERIES_COLORS,
    legend=dict(bgcolor="rgba(255,255,255,0.8)"),
)
pio.templates["robviz"] = TEMPLATE
