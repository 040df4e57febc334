"""The streaming engine: fused passes over sparse or very wide X, against references it does not share.

The pass is checked against plain numpy products, the objective against the sufficient-statistics
objective on the same (dense) data, the fits against statsmodels, exact rational arithmetic and
scikit-learn's Ridge/Lasso on sparse data, and the engine switch for huge d by faking the memory
that is available.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso, Ridge

from gradfit import LinearRegression, engine
from gradfit.errors import DataError
from gradfit.objective import LANCZOS_STEPS, LeastSquares, StreamingLeastSquares
from gradfit.solvers.base import GRADIENT_REFRESH
from gradfit.sources import InMemorySource, NamedSource, ReducibleSource, Source, StreamableSource, offers, passes
from gradfit.sources.memory import MemorySource
from gradfit.sources.passes import StreamingSource

from references import assert_same_predictions, correct_digits, exact_least_squares

DETERMINISTIC = ("gd", "momentum", "nesterov", "cg", "lbfgs", "auto")
EPS = np.finfo(np.float64).eps


def sparse_problem(seed=0, n=400, d=60, density=0.08, offset=0.0):
    """CSR X whose columns have different scales (and means ``offset``), y = Xw + 3 + noise."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=rng, data_rvs=rng.standard_normal)
    X.data = X.data * rng.uniform(0.5, 8.0, size=d)[X.indices] + offset
    y = X @ rng.normal(size=d) + 3.0 + 0.1 * rng.standard_normal(n)
    return X, y


def dense_reference(X, y, *, fit_intercept, weight=None):
    """statsmodels OLS/WLS on the densified data: (coef, intercept)."""
    design = X.toarray() if sp.issparse(X) else np.asarray(X)
    if fit_intercept:
        design = sm.add_constant(design, has_constant="add")
    model = sm.WLS(y, design, weights=weight) if weight is not None else sm.OLS(y, design)
    params = model.fit(method="qr").params
    return (params[1:], params[0]) if fit_intercept else (params, 0.0)


# --- the pass ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dense", "csr", "csc"])
@pytest.mark.parametrize("weighted", [False, True])
def test_residual_pass_equals_numpy_products(kind, weighted, monkeypatch):
    monkeypatch.setattr(passes, "PASS_CHUNK_NNZ", 97)  # many chunks, shared by the threads
    monkeypatch.setattr(passes, "PASS_CHUNK_BYTES", 8 * 60 * 13)
    X, y = sparse_problem(1)
    dense = X.toarray()
    data = {"dense": dense, "csr": X, "csc": X.tocsc()}[kind]
    rng = np.random.default_rng(2)
    weight = rng.uniform(0, 3, size=len(y)) if weighted else None
    v, a, beta = rng.normal(size=X.shape[1]), 0.7, 1.3
    source = StreamingSource(data, y, weight, workers=3)
    assert len(source._chunks) > 3
    sum_r2, gradient, sum_r = source.residual_pass(v, a, beta)
    r = dense @ v + a - beta * y
    w = weight if weighted else np.ones(len(y))
    # Both sides sum the same terms in other orders. A residual is d + 2 terms, within
    # (d + 2)·u·s of exact for s = |X||v| + |a| + β|y|; the sums over the n rows add n·u of their
    # terms' sizes; so two evaluations are 2(n + d + 2)·u·(sum of sizes) apart at most.
    rounding = 2 * (len(y) + X.shape[1] + 2) * EPS
    size = np.abs(dense) @ np.abs(v) + abs(a) + beta * np.abs(y)
    assert abs(sum_r2 - float(w @ r**2)) <= rounding * float(w @ (size * (np.abs(r) + size)))
    assert np.all(np.abs(gradient - dense.T @ (w * r)) <= rounding * (np.abs(dense).T @ (w * size)))
    assert abs(sum_r - float(w @ r)) <= rounding * float(w @ size)
    assert source.passes == 1


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    workers=st.integers(1, 4),
    chunk=st.integers(1, 500),
    scale=st.floats(-3.0, 3.0),
)
def test_pass_is_linear_and_independent_of_the_chunking(seed, workers, chunk, scale):
    X, y = sparse_problem(seed % 7, n=90, d=20, density=0.2)
    rng = np.random.default_rng(seed)
    v, u = rng.normal(size=20), rng.normal(size=20)
    one = StreamingSource(X, y, workers=1)
    many = StreamingSource(X, y, workers=workers)
    streaming_chunks = passes.PASS_CHUNK_NNZ
    try:
        passes.PASS_CHUNK_NNZ = chunk
        many = StreamingSource(X, y, workers=workers)
    finally:
        passes.PASS_CHUNK_NNZ = streaming_chunks
    g_v = one.residual_pass(v, 0.0, 0.0)[1]
    g_u = one.residual_pass(u, 0.0, 0.0)[1]
    g_mix = many.residual_pass(v + scale * u, 0.0, 0.0)[1]  # Xᵀ X v is linear in v
    np.testing.assert_allclose(g_mix, g_v + scale * g_u, rtol=1e-9, atol=1e-9 * (1 + np.abs(g_v).max()))


