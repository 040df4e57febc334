"""One epoch of the stochastic solvers, compiled by numba: what :mod:`gradfit.solvers.stochastic` runs
on rows held as dense float64 arrays (:meth:`~gradfit.objective.LeastSquares.row_arrays`).

Imported only when a stochastic solver steps, so that ``import gradfit`` and the command line's start
do not load numba (tests/test_cli_startup.py). Each kernel walks the epoch's row order (drawn by numpy
in the solver, so the same seed gives the same order whatever runs it) batch by batch, and makes the
updates of :class:`~gradfit.solvers.stochastic.SGD`/``MiniBatch`` and ``Adam`` with the batch gradient
of :meth:`~gradfit.objective.LeastSquares.batch_gradient`. The same arithmetic, but for rounding: a
row is mapped to θ's coordinates as ``x·x_factor − x_offset`` with ``x_factor = 1/(x_scale·x_unit)``
and ``x_offset = x_shift/x_unit`` worked out once (two divisions an entry cost the wide problem of
``benchmarks/stochastic.py`` about 40% of its epoch, before prefetching), and the sums over a row and
a batch are taken one term at a time (BLAS may pair them otherwise). Single-threaded and without
fast-math, so a run is bit-for-bit repeatable on one machine, whatever X's memory order. The rows
ahead are prefetched (:func:`prefetch_distance`).

The kernels are compiled on first use and cached (``cache=True``: next to this file, or where
``NUMBA_CACHE_DIR`` says), so only the first fit on a machine pays the compilation (2-3 s for the
three solvers on a 2-core VM); ``benchmarks/stochastic.py`` times it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["sgd_epoch", "sparse_sgd_epoch", "adam_epoch", "prefetch_distance"]

#: Bytes of rows to have on their way from memory ahead of the one being used (see :func:`prefetch_distance`).
PREFETCH_BYTES = 4096
#: At most this many rows ahead.
PREFETCH_ROWS = 16


def prefetch_distance(n_features: int) -> int:
    """How many rows ahead of the current one the kernels prefetch: about :data:`PREFETCH_BYTES` of
    rows, 1 to :data:`PREFETCH_ROWS` of them.

    Rows in random order miss every cache, and one update waits for the next (θ changes), so without
    prefetching each row costs a full trip to memory: on ``benchmarks/stochastic.py``'s problems
    (2 cores) an sgd epoch took 0.095 s on 1,000,000 × 10 and 0.068 s on 200,000 × 100 with none,
    0.034 s and 0.035-0.037 s 8 to 16 rows ahead (0.056 s and 0.037 s 2 rows ahead)."""
    return max(1, min(PREFETCH_ROWS, PREFETCH_BYTES // max(1, 8 * n_features)))


def _prefetch_codegen(context, builder, signature, args):
    """LLVM's prefetch (read, high locality) of the element of ``args[0]`` at the indices ``args[1:]``."""
    array_type = signature.args[0]
    array_value = context.make_array(array_type)(context, builder, args[0])
    pointer = cgutils.get_item_pointer(context, builder, array_type, array_value, list(args[1:]), wraparound=False)
    byte_pointer = ir.IntType(8).as_pointer()
    int32 = ir.IntType(32)
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]), "llvm.prefetch.p0")
    builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)])
    return context.get_dummy_value()


@intrinsic
def _prefetch(typingctx, array, row, column):  # pragma: no cover - compiled
    """A hint to bring the cache line of ``array[row, column]`` towards the core. Never faults and
    changes no result."""
    return types.void(array, row, column), _prefetch_codegen


