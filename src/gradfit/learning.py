"""Learning-rate sweeps: one problem fitted at several step sizes, each run's fate and cost curve.

The article says that a learning rate that is too small converges slowly and one that is too large
diverges. For least squares the boundary is exact: with ``L`` the largest eigenvalue of ``XᵀX/m``
(in the coordinates being optimised), every constant step ``α < 2/L`` converges and every
``α > 2/L`` diverges. :func:`sweep_learning_rates` runs the same gradient descent at several
``α`` (by default fractions and multiples of ``1/L``, one of them past ``2/L``) and records, for
each, whether it reached the tolerance, ran out of updates, or blew up, with its cost curve.

No matplotlib here: :func:`gradfit.plots.sweep_figure` draws a sweep, and
:func:`gradfit.plots.learning_rate_sweep` runs one and draws it.

Examples
--------
>>> from gradfit.learning import article_sweep
>>> sweep = article_sweep(seed=0)
>>> [run.outcome for run in sweep.runs][-1]
'diverged'
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.exceptions import ConvergenceWarning

from gradfit.errors import DataError, DivergenceError
from gradfit.estimator import LinearRegression

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "LearningRateSweep",
    "SweepRun",
    "article_sweep",
    "sweep_learning_rates",
]

#: Default learning rates as multiples of 1/L: too small, small, 1/L ("auto"), near 2/L, past 2/L.
DEFAULT_FACTORS = (0.1, 0.5, 1.0, 1.9, 2.1)

#: Updates per run (the article's 1000) and the relative gradient-norm tolerance runs stop at.
DEFAULT_MAX_ITER = 1000
DEFAULT_TOL = 1e-6

#: The article's learning rate, added to the default rates of :func:`article_sweep`.
ARTICLE_LEARNING_RATE = 0.01

Outcome = Literal["converged", "max_iter", "diverged"]


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
        Updates made: to the tolerance (converged), all of ``max_iter``, or the update at which the
        divergence became clear.
    final_loss : float
        Cost ``Σr²/2m`` where the run stopped (at the divergence point for a divergent run; may be inf).
    loss : ndarray of shape (n_iter + 1,)
        ``J(θ_k)`` for ``k = 0 … n_iter`` in the target's units. For a divergent run it ends at the
        cost where the divergence was caught.
    """

    learning_rate: float
    factor: float
    outcome: Outcome
    n_iter: int
    final_loss: float
    loss: NDArray[np.float64] = field(repr=False)

    @property
    def verdict(self) -> str:
        """``converged in k updates``, ``did not converge in N updates`` or ``diverged at iteration k``."""
        if self.outcome == "converged":
            return f"converged in {self.n_iter:,} update{'s' if self.n_iter != 1 else ''}"
        if self.outcome == "max_iter":
            return f"did not converge in {self.n_iter:,} updates"
        return f"diverged at iteration {self.n_iter:,}"

    def to_dict(self) -> dict:
        """Plain JSON types (a non-finite loss stays a float; the CLI writes it as null)."""
        return {
            "learning_rate": float(self.learning_rate),
            "factor": float(self.factor),
            "outcome": self.outcome,
            "n_iter": int(self.n_iter),
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
    optimum_loss : float
        The least cost any model reaches (exact least squares), target's units.
    initial_loss : float
        Cost at the common starting point.
    max_iter : int
    tol : float
        Relative gradient-norm tolerance: converged when ``‖∇J(θ)‖ ≤ tol·‖∇J(0)‖``.
    standardize : bool
        Whether the learning rates are in standardized coordinates.
    problem : str
        What was fitted, in words.
    """

    runs: tuple[SweepRun, ...]
    lipschitz: float
    optimum_loss: float
    initial_loss: float
    max_iter: int
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

    def to_dict(self) -> dict:
        """Plain JSON types: the facts and one entry per run."""
        return {
            "problem": self.problem,
            "standardize": self.standardize,
            "lipschitz": float(self.lipschitz),
            "auto_learning_rate": float(self.auto_learning_rate),
            "stable_bound": float(self.stable_bound),
            "initial_loss": float(self.initial_loss),
            "optimum_loss": float(self.optimum_loss),
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            "runs": [run.to_dict() for run in self.runs],
        }

    def rows(self) -> list[tuple[str, str, str, str]]:
        """Table rows as text: learning rate, α in units of 1/L, verdict, final loss."""
        return [
            (f"{run.learning_rate:.4g}", f"{run.factor:.3g}/L", run.verdict, _loss_text(run.final_loss))
            for run in self.runs
        ]

    def __str__(self) -> str:
        header = ("learning rate", "α·L", "outcome", "final loss")
        rows = [header, *self.rows()]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        lines = [
            f"Learning-rate sweep on {self.problem}: L = {self.lipschitz:.4g}, 1/L = {self.auto_learning_rate:.4g}, "
            f"2/L = {self.stable_bound:.4g} (tol {self.tol:g}, at most {self.max_iter:,} updates)"
        ]
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.rjust(width) if column != 2 else cell.ljust(width)
                                   for column, (cell, width) in enumerate(zip(row, widths))).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


def sweep_learning_rates(
    X: ArrayLike,
    y: ArrayLike,
    *,
    learning_rates: Sequence[float] | None = None,
    factors: Sequence[float] = DEFAULT_FACTORS,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    standardize: bool = True,
    coef_init: ArrayLike | None = None,
    intercept_init: float | None = None,
    problem: str = "the data",
) -> LearningRateSweep:
    """Fit plain gradient descent at several learning rates from one start and record each run.

    Each run is ``LinearRegression(solver="gd", learning_rate=α, max_iter, tol, standardize)``. A
    run that diverges (``DivergenceError``) does not stop the sweep: it is recorded as diverged at
    the update where the blow-up became clear, and its cost curve up to there is recovered by
    running it again for one update fewer (with ``tol=0``, so the replay never stops early).

    Parameters
    ----------
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    learning_rates : sequence of float > 0, optional
        The ``α`` to try, in the optimised coordinates. Default: ``factors / L``.
    factors : sequence of float > 0, default=DEFAULT_FACTORS
        Multiples of ``1/L`` used when ``learning_rates`` is not given.
    max_iter : int ≥ 1, default=1000
    tol : float > 0, default=1e-6
        Relative gradient-norm tolerance (``‖∇J(θ)‖ ≤ tol·‖∇J(0)‖``).
    standardize : bool, default=True
        As for :class:`LinearRegression`; ``False`` runs on the raw design, as the article does.
    coef_init, intercept_init : optional
        The common start, as for :meth:`LinearRegression.fit`.
    problem : str
        A few words naming the problem, for tables and titles.

    Returns
    -------
    LearningRateSweep

    Raises
    ------
    ValueError
        No learning rates, a rate or factor that is not a positive finite number, ``max_iter < 1`` or
        ``tol ≤ 0``, or data the estimator rejects.
    """
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number to judge convergence; got {tol!r}")
    settings = {"solver": "gd", "standardize": standardize}
    start = {"coef_init": coef_init, "intercept_init": intercept_init}
    # One update at 1/L tells L and the cost at the start, in the target's units.
    probe = LinearRegression(learning_rate="auto", max_iter=1, tol=0, **settings).fit(X, y, **start)
    if len(probe.loss_history_) == 0:  # converged before its one update: ∇J = 0 at the start
        raise DataError(
            "gradient descent has nothing to do on these data: the cost's gradient is already 0 at the start "
            "(a constant target, fitted by the intercept alone?), so every learning rate would 'converge' after "
            "0 updates; sweep a target that varies"
        )
    lipschitz = float(probe.lipschitz_)
    initial_loss = float(probe.loss_history_[0])
    optimum_loss = float(LinearRegression(solver="exact", standardize=standardize).fit(X, y).final_loss_)

    if learning_rates is None:
        _check_positive(factors, "factors")
        rates = [factor / lipschitz for factor in factors]
    else:
        rates = _check_positive(learning_rates, "learning_rates")
    runs = []
    for rate in sorted(set(rates)):
        runs.append(_run_one(X, y, rate, lipschitz, initial_loss, max_iter=max_iter, tol=tol,
                             settings=settings, start=start))
    return LearningRateSweep(
        runs=tuple(runs),
        lipschitz=lipschitz,
        optimum_loss=optimum_loss,
        initial_loss=initial_loss,
        max_iter=int(max_iter),
        tol=float(tol),
        standardize=standardize,
        problem=problem,
    )


def article_sweep(
    *,
    seed: int | None = None,
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    learning_rates: Sequence[float] | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    include_article_rate: bool = True,
) -> LearningRateSweep:
    """:func:`sweep_learning_rates` on the article's problem with its raw settings.

    The article's 100 points (``y = 2x + 1 + noise``), raw design ``[1, x]`` (no standardizing) and
    start ``θ = (1, 1)``, so the learning rates are the article's own scale (its ``α = 0.01``).

    Parameters
    ----------
    seed : int or None
        Seed of :func:`gradfit.datasets.make_article_data`.
    X, y : array-like, optional
        The article's data already drawn (e.g. ``ArticleRun.X``, ``ArticleRun.y``); by default they
        are drawn with ``seed``, which then only names them.
    learning_rates : sequence of float, optional
        Default: :data:`DEFAULT_FACTORS` ``/ L``, plus the article's 0.01 when ``include_article_rate``.
    max_iter, tol
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
    common = dict(max_iter=max_iter, tol=tol, standardize=False, coef_init=[slope0], intercept_init=intercept0,
                  problem=problem)
    if learning_rates is None and include_article_rate:
        probe = LinearRegression(solver="gd", learning_rate="auto", max_iter=1, tol=0, standardize=False).fit(
            X, y, coef_init=[slope0], intercept_init=intercept0
        )
        learning_rates = [ARTICLE_LEARNING_RATE, *(factor / probe.lipschitz_ for factor in DEFAULT_FACTORS)]
    return sweep_learning_rates(X, y, learning_rates=learning_rates, **common)


def _run_one(X, y, rate: float, lipschitz: float, initial_loss: float, *, max_iter: int, tol: float,
             settings: dict, start: dict) -> SweepRun:  # noqa: ANN001 - arrays as given by the caller
    factor = rate * lipschitz
    model = LinearRegression(learning_rate=rate, max_iter=max_iter, tol=tol, **settings)
    try:
        with warnings.catch_warnings():
            # Running out of updates is this run's verdict, reported in the table, not a warning.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y, **start)
    except DivergenceError as error:
        return _diverged_run(X, y, rate, factor, initial_loss, error, settings=settings, start=start)
    loss = np.append(model.loss_history_, model.final_loss_)
    return SweepRun(
        learning_rate=float(rate),
        factor=float(factor),
        outcome="converged" if model.converged_ else "max_iter",
        n_iter=int(model.n_iter_),
        final_loss=float(model.final_loss_),
        loss=loss,
    )


def _diverged_run(X, y, rate: float, factor: float, initial_loss: float, error: DivergenceError, *,
                  settings: dict, start: dict) -> SweepRun:  # noqa: ANN001
    # The error's losses are in the optimised scale; the start's cost in both scales gives the factor.
    scale = initial_loss / error.initial_loss if error.initial_loss > 0 else 1.0
    with np.errstate(over="ignore"):
        blown = float(error.loss * scale)
    before = [initial_loss]
    if error.iteration > 1:
        # The same run, one update short of the blow-up: tol=0 makes every update, and the driver only
        # raises when it sees the divergent iterate, which this replay never reaches.
        replay = LinearRegression(learning_rate=rate, max_iter=error.iteration - 1, tol=0, **settings).fit(X, y, **start)
        before = [*replay.loss_history_, replay.final_loss_]
    return SweepRun(
        learning_rate=float(rate),
        factor=float(factor),
        outcome="diverged",
        n_iter=int(error.iteration),
        final_loss=blown,
        loss=np.array([*before, blown], dtype=np.float64),
    )


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
