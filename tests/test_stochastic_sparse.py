"""sgd and minibatch on a scipy.sparse X (issue 13): the compiled sparse epoch
(gradfit.solvers.stochastic_kernels.sparse_sgd_epoch, O(nonzeros) a row, the centring kept as a lazy
shift) against a per-row numpy loop on the densified rows, the fit against the dense fit of X.toarray(),
same seed same bits, the refusals (adam, ridge, L1), and the command line on an svmlight file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from gradfit import LinearRegression
from gradfit.driver import minimize
from gradfit.objective import SparseRowArrays, StreamingLeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.passes import StreamingSource

from cli_checks import expect
from references import row_gradient

EPS = np.finfo(np.float64).eps
EPOCHS = 3
N_ROWS, N_FEATURES = 500, 12
SEED = 5
#: A tolerance the stochastic solvers reach on data(): their error settles at the gradients' noise
#: (about 1e-2 here, by the streaming objective's normwise bound).
TOL = 0.05


def data(weighted: bool, *, seed: int = 2024):
    """Sparse X (about 30% stored) whose stored values have columns of different scales and nonzero
    means, so the centring (x_shift) is far from 0; a linear y; optional weights."""
    rng = np.random.default_rng(seed)
    X = sp.random(N_ROWS, N_FEATURES, density=0.3, format="csr", random_state=rng, data_rvs=rng.standard_normal)
    scales, shifts = np.geomspace(0.1, 10.0, N_FEATURES), np.linspace(-3.0, 5.0, N_FEATURES)
    X.data = X.data * scales[X.indices] + shifts[X.indices]
    y = X @ rng.normal(size=N_FEATURES) + 2.0 + 0.5 * rng.normal(size=N_ROWS)
    weight = rng.uniform(0.2, 5.0, size=N_ROWS) if weighted else None
    return X, y, weight


def streaming(X, y, weight, *, fit_intercept: bool = True, standardize: bool = True) -> StreamingLeastSquares:
    return StreamingLeastSquares(StreamingSource(X, y, weight), fit_intercept=fit_intercept, standardize=standardize)


def reference_epochs(objective, X, y, weight, *, step: float, batch_size: int, epochs: int):
    """The updates by the book on the densified rows: one row at a time in θ's coordinates
    (z = [1,] (x/s − sh)/u, every column), the permutation drawn as the solver draws it, constant step."""
    frame = objective.frame
    dense = X.toarray()
    scale = objective.moments.n_samples / objective.moments.weight if weight is not None else 1.0
    p = objective.n_params
    theta, t = np.zeros(p), 0
    for k in range(epochs):
        order = np.random.default_rng([SEED, k]).permutation(N_ROWS)
        for start in range(0, N_ROWS, batch_size):
            batch = order[start : start + batch_size]
            grad = row_gradient(frame, dense[batch], y[batch], theta, None if weight is None else weight[batch], scale)
            theta = theta - step * (grad / len(batch))
            t += 1
    return theta, t


def run(objective, name: str, *, step: float, batch_size: int, epochs: int):
    solver = make_solver(name, random_state=SEED, learning_rate=step, schedule="constant", batch_size=batch_size)
    state = solver.init(objective, np.zeros(objective.n_params))
    for _ in range(epochs):
        state = solver.step(objective, state)
    return state


def tolerance(updates: int, p: int, theta) -> float:
    """The bound of tests/test_stochastic_kernels.py, U·p·ε·max(1, ‖θ‖∞): the kernel and the loop differ
    in rounding only. The loop maps each row in full and sums z·θ over every column; the kernel maps the
    nonzeros as x·(1/(s·u)), sums over them, and takes o·θ_w (o = sh/u) from a running sum S + c‖o‖²
    that each update moves by the terms it changes, a few ε·|o_j θ_j| each: per update the same order
    as a dot product's rounding, p·ε relative. Each update is nonexpansive with these steps
    (η‖z‖² ≤ 1), so a difference is carried on, not amplified (measured: under 3·10⁻³ of the bound)."""
    return updates * p * EPS * max(1.0, float(np.max(np.abs(theta))))


@pytest.mark.parametrize("name, batch_size", [("sgd", 1), ("minibatch", 16)])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_the_sparse_epoch_makes_the_reference_updates(name, batch_size, weighted, fit_intercept):
    X, y, weight = data(weighted)
    objective = streaming(X, y, weight, fit_intercept=fit_intercept)
    rows = objective.row_arrays()
    assert isinstance(rows, SparseRowArrays)  # the compiled sparse path runs
    # with an intercept the columns are centred, and the lazy shift has work to do
    assert (np.max(np.abs(rows.x_shift / rows.x_unit)) > 0.5) == fit_intercept
    step = make_solver(name, batch_size=batch_size).step_size(objective)
    state = run(objective, name, step=step, batch_size=batch_size, epochs=EPOCHS)
    expected, updates = reference_epochs(objective, X, y, weight, step=step, batch_size=batch_size, epochs=EPOCHS)
    assert state.updates == updates
    np.testing.assert_allclose(state.theta, expected, rtol=0, atol=tolerance(updates, objective.n_params, expected))
    assert not np.allclose(state.theta, 0.0)  # not vacuous: the runs moved


def test_the_step_bound_is_the_densified_rows_largest_norm():
    X, y, _ = data(weighted=False)
    objective = streaming(X, y, None)
    frame = objective.frame
    Z = (X.toarray() / frame.x_scale - frame.x_shift) / frame.x_unit
    expected = float(np.max(np.sum(Z**2, axis=1))) + 1.0  # the intercept's 1
    assert objective.max_row_norm2() == pytest.approx(expected, rel=1e-12)


def test_duplicate_and_unsorted_entries_are_summed():
    X, y, _ = data(weighted=False)
    coo = X.tocoo()
    # every entry stored twice, as two halves, rows in order but columns not: CSR built raw, so they stay
    order = np.argsort(np.concatenate([coo.row, coo.row]), kind="stable")
    rows = np.concatenate([coo.row, coo.row])[order]
    raw = sp.csr_matrix((np.concatenate([coo.data / 2, coo.data / 2])[order], np.concatenate([coo.col, coo.col])[order],
                         np.searchsorted(rows, np.arange(N_ROWS + 1))), shape=X.shape)
    assert not raw.has_canonical_format and raw.nnz == 2 * X.nnz
    plain, doubled = streaming(X, y, None), streaming(raw, y, None)
    assert doubled.max_row_norm2() == pytest.approx(plain.max_row_norm2(), rel=1e-12)
    step = make_solver("sgd").step_size(plain)
    a = run(plain, "sgd", step=step, batch_size=1, epochs=2)
    b = run(doubled, "sgd", step=step, batch_size=1, epochs=2)
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=tolerance(a.updates, plain.n_params, a.theta))
    assert not raw.has_canonical_format  # the caller's matrix is left as it was


@pytest.mark.parametrize("name", ["sgd", "minibatch"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_a_sparse_fit_is_the_dense_fit_of_the_densified_matrix(name, weighted, fit_intercept):
    """End to end: the sparse fit (streaming engine, lazy shift) and the dense one (statistics engine)
    make the same updates. Their frames are the same up to rounding (the columns' means and spreads
    gathered by other passes), so θ differs by a few ε relative per update, as above, in the user's units."""
    X, y, weight = data(weighted)
    settings = dict(solver=name, learning_rate=0.01, schedule="constant", tol=0.0, max_iter=EPOCHS,
                    random_state=SEED, fit_intercept=fit_intercept)
    sparse_fit = LinearRegression(**settings).fit(X, y, sample_weight=weight)
    dense_fit = LinearRegression(**settings).fit(X.toarray(), y, sample_weight=weight)
    assert (sparse_fit.engine_, dense_fit.engine_) == ("streaming", "statistics")
    batch = 1 if name == "sgd" else make_solver(name).batch_size
    updates = EPOCHS * -(-N_ROWS // batch)
    scale = max(1.0, float(np.max(np.abs(dense_fit.coef_))), abs(dense_fit.intercept_))
    bound = tolerance(updates, N_FEATURES + 1, scale)  # measured: under 5·10⁻³ of it
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=0, atol=bound)
    assert sparse_fit.intercept_ == pytest.approx(dense_fit.intercept_, abs=bound)
    assert not np.allclose(sparse_fit.coef_, 0.0)


