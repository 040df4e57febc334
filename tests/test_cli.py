"""End to end: the installed ``gradfit`` command, run as a subprocess on files in a temporary folder.

The command's file handling in detail (every bad file, streaming, predict's outputs, the progress
bar) is in test_cli_streaming.py, run in-process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression as SklearnLinearRegression

import gradfit
from gradfit.sources.files.csv_text import read_csv_table

import cli_checks as checks
from cli_checks import Outcome, expect, run_installed
from problems import write_csv
from references import assert_same_predictions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

def expect_error(outcome: Outcome, code: int, *fragments: str) -> str:
    """:func:`cli_checks.expect_error` with the exit code first, as this file's calls give it."""
    return checks.expect_error(outcome, *fragments, code=code)


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[: len(PNG_SIGNATURE)] == PNG_SIGNATURE


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    """A three-feature CSV (plus a text column) and its arrays."""
    folder = tmp_path_factory.mktemp("problem")
    rng = np.random.default_rng(7)
    X = rng.standard_normal((150, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]
    y = X @ [1.5, -0.25, 4.0] + 2.0 + 0.1 * rng.standard_normal(150)
    path = write_csv(folder / "train.csv", ["rooms", "area", "age", "price"], np.column_stack([X, y]))
    return path, X, y


# --- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ([], ["demo", "fit", "predict"]),
        (["demo"], ["--seed", "--learning-rate", "--max-iter", "--out", "--json"]),
        (
            ["fit"],
            ["--target", "--features", "--solver", "--learning-rate", "--max-iter", "--tol", "--no-standardize",
             "--drop-missing", "--json", "--save", "--force", "--alpha", "--l1-ratio", "--summary", "--format",
             "--quiet", "DATA"],
        ),
        (["predict"], ["MODEL", "DATA", "--output", "--force", "--format"]),
    ],
    ids=["gradfit", "demo", "fit", "predict"],
)
def test_help(tmp_path, command, words):
    outcome = expect(run_installed(*command, "--help", cwd=tmp_path), 0)
    assert "Usage" in outcome.stdout
    for word in words:
        assert word in outcome.stdout, str(outcome)


def test_no_arguments_shows_help(tmp_path):
    outcome = run_installed(cwd=tmp_path)
    assert outcome.code == 2 and "Usage" in outcome.stdout, str(outcome)
    assert "error" not in outcome.stderr


# --- demo ----------------------------------------------------------------------------------------


def test_demo_default_summary_and_figures(tmp_path):
    outcome = expect(run_installed("demo", "--seed", "3", cwd=tmp_path), 0)
    text = outcome.stdout
    for fragment in ("θ found", "exact optimum", "article quotes", "1.0323", "1.9516", "Did NOT converge",
                     "stop short of the optimum", "1000 updates at α = 0.01", "1/L", "2/L"):
        assert fragment in text, str(outcome)
    assert is_png(tmp_path / "demo-output" / "data.png")
    assert is_png(tmp_path / "demo-output" / "loss.png")
    assert outcome.stderr == "", str(outcome)


def test_demo_json_at_article_settings(tmp_path):
    outcome = expect(run_installed("demo", "--seed", "0", "--json", "--out", "figures", cwd=tmp_path), 0)
    run = json.loads(outcome.stdout)  # the whole of stdout is one JSON object
    assert isinstance(run, dict)
    assert run["converged"] is False
    assert run["learning_rate"] == 0.01 and run["n_iter"] == 1000
    assert isinstance(run["intercept"], float)
    assert isinstance(run["coef"], list) and len(run["coef"]) == 1 and isinstance(run["coef"][0], float)
    assert run["optimum"]["intercept"] == pytest.approx(1.0, abs=0.15)
    assert run["optimum"]["coef"][0] == pytest.approx(2.0, abs=0.2)
    # Stopped short: farther from the optimum than the optimum is from the truth's noise.
    assert abs(run["coef"][0] - run["optimum"]["coef"][0]) > 0.1
    for key, kind in [("final_loss", float), ("grad_norm", float), ("updates_needed", int),
                      ("auto_learning_rate", float), ("updates_needed_auto", int), ("stable_bound", float)]:
        assert isinstance(run[key], kind), key
    assert run["updates_needed"] > 1000 > run["updates_needed_auto"]
    assert run["stable_bound"] == pytest.approx(2 * run["auto_learning_rate"])
    assert run["article_quote"] == {"intercept": 1.0323, "coef": [1.9516]}
    assert is_png(tmp_path / run["data_plot"]) and is_png(tmp_path / run["loss_plot"])
    assert Path(run["data_plot"]).parent == Path("figures")


