"""Reading CSV files with the stdlib ``csv`` module: small tables into memory, and the diagnosis of
a file the streaming reader (:mod:`gradfit.sources.files`, pyarrow) refused.

Every problem with the file becomes a :class:`gradfit.errors.DataError` whose message is one line:
the file, the place (line number, column name) and what to do about it. Line numbers are 1-based
lines of the file, as an editor counts them: the line a row starts on (a quoted value may go on
over more lines), the header being line 1 (or the line it is on, after blank lines).

Columns are separated by commas, or by semicolons, tabs or ``|`` where the file's first lines say
so (:func:`sniff_delimiter`), or by the character given as ``delimiter``. A workbook (Excel,
OpenDocument), a zip archive or UTF-16 text is named as such, with what to do, rather than read as
garbled text.

The rows are read one line at a time, so :func:`find_csv_problem` can walk a file larger than
memory to name the first bad cell, and both readers agree on what a number, a missing value and
a well-formed row are: this module is the one place that says so.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DataError
from gradfit.sources.files.columns import list_columns, select_features

__all__ = ["CsvTable", "read_csv_table", "csv_header", "find_csv_problem", "missing_hint", "MISSING_MARKERS",
           "null_values", "sniff_delimiter", "check_delimiter", "refuse_spreadsheet", "select_csv_features",
           "DELIMITERS"]

#: Column separators told apart by :func:`sniff_delimiter`, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: What the messages call each separator.
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'", " ": "blank"}
#: Lines :func:`sniff_delimiter` compares (the header and the rows after it), within the first bytes.
_SNIFF_LINES = 20
_SNIFF_BYTES = 1 << 16
#: Characters that may separate columns though no sniffed delimiter is among them: suggested in the
#: message about a header read as one column.
_OTHER_SEPARATORS = ":^~#!/ "

#: The first bytes of files that are not text: an OLE2 compound file (Excel 97-2003 .xls) and a zip
#: archive (.xlsx, .ods); byte-order marks of UTF-16 text (a spreadsheet's "Unicode Text").
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ZIP_MAGIC = b"PK\x03\x04"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: File names of spreadsheets, whatever their bytes (an empty or damaged workbook is still one).
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_SAVE_AS_CSV = ("save it as CSV (in Excel: File > Save As > 'CSV UTF-8'), or read it with pandas.read_excel and "
                "fit the DataFrame from Python")

#: Cell texts (compared after stripping blanks, case-insensitively) that mean "no value here".
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none"})

#: A number as both readers (float() here, pyarrow when streaming) take it: decimal, with an
#: optional exponent, or an infinity (refused later, as not finite). Python's float() alone would
#: also take "1_000" and non-ASCII digits, which pyarrow does not.
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE | re.ASCII)

#: A number written with a decimal comma (``1,5``), as in a semicolon-separated file from a European locale.
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?", re.ASCII)

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
    delimiter: str | None = None,
) -> CsvTable:
    """Read the numeric columns ``features`` and ``target`` of a comma-separated file with a header.

    Only the columns used are parsed, so other columns may hold text (names, identifiers). The
    table is held in memory: this is for small data (the plotting commands); to fit files of any
    size, stream them with :class:`gradfit.sources.files.FileSource`.

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
    delimiter : str, optional
        The character between columns. Default: a comma, or a semicolon, tab or ``|`` where the
        file's first lines are split more consistently by it (see :func:`sniff_delimiter`).

    Returns
    -------
    CsvTable

    Raises
    ------
    DataError
        The file is missing, a directory, a spreadsheet, empty, not UTF-8, has no data rows, has
        duplicate or unknown column names, a row with the wrong number of fields, or a used cell that
        is not a finite number (or is missing, unless ``drop_missing``).

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
    delimiter = check_delimiter(delimiter) or sniff_delimiter(path)
    with _csv_rows(path, delimiter=delimiter) as rows:
        names, _ = _header(path, rows)
        feature_names = select_csv_features(path, names, delimiter, target=target, features=features)
        used = _used_columns(names, target, feature_names)
        kept: list[list[float]] = []
        n_rows_read = 0
        # Without a target the table is read to predict from: dropping rows would misalign the output.
        hint = missing_hint(can_drop=target is not None or drop_missing)
        data = ((line, row) for line, _, row in rows)
        for _, values in _row_values(path, data, names, used, drop_missing=drop_missing, hint=hint,
                                     delimiter=delimiter):
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


