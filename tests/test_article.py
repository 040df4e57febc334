"""The article's path: its loop, gradfit's run of it, and the verdict, against plain references."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gradfit import DivergenceError, LinearRegression
from gradfit.article import ARTICLE_QUOTE, UPDATES_SEARCH_LIMIT, article_loop, run_article
from gradfit.datasets import make_article_data

from conftest import reference_article_loop

SEEDS = [0, 1, 7, 2024]
#: gradfit's run against the article's loop, relative. The estimator takes its costs from the
#: statistics, ½(θᵀGθ − 2θᵀb + c): terms of size mean(y²), some 400 times the costs here, each with
#: the statistics' rounding (up to m·u for m = 100 rows), so 100·400·u ≈ 1e-11; and θ's roundings,
#: 2u·‖θ‖ an update, not damped in the worst case, reach 2u·5000·‖θ‖ ≈ 5e-12 after the longest run
#: below, which the cost amplifies by 2‖A‖/‖r‖ ≤ 21 on these data: 1e-10. Measured: 1e-13.
FIDELITY = 1e-10
EPS = np.finfo(np.float64).eps


def article_code_as_printed(X1, y, times=1000, alpha=0.01):
    """The article's snippet with only plotting removed: its design, integer θ and dict of costs."""
    X0 = np.ones((100, 1))
    X = np.hstack((X0, X1))
    Y = y.reshape(100, 1)
    m = len(Y)
    theta = np.array([1, 1]).reshape(2, 1)
    loss = {}
    for i in range(times):
        diff = np.dot(X, theta) - Y
        cost = (diff**2).sum() / (2.0 * m)
        loss[i] = cost
        theta = theta - alpha * (np.dot(X.T, diff) / m)
    return theta, loss


def gradient_norm(X, y, theta):
    """‖Xᵀ(Xθ − y)/m‖ with the ones column, written out."""
    design = np.hstack((np.ones((len(y), 1)), X))
    return float(np.linalg.norm(design.T @ (design @ theta - y) / len(y)))


@pytest.fixture(scope="module")
def article_run():
    return run_article(seed=0)


# ---------------------------------------------------------------- the loop


@pytest.mark.parametrize("seed", SEEDS)
def test_article_loop_is_the_article_code(seed):
    X, y = make_article_data(seed=seed)
    theta, costs = article_loop(X, y)
    theta_printed, loss_printed = article_code_as_printed(X, y)
    np.testing.assert_array_equal(theta, theta_printed.ravel())
    np.testing.assert_array_equal(costs, np.array([loss_printed[i] for i in range(1000)]))


def test_article_loop_matches_the_shared_reference():
    X, y = make_article_data(seed=3)
    theta, costs = article_loop(X, y, times=250, alpha=0.3)
    theta_ref, costs_ref = reference_article_loop(X, y, times=250, alpha=0.3, theta0=[1, 1])
    # Bit for bit: the same arithmetic in the same order. (In another order, 250 roundings of θ
    # would add up to about 250·2u, past the 1e-14 this asserted before.)
    np.testing.assert_array_equal(theta, theta_ref)
    np.testing.assert_array_equal(costs, costs_ref)


def test_article_loop_records_cost_before_each_update():
    X, y = make_article_data(seed=0)
    theta, costs = article_loop(X, y, times=1)
    residual = 1.0 + X[:, 0] - y
    assert costs.shape == (1,)
    # the residuals are the same bits (1·1 + x·1 rounds once either way); the two sums of 100
    # squares, numpy's pairwise one and BLAS's dot, are each within 100u of the exact sum
    assert costs[0] == pytest.approx(residual @ residual / 200, rel=2 * 100 * EPS)
    assert not np.allclose(theta, [1.0, 1.0])


# ---------------------------------------------------------------- fidelity: the central promise


@pytest.mark.parametrize("seed", SEEDS)
def test_run_article_reproduces_the_article_loop(seed):
    run = run_article(seed=seed)
    theta, costs = article_loop(run.X, run.y)
    np.testing.assert_allclose([run.intercept, run.slope], theta, rtol=FIDELITY)
    np.testing.assert_allclose(run.model.loss_history_, costs, rtol=FIDELITY)
    assert run.iterations == run.model.n_iter_ == 1000
    assert run.final_loss == pytest.approx(
        float(np.sum((theta[0] + theta[1] * run.X[:, 0] - run.y) ** 2) / 200), rel=FIDELITY
    )


