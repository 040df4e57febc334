"""Batches folded into statistics: chunks reduced by a few threads, merged in a balanced tree.

How a batch is reduced (the hot loop). A background thread has pyarrow decode the next batch while
the current one is reduced by a few threads, a chunk of rows each. A chunk's columns
(float64 numpy views of pyarrow's buffers) are copied into a scratch block, one row per column,
shifted by ``c`` on the way (the copy any consumer of the batch makes), and one symmetric product
of the block with a row of ones appended gives ``Σ(x−c)(x−c)ᵀ``, ``Σ(x−c)`` and ``n``: the
centred sums follow as ``S = Σ(x−c)(x−c)ᵀ − n m mᵀ`` with ``m = mean(x − c)``. With ``c`` the
previous batch's means, ``m`` is small against the spread and this is as accurate as two passes
(Chan, Golub & LeVeque's shifted algorithm); where it would not be (more than 8 bits cancelled in
some column) and for the first batch, the batch is reduced in two passes instead, each chunk centred
on its own means as :meth:`SufficientStats.from_chunk` does. Batches are merged pairwise (Chan et
al.) in a balanced tree, in file order whatever the number of threads, so the result is the same
bit for bit. On 2 cores the shifted reduction costs about 20% less CPU than two passes; the product
itself (about 2.4 ns per value for 51 columns) is most of what is left.

Extreme columns (beyond 2^±400, see :func:`~gradfit.numerics.scaling.safe_scale`). Scales must be
shared by all chunks, but a stream cannot know its largest values before it has read them. So each
batch is first reduced unscaled; its statistics bound every column's magnitude (``|x̄| ≤ max|x| ≤ |x̄| +
√Sⱼⱼ``), and only a batch whose bounds leave a column's scale in doubt is measured exactly and
reduced again, divided by powers of two (the batch is still in memory: the pass stays one pass).
Batches gathered with different power-of-two scales merge exactly after rescaling both to the common
scale (multiplying by powers of two is exact), so no first pass over the data is needed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from gradfit.errors import DataError
from gradfit.numerics.scaling import SAFE_EXPONENT, safe_scale
from gradfit.sources.files.batches import _Batch
from gradfit.sources.stats import Part, SufficientStats, TreeReduce, merge_all

#: Rows of a chunk, the unit of work of one reducing thread: a batch is cut into MAX_WORKERS chunks,
#: or more, of MIN_CHUNK_ROWS to CHUNK_ROWS rows (51 columns × 8192 rows is 3.3 MiB of
#: scratch per thread). Measured on 4,000,000 × 50 (2 cores): 2048 rows cost 10% more CPU than
#: 8192-32768 (Python overhead per chunk).
CHUNK_ROWS = 8192
MIN_CHUNK_ROWS = 2048

#: Most threads reducing chunks by default (and the chunks a batch is cut into, at least).
MAX_WORKERS = 8

#: Column magnitudes within 2^±THRESHOLD_EXPONENT are surely safe (one binade of margin below
#: SAFE_EXPONENT covers the rounding of the bounds).
_THRESHOLD = 2.0 ** (SAFE_EXPONENT - 1)


@dataclass(frozen=True)
class PassPosition:
    """How far a statistics pass over files got, to go on from exactly: the first ``files_done`` files
    were read whole, and the first ``groups_done`` row groups of the next (Parquet), and these are the
    gatherer's state after them (its origin and shift, the partial merges of its tree, as (level,
    statistics, magnitude)) and the pass's counters."""

    files_done: int
    rows_done: int
    kept: int
    origin: NDArray[np.float64]
    shift: NDArray[np.float64] | None
    stack: tuple[tuple[int, SufficientStats, NDArray[np.float64]], ...]
    groups_done: int = 0


