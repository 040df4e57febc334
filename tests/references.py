"""References the tests share and gradfit does not: exact rational least squares, real data sets, and the
stochastic solvers' updates written by the book, one row at a time."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def _integer_columns(A: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """Each column of float64 ``A`` as Python integers times a common power of two: ``A[:, j] =
    ints[j] · 2**exponents[j]`` exactly (a float is a 53-bit integer times a power of two)."""
    columns, exponents = [], []
    for column in A.T:
        mantissa, exponent = np.frexp(column)  # column = mantissa · 2**exponent, |mantissa| in [0.5, 1)
        integers = (mantissa * 2.0**53).astype(np.int64)  # exact: 53 bits
        shifted = exponent.astype(np.int64) - 53
        lowest = int(shifted.min()) if len(shifted) else 0
        columns.append([int(m) << int(e - lowest) for m, e in zip(integers, shifted)])
        exponents.append(lowest)
    return columns, exponents


def exact_least_squares(X, y, *, fit_intercept: bool, sample_weight=None, alpha: float = 0.0) -> list[Fraction]:
    """The unique least-squares solution of the float data, in exact rational arithmetic.

    Every float64 is an integer times a power of two, so with each column (and the weights) scaled
    to integers the normal equations ``(AᵀWA/ΣW + α·I_coef) x = AᵀWy/ΣW`` have coefficients formed
    exactly in Python integers (cheap: no fractions until the p × p solve), solved by Gaussian
    elimination over ``Fraction``. ``alpha`` is a ridge on the coefficients (never the intercept), in
    the estimator's convention (``Σ w r²/2ΣW + α/2·‖coef‖²``). Returns ``[intercept, coef_1, ...,
    coef_d]`` when ``fit_intercept``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.hstack([np.ones((len(y), 1)), X]) if fit_intercept else X
    columns, exponents = _integer_columns(np.hstack([A, y[:, None]]))
    p = A.shape[1]
    if sample_weight is None:
        weights, weight_exponent = [1] * len(y), 0
    else:
        (weights,), (weight_exponent,) = _integer_columns(np.asarray(sample_weight, dtype=np.float64)[:, None])
    total = Fraction(sum(weights)) * Fraction(2) ** weight_exponent

    def gram(i: int, j: int) -> Fraction:
        products = sum(a * b * c for a, b, c in zip(columns[i], columns[j], weights))
        return Fraction(products) * Fraction(2) ** (exponents[i] + exponents[j] + weight_exponent) / total

    system = [[gram(i, j) for j in range(p + 1)] for i in range(p)]
    if alpha:
        for i in range(int(fit_intercept), p):
            system[i][i] += Fraction(float(alpha))
    for col in range(p):
        pivot = next(i for i in range(col, p) if system[i][col] != 0)  # StopIteration: singular
        system[col], system[pivot] = system[pivot], system[col]
        for i in range(col + 1, p):
            factor = system[i][col] / system[col][col]
            if factor:
                system[i] = [a - factor * b for a, b in zip(system[i], system[col])]
    solution = [Fraction(0)] * p
    for i in reversed(range(p)):
        tail = sum((system[i][j] * solution[j] for j in range(i + 1, p)), Fraction(0))
        solution[i] = (system[i][p] - tail) / system[i][i]
    return solution


def correct_digits(estimate, exact) -> float:
    """``-log10`` of the largest componentwise relative error (``inf`` when exact)."""
    worst = worst_relative_error(estimate, exact)
    return math.inf if worst == 0 else -math.log10(worst)


def worst_relative_error(estimate, exact) -> float:
    """The largest ``|estimate_j − exact_j| / |exact_j|`` over the components (exact zeros skipped)."""
    return float(max(abs(Fraction(float(e)) - x) / abs(x) for e, x in zip(estimate, exact) if x != 0))


