"""Running a learning-rate sweep: :func:`sweep_learning_rates` (one problem at several step sizes, counted by
:mod:`gradfit.learning.counting`), :func:`article_sweep` (the article's problem), :func:`learning_rate_sweep`
(either, drawn to a file when asked), and the one-rate fits a report shows (:func:`fit_run`,
:func:`certificate`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning

from gradfit.datasets import ARTICLE_START, make_article_data
from gradfit.errors import DivergenceError
from gradfit.estimator import LinearRegression
from gradfit.learning.counting import COUNT_LIMIT, DEFAULT_TOL, Count, _clamped_budget, _Problem, update_budget
from gradfit.learning.results import SAME_RATE, LearningRateSweep, Outcome, SweepRun

#: Default learning rates as multiples of 1/L: too small (0.1, 0.5), just right (1), overshooting but
#: converging (1.9), and past the stable bound 2/L (2.1).
DEFAULT_FACTORS = (0.1, 0.5, 1.0, 1.9, 2.1)

#: Updates per run of the article's sweep: the article's own 1000, so that its α = 0.01 row is the
#: article's run.
DEFAULT_MAX_ITER = 1000

#: The article's learning rate, added to the default rates of :func:`article_sweep`.
ARTICLE_LEARNING_RATE = 0.01


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


def _distinct(rates: Sequence[float]) -> list[float]:
    """Sorted, with rates equal to rounding (1/L computed twice) kept once."""
    kept: list[float] = []
    for rate in sorted(rates):
        if not kept or not math.isclose(kept[-1], rate, rel_tol=SAME_RATE):
            kept.append(rate)
    return kept


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
