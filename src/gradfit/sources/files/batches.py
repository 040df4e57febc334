"""Batches of rows as every consumer sees them: float64 columns, features first, target last.

A layout (:mod:`~gradfit.sources.files.parquet_layout`, :mod:`~gradfit.sources.files.csv_layout`)
decodes its files into batches (:class:`_Batch`); :func:`_prefetch` has pyarrow decode the next one
in a background thread while the current one is used. Also here: how many rows a batch holds by default,
and when pyarrow decodes in threads of its own.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

#: Default batch: the most rows, a power of two, whose used columns (float64) fit BATCH_BYTES, at
#: most MAX_BATCH_ROWS. Measured on 4,000,000 × 50 in Parquet files of 500,000-row row groups written
#: with pyarrow's defaults (2 cores), reading alone peaks 190 MB above the imports at 8,192 rows,
#: 226 MB at 32,768, 259 MB at 40,960 and 269 MB at 65,536; pyarrow's decoding costs 10% more CPU
#: at 32,768 rows than at 65,536, and 40% more at 8,192. The whole fit, with the decoding threads
#: below (medians of 7-9 runs, the variants in turn, four such runs): 65,536 rows 1.03-1.14 s, the
#: former default (32,768 rows, one decoding thread) 1.21-1.25 s; peak RSS 441-446 MB against 384 MB.
MAX_BATCH_ROWS = 65_536
BATCH_BYTES = 32 << 20

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
    #: The Parquet row group the rows are of (0 for CSV, which has none): a batch never spans two.
    part: int = 0
    #: CSV: bytes of all the files read once this batch is (about: pyarrow reads ahead); None for Parquet.
    bytes_done: int | None = None


def _default_batch_rows(n_columns: int) -> int:
    """The largest power of two of rows whose ``n_columns`` float64 values fit BATCH_BYTES (256 to 65,536)."""
    rows = BATCH_BYTES // (8 * n_columns)
    return max(256, min(MAX_BATCH_ROWS, 1 << max(0, rows.bit_length() - 1)))


def _to_float64(array: pa.Array | pa.ChunkedArray) -> NDArray[np.float64]:
    """The column as float64 numpy (nulls, where there are any, as NaN).

    Read from the array's buffers (the Arrow format: a little-endian validity bitmap, then the
    values) rather than by ``to_numpy``, whose conversion imports pandas: about 0.15 s of a
    command's start. Without nulls the values are not copied (read-only, as ``to_numpy`` gives them)."""
    if array.type != pa.float64():
        # Unsafe: integers beyond 2^53 round to the nearest float64 (as numpy's astype does) instead of
        # failing as if the file were damaged.
        array = pc.cast(array, pa.float64(), safe=False)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    n, offset = len(array), array.offset
    if n == 0:
        return np.empty(0, dtype=np.float64)
    validity, data = array.buffers()
    values = np.frombuffer(data, dtype=np.float64, count=n, offset=8 * offset)
    if array.null_count == 0:
        return values
    valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=offset + n, bitorder="little")[offset:]
    return np.where(valid.astype(bool), values, np.nan)


def _kept_rows(columns: list[NDArray[np.float64]]) -> NDArray[np.intp] | None:
    """Rows with no NaN (missing) in any column; None when that is all of them."""
    missing = np.isnan(columns[0])
    for column in columns[1:]:
        missing |= np.isnan(column)
    return np.flatnonzero(~missing) if missing.any() else None


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
