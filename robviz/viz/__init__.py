"""Plotly figures from recorded tensors. Nothing here trains or attacks: pass it what robviz computed."""

from .attacks import attack_animation, ball_outline, distance_histogram, robustness_heatmap
from .curves import training_curves
from .exact import boundary_trace, distance_scatter, exact_vs_attacks
from .features import animation_controls, feature_animation, feature_figure, feature_panels
from .mixup import mixing_animation
from .style import CLASS_COLORS, SERIES_COLORS, animate, class_color, fit_layout, series_color

__all__ = ["attack_animation", "ball_outline", "distance_histogram", "robustness_heatmap", "training_curves",
           "exact_vs_attacks", "distance_scatter", "boundary_trace", "feature_animation", "feature_figure",
           "feature_panels", "animation_controls", "mixing_animation", "CLASS_COLORS", "SERIES_COLORS",
           "class_color", "series_color", "animate", "fit_layout"]
