"""The talk's evaluation battery on a checkpoint of :func:`robviz.scale.train`, written as JSON."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from .config import EvaluateRun, TrainRun
from ..runtime import predict
from .data import load_data, write_json

if TYPE_CHECKING:
    from ..attacks import RobustnessTable

__all__ = ["evaluate", "load_trained", "rotate"]


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Return images ``x`` (N, C, H, W) rotated by ``degrees`` about their centre.

    Bilinear, zeros outside.

    Parameters
    ----------
    x : torch.Tensor
        Float images (N, C, H, W).
    degrees : float
        The angle in degrees.

    Returns
    -------
    torch.Tensor
        The rotated images (N, C, H, W), x's dtype and device.
    """
    angle = math.radians(degrees)
    c, s = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=x.dtype, device=x.device).expand(
        len(x), 2, 3
    )
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def load_trained(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[nn.Module, TrainRun, dict]:
    """Return the model of a :func:`robviz.scale.train` checkpoint, in eval mode on ``device``.

    Read with :func:`robviz.train.read_checkpoint` (``weights_only=True``: tensors and plain data,
    never code).

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    device : torch.device or str, default "cpu"
        Where the model goes (in the channels-last memory format, as trained).

    Returns
    -------
    tuple
        ``(model, run, metadata)``: ``run`` the :class:`TrainRun` the checkpoint was trained with.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    """
    from ..train import read_checkpoint

    state = read_checkpoint(path)
    meta = state["metadata"]
    run = TrainRun.from_dict(meta["config"])
    model = run.build_model(meta["num_classes"], meta["recipe"].get("factor"))
    model.load_state_dict(state["state_dict"])
    # channels-last, as trained: the attacks' convolutions run faster in it on GPUs and CPUs alike
    # (torch's stubs leave out the memory_format that Module.to takes)
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model.eval(), run, meta


def _attack_rows(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, run: EvaluateRun, name: str
) -> RobustnessTable:
    """Return a :class:`robviz.attacks.RobustnessTable` of the attacks ``run`` asks for.

    The PGD columns (the talk's, on the papers' objective, and ``PGD10-un-auto`` etc. on
    :func:`robviz.attacks.auto_objective`), C&W and SPSA.

    And per radius the worst case over the attacks that have one (``"worst case"``: an image counts
    as robust only if every attack at that radius failed on it).
    """
    from ..attacks import (
        CW,
        PGD,
        SPSA,
        TALK_EPS,
        Attack,
        RobustnessTable,
        robust_accuracy,
        talk_battery,
    )
    from ..attacks.evaluate import clean_row

    batch = run.batch_size
    attacks: dict[str, PGD] = {}
    if "pgd" in run.attacks:
        attacks.update(talk_battery(model, "images", seed=run.seed))
    if "pgd-auto" in run.attacks:
        # the talk's PGD, untargeted, on the objective chosen against the exact values instead of
        # the papers' (PGD's default loss: the margin for MMC, whose own loss overstates it)
        eps = TALK_EPS["images"][0]
        for steps in (10, 50):
            attacks[f"PGD{steps}-un-auto"] = PGD(
                model,
                eps=eps,
                alpha=eps / 4,
                steps=steps,
                random_start=True,
                bounds=(0.0, 1.0),
                seed=run.seed,
            )
    attacks = {key: attack for key, attack in attacks.items() if attack.steps in set(run.pgd_steps)}
    for attack in attacks.values():
        attack.batch_size = batch
    extra: dict[str, Attack] = {}
    if "cw" in run.attacks:
        extra["C&W"] = CW(
            model,
            c=1e-2,
            lr=5e-3,
            steps=run.cw_steps,
            binary_steps=run.cw_binary_steps,
            batch_size=batch,
        )
    if "spsa" in run.attacks:
        extra["SPSA"] = SPSA(
            model,
            eps=8 / 255,
            steps=run.spsa_steps,
            lr=0.01,
            delta=0.01,
            samples=run.spsa_samples,
            batch_size=batch,
        )
    # PGD swept over the talk's radii, C&W and SPSA at their own; only noise or rotation asked
    # for: the clean row they are read against
    rows: list[dict] = []
    for battery, eps_list in ((attacks, TALK_EPS["images"]), (extra, None)):
        if battery:
            more = robust_accuracy(
                model, x, y, battery, eps_list=eps_list, name=name, progress=run.progress
            )
            # the same model: its rows join the table as they are (``+`` would rename it)
            rows += [r for r in more.rows if not rows or r["attack"] != "clean"]
    table = RobustnessTable(rows or [clean_row(model, x, y, name)])
    if any(row["eps"] is not None for row in table.rows):
        table = table.with_worst_case()
    return table


@torch.no_grad()
def _perturbation_rows(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, run: EvaluateRun, name: str
) -> list[dict]:
    """Gaussian noise (sigma 0.05) and rotation (30 degrees) rows.

    Accuracy on inputs that were also classified correctly clean; sigma and the angle in ``eps``.
    """
    batch, perturbed = run.batch_size, {}
    if "noise" in run.attacks:
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(run.seed)).to(x.device)
        perturbed[("noise", 0.05)] = (x + 0.05 * noise).clamp(0, 1)
    if "rotation" in run.attacks:
        perturbed[("rotation", 30.0)] = rotate(x, 30.0)
    if not perturbed:
        return []
    clean = torch.cat([predict(model(x[i : i + batch])) for i in range(0, len(x), batch)]) == y
    rows = []
    for (label, value), xp in perturbed.items():
        pred = torch.cat([predict(model(xp[i : i + batch])) for i in range(0, len(xp), batch)])
        rows.append(
            dict(
                model=name,
                attack=label,
                eps=value,
                accuracy=(clean & (pred == y)).float().mean().item(),
                distance=(xp - x).flatten(1).norm(dim=1).mean().item(),
                n=len(x),
            )
        )
    return rows


