"""CSV files read by pyarrow's streaming parser, in blocks of bytes sized to hold about a batch of rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from gradfit.errors import DataError
from gradfit.sources.files.batches import MAX_BATCH_ROWS, _Batch, _first_line, _kept_rows, _to_float64
from gradfit.sources.files.columns import check_same_columns
from gradfit.sources.files.csv_text import (
    csv_header,
    find_csv_problem,
    null_values,
    select_csv_features,
    sniff_delimiter,
)

#: CSV blocks pyarrow parses at a time: about ``batch_rows`` rows, but at most CSV_BLOCK_BYTES (pyarrow's
#: default: its streaming reader parses blocks in parallel, and slows down with bigger ones: 240 MB
#: of 51 float columns took 0.63 s in 1 MiB blocks, 1.1 s in 8 MiB, 2.4 s in 32 MiB), at least
#: CSV_MIN_BLOCK_BYTES; a block grows up to CSV_MAX_BLOCK_BYTES when a row does not fit in it.
CSV_BLOCK_BYTES = 1 << 20
CSV_MIN_BLOCK_BYTES = 1 << 12
CSV_MAX_BLOCK_BYTES = 1 << 30


@dataclass(frozen=True)
class _CsvLayout:
    """CSV files read by pyarrow: the header is read (and checked) by
    :func:`~gradfit.sources.files.csv_text.csv_header`, whose stripped names pyarrow is given, and every
    problem pyarrow finds is named by :func:`~gradfit.sources.files.csv_text.find_csv_problem`, so both
    readers agree on rows, numbers and messages."""

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
    ) -> _CsvLayout:
        delimiters = {file: delimiter or sniff_delimiter(file) for file in files}
        headers = [_csv_header(file, part=len(files) > 1, delimiter=delimiters[file]) for file in files]
        first, (names, _) = files[0], headers[0]
        chosen = select_csv_features(first, names, delimiters[first], target=target, features=features,
                                     feature_role=feature_role)
        for file, (header, _) in zip(files, headers):
            check_same_columns(first, names, file, header)
        return cls(files=files, features=chosen, target=target, headers=headers, drop_missing=drop_missing,
                   delimiters=delimiters)

    def count_rows(self) -> int:
        """Data rows of all files (a pass of pyarrow's parser, converting one column to nothing)."""
        return sum(self._count_rows(file, header) for file, header in zip(self.files, self.headers))

    def batches(self, batch_rows: int, *, threads: bool, first_file: int = 0, first_group: int = 0) -> Iterator[_Batch]:
        """The files' rows in batches, from file ``first_file`` (CSV has no row groups: ``first_group`` is 0)."""
        offset = sum(file.stat().st_size for file in self.files[:first_file])  # bytes of the files before this one
        for file, header in zip(self.files[first_file:], self.headers[first_file:]):
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
    """:func:`~gradfit.sources.files.csv_text.csv_header`, saying "an empty part" of a file in a directory
    with no rows."""
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
