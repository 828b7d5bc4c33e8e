"""The ``robviz`` command line.

A thin parser over :mod:`robviz.scale` (train CIFAR ResNets, evaluate them with the talk's attack
battery, render tables) and the course commands (student versions, an nbgrader course, the gallery).

    robviz train --dataset cifar10 --arch resnet32 --objective mmc --recipe paper --out runs/mmc
    # the authors' code: factor 1, Keras SGD
    robviz train --objective mmc --recipe authors --out runs/mmc-code
    robviz train --config runs/mmc.json --resume    # continue where the last checkpoint was
    torchrun --nproc_per_node 4 -m robviz train --recipe fast ...   # data-parallel, same flags
    robviz evaluate runs/mmc/checkpoint.pt --out runs/mmc/eval.json
    robviz table runs/*/eval.json --out table.md --html table.html
    robviz train --tiny --out runs/tiny      # seconds on a CPU: synthetic data, ResNet-8
    robviz gallery --out build/gallery       # every lesson executed, as a static HTML site
    robviz course init my-course             # the lessons as an nbgrader course

Also ``python -m robviz ...``. Settings come from (later wins): built-in defaults, ``--tiny``,
``--config FILE`` (a JSON object whose keys are the flags' names with underscores, e.g.
``{"objective": "mmc", "epochs": 50}``), explicit flags; each run command's flags, defaults and
checks are those of its run configuration (:class:`robviz.scale.TrainRun`,
:class:`~robviz.scale.EvaluateRun`, :class:`~robviz.scale.TableRun`). Everything a run decided is
written to ``OUT/results.json`` and into the checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import sys
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import Any, Literal, overload

from . import scale

__all__ = [
    "main",
    "build_parser",
    "COMMANDS",
    "settings_of",
    "train",
    "evaluate",
    "table",
    "student",
    "course",
    "gallery",
]


@contextlib.contextmanager
def _one_line(*errors: type[Exception]) -> Iterator[None]:
    """Turn the errors a command expects (a bad setting, a missing file) into one ``robviz:`` line.

    A user's mistake gets its message, not a traceback through robviz; anything else still
    raises as it is.
    """
    try:
        yield
    except errors as error:
        raise SystemExit(f"robviz: {error}") from None


def student(cfg: dict) -> list[Path]:
    """Write the student versions of the lessons (nbgrader's: solutions and hidden tests removed).

    See :mod:`robviz.course`.

    Parameters
    ----------
    cfg : dict
        The parsed flags: ``lessons``, the folder of the lessons (default ``"notebooks"``), and
        ``out``, the folder written to (default ``"build/student"``).

    Returns
    -------
    list[Path]
        The written notebooks.

    Raises
    ------
    SystemExit
        No lesson folder or no lesson in it, or a lesson that is not a valid notebook
        (:func:`robviz.course.write_student_versions`' ``FileNotFoundError`` or ``ValueError``), or
        nbgrader's ``RuntimeError`` for a solution region it cannot read (naming the lesson), as
        one line.
    """
    from .course import write_student_versions

    # nbgrader raises RuntimeError for an unclosed region: the instructor's typo, not a bug
    with _one_line(FileNotFoundError, ValueError, RuntimeError):
        written = write_student_versions(
            cfg.get("lessons", "notebooks"), cfg.get("out", "build/student")
        )
    print(f"robviz: wrote {len(written)} student notebook(s) to {written[0].parent}")
    return written


def course(cfg: dict) -> list[Path]:
    """Run ``course init FOLDER``: write the lessons as an nbgrader course.

    See :func:`robviz.course.init_course`.

    Parameters
    ----------
    cfg : dict
        The parsed flags: ``folder``, the course folder to create; ``lessons``, the folder of the
        lessons (default ``"notebooks"``); ``course_id``, nbgrader's course id (default
        ``"robviz"``).

    Returns
    -------
    list[Path]
        The written files, as :func:`robviz.course.init_course` returns them.

    Raises
    ------
    SystemExit
        The folder already holds a course, no lesson is found, or a lesson nbgrader cannot read
        (naming it), as one line.
    """
    from .course import init_course

    with _one_line(FileExistsError, FileNotFoundError, ValueError, RuntimeError):
        written = init_course(
            cfg["folder"], cfg.get("lessons", "notebooks"), course_id=cfg.get("course_id", "robviz")
        )
    print(
        f"robviz: wrote an nbgrader course of {len(written) - 2} lesson(s) to {cfg['folder']}; "
        f"see {written[1]} for generate / autograde / feedback"
    )
    return written


def gallery(cfg: dict) -> list[Path]:
    """Execute the lessons (student versions, default mode) into a static HTML site.

    See :mod:`robviz.course.gallery`.

    Parameters
    ----------
    cfg : dict
        The parsed flags: ``lessons``, the folder of the lessons (default ``"notebooks"``);
        ``out``, the site's folder (default ``"build/gallery"``); ``only``, lesson number prefixes
        to build (default: all).

    Returns
    -------
    list[Path]
        The written pages, one per lesson, then ``index.html``.

    Raises
    ------
    SystemExit
        What :func:`robviz.course.gallery.build_gallery` raises (a missing folder, no lesson, a
        lesson that fails to execute), as one line.
    """
    from .course.gallery import build_gallery

    from .course.gallery import GalleryError

    with _one_line(FileNotFoundError, ValueError, GalleryError):
        written = build_gallery(
            cfg.get("lessons", "notebooks"), cfg.get("out", "build/gallery"), only=cfg.get("only")
        )
    print(f"robviz: wrote {len(written) - 1} lesson page(s) and {written[-1]}")
    return written


def _add_run_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    run_class: type[scale.RunConfig],
    help: str,
    config_file: bool = True,
) -> argparse.ArgumentParser:
    """Return a subcommand whose flags are the fields of ``run_class``.

    The flags are made by :mod:`robviz.scale.config`.
    """
    parser = sub.add_parser(run_class.command, help=help)
    if config_file:
        parser.add_argument(
            "--config",
            default=argparse.SUPPRESS,
            help="JSON file of settings (keys: the flags' names with underscores)",
        )
    scale.add_arguments(parser, run_class)
    return parser


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _add_run_command(sub, scale.TrainRun, "train a CIFAR ResNet (data-parallel under torchrun)")
    p.add_argument(
        "--tiny",
        action="store_true",
        default=argparse.SUPPRESS,
        help="seconds on a CPU: synthetic data, ResNet-8 of width 4, 2 epochs (robviz.scale.TINY)",
    )


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_run_command(
        sub, scale.EvaluateRun, "the talk's attack battery on a checkpoint, written as JSON"
    )


def _add_table(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_run_command(
        sub,
        scale.TableRun,
        "the talk's tables beside measured numbers (markdown, plotly HTML)",
        config_file=False,
    )


def _add_student(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "student", help="write the lessons without their solutions and hidden tests (for students)"
    )
    _suppressed(s, "--lessons", help="folder of the lessons (default: notebooks)")
    _suppressed(s, "--out", help="folder of the student versions (default: build/student)")


def _add_course(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "course",
        help="course init FOLDER: the lessons as an nbgrader course (config, source/, README)",
    )
    c.add_argument("action", choices=["init"], help="init: write a new course folder")
    c.add_argument("folder", help="the course folder to create (must not hold a course yet)")
    _suppressed(c, "--lessons", help="folder of the lessons (default: notebooks)")
    _suppressed(c, "--course-id", help="nbgrader's course id (default: robviz)")


def _add_gallery(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    g = sub.add_parser(
        "gallery", help="execute the lessons (student versions) into a static HTML site"
    )
    _suppressed(g, "--lessons", help="folder of the lessons (default: notebooks)")
    _suppressed(
        g,
        "--out",
        help="folder of the site, replaced when the build succeeds (default: build/gallery)",
    )
    _suppressed(
        g,
        "--only",
        nargs="+",
        help="lesson number prefixes to build, e.g. --only 00 01 (default: all)",
    )


def _suppressed(parser: argparse.ArgumentParser, *names: str, **options: Any) -> None:
    parser.add_argument(*names, default=argparse.SUPPRESS, **options)


# The run configuration's class follows the command: "train" gives a TrainRun (the class of
# scale.RUNS[command]).
@overload
def settings_of(command: Literal["train"], args: dict) -> scale.TrainRun: ...
@overload
def settings_of(command: Literal["evaluate"], args: dict) -> scale.EvaluateRun: ...
@overload
def settings_of(command: Literal["table"], args: dict) -> scale.TableRun: ...
@overload
def settings_of(command: str, args: dict) -> scale.RunConfig: ...
def settings_of(command: str, args: dict) -> scale.RunConfig:
    """Return the run configuration of a run command from its parsed flags.

    Built-in defaults, then ``--tiny``, then ``--config FILE``, then the explicit flags (later
    wins).

    Parameters
    ----------
    command : {"train", "evaluate", "table"}
        The run command, a key of ``robviz.scale.RUNS``.
    args : dict
        The parsed flags (not changed); ``tiny`` and ``config`` are read here, the rest are
        settings.

    Returns
    -------
    RunConfig
        The run configuration: a :class:`~robviz.scale.TrainRun` for ``"train"``, an
        :class:`~robviz.scale.EvaluateRun` for ``"evaluate"``, a :class:`~robviz.scale.TableRun`
        for ``"table"``.

    Raises
    ------
    SystemExit
        A config file that cannot be read, is not JSON or does not hold a JSON object, an unknown
        setting or an invalid value (the run configuration's ``ValueError``), as one line.
    """
    args = dict(args)
    cfg = dict(scale.TINY) if args.pop("tiny", False) else {}
    if "config" in args:
        path = Path(args.pop("config"))
        try:
            loaded = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"robviz: cannot read the config file {path}: {error}") from None
        if not isinstance(loaded, dict):
            raise SystemExit(f"robviz: {path} must hold a JSON object of settings")
        cfg.update(loaded)
    cfg.update(args)
    with _one_line(ValueError):  # configuration errors, before any data is loaded
        return scale.RUNS[command].from_dict(cfg)


def train(args: dict) -> dict:
    """Run ``train``: :func:`robviz.scale.train`.

    Parameters
    ----------
    args : dict
        The parsed flags, read by :func:`settings_of`.

    Returns
    -------
    dict
        What :func:`robviz.scale.train` returns.

    Raises
    ------
    SystemExit
        A ``--resume`` with changed settings (``ResumeMismatch``) or from a file that is no
        checkpoint (truncated, corrupt), or a settings error of :func:`settings_of`, as one clear
        line.
    """
    run = settings_of("train", args)
    with _one_line(ValueError):  # ResumeMismatch is one, and a checkpoint that cannot be read
        results = scale.train(run)
    # under torchrun only rank 0 writes the files (RANK is torchrun's)
    if run.progress and os.environ.get("RANK", "0") == "0":
        print(f"robviz: wrote {results['checkpoint']} and {Path(run.out) / 'results.json'}")
    return results


def evaluate(args: dict) -> dict:
    """Run ``evaluate``: :func:`robviz.scale.evaluate`, then name the JSON file it wrote.

    Parameters
    ----------
    args : dict
        The parsed flags, read by :func:`settings_of`.

    Returns
    -------
    dict
        What :func:`robviz.scale.evaluate` returns.

    Raises
    ------
    SystemExit
        A settings error of :func:`settings_of` or one :func:`robviz.scale.evaluate` raises
        (``--n`` larger than the test set, a file that is no checkpoint of ``robviz train``), as
        one clear line.
    """
    run = settings_of("evaluate", args)
    with _one_line(ValueError):  # a setting the checkpoint's data refuses (--n past the test set)
        results = scale.evaluate(run)
    if run.progress:  # where robviz.scale.evaluate writes when --out is not given
        out = Path(run.out) if run.out else Path(run.checkpoint).with_name("evaluation.json")
        print(f"robviz: wrote {out}")
    return results


def table(args: dict) -> str:
    """Run ``table``: :func:`robviz.scale.render_table`, then name the files it wrote.

    Parameters
    ----------
    args : dict
        The parsed flags, read by :func:`settings_of`.

    Returns
    -------
    str
        The markdown table.

    Raises
    ------
    SystemExit
        A settings error of :func:`settings_of`, or a file that is not an evaluation file or
        cannot be paired (``--paired``), as one clear line.
    """
    run = settings_of("table", args)
    with _one_line(ValueError):  # a file that is no evaluation file, or two that cannot be paired
        markdown = scale.render_table(run)
    written = [path for path in (run.out, run.html) if path]
    if run.progress and written:
        print(f"robviz: wrote {' and '.join(written)}")
    return markdown


#: Each subcommand: (add its subparser, handle its parsed flags as a dict). A new command is one
#: entry here.
COMMANDS = {
    "train": (_add_train, train),
    "evaluate": (_add_evaluate, evaluate),
    "table": (_add_table, table),
    "student": (_add_student, student),
    "course": (_add_course, course),
    "gallery": (_add_gallery, gallery),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``robviz`` parser: one subparser per entry of :data:`COMMANDS`.

    Every flag defaults to ``argparse.SUPPRESS``, so the parsed namespace holds only what was typed.
    """
    parser = argparse.ArgumentParser(
        prog="robviz",
        description="Train CIFAR ResNets, evaluate them with the talk's attacks and tabulate them "
        "beside the talk (train, evaluate, table); write the lessons' student versions, an "
        "nbgrader course and a static gallery (student, course, gallery).",
        epilog="robviz COMMAND --help: that command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``robviz`` command line on ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program's name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status 0; errors end with ``SystemExit`` (argparse's for bad flags, one line for
        bad settings, the download error's message without a traceback when CIFAR cannot be
        fetched, one line for a file that is missing or cannot be read or written, or a
        checkpoint holding code).
    """
    from .scale.cifar import CifarDownloadError

    args = vars(build_parser().parse_args(argv))
    # offline: the download error's message says how to fetch the archive; a missing checkpoint
    # or evaluation file, a folder where a file belongs: the OSError names the path; a checkpoint
    # holding code: the refusal of torch.load(weights_only=True), naming the file
    with _one_line(CifarDownloadError, OSError, pickle.UnpicklingError):
        COMMANDS[args.pop("command")][1](args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
