""":class:`FileSource`, the passes over CSV or Parquet files (statistics, column moments, residuals,
any reduction of rows), and its two doors, :func:`parquet` and :func:`csv`.

How fast against a plain pyarrow scan, and in how much memory: ``benchmarks/files.py`` (figures in
the README). The fit decodes what the scan decodes and adds the product; both keep every core busy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.numerics.scaling import safe_scale
from gradfit.sources.files import Format, Progress
from gradfit.sources.files.batches import (
    DECODE_THREADS_MIN_CPUS,
    PREFETCH_BATCHES,
    _Batch,
    _default_batch_rows,
    _prefetch,
)
from gradfit.sources.files.columns import list_columns
from gradfit.sources.files.csv_text import check_delimiter
from gradfit.sources.files.discover import _find_files, _read_layout
from gradfit.sources.files.reduce import MAX_WORKERS, PassPosition, _Gatherer
from gradfit.sources.stats import SufficientStats, TreeReduce

__all__ = ["FileSource", "parquet", "csv"]


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
        (:func:`~gradfit.sources.files.csv_text.sniff_delimiter`).

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
        format: Format = "auto",  # the natural name, as in pyarrow.dataset
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
        #: Called with a :class:`PassPosition` after each whole file of the statistics pass, and with
        #: the last one when the pass is interrupted (``keep(position, interrupted)``): a checkpoint.
        self.keep_position: Callable[[PassPosition, bool], None] | None = None
        #: Where the next statistics pass starts (a checkpoint's :class:`PassPosition`): the files
        #: before it are not read again.
        self.resume_position: PassPosition | None = None

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
            Count, means and centred cross-products (see :class:`~gradfit.sources.stats.SufficientStats`),
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
        first_file = 0
        with _Gatherer(self.n_features, workers=self.workers) as gather:
            first_group = 0
            if self.resume_position is not None:
                position = self.resume_position
                gather.restore(position)
                first_file, rows_done, kept = position.files_done, position.rows_done, position.kept
                first_group = position.groups_done
            index = {file: number for number, file in enumerate(self._layout.files)}
            reading = None
            last = gather.position(first_file, rows_done, kept, first_group) if first_file or first_group else None
            self._gathering = gather
            try:
                for batch in self._stream(first_file, first_group):
                    if self.keep_position is not None and (batch.file, batch.part) != reading:
                        if reading is not None:  # every file before this one is whole, and its row groups before this one
                            last = gather.position(index[batch.file], rows_done, kept, batch.part)
                            self.keep_position(last, False)
                        reading = (batch.file, batch.part)
                    if batch.n_rows:
                        gather.add(batch)
                        kept += batch.n_rows
                    rows_done += batch.n_rows_read
                    if batch.bytes_done is not None:
                        self.bytes_read = batch.bytes_done
                    del batch  # freed before the next is decoded (pyarrow's allocator reuses it)
                    if self.progress is not None:
                        self.progress(rows_done, self._layout.n_rows)
                if self.keep_position is not None:  # the whole pass: a resumed fit reads no file again
                    self.keep_position(gather.position(len(self._layout.files), rows_done, kept), True)
            except KeyboardInterrupt:
                if self.keep_position is not None and last is not None:
                    self.keep_position(last, True)  # the last whole file: the pass goes on after it
                raise
            finally:
                self._gathering = None
            if not kept:
                raise DataError(
                    f"{self.path}: all {rows_done} rows have a missing value in a used column "
                    f"({list_columns(self._layout.columns)}); nothing is left to fit"
                )
            return gather.result(), rows_done

    # --- streaming passes (when d × d statistics would not fit in memory) -----------------------

    def columns(self, *, means: bool = True, squares: bool = True):  # ColumnMoments
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

    def reduce_rows(self, kernel, combine):  # callables over rows, and their result
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

    def row_blocks(self, max_rows: int) -> Iterator[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """The rows in dense float64 blocks of exactly ``max_rows`` (the last: what is left), in the
        files' order, whatever the batches the files are read in: one scan of the files (counted in
        :attr:`passes`). For the stochastic solvers, which shuffle within each block."""
        self.passes += 1
        d = self.n_features
        held: list[NDArray[np.float64]] = []
        count = 0
        for batch in self._stream():
            if not batch.n_rows:
                continue
            rows = np.column_stack(batch.columns)  # features, then the target
            del batch
            start = 0
            while start < rows.shape[0]:
                piece = rows[start : start + max_rows - count]
                held.append(piece)
                count += piece.shape[0]
                start += piece.shape[0]
                if count == max_rows:
                    block = np.concatenate(held) if len(held) > 1 else held[0]
                    yield np.ascontiguousarray(block[:, :d]), np.ascontiguousarray(block[:, d])
                    held, count = [], 0
        if held:
            block = np.concatenate(held) if len(held) > 1 else held[0]
            yield np.ascontiguousarray(block[:, :d]), np.ascontiguousarray(block[:, d])

    def max_row_norm2(self, transform) -> float:
        """Largest ``‖transform(x_i)‖²`` over the rows: one scan of the files (the stochastic solvers' step bound)."""
        return float(self.reduce_rows(lambda X, y, weight: float(np.max(np.sum(transform(X) ** 2, axis=1))), max))

    def _stream(self, first_file: int = 0, first_group: int = 0) -> Iterator[_Batch]:
        """The batches of the files from row group ``first_group`` of file ``first_file`` on, decoded one
        ahead in a background thread (pyarrow releases the GIL)."""
        batches = self._layout.batches(self.batch_rows, threads=self._decode_threads, first_file=first_file,
                                       first_group=first_group)
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
    row, is as :func:`gradfit.sources.files.csv_text.read_csv_table` has it.

    Examples
    --------
    >>> from gradfit import LinearRegression                   # doctest: +SKIP
    >>> LinearRegression().fit(csv("data.csv", target="y"))   # doctest: +SKIP
    """
    return FileSource(path, target=target, features=features, batch_rows=batch_rows, format="csv", progress=progress,
                      drop_missing=drop_missing, delimiter=delimiter)
