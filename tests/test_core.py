"""The core layers against references they do not share code with: plain loops, explicit designs,
numpy's eigensolver and exact rational arithmetic."""

from __future__ import annotations

import warnings
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradfit import DivergenceError, LinearRegression
from gradfit.driver import DIVERGENCE_GROWTH, minimize
from gradfit.numerics.scaling import power_of_two_scale
from gradfit.objective import Frame, LeastSquares
from gradfit.solvers.cg import ConjugateGradient
from gradfit.solvers.exact import solve_exact
from gradfit.solvers.gd import GradientDescent
from gradfit.solvers.recentre import Recentring
from gradfit.sources.memory import MemorySource
from gradfit.sources.stats import SufficientStats, merge_all

from conftest import reference_article_loop
from problems import random_problem
from references import assert_same_statistics


def objective_for(X, y, *, fit_intercept=True, standardize=True) -> LeastSquares:
    return LeastSquares.from_stats(MemorySource(X, y).stats(), fit_intercept=fit_intercept, standardize=standardize)


def explicit_design(X, y, frame: Frame):
    """Z and t built row by row from the frame's definition, in the user's units."""
    shift = frame.x_shift * frame.x_scale
    unit = frame.x_unit * frame.x_scale
    Z = (X - shift) / unit
    if frame.fit_intercept:
        Z = np.hstack([np.ones((X.shape[0], 1)), Z])
    t = (y - frame.y_shift * frame.y_scale) / (frame.y_unit * frame.y_scale)
    return Z, t


# ---------------------------------------------------------------- sufficient statistics


def exact_centred_stats(X, y):
    Xf = [[Fraction(v) for v in row] for row in X]
    yf = [Fraction(v) for v in y]
    n = len(yf)
    xm = [sum(col) / n for col in zip(*Xf)]
    ym = sum(yf) / n
    d = len(xm)
    xx = [[sum((r[i] - xm[i]) * (r[j] - xm[j]) for r in Xf) for j in range(d)] for i in range(d)]
    xy = [sum((r[i] - xm[i]) * (v - ym) for r, v in zip(Xf, yf)) for i in range(d)]
    return xm, ym, xx, xy


def test_chunked_stats_match_exact_rational_arithmetic():
    rng = np.random.default_rng(1)
    # A large common offset is where a one-pass sum of squares loses every digit; the pairwise merge must not.
    X = 1e6 + rng.random((41, 2))
    y = 3e5 + rng.random(41)
    origin = {"x_origin": X[0], "y_origin": y[0]}
    parts = [
        SufficientStats.from_chunk(X[i : i + 7], y[i : i + 7], x_scale=np.ones(2), y_scale=1.0, **origin)
        for i in range(0, 41, 7)
    ]
    stats = merge_all(parts)
    xm, ym, xx, xy = exact_centred_stats(X, y)
    yy = sum((Fraction(v) - ym) ** 2 for v in y)
    exact = SimpleNamespace(x_mean=np.array([float(v) for v in xm]), y_mean=float(ym), xx=np.array([[float(v) for v in row] for row in xx]),
                            xy=np.array([float(v) for v in xy]), yy=float(yy), x_scale=np.ones(2), y_scale=1.0)
    # m·u of the centred scales √(xx_ii·xx_jj) per entry, merges included; the helper's 2m·u also
    # covers the exact values' rounding to floats. (rtol=1e-13 on xx was below the worst case for
    # its off-diagonal entry, whose correlation is 0.055: 41u/0.055 = 1.6e-13.) The means lose
    # nothing to the offset: one rounding of 1e6 plus the offsets' m·u.
    assert_same_statistics(stats, exact, X, y)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), d=st.integers(1, 4), cut=st.floats(0.05, 0.95), seed=st.integers(0, 2**31))
