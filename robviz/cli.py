"""The ``robviz`` command line: train CIFAR ResNets, evaluate them with the talk's attack battery, render tables.

    robviz train --dataset cifar10 --arch resnet32 --objective mmc --recipe paper --out runs/mmc
    robviz train --objective mmc --recipe authors --out runs/mmc-code    # the authors' code: factor 1, Keras SGD
    robviz train --config runs/mmc.json --resume               # continue exactly where the last checkpoint was
    torchrun --nproc_per_node 4 -m robviz train --recipe fast ... # data-parallel, same flags
    robviz evaluate runs/mmc/checkpoint.pt --out runs/mmc/eval.json
    robviz table runs/*/eval.json --out table.md --html table.html
    robviz train --tiny --out runs/tiny                        # seconds on a CPU: synthetic data, ResNet-8
    robviz gallery --out build/gallery                         # every lesson executed, as a static HTML site
    robviz course init my-course                               # the lessons as an nbgrader course

Also ``python -m robviz ...``. Settings come from (later wins): built-in defaults, ``--tiny``, ``--config FILE``
(a JSON object whose keys are the flags' names with underscores, e.g. ``{"objective": "mmc", "epochs": 50}``),
explicit flags. Everything a run decided is written to ``OUT/results.json`` and into the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

from .runtime import evaluating

__all__ = ["main", "build_parser", "train", "evaluate", "table", "measured_vs_talk", "as_command", "student",
           "course", "gallery", "synthetic_images", "TALK_TABLE", "TRAIN_DEFAULTS"]

TRAIN_DEFAULTS = dict(dataset="cifar10", data_root=None, arch="resnet20", version=1, width=16, norm="batch",
                      objective="sce", feature_dim=None, recipe="paper", factor=None, epochs=None, batch_size=None,
                      lr=None, weight_decay=None, adversarial=None, compile=False, sync_bn=False, augment=None,
                      out="runs/robviz", checkpoint_every=1, resume=False, stop_after=None, seed=0, device=None,
                      threads=None, train_size=None, test_size=None, progress=True)

#: What ``--tiny`` sets (a run of seconds on a CPU), before the config file and the explicit flags.
TINY = dict(dataset="synthetic", arch="resnet8", width=4, epochs=2, batch_size=32, train_size=256, test_size=128,
            recipe="fast", lr=0.05)

#: The talk's white-box table (MMC paper, ICLR 2020, Table 2; CIFAR-10, ResNet-32, adaptive attacks): accuracy in
#: percent per model label and column of :class:`robviz.attacks.RobustnessTable`; "≤1" where the paper says so.
_COLUMNS = ["clean"] + [f"PGD{s}-{t} {e}" for e in ("8/255", "16/255") for s in (10, 50) for t in ("tar", "un")]
_ROWS = {
    "sce": "92.9 ≤1 3.7 ≤1 3.6 ≤1 2.9 ≤1 2.6",
    "center": "92.8 ≤1 4.4 ≤1 4.3 ≤1 3.1 ≤1 2.9",
    "mmlda": "92.4 ≤1 16.5 ≤1 9.7 ≤1 6.7 ≤1 5.5",
    "lgm": "92.5 37.6 19.8 8.9 4.9 26.0 11.0 2.5 2.8",
    "mmc": "92.7 48.7 36.0 26.6 24.8 36.1 25.2 13.4 17.5",
    "sce-AT-tar": "83.7 70.6 49.7 69.8 47.8 48.4 26.7 31.2 16.0",
    "mmc-AT-tar": "83.0 69.2 54.8 67.0 53.5 58.6 47.3 44.7 45.1",
    "sce-AT-un": "80.9 69.8 55.4 69.4 53.9 53.3 34.1 38.5 21.5",
    "mmc-AT-un": "81.8 70.8 56.3 70.1 55.0 54.7 37.4 39.9 27.7",
}
TALK_TABLE = {model: dict(zip(_COLUMNS, values.split())) for model, values in _ROWS.items()}

_SYNTHETIC_CLASSES = 10


# ----------------------------------------------------------------------------------------------------------- data

def synthetic_images(n_train: int = 512, n_test: int = 256, num_classes: int = _SYNTHETIC_CLASSES, *,
                     seed: int = 0, device="cpu"):
    """A learnable stand-in for CIFAR in the same format (uint8 (N, 3, 32, 32)): one smooth random colour
    pattern per class plus pixel noise. For tests and ``--tiny`` runs; no download."""
    from .data import Dataset

    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(num_classes, 3, 4, 4, generator=generator)
    templates = torch.nn.functional.interpolate(coarse, size=32, mode="bilinear", align_corners=False)

    def draw(n):
        y = torch.arange(n) % num_classes
        x = 0.6 * templates[y] + 0.4 * torch.rand(n, 3, 32, 32, generator=generator)
        return (x * 255).round().clamp(0, 255).to(torch.uint8).to(device), y.to(device)

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return Dataset("synthetic", x_train, y_train, x_test, y_test, num_classes, (0.0, 1.0))


def _load_data(cfg: dict, device):
    """The training set as uint8 on ``device``, cut to ``train_size``/``test_size`` when given."""
    if cfg["dataset"] == "synthetic":
        data = synthetic_images(cfg["train_size"] or 512, cfg["test_size"] or 256, seed=1234, device=device)
    elif cfg["dataset"] == "mnist32":
        from .data import mnist32

        data = mnist32(device=device)
    else:
        from .cifar import load_cifar

        data = load_cifar(cfg["dataset"], cfg["data_root"], device=device, dtype=torch.uint8)
    if cfg["train_size"]:
        data.x_train, data.y_train = data.x_train[:cfg["train_size"]], data.y_train[:cfg["train_size"]]
    if cfg["test_size"]:
        data.x_test, data.y_test = data.x_test[:cfg["test_size"]], data.y_test[:cfg["test_size"]]
    return data


def _build_model(cfg: dict, num_classes: int, factor: float | None = None):
    """The model of ``cfg``; ``factor`` (the recipe's MMC/MMLDA loss factor) goes to mmc and mmlda heads."""
    from .resnet import make_cifar_model

    options = {} if factor is None else dict(factor=float(factor))
    return make_cifar_model(cfg["arch"], cfg["objective"], num_classes, feature_dim=cfg["feature_dim"],
                            version=cfg["version"], width=cfg["width"], norm=cfg["norm"], seed=cfg["seed"],
                            **options)


def _recipe(cfg: dict):
    """The recipe of ``cfg``: ``cfg["recipe"]`` for ``cfg["objective"]`` with the explicit settings on top."""
    from .recipes import get_recipe

    return get_recipe(cfg["recipe"], cfg["objective"], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                      lr=cfg["lr"], weight_decay=cfg["weight_decay"], adversarial=cfg["adversarial"],
                      compile=cfg["compile"] or None, augment=cfg["augment"], factor=cfg["factor"])


# ---------------------------------------------------------------------------------------------- distributed setup

class _Dist:
    """Rank, world size and device; initializes the process group when launched by ``torchrun``."""

    def __init__(self, cfg: dict):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        from .runtime import pick_device

        device = pick_device(cfg["device"])
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        self.device = device
        self.started = False
        if self.world > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend)
            self.started = True

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            value = value.clone()
            torch.distributed.all_reduce(value)
            value /= self.world
        return value

    def close(self):
        if self.started:
            torch.distributed.destroy_process_group()


