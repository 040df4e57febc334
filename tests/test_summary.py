"""The inference table from sufficient statistics, held to statsmodels OLS/WLS and to exact arithmetic.

Every comparison sets the coefficients to the least-squares solution (statsmodels' own ``params``),
so any difference comes from the table itself. The tolerance is ``RTOL = 1e-8`` throughout; the
measured agreement is 1e-11 or better (see ``LONGLEY_EXACT_RTOL`` for what limits it).
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from gradfit.errors import DataError
from gradfit.inference import summarize
from gradfit.numerics.scaling import power_of_two_scale
from gradfit.sources.memory import MemorySource
from gradfit.sources.stats import SufficientStats, merge_all
from gradfit.summary import CONFIDENCE_LEVEL, ModelSummary

from problems import longley as longley_data

sm = pytest.importorskip("statsmodels.api")

#: Agreement demanded with statsmodels for every number in the table.
RTOL = 1e-8
#: Agreement demanded with exact rational arithmetic where the problem is well conditioned.
EXACT_RTOL = 1e-11

#: Absolute agreement for R² (a fraction of TSS) when it is near 0 and relative comparison is ill-posed.
R_SQUARED_ATOL = 1e-13
#: Above this R², F = (R²/df_model)/((1 − R²)/df_resid) is well conditioned relative to R².
SIGNAL_R_SQUARED = 1e-4
#: Below this F its upper tail p value is not deep in the tail.
ORDINARY_F = 100.0

TERM_FIELDS = ("std_err", "t", "p_value", "ci_low", "ci_high")


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def fit_statsmodels(X, y, *, fit_intercept, weights=None):
    design = sm.add_constant(X, has_constant="add") if fit_intercept else X
    with warnings.catch_warnings():
        # statsmodels warns (not a RuntimeWarning) about rank-deficient designs; that case is tested.
        warnings.simplefilter("ignore", UserWarning)
        model = sm.OLS(y, design) if weights is None else sm.WLS(y, design, weights=weights)
        return model.fit()


def summary_at_statsmodels_params(X, y, result, *, fit_intercept, weights=None, feature_names=None):
    params = np.asarray(result.params)
    coef, intercept = (params[1:], params[0]) if fit_intercept else (params, 0.0)
    return summarize(
        MemorySource(X, y, weights).stats(),
        coef,
        intercept,
        fit_intercept=fit_intercept,
        feature_names=feature_names,
    )


def reference_values(result, *, weights=None) -> dict[str, object]:
    """statsmodels' numbers under this module's field names.

    WLS adds ½Σlog wᵢ to its log-likelihood (a constant the statistics do not carry); it is removed
    here so the remaining parts can be compared exactly.
    """
    log_weight_term = 0.0 if weights is None else 0.5 * float(np.sum(np.log(weights)))
    interval = np.asarray(result.conf_int(alpha=1.0 - CONFIDENCE_LEVEL))
    return {
        "n_samples": int(result.nobs),
        "df_model": int(result.df_model),
        "df_resid": int(result.df_resid),
        "rank": int(result.model.rank),
        "r_squared": result.rsquared,
        "adj_r_squared": result.rsquared_adj,
        "f_statistic": result.fvalue,
        "f_pvalue": result.f_pvalue,
        "sigma": math.sqrt(result.scale),
        "log_likelihood": result.llf - log_weight_term,
        "aic": result.aic + 2.0 * log_weight_term,
        "bic": result.bic + 2.0 * log_weight_term,
        "coef": np.asarray(result.params),
        "std_err": np.asarray(result.bse),
        "t": np.asarray(result.tvalues),
        "p_value": np.asarray(result.pvalues),
        "ci_low": interval[:, 0],
        "ci_high": interval[:, 1],
    }


def max_relative_difference(summary: ModelSummary, reference: dict[str, object]) -> dict[str, float]:
    out = {}
    for name, expected in reference.items():
        expected = np.asarray(expected, dtype=float)
        actual = np.asarray(getattr(summary, name), dtype=float)
        scale = np.where(expected == 0, 1.0, np.abs(expected))
        out[name] = float(np.max(np.abs(actual - expected) / scale))
    return out


def assert_matches(summary: ModelSummary, reference: dict[str, object], *, rtol: float = RTOL, skip=()):
    for name, expected in reference.items():
        if name in skip:
            continue
        actual = getattr(summary, name)
        if isinstance(expected, int):
            assert actual == expected, name
        else:
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0, err_msg=name)


def exact_reference(X, y, coef, intercept, *, fit_intercept, weights=None) -> dict[str, float]:
    """The table in exact rational arithmetic on the float inputs, rounded once at the end.

    Square roots, logs and the t/F tails are taken of correctly rounded rationals, so each value is
    within a few ulps of the truth for these exact inputs.
    """
    n, d = X.shape
    rows = [[Fraction(1)] * fit_intercept + [Fraction(v) for v in row] for row in X.tolist()]
    target = [Fraction(v) for v in y.tolist()]
    w = [Fraction(1)] * n if weights is None else [Fraction(v) for v in weights.tolist()]
    p = d + fit_intercept
    gram = [[sum(w[i] * rows[i][j] * rows[i][k] for i in range(n)) for k in range(p)] for j in range(p)]
    inverse = _exact_inverse(gram)
    params = [Fraction(intercept)] * fit_intercept + [Fraction(c) for c in coef.tolist()]
    residuals = [target[i] - sum(rows[i][j] * params[j] for j in range(p)) for i in range(n)]
    rss = sum(w[i] * residuals[i] ** 2 for i in range(n))
    total = sum(w)
    mean = sum(w[i] * target[i] for i in range(n)) / total
    tss = sum(w[i] * (target[i] - mean) ** 2 for i in range(n)) if fit_intercept else sum(
        w[i] * target[i] ** 2 for i in range(n)
    )
    df_model, df_resid = p - fit_intercept, n - p
    sigma2 = rss / df_resid
    r2 = 1 - rss / tss
    f_value = ((tss - rss) / df_model) / sigma2
    variance = [sigma2 * inverse[j][j] for j in range(p)]
    t_squared = [params[j] ** 2 / variance[j] for j in range(p)]
    t = np.array([math.copysign(math.sqrt(float(t_squared[j])), params[j]) for j in range(p)])
    std_err = np.array([math.sqrt(float(v)) for v in variance])
    llf = -0.5 * n * (math.log(2 * math.pi) + math.log(float(rss / n)) + 1)
    return {
        "r_squared": float(r2),
        "adj_r_squared": float(1 - Fraction(n - fit_intercept, df_resid) * (1 - r2)),
        "f_statistic": float(f_value),
        "f_pvalue": float(scipy_stats.f.sf(float(f_value), df_model, df_resid)),
        "sigma": math.sqrt(float(sigma2)),
        "log_likelihood": llf,
        "std_err": std_err,
        "t": t,
        "p_value": 2 * scipy_stats.t.sf(np.abs(t), df_resid),
    }


def _exact_inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    size = len(matrix)
    work = [row[:] + [Fraction(int(i == j)) for j in range(size)] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = next(r for r in range(col, size) if work[r][col] != 0)
        work[col], work[pivot] = work[pivot], work[col]
        lead = work[col][col]
        work[col] = [v / lead for v in work[col]]
        for r in range(size):
            if r != col and work[r][col] != 0:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col])]
    return [row[size:] for row in work]


def make_problem(seed: int, n: int = 80, d: int = 4, *, noise: float = 2.0):
    """A well-conditioned problem with columns of mixed scale and offset, and moderate t values."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-2, 3, d)
    X = rng.normal(size=(n, d)) * scales + rng.normal(size=d) * scales * 3
    beta = rng.normal(size=d) / scales
    y = 4.0 + X @ beta + noise * rng.normal(size=n)
    weights = rng.uniform(0.2, 3.0, size=n)
    return X, y, weights


