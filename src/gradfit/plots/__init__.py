"""Figures of a fitted model, and the learners' toolkit that shows why gradient descent works.

* :func:`data_fit_figure` / :func:`predicted_actual_figure`: the data and the fit (:mod:`.fit`).
* :func:`loss_figure`: the cost per update (:mod:`.fit`).
* :func:`loss_surface`: the cost "bowl" over two coordinates, with the path of the iterates (:mod:`.surface`).
* :func:`sweep_figure`: one problem at several learning rates (:mod:`.sweep`; the sweep itself is
  run by :func:`gradfit.learning.learning_rate_sweep`).
* :func:`animate_fit`: an animated GIF of the line moving while the cost falls (:mod:`.animation`).
* Sizes, colours and the shared helpers: :mod:`._style`.

The only package that imports matplotlib. It draws on ``matplotlib.figure.Figure`` objects with the
Agg canvas, never pyplot, so it touches no global figure state and needs no display. The figure
functions read a fitted model's attributes and history (``path_`` for the path, which the model
keeps when fitted with ``record_path=True``); they never fit.
"""

from __future__ import annotations

from gradfit.plots._style import png_bytes
from gradfit.plots.animation import animate_fit
from gradfit.plots.fit import (
                               data_fit_figure,
                               loss_figure,
                               plot_data_fit,
                               plot_loss,
                               plot_predicted_actual,
                               predicted_actual_figure,
)
from gradfit.plots.surface import loss_surface, moved_most, plot_loss_surface
from gradfit.plots.sweep import plot_sweep, sweep_figure

__all__ = [
    "animate_fit",
    "data_fit_figure",
    "loss_figure",
    "loss_surface",
    "moved_most",
    "plot_data_fit",
    "plot_loss",
    "plot_loss_surface",
    "plot_predicted_actual",
    "plot_sweep",
    "png_bytes",
    "predicted_actual_figure",
    "sweep_figure",
]
