"""The static gallery (robviz.course.gallery): page conversion on tiny notebooks, then the site.

The real site of every lesson is built once and opened in a real headless Chromium whose Play button
must move an animation.
"""

import contextlib
import functools
import json
import http.server
import re
import threading
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.offline
import pytest
from browser_support import chromium_page, shoot

from robviz.cli import build_parser
from robviz.course.gallery import (
    MATHJAX_JS,
    PLOTLY_JS,
    WIDGET_NOTE,
    GalleryError,
    build_gallery,
    mathjax_source,
    render_page,
)

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SITE = ROOT / "build" / "gallery"
BANNER = "* plotly.js v"  # the first lines of plotly.js
SCRIPT_TAG = re.compile(r'<script[^>]*\bsrc="plotly\.min\.js"')
MATHJAX_TAG = re.compile(rf'<script[^>]*\bsrc="{re.escape(MATHJAX_JS)}"')
#: A reference to another site (what a page must load nothing from): an attribute, an import or a
#: CSS url().
REMOTE = re.compile(r"""(?:src=|href=|import\(|url\()\s*["']?(?:https?:)?//""")
#: Markdown math as the lessons write it: inline, display (with an extension), an escaped dollar.
MATH = r"The loss is $\tfrac12\|z - \mu_y\|^2$, and $$x^2 + \boldsymbol{\mu}_i$$ costs \$5."


def _library_chunk() -> str:
    """A stretch from the middle of plotly.js: a page that contains it has the library inlined."""
    library = plotly.offline.get_plotlyjs()
    return library[len(library) // 2 : len(library) // 2 + 200]


def _animated_figure() -> dict:
    frames = [go.Frame(name=str(k), data=[go.Scatter(y=[k, k + 1])]) for k in range(3)]
    figure = go.Figure(go.Scatter(y=[0, 1]), frames=frames)
    figure.update_layout(
        updatemenus=[
            dict(type="buttons", buttons=[dict(label="Play", method="animate", args=[None])])
        ]
    )
    return figure.to_plotly_json()


def _tiny_notebook() -> dict:
    """An executed notebook as a lesson leaves it: a link, a figure, plotly.js, a widget.

    The figure has the library inlined beside it, as plotly's notebook renderer does; plotly.js is
    the renderer's own copy.
    """
    inlined = f"<script>/**\n{BANNER}9.9.9\n*/ window.Plotly = {{}};</script>"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Tiny lesson\n\nNext: [lesson 2](02_attacks.ipynb), "
            "[its exercises](02_attacks.ipynb#Exercises), [plotly](https://plotly.com)."
        ),
        nbformat.v4.new_code_cell(
            "figure",
            outputs=[
                nbformat.v4.new_output("display_data", data={"text/html": inlined}),
                nbformat.v4.new_output(
                    "execute_result",
                    execution_count=1,
                    data={
                        "application/vnd.plotly.v1+json": _animated_figure(),
                        "text/html": f"<div>{inlined}</div>",
                        "text/plain": "Figure(...)",
                    },
                ),
            ],
        ),
        nbformat.v4.new_code_cell(
            "explorer",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "abc",
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": "VBox(children=(Dropdown(...),))",
                    },
                ),
            ],
        ),
        nbformat.v4.new_code_cell(
            "train()",
            outputs=[  # tqdm's notebook progress bar
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "bar",
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": "fit sce: 100%|##########| 300/300",
                    },
                ),
            ],
        ),
    ]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_p"]}},
                "p": {"model_name": "FloatProgressModel", "state": {"value": 300}},
                # a dashboard: controls and an Output widget holding its first figure
                "abc": {
                    "model_name": "VBoxModel",
                    "state": {"children": ["IPY_MODEL_menu", "IPY_MODEL_out"]},
                },
                "menu": {"model_name": "DropdownModel", "state": {"index": 0}},
                "out": {
                    "model_name": "OutputModel",
                    "state": {
                        "outputs": [
                            {
                                "output_type": "display_data",
                                "metadata": {},
                                "data": {
                                    "application/vnd.plotly.v1+json": _animated_figure(),
                                    "text/plain": "Figure(...)",
                                },
                            },
                            {"output_type": "stream", "name": "stdout", "text": "trained <ok>"},
                        ]
                    },
                },
            },
        }
    }
    return nb


