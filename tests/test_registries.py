"""Every registered objective gets the same checks, read from the registries.

The registries are ``robviz.objectives.OBJECTIVES`` and ``robviz.scale.resnet.ENSEMBLE_OBJECTIVES``,
so a new entry is checked with no list to update here.

The checks are plain functions (``check_*``), parametrized over the registries below, and called on
a dummy objective registered for one test: the proof that an entry is picked up. Each check is also
shown to fail on an objective that breaks its rule. The same proof for the two other registries, at
the end: a new attack exported from ``robviz.attacks`` gets test_edges.py's kind-wide checks, and a
new lesson in ``notebooks/`` is run, graded and measured by every lesson check
(lesson_runs.lessons).
"""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robviz.attacks.objectives import (
    ATTACK_OBJECTIVES,
    auto_objective,
    cross_entropy_objective,
    margin_objective,
    paper_objective,
)
from robviz.data import gaussian_mixture, grid_points
from robviz.exact import decision_boundary, grid_minimal_distance, minimal_distance
from robviz.models import Classifier, FeatureModel, Predictor, ToyMLP, TrainableModel, make_model
from robviz.objectives import (
    OBJECTIVES,
    Objective,
    nearest_center_decision,
    per_sample_loss,
    squared_distances,
)
from robviz.scale.recipes import RECIPES, get_recipe
from robviz.scale.resnet import ENSEMBLE_OBJECTIVES, make_cifar_model
from robviz.shell_density import sample_density

CLASSES, DIM = 3, 2
BOX = (-3.0, 3.0)


def _head(name: str, seed: int = 0) -> Objective:
    torch.manual_seed(seed)
    return OBJECTIVES[name](CLASSES, DIM)


def _body(seed: int = 0) -> ToyMLP:
    """A 2-8-2 ReLU network: several classes and many linear regions in the box, whatever the head.

    Every first-layer line crosses the box, and the features spread over a few units.
    """
    torch.manual_seed(seed)
    body = ToyMLP(2, DIM, hidden=8, depth=1)
    with torch.no_grad():
        body.net[0].weight.normal_()
        body.net[0].bias.uniform_(-3.0, 3.0)
        body.net[2].weight.normal_()
        body.net[2].bias.zero_()
    return body


# --------------------------------------------------------------------------------------- the checks


def check_declarations(name: str) -> None:
    """The class attributes the package reads: name, label, flags, centers, the recipes selected."""
    cls = OBJECTIVES[name]
    assert cls.name == name, f"{cls.__name__}.name is {cls.name!r}, registered as {name!r}"
    assert isinstance(cls.label, str) and cls.label and cls.label != Objective.label, (
        f"{cls.__name__}.label"
    )
    assert isinstance(cls.has_factor, bool) and isinstance(cls.softmax_loss, bool)
    assert cls.cifar_feature_dim is None or (
        isinstance(cls.cifar_feature_dim, int) and cls.cifar_feature_dim >= 1
    )
    centers = _head(name).centers
    assert centers is None or tuple(centers.shape) == (CLASSES, DIM), f"{name} centers: {centers}"
    for recipe in ("paper", "fast"):
        assert (get_recipe(recipe, name).factor is not None) == cls.has_factor, (recipe, name)
    check_recipe(name, cls.authors_recipe)


def check_recipe(name: str, authors_recipe) -> None:
    """``authors_recipe``: if None, ``get_recipe("authors", name)`` refuses; else it names a recipe.

    The recipe it names is built.
    """
    if authors_recipe is None:
        with pytest.raises(ValueError, match="no authors' recipe"):
            get_recipe("authors", name)
        return
    assert authors_recipe in RECIPES, f"{name}: authors_recipe {authors_recipe!r} is not a recipe"
    assert get_recipe("authors", name).name == authors_recipe


