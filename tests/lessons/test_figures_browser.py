"""Every figure of every lesson as a student sees it: JupyterLab in a real headless Chromium.

One JupyterLab and one browser for all lessons. Each lesson is opened as it ran in the test run's
shared execution (lesson_runs.py: its outputs saved in the notebook, as a student's notebook holds
them after Run All) in a 1366 x 768 window, measured, then measured again after the window is
resized to 1920 x 1080. JupyterLab draws the saved figures with the same renderer as live ones; the
live side (Run All in JupyterLab, every dashboard control redrawing) is test_browser.py's. For every
plotly figure:

* it fits its output area (no horizontal overflow);
* no two of its SVG text nodes overlap (their boxes, rotated as drawn, compared pairwise);
* a table shows all its rows;
* an animation opens on the frame its slider names;
* an animation (a figure with a Play button) is no taller than the notebook area, so its controls
  and the plot are seen together;

every saved widget renders, and no code line is wider than its cell. A failing figure is named, with
a screenshot in build/screenshots/ (``<lesson>_fig<i>_<width>.png``).
"""

import os

import pytest
from browser_support import SCREENSHOTS, chromium_page, jupyter_lab, lab_request, settle
from lesson_runs import LESSONS as RUN_LESSONS

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: F401
except ImportError:  # reported by chromium_page()
    pass

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The window sizes: a laptop and a desktop screen.
SIZES = [(1366, 768), (1920, 1080)]
LESSONS = [f"{lesson}.ipynb" for lesson in RUN_LESSONS]
#: Text boxes may touch by this many pixels (glyph boxes include the font's internal leading).
TOLERANCE_PX = 1.5

