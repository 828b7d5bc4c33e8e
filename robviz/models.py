"""Models: a body that maps inputs to features z, and an objective's head that maps z to logits.

The contract every attack, detector and plot relies on, as ``typing.Protocol`` classes (checked by
mypy where functions are typed with them, and by ``isinstance`` at run time, which tests the
methods' presence only):

* :class:`Predictor`: ``model(x)`` -> (N, L) logits whose argmax is the prediction (for RCE: the
  negated logits). Any model an attack accepts.
* :class:`FeatureModel`: also ``model.features(x)`` -> (N, d) features z (feature plots, detectors,
  trajectories).
* :class:`TrainableModel`: also ``model.loss(x, y)`` -> the scalar training loss
  (``robviz.train.fit``).

:class:`Classifier`, the ensembles (``robviz.ensemble.Ensemble``,
``robviz.scale.resnet.ADPEnsemble``) and the CIFAR ResNets are all three.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from . import checks
from .runtime import predict, seeded
from .data import Dataset, check_dataset
from .objectives import Objective, make_objective

__all__ = [
    "Predictor",
    "FeatureModel",
    "TrainableModel",
    "ToyMLP",
    "SmallCNN",
    "Classifier",
    "make_model",
    "make_mlp",
]


@runtime_checkable
class Predictor(Protocol):
    """Any classifier: ``model(x)``, (N, ...) inputs -> (N, L) logits.

    The argmax of the logits is the prediction.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return the (N, L) logits of inputs x (N, ...), whose argmax is the prediction."""
        ...


@runtime_checkable
class FeatureModel(Predictor, Protocol):
    """A classifier with a feature: ``model.features(x)``, (N, ...) inputs -> (N, d) features z."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the features z of inputs x.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Features (N, d).
        """
        ...


@runtime_checkable
class TrainableModel(FeatureModel, Protocol):
    """A classifier with a feature and a training loss.

    ``model.loss(x, y)``, (N, ...) inputs and (N,) labels -> a scalar tensor.
    """

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the scalar training loss of inputs x with labels y.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        ...


class ToyMLP(nn.Module):
    """A multilayer perceptron for 2-D toy inputs: in_dim -> hidden (x depth, ReLU) -> feature_dim.

    The last layer has no activation, so the features can spread over the whole plane when
    feature_dim = 2.

    Parameters
    ----------
    in_dim : int
        The input dimension (2 for the toy data).
    feature_dim : int
        d, the feature dimension, >= 1.
    hidden : int
        The width of the hidden layers, >= 1.
    depth : int
        The number of hidden layers, >= 1.

    Raises
    ------
    ValueError
        ``feature_dim``, ``hidden`` or ``depth`` < 1.
    """

    def __init__(self, in_dim: int = 2, feature_dim: int = 2, hidden: int = 64, depth: int = 2):
        super().__init__()
        in_dim = checks.integer("in_dim", in_dim, low=1)
        feature_dim = checks.integer("feature_dim", feature_dim, low=1)
        hidden = checks.integer("hidden", hidden, low=1)
        depth = checks.integer("depth", depth, low=1)
        layers, width = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, feature_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.feature_dim = in_dim, feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the features of inputs x.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, in_dim).

        Returns
        -------
        torch.Tensor
            Features (N, feature_dim).

        Raises
        ------
        ValueError
            Inputs of another shape.
        """
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"ToyMLP expects inputs of shape (N, {self.in_dim}), got {tuple(x.shape)}"
            )
        return self.net(x)


class SmallCNN(nn.Module):
    """A small convolutional network for 1-channel images (8x8 digits or 28x28 MNIST).

    conv(32) -> ReLU -> conv(64, stride 2) -> ReLU -> conv(64, stride 2) -> ReLU -> global average
    pool -> linear to ``feature_dim`` (the extra linear feature layer of the MMC networks).

    Parameters
    ----------
    in_channels : int
        The image channels C (1 for the digits and MNIST).
    feature_dim : int
        d, the feature dimension.
    width : int
        The channels of the first convolution (the others have twice as many).

    Raises
    ------
    ValueError
        A size that is not an integer >= 1 (torch's "argument 'size' must be tuple of ints" before).
    """

    def __init__(self, in_channels: int = 1, feature_dim: int = 64, width: int = 32):
        super().__init__()
        in_channels = checks.integer("in_channels", in_channels, low=1)
        feature_dim = checks.integer("feature_dim", feature_dim, low=1)
        width = checks.integer("width", width, low=1)
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.linear = nn.Linear(2 * width, feature_dim)
        self.in_channels, self.feature_dim = in_channels, feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the features of images x.

        Parameters
        ----------
        x : torch.Tensor
            Images (N, in_channels, H, W).

        Returns
        -------
        torch.Tensor
            Features (N, feature_dim).

        Raises
        ------
        ValueError
            Inputs of another shape.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SmallCNN expects images of shape (N, {self.in_channels}, H, W), got "
                f"{tuple(x.shape)}"
            )
        return self.linear(self.conv(x))