def test_merge_is_order_free_and_equals_one_chunk(n, d, cut, seed):
    X, y = random_problem(seed, n=n, d=d)
    ones = np.ones(d)
    whole = SufficientStats.from_chunk(X, y, x_scale=ones, y_scale=1.0)
    k = max(1, min(n - 1, int(cut * n)))
    a = SufficientStats.from_chunk(X[:k], y[:k], x_scale=ones, y_scale=1.0)
    b = SufficientStats.from_chunk(X[k:], y[k:], x_scale=ones, y_scale=1.0)
    for merged in (a.merge(b), b.merge(a)):
        assert merged.n_samples == n
        # n ≤ 50 rows of unit scale: the worst case, 2n·u of the centred scales (a few 1e-12), is
        # inside these bounds; the means' offsets are at most a few units
        np.testing.assert_allclose(merged.x_mean, whole.x_mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(merged.xx, whole.xx, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(merged.xy, whole.xy, rtol=1e-10, atol=1e-10)
        assert merged.yy == pytest.approx(whole.yy, rel=1e-10, abs=1e-10)


def test_power_of_two_scale_is_exact_and_brackets_the_value():
    values = np.array([1e-300, 3.0, 4.0, 1e200, 0.0])
    scale = power_of_two_scale(values)
    mantissa, _ = np.frexp(scale)
    assert np.all(mantissa == 0.5)  # a power of two: division by it is exact
    assert np.all(values <= scale) and np.all(values[:4] > scale[:4] / 2)
    assert scale[-1] == 1.0


# ---------------------------------------------------------------- objective


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_loss_and_gradient_equal_the_explicit_design(fit_intercept, standardize):
    X, y = random_problem(3, n=50, d=3, scale=5.0)
    objective = objective_for(X, y, fit_intercept=fit_intercept, standardize=standardize)
    Z, t = explicit_design(X, y, objective.frame)
    theta = np.random.default_rng(0).normal(size=objective.n_params)
    loss, grad = objective.loss_grad(theta)
    residual = Z @ theta - t
    # From G, b, c against the rows: each side carries (m + p)·u ≈ 1e-14 of the terms' sizes, and at
    # a random θ nothing cancels much (the gradient's entries are of order 1); λ_max moves no more
    # than G does (Weyl). The bounds below are far outside that.
    assert loss == pytest.approx(residual @ residual / (2 * len(y)), rel=1e-10)
    np.testing.assert_allclose(grad, Z.T @ residual / len(y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(objective.hess_vec(theta), Z.T @ (Z @ theta) / len(y), rtol=1e-9, atol=1e-12)
    # central differences: the gradient is the loss's derivative
    h = 1e-6
    for i in range(objective.n_params):
        e = np.zeros(objective.n_params)
        e[i] = h
        numeric = (objective.loss_grad(theta + e)[0] - objective.loss_grad(theta - e)[0]) / (2 * h)
        assert numeric == pytest.approx(grad[i], rel=1e-6, abs=1e-8)
    assert objective.lipschitz == pytest.approx(np.linalg.eigvalsh(Z.T @ Z / len(y))[-1], rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    fit_intercept=st.booleans(),
    standardize=st.booleans(),
    coef=arrays(np.float64, 3, elements=st.floats(-1e6, 1e6)),
    intercept=st.floats(-1e6, 1e6),
)
def test_frame_maps_model_to_theta_and_back(seed, fit_intercept, standardize, coef, intercept):
    X, y = random_problem(seed, n=20, d=3, scale=100.0)
    frame = objective_for(X, y, fit_intercept=fit_intercept, standardize=standardize).frame
    back_coef, back_intercept = frame.to_model(frame.from_model(coef, intercept))
    np.testing.assert_allclose(back_coef, coef, rtol=1e-12, atol=1e-6)
    expected_intercept = intercept if fit_intercept else 0.0
    assert back_intercept == pytest.approx(expected_intercept, rel=1e-10, abs=1e-4)
    # and the frame predicts what the model predicts
    theta = frame.from_model(coef, intercept)
    Z, t = explicit_design(X, y, frame)
    predicted = (Z @ theta) * frame.y_unit * frame.y_scale + frame.y_shift * frame.y_scale
    np.testing.assert_allclose(predicted, X @ coef + expected_intercept, rtol=1e-9, atol=1e-6 * (1 + abs(intercept)))


# ---------------------------------------------------------------- solver and driver


def stepped(objective, solver, theta0, **options):
    """The same run forced through one ``step`` at a time (a callback disables closed-form blocks)."""
    return minimize(objective, solver, theta0, callbacks=[lambda state: None], **options)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    fraction=st.floats(0.05, 1.95),
    fit_intercept=st.booleans(),
    standardize=st.booleans(),
    duplicate=st.booleans(),
)
def test_closed_form_blocks_make_the_same_iterates_as_stepping(seed, fraction, fit_intercept, standardize, duplicate):
    X, y = random_problem(seed, n=40, d=3)
    if duplicate:  # a singular G: the null-space component must stay where it started
        X = np.hstack([X, X[:, :1]])
    objective = objective_for(X, y, fit_intercept=fit_intercept, standardize=standardize)
    solver = GradientDescent(fraction / objective.lipschitz)  # any α < 2/L converges
    theta0 = np.random.default_rng(seed).normal(size=objective.n_params)
    fast = minimize(objective, solver, theta0, max_iter=300, tol=1e-9)
    slow = stepped(objective, solver, theta0, max_iter=300, tol=1e-9)
    assert abs(fast.n_iter - slow.n_iter) <= 1  # the stopping test may flip on a rounding-level tie
    n = min(fast.n_iter, slow.n_iter)
    np.testing.assert_allclose(fast.history.loss[:n], slow.history.loss[:n], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(fast.history.grad_norm[:n], slow.history.grad_norm[:n], rtol=1e-6, atol=1e-11)
    if fast.n_iter == slow.n_iter:
        np.testing.assert_allclose(fast.theta, slow.theta, rtol=1e-8, atol=1e-10)
    assert len(fast.history) == fast.n_iter


@pytest.mark.parametrize("stepping", [False, True], ids=["closed-form", "stepped"])
def test_gd_reproduces_the_article_loop(article_data, stepping):
    X, y = article_data
    theta, costs = reference_article_loop(X, y, times=1000, alpha=0.01, theta0=[1.0, 1.0])
    objective = objective_for(X, y, standardize=False)
    theta0 = objective.frame.from_model(np.array([1.0]), 1.0)
    run = stepped if stepping else minimize
    result = run(objective, GradientDescent(0.01), theta0, max_iter=1000, tol=0.0)
    assert result.n_iter == 1000 and len(result.history) == 1000 and result.status == "max_iter"
    np.testing.assert_allclose(result.history.loss, costs, rtol=1e-10)
    np.testing.assert_allclose(result.theta, theta, rtol=1e-10)


def test_estimator_reproduces_the_article_loop_exactly(article_data):
    X, y = article_data
    theta, costs = reference_article_loop(X, y, times=1000, alpha=0.01, theta0=[1.0, 1.0])
    model = LinearRegression(solver="gd", learning_rate=0.01, max_iter=1000, tol=0, standardize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=0 asks for exactly max_iter updates: no ConvergenceWarning
        model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    assert model.n_iter_ == 1000 and model.loss_history_.shape == (1000,)
    np.testing.assert_allclose(model.loss_history_, costs, rtol=1e-10)
    np.testing.assert_allclose([model.intercept_, model.coef_[0]], theta, rtol=1e-10)
    # and the article's settings stop short of the optimum, as the README says
    optimum = np.linalg.lstsq(np.hstack([np.ones((100, 1)), X]), y, rcond=None)[0]
    assert abs(model.coef_[0] - optimum[1]) > 0.2


def test_auto_learning_rate_is_one_over_L_of_the_optimised_design(article_data):
    X, y = article_data
    for standardize in (True, False):
        model = LinearRegression(solver="gd", standardize=standardize).fit(X, y)
        Z, _ = explicit_design(X, y, objective_for(X, y, standardize=standardize).frame)
        L = np.linalg.eigvalsh(Z.T @ Z / len(y))[-1]
        assert model.learning_rate_ == pytest.approx(1 / L, rel=1e-12)
        assert model.converged_


def test_tolerance_bounds_every_coefficients_relative_error_and_history_matches_n_iter():
    """Converged at tol means every coefficient and the intercept within tol of the exact answer
    (QR with refinement, code the driver does not use), relatively; and not one update late."""
    X, y = random_problem(7, n=80, d=4)
    objective = objective_for(X, y)
    coef_exact, intercept_exact = solve_exact(X, y, fit_intercept=True)
    exact = np.append(coef_exact, intercept_exact)
    for tol in (1e-3, 1e-6, 1e-10):
        result = minimize(objective, GradientDescent("auto"), np.zeros(objective.n_params), max_iter=100_000, tol=tol)
        assert result.converged and result.status == "tol" and result.error_bound <= tol
        found = np.append(*objective.frame.to_model(result.theta))
        assert np.all(np.abs(found - exact) <= tol * np.abs(exact))
        assert len(result.history) == result.n_iter
        shorter = minimize(objective, GradientDescent("auto"), np.zeros(objective.n_params), max_iter=result.n_iter - 1, tol=tol)
        assert not shorter.converged  # it did not stop late


def test_callback_stops_the_run_and_interrupt_keeps_the_last_iterate():
    X, y = random_problem(8)
    objective = objective_for(X, y)
    theta0 = np.zeros(objective.n_params)
    result = minimize(objective, GradientDescent(0.01), theta0, max_iter=1000, tol=0, callbacks=[lambda s: s.k >= 5])
    assert result.status == "callback" and result.n_iter == 5 and len(result.history) == 5

    def interrupt(state):
        if state.k == 3:
            raise KeyboardInterrupt

    result = minimize(objective, GradientDescent(0.01), theta0, max_iter=1000, tol=0, callbacks=[interrupt])
    assert result.status == "interrupted" and result.n_iter == 3 and len(result.history) == 3
    assert not result.converged


def test_recentring_is_a_wrapper_whose_states_are_in_parameters():
    """Near its rounding floor a run on double-double statistics goes on in δ = θ − anchor (the
    Recentred wrapper). A callback still sees θ in parameters: the iterates it is shown equal the
    recorded path, and the run (tol = 0: every update made, so it reaches the floor and recentres
    whatever the BLAS kernel's rounding) ends bit for bit where the run with no callback ends."""
    x = np.arange(21.0)
    X = np.vander(x, 6, increasing=True)[:, 1:]  # degree-5 polynomial, κ(G) ≈ 2.7e6 standardized
    y = 10 * np.sin(x / 3) + np.mod(np.arange(21), 3)
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    assert objective.can_recentre  # small and ill-conditioned: double-double statistics

    seen = []
    result = minimize(objective, ConjugateGradient(), np.zeros(objective.n_params), max_iter=60, tol=0,
                      callbacks=[seen.append], record_path=1000)
    assert any(isinstance(state, Recentring) for state in seen), "the run never recentred: the test shows nothing"
    np.testing.assert_array_equal(np.array([state.theta for state in seen]), result.path[1:])
    np.testing.assert_array_equal(seen[-1].theta, result.theta)
    plain = minimize(objective, ConjugateGradient(), np.zeros(objective.n_params), max_iter=60, tol=0)
    np.testing.assert_array_equal(result.theta, plain.theta)  # CG steps either way: the same updates


@pytest.mark.parametrize("stepping", [False, True], ids=["closed-form", "stepped"])
@pytest.mark.parametrize("factor", [1.05, 1.5, 5.0, 1e8])
def test_divergence_stops_within_a_few_iterations_of_being_clear(article_data, stepping, factor):
    X, y = article_data
    objective = objective_for(X, y, standardize=False)
    alpha = factor * 2 / objective.lipschitz
    theta0 = objective.frame.from_model(np.array([1.0]), 1.0)
    run = stepped if stepping else minimize
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning may leak out
        with pytest.raises(DivergenceError) as caught:
            run(objective, GradientDescent(alpha), theta0, max_iter=100_000, tol=0)
    error = caught.value
    # The loss grows by |1 − αL|² per update once the unstable mode dominates: it has "clearly"
    # diverged when it has grown DIVERGENCE_GROWTH-fold; allow a few updates for transients.
    growth = (alpha * objective.lipschitz - 1) ** 2
    clear_after = np.log(DIVERGENCE_GROWTH) / np.log(growth)
    assert error.iteration <= clear_after + 12
    assert error.learning_rate == pytest.approx(alpha)
    assert error.stable_bound == pytest.approx(2 / objective.lipschitz)
    assert "2/L" in str(error) and f"{alpha:.6g}" in str(error)


def test_gd_from_zero_reaches_the_minimum_norm_solution_of_a_rank_deficient_design():
    X, y = random_problem(11, n=50, d=2)
    X = np.hstack([X, X[:, [0]], np.full((50, 1), 3.0)])  # a duplicate and a constant column
    model = LinearRegression(tol=1e-12, max_iter=100_000).fit(X, y)
    Xc = X - X.mean(axis=0)
    expected = np.linalg.pinv(Xc) @ (y - y.mean())
    np.testing.assert_allclose(model.coef_, expected, rtol=1e-8, atol=1e-10)
    assert model.coef_[0] == pytest.approx(model.coef_[2], rel=1e-10)
    assert model.coef_[3] == 0.0


@pytest.mark.parametrize("stepping", [False, True], ids=["closed-form", "stepped"])
def test_recorded_path_is_the_article_loops_iterates_thinned_evenly(article_data, stepping):
    X, y = article_data
    times = 1000
    design = np.hstack([np.ones((100, 1)), X])
    theta = np.array([1.0, 1.0])
    iterates = [theta]
    for _ in range(times):
        theta = theta - 0.01 * design.T @ (design @ theta - y) / 100
        iterates.append(theta)
    iterates = np.array(iterates)
    objective = objective_for(X, y, standardize=False)
    theta0 = objective.frame.from_model(np.array([1.0]), 1.0)
    run = stepped if stepping else minimize
    result = run(objective, GradientDescent(0.01), theta0, max_iter=times, tol=0, record_path=100)
    kept = result.path_iterations
    assert kept[0] == 0 and kept[-1] == times and len(kept) <= 100
    assert np.all(np.diff(kept) > 0) and len(set(np.diff(kept[:-1]))) == 1  # evenly spaced
    np.testing.assert_allclose(result.path, iterates[kept], rtol=1e-10)


def test_estimator_path_is_in_the_users_units(article_data):
    X, y = article_data
    model = LinearRegression(solver="gd", learning_rate=0.01, max_iter=300, tol=0, standardize=False, record_path=True)
    model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    assert model.path_.shape == (301, 2) and model.path_iterations_.tolist() == list(range(301))
    np.testing.assert_allclose(model.path_[0], [1.0, 1.0])
    np.testing.assert_allclose(model.path_[-1], [model.intercept_, model.coef_[0]])
    standardized = LinearRegression(record_path=5).fit(X, y)
    assert len(standardized.path_) <= 5
    np.testing.assert_allclose(standardized.path_[-1], [standardized.intercept_, standardized.coef_[0]])


@settings(max_examples=30, deadline=None)
@given(chunks=st.integers(1, 40), seed=st.integers(0, 1000))
def test_tree_reduce_of_chunk_statistics_equals_one_pass(chunks, seed):
    """Merging chunk statistics as they come (TreeReduce, O(log chunks) held) gives the statistics
    of the whole data, as merge_all and a single chunk do."""
    from gradfit.sources.stats import SufficientStats, TreeReduce, merge_all

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4)) * [1.0, 5.0, 0.1, 30.0] + [0.0, 100.0, -3.0, 7.0]
    y = X @ rng.normal(size=4) + rng.normal(size=200)
    ones = np.ones(4)
    bounds = np.linspace(0, 200, chunks + 1).astype(int)
    parts = [SufficientStats.from_chunk(X[a:b], y[a:b], x_scale=ones, y_scale=1.0, x_origin=X[0], y_origin=float(y[0]))
             for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    tree = TreeReduce(SufficientStats.merge)
    for part in parts:
        tree.add(part)
    assert len(tree.stack) <= int(np.log2(len(parts))) + 1
    whole = SufficientStats.from_chunk(X, y, x_scale=ones, y_scale=1.0, x_origin=X[0], y_origin=float(y[0]))
    for merged in (tree.result(), merge_all(parts)):
        assert merged.n_samples == 200
        # 2m·u of the centred scales (a fixed atol=1e-9 was below that for the entries of the
        # column of scale 30 with the others: 2·200·u·√(xx_11·xx_33) = 2.7e-9)
        assert_same_statistics(merged, whole, X, y, fields=("x_mean", "xx", "xy"))


@pytest.mark.parametrize("solver", ["nesterov", "momentum"])
def test_divergence_of_a_momentum_method_names_its_own_bound(solver):
    """A momentum method's stable steps depend on its momentum, not only on 2/L: the message gives
    the solver's own bound and does not offer 1/L as the cure."""
    X, y = random_problem(12, n=80, d=3)
    with pytest.raises(DivergenceError) as caught:
        LinearRegression(solver=solver, learning_rate=5.0, momentum=0.9, max_iter=10_000).fit(X, y)
    message = str(caught.value)
    assert f"the largest stable learning rate of solver {solver!r}" in message
    assert f"{caught.value.stable_bound:.6g}" in message and "solver='cg'" in message
    assert "1/L" not in message
