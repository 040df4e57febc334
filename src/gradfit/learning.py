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

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning

from gradfit.datasets import ARTICLE_START, make_article_data
from gradfit.errors import DataError, DivergenceError
from gradfit.estimator import LinearRegression

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

#: Default learning rates as multiples of 1/L: too small (0.1, 0.5), just right (1), overshooting but
#: converging (1.9), and past the stable bound 2/L (2.1).
DEFAULT_FACTORS = (0.1, 0.5, 1.0, 1.9, 2.1)

#: Updates per run of the article's sweep: the article's own 1000, so that its α = 0.01 row is the
#: article's run.
DEFAULT_MAX_ITER = 1000
#: A run has converged when every coefficient and the intercept are within this relative error of
#: the exact least-squares answer (the estimator's ``tol``; ``gradfit demo`` judges by the same).
DEFAULT_TOL = 1e-6

#: The article's learning rate, added to the default rates of :func:`article_sweep`.
ARTICLE_LEARNING_RATE = 0.01

#: Bounds on the budget chosen from the problem: enough updates to see a curve on an easy problem,
#: and at most :data:`COUNT_LIMIT`, the most any run is counted to.
MIN_BUDGET = 100
MAX_BUDGET = 1_000_000
#: Budget when neither 1/L's count nor the condition number is known (a singular design, or 1/L
#: past :data:`COUNT_LIMIT` with κ unknown).
FALLBACK_BUDGET = 10_000
#: Most updates counted for one learning rate (about a second of closed-form gradient descent on
#: the statistics engine); beyond it the table gives the contraction's estimate, marked "about".
COUNT_LIMIT = 1_000_000
#: Iterates kept, evenly thinned, by the tol=0 run that locates where a run's relative error
#: crosses the tolerance (a few hundred updates apart over a million).
TRACE_POINTS = 4096
#: The first try at a run's length is the contraction's prediction times this, so that a run whose
#: small coefficients lag a little behind the prediction still crosses within it.
LENGTH_SLACK = 1.25
#: A run whose error crosses the tolerance within this many updates is judged by the estimator
#: from the common start. The driver certifies its tolerance at each late iterate one at a time
#: (about 70 µs each on 7 parameters), so a longer run is judged from an iterate shortly before
#: the crossing instead (see :func:`updates_to_converge`).
DIRECT_UPDATES = 20_000
#: When the estimator accepts no iterate of the traced run, the run is continued by this share of
#: its length (at least MIN_EXTENSION updates) to find the first one it accepts.
EXTEND_SHARE = 8
MIN_EXTENSION = 1024
#: Learning rates from JUST_RIGHT[0]/L to JUST_RIGHT[1]/L are "just right": at most 25% more updates
#: than 1/L in the slow directions, and an overshoot of at most a fifth in the steepest one.
JUST_RIGHT = (0.8, 1.2)
#: Two learning rates closer than this (relative) are the same rate (1/L computed twice).
SAME_RATE = 1e-12

Outcome = Literal["converged", "max_iter", "floor", "diverged"]
Regime = Literal["too small", "just right", "overshoots", "too large"]
#: The regimes, in order of learning rate.
REGIMES: tuple[Regime, ...] = ("too small", "just right", "overshoots", "too large")

#: Plain words for the usual tolerances.
_FRACTION_WORDS = {1e-3: "a thousandth", 1e-6: "a millionth", 1e-9: "a billionth", 1e-12: "a trillionth"}


