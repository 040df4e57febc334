"""Rows read once per iteration: sparse designs, and dense ones too wide for d×d statistics.

When ``d`` is large (text features, one-hot codes) a ``d × d`` matrix is out of the question, and
for sparse data even forming ``XᵀX`` densely costs more than a few dozen passes over the rows.
Then every iteration is one fused pass: for each chunk of rows, the residual ``r = Xv + a − βy``
and the gradient contribution ``Xᵀ(w∘r)`` come from the same chunk while it is in cache. Chunks
are split between threads (scipy's sparse products and BLAS release the GIL), each thread adding
into its own ``d``-vector.

The source knows nothing about frames or solvers: it answers :meth:`StreamingSource.residual_pass`
in the user's units. Centring and scaling are applied implicitly by the objective (the shift moves
into the scalar ``a``), so a sparse ``X`` is never densified.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from gradfit.errors import DataError, non_finite
from gradfit.numerics.scaling import SAFE_EXPONENT, safe_scale
from gradfit.sources.memory import first_non_finite

__all__ = ["ColumnMoments", "StreamingSource"]

try:  # scipy's own sparse kernels, which add into a given output instead of allocating one
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - a future scipy without them: the public products below
    _sparsetools = None

#: Stored entries per chunk of a pass. On 1,000,000 × 100,000 with 50 non-zeros a row (2 threads,
#: median of 5): 2 chunks 0.127 s a pass, 16: 0.159 s, 128 (≈ 390k entries, 4.7 MB): 0.073 s,
#: 512: 0.084 s; one thread, whole matrix: 0.137 s. Measured again another day (15 passes each, in
#: turn): 100k entries 0.098 s, 200k (2.4 MB, within the 32 MB L3 with both threads' vectors)
#: 0.092 s, 400k 0.101 s.
PASS_CHUNK_NNZ = 200_000
#: A chunk whose squared values all lie strictly between these needs no other look at its magnitudes:
#: they are inside 2^±SAFE_EXPONENT (a square rounded onto a bound only costs an exact second look).
SQUARES_HIGH = 2.0 ** (2 * SAFE_EXPONENT)
SQUARES_LOW = 2.0 ** (-2 * SAFE_EXPONENT)
#: Dense chunks: bytes per chunk (a chunk of rows feeds two BLAS matrix-vector products).
PASS_CHUNK_BYTES = 2 * 2**20


class _SparseRows:
    """Some consecutive rows of a CSR matrix: views of its arrays (nothing copied), and the two
    products a pass needs, each adding into a given vector.

    ``scipy.sparse.csr_matrix`` would copy the views (it prunes arrays much smaller than their base),
    and its products allocate their result: a d-vector per chunk per pass, which on 100,000 features
    cost more page faults than the arithmetic. scipy's kernels (``csr_matvec``, and ``csc_matvec`` on
    the same arrays for the transpose) add into the vector given and release the GIL.
    """

    __slots__ = ("n_rows", "n_cols", "indptr", "indices", "data")

    def __init__(self, indptr: NDArray, indices: NDArray, data: NDArray[np.float64], n_cols: int) -> None:
        self.n_rows, self.n_cols = len(indptr) - 1, n_cols
        self.indptr, self.indices, self.data = indptr, indices, data

    def _public(self, data: NDArray[np.float64]) -> sp.csr_matrix:
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_rows, self.n_cols))

    def add_product(self, v: NDArray[np.float64], out: NDArray[np.float64]) -> None:
        """``out += rows @ v``."""
        if _sparsetools is None:
            out += self._public(self.data) @ v
        else:
            _sparsetools.csr_matvec(self.n_rows, self.n_cols, self.indptr, self.indices, self.data, v, out)

    def add_transposed_product(self, w: NDArray[np.float64], out: NDArray[np.float64], data: NDArray | None = None) -> None:
        """``out += rowsᵀ @ w`` (with ``data`` in place of the stored values when given)."""
        values = self.data if data is None else data
        if _sparsetools is None:
            out += self._public(values).T @ w
        else:
            _sparsetools.csc_matvec(self.n_cols, self.n_rows, self.indptr, self.indices, values, w, out)

    def per_value(self, column_values: NDArray[np.float64]) -> NDArray[np.float64]:
        """A per-column vector laid out like ``data`` (one entry per stored value)."""
        return column_values[self.indices]


def _kernels_work() -> bool:
    """Whether scipy's private kernels are there and compute what the public products do."""
    if _sparsetools is None:
        return False
    try:
        matrix = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
        rows = _SparseRows(matrix.indptr, matrix.indices, matrix.data, 3)
        forward, backward = np.ones(2), np.ones(3)
        rows.add_product(np.array([1.0, 2.0, 3.0]), forward)
        rows.add_transposed_product(np.array([1.0, 2.0]), backward)
        return forward.tolist() == [8.0, 7.0] and backward.tolist() == [2.0, 7.0, 3.0]
    except Exception:  # noqa: BLE001 - any change of their interface: use the public products
        return False