def _finite(row: dict) -> dict:
    """Return the row as JSON holds it: non-finite numbers as None.

    The per-point ``robust`` tensor is left out.
    """
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in row.items()
        if k != "robust"
    }


def evaluate(run: EvaluateRun | dict) -> dict:
    """Run the talk's battery on a checkpoint and write JSON.

    Clean, PGD10/PGD50, targeted and untargeted, at 8/255 and 16/255 (``"pgd"``: the papers'
    adaptive objective, :func:`robviz.attacks.paper_objective`, the talk's protocol); untargeted
    PGD10/PGD50 at both radii on :func:`robviz.attacks.auto_objective` (``"pgd-auto"``, rows
    ``PGD10-un-auto``: the margin for MMC, which finds more than MMC's own loss, measured against
    the exact values); C&W (L2); SPSA (8/255); Gaussian noise (sigma 0.05); rotation (30 degrees),
    as far as ``run.attacks`` and ``run.pgd_steps`` ask; and ``"worst case"`` at each radius, the
    images every attack with that radius failed on (PGD and SPSA; C&W has no budget), the number to
    report
    (:meth:`robviz.attacks.RobustnessTable.with_worst_case`). The first ``run.n`` test images of the
    set the model was trained on.

    Parameters
    ----------
    run : EvaluateRun or dict
        The settings (a dict is read by :meth:`EvaluateRun.from_dict`): the checkpoint, the
        attacks, ``n``, the device; the JSON goes to ``run.out``, or ``evaluation.json`` next to
        the checkpoint when None.

    Returns
    -------
    dict
        What the JSON file holds: ``checkpoint``, ``model`` (the row label), ``n``, ``seconds``,
        ``config`` (the training settings), ``rows`` (of a :class:`robviz.attacks.RobustnessTable`;
        noise and rotation rows carry sigma and the angle in ``eps``; non-finite numbers as None)
        and ``markdown``.

    Raises
    ------
    ValueError
        An invalid setting (see :class:`EvaluateRun`).
    FileNotFoundError
        No checkpoint.
    """
    from .cifar import to_float
    from ..runtime import pick_device

    run = EvaluateRun.from_dict(run)
    if run.threads:
        torch.set_num_threads(run.threads)
    device = pick_device(run.device)
    model, trained, meta = load_trained(run.checkpoint, device)
    data = load_data(
        trained.dataset, data_root=trained.data_root, train_size=trained.train_size, device=device
    )
    x, y = to_float(data.x_test[: run.n]), data.y_test[: run.n]
    adversarial = meta["recipe"].get("adversarial")
    name = run.name or trained.objective + (
        "" if not adversarial else "-AT-" + ("tar" if adversarial == "targeted" else "un")
    )
    began = time.perf_counter()
    table = _attack_rows(model, x, y, run, name)
    table.rows.extend(_perturbation_rows(model, x, y, run, name))
    results = dict(
        checkpoint=run.checkpoint,
        model=name,
        n=len(x),
        seconds=time.perf_counter() - began,
        config=trained.to_dict(),
        rows=[_finite(row) for row in table.rows],
        markdown=table.to_markdown(),
    )
    write_json(
        Path(run.out) if run.out else Path(run.checkpoint).with_name("evaluation.json"), results
    )
    if run.progress:
        print(table.to_markdown())
    return results
