"""svmlight/libsvm files on the command line, run in-process (``gradfit.cli.run``): ``fit`` reads them as
scipy.sparse matrices for the streaming engine, ``predict`` pads them to the model's width, and every
bad file is one line naming the file (and its line), exit code 2."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

import gradfit
from gradfit.cli import output

from cli_checks import expect, expect_error
from references import assert_same_fit_standardized, correlation_condition

N_SAMPLES, N_FEATURES = 400, 30
TIGHT_TOL = 1e-13
TIGHT = ("--solver", "cg", "--tol", str(TIGHT_TOL))
EPS = np.finfo(np.float64).eps


def make_problem(n: int = N_SAMPLES, d: int = N_FEATURES, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse X (about 20% stored, columns of different scales) and a noisy linear y, with 6 decimals:
    dump_svmlight_file writes 16 significant digits, so these read back exactly."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=rng, data_rvs=rng.standard_normal)
    X = sp.csr_matrix(X @ sp.diags(np.geomspace(0.1, 10.0, d)))
    X.data = np.round(X.data, 6)
    X.eliminate_zeros()  # stored as in the file (sorted, no zeros), so a pass adds in the same order
    X.sort_indices()
    y = np.round(X @ rng.standard_normal(d) + 2.0 + 0.1 * rng.standard_normal(n), 6)
    return X, y


def write_svm(path: Path, X, y, *, zero_based: bool = True) -> Path:
    dump_svmlight_file(X, y, str(path), zero_based=zero_based)
    return path


def read_back(path: Path, n_features: int | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
    """The file as the command line reads it: indices as written (column j = index j)."""
    return load_svmlight_file(str(path), n_features=n_features, zero_based=True)


def reference(X, y) -> gradfit.LinearRegression:
    return gradfit.LinearRegression(solver="cg", tol=TIGHT_TOL).fit(X, y)


def fit_bound(X, tol: float) -> float:
    """How far a fit to ``tol`` may be from the least-squares solution, normwise in standardized
    coordinates: κ(G)·tol for the solver's stopping point plus κ(G)·(m + p)·u for the rounding
    of the statistics (and statsmodels' own, which is smaller). Componentwise it would be no bound:
    the smallest standardized coefficient of make_problem is 0.0011 of the norm."""
    dense = X.toarray()
    return correlation_condition(dense) * (tol + (dense.shape[0] + dense.shape[1] + 1) * EPS)


def as_fit(coef, intercept) -> SimpleNamespace:
    return SimpleNamespace(coef_=np.asarray(coef, dtype=np.float64), intercept_=float(intercept))


def statsmodels_ols(X, y) -> np.ndarray:
    """Intercept then coefficients of statsmodels' OLS on the densified design."""
    import statsmodels.api as sm

    return sm.OLS(y, sm.add_constant(X.toarray(), has_constant="add")).fit().params


@pytest.fixture
def problem(tmp_path):
    X, y = make_problem()
    return write_svm(tmp_path / "train.svm", X, y), X, y


def fit_json(gradfit_cli, *args) -> dict:
    return json.loads(expect(gradfit_cli("fit", *args, "--json")).stdout)


# --- fit -------------------------------------------------------------------------------------------------


def test_fit_equals_the_python_fit_and_statsmodels(gradfit_cli, problem):
    path, X, y = problem
    X_read, y_read = read_back(path)
    assert (X_read != X).nnz == 0 and np.array_equal(y_read, y)
    result = fit_json(gradfit_cli, path, *TIGHT)
    model = reference(X, y)
    assert result["coef"] == model.coef_.tolist() and result["intercept"] == model.intercept_  # the same run
    assert (result["engine"], result["n_passes"], result["solver"]) == ("streaming", model.n_passes_, "cg")
    assert result["n_passes"] == result["n_iter"] + 2  # the moments' pass, the first gradient, one a CG update
    assert "passes over X (X is sparse" in result["message"]
    assert (result["target"], result["features"], result["n_features"]) == (None, None, N_FEATURES)
    assert (result["n_samples"], result["n_rows_read"], result["n_dropped"]) == (N_SAMPLES, N_SAMPLES, 0)
    params = statsmodels_ols(X, y)
    assert_same_fit_standardized(as_fit(result["coef"], result["intercept"]), as_fit(params[1:], params[0]), X.toarray(), y,
                                 rtol=fit_bound(X, TIGHT_TOL))


@pytest.mark.parametrize("solver", ["gd", "nesterov", "lbfgs"])
def test_other_streaming_solvers_reach_the_same_answer(gradfit_cli, problem, solver):
    path, X, y = problem
    result = fit_json(gradfit_cli, path, "--solver", solver, "--tol", "1e-11", "--max-iter", "100000")
    assert result["engine"] == "streaming" and result["solver"] == solver
    params = statsmodels_ols(X, y)
    assert_same_fit_standardized(as_fit(result["coef"], result["intercept"]), as_fit(params[1:], params[0]), X.toarray(), y,
                                 rtol=fit_bound(X, 1e-11))


def test_a_file_counting_from_one_gets_an_empty_column_zero(gradfit_cli, tmp_path):
    X, y = make_problem()
    path = write_svm(tmp_path / "one.libsvm", X, y, zero_based=False)  # libsvm's own convention
    assert path.read_text().split()[1].split(":")[0] != "0"
    result = fit_json(gradfit_cli, path, *TIGHT)
    assert result["n_features"] == N_FEATURES + 1 and result["coef"][0] == 0.0
    params = statsmodels_ols(X, y)
    assert_same_fit_standardized(as_fit(result["coef"][1:], result["intercept"]), as_fit(params[1:], params[0]), X.toarray(), y,
                                 rtol=fit_bound(X, TIGHT_TOL))


def test_the_table_names_features_by_index_and_reports_engine_and_passes(gradfit_cli, tmp_path):
    X, y = make_problem(d=5)
    path = write_svm(tmp_path / "small.svm", X, y)
    result = fit_json(gradfit_cli, path, *TIGHT)
    out = expect(gradfit_cli("fit", path, *TIGHT)).stdout
    assert "Linear model for the labels of small.svm" in out
    assert all(f"feature {index}" in out for index in range(5)) and "smaller" not in out
    assert f"streaming, {result['n_passes']} passes over the data" in out
    assert "n_features  5 (indices 0 to 4)" in out


def test_a_wide_table_shows_the_largest_coefficients(gradfit_cli, problem):
    path, _, _ = problem
    coef = np.array(fit_json(gradfit_cli, path, *TIGHT)["coef"])
    out = expect(gradfit_cli("fit", path, *TIGHT)).stdout
    shown = [int(line.split()[1]) for line in out.splitlines() if line.strip().startswith("feature ")]
    assert shown == list(np.argsort(-np.abs(coef), kind="stable")[: output.MAX_TABLE_COEFFICIENTS])
    assert f"... {N_FEATURES - output.MAX_TABLE_COEFFICIENTS} smaller" in out and "(intercept)" in out


@pytest.mark.parametrize("name", ["data.svmlight", "data.libsvm", "DATA.SVM", "data.svm.gz", "data.libsvm.bz2"])
def test_suffixes_and_compression_select_svmlight(gradfit_cli, problem, tmp_path, name):
    path, X, y = problem
    data = path.read_bytes()
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(Path(name).suffix, open)
    with opener(tmp_path / name, "wb") as handle:
        handle.write(data)
    assert fit_json(gradfit_cli, name, *TIGHT)["coef"] == fit_json(gradfit_cli, path, *TIGHT)["coef"]


def test_format_option_reads_any_name(gradfit_cli, problem, tmp_path):
    path, _, _ = problem
    (tmp_path / "train.txt").write_bytes(path.read_bytes())
    expected = fit_json(gradfit_cli, path, *TIGHT)["coef"]
    assert fit_json(gradfit_cli, "train.txt", "--format", "svmlight", *TIGHT)["coef"] == expected
    # without it, a .txt is read as CSV (and its first line is no header of names)
    expect_error(gradfit_cli("fit", "train.txt", "--target", "y"), "train.txt")


def test_n_features_fixes_the_width(gradfit_cli, problem):
    path, X, y = problem
    result = fit_json(gradfit_cli, path, "--n-features", "40", *TIGHT)
    assert result["n_features"] == 40 and result["coef"][N_FEATURES:] == [0.0] * 10
    # The empty columns change the rounding only (the CG's vectors are longer), which may move CG's
    # stopping point by an update: both fits are within fit_bound of the solution.
    plain = fit_json(gradfit_cli, path, *TIGHT)
    assert_same_fit_standardized(as_fit(result["coef"][:N_FEATURES], result["intercept"]), as_fit(plain["coef"], plain["intercept"]),
                                 X.toarray(), y, rtol=2 * fit_bound(X, TIGHT_TOL))
    expect_error(gradfit_cli("fit", path, "--n-features", "20"),
                 "train.svm: its largest feature index is 29, so it has 30 feature columns",
                 "more than --n-features 20; give --n-features 30 or more")


def test_save_round_trips_a_sparse_fit(gradfit_cli, problem, tmp_path):
    path, X, y = problem
    result = fit_json(gradfit_cli, path, *TIGHT, "--save", "model.json")
    assert result["saved"] == "model.json"
    loaded = gradfit.load(tmp_path / "model.json")
    assert loaded.coef_.tolist() == result["coef"] and loaded.intercept_ == result["intercept"]
    assert loaded.n_features_in_ == N_FEATURES and not hasattr(loaded, "feature_names_in_")
    assert loaded.solver_ == "cg" and loaded.message_ == result["message"]
    # modelio on a model fitted in Python on a sparse matrix: dense coef_, bitwise the same predictions
    model = reference(X, y)
    model.save(tmp_path / "python.json")
    again = gradfit.load(tmp_path / "python.json")
    assert again.coef_.tobytes() == model.coef_.tobytes() and again.intercept_ == model.intercept_
    assert again.predict(X).tobytes() == model.predict(X).tobytes()
    assert again.predict(X.tocsc()).tobytes() == model.predict(X.tocsc()).tobytes()


# --- predict ---------------------------------------------------------------------------------------------


@pytest.fixture
def saved(gradfit_cli, problem):
    path, X, y = problem
    expect(gradfit_cli("fit", path, *TIGHT, "--save", "model.json"))
    return gradfit.load("model.json")


def test_predict_equals_model_predict_on_stdout_csv_and_parquet(gradfit_cli, saved, tmp_path):
    X_new, y_new = make_problem(n=50, seed=1)
    path = write_svm(tmp_path / "new.svm", X_new, np.zeros(50))  # the labels of a prediction file are unused
    expected = saved.predict(read_back(path, n_features=N_FEATURES)[0])
    lines = expect(gradfit_cli("predict", "model.json", path)).stdout.splitlines()
    assert lines[0] == "prediction" and [float(value) for value in lines[1:]] == expected.tolist()
    outcome = expect(gradfit_cli("predict", "model.json", path, "--output", "out.csv"))
    assert outcome.stdout.strip() == "wrote 50 predictions to out.csv"
    assert (tmp_path / "out.csv").read_text().splitlines() == lines
    expect(gradfit_cli("predict", "model.json", path, "--output", "out.parquet"))
    assert pq.read_table(tmp_path / "out.parquet").column("prediction").to_pylist() == expected.tolist()
    expect_error(gradfit_cli("predict", "model.json", path, "--output", "out.csv"), "out.csv", "--force")


def test_predict_pads_a_narrower_file_and_ignores_labels(gradfit_cli, saved, tmp_path):
    path = tmp_path / "few.svm"
    path.write_text("nan 0:1.5 3:-2\n0 # no features at all\n7 12:0.25\n")
    X = sp.csr_matrix(([1.5, -2.0, 0.25], ([0, 0, 2], [0, 3, 12])), shape=(3, N_FEATURES))
    lines = expect(gradfit_cli("predict", "model.json", path)).stdout.splitlines()
    assert [float(value) for value in lines[1:]] == saved.predict(X).tolist()


def test_predict_refuses_a_wider_file_naming_both_widths(gradfit_cli, saved, tmp_path):
    path = tmp_path / "wide.svm"
    path.write_text("0 1:1\n0 45:1\n")
    expect_error(gradfit_cli("predict", "model.json", path),
                 "wide.svm: its largest feature index is 45, so it has 46 feature columns",
                 "the model model.json was fitted on 30", "--n-features 46")


def test_predict_models_and_files_that_do_not_match(gradfit_cli, saved, tmp_path):
    (tmp_path / "named.csv").write_text("a,b,y\n1,2,3\n2,1,4\n4,4,9\n")
    expect(gradfit_cli("fit", "named.csv", "--target", "y", "--save", "named.json"))
    (tmp_path / "new.svm").write_text("0 0:1 1:2\n")
    expect_error(gradfit_cli("predict", "named.json", "new.svm"),
                 "named.json: the model was fitted on named columns (a, b)")
    expect_error(gradfit_cli("predict", "model.json", "named.csv"), "model.json: the model has no feature names",
                 "predict from an svmlight file")


# --- refused options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--target", "y"], "'--target': --target applies to CSV and Parquet files"),
        (["--features", "1,2"], "'--features': --features applies to CSV and Parquet files"),
        (["--drop-missing"], "'--drop-missing': --drop-missing applies"),
        (["--target", "y", "--drop-missing"], "--target, --drop-missing apply to CSV and Parquet files"),
        (["--n-features", "0"], "'--n-features'"),
        (["--solver", "exact"], "--solver exact needs the d × d statistics, but X is sparse"),
        (["--solver", "adam"], "--solver adam is not offered for this X (X is sparse"),
        (["--solver", "sgd", "--alpha", "0.1"], "--solver sgd on a sparse X cannot honour a ridge penalty"),
    ],
)
def test_options_that_do_not_apply_are_one_line(gradfit_cli, problem, args, fragment):
    path, _, _ = problem
    expect_error(gradfit_cli("fit", path, *args), fragment)


