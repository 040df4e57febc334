"""Lining up X, y and sample_weight: the one place that decides which rows make a block.

:func:`align_blocks` cuts the three into delayed blocks of the same rows (:class:`AlignedBlocks`), lazily,
whatever partitions Dask planned for each; the type checks it needs (``dask.dataframe`` is only imported where
a DataFrame exists) live here too.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed, delayed

from gradfit.errors import DataError

__all__ = ["AlignedBlocks", "align_blocks"]

#: Prefixes of the keys of the tasks that line a DataFrame's columns up (see :mod:`~gradfit.sources.dask.source`).
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
    kind = getattr(X.dtype, "kind", None)
    if kind is None:  # a dtype of another library (a PyTorch meta): Dask's own operations need numpy's
        raise DataError(f"X is a Dask array of dtype {X.dtype}, which Dask cannot describe; give its blocks a "
                        f"numpy-like meta (CuPy arrays, or meta=np.empty((0, 0)) in map_blocks)")
    if kind not in "biuf":
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
