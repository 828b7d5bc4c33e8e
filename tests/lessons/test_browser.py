"""The lesson as a learner meets it: JupyterLab in a real headless Chromium.

The browser comes from browser_support.py: Debian's `chromium` driven by
Playwright; `python3 tasks.py test` sets ROBVIZ_REQUIRE_BROWSER=1, so a missing
browser fails instead of skipping.
"""

import time
from pathlib import Path

import pytest
from browser_support import chromium_page, jupyter_lab, lab_request, shoot
from test_figures_browser import figure_problems

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # reported by the `page` fixture
    pass

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
LESSON = "01_feature_space.ipynb"
#: Every lesson with a dashboard, and the CSS class of its box (robviz.widgets.Dashboard).
DASHBOARDS = {
    "01_feature_space.ipynb": "robviz-explorer",
    "03_mm_centers.ipynb": "robviz-centers-explorer",
}
RUN_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on loopback serving a temporary copy of the notebooks."""
    if not (NOTEBOOK_DIR / LESSON).exists():
        pytest.fail(f"notebooks/{LESSON} is missing")
    with jupyter_lab(NOTEBOOK_DIR, tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="module")
def page():
    with chromium_page() as page:
        yield page


IDLE = '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]'
PROMPTS_JS = (
    "[...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]"
    ".map(e => e.textContent)"
)


TITLES_JS = (
    "[...document.querySelectorAll('.jp-NotebookPanel .robviz-explorer .gtitle')]"
    ".map(e => e.textContent).join(' | ').toLowerCase()"
)


def titles(page) -> str:
    """The explorer's figure titles, lower case, in one string."""
    return page.evaluate(f"() => {TITLES_JS}")


def run_all_cells(page):
    """Run → Run All Cells through the menu bar, as a learner would."""
    page.locator(IDLE).wait_for(timeout=120_000)
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)
    # A click that lands while the kernel connection settles can be lost;
    # Run All marks every code cell "[*]" at once, so a missing mark means retry.
    for _ in range(3):
        page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
        page.locator('#jp-mainmenu-run .lm-Menu-itemLabel:text-is("Run All Cells")').click()
        try:
            page.wait_for_function(
                f"() => {PROMPTS_JS}.some(t => /[*0-9]/.test(t))", timeout=15_000, polling=250
            )
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    pytest.fail("Run → Run All Cells did not start the notebook")


def check_saved_outputs(page, path: Path, lesson: str = LESSON):
    """Save the (temporary) notebook and read it back to check its error outputs.

    Error outputs are only told apart from other stderr text in the document, not in the page.
    """
    import nbformat

    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        shoot(page, lesson.replace(".ipynb", "_dialog.png"))
        pytest.fail(f"a dialog is open after Run All: {dialog.first.inner_text()!r}")
    ran = page.evaluate(f"() => {PROMPTS_JS}.filter(t => /[0-9]/.test(t)).length")
    page.locator('.lm-MenuBar-itemLabel:text-is("File")').click()
    page.locator('#jp-mainmenu-file .lm-Menu-itemLabel:text-is("Save Notebook")').click()
    # Saved when the file holds every cell the page shows as run (an autosave from mid-run holds
    # fewer; a read during the write fails to parse): wait for that, not for a guessed time.
    deadline = time.monotonic() + 120
    while True:
        try:
            nb = nbformat.read(path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            if sum(bool(c.execution_count) for c in code) >= ran:
                break
        except Exception:  # caught mid-write: read again
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"the saved notebook did not catch up with the page's {ran} run cells in 120 s"
            )
        time.sleep(0.5)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    if errors:
        shoot(page, lesson.replace(".ipynb", "_error.png"))
        e = errors[0]
        pytest.fail(f"the lesson raised {e.ename}: {e.evalue}")
    unrun = sum(c.execution_count is None for c in code)
    assert unrun == 0, f"{unrun} of {len(code)} code cells did not run"


