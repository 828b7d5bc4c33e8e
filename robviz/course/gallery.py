"""A static HTML gallery of the lessons: every lesson executed and exported as a web page.

    robviz gallery                      # build/gallery/index.html, a page per lesson, plotly.min.js
    robviz gallery --only 00 01         # a partial site, for a quick look

Each lesson is taken in its *student* version (:func:`robviz.course.student_notebook`: solutions
replaced by stubs, so the public site does not give them away), executed in default mode with
nbclient, and exported with nbconvert's ``HTMLExporter`` (``lab`` template: the pages look like the
notebooks in JupyterLab).

Why nbconvert and not jupyter-book or mystmd: it ships with Jupyter already (no new dependency, no
Node), it renders exactly the notebooks we executed, and it lets us control how plotly is loaded.
Plotly figures are kept as their JSON and drawn by one shared ``plotly.min.js`` (plotly's bundled
copy, loaded once per page from the site), instead of the ~5 MB library inlined into every page or
figure. The animations' Play buttons and sliders keep working because they need only the figure JSON
and plotly.js. Math (``$...$``, ``$$...$$``) is typeset in the reader's browser by one copy of
MathJax 3 in the site (``tex-svg-full.js`` from the ``django-static-mathjax`` package: TeX input,
SVG output and every TeX extension in one file, so nothing else is fetched), so no page loads
anything from a CDN. Widgets need a running kernel, so their outputs become a note that says so,
followed by what the widget's Output areas showed when the lesson ran (a dashboard's first figure).

A lesson that fails to execute raises :class:`GalleryError` naming the lesson and the cell. The site
is built in a temporary folder next to ``out`` and swapped in at the end, so a failed build leaves
the previous site.
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import checks
from .kernels import SlicedKernelManager

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "build_gallery",
    "execute_lesson",
    "render_page",
    "mathjax_source",
    "GalleryError",
    "PLOTLY_JS",
    "MATHJAX_JS",
    "MATHJAX_CONFIG",
    "WIDGET_NOTE",
]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: The one copy of plotly.js in the site; every page loads it with a single <script> in its head.
PLOTLY_JS = "plotly.min.js"
#: The one copy of MathJax in the site (MathJax 3's TeX input and SVG output, all TeX extensions, in
#: one file).
MATHJAX_JS = "mathjax-tex-svg.js"
#: What a widget output becomes: widgets need a live kernel, a static page cannot drive them.
WIDGET_NOTE = (
    "Interactive widget: run this lesson in Jupyter or on Binder to use it. Below, what it showed "
    "with its initial settings."
)
#: The banner at the top of plotly.js: an output that contains it has the library inlined.
_PLOTLY_JS_BANNER = "* plotly.js v"

#: MathJax 3 configured as JupyterLab typesets markdown: ``$``/``$$``, ``\(``/``\[``, ``\$`` for a
#: dollar; code and ``<pre>`` outputs left alone. A <script> that must come before MathJax's own
#: (the gallery's pages, nbgrader's feedback through :mod:`robviz.course.feedback`).
MATHJAX_CONFIG = """<script>
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true, tags: "ams"},
  svg: {fontCache: "global"}
};
</script>"""

# The lab template with plotly.js loaded first and without require.js (from a CDN, unused by these
# pages, and with it loaded first plotly.js would register as an AMD module instead of setting
# window.Plotly); MathJax 3 from the site instead of nbconvert's MathJax 2 from a CDN, configured as
# JupyterLab typesets markdown (``$``/``$$``, ``\(``/``\[``, ``\$`` for a dollar; code and ``<pre>``
# outputs left alone); no mermaid.js (from a CDN; no lesson draws a mermaid diagram).
_TEMPLATE = (
    """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}
<script src="{{ resources.plotly_js }}"></script>
{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}
"""
    + MATHJAX_CONFIG
    + """
