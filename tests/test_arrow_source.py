"""FileSource: CSV and Parquet streamed in record batches give the in-memory fit, and bad files one clear error."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradfit import LinearRegression
from gradfit.errors import DataError
from gradfit.sources import Source, SufficientStats
from gradfit.sources.files import FileSource, csv, parquet
from gradfit.sources.memory import MemorySource

from references import (
    assert_same_fit_standardized,
    assert_same_predictions,
    assert_same_statistics,
    correlation_condition,
)

#: cg's tolerance in assert_same_fit. tol bounds every coefficient's relative error, and on these
#: columns (offsets up to 1e4, spreads down to 1e-2) rounding in the streamed gradient limits cg to
#: 2e-10 .. 1.1e-8 (the fits' own floors, from κ and the columns' offsets): 1e-7 sits above them, so
#: the fit must converge and its claim is what is checked.
CG_TOL = 1e-7
EPS = np.finfo(np.float64).eps


def make_data(n: int = 1000, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Columns with different units and offsets, so centring and scaling matter.
    X = rng.standard_normal((n, d)) * np.logspace(-2, 3, d) + np.linspace(-50, 1e4, d)
    y = X @ np.linspace(1, -2, d) + 7.0 + rng.standard_normal(n)
    return X, y


def table(X: np.ndarray, y: np.ndarray, names: list[str] | None = None) -> pa.Table:
    names = names or [f"x{j}" for j in range(X.shape[1])]
    return pa.table({**{name: X[:, j] for j, name in enumerate(names)}, "y": y})


def write_parquet(path, X, y, *, parts: int = 1, row_group_size: int | None = None):
    if parts == 1:
        pq.write_table(table(X, y), path, row_group_size=row_group_size)
        return path
    path.mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(y)), parts)):
        pq.write_table(table(X[rows], y[rows]), path / f"part-{index:03d}.parquet", row_group_size=row_group_size)
    return path


def write_csv(path, X, y, *, parts: int = 1):
    if parts == 1:
        pa_csv.write_csv(table(X, y), path)
        return path
    path.mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(y)), parts)):
        pa_csv.write_csv(table(X[rows], y[rows]), path / f"part-{index:03d}.csv")
    return path


def assert_same_fit(source: Source, X: np.ndarray, y: np.ndarray) -> None:
    """The source's fits against QR on the rows. Solving from the statistics costs the statistics'
    rounding, (m + p)·u, times κ(G), and cg's tolerance another κ(G)·tol: normwise, in the
    standardized coordinates. (A componentwise 1e-9 was measured at 5.7e-10 on make_data's first
    coefficient, 1e-5 of ‖θ‖ there, where the worst case is (m + p)·u·κ/1e-5 = 1.5e-9.)"""
    reference = LinearRegression(solver="exact").fit(X, y)
    statistics_error = correlation_condition(X) * (len(y) + X.shape[1] + 1) * EPS
    exact = LinearRegression(solver="exact").fit(source)
    assert_same_fit_standardized(exact, reference, X, y, rtol=statistics_error)
    cg = LinearRegression(solver="cg", tol=CG_TOL).fit(source)
    assert cg.converged_, cg.status_
    assert_same_fit_standardized(cg, reference, X, y, rtol=statistics_error + correlation_condition(X) * CG_TOL)


def refuse(pattern: str, path, **kwargs) -> str:
    """Build the source and gather its statistics, expecting a one-line DataError matching ``pattern``."""
    kwargs.setdefault("target", "y")
    with pytest.raises(DataError, match=pattern) as info:
        FileSource(path, **kwargs).stats()
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the fit equals the in-memory fit --------------------------------------------------------------


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_file_and_directory_fit_equals_in_memory_fit(tmp_path, kind, parts):
    X, y = make_data()
    path = tmp_path / (f"data.{kind}" if parts == 1 else "data")
    if kind == "parquet":
        write_parquet(path, X, y, parts=parts, row_group_size=250)
    else:
        write_csv(path, X, y, parts=parts)
    source = FileSource(path, target="y", batch_rows=100)  # many batches, and a part of a chunk
    assert source.format == kind and len(source.files) == parts
    assert (source.n_samples, source.n_features, source.feature_names) == (1000, 4, ["x0", "x1", "x2", "x3"])
    assert_same_fit(source, X, y)


def test_statistics_equal_the_in_memory_ones(tmp_path):
    X, y = make_data(n=20_000, d=6, seed=1)
    path = write_parquet(tmp_path / "data", X, y, parts=4)
    streamed = FileSource(path, target="y", batch_rows=3000).stats()
    memory = MemorySource(X, y).stats()
    whole = SufficientStats.from_chunk(X, y, x_scale=np.ones(6), y_scale=1.0, x_origin=X[0], y_origin=float(y[0]))
    assert streamed.n_samples == 20_000 and streamed.weight == 20_000.0
    np.testing.assert_array_equal(streamed.x_origin, X[0])
    for reference in (memory, whole):
        # 2m·u of the entries' scales (m = 20,000 rows, in one BLAS product for `whole` and `memory`):
        # the fixed rtol=1e-12 was 5 times below that worst case
        assert_same_statistics(streamed, reference, X, y)


def test_sorted_offset_and_piecewise_constant_columns_keep_their_accuracy(tmp_path, monkeypatch):
    # Batches after the first are reduced from sums shifted by the previous batch's means; a column
    # that drifts (sorted), sits far from zero with a small spread, or is constant within a part
    # but not across parts must come out as accurate as two passes (the last one by falling back).
    from gradfit.sources.files.reduce import _Gatherer

    rng = np.random.default_rng(7)
    n = 3000
    X = np.column_stack([
        np.arange(n) * 1.5 + 1e6,
        1e8 + rng.standard_normal(n) * 1e-3,
        np.repeat([0.7, 0.8, -0.3], n // 3),
        rng.standard_normal(n),
    ])
    y = X @ [1.0, 2.0, 3.0, 4.0] + rng.standard_normal(n)
    path = write_parquet(tmp_path / "d", X, y, parts=3)
    two_pass = []
    original = _Gatherer._reduce_two_pass
    monkeypatch.setattr(_Gatherer, "_reduce_two_pass", lambda self, *a: two_pass.append(1) or original(self, *a))
    streamed = FileSource(path, target="y", batch_rows=250).stats()
    assert 2 <= len(two_pass) < 12  # the first batch, and the first of each part after it
    memory = MemorySource(X, y).stats()
    # As accurate as two passes, whose worst case is m·u of the centred scales: far from 1e8 or 1e6
    # a one-pass sum of squares would be off by u·offset²/variance, 1e-5 and more.
    assert_same_statistics(streamed, memory, X, y)


def test_workers_do_not_change_the_result(tmp_path):
    X, y = make_data(n=30_000, d=5, seed=2)
    path = write_parquet(tmp_path / "a.parquet", X, y)
    one = FileSource(path, target="y", workers=1, batch_rows=20_000).stats()
    three = FileSource(path, target="y", workers=3, batch_rows=20_000).stats()
    for field in ("x_offset", "xx", "xy"):
        np.testing.assert_array_equal(getattr(one, field), getattr(three, field))
    assert (one.y_offset, one.yy) == (three.y_offset, three.yy)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 700), batch_rows=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_any_batching_gives_the_same_statistics(tmp_path_factory, n, batch_rows, seed):
    X, y = make_data(n=n, d=3, seed=seed)
    path = write_parquet(tmp_path_factory.mktemp("h") / "data.parquet", X, y, row_group_size=97)
    streamed = FileSource(path, target="y", batch_rows=batch_rows).stats()
    memory = MemorySource(X, y).stats()
    assert streamed.n_samples == n
    assert_same_statistics(streamed, memory, X, y, fields=("x_mean", "xx"))


def test_convenience_constructors_and_features_subset(tmp_path):
    X, y = make_data()
    source = parquet(write_parquet(tmp_path / "a.parquet", X, y), target="y", features=["x2", "x0"])
    assert source.feature_names == ["x2", "x0"] and source.n_features == 2
    assert_same_fit(source, X[:, [2, 0]], y)
    model = LinearRegression(solver="exact").fit(source)
    assert list(model.feature_names_in_) == ["x2", "x0"] and model.n_features_in_ == 2

    source = csv(write_csv(tmp_path / "a.csv", X, y), target="y", features=["x3"])
    assert source.format == "csv"
    assert_same_fit(source, X[:, [3]], y)


def test_format_is_forced_or_read_from_magic_bytes(tmp_path):
    X, y = make_data(n=50)
    path = tmp_path / "data.bin"
    pq.write_table(table(X, y), path)
    assert FileSource(path, target="y").format == "parquet"
    text = tmp_path / "data.txt"
    pa_csv.write_csv(table(X, y), text)
    refuse("cannot tell whether this is CSV or Parquet", text)
    assert_same_fit(FileSource(text, target="y", format="csv"), X, y)


def test_directory_skips_hidden_and_underscore_files_and_reads_subdirectories(tmp_path):
    X, y = make_data(n=600)
    root = write_parquet(tmp_path / "data", X[:400], y[:400], parts=2)
    (root / "_SUCCESS").write_text("")
    (root / ".part-000.parquet.crc").write_text("junk")
    (root / "_metadata.parquet").write_text("not parquet")
    (root / "z").mkdir()
    pq.write_table(table(X[400:], y[400:]), root / "z" / "part-9.parquet")
    source = FileSource(root, target="y")
    assert [file.name for file in source.files] == ["part-000.parquet", "part-001.parquet", "part-9.parquet"]
    assert_same_fit(source, X, y)


def test_integer_and_float32_columns_and_pandas_index_is_not_a_feature(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.integers(-100, 100, 300), "b": rng.standard_normal(300).astype(np.float32), "y": rng.standard_normal(300)},
        index=pd.Index(np.arange(300) * 7, name="id"),
    )
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)  # stores the index as column "id", named in the pandas metadata
    source = FileSource(path, target="y", batch_rows=64)
    assert source.feature_names == ["a", "b"]
    X = frame[["a", "b"]].to_numpy(dtype=np.float64)
    assert_same_fit(source, X, frame["y"].to_numpy())


def test_extreme_columns_do_not_overflow(tmp_path):
    # Beyond 2^±400 squares would overflow or underflow: the batches must be rescaled, some of them
    # (a column tiny in one part and huge in another), exactly as a global scale would.
    rng = np.random.default_rng(4)
    n = 900
    X = np.column_stack([
        rng.standard_normal(n) * 1e200 + 3e200,
        rng.standard_normal(n) * 1e-200,
        rng.standard_normal(n),
        np.zeros(n),
        np.where(np.arange(n) < 450, 1e-250, 1e250) * (1 + rng.random(n)),
    ])
    y = X[:, :3] @ [2e-200, 3e199, 1.0] + X[:, 4] * 1e-250 + rng.standard_normal(n)
    path = write_parquet(tmp_path / "data", X, y, parts=3)
    source = FileSource(path, target="y", batch_rows=128)
    stats = source.stats()
    memory = MemorySource(X, y).stats()
    assert np.all(np.isfinite(stats.xx)) and np.all(np.isfinite(stats.x_mean))
    np.testing.assert_array_equal(stats.x_scale, memory.x_scale)
    assert_same_statistics(stats, memory, X, y, fields=("x_mean", "xx"))
    keep = [0, 1, 2, 4]
    reference = LinearRegression(solver="exact").fit(X[:, keep], y)
    model = LinearRegression(solver="exact").fit(FileSource(path, target="y", batch_rows=128, features=["x0", "x1", "x2", "x4"]))
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-7)


def test_progress_reports_rows(tmp_path):
    X, y = make_data(n=1000)
    calls = []
    source = FileSource(write_parquet(tmp_path / "d", X, y, parts=2), target="y", batch_rows=300, progress=lambda done, total: calls.append((done, total)))
    source.stats()
    assert calls[-1] == (1000, 1000) and len(calls) == 4  # 500 rows per file: 300 + 200, twice
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)

    calls.clear()
    source = FileSource(write_csv(tmp_path / "c.csv", X, y), target="y", progress=lambda done, total: calls.append((done, total)))
    source.stats()
    assert calls[-1] == (1000, None)


def test_csv_row_count_is_counted_lazily_and_long_rows_get_a_bigger_block(tmp_path):
    X, y = make_data(n=3000)
    path = tmp_path / "data.csv"
    # The block size is set from the first 64 KiB; rows after that are 20 kB long and do not fit.
    lines = ["x0,note,y"] + [f"{float(X[i, 0])!r},{'z' * (5 if i < 2900 else 20_000)},{float(y[i])!r}" for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    source = FileSource(path, target="y", features=["x0"], batch_rows=10)
    assert source.n_samples == 3000
    passes: list[list[int]] = []

    def progress(done, total):
        if not passes or done <= passes[-1][-1]:
            passes.append([])  # a new pass
        passes[-1].append(done)

    source.progress = progress
    assert_same_fit(source, X[:, :1], y)
    # Two fits, each one pass: on the long rows the file is read again with a bigger block, going on
    # after the rows already gathered (never counting a row twice).
    assert [rows[-1] for rows in passes] == [3000, 3000]
    assert source._layout.block_bytes[path] > 20_000


def test_stochastic_solvers_read_files_once_an_epoch(tmp_path):
    """They draw rows block by block from one scan of the files an epoch (tests/test_stochastic_files.py
    checks the updates); the files are never read into memory whole."""
    X, y = make_data(n=100)
    source = FileSource(write_parquet(tmp_path / "a.parquet", X, y), target="y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stopping at max_iter warns
        model = LinearRegression(solver="sgd", max_iter=4, random_state=0).fit(source)
    assert model.n_iter_ == 4 and source.passes == 4 + 1  # the epochs and the step bound's scan


# --- bad input: one line naming the file and the column --------------------------------------------


def test_missing_path_and_empty_or_mixed_directory(tmp_path):
    refuse("no such file or directory", tmp_path / "nope.parquet")
    (tmp_path / "empty").mkdir()
    refuse(r"empty: no \.parquet or \.csv files", tmp_path / "empty")
    refuse(r"no \.csv files", tmp_path / "empty", format="csv")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    X, y = make_data(n=20)
    pq.write_table(table(X, y), mixed / "a.parquet")
    pa_csv.write_csv(table(X, y), mixed / "b.csv")
    refuse("both .parquet and .csv", mixed)
    assert FileSource(mixed, target="y", format="csv").files == [mixed / "b.csv"]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_missing_columns_list_the_available_ones(tmp_path, kind):
    X, y = make_data(n=20, d=2)
    path = tmp_path / f"a.{kind}"
    (write_parquet if kind == "parquet" else write_csv)(path, X, y)
    message = refuse(r"no column named 'price' for the target; the columns are: 'x0', 'x1', 'y'", path, target="price")
    assert str(path) in message
    refuse(r"no column named 'x9' \(asked for as a feature\); the columns are: 'x0', 'x1', 'y'", path, features=["x0", "x9"])
    refuse("both the target and a feature", path, features=["x0", "y"])
    refuse("listed more than once", path, features=["x0", "x0"])
    refuse("no feature columns were given", path, features=[])


def test_non_numeric_parquet_column_is_named_with_its_file(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 4.0], "city": ["Oslo", "Rome", "Oslo"], "y": [1.0, 2.0, 6.0]}), path)
    message = refuse(r"a\.parquet: column 'city' is string, not numbers; name the numeric feature columns", path)
    assert str(path) in message
    assert_same_fit(FileSource(path, target="y", features=["x"]), np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 2.0, 6.0]))
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": [True, False]}), path)
    refuse(r"column 'y' is bool, not numbers", path)


def test_text_in_a_csv_number_column_names_file_line_and_column(tmp_path):
    X, y = make_data(n=300, d=2)
    path = write_csv(tmp_path / "a.csv", X, y)
    lines = path.read_text().splitlines()
    lines[250] = lines[250].split(",", 1)[0] + ",oops," + lines[250].rsplit(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    message = refuse(r"a\.csv, line 251, column 'x1': 'oops' is not a number", path, batch_rows=20)
    assert str(path) in message
    # the same column left out of the features is never parsed
    FileSource(path, target="y", features=["x0"]).stats()


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_schema_differing_between_parts_names_both_files_and_the_column(tmp_path, kind):
    X, y = make_data(n=100, d=3)
    root = tmp_path / "d"
    root.mkdir()
    write = pq.write_table if kind == "parquet" else pa_csv.write_csv
    write(table(X[:50], y[:50]), root / f"a.{kind}")
    write(table(X[50:, :2], y[50:]), root / f"b.{kind}")
    message = refuse(rf"b\.{kind}: has no column 'x2', which .*a\.{kind} has", root)
    assert str(root / f"a.{kind}") in message and str(root / f"b.{kind}") in message
    write(table(X[50:], y[50:], names=["x0", "x1", "x2"]).append_column("extra", pa.array(y[50:])), root / f"b.{kind}")
    refuse(rf"b\.{kind}: has a column 'extra' that .*a\.{kind} has not", root)


def test_column_type_differing_between_parquet_parts(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 4.0]}), root / "a.parquet")
    pq.write_table(pa.table({"x": [4, 5], "y": [1.0, 2.0]}), root / "b.parquet")
    refuse(r"b\.parquet: column 'x' is int64 but in .*a\.parquet it is double; write every file with the same column types", root)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_an_empty_part_is_named(tmp_path, kind):
    X, y = make_data(n=60, d=2)
    root = tmp_path / "d"
    root.mkdir()
    if kind == "parquet":
        pq.write_table(table(X, y), root / "a.parquet")
        pq.write_table(table(X[:0], y[:0]), root / "b.parquet")
    else:
        pa_csv.write_csv(table(X, y), root / "a.csv")
        (root / "b.csv").write_text('"x0","x1","y"\n')
    message = refuse(rf"b\.{kind}: the file has (a header but )?no (data )?rows \(an empty part\)", root)
    assert str(root / f"b.{kind}") in message
    (root / f"b.{kind}").write_bytes(b"")
    refuse(rf"b\.{kind}: (the file is empty|cannot be read as Parquet)", root)


def test_nan_inf_and_null_in_parquet_name_file_row_and_column(tmp_path):
    X, y = make_data(n=400, d=3)
    root = write_parquet(tmp_path / "d", X, y, parts=2)  # rows 200.. are b's rows 0..
    bad = root / "part-001.parquet"

    def rewrite(column: str, row: int, value) -> None:
        data = pq.read_table(bad).to_pydict()
        data[column][row] = value
        pq.write_table(pa.table(data), bad)

    rewrite("x1", 137, float("nan"))
    message = refuse(r"part-001\.parquet, row 137 \(0-based\), column 'x1': NaN", root, batch_rows=50)
    assert str(bad) in message
    rewrite("x1", 137, 1.0)
    rewrite("y", 12, float("-inf"))
    refuse(r"part-001\.parquet, row 12 \(0-based\), column 'y': -inf \(not a finite number\)", root, batch_rows=50)
    rewrite("y", 12, 1.0)
    rewrite("x0", 199, None)
    refuse(r"part-001\.parquet, row 199 \(0-based\), column 'x0': a null \(missing\) value", root, batch_rows=50)
    # the first bad row of a batch is named, whichever column it is in
    rewrite("x0", 199, 1.0)
    rewrite("x2", 90, float("inf"))
    rewrite("x0", 60, float("nan"))
    refuse(r"row 60 \(0-based\), column 'x0'", root, batch_rows=100)


def test_missing_and_infinite_csv_cells_name_file_line_and_column(tmp_path):
    X, y = make_data(n=200, d=2)
    path = write_csv(tmp_path / "a.csv", X, y)
    original = path.read_text().splitlines()

    def rewrite(line: int, column: int, text: str) -> None:
        lines = list(original)
        cells = lines[line - 1].split(",")
        cells[column] = text
        lines[line - 1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")

    rewrite(150, 1, "")
    message = refuse(r"a\.csv, line 150, column 'x1': an empty cell; fill it in, or pass --drop-missing", path, batch_rows=30)
    assert str(path) in message
    rewrite(40, 2, "NaN")
    refuse(r"a\.csv, line 40, column 'y': a missing value \('NaN'\)", path, batch_rows=30)
    rewrite(7, 0, "inf")
    refuse(r"a\.csv, line 7, column 'x0': 'inf' is not a finite number", path, batch_rows=30)


def test_an_error_in_the_last_part_leaves_no_statistics(tmp_path):
    X, y = make_data(n=300)
    root = write_parquet(tmp_path / "d", X, y, parts=3)
    data = pq.read_table(root / "part-002.parquet").to_pydict()
    data["x3"][-1] = float("nan")
    pq.write_table(pa.table(data), root / "part-002.parquet")
    source = FileSource(root, target="y", batch_rows=40)
    with pytest.raises(DataError, match="part-002"):
        LinearRegression(solver="exact").fit(source)
    model = LinearRegression(solver="exact")
    with pytest.raises(DataError):
        model.fit(source)
    assert not hasattr(model, "coef_")


def test_an_interrupted_pass_stops_its_threads(tmp_path):
    import threading

    X, y = make_data(n=5000)
    source = FileSource(write_parquet(tmp_path / "a.parquet", X, y), target="y", batch_rows=500, workers=2)
    before = threading.active_count()

    def interrupt(done, total):
        if done >= 1500:
            raise KeyboardInterrupt

    source.progress = interrupt
    with pytest.raises(KeyboardInterrupt):
        source.stats()
    assert threading.active_count() == before
    source.progress = None
    assert source.stats().n_samples == 5000


def test_bad_arguments(tmp_path):
    X, y = make_data(n=20)
    path = write_parquet(tmp_path / "a.parquet", X, y)
    with pytest.raises(ValueError, match="batch_rows"):
        FileSource(path, target="y", batch_rows=0)
    with pytest.raises(ValueError, match="format"):
        FileSource(path, target="y", format="json")
    (tmp_path / "junk.parquet").write_text("not parquet at all")
    refuse(r"junk\.parquet: cannot be read as Parquet", tmp_path / "junk.parquet")


# --- dropping rows with missing values, while streaming --------------------------------------------


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_drop_missing_drops_counts_and_equals_the_fit_to_the_kept_rows(tmp_path, kind):
    X, y = make_data(n=1200, d=3, seed=5)
    data = table(X, y).to_pydict()
    holes = {3: "x0", 250: "y", 251: "x2", 799: "x1", 1199: "y"}
    for row, column in holes.items():
        data[column][row] = None if row % 2 else float("nan")
    root = tmp_path / "d"
    root.mkdir()
    write = pq.write_table if kind == "parquet" else pa_csv.write_csv
    write(pa.table(data).slice(0, 500), root / f"a.{kind}")
    write(pa.table(data).slice(500), root / f"b.{kind}")
    refuse(r"a\.parquet, row 3 \(0-based\), column 'x0': a null" if kind == "parquet" else
           r"a\.csv, line 5, column 'x0': an empty cell", root)
    source = FileSource(root, target="y", drop_missing=True, batch_rows=128)
    assert source.n_dropped is None
    keep = np.setdiff1d(np.arange(1200), list(holes))
    assert_same_fit(source, X[keep], y[keep])
    assert (source.n_samples, source.n_rows_read, source.n_dropped) == (1195, 1200, 5)
    # asked before any pass, the kept rows are counted by one
    assert FileSource(root, target="y", drop_missing=True).n_samples == 1195


def test_drop_missing_csv_markers_in_any_case_and_after_a_blank(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("x, y\n1, 3\n2, NA\n3, nan\n4,NULL\n5,None\n6,\n7, N/A\n8,-NaN\n9, 19\n10,21\n")
    source = FileSource(path, target="y", drop_missing=True)
    assert_same_fit(source, np.array([[1.0], [9.0], [10.0]]), np.array([3.0, 19.0, 21.0]))
    assert source.n_dropped == 7 and source.feature_names == ["x"]


def test_drop_missing_still_refuses_infinite_values_and_all_missing(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("x,y\n1,2\n,3\n4,inf\n")
    refuse(r"a\.csv, line 4, column 'y': 'inf' is not a finite number", path, drop_missing=True)
    path.write_text("x,y\n1,\n,3\n")
    refuse(r"all 2 rows have a missing value in a used column \('x', 'y'\); nothing is left to fit", path, drop_missing=True)
    parquet_path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"x": [1.0, None, 4.0], "y": [2.0, 3.0, float("inf")]}), parquet_path)
    refuse(r"row 2 \(0-based\), column 'y': inf \(not a finite number\)", parquet_path, drop_missing=True)


# --- the statistics of the rows so far, for a progress bar ------------------------------------------


def test_partial_stats_are_the_statistics_of_the_rows_read_so_far(tmp_path):
    X, y = make_data(n=3000, d=4, seed=6)
    source = FileSource(write_parquet(tmp_path / "d", X, y, parts=3), target="y", batch_rows=256)
    assert source.partial_stats() is None
    seen = []

    def progress(done, total):
        stats = source.partial_stats()
        memory = MemorySource(X[:done], y[:done]).stats()
        assert stats.n_samples == done
        assert_same_statistics(stats, memory, X[:done], y[:done], fields=("x_mean", "xx"))
        seen.append(done)

    source.progress = progress
    whole = source.stats()
    assert seen[-1] == 3000 and len(seen) == 12  # 1000 rows per file: 256 × 3 + 232, three times
    assert source.partial_stats() is None
    np.testing.assert_array_equal(whole.xx, FileSource(source.path, target="y", batch_rows=256).stats().xx)


def test_bytes_read_follow_a_csv_pass(tmp_path):
    X, y = make_data(n=2000, d=2)
    path = write_csv(tmp_path / "d", X, y, parts=2)
    source = FileSource(path, target="y", batch_rows=100)
    assert source.n_bytes == sum(file.stat().st_size for file in source.files)
    read = []
    source.progress = lambda done, total: read.append(source.bytes_read)
    source.stats()
    assert read == sorted(read) and read[-1] == source.n_bytes and len(read) > 2
    assert FileSource(write_parquet(tmp_path / "p.parquet", X, y), target="y").bytes_read is None


# --- CSV as people write it, and as the in-memory reader names its problems --------------------------


def test_csv_with_blanks_after_commas_bom_and_blank_lines_before_the_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff\n\n x , y\r\n 1 , 3\r\n\r\n2, 5\r\n3,  7 \r\n".encode())
    source = FileSource(path, target="y")
    assert source.feature_names == ["x"] and source.n_samples == 3
    assert_same_fit(source, np.array([[1.0], [2.0], [3.0]]), np.array([3.0, 5.0, 7.0]))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("x,y\n1,2\n3,4,5\n", r"a\.csv, line 3: expected 2 fields \(as in the header\) but got 3"),
        ("x,y\n1,2\n\n3\n", r"a\.csv, line 4: expected 2 fields \(as in the header\) but got 1"),
        ("x,y\n1,2\n1_000,3\n", r"a\.csv, line 3, column 'x': '1_000' is not a number"),
        ("x,y\n1,2\n#N/A,3\n", r"a\.csv, line 3, column 'x': '#N/A' is not a number"),
        ("x,x,y\n1,2,3\n", r"a\.csv, line 1: column name 'x' appears twice \(columns 1 and 2\)"),
        ("\n", r"a\.csv: the file is empty"),
    ],
    ids=["extra field", "missing field", "underscore", "excel NA", "repeated name", "blank"],
)
def test_csv_problems_are_named_by_line(tmp_path, text, pattern):
    path = tmp_path / "a.csv"
    path.write_text(text)
    refuse(pattern, path)


def test_csv_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("x,y\n1,2\n3,caf\xe9\n".encode("latin-1"))
    refuse(r"a\.csv, line 3: byte b'\\xe9' is not valid UTF-8", path)
    path.write_bytes("x,caf\xe9\n1,2\n".encode("latin-1"))
    refuse(r"a\.csv, line 1: byte b'\\xe9' is not valid UTF-8", path, target="x")


def test_file_format_by_suffix_or_magic_bytes(tmp_path):
    from gradfit.sources.files import file_format

    X, y = make_data(n=10)
    pq.write_table(table(X, y), tmp_path / "data.bin")
    (tmp_path / "data.txt").write_text("x,y\n1,2\n")
    assert file_format(tmp_path / "data.bin") == "parquet" and file_format(tmp_path / "data.txt") is None
    assert file_format(tmp_path / "x.CSV") == "csv" and file_format(tmp_path / "x.parquet") == "parquet"


# --- rows to predict from ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_feature_batches_give_the_features_in_order_in_blocks(tmp_path, kind):
    from gradfit.sources.files import feature_batches

    X, y = make_data(n=1000, d=3, seed=8)
    path = tmp_path / "d"
    (write_parquet if kind == "parquet" else write_csv)(path, X, y, parts=3)
    blocks = list(feature_batches(path, features=["x2", "x0"], batch_rows=128))
    assert all(block.flags.c_contiguous and block.dtype == np.float64 and block.shape[1] == 2 for block in blocks)
    assert max(len(block) for block in blocks) <= (128 if kind == "parquet" else 1000) and len(blocks) >= 3
    np.testing.assert_array_equal(np.vstack(blocks), X[:, [2, 0]])


def test_feature_batches_check_columns_first_and_values_while_reading(tmp_path):
    from gradfit.sources.files import feature_batches

    X, y = make_data(n=600, d=2)
    path = write_parquet(tmp_path / "a.parquet", X, y)
    with pytest.raises(DataError, match=r"no column named 'x7' \(a feature of the model\); the columns are: 'x0', 'x1', 'y'"):
        feature_batches(path, features=["x0", "x7"])  # at once, before a block is asked for
    data = table(X, y).to_pydict()
    data["x1"][450] = None
    pq.write_table(pa.table(data), path)
    blocks = feature_batches(path, features=["x0", "x1"], batch_rows=100)
    assert len([next(blocks) for _ in range(4)]) == 4
    with pytest.raises(DataError, match=r"row 450 \(0-based\), column 'x1': a null \(missing\) value; fill it in: every row"):
        list(blocks)
    csv_path = tmp_path / "b.csv"
    csv_path.write_text("x0,x1\n1,2\n3,NA\n")
    with pytest.raises(DataError, match=r"b\.csv, line 3, column 'x1': a missing value \('NA'\); fill it in: every row"):
        list(feature_batches(csv_path, features=["x0", "x1"]))


def test_feature_batches_go_on_after_a_row_longer_than_the_block(tmp_path):
    from gradfit.sources.files import feature_batches

    rng = np.random.default_rng(9)
    x = rng.standard_normal(3000)
    lines = ["x,note"] + [f"{float(value)!r},{'z' * (5 if i < 2900 else 20_000)}" for i, value in enumerate(x)]
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    np.testing.assert_array_equal(np.vstack(list(feature_batches(path, features=["x"], batch_rows=10)))[:, 0], x)


def test_integers_beyond_2_to_the_53_are_read_as_the_nearest_floats(tmp_path):
    """uint64/int64 values past float64's exact range round, as numpy's astype rounds them, rather
    than failing as if the file were damaged."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    big = np.array([2**60 + 1, 2**60 + 3, 5, 7, 9, 2**62], dtype=np.uint64)
    y = np.arange(6, dtype=np.float64)
    pq.write_table(pa.table({"n": big, "y": y}), tmp_path / "big.parquet")
    stats = FileSource(tmp_path / "big.parquet", target="y").stats()
    assert stats.n_samples == 6
    # Two means of the same six floats: numpy's sum of positive terms is within m·u of exact, the
    # statistics' (the first row plus the mean offset from it) within u·|x̄| + m·u·mean|x − x₀|.
    values = big.astype(np.float64)
    rel = ((len(values) + 1) * np.mean(values) + len(values) * np.mean(np.abs(values - values[0]))) * EPS / np.mean(values)
    assert float(stats.x_mean[0] * stats.x_scale[0]) == pytest.approx(float(np.mean(values)), rel=rel)


