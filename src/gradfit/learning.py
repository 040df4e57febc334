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

The sweep judges convergence itself, from the gradient norms each run records: a run has converged
once ``‖∇J(θ_k)‖ ≤ tol·‖∇J(0)‖`` (the gradient has shrunk to ``tol`` times its size at θ = 0, in
the optimised coordinates). The runs are fitted with ``tol=0`` and as many updates as they need, so
the verdicts do not depend on what the estimator's own ``tol`` means. The update budget comes from
the problem: gradient descent at ``1/L`` shrinks the gradient by at least ``1 − 1/κ`` an update
(``κ = L/μ``, μ the smallest curvature), so ``κ·ln(1/tol)`` updates are always enough for it.

No matplotlib here: :func:`gradfit.plots.sweep_figure` draws a sweep, and
:func:`gradfit.plots.learning_rate_sweep` runs one and draws it.

Examples
--------
>>> from gradfit.learning import article_sweep
>>> sweep = article_sweep(seed=0)
>>> [run.regime for run in sweep.runs]
['too small', 'too small', 'too small', 'just right', 'overshoots', 'too large']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gradfit.errors import DataError, DivergenceError
from gradfit.estimator import LinearRegression

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "REGIMES",
    "LearningRateSweep",
    "SweepRun",
    "article_sweep",
    "fit_run",
    "sweep_learning_rates",
    "update_budget",
]

#: Default learning rates as multiples of 1/L: too small (0.1, 0.5), just right (1), overshooting but
#: converging (1.9), and past the stable bound 2/L (2.1).
DEFAULT_FACTORS = (0.1, 0.5, 1.0, 1.9, 2.1)

#: Updates per run of the article's sweep: the article's own 1000, so that its α = 0.01 row is the
#: article's run.
DEFAULT_MAX_ITER = 1000
#: A run has converged when its gradient norm is at most this fraction of its norm at θ = 0.
DEFAULT_TOL = 1e-6

#: The article's learning rate, added to the default rates of :func:`article_sweep`.
ARTICLE_LEARNING_RATE = 0.01

#: Bounds on the budget chosen from the problem: enough updates to see a curve on an easy problem,
#: and few enough (about a second a run) on a hopeless one.
MIN_BUDGET = 100
MAX_BUDGET = 1_000_000
#: Budget when the condition number is unknown (the streaming engine, or a singular design).
FALLBACK_BUDGET = 10_000
#: Most updates run to count how many a run that did not finish in the budget would need (beyond
#: that the table gives the bound's estimate, marked "about").
COUNT_LIMIT = 1_000_000
#: Updates of a run's first try: short enough that a run which converges early does not go on far
#: past its tolerance (past the rounding floor each update costs far more), long enough that most
#: small problems need one try.
FIRST_TRY = 4096
#: Learning rates from JUST_RIGHT[0]/L to JUST_RIGHT[1]/L are "just right": at most 25% more updates
#: than 1/L in the slow directions, and an overshoot of at most a fifth in the steepest one.
JUST_RIGHT = (0.8, 1.2)
#: Two learning rates closer than this (relative) are the same rate (1/L computed twice).
SAME_RATE = 1e-12

