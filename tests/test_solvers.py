"""The solver table: every solver × every problem, checked against the exact least-squares answer
(computed here with numpy's SVD on the explicit design, code gradfit does not share)."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

from gradfit.driver import minimize
from gradfit.objective import LeastSquares
from gradfit.solvers import SOLVERS, make_solver
from gradfit.sources.memory import MemorySource

DETERMINISTIC = ("gd", "momentum", "nesterov", "cg", "lbfgs")
STOCHASTIC = ("sgd", "minibatch", "adam")


def problem(name: str):
    # str hash() is salted per process; crc32 of the name gives every problem the same data in every run
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name == "well-conditioned":
        X = rng.normal(size=(200, 4)) * [1, 10, 0.1, 3] + [5, -2, 0, 1]
        y = X @ [1.0, -0.5, 20.0, 0.3] + 2.0 + 0.1 * rng.normal(size=200)
    elif name == "correlated":
        base = rng.normal(size=(300, 1))
        X = base + 0.05 * rng.normal(size=(300, 3))
        y = X @ [1.0, 2.0, -1.0] + 0.01 * rng.normal(size=300)
    elif name == "duplicate-column":
        X = rng.normal(size=(100, 2))
        X = np.hstack([X, X[:, [1]]])
        y = X @ [1.0, 1.0, 1.0] + 0.1 * rng.normal(size=100)
    elif name == "wide":  # more columns than rows: many exact fits, the minimum-norm one is the answer
        X = rng.normal(size=(8, 12))
        y = rng.normal(size=8)
    else:
        raise ValueError(name)
    return X, y


def exact_theta(objective: LeastSquares, X, y):
    """Minimum-norm least squares in θ's coordinates, from the explicit design (SVD).

    Gradient methods started at θ = 0 converge to the minimum-norm solution of the coordinates
    they iterate in: with centred columns (standardize=True) the intercept is decoupled and not in
    the norm; on the raw design with a ones column (the article's frame) it is.
    """
    Z = objective.design(X)
    t = objective.target(y)
    if objective.frame.fit_intercept and np.any(objective.frame.x_shift != 0):
        # the intercept is not in the norm: project it out, solve, then recover it
        Zc = Z[:, 1:] - Z[:, 1:].mean(axis=0)
        w = np.linalg.pinv(Zc) @ (t - t.mean())
        theta0 = t.mean() - Z[:, 1:].mean(axis=0) @ w
        return np.concatenate([[theta0], w])
    return np.linalg.pinv(Z) @ t


PROBLEMS = ("well-conditioned", "correlated", "duplicate-column", "wide")


@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("solver_name", DETERMINISTIC)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_every_deterministic_solver_reaches_the_exact_answer(solver_name, problem_name, fit_intercept, standardize):
    """Every run ends at the tolerance or at its rounding floor, and what it reports is true: every
    coefficient and the intercept within ``error_bound`` of the exact answer, relatively (and
    ``error_bound ≤ tol`` when it says converged). Most runs converge at tol = 1e-8; a run stops at
    its floor where a component is too near 0 to have 8 correct digits certified (the "correlated"
    problem's intercept is 0 in the model that made it).

    A duplicate column or more columns than rows make G singular: the statistics cannot tell exact
    collinearity from a curvature below their rounding, so no run claims convergence there; the
    iterates still approach the minimum-norm answer, as gradient methods from 0 do."""
    X, y = problem(problem_name)
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=fit_intercept, standardize=standardize)
    expected = exact_theta(objective, X, y)
    tol = 1e-8
    if objective.numerically_singular:
        result = minimize(objective, make_solver(solver_name), np.zeros(objective.n_params), max_iter=3000, tol=tol)
        assert not result.converged and result.status == "max_iter" and result.error_bound == np.inf
        # 3000 updates at κ(range) ≤ 60 contract the error by far more than 1e-6 (ridge-free: no floor)
        assert np.linalg.norm(result.theta - expected) <= 1e-6 * np.linalg.norm(expected)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = minimize(objective, make_solver(solver_name), np.zeros(objective.n_params), max_iter=1_000_000, tol=tol)
    assert result.status in ("tol", "floor"), result.message
    assert result.converged == (result.error_bound <= tol)
    assert len(result.history) == result.n_iter
    coef, intercept = objective.frame.to_model(result.theta)
    exact_coef, exact_intercept = objective.frame.to_model(expected)
    found, exact = np.append(coef, intercept), np.append(exact_coef, exact_intercept)
    kept = ~np.append(objective.frame.inert, not fit_intercept)
    assert np.all(np.abs(found - exact)[kept] <= result.error_bound * np.abs(exact)[kept])
    if problem_name == "well-conditioned":
        assert result.converged


@pytest.mark.parametrize("solver_name", DETERMINISTIC)
def test_constant_history_shapes_and_monotone_loss_for_descent_methods(solver_name):
    X, y = problem("well-conditioned")
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    result = minimize(objective, make_solver(solver_name), np.zeros(objective.n_params), max_iter=5000, tol=1e-10)
    history = result.history
    assert history.loss.shape == history.grad_norm.shape == history.step_size.shape == (result.n_iter,)
    assert np.all(history.step_size > 0)
    if solver_name in ("gd", "cg", "lbfgs"):  # exact line searches and 1/L steps never raise the loss
        # ... in exact arithmetic. The loss is evaluated as ½(θᵀ(Gθ − 2b) + c), within
        # γ_{2p+3}·½(|θ|ᵀ|G||θ| + 2|θ|ᵀ|b| + c) each time, so two in a row may seem to rise by twice
        # that. From 0, ‖θ‖ only grows towards θ* for 1/L steps (per eigencomponent) and for CG
        # (Steihaug), whose iterates L-BFGS's exact line searches make on a quadratic: so ‖θ_final‖
        # bounds them all. (1e-15·loss[0] was 0.04 of this and failed for gd on some data.)
        size = float(np.linalg.norm(result.theta))
        scale = np.linalg.norm(np.abs(objective.G), 2) * size**2 + 2 * np.linalg.norm(objective.b) * size + abs(objective.c)
        rounding = (2 * objective.n_params + 3) * np.finfo(np.float64).eps * scale
        assert np.all(np.diff(np.append(history.loss, result.final_loss)) <= rounding)


@pytest.mark.parametrize("policy", ["auto", "armijo", "line_search", 0.3])
def test_gd_step_policies_all_converge_to_the_same_answer(policy):
    X, y = problem("correlated")
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    expected = exact_theta(objective, X, y)
    # tol 1e-6: above this problem's floor (1.5e-8, set by its intercept, which is near 0)
    result = minimize(objective, make_solver("gd", learning_rate=policy), np.zeros(objective.n_params), max_iter=500_000, tol=1e-6)
    assert result.converged
    np.testing.assert_allclose(result.theta, expected, rtol=1e-6, atol=1e-8)


def test_exact_line_search_takes_the_minimising_step():
    X, y = problem("well-conditioned")
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    state = make_solver("gd", learning_rate="line_search").init(objective, np.zeros(objective.n_params))
    new = make_solver("gd", learning_rate="line_search").step(objective, state)
    # along −g the loss is a parabola; its minimiser makes the new gradient orthogonal to g (up to
    # the rounding of gᵀg − α·gᵀGg, about (2p + 2)·u·2gᵀg ≈ 5e-15·gᵀg here: 1e-12 is generous)
    assert abs(float(new.grad @ state.grad)) <= 1e-12 * float(state.grad @ state.grad)
    for factor in (0.9, 1.1):
        trial = state.theta - factor * new.step * state.grad
        assert objective.loss_grad(trial)[0] > new.loss


@pytest.mark.parametrize("solver_name", STOCHASTIC)
def test_stochastic_solvers_are_reproducible_and_approach_the_answer(solver_name):
    X, y = problem("well-conditioned")
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    expected = exact_theta(objective, X, y)
    runs = [
        minimize(objective, make_solver(solver_name, random_state=seed, schedule="adaptive"), np.zeros(objective.n_params), max_iter=60, tol=1e-12)
        for seed in (3, 3, 4)
    ]
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    np.testing.assert_array_equal(runs[0].history.loss, runs[1].history.loss)
    assert not np.array_equal(runs[0].theta, runs[2].theta)
    start_error = np.linalg.norm(expected)
    assert np.linalg.norm(runs[0].theta - expected) < 0.05 * start_error
    assert runs[0].history.loss[-1] < runs[0].history.loss[0]


def test_registry_names_match_solver_names():
    assert set(SOLVERS) == {"gd", "momentum", "nesterov", "cg", "lbfgs", "sgd", "minibatch", "adam"}
    for name, cls in SOLVERS.items():
        assert cls.name == name


def test_nesterov_automatic_tuning_contracts_at_the_quadratic_optimum():
    """On a quadratic whose curvatures fill [μ, L] = [0.25, 1] (κ = 4), Nesterov's automatic step and
    momentum (4/(3L + μ), (√(3κ+1) − 2)/(√(3κ+1) + 2)) contract the error by 1 − 2/√(3κ + 1) ≈ 0.445
    per update (Lessard, Recht & Packard, 2016), faster than the textbook 1/L tuning's 1 − 1/√κ = 0.5."""
    from gradfit import LinearRegression

    rng = np.random.default_rng(40)
    n, d = 400, 30
    curvatures = np.linspace(0.25, 1.0, d)
    Q, _ = np.linalg.qr(rng.normal(size=(n, d)))
    X = np.sqrt(n) * Q * np.sqrt(curvatures)  # XᵀX/n = diag(curvatures)
    y = X @ rng.normal(size=d)
    settings = dict(solver="nesterov", fit_intercept=False, standardize=False, tol=0, max_iter=40, record_path=True)
    model = LinearRegression(**settings).fit(X, y)
    textbook = LinearRegression(**settings, learning_rate=1.0, momentum=1 / 3).fit(X, y)  # 1/L, (√κ−1)/(√κ+1)
    kappa = 4.0
    assert model.learning_rate_ == pytest.approx(4.0 / (3.0 + 0.25), rel=1e-10)
    exact = np.linalg.lstsq(X, y, rcond=None)[0]

    def rate(fit):  # per update, from update 10 to 35 (before rounding stops the error at ~1e-14)
        errors = np.linalg.norm(fit.path_[:, 1:] - exact, axis=1)
        return (errors[35] / errors[10]) ** (1 / 25)

    # the bound holds up to the k·ρᵏ of the double roots at the spectrum's ends: measured 0.466
    assert rate(model) <= (1 - 2 / np.sqrt(3 * kappa + 1)) * 1.06
    assert rate(textbook) >= (1 - 1 / np.sqrt(kappa))
    assert rate(model) < rate(textbook) - 0.04
