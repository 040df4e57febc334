"""Accuracy of the gradient solvers on badly conditioned classic problems, against the exact
rational least-squares solution computed here with ``fractions`` (tests/references.py).

Measured (standardize=True, tol=1e-15, max_iter=100_000; digits = −log10 of the worst
componentwise relative error over intercept and coefficients; updates in brackets):

=====================================  ========  ===========  ==============  =====
problem                                κ(G)      cg           nesterov        exact
=====================================  ========  ===========  ==============  =====
Longley (statsmodels' copy, 6 preds.)  1.2e4     11.5 (34)    11.9 (3,753)    16.3
degree-5 polynomial, x = 0..20         2.7e6     12.4 (17)    10.9 (46,290)   16.2
degree-10 polynomial, x ∈ [0, 1]       1.8e14    warns        warns           16.1
=====================================  ========  ===========  ==============  =====

Two mechanisms get the iterative solvers there. Above κ(G) ≈ 1e5 the statistics are gathered and
the gradients evaluated in double-double (``LeastSquares.with_extended_precision``): without it,
rounding in ``Gθ − b`` capped CG and Nesterov at 9.1 and 8.7 digits on the polynomial. And once
the gradient nears the rounding floor of θ itself (ε·L·‖θ‖), the driver recentres the problem on
the current iterate (``LeastSquares.recentred``), so steps smaller than θ's last bit still count:
without that, Nesterov stalled at 8.8 digits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gradfit import LinearRegression
from references import correct_digits, exact_least_squares

MAX_ITER = 100_000
TOL = 1e-15


def longley():
    statsmodels = pytest.importorskip("statsmodels.api")
    data = statsmodels.datasets.longley.load_pandas()
    return data.exog.to_numpy(dtype=float), data.endog.to_numpy(dtype=float)


def polynomial(degree, x):
    X = np.vander(x, degree + 1, increasing=True)[:, 1:]
    # a smooth target plus a deterministic wiggle, so the fit has residuals
    y = 10 * np.sin(x / 3) + np.mod(np.arange(len(x)), 3)
    return X, y


def digits(model, X, y) -> float:
    exact = exact_least_squares(X, y, fit_intercept=True)
    return correct_digits([model.intercept_, *model.coef_], exact)


@pytest.fixture(scope="module")
def problems():
    return {
        "longley": longley(),
        "poly5": polynomial(5, np.arange(21.0)),
        "poly10": polynomial(10, np.linspace(0.0, 1.0, 21)),
    }


@pytest.mark.parametrize("solver, problem, tol, required", [
    ("cg", "longley", TOL, 9.0),
    ("nesterov", "longley", TOL, 9.0),
    ("cg", "poly5", TOL, 9.0),
    ("nesterov", "poly5", TOL, 9.0),
])
def test_iterative_solvers_reach_nine_digits_on_classic_problems(problems, solver, problem, tol, required):
    X, y = problems[problem]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = LinearRegression(solver=solver, tol=tol, max_iter=MAX_ITER).fit(X, y)
    assert model.converged_ and model.n_iter_ <= MAX_ITER
    assert digits(model, X, y) >= required


@pytest.mark.parametrize("problem", ["longley", "poly5", "poly10"])
def test_exact_reaches_twelve_digits(problems, problem):
    X, y = problems[problem]
    assert digits(LinearRegression(solver="exact").fit(X, y), X, y) >= 12.0


@pytest.mark.parametrize("solver", ["cg", "nesterov"])
def test_degree_ten_either_reaches_six_digits_or_warns_and_points_to_exact(problems, solver):
    X, y = problems["poly10"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LinearRegression(solver=solver, tol=TOL, max_iter=MAX_ITER).fit(X, y)
    reached = digits(model, X, y)
    if reached < 6.0:
        messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        assert messages, f"{solver} reached {reached:.1f} digits without a warning"
        assert "solver='exact'" in messages[0] and "condition number" in messages[0]