if not _kernels_work():  # pragma: no cover - depends on the scipy installed
    _sparsetools = None


class _DenseRows:
    """Some consecutive rows of a dense X, with the interface of :class:`_SparseRows` (BLAS products;
    ``data`` is the block itself, and per-column vectors apply to it as they are)."""

    __slots__ = ("data",)

    def __init__(self, block: NDArray[np.float64]) -> None:
        self.data = block

    def add_product(self, v: NDArray[np.float64], out: NDArray[np.float64]) -> None:
        """``out += rows @ v``."""
        out += self.data @ v

    def add_transposed_product(self, w: NDArray[np.float64], out: NDArray[np.float64], data: NDArray | None = None) -> None:
        """``out += rowsᵀ @ w`` (with ``data`` in place of the block when given)."""
        out += w @ (self.data if data is None else data)

    def per_value(self, column_values: NDArray[np.float64]) -> NDArray[np.float64]:
        """A per-column vector laid out like ``data`` (broadcasting over the rows)."""
        return column_values


@dataclass(frozen=True)
class ColumnMoments:
    """What a streaming fit needs to know about the columns before it iterates (one cheap pass).

    Moments are of ``X / x_scale`` and ``y / y_scale``, where the scales are exact powers of two
    that are 1 except for columns beyond 2^±400 (see :func:`gradfit.sources.safe_scale`). They
    only choose the frame's units (a preconditioner that :class:`~gradfit.objective.Frame` undoes
    exactly), so one-pass formulas are accurate enough.

    Attributes
    ----------
    n_samples : int
    weight : float
        Sum of the row weights (``n_samples`` without weights).
    x_mean, x_var : ndarray of shape (d,)
        Weighted column means and (population) variances.
    x_scale : ndarray of shape (d,)
    y_mean, y_var, y_scale : float
    """

    n_samples: int
    weight: float
    x_mean: NDArray[np.float64]
    x_var: NDArray[np.float64]
    x_scale: NDArray[np.float64]
    y_mean: float
    y_var: float
    y_scale: float

    @classmethod
    def from_sums(
        cls, n_samples: int, weight: float, sums: NDArray[np.float64], square_sums: NDArray[np.float64],
        scale: NDArray[np.float64],
    ) -> ColumnMoments:
        """From weighted sums ``Σw·v`` and ``Σw·v²`` of the scaled columns, features first and the target
        last (``scale`` laid out alike): one-pass moments, enough for choosing units."""
        d = len(sums) - 1
        mean = sums / weight
        variance = np.maximum(square_sums / weight - mean**2, 0.0)
        return cls(
            n_samples=int(n_samples), weight=float(weight), x_mean=mean[:d], x_var=variance[:d], x_scale=scale[:d],
            y_mean=float(mean[d]), y_var=float(variance[d]), y_scale=float(scale[d]),
        )


