"""The article's example, read top to bottom: its loop, the same run through gradfit, and the verdict.

The article fits ``y = 2x + 1 + U[-0.2, 0.2]`` on 100 points by gradient descent from ``θ = [1, 1]``,
with learning rate ``α = 0.01`` and 1000 updates of

    θ ← θ − α Xᵀ(Xθ − y)/m,        X = [1, x]  (a column of ones, then the raw feature),

recording the cost ``J(θ) = Σ(Xθ − y)²/2m`` before each update. It prints θ ≈ (1.0323, 1.9516).
Those 1000 updates do *not* reach the optimum (≈ (1, 2)): they stop near intercept 1.2, slope 1.7.
Here ``L``, the largest eigenvalue of ``XᵀX/m``, is about 1.3, so any α below ``2/L`` ≈ 1.5
converges; to have the intercept and the slope within 1e-6 of their exact values (relatively),
``α = 1/L`` ≈ 0.76 needs 208–291 updates where α = 0.01 needs 17 500–23 900 (seeds 0–29).

Examples
--------
>>> from gradfit.article import run_article
>>> run = run_article(seed=0)
>>> run.converged, run.updates_needed > 1000
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.cost import least_squares_cost
from gradfit.datasets import ARTICLE_START, make_article_data
from gradfit.estimator import LinearRegression

__all__ = ["ARTICLE_QUOTE", "ArticleRun", "article_loop", "run_article", "UPDATES_SEARCH_LIMIT"]

#: (intercept, slope) as printed by the article after its 1000 updates at α = 0.01.
ARTICLE_QUOTE = (1.0323, 1.9516)

#: Most updates run when counting how many a learning rate needs (about 0.3 s of closed-form GD).
UPDATES_SEARCH_LIMIT = 1_000_000


def article_loop(
    X: NDArray[np.float64], y: NDArray[np.float64], *, times: int = 1000, alpha: float = 0.01
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The article's ``gradientDescent``, as printed: the plain reference every GD path is held to.

    Parameters
    ----------
    X : ndarray of shape (m, 1)
        The feature, without the ones column (it is added here, as the article does).
    y : ndarray of shape (m,)
    times : int, default=1000
        Updates to make.
    alpha : float, default=0.01
        Learning rate.

    Returns
    -------
    theta : ndarray of shape (2,)
        ``[intercept, slope]`` after ``times`` updates from ``[1, 1]``.
    costs : ndarray of shape (times,)
        ``costs[i] = Σ(Xθ_i − y)²/2m``, recorded before update ``i + 1``.
    """
    m = len(y)
    design = np.hstack((np.ones((m, 1)), np.asarray(X, dtype=np.float64).reshape(m, -1)))
    Y = np.asarray(y, dtype=np.float64).reshape(m, 1)
    theta = np.array(ARTICLE_START).reshape(2, 1)
    costs = np.empty(times)
    for i in range(times):
        diff = np.dot(design, theta) - Y
        costs[i] = (diff**2).sum() / (2.0 * m)
        theta = theta - alpha * (np.dot(design.T, diff) / m)
    return theta.ravel(), costs


