"""Model files: exact round trips, readable JSON, atomic writes, and a clear refusal for anything else."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

import gradfit
from gradfit import LinearRegression, ModelFileError
from gradfit.datasets import make_article_data
from gradfit.estimator import load_model, save_model
from gradfit.history import History
from gradfit.modelio import FORMAT_VERSION

from problems import random_problem

FITTED_ATTRIBUTES = (
    "n_features_in_",
    "coef_",
    "intercept_",
    "n_iter_",
    "loss_history_",
    "converged_",
    "solver_",
    "status_",
    "message_",
    "final_loss_",
    "learning_rate_",
    "lipschitz_",
    "condition_number_",
)


def bits(value) -> bytes:
    """The exact bytes of a float64 array (tells 0.0 from -0.0 and compares NaN payloads)."""
    return np.asarray(value, dtype=np.float64).tobytes()


def assert_same_value(name: str, saved, loaded) -> None:
    if isinstance(saved, np.ndarray):
        assert isinstance(loaded, np.ndarray), name
        assert loaded.dtype == saved.dtype, name
        assert bits(loaded) == bits(saved), name
    elif isinstance(saved, float):
        assert isinstance(loaded, float), name
        assert bits(loaded) == bits(saved), name
    else:
        assert type(loaded) is type(saved) and loaded == saved, name


def assert_same_model(saved: LinearRegression, loaded: LinearRegression) -> None:
    assert type(loaded) is LinearRegression
    assert loaded.get_params() == saved.get_params()
    for name in FITTED_ATTRIBUTES:
        value = getattr(saved, name)
        assert_same_value(name, float(value) if isinstance(value, np.floating) else value, getattr(loaded, name))
    assert isinstance(loaded.history_, History)
    for field in ("loss", "grad_norm", "step_size"):
        assert bits(getattr(loaded.history_, field)) == bits(getattr(saved.history_, field)), field
    assert loaded.loss_history_ is loaded.history_.loss
    if hasattr(saved, "feature_names_in_"):
        assert loaded.feature_names_in_.dtype == object
        assert list(loaded.feature_names_in_) == list(saved.feature_names_in_)
    else:
        assert not hasattr(loaded, "feature_names_in_")


def round_trip(model: LinearRegression, directory: Path) -> LinearRegression:
    path = directory / "model.json"
    model.save(path)
    return gradfit.load(path)


# ------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    "params",
    [
        {"solver": "gd"},
        {"solver": "gd", "fit_intercept": False},
        {"solver": "exact"},
        {"solver": "exact", "fit_intercept": False},
        {"solver": "gd", "standardize": False, "learning_rate": 0.01, "max_iter": 300, "tol": 0.0},
        {"solver": "nesterov"},
        {},
    ],
    ids=["gd", "gd-no-intercept", "exact", "exact-no-intercept", "gd-raw-fixed-steps", "nesterov", "default"],
)
def test_round_trip_predicts_bitwise_identically(tmp_path, params):
    X, y = random_problem(0)
    model = LinearRegression(**params).fit(X, y)
    loaded = round_trip(model, tmp_path)
    assert_same_model(model, loaded)
    X_new = np.random.default_rng(1).normal(size=(200, X.shape[1])) * 100
    assert np.array_equal(loaded.predict(X_new), model.predict(X_new))
    assert bits(loaded.predict(X_new)) == bits(model.predict(X_new))


def test_gd_round_trip_keeps_the_whole_history(tmp_path):
    X, y = make_article_data(seed=3)
    model = LinearRegression(solver="gd", learning_rate=0.5, max_iter=500, tol=0.0, standardize=False).fit(X, y)
    assert model.n_iter_ == 500 and len(model.history_) == 500
    loaded = round_trip(model, tmp_path)
    assert_same_model(model, loaded)
    assert loaded.history_.to_dict() == model.history_.to_dict()


def test_dataframe_feature_names_round_trip(tmp_path):
    X, y = random_problem(4)
    frame = pd.DataFrame(X, columns=["rooms", "área", "age"])
    model = LinearRegression().fit(frame, y)
    loaded = round_trip(model, tmp_path)
    assert_same_model(model, loaded)
    assert list(loaded.feature_names_in_) == ["rooms", "área", "age"]
    assert bits(loaded.predict(frame)) == bits(model.predict(frame))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        loaded.predict(X)
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame.rename(columns={"age": "year"}))


def test_loaded_model_validates_its_input_like_the_original(tmp_path):
    X, y = random_problem(5)
    loaded = round_trip(LinearRegression().fit(X, y), tmp_path)
    with pytest.raises(ValueError, match="X has 2 features, but LinearRegression is expecting 3"):
        loaded.predict(X[:, :2])


def test_non_finite_attributes_round_trip(tmp_path):
    X, y = random_problem(6)
    model = LinearRegression().fit(X, y)
    model.condition_number_ = float("inf")
    model.lipschitz_ = float("nan")
    model.final_loss_ = float("-inf")
    text_path = tmp_path / "model.json"
    model.save(text_path)
    document = json.loads(text_path.read_text(encoding="utf-8"))
    assert document["condition_number"] == "inf"
    assert document["lipschitz"] == "nan"
    assert document["final_loss"] == "-inf"
    loaded = gradfit.load(text_path)
    assert loaded.condition_number_ == float("inf")
    assert np.isnan(loaded.lipschitz_)
    assert loaded.final_loss_ == float("-inf")


def test_exact_model_has_no_step_size_and_saves_null(tmp_path):
    X, y = random_problem(7)
    model = LinearRegression(solver="exact").fit(X, y)
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    # no step was taken; the problem's L and condition number are still known and kept
    assert document["learning_rate"] is None
    assert document["lipschitz"] == model.lipschitz_ and document["condition_number"] == model.condition_number_
    loaded = load_model(path)
    assert loaded.learning_rate_ is None
    assert loaded.lipschitz_ == model.lipschitz_ and loaded.condition_number_ == model.condition_number_
    # its solves are its updates: the one from the statistics, and a refinement's corrections
    assert loaded.n_iter_ == model.n_iter_ >= 1 and len(loaded.history_) == model.n_iter_


def test_loaded_model_can_be_refitted(tmp_path):
    X, y = random_problem(8)
    loaded = round_trip(LinearRegression(max_iter=5000).fit(X, y), tmp_path)
    refit = LinearRegression(max_iter=5000).fit(X, y)
    assert bits(loaded.fit(X, y).coef_) == bits(refit.coef_)


@pytest.mark.parametrize("params", [{}, {"fit_intercept": False}, {"solver": "exact"}], ids=["gd", "no-intercept", "exact"])
def test_summary_round_trips_bit_for_bit(tmp_path, params):
    X, y = random_problem(15)
    model = LinearRegression(**params).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    saved, loaded = model.summary(), round_trip(model, tmp_path).summary()
    assert loaded.names == saved.names and loaded.notes == saved.notes
    for name in (*saved.TERM_FIELDS, *saved.MODEL_FIELDS):
        assert_same_value(name, getattr(saved, name), getattr(loaded, name))
    assert str(loaded) == str(model.summary())


def test_a_loaded_model_saved_again_keeps_its_summary_and_a_refit_replaces_it(tmp_path):
    X, y = random_problem(16)
    loaded = round_trip(LinearRegression().fit(X, y), tmp_path)
    again = tmp_path / "again.json"
    loaded.save(again)
    assert again.read_text(encoding="utf-8") == (tmp_path / "model.json").read_text(encoding="utf-8")
    loaded.fit(X[:30], y[:30])
    assert loaded.summary().n_samples == 30


def test_a_streaming_fit_saves_no_summary(tmp_path):
    import scipy.sparse as sp

    X, y = random_problem(17)
    model = LinearRegression(solver="cg").fit(sp.csr_matrix(X), y)
    assert model.engine_ == "streaming"
    path = tmp_path / "model.json"
    model.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["summary"] is None
    with pytest.raises(ValueError, match="holds no summary"):
        gradfit.load(path).summary()


def test_coefficients_that_give_no_table_save_the_model_without_one(tmp_path):
    X, y = random_problem(18)
    model = LinearRegression().fit(X, y)
    model.coef_ = np.full(3, 1e300)  # the table's sums overflow
    path = tmp_path / "model.json"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["summary"] is None
    assert bits(gradfit.load(path).coef_) == bits(model.coef_)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_coefficients_are_neither_saved_nor_loaded(saved, value):
    path, document = saved
    model = gradfit.load(path)
    model.coef_ = np.array([1.0, value, 2.0])
    with pytest.raises(ModelFileError, match="NaN or infinity"):
        model.save(path.with_name("other.json"))
    assert not path.with_name("other.json").exists()
    document["summary"] = None
    document["coef"][1] = repr(float(value))
    with pytest.raises(ModelFileError, match=f"field 'coef' item 1 is {value!r}: a model's coefficients must be finite"):
        gradfit.load(write_document(path, document))
    document["coef"][1] = 1.0
    document["intercept"] = "-inf"
    with pytest.raises(ModelFileError, match="field 'intercept' is -inf"):
        gradfit.load(write_document(path, document))


def test_a_loaded_table_is_not_given_for_changed_coefficients(tmp_path):
    X, y = random_problem(19)
    loaded = round_trip(LinearRegression().fit(X, y), tmp_path)
    loaded.intercept_ += 1.0
    with pytest.raises(ValueError, match="changed after loading"):
        loaded.summary()
    loaded.save(tmp_path / "changed.json")
    assert json.loads((tmp_path / "changed.json").read_text(encoding="utf-8"))["summary"] is None


def test_a_failed_refit_keeps_the_table_of_the_coefficients_it_leaves(tmp_path):
    X, y = random_problem(20, n=50)
    model = LinearRegression().fit(X, y)
    before = model.summary()
    X2, y2 = random_problem(21, n=80)
    with pytest.raises(gradfit.DivergenceError):
        model.set_params(solver="gd", learning_rate=50.0, standardize=False).fit(X2, y2)
    after = model.summary()
    assert after.n_samples == before.n_samples == 50
    assert bits(after.std_err) == bits(before.std_err)


# ----------------------------------------------------------------------------- the file itself


def test_file_is_strict_human_readable_json(tmp_path):
    X, y = random_problem(9)
    model = LinearRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    path = tmp_path / "model.json"
    model.save(path)
    text = path.read_text(encoding="utf-8")

    def no_constants(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    document = json.loads(text, parse_constant=no_constants)
    assert document["format"] == "gradfit-model"
    assert document["format_version"] == FORMAT_VERSION == 1
    assert document["gradfit_version"] == gradfit.__version__
    assert document["params"] == model.get_params()
    assert document["feature_names"] == ["a", "b", "c"]
    assert document["n_features_in"] == 3
    assert document["coef"] == model.coef_.tolist()
    assert document["intercept"] == model.intercept_
    assert document["n_iter"] == model.n_iter_
    assert document["converged"] is True and document["status"] == model.status_ == "exact"
    assert document["message"] == model.message_
    assert set(document["history"]) == {"loss", "grad_norm", "step_size", "elapsed"}
    assert document["summary"] == model.summary().to_dict()
    # Readable: one field per line, each array on a single line, unicode kept as written.
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert '  "format": "gradfit-model",' in lines
    assert any(line.startswith('  "coef": [') and line.rstrip(",").endswith("]") for line in lines)
    assert "‖" in text or "‖" not in model.message_


def test_writing_leaves_only_the_model_file(tmp_path):
    X, y = random_problem(10)
    model = LinearRegression().fit(X, y)
    model.save(tmp_path / "model.json")
    model.save(str(tmp_path / "model.json"))  # replacing an existing file, path given as str
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    X, y = random_problem(11)
    path = tmp_path / "model.json"
    LinearRegression(solver="exact").fit(X, y).save(path)
    before = path.read_bytes()

    def crash(source, destination):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        LinearRegression().fit(X, y).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_saving_into_a_missing_folder_or_onto_a_folder_names_the_path(tmp_path):
    X, y = random_problem(22)
    model = LinearRegression().fit(X, y)
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist; create it first") as raised:
        model.save(tmp_path / "nowhere" / "model.json")
    assert raised.value.filename == str(tmp_path / "nowhere" / "model.json")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        model.save(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_saving_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        LinearRegression().save(tmp_path / "model.json")
    assert list(tmp_path.iterdir()) == []


def test_saving_something_else_is_refused(tmp_path):
    from sklearn.linear_model import LinearRegression as SklearnLinearRegression

    X, y = random_problem(12)
    with pytest.raises(TypeError, match="gradfit LinearRegression"):
        save_model(SklearnLinearRegression().fit(X, y), tmp_path / "model.json")
    assert list(tmp_path.iterdir()) == []


def test_a_parameter_json_cannot_hold_is_refused_on_save(tmp_path):
    X, y = random_problem(13)
    model = LinearRegression().fit(X, y)
    model.learning_rate = [0.1]  # set behind set_params' back
    with pytest.raises(ModelFileError, match="cannot save parameter 'learning_rate': its value is a list"):
        model.save(tmp_path / "model.json")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ refusals


@pytest.fixture
def saved(tmp_path):
    """A saved model's path and its JSON document, to be edited and written back by the tests."""
    X, y = random_problem(14)
    path = tmp_path / "model.json"
    LinearRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y).save(path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def write_document(path: Path, document) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file") as raised:
        gradfit.load(tmp_path / "absent.json")
    assert isinstance(raised.value, ValueError)
    assert "absent.json" in str(raised.value)


def test_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        gradfit.load(tmp_path)


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_is_refused_without_unpickling(tmp_path, protocol):
    X, y = random_problem(15)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(LinearRegression().fit(X, y), protocol=protocol))
    with pytest.raises(ValueError, match="looks like a pickle; .* never unpickles"):
        gradfit.load(path)