def test_demo_json_auto_learning_rate_converges(tmp_path):
    outcome = expect(run_installed("demo", "--seed", "0", "--learning-rate", "auto", "--json", cwd=tmp_path), 0)
    run = json.loads(outcome.stdout)
    assert run["converged"] is True
    assert run["learning_rate"] == pytest.approx(run["auto_learning_rate"])
    assert run["intercept"] == pytest.approx(run["optimum"]["intercept"], abs=1e-5)
    assert run["coef"][0] == pytest.approx(run["optimum"]["coef"][0], abs=1e-5)


def test_demo_divergent_learning_rate_is_one_line(tmp_path):
    line = expect_error(run_installed("demo", "--seed", "0", "--learning-rate", "2", cwd=tmp_path), 1, "2/L", "diverged")
    assert "--learning-rate 2 is above" in line and "learning_rate=" not in line  # advice in the CLI's syntax


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan"])
def test_demo_bad_learning_rate_is_a_usage_error(tmp_path, value):
    expect_error(run_installed("demo", "--learning-rate", value, cwd=tmp_path), 2, "--learning-rate")


def test_demo_out_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("mine")
    outcome = run_installed("demo", "--out", "taken", cwd=tmp_path)
    assert outcome.code == 2 and "Traceback" not in outcome.stderr, str(outcome)
    assert (tmp_path / "taken").read_text() == "mine"


# --- fit -----------------------------------------------------------------------------------------


def test_fit_exact_json_matches_sklearn(tmp_path, problem):
    path, X, y = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--solver", "exact", "--json", cwd=tmp_path), 0)
    result = json.loads(outcome.stdout)
    reference = SklearnLinearRegression().fit(X, y)
    assert list(result["coef"]) == ["rooms", "area", "age"]
    np.testing.assert_allclose(list(result["coef"].values()), reference.coef_, rtol=1e-6, atol=1e-6)
    assert result["intercept"] == pytest.approx(reference.intercept_, rel=1e-6, abs=1e-6)
    assert result["n_samples"] == 150
    assert result["n_iter"] >= 1 and result["converged"] is True and result["solver"] == "exact"
    assert isinstance(result["final_loss"], float) and isinstance(result["message"], str)


def test_fit_gd_json_converges_to_sklearn(tmp_path, problem):
    path, X, y = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--solver", "gd", "--json", cwd=tmp_path), 0)
    result = json.loads(outcome.stdout)
    reference = SklearnLinearRegression().fit(X, y)
    assert result["solver"] == "gd" and result["converged"] is True and result["n_iter"] > 0
    # converged at the default tol 1e-8: every coefficient within 1e-8 of the answer, relatively
    np.testing.assert_allclose(list(result["coef"].values()), reference.coef_, rtol=1e-8)
    assert outcome.stderr == ""


def test_fit_default_is_the_least_squares_answer(tmp_path, problem):
    path, X, y = problem
    result = json.loads(expect(run_installed("fit", path, "--target", "price", "--json", cwd=tmp_path), 0).stdout)
    reference = SklearnLinearRegression().fit(X, y)
    assert result["solver"] == "exact" and result["converged"] is True
    # sklearn's lstsq is within about κ·ε of the answer; gradfit's is exactly rounded
    np.testing.assert_allclose(list(result["coef"].values()), reference.coef_, rtol=1e-12)


