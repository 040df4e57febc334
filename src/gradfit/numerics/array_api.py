"""The direct solver's residual sums for rows that live on a device (a GPU's memory, a PyTorch or
CuPy array, any array of the array API standard), computed there to about ``u²``.

The same method as :mod:`gradfit.numerics.residuals`, the same exact slices and the same error-free
transformations, written in whole-array operations of the array API instead of numpy's in-place
loops over cache-sized blocks: a chunk of rows is brought into ``[-1, 1)`` by its columns' powers of
two, split into 21-bit slices, the residual formed in double-double from exact slice products
(``matmul`` over at most :data:`~gradfit.numerics.residuals.COLUMN_BLOCK` columns), and the
gradient's products taken over blocks of :data:`~gradfit.numerics.extended.ROW_BLOCK` rows as one
batched ``matmul`` (exact, whatever order the device sums in, FMA or not), the blocks then summed by
a TwoSum tree on the device. Only d-sized results cross to the host.

Exactness needs IEEE float64 arithmetic on the device, operation by operation: PyTorch and CuPy
run each operation as its own kernel (no contraction across them), and float64 products are never
taken in TF32.
"""

from __future__ import annotations

import numpy as np

from gradfit.numerics.extended import (
    _EXACT_SLICES,
    _EXTRACTORS,
    ROW_BLOCK,
    _exponent,
    _PowerOfTwo,
    _split_vector,
    _sum_pair,
    _times_power_of_two,
    _two_product,
    _two_sum,
)
from gradfit.numerics.residuals import COLUMN_BLOCK, ResidualSums, _Residuals

__all__ = ["residual_sums_on_device", "to_host"]


def to_host(value) -> np.ndarray:
    """A small device array (d-sized, d × d, or 0-d) as a float64 numpy array: what crosses to the host.

    Through DLPack where the array is in host memory; a CUDA array is copied to the host first."""
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value, dtype=np.float64)
    if hasattr(value, "get") and type(value).__module__.startswith("cupy"):
        return np.asarray(value.get(), dtype=np.float64)
    if hasattr(value, "cpu") and type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy().astype(np.float64, copy=False)
    return np.asarray(np.from_dlpack(value), dtype=np.float64)


def _scaled(xp, values, exponents: np.ndarray, like):
    """``values · 2**-exponents`` (exponents broadcast along the last axis), exact: by one power of two,
    or by two where one would leave float64's normal range (columns near 2**±1023)."""
    device = like.device
    if exponents.size == 0 or (np.max(np.abs(exponents)) < _NORMAL_EXPONENT):
        return values * xp.asarray(np.exp2(-exponents.astype(np.float64)), dtype=xp.float64, device=device)
    half = -exponents // 2
    first, second = np.exp2(half.astype(np.float64)), np.exp2((-exponents - half).astype(np.float64))
    return (values * xp.asarray(first, dtype=xp.float64, device=device)) * xp.asarray(second, dtype=xp.float64, device=device)


#: Powers of two ``2**e`` with ``|e|`` below this are normal floats.
_NORMAL_EXPONENT = 1000


def _slices(values) -> list:
    """``values`` (all in ``[-1, 1]``) split into exact parts as :func:`gradfit.numerics.extended._split`
    does: three on grids of ``2**-21k``, the remainder last (four new arrays of values' shape)."""
    parts, rest = [], values
    for sigma in _EXTRACTORS:
        part = (rest + sigma) - sigma
        rest = rest - part
        parts.append(part)
    parts.append(rest)
    return parts


def _next_power_of_two(xp, values):
    """The smallest power of two at or above each ``|value|`` (1 for zeros), exactly, in IEEE arithmetic
    (Rump's NextPowerTwo: ``|(q + v) − q|`` with ``q = v/u``): no frexp, which the standard lacks."""
    q = values * 2.0**53
    power = xp.abs((q + values) - q)
    power = xp.where(power == 0, xp.abs(values), power)
    return xp.where(power == 0, xp.ones_like(power), power)