def _real_inputs(x: torch.Tensor) -> torch.Tensor:
    """Return ``x``, or raise a ``TypeError`` for integer inputs.

    A body's first layer would fail with torch's "mat1 and mat2 must have the same dtype"; a NumPy
    array is refused as every entry refuses it (:func:`robviz.checks.tensor_argument`).
    """
    checks.tensor_argument("x", x)
    return x if x.is_complex() else checks.floating_inputs("the model's inputs", x)


class Classifier(nn.Module):
    """A body (inputs -> features) with an objective's head (features -> logits).

    ``forward(x)`` returns the output logits (argmax = prediction), ``features(x)`` the features z,
    ``raw_logits(z)`` the head's logits before the objective's prediction rule (what the loss sees).

    Parameters
    ----------
    body : torch.nn.Module
        Inputs (N, ...) -> features z (N, d).
    objective : Objective
        The head, z -> raw logits (N, L), with the loss and the prediction rule.

    Attributes
    ----------
    body : torch.nn.Module
        As given.
    objective : Objective
        As given.
    """

    def __init__(self, body: nn.Module, objective: Objective):
        super().__init__()
        self.body, self.objective = body, objective

    @property
    def num_classes(self) -> int:
        """The number of classes L of the objective head."""
        return self.objective.num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the features z = body(x).

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Features (N, d).

        Raises
        ------
        TypeError
            Integer or boolean inputs.
        """
        return self.body(_real_inputs(x))

    def raw_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Return the head's raw logits h of features z.

        Parameters
        ----------
        z : torch.Tensor
            Features (N, d).

        Returns
        -------
        torch.Tensor
            Raw logits (N, L).
        """
        return self.objective(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the prediction logits ``objective.output(h)`` of inputs x.

        For RCE these are the negated head logits.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Prediction logits (N, L).

        Raises
        ------
        TypeError
            Integer or boolean inputs.
        """
        return self.objective.output(self.objective(self.body(_real_inputs(x))))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the objective's training loss on a batch.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        z = self.body(_real_inputs(x))
        return self.objective.loss(z, self.objective(z), y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Return the predicted classes, without gradients.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...).

        Returns
        -------
        torch.Tensor
            Classes (N,) int64; -1 where the logits are not finite (:func:`robviz.runtime.predict`:
            argmax of NaN logits would read as class 0).
        """
        return predict(self(x))


def make_model(
    dataset: Dataset,
    objective: str = "sce",
    feature_dim: int | None = None,
    *,
    width: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    **objective_options: Any,
) -> Classifier:
    """Return a seeded classifier for ``dataset``.

    A :class:`ToyMLP` for 2-D inputs, a :class:`SmallCNN` for images.

    Parameters
    ----------
    dataset : robviz.data.Dataset
        The data the model is for: its input shape (1-D points or (C, H, W) images), number of
        classes and device.
    objective : str
        The objective's name in :data:`robviz.objectives.OBJECTIVES` (``"sce"``, ``"center"``,
        ``"lgm"``, ``"mmlda"``, ``"mmc"``, ``"rce"``), or a head
        (:class:`robviz.objectives.Objective`) used as it is.
    feature_dim : int or None
        The feature dimension d; defaults to 2 for toy data (to plot the features) and 64 for
        images.
    width : int or None
        The body's width: the :class:`SmallCNN`'s first convolution's channels (default 32) for
        images, the :class:`ToyMLP`'s hidden units (default 64) for 1-D inputs. Compute grows
        about as its square.
    seed : int
        Seeds the initial weights (:func:`robviz.runtime.seeded`: torch's global generator is
        left as the caller had it).
    device : torch.device or str or None
        Where the model goes; default the dataset's device.
    **objective_options
        Passed to the objective's head (:func:`robviz.objectives.make_objective`), e.g. ``factor``
        for MMC.

    Returns
    -------
    Classifier
        The body and the objective's head.

    Raises
    ------
    TypeError
        ``dataset`` not a :class:`robviz.data.Dataset`.
    ValueError
        For inputs that are neither 1-D nor images.
    """
    feature_dim = checks.integer(
        "feature_dim", feature_dim, low=1, allow_none=True, note="None: the default"
    )
    seed = checks.seed("seed", seed)
    dataset = check_dataset("dataset", dataset)
    width = checks.integer("width", width, low=1, allow_none=True, note="None: the default")
    shape = dataset.input_shape
    if len(shape) not in (1, 3):
        raise ValueError(
            f"no default model for inputs of shape {shape}; build a Classifier yourself"
        )
    body: nn.Module
    with seeded(seed):  # the caller's random stream is left as it was
        if len(shape) == 1:
            feature_dim = 2 if feature_dim is None else feature_dim
            body = ToyMLP(in_dim=shape[0], feature_dim=feature_dim, hidden=width or 64)
        else:
            feature_dim = 64 if feature_dim is None else feature_dim
            body = SmallCNN(in_channels=shape[0], feature_dim=feature_dim, width=width or 32)
        head = make_objective(objective, dataset.num_classes, feature_dim, **objective_options)
    model = Classifier(body, head)
    return model.to(device if device is not None else dataset.x_train.device)


@checks.renamed(hidden="width")
def make_mlp(
    dataset: Dataset,
    objective: str = "sce",
    feature_dim: int = 10,
    *,
    width: int = 32,
    depth: int = 2,
    seed: int = 0,
    device: torch.device | str | None = None,
    **objective_options: Any,
) -> Classifier:
    """Return a seeded ReLU MLP classifier for inputs of any shape.

    ``Flatten -> ToyMLP(in_dim=prod(input_shape), feature_dim, hidden=width, depth)`` and the
    objective's head.

    The model :mod:`robviz.exact` decides exactly on images (a mixed-integer program per point,
    which the width-32 CNN of :func:`make_model` is too large for: 3328 ReLUs on the digits, over
    ``robviz.exact.milp.MAX_MILP_RELUS``; a ``SmallCNN`` of width 8 fits): on the 8x8 digits the
    defaults give a 64-32-32-10 network whose robustness at an L-inf radius is known point by
    point.

    Parameters
    ----------
    dataset : robviz.data.Dataset
        The data the model is for: its input shape, number of classes and device.
    objective : str
        The objective's name in :data:`robviz.objectives.OBJECTIVES`.
    feature_dim : int
        The feature dimension d, the output of the body's last (linear) layer.
    width : int
        The hidden ReLU layers' units, as ``make_model(width=)`` (``hidden``, its old name, is
        kept for one release).
    depth : int
        The number of hidden ReLU layers.
    seed : int
        Seeds the initial weights (:func:`robviz.runtime.seeded`: torch's global generator is
        left as the caller had it).
    device : torch.device or str or None
        Where the model goes; default the dataset's device.
    **objective_options
        Passed to the objective's head (:func:`robviz.objectives.make_objective`).

    Returns
    -------
    Classifier
        ``Flatten -> ToyMLP`` and the objective's head.

    Raises
    ------
    TypeError
        ``dataset`` not a :class:`robviz.data.Dataset`.
    ValueError
        For sizes < 1.
    """
    feature_dim = checks.integer("feature_dim", feature_dim, low=1)
    width = checks.integer("width", width, low=1)
    depth = checks.integer("depth", depth, low=1)
    seed = checks.seed("seed", seed)
    dataset = check_dataset("dataset", dataset)
    in_dim = 1
    for size in dataset.input_shape:
        in_dim *= int(size)
    with seeded(seed):  # the caller's random stream is left as it was
        body = nn.Sequential(
            nn.Flatten(), ToyMLP(in_dim=in_dim, feature_dim=feature_dim, hidden=width, depth=depth)
        )
        head = make_objective(objective, dataset.num_classes, feature_dim, **objective_options)
    model = Classifier(body, head)
    return model.to(device if device is not None else dataset.x_train.device)
