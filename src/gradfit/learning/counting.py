"""Counting the updates gradient descent needs: :func:`updates_to_converge` (the count the demo, the sweep and
the report share), :func:`update_budget` (the budget when the count cannot be had), their :class:`Count`, and
the private ``_Problem`` that fits one problem at one rate and judges each iterate as the estimator would.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning

from gradfit.errors import DataError
from gradfit.estimator import LinearRegression
from gradfit.learning.results import _round_up

#: A run has converged when every coefficient and the intercept are within this relative error of
#: the exact least-squares answer (the estimator's ``tol``; ``gradfit demo`` judges by the same).
DEFAULT_TOL = 1e-6

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


def _clamped_budget(updates: int) -> int:
    """``updates`` rounded up to two significant digits, within ``[MIN_BUDGET, MAX_BUDGET]``."""
    return int(min(MAX_BUDGET, max(MIN_BUDGET, _round_up(int(updates)))))
