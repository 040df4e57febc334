"""What a path holds: its files (a file, or every file of one format below a directory), their format,
and their layout (the used columns, checked in every file before a row is read).
"""

from __future__ import annotations

import os
from pathlib import Path

from gradfit.errors import DataError
from gradfit.sources.files import SUFFIXES, Format
from gradfit.sources.files.csv_layout import _CsvLayout
from gradfit.sources.files.csv_text import SPREADSHEET_SUFFIXES, refuse_spreadsheet
from gradfit.sources.files.parquet_layout import _ParquetLayout


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


def _find_files(path: Path, format: str) -> tuple[str, list[Path]]:
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


def _read_layout(
    kind: str, files: list[Path], target: str | None, features: list[str] | None, *, drop_missing: bool,
    feature_role: str = "asked for as a feature", delimiter: str | None = None,
) -> _ParquetLayout | _CsvLayout:
    if kind == "parquet":
        return _ParquetLayout.read(files, target, features, drop_missing=drop_missing, feature_role=feature_role)
    return _CsvLayout.read(files, target, features, drop_missing=drop_missing, feature_role=feature_role,
                           delimiter=delimiter)