def _block_powers_of_two(xp, values):
    """For each entry of a vector, the power of two at or above the largest ``|value|`` of its block of
    :data:`ROW_BLOCK` entries (the last block may be shorter): a vector of the same length."""
    k = values.shape[0]
    whole = k // ROW_BLOCK
    parts = []
    if whole:
        blocks = xp.reshape(values[: whole * ROW_BLOCK], (whole, ROW_BLOCK))
        top = _next_power_of_two(xp, xp.max(xp.abs(blocks), axis=1))
        parts.append(xp.reshape(xp.broadcast_to(xp.reshape(top, (whole, 1)), (whole, ROW_BLOCK)), (-1,)))
    if k > whole * ROW_BLOCK:
        rest = values[whole * ROW_BLOCK:]
        top = _next_power_of_two(xp, xp.max(xp.abs(rest), keepdims=True))
        parts.append(xp.broadcast_to(top, rest.shape))
    return xp.concat(parts) if len(parts) > 1 else parts[0]


def _magnitude(xp, v) -> int:
    """``e`` with ``max |v| < 2**e`` (0 for zeros), read to the host as one number."""
    return int(np.frexp(float(to_host(xp.max(xp.abs(v)))) if v.shape[0] else 0.0)[1])


def _block_products(xp, a_slices: list, f_slices: list, rows: int):
    """``a_kᵀ f_l`` over each block of :data:`ROW_BLOCK` rows (exact), as an array (blocks, 4, d, 4); the
    rows past the last whole block make one more (shorter) block. No copy of the slices is made."""
    d = a_slices[0].shape[1]
    whole = rows // ROW_BLOCK
    f_whole = xp.stack([xp.reshape(f[: whole * ROW_BLOCK], (whole, ROW_BLOCK)) for f in f_slices], axis=2)  # (B, R, 4)
    parts = []
    if whole:
        parts.append(xp.stack([
            xp.matmul(xp.permute_dims(xp.reshape(a[: whole * ROW_BLOCK, :], (whole, ROW_BLOCK, d)), (0, 2, 1)), f_whole)
            for a in a_slices], axis=1))
    if rows > whole * ROW_BLOCK:
        f_rest = xp.stack([f[whole * ROW_BLOCK:] for f in f_slices], axis=1)  # (r, 4)
        parts.append(xp.reshape(xp.stack([xp.matmul(a[whole * ROW_BLOCK:, :].T, f_rest) for a in a_slices]), (1, len(a_slices), d, -1)))
    sums = [xp.sum(f_whole, axis=1)] if whole else []
    if rows > whole * ROW_BLOCK:
        sums.append(xp.reshape(xp.sum(f_rest, axis=0), (1, -1)))
    return xp.concat(parts), xp.concat(sums)


