"""Every number a student reads in a lesson's prose is true on the run beside it.

A number that a run produces drifts with the machine, the thread count and library versions, so a
lesson prints it (a formatted takeaway, ``display(Markdown(f"..."))``, or a table) or states a bound
that it asserts; it never types it into markdown. This test reads the markdown of every lesson and
fails on a *measured-looking* number: a decimal (``97.8``, ``0.31``) or a percentage (``36 %``,
``18.5%``). Such a number is allowed when it is

* a constant of the lesson: the same number appears in one of its code cells (configuration such as
  ``eps=0.2``, or the bound an assert checks: ``93 %`` for ``> 0.93``);
* typeset math (``$...$``, ``$$...$$``): closed forms and formulas, not measurements; or inline
  code;
* a quotation: the sentence names its source, **the talk**, **the paper** (or ``paper's``), the
  **authors**, or a citation (``et al.``, ``Table N``). A sentence ends at ``.``, ``!`` or ``?``
  followed by a space (not after ``et al.``, ``e.g.``, ``i.e.``), or at the end of a paragraph or
  list item;
* in the lesson's ``**Time.**`` paragraph: the header's run time is an estimate for a laptop, bound
  instead to the README's table by ``test_header_time_matches_the_readme``.

Integers are not checked (counts of classes, steps and images are configuration nearly always).
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A decimal or a percentage, not part of a word, a version (1.2.3) or a name (ResNet-20 stays an
# integer).
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.]*\.\d)(\s*%)?(?![\w])")
QUOTATION = re.compile(r"\btalk\b|\btalk's\b|\bpaper\b|\bpaper's\b|\bpapers\b|\bauthors?\b|\bauthors'|et al\.|"
                       r"\bTable \d", re.IGNORECASE)
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
CODE_SPAN = re.compile(r"`[^`]*`")
SENTENCE_END = re.compile(r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[*-]|\d+\.)\s)")


def _constants(code: str) -> set[str]:
    """The numbers written in a lesson's code, as text and as percentages of fractions.

    For example 0.93 also gives 93.
    """
    found = set(re.findall(r"\d+\.\d+|\d+", code))
    for value in list(found):
        if "." in value:
            percent = f"{float(value) * 100:.10g}"
            found.add(percent)
    return found


def measured_numbers(notebook) -> list[tuple[int, str, str]]:
    """(cell index, number, sentence) for every measured-looking number in a notebook's markdown.

    Only numbers that are neither a constant of the lesson, math, code nor a marked quotation count
    (see the module docstring).
    """
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    constants = _constants(code)
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        text = CODE_SPAN.sub(" ", MATH.sub(" ", cell.source))
        for paragraph in re.split(r"\n\s*\n", text):
            if paragraph.lstrip().startswith("**Time.**"):
                continue
            for sentence in SENTENCE_END.split(paragraph):
                if QUOTATION.search(sentence):
                    continue
                for match in NUMBER.finditer(sentence):
                    number, percent = match.group(1), match.group(2)
                    if "." not in number and not percent:
                        continue
                    if number in constants:
                        continue
                    found.append((index, match.group(0).strip(), " ".join(sentence.split())))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_measured_number_is_typed_into_prose(path):
    notebook = nbformat.read(path, as_version=4)
    found = measured_numbers(notebook)
    assert not found, "numbers typed into prose (print them from the run or state an asserted bound):\n" + \
        "\n".join(f"  cell {index}: {number!r} in: {sentence}" for index, number, sentence in found)


def _lesson(*markdown: str, code: str = "x = 1"):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]
                                    + [nbformat.v4.new_markdown_cell(text) for text in markdown])


def test_a_planted_number_is_caught():
    found = measured_numbers(_lesson("Intro.", "RCE reaches 97.8 % here, and CE 0.93 of it."))
    assert [number for _, number, _ in found] == ["97.8 %", "0.93"]
    assert found[0][0] == 2


def test_a_bare_percentage_and_a_decimal_without_unit_are_caught():
    found = measured_numbers(_lesson("* **non-ME**: 36 pairs left, AUC 83.4\n* next: 12%"))
    assert [number for _, number, _ in found] == ["83.4", "12%"]


def test_constants_math_code_and_quotations_pass():
    notebook = _lesson("We attack with eps = 0.2 and require 93 % accuracy.",
                       "The bound is $\\sqrt{2} \\approx 1.41$ and `lr=0.003`.",
                       "The talk's MNIST numbers: FGSM 66.8 → 98.6. Ours are printed above.",
                       "Pang et al. report 99.5 on C&W.",
                       "**Time.** About 35 s, peak memory 0.6 GB.",
                       "Ten classes, 3 binary steps and lesson 2, e.g. ResNet-20.",
                       code="eps = 0.2\nassert accuracy > 0.93")
    assert measured_numbers(notebook) == []


def test_the_quotation_marker_is_per_sentence():
    found = measured_numbers(_lesson("The talk reports 99.6. Our run gives 98.8 on the same cell."))
    assert [number for _, number, _ in found] == ["98.8"]


README_TIME = re.compile(r"^\| (\d+) \| \[.*\]\(notebooks/(\S+\.ipynb)\) \|.*\| about (\d+) "
                         r"s", re.MULTILINE)


def test_header_time_matches_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    times = {name: seconds for _, name, seconds in README_TIME.findall(readme)}
    assert len(times) >= 9, "the README's lesson table lost its run times"
    for name, seconds in times.items():
        header = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source
        paragraph = next((p for p in re.split(r"\n\s*\n", header) if "**Time.**" in p), "")
        said = re.findall(r"(\d+) s\b", paragraph)
        assert said, f"{name}: no '**Time.** ... N s' in the header"
        assert seconds in said, f"{name}: the header says {', '.join(said)} s, the README {seconds} s"
