"""Where rows live. Every source answers the same questions; ``as_source`` is the only type dispatch.

The least-squares loss depends on the data only through a few sums (DESIGN.md), so the central
question a source answers is :meth:`Source.stats`: one pass that gathers
:class:`~gradfit.sources.stats.SufficientStats`.

Rooms: ``stats`` (the statistics and their merging), ``memory`` (arrays in memory), ``streaming``
(sparse or very wide X), ``files`` (CSV and Parquet files, streamed through pyarrow), ``dask``
(Dask collections). The scaling by powers of two that keeps extreme columns finite is
:mod:`gradfit.numerics.scaling`.
"""

from __future__ import annotations

import sys
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

# The statistics every source returns, re-exported: sources are what gathers them.
from gradfit.sources.kinds import is_dask_collection, is_device_array, is_sparse
from gradfit.sources.stats import SufficientStats, merge_all

__all__ = ["CheckpointableSource", "FactoredSource", "FileSource", "PrecisionSource", "RowBlockSource", "Source", "InMemorySource", "NamedSource",
           "ReducibleSource", "StreamableSource", "SufficientStats", "csv", "parquet", "as_source",
           "is_dask_collection", "is_device_array", "is_sparse", "is_streaming_source", "merge_all", "offers"]


@runtime_checkable
class Source(Protocol):
    """Rows of a regression problem, wherever they live.

    ``n_samples``, ``n_features`` and :meth:`stats` are all a source must offer (a third-party source
    may offer only these). Everything else a caller may use is an optional capability, declared by a
    protocol of its own and asked for with :func:`offers`: :class:`ReducibleSource` (``reduce_rows``),
    :class:`InMemorySource` (``arrays``, ``rows``, ``max_row_norm2``, ``sample_weight``), :class:`StreamableSource`
    (``columns``, ``residual_pass``, ``passes``) and :class:`NamedSource` (``feature_names``).

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

    def reduce_rows(self, kernel, combine):
        """``kernel(X, y, weight)`` (``weight`` None when unweighted) on every chunk of rows, where
        the rows live, the results folded pairwise with ``combine(a, b)``: one pass."""
        ...


@runtime_checkable
class InMemorySource(Source, Protocol):
    """A source whose rows are in memory: the exact solver and the stochastic solvers need that.

    Attributes
    ----------
    sample_weight : ndarray of shape (n,) or None
        The rows' weights (None when unweighted).
    """

    sample_weight: NDArray[np.float64] | None

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The design ``X`` (n, d) and target ``y`` (n,) as in-memory arrays (for the exact solver)."""
        ...

    def rows(self, indices: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
        """Some rows and their weights (for the stochastic solvers)."""
        ...

    def max_row_norm2(self, transform) -> float:
        """Largest ``‖transform(x_i)‖²`` over the rows (for the stochastic solvers' step sizes)."""
        ...


@runtime_checkable
class StreamableSource(Protocol):
    """A source that serves the streaming engine's passes (:class:`~gradfit.objective.streaming.StreamingLeastSquares`):
    one per gradient, never forming the d × d statistics, so any number of features fits. Not a
    sub-protocol of :class:`Source`: :class:`~gradfit.sources.passes.StreamingSource` serves only
    these passes, never the statistics.

    Attributes
    ----------
    n_samples, n_features : int
    passes : int
        Passes over the rows made so far by :meth:`columns` and :meth:`residual_pass`.
    """

    n_samples: int
    n_features: int
    passes: int

    def columns(self, *, means: bool = True, squares: bool = True):
        """Weighted column means and variances, in one pass (a :class:`~gradfit.sources.passes.ColumnMoments`)."""
        ...

    def residual_pass(self, v: NDArray[np.float64], a: float, beta: float) -> tuple[float, NDArray[np.float64], float]:
        """One pass: with ``r = Xv + a − βy`` and row weights ``w``, ``(Σ w r², Xᵀ(w∘r), Σ w r)``."""
        ...


@runtime_checkable
class NamedSource(Source, Protocol):
    """A source that knows its columns' names (a table's header, a DataFrame's columns).

    Attributes
    ----------
    feature_names : list of str or None
        None where the columns turn out to have no names (a Dask array).
    """

    feature_names: list[str] | None


@runtime_checkable
class RowBlockSource(Source, Protocol):
    """A source that can hand its rows over in blocks, in one scan (files): what the stochastic solvers
    need of data that are not in memory. Each epoch reads the files once, shuffling within each block.

    Methods
    -------
    row_blocks(max_rows) -> iterator of (X, y)
        Dense float64 blocks of at most ``max_rows`` rows, in the files' order (rows with a missing value
        left out as in ``stats()``).
    max_row_norm2(transform) -> float
        Largest ``‖transform(x_i)‖²`` over the rows (one scan).
    """

    def row_blocks(self, max_rows: int): ...

    def max_row_norm2(self, transform) -> float: ...


@runtime_checkable
class CheckpointableSource(NamedSource, Protocol):
    """A source whose statistics pass can be checkpointed and resumed between its files (the files
    source: see :class:`~gradfit.sources.files.reduce.PassPosition`).

    Attributes
    ----------
    files : list of Path
    target : str
    drop_missing : bool
    batch_rows : int
    keep_position : callable or None
        ``keep_position(position, interrupted)``, called after each whole file of the pass, and with the
        last position when the pass is interrupted.
    resume_position : PassPosition or None
        Where the next statistics pass starts.
    """

    files: list
    target: str
    drop_missing: bool
    batch_rows: int
    keep_position: object
    resume_position: object


@runtime_checkable
class PrecisionSource(Source, Protocol):
    """A source that says in what arithmetic it gathers its statistics (arrays on a device without
    float64, Apple's MPS, gather in float32): the objective's rounding bounds are then that precision's,
    and no refinement pass is made (the residual sums need float64 where the rows are).

    Attributes
    ----------
    statistics_epsilon : float
        The unit the statistics' rounding is bounded in: that arithmetic's machine epsilon (float64's,
        2**-52), times a margin for sums in an order gradfit does not choose.
    float64 : bool
        Whether the rows are read in float64 (refinement passes and QR need it).
    device : object
        Where the rows are, for messages.
    """

    statistics_epsilon: float
    float64: bool
    device: object


@runtime_checkable
class FactoredSource(Source, Protocol):
    """A source that can factor its rows where they live (arrays on a device): the direct solver's
    fallback where the normal equations cannot resolve the data, as QR is for rows in memory."""

    def triangular_factor(self, frame) -> NDArray[np.float64]:
        """R (p, p) with ``RᵀR = Zᵀ diag(w/Σw) Z``, Z the rows in the :class:`~gradfit.objective.frame.Frame`'s
        coordinates (a ones column first with an intercept): one pass, only p × p results to the host."""
        ...


#: What :func:`offers` has told, by (class of source, capability).
_OFFERED: dict[tuple[type, type], bool] = {}


def offers(source: Source, capability: type) -> bool:
    """Whether ``source`` offers an optional capability, one of the protocols that declare them
    (:class:`ReducibleSource`, :class:`InMemorySource`, :class:`StreamableSource`, :class:`NamedSource`).

    The one place that tells what a source can do: ``isinstance`` against the protocol, answered once
    per class of source and remembered (it costs 10–25 µs, a tenth of a small fit), so a fit may ask.
    A class's sources all offer the same capabilities.
    """
    key = (type(source), capability)
    offered = _OFFERED.get(key)
    if offered is None:
        offered = _OFFERED[key] = isinstance(source, capability)
    return offered


def as_source(
    X: NDArray[np.float64], y: NDArray[np.float64], sample_weight: NDArray[np.float64] | None = None,
    *, passes: bool = False,
) -> Source | StreamableSource:
    """Wrap data in the source that serves it. The only place that dispatches on type.

    Dask collections (X an array or DataFrame) become a :class:`~gradfit.sources.dask.DaskSource`,
    unvalidated: their blocks are checked on the workers. Arrays of another array-API library
    (PyTorch, CuPy, array-api-strict) become an :class:`~gradfit.sources.arrays.ArraySource`, checked
    and read on their device. Anything else must have been validated:
    with ``passes`` (the streaming engine, chosen by :func:`gradfit.engine.plan`) it is served by
    fused passes (:class:`~gradfit.sources.passes.StreamingSource`), else from memory.
    """
    if is_dask_collection(X):
        from gradfit.sources.dask import DaskSource

        return DaskSource(X, y, sample_weight)
    if is_device_array(X):
        from gradfit.sources.arrays import ArraySource

        return ArraySource(X, y, sample_weight)
    if passes:
        from gradfit.sources.passes import StreamingSource

        return StreamingSource(X, y, sample_weight)
    from gradfit.sources.memory import MemorySource

    return MemorySource(X, y, sample_weight)


def is_streaming_source(source: object) -> bool:
    """Whether ``source`` is a :class:`~gradfit.sources.passes.StreamingSource`, without importing that
    module (and scipy with it): none exists before it is imported."""
    passes = sys.modules.get("gradfit.sources.passes")
    return passes is not None and isinstance(source, passes.StreamingSource)


def __getattr__(name: str):  # module attribute hook
    """``gradfit.sources.parquet``/``csv``/``FileSource`` without importing pyarrow until asked for."""
    if name in ("FileSource", "parquet", "csv"):
        from gradfit.sources.files import source

        return getattr(source, name)
    raise AttributeError(f"module 'gradfit.sources' has no attribute {name!r}")
