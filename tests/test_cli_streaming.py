"""The command line's file handling, run in-process (``gradfit.cli.run``, no subprocess): ``fit`` and
``predict`` stream CSV and Parquet files and directories in batches, every bad input is one line and
exit code 2, nothing the user had is overwritten, and the progress bar's logic (without a terminal)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import gradfit
import gradfit.sources.files.csv_text as csv_text
from gradfit.cli import fit as fit_command
from gradfit.cli import output
from gradfit.sources.files import FileSource
from gradfit.sources.memory import MemorySource

from cli_checks import expect, expect_error
from problems import write_csv
from references import assert_same_predictions, correlation_condition

COLUMNS = ["rooms", "area", "age"]


def make_problem(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]
    y = X @ [1.5, -0.25, 4.0] + 2.0 + 0.1 * rng.standard_normal(n)
    return X, y


def frame(X: np.ndarray, y: np.ndarray | None = None) -> pa.Table:
    columns = {name: X[:, j] for j, name in enumerate(COLUMNS)}
    return pa.table(columns if y is None else {**columns, "price": y})


def write_problem_csv(path: Path, X: np.ndarray, y: np.ndarray | None = None) -> Path:
    """The problem's columns (and the target ``price``, when given) as a CSV file."""
    return write_csv(path, COLUMNS + ([] if y is None else ["price"]), X if y is None else np.column_stack([X, y]))


@pytest.fixture
def problem(tmp_path):
    X, y = make_problem()
    return write_problem_csv(tmp_path / "train.csv", X, y), X, y


def exact(X: np.ndarray, y: np.ndarray) -> gradfit.LinearRegression:
    return gradfit.LinearRegression(solver="exact").fit(X, y)


# --- fit streams CSV as it streams Parquet ---------------------------------------------------------


def test_fit_streams_a_csv_file_through_file_source(gradfit_cli, problem, monkeypatch):
    path, X, y = problem
    sources = []
    original = FileSource.stats
    monkeypatch.setattr(FileSource, "stats", lambda self: sources.append(self) or original(self))
    monkeypatch.setattr(csv_text, "read_csv_table", None)  # never the in-memory reader
    result = json.loads(expect(gradfit_cli("fit", path, "--target", "price", "--solver", "cg", "--tol", "1e-12",
                                           "--json")).stdout)
    assert len(sources) == 1 and sources[0].format == "csv"
    np.testing.assert_allclose(list(result["coef"].values()), exact(X, y).coef_, rtol=1e-9)
    assert result["features"] == COLUMNS and (result["n_samples"], result["n_rows_read"], result["n_dropped"]) == (500, 500, 0)


