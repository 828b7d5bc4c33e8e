"""Run configurations: one typed, validated dataclass per command, owning its defaults.

A field's default is the command's default; its metadata says how the command line spells it, so the
parser (:func:`add_arguments`), the help text and :meth:`RunConfig.as_command` all derive from the
one definition. Settings come from dicts (a JSON config file, a lesson's ``dict(...)``) through
:meth:`RunConfig.from_dict`, which refuses unknown keys with a suggestion (``epoch`` -> did you mean
``epochs``?) instead of silently falling back to a default.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
import warnings
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .. import checks
from .recipes import RECIPES, Recipe, get_recipe
from ..objectives import OBJECTIVES as HEADS
from ..runtime import as_device
from .resnet import ARCHITECTURES, ENSEMBLE_OBJECTIVES, make_cifar_model
from .talk import TALK_TABLE

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "RunConfig",
    "TrainRun",
    "EvaluateRun",
    "TableRun",
    "TINY",
    "RUNS",
    "as_command",
    "add_arguments",
    "ResumeMismatch",
]

DATASETS = ("cifar10", "cifar100", "mnist32", "synthetic")
#: ``robviz evaluate --attacks``: "pgd" is the talk's battery (the papers' objective), "pgd-auto"
#: untargeted PGD on the objective chosen against the exact values (the margin for MMC).
ATTACKS = ("pgd", "pgd-auto", "cw", "spsa", "noise", "rotation")
OBJECTIVES = (
    *HEADS,
    *ENSEMBLE_OBJECTIVES,
)  # every registered objective: the heads and the ensembles (ADP)

#: The class ``from_dict`` is called on: ``TrainRun.from_dict`` gives a ``TrainRun``.
_Run = TypeVar("_Run", bound="RunConfig")


def _setting(default: Any = MISSING, help: str = "", **cli: Any) -> Any:
    """Return a field with its command-line spelling in ``metadata``.

    ``type``, ``choices``, ``nargs``, ``positional``, ``flag`` (a switch that sets ``value``, e.g.
    ``--quiet`` sets False), ``both`` (``--x/--no-x``).
    """
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=dict(help=help, **cli))
    return field(default=default, metadata=dict(help=help, **cli))


@dataclass
class RunConfig:
    """The shared behaviour of the run configurations.

    Subclasses: :class:`TrainRun`, :class:`EvaluateRun`, :class:`TableRun`.
    """

    command: ClassVar[str] = ""
    #: Old setting names -> new ones (docs/design.md, Vocabulary): still read, with a
    #: DeprecationWarning, so config files and checkpoints written before a rename keep working.
    RENAMED: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_dict(
        cls: type[_Run], settings: dict | RunConfig | None = None, **overrides: Any
    ) -> _Run:
        """Return the configuration of ``settings`` (keys: the field names), ``overrides`` on top.

        Parameters
        ----------
        settings : dict or RunConfig, optional
            The settings, keyed by field name; old names (``RENAMED``) are read with a
            ``DeprecationWarning``. A configuration is read through :meth:`to_dict`.
        **overrides
            Settings that replace those of ``settings``.

        Returns
        -------
        RunConfig
            A configuration of this class; unset fields keep their defaults.

        Raises
        ------
        ValueError
            For a key that is not a setting (naming it, the closest valid name and all valid ones),
            an old and a new name both given, a setting without a default (a positional argument
            such as ``checkpoint``) missing, or a value out of range (from :mod:`robviz.checks`).
        """
        if isinstance(settings, RunConfig):
            settings = settings.to_dict()
        settings = {**(settings or {}), **overrides}
        for old, new in cls.RENAMED.items():
            if old in settings:
                if new in settings:
                    raise ValueError(
                        f"settings {old!r} and {new!r} both given: {old!r} is the old name of "
                        f"{new!r}"
                    )
                warnings.warn(
                    f"setting {old!r} is deprecated: use {new!r}", DeprecationWarning, stacklevel=2
                )
                settings[new] = settings.pop(old)
        names = [f.name for f in fields(cls)]
        for key in settings:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"unknown setting {key!r}{hint} (valid settings of `robviz {cls.command}`: "
                    f"{', '.join(names)})"
                )
        required = [
            f.name
            for f in fields(cls)
            if f.name not in settings and f.default is MISSING and f.default_factory is MISSING
        ]
        if required:
            raise ValueError(
                f"missing setting(s) {', '.join(map(repr, required))} of `robviz {cls.command}` "
                "(they have no default)"
            )
        return cls(**settings)

    def to_dict(self) -> dict:
        """Return the settings as a plain dict (JSON-ready; tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def as_command(self) -> str:
        """Return the shell command that runs this configuration.

        For example ``robviz train --dataset mnist32 --epochs 1``.

        Only settings that differ from the defaults, so parsing it back gives this configuration
        again.
        """
        words = ["robviz", self.command]
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta.get("positional"):
                words += (
                    [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
                )
            elif value != _default(f):
                words += _words(f, value)
        return " ".join(shlex.quote(w) for w in words)


def _device(value: str | None) -> str | None:
    """Return ``value``, a device name or None; refuse one torch does not know, naming ``device``.

    Checked with the other settings, so ``--device gpu`` is one line before anything is loaded.
    """
    if value is not None:
        as_device("device", value)
    return value


def _default(f: Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _flag(f: Field[Any]) -> str:
    return "--" + f.name.replace("_", "-")


def _words(f: Field[Any], value: object) -> list[str]:
    meta = f.metadata
    if "flag" in meta:
        return [meta["flag"]] if value == meta["value"] else []
    if meta.get("both"):
        return [_flag(f) if value else "--no-" + _flag(f)[2:]] if value is not None else []
    if isinstance(value, bool):  # a store_true switch
        return [_flag(f)] if value else []
    if isinstance(value, (list, tuple)):
        return [_flag(f), *map(str, value)]
    return [] if value is None else [_flag(f), str(value)]


def add_arguments(parser: argparse.ArgumentParser, cls: type[RunConfig]) -> None:
    """Add the flags of ``cls``'s fields to ``parser``, with the dataclass defaults in their help.

    Flags default to ``argparse.SUPPRESS``: only what was typed appears in the parsed namespace, so
    explicit flags can override a config file, which overrides ``--tiny``, which overrides the
    defaults.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The (sub)parser; changed in place.
    cls : type of RunConfig
        The run configuration whose fields become flags.
    """
    for f in fields(cls):
        meta, default = f.metadata, _default(f)
        shown = list(default) if isinstance(default, tuple) else default
        text = meta.get("help", "")
        if meta.get("positional"):
            parser.add_argument(f.name, nargs=meta.get("nargs"), help=text)
            continue
        if "flag" not in meta and not (default is None and "None:" in text):
            text = (text + "; " if text else "") + f"default: {shown}"
        options = dict(default=argparse.SUPPRESS, help=text)
        old_flags = [
            "--" + old.replace("_", "-") for old, new in cls.RENAMED.items() if new == f.name
        ]
        if "flag" in meta:
            action = "store_false" if meta["value"] is False else "store_true"
            parser.add_argument(meta["flag"], dest=f.name, action=action, **options)
        elif meta.get("both"):
            parser.add_argument(
                _flag(f), dest=f.name, action=argparse.BooleanOptionalAction, **options
            )
        elif isinstance(default, bool):
            parser.add_argument(_flag(f), action="store_true", **options)
        else:
            parser.add_argument(
                _flag(f),
                *old_flags,
                type=meta.get("type", str),
                choices=meta.get("choices"),
                nargs=meta.get("nargs"),
                **options,
            )


@dataclass
class TrainRun(RunConfig):
    """Everything that decides a ``robviz train`` run (:func:`robviz.scale.train`).

    None for ``epochs``, ``total_steps``, ``batch_size``, ``lr``, ``weight_decay``, ``adversarial``,
    ``augment`` and ``factor`` means: the recipe's value (:mod:`robviz.scale.recipes` says where
    each comes from). ``resume``, ``stop_after``, ``progress`` and ``device`` steer this invocation
    only and are not saved with the checkpoint.

    Raises
    ------
    ValueError
        Unknown names, values out of range, or a recipe that does not apply (e.g. ``factor`` for an
        objective without one), each naming the setting; an ``out`` that is an existing file, a
        ``device`` torch does not know.
    """

    command: ClassVar[str] = "train"
    RENAMED: ClassVar[dict[str, str]] = {"norm": "normalization"}
    #: Settings of one invocation, not of the run: left out of the checkpoint's and results'
    #: ``config``.
    INVOCATION: ClassVar[tuple[str, ...]] = ("resume", "stop_after", "progress", "device")

    dataset: str = _setting(
        "cifar10",
        "mnist32: the 5000 offline MNIST images padded to 32x32 (no download)",
        choices=DATASETS,
    )
    data_root: str | None = _setting(
        None, "cache folder of the CIFAR archives (None: $ROBVIZ_DATA, else ~/.cache/robviz)"
    )
    arch: str = _setting("resnet20", choices=tuple(ARCHITECTURES))
    version: int = _setting(1, "1: original blocks, 2: pre-activation", type=int, choices=(1, 2))
    width: int = _setting(16, "channels of the first stage", type=int)
    normalization: str = _setting(
        "batch",
        "the normalization layer (--norm: its old name)",
        choices=("batch", "group", "none"),
    )
    objective: str = _setting("sce", choices=OBJECTIVES)
    feature_dim: int | None = _setting(
        None, "extra linear feature layer (None: 256 for mmc/mmlda)", type=int
    )
    recipe: str = _setting(
        "paper",
        "paper: the papers' settings; paper-at: those with the talk's PGD-10 "
        "adversarial training (11 passes an image); authors: the authors' code for the objective "
        "(or per paper mmc-authors, rce-authors, adp-authors; per script adp-at-authors: ADP's "
        "adversarial training, mi-authors / mi-iat-authors: the mixup and interpolated-AT models "
        "of Mixup Inference); fast: one-cycle on large batches. Training prints each number's "
        "source",
        choices=tuple(RECIPES),
    )
    factor: float | None = _setting(
        None,
        "MMC/MMLDA loss factor: 0.5 the papers, 1 the authors' code (None: the recipe's)",
        type=float,
    )
    epochs: int | None = _setting(None, "None: the recipe's", type=int)
    total_steps: int | None = _setting(
        None,
        "stop after this many optimizer steps (None: the recipe's; only rce-authors sets it)",
        type=int,
    )
    batch_size: int | None = _setting(
        None, "global batch, all processes together (None: the recipe's)", type=int
    )
    lr: float | None = _setting(
        None, "the schedule's largest learning rate (None: the recipe's)", type=float
    )
    weight_decay: float | None = _setting(None, "None: the recipe's", type=float)
    adversarial: str | None = _setting(
        None,
        "PGD-10 adversarial training, untargeted or targeted (a random class != y); none: clean "
        "training (None: the recipe's; paper-at trains untargeted)",
        choices=("none", "untargeted", "targeted"),
    )
    compile: bool = _setting(False, "torch.compile the training step (CUDA)")
    sync_bn: bool = _setting(False, "SyncBatchNorm across processes (CUDA)")
    augment: bool | None = _setting(
        None, "augment the training images as the recipe says (None: its choice)", both=True
    )
    out: str = _setting("runs/robviz", "run folder: checkpoint.pt, results.json")
    checkpoint_every: int = _setting(1, "epochs between checkpoints (0: only at the end)", type=int)
    resume: bool = _setting(False, "continue from OUT/checkpoint.pt")
    stop_after: int | None = _setting(
        None, "stop after this many epochs in this run (continue with --resume)", type=int
    )
    seed: int = _setting(0, type=int)
    device: str | None = _setting(None, "e.g. cuda, cuda:1, cpu (None: CUDA when available)")
    threads: int | None = _setting(
        None, "CPU threads of PyTorch (None: PyTorch's default)", type=int
    )
    train_size: int | None = _setting(None, "use the first N training images (None: all)", type=int)
    test_size: int | None = _setting(None, "use the first N test images (None: all)", type=int)
    progress: bool = _setting(
        True, "no progress output (progress=False)", flag="--quiet", value=False
    )

    def __post_init__(self) -> None:
        checks.choice("dataset", self.dataset, DATASETS)
        checks.choice("arch", self.arch, tuple(ARCHITECTURES))
        checks.choice("normalization", self.normalization, ("batch", "group", "none"))
        checks.choice("objective", self.objective, OBJECTIVES)
        checks.choice("adversarial", self.adversarial, (None, "none", "untargeted", "targeted"))
        self.version = checks.integer("version", self.version, low=1, high=2)
        self.seed = checks.seed("seed", self.seed)
        for name, low in (("width", 1), ("checkpoint_every", 0)):
            setattr(self, name, checks.integer(name, getattr(self, name), low=low))
        for name in (
            "feature_dim",
            "epochs",
            "total_steps",
            "batch_size",
            "stop_after",
            "threads",
            "train_size",
            "test_size",
        ):
            setattr(self, name, checks.integer(name, getattr(self, name), low=1, allow_none=True))
        for name, low_open in (("factor", True), ("lr", True), ("weight_decay", False)):
            setattr(
                self,
                name,
                checks.real(name, getattr(self, name), low=0, low_open=low_open, allow_none=True),
            )
        for name in ("compile", "sync_bn", "resume", "progress"):
            setattr(self, name, checks.flag(name, getattr(self, name)))
        # a file named as the run folder failed only at the first checkpoint, after an epoch
        self.out = checks.output_path("out", self.out, folder=True)
        self.device = _device(self.device)
        # the recipe's own errors (a factor for sce, adp-authors for mmc) at construction
        self.get_recipe()

    def get_recipe(self) -> Recipe:
        """Return the :class:`robviz.scale.recipes.Recipe` of this run.

        ``recipe`` for ``objective``, explicit settings on top.

        Raises
        ------
        ValueError
            From :func:`robviz.scale.recipes.get_recipe` (unknown name, wrong objective, misplaced
            factor).
        """
        return get_recipe(
            self.recipe,
            self.objective,
            epochs=self.epochs,
            total_steps=self.total_steps,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            adversarial=self.adversarial,
            compile=self.compile or None,
            augment=self.augment,
            factor=self.factor,
        )

    def build_model(self, num_classes: int, factor: float | None = None) -> nn.Module:
        """Return the model of this run (on the CPU, seeded with ``seed``).

        Parameters
        ----------
        num_classes : int
            The number of classes L of the data.
        factor : float, optional
            The recipe's MMC/MMLDA loss factor, passed to the head (only mmc and mmlda heads take
            it); None passes none.

        Returns
        -------
        torch.nn.Module
            The model of :func:`robviz.scale.resnet.make_cifar_model`.
        """
        options: dict[str, Any] = {} if factor is None else dict(factor=float(factor))
        return make_cifar_model(
            self.arch,
            self.objective,
            num_classes,
            feature_dim=self.feature_dim,
            version=self.version,
            width=self.width,
            normalization=self.normalization,
            seed=self.seed,
            **options,
        )

    def saved(self) -> dict:
        """Return the settings that describe the run: what checkpoints and results hold.

        They leave out :attr:`INVOCATION`.
        """
        return {k: v for k, v in self.to_dict().items() if k not in self.INVOCATION}

    def check_resume(self, saved: dict, checkpoint: str | Path) -> None:
        """Refuse different settings when resuming the run whose checkpoint holds ``saved``.

        A resumed run continues with the optimizer, scheduler and random states it was started with,
        so a changed ``lr`` or ``seed`` would be recorded but never used. Where the run folder lives
        (``out``, ``data_root``) may change.

        Parameters
        ----------
        saved : dict
            The settings the checkpoint holds (:meth:`saved` of the run that wrote it).
        checkpoint : str or Path
            The checkpoint's path, named in the message.

        Raises
        ------
        ResumeMismatch
            A ``ValueError`` naming each changed setting (checkpoint's value -> this run's) and
            how to go on.
        """
        mine = self.saved()
        changed = [
            f"{key} {saved[key]!r} -> {mine[key]!r}"
            for key in mine
            if key in saved and key not in ("out", "data_root") and saved[key] != mine[key]
        ]
        if changed:
            started = type(self).from_dict({**saved, "out": self.out, "data_root": self.data_root})
            raise ResumeMismatch(
                f"--resume with settings that differ from the checkpoint {checkpoint}: "
                f"{', '.join(changed)}. A resumed run continues with the settings it was started "
                "with; "
                f"resume it with them ({started.as_command()} --resume), or start a new run with "
                "the "
                f"new settings in another folder (--out NEW, without --resume)"
            )


class ResumeMismatch(ValueError):
    """``--resume`` with settings other than the checkpoint's (:meth:`TrainRun.check_resume`)."""


#: What ``robviz train --tiny`` sets (a run of seconds on a CPU), before the config file and the
#: explicit flags.
TINY = dict(
    dataset="synthetic",
    arch="resnet8",
    width=4,
    epochs=2,
    batch_size=32,
    train_size=256,
    test_size=128,
    recipe="fast",
    lr=0.05,
)


@dataclass
class EvaluateRun(RunConfig):
    """A ``robviz evaluate`` run: the talk's battery on one checkpoint.

    See :func:`robviz.scale.evaluate`.

    Raises
    ------
    ValueError
        Unknown names, unknown attacks, PGD columns other than 10 and 50, counts below 1, an
        ``out`` that is an existing folder, a ``device`` torch does not know.
    """

    command: ClassVar[str] = "evaluate"

    checkpoint: str = _setting(MISSING, "checkpoint.pt written by `robviz train`", positional=True)
    out: str | None = _setting(None, "JSON file (None: evaluation.json next to the checkpoint)")
    n: int = _setting(1000, "test images", type=int)
    attacks: tuple[str, ...] = _setting(
        ATTACKS,
        "pgd: the talk's PGD columns on the papers' objective (10/50 steps, targeted and "
        "untargeted, 8/255 and 16/255); pgd-auto: untargeted PGD on the objective chosen against "
        "exact values (the margin for MMC); cw: C&W L2; spsa: SPSA at 8/255; noise: Gaussian, "
        "sigma 0.05; rotation: 30 degrees",
        nargs="+",
        choices=ATTACKS,
    )
    name: str | None = _setting(
        None, "the model's row label (None: objective, -AT-tar/-AT-un for adversarial training)"
    )
    batch_size: int = _setting(500, "images per attack batch", type=int)
    pgd_steps: tuple[int, ...] = _setting(
        (10, 50), "PGD columns to run", type=int, nargs="+", choices=(10, 50)
    )
    cw_steps: int = _setting(100, "C&W iterations per binary step (the paper: 1000)", type=int)
    cw_binary_steps: int = _setting(9, "C&W binary search steps (9, as the paper)", type=int)
    spsa_steps: int = _setting(10, "SPSA iterations (10, as the paper)", type=int)
    spsa_samples: int = _setting(128, "SPSA perturbations per iteration", type=int)
    seed: int = _setting(0, type=int)
    device: str | None = _setting(None, "e.g. cuda, cpu (None: CUDA when available)")
    threads: int | None = _setting(
        None, "CPU threads of PyTorch (None: PyTorch's default)", type=int
    )
    progress: bool = _setting(
        True, "don't print the table (progress=False)", flag="--quiet", value=False
    )

    def __post_init__(self) -> None:
        self.progress = checks.flag("progress", self.progress)
        self.checkpoint = str(self.checkpoint)
        # one name (a config file's "attacks": "pgd") is a list of one, not of its letters; a
        # name given twice runs once
        if isinstance(self.attacks, str):
            self.attacks = (self.attacks,)
        if isinstance(self.pgd_steps, int):
            self.pgd_steps = (self.pgd_steps,)
        self.attacks = tuple(dict.fromkeys(self.attacks))
        self.pgd_steps = tuple(dict.fromkeys(self.pgd_steps))
        unknown = set(self.attacks) - set(ATTACKS)
        if unknown:
            raise ValueError(f"unknown attacks {sorted(unknown)}; valid: {', '.join(ATTACKS)}")
        if not set(self.pgd_steps) <= {10, 50}:
            raise ValueError(
                f"pgd_steps must be 10 and/or 50 (the talk's columns), got {sorted(self.pgd_steps)}"
            )
        for name in (
            "n",
            "batch_size",
            "cw_steps",
            "cw_binary_steps",
            "spsa_steps",
            "spsa_samples",
        ):
            setattr(self, name, checks.integer(name, getattr(self, name), low=1))
        self.seed = checks.seed("seed", self.seed)
        self.threads = checks.integer("threads", self.threads, low=1, allow_none=True)
        if self.out is not None:  # a folder named as the file failed after every attack had run
            self.out = checks.output_path("out", self.out)
        self.device = _device(self.device)


@dataclass
class TableRun(RunConfig):
    """A ``robviz table`` run: evaluation files beside the talk's Table 2.

    See :func:`robviz.scale.render_table`.

    Raises
    ------
    ValueError
        Unknown talk rows, no results or one file twice, ``paired`` without two files, an ``out``
        or ``html`` that is an existing folder.
    """

    command: ClassVar[str] = "table"

    results: tuple[str, ...] = _setting(
        MISSING, "JSON files written by `robviz evaluate`", positional=True, nargs="+"
    )
    out: str | None = _setting(None, "write the markdown here (None: print it only)")
    html: str | None = _setting(None, "write a plotly heatmap here (None: none)")
    talk_rows: tuple[str, ...] = _setting(
        (),
        "rows of the talk's table to show even when no file measured them "
        "(their cells: 'not run (talk's number)'), e.g. sce-AT-un mmc-AT-un",
        nargs="+",
    )
    progress: bool = _setting(
        True, "don't print the table (progress=False)", flag="--quiet", value=False
    )
    paired: bool = _setting(
        False,
        "two files: add the exact McNemar test of their worst-case verdicts at each radius "
        "(the same images, evaluated by robviz evaluate)",
    )

    def __post_init__(self) -> None:
        self.progress = checks.flag("progress", self.progress)
        self.paired = checks.flag("paired", self.paired)
        self.talk_rows = (
            (self.talk_rows,)
            if isinstance(self.talk_rows, str)
            else tuple(map(str, self.talk_rows))
        )
        unknown = [row for row in self.talk_rows if row not in TALK_TABLE]
        if unknown:
            raise ValueError(
                f"talk_rows {unknown} are not rows of the talk's table; valid: "
                f"{', '.join(TALK_TABLE)}"
            )
        if isinstance(self.results, str):
            self.results = (self.results,)
        self.results = tuple(map(str, self.results))
        if not self.results:
            raise ValueError("results must name at least one evaluation JSON file")
        resolved = [Path(path).resolve() for path in self.results]
        repeated = [path for path, r in zip(self.results, resolved) if resolved.count(r) > 1]
        if repeated:
            # one file twice would show its model twice ("sce", "sce #2") as if measured twice
            raise ValueError(f"results names the file {repeated[0]!r} more than once")
        for name in ("out", "html"):
            if getattr(self, name) is not None:
                setattr(self, name, checks.output_path(name, getattr(self, name)))
        if self.paired and len(self.results) != 2:
            raise ValueError(
                f"paired compares two evaluation files: results names {len(self.results)}"
            )


#: The run configuration of each command.
RUNS: dict[str, type[RunConfig]] = {cls.command: cls for cls in (TrainRun, EvaluateRun, TableRun)}


def as_command(command: str, settings: dict | RunConfig) -> str:
    """Return the shell command of a lesson's settings dict.

    That is ``RUNS[command].from_dict(settings).as_command()``.

    Parameters
    ----------
    command : {"train", "evaluate", "table"}
        The run command, a key of :data:`RUNS`.
    settings : dict or RunConfig
        The settings, as :meth:`RunConfig.from_dict` reads them.

    Returns
    -------
    str
        The command, e.g. ``robviz train --dataset mnist32 --epochs 1``.

    Raises
    ------
    KeyError
        For an unknown command.
    ValueError, TypeError
        As :meth:`RunConfig.from_dict`.
    """
    return RUNS[command].from_dict(settings).as_command()