@pytest.fixture(scope="module")
def longley():
    return longley_data()


# --------------------------------------------------------------------------------------------------
# agreement with statsmodels
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_statsmodels(fit_intercept, weighted):
    X, y, w = make_problem(seed=11)
    weights = w if weighted else None
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept, weights=weights)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=fit_intercept, weights=weights)
    assert_matches(summary, reference_values(result, weights=weights))
    assert summary.names == (("intercept",) if fit_intercept else ()) + ("x0", "x1", "x2", "x3")


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_longley_matches_statsmodels(longley, fit_intercept):
    X, y, names = longley
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=fit_intercept, feature_names=names)
    assert_matches(summary, reference_values(result))
    assert summary.names[-len(names) :] == tuple(names)


#: Longley's accuracy bound against exact arithmetic. The statistics are rounded once (relative
#: eps per entry); inverting their centred correlation form, of condition ≈ 1.2e4, multiplies that by
#: about 1e4, and tail p values add a factor of order t². Measured: ≤ 7.4e-12 (p values), ≤ 1.3e-12
#: (errors, t), ≤ 2e-13 (σ, F). statsmodels, holding the rows, is ≈ 4× closer; both are far inside 1e-8.
LONGLEY_EXACT_RTOL = 2e-11


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_longley_is_close_to_exact_arithmetic(longley, fit_intercept):
    """Longley (condition ≈ 5e9 with its intercept) against exact rational arithmetic on its floats."""
    X, y, _ = longley
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept)
    params = np.asarray(result.params)
    coef, intercept = (params[1:], params[0]) if fit_intercept else (params, 0.0)
    exact = exact_reference(X, y, coef, intercept, fit_intercept=fit_intercept)
    summary = summarize(MemorySource(X, y).stats(), coef, intercept, fit_intercept=fit_intercept)
    ours = max_relative_difference(summary, exact)
    assert max(ours.values()) < LONGLEY_EXACT_RTOL, ours


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_problem_is_close_to_exact_arithmetic(fit_intercept):
    X, y, w = make_problem(seed=5, n=40, d=3)
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept, weights=w)
    params = np.asarray(result.params)
    coef, intercept = (params[1:], params[0]) if fit_intercept else (params, 0.0)
    exact = exact_reference(X, y, coef, intercept, fit_intercept=fit_intercept, weights=w)
    summary = summarize(MemorySource(X, y, w).stats(), coef, intercept, fit_intercept=fit_intercept)
    exact.pop("log_likelihood")  # WLS: see the note; the rest must be exact.
    assert max(max_relative_difference(summary, exact).values()) < EXACT_RTOL


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(8, 120),
    d=st.integers(1, 6),
    fit_intercept=st.booleans(),
    weighted=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_random_problems_match_statsmodels(seed, n, d, fit_intercept, weighted):
    X, y, w = make_problem(seed, n=n, d=d)
    weights = w if weighted else None
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept, weights=weights)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=fit_intercept, weights=weights)
    reference = reference_values(result, weights=weights)
    # Two kinds of number are ill-conditioned in any implementation, so they are compared through
    # the well-conditioned numbers they derive from: a p value deep in the tail (relative error ≈
    # t² × that of t) and, when R² is near 0, R² = 1 − RSS/TSS and F ∝ TSS − RSS (relative error
    # ≈ eps/R²; R² is then compared absolutely, as a fraction of TSS).
    ordinary = np.abs(reference["t"]) < 30
    np.testing.assert_allclose(summary.p_value[ordinary], reference["p_value"][ordinary], rtol=RTOL)
    assert_matches(summary, reference, skip=("p_value", "f_pvalue", "r_squared", "adj_r_squared", "f_statistic"))
    for name in ("r_squared", "adj_r_squared"):
        np.testing.assert_allclose(getattr(summary, name), reference[name], rtol=RTOL, atol=R_SQUARED_ATOL)
    if reference["r_squared"] > SIGNAL_R_SQUARED:
        np.testing.assert_allclose(summary.f_statistic, reference["f_statistic"], rtol=RTOL)
        if reference["f_statistic"] < ORDINARY_F:
            np.testing.assert_allclose(summary.f_pvalue, reference["f_pvalue"], rtol=RTOL)


