"""The explorer page: the data's statistics in both coordinate systems, the scatter's points, and the
document around the inline script and style sheet (``assets/``) that draw and drive it.

The script gets the exact doubles gradfit iterates with: ``G``, ``b``, ``c``, L, μ and the frame of
:meth:`~gradfit.objective.LeastSquares.from_source` (the estimator's own objective), written with
``repr(float)`` (JSON's numbers), which JavaScript reads back to the same bits.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_escape
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gradfit._version import __version__
from gradfit.fileio import write_atomically

__all__ = ["EXPLORER_NAME", "MAX_POINTS", "PAGE_BUDGET", "article_explorer", "csv_explorer", "explorer_page", "write_explorer"]

#: File name of the explorer inside the output folder (the report links to it by this name).
EXPLORER_NAME = "explorer.html"

#: Most points drawn in the scatter: an SVG circle each, so 2,000 redraw in a few milliseconds and
#: take about 30 KB of the page; a larger data set is thinned evenly (every k-th row).
MAX_POINTS = 2000

#: The page must stay under this many bytes (the issue's bound: it is mailed and opened offline).
PAGE_BUDGET = 300_000

#: Significant digits of the scatter's coordinates: far below a pixel, and half the bytes of repr.
POINT_DIGITS = 6

#: Most updates the page runs (its input's bound): a run of that many is still instant in the browser.
MAX_UPDATES = 100_000

ASSETS = files("gradfit.explorer") / "assets"


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    """The ``'sha256-…'`` source that lets exactly this inline script or style run, and nothing else."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _frame_statistics(X: NDArray[np.float64], y: NDArray[np.float64], *, standardize: bool) -> dict:
    """G, b, c, L, μ and the frame of the estimator's objective, as the script needs them."""
    from gradfit.objective import LeastSquares
    from gradfit.sources.memory import MemorySource

    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=standardize)
    frame = objective.frame
    return {
        "G": [[float(value) for value in row] for row in objective.G],
        "b": [float(value) for value in objective.b],
        "c": float(objective.c),
        "L": float(objective.lipschitz),
        "mu": float(objective.strong_convexity),
        # Gradients in double-double (ill-conditioned data in memory): the page's doubles then agree
        # with gradfit to about κ·ε rather than to the last bits; the page says so.
        "extended": objective.extended is not None,
        "frame": {
            "x_shift": float(frame.x_shift[0]),
            "x_unit": float(frame.x_unit[0]),
            "x_scale": float(frame.x_scale[0]),
            "y_shift": float(frame.y_shift),
            "y_unit": float(frame.y_unit),
            "y_scale": float(frame.y_scale),
        },
    }


def _thinned(x: NDArray[np.float64], y: NDArray[np.float64]) -> dict:
    """At most :data:`MAX_POINTS` points, evenly spread over the rows (every k-th, first and last kept)."""
    n = len(y)
    rows = np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.intp)) if n > MAX_POINTS else np.arange(n)

    def short(values: NDArray[np.float64]) -> list[float]:
        return [float(f"{value:.{POINT_DIGITS}g}") for value in values[rows]]

    return {"x": short(x), "y": short(y), "shown": int(rows.size), "every": round(n / rows.size, 1) if n else 1}


