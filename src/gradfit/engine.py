"""The plan of a fit: which source serves the rows, which engine reads them and why, which solver
runs, and the memory policy behind the engine's choice. Decided once, here, before any pass.

Two engines see the data (docs/architecture.md): the *statistics* engine gathers d × d sums in one
pass; the *streaming* engine reads X once per update, for sparse X, dense X wider than
:data:`STATISTICS_MAX_FEATURES` columns, or statistics that would not fit in memory.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from gradfit.errors import DataError
from gradfit.solvers import STOCHASTIC_SOLVERS, resolve_auto
from gradfit.sources import (
    InMemorySource,
    NamedSource,
    RowBlockSource,
    Source,
    StreamableSource,
    as_source,
    is_dask_collection,
    is_device_array,
    is_sparse,
    is_streaming_source,
    offers,
)
from gradfit.validation import check_compatibility, check_source_arguments, check_weights

__all__ = [
    "Plan", "plan", "available_memory", "statistics_bytes", "statistics_shortfall", "streaming_bytes",
    "streaming_reason",
]


#: Dense X with more columns than this is fitted by streaming passes: one pass gathering d × d
#: statistics costs n·d² operations, more than the dozens of O(n·d) passes an iterative fit makes.
STATISTICS_MAX_FEATURES = 4096
#: Share of the available memory the d × d statistics may take before the fit streams instead.
STATISTICS_MEMORY_SHARE = 0.5
#: Statistics smaller than this are never checked against the available memory: asking the system
#: (/proc/meminfo, the cgroup) on every fit cost the article's 1000-update fit about 10% of its time.
STATISTICS_MEMORY_FLOOR = 64 * 2**20


def available_memory() -> int | None:
    """Bytes this process can still allocate: MemAvailable, capped by a cgroup limit (None if unknown)."""
    limits = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as maximum, open("/sys/fs/cgroup/memory.current") as current:
            text = maximum.read().strip()
            if text != "max":
                limits.append(int(text) - int(current.read().strip()))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def statistics_bytes(n_features: int) -> int:
    """Peak bytes of the statistics engine for d features: a d × d block per worker thread, the
    merged one, G and its eigenvectors."""
    return 8 * (n_features + 1) ** 2 * ((os.cpu_count() or 1) + 3)


#: float64 d-vectors a streaming fit holds at its peak besides X (coefficients, gradients, solver
#: state: about 14, measured on 10⁷ columns), plus one partial gradient per thread.
STREAMING_VECTORS = 14


def streaming_bytes(n_features: int) -> int:
    """Peak bytes of the streaming engine's d-vectors for d features (X itself not counted)."""
    return 8 * (n_features + 1) * (STREAMING_VECTORS + (os.cpu_count() or 1))


def statistics_shortfall(n_features: int) -> str | None:
    """Why the d × d statistics of ``n_features`` columns would not fit in memory (more than
    :data:`STATISTICS_MEMORY_SHARE` of what is available), or None."""
    needed = statistics_bytes(n_features)
    if needed < STATISTICS_MEMORY_FLOOR:
        return None
    available = available_memory()
    if available is not None and needed > STATISTICS_MEMORY_SHARE * available:
        return (
            f"the d × d statistics of {n_features} features would need {needed / 1e9:.3g} GB, more than half of the "
            f"{available / 1e9:.3g} GB available"
        )
    return None


def streaming_reason(X) -> str | None:  # validated ndarray or scipy.sparse
    """Why ``X`` must be fitted by streaming passes rather than d × d statistics, or None."""
    n, d = X.shape
    if is_sparse(X):
        density = X.nnz / max(1, n * d)
        return f"X is sparse ({density:.2%} stored): it is read in fused passes and never densified"
    shortfall = statistics_shortfall(d)
    if shortfall is not None:
        return f"{shortfall}: switched to streaming passes"
    if d > STATISTICS_MAX_FEATURES:
        return f"{d} features (over {STATISTICS_MAX_FEATURES}): streaming passes cost less than d × d statistics"
    return None


@dataclass(frozen=True)
class Plan:
    """How a fit will run, decided by :func:`plan` before any pass over the data.

    Attributes
    ----------
    source : Source
        Serves the rows.
    engine : str
        ``"statistics"`` (one pass gathers d × d sums) or ``"streaming"`` (one fused pass per update).
    reason : str or None
        Why the fit streams (None on the statistics engine).
    solver : str
        The solver that runs (``"auto"`` resolved).
    feature_names : list of str or None
        The source's column names, where the data came as a source that has them.
    single_blas : bool
        Whether BLAS must run single-threaded during the fit: rows in memory served by streaming
        passes (see :meth:`threads`).
    """

    source: Source
    engine: str
    reason: str | None
    solver: str
    feature_names: list[str] | None
    single_blas: bool

    @property
    def streams(self) -> bool:
        return self.engine == "streaming"

    def threads(self) -> AbstractContextManager:
        """The thread policy of the fit, as a context manager around it.

        The streaming engine's own threads are the parallelism. BLAS threads woken by the solver's
        vector products would spin between passes and take the cores from the pass's threads
        (``benchmarks/sparse_wide.py`` took a third longer with them)."""
        return threadpool_limits(limits=1, user_api="blas") if self.single_blas else nullcontext()


