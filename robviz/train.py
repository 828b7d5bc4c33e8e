"""Training: one ``fit`` for every objective and model, recording a :class:`History` of snapshots.

A snapshot holds, at one step: the mean training loss since the previous snapshot, accuracies, the
features of a fixed probe set and a copy of the head's parameters (so decision regions can be drawn
for every frame later).
"""

from __future__ import annotations

import copy
import math
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import numpy as np
import torch
from torch import nn

from . import checks
from .adversarial import AdversarialTraining
from .data import Dataset, check_dataset
from .models import TrainableModel
from .runtime import atomic_write, dtype_and_device, evaluating, inference, predict, seeded

if TYPE_CHECKING:
    from .models import Classifier, Predictor
    from .objectives import Objective

__all__ = [
    "TrainConfig",
    "History",
    "fit",
    "fit_objectives",
    "accuracy",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
]

_Module = TypeVar("_Module", bound=nn.Module)


class _Head(Protocol):
    """What :func:`fit` reads from ``model.objective``: a robviz head, or an ensemble's stand-in."""

    @property
    def name(self) -> str:
        """The objective's name, which names the run."""
        ...

    @property
    def centers(self) -> torch.Tensor | None:
        """The (L, d) class centers, or None."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Return the head's parameters and buffers (``nn.Module.state_dict``)."""
        ...