# --------------------------------------------------------------------------------------------------
# extreme scales
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_factor, y_factor", [(1e150, 1.0), (1e-150, 1.0), (1e150, 1e150), (1.0, 1e-200)])
def test_extreme_scales_do_not_overflow(x_factor, y_factor):
    """Scaling X by a and y by b scales slopes and their errors by b/a and the intercept's by b."""
    X, y, _ = make_problem(seed=3)
    result = fit_statsmodels(X, y, fit_intercept=True)
    reference = reference_values(result)
    Xs, ys = X * x_factor, y * y_factor
    coef = np.asarray(result.params[1:]) * (y_factor / x_factor)
    intercept = float(result.params[0]) * y_factor
    summary = summarize(MemorySource(Xs, ys).stats(), coef, intercept, fit_intercept=True)
    unit = np.concatenate(([y_factor], np.full(X.shape[1], y_factor / x_factor)))
    for name in ("std_err", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(summary, name), reference[name] * unit, rtol=RTOL, err_msg=name)
    for name in ("t", "p_value", "r_squared", "adj_r_squared", "f_statistic", "f_pvalue"):
        np.testing.assert_allclose(getattr(summary, name), reference[name], rtol=RTOL, err_msg=name)
    np.testing.assert_allclose(summary.sigma, reference["sigma"] * y_factor, rtol=RTOL)
    # log-likelihood: RSS scales by b², so ℓ shifts by −n·log b (computed without forming RSS).
    shift = X.shape[0] * math.log(y_factor)
    np.testing.assert_allclose(summary.log_likelihood, reference["log_likelihood"] - shift, rtol=RTOL)
    np.testing.assert_allclose(summary.aic, reference["aic"] + 2 * shift, rtol=RTOL)
    assert all(np.isfinite(getattr(summary, name)).all() for name in ModelSummary.TERM_FIELDS)


