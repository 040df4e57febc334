"""Figures of the data and the fit, and of the cost per update.

* :func:`data_fit_figure` / :func:`predicted_actual_figure`: the data and the fit.
* :func:`loss_figure`: the cost per update (and the helpers that draw ``J − J*`` on a log axis,
  which the sweep and the animation share).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_is_fitted

from gradfit.plots._style import (
    DATA_COLOUR,
    FIT_COLOUR,
    LABEL_SIZE,
    LEGEND_SIZE,
    MAX_SCATTER_POINTS,
    OPTIMUM_COLOUR,
    TITLE_SIZE,
    TRUE_COLOUR,
    _design,
    _figure,
    _line,
    _save,
    _span,
    _thinned,
)

#: A loss curve whose largest and smallest values differ by more than this factor is drawn on a log axis.
LOG_SCALE_SPAN = 100.0
#: A cost is a sum of terms about as large as the largest cost of the run (its start), so its
#: distance to the optimum below this share of that cost is rounding, not progress: a curve of
#: J − J* is drawn down to this level, and dotted along it from where it gets there (a run judged
#: by its coefficients can go on long after its cost stops resolving the remaining steps).
COST_RESOLUTION = 64 * np.finfo(np.float64).eps

DATA_FIT_TITLE = "Data, true line and fitted line"
LOSS_TITLE = "Cost per gradient-descent update"
PREDICTED_TITLE = "Actual values against the model's predictions"


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
    the article records it); the last point is ``model.final_loss_``, where the model stands.

    When ``optimum_loss`` is given and the cost above it, ``J − J*``, spans more than
    ``LOG_SCALE_SPAN`` (two decades), the figure plots ``J − J*`` on a log axis instead: over
    thousands of updates the cost itself drops in a cliff and then looks flat, while on that axis
    steady progress is a straight line all the way down. Otherwise it plots ``J`` with the optimum
    as a dashed line, on a log axis when the costs themselves span more than two decades.

    Parameters
    ----------
    model : fitted LinearRegression (an iterative solver, so that it has a loss history)
    title : str
    optimum_loss : float, optional
        The least achievable cost (e.g. the exact solver's).

    Returns
    -------
    matplotlib.figure.Figure
        A figure on the Agg canvas (no pyplot state). ``figure.axes[0].get_yscale()`` says which
        axis it drew, and the y label says what is on it.

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
    marker = "o" if loss.size <= 50 else None
    made = f"{n_updates:,} update{'s' if n_updates != 1 else ''}"

    figure, axes = _figure()
    excess = _excess(loss, optimum_loss) if optimum_loss is not None else None
    if excess is not None and _spans_decades(excess):
        drawn, level, flat_from = _resolved(excess, loss)
        last = f"; last {_last_finite(drawn):.3g}" if flat_from is None else ""
        axes.plot(updates, drawn, color=FIT_COLOUR, linewidth=2.0, marker=marker, markersize=4,
                  label=f"cost above the optimum after k updates ({made}{last})")
        if flat_from is not None:
            axes.plot([flat_from, n_updates], [level, level], color=FIT_COLOUR, linewidth=2.0, linestyle=":",
                      label=f"from update {flat_from:,}: at the cost's rounding level")
        # The optimum is 0 on this axis, so it is named rather than drawn.
        axes.plot([], [], linestyle="none", label=f"optimum J(θ*) = {optimum_loss:.6g} (0 on this axis)")
        axes.set_yscale("log")
        axes.set_ylabel("cost above the optimum  J(θ) − J(θ*)  (log scale)", fontsize=LABEL_SIZE)
    else:
        axes.plot(updates, loss, color=FIT_COLOUR, linewidth=2.0, marker=marker, markersize=4,
                  label=f"cost after k updates ({made}; last {loss[-1]:.4g})")
        if optimum_loss is not None:
            axes.axhline(optimum_loss, color=OPTIMUM_COLOUR, linewidth=1.5, linestyle="--",
                         label=f"optimum: {optimum_loss:.4g}")
        if _spans_decades(loss):
            axes.set_yscale("log")
        axes.set_ylabel("cost  J(θ) = Σ r² / 2m", fontsize=LABEL_SIZE)
    axes.set_xlabel("updates made, k", fontsize=LABEL_SIZE)
    axes.margins(x=0.02)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, fontsize=TITLE_SIZE)
    axes.legend(loc="upper right", fontsize=LEGEND_SIZE, framealpha=0.9)
    return figure


def _excess(loss: NDArray[np.float64], optimum_loss: float) -> NDArray[np.float64]:
    """``J − J*``, with NaN where rounding leaves it at or below 0 (no logarithm there)."""
    with np.errstate(invalid="ignore", over="ignore"):
        excess = loss - optimum_loss
    return np.where(np.isfinite(excess) & (excess > 0), excess, np.nan)


def _resolved(excess: NDArray[np.float64], loss: NDArray[np.float64]) -> tuple[NDArray[np.float64], float, int | None]:
    """``excess`` (J − J*) up to where it first falls below the cost's rounding level (NaN from there
    on), that level (:data:`COST_RESOLUTION` times the largest finite cost), and the update at
    which it got there (None when it never does, or only at the last point's rounding)."""
    finite = loss[np.isfinite(loss)]
    level = COST_RESOLUTION * float(np.max(np.abs(finite))) if finite.size else 0.0
    with np.errstate(invalid="ignore"):
        below = np.flatnonzero(~(excess > level) & np.isfinite(loss))
    if not below.size or below[0] == 0:
        return excess, level, None
    drawn = excess.copy()
    drawn[below[0]:] = np.nan
    return drawn, level, int(below[0])


def _spans_decades(values: NDArray[np.float64]) -> bool:
    """Whether the positive finite values span more than LOG_SCALE_SPAN (a linear axis would flatten them)."""
    positive = values[np.isfinite(values) & (values > 0)]
    return bool(positive.size and positive.max() > LOG_SCALE_SPAN * positive.min())


def _last_finite(values: NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else math.nan


def plot_predicted_actual(X: ArrayLike, y: ArrayLike, model, path: str | Path, *, target_name: str = "y",
                          title: str = PREDICTED_TITLE) -> Path:
    """Write :func:`predicted_actual_figure` to ``path`` (parent folders created); returns ``path``."""
    return _save(predicted_actual_figure(X, y, model, target_name=target_name, title=title), path)


def predicted_actual_figure(X: ArrayLike, y: ArrayLike, model, *, target_name: str = "y",
                            title: str = PREDICTED_TITLE) -> Figure:
    """Each row's actual target against the model's prediction, with the diagonal of a perfect fit.

    The data-and-line picture of :func:`data_fit_figure` for any number of features.

    Parameters
    ----------
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    model : fitted estimator with ``predict``
    target_name : str
        Name of the target, for the axis labels.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_is_fitted(model)
    x, target = _design(X, y)
    predicted = x @ np.ravel(model.coef_) + float(model.intercept_)
    figure, axes = _figure()
    shown, label = _thinned(target.size)
    opacity = 0.75 if min(target.size, MAX_SCATTER_POINTS) <= 1000 else 0.35
    axes.scatter(predicted[shown], target[shown], s=28, color=DATA_COLOUR, alpha=opacity, edgecolors="none", label=label)
    low, high = _span(np.concatenate([predicted, target]))
    axes.plot([low, high], [low, high], color=TRUE_COLOUR, linewidth=2.0, label="perfect fit: actual = predicted")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal", adjustable="box")
    axes.set_xlabel(f"predicted {target_name}", fontsize=LABEL_SIZE)
    axes.set_ylabel(f"actual {target_name}", fontsize=LABEL_SIZE)
    axes.set_title(title, fontsize=TITLE_SIZE)
    axes.legend(loc="upper left", fontsize=LEGEND_SIZE, framealpha=0.9)
    return figure
