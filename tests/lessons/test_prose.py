"""Every number a student reads in a lesson's prose is true on the run beside it.

A number that a run produces drifts with the machine, the thread count and library versions, so a
lesson prints it (a formatted takeaway, ``display(Markdown(f"..."))``, or a table) or states a bound
that it asserts; it never types it into markdown. This test reads the markdown of every lesson and
fails on a *measured-looking* number:

* a decimal (``97.8``, ``0.31``) or a percentage (``36 %``, ``18.5%``);
* a count: an integer before a measured noun (``36 RCE pairs``, ``135 of 150 digits``, ``3 times``,
  ``5 points``, ``10 steps``; see ``COUNT_NOUNS``), at most one word between them; an integer after
  ``lesson``, ``section``, ``step``, ``Table`` and the like is a reference, not a count;
* a factor (``3x``, ``1.5 ×``);
* a number word before a measure (``six orders of magnitude``, ``ten points``, ``three times``,
  ``hundreds of times``; see ``NUMBER_WORDS``).

Other integers are not checked (lesson numbers, ``ResNet-20``, ``10 classes``, ``two hidden
layers``).

Such a number is allowed when it is

* a constant of the lesson: a *configuration literal* of one of its code cells with that value
  (``0.93`` also stands for ``93``, ``eps = 8 / 255`` for ``8``, ``255`` and ``0.031...``). A
  configuration literal is a number written in a code cell (not in a string, a format spec or a
  comment), alone or in a literal expression (a tuple, list, arithmetic or call of literals:
  ``(0.25, 0.5)``, ``200 * 50_000 // 50``, ``np.array([0.9, 0.8])``; both branches of
  ``600 if FULL else 120``), that is the value of an assignment (``eps = 0.2``), of a keyword
  argument (``steps=10``) or parameter default, the iterable of a ``for`` (``for eps in (0.1,
  0.2)``, ``range(5)``), or any literal in an ``assert``'s test (the bound it checks: ``93 %`` for
  ``> 0.93``). A number that appears only as an index, a positional argument next to a variable
  (``round(x, 3)``), in arithmetic with a variable, in a string or a comment is not a constant: it
  can agree with the prose by chance;
* typeset math (``$...$``, ``$$...$$``): closed forms and formulas, not measurements; or inline
  code;
* a quotation: the sentence attributes it to its source, with a possessive (**the talk's**,
  **the paper's**, **the authors'**), a preposition (**in the talk**, **according to the paper**;
  not *as in* or *than in*, which compare our run with it), a reporting verb (**the paper
  reports**) or a citation (``et al.``, ``Table N``), and does not also speak of this run (*we*,
  *our*, *ours*, *here*, *this run*): a sentence that names the paper next to our own number
  quotes neither. A sentence ends at ``.``, ``!`` or ``?`` followed by a space (not after
  ``et al.``, ``e.g.``, ``i.e.``), or at the end of a paragraph, list item or table row (a
  citation in one row of a table quotes that row only);
* in the lesson's ``**Time.**`` paragraph: the header's run time is an estimate for a laptop, bound
  instead to the README's table by ``test_header_time_matches_the_readme``.
"""

import ast
import operator
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A decimal or a percentage, not part of a word, a version (1.2.3) or a name (ResNet-20 stays an
# integer).
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.]*\.\d)(\s*%)?(?![\w])")