def test_text_pickle_is_refused_as_invalid_json(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"coef": [1.0]}, protocol=0))
    with pytest.raises(ValueError, match="is not valid JSON"):
        gradfit.load(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x02binary", "is a binary file"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        ("{\"format\": \"gradfit-model\"}".encode("utf-16"), "is a binary file|is not UTF-8"),
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"{'format': 'gradfit-model'}", "is not valid JSON"),
        (b'{"format": "gradfit-model"} trailing', "is not valid JSON: Extra data"),
        (b'{"coef": [1e400]}', "the number 1e400 is outside the float64 range"),
        (b'{"a": 1, "a": 2}', "the key 'a' appears twice"),
        (b"[" * 100_000, "truncated|nested too deeply"),
    ],
    ids=["nul-bytes", "not-utf8", "utf16", "empty", "blank", "python-repr", "trailing", "overflow", "duplicate", "deep"],
)
def test_non_json_files_are_refused(tmp_path, data, message):
    path = tmp_path / "model.json"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        gradfit.load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(saved, keep):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match=r"JSON ends early at line \d+ column \d+ \(truncated file\?\)"):
        gradfit.load(path)


def test_every_truncation_is_called_a_truncation(tmp_path):
    """Cut anywhere (inside a string, a number, a literal or a UTF-8 character), the file is refused as truncated."""
    X, y = random_problem(17)
    source = tmp_path / "model.json"
    LinearRegression().fit(pd.DataFrame(X, columns=["a", "b", "área"]), y).save(source)
    data = source.read_bytes().rstrip()
    assert "á".encode() in data  # a name holds a multi-byte character to cut through
    path = tmp_path / "cut.json"
    for length in range(1, len(data)):
        path.write_bytes(data[:length])
        with pytest.raises(ModelFileError, match=r"\(truncated file\?\)$"):
            gradfit.load(path)


