"""Reading CSV files with the stdlib ``csv`` module: small tables into memory, and the diagnosis of
a file the streaming reader (:mod:`gradfit.sources.arrow`, pyarrow) refused.

Every problem with the file becomes a :class:`gradfit.errors.DataError` whose message is one line:
the file, the place (line number, column name) and what to do about it. Line numbers are 1-based
lines of the file, the header being line 1 (or the line it ends on, after blank lines).

The rows are read one line at a time, so :func:`find_csv_problem` can walk a file larger than
memory to name the first bad cell, and both readers agree on what a number, a missing value and
a well-formed row are: this module is the one place that says so.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.sources.columns import list_columns, select_features

__all__ = ["CsvTable", "read_csv_table", "csv_header", "find_csv_problem", "missing_hint", "MISSING_MARKERS",
           "null_values"]

#: Cell texts (compared after stripping blanks, case-insensitively) that mean "no value here".
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none"})

#: A number as both readers (float() here, pyarrow when streaming) take it: decimal, with an
#: optional exponent, or an infinity (refused later, as not finite). Python's float() alone would
#: also take "1_000" and non-ASCII digits, which pyarrow does not.
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE | re.ASCII)

#: Longest cell text quoted back in an error message; the rest is elided.
_QUOTE_LIMIT = 40


def null_values() -> list[str]:
    """The cell texts a streaming reader must take as missing (pyarrow's ``null_values``, which match
    exactly): every marker of :data:`MISSING_MARKERS` in every mix of cases, as is and after one
    blank (the ``a, b`` style)."""
    spelled = {
        "".join(letters)
        for marker in MISSING_MARKERS
        for letters in itertools.product(*({char.lower(), char.upper()} for char in marker))
    }
    return sorted(spelled | {" " + text for text in spelled})


def missing_hint(*, can_drop: bool) -> str:
    """What to do about a missing value: drop the rows (fitting), or fill it in (predicting, where a
    dropped row would misalign the output)."""
    if can_drop:
        return "fill it in, or pass --drop-missing (drop_missing=True) to leave such rows out"
    return "fill it in: every row needs all its features to be predicted"


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A numeric table read from a CSV file.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64, finite
        The feature columns, in the order of ``feature_names``.
    y : ndarray of shape (n_samples,), float64, finite; or None
        The target column (None when the table was read without a target, to predict).
    feature_names : list of str
        Names of the columns of ``X``, as in the header.
    target : str or None
        Name of the target column.
    n_rows_read : int
        Data rows in the file (blank lines not counted), including the dropped ones.
    n_dropped : int
        Rows left out because a used cell was missing (only with ``drop_missing=True``).
    """

    X: NDArray[np.float64]
    y: NDArray[np.float64] | None
    feature_names: list[str]
    target: str | None
    n_rows_read: int
    n_dropped: int

    @property
    def n_samples(self) -> int:
        """Rows kept, ``X.shape[0]``."""
        return int(self.X.shape[0])