def test_nan_in_sparse_data_names_row_and_column():
    X, y = sparse_problem(3)
    X = X.copy()
    entry = X.indptr[17] + 1  # second stored entry of row 17
    X.data[entry] = np.nan
    with pytest.raises(DataError, match=rf"Input X contains NaN at row 17, column {X.indices[entry]};"):
        StreamingSource(X, y, workers=2).columns()
    y_bad = y.copy()
    y_bad[5] = np.inf
    with pytest.raises(DataError, match="Input y contains infinity at row 5;"):
        StreamingSource(np.zeros((len(y), 3)), y_bad)


# --- the objective -------------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("penalty", [(0.0, 0.0), (0.3, 0.0), (0.2, 0.5)])
def test_streaming_objective_equals_the_statistics_objective(fit_intercept, standardize, penalty):
    """Same frame, loss, gradient and Hessian products, evaluated by passes instead of from G."""
    X, y = sparse_problem(4, offset=0.5)
    alpha, l1_ratio = penalty
    weight = np.random.default_rng(5).uniform(0.2, 2.0, size=len(y))
    options = {"fit_intercept": fit_intercept, "standardize": standardize, "alpha": alpha, "l1_ratio": l1_ratio}
    reference = LeastSquares.from_source(MemorySource(X.toarray(), y, weight), **options)
    objective = StreamingLeastSquares(StreamingSource(X, y, weight), **options)
    frame, expected = objective.frame, reference.frame
    np.testing.assert_allclose(frame.x_shift * frame.x_scale, expected.x_shift * expected.x_scale, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(frame.x_unit * frame.x_scale, expected.x_unit * expected.x_scale, rtol=1e-10)
    theta = np.random.default_rng(6).normal(size=reference.n_params)
    loss, grad = objective.loss_grad(theta)
    loss_ref, grad_ref = reference.loss_grad(theta)
    assert loss == pytest.approx(loss_ref, rel=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-9, atol=1e-10 * np.abs(grad_ref).max())
    np.testing.assert_allclose(objective.hess_vec(theta), reference.hess_vec(theta), rtol=1e-9, atol=1e-10)
    assert objective.gradient_scale == pytest.approx(reference.gradient_scale, rel=1e-10)


def test_lanczos_estimates_bracket_the_spectrum():
    """L is estimated from above (steps of 1/L are safe) and μ from above, within a few percent."""
    X, y = sparse_problem(7, n=3000, d=200, density=0.05)
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True)
    eigenvalues = np.linalg.eigvalsh(LeastSquares.from_source(MemorySource(X.toarray(), y), fit_intercept=True,
                                                              standardize=True).G)
    objective.gradient_scale  # noqa: B018 - the pass at θ = 0, which the Lanczos run starts from
    before = objective.passes
    low, high = objective.spectrum_estimate
    assert objective.passes - before <= LANCZOS_STEPS
    assert eigenvalues[-1] <= high <= 1.1 * eigenvalues[-1]
    assert eigenvalues[0] <= low <= eigenvalues[-1]


def test_more_columns_than_rows_has_no_strong_convexity():
    X, y = sparse_problem(8, n=50, d=200, density=0.1)
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=False, standardize=True)
    assert objective.strong_convexity == 0.0
    assert objective.condition_number == float("inf")