def csv_header(path: str | Path, *, delimiter: str = ",") -> tuple[list[str], int]:
    """The column names of a CSV file (blanks around them stripped) and the line the header ends on.

    Refuses, with the message :func:`read_csv_table` gives, a file that is missing, a spreadsheet,
    empty, not UTF-8, with a nameless or repeated column, or with no data row after the header.
    Reads the header and the first data row only.
    """
    path = Path(path)
    with _csv_rows(path, delimiter=delimiter) as rows:
        names, line = _header(path, rows)
        if next(rows, None) is None:
            raise DataError(f"{path}: the file has a header but no data rows; add at least one row of values")
    return names, line


def find_csv_problem(
    path: str | Path, *, columns: list[str], target: str | None, drop_missing: bool = False, delimiter: str = ","
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
        names, header_line = csv_header(path, delimiter=delimiter)
        used = [names.index(name) for name in columns if name in names]
        with _csv_rows(path, skip_initial_space=False, delimiter=delimiter) as rows:
            data = ((line, row) for line, end, row in rows if end > header_line)
            for _ in _row_values(path, data, names, used, drop_missing=drop_missing, hint=hint, delimiter=delimiter):
                pass
    except DataError as error:
        return str(error)
    return None


# --- rows ----------------------------------------------------------------------------------------


@contextmanager
def _csv_rows(path: Path, *, skip_initial_space: bool = True,
              delimiter: str = ",") -> Iterator[Iterator[tuple[int, int, list[str]]]]:
    """The file's non-blank rows, each with the lines it starts and ends on (header first), read line by line.

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
        refuse_spreadsheet(path)
        yield _rows(path, handle, skip_initial_space, delimiter)


def _rows(path: Path, handle: BinaryIO, skip_initial_space: bool,
          delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    reader = csv.reader(_decoded_lines(path, handle), strict=True, skipinitialspace=skip_initial_space,
                        delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):  # not a blank line
                yield start, reader.line_num, row
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(f"{path}, line {start}: {_malformed(error, delimiter)}") from error
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from error


def _malformed(error: csv.Error, delimiter: str) -> str:
    """What the stdlib reader's complaint about the row starting on a line means, and what to do."""
    text = str(error)
    if "unexpected end of data" in text:
        return ("a quoted value that starts on this line is never closed (the file ends inside it); close the "
                'quote, and double each quote inside a quoted value ("")')
    if "expected after" in text:
        return (f"a quoted value is followed by more text before the next {_delimiter_name(delimiter)}; quote the "
                'whole value, doubling each quote inside it ("")')
    if "NUL" in text:
        return "the line holds a NUL byte, which CSV text never does; is this really a CSV file?"
    if "field limit" in text:
        return "a value runs on for more than 128 KiB; is a quote left open above it?"
    return f"malformed CSV ({text}); check the quotes on that line"


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


def _header(path: Path, rows: Iterator[tuple[int, int, list[str]]]) -> tuple[list[str], int]:
    """The column names, checked, and the line the header ends on."""
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: the file is empty; it needs a header line naming the columns, then data rows")
    line, end, header = first
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
    return names, end


# --- delimiters and files that are not CSV ---------------------------------------------------------


def check_delimiter(delimiter: str | None) -> str | None:
    """``delimiter`` if it can separate CSV columns (one character, not a quote or a line break); None stays None.

    Raises
    ------
    ValueError
        Anything else.
    """
    if delimiter is None:
        return None
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ValueError(f"delimiter must be one character other than a quote or a line break; got {delimiter!r}")
    return delimiter


def sniff_delimiter(path: str | Path) -> str:
    """The character that separates the columns of a CSV file: of :data:`DELIMITERS`, the one that splits
    the header line into the most fields, the same number on each of the next lines; a comma when none
    splits it.

    Reads the first lines only (64 KiB at most). A file that cannot be read is left to the reader
    to refuse, with its message: the answer is then a comma.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("x;y\\n1,5;2\\n")
    >>> sniff_delimiter(path)
    ';'
    """
    try:
        with Path(path).open("rb") as handle:
            sample = handle.read(_SNIFF_BYTES)
    except OSError:
        return DELIMITERS[0]
    lines = sample.decode("utf-8-sig", errors="replace").splitlines()
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:
        lines.pop()  # cut off where the sample ends
    lines = [line for line in lines if line.strip()][:_SNIFF_LINES]
    best, best_score = DELIMITERS[0], (False, 1)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts:
            continue
        consistent = counts[0] > 1 and all(count == counts[0] for count in counts[1:])
        if (consistent, counts[0]) > best_score:
            best, best_score = delimiter, (consistent, counts[0])
    return best


def select_csv_features(path: Path, names: list[str], delimiter: str, **options) -> list[str]:
    """:func:`~gradfit.sources.files.columns.select_features`, saying, when the header was read as one column,
    which character may separate the columns instead."""
    try:
        return select_features(path, names, **options)
    except DataError as error:
        if len(names) != 1:
            raise
        found = {char: names[0].count(char) for char in _OTHER_SEPARATORS if char != delimiter}
        guess = max(found, key=found.get) if found and max(found.values()) else None
        if guess is None:
            raise
        subject = {" ": "a blank", "\t": "a tab"}.get(guess, repr(guess))
        raise DataError(
            f"{error}; the header line was read as one column (it holds no {_delimiter_name(delimiter)}): "
            f"if {subject} separates the columns, say so with delimiter={guess!r}"
        ) from None


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def refuse_spreadsheet(path: str | Path) -> None:
    """Raise a DataError naming what ``path`` is if it is a workbook, a zip archive or UTF-16 text,
    which a CSV reader would take for garbled text; return otherwise (also when it cannot be read:
    the reader says why)."""
    path = Path(path)
    kind = None
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_OLE2_MAGIC))
    except OSError:
        return
    if head.startswith(_ZIP_MAGIC):
        kind = _zip_kind(path)
    elif head == _OLE2_MAGIC:
        kind = "an Excel 97-2003 workbook (or another Office file)"
    elif path.suffix.lower() in SPREADSHEET_SUFFIXES:
        kind = "an Excel workbook" if path.suffix.lower() != ".ods" else "an OpenDocument spreadsheet"
    elif head.startswith(_UTF16_BOMS):
        raise DataError(f"{path}: is UTF-16 text (as a spreadsheet's 'Unicode Text' export is), not UTF-8; save it "
                        "as 'CSV UTF-8'")
    if kind is not None:
        raise DataError(f"{path}: is {kind}, not a CSV or Parquet file; "
                        + (_SAVE_AS_CSV if "archive" not in kind else "unzip it and give the files inside"))


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError):
        return "a zip archive (damaged)"
    if any(name.startswith("xl/") for name in names):
        return "an Excel workbook"
    if "spreadsheet" in mimetype:
        return "an OpenDocument spreadsheet"
    return "a zip archive"