def explorer_page(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    feature_name: str = "x",
    target_name: str = "y",
    source: str,
    learning_rate: float | None = None,
    start: Sequence[float] = (0.0, 0.0),
    standardize: bool = True,
    updates: int = 1000,
    python_data: str,
    fit_command: Sequence[str] | None = None,
    demo_command: Sequence[str] | None = None,
    intro: str | None = None,
) -> str:
    """The explorer for the straight-line fit of ``y`` on one feature plus an intercept.

    Parameters
    ----------
    X : ndarray of shape (m, 1) or (m,)
        The feature.
    y : ndarray of shape (m,)
    feature_name, target_name : str
        Names shown on the axes and in the exported command line.
    source : str
        Where the data come from, in words ("the article's 100 points (seed 0)", a file name).
    learning_rate : float, optional
        The starting α, in the coordinates given by ``standardize``. Default: 1/L there.
    start : (intercept, slope)
        The starting point, in the data's units.
    standardize : bool, default=True
        Whether the page opens in gradfit's standardized coordinates (else the raw design ``[1, x]``).
    updates : int, default=1000
    python_data : str
        Python lines that make ``X`` and ``y`` (for the exported Python call).
    fit_command : sequence of str, optional
        ``gradfit fit`` with its data options: the page adds the solver's (for a CSV).
    demo_command : sequence of str, optional
        ``gradfit demo`` with its data options: the page's settings when they are the demo's (article data).
    intro : str, optional
        The lead paragraph, as HTML (escaped). Default: one naming ``source``.

    Returns
    -------
    str
        The whole HTML document.
    """
    from gradfit.cost import least_squares_cost
    from gradfit.estimator import LinearRegression
    from gradfit.learning import DEFAULT_TOL

    X = np.asarray(X, dtype=np.float64).reshape(len(y), 1)
    y = np.asarray(y, dtype=np.float64)
    frames = {"raw": _frame_statistics(X, y, standardize=False),
              "standardized": _frame_statistics(X, y, standardize=True)}
    exact = LinearRegression(solver="exact").fit(X, y)
    optimum = {"intercept": float(exact.intercept_), "slope": float(exact.coef_[0]),
               "cost": float(least_squares_cost(X, y, exact.coef_, float(exact.intercept_)))}
    coordinates = "standardized" if standardize else "raw"
    rate = float(learning_rate) if learning_rate is not None else 1.0 / frames[coordinates]["L"]
    data = {
        "version": __version__,
        "source": source,
        "feature": feature_name,
        "target": target_name,
        "n": int(len(y)),
        "points": _thinned(X[:, 0], y),
        "frames": frames,
        "optimum": optimum,
        "tol": DEFAULT_TOL,
        "max_updates": MAX_UPDATES,
        "defaults": {"learning_rate": rate, "momentum": 0.0, "method": "heavy-ball", "updates": int(updates),
                     "start": [float(start[0]), float(start[1])], "standardize": bool(standardize)},
        "recipe": {"python_data": python_data, "fit": list(fit_command) if fit_command else None,
                   "demo": list(demo_command) if demo_command else None},
    }
    return _document(data, intro=intro)


def article_explorer(*, seed: int | None = 0, data: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None) -> str:
    """The explorer on the article's data, opening at its settings: α = 0.01 in the raw coordinates, 1000
    updates from θ = (1, 1), which stop near (1.204, 1.681) for seed 0.

    ``data``: the points already drawn with ``seed`` (``make_article_data(seed=seed)``'s ``(X, y)``); with
    ``seed=None`` the page's Python call cannot draw the same fresh points again, and says so.
    """
    from gradfit.datasets import ARTICLE_START, make_article_data

    X, y = data if data is not None else make_article_data(seed=seed)
    data = f"seed {seed}" if seed is not None else "fresh random data"
    python = ("from gradfit.datasets import make_article_data\n"
              f"X, y = make_article_data(seed={seed!r})" + ("  # fresh points, not the page's" if seed is None else ""))
    demo = ["gradfit", "demo", *(["--seed", str(seed)] if seed is not None else [])]
    intro = (f"The article's {len(y)} points scattered around y = 2x + 1 ({_escape(data)}), fitted by gradient "
             "descent from intercept 1 and slope 1 at learning rate 0.01, as the article does. Change the learning "
             "rate, the momentum, the number of updates or the start, and watch what each does to the path, the line "
             "and the cost. Every number on this page is computed in your browser with gradfit's own update rules, "
             "on the exact sums of the data, so it is what the library computes.")
    return explorer_page(X, y, source=f"the article's {len(y)} points ({data})", learning_rate=0.01, start=ARTICLE_START,
                         standardize=False, updates=1000, python_data=python, demo_command=demo, intro=intro)


def csv_explorer(path: str | Path, table, *, shown_name: str, delimiter: str | None = None) -> str:  # a csv_text.CsvTable
    """The explorer on one feature of a CSV read into memory (``table``: the command line's reader's).

    The file is held in memory (as ``gradfit report`` and ``sweep`` hold theirs): the page needs its
    points for the scatter anyway, and its statistics are gradfit's from those rows.
    """
    from gradfit.sources.files.csv_text import sniff_delimiter

    feature, target = table.feature_names[0], table.target
    delimiter = delimiter or sniff_delimiter(path)
    index = _column_indices(path, table, delimiter)
    python = (
        "import numpy as np\n"
        f"columns = np.loadtxt({str(path)!r}, delimiter={delimiter!r}, skiprows=1, usecols={list(index)!r}, ndmin=2)\n"
        "X, y = columns[:, :1], columns[:, 1]"
    ) if index is not None else f"# X: the column {feature!r} of {shown_name} (shape (m, 1)), y: the column {target!r}"
    command = ["gradfit", "fit", str(path), "--target", target, "--features", feature]
    intro = (f"{_escape(shown_name)}: {len(table.y):,} rows, {_escape(target)} fitted on {_escape(feature)} plus an "
             "intercept by gradient descent. Change the learning rate, the momentum, the number of updates or the "
             "start, and watch what each does to the path, the line and the cost. Every number on this page is "
             "computed in your browser with gradfit's own update rules, on the exact sums of the data, so it is what "
             "the library computes.")
    return explorer_page(table.X, table.y, feature_name=feature, target_name=target, source=shown_name,
                         python_data=python, fit_command=command, intro=intro)