class _LossModule(torch.nn.Module):
    """``forward(x, y) = model.loss(x, y)``, so DistributedDataParallel synchronizes the loss's gradients."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        if getattr(self.model, "body", None) is None:  # an ensemble: its loss casts to float32 itself
            return self.model.loss(x, y)
        head = self.model.objective
        z = self.model.body(x)
        with torch.autocast(x.device.type, enabled=False):  # the head and the loss in float32 under bf16 autocast
            z = z.float()
            return head.loss(z, head(z), y)


# -------------------------------------------------------------------------------------------------------- training

def _pgd_examples(model, x, y, recipe, generator, rank: int, world: int):
    """PGD adversarial examples for training (eval-mode model, the model's adaptive objective, random start).

    Random starts and targets are drawn for the whole global batch with the shared generator and sliced by rank,
    so data-parallel training sees the adversarial examples of a single process."""
    from .attacks.objectives import auto_objective

    objective, num_classes = auto_objective(model), model.num_classes
    n, eps, alpha = len(x), recipe.at_eps, recipe.at_alpha
    part = slice(rank * n, (rank + 1) * n)
    noise = torch.rand((n * world, *x.shape[1:]), generator=generator, device=x.device)[part]
    x_adv = (x + (2 * noise.to(x.dtype) - 1) * eps).clamp(0, 1)
    targeted = recipe.adversarial == "targeted"
    labels = y
    if targeted:
        shift = torch.randint(1, num_classes, (n * world,), generator=generator, device=x.device)[part]
        labels = (y + shift) % num_classes
    with evaluating(model):
        for _ in range(recipe.at_steps):
            x_adv.requires_grad_(True)
            with _autocast(x.device):
                value = objective(model, x_adv, labels).sum()
            grad, = torch.autograd.grad(value, x_adv)
            step = -alpha if targeted else alpha
            x_adv = x_adv.detach() + step * grad.sign()
            x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    return x_adv.detach()


def _autocast(device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def _accuracy(model, x, y, batch_size: int = 1000, channels_last: bool = False) -> float:
    from .cifar import to_float

    correct = 0
    with evaluating(model):
        for i in range(0, len(x), batch_size):
            xb = to_float(x[i:i + batch_size])
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with _autocast(xb.device):
                correct += (model(xb).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / max(1, len(x))


def train(cfg: dict) -> dict:
    """Train as ``cfg`` (the flags' values) says; returns the results that ``OUT/results.json`` holds."""
    from tqdm.auto import tqdm

    from .cifar import gpu_batches
    from .recipes import make_optimizer, make_scheduler
    from .train import save_checkpoint

    cfg = {**TRAIN_DEFAULTS, **cfg}
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    dist = _Dist(cfg)
    device = dist.device
    try:
        recipe = _recipe(cfg)
        if dist.main and cfg["progress"]:
            print(recipe.describe(), flush=True)
        torch.manual_seed(cfg["seed"])
        data = _load_data(cfg, device)
        model = _build_model(cfg, data.num_classes, recipe.factor).to(device)
        cuda = device.type == "cuda"
        if cuda:
            model = model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        if cfg["sync_bn"] and dist.world > 1 and cuda:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        optimizer = make_optimizer(model, recipe)
        steps_per_epoch = len(data.x_train) // recipe.batch_size
        if steps_per_epoch < 1:
            raise ValueError(f"batch_size {recipe.batch_size} is larger than the training set ({len(data.x_train)})")
        scheduler = make_scheduler(optimizer, recipe, steps_per_epoch)
        generator = torch.Generator(device=device).manual_seed(cfg["seed"])
        out = Path(cfg["out"])
        checkpoint = out / "checkpoint.pt"
        start, history = 0, []
        saved_cfg = {k: v for k, v in cfg.items() if k not in ("resume", "stop_after", "progress", "device")}
        if cfg["resume"] and checkpoint.exists():
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            meta = state["metadata"]
            model.load_state_dict(state["state_dict"])
            optimizer.load_state_dict(meta["optimizer"])
            scheduler.load_state_dict(meta["scheduler"])
            generator.set_state(meta["generator"])
            torch.set_rng_state(meta["torch_rng"])
            if cuda and meta.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(meta["cuda_rng"], device)
            start, history = meta["epoch"], list(meta["history"])
            if dist.main:
                print(f"robviz train: resumed from {checkpoint} after epoch {start}", flush=True)
        elif cfg["resume"] and dist.main:
            print(f"robviz train: no checkpoint at {checkpoint}; starting from scratch", flush=True)

        step_module = _LossModule(model)
        if dist.world > 1:
            step_module = torch.nn.parallel.DistributedDataParallel(
                step_module, device_ids=[device.index] if cuda else None)
        if recipe.compile and cuda:
            step_module = torch.compile(step_module)

        def save(epoch):
            save_checkpoint(checkpoint, model, config=saved_cfg, recipe=recipe.to_dict(), epoch=epoch,
                            history=history, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            generator=generator.get_state(), torch_rng=torch.get_rng_state(),
                            cuda_rng=torch.cuda.get_rng_state(device) if cuda else None,
                            num_classes=data.num_classes)

        last = recipe.epochs if cfg["stop_after"] is None else min(recipe.epochs, start + int(cfg["stop_after"]))
        for epoch in range(start, last):
            model.train()
            began, total, seen = time.perf_counter(), torch.zeros((), device=device), 0
            batches = gpu_batches(data.x_train, data.y_train, recipe.batch_size, generator,
                                  augmentation=recipe.augment, rank=dist.rank, world_size=dist.world,
                                  channels_last=cuda)
            for xb, yb in tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{recipe.epochs}",
                               unit="step", leave=False, disable=not (dist.main and cfg["progress"])):
                if recipe.adversarial:
                    xb = _pgd_examples(model, xb, yb, recipe, generator, dist.rank, dist.world)
                with _autocast(device):
                    loss = step_module(xb, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.detach().float()
                seen += len(xb) * dist.world
            total = dist.mean(total)
            if cuda:
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - began
            train_loss = total.item() / steps_per_epoch
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"the training loss became {train_loss} in epoch {epoch + 1}; "
                                         f"lower the learning rate (lr={recipe.lr})")
            record = dict(epoch=epoch + 1, lr=optimizer.param_groups[0]["lr"], train_loss=train_loss,
                          test_accuracy=_accuracy(model, data.x_test, data.y_test, channels_last=cuda),
                          seconds=seconds, images_per_s=seen / max(seconds, 1e-9))
            history.append(record)
            if dist.main and cfg["progress"]:
                print(f"epoch {epoch + 1}/{recipe.epochs} loss {train_loss:.4f} "
                      f"test acc {record['test_accuracy']:.4f} ({seconds:.1f} s, "
                      f"{record['images_per_s']:.0f} img/s)", flush=True)
            every = cfg["checkpoint_every"]
            if dist.main and ((every and (epoch + 1) % every == 0) or epoch + 1 == last):
                save(epoch + 1)
        results = dict(config=saved_cfg, recipe=recipe.to_dict(), epochs_done=len(history), history=history,
                       test_accuracy=history[-1]["test_accuracy"] if history else None,
                       checkpoint=str(checkpoint), world_size=dist.world, device=str(device),
                       finished=len(history) == recipe.epochs)
        if dist.main:
            _write_json(out / "results.json", results)
        return results
    finally:
        dist.close()


# ------------------------------------------------------------------------------------------------------ evaluation

def _rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=x.dtype, device=x.device).expand(len(x), 2, 3)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def evaluate(cfg: dict) -> dict:
    """Run the talk's battery on a checkpoint and write JSON: clean; PGD10/PGD50, targeted and untargeted, at
    8/255 and 16/255 (adaptive objective); C&W (L2); SPSA (8/255); Gaussian noise (sigma 0.05); rotation (30
    degrees). Rows of a :class:`robviz.attacks.RobustnessTable`; noise and rotation rows carry sigma and the
    angle in ``eps``."""
    from .attacks import CW, SPSA, TALK_EPS, RobustnessTable, robust_accuracy, talk_battery
    from .cifar import to_float
    from .runtime import pick_device

    if cfg.get("threads"):
        torch.set_num_threads(int(cfg["threads"]))
    device = pick_device(cfg.get("device"))
    state = torch.load(cfg["checkpoint"], map_location="cpu", weights_only=True)
    meta = state["metadata"]
    train_cfg = {**TRAIN_DEFAULTS, **meta["config"]}
    model = _build_model(train_cfg, meta["num_classes"], meta["recipe"].get("factor"))
    model.load_state_dict(state["state_dict"])
    model.to(device).eval()
    data = _load_data({**train_cfg, "test_size": None}, device)
    n = cfg.get("n") or 1000
    x, y = to_float(data.x_test[:n]), data.y_test[:n]
    adversarial = meta["recipe"].get("adversarial")
    name = cfg.get("name") or train_cfg["objective"] + ("" if not adversarial else
                                                        "-AT-" + ("tar" if adversarial == "targeted" else "un"))
    wanted = set(cfg.get("attacks") or ["pgd", "cw", "spsa", "noise", "rotation"])
    unknown = wanted - {"pgd", "cw", "spsa", "noise", "rotation"}
    if unknown:
        raise ValueError(f"unknown attacks {sorted(unknown)}; valid: pgd, cw, spsa, noise, rotation")
    progress = cfg.get("progress", True)
    batch = cfg.get("batch_size") or 500
    began = time.perf_counter()
    attacks = talk_battery(model, "images", seed=cfg.get("seed", 0)) if "pgd" in wanted else {}
    pgd_steps = set(cfg.get("pgd_steps") or (10, 50))
    if not pgd_steps <= {10, 50}:
        raise ValueError(f"pgd_steps must be 10 and/or 50 (the talk's columns), got {sorted(pgd_steps)}")
    attacks = {key: attack for key, attack in attacks.items() if attack.steps in pgd_steps}
    for attack in attacks.values():
        attack.batch_size = batch
    table = robust_accuracy(model, x, y, attacks, eps_list=TALK_EPS["images"] if attacks else None, name=name,
                            progress=progress)
    extra = {}
    if "cw" in wanted:
        extra["C&W"] = CW(model, c=1e-2, lr=5e-3, steps=cfg.get("cw_steps") or 100,
                          binary_steps=cfg.get("cw_binary_steps") or 9, batch_size=batch)
    if "spsa" in wanted:
        extra["SPSA"] = SPSA(model, eps=8 / 255, steps=cfg.get("spsa_steps") or 10, lr=0.01, delta=0.01,
                             samples=cfg.get("spsa_samples") or 128, batch_size=batch)
    if extra:
        more = robust_accuracy(model, x, y, extra, eps_list=None, name=name, progress=progress)
        table = table + RobustnessTable([row for row in more.rows if row["attack"] != "clean"])
    generator = torch.Generator().manual_seed(cfg.get("seed", 0))
    perturbed = {}
    if "noise" in wanted:
        noise = torch.randn(x.shape, generator=generator).to(device)
        perturbed[("noise", 0.05)] = (x + 0.05 * noise).clamp(0, 1)
    if "rotation" in wanted:
        perturbed[("rotation", 30.0)] = _rotate(x, 30.0)
    if perturbed:
        with torch.no_grad():
            clean = torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)]) == y
            for (label, value), xp in perturbed.items():
                pred = torch.cat([model(xp[i:i + batch]).argmax(1) for i in range(0, len(xp), batch)])
                table.rows.append(dict(model=name, attack=label, eps=value,
                                       accuracy=(clean & (pred == y)).float().mean().item(),
                                       distance=(xp - x).flatten(1).norm(dim=1).mean().item(), n=len(x)))
    results = dict(checkpoint=str(cfg["checkpoint"]), model=name, n=len(x), seconds=time.perf_counter() - began,
                   config=train_cfg, rows=[_finite(row) for row in table.rows], markdown=table.to_markdown())
    out = cfg.get("out") or str(Path(cfg["checkpoint"]).with_name("evaluation.json"))
    _write_json(Path(out), results)
    if progress:
        print(table.to_markdown())
    return results