@dataclass(frozen=True, eq=False)
class ArticleRun:
    """The article's run through gradfit, with the exact optimum and what would have converged.

    All learning rates are in the article's raw scale (design ``[1, x]``, no standardizing).

    Attributes
    ----------
    X : ndarray of shape (m, 1)
    y : ndarray of shape (m,)
    seed : int or None
        Seed of :func:`gradfit.datasets.make_article_data` (None: fresh data).
    learning_rate : float
        α used.
    iterations : int
        Updates made (all of them: the run has ``tol=0``, as the article).
    tol : float
        Relative error tolerance convergence is judged by: every coefficient (intercept and slope)
        within ``tol`` of its exact value, relatively.
    model : LinearRegression
        The fitted model; ``model.loss_history_`` equals :func:`article_loop`'s costs.
    intercept, slope : float
        θ after ``iterations`` updates.
    optimum_intercept, optimum_slope, optimum_loss : float
        The exact least-squares fit and its cost.
    converged : bool
        Whether the run met ``tol`` within ``iterations`` updates (by the driver's own test).
    grad_norm : float
        ``‖∇J(θ)‖`` after ``iterations`` updates.
    error : float
        The largest relative error of the intercept and the slope after ``iterations`` updates,
        against the exact optimum.
    final_loss : float
        ``J(θ)`` after ``iterations`` updates.
    updates_needed : int or None
        Fewest updates at ``learning_rate`` from ``[1, 1]`` that reach ``tol``; None when
        :data:`UPDATES_SEARCH_LIMIT` (or ``iterations``, if larger) updates do not.
    auto_learning_rate : float
        ``1/L``, with ``L`` the largest eigenvalue of ``XᵀX/m`` for the design ``[1, x]``.
    updates_needed_auto : int or None
        Same as ``updates_needed``, at ``auto_learning_rate``.
    stable_bound : float
        ``2/L``: every constant learning rate below it converges, every one above it diverges.
    """

    X: NDArray[np.float64] = field(repr=False)
    y: NDArray[np.float64] = field(repr=False)
    seed: int | None
    learning_rate: float
    iterations: int
    tol: float
    model: LinearRegression = field(repr=False)
    intercept: float
    slope: float
    optimum_intercept: float
    optimum_slope: float
    optimum_loss: float
    converged: bool
    grad_norm: float
    error: float
    final_loss: float
    updates_needed: int | None
    auto_learning_rate: float
    updates_needed_auto: int | None
    stable_bound: float

    def summary(self) -> str:
        """A few plain lines: what was found, the exact answer, the article's claim and the verdict."""
        auto = f"α=1/L={self.auto_learning_rate:.2f}"
        is_auto = self.learning_rate == self.auto_learning_rate
        alpha = f"α=1/L={self.learning_rate:.3g}" if is_auto else f"α={self.learning_rate:.3g}"
        data = f"seed {self.seed}" if self.seed is not None else "fresh random data"
        lines = [
            f"The article's gradient descent: {self.iterations} updates at {alpha} from θ=(1, 1), "
            f"on {len(self.y)} points ({data}).",
            f"  found          intercept {self.intercept:.4f}  slope {self.slope:.4f}   cost {self.final_loss:.6f}",
            f"  exact optimum  intercept {self.optimum_intercept:.4f}  slope {self.optimum_slope:.4f}"
            f"   cost {self.optimum_loss:.6f}",
            f"  article quotes intercept {ARTICLE_QUOTE[0]:.4f}  slope {ARTICLE_QUOTE[1]:.4f}",
        ]
        criterion = f"tol={self.tol:g}: every coefficient within that relative error of the optimum"
        alternatives = (
            f"{_count(self.updates_needed_auto)} updates at {auto} "
            f"(anything below 2/L={self.stable_bound:.2f} converges)"
        )
        if self.converged:
            lines.append(f"Converged: the coefficients are within {self.error:.2g} of the optimum ({criterion}).")
            lines.append(f"It needed {self.updates_needed} of the {self.iterations} updates at {alpha}.")
            if not is_auto:
                lines.append(f"For comparison: {alternatives}.")
            return "\n".join(lines)
        lines.append(f"Did NOT converge: a coefficient is {self.error:.2%} from the optimum ({criterion}).")
        needs = (
            f"it needs {self.updates_needed} updates at {alpha}"
            if self.updates_needed is not None
            else f"{alpha} does not get there within {UPDATES_SEARCH_LIMIT:,} updates"
        )
        lines.append(f"{self.iterations} updates at {alpha} stop short: {needs},")
        lines.append(f"  or {alternatives}.")
        return "\n".join(lines)

    def to_json(self) -> dict:
        """The run as plain JSON types (no arrays, no model)."""
        return {
            "seed": self.seed,
            "n_samples": int(len(self.y)),
            "learning_rate": float(self.learning_rate),
            "n_iter": int(self.iterations),
            "tol": float(self.tol),
            "intercept": float(self.intercept),
            "coef": [float(self.slope)],
            "optimum": {
                "intercept": float(self.optimum_intercept),
                "coef": [float(self.optimum_slope)],
                "loss": float(self.optimum_loss),
            },
            "converged": bool(self.converged),
            "final_loss": float(self.final_loss),
            "grad_norm": float(self.grad_norm),
            "error": float(self.error),
            "updates_needed": self.updates_needed,
            "auto_learning_rate": float(self.auto_learning_rate),
            "updates_needed_auto": self.updates_needed_auto,
            "stable_bound": float(self.stable_bound),
            "article_quote": {"intercept": ARTICLE_QUOTE[0], "coef": [ARTICLE_QUOTE[1]]},
        }