# Nouns that count what a run measures (or configures: then the code says so).
COUNT_NOUNS = (
    r"pairs?|points?|digits?|images?|inputs?|examples?|samples?|seeds?|steps?|"
    r"times|percent|epochs?|iterations?|restarts?|queries|errors?|mistakes?"
)
# An integer, with thousands separated by a space, a thin space or a comma (20 000, 1,797).
INTEGER = r"\d{1,3}(?:[ \u2009\u202f,]\d{3})+(?!\d)|\d+"
# Words that may stand between a count and its noun: one adjective or name (36 RCE pairs), never a
# function word (lesson 1 trains networks, 2 for the digits).
FUNCTION_WORDS = set(
    "a an the of for to in on at by with and or than more less fewer as is are be its their this "
    "that these those per from into out train trains".split()
)
COUNT = re.compile(
    rf"(?<![\w.,$-])(?:({INTEGER})\s+(?:out\s+)?of\s+)?({INTEGER})(?![\w.]*\.\d)"
    rf"(?:\s+([A-Za-z][\w'-]*))??\s+({COUNT_NOUNS})\b"
)
# A factor: 3x, 1.5 ×; not a size (8x8, 3 x 50 steps).
MULTIPLIER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?[x×](?!\s*\d)(?!\w)")
# A number before it is a reference, not a count: lesson 2, section 5, step 0, Table 2.
REFERENCE = re.compile(
    r"\b(?:lessons?|sections?|steps?|epochs?|tables?|eq\.|equations?|theorems?|"
    r"corollary|exercises?|figures?|cells?|algorithm|classes)\s*$",
    re.IGNORECASE,
)

NUMBER_WORDS = dict(
    zip(
        "two three four five six seven eight nine ten eleven twelve twenty dozen hundred "
        "thousand".split(),
        (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 12, 100, 1000),
    )
)
_WORD = "|".join(NUMBER_WORDS)
# A number word before a measure (six orders of magnitude, ten points, three times, tenfold). A
# plural or a vague quantity (hundreds of times, a few hundred points) is never a constant; "an" or
# "one order of magnitude" is a factor of 10, "half an order" one of 10^0.5.
WORD_COUNT = re.compile(
    rf"\b(?:(an?\s+few|few|several|some|many)\s+)?"
    rf"(?:({_WORD}|dozens|hundreds|thousands|an|one|half\s+an)(?:\s+of)?[\s-]+"
    rf"(orders?\s+of\s+magnitude|times|points?|percent|fold)|({_WORD})(fold))\b",
    re.IGNORECASE,
)
MAGNITUDE_WORDS = {"an": 1, "one": 1, "half an": 0.5}
# Measures in percent (points are percentage points): their number may be a fraction in the code.
PERCENT_NOUNS = {"point", "points", "percent"}

SOURCE = r"(?:talk|paper|papers|authors?)"
QUOTATION = re.compile(
    rf"\b(?:talk's|paper's|papers'|authors')|"
    rf"(?<!\bas )(?<!\bthan )\b(?:in|by|from|according to) (?:the|their|this|that|a) {SOURCE}\b|"
    rf"\b(?:the|their|this|that|a) {SOURCE} (?:reports?|reported|gives?|gave|shows?|showed|states?|"
    rf"stated|quotes?|quoted|lists?|listed|claims?|claimed|finds?|found|measures?|measured)\b|"
    r"\bet al\.|\bTable \d",
    re.IGNORECASE,
)
OWN_RUN = re.compile(r"\b(?:we|our|ours|here|this run|this lesson)\b", re.IGNORECASE)
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
CODE_SPAN = re.compile(r"`[^`]*`")
SENTENCE_END = re.compile(
    r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s+|\n\s*\n|"
    r"\n(?=\s*(?:[*-]|\d+\.)\s)|\n(?=\s*\|)"
)


ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}


def _value(node) -> float | None:
    """The value of an arithmetic of number literals (``200 * 50_000 // 50``), or None."""
    if isinstance(node, ast.Constant):
        number = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        return node.value if number else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        left, right = _value(node.left), _value(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Pow) and abs(right) > 64):
            return None
        try:
            return ARITHMETIC[type(node.op)](left, right)
        except ArithmeticError:
            return None
    return None


