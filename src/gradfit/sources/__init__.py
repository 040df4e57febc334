"""Where rows live. Every source answers the same questions; ``as_source`` is the only type dispatch.

The least-squares loss depends on the data only through a few sums (DESIGN.md), so the central
question a source answers is :meth:`Source.stats`: one pass that gathers :class:`SufficientStats`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError, non_finite

__all__ = ["FileSource", "Source", "InMemorySource", "ReducibleSource", "SufficientStats", "csv", "parquet", "as_source", "is_dask_collection", "power_of_two_scale", "safe_scale"]


#: A chunk's statistics are centred after its product (one pass) where each column's squared mean
#: about the origin is at most this share of its mean square: the subtraction then at most doubles
#: their rounding (see SufficientStats._one_product).
CANCELLATION_SHARE = 0.5

#: Columns whose largest magnitude lies within 2^±SAFE_EXPONENT are used as they are: their products
#: summed over up to 2^40 rows stay far inside float64's range (2^±1022), so dividing by a power of
#: two (a pass over the data) would change nothing.
SAFE_EXPONENT = 400


def safe_scale(max_abs: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 for columns whose squares cannot overflow or underflow, else :func:`power_of_two_scale`."""
    max_abs = np.asarray(max_abs, dtype=np.float64)
    safe = (max_abs == 0) | ((max_abs < 2.0**SAFE_EXPONENT) & (max_abs > 2.0**-SAFE_EXPONENT))
    return np.where(safe, 1.0, power_of_two_scale(max_abs))