<script src="{{ resources.mathjax_js }}" id="MathJax-script"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}
{%- endblock html_head_js_mermaidjs -%}
"""
)
_LESSON_LINK = re.compile(r'href="([^"/:#?]+)\.ipynb(#[^"]*)?"')


class GalleryError(RuntimeError):
    """A lesson failed to execute; the message names the lesson and the cell."""


def _plotly_div(figure: dict) -> str:
    import plotly.io as pio

    # 525 px when the figure sets no height: what plotly's own notebook renderer uses.
    return pio.to_html(
        figure,
        include_plotlyjs=False,
        full_html=False,
        auto_play=False,
        default_height="525px",
        validate=False,
    )


def _is_progress_bar(model_id: str, widgets: dict) -> bool:
    """Return True for tqdm's notebook bar (a box holding a progress widget).

    Judged by the widget states nbclient recorded.
    """
    children = widgets.get(model_id, {}).get("state", {}).get("children", [])
    return any(
        widgets.get(child.removeprefix("IPY_MODEL_"), {}).get("model_name")
        in ("FloatProgressModel", "IntProgressModel")
        for child in children
    )


def _captured_outputs(model_id: str, widgets: dict) -> list[dict]:
    """Return the outputs held by Output widgets inside widget ``model_id`` when the lesson ran.

    In display order.

    E.g. a dashboard's first figure.
    """
    state = widgets.get(model_id, {})
    if state.get("model_name") == "OutputModel":
        return list(state.get("state", {}).get("outputs", []))
    found = []
    for child in state.get("state", {}).get("children", []):
        found += _captured_outputs(child.removeprefix("IPY_MODEL_"), widgets)
    return found


def _captured_html(output: dict) -> str:
    """Return a captured output as static HTML.

    Plotly figures drawn by the shared plotly.js, other rich outputs as they are; widgets nested
    inside are left out.
    """
    data = output.get("data", {})
    if PLOTLY_MIME in data:
        return _plotly_div(data[PLOTLY_MIME])
    if "text/html" in data and _PLOTLY_JS_BANNER not in str(data["text/html"]):
        html_text = data["text/html"]
        return "".join(html_text) if isinstance(html_text, list) else html_text
    text = output.get("text") or data.get("text/plain")
    if text and WIDGET_MIME not in data:
        return f"<pre>{html.escape(''.join(text) if isinstance(text, list) else text)}</pre>"
    return ""


def _convert_output(output: dict, widgets: dict) -> dict | None:
    """Return the output as the static page shows it, or None to drop it.

    ``widgets``: widget states by model id.
    """
    data = output.get("data")
    if not data:
        return output
    # the figure's JSON: draw it with the shared plotly.js, drop every other form
    if PLOTLY_MIME in data:
        output["data"] = {"text/html": _plotly_div(data[PLOTLY_MIME])}
    elif WIDGET_MIME in data:
        if _is_progress_bar(data[WIDGET_MIME].get("model_id", ""), widgets):
            return None  # the run is over: a progress bar has nothing to show
        captured = "".join(
            _captured_html(o)
            for o in _captured_outputs(data[WIDGET_MIME].get("model_id", ""), widgets)
        )
        output["data"] = {
            "text/html": f'<p class="robviz-widget-note"><em>{html.escape(WIDGET_NOTE)}</em></p>'
            + captured
        }
    # a renderer's inlined copy of the library
    elif _PLOTLY_JS_BANNER in str(data.get("text/html", "")):
        return None
    output["metadata"] = {}
    return output


def render_page(
    notebook: dict, title: str, plotly_js: str = PLOTLY_JS, mathjax_js: str = MATHJAX_JS
) -> str:
    """Return the HTML page of an executed notebook (nbformat 4 JSON).

    Plotly figures as divs drawn by the script ``plotly_js``, math typeset by the MathJax 3 script
    ``mathjax_js``, widgets as a note followed by what their Output widgets held (progress bars
    dropped), links to other lessons (``02_attacks.ipynb``) pointing to their pages. The page loads
    nothing from another site.

    Parameters
    ----------
    notebook : dict
        The executed notebook, nbformat 4 JSON as a dict.
    title : str
        The page's title.
    plotly_js, mathjax_js : str
        The addresses (``src``) of the plotly.js and MathJax scripts the page loads, relative to
        the page; by default the site's one copy of each (:data:`PLOTLY_JS`, :data:`MATHJAX_JS`).

    Returns
    -------
    str
        The HTML page.
    """
    import jinja2
    from nbconvert import HTMLExporter

    node = _node(notebook)
    # No widget state in the page: widgets' Python callbacks need a kernel, so the page shows a note
    # instead (and loads no widget manager from a CDN).
    widgets = node.metadata.pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for cell in node.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                out
                for out in (_convert_output(o, widgets.get("state", {})) for o in cell.outputs)
                if out is not None
            ]
    exporter = HTMLExporter(
        template_name="lab",
        template_file="robviz_gallery.html.j2",
        extra_loaders=[jinja2.DictLoader({"robviz_gallery.html.j2": _TEMPLATE})],
    )
    page, _ = exporter.from_notebook_node(
        node,
        resources={"metadata": {"name": title}, "plotly_js": plotly_js, "mathjax_js": mathjax_js},
    )
    return _LESSON_LINK.sub(lambda m: f'href="{m[1]}.html{m[2] or ""}"', page)


def mathjax_source() -> Path:
    """Return the path of MathJax 3's single-file TeX-to-SVG bundle (``es5/tex-svg-full.js``).

    As the ``django-static-mathjax`` package installs it (a dependency of robviz: pure static files,
    MathJax 3.2.2).

    Raises
    ------
    FileNotFoundError
        The package is not installed, naming the command that installs it.
    """
    from importlib.util import find_spec

    spec = find_spec("mathjax")
    path = (
        Path(spec.origin).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
        if spec and spec.origin
        else None
    )
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "MathJax for the gallery's math is missing: pip install django-static-mathjax "
            "(a dependency of robviz; python3 tasks.py gallery installs it)"
        )
    return path


def _node(notebook: dict) -> NotebookNode:
    """Return a copy of the notebook as nbformat's node.

    Sources as strings, ids added to cells that lack one.
    """
    import nbformat
    from nbformat.warnings import MissingIDFieldWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingIDFieldWarning)
        return nbformat.reads(json.dumps(notebook), as_version=4)


def _title(notebook: dict, fallback: str) -> str:
    """Return the first markdown heading of the notebook."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for line in source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def _kernel_env() -> dict:
    """Return the lessons' default mode; exercise checks only report (the stubs are unanswered).

    Plotly emits the figure JSON only (we render it ourselves).
    """
    env = {k: v for k, v in os.environ.items() if k != "ROBVIZ_FULL"}
    env.update(ROBVIZ_STRICT_EXERCISES="0", PLOTLY_RENDERER="plotly_mimetype")
    return env


