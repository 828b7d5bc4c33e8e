"""Training recipes for the CIFAR ResNets, with their schedules.

Small dataclasses, printable and serializable.

Every recipe knows where each of its numbers comes from (``Recipe.sources``, printed by
``Recipe.describe()`` and by ``robviz train``). Three families:

``paper``: the papers' settings. MMC/MMLDA with the papers' loss factor 1/2, SGD momentum 0.9, lr
0.01, batch 50, 200 epochs, lr x0.1 from epoch 100 and x0.01 from 150, weight decay 2e-4 on conv and
linear weights (the MMC code's numbers, used for every single-network objective). For ``adp``
ensembles the ADP paper's Adam lr 1e-3, batch 64, 180 epochs, x0.1 from 120 and x0.01 from 160, no
weight decay.

``authors`` (or per paper ``mmc-authors``, ``rce-authors``, ``adp-authors``; and per script
``adp-at-authors``, ``mi-authors``, ``mi-iat-authors``): the authors' public code, number for
number, read from the files named in each recipe's docstring: the loss factor 1, the exact epoch at
which the learning rate drops (Keras counts epochs from 0 and drops *after* epoch 100, i.e. from
epoch 101), weight decay on the layers the code regularizes, its batch size, and the Keras update
rules (``KerasSGD``, ``KerasAdam``) where the code is Keras, and its augmentation (the Keras 10 %
shift with the edge extended, the RCE code's 2-pixel crop). What robviz does not reproduce (the
architectures' details, per-pixel mean subtraction) is said in the recipe's sources.

``paper-at``: the ``paper`` recipe with PGD-10 adversarial training as the talk trains its AT rows
(SCE-AT, MMC-AT; ``--adversarial targeted`` for the targeted ones), 11 passes per image.

``fast``: batch 512, SGD with Nesterov momentum and a one-cycle schedule (linear warm-up to the peak
over the first 15% of the steps, then linear decay to zero), 30 epochs; optional ``torch.compile``.

Any can add PGD adversarial training (Madry et al. 2018; the MMC paper's AT):
``adversarial="untargeted"`` or ``"targeted"`` (a uniformly random target != y), eps 8/255, step
2/255, 10 iterations, random start, the attack objective being the papers' adaptive one
(``paper_objective``: the MMC loss for MMC models, cross-entropy otherwise). The authors' code wrote
the radii as 8/256 and 2/256 and drew its targets uniformly from all classes, the true one included
(``advtrain.py``); ``at_eps``/``at_alpha`` take either radius.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any


from .. import checks
from ..objectives import OBJECTIVES as _HEADS
from ..objectives import Objective
from .resnet import ENSEMBLE_OBJECTIVES as _ENSEMBLES
from .resnet import ADPObjective

__all__ = ["Recipe", "RECIPES", "FACTOR_OBJECTIVES", "get_recipe", "lr_factor"]

#: Objectives whose loss has the MMC/MMLDA factor (paper 1/2, the authors' code 1): ``has_factor``
#: in their class (the names registered at import; the recipes read the class of an objective when
#: they are built).
FACTOR_OBJECTIVES = tuple(name for name, head in _HEADS.items() if head.has_factor)


def _registered(objective: str) -> type[Objective] | type[ADPObjective] | None:
    """Return the class registered as ``objective``.

    Looked up in ``robviz.objectives.OBJECTIVES`` or ``ENSEMBLE_OBJECTIVES``.

    None when there is none. Read at call time, so an objective registered later is seen like the
    others.
    """
    return _HEADS.get(objective, _ENSEMBLES.get(objective))


def _names() -> tuple[str, ...]:
    return (*_HEADS, *_ENSEMBLES)


def _has_factor(objective: str) -> bool:
    return bool(getattr(_registered(objective), "has_factor", False))


def _objectives_of(recipe: str) -> tuple[str, ...]:
    """Return the registered objectives whose class names ``recipe`` as its ``authors_recipe``."""
    return tuple(
        name
        for name in _names()
        if (cls := _registered(name)) is not None and cls.authors_recipe == recipe
    )


def _wrong_objective(recipe: str, objective: str, authors: str | None = None) -> str:
    """Return the error for a per-paper recipe asked for an objective whose class names another.

    ``authors``: the ``authors_recipe`` that selects the recipe's objectives, default ``recipe``.
    """
    names = _objectives_of(authors or recipe)
    plural = "s" * (len(names) > 1)
    return f"recipe {recipe!r} is for the objective{plural} {', '.join(names)}, not {objective!r}"


_MMC_REPO = "P2333/Max-Mahalanobis-Training"
_RCE_REPO = "P2333/Reverse-Cross-Entropy"
_ADP_REPO = "P2333/Adaptive-Diversity-Promoting"
_MI_REPO = "P2333/Mixup-Inference"


@dataclass
class Recipe:
    """Everything about optimization in one object.

    Attributes
    ----------
    name : str
        ``"paper"``, ``"fast"``, ``"mmc-authors"``, ... (or your own).
    epochs, batch_size, lr
        As usual; ``batch_size`` is the global batch (all processes together).
    total_steps : int or None
        Stop after this many optimizer steps, within the last epoch (None: every step of every
        epoch); the RCE code counts its training in steps.
    optimizer : str
        ``"sgd"`` or ``"adam"``.
    rule : str
        ``"pytorch"`` (``torch.optim.SGD``/``Adam``) or ``"keras"``
        (:class:`KerasSGD`/:class:`KerasAdam`, the update rules of Keras 2, which the MMC and ADP
        codes used).
    momentum, nesterov
        SGD's.
    weight_decay : float
        Added to the gradient as ``weight_decay * w`` (coupled, also for Adam). Keras' ``l2(1e-4)``
        adds 1e-4 ||w||^2 to the loss, which is weight decay 2e-4 here; TensorFlow's 2e-4 *
        l2_loss(w) (= 1e-4 ||w||^2) is 2e-4 too.
    decay_scope : str
        ``"weights"`` (conv and linear weights, no biases or norm parameters) or ``"conv"`` (conv
        kernels only, as ``kernel_regularizer`` on the Conv2D layers of the Keras codes).
    schedule : str
        ``"step"`` (x ``gamma`` at each of ``milestones``), ``"onecycle"`` or ``"constant"``.
    milestones, gamma
        The step schedule; the factor drops at the start of 0-based epoch ``m`` (or optimizer
        step ``m`` with ``milestone_unit="step"``).
    milestone_unit : str
        ``"epoch"`` or ``"step"``.
    warmup : float
        The one-cycle warm-up, a fraction of all steps.
    compile : bool
        Wrap the model in ``torch.compile`` (CUDA only; ignored on the CPU).
    adversarial : str or None
        None, ``"untargeted"`` or ``"targeted"`` PGD adversarial training.
    at_eps, at_alpha, at_steps
        The PGD of adversarial training.
    at_eps_max : float or None
        None (every batch at ``at_eps``) or the upper end of a random radius: each batch's eps is
        drawn from U(at_eps, at_eps_max) and its step scaled with it (``at_alpha * eps / at_eps``),
        as the ADP code's adversarial training.
    at_labels : str
        ``"true"`` (attack the labels) or ``"predicted"`` (attack the model's clean predictions: the
        default of cleverhans' PGD when no label is given, which the MI and ADP codes use).
    at_weight, clean_weight : float
        The loss is ``at_weight * L(x_adv) + clean_weight * L(x)`` (Madry et al.: 1
        and 0; the MI code's interpolated AT: 0.5 and 0.5; the ADP code: 1 and 1).
    at_forward : str
        ``"joint"`` (the adversarial and the clean images in one forward pass: one set of BatchNorm
        statistics, as the MI code) or ``"separate"`` (a forward pass each, as the ADP code's two
        model calls).
    mixup : float or None
        None or the Beta(alpha, alpha) parameter of mixup training as the MI authors' code mixes:
        one weight per sample and two random permutations of the batch
        (:func:`robviz.mixup_inference.mixup_batch` with ``per_sample=True``); with adversarial
        training the adversarial and the clean batch are mixed each on its own.
    augment : bool
        Augment the training images (with ``augmentation``).
    augmentation : str
        ``"crop4"`` (pad 4, random crop, flip), ``"crop2"`` (pad 2) or ``"keras-shift"`` (Keras'
        10 % shift with the edge extended, and flip): :data:`robviz.scale.cifar.AUGMENTATIONS`.
    factor : float or None
        The MMC/MMLDA loss factor (0.5 the papers, 1.0 the authors' code); None for other
        objectives.
    sources : dict
        Where each number comes from, by attribute name (what :meth:`describe` prints).
    """

    name: str = "paper"
    epochs: int = 200
    total_steps: int | None = None
    batch_size: int = 50
    lr: float = 0.01
    optimizer: str = "sgd"
    rule: str = "pytorch"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 2e-4
    decay_scope: str = "weights"
    schedule: str = "step"
    milestones: tuple[int, ...] = (100, 150)
    milestone_unit: str = "epoch"
    gamma: float = 0.1
    warmup: float = 0.15
    compile: bool = False
    adversarial: str | None = None
    at_eps: float = 8 / 255
    at_alpha: float = 2 / 255
    at_steps: int = 10
    at_eps_max: float | None = None
    at_labels: str = "true"
    at_weight: float = 1.0
    clean_weight: float = 0.0
    at_forward: str = "joint"
    mixup: float | None = None
    augment: bool = True
    augmentation: str = "crop4"
    factor: float | None = None
    sources: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.at_steps = checks.integer("at_steps", self.at_steps, low=1)
        for name in ("nesterov", "compile", "augment"):
            setattr(self, name, checks.flag(name, getattr(self, name)))
        self.milestones = tuple(int(m) for m in self.milestones)
        if self.adversarial in ("none", ""):
            self.adversarial = None
        self.epochs = checks.integer("epochs", self.epochs, low=1)
        self.total_steps = checks.integer(
            "total_steps",
            self.total_steps,
            low=1,
            allow_none=True,
            note="None: every step of every epoch",
        )
        self.batch_size = checks.integer("batch_size", self.batch_size, low=1)
        self.lr = checks.real("lr", self.lr, low=0, low_open=True)
        for label, value, valid in (
            ("optimizer", self.optimizer, ("sgd", "adam")),
            ("rule", self.rule, ("pytorch", "keras")),
            ("decay_scope", self.decay_scope, ("weights", "conv")),
            ("schedule", self.schedule, ("step", "onecycle", "constant")),
            ("milestone_unit", self.milestone_unit, ("epoch", "step")),
            ("augmentation", self.augmentation, ("crop4", "crop2", "keras-shift")),
            ("adversarial", self.adversarial, (None, "untargeted", "targeted")),
            ("at_labels", self.at_labels, ("true", "predicted")),
            ("at_forward", self.at_forward, ("joint", "separate")),
        ):
            if value not in valid:
                raise ValueError(
                    f"{label} must be one of {', '.join(map(repr, valid))}, got {value!r}"
                )
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must lie in [0, 1), got {self.warmup!r}")
        self.at_weight = checks.real("at_weight", self.at_weight, low=0)
        self.clean_weight = checks.real("clean_weight", self.clean_weight, low=0)
        if self.at_weight + self.clean_weight == 0:
            raise ValueError("at_weight and clean_weight are both 0: the loss would be 0")
        if self.at_eps_max is not None and not self.at_eps_max >= self.at_eps:
            raise ValueError(
                f"at_eps_max must be >= at_eps ({self.at_eps}), got {self.at_eps_max!r}"
            )
        if self.mixup is not None:
            self.mixup = checks.real(
                "mixup", self.mixup, low=0, low_open=True, note="the Beta parameter; None: off"
            )
        if self.factor is not None and not self.factor > 0:
            raise ValueError(
                f"factor must be > 0 (0.5 the papers, 1.0 the authors' code), got {self.factor!r}"
            )

    def to_dict(self) -> dict:
        """Return the recipe as a plain dict (``milestones`` as a list)."""
        return {**asdict(self), "milestones": list(self.milestones)}

    @property
    def passes(self) -> int:
        """Forward-backward passes per training image.

        1, plus ``at_steps`` PGD steps with adversarial training and one more for a clean term
        (``clean_weight`` > 0). A recipe's time is about ``passes`` times that of clean training at
        the same images/s (what lesson 9 prints for the AT recipe).
        """
        if self.adversarial is None:
            return 1
        return 1 + self.at_steps + (self.clean_weight > 0)

    def describe(self) -> str:
        """Return one line per setting that applies: its value and where it comes from.

        ``robviz train`` prints this.
        """
        skip = {"name", "sources"}
        if self.optimizer == "adam":
            skip |= {"momentum", "nesterov"}
        if self.schedule != "step":
            skip |= {"milestones", "milestone_unit", "gamma"}
        if self.schedule != "onecycle":
            skip.add("warmup")
        if self.adversarial is None:
            skip |= {
                "at_eps",
                "at_alpha",
                "at_steps",
                "at_eps_max",
                "at_labels",
                "at_weight",
                "clean_weight",
                "at_forward",
            }
        if self.at_eps_max is None:
            skip.add("at_eps_max")
        if self.mixup is None:
            skip.add("mixup")
        if self.factor is None:
            skip.add("factor")
        if self.total_steps is None:
            skip.add("total_steps")
        if self.weight_decay == 0:
            skip.add("decay_scope")
        if not self.augment:
            skip.add("augmentation")
        lines = [f"recipe {self.name!r} (value, source):"]
        for key, value in self.to_dict().items():
            if key not in skip:
                shown = f"{value:.4g}" if isinstance(value, float) else str(value)
                lines.append(f"  {key:<14} {shown:<12} {self.sources.get(key, 'robviz default')}")
        if "note" in self.sources:
            lines.append(f"  note: {self.sources['note']}")
        return "\n".join(lines)


_KERAS_STEPS = dict(
    schedule="lr_schedule, a Keras LearningRateScheduler: piecewise constant per epoch",
    gamma="lr_schedule: 1e-1, then 1e-2",
    nesterov="Keras SGD default nesterov=False",
)


def _keras_resnet_sources(model_file: str, schedule_file: str, augment_source: str) -> dict:
    """Return the sources the MMC and ADP repositories share.

    The same Keras ResNet layers, L2 on conv kernels, the same step schedule and the same
    ImageDataGenerator augmentation (named by the file that holds each).
    """
    return dict(
        weight_decay=f"{model_file} resnet_layer: kernel_regularizer=l2(1e-4), i.e. decay 2e-4",
        decay_scope=f"{model_file}: Conv2D kernels only (no l2 on Dense layers, biases, BN)",
        milestones=f"{schedule_file} lr_schedule: x0.1 if epoch > 100, x0.01 if epoch > 150 "
        "(0-based epochs)",
        augmentation=f"{augment_source}ImageDataGenerator(width/height_shift_range=0.1, "
        "fill_mode='nearest', "
        "horizontal_flip=True): cifar.apply_keras_shift, the same bilinear shift and edge fill",
        **_KERAS_STEPS,
    )


def _paper(objective: str = "sce") -> Recipe:
    """Return the papers' settings: MMC (ICLR 2020) code numbers with the paper's factor 1/2.

    ADP (ICML 2019) Sec. 5 for the ADP paper's objectives (those whose ``authors_recipe`` is
    ``adp-authors``).
    """
    if objective in _objectives_of("adp-authors"):
        return Recipe(
            name="paper",
            epochs=180,
            batch_size=64,
            lr=1e-3,
            optimizer="adam",
            weight_decay=0.0,
            milestones=(120, 160),
            sources=dict(
                epochs="ADP paper, Sec. 5: 180 epochs on CIFAR (train_cifar.py: 200)",
                batch_size="ADP paper, Sec. 5: mini-batch 64",
                lr="ADP paper, Sec. 5: Adam, initial lr 0.001",
                optimizer="ADP paper, Sec. 5",
                weight_decay="none in the paper's text (the code: l2 1e-4 on conv kernels)",
                milestones="x0.1 from epoch 120, x0.01 from 160 (the code: see adp-authors)",
                schedule="step decays",
                gamma="x0.1 per drop",
                augmentation="robviz: pad-4 crop + flip (He et al. 2016; the code: Keras shift 0.1 "
                "+ flip)",
            ),
        )
    sources = dict(
        epochs=f"{_MMC_REPO} train.py: 200 epochs on CIFAR",
        batch_size="MMC README commands: --batch_size=50",
        lr="MMC README / train.py: --lr=0.01",
        optimizer="train.py: SGD (--optimizer=mom)",
        momentum="train.py: momentum 0.9",
        weight_decay="utils/model.py: Keras l2(1e-4) = decay 2e-4",
        decay_scope="robviz: conv and linear weights (the code: conv kernels only)",
        milestones="train.py epochs_inter [100, 150]; robviz drops at the start of 0-based epoch "
        "100, "
        "the code one epoch later (epoch > 100)",
        schedule="train.py lr_schedule: step decays",
        gamma="train.py lr_schedule: x0.1 per drop",
        nesterov="train.py: plain momentum",
        augmentation="robviz: pad-4 crop + flip (He et al. 2016; the code: Keras shift 0.1 + flip)",
    )
    factor = None
    if _has_factor(objective):
        factor = 0.5
        sources["factor"] = (
            "MMC paper (ICLR 2020): L = 1/2 ||z - mu_y||^2; MMLDA paper (ICML 2018): logits "
            "-1/2 ||z - mu_k||^2 (the code: 1)"
        )
    return Recipe(name="paper", factor=factor, sources=sources)


def _paper_at(objective: str = "sce") -> Recipe:
    """Return adversarial training as the talk trains its AT rows.

    MMC paper, ICLR 2020, Sec. 5 and Table 2: SCE-AT and MMC-AT, targeted and untargeted. The
    ``paper`` recipe (SGD 0.9, lr 0.01, batch 50, 200 epochs, x0.1 from epoch 100 and x0.01 from
    150) training on PGD examples only (Madry et al. 2018: at_weight 1, clean_weight 0).

    PGD: eps 8/255, step 2/255, 10 iterations, uniform random start, the attack objective the
    papers' adaptive one (the MMC loss for MMC models, cross-entropy otherwise), untargeted by
    default; ``adversarial="targeted"`` (``--adversarial targeted``) attacks a uniformly random
    target != y, the table's ``-AT-tar`` rows. Sources: the MMC paper's adversarial training (PGD,
    10 iterations, random start, untargeted and, for MMC, targeted at a uniformly random class; the
    radii 8/255 and 2/255 of its Table 2, which ``advtrain.py`` of
    ``P2333/Max-Mahalanobis-Training`` writes as 8/256 and 2/256), whose optimizer and schedule are
    ``train.py``'s. The talk's numbers are :data:`robviz.scale.table.TALK_TABLE`'s ``sce-AT-tar``,
    ``mmc-AT-tar``, ``sce-AT-un``, ``mmc-AT-un`` rows.

    Expected time: every training image costs ``Recipe.passes`` = 1 + 10 forward-backward passes
    (ten PGD steps, then the training step), so about 11 times the ``paper`` recipe at the same
    images/s: 200 epochs x 50 000 images x 11 = 1.1e8 passes, i.e. 1.1e8 / S seconds at S clean
    training images/s. Lesson 9 prints this from the images/s it measures; ``benchmarks/cifar.py``
    measures S (and its AT row, the PGD steps included) on a GPU.

    Raises
    ------
    ValueError
        For an ensemble objective (ADP trains adversarially with ``adp-at-authors``).
    """
    if objective in _ENSEMBLES:
        raise ValueError(
            f"recipe 'paper-at' trains single networks as the talk's AT rows (sce, mmc, ...), not "
            f"{objective!r}; the ADP authors' adversarial training is 'adp-at-authors'"
        )
    base = _paper(objective)
    paper = "MMC paper (ICLR 2020), adversarial training"
    return replace(
        base,
        name="paper-at",
        adversarial="untargeted",
        at_eps=8 / 255,
        at_alpha=2 / 255,
        at_steps=10,
        at_labels="true",
        at_weight=1.0,
        clean_weight=0.0,
        sources={
            **base.sources,
            "adversarial": f"{paper}: PGD-AT (Madry et al. 2018), untargeted; --adversarial "
            "targeted "
            "for the targeted variant (a uniformly random target != y)",
            "at_eps": f"{paper}: eps 8/255 (the code, advtrain.py: 8/256)",
            "at_alpha": f"{paper}: step 2/255 (the code: 2/256)",
            "at_steps": f"{paper}: 10 iterations, random start",
            "at_labels": "the true labels (Madry et al.)",
            "at_weight": "Madry et al.: the loss on the adversarial batch only",
            "clean_weight": "Madry et al.: no clean term",
            "at_forward": "one forward pass of the adversarial batch",
            "note": "the attack objective is the papers' adaptive one (the MMC loss for MMC); "
            f"expected time: {1 + 10} passes an image, 11x the paper recipe",
        },
    )


def _mmc_authors(objective: str = "mmc") -> Recipe:
    """Return the MMC/MMLDA authors' training, ``P2333/Max-Mahalanobis-Training``.

    ``train.py`` with the README's commands (``--batch_size=50 --mean_var=10 --optimizer='mom'
    --lr=0.01``), ``utils/model.py`` (``l2(1e-4)`` on every Conv2D kernel, none on the Dense
    layers), Keras 2.2.4.

    Loss: ``dot_loss`` on the logits -||z - mu_k||^2 (MMC, ``use_ball=True``) or on their
    log-softmax (MMLDA): factor
    1. Learning rate: ``lr_schedule(epoch)`` multiplies by 0.1 when ``epoch > 100`` and 0.01 when
       ``epoch > 150``,
    Keras epochs counted from 0: milestones 101 and 151 here. ``advtrain.py`` (adversarial training)
    has the same optimizer and schedule. The SCE baseline (``--use_MMLDA=False``) is trained the
    same way; the repository has no center-loss or LGM code, so those objectives get the same
    settings.
    """
    if objective not in _objectives_of("mmc-authors"):
        raise ValueError(
            f"{_wrong_objective('mmc-authors', objective)}; use 'authors' to pick the authors' "
            "recipe "
            f"of each objective"
        )
    sources = dict(
        epochs=f"{_MMC_REPO} train.py: epochs = 200 (cifar10, cifar100)",
        batch_size="README commands: --batch_size=50 (train.py's flag default is 64)",
        lr="README / train.py: --lr=0.01",
        optimizer="train.py: keras SGD (--optimizer=mom)",
        rule="Keras 2.2.4 SGD: v = 0.9 v - lr g; w += v",
        momentum="train.py: SGD(momentum=0.9)",
        note="the code subtracts the per-pixel training mean instead of robviz's channel "
        "normalization, and its "
        "ResNet-v1 shortcut is a 1x1 conv without BN",
        **_keras_resnet_sources("utils/model.py", "train.py", "train.py "),
    )
    factor = None
    if _has_factor(objective):
        factor = 1.0
        sources["factor"] = (
            "train.py: dot_loss(y, logits) with logits -||z - mu_k||^2 (MMC) or their "
            "log-softmax (MMLDA): factor 1; mean_var=10 is the length of each center"
        )
    return Recipe(
        name="mmc-authors",
        rule="keras",
        decay_scope="conv",
        milestones=(101, 151),
        factor=factor,
        augmentation="keras-shift",
        sources=sources,
    )


def _rce_authors(objective: str = "rce") -> Recipe:
    """Return the RCE authors' training, ``P2333/Reverse-Cross-Entropy``.

    ``train.py`` (``HParams(batch_size=128, lrn_rate=0.1, weight_decay_rate=0.0002)``,
    ``--total_steps`` 90000, the ``_LearningRateSetterHook``: 0.1 below step 40000, 0.01 below
    60000, 0.001 below 80000, then 0.0001) and ``resnet_model_cifar.py`` (TensorFlow
    ``MomentumOptimizer(lr, 0.9)``, which updates as ``torch.optim.SGD``; ``_decay``: 2e-4 * l2_loss
    of every ``DW`` weight, conv and fully connected). The same for the CE baseline
    (``--RCE_train=False``).
    """
    if objective not in ("rce", "sce"):
        raise ValueError(
            f"recipe 'rce-authors' is for the objectives rce and sce, not {objective!r}; use "
            f"'authors' to pick the authors' recipe of each objective"
        )
    return Recipe(
        name="rce-authors",
        epochs=231,
        total_steps=90000,
        batch_size=128,
        lr=0.1,
        weight_decay=2e-4,
        milestones=(40000, 60000, 80000),
        milestone_unit="step",
        augmentation="crop2",
        sources=dict(
            epochs=f"{_RCE_REPO} train.py: total_steps 90000 = 230.8 epochs of 50 000 at batch 128",
            total_steps="train.py: --total_steps 90000 (the 231st epoch stops after 300 steps)",
            batch_size="train.py: HParams(batch_size=128)",
            lr="train.py: lrn_rate 0.1",
            optimizer="resnet_model_cifar.py: tf.train.MomentumOptimizer(lr, 0.9) "
            "(--Optimizer=mom)",
            rule="TensorFlow's momentum update is PyTorch's",
            momentum="resnet_model_cifar.py: 0.9",
            weight_decay="train.py weight_decay_rate 0.0002 * tf.nn.l2_loss (= sum w^2 / 2): decay "
            "2e-4",
            decay_scope="resnet_model_cifar.py _decay: every DW variable (conv and fully "
            "connected)",
            milestones="train.py _LearningRateSetterHook: steps 40000, 60000, 80000 (+-1 step: the "
            "hook reads the global step in the same run as the update)",
            milestone_unit="train.py: the schedule counts optimizer steps",
            augmentation="cifar_input.py: pad to 36, random 32 crop, flip (pad 2)",
            schedule="train.py: piecewise constant in the global step",
            gamma="train.py: 0.1 per drop",
            nesterov="MomentumOptimizer's default use_nesterov=False",
            note="the code's ResNet uses leaky ReLU 0.1 and scales images to [-0.5, 0.5]",
        ),
    )


def _adp_authors(objective: str = "adp") -> Recipe:
    """Return the ADP authors' training, ``P2333/Adaptive-Diversity-Promoting``.

    ``train_cifar.py`` (Adam lr 1e-3, 200 epochs, ``lr_schedule``: x0.1 when ``epoch > 100``, x0.01
    when ``epoch > 150``, Keras epochs from 0), the README command (``--lamda=2 --log_det_lamda=0.5
    --num_models=3 --augmentation=True``), ``utils.py`` (``batch_size`` flag 64) and ``model.py``
    (``l2(1e-4)`` on Conv2D kernels only). ``advtrain_cifar10.py`` is ``adp-at-authors``.
    """
    if objective not in _objectives_of("adp-authors"):
        raise ValueError(
            f"{_wrong_objective('adp-authors', objective)}; use 'authors' to pick the authors' "
            "recipe "
            f"of each objective"
        )
    return Recipe(
        name="adp-authors",
        epochs=200,
        batch_size=64,
        lr=1e-3,
        optimizer="adam",
        rule="keras",
        weight_decay=2e-4,
        decay_scope="conv",
        milestones=(101, 151),
        augmentation="keras-shift",
        sources=dict(
            epochs=f"{_ADP_REPO} train_cifar.py: epochs = 200 (the paper: 180)",
            batch_size="utils.py: batch_size flag 64 (the README command keeps it)",
            lr="train_cifar.py lr_schedule: 1e-3",
            optimizer="train_cifar.py: keras Adam",
            rule="Keras 2.2.4 Adam: epsilon 1e-7 outside the bias correction",
            note="train_cifar.py builds ResNet-32 v1 members (n = 5; the paper and "
            "advtrain_cifar10.py: ResNet-20) and subtracts the per-pixel training mean",
            **_keras_resnet_sources("model.py", "train_cifar.py", "README: --augmentation=True, "),
        ),
    )


def _adp_at_authors(objective: str = "adp") -> Recipe:
    """Return the ADP authors' adversarial training.

    Their ``advtrain_cifar10.py`` (``P2333/Adaptive-Diversity-Promoting``).

    The ``adp-authors`` optimizer (Keras Adam lr 1e-3, ``l2(1e-4)`` on conv kernels, batch 64, the
    Keras shift), 180 epochs with ``lr_schedule`` x0.1 when ``epoch > 80``, x0.01 when ``> 120``,
    x0.001 when ``> 160`` (Keras epochs from 0: milestones 81, 121, 161), and the loss
    ``L_ADP(x_adv) + L_ADP(x)`` (``adv_EEDPP``: two model calls). ``x_adv``: cleverhans
    ``MadryEtAl`` on the averaged ensemble with ``eps = tf.random_uniform((), 0.01, 0.05)`` (one
    radius per batch), ``eps_iter = eps / 10``, 10 iterations, no labels given (the ensemble's
    predictions).
    """
    if objective not in _objectives_of("adp-authors"):  # the ADP paper's objectives
        raise ValueError(_wrong_objective("adp-at-authors", objective, authors="adp-authors"))
    base = _adp_authors(objective)
    code = f"{_ADP_REPO} advtrain_cifar10.py"
    return replace(
        base,
        name="adp-at-authors",
        epochs=180,
        milestones=(81, 121, 161),
        adversarial="untargeted",
        at_eps=0.01,
        at_eps_max=0.05,
        at_alpha=0.001,
        at_steps=10,
        at_labels="predicted",
        at_weight=1.0,
        clean_weight=1.0,
        at_forward="separate",
        sources={
            **base.sources,
            "epochs": f"{code}: epochs = 180",
            "milestones": f"{code} lr_schedule: x0.1 if epoch > 80, x0.01 if > 120, x0.001 if > "
            "160 "
            "(0-based Keras epochs)",
            "adversarial": f"{code}: attacks.MadryEtAl (untargeted PGD) on the averaged ensemble",
            "at_eps": f"{code}: eps = tf.random_uniform((), 0.01, 0.05), one radius per batch",
            "at_eps_max": f"{code}: the upper end of eps ~ U(0.01, 0.05)",
            "at_alpha": f"{code}: eps_iter = eps / 10 (0.001 at eps 0.01, scaled with the radius)",
            "at_steps": f"{code}: nb_iter = 10",
            "at_labels": "cleverhans: no y given, so the attack uses the model's predictions",
            "at_weight": f"{code} adv_EEDPP: loss on adv_output + loss on normal_output",
            "clean_weight": f"{code} adv_EEDPP: + _Loss_withEE_DPP(y, normal_output)",
            "at_forward": f"{code}: model(adv_x) and model(model_input), two calls",
            "gamma": f"{code} lr_schedule: 1e-1, 1e-2, then 1e-3",
            "note": "the code builds ResNet-20 v1 members (n = 3), subtracts the per-pixel mean "
            "(the "
            "radii are in [0, 1] pixel units either way) and runs the attack inside the "
            "training graph, with BatchNorm in training mode; robviz attacks in eval mode. The "
            "random start is uniform in the eps-ball (cleverhans 2.x; 3.x draws from +-0.3 "
            "and clips to eps)",
        },
    )


def _mi_authors(objective: str = "sce", interpolated_at: bool = False) -> Recipe:
    """Return the MI authors' training.

    Their ``train_resnet_mixup.py`` (``P2333/Mixup-Inference``) with the README's commands.

    Mixup (``-model resnet50 -lr 0.01 -adv_ratio 0. -mixup_alpha 1. -bs 64``) or,
    ``interpolated_at``, interpolated adversarial training (``-lr 0.1 -adv_ratio 0.5``).

    ``optim.SGD(lr, momentum=0.9)`` without weight decay, 200 epochs, ``LambdaLR(anneal_lr)`` (1
    below epoch 100, 0.1 below 150, then 0.01) stepped at the *start* of each epoch, so the factor
    of 0-based epoch e is ``anneal_lr(e + 1)``: milestones 99 and 149. ``shuffle_minibatch``: a
    Beta(1, 1) weight per sample and two random permutations; ``soft_cross_entropy`` on the mixed
    labels. Interpolated AT: PGD (eps 16/255, step 4/255, 10 iterations on images in [-1, 1], i.e.
    8/255 and 2/255 in [0, 1]) against the model's predictions in eval mode, the adversarial and the
    clean batch each mixed, one forward pass of both in training mode, loss ``0.5 L(adv) + 0.5
    L(clean)``.
    """
    name = "mi-iat-authors" if interpolated_at else "mi-authors"
    if objective != "sce":
        raise ValueError(
            f"recipe {name!r} is for the objective sce (the MI code trains softmax networks), not "
            f"{objective!r}"
        )
    code = f"{_MI_REPO} train_resnet_mixup.py"
    sources = dict(
        epochs=f"{code}: EPOCH_TOTAL = 200",
        batch_size="README commands: -bs 64",
        lr=f"README: -lr {'0.1 (interpolated AT)' if interpolated_at else '0.01 (mixup)'}",
        optimizer=f"{code}: optim.SGD",
        rule="PyTorch's SGD",
        momentum=f"{code}: momentum=0.9",
        nesterov="optim.SGD default nesterov=False",
        weight_decay=f"{code}: optim.SGD without weight_decay",
        milestones=f"{code} anneal_lr: x0.1 from epoch 100, x0.01 from 150, but "
        "lr_scheduler.step() runs before "
        "each epoch: from 0-based epochs 99 and 149",
        schedule=f"{code}: LambdaLR(anneal_lr), per epoch",
        gamma="anneal_lr: 0.1, then 0.01",
        mixup="README: -mixup_alpha 1.; shuffle_minibatch: np.random.beta per sample, two "
        "torch.randperm",
        augmentation="Torture.Models.transforms.cifar_transform, which the public repository "
        "lacks: robviz's "
        "pad-4 crop + flip",
        note="train with --arch resnet50 (README: -model resnet50). The code's CIFAR module "
        "(Torture.Models.resnet_3layer) is not in the public repository: robviz's resnet50 is the "
        "three-stage CIFAR ResNet of depth 6n + 2 = 50 (n = 8), --version 2 for pre-activation "
        "blocks "
        "(the README cites He et al. 2016b). The code scales images to [-1, 1]; robviz normalizes "
        "channels",
    )
    recipe = Recipe(
        name=name,
        epochs=200,
        batch_size=64,
        lr=0.01,
        weight_decay=0.0,
        milestones=(99, 149),
        mixup=1.0,
        sources=sources,
    )
    if not interpolated_at:
        return recipe
    sources.update(
        adversarial=f"{code} with -adv_ratio 0.5: pgd.projected_gradient_descent (untargeted, "
        "rand_init=True)",
        at_eps="pgd_kwargs eps 16/255 on [-1, 1] images = 8/255 in [0, 1]",
        at_alpha="pgd_kwargs eps_iter 4/255 on [-1, 1] = 2/255 in [0, 1]",
        at_steps="pgd_kwargs nb_iter 10",
        at_labels="MI/pgd.py: y=None, so the model's predictions (torch.max(model_fn(x), 1))",
        at_weight="README -adv_ratio 0.5: loss1 * adv_ratio",
        clean_weight="loss2 * (1 - adv_ratio)",
        at_forward=f"{code}: classifier(torch.cat([adv, clean])), one forward pass",
    )
    return replace(
        recipe,
        lr=0.1,
        adversarial="untargeted",
        at_eps=8 / 255,
        at_alpha=2 / 255,
        at_steps=10,
        at_labels="predicted",
        at_weight=0.5,
        clean_weight=0.5,
        at_forward="joint",
        sources=sources,
    )


def _mi_iat_authors(objective: str = "sce") -> Recipe:
    return _mi_authors(objective, interpolated_at=True)


def _authors(objective: str = "sce") -> Recipe:
    """Return the authors' code for ``objective``.

    The recipe its class names as ``authors_recipe`` (mmc-authors for sce, center, lgm, mmlda, mmc;
    rce-authors; adp-authors). An objective whose class names none has no authors' recipe: a
    ValueError, never another paper's settings.
    """
    cls = _registered(objective)
    if cls is None:
        raise ValueError(f"unknown objective {objective!r}; valid names: {', '.join(_names())}")
    if cls.authors_recipe is None:
        with_recipe = [
            name
            for name in _names()
            if (named := _registered(name)) is not None and named.authors_recipe is not None
        ]
        raise ValueError(
            f"objective {objective!r} has no authors' recipe ({cls.__name__}.authors_recipe is "
            "None); "
            f"use 'paper' or 'fast', or one of the objectives with one: {', '.join(with_recipe)}"
        )
    if cls.authors_recipe not in RECIPES:
        raise ValueError(
            f"{cls.__name__}.authors_recipe names {cls.authors_recipe!r}, which is not a recipe; "
            "valid "
            f"names: {', '.join(RECIPES)}"
        )
    return RECIPES[cls.authors_recipe](objective)


def _fast(objective: str = "sce") -> Recipe:
    sources = dict(
        batch_size="robviz: large batches for GPUs",
        schedule="robviz: one-cycle (not in any paper)",
        epochs="robviz: 30 epochs",
        lr="robviz: the one-cycle peak",
        weight_decay="robviz",
    )
    if objective in _ENSEMBLES:
        return Recipe(
            name="fast",
            epochs=30,
            batch_size=512,
            lr=4e-3,
            optimizer="adam",
            weight_decay=0.0,
            schedule="onecycle",
            sources=sources,
        )
    # MMC/MMLDA losses are squared distances to centers of norm 10: a smaller peak keeps them
    # stable.
    lr = 0.05 if _has_factor(objective) else 0.2
    factor = 0.5 if _has_factor(objective) else None
    if factor is not None:
        sources["factor"] = "the papers' 1/2"
    return Recipe(
        name="fast",
        epochs=30,
        batch_size=512,
        lr=lr,
        nesterov=True,
        weight_decay=5e-4,
        schedule="onecycle",
        factor=factor,
        sources=sources,
    )


RECIPES = {
    "paper": _paper,
    "fast": _fast,
    "authors": _authors,
    "mmc-authors": _mmc_authors,
    "rce-authors": _rce_authors,
    "adp-authors": _adp_authors,
    "adp-at-authors": _adp_at_authors,
    "mi-authors": _mi_authors,
    "mi-iat-authors": _mi_iat_authors,
    "paper-at": _paper_at,
}


def get_recipe(name: str = "paper", objective: str = "sce", **overrides: Any) -> Recipe:
    """Return the named recipe for ``objective`` with ``overrides`` applied.

    Parameters
    ----------
    name : str, default "paper"
        A key of ``RECIPES``.
    objective : str, default "sce"
        The objective trained (any case): per-paper recipes accept only their paper's objectives.
    **overrides
        Recipe fields to replace (their source becomes "set by the caller"); None values are
        ignored.

    Returns
    -------
    Recipe
        The recipe.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones), a per-paper recipe asked for another paper's
        objective, a ``factor`` for an objective without one (only mmc and mmlda have it), or an
        override out of range (the recipe's own checks), or an override that is not a recipe
        field (with the closest field's name).
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; valid names: {', '.join(RECIPES)}")
    objective = str(objective).lower()
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "factor" in overrides and not _has_factor(objective):
        with_factor = [name for name in _names() if _has_factor(name)]
        raise ValueError(
            f"factor applies to the objectives {' and '.join(with_factor)} only, not {objective!r}"
        )
    recipe = RECIPES[name](objective)
    fields = [f.name for f in dataclasses.fields(recipe) if f.name != "sources"]
    unknown = [k for k in overrides if k not in fields]
    if unknown:
        close = {k: difflib.get_close_matches(k, fields, n=1) for k in unknown}
        hints = ", ".join(
            f"{k!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for k, c in close.items()
        )
        raise ValueError(f"unknown recipe setting(s) {hints}; valid: {', '.join(fields)}")
    sources = {**recipe.sources, **{k: "set by the caller (flag or config)" for k in overrides}}
    return replace(recipe, **overrides, sources=sources)


def lr_factor(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """Return the learning-rate multiplier at optimizer ``step`` (0-based).

    The value of the schedule: 1 for ``"constant"``; ``gamma`` to the number of milestones passed
    for ``"step"``; for ``"onecycle"`` a linear rise to 1 over the first ``warmup`` fraction of the
    run, then a linear fall to 0 at its end (``epochs * steps_per_epoch`` steps, or
    ``total_steps`` when fewer).

    Parameters
    ----------
    recipe : Recipe
        The recipe whose schedule is read.
    step : int
        The 0-based optimizer step.
    steps_per_epoch : int
        Optimizer steps per epoch (1 gives the factor per epoch of an epoch schedule).

    Returns
    -------
    float
        The factor multiplying ``recipe.lr``, in [0, 1] unless ``gamma`` > 1.
    """
    if recipe.schedule == "constant":
        return 1.0
    if recipe.schedule == "step":
        count = step if recipe.milestone_unit == "step" else step // steps_per_epoch
        return recipe.gamma ** sum(count >= m for m in recipe.milestones)
    total = (
        recipe.epochs * steps_per_epoch
        if recipe.total_steps is None
        else min(recipe.epochs * steps_per_epoch, recipe.total_steps)
    )
    peak = max(1, math.ceil(recipe.warmup * total))
    if step < peak:
        return (step + 1) / peak
    return max(0.0, (total - step) / max(1, total - peak))
