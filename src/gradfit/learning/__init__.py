"""Learning-rate sweeps: one problem fitted at several step sizes, each run's fate and cost curve.

The article says that a learning rate that is too small converges slowly and one that is too large
diverges. For least squares the boundaries are exact: with ``L`` the largest eigenvalue of ``XᵀX/m``
(in the coordinates being optimised), every constant step ``α < 2/L`` converges and every
``α > 2/L`` diverges; ``α = 1/L`` is the largest step that overshoots in no direction. Below it
every direction moves less than it could (too small); between ``1/L`` and ``2/L`` the steepest
direction overshoots and the iterates zigzag, yet converge. :func:`sweep_learning_rates` runs the
same gradient descent at several ``α`` (by default fractions and multiples of ``1/L``, one of each
kind) and records, for each, whether it converged, ran out of updates, or blew up, with its cost
curve.

"Converged" means what it means everywhere in gradfit: every coefficient and the intercept are
within ``tol`` of the exact least-squares answer, relatively, as the estimator certifies it. A run
at rate ``α`` converged at update ``k`` when ``LinearRegression(solver="gd", learning_rate=α,
tol=tol)`` from the same start stops there with ``converged_``; when rounding keeps the
coefficients from ever being certified that closely, the estimator stops with status ``"floor"``,
and so does the sweep's run (see :func:`updates_to_converge`). ``gradfit demo`` counts its updates
with the same function, so the demo, the sweep and the report give the same numbers.

The update budget comes from the problem: gradient descent at ``1/L`` is run first, and every run
gets the updates it needed (rounded up). At ``1/L`` every error component shrinks by at least
``1 − 1/κ`` an update (``κ = L/μ``, μ the smallest curvature), but a small coefficient's relative
error starts large and must shrink the furthest, so it is counted rather than bounded.

No matplotlib here: :func:`gradfit.plots.sweep_figure` draws a sweep, and
:func:`learning_rate_sweep` runs one and, when asked for a file, has it drawn (importing
:mod:`gradfit.plots` only then).

Examples
--------
>>> from gradfit.learning import article_sweep
>>> sweep = article_sweep(seed=0)
>>> [run.regime for run in sweep.runs]
['too small', 'too small', 'too small', 'just right', 'overshoots', 'too large']
"""

from gradfit.learning.counting import (
    DEFAULT_TOL,
    Count,
    update_budget,
    updates_to_converge,
)
from gradfit.learning.counting import FALLBACK_BUDGET as FALLBACK_BUDGET  # the budget's bounds: importable here, not in __all__
from gradfit.learning.counting import MAX_BUDGET as MAX_BUDGET
from gradfit.learning.counting import MIN_BUDGET as MIN_BUDGET
from gradfit.learning.results import REGIMES, LearningRateSweep, SweepRun, updates_text
from gradfit.learning.sweep import (
    DEFAULT_FACTORS,
    DEFAULT_MAX_ITER,
    article_sweep,
    certificate,
    fit_run,
    learning_rate_sweep,
    sweep_learning_rates,
)

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "REGIMES",
    "Count",
    "LearningRateSweep",
    "SweepRun",
    "article_sweep",
    "certificate",
    "fit_run",
    "learning_rate_sweep",
    "sweep_learning_rates",
    "update_budget",
    "updates_text",
    "updates_to_converge",
]