def _literal_values(node) -> list[float] | None:
    """The numbers of a literal expression, or None if it is not one.

    A literal expression is a number, an arithmetic of numbers, a tuple, list, set or dict of them,
    ``a if FULL else b`` of them (both branches: the default and the full run's setting), or a call
    whose positional arguments are all literal expressions (``np.array([0.9, 0.8])``, ``range(5)``).
    An arithmetic gives its leaves and its value: ``8 / 255`` gives 8, 255 and 0.0313...
    """
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, bool)) or node.value is None:
            return []
        return [node.value] if isinstance(node.value, (int, float)) else None
    if isinstance(node, (ast.UnaryOp, ast.BinOp)):
        operands = [node.operand] if isinstance(node, ast.UnaryOp) else [node.left, node.right]
        parts = [_literal_values(operand) for operand in operands]
        value = _value(node)
        if any(part is None for part in parts) or value is None:
            return None
        return [v for part in parts for v in part] + [value]
    if isinstance(node, ast.Call):  # a constructor of literals: np.array([0.9, 0.8]), range(5)
        parts = [_literal_values(argument) for argument in node.args]
        return None if any(part is None for part in parts) else [v for part in parts for v in part]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.IfExp)):
        if isinstance(node, ast.Dict):
            elements = node.values
        elif isinstance(node, ast.IfExp):
            elements = [node.body, node.orelse]
        else:
            elements = node.elts
        parts = [_literal_values(element) for element in elements]
        return None if any(part is None for part in parts) else [v for part in parts for v in part]
    return None


def _configuration(tree: ast.AST) -> list[float]:
    """The numbers of the configuration literals in parsed code (see the module docstring)."""
    values: list[float] = []

    def take(node) -> None:
        found = _literal_values(node) if node is not None else None
        values.extend(found or [])

    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            take(node.value)
        elif isinstance(node, ast.keyword):
            take(node.value)
        elif isinstance(node, ast.arguments):
            for default in node.defaults + node.kw_defaults:
                take(default)
        elif isinstance(node, (ast.For, ast.comprehension)):
            take(node.iter)
        elif isinstance(node, ast.Assert):
            # every literal of the test is a bound it checks, except an index (values[5])
            indices = {
                id(c)
                for sub in ast.walk(node.test)
                if isinstance(sub, ast.Subscript)
                for c in ast.walk(sub.slice)
            }
            for inner in ast.walk(node.test):
                if isinstance(inner, ast.Constant) and id(inner) not in indices:
                    take(inner)
    return values


def _as_text(value: float) -> set[str]:
    """How the prose may write a constant: 0.93 as 0.93, and as a percentage ``%93``.

    Only a fraction (at most 1 in size: 0.93, 1) is also a percentage, and only a percentage in
    the prose (``93 %``, ``93 percent``, ``3 points``) is matched against ``%``-marked values:
    ``3.0`` in code is no ``300 points``, nor ``0.5`` any ``50 steps``.
    """
    texts = {f"{value:.10g}"}
    if abs(value) <= 1:
        texts.add(f"%{value * 100:.10g}")
    return texts


def _normal(number: str) -> str:
    """A number as ``_as_text`` writes it: 0.20 as 0.2."""
    return f"{float(number):.10g}"


def _keys(number: str, percent: bool) -> set[str]:
    """The constants a number in the prose may be: itself, and a fraction if it is a percentage."""
    return {_normal(number)} | ({"%" + _normal(number)} if percent else set())


def _constants(code: str) -> set[str]:
    """The values of the configuration literals of a code cell, as the prose writes them.

    Raises
    ------
    SyntaxError
        If the code is not Python (the test cannot tell its constants then).
    """
    found: set[str] = set()
    for value in _configuration(ast.parse(code)):
        found |= _as_text(value)
    return found


def _is_quotation(sentence: str) -> bool:
    return bool(QUOTATION.search(sentence)) and not OWN_RUN.search(sentence)


def _counts(sentence: str):
    """(text, values) for every count and number word before a measured noun in a sentence.

    ``values`` are the constants that would make it one (any of them); empty for a vague quantity.
    """
    for match in COUNT.finditer(sentence):
        between = (match.group(3) or "").lower()
        if between in FUNCTION_WORDS or REFERENCE.search(sentence[: match.start()]):
            continue
        for group in (1, 2):
            if match.group(group):
                number = re.sub(r"[ \u2009\u202f,]", "", match.group(group))
                percent = match.group(4).lower() in PERCENT_NOUNS
                yield f"{match.group(group)} {match.group(4)}", _keys(number, percent)
    for match in MULTIPLIER.finditer(sentence):
        yield match.group(0), _keys(match.group(1), False)
    for match in WORD_COUNT.finditer(sentence):
        vague, word, measure = match.group(1), match.group(2) or match.group(4), match.group(3)
        word = " ".join(word.lower().split())
        text = " ".join(match.group(0).split())
        if measure and "magnitude" in measure.lower():
            # k orders of magnitude: the code may bound the factor 10^k, or k (a log10) unless k = 1
            k = MAGNITUDE_WORDS.get(word, NUMBER_WORDS.get(word))
            if k is None or vague:
                yield text, set()
            else:
                yield text, {f"{10**k:.10g}"} | ({f"{k:.10g}"} if k != 1 else set())
        elif word in NUMBER_WORDS:
            percent = measure is not None and measure.lower() in PERCENT_NOUNS
            yield text, set() if vague else _keys(str(NUMBER_WORDS[word]), percent)
        elif word not in MAGNITUDE_WORDS:  # hundreds of times; not "one point"
            yield text, set()


