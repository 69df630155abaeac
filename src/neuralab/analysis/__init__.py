"""Plots in scikit-learn's Display style: decision boundaries, learning curves, LR tests.

Importing this package imports neither Keras nor matplotlib.
"""

from neuralab.analysis.curves import LearningCurvesDisplay as LearningCurvesDisplay
from neuralab.analysis.decision_boundary import DecisionBoundaryDisplay as DecisionBoundaryDisplay
from neuralab.analysis.decision_boundary import plot_boundary_panels as plot_boundary_panels
from neuralab.analysis.decision_boundary import plot_decision_boundaries as plot_decision_boundaries
from neuralab.analysis.figures import figure_to_png as figure_to_png
from neuralab.analysis.figures import save_figure as save_figure
from neuralab.analysis.lr_plot import LRRangeDisplay as LRRangeDisplay

__all__ = [
    "DecisionBoundaryDisplay",
    "LRRangeDisplay",
    "LearningCurvesDisplay",
    "figure_to_png",
    "plot_boundary_panels",
    "plot_decision_boundaries",
    "save_figure",
]