#: How often :func:`execute_lesson` starts a fresh kernel when one fails to start (no cell ran).
KERNEL_START_RETRIES = 2


def execute_lesson(
    path: str | Path,
    notebook: dict | None = None,
    *,
    timeout: int = 600,
    env: dict | None = None,
) -> dict:
    """Run a lesson top to bottom in a fresh kernel and return the executed notebook node.

    Executed with nbclient.

    Parameters
    ----------
    path : str or pathlib.Path
        The lesson's file; cells run with its folder as the working directory.
    notebook : dict or None
        The notebook to run (default: read from ``path``), e.g. its student version.
    timeout : int
        Seconds one cell may run.
    env : dict or None
        The kernel's environment (default: the gallery's: default mode, exercise checks that only
        report, plotly's JSON renderer). Pass ``{**os.environ, "ROBVIZ_FULL": "1"}`` for full mode.

    Raises
    ------
    GalleryError
        Naming the lesson, the cell and the reason (its exception, a timeout, a dead kernel); a
        kernel that fails to start is replaced by a fresh one up to ``KERNEL_START_RETRIES`` times
        first.
    """
    from nbclient import NotebookClient

    path = Path(path)
    source = json.loads(path.read_text(encoding="utf-8")) if notebook is None else notebook
    for attempt in range(1 + KERNEL_START_RETRIES):
        node = _node(copy.deepcopy(source))
        current: dict = {}  # the cell being run and its index
        client = NotebookClient(
            node,
            timeout=timeout,
            kernel_name="python3",
            kernel_manager_class=SlicedKernelManager,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.on_cell_start = lambda cell, cell_index: current.update(cell=cell, index=cell_index)
        try:
            client.execute(env=_kernel_env() if env is None else env)
        except Exception as error:
            ename = getattr(error, "ename", None)
            if "cell" not in current and not ename and attempt < KERNEL_START_RETRIES:
                # The kernel never started, so nothing ran: start a fresh one. Kernels started at
                # the same moment by two processes can be given the same free port.
                continue
            if "cell" in current:
                first_line = (current["cell"].source.strip().splitlines() or [""])[0][:80]
                where = f"in cell {current['index']} ({first_line!r})"
            else:
                where = "before its first cell"
            if ename:  # an exception raised by the cell's code
                reason = f"{ename}: {getattr(error, 'evalue', '')}"
            else:  # a timeout, a dead kernel, ...
                reason = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[-1]}"
            raise GalleryError(f"lesson {path.name} failed {where}: {reason}") from error
        return node
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _index_page(entries: list[tuple[str, str]]) -> str:
    """Return the site's front page: the lessons in order, each linked by its title."""
    items = "\n".join(
        f'    <li><a href="{html.escape(href)}">{html.escape(title)}</a></li>'
        for href, title in entries
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>robviz lessons</title>
  <style>body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto;
    padding: 0 1rem; }}
  li {{ margin: 0.4rem 0; }}</style>
