"""Adversarial attacks, attack objectives and robust-accuracy tables.

One small class per attack on a shared base (torchattacks-style).

    attack = PGD(model, eps=8/255, alpha=2/255, steps=10, random_start=True)
    x_adv = attack(x, y)
    # x_adv, success, trajectory (inputs, features, objective)
    result = attack.run(x, y, record=True)

| family | attacks | distance |
|---|---|---|
| gradient, radius eps | FGSM, BIM, PGD, ILCM, MIM (``gradient.py``) | L-inf (PGD and BIM also L2) |
| gradient-free, radius eps | SPSA (``spsa.py``) | L-inf |
| smallest perturbation | CW, EAD (``cw.py``), DeepFool, JSMA (own files) | L2, L1, L2, L0 |
| adaptive, radius eps | APGD, ``auto_attack`` (``apgd.py``) | L-inf |

Randomized models (``eot.py``): :class:`EOT` wraps one as its mean over draws, which any attack
then attacks; :func:`eot_objective` is the same as an objective.

Objectives (``loss=``): :func:`cross_entropy_objective`, :func:`margin_objective`,
:func:`mmc_objective`, :func:`dlr_objective` (APGD's DLR loss); :func:`auto_objective`, every
attack's default, picks the strongest measured one for a robviz model
(the margin for MMC), :func:`paper_objective` the papers' adaptive one (the MMC loss for MMC).
Evaluation: :func:`robust_accuracy`, :func:`talk_battery`, :class:`RobustnessTable`
(``with_worst_case``: the worst case over the battery, per point); :func:`battery_sanity`
(``sanity.py``) flags a multi-step attack weaker than FGSM.
"""

from .apgd import (
    APGD,
    AutoAttackResult,
    apgd_checkpoints,
    auto_attack,
    dlr_loss,
    dlr_objective,
    dlr_targeted_loss,
)
from .base import Attack, AttackResult, Trajectory, least_likely, lp_norm, random_target
from .cw import CW, EAD
from .deepfool import DeepFool
from .eot import EOT, eot_objective
from .evaluate import (
    TALK_EPS,
    RobustnessTable,
    judged_predictions,
    robust_accuracy,
    talk_battery,
)
from .gradient import BIM, FGSM, ILCM, MIM, PGD
from .jsma import JSMA
from .objectives import (
    auto_objective,
    cross_entropy_objective,
    margin_objective,
    mmc_objective,
    paper_objective,
)
from .sanity import BatteryCheck, battery_sanity
from .spsa import SPSA

__all__ = [
    "Attack",
    "AttackResult",
    "Trajectory",
    "least_likely",
    "lp_norm",
    "random_target",
    "FGSM",
    "BIM",
    "PGD",
    "ILCM",
    "MIM",
    "CW",
    "EAD",
    "JSMA",
    "DeepFool",
    "SPSA",
    "cross_entropy_objective",
    "margin_objective",
    "mmc_objective",
    "paper_objective",
    "auto_objective",
    "TALK_EPS",
    "talk_battery",
    "robust_accuracy",
    "judged_predictions",
    "RobustnessTable",
    "battery_sanity",
    "BatteryCheck",
    "APGD",
    "auto_attack",
    "AutoAttackResult",
    "apgd_checkpoints",
    "dlr_loss",
    "dlr_targeted_loss",
    "dlr_objective",
    "EOT",
    "eot_objective",
]