def real_data_sets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Regression problems from the data sets shipped inside scikit-learn and statsmodels (no download):
    name → (X, y), float64. Where a set has no regression target, one numeric column is predicted
    from the others."""
    import statsmodels.api as sm
    from sklearn import datasets as sk

    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    diabetes = sk.load_diabetes()
    sets["diabetes"] = (diabetes.data, diabetes.target)
    raw = sk.load_diabetes(scaled=False)
    sets["diabetes (unscaled)"] = (raw.data, raw.target)
    linnerud = sk.load_linnerud()
    sets["linnerud (weight)"] = (linnerud.data, linnerud.target[:, 0])
    iris = sk.load_iris()
    sets["iris (petal width)"] = (iris.data[:, :3], iris.data[:, 3])
    wine = sk.load_wine()
    sets["wine (proline)"] = (np.delete(wine.data, 12, axis=1), wine.data[:, 12])
    cancer = sk.load_breast_cancer()
    sets["breast cancer (mean area)"] = (np.delete(cancer.data, 3, axis=1), cancer.data[:, 3])
    statsmodels_sets = {
        "longley": sm.datasets.longley, "stackloss": sm.datasets.stackloss, "star98": sm.datasets.star98,
        "ccard": sm.datasets.ccard, "statecrime": sm.datasets.statecrime, "fair": sm.datasets.fair,
        "scotland": sm.datasets.scotland, "cpunish": sm.datasets.cpunish, "copper": sm.datasets.copper,
    }
    for name, module in statsmodels_sets.items():
        data = module.load_pandas()
        endog = data.endog.to_numpy(dtype=float)
        sets[name] = (data.exog.to_numpy(dtype=float), endog[:, 0] if endog.ndim == 2 else endog)
    macro = sm.datasets.macrodata.load_pandas().data.astype(float)
    for target in ("realgdp", "realinv"):
        sets[f"macrodata ({target})"] = (macro.drop(columns=[target]).to_numpy(), macro[target].to_numpy())
    grunfeld = sm.datasets.grunfeld.load_pandas().data
    sets["grunfeld"] = (grunfeld[["value", "capital"]].to_numpy(dtype=float), grunfeld["invest"].to_numpy(dtype=float))
    engel = sm.datasets.engel.load_pandas().data
    sets["engel"] = (engel[["income"]].to_numpy(dtype=float), engel["foodexp"].to_numpy(dtype=float))
    return sets


def polynomial_design(degree: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """``x, x², ..., x^degree`` at ``points`` points of [7, 13] (far from 0, so the powers are nearly
    collinear: κ(G) ≈ 1e13 at degree 6), with a smooth target plus a small wiggle (residuals)."""
    x = np.linspace(-1.0, 1.0, points)
    X = np.vander(3.0 * x + 10.0, degree + 1, increasing=True)[:, 1:]
    return X, np.sin(3.0 * x) + 0.01 * np.cos(37.0 * x)


def assert_same_predictions(actual, expected, X, coef, intercept) -> None:
    """Two evaluations of ``X·coef + intercept`` that may sum in different orders (BLAS kernels,
    block sizes, memory layouts, sparse or dense products, with or without FMA): each row is a
    sum of ``d + 1`` terms, within ``(d + 1)·u·(Σ|x_j coef_j| + |intercept|)`` of the exact value
    (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1), so two of them are twice
    that apart at most. A relative bound would fail where a prediction nearly cancels to 0, and
    any lossy step (text printed to fewer digits, a float32 on the way) is still caught."""
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    coef = np.asarray(coef, dtype=np.float64)
    size = np.abs(X) @ np.abs(coef) + abs(float(intercept))
    bound = 2 * (X.shape[1] + 1) * np.finfo(np.float64).eps * size
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    error = np.abs(actual - expected)
    worst = int(np.argmax(error - bound))
    assert np.all(error <= bound), (
        f"row {worst}: {actual[worst]!r} and {expected[worst]!r} differ by {error[worst]:.3g} > {bound[worst]:.3g}"
    )


def correlation_condition(X) -> float:
    """κ(G) of the correlation matrix G of X's columns, the matrix the solvers work with after
    standardizing, over the eigenvalues above ``p·u·λ_max`` (the rest are rounding noise, as the
    exact solver from statistics treats them); 1 where none is kept."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    spread = np.linalg.norm(centred, axis=0)
    standardized = centred / np.where(spread > 0, spread, 1.0)
    eigenvalues = np.linalg.eigvalsh(standardized.T @ standardized)
    kept = eigenvalues[eigenvalues > eigenvalues[-1] * (X.shape[1] + 1) * np.finfo(np.float64).eps]
    return float(kept[-1] / kept[0]) if kept.size else 1.0