@pytest.mark.parametrize(
    ("document", "kind"),
    [([1.0, 2.0], "array"), ("model", "string"), (3, "number"), (None, "null"), (True, "boolean")],
)
def test_json_that_is_not_an_object_is_refused(tmp_path, document, kind):
    path = write_document(tmp_path / "model.json", document)
    with pytest.raises(ModelFileError, match=f"holds a JSON {kind}, not an object"):
        gradfit.load(path)


def test_wrong_format_is_refused(saved):
    path, document = saved
    document["format"] = "sklearn-model"
    with pytest.raises(ModelFileError, match="\"format\" is 'sklearn-model', not 'gradfit-model'"):
        gradfit.load(write_document(path, document))


def test_other_json_object_is_refused(tmp_path):
    path = write_document(tmp_path / "package.json", {"name": "left-pad", "version": "1.3.0"})
    with pytest.raises(ModelFileError, match='package.json: not a gradfit model file: it has no "format" field'):
        gradfit.load(path)


def test_newer_format_version_is_refused_naming_the_readable_one(saved):
    path, document = saved
    document["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(
        ModelFileError, match=rf"format_version {FORMAT_VERSION + 1} is newer than this gradfit reads \(format_version {FORMAT_VERSION}\)"
    ):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize(
    "field",
    [
        "format_version",
        "gradfit_version",
        "params",
        "n_features_in",
        "feature_names",
        "coef",
        "intercept",
        "n_iter",
        "converged",
        "status",
        "message",
        "final_loss",
        "loss_history",
        "history",
        "learning_rate",
        "lipschitz",
        "condition_number",
    ],
)
def test_missing_field_is_named(saved, field):
    path, document = saved
    del document[field]
    with pytest.raises(ModelFileError, match=f"missing field '{field}'"):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize("field", ["loss", "grad_norm", "step_size"])