class _Gatherer:
    """Folds batches into statistics: chunks in cache, reduced in parallel, merged in a balanced tree.

    Use as a context manager (it holds the worker threads, and caps BLAS at one thread in each so
    the cores split the chunks and the decoding instead of fighting over each product).
    """

    def __init__(self, n_features: int, *, workers: int) -> None:
        self.d = n_features
        self.workers = workers
        self.origin: NDArray[np.float64] | None = None  # first row (features, target), raw units
        self.shift: NDArray[np.float64] | None = None  # the previous batch's means, raw units
        # Parts merged in a balanced tree as they come: rounding grows like log(batches) and only
        # O(log batches) d×d matrices are held.
        self.tree = TreeReduce(self._merge)
        self.local = threading.local()
        self.stack_context = ExitStack()

    def __enter__(self) -> _Gatherer:
        # One BLAS thread per reducing thread: the other cores reduce other chunks or decode.
        self.stack_context.enter_context(threadpool_limits(limits=1, user_api="blas"))
        if self.workers > 1:
            self.pool = self.stack_context.enter_context(ThreadPoolExecutor(self.workers, thread_name_prefix="gradfit-reduce"))
        return self

    def __exit__(self, *exc_info) -> None:
        self.stack_context.close()

    def add(self, batch: _Batch) -> None:
        if self.origin is None:
            self.origin = np.array([column[0] for column in batch.columns], dtype=np.float64)
        ones = np.ones(self.d + 1)
        # Overflow or NaN in a first, unscaled reduction is detected below and dealt with.
        with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
            stats = None if self.shift is None else self._reduce_shifted(batch)
            if stats is None:
                stats = self._reduce_two_pass(batch, ones)
            self._check_finite(batch, stats)
            magnitude = self._magnitude(batch, stats)
            scale = safe_scale(magnitude)
            if not np.all(scale == 1.0):
                stats = self._reduce_two_pass(batch, scale)  # extreme columns: again, divided by powers of two
            self.shift = np.append(stats.x_mean * stats.x_scale, stats.y_mean * stats.y_scale)
        self.tree.add(Part(stats, magnitude))

    def position(self, files_done: int, rows_done: int, kept: int, groups_done: int = 0) -> PassPosition:
        """The state to go on from after ``files_done`` whole files and ``groups_done`` row groups of the
        next (see :class:`PassPosition`)."""
        stack = tuple((level, part.stats, part.magnitude) for level, part in self.tree.stack)
        return PassPosition(files_done, rows_done, kept, self.origin, self.shift, stack, groups_done)

    def restore(self, position: PassPosition) -> None:
        """Go on from ``position``: the batches that follow it then merge as they would have."""
        self.origin, self.shift = position.origin, position.shift
        self.tree.stack = [(level, Part(stats, magnitude)) for level, stats, magnitude in position.stack]

    def snapshot(self) -> SufficientStats | None:
        """The statistics of the batches added so far, leaving the stack as it is (None before the first)."""
        return self.tree.result().stats if self.tree.stack else None

    def result(self) -> SufficientStats:
        if not self.tree.stack:
            raise DataError("no rows were read")  # pragma: no cover - empty parts are refused before
        return self.tree.result().stats

    def _merge(self, first: Part, second: Part) -> Part:
        magnitude = np.maximum(first.magnitude, second.magnitude)
        scale = safe_scale(magnitude)
        with np.errstate(under="ignore"):
            merged = self._rescale(first.stats, scale).merge(self._rescale(second.stats, scale))
        return Part(merged, magnitude)

    def _rescale(self, stats: SufficientStats, scale: NDArray[np.float64]) -> SufficientStats:
        """The same statistics in units divided by ``scale`` (exact: ratios of powers of two)."""
        x_scale, y_scale = scale[: self.d], float(scale[self.d])
        if np.array_equal(stats.x_scale, x_scale) and stats.y_scale == y_scale:
            return stats
        ratio, y_ratio = stats.x_scale / x_scale, stats.y_scale / y_scale
        x_origin, y_origin = self.origin[: self.d] / x_scale, float(self.origin[self.d] / y_scale)
        # mean = origin + offset in the old units; the new origin is the raw origin divided afresh
        # (the old one, rescaled, would be the same number unless it had underflowed).
        return replace(
            stats,
            x_origin=x_origin,
            x_offset=stats.x_offset * ratio + (stats.x_origin * ratio - x_origin),
            y_origin=y_origin,
            y_offset=stats.y_offset * y_ratio + (stats.y_origin * y_ratio - y_origin),
            xx=stats.xx * np.outer(ratio, ratio),
            xy=stats.xy * (ratio * y_ratio),
            yy=stats.yy * y_ratio**2,
            x_scale=x_scale,
            y_scale=y_scale,
        )

    def _map_chunks(self, function: Callable[[NDArray[np.float64], int, int], object], batch: _Batch, rows: int) -> list:
        """``function(scratch, start, stop)`` over the batch's chunks, in order (in parallel with workers)."""
        # The cut depends on the batch alone, so that the result does not depend on the threads.
        step = min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, -(-batch.n_rows // MAX_WORKERS)))
        ranges = [(start, min(start + step, batch.n_rows)) for start in range(0, batch.n_rows, step)]

        def run(bounds: tuple[int, int]):
            scratch = getattr(self.local, "scratch", None)
            if scratch is None or scratch.shape[0] != rows:
                scratch = self.local.scratch = np.empty((rows, CHUNK_ROWS))
                scratch[self.d + 1 :] = 1.0  # the shifted kernel's row of ones
            # errstate is per thread: overflow and NaN are detected from the results, not warned about
            with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
                return function(scratch, *bounds)

        if self.workers > 1 and len(ranges) > 1:
            return list(self.pool.map(run, ranges))
        return [run(bounds) for bounds in ranges]

    def _reduce_shifted(self, batch: _Batch) -> SufficientStats | None:
        """Statistics of one batch from sums shifted by the previous batch's means; None when that loses accuracy.

        Each chunk ``Z = X − c`` (``c`` the shift) with a row of ones appended gives, in one
        symmetric product, ``ZZᵀ``, ``Σz`` and ``n``; then ``m = Σz/n``, the centred
        ``S = ZZᵀ − n m mᵀ`` and the mean ``c + m``. Rounding in ``S`` is about ``ε·n·(σ² + m²)``
        (Chan, Golub & LeVeque's shifted algorithm), as good as two passes while ``m`` is not large
        against the spread σ; should ``n m²`` exceed ``(1 − 2^-8)`` of ``ZZᵀ``'s diagonal in any
        column (more than 8 bits lost: a column constant within the batch but not equal to the shift),
        the batch is reduced again by :meth:`_reduce_two_pass`.
        """
        d1 = self.d + 1
        shift = self.shift

        def chunk(scratch: NDArray[np.float64], start: int, stop: int) -> NDArray[np.float64]:
            block = scratch[:, : stop - start]
            for j, column in enumerate(batch.columns):
                np.subtract(column[start:stop], shift[j], out=block[j])
            return block @ block.T

        products = self._map_chunks(chunk, batch, d1 + 1)
        total = products[0]
        for product in products[1:]:
            total += product
        n = batch.n_rows
        mean = total[d1, :d1] / n
        correction = n * np.outer(mean, mean)
        diagonal = np.diag(total)[:d1]
        if not np.all(np.diag(correction) <= diagonal * (1.0 - 2.0**-8)) and np.all(np.isfinite(diagonal)):
            return None
        centred = total[:d1, :d1] - correction
        origin = self.origin
        offset = (shift - origin) + mean
        d = self.d
        return SufficientStats(
            n_samples=n,
            weight=float(n),
            x_origin=origin[:d],
            x_offset=offset[:d],
            y_origin=float(origin[d]),
            y_offset=float(offset[d]),
            xx=centred[:d, :d],
            xy=centred[:d, d],
            yy=float(centred[d, d]),
            x_scale=np.ones(d),
            y_scale=1.0,
        )

    def _reduce_two_pass(self, batch: _Batch, scale: NDArray[np.float64]) -> SufficientStats:
        """Statistics of one batch in units divided by ``scale``, each chunk centred on its own means.

        For each chunk ``A`` (one row per column, shifted by the origin): ``m = mean(A)``, then
        ``A ← A − m`` and ``S = A Aᵀ``, whose blocks are ``XᵀX``, ``Xᵀy`` and ``yᵀy`` (centred):
        what :meth:`SufficientStats.from_chunk` computes. The chunks are merged pairwise.
        """
        d = self.d
        unscaled = bool(np.all(scale == 1.0))
        origin = self.origin / scale
        x_origin, y_origin = origin[:d], float(origin[d])
        x_scale, y_scale = scale[:d].copy(), float(scale[d])

        def chunk(scratch: NDArray[np.float64], start: int, stop: int) -> SufficientStats:
            n = stop - start
            block = scratch[: d + 1, :n]
            for j, column in enumerate(batch.columns):
                if unscaled:
                    np.subtract(column[start:stop], origin[j], out=block[j])
                else:
                    np.divide(column[start:stop], scale[j], out=block[j])
                    block[j] -= origin[j]
            mean = block.mean(axis=1)
            block -= mean[:, None]
            products = block @ block.T
            return SufficientStats(
                n_samples=n,
                weight=float(n),
                x_origin=x_origin,
                x_offset=mean[:d],
                y_origin=y_origin,
                y_offset=float(mean[d]),
                xx=products[:d, :d],
                xy=products[:d, d],
                yy=float(products[d, d]),
                x_scale=x_scale,
                y_scale=y_scale,
            )

        return merge_all(self._map_chunks(chunk, batch, d + 2))

    def _check_finite(self, batch: _Batch, stats: SufficientStats) -> None:
        """A NaN or infinite value makes its column's mean non-finite: find the first and refuse it."""
        means = np.append(stats.x_offset, stats.y_offset)
        suspects = np.flatnonzero(~np.isfinite(means))
        first: tuple[int, int] | None = None  # (row, column)
        for j in suspects:
            bad = np.flatnonzero(~np.isfinite(batch.columns[j]))
            if bad.size and (first is None or bad[0] < first[0]):
                first = (int(bad[0]), int(j))
        if first is not None:
            raise DataError(batch.bad_value(first[1], first[0]))
        # No such value: the mean overflowed, which _magnitude sees as a column to measure.

    def _magnitude(self, batch: _Batch, stats: SufficientStats) -> NDArray[np.float64]:
        """1.0 for columns surely within 2^±400 (from the statistics), else their largest ``|value|``.

        With ``x̄ = origin + offset`` and ``S`` the centred sum of squares over ``n`` rows,
        ``max(|x̄|, √(S/n)/2) ≤ max|x| ≤ |origin| + |offset| + √S``. Only columns these bounds leave
        in doubt (and columns whose statistics overflowed, where the bounds are not finite) are read
        again to measure them.
        """
        origin = np.append(stats.x_origin, stats.y_origin)
        offset = np.append(stats.x_offset, stats.y_offset)
        spread = np.append(np.diag(stats.xx), stats.yy)
        root = np.sqrt(np.maximum(spread, 0.0))
        upper = np.abs(origin) + np.abs(offset) + root
        lower = np.maximum(np.abs(origin + offset), root / (2.0 * math.sqrt(stats.n_samples)))
        sure = (upper < _THRESHOLD) & (lower > 1.0 / _THRESHOLD)  # False for NaN bounds
        magnitude = np.ones(self.d + 1)
        for j in np.flatnonzero(~sure):
            magnitude[j] = float(np.max(np.abs(batch.columns[j])))
        return magnitude
