"""Training and evaluating CIFAR ResNets at scale.

What ``robviz train``, ``evaluate`` and ``table`` run.

Each command has one typed, validated run configuration that owns its defaults (:class:`TrainRun`,
:class:`EvaluateRun`, :class:`TableRun`); the command-line flags, their help and
:meth:`~RunConfig.as_command` derive from it, and :meth:`~RunConfig.from_dict` refuses unknown
settings with a suggestion::

    from robviz import scale

    # a typo such as epoch=1 raises ValueError: did you mean 'epochs'?
    run = scale.TrainRun.from_dict(dict(dataset="mnist32", epochs=1))
    print(run.as_command())  # robviz train --dataset mnist32 --epochs 1
    results = scale.train(run)  # OUT/checkpoint.pt, OUT/results.json
    scale.evaluate(dict(checkpoint=results["checkpoint"], n=64, attacks=["pgd"]))

Modules: :mod:`~robviz.scale.resnet` (CIFAR ResNets for every objective, ADP ensembles of them,
``ENSEMBLE_OBJECTIVES``), :mod:`~robviz.scale.cifar` (the CIFAR loader, augmentation on the device),
:mod:`~robviz.scale.recipes` (the training recipes, every number with its source),
:mod:`~robviz.scale.optimizers` (the optimizers the recipes name), :mod:`~robviz.scale.config` (run
configurations), :mod:`~robviz.scale.data` (data sets, the synthetic stand-in),
:mod:`~robviz.scale.distributed` (torchrun set-up, the DDP loss module, autocast),
:mod:`~robviz.scale.loop` (the epoch loop with exact resume, PGD adversarial training through
:class:`robviz.attacks.PGD`), :mod:`~robviz.scale.evaluate` (the talk's attack battery,
written with its per-image verdicts; :func:`paired_test`, the exact McNemar test of two models
evaluated on the same images),
:mod:`~robviz.scale.talk` (the talk's Table 2 as data), :mod:`~robviz.scale.table` (that table
beside measured numbers). Checkpoints are written with :func:`robviz.train.save_checkpoint` (atomic)
and read with :func:`robviz.train.read_checkpoint` (``weights_only=True``).
"""

from .config import (
    RUNS,
    TINY,
    EvaluateRun,
    RunConfig,
    TableRun,
    TrainRun,
    add_arguments,
    as_command,
)
from .data import load_data, synthetic_images, write_json
from .distributed import Distributed, LossModule, autocast
from .evaluate import evaluate, load_trained, paired_test, read_evaluation, rotate, verdicts
from .loop import accuracy, adversarial_examples, train, training_attack, training_batch
from .table import TALK_COLUMNS, TALK_TABLE, measured_vs_talk, paired_lines, render_table

__all__ = [
    "RunConfig",
    "TrainRun",
    "EvaluateRun",
    "TableRun",
    "TINY",
    "RUNS",
    "as_command",
    "add_arguments",
    "synthetic_images",
    "load_data",
    "write_json",
    "Distributed",
    "LossModule",
    "autocast",
    "train",
    "training_attack",
    "training_batch",
    "adversarial_examples",
    "accuracy",
    "evaluate",
    "load_trained",
    "rotate",
    "read_evaluation",
    "verdicts",
    "paired_test",
    "TALK_TABLE",
    "TALK_COLUMNS",
    "measured_vs_talk",
    "paired_lines",
    "render_table",
]
