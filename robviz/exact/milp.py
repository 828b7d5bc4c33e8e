"""Exact robustness of ReLU networks on inputs of any size, by mixed-integer linear programming.

See :mod:`robviz.exact`. The network is read as float64 affine maps and ReLUs
(:func:`robviz.exact.linear_regions.affine_pieces`): MLP bodies, and conv bodies whose convolutions,
average pools and BatchNorms become dense matrices on the flattened input, given the input shape
(x.shape[1:]), up to :data:`MAX_MILP_RELUS` hidden ReLUs.

A point x of class y is robust at L-inf radius eps when no input x' of the ball (intersected with
the input range) has a logit margin z_k(x') - z_y(x') >= 0 for a class k != y. With the
pre-activation v of every hidden neuron bounded, l <= v <= u over the ball, its ReLU a = max(v, 0)
is exactly the set of solutions of

    a >= 0,   a >= v,   a <= v - l (1 - d),   a <= u d,   d in {0, 1}

(Tjeng, Xiao and Tedrake, "Evaluating Robustness of Neural Networks with Mixed Integer Programming",
ICLR 2019, https://arxiv.org/abs/1711.07356). Neurons that never change sign inside the ball (u <= 0
or l >= 0) need no d. So "is there an x' of class k?" is a mixed-integer linear program, solved by
HiGHS through ``scipy.optimize.milp``. Per point and target class, cheapest first:

1. the clean prediction (a misclassified point, or one of non-finite logits, is its own witness);
2. CROWN's certified margin bounds (:mod:`robviz.exact.certify`), which also give the bounds l, u;
3. the LP relaxation (d in [0, 1]): a negative maximal margin rules the class out, and its optimum
   is tried as a witness, then the end of a short signed-gradient ascent of the class's margin from
   it and from the ball's centre (:func:`_ascend`); this decides most points without any integer
   variable;
4. the bounds of deeper layers tightened by one LP per unstable neuron, then the MILP itself:
   infeasible means the class is unreachable, a solution is a witness.

Every "not robust" verdict carries its witness, an input of the ball that a float64 forward pass of
the torch model itself classifies as a class other than y: the solver's tolerances never decide a
"not robust". A "robust" verdict rests on the solver's proof of infeasibility (HiGHS' feasibility
tolerance, 1e-7 on each constraint). A point whose programs hit the per-point time limit, or whose
only solution is a tie that the forward pass does not confirm, is *undecided*: counted apart, never
as robust or not.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import checks
from .certify import crown_bounds, input_ball, margin_lower_bounds, network_layers
from ..runtime import inference, percent_text, predict, to_numpy

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = [
    "Verification",
    "verify",
    "minimal_linf_distance",
    "relu_units",
    "MAX_MILP_RELUS",
    "ROBUST",
    "NOT_ROBUST",
    "UNDECIDED",
]

ROBUST, NOT_ROBUST, UNDECIDED = "robust", "not robust", "undecided"

# [(W_i, b_i)] of a network, or [(l_i, u_i)] the bounds of its pre-activations.
_Pairs = Sequence[tuple[np.ndarray, np.ndarray]]

#: The most hidden ReLUs :func:`verify` takes on: each is up to three dense rows of the program, of
#: (inputs + 2 x ReLUs) entries, and one LP per unstable one tightens the bounds, so 2048 ReLUs on a
#: 784-pixel MNIST image is already about 30 million entries (240 MiB) and minutes a point. The
#: digits networks it is meant for have 64 (a 64-32-32-10 MLP) to 832 (a width-8 SmallCNN).
MAX_MILP_RELUS = 2048


@dataclass
class Verification:
    """The exact verdict on every point at one radius.

    ``accuracy, robust = result`` unpacks like the 2-D :func:`robviz.exact.robust_accuracy` and
    raises a ``ValueError`` when a point is undecided; ``lower`` and ``upper`` bound the robust
    accuracy in every case.

    Attributes
    ----------
    eps : float
        The L-inf radius.
    verdicts : np.ndarray
        (N,) strings, ``"robust"``, ``"not robust"`` or ``"undecided"``.
    witnesses : torch.Tensor
        (N, ...) float64, the input shape; for a "not robust" point an input of the ball that the
        model misclassifies (the point itself when it is misclassified clean), NaN elsewhere.
    decided_by : np.ndarray
        (N,) strings, what settled each point: ``"clean"`` (misclassified), ``"crown"``, ``"lp"``
        (the relaxation, or a witness at its optimum or found by ascent from it), ``"milp"``, or for
        undecided points ``"time limit"`` / ``"tie"``.
    seconds : np.ndarray
        (N,) wall-clock seconds spent on each point (the shared CROWN pass split evenly).

    """

    eps: float
    verdicts: np.ndarray
    witnesses: torch.Tensor
    decided_by: np.ndarray
    seconds: np.ndarray = field(repr=False)

    @property
    def robust(self) -> torch.Tensor:
        """(N,) bool, the points proven robust."""
        return torch.from_numpy(self.verdicts == ROBUST)

    @property
    def undecided(self) -> int:
        """The number of points left undecided at the time limit."""
        return int((self.verdicts == UNDECIDED).sum())

    @property
    def lower(self) -> float:
        """Robust accuracy counting undecided points as not robust."""
        return float((self.verdicts == ROBUST).mean()) if len(self.verdicts) else 0.0

    @property
    def upper(self) -> float:
        """Robust accuracy counting undecided points as robust."""
        return float((self.verdicts != NOT_ROBUST).mean()) if len(self.verdicts) else 0.0

    @property
    def accuracy(self) -> float:
        """The exact robust accuracy; raises ``ValueError`` when a point is undecided.

        Use lower / upper then.
        """
        if self.undecided:
            raise ValueError(
                f"{self.undecided} of {len(self.verdicts)} points are undecided at "
                f"eps={self.eps:g} "
                f"(time limit): the robust accuracy lies in [{self.lower:.4f}, {self.upper:.4f}]; "
                f"raise time_limit or read .lower and .upper"
            )
        return self.lower

    def __iter__(self) -> Iterator[float | torch.Tensor]:
        return iter((self.accuracy, self.robust))

    def __repr__(self) -> str:
        counts = {v: int((self.verdicts == v).sum()) for v in (ROBUST, NOT_ROBUST, UNDECIDED)}
        return (
            f"Verification(eps={self.eps:g}, {counts[ROBUST]} robust, {counts[NOT_ROBUST]} not "
            "robust, "
            f"{counts[UNDECIDED]} undecided, robust accuracy in [{percent_text(100 * self.lower)}, "
            f"{percent_text(100 * self.upper)}] %)"
        )


# ------------------------------------------------------------------------- the program of one point


@dataclass
class _Program:
    """The constraints of one point's network over the variables x, a and d.

    The variables are x, then per hidden layer its activations a and indicators d.

    ``last`` indexes the variables the final affine layer reads.
    """

    matrix: np.ndarray
    row_low: np.ndarray
    row_high: np.ndarray
    var_low: np.ndarray
    var_high: np.ndarray
    integer: np.ndarray
    last: slice

    def solve(
        self,
        objective: np.ndarray,
        extra: tuple[np.ndarray, float] | None = None,
        *,
        relax: bool = False,
        time_limit: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> OptimizeResult:
        """Minimise objective . v and return scipy's result.

        ``extra`` = (row, low) adds row . v >= low.
        """
        matrix, low, high = self.matrix, self.row_low, self.row_high
        if extra is not None:
            matrix = np.vstack([matrix, extra[0]])
            low, high = np.append(low, extra[1]), np.append(high, np.inf)
        constraints = [LinearConstraint(matrix, low, high)] if len(matrix) else []
        options = (
            dict(options or {})
            if time_limit is None
            else {**(options or {}), "time_limit": max(float(time_limit), 1e-3)}
        )
        return milp(
            objective,
            integrality=np.zeros_like(self.integer) if relax else self.integer,
            bounds=Bounds(self.var_low, self.var_high),
            constraints=constraints,
            options=options,
        )


def _check_relus(layers: _Pairs) -> None:
    """Raise ``ValueError`` when the network has more hidden ReLUs than :data:`MAX_MILP_RELUS`."""
    units = sum(len(w) for w, _ in layers[:-1])
    if units > MAX_MILP_RELUS:
        raise ValueError(
            f"the model has {units} hidden ReLUs on these inputs, over robviz.exact's limit of "
            f"{MAX_MILP_RELUS} for the exact program (robviz.exact.milp.MAX_MILP_RELUS); use the "
            f"certified lower bounds (robviz.exact.certified_robust, method='crown') and attacks "
            f"(robviz.attacks) for upper bounds instead"
        )


def _program(layers: _Pairs, hidden: _Pairs, x_low: np.ndarray, x_high: np.ndarray) -> _Program:
    """Encode ``layers[:-1]`` in big-M form with pre-activation bounds ``hidden``.

    Each layer is followed by a ReLU.
    """
    sizes = [len(x_low)] + [2 * len(w) for w, _ in layers[:-1]]
    total = sum(sizes)
    var_low, var_high, integer = [x_low], [x_high], [np.zeros(len(x_low))]
    rows, row_low, row_high = [], [], []
    prev, start = slice(0, len(x_low)), len(x_low)

    def add(row: np.ndarray, row_min: float, row_max: float) -> None:
        rows.append(row)
        row_low.append(row_min)
        row_high.append(row_max)

    for (w, b), (low, high) in zip(layers[:-1], hidden):
        h = len(w)
        a, d = slice(start, start + h), slice(start + h, start + 2 * h)
        # A neuron with l = u = 0 (a pruned row, or one fed only by dead neurons) is both: read it
        # as dead (a = 0), not as active with d in [1, 0], which leaves the program infeasible.
        dead = high <= 0
        active = (low >= 0) & ~dead
        unstable = ~active & ~dead
        var_low += [np.maximum(low, 0.0), active.astype(float)]
        var_high += [np.maximum(high, 0.0), (~dead).astype(float)]
        integer += [np.zeros(h), np.ones(h)]
        for j in np.flatnonzero(~dead):
            row = np.zeros(
                total
            )  # a - w.a_prev >= b (a >= v); = b when the neuron is always active
            row[a][j], row[prev] = 1.0, -w[j]
            add(row, b[j], b[j] if active[j] else np.inf)
            if unstable[j]:
                row = row.copy()  # a <= v - l (1 - d)
                row[d][j] = -low[j]
                add(row, -np.inf, b[j] - low[j])
                row = np.zeros(total)  # a <= u d
                row[a][j], row[d][j] = 1.0, -high[j]
                add(row, -np.inf, 0.0)
        prev, start = a, start + 2 * h
    matrix = np.array(rows).reshape(-1, total)
    return _Program(
        matrix,
        np.array(row_low),
        np.array(row_high),
        np.concatenate(var_low),
        np.concatenate(var_high),
        np.concatenate(integer),
        prev,
    )


def _tighten(
    layers: _Pairs, hidden: _Pairs, x_low: np.ndarray, x_high: np.ndarray, deadline: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the bounds of hidden layers 2..

    tightened by the LP relaxation of the layers before: one LP per bound of each unstable neuron.
    Stops (keeping what it has, all valid) at the deadline.
    """
    hidden = [(low.copy(), high.copy()) for low, high in hidden]
    for i in range(1, len(hidden)):
        program = _program(layers[: i + 1], hidden[:i], x_low, x_high)
        w, b = layers[i]
        low, high = hidden[i]
        for j in np.flatnonzero((low < 0) & (high > 0)):
            for sign in (1.0, -1.0):
                if time.perf_counter() > deadline:
                    return hidden
                objective = np.zeros(len(program.var_low))
                objective[program.last] = sign * w[j]
                result = program.solve(objective, relax=True)
                # min v (sign 1) or max v (sign -1) over the relaxation, widened by
                if result.status == 0:
                    bound = (
                        sign * result.fun + b[j]
                    )  # the solver's tolerance so that it stays valid
                    slack = 1e-6 * (1 + abs(bound))
                    if sign > 0:
                        low[j] = max(low[j], bound - slack)
                    else:
                        high[j] = min(high[j], bound + slack)
    return hidden


