"""An animated GIF of the fit: the line (or the predictions) moving while the cost falls."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from gradfit.fileio import write_atomically
from gradfit.plots._style import (
    DATA_COLOUR,
    FIT_COLOUR,
    LABEL_SIZE,
    LEGEND_SIZE,
    PATH_COLOUR,
    TICK_SIZE,
    TRUE_COLOUR,
    _design,
    _line,
    _span,
    _thinned,
)
from gradfit.plots.fit import _excess, _resolved, _spans_decades

#: Frames, pace and size of the fit animation (kept small: it is embedded in the HTML report).
ANIMATION_FRAMES = 30
ANIMATION_FPS = 5
ANIMATION_FIGSIZE = (10.0, 4.2)
ANIMATION_DPI = 96
#: Most ticks on the animation's update axis.
ANIMATION_TICKS = 5
#: Extra copies of the last frame, so that the loop pauses on the result before starting again.
ANIMATION_HOLD_FRAMES = 4


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
        # The panel shows the data and the lines of the frames, so a line that starts below or above
        # the data is seen arriving; at most one span of the data beyond it, so the data keep their size.
        ends = thetas[chosen, 1][:, None] * grid + thetas[chosen, 0][:, None]
        data_low, data_high = float(target.min()), float(target.max())
        reach = max(data_high - data_low, 1e-12)
        left.set_ylim(*_span(np.array([data_low, data_high,
                                       max(float(ends.min()), data_low - reach), min(float(ends.max()), data_high + reach)])))
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
    frames_drawn = []
    for position in chosen:
        draw(int(position))
        frames_drawn.append(_frame(figure))
    frames_drawn += [frames_drawn[-1]] * ANIMATION_HOLD_FRAMES
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Through the one atomic writer: the GIF appears complete or not at all.
    write_atomically(path, lambda handle: frames_drawn[0].save(
        handle, format="GIF", save_all=True, append_images=frames_drawn[1:], duration=round(1000 / fps), loop=0))
    return path


def _frame(figure: Figure):
    """The figure as drawn now, an RGB image of ANIMATION_DPI (what matplotlib's PillowWriter grabs)."""
    from PIL import Image  # matplotlib's own dependency, needed only here

    buffer = BytesIO()
    figure.savefig(buffer, format="rgba", dpi=ANIMATION_DPI)
    width, height = figure.get_size_inches() * ANIMATION_DPI
    return Image.frombuffer("RGBA", (int(width), int(height)), buffer.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB")