def test_csv_options_stay_as_they_were(gradfit_cli, tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,2\n2,3\n3,5\n")
    expect_error(gradfit_cli("fit", "t.csv"), "needs --target")
    expect_error(gradfit_cli("fit", "t.csv", "--target", "y", "--n-features", "3"),
                 "--n-features is the width of an svmlight file")
    result = fit_json(gradfit_cli, "t.csv", "--target", "y", "--solver", "exact")
    assert (result["engine"], result["n_passes"], result["n_features"]) == ("statistics", 1, 1)


def test_summary_of_a_streaming_fit_is_one_line_and_saves_nothing(gradfit_cli, problem, tmp_path):
    path, _, _ = problem
    for extra in ([], ["--json"]):
        expect_error(gradfit_cli("fit", path, "--summary", "--save", "model.json", *extra),
                     "--summary needs the d × d statistics, which a streaming fit")
        assert not (tmp_path / "model.json").exists()


# --- bad files: one line naming the file (and line), exit code 2 -----------------------------------------

BAD_FILES = {
    "not a number": (b"1 0:2 3:4\n2 1:abc\n3 0:1\n", "line 2: 'abc' is not a number, in '2 1:abc'"),
    "bad label": (b"1 0:2\n# note\nprice 1:1\n", "line 3: 'price' is not a number"),
    "no colon": (b"1 0:2 3:4\n2 1\n", "line 2: a feature without ':value'"),
    "fractional index": (b"1 1.5:2\n", "line 1: '1.5' is not a feature index (a whole number)"),
    "unsorted": (b"1 0:1\n1 0:1\n1 5:2 2:1\n", "line 3: the feature indices must increase along the line, each once"),
    "repeated index": (b"1 2:2 2:1\n", "line 1: the feature indices must increase"),
    "negative index": (b"1 0:1\n1 -3:2\n", "line 2: feature index -3 is negative"),
    "huge index": (b"1 0:1\n1 99999999999:1\n", "line 2: a feature index is too large"),
    "CSV": (b"x,y\n1,2\n", "line 1: 'x,y' is not a number"),
    "binary": (b"\x00\x01\x02\xff", "line 1: "),
    "NaN value": (b"1 0:1\n2 0:2 4:nan\n", "line 2: feature 4 is nan; remove or impute it"),
    "inf value": (b"1 0:1\n# c\n\n2 3:-inf\n", "line 4: feature 3 is -inf"),
    "NaN label": (b"1 0:1\n2 0:2\nnan 1:1\n", "line 3: the label is nan"),
    "empty": (b"", "no data lines (the file is empty"),
    "blank lines": (b"\n  \n", "no data lines"),
    "comments only": (b"# 1 0:1\n", "no data lines"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_one_line_naming_the_file(gradfit_cli, tmp_path, case):
    content, fragment = BAD_FILES[case]
    (tmp_path / "model.json").write_text("precious")
    (tmp_path / "bad.svm").write_bytes(content)
    place = "bad.svm, " if fragment.startswith("line ") else "bad.svm: "
    expect_error(gradfit_cli("fit", "bad.svm", "--save", "model.json", "--force"), place + fragment)
    assert (tmp_path / "model.json").read_text() == "precious"


def test_a_bad_line_deep_in_a_big_file_is_found(gradfit_cli, tmp_path):
    X, y = make_problem(n=5_000, d=50)
    path = write_svm(tmp_path / "big.svm", X, y)
    lines = path.read_text().splitlines()
    lines[4_321] = lines[4_321].replace(":", ":x", 1)
    path.write_text("\n".join(lines) + "\n")
    expect_error(gradfit_cli("fit", path), "big.svm, line 4322: 'x")


def test_missing_directory_and_broken_compressed_files(gradfit_cli, tmp_path, problem):
    expect_error(gradfit_cli("fit", "absent.svm"), "absent.svm: no such file or directory")
    expect_error(gradfit_cli("predict", "model.json", "absent.svm"), "model.json")  # the model is read first
    (tmp_path / "folder.svm").mkdir()
    expect_error(gradfit_cli("fit", "folder.svm"), "folder.svm: is a directory; svmlight data are read from one file")
    expect_error(gradfit_cli("fit", tmp_path, "--format", "svmlight"), "is a directory")
    (tmp_path / "plain.svm.gz").write_bytes(b"1 0:1\n")
    expect_error(gradfit_cli("fit", "plain.svm.gz"), "plain.svm.gz: cannot be read")
    path, _, _ = problem
    (tmp_path / "cut.svm.gz").write_bytes(gzip.compress(path.read_bytes())[:500])
    expect_error(gradfit_cli("fit", "cut.svm.gz"), "cut.svm.gz: cannot be decompressed")


def test_predict_bad_file_is_one_line(gradfit_cli, saved, tmp_path):
    (tmp_path / "bad.svm").write_bytes(b"0 0:1\n0 2:nan\n")
    expect_error(gradfit_cli("predict", "model.json", "bad.svm"), "bad.svm, line 2: feature 2 is nan")
    (tmp_path / "bad.svm").write_bytes(b"")
    expect_error(gradfit_cli("predict", "model.json", "bad.svm"), "bad.svm: no data lines")
    (tmp_path / "bad.svm").write_bytes(b"0 0:1\n0 2\n")
    expect_error(gradfit_cli("predict", "model.json", "bad.svm"), "bad.svm, line 2: a feature without ':value'")


def test_a_width_too_large_for_memory_is_refused_naming_its_line(gradfit_cli, tmp_path, monkeypatch):
    import gradfit.engine as engine

    (tmp_path / "typo.svm").write_text("1 0:1\n2 1:1\n3 2000000:1\n4 3:1\n")
    monkeypatch.setattr(engine, "available_memory", lambda: 100_000_000)
    expect_error(gradfit_cli("fit", "typo.svm"), "typo.svm, line 3: feature index 2,000,000: a fit over 2,000,001 "
                 "columns needs about", "more than the 0.1 GB available; check that index")
    (tmp_path / "fine.svm").write_text("1 0:1\n2 1:1\n")
    expect_error(gradfit_cli("fit", "fine.svm", "--n-features", "5000000"),
                 "fine.svm: --n-features 5000000: a fit over")