def measured_numbers(notebook) -> list[tuple[int, str, str]]:
    """(cell index, number, sentence) for every measured-looking number in a notebook's markdown.

    Only numbers that are neither a constant of the lesson, math, code nor a marked quotation count
    (see the module docstring).
    """
    constants: set[str] = set()
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            try:
                constants |= _constants(cell.source)
            except SyntaxError as error:
                raise ValueError(f"code cell {index} is not Python: {error}") from error
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        text = CODE_SPAN.sub(" ", MATH.sub(" ", cell.source))
        for paragraph in re.split(r"\n\s*\n", text):
            if paragraph.lstrip().startswith("**Time.**"):
                continue
            for sentence in SENTENCE_END.split(paragraph):
                if _is_quotation(sentence):
                    continue
                said = " ".join(sentence.split())
                for match in NUMBER.finditer(sentence):
                    number, percent = match.group(1), match.group(2)
                    if "." not in number and not percent:
                        continue
                    if REFERENCE.search(sentence[: match.start()]):
                        continue
                    if not _keys(number, bool(percent)) & constants:
                        found.append((index, match.group(0).strip(), said))
                for count, values in _counts(sentence):
                    if not values & constants:
                        found.append((index, count, said))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_measured_number_is_typed_into_prose(path):
    notebook = nbformat.read(path, as_version=4)
    found = measured_numbers(notebook)
    assert not found, (
        "numbers typed into prose (print them from the run or state an asserted bound):\n"
        + "\n".join(
            f"  cell {index}: {number!r} in: {sentence}" for index, number, sentence in found
        )
    )


def _lesson(*markdown: str, code: str = "x = 1"):
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code)]
        + [nbformat.v4.new_markdown_cell(text) for text in markdown]
    )


def test_a_planted_number_is_caught():
    found = measured_numbers(_lesson("Intro.", "RCE reaches 97.8 % here, and CE 0.93 of it."))
    assert [number for _, number, _ in found] == ["97.8 %", "0.93"]
    assert found[0][0] == 2


def test_a_bare_percentage_and_a_decimal_without_unit_are_caught():
    found = measured_numbers(_lesson("* **non-ME**: 36 pairs left, AUC 83.4\n* next: 12%"))
    assert [number for _, number, _ in found] == ["83.4", "36 pairs", "12%"]


def test_constants_math_code_and_quotations_pass():
    notebook = _lesson(
        "We attack with eps = 0.2 and require 93 % accuracy.",
        "The bound is $\\sqrt{2} \\approx 1.41$ and `lr=0.003`.",
        "The talk's MNIST numbers: FGSM 66.8 → 98.6. Ours are printed above.",
        "Pang et al. report 99.5 on C&W.",
        "**Time.** About 35 s, peak memory 0.6 GB.",
        "Ten classes, 3 binary steps and lesson 2, e.g. ResNet-20.",
        code="eps = 0.2\nattack = CW(binary_steps=3)\nassert accuracy > 0.93",
    )
    assert measured_numbers(notebook) == []


def test_the_quotation_marker_is_per_sentence():
    found = measured_numbers(_lesson("The talk reports 99.6. Our run gives 98.8 on the same cell."))
    assert [number for _, number, _ in found] == ["98.8"]


def _flagged(*markdown: str, code: str = "x = 1") -> list[str]:
    return [number for _, number, _ in measured_numbers(_lesson(*markdown, code=code))]


