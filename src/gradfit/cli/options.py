"""The commands' options and arguments: the aliases more than one command shares, the choices, the
defaults ``--help`` shows, and the parsers and checks of option values, run before any work.

The defaults of the estimator and the library are written here rather than imported, so that
``gradfit --help`` does not import the estimator and scikit-learn (about 0.8 s):
``tests/test_cli_startup.py`` checks that they are the library's.
"""

from __future__ import annotations

import enum
import errno
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from gradfit.cli.messages import _note
from gradfit.errors import DataError
from gradfit.fileio import check_parent_folder

#: ``LinearRegression().get_params()`` for the parameters ``fit`` has options for: shown in ``--help``
#: and used when an option is left out.
_DEFAULTS = {"solver": "auto", "learning_rate": "auto", "max_iter": 10_000, "tol": 1e-8, "alpha": 0.0,
             "l1_ratio": 0.0}
#: The registry's solvers (``gradfit.solvers.SOLVERS``) and the direct ones (``estimator.DIRECT_SOLVERS``).
SOLVER_NAMES = ("adam", "cg", "exact", "gd", "lbfgs", "minibatch", "momentum", "nesterov", "sgd")
#: ``gradfit.learning.DEFAULT_TOL``: the sweep's tolerance.
DEFAULT_SWEEP_TOL = 1e-6
#: ``gradfit.report.REPORT_FRAMES``: frames of the report's animation.
DEFAULT_REPORT_FRAMES = 30

#: Most frames ``gradfit report --frames`` accepts (each costs a full redraw, and bytes in the page).
MAX_REPORT_FRAMES = 200

SolverName = enum.Enum("SolverName", {name: name for name in sorted({*SOLVER_NAMES, "auto"})}, type=str)


class FileFormat(str, enum.Enum):  # noqa: UP042 - StrEnum would change what str() of a member prints
    """How ``fit`` and ``predict`` read their DATA argument."""

    auto = "auto"
    csv = "csv"
    parquet = "parquet"
    svmlight = "svmlight"


# --- options that more than one command has -------------------------------------------------------

DataArgument = Annotated[
    Path,
    typer.Argument(
        metavar="DATA",
        help="A CSV file (header line naming the columns) or a Parquet file, or a directory of either, read in "
        "batches, never all in memory; or an svmlight/libsvm file (.svm, .svmlight, .libsvm, also .gz or .bz2: "
        "'label index:value ...' per line, the label is the target), read into memory as a sparse matrix. '-' reads "
        "standard input (copied to a temporary file first).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    FileFormat,
    typer.Option(
        "--format",
        help="How to read DATA: 'auto' goes by the suffix (.csv, .parquet, .svm/.svmlight/.libsvm; a single file "
        "that is none of these and not Parquet is read as CSV); give 'csv' or 'parquet' for a directory holding "
        "both, 'svmlight' for an svmlight/libsvm file with another name.",
    ),
]


DelimiterOption = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="CSV: the character between columns, e.g. ';', '|' or 'tab'. Default: a comma, or a semicolon, tab or "
        "'|' where the file's first lines are split more consistently by it.",
        show_default=False,
    ),
]


ForceOutOption = Annotated[
    bool, typer.Option("--force", help="Let the command replace the files it writes if --out has them already.")
]


CsvArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="CSV",
        help="CSV file with a header line naming the columns ('-': standard input). Default: the article's 100 "
        "points (see --seed).",
        show_default=False,
    ),
]
TargetOption = Annotated[
    str | None, typer.Option(help="Name of the column to predict (needed with a CSV).", show_default=False)
]
FeaturesOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated feature columns of the CSV, e.g. 'a,b'. Default: every column but the target."),
]
DropMissingOption = Annotated[
    bool, typer.Option("--drop-missing", help="Leave out CSV rows with a missing value in a used column.")
]
SeedOption = Annotated[
    int | None,
    typer.Option(min=0, help="Seed of the article's 100 random points (without a CSV). Default: fresh data each run."),
]
LearningRatesOption = Annotated[
    str | None,
    typer.Option(
        "--learning-rates",
        help="Comma-separated learning rates for the sweep, e.g. '0.01,0.5,1.6'. Default: 0.1, 0.5, 1, 1.9 and 2.1 "
        "times 1/L (one past the stable bound 2/L), plus the article's 0.01 on the article's data. In the article's "
        "raw scale for its data, in standardized coordinates for a CSV.",
        show_default=False,
    ),
]


# --- parsers and checks of option values, before any work ------------------------------------------


def _parse_learning_rate(text: str) -> float | str:
    """``'auto'``, a line search (``'armijo'``, ``'line_search'``) or a positive finite number; a usage error otherwise."""
    from gradfit.solvers.gd import LINE_SEARCHES

    if text.strip().lower() in ("auto", *LINE_SEARCHES):
        return text.strip().lower()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(
            f"{text!r} is not a positive number, 'auto', 'armijo' or 'line_search'", param_hint="'--learning-rate'"
        )
    return value


def _parse_delimiter(text: str | None) -> str | None:
    """One character, or a name for one (``tab``, ``space``); a usage error otherwise."""
    from gradfit.sources.files.csv_text import check_delimiter

    if text is None:
        return None
    character = {"tab": "\t", "\\t": "\t", "space": " "}.get(text.lower(), text)
    try:
        return check_delimiter(character)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not one character; give the character between the columns, e.g. ';', "
                                 "'|' or 'tab'", param_hint="'--delimiter'") from None