def _write(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(s) if s.startswith("# ") else nbformat.v4.new_code_cell(s)
        for s in sources
    ]
    nbformat.write(nb, path)
    return path


# ----------------------------------------------------------------------------------- the conversion


def test_page_draws_figures_with_the_shared_plotly_js():
    page = render_page(_tiny_notebook(), "Tiny lesson")
    # the figure, and the one the dashboard's Output widget held when the lesson ran
    assert page.count('class="plotly-graph-div"') == 2 and page.count("Plotly.newPlot(") == 2
    assert page.index(WIDGET_NOTE) < page.rindex('class="plotly-graph-div"')
    assert "<pre>trained &lt;ok&gt;</pre>" in page
    assert BANNER not in page, "plotly.js is inlined in the page"
    assert len(SCRIPT_TAG.findall(page)) == 1
    assert SCRIPT_TAG.search(page).start() < page.index("</head>"), (
        "plotly.js must load in the head"
    )
    assert (
        "require.js" not in page
    )  # with require.js loaded first, plotly.js would not set window.Plotly
    assert "<title>Tiny lesson</title>" in page


def test_page_turns_widgets_into_a_note_and_links_into_pages():
    page = render_page(_tiny_notebook(), "Tiny lesson")
    assert (
        page.count(WIDGET_NOTE) == 1 and "VBox(children" not in page
    )  # the progress bar is dropped
    assert "fit sce" not in page
    assert 'href="02_attacks.html"' in page and 'href="02_attacks.html#Exercises"' in page
    assert ".ipynb" not in page.replace("02_attacks.ipynb", "")  # nothing else was touched or left
    assert 'href="https://plotly.com"' in page


def _math_page() -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(MATH),
        nbformat.v4.new_markdown_cell("[plotly](https://plotly.com)"),
        nbformat.v4.new_code_cell(
            "print('$5 and $6')",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="$5 and $6\n")],
        ),
    ]
    return render_page(nb, "Math")


def test_page_typesets_math_with_the_local_mathjax_and_loads_nothing_from_another_site():
    page = _math_page()
    assert len(MATHJAX_TAG.findall(page)) == 1
    assert MATHJAX_TAG.search(page).start() < page.index("</head>"), "MathJax must load in the head"
    assert page.index("window.MathJax = {") < MATHJAX_TAG.search(page).start(), (
        "configured before it loads"
    )
    assert (
        r"$\tfrac12\|z - \mu_y\|^2$" in page and r"$$x^2 + \boldsymbol{\mu}_i$$" in page
    )  # left to MathJax
    assert "mathjax/2" not in page.lower() and "cdnjs" not in page and "mermaid" not in page.lower()
    assert REMOTE.findall(page) == ['href="https://'], (
        "the page refers to another site beyond its one link"
    )


def test_mathjax_comes_from_its_package_or_the_error_says_how_to_install_it(monkeypatch):
    source = mathjax_source()
    assert source.name == "tex-svg-full.js" and b"MathJax" in source.read_bytes()[:200_000]
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install django-static-mathjax"):
        mathjax_source()