# ----------------------------------------------------------------------------------------------------------- table

def _reference_matrix(models, columns):
    return [[TALK_TABLE.get(m, {}).get(c) for c in columns] for m in models]


def measured_vs_talk(paths) -> tuple[list[str], list[str], list[list[float]], list[list[str | None]]]:
    """Read evaluation JSON files (``robviz evaluate``) and pair them with the talk's Table 2.

    Returns:
        ``(models, columns, values, reference)``: ``values[i][j]`` is the measured accuracy (%) of model ``i``
        under column ``j`` (NaN where not run), ``reference[i][j]`` the talk's number as printed, or None.
    """
    from .attacks import RobustnessTable

    rows = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        rows += [{**row, "accuracy": _nan(row["accuracy"]), "distance": _nan(row.get("distance"))}
                 for row in data["rows"]]
    models, columns, values = RobustnessTable(rows).pivot()
    return models, columns, values, _reference_matrix(models, columns)


def table(cfg: dict) -> str:
    """Read evaluation JSON files, print the talk's table beside the measured numbers (markdown: ``measured
    (talk)``), optionally write the markdown (``out``) and a plotly heatmap (``html``)."""
    models, columns, values, reference = measured_vs_talk(cfg["results"])
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for model, row, ref in zip(models, values, reference):
        cells = ["" if v != v else f"{v:.1f}" + ("" if r is None else f" ({r})") for v, r in zip(row, ref)]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    markdown = "\n".join(lines) + ("\n\nIn parentheses: the talk's numbers (MMC paper, ICLR 2020, Table 2; "
                                   "CIFAR-10, ResNet-32)." if any(r is not None for ref in reference for r in ref)
                                   else "")
    if cfg.get("out"):
        Path(cfg["out"]).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg["out"]).write_text(markdown + "\n")
    if cfg.get("html"):
        from .viz.attacks import robustness_heatmap

        figure = robustness_heatmap(models, columns, values, reference=reference,
                                    title="Robust accuracy (%): measured (talk)")
        Path(cfg["html"]).parent.mkdir(parents=True, exist_ok=True)
        figure.write_html(cfg["html"])
    if cfg.get("progress", True):
        print(markdown)
    return markdown