# --- fits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", DETERMINISTIC)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["csr", "csc"])
def test_sparse_fit_equals_ols(solver, fit_intercept, kind):
    """Implicit centring (fit_intercept) and scaling give the OLS solution without densifying X."""
    X, y = sparse_problem(9, offset=1.0)
    data = X if kind == "csr" else X.tocsc()
    coef_ref, intercept_ref = dense_reference(X, y, fit_intercept=fit_intercept)
    model = LinearRegression(solver=solver, fit_intercept=fit_intercept, tol=1e-11, max_iter=50_000).fit(data, y)
    assert model.engine_ == "streaming" and "sparse" in model.message_
    assert model.solver_ == ("cg" if solver == "auto" else solver)
    np.testing.assert_allclose(model.coef_, coef_ref, rtol=1e-7, atol=1e-8)
    assert model.intercept_ == pytest.approx(intercept_ref, rel=1e-7, abs=1e-8)
    assert_same_predictions(model.predict(data), model.predict(X.toarray()), X, model.coef_, model.intercept_)


def test_sparse_fit_never_densifies(monkeypatch):
    X, y = sparse_problem(10)

    def refuse(*args, **kwargs):
        raise AssertionError("the streaming engine densified X")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    for solver in ("cg", "nesterov"):
        model = LinearRegression(solver=solver, tol=1e-10, max_iter=20_000).fit(X, y)
        assert model.converged_


def test_sparse_fit_to_exact_rational_arithmetic():
    """Small sparse problem: the streaming cg fit agrees with Fraction arithmetic to ≥ 10 digits."""
    X, y = sparse_problem(11, n=40, d=5, density=0.5, offset=0.25)
    exact = exact_least_squares(X.toarray(), y, fit_intercept=True)
    model = LinearRegression(solver="cg", tol=1e-13, max_iter=1000).fit(X, y)
    assert correct_digits([model.intercept_, *model.coef_], exact) >= 10
    assert isinstance(exact[0], Fraction)


def test_sparse_weights_match_statsmodels_wls():
    X, y = sparse_problem(12, offset=0.3)
    weight = np.random.default_rng(13).uniform(0.1, 4.0, size=len(y))
    coef_ref, intercept_ref = dense_reference(X, y, fit_intercept=True, weight=weight)
    for solver in ("cg", "nesterov", "lbfgs"):
        model = LinearRegression(solver=solver, tol=1e-11, max_iter=50_000).fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(model.coef_, coef_ref, rtol=1e-7, atol=1e-8)
        assert model.intercept_ == pytest.approx(intercept_ref, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_ridge_and_lasso_match_scikit_learn(fit_intercept):
    X, y = sparse_problem(14, offset=0.2)
    m = X.shape[0]
    ridge = Ridge(alpha=0.5 * m, fit_intercept=fit_intercept, solver="lsqr", tol=1e-12).fit(X, y)
    model = LinearRegression(solver="auto", alpha=0.5, fit_intercept=fit_intercept, tol=1e-11).fit(X, y)
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-6, atol=1e-8)
    lasso = Lasso(alpha=0.05, fit_intercept=fit_intercept, tol=1e-12, max_iter=100_000).fit(X, y)
    model = LinearRegression(solver="auto", alpha=0.05, l1_ratio=1.0, fit_intercept=fit_intercept, tol=1e-10,
                             max_iter=100_000).fit(X, y)
    assert model.solver_ == "nesterov"
    np.testing.assert_allclose(model.coef_, lasso.coef_, rtol=1e-5, atol=1e-6)
    assert model.intercept_ == pytest.approx(lasso.intercept_, rel=1e-5, abs=1e-6)


def test_one_pass_per_update():
    """cg and lbfgs update their gradient by recurrence (refreshed every GRADIENT_REFRESH updates),
    nesterov gets its lookahead gradient by linearity: one pass over X per update, plus the column
    pass and the pass at θ = 0. The Lanczos estimate of L and μ (the error bound that decides
    convergence needs μ) costs nesterov, gd and cg nothing more: its passes are their first updates.
    lbfgs's iterates leave that Krylov space, so it pays the estimate's passes."""
    X, y = sparse_problem(15, n=2000, d=300, density=0.03)
    for solver in ("cg", "lbfgs", "nesterov", "gd"):
        model = LinearRegression(solver=solver, tol=1e-10, max_iter=5000).fit(X, y)
        refreshes = model.n_iter_ // GRADIENT_REFRESH if solver in ("cg", "lbfgs") else 0
        estimate = LANCZOS_STEPS if solver == "lbfgs" else 0
        assert model.n_passes_ <= model.n_iter_ + 2 + refreshes + estimate, solver
        assert f"{model.n_passes_} passes over X" in model.message_