# ------------------------------------------------------------------------------------------- verify


def _margin(
    layers: _Pairs, program: _Program, label: int, k: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (objective to minimise, row, low): -margin_k, and margin_k >= 0 as row . v >= low."""
    w, b = layers[-1]
    row = np.zeros(len(program.var_low))
    row[program.last] = w[k] - w[label]
    return -row, row, -(b[k] - b[label])


def verify(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    bounds: Sequence[float] | Dataset,
    time_limit: float = 10.0,
    progress: bool = True,
) -> Verification:
    """Decide exactly whether ``model`` keeps each prediction on the L-inf ball of radius ``eps``.

    The ball is around each x, intersected with ``bounds``.

    Cost: on the 8x8 digits with a 64-32-32-10 MLP, a median of well under a second a point on one
    core; with a width-8 ``SmallCNN`` (832 ReLUs), a median of 0.02 to 0.2 s a point at eps 0.02 to
    0.1, but a few points at eps 0.1 take over 10 s (``benchmarks/exact_gaps.py --cnn``).

    Parameters
    ----------
    model : nn.Module
        A ReLU network that :func:`robviz.exact.linear_regions.affine_pieces` reads: a robviz
        ``Classifier`` whose body is Linear / ReLU / BatchNorm / Flatten / Dropout / Identity layers
        (e.g. ``nn.Sequential(nn.Flatten(), ToyMLP(in_dim=64, ...))``) or a conv body (Conv2d,
        AvgPool2d, AdaptiveAvgPool2d, BatchNorm2d, e.g. ``SmallCNN``), read as dense affine maps of
        the flattened input, with any robviz head; or such a stack alone. At most
        :data:`MAX_MILP_RELUS` hidden ReLUs.
    x : torch.Tensor
        (N, ...) inputs inside ``bounds``, e.g. (N, 1, 8, 8) images; their shape is the model's
        input shape.
    y : torch.Tensor
        (N,) labels.
    eps : float
        The L-inf radius, >= 0.
    bounds : tuple of float or robviz.data.Dataset
        The input range (low, high), e.g. ``(0, 1)`` for images, or a Dataset.
    time_limit : float
        Seconds of solving per point (LPs and MILPs together); a point not decided in time is
        undecided. Default 10.
    progress : bool
        Show a tqdm progress bar over the points.

    Returns
    -------
    Verification
        A :class:`Verification`.

    Raises
    ------
    TypeError
        For models that are not ReLU networks (a MaxPool2d, a Tanh, ...), or inputs of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        For inputs that are empty or non-finite (the error names the sample index; checked before
        the bounds), of the wrong size, labels out of range, a bad eps or time limit, a layer whose
        dense matrix exceeds :data:`robviz.exact.linear_regions.MAX_DENSE_ENTRIES` entries, a
        model of one logit, or more hidden ReLUs than :data:`MAX_MILP_RELUS`.
    """
    checks.model("model", model, module=True)
    progress = checks.flag("progress", progress)
    if checks.tensor_argument("x", x).dim() < 2:
        raise ValueError(f"x must be a tensor of shape (N, ...), got {tuple(x.shape)}")
    checks.finite_inputs("x", x)
    time_limit = checks.real("time_limit", time_limit, low=0, low_open=True)
    shared = time.perf_counter()
    layers = network_layers(model, tuple(x.shape[1:]))
    _check_relus(layers)
    margins = margin_lower_bounds(
        model, x, y, eps, bounds=bounds, method="crown"
    )  # checks x, y, eps, bounds
    x_low, x_high = input_ball(x, eps, bounds)
    hidden = crown_bounds(layers[:-1], x_low, x_high)
    labels = to_numpy(y).astype(np.int64)
    model64 = copy.deepcopy(model).cpu().double()
    # predict: -1 for non-finite logits, never the label (argmax reads NaN logits as class 0)
    clean = predict(inference(model64, x.double().cpu())).numpy()
    shape = tuple(x.shape[1:])

    def misclassified(candidate: np.ndarray, i: int) -> np.ndarray | None:
        """Return the candidate clipped into point i's ball if the model errs on it, else None.

        The model is evaluated in float64.
        """
        point = np.clip(candidate, x_low[i], x_high[i])
        logits = inference(model64, torch.from_numpy(point).reshape(1, *shape))
        return point if predict(logits).item() != labels[i] else None

    n = len(labels)
    verdicts, decided_by = np.full(n, ROBUST, dtype=object), np.full(n, "crown", dtype=object)
    witnesses = np.full((n, x_low.shape[1]), np.nan)
    seconds = np.full(
        n, (time.perf_counter() - shared) / max(n, 1)
    )  # the shared CROWN pass, split evenly
    from tqdm.auto import tqdm

    for i in tqdm(range(n), desc="exact verification (MILP)", disable=not progress, leave=False):
        begin = time.perf_counter()
        deadline = begin + time_limit
        if clean[i] != labels[i]:
            verdicts[i], decided_by[i], witnesses[i] = (
                NOT_ROBUST,
                "clean",
                to_numpy(x[i], np.float64).ravel(),
            )
        else:
            verdict, how, witness = _decide(
                layers,
                [(lo[i], hi[i]) for lo, hi in hidden],
                x_low[i],
                x_high[i],
                labels[i],
                margins[i],
                lambda c: misclassified(c, i),
                deadline,
            )
            verdicts[i], decided_by[i] = verdict, how
            if witness is not None:
                witnesses[i] = witness
        seconds[i] += time.perf_counter() - begin
    return Verification(
        float(eps),
        verdicts.astype(str),
        torch.from_numpy(witnesses).reshape(n, *shape),
        decided_by.astype(str),
        seconds,
    )


def _decide(
    layers: _Pairs,
    hidden: _Pairs,
    x_low: np.ndarray,
    x_high: np.ndarray,
    label: int,
    margins: np.ndarray,
    misclassified: Callable[[np.ndarray], np.ndarray | None],
    deadline: float,
) -> tuple[str, str, np.ndarray | None]:
    """Return (verdict, decided_by, witness or None) for one correctly classified point."""
    # CROWN rules class k out where margin_k > 0; a NaN bound (an overflow) rules out nothing
    open_classes = [k for k in range(len(margins)) if k != label and not margins[k] > 0]
    if not open_classes:
        return ROBUST, "crown", None
    program = _program(layers, hidden, x_low, x_high)
    reachable = []
    for k in open_classes:  # the LP relaxation: an upper bound on the largest margin of class k
        objective, _, _ = _margin(layers, program, label, k)
        result = program.solve(objective, relax=True, time_limit=deadline - time.perf_counter())
        if result.status == 1 or time.perf_counter() > deadline:
            return UNDECIDED, "time limit", None
        if result.x is None:  # pragma: no cover - the relaxation of a nonempty ball is feasible
            return UNDECIDED, "time limit", None
        relaxed_margin = -result.fun - _margin_offset(layers, label, k)
        if result.status == 0 and relaxed_margin < 0:
            continue  # even the relaxation cannot reach class k
        witness = misclassified(result.x[: len(x_low)])
        for start in (result.x[: len(x_low)], (x_low + x_high) / 2):
            if witness is None:
                found = _ascend(layers, start, x_low, x_high, label, k)
                witness = None if found is None else misclassified(found)
        if witness is not None:
            return NOT_ROBUST, "lp", witness
        reachable.append((relaxed_margin, k))
    if not reachable:
        return ROBUST, "lp", None
    hidden = _tighten(layers, hidden, x_low, x_high, deadline)
    program = _program(layers, hidden, x_low, x_high)
    for _, k in sorted(reachable, reverse=True):  # the likeliest class first
        objective, row, low = _margin(layers, program, label, k)
        result = program.solve(
            np.zeros_like(objective), (row, low), time_limit=deadline - time.perf_counter()
        )
        if result.status == 2:  # infeasible: no input of the ball reaches class k
            continue
        if result.x is None:
            return UNDECIDED, "time limit", None
        witness = misclassified(result.x[: len(x_low)])
        # a tie within the solver's tolerance: ask for the largest margin instead
        if witness is None:
            result = program.solve(objective, (row, low), time_limit=deadline - time.perf_counter())
            witness = misclassified(result.x[: len(x_low)]) if result.x is not None else None
        if witness is not None:
            return NOT_ROBUST, "milp", witness
        return UNDECIDED, "tie" if result.status == 0 else "time limit", None
    return ROBUST, "milp", None


def _ascend(
    layers: _Pairs,
    start: np.ndarray,
    x_low: np.ndarray,
    x_high: np.ndarray,
    label: int,
    k: int,
    steps: int = 60,
) -> np.ndarray | None:
    """Return an input of the box [x_low, x_high] where class k's margin is >= 0, or None.

    Projected signed-gradient ascent of z_k - z_label from ``start`` (the float64 layers, the
    gradient by hand through the ReLU masks): ``steps`` steps of a quarter, then a sixteenth of the
    box's half-width. A cheap search for a witness before any MILP: on the L-GM digits MLP at eps
    0.1 (``benchmarks/exact_gaps.py --digits``) the LP optimum alone is no witness for points whose
    MILPs take 20 to 50 s, and this ascent from it finds one in well under a second. Its result
    only counts once the torch model misclassifies it (``misclassified`` in :func:`verify`).
    """
    w_out = layers[-1][0][k] - layers[-1][0][label]
    b_out = layers[-1][1][k] - layers[-1][1][label]
    half = (x_high - x_low) / 2
    x = np.clip(start, x_low, x_high)
    for step in range(steps):
        a, masks = x, []
        for w, b in layers[:-1]:
            v = w @ a + b
            masks.append(v > 0)
            a = np.maximum(v, 0.0)
        if w_out @ a + b_out >= 0:
            return x
        grad = w_out
        for (w, _), mask in zip(reversed(layers[:-1]), reversed(masks)):
            grad = w.T @ (grad * mask)
        size = half / 4 if step < steps // 2 else half / 16
        x = np.clip(x + size * np.sign(grad), x_low, x_high)
    return None


def _margin_offset(layers: _Pairs, label: int, k: int) -> float:
    """Return -(b_k - b_y): class k is reached where (w_k - w_y) . a >= this."""
    _, b = layers[-1]
    return -(b[k] - b[label])


# --------------------------------------------------------------------------------- minimal distance


def _with_radius(program: _Program, centre: np.ndarray, radius: float) -> _Program:
    """Return ``program`` with one more variable t in [0, radius] and |x - centre| <= t.

    The bound |x - centre| <= t holds on every coordinate.
    """
    n, v = len(centre), len(program.var_low)
    ball = np.zeros((2 * n, v + 1))
    ball[np.arange(n), np.arange(n)] = ball[n + np.arange(n), np.arange(n)] = 1.0
    ball[:n, v], ball[n:, v] = -1.0, 1.0  # x - t <= centre, x + t >= centre
    matrix = np.vstack([np.hstack([program.matrix, np.zeros((len(program.matrix), 1))]), ball])
    return _Program(
        matrix,
        np.concatenate([program.row_low, np.full(n, -np.inf), centre]),
        np.concatenate([program.row_high, centre, np.full(n, np.inf)]),
        np.append(program.var_low, 0.0),
        np.append(program.var_high, radius),
        np.append(program.integer, 0.0),
        program.last,
    )


def minimal_linf_distance(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    bounds: Sequence[float] | Dataset,
    time_limit: float = 10.0,
    progress: bool = True,
) -> torch.Tensor:
    """Return the exact L-inf distance from each x to the nearest input predicted as another class.

    The inputs range over ``bounds``; another class than y, predicted by ``model``.

    Per point: :func:`verify` at radii 1/16, 1/8, ... of the range until a witness is found; its
    distance R bounds the answer. Then, with the pre-activation bounds of the ball of radius R, one
    MILP per class k minimises t subject to |x' - x| <= t and z_k(x') >= z_y(x') (classes the LP
    relaxation rules out skipped), solved to a relative gap of 1e-9. The smallest optimum is the
    distance (the infimum: at it the classes tie).

    Parameters
    ----------
    model : nn.Module
        A ReLU network, as in :func:`verify`; at most :data:`MAX_MILP_RELUS` hidden ReLUs.
    x : torch.Tensor
        (N, ...) inputs inside ``bounds``; ``x.shape[1:]`` is the model's input shape.
    y : torch.Tensor
        (N,) labels.
    bounds : tuple of float or robviz.data.Dataset
        The input range (low, high), or a Dataset.
    time_limit : float
        Seconds of solving per point, all radii and classes together. Default 10.
    progress : bool
        Show a tqdm progress bar over the points.

    Returns
    -------
    torch.Tensor
        (N,) float64 on the CPU, in the units of the inputs: 0 for misclassified points, inf when
        no input of the range is predicted as another class.

    Raises
    ------
    TypeError
        For models that are not ReLU networks, or inputs of integers
        (:func:`robviz.checks.floating_inputs`).
    ValueError
        Naming the points not solved within ``time_limit`` seconds each, and apart the points
        undecided by a tie (another class's logit reaches the label's only where the float64
        forward pass still predicts the label, as in a network of zero weights); inputs that are
        empty or non-finite (naming the sample index); a ``time_limit`` that is not a number
        > 0; ``y`` not one integer label per point in [0, L) (naming the sample index); and as
        :func:`verify` for bad arguments.
    """
    # checks x (a finite, non-empty tensor inside the bounds) and bounds
    checks.model("model", model, module=True)
    progress = checks.flag("progress", progress)
    centres, _ = input_ball(checks.tensor_argument("x", x), 0.0, bounds)
    time_limit = checks.real("time_limit", time_limit, low=0, low_open=True)
    low, high = checks.bounds(bounds)
    layers = network_layers(model, tuple(x.shape[1:]))
    _check_relus(layers)
    labels = to_numpy(checks.labels("y", y, len(centres), num_classes=len(layers[-1][0])))
    out = np.zeros(len(labels))
    # undecided: out of time, or a tie the forward pass does not break
    late: list[int] = []
    ties: list[int] = []
    from tqdm.auto import tqdm

    bar = tqdm(range(len(labels)), desc="exact distance (MILP)", disable=not progress, leave=False)
    for i in bar:
        begin = time.perf_counter()
        radius, found = (high - low) / 16, None
        while found is None:
            left = time_limit - (time.perf_counter() - begin)
            result = verify(
                model,
                x[i : i + 1],
                y[i : i + 1],
                radius,
                bounds=bounds,
                time_limit=max(left, 1e-6),
                progress=False,
            )
            if result.verdicts[0] == UNDECIDED:
                break
            if result.verdicts[0] == NOT_ROBUST:
                found = result.witnesses[0].numpy().ravel()
            elif radius >= high - low:
                break  # the whole range keeps the class
            else:
                radius = min(2 * radius, high - low)
        if found is None:
            if result.verdicts[0] == UNDECIDED:
                (ties if result.decided_by[0] == "tie" else late).append(i)
            out[i] = np.inf
            continue
        centre = centres[i]
        best = float(np.abs(found - centre).max())
        if best == 0.0:
            continue  # misclassified clean
        ball_low, ball_high = np.clip(centre - best, low, high), np.clip(centre + best, low, high)
        hidden = [
            (lo[0], hi[0]) for lo, hi in crown_bounds(layers[:-1], ball_low[None], ball_high[None])
        ]
        program = _with_radius(_program(layers, hidden, ball_low, ball_high), centre, best)
        objective = np.zeros(len(program.var_low))
        objective[-1] = 1.0
        for k in range(len(layers[-1][0])):
            if k == labels[i]:
                continue
            _, row, bound = _margin(layers, program, labels[i], k)
            relaxed = program.solve(objective, (row, bound), relax=True)
            if relaxed.status == 2 or (relaxed.status == 0 and relaxed.fun >= best):
                continue  # class k is not reached closer than the best so far
            left = time_limit - (time.perf_counter() - begin)
            solved = program.solve(
                objective, (row, bound), time_limit=max(left, 1e-6), options={"mip_rel_gap": 1e-9}
            )
            if solved.status == 0:
                best = min(best, float(solved.fun))
            elif solved.status != 2:
                late.append(i)
                break
        out[i] = best
    if late:
        raise ValueError(
            f"{len(late)} points could not be solved within time_limit={time_limit:g} s each "
            f"(indices {late[:10]}); raise time_limit"
        )
    if ties:
        raise ValueError(
            f"{len(ties)} points are undecided by a tie: another class reaches the label's logit "
            f"but a float64 forward pass still predicts the label (indices {ties[:10]}), so their "
            f"distance is not defined by the program; a larger time_limit does not help"
        )
    return torch.from_numpy(out)


class _ReluCounter(TorchFunctionMode):
    """Counts the scalar outputs of every ReLU call (module or functional) of one forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.units = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Collection[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        if func in (F.relu, torch.relu, torch.relu_, F.relu_):
            self.units += out[0].numel()
        return out


def relu_units(model: nn.Module, x: torch.Tensor) -> int:
    """Count the scalar ReLUs ``model`` applies to one input.

    Counted by running it once (in eval mode, without gradients) and adding up the size of every
    ReLU output, modules (``nn.ReLU``) and calls (``F.relu``, as in the CIFAR ResNets) alike.

    Each is one binary variable of the exact program in the worst case (every ReLU unstable), so a
    network with n ReLUs has up to 2^n activation patterns to rule out.

    Parameters
    ----------
    model : nn.Module
        Any model (not only those the exact program reads).
    x : torch.Tensor
        (1, ...) one input.

    Returns
    -------
    int
        The number of scalar ReLU outputs of one forward pass.

    Raises
    ------
    ValueError
        Unless x is a tensor holding exactly one input, with finite values.
    TypeError
        An ``x`` of integers (:func:`robviz.checks.floating_inputs`).
    """
    checks.model("model", model, module=True)
    if checks.tensor_argument("x", x).dim() < 2 or len(x) != 1:
        raise ValueError(f"x must be one input of shape (1, ...), got {tuple(x.shape)}")
    checks.finite_inputs("x", x)
    checks.floating_inputs("x", x)
    counter = _ReluCounter()
    with counter:
        inference(model, x)
    return counter.units