@pytest.mark.parametrize(("learning_rate", "iterations"), [(0.5, 40), (1.4, 300), (0.001, 5000)])
def test_run_article_reproduces_other_settings(learning_rate, iterations):
    run = run_article(seed=11, learning_rate=learning_rate, iterations=iterations)
    theta, costs = article_loop(run.X, run.y, times=iterations, alpha=learning_rate)
    np.testing.assert_allclose([run.intercept, run.slope], theta, rtol=FIDELITY)
    np.testing.assert_allclose(run.model.loss_history_, costs, rtol=FIDELITY)


# ---------------------------------------------------------------- the verdict


def test_article_settings_do_not_converge(article_run):
    run = article_run
    assert not run.converged
    assert run.updates_needed is not None and run.updates_needed > 1000
    assert run.error > run.tol
    # Far from the optimum: slope ≈ 1.68 where the least-squares slope is ≈ 2.1.
    assert run.optimum_slope - run.slope > 0.3
    assert abs(run.intercept - run.optimum_intercept) > 0.2


def test_summary_says_plainly_it_did_not_converge(article_run):
    text = article_run.summary()
    assert "did not converge" in text.lower()
    assert f"needs {article_run.updates_needed} updates at α=0.01" in text
    assert f"{article_run.updates_needed_auto} updates at α=1/L=0.76" in text
    assert "2/L=1.51" in text
    assert "1.0323" in text and "1.9516" in text
    assert f"{article_run.slope:.4f}" in text and f"{article_run.optimum_slope:.4f}" in text


def test_auto_learning_rate_converges():
    run = run_article(seed=0, learning_rate="auto")
    assert run.converged
    assert run.learning_rate == run.auto_learning_rate
    assert run.updates_needed == run.updates_needed_auto < 1000
    assert run.slope == pytest.approx(run.optimum_slope, rel=1e-6)
    assert run.intercept == pytest.approx(run.optimum_intercept, rel=1e-6)
    text = run.summary()
    assert text.count("Converged") == 1 and "not converge" not in text.lower()


def test_enough_updates_at_the_article_rate_converge(article_run):
    run = run_article(seed=0, iterations=article_run.updates_needed)
    assert run.converged
    # tol 1e-6: the intercept and the slope each within 1e-6 of the optimum, relatively.
    assert run.error <= run.tol
    assert run.slope == pytest.approx(run.optimum_slope, rel=1e-6)
    assert run.intercept == pytest.approx(run.optimum_intercept, rel=1e-6)
    short = run_article(seed=0, iterations=article_run.updates_needed - 1)
    assert not short.converged