def _column_indices(path, table, delimiter: str) -> tuple[int, int] | None:
    """(feature, target) column numbers of the CSV's header, for ``np.loadtxt`` (None if not plain)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            names = [name.strip().strip('"') for name in handle.readline().rstrip("\r\n").split(delimiter)]
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return names.index(table.feature_names[0]), names.index(table.target)
    except ValueError:
        return None


def write_explorer(document: str, out: str | Path, *, name: str = EXPLORER_NAME) -> Path:
    """Write ``document`` to ``out / name`` (folders created; replaced only once the new file is complete)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_atomically(path, lambda handle: handle.write(document), text=True)
    return path


def _document(data: dict, *, intro: str | None) -> str:
    script, style = _asset("explorer.js"), _asset("explorer.css")
    policy = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; img-src data:; "
              "base-uri 'none'; form-action 'none'")
    # JSON inside <script>: "</" would end the element early; "<\/" is the same string to JSON.
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    feature, target = _escape(data["feature"]), _escape(data["target"])
    points = data["points"]
    thinning = (f"The data have {data['n']:,} rows; the picture shows {points['shown']:,} of them, evenly spread "
                f"(about every {points['every']:g}th row). The fit and every number on the page use all of them, "
                "through their sums." if points["shown"] < data["n"] else f"All {data['n']:,} points are shown.")
    lead = intro or (f"{_escape(data['source'])}: {target} fitted on {feature} plus an intercept by gradient descent.")
    body = TEMPLATE.format(
        policy=policy, style=style, script=script, payload=payload, title=_escape(f"Explore gradient descent: {data['source']}"),
        lead=lead, feature=feature, target=target, thinning=_escape(thinning), version=_escape(__version__),
    )
    return body


def _escape(text: str) -> str:
    return html_escape.escape(str(text), quote=True)


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body><main>
<header>
<h1>Drive gradient descent yourself</h1>
<p class="lead">{lead}</p>
</header>
<div class="layout">
<section class="panel" aria-labelledby="controls-title">
<h2 id="controls-title">Controls</h2>
<div class="control">
  <label for="rate">Learning rate α <output id="rate-text" for="rate"></output></label>
  <input type="range" id="rate" data-control="learning-rate" min="0" max="1000" step="1" aria-describedby="rate-help">
  <div class="marks" id="rate-marks">
    <button type="button" class="mark" id="mark-1" data-mark="1" aria-label="Set α to 1/L">1/L</button>
    <button type="button" class="mark" id="mark-2" data-mark="2" aria-label="Set α to 2/L">2/L</button>
  </div>
  <div class="row"><label for="rate-exact">α exactly</label>
  <input type="number" id="rate-exact" min="0" step="any" inputmode="decimal"></div>
  <p id="rate-help" class="help">The slider is logarithmic: every step right multiplies α by the same factor.
  L is the steepest curvature of the bowl. Below 1/L an update never overshoots; between 1/L and 2/L it
  overshoots in the steepest direction and swings back, but still converges; past 2/L every swing is larger
  than the last. The marks set α to 1/L and 2/L exactly.</p>
</div>
<div class="control">
  <label for="momentum">Momentum β <output id="momentum-text" for="momentum"></output></label>
  <input type="range" id="momentum" data-control="momentum" min="0" max="0.99" step="0.01" aria-describedby="momentum-help">
  <div class="row"><label for="method">Kind of momentum</label>
  <select id="method"><option value="heavy-ball">heavy ball</option><option value="nesterov">Nesterov</option></select></div>
  <p id="momentum-help" class="help">0 is plain gradient descent. With β &gt; 0 each update keeps β times the last
  move as well (heavy ball), or takes its gradient where that move would carry it (Nesterov, which starts again
  without momentum whenever the momentum points uphill).</p>