def test_recurrence_keeps_the_gradient_honest():
    """After many cg updates on an ill-conditioned sparse problem, the recorded gradient norm is
    that of the returned coefficients (recomputed from the data)."""
    X, y = sparse_problem(16, n=600, d=120, density=0.05, offset=3.0)
    model = LinearRegression(solver="cg", standardize=False, tol=1e-10, max_iter=400).fit(X, y)
    assert model.n_iter_ > GRADIENT_REFRESH
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=False)
    theta = objective.frame.from_model(model.coef_, model.intercept_)
    assert model.converged_
    assert np.linalg.norm(objective.loss_grad(theta)[1]) <= 1e-10 * objective.gradient_scale


def test_refusals_name_what_to_do():
    X, y = sparse_problem(17)
    with pytest.raises(ValueError, match=r"solver='exact'.*sparse.*solver='auto'"):
        LinearRegression(solver="exact").fit(X, y)
    with pytest.raises(ValueError, match=r"solver='adam' is not offered.*'sgd' or 'minibatch'.*'cg'"):
        LinearRegression(solver="adam").fit(X, y)
    with pytest.raises(ValueError, match=r"solver='sgd' on a sparse X cannot honour a ridge penalty.*'auto'"):
        LinearRegression(solver="sgd", alpha=1.0).fit(X, y)
    model = LinearRegression(solver="cg").fit(X, y)
    with pytest.raises(ValueError, match=r"summary\(\) needs the d × d statistics.*streaming"):
        model.summary()


# --- huge d: the engine switch -------------------------------------------------------------------


def test_too_little_memory_switches_auto_to_streaming_and_says_so(monkeypatch):
    rng = np.random.default_rng(18)
    X = rng.normal(size=(300, 40)) + 2.0
    y = X @ rng.normal(size=40) + 1.0 + 0.01 * rng.normal(size=300)
    in_memory = LinearRegression(solver="auto", tol=1e-12).fit(X, y)
    assert in_memory.engine_ == "statistics"
    # Room for the d-vectors, not for 41 × 41 blocks, on a host of any core count (both grow with it;
    # a fixed 10 kB was too little for the d-vectors past 16 cores)
    monkeypatch.setattr(engine, "available_memory", lambda: engine.streaming_bytes(X.shape[1]))
    monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    model = LinearRegression(solver="auto", tol=1e-12).fit(X, y)
    assert model.engine_ == "streaming" and model.solver_ == "cg"
    assert "would need" in model.message_ and "switched to streaming passes" in model.message_
    np.testing.assert_allclose(model.coef_, in_memory.coef_, rtol=1e-9)
    with pytest.raises(ValueError, match=r"solver='exact'.*switched to streaming.*solver='auto'"):
        LinearRegression(solver="exact").fit(X, y)


def test_many_features_stream(monkeypatch):
    monkeypatch.setattr(engine, "STATISTICS_MAX_FEATURES", 30)
    rng = np.random.default_rng(19)
    X = rng.normal(size=(200, 45))
    y = X @ rng.normal(size=45)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(solver="auto", tol=1e-12).fit(X, y)
    assert model.engine_ == "streaming" and "45 features" in model.message_
    coef_ref, intercept_ref = dense_reference(X, y, fit_intercept=True)
    np.testing.assert_allclose(model.coef_, coef_ref, rtol=1e-8, atol=1e-10)


def test_available_memory_reads_the_machine():
    available = engine.available_memory()
    assert available is None or available > 0
    assert engine.statistics_bytes(100_000) > 8e10  # 100k features: ≥ 80 GB, never attempted


