"""Files larger than memory: CSV and Parquet files streamed through pyarrow in record batches.

A :class:`FileSource` never holds the dataset: :meth:`FileSource.stats` reads one record batch at a
time (``batch_rows`` rows of the used columns), folds it into :class:`~gradfit.sources.stats.SufficientStats`
and drops it, so memory is two batches, pyarrow's read buffers and O(d²), whatever the files' size::

    from gradfit import LinearRegression
    from gradfit.sources.files import parquet

    model = LinearRegression(solver="auto").fit(parquet("data/", target="y"))

Every problem with the files is a :class:`~gradfit.errors.DataError` whose one-line message names the
file, the column (and the row, for a bad value) and what to do. Statistics are returned whole or not
at all: an error anywhere in the pass raises before anything is returned.

The rooms, in the order a fit walks them:

- ``discover``: what a path holds (the files, their format, their layout);
- ``parquet_layout``, ``csv_layout``: each format's checks up front and its record batches;
- ``csv_text``: the stdlib CSV reader (small tables into memory for the learning tools, and the
  diagnosis of a row pyarrow refused), the one place that says what a number, a missing value and
  a well-formed row are;
- ``columns``: picking the used columns by name, the checks every reader shares;
- ``batches``: a batch as the reducers see it, its default size, and the thread decoding ahead;
- ``reduce``: batches folded into statistics (the hot loop);
- ``source``: :class:`FileSource` and its passes, and the :func:`parquet` and :func:`csv` doors;
- ``predict``: the feature columns in blocks of rows, to predict from.

:class:`FileSource`, :func:`parquet`, :func:`csv`, :func:`feature_batches` and :func:`file_format`
are imported from their rooms when first asked for, so that the stdlib reader (``csv_text``, which
the command line imports on start) does not import pyarrow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gradfit.sources.files.discover import file_format
    from gradfit.sources.files.predict import feature_batches
    from gradfit.sources.files.source import FileSource, csv, parquet

__all__ = ["FileSource", "parquet", "csv", "feature_batches", "file_format", "Progress", "Format", "SUFFIXES"]

#: ``progress(rows_done, rows_total)``, called after every batch with the rows read so far (dropped
#: ones included); ``rows_total`` is None where it is unknown before the pass (CSV files). Inside
#: the call, :meth:`FileSource.partial_stats` gives the statistics of the rows read so far.
Progress = Callable[[int, "int | None"], None]

Format = Literal["auto", "csv", "parquet"]

#: File suffixes of each format (a directory holds files of one format).
SUFFIXES = {"parquet": (".parquet",), "csv": (".csv",)}

#: Where each name imported on first use lives.
_ROOMS = {
    "FileSource": "source",
    "parquet": "source",
    "csv": "source",
    "feature_batches": "predict",
    "file_format": "discover",
}


def __getattr__(name: str):  # module attribute hook
    """:class:`FileSource`, :func:`parquet`, :func:`csv`, :func:`feature_batches` and :func:`file_format`
    from their rooms, importing pyarrow only then."""
    room = _ROOMS.get(name)
    if room is None:
        raise AttributeError(f"module 'gradfit.sources.files' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"gradfit.sources.files.{room}"), name)
