"""The compiled epochs of the stochastic solvers (gradfit.solvers.stochastic_kernels) against a plain
per-row numpy loop written here, and their reproducibility: same seed, same bits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gradfit import DivergenceError, LinearRegression
from gradfit.driver import minimize
from gradfit.objective import LeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.memory import MemorySource

from references import adam_update, row_gradient

EPS = np.finfo(np.float64).eps
EPOCHS = 3
N_ROWS = 600
SEED = 5


def data(weighted: bool):
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(N_ROWS, 4)) * [1.0, 10.0, 0.1, 3.0] + [5.0, -2.0, 0.0, 1.0]
    y = X @ [1.0, -0.5, 20.0, 0.3] + 2.0 + 0.5 * rng.normal(size=N_ROWS)
    weight = rng.uniform(0.2, 5.0, size=N_ROWS) if weighted else None
    return X, y, weight


def reference_epochs(objective, X, y, weight, name: str, *, step: float, batch_size: int, epochs: int):
    """What the solvers compute, by the book: one row at a time in θ's coordinates, numpy scalars and
    vectors, the permutation drawn as the solver draws it (constant schedule, step ``step``)."""
    frame = objective.frame
    scale = objective.stats.n_samples / objective.stats.weight if weight is not None else 1.0
    p = objective.n_params
    theta, first, second, t = np.zeros(p), np.zeros(p), np.zeros(p), 0
    for k in range(epochs):
        order = np.random.default_rng([SEED, k]).permutation(N_ROWS)
        for start in range(0, N_ROWS, batch_size):
            batch = order[start : start + batch_size]
            rows = row_gradient(frame, X[batch], y[batch], theta, None if weight is None else weight[batch], scale)
            grad = rows / len(batch) + objective.ridge * theta
            t += 1
            if name == "adam":
                theta, first, second = adam_update(theta, first, second, grad, step, t)
            else:
                moved = theta - step * grad
                l1 = objective.l1 if objective.l1 is not None else np.zeros(p)
                theta = np.sign(moved) * np.maximum(np.abs(moved) - step * l1, 0.0)
    return theta, t


def run(objective, name: str, *, step: float, batch_size: int, epochs: int):
    solver = make_solver(name, random_state=SEED, learning_rate=step, schedule="constant", batch_size=batch_size)
    state = solver.init(objective, np.zeros(objective.n_params))
    for _ in range(epochs):
        state = solver.step(objective, state)
    return state


CASES = [("sgd", 1, 0.0), ("sgd", 1, 0.5), ("minibatch", 16, 0.0), ("minibatch", 16, 0.5), ("adam", 16, 0.0)]


@pytest.mark.parametrize("name, batch_size, l1_ratio", CASES)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_compiled_epochs_make_the_reference_updates(name, batch_size, l1_ratio, weighted, fit_intercept):
    X, y, weight = data(weighted)
    objective = LeastSquares.from_source(MemorySource(X, y, weight), fit_intercept=fit_intercept, standardize=True,
                                         alpha=0.05, l1_ratio=l1_ratio)
    assert objective.row_arrays() is not None  # the compiled path runs
    assert np.any(objective.ridge > 0) or l1_ratio == 1.0
    # A stable step: SGD's automatic one; Adam's default.
    step = 1e-2 if name == "adam" else make_solver(name, batch_size=batch_size).step_size(objective)
    state = run(objective, name, step=step, batch_size=batch_size, epochs=EPOCHS)
    expected, updates = reference_epochs(objective, X, y, weight, name, step=step, batch_size=batch_size, epochs=EPOCHS)
    assert state.updates == updates
    # The two differ in rounding only: the kernel maps a row as x·(1/(s·u)) − sh/u rather than
    # (x/s − sh)/u and sums in another order, a few ε relative per entry of z and p·ε per dot product.
    # With these steps each update is nonexpansive (η‖z‖² ≤ 1, the prox too; Adam's normalised step
    # is bounded by η), so what one update rounds differently is carried on, not amplified: after U
    # updates the iterates are within about U·p·ε·max(1, ‖θ‖∞) (measured: under 2·10⁻³ of that).
    tolerance = updates * objective.n_params * EPS * max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(state.theta, expected, rtol=0, atol=tolerance)
    assert not np.allclose(state.theta, 0.0)  # not vacuous: the runs moved


@pytest.mark.parametrize("name", ["sgd", "minibatch", "adam"])
def test_same_seed_same_bits_and_the_python_loop_agrees(name, monkeypatch):
    X, y, weight = data(weighted=True)
    objective = LeastSquares.from_source(MemorySource(X, y, weight), fit_intercept=True, standardize=True, alpha=0.05)
    solver = make_solver(name, random_state=SEED)
    runs = [minimize(objective, solver, np.zeros(objective.n_params), max_iter=EPOCHS, tol=0.0) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    np.testing.assert_array_equal(runs[0].history.loss, runs[1].history.loss)
    # Rows the kernels cannot take (a sparse X, say) go through the Python loop over batch_gradient:
    # the same updates, to rounding (the bound of the test above).
    monkeypatch.setattr(objective, "row_arrays", lambda: None)
    looped = minimize(objective, solver, np.zeros(objective.n_params), max_iter=EPOCHS, tol=0.0)
    updates = EPOCHS * -(-N_ROWS // solver.batch_size)
    tolerance = updates * objective.n_params * EPS * max(1.0, float(np.max(np.abs(looped.theta))))
    np.testing.assert_allclose(runs[0].theta, looped.theta, rtol=0, atol=tolerance)


def test_an_overflowing_compiled_epoch_is_reported_as_divergence():
    """A kernel cannot raise numpy's floating-point errors; θ left the floats is told at the epoch's end."""
    X, y, _ = data(weighted=False)
    with warnings.catch_warnings(), pytest.raises(DivergenceError):
        warnings.simplefilter("ignore")
        LinearRegression(solver="sgd", learning_rate=1e3, max_iter=5, random_state=0).fit(X, y)
