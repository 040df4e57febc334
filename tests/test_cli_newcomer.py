"""The command line's first hour: advice in its own syntax, one name per option, help that reads well,
tables that fit the screen, and files as people have them (semicolons, tabs, standard input, Excel).

Run in-process (``gradfit.cli.run``, the ``gradfit_cli`` fixture) except where the terminal width
matters to the output itself (the tables: rich fixes its width when the console is made), where the
installed command runs in a subprocess with ``COLUMNS`` set.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.exceptions import ConvergenceWarning

import gradfit
import gradfit.cli as cli
from gradfit import LinearRegression
from gradfit.cli import messages, options
from gradfit.cli.group import OPTION_VALUES
from gradfit.errors import DataError
from gradfit.sources.files import FileSource, feature_batches
from gradfit.sources.files.csv_text import read_csv_table, sniff_delimiter

from cli_checks import Outcome, expect, expect_error, run_installed

COMMANDS = ["demo", "fit", "predict", "sweep", "report"]

#: Python's syntax for an argument: ``name=`` followed by a value (not ``==``).
PYTHON_ASSIGNMENT = re.compile(r"(?<![\w.\-])([A-Za-z_]\w*)=(?!=)")


def run_plainly(*args, cwd: Path, columns: int) -> Outcome:
    """The installed command in a new user's bare shell, which must succeed without a traceback."""
    return expect(run_installed(*args, cwd=cwd, columns=columns))


