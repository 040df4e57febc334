"""LinearRegression as a scikit-learn estimator: the full estimator-check suite, validation at the
edge with clear messages, convergence and divergence reporting, extreme scales, and agreement with
scikit-learn's and statsmodels' least squares."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression as SklearnLinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from gradfit import DataError, DivergenceError, LinearRegression
from gradfit.datasets import make_article_data
from gradfit.driver import minimize
from gradfit.objective import LeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.memory import MemorySource

from problems import random_problem
from references import assert_same_predictions


def relative_error(actual, expected) -> float:
    """Elementwise: ``max |a − e| / |e|`` (for checks that every coefficient is right to the last digits)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


def norm_error(actual, expected) -> float:
    """Normwise: ``‖a − e‖ / ‖e‖`` (the error an optimiser's tolerance controls)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def assert_matches_reference(model, coef, intercept, X, rtol=1e-7):
    """Coefficients normwise within ``rtol``; the intercept within ``rtol`` of its own size plus the
    size of ``x̄·coef`` (its error is ``x̄·Δcoef``); predictions normwise within ``rtol``."""
    assert norm_error(model.coef_, coef) < rtol
    intercept_scale = abs(intercept) + float(np.linalg.norm(X.mean(axis=0)) * np.linalg.norm(coef))
    assert abs(model.intercept_ - intercept) <= rtol * intercept_scale
    assert norm_error(model.predict(X), X @ coef + intercept) < rtol


# ------------------------------------------------------------------------- scikit-learn's checks


#: scikit-learn's array-API checks (run where SCIPY_ARRAY_API=1) fit make_classification's design, whose
#: redundant columns make it rank-deficient: numpy rows are then solved by QR on the augmented system
#: (its refinement records no updates) and rows on a device by passes preconditioned with their QR
#: factor (each recorded), so the two fits' loss histories differ in length (their coefficients agree
#: to 6e-17). tests/test_array_api.py runs these same checks on its full-rank variant, where every one passes.
ARRAY_API_ON_RANK_DEFICIENT = "numpy and device rows of a rank-deficient design are solved by two QR paths (loss_history_ lengths differ)"


def expected_failures(estimator) -> dict[str, str]:
    return {name: ARRAY_API_ON_RANK_DEFICIENT for name in ("check_array_api_input", "check_array_api_mixed_inputs")}


@parametrize_with_checks([LinearRegression()], expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------------------------ validation


@pytest.fixture
def problem():
    return random_problem(0)


@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize(("bad", "word"), [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_data_is_refused(problem, where, bad, word):
    X, y = (array.copy() for array in problem)
    if where == "X":
        X[3, 1] = bad
    else:
        y[5] = bad
    with pytest.raises(ValueError, match=f"Input {where} contains {word}"):
        LinearRegression().fit(X, y)


def test_non_finite_data_is_refused_at_predict(problem):
    X, y = problem
    model = LinearRegression().fit(X, y)
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.predict(X_bad)


def test_empty_data_is_refused(problem):
    X, y = problem
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 is required"):
        LinearRegression().fit(X[:0], y[:0])


def test_no_features_is_refused(problem):
    _, y = problem
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        LinearRegression().fit(np.empty((len(y), 0)), y)


def test_mismatched_lengths_are_refused(problem):
    X, y = problem
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[80, 79\]"):
        LinearRegression().fit(X, y[:-1])


def test_one_dimensional_X_is_refused_with_the_fix(problem):
    X, y = problem
    with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array instead(.|\n)*Reshape your data"):
        LinearRegression().fit(X[:, 0], y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learning_rate": -0.1}, r"'learning_rate' parameter .* must be a float in the range \(0.0, inf\) or a str among \{.*'auto'.*\}. Got -0.1"),
        ({"learning_rate": 0}, r"'learning_rate' parameter .* must be a float in the range \(0.0, inf\).* Got 0 instead"),
        ({"learning_rate": 0.0}, r"'learning_rate' parameter .* Got 0.0 instead"),
        ({"learning_rate": "fast"}, r"'learning_rate' parameter .* Got 'fast' instead"),
        ({"max_iter": 0}, r"'max_iter' parameter .* must be an int in the range \[1, inf\). Got 0 instead"),
        ({"max_iter": -5}, r"'max_iter' parameter .* Got -5 instead"),
        ({"max_iter": 2.5}, r"'max_iter' parameter .* Got 2.5 instead"),
        ({"tol": -1e-8}, r"'tol' parameter .* must be a float in the range \[0.0, inf\)"),
        ({"solver": "newton"}, r"(?=.*'exact')(?=.*'gd')'solver' parameter .* must be a str among \{.*\}. Got 'newton' instead"),
        ({"fit_intercept": "yes"}, r"'fit_intercept' parameter .* Got 'yes' instead"),
        ({"standardize": None}, r"'standardize' parameter .* Got None instead"),
    ],
)
def test_bad_parameters_are_refused_at_fit(problem, params, message):
    X, y = problem
    model = LinearRegression(**params)  # __init__ only stores; nothing is checked until fit
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


SETTING_VALUES = [-1, 0, 0.5, 1, 1.5, 2, 2.5, 10**6, np.inf, -np.inf, np.nan, np.float64(0.3), np.int64(3), True, False,
                  None, "auto", "armijo", "line_search", "constant", "gd", "exact", "x"]


@pytest.mark.parametrize("name", ["solver", "learning_rate", "max_iter", "tol", "alpha", "l1_ratio", "momentum",
                                  "batch_size", "schedule", "record_path"])
def test_the_cores_settings_check_takes_what_scikit_learns_takes(name):
    """The core (``fitting.Settings``, used by the command line without the estimator) checks the same
    ranges as the estimator's ``_parameter_constraints`` under scikit-learn's own validator, value for
    value, and names the parameter where it refuses."""
    from gradfit.fitting import Settings

    for value in SETTING_VALUES:
        try:
            LinearRegression(**{name: value})._validate_params()
            expected = True
        except ValueError:
            expected = False
        if expected:
            Settings(**{name: value})
        else:
            with pytest.raises(ValueError, match=rf"^{name}=.* is out of range: {name} must be "):
                Settings(**{name: value})


@pytest.mark.parametrize(
    "X",
    [
        np.array([["1.0", "2.0"], ["x", "4.0"], ["5.0", "6.0"]]),
        np.array([[1.0, "a"], [2.0, "b"], [3.0, "c"]], dtype=object),
        pd.DataFrame({"rooms": [1.0, 2.0, 3.0], "city": ["Oslo", "Bergen", "Oslo"]}),
    ],
    ids=["str-array", "object-array", "dataframe"],
)
def test_non_numeric_strings_are_refused(X):
    pattern = r"could not convert string to float: (np\.str_\()?'(x|a)'|column 'city' of X holds 'Oslo' \(row 0\)"
    with pytest.raises(ValueError, match=pattern):
        LinearRegression().fit(X, [1.0, 2.0, 3.0])


def test_numeric_strings_are_accepted():
    X = np.array([["1.0"], ["2.0"], ["4.0"]])
    model = LinearRegression(solver="exact").fit(X, [3.0, 5.0, 9.0])
    np.testing.assert_allclose([model.coef_[0], model.intercept_], [2.0, 1.0])


@pytest.mark.parametrize("coef_init", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [[1.0, 2.0, 3.0, 4.0]]])
def test_coef_init_of_the_wrong_length_is_refused(problem, coef_init):
    X, y = problem
    with pytest.raises(ValueError, match=r"coef_init must hold 3 finite numbers \(one per feature\); got shape"):
        LinearRegression().fit(X, y, coef_init=coef_init)


def test_non_finite_coef_init_is_refused(problem):
    X, y = problem
    with pytest.raises(ValueError, match="coef_init must hold 3 finite numbers"):
        LinearRegression().fit(X, y, coef_init=[1.0, np.nan, 0.0])


def test_non_finite_intercept_init_is_refused(problem):
    X, y = problem
    with pytest.raises(ValueError, match="intercept_init must be a finite number; got inf"):
        LinearRegression().fit(X, y, intercept_init=np.inf)


def test_intercept_init_without_an_intercept_is_refused(problem):
    X, y = problem
    with pytest.raises(ValueError, match="intercept_init was given but fit_intercept=False"):
        LinearRegression(fit_intercept=False).fit(X, y, intercept_init=1.0)


def test_starting_point_is_used(problem):
    X, y = problem
    exact = LinearRegression(solver="exact").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(max_iter=1).fit(X, y, coef_init=exact.coef_, intercept_init=exact.intercept_)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=1e-10)
    assert model.n_iter_ <= 1


@pytest.mark.parametrize("method", ["predict", "score", "distance_to_optimum", "save"])
def test_using_an_unfitted_model_raises_not_fitted(problem, method, tmp_path):
    X, y = problem
    args = {"predict": (X,), "score": (X, y), "distance_to_optimum": (X, y), "save": (tmp_path / "m.json",)}[method]
    with pytest.raises(NotFittedError, match="This LinearRegression instance is not fitted yet"):
        getattr(LinearRegression(), method)(*args)


@pytest.mark.parametrize("n_columns", [2, 4])
def test_wrong_feature_count_at_predict_names_both_counts(problem, n_columns):
    X, y = problem
    model = LinearRegression().fit(X, y)
    X_other = np.ones((5, n_columns))
    with pytest.raises(ValueError, match=f"X has {n_columns} features, but LinearRegression is expecting 3 features as input"):
        model.predict(X_other)


def test_dataframe_columns_become_feature_names(problem):
    X, y = problem
    frame = pd.DataFrame(X, columns=["rooms", "area", "age"])
    model = LinearRegression().fit(frame, y)
    assert isinstance(model.feature_names_in_, np.ndarray) and model.feature_names_in_.dtype == object
    assert model.feature_names_in_.tolist() == ["rooms", "area", "age"]
    assert model.n_features_in_ == 3
    assert_same_predictions(model.predict(frame), X @ model.coef_ + model.intercept_, X, model.coef_, model.intercept_)


def test_no_feature_names_without_a_dataframe(problem):
    X, y = problem
    assert not hasattr(LinearRegression().fit(X, y), "feature_names_in_")


def test_predicting_with_other_feature_names_is_refused_or_warned(problem):
    X, y = problem
    frame = pd.DataFrame(X, columns=["rooms", "area", "age"])
    model = LinearRegression().fit(frame, y)
    with pytest.raises(ValueError, match=r"The feature names should match those that were passed during fit.(.|\n)*- year"):
        model.predict(frame.rename(columns={"age": "year"}))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame[["area", "rooms", "age"]])  # same names, other order: the columns would be mixed up
    with pytest.warns(UserWarning, match="X does not have valid feature names, but LinearRegression was fitted with feature names"):
        model.predict(X)
    unnamed = LinearRegression().fit(X, y)
    with pytest.warns(UserWarning, match="X has feature names, but LinearRegression was fitted without feature names"):
        unnamed.predict(frame)


def test_dataframe_and_array_give_the_same_model(problem):
    X, y = problem
    from_frame = LinearRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(y))
    from_array = LinearRegression().fit(X, y)
    # A DataFrame arrives column-major, so sums may round in another order: equal to rounding only.
    np.testing.assert_allclose(from_frame.coef_, from_array.coef_, rtol=1e-12)
    assert from_frame.intercept_ == pytest.approx(from_array.intercept_, rel=1e-12)


@pytest.mark.parametrize("solver", ["auto", "gd"])
def test_from_fit_is_the_model_fit_leaves(problem, solver):
    """A model built from what the core found (as the command line builds one to save it) is the fitted one."""
    from gradfit.fitting import Settings, fit

    X, y = problem
    settings = Settings(solver=solver, max_iter=50)
    fitted = LinearRegression(solver=solver, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X, y)
    built = LinearRegression.from_fit(fit(X, y, settings=settings), settings)
    assert built.get_params() == fitted.get_params()
    expected, got = fitted.fitted_state(), built.fitted_state()
    assert got.keys() == expected.keys() and got["feature_names_in_"] is None
    for name in ("n_features_in_", "coef_", "intercept_", "n_iter_", "loss_history_", "converged_", "status_",
                 "solver_", "final_loss_", "learning_rate_", "lipschitz_", "condition_number_"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    if fitted.converged_:
        assert str(built.summary()) == str(fitted.summary())


# ----------------------------------------------------------------------- convergence and divergence


def ill_conditioned_problem():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(200, 1))
    X = np.hstack([base, base + 1e-3 * rng.normal(size=(200, 1))])
    y = X @ [1.0, -1.0] + 0.01 * rng.normal(size=200)
    return X, y


def test_reaching_max_iter_warns_how_far_the_coefficients_are_from_the_answer():
    X, y = ill_conditioned_problem()
    with pytest.warns(ConvergenceWarning) as record:
        model = LinearRegression(solver="gd", max_iter=50).fit(X, y)
    assert len(record) == 1
    message = str(record[0].message)
    assert re.search(r"stopped at max_iter=50 before reaching the tolerance tol=1e-08: the coefficients are within \S+ \(relative error bound\)", message)
    within = float(re.search(r"within (\S+) \(relative", message).group(1))
    assert within > model.tol and within == pytest.approx(model.error_bound_, rel=0.05)
    assert "solver='auto'" in message and "raise max_iter" in message
    assert "ill-conditioned" in message and "condition number" in message
    assert model.n_iter_ == 50 and not model.converged_ and model.status_ == "max_iter"
    assert record[0].filename == __file__  # points at the caller's fit, not at gradfit's internals


@pytest.mark.parametrize("standardize", [True, False])
def test_tol_zero_runs_exactly_max_iter_updates_without_a_warning(standardize):
    X, y = make_article_data(seed=2024)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(solver="gd", learning_rate=0.1, max_iter=1000, tol=0.0, standardize=standardize).fit(X, y)
    assert model.n_iter_ == 1000 and len(model.loss_history_) == 1000
    assert model.status_ == "max_iter" and not model.converged_
    assert "made all max_iter=1000 updates (tol=0: no early stop)" in model.message_


def test_converging_fit_does_not_warn(problem):
    X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(solver="gd").fit(X, y)
    assert model.converged_ and model.status_ == "tol" and model.n_iter_ < 10_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression().fit(X, y)
    assert model.converged_ and model.status_ == "exact" and model.solver_ == "exact"


def test_divergence_error_is_a_value_error():
    assert issubclass(DivergenceError, ValueError)


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("learning_rate", [1e6, 2.5, 50.0])
def test_divergence_names_the_learning_rate_and_the_stable_bound_without_runtime_warnings(standardize, learning_rate):
    X, y = make_article_data(seed=2024)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning may leak, nor any other warning
        with pytest.raises(ValueError) as raised:
            LinearRegression(solver="gd", learning_rate=learning_rate, max_iter=10_000, standardize=standardize).fit(X, y)
    error = raised.value
    assert isinstance(error, DivergenceError)
    message = str(error)
    assert f"learning_rate={learning_rate:.6g}" in message
    assert "2/L" in message
    assert f"{error.stable_bound:.6g}" in message
    assert error.learning_rate == learning_rate > error.stable_bound
    assert "\n" not in message


@pytest.mark.parametrize("learning_rate", [1e6, 2.5])
def test_divergence_stepping_one_update_at_a_time_leaks_no_runtime_warning(learning_rate):
    """With a callback the driver steps instead of using the closed form; the overflow must still
    become a DivergenceError and never a RuntimeWarning."""
    X, y = make_article_data(seed=2024)
    objective = LeastSquares.from_stats(MemorySource(X, y).stats(), fit_intercept=True, standardize=True)
    solver = make_solver("gd", learning_rate=learning_rate)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DivergenceError, match=r"2/L") as raised:
            minimize(objective, solver, np.zeros(objective.n_params), max_iter=10_000, tol=1e-8, callbacks=[seen.append])
    assert f"learning_rate={learning_rate:.6g}" in str(raised.value)
    assert raised.value.iteration <= 100 and len(seen) < raised.value.iteration


# ---------------------------------------------------------------------------------- extreme scales


@pytest.mark.parametrize("scale", [1e200, 1e-200])
@pytest.mark.parametrize("solver", ["gd", "exact"])
def test_extreme_feature_scales_fit_without_warnings(problem, scale, solver):
    X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = LinearRegression(solver=solver).fit(X, y)
        scaled = LinearRegression(solver=solver).fit(X * scale, y)
        predictions = scaled.predict(X * scale)
    assert np.all(np.isfinite(scaled.coef_))
    assert relative_error(scaled.coef_, reference.coef_ / scale) < 1e-9
    assert scaled.intercept_ == pytest.approx(reference.intercept_, rel=1e-9)
    np.testing.assert_allclose(predictions, reference.predict(X), rtol=1e-9, atol=1e-9 * np.abs(y).max())


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_extreme_target_scales_fit_without_warnings(problem, scale):
    X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = LinearRegression().fit(X, y)
        scaled = LinearRegression().fit(X, y * scale)
    assert relative_error(scaled.coef_, reference.coef_ * scale) < 1e-9
    assert scaled.intercept_ == pytest.approx(reference.intercept_ * scale, rel=1e-9)


def test_huge_features_without_standardizing_are_a_data_error_not_an_overflow(problem):
    """Gradient descent on the raw design squares the raw columns; features near 1e200 cannot be,
    and that is said. The direct solve always works on standardized columns, so it fits them."""
    X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="too large or too small to square in float64 with standardize=False") as raised:
            LinearRegression(solver="gd", standardize=False).fit(X * 1e200, y)
        model = LinearRegression(standardize=False).fit(X * 1e200, y)
    assert isinstance(raised.value, ValueError)
    assert "drop standardize=False (standardizing is the default)" in str(raised.value)
    reference = LinearRegression().fit(X, y)
    # X·1e200 is X times a float that is not a power of two: each entry rounds once (ε/2 relative),
    # a perturbation of the data that moves the answer by about κ·ε (κ ≈ 10 here) relatively
    np.testing.assert_allclose(model.coef_ * 1e200, reference.coef_, rtol=1e3 * np.finfo(float).eps)


# ------------------------------------------------------------------------------------ references


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_default_gd_matches_scikit_learn(seed, fit_intercept):
    X, y = random_problem(seed, n=100 + 20 * seed, d=2 + seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    reference = SklearnLinearRegression(fit_intercept=fit_intercept).fit(X, y)
    assert model.converged_
    assert_matches_reference(model, reference.coef_, reference.intercept_, X)
    if not fit_intercept:
        assert model.intercept_ == 0.0
    assert model.score(X, y) == pytest.approx(reference.score(X, y), rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_default_gd_matches_statsmodels(seed):
    sm = pytest.importorskip("statsmodels.api")
    X, y = random_problem(100 + seed, n=150, d=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression().fit(X, y)
    params = sm.OLS(y, sm.add_constant(X)).fit().params
    assert_matches_reference(model, params[1:], params[0], X)


def test_article_data_recovers_the_article_line():
    X, y = make_article_data(seed=2024)
    model = LinearRegression().fit(X, y)
    reference = SklearnLinearRegression().fit(X, y)
    assert_matches_reference(model, reference.coef_, reference.intercept_, X)
    assert model.coef_[0] == pytest.approx(2.0, abs=0.1) and model.intercept_ == pytest.approx(1.0, abs=0.1)