def test_fit_features_subset_in_given_order(tmp_path, problem):
    path, X, y = problem
    outcome = expect(
        run_installed("fit", path, "--target", "price", "--features", "age, rooms", "--solver", "exact", "--json",
                    cwd=tmp_path),
        0,
    )
    result = json.loads(outcome.stdout)
    reference = SklearnLinearRegression().fit(X[:, [2, 0]], y)
    assert list(result["coef"]) == ["age", "rooms"]
    np.testing.assert_allclose(list(result["coef"].values()), reference.coef_, rtol=1e-6)


def test_fit_table_names_every_feature(tmp_path, problem):
    path, _, _ = problem
    outcome = expect(run_installed("fit", path, "--target", "price", cwd=tmp_path), 0)
    for word in ("rooms", "area", "age", "intercept", "n_samples", "150", "n_iter", "converged", "solver", "message"):
        assert word in outcome.stdout, str(outcome)


def test_fit_convergence_warning_is_one_line(tmp_path, problem):
    path, _, _ = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--solver", "gd", "--max-iter", "2", "--json",
                                 cwd=tmp_path), 3)  # 3: the fit stopped short of the answer
    assert json.loads(outcome.stdout)["converged"] is False
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), str(outcome)
    assert "raise --max-iter" in lines[0] and "--solver auto" in lines[0]  # advice in the CLI's syntax
    assert "max_iter" not in lines[0] and "solver=" not in lines[0]
    assert "ConvergenceWarning" not in outcome.stderr and "warnings.warn" not in outcome.stderr