# --------------------------------------------------------------------------------------------------
# rank deficiency, implicit constant
# --------------------------------------------------------------------------------------------------


def duplicated_design(seed=7, n=60):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.3] + [2.0, -1.0, 4.0]
    y = base @ [1.5, -0.7, 2.0] + 3.0 + rng.normal(size=n)
    return base, y, rng.uniform(0.5, 2.0, size=n)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_duplicate_column_matches_statsmodels_pinv(fit_intercept, weighted):
    """An exact duplicate keeps the Moore–Penrose covariance unchanged by the correlation scaling, so
    even the (non-unique) minimum-norm standard errors agree with statsmodels' pinv."""
    base, y, w = duplicated_design()
    X = np.column_stack([base[:, 0], base[:, 1], base[:, 0], base[:, 2]])
    weights = w if weighted else None
    result = fit_statsmodels(X, y, fit_intercept=fit_intercept, weights=weights)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=fit_intercept, weights=weights)
    assert summary.rank == X.shape[1] - 1 + fit_intercept == result.model.rank
    assert_matches(summary, reference_values(result, weights=weights))
    assert any("rank deficient" in note for note in summary.notes)


def test_proportional_column_agrees_on_estimable_quantities():
    """With x₃ = 2x₁ the minimum-norm split depends on the units, so only the estimable numbers
    (fit statistics, and errors of the terms outside the collinear pair) are comparable."""
    base, y, _ = duplicated_design()
    X = np.column_stack([base[:, 0], base[:, 1], 2.0 * base[:, 0], base[:, 2]])
    result = fit_statsmodels(X, y, fit_intercept=True)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=True)
    reference = reference_values(result)
    estimable = [0, 2, 4]  # intercept, x1, x3 (x0 and x2 are the collinear pair)
    for name in TERM_FIELDS:
        np.testing.assert_allclose(getattr(summary, name)[estimable], reference[name][estimable], rtol=RTOL)
    skip = (*TERM_FIELDS, "coef")
    assert_matches(summary, reference, skip=skip)


