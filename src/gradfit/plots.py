"""Figures of a fitted model: the data with the fitted line, and the cost per update.

The only module that imports matplotlib. It draws on ``matplotlib.figure.Figure`` objects with the
Agg canvas, never pyplot, so it touches no global figure state and needs no display. The functions
read a fitted model's attributes and history; they never refit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_data_fit", "plot_loss", "data_fit_figure", "loss_figure"]

#: Figure size in inches and resolution: 960 × 720 pixels.
FIGSIZE = (8.0, 6.0)
DPI = 120

#: Font sizes in points.
TITLE_SIZE = 14
LABEL_SIZE = 12
TICK_SIZE = 11
LEGEND_SIZE = 11

#: A loss curve whose largest and smallest values differ by more than this factor is drawn on a log axis.
LOG_SCALE_SPAN = 100.0

#: Most data points drawn in a scatter (evenly spaced in row order beyond that), to keep files small.
MAX_SCATTER_POINTS = 5000

DATA_COLOUR = "#2ca02c"
TRUE_COLOUR = "#d62728"
FIT_COLOUR = "#1f77b4"
OPTIMUM_COLOUR = "#555555"

DATA_FIT_TITLE = "Data, true line and fitted line"
LOSS_TITLE = "Cost per gradient-descent update"


def plot_data_fit(
    X: ArrayLike,
    y: ArrayLike,
    model,
    path: str | Path,
    *,
    true_line: tuple[float, float] | None = (2.0, 1.0),
    title: str = DATA_FIT_TITLE,
) -> Path:
    """Write :func:`data_fit_figure` to ``path``.

    Parameters
    ----------
    X, y, model, true_line, title
        As for :func:`data_fit_figure`.
    path : str or Path
        File to write; its suffix picks the format (``.png``, ``.svg``, ``.pdf``). Parent folders are
        created; no other file is touched.

    Returns
    -------
    Path
        ``path``.
    """
    return _save(data_fit_figure(X, y, model, true_line=true_line, title=title), path)


def data_fit_figure(
    X: ArrayLike,
    y: ArrayLike,
    model,
    *,
    true_line: tuple[float, float] | None = (2.0, 1.0),
    title: str = DATA_FIT_TITLE,
) -> Figure:
    """Scatter of one-feature data with the true line ``y = slope·x + intercept`` and the model's line.

    Parameters
    ----------
    X : array-like of shape (m, 1)
    y : array-like of shape (m,)
    model : fitted estimator with ``coef_`` of shape (1,) and ``intercept_``
    true_line : (slope, intercept) or None, default=(2.0, 1.0)
        The line the data were drawn from (the article's ``y = 2x + 1``); None leaves it out.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        A figure on the Agg canvas (no pyplot state).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.
    ValueError
        When X does not have exactly one feature, or X and y differ in length.
    """
    check_is_fitted(model)
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"plot_data_fit draws one feature; X has shape {np.shape(X)}")
    target = np.asarray(y, dtype=np.float64).reshape(-1)
    if target.shape[0] != x.shape[0]:
        raise ValueError(f"X has {x.shape[0]} rows but y has {target.shape[0]}")
    slope, intercept = float(np.ravel(model.coef_)[0]), float(model.intercept_)

    figure, axes = _figure()
    if x.size > MAX_SCATTER_POINTS:
        shown = np.unique(np.linspace(0, x.size - 1, MAX_SCATTER_POINTS).astype(int))
        label = f"data ({shown.size} of {x.size} points)"
    else:
        shown, label = slice(None), f"data ({x.size} points)"
    # Dense clouds get lighter points so that the lines stay visible through them.
    opacity = 0.75 if min(x.size, MAX_SCATTER_POINTS) <= 1000 else 0.35
    axes.scatter(x[shown], target[shown], s=28, color=DATA_COLOUR, alpha=opacity, edgecolors="none", label=label)
    grid = np.linspace(x.min(), x.max(), 2) if x.size else np.array([0.0, 1.0])
    if true_line is not None:
        true_slope, true_intercept = true_line
        axes.plot(
            grid, true_slope * grid + true_intercept, color=TRUE_COLOUR, linewidth=2.5,
            label=f"true line: {_line(true_slope, true_intercept)}",
        )
    axes.plot(
        grid, slope * grid + intercept, color=FIT_COLOUR, linewidth=2.5, linestyle="--",
        label=f"fitted line: {_line(slope, intercept)}",
    )
    axes.set_xlabel("x", fontsize=LABEL_SIZE)
    axes.set_ylabel("y", fontsize=LABEL_SIZE)
    axes.set_title(title, fontsize=TITLE_SIZE)
    # A rising line leaves the upper left empty, a falling one the upper right.
    axes.legend(loc="upper left" if slope >= 0 else "upper right", fontsize=LEGEND_SIZE, framealpha=0.9)
    return figure


def plot_loss(
    model,
    path: str | Path,
    *,
    title: str = LOSS_TITLE,
    optimum_loss: float | None = None,
) -> Path:
    """Write :func:`loss_figure` to ``path``.

    Parameters
    ----------
    model, title, optimum_loss
        As for :func:`loss_figure`.
    path : str or Path
        File to write; its suffix picks the format. Parent folders are created; no other file is touched.

    Returns
    -------
    Path
        ``path``.
    """
    return _save(loss_figure(model, title=title, optimum_loss=optimum_loss), path)


def loss_figure(model, *, title: str = LOSS_TITLE, optimum_loss: float | None = None) -> Figure:
    """The cost ``J(θ_k) = Σr²/2m`` after ``k`` updates, for ``k = 0 … n_iter_``.

    Points ``0 … n_iter_ − 1`` are ``model.loss_history_`` (the cost recorded before each update, as
    the article records it); the last point is ``model.final_loss_``, where the model stands. The y
    axis is logarithmic when the costs span more than ``LOG_SCALE_SPAN`` (two decades).

    Parameters
    ----------
    model : fitted LinearRegression (an iterative solver, so that it has a loss history)
    title : str
    optimum_loss : float, optional
        The least achievable cost (e.g. the exact solver's), drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
        A figure on the Agg canvas (no pyplot state).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.
    ValueError
        When the model was solved directly (``solver="exact"``), so there is no history.
    """
    check_is_fitted(model)
    if getattr(model, "status_", None) == "exact" or not hasattr(model, "loss_history_"):
        raise ValueError(
            "the model has no loss history to plot: it was solved directly "
            f"(solver={getattr(model, 'solver', '?')!r}), not by iterating"
        )
    loss = np.append(np.asarray(model.loss_history_, dtype=np.float64), float(model.final_loss_))
    updates = np.arange(loss.size)
    n_updates = loss.size - 1

    figure, axes = _figure()
    axes.plot(
        updates, loss, color=FIT_COLOUR, linewidth=2.0, marker="o" if loss.size <= 50 else None, markersize=4,
        label=f"cost after k updates ({n_updates} update{'s' if n_updates != 1 else ''}; last {loss[-1]:.4g})",
    )
    if optimum_loss is not None:
        axes.axhline(
            optimum_loss, color=OPTIMUM_COLOUR, linewidth=1.5, linestyle="--", label=f"optimum: {optimum_loss:.4g}"
        )
    positive = loss[np.isfinite(loss) & (loss > 0)]
    if positive.size and positive.max() > LOG_SCALE_SPAN * positive.min():
        axes.set_yscale("log")
    axes.set_xlabel("updates made, k", fontsize=LABEL_SIZE)
    axes.set_ylabel("cost  J(θ) = Σ r² / 2m", fontsize=LABEL_SIZE)
    axes.margins(x=0.02)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=TITLE_SIZE)
    axes.legend(loc="upper right", fontsize=LEGEND_SIZE, framealpha=0.9)
    return figure


def _figure():
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.tick_params(labelsize=TICK_SIZE)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path


def _line(slope: float, intercept: float) -> str:
    sign = "-" if intercept < 0 else "+"
    return f"y = {slope:.4g}x {sign} {abs(intercept):.4g}"