# One report per plotly figure of the open notebook. Text boxes are the nodes' getBBox() mapped
# through their screen transform (so rotated labels keep their true outline); two boxes overlap when
# the separating-axis test finds no gap of TOLERANCE pixels.
MEASURE_JS = r"""
(tolerance) => {
  const plots = [...document.querySelectorAll('.jp-NotebookPanel .js-plotly-plot')];
  function quad(t) {
    const b = t.getBBox(), m = t.getScreenCTM();
    if (!m || b.width === 0 || b.height === 0) return null;
    const p = (x, y) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
    const s = Math.min(tolerance, b.width / 4, b.height / 4);
    return [p(b.x + s, b.y + s), p(b.x + b.width - s, b.y + s),
            p(b.x + b.width - s, b.y + b.height - s),
            p(b.x + s, b.y + b.height - s)];
  }
  function separated(a, b) {
    for (const poly of [a, b]) {
      for (let i = 0; i < 4; i++) {
        const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
        const nx = y2 - y1, ny = x1 - x2;
        const pa = a.map(([x, y]) => x * nx + y * ny), pb = b.map(([x, y]) => x * nx + y * ny);
        if (Math.max(...pa) <= Math.min(...pb) || Math.max(...pb) <= Math.min(...pa)) return true;
      }
    }
    return false;
  }
  function visible(t) {
    if (!t.textContent.trim() || t.closest('.hoverlayer, defs')) return false;
    for (let e = t; e && e !== document; e = e.parentNode) {
      const st = e.nodeType === 1 ? getComputedStyle(e) : null;
      if (st && (st.display === 'none' || st.visibility === 'hidden'
                 || parseFloat(st.opacity) === 0)) return false;
      if (e.getAttribute && e.getAttribute('opacity') === '0') return false;
    }
    return true;
  }
  // Plotly sends arrays as base64 typed arrays ({dtype, bdata}); the figure may hold them decoded.
  const TYPES = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
                 u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
  function values(v) {
    if (v && v.bdata !== undefined) {
      const raw = atob(v.bdata), bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      return Array.from(new TYPES[v.dtype](bytes.buffer));
    }
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (Array.isArray(v)) return v.flatMap(values);
    return [v];
  }
  function same(a, b) {
    const x = values(a), y = values(b);
    return x.length === y.length
      && x.every((v, i) => v === y[i] || Math.abs(v - y[i]) <= 1e-6 * (1 + Math.abs(v))
                                                      || (Number.isNaN(v) && Number.isNaN(y[i])));
  }
  return plots.map((gd, index) => {
    // A plotly output is itself the output area (JupyterLab's plotly renderer); a widget's
    // figure sits inside one.
    const area = gd.closest('.jp-OutputArea-output') || gd.parentElement;
    const container = gd.querySelector('.svg-container') || gd;
    const box = container.getBoundingClientRect(), column = area.getBoundingClientRect();
    const view = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')
                 || document.querySelector('.jp-NotebookPanel .jp-Notebook');
    const play = ((gd.layout || {}).updatemenus || [])
      .some(m => (m.buttons || []).some(b => /play/i.test(b.label || '')));
    const report = {index, title: ((gd.layout || {}).title || {}).text || '',
                    width: Math.round(box.width), area: Math.round(column.width),
                    height: Math.round(box.height), view: view ? view.clientHeight : 0, play,
                    overflow: Math.max(0, box.right - column.right,
                                       area.scrollWidth - area.clientWidth),
                    overlaps: [], tables: [], animation: null};
    const texts = [...gd.querySelectorAll('svg text')].filter(visible)
      .map(t => ({text: t.textContent.trim().slice(0, 40), quad: quad(t)})).filter(t => t.quad);
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++)
        if (!separated(texts[i].quad, texts[j].quad))
          report.overlaps.push([texts[i].text, texts[j].text]);
    // Tables: every row's bottom above the bottom of the plot area.
    const size = (gd._fullLayout || {})._size;
    const svg = gd.querySelector('.main-svg');
    (gd._fullData || []).forEach((trace, k) => {
      if (trace.type !== 'table') return;
      const rows = trace.cells.values.length ? trace.cells.values[0].length : 0;
      const bottom = svg.getBoundingClientRect().top + size.t + size.h + 1;
      const column = gd.querySelectorAll('.table')[k].querySelector('.y-column');
      const shown = new Set([...column.querySelectorAll('.column-cell')]
        .filter(c => c.__data__ && c.__data__.rowNumber !== undefined && c.__data__.column
                     && c.getBoundingClientRect().bottom <= bottom
                     && c.getBoundingClientRect().height > 0)
        .map(c => c.__data__.rowNumber));
      report.tables.push({rows, shown: [...shown].filter(r => r >= 0).length});
    });
    // Animations: the frame the slider names is the one on screen.
    const frames = (gd._transitionData || {})._frames || [];
    const slider = ((gd.layout || {}).sliders || [])[0];
    if (frames.length && slider) {
      const step = slider.steps[slider.active || 0];
      const name = step.args[0][0];
      const frame = gd._transitionData._frameHash[name];
      const mismatched = [];
      if (!frame) mismatched.push('no frame named ' + name);
      else (frame.data || []).forEach((t, j) => {
        const target = frame.traces ? frame.traces[j] : j;
        for (const key of ['x', 'y', 'z', 'a', 'b', 'c']) {
          if (t[key] === undefined || !gd.data[target]) continue;
          if (!same(t[key], gd.data[target][key])) mismatched.push(`trace ${target}.${key}`);
        }
      });
      report.animation = {label: step.label, mismatched};
    }
    return report;
  });
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, lesson_runs):
    """One JupyterLab on loopback serving the lessons as they ran.

    It serves the solved versions, with their outputs.
    """
    lesson_runs.run_all()
    executed = tmp_path_factory.mktemp("executed")
    for lesson in RUN_LESSONS:
        (executed / f"{lesson}.ipynb").write_bytes(lesson_runs.path(lesson).read_bytes())
    with jupyter_lab(executed, tmp_path_factory.mktemp("figures-lab")) as server:
        yield server


@pytest.fixture(scope="module")
def page():
    with chromium_page(*SIZES[0]) as page:
        yield page


def _open_lesson(page, lab, lesson):
    """Open the executed lesson in the laptop-sized window.

    No kernel: nothing runs, the saved outputs show.
    """
    base, token, _ = lab
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[0])))
    page.set_default_timeout(60_000)
    # reset: no tab of an earlier lesson comes back
    page.goto(f"{base}/lab/tree/{lesson}?reset&token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    # A student's window: the file browser open beside the notebook (the default layout), so the
    # notebook area measured is the narrower one a student has.
    page.locator(".jp-FileBrowser").first.wait_for(state="visible")
    # only the saved outputs are measured
    for session in lab_request(base, token, "/api/sessions") or []:
        lab_request(base, token, f"/api/sessions/{session['id']}", method="DELETE")


def _problems(report, lesson, size):
    where = (
        f"{lesson} at {size[0]} x {size[1]}, figure {report['index']} ({report['title'][:60]!r})"
    )
    out = []
    if report["overflow"] > 1:
        out.append(
            f"{where}: {report['width']} px wide, overflows its {report['area']} px output area"
        )
    if report["play"] and report["height"] > report["view"]:
        out.append(
            f"{where}: an animation {report['height']} px tall in a {report['view']} px "
            "notebook area: "
            "its Play button and the plot cannot be seen together"
        )
    for a, b in report["overlaps"][:5]:
        out.append(f"{where}: text {a!r} overlaps {b!r}")
    for table in report["tables"]:
        if table["shown"] < table["rows"]:
            out.append(f"{where}: the table shows {table['shown']} of its {table['rows']} rows")
    animation = report["animation"]
    if animation and animation["mismatched"]:
        out.append(
            f"{where}: the slider says {animation['label']!r} but the figure shows another "
            "frame "
            f"({', '.join(animation['mismatched'][:3])})"
        )
    return out


# Code cells whose editor scrolls sideways: a line longer than the cell is wide. (index of the code
# cell, its longest line)
CODE_OVERFLOW_JS = r"""
() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')].map((cell, index) => {
  const scroller = cell.querySelector('.cm-scroller');
  if (!scroller || scroller.scrollWidth <= scroller.clientWidth + 1) return null;
  const lines = [...cell.querySelectorAll('.cm-line')].map(l => l.textContent);
  return [index, lines.reduce((a, b) => (b.length > a.length ? b : a), '')];
}).filter(Boolean)
"""


def _check_code_lines(page, lesson, size):
    return [
        f"{lesson} at {size[0]} x {size[1]}: code cell {index} is wider than the cell: "
        f"{line[:60]!r}... "
        f"({len(line)} characters)"
        for index, line in page.evaluate(CODE_OVERFLOW_JS)
    ]


def _check_widgets(page, lesson):
    """Saved widget outputs never show an error.

    (Dashboards need a live kernel: test_browser.py runs each in JupyterLab, drives every control
    and measures its figures with :func:`figure_problems`.)
    """
    problems = []
    text = page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts()
    for bad in ("Error displaying widget", "Error rendering widget"):
        if any(bad in t for t in text):
            problems.append(f"{lesson}: a widget did not render ({bad!r})")
    return problems


def figure_problems(page, lesson) -> list[str]:
    """Every plotly figure of the open notebook measured at each size in SIZES.

    The page is left at the first size; a failing figure is saved as a screenshot.
    """
    problems = []
    shoot_all = os.environ.get("ROBVIZ_SHOOT_FIGURES") == "1"
    for size in SIZES:
        page.set_viewport_size(dict(zip(("width", "height"), size)))
        settle(page)
        reports = page.evaluate(MEASURE_JS, TOLERANCE_PX)
        assert reports or lesson.startswith(("09",)), f"{lesson}: no plotly figure rendered"
        problems += _check_code_lines(page, lesson, size)
        for report in reports:
            found = _problems(report, lesson, size)
            problems += found
            if found or shoot_all:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                tag = os.environ.get("ROBVIZ_SHOT_TAG", "")
                name = (
                    f"{lesson[:-6]}_fig{report['index']}_{size[0]}{('_' + tag) if tag else ''}.png"
                )
                figure = page.locator(".jp-NotebookPanel .js-plotly-plot").nth(report["index"])
                figure.scroll_into_view_if_needed()
                figure.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[0])))
    return problems


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_figure_fits_and_reads(page, lab, lesson):
    _open_lesson(page, lab, lesson)
    problems = _check_widgets(page, lesson) + figure_problems(page, lesson)
    assert not problems, "\n".join(problems)