def residual_sums_on_device(
    xp, X, y, weight, *, coef: np.ndarray, intercept: float, x_scale: np.ndarray, y_scale: float,
    weight_scale: float = 1.0,
) -> ResidualSums:
    """:func:`gradfit.numerics.residuals.residual_sums` of some rows held on a device.

    Parameters
    ----------
    xp : namespace
        The rows' array-API namespace.
    X : array of shape (k, d), float64, finite, on its device
    y : array of shape (k,), float64
    weight : array of shape (k,) or None
    coef, intercept, x_scale, y_scale, weight_scale
        As :func:`~gradfit.numerics.residuals.residual_sums` (numpy, on the host).

    Returns
    -------
    ResidualSums
        On the host, in the frame's units; merges with those of any other rows.
    """
    k, d = X.shape
    unweighted_share = 1.0
    if weight is not None:
        weight = weight / weight_scale
    else:
        unweighted_share = 1.0 / weight_scale
    if k == 0:
        return ResidualSums(0, (0.0, 0.0), (np.zeros(d), np.zeros(d)), 0.0)
    # Units as in residual_sums: A_j = X_j 2^-e_j, y_s = y 2^-e_y.
    exponents = _exponent(to_host(xp.max(xp.abs(X), axis=0))) if d else np.zeros(0, dtype=np.int64)
    y_exponent = _magnitude(xp, y)
    x_log, y_log = _exponent(x_scale) - 1, int(_exponent(y_scale)) - 1
    to_frame = _PowerOfTwo(exponents - x_log + y_exponent - y_log)
    f_to_frame = _PowerOfTwo(np.array([y_exponent - y_log]))
    w = _times_power_of_two(np.asarray(coef, dtype=np.float64), exponents - x_log + y_log - y_exponent)
    b = float(_times_power_of_two(np.array([intercept]), np.array([y_log - y_exponent]))[0])
    device = X.device

    sliced = _slices(_scaled(xp, X, exponents, X))  # exact parts of A, each (k, d)
    hi = _scaled(xp, y, np.array([y_exponent]), X)
    lo = xp.zeros_like(hi)
    if b:
        hi, e = _two_sum(hi, -b)
        lo = lo + e
    w_exponent = int(np.frexp(float(np.max(np.abs(w))))[1]) if d else 0
    for start in range(0, d, COLUMN_BLOCK):
        stop = min(start + COLUMN_BLOCK, d)
        w_parts = _Residuals._level_matrices(_split_vector(w[start:stop], w_exponent))  # (4, block, 4), exact levels
        # Each slice's product is exact, and so is their sum: they share the grid of their level.
        levels = None
        for part, matrix in zip(sliced, w_parts):
            product = xp.matmul(part[:, start:stop] if d > COLUMN_BLOCK else part, xp.asarray(matrix, device=device))
            levels = product if levels is None else levels + product
        for level in range(levels.shape[1]):
            hi, e = _two_sum(hi, -levels[:, level])
            lo = lo + e
    hi, lo = _two_sum(hi, lo)  # renormalised: |lo| ≤ u·|hi|
    if weight is not None:
        squares = float(to_host(xp.sum(weight * hi * hi)))
        product, error = _two_product(weight, hi)
        hi, lo = product, error + weight * lo
    else:
        squares = float(to_host(xp.vecdot(hi, hi)))
    squares *= unweighted_share

    # Aᵀf and Σf with f = hi + lo: hi in exact slices, on the grid of its own block of ROW_BLOCK rows (as
    # the host does: one large residual must not push other blocks' into the inexact last slice), lo
    # carried in that last one.
    unit = _block_powers_of_two(xp, hi)
    f_parts = [part * unit for part in _slices(hi / unit)]
    f_parts[_EXACT_SLICES] = f_parts[_EXACT_SLICES] + lo
    products, block_sums = _block_products(xp, sliced, f_parts, k)  # (B, 4, d, 4) and (B, 4): exact
    products_hi, products_lo = _sum_pair(products, xp)  # over the blocks, on the device
    sums_hi, sums_lo = _sum_pair(block_sums, xp)
    # The 16 (slice, slice) terms of each column and their low parts, summed on the host.
    terms = np.concatenate([
        to_host(xp.reshape(xp.permute_dims(products_hi, (0, 2, 1)), (-1, d))),
        to_host(xp.reshape(xp.permute_dims(products_lo, (0, 2, 1)), (-1, d))),
    ])
    gradient_hi, gradient_lo = _sum_pair(terms) if d else (np.zeros(0), np.zeros(0))
    total_hi, total_lo = _sum_pair(np.concatenate([to_host(sums_hi), to_host(sums_lo)])[:, None])
    total = f_to_frame(np.array([total_hi[0], total_lo[0]]) * unweighted_share)
    square_factor = float(_times_power_of_two(np.array([1.0]), np.array([2 * (y_exponent - y_log)]))[0])
    return ResidualSums(
        n_samples=k,
        total=(float(total[0]), float(total[1])),
        gradient=(to_frame(gradient_hi * unweighted_share), to_frame(gradient_lo * unweighted_share)),
        squares=squares * square_factor,
    )

