"""CIFAR ResNets as robviz classifiers, and Adaptive Diversity Promoting (ADP) ensembles of them.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, section 4.2.

The CIFAR variant: a 3x3 stem with ``width`` channels, three stages of n residual blocks with
``width``, ``2 width`` and ``4 width`` channels (the second and third halve the resolution), global
average pooling: depth = 6n + 2 (ResNet-20/32/56/110: n = 3/5/9/18). ``version=1`` is the original
block (conv-BN-ReLU-conv-BN, add, ReLU); ``version=2`` the pre-activation block (He et al.,
"Identity Mappings in Deep Residual Networks", ECCV 2016: BN-ReLU-conv twice, add), with a final
BN-ReLU before pooling. A shortcut that changes shape is a 1x1 convolution with BN (v1) or a plain
1x1 convolution (v2).

The feature z is the pooled ``4 width``-d vector or, with ``feature_dim``, the output of an extra
linear layer (with bias) after pooling: the MMC/MMLDA networks of the authors' code (feature_dim 256
by default for them).

Inputs are images in [0, 1], (N, 3, H, W); the body normalizes them with the CIFAR channel mean and
standard deviation, so attacks work in the [0, 1] pixel box.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks
from ..ensemble import _adp, _check_shapes
from ..models import Classifier
from ..objectives import OBJECTIVES, make_objective
from ..runtime import seeded

__all__ = [
    "CIFAR_MEAN",
    "CIFAR_STD",
    "CifarResNet",
    "cifar_resnet",
    "ADPEnsemble",
    "adp_loss",
    "cifar_adp_ensemble",
    "make_cifar_model",
    "ARCHITECTURES",
    "ADPObjective",
    "ENSEMBLE_OBJECTIVES",
]

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

#: Architecture names accepted by :func:`make_cifar_model`, with their depth (6n + 2). ``resnet50``
#: (n = 8) is the depth the MI authors trained (``mi-authors`` in :mod:`robviz.scale.recipes` says
#: what is known of their network).
ARCHITECTURES = {
    "resnet8": 8,
    "resnet20": 20,
    "resnet32": 32,
    "resnet44": 44,
    "resnet50": 50,
    "resnet56": 56,
    "resnet110": 110,
}

#: Objectives whose networks get the extra 256-d linear feature layer by default (as the MMC
#: authors' code).
_FEATURE_LAYER_DEFAULT = {name: head.cifar_feature_dim for name, head in OBJECTIVES.items()}


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    # no dependence on the batch: data-parallel runs equal single-process ones exactly
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"normalization must be 'batch', 'group' or 'none', got {kind!r}")


class BasicBlock(nn.Module):
    """v1 residual block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)).

    Parameters
    ----------
    cin, cout : int
        Input and output channels.
    stride : int
        The first convolution's stride (2 halves the resolution).
    norm : {"batch", "group", "none"}
        The normalization layer.

    Raises
    ------
    ValueError
        For another ``norm``.
    """

    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _norm(norm, cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), _norm(norm, cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block's output.

        Parameters
        ----------
        x : torch.Tensor
            Feature maps (N, cin, H, W).

        Returns
        -------
        torch.Tensor
            Feature maps (N, cout, H / stride, W / stride) (rounded up).
        """
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class PreActBlock(nn.Module):
    """v2 (pre-activation) residual block: conv(relu(bn(conv(relu(bn(x)))))) + shortcut(x).

    Parameters
    ----------
    cin, cout : int
        Input and output channels.
    stride : int
        The first convolution's stride (2 halves the resolution).
    norm : {"batch", "group", "none"}
        The normalization layer.

    Raises
    ------
    ValueError
        For another ``norm``.
    """

    def __init__(self, cin: int, cout: int, stride: int, norm: str):
        super().__init__()
        self.bn1 = _norm(norm, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = _norm(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block's output.

        Parameters
        ----------
        x : torch.Tensor
            Feature maps (N, cin, H, W).

        Returns
        -------
        torch.Tensor
            Feature maps (N, cout, H / stride, W / stride) (rounded up).
        """
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        return self.conv2(F.relu(self.bn2(out))) + shortcut


class CifarResNet(nn.Module):
    """The body of a CIFAR ResNet: images (N, 3, H, W) in [0, 1] -> features z (N, feature_dim).

    Parameters
    ----------
    depth : int
        6n + 2 (8, 20, 32, 44, 56, 110, ...).
    version : int
        1 (original blocks) or 2 (pre-activation blocks).
    width : int
        Channels of the first stage (16 in the paper); the stages have width, 2 width, 4 width.
    feature_dim : int or None
        None: z is the pooled 4 width-d vector; an integer: an extra linear layer (with bias) maps
        the pooled vector to z (the MMC networks).
    normalization : str
        The normalization layer, ``"batch"`` (the paper), ``"group"`` or ``"none"`` (``norm``:
        its old name).
    in_channels : int
        Image channels (3); with 3 the inputs are normalized with ``CIFAR_MEAN`` and
        ``CIFAR_STD``, with another number with mean 0.5 and standard deviation 0.25 per channel.

    Raises
    ------
    ValueError
        For a depth that is not 6n + 2 with n >= 1, a version other than 1 or 2, a width or
        feature_dim below 1, or an unknown normalization.
    """

    mean: torch.Tensor  # buffers: the per-channel input normalization, (1, C, 1, 1)
    std: torch.Tensor

    @checks.renamed(norm="normalization")
    def __init__(
        self,
        depth: int = 20,
        *,
        version: int = 1,
        width: int = 16,
        feature_dim: int | None = None,
        normalization: str = "batch",
        in_channels: int = 3,
    ):
        depth = checks.integer("depth", depth, low=8, note="6n + 2: 8, 20, 32, 56, 110, ...")
        width = checks.integer("width", width, low=1)
        feature_dim = checks.integer("feature_dim", feature_dim, low=1, allow_none=True)
        in_channels = checks.integer("in_channels", in_channels, low=1)
        norm = normalization
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(
                f"depth must be 6n + 2 with n >= 1 (8, 20, 32, 56, 110, ...), got {depth!r}"
            )
        if version not in (1, 2):
            raise ValueError(f"version must be 1 (original) or 2 (pre-activation), got {version!r}")
        if width < 1 or (feature_dim is not None and feature_dim < 1):
            raise ValueError(f"width and feature_dim must be >= 1, got {width}, {feature_dim}")
        n = (depth - 2) // 6
        block = BasicBlock if version == 1 else PreActBlock
        self.depth, self.version, self.width, self.in_channels = depth, version, width, in_channels
        mean = torch.tensor(CIFAR_MEAN if in_channels == 3 else (0.5,) * in_channels).view(
            1, -1, 1, 1
        )
        std = torch.tensor(CIFAR_STD if in_channels == 3 else (0.25,) * in_channels).view(
            1, -1, 1, 1
        )
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.stem = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.stem_norm = _norm(norm, width) if version == 1 else nn.Identity()
        layers, cin = [], width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                layers.append(block(cin, cout, 2 if (stage > 0 and i == 0) else 1, norm))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.final_norm = _norm(norm, cin) if version == 2 else nn.Identity()
        self.pooled_dim = cin
        self.linear = None if feature_dim is None else nn.Linear(cin, feature_dim)
        self.feature_dim = cin if feature_dim is None else feature_dim
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the features of images x (N, in_channels, H, W).

        Parameters
        ----------
        x : torch.Tensor
            Images (N, in_channels, H, W) in [0, 1].

        Returns
        -------
        torch.Tensor
            The features z (N, feature_dim).

        Raises
        ------
        ValueError
            For another shape.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"CifarResNet expects images (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        out = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out = F.relu(self.stem_norm(self.stem(out))) if self.version == 1 else self.stem(out)
        out = self.layers(out)
        if self.version == 2:
            out = F.relu(self.final_norm(out))
        out = out.mean(dim=(2, 3))
        return out if self.linear is None else self.linear(out)


@checks.renamed(norm="normalization")
def cifar_resnet(
    depth: int = 20,
    num_classes: int = 10,
    objective: str = "sce",
    feature_dim: int | None = None,
    version: int = 1,
    *,
    width: int = 16,
    normalization: str = "batch",
    in_channels: int = 3,
    seed: int | None = None,
    **objective_options: Any,
) -> Classifier:
    """Return a CIFAR ResNet with an objective's head: a :class:`robviz.models.Classifier`.

    Parameters
    ----------
    depth : int, default 20
        6n + 2 (8, 20, 32, 44, 56, 110, ...).
    num_classes : int, default 10
        The number of classes L.
    objective : str, default "sce"
        A name in ``robviz.objectives.OBJECTIVES`` (any case).
    feature_dim : int, optional
        The extra linear feature layer's output size. None picks the authors' choice (the head's
        ``cifar_feature_dim``): MMC and MMLDA get the extra linear layer with 256 features, the
        others (SCE, RCE, center loss, L-GM) use the pooled 4 width-d (64-d) features.
    version, width, normalization, in_channels
        As :class:`CifarResNet` (``norm``: the old name of ``normalization``).
    seed : int, optional
        Seeds the initialisation (:func:`robviz.runtime.seeded`: the caller's generator is left as
        it was); None draws from the global generator.
    **objective_options
        Go to the objective's head (:func:`robviz.objectives.make_objective`), e.g. ``norm`` of
        the MM centers or ``factor``.

    Returns
    -------
    robviz.models.Classifier
        The model: images (N, in_channels, H, W) in [0, 1] -> prediction logits (N, L).

    Raises
    ------
    ValueError
        For an unknown objective, or as :class:`CifarResNet`.

    Examples
    --------
    >>> model = cifar_resnet(32, objective="mmc")        # ResNet-32, z in R^256, MMC-10 head
    >>> model(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    seed = None if seed is None else checks.seed("seed", seed)
    key = str(objective).lower()
    if feature_dim is None:
        feature_dim = _FEATURE_LAYER_DEFAULT.get(key)
    with contextlib.nullcontext() if seed is None else seeded(seed):
        body = CifarResNet(
            depth,
            version=version,
            width=width,
            feature_dim=feature_dim,
            normalization=normalization,
            in_channels=in_channels,
        )
        head = make_objective(key, num_classes, body.feature_dim, **objective_options)
    return Classifier(body, head)


def adp_loss(
    logits: torch.Tensor, y: torch.Tensor, alpha: float = 2.0, beta: float = 0.5
) -> torch.Tensor:
    """Return the ADP training loss, averaged over the batch.

    Pang et al., "Improving Adversarial Robustness via Promoting Ensemble Diversity", ICML 2019:

        L = sum_k CE(y, F_k) - alpha H(mean_k F_k) - beta log det(M M^T + 1e-6 I_K),

    F_k = softmax of member k, H(p) = -sum p log(p + 1e-20), row k of M (K, L-1) = F_k without the
    true label's entry, L2-normalized. The ADP term is :func:`robviz.ensemble.adp_regularizer` (one
    implementation, with the authors' offsets ``LOG_OFFSET`` and ``DET_OFFSET``); here it runs in
    float32 on (K, N, L) member logits, so it stays exact under bf16 autocast.

    Parameters
    ----------
    logits : torch.Tensor
        (K, N, L) member logits, K >= 2.
    y : torch.Tensor
        (N,) labels.

    Raises
    ------
    ValueError
        As :func:`~robviz.ensemble.adp_regularizer` for K < 2, L < 2 or labels of the wrong shape
        or outside [0, L).
    """
    logits = checks.tensor_argument("logits", logits, "(K, N, L)").float()
    probabilities = logits.softmax(dim=-1)
    # The shapes and the labels first, naming y; the rows are softmax outputs by construction, and
    # adp_regularizer's check of that is a host synchronization every training step on a GPU.
    _check_shapes(probabilities, y)
    regularizer = _adp(probabilities, y, alpha, beta).mean()
    ce = sum(F.cross_entropy(logits[k], y) for k in range(logits.shape[0]))
    return ce + regularizer


class ADPObjective(nn.Module):
    """The ADP objective of an ensemble, registered in :data:`ENSEMBLE_OBJECTIVES` as ``"adp"``.

    It holds the settings (alpha, beta) and declares what the package reads about it, as the heads
    of ``robviz.objectives.OBJECTIVES`` do (``name``, ``label``, ``has_factor``, ``authors_recipe``,
    ``centers``).

    It is not one of those heads: its loss reads the K members' logits, not a feature z, so it has
    no decision on z (``robviz.exact`` does not apply) and no per-sample loss on z.

    Parameters
    ----------
    num_classes : int
        The number of classes L.
    alpha, beta : float
        The weights of the ensemble entropy and of the log-determinant (diversity) terms of
        :func:`adp_loss`.
    """

    name, label = "adp", "ADP"
    has_factor = False
    authors_recipe: str | None = "adp-authors"
    centers = None

    def __init__(self, num_classes: int, alpha: float, beta: float):
        super().__init__()
        num_classes = checks.integer("num_classes", num_classes, low=2)
        self.num_classes, self.alpha, self.beta = num_classes, float(alpha), float(beta)

    @staticmethod
    def build(depth: int, num_classes: int, **options: Any) -> ADPEnsemble:
        """Return the paper's ensemble of ResNet-``depth`` members (:func:`cifar_adp_ensemble`).

        Parameters
        ----------
        depth : int
            The members' depth, 6n + 2.
        num_classes : int
            The number of classes L.
        **options
            Go to :func:`cifar_adp_ensemble` (``members``, ``alpha``, ``beta``, ``width``, ...).

        Returns
        -------
        ADPEnsemble
            The ensemble.
        """
        return cifar_adp_ensemble(depth, num_classes, **options)

    def extra_repr(self) -> str:
        """Return the settings shown in the module's repr."""
        return f"num_classes={self.num_classes}, alpha={self.alpha}, beta={self.beta}"


#: Objectives trained on an ensemble's member logits (no head on a feature), by name: the CLI's
#: choices beside ``robviz.objectives.OBJECTIVES``. An entry declares ``name``, ``label``,
#: ``has_factor``, ``authors_recipe`` and ``build(depth, num_classes, **options)``.
ENSEMBLE_OBJECTIVES: dict[str, type[ADPObjective]] = {ADPObjective.name: ADPObjective}


class ADPEnsemble(nn.Module):
    """An ensemble of K SCE classifiers trained with the ADP loss (:func:`adp_loss`).

    The robviz model contract: ``forward(x)`` returns log of the mean member softmax (argmax = the
    ensemble's prediction, so attacks see the averaged ensemble), ``features(x)`` the members'
    features concatenated, ``loss(x, y)`` the ADP loss, ``member_logits(x)`` the (K, N, L) member
    logits.

    Parameters
    ----------
    members : iterable of robviz.models.Classifier
        The K >= 2 members, with the same number of classes (the first one's is read).
    alpha : float, default 2.0
        The weight of the ensemble entropy in the ADP loss.
    beta : float, default 0.5
        The weight of the log-determinant (diversity) term.

    Attributes
    ----------
    members : torch.nn.ModuleList
        The members.
    objective : ADPObjective
        The settings (``num_classes``, ``alpha``, ``beta``).

    Raises
    ------
    ValueError
        For fewer than 2 members.
    """

    def __init__(self, members: Iterable[Classifier], alpha: float = 2.0, beta: float = 0.5):
        super().__init__()
        members = list(members)
        self.members = nn.ModuleList(members)
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(self.members)}")
        self.objective = ADPObjective(members[0].num_classes, alpha, beta)

    @property
    def num_classes(self) -> int:
        """The number of classes L."""
        return self.objective.num_classes

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the (K, N, L) member logits.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...), as the members take them.

        Returns
        -------
        torch.Tensor
            The member logits, (K, N, L).
        """
        return torch.stack([member(x) for member in self.members])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the members' features concatenated, (N, sum of the members' d).

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...), as the members take them.

        Returns
        -------
        torch.Tensor
            The features, (N, sum of the members' d).
        """
        # nn.ModuleList is not generic: to mypy its items are plain Modules, here they are the
        # Classifiers
        return torch.cat([member.features(x) for member in self.members], dim=1)  # type: ignore[operator]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the log of the mean member softmax, (N, L), in float32 and in log space.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...), as the members take them.

        Returns
        -------
        torch.Tensor
            log mean_k softmax(member k's logits), (N, L), float32.
        """
        log_probs = (
            self.member_logits(x).float().log_softmax(dim=-1)
        )  # log of the mean, in log space
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.members))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the ADP loss of the batch, a scalar.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...), as the members take them.
        y : torch.Tensor
            Integer labels (N,).

        Returns
        -------
        torch.Tensor
            The loss (:func:`adp_loss`), a scalar.
        """
        return adp_loss(self.member_logits(x), y, self.objective.alpha, self.objective.beta)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Return the ensemble's predicted classes (N,), without gradients.

        Parameters
        ----------
        x : torch.Tensor
            Inputs (N, ...), as the members take them.

        Returns
        -------
        torch.Tensor
            The predicted classes (N,), int64.
        """
        return self(x).argmax(dim=1)


@checks.renamed(norm="normalization")
def cifar_adp_ensemble(
    depth: int = 20,
    num_classes: int = 10,
    members: int = 3,
    *,
    alpha: float = 2.0,
    beta: float = 0.5,
    version: int = 1,
    width: int = 16,
    normalization: str = "batch",
    in_channels: int = 3,
    seed: int | None = None,
) -> ADPEnsemble:
    """Return the ADP paper's ensemble.

    ``members`` x ResNet-``depth`` (3 x ResNet-20 v1), alpha 2, beta 0.5 (alpha = beta = 0 is the
    paper's baseline: independently trained members).

    Parameters
    ----------
    depth : int, default 20
        The members' depth, 6n + 2.
    num_classes : int, default 10
        The number of classes L.
    members : int, default 3
        The number of members K (>= 2), each an SCE ResNet (:func:`cifar_resnet`).
    alpha, beta : float
        The ADP loss weights (:class:`ADPEnsemble`).
    version, width, normalization, in_channels
        As :class:`CifarResNet` (``norm``: the old name of ``normalization``).
    seed : int, optional
        Seeds the initialisation of all the members (:func:`robviz.runtime.seeded`, once, around
        them all: the caller's generator is left as it was); None draws from the global generator.

    Returns
    -------
    ADPEnsemble
        The ensemble.

    Raises
    ------
    ValueError
        For fewer than 2 members, or as :class:`CifarResNet`.
    """
    members = checks.integer("members", members, low=2)
    seed = None if seed is None else checks.seed("seed", seed)
    with contextlib.nullcontext() if seed is None else seeded(seed):
        bodies = [
            cifar_resnet(
                depth,
                num_classes,
                "sce",
                version=version,
                width=width,
                normalization=normalization,
                in_channels=in_channels,
            )
            for _ in range(members)
        ]
    return ADPEnsemble(bodies, alpha, beta)


@checks.renamed(norm="normalization")
def make_cifar_model(
    arch: str = "resnet20",
    objective: str = "sce",
    num_classes: int = 10,
    *,
    feature_dim: int | None = None,
    version: int = 1,
    width: int = 16,
    normalization: str = "batch",
    in_channels: int = 3,
    seed: int | None = 0,
    **options: Any,
) -> nn.Module:
    """Return a model by architecture name (``robviz.scale.resnet.ARCHITECTURES``) and objective.

    Parameters
    ----------
    arch : str, default "resnet20"
        A key of :data:`ARCHITECTURES`.
    objective : str, default "sce"
        An ``OBJECTIVES`` name, or an :data:`ENSEMBLE_OBJECTIVES` name such as ``"adp"``, an
        ensemble of three.
    num_classes : int, default 10
        The number of classes L.
    feature_dim : int, optional
        As :func:`cifar_resnet`; must be None for an ensemble objective.
    version, width, normalization, in_channels
        As :class:`CifarResNet` (``norm``: the old name of ``normalization``).
    seed : int or None, default 0
        Seeds the initialisation; None leaves the global generator as it is.
    **options
        Go to the objective (:func:`cifar_resnet`) or to the ensemble's ``build``.

    Returns
    -------
    torch.nn.Module
        A :class:`robviz.models.Classifier`, or an :class:`ADPEnsemble` for ``"adp"``.

    Raises
    ------
    ValueError
        For an unknown ``arch`` or objective, a ``feature_dim`` for an ensemble objective, or as
        :class:`CifarResNet`.
    """
    seed = None if seed is None else checks.seed("seed", seed)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; valid names: {', '.join(ARCHITECTURES)}")
    common: dict[str, Any] = dict(
        version=version,
        width=width,
        normalization=normalization,
        in_channels=in_channels,
        seed=seed,
    )
    key = str(objective).lower()
    if key in ENSEMBLE_OBJECTIVES:
        if feature_dim is not None:
            raise ValueError(
                f"feature_dim={feature_dim} does not apply to the ensemble objective {key!r}: its "
                "members end in their own heads (leave feature_dim None)"
            )
        return ENSEMBLE_OBJECTIVES[key].build(ARCHITECTURES[arch], num_classes, **common, **options)
    return cifar_resnet(
        ARCHITECTURES[arch], num_classes, objective, feature_dim, **common, **options
    )