@intrinsic
def _prefetch_entry(typingctx, vector, index):  # pragma: no cover - compiled
    """:func:`_prefetch` of ``vector[index]``."""
    return types.void(vector, index), _prefetch_codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _batch_gradient(theta, order, start, stop, X, y, weight, weight_scale, x_factor, x_offset,
                    y_scale, y_shift, y_unit, ridge, z, grad, ahead):  # pragma: no cover - compiled
    """``grad ← Z_bᵀ(w_b ∘ (Z_bθ − t_b))·(m/W)/|b| + ridge ∘ θ`` over the rows ``order[start:stop]``,
    each row ``z = [1,] X[i]·x_factor − x_offset`` (``z``: scratch of shape (p), its first entry 1
    with an intercept, set by the caller) and ``t = (y[i]/y_scale − y_shift)/y_unit``; no weight where
    ``weight`` is empty. The row ``ahead`` places further in ``order`` is prefetched.

    Written out in one piece: as separate inlined functions (mapping, residual, prefetch) the sgd
    epoch on 1,000,000 × 10 took 3-4× as long."""
    p = theta.shape[0]
    d = X.shape[1]
    offset = p - d  # 1 with an intercept
    n = order.shape[0]
    weighted = weight.shape[0] > 0
    for j in range(p):
        grad[j] = 0.0
    for position in range(start, stop):
        if position + ahead < n and d > 0:
            k = order[position + ahead]
            for j in range(0, d, 8):
                _prefetch(X, k, j)
            _prefetch(X, k, d - 1)  # a row that starts mid-line ends in one more
            _prefetch_entry(y, k)
            if weighted:
                _prefetch_entry(weight, k)
        i = order[position]
        for j in range(d):
            z[offset + j] = X[i, j] * x_factor[j] - x_offset[j]
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
def sgd_epoch(theta, order, batch_size, step, X, y, weight, weight_scale, x_factor, x_offset,
              y_scale, y_shift, y_unit, ridge, l1, ahead):  # pragma: no cover - compiled
    """One epoch of (mini-batch) SGD from ``theta`` (left unchanged): for each batch of ``batch_size``
    rows of ``order``, ``θ ← prox_{ηh}(θ − η g)``, ``h`` the L1 part with weights ``l1`` (length 0:
    none, the prox is the identity) and ``η = step``; rows are prefetched ``ahead`` places ahead
    (:func:`prefetch_distance`). θ has an intercept where it has one more entry than X has columns.
    Returns the new θ."""
    theta = theta.copy()
    p = theta.shape[0]
    z = np.ones(p)
    grad = np.empty(p)
    has_l1 = l1.shape[0] > 0
    n = order.shape[0]
    if batch_size == 1:
        return _sgd_rows(theta, order, step, X, y, weight, weight_scale, x_factor, x_offset, y_scale, y_shift, y_unit,
                         ridge, l1, ahead, z)
    for start in range(0, n, batch_size):
        _batch_gradient(theta, order, start, min(start + batch_size, n), X, y, weight, weight_scale, x_factor,
                        x_offset, y_scale, y_shift, y_unit, ridge, z, grad, ahead)
        if has_l1:  # soft thresholding, as L1Penalty.prox: sign(v)·max(|v| − η·l1, 0)
            for j in range(p):
                moved = theta[j] - step * grad[j]
                theta[j] = np.sign(moved) * max(abs(moved) - step * l1[j], 0.0)
        else:
            for j in range(p):
                theta[j] = theta[j] - step * grad[j]
    return theta


@numba.njit(cache=True, nogil=True)
def _sgd_rows(theta, order, step, X, y, weight, weight_scale, x_factor, x_offset, y_scale, y_shift, y_unit,
              ridge, l1, ahead, z):  # pragma: no cover - compiled
    """:func:`sgd_epoch` one row a batch, updating ``theta`` in place: ``θ_j ← θ_j − η(z_j r + ridge_j θ_j)``
    (then the prox), the batch gradient never stored and the ridge term left out where ridge is 0.
    The same operations on each entry as :func:`_batch_gradient` with a batch of 1 (whose division by
    1 is exact), written out again: its passes to clear, sum and divide the gradient took 1,000,000 × 10
    twice as long a row."""
    p = theta.shape[0]
    d = X.shape[1]
    offset = p - d
    n = order.shape[0]
    weighted = weight.shape[0] > 0
    has_l1 = l1.shape[0] > 0
    has_ridge = False
    for j in range(p):
        has_ridge = has_ridge or ridge[j] != 0.0
    for position in range(n):
        if position + ahead < n and d > 0:
            k = order[position + ahead]
            for j in range(0, d, 8):
                _prefetch(X, k, j)
            _prefetch(X, k, d - 1)
            _prefetch_entry(y, k)
            if weighted:
                _prefetch_entry(weight, k)
        i = order[position]
        for j in range(d):
            z[offset + j] = X[i, j] * x_factor[j] - x_offset[j]
        residual = 0.0
        for j in range(p):
            residual += z[j] * theta[j]
        residual -= (y[i] / y_scale - y_shift) / y_unit
        if weighted:
            residual *= weight[i] * weight_scale
        if has_ridge:
            for j in range(p):
                theta[j] = theta[j] - step * (z[j] * residual + ridge[j] * theta[j])
        else:
            for j in range(p):
                theta[j] = theta[j] - step * (z[j] * residual)
        if has_l1:
            for j in range(p):
                theta[j] = np.sign(theta[j]) * max(abs(theta[j]) - step * l1[j], 0.0)
    return theta


@numba.njit(cache=True, nogil=True)
def adam_epoch(theta, first, second, updates, order, batch_size, step, beta1, beta2, epsilon, X, y, weight,
               weight_scale, x_factor, x_offset, y_scale, y_shift, y_unit, ridge, ahead):  # pragma: no cover - compiled
    """One epoch of Adam from ``theta`` and the moments ``first``, ``second`` after ``updates`` updates
    (none of them changed): per batch, ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``θ ← θ − η m̂/(√v̂ + ε)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``, t the running count of updates.
    Rows are prefetched ``ahead`` places ahead. Returns ``(θ, m, v, updates)``."""
    theta = theta.copy()
    first = first.copy()
    second = second.copy()
    p = theta.shape[0]
    z = np.ones(p)
    grad = np.empty(p)
    n = order.shape[0]
    for start in range(0, n, batch_size):
        _batch_gradient(theta, order, start, min(start + batch_size, n), X, y, weight, weight_scale, x_factor, x_offset,
                        y_scale, y_shift, y_unit, ridge, z, grad, ahead)
        updates += 1
        # β**t as Python's float power computes it (libm's pow), not by repeated products
        first_correction = 1 - beta1 ** float(updates)
        second_correction = 1 - beta2 ** float(updates)
        for j in range(p):
            first[j] = beta1 * first[j] + (1 - beta1) * grad[j]
            second[j] = beta2 * second[j] + (1 - beta2) * grad[j] * grad[j]
            theta[j] = theta[j] - step * (first[j] / first_correction) / (math.sqrt(second[j] / second_correction) + epsilon)
    return theta, first, second, updates