def test_fit_csv_with_spaces_bom_crlf_quotes_and_blank_lines(gradfit_cli, tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes('\ufeff"x", y , note\r\n\r\n 0 ,"1", a\r\n1, 3,b\r\n\r\n2 ,5 ,"c, d"\r\n'.encode())
    result = json.loads(expect(gradfit_cli("fit", path, "--target", "y", "--features", "x", "--solver", "exact",
                                           "--json")).stdout)
    assert result["coef"]["x"] == pytest.approx(2.0) and result["intercept"] == pytest.approx(1.0)
    assert result["n_samples"] == 3
    # pyarrow takes no quoted value after a blank (the in-memory reader did): said so, with the line
    path.write_text('x,y,note\n0,1,a\n1,3,b\n2,5, "c, d"\n')
    expect_error(gradfit_cli("fit", path, "--target", "y", "--features", "x"),
                 "messy.csv, line 4: expected 3 fields (as in the header) but got 4; remove the blank before the opening quote")
    path.write_text('x,y\n0,1\n1, "3"\n')
    expect_error(gradfit_cli("fit", path, "--target", "y"),
                 "messy.csv, line 3, column 'y': '\"3\"' is not a number; remove the blank before the opening quote")


def test_fit_drop_missing_streams_and_counts(gradfit_cli, tmp_path):
    X, y = make_problem(n=300)
    lines = write_problem_csv(tmp_path / "full.csv", X, y).read_text().splitlines()
    holes = {5: (0, ""), 77: (3, "NA"), 150: (1, "nan"), 151: (2, "NULL"), 299: (3, " None")}
    for row, (column, text) in holes.items():
        cells = lines[row + 1].split(",")
        cells[column] = text
        lines[row + 1] = ",".join(cells)
    path = tmp_path / "holes.csv"
    path.write_text("\n".join(lines) + "\n")
    expect_error(gradfit_cli("fit", path, "--target", "price"), "holes.csv, line 7, column 'rooms': an empty cell",
                 "--drop-missing")
    outcome = expect(gradfit_cli("fit", path, "--target", "price", "--drop-missing", "--solver", "exact", "--json"))
    result = json.loads(outcome.stdout)
    keep = np.setdiff1d(np.arange(300), list(holes))
    np.testing.assert_allclose(list(result["coef"].values()), exact(X[keep], y[keep]).coef_, rtol=1e-9)
    assert (result["n_samples"], result["n_rows_read"], result["n_dropped"]) == (295, 300, 5)
    assert outcome.stderr == "note: dropped 5 of 300 rows with a missing value (--drop-missing)\n"
    # the same in the table, and for a Parquet directory with nulls and NaN
    assert "295 (5 of 300 rows dropped for missing values)" in expect(
        gradfit_cli("fit", path, "--target", "price", "--drop-missing")).stdout
    folder = tmp_path / "parts"
    folder.mkdir()
    data = frame(X, y).to_pydict()
    data["rooms"][5], data["age"][77], data["price"][150] = None, float("nan"), None
    table = pa.table(data)
    pq.write_table(table.slice(0, 100), folder / "a.parquet")
    pq.write_table(table.slice(100), folder / "b.parquet")
    expect_error(gradfit_cli("fit", folder, "--target", "price"), "a.parquet, row 5 (0-based), column 'rooms': a null",
                 "--drop-missing")
    result = json.loads(expect(gradfit_cli("fit", folder, "--target", "price", "--drop-missing", "--json")).stdout)
    assert (result["n_samples"], result["n_dropped"]) == (297, 3)


def test_fit_drop_missing_with_nothing_left(gradfit_cli, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("x,y\n,1\n2,\n")
    expect_error(gradfit_cli("fit", path, "--target", "y", "--drop-missing"), "all 2 rows have a missing value",
                 "'x', 'y'", "nothing is left to fit")


def test_fit_csv_without_csv_suffix_and_format_option(gradfit_cli, tmp_path, problem):
    path, X, y = problem
    text = tmp_path / "train.txt"
    text.write_bytes(path.read_bytes())
    result = json.loads(expect(gradfit_cli("fit", text, "--target", "price", "--solver", "exact", "--json")).stdout)
    np.testing.assert_allclose(list(result["coef"].values()), exact(X, y).coef_, rtol=1e-9)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_bytes(path.read_bytes())
    pq.write_table(frame(X[:10], y[:10]), mixed / "b.parquet")
    expect_error(gradfit_cli("fit", mixed, "--target", "price"), "both .parquet and .csv", "--format")
    result = json.loads(expect(gradfit_cli("fit", mixed, "--target", "price", "--format", "csv", "--json")).stdout)
    assert result["n_samples"] == 500


def test_stochastic_solvers_stream_csv_and_parquet(gradfit_cli, problem, tmp_path, monkeypatch):
    path, X, y = problem
    # fixed seed: the command line's stochastic solvers draw theirs from numpy's global generator
    monkeypatch.setattr(np.random.mtrand, "_rand", np.random.RandomState(0))
    # 50 epochs of minibatch do not reach tol: the fit stops short, exit code 3
    outcome = expect(gradfit_cli("fit", path, "--target", "price", "--solver", "minibatch", "--max-iter", "50", "--json"), 3)
    result = json.loads(outcome.stdout)
    # statistics, epochs (50, or fewer where the loss stalls), step bound
    assert result["solver"] == "minibatch" and result["n_passes"] == 1 + result["n_iter"] + 1
    assert result["status"] in ("max_iter", "stalled")
    pq.write_table(frame(X, y), tmp_path / "train.parquet")
    outcome = expect(gradfit_cli("fit", tmp_path / "train.parquet", "--target", "price", "--solver", "sgd",
                                 "--max-iter", "5", "--json"), 3)
    assert json.loads(outcome.stdout)["n_iter"] == 5


def test_fit_bad_value_leaves_an_existing_model_alone_even_with_force(gradfit_cli, problem, tmp_path):
    path, _, _ = problem
    lines = path.read_text().splitlines()
    lines[-1] = "1,2,oops,4"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    (tmp_path / "model.json").write_text("precious")
    expect_error(gradfit_cli("fit", bad, "--target", "price", "--save", "model.json", "--force"),
                 "bad.csv, line 501, column 'age': 'oops' is not a number")
    assert (tmp_path / "model.json").read_text() == "precious"


# --- bad input: one line, exit code 2 ----------------------------------------------------------------

BAD_FILES = {
    "empty": (b"", "the file is empty"),
    "blank lines only": (b"\n  \n\n", "the file is empty"),
    "header only": (b"x,y\n", "no data rows"),
    "missing target": (b"a,b\n1,2\n", "no column named 'y' for the target; the columns are: 'a', 'b'"),
    "duplicate columns": (b"x,x,y\n1,2,3\n", "line 1: column name 'x' appears twice (columns 1 and 2)"),
    "nameless column": (b"x,,y\n1,2,3\n", "line 1: column 2 has no name"),
    "ragged row": (b"x,y\n1,2\n3,4,5\n", "line 3: expected 2 fields (as in the header) but got 3"),
    "short row": (b"x,y\n1,2\n\n3\n", "line 4: expected 2 fields (as in the header) but got 1"),
    "non-numeric": (b"x,y\n1,2\nthree,4\n", "line 3, column 'x': 'three' is not a number"),
    "underscore digits": (b"x,y\n1,2\n1_000,4\n", "line 3, column 'x': '1_000' is not a number"),
    "missing cell": (b"x,y\n1,2\n3,\n", "line 3, column 'y': an empty cell"),
    "NaN cell": (b"x,y\n1,NaN\n", "line 2, column 'y': a missing value ('NaN'); fill it in, or pass --drop-missing"),
    "inf": (b"x,y\n1,2\ninf,4\n", "line 3, column 'x': 'inf' is not a finite number"),
    "overflow": (b"x,y\n1,2\n1e999,4\n", "line 3, column 'x': '1e999' is not a finite number"),
    "not UTF-8": ("x,y\n1,2\n3,4\n5,\u00e9\n".encode("latin-1"), "line 4: byte b'\\xe9' is not valid UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_fit_bad_csv_is_one_line_naming_file_and_place(gradfit_cli, tmp_path, case):
    content, fragment = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    expect_error(gradfit_cli("fit", path, "--target", "y"), fragment, str(path))


def test_fit_bad_value_deep_in_a_big_csv_names_its_line(gradfit_cli, tmp_path):
    X, y = make_problem(n=40_000)
    path = write_problem_csv(tmp_path / "big.csv", X, y)
    lines = path.read_text().splitlines()
    lines[39_000] = "1,2,#N/A,4"  # line 39001 of the file, in one of the last batches
    path.write_text("\n".join(lines) + "\n")
    expect_error(gradfit_cli("fit", path, "--target", "price"), "big.csv, line 39001, column 'age': '#N/A' is not a number")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--target", "cost"], ["no column named 'cost' for the target", "'rooms', 'area', 'age', 'price'"]),
        (["--target", "price", "--features", "rooms,floors"], ["no column named 'floors' (asked for as a feature)"]),
        (["--target", "price", "--features", "rooms,rooms"], ["feature 'rooms' is listed more than once"]),
        (["--target", "price", "--features", "rooms,price"], ["'price' is both the target and a feature"]),
        (["--target", "price", "--format", "parquet"], ["cannot be read as Parquet"]),
    ],
    ids=["target", "feature", "repeated", "target as feature", "wrong format"],
)
def test_fit_column_errors_csv_and_parquet(gradfit_cli, problem, tmp_path, args, fragments):
    path, X, y = problem
    expect_error(gradfit_cli("fit", path, *args), *fragments)
    if "--format" not in args:
        pq.write_table(frame(X, y), tmp_path / "train.parquet")
        expect_error(gradfit_cli("fit", tmp_path / "train.parquet", *args), *fragments)


def test_fit_bad_parquet_inputs(gradfit_cli, tmp_path):
    (tmp_path / "junk.parquet").write_text("not parquet")
    expect_error(gradfit_cli("fit", "junk.parquet", "--target", "y"), "junk.parquet: cannot be read as Parquet")
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "city": ["a", "b", "c"], "y": [1.0, 2.0, 4.0]}), tmp_path / "t.parquet")
    expect_error(gradfit_cli("fit", "t.parquet", "--target", "y"), "column 'city' is string, not numbers", "--features")
    pq.write_table(pa.table({"x": [1.0, float("inf")], "y": [1.0, 2.0]}), tmp_path / "inf.parquet")
    expect_error(gradfit_cli("fit", "inf.parquet", "--target", "y"), "row 1 (0-based), column 'x': inf (not a finite number)")
    expect_error(gradfit_cli("fit", "absent", "--target", "y"), "absent: no such file or directory")
    (tmp_path / "empty").mkdir()
    expect_error(gradfit_cli("fit", "empty", "--target", "y"), "no .parquet or .csv files in this directory")


