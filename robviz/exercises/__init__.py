"""Self-checks for the lessons' exercises.

    from robviz import exercises
    exercises.check("1.2", my_answer)      # lesson 1, exercise 2

Every check returns a :class:`Feedback` that shows under the cell: what is right, or a hint aimed at
the likely mistake (a missing factor, a wrong sign, a forgotten projection), never a bare "wrong".
Three kinds of answer are checked by the helpers below:

* a number (:func:`expect_number`), compared with a tolerance; known wrong values get their own
  hints;
* a choice among named options (:func:`expect_choice`), with a hint per wrong option;
* a function (:func:`expect_function`), run on test inputs next to a reference implementation; if it
  matches a known mistake (e.g. the MMC loss without the factor 1/2), the hint names that mistake.

The lessons are nbgrader source notebooks (:mod:`robviz.course`): each answer cell marks its
solution with ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and the check cell after it is an
autograded test cell whose hidden part runs the same check on other inputs (``check(id, answer,
seed=1)``). In strict mode a wrong answer raises, so the notebook tests fail when a solution or a
check breaks, and nbgrader's autograder takes the cell's points: strict mode is on when
``ROBVIZ_STRICT_EXERCISES=1`` (the test suite sets it) or when nbgrader runs the notebook (it sets
``NBGRADER_EXECUTION`` while autograding or validating).

Each lesson's exercises are registered in ``robviz/exercises/lessonNN.py``.
"""

from __future__ import annotations

import contextlib
import copy
import html
import inspect
import io
import math
import os
import re
import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import numpy as np
import torch

from .. import checks

__all__ = [
    "check",
    "has_variants",
    "Feedback",
    "Exercise",
    "exercise",
    "registered",
    "expect_number",
    "expect_choice",
    "expect_function",
    "Mistake",
    "STRICT_ENV",
    "render_message",
]

# A checker: answer (and, with variants, seed=) -> (passed, message).
_Checker = TypeVar("_Checker", bound=Callable[..., tuple[bool, str]])

#: Environment variable that turns a wrong answer into an ``AssertionError`` (the tests set it).
STRICT_ENV = "ROBVIZ_STRICT_EXERCISES"


# The inline markdown that hints use: `code`, **strong**, *emphasis* (an asterisk between spaces is
# a product).
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(\S(?:[^*]*?\S)?)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")