def _used_columns(names: list[str], target: str | None, features: list[str]) -> list[int]:
    """Positions of the target (first, when there is one) and the features."""
    index = {name: position for position, name in enumerate(names)}
    return [index[name] for name in ([target] if target is not None else []) + features]


def _row_values(
    path: Path, rows: Iterator[tuple[int, list[str]]], names: list[str], used: list[int], *, drop_missing: bool,
    hint: str, delimiter: str = ",",
) -> Iterator[tuple[int, list[float] | None]]:
    """Each data row's line and its used cells as numbers (None for a row dropped for a missing cell)."""
    expected = len(names)
    separator = _delimiter_name(delimiter)
    for line, row in rows:
        if len(row) != expected:
            blank_quote = any(cell[:1].isspace() and cell.lstrip().startswith('"') for cell in row)
            raise DataError(
                f"{path}, line {line}: expected {expected} fields (as in the header) but got {len(row)}; "
                + ("remove the blank before the opening quote of a value (' \"' to '\"')" if blank_quote else
                   f"fix that row (a missing or extra {separator}, or an unquoted {separator} inside a value)")
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
        if stripped.startswith('"') and cell[:1].isspace():
            fix = "remove the blank before the opening quote"
        elif _DECIMAL_COMMA.fullmatch(stripped):
            fix = ("gradfit reads numbers with a decimal point (1.5, not 1,5): save the file with '.' as the decimal "
                   "separator")
        else:
            fix = "fix the value, or leave this column out of the features (--features)"
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