@pytest.mark.parametrize("learning_rate", [0.01, "auto", 1.2])
def test_updates_needed_is_the_first_update_that_reaches_tol(learning_rate):
    run = run_article(seed=5, learning_rate=learning_rate)
    needed = run.updates_needed if learning_rate != "auto" else run.updates_needed_auto
    assert needed is not None

    def reached(max_iter):
        model = LinearRegression(solver="gd", learning_rate=learning_rate, max_iter=max_iter, tol=run.tol, standardize=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(run.X, run.y, coef_init=[1.0], intercept_init=1.0)
        return model.converged_

    assert not reached(needed - 1)
    assert reached(needed)


def test_updates_needed_agrees_with_the_plain_loop(article_run):
    """Independently of the estimator: the article's loop run that many times meets the tolerance
    (every coefficient within tol of the optimum, relatively, against numpy's lstsq), and one fewer
    does not. The driver certifies its error with a small rounding floor added (a few 1e-16 here), so
    the loop is compared with tol up to that margin."""
    run = article_run
    theta_before, _ = reference_article_loop(run.X, run.y, times=run.updates_needed - 1, alpha=0.01, theta0=[1, 1])
    theta_at, _ = reference_article_loop(run.X, run.y, times=run.updates_needed, alpha=0.01, theta0=[1, 1])
    optimum = np.linalg.lstsq(np.hstack([np.ones((len(run.y), 1)), run.X]), run.y, rcond=None)[0]
    # The driver certifies its error with rounding floors added (κ·√p·ε·‖θ‖/|θ_j| ≈ 1e-14 here), and
    # lstsq is itself within κ·ε of the optimum: both are below 1e-6·tol, while one update changes the
    # error by a factor 1 − α·λ_min ≈ 1 − 2e-4, so this margin still pins the count to one update.
    margin = 1e-6

    def error(theta):
        return float(np.max(np.abs(theta - optimum) / np.abs(optimum)))

    assert error(theta_at) <= run.tol * (1 + margin)
    assert error(theta_before) > run.tol * (1 - margin)


def test_grad_norm_and_lipschitz_are_the_articles(article_run):
    run = article_run
    theta, _ = article_loop(run.X, run.y)
    # ‖∇J‖ = 0.03 from terms of size 4 (cancellation ×134, m·u each way: 6e-12), at θs FIDELITY apart
    assert run.grad_norm == pytest.approx(gradient_norm(run.X, run.y, theta), rel=1e-9)
    design = np.hstack((np.ones((100, 1)), run.X))
    largest = np.linalg.eigvalsh(design.T @ design / 100)[-1]
    # λ_max moves no more than G (Weyl): m·u relative each way, far inside 1e-10
    assert run.auto_learning_rate == pytest.approx(1 / largest, rel=1e-10)
    assert run.stable_bound == pytest.approx(2 / largest, rel=1e-10)


def test_optimum_is_the_least_squares_fit(article_run):
    run = article_run
    design = np.hstack((np.ones((100, 1)), run.X))
    (intercept, slope), *_ = np.linalg.lstsq(design, run.y, rcond=None)
    # lstsq is backward stable: κ(A)·u-ish with κ(A) ≈ 4 here; the optimum's loss is insensitive
    # to first order. 1e-12 leaves room for both sides.
    assert run.optimum_intercept == pytest.approx(intercept, rel=1e-12)
    assert run.optimum_slope == pytest.approx(slope, rel=1e-12)
    residual = design @ [intercept, slope] - run.y
    assert run.optimum_loss == pytest.approx(residual @ residual / 200, rel=1e-12)


def test_just_below_the_stable_bound_converges(article_run):
    run = run_article(seed=0, learning_rate=0.95 * article_run.stable_bound)
    assert run.converged
    assert run.updates_needed is not None


def test_too_small_a_rate_reports_no_count():
    run = run_article(seed=0, learning_rate=1e-6, iterations=10)
    assert run.updates_needed is None
    assert not run.converged
    assert f"within {UPDATES_SEARCH_LIMIT:,} updates" in run.summary()


def test_divergent_learning_rate_raises_naming_the_stable_bound(article_run):
    with pytest.raises(DivergenceError, match="2/L") as caught:
        run_article(seed=0, learning_rate=2.0)
    assert caught.value.stable_bound == pytest.approx(article_run.stable_bound, rel=1e-10)
    assert f"{article_run.stable_bound:.6g}" in str(caught.value)


def test_divergence_noticed_after_a_short_run_still_raises():
    # Three updates at 2.0 do not blow up yet; counting the updates needed does.
    with pytest.raises(DivergenceError, match="2/L"):
        run_article(seed=0, learning_rate=2.0, iterations=3)


@pytest.mark.parametrize("tol", [0.0, -1e-6])
def test_tol_must_be_positive(tol):
    with pytest.raises(ValueError, match="tol"):
        run_article(seed=0, tol=tol)


# ---------------------------------------------------------------- the record


def test_to_json_is_plain_json(article_run):
    record = article_run.to_json()
    assert json.loads(json.dumps(record)) == record
    for key in ("intercept", "coef", "optimum", "converged", "n_iter", "learning_rate", "final_loss", "grad_norm",
                "updates_needed", "auto_learning_rate", "updates_needed_auto", "stable_bound", "article_quote"):
        assert key in record
    assert record["converged"] is False
    assert record["coef"] == [article_run.slope]
    assert record["optimum"]["coef"] == [article_run.optimum_slope]
    assert record["n_iter"] == 1000 and record["learning_rate"] == 0.01
    assert isinstance(record["updates_needed"], int) and isinstance(record["updates_needed_auto"], int)
    assert record["article_quote"] == {"intercept": ARTICLE_QUOTE[0], "coef": [ARTICLE_QUOTE[1]]}


def test_the_quote_is_not_what_the_articles_settings_give():
    """On every draw of the article's data, its 1000 updates stop well short of its quoted slope."""
    slopes = [article_loop(*make_article_data(seed=seed))[0][1] for seed in range(20)]
    assert max(slopes) < ARTICLE_QUOTE[1] - 0.2


def test_ctrl_c_during_the_run_stops_it_instead_of_being_swallowed(monkeypatch):
    """The driver turns Ctrl-C into status "interrupted"; run_article must not carry on after it."""
    import gradfit.article as article
    from gradfit.driver import minimize as real_minimize

    def interrupted_minimize(*args, **kwargs):
        def interrupt(state):
            raise KeyboardInterrupt

        return real_minimize(*args, **{**kwargs, "callbacks": [interrupt]})

    monkeypatch.setattr("gradfit.fitting.minimize", interrupted_minimize)
    with pytest.raises(KeyboardInterrupt), pytest.warns(UserWarning, match="interrupted after"):
        article.run_article(seed=0)