def render_message(message: str, *, as_html: bool) -> str:
    """Return a hint's inline markdown rendered.

    As HTML (``<code>``, ``<strong>``, ``<em>``, the rest escaped), or as plain text with the
    markers removed, so neither a notebook nor a traceback shows asterisks and backticks.

    Parameters
    ----------
    message : str
        The hint, in inline markdown: code between backticks, ``**strong**``, ``*emphasis*`` (an
        asterisk between spaces is a product and stays).
    as_html : bool
        True for HTML, False for plain text.

    Returns
    -------
    str
        The rendered message.
    """
    parts = _CODE.split(message)  # even indices: prose, odd: the inside of a code span
    rendered = []
    for i, part in enumerate(parts):
        if i % 2:
            rendered.append(f"<code>{html.escape(part)}</code>" if as_html else part)
            continue
        if as_html:
            part = html.escape(part)
        part = _STRONG.sub(r"<strong>\1</strong>" if as_html else r"\1", part)
        rendered.append(_EMPHASIS.sub(r"<em>\1</em>" if as_html else r"\1", part))
    return "".join(rendered)


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check: ``passed`` and a message (praise, or a hint, in inline markdown).

    True in a boolean context when passed. ``answered`` is False while the answer is still the
    placeholder ``...``. Shown as HTML in a notebook and as plain text elsewhere (``str``), both
    with the markdown rendered.
    """

    exercise: str
    passed: bool
    message: str
    answered: bool = True

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "correct" if self.passed else ("your turn" if not self.answered else "not yet")
        return f"Exercise {self.exercise}: {verdict}. {render_message(self.message, as_html=False)}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        # Colour-blind-safe pair (blue / orange) plus a word and a symbol, so colour is never the
        # only cue.
        if self.passed:
            colour, symbol, verdict = "#0072B2", "✓", "Correct"
        elif not self.answered:
            colour, symbol, verdict = "#666666", "…", "Your turn"
        else:
            colour, symbol, verdict = "#D55E00", "✗", "Not yet"
        return (
            f'<div role="status" class="robviz-feedback" style="border-left:4px solid {colour};'
            f'padding:4px 10px;margin:4px 0"><strong>{symbol} Exercise '
            f"{html.escape(self.exercise)}: "
            f"{verdict}.</strong> {render_message(self.message, as_html=True)}</div>"
        )


@dataclass(frozen=True)
class Exercise:
    """One registered exercise.

    Its id (``"lesson.number"``), a one-line title and the checker, a function ``answer -> (passed,
    message)``.
    """

    id: str
    title: str
    checker: Callable


_REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, title: str) -> Callable[[_Checker], _Checker]:
    """Register ``checker(answer) -> (passed, message)`` under ``id``, as a decorator.

    Parameters
    ----------
    id : str
        The exercise's id, ``"lesson.number"``, e.g. ``"1.2"``.
    title : str
        A one-line title.

    Returns
    -------
    callable
        The decorator; it registers the checker and returns it unchanged.

    Raises
    ------
    ValueError
        When the decorated checker is registered under an ``id`` already taken.
    """

    def register(checker: _Checker) -> _Checker:
        if id in _REGISTRY:
            raise ValueError(f"exercise {id!r} is registered twice")
        _REGISTRY[id] = Exercise(id, title, checker)
        return checker

    return register


def registered() -> dict[str, Exercise]:
    """All exercises with a self-check, by id, in lesson order."""

    def order(key: str) -> tuple[int, ...]:
        return tuple(int(part) for part in key.split("."))

    return {key: _REGISTRY[key] for key in sorted(_REGISTRY, key=order)}


def _strict() -> bool:
    # nbgrader is autograding or validating: a failure must raise
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get(STRICT_ENV, "0").lower() in ("1", "true", "yes")


def has_variants(exercise_id: str) -> bool:
    """Return True when exercise ``exercise_id`` can be checked on other inputs.

    Other inputs are asked for with ``check(..., seed=k)``.

    The exercises whose answer is a function. An answer that is one number or one choice has no
    other inputs.

    Parameters
    ----------
    exercise_id : str
        The exercise's id, ``"lesson.number"``.

    Returns
    -------
    bool
        Whether its checker takes a ``seed``.

    Raises
    ------
    KeyError
        For an unknown exercise id.
    """
    return "seed" in inspect.signature(_exercise(exercise_id).checker).parameters


def _exercise(exercise_id: str) -> Exercise:
    if exercise_id not in _REGISTRY:
        known = ", ".join(registered()) or "none"
        raise KeyError(
            f"no self-check for exercise {exercise_id!r}; exercises with checks: {known}"
        )
    return _REGISTRY[exercise_id]


def check(
    exercise_id: str, answer: object, *, seed: int | None = None, strict: bool | None = None
) -> Feedback | None:
    """Check ``answer`` for exercise ``exercise_id``.

    Parameters
    ----------
    exercise_id : str
        ``"lesson.number"``, as printed above the exercise (e.g. ``"5.2"``).
    answer : object
        What the exercise asks for: a number, a choice letter, or a function (see the exercise).
    seed : int or None
        Check a function answer on other inputs (another random draw, other shapes) than the visible
        check (``seed=None``, the same inputs as seed 0). The hidden tests of the course version use
        seeds 1 and 2.
    strict : bool or None
        Raise on a wrong or missing answer; ``None`` follows the environment (see the module
        docstring).

    Returns
    -------
    Feedback or None
        A :class:`Feedback` (shown under the cell). In strict mode a wrong answer raises
        ``AssertionError`` whose message is the feedback, hint included, and which IPython shows as
        that text alone (no traceback). Under nbgrader the feedback is displayed and ``None``
        returned, as nbgrader would read a returned value as partial credit.

    Raises
    ------
    KeyError
        For an unknown exercise id.
    ValueError
        For ``seed`` on an exercise without variants, or a ``seed`` that is no seed (a float, a
        bool, a string, a negative number: :func:`robviz.checks.seed`).
    """
    exercise_id = str(exercise_id)
    checker = _exercise(exercise_id).checker
    if seed is not None:
        # 1.5 or True would silently be another seed's inputs
        seed = checks.seed("seed", seed)
    if seed is not None and not has_variants(exercise_id):
        raise ValueError(
            f"exercise {exercise_id} has one answer (a number or a choice): it has no other inputs "
            "to check with a seed"
        )
    if answer is Ellipsis:
        feedback = Feedback(
            exercise_id,
            False,
            "Replace the `...` in the cell above with your answer, then run this cell again.",
            answered=False,
        )
    else:
        try:
            passed, message = checker(answer) if seed is None else checker(answer, seed=seed)
        except _Unfinished as unfinished:
            passed, message = False, str(unfinished)
            feedback = Feedback(exercise_id, False, message, answered=False)
        else:
            feedback = Feedback(exercise_id, bool(passed), message)
    if not feedback.passed and (_strict() if strict is None else strict):
        raise _failure(feedback)
    if os.environ.get("NBGRADER_EXECUTION"):
        # nbgrader reads a test cell's returned value as partial credit: show the feedback, return
        # nothing.
        from IPython.display import display

        display(feedback)
        return None
    return feedback


def _failure(feedback: Feedback) -> AssertionError:
    """Return the ``AssertionError`` of a failed check in strict mode, its message the feedback.

    IPython shows what an exception's ``_render_traceback_`` returns in place of the traceback, so
    the check cell's error output (and nbgrader's feedback and validation, which show that output)
    reads as the verdict and the hint in plain text, not as the last line of a traceback through
    robviz.
    """
    error = AssertionError(str(feedback))
    # Set on the instance: a subclass would change the error's name that nbgrader and the tests
    # read.
    setattr(error, "_render_traceback_", lambda: [str(feedback)])
    return error


class _Unfinished(Exception):
    """Raised inside a checker when a function answer still returns the placeholder ``...``."""


# ------------------------------------------------------------------------------------------ numbers


# Any: a student's answer may be anything; float() raises the TypeError the caller reports.
def _as_float(answer: Any, what: str) -> float:
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            raise ValueError(
                f"{what}: expected one number, got a tensor of shape {tuple(answer.shape)}"
            )
        return float(answer.item())
    if isinstance(answer, np.ndarray):
        if answer.size != 1:
            raise ValueError(f"{what}: expected one number, got an array of shape {answer.shape}")
        return float(answer.item())
    return float(answer)


def expect_number(
    answer: object,
    expected: float,
    *,
    rtol: float = 1e-3,
    atol: float = 1e-8,
    unit: str = "",
    mistakes: Iterable[tuple[float, str]] = (),
    hint: str = "",
) -> tuple[bool, str]:
    """Compare a numeric answer with ``expected``.

    Parameters
    ----------
    answer : object
        The student's answer: a Python or NumPy number, a one-element array or a 0-d tensor.
    expected : float
        The right value.
    rtol, atol : float
        Relative and absolute tolerance of the comparison (``math.isclose``).
    unit : str
        The unit shown in the feedback (e.g. ``"points"``); empty for none.
    mistakes : Iterable[tuple[float, str]]
        ``(value, hint)`` pairs: an answer close to ``value`` gets that ``hint`` (a known slip, such
        as forgetting a factor 1/2).
    hint : str
        What to look at when the answer matches no known mistake.

    Returns
    -------
    tuple of (bool, str)
        Whether the answer is right, and the feedback to show.
    """
    try:
        value = _as_float(answer, "answer")
    # OverflowError: an int past float's range (10**400)
    except (TypeError, ValueError, OverflowError) as exc:
        if callable(answer):  # a function where its value was asked for
            return False, (
                f"Expected a number{f' ({unit})' if unit else ''}, got a function: write the "
                "number itself, or call your function, `f(...)`, and give its result."
            )
        return (
            False,
            f"Expected a number{f' ({unit})' if unit else ''}; "
            f"{exc if str(exc) else type(answer).__name__}.",
        )
    if not math.isfinite(value):
        return False, f"Your answer is {value}; expected a finite number."

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)

    suffix = f" {unit}" if unit else ""
    if close(value, expected):
        return True, f"{value:.6g}{suffix} is right."
    for wrong, mistake_hint in mistakes:
        if close(value, wrong):
            return False, f"{value:.6g}{suffix} is a known slip. {mistake_hint}"
    direction = "too large" if value > expected else "too small"
    return False, f"{value:.6g}{suffix} is {direction}. {hint}".strip()


# ------------------------------------------------------------------------------------------ choices


def expect_choice(
    answer: object, correct: object, hints: dict, *, why: str = ""
) -> tuple[bool, str]:
    """Check a multiple-choice answer (compared case-insensitively when strings).

    A string answer is read without surrounding spaces, brackets or a trailing full stop or
    parenthesis, as students write options: ``"(b)"``, ``"b)"``, ``"B."`` are ``"b"``.

    Parameters
    ----------
    answer : object
        The student's answer.
    correct : str
        The right option.
    hints : dict
        ``{wrong option: hint}``; every option the exercise offers should appear here or be
        ``correct``.
    why : str
        One sentence said when the answer is right.
    """

    def norm(option: object) -> object:
        return option.strip().strip("()[].").strip().lower() if isinstance(option, str) else option

    def same(option: object) -> bool:
        # an array answer compares element-wise, and one of several elements has no truth value
        try:
            return bool(norm(answer) == norm(option))
        except (TypeError, ValueError, RuntimeError):
            return False

    options = [correct, *hints]
    if same(correct):
        return True, why or "Right."
    for option, hint in hints.items():
        if same(option):
            return False, hint
    listed = ", ".join(repr(option) for option in options)
    return False, f"{answer!r} is not one of the options: {listed}."


# ---------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation and the hint for a student whose function behaves like it."""

    function: Callable
    hint: str


