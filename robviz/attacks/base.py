"""The shared base of every attack: eval mode, bounds, targets, batching, devices, recording.

An attack subclass stores its hyperparameters and overrides ``forward(x, labels) -> x_adv``; the
base class does the chores once, so a PGD is a dozen readable lines. Conventions used everywhere in
``robviz.attacks``:

* inputs ``x`` are (N, ...) and lie in ``bounds`` (``(0, 1)`` for images, ``data.bounds`` for the
  2-D toy sets);
* an *attack objective* is ``objective(model, x, labels) -> (N,)``, small when the model predicts
  ``labels`` (see :mod:`robviz.attacks.objectives`); untargeted attacks increase it at ``labels =
  y``, targeted attacks decrease it at ``labels = target``;
* success means ``argmax model(x_adv) != y`` (untargeted) or ``== target`` (targeted).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast, overload

import torch

from .. import checks
from ..checks import norm_name
from ..models import FeatureModel, Predictor
from ..runtime import dtype_and_device, evaluating, frozen, inference, num_classes_of, predict
from .objectives import auto_objective

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "Attack",
    "AttackResult",
    "Trajectory",
    "least_likely",
    "random_target",
    "norm_name",
    "lp_norm",
]

# An attack objective: objective(model, x, labels) -> (N,), small when the model predicts labels.
AttackObjective = Callable[[Predictor, torch.Tensor, torch.Tensor], torch.Tensor]


def lp_norm(delta: torch.Tensor, p: str | float = "L2") -> torch.Tensor:
    """Per-sample norm of a perturbation.

    Parameters
    ----------
    delta : torch.Tensor
        Perturbations (N, ...).
    p : str or int or float
        ``"Linf"``, ``"L2"``, ``"L1"`` or ``"L0"`` (L0 counts the entries that changed by more
        than 1e-12); any spelling :func:`norm_name` accepts.

    Returns
    -------
    torch.Tensor
        Norms (N,), in the dtype of ``delta``.

    Raises
    ------
    ValueError
        An unknown norm.
    """
    flat = delta.reshape(len(delta), -1)
    name = norm_name(p)
    if name == "Linf":
        return flat.abs().amax(dim=1) if flat.shape[1] else flat.new_zeros(len(flat))
    if name == "L0":
        return (flat.abs() > 1e-12).sum(dim=1).to(flat.dtype)
    return flat.norm(p=2 if name == "L2" else 1, dim=1)


def least_likely(model: Predictor, x: torch.Tensor) -> torch.Tensor:
    """Return the least-likely class argmin_k model(x)_k of each input.

    The target of ILCM (Kurakin et al. 2017).

    Parameters
    ----------
    model : Predictor
        The classifier, x -> logits (N, L).
    x : torch.Tensor
        Inputs (N, ...).

    Returns
    -------
    torch.Tensor
        Classes (N,), on x's device. The model runs in eval mode, its own mode restored.

    Raises
    ------
    ValueError
        ``x`` with a NaN or infinite value (its logits would make class 0 the least likely; the
        error names the sample); a ``model`` whose output is not (N, L) logits with L >= 2
        (:func:`robviz.checks.logits`).
    """
    checks.model("model", model)
    x = checks.finite_inputs("x", x, allow_empty=True)
    # eval mode, as every attack: a model left in train mode would update its BatchNorm statistics
    # and draw its dropout here, a different target at every call
    return checks.logits("model", inference(model, x)).argmin(dim=1).to(x.device)


def random_target(
    y: torch.Tensor, num_classes: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Return a uniformly random class different from y for every sample.

    The class is (y + U{1, ..., L-1}) mod L.

    Drawn on the CPU with ``generator`` (seeded), so the targets are the same on every device.

    Parameters
    ----------
    y : torch.Tensor
        Labels (N,) in [0, L).
    num_classes : int
        L, >= 2.
    generator : torch.Generator or None
        A CPU generator; None: PyTorch's global one.

    Returns
    -------
    torch.Tensor
        Targets (N,) on y's device, each != y.

    Raises
    ------
    ValueError
        ``num_classes`` < 2 (no other class to draw), or ``y`` not integer labels in [0, L): a
        label outside is no class, and its "other class" could be any class, the true one included.
    """
    num_classes = checks.integer("num_classes", num_classes, low=2)
    y = checks.labels("y", y, len(y), num_classes=num_classes)
    shift = torch.randint(1, num_classes, (len(y),), generator=generator)
    return (y + shift.to(y.device)) % num_classes