def test_implicit_constant_without_intercept_matches_statsmodels():
    """Dummies that sum to one span the constant: statsmodels then centres R² and uses rank − 1."""
    rng = np.random.default_rng(2)
    n = 90
    group = rng.integers(0, 3, size=n)
    dummies = (group[:, None] == np.arange(3)).astype(float)
    X = np.column_stack([dummies, rng.normal(size=n) * 4.0])
    y = dummies @ [1.0, 2.5, -1.0] + 0.3 * X[:, 3] + rng.normal(size=n)
    result = fit_statsmodels(X, y, fit_intercept=False)
    assert result.k_constant == 1
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=False)
    assert_matches(summary, reference_values(result))
    assert any("implicit intercept" in note for note in summary.notes)


# --------------------------------------------------------------------------------------------------
# degenerate fits: explicit limits, no warnings
# --------------------------------------------------------------------------------------------------


def test_perfect_fit_gives_explicit_limits_without_warnings():
    rng = np.random.default_rng(0)
    X = rng.integers(-50, 50, size=(30, 3)).astype(float)
    coef = np.array([2.0, -3.0, 0.0])
    y = 7.0 + X @ coef  # integers: exact in float64, so the residuals are exactly zero
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = summarize(MemorySource(X, y).stats(), coef, 7.0, fit_intercept=True)
        text = str(summary)
        payload = json.dumps(summary.to_dict(), allow_nan=False)
    assert summary.sigma == 0.0
    assert summary.r_squared == 1.0
    assert summary.f_statistic == math.inf and summary.f_pvalue == 0.0
    assert summary.log_likelihood == math.inf and summary.aic == -math.inf and summary.bic == -math.inf
    np.testing.assert_array_equal(summary.std_err, 0.0)
    np.testing.assert_array_equal(summary.t[:3], [math.inf, math.inf, -math.inf])
    assert math.isnan(summary.t[3])  # 0/0: a zero coefficient with zero error
    np.testing.assert_array_equal(summary.p_value[:3], 0.0)
    np.testing.assert_array_equal(summary.ci_low, summary.coef)
    assert any("perfect fit" in note for note in summary.notes)
    assert "perfect fit" in text and '"inf"' in payload and '"nan"' in payload