def with_stdin(monkeypatch, data: bytes, *, terminal: bool = False) -> None:
    """Standard input as a pipe holding ``data`` (or, with ``terminal``, a terminal with nothing piped)."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    if terminal:
        stream.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", stream)


@pytest.fixture(scope="module")
def longley_frame():
    import statsmodels.api as sm

    return sm.datasets.longley.load_pandas().data


@pytest.fixture(scope="module")
def macrodata_frame():
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data


# --- 1. advice in the command line's syntax -------------------------------------------------------


def library_message_texts() -> list[tuple[str, str]]:
    """Every string the library (not the CLI) writes, docstrings aside, as ``(file, text)``; in an
    f-string each replacement field becomes a sample value (``'value'`` for ``!r``, else ``1``)."""
    texts = []
    root = Path(gradfit.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    skipped.add(id(first.value))  # a docstring
            if isinstance(node, ast.JoinedStr):
                skipped.update(id(value) for value in node.values)  # pieces of an f-string: taken whole below
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
                texts.append((path.name, node.value))
            elif isinstance(node, ast.JoinedStr):
                parts = [value.value if isinstance(value, ast.Constant)
                         else ("'value'" if value.conversion == ord("r") else "1") for value in node.values]
                texts.append((path.name, "".join(parts)))
    return texts


def test_every_estimator_parameter_is_an_option_or_declared_python_only():
    options = set(messages._spellings())
    parameters = set(LinearRegression().get_params())
    assert parameters - options == messages.PYTHON_ONLY_PARAMETERS
    assert not parameters & options & messages.PYTHON_ONLY_PARAMETERS


def test_no_library_message_keeps_python_advice_on_the_command_line():
    """Every ``name=value`` the library writes, for a name an option sets, comes out as that option:
    a new message in the same style needs no change to the CLI."""
    mapped = set(messages._spellings())
    found = []
    for file, text in library_message_texts():
        names = {name for name in PYTHON_ASSIGNMENT.findall(text) if name in mapped}
        if names:
            translated = messages.in_command_line_syntax(text)
            left = {name for name in PYTHON_ASSIGNMENT.findall(translated) if name in mapped}
            assert not left, f"{file}: {text!r} -> {translated!r}"
            found.append(text)
    # Not vacuous: the convergence advice, the divergence advice, the L1 refusal among them.
    assert len(found) >= 15
    assert any("or use solver='exact'" in text for text in found)
    assert any("Use learning_rate='auto'" in text for text in found)


def test_convergence_warning_from_the_library_in_both_syntaxes():
    """The warning's text as the library writes it now (not a copy): Python keeps Python's syntax,
    the command line gets its own."""
    X = np.arange(20.0).reshape(10, 2) ** [1, 2]
    y = X @ [1.0, 2.0] + 3.0
    with pytest.warns(ConvergenceWarning) as caught:
        LinearRegression(solver="gd", max_iter=2).fit(X, y)
    message = str(caught[0].message)
    assert "max_iter" in message  # Python users keep Python's syntax
    translated = messages.in_command_line_syntax(message)
    assert "--max-iter" in translated
    assert not PYTHON_ASSIGNMENT.search(translated), translated
    assert "max_iter" not in translated and "solver='" not in translated


@pytest.mark.parametrize(
    ("python", "command_line"),
    [
        ("Increase max_iter, or use solver='exact'.", "Increase --max-iter, or use --solver exact."),
        ("with standardize=False; drop standardize=False", "with --no-standardize; drop --no-standardize"),
        ("use standardize=True", "use without --no-standardize"),
        ("pass drop_missing=True to drop rows", "pass --drop-missing to drop rows"),
        ("tol=1e-06 and max_iter=50_000", "--tol 1e-06 and --max-iter 50_000"),
        ("set alpha=0 or l1_ratio=0.5", "set --alpha 0 or --l1-ratio 0.5"),
        ("summary() needs it", "--summary needs it"),
        ("say so with delimiter=';'", "say so with --delimiter ';'"),
        ("say so with delimiter=' '", "say so with --delimiter ' '"),
        ("pass --drop-missing (drop_missing=True) to leave them out", "pass --drop-missing to leave them out"),
        ("pass format='csv' or format='parquet' (--format)", "pass --format csv or --format parquet"),
        ("the columns (features=[...], --features)", "the columns (--features NAMES)"),
        ("cannot (alpha=1.0, l1_ratio=1.0)", "cannot (--alpha 1.0, --l1-ratio 1.0)"),
        ("but fit_intercept=False", "but fit_intercept=False"),  # no option sets it: Python's syntax stays
        ("ln(1/tol) and x == y, y==z", "ln(1/tol) and x == y, y==z"),
    ],
)
def test_translation(python, command_line):
    assert messages.in_command_line_syntax(python) == command_line


def test_warning_and_message_row_in_cli_syntax(gradfit_cli, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * [1.0, 100.0]
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, X @ [1.0, 2.0]]), delimiter=",", header="a,b,y", comments="")
    outcome = expect(gradfit_cli("fit", path, "--target", "y", "--solver", "gd", "--max-iter", "2"), 3)
    assert outcome.stderr.startswith("warning: ") and "raise --max-iter" in outcome.stderr
    assert "--solver auto" in outcome.stderr
    assert not PYTHON_ASSIGNMENT.search(outcome.stderr), outcome.stderr
    outcome = expect(gradfit_cli("fit", path, "--target", "y", "--solver", "gd", "--max-iter", "5", "--tol", "0"), 3)
    assert "made all --max-iter 5 updates (--tol 0: no early stop)" in outcome.stdout


def test_errors_in_cli_syntax(gradfit_cli, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("x,y\n0,1\n1,3\n2,5\n3,8\n", encoding="utf-8")
    line = expect_error(gradfit_cli("fit", path, "--target", "y", "--solver", "gd", "--learning-rate", "9"), code=1)
    assert "--learning-rate 9" in line and "Use --learning-rate auto" in line
    line = expect_error(gradfit_cli("fit", path, "--target", "y", "--solver", "cg", "--alpha", "1", "--l1-ratio", "1"))
    assert "--solver cg cannot honour an L1 penalty (--alpha 1.0, --l1-ratio 1.0)" in line
    assert "set --l1-ratio 0" in line and not PYTHON_ASSIGNMENT.search(line)


def test_option_of_another_command_is_named_with_it(monkeypatch):
    """``report`` has no --solver: its advice says which command has it."""
    monkeypatch.setattr(messages._invocation, "command", "report")
    assert (messages.in_command_line_syntax("Increase max_iter, or use solver='exact'.")
            == "Increase --max-iter, or use 'gradfit fit --solver exact'.")


# --- 2. one name per option; --version -----------------------------------------------------------


def test_version(gradfit_cli):
    outcome = expect(gradfit_cli("--version"))
    assert outcome.stdout == f"gradfit {version('gradfit')}\n"


def test_every_option_has_one_value_name_and_one_kind():
    """An option's name means one thing under every command: the same value name (OPTION_VALUES), the
    same kind (flag or value); and no command offers a second name for an option another has."""
    import typer.main

    group = typer.main.get_command(cli.app)
    kinds: dict[str, bool] = {}
    for name, command in group.commands.items():
        for param in command.params:
            if param.param_type_name != "option" or param.hidden:
                continue
            for option in param.opts:
                flag = bool(param.is_flag)
                assert kinds.setdefault(option, flag) == flag, (name, option)
                assert flag or option in OPTION_VALUES, f"{name} {option}: name its value in OPTION_VALUES"
    assert "--iterations" not in kinds and "--max-iter" in dict(messages._spellings_by_command()["demo"])


def test_demo_max_iter_and_the_old_name(gradfit_cli, tmp_path):
    new = json.loads(expect(gradfit_cli("demo", "--seed", "0", "--max-iter", "7", "--json", "--out", tmp_path)).stdout)
    outcome = expect(gradfit_cli("demo", "--seed", "0", "--iterations", "7", "--json", "--out", tmp_path, "--force"))
    assert json.loads(outcome.stdout)["n_iter"] == new["n_iter"] == 7
    assert outcome.stderr == "note: --iterations is now --max-iter, as in the other commands\n"
    assert "--iterations" not in expect(gradfit_cli("demo", "--help")).stdout


# --- 3. help that reads well -----------------------------------------------------------------------


def description_lines(text: str) -> list[list[str]]:
    """The paragraphs of a help page's description: after the usage line, before the first panel."""
    body = text.split("Usage:", 1)[1].split("\n", 1)[1].split("╭", 1)[0]
    paragraphs, current = [], []
    for line in body.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append(current)
            current = []
    return paragraphs + ([current] if current else [])