def test_missing_history_array_is_named(saved, field):
    path, document = saved
    del document["history"][field]
    with pytest.raises(ModelFileError, match=f"missing field 'history.{field}'"):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("format_version", "1", "an integer"),
        ("format_version", 1.0, "an integer"),
        ("format_version", True, "an integer"),
        ("gradfit_version", 0.1, "a string"),
        ("params", [], "an object"),
        ("n_features_in", "3", "an integer"),
        ("feature_names", "a,b,c", "an array of strings or null"),
        ("feature_names", ["a", 2, "c"], "an array of strings or null"),
        ("coef", {"a": 1.0}, "an array of numbers"),
        ("coef", 1.0, "an array of numbers"),
        ("intercept", "one", 'a number \\(or "inf", "-inf", "nan"\\)'),
        ("intercept", None, "a number"),
        ("intercept", False, "a number"),
        ("intercept", [1.0], "a number"),
        ("n_iter", 3.5, "an integer"),
        ("converged", "true", "true or false"),
        ("converged", 1, "true or false"),
        ("status", None, "a string"),
        ("message", ["ok"], "a string"),
        ("final_loss", "small", "a number"),
        ("loss_history", "[]", "an array of numbers"),
        ("history", [], "an object"),
        ("learning_rate", "fast", "a number"),
        ("lipschitz", [], "a number"),
        ("condition_number", True, "a number"),
    ],
)
def test_wrong_field_type_is_named_with_the_expected_type(saved, field, value, expected):
    path, document = saved
    document[field] = value
    with pytest.raises(ModelFileError, match=f"field '{field}' must be {expected}") as raised:
        gradfit.load(write_document(path, document))
    assert "; got a JSON " in str(raised.value)