def read_csv_table(
    path: str | Path,
    *,
    target: str | None,
    features: list[str] | None = None,
    drop_missing: bool = False,
) -> CsvTable:
    """Read the numeric columns ``features`` and ``target`` of a comma-separated file with a header.

    Only the columns used are parsed, so other columns may hold text (names, identifiers). The
    table is held in memory: this is for small data (the plotting commands); to fit files of any
    size, stream them with :class:`gradfit.sources.arrow.FileSource`.

    Parameters
    ----------
    path : str or Path
        A UTF-8 file (a byte-order mark is allowed) whose first line names the columns.
    target : str or None
        Name of the column to predict. None reads features only (to predict from them); the
        table's ``y`` is then None.
    features : list of str, optional
        Names of the feature columns, in the order wanted. Default: every column but ``target``.
    drop_missing : bool, default=False
        Leave out rows where a used cell is missing (empty, ``NA``, ``N/A``, ``NaN``, ``null``,
        ``None``) instead of refusing the file. ``CsvTable.n_dropped`` says how many.

    Returns
    -------
    CsvTable

    Raises
    ------
    DataError
        The file is missing, a directory, empty, not UTF-8, has no data rows, has duplicate or
        unknown column names, a row with the wrong number of fields, or a used cell that is not a
        finite number (or is missing, unless ``drop_missing``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("x,y\\n0,1\\n1,3\\n")
    >>> table = read_csv_table(path, target="y")
    >>> table.X.shape, table.y.tolist(), table.feature_names
    ((2, 1), [1.0, 3.0], ['x'])
    """
    path = Path(path)
    with _csv_rows(path) as rows:
        names, _ = _header(path, rows)
        feature_names = select_features(path, names, target=target, features=features)
        used = _used_columns(names, target, feature_names)
        kept: list[list[float]] = []
        n_rows_read = 0
        # Without a target the table is read to predict from: dropping rows would misalign the output.
        hint = missing_hint(can_drop=target is not None or drop_missing)
        for _, values in _row_values(path, rows, names, used, drop_missing=drop_missing, hint=hint):
            n_rows_read += 1
            if values is not None:
                kept.append(values)
    if not n_rows_read:
        raise DataError(f"{path}: the file has a header but no data rows; add at least one row of values")
    if not kept:
        raise DataError(
            f"{path}: all {n_rows_read} data rows have a missing value in a used column "
            f"({list_columns(names[c] for c in used)}); nothing is left to fit"
        )
    values = np.array(kept, dtype=np.float64).reshape(len(kept), len(used))
    first_feature = 0 if target is None else 1
    return CsvTable(
        X=np.ascontiguousarray(values[:, first_feature:]),
        y=None if target is None else np.ascontiguousarray(values[:, 0]),
        feature_names=feature_names,
        target=target,
        n_rows_read=n_rows_read,
        n_dropped=n_rows_read - len(kept),
    )


def csv_header(path: str | Path) -> tuple[list[str], int]:
    """The column names of a CSV file (blanks around them stripped) and the line the header ends on.

    Refuses, with the message :func:`read_csv_table` gives, a file that is missing, empty, not
    UTF-8, with a nameless or repeated column, or with no data row after the header. Reads the
    header and the first data row only.
    """
    path = Path(path)
    with _csv_rows(path) as rows:
        names, line = _header(path, rows)
        if next(rows, None) is None:
            raise DataError(f"{path}: the file has a header but no data rows; add at least one row of values")
    return names, line


def find_csv_problem(
    path: str | Path, *, columns: list[str], target: str | None, drop_missing: bool = False
) -> str | None:
    """The one-line message for the first problem in ``columns`` of a CSV file, or None.

    A slow pass of the stdlib reader, made once a faster reader (pyarrow) has found something
    wrong without saying where: a row with the wrong number of fields, bytes that are not UTF-8,
    or a used cell that is missing (unless ``drop_missing``), not a number, or not finite. The
    message is the one :func:`read_csv_table` gives (file, line, column, what to do).

    The data rows are split as pyarrow splits them, which :func:`read_csv_table` is more lenient
    about: a blank before an opening quote (``1, "2"``) leaves the quote part of the value.
    """
    path = Path(path)
    hint = missing_hint(can_drop=target is not None or drop_missing)
    try:
        names, header_line = csv_header(path)
        used = [names.index(name) for name in columns if name in names]
        with _csv_rows(path, skip_initial_space=False) as rows:
            data = ((line, row) for line, row in rows if line > header_line)
            for _ in _row_values(path, data, names, used, drop_missing=drop_missing, hint=hint):
                pass
    except DataError as error:
        return str(error)
    return None


# --- rows ----------------------------------------------------------------------------------------


@contextmanager
def _csv_rows(path: Path, *, skip_initial_space: bool = True) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """The file's non-blank rows, each with the line it ends on (header first), read line by line.

    ``skip_initial_space`` lets a value be quoted after a blank (``a, "b"``), as a person writes;
    pyarrow does not, and :func:`find_csv_problem` reads as pyarrow does.
    """
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file; give the path of a file")
    try:
        handle = path.open("rb")
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from error
    with handle:
        yield _rows(path, handle, skip_initial_space)