@pytest.mark.parametrize("kind", ["dense", "wide", "sparse"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_non_finite_x_is_named_by_row_and_column_in_either_engine(kind, bad, monkeypatch):
    """Neither engine reads X an extra time to look for NaN/inf; both still say where it is."""
    if kind == "wide":
        monkeypatch.setattr(engine, "STATISTICS_MAX_FEATURES", 10)
    X, y = sparse_problem(20)
    dense = X.toarray()
    dense[123, 45] = bad
    data = sp.csr_matrix(dense) if kind == "sparse" else dense
    word = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(DataError, match=f"Input X contains {word} at row 123, column 45; remove or impute it"):
        LinearRegression().fit(data, y)


@pytest.mark.parametrize(
    "solver, options",
    [("gd", {"learning_rate": 0.4}), ("nesterov", {"learning_rate": 0.4, "momentum": 0.6}),
     ("momentum", {"learning_rate": 0.3, "momentum": 0.5}), ("cg", {}), ("lbfgs", {})],
)
def test_both_engines_make_the_same_iterates(solver, options, monkeypatch):
    """The statistics engine (O(d²) per update) and the streaming engine (a pass per update) are two
    ways of evaluating one objective: the same solver makes the same iterates on either."""
    rng = np.random.default_rng(21)
    X = rng.normal(size=(500, 12)) * rng.uniform(0.5, 3, size=12) + rng.normal(size=12)
    y = X @ rng.normal(size=12) + 2.0 + rng.normal(size=500)
    settings_ = dict(solver=solver, tol=0, max_iter=25, record_path=True, **options)
    statistics = LinearRegression(**settings_).fit(X, y)
    monkeypatch.setattr(engine, "STATISTICS_MAX_FEATURES", 5)
    passes = LinearRegression(**settings_).fit(X, y)
    assert (statistics.engine_, passes.engine_) == ("statistics", "streaming")
    np.testing.assert_allclose(passes.loss_history_, statistics.loss_history_, rtol=1e-9)
    np.testing.assert_allclose(passes.path_, statistics.path_, rtol=1e-8, atol=1e-10)


def test_files_with_too_many_features_for_statistics_stream(monkeypatch, tmp_path):
    """Files too wide for d × d statistics in memory: one scan of the files per update instead."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    from gradfit.sources import parquet

    rng = np.random.default_rng(22)
    X = rng.normal(size=(300, 6)) * [1, 2, 3, 4, 5, 6] + 10.0
    y = X @ rng.normal(size=6) + 1.0 + 0.1 * rng.normal(size=300)
    for part in range(3):
        rows = slice(100 * part, 100 * (part + 1))
        table = {f"x{j}": X[rows, j] for j in range(6)} | {"y": y[rows]}
        pq.write_table(pa.table(table), tmp_path / f"part-{part}.parquet")
    reference = LinearRegression(solver="exact").fit(X, y)
    monkeypatch.setattr(engine, "available_memory", lambda: 100)
    monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    model = LinearRegression(tol=1e-13, solver="auto").fit(parquet(tmp_path, target="y"))
    assert model.engine_ == "streaming" and model.solver_ == "cg"
    assert "statistics of 6 features would need" in model.message_ and "switched to streaming passes" in model.message_
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-9)
    assert list(model.feature_names_in_) == [f"x{j}" for j in range(6)]
    X_bad = X.copy()
    X_bad[150, 2] = np.nan
    table = {f"x{j}": X_bad[100:200, j] for j in range(6)} | {"y": y[100:200]}
    pq.write_table(pa.table(table), tmp_path / "part-1.parquet")
    with pytest.raises(DataError, match=r"part-1.parquet, row 50 \(0-based\), column 'x2': NaN"):
        LinearRegression().fit(parquet(tmp_path, target="y"))


def test_a_source_without_passes_is_refused_before_allocating(monkeypatch):
    class StatisticsOnly:
        n_samples, n_features = 10, 7

        def stats(self):
            raise AssertionError("must not be reached")

    monkeypatch.setattr(engine, "available_memory", lambda: 100)

    monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    with pytest.raises(DataError, match=r"statistics of 7 features would need .* GB, more than half .*scipy.sparse"):
        LinearRegression().fit(StatisticsOnly())

def test_sources_offer_the_capabilities_they_declare():
    """What a caller may use beyond ``stats()`` is told by :func:`offers` against the declared sub-protocols;
    a third-party source that offers only ``stats()`` offers none of them."""
    class StatisticsOnly:
        n_samples, n_features = 10, 2

        def stats(self):
            return MemorySource(np.ones((10, 2)), np.ones(10)).stats()

    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    capabilities = (ReducibleSource, InMemorySource, StreamableSource, NamedSource)
    assert [offers(MemorySource(X, y), c) for c in capabilities] == [True, True, False, False]
    assert [offers(StreamingSource(X, y), c) for c in capabilities] == [False, False, True, False]
    assert [offers(StatisticsOnly(), c) for c in capabilities] == [False, False, False, False]
    assert isinstance(StatisticsOnly(), Source)


def test_a_width_whose_vectors_cannot_fit_is_refused(monkeypatch):
    """Sparse X with absurdly many (empty) columns: a clear error before any d-vector is allocated."""
    # The same on every host: 16 GB free, where its d-vectors need 8 bytes × 2e9 × (14 + cores) ≥ 240 GB
    # (a host with 1 TB free would otherwise go on to allocate them).
    monkeypatch.setattr(engine, "available_memory", lambda: 16 * 10**9)
    X = sp.csr_matrix((np.ones(3), ([0, 1, 2], [0, 5, 9])), shape=(3, 2_000_000_000))
    with pytest.raises(DataError, match=r"X has 2,000,000,000 columns: a fit needs about .* GB .*check the number of columns"):
        LinearRegression().fit(X, np.ones(3))


def test_text_pipeline_with_cross_validation_matches_ridge():
    """TF-IDF features (sparse) into the estimator inside a scikit-learn pipeline: the cross-validated
    scores equal Ridge's (alpha converted: Ridge's is m·ours, m the rows of each training fold)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(23)
    vocabulary, weights = [f"w{i}" for i in range(300)], rng.normal(size=300)
    words = rng.integers(0, 300, size=(600, 20))
    documents = [" ".join(vocabulary[i] for i in row) for row in words]
    y = weights[words].sum(axis=1) + 0.1 * rng.normal(size=600)
    folds = KFold(3)
    ours = make_pipeline(TfidfVectorizer(), LinearRegression(solver="auto", alpha=1e-3, tol=1e-12))
    ridge = make_pipeline(TfidfVectorizer(), Ridge(alpha=1e-3 * 400, solver="lsqr", tol=1e-12))
    np.testing.assert_allclose(cross_val_score(ours, documents, y, cv=folds), cross_val_score(ridge, documents, y, cv=folds),
                               rtol=1e-8)
    assert ours.fit(documents, y)[-1].engine_ == "streaming"


# --- Nesterov: the Lanczos passes are its first updates ------------------------------------------


def test_krylov_space_evaluates_the_objective_without_a_pass():
    """For θ in the span of the Lanczos vectors, the restricted objective gives J(θ) and ∇J(θ)
    exactly as a pass over the data does."""
    X, y = sparse_problem(30, offset=0.4)
    zero = np.zeros(StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True).n_params)
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True, alpha=0.01)
    objective.spectrum_estimate  # noqa: B018 - read for its side effect: the Lanczos passes
    assert objective.krylov_space(zero) is None  # not asked for: the vectors were dropped
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True, alpha=0.01)
    objective.want_krylov_space()
    assert objective.krylov_space(zero) is None  # not estimated yet
    objective.spectrum_estimate  # noqa: B018 - read for its side effect: the Lanczos passes
    assert objective.krylov_space(zero + 0.1) is None  # another start: another space (and handed over)
    objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True, alpha=0.01)
    objective.want_krylov_space()
    objective.spectrum_estimate  # noqa: B018 - read for its side effect: the Lanczos passes
    space = objective.krylov_space(zero)
    assert objective.krylov_space(zero) is None  # handed over once: the objective no longer holds it
    assert (space.dimension, space.exact_updates) == (LANCZOS_STEPS + 1, LANCZOS_STEPS)
    # Lanczos vectors kept orthonormal (reorthogonalised): ≈ √n·u, far inside 1e-12
    np.testing.assert_allclose(space.basis @ space.basis.T, np.eye(space.dimension), atol=1e-12)
    restricted = space.restricted(objective)
    rng = np.random.default_rng(31)
    for _ in range(5):
        coordinates = np.concatenate([rng.normal(size=space.exact_updates), [0.0]])
        before = objective.passes
        loss, grad = restricted.loss_grad(coordinates)
        assert objective.passes == before
        loss_ref, grad_ref = objective.loss_grad(space.lift(coordinates))
        assert loss == pytest.approx(loss_ref, rel=1e-11)
        np.testing.assert_allclose(space.lift(grad), grad_ref, rtol=1e-9, atol=1e-12 * np.linalg.norm(grad_ref))
    with pytest.raises(ValueError, match="outside the span"):
        restricted.loss_grad(np.ones(space.dimension))


