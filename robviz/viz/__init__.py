"""Plotly figures from recorded tensors.

Nothing here trains or attacks: pass it what robviz computed.

One namespace: every builder of every ``robviz.viz`` module, and the shared style, is
``robviz.viz.<name>`` (lessons write ``viz.roc_figure(...)``, never
``robviz.viz.detection.roc_figure``).
"""

from .adversarial import accuracy_lines, boundary_animation
from .attacks import attack_animation, ball_outline, distance_histogram, robustness_heatmap
from .curves import training_curves
from .density import (
    convergence_figure,
    curse_of_softmax_animation,
    density_heatmap_animation,
    loss_contours_figure,
    sample_density_figure,
    shell_density_figure,
)
from .detection import detection_table, embedding_animation, non_me_domain_figure, roc_figure
from .ensemble import (
    adp_optimum_figure,
    diversity_figure,
    ternary_animation,
    transferability_heatmap,
)
from .exact import boundary_trace, bounds_sandwich, distance_scatter, exact_vs_attacks
from .features import feature_animation, feature_figure, feature_panels
from .inputs import figure_mapping, figure_record, figure_series, figure_values
from .masking import (
    box_comparison_figure,
    eps_curve_figure,
    loss_line_figure,
    loss_surface_figure,
    steps_curve_figure,
)
from .mixup import mixing_animation
from .style import (
    CLASS_COLORS,
    INK,
    MAX_HEIGHT,
    MAX_PLAY_HEIGHT,
    MAX_WIDTH,
    NAMED_COLORS,
    OBJECTIVE_LABELS,
    SERIES_COLORS,
    TEMPLATE,
    animate,
    animation_controls,
    class_color,
    class_count,
    distinct_labels,
    fit_layout,
    frame_duration,
    legend_row_count,
    math_text,
    named_color,
    plot_array,
    series_color,
    series_colors,
    series_dash,
)
from .theory import centers_figure, expected_distance_figure, robustness_comparison_figure

__all__ = [
    # attacks, curves, exact, features
    "attack_animation",
    "ball_outline",
    "distance_histogram",
    "robustness_heatmap",
    "training_curves",
    "exact_vs_attacks",
    "distance_scatter",
    "boundary_trace",
    "bounds_sandwich",
    "feature_animation",
    "feature_figure",
    "feature_panels",
    # adversarial training
    "boundary_animation",
    "accuracy_lines",
    # theory (ICML 2018), density (ICLR 2020)
    "centers_figure",
    "expected_distance_figure",
    "robustness_comparison_figure",
    "loss_contours_figure",
    "curse_of_softmax_animation",
    "density_heatmap_animation",
    "shell_density_figure",
    "sample_density_figure",
    "convergence_figure",
    # detection, ensembles, Mixup Inference, gradient masking
    "embedding_animation",
    "non_me_domain_figure",
    "roc_figure",
    "detection_table",
    "ternary_animation",
    "diversity_figure",
    "transferability_heatmap",
    "adp_optimum_figure",
    "mixing_animation",
    "eps_curve_figure",
    "steps_curve_figure",
    "box_comparison_figure",
    "loss_line_figure",
    "loss_surface_figure",
    # the one check of figure data
    "figure_series",
    "figure_mapping",
    "figure_record",
    "figure_values",
    # the shared style
    "CLASS_COLORS",
    "SERIES_COLORS",
    "TEMPLATE",
    "OBJECTIVE_LABELS",
    "INK",
    "MAX_WIDTH",
    "MAX_PLAY_HEIGHT",
    "MAX_HEIGHT",
    "class_color",
    "class_count",
    "distinct_labels",
    "series_color",
    "NAMED_COLORS",
    "named_color",
    "series_colors",
    "series_dash",
    "math_text",
    "plot_array",
    "fit_layout",
    "legend_row_count",
    "animation_controls",
    "animate",
    "frame_duration",
]
