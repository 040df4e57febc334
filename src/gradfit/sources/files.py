"""Reading a CSV table into memory (stdlib ``csv``; a later step streams big files with pyarrow).

Every problem with the file becomes a :class:`gradfit.errors.DataError` whose message is one line:
the file, the place (line number, column name) and what to do about it. Line numbers are 1-based
lines of the file, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError

__all__ = ["CsvTable", "read_csv_table", "MISSING_MARKERS"]

#: Cell texts (compared after stripping blanks, case-insensitively) that mean "no value here".
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none"})

#: Longest cell text quoted back in an error message; the rest is elided.
_QUOTE_LIMIT = 40


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

    Only the columns used are parsed, so other columns may hold text (names, identifiers).

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
    text = _read_text(path)
    rows = _parse_rows(path, text)
    header_line, header = rows[0]
    names = [name.strip() for name in header]
    _check_header(path, names)
    target_index, feature_indices, feature_names = _select_columns(path, names, target, features)
    data_rows = rows[1:]
    if not data_rows:
        raise DataError(f"{path}: the file has a header but no data rows; add at least one row of values")

    used = feature_indices if target_index is None else [target_index, *feature_indices]
    values = np.empty((len(data_rows), len(used)), dtype=np.float64)
    keep = np.ones(len(data_rows), dtype=bool)
    expected = len(names)
    # Without a target the table is read to predict from: dropping rows would misalign the output.
    missing_hint = (
        "fill it in, or pass --drop-missing (drop_missing=True) to leave such rows out"
        if target is not None or drop_missing
        else "fill it in: every row needs all its features to be predicted"
    )
    for row_index, (line, row) in enumerate(data_rows):
        if len(row) != expected:
            raise DataError(
                f"{path}, line {line}: expected {expected} fields (as in the header) but got {len(row)}; "
                "fix that row (a missing or extra comma, or an unquoted comma inside a value)"
            )
        for slot, column in enumerate(used):
            cell = row[column]
            number = _parse_cell(path, line, names[column], cell, drop_missing=drop_missing, missing_hint=missing_hint)
            if number is None:
                keep[row_index] = False
                break
            values[row_index, slot] = number

    n_rows_read = len(data_rows)
    n_dropped = int(n_rows_read - keep.sum())
    if n_dropped == n_rows_read:
        raise DataError(
            f"{path}: all {n_rows_read} data rows have a missing value in a used column "
            f"({', '.join(repr(names[c]) for c in used)}); nothing is left to fit"
        )
    values = values[keep]
    first_feature = 0 if target_index is None else 1
    return CsvTable(
        X=np.ascontiguousarray(values[:, first_feature:]),
        y=None if target_index is None else np.ascontiguousarray(values[:, 0]),
        feature_names=feature_names,
        target=target,
        n_rows_read=n_rows_read,
        n_dropped=n_dropped,
    )


def _read_text(path: Path) -> str:
    """The file's text; the checks on the file itself (exists, is a file, UTF-8, not empty)."""
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file; give the path of a file")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from error
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The offset counts from the start of the raw bytes; a BOM does not contain a newline.
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{path}, line {line}: byte {raw[error.start:error.start + 1]!r} is not valid UTF-8; "
            "save the file as UTF-8 (for example 'Save as CSV UTF-8' in a spreadsheet)"
        ) from error
    if not text.strip():
        raise DataError(f"{path}: the file is empty; it needs a header line naming the columns, then data rows")
    return text


def _parse_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows, each with the file line it ends on (header first)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            rows.append((reader.line_num, row))
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: malformed CSV ({error}); check the quotes on that line") from error
    return rows


def _check_header(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            raise DataError(
                f"{path}, line 1: column {position} has no name in the header; name it or remove it"
            )
        if name in seen:
            raise DataError(
                f"{path}, line 1: column name {name!r} appears twice (columns {seen[name]} and {position}); "
                "rename one of them"
            )
        seen[name] = position


def _select_columns(
    path: Path, names: list[str], target: str | None, features: list[str] | None
) -> tuple[int | None, list[int], list[str]]:
    available = ", ".join(names)
    if target is not None and target not in names:
        raise DataError(f"{path}: no column named {target!r} for the target; the columns are: {available}")
    if features is None:
        features = [name for name in names if name != target]
        if not features:
            raise DataError(f"{path}: the only column is the target {target!r}; there are no feature columns")
    else:
        features = list(features)
        if not features:
            raise DataError("no feature columns were given; name at least one, or leave the list out to use all")
        unknown = [name for name in features if name not in names]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            raise DataError(f"{path}: no column named {listed} (asked for as a feature); the columns are: {available}")
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise DataError(f"feature {', '.join(map(repr, repeated))} is listed more than once; list each once")
        if target is not None and target in features:
            raise DataError(f"column {target!r} is both the target and a feature; leave it out of the features")
    index = {name: position for position, name in enumerate(names)}
    target_index = None if target is None else index[target]
    return target_index, [index[name] for name in features], features


def _parse_cell(
    path: Path, line: int, column: str, cell: str, *, drop_missing: bool, missing_hint: str
) -> float | None:
    """The cell's number; None for a missing cell when dropping; DataError otherwise."""
    stripped = cell.strip()
    if stripped.lower() in MISSING_MARKERS:
        if drop_missing:
            return None
        shown = "an empty cell" if not stripped else f"a missing value ({_quote(stripped)})"
        raise DataError(
            f"{path}, line {line}, column {column!r}: {shown}; {missing_hint}"
        )
    try:
        number = float(stripped)
    except ValueError:
        raise DataError(
            f"{path}, line {line}, column {column!r}: {_quote(stripped)} is not a number; "
            "fix the value, or leave this column out of the features (--features)"
        ) from None
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