def open_and_run(page, lab, lesson: str):
    """Open ``lesson`` in JupyterLab, Run All Cells, wait until done and check nothing raised."""
    base, token, root = lab
    # one lesson, one kernel at a time
    for session in lab_request(base, token, "/api/sessions") or []:
        lab_request(base, token, f"/api/sessions/{session['id']}", method="DELETE")
    page.set_default_timeout(60_000)
    # reset: no tab of an earlier lesson comes back
    page.goto(f"{base}/lab/tree/{lesson}?reset&token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    run_all_cells(page)
    # Done when a cell has run, none waits ("[*]") and the kernel is idle
    # again; an error stops Run All and leaves the later prompts empty.
    page.wait_for_function(
        f"""() => {{
            const prompts = {PROMPTS_JS};
            return document.querySelector('{IDLE}')
                && prompts.some(t => /[0-9]/.test(t)) && !prompts.some(t => t.includes('*'));
        }}""",
        timeout=RUN_TIMEOUT_MS,
        polling=500,
    )
    check_saved_outputs(page, root / lesson, lesson)


def test_lesson_runs_and_widget_drives_figure(page, lab):
    open_and_run(page, lab, LESSON)

    tracebacks = page.locator(".jp-NotebookPanel .jp-RenderedText", has_text="Traceback")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()  # e.g. from a widget callback

    plots = page.locator(".jp-NotebookPanel .js-plotly-plot:has(.main-svg)")
    assert plots.count() >= 2, "expected at least two rendered plotly figures"
    animated = page.locator(
        ".jp-NotebookPanel .js-plotly-plot .slider-container,"
        " .jp-NotebookPanel .js-plotly-plot .updatemenu-button"
    )
    assert animated.count() >= 1, "expected an animated figure (slider or play button)"

    # The explorer: a dropdown "objective" and a figure titled after it.
    explorer = page.locator(".jp-NotebookPanel .robviz-explorer").first
    explorer.wait_for()
    label = page.locator(".widget-label", has_text="objective")
    select = explorer.locator(".widget-dropdown", has=label).locator("select").first
    explorer.locator(".gtitle").first.wait_for()
    before = select.evaluate("s => s.options[s.selectedIndex].text")
    assert before.lower() in titles(page), f"no figure title names the objective {before!r}"
    explorer.evaluate("e => e.scrollIntoView({block: 'start'})")
    shoot(page, LESSON.replace(".ipynb", ".png"))

    # Choosing another objective must redraw the figure for it.
    after = next((o for o in select.locator("option").all_inner_texts() if o != before), None)
    assert after, "the objective dropdown offers only one choice"
    old = titles(page)
    select.select_option(label=after)
    try:
        page.wait_for_function(
            f"([old, want]) => {{ const t = {TITLES_JS}; return t !== old && t.includes(want); }}",
            arg=[old, after.lower()],
            timeout=120_000,
            polling=500,
        )
    except PlaywrightTimeout:
        shoot(page, LESSON.replace(".ipynb", "_after.png"))
        pytest.fail(f"choosing {after!r} did not redraw the figure (titles: {titles(page)!r})")
    explorer.evaluate("e => e.scrollIntoView({block: 'start'})")
    shoot(page, LESSON.replace(".ipynb", "_after.png"))
    assert tracebacks.count() == 0, tracebacks.first.inner_text()

    # Keyboard alone: focus the drop-down, press an arrow key, and the figure follows (KeyboardScope
    # keeps JupyterLab's command-mode shortcuts from taking the key).
    assert select.get_attribute("data-lm-suppress-shortcuts") == "true"
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.selectedIndex")
    key, target = (
        ("ArrowDown", current + 1) if current + 1 < len(options) else ("ArrowUp", current - 1)
    )
    old = titles(page)
    select.focus()
    assert select.evaluate("s => document.activeElement === s"), (
        "the drop-down cannot take the keyboard focus"
    )
    page.keyboard.press(key)
    try:
        page.wait_for_function(
            f"([old, want]) => {{ const t = {TITLES_JS}; return t !== old && t.includes(want); }}",
            arg=[old, options[target].lower()],
            timeout=120_000,
            polling=500,
        )
    except PlaywrightTimeout:
        shoot(page, LESSON.replace(".ipynb", "_keyboard.png"))
        pytest.fail(
            f"{key} on the focused drop-down did not redraw the figure for {options[target]!r}"
        )
    assert tracebacks.count() == 0, tracebacks.first.inner_text()


# ----------------------------------------------------------------- every control of every dashboard

CONTROL_VALUE_JS = """c => {
    const select = c.querySelector('select');
    if (select) return select.options[select.selectedIndex].text;
    const readout = c.querySelector('.widget-readout');
    return readout ? readout.textContent.trim() : null;
}"""


def mark_figures(box):
    """Tag the figures now in the dashboard, so that a redraw can be told apart.

    A redraw is a new figure element.
    """
    box.evaluate(
        "b => b.querySelectorAll('.js-plotly-plot').forEach(p => { p.dataset.robvizOld = '1'; })"
    )


def wait_for_redraw(page, box, scope: str, what: str):
    """A new figure in the dashboard, nothing computing, and no error box.

    A screenshot names a failure.
    """
    try:
        page.wait_for_function(
            """s => { const b = document.querySelector('.jp-NotebookPanel .' + s);
                      return b
                          && b.querySelector('.js-plotly-plot:not([data-robviz-old]) .main-svg')
                          && !/computing|training/.test(b.textContent); }""",
            arg=scope,
            timeout=120_000,
            polling=500,
        )
    except PlaywrightTimeout:
        shoot(page, f"{scope}_{what}.png")
        pytest.fail(f"{what}: the dashboard did not redraw")
    errors = box.locator(".robviz-error")
    if errors.count():
        shoot(page, f"{scope}_{what}_error.png")
        pytest.fail(f"{what}: the dashboard shows an error: {errors.first.inner_text()}")


def change_control(page, control, keyboard: bool) -> str:
    """Move a drop-down or a slider to a neighbouring value, by keyboard or by mouse.

    By keyboard: focus, then an arrow key.
    """
    select = control.locator("select")
    if select.count():
        options = select.locator("option").all_inner_texts()
        index = select.evaluate("s => s.selectedIndex")
        forward = index + 1 < len(options)
        if keyboard:
            select.focus()
            page.keyboard.press("ArrowDown" if forward else "ArrowUp")
        else:
            select.select_option(index=index + 1 if forward else index - 1)
        return "keyboard" if keyboard else "mouse"
    handle = control.locator(".noUi-handle").first
    handle.focus()  # a slider is moved with the arrow keys, as a keyboard user does
    value = control.evaluate(CONTROL_VALUE_JS)
    page.keyboard.press("ArrowRight")
    try:
        page.wait_for_function(
            f"([c, v]) => ({CONTROL_VALUE_JS})(c) !== v",
            arg=[control.element_handle(), value],
            timeout=5_000,
            polling=100,
        )
    except PlaywrightTimeout:  # at the top of its range: go down instead
        page.keyboard.press("ArrowLeft")
    return "keyboard"


@pytest.mark.parametrize("lesson", sorted(DASHBOARDS))
def test_every_dashboard_control_redraws(page, lab, lesson):
    """Each dashboard control, changed once, redraws the figure and leaves no error unshown.

    Every control of each lesson's dashboard: drop-downs by mouse, one by keyboard; sliders by
    keyboard.
    """
    scope = DASHBOARDS[lesson]
    if lesson != LESSON:  # lesson 1 ran in the test above, in this same page
        open_and_run(page, lab, lesson)
    box = page.locator(f".jp-NotebookPanel .{scope}").first
    box.wait_for()
    box.locator(".js-plotly-plot .main-svg").first.wait_for()
    controls = box.locator(".widget-dropdown, .widget-hslider")
    assert controls.count() >= 2, f"{lesson}: expected a dashboard with controls"
    keyboard_used = False
    for i in range(controls.count()):
        control = controls.nth(i)
        if control.evaluate("c => !!c.querySelector('select:disabled, .noUi-target[disabled]')"):
            continue
        label = control.locator(".widget-label").inner_text().strip()
        before = control.evaluate(CONTROL_VALUE_JS)
        mark_figures(box)
        box.evaluate("e => e.scrollIntoView({block: 'start'})")
        how = change_control(page, control, keyboard=not keyboard_used)
        keyboard_used = True
        after = control.evaluate(CONTROL_VALUE_JS)
        assert after != before, f"{lesson}: {label!r} did not change by {how} ({before!r})"
        wait_for_redraw(page, box, scope, label.replace(" ", "_"))
    shoot(page, lesson.replace(".ipynb", "_dashboard.png"))
    tracebacks = page.locator(".jp-NotebookPanel .jp-RenderedText", has_text="Traceback")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    # The live lesson's figures, the dashboard's included, as the figure check measures saved ones.
    problems = figure_problems(page, lesson)
    assert not problems, "\n".join(problems)
