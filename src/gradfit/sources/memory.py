"""In-memory dense numpy data."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from gradfit.errors import DataError, non_finite
from gradfit.numerics.scaling import safe_scale
from gradfit.sources.stats import SufficientStats, TreeReduce, merge_all, merge_all_with

__all__ = ["MemorySource"]

#: Bytes per chunk. Measured on 1,000,000 × 50 (median of 7, ratio to one X.T@X in the same run):
#: 3.4× at 128 KiB, 1.9× at 512 KiB, 1.1-1.4× at 1-2 MiB, 1.8× at 8 MiB: small chunks pay BLAS
#: start-up per product, large ones fell out of cache between the centring and the product. Since a
#: chunk is centred after its product (one pass: SufficientStats._one_product), larger chunks cost
#: no more: measured again on an Intel Xeon (2 cores), 2,000,000 × 50 took 1.12× at 2 MiB and 1.13×
#: at 4 MiB, 400,000 × 200 1.41× and 1.13×.
CHUNK_BYTES = 4 * 2**20


class MemorySource:
    """A dense ``X`` (n, d) and ``y`` (n,) held in memory. Copies at most one chunk at a time.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64 (a NaN or inf makes :meth:`stats` raise DataError naming it)
    y : ndarray of shape (n,), float64, finite
    sample_weight : ndarray of shape (n,), non-negative, optional
    """

    def __init__(
        self, X: NDArray[np.float64], y: NDArray[np.float64], sample_weight: NDArray[np.float64] | None = None
    ) -> None:
        self._X = X
        self._y = y
        self._weight = sample_weight
        self.n_samples, self.n_features = X.shape

    @property
    def sample_weight(self) -> NDArray[np.float64] | None:
        return self._weight

    def chunk_rows(self) -> int:
        """Rows per chunk for :meth:`stats` (at least one, at most all)."""
        row_bytes = max(1, self.n_features) * self._X.itemsize
        return max(1, min(self.n_samples, CHUNK_BYTES // row_bytes))

    def stats(self) -> SufficientStats:
        """Gather the statistics chunk by chunk, in parallel, and merge them pairwise.

        Each worker thread takes every ``workers``-th chunk with one scratch chunk of its own, so
        the data are never copied whole and nothing chunk-sized is allocated per chunk. numpy
        releases the GIL in its loops and BLAS runs single-threaded inside each worker, so the
        cores split the chunks instead of fighting over each product.
        """
        step = self.chunk_rows()
        starts = list(range(0, self.n_samples, step))
        workers = max(1, min(os.cpu_count() or 1, len(starts)))

        def gather(worker: int, x_scale, x_origin) -> tuple[SufficientStats, NDArray[np.float64]]:
            work = np.empty((step, self.n_features))
            largest = np.zeros(self.n_features)
            # Merged as they come: O(log chunks) d × d matrices held, not one per chunk.
            parts = TreeReduce(SufficientStats.merge)
            # A first pass over extreme columns (beyond 2^±400) may over- or underflow; it is
            # detected from `largest` below and redone on scaled columns, so it must not warn.
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                for start in starts[worker::workers]:
                    chunk = self._X[start : start + step]
                    part = SufficientStats.from_chunk(
                        chunk,
                        self._y[start : start + step],
                        x_scale=x_scale,
                        y_scale=y_scale,
                        x_origin=x_origin,
                        y_origin=y_origin,
                        sample_weight=None if self._weight is None else self._weight[start : start + step],
                        work=work,
                    )
                    # |origin| + |offset| + the chunk's standard deviation is a typical column
                    # magnitude, read off the statistics at no cost: within 2^20 of the largest
                    # one, far inside the 2^±400 margin. An overflow shows up as inf.
                    spread = np.sqrt(np.maximum(np.diag(part.xx), 0.0) / max(part.n_samples, 1))
                    np.maximum(largest, np.abs(x_origin) + np.abs(part.x_offset) + spread, out=largest)
                    parts.add(part)
            return parts.result(), largest

        y_scale = float(safe_scale(np.max(np.abs(self._y), initial=0.0)))
        y_origin = float(self._y[:step].mean() / y_scale)
        if not np.isfinite(y_origin):
            y_origin = float(self._y[0] / y_scale)
        x_scale = np.ones(self.n_features)
        # Threads pay off from two chunks on; below that, starting them (and capping BLAS, which
        # costs milliseconds of library inspection) would dwarf the work.
        parallel = workers > 1
        with ExitStack() as stack:
            if parallel:
                stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
                pool = stack.enter_context(ThreadPoolExecutor(workers))
            while True:
                # The shared origin: the first chunk's mean (rounded; any fixed point near the data
                # keeps the differences, and so the statistics, relative to the spread). Near the
                # mean, each chunk can be centred after its product (SufficientStats._one_product).
                with np.errstate(over="ignore", invalid="ignore"):
                    x_origin = self._X[:step].mean(axis=0) / x_scale
                if not np.all(np.isfinite(x_origin)):
                    x_origin = self._X[0] / x_scale  # overflowing sums: the first row (NaN is named later)
                run = (lambda worker: gather(worker, x_scale, x_origin))  # noqa: E731, B023 - closes over the scale
                results = list(pool.map(run, range(workers))) if parallel else [run(0)]
                magnitude = np.max([largest for _, largest in results], axis=0)
                if not np.all(np.isfinite(magnitude)):  # squares overflowed, or X holds NaN/inf
                    magnitude = self._max_abs(step)
                    if not np.all(np.isfinite(magnitude)):
                        # NaN and inf propagate into the statistics, so finite data are never scanned
                        # twice (a separate check cost 40% of one X.T @ X): find the first and name it.
                        raise first_non_finite(self._X, step)
                needed = safe_scale(magnitude)
                if np.array_equal(needed, x_scale) or not np.all(x_scale == 1.0):
                    break
                x_scale = needed  # extreme columns (beyond 2^±400): once more, divided by powers of two
        return merge_all([part for part, _ in results])

    def _max_abs(self, step: int) -> NDArray[np.float64]:
        """Largest magnitude of each column, chunk by chunk through one scratch chunk."""
        work = np.empty((step, self.n_features))
        largest = np.zeros(self.n_features)
        for start in range(0, self.n_samples, step):
            chunk = work[: min(step, self.n_samples - start)]
            np.abs(self._X[start : start + step], out=chunk)
            np.maximum(largest, chunk.max(axis=0), out=largest)
        return largest

    def reduce_rows(self, kernel, combine):  # callables over rows, and their result
        """``kernel(X_chunk, y_chunk, weight_chunk)`` over every chunk of rows, folded with ``combine``
        (pairwise): one pass, the chunks split between threads as in :meth:`stats` (each thread folds every
        ``workers``-th chunk, then the threads' results are folded: which chunks meet first depends on
        the number of cores, so the last bits of a rounded result may too)."""
        step = self.chunk_rows()
        starts = list(range(0, self.n_samples, step))
        workers = max(1, min(os.cpu_count() or 1, len(starts)))

        def run(worker: int):
            tree = TreeReduce(combine)
            for start in starts[worker::workers]:
                weight = None if self._weight is None else self._weight[start : start + step]
                tree.add(kernel(self._X[start : start + step], self._y[start : start + step], weight))
            return tree.result()

        if workers == 1:
            return run(0)
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(run, range(workers)))
        return merge_all_with(parts, combine)

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self._X, self._y

    def rows(
        self, indices: NDArray[np.intp]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
        """``(X[indices], y[indices], sample_weight[indices] or None)`` for the stochastic solvers."""
        weight = None if self._weight is None else self._weight[indices]
        return self._X[indices], self._y[indices], weight

    def max_row_norm2(self, transform) -> float:
        """Largest ``‖transform(x_i)‖²`` over the rows, chunk by chunk (for stochastic step sizes)."""
        step = self.chunk_rows()
        return max(
            float(np.max(np.sum(transform(self._X[start : start + step]) ** 2, axis=1)))
            for start in range(0, self.n_samples, step)
        )


#: Elements of a sparse matrix densified at once by :func:`sparse_statistics` (32 MiB of float64).
DENSE_BLOCK_ELEMENTS = 2**22


def sparse_statistics(X, y: NDArray[np.float64], sample_weight: NDArray[np.float64] | None) -> SufficientStats:
    """The statistics of a scipy.sparse ``X`` narrow enough for d × d ones: blocks of rows densified in
    turn (at most :data:`DENSE_BLOCK_ELEMENTS` at once), each gathered as in memory and merged, so the
    result is what :meth:`MemorySource.stats` gives for the dense matrix. NaN/inf are named first."""
    X = X.tocsr()
    bad = np.flatnonzero(~np.isfinite(X.data))
    if bad.size:
        row = int(np.searchsorted(X.indptr, bad[0], side="right") - 1)
        raise non_finite("X", X.data[bad[0]], row, int(X.indices[bad[0]]))
    rows = max(1, DENSE_BLOCK_ELEMENTS // max(1, X.shape[1]))
    merged = None
    for start in range(0, X.shape[0], rows):
        block = slice(start, start + rows)
        part = MemorySource(X[block].toarray(), y[block], None if sample_weight is None else sample_weight[block]).stats()
        merged = part if merged is None else merged.combined(part)
    return merged


def first_non_finite(X: NDArray[np.float64], step: int) -> DataError:
    """The error naming the first NaN/inf of a dense ``X``, looked for ``step`` rows at a time (only
    run once a pass has seen one: NaN and inf propagate into the sums every pass gathers)."""
    for start in range(0, X.shape[0], step):
        bad = np.argwhere(~np.isfinite(X[start : start + step]))
        if bad.size:
            row, column = int(bad[0][0]) + start, int(bad[0][1])
            return non_finite("X", X[row, column], row, column)
    return DataError("Input X contains NaN or infinity")
