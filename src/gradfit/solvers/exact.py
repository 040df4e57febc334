"""Placeholder replaced by the exact solver (being written now)."""
import numpy as np


def solve_exact(X, y, *, fit_intercept, column_unit=None):
    if fit_intercept:
        xm, ym = X.mean(axis=0), y.mean()
        coef = np.linalg.lstsq(X - xm, y - ym, rcond=None)[0]
        return coef, float(ym - xm @ coef)
    return np.linalg.lstsq(X, y, rcond=None)[0], 0.0