def _rows(path: Path, handle: BinaryIO, skip_initial_space: bool) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(_decoded_lines(path, handle), strict=True, skipinitialspace=skip_initial_space)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            yield reader.line_num, row
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV ({error}); check the quotes on that line") from error
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from error


def _decoded_lines(path: Path, handle: BinaryIO) -> Iterator[str]:
    """The file's lines as text (a UTF-8 character never holds a newline byte, so line by line is exact)."""
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}, line {number}: byte {raw[error.start:error.start + 1]!r} is not valid UTF-8; "
                "save the file as UTF-8 (for example 'Save as CSV UTF-8' in a spreadsheet)"
            ) from None


def _header(path: Path, rows: Iterator[tuple[int, list[str]]]) -> tuple[list[str], int]:
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: the file is empty; it needs a header line naming the columns, then data rows")
    line, header = first
    names = [name.strip() for name in header]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            raise DataError(f"{path}, line {line}: column {position} has no name in the header; name it or remove it")
        if name in seen:
            raise DataError(
                f"{path}, line {line}: column name {name!r} appears twice (columns {seen[name]} and {position}); "
                "rename one of them"
            )
        seen[name] = position
    return names, line


def _used_columns(names: list[str], target: str | None, features: list[str]) -> list[int]:
    """Positions of the target (first, when there is one) and the features."""
    index = {name: position for position, name in enumerate(names)}
    return [index[name] for name in ([target] if target is not None else []) + features]


def _row_values(
    path: Path, rows: Iterator[tuple[int, list[str]]], names: list[str], used: list[int], *, drop_missing: bool,
    hint: str,
) -> Iterator[tuple[int, list[float] | None]]:
    """Each data row's line and its used cells as numbers (None for a row dropped for a missing cell)."""
    expected = len(names)
    for line, row in rows:
        if len(row) != expected:
            blank_quote = any(cell[:1].isspace() and cell.lstrip().startswith('"') for cell in row)
            raise DataError(
                f"{path}, line {line}: expected {expected} fields (as in the header) but got {len(row)}; "
                + ("remove the blank before the opening quote of a value (' \"' to '\"')" if blank_quote else
                   "fix that row (a missing or extra comma, or an unquoted comma inside a value)")
            )
        values: list[float] | None = []
        for column in used:
            number = _parse_cell(path, line, names[column], row[column], drop_missing=drop_missing, hint=hint)
            if number is None:
                values = None
                break
            values.append(number)
        yield line, values


def _parse_cell(path: Path, line: int, column: str, cell: str, *, drop_missing: bool, hint: str) -> float | None:
    """The cell's number; None for a missing cell when dropping; DataError otherwise."""
    stripped = cell.strip()
    if stripped.lower() in MISSING_MARKERS:
        if drop_missing:
            return None
        shown = "an empty cell" if not stripped else f"a missing value ({_quote(stripped)})"
        raise DataError(f"{path}, line {line}, column {column!r}: {shown}; {hint}")
    if not _NUMBER.fullmatch(stripped):
        fix = (
            "remove the blank before the opening quote"
            if stripped.startswith('"') and cell[:1].isspace()
            else "fix the value, or leave this column out of the features (--features)"
        )
        raise DataError(f"{path}, line {line}, column {column!r}: {_quote(stripped)} is not a number; {fix}")
    number = float(stripped)
    if not math.isfinite(number):
        raise DataError(
            f"{path}, line {line}, column {column!r}: {_quote(stripped)} is not a finite number; "
            "gradfit needs finite values: fix or remove that row"
        )
    return number


def _quote(text: str) -> str:
    if len(text) > _QUOTE_LIMIT:
        text = text[:_QUOTE_LIMIT] + "…"
    return repr(text)