@pytest.mark.parametrize("bad", ["x", None, True, [1.0], "Infinity"])
def test_non_number_inside_an_array_is_named_with_its_index(saved, bad):
    path, document = saved
    document["coef"][1] = bad
    with pytest.raises(ModelFileError, match="field 'coef' must be an array of numbers; item 1 is a JSON"):
        gradfit.load(write_document(path, document))


def test_non_number_inside_a_history_array_is_named(saved):
    path, document = saved
    document["history"]["grad_norm"][0] = "big"
    with pytest.raises(ModelFileError, match="field 'history.grad_norm' must be an array of numbers; item 0"):
        gradfit.load(write_document(path, document))


def test_integers_stand_for_floats(saved):
    path, document = saved
    document["intercept"] = 3
    document["coef"] = [1, -2, 0]
    document["summary"] = None  # it was of the old coefficients (such a file is refused, see below)
    loaded = gradfit.load(write_document(path, document))
    assert loaded.intercept_ == 3.0 and isinstance(loaded.intercept_, float)
    assert loaded.coef_.dtype == np.float64 and loaded.coef_.tolist() == [1.0, -2.0, 0.0]


@pytest.mark.parametrize("value", [0, -3])
def test_non_positive_feature_count_is_refused(saved, value):
    path, document = saved
    document["n_features_in"] = value
    with pytest.raises(ModelFileError, match=f"field 'n_features_in' must be at least 1; got {value}"):
        gradfit.load(write_document(path, document))


