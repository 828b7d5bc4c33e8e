"""The theory behind the lessons, as pure functions, one module per paper.

Each docstring gives the formula, the paper and the shapes.

* :mod:`robviz.theory.robustness`: robustness of the Max-Mahalanobis distribution (T. Pang, C. Du,
  J. Zhu, "Max-Mahalanobis Linear Discriminant Analysis Networks", ICML 2018):
  :func:`expected_distance`, :func:`mahalanobis_distances`, :func:`expected_robustness`,
  :func:`robustness_bound`, :func:`monte_carlo_expected_distance`.
* :mod:`robviz.theory.density`: sample density (T. Pang, K. Xu, Y. Dong, C. Du, N. Chen, J. Zhu,
  "Rethinking Softmax Cross-Entropy Loss for Adversarial Robustness", ICLR 2020): the formulas
  :func:`mmc_sample_density` (Theorem 2), :func:`gsce_contour` and :func:`gsce_sample_density`
  (Theorem 1); the volumes :func:`log_ball_volume` and :func:`mmc_shell_log_volume`.
* :mod:`robviz.theory.adp`: Adaptive Diversity Promoting (T. Pang, K. Xu, C. Du, N. Chen, J. Zhu,
  "Improving Adversarial Robustness via Promoting Ensemble Diversity", ICML 2019):
  :func:`adp_optimum` (Eq. 7) and :func:`adp_optimal_predictions` (Corollary 1, Eq. 8).

The estimators that measure the sample density of a trained model (``sample_density``,
``mmc_shell_density``, ``monte_carlo_shell_density``) are in :mod:`robviz.shell_density`, and the
per-sample loss they use is :func:`robviz.objectives.per_sample_loss`.

Conventions: scalar formulas take a float or a tensor and return the same kind; computations run in
float64. Volumes and densities in d dimensions span hundreds of orders of magnitude (a 64-d shell),
so they are computed in log-space and every density function can return its logarithm.
"""

from .adp import adp_optimal_predictions, adp_optimum
from .density import (
    Sphere,
    gsce_contour,
    gsce_sample_density,
    log_ball_volume,
    mmc_sample_density,
    mmc_shell_log_volume,
)
from .robustness import (
    MonteCarloEstimate,
    expected_distance,
    expected_robustness,
    mahalanobis_distances,
    monte_carlo_expected_distance,
    robustness_bound,
)

__all__ = [
    "expected_distance",
    "mahalanobis_distances",
    "expected_robustness",
    "robustness_bound",
    "MonteCarloEstimate",
    "monte_carlo_expected_distance",
    "log_ball_volume",
    "mmc_shell_log_volume",
    "mmc_sample_density",
    "Sphere",
    "gsce_contour",
    "gsce_sample_density",
    "adp_optimum",
    "adp_optimal_predictions",
]