@pytest.mark.browser
def test_math_is_typeset_offline_in_a_browser(tmp_path):
    """The page and the site's two scripts over HTTP on loopback; every request must stay there."""
    (tmp_path / "math.html").write_text(_math_page(), encoding="utf-8")
    (tmp_path / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    (tmp_path / MATHJAX_JS).write_bytes(mathjax_source().read_bytes())
    with _serve(tmp_path) as base, chromium_page() as page:
        requests, failed, errors = [], [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/math.html")
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.evaluate("""() => [...document.querySelectorAll('mjx-container')].map(
            e => ({display: e.getAttribute('display') === 'true', svg: !!e.querySelector('svg'),
                   error: !!e.querySelector('[data-mjx-error], merror')}))""")
        assert typeset == [
            {"display": False, "svg": True, "error": False},
            {"display": True, "svg": True, "error": False},
        ], typeset
        text = page.inner_text("main")
        assert (
            "costs $5" in text and "$5 and $6" in text
        )  # an escaped dollar and a printed one stay dollars
        shoot(page, "gallery_math.png")
    assert requests and all(url.startswith(base) for url in requests), requests
    assert not failed and not errors, (failed, errors)


@pytest.mark.slow
def test_tiny_build_runs_the_student_version_in_default_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBVIZ_FULL", "1")
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "data.txt").write_text("read from the lessons folder")
    _write(
        lessons / "00_tiny.ipynb",
        "# Tiny start\n\nThen [the next one](01_next.ipynb), where $x^2$ grows.",
        "import os\nprint(os.environ['ROBVIZ_STRICT_EXERCISES'], 'ROBVIZ_FULL' in os.environ)",
        "print(open('data.txt').read())",
        "import plotly.graph_objects as go\ngo.Figure(go.Scatter(y=[1, 3, 2]))",
    )
    nb = nbformat.read(
        _write(
            lessons / "01_next.ipynb",
            "# Next lesson",
            "secret = ...  # your answer\n### BEGIN SOLUTION\nsecret = 'the-hidden-answer'\n"
            "### END SOLUTION",
        ),
        as_version=4,
    )
    nb.cells[1].metadata["nbgrader"] = {
        "solution": True,
        "grade": False,
        "grade_id": "answer",
        "locked": False,
        "schema_version": 3,
        "task": False,
    }
    nb.cells.append(nbformat.v4.new_code_cell("print('the check reads', secret)"))
    nb.cells[-1].metadata["nbgrader"] = {
        "solution": False,
        "grade": True,
        "grade_id": "check",
        "points": 1,
        "locked": True,
        "schema_version": 3,
        "task": False,
    }
    nbformat.write(nb, lessons / "01_next.ipynb")

    written = build_gallery(lessons, tmp_path / "site")
    site = tmp_path / "site"
    assert written == [site / "00_tiny.html", site / "01_next.html", site / "index.html"]
    assert sorted(p.name for p in site.iterdir()) == sorted(
        ["00_tiny.html", "01_next.html", "index.html", PLOTLY_JS, MATHJAX_JS]
    )
    assert (site / PLOTLY_JS).read_text(encoding="utf-8") == plotly.offline.get_plotlyjs()
    assert (site / MATHJAX_JS).read_bytes() == mathjax_source().read_bytes()
    start = (site / "00_tiny.html").read_text(encoding="utf-8")
    assert "$x^2$" in start and len(MATHJAX_TAG.findall(start)) == 1 and not REMOTE.findall(start)
    assert "0 False" in start, "the kernel must run in default mode with non-strict exercise checks"
    assert "read from the lessons folder" in start
    assert start.count("plotly-graph-div") == 1 and BANNER not in start
    assert 'href="01_next.html"' in start
    nxt = (site / "01_next.html").read_text(encoding="utf-8")
    assert "the-hidden-answer" not in nxt and "your code here" in nxt, (
        "the site must show the student version"
    )
    index = (site / "index.html").read_text(encoding="utf-8")
    assert (
        '<a href="00_tiny.html">Tiny start</a>' in index
        and '<a href="01_next.html">Next lesson</a>' in index
    )
    assert not list(tmp_path.glob(".site*")), "the staging folder was left behind"


@pytest.mark.slow
def test_a_failing_lesson_names_itself_and_keeps_the_old_site(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    _write(lessons / "03_broken.ipynb", "# Broken", "x = 1", "raise ValueError('boom')")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the previous site")
    with pytest.raises(
        GalleryError,
        match=r"03_broken\.ipynb failed in cell 2 .*raise ValueError.*ValueError: boom",
    ):
        build_gallery(lessons, site)
    assert (site / "index.html").read_text() == "the previous site"
    assert not list(tmp_path.glob(".site*")), "the staging folder was left behind"


def test_a_kernel_that_fails_to_start_is_replaced_and_a_broken_start_named(tmp_path, monkeypatch):
    """Two processes starting kernels at the same moment can be given the same port: the kernel
    dies before any cell ran. A fresh kernel runs the lesson; one that never starts is named."""
    import nbclient

    from robviz.course import gallery

    _write(tmp_path / "01_ok.ipynb", "# Fine", "print(40 + 2)")
    real = nbclient.NotebookClient.execute
    starts = []

    def failing_once(self, **kwargs):
        starts.append(1)
        if len(starts) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real(self, **kwargs)

    monkeypatch.setattr(nbclient.NotebookClient, "execute", failing_once)
    node = gallery.execute_lesson(tmp_path / "01_ok.ipynb")
    assert len(starts) == 2 and node.cells[1].outputs[0]["text"] == "42\n"

    def never(self, **kwargs):
        starts.append(1)
        raise RuntimeError("Kernel didn't respond in 60 seconds")

    starts.clear()
    monkeypatch.setattr(nbclient.NotebookClient, "execute", never)
    with pytest.raises(GalleryError, match="before its first cell: RuntimeError: Kernel didn't"):
        gallery.execute_lesson(tmp_path / "01_ok.ipynb")
    assert len(starts) == 1 + gallery.KERNEL_START_RETRIES


def test_cli_gallery_flags():
    args = vars(
        build_parser().parse_args(["gallery", "--lessons", "L", "--out", "O", "--only", "00", "01"])
    )
    assert args == {"command": "gallery", "lessons": "L", "out": "O", "only": ["00", "01"]}


# ------------------------------------------------------------------------ the real site, built once


@pytest.fixture(scope="module")
def site(lesson_runs):
    """The gallery of every lesson, built by `robviz gallery`'s code from the lessons' shared runs.

    The runs are lesson_runs.py's: each lesson executes once per test run. The student versions' own
    execution is the tiny build's test above and the grading's untouched submission.
    """
    lesson_runs.run_all()
    build_gallery(ROOT / "notebooks", SITE, executed=lambda path: lesson_runs.get(path.stem))
    return SITE


@pytest.mark.slow
def test_site_has_one_page_per_lesson_and_one_plotly_js(site):
    names = sorted(p.name for p in site.iterdir())
    assert names == sorted(
        [p.with_suffix(".html").name for p in LESSONS] + ["index.html", PLOTLY_JS, MATHJAX_JS]
    )
    index = (site / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{p.with_suffix(".html").name}"' in index for p in LESSONS)
    chunk = _library_chunk()
    for lesson in LESSONS:
        page = (site / lesson.with_suffix(".html").name).read_text(encoding="utf-8")
        assert BANNER not in page and chunk not in page, f"{lesson.name}: plotly.js is inlined"
        assert len(SCRIPT_TAG.findall(page)) == 1, (
            f"{lesson.name}: plotly.min.js is not loaded exactly once"
        )
        assert len(MATHJAX_TAG.findall(page)) == 1, (
            f"{lesson.name}: MathJax is not loaded exactly once"
        )
        assert "cdnjs" not in page and "mathjax/2" not in page.lower(), (
            f"{lesson.name}: a CDN is referred to"
        )
        assert "Traceback" not in page, f"{lesson.name}: a cell failed"


@pytest.mark.slow
def test_every_lesson_page_draws_its_figures(site):
    for lesson in LESSONS:
        page = (site / lesson.with_suffix(".html").name).read_text(encoding="utf-8")
        divs = page.count('class="plotly-graph-div"')
        assert divs >= 1, f"{lesson.name}: no plotly figure on the page"
        assert page.count("Plotly.newPlot(") == divs


def _figures(page: str):
    """(data, layout) of every figure on a page, read back from its Plotly.newPlot call."""
    decoder = json.JSONDecoder()
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', page):
        data, end = decoder.raw_decode(page, call.end())
        start = page.index(",", end) + 1
        while page[start].isspace():
            start += 1
        layout, _ = decoder.raw_decode(page, start)
        yield data, layout


def _text(title) -> str:
    return title if isinstance(title, str) else (title or {}).get("text") or ""


def _untitled_axes(data: list, layout: dict) -> list[str]:
    """Cartesian axes that carry data, show tick labels and have no title, nor a titled neighbour.

    A neighbour is an axis of the same grid column (x) or row (y): a grid of panels labels its outer
    axes only.
    """
    used = {
        f"{letter}axis{trace.get(letter + 'axis', letter)[1:]}"
        for trace in data
        if trace.get("type", "scatter")
        in ("scatter", "scattergl", "heatmap", "bar", "histogram", "contour")
        for letter in "xy"
    }
    missing = []
    for name in sorted(used):
        axis = layout.get(name, {})
        if (
            axis.get("visible") is False
            or axis.get("showticklabels") is False
            or _text(axis.get("title"))
        ):
            continue
        siblings = [
            other
            for other, spec in layout.items()
            if other[:5] == name[:5]
            and other != name
            and isinstance(spec, dict)
            and spec.get("domain") == axis.get("domain")
        ]
        if not any(_text(layout[other].get("title")) for other in siblings):
            missing.append(name)
    return missing


@pytest.mark.slow
def test_every_figure_has_a_title_and_labelled_axes(site):
    problems = []
    for lesson in LESSONS:
        page = (site / lesson.with_suffix(".html").name).read_text(encoding="utf-8")
        for number, (data, layout) in enumerate(_figures(page), start=1):
            if not _text(layout.get("title")):
                problems.append(f"{lesson.name} figure {number}: no title")
            if missing := _untitled_axes(data, layout):
                problems.append(
                    f"{lesson.name} figure {number} ({_text(layout.get('title'))}): {missing} "
                    "untitled"
                )
    assert not problems, "\n".join(problems)


@contextlib.contextmanager
def _serve(folder: Path):
    """A folder over HTTP on loopback, as a static host serves it; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on loopback."""
    with _serve(site) as base:
        yield base


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# The first figure with a Play button, its slider's active step and the frame plotly shows.
_ANIMATION_STATE = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => [...p.querySelectorAll('.updatemenu-button')]
            .some(b => b.textContent.trim() === 'Play'));
    if (!plot) return null;
    return {active: plot._fullLayout.sliders[0].active,
            last: plot._fullLayout.sliders[0].steps.length - 1,
            frame: plot._fullLayout._currentFrame ?? null};
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_play_button_runs_the_animation_in_a_browser(server):
    with chromium_page() as page:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(60_000)
        page.goto(f"{server}/01_feature_space.html")
        assert page.evaluate("() => typeof window.Plotly") == "object", "plotly.min.js did not load"
        page.wait_for_function(_ANIMATION_STATE)
        before = page.evaluate(_ANIMATION_STATE)
        # a training animation opens on the trained state; Play starts again from the first frame
        assert before["last"] > 0 and before["active"] == before["last"]
        plot = page.locator(
            ".js-plotly-plot", has=page.locator(".updatemenu-button", has_text="Play")
        ).first
        plot.scroll_into_view_if_needed()
        plot.locator(".updatemenu-button", has_text="Play").click()
        page.wait_for_function(
            f"() => ({_ANIMATION_STATE})().active < {before['last']}", timeout=30_000, polling=100
        )
        after = page.evaluate(_ANIMATION_STATE)
        assert after["frame"] is not None and after["frame"] != before["frame"]
        shoot(page, "gallery_01.png")
        assert not errors, f"JavaScript errors on the page: {errors}"
