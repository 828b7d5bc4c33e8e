"""Exact robustness of ReLU classifiers: the ground truth that attacks are measured against.

An attack only bounds robustness from one side: the robust accuracy it reports is an *upper* bound,
the distance DeepFool or C&W reports an *upper* bound on the minimal distance. On 2-D inputs the
truth can be computed.

A ReLU network is affine on each cell of a partition of the plane into convex polygons (its *linear
regions*): on a cell every neuron keeps its sign, so the whole network is x -> M x + m there.
:func:`decision_boundary` enumerates those cells inside the input box by splitting polygons along
each neuron's zero line, layer by layer, and splits every cell once more along the lines where the
predicted class changes (the argmax of affine logits is constant on convex pieces). The result, an
:class:`ExactBoundary`, is the input box cut into convex polygons with one predicted class each.
Every distance and robust accuracy below is computed from those polygons, in float64: the error is
floating-point rounding (tested below 1e-6 against closed forms), not a grid spacing.

The heads of every robviz objective have affine decisions: SCE, center loss and RCE are linear
layers (RCE negated), and MMC, MMLDA and L-GM predict the nearest center, argmax_k (2 mu_k . z -
||mu_k||^2). So every ``Classifier`` on a ReLU body (``ToyMLP``) is handled, as are ``nn.Linear``
and ``nn.Sequential`` stacks of Linear, ReLU, BatchNorm1d (eval statistics), Dropout and Identity.
On images, conv bodies too (``SmallCNN``; Conv2d with any stride, padding, dilation and groups,
BatchNorm2d, AvgPool2d, AdaptiveAvgPool2d, Flatten): given the input shape, each of those layers is
a dense float64 matrix on the flattened image, built by applying it to the identity basis, so the
network is again affine maps and ReLUs. "Where the size allows": a matrix over
``linear_regions.MAX_DENSE_ENTRIES`` (2**24) entries, or a network over ``milp.MAX_MILP_RELUS``
(2048) hidden ReLUs for the exact program, is refused with a ``ValueError``; a MaxPool2d or any
other layer that is neither affine nor a ReLU raises a ``TypeError``. Other models (ensembles that
average softmaxes, randomized defenses) raise a ``TypeError``; :func:`grid_minimal_distance` gives
them a grid estimate whose error is stated there. A network of one logit (a binary classifier
whose argmax is class 0 everywhere) raises a ``ValueError`` naming the two-logit remedy.

    boundary = decision_boundary(model, data.bounds)
    d = boundary.distance(x, y, norm="L2")                 # (N,) exact minimal distances
    acc, robust = boundary.robust_accuracy(x, y, 0.25, norm="Linf")

On inputs of any other shape (digits, MNIST; MLP or small conv bodies), :func:`robust_accuracy`
decides each point exactly at an L-inf radius by mixed-integer linear programming
(:mod:`robviz.exact.milp`): three verdicts, robust, not robust (with a witness the model
misclassifies) and undecided (the per-point time limit ran out, or a tie that the float64 forward
pass does not break, as in a network of zero weights), returned as a :class:`Verification` that
unpacks like the 2-D pair. Networks too large for that get certified lower bounds
(:mod:`robviz.exact.certify`: interval bound propagation and CROWN), so that certified <= exact <=
attack.

    result = robust_accuracy(model, x_digits, y_digits, 0.1, bounds=(0, 1))   # a Verification
    result.verdicts, result.witnesses, result.lower, result.upper
    certified_robust(model, x_digits, y_digits, 0.1, bounds=(0, 1), method="crown")   # (N,) bool
    minimal_distance(model, x_digits, y_digits, norm="Linf", bounds=(0, 1))        # exact, by MILP

The wing's modules, their main names re-exported here: :mod:`robviz.exact.boundary`
(:class:`ExactBoundary`, the distances and robust accuracy), :mod:`robviz.exact.linear_regions` (the
geometry under it: a ReLU model as affine maps and ReLUs, its linear regions, their split by
predicted class), :mod:`robviz.exact.milp` (the MILP for inputs of any size),
:mod:`robviz.exact.certify` (certified bounds) and :mod:`robviz.exact.paired` (the exact McNemar
test: is one model more robust than another on the same points, :func:`mcnemar`).
"""

from .boundary import (
    ExactBoundary,
    affine_pieces,
    decision_boundary,
    grid_minimal_distance,
    minimal_distance,
    robust_accuracy,
    robust_accuracy_curve,
)
from .certify import (
    certified_robust,
    crown_bounds,
    interval_bounds,
    margin_lower_bounds,
    unstable_relus,
)
from .milp import Verification, minimal_linf_distance, relu_units, verify
from .paired import PairedTest, mcnemar

__all__ = [
    "ExactBoundary",
    "decision_boundary",
    "minimal_distance",
    "robust_accuracy",
    "robust_accuracy_curve",
    "grid_minimal_distance",
    "affine_pieces",
    "Verification",
    "verify",
    "minimal_linf_distance",
    "certified_robust",
    "margin_lower_bounds",
    "interval_bounds",
    "crown_bounds",
    "unstable_relus",
    "relu_units",
    "PairedTest",
    "mcnemar",
]
