"""The cost "bowl" over two coordinates, with the path of the iterates.

* :func:`loss_surface` / :func:`plot_loss_surface`: filled contours (and a 3D view) of the cost,
  with the path that ``record_path=True`` kept; a slice through the optimum for more features.
* :func:`moved_most`: the two parameters whose moves changed the predictions most.

The figure reads the model's path and takes the optimum from :meth:`LinearRegression.distance_to_optimum`
(through :func:`gradfit.cost.least_squares_optimum`); it never refits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_is_fitted

from gradfit.cost import least_squares_optimum
from gradfit.plots._style import (
    DPI,
    LABEL_SIZE,
    LEGEND_SIZE,
    PATH_COLOUR,
    STAR_COLOUR,
    START_COLOUR,
    TICK_SIZE,
    TITLE_SIZE,
    _design,
    _save,
)

#: Colour map of the cost surface.
SURFACE_COLOURMAP = "viridis"

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

SURFACE_TITLE = "The cost bowl J(θ) and the path of gradient descent"

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


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

    theta_star, loss_star = least_squares_optimum(model, x, target)
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
                labels: list[str], *, norm, has_path: bool) -> None:  # arrays
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