# --- predict streams CSV and Parquet, in batches -------------------------------------------------------


@pytest.fixture
def saved_model(gradfit_cli, problem):
    path, _, _ = problem
    expect(gradfit_cli("fit", path, "--target", "price", "--save", "model.json"))
    return gradfit.load("model.json")


@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.parametrize("kind", ["csv", "parquet", "parquet directory", "csv directory"])
def test_predict_streams_any_input_in_batches(gradfit_cli, saved_model, tmp_path, monkeypatch, kind):
    X, _ = make_problem(n=5000, seed=1)
    columns = {"age": X[:, 2], "note": ["n"] * len(X), "rooms": X[:, 0], "area": X[:, 1]}  # other order, extra column
    table = pa.table(columns)
    if kind == "csv":
        path = tmp_path / "new.csv"
        pa_csv.write_csv(table, path)
    elif kind == "parquet":
        path = tmp_path / "new.parquet"
        pq.write_table(table, path)
    else:
        path = tmp_path / "parts"
        path.mkdir()
        write = pq.write_table if kind.startswith("parquet") else pa_csv.write_csv
        for index, start in enumerate(range(0, 5000, 1500)):
            write(table.slice(start, 1500), path / f"part-{index}.{kind.split()[0]}")
    import gradfit.sources.files.predict as predict

    monkeypatch.setattr(predict, "_default_batch_rows", lambda n_columns: 700)  # many batches
    outcome = expect(gradfit_cli("predict", "model.json", path))
    lines = outcome.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == 5001
    # BLAS may round a row's dot product differently in a block of another size; printing loses nothing.
    assert_same_predictions([float(line) for line in lines[1:]], saved_model.predict(X), X, saved_model.coef_,
                            saved_model.intercept_)
    assert outcome.stderr == ""


