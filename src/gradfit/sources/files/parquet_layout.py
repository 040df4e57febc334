"""Parquet files read by pyarrow: footers checked up front (columns, types, rows), then record batches
of the used columns streamed page by page through a small buffer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gradfit.errors import DataError
from gradfit.sources.files.batches import _Batch, _first_line, _kept_rows, _to_float64
from gradfit.sources.files.columns import check_same_columns, select_features
from gradfit.sources.files.csv_text import missing_hint

#: Read buffer of a Parquet column: pages are streamed through it rather than the whole column chunk
#: being read at once (pre-buffering a 1,000,000-row row group of 50 columns holds 400 MB).
PARQUET_BUFFER_BYTES = 1 << 16


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
    ) -> _ParquetLayout:
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
            check_same_columns(first, names, file, list(schema.names))
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

    def batches(self, batch_rows: int, *, threads: bool, first_file: int = 0, first_group: int = 0) -> Iterator[_Batch]:
        """The files' rows in batches, row group by row group (a batch never spans two, so a pass can be
        taken up again after any whole row group), from row group ``first_group`` of file ``first_file``."""
        used = self.columns
        for number, file in enumerate(self.files[first_file:]):
            try:
                reader = pq.ParquetFile(file, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
                skipped = first_group if number == 0 else 0
                start = sum(reader.metadata.row_group(group).num_rows for group in range(skipped))
                for group in range(skipped, reader.num_row_groups):
                    batches = reader.iter_batches(batch_size=batch_rows, row_groups=[group], columns=used,
                                                  use_threads=threads)
                    for record in batches:
                        yield replace(self._batch(file, start, record), part=group)
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


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _not_numeric(file: Path, column: str, kind: str, *, chosen: bool) -> DataError:
    hint = (
        "leave it out of the features, or convert it to numbers"
        if chosen
        else "name the numeric feature columns (features=[...], --features) to leave it out, or convert it to numbers"
    )
    return DataError(f"{file}: column {column!r} is {kind}, not numbers; {hint}")


def _pandas_index_columns(schema: pa.Schema) -> list[str]:
    """Columns that pandas stored as its index (not data), from the Parquet file's pandas metadata."""
    try:
        meta = schema.pandas_metadata or {}
    except (ValueError, TypeError):  # pragma: no cover - malformed metadata
        return []
    return [name for name in meta.get("index_columns", []) if isinstance(name, str)]