def _to_tensor(value: object) -> torch.Tensor:
    """Return ``value`` as a float64 tensor; a ``TypeError`` that completes "Your function ..."."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError("returns a complex tensor, expected real numbers")
        return value.detach().to(torch.float64)
    if isinstance(value, np.ndarray) or isinstance(value, (int, float, list, tuple)):
        try:
            return torch.as_tensor(np.asarray(value, dtype=np.float64))
        # a ragged list, strings, tensors of several elements in a list
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(
                f"returns a value of type {type(value).__name__}, not an array of numbers ({exc})"
            ) from None
    raise TypeError(
        f"returns a value of type {type(value).__name__}, expected a tensor, an array or a number"
    )


def _agrees(
    output: object, reference: object, rtol: float, atol: float, equal_nan: bool = False
) -> tuple[bool, str]:
    output, reference = _to_tensor(output), _to_tensor(reference)
    if output.shape != reference.shape:
        return False, f"returns shape {tuple(output.shape)}, expected {tuple(reference.shape)}"
    if not torch.allclose(output, reference, rtol=rtol, atol=atol, equal_nan=equal_nan):
        bad = ~output.isfinite() & reference.isfinite()
        if bad.any():
            # "differs by up to nan" would not say where to look
            return False, (
                f"returns NaN or inf at {int(bad.sum())} of {bad.numel()} entries where the "
                "reference is finite (a log of 0, a division by 0?)"
            )
        worst = (output - reference).abs().max().item()
        return False, f"differs from the reference by up to {worst:.3g}"
    return True, ""


def expect_function(
    answer: object,
    reference: Callable,
    inputs: Iterable[tuple],
    *,
    mistakes: Iterable[Mistake] = (),
    rtol: float = 1e-4,
    atol: float = 1e-6,
    hint: str = "",
) -> tuple[bool, str]:
    """Run a student's function and ``reference`` on each tuple of ``inputs``; compare the outputs.

    Each tuple of ``inputs`` is one call's arguments.

    A function that raises, returns ``...``, returns the wrong shape or other values fails with a
    message saying which; a function that agrees with one of ``mistakes`` on every input gets that
    mistake's hint.

    Parameters
    ----------
    answer : callable
        The student's function.
    reference : callable
        The right implementation, called with the same arguments.
    inputs : Iterable[tuple]
        One tuple of arguments per call.
    mistakes : Iterable[Mistake]
        Known wrong implementations, each with its hint.
    rtol, atol : float
        Tolerances of the comparison (``torch.allclose``), after both outputs are converted to
        float64 tensors.
    hint : str
        What to look at when the function matches no known mistake.

    Returns
    -------
    tuple of (bool, str)
        Whether the function agrees with ``reference`` on every input, and the message.

    Raises
    ------
    _Unfinished
        When the function returns ``...`` or None (the answer is not written yet); :func:`check`
        turns it into an unanswered :class:`Feedback`.
    """
    if not callable(answer):
        return False, f"Expected a function, got {type(answer).__name__}."
    inputs = list(inputs)
    first_problem = ""
    for args in inputs:
        # the student's function gets copies: the reference and the mistakes must see the inputs
        # as drawn, and a change to a copy shows a function that would change its caller's tensors
        copies = _copied(args)
        try:
            output = answer(*copies)
        except Exception as exc:  # a student's code may raise anything; say what and where
            return False, f"Your function raised {type(exc).__name__}: {exc}{_where(exc)}"
        changed = next((i for i, (a, c) in enumerate(zip(args, copies)) if _differ(a, c)), None)
        if changed is not None:
            return False, _changed_hint(_argument_name(reference, changed), args[changed])
        if output is Ellipsis or output is None:
            raise _Unfinished(
                "Your function returns "
                f"{'`...`' if output is Ellipsis else 'None'}: fill in its body (and `return` "
                "the result), then run this cell again."
            )
        try:
            ok, problem = _agrees(output, reference(*args), rtol, atol)
        except TypeError as exc:
            return False, f"Your function {exc}."
        if not ok:
            first_problem = problem
            break
    if not first_problem:
        return True, f"Your function agrees with the reference on {len(inputs)} test inputs."
    for mistake in mistakes:
        try:
            # NaN where the mistake gives NaN too is the same behaviour (a log of 0 in both); the
            # reruns are silent, so a function that prints shows its output once, not once a
            # mistake
            with contextlib.redirect_stdout(io.StringIO()):
                if all(
                    _agrees(
                        answer(*_copied(args)), mistake.function(*args), rtol, atol, equal_nan=True
                    )[0]
                    for args in inputs
                ):
                    return False, f"Your function {first_problem}. {mistake.hint}"
        # a mistake that does not apply to these inputs is not this student's mistake
        except Exception:
            continue
    return False, f"Your function {first_problem}. {hint}".strip()


def _where(exc: BaseException) -> str:
    """Return `` (line N: `code`)`` for the student's line that raised ``exc``, or ``""``.

    The deepest frame outside robviz and the installed packages (torch, NumPy, the standard
    library): the student's own code, whether it raised there or called into a library that did.
    """
    libraries = (str(Path(__file__).resolve().parents[1]), *_LIBRARY_PATHS)
    own = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(libraries)
    ]
    if not own:
        return ""
    line = (own[-1].line or "").strip()
    return f" (line {own[-1].lineno}: `{line}`)" if line else f" (line {own[-1].lineno})"


#: Where installed code lives: a frame there is not the student's.
_LIBRARY_PATHS = tuple(
    str(Path(path).resolve())
    for path in {sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib")}
)


def _copied(args: tuple) -> tuple:
    """Return copies of a call's tensors, arrays and modules (anything else is passed as is)."""

    def one(value: object) -> object:
        if isinstance(value, torch.Tensor):
            # a leaf stays a leaf, with its requires_grad
            return value.detach().clone().requires_grad_(value.requires_grad)
        if isinstance(value, (np.ndarray, torch.nn.Module)):
            return copy.deepcopy(value)
        if isinstance(value, (list, tuple)):
            return type(value)(one(item) for item in value)
        return value

    return tuple(one(value) for value in args)