def run_article(
    *,
    seed: int | None = None,
    learning_rate: float | Literal["auto"] = 0.01,
    iterations: int = 1000,
    tol: float = 1e-6,
) -> ArticleRun:
    """Run the article's example through :class:`LinearRegression` and judge the result.

    The fit uses the article's settings exactly: raw design ``[1, x]`` (``standardize=False``),
    start ``θ = [1, 1]``, and ``tol=0`` so that all ``iterations`` updates are made; its θ and
    cost record match :func:`article_loop` to rounding.

    Parameters
    ----------
    seed : int or None
        Seed of the article's data (100 points).
    learning_rate : float > 0 or "auto", default=0.01
        α in the article's raw scale; ``"auto"`` is ``1/L``.
    iterations : int ≥ 1, default=1000
        Updates to make.
    tol : float > 0, default=1e-6
        Relative error tolerance used to judge convergence, the estimator's own: the run has
        converged when the intercept and the slope are each within ``tol`` of the exact optimum,
        relatively (as the driver certifies it). It does not stop the run.

    Returns
    -------
    ArticleRun

    Raises
    ------
    DivergenceError
        When ``learning_rate`` is past the stable bound ``2/L`` (≈ 1.5 here) and the loss blows up,
        either within ``iterations`` updates or while counting the updates needed. The message
        names 2/L. It is left to propagate: callers (the CLI) turn it into a message.
    ValueError
        For ``tol ≤ 0`` or parameters the estimator rejects.
    """
    if not tol > 0:
        raise ValueError(f"tol must be positive to judge convergence; got {tol!r}")
    X, y = make_article_data(seed=seed)
    intercept0, slope0 = ARTICLE_START
    model = LinearRegression(solver="gd", learning_rate=learning_rate, max_iter=iterations, tol=0, standardize=False)
    model.fit(X, y, coef_init=[slope0], intercept_init=intercept0)
    _raise_if_interrupted(model)

    lipschitz = float(model.lipschitz_)
    search_limit = max(UPDATES_SEARCH_LIMIT, iterations)
    updates_needed = _updates_needed(X, y, model.learning_rate_, tol=tol, limit=search_limit)
    updates_needed_auto = _updates_needed(X, y, "auto", tol=tol, limit=search_limit)

    gap = model.distance_to_optimum(X, y)
    optimum_slope, optimum_intercept = float(gap.coef_optimum[0]), float(gap.intercept_optimum)
    grad_norm = _gradient_norm(X, y, model.intercept_, float(model.coef_[0]))
    error = max(abs(model.intercept_ - optimum_intercept) / abs(optimum_intercept),
                abs(float(model.coef_[0]) - optimum_slope) / abs(optimum_slope))
    return ArticleRun(
        X=X,
        y=y,
        seed=seed,
        learning_rate=float(model.learning_rate_),
        iterations=int(model.n_iter_),
        tol=float(tol),
        model=model,
        intercept=float(model.intercept_),
        slope=float(model.coef_[0]),
        optimum_intercept=optimum_intercept,
        optimum_slope=optimum_slope,
        optimum_loss=least_squares_cost(X, y, gap.coef_optimum, optimum_intercept),
        # The driver's own test, met first at update `updates_needed`; with α < 2/L the error of
        # gradient descent on a quadratic never grows again, so it still holds at `iterations`.
        converged=updates_needed is not None and updates_needed <= model.n_iter_,
        grad_norm=grad_norm,
        error=error,
        final_loss=float(model.final_loss_),
        updates_needed=updates_needed,
        auto_learning_rate=1.0 / lipschitz,
        updates_needed_auto=updates_needed_auto,
        stable_bound=2.0 / lipschitz,
    )


def _updates_needed(
    X: NDArray[np.float64], y: NDArray[np.float64], learning_rate: float | str, *, tol: float, limit: int
) -> int | None:
    """Updates from the article's start until the estimator certifies ``tol`` (None past ``limit``, or
    where rounding keeps it from certifying ``tol`` at all).

    Counted by :func:`gradfit.learning.updates_to_converge`, as ``gradfit sweep`` and ``gradfit
    report`` count theirs, so the three give the same numbers.
    """
    from gradfit.learning import updates_to_converge

    intercept0, slope0 = ARTICLE_START
    count = updates_to_converge(X, y, learning_rate, tol=tol, standardize=False, coef_init=[slope0],
                                intercept_init=intercept0, limit=limit)
    return count.updates if count.status == "tol" else None


def _raise_if_interrupted(model: LinearRegression) -> None:
    """The driver turns Ctrl-C into a model that says "interrupted"; here it must stop the whole run."""
    if model.status_ == "interrupted":
        raise KeyboardInterrupt


def _gradient_norm(X: NDArray[np.float64], y: NDArray[np.float64], intercept: float, slope: float) -> float:
    """``‖∇J‖ = ‖[mean(r), mean(r·x)]‖`` with ``r = intercept + slope·x − y``."""
    x = X[:, 0]
    residual = intercept + slope * x - y
    return float(np.hypot(residual.mean(), (residual * x).mean()))


def _count(updates: int | None) -> str:
    return str(updates) if updates is not None else f"more than {UPDATES_SEARCH_LIMIT:,}"