@dataclass(frozen=True, eq=False)
class SweepRun:
    """One learning rate's run.

    Attributes
    ----------
    learning_rate : float
        ``α``, in the optimised coordinates (raw ones when the sweep does not standardize).
    factor : float
        ``α·L``: the learning rate in units of ``1/L`` (``2`` is the stable bound).
    outcome : {"converged", "max_iter", "floor", "diverged"}
        ``floor``: rounding keeps the coefficients from being certified to the tolerance, so the
        estimator stops short of it (within the budget or, with ``n_iter`` the budget, after it).
    n_iter : int
        Updates made: to the tolerance (converged), to the rounding floor (floor, when within the
        budget), the whole budget, or the update at which the divergence became clear.
    final_loss : float
        Cost ``Σr²/2m`` where the run stopped (at the divergence point for a divergent run; may be inf).
    loss : ndarray of shape (n_iter + 1,)
        ``J(θ_k)`` for ``k = 0 … n_iter`` in the target's units. For a divergent run it ends at the
        cost where the divergence was caught.
    updates_needed : int or None
        For a run that did not finish in the budget: the updates it needs to reach the tolerance
        (counted up to :data:`COUNT_LIMIT`, else the contraction's estimate); for a floor run, the
        update at which the estimator stops at the floor. None otherwise, or when unknown.
    needed_is_estimate : bool
        ``updates_needed`` is an estimate from the contraction of ``I − αG``, not a count.
    error_bound : float
        The largest relative error of a coefficient (or the intercept) that the estimator certifies
        where the run converged or stopped at the floor; nan otherwise.
    model : LinearRegression or None
        The estimator's fit that stopped there by itself (``converged_``, or status "floor"): see
        :attr:`Count.model`. None for the other outcomes.
    """

    learning_rate: float
    factor: float
    outcome: Outcome
    n_iter: int
    final_loss: float
    loss: NDArray[np.float64] = field(repr=False)
    updates_needed: int | None = None
    needed_is_estimate: bool = False
    error_bound: float = math.nan
    model: LinearRegression | None = field(default=None, repr=False)

    @property
    def regime(self) -> Regime:
        """``too small`` (below 0.8/L), ``just right`` (0.8/L to 1.2/L), ``overshoots`` (up to 2/L) or
        ``too large`` (diverges)."""
        if self.outcome == "diverged" or self.factor >= 2.0:
            return "too large"
        if self.factor < JUST_RIGHT[0]:
            return "too small"
        if self.factor <= JUST_RIGHT[1]:
            return "just right"
        return "overshoots"

    @property
    def verdict(self) -> str:
        """``converged in k updates``, ``did not converge in N updates (needs M)``, ``cannot converge:
        stopped by rounding after k updates, …`` or ``diverged at update k``."""
        if self.outcome == "converged":
            return f"converged in {updates_text(self.n_iter)}"
        if self.outcome == "max_iter":
            return f"did not converge in {updates_text(self.n_iter)}{self.needs_text()}"
        if self.outcome == "floor":
            if self.updates_needed is not None and self.updates_needed > self.n_iter:
                return (f"did not converge in {updates_text(self.n_iter)}, and cannot: stopped by rounding after "
                        f"{self.updates_needed:,}, within {self.error_bound:.2g} at best")
            return f"cannot converge: stopped by rounding after {updates_text(self.n_iter)}, within {self.error_bound:.2g} at best"
        return f"diverged at update {self.n_iter:,}"

    def needs_text(self) -> str:
        """`` (needs 18,923)``, `` (needs about 1,300,000)`` or nothing."""
        if self.updates_needed is None or self.outcome != "max_iter":
            return ""
        if self.needed_is_estimate:
            return f" (needs about {_round_up(self.updates_needed):,})"
        return f" (needs {self.updates_needed:,})"

    def to_dict(self) -> dict:
        """Plain JSON types (a non-finite number stays a float; the CLI writes it as null)."""
        return {
            "learning_rate": float(self.learning_rate),
            "factor": float(self.factor),
            "regime": self.regime,
            "outcome": self.outcome,
            "n_iter": int(self.n_iter),
            "updates_needed": self.updates_needed,
            "needed_is_estimate": self.needed_is_estimate,
            "error_bound": float(self.error_bound),
            "verdict": self.verdict,
            "final_loss": float(self.final_loss),
        }