def _differ(original: object, copied: object) -> bool:
    """Whether ``copied`` no longer holds the values of ``original`` (NaN equals NaN)."""

    def same(a: torch.Tensor, b: torch.Tensor) -> bool:
        a, b = a.detach(), b.detach()
        return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())

    if isinstance(original, torch.Tensor) and isinstance(copied, torch.Tensor):
        return not same(original, copied)
    if isinstance(original, np.ndarray) and isinstance(copied, np.ndarray):
        return not same(torch.as_tensor(original), torch.as_tensor(copied))
    if isinstance(original, torch.nn.Module) and isinstance(copied, torch.nn.Module):
        mine, theirs = original.state_dict(), copied.state_dict()
        return mine.keys() != theirs.keys() or any(not same(mine[k], theirs[k]) for k in mine)
    if isinstance(original, list) and isinstance(copied, list) and len(original) != len(copied):
        return True
    if isinstance(original, (list, tuple)) and isinstance(copied, (list, tuple)):
        return any(_differ(a, b) for a, b in zip(original, copied))
    return False


def _changed_hint(name: str, value: object) -> str:
    """Return the hint for a function that changed its argument ``name`` in place."""
    if isinstance(value, torch.nn.Module):
        return (
            f"Your function changes the weights of `{name}`: the caller's model must stay as it "
            "was. Take gradients with respect to the input only (`torch.autograd.grad(loss, x)`) "
            "and never step or zero the model's parameters."
        )
    return (
        f"Your function changes its argument `{name}` in place (an in-place operation such as "
        f"`+=`, `.add_()`, `.clamp_()` or `[...] =` on it): the caller's `{name}` must stay as it "
        f"was. Work on a copy (`{name}.clone()`) or build a new tensor (`{name} = {name} + step`)."
    )


def _argument_name(function: Callable, index: int) -> str:
    """Return the name of ``function``'s positional parameter ``index``, or "number index + 1"."""
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        parameters = []
    return parameters[index] if index < len(parameters) else f"number {index + 1}"


# The lessons' exercises register themselves on import.
from . import (  # noqa: E402, F401
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
    lesson11,
)
