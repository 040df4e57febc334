"""The least-squares cost on the rows, and the optimum that figures and reports show.

:func:`least_squares_cost` is ``J = Σ wᵢ rᵢ² / 2Σw`` (``Σ r²/2m`` unweighted) for given coefficients
on data in memory: the one place that computes it for a caller that did not get it from a fit (the
estimator's distance to the optimum, the article's run, the report, the cost bowl).
:func:`least_squares_optimum` takes the optimum from the model's own
:meth:`~gradfit.LinearRegression.distance_to_optimum`, so that every figure and report shows the
same θ* and J(θ*). numpy only: any module may import this one.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

__all__ = ["least_squares_cost", "least_squares_optimum"]


def least_squares_cost(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    coef: NDArray[np.float64],
    intercept: float,
    weight: NDArray[np.float64] | None = None,
) -> float:
    """``Σ w_i r_i² / 2Σw`` computed on the data (``w = 1`` when not given)."""
    with np.errstate(over="ignore"):
        residual = X @ coef + intercept - y
        if weight is None:
            return float(residual @ residual / (2 * X.shape[0]))
        return float((weight * residual) @ residual / (2 * weight.sum()))


def least_squares_optimum(model, X: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:  # LinearRegression
    """The exact least-squares optimum of (X, y) and its cost, as ``model.distance_to_optimum`` solves for it.

    Parameters
    ----------
    model : fitted LinearRegression
        Its ``fit_intercept`` and ``standardize`` say how the optimum is solved for.
    X : ndarray of shape (m, d)
        The rows, in the model's column order (as an array: they are matched by position).
    y : ndarray of shape (m,)

    Returns
    -------
    theta : ndarray of shape (d + 1,)
        ``θ* = (intercept*, coef*₁, …, coef*_d)``.
    cost : float
        ``J(θ*) = Σ r²/2m``, by :func:`least_squares_cost`.
    """
    with warnings.catch_warnings():
        # The rows are matched by position: a model that was given column names (the CLI names a CSV's
        # after the fit) would otherwise warn that an array has none.
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        gap = model.distance_to_optimum(X, y)
    theta = np.concatenate([[gap.intercept_optimum], gap.coef_optimum])
    return theta, least_squares_cost(X, y, gap.coef_optimum, gap.intercept_optimum)
