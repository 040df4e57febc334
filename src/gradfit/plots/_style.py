"""The look the figures share: sizes, fonts, colours, the figure and file helpers, and the small
helpers of more than one figure.

Every figure is drawn on a ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot, so it
touches no global figure state and needs no display.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

from gradfit.fileio import write_atomically

#: Figure size in inches and resolution: 960 × 720 pixels.
FIGSIZE = (8.0, 6.0)
DPI = 120

#: Font sizes in points.
TITLE_SIZE = 14
LABEL_SIZE = 12
TICK_SIZE = 11
LEGEND_SIZE = 11

#: Most data points drawn in a scatter (evenly spaced in row order beyond that), to keep files small.
MAX_SCATTER_POINTS = 5000

DATA_COLOUR = "#2ca02c"
TRUE_COLOUR = "#d62728"
FIT_COLOUR = "#1f77b4"
OPTIMUM_COLOUR = "#555555"

#: Colours of the toolkit's figures: the path of the iterates, its start and the optimum.
PATH_COLOUR = "#ff3b30"
START_COLOUR = "#ffffff"
STAR_COLOUR = "#ffd60a"


def _figure():
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.tick_params(labelsize=TICK_SIZE)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` (parent folders created) in the format its suffix names, at
    :data:`DPI`, through the project's one atomic writer: a figure being replaced is never left half
    written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = path.suffix.lstrip(".").lower() or "png"
    write_atomically(path, lambda handle: figure.savefig(handle, format=image_format, dpi=DPI))
    return path


def png_bytes(figure: Figure) -> bytes:
    """``figure`` as PNG file contents at :data:`DPI` (for embedding, e.g. in the HTML report)."""
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _line(slope: float, intercept: float) -> str:
    sign = "-" if intercept < 0 else "+"
    return f"y = {slope:.4g}x {sign} {abs(intercept):.4g}"


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
