"""The feature columns of CSV or Parquet files, in blocks of rows, to predict from (no target needed;
no row dropped, so predictions line up with the input).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.sources.files import Format
from gradfit.sources.files.batches import DECODE_THREADS_MIN_CPUS, PREFETCH_BATCHES, _default_batch_rows, _prefetch
from gradfit.sources.files.csv_text import check_delimiter
from gradfit.sources.files.discover import _find_files, _read_layout

if TYPE_CHECKING:
    from gradfit.sources.files.csv_layout import _CsvLayout
    from gradfit.sources.files.parquet_layout import _ParquetLayout

__all__ = ["feature_batches"]


def feature_batches(
    path: str | os.PathLike,
    *,
    features: list[str],
    format: Format = "auto",  # as FileSource
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


def _feature_blocks(layout: _ParquetLayout | _CsvLayout, batch_rows: int, threads: bool) -> Iterator[NDArray[np.float64]]:
    for batch in _prefetch(layout.batches(batch_rows, threads=threads), PREFETCH_BATCHES):
        block = np.empty((batch.n_rows, len(batch.columns)))
        for j, column in enumerate(batch.columns):
            block[:, j] = column
        bad = ~np.isfinite(block)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise DataError(batch.bad_value(int(column), int(row)))
        yield block