@dataclass(frozen=True, eq=False)
class LearningRateSweep:
    """The runs of a sweep and the facts they are judged by.

    Attributes
    ----------
    runs : tuple of SweepRun
        In increasing order of learning rate.
    lipschitz : float
        ``L``, the largest eigenvalue of ``XᵀX/m`` in the optimised coordinates.
    condition_number : float or None
        ``κ = L/μ`` in the same coordinates (None when unknown).
    optimum_loss : float
        The least cost any model reaches (exact least squares), target's units.
    initial_loss : float
        Cost at the common starting point.
    max_iter : int
        The update budget of every run.
    budget_source : {"problem", "given", "article"}
        Where ``max_iter`` came from: the problem (what ``1/L`` needs, see ``auto_needed``, else
        :func:`update_budget`), the caller, or the article's 1000 updates.
    tol : float
        A run has converged when every coefficient and the intercept are within ``tol`` of the exact
        least-squares answer, relatively (as :class:`LinearRegression` certifies it).
    standardize : bool
        Whether the learning rates are in standardized coordinates.
    problem : str
        What was fitted, in words.
    auto_needed : int or None
        Updates ``1/L`` needed, when the budget was derived from them.
    """

    runs: tuple[SweepRun, ...]
    lipschitz: float
    condition_number: float | None
    optimum_loss: float
    initial_loss: float
    max_iter: int
    budget_source: Literal["problem", "given", "article"]
    tol: float
    standardize: bool
    problem: str
    auto_needed: int | None = None

    @property
    def auto_learning_rate(self) -> float:
        """``1/L``, what ``learning_rate="auto"`` uses."""
        return 1.0 / self.lipschitz

    @property
    def stable_bound(self) -> float:
        """``2/L``: constant steps below it converge, steps above it diverge."""
        return 2.0 / self.lipschitz

    def run_at(self, learning_rate: float) -> SweepRun | None:
        """The run at ``learning_rate`` (to rounding), or None when the sweep has none."""
        for run in self.runs:
            if math.isclose(run.learning_rate, learning_rate, rel_tol=SAME_RATE):
                return run
        return None

    def tolerance_text(self) -> str:
        """The convergence test in words: ``every coefficient and the intercept are within …``."""
        return f"every coefficient and the intercept are within {self.tolerance_target()}"

    def tolerance_target(self) -> str:
        """How close, in words: ``a millionth (1e-06) of their exact least-squares values``."""
        return f"{_fraction(self.tol)} their exact least-squares values"

    def budget_text(self) -> str:
        """The update budget in words, with where it comes from."""
        text = f"at most {updates_text(self.max_iter)} each"
        if self.budget_source == "article":
            return f"{text}, as the article makes"
        if self.budget_source == "problem" and self.auto_needed is not None:
            return f"{text}: enough for 1/L, which needs {updates_text(self.auto_needed)}"
        if self.budget_source == "problem" and self.condition_number is not None and math.isfinite(self.condition_number):
            return (f"{text}: κ·ln(error at the start/tol) with κ = L/μ = {self.condition_number:.3g} (steepest "
                    "over flattest curvature)")
        return text

    def to_dict(self) -> dict:
        """Plain JSON types: the facts and one entry per run."""
        kappa = self.condition_number
        return {
            "problem": self.problem,
            "standardize": self.standardize,
            "lipschitz": float(self.lipschitz),
            "condition_number": float(kappa) if kappa is not None and math.isfinite(kappa) else None,
            "auto_learning_rate": float(self.auto_learning_rate),
            "stable_bound": float(self.stable_bound),
            "initial_loss": float(self.initial_loss),
            "optimum_loss": float(self.optimum_loss),
            "max_iter": int(self.max_iter),
            "budget_source": self.budget_source,
            "auto_needed": self.auto_needed,
            "tol": float(self.tol),
            "convergence": f"converged when {self.tolerance_text()}",
            "runs": [run.to_dict() for run in self.runs],
        }

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Table rows as text: learning rate, α in units of 1/L, regime, verdict, final loss."""
        return [
            (f"{run.learning_rate:.4g}", f"{run.factor:.3g}/L", run.regime, run.verdict, _loss_text(run.final_loss))
            for run in self.runs
        ]

    def __str__(self) -> str:
        header = ("learning rate", "α·L", "step", "outcome", "final loss")
        rows = [header, *self.rows()]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        lines = [
            f"Learning-rate sweep on {self.problem}: L = {self.lipschitz:.4g}, 1/L = {self.auto_learning_rate:.4g}, "
            f"2/L = {self.stable_bound:.4g}",
            f"Each run stops when {self.tolerance_text()}, {self.budget_text()}.",
        ]
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(width) if column in (2, 3) else cell.rjust(width)
                                   for column, (cell, width) in enumerate(zip(row, widths))).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


@dataclass(frozen=True)
class Count:
    """How many updates of gradient descent at one learning rate the estimator needs, from one start.

    Attributes
    ----------
    updates : int or None
        Status "tol": the update at which ``LinearRegression(solver="gd", tol=tol)`` stops with
        ``converged_``. "floor": the update at which it stops at the rounding floor, unable to
        certify ``tol``. "beyond": the contraction's estimate (``estimate``), or None when unknown.
    status : {"tol", "floor", "beyond"}
        "beyond": not within the updates counted (see :func:`updates_to_converge`).
    estimate : bool
        ``updates`` is an estimate, not a count.
    error_bound : float
        The largest relative error of a coefficient or the intercept the estimator certifies where it
        stopped (≤ tol for "tol"); nan for "beyond".
    model : LinearRegression or None
        For "tol" and "floor": the estimator's fit that stopped at update ``updates`` by itself, whose
        ``converged_``, ``error_bound_`` and ``summary()`` are the verdict's. Its ``n_iter_`` counts
        from where it was started (the common start, or a kept iterate shortly before; see
        :func:`updates_to_converge`), so ``updates`` is the count from the common start.
    """

    updates: int | None
    status: Literal["tol", "floor", "beyond"]
    estimate: bool = False
    error_bound: float = math.nan
    model: LinearRegression | None = field(default=None, repr=False)


def update_budget(condition_number: float | None, tol: float, *, initial_error: float = 1.0) -> int:
    """``κ·ln(initial_error/tol)``: the updates gradient descent at ``1/L`` takes to shrink an error
    of ``initial_error`` to ``tol`` along its flattest direction.

    At ``α = 1/L`` every component of the error is multiplied by at most ``1 − 1/κ`` an update. The
    largest relative error of a coefficient can lag behind the norm (a small coefficient), so the
    sweep counts what ``1/L`` needs and uses this only when it cannot. Rounded up to two significant
    digits and kept within ``[MIN_BUDGET, MAX_BUDGET]``; :data:`FALLBACK_BUDGET` when κ is unknown
    or infinite (a singular design).

    Parameters
    ----------
    condition_number : float or None
        ``κ = L/μ`` in the optimised coordinates.
    tol : float
        The relative error tolerance.
    initial_error : float, default=1
        The largest relative error of a coefficient or the intercept at the start (1 at θ = 0).

    Returns
    -------
    int
    """
    if condition_number is None or not math.isfinite(condition_number):
        return FALLBACK_BUDGET
    needed = condition_number * math.log(max(initial_error, tol) / tol)
    return _clamped_budget(math.ceil(needed))


def sweep_learning_rates(
    X: ArrayLike,
    y: ArrayLike,
    *,
    learning_rates: Sequence[float] | None = None,
    factors: Sequence[float] = DEFAULT_FACTORS,
    include: Sequence[float | Literal["auto"]] = (),
    max_iter: int | None = None,
    tol: float = DEFAULT_TOL,
    standardize: bool = True,
    coef_init: ArrayLike | None = None,
    intercept_init: float | None = None,
    problem: str = "the data",
    budget_source: Literal["problem", "given", "article"] | None = None,
) -> LearningRateSweep:
    """Fit plain gradient descent at several learning rates from one start and record each run.

    Each run is ``LinearRegression(solver="gd", learning_rate=α, tol=tol, standardize)`` from the
    common start: it converged at update ``k`` when the estimator stops there with ``converged_``
    (see :func:`updates_to_converge`). Its cost curve is drawn from the same iterates. A run that
    diverges (``DivergenceError``) does not stop the sweep: it is recorded as diverged at the update
    where the blow-up became clear, and its cost curve up to there is recovered by running it again
    for one update fewer. A run that does not finish in the budget says how many updates it needs.

    Parameters
    ----------
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    learning_rates : sequence of float > 0, optional
        The ``α`` to try, in the optimised coordinates. Default: ``factors / L``.
    factors : sequence of float > 0, default=DEFAULT_FACTORS
        Multiples of ``1/L`` used when ``learning_rates`` is not given.
    include : sequence of float > 0 or "auto", default=()
        Further rates to run besides those (for example the learning rate of a run being reported);
        ``"auto"`` is ``1/L``. A rate equal to one already there (to rounding) runs once.
    max_iter : int ≥ 1, optional
        Most updates per run. Default: what ``1/L`` needs (rounded up; it is run first), so that
        ``1/L`` converges within it.
    tol : float > 0, default=1e-6
        A run has converged when every coefficient and the intercept are within ``tol`` of the exact
        least-squares answer, relatively (the estimator's ``tol``).
    standardize : bool, default=True
        As for :class:`LinearRegression`; ``False`` runs on the raw design, as the article does.
    coef_init, intercept_init : optional
        The common start, as for :meth:`LinearRegression.fit`.
    problem : str
        A few words naming the problem, for tables and titles.
    budget_source : {"problem", "given", "article"}, optional
        How to describe a given ``max_iter`` (default "given").

    Returns
    -------
    LearningRateSweep

    Raises
    ------
    ValueError
        No learning rates, a rate or factor that is not a positive finite number, ``max_iter < 1`` or
        ``tol ≤ 0``, or data the estimator rejects.
    DataError
        When the gradient is already 0 at the start, so that there is nothing to sweep.
    """
    if max_iter is not None and not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}")
    # Settings are checked before anything is fitted.
    given = _check_positive(factors, "factors") if learning_rates is None else _check_positive(learning_rates, "learning_rates")
    numbers = [rate for rate in include if not (isinstance(rate, str) and rate == "auto")]
    extra = _check_positive(numbers, "include") if numbers else []
    facts = _Problem.build(X, y, tol=tol, standardize=standardize, coef_init=coef_init,
                           intercept_init=intercept_init)
    lipschitz = facts.lipschitz
    rates = [factor / lipschitz for factor in given] if learning_rates is None else given
    rates += [1.0 / lipschitz] * (len(include) - len(numbers)) + extra
    counted: dict[float, tuple[Count, LinearRegression]] = {}
    auto_needed = None
    if max_iter is None:
        # The budget is what 1/L needs: run it first (its count is kept for its own row).
        auto_rate = 1.0 / lipschitz
        counted[auto_rate] = facts.count(auto_rate, limit=COUNT_LIMIT)
        auto = counted[auto_rate][0]
        if auto.status != "beyond" and auto.updates is not None:
            auto_needed = auto.updates
            budget = _clamped_budget(auto.updates)
        else:
            budget = update_budget(facts.kappa, tol, initial_error=facts.start_error)
        source = "problem"
    else:
        budget, source = int(max_iter), budget_source or "given"
    runs = [_run_one(facts, rate, budget, next((done for known, done in counted.items()
                                                 if math.isclose(known, rate, rel_tol=SAME_RATE)), None))
            for rate in _distinct(rates)]
    return LearningRateSweep(
        runs=tuple(runs),
        lipschitz=lipschitz,
        condition_number=facts.kappa,
        optimum_loss=facts.optimum_loss,
        initial_loss=facts.initial_loss,
        max_iter=budget,
        budget_source=source,
        tol=float(tol),
        standardize=standardize,
        problem=problem,
        auto_needed=auto_needed,
    )


def updates_to_converge(
    X: ArrayLike,
    y: ArrayLike,
    learning_rate: float | Literal["auto"],
    *,
    tol: float = DEFAULT_TOL,
    standardize: bool = True,
    coef_init: ArrayLike | None = None,
    intercept_init: float | None = None,
    limit: int = COUNT_LIMIT,
) -> Count:
    """The updates ``LinearRegression(solver="gd", learning_rate=..., tol=tol)`` makes before it stops
    with ``converged_`` (or at the rounding floor), from the given start: what "converged" means in
    the sweep, the report and ``gradfit demo`` alike.

    The estimator decides. A run that reaches the tolerance within :data:`DIRECT_UPDATES` updates is
    fitted from the start with ``max_iter=limit``. A longer one first runs with ``tol=0`` (cheap
    closed-form blocks, keeping :data:`TRACE_POINTS` iterates) to find, against the exact answer,
    the last kept iterate whose relative error is still above the tolerance (less the rounding
    floor); the estimator is then started there, and its count added. It must make at least one
    update from there (else an earlier iterate is tried), so it was not done at that iterate; it
    could have been done earlier only if the relative error dipped below the tolerance between two
    kept iterates and rose again, which the iterates kept rule out to their spacing. Runs the
    contraction says cannot reach the tolerance within ``limit`` updates are not counted: their
    ``updates`` is its estimate.

    Parameters
    ----------
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    learning_rate : float > 0 or "auto"
        In the optimised coordinates; "auto" is ``1/L``.
    tol : float > 0, default=1e-6
    standardize : bool, default=True
    coef_init, intercept_init : optional
        The start, as for :meth:`LinearRegression.fit`.
    limit : int, default=COUNT_LIMIT
        Most updates counted.

    Returns
    -------
    Count

    Raises
    ------
    DivergenceError
        When the learning rate is past the stable bound and the run blows up.
    DataError
        When the gradient is already 0 at the start.
    """
    facts = _Problem.build(X, y, tol=tol, standardize=standardize, coef_init=coef_init,
                           intercept_init=intercept_init)
    rate = 1.0 / facts.lipschitz if isinstance(learning_rate, str) and learning_rate == "auto" else float(learning_rate)
    return facts.count(rate, limit=limit)[0]


def fit_run(
    X: ArrayLike,
    y: ArrayLike,
    sweep: LearningRateSweep,
    learning_rate: float,
    *,
    record_path: bool | int = True,
    coef_init: ArrayLike | None = None,
    intercept_init: float | None = None,
) -> LinearRegression:
    """The model of one run of ``sweep``: gradient descent at its rate for exactly its updates.

    The model stops where the sweep's run stopped (converged, at the rounding floor, or at the end
    of the budget), so a report of it and the sweep's table say the same. It is fitted with
    ``tol=0`` so that it makes exactly those updates; its ``error_bound_`` is the relative error the
    estimator certifies there (at most ``sweep.tol`` for a converged run), and the sweep's run has
    the verdict.

    Parameters
    ----------
    X, y
        The sweep's data.
    sweep : LearningRateSweep
    learning_rate : float
        One of the sweep's rates (see :meth:`LearningRateSweep.run_at`).
    record_path : bool or int, default=True
        As for :class:`LinearRegression`.
    coef_init, intercept_init : optional
        The sweep's start.

    Returns
    -------
    LinearRegression

    Raises
    ------
    ValueError
        When the sweep has no run at ``learning_rate``.
    DivergenceError
        When the run diverged (the fit diverges at the same update).
    """
    run = sweep.run_at(learning_rate)
    if run is None:
        raise ValueError(f"the sweep has no run at learning rate {learning_rate!r}; include it in the sweep")
    model = LinearRegression(solver="gd", learning_rate=run.learning_rate, max_iter=max(1, run.n_iter), tol=0,
                             standardize=sweep.standardize, record_path=record_path)
    return model.fit(X, y, coef_init=coef_init, intercept_init=intercept_init)


def certificate(X: ArrayLike, y: ArrayLike, sweep: LearningRateSweep, model: LinearRegression) -> LinearRegression | None:
    """The estimator's own fit that stops, by itself, at ``model``'s coefficients (a gradient-descent
    model of the sweep's problem from its start, such as :func:`fit_run` gives): its ``converged_``
    and ``error_bound_`` say whether they are within the sweep's tolerance, and its ``summary()`` is
    their table when they are.

    For the sweep's own run (the same updates at the same rate) it is that run's :attr:`SweepRun.model`,
    the fit whose stop the sweep reports. Otherwise the estimator is started at ``model``'s
    coefficients with the sweep's tolerance: it stops at once when it certifies them (or is stuck at
    the rounding floor there). None when it would not stop there (the coefficients are not within
    the tolerance yet).

    Parameters
    ----------
    X, y
        The sweep's data.
    sweep : LearningRateSweep
    model : LinearRegression
        Fitted by ``solver="gd"`` at a constant learning rate.

    Returns
    -------
    LinearRegression or None
    """
    rate = model.learning_rate_
    run = sweep.run_at(rate) if rate is not None else None
    if run is not None and run.model is not None and run.n_iter == model.n_iter_:
        return run.model
    if rate is None:
        return None
    probe = LinearRegression(solver="gd", learning_rate=rate, tol=sweep.tol, max_iter=1, standardize=sweep.standardize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a floor is an answer here
        probe.fit(X, y, coef_init=model.coef_, intercept_init=model.intercept_)
    return probe if probe.n_iter_ == 0 else None


def article_sweep(
    *,
    seed: int | None = None,
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    learning_rates: Sequence[float] | None = None,
    include: Sequence[float | Literal["auto"]] = (),
    max_iter: int | None = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    include_article_rate: bool = True,
) -> LearningRateSweep:
    """:func:`sweep_learning_rates` on the article's problem with its raw settings.

    The article's 100 points (``y = 2x + 1 + noise``), raw design ``[1, x]`` (no standardizing) and
    start ``θ = (1, 1)``, so the learning rates are the article's own scale (its ``α = 0.01``), and
    the article's 1000 updates per run.

    Parameters
    ----------
    seed : int or None
        Seed of :func:`gradfit.datasets.make_article_data`.
    X, y : array-like, optional
        The article's data already drawn (e.g. ``ArticleRun.X``, ``ArticleRun.y``); by default they
        are drawn with ``seed``, which then only names them.
    learning_rates : sequence of float, optional
        Default: :data:`DEFAULT_FACTORS` ``/ L``.
    include : sequence of float or "auto", default=()
        Further rates (e.g. the reported run's), as for :func:`sweep_learning_rates`.
    max_iter : int or None, default=1000
        Updates per run (the article's run makes 1000; None is the same).
    tol : float, default=1e-6
        As for :func:`sweep_learning_rates` (and :func:`gradfit.article.run_article`).
    include_article_rate : bool, default=True
        Add the article's ``α = 0.01`` to the default rates.

    Returns
    -------
    LearningRateSweep
    """
    if (X is None) != (y is None):
        raise ValueError("give both X and y, or neither (to draw the article's data from seed)")
    if X is None:
        X, y = make_article_data(seed=seed)
    intercept0, slope0 = ARTICLE_START
    data = f"seed {seed}" if seed is not None else "fresh data"
    problem = f"the article's {len(y)} points ({data}, raw design, start θ = (1, 1))"
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER
    extra = [*include, *([ARTICLE_LEARNING_RATE] if learning_rates is None and include_article_rate else [])]
    return sweep_learning_rates(X, y, learning_rates=learning_rates, include=extra, max_iter=max_iter, tol=tol,
                                standardize=False, coef_init=[slope0], intercept_init=intercept0, problem=problem,
                                budget_source="article" if max_iter == DEFAULT_MAX_ITER else "given")


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
    title: str | None = None,
) -> LearningRateSweep:
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
        Also write :func:`gradfit.plots.sweep_figure` here (matplotlib is imported only then).
    title : str, optional
        Title of that figure (default: :data:`gradfit.plots.sweep.SWEEP_TITLE`).

    Returns
    -------
    gradfit.learning.LearningRateSweep
    """
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
        from gradfit.plots import plot_sweep  # matplotlib: only when a figure is asked for

        plot_sweep(sweep, path, **({} if title is None else {"title": title}))
    return sweep


@dataclass(frozen=True)
class _Problem:
    """What every run of a sweep shares, and how one run's updates are counted."""

    X: ArrayLike
    y: ArrayLike
    standardize: bool
    start: dict
    tol: float
    lipschitz: float
    kappa: float | None
    initial_loss: float
    optimum_loss: float
    exact: NDArray[np.float64]  # [intercept, *coef] of the exact least-squares answer, user's units
    judged: NDArray[np.bool_]  # the entries of `exact` whose relative error is defined (not 0)
    start_error: float  # the largest relative error at the start

    @classmethod
    def build(cls, X: ArrayLike, y: ArrayLike, *, tol: float, standardize: bool, coef_init: ArrayLike | None,
              intercept_init: float | None) -> _Problem:
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
            raise ValueError(f"tol must be a positive number to judge convergence; got {tol!r}")
        start = {"coef_init": coef_init, "intercept_init": intercept_init}
        # One update at 1/L from the start tells L, κ, the cost and the gradient there, and the start
        # itself in the user's units (the first iterate of its path).
        probe = LinearRegression(solver="gd", learning_rate="auto", max_iter=1, tol=0, standardize=standardize,
                                 record_path=True).fit(X, y, **start)
        # tol=0 makes its one update unless the gradient is exactly 0.
        if not (len(probe.history_) and float(probe.history_.grad_norm[0]) > 0):
            raise DataError(
                "gradient descent has nothing to do on these data: the cost's gradient is already 0 at the start "
                "(a constant target, fitted by the intercept alone?), so every learning rate would 'converge' after "
                "0 updates; sweep a target that varies"
            )
        answer = LinearRegression(solver="exact", standardize=standardize).fit(X, y)
        exact = np.concatenate([[answer.intercept_], answer.coef_]).astype(np.float64)
        judged = exact != 0
        return cls(X=X, y=y, standardize=standardize, start=start, tol=float(tol), lipschitz=float(probe.lipschitz_),
                   kappa=None if probe.condition_number_ is None else float(probe.condition_number_),
                   initial_loss=float(probe.loss_history_[0]), optimum_loss=float(answer.final_loss_), exact=exact,
                   judged=judged, start_error=float(_relative_errors(probe.path_[:1], exact, judged)[0]))

    def fit(self, rate: float, updates: int, *, tol: float = 0.0, start: dict | None = None,
            record_path: bool | int = False) -> LinearRegression:
        model = LinearRegression(solver="gd", learning_rate=rate, max_iter=max(1, int(updates)), tol=tol,
                                 standardize=self.standardize, record_path=record_path)
        with warnings.catch_warnings():
            # Running out of updates, or stopping at the rounding floor, is an answer here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(self.X, self.y, **(self.start if start is None else start))
        if model.status_ == "interrupted":  # the driver turns Ctrl-C into a model; stop the sweep instead
            raise KeyboardInterrupt
        return model

    def relative_errors(self, path: NDArray[np.float64]) -> NDArray[np.float64]:
        """The largest relative error against the exact answer of each row ``[intercept, *coef]``."""
        return _relative_errors(path, self.exact, self.judged)

    def contraction(self, rate: float) -> float | None:
        """``‖I − αG‖`` on the range of G, ``max(|1 − αμ|, |1 − αL|)``: every component of the error
        shrinks by at least this factor an update (None when κ is unknown, or the factor is not below 1)."""
        if self.kappa is None or not math.isfinite(self.kappa):
            return None
        mu = self.lipschitz / self.kappa
        factor = max(abs(1.0 - rate * mu), abs(1.0 - rate * self.lipschitz))
        return factor if factor < 1.0 else None

    def updates_for(self, rate: float, error: float) -> int | None:
        """Updates that shrink a relative error of ``error`` to ``tol`` at the contraction's rate
        (a prediction: the error's slowest component sets the pace; None when unknown)."""
        if error <= self.tol:
            return 0
        factor = self.contraction(rate)
        if factor is None or not math.isfinite(error):
            return None
        if factor == 0.0:  # every direction settled in one update (G = L·I, α = 1/L)
            return 1
        return math.ceil(math.log(error / self.tol) / -math.log(factor))

    def count(self, rate: float, *, limit: int, min_length: int = 0) -> tuple[Count, LinearRegression]:
        """:func:`updates_to_converge` at ``rate``, with the ``tol=0`` run from the start it traced
        (at least ``min_length`` updates long when the run does not converge before, for its curve).

        Raises DivergenceError when the traced run blows up."""
        guess = self.updates_for(rate, self.start_error)
        if guess is None:
            length = min(limit, max(min_length, FALLBACK_BUDGET))
        elif guess * LENGTH_SLACK > limit:  # predicted past the limit: trace what is drawn, then see
            length = min(limit, max(min_length, 1))
        else:
            length = max(1, math.ceil(guess * LENGTH_SLACK))
        extended = False
        while True:
            trace = self.fit(rate, length, record_path=TRACE_POINTS)
            errors = self.relative_errors(trace.path_)
            crossed = np.flatnonzero(errors <= self.tol)
            if crossed.size:
                first = int(crossed[0])
                break
            if self.accepts(rate, trace.path_[-1]):
                # Stuck at the rounding floor before the true error gets to the tolerance.
                first = len(errors)
                break
            more = self.updates_for(rate, float(errors[-1]))
            if length < min(min_length, limit) and (more is None or length + more > limit):
                length = min(min_length, limit)  # not counted, but its curve is drawn to the budget
                continue
            if more is not None and length + more > limit:
                return Count(length + more, "beyond", estimate=True), trace
            if length >= limit:
                return Count(None, "beyond"), trace
            # The prediction is tried once; a run that lags behind it (a small coefficient whose
            # error shrinks more slowly than predicted) grows geometrically from then on.
            grown = length + max(1, math.ceil(more * LENGTH_SLACK)) if more is not None else 2 * length
            length = min(limit, max(grown, 2 * length) if extended else grown)
            extended = True
        iterations, path = trace.path_iterations_, trace.path_
        if first == 0 or iterations[min(first, len(iterations) - 1)] <= DIRECT_UPDATES:
            return self.judge(rate, limit), trace
        return self.judge_near(rate, limit, iterations, path, first), trace

    def accepts(self, rate: float, row: NDArray[np.float64]) -> bool:
        """Whether the estimator stops at once from the iterate ``[intercept, *coef]``: it certifies
        the tolerance there, or is stuck at the rounding floor."""
        return self.fit(rate, 1, tol=self.tol, start=_start_at(row)).n_iter_ == 0

    def judge_near(self, rate: float, limit: int, iterations: NDArray[np.intp], path: NDArray[np.float64],
                   first: int) -> Count:
        """The estimator's count, started at the last kept iterate it does not accept yet.

        Whether the estimator accepts an iterate (certifies the tolerance there, or is stuck at the
        rounding floor) costs one fit of at most one update from it. It certifies the true error
        plus a rounding floor, so it accepts nothing before the true error crosses the tolerance
        (kept iterate ``first``), and possibly a while after: the first kept iterate it accepts is
        found by galloping and then bisecting, the kept iterates extended past the traced run's end
        when need be.
        """
        iterations, path = [int(k) for k in iterations], list(path)

        def accepted(index: int) -> bool:
            return self.accepts(rate, path[index])

        low, step = first - 1, 1
        while low > 0 and accepted(low):  # stuck at the floor before the true crossing: go back
            low, step = max(0, low - step), 2 * step
        if low == 0:
            return self.judge(rate, limit)
        high, step = None, 1
        while high is None:
            candidate = low + step
            if candidate >= len(iterations):
                more = min(max(iterations[-1] // EXTEND_SHARE, MIN_EXTENSION), limit - iterations[-1])
                if more <= 0:
                    break
                extension = self.fit(rate, more, start=_start_at(path[-1]), record_path=TRACE_POINTS)
                iterations += [iterations[-1] + int(k) for k in extension.path_iterations_[1:]]
                path += list(extension.path_[1:])
                continue
            if accepted(candidate):
                high = candidate
            else:
                low, step = candidate, 2 * step
        if high is None:  # no kept iterate up to the limit is accepted: not within it
            return Count(None, "beyond")
        while high - low > 1:
            middle = (low + high) // 2
            if accepted(middle):
                high = middle
            else:
                low = middle
        offset = iterations[low]
        return _count_of(self.fit(rate, limit - offset, tol=self.tol, start=_start_at(path[low])), offset)

    def judge(self, rate: float, limit: int) -> Count:
        """The estimator's own count from the common start."""
        return _count_of(self.fit(rate, limit, tol=self.tol), 0)


def _relative_errors(path: NDArray[np.float64], exact: NDArray[np.float64], judged: NDArray[np.bool_]) -> NDArray[np.float64]:
    if not judged.any():
        return np.zeros(len(path))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.max(np.abs(np.asarray(path)[:, judged] - exact[judged]) / np.abs(exact[judged]), axis=1)


def _start_at(row: NDArray[np.float64]) -> dict:
    """``fit``'s start at a kept iterate ``[intercept, *coef]``."""
    return {"coef_init": np.asarray(row[1:], dtype=np.float64), "intercept_init": float(row[0])}


def _count_of(model: LinearRegression, offset: int) -> Count:
    if model.status_ in ("tol", "floor"):
        return Count(offset + int(model.n_iter_), model.status_, error_bound=float(model.error_bound_), model=model)
    return Count(None, "beyond")


def _run_one(problem: _Problem, rate: float, budget: int, counted: tuple[Count, LinearRegression] | None) -> SweepRun:
    """Count the run at ``rate`` (or take its count) and draw its curve over the updates shown."""
    factor = rate * problem.lipschitz
    try:
        count, trace = counted or problem.count(rate, limit=max(COUNT_LIMIT, budget), min_length=budget)
    except DivergenceError as error:
        if error.iteration <= budget:
            return _diverged_run(problem, rate, factor, error)
        # It blows up only past the budget: within it, a run that has not converged.
        trace = problem.fit(rate, budget)
        return SweepRun(learning_rate=float(rate), factor=float(factor), outcome="max_iter", n_iter=budget,
                        final_loss=float(trace.final_loss_), loss=_curve(problem, rate, trace, budget))
    reached = count.status in ("tol", "floor") and count.updates is not None and count.updates <= budget
    shown = int(count.updates) if reached else budget
    loss = _curve(problem, rate, trace, shown)
    if count.status == "tol" and reached:
        outcome: Outcome = "converged"
    elif count.status == "floor":
        outcome = "floor"
    else:
        outcome = "max_iter"
    return SweepRun(learning_rate=float(rate), factor=float(factor), outcome=outcome, n_iter=shown,
                    final_loss=float(loss[-1]), loss=loss,
                    updates_needed=None if reached and outcome == "converged" else count.updates,
                    needed_is_estimate=count.estimate,
                    error_bound=count.error_bound if count.status != "beyond" else math.nan,
                    model=count.model if reached else None)


def _curve(problem: _Problem, rate: float, trace: LinearRegression, updates: int) -> NDArray[np.float64]:
    """``J(θ_0) … J(θ_updates)`` of the tol=0 run from the start (``trace``, or a longer one)."""
    if trace.n_iter_ < updates:
        trace = problem.fit(rate, updates)
    loss = np.append(np.asarray(trace.loss_history_, dtype=np.float64), trace.final_loss_)
    return loss[: updates + 1]


def _diverged_run(problem: _Problem, rate: float, factor: float, error: DivergenceError) -> SweepRun:
    # The error's losses are in the optimised scale; the start's cost in both scales gives the factor.
    scale = problem.initial_loss / error.initial_loss if error.initial_loss > 0 else 1.0
    with np.errstate(over="ignore"):
        blown = float(error.loss * scale)
    before = [problem.initial_loss]
    if error.iteration > 1:
        # The same run, one update short of the blow-up: the driver only raises when it sees the
        # divergent iterate, which this replay never reaches.
        replay = problem.fit(rate, error.iteration - 1)
        before = [*replay.loss_history_, replay.final_loss_]
    return SweepRun(
        learning_rate=float(rate),
        factor=float(factor),
        outcome="diverged",
        n_iter=int(error.iteration),
        final_loss=blown,
        loss=np.array([*before, blown], dtype=np.float64),
    )


def _clamped_budget(updates: int) -> int:
    """``updates`` rounded up to two significant digits, within ``[MIN_BUDGET, MAX_BUDGET]``."""
    return int(min(MAX_BUDGET, max(MIN_BUDGET, _round_up(int(updates)))))


def _distinct(rates: Sequence[float]) -> list[float]:
    """Sorted, with rates equal to rounding (1/L computed twice) kept once."""
    kept: list[float] = []
    for rate in sorted(rates):
        if not kept or not math.isclose(kept[-1], rate, rel_tol=SAME_RATE):
            kept.append(rate)
    return kept


def updates_text(count: int) -> str:
    """``1 update``, ``18,923 updates``."""
    return f"{count:,} update{'s' if count != 1 else ''}"


def _round_up(count: int) -> int:
    """``count`` rounded up to two significant digits (13,816 → 14,000)."""
    if count < 100:
        return int(count)
    unit = 10 ** (len(str(int(count))) - 2)
    return int(-(-count // unit) * unit)


def _fraction(tol: float) -> str:
    for value, words in _FRACTION_WORDS.items():
        if math.isclose(tol, value, rel_tol=1e-12):
            return f"{words} ({tol:g}) of"
    return f"a relative {tol:g} of"


def _check_positive(values: Sequence[float], name: str) -> list[float]:
    checked = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            raise ValueError(f"{name} must be positive finite numbers; got {value!r}")
        checked.append(number)
    if not checked:
        raise ValueError(f"{name} is empty; give at least one learning rate")
    return checked


def _loss_text(loss: float) -> str:
    return f"{loss:.6g}" if math.isfinite(loss) else "inf"