def test_a_planted_count_is_caught():
    found = _flagged(
        "RCE keeps 36 RCE pairs and 135 of 150 digits; 20 000 points, 1,797 images.", code="n = 150"
    )
    assert found == ["36 pairs", "135 digits", "20 000 points", "1,797 images"]


def test_a_configured_or_asserted_count_passes():
    assert (
        _flagged(
            "PGD with 10 steps on 200 test images (20 per class), 600 steps in full mode; "
            "more than 3 times the noise's success, 20 000 points.",
            code="attack = PGD(model, steps=10)\nx = sample(data, n=200)\n"
            "config = TrainConfig(steps=600 if FULL else 300)\n"
            "n = 2 * 10_000\nassert fooled > 3 * noise",
        )
        == []
    )


def test_a_number_that_is_no_configuration_literal_is_no_constant():
    # a comment, a string, a format spec, an index and arithmetic with a variable can agree with
    # the prose by chance: none makes a number a constant
    code = (
        'x = data[36]  # measured 97.8 %\nprint(f"{acc:.1f} of 135 digits")\n'
        'percent = acc * 100\ndisplay(Markdown("MMC reaches 42.5 %"))'
    )
    assert _flagged("36 pairs, 97.8 %, 135 digits, 100 %, 42.5 %, 1.0", code=code) == [
        "97.8 %",
        "100 %",
        "42.5 %",
        "1.0",
        "36 pairs",
        "135 digits",
    ]


def test_an_index_in_an_assert_and_a_fraction_outside_a_percentage_are_no_constants():
    code = "assert effect[5] < effect[-1]\nassert distance > 3.0\neps = 0.5"
    found = _flagged("Within 5 points; 300 training points, 50 steps, but 50 % and 3.0.", code=code)
    assert found == ["5 points", "300 points", "50 steps"]


def test_a_code_cell_that_is_not_python_is_an_error_naming_it():
    with pytest.raises(ValueError, match="code cell 0 is not Python"):
        measured_numbers(_lesson("Text.", code="assert x >"))


def test_a_positional_argument_is_a_constant_only_in_a_call_of_literals():
    # sample(data, 200) may be round(x, 200) for all the test knows; np.array([...]) of literals
    # and range(5) construct configuration
    code = "x = sample(data, 200)\nscores = np.array([0.85, 0.3])\nfor seed in range(5):\n    pass"
    assert _flagged("On 200 test images the scores 0.85 and 0.3, 5 seeds.", code=code) == [
        "200 images"
    ]


def test_references_and_other_integers_are_not_counts():
    assert (
        _flagged(
            "Lesson 1 trains networks. At step 0 both untrained networks collapse. "
            "Section 5 points at exercise 2.1, with two hidden layers of 32 ReLUs, "
            "10 classes and 2 for the digits."
        )
        == []
    )


def test_a_planted_factor_is_caught_and_an_asserted_one_passes():
    text = "DeepFool overestimates MMC 1.5x more than SCE, PGD is 3 × stronger; 8x8 digits, 3 x 50."
    assert _flagged(text) == ["1.5x", "3 ×"]
    assert _flagged(text, code="assert ratio > 1.5 * base and pgd > 3 * noise") == []


def test_a_planted_number_word_is_caught():
    found = _flagged(
        "The losses fall by six orders of magnitude. MMC keeps ten points more. "
        "JSMA is hundreds of times slower at a few hundred points; MMC is tenfold "
        "denser, an order of magnitude.",
        code="ratio = 2\nassert gap > 0.2",
    )
    assert found == [
        "six orders of magnitude",
        "ten points",
        "hundreds of times",
        "a few hundred points",
        "tenfold",
        "an order of magnitude",
    ]


def test_a_number_word_bound_by_the_code_passes():
    code = (
        "assert ratio > 1e6\nassert gap > 0.10\nassert growth > 10\nassert off > 0.5\n"
        "attack = APGD(restarts=5)"
    )
    assert (
        _flagged(
            "The losses fall by more than six orders of magnitude, MMC keeps at least ten "
            "points more, its loss grows more than tenfold, half an order of magnitude "
            "off; APGD restarts five times. One of these points.",
            code=code,
        )
        == []
    )