@numba.njit(cache=True, nogil=True)
def sparse_sgd_epoch(theta, order, batch_size, step, indptr, indices, data, y, weight, weight_scale, x_factor,
                     x_offset, y_scale, y_shift, y_unit, ahead):  # pragma: no cover - compiled
    """:func:`sgd_epoch` (no ridge, no L1) over CSR rows (``indptr``, ``indices``, ``data``), at
    O(nonzeros) a row: the same updates of θ, kept lazily shifted.

    A row in θ's coordinates is ``z = [1,] x·x_factor − x_offset``: dense, since ``x_offset = o`` (the
    centring) touches every column. So the weights are kept as ``θ_w = θ̃ + c·o`` with a scalar ``c``:
    an update ``θ_w ← θ_w − η Σ_b z_b r_b/|b|`` moves ``θ̃`` on the batch's nonzeros only
    (``−η x_j·x_factor_j r_b/|b|``) and ``c`` by ``η Σ_b r_b/|b|``. A residual needs
    ``z·θ = θ₀ + Σ_nnz x_j·x_factor_j θ_j − o·θ_w`` with ``o·θ_w = S + c‖o‖²``, ``S = o·θ̃`` kept up to
    date as θ̃ moves; S is summed afresh at the epoch's start and θ_w formed at its end (O(d) each).
    All residuals of a batch are taken before it moves θ, as the dense batch gradient is. Duplicate
    or unsorted entries of a row would be fine (every term is linear in an entry). The rounding differs
    from :func:`sgd_epoch`'s (S is a running sum), not the updates.

    ``θ̃_j``, ``x_factor_j`` and ``o_j`` are packed side by side (a d × 4 scratch): a nonzero's column
    then costs one cache line, not three (on ``benchmarks/stochastic.py``'s 1,000,000 × 100,000 an
    epoch took 0.42 s instead of 0.53 s). The CSR entries of the row ``ahead // 2 + 1`` places further
    in ``order`` are prefetched, and its ``indptr`` and ``y`` entries ``ahead`` places further.
    Returns the new θ."""
    p = theta.shape[0]
    d = x_factor.shape[0]
    offset = p - d  # 1 with an intercept
    n = order.shape[0]
    weighted = weight.shape[0] > 0
    packed = np.empty((d, 4))  # θ̃_j, x_factor_j, o_j, (padding)
    norm2 = 0.0  # ‖o‖²
    shifted = 0.0  # S = o·θ̃, θ̃ = θ_w at the start (c = 0)
    for j in range(d):
        packed[j, 0] = theta[offset + j]
        packed[j, 1] = x_factor[j]
        packed[j, 2] = x_offset[j]
        packed[j, 3] = 0.0
        norm2 += x_offset[j] * x_offset[j]
        shifted += x_offset[j] * theta[offset + j]
    c = 0.0
    intercept = theta[0] if offset else 0.0
    residuals = np.empty(batch_size)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        shift_dot = shifted + c * norm2  # o·θ_w, the same for the whole batch (θ moves after it)
        for position in range(start, stop):
            if position + ahead < n:
                k = order[position + ahead]
                _prefetch_entry(y, k)
                _prefetch_entry(indptr, k)
                if position + ahead // 2 + 1 < n:
                    near = order[position + ahead // 2 + 1]
                    first = indptr[near]
                    last = indptr[near + 1]
                    if last > first:
                        for e in range(first, last, 8):
                            _prefetch_entry(data, e)
                            _prefetch_entry(indices, e)
                        _prefetch_entry(data, last - 1)
                        _prefetch_entry(indices, last - 1)
            i = order[position]
            residual = 0.0
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                residual += data[e] * packed[j, 1] * (packed[j, 0] + c * packed[j, 2])
            residual -= shift_dot
            residual += intercept
            residual -= (y[i] / y_scale - y_shift) / y_unit
            if weighted:
                residual *= weight[i] * weight_scale
            residuals[position - start] = residual
        scale = step / (stop - start)
        total = 0.0
        for position in range(start, stop):
            moved = scale * residuals[position - start]
            total += moved
            i = order[position]
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                delta = moved * (data[e] * packed[j, 1])
                packed[j, 0] -= delta
                shifted -= packed[j, 2] * delta
        if offset:
            intercept -= total
        c += total
    theta = theta.copy()
    if offset:
        theta[0] = intercept
    for j in range(d):
        theta[offset + j] = packed[j, 0] + c * x_offset[j]
    return theta