def test_negative_iteration_count_is_refused(saved):
    path, document = saved
    document["n_iter"] = -1
    with pytest.raises(ModelFileError, match="field 'n_iter' must be at least 0; got -1"):
        gradfit.load(write_document(path, document))


def test_format_version_zero_is_refused(saved):
    path, document = saved
    document["format_version"] = 0
    with pytest.raises(ModelFileError, match="field 'format_version' must be at least 1; got 0"):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize("n_coef", [2, 4])
def test_coef_length_must_match_the_feature_count(saved, n_coef):
    path, document = saved
    document["coef"] = [0.5] * n_coef
    with pytest.raises(ModelFileError, match=f"'coef' has {n_coef} values but 'n_features_in' is 3"):
        gradfit.load(write_document(path, document))


def test_feature_names_length_must_match_the_feature_count(saved):
    path, document = saved
    document["feature_names"] = ["a", "b"]
    with pytest.raises(ModelFileError, match="'feature_names' has 2 names but 'n_features_in' is 3"):
        gradfit.load(write_document(path, document))


def test_history_arrays_must_agree_in_length(saved):
    path, document = saved
    document["history"]["step_size"] = document["history"]["step_size"][:-1]
    with pytest.raises(ModelFileError, match="'history' arrays differ in length"):
        gradfit.load(write_document(path, document))


def test_loss_history_must_be_the_history_loss(saved):
    path, document = saved
    document["loss_history"][0] = document["loss_history"][0] * 2
    with pytest.raises(ModelFileError, match="'loss_history' differs from 'history.loss'"):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda summary: "table", "field 'summary' must be an object or null; got a JSON string"),
        (lambda summary: summary.pop("r_squared") and summary, "'summary': missing field 'r_squared'"),
        (lambda summary: summary.update(rank=2.5) or summary, "'summary': field 'rank' must be an integer"),
        (lambda summary: summary.update(confidence_level=0.9) or summary, "this gradfit reports 0.95 intervals"),
        (lambda summary: summary["terms"][1].pop("p_value") and summary, "missing field 'terms\\[1\\].p_value'"),
        (lambda summary: summary["terms"][2].update(t=[1]) or summary, "field 'terms\\[2\\].t' must be a number"),
        (lambda summary: summary["terms"].pop() and summary, "'summary' has 3 terms but the model has 4 coefficients"),
    ],
    ids=["not-an-object", "missing-model-field", "non-integer-rank", "other-level", "missing-term-field",
         "non-number-term-field", "too-few-terms"],
)
def test_a_bad_summary_is_refused_naming_the_field(saved, edit, message):
    path, document = saved
    document["summary"] = edit(document["summary"])
    with pytest.raises(ModelFileError, match=message):
        gradfit.load(write_document(path, document))