def assert_same_fit_standardized(model, reference, X, y, *, rtol: float) -> None:
    """Coefficients within ``rtol`` normwise in the standardized coordinates θ_j = coef_j·sd(x_j)/sd(y),
    where the solvers' errors are bounded (κ(G)·u for statistics' rounding, κ(G)·tol for an iterative
    solver): a coefficient that is tiny there (a column of small spread, or one that explains little)
    carries an error relative to ‖θ‖, not to itself. The intercept, ȳ − x̄·coef, then moves by x̄·Δcoef
    plus the rounding of the means (m·u of their terms)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    spread_x, spread_y = X.std(axis=0), float(y.std())
    theta, theta_ref = model.coef_ * spread_x / spread_y, reference.coef_ * spread_x / spread_y
    size = float(np.linalg.norm(theta_ref))
    error = float(np.linalg.norm(theta - theta_ref))
    assert error <= rtol * size, f"standardized coefficients {error / size:.3g} apart (normwise), bound {rtol:.3g}"
    x_mean = X.mean(axis=0)
    intercept_bound = (rtol * size * spread_y * float(np.linalg.norm(x_mean / spread_x))
                       + len(y) * eps * (abs(float(y.mean())) + float(np.abs(x_mean) @ np.abs(reference.coef_))))
    assert abs(model.intercept_ - reference.intercept_) <= intercept_bound


def assert_same_statistics(stats, reference, X, y, *, fields=("x_mean", "y_mean", "xx", "xy", "yy")) -> None:
    """Statistics of the same m rows gathered in other chunks, batches and orders (unweighted).

    Every entry of ``xx``, ``xy`` and ``yy`` is a sum of m products of centred values, chunk merges
    included, so within m·u·√(xx_ii·xx_jj) of exact (Cauchy–Schwarz bounds Σ|a_k b_k| by it), and
    two gatherings are 2m·u·√(·) apart at most. A mean is the first row (the shared origin) plus
    the mean of the rows' offsets from it: within u·|mean| + m·u·mean|x − x₀|, twice that between
    two. (The worst case; gathered with pairwise merges the errors measure ~√m·u.)
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    m = len(y)
    rounding = 2 * m * np.finfo(np.float64).eps
    spread_x, spread_y = np.sqrt(np.diag(reference.xx)), np.sqrt(reference.yy)
    bounds = {
        "x_mean": rounding * (np.abs(reference.x_mean) / m + np.abs(X - X[0]).mean(axis=0) / reference.x_scale),
        "y_mean": rounding * (abs(reference.y_mean) / m + np.abs(y - y[0]).mean() / reference.y_scale),
        "xx": rounding * np.outer(spread_x, spread_x),
        "xy": rounding * spread_x * spread_y,
        "yy": rounding * reference.yy,
    }
    for name in fields:
        error = np.abs(np.asarray(getattr(stats, name)) - np.asarray(getattr(reference, name)))
        assert np.all(error <= bounds[name]), f"{name}: {np.max(error / np.maximum(bounds[name], 1e-300)):.3g} of the bound"


# --- the stochastic solvers' updates, by the book -------------------------------------------------------


def row_gradient(frame, rows_X, rows_y, theta, weight=None, weight_scale: float = 1.0) -> np.ndarray:
    """``Σ_i w_i z_i (z_iᵀθ − t_i)`` over some rows, one at a time, in θ's coordinates:
    ``z = [1,] (x/x_scale − x_shift)/x_unit`` and ``t = (y/y_scale − y_shift)/y_unit`` (``frame``: a
    gradfit Frame); ``w_i = weight[i]·weight_scale`` (1 without weights). Dense rows."""
    grad = np.zeros_like(theta)
    for i in range(len(rows_y)):
        z = (rows_X[i] / frame.x_scale - frame.x_shift) / frame.x_unit
        z = np.concatenate([[1.0], z]) if frame.fit_intercept else z
        residual = z @ theta - (rows_y[i] / frame.y_scale - frame.y_shift) / frame.y_unit
        if weight is not None:
            residual *= weight[i] * weight_scale
        grad += z * residual
    return grad


def adam_update(theta, first, second, grad, step: float, t: int):
    """One Adam update with gradfit's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8), bias-corrected at update ``t``:
    ``(θ, first, second)``."""
    first = 0.9 * first + 0.1 * grad
    second = 0.999 * second + 0.001 * grad**2
    return theta - step * (first / (1 - 0.9**t)) / (np.sqrt(second / (1 - 0.999**t)) + 1e-8), first, second
