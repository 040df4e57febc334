"""Rows on a Dask cluster: statistics gathered per block on the workers and tree-reduced there.

``LinearRegression().fit(X, y)`` with a Dask array or DataFrame ``X`` (and ``y``, ``sample_weight``
as Dask arrays or Series, or small in-memory arrays) wraps them in a :class:`DaskSource`. Its
:meth:`~DaskSource.stats` is one ``dask.compute`` of a graph with

* one task per block of rows: :meth:`SufficientStats.from_chunk` over the block, 2 MiB at a time
  (as :class:`~gradfit.sources.memory.MemorySource` does), merged in a balanced tree;
* a tree of merge tasks (``split_every`` parts each, Chan et al.'s pairwise update) on the workers.

Each task returns a :class:`SufficientStats`: a (d, d) matrix and a few d-vectors. The blocks stay
where they are; only those d×d results move between workers, and one of them reaches the client.
Every solver then iterates on the client in O(d²) per update, without touching the cluster again.
The graph runs on whatever scheduler is active: a ``distributed.Client``'s cluster when there is one.

Which rows make a block is decided in one place, :func:`align_blocks`: Dask may partition
``df[features]`` and ``df["y"]`` differently (``read_parquet`` reads fewer columns in bigger
partitions), so y and the weights are lined up with X's blocks in the graph, lazily, and every
pass (statistics, streaming passes) maps over the same aligned blocks. Columns of one DataFrame are
read together, once per pass.

The workers need gradfit installed (``pip install 'gradfit[dask]'`` on them too).

Examples
--------
>>> import dask
>>> import dask.array as da
>>> import numpy as np
>>> from gradfit import LinearRegression
>>> rng = np.random.default_rng(0)
>>> X = da.from_array(rng.normal(size=(1000, 3)), chunks=(250, 3))
>>> y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
>>> with dask.config.set(scheduler="synchronous"):  # on a cluster: the distributed.Client's workers
...     model = LinearRegression(solver="auto").fit(X, y)
>>> np.round(model.coef_, 12), round(model.intercept_, 12), model.solver_
(array([ 1. , -2. ,  0.5]), 3.0, 'exact')

On a cluster, fit the files' DataFrame as it is (each file is read once per pass; persist it first
when a streaming fit will make many passes)::

    from distributed import Client
    client = Client("scheduler-address:8786")        # or Client(LocalCluster(n_workers=2))
    frame = dask.dataframe.read_parquet("s3://bucket/table/")
    model = LinearRegression().fit(frame.drop(columns="y"), frame["y"])
    model.feature_names_in_                          # the frame's column names
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial, reduce
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import dask
    import dask.array as da
    from dask.delayed import Delayed, delayed
    from dask.sizeof import sizeof
except ImportError as error:  # pragma: no cover - exercised with dask hidden from sys.modules
    raise ImportError("Dask support needs the optional extra: pip install 'gradfit[dask]'") from error

from gradfit.errors import DataError
from gradfit.numerics.scaling import safe_scale
from gradfit.sources.memory import CHUNK_BYTES
from gradfit.sources.stats import Part, SufficientStats, merge_all

__all__ = ["AlignedBlocks", "DaskSource", "align_blocks", "predict_blocks"]

#: Parts merged by one task of the reduction tree (the fan-in; dask's own reductions default to 8 too).
#: Each part is d×d, so a merge task holds SPLIT_EVERY of them: 8 × 50² × 8 bytes is 160 kB.
SPLIT_EVERY = 8

#: Prefixes of the graph's task keys (they name the tasks in the dashboard and the task stream).
ORIGIN_PREFIX = "gradfit-origin"
BLOCK_PREFIX = "gradfit-block-stats"
MERGE_PREFIX = "gradfit-merge-stats"
MAX_ABS_PREFIX = "gradfit-max-abs"
PASS_PREFIX = "gradfit-pass"
JOIN_PREFIX = "gradfit-join"  # a DataFrame partition with the y (and weights) of its rows beside it
PIECE_PREFIX = "gradfit-rows"  # its X, y or weight columns, as the block's pieces


@dataclass(frozen=True)
class _Block:
    """One block of rows: delayed X, y and weight pieces, and where the block starts."""

    index: int
    X: Delayed
    y: Delayed
    weight: Delayed | float | None
    start: int | None  # first row's number in the whole array; None where block lengths are unknown


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
        self._n_samples: int | None = None if aligned.row_chunks is None else int(sum(aligned.row_chunks))

    def __repr__(self) -> str:
        kind = "DataFrame" if self._frame else "array"
        return f"DaskSource({kind}, n_features={self.n_features}, blocks={len(self._blocks)})"

    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            self._n_samples = int(sum(dask.compute(*[delayed(len)(block.X) for block in self._blocks])))
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
        origin, part = dask.compute(origin_task, self._reduction(origin_task, ones))
        if origin is None:  # the first block is empty (a filtered DataFrame): take the first row there is
            origin = self._first_origin()
            part = dask.compute(self._reduction(origin, ones))[0]
        if part is None:
            raise DataError("X has no rows: every block of the Dask collection is empty")
        magnitude = part.magnitude
        if not np.all(np.isfinite(magnitude)):  # products overflowed: measure the columns exactly
            magnitude = self._max_abs()
        scale = safe_scale(magnitude)
        if not np.all(scale == 1.0):  # extreme columns (beyond 2^±400): once more, divided by powers of two
            part = dask.compute(self._reduction(origin, scale))[0]
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
        return self._sum_blocks(_block_kernel, kernel, partial(_fold, combine))

    def _sum_blocks(self, function: Callable, argument: Any, combine: Callable | None = None) -> Any:
        """``function`` on every block (with ``argument``), combined in a tree (default: summed) on the workers."""
        combine = combine or _sum_parts
        token = uuid.uuid4().hex
        parts = [
            delayed(function, pure=True)(block.X, block.y, block.weight, argument, self._describe(block),
                                         dask_key_name=(f"{PASS_PREFIX}-{token}", block.index))
            for block in self._blocks
        ]
        return dask.compute(_tree(parts, combine, split_every=self.split_every, prefix=f"{PASS_PREFIX}-sum-{token}"))[0]

    def _first_origin(self) -> NDArray[np.float64]:
        """The first row of the first non-empty block (only needed when the first block is empty)."""
        lengths = dask.compute(*[delayed(len)(block.X) for block in self._blocks])
        for block, length in zip(self._blocks, lengths):
            if length:
                return dask.compute(delayed(_first_row)(block.X, block.y, self._describe(block)))[0]
        raise DataError("X has no rows: every block of the Dask collection is empty")

    def _max_abs(self) -> NDArray[np.float64]:
        """Largest ``|value|`` of each column (features, then target), reduced on the workers."""
        token = uuid.uuid4().hex
        parts = [
            delayed(_block_max_abs, pure=True)(block.X, block.y, dask_key_name=(f"{MAX_ABS_PREFIX}-{token}", block.index))
            for block in self._blocks
        ]
        return dask.compute(_tree(parts, _max_parts, split_every=self.split_every, prefix=f"{MAX_ABS_PREFIX}-merge-{token}"))[0]

    def _describe(self, block: _Block) -> _Where:
        return _Where(block=block.index, start=block.start, names=self.feature_names)

# --- lining up X, y and sample_weight: the one place that decides which rows make a block ------

#: What to do when a Series does not hold X's rows, partition for partition.
SAME_FRAME_ADVICE = (
    "select X and {what} as columns of one DataFrame, after any filtering (df = df.dropna(); df[features], df[column])"
)


@dataclass(frozen=True)
class AlignedBlocks:
    """X, y and sample_weight cut into the same blocks of rows: what :func:`align_blocks` returns.

    Attributes
    ----------
    blocks : list of _Block
        Block ``i``'s ``X``, ``y`` and ``weight`` are delayed pieces (or a number, for a constant
        weight) holding the same rows in the same order. Every pass over the data is one task per
        block on these, so each block of X meets its rows of y on the worker that holds them.
    n_features : int
    feature_names : list of str or None
        A DataFrame's column names (None for arrays or non-string names).
    row_chunks : tuple of int or None
        Rows in each block, where known without computing anything (Dask arrays of known chunks).
    frame : bool
        Whether X is a DataFrame (its blocks are pandas, with index labels for the error messages).
    """

    blocks: list[_Block]
    n_features: int
    feature_names: list[str] | None
    row_chunks: tuple[int, ...] | None
    frame: bool


def align_blocks(X: Any, y: Any, sample_weight: Any = None) -> AlignedBlocks:
    """Cut ``X``, ``y`` and ``sample_weight`` into delayed blocks of the same rows, without a pass.

    Dask plans each collection's partitions on its own: ``dd.read_parquet`` fuses row groups into
    bigger partitions when fewer columns are read, so ``df["y"]`` comes in fewer, longer blocks than
    ``df[features]``. Nothing is computed here to line them up (but see in-memory ``y``); instead the
    graph is built so that each block of X meets its rows of y in one task:

    * DataFrame X, and y (and the weights) blockwise from the same source (``df[features]`` or
      ``df.drop(columns=...)`` with ``df["y"]``, Dask's "co-aligned"): one ``map_partitions`` over
      all of them, which Dask's optimiser plans as one read of the union of their columns. Every
      file is read once, and X's partitions are those of that read.
    * DataFrame X, and a Series from elsewhere: repartitioned to X's divisions when both are known;
      paired partition for partition when not but their numbers match; refused otherwise. On the
      workers each pair must hold the same index, row for row (no silent reindexing).
    * Dask array X: a Dask array ``y`` of known chunks is rechunked to X's rows (on the workers);
      of unknown chunks, paired block for block when the numbers of blocks match. A Series beside
      an array X is made an array first (its partitions' lengths counted on the cluster).
    * ``y`` in memory (numpy, pandas): split by X's block lengths, sent with the graph. Those
      lengths are counted on the cluster where unknown (a DataFrame X: one extra pass).

    Parameters
    ----------
    X : dask.array.Array of shape (n, d), dask DataFrame of numeric columns, or dask Series
    y : dask array, Series or one-column DataFrame, or in-memory array-like of length n
    sample_weight : same kinds as ``y``, a positive number, or None

    Returns
    -------
    AlignedBlocks

    Raises
    ------
    DataError
        Rows that cannot be lined up (lengths that differ, or partitions of unknown extent that
        differ in number), non-numeric columns, a y of more than one column.
    """
    targets = {"y": _one_column(y, "y")}
    constant_weight: float | None = None
    if sample_weight is None or (np.ndim(sample_weight) == 0 and not _is_dask(sample_weight)):
        constant_weight = _check_scalar_weight(sample_weight)
    else:
        targets["sample_weight"] = _one_column(sample_weight, "sample_weight")
    frame = _is_frame(X)
    if frame:
        X, feature_names = _check_frame(X)
        n_features = len(X.columns)
        row_chunks: tuple[int, ...] | None = None
        x_blocks, pieces = _frame_blocks(X, {what: values for what, values in targets.items() if _is_frame(values)})
    else:
        X, feature_names = _check_array(X), None
        n_features = int(X.shape[1])
        row_chunks = None if any(np.isnan(length) for length in X.chunks[0]) else tuple(int(n) for n in X.chunks[0])
        x_blocks, pieces = list(X.to_delayed().ravel()), {}
    lengths: list[tuple[int, ...]] = []  # X's block lengths, counted at most once (for in-memory targets)
    for what, values in targets.items():
        if what in pieces:
            continue
        if _is_dask(values):
            pieces[what] = _array_pieces(values, what, n_blocks=len(x_blocks), row_chunks=row_chunks, frame=frame)
            continue
        if row_chunks is None and not lengths:
            lengths.append(tuple(dask.compute(*[delayed(len)(block) for block in x_blocks])))
        pieces[what] = _memory_pieces(values, what, row_chunks or lengths[0])
    weights = pieces.get("sample_weight", [constant_weight] * len(x_blocks))
    starts = [None] * len(x_blocks) if row_chunks is None else np.concatenate([[0], np.cumsum(row_chunks)[:-1]])
    blocks = [
        _Block(index, x_block, y_block, weight, None if start is None else int(start))
        for index, (x_block, y_block, weight, start) in enumerate(zip(x_blocks, pieces["y"], weights, starts))
    ]
    return AlignedBlocks(blocks, n_features, feature_names, row_chunks, frame)


def _frame_blocks(X: Any, series: dict[str, Any]) -> tuple[list[Delayed], dict[str, list[Delayed]]]:
    """X's partitions and the Series' pieces of the same rows (see :func:`align_blocks`)."""
    if not series:
        return list(X.to_delayed()), {}
    n_features = len(X.columns)
    together = [what for what, values in series.items() if _co_aligned(X, values)]
    apart = [what for what in series if what not in together]  # from elsewhere: paired with X's partitions after
    names = together + apart  # the order of their columns after X's
    columns = _joined_columns(X.columns, names)
    token = uuid.uuid4().hex
    if together:
        # One expression over all the columns: the optimiser plans one read of them, partition by partition.
        others = [series[what] for what in together]
        meta = _join_partition(X._meta, *[values._meta for values in others], names=together, columns=columns[: len(together)])
        X = X.map_partitions(_join_partition, *others, names=together, columns=columns[: len(together)], meta=meta)
    if not apart:
        joined = list(X.to_delayed())
    else:
        X = X.optimize()  # the partitions to_delayed gives (the optimiser may fuse them)
        x_parts = list(X.to_delayed())
        parts = []
        for what in apart:
            values = series[what]
            if X.known_divisions and values.known_divisions and values.divisions != X.divisions:
                values = values.repartition(divisions=X.divisions, force=True)
            values_parts = list(values.to_delayed())
            if len(values_parts) != len(x_parts):
                raise DataError(
                    f"{what} has {len(values_parts)} partitions and X has {len(x_parts)}, of unknown divisions, so "
                    f"their rows cannot be lined up; {SAME_FRAME_ADVICE.format(what=what)}, or pass {what} in memory"
                )
            parts.append(values_parts)
        joined = [
            delayed(_join_partition, pure=True)(
                x_part, *others, names=apart, columns=columns[len(together) :], partition_info={"number": number},
                dask_key_name=(f"{JOIN_PREFIX}-{token}", number),
            )
            for number, (x_part, *others) in enumerate(zip(x_parts, *parts))
        ]

    def pieces_of(selection: slice | int, what: str) -> list[Delayed]:
        return [
            delayed(_frame_piece, pure=True)(part, selection, dask_key_name=(f"{PIECE_PREFIX}-{what}-{token}", number))
            for number, part in enumerate(joined)
        ]

    pieces = {what: pieces_of(n_features + k, "weight" if what == "sample_weight" else what) for k, what in enumerate(names)}
    return pieces_of(slice(0, n_features), "X"), pieces


def _co_aligned(X: Any, values: Any) -> bool:
    """Whether ``values`` comes from X's source by blockwise operations (then one read serves both)."""
    try:
        from dask.dataframe.dask_expr._expr import are_co_aligned
    except ImportError:  # pragma: no cover - a Dask without query planning: partitions are paired as they come
        return False
    return bool(are_co_aligned(X.expr, values.expr))


def _joined_columns(existing: Any, names: list[str]) -> list[str]:
    """Names for y and the weights beside X's columns, none of which they may replace."""
    taken = {str(column) for column in existing}
    columns = []
    for what in names:
        column = f"__gradfit_{what}__"
        while column in taken:
            column += "_"
        taken.add(column)
        columns.append(column)
    return columns


def _array_pieces(values: Any, what: str, *, n_blocks: int, row_chunks: tuple[int, ...] | None, frame: bool) -> list:
    """A Dask array (or, beside an array X, a Series) cut into X's row blocks."""
    if _is_frame(values):  # beside a Dask array X: an array of counted partition lengths
        values = values.to_dask_array(lengths=True)
    if values.ndim != 1:
        raise DataError(f"{what} must be 1-D (n_samples,); got a Dask array of shape {values.shape}")
    known = not any(np.isnan(length) for length in values.chunks[0])
    if row_chunks is not None and known:
        if values.shape[0] != sum(row_chunks):
            raise DataError(f"{what} has {values.shape[0]} rows but X has {sum(row_chunks)}; give one {what} value per row of X")
        if values.chunks[0] != row_chunks:
            values = values.rechunk((row_chunks,))  # moved on the workers, with the graph
    elif values.numblocks[0] != n_blocks:
        advice = (
            f"pass {what} as a column of X's DataFrame (df[column]) or in memory"
            if frame
            else f"call .compute_chunk_sizes() on X and {what} first, or make both from one DataFrame"
        )
        raise DataError(
            f"{what} has {values.numblocks[0]} blocks and X has {n_blocks}, and their lengths are unknown, so their "
            f"rows cannot be lined up; {advice}"
        )
    return list(values.to_delayed().ravel())


def _memory_pieces(values: Any, what: str, lengths: tuple[int, ...]) -> list[Delayed]:
    """In-memory values (numpy, pandas, lists) cut by X's block lengths, each piece sent with the graph."""
    array = np.asarray(values, dtype=np.float64).reshape(-1) if np.ndim(values) else None
    if array is None:
        raise ValueError(f"{what} must hold one number per row of X; got {values!r}")
    if array.shape[0] != sum(lengths):
        raise DataError(f"{what} has {array.shape[0]} rows but X has {int(sum(lengths))}; give one {what} value per row of X")
    bounds = np.cumsum(lengths)[:-1].astype(int)
    return [delayed(piece, pure=True) for piece in np.split(array, bounds)]


def _one_column(values: Any, what: str) -> Any:
    """A Dask one-column DataFrame as its Series, a Dask (n, 1) array as its column; others as given."""
    frames = sys.modules.get("dask.dataframe")
    if frames is not None and isinstance(values, frames.DataFrame):
        if len(values.columns) != 1:
            raise DataError(f"{what} must be one column; got a DataFrame with {len(values.columns)} columns")
        return values[values.columns[0]]
    if isinstance(values, da.Array) and values.ndim == 2 and values.shape[1] == 1:
        return values[:, 0]
    return values


def _check_array(X: Any) -> Any:
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a Dask array or DataFrame; got {type(X).__module__}.{type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got a Dask array of shape {X.shape}")
    if type(getattr(X, "_meta", None)).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "X is a Dask array of scipy.sparse blocks, which the cluster path does not take; fit X.compute() "
            "(one scipy.sparse matrix: the streaming engine fits it without densifying) instead"
        )
    if X.dtype.kind not in "biuf":
        raise DataError(f"X must hold numbers; got a Dask array of dtype {X.dtype}")
    if X.numblocks[1] > 1:
        # Each row's products need all its columns: whole rows per block (moved on the workers).
        X = X.rechunk({1: -1})
    return X


def _check_frame(X: Any) -> tuple[Any, list[str] | None]:
    """X as a DataFrame of numeric columns, and its column names where they are all strings."""
    import dask.dataframe as dd
    import pandas as pd

    if isinstance(X, dd.Series):
        X = X.to_frame()
    for name, dtype in X.dtypes.items():
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise DataError(f"X column {name!r} is not numeric (dtype {dtype}); drop it or convert it to numbers")
    names = list(X.columns)
    return X, names if all(isinstance(name, str) for name in names) else None


# --- what runs on the workers -----------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where a block sits, for error messages: its number, its first row, the column names."""

    block: int
    start: int | None
    names: list[str] | None

    def column(self, j: int, n_features: int) -> str:
        if j == n_features:
            return "y"
        return f"X column {self.names[j]!r}" if self.names is not None else f"X column {j}"

    def row(self, i: int, labels: Any = None) -> str:
        if self.start is not None:
            return f"row {self.start + i} (block {self.block})"
        value = labels[i] if labels is not None else None
        label = "" if labels is None else f", index {value.item() if isinstance(value, np.generic) else value!r}"
        return f"row {i} of partition {self.block}{label}"


def _values(block: Any) -> tuple[NDArray[np.float64], Any]:
    """A block as float64 numpy (NaN for missing values) and its index labels where it has them."""
    if hasattr(block, "to_numpy"):
        return block.to_numpy(dtype=np.float64, na_value=np.nan), getattr(block, "index", None)
    return np.asarray(block, dtype=np.float64), None


def _join_partition(x_part: Any, *others: Any, names: list[str], columns: list[str], partition_info: dict | None = None) -> Any:
    """X's partition with y (and the weights) beside its columns, once each is seen to hold X's rows.

    Rows are paired by position only where the index says they are the same rows: a Series filtered
    apart from X, or from another source, is refused rather than silently reindexed.
    """
    number = "?" if partition_info is None else partition_info["number"]
    for what, other in zip(names, others):
        if len(other) != len(x_part):
            raise DataError(
                f"partition {number} of X has {len(x_part)} rows but {what}'s has {len(other)}; "
                + SAME_FRAME_ADVICE.format(what=what)
            )
        if not other.index.equals(x_part.index):
            row = int(np.flatnonzero(np.asarray(x_part.index) != np.asarray(other.index))[0])
            raise DataError(
                f"partition {number} of X and of {what} hold other rows (index {x_part.index[row]!r} against "
                f"{other.index[row]!r} at row {row}); " + SAME_FRAME_ADVICE.format(what=what)
            )
    return x_part.assign(**dict(zip(columns, others)))


def _frame_piece(part: Any, columns: slice | int) -> Any:
    """X's columns (a slice) or y's or the weights' column (a position) of a joined partition."""
    return part.iloc[:, columns]


def _first_row(x_block: Any, y_block: Any, where: _Where) -> NDArray[np.float64] | None:
    """``[x_0, y_0]`` in raw units, the origin every block is centred on; None for an empty block."""
    X, labels = _values(x_block)
    y = _values(y_block)[0].reshape(-1)
    if X.shape[0] == 0 or y.shape[0] == 0:
        return None
    row = np.append(X[0], y[0])
    bad = np.flatnonzero(~np.isfinite(row))
    if bad.size:
        raise DataError(_bad_value_message(where, int(bad[0]), 0, X.shape[1], labels))
    return row


def _block_stats(
    x_block: Any,
    y_block: Any,
    weight: Any,
    origin: NDArray[np.float64] | None,
    scale: NDArray[np.float64],
    where: _Where,
) -> Part | None:
    """Statistics of one block, 2 MiB of rows at a time through one scratch chunk (as MemorySource)."""
    X, labels = _values(x_block)
    y = _values(y_block)[0].reshape(-1)
    n, d = X.shape
    if y.shape[0] != n:
        raise DataError(
            f"block {where.block} of X has {n} rows but y's has {y.shape[0]}; give y the same row blocks as X"
        )
    if n == 0 or origin is None:
        return None
    w = _weights(weight, n, where, labels)
    x_scale, y_scale = scale[:d], float(scale[d])
    x_origin, y_origin = origin[:d] / x_scale, float(origin[d] / y_scale)
    step = max(1, min(n, CHUNK_BYTES // (max(1, d) * X.itemsize)))
    work = np.empty((step, d))
    largest = np.zeros(d + 1)
    parts = []
    # Extreme columns may over- or underflow in this unscaled pass; stats() sees that from the
    # magnitudes and gathers again on scaled columns, so it must not warn.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for start in range(0, n, step):
            rows = slice(start, start + step)
            part = SufficientStats.from_chunk(
                X[rows],
                y[rows],
                x_scale=x_scale,
                y_scale=y_scale,
                x_origin=x_origin,
                y_origin=y_origin,
                sample_weight=None if w is None else w[rows],
                work=work,
            )
            _check_finite(part, X[rows], y[rows], where, start, labels)
            if part.weight > 0:
                spread = np.sqrt(np.maximum(np.append(np.diag(part.xx), part.yy), 0.0) / part.weight)
                mean = np.abs(np.append(part.x_origin, part.y_origin)) + np.abs(np.append(part.x_offset, part.y_offset))
                np.maximum(largest, mean + spread, out=largest)
            parts.append(part)
    return Part(merge_all(parts), largest)


def _weights(weight: Any, n: int, where: _Where, labels: Any) -> NDArray[np.float64] | None:
    """The block's weights, checked: finite and non-negative (None when unweighted)."""
    if weight is None:
        return None
    if np.ndim(weight) == 0:
        return np.full(n, float(weight))
    w = _values(weight)[0].reshape(-1)
    if w.shape[0] != n:
        raise DataError(
            f"block {where.block} of X has {n} rows but sample_weight's has {w.shape[0]}; give sample_weight "
            f"the same row blocks as X"
        )
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        raise DataError(
            f"sample_weight is {float(w[bad[0]]):g} at {where.row(int(bad[0]), labels)}: weights must be finite and non-negative"
        )
    return w


def _check_finite(
    part: SufficientStats, X: NDArray[np.float64], y: NDArray[np.float64], where: _Where, start: int, labels: Any
) -> None:
    """A NaN or infinite value makes its column's mean non-finite: find the first and refuse it.

    A chunk whose weights are all zero leaves its means at zero, so its values are looked at directly.
    """
    means = np.append(part.x_offset, part.y_offset)
    d = X.shape[1]
    suspects = range(d + 1) if part.weight == 0 else np.flatnonzero(~np.isfinite(means))
    first: tuple[int, int] | None = None  # (row, column)
    for j in suspects:
        bad = np.flatnonzero(~np.isfinite(X[:, j] if j < d else y))
        if bad.size and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), int(j))
    if first is not None:
        raise DataError(_bad_value_message(where, first[1], start + first[0], d, labels))
    # No such value: the sums overflowed, which stats() sees in the magnitudes.


def _bad_value_message(where: _Where, column: int, row: int, n_features: int, labels: Any) -> str:
    return (
        f"{where.column(column, n_features)} is NaN or infinite at {where.row(row, labels)}; "
        f"drop or impute such rows (for example X.dropna() on a DataFrame) before fitting"
    )


def _block_max_abs(x_block: Any, y_block: Any) -> NDArray[np.float64] | None:
    X = _values(x_block)[0]
    y = _values(y_block)[0].reshape(-1)
    if X.shape[0] == 0:
        return None
    return np.append(np.max(np.abs(X), axis=0), np.max(np.abs(y)))


def _block_moments(x_block: Any, y_block: Any, weight: Any, scale: NDArray[np.float64], where: _Where) -> tuple | None:
    """(rows, Σw, Σw·[x, y], Σw·[x, y]², max|[x, y]|) of one block, on ``[X, y] / scale``; checks finiteness."""
    X, labels = _values(x_block)
    y = _values(y_block)[0].reshape(-1)
    n, d = X.shape
    if y.shape[0] != n:
        raise DataError(f"block {where.block} of X has {n} rows but y's has {y.shape[0]}; give y the same row blocks as X")
    if n == 0:
        return None
    w = _weights(weight, n, where, labels)
    table = np.column_stack([X, y]) / scale
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        raise DataError(_bad_value_message(where, int(bad[0][1]), int(bad[0][0]), d, labels))
    weighted = table if w is None else table * w[:, None]
    with np.errstate(over="ignore"):
        return (n, float(n if w is None else w.sum()), weighted.sum(axis=0), np.einsum("ij,ij->j", weighted, table),
                np.abs(table).max(axis=0))


def _block_residual(x_block: Any, y_block: Any, weight: Any, argument: tuple, where: _Where) -> tuple | None:
    """(rows, Σwr², Xᵀ(w∘r), Σwr) of one block for ``r = Xv + a − βy``."""
    v, a, beta = argument
    X, labels = _values(x_block)
    n = X.shape[0]
    if n == 0:
        return None
    y = _values(y_block)[0].reshape(-1)
    w = _weights(weight, n, where, labels)
    residual = X @ v + a - beta * y
    weighted = residual if w is None else w * residual
    return n, float(weighted @ residual), weighted @ X, float(weighted.sum())


def _block_kernel(x_block: Any, y_block: Any, weight: Any, kernel: Callable, where: _Where) -> Any:
    """``kernel`` on one block's rows (None for an empty block)."""
    X, labels = _values(x_block)
    n = X.shape[0]
    if n == 0:
        return None
    y = _values(y_block)[0].reshape(-1)
    return kernel(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), _weights(weight, n, where, labels))


def _fold(combine: Callable, parts: list) -> Any:
    """Fold the present parts (empty blocks give None) with ``combine(a, b)``."""
    present = [part for part in parts if part is not None]
    return reduce(combine, present) if present else None


def _sum_parts(parts: list) -> tuple | None:
    """Elementwise sum of tuples of numbers and d-vectors (None for empty blocks)."""
    present = [part for part in parts if part is not None]
    if not present:
        return None
    return tuple(sum(part[i] for part in present) for i in range(len(present[0])))


def _sum_moments(parts: list) -> tuple | None:
    """:func:`_sum_parts` for :func:`_block_moments`, whose last entry (magnitudes) takes the max."""
    present = [part for part in parts if part is not None]
    if not present:
        return None
    return (*_sum_parts([part[:4] for part in present]), np.max([part[4] for part in present], axis=0))


def _merge_parts(parts: list[Part | None]) -> Part | None:
    """Pairwise (Chan et al.) merge of some blocks' statistics, as a balanced tree."""
    present = [part for part in parts if part is not None]
    if not present:
        return None
    # Statistics of extreme columns gathered unscaled may overflow; stats() sees it in the magnitudes.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        stats = merge_all([part.stats for part in present])
    return Part(stats, np.max([part.magnitude for part in present], axis=0))


def _max_parts(parts: list[NDArray[np.float64] | None]) -> NDArray[np.float64] | None:
    present = [part for part in parts if part is not None]
    return np.max(present, axis=0) if present else None


def _tree(parts: list[Delayed], combine: Callable[[list], Any], *, split_every: int, prefix: str) -> Delayed:
    """Reduce delayed parts ``split_every`` at a time, level by level, into one (on the workers)."""
    level = 0
    while len(parts) > 1:
        parts = [
            delayed(combine, pure=True)(parts[start : start + split_every], dask_key_name=(prefix, level, start // split_every))
            for start in range(0, len(parts), split_every)
        ]
        level += 1
    if not isinstance(parts[0], Delayed):  # pragma: no cover - a block is always a task
        return delayed(parts[0])
    # A single block: its task already is the whole reduction, but pass it through combine so
    # every shape of input returns the same kind of result.
    return parts[0] if level else delayed(combine, pure=True)([parts[0]], dask_key_name=(prefix, 0, 0))


# --- type checks (dask.dataframe is only imported where a DataFrame exists) -----------------------


def _is_dask(value: Any) -> bool:
    return type(value).__module__.startswith("dask")


def _is_frame(value: Any) -> bool:
    frames = sys.modules.get("dask.dataframe")
    return frames is not None and isinstance(value, (frames.DataFrame, frames.Series))


def _check_scalar_weight(weight: Any) -> float | None:
    if weight is None:
        return None
    value = float(weight)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"sample_weight must be a positive finite number or one weight per row; got {weight!r}")
    return value


@sizeof.register(Part)
def _sizeof_part(part: Part) -> int:
    """Bytes of a part's arrays, so the scheduler weighs moving it right (the default counts 56)."""
    stats = part.stats
    return int(part.magnitude.nbytes + stats.xx.nbytes + stats.xy.nbytes + 3 * stats.x_offset.nbytes + 64)


def predict_blocks(X: Any, coef: NDArray[np.float64], intercept: float, feature_names: NDArray | None) -> Any:
    """``X @ coef + intercept`` block by block on the cluster: a lazy Dask array for a Dask array X, a
    Dask Series (X's index) for a DataFrame, whose columns must be the fitted feature names."""
    if _is_frame(X):
        columns = [str(name) for name in X.columns]
        if feature_names is not None and columns != [str(name) for name in feature_names]:
            missing = [str(name) for name in feature_names if str(name) not in columns]
            raise ValueError(
                f"X's columns differ from the ones the model was fitted on ({', '.join(map(repr, map(str, feature_names)))})"
                + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
            )
        if len(columns) != coef.shape[0]:
            raise ValueError(f"X has {len(columns)} columns but the model was fitted on {coef.shape[0]}")
        import pandas as pd

        def block(part: Any) -> Any:
            return pd.Series(part.to_numpy(dtype=np.float64) @ coef + intercept, index=part.index, name="prediction")

        return X.map_partitions(block, meta=pd.Series([], dtype=np.float64, name="prediction"))
    if X.ndim != 2 or X.shape[1] != coef.shape[0]:
        raise ValueError(f"X has shape {X.shape} but the model was fitted on {coef.shape[0]} features")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X.astype(np.float64) @ coef + intercept