def _refuse_delimiter(kind: str, delimiter: str | None) -> None:
    if delimiter is not None and kind in ("parquet", "svmlight"):
        raise typer.BadParameter(f"the data are {'Parquet' if kind == 'parquet' else 'svmlight'}, not CSV; leave "
                                 "--delimiter out", param_hint="'--delimiter'")


def _data_format(path: Path, data_format: FileFormat) -> str:
    """The format to read ``path`` in: svmlight by its suffix; a single file that is neither .parquet nor
    Parquet inside is CSV."""
    from gradfit.sources.files import file_format
    from gradfit.sources.svmlight import is_svmlight_name

    if data_format is FileFormat.auto and is_svmlight_name(path):
        return FileFormat.svmlight.value
    if data_format is not FileFormat.auto or not path.is_file():
        return data_format.value
    return file_format(path) or "csv"


def _refuse_table_options(*, target: str | None, features: str | None, drop_missing: bool) -> None:
    given = [flag for flag, value in (("--target", target), ("--features", features), ("--drop-missing", drop_missing))
             if value]
    if given:
        one = len(given) == 1
        raise typer.BadParameter(
            f"{', '.join(given)} {'applies' if one else 'apply'} to CSV and Parquet files; an svmlight file's target "
            f"is the label that begins each line, its features are numbered and it has no missing cells: leave "
            f"{'it' if one else 'them'} out", param_hint=f"'{given[0]}'")


def _parse_features(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise typer.BadParameter(f"{text!r} has an empty name; give names separated by commas", param_hint="'--features'")
    return names


def n_features_option(width: int) -> str:
    """A width as ``fit``'s option gives it, ``--n-features 40``: the advice of the svmlight reader's messages."""
    return f"--n-features {width}"


#: Why a file given by name is not replaced: the refusal of _check_writable, and of the writer when a
#: file appeared there while the command ran.
REFUSE_TO_REPLACE = "already exists; pass --force to replace it, or choose another name"


def _check_writable(path: Path, *, force: bool, flag: str, inputs: Sequence[Path] = ()) -> None:
    """Refuse to replace an existing file unless ``--force``; never replace a folder, nor any of the
    command's ``inputs`` (a data or model file), nor write into an input folder (a later read of it
    would take the new file for data), ``--force`` or not."""
    # The file is written next to path and moved onto it: a link at path is replaced, not followed.
    landing = path.parent.resolve() / path.name
    for source in inputs:
        if source.is_dir() and landing.is_relative_to(source.resolve()):
            raise OSError(errno.EEXIST, f"is inside the data folder {source}; write {flag} somewhere else", str(path))
        if path.exists() and source.exists() and os.path.samefile(path, source):
            raise OSError(errno.EEXIST, f"is the command's own input; write {flag} to another file", str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"is a folder; give {flag} a file name", str(path))
    if path.exists() and not force:
        raise FileExistsError(errno.EEXIST, REFUSE_TO_REPLACE, str(path))
    check_parent_folder(path)


def _check_out_files(out: Path, names: Sequence[str], *, force: bool) -> None:
    """Refuse, before any work, to write into ``--out`` over files already there (unless ``--force``)
    or over folders of those names (typer refuses an ``--out`` that is a file)."""
    for name in names:
        path = out / name
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, f"is a folder, where the command writes its {name}; choose another --out", str(path))
        if path.exists() and not force:
            raise FileExistsError(errno.EEXIST, "already exists; pass --force to replace it, or choose another --out", str(path))


def _parse_learning_rates(text: str | None) -> list[float] | None:
    """Comma-separated positive finite numbers, or None; a usage error otherwise."""
    if text is None:
        return None
    rates = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise typer.BadParameter(
                f"{part.strip()!r} is not a positive number; give learning rates separated by commas, e.g. '0.01,0.5'",
                param_hint="'--learning-rates'",
            )
        rates.append(value)
    return rates


def _parse_surface(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise typer.BadParameter(
            f"{text!r}: give two different parameters separated by a comma, e.g. 'intercept,area'",
            param_hint="'--surface'",
        )
    return names[0], names[1]


def _refuse_csv_options(*, target: str | None, features: str | None, drop_missing: bool,
                        delimiter: str | None = None) -> None:
    given = [flag for flag, value in (("--target", target), ("--features", features), ("--drop-missing", drop_missing),
                                      ("--delimiter", delimiter)) if value]
    if given:
        raise typer.BadParameter(f"{', '.join(given)} applies to a CSV file; give one, or leave it out to use the "
                                 "article's data", param_hint=f"'{given[0]}'")


def _read_csv_for_toolkit(path: Path, *, target: str | None, features: str | None, drop_missing: bool,
                          seed: int | None, delimiter: str | None = None):
    from gradfit.sources.files import file_format
    from gradfit.sources.files.csv_text import read_csv_table

    if path.is_dir() or (path.is_file() and file_format(path) == "parquet"):
        raise DataError(
            f"{path}: sweep and report read one CSV file (the data are drawn, so they are held in memory); "
            "give them a CSV file, or fit Parquet files and folders with 'gradfit fit'"
        )
    if target is None:
        raise typer.BadParameter("a CSV needs --target, the column to predict", param_hint="'--target'")
    if seed is not None:
        raise typer.BadParameter("--seed draws the article's data; leave it out with a CSV", param_hint="'--seed'")
    table = read_csv_table(path, target=target, features=_parse_features(features), drop_missing=drop_missing,
                           delimiter=delimiter)
    if table.n_dropped:
        _note(f"dropped {table.n_dropped} of {table.n_rows_read} rows with a missing value (--drop-missing)")
    return table