def power_of_two_scale(max_abs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Smallest power of two at or above each value (1 where the value is 0).

    Dividing by a power of two is exact, so data can be brought near 1 before squaring without
    changing a single bit of its mantissa: features near 1e200 or 1e-200 then neither overflow
    nor underflow when their products are formed.
    """
    max_abs = np.asarray(max_abs, dtype=np.float64)
    mantissa, exponent = np.frexp(np.where(max_abs > 0, max_abs, 1.0))
    # frexp gives value = mantissa·2^exponent with mantissa in [0.5, 1): a power of two has mantissa 0.5.
    exponent = np.where(mantissa == 0.5, exponent - 1, exponent)
    return np.ldexp(1.0, exponent).astype(np.float64)


@dataclass(frozen=True)
class SufficientStats:
    """Count, means and centred cross-products of (X/x_scale, y/y_scale): all least squares needs.

    Means are kept as ``origin + offset``: every chunk is centred on the same origin (a data row,
    so the subtraction is exact), which keeps the merged means accurate relative to the data's
    spread rather than to its magnitude (a mean of 1e6 carries an absolute rounding of 1e-10).

    Attributes
    ----------
    n_samples : int
        Number of rows gathered.
    weight : float
        Sum of the sample weights (``n_samples`` when unweighted); means are weighted means.
    x_origin, x_offset : ndarray of shape (d,)
        Column means of ``X / x_scale`` are ``x_origin + x_offset``.
    y_origin, y_offset : float
        Mean of ``y / y_scale`` is ``y_origin + y_offset``.
    xx : ndarray of shape (d, d)
        Centred weighted sum of products, ``Σ w_i (x_i - x̄)(x_i - x̄)ᵀ`` in the scaled units.
    xy : ndarray of shape (d,)
        Centred ``Σ w_i (x_i - x̄)(y_i - ȳ)`` in the scaled units.
    yy : float
        Centred ``Σ w_i (y_i - ȳ)²`` in the scaled units.
    x_scale : ndarray of shape (d,)
        Powers of two the columns were divided by (see :func:`power_of_two_scale`).
    y_scale : float
        Power of two the target was divided by.
    """

    n_samples: int
    weight: float
    x_origin: NDArray[np.float64]
    x_offset: NDArray[np.float64]
    y_origin: float
    y_offset: float
    xx: NDArray[np.float64]
    xy: NDArray[np.float64]
    yy: float
    x_scale: NDArray[np.float64]
    y_scale: float

    @classmethod
    def from_chunk(
        cls,
        X: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        x_scale: NDArray[np.float64],
        y_scale: float,
        x_origin: NDArray[np.float64] | None = None,
        y_origin: float = 0.0,
        sample_weight: NDArray[np.float64] | None = None,
        work: NDArray[np.float64] | None = None,
    ) -> "SufficientStats":
        """Statistics of one chunk, centred on the chunk's own means (two passes over the chunk).

        ``x_origin``/``y_origin`` (in the scaled units) must be shared by every chunk that will be merged.
        ``work``, a scratch array with at least X's rows and columns, saves allocating (and
        page-faulting) a fresh chunk-sized copy for every chunk.
        """
        x_origin = np.zeros(X.shape[1]) if x_origin is None else np.asarray(x_origin, dtype=np.float64)
        if sample_weight is None and work is not None:
            fused = cls._one_product(X, y, x_scale=x_scale, y_scale=y_scale, x_origin=x_origin, y_origin=y_origin,
                                     work=work)
            if fused is not None:
                return fused
        Xs = np.empty_like(X) if work is None else work[: X.shape[0], : X.shape[1]]
        if np.all(x_scale == 1.0):
            np.subtract(X, x_origin, out=Xs)
        else:
            np.divide(X, x_scale, out=Xs)
            Xs -= x_origin
        ys = y / y_scale - y_origin
        if sample_weight is None:
            weight = float(X.shape[0])
            x_offset = Xs.mean(axis=0)
            y_offset = float(ys.mean())
            Xs -= x_offset
            ys -= y_offset
            weighted_X = Xs
        else:
            weight = float(sample_weight.sum())
            x_offset = (sample_weight @ Xs) / weight if weight > 0 else np.zeros(X.shape[1])
            y_offset = float(sample_weight @ ys) / weight if weight > 0 else 0.0
            Xs -= x_offset
            ys -= y_offset
            weighted_X = Xs * sample_weight[:, None]
        return cls(
            n_samples=int(X.shape[0]),
            weight=weight,
            x_origin=x_origin,
            x_offset=x_offset,
            y_origin=float(y_origin),
            y_offset=y_offset,
            xx=weighted_X.T @ Xs,
            xy=weighted_X.T @ ys,
            yy=float((ys * sample_weight) @ ys) if sample_weight is not None else float(ys @ ys),
            x_scale=np.asarray(x_scale, dtype=np.float64),
            y_scale=float(y_scale),
        )

    @classmethod
    def _one_product(cls, X, y, *, x_scale, y_scale, x_origin, y_origin, work) -> "SufficientStats | None":  # noqa: ANN001
        """:meth:`from_chunk` unweighted, in one pass: ``W = X − o``, then ``S = WᵀW − s sᵀ/k`` with ``s``
        the column sums, the centring done on the d × d result instead of on the rows (a write, a
        syrk and matrix-vector products, where centring the rows adds a pass to subtract the means;
        the sums as products with a vector of ones, several times faster than numpy's reductions:
        about 25% of the statistics pass, measured on 5,242 × 50 chunks).

        Subtracting ``s sᵀ/k`` cancels ``k·m²`` (``m`` a column's mean about the origin) against
        ``Σw²``; the rounding of S then grows by ``Σw²/(Σw² − k·m²)``. Where that exceeds
        ``1/(1 − CANCELLATION_SHARE)`` for a column (the data drifting far from the origin) None is
        returned and the chunk is centred row by row instead.
        """
        k, d = X.shape
        W = work[:k, :d]
        if np.all(x_scale == 1.0):
            np.subtract(X, x_origin, out=W)
        else:
            np.divide(X, x_scale, out=W)
            W -= x_origin
        ys = (y / y_scale if y_scale != 1.0 else y) - y_origin
        ones = np.ones(k)
        x_sums, y_sum = ones @ W, float(ones @ ys)
        gram, xy, yy = W.T @ W, W.T @ ys, float(ys @ ys)
        squares = np.append(np.diag(gram), yy)
        sums = np.append(x_sums, y_sum)
        with np.errstate(invalid="ignore", over="ignore"):
            if not np.all(sums * sums <= CANCELLATION_SHARE * k * squares):  # NaN too: the two-pass path names it
                return None
        x_mean, y_mean = x_sums / k, y_sum / k
        return cls(
            n_samples=int(k),
            weight=float(k),
            x_origin=x_origin,
            x_offset=x_mean,
            y_origin=float(y_origin),
            y_offset=float(y_mean),
            xx=gram - np.outer(x_sums, x_mean),
            xy=xy - x_sums * y_mean,
            yy=yy - y_sum * y_mean,
            x_scale=np.asarray(x_scale, dtype=np.float64),
            y_scale=float(y_scale),
        )

    def merge(self, other: "SufficientStats") -> "SufficientStats":
        """Pairwise combination (Chan, Golub & LeVeque), as accurate as one two-pass computation.

        With ``δ = x̄_b − x̄_a`` and weights ``W = W_a + W_b``:
        ``x̄ = x̄_a + δ W_b/W`` and ``S = S_a + S_b + δδᵀ W_a W_b / W``.
        """
        same_frame = (
            np.array_equal(self.x_scale, other.x_scale)
            and self.y_scale == other.y_scale
            and np.array_equal(self.x_origin, other.x_origin)
            and self.y_origin == other.y_origin
        )
        if not same_frame:
            raise ValueError("cannot merge statistics gathered with different scales or origins")
        if other.weight == 0:
            return replace(self, n_samples=self.n_samples + other.n_samples)
        if self.weight == 0:
            return replace(other, n_samples=self.n_samples + other.n_samples)
        w_a, w_b = self.weight, other.weight
        total = w_a + w_b
        dx = other.x_offset - self.x_offset
        dy = other.y_offset - self.y_offset
        cross = w_a * w_b / total
        return replace(
            self,
            n_samples=self.n_samples + other.n_samples,
            weight=total,
            x_offset=self.x_offset + dx * (w_b / total),
            y_offset=self.y_offset + dy * (w_b / total),
            xx=self.xx + other.xx + cross * np.outer(dx, dx),
            xy=self.xy + other.xy + cross * dx * dy,
            yy=self.yy + other.yy + cross * dy * dy,
        )

    @property
    def x_mean(self) -> NDArray[np.float64]:
        """Column means of ``X / x_scale``."""
        return self.x_origin + self.x_offset

    @property
    def y_mean(self) -> float:
        """Mean of ``y / y_scale``."""
        return self.y_origin + self.y_offset

    @property
    def n_features(self) -> int:
        return int(self.x_offset.shape[0])


def merge_all(parts: list[SufficientStats]) -> SufficientStats:
    """Merge a list of statistics as a balanced tree (:class:`TreeReduce`), so rounding grows like log(chunks)."""
    if not parts:
        raise ValueError("no statistics to merge")
    return merge_all_with(parts, SufficientStats.merge)


def merge_all_with(parts: list, merge):  # noqa: ANN001, ANN201 - items and their pairwise merge
    """Fold ``parts`` (at least one) with ``merge(a, b)`` as a balanced tree, in order."""
    tree = TreeReduce(merge)
    for part in parts:
        tree.add(part)
    return tree.result()


def first_non_finite(X: NDArray[np.float64], step: int) -> DataError:
    """The error naming the first NaN/inf of a dense ``X``, looked for ``step`` rows at a time (only
    run once a pass has seen one: NaN and inf propagate into the sums every pass gathers)."""
    for start in range(0, X.shape[0], step):
        bad = np.argwhere(~np.isfinite(X[start : start + step]))
        if bad.size:
            row, column = int(bad[0][0]) + start, int(bad[0][1])
            return non_finite("X", X[row, column], row, column)
    return DataError("Input X contains NaN or infinity")


class TreeReduce:
    """Folds items, one at a time, into a balanced tree of pairwise merges (a binary counter).

    Holds at most log₂(items) + 1 partial results, each covering 2^level items, so rounding grows
    like log(items) as in :func:`merge_all` while memory stays O(log items) (for d × d
    statistics of many chunks, that is the difference between MBs and GBs).

    >>> tree = TreeReduce(lambda a, b: a + b)
    >>> for item in range(10):
    ...     tree.add(item)
    >>> tree.result(), len(tree.stack)
    (45, 2)
    """

    def __init__(self, merge) -> None:  # noqa: ANN001 - callable(a, b) -> merged
        self.merge = merge
        self.stack: list[tuple[int, object]] = []

    def add(self, item) -> None:  # noqa: ANN001
        level = 0
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            item = self.merge(left, item)
            level += 1
        self.stack.append((level, item))

    def result(self):  # noqa: ANN201
        """The merge of everything added (in order); raises ValueError when nothing was."""
        if not self.stack:
            raise ValueError("nothing to merge")
        item = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            item = self.merge(left, item)
        return item


@runtime_checkable
class Source(Protocol):
    """Rows of a regression problem, wherever they live.

    Attributes
    ----------
    n_samples, n_features : int
    """

    n_samples: int
    n_features: int

    def stats(self) -> SufficientStats:
        """One pass over the rows gathering :class:`SufficientStats`."""
        ...


@runtime_checkable
class ReducibleSource(Source, Protocol):
    """A source that can be read again with any computation over its rows (the direct solver's
    refinement passes need that; a one-shot stream cannot offer it)."""

    def reduce_rows(self, kernel, combine):  # noqa: ANN001, ANN201
        """``kernel(X, y, weight)`` (``weight`` None when unweighted) on every chunk of rows, where
        the rows live, the results folded pairwise with ``combine(a, b)``: one pass."""
        ...


@runtime_checkable
class InMemorySource(Source, Protocol):
    """A source whose rows are in memory: the exact solver and the stochastic solvers need that."""

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The design ``X`` (n, d) and target ``y`` (n,) as in-memory arrays (for the exact solver)."""
        ...

    def rows(self, indices: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
        """Some rows and their weights (for the stochastic solvers)."""
        ...


def as_source(
    X: NDArray[np.float64], y: NDArray[np.float64], sample_weight: NDArray[np.float64] | None = None,
    *, passes: bool = False,
) -> Source:
    """Wrap data in the source that serves it. The only place that dispatches on type.

    Dask collections (X an array or DataFrame) become a :class:`~gradfit.sources.dask.DaskSource`,
    unvalidated: their blocks are checked on the workers. Anything else must have been validated:
    with ``passes`` (the streaming engine, chosen by :func:`gradfit.engine.plan`) it is served by
    fused passes (:class:`~gradfit.sources.passes.StreamingSource`), else from memory.
    """
    if is_dask_collection(X):
        from gradfit.sources.dask import DaskSource

        return DaskSource(X, y, sample_weight)
    if passes:
        from gradfit.sources.passes import StreamingSource

        return StreamingSource(X, y, sample_weight)
    from gradfit.sources.memory import MemorySource

    return MemorySource(X, y, sample_weight)


def is_dask_collection(X: object) -> bool:
    """Whether ``X`` is a Dask array or DataFrame (told by its type's module: dask is not imported)."""
    return type(X).__module__.startswith("dask")




def __getattr__(name: str):  # noqa: ANN202 - module attribute hook
    """``gradfit.sources.parquet``/``csv``/``FileSource`` without importing pyarrow until asked for."""
    if name in ("FileSource", "parquet", "csv"):
        from gradfit.sources import arrow

        return getattr(arrow, name)
    raise AttributeError(f"module 'gradfit.sources' has no attribute {name!r}")