def test_naming_the_source_is_not_quoting_it():
    found = _flagged(
        "As in the paper, MMC reaches 97.8 %. It is 91.2 here, better than in the "
        "paper. Our run beats the paper's 99.1 with 98.8. The paper recipe costs "
        "200 000 SGD steps."
    )
    assert found == ["97.8 %", "91.2", "99.1", "98.8", "200 000 steps"]


def test_a_citation_quotes_its_table_row_only():
    found = _flagged(
        "| objective | source | accuracy |\n|---|---|---|\n"
        "| MMC | Pang et al. | 99.1 |\n| MMC, measured | | 97.8 |"
    )
    assert found == ["97.8"]


def test_an_attributed_quotation_passes():
    assert (
        _flagged(
            "The paper reports 99.5 on C&W. In the talk, SCE falls to 1.5 %. The talk's "
            "models train for 200 epochs. According to the paper, 10 restarts; "
            "the authors' AUC is 91.1."
        )
        == []
    )


README_TIME = re.compile(
    r"^\| (\d+) \| \[.*\]\(notebooks/(\S+\.ipynb)\) \|.*\| about (\d+) "
    r"s",
    re.MULTILINE,
)


def test_header_time_matches_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    times = {name: seconds for _, name, seconds in README_TIME.findall(readme)}
    assert len(times) >= 9, "the README's lesson table lost its run times"
    for name, seconds in times.items():
        header = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source
        paragraph = next((p for p in re.split(r"\n\s*\n", header) if "**Time.**" in p), "")
        said = re.findall(r"(\d+) s\b", paragraph)
        assert said, f"{name}: no '**Time.** ... N s' in the header"
        assert seconds in said, (
            f"{name}: the header says {', '.join(said)} s, the README {seconds} s"
        )


START_HERE_ROW = re.compile(
    r"^\| (\d+) \| \[(.*)\]\((\d\d_\S+\.ipynb)\) \| ([^|]*) \| about (\d+) s\b", re.MULTILINE
)
LESSON_NUMBERS = re.compile(r"[Ll]essons?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)")


def _header_paragraph(name, mark):
    header = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source
    return next((p for p in re.split(r"\n\s*\n", header) if mark in p), "")


def test_start_here_table_matches_each_lessons_header():
    """Lesson 0's table: each lesson's title, run time and prerequisites as its own header says.

    The title is the one the lesson opens with (``# Lesson N · title``); the time is one the
    header's ``**Time.**`` paragraph names; the lessons it builds on (outside parentheses, which
    qualify a part) are those its ``**Prerequisites:**`` name.
    """
    start = nbformat.read(ROOT / "notebooks" / "00_start_here.ipynb", as_version=4)
    table = "\n".join(cell.source for cell in start.cells if cell.cell_type == "markdown")
    rows = START_HERE_ROW.findall(table)
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[01]*.ipynb"))[1:]
    assert [name for _, _, name, _, _ in rows] == names, "lesson 0's table lost a lesson or a time"
    for number, title, name, builds_on, seconds in rows:
        assert name.startswith(f"{int(number):02d}_"), (number, name)
        first = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source
        own = first.splitlines()[0].split(" · ", 1)[1].strip()
        assert title == own, f"{name}: lesson 0 calls it '{title}', the lesson '{own}'"
        said = re.findall(r"(\d+) s\b", _header_paragraph(name, "**Time.**"))
        assert seconds in said, f"{name}: the header says {', '.join(said)} s, lesson 0 {seconds} s"
        prerequisites = _header_paragraph(name, "**Prerequisites")
        prerequisites = prerequisites[prerequisites.index("**Prerequisites") :]
        wanted = {
            int(n)
            for group in LESSON_NUMBERS.findall(prerequisites)
            for n in re.findall(r"\d+", group)
        }
        listed = {int(n) for n in re.findall(r"\d+", re.sub(r"\(.*?\)", "", builds_on))}
        assert listed == wanted, f"{name}: lesson 0 says it builds on {listed}, its header {wanted}"
