"""What runs on the workers: each block's statistics, moments, residuals and first row (with the messages that
name a bad value's block, row and column), and the merges that reduce them ``split_every`` at a time in a
tree (:func:`_tree`). Importing it teaches Dask the size of a statistics part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
from dask.delayed import Delayed, delayed
from dask.sizeof import sizeof
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.sources.kinds import is_device_array
from gradfit.sources.memory import CHUNK_BYTES
from gradfit.sources.stats import Part, SufficientStats, merge_all


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


def _on_device(x_block: Any, y_block: Any, weight: Any, where: _Where):
    """A block of arrays on a device (CuPy blocks on a worker's GPU) as an
    :class:`~gradfit.sources.arrays.ArraySource`, read there; None for an empty one. Its errors name the block."""
    from gradfit.sources.arrays import ArraySource

    if x_block.shape[0] == 0:
        return None
    try:
        return ArraySource(x_block, y_block, weight, first_row=where.start or 0)
    except DataError as error:
        raise DataError(f"{error} ({_block_words(where)})") from None


def _block_words(where: _Where) -> str:
    """Which block a device block's message is of (its rows numbered in the whole data where known)."""
    return f"block {where.block}" if where.start is not None else f"rows numbered within partition {where.block}"


def _first_row(x_block: Any, y_block: Any, where: _Where) -> NDArray[np.float64] | None:
    """``[x_0, y_0]`` in raw units, the origin every block is centred on; None for an empty block."""
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, None, where)
        if source is None:
            return None
        row = source.first_row()
        if not np.all(np.isfinite(row)):
            raise DataError(_bad_value_message(where, int(np.flatnonzero(~np.isfinite(row))[0]), 0, len(row) - 1, None))
        return row
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
    """Statistics of one block, 2 MiB of rows at a time through one scratch chunk (as MemorySource); a
    block on a device, on that device (:meth:`ArraySource.gather <gradfit.sources.arrays.ArraySource.gather>`)."""
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, weight, where)
        if source is None or origin is None:
            return None
        d = source.n_features
        stats, magnitude = source.gather(x_scale=scale[:d], y_scale=float(scale[d]), x_origin=origin[:d] / scale[:d],
                                         y_origin=float(origin[d] / scale[d]))
        if not np.all(np.isfinite(magnitude)):
            raise DataError(f"{source.not_finite()} ({_block_words(where)})")
        return Part(stats, magnitude)
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


def _bad_value_message(where: _Where, column: int, row: int, n_features: int, labels: Any) -> str:
    return (
        f"{where.column(column, n_features)} is NaN or infinite at {where.row(row, labels)}; "
        f"drop or impute such rows (for example X.dropna() on a DataFrame) before fitting"
    )


def _block_max_abs(x_block: Any, y_block: Any) -> NDArray[np.float64] | None:
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, None, _Where(0, None, None))
        return None if source is None else source.max_abs(with_target=True)
    X = _values(x_block)[0]
    y = _values(y_block)[0].reshape(-1)
    if X.shape[0] == 0:
        return None
    return np.append(np.max(np.abs(X), axis=0), np.max(np.abs(y)))


def _block_moments(x_block: Any, y_block: Any, weight: Any, scale: NDArray[np.float64], where: _Where) -> tuple | None:
    """(rows, Σw, Σw·[x, y], Σw·[x, y]², max|[x, y]|) of one block, on ``[X, y] / scale``; checks finiteness."""
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, weight, where)
        if source is None:
            return None
        sums, squares, largest, n = source.moments(scale)
        if not np.all(np.isfinite(largest)):
            raise DataError(f"{source.not_finite()} ({_block_words(where)})")
        return n, source.total_weight(), sums, squares, largest
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
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, weight, where)
        if source is None:
            return None
        sum_r2, gradient, sum_r = source.residual_pass(v, a, beta)
        return source.n_samples, sum_r2, gradient, sum_r
    X, labels = _values(x_block)
    n = X.shape[0]
    if n == 0:
        return None
    y = _values(y_block)[0].reshape(-1)
    w = _weights(weight, n, where, labels)
    residual = X @ v + a - beta * y
    weighted = residual if w is None else w * residual
    return n, float(weighted @ residual), weighted @ X, float(weighted.sum())


def _block_kernel(x_block: Any, y_block: Any, weight: Any, argument: tuple[Callable, Callable], where: _Where) -> Any:
    """``kernel`` on one block's rows (None for an empty block); a block on a device is read there, chunk
    by chunk, the chunks' results folded with ``combine`` (``argument`` is ``(kernel, combine)``)."""
    kernel, combine = argument
    if is_device_array(x_block):
        source = _on_device(x_block, y_block, weight, where)
        return None if source is None else source.reduce_rows(kernel, combine)
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


@sizeof.register(Part)
def _sizeof_part(part: Part) -> int:
    """Bytes of a part's arrays, so the scheduler weighs moving it right (the default counts 56)."""
    stats = part.stats
    return int(part.magnitude.nbytes + stats.xx.nbytes + stats.xy.nbytes + 3 * stats.x_offset.nbytes + 64)