_NEGATED = {"progress": "--quiet", "augment": "--no-augment"}


def as_command(command: str, settings: dict) -> str:
    """The shell command that runs ``command`` with ``settings`` (a dict as :func:`train` takes), e.g.
    ``robviz train --dataset mnist32 --epochs 1``: what a lesson ran, to repeat in a terminal."""
    words = ["robviz", command]
    for key, value in settings.items():
        if key in ("checkpoint", "results"):
            continue
        flag = "--" + key.replace("_", "-")
        if key in _NEGATED:  # flags that switch a default off
            words += [_NEGATED[key]] if value is False else []
        elif value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            words += [flag, *map(str, value)]
        elif value not in (None, False):
            words += [flag, str(value)]
    if "checkpoint" in settings:
        words.insert(2, str(settings["checkpoint"]))
    return " ".join(words)


# ------------------------------------------------------------------------------------------------------- plumbing

def _nan(value):
    return math.nan if value is None else float(value)


def _finite(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def student(cfg: dict) -> list[Path]:
    """Write the student versions of the lessons (nbgrader's: solutions and hidden tests removed); see
    :mod:`robviz.course`."""
    from .course import write_student_versions

    written = write_student_versions(cfg.get("lessons", "notebooks"), cfg.get("out", "build/student"))
    print(f"robviz: wrote {len(written)} student notebook(s) to {written[0].parent}")
    return written


def course(cfg: dict) -> list[Path]:
    """``course init FOLDER``: write the lessons as an nbgrader course; see :func:`robviz.course.init_course`."""
    from .course import init_course

    written = init_course(cfg["folder"], cfg.get("lessons", "notebooks"), course_id=cfg.get("course_id", "robviz"))
    print(f"robviz: wrote an nbgrader course of {len(written) - 2} lesson(s) to {cfg['folder']}; "
          f"see {written[1]} for generate / autograde / feedback")
    return written


def gallery(cfg: dict) -> list[Path]:
    """Execute the lessons (student versions, default mode) into a static HTML site; see :mod:`robviz.gallery`."""
    from .gallery import build_gallery

    written = build_gallery(cfg.get("lessons", "notebooks"), cfg.get("out", "build/gallery"), only=cfg.get("only"))
    print(f"robviz: wrote {len(written) - 1} lesson page(s) and {written[-1]}")
    return written


def _write_json(path: Path, payload: dict) -> None:
    """Atomic: written next to the target and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _flag(parser, *names, **options):
    parser.add_argument(*names, default=argparse.SUPPRESS, **options)


def build_parser() -> argparse.ArgumentParser:
    from .recipes import RECIPES

    parser = argparse.ArgumentParser(prog="robviz", description="Train and evaluate robust CIFAR models.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a CIFAR ResNet (data-parallel under torchrun)")
    _flag(p, "--config", help="JSON file of settings (keys: the flags' names with underscores)")
    _flag(p, "--tiny", action="store_true", help="seconds on a CPU: synthetic data, ResNet-8 of width 4, 2 epochs")
    _flag(p, "--dataset", choices=["cifar10", "cifar100", "mnist32", "synthetic"],
          help="mnist32: the 5000 offline MNIST images padded to 32x32 (no download)")
    _flag(p, "--data-root", help="cache folder of the CIFAR archives (default $ROBVIZ_DATA or ~/.cache/robviz)")
    _flag(p, "--arch", choices=["resnet8", "resnet20", "resnet32", "resnet56", "resnet110"])
    _flag(p, "--version", type=int, choices=[1, 2], help="1: original blocks, 2: pre-activation")
    _flag(p, "--width", type=int, help="channels of the first stage (16)")
    _flag(p, "--norm", choices=["batch", "group", "none"])
    _flag(p, "--objective", choices=["sce", "center", "lgm", "mmlda", "mmc", "rce", "adp"])
    _flag(p, "--feature-dim", type=int, help="extra linear feature layer (default 256 for mmc/mmlda)")
    _flag(p, "--recipe", choices=list(RECIPES),
          help="paper: the papers' settings; authors: the authors' code for the objective (or mmc-authors, "
               "rce-authors, adp-authors); fast: one-cycle on large batches. Training prints each number's source")
    _flag(p, "--factor", type=float,
          help="MMC/MMLDA loss factor: 0.5 the papers, 1 the authors' code (default: the recipe's)")
    _flag(p, "--epochs", type=int)
    _flag(p, "--batch-size", type=int, help="global batch (all processes together)")
    _flag(p, "--lr", type=float)
    _flag(p, "--weight-decay", type=float)
    _flag(p, "--adversarial", choices=["none", "untargeted", "targeted"], help="PGD-10 adversarial training")
    _flag(p, "--no-augment", dest="augment", action="store_false")
    _flag(p, "--compile", action="store_true", help="torch.compile the training step (CUDA)")
    _flag(p, "--sync-bn", action="store_true", help="SyncBatchNorm across processes (CUDA)")
    _flag(p, "--out", help="run folder: checkpoint.pt, results.json")
    _flag(p, "--checkpoint-every", type=int, help="epochs between checkpoints (0: only at the end)")
    _flag(p, "--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    _flag(p, "--stop-after", type=int, help="stop after this many epochs in this run (continue with --resume)")
    _flag(p, "--seed", type=int)
    _flag(p, "--device")
    _flag(p, "--threads", type=int, help="CPU threads of PyTorch")
    _flag(p, "--train-size", type=int, help="use the first N training images")
    _flag(p, "--test-size", type=int, help="use the first N test images")
    _flag(p, "--quiet", dest="progress", action="store_false")

    e = sub.add_parser("evaluate", help="the talk's attack battery on a checkpoint, written as JSON")
    e.add_argument("checkpoint")
    _flag(e, "--config", help="JSON file of settings")
    _flag(e, "--out", help="JSON file (default: evaluation.json next to the checkpoint)")
    _flag(e, "--n", type=int, help="test images (default 1000)")
    _flag(e, "--attacks", nargs="+", choices=["pgd", "cw", "spsa", "noise", "rotation"])
    _flag(e, "--name", help="the model's row label (default: objective, -AT-tar/-AT-un for adversarial training)")
    _flag(e, "--batch-size", type=int)
    _flag(e, "--pgd-steps", type=int, nargs="+", choices=[10, 50], help="PGD columns to run (default: 10 50)")
    _flag(e, "--cw-steps", type=int, help="C&W iterations per binary step (default 100; the paper: 1000)")
    _flag(e, "--cw-binary-steps", type=int, help="C&W binary search steps (default 9, as the paper)")
    _flag(e, "--spsa-steps", type=int, help="SPSA iterations (default 10, as the paper)")
    _flag(e, "--spsa-samples", type=int, help="SPSA perturbations per iteration (default 128)")
    _flag(e, "--seed", type=int)
    _flag(e, "--device")
    _flag(e, "--threads", type=int)
    _flag(e, "--quiet", dest="progress", action="store_false")

    t = sub.add_parser("table", help="the talk's tables beside measured numbers (markdown, plotly HTML)")
    t.add_argument("results", nargs="+", help="JSON files written by `robviz evaluate`")
    _flag(t, "--out", help="write the markdown here")
    _flag(t, "--html", help="write a plotly heatmap here")

    s = sub.add_parser("student", help="write the lessons without their solutions and hidden tests (for students)")
    _flag(s, "--lessons", help="folder of the lessons (default: notebooks)")
    _flag(s, "--out", help="folder of the student versions (default: build/student)")

    c = sub.add_parser("course", help="course init FOLDER: the lessons as an nbgrader course (config, source/, README)")
    c.add_argument("action", choices=["init"])
    c.add_argument("folder", help="the course folder to create (must not hold a course yet)")
    _flag(c, "--lessons", help="folder of the lessons (default: notebooks)")
    _flag(c, "--course-id", help="nbgrader's course id (default: robviz)")

    g = sub.add_parser("gallery", help="execute the lessons (student versions) into a static HTML site")
    _flag(g, "--lessons", help="folder of the lessons (default: notebooks)")
    _flag(g, "--out", help="folder of the site, replaced when the build succeeds (default: build/gallery)")
    _flag(g, "--only", nargs="+", help="lesson number prefixes to build, e.g. --only 00 01 (default: all)")
    return parser


def main(argv=None) -> int:
    args = vars(build_parser().parse_args(argv))
    command = args.pop("command")
    cfg = {}
    if args.pop("tiny", False):
        cfg.update(TINY)
    if "config" in args:
        path = Path(args.pop("config"))
        loaded = json.loads(path.read_text())
        if not isinstance(loaded, dict):
            raise SystemExit(f"robviz: {path} must hold a JSON object of settings")
        if command == "train":
            unknown = set(loaded) - set(TRAIN_DEFAULTS)
            if unknown:
                raise SystemExit(f"robviz: unknown settings in {path}: {', '.join(sorted(unknown))}; "
                                 f"valid: {', '.join(TRAIN_DEFAULTS)}")
        cfg.update(loaded)
    cfg.update(args)
    if command == "train":
        try:  # configuration errors of the recipe as one clear line, before any data is loaded
            _recipe({**TRAIN_DEFAULTS, **cfg})
        except ValueError as error:
            raise SystemExit(f"robviz: {error}") from None
        train(cfg)
    elif command == "evaluate":
        evaluate(cfg)
    elif command == "student":
        student(cfg)
    elif command == "course":
        cfg.pop("action")
        try:
            course(cfg)
        except (FileExistsError, FileNotFoundError, ValueError) as error:
            raise SystemExit(f"robviz: {error}") from None
    elif command == "gallery":
        gallery(cfg)
    else:
        table(cfg)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