@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_predict_output_csv_or_parquet_by_extension(gradfit_cli, saved_model, tmp_path):
    X, _ = make_problem(n=1000, seed=2)
    pq.write_table(frame(X), tmp_path / "new.parquet")
    outcome = expect(gradfit_cli("predict", "model.json", "new.parquet", "--output", "out.parquet"))
    assert outcome.stdout.strip() == "wrote 1000 predictions to out.parquet"
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.column_names == ["prediction"] and written.schema.field(0).type == pa.float64()
    assert_same_predictions(written.column(0).to_numpy(), saved_model.predict(X), X, saved_model.coef_, saved_model.intercept_)
    expect(gradfit_cli("predict", "model.json", "new.parquet", "--output", "out.csv"))
    text = expect(gradfit_cli("predict", "model.json", "new.parquet")).stdout
    assert (tmp_path / "out.csv").read_text() == text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.json", "new.parquet", "out.csv", "out.parquet",
                                                                "train.csv"]


def test_predict_never_overwrites_without_force_and_leaves_no_partial_file(gradfit_cli, saved_model, tmp_path):
    X, _ = make_problem(n=3000, seed=3)
    data = frame(X).to_pydict()
    data["area"][2900] = float("nan")
    pq.write_table(pa.table(data), tmp_path / "bad.parquet", row_group_size=500)
    pq.write_table(frame(X), tmp_path / "good.parquet")
    for name in ("out.csv", "out.parquet"):
        (tmp_path / name).write_text("precious")
        expect_error(gradfit_cli("predict", "model.json", "good.parquet", "--output", name), "already exists", "--force")
        # an error half-way, even with --force: the old file stays, and no partial file is left behind
        expect_error(gradfit_cli("predict", "model.json", "bad.parquet", "--output", name, "--force"),
                     "bad.parquet, row 2900 (0-based), column 'area': NaN", "every row needs all its features")
        assert (tmp_path / name).read_text() == "precious"
        expect(gradfit_cli("predict", "model.json", "good.parquet", "--output", name, "--force"))
        assert (tmp_path / name).read_bytes() != b"precious"
    expect_error(gradfit_cli("predict", "model.json", "bad.parquet", "--output", "new.csv"), "row 2900")
    assert not (tmp_path / "new.csv").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_predict_bad_inputs_name_the_problem(gradfit_cli, saved_model, tmp_path):
    (tmp_path / "few.csv").write_text("rooms,age\n1,2\n")
    expect_error(gradfit_cli("predict", "model.json", "few.csv"),
                 "few.csv: no column named 'area' (a feature of the model); the columns are: 'rooms', 'age'")
    pq.write_table(pa.table({"rooms": [1.0], "age": [2.0]}), tmp_path / "few.parquet")
    expect_error(gradfit_cli("predict", "model.json", "few.parquet"), "no column named 'area' (a feature of the model)")
    (tmp_path / "hole.csv").write_text("rooms,area,age\n1,2,3\n4,,6\n")
    line = expect_error(gradfit_cli("predict", "model.json", "hole.csv"), "hole.csv, line 3, column 'area': an empty cell",
                        "every row needs all its features")
    assert "--drop-missing" not in line
    (tmp_path / "text.csv").write_text("rooms,area,age\n1,2,3\n4,five,6\n")
    expect_error(gradfit_cli("predict", "model.json", "text.csv"), "line 3, column 'area': 'five' is not a number")
    expect_error(gradfit_cli("predict", "model.json", "absent.parquet"), "absent.parquet: no such file or directory")
    expect_error(gradfit_cli("predict", "model.json", "few.csv", "--output", "no/such/out.csv"), "does not exist")


