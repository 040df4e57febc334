"""References the tests share and gradfit does not: exact rational least squares, and real data sets."""

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


def exact_least_squares(X, y, *, fit_intercept: bool) -> list[Fraction]:
    """The unique least-squares solution of the float data, in exact rational arithmetic.

    Every float64 is an integer times a power of two, so with each column scaled to integers the
    normal equations ``(AᵀA) x = Aᵀy`` have integer coefficients, formed exactly in Python integers
    (cheap: no fractions until the p × p solve). They are solved by Gaussian elimination over
    ``Fraction``. Returns ``[intercept, coef_1, ..., coef_d]`` when ``fit_intercept``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.hstack([np.ones((len(y), 1)), X]) if fit_intercept else X
    columns, exponents = _integer_columns(np.hstack([A, y[:, None]]))
    p = A.shape[1]
    # Σ_j G_ij 2^(e_i + e_j) x_j = G_iy 2^(e_i + e_y): with z_j = x_j 2^(e_j − e_y), Σ_j G_ij z_j = G_iy.
    system = [
        [Fraction(sum(a * b for a, b in zip(columns[i], columns[j]))) for j in range(p + 1)]
        for i in range(p)
    ]
    for col in range(p):
        pivot = next(i for i in range(col, p) if system[i][col] != 0)  # StopIteration: singular
        system[col], system[pivot] = system[pivot], system[col]
        for i in range(col + 1, p):
            factor = system[i][col] / system[col][col]
            if factor:
                system[i] = [a - factor * b for a, b in zip(system[i], system[col])]
    z = [Fraction(0)] * p
    for i in reversed(range(p)):
        tail = sum((system[i][j] * z[j] for j in range(i + 1, p)), Fraction(0))
        z[i] = (system[i][p] - tail) / system[i][i]
    return [value * Fraction(2) ** (exponents[p] - exponents[j]) for j, value in enumerate(z)]


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