@pytest.mark.parametrize("columns", [80, 120, None], ids=["80", "120", "piped"])
@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]], ids=["gradfit", *COMMANDS])
def test_help_reads_well(gradfit_cli, monkeypatch, command, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    width = columns or 80  # rich's width where nothing says otherwise (stdout is not a terminal here)
    text = expect(gradfit_cli(*command, "--help")).stdout
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "[[" not in usage, usage
    assert "<bool>" not in text
    assert all(len(line) <= width for line in text.splitlines()), text
    # A flag reads as a flag: its help follows its name, with no type between.
    assert re.search(r"--help +-h +Show this message", text), text
    for paragraph in description_lines(text):
        for line, following in zip(paragraph, paragraph[1:]):
            # Wrapped by rich, a line ends only where the next word would not fit (one blank of padding a side).
            assert len(line) + 1 + len(following.split()[0]) > width - 1, f"break mid-sentence:\n{line}\n{following}"


def test_usage_names_arguments_plainly(gradfit_cli):
    assert "Usage: gradfit fit [OPTIONS] DATA" in expect(gradfit_cli("fit", "--help")).stdout
    assert "Usage: gradfit predict [OPTIONS] MODEL DATA" in expect(gradfit_cli("predict", "--help")).stdout
    assert "Usage: gradfit sweep [OPTIONS] [CSV]" in expect(gradfit_cli("sweep", "--help")).stdout


def test_solver_choices_are_listed(gradfit_cli):
    words = " ".join(expect(gradfit_cli("fit", "--help")).stdout.replace("│", " ").split())
    assert "--solver NAME" in words
    assert "One of: " + ", ".join(sorted(member.value for member in options.SolverName)) + "." in words


# --- 4. tables that fit the screen -----------------------------------------------------------------


@pytest.mark.parametrize("data", ["longley", "macrodata", "long names"])
@pytest.mark.parametrize("columns", [80, 120])
def test_fit_and_summary_tables_fit_the_screen(tmp_path, longley_frame, macrodata_frame, data, columns):
    if data == "longley":
        frame, target = longley_frame, "TOTEMP"
    else:
        frame, target = macrodata_frame.copy(), "realgdp"
        if data == "long names":
            frame.columns = [name if name == target else f"{name}_seasonally_adjusted_annual_rate_in_billions_of_"
                             f"chained_2009_dollars" for name in frame.columns]
    frame.to_csv(tmp_path / "data.csv", index=False)
    done = run_plainly("fit", "data.csv", "--target", target, "--solver", "exact", "--summary", cwd=tmp_path,
                         columns=columns)
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, done.stdout
    # Numbers keep their significant digits, and names their characters (wrapped onto indented lines, not cut).
    summary = LinearRegression(solver="exact").fit(frame.drop(columns=target), frame[target]).summary()
    start = next(i for i, line in enumerate(lines) if line and set(line) == {"-"}) + 1
    end = next(i for i in range(start, len(lines)) if set(lines[i]) == {"="})
    names: list[str] = []
    for line in lines[start:end]:
        if line.startswith("  "):
            names[-1] += line.strip()
        else:
            names.append(line.split()[0])
            assert line.split()[1:] == [f"{getattr(summary, field)[len(names) - 1]:.4g}"
                                        for field in summary.TERM_FIELDS], line
    assert names == ["intercept", *frame.columns.drop(target)]


def test_summary_text_fits_the_width_given():
    from gradfit.inference import summarize
    from gradfit.sources.memory import MemorySource
    from gradfit.summary import _format_summary

    rng = np.random.default_rng(3)
    names = ["x", "a_rather_long_feature_name_that_will_not_fit_in_the_name_column_of_a_narrow_table"]
    X = rng.normal(size=(40, 2)) * [1.0, 1e4]
    y = X @ [2.0, 3e-4] + rng.normal(size=40)
    model = LinearRegression(solver="exact").fit(X, y)
    summary = summarize(MemorySource(X, y).stats(), model.coef_, model.intercept_, fit_intercept=True,
                        feature_names=names)
    width = 76  # the numbers take 61 columns here; the narrowest name column (12) would not fit 70
    text = _format_summary(summary, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    continued = [line.strip() for line in text.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    first = next(line for line in text.splitlines() if line.startswith("a_rather"))
    assert first.split()[0] + "".join(continued) == names[1]
    assert len({len(line) for line in text.splitlines() if line.startswith("=")}) == 1
    assert _format_summary(summary).count("\n") == text.count("\n") - len(continued)  # no width: one line a name


# --- 5. files as people have them ----------------------------------------------------------------


@pytest.mark.parametrize(("separator", "suffix"), [(";", ".csv"), ("\t", ".tsv"), ("|", ".txt"), (",", ".csv")])
def test_delimiter_is_sniffed_and_fits_as_the_comma_file(gradfit_cli, tmp_path, longley_frame, separator, suffix):
    comma = tmp_path / "comma.csv"
    longley_frame.to_csv(comma, index=False)
    other = tmp_path / f"other{suffix}"
    longley_frame.to_csv(other, index=False, sep=separator)
    assert sniff_delimiter(other) == separator
    fits = [json.loads(expect(gradfit_cli("fit", path, "--target", "TOTEMP", "--solver", "exact", "--json")).stdout)
            for path in (comma, other)]
    assert fits[0]["coef"] == fits[1]["coef"] and fits[0]["intercept"] == fits[1]["intercept"]
    table = read_csv_table(other, target="TOTEMP")
    np.testing.assert_array_equal(table.X, longley_frame.drop(columns="TOTEMP").to_numpy())


def test_sniffing_prefers_the_delimiter_the_rows_agree_with(tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("x;y\n1,5;2\n2,5;3\n", encoding="utf-8")  # decimal commas: two fields by ';' on every line
    assert sniff_delimiter(path) == ";"
    path.write_text("y\n1\n2\n", encoding="utf-8")
    assert sniff_delimiter(path) == ","


def test_decimal_comma_is_named(gradfit_cli, tmp_path):
    path = tmp_path / "european.csv"
    path.write_text("x;y\n1,5;2\n2,5;3\n", encoding="utf-8")
    expect_error(gradfit_cli("fit", path, "--target", "y"), "european.csv, line 2, column 'x': '1,5' is not a number",
                 "decimal point")


def test_unsplittable_header_suggests_the_delimiter(gradfit_cli, tmp_path):
    path = tmp_path / "colon.txt"
    path.write_text("a:b:y\n1:2:3\n2:1:5\n4:4:1\n", encoding="utf-8")
    expect_error(gradfit_cli("fit", path, "--target", "y"), "the header line was read as one column",
                 "say so with --delimiter :")
    with pytest.raises(DataError, match="say so with delimiter=':'"):
        FileSource(path, target="y", format="csv")
    outcome = expect(gradfit_cli("fit", path, "--target", "y", "--delimiter", ":", "--solver", "exact", "--json"))
    assert set(json.loads(outcome.stdout)["coef"]) == {"a", "b"}
    expect_error(gradfit_cli("fit", path, "--target", "y", "--delimiter", "::"), "'::' is not one character")


def test_delimiter_option_reaches_every_reader(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("a^b^y\n1^2^3\n2^1^5\n4^4^1\n", encoding="utf-8")
    blocks = list(feature_batches(path, features=["b", "a"], delimiter="^", format="csv"))
    np.testing.assert_array_equal(np.vstack(blocks), [[2, 1], [1, 2], [4, 4]])
    assert FileSource(path, target="y", delimiter="^", format="csv").feature_names == ["a", "b"]
    assert read_csv_table(path, target="y", delimiter="^").feature_names == ["a", "b"]
    with pytest.raises(ValueError, match="one character"):
        FileSource(path, target="y", delimiter='"')


def test_delimiter_refused_for_parquet(gradfit_cli, tmp_path):
    pq.write_table(pa.table({"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0]}), tmp_path / "d.parquet")
    expect_error(gradfit_cli("fit", tmp_path / "d.parquet", "--target", "y", "--delimiter", ";"),
                 "the data are Parquet, not CSV; leave --delimiter out")


def test_standard_input(gradfit_cli, monkeypatch, tmp_path, longley_frame):
    data = longley_frame.to_csv(index=False, sep="\t").encode()
    with_stdin(monkeypatch, data)
    piped = json.loads(expect(gradfit_cli("fit", "-", "--target", "TOTEMP", "--solver", "exact", "--json",
                                          "--save", "model.json")).stdout)
    longley_frame.to_csv(tmp_path / "longley.csv", index=False)
    named = json.loads(expect(gradfit_cli("fit", tmp_path / "longley.csv", "--target", "TOTEMP", "--solver", "exact",
                                          "--json")).stdout)
    assert piped["coef"] == named["coef"]
    with_stdin(monkeypatch, longley_frame.drop(columns="TOTEMP").to_csv(index=False).encode())
    predictions = expect(gradfit_cli("predict", "model.json", "-")).stdout.splitlines()
    assert predictions[0] == "prediction" and len(predictions) == 1 + len(longley_frame)
    # Parquet comes through too (it is told by its bytes), and nothing is left behind in the temporary folder.
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(longley_frame, preserve_index=False), buffer)
    with_stdin(monkeypatch, buffer.getvalue())
    assert json.loads(expect(gradfit_cli("fit", "-", "--target", "TOTEMP", "--solver", "exact", "--json")).stdout)[
        "coef"] == pytest.approx(named["coef"], rel=1e-9)  # Parquet's sums are gathered in another order
    assert messages._invocation.stdin_copy is None


def test_standard_input_errors_name_stdin_and_the_line(gradfit_cli, monkeypatch):
    with_stdin(monkeypatch, b"a;y\n1;2\n2;x\n")
    expect_error(gradfit_cli("fit", "-", "--target", "y"), "error: <stdin>, line 3, column 'y': 'x' is not a number")
    with_stdin(monkeypatch, b"")
    expect_error(gradfit_cli("fit", "-", "--target", "y"), "<stdin>: the file is empty")
    with_stdin(monkeypatch, b"", terminal=True)
    expect_error(gradfit_cli("fit", "-", "--target", "y"), "standard input, but nothing is piped into it")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('x,y\n1,2\n3,"4\n5,6\n', "line 3: a quoted value that starts on this line is never closed"),
        ('x,y\n1,2\n3,"4\n4"\n5,6\n', "line 3, column 'y': '4\\n4' is not a number"),  # the line the row starts on
        ("x,y\n\n1,2\n\n3,4,5\n", "line 5: expected 2 fields (as in the header) but got 3"),
        ("x;y\n1;2\n3;4;5\n", "line 3: expected 2 fields (as in the header) but got 3; fix that row (a missing or "
                               "extra semicolon"),
        ('x,y\n1,"2"3\n', "line 2: a quoted value is followed by more text before the next comma"),
    ],
)
def test_parse_errors_name_the_line_as_editors_count(gradfit_cli, tmp_path, content, fragment):
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8")
    for command in ("fit", "sweep"):
        expect_error(gradfit_cli(command, path, "--target", "y", *(["--out", tmp_path] if command == "sweep" else [])),
                     f"data.csv, {fragment}")


def write_workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path


@pytest.mark.parametrize(
    ("name", "make", "fragment"),
    [
        ("book.xlsx", write_workbook, "is an Excel workbook"),
        ("book.csv", write_workbook, "is an Excel workbook"),  # told by its bytes, whatever its name
        ("old.csv", lambda path: path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)),
         "is an Excel 97-2003 workbook"),
        ("empty.xlsx", lambda path: path.write_bytes(b""), "is an Excel workbook"),
        ("text.csv", lambda path: path.write_bytes("x,y\n".encode("utf-16")), "is UTF-16 text"),
    ],
)
def test_spreadsheets_are_called_what_they_are(gradfit_cli, tmp_path, name, make, fragment):
    make(tmp_path / name)
    line = expect_error(gradfit_cli("fit", tmp_path / name, "--target", "y"), fragment)
    assert ("save it as CSV" in line and "pandas.read_excel" in line) or "CSV UTF-8" in line
    with pytest.raises(DataError, match=fragment):
        read_csv_table(tmp_path / name, target="y")


def test_folder_of_workbooks(gradfit_cli, tmp_path):
    (tmp_path / "data").mkdir()
    write_workbook(tmp_path / "data" / "a.xlsx")
    expect_error(gradfit_cli("fit", tmp_path / "data", "--target", "y"), "no .parquet or .csv files",
                 "it holds spreadsheets: save them as CSV first")
