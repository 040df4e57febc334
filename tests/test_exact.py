"""solve_exact, the answer key, against references it shares no code with: exact rational
arithmetic (``fractions``), numpy's ``lstsq``/``pinv`` and scikit-learn's ``LinearRegression``.

Correct digits are ``-log10(max_i |x̂_i − x_i| / |x_i|)`` against the exact rational solution of the
float data as given; 15.95 or more means every component is correctly rounded or one ulp off.
Measured on the problems below (numpy 2.4, scipy 1.17, OpenBLAS; κ is the 2-norm condition number of
the column-scaled design with its ones column):

==================================  =======  ===========  ===============  ============
problem                             κ        solve_exact  np.linalg.lstsq  scikit-learn
==================================  =======  ===========  ===============  ============
polynomial degree 8, x = 0..20      6.2e5    16.1         6.2              −0.4
polynomial degree 9, x = 0..20      3.7e6    16.1         5.9              −1.1
polynomial degree 10, x = 0..20     2.3e7    16.0         3.8              −2.1
polynomial degree 8, x = 0..1       6.2e5    16.0         11.2             11.3
polynomial degree 9, x = 0..1       3.7e6    16.0         9.8              −0.2
polynomial degree 10, x = 0..1      2.3e7    16.0         9.6              −0.2
degree 10, ones column, no icpt.    2.3e7    16.0         9.6              −0.1
Longley-like, 6 predictors          7.8e7    16.2         7.9              −0.0
degree 10, large residual           2.2e7    16.1         −0.0             −0.0
offset 1e12 (centring matters)      6.1e11   16.0         −0.0             8.1
degree 14, x = 0..1 (beyond 1e8)    2.8e10   16.1         4.7              −1.1
==================================  =======  ===========  ===============  ============

(lstsq on the design with its ones column; scikit-learn 1.9 ``LinearRegression``, which centres
and calls scipy's lstsq.) Degree 10 reaches 16.0 digits, i.e. correctly rounded or one ulp off.

The assertions ask for 15 digits: what was measured less a margin of one digit, well above the
12 digits the design asks for whenever κ ≤ 1e8.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LinearRegression

from gradfit.errors import DataError
from gradfit.numerics.extended import ROW_BLOCK
from gradfit.numerics.residuals import COLUMN_BLOCK, _Residuals
from gradfit.solvers.exact import solve_exact

from references import correct_digits, exact_least_squares

EPS = np.finfo(np.float64).eps
SUBNORMAL_SPACING = Fraction(float(np.finfo(np.float64).smallest_subnormal))
#: Digits asserted on the accuracy table: the measured ~16 less a margin of one digit.
REQUIRED_DIGITS = 15.0


# ----------------------------------------------------------------------------------------------
# Exact references
# ----------------------------------------------------------------------------------------------


def solved(X, y, *, fit_intercept=True, **kwargs) -> list[float]:
    coef, intercept = solve_exact(X, y, fit_intercept=fit_intercept, **kwargs)
    return ([intercept] if fit_intercept else []) + list(coef)


def scaled_condition(X, *, fit_intercept: bool) -> float:
    A = np.column_stack([np.ones(len(X)), X]) if fit_intercept else np.asarray(X)
    return float(np.linalg.cond(A / np.abs(A).max(axis=0)))


# ----------------------------------------------------------------------------------------------
# Test problems (deterministic)
# ----------------------------------------------------------------------------------------------


def wiggle(n: int, key: int, size: float) -> np.ndarray:
    """A deterministic, irregular perturbation with values in ``size·{−11..11}``."""
    return np.array([((i * 7919 + key * 104729) % 23 - 11) for i in range(n)]) * size


def polynomial(degree: int, x: np.ndarray, *, residual: float, signal: float = 1.0):
    """Design ``[x, x², …, x^degree]`` and y = signal · known polynomial + irregular residual."""
    X = np.column_stack([x**k for k in range(1, degree + 1)])
    y = signal * np.polyval(np.arange(1.0, degree + 2), x) + wiggle(len(x), 0, residual)
    return X, y


def longley_like():
    """16 rows, 6 near-linear trends of scale 1e2..1e5 (GNP, population, year...) with small
    irregular perturbations: strongly collinear, as in Longley (1967)."""
    t = np.arange(16.0)
    X = np.column_stack(
        [
            83.0 + 2.25 * t + wiggle(16, 1, 0.00125),
            234289.0 + 21000.0 * t + wiggle(16, 2, 0.64),
            2000.0 + 150.0 * t + 40.0 * (t - 7.5) ** 2 + wiggle(16, 3, 0.16),
            1500.0 + 130.0 * t + wiggle(16, 4, 0.08),
            107608.0 + 1500.0 * t + wiggle(16, 5, 0.04),
            1947.0 + t,
        ]
    )
    y = X @ np.array([15.0, -0.0358, -2.02, -1.03, -0.0511, 1829.0]) - 3.48e6 + wiggle(16, 6, 32.0)
    return X, y


def far_offset():
    """Columns near 1e12 and 1e5 that vary by a few units: the uncentred design is very
    ill-conditioned, the centred one is not, so a solver must not pay for the offset."""
    i = np.arange(12.0)
    X = np.column_stack([1e12 + i + wiggle(12, 1, 0.25), 1e5 + (i - 5.5) ** 2 + wiggle(12, 2, 0.5)])
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + wiggle(12, 3, 0.125)
    return X, y


def large_residual():
    """Degree 10 on x = 0..24 where the residual is larger than the signal."""
    return polynomial(10, np.arange(25.0), residual=1e8, signal=1e-6)


INTEGERS_0_20 = np.arange(21.0)
UNIT_GRID = np.arange(21.0) / 20.0


def ones_column_instead_of_intercept():
    """Degree 10 on [0, 1] with the ones column in X, solved with fit_intercept=False."""
    X, y = polynomial(10, UNIT_GRID, residual=1 / 64)
    return np.column_stack([np.ones(len(y)), X]), y

ACCURACY_PROBLEMS = {
    "poly8 x=0..20": (lambda: polynomial(8, INTEGERS_0_20, residual=1e3), True, 1e8),
    "poly9 x=0..20": (lambda: polynomial(9, INTEGERS_0_20, residual=1e3), True, 1e8),
    "poly10 x=0..20": (lambda: polynomial(10, INTEGERS_0_20, residual=1e3), True, 1e8),
    "poly8 x=0..1": (lambda: polynomial(8, UNIT_GRID, residual=1 / 64), True, 1e8),
    "poly9 x=0..1": (lambda: polynomial(9, UNIT_GRID, residual=1 / 64), True, 1e8),
    "poly10 x=0..1": (lambda: polynomial(10, UNIT_GRID, residual=1 / 64), True, 1e8),
    "poly10 ones column, no intercept": (ones_column_instead_of_intercept, False, 1e8),
    "longley-like": (longley_like, True, 1e8),
    "poly10 large residual": (large_residual, True, 1e8),
    "offset 1e12": (far_offset, True, math.inf),
    "poly14 x=0..1": (lambda: polynomial(14, np.arange(31.0) / 30, residual=1 / 64), True, 1e11),
}


@pytest.mark.parametrize("name", list(ACCURACY_PROBLEMS))
def test_matches_exact_rational_solution(name):
    build, fit_intercept, kappa_bound = ACCURACY_PROBLEMS[name]
    X, y = build()
    if math.isfinite(kappa_bound):
        assert scaled_condition(X, fit_intercept=fit_intercept) < kappa_bound  # the problem class claimed
    exact = exact_least_squares(X, y, fit_intercept=fit_intercept)
    digits = correct_digits(solved(X, y, fit_intercept=fit_intercept), exact)
    assert digits >= REQUIRED_DIGITS, f"{name}: {digits:.2f} correct digits"


def test_large_residual_problem_is_really_large_residual():
    """Guard for the table: the fit leaves most of y unexplained, where x-only refinement fails."""
    X, y = large_residual()
    coef, intercept = solve_exact(X, y, fit_intercept=True)
    residual = y - X @ coef - intercept
    assert np.linalg.norm(residual) > 0.5 * np.linalg.norm(y - y.mean())


def test_offset_problem_needs_centring():
    """Guard for the table: the uncentred scaled design is far worse conditioned than 1e8 and the
    centred one is benign, so full accuracy there shows the offset costs nothing."""
    X, y = far_offset()
    assert scaled_condition(X, fit_intercept=True) > 1e11
    centred = X - X.mean(axis=0)
    assert np.linalg.cond(centred / np.abs(centred).max(axis=0)) < 1e3


# ----------------------------------------------------------------------------------------------
# The extended-precision residuals, checked directly
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "d"),
    [(2 * ROW_BLOCK + 37, 3), (3, COLUMN_BLOCK + 50)],
    ids=["several row blocks", "several column blocks"],
)
def test_residuals_are_accurate_to_double_double(n, d):
    """f = y − r − b − A w and g = −Aᵀ r, with r nearly the true residual so that both cancel
    massively: the error must be ≈ u·|exact| + O(u²)·Σ|terms|, far below u·Σ|terms|."""
    rng = np.random.default_rng(7)
    A = rng.uniform(-1.0, 1.0, (n, d)) * 2.0 ** rng.integers(-30, 1, d)  # in [-1, 1] per column
    A[:, 0] = rng.uniform(-1.0, 1.0, n)
    w = rng.standard_normal(d) * 1e3
    b = 0.3
    y = A @ w + b + 1e-9 * rng.standard_normal(n)
    y /= 2.0 ** math.frexp(np.abs(y).max())[1]  # the solver hands over y scaled into [-1, 1)
    r = y - A @ w - b  # nearly the exact residual: f and g cancel
    exponents = np.zeros(d, dtype=np.int64)
    f, g_b, g_w = _Residuals(A, np.arange(d), exponents, y)(b, w, r)

    Af = [[Fraction(v) for v in row] for row in A.tolist()]
    wf, rf = [Fraction(v) for v in w.tolist()], [Fraction(v) for v in r.tolist()]
    for i in range(0, n, max(1, n // 40)):  # a sample of rows keeps the rational work small
        terms = [Af[i][j] * wf[j] for j in range(d)]
        exact = Fraction(float(y[i])) - rf[i] - Fraction(b) - sum(terms)
        size = abs(Fraction(float(y[i]))) + abs(rf[i]) + Fraction(b) + sum(abs(t) for t in terms)
        assert abs(Fraction(float(f[i])) - exact) <= EPS * abs(exact) + 64 * EPS**2 * size
    for j in range(0, d, max(1, d // 40)):
        column = [Af[i][j] * rf[i] for i in range(n)]
        exact = -sum(column)
        size = sum(abs(t) for t in column)
        assert abs(Fraction(float(g_w[j])) - exact) <= EPS * abs(exact) + 64 * EPS**2 * size
    exact_sum = -sum(rf)
    assert abs(Fraction(g_b) - exact_sum) <= EPS * abs(exact_sum) + 64 * EPS**2 * sum(abs(v) for v in rf)


# ----------------------------------------------------------------------------------------------
# Rank-deficient designs: the minimum-norm solution of the centred problem, like scikit-learn
# ----------------------------------------------------------------------------------------------


def base_problem(n=40, d=3, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.array([1.0, 10.0, 0.1])[:d]
    y = X @ np.array([1.5, -0.25, 4.0])[:d] + 2.0 + 0.1 * rng.standard_normal(n)
    return X, y


def pinv_reference(X, y, *, fit_intercept):
    """Minimum-norm solution by the SVD pseudo-inverse, of the centred problem if intercept."""
    if not fit_intercept:
        return np.linalg.pinv(X) @ y, 0.0
    x_mean, y_mean = X.mean(axis=0), y.mean()
    coef = np.linalg.pinv(X - x_mean) @ (y - y_mean)
    return coef, y_mean - x_mean @ coef


def minimum_norm_error(X, *, fit_intercept) -> float:
    """Bound on the normwise error of solve_exact's minimum-norm answer, relative to its norm: ``p·u·κ``.

    The basic solution is refined to about an ulp; the move to the least norm, ``z − N c``, then
    carries the error of the null-space basis ``N`` from the SVD, about ``u·κ`` per parameter for
    ``κ = σ₁/σ_r`` (the gap to the numerical null space, Wedin's theorem), times ``‖c‖ ≤ ‖coef‖``.
    κ is that of the centred design with columns scaled to unit maximum, as the solver sees it.
    Measured: 2.7u with OpenBLAS's Prescott and Haswell kernels, 0.1u with SkylakeX.
    """
    A = X - X.mean(axis=0) if fit_intercept else X
    singular = np.linalg.svd(A / np.abs(X).max(axis=0), compute_uv=False)
    n_params = X.shape[1] + int(fit_intercept)
    kept = singular[singular > singular[0] * n_params * EPS]
    return n_params * EPS * float(kept[0] / kept[-1])


def assert_matches_references(X, y, *, fit_intercept, rtol=1e-12):
    # scikit-learn (gelsd on the centred data) and pinv are backward stable, each about p·u·κ off
    # (κ ≤ 5 on the designs below: ≤ 1e-14), and ours p·u·κ: rtol=1e-12 is a generous normwise bound
    coef, intercept = solve_exact(X, y, fit_intercept=fit_intercept)
    sk = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    pinv_coef, pinv_intercept = pinv_reference(X, y, fit_intercept=fit_intercept)
    scale = np.linalg.norm(pinv_coef)
    np.testing.assert_allclose(coef, sk.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(coef, pinv_coef, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(intercept, sk.intercept_, rtol=0, atol=rtol * (abs(sk.intercept_) + scale))
    return coef, intercept


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_duplicate_column_splits_the_coefficient_equally(fit_intercept):
    X, y = base_problem()
    Xd = np.column_stack([X, X[:, 0]])
    coef, _ = assert_matches_references(Xd, y, fit_intercept=fit_intercept)
    full, _ = solve_exact(X, y, fit_intercept=fit_intercept)
    # normwise, not per component: the move to the least norm mixes the components' errors
    bound = minimum_norm_error(Xd, fit_intercept=fit_intercept) * np.linalg.norm(full)
    np.testing.assert_allclose(coef, [full[0] / 2, *full[1:], full[0] / 2], rtol=0, atol=bound)


def test_scaled_duplicate_shares_in_proportion_to_scale():
    """Columns x and 2x: the minimum of c₁² + c₂² with c₁ + 2c₂ fixed has c₂ = 2c₁."""
    X, y = base_problem()
    Xd = np.column_stack([X, 2.0 * X[:, 0]])
    coef, _ = assert_matches_references(Xd, y, fit_intercept=True)
    # |Δc₂ − 2Δc₁| ≤ √5·‖Δcoef‖, and ‖Δcoef‖ is bounded normwise (a component-relative 1e-14 failed
    # at 1.03e-14 with OpenBLAS's Haswell kernels, which AMD's Zen also uses; measured 7.1u·‖coef‖, bound 16u)
    bound = math.sqrt(5.0) * minimum_norm_error(Xd, fit_intercept=True) * np.linalg.norm(coef)
    assert abs(coef[3] - 2.0 * coef[0]) <= bound


def test_exact_linear_combination_is_rank_deficient():
    X, y = base_problem()
    assert_matches_references(np.column_stack([X, X[:, 0] + X[:, 1]]), y, fit_intercept=True)


def test_column_unit_sets_the_norm_of_the_minimum_norm_solution():
    """Duplicate columns with units (1, 2): minimise c₁² + (2c₂)² with c₁ + c₂ fixed, so c₁ = 4c₂."""
    X, y = base_problem()
    Xd = np.column_stack([X, X[:, 0]])
    coef, intercept = solve_exact(Xd, y, fit_intercept=True, column_unit=np.array([1.0, 1.0, 1.0, 2.0]))
    full, full_intercept = solve_exact(X, y, fit_intercept=True)
    # The units weigh the norm by at most 2, which at most doubles the bound on the move's error.
    bound = 2.0 * minimum_norm_error(Xd, fit_intercept=True) * np.linalg.norm(full)
    np.testing.assert_allclose(coef, [0.8 * full[0], *full[1:], 0.2 * full[0]], rtol=0, atol=bound)
    # Each intercept is refined for its coefficients: they differ by x̄·Δcoef, plus an ulp each.
    x_mean = np.abs(Xd.mean(axis=0))
    np.testing.assert_allclose(intercept, full_intercept, rtol=2 * EPS, atol=float(x_mean @ np.full(4, bound)))


def test_column_unit_does_not_change_a_unique_solution():
    X, y = base_problem()
    plain = solve_exact(X, y, fit_intercept=True)
    weighted = solve_exact(X, y, fit_intercept=True, column_unit=np.array([3.0, 1e-5, 7e4]))
    np.testing.assert_array_equal(plain[0], weighted[0])
    assert plain[1] == weighted[1]


@pytest.mark.parametrize("value", [0.1, 5.0, -3.7e12])
def test_constant_column_gets_exactly_zero_with_intercept(value):
    X, y = base_problem()
    Xc = np.column_stack([X[:, :2], np.full(len(y), value), X[:, 2]])
    coef, intercept = assert_matches_references(Xc, y, fit_intercept=True)
    assert coef[2] == 0.0
    without, without_intercept = solve_exact(X, y, fit_intercept=True)
    np.testing.assert_array_equal(coef[[0, 1, 3]], without)
    assert intercept == without_intercept


def test_constant_column_is_an_ordinary_column_without_intercept():
    X, y = base_problem()
    Xc = np.column_stack([X, np.full(len(y), 0.1)])
    coef, _ = solve_exact(Xc, y, fit_intercept=False)
    exact = exact_least_squares(Xc, y, fit_intercept=False)
    assert correct_digits(coef, exact) >= REQUIRED_DIGITS


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_zero_column_gets_exactly_zero(fit_intercept):
    X, y = base_problem()
    Xz = np.column_stack([np.zeros(len(y)), X])
    coef, intercept = assert_matches_references(Xz, y, fit_intercept=fit_intercept)
    assert coef[0] == 0.0
    without, without_intercept = solve_exact(X, y, fit_intercept=fit_intercept)
    np.testing.assert_array_equal(coef[1:], without)
    assert intercept == without_intercept


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_more_columns_than_rows_interpolates_with_minimum_norm(fit_intercept):
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((5, 12)), rng.standard_normal(5)
    coef, intercept = assert_matches_references(X, y, fit_intercept=fit_intercept)
    # An interpolant: each residual is the minimum-norm move's error through X, p·u·κ·‖X‖‖coef‖,
    # plus the rounding of the d + 2 terms summed here: 1.6e-14 (measured 5.5e-16; was 1e-13).
    centred = X - X.mean(axis=0) if fit_intercept else X
    terms = np.abs(X) @ np.abs(coef) + abs(intercept) + np.abs(y)
    bound = minimum_norm_error(X, fit_intercept=fit_intercept) * np.linalg.norm(centred, 2) * np.linalg.norm(coef)
    np.testing.assert_allclose(X @ coef + intercept, y, rtol=0, atol=bound + (X.shape[1] + 2) * EPS * terms.max())


def test_all_columns_constant_leaves_the_exact_mean():
    y = np.array([0.1, 0.7, 1e-3, 3.3, -2.2, 0.6, 0.25])
    coef, intercept = solve_exact(np.full((7, 3), 4.5), y, fit_intercept=True)
    np.testing.assert_array_equal(coef, np.zeros(3))
    assert intercept == float(sum(Fraction(v) for v in y.tolist()) / 7)  # correctly rounded mean


def test_one_sample():
    X, y = np.array([[2.0, -1.0, 0.5]]), np.array([3.0])
    coef, intercept = solve_exact(X, y, fit_intercept=True)
    np.testing.assert_array_equal(coef, np.zeros(3))
    assert intercept == 3.0
    coef, intercept = solve_exact(X, y, fit_intercept=False)
    # x·y/‖x‖²: ours within an ulp; pinv's SVD of one row (a reflector over d entries) and its two
    # products put it within about 2·(d + 1)·u·‖coef‖ normwise (measured 2.6u on a component).
    np.testing.assert_allclose(coef, np.linalg.pinv(X) @ y, rtol=0, atol=2 * 4 * EPS * np.linalg.norm(coef))
    assert intercept == 0.0
    coef, intercept = solve_exact(np.array([[4.0]]), np.array([3.0]), fit_intercept=False)
    assert coef.tolist() == [0.75] and intercept == 0.0


def test_zero_target_gives_zero():
    X, _ = base_problem()
    coef, intercept = solve_exact(X, np.zeros(len(X)), fit_intercept=True)
    np.testing.assert_array_equal(coef, np.zeros(3))
    assert intercept == 0.0


# ----------------------------------------------------------------------------------------------
# Extreme scales
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("power", [665, -665, 1000, -1000])
def test_power_of_two_scaling_is_exact(power):
    """Scaling a column by 2^k is exact, and so is the answer: coef scales by 2^-k, bit for bit."""
    X, y = base_problem()
    coef, intercept = solve_exact(X, y, fit_intercept=True)
    factor = np.ldexp(1.0, power)
    Xs = X.copy()
    Xs[:, 1] *= factor
    coef_s, intercept_s = solve_exact(Xs, y, fit_intercept=True)
    assert coef_s[1] == np.ldexp(coef[1], -power)
    assert coef_s[[0, 2]].tolist() == coef[[0, 2]].tolist() and intercept_s == intercept


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_decimal_extreme_scales_keep_full_accuracy(factor):
    """×1e200 / ×1e-200 (not powers of two, so the data change by rounding): the answer still has
    all its digits against the exact solution of the scaled data, and the coefficients are the
    unscaled ones divided by the factor up to the conditioning of that rounding (κ·u ≈ 1e-15)."""
    X, y = base_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # not even an underflow may happen unhandled
            Xs = X * factor
        coef_s, intercept_s = solve_exact(Xs, y, fit_intercept=True)
    exact = exact_least_squares(Xs, y, fit_intercept=True)
    assert correct_digits([intercept_s, *coef_s], exact) >= REQUIRED_DIGITS
    coef, intercept = solve_exact(X, y, fit_intercept=True)
    np.testing.assert_allclose(coef_s * factor, coef, rtol=1e-13)
    np.testing.assert_allclose(intercept_s, intercept, rtol=1e-13)


def test_columns_at_both_extremes_in_one_design():
    X, y = base_problem()
    Xs = X * np.array([1e200, 1.0, 1e-200])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate = solved(Xs, y * 1e100)  # coefficients near 1e-100, 1e100 and 4e300
    assert correct_digits(estimate, exact_least_squares(Xs, y * 1e100, fit_intercept=True)) >= REQUIRED_DIGITS


def test_unrepresentable_coefficients_raise_a_typed_error():
    X, y = base_problem()
    with pytest.raises(DataError, match="too large"):
        solve_exact(X * 1e-300, y * 1e300, fit_intercept=True)


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------


#: The property tests keep to designs at least this well conditioned (the identity block below
#: makes that the rule; an intercept on a design whose rows all repeat is the exception).
MAX_PROPERTY_CONDITION = 1e6


@st.composite
def well_conditioned_problems(draw):
    """A block ``10·I`` on top of arbitrary bounded rows keeps the design well conditioned,
    with columns scaled by powers of two from 2**-300 to 2**300."""
    d = draw(st.integers(1, 4))
    extra = draw(st.integers(1, 20))
    # Entries are 0 or at least 2**-20 in size: after the column scaling below they stay normal
    # numbers (solve_exact documents that bits below 2**-1022 of a column's maximum are lost).
    magnitude = st.floats(2.0**-20, 10.0)
    entries = st.just(0.0) | magnitude | magnitude.map(lambda v: -v)
    B = draw(arrays(np.float64, (extra, d), elements=entries))
    X = np.vstack([10.0 * np.eye(d), B])
    y = draw(arrays(np.float64, (d + extra,), elements=st.floats(-1e3, 1e3, allow_nan=False)))
    exponents = draw(arrays(np.int64, (d,), elements=st.integers(-300, 300)))
    return np.ldexp(X, exponents), y, draw(st.booleans())


@settings(max_examples=75, deadline=None)
@given(well_conditioned_problems())
def test_agrees_with_lstsq_on_the_augmented_design(problem):
    X, y, fit_intercept = problem
    assume(scaled_condition(X, fit_intercept=fit_intercept) < MAX_PROPERTY_CONDITION)
    A = np.column_stack([np.ones(len(y)), X]) if fit_intercept else X
    scale = np.abs(A).max(axis=0)
    reference = np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale  # lstsq needs the scaling too
    estimate = np.array(solved(X, y, fit_intercept=fit_intercept))
    # Compared in the scaled coordinates, where a 1e-10 normwise tolerance is meaningful (relative
    # to |y| too: an exact solution of 0 is only approximated by lstsq).
    size = np.abs(reference * scale).max() + np.abs(y).max()
    np.testing.assert_allclose(estimate * scale, reference * scale, rtol=0, atol=1e-10 * size)


@settings(max_examples=40, deadline=None)
@given(well_conditioned_problems())
def test_is_correctly_rounded_or_nearly_on_well_conditioned_problems(problem):
    X, y, fit_intercept = problem
    assume(scaled_condition(X, fit_intercept=fit_intercept) < MAX_PROPERTY_CONDITION)
    exact = exact_least_squares(X, y, fit_intercept=fit_intercept)
    estimate = solved(X, y, fit_intercept=fit_intercept)
    # In the scaled coordinates (component times its column's largest magnitude) every component
    # is within 4 ulps, or, if it is (nearly) zero, within 4·eps² of the largest component; a
    # subnormal answer can only be as close as the subnormal spacing.
    A = np.column_stack([np.ones(len(y)), X]) if fit_intercept else X
    scale = [Fraction(float(v)) for v in np.abs(A).max(axis=0)]
    largest = max(abs(x) * s for x, s in zip(exact, scale))
    for e, x, s in zip(estimate, exact, scale):
        error = abs(Fraction(e) - x)
        assert error * s <= 4 * EPS * max(abs(x) * s, EPS * largest) or error <= SUBNORMAL_SPACING


def test_does_not_modify_its_inputs_and_ignores_memory_layout():
    X, y = longley_like()
    X0, y0 = X.copy(), y.copy()
    expected = solved(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert solved(np.asfortranarray(X), y) == expected
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    assert solved(wide[:, ::2], y) == expected  # strided view


def test_rejects_bad_column_unit():
    X, y = base_problem()
    with pytest.raises(ValueError, match="column_unit"):
        solve_exact(X, y, fit_intercept=True, column_unit=np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="column_unit"):
        solve_exact(X, y, fit_intercept=True, column_unit=np.ones(2))


# ----------------------------------------------------------------------------------------------
# Size: the implementation must be vectorised
# ----------------------------------------------------------------------------------------------


def test_large_problem_matches_lstsq():
    """200,000 × 20 runs through every vectorised path (many row blocks); no timing asserted."""
    rng = np.random.default_rng(2024)
    n, d = 200_000, 20
    X = rng.standard_normal((n, d)) * np.logspace(-3, 3, d) + np.linspace(0.0, 50.0, d)
    y = X @ rng.standard_normal(d) + 7.0 + rng.standard_normal(n)
    coef, intercept = solve_exact(X, y, fit_intercept=True)
    A = np.column_stack([np.ones(n), X])
    scale = np.abs(A).max(axis=0)
    reference = np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale
    np.testing.assert_allclose(np.r_[intercept, coef] * scale, reference * scale, rtol=0,
                               atol=1e-11 * np.linalg.norm(reference * scale))
