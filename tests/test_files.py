"""read_csv_table (and the diagnosis the streaming reader asks for): what it reads, and one clear line for
every way a file can be wrong."""

from __future__ import annotations

import numpy as np
import pytest

from gradfit.errors import DataError
from gradfit.sources.files.csv_text import CsvTable, csv_header, find_csv_problem, null_values, read_csv_table


def write(tmp_path, text: str | bytes, name: str = "data.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refuse(path, pattern: str, **kwargs) -> str:
    """Read and expect a one-line DataError matching ``pattern``; return the message."""
    kwargs.setdefault("target", "y")
    with pytest.raises(DataError, match=pattern) as info:
        read_csv_table(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- what it reads -------------------------------------------------------------------------------


def test_reads_all_columns_but_target_in_header_order(tmp_path):
    path = write(tmp_path, "a,y,b\n1,10,2\n3,20,4.5\n-1e3,30,0\n")
    table = read_csv_table(path, target="y")
    assert isinstance(table, CsvTable)
    assert table.feature_names == ["a", "b"]
    assert table.target == "y"
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4.5], [-1e3, 0]])
    np.testing.assert_array_equal(table.y, [10, 20, 30])
    assert table.X.dtype == np.float64 and table.y.dtype == np.float64
    assert table.X.shape == (3, 2) and table.y.shape == (3,)
    assert (table.n_rows_read, table.n_dropped, table.n_samples) == (3, 0, 3)


def test_features_pick_and_order_columns_and_other_columns_may_hold_text(tmp_path):
    path = write(tmp_path, "name,a,b,y\nalice,1,2,3\nbob,4,5,6\n")
    table = read_csv_table(path, target="y", features=["b", "a"])
    assert table.feature_names == ["b", "a"]
    np.testing.assert_array_equal(table.X, [[2, 1], [5, 4]])


def test_values_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((20, 2)) * 10.0 ** rng.integers(-300, 300, (20, 2))
    lines = ["x,y"] + [f"{float(x)!r},{float(y)!r}" for x, y in values]
    table = read_csv_table(write(tmp_path, "\n".join(lines) + "\n"), target="y")
    np.testing.assert_array_equal(table.X[:, 0], values[:, 0])
    np.testing.assert_array_equal(table.y, values[:, 1])


def test_tolerates_bom_crlf_blank_lines_quotes_and_spaces(tmp_path):
    path = write(tmp_path, '\ufeff"x", y \r\n 1 , "2"\r\n\r\n3, 4\r\n\r\n')
    table = read_csv_table(path, target="y")
    assert table.feature_names == ["x"]
    np.testing.assert_array_equal(table.X[:, 0], [1, 3])
    np.testing.assert_array_equal(table.y, [2, 4])
    assert table.n_rows_read == 2


def test_without_target_reads_features_only(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    table = read_csv_table(path, target=None, features=["b"])
    assert table.y is None and table.target is None
    np.testing.assert_array_equal(table.X, [[2], [4]])
    assert read_csv_table(path, target=None).feature_names == ["a", "b"]


def test_accepts_str_path(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n")
    assert read_csv_table(str(path), target="y").n_samples == 1


# --- the file itself -----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    refuse(tmp_path / "nope.csv", r"nope\.csv: no such file")


def test_directory(tmp_path):
    refuse(tmp_path, r"is a directory")


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, text):
    refuse(write(tmp_path, text), r"the file is empty")


def test_header_only(tmp_path):
    refuse(write(tmp_path, "x,y\n"), r"header but no data rows")


def test_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,caf\xe9\n".encode("latin-1"))
    message = refuse(path, r"line 3: byte .* is not valid UTF-8")
    assert "UTF-8" in message


def test_malformed_quotes(tmp_path):
    refuse(write(tmp_path, 'x,y\n1,"2"3\n'), r"line 2: a quoted value is followed by more text before the next comma")


# --- the header ----------------------------------------------------------------------------------


def test_missing_target_lists_the_columns(tmp_path):
    message = refuse(write(tmp_path, "a,b\n1,2\n"), r"no column named 'y' for the target", target="y")
    assert str(tmp_path / "data.csv") in message
    assert "the columns are: 'a', 'b'" in message


def test_unknown_feature_lists_the_columns(tmp_path):
    message = refuse(write(tmp_path, "a,b,y\n1,2,3\n"), r"no column named 'c'", features=["a", "c"])
    assert "the columns are: 'a', 'b', 'y'" in message


def test_duplicate_column_names(tmp_path):
    refuse(write(tmp_path, "a,b,a,y\n1,2,3,4\n"), r"'a' appears twice \(columns 1 and 3\)")


def test_empty_column_name(tmp_path):
    refuse(write(tmp_path, ",x,y\n0,1,2\n"), r"column 1 has no name")


def test_only_the_target(tmp_path):
    refuse(write(tmp_path, "y\n1\n"), r"no feature columns")


def test_target_listed_as_feature(tmp_path):
    refuse(write(tmp_path, "x,y\n1,2\n"), r"both the target and a feature", features=["x", "y"])


def test_feature_listed_twice(tmp_path):
    refuse(write(tmp_path, "x,y\n1,2\n"), r"more than once", features=["x", "x"])


def test_empty_feature_list(tmp_path):
    refuse(write(tmp_path, "x,y\n1,2\n"), r"no feature columns were given", features=[])


# --- the rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "got"), [("1,2,3", 3), ("1", 1)], ids=["extra field", "missing field"]
)
def test_ragged_row_names_line_and_counts(tmp_path, row, got):
    path = write(tmp_path, f"x,y\n1,2\n\n{row}\n")
    refuse(path, rf"line 4: expected 2 fields \(as in the header\) but got {got}")