def test_perfect_fit_of_float_data_is_recognised():
    """Non-integer data: the residuals are rounding only, below what the statistics can resolve."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 4)) * [1e-3, 1.0, 1e3, 7.0] + [0.0, 100.0, -5e3, 1.0]
    y = 3.25 + X @ [1.0, -2.0, 0.5, 3.0]
    result = fit_statsmodels(X, y, fit_intercept=True)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=True)
    assert summary.sigma == 0.0 and summary.f_statistic == math.inf


def test_no_residual_degrees_of_freedom_is_nan_without_warnings():
    X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]])
    y = np.array([1.0, 2.0, 4.0])
    coef = np.linalg.solve(np.column_stack([np.ones(3), X]), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = summarize(MemorySource(X, y).stats(), coef[1:], coef[0], fit_intercept=True)
        str(summary)
    assert summary.df_resid == 0 and summary.rank == 3
    for name in ("sigma", "adj_r_squared", "f_statistic", "f_pvalue"):
        assert math.isnan(getattr(summary, name)), name
    assert np.isnan(summary.std_err).all() and np.isnan(summary.ci_high).all()
    assert any("no residual degrees of freedom" in note for note in summary.notes)


def test_constant_target_has_undefined_r_squared():
    X = np.arange(10.0).reshape(-1, 1)
    y = np.full(10, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = summarize(MemorySource(X, y).stats(), np.zeros(1), 3.0, fit_intercept=True)
    assert math.isnan(summary.r_squared) and math.isnan(summary.f_statistic)
    assert summary.sigma == 0.0


def test_zero_variance_feature_is_rank_deficient_not_an_error():
    X = np.column_stack([np.arange(12.0), np.full(12, 5.0)])
    y = 1.0 + 0.5 * X[:, 0] + np.sin(np.arange(12.0))
    result = fit_statsmodels(X, y, fit_intercept=True)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=True)
    assert summary.rank == 2 == result.model.rank
    reference = reference_values(result)
    assert_matches(summary, reference, skip=(*TERM_FIELDS, "coef"))
    # The slope of the varying column is estimable and its error agrees; the constant column's is not.
    np.testing.assert_allclose(summary.std_err[1], reference["std_err"][1], rtol=RTOL)
    assert np.isnan([summary.std_err[2], summary.t[2], summary.p_value[2], summary.ci_low[2]]).all()
    assert any("not estimable" in note and "x1" in note for note in summary.notes)


# --------------------------------------------------------------------------------------------------
# the statistics are all it needs
# --------------------------------------------------------------------------------------------------


def test_residuals_are_evaluated_at_the_given_coefficients():
    """Not the optimum: RSS, R² and σ follow the residuals of the coefficients passed in."""
    X, y, w = make_problem(seed=8)
    coef = np.array([0.5, -0.1, 0.02, 0.001])
    intercept = 2.0
    summary = summarize(MemorySource(X, y, w).stats(), coef, intercept, fit_intercept=True)
    residual = y - intercept - X @ coef
    rss = float(w @ residual**2)
    mean = np.average(y, weights=w)
    tss = float(w @ (y - mean) ** 2)
    n, d = X.shape
    np.testing.assert_allclose(summary.r_squared, 1 - rss / tss, rtol=RTOL)
    np.testing.assert_allclose(summary.sigma, math.sqrt(rss / (n - d - 1)), rtol=RTOL)
    np.testing.assert_allclose(summary.f_statistic, ((tss - rss) / d) / (rss / (n - d - 1)), rtol=RTOL)


def test_merged_chunks_give_the_same_table():
    X, y, w = make_problem(seed=9, n=101)
    whole = MemorySource(X, y, w).stats()
    x_scale = power_of_two_scale(np.max(np.abs(X), axis=0))
    y_scale = float(power_of_two_scale(np.max(np.abs(y))))
    parts = [
        SufficientStats.from_chunk(
            X[start:stop], y[start:stop], x_scale=x_scale, y_scale=y_scale,
            x_origin=X[0] / x_scale, y_origin=float(y[0] / y_scale), sample_weight=w[start:stop],
        )
        for start, stop in [(0, 13), (13, 60), (60, 101)]
    ]
    coef = np.linalg.lstsq(np.column_stack([np.ones(101), X]) * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    a = summarize(whole, coef[1:], coef[0], fit_intercept=True)
    b = summarize(merge_all(parts), coef[1:], coef[0], fit_intercept=True)
    # The two gatherings' statistics differ by up to 2m·u of their scales (the worst case, see
    # references.assert_same_statistics); G⁻¹ amplifies that by κ(G) (9.5 here) and the residual
    # sum, a difference, by TSS/RSS = 1/(1 − R²) (2.7): δ = 2m·u·κ/(1 − R²) = 1.2e-12 for every number
    # of the table. A p value deep in its tail moves by |d ln p/d ln t| = |t|·f(t)/S(t) times more
    # (54 for t = 11, 30 for F's p value): a fixed 1e-12 was below that.
    n, d = X.shape
    df = n - d - 1
    centred = (X - np.average(X, axis=0, weights=w)) * np.sqrt(w)[:, None]
    correlation = np.corrcoef(centred, rowvar=False)
    eigenvalues = np.linalg.eigvalsh(correlation)
    delta = 2 * n * np.finfo(np.float64).eps * (eigenvalues[-1] / eigenvalues[0]) / (1 - a.r_squared)
    t = np.abs(a.t)
    rtol = dict.fromkeys((*ModelSummary.MODEL_FIELDS, *ModelSummary.TERM_FIELDS), delta)
    rtol["p_value"] = delta * (1 + t * scipy_stats.t.pdf(t, df) / scipy_stats.t.sf(t, df))
    rtol["f_pvalue"] = delta * (1 + a.f_statistic * scipy_stats.f.pdf(a.f_statistic, d, df) / scipy_stats.f.sf(a.f_statistic, d, df))
    for name, bound in rtol.items():
        error = np.abs(np.asarray(getattr(a, name), dtype=float) - np.asarray(getattr(b, name), dtype=float))
        assert np.all(error <= bound * np.abs(np.asarray(getattr(b, name), dtype=float))), name


# --------------------------------------------------------------------------------------------------
# presentation
# --------------------------------------------------------------------------------------------------


def test_text_table_names_and_numbers(longley):
    X, y, names = longley
    result = fit_statsmodels(X, y, fit_intercept=True)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=True, feature_names=names)
    text = str(summary)
    for name in ("intercept", *names, "R-squared", "Adj. R-squared", "F-statistic", "P>|t|", "[0.025", "0.975]"):
        assert name in text, name
    for value in (summary.r_squared, summary.adj_r_squared, summary.f_statistic, summary.log_likelihood):
        assert f"{value:.6g}" in text
    for i in range(len(summary.names)):
        for field_name in ("coef", "std_err", "t"):
            assert f"{getattr(summary, field_name)[i]:.4g}" in text
    assert str(summary.n_samples) in text and str(summary.df_resid) in text
    widths = {len(line) for line in text.splitlines() if line.startswith("=")}
    assert len(widths) == 1  # rules are all one width: a fixed-width table


def test_to_dict_is_plain_json_and_round_trips():
    X, y, w = make_problem(seed=1)
    result = fit_statsmodels(X, y, fit_intercept=True, weights=w)
    summary = summary_at_statsmodels_params(X, y, result, fit_intercept=True, weights=w)
    payload = summary.to_dict()
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    assert decoded == payload
    assert decoded["confidence_level"] == CONFIDENCE_LEVEL
    assert [term["name"] for term in decoded["terms"]] == list(summary.names)
    assert decoded["terms"][2]["std_err"] == summary.std_err[2]
    assert decoded["r_squared"] == summary.r_squared
    assert isinstance(decoded["df_resid"], int) and isinstance(decoded["notes"], list)
    assert json.loads(summary.to_json()) == payload


def test_to_frame():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_problem(seed=1)
    result = fit_statsmodels(X, y, fit_intercept=True)
    frame = summary_at_statsmodels_params(X, y, result, fit_intercept=True, feature_names=list("abcd")).to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == ["intercept", "a", "b", "c", "d"]
    assert list(frame.columns) == list(ModelSummary.TERM_FIELDS)
    np.testing.assert_allclose(frame["std_err"], result.bse, rtol=RTOL)


def test_summary_is_immutable():
    X, y, _ = make_problem(seed=1)
    summary = summarize(MemorySource(X, y).stats(), np.zeros(4), 0.0, fit_intercept=True)
    with pytest.raises(AttributeError):
        summary.r_squared = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError):
        summary.coef[0] = 1.0


# --------------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------------


def test_argument_checks():
    X, y, _ = make_problem(seed=1)
    stats = MemorySource(X, y).stats()
    with pytest.raises(ValueError, match="shape"):
        summarize(stats, np.zeros(3), 0.0, fit_intercept=True)
    with pytest.raises(ValueError, match="feature_names"):
        summarize(stats, np.zeros(4), 0.0, fit_intercept=True, feature_names=["a"])
    with pytest.raises(ValueError, match="fit_intercept=False"):
        summarize(stats, np.zeros(4), 1.0, fit_intercept=False)
    with pytest.raises(ValueError, match="finite"):
        summarize(stats, np.array([0.0, np.nan, 0.0, 0.0]), 0.0, fit_intercept=True)
    zero_weight = MemorySource(X, y, np.zeros(len(y))).stats()
    with pytest.raises(DataError):
        summarize(zero_weight, np.zeros(4), 0.0, fit_intercept=True)