def plan(
    X,  # validated ndarray or scipy.sparse, a Dask collection, or a Source
    y=None,
    sample_weight=None,
    *,
    solver: str,
    learning_rate: float | str,
    alpha: float,
    l1_ratio: float,
) -> Plan:
    """Choose the source, the engine (and why) and the solver; check they go together, before any pass.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n, d), a Dask array or DataFrame, or a Source
        Arrays must be validated float64 (finite ``y``; NaN/inf in X are named by the first pass).
        A Dask collection is wrapped unvalidated (its blocks are checked on the workers); a
        :class:`~gradfit.sources.Source` carries its own target and weights.
    y : ndarray of shape (n,), optional
    sample_weight : array-like of shape (n,) or float, optional
        Checked here for arrays (see :func:`~gradfit.validation.check_weights`).
    solver, learning_rate, alpha, l1_ratio
        The estimator's parameters (``solver`` may be ``"auto"``).

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        A solver that does not support the penalty, the step or the engine (see
        :func:`~gradfit.validation.check_compatibility`); y or weights beside a Source.
    DataError
        Data that neither engine can hold in memory.
    """
    has_l1 = alpha > 0 and l1_ratio > 0
    # Arrays first: telling a Source by its protocol inspects X's attributes (24 µs, a tenth of the
    # article's whole fit), and validated arrays never are one.
    given_source = not (isinstance(X, np.ndarray) or is_sparse(X)) and isinstance(X, Source)
    refusal = None  # memory that no engine has: raised once the parameters are known to be compatible
    device = None  # where the rows live, for arrays on a device
    if not given_source and is_device_array(X) and solver in STOCHASTIC_SOLVERS:
        # Solvers that draw rows one by one need the rows in host memory: a CPU tensor is there already,
        # and is read as the numpy array it is (checked as a device array first); elsewhere, refused below.
        checked = as_source(X, y, sample_weight)
        if checked.in_host_memory:
            X, y, sample_weight = checked.host_arrays()
    if given_source or is_dask_collection(X) or is_device_array(X):
        if given_source:
            check_source_arguments(y, sample_weight)
            source = X
        else:
            # A Dask array or DataFrame: wrapped in a DaskSource, checked and reduced on the workers
            # block by block (validating it here would compute it into memory). An array on a device:
            # an ArraySource, checked and read there.
            source = as_source(X, y, sample_weight)
            given_source = True
        device = getattr(source, "device", None)
        # Checked before any d × d allocation: rather than an out-of-memory crash, a source that can
        # serve streaming passes (a Dask cluster, or files scanned once per update) streams.
        shortfall = statistics_shortfall(source.n_features)
        if shortfall is not None and not offers(source, StreamableSource):  # a third-party Source
            refusal = DataError(f"{shortfall}; select fewer feature columns, or give X as a scipy.sparse matrix")
        streams = shortfall is not None and refusal is None
        reason = f"{shortfall}: switched to streaming passes over the data" if streams else None
        if device is not None and not streams and source.n_features > STATISTICS_MAX_FEATURES:
            # As for arrays on the host: past this width a pass per update costs less than d × d sums.
            streams = True
            reason = (f"{source.n_features} features (over {STATISTICS_MAX_FEATURES}): streaming passes on "
                      f"{device} cost less than d × d statistics")
        rows_in_memory = offers(source, InMemorySource) or (offers(source, RowBlockSource) and not streams)
        names = source.feature_names if offers(source, NamedSource) else None
    else:
        weight = check_weights(sample_weight, X.shape[0])
        # validate_data casts X only: a float32 y would keep the target's sums in float32 (numpy 2 keeps
        # float32 / float), 1e-7 off while the bound said 1e-14.
        y = np.asarray(y, dtype=np.float64)
        reason = streaming_reason(X)
        streams = reason is not None
        rows_in_memory = not streams
        names = None
        if streams:
            needed, available = streaming_bytes(X.shape[1]), available_memory()
            if available is not None and needed > available:  # even d-vectors do not fit: a mistyped width?
                refusal = DataError(
                    f"X has {X.shape[1]:,} columns: a fit needs about {needed / 1e9:.3g} GB for its d-vectors, more "
                    f"than the {available / 1e9:.3g} GB available; check the number of columns"
                )
    resolved = resolve_auto(solver, has_l1=has_l1, streams=streams)
    check_compatibility(solver, resolved, learning_rate=learning_rate, alpha=alpha, l1_ratio=l1_ratio,
                        streams=streams, rows_in_memory=rows_in_memory, given_source=given_source, reason=reason,
                        sparse_rows=not given_source and is_sparse(X), device=device)
    if refusal is not None:
        raise refusal
    if not given_source:
        source = as_source(X, y, weight, passes=streams)
    return Plan(source=source, engine="streaming" if streams else "statistics", reason=reason, solver=resolved,
                feature_names=names, single_blas=is_streaming_source(source))