def check_decision(name: str) -> None:
    """``decision()`` gives (W, b): prediction logits = z @ W.T + b + (the same for every class)."""
    head = _head(name).double()
    affine = head.decision()
    assert affine is not None, (
        f"{name}: decision() returns None; robviz.exact reads the decision from it"
    )
    w, b = affine
    assert tuple(w.shape) == (CLASSES, DIM) and tuple(b.shape) == (CLASSES,), (w.shape, b.shape)
    z = 3 * torch.randn(200, DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        gap = head.output(head(z)) - (z @ w.T + b)
    torch.testing.assert_close(
        gap,
        gap[:, :1].expand_as(gap),
        rtol=0,
        atol=1e-9,
        msg=f"{name}: decision() disagrees with the prediction logits",
    )


def check_exact_boundary(name: str) -> None:
    """``robviz.exact`` on a 2-8-2 ToyMLP (:func:`_body`) with this head agrees with a dense grid.

    It agrees on the prediction at every node away from ties, and on the minimal distances from
    above within two grid spacings.
    """
    model = Classifier(_body(), _head(name)).double()
    boundary = decision_boundary(model, BOX)
    nodes = grid_points(BOX * 2, 201).double()
    with torch.no_grad():
        logits = model(nodes)
    top = logits.topk(2, dim=1).values
    clear = (top[:, 0] - top[:, 1] > 1e-9).numpy()
    truth = logits.argmax(dim=1).numpy()
    assert len(np.unique(truth)) >= 2, f"{name}: one class over the whole box, no boundary to check"
    assert np.array_equal(boundary.predict(nodes.numpy())[clear], truth[clear]), (
        f"{name}: exact predictions"
    )
    x = torch.empty(16, 2, dtype=torch.float64).uniform_(
        *BOX, generator=torch.Generator().manual_seed(2)
    )
    with torch.no_grad():
        y = model(x).argmax(dim=1)
    resolution = 301
    exact = minimal_distance(model, x, y, norm="L2", bounds=BOX)
    grid = grid_minimal_distance(model, x, y, norm="L2", bounds=BOX, resolution=resolution)
    spacing = (BOX[1] - BOX[0]) / (resolution - 1)
    assert torch.isfinite(exact).any()
    assert (grid >= exact - 1e-9).all(), (
        f"{name}: the grid found a closer point than the exact boundary"
    )
    # the grid's nearest node of another class lies within h / sqrt(2) of a cell but may sit further
    # in a sharp corner of a region: two spacings (measured: up to 1.5 spacings, at 301, 1001 and
    # 3001 nodes a side)
    assert (grid <= exact + 2 * spacing).all(), f"{name}: exact distance too small"


def check_softmax_flag(name: str) -> None:
    """``softmax_loss`` is True exactly when the loss is plain -log softmax(h)_y, averaged."""
    head = copy.deepcopy(_head(name)).double()
    generator = torch.Generator().manual_seed(3)
    z = 2 * torch.randn(64, DIM, generator=generator, dtype=torch.float64)
    y = torch.randint(CLASSES, (64,), generator=generator)
    with torch.no_grad():
        h = head(z)
        is_softmax = torch.allclose(head.loss(z, h, y), F.cross_entropy(h, y), rtol=1e-12, atol=0)
    assert is_softmax == head.softmax_loss, (
        f"{name}: softmax_loss is {head.softmax_loss}, the loss says {is_softmax}"
    )


def check_float64_loss(name: str) -> None:
    """``per_sample_loss(float64=True)``: one float64 term per sample, averaging to the loss.

    The average is the objective's loss; for a softmax head, tiny losses (well-classified points,
    where float32 gives 0) stay nonzero and exact.
    """
    head = _head(name)
    loss64 = per_sample_loss(head, float64=True)
    generator = torch.Generator().manual_seed(4)
    z = 2 * torch.randn(64, DIM, generator=generator)
    y = torch.randint(CLASSES, (64,), generator=generator)
    losses = loss64(z, y)
    assert losses.dtype == torch.float64 and tuple(losses.shape) == (64,)
    reference = copy.deepcopy(head).double()
    with torch.no_grad():
        batch = reference.loss(z.double(), reference(z.double()), y)
    torch.testing.assert_close(losses.mean(), batch, rtol=1e-9, atol=0)
    if not head.softmax_loss:
        return
    # points far out along every direction: the true class (the prediction) wins by margins of 40 to
    # 700 nats
    scales = torch.logspace(0, 3, 40, dtype=torch.float64).repeat_interleave(50)[:, None]
    z = scales * torch.randn(len(scales), DIM, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        h = reference(z)
    y = h.argmax(dim=1)
    others = (h - h.gather(1, y[:, None])).scatter(
        1, y[:, None], -math.inf
    )  # -(margins), -inf for the true class
    far = (others.max(dim=1).values < -40) & (others.max(dim=1).values > -700)
    assert far.sum() >= 10, f"{name}: too few points with tiny losses"
    tiny = loss64(z[far], y[far])
    expected = torch.log1p(
        others[far].exp().sum(dim=1)
    )  # log(1 + sum_k exp(h_k - h_y)), independent form
    assert (tiny > 0).all(), f"{name}: float64 per-sample losses round to 0"
    torch.testing.assert_close(tiny, expected, rtol=1e-9, atol=0)
    assert (
        per_sample_loss(head)(z[far].float(), y[far]) == 0
    ).any()  # what float32 gives: the reason for all this


def check_model_contract(name: str) -> None:
    """``make_model`` builds a classifier with this objective that keeps the model contract."""
    data = gaussian_mixture(CLASSES, n_per_class=10, seed=0)
    model = make_model(data, name)
    assert isinstance(model, TrainableModel)
    x, y = data.x_train[:5], data.y_train[:5]
    assert tuple(model(x).shape) == (5, CLASSES) and tuple(model.features(x).shape) == (5, 2)
    assert model.loss(x, y).dim() == 0


def check_attack_objectives(name: str) -> None:
    """The declared attack objectives resolve, and the attacks' defaults are what the head declares.

    ``attack_objective`` (``auto_objective``) and ``paper_attack_objective`` (``paper_objective``)
    name entries of ``ATTACK_OBJECTIVES``; each gives a per-sample objective (N,) of the model.
    """
    model = Classifier(_body(), _head(name))
    x = torch.rand(6, 2, generator=torch.Generator().manual_seed(5)) * 4 - 2
    y = torch.arange(6) % CLASSES
    for attribute, choose in (
        ("attack_objective", auto_objective),
        ("paper_attack_objective", paper_objective),
    ):
        key = getattr(OBJECTIVES[name], attribute)
        assert key in ATTACK_OBJECTIVES, f"{name}: {attribute} {key!r} is not an attack objective"
        chosen, declared = choose(model), ATTACK_OBJECTIVES[key](model.objective)
        values = chosen(model, x, y)
        assert tuple(values.shape) == (6,) and torch.isfinite(values).all(), (name, attribute)
        assert chosen.__name__ == declared.__name__, f"{name}: {choose.__name__} is not {key!r}"
        torch.testing.assert_close(values, declared(model, x, y), rtol=0, atol=0)


def check_spherical_loss(name: str) -> None:
    """``spherical_loss()``: if (centers, factor), the per-sample loss is factor ||z - mu_y||^2.

    ``sample_density`` then counts exact spheres ("sphere"), else it estimates volumes
    ("monte-carlo").
    """
    head = _head(name)
    spherical = head.spherical_loss()
    generator = torch.Generator().manual_seed(6)
    z = 2 * torch.randn(64, DIM, generator=generator)
    y = torch.randint(CLASSES, (64,), generator=generator)
    if spherical is not None:
        centers, factor = spherical
        assert tuple(centers.shape) == (CLASSES, DIM), f"{name}: spherical_loss centers"
        expected = factor * (z.double() - centers.double()[y]).pow(2).sum(dim=1)
        torch.testing.assert_close(
            per_sample_loss(head, float64=True)(z, y),
            expected,
            rtol=1e-12,
            atol=0,
            msg=f"{name}: spherical_loss() does not give the loss",
        )
    model = Classifier(torch.nn.Identity(), head)
    density = sample_density(model, z, y, num_shells=3, num_samples=1000)
    assert density.method == ("monte-carlo" if spherical is None else "sphere"), name


CHECKS = (
    check_declarations,
    check_decision,
    check_exact_boundary,
    check_softmax_flag,
    check_float64_loss,
    check_model_contract,
    check_attack_objectives,
    check_spherical_loss,
)


# -------------------------------------------------------------------------------------- every entry


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective(name, check):
    check(name)


@pytest.mark.parametrize("name", list(ENSEMBLE_OBJECTIVES))
def test_every_ensemble_objective(name):
    cls = ENSEMBLE_OBJECTIVES[name]
    assert cls.name == name and isinstance(cls.label, str) and cls.label
    assert name not in OBJECTIVES
    check_recipe(name, cls.authors_recipe)
    for recipe in ("paper", "fast"):
        assert (get_recipe(recipe, name).factor is not None) == cls.has_factor
    model = make_cifar_model("resnet8", name, width=4)
    assert isinstance(model, TrainableModel) and model.objective.name == name
    x = torch.rand(2, 3, 32, 32)
    assert tuple(model(x).shape) == (2, 10) and model.loss(x, torch.tensor([0, 1])).dim() == 0
    # what the head declares, cross-entropy on model(x) where it declares nothing (ADP)
    for attribute, choose in (
        ("attack_objective", auto_objective),
        ("paper_attack_objective", paper_objective),
    ):
        declared = getattr(model.objective, attribute, "cross-entropy")
        assert choose(model) is ATTACK_OBJECTIVES[declared](model.objective), (name, attribute)


def test_model_protocols_tell_the_kinds_of_model_apart():
    linear = torch.nn.Linear(2, 3)
    model = Classifier(ToyMLP(), _head("sce"))
    assert isinstance(linear, Predictor) and not isinstance(linear, FeatureModel)
    assert isinstance(model, FeatureModel) and isinstance(model, TrainableModel)
    assert not isinstance(object(), Predictor)


# ---------------------------------------------------------------------------------- a new objective


class NearestMean(Objective):
    """A dummy objective: learnable means, logits -||z - mu_k||^2, softmax cross-entropy on them.

    Its attacks' default is the logit margin, declared here only.
    """

    name, label = "nearest-mean", "Nearest mean"
    softmax_loss = True
    attack_objective = "margin"

    def __init__(self, num_classes: int, feature_dim: int):
        super().__init__(num_classes, feature_dim)
        self.means = torch.nn.Parameter(torch.randn(num_classes, feature_dim))

    @property
    def centers(self):
        return self.means

    def forward(self, z):
        return -squared_distances(z, self.means)

    def loss(self, z, h, y):
        return F.cross_entropy(h, y)

    def decision(self):
        return nearest_center_decision(self.means, 1.0)


def _register(monkeypatch, cls):
    monkeypatch.setitem(OBJECTIVES, cls.name, cls)
    return cls.name


def test_a_new_objective_is_picked_up_by_every_check(monkeypatch):
    name = _register(monkeypatch, NearestMean)
    for check in CHECKS:
        check(name)
    # no authors' recipe declared: the authors' recipe is refused, never the MMC authors' by default
    with pytest.raises(ValueError, match="'nearest-mean' has no authors' recipe"):
        get_recipe("authors", name)
    assert get_recipe("paper", name).name == "paper"
    # the attacks read its declared objectives: the margin by default, cross-entropy for the paper's
    model = make_model(gaussian_mixture(CLASSES, n_per_class=5, seed=0), name)
    assert auto_objective(model) is margin_objective
    assert paper_objective(model) is cross_entropy_objective


def test_the_checks_catch_an_objective_that_breaks_its_rules(monkeypatch):
    class WrongFlag(NearestMean):
        name, softmax_loss = "wrong-flag", False

    class WrongDecision(NearestMean):
        name = "wrong-decision"

        def decision(self):
            w, b = super().decision()
            return -w, -b

    class NoDecision(NearestMean):
        name = "no-decision"

        def decision(self):
            return None

    class BadRecipe(NearestMean):
        name, authors_recipe = "bad-recipe", "no-such-recipe"

    class UnknownAttack(NearestMean):
        name, attack_objective = "unknown-attack", "no-such-objective"

    class NotSpherical(NearestMean):
        name, paper_attack_objective = "not-spherical", "mmc"

    class FalseSphere(NearestMean):
        name = "false-sphere"

        def spherical_loss(self):
            return self.means, 1.0

    with pytest.raises(AssertionError, match="softmax_loss"):
        check_softmax_flag(_register(monkeypatch, WrongFlag))
    name = _register(monkeypatch, WrongDecision)
    with pytest.raises(AssertionError, match="decision"):
        check_decision(name)
    with pytest.raises(AssertionError, match="wrong-decision: exact predictions"):
        check_exact_boundary(name)
    name = _register(monkeypatch, NoDecision)
    with pytest.raises(AssertionError, match="returns None"):
        check_decision(name)
    with pytest.raises(TypeError, match="NoDecision head declares none"):
        check_exact_boundary(name)
    with pytest.raises(AssertionError, match="not a recipe"):
        check_declarations(_register(monkeypatch, BadRecipe))
    with pytest.raises(AssertionError, match="'no-such-objective' is not an attack objective"):
        check_attack_objectives(_register(monkeypatch, UnknownAttack))
    with pytest.raises(ValueError, match="known: cross-entropy, margin, mmc"):
        auto_objective(Classifier(_body(), UnknownAttack(CLASSES, DIM)))
    with pytest.raises(ValueError, match=r"NotSpherical.spherical_loss\(\) is None"):
        check_attack_objectives(_register(monkeypatch, NotSpherical))
    with pytest.raises(AssertionError, match="spherical_loss"):
        check_spherical_loss(_register(monkeypatch, FalseSphere))


# ------------------------------------------------------------------ attacks: robviz.attacks.__all__

NEW_ATTACK = '''
from robviz import checks
from robviz.attacks.base import Attack


class Nudge(Attack):
    """Repeated signed-gradient steps of eps / steps each: a new attack on the shared base."""

    def __init__(self, model, *, eps=0.1, steps=2, **options):
        super().__init__(model, **options)
        self.eps = self._check_eps(eps)
        self.steps = checks.integer("steps", steps, low=1)

    def forward(self, x, labels):
        x_adv = x
        for _ in range(self.steps):
            x_adv = self._clip(x_adv + self.eps / self.steps * self._gradient(x_adv, labels).sign())
        return x_adv
'''


def test_a_new_attack_gets_the_kind_wide_checks(monkeypatch, tmp_path):
    """A new attack in a module of its own, exported from robviz.attacks, gets the kind-wide checks.

    Exported like the others, test_edges.py's registry lists it, and its checks (non-finite inputs,
    an empty set, zero budgets) run on it unchanged.
    """
    import importlib

    import test_edges

    from robviz import attacks

    (tmp_path / "nudge_attack.py").write_text(NEW_ATTACK)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        attacks, "Nudge", importlib.import_module("nudge_attack").Nudge, raising=False
    )
    monkeypatch.setattr(attacks, "__all__", [*attacks.__all__, "Nudge"])
    assert "Nudge" in test_edges.attack_classes()
    assert test_edges.zero_budgets(["Nudge"]) == [("Nudge", "steps")]
    torch.manual_seed(0)
    data = gaussian_mixture(num_classes=3, n_per_class=20)
    blobs = data, make_model(data, "sce")
    for value in (math.nan, math.inf):
        test_edges.check_refuses_non_finite(blobs, "Nudge", value)
    test_edges.check_refuses_empty(blobs, "Nudge")
    test_edges.check_zero_budget_refused(blobs, "Nudge", "steps")


# ------------------------------------------------------------------------------ lessons: notebooks/


def test_a_new_lesson_is_picked_up_by_every_lesson_check(tmp_path):
    """A lesson added to notebooks/ is in the registry every lesson check reads.

    Those checks are the runs, the figure check, the gallery and the grading halves; the checks that
    need something of it say what is missing: a wrong answer to grade, a full-mode decision.
    """
    import shutil

    from grading_support import WRONG, ungraded
    from lesson_runs import LESSONS, NOTEBOOKS, lessons
    from lesson_runs import unaccounted

    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder)
    number = f"{int(LESSONS[-1][:2]) + 1:02d}"  # after the last lesson
    shutil.copy(folder / "00_start_here.ipynb", folder / f"{number}_new_lesson.ipynb")
    found = lessons(folder)
    assert found == [*LESSONS, f"{number}_new_lesson"]
    assert ungraded([name[:2] for name in found]) == [number]
    assert unaccounted(found) == [f"{number}_new_lesson"]
    assert ungraded([name[:2] for name in LESSONS]) == [] and unaccounted(LESSONS) == []
    assert set(WRONG) == {name[:2] for name in LESSONS}