@dataclass
class Trajectory:
    """What an attack visited.

    One frame per step, frame 0 is where the iteration started (the clean input, or the random
    start), the last frame is the final iterate. Stored on the CPU.

    Attributes
    ----------
    inputs : torch.Tensor
        (T+1, N, ...) the iterates x_t.
    features : torch.Tensor or None
        (T+1, N, d) ``model.features(x_t)``, or None when the model has no ``features``.
    objective : torch.Tensor
        (T+1, N) the attack objective at x_t for the labels the attack used (y when untargeted,
        the target when targeted): untargeted attacks push it up, targeted attacks push it down.
    predictions : torch.Tensor
        (T+1, N) argmax model(x_t), the predicted class at every step (-1 where x_t or its
        output is not finite).
    """

    inputs: torch.Tensor
    features: torch.Tensor | None
    objective: torch.Tensor
    predictions: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]


@dataclass
class AttackResult:
    """The outcome of :meth:`Attack.run`.

    Attributes
    ----------
    x, y : torch.Tensor
        The clean inputs (N, ...) and labels (N,).
    x_adv : torch.Tensor
        The adversarial inputs (N, ...), on the device of ``x``.
    prediction : torch.Tensor
        Argmax model(x_adv), (N,).
    success : torch.Tensor
        (N,) bool, ``prediction != y`` (untargeted) or ``prediction == target`` (targeted).
    target : torch.Tensor or None
        The (N,) target classes of a targeted attack, else None.
    trajectory : Trajectory or None
        A :class:`Trajectory` when ``run(..., record=True)``, else None.
    failed : torch.Tensor or None
        (N,) bool, the samples the attack could not evaluate: its iterate or the model's output at
        it was not finite (a NaN gradient, e.g. of a distance at its own center). Their ``x_adv`` is
        the clean input, ``prediction`` is -1, and they count neither as a success nor (in
        ``robust_accuracy``) as robust.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_adv: torch.Tensor
    prediction: torch.Tensor
    success: torch.Tensor
    target: torch.Tensor | None = None
    trajectory: Trajectory | None = None
    failed: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.failed is None:
            self.failed = torch.zeros(
                len(self.success), dtype=torch.bool, device=self.success.device
            )

    @property
    def success_rate(self) -> float:
        """The fraction of samples on which the attack succeeded, in [0, 1] (0 for no samples)."""
        return self.success.float().mean().item() if len(self.success) else 0.0

    def perturbation_norm(self, p: str | float = "L2") -> torch.Tensor:
        """Return ||x_adv - x||_p per sample.

        For DeepFool (and C&W) the L2 norm of a successful sample is the distance d_ij of the talk's
        robustness definition (Moosavi-Dezfooli et al., CVPR 2016), with i = y and j =
        ``prediction``.

        Parameters
        ----------
        p : str or int or float
            ``"Linf"``, ``"L2"``, ``"L1"`` or ``"L0"`` (see :func:`lp_norm`).

        Returns
        -------
        torch.Tensor
            Norms (N,).
        """
        return lp_norm(self.x_adv - self.x, p)

    def __repr__(self) -> str:
        recorded = "none" if self.trajectory is None else f"{len(self.trajectory)} frames"
        failed = int(self.failed.sum()) if self.failed is not None else 0
        return (
            f"AttackResult(n={len(self.x)}, success_rate={self.success_rate:.3f}, "
            f"targeted={self.target is not None}, trajectory={recorded}"
            + (f", failed={failed}" if failed else "")
            + ")"
        )


class Attack:
    """Base class of every attack in ``robviz.attacks``.

    Parameters
    ----------
    model : Predictor
        An ``nn.Module`` whose ``model(x)`` returns (N, L) logits (argmax = prediction). Models with
        ``features(x)`` also get feature trajectories. The model is put in eval mode while attacking
        (so BatchNorm statistics never change) and its own mode is restored afterwards; its
        parameters are never updated and never get a ``.grad``.
    bounds : tuple of float or robviz.data.Dataset
        (low, high) of the valid input range, ``(0, 1)`` for images; pass ``data.bounds`` (or the
        Dataset itself) for the toy sets. Every adversarial input is clipped to it.
    targeted : bool
        Push the prediction to a target class instead of away from y. ``run(x, y, target)`` takes
        the targets; without them each sample gets a uniformly random class != y, drawn with
        ``seed``.
    loss : callable or None
        The attack objective ``loss(model, x, labels) -> (N,)`` (small when ``model`` predicts
        ``labels``). Default :func:`~robviz.attacks.objectives.auto_objective`: the logit margin for
        MMC models (it finds more than the paper's MMC loss, measured against the exact values),
        else cross-entropy on ``model(x)`` (for RCE the negated logits).
    batch_size : int or None
        Attack this many samples at a time (None: all at once).
    device : torch.device or str or None
        Where to attack (None: the device of the inputs). Results come back on the inputs' device.
    seed : int
        Seeds random starts, random targets and random directions; every ``run`` restarts from it.

    Raises
    ------
    ValueError
        Invalid ``bounds`` (not finite, low >= high), a ``loss`` that is not callable, or
        ``batch_size`` < 1.
    """

    norm = "Linf"  # the distance the attack bounds or minimizes

    def __init__(
        self,
        model: Predictor,
        *,
        bounds: Sequence[float] | Dataset = (0.0, 1.0),
        targeted: bool = False,
        loss: AttackObjective | None = None,
        batch_size: int | None = None,
        device: torch.device | str | None = None,
        seed: int = 0,
    ) -> None:
        checks.model("model", model)
        seed = checks.seed("seed", seed)
        targeted = checks.flag("targeted", targeted)
        self.model = model
        self.bounds = checks.bounds(bounds)
        self.targeted = bool(targeted)
        self.loss: AttackObjective = auto_objective(model) if loss is None else loss
        if not callable(self.loss):
            raise ValueError(
                f"loss must be a callable loss(model, x, labels) -> (N,), got {loss!r}"
            )
        batch_size = checks.integer(
            "batch_size", batch_size, low=1, allow_none=True, note="None: all at once"
        )
        self.batch_size, self.device, self.seed = batch_size, device, seed
        self._frames: list[torch.Tensor] | None = None  # the iterates, while recording
        self._generator = torch.Generator().manual_seed(seed)

    # --------------------------------------------------------------------------------------- public

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Return the adversarial inputs x_adv (N, ...) for inputs x (N, ...) and labels y (N,)."""
        return self.run(x, y, target).x_adv

    def run(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        target: torch.Tensor | None = None,
        record: bool = False,
    ) -> AttackResult:
        """Attack ``x`` with labels ``y`` and return an :class:`AttackResult`.

        Parameters
        ----------
        x : torch.Tensor
            Floating-point inputs (N, ...), finite, in ``bounds``.
        y : torch.Tensor
            Integer labels (N,).
        target : torch.Tensor or None
            The target classes (N,) of a targeted attack, each != y (default: seeded random classes
            != y).
        record : bool
            Also return the per-step :class:`Trajectory` (inputs, features, objective values,
            predictions).

        Returns
        -------
        AttackResult
            x_adv, predictions, success and failure masks, on the device of ``x``.

        Raises
        ------
        ValueError
            x not a finite floating-point (N, ...) tensor in ``bounds`` or empty; y or target not
            integer (N,) or outside the model's classes [0, L) (the error names the sample
            index); a target for an untargeted attack, or a target equal to y.
        """
        x, y, target = self._check_inputs(x, y, target)
        home = x.device
        dtype, model_device = dtype_and_device(self.model, default_dtype=x.dtype)
        device = (
            torch.device(self.device) if self.device is not None else (model_device or x.device)
        )
        x, y = x.to(device, dtype), y.to(device)
        target = None if target is None else target.to(device)
        self._generator.manual_seed(self.seed)
        try:
            with evaluating(self.model), frozen(self.model):
                num_classes = num_classes_of(self.model, x)
                y = checks.labels("y", y, len(x), num_classes=num_classes)
                if target is not None:
                    target = checks.labels("target", target, len(x), num_classes=num_classes)
                if self.targeted:
                    if target is None:
                        target = self._default_target(x, y)
                    labels = target
                else:
                    labels = y
                size = self.batch_size or len(x)
                chunks = [
                    self._run_chunk(x[i : i + size], labels[i : i + size], record)
                    for i in range(0, len(x), size)
                ]
        finally:
            self._frames = None
        if len(chunks) == 1:  # no copy when there is one chunk (the default)
            x_adv, prediction = chunks[0][0], chunks[0][1]
        else:
            x_adv = torch.cat([c[0] for c in chunks])
            prediction = torch.cat([c[1] for c in chunks])
        failed = prediction < 0  # a non-finite iterate or output: never a success
        success = (
            prediction == labels if self.targeted else prediction != y
        )  # labels: the targets when targeted
        success &= ~failed
        # record: every chunk has its trajectory
        trajectory = (
            _concat_trajectories([c[2] for c in chunks if c[2] is not None]) if record else None
        )
        target_home = target.to(home) if self.targeted and target is not None else None
        return AttackResult(
            x.to(home),
            y.to(home),
            x_adv.to(home),
            prediction.to(home),
            success.to(home),
            target_home,
            trajectory,
            failed.to(home),
        )

    def with_eps(self, eps: float) -> "Attack":
        """Return a copy of this attack with radius ``eps``.

        What :func:`robviz.attacks.robust_accuracy` sweeps.

        Parameters
        ----------
        eps : float
            The new radius, >= 0, in input units (at most the input range for L-inf).

        Returns
        -------
        Attack
            A shallow copy with its own seeded generator.

        Raises
        ------
        ValueError
            The attack has no radius (it minimizes the perturbation), or an invalid ``eps``.
        """
        if not hasattr(self, "eps"):
            raise ValueError(
                f"{type(self).__name__} has no radius eps (it minimizes the perturbation instead)"
            )
        attack = copy.copy(self)
        attack.eps = self._check_eps(eps)
        attack._generator = torch.Generator().manual_seed(self.seed)
        return attack

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the adversarial inputs; overridden by every attack.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...) in bounds, on the attack's device.
        labels : torch.Tensor
            (N,) y, or the target when targeted.

        Returns
        -------
        torch.Tensor
            x_adv (N, ...).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        skip = {"model", "loss", "bounds", "batch_size", "device", "seed", "targeted"}
        params = {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in skip}
        params.update(targeted=self.targeted, bounds=self.bounds)
        text = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in params.items()
        )
        return f"{type(self).__name__}({text})"

    # -------------------------------------------------------------------------- helpers for attacks

    def _objective(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the attack objective per sample, (N,), checked."""
        value = self.loss(self.model, x, labels)
        if not torch.is_tensor(value) or value.shape != (len(x),):
            shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
            raise ValueError(
                f"the attack objective must return one value per input, shape ({len(x)},), got "
                f"{shape}; use reduction='none' in a loss that averages over the batch"
            )
        return value

    def _ascent(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return what the attack climbs, per sample.

        The objective (untargeted) or minus the objective (targeted).
        """
        value = self._objective(x, labels)
        return -value if self.targeted else value

    def _gradient(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return d/dx of the summed ascent objective: each sample's own gradient, (N, ...)."""
        x = x.detach().requires_grad_(True)
        value = self._objective(x, labels)
        # the gradient of the sum of +-value, as a vector-Jacobian product with +-1 per sample:
        # the same numbers without the sum (and the negation when targeted) and their backward
        weights = torch.full_like(value, -1.0 if self.targeted else 1.0)
        (grad,) = torch.autograd.grad(value, x, weights)
        return grad

    def _clip(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.bounds[0], self.bounds[1])

    def _eps_box(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (low, high), each (N, ...): the L-inf eps-ball around x within the bounds.

        The ball and the bounds are two intervals per coordinate; ``x_adv.clamp(low, high)`` is the
        whole projection, one clamp a step. Used by the L-inf attacks, which set ``eps``.
        """
        eps = cast(float, getattr(self, "eps"))
        return (x - eps).clamp(min=self.bounds[0]), (x + eps).clamp(max=self.bounds[1])

    def _log(self, x: torch.Tensor) -> None:
        """Record one frame of the trajectory (only when ``run(..., record=True)``)."""
        if self._frames is not None:
            self._frames.append(x.detach().to("cpu", copy=True))

    def _rand(self, *shape: int, like: torch.Tensor) -> torch.Tensor:
        """Uniform [0, 1) noise from the seeded CPU generator, on the device of ``like``."""
        return torch.rand(*shape, generator=self._generator).to(like.device, like.dtype)

    def _randn(self, *shape: int, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(*shape, generator=self._generator).to(like.device, like.dtype)

    def _default_target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return random_target(y, num_classes_of(self.model, x), self._generator)

    # ----------------------------------------------------------------------------------- validation

    def _check_eps(self, eps: object, norm: str | None = None) -> float:
        norm = norm or self.norm
        low, high = self.bounds
        eps = checks.real("eps", eps, low=0)
        if norm == "Linf" and eps > high - low:
            raise ValueError(
                f"eps={eps!r} is larger than the whole input range {self.bounds}: for an L-inf "
                "attack "
                f"eps must lie in [0, {high - low:g}] (for images in [0, 1] write e.g. 8/255, not "
                "8)"
            )
        return eps

    @staticmethod
    def _check_int(name: str, value: object, minimum: int = 1) -> int:
        return checks.integer(name, value, low=minimum)

    @overload
    @staticmethod
    def _check_positive(name: str, value: object, allow_none: Literal[False] = ...) -> float: ...
    @overload
    @staticmethod
    def _check_positive(name: str, value: object, allow_none: bool) -> float | None: ...
    @staticmethod
    def _check_positive(name: str, value: object, allow_none: bool = False) -> float | None:
        return checks.real(name, value, low=0, low_open=True, allow_none=allow_none)

    def _check_inputs(
        self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if not torch.is_tensor(x) or not x.is_floating_point() or x.dim() < 2:
            raise ValueError(
                f"x must be a floating-point tensor of shape (N, ...), got "
                f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}"
            )
        # one pass for both checks: the min and max are finite exactly when every value is
        # (aminmax propagates NaN); finite_inputs then names the bad samples, or the empty set
        extremes = [float(v) for v in torch.aminmax(x.detach())] if x.numel() else []
        if not extremes or not all(math.isfinite(v) for v in extremes):
            checks.finite_inputs("x", x)
        y = checks.labels("y", y, len(x))
        target = None if target is None else checks.labels("target", target, len(x))
        if target is not None and not self.targeted:
            raise ValueError(
                f"a target was given to an untargeted attack; use {type(self).__name__}(..., "
                f"targeted=True)"
            )
        if target is not None and bool((target == y).any()):
            same = int((target == y).sum())
            raise ValueError(
                f"target equals the true label y for {same} of {len(y)} inputs: a targeted attack "
                "would count those clean inputs as successes with no perturbation; give every "
                "input "
                f"a target != y (or omit target: each input then gets a random class != y)"
            )
        low, high = self.bounds
        smallest, largest = extremes or (low, high)  # (N, 0): no values to lie outside
        if smallest < low - 1e-6 or largest > high + 1e-6:
            raise ValueError(
                f"inputs lie outside bounds {self.bounds} (min {smallest:.4g}, max "
                f"{largest:.4g}); pass bounds=data.bounds, or inputs scaled to [0, 1]"
            )
        return x.detach(), y.long(), None if target is None else target.long()

    # ------------------------------------------------------------------------------------- plumbing

    def _run_chunk(
        self, x: torch.Tensor, labels: torch.Tensor, record: bool
    ) -> tuple[torch.Tensor, torch.Tensor, Trajectory | None]:
        self._frames = [] if record else None
        x_adv = self.forward(x, labels).detach()
        frames, self._frames = self._frames, None
        with torch.no_grad():
            x_adv, prediction = self._evaluate(x, x_adv)
            trajectory = None
            if record:
                if not frames:
                    frames = [x.detach().cpu(), x_adv.cpu()]
                # any model with a `features` attribute, a submodule included
                has_features = hasattr(self.model, "features")
                feature_model = cast(FeatureModel, self.model) if has_features else None
                zs: list[torch.Tensor] = []
                values: list[torch.Tensor] = []
                predictions: list[torch.Tensor] = []
                for frame in frames:
                    frame = frame.to(x.device)
                    if feature_model is not None:
                        zs.append(feature_model.features(frame).cpu())
                    values.append(self._objective(frame, labels).cpu())
                    predictions.append(predict(self.model(frame)).cpu())
                trajectory = Trajectory(
                    torch.stack(frames),
                    torch.stack(zs) if feature_model is not None else None,
                    torch.stack(values),
                    torch.stack(predictions),
                )
        return x_adv, prediction, trajectory

    def _evaluate(self, x: torch.Tensor, x_adv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return x_adv with its non-finite rows replaced by the clean input, and the predictions.

        The predictions are -1 where x_adv or the model's output at it is not finite (argmax of NaN
        logits would read as class 0).
        """
        prediction = predict(self.model(x_adv))
        finite = _finite_rows(x_adv)
        if bool(finite.all()):
            return x_adv, prediction
        prediction[~finite] = -1
        shape = (-1,) + (1,) * (x.dim() - 1)
        return torch.where(finite.reshape(shape), x_adv, x), prediction


def _finite_rows(t: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(t).reshape(len(t), -1).all(dim=1)


def _concat_trajectories(parts: list[Trajectory]) -> Trajectory:
    """Join per-batch trajectories along N; shorter ones repeat their last frame.

    Shorter ones come from attacks that stop early.
    """
    steps = max(len(p) for p in parts)

    def pad(t: torch.Tensor) -> torch.Tensor:
        return t if len(t) == steps else torch.cat([t, t[-1:].expand(steps - len(t), *t.shape[1:])])

    def cat(ts: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([pad(t) for t in ts], dim=1)

    features = [p.features for p in parts if p.features is not None]  # all or none: one model
    return Trajectory(
        cat([p.inputs for p in parts]),
        cat(features) if features else None,
        cat([p.objective for p in parts]),
        cat([p.predictions for p in parts]),
    )