def test_fit_drop_missing(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("x,y\n0,1\n1,3\n,5\n2,NA\n3,7\n", encoding="utf-8")
    line = expect_error(run_installed("fit", path, "--target", "x", cwd=tmp_path), 2, "line 4", "--drop-missing")
    assert "'x'" in line
    outcome = expect(run_installed("fit", path, "--target", "y", "--drop-missing", "--solver", "exact", "--json",
                                 cwd=tmp_path), 0)
    result = json.loads(outcome.stdout)
    assert (result["n_samples"], result["n_dropped"], result["n_rows_read"]) == (3, 2, 5)
    assert result["coef"]["x"] == pytest.approx(2.0) and result["intercept"] == pytest.approx(1.0)
    assert "dropped 2 of 5 rows" in outcome.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--learning-rate", "quick"], "--learning-rate"),
        (["--features", "rooms,,age"], "--features"),
        (["--solver", "magic"], "--solver"),
        (["--max-iter", "0"], "--max-iter"),
        (["--tol", "-1"], "--tol"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_fit_bad_options_are_usage_errors(tmp_path, problem, args, fragment):
    path, _, _ = problem
    expect_error(run_installed("fit", path, "--target", "price", *args, cwd=tmp_path), 2, fragment)


def test_fit_without_target_is_a_usage_error(tmp_path, problem):
    path, _, _ = problem
    expect_error(run_installed("fit", path, cwd=tmp_path), 2, "--target")


def test_fit_divergent_learning_rate(tmp_path, problem):
    path, _, _ = problem
    expect_error(run_installed("fit", path, "--target", "price", "--solver", "gd", "--learning-rate", "5", cwd=tmp_path),
                 1, "2/L")


def test_a_learning_rate_without_a_gradient_solver_is_refused(tmp_path, problem):
    path, _, _ = problem
    expect_error(run_installed("fit", path, "--target", "price", "--learning-rate", "0.01", cwd=tmp_path), 2,
                 "--solver gd")


# --- bad files -----------------------------------------------------------------------------------
# Every kind of bad file is in test_cli_streaming.py (in-process, so quick); one end to end here.


def test_fit_bad_file_is_one_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"x,y\n1,2\nthree,4\n")
    expect_error(run_installed("fit", path, "--target", "y", cwd=tmp_path), 2, "bad.csv, line 3, column 'x': 'three' is not a number")


def test_fit_missing_file(tmp_path):
    expect_error(run_installed("fit", "absent.csv", "--target", "y", cwd=tmp_path), 2, "absent.csv", "no such file")


def test_fit_directory(tmp_path):
    (tmp_path / "folder").mkdir()
    expect_error(run_installed("fit", "folder", "--target", "y", cwd=tmp_path), 2, "directory")


def test_fit_unknown_feature_lists_columns(tmp_path, problem):
    path, _, _ = problem
    expect_error(
        run_installed("fit", path, "--target", "price", "--features", "rooms,floors", cwd=tmp_path),
        2, "'floors'", "the columns are: 'rooms', 'area', 'age', 'price'",
    )


# --- save and predict ----------------------------------------------------------------------------


# The CLI predicts from the same C-ordered array (a DataFrame's column order can change the last bit).
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_save_then_predict_equals_model_predict(tmp_path, problem):
    path, _, _ = problem
    expect(run_installed("fit", path, "--target", "price", "--save", "model.json", cwd=tmp_path), 0)
    model = gradfit.load(tmp_path / "model.json")
    assert list(model.feature_names_in_) == ["rooms", "area", "age"]

    # Columns in another order, and an extra one: predict picks them by name.
    table = read_csv_table(path, target="price")
    shuffled = tmp_path / "new.csv"
    write_csv(shuffled, ["age", "note", "rooms", "area"],
              np.column_stack([table.X[:, 2], np.zeros(len(table.X)), table.X[:, 0], table.X[:, 1]]))
    outcome = expect(run_installed("predict", "model.json", shuffled, cwd=tmp_path), 0)
    lines = outcome.stdout.splitlines()
    assert lines[0] == "prediction"
    predicted = np.array([float(line) for line in lines[1:]])
    assert_same_predictions(predicted, model.predict(table.X), table.X, model.coef_, model.intercept_)

    expect(run_installed("predict", "model.json", shuffled, "--output", "out.csv", cwd=tmp_path), 0)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == outcome.stdout


def test_save_refuses_to_overwrite(tmp_path, problem):
    path, _, _ = problem
    target = tmp_path / "model.json"
    target.write_text("precious", encoding="utf-8")
    expect_error(run_installed("fit", path, "--target", "price", "--save", target, cwd=tmp_path), 2,
                 "already exists", "--force")
    assert target.read_text(encoding="utf-8") == "precious"
    expect(run_installed("fit", path, "--target", "price", "--save", target, "--force", cwd=tmp_path), 0)
    assert gradfit.load(target).n_features_in_ == 3


def test_save_into_missing_folder(tmp_path, problem):
    path, _, _ = problem
    expect_error(run_installed("fit", path, "--target", "price", "--save", "no/such/model.json", cwd=tmp_path), 2,
                 "does not exist")


def test_predict_output_refuses_to_overwrite(tmp_path, problem):
    path, _, _ = problem
    expect(run_installed("fit", path, "--target", "price", "--save", "model.json", cwd=tmp_path), 0)
    (tmp_path / "out.csv").write_text("precious", encoding="utf-8")
    expect_error(run_installed("predict", "model.json", path, "--output", "out.csv", cwd=tmp_path), 2, "already exists")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "precious"
    expect(run_installed("predict", "model.json", path, "--output", "out.csv", "--force", cwd=tmp_path), 0)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").startswith("prediction\n")


def test_predict_names_missing_columns(tmp_path, problem):
    path, _, _ = problem
    expect(run_installed("fit", path, "--target", "price", "--save", "model.json", cwd=tmp_path), 0)
    (tmp_path / "few.csv").write_text("rooms,age\n1,2\n", encoding="utf-8")
    expect_error(run_installed("predict", "model.json", "few.csv", cwd=tmp_path), 2,
                 "no column named 'area' (a feature of the model); the columns are: 'rooms', 'age'")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "empty"), (b"{\"format\": \"something else\"}", "not a gradfit model"), (b"\x80\x04K\x01.", "pickle")],
    ids=["empty", "not a model", "pickle"],
)
def test_predict_bad_model_file(tmp_path, problem, content, fragment):
    path, _, _ = problem
    (tmp_path / "model.json").write_bytes(content)
    expect_error(run_installed("predict", "model.json", path, cwd=tmp_path), 2, fragment)