@pytest.mark.parametrize("name", ["sgd", "minibatch"])
def test_same_seed_same_bits(name):
    X, y, weight = data(weighted=True)
    objective = streaming(X, y, weight)
    solver = make_solver(name, random_state=SEED)
    runs = [minimize(objective, solver, np.zeros(objective.n_params), max_iter=EPOCHS, tol=0.0) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    np.testing.assert_array_equal(runs[0].history.loss, runs[1].history.loss)
    fits = [LinearRegression(solver=name, random_state=1, max_iter=EPOCHS, tol=0.0).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    other = LinearRegression(solver=name, random_state=2, max_iter=EPOCHS, tol=0.0).fit(X, y)
    assert not np.array_equal(other.coef_, fits[0].coef_)  # the seed is what decides


def test_sgd_fits_a_csr_matrix_end_to_end_and_csc_alike():
    X, y, _ = data(weighted=False)
    exact = LinearRegression(solver="cg", tol=1e-13).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it converges: no ConvergenceWarning
        model = LinearRegression(solver="sgd", tol=TOL, random_state=0).fit(X, y)
    assert model.engine_ == "streaming" and model.converged_ and model.error_bound_ <= TOL
    # The certificate holds: tol is the streaming objective's normwise relative bound on θ (the
    # standardized coefficients and intercept), ‖θ − θ*‖ ≤ error_bound_·‖θ‖.
    objective = streaming(X, y, None)
    theta = objective.frame.from_model(model.coef_, model.intercept_)
    answer = objective.frame.from_model(exact.coef_, exact.intercept_)
    assert np.linalg.norm(theta - answer) <= model.error_bound_ * np.linalg.norm(theta)
    # passes: the columns, Lanczos, the start's evaluation, then an epoch and an evaluation per update
    assert model.n_passes_ >= 2 * model.n_iter_
    csc = LinearRegression(solver="sgd", tol=TOL, random_state=0).fit(X.tocsc(), y)
    np.testing.assert_array_equal(csc.coef_, model.coef_)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (dict(solver="adam"), "solver='adam' is not offered for this X (X is sparse"),
        (dict(solver="sgd", alpha=0.1, l1_ratio=0.0), "solver='sgd' on a sparse X cannot honour a ridge penalty"),
        (dict(solver="minibatch", alpha=0.1, l1_ratio=0.5), "solver='minibatch' on a sparse X cannot honour an L1 penalty"),
        (dict(solver="sgd", alpha=0.1, l1_ratio=1.0), "solver='sgd' on a sparse X cannot honour an L1 penalty"),
    ],
)
def test_what_a_sparse_walk_cannot_do_is_refused_by_name(settings, fragment):
    X, y, _ = data(weighted=False)
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        LinearRegression(**settings).fit(X, y)
    LinearRegression(**settings, max_iter=2, tol=0.0).fit(X.toarray(), y)  # dense rows: offered


