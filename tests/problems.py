"""Problems and files the tests share: one random regression problem, one CSV writer, Longley."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def random_problem(seed: int, n: int = 80, d: int = 3, *, scale: float | None = None, noise: float = 0.1):
    """A well-conditioned problem (X of shape (n, d), y): independent normal columns with offsets,
    each column's spread drawn from [0.5, 3] (or ``scale`` for all), an intercept and ``noise``."""
    rng = np.random.default_rng(seed)
    spread = rng.uniform(0.5, 3.0, size=d) if scale is None else scale
    X = rng.normal(size=(n, d)) * spread + rng.normal(size=d)
    y = X @ rng.normal(size=d) + rng.normal() + noise * rng.normal(size=n)
    return X, y


def write_csv(path: Path, header: list[str], rows: np.ndarray) -> Path:
    """A comma-separated file: ``header``, then ``rows`` with every float in its shortest repr (17
    significant digits at most, so it reads back bit for bit)."""
    lines = [",".join(header)] + [",".join(repr(float(value)) for value in row) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def longley() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Longley (1967), as statsmodels ships it: (X of shape (16, 6), TOTEMP, the column names)."""
    import statsmodels.api as sm

    data = sm.datasets.longley.load_pandas()
    return data.exog.to_numpy(dtype=float), data.endog.to_numpy(dtype=float), list(data.exog.columns)


def nearly_constant_columns() -> tuple[np.ndarray, np.ndarray]:
    """Two columns constant to 1e-10 of their size, without an intercept: κ(X) ≈ 2e9, so QR of the rows
    resolves them, but κ(G) ≈ 4e18 is past float64's statistics, whose rounding hides the difference
    between the two columns (vᵀb within its rounding). Found by the array-API path's hypothesis test."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4)) * 10.0 ** rng.uniform(-6, 6, size=4) + rng.normal(size=4) * 1e6
    return X, X @ rng.normal(size=4) + rng.normal() + rng.normal(size=8)
