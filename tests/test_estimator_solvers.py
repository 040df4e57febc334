"""The solver family through the estimator: regularisation against scikit-learn, weights against
statsmodels' WLS, "auto", reproducibility, and refusals that name the allowed values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from gradfit import DataError, LinearRegression
from gradfit.solvers import SOLVERS

GRADIENT_SOLVERS = ("gd", "momentum", "nesterov", "cg", "lbfgs")
L1_CAPABLE = ("gd", "nesterov", "sgd", "minibatch")


def regression_problem(seed=0, n=120, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 20, size=d) + rng.normal(size=d) * 3
    coef = rng.normal(size=d) * np.array([1, 0, 2, 0, 0.5])[:d]
    y = X @ coef + 4.0 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("solver", GRADIENT_SOLVERS + ("exact", "auto"))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_matches_scikit_learn(solver, fit_intercept):
    X, y = regression_problem(1)
    alpha = 0.7
    # gradfit and ElasticNet minimise Σr²/2m + α/2‖w‖²; Ridge minimises Σr² + α'‖w‖², so α' = m·α
    reference = Ridge(alpha=alpha * len(y), fit_intercept=fit_intercept, solver="svd").fit(X, y)
    model = LinearRegression(solver=solver, alpha=alpha, l1_ratio=0.0, fit_intercept=fit_intercept, tol=1e-10, max_iter=200_000)
    model.fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-9)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("solver", ["gd", "nesterov", "auto"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_lasso_and_elastic_net_match_scikit_learn(solver, l1_ratio):
    X, y = regression_problem(2)
    alpha = 0.3
    reference_cls = Lasso if l1_ratio == 1.0 else ElasticNet
    options = {} if l1_ratio == 1.0 else {"l1_ratio": l1_ratio}
    reference = reference_cls(alpha=alpha, tol=1e-14, max_iter=1_000_000, **options).fit(X, y)
    model = LinearRegression(solver=solver, alpha=alpha, l1_ratio=l1_ratio, tol=1e-10, max_iter=500_000).fit(X, y)
    assert model.converged_
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-6)
    assert np.sum(model.coef_ == 0.0) == np.sum(reference.coef_ == 0.0)  # the same exact zeros


@pytest.mark.parametrize("solver", ["momentum", "cg", "lbfgs", "adam", "exact"])
def test_l1_with_a_solver_that_cannot_honour_it_is_refused_naming_those_that_can(solver):
    X, y = regression_problem(3)
    with pytest.raises(ValueError, match=f"solver='{solver}' cannot honour an L1 penalty") as caught:
        LinearRegression(solver=solver, alpha=0.1, l1_ratio=0.5).fit(X, y)
    for name in L1_CAPABLE:
        assert repr(name) in str(caught.value)


@pytest.mark.parametrize("solver", GRADIENT_SOLVERS + ("exact",))
def test_sample_weight_gives_weighted_least_squares(solver):
    statsmodels = pytest.importorskip("statsmodels.api")
    X, y = regression_problem(4)
    weight = np.random.default_rng(4).uniform(0.1, 5.0, size=len(y))
    reference = statsmodels.WLS(y, statsmodels.add_constant(X), weights=weight).fit().params
    model = LinearRegression(solver=solver, tol=1e-10, max_iter=500_000).fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(np.r_[model.intercept_, model.coef_], reference, rtol=1e-8)


def test_integer_weights_equal_repeated_rows():
    X, y = regression_problem(5, n=40)
    counts = np.random.default_rng(5).integers(1, 4, size=40)
    weighted = LinearRegression(tol=1e-12).fit(X, y, sample_weight=counts)
    repeated = LinearRegression(tol=1e-12).fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-9)


@pytest.mark.parametrize(
    "weight, message",
    [
        (-np.ones(30), "must be non-negative; row 0"),
        (np.ones(29), "shape \\(29,\\) but X has 30 rows"),
        (np.r_[np.ones(29), np.nan], "NaN or infinite at row 29"),
        (np.zeros(30), "sums to zero"),
        (["a"] * 30, "must be numbers"),
    ],
)
def test_bad_sample_weight_is_refused(weight, message):
    X, y = regression_problem(6, n=30)
    with pytest.raises(ValueError, match=message):
        LinearRegression().fit(X, y, sample_weight=weight)


def test_auto_says_which_solver_it_chose():
    import scipy.sparse as sp

    X, y = regression_problem(7)
    assert LinearRegression(solver="auto").fit(X, y).solver_ == "exact"
    assert LinearRegression(solver="auto").fit(sp.csr_matrix(X), y).solver_ == "cg"  # the streaming engine
    assert LinearRegression(solver="auto", alpha=0.1, l1_ratio=1.0).fit(X, y).solver_ == "nesterov"
    # a degree-10 polynomial: the statistics cannot resolve the gradient to tol, only the data can
    x = np.linspace(0, 1, 40)
    poly = np.vander(x, 11, increasing=True)[:, 1:]
    chosen = LinearRegression(solver="auto").fit(poly, np.sin(3 * x))
    assert chosen.solver_ == "exact" and chosen.converged_
    assert LinearRegression(solver="nesterov").fit(X, y).solver_ == "nesterov"


@pytest.mark.parametrize("solver", ["sgd", "minibatch", "adam"])
def test_stochastic_solvers_are_reproducible_through_the_estimator(solver):
    X, y = regression_problem(8, n=300)
    fits = []
    for seed in (11, 11, 12):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(LinearRegression(solver=solver, random_state=seed, max_iter=30, schedule="adaptive").fit(X, y))
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].loss_history_, fits[1].loss_history_)
    assert not np.array_equal(fits[0].coef_, fits[2].coef_)
    exact = LinearRegression(solver="exact").fit(X, y)
    assert fits[0].score(X, y) > exact.score(X, y) - 0.01


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_records_the_same_history_and_warns_at_max_iter(solver):
    X, y = regression_problem(9)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model = LinearRegression(solver=solver, max_iter=3, tol=1e-15, random_state=0).fit(X, y)
    history = model.history_
    assert model.n_iter_ == 3
    for column in (history.loss, history.grad_norm, history.step_size, history.elapsed):
        assert column.shape == (3,) and np.all(np.isfinite(column))
    assert np.all(np.diff(history.elapsed) >= 0)
    np.testing.assert_array_equal(model.loss_history_, history.loss)
    frame = history.to_pandas()
    assert list(frame.columns) == ["loss", "grad_norm", "step_size", "elapsed"] and len(frame) == 3


def test_convergence_warning_names_the_condition_number_when_it_explains_the_slowness():
    rng = np.random.default_rng(10)
    base = rng.normal(size=(200, 1))
    X = np.hstack([base, base + 1e-3 * rng.normal(size=(200, 1))])
    y = X @ [1.0, 1.0] + 0.01 * rng.normal(size=200)
    with pytest.warns(ConvergenceWarning, match=r"condition number of XᵀX/m ≈ [0-9.e+]+") as caught:
        LinearRegression(solver="gd", max_iter=100).fit(X, y)
    assert "solver='auto'" in str(caught[0].message)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "cg", "learning_rate": 0.1}, "solver='cg' finds its own steps by exact line search"),
        ({"solver": "nesterov", "learning_rate": "armijo"}, "learning_rate='armijo' is a step policy of solver='gd'"),
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"l1_ratio": 1.5}, "'l1_ratio' parameter"),
        ({"momentum": 1.0}, "'momentum' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"schedule": "cosine"}, "'schedule' parameter .* among"),
        ({"solver": "sgd2"}, "'solver' parameter .*'minibatch'"),
    ],
)
def test_new_parameters_are_validated_with_their_names(params, message):
    X, y = regression_problem(12, n=20)
    with pytest.raises(ValueError, match=message):
        LinearRegression(**params).fit(X, y)


@pytest.mark.parametrize("solver", ["gd", "cg", "exact", "nesterov"])
def test_summary_matches_statsmodels_whichever_solver_fitted(solver):
    statsmodels = pytest.importorskip("statsmodels.api")
    import pandas as pd

    X, y = regression_problem(13)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    weight = np.random.default_rng(13).uniform(0.5, 2.0, size=len(y))
    # tol 1e-10: every coefficient within 1e-10 of the answer, far inside the 1e-8 compared below
    model = LinearRegression(solver=solver, tol=1e-10, max_iter=500_000).fit(frame, y, sample_weight=weight)
    reference = statsmodels.WLS(y, statsmodels.add_constant(X), weights=weight).fit()
    summary = model.summary()
    np.testing.assert_allclose(summary.coef, reference.params, rtol=1e-8)
    np.testing.assert_allclose(summary.std_err, reference.bse, rtol=1e-8)
    np.testing.assert_allclose(summary.t, reference.tvalues, rtol=1e-8)
    np.testing.assert_allclose(summary.ci_low, reference.conf_int()[:, 0], rtol=1e-8)
    assert summary.r_squared == pytest.approx(reference.rsquared, rel=1e-8)
    assert summary.adj_r_squared == pytest.approx(reference.rsquared_adj, rel=1e-8)
    assert summary.f_statistic == pytest.approx(reference.fvalue, rel=1e-8)
    text = str(summary)
    assert "x0" in text and "intercept" in text and "R-squared" in text


def test_a_fit_that_did_not_converge_has_no_summary(tmp_path):
    """Standard errors and p values of coefficients that are not the least-squares answer would
    mislead: summary() refuses and says why, and a saved model keeps no table."""
    import json

    from gradfit import load

    X, y = regression_problem(13)
    with pytest.warns(ConvergenceWarning):
        model = LinearRegression(solver="gd", max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match=r"did not converge .*solver='auto'"):
        model.summary()
    model.save(tmp_path / "short.json")
    assert json.loads((tmp_path / "short.json").read_text())["summary"] is None
    with pytest.raises(ValueError, match="did not converge"):
        load(tmp_path / "short.json").summary()


def test_a_loaded_model_gives_the_summary_it_was_saved_with(tmp_path):
    """The file keeps the table, so a loaded model answers summary() as the fitted one did (checked
    against statsmodels); a file without one (an older gradfit's) asks for a refit."""
    import json

    import statsmodels.api as sm

    from gradfit import load

    X, y = regression_problem(14)
    model = LinearRegression(solver="exact").fit(X, y)
    model.save(tmp_path / "m.json")
    loaded = load(tmp_path / "m.json").summary()
    reference = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(loaded.std_err, reference.bse, rtol=1e-8)
    np.testing.assert_allclose(loaded.p_value, reference.pvalues, rtol=1e-6, atol=1e-300)
    assert loaded.r_squared == pytest.approx(reference.rsquared, rel=1e-10)
    assert str(loaded) == str(model.summary())
    document = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    del document["summary"]
    (tmp_path / "old.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="Fit the model again"):
        load(tmp_path / "old.json").summary()


def test_a_source_can_be_fitted_directly_and_carries_its_target():
    from gradfit.sources.memory import MemorySource

    X, y = regression_problem(15)
    from_arrays = LinearRegression(solver="cg", tol=1e-10).fit(X, y)
    from_source = LinearRegression(solver="cg", tol=1e-10).fit(MemorySource(X, y))
    np.testing.assert_allclose(from_source.coef_, from_arrays.coef_, rtol=1e-12)
    assert from_source.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="carries its own target"):
        LinearRegression().fit(MemorySource(X, y), y)


@pytest.mark.parametrize("solver", ["sgd", "minibatch", "adam"])
def test_stochastic_solvers_weight_their_batches(solver):
    """Weighted batches estimate the weighted gradient: heavy rows pull the fit towards WLS, not OLS."""
    rng = np.random.default_rng(16)
    X = rng.normal(size=(400, 2))
    # two populations with different slopes; the weights favour the second
    second = np.arange(400) >= 200
    y = np.where(second, X @ [3.0, -1.0], X @ [-3.0, 1.0]) + 0.01 * rng.normal(size=400)
    weight = np.where(second, 50.0, 1.0)
    wls = LinearRegression(solver="exact").fit(X, y, sample_weight=weight)
    ols = LinearRegression(solver="exact").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(solver=solver, random_state=0, max_iter=200, schedule="adaptive").fit(X, y, sample_weight=weight)
    assert np.linalg.norm(model.coef_ - wls.coef_) < 0.1 * np.linalg.norm(ols.coef_ - wls.coef_)


def test_auto_on_streamed_files_solves_from_the_statistics(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from gradfit.sources import parquet

    X, y = regression_problem(17, n=3000)
    pq.write_table(pa.table({**{f"x{i}": X[:, i] for i in range(X.shape[1])}, "y": y}), tmp_path / "data.parquet")
    streamed = LinearRegression(solver="auto").fit(parquet(tmp_path / "data.parquet", target="y"))
    in_memory = LinearRegression(solver="exact").fit(X, y)
    assert streamed.solver_ == "exact" and streamed.converged_
    np.testing.assert_allclose(streamed.coef_, in_memory.coef_, rtol=1e-9)
    assert list(streamed.feature_names_in_) == [f"x{i}" for i in range(X.shape[1])]


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_summary_of_a_penalised_fit_is_refused(l1_ratio):
    """OLS standard errors and p values at shrunk coefficients would be wrong (the intervals miss
    the truth), so a ridge or lasso fit has no table, and says why."""
    X, y = regression_problem(31)
    model = LinearRegression(alpha=0.5, l1_ratio=l1_ratio, max_iter=50_000).fit(X, y)
    with pytest.raises(ValueError, match="penalised .*alpha=0.5.*fit with alpha=0"):
        model.summary()


@pytest.mark.parametrize("solver", ["gd", "momentum", "nesterov", "sgd", "minibatch", "adam", "cg", "lbfgs", "exact", "auto"])
@pytest.mark.parametrize("sparse", [False, True])
def test_an_all_zero_design_without_intercept_fits_zero(solver, sparse):
    """X of zeros and no intercept: G = 0 and L = 0, so the steps 1/L have nothing to be the inverse
    of. Every solver returns the minimum-norm answer, 0, at once (the gradient is 0 everywhere); the
    direct one in one solve (``n_iter_`` counts its solves)."""
    import scipy.sparse as sp

    if sparse and solver in ("exact", "adam"):
        pytest.skip("refused on sparse input")
    X = sp.csr_matrix((40, 3)) if sparse else np.zeros((40, 3))
    y = np.random.default_rng(0).normal(size=40)
    model = LinearRegression(solver=solver, fit_intercept=False).fit(X, y)
    assert model.converged_ and model.n_iter_ == (1 if model.solver_ == "exact" else 0)
    assert np.array_equal(model.coef_, np.zeros(3))


def test_inputs_that_are_not_numbers_are_named():
    """A table column of text, categories or dates, a table without columns, and text in y are
    refused by name, before numpy's conversion would fail without naming them."""
    import pandas as pd

    X, y = regression_problem(32, d=2)
    cases = [
        (pd.DataFrame({"a": X[:, 0], "city": ["u", "v"] * 60}), y, "column 'city' of X holds 'u'"),
        (pd.DataFrame({"a": X[:, 0], "kind": pd.Categorical(["u", "v"] * 60)}), y, "column 'kind' of X is category"),
        (pd.DataFrame({"a": X[:, 0], "day": pd.date_range("2020", periods=120)}), y, "column 'day' of X is datetime64"),
        (pd.DataFrame(index=range(120)), y, "X has no columns"),
        (X, np.where(np.arange(120) == 7, "n/a", y.astype(str)), "y holds 'n/a' \\(row 7\\)"),
        (X, ["a", *y[1:]], "y holds 'a' \\(row 0\\)"),
        (X, pd.Series(["a", *y[1:]], dtype=object), "y holds 'a' \\(row 0\\)"),
        # a missing cell in a column of objects is named as missing, not as text
        (pd.DataFrame({"a": X[:, 0], "b": np.array([1.0, None] * 60, dtype=object)}), y, "NaN at row 1, column 1"),
    ]
    for features, target, message in cases:
        with pytest.raises(DataError, match=message):
            LinearRegression().fit(features, target)
    numbers_as_categories = pd.DataFrame({"a": X[:, 0], "b": pd.Categorical(np.round(X[:, 1]))})
    assert LinearRegression(solver="exact").fit(numbers_as_categories, y).coef_.shape == (2,)
    numbers_as_text = LinearRegression(solver="exact").fit(pd.DataFrame({"a": X[:, 0], "b": X[:, 1].astype(str)}), y.astype(str))
    reference = LinearRegression(solver="exact").fit(X, y)
    np.testing.assert_allclose(numbers_as_text.coef_, reference.coef_, rtol=1e-12)
    model = LinearRegression().fit(pd.DataFrame({"a": X[:, 0], "b": X[:, 1]}), y)
    with pytest.raises(DataError, match="column 'b' of X holds 'u' \\(row 0\\)"):
        model.predict(pd.DataFrame({"a": X[:, 0], "b": ["u", "v"] * 60}))


def test_wide_statistics_fits_report_the_condition_number_only_when_the_spectrum_is_at_hand():
    """Past 1024 parameters κ needs a full eigendecomposition (O(p³)); gd does not need it and does
    not pay for it, while exact computes it anyway and reports κ."""
    from gradfit.objective import DENSE_SPECTRUM_MAX

    rng = np.random.default_rng(33)
    X = rng.normal(size=(60, DENSE_SPECTRUM_MAX + 20))
    y = X[:, :3] @ [1.0, 2.0, 3.0]
    model = LinearRegression(solver="gd", max_iter=5, tol=0).fit(X, y)
    assert model.engine_ == "statistics" and model.condition_number_ is None and model.lipschitz_ > 0
    exact = LinearRegression(solver="exact").fit(X, y)
    assert exact.condition_number_ == np.inf  # 60 rows: G is singular
