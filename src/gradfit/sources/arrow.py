"""Files larger than memory: CSV and Parquet files streamed through pyarrow in record batches.

A :class:`FileSource` never holds the dataset: :meth:`FileSource.stats` reads one record batch at a
time (``batch_rows`` rows of the used columns), folds it into :class:`~gradfit.sources.SufficientStats`
and drops it, so memory is two batches, pyarrow's read buffers and O(d²), whatever the files' size::

    from gradfit import LinearRegression
    from gradfit.sources.arrow import parquet

    model = LinearRegression(solver="auto").fit(parquet("data/", target="y"))

Every problem with the files is a :class:`~gradfit.errors.DataError` whose one-line message names the
file, the column (and the row, for a bad value) and what to do. Statistics are returned whole or not
at all: an error anywhere in the pass raises before anything is returned.

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

Measured by ``benchmarks/files.py`` (4,000,000 × 50 float64 and a target in 8 Parquet files of
1.74 GB, 2 cores, four runs): the whole fit takes 1.01-1.15 s against 0.66-0.88 s for the fastest
plain pyarrow scan (pages through a small buffer, every value summed) and 0.91-0.92 s for a scan
with pyarrow's defaults. Both keep the 2 cores busy, so the ratio follows that of CPU times
(1.5-1.7): the fit decodes what the scan decodes and adds the product. Its peak RSS is 446-475 MB,
about 185 MB of which is Python with numpy, scikit-learn and pyarrow loaded.

Extreme columns (beyond 2^±400, see :func:`~gradfit.sources.safe_scale`). Scales must be shared
by all chunks, but a stream cannot know its largest values before it has read them. So each batch is
first reduced unscaled; its statistics bound every column's magnitude (``|x̄| ≤ max|x| ≤ |x̄| +
√Sⱼⱼ``), and only a batch whose bounds leave a column's scale in doubt is measured exactly and
reduced again, divided by powers of two (the batch is still in memory: the pass stays one pass).
Batches gathered with different power-of-two scales merge exactly after rescaling both to the common
scale (multiplying by powers of two is exact), so no first pass over the data is needed.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from gradfit.errors import DataError
from gradfit.sources import SAFE_EXPONENT, SufficientStats, TreeReduce, merge_all, safe_scale
from gradfit.sources.columns import list_columns, select_features
from gradfit.sources.files import (
    SPREADSHEET_SUFFIXES,
    check_delimiter,
    csv_header,
    find_csv_problem,
    missing_hint,
    null_values,
    refuse_spreadsheet,
    select_csv_features,
    sniff_delimiter,
)

__all__ = ["FileSource", "parquet", "csv", "feature_batches", "file_format", "Progress"]

#: ``progress(rows_done, rows_total)``, called after every batch with the rows read so far (dropped
#: ones included); ``rows_total`` is None where it is unknown before the pass (CSV files). Inside
#: the call, :meth:`FileSource.partial_stats` gives the statistics of the rows read so far.
Progress = Callable[[int, "int | None"], None]

Format = Literal["auto", "csv", "parquet"]

#: File suffixes of each format (a directory holds files of one format).
SUFFIXES = {"parquet": (".parquet",), "csv": (".csv",)}

#: Default batch: the most rows, a power of two, whose used columns (float64) fit BATCH_BYTES, at
#: most MAX_BATCH_ROWS. Measured on 4,000,000 × 50 in Parquet files of 500,000-row row groups written
#: with pyarrow's defaults (2 cores), reading alone peaks 190 MB above the imports at 8,192 rows,
#: 226 MB at 32,768, 259 MB at 40,960 and 269 MB at 65,536; pyarrow's decoding costs 10% more CPU
#: at 32,768 rows than at 65,536, and 40% more at 8,192. The whole fit, with the decoding threads
#: below (medians of 7-9 runs, the variants in turn, four such runs): 65,536 rows 1.03-1.14 s, the
#: former default (32,768 rows, one decoding thread) 1.21-1.25 s; peak RSS 441-446 MB against 384 MB.
MAX_BATCH_ROWS = 65_536
BATCH_BYTES = 32 << 20

#: Rows of a chunk, the unit of work of one reducing thread: a batch is cut into MAX_WORKERS chunks,
#: or more, of MIN_CHUNK_ROWS to CHUNK_ROWS rows (51 columns × 8192 rows is 3.3 MiB of
#: scratch per thread). Measured on 4,000,000 × 50 (2 cores): 2048 rows cost 10% more CPU than
#: 8192-32768 (Python overhead per chunk).
CHUNK_ROWS = 8192
MIN_CHUNK_ROWS = 2048

#: Read buffer of a Parquet column: pages are streamed through it rather than the whole column chunk
#: being read at once (pre-buffering a 1,000,000-row row group of 50 columns holds 400 MB).
PARQUET_BUFFER_BYTES = 1 << 16

#: CSV blocks pyarrow parses at a time: about ``batch_rows`` rows, but at most CSV_BLOCK_BYTES (pyarrow's
#: default: its streaming reader parses blocks in parallel, and slows down with bigger ones: 240 MB
#: of 51 float columns took 0.63 s in 1 MiB blocks, 1.1 s in 8 MiB, 2.4 s in 32 MiB), at least
#: CSV_MIN_BLOCK_BYTES; a block grows up to CSV_MAX_BLOCK_BYTES when a row does not fit in it.
CSV_BLOCK_BYTES = 1 << 20
CSV_MIN_BLOCK_BYTES = 1 << 12
CSV_MAX_BLOCK_BYTES = 1 << 30

#: Most threads reducing chunks by default (and the chunks a batch is cut into, at least).
MAX_WORKERS = 8

#: pyarrow decodes a batch's columns in its own threads only where there are at least this many
#: CPUs; the reducing threads are then one per CPU. On 2 CPUs with batches of 32,768 rows one core
#: decoding while the other reduced was the faster (a plain scan of 4,000,000 × 50 took 1.08 s of
#: CPU single-threaded, 1.28-1.48 s threaded); with 65,536-row batches, threads decoding and two
#: reducing took 1.14 s a fit against 1.18 s for one decoding thread (medians of 9, in turn), at the
#: same peak RSS (441-446 MB against 445 MB). CSV fits in the same time either way (1,000,000 × 31,
#: 608 MB; 5,000,000 × 11, 1.0 GB: 5.8-6.0 s against 5.7-6.4 s, peak RSS 268-276 MB against 252-259 MB).
DECODE_THREADS_MIN_CPUS = 2

#: Batches decoded ahead of the one being reduced (each is ``batch_rows`` rows of the used columns).
PREFETCH_BATCHES = 1

#: Column magnitudes within 2^±THRESHOLD_EXPONENT are surely safe (one binade of margin below
#: SAFE_EXPONENT covers the rounding of the bounds).
_THRESHOLD = 2.0 ** (SAFE_EXPONENT - 1)


class FileSource:
    """Rows of CSV or Parquet files, streamed from disk in record batches (never all in memory).

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` or ``.csv`` file, or a directory of them: every file of that suffix below it
        (subdirectories included; names starting with ``.`` or ``_``, such as ``_SUCCESS``, are
        skipped), read in sorted order. All files must have the same columns (and, for Parquet, the
        same types of the used columns).
    target : str
        Name of the column to predict.
    features : list of str, optional
        The feature columns, in the order wanted. Default: every column but ``target`` (and but a
        pandas index stored in Parquet metadata), all of which must then be numeric.
    batch_rows : int, optional
        Rows per record batch read at a time. Default: the largest power of two whose used columns
        fit in 32 MiB (65,536 rows of 51 columns), at most 65,536. Two batches are in memory at
        once, plus pyarrow's buffers: for Parquet about 2-5 MB per used column (a decompressed
        page, and the dictionary most writers try first), growing with the batch. For CSV,
        pyarrow reads blocks of bytes, sized from the first rows to hold about this many rows.
    format : {"auto", "csv", "parquet"}, default="auto"
        ``"auto"`` goes by the suffix (or, for a single file, Parquet's magic bytes).
    progress : callable, optional
        ``progress(rows_done, rows_total)`` after each batch (``rows_total`` None for CSV); it may
        call :meth:`partial_stats`.
    drop_missing : bool, default=False
        Leave out rows with a missing value in a used column (null; NaN; in a CSV an empty cell,
        ``NA``, ``N/A``, ``NaN``, ``null`` or ``None``, in any case) instead of refusing them.
        ``n_dropped`` says how many after :meth:`stats`. Infinite values are still refused.
    workers : int, optional
        Threads reducing each batch's chunks while pyarrow decodes the next batch in its own
        threads (default: the number of CPUs, at most 8; on 1 CPU, 1, decoding in turn). The
        result does not depend on it.
    delimiter : str, optional
        CSV: the character between columns. Default: for each file, a comma, or a semicolon, tab
        or ``|`` where its first lines are split more consistently by it
        (:func:`~gradfit.sources.files.sniff_delimiter`).

    Attributes
    ----------
    files : list of Path
        The files read, in order.
    format : {"csv", "parquet"}
    feature_names : list of str
    target : str
    n_features : int
    n_samples : int
        Rows used (all rows but the dropped ones). Read from the Parquet footers; for CSV, or with
        ``drop_missing``, it is known after :meth:`stats`, and asking before that makes a pass of
        its own (counting CSV rows; with ``drop_missing``, :meth:`stats` itself).
    n_rows_read : int or None
        Rows in all files, dropped ones included (None until known: after :meth:`stats` for CSV).
    n_dropped : int or None
        Rows left out by ``drop_missing`` (None until :meth:`stats`; 0 without ``drop_missing``).
    n_bytes : int
        Size of all the files.
    bytes_read : int or None
        CSV: during a pass, about how many bytes of the files have been read (pyarrow reads a few
        blocks ahead), for a progress bar where the rows to come are not known. None for Parquet.

    Raises
    ------
    DataError
        The path does not exist or holds no such files; a file cannot be read; a column asked for
        is missing (the message lists those there are); a used column is not numeric; files differ
        in their columns; a file has no rows. Values (null, NaN, infinite, text in a CSV number
        column, a CSV row with too many or too few fields) are checked during :meth:`stats`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from gradfit import LinearRegression
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.parquet"
    >>> pq.write_table(pa.table({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}), path)
    >>> source = FileSource(path, target="y")
    >>> source.n_samples, source.feature_names
    (4, ['x'])
    >>> model = LinearRegression(solver="exact").fit(source)
    >>> round(float(model.coef_[0]), 12), round(float(model.intercept_), 12)
    (2.0, 1.0)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        target: str,
        features: list[str] | None = None,
        batch_rows: int | None = None,
        format: Format = "auto",  # noqa: A002 - the natural name, as in pyarrow.dataset
        progress: Progress | None = None,
        workers: int | None = None,
        drop_missing: bool = False,
        delimiter: str | None = None,
    ) -> None:
        check_delimiter(delimiter)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer or None; got {workers!r}")
        if batch_rows is not None and (not isinstance(batch_rows, int) or batch_rows < 1):
            raise ValueError(f"batch_rows must be a positive integer or None; got {batch_rows!r}")
        if format not in ("auto", "csv", "parquet"):
            raise ValueError(f"format must be 'auto', 'csv' or 'parquet'; got {format!r}")
        if not isinstance(target, str):
            raise TypeError(f"target must be a column name (str); got {target!r}")
        self.path = Path(path)
        self.target = target
        self.progress = progress
        self.drop_missing = bool(drop_missing)
        cpus = os.cpu_count() or 1
        self._decode_threads = cpus >= DECODE_THREADS_MIN_CPUS
        # With pyarrow's decoding threads every CPU also reduces; on 1 CPU the one worker takes turns
        # with the thread that decodes.
        self.workers = workers or max(1, min(cpus if self._decode_threads else cpus - 1, MAX_WORKERS))
        self.format, self.files = _find_files(self.path, format)
        self._layout = _read_layout(self.format, self.files, target, features, drop_missing=self.drop_missing,
                                    delimiter=delimiter)
        self.feature_names: list[str] = list(self._layout.features)
        self.n_features = len(self.feature_names)
        self.n_rows_read: int | None = self._layout.n_rows
        self.n_dropped: int | None = None if self.drop_missing else 0
        self._n_samples: int | None = None if self.drop_missing else self._layout.n_rows
        self._gathering: _Gatherer | None = None
        self.n_bytes = sum(file.stat().st_size for file in self.files)
        self.bytes_read: int | None = 0 if self.format == "csv" else None
        self.batch_rows = batch_rows or _default_batch_rows(self.n_features + 1)
        #: Passes over the files made by a streaming fit (:meth:`columns`, :meth:`residual_pass`).
        self.passes = 0

    def __repr__(self) -> str:
        return (
            f"FileSource({str(self.path)!r}, target={self.target!r}, format={self.format!r}, "
            f"files={len(self.files)}, n_features={self.n_features})"
        )

    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            if self.drop_missing:
                self.stats()  # only the pass knows which rows are kept
            else:
                self._n_samples = self.n_rows_read = self._layout.count_rows()
        return self._n_samples

    def partial_stats(self) -> SufficientStats | None:
        """Statistics of the rows gathered so far in the pass under way (None outside a pass or
        before its first batch). Meant for a ``progress`` callback: an O(d² log batches) merge."""
        gathering = self._gathering
        return None if gathering is None else gathering.snapshot()

    # --- the one pass -----------------------------------------------------------------------------

    def stats(self) -> SufficientStats:
        """One streaming pass over every file, gathering the statistics of ``X`` (the features) and ``y``.

        Returns
        -------
        SufficientStats
            Count, means and centred cross-products (see :class:`~gradfit.sources.SufficientStats`),
            with the first row of the first file as the shared origin.

        Raises
        ------
        DataError
            A used value is null (missing) or NaN (unless ``drop_missing``), infinite, or (CSV) not
            a number, or a CSV row has the wrong number of fields: the message names the file, the
            column and the row (Parquet: 0-based row within the file; CSV: the file's line, the
            header being line 1). Every row was dropped for a missing value. Nothing is returned
            in these cases.
        """
        stats, rows_read = self._one_pass()
        if self._layout.n_rows is not None and rows_read != self._layout.n_rows:  # pragma: no cover - files changed
            raise DataError(
                f"{self.path}: read {rows_read} rows but the file footers promise {self._layout.n_rows}; "
                "did the files change while they were read?"
            )
        self.n_rows_read, self.n_dropped, self._n_samples = rows_read, rows_read - stats.n_samples, stats.n_samples
        return stats

    def _one_pass(self) -> tuple[SufficientStats, int]:
        rows_done = 0
        kept = 0
        with _Gatherer(self.n_features, workers=self.workers) as gather:
            self._gathering = gather
            try:
                for batch in self._stream():
                    if batch.n_rows:
                        gather.add(batch)
                        kept += batch.n_rows
                    rows_done += batch.n_rows_read
                    if batch.bytes_done is not None:
                        self.bytes_read = batch.bytes_done
                    del batch  # freed before the next is decoded (pyarrow's allocator reuses it)
                    if self.progress is not None:
                        self.progress(rows_done, self._layout.n_rows)
            finally:
                self._gathering = None
            if not kept:
                raise DataError(
                    f"{self.path}: all {rows_done} rows have a missing value in a used column "
                    f"({list_columns(self._layout.columns)}); nothing is left to fit"
                )
            return gather.result(), rows_done

    # --- streaming passes (when d × d statistics would not fit in memory) -----------------------

    def columns(self, *, means: bool = True, squares: bool = True):  # noqa: ANN201 - ColumnMoments
        """Column moments for a streaming fit, one scan of the files (see
        :meth:`gradfit.sources.passes.StreamingSource.columns`); a NaN/inf is refused with its
        file, column and row. Columns beyond 2^±400 are summed again, divided by powers of two."""
        from gradfit.sources.passes import ColumnMoments

        self.passes += 1
        count, sums, square_sums, largest = self._moments(np.ones(self.n_features + 1), check=True)
        scale = safe_scale(largest)
        if not np.all(scale == 1.0):
            self.passes += 1
            count, sums, square_sums, _ = self._moments(scale, check=False)
        if not count:
            raise DataError(f"{self.path}: no rows to fit")
        self._n_samples = count
        return ColumnMoments.from_sums(count, float(count), sums, square_sums, scale)

    def _moments(self, scale: NDArray[np.float64], *, check: bool) -> tuple[int, NDArray, NDArray, NDArray]:
        count, width = 0, self.n_features + 1
        sums, square_sums, largest = np.zeros(width), np.zeros(width), np.zeros(width)
        with np.errstate(over="ignore"):
            for batch in self._stream():
                for j, column in enumerate(batch.columns):
                    values = column / scale[j]
                    if check and not np.all(np.isfinite(values)):
                        raise DataError(batch.bad_value(j, int(np.flatnonzero(~np.isfinite(values))[0])))
                    sums[j] += values.sum()
                    square_sums[j] += values @ values
                    if values.size:
                        largest[j] = max(largest[j], float(np.abs(values).max()))
                count += batch.n_rows
        return count, sums, square_sums, largest

    def residual_pass(self, v: NDArray[np.float64], a: float, beta: float) -> tuple[float, NDArray[np.float64], float]:
        """``(Σ r², Xᵀr, Σ r)`` for ``r = Xv + a − βy``: one scan of the files, batch by batch."""
        self.passes += 1
        d = self.n_features
        gradient = np.zeros(d)
        sum_r2 = sum_r = 0.0
        for batch in self._stream():
            if not batch.n_rows:
                continue
            residual = np.full(batch.n_rows, float(a)) - beta * batch.columns[d]
            for j in range(d):  # the batch arrives as columns: Xv and Xᵀr column by column
                residual += v[j] * batch.columns[j]
            sum_r2 += float(residual @ residual)
            sum_r += float(residual.sum())
            gradient += np.array([column @ residual for column in batch.columns[:d]])
        return sum_r2, gradient, sum_r

    def reduce_rows(self, kernel, combine):  # noqa: ANN001, ANN201 - callables over rows, and their result
        """``kernel(X_batch, y_batch, None)`` over every batch (rows with a missing value left out as in
        :meth:`stats`), folded pairwise with ``combine``: one scan of the files."""
        self.passes += 1
        tree = TreeReduce(combine)
        d = self.n_features
        for batch in self._stream():
            if batch.n_rows:
                X = np.column_stack(batch.columns[:d]) if d else np.empty((batch.n_rows, 0))
                tree.add(kernel(X, batch.columns[d], None))
        return tree.result()

    def _stream(self) -> Iterator["_Batch"]:
        """The batches of all files, decoded one ahead in a background thread (pyarrow releases the GIL)."""
        batches = self._layout.batches(self.batch_rows, threads=self._decode_threads)
        return _prefetch(batches, PREFETCH_BATCHES) if PREFETCH_BATCHES > 0 else batches


def parquet(
    path: str | os.PathLike,
    *,
    target: str,
    features: list[str] | None = None,
    batch_rows: int | None = None,
    progress: Progress | None = None,
    drop_missing: bool = False,
) -> FileSource:
    """A Parquet file, or a directory of them, streamed in record batches: see :class:`FileSource`.

    Examples
    --------
    >>> from gradfit import LinearRegression                       # doctest: +SKIP
    >>> LinearRegression().fit(parquet("data/", target="price"))  # doctest: +SKIP
    """
    return FileSource(path, target=target, features=features, batch_rows=batch_rows, format="parquet", progress=progress,
                      drop_missing=drop_missing)


def csv(
    path: str | os.PathLike,
    *,
    target: str,
    features: list[str] | None = None,
    batch_rows: int | None = None,
    progress: Progress | None = None,
    drop_missing: bool = False,
    delimiter: str | None = None,
) -> FileSource:
    """A CSV file (header line first, comma-separated), or a directory of them: see :class:`FileSource`.

    Missing cells (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``) are refused with the line
    they are on, or with ``drop_missing`` their rows are left out; columns left out of ``features``
    may hold anything. What counts as a number or a missing value, and every message about a bad
    row, is as :func:`gradfit.sources.files.read_csv_table` has it.

    Examples
    --------
    >>> from gradfit import LinearRegression                   # doctest: +SKIP
    >>> LinearRegression().fit(csv("data.csv", target="y"))   # doctest: +SKIP
    """
    return FileSource(path, target=target, features=features, batch_rows=batch_rows, format="csv", progress=progress,
                      drop_missing=drop_missing, delimiter=delimiter)


# --- reducing batches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """Statistics of some rows, with the magnitude each column's scale was chosen from.

    ``magnitude`` (features, then target) is the exact largest ``|value|`` where a column needed a
    scale other than 1, and 1.0 (standing for "somewhere in the safe range") where it did not, so
    ``safe_scale(max(magnitudes))`` is the scale of the union: the scale one global pass would use.
    """

    stats: SufficientStats
    magnitude: NDArray[np.float64]


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

    def __enter__(self) -> "_Gatherer":
        # One BLAS thread per reducing thread: the other cores reduce other chunks or decode.
        self.stack_context.enter_context(threadpool_limits(limits=1, user_api="blas"))
        if self.workers > 1:
            self.pool = self.stack_context.enter_context(ThreadPoolExecutor(self.workers, thread_name_prefix="gradfit-reduce"))
        return self

    def __exit__(self, *exc_info) -> None:  # noqa: ANN002
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
        self.tree.add(_Part(stats, magnitude))

    def snapshot(self) -> SufficientStats | None:
        """The statistics of the batches added so far, leaving the stack as it is (None before the first)."""
        return self.tree.result().stats if self.tree.stack else None

    def result(self) -> SufficientStats:
        if not self.tree.stack:
            raise DataError("no rows were read")  # pragma: no cover - empty parts are refused before
        return self.tree.result().stats

    def _merge(self, first: _Part, second: _Part) -> _Part:
        magnitude = np.maximum(first.magnitude, second.magnitude)
        scale = safe_scale(magnitude)
        with np.errstate(under="ignore"):
            merged = self._rescale(first.stats, scale).merge(self._rescale(second.stats, scale))
        return _Part(merged, magnitude)

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

        def run(bounds: tuple[int, int]):  # noqa: ANN202
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


# --- finding the files ----------------------------------------------------------------------------


def _default_batch_rows(n_columns: int) -> int:
    """The largest power of two of rows whose ``n_columns`` float64 values fit BATCH_BYTES (256 to 65,536)."""
    rows = BATCH_BYTES // (8 * n_columns)
    return max(256, min(MAX_BATCH_ROWS, 1 << max(0, rows.bit_length() - 1)))


def file_format(path: str | os.PathLike) -> Format | None:
    """``"csv"`` or ``"parquet"`` for a file, by its suffix or else Parquet's magic bytes; None when neither tells.

    Raises
    ------
    DataError
        The file cannot be opened.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    for name, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return name  # type: ignore[return-value]
    refuse_spreadsheet(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from error
    return "parquet" if magic == b"PAR1" else None


def _find_files(path: Path, format: str) -> tuple[str, list[Path]]:  # noqa: A002
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    if path.is_dir():
        found = {
            name: sorted(
                file
                for file in path.rglob("*")
                if file.is_file()
                and file.suffix.lower() in suffixes
                and not any(part.startswith((".", "_")) for part in file.relative_to(path).parts)
            )
            for name, suffixes in SUFFIXES.items()
        }
        if format != "auto":
            files = found[format]
            if not files:
                raise DataError(f"{path}: no {' or '.join(SUFFIXES[format])} files in this directory")
            return format, files
        present = [name for name, files in found.items() if files]
        if not present:
            workbooks = any(file.suffix.lower() in SPREADSHEET_SUFFIXES for file in path.rglob("*"))
            raise DataError(f"{path}: no .parquet or .csv files in this directory; give a directory of data files"
                            + ("; it holds spreadsheets: save them as CSV first" if workbooks else ""))
        if len(present) > 1:
            raise DataError(
                f"{path}: holds both .parquet and .csv files; pass format='parquet' or format='csv' "
                "(--format) to read one kind"
            )
        return present[0], found[present[0]]
    if format != "auto":
        return format, [path]
    detected = file_format(path)
    if detected is None:
        raise DataError(
            f"{path}: cannot tell whether this is CSV or Parquet from its name; pass format='csv' or "
            "format='parquet' (--format)"
        )
    return detected, [path]


def _check_same_columns(first: Path, first_names: list[str], file: Path, names: list[str]) -> None:
    """Every part has the columns of the first (in any order)."""
    missing = [name for name in first_names if name not in names]
    if missing:
        raise DataError(
            f"{file}: has no column {missing[0]!r}, which {first} has; every file must have the same "
            "columns (rewrite this part, or move it out of the directory)"
        )
    extra = [name for name in names if name not in first_names]
    if extra:
        raise DataError(
            f"{file}: has a column {extra[0]!r} that {first} has not; every file must have the same "
            "columns (rewrite this part, or move it out of the directory)"
        )


def _not_numeric(file: Path, column: str, kind: str, *, chosen: bool) -> DataError:
    hint = (
        "leave it out of the features, or convert it to numbers"
        if chosen
        else "name the numeric feature columns (features=[...], --features) to leave it out, or convert it to numbers"
    )
    return DataError(f"{file}: column {column!r} is {kind}, not numbers; {hint}")


def _read_layout(
    kind: str, files: list[Path], target: str | None, features: list[str] | None, *, drop_missing: bool,
    feature_role: str = "asked for as a feature", delimiter: str | None = None,
) -> "_ParquetLayout | _CsvLayout":
    if kind == "parquet":
        return _ParquetLayout.read(files, target, features, drop_missing=drop_missing, feature_role=feature_role)
    return _CsvLayout.read(files, target, features, drop_missing=drop_missing, feature_role=feature_role,
                           delimiter=delimiter)


# --- batches --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Batch:
    """Rows of ``file`` from data row ``start`` on: float64 columns, features first, target last.

    ``n_rows`` rows are kept, of the ``n_rows_read`` read (fewer where rows with a missing value
    were dropped).
    """

    file: Path
    start: int
    n_rows: int
    columns: list[NDArray[np.float64]]
    #: ``bad_value(column, row)``: the one-line message for a non-finite value at that column index
    #: (features first, target last) and row within the batch.
    bad_value: Callable[[int, int], str]
    n_rows_read: int
    #: CSV: bytes of all the files read once this batch is (about: pyarrow reads ahead); None for Parquet.
    bytes_done: int | None = None


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _to_float64(array: pa.Array | pa.ChunkedArray) -> NDArray[np.float64]:
    """The column as float64 numpy (nulls, where there are any, as NaN)."""
    if array.type != pa.float64():
        # Unsafe: integers beyond 2^53 round to the nearest float64 (as numpy's astype does) instead of
        # failing as if the file were damaged.
        array = pc.cast(array, pa.float64(), safe=False)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array.to_numpy(zero_copy_only=False)


def _kept_rows(columns: list[NDArray[np.float64]]) -> NDArray[np.intp] | None:
    """Rows with no NaN (missing) in any column; None when that is all of them."""
    missing = np.isnan(columns[0])
    for column in columns[1:]:
        missing |= np.isnan(column)
    return np.flatnonzero(~missing) if missing.any() else None


@dataclass(frozen=True)
class _ParquetLayout:
    files: list[Path]
    features: list[str]
    target: str | None
    n_rows: int
    file_rows: list[int]
    drop_missing: bool = False

    @property
    def columns(self) -> list[str]:
        return [*self.features] if self.target is None else [*self.features, self.target]

    def count_rows(self) -> int:
        return self.n_rows

    @classmethod
    def read(
        cls, files: list[Path], target: str | None, features: list[str] | None, *, drop_missing: bool = False,
        feature_role: str = "asked for as a feature",
    ) -> "_ParquetLayout":
        schemas, rows = [], []
        for file in files:
            try:
                meta = pq.read_metadata(file)
                schema = meta.schema.to_arrow_schema()
            except (OSError, pa.ArrowException) as error:
                raise DataError(f"{file}: cannot be read as Parquet ({_first_line(error)}); check that it is a Parquet file") from error
            schemas.append(schema)
            rows.append(meta.num_rows)
        first, first_schema = files[0], schemas[0]
        names = list(first_schema.names)
        hidden = frozenset(_pandas_index_columns(first_schema))
        chosen = select_features(first, names, target=target, features=features, hidden=hidden, feature_role=feature_role)
        used = chosen if target is None else [*chosen, target]
        for name in used:
            kind = first_schema.field(name).type
            if not _is_numeric(kind):
                raise _not_numeric(first, name, str(kind), chosen=features is not None or name == target)
        for file, schema, n in zip(files, schemas, rows):
            _check_same_columns(first, names, file, list(schema.names))
            for name in used:
                kind, first_kind = schema.field(name).type, first_schema.field(name).type
                if kind != first_kind:
                    raise DataError(
                        f"{file}: column {name!r} is {kind} but in {first} it is {first_kind}; write every "
                        "file with the same column types"
                    )
            if n == 0:
                raise DataError(f"{file}: the file has no rows (an empty part); remove it or write rows into it")
        return cls(files=files, features=chosen, target=target, n_rows=int(sum(rows)), file_rows=rows,
                   drop_missing=drop_missing)

    def batches(self, batch_rows: int, *, threads: bool) -> Iterator[_Batch]:
        used = self.columns
        for file in self.files:
            start = 0
            try:
                reader = pq.ParquetFile(file, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
                batches = reader.iter_batches(batch_size=batch_rows, columns=used, use_threads=threads)
                for record in batches:
                    yield self._batch(file, start, record)
                    start += record.num_rows
            except (OSError, pa.ArrowException) as error:
                raise DataError(f"{file}: cannot be read as Parquet ({_first_line(error)}); the file may be damaged") from error

    def _batch(self, file: Path, start: int, record: pa.RecordBatch) -> _Batch:
        used = self.columns
        hint = missing_hint(can_drop=self.target is not None)
        columns = []
        for name in used:
            array = record.column(name)
            if array.null_count and not self.drop_missing:
                row = start + int(np.flatnonzero(~np.asarray(array.is_valid()))[0])
                raise DataError(f"{file}, row {row} (0-based), column {name!r}: a null (missing) value; {hint}")
            columns.append(_to_float64(array))
        kept = _kept_rows(columns) if self.drop_missing else None
        if kept is not None:
            columns = [column[kept] for column in columns]

        def bad_value(column: int, row: int) -> str:
            value = columns[column][row]
            where = f"{file}, row {start + (row if kept is None else int(kept[row]))} (0-based), column {used[column]!r}"
            if np.isnan(value):
                return f"{where}: NaN (not a number: a missing value); {hint}"
            return f"{where}: {value} (not a finite number); gradfit needs finite values: fix or drop such rows"

        n_kept = record.num_rows if kept is None else int(kept.size)
        return _Batch(file=file, start=start, n_rows=n_kept, columns=columns, bad_value=bad_value,
                      n_rows_read=record.num_rows)


def _pandas_index_columns(schema: pa.Schema) -> list[str]:
    """Columns that pandas stored as its index (not data), from the Parquet file's pandas metadata."""
    try:
        meta = schema.pandas_metadata or {}
    except (ValueError, TypeError):  # pragma: no cover - malformed metadata
        return []
    return [name for name in meta.get("index_columns", []) if isinstance(name, str)]


@dataclass(frozen=True)
class _CsvLayout:
    """CSV files read by pyarrow: the header is read (and checked) by :func:`~gradfit.sources.files.csv_header`,
    whose stripped names pyarrow is given, and every problem pyarrow finds is named by
    :func:`~gradfit.sources.files.find_csv_problem`, so both readers agree on rows, numbers and messages."""

    files: list[Path]
    features: list[str]
    target: str | None
    #: Per file, the column names (stripped) and the line the header ends on.
    headers: list[tuple[list[str], int]]
    drop_missing: bool = False
    #: Per file, the character between columns.
    delimiters: dict = field(default_factory=dict)
    n_rows: None = None
    #: Block sizes raised after a row did not fit in a block (see :meth:`_file_batches`).
    block_bytes: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.features] if self.target is None else [*self.features, self.target]

    @classmethod
    def read(
        cls, files: list[Path], target: str | None, features: list[str] | None, *, drop_missing: bool = False,
        feature_role: str = "asked for as a feature", delimiter: str | None = None,
    ) -> "_CsvLayout":
        delimiters = {file: delimiter or sniff_delimiter(file) for file in files}
        headers = [_csv_header(file, part=len(files) > 1, delimiter=delimiters[file]) for file in files]
        first, (names, _) = files[0], headers[0]
        chosen = select_csv_features(first, names, delimiters[first], target=target, features=features,
                                     feature_role=feature_role)
        for file, (header, _) in zip(files, headers):
            _check_same_columns(first, names, file, header)
        return cls(files=files, features=chosen, target=target, headers=headers, drop_missing=drop_missing,
                   delimiters=delimiters)

    def count_rows(self) -> int:
        """Data rows of all files (a pass of pyarrow's parser, converting one column to nothing)."""
        return sum(self._count_rows(file, header) for file, header in zip(self.files, self.headers))

    def batches(self, batch_rows: int, *, threads: bool) -> Iterator[_Batch]:
        offset = 0  # bytes of the files before this one
        for file, header in zip(self.files, self.headers):
            block = self.block_bytes.get(file) or _csv_block_bytes(file, batch_rows)
            yield from self._file_batches(file, header, block, threads, offset)
            offset += file.stat().st_size

    def _options(self, file: Path, header: tuple[list[str], int], block: int, threads: bool, columns: list[str],
                 kind: pa.DataType) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions, pa_csv.ConvertOptions]:
        names, header_line = header
        read = pa_csv.ReadOptions(column_names=names, skip_rows=header_line, block_size=block, use_threads=threads)
        parse = pa_csv.ParseOptions(delimiter=self.delimiters.get(file, ","))
        convert = pa_csv.ConvertOptions(
            include_columns=columns, column_types={name: kind for name in columns}, null_values=null_values(),
            strings_can_be_null=True,
        )
        return read, parse, convert

    def _file_batches(
        self, file: Path, header: tuple[list[str], int], block: int, threads: bool, offset: int
    ) -> Iterator[_Batch]:
        """The file's batches. A row longer than pyarrow's block (sized from the first rows) makes it
        read the file again with a block 4 times larger, going on after the rows already given."""
        start = 0
        while True:
            read, parse, convert = self._options(file, header, block, threads, self.columns, pa.float64())
            try:
                with pa.OSFile(str(file)) as stream:
                    reader = pa_csv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
                    seen = 0  # rows read in this attempt; the first ``start`` were given before
                    for record in reader:
                        n_rows = record.num_rows
                        if seen + n_rows > start:
                            fresh = record.slice(start - seen) if start > seen else record
                            yield self._batch(file, start, fresh, bytes_done=offset + stream.tell())
                            start += fresh.num_rows
                        seen += n_rows
                return
            except pa.ArrowInvalid as error:
                if _straddles(error):
                    if block >= CSV_MAX_BLOCK_BYTES:
                        raise DataError(f"{file}: a row is longer than {CSV_MAX_BLOCK_BYTES} bytes; is it really CSV?") from None
                    block = self.block_bytes[file] = block * 4
                    continue
                # A cell that is not a number, or a row with too many fields: pyarrow does not say on which line.
                raise DataError(self._problem(file) or f"{file}: cannot be read as CSV ({_first_line(error)})") from None
            except OSError as error:
                raise DataError(f"{file}: cannot be read ({_first_line(error)})") from error

    def _problem(self, file: Path, columns: list[str] | None = None) -> str | None:
        return find_csv_problem(file, columns=columns or self.columns, target=self.target,
                                drop_missing=self.drop_missing, delimiter=self.delimiters.get(file, ","))

    def _batch(self, file: Path, start: int, record: pa.RecordBatch, *, bytes_done: int) -> _Batch:
        used = self.columns
        columns = []
        for name in used:
            array = record.column(name)
            if array.null_count and not self.drop_missing:
                raise DataError(self._problem(file) or f"{file}: column {name!r} has a missing value")
            columns.append(_to_float64(array))
        kept = _kept_rows(columns) if self.drop_missing else None
        if kept is not None:
            columns = [column[kept] for column in columns]

        def bad_value(column: int, row: int) -> str:
            return self._problem(file, [used[column]]) or (
                f"{file}, data row {start + row + 1}, column {used[column]!r}: {columns[column][row]} is not a "
                "finite number; gradfit needs finite values: fix or remove that row"
            )

        n_kept = record.num_rows if kept is None else int(kept.size)
        return _Batch(file=file, start=start, n_rows=n_kept, columns=columns, bad_value=bad_value,
                      n_rows_read=record.num_rows, bytes_done=bytes_done)

    def _count_rows(self, file: Path, header: tuple[list[str], int]) -> int:
        block = self.block_bytes.get(file) or _csv_block_bytes(file, MAX_BATCH_ROWS)
        while True:
            read, parse, convert = self._options(file, header, block, True, [header[0][0]], pa.string())
            try:
                reader = pa_csv.open_csv(file, read_options=read, parse_options=parse, convert_options=convert)
                return sum(batch.num_rows for batch in reader)
            except pa.ArrowInvalid as error:
                if _straddles(error) and block < CSV_MAX_BLOCK_BYTES:
                    block *= 4
                    continue
                raise DataError(self._problem(file) or f"{file}: cannot be read as CSV ({_first_line(error)})") from None


def _straddles(error: BaseException) -> bool:
    """pyarrow's way of saying that a row did not fit in its block."""
    text = str(error)
    return "straddl" in text or "block size" in text


def _csv_header(file: Path, *, part: bool, delimiter: str) -> tuple[list[str], int]:
    """:func:`~gradfit.sources.files.csv_header`, saying "an empty part" of a file in a directory with no rows."""
    try:
        return csv_header(file, delimiter=delimiter)
    except DataError as error:
        if part and "no data rows" in str(error):
            raise DataError(f"{file}: the file has a header but no data rows (an empty part); remove it or add rows") from None
        raise


def _csv_block_bytes(file: Path, batch_rows: int) -> int:
    """Bytes per pyarrow block: about ``batch_rows`` rows (judged from the first 64 KiB), within limits."""
    with file.open("rb") as handle:
        sample = handle.read(1 << 16)
    lines = sample.split(b"\n")[1:-1] or [sample]  # whole lines after the header
    mean = sum(len(line) + 1 for line in lines) / len(lines)
    longest = max(len(line) + 1 for line in lines)
    return int(max(CSV_MIN_BLOCK_BYTES, 8 * longest, min(CSV_BLOCK_BYTES, batch_rows * mean)))


# --- rows to predict from -------------------------------------------------------------------------


def feature_batches(
    path: str | os.PathLike,
    *,
    features: list[str],
    format: Format = "auto",  # noqa: A002 - as FileSource
    batch_rows: int | None = None,
    delimiter: str | None = None,
) -> Iterator[NDArray[np.float64]]:
    """The ``features`` columns of CSV or Parquet files, in blocks of rows, in file order (to predict from).

    The files are found and their columns checked at once (so a missing column is reported before
    any block is read); then each block is a C-ordered float64 array of shape (rows, len(features)),
    decoded one ahead in a background thread. Rows are never dropped: predictions must line up
    with the input.

    Parameters
    ----------
    path : str or Path
        A file or a directory of files, as for :class:`FileSource`.
    features : list of str
        The columns, in the order wanted (a model's ``feature_names_in_``).
    format : {"auto", "csv", "parquet"}, default="auto"
    batch_rows : int, optional
        Rows per block (default: as :class:`FileSource`).
    delimiter : str, optional
        CSV: the character between columns (default: as :class:`FileSource`).

    Raises
    ------
    DataError
        As :class:`FileSource`: a missing column ("a feature of the model"), a non-numeric one, or
        (while iterating) a missing or non-finite value, named by file, row and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "new.csv"
    >>> _ = path.write_text("b,a\\n1,2\\n3,4\\n")
    >>> [block.tolist() for block in feature_batches(path, features=["a", "b"])]
    [[[2.0, 1.0], [4.0, 3.0]]]
    """
    if batch_rows is not None and (not isinstance(batch_rows, int) or batch_rows < 1):
        raise ValueError(f"batch_rows must be a positive integer or None; got {batch_rows!r}")
    check_delimiter(delimiter)
    kind, files = _find_files(Path(path), format)
    layout = _read_layout(kind, files, None, list(features), drop_missing=False, feature_role="a feature of the model",
                          delimiter=delimiter)
    threads = (os.cpu_count() or 1) >= DECODE_THREADS_MIN_CPUS
    return _feature_blocks(layout, batch_rows or _default_batch_rows(len(layout.features)), threads)


def _feature_blocks(layout: "_ParquetLayout | _CsvLayout", batch_rows: int, threads: bool) -> Iterator[NDArray[np.float64]]:
    for batch in _prefetch(layout.batches(batch_rows, threads=threads), PREFETCH_BATCHES):
        block = np.empty((batch.n_rows, len(batch.columns)))
        for j, column in enumerate(batch.columns):
            block[:, j] = column
        bad = ~np.isfinite(block)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise DataError(batch.bad_value(int(column), int(row)))
        yield block


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _prefetch(batches: Iterator[_Batch], ahead: int) -> Iterator[_Batch]:
    """Iterate ``batches`` in a background thread, decoding at most ``ahead`` batches ahead of the one in use.

    Decoding (pyarrow, without the GIL) then overlaps the reduction of the batch before, and at most
    ``1 + ahead`` batches are alive at once. An error in the reader is raised in the consumer; a
    consumer that stops early stops the reader.
    """
    ready: queue.SimpleQueue = queue.SimpleQueue()
    permits = threading.Semaphore(ahead)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            iterator = iter(batches)
            while True:
                while not permits.acquire(timeout=0.1):  # a batch may be decoded once one is taken
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                batch = next(iterator, done)
                ready.put(batch)
                if batch is done:
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            ready.put(error)

    worker = threading.Thread(target=produce, name="gradfit-file-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            permits.release()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            del item  # the reduced batch is freed before the next one is taken
    finally:
        stop.set()
        worker.join()
