"""What a fit says of its own accuracy is true, on random designs built to be hard.

Each design has singular values spread over up to 7.5 decades, columns scaled over 6 decades and
shifted by up to 1e3, coefficients over 9 decades, an offset target and noise from 1e-8 to 1; half
of them with row weights over 6 decades, with or without an intercept, standardized or not. Every
answer is checked against the exact rational least-squares solution (tests/references.py): a fit
that says ``converged_`` has every coefficient within ``error_bound_`` of it, relatively, and that
bound within what was asked (``tol``; the default answer: 1e-11). A fit that is not sure says so
with a warning. (Coefficients that are exactly 0 have no relative error and are skipped, as
``worst_relative_error`` does.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gradfit import LinearRegression

from references import exact_least_squares, worst_relative_error

#: What the direct solver certifies (gradfit.solvers.direct.ACCURACY_TARGET).
DEFAULT_TARGET = 1e-11


def hard_design(rng: np.random.Generator):
    """One random problem (see the module docstring) and its exact answer, or None when singular."""
    n, d = int(rng.integers(30, 300)), int(rng.integers(2, 7))
    U = np.linalg.qr(rng.normal(size=(n, d)))[0]
    V = np.linalg.qr(rng.normal(size=(d, d)))[0]
    spread = 10.0 ** rng.uniform(-rng.uniform(0, 7.5), 0, size=d)
    spread[0] = 1.0
    X = (U * spread) @ V.T * np.sqrt(n)
    X = X * 10.0 ** rng.uniform(-3, 3, size=d) + rng.normal(size=d) * 10.0 ** rng.uniform(-2, 3, size=d)
    coef = rng.normal(size=d) * 10.0 ** rng.uniform(-6, 3, size=d)
    y = X @ coef + rng.normal() * 100 + 10.0 ** rng.uniform(-8, 0) * rng.normal(size=n)
    fit_intercept, standardize = bool(rng.integers(2)), bool(rng.integers(2))
    weight = 10.0 ** rng.uniform(-3, 3, size=n) if rng.integers(2) else None
    try:
        exact = exact_least_squares(X, y, fit_intercept=fit_intercept, sample_weight=weight)
    except StopIteration:  # exactly singular: no unique answer to hold a fit to
        return None
    return X, y, weight, fit_intercept, standardize, exact


def fitted(problem, **params):
    X, y, weight, fit_intercept, standardize, exact = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LinearRegression(fit_intercept=fit_intercept, standardize=standardize, **params).fit(X, y, sample_weight=weight)
    estimate = ([model.intercept_] if fit_intercept else []) + list(model.coef_)
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return model, worst_relative_error(estimate, exact), warned


@pytest.mark.parametrize("seed", range(6))
def test_the_default_answer_is_what_it_says(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        problem = hard_design(rng)
        if problem is None:
            continue
        model, error, warned = fitted(problem)
        if model.converged_:
            assert error <= model.error_bound_ <= DEFAULT_TARGET, (model.message_, error)
            assert not warned
        else:
            assert warned and error <= 1.0 or not np.isfinite(model.error_bound_)


@pytest.mark.parametrize("solver, tol", [("cg", 1e-6), ("gd", 1e-4), ("nesterov", 1e-6)])
def test_an_iterative_fit_that_says_converged_has_converged(solver, tol):
    rng = np.random.default_rng(100)
    converged = 0
    for _ in range(40):
        problem = hard_design(rng)
        if problem is None:
            continue
        model, error, warned = fitted(problem, solver=solver, tol=tol, max_iter=3000)
        assert error <= model.error_bound_ or not np.isfinite(model.error_bound_), (model.message_, error)
        if model.converged_:
            converged += 1
            assert model.error_bound_ <= tol and not warned
        else:
            assert len(warned) == 1 and "solver='auto'" in str(warned[0].message)
    assert converged >= 5  # the test is not vacuous: some fits do converge on these designs


def test_ridge_answers_are_what_they_say():
    """Ridge has its own exact answer (the penalty on the coefficients, in user units)."""
    rng = np.random.default_rng(7)
    for _ in range(15):
        problem = hard_design(rng)
        if problem is None:
            continue
        X, y, weight, fit_intercept, standardize, _ = problem
        alpha = float(10.0 ** rng.uniform(-6, 1))
        exact = exact_least_squares(X, y, fit_intercept=fit_intercept, sample_weight=weight, alpha=alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LinearRegression(alpha=alpha, fit_intercept=fit_intercept, standardize=standardize).fit(
                X, y, sample_weight=weight)
        error = worst_relative_error(([model.intercept_] if fit_intercept else []) + list(model.coef_), exact)
        if model.converged_:
            assert error <= model.error_bound_ <= DEFAULT_TARGET, (model.message_, error)