</div>
<div class="control row">
  <label for="updates">Updates</label>
  <input type="number" id="updates" data-control="updates" min="1" step="1" inputmode="numeric">
</div>
<fieldset class="control">
  <legend>Start point</legend>
  <div class="row"><label for="start-intercept">intercept</label><input type="number" id="start-intercept" step="any" inputmode="decimal"></div>
  <div class="row"><label for="start-slope">slope</label><input type="number" id="start-slope" step="any" inputmode="decimal"></div>
  <p class="help">Or drag the white dot on the map, or focus it and use the arrow keys.</p>
</fieldset>
<div class="control">
  <label class="check"><input type="checkbox" id="standardize" data-control="standardize" aria-describedby="standardize-help">
  Standardized coordinates</label>
  <p id="standardize-help" class="help">Steps in gradfit's standardized coordinates: the feature and the target
  centred and scaled to spread 1, so the bowl is round. α keeps its place between 0 and 2/L when you switch.</p>
</div>
<div class="buttons">
  <button type="button" data-control="step">Step</button>
  <button type="button" data-control="play" aria-pressed="false">Play</button>
  <button type="button" data-control="reset">Reset</button>
</div>
</section>
<section class="readouts" aria-labelledby="readouts-title">
<h2 id="readouts-title">Where the run is</h2>
<dl>
  <div><dt>update</dt><dd data-readout="iteration"></dd></div>
  <div><dt>intercept</dt><dd data-readout="intercept"></dd></div>
  <div><dt>slope</dt><dd data-readout="slope"></dd></div>
  <div><dt>cost J(θ)</dt><dd data-readout="cost"></dd></div>
  <div><dt>gradient norm</dt><dd data-readout="gradient-norm"></dd></div>
  <div><dt>best cost</dt><dd id="best-cost"></dd></div>
</dl>
<p class="verdict"><span class="badge" data-readout="verdict" aria-live="polite"></span></p>
<p id="verdict-text" class="verdict-text"></p>
<p id="agreement" class="help"></p>
</section>
<figure class="figure map">
  <svg id="map" viewBox="0 0 600 504" role="img" aria-labelledby="map-caption"></svg>
  <figcaption id="map-caption"><strong>The bowl and the path.</strong> Every choice of intercept and slope gives a
  line, and every line has a cost. Seen from above the cost is a bowl: each ring joins lines of equal cost, and
  the star marks the bottom, the least-squares answer. Gradient descent starts at the white dot and at every
  update moves downhill, across the rings, by the learning rate times the steepness. In a long, narrow valley
  the steepest way down points mostly across the valley, not along it, so the path first drops to the valley
  floor and then creeps along it. Tick <em>Standardized coordinates</em> to see the same problem where the bowl
  is round. Both axes have the same scale, so the rings' shape is the bowl's.</figcaption>
</figure>
<figure class="figure data-figure">
  <svg id="data" viewBox="0 0 600 392" role="img" aria-labelledby="data-caption"></svg>
  <figcaption id="data-caption"><strong>The data and the line.</strong> Each dot is one data point ({feature}
  across, {target} up). The solid line is the line of the current update, the dashed one the best line any update
  can reach (the exact least-squares answer). {thinning}</figcaption>
</figure>
<figure class="figure cost-figure">
  <svg id="cost" viewBox="0 0 600 392" role="img" aria-labelledby="cost-caption"></svg>
  <figcaption id="cost-caption"><strong>The cost at each update.</strong> The cost J(θ) is half the average
  squared vertical distance between the line and the points: one number that says how wrong the line is. The
  scale is logarithmic: each grid line down is ten times smaller. The dashed line is the lowest cost any line
  can reach. A run that converges settles on it; one past 2/L climbs away.</figcaption>
</figure>
<section class="share" aria-labelledby="share-title">
<h2 id="share-title">Share and export</h2>
<p class="help">The address of this page holds everything you set: copy it to share this view. The button copies
the same run as a gradfit command line and a Python call.</p>
<div class="buttons"><button type="button" id="copy">Copy the command line and Python call</button>
<span id="copy-status" role="status"></span></div>
<pre id="recipe"></pre>
</section>
</div>
<footer>Written by gradfit {version}. Self-contained: it loads nothing from the network and works offline.</footer>
</main>
<script type="application/json" id="gradfit-data">{payload}</script>
<script>{script}</script>
</body></html>
"""
