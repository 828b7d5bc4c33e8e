"""The CIFAR training loop: recipes, data-parallel steps, PGD adversarial training, exact resume.

A checkpoint holds, besides the weights, everything the next epoch depends on: the optimizer's and
the scheduler's state, the run's generator (batch order, augmentation, PGD starts and targets) and
PyTorch's global random states. ``TrainRun(resume=True)`` therefore continues a stopped run to
exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypedDict, cast

import torch

from .. import checks
from ..adversarial import adversarial_batch
from ..models import Predictor
from ..runtime import evaluating, predict
from .config import TrainRun
from .data import load_data, write_json
from .distributed import Distributed, LossModule, autocast

if TYPE_CHECKING:
    from ..attacks import PGD
    from .recipes import Recipe

__all__ = ["train", "adversarial_examples", "training_attack", "training_batch", "accuracy"]


class _WithNumClasses(Predictor, Protocol):
    """A classifier that says how many classes it predicts (the CIFAR ResNets, ADP ensembles)."""

    @property
    def num_classes(self) -> int:
        """L, the number of classes."""
        ...


class LossArguments(TypedDict):
    """The arguments of one :class:`~robviz.scale.distributed.LossModule` call.

    What :func:`training_batch` returns.
    """

    x: torch.Tensor
    y: torch.Tensor
    weight: torch.Tensor
    y_b: torch.Tensor | None
    lam: torch.Tensor | None
    groups: int


def training_attack(model: Predictor, recipe: Recipe) -> PGD:
    """Return the :class:`robviz.attacks.PGD` of adversarial training.

    With a random start and the papers' adaptive objective (:func:`robviz.attacks.paper_objective`:
    the MMC loss for MMC models, as the MMC paper trains).

    Parameters
    ----------
    model : torch.nn.Module
        The model trained.
    recipe : Recipe
        Reads ``at_eps``, ``at_alpha``, ``at_steps`` and ``adversarial`` (targeted when
        ``"targeted"``).

    Returns
    -------
    robviz.attacks.PGD
        The attack.
    """
    checks.model("model", model)
    from ..attacks import PGD, paper_objective

    return PGD(
        model,
        eps=recipe.at_eps,
        alpha=recipe.at_alpha,
        steps=recipe.at_steps,
        random_start=True,
        targeted=recipe.adversarial == "targeted",
        loss=paper_objective(model),
    )


def adversarial_examples(
    attack: PGD,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    rank: int = 0,
    world: int = 1,
    *,
    eps_max: float | None = None,
    labels: str = "true",
) -> torch.Tensor:
    """PGD adversarial examples for a training batch.

    ``attack`` (from :func:`training_attack`) iterated from a uniform random start in the eps-ball,
    in eval mode, under bf16 autocast on CUDA, by :func:`robviz.adversarial.adversarial_batch` (the
    one maker of adversarial batches, also ``fit``'s).

    The random draws (the batch's radius with ``eps_max``, the targets of targeted training: (y +
    U{1..L-1}) mod L, then the starts) are made for the whole global batch with the run's
    ``generator`` and sliced by ``rank``, so data-parallel training sees the examples of a single
    process and a resumed run the same ones. On one process with a CPU generator seeded s and the
    defaults, the result equals ``attack.run(x, y).x_adv`` of a ``PGD(..., seed=s)``: the same
    draws, the same steps.

    Shape: x (n, ...) in [0, 1], y (n,) -> x_adv (n, ...), detached.

    Parameters
    ----------
    eps_max : float or None
        None (the attack's eps), or one radius per batch eps ~ U(attack.eps, eps_max), the step
        scaled with it (``alpha * eps / attack.eps``): the ADP code's adversarial training.
    labels : str
        ``"true"`` (attack y) or ``"predicted"`` (attack the model's predictions on x, in eval mode:
        what cleverhans' PGD does when given no labels).

    """
    n, part = len(x), slice(rank * len(x), (rank + 1) * len(x))
    if eps_max is not None:
        u = float(torch.rand((), generator=generator, device=x.device))
        eps = attack.eps + (eps_max - attack.eps) * u
        attack = copy.copy(attack)
        attack.alpha = None if attack.alpha is None else attack.alpha * eps / attack.eps
        attack.eps = eps
    if labels == "predicted":
        with torch.no_grad(), evaluating(attack.model), autocast(x.device):
            y = attack.model(x).argmax(1)
    target = y
    if attack.targeted:
        num_classes = cast(
            _WithNumClasses, attack.model
        ).num_classes  # a model the CIFAR runs train
        shift = torch.randint(1, num_classes, (n * world,), generator=generator, device=x.device)[
            part
        ]
        target = (y + shift) % num_classes
    noise = torch.rand((n * world, *x.shape[1:]), generator=generator, device=x.device)[part]
    start = (x + attack.eps * (2 * noise.to(x.dtype) - 1)).clamp(*attack.bounds)
    with autocast(x.device):
        return adversarial_batch(attack, x, target, start)


def training_batch(
    recipe: Recipe,
    x: torch.Tensor,
    y: torch.Tensor,
    x_adv: torch.Tensor | None,
    generator: torch.Generator,
    rank: int = 0,
    world: int = 1,
) -> LossArguments:
    """Return the arguments of one :class:`~robviz.scale.distributed.LossModule` call.

    For a recipe that mixes, weighs the adversarial against the clean batch, or forwards them
    separately: ``dict(x, y, weight, y_b, lam, groups)``.

    The parts are the adversarial batch (``x_adv``, weight ``recipe.at_weight``) and the clean batch
    (weight ``recipe.clean_weight``, when > 0), or the clean batch alone without adversarial
    training. With ``recipe.mixup`` each part is mixed on its own
    (:func:`robviz.mixup_inference.mixup_batch`, one weight per sample and two permutations; the
    draws come from a seed per process taken from ``generator``, so resumed runs mix alike). Each
    sample's weight is its part's weight over the part's size (the code's mean per part).

    Parameters
    ----------
    recipe : Recipe
        Reads ``at_weight``, ``clean_weight``, ``mixup`` and ``at_forward`` (``"separate"``: one
        forward pass per part).
    x : torch.Tensor
        This process's clean images (n, ...).
    y : torch.Tensor
        Their labels (n,).
    x_adv : torch.Tensor or None
        The adversarial images (n, ...), or None without adversarial training.
    generator : torch.Generator
        The run's generator (with ``mixup``, one seed per process is drawn from it).
    rank, world : int
        This process's rank and the number of processes.

    Returns
    -------
    dict
        ``x``, ``y``, ``weight`` (the parts concatenated, (n * parts, ...)), ``y_b`` and ``lam``
        (None without mixup) and ``groups``.
    """
    from ..mixup_inference import mixup_batch

    parts = [(x, y, 1.0)] if x_adv is None else [(x_adv, y, recipe.at_weight)]
    if x_adv is not None and recipe.clean_weight > 0:
        parts.append((x, y, recipe.clean_weight))
    xs, ys, weights, y_bs, lams = [], [], [], [], []
    for xp, yp, w in parts:
        if recipe.mixup is not None:
            seeds = torch.randint(
                0, 2**31 - 1, (world,), generator=generator, device=generator.device
            )
            mixing = torch.Generator().manual_seed(int(seeds[rank]))
            xp, yp, y_b, lam = mixup_batch(xp, yp, recipe.mixup, mixing, per_sample=True)
            y_bs.append(y_b)
            lams.append(lam)
        xs.append(xp)
        ys.append(yp)
        weights.append(torch.full((len(xp),), w / len(xp), dtype=xp.dtype, device=xp.device))
    return dict(
        x=torch.cat(xs),
        y=torch.cat(ys),
        weight=torch.cat(weights),
        y_b=torch.cat(y_bs) if y_bs else None,
        lam=torch.cat(lams) if lams else None,
        groups=len(parts) if recipe.at_forward == "separate" else 1,
    )


@torch.no_grad()
def accuracy(
    model: Predictor,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1000,
    channels_last: bool = False,
) -> float:
    """Return the clean accuracy of ``model`` on uint8 images ``x`` (N, 3, H, W), labels ``y`` (N,).

    In eval mode, batched, under bf16 autocast on CUDA.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its mode is restored afterwards.
    x : torch.Tensor
        Images (N, 3, H, W): uint8 pixels, or float in [0, 1]
        (:func:`~robviz.scale.cifar.to_float`).
    y : torch.Tensor
        Integer labels (N,), on x's device.
    batch_size : int, default 1000
        Images per forward pass.
    channels_last : bool, default False
        Feed the batches in the channels-last memory format.

    Returns
    -------
    float
        The fraction of correct predictions, in [0, 1].

    Raises
    ------
    ValueError
        For an empty ``x``, or ``y`` not one integer label per image in [0, L) (naming the
        sample index).
    """
    checks.model("model", model)
    from .cifar import to_float

    batch_size = checks.integer("batch_size", batch_size, low=1)
    channels_last = checks.flag("channels_last", channels_last)
    if len(x) == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}): there is nothing to evaluate")
    y = checks.labels("y", y, len(x))
    correct: float = 0  # a count; item() is typed int | float
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            xb = to_float(x[i : i + batch_size])
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast(xb.device):
                logits = model(xb)
            if i == 0:  # L is the width of the logits
                checks.labels("y", y, len(x), num_classes=logits.shape[1])
            correct += (predict(logits) == y[i : i + batch_size]).sum().item()
    return correct / len(x)


class _Trainer:
    """One run's state: data, model, optimizer, scheduler, generator, history.

    Built by :func:`train`.
    """

    def __init__(self, run: TrainRun, dist: Distributed):
        from .optimizers import make_optimizer, make_scheduler

        self.run, self.dist, self.device = run, dist, dist.device
        self.recipe = run.get_recipe()
        if dist.main and run.progress:
            print(self.recipe.describe(), flush=True)
        torch.manual_seed(run.seed)
        self.cuda = self.device.type == "cuda"
        self.data = load_data(
            run.dataset,
            data_root=run.data_root,
            train_size=run.train_size,
            test_size=run.test_size,
            device=self.device,
        )
        model = run.build_model(self.data.num_classes, self.recipe.factor).to(self.device)
        # channels-last on every device: cuDNN's and oneDNN's convolutions both run faster in it
        # (ResNet-20, batch 32, one CPU core: 148 -> 110 ms a training step)
        # (torch's stubs leave out the memory_format that Module.to takes)
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.cuda:
            torch.backends.cudnn.benchmark = True
        if run.sync_bn and dist.world > 1 and self.cuda:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model
        self.optimizer = make_optimizer(model, self.recipe)
        self.steps_per_epoch = len(self.data.x_train) // self.recipe.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"batch_size {self.recipe.batch_size} is larger than the training set "
                f"({len(self.data.x_train)})"
            )
        self.scheduler = make_scheduler(self.optimizer, self.recipe, self.steps_per_epoch)
        steps = self.recipe.total_steps
        #: Epochs to run: the recipe's, or fewer when its total_steps ends the training earlier.
        self.epochs = (
            self.recipe.epochs
            if steps is None
            else min(self.recipe.epochs, -(-steps // self.steps_per_epoch))
        )
        self.generator = torch.Generator(device=self.device).manual_seed(run.seed)
        self.checkpoint = Path(run.out) / "checkpoint.pt"
        self.start = 0
        self.history: list[dict[str, float]] = []  # one record of epoch() per epoch done
        self.attack = training_attack(model, self.recipe) if self.recipe.adversarial else None

    def resume(self) -> None:
        """Restore the state of ``OUT/checkpoint.pt``.

        Read with :func:`robviz.train.read_checkpoint` (``weights_only=True``); the saved settings
        are checked (:meth:`~robviz.scale.config.TrainRun.check_resume`) before the weights load.
        """
        from ..train import read_checkpoint

        if not self.checkpoint.exists():
            if self.dist.main:
                print(
                    f"robviz train: no checkpoint at {self.checkpoint}; starting from scratch",
                    flush=True,
                )
            return
        state = read_checkpoint(self.checkpoint)
        meta = state["metadata"]
        # the settings first: another objective or architecture would fail in load_state_dict
        self.run.check_resume(meta["config"], self.checkpoint)
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(meta["optimizer"])
        self.scheduler.load_state_dict(meta["scheduler"])
        self.generator.set_state(meta["generator"])
        torch.set_rng_state(meta["torch_rng"])
        if self.cuda and meta.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(meta["cuda_rng"], self.device)
        self.start, self.history = meta["epoch"], list(meta["history"])
        if self.dist.main:
            print(
                f"robviz train: resumed from {self.checkpoint} after epoch {self.start}", flush=True
            )

    def save(self, epoch: int) -> None:
        """Write the checkpoint atomically (:func:`robviz.train.save_checkpoint`)."""
        from ..train import save_checkpoint

        save_checkpoint(
            self.checkpoint,
            self.model,
            config=self.run.saved(),
            recipe=self.recipe.to_dict(),
            epoch=epoch,
            planned_epochs=self.epochs,  # so an evaluation can tell a run stopped early
            history=self.history,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            generator=self.generator.get_state(),
            torch_rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state(self.device) if self.cuda else None,
            num_classes=self.data.num_classes,
        )

    def step_module(self) -> Callable[..., torch.Tensor]:
        """Return the module one training step calls: the loss, wrapped as configured.

        The wrappers: DDP and ``torch.compile``.
        """
        module: torch.nn.Module = LossModule(self.model)
        if self.dist.world > 1:
            module = torch.nn.parallel.DistributedDataParallel(
                module, device_ids=[self.device.index] if self.cuda else None
            )
        if self.recipe.compile and self.cuda:
            return torch.compile(module)
        return module

    def epoch(self, epoch: int, step_module: Callable[..., torch.Tensor]) -> dict[str, float]:
        """Train one epoch; returns its record (loss, lr, test accuracy, seconds, images/s).

        ``lr`` is the rate the epoch's last step used (read before the scheduler steps on: after
        it, the optimizer holds the next step's rate, 0 at the end of a one-cycle run).

        Raises
        ------
        FloatingPointError
            When the epoch's mean training loss is not finite.
        """
        from tqdm.auto import tqdm

        from .cifar import gpu_batches

        run, dist, recipe = self.run, self.dist, self.recipe
        steps = self.steps_per_epoch  # this epoch's: the last one stops at the recipe's total_steps
        if recipe.total_steps is not None:
            steps = min(steps, recipe.total_steps - epoch * self.steps_per_epoch)
        self.model.train()
        began, total, seen = time.perf_counter(), torch.zeros((), device=self.device), 0
        lr: float = self.optimizer.param_groups[0]["lr"]  # the rate of the step about to run
        batches = gpu_batches(
            self.data.x_train,
            self.data.y_train,
            recipe.batch_size,
            self.generator,
            augmentation=recipe.augment,
            method=recipe.augmentation,
            rank=dist.rank,
            world_size=dist.world,
            channels_last=True,
        )
        for step, (xb, yb) in enumerate(
            tqdm(
                batches,
                total=steps,
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit="step",
                leave=False,
                disable=not (dist.main and run.progress),
            )
        ):
            if step == steps:
                break
            x_adv = None
            if self.attack is not None:
                x_adv = adversarial_examples(
                    self.attack,
                    xb,
                    yb,
                    self.generator,
                    dist.rank,
                    dist.world,
                    eps_max=recipe.at_eps_max,
                    labels=recipe.at_labels,
                )
            plain = recipe.mixup is None and (
                x_adv is None or (recipe.clean_weight == 0 and recipe.at_weight == 1)
            )
            with autocast(self.device):
                # the model's own loss on one batch: the clean one, or the adversarial one (Madry et
                # al.)
                if plain:
                    loss = step_module(xb if x_adv is None else x_adv, yb)
                else:
                    loss = step_module(
                        **training_batch(
                            recipe, xb, yb, x_adv, self.generator, dist.rank, dist.world
                        )
                    )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            lr = self.optimizer.param_groups[0]["lr"]
            self.optimizer.step()
            self.scheduler.step()
            total += loss.detach().float()
            seen += len(xb) * dist.world
        total = dist.mean(total)
        if self.cuda:
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - began
        train_loss = total.item() / steps
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"the training loss became {train_loss} in epoch {epoch + 1}; "
                f"lower the learning rate (lr={recipe.lr})"
            )
        return dict(
            epoch=epoch + 1,
            lr=lr,
            train_loss=train_loss,
            test_accuracy=accuracy(
                self.model, self.data.x_test, self.data.y_test, channels_last=True
            ),
            seconds=seconds,
            images_per_s=seen / max(seconds, 1e-9),
        )

    def fit(self) -> dict:
        """Run the epochs from ``start`` to the end (or ``stop_after`` of them).

        Checkpoint as configured.

        Write and return the results.
        """
        run, recipe = self.run, self.recipe
        step_module = self.step_module()
        last = (
            self.epochs if run.stop_after is None else min(self.epochs, self.start + run.stop_after)
        )
        for epoch in range(self.start, last):
            record = self.epoch(epoch, step_module)
            self.history.append(record)
            if self.dist.main and run.progress:
                print(
                    f"epoch {epoch + 1}/{self.epochs} loss {record['train_loss']:.4f} "
                    f"test acc {record['test_accuracy']:.4f} ({record['seconds']:.1f} s, "
                    f"{record['images_per_s']:.0f} img/s)",
                    flush=True,
                )
            every = run.checkpoint_every
            if self.dist.main and ((every and (epoch + 1) % every == 0) or epoch + 1 == last):
                self.save(epoch + 1)
        history = self.history
        results = dict(
            config=run.saved(),
            recipe=recipe.to_dict(),
            epochs_done=len(history),
            history=history,
            test_accuracy=history[-1]["test_accuracy"] if history else None,
            checkpoint=str(self.checkpoint),
            world_size=self.dist.world,
            device=str(self.device),
            finished=len(history) == self.epochs,
        )
        if self.dist.main:
            write_json(Path(run.out) / "results.json", results)
        return results


def train(run: TrainRun | dict) -> dict:
    """Train as ``run`` says; data-parallel under ``torchrun``.

    Writes ``OUT/checkpoint.pt`` (every ``checkpoint_every`` epochs and at the end) and
    ``OUT/results.json`` (rank 0 only).

    Parameters
    ----------
    run : TrainRun or dict
        The settings, or a dict of them (read by :meth:`TrainRun.from_dict`).

    Returns
    -------
    dict
        The results: ``config`` (the saved settings), ``recipe``, ``epochs_done``, ``history`` (one
        record per epoch), ``test_accuracy``, ``checkpoint``, ``world_size``, ``device``,
        ``finished``.

    Raises
    ------
    ValueError
        An invalid setting (see :class:`TrainRun`) or a batch larger than the training set;
        ``ResumeMismatch`` (a ``ValueError``) for ``resume`` with settings other than the
        checkpoint's.
    FloatingPointError
        A non-finite training loss.
    """
    run = TrainRun.from_dict(run)
    if run.threads:
        torch.set_num_threads(run.threads)
    dist = Distributed(run.device)
    try:
        trainer = _Trainer(run, dist)
        if run.resume:
            trainer.resume()
        return trainer.fit()
    finally:
        dist.close()
