"""One epoch of the stochastic solvers, compiled by numba: what :mod:`gradfit.solvers.stochastic` runs
on rows held as dense float64 arrays (:meth:`~gradfit.objective.LeastSquares.row_arrays`).

Imported only when a stochastic solver steps, so that ``import gradfit`` and the command line's start
do not load numba (tests/test_cli_startup.py). Each kernel walks the epoch's row order (drawn by numpy
in the solver, so the same seed gives the same order whatever runs it) batch by batch, and makes the
updates of :class:`~gradfit.solvers.stochastic.SGD`/``MiniBatch`` and ``Adam`` with the batch gradient
of :meth:`~gradfit.objective.LeastSquares.batch_gradient`: the same arithmetic, operation for
operation, except that the sums over a row and over a batch are taken one term at a time (BLAS may
pair them otherwise). Single-threaded and without fast-math, so a run is bit-for-bit repeatable.

The kernels are compiled on first use and cached (``cache=True``: next to this file, or where
``NUMBA_CACHE_DIR`` says), so only the first fit on a machine pays the compilation (about a second
or two per kernel); ``benchmarks/stochastic.py`` times it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["sgd_epoch", "adam_epoch"]


@numba.njit(cache=True, nogil=True)
def _batch_gradient(theta, order, start, stop, X, y, weight, weight_scale, x_scale, x_shift, x_unit,
                    y_scale, y_shift, y_unit, fit_intercept, ridge, z, grad):  # pragma: no cover - compiled
    """``grad ← Z_bᵀ(w_b ∘ (Z_bθ − t_b))·(m/W)/|b| + ridge ∘ θ`` over the rows ``order[start:stop]``,
    each mapped to θ's coordinates in ``z`` (scratch of shape (p,)); ``weight`` of length 0 when unweighted."""
    p = theta.shape[0]
    d = X.shape[1]
    offset = 1 if fit_intercept else 0
    if fit_intercept:
        z[0] = 1.0
    for j in range(p):
        grad[j] = 0.0
    weighted = weight.shape[0] > 0
    for position in range(start, stop):
        i = order[position]
        for j in range(d):
            z[offset + j] = (X[i, j] / x_scale[j] - x_shift[j]) / x_unit[j]
        residual = 0.0
        for j in range(p):
            residual += z[j] * theta[j]
        residual -= (y[i] / y_scale - y_shift) / y_unit
        if weighted:
            residual *= weight[i] * weight_scale
        for j in range(p):
            grad[j] += z[j] * residual
    count = stop - start
    for j in range(p):
        grad[j] = grad[j] / count + ridge[j] * theta[j]


@numba.njit(cache=True, nogil=True)
def sgd_epoch(theta, order, batch_size, step, X, y, weight, weight_scale, x_scale, x_shift, x_unit,
              y_scale, y_shift, y_unit, fit_intercept, ridge, l1):  # pragma: no cover - compiled
    """One epoch of (mini-batch) SGD from ``theta`` (left unchanged): for each batch of ``batch_size``
    rows of ``order``, ``θ ← prox_{ηh}(θ − η g)``, ``h`` the L1 part with weights ``l1`` (length 0:
    none, the prox is the identity) and ``η = step``. Returns the new θ."""
    theta = theta.copy()
    p = theta.shape[0]
    z = np.empty(p)
    grad = np.empty(p)
    has_l1 = l1.shape[0] > 0
    n = order.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        _batch_gradient(theta, order, start, stop, X, y, weight, weight_scale, x_scale, x_shift, x_unit,
                        y_scale, y_shift, y_unit, fit_intercept, ridge, z, grad)
        for j in range(p):
            moved = theta[j] - step * grad[j]
            if has_l1:  # soft thresholding, as L1Penalty.prox: sign(v)·max(|v| − η·l1, 0)
                moved = np.sign(moved) * max(abs(moved) - step * l1[j], 0.0)
            theta[j] = moved
    return theta


@numba.njit(cache=True, nogil=True)
def adam_epoch(theta, first, second, updates, order, batch_size, step, beta1, beta2, epsilon, X, y, weight,
               weight_scale, x_scale, x_shift, x_unit, y_scale, y_shift, y_unit, fit_intercept, ridge):  # pragma: no cover - compiled
    """One epoch of Adam from ``theta`` and the moments ``first``, ``second`` after ``updates`` updates
    (none of them changed): per batch, ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``θ ← θ − η m̂/(√v̂ + ε)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``, t the running count of updates.
    Returns ``(θ, m, v, updates)``."""
    theta = theta.copy()
    first = first.copy()
    second = second.copy()
    p = theta.shape[0]
    z = np.empty(p)
    grad = np.empty(p)
    n = order.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        _batch_gradient(theta, order, start, stop, X, y, weight, weight_scale, x_scale, x_shift, x_unit,
                        y_scale, y_shift, y_unit, fit_intercept, ridge, z, grad)
        updates += 1
        # β**t as Python's float power computes it (libm's pow), not by repeated products
        first_correction = 1 - beta1 ** float(updates)
        second_correction = 1 - beta2 ** float(updates)
        for j in range(p):
            first[j] = beta1 * first[j] + (1 - beta1) * grad[j]
            second[j] = beta2 * second[j] + (1 - beta2) * grad[j] * grad[j]
            theta[j] = theta[j] - step * (first[j] / first_correction) / (math.sqrt(second[j] / second_correction) + epsilon)
    return theta, first, second, updates