def automatic_parameters(solver, lipschitz, mu):
    """The (learning_rate, momentum) that solver's 'auto' settings use for these L and μ."""
    if solver == "gd":
        return 1 / lipschitz, None
    if solver == "nesterov":  # Lessard, Recht & Packard's tuning
        root = np.sqrt(3 * lipschitz / mu + 1)
        return 4 / (3 * lipschitz + mu), (root - 2) / (root + 2)
    root_l, root_mu = np.sqrt(lipschitz), np.sqrt(mu)  # Polyak's
    return 4 / (root_l + root_mu) ** 2, ((root_l - root_mu) / (root_l + root_mu)) ** 2


@pytest.mark.parametrize("solver", ["nesterov", "momentum", "gd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_krylov_methods_replay_plain_runs_and_save_the_estimate_passes(solver, fit_intercept):
    """Streaming nesterov, heavy ball and gradient descent ('auto' parameters, from the Lanczos
    estimates) make the iterates of the plain method with those parameters on the statistics
    engine, while the estimate's passes serve as their first updates: passes = column pass + the
    pass at 0 + one per update."""
    X, y = sparse_problem(32, n=600, d=40, density=0.2, offset=0.3)
    settings_ = dict(solver=solver, fit_intercept=fit_intercept, tol=0, max_iter=14, record_path=True)
    streamed = LinearRegression(**settings_).fit(X, y)
    assert streamed.engine_ == "streaming"
    assert streamed.n_passes_ == 2 + streamed.n_iter_
    alpha, beta = automatic_parameters(solver, streamed.lipschitz_, streamed.lipschitz_ / streamed.condition_number_)
    # the same formula on μ recovered as L/(L/μ): a dozen scalar roundings (≈ 3e-15), no sums
    assert streamed.learning_rate_ == pytest.approx(alpha, rel=1e-14)
    plain = LinearRegression(**{**settings_, "learning_rate": alpha, "momentum": beta}).fit(X.toarray(), y)
    assert plain.engine_ == "statistics"
    np.testing.assert_allclose(streamed.loss_history_, plain.loss_history_, rtol=1e-9)
    np.testing.assert_allclose(streamed.path_, plain.path_, rtol=1e-8, atol=1e-10)


def test_gd_replays_only_its_automatic_steps_from_0_without_l1():
    """Streaming gd takes its first updates from the Lanczos vectors only at the automatic 1/L, from
    θ = 0 and without L1: a warm start, an L1 penalty or a search pays the estimate's passes on top,
    and a given step needs no estimate at all."""
    X, y = sparse_problem(36, n=600, d=40, density=0.2)
    settings_ = dict(solver="gd", tol=0, max_iter=12)
    assert LinearRegression(**settings_).fit(X, y).n_passes_ == 2 + 12
    assert LinearRegression(**settings_, learning_rate=0.5).fit(X, y).n_passes_ == 2 + 12
    assert LinearRegression(**settings_, alpha=0.01, l1_ratio=1.0).fit(X, y).n_passes_ == 2 + LANCZOS_STEPS + 12
    assert LinearRegression(**settings_, learning_rate="line_search").fit(X, y).n_passes_ == 2 + LANCZOS_STEPS + 12
    warm = LinearRegression(**settings_).fit(X, y, coef_init=np.full(X.shape[1], 0.01), intercept_init=0.5)
    assert warm.n_passes_ == 3 + LANCZOS_STEPS + 12


def test_nesterov_without_lanczos_vectors_steps_on_the_data():
    """A warm start away from 0 (not the Lanczos space's origin) and an L1 penalty take every update
    from the data, and still agree with the statistics engine."""
    X, y = sparse_problem(33, n=500, d=30, density=0.2)
    model = LinearRegression(solver="nesterov", alpha=0.01, l1_ratio=1.0, tol=1e-10, max_iter=20_000).fit(X, y)
    reference = LinearRegression(solver="nesterov", alpha=0.01, l1_ratio=1.0, tol=1e-10, max_iter=20_000).fit(X.toarray(), y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    # the column pass, the pass at 0, the Lanczos steps, then one pass per update
    assert model.n_passes_ == 2 + LANCZOS_STEPS + model.n_iter_
    warm = LinearRegression(solver="nesterov", tol=1e-10, max_iter=5000)
    warm.fit(X, y, coef_init=np.full(X.shape[1], 0.01), intercept_init=0.5)
    # the column pass, the pass at θ0, and the Lanczos steps from ∇J(0) (their own pass at 0 included)
    assert warm.n_passes_ == 3 + LANCZOS_STEPS + warm.n_iter_
    coef_ref, intercept_ref = dense_reference(X, y, fit_intercept=True)
    np.testing.assert_allclose(warm.coef_, coef_ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("factor, rescaled", [(1e200, True), (1e-200, True), (2.0**395, False)])
def test_extreme_column_scales_give_the_scaled_fit(factor, rescaled, monkeypatch):
    """A column far beyond 2^±400 (its squares would overflow or underflow) is rescaled by a power of
    two before it is summed; one inside is taken as it is (the squares show it, no other look).
    Either way the column moments and the fit are those of the unscaled data, scaled (standardizing
    makes the fit scale-invariant). Many chunks, shared by the threads."""
    monkeypatch.setattr(passes, "PASS_CHUNK_NNZ", 97)
    X, y = sparse_problem(34, offset=0.5)
    assert np.abs(X.data).max() < 32  # so that 2^395 keeps the column inside 2^400
    scaled = X @ sp.diags(np.r_[factor, np.ones(X.shape[1] - 1)])
    plain = StreamingSource(X, y).columns()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in the threads is expected and silenced there
        moments = StreamingSource(sp.csr_matrix(scaled), y).columns()
    assert (moments.x_scale[0] != 1.0) == rescaled
    assert np.all(moments.x_scale[1:] == 1.0)
    # 1e±200 are no powers of two, so each entry of the column rounds (u); the sums of the two
    # columns, over m rows, then round within m·u of their terms each: (2m + 1)·u·mean|x|/|mean| for
    # the mean, and for the variance, from sums of squares, (2m + 2)·u·mean(x²)/var; half that for
    # its square root. (A fixed 1e-12 was just below the mean's: 1.2e-12.) 2^395 scales exactly.
    column = X[:, [0]].toarray().ravel()
    m = len(column)
    mean_rounding = (2 * m + 1) * EPS * np.abs(column).mean() / abs(column.mean())
    sd_rounding = (m + 1) * EPS * np.mean(column**2) / np.var(column)
    assert moments.x_mean[0] * moments.x_scale[0] == pytest.approx(plain.x_mean[0] * factor, rel=mean_rounding)
    assert np.sqrt(moments.x_var[0]) * moments.x_scale[0] == pytest.approx(np.sqrt(plain.x_var[0]) * factor, rel=sd_rounding)
    # the other columns are the same numbers through the same passes (the threads' shares are fixed
    # and merged in order): the same bits, as measured; 1e-14 asks less than that
    np.testing.assert_allclose(moments.x_var[1:], plain.x_var[1:], rtol=1e-14)
    reference = LinearRegression(solver="cg", tol=1e-10).fit(X, y)
    model = LinearRegression(solver="cg", tol=1e-10).fit(scaled, y)
    expected = np.r_[reference.coef_[0] / factor, reference.coef_[1:]]
    np.testing.assert_allclose(model.coef_, expected, rtol=1e-8)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-9)


@pytest.mark.parametrize("solver", ["nesterov", "momentum"])
def test_momentum_methods_recover_from_an_underestimated_lipschitz_constant(solver):
    """The Lanczos estimate of L can fall short when ∇J(0) barely touches the top curvature (here
    1.15, estimated 1.004). Nesterov's and Polyak's automatic steps, stable only a little past L,
    would then diverge slowly along it; the curvature measured along the moves shows the larger L,
    and the fit converges."""
    rng = np.random.default_rng(0)
    n = 1500
    curvatures = np.r_[np.linspace(1e-3, 1.1e-3, 20), np.linspace(0.95, 1.0, 20), 1.15]
    Q, _ = np.linalg.qr(rng.normal(size=(n, curvatures.size)))
    X = sp.csr_matrix(np.sqrt(n) * Q * np.sqrt(curvatures))  # XᵀX/n = diag(curvatures)
    w = rng.normal(size=curvatures.size)
    w[-1] = 1e-8
    y = X @ w
    model = LinearRegression(solver=solver, fit_intercept=False, standardize=False, tol=1e-10,
                             max_iter=20_000).fit(X, y)
    assert model.lipschitz_ < 1.05  # the estimate was short of 1.15
    assert model.converged_
    np.testing.assert_allclose(model.coef_, w, rtol=1e-6, atol=1e-8)


def test_nesterov_with_given_parameters_replays_too():
    """With learning_rate and momentum given, L and μ are still estimated (the divergence test needs
    them), so the Lanczos passes are its first updates as well, and the vectors are not kept after."""
    X, y = sparse_problem(35, n=600, d=40, density=0.2)
    model = LinearRegression(solver="nesterov", learning_rate=0.5, momentum=0.5, tol=0, max_iter=20).fit(X, y)
    assert model.n_passes_ == 2 + model.n_iter_
