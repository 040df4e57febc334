"""The :class:`DaskSource`: a fit's rows on a Dask cluster, each pass one graph over the aligned blocks
(:mod:`~gradfit.sources.dask.align`) whose tasks (:mod:`~gradfit.sources.dask.workers`) reduce on the workers;
and the names of the graph's tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed, delayed
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.numerics.scaling import safe_scale
from gradfit.sources.dask.align import _Block, align_blocks
from gradfit.sources.dask.failures import on_cluster
from gradfit.sources.dask.workers import (
    _block_kernel,
    _block_max_abs,
    _block_moments,
    _block_residual,
    _block_stats,
    _first_row,
    _fold,
    _max_parts,
    _merge_parts,
    _sum_moments,
    _sum_parts,
    _tree,
    _Where,
)
from gradfit.sources.stats import SufficientStats

__all__ = ["DaskSource"]

#: Parts merged by one task of the reduction tree (the fan-in; dask's own reductions default to 8 too).
#: Each part is d×d, so a merge task holds SPLIT_EVERY of them: 8 × 50² × 8 bytes is 160 kB.
SPLIT_EVERY = 8

#: Prefixes of the graph's task keys (they name the tasks in the dashboard and the task stream).
ORIGIN_PREFIX = "gradfit-origin"
BLOCK_PREFIX = "gradfit-block-stats"
MERGE_PREFIX = "gradfit-merge-stats"
MAX_ABS_PREFIX = "gradfit-max-abs"
PASS_PREFIX = "gradfit-pass"


class DaskSource:
    """Rows of Dask collections; :meth:`stats` is computed per block and reduced on the cluster.

    Parameters
    ----------
    X : dask.array.Array of shape (n, d), or dask.dataframe.DataFrame with d numeric columns
        Blocks of whole rows are used as they are; an array also chunked along its columns is
        rechunked to whole rows (``X.rechunk({1: -1})``, on the workers) since each row's products
        need all its columns.
    y : dask.array.Array of shape (n,), dask Series (or one-column DataFrame), or an in-memory array
        Lined up with X's blocks by :func:`align_blocks`: a column of X's DataFrame is read with
        X's columns, partition by partition, however Dask would partition it alone; a Series from
        elsewhere is repartitioned to X's divisions (where both are known) or paired partition by
        partition; a Dask array is rechunked to X's rows (known chunks) or paired block by block.
        In-memory ``y`` is split by X's blocks (sent to the workers with the graph).
    sample_weight : same kinds as ``y``, or a number; optional
        Non-negative row weights (``Σ w_i r_i² / 2Σw``).
    split_every : int, default=8
        Fan-in of the merge tree on the workers.

    Attributes
    ----------
    n_samples : int
        Rows; for a DataFrame, known after :meth:`stats` (asking before that counts them on the cluster).
    n_features : int
    feature_names : list of str or None
        A DataFrame's column names (None for arrays or non-string names).

    Raises
    ------
    DataError
        Non-numeric DataFrame columns (named); rows of y or sample_weight that cannot be lined up
        with X's (lengths that differ, partitions of unknown extent that differ in number, or
        partitions holding other index labels: see :func:`align_blocks`); from :meth:`stats`, NaN or
        infinite values (naming the column, the row and the block), no rows.
    ValueError
        X not 2-D, no y.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        split_every: int = SPLIT_EVERY,
    ) -> None:
        if y is None:
            raise ValueError("y is required: fit(X, y) with X a Dask array or DataFrame needs a target")
        if not isinstance(split_every, int) or split_every < 2:
            raise ValueError(f"split_every must be an integer ≥ 2; got {split_every!r}")
        self.split_every = split_every
        #: Passes over the rows made by a streaming fit (:meth:`columns`, :meth:`residual_pass`).
        self.passes = 0
        aligned = align_blocks(X, y, sample_weight)
        self._frame = aligned.frame
        self.feature_names: list[str] | None = aligned.feature_names
        self.n_features = aligned.n_features
        self._blocks = aligned.blocks
        self._row_chunks = aligned.row_chunks
        self._n_samples: int | None = None if aligned.row_chunks is None else int(sum(aligned.row_chunks))

    def __repr__(self) -> str:
        kind = "DataFrame" if self._frame else "array"
        return f"DaskSource({kind}, n_features={self.n_features}, blocks={len(self._blocks)})"

    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            self._n_samples = int(sum(self._compute(*[delayed(len)(block.X) for block in self._blocks])))
        return self._n_samples

    @property
    def n_blocks(self) -> int:
        return len(self._blocks)

    # --- the one pass -------------------------------------------------------------------------

    def stats(self) -> SufficientStats:
        """Gather :class:`SufficientStats` on the workers: one ``dask.compute``, d×d results only.

        Every block is centred on one shared origin, the first row (taken by a task on the first
        block, so it costs no round trip), then merged pairwise in a tree on the workers. As in
        :meth:`MemorySource.stats`, columns whose statistics show values beyond 2^±400 are gathered
        once more, divided by exact powers of two (a second pass, for such extreme data only).
        """
        ones = np.ones(self.n_features + 1)
        origin_task = delayed(_first_row, pure=True)(
            self._blocks[0].X, self._blocks[0].y, self._describe(self._blocks[0]), dask_key_name=(f"{ORIGIN_PREFIX}-{uuid.uuid4().hex}", 0)
        )
        origin, part = self._compute(origin_task, self._reduction(origin_task, ones))
        if origin is None:  # the first block is empty (a filtered DataFrame): take the first row there is
            origin = self._first_origin()
            part = self._compute(self._reduction(origin, ones))[0]
        if part is None:
            raise DataError("X has no rows: every block of the Dask collection is empty")
        magnitude = part.magnitude
        if not np.all(np.isfinite(magnitude)):  # products overflowed: measure the columns exactly
            magnitude = self._max_abs()
        scale = safe_scale(magnitude)
        if not np.all(scale == 1.0):  # extreme columns (beyond 2^±400): once more, divided by powers of two
            part = self._compute(self._reduction(origin, scale))[0]
        stats = part.stats
        if not stats.weight > 0:
            raise ValueError("sample_weight sums to zero: no row would count")
        self._n_samples = stats.n_samples
        return stats

    def _reduction(self, origin: Delayed | NDArray[np.float64], scale: NDArray[np.float64]) -> Delayed:
        """The graph: one statistics task per block, then a tree of merges (``split_every`` at a time)."""
        token = uuid.uuid4().hex
        parts = [
            delayed(_block_stats, pure=True)(
                block.X,
                block.y,
                block.weight,
                origin,
                scale,
                self._describe(block),
                dask_key_name=(f"{BLOCK_PREFIX}-{token}", block.index),
            )
            for block in self._blocks
        ]
        return _tree(parts, _merge_parts, split_every=self.split_every, prefix=f"{MERGE_PREFIX}-{token}")

    # --- streaming passes (when d × d statistics would not fit in memory) -----------------------

    def columns(self, *, means: bool = True, squares: bool = True):  # ColumnMoments
        """Weighted column moments for a streaming fit: one ``dask.compute``, d-vectors only (see
        :meth:`gradfit.sources.passes.StreamingSource.columns`; ``means``/``squares`` are computed
        either way, they cost nothing next to the round trip)."""
        from gradfit.sources.passes import ColumnMoments

        self.passes += 1
        ones = np.ones(self.n_features + 1)
        moments = self._sum_blocks(_block_moments, ones, _sum_moments)
        if moments is None:
            raise DataError("X has no rows: every block of the Dask collection is empty")
        scale = safe_scale(moments[4])
        if not np.all(scale == 1.0):  # extreme columns (beyond 2^±400): once more, divided by powers of two
            self.passes += 1
            moments = self._sum_blocks(_block_moments, scale, _sum_moments)
        count, total, sums, square_sums, _ = moments
        if not total > 0:
            raise ValueError("sample_weight sums to zero: no row would count")
        self._n_samples = int(count)
        return ColumnMoments.from_sums(count, total, sums, square_sums, scale)

    def residual_pass(self, v: NDArray[np.float64], a: float, beta: float) -> tuple[float, NDArray[np.float64], float]:
        """``(Σ w r², Xᵀ(w∘r), Σ w r)`` for ``r = Xv + a − βy``: one ``dask.compute``, each block's
        share computed where it lives and summed in a tree on the workers; only d-vectors travel."""
        self.passes += 1
        _, sum_r2, gradient, sum_r = self._sum_blocks(_block_residual, (np.asarray(v, dtype=np.float64), float(a), float(beta)))
        return float(sum_r2), gradient, float(sum_r)

    def reduce_rows(self, kernel: Callable, combine: Callable) -> Any:
        """``kernel(X_block, y_block, weight_block)`` on every block where it lives, the results folded
        with ``combine(a, b)`` in a tree on the workers: one ``dask.compute``; only the kernel's
        results travel (for the direct solver's refinement, a few d-vectors)."""
        self.passes += 1
        return self._sum_blocks(_block_kernel, (kernel, combine), partial(_fold, combine))

    def _sum_blocks(self, function: Callable, argument: Any, combine: Callable | None = None) -> Any:
        """``function`` on every block (with ``argument``), combined in a tree (default: summed) on the workers."""
        combine = combine or _sum_parts
        token = uuid.uuid4().hex
        parts = [
            delayed(function, pure=True)(block.X, block.y, block.weight, argument, self._describe(block),
                                         dask_key_name=(f"{PASS_PREFIX}-{token}", block.index))
            for block in self._blocks
        ]
        return self._compute(_tree(parts, combine, split_every=self.split_every, prefix=f"{PASS_PREFIX}-sum-{token}"))[0]

    def _first_origin(self) -> NDArray[np.float64]:
        """The first row of the first non-empty block (only needed when the first block is empty)."""
        lengths = self._compute(*[delayed(len)(block.X) for block in self._blocks])
        for block, length in zip(self._blocks, lengths):
            if length:
                return self._compute(delayed(_first_row)(block.X, block.y, self._describe(block)))[0]
        raise DataError("X has no rows: every block of the Dask collection is empty")

    def _max_abs(self) -> NDArray[np.float64]:
        """Largest ``|value|`` of each column (features, then target), reduced on the workers."""
        token = uuid.uuid4().hex
        parts = [
            delayed(_block_max_abs, pure=True)(block.X, block.y, dask_key_name=(f"{MAX_ABS_PREFIX}-{token}", block.index))
            for block in self._blocks
        ]
        return self._compute(_tree(parts, _max_parts, split_every=self.split_every, prefix=f"{MAX_ABS_PREFIX}-merge-{token}"))[0]

    def _compute(self, *collections: Any) -> tuple:
        """``dask.compute``; where the cluster lost rows it cannot recompute, a :class:`LostDataError`
        naming them instead of ``distributed``'s own error (see :mod:`~gradfit.sources.dask.failures`)."""
        with on_cluster(self._blocks, self._row_chunks, frame=self._frame):
            return dask.compute(*collections)

    def _describe(self, block: _Block) -> _Where:
        return _Where(block=block.index, start=block.start, names=self.feature_names)