def test_predict_reads_a_file_source_by_the_models_feature_names(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gradfit import DataError, LinearRegression

    rng = np.random.default_rng(40)
    X = rng.normal(size=(3000, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0
    pq.write_table(pa.table({"c": X[:, 2], "a": X[:, 0], "b": X[:, 1], "y": y}), tmp_path / "data.parquet",
                   row_group_size=700)
    model = LinearRegression(solver="exact").fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    predicted = model.predict(FileSource(tmp_path / "data.parquet", target="y", batch_rows=512))
    assert predicted.shape == (3000,)
    assert_same_predictions(predicted, model.predict(pd.DataFrame(X, columns=["a", "b", "c"])), X, model.coef_, model.intercept_)
    with pytest.raises(DataError, match="no feature names"):
        LinearRegression(solver="exact").fit(X, y).predict(FileSource(tmp_path / "data.parquet", target="y"))


@pytest.mark.parametrize("column", [
    pa.array([1.5, -2.0, 3.25]),
    pa.array([1.5, None, 3.25, None, 7.0, 8.0, 9.0, 10.0, None]),
    pa.array([1.5, None, 3.25, None, 7.0, 8.0, 9.0, 10.0, None]).slice(3, 5),
    pa.array([1.0, 2.0, 3.0, 4.0]).slice(1),
    pa.array([2**60 + 1, None, -5], pa.int64()),
    pa.array([True, None, False]),
    pa.array([0.5, None], pa.float32()),
    pa.nulls(3),
    pa.chunked_array([pa.array([1.0, None]), pa.array([None, 4.0])]),
    pa.array([], pa.float64()),
], ids=["float64", "nulls", "sliced with nulls", "sliced", "int64", "bool", "float32", "all null", "chunked", "empty"])
def test_columns_are_read_as_pyarrow_converts_them(column):
    """Columns are read from the Arrow buffers (pyarrow's to_numpy imports pandas): the same values, nulls as NaN."""
    from gradfit.sources.files.batches import _to_float64

    cast = pc.cast(column, pa.float64(), safe=False)
    if isinstance(cast, pa.ChunkedArray):
        cast = cast.combine_chunks()
    got, expected = _to_float64(column), cast.to_numpy(zero_copy_only=False)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
