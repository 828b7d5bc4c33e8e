"""The talk's evaluation battery on a checkpoint of :func:`robviz.scale.train`, written as JSON.

The file keeps, beside each accuracy, the per-image verdicts it counts and the images it was
measured on, so two models evaluated on the same images can be compared pairwise
(:func:`paired_test`, the exact McNemar test).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .. import checks
from .config import EvaluateRun, TrainRun
from ..runtime import predict
from .data import load_data, write_json

if TYPE_CHECKING:
    from ..attacks import RobustnessTable
    from ..exact.paired import PairedTest

__all__ = ["evaluate", "load_trained", "rotate", "read_evaluation", "verdicts", "paired_test"]


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
    ValueError
        A file that is no checkpoint (:func:`robviz.train.read_checkpoint`), or a checkpoint that
        ``robviz train`` did not write (one of :func:`robviz.train.save_checkpoint` without its
        ``config``, ``recipe`` and ``num_classes``).
    """
    from ..train import read_checkpoint

    state = read_checkpoint(path)
    meta = state["metadata"]
    missing = [key for key in ("config", "recipe", "num_classes") if key not in meta]
    if missing:  # a toy model's save_checkpoint: no run to rebuild the network from
        raise ValueError(
            f"{path} is not a checkpoint of robviz train: its metadata has no {missing}; load a "
            "checkpoint of robviz.train.save_checkpoint with load_checkpoint(path, model)"
        )
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
        kept = clean & (pred == y)
        rows.append(
            dict(
                model=name,
                attack=label,
                eps=value,
                accuracy=kept.float().mean().item(),
                distance=(xp - x).flatten(1).norm(dim=1).mean().item(),
                n=len(x),
                robust=kept.cpu(),
            )
        )
    return rows


def _json_row(row: dict) -> dict:
    """Return the row as JSON holds it: non-finite numbers as None, the verdicts as 0/1 characters.

    The per-point ``robust`` tensor becomes ``verdicts``, a string whose character i is ``"1"``
    where image i counts (correct, and robust under the row's attack) and ``"0"`` where not: one
    byte per image (10 kB per row for 10 000 images), readable by eye and by ``str.count``, where
    a JSON list of ints takes about three bytes per image and, in the indented file, a line each.
    ``accuracy`` is then the count over ``n`` in double precision (the table's float32 mean can
    differ from it in the last digits), so the mean of the verdicts is the stored accuracy exactly.
    """
    out = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in row.items()
        if k != "robust"
    }
    robust = row.get("robust")
    if robust is not None:
        robust = torch.as_tensor(robust, dtype=torch.bool).cpu()
        out["accuracy"] = int(robust.sum()) / len(robust)
        out["verdicts"] = "".join("1" if kept else "0" for kept in robust.tolist())
    return out