class StreamingSource:
    """An in-memory ``X`` (dense ndarray, or scipy.sparse CSR/CSC) served one fused pass at a time.

    CSC input is converted to CSR once (rows are the unit of a pass). Sparse data stay sparse:
    nothing here densifies a row of ``X``. A NaN or inf in ``y`` is refused at once; one in ``X``
    by :meth:`columns`, the first pass of every fit, which notices it at no extra cost and then
    names its row and column.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix/array of shape (n, d), float64
    y : ndarray of shape (n,), float64
    sample_weight : ndarray of shape (n,), non-negative, optional
    workers : int, optional
        Threads per pass (default: the CPU count).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_array(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
    >>> source = StreamingSource(X, np.array([1.0, 2.0, 3.0]))
    >>> sum_r2, gradient, sum_r = source.residual_pass(np.zeros(2), 0.0, 1.0)
    >>> float(sum_r2), gradient.tolist(), float(sum_r)
    (14.0, [-10.0, -4.0], -6.0)
    """

    def __init__(
        self,
        X,  # ndarray or scipy.sparse
        y: NDArray[np.float64],
        sample_weight: NDArray[np.float64] | None = None,
        *,
        workers: int | None = None,
    ) -> None:
        self.sparse = sp.issparse(X)
        if self.sparse:
            X = X.tocsr()
            if not X.has_canonical_format:
                # Products would sum duplicate entries, but the column pass's squares would not (two
                # halves of v give v²/2): sum them once, in a copy (the caller's matrix is left as it is).
                X = X.copy()
                X.sum_duplicates()
            if X.indices.dtype != X.indptr.dtype or X.data.dtype != np.float64:
                X = sp.csr_matrix((X.data.astype(np.float64), X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                                  shape=X.shape)
        self._X = X
        self._y = np.asarray(y, dtype=np.float64)
        self._weight = sample_weight
        self.n_samples, self.n_features = X.shape
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._chunks = self._split()
        #: Passes made over the rows so far (the column pass included).
        self.passes = 0
        self._pool: ThreadPoolExecutor | None = None
        if not np.all(np.isfinite(self._y)):
            row = int(np.flatnonzero(~np.isfinite(self._y))[0])
            raise non_finite("y", self._y[row], row)

    def _split(self) -> list[tuple[int, int, _SparseRows | _DenseRows]]:
        """Row chunks as (start, stop, rows) views: CSR slices sharing X's arrays, or dense row blocks."""
        n = self.n_samples
        if self.sparse:
            indptr = self._X.indptr
            per_row = max(1.0, self._X.nnz / max(1, n))
            step = max(1, int(PASS_CHUNK_NNZ / per_row))
        else:
            step = max(1, PASS_CHUNK_BYTES // max(1, 8 * self.n_features))
        chunks = []
        for start in range(0, n, step):
            stop = min(n, start + step)
            if self.sparse:
                lo, hi = indptr[start], indptr[stop]
                rows = _SparseRows(indptr[start : stop + 1] - lo, self._X.indices[lo:hi], self._X.data[lo:hi], self.n_features)
            else:
                rows = _DenseRows(self._X[start:stop])
            chunks.append((start, stop, rows))
        return chunks

    def _not_finite(self) -> DataError:
        """The error naming X's first NaN/inf (only ever run once one has been seen)."""
        if not self.sparse:
            return first_non_finite(self._X, self._chunks[0][1])
        for start, _, rows in self._chunks:
            bad = np.flatnonzero(~np.isfinite(rows.data))
            if bad.size:
                entry = int(bad[0])
                row = start + int(np.searchsorted(rows.indptr, entry, side="right") - 1)
                return non_finite("X", rows.data[entry], row, int(rows.indices[entry]))
        return DataError("Input X contains NaN or infinity")

    def _map(self, work) -> list:  # callable(chunk list) -> result
        """Run ``work`` on interleaved shares of the chunks, one share per thread.

        The threads live as long as the source (starting them for every pass cost more than a
        pass of a small problem). Dense chunks cap BLAS at one thread in each worker; scipy's sparse
        products are single-threaded already.
        """
        shares = [self._chunks[i :: self.workers] for i in range(min(self.workers, len(self._chunks)))]
        if len(shares) == 1:
            return [work(shares[0])]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gradfit-pass")
        if self.sparse:
            return list(self._pool.map(work, shares))
        with threadpool_limits(limits=1, user_api="blas"):
            return list(self._pool.map(work, shares))

    def __del__(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=False)

    def _column_scales(self) -> NDArray[np.float64]:
        """Exact power-of-two scales of the columns (only run when some value is beyond 2^±400)."""
        if self.sparse:
            largest = np.zeros(self.n_features)
            np.maximum.at(largest, self._X.indices, np.abs(self._X.data))
        else:
            largest = np.abs(self._X).max(axis=0)
        return safe_scale(largest)

    def columns(self, *, means: bool = True, squares: bool = True) -> ColumnMoments:
        """Weighted column means and variances (one pass, counted in :attr:`passes`), see :class:`ColumnMoments`.

        Sums and sums of squares are gathered chunk by chunk in the threads, with the magnitudes;
        only when some value lies beyond 2^±400 are the columns rescaled and summed again. A frame
        that needs no means (no intercept, or no standardizing) or no spreads (no standardizing)
        skips those products: the moments it does not ask for are returned as 0.
        """
        self.passes += 1
        weight = self._weight
        y_scale = float(safe_scale(np.max(np.abs(self._y), initial=0.0)))
        y = self._y / y_scale
        total = float(weight.sum()) if weight is not None else float(self.n_samples)
        y_mean = float((weight @ y if weight is not None else y.sum()) / total)
        y_var = float(((weight * (y - y_mean)) @ (y - y_mean) if weight is not None else (y - y_mean) @ (y - y_mean)) / total)

        def gather(x_scale: NDArray[np.float64] | None):
            def work(share: list) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
                with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # per thread: set it here
                    return gather_share(share)

            def gather_share(share: list) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
                sums, square_sums = np.zeros(self.n_features), np.zeros(self.n_features)
                largest, smallest, finite = 0.0, np.inf, True
                for start, stop, rows in share:
                    w = weight[start:stop] if weight is not None else np.ones(stop - start)
                    values = rows.data if x_scale is None else rows.data / rows.per_value(x_scale)
                    value_squares = values * values
                    if value_squares.size:
                        # The squares tell the magnitudes when all lie well inside the safe range;
                        # a zero, NaN, inf or extreme value sends the chunk to the exact measure.
                        top, low = float(value_squares.max()), float(value_squares.min())
                        if top < SQUARES_HIGH and low > SQUARES_LOW:
                            largest, smallest = max(largest, math.sqrt(top)), min(smallest, math.sqrt(low))
                        else:
                            magnitude = np.abs(values)
                            chunk_largest = float(magnitude.max())  # NaN or inf when X holds one
                            finite = finite and np.isfinite(chunk_largest)
                            largest = max(largest, chunk_largest)
                            smallest = min(smallest, float(np.min(magnitude, where=magnitude > 0, initial=np.inf)))
                    if means:
                        rows.add_transposed_product(w, sums, data=values)
                    if squares:
                        rows.add_transposed_product(w, square_sums, data=value_squares)
                return sums, square_sums, largest if finite else np.nan, smallest

            parts = self._map(work)
            return (sum(part[0] for part in parts), sum(part[1] for part in parts),
                    float(np.max([part[2] for part in parts])), min(part[3] for part in parts))

        sums, square_sums, largest, smallest = gather(None)
        if not np.isfinite(largest):
            raise self._not_finite()
        x_scale = np.ones(self.n_features)
        if np.isfinite(smallest) and not float(safe_scale(largest)) == float(safe_scale(smallest)) == 1.0:
            x_scale = self._column_scales()  # rare: some column is extreme; sum it again, rescaled
            sums, square_sums, _, _ = gather(x_scale)
        x_mean = sums / total
        x_var = square_sums / total - x_mean**2
        return ColumnMoments(
            n_samples=self.n_samples,
            weight=total,
            x_mean=x_mean,
            x_var=np.maximum(x_var, 0.0),
            x_scale=x_scale,
            y_mean=y_mean,
            y_var=max(y_var, 0.0),
            y_scale=y_scale,
        )

    def csr_arrays(self) -> tuple | None:
        """X's CSR arrays ``(indptr, indices, data)``, ``y`` and the weights (None without), as held here
        (nothing copied), for a compiled walk over the rows in any order (the stochastic solvers'
        epochs); None for a dense X. Counted in :attr:`passes`: a walk reads every row."""
        if not self.sparse:
            return None
        self.passes += 1
        return self._X.indptr, self._X.indices, self._X.data, self._y, self._weight

    def max_row_norm2(self, factor: NDArray[np.float64], offset: NDArray[np.float64], constant: float) -> float:
        """Largest ``constant + Σ_j (x_j·factor_j − offset_j)²`` over the rows of a sparse X, at O(nonzeros):
        ``‖offset‖² + Σ_nnz (v_j² − 2 v_j·offset_j)`` with ``v = x·factor`` (no duplicate entries: they
        were summed on the way in), a block of rows at a time. Not counted as a pass of the solvers'
        (a scan for the step size)."""
        X = self._X
        base = constant + float(offset @ offset)
        largest = -np.inf
        block = max(1, int(PASS_CHUNK_NNZ / max(1.0, X.nnz / max(1, self.n_samples))))
        for start in range(0, self.n_samples, block):
            rows = X[start : start + block]
            values = rows.data * factor[rows.indices]
            terms = values * (values - 2.0 * offset[rows.indices])
            counts = np.diff(rows.indptr)
            sums = np.bincount(np.repeat(np.arange(rows.shape[0]), counts), weights=terms, minlength=rows.shape[0])
            largest = max(largest, float(np.max(sums)))
        return base + largest if np.isfinite(largest) else base

    def residual_pass(
        self, v: NDArray[np.float64], a: float, beta: float
    ) -> tuple[float, NDArray[np.float64], float]:
        """One fused pass: with ``r = Xv + a − βy`` and row weights ``w`` (1 without),
        returns ``(Σ w r², Xᵀ(w∘r), Σ w r)``.

        Each chunk's residual is formed and used for its gradient contribution at once; threads
        take interleaved chunks and add into their own ``d``-vector, summed at the end.
        """
        self.passes += 1
        y, weight = self._y, self._weight
        v = np.ascontiguousarray(v, dtype=np.float64)
        moving = bool(np.any(v))  # at v = 0 (the usual start) the residual needs no product

        def work(share: list) -> tuple[float, NDArray[np.float64], float]:
            gradient = np.zeros(self.n_features)
            sum_r2 = sum_r = 0.0
            for start, stop, rows in share:
                residual = np.full(stop - start, a) if beta == 0.0 else a - beta * y[start:stop]
                if moving:
                    rows.add_product(v, residual)
                if weight is not None:
                    weighted = weight[start:stop] * residual
                    sum_r2 += float(weighted @ residual)
                else:
                    weighted = residual
                    sum_r2 += float(residual @ residual)
                sum_r += float(weighted.sum())
                rows.add_transposed_product(weighted, gradient)
            return sum_r2, gradient, sum_r

        parts = self._map(work)
        gradient = parts[0][1]
        for part in parts[1:]:
            gradient += part[1]
        return sum(part[0] for part in parts), gradient, sum(part[2] for part in parts)