def test_the_command_line_fits_an_svmlight_file_with_sgd(gradfit_cli, tmp_path):
    X, y, _ = data(weighted=False)
    X.data = np.round(X.data, 6)
    y = np.round(y, 6)  # dump_svmlight_file writes 16 digits: these read back exactly
    X.sort_indices()
    dump_svmlight_file(X, y, str(tmp_path / "train.svm"), zero_based=True)
    args = ("--solver", "sgd", "--seed", "3", "--tol", str(TOL))
    result = json.loads(expect(gradfit_cli("fit", "train.svm", *args, "--json")).stdout)
    assert (result["engine"], result["solver"], result["converged"]) == ("streaming", "sgd", True)
    model = LinearRegression(solver="sgd", random_state=3, tol=TOL).fit(X, y)
    np.testing.assert_array_equal(result["coef"], model.coef_)
    assert result["intercept"] == model.intercept_


def test_warm_start_goes_on_bit_for_bit_and_partial_fit_is_refused():
    X, y, _ = data(weighted=False)
    going = LinearRegression(solver="sgd", max_iter=2, tol=0.0, warm_start=True, random_state=0).fit(X, y)
    going.set_params(max_iter=1)
    going.fit(X, y)
    whole = LinearRegression(solver="sgd", max_iter=3, tol=0.0, random_state=0).fit(X, y)
    assert going.n_iter_ == 3
    np.testing.assert_array_equal(going.coef_, whole.coef_)
    # each sparse batch would be standardized in its own frame: refused, naming what works
    with pytest.raises(ValueError, match="partial_fit with solver='sgd' is not offered for this X .*fit all the rows"):
        LinearRegression(solver="sgd").partial_fit(X, y)