def test_predict_help_names_data_and_formats(gradfit_cli):
    outcome = expect(gradfit_cli("predict", "--help"))
    for word in ("MODEL", "DATA", "Parquet", "--output", "--force", "--format"):
        assert word in outcome.stdout


# --- the progress bar: rows and the loss of the fit to the rows so far -----------------------------------


class FakeClock:
    """Time that passes only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ticking(progress, clock: FakeClock, seconds: float):
    """``progress`` with ``seconds`` passing before each batch reports."""

    def report(done, total):
        clock.now += seconds
        progress(done, total)

    return report


def test_least_squares_loss_is_the_exact_fit_loss_of_the_rows():
    X, y = make_problem(n=400)
    n_params = X.shape[1] + 1
    # 4 rows or fewer: as many parameters as rows, or more, so a perfect fit (loss 0, never below).
    for rows in (1, 2, 3, 4, 10, 50, 400):
        loss = output.least_squares_loss(MemorySource(X[:rows], y[:rows]).stats())
        # The loss from the statistics is c − bᵀG⁺b in standardized units (c = 1), a difference of
        # terms of size c carrying the statistics' rounding (sums of `rows` products: rows·u, and
        # p·u in the quadratic form), amplified by at most κ(G) through G⁺; times var(y) of those
        # rows to come back to y's units. Measured: 1.25u·var(y) where the fit is perfect; a fixed
        # 1e-20·var(y) failed there (2.2e-16) on Haswell kernels, the kernels AMD's Zen runs.
        bound = (rows + n_params) * correlation_condition(X[:rows]) * np.finfo(np.float64).eps * np.var(y[:rows])
        assert 0.0 <= loss and abs(loss - exact(X[:rows], y[:rows]).final_loss_) <= bound


def test_progress_shows_rows_every_batch_and_the_loss_of_the_rows_so_far(tmp_path):
    X, y = make_problem(n=2000)
    pq.write_table(frame(X, y), tmp_path / "d.parquet")
    source = FileSource(tmp_path / "d.parquet", target="price", batch_rows=256)
    updates: list[dict] = []
    clock = FakeClock()
    source.progress = ticking(output._StreamProgress(lambda **fields: updates.append(fields), source, clock=clock), clock, 1.0)
    source.stats()
    assert [update["rows"] for update in updates] == [*range(256, 2000, 256), 2000]
    assert all(update["total"] == update["rows_total"] == 2000 for update in updates)
    for update in updates:  # with a clock this slow, every batch gets its loss
        rows = update["rows"]
        assert update["loss"] == output.format_loss(exact(X[:rows], y[:rows]).final_loss_)
    assert updates[-1]["loss"].startswith("loss 0.00") and "(least-squares fit to the rows so far)" in updates[-1]["loss"]


@pytest.mark.parametrize(("cost", "expected"), [(0.0, 11), (0.1, 3)], ids=["cheap", "costly"])
def test_progress_throttles_the_loss(monkeypatch, cost, expected):
    X, y = make_problem(n=100)
    clock = FakeClock()
    solved = []

    def least_squares_loss(stats):
        clock.now += cost  # what solving takes (an O(d³) solve for d features)
        solved.append(clock.now)
        return 1.0

    class Source:
        bytes_read = None

        def partial_stats(self):
            return MemorySource(X, y).stats()

    monkeypatch.setattr(output, "least_squares_loss", least_squares_loss)
    updates: list[dict] = []
    progress = ticking(output._StreamProgress(lambda **fields: updates.append(fields), Source(), clock=clock), clock, 0.03)
    for rows in range(1, 201):
        progress(rows, None)
    assert [update["rows"] for update in updates] == list(range(1, 201))  # rows on every batch
    # 200 batches 0.03 s apart: 6 s. The loss at most every 0.5 s, and every 20× what it costs (2 s at 0.1 s).
    assert len(solved) == expected
    assert all(later - earlier >= max(0.5, 20 * cost) for earlier, later in zip(solved, solved[1:]))
    assert sum("loss" in update for update in updates) == len(solved)


def test_progress_bar_of_a_csv_goes_by_bytes_and_says_rows(tmp_path):
    X, y = make_problem(n=3000)
    path = write_problem_csv(tmp_path / "d.csv", X, y)
    source = FileSource(path, target="price", batch_rows=100)
    updates: list[dict] = []
    source.progress = output._StreamProgress(lambda **fields: updates.append(fields), source, clock=FakeClock())
    source.stats()
    assert len(updates) > 2 and all(update["rows_total"] is None for update in updates)
    assert updates[-1]["rows"] == 3000 and updates[-1]["completed"] == updates[-1]["total"] == path.stat().st_size
    assert [update["completed"] for update in updates] == sorted(update["completed"] for update in updates)
    assert output.format_rows(1234, None) == "1,234 rows" and output.format_rows(1234, 5000) == "1,234 of 5,000 rows"


@pytest.mark.parametrize(
    ("terminal", "flags", "shown"),
    [(True, [], True), (True, ["--quiet"], False), (True, ["--json"], False), (False, [], False)],
    ids=["terminal", "quiet", "json", "not a terminal"],
)
def test_progress_only_on_a_terminal_without_quiet_or_json(gradfit_cli, problem, monkeypatch, terminal, flags, shown):
    path, _, _ = problem
    made = []

    class Recording(output._StreamProgress):
        def __init__(self, *args, **kwargs) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(fit_command, "_StreamProgress", Recording)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    outcome = expect(gradfit_cli("fit", path, "--target", "price", *flags))
    assert bool(made) == shown
    assert "least-squares fit to the rows" not in outcome.stdout and "reading" not in outcome.stdout
    if not shown:
        assert outcome.stderr == ""


# --- nothing the user had is overwritten ------------------------------------------------------------


def test_outputs_never_replace_the_commands_own_inputs_even_with_force(gradfit_cli, problem, saved_model, tmp_path):
    path, X, _ = problem
    before = path.read_bytes()
    expect_error(gradfit_cli("fit", path, "--target", "price", "--save", path.name, "--force"),
                 "train.csv: is the command's own input", "--save")
    expect_error(gradfit_cli("predict", "model.json", path, "--output", path.name, "--force"),
                 "train.csv: is the command's own input", "--output")
    expect_error(gradfit_cli("predict", "model.json", path, "--output", "model.json", "--force"),
                 "model.json: is the command's own input")
    (tmp_path / "parts").mkdir()
    pq.write_table(frame(X), tmp_path / "parts" / "part-0.parquet")
    # a prediction file in the data folder would be read as data next time
    expect_error(gradfit_cli("predict", "model.json", "parts", "--output", "parts/predictions.parquet"),
                 "is inside the data folder parts")
    # a link in the data folder is replaced where it stands, so it is refused too; one outside, pointing in, is not
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "parts" / "link.parquet").symlink_to(tmp_path / "elsewhere" / "p.parquet")
    expect_error(gradfit_cli("predict", "model.json", "parts", "--output", "parts/link.parquet", "--force"),
                 "is inside the data folder parts")
    (tmp_path / "parts" / "link.parquet").unlink()
    (tmp_path / "out.parquet").symlink_to(tmp_path / "parts" / "elsewhere.parquet")
    expect(gradfit_cli("predict", "model.json", "parts", "--output", "out.parquet", "--force"))
    assert (tmp_path / "out.parquet").is_file() and not (tmp_path / "out.parquet").is_symlink()
    assert path.read_bytes() == before
    assert gradfit.load("model.json").coef_.tolist() == saved_model.coef_.tolist()
    assert sorted(file.name for file in (tmp_path / "parts").iterdir()) == ["part-0.parquet"]


@pytest.mark.parametrize(
    "command, written",
    [
        (["demo", "--seed", "0"], ["data.png", "loss.png"]),
        (["sweep", "--max-iter", "50"], ["sweep.png"]),
        (["report", "--frames", "2", "--max-iter", "20"], ["report.html"]),
    ],
    ids=["demo", "sweep", "report"],
)
def test_the_learners_commands_replace_files_in_out_only_with_force(gradfit_cli, tmp_path, command, written):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / written[-1]).write_text("precious")
    expect_error(gradfit_cli(*command, "--out", "out"), f"out/{written[-1]}: already exists", "--force")
    assert (tmp_path / "out" / written[-1]).read_text() == "precious"
    assert sorted(file.name for file in (tmp_path / "out").iterdir()) == [written[-1]]  # nothing written
    expect(gradfit_cli(*command, "--out", "out", "--force"))
    assert all((tmp_path / "out" / name).stat().st_size > 100 for name in written)
    (tmp_path / "file").write_text("x")
    expect_error(gradfit_cli(*command, "--out", "file"), "--out", "'file' is a file")


def test_summary_with_a_penalty_is_refused_before_fitting(gradfit_cli, problem):
    path, _, _ = problem
    expect_error(gradfit_cli("fit", path, "--target", "price", "--alpha", "1", "--summary", "--save", "m.json"),
                 "--summary", "penalised fit (--alpha > 0)")
    assert not Path("m.json").exists()


def test_sweep_and_report_say_what_they_read(gradfit_cli, problem, tmp_path):
    path, X, _ = problem
    pq.write_table(frame(X), tmp_path / "data.parquet")
    for command in ("sweep", "report"):
        expect_error(gradfit_cli(command, "data.parquet", "--target", "price"),
                     "data.parquet: sweep and report read one CSV file", "gradfit fit")
    constant = np.column_stack([X, np.full(len(X), 3.0)])
    lines = ["rooms,area,age,price"] + [",".join(map(repr, map(float, row))) for row in constant]
    (tmp_path / "constant.csv").write_text("\n".join(lines) + "\n")
    expect_error(gradfit_cli("sweep", "constant.csv", "--target", "price"),
                 "gradient descent has nothing to do on these data", "a constant target")


def test_small_usage_errors_name_their_option(gradfit_cli, problem):
    path, _, _ = problem
    for command in ("demo", "sweep", "report"):
        expect_error(gradfit_cli(command, "--seed", "-1"), "--seed", "greater than or equal to 0")
    expect_error(gradfit_cli("fit", path, "--target", "price", "--save", "nodir/sub/m.json"),
                 "the folder nodir/sub does not exist; create it first")


def test_a_fit_with_many_named_features_shows_the_largest(gradfit_cli, tmp_path):
    rng = np.random.default_rng(41)
    X = rng.normal(size=(300, 60))
    coef = np.zeros(60)
    coef[[7, 42]] = [50.0, -80.0]
    names = [f"f{j}" for j in range(60)]
    pa_csv.write_csv(pa.table({**{name: X[:, j] for j, name in enumerate(names)}, "y": X @ coef + 1.0}),
                     tmp_path / "wide.csv")
    out = expect(gradfit_cli("fit", "wide.csv", "--target", "y")).stdout
    assert "the 20 largest of 60 coefficients" in out and "... 40 smaller" in out
    assert out.index("f42") < out.index("f7")  # by magnitude
    assert len(json.loads(expect(gradfit_cli("fit", "wide.csv", "--target", "y", "--json")).stdout)["coef"]) == 60