def test_non_numeric_value_names_column_line_and_value(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,4\nfive,6\n")
    refuse(path, r"line 4, column 'x': 'five' is not a number")


def test_long_value_is_elided(tmp_path):
    message = refuse(write(tmp_path, "x,y\n" + "z" * 500 + ",1\n"), r"is not a number")
    assert len(message) < 300


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e999"])
def test_infinite_value_refused(tmp_path, value):
    refuse(write(tmp_path, f"x,y\n1,2\n{value},3\n"), rf"line 3, column 'x': '{value}' is not a finite number")


@pytest.mark.parametrize("cell", ["", "NA", "nan", "NaN", "N/A", "null", "  "])
def test_missing_cell_refused_with_hint(tmp_path, cell):
    path = write(tmp_path, f"x,y\n1,2\n3,{cell}\n")
    message = refuse(path, r"line 3, column 'y': (an empty cell|a missing value)")
    assert "--drop-missing" in message


def test_drop_missing_drops_and_counts(tmp_path):
    path = write(tmp_path, "x,y,note\n1,2,\n,4,a\n5,NA,b\n7,8,\n")
    table = read_csv_table(path, target="y", features=["x"], drop_missing=True)
    np.testing.assert_array_equal(table.X[:, 0], [1, 7])
    np.testing.assert_array_equal(table.y, [2, 8])
    assert (table.n_rows_read, table.n_dropped) == (4, 2)


def test_missing_in_unused_column_is_fine(tmp_path):
    table = read_csv_table(write(tmp_path, "x,y,note\n1,2,\n3,4,\n"), target="y", features=["x"])
    assert table.n_dropped == 0 and table.n_samples == 2


def test_drop_missing_still_refuses_bad_values(tmp_path):
    refuse(write(tmp_path, "x,y\n,1\nabc,2\n"), r"'abc' is not a number", drop_missing=True)


def test_drop_missing_with_nothing_left(tmp_path):
    refuse(write(tmp_path, "x,y\n,1\n2,\n"), r"all 2 data rows have a missing value", drop_missing=True)


def test_missing_cell_without_target_does_not_suggest_dropping(tmp_path):
    message = refuse(write(tmp_path, "x\n1\nNA\n"), r"line 3, column 'x': a missing value", target=None)
    assert "--drop-missing" not in message


# --- what a number is, the same for both readers ----------------------------------------------------


@pytest.mark.parametrize("cell", ["1_000", "0x10", "1e", "١٢", "--1", "1.5.2"])
def test_only_plain_decimal_numbers_are_numbers(tmp_path, cell):
    # Python's float() takes "1_000" and non-ASCII digits; pyarrow, which streams big files, does not.
    refuse(write(tmp_path, f"x,y\n{cell},1\n"), r"line 2, column 'x': .* is not a number")


@pytest.mark.parametrize("cell", ["+5", ".5", "5.", "-1E+05", " 7 "])
def test_decimal_spellings_are_numbers(tmp_path, cell):
    table = read_csv_table(write(tmp_path, f"x,y\n{cell},1\n"), target="y")
    assert table.X[0, 0] == float(cell)


def test_null_values_spell_every_marker_in_every_case():
    spelled = set(null_values())
    for marker in ("", "NA", "na", "Na", "N/A", "NaN", "nan", "NAN", "-nan", "NULL", "None", " NA", " "):
        assert marker in spelled
    assert {text.strip().lower() for text in spelled} == {"", "na", "n/a", "nan", "-nan", "null", "none"}


# --- the header and the diagnosis, for the streaming reader ------------------------------------------


def test_csv_header_strips_names_and_gives_the_line_it_ends_on(tmp_path):
    assert csv_header(write(tmp_path, "\ufeffa, b ,y\n1,2,3\n")) == (["a", "b", "y"], 1)
    assert csv_header(write(tmp_path, "\n\n x,y\n1,2\n")) == (["x", "y"], 3)
    assert csv_header(write(tmp_path, '"multi\nline",y\n1,2\n')) == (["multi\nline", "y"], 2)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("", "the file is empty"), ("x,y\n", "header but no data rows"), ("x,x\n1,2\n", "appears twice"),
     ("x,\n1,2\n", "column 2 has no name")],
)
def test_csv_header_refuses_what_read_csv_table_refuses(tmp_path, text, pattern):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=pattern):
        csv_header(path)
    refuse(path, pattern)


def test_find_csv_problem_gives_read_csv_table_message(tmp_path):
    cases = {
        "x,y,note\n1,2,a\n3,4,b,c\n": None,
        "x,y\n1,2\n3,four\n": None,
        "x,y\n1,2\n\n3,\n": None,
        "x,y\n1,2\n3,1e999\n": None,
    }
    for index, text in enumerate(cases):
        path = write(tmp_path, text, name=f"case{index}.csv")
        with pytest.raises(DataError) as info:
            read_csv_table(path, target="y", features=["x"])
        assert find_csv_problem(path, columns=["x", "y"], target="y") == str(info.value)
    fine = write(tmp_path, "x,y,note\n1,2,\n3,4,NA\n", name="fine.csv")
    assert find_csv_problem(fine, columns=["x", "y"], target="y") is None
    holes = write(tmp_path, "x,y\n1,2\n,4\n", name="holes.csv")
    assert "--drop-missing" in find_csv_problem(holes, columns=["x", "y"], target="y")
    assert find_csv_problem(holes, columns=["x", "y"], target="y", drop_missing=True) is None
    predicting = find_csv_problem(holes, columns=["x"], target=None)
    assert "line 3, column 'x'" in predicting and "--drop-missing" not in predicting
