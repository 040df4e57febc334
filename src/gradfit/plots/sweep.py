"""The learning-rate sweep, drawn: the cost above the optimum per update, one curve per learning rate.

The sweep itself is run by :mod:`gradfit.learning` (:func:`~gradfit.learning.learning_rate_sweep`,
:func:`~gradfit.learning.sweep_learning_rates`); this module only draws it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gradfit.plots._style import LABEL_SIZE, LEGEND_SIZE, TITLE_SIZE, _figure, _save
from gradfit.plots.fit import _excess, _resolved

if TYPE_CHECKING:
    from gradfit.learning import LearningRateSweep

#: Colours of the sweep's runs, in order of learning rate; divergent runs are drawn dashed.
SWEEP_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
DIVERGED_COLOUR = "#d62728"
#: Colour of the note on the cost's rounding level.
ROUNDING_COLOUR = "#6b7280"

SWEEP_TITLE = "Learning-rate sweep: cost above the optimum at each learning rate"


def plot_sweep(sweep: LearningRateSweep, path: str | Path, *, title: str = SWEEP_TITLE, target_name: str = "y") -> Path:
    """Write :func:`sweep_figure` to ``path`` (parent folders created); returns ``path``."""
    return _save(sweep_figure(sweep, title=title, target_name=target_name), path)


def sweep_figure(sweep: LearningRateSweep, *, title: str = SWEEP_TITLE, target_name: str = "y") -> Figure:
    """The cost above the optimum, ``J(θ_k) − J(θ*)``, per update for each run of a sweep (log scale).

    On a log axis a run that converges at a constant rate is a straight line falling to the
    tolerance; one that diverges rises and ends in a cross where the blow-up was caught. The
    legend gives each learning rate, as a number and as a multiple of ``1/L``, its regime (too
    small, just right, overshoots, too large) and its verdict.

    Parameters
    ----------
    sweep : gradfit.learning.LearningRateSweep
    title : str
    target_name : str
        Name of the target, for the unit of the cost.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure, axes = _figure()
    colours = iter(SWEEP_COLOURS * (1 + len(sweep.runs) // len(SWEEP_COLOURS)))
    flattened = False
    for run in sweep.runs:
        # Rounding can leave the last costs a hair at or below the optimum: they have no logarithm.
        excess = _excess(run.loss, sweep.optimum_loss)
        updates = np.arange(excess.size)
        diverged = run.outcome == "diverged"
        flat_from = None
        if not diverged:  # a divergent run's cost only grows: nothing to resolve
            excess, level, flat_from = _resolved(excess, run.loss)
        colour = DIVERGED_COLOUR if diverged else next(colours)
        label = f"α = {run.learning_rate:.3g} ({run.factor:.2g}/L), {run.regime}: {run.verdict}"
        axes.plot(updates, excess, color=colour, linewidth=2.0, linestyle="--" if diverged else "-", label=label)
        last = np.flatnonzero(np.isfinite(excess))
        end_x, end_y = (updates[last[-1]], excess[last[-1]]) if last.size else (None, None)
        if flat_from is not None:
            # The run goes on below the cost's rounding level: dotted along it to where it stopped.
            axes.plot([flat_from, updates[-1]], [level, level], color=colour, linewidth=2.0, linestyle=":")
            end_x, end_y, flattened = updates[-1], level, True
        if end_x is not None:
            axes.plot(end_x, end_y, linestyle="none", marker="X" if diverged else "o",
                      markersize=10 if diverged else 6, color=colour, markeredgecolor="black", markeredgewidth=0.8)
    if flattened:
        axes.plot([], [], color=ROUNDING_COLOUR, linewidth=2.0, linestyle=":",
                  label="dotted: below the cost's rounding level, while the coefficients still settle")
    axes.set_yscale("log")
    axes.set_xlabel("updates made, k", fontsize=LABEL_SIZE)
    axes.set_ylabel(f"cost above the optimum  J(θ) − J(θ*)  (units of {target_name}²)", fontsize=LABEL_SIZE)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.margins(x=0.02)
    axes.set_title(
        f"{title}\nL = {sweep.lipschitz:.3g}: 1/L = {sweep.auto_learning_rate:.3g}, stable below 2/L = "
        f"{sweep.stable_bound:.3g}",
        fontsize=TITLE_SIZE,
    )
    axes.legend(loc="upper right", fontsize=LEGEND_SIZE - 1, framealpha=0.9)
    return figure