class _Fittable(TrainableModel, Protocol):
    """What :func:`fit` trains: a trainable module with an ``objective``.

    A :class:`~robviz.models.Classifier`, an ensemble, a ``MixupModel``.
    """

    @property
    def objective(self) -> _Head:
        """The objective head (its name and centers are recorded)."""
        ...

    def to(self, device: torch.device) -> nn.Module:
        """Move the model to ``device`` (``nn.Module.to``)."""
        ...

    def train(self, mode: bool = True) -> nn.Module:
        """Set training mode (``nn.Module.train``)."""
        ...

    def eval(self) -> nn.Module:
        """Set eval mode (``nn.Module.eval``)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        """Return the parameters the optimizer updates (``nn.Module.parameters``)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Return the parameters and buffers (``nn.Module.state_dict``)."""
        ...


class _WithObjective(Protocol):
    """A model with a robviz objective head, ``model.objective`` (a :class:`Classifier`)."""

    @property
    def objective(self) -> Objective:
        """The objective head."""
        ...


@dataclass
class TrainConfig:
    """Everything that decides a training run; printing it reproduces the run.

    Attributes
    ----------
    steps : int
        Optimizer steps.
    batch_size : int or None
        Samples per step; ``None`` trains full-batch.
    lr : float
        Learning rate.
    optimizer : str
        ``"adam"`` or ``"sgd"`` (SGD uses ``momentum``).
    momentum : float
        SGD's momentum, in [0, 1).
    weight_decay : float
        L2 penalty on all parameters, >= 0.
    record_every : int
        Take a snapshot every this many steps (0: only the first and the last).
    probe_size : int
        Training points whose features every snapshot records (all of them when the training set
        is smaller).
    seed : int
        Seeds batch order and the probe choice (and, seeded ``seed + 1``, the random starts of
        adversarial training, so that a run with and without it sees the same batches).
    adversarial : AdversarialTraining or None
        None (train on the clean batch), or an :class:`robviz.adversarial.AdversarialTraining`
        (or a dict of its fields): PGD adversarial training or TRADES, L-inf or L2.
    record_models : bool
        Also keep a copy of the whole model's parameters at every snapshot (``History.model_at``),
        for measurements of the input space over training (small models only).

    Raises
    ------
    ValueError
        (On construction) ``steps``, ``batch_size`` or ``probe_size`` < 1, ``record_every`` < 0,
        ``lr`` not > 0, ``momentum`` outside [0, 1), ``weight_decay`` < 0 (a decay < 0 grows the
        weights), an unknown ``optimizer``, or an ``adversarial`` of another type.
    """

    steps: int = 600
    batch_size: int | None = None
    lr: float = 0.01
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    record_every: int = 20
    probe_size: int = 300
    seed: int = 0
    adversarial: AdversarialTraining | None = None
    record_models: bool = False

    def __post_init__(self) -> None:
        self.seed = checks.seed("seed", self.seed)
        self.record_models = checks.flag("record_models", self.record_models)
        self.steps = checks.integer("steps", self.steps, low=1)
        self.batch_size = checks.integer(
            "batch_size", self.batch_size, low=1, allow_none=True, note="None: full batch"
        )
        self.lr = checks.real("lr", self.lr, low=0, low_open=True)
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        self.momentum = checks.real("momentum", self.momentum, low=0, high=1, high_open=True)
        self.weight_decay = checks.real("weight_decay", self.weight_decay, low=0)
        self.record_every = checks.integer(
            "record_every", self.record_every, low=0, note="0: only the first and the last step"
        )
        self.probe_size = checks.integer("probe_size", self.probe_size, low=1)
        if isinstance(self.adversarial, dict):  # asdict() of a config, or a config file
            self.adversarial = AdversarialTraining(**self.adversarial)
        if self.adversarial is not None and not isinstance(self.adversarial, AdversarialTraining):
            raise ValueError(
                f"adversarial must be None, an AdversarialTraining or a dict of its fields, got "
                f"{self.adversarial!r}"
            )


@dataclass
class History:
    """What ``fit`` recorded. Lists have one entry per snapshot; ``features`` is (S, P, d).

    Attributes
    ----------
    objective : str
        The objective's name.
    config : TrainConfig
        The :class:`TrainConfig` used.
    step, loss, train_accuracy, test_accuracy, feature_norm
        Per snapshot (loss is the mean training loss since the previous snapshot, at step 0 the loss
        on the whole training set; feature_norm the mean ||z|| over the probe set).
    features : torch.Tensor or None
        Probe-set features per snapshot, a tensor (S, P, d) on the CPU.
    probe_y : torch.Tensor or None
        Labels of the probe set (P,).
    head_states : list[dict]
        The head's parameters per snapshot (CPU copies), for drawing decision regions later.
    centers : torch.Tensor or None
        The (L, d) class centers at the end of training, if the objective has centers.
    model_states : list[dict]
        The whole model's parameters per snapshot (CPU copies) when ``config.record_models``.
    """

    objective: str
    config: TrainConfig
    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    feature_norm: list[float] = field(default_factory=list)
    features: torch.Tensor | None = None
    probe_y: torch.Tensor | None = None
    head_states: list[dict] = field(default_factory=list)
    centers: torch.Tensor | None = None
    model_states: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    def head_at(self, model: _WithObjective, frame: int = -1) -> Objective:
        """Return the head as it was at snapshot ``frame``.

        A CPU copy of ``model.objective`` (the model this history trained) holding that snapshot's
        parameters, in eval mode. The model itself is not changed.

        Use it wherever the head of an earlier step is needed: decision regions per frame
        (``robviz.regions.feature_regions``), or the loss of a past snapshot for sample-density
        shells (``robviz.objectives.per_sample_loss(history.head_at(model, frame), float64=True)``).

        Parameters
        ----------
        model : Classifier
            The model this history trained (its ``objective`` is copied).
        frame : int
            The snapshot index; negative counts from the end (default the last).

        Returns
        -------
        Objective
            The head at that snapshot, on the CPU, in eval mode.

        Raises
        ------
        ValueError
            The history holds no snapshots; ``frame`` not an integer; ``model``'s objective is not
            the one this history trained (its parameters would not load, or mean another head).
        IndexError
            ``frame`` out of range.
        """
        if not self.head_states:
            raise ValueError("this history holds no snapshots")
        frame = checks.integer("frame", frame)
        checks.model("model", model, needs=("objective",))
        if model.objective.name != self.objective:
            raise ValueError(
                f"this history trained a {self.objective} head, model's objective is "
                f"{model.objective.name}: pass the model that fit trained"
            )
        if not -len(self.head_states) <= frame < len(self.head_states):
            raise IndexError(
                f"frame must index one of the {len(self.head_states)} snapshots, got {frame}"
            )
        head = copy.deepcopy(model.objective).cpu().eval()
        head.load_state_dict(self.head_states[frame])
        return head

    def model_at(self, model: _Module, frame: int = -1) -> _Module:
        """Return the whole model as it was at snapshot ``frame``.

        A CPU copy of ``model`` holding that snapshot's parameters, in eval mode (the model itself
        is not changed). Needs ``TrainConfig(record_models=True)``.

        Raises
        ------
        ValueError
            The run did not record models; ``frame`` not an integer.
        IndexError
            ``frame`` out of range.

        Parameters
        ----------
        model : torch.nn.Module
            The model this history trained (it is copied).
        frame : int
            The snapshot index; negative counts from the end (default the last).

        Returns
        -------
        torch.nn.Module
            The model at that snapshot, on the CPU, in eval mode.
        """
        if not self.model_states:
            raise ValueError("this history holds no model states; train with record_models=True")
        frame = checks.integer("frame", frame)
        if not -len(self.model_states) <= frame < len(self.model_states):
            raise IndexError(
                f"frame must index one of the {len(self.model_states)} snapshots, got {frame}"
            )
        copied = copy.deepcopy(model).cpu().eval()
        copied.load_state_dict(self.model_states[frame])
        return copied

    def summary(self) -> dict:
        """Return the last snapshot's numbers, rounded for printing."""
        return {
            "objective": self.objective,
            "step": self.step[-1],
            "loss": round(self.loss[-1], 4),
            "train_accuracy": round(self.train_accuracy[-1], 4),
            "test_accuracy": round(self.test_accuracy[-1], 4),
            "feature_norm": round(self.feature_norm[-1], 3),
        }