def _images(dataset: str, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Return the ``images`` entry: which test images were evaluated, and their fingerprint.

    ``start`` and ``stop`` give the indices, ``range(start, stop)`` of the test set (the first
    ``n``); ``sha256`` hashes the pixels and labels, so two files name the same images only when
    they were read from the same data (the same indices of another data set or version differ).
    """
    digest = hashlib.sha256()
    for tensor in (x, y):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return dict(dataset=dataset, split="test", start=0, stop=len(x), sha256=digest.hexdigest())


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
        ``config`` (the training settings), ``epochs_done`` and ``finished`` (False for a
        checkpoint of a training stopped early, which also warns; None for checkpoints written
        before the planned epochs were recorded), ``rows`` (of a
        :class:`robviz.attacks.RobustnessTable`; noise and rotation rows carry sigma and the
        angle in ``eps``; non-finite numbers as None;
        each row's ``verdicts``, a string of ``n`` characters, ``"1"`` where image i counts,
        whose mean is the row's ``accuracy``), ``markdown`` and ``images`` (``dataset``,
        ``split``, the indices ``range(start, stop)`` of the test images evaluated, and
        ``sha256``, a hash of their pixels and labels). Files written before the verdicts were
        recorded lack ``verdicts`` and ``images``; everything else is unchanged.

    Raises
    ------
    ValueError
        An invalid setting (see :class:`EvaluateRun`); ``n`` larger than the test set.
    FileNotFoundError
        No checkpoint.

    Warns
    -----
    UserWarning
        The checkpoint holds a training stopped before its last epoch (``--stop-after``).
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
    if run.n > len(data.x_test):
        # slicing would silently measure fewer images than asked, beside the talk's numbers
        raise ValueError(
            f"n = {run.n} is more than the {len(data.x_test)} test images of "
            f"{trained.dataset!r}: pass n (--n) of at most {len(data.x_test)}"
        )
    epochs_done, planned = int(meta["epoch"]), meta.get("planned_epochs")
    finished = None if planned is None else epochs_done >= int(planned)
    if finished is False:
        warnings.warn(
            f"{run.checkpoint} holds the model after epoch {epochs_done} of {planned}: its "
            "training stopped early (`robviz train --resume` finishes it); the numbers are of "
            "that model",
            UserWarning,
            stacklevel=2,
        )
    images = _images(trained.dataset, data.x_test[: run.n], data.y_test[: run.n])
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
        epochs_done=epochs_done,
        finished=finished,
        rows=[_json_row(row) for row in table.rows],
        markdown=table.to_markdown(),
        images=images,
    )
    write_json(
        Path(run.out) if run.out else Path(run.checkpoint).with_name("evaluation.json"), results
    )
    if run.progress:
        print(table.to_markdown())
    return results


def read_evaluation(source: str | Path | Mapping) -> dict:
    """Return the contents of an evaluation file of :func:`evaluate`.

    Files of any version are read, those written before the per-image verdicts were recorded
    included (they have no ``images`` and no rows' ``verdicts``; :func:`verdicts` and
    :func:`paired_test` refuse them, saying to re-run ``robviz evaluate``).

    Parameters
    ----------
    source : str, Path or dict
        The JSON file, or what :func:`evaluate` returned.

    Returns
    -------
    dict
        The file's keys, as :func:`evaluate` documents them.

    Raises
    ------
    FileNotFoundError
        No file at ``source``.
    ValueError
        ``source`` is not JSON (a truncated file), or holds no list of ``rows`` each with a
        ``model``, an ``attack``, an ``eps`` (None or a number >= 0) and an ``accuracy`` (None, for
        not finite, or a fraction in [0, 1], never a percentage): not an evaluation file (naming
        the file and the row).
    """
    if isinstance(source, Mapping):
        data, where = dict(source), "the evaluation given"
    else:
        where = str(source)
        try:
            data = json.loads(Path(source).read_text())
        except json.JSONDecodeError as error:  # its message names no file
            raise ValueError(f"{where} is not a JSON file (truncated?): {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ValueError(f"{where} is not an evaluation file of robviz evaluate: no list of rows")
    if not data["rows"]:
        raise ValueError(f"{where} is not an evaluation file of robviz evaluate: no rows")
    for i, row in enumerate(data["rows"]):
        if not (isinstance(row, dict) and {"model", "attack", "eps", "accuracy"} <= row.keys()):
            raise ValueError(
                f"{where} is not an evaluation file of robviz evaluate: rows[{i}] = {row!r:.80} "
                "is not a row with a model, an attack, an eps and an accuracy"
            )
        # an accuracy in percent (85 for 85 %) would be tabulated as 8500 %
        checks.real(
            f"{where}: rows[{i}]['accuracy']", row["accuracy"], low=0, high=1, allow_none=True
        )
        checks.real(f"{where}: rows[{i}]['eps']", row["eps"], low=0, allow_none=True)
    return data


def _is_eps(value: float | None, eps: float | None) -> bool:
    if value is None or eps is None:
        return value is None and eps is None
    return math.isclose(value, eps, abs_tol=1e-9)


def _row(data: dict, attack: str, eps: float | None, name: str) -> dict:
    row = next((r for r in data["rows"] if r["attack"] == attack and _is_eps(r["eps"], eps)), None)
    if row is None:
        columns = ", ".join(f"({r['attack']!r}, {r['eps']!r})" for r in data["rows"])
        raise ValueError(
            f"{name} has no row attack={attack!r}, eps={eps!r}; its (attack, eps): {columns}"
        )
    return row


def _outdated(data: dict, name: str) -> ValueError:
    return ValueError(
        f"{name} ({data.get('model')!r}, checkpoint {data.get('checkpoint')!r}) was written "
        "before robviz evaluate recorded per-image verdicts: re-run robviz evaluate on its "
        "checkpoint"
    )


def verdicts(
    evaluation: str | Path | Mapping, attack: str = "worst case", eps: float | None = 8 / 255
) -> np.ndarray:
    """Return the per-image verdicts of one row of an evaluation file.

    Parameters
    ----------
    evaluation : str, Path or dict
        An evaluation file of :func:`evaluate`, or what it returned.
    attack : str, default "worst case"
        The row's attack label: ``"clean"``, ``"PGD10-un"``, ``"worst case"`` (the images every
        attack at ``eps`` failed on)...
    eps : float or None, default 8/255
        The row's radius (None for ``"clean"``, C&W; sigma for noise, degrees for rotation).

    Returns
    -------
    numpy.ndarray
        (n,) bool, True where image ``images["start"] + i`` counts (correct, and robust under the
        attack); its mean is the row's ``accuracy``.

    Raises
    ------
    ValueError
        No such row (the error lists the file's), or a file written before the verdicts were
        recorded (re-run ``robviz evaluate``), or verdicts that are not n characters 0 or 1.
    """
    data = read_evaluation(evaluation)
    name = "evaluation" if isinstance(evaluation, Mapping) else str(evaluation)
    row = _row(data, attack, eps, name)
    if "images" not in data or "verdicts" not in row:
        raise _outdated(data, name)
    text, n = row["verdicts"], data["images"]["stop"] - data["images"]["start"]
    if not isinstance(text, str) or len(text) != n or set(text) - {"0", "1"}:
        raise ValueError(
            f"{name}: the verdicts of ({attack!r}, {eps!r}) must be {n} characters 0 or 1"
        )
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) == ord("1")


def paired_test(
    a: str | Path | Mapping,
    b: str | Path | Mapping,
    attack: str = "worst case",
    eps: float | None = 8 / 255,
) -> PairedTest:
    """Return the exact McNemar test of two models' verdicts on the same images.

    Only the images one model keeps and the other loses say which is more robust; under the null
    of equal robustness each falls to either side with probability 1/2 (McNemar, "Note on the
    sampling error of the difference between correlated proportions or percentages",
    Psychometrika 12, 1947; the exact binomial form, :func:`robviz.exact.mcnemar`). Pairing uses
    that both were measured on the same images: a binomial standard error per model ignores it.
    On attack verdicts the test says whether the battery breaks more of one model's images than
    of the other's; each verdict is still an upper bound on robustness.

    Parameters
    ----------
    a, b : str, Path or dict
        Evaluation files of :func:`evaluate` (or what it returned) of the two models.
    attack : str, default "worst case"
        The row compared, as :func:`verdicts` reads it: by default the worst case over the
        attacks at ``eps``, the number to report; ``"clean"`` (with ``eps=None``) compares clean
        accuracy.
    eps : float or None, default 8/255
        The row's radius.

    Returns
    -------
    robviz.exact.paired.PairedTest
        ``only_a`` images a keeps and b loses, ``only_b`` the reverse, and the two-sided ``pvalue``.

    Raises
    ------
    ValueError
        A file written before the verdicts were recorded (re-run ``robviz evaluate``); files that
        evaluated different images (another data set, another ``n``) or whose worst case combines
        different attacks; no such row.
    """
    from ..exact import mcnemar

    data = {key: read_evaluation(value) for key, value in (("a", a), ("b", b))}
    for key, value in data.items():
        if "images" not in value:
            raise _outdated(value, key)
    images_a, images_b = data["a"]["images"], data["b"]["images"]
    if images_a != images_b:
        raise ValueError(
            "a and b evaluated different images, so their verdicts cannot be paired: a "
            f"{images_a['dataset']} test images {images_a['start']}..{images_a['stop'] - 1} "
            f"(sha256 {images_a['sha256'][:12]}), b {images_b['dataset']} "
            f"{images_b['start']}..{images_b['stop'] - 1} (sha256 {images_b['sha256'][:12]}); "
            "evaluate both on the same data set with the same --n"
        )
    combined = [_row(value, attack, eps, key).get("attacks") for key, value in data.items()]
    if combined[0] != combined[1]:
        raise ValueError(
            f"the {attack!r} rows at eps={eps!r} combine different attacks (a: {combined[0]}, "
            f"b: {combined[1]}): evaluate both with the same --attacks and --pgd-steps"
        )
    return mcnemar(verdicts(data["a"], attack, eps), verdicts(data["b"], attack, eps))