def test_predict_missing_model_file(tmp_path, problem):
    path, _, _ = problem
    expect_error(run_installed("predict", "absent.json", path, cwd=tmp_path), 2, "absent.json")


def test_module_entry_point(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "gradfit.cli", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=checks.TIMEOUT
    )
    assert done.returncode == 0 and "fit" in done.stdout, done.stderr


def test_console_script_is_installed():
    assert checks.SCRIPT.exists(), f"{checks.SCRIPT} is missing: install the package (pip install -e .)"


# --- the solver family on the command line ---------------------------------------------------------


def test_fit_summary_in_json_matches_statsmodels(tmp_path, problem):
    statsmodels = pytest.importorskip("statsmodels.api")
    path, X, y = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--solver", "auto", "--summary", "--json", cwd=tmp_path), 0)
    result = json.loads(outcome.stdout)
    reference = statsmodels.OLS(y, statsmodels.add_constant(X)).fit()
    assert result["solver"] == "exact"  # what "auto" chose is reported: streamed rows are solved from the statistics
    summary = result["summary"]
    assert summary["r_squared"] == pytest.approx(reference.rsquared, rel=1e-8)
    np.testing.assert_allclose([term["std_err"] for term in summary["terms"]], reference.bse, rtol=1e-6)
    assert [term["name"] for term in summary["terms"]] == ["intercept", "rooms", "area", "age"]


def test_fit_summary_table_is_printed(tmp_path, problem):
    path, _, _ = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--summary", cwd=tmp_path), 0)
    for words in ("R-squared", "F-statistic", "std err", "P>|t|", "rooms", "intercept"):
        assert words in outcome.stdout, str(outcome)


def test_fit_lasso_and_refusal_of_l1_for_cg(tmp_path, problem):
    path, _, _ = problem
    outcome = expect(run_installed("fit", path, "--target", "price", "--alpha", "0.5", "--l1-ratio", "1", "--solver", "nesterov", "--json", cwd=tmp_path), 0)
    assert json.loads(outcome.stdout)["solver"] == "nesterov"
    expect_error(
        run_installed("fit", path, "--target", "price", "--alpha", "0.5", "--l1-ratio", "1", "--solver", "cg", cwd=tmp_path),
        2,
        "cannot honour an L1 penalty",
        "'nesterov'",
    )


# --- files streamed through pyarrow ------------------------------------------------------------------


def test_fit_streams_a_parquet_directory_and_matches_the_in_memory_fit(tmp_path, problem):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    _, X, y = problem
    folder = tmp_path / "parts"
    folder.mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(y)), 3)):
        table = pa.table({"rooms": X[rows, 0], "area": X[rows, 1], "age": X[rows, 2], "price": y[rows]})
        pq.write_table(table, folder / f"part-{index}.parquet")
    outcome = expect(run_installed("fit", folder, "--target", "price", "--solver", "cg", "--tol", "1e-11", "--json", cwd=tmp_path), 0)
    result = json.loads(outcome.stdout)
    reference = gradfit.LinearRegression(solver="exact").fit(X, y)
    np.testing.assert_allclose(list(result["coef"].values()), reference.coef_, rtol=1e-9)
    assert result["n_samples"] == len(y) and result["features"] == ["rooms", "area", "age"]
    expect_error(run_installed("fit", folder, "--target", "cost", cwd=tmp_path), 2, "no column named 'cost'")
