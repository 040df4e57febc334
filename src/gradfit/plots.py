"""Figures of a fitted model, and the learners' toolkit that shows why gradient descent works.

* :func:`data_fit_figure` / :func:`predicted_actual_figure`: the data and the fit.
* :func:`loss_figure`: the cost per update.
* :func:`loss_surface`: the cost "bowl" over two coordinates, with the path of the iterates.
* :func:`learning_rate_sweep` / :func:`sweep_figure`: one problem at several learning rates.
* :func:`animate_fit`: an animated GIF of the line moving while the cost falls.

The only module that imports matplotlib. It draws on ``matplotlib.figure.Figure`` objects with the
Agg canvas, never pyplot, so it touches no global figure state and needs no display. The figure
functions read a fitted model's attributes and history (``path_`` for the path, which the model
keeps when fitted with ``record_path=True``); they never refit. Only :func:`learning_rate_sweep`
fits, because running the sweep is what it is asked to do.
"""

from __future__ import annotations

import math
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from gradfit.learning import LearningRateSweep

__all__ = [
    "animate_fit",
    "data_fit_figure",
    "learning_rate_sweep",
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
#: A cost is a sum of terms about as large as the largest cost of the run (its start), so its
#: distance to the optimum below this share of that cost is rounding, not progress: a curve of
#: J − J* is drawn down to this level, and dotted along it from where it gets there (a run judged
#: by its coefficients can go on long after its cost stops resolving the remaining steps).
COST_RESOLUTION = 64 * np.finfo(np.float64).eps
#: Colour of the note on the cost's rounding level.
ROUNDING_COLOUR = "#6b7280"

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


# --- the learners' toolkit -----------------------------------------------------------------------

#: Colours of the toolkit's figures.
PATH_COLOUR = "#ff3b30"
START_COLOUR = "#ffffff"
STAR_COLOUR = "#ffd60a"
SURFACE_COLOURMAP = "viridis"
#: Colours of the sweep's runs, in order of learning rate; divergent runs are drawn dashed.
SWEEP_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
DIVERGED_COLOUR = "#d62728"

#: Grid of the cost surface (points per axis), its filled levels, and the share of the plotted
#: span added on each side of the path and optimum.
SURFACE_GRID_POINTS = 161
SURFACE_LEVELS = 24
SURFACE_MARGIN = 0.18
#: A coordinate that moved less than this share of the bowl's natural width (where the cost rises by
#: J*) is drawn at that width, the path flat along it: zoomed in, the picture would show rounding.
FLAT_MOVE = 1e-3
#: Drawing order of the path and its markers: above the contours and the optimum's star.
PATH_ZORDER = 5
#: Size of the surface figure without and with the 3D view (below the contours, so that the figure
#: keeps its fonts readable when shown at the width of a page).
SURFACE_FIGSIZE = (8.0, 6.0)
SURFACE_3D_FIGSIZE = (8.0, 12.5)
#: Iterates drawn as dots along a long path, and the longest path whose iterates all get a dot (the
#: line itself passes through all kept iterates).
PATH_DOTS = 40
PATH_DOTS_ALL = 150

#: Frames, pace and size of the fit animation (kept small: it is embedded in the HTML report).
ANIMATION_FRAMES = 30
ANIMATION_FPS = 5
ANIMATION_FIGSIZE = (10.0, 4.2)
ANIMATION_DPI = 96
#: Most ticks on the animation's update axis.
ANIMATION_TICKS = 5
#: Extra copies of the last frame, so that the loop pauses on the result before starting again.
ANIMATION_HOLD_FRAMES = 4

SURFACE_TITLE = "The cost bowl J(θ) and the path of gradient descent"
SWEEP_TITLE = "Learning-rate sweep: cost above the optimum at each learning rate"
PREDICTED_TITLE = "Actual values against the model's predictions"

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


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


def plot_loss_surface(model, X: ArrayLike, y: ArrayLike, path: str | Path, **options) -> Path:
    """Write :func:`loss_surface` to ``path`` (parent folders created); ``options`` as for it. Returns ``path``."""
    return _save(loss_surface(model, X, y, **options), path)


def loss_surface(
    model,
    X: ArrayLike,
    y: ArrayLike,
    *,
    coordinates: tuple[int | str, int | str] | None = None,
    view_3d: bool = False,
    feature_names: Sequence[str] | None = None,
    target_name: str = "y",
    title: str | None = None,
) -> Figure:
    """The cost ``J(θ) = Σ(θ₀ + x·θ_{1:} − y)²/2m`` over two coordinates, with the path of the iterates.

    For one feature the two coordinates are the intercept ``θ₀`` and the slope ``θ₁``, and the
    picture is the whole "bowl" of the article, drawn as filled contours (and, with ``view_3d``, as
    a surface below them). For more features it is a slice through the exact optimum ``θ*``: the
    two chosen coordinates vary and the others stay at their optimal values; the path is then the
    iterates' shadow on that plane. By default the plane is that of the two parameters whose moves
    along the path changed the predictions most (see :func:`moved_most`), and the box holds the
    start, the path and the optimum, so the path shows rather than hiding under the optimum's star
    (which is drawn below it).

    The cost is computed from the second moments in the user's units, exactly and without
    cancellation near the bottom: ``J(θ) = J(θ*) + ½ δᵀ G δ`` with ``δ = θ − θ*`` in the two
    coordinates and ``G`` their block of ``ZᵀZ/m``, ``Z = [1, X]``. An L1/L2 penalty is not drawn.

    Parameters
    ----------
    model : fitted LinearRegression
        Fitted with ``record_path=True`` to show the path (``path_``); without one, only the start
        is unknown and the fitted model is marked alone.
    X : array-like of shape (m, d)
        The training features.
    y : array-like of shape (m,)
    coordinates : pair of int or str, optional
        Which parameters span the plane: 0 is the intercept, ``j ≥ 1`` the coefficient of feature
        ``j − 1``; a string names a feature (or ``"intercept"``). Default: intercept and slope for
        one feature, else :func:`moved_most`.
    view_3d : bool, default=False
        Add a 3D view of the surface, with the path on it.
    feature_names : sequence of str, optional
        Names of the features, for the labels (default: the model's, or ``x`` / ``x0, x1, …``).
    target_name : str, default="y"
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    sklearn.exceptions.NotFittedError
    ValueError
        Bad coordinates, or X and y that do not match each other or the model.
    """
    check_is_fitted(model)
    x, target = _design(X, y)
    n_features = x.shape[1]
    if n_features != np.ravel(model.coef_).size:
        raise ValueError(f"X has {n_features} features but the model was fitted on {np.ravel(model.coef_).size}")
    names = _feature_names(model, feature_names, n_features)
    if coordinates is None:
        coordinates = moved_most(model, x)
    first, second = (_coordinate(item, names) for item in coordinates)
    if first == second:
        raise ValueError(f"coordinates must be two different parameters; got {coordinates!r}")
    chosen = [first, second]

    from gradfit.solvers.exact import solve_exact

    coef_star, intercept_star = solve_exact(x, target, fit_intercept=bool(getattr(model, "fit_intercept", True)))
    theta_star = np.concatenate([[intercept_star], coef_star])
    residual = x @ coef_star + intercept_star - target
    loss_star = float(residual @ residual / (2 * target.size))
    columns = np.column_stack([np.ones(target.size) if index == 0 else x[:, index - 1] for index in chosen])
    gram = columns.T @ columns / target.size

    model_point = np.concatenate([[float(model.intercept_)], np.ravel(model.coef_)])
    history = getattr(model, "loss_history_", None)
    # The costs in the legend are the model's own (all coordinates), not the slice's.
    start_cost = float(history[0]) if history is not None and len(history) else math.nan
    final_cost = float(model.final_loss_)
    path = getattr(model, "path_", None)
    iterations = getattr(model, "path_iterations_", None)
    points = path[:, chosen] if path is not None else model_point[chosen][None, :]
    axes_ranges = [_surface_range(points[:, axis], theta_star[chosen[axis]], gram[axis, axis], loss_star,
                                  moved=path is not None) for axis in range(2)]
    grid_a = np.linspace(*axes_ranges[0], SURFACE_GRID_POINTS)
    grid_b = np.linspace(*axes_ranges[1], SURFACE_GRID_POINTS)
    mesh_a, mesh_b = np.meshgrid(grid_a, grid_b)

    def cost(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        da, db = a - theta_star[first], b - theta_star[second]
        excess = 0.5 * (gram[0, 0] * da * da + 2 * gram[0, 1] * da * db + gram[1, 1] * db * db)
        return loss_star + np.maximum(excess, 0.0)

    surface = cost(mesh_a, mesh_b)
    path_cost = cost(points[:, 0], points[:, 1])
    top = float(surface.max())
    # Levels evenly spaced in √(J − J*): for a quadratic bowl the rings are then evenly spaced.
    levels = loss_star + (top - loss_star) * np.linspace(0.0, 1.0, SURFACE_LEVELS + 1) ** 2
    if not top > loss_star:
        raise ValueError("the cost does not vary over the plotted plane; the chosen coordinates have no effect")

    labels = [_coordinate_label(index, names, target_name) for index in chosen]
    cost_label = f"cost J(θ) = Σ r² / 2m  (units of {target_name}²)"
    sliced = n_features > 1
    if title is None:
        title = SURFACE_TITLE if not sliced else (
            f"Slice of the cost J(θ) through the optimum:\n{_symbol(first)} and {_symbol(second)} vary, "
            f"the other parameters stay at θ*"
        )
    figure = Figure(figsize=SURFACE_3D_FIGSIZE if view_3d else SURFACE_FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(2 if view_3d else 1, 1, 1)
    axes.tick_params(labelsize=TICK_SIZE)
    # One colour per band (not per value), so the low bands near the bottom are as distinct as the high ones.
    norm = BoundaryNorm(levels, ncolors=256)
    filled = axes.contourf(mesh_a, mesh_b, surface, levels=levels, cmap=SURFACE_COLOURMAP, norm=norm)
    axes.contour(mesh_a, mesh_b, surface, levels=levels[::2], colors="white", linewidths=0.5, alpha=0.5)
    colourbar = figure.colorbar(filled, ax=axes, shrink=0.9)
    colourbar.set_label(cost_label, fontsize=LABEL_SIZE)
    colourbar.ax.tick_params(labelsize=TICK_SIZE - 1)
    colourbar.set_ticks(levels[::4])
    colourbar.ax.set_yticklabels([f"{level:.3g}" for level in levels[::4]])

    outline = [patheffects.Stroke(linewidth=4.5, foreground="black", alpha=0.6), patheffects.Normal()]
    if path is not None:
        n_updates = int(iterations[-1])
        # Every iterate gets a dot on short paths (a zigzag shows each step); long ones get PATH_DOTS,
        # spaced geometrically so that the big early steps stay visible.
        every = (slice(None) if len(points) <= PATH_DOTS_ALL else
                 np.unique(np.round(np.geomspace(1, len(points), PATH_DOTS)).astype(int) - 1).tolist())
        shown = (f"; every {_ordinal(n_updates // max(1, len(points) - 1))} kept" if len(points) - 1 < n_updates
                 else "")
        axes.plot(points[:, 0], points[:, 1], color=PATH_COLOUR, linewidth=2.2, marker="o", markersize=3.5,
                  markevery=every, path_effects=outline, zorder=PATH_ZORDER,
                  label=f"path of gradient descent ({n_updates:,} updates{shown})")
        axes.plot(*points[0], linestyle="none", marker="o", markersize=11, markerfacecolor=START_COLOUR,
                  markeredgecolor="black", markeredgewidth=1.5, zorder=PATH_ZORDER + 1,
                  label=f"start (cost {start_cost:.4g})")
    final_label = (f"after {int(iterations[-1]):,} updates (cost {final_cost:.4g})" if path is not None
                   else f"fitted model (cost {final_cost:.4g}; fit with record_path=True for the path)")
    axes.plot(*points[-1], linestyle="none", marker="s", markersize=9, markerfacecolor=PATH_COLOUR,
              markeredgecolor="black", markeredgewidth=1.2, zorder=PATH_ZORDER + 1, label=final_label)
    # Below the path: a converged path ends on the optimum, and the star must not hide its last steps.
    axes.plot(theta_star[first], theta_star[second], linestyle="none", marker="*", markersize=20,
              markerfacecolor=STAR_COLOUR, markeredgecolor="black", markeredgewidth=1.2, zorder=PATH_ZORDER - 1,
              label=f"optimum θ* (cost {loss_star:.4g})")
    axes.set_xlim(*axes_ranges[0])
    axes.set_ylim(*axes_ranges[1])
    axes.set_xlabel(labels[0], fontsize=LABEL_SIZE)
    axes.set_ylabel(labels[1], fontsize=LABEL_SIZE)
    axes.legend(loc="best", fontsize=LEGEND_SIZE - 1, framealpha=0.9)
    if view_3d:
        axes.set_title("Seen from above: contours of equal cost", fontsize=LABEL_SIZE + 1)
        _surface_3d(figure, mesh_a, mesh_b, surface, points, path_cost, theta_star[chosen], loss_star, labels,
                    norm=norm, has_path=path is not None)
        figure.suptitle(title, fontsize=TITLE_SIZE)
    else:
        axes.set_title(title, fontsize=TITLE_SIZE)
    return figure


def _surface_3d(figure: Figure, mesh_a, mesh_b, surface, points, path_cost, optimum, loss_star: float,
                labels: list[str], *, norm, has_path: bool) -> None:  # noqa: ANN001 - arrays
    axes = figure.add_subplot(2, 1, 2, projection="3d")
    axes.plot_surface(mesh_a, mesh_b, surface, cmap=SURFACE_COLOURMAP, norm=norm, linewidth=0, antialiased=True,
                      alpha=0.7, rstride=4, cstride=4)
    # Lift the path a hair above the surface so that it is not hidden inside it.
    lift = 0.01 * float(surface.max() - loss_star)
    if has_path:
        axes.plot(points[:, 0], points[:, 1], path_cost + lift, color=PATH_COLOUR, linewidth=2.5, zorder=10)
        axes.scatter(*points[0], path_cost[0] + lift, s=60, color=START_COLOUR, edgecolors="black", zorder=11)
    axes.scatter(*points[-1], path_cost[-1] + lift, s=50, marker="s", color=PATH_COLOUR, edgecolors="black", zorder=11)
    axes.scatter(*optimum, loss_star + lift, s=180, marker="*", color=STAR_COLOUR, edgecolors="black", zorder=12)
    axes.set_xlabel(labels[0].split("  (")[0], fontsize=LABEL_SIZE, labelpad=10)
    axes.set_ylabel(labels[1].split("  (")[0], fontsize=LABEL_SIZE, labelpad=10)
    axes.set_zlabel("cost J(θ)", fontsize=LABEL_SIZE, labelpad=10)
    axes.tick_params(labelsize=TICK_SIZE - 1)
    axes.view_init(elev=32, azim=-60)
    axes.set_title("The same bowl in 3D", fontsize=LABEL_SIZE + 1)


def learning_rate_sweep(
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    *,
    learning_rates: Sequence[float] | None = None,
    seed: int | None = None,
    max_iter: int | None = None,
    tol: float | None = None,
    standardize: bool = True,
    path: str | Path | None = None,
    title: str = SWEEP_TITLE,
) -> "LearningRateSweep":
    """Run gradient descent at several learning rates and draw their cost curves on one log-scale figure.

    Without data it runs the article's problem with the article's raw settings (see
    :func:`gradfit.learning.article_sweep`); with ``X`` and ``y`` it runs
    :func:`gradfit.learning.sweep_learning_rates`. Divergent runs stop where the blow-up becomes
    clear and appear as such; they do not stop the sweep. ``print(result)`` shows the table.

    Parameters
    ----------
    X : array-like of shape (m, d), optional
    y : array-like of shape (m,), optional
    learning_rates : sequence of float, optional
        Default: fractions and multiples of ``1/L`` (one past ``2/L``), plus 0.01 for the article.
    seed : int or None
        Seed of the article's data (when X is not given).
    max_iter, tol : optional
        Updates per run (default: the article's 1000 on its data, else what ``1/L`` needs to
        converge, rounded up) and the tolerance: a run has converged when every coefficient and the
        intercept are within ``tol`` (default 1e-6) of the exact least-squares answer, relatively.
    standardize : bool, default=True
        For user data; the article's problem is always run raw, as the article does.
    path : str or Path, optional
        Also write :func:`sweep_figure` here.
    title : str

    Returns
    -------
    gradfit.learning.LearningRateSweep
    """
    from gradfit.learning import DEFAULT_MAX_ITER, DEFAULT_TOL, article_sweep, sweep_learning_rates

    tol = DEFAULT_TOL if tol is None else tol
    if (X is None) != (y is None):
        raise ValueError("give both X and y, or neither (for the article's problem)")
    if X is None:
        sweep = article_sweep(seed=seed, learning_rates=learning_rates, tol=tol,
                              max_iter=DEFAULT_MAX_ITER if max_iter is None else max_iter)
    else:
        sweep = sweep_learning_rates(X, y, learning_rates=learning_rates, standardize=standardize, max_iter=max_iter,
                                     tol=tol)
    if path is not None:
        plot_sweep(sweep, path, title=title)
    return sweep


def plot_sweep(sweep: "LearningRateSweep", path: str | Path, *, title: str = SWEEP_TITLE, target_name: str = "y") -> Path:
    """Write :func:`sweep_figure` to ``path`` (parent folders created); returns ``path``."""
    return _save(sweep_figure(sweep, title=title, target_name=target_name), path)


def sweep_figure(sweep: "LearningRateSweep", *, title: str = SWEEP_TITLE, target_name: str = "y") -> Figure:
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


def animate_fit(
    model,
    X: ArrayLike,
    y: ArrayLike,
    path: str | Path,
    *,
    frames: int = ANIMATION_FRAMES,
    fps: int = ANIMATION_FPS,
    true_line: tuple[float, float] | None = None,
    target_name: str = "y",
    optimum_loss: float | None = None,
) -> Path:
    """Write an animated GIF of the fit improving: the data with the line at thinned iterates, and
    the cost curve growing beside it.

    With one feature the left panel shows the points and the line ``y = θ₁x + θ₀`` of iterate k;
    with more it shows actual against predicted values, which gather on the diagonal. Frames are
    spaced geometrically in the kept iterates, so the fast early updates get as much time as the
    slow late ones. Written with matplotlib's Pillow writer; no display needed.

    Parameters
    ----------
    model : fitted LinearRegression with ``path_`` (fitted with ``record_path=True``)
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    path : str or Path
        The GIF to write (parent folders created).
    frames : int ≥ 2, default=30
        Most distinct frames (fewer when fewer iterates were kept).
    fps : int ≥ 1, default=5
    true_line : (slope, intercept) or None
        A known true line to draw with one feature (e.g. the article's ``(2, 1)``).
    target_name : str
    optimum_loss : float, optional
        The least achievable cost: with it the cost panel plots ``J − J*`` on a log axis when that
        spans more than two decades, as :func:`loss_figure` does.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        When the model has no path (fit it with ``record_path=True``) or ``frames < 2``.
    """
    from matplotlib.animation import PillowWriter

    check_is_fitted(model)
    if getattr(model, "path_", None) is None:
        raise ValueError("the model has no recorded path to animate: fit it with record_path=True")
    if frames < 2 or fps < 1:
        raise ValueError(f"frames must be at least 2 and fps at least 1; got frames={frames}, fps={fps}")
    x, target = _design(X, y)
    thetas, iterations = np.asarray(model.path_), np.asarray(model.path_iterations_)
    chosen = np.unique(np.round(np.geomspace(1, len(thetas), frames)).astype(int) - 1)
    costs = np.append(np.asarray(model.loss_history_, dtype=np.float64), float(model.final_loss_))
    one_feature = x.shape[1] == 1

    figure = Figure(figsize=ANIMATION_FIGSIZE, dpi=ANIMATION_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
    for axes in (left, right):
        axes.tick_params(labelsize=TICK_SIZE - 1)
        axes.grid(True, alpha=0.3)
    shown, label = _thinned(target.size)
    if one_feature:
        feature = x[:, 0]
        left.scatter(feature[shown], target[shown], s=18, color=DATA_COLOUR, alpha=0.7, edgecolors="none", label=label)
        grid = np.linspace(feature.min(), feature.max(), 2)
        if true_line is not None:
            left.plot(grid, true_line[0] * grid + true_line[1], color=TRUE_COLOUR, linewidth=2.0,
                      label=f"true line: {_line(*true_line)}")
        (moving,) = left.plot([], [], color=FIT_COLOUR, linewidth=2.5, linestyle="--", label="line at update k")
        left.set_xlabel("x", fontsize=LABEL_SIZE)
        left.set_ylabel(target_name, fontsize=LABEL_SIZE)
        low, high = _span(target)
        left.set_ylim(low, high)
    else:
        low, high = _span(target)
        left.plot([low, high], [low, high], color=TRUE_COLOUR, linewidth=2.0, label="perfect fit")
        moving = left.scatter(target[shown], target[shown], s=18, color=FIT_COLOUR, alpha=0.6, edgecolors="none",
                              label="rows: actual vs predicted at update k")
        left.set_xlim(low, high)
        left.set_ylim(low, high)
        left.set_xlabel(f"predicted {target_name}", fontsize=LABEL_SIZE)
        left.set_ylabel(f"actual {target_name}", fontsize=LABEL_SIZE)
    left.legend(loc="upper left", fontsize=LEGEND_SIZE - 2, framealpha=0.9)
    heading = left.set_title("", fontsize=LABEL_SIZE + 1)

    updates = np.arange(costs.size)
    excess = _excess(costs, optimum_loss) if optimum_loss is not None else None
    flat_from = None
    if excess is not None and _spans_decades(excess):
        # Below the cost's rounding level the curve runs flat (dotted), so that the marker of the
        # current update stays on the panel to the run's end.
        resolved, level, flat_from = _resolved(excess, costs)
        costs, cost_label = resolved, "cost above the optimum J(θ) − J(θ*)"
        if flat_from is not None:
            costs = np.where(updates >= flat_from, level, costs)
    else:
        cost_label = "cost J(θ) = Σ r² / 2m"
    shown_to = costs.size if flat_from is None else flat_from + 1
    right.plot(updates[:shown_to], costs[:shown_to], color="#bbbbbb", linewidth=1.5, label="whole run")
    if flat_from is not None:
        right.plot(updates[flat_from:], costs[flat_from:], color="#bbbbbb", linewidth=1.5, linestyle=":")
    (grown,) = right.plot([], [], color=FIT_COLOUR, linewidth=2.5, label="cost so far")
    (now,) = right.plot([], [], linestyle="none", marker="o", markersize=8, color=PATH_COLOUR,
                        markeredgecolor="black", label="update k")
    if _spans_decades(costs):
        right.set_yscale("log")
    right.set_xlabel("updates made, k", fontsize=LABEL_SIZE)
    right.set_ylabel(cost_label, fontsize=LABEL_SIZE)
    right.set_title("The cost falls as the fit improves", fontsize=LABEL_SIZE + 1)
    # Few ticks: the panel is narrow, and counts like 64,000 would run into each other.
    right.xaxis.set_major_locator(MaxNLocator(nbins=ANIMATION_TICKS, integer=True))
    right.margins(x=0.02)
    right.legend(loc="upper right", fontsize=LEGEND_SIZE - 2, framealpha=0.9)

    def draw(position: int) -> None:
        theta, k = thetas[position], int(iterations[position])
        if one_feature:
            moving.set_data(grid, theta[1] * grid + theta[0])
            line = f": {_line(theta[1], theta[0])}"
        else:
            predicted = x[shown] @ theta[1:] + theta[0]
            moving.set_offsets(np.column_stack([predicted, target[shown]]))
            line = ""
        heading.set_text(f"update {k:,} of {int(iterations[-1]):,}{line}")
        grown.set_data(updates[: k + 1], costs[: k + 1])
        now.set_data([k], [costs[k]])

    # Lay the figure out once, on the widest frame, then freeze it: the panels keep still from frame
    # to frame, and each frame is drawn without solving the layout again.
    draw(int(chosen[-1]))
    figure.canvas.draw()
    figure.set_layout_engine(None)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = PillowWriter(fps=fps)
    with writer.saving(figure, str(path), dpi=ANIMATION_DPI):
        for position in chosen:
            draw(int(position))
            writer.grab_frame()
        for _ in range(ANIMATION_HOLD_FRAMES):
            writer.grab_frame()
    return path


def png_bytes(figure: Figure) -> bytes:
    """``figure`` as PNG file contents at :data:`DPI` (for embedding, e.g. in the HTML report)."""
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _design(X: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    target = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != target.shape[0] or target.size == 0:
        raise ValueError(f"X has shape {np.shape(X)} and y {np.shape(y)}: give one row of X per value of y")
    return x, target


def _thinned(size: int) -> tuple[slice | NDArray[np.int64], str]:
    if size > MAX_SCATTER_POINTS:
        shown = np.unique(np.linspace(0, size - 1, MAX_SCATTER_POINTS).astype(int))
        return shown, f"data ({shown.size} of {size} points)"
    return slice(None), f"data ({size} points)"


def _span(values: NDArray[np.float64]) -> tuple[float, float]:
    low, high = float(np.min(values)), float(np.max(values))
    pad = 0.06 * (high - low) if high > low else max(1.0, abs(low)) * 0.1
    return low - pad, high + pad


def _feature_names(model, given: Sequence[str] | None, n_features: int) -> list[str]:
    if given is not None:
        names = [str(name) for name in given]
        if len(names) != n_features:
            raise ValueError(f"feature_names has {len(names)} names for {n_features} features")
        return names
    if hasattr(model, "feature_names_in_"):
        return [str(name) for name in model.feature_names_in_]
    return ["x"] if n_features == 1 else [f"x{index}" for index in range(n_features)]


def _coordinate(item: int | str, names: list[str]) -> int:
    if isinstance(item, str):
        if item == "intercept":
            return 0
        if item in names:
            return names.index(item) + 1
        raise ValueError(f"unknown coordinate {item!r}: use 'intercept' or one of the features {names}")
    if isinstance(item, (int, np.integer)) and 0 <= item <= len(names):
        return int(item)
    raise ValueError(f"coordinate {item!r} is out of range: 0 is the intercept, 1…{len(names)} the coefficients")


def _symbol(index: int) -> str:
    return "θ" + str(index).translate(_SUBSCRIPTS)


def _coordinate_label(index: int, names: list[str], target_name: str) -> str:
    if index == 0:
        return f"intercept {_symbol(0)}  (units of {target_name})"
    name = names[index - 1]
    if len(names) == 1:
        return f"slope {_symbol(1)}  (units of {target_name} per unit of {name})"
    return f"{_symbol(index)}: coefficient of {name}  ({target_name} per unit of {name})"


def _surface_range(values: NDArray[np.float64], centre: float, curvature: float, loss_star: float, *,
                   moved: bool) -> tuple[float, float]:
    """The plotted interval of one coordinate: the path (start included) and the optimum, plus a margin.

    The path sets the zoom: a box sized by the bowl would shrink a short path to a dot under the
    optimum's star. Only a coordinate that did not move (or a model without a path) gets the
    distance over which the cost rises by about J* on each side of the optimum (1 when J* = 0).
    """
    low, high = min(float(np.min(values)), centre), max(float(np.max(values)), centre)
    span = high - low
    natural = float(np.sqrt(2 * loss_star / curvature)) if curvature > 0 and loss_star > 0 else 1.0
    if moved and span > FLAT_MOVE * natural:
        return low - SURFACE_MARGIN * span, high + SURFACE_MARGIN * span
    half = max(natural, span * (1 + SURFACE_MARGIN))
    return centre - half, centre + half


def moved_most(model, X: ArrayLike) -> tuple[int, int]:
    """The two parameters whose moves along the model's path changed the predictions most.

    A coefficient's move counts in the units of the predictions: the range of its values along the
    path times the spread (standard deviation) of its feature; the intercept's range counts as it
    is. These are the coordinates in which a slice of the bowl shows the path best. Without a path,
    or with one feature, the intercept and the first coefficient.

    Parameters
    ----------
    model : fitted LinearRegression, with ``path_`` (``record_path=True``)
    X : array-like of shape (m, d)

    Returns
    -------
    (int, int)
        Parameter indices in increasing order: 0 is the intercept, ``j ≥ 1`` the coefficient of feature ``j − 1``.
    """
    path = getattr(model, "path_", None)
    x = np.asarray(X, dtype=np.float64)
    if path is None or x.ndim != 2 or x.shape[1] < 2:
        return 0, 1
    spread = np.concatenate([[1.0], x.std(axis=0)])
    moves = (path.max(axis=0) - path.min(axis=0)) * spread
    # A stable sort: ties (such as two parameters that never moved) keep the lower index.
    largest = np.argsort(-moves, kind="stable")[:2]
    first, second = sorted(int(index) for index in largest)
    return first, second


def _ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st, 22nd, 23rd, …"""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
