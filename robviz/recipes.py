"""Training recipes for the CIFAR ResNets: small dataclasses, printable and serializable, with their schedules.

``paper``: the MMC authors' code (ICLR 2020): SGD momentum 0.9, lr 0.01, batch 50, 200 epochs, lr x0.1 after
epoch 100 and x0.01 after 150, L2 1e-4 on the weights. For ``adp`` ensembles the ADP paper's: Adam lr 1e-3,
180 epochs, x0.1 after 120 and x0.01 after 160.

``fast``: batch 512, SGD with Nesterov momentum and a one-cycle schedule (linear warm-up to the peak over the
first 15% of the steps, then linear decay to zero), 30 epochs; optional ``torch.compile``.

Either can add PGD adversarial training (Madry et al. 2018; the MMC paper's AT): ``adversarial="untargeted"`` or
``"targeted"`` (a uniformly random target != y), eps 8/255, step 2/255, 10 iterations, random start, the attack
objective being the model's adaptive one (the MMC loss for MMC models, cross-entropy otherwise). The authors'
code wrote the radii as 8/256 and 2/256; ``at_eps``/``at_alpha`` take either.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch

__all__ = ["Recipe", "RECIPES", "get_recipe", "lr_factor", "make_optimizer", "make_scheduler"]


@dataclass
class Recipe:
    """Everything about optimization in one object.

    Attributes:
        name: ``"paper"`` or ``"fast"`` (or your own).
        epochs, batch_size, lr: as usual; ``batch_size`` is the global batch (all processes together).
        optimizer: ``"sgd"`` or ``"adam"``.
        momentum, nesterov: SGD's.
        weight_decay: decoupled from the loss as SGD's weight decay, on conv and linear weights only (not on
            biases or norm parameters). Keras' ``l2(1e-4)`` of the authors' code adds 1e-4 ||w||^2 to the loss,
            which is weight decay 2e-4 here.
        schedule: ``"step"`` (x ``gamma`` at each epoch of ``milestones``) or ``"onecycle"``.
        milestones, gamma: the step schedule.
        warmup: the one-cycle warm-up, a fraction of all steps.
        compile: wrap the model in ``torch.compile`` (CUDA only; ignored on the CPU).
        adversarial: None, ``"untargeted"`` or ``"targeted"`` PGD adversarial training.
        at_eps, at_alpha, at_steps: the PGD of adversarial training.
        augment: pad-4 random crop + horizontal flip.
    """

    name: str = "paper"
    epochs: int = 200
    batch_size: int = 50
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 2e-4
    schedule: str = "step"
    milestones: tuple[int, ...] = (100, 150)
    gamma: float = 0.1
    warmup: float = 0.15
    compile: bool = False
    adversarial: str | None = None
    at_eps: float = 8 / 255
    at_alpha: float = 2 / 255
    at_steps: int = 10
    augment: bool = True

    def __post_init__(self):
        self.milestones = tuple(int(m) for m in self.milestones)
        if self.adversarial in ("none", ""):
            self.adversarial = None
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.schedule not in ("step", "onecycle", "constant"):
            raise ValueError(f"schedule must be 'step', 'onecycle' or 'constant', got {self.schedule!r}")
        if self.adversarial not in (None, "untargeted", "targeted"):
            raise ValueError(f"adversarial must be None, 'untargeted' or 'targeted', got {self.adversarial!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must lie in [0, 1), got {self.warmup!r}")

    def to_dict(self) -> dict:
        return {**asdict(self), "milestones": list(self.milestones)}


def _paper(objective: str = "sce") -> Recipe:
    if objective == "adp":
        return Recipe(name="paper", epochs=180, lr=1e-3, optimizer="adam", weight_decay=0.0,
                      milestones=(120, 160))
    return Recipe(name="paper")


def _fast(objective: str = "sce") -> Recipe:
    if objective == "adp":
        return Recipe(name="fast", epochs=30, batch_size=512, lr=4e-3, optimizer="adam", weight_decay=0.0,
                      schedule="onecycle")
    # MMC/MMLDA losses are squared distances to centers of norm 10: a smaller peak keeps them stable.
    lr = 0.05 if objective in ("mmc", "mmlda") else 0.2
    return Recipe(name="fast", epochs=30, batch_size=512, lr=lr, nesterov=True, weight_decay=5e-4,
                  schedule="onecycle")


RECIPES = {"paper": _paper, "fast": _fast}


def get_recipe(name: str = "paper", objective: str = "sce", **overrides) -> Recipe:
    """The named recipe for ``objective`` with ``overrides`` applied (None values are ignored)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; valid names: {', '.join(RECIPES)}")
    recipe = RECIPES[name](str(objective).lower())
    return replace(recipe, **{k: v for k, v in overrides.items() if v is not None})


def lr_factor(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The learning-rate multiplier at optimizer ``step`` (0-based): the value of the schedule."""
    if recipe.schedule == "constant":
        return 1.0
    if recipe.schedule == "step":
        epoch = step // steps_per_epoch
        return recipe.gamma ** sum(epoch >= m for m in recipe.milestones)
    total = recipe.epochs * steps_per_epoch
    peak = max(1, math.ceil(recipe.warmup * total))
    if step < peak:
        return (step + 1) / peak
    return max(0.0, (total - step) / max(1, total - peak))


def make_optimizer(model: torch.nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """SGD or Adam with weight decay on conv and linear weights only."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr)
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int):
    """A ``LambdaLR`` stepped once per optimizer step; its state (the step count) goes into checkpoints."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(recipe, step, steps_per_epoch))
