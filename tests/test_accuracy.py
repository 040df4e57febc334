"""What a fit says about its accuracy is true: checked on badly conditioned classic problems against the
exact rational least-squares solution computed here with ``fractions`` (tests/references.py).

``converged_`` promises every coefficient and the intercept within ``tol`` of the least-squares answer,
relatively, and ``error_bound_`` is the relative error the fit claims. No fit may claim more correct
digits than it has, on any problem: exact fits (zero residual) and a degree-10 polynomial (κ(G) ≈ 1.8e14,
beyond what float64 statistics resolve) included.

Measured (standardize=True; digits = −log10 of the worst componentwise relative error over intercept and
coefficients; updates in brackets; "floor": the run stopped at its rounding floor and said so):

=====================================  ========  ===============  ===============  =====
problem                                κ(G)      cg, tol 1e-8     nesterov         exact
=====================================  ========  ===============  ===============  =====
Longley (statsmodels' copy, 6 preds.)  1.2e4     8.0 (7)          8.0 (2,233)      16.3
degree-5 polynomial, x = 0..20         2.7e6     floor 1.4e-8     (tol 1e-4: 4.0)  16.2
degree-10 polynomial, 21 points [0,1]  1.8e14    never claims     never claims     16.1
=====================================  ========  ===============  ===============  =====

The iterative solvers stop where their error can no longer be certified below tol: float64 statistics
resolve θ to about κ(G)·√p·ε, double-double ones (small ill-conditioned problems in memory, see
``LeastSquares.with_extended_precision``) to what rounding the rows costs. The direct solver
(``solver="auto"``, the default) has no such floor: its refinement passes settle every coefficient.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gradfit import LinearRegression

from problems import longley
from references import correct_digits, exact_least_squares, worst_relative_error

#: Enough for every run here to converge or stop at its floor, except where a slow method (gd at
#: κ = 1e4) makes the point that running out of updates is said too.
MAX_ITER = 5_000


def polynomial(degree, x):
    X = np.vander(x, degree + 1, increasing=True)[:, 1:]
    # a smooth target plus a deterministic wiggle, so the fit has residuals
    y = 10 * np.sin(x / 3) + np.mod(np.arange(len(x)), 3)
    return X, y


def exact_fit(degree, points):
    """A polynomial design whose target the polynomial reproduces exactly: zero residual."""
    X = np.vander(np.linspace(0.0, 1.0, points), degree + 1, increasing=True)[:, 1:]
    return X, X @ np.arange(1.0, degree + 1) + 1.0


@pytest.fixture(scope="module")
def problems():
    cases = {
        "longley": longley()[:2],
        "poly5": polynomial(5, np.arange(21.0)),
        "poly10": polynomial(10, np.linspace(0.0, 1.0, 21)),
        "exact fit, degree 8": exact_fit(8, 30),
    }
    return {name: (X, y, exact_least_squares(X, y, fit_intercept=True)) for name, (X, y) in cases.items()}


def fitted(problem, **params):
    X, y, exact = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LinearRegression(max_iter=MAX_ITER, **params).fit(X, y)
    error = worst_relative_error([model.intercept_, *model.coef_], exact)
    return model, error, [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("tol", [1e-4, 1e-9])
@pytest.mark.parametrize("solver", ["cg", "lbfgs", "nesterov", "momentum", "gd"])
@pytest.mark.parametrize("problem", ["longley", "poly5", "poly10", "exact fit, degree 8"])
def test_no_fit_claims_more_correct_digits_than_it_has(problems, problem, solver, tol):
    model, error, warned = fitted(problems[problem], solver=solver, tol=tol)
    assert error <= model.error_bound_, f"claims {model.error_bound_:.2g}, is {error:.2g} off"
    if model.converged_:
        assert model.error_bound_ <= tol and not warned
    else:
        assert len(warned) == 1 and "solver='auto'" in warned[0]


@pytest.mark.parametrize("solver, problem, tol", [
    ("cg", "longley", 1e-8),
    ("nesterov", "longley", 1e-8),
    ("lbfgs", "longley", 1e-8),
    ("cg", "poly5", 1e-6),
    ("lbfgs", "poly5", 1e-6),
    ("cg", "exact fit, degree 8", 1e-8),
])
def test_iterative_solvers_converge_to_what_they_promise_on_classic_problems(problems, solver, problem, tol):
    model, error, warned = fitted(problems[problem], solver=solver, tol=tol)
    assert model.converged_ and not warned
    assert error <= tol


@pytest.mark.parametrize("problem", ["longley", "poly5", "poly10", "exact fit, degree 8"])
@pytest.mark.parametrize("solver", ["exact", "auto"])
def test_the_direct_solver_reaches_the_float64_limit(problems, problem, solver):
    """Every coefficient within a few units in the last place: 15 digits, on κ(G) up to 1.8e14."""
    X, y, exact = problems[problem]
    model = LinearRegression(solver=solver).fit(X, y)
    assert model.converged_
    assert correct_digits([model.intercept_, *model.coef_], exact) >= 15.0


@pytest.mark.parametrize("solver", ["cg", "nesterov"])
def test_past_what_the_statistics_resolve_the_warning_points_to_auto(problems, solver):
    """The degree-10 polynomial: an iterative fit cannot certify even 4 digits; it says so, and says
    what would get there."""
    model, error, warned = fitted(problems["poly10"], solver=solver, tol=1e-4)
    assert not model.converged_
    assert "solver='auto'" in warned[0]