@torch.no_grad()
def accuracy(model: Predictor, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y`` (evaluated in eval mode, batched).

    A sample whose logits are not finite counts as wrong (:func:`robviz.runtime.predict`).

    Raises
    ------
    ValueError
        ``x`` is empty or has non-finite values (:func:`robviz.checks.finite_inputs`); ``y`` is
        not one integer label per input in [0, L), L the width of the logits
        (:func:`robviz.checks.labels`, naming the sample index); ``batch_size`` < 1.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, x -> prediction logits (N, L).
    x : torch.Tensor
        Inputs (N, ...).
    y : torch.Tensor
        Labels (N,).
    batch_size : int
        Inputs per forward pass.

    Returns
    -------
    float
        The accuracy in [0, 1].
    """
    checks.model("model", model)
    checks.finite_inputs("x", x, tensor=True)
    batch_size = checks.integer("batch_size", batch_size, low=1)
    logits = inference(model, x, batch_size=batch_size)
    y = checks.labels("y", y, len(x), num_classes=logits.shape[1])
    correct = (predict(logits).cpu() == y.cpu()).sum().item()
    return correct / len(x)


def _snapshot(
    model: _Fittable,
    data: Dataset,
    history: History,
    features: list[torch.Tensor],
    probe_x: torch.Tensor,
    mean_loss: float,
    step: int,
) -> None:
    z = inference(
        model, probe_x, method="features", batch_size=max(len(probe_x), 1)
    ).cpu()  # one forward pass
    history.step.append(step)
    history.loss.append(mean_loss)
    history.train_accuracy.append(accuracy(model, data.x_train, data.y_train))
    history.test_accuracy.append(accuracy(model, data.x_test, data.y_test))
    history.feature_norm.append(z.norm(dim=1).mean().item())
    features.append(z)
    history.head_states.append(
        {k: v.detach().cpu().clone() for k, v in model.objective.state_dict().items()}
    )
    if history.config.record_models:
        history.model_states.append(
            {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        )


def _progress_label(objective: str, adversarial: AdversarialTraining | None) -> str:
    """Return what a run trains, for its progress bar: "fit sce", "fit mmc (TRADES)".

    Five bars of one lesson read "fit sce" or "fit mmc" when three of them were adversarially
    trained; the method (and a norm other than L-inf) says which is which.
    """
    if adversarial is None:
        return f"fit {objective}"
    method = {"pgd": "PGD-AT", "trades": "TRADES"}[adversarial.method]
    norm = "" if adversarial.norm == "Linf" else f", {adversarial.norm}"
    return f"fit {objective} ({method}{norm})"


def fit(
    model: _Fittable,
    data: Dataset,
    config: TrainConfig | None = None,
    *,
    progress: bool = True,
    **overrides: Any,
) -> History:
    """Train ``model`` on ``data.x_train`` with its objective's loss; return the recorded history.

    One loop, kept whole so that a student reads a training step, a snapshot and the NaN check in
    one place (a little over 60 lines).

    With ``config.adversarial`` each step trains on the loss of
    :meth:`robviz.adversarial.AdversarialTraining.loss` (the inner maximization in eval mode, the
    step in train mode) instead of ``model.loss`` on the clean batch; the loss at step 0 and the
    accuracies stay clean. The loss at step 0 is measured in eval mode, so snapshot 0 is the
    untrained model (no BatchNorm statistics moved, no dropout).

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`robviz.models.Classifier` (anything with ``features``, ``objective`` and
        ``loss``).
    data : Dataset
        A :class:`robviz.data.Dataset`; the model is moved to its device, its floating-point
        inputs are used in the model's dtype (float64 data trains a float32 model in float32).
    config : TrainConfig or None
        A :class:`TrainConfig`; keyword ``overrides`` replace its fields (``fit(m, d, steps=100)``).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History
        The snapshots (step, loss, train and test accuracy, probe features, centers). The model is
        left trained, in eval mode: what it is measured in next.

    Raises
    ------
    TypeError
        ``data`` not a :class:`robviz.data.Dataset`.
    ValueError
        Empty or non-finite training or test inputs (naming the sample); labels not one integer
        per input or outside the head's classes [0, num_classes) (naming the sample).
    FloatingPointError
        When the loss becomes NaN or infinite (with the step and a hint).
    """
    checks.model("model", model, needs=("objective", "loss"))
    progress = checks.flag("progress", progress)
    data = check_dataset("data", data)
    checks.finite_inputs("data.x_train", data.x_train)
    checks.finite_inputs("data.x_test", data.x_test)
    num_classes = getattr(model.objective, "num_classes", None)  # None: not declared
    checks.labels("data.y_train", data.y_train, len(data.x_train), num_classes=num_classes)
    checks.labels("data.y_test", data.y_test, len(data.x_test), num_classes=num_classes)
    config = TrainConfig(**{**asdict(config or TrainConfig()), **overrides})
    dtype, _ = dtype_and_device(model)
    if data.x_train.is_floating_point() and data.x_train.dtype != dtype:
        # once, here: float64 data (torch.as_tensor of a NumPy array) in a float32 model's first
        # layer is torch's "mat1 and mat2 must have the same dtype"
        data = replace(data, x_train=data.x_train.to(dtype), x_test=data.x_test.to(dtype))
    model.to(data.x_train.device).train()
    with seeded(config.seed), torch.enable_grad():  # the caller's random stream is left alone
        return _train(model, data, config, progress)


def _train(model: _Fittable, data: Dataset, config: TrainConfig, progress: bool) -> History:
    from tqdm.auto import tqdm

    device = data.x_train.device
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # inside seeded: dropout masks of this run only

    n = len(data.x_train)
    starts = torch.Generator().manual_seed(config.seed + 1)  # adversarial training's random starts
    probe_index = torch.randperm(n, generator=generator)[: config.probe_size].to(device)
    probe_x = data.x_train[probe_index]
    history = History(
        objective=model.objective.name, config=config, probe_y=data.y_train[probe_index].cpu()
    )
    features: list[
        torch.Tensor
    ] = []  # the probe features of each snapshot, stacked into history.features

    optimizer: torch.optim.Optimizer
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
    else:
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    batch = n if config.batch_size is None else min(config.batch_size, n)
    order, cursor = torch.randperm(n, generator=generator).to(device), 0
    running, count = 0.0, 0

    # the loss before any step, on the whole training set, 1024 samples at a time (memory); in
    # eval mode, so that it neither moves BatchNorm statistics nor draws dropout masks
    with torch.no_grad(), evaluating(model):
        chunks = [
            (data.x_train[i : i + 1024], data.y_train[i : i + 1024]) for i in range(0, n, 1024)
        ]
        initial_loss = sum(model.loss(xb, yb).item() * len(xb) for xb, yb in chunks) / n
    _snapshot(model, data, history, features, probe_x, initial_loss, 0)
    bar = tqdm(
        range(1, config.steps + 1),
        desc=_progress_label(model.objective.name, config.adversarial),
        disable=not progress,
        leave=False,
    )
    for step in bar:
        if cursor + batch > n:  # a new epoch: reshuffle
            order, cursor = torch.randperm(n, generator=generator).to(device), 0
        index = order[cursor : cursor + batch]
        cursor += batch
        xb, yb = data.x_train[index], data.y_train[index]
        if config.adversarial is None:
            loss = model.loss(xb, yb)
        else:
            loss = config.adversarial.loss(model, xb, yb, data.bounds, starts)
        value = (
            loss.item()
        )  # one read of the loss a step: the NaN check and the running mean share it
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the {model.objective.name} loss became {value} at step {step}; "
                f"lower the learning rate (lr={config.lr}) or check the inputs for NaN"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running, count = running + value, count + 1
        if (config.record_every and step % config.record_every == 0) or step == config.steps:
            _snapshot(model, data, history, features, probe_x, running / count, step)
            bar.set_postfix(loss=f"{running / count:.3g}", acc=f"{history.test_accuracy[-1]:.3f}")
            running, count = 0.0, 0
    bar.close()
    model.eval()
    history.features = torch.stack(features)
    centers = model.objective.centers
    history.centers = None if centers is None else centers.detach().cpu().clone()
    return history


def fit_objectives(
    data: Dataset,
    objectives: str | Iterable[str],
    config: TrainConfig | None = None,
    *,
    feature_dim: int | None = None,
    width: int | None = None,
    seed: int = 0,
    progress: bool = True,
    **overrides: Any,
) -> tuple[dict[str, Classifier], dict[str, History]]:
    """Train one model per objective name on the same data, from the same seed and config.

    Parameters
    ----------
    data : Dataset
        A :class:`robviz.data.Dataset`.
    objectives : str or iterable of str
        Objective names (see ``robviz.objectives.OBJECTIVES``); one string is one name.
    config : TrainConfig or None
        The :class:`TrainConfig` of every run (see :func:`fit`).
    feature_dim : int or None
        d for every model; None: :func:`robviz.models.make_model`'s default.
    width : int or None
        The body's width for every model; None: :func:`robviz.models.make_model`'s default.
    seed : int
        Seeds every model's initialization (the same for all).
    progress : bool
        Show a tqdm progress bar per run.
    **overrides
        Replace fields of ``config`` (passed to :func:`fit`).

    Returns
    -------
    tuple of dict
        (models, histories): two dicts keyed by objective name.

    Raises
    ------
    TypeError
        ``data`` not a :class:`robviz.data.Dataset`.
    ValueError
        No objective, an unknown or repeated objective name, also in other letter case (the dicts
        hold one model per name), or data :func:`fit` refuses.
    FloatingPointError
        A loss became NaN or infinite.
    """
    from .models import make_model

    seed = checks.seed("seed", seed)
    progress = checks.flag("progress", progress)
    data = check_dataset("data", data)
    if isinstance(objectives, str):  # one name, not its letters ("sce" -> 's', 'c', 'e')
        objectives = (objectives,)
    names = checks.unique_labels("objectives", objectives)
    if not names:
        raise ValueError("objectives is empty: name at least one objective to train")
    seen: dict[str, str] = {}
    for name in names:  # make_objective reads names case-insensitively: "mmc" and "MMC" are one
        if seen.setdefault(name.lower(), name) != name:
            raise ValueError(
                f"objectives names one objective twice, {seen[name.lower()]!r} and {name!r}: "
                "the dicts would hold the same model under two keys"
            )
    models, histories = {}, {}
    for name in names:
        models[name] = make_model(data, name, feature_dim, width=width, seed=seed)
        histories[name] = fit(models[name], data, config, progress=progress, **overrides)
    return models, histories


def plain_metadata(value: object, key: str = "metadata") -> object:
    """Return ``value`` as data that ``torch.load(weights_only=True)`` reads back.

    What robviz writes, it can read.

    Parameters
    ----------
    value : object
        NumPy scalars become Python numbers (``np.float64(0.9)`` -> ``0.9``), NumPy arrays lists
        (of numbers: an object or datetime array is refused), paths strings, tensors detached CPU
        copies; None, bools, numbers (complex too), strings and lists, tuples and dicts (string or
        integer keys) of those stay.
    key : str
        How the error names ``value`` (nested entries extend it, e.g. ``metadata['config']``).

    Returns
    -------
    object
        The plain value.

    Raises
    ------
    TypeError
        For anything else, naming the key (e.g. ``metadata['config']``) and the type.
    """
    # first: np.float64 is also a float, but pickles as a NumPy object
    # .item() and .tolist() go through the check again: a datetime64 gives a datetime, an object
    # array anything, and a checkpoint holding those could not be read back
    if isinstance(value, np.generic):
        return plain_metadata(value.item(), key)
    if value is None or isinstance(value, (bool, int, float, complex, str, torch.Tensor)):
        return value.detach().cpu().clone() if isinstance(value, torch.Tensor) else value
    if isinstance(value, np.ndarray):
        return plain_metadata(value.tolist(), key)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return type(value)(plain_metadata(v, f"{key}[{i}]") for i, v in enumerate(value))
    if isinstance(value, dict):
        bad = [k for k in value if isinstance(k, bool) or not isinstance(k, (str, int))]
        if bad:
            raise TypeError(
                f"{key} has a key {bad[0]!r} of type {type(bad[0]).__name__}; checkpoint metadata "
                f"keys must be strings or integers"
            )
        return {plain_metadata(k): plain_metadata(v, f"{key}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"{key} is a {type(value).__module__}.{type(value).__name__}, which a safe checkpoint "
        "(torch.load(weights_only=True)) cannot read back; store numbers, strings, lists, dicts "
        "or "
        f"tensors (e.g. dataclasses.asdict(config))"
    )


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, **metadata: object) -> Path:
    """Write ``model``'s parameters and plain ``metadata`` to ``path``.

    Atomic (``robviz.runtime.atomic_write``): a crash never leaves half a checkpoint. Metadata goes
    through :func:`plain_metadata` first, so everything saved loads with ``weights_only=True``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; missing parent folders are created.
    model : torch.nn.Module
        Its ``state_dict`` is saved (CPU copies); of a model wrapped in ``nn.DataParallel``,
        ``DistributedDataParallel`` or ``torch.compile``, the wrapped model's (keys without the
        ``module.`` or ``_orig_mod.`` prefix, so they load into the bare model).
    **metadata
        Plain metadata: numbers, strings, lists, dicts (see :func:`plain_metadata`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        A metadata value that a safe load could not read (named with its key), before any writing.
    """
    checks.model("model", model, module=True)
    path = Path(path)
    # the network a wrapper holds, so the keys load into the bare model: DataParallel and DDP
    # prefix every key with "module.", torch.compile with "_orig_mod."
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)) or isinstance(
        getattr(model, "_orig_mod", None), nn.Module
    ):
        inner = model.module if hasattr(model, "module") else model._orig_mod
        model = cast(nn.Module, inner)
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": plain_metadata(metadata),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda handle: torch.save(state, handle))


def read_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict:
    """Return the whole file that :func:`save_checkpoint` wrote.

    That is ``{"state_dict": ..., "metadata": ...}``.

    For callers that need the metadata to build the model first (:func:`load_checkpoint` when the
    model exists).

    Uses ``torch.load(weights_only=True)``: a checkpoint can hold tensors and plain data, never
    code.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    map_location : str or torch.device
        Where the tensors are loaded (``torch.load``'s ``map_location``).

    Returns
    -------
    dict
        ``{"state_dict": ..., "metadata": ...}``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        ``path`` is a folder, a truncated or corrupt file, or a file that does not hold
        ``{"state_dict": dict, "metadata": dict}`` (a bare ``state_dict`` saved with
        ``torch.save``), naming the path.
    pickle.UnpicklingError
        A file holding code (or a pickle it cannot read), which ``weights_only=True`` refuses,
        naming the path.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:  # code in the file, or a broken pickle: the same kind
        raise pickle.UnpicklingError(f"{path}: {error}") from error
    except (RuntimeError, EOFError, OSError, KeyError) as error:
        # torch names none of these after the file: "[Errno 22] Invalid argument" for half a file,
        # an empty EOFError for an empty one, "KeyError: 101" for text
        raise ValueError(
            f"{path} cannot be read as a checkpoint (truncated, corrupt, or not written by "
            f"robviz.train.save_checkpoint): {type(error).__name__}: {error}"
        ) from error
    if not (
        isinstance(state, dict)
        and isinstance(state.get("state_dict"), dict)
        and isinstance(state.get("metadata"), dict)
    ):
        found = (
            f"the keys {checks.first_items(sorted(map(str, state)))}"
            if isinstance(state, dict)
            else f"a {type(state).__name__}"
        )
        raise ValueError(
            f"{path} is not a checkpoint of robviz.train.save_checkpoint: it holds {found}, not "
            "{'state_dict': ..., 'metadata': ...}"
        )
    return state


def load_checkpoint(
    path: str | os.PathLike[str], model: nn.Module, map_location: str | torch.device = "cpu"
) -> dict:
    """Load parameters saved by :func:`save_checkpoint` into ``model`` and return the metadata.

    Uses ``torch.load(weights_only=True)``: a checkpoint can hold tensors and plain data, never
    code.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    model : torch.nn.Module
        The model to load into, of the saved architecture.
    map_location : str or torch.device
        Where the tensors are loaded before ``load_state_dict`` copies them.

    Returns
    -------
    dict
        The metadata saved with the parameters.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A file :func:`read_checkpoint` refuses (a folder, truncated, corrupt or foreign).
    pickle.UnpicklingError
        A file holding code, which ``weights_only=True`` refuses.
    RuntimeError
        The parameters do not fit ``model`` (``load_state_dict``).
    """
    checks.model("model", model, module=True)
    state = read_checkpoint(path, map_location)
    model.load_state_dict(state["state_dict"])
    return state["metadata"]
