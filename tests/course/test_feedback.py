"""nbgrader's feedback in a course written by `robviz course init` (robviz.course.feedback).

The page carries the course's MathJax 3 and loads nothing from another site; in a real Chromium
offline, its math is typeset. A one-cell assignment, graded as submitted (no kernel), keeps the
nbgrader round trip to about 20 s (the exporter alone is checked in a second); the lessons' own
grading is in test_grading.py.
"""

import json
import re

import nbformat
import pytest
from browser_support import chromium_page, shoot
from grading_support import AS_SUBMITTED, _nbgrader

from robviz.course import init_course
from robviz.course.gallery import mathjax_source

#: Markdown math as the lessons write it: inline, display (with an extension), an escaped dollar.
MATH = r"The loss is $\tfrac12\|z - \mu_y\|^2$, and $$x^2 + \boldsymbol{\mu}_i$$ costs \$5."
#: What makes a browser fetch from another site: a script, stylesheet, image or frame address, an
#: import, a url().
REMOTE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//|import\(\s*["']"""
    r"""(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
    re.I,
)


def _assignment(folder):
    """A one-exercise lesson in ``folder``: math in markdown, exercise 0.1 and its graded check.

    The exercise's answer is a value.
    """
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        }
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(MATH),
        nbformat.v4.new_code_cell("from robviz import exercises"),
        nbformat.v4.new_code_cell(
            "loss_by_hand = ...  # your answer\n### BEGIN SOLUTION\nloss_by_hand = 41.0\n"
            "### END SOLUTION",
            metadata={
                "nbgrader": {
                    "schema_version": 3,
                    "solution": True,
                    "grade": False,
                    "locked": False,
                    "task": False,
                    "grade_id": "answer_0_1",
                }
            },
        ),
        nbformat.v4.new_code_cell(
            'exercises.check("0.1", loss_by_hand)',
            metadata={
                "nbgrader": {
                    "schema_version": 3,
                    "solution": False,
                    "grade": True,
                    "locked": True,
                    "task": False,
                    "grade_id": "check_0_1",
                    "points": 1,
                }
            },
        ),
    ]
    folder.mkdir()
    nbformat.write(nb, folder / "00_tiny.ipynb")


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    """The HTML page ``nbgrader generate_feedback`` writes for one student of a course.

    The course is one from ``init_course``.
    """
    tmp = tmp_path_factory.mktemp("feedback")
    _assignment(tmp / "lessons")
    course = tmp / "course"
    init_course(course, tmp / "lessons")
    _nbgrader(course, "generate_assignment", "00_tiny")
    submitted = course / "submitted" / "student" / "00_tiny"
    submitted.mkdir(parents=True)
    released = json.loads(
        (course / "release" / "00_tiny" / "00_tiny.ipynb").read_text(encoding="utf-8")
    )
    (submitted / "00_tiny.ipynb").write_text(json.dumps(released), encoding="utf-8")
    _nbgrader(course, "autograde", "00_tiny", *AS_SUBMITTED)
    _nbgrader(course, "generate_feedback", "00_tiny")
    return course / "feedback" / "student" / "00_tiny" / "00_tiny.html"


@pytest.mark.slow
def test_feedback_carries_the_course_mathjax_and_loads_nothing_from_another_site(feedback):
    page = feedback.read_text(encoding="utf-8")
    head = page[: page.index("</head>")]
    assert REMOTE.findall(page) == [], "the feedback page loads something from another site"
    assert (
        "cdnjs" not in page and "mathjax/2" not in page.lower() and "MathJax.Hub" not in page
    )  # nbgrader's MathJax 2
    assert head.count('<script id="MathJax-script">') == 1, (
        "MathJax is not inlined once in the head"
    )
    assert head.index("window.MathJax = {") < head.index('<script id="MathJax-script">'), (
        "configured before it loads"
    )
    assert mathjax_source().read_text(encoding="utf-8") in head  # the gallery's file, whole
    assert r"$\tfrac12\|z - \mu_y\|^2$" in page  # left to MathJax


def test_the_real_nbgrader_template_without_the_course_exporter_loads_mathjax_from_a_cdn(tmp_path):
    """What the course's exporter replaces: nbgrader's template calling the macro.

    If nbgrader's template stops calling the macro, this test says so.
    """
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback

    from robviz.course.feedback import FeedbackExporter

    converter = GenerateFeedback()
    assert converter.exporter_class is HTMLExporter
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MATH)])
    resources = {"nbgrader": {"notebook": "tiny", "score": 0, "max_score": 1, "late_penalty": 0}}
    plain, _ = HTMLExporter(config=converter.config).from_notebook_node(
        nb, resources=json.loads(json.dumps(resources))
    )
    ours, _ = FeedbackExporter(config=converter.config).from_notebook_node(nb, resources=resources)
    assert REMOTE.findall(plain) and "cdnjs" in plain
    assert not REMOTE.findall(ours) and "MathJax-script" in ours


@pytest.mark.slow
@pytest.mark.browser
def test_feedback_math_is_typeset_offline_in_a_browser(feedback):
    """The page opened from disk; every request must stay on disk."""
    with chromium_page() as page:
        requests, errors = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(feedback.as_uri())
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.evaluate("""() => [...document.querySelectorAll('mjx-container')].map(
            e => ({display: e.getAttribute('display') === 'true', svg: !!e.querySelector('svg'),
                   error: !!e.querySelector('[data-mjx-error], merror')}))""")
        assert typeset == [
            {"display": False, "svg": True, "error": False},
            {"display": True, "svg": True, "error": False},
        ], typeset
        assert "costs $5" in page.inner_text("body")  # an escaped dollar stays a dollar
        shoot(page, "feedback_math.png")
    assert requests and all(url.startswith("file://") for url in requests), requests
    assert not errors, errors
