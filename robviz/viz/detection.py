"""Detection pictures: t-SNE of features over training, the non-ME domain, ROC curves, AUC tables.

The non-ME domain picture is the one from the talk.

The AUC table is in the talk's layout. Builders only draw what ``robviz.detect`` and
``robviz.embed`` computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import checks
from .features import _class_traces, _region_trace, plane_axes
from .inputs import figure_fields, figure_mapping, figure_series, figure_values
from ..runtime import percent_text, to_numpy
from .style import OBJECTIVE_LABELS, animate, class_count, fit_layout, plot_array, series_color

__all__ = ["embedding_animation", "non_me_domain_figure", "roc_figure", "detection_table"]

OBJECTIVE_NAMES = {**OBJECTIVE_LABELS, "sce": "CE"}


def _name(key: str) -> str:
    return OBJECTIVE_NAMES.get(key, str(key))


def embedding_animation(
    embeddings: dict,
    labels: npt.ArrayLike,
    frame_labels: Iterable[object] | None = None,
    *,
    title: str = "t-SNE of the features",
    duration_ms: int = 600,
    prefix: str = "epoch ",
    active: int = -1,
) -> go.Figure:
    """Animate 2-D embeddings side by side.

    For example aligned t-SNE of CE and RCE features over training.

    Parameters
    ----------
    embeddings : dict
        Name -> (S, N, 2) embeddings of the same N points at S moments (all names the same S).
    labels : torch.Tensor
        (N,) class of every point.
    frame_labels : sequence of str or None
        S names of the frames (default 0..S-1).
    title, duration_ms, prefix
        Figure title, time per frame, slider prefix.
    active : int, default -1
        The frame shown on opening, where the slider starts: the last (the trained state) by
        default; Play runs from the first frame.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No embedding, embeddings that are not all (S, N, 2) with one S and N, an empty one or a
        NaN or infinite coordinate (naming the run and the frame), labels that are not one integer
        class per point, or frame labels that are not S.
    """
    names = figure_mapping("embeddings", embeddings)
    arrays = {n: plot_array(figure_values(f"embeddings[{n!r}]", embeddings[n])) for n in names}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 2:
        raise ValueError(
            f"every embedding must be (S, N, 2) with the same S and N, got {sorted(shapes)}"
        )
    frames_n, n, _ = next(iter(shapes))
    labels = checks.labels("labels", to_numpy(labels), n).numpy()
    frame_labels = [str(f) for f in (range(frames_n) if frame_labels is None else frame_labels)]
    if len(frame_labels) != frames_n:
        raise ValueError(f"frame_labels must have S = {frames_n} entries, got {len(frame_labels)}")
    num_classes = class_count("labels", labels)
    fig = make_subplots(
        rows=1, cols=len(names), subplot_titles=[_name(n) for n in names], horizontal_spacing=0.06
    )

    def traces(s: int) -> list[go.Scatter]:
        out = []
        for p, name in enumerate(names):
            out += _class_traces(arrays[name][s], labels, num_classes, p == 0, size=4, opacity=0.8)
        return out

    for i, trace in enumerate(traces(0)):
        fig.add_trace(trace, row=1, col=i // num_classes + 1)
    animate(
        fig,
        [traces(s) for s in range(frames_n)],
        frame_labels,
        traces=range(len(fig.data)),
        duration_ms=duration_ms,
        prefix=prefix,
        active=active,
    )
    for p, name in enumerate(names):
        a = arrays[name]
        low, high = a.min(axis=(0, 1)), a.max(axis=(0, 1))
        pad = 0.05 * (high - low)
        axis = p + 1 if p else ""
        fig.layout[f"xaxis{axis}"].update(
            range=[float(low[0] - pad[0]), float(high[0] + pad[0])],
            title="t-SNE 1",
            showticklabels=False,
        )
        fig.layout[f"yaxis{axis}"].update(
            range=[float(low[1] - pad[1]), float(high[1] + pad[1])],
            title="t-SNE 2",
            showticklabels=False,
        )
    return fit_layout(
        fig,
        height=340,
        title=title,
        legend_rows="auto",
        subplot_titles=True,
        slider=True,
        bottom=40,
    )


def non_me_domain_figure(
    panels: dict, *, title: str = "Decision domains and where non-ME is maximal"
) -> go.Figure:
    """Return the talk's picture.

    A 3-class decision domain in the 2-D feature plane, the lines where non-ME is maximal (black,
    dashed) and the features of the test points, one panel per model.

    Parameters
    ----------
    panels : dict
        Name -> dict with ``domain`` (from ``robviz.detect.non_me_domain``), ``lines`` (from
        ``robviz.detect.max_non_me_lines``), ``features`` (N, 2) and ``labels`` (N,).
    title : str
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No panel, or a panel with no feature, a NaN or infinite feature or line point (naming the
        panel and the index), or labels that are not one integer class per feature.
    """
    names = figure_mapping("panels", panels)
    for name in names:
        features = figure_values(f"panels[{name!r}]['features']", panels[name]["features"])
        checks.labels(
            f"panels[{name!r}]['labels']", to_numpy(panels[name]["labels"]), len(features)
        )
        for i, line in enumerate(panels[name]["lines"]):
            figure_values(f"panels[{name!r}]['lines'][{i}]", line)
    fig = make_subplots(
        rows=1, cols=len(names), subplot_titles=[_name(n) for n in names], horizontal_spacing=0.08
    )
    for p, name in enumerate(names):
        panel = panels[name]
        domain, labels = panel["domain"], np.asarray(panel["labels"]).astype(int)
        num_classes = int(max(domain["labels"].max(), labels.max())) + 1
        traces = [_region_trace(domain["labels"], domain["extent"], num_classes)]
        for i, line in enumerate(panel["lines"]):
            line = plot_array(line)
            traces.append(
                go.Scatter(
                    x=line[:, 0],
                    y=line[:, 1],
                    mode="lines",
                    name="max non-ME",
                    legendgroup="line",
                    showlegend=(p == 0 and i == 0),
                    line=dict(color="black", dash="dash", width=2),
                )
            )
        traces += _class_traces(panel["features"], labels, num_classes, p == 0, opacity=0.8)
        for trace in traces:
            fig.add_trace(trace, row=1, col=p + 1)
        plane_axes(fig, p, domain["extent"], cover=[panel["features"]])
    return fit_layout(fig, height=320, title=title, legend_rows="auto", subplot_titles=True)


#: The rate axes of an ROC panel.
_ROC_RANGE = [-0.03, 1.03]


def roc_figure(
    curves: dict, *, columns: int = 3, title: str = "ROC curves (clean = positive)"
) -> go.Figure:
    """ROC curves, one panel per attack, one line per (objective, detector).

    Parameters
    ----------
    curves : dict
        Attack -> {line name -> (fpr, tpr, auc)} (``robviz.detect.roc_curve`` and ``roc_auc``).
        Lines with the same name share a colour across panels and one legend entry (in the first
        panel that draws the line); names starting with "RCE" are solid, the others dashed.
    columns : int
        Panels per row.
    title : str
        The figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No attack, an attack without curves, a line that is not (fpr, tpr, auc), or a curve with
        no point, a NaN or infinite rate or AUC, a rate or AUC outside [0, 1], or false- and
        true-positive rates of different lengths (naming the attack and the line).
    """
    columns = checks.integer("columns", columns, low=1)
    attacks = figure_mapping("curves", curves)
    for attack in attacks:
        for name in figure_mapping(f"curves[{attack!r}]", curves[attack]):
            where = f"curves[{attack!r}][{name!r}]"
            fpr, tpr, auc = figure_fields(where, curves[attack][name], ("fpr", "tpr", "auc"))
            fpr = figure_values(f"{where} fpr", fpr, within=(0, 1))
            tpr = figure_values(f"{where} tpr", tpr, within=(0, 1))
            if fpr.shape != tpr.shape:
                raise ValueError(f"{where}: {len(fpr)} false-positive rates, {len(tpr)} true")
            checks.real(f"{where} auc", auc, low=0, high=1)  # the hover prints it in percent
    line_names = list(dict.fromkeys(n for a in attacks for n in curves[a]))
    detectors = list(dict.fromkeys(n.split(" · ")[-1] for n in line_names))
    rows = math.ceil(len(attacks) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=attacks,
        horizontal_spacing=0.07,
        vertical_spacing=min(0.3, 110 / (260 * rows + 110 * (rows - 1))) if rows > 1 else 0.1,
    )
    first_panel: dict[str, int] = {}  # a line's legend entry: the first panel that draws it
    for p, attack in enumerate(attacks):
        r, c = p // columns + 1, p % columns + 1
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line=dict(color="#bbbbbb", dash="dot"),
                showlegend=False,
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
        for name, (fpr, tpr, auc) in curves[attack].items():
            color = series_color(detectors.index(name.split(" · ")[-1]))
            dash = "solid" if name.startswith("RCE") else "dash"
            fig.add_trace(
                go.Scatter(
                    x=plot_array(fpr),
                    y=plot_array(tpr),
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=first_panel.setdefault(name, p) == p,
                    line=dict(color=color, dash=dash, width=2),
                    hovertemplate=f"{name}<br>AUC {percent_text(100 * auc)}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        # a little room beyond [0, 1]: a curve along an edge (an AUC of 0 runs along the bottom and
        # the right side) is drawn beside the axis line, not hidden under it
        fig.update_xaxes(
            title_text="false-positive rate" if r == rows else None,
            range=_ROC_RANGE,
            row=r,
            col=c,
        )
        fig.update_yaxes(
            title_text="true-positive rate" if c == 1 else None, range=_ROC_RANGE, row=r, col=c
        )
    return fit_layout(
        fig,
        height=260 * rows + 110 * (rows - 1),
        title=title,
        legend_rows="auto",
        subplot_titles=True,
    )


def detection_table(
    aucs: dict,
    *,
    title: str = "AUC (10⁻²) of detecting adversarial examples",
    pairs: dict | None = None,
    z: float = 2.0,
) -> go.Figure:
    """Return the talk's table: rows attack x objective, columns detectors, AUC x 100.

    Per attack and detector the better objective is bold; given ``pairs``, only where its AUC is
    higher than every other objective's by more than ``z`` standard errors of the difference
    (:func:`robviz.detect.auc_standard_error`, the AUCs treated as independent): on a few dozen
    pairs a higher AUC by a point or two is noise, not a better objective.

    Parameters
    ----------
    aucs : dict
        Attack -> objective -> detector -> AUC in [0, 1]; NaN where no pair was left (too few to
        rank): the cell reads "–".
    title : str
        The figure title.
    pairs : dict or None
        ``pairs[attack, objective]``, the number of (clean, adversarial) pairs behind each AUC
        (:attr:`robviz.detect.DetectionStudy.pairs`); None: bold the highest AUC whatever the gap.
    z : float
        With ``pairs``: how many standard errors of the difference make a higher AUC bold, > 0.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure.

    Raises
    ------
    ValueError
        No attack, an attack without objectives, no detector at all, or an infinite AUC or one
        outside [0, 1] (naming the attack, the objective and the detector); ``z`` not > 0, or
        ``pairs`` without the count of a finite AUC.
    """
    from ..detect import auc_standard_error

    z = checks.real("z", z, low=0, low_open=True)
    attacks = figure_mapping("aucs", aucs)
    for attack in attacks:
        for obj in figure_mapping(f"aucs[{attack!r}]", aucs[attack]):
            for d, value in aucs[attack][obj].items():
                figure_values(
                    f"aucs[{attack!r}][{obj!r}][{d!r}]", [value], allow=("nan",), within=(0, 1)
                )
    detectors = list(dict.fromkeys(d for a in attacks for o in aucs[a] for d in aucs[a][o]))
    figure_series("the detectors of aucs", detectors)
    col_attack: list[str] = []
    col_obj: list[str] = []
    fills: list[str] = []  # one shade per attack's block of rows, alternating
    cols: dict[str, list[str]] = {d: [] for d in detectors}
    for a, attack in enumerate(attacks):
        objectives = list(aucs[attack])
        for i, obj in enumerate(objectives):
            col_attack.append(attack if i == 0 else "")
            fills.append("#f4f4f4" if a % 2 == 0 else "white")
            col_obj.append(_name(obj))
            for d in detectors:
                value = aucs[attack][obj].get(d, float("nan"))
                finite = [
                    v
                    for v in (aucs[attack][o].get(d, float("nan")) for o in objectives)
                    if np.isfinite(v)
                ]
                best = max(finite, default=float("nan"))
                text = "–" if not np.isfinite(value) else percent_text(100 * value)
                bold = np.isfinite(value) and value == best and len(objectives) > 1
                if bold and pairs is not None:

                    def error(o: str) -> float:
                        if (attack, o) not in pairs:
                            raise ValueError(f"pairs has no count for ({attack!r}, {o!r})")
                        # named here: auc_standard_error would name its own n_clean
                        n = checks.integer(f"pairs[{(attack, o)!r}]", pairs[attack, o], low=1)
                        return auc_standard_error(aucs[attack][o][d], n, n)

                    others = [
                        o
                        for o in objectives
                        if o != obj and np.isfinite(aucs[attack][o].get(d, float("nan")))
                    ]  # none: nothing it is shown to beat
                    bold = bool(others) and all(
                        value - aucs[attack][o][d] > z * math.hypot(error(obj), error(o))
                        for o in others
                    )
                cols[d].append(f"<b>{text}</b>" if bold else text)
    fig = go.Figure(
        go.Table(
            header=dict(
                values=["Attack", "Obj."] + detectors,
                fill_color="#dddddd",
                align="center",
                font=dict(size=13),
                height=_ROW_PX,
            ),
            cells=dict(
                values=[col_attack, col_obj] + [cols[d] for d in detectors],
                align="center",
                fill_color=[fills] * (2 + len(detectors)),
                height=_ROW_PX,
                font=dict(size=13),
            ),
        )
    )
    # Every row shown: plotly.js draws a row at least its text's line height plus padding (about 31
    # px at 13 px), so the plot area holds the header and every row at _ROW_PX each, with a few
    # pixels to spare.
    return fit_layout(
        fig, height=_ROW_PX * (len(col_obj) + 1) + 12, title=title, bottom=10, left=10, right=10
    )


_ROW_PX = 32