</head>
<body>
  <h1>robviz lessons</h1>
  <p>Each lesson executed in its default mode, exercises left for you. The figures and animations
  work here; the widgets need a live kernel: run the lessons in Jupyter or on Binder.</p>
  <ol start="0">
{items}
  </ol>
</body>
</html>
"""


def _lessons(folder: Path, only: Sequence[str] | None) -> list[Path]:
    """Return the lessons (``NN_name.ipynb``) in ``folder``, in order.

    With ``only``, those whose name starts so.
    """
    paths = sorted(folder.glob("[0-9]*.ipynb"))
    if isinstance(only, str):
        # one prefix: read letter by letter, "01" would select lessons 00-11
        only = [only]
    if only:
        unmatched = [prefix for prefix in only if not any(p.name.startswith(prefix) for p in paths)]
        # a mistyped lesson is named, not silently left out of the site
        if unmatched and len(unmatched) < len(only):
            raise FileNotFoundError(
                f"no lesson (NN_*.ipynb) in {folder} matches {unmatched}; the lessons are "
                + ", ".join(p.name for p in paths)
            )
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in only)]
    if not paths:
        raise FileNotFoundError(
            f"no lessons (NN_*.ipynb) in {folder}"
            + (f" matching {list(only)}" if only else "")
            + ("" if folder.is_dir() else f" ({folder} does not exist)")
        )
    return paths


def build_gallery(
    lessons: str | Path = "notebooks",
    out: str | Path = "build/gallery",
    only: Sequence[str] | None = None,
    timeout: int = 600,
    executed: Callable[[Path], dict] | None = None,
) -> list[Path]:
    """Execute every lesson (student version, default mode) and write the static site to ``out``.

    Parameters
    ----------
    lessons : str or Path
        Folder of the lessons (``NN_name.ipynb``); each runs with this folder as its working
        directory.
    out : str or Path
        The site's folder; replaced as a whole when the build succeeds.
    only : list of str, str or None
        Lesson number prefixes (e.g. ``["00", "01"]``, or one as a string) to build a partial site;
        each must match a lesson.
    timeout : int
        Seconds one cell may run, an integer >= 1.
    executed : callable or None
        Instead of executing the student versions, a function ``executed(path) -> notebook`` that
        returns the lesson at ``path`` already executed with its solutions (e.g. a run shared with
        other checks); the page shows :func:`~robviz.course.assignments.student_view` of it.

    Returns
    -------
    list[Path]
        The written pages: one per lesson, in order, then ``index.html``; beside them the site holds
        one copy of plotly.js (:data:`PLOTLY_JS`) and one of MathJax (:data:`MATHJAX_JS`).

    Raises
    ------
    GalleryError
        A lesson failed to execute (the message names the lesson and the cell).
    FileNotFoundError
        MathJax is not installed (:func:`mathjax_source`), no lesson in ``lessons``, or a prefix of
        ``only`` that matches none.
    ValueError
        A ``timeout`` that is not an integer >= 1.
    """
    import plotly.offline
    from tqdm.auto import tqdm

    from .assignments import student_notebook, student_view

    lessons, out = Path(lessons).resolve(), Path(out)
    timeout = checks.integer("timeout", timeout, low=1)
    paths = _lessons(lessons, only)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the site is for everyone
        (staging / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
        shutil.copyfile(mathjax_source(), staging / MATHJAX_JS)
        entries = []
        for path in (bar := tqdm(paths, desc="gallery", unit="lesson")):
            bar.set_postfix_str(path.name)
            if executed is None:
                student = student_notebook(json.loads(path.read_text(encoding="utf-8")))
                shown = execute_lesson(path, student, timeout=timeout)
            else:
                shown = student_view(executed(path))
            title = _title(shown, path.stem)
            page = path.with_suffix(".html").name
            (staging / page).write_text(render_page(shown, title), encoding="utf-8")
            entries.append((page, title))
        (staging / "index.html").write_text(_index_page(entries), encoding="utf-8")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, old / out.name)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / page for page, _ in entries] + [out / "index.html"]
