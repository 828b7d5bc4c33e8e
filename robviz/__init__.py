"""robviz: interactive lessons on robust machine learning in the adversarial setting.

Modules: ``centers`` (Max-Mahalanobis centers), ``objectives`` (SCE, center loss, L-GM, MMLDA, MMC, RCE),
``data``, ``models``, ``train`` (fit, History, checkpoints), ``adversarial`` (PGD adversarial training, TRADES),
``regions`` (decision regions), ``attacks`` (one class per attack, robust-accuracy tables), ``theory`` (the
talk's theorems, one module per paper), ``shell_density``
(the sample density of trained models, measured), ``detect`` (confidence, non-ME, kernel density, LID, ROC/AUC),
``embed`` (t-SNE, PCA), ``ensemble`` (ADP), ``mixup_inference``, ``masking``, ``viz`` (plotly figures),
``widgets`` (ipywidgets dashboards), ``runtime`` (device and mode), ``resnet``, ``cifar``, ``recipes``, ``scale``
and ``cli`` (CIFAR ResNets at scale, in Python and from the command line), ``exercises`` (self-checks with hints),
``course`` (student versions) and ``gallery`` (the static site).
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
__all__ = ["attacks", "detect", "embed", "exercises", "theory", "mm_centers", "Dataset", "load_dataset",
           "Classifier", "make_model", "OBJECTIVES", "make_objective", "full_mode", "pick_device", "seed_everything",
           "setup", "History", "TrainConfig", "fit", "AdversarialTraining"]
