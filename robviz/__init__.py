"""robviz: interactive lessons on robust machine learning in the adversarial setting.

Core modules: ``centers`` (Max-Mahalanobis centers), ``objectives`` (SCE, center loss, L-GM, MMLDA,
MMC, RCE), ``data``, ``models``, ``train`` (fit, History, checkpoints), ``adversarial`` (PGD
adversarial training, TRADES), ``regions`` (decision regions), ``shell_density`` (the sample density
of trained models, measured), ``landscape`` (losses on a 2-D feature grid, g-SCE contours),
``embed`` (t-SNE, PCA), ``ensemble`` (ADP), ``mixup_inference``, ``masking`` (gradient-masking
checks), ``runtime`` (device, mode, how models are run), ``checks`` (argument checks).

Wings: ``attacks`` (one class per attack, robust-accuracy tables, the battery's sanity), ``exact``
(the truth: exact boundaries in 2-D, exact verdicts by MILP, certified bounds), ``detect``
(confidence, non-ME, kernel density, LID, ROC/AUC, the detection study), ``theory`` (the talk's
theorems, one module per paper), ``viz`` (plotly figures), ``widgets`` (ipywidgets dashboards),
``exercises`` (self-checks with hints), ``course`` (nbgrader course, student versions, the static
gallery), ``scale`` (CIFAR ResNets at scale). The ``robviz`` command (``cli``): ``train``,
``evaluate`` and ``table`` over ``scale``; ``student``, ``course init`` and ``gallery`` over
``course``. ``docs/design.md`` draws the house. The old top-level names of moved modules
(``robviz.resnet``, ``robviz.detection_study``, ...) still import, with a ``DeprecationWarning``, in
this release only.
"""

from . import attacks, detect, embed, exercises, theory
from .adversarial import AdversarialTraining
from .centers import mm_centers
from .data import Dataset, load_dataset
from .models import Classifier, make_model
from .objectives import OBJECTIVES, make_objective
from .runtime import full_mode, pick_device, seed_everything, setup
from .train import History, TrainConfig, fit

__version__ = "0.1.0"
__all__ = [
    "attacks",
    "detect",
    "embed",
    "exercises",
    "theory",
    "mm_centers",
    "Dataset",
    "load_dataset",
    "Classifier",
    "make_model",
    "OBJECTIVES",
    "make_objective",
    "full_mode",
    "pick_device",
    "seed_everything",
    "setup",
    "History",
    "TrainConfig",
    "fit",
    "AdversarialTraining",
]