def test_a_summary_of_other_coefficients_or_features_is_refused(saved):
    path, document = saved
    edited = json.loads(json.dumps(document))
    edited["coef"][0] += 1.0
    with pytest.raises(ModelFileError, match="'summary' is of other coefficients than 'coef' and 'intercept'"):
        gradfit.load(write_document(path, edited))
    edited = json.loads(json.dumps(document))
    edited["feature_names"] = ["a", "b", "z"]
    with pytest.raises(ModelFileError, match="'summary' names other terms than 'feature_names'"):
        gradfit.load(write_document(path, edited))


def test_unknown_parameter_is_refused_by_name(saved):
    path, document = saved
    document["params"]["learning_rat"] = 0.1
    with pytest.raises(ModelFileError, match="parameters LinearRegression does not know: 'learning_rat'"):
        gradfit.load(write_document(path, document))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("solver", "newton", "'solver' parameter"),
        ("learning_rate", -0.1, "'learning_rate' parameter"),
        ("learning_rate", "inf", "'learning_rate' parameter"),
        ("max_iter", 0, "'max_iter' parameter"),
        ("max_iter", 10.5, "'max_iter' parameter"),
        ("tol", "nan", "'tol' parameter"),
        ("fit_intercept", "yes", "'fit_intercept' parameter"),
    ],
)
def test_parameter_values_linear_regression_rejects_are_refused(saved, name, value, message):
    path, document = saved
    document["params"][name] = value
    with pytest.raises(ModelFileError, match=f"'params' are rejected by LinearRegression: The {message}") as raised:
        gradfit.load(write_document(path, document))
    assert "\n" not in str(raised.value)


def test_missing_parameters_take_their_defaults(saved):
    path, document = saved
    document["params"] = {"solver": "gd"}
    assert gradfit.load(write_document(path, document)).get_params() == LinearRegression(solver="gd").get_params()


def test_every_refusal_is_one_line(saved):
    path, document = saved
    document["coef"] = "not a list\nsecond line"
    with pytest.raises(ModelFileError) as raised:
        gradfit.load(write_document(path, document))
    assert "\n" not in str(raised.value)


# -------------------------------------------------------------------------------------- property

finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]),
)
any_floats = st.one_of(finite_floats, st.sampled_from([float("inf"), float("-inf"), float("nan")]))


@pytest.fixture(scope="module")
def template():
    X, y = random_problem(16, d=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return LinearRegression().fit(X, y)


@settings(max_examples=150, deadline=None)
@given(
    coef=st.lists(finite_floats, min_size=4, max_size=4),
    intercept=finite_floats,
    history=st.lists(st.tuples(any_floats, any_floats, any_floats), max_size=20),
    extras=st.tuples(any_floats, st.one_of(st.none(), any_floats), st.one_of(st.none(), any_floats)),
)
def test_arbitrary_floats_round_trip_bit_for_bit(template, coef, intercept, history, extras):
    model = LinearRegression().set_params(**template.get_params())
    for name in FITTED_ATTRIBUTES:
        setattr(model, name, getattr(template, name))
    model.coef_ = np.array(coef, dtype=np.float64)
    model.intercept_ = intercept
    loss, grad_norm, step_size = (np.array(column, dtype=np.float64) for column in zip(*history)) if history else (np.empty(0),) * 3
    model.history_ = History(loss, grad_norm, step_size)
    model.loss_history_ = model.history_.loss
    model.n_iter_ = len(history)
    model.final_loss_, model.lipschitz_, model.condition_number_ = extras
    with tempfile.TemporaryDirectory() as directory:
        loaded = round_trip(model, Path(directory))
    assert_same_model(model, loaded)
    X = np.random.default_rng(len(history)).normal(size=(8, 4))
    with np.errstate(all="ignore"):  # huge coefficients may overflow; both sides must overflow alike
        assert bits(loaded.predict(X)) == bits(model.predict(X))