Outcome = Literal["converged", "max_iter", "diverged"]
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
    outcome : {"converged", "max_iter", "diverged"}
    n_iter : int
        Updates made: to the tolerance (converged), the whole budget, or the update at which the
        divergence became clear.
    final_loss : float
        Cost ``Σr²/2m`` where the run stopped (at the divergence point for a divergent run; may be inf).
    loss : ndarray of shape (n_iter + 1,)
        ``J(θ_k)`` for ``k = 0 … n_iter`` in the target's units. For a divergent run it ends at the
        cost where the divergence was caught.
    updates_needed : int or None
        For a run that did not finish in the budget: the updates it needs to reach the tolerance
        (counted when at most :data:`COUNT_LIMIT`, else the bound's estimate); None otherwise, or
        when unknown.
    needed_is_estimate : bool
        ``updates_needed`` is an estimate (an upper bound from the contraction of ``I − αG``), not a count.
    """

    learning_rate: float
    factor: float
    outcome: Outcome
    n_iter: int
    final_loss: float
    loss: NDArray[np.float64] = field(repr=False)
    updates_needed: int | None = None
    needed_is_estimate: bool = False

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
        """``converged in k updates``, ``did not converge in N updates (needs M)`` or ``diverged at update k``."""
        if self.outcome == "converged":
            return f"converged in {_updates(self.n_iter)}"
        if self.outcome == "max_iter":
            return f"did not converge in {_updates(self.n_iter)}{self.needs_text()}"
        return f"diverged at update {self.n_iter:,}"

    def needs_text(self) -> str:
        """`` (needs 14,678)``, `` (needs about 1,100,000)`` or nothing."""
        if self.updates_needed is None:
            return ""
        if self.needed_is_estimate:
            return f" (needs about {_round_up(self.updates_needed):,})"
        return f" (needs {self.updates_needed:,})"

    def to_dict(self) -> dict:
        """Plain JSON types (a non-finite loss stays a float; the CLI writes it as null)."""
        return {
            "learning_rate": float(self.learning_rate),
            "factor": float(self.factor),
            "regime": self.regime,
            "outcome": self.outcome,
            "n_iter": int(self.n_iter),
            "updates_needed": self.updates_needed,
            "needed_is_estimate": self.needed_is_estimate,
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
        Where ``max_iter`` came from: ``κ·ln(1/tol)`` (see :func:`update_budget`), the caller, or
        the article's 1000 updates.
    tol : float
        A run has converged when ``‖∇J(θ)‖ ≤ tol·‖∇J(0)‖``.
    standardize : bool
        Whether the learning rates are in standardized coordinates.
    problem : str
        What was fitted, in words.
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
        """The convergence test in words: ``the gradient (how steep the cost is) has shrunk to …``."""
        return f"the gradient (how steep the cost is) has shrunk to {self.tolerance_target()}"

    def tolerance_target(self) -> str:
        """What the gradient must shrink to, in words: ``a millionth (1e-06) of its size at θ = 0``."""
        return f"{_fraction(self.tol)} its size at θ = 0"

    def budget_text(self) -> str:
        """The update budget in words, with where it comes from."""
        text = f"at most {_updates(self.max_iter)} each"
        if self.budget_source == "article":
            return f"{text}, as the article makes"
        if self.budget_source == "problem" and self.condition_number is not None and math.isfinite(self.condition_number):
            return (f"{text}: κ·ln(1/tol) with κ = L/μ = {self.condition_number:.3g} (steepest over flattest "
                    "curvature), always enough at 1/L")
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


def update_budget(condition_number: float | None, tol: float, *, start_ratio: float = 1.0) -> int:
    """Updates that gradient descent at ``1/L`` is sure to need at most: ``κ·ln(start_ratio/tol)``.

    At ``α = 1/L`` the gradient is multiplied by ``I − G/L`` every update, whose norm on the range of
    ``G`` is ``1 − 1/κ``, so ``‖∇J(θ_k)‖ ≤ e^{−k/κ}‖∇J(θ_0)‖``. Rounded up to two significant
    digits and kept within ``[MIN_BUDGET, MAX_BUDGET]``; :data:`FALLBACK_BUDGET` when κ is unknown
    or infinite (a singular design).

    Parameters
    ----------
    condition_number : float or None
        ``κ = L/μ`` in the optimised coordinates.
    tol : float
        The relative gradient tolerance.
    start_ratio : float, default=1
        ``‖∇J(θ_0)‖ / ‖∇J(0)‖`` for a start other than θ = 0.

    Returns
    -------
    int
    """
    if condition_number is None or not math.isfinite(condition_number):
        return FALLBACK_BUDGET
    needed = condition_number * math.log(max(start_ratio, tol) / tol)
    return int(min(MAX_BUDGET, max(MIN_BUDGET, _round_up(math.ceil(needed)))))


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

    Each run is ``LinearRegression(solver="gd", learning_rate=α, tol=0, standardize)``, fitted with as
    many updates as it needs (never more than ``max_iter``); its verdict comes from the gradient
    norms it records (see the module's docstring). A run that diverges (``DivergenceError``) does
    not stop the sweep: it is recorded as diverged at the update where the blow-up became clear, and
    its cost curve up to there is recovered by running it again for one update fewer. A run that
    does not finish says how many updates it would need.

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
        Most updates per run. Default: :func:`update_budget`, enough for ``1/L`` to converge.
    tol : float > 0, default=1e-6
        A run has converged when ``‖∇J(θ)‖ ≤ tol·‖∇J(0)‖``.
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
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number to judge convergence; got {tol!r}")
    settings = {"solver": "gd", "standardize": standardize}
    start = {"coef_init": coef_init, "intercept_init": intercept_init}
    # One update at 1/L from the start tells L, κ, the cost there and the gradient there; one from
    # θ = 0 (the same run when the start is the default) the gradient the tolerance is relative to.
    probe = LinearRegression(learning_rate="auto", max_iter=1, tol=0, **settings).fit(X, y, **start)
    origin = probe if coef_init is None and intercept_init is None else (
        LinearRegression(learning_rate="auto", max_iter=1, tol=0, **settings).fit(X, y))
    # tol=0 stops before its one update only where the gradient is exactly 0.
    start_grad = float(probe.history_.grad_norm[0]) if len(probe.history_) else 0.0
    reference = float(origin.history_.grad_norm[0]) if len(origin.history_) else 0.0
    if start_grad == 0 or reference == 0:
        raise DataError(
            "gradient descent has nothing to do on these data: the cost's gradient is already 0 at the start "
            "(a constant target, fitted by the intercept alone?), so every learning rate would 'converge' after "
            "0 updates; sweep a target that varies"
        )
    lipschitz = float(probe.lipschitz_)
    kappa = None if probe.condition_number_ is None else float(probe.condition_number_)
    initial_loss = float(probe.loss_history_[0])
    optimum_loss = float(LinearRegression(solver="exact", standardize=standardize).fit(X, y).final_loss_)
    if max_iter is None:
        budget, source = update_budget(kappa, tol, start_ratio=start_grad / reference), "problem"
    else:
        budget, source = int(max_iter), budget_source or "given"

    if learning_rates is None:
        _check_positive(factors, "factors")
        rates = [factor / lipschitz for factor in factors]
    else:
        rates = _check_positive(learning_rates, "learning_rates")
    if include:
        extra = [1.0 / lipschitz if isinstance(rate, str) and rate == "auto" else rate for rate in include]
        rates = [*rates, *_check_positive(extra, "include")]
    problem_facts = _Problem(X=X, y=y, settings=settings, start=start, lipschitz=lipschitz, kappa=kappa,
                             initial_loss=initial_loss, threshold=tol * reference, start_grad=start_grad,
                             budget=budget)
    runs = [_run_one(problem_facts, rate) for rate in _distinct(rates)]
    return LearningRateSweep(
        runs=tuple(runs),
        lipschitz=lipschitz,
        condition_number=kappa,
        optimum_loss=optimum_loss,
        initial_loss=initial_loss,
        max_iter=budget,
        budget_source=source,
        tol=float(tol),
        standardize=standardize,
        problem=problem,
    )


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

    The model stops where the sweep's run stopped (converged, or at the end of the budget), so a
    report of it and the sweep's table say the same. Its ``converged_`` is the estimator's (False:
    it is fitted with ``tol=0``); the sweep's run has the verdict.

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
        As for :func:`sweep_learning_rates`.
    include_article_rate : bool, default=True
        Add the article's ``α = 0.01`` to the default rates.

    Returns
    -------
    LearningRateSweep
    """
    from gradfit.article import ARTICLE_START
    from gradfit.datasets import make_article_data

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


@dataclass(frozen=True)
class _Problem:
    """What every run of a sweep shares."""

    X: ArrayLike
    y: ArrayLike
    settings: dict
    start: dict
    lipschitz: float
    kappa: float | None
    initial_loss: float
    threshold: float  # tol·‖∇J(0)‖, optimised coordinates
    start_grad: float  # ‖∇J(θ_0)‖
    budget: int

    def fit(self, rate: float, updates: int) -> LinearRegression:
        model = LinearRegression(learning_rate=rate, max_iter=updates, tol=0, **self.settings)
        return model.fit(self.X, self.y, **self.start)

    def contraction(self, rate: float) -> float | None:
        """``‖I − αG‖`` on the range of G, ``max(|1 − αμ|, |1 − αL|)``: the gradient shrinks by at least
        this factor an update (None when κ is unknown, or the factor is not below 1)."""
        if self.kappa is None or not math.isfinite(self.kappa):
            return None
        mu = self.lipschitz / self.kappa
        factor = max(abs(1.0 - rate * mu), abs(1.0 - rate * self.lipschitz))
        return factor if factor < 1.0 else None

    def updates_bound(self, rate: float, grad_norm: float) -> int | None:
        """Updates from a gradient of ``grad_norm`` after which the tolerance surely holds (None: unknown)."""
        factor = self.contraction(rate)
        if factor is None:
            return None
        if grad_norm <= self.threshold:
            return 0
        if factor == 0.0:  # every direction settled in one update (G = L·I, α = 1/L)
            return 1
        return math.ceil(math.log(grad_norm / self.threshold) / -math.log(factor))


def _run_one(problem: _Problem, rate: float) -> SweepRun:
    """Run gradient descent at ``rate`` until its gradient meets the threshold or the budget is spent.

    Every fit is ``tol=0`` with ``n + 1`` updates, so that its history holds the gradient norms of
    ``θ_0 … θ_n``. The first try is as long as the bound on the updates needed (or FIRST_TRY, or the
    budget); each next one as long as the bound from where the last ended, so a run rarely goes far
    past its tolerance.
    """
    factor = rate * problem.lipschitz
    bound = problem.updates_bound(rate, problem.start_grad)
    length = min(problem.budget, FIRST_TRY if bound is None else max(1, min(bound, FIRST_TRY)))
    while True:
        try:
            model = problem.fit(rate, length + 1)
        except DivergenceError as error:
            if error.iteration > problem.budget:  # the budget's extra look-ahead update blew up
                model = problem.fit(rate, problem.budget)
                return _unfinished(problem, rate, factor, model, np.append(model.loss_history_, model.final_loss_))
            return _diverged_run(problem, rate, factor, error)
        grads = model.history_.grad_norm
        loss = np.asarray(model.loss_history_, dtype=np.float64)
        if model.n_iter_ <= length:
            # tol=0 stops early only on a gradient of exactly 0 (one step of 1/L when G = L·I): reached.
            grads, loss = np.append(grads, 0.0), np.append(loss, model.final_loss_)
        reached = np.flatnonzero(grads <= problem.threshold)
        if reached.size:
            updates = int(reached[0])
            loss = loss[: updates + 1]
            return SweepRun(learning_rate=float(rate), factor=float(factor), outcome="converged", n_iter=updates,
                            final_loss=float(loss[-1]), loss=loss)
        if length >= problem.budget:
            return _unfinished(problem, rate, factor, model, np.asarray(model.loss_history_[: length + 1]))
        more = problem.updates_bound(rate, float(grads[length]))
        # The bound holds unless rounding stops the gradient short of the threshold: then double.
        length = min(problem.budget, length + more if more else 2 * length)


def _unfinished(problem: _Problem, rate: float, factor: float, model: LinearRegression,
                loss: NDArray[np.float64]) -> SweepRun:
    """A run that spent its budget, with the updates it would need: counted up to COUNT_LIMIT, else the bound."""
    budget = problem.budget
    grads = model.history_.grad_norm
    last = float(grads[budget]) if len(grads) > budget else math.nan
    more = problem.updates_bound(rate, last) if math.isfinite(last) else None
    needed, estimate = None, False
    if more is not None:
        needed, estimate = budget + more, True
        if needed <= COUNT_LIMIT:
            try:
                counted = problem.fit(rate, needed + 1).history_.grad_norm
            except DivergenceError:
                counted = np.empty(0)
            reached = np.flatnonzero(counted <= problem.threshold)
            if reached.size:
                needed, estimate = int(reached[0]), False
    return SweepRun(learning_rate=float(rate), factor=float(factor), outcome="max_iter", n_iter=budget,
                    final_loss=float(loss[budget]) if loss.size > budget else float(model.final_loss_),
                    loss=np.asarray(loss[: budget + 1], dtype=np.float64), updates_needed=needed,
                    needed_is_estimate=estimate)


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


def _distinct(rates: Sequence[float]) -> list[float]:
    """Sorted, with rates equal to rounding (1/L computed twice) kept once."""
    kept: list[float] = []
    for rate in sorted(rates):
        if not kept or not math.isclose(kept[-1], rate, rel_tol=SAME_RATE):
            kept.append(rate)
    return kept


def _updates(count: int) -> str:
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
    return f"{tol:g} times"


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
