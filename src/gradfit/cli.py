"""The ``gradfit`` command: ``demo``, ``fit``, ``predict``, ``sweep`` and ``report``. The only module importing
typer and rich.

The commands are thin: they parse options, call the library, and print. The library raises typed
errors; :func:`main` turns each into one line on stderr, ``error: <message>``, and an exit code.
Warnings the library raises (a ``ConvergenceWarning``, for example) become one line each,
``warning: <message>``, on stderr. The library's advice is in Python's syntax (``max_iter``,
``solver='exact'``); every line printed goes through :func:`in_command_line_syntax`, which gives it
in the options of the command being run (``--max-iter``, ``--solver exact``).

DATA ``-`` is standard input, copied to a temporary file that the command reads as a file (see
:func:`_data_path`).

Exit codes
----------
0
    Success.
1
    Gradient descent diverged (:class:`gradfit.DivergenceError`; the message names the stable
    bound 2/L), or an unexpected internal error (set ``GRADFIT_DEBUG=1`` to see its traceback).
2
    The command cannot be run as given: a usage error (unknown option, bad value), bad data
    (:class:`gradfit.DataError`), a bad model file (:class:`gradfit.ModelFileError`), a parameter
    the estimator rejects (``ValueError``), or a file that cannot be read or written, including
    refusing to overwrite an existing file without ``--force`` (``OSError``).
3
    ``fit`` stopped short of the least-squares answer: an iterative solver reached ``--max-iter`` or
    its rounding floor before ``--tol``, or ran with ``--tol 0``, or the direct solve could not
    resolve the data to the float64 limit. The coefficients are printed (and saved with ``--save``)
    with ``converged: no``, but they are not the answer; ``--summary`` then prints no inference table.
130
    Interrupted (Ctrl-C).
"""

from __future__ import annotations

import enum
import errno
import functools
import inspect
import io
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Callable, Iterable, Iterator, Sequence, TextIO

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import gradfit
from gradfit.errors import DataError, DivergenceError, GradfitError
from gradfit.estimator import LinearRegression
from gradfit.learning import DEFAULT_TOL as DEFAULT_SWEEP_TOL
from gradfit.report import REPORT_FRAMES as DEFAULT_REPORT_FRAMES
from gradfit.solvers import SOLVERS, STOCHASTIC_SOLVERS
from gradfit.solvers.direct import DIRECT_SOLVERS
from gradfit.solvers.gd import LINE_SEARCHES
from gradfit.sources.files.csv_text import read_csv_table

__all__ = ["app", "main", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_NOT_CONVERGED", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_CONVERGED = 3
EXIT_INTERRUPTED = 130

#: Set (to anything but empty or 0) to get the traceback of an unexpected error instead of one line.
DEBUG_VARIABLE = "GRADFIT_DEBUG"

#: The estimator's defaults, shown in ``--help`` and used when an option is left out.
_DEFAULTS = LinearRegression().get_params()

#: Most frames ``gradfit report --frames`` accepts (each costs a full redraw, and bytes in the page).
MAX_REPORT_FRAMES = 200

SolverName = enum.Enum(
    "SolverName", {name: name for name in sorted(set(SOLVERS) | set(DIRECT_SOLVERS) | {"auto"})}, type=str
)


class FileFormat(str, enum.Enum):
    """How ``fit`` and ``predict`` read their DATA argument."""

    auto = "auto"
    csv = "csv"
    parquet = "parquet"
    svmlight = "svmlight"


#: Suffixes that mark an svmlight/libsvm file (``label index:value ...``), optionally followed by a
#: compression suffix that scikit-learn's reader undoes on the fly.
SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm")
SVMLIGHT_COMPRESSION = (".gz", ".bz2")

#: Coefficients the table of an svmlight fit shows (the largest in magnitude; --json and --save have all).
MAX_TABLE_COEFFICIENTS = 20
#: Named coefficients (CSV, Parquet) are all shown up to this many; past it, the largest as above.
MAX_NAMED_COEFFICIENTS = 50


#: Seconds between two updates of the loss shown beside the progress bar, at least ...
LOSS_INTERVAL = 0.5
#: ... and at least this many times what computing it took (an O(d³) solve), so that it costs under 5%.
LOSS_COST_RATIO = 20.0

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

# --- help that reads well ------------------------------------------------------------------------

#: What each option's value is called in ``--help``: one name per option, whichever command has it,
#: since an option means the same under every command (a test checks that each option is here).
#: Flags take no value and show none.
OPTION_VALUES = {
    "--target": "COLUMN",
    "--features": "NAMES",
    "--n-features": "N",
    "--solver": "NAME",
    "--learning-rate": "RATE",
    "--learning-rates": "RATES",
    "--max-iter": "N",
    "--tol": "TOL",
    "--alpha": "A",
    "--l1-ratio": "R",
    "--format": "FORMAT",
    "--delimiter": "CHAR",
    "--save": "FILE",
    "--output": "FILE",
    "--out": "DIR",
    "--seed": "S",
    "--surface": "A,B",
    "--frames": "N",
}


def _flowing(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines, so that ``--help`` wraps them to the screen rather
    than keeping the source's line breaks mid-sentence (paragraphs starting with ``\\b`` are kept)."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        paragraph if paragraph.startswith("\b") else " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in paragraphs
    )


def _describe_value(param) -> None:  # noqa: ANN001 - a typer/click Parameter
    """Name an option's value in ``--help`` as :data:`OPTION_VALUES` has it; a flag shows no value
    (typer would show ``<bool>``). A choice named by a short word gets its choices listed in its help."""
    if getattr(param, "param_type_name", None) != "option":
        return
    if getattr(param, "is_flag", False) and not getattr(param, "count", False):
        param.metavar = ""
        return
    name = next((OPTION_VALUES[opt] for opt in param.opts if opt in OPTION_VALUES), None)
    if name is None or param.metavar == name:
        return
    param.metavar = name
    descriptor = getattr(param, "type_descriptor", None) or getattr(param, "type", None)
    choices = [getattr(choice, "value", choice) for choice in getattr(descriptor, "choices", None) or ()]
    help_text = param.help or ""
    if choices and not all(f"'{choice}'" in help_text for choice in choices):
        param.help = f"{help_text} One of: {', '.join(map(str, choices))}.".strip()


class _ReadableHelp:
    """What ``--help`` shows, for the group and every command: flowing paragraphs, values named as in
    :data:`OPTION_VALUES`, flags without a type, and arguments in the usage line as ``DATA`` (required)
    or ``[CSV]`` (optional)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - as typer's
        kwargs["help"] = _flowing(kwargs.get("help"))
        super().__init__(*args, **kwargs)

    def get_params(self, ctx):  # noqa: ANN001, ANN201
        params = super().get_params(ctx)
        for param in params:  # the help option included, which typer makes on demand
            _describe_value(param)
        return params

    def collect_usage_pieces(self, ctx) -> list[str]:  # noqa: ANN001
        pieces = super().collect_usage_pieces(ctx)
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", None) != "argument":
                continue
            # typer writes a required argument as {DATA}, and brackets a metavar again: [[CSV]].
            name = (param.metavar or param.name.upper()).strip("[]{}")
            mine = name if param.required else f"[{name}]"
            theirs = param.get_usage_pieces(ctx)
            if theirs and theirs[0] in pieces:
                pieces[pieces.index(theirs[0])] = mine
        return pieces


class _Command(_ReadableHelp, typer.core.TyperCommand):
    """A command whose ``--help`` reads well (see :class:`_ReadableHelp`)."""


class _Group(_ReadableHelp, typer.core.TyperGroup):
    """The ``gradfit`` group, with the same help as its commands."""


DelimiterOption = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="CSV: the character between columns, e.g. ';', '|' or 'tab'. Default: a comma, or a semicolon, tab or "
        "'|' where the file's first lines are split more consistently by it.",
        show_default=False,
    ),
]

app = typer.Typer(
    cls=_Group,
    name="gradfit",
    help="Linear regression by gradient descent: the article's example, and fitting your own CSV, Parquet or "
    "svmlight files.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

stdout = Console(highlight=False)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"gradfit {version('gradfit')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print gradfit's version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Options of the gradfit command itself, before the command's name."""


# --- commands ------------------------------------------------------------------------------------


ForceOutOption = Annotated[
    bool, typer.Option("--force", help="Let the command replace the files it writes if --out has them already.")
]


@app.command(cls=_Command)
def demo(
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of the article's 100 random points. Default: fresh data each run.")
    ] = None,
    learning_rate: Annotated[
        str | None,
        typer.Option(
            "--learning-rate",
            help="Step size α in the article's raw scale, a positive number or 'auto' (1/L). Default: the article's 0.01.",
            show_default=False,
        ),
    ] = None,
    max_iter: Annotated[
        int | None,
        typer.Option("--max-iter", min=1, help="Gradient-descent updates to make, all of them. Default: the "
                     "article's 1000.", show_default=False),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            file_okay=False,
            help="Folder for data.png and loss.png, and report.html with --report (created if need be; files "
            "already there are replaced only with --force).",
        ),
    ] = Path("demo-output"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the run and the figure paths) instead of the summary.")
    ] = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report",
            help="Also write report.html to --out: one self-contained page with the bowl, the path, a learning-rate "
            "sweep and an animation of the fit, each explained (see 'gradfit report').",
        ),
    ] = False,
    force: ForceOutOption = False,
    # --max-iter's old name, for scripts written before it was renamed.
    iterations: Annotated[int | None, typer.Option("--iterations", min=1, hidden=True)] = None,
) -> None:
    """Run the article's gradient descent on its y = 2x + 1 example and show how far it gets.

    Writes a figure of the data with the fitted line, and one of the cost per update.
    """
    from gradfit.article import run_article
    from gradfit.plots import plot_data_fit, plot_loss

    _check_out_files(out, ["data.png", "loss.png", *(["report.html"] if report else [])], force=force)
    options: dict = {"seed": seed}
    if learning_rate is not None:
        options["learning_rate"] = _parse_learning_rate(learning_rate)
    if iterations is not None:  # the old name, kept working for scripts that use it
        _note("--iterations is now --max-iter, as in the other commands")
        max_iter = iterations if max_iter is None else max_iter
    if max_iter is not None:
        options["iterations"] = max_iter
    with _warnings_to_stderr():
        run = run_article(**options)
        if run.model.status_ == "interrupted":
            raise KeyboardInterrupt
        data_plot = plot_data_fit(run.X, run.y, run.model, out / "data.png")
        loss_plot = plot_loss(run.model, out / "loss.png", optimum_loss=run.optimum_loss)
        report_path = _write_article_report(run, out) if report else None
    if json_output:
        extra = {"report": str(report_path)} if report_path is not None else {}
        _print_json({**run.to_json(), "data_plot": str(data_plot), "loss_plot": str(loss_plot), **extra})
        return
    _print_demo(run, data_plot, loss_plot)
    if report_path is not None:
        stdout.print(f"Report: {escape(str(report_path))}")


@app.command(cls=_Command)
def fit(
    path: DataArgument,
    target: Annotated[
        str | None,
        typer.Option(help="Name of the column to predict (CSV and Parquet; an svmlight file's target is its label).",
                     show_default=False),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(help="Comma-separated feature columns, e.g. 'a,b'. Default: every column but the target."),
    ] = None,
    n_features: Annotated[
        int | None,
        typer.Option(
            "--n-features",
            min=1,
            help="svmlight only: the number of feature columns, N (indices 0 to N-1). Default: the file's largest "
            "index + 1. Give it when files to predict may use indices beyond the training file's largest ('gradfit "
            "predict' pads narrower files to the model's width itself).",
            show_default=False,
        ),
    ] = None,
    solver: Annotated[
        SolverName,
        typer.Option(
            help="'gd': gradient descent; 'exact': the least-squares solution directly; 'auto': the fastest that "
            "reaches --tol (the output says which ran). The others are the registry's iterative solvers; "
            "'sgd', 'minibatch' and 'adam' draw random rows, so they read a CSV file into memory (small data only)."
        ),
    ] = SolverName(_DEFAULTS["solver"]),
    learning_rate: Annotated[
        str,
        typer.Option(
            "--learning-rate",
            help="Step size in the optimised (standardized) coordinates: a positive number, 'auto' for 1/L, "
            "or for --solver gd 'armijo' (backtracking) or 'line_search' (exact minimising step).",
        ),
    ] = str(_DEFAULTS["learning_rate"]),
    max_iter: Annotated[
        int, typer.Option("--max-iter", min=1, help="Most gradient updates; stopping there warns.")
    ] = _DEFAULTS["max_iter"],
    tol: Annotated[
        float,
        typer.Option(min=0.0, help="Stop when the gradient norm is at most tol times its starting value (0: never)."),
    ] = _DEFAULTS["tol"],
    no_standardize: Annotated[
        bool,
        typer.Option(
            "--no-standardize", help="Optimise on the raw columns (step sizes then depend on their units)."
        ),
    ] = False,
    alpha: Annotated[
        float,
        typer.Option(min=0.0, help="Penalty strength (scikit-learn's ElasticNet convention); 0: plain least squares."),
    ] = _DEFAULTS["alpha"],
    l1_ratio: Annotated[
        float,
        typer.Option("--l1-ratio", min=0.0, max=1.0, help="Share of L1 in the penalty: 0 ridge, 1 lasso."),
    ] = _DEFAULTS["l1_ratio"],
    summary: Annotated[
        bool,
        typer.Option(
            "--summary", help="Also print R², F and per-coefficient standard errors, t, p and 95% intervals."
        ),
    ] = False,
    drop_missing: Annotated[
        bool,
        typer.Option("--drop-missing", help="Leave out rows with a missing value in a used column (and say how many)."),
    ] = False,
    data_format: FormatOption = FileFormat.auto,
    delimiter: DelimiterOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    save: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write the fitted model to this JSON file (see 'gradfit predict')."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --save replace an existing file.")] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            help="No progress bar (it shows on a terminal only, on stderr: the rows read, and the loss of the "
            "least-squares fit to the rows read so far).",
        ),
    ] = False,
) -> int | None:
    """Fit a linear model to a CSV or Parquet file, or a directory of them, or an svmlight file, and print its
    coefficients.

    CSV and Parquet rows are streamed in record batches and never held in memory: one pass gathers the sums
    least squares needs, and the solver iterates on those. An svmlight file is read as a sparse matrix and
    fitted by streaming passes over it, one per update, never densified.
    """
    feature_list = _parse_features(features)
    rate = _parse_learning_rate(learning_rate)
    separator = _parse_delimiter(delimiter)
    path = _data_path(path)
    kind = _data_format(path, data_format)
    _refuse_delimiter(kind, delimiter)
    if kind == "svmlight":
        _refuse_table_options(target=target, features=features, drop_missing=drop_missing)
    else:
        if n_features is not None:
            raise typer.BadParameter("--n-features is the width of an svmlight file; a CSV or Parquet file's "
                                     "columns are named (--features)", param_hint="'--n-features'")
        if target is None:
            raise typer.BadParameter("a CSV or Parquet file needs --target, the column to predict",
                                     param_hint="'--target'")
    if summary and alpha > 0:
        raise typer.BadParameter("a penalised fit (--alpha > 0) has no least-squares inference table: its "
                                 "coefficients are shrunk; drop --summary, or fit with --alpha 0 for the table",
                                 param_hint="'--summary'")
    if save is not None:
        _check_writable(save, force=force, flag="--save", inputs=[path])
    model = LinearRegression(
        solver=solver.value,
        learning_rate=rate,
        max_iter=max_iter,
        tol=tol,
        standardize=not no_standardize,
        alpha=alpha,
        l1_ratio=l1_ratio,
    )
    show_progress = not (json_output or quiet) and sys.stderr.isatty()
    if kind == "svmlight":
        table = _fit_svmlight(model, path, n_features=n_features, show_progress=show_progress)
    elif solver.value in STOCHASTIC_SOLVERS and kind == "csv" and path.is_file():  # random rows: in memory
        table = read_csv_table(path, target=target, features=feature_list, drop_missing=drop_missing,
                               delimiter=separator)
        with _warnings_to_stderr():
            model.fit(table.X, table.y)
        # Fitted on a plain array, the estimator cannot know the CSV's column names; record them as
        # scikit-learn does for a DataFrame, so that the saved model can pick its columns when predicting.
        model.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    else:
        table = _fit_streamed(model, path, target=target, features=feature_list, drop_missing=drop_missing,
                              data_format=kind, show_progress=show_progress, delimiter=separator)
    if model.status_ == "interrupted":
        raise KeyboardInterrupt
    # Before saving: a summary the fit cannot give (a streaming fit has no d × d statistics) is an
    # error, and a failed command leaves no model file behind. A fit that stopped short has no table
    # (its coefficients are not the least-squares answer), which the exit code and a note say.
    inference = model.summary() if summary and model.converged_ else None
    if save is not None:
        _check_writable(save, force=force, flag="--save", inputs=[path])
        model.save(save)
    if table.n_dropped:
        _note(f"dropped {table.n_dropped} of {table.n_rows_read} rows with a missing value (--drop-missing)")
    names = table.feature_names
    result = {
        "target": table.target,
        "features": names,
        "n_features": int(model.n_features_in_),
        "intercept": float(model.intercept_),
        # svmlight columns have no names: the coefficients are a list, position = feature index
        "coef": [float(value) for value in model.coef_] if names is None
        else {name: float(value) for name, value in zip(names, model.coef_)},
        "n_samples": table.n_samples,
        "n_rows_read": table.n_rows_read,
        "n_dropped": table.n_dropped,
        "solver": model.solver_,
        "learning_rate": model.learning_rate_,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "error_bound": float(model.error_bound_),
        "status": model.status_,
        "final_loss": float(model.final_loss_),
        "message": model.message_,
        "engine": model.engine_,
        "n_passes": int(model.n_passes_),
        "saved": None if save is None else str(save),
    }
    if inference is not None:
        result["summary"] = inference.to_dict()
    if json_output:
        _print_json(result)
    else:
        _print_fit(result, source=path)
        if inference is not None:
            stdout.print(escape(str(inference)), highlight=False)
    if not model.converged_:
        if summary:
            _note("no --summary table: the fit did not converge, so its coefficients are not the least-squares "
                  "solution and standard errors or p values would describe the wrong numbers; use --solver auto")
        return EXIT_NOT_CONVERGED
    return None


@app.command(cls=_Command)
def predict(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by 'gradfit fit --save'.", show_default=False)
    ],
    path: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="A CSV or Parquet file, or a directory of either, with a column for each of the model's features "
            "(other columns are ignored), read in batches, never all in memory; or, for a model fitted on "
            "svmlight data, an svmlight file (the labels are ignored; a file lacking the last features is "
            "padded with zeros to the model's width). '-' reads standard input.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="Write the predictions to this file instead of stdout: Parquet if its name ends in .parquet, "
            "CSV otherwise. It appears only once complete.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --output replace an existing file.")] = False,
    data_format: FormatOption = FileFormat.auto,
    delimiter: DelimiterOption = None,
) -> None:
    """Predict from a saved model: one column, 'prediction', one row per row of DATA, in order."""
    from gradfit.sources.files import feature_batches

    separator = _parse_delimiter(delimiter)
    path = _data_path(path)
    if output is not None:
        _check_writable(output, force=force, flag="--output", inputs=[path, model_path])
    model = gradfit.load(model_path)
    names = getattr(model, "feature_names_in_", None)
    kind = _data_format(path, data_format)
    _refuse_delimiter(kind, delimiter)
    if kind == "svmlight":
        if names is not None:
            raise DataError(
                f"{model_path}: the model was fitted on named columns ({_name_list(names)}), which an svmlight "
                "file's numbered features cannot be matched to; predict from a CSV or Parquet file with those columns"
            )
        blocks: Iterable = [_read_svmlight(path, n_features=model.n_features_in_, model_path=model_path).X]
    elif names is None:
        raise DataError(
            f"{model_path}: the model has no feature names (it was fitted on an svmlight file or an unnamed "
            "array), so the data's columns cannot be matched to it; predict from an svmlight file, or fit the "
            "model on a CSV or Parquet file or a named table"
        )
    else:
        blocks = feature_batches(path, features=[str(name) for name in names], format=kind, delimiter=separator)
    with _warnings_to_stderr(), warnings.catch_warnings():
        # The columns were just picked by name, so each block is in the model's order already.
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        predictions = (model.predict(block) for block in blocks)
        if output is None:
            _write_csv_predictions(predictions, sys.stdout)
            sys.stdout.flush()
            return
        count = _write_predictions_file(predictions, output, force=force)
    stdout.print(f"wrote {count} predictions to {escape(str(output))}")


# --- the learners' toolkit: sweep and report -----------------------------------------------------

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


@app.command(cls=_Command)
def sweep(
    path: CsvArgument = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    drop_missing: DropMissingOption = False,
    delimiter: DelimiterOption = None,
    seed: SeedOption = None,
    learning_rates: LearningRatesOption = None,
    max_iter: Annotated[
        int | None,
        typer.Option("--max-iter", min=1, show_default=False,
                     help="Most updates per learning rate. Default: the article's 1000 on its data; on a CSV, "
                     "what 1/L needs to converge (it is run first), rounded up."),
    ] = None,
    tol: Annotated[
        float,
        typer.Option(help="A run has converged when every coefficient and the intercept are within tol of their "
                     "exact least-squares values, relatively (1e-6: a millionth), as 'gradfit fit --solver gd' "
                     "certifies them; a run that rounding keeps from getting that close says so (> 0)."),
    ] = DEFAULT_SWEEP_TOL,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False,
                           help="Folder for sweep.png (created if need be; a sweep.png there is replaced only with --force).")
    ] = Path("sweep-output"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the table and the figure path) instead of the table.")
    ] = False,
    force: ForceOutOption = False,
) -> None:
    """Run gradient descent at several learning rates and compare: too small, just right, too large.

    Prints, for each learning rate, its regime (too small, just right, overshoots, too large) and the updates
    it needed to converge, 'did not converge in N updates (needs M)', or 'diverged at update k', with the
    final cost; draws all the cost curves on one log-scale figure.
    The article's data run with the article's settings (raw design, start θ = (1, 1)); a CSV runs on
    standardized features.
    """
    from gradfit.plots import plot_sweep

    rates = _parse_learning_rates(learning_rates)
    separator = _parse_delimiter(delimiter)
    path = _data_path(path)
    _check_out_files(out, ["sweep.png"], force=force)
    with _warnings_to_stderr():
        result = _run_sweep(path, target=target, features=features, drop_missing=drop_missing, seed=seed,
                            learning_rates=rates, max_iter=max_iter, tol=tol, delimiter=separator)
        figure = plot_sweep(result, out / "sweep.png", target_name=target or "y")
    if json_output:
        _print_json({**result.to_dict(), "plot": str(figure)})
        return
    _print_sweep(result)
    stdout.print()
    stdout.print(f"Figure: {escape(str(figure))}")


@app.command(cls=_Command)
def report(
    path: CsvArgument = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    drop_missing: DropMissingOption = False,
    delimiter: DelimiterOption = None,
    seed: SeedOption = None,
    learning_rate: Annotated[
        str | None,
        typer.Option(
            "--learning-rate",
            help="Step size of the reported run: a positive number or 'auto' (1/L). Default: the article's 0.01 on "
            "its data, 'auto' on a CSV.",
            show_default=False,
        ),
    ] = None,
    max_iter: Annotated[
        int | None,
        typer.Option(
            "--max-iter",
            min=1,
            help="Updates of the reported run: all of them on the article's data (default 1000, as the article), "
            "at most this many on a CSV, stopping once every coefficient is within a millionth of its exact value "
            "(default: what 1/L needs for that, rounded up); the sweep's runs get as many.",
            show_default=False,
        ),
    ] = None,
    learning_rates: LearningRatesOption = None,
    surface: Annotated[
        str | None,
        typer.Option(
            help="Two parameters spanning the picture of the cost bowl, e.g. 'intercept,area' or 'rooms,area'. "
            "Default: the two that moved most along the path.",
            show_default=False,
        ),
    ] = None,
    frames: Annotated[
        int, typer.Option(min=2, max=MAX_REPORT_FRAMES, help="Frames of the animation of the fit.")
    ] = DEFAULT_REPORT_FRAMES,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False,
                           help="Folder for report.html (created if need be; a report.html there is replaced only with --force).")
    ] = Path("report-output"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the report's path and the run's outcome).")
    ] = False,
    force: ForceOutOption = False,
) -> None:
    """Write one self-contained HTML report of a gradient-descent fit, explained for learners.

    The data and the fit, the cost per update, the cost bowl with the path of the iterates, a learning-rate
    sweep, an animation of the fit, the convergence verdict and the coefficient table, each with a few plain
    sentences. Every image is embedded: the file can be opened offline, mailed or archived on its own.
    """
    from gradfit.report import data_report, write_report

    rate = _parse_learning_rate(learning_rate) if learning_rate is not None else None
    rates = _parse_learning_rates(learning_rates)
    coordinates = _parse_surface(surface)
    separator = _parse_delimiter(delimiter)
    path = _data_path(path)
    _check_out_files(out, ["report.html"], force=force)
    with _warnings_to_stderr():
        if path is None:
            _refuse_csv_options(target=target, features=features, drop_missing=drop_missing, delimiter=delimiter)
            from gradfit.article import run_article

            options: dict = {"seed": seed}
            if rate is not None:
                options["learning_rate"] = rate
            if max_iter is not None:
                options["iterations"] = max_iter
            if coordinates is not None:
                raise typer.BadParameter("the article's data have one feature, so the bowl is always over the "
                                         "intercept and the slope; --surface picks a slice of a CSV's bowl",
                                         param_hint="'--surface'")
            run = run_article(**options)
            if run.model.status_ == "interrupted":
                raise KeyboardInterrupt
            from gradfit.learning import article_sweep

            # The article's run is the sweep's row at its rate: same start, its updates the budget.
            sweep_result = article_sweep(seed=run.seed, X=run.X, y=run.y, learning_rates=rates,
                                         include=[run.learning_rate, "auto"], max_iter=run.iterations)
            report_path = _write_article_report(run, out, sweep=sweep_result, frames=frames)
            model, reported_rate, data = run.model, run.learning_rate, (run.X, run.y)
        else:
            table, sweep_result, model = _fit_csv_for_report(
                path, target=target, features=features, drop_missing=drop_missing, seed=seed, learning_rate=rate,
                learning_rates=rates, max_iter=max_iter, coordinates=coordinates, delimiter=separator)
            command = shlex.join(["gradfit", "fit", str(path), "--target", table.target, "--solver", "exact"])
            document = data_report(
                table.X, table.y, model, feature_names=table.feature_names, target_name=table.target,
                source=_shown_name(path), sweep=sweep_result, coordinates=coordinates, frames=frames, exact_command=command,
            )
            report_path = write_report(document, out)
            reported_rate, data = model.learning_rate_, (table.X, table.y)
    if json_output:
        from gradfit.learning import certificate

        certified = certificate(*data, sweep_result, model)
        _print_json(_report_outcome(model, sweep_result.run_at(reported_rate), report_path, certified=certified))
        return
    stdout.print(f"Report: {escape(str(report_path))}")


# --- entry point ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the command line and exit with its code (see the module docstring)."""
    _install_interrupt_handler()
    sys.exit(run(argv))


def _install_interrupt_handler() -> None:
    """First Ctrl-C: KeyboardInterrupt, so the run stops cleanly. Second: exit 130 at once.

    The driver turns a KeyboardInterrupt into a stopped run rather than an exception, so a caller
    that fits in a loop can go on after it; a second Ctrl-C must still end the command.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    pressed = 0

    def on_interrupt(signum, frame) -> None:
        nonlocal pressed
        pressed += 1
        if pressed > 1:
            os.write(sys.stderr.fileno(), b"interrupted (Ctrl-C)\n")
            os._exit(EXIT_INTERRUPTED)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    _invocation.begin(sys.argv[1:] if argv is None else argv)
    try:
        return _run_command(argv)
    finally:
        _invocation.end()


def _run_command(argv: Sequence[str] | None) -> int:
    try:
        code = app(args=None if argv is None else list(argv), prog_name="gradfit", standalone_mode=False)
    except typer.TyperException as error:  # usage errors: bad or missing options and values
        code = getattr(error, "exit_code", EXIT_USAGE)
        message = error.format_message()
        if not message:  # no arguments at all: the help was shown, as the usage message
            return code
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        return _fail(message + hint, code)
    except (KeyboardInterrupt, typer.Abort):
        return _interrupted()
    except BrokenPipeError:
        # The reader went away (``gradfit predict ... | head``): not an error worth a message.
        _silence_stdout()
        return EXIT_FAILURE
    except DivergenceError as error:
        return _fail(str(error), EXIT_FAILURE)
    except (GradfitError, ValueError) as error:
        return _fail(str(error), EXIT_USAGE)
    except OSError as error:
        return _fail(_describe_os_error(error), EXIT_USAGE)
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        return _fail(
            f"unexpected {type(error).__name__}: {error} (set {DEBUG_VARIABLE}=1 to see the traceback)", EXIT_FAILURE
        )
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a command into this exit code
        return _interrupted()
    return code if isinstance(code, int) else EXIT_OK


# --- helpers -------------------------------------------------------------------------------------


def _parse_learning_rate(text: str) -> float | str:
    """``'auto'``, a line search (``'armijo'``, ``'line_search'``) or a positive finite number; a usage error otherwise."""
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


#: DATA that means standard input.
STDIN_NAME = "-"
#: Bytes copied from standard input at a time.
STDIN_CHUNK_BYTES = 1 << 20


def _data_path(path: Path | None) -> Path | None:
    """DATA as given; for ``-``, standard input copied to a temporary file, which the command reads as it
    would the file (it may read it more than once: to name the line of a bad value, or one pass an update)."""
    if path is None or str(path) != STDIN_NAME:
        return path
    return _invocation.copy_stdin()


def _shown_name(path: Path) -> str:
    """The name of DATA in the output: ``<stdin>`` for the copy of standard input."""
    return _invocation.shown_names.get(str(path), path.name or str(path))


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


@dataclass(frozen=True)
class _StreamedTable:
    """What ``fit`` reports about streamed files (the fields of a CsvTable it uses); no target or
    feature names for an svmlight file (the label is the target, the features are numbered)."""

    target: str | None
    feature_names: list[str] | None
    n_samples: int
    n_rows_read: int
    n_dropped: int = 0


def _data_format(path: Path, data_format: FileFormat) -> str:
    """The format to read ``path`` in: svmlight by its suffix; a single file that is neither .parquet nor
    Parquet inside is CSV."""
    from gradfit.sources.files import file_format

    if data_format is FileFormat.auto and _is_svmlight_name(path):
        return FileFormat.svmlight.value
    if data_format is not FileFormat.auto or not path.is_file():
        return data_format.value
    return file_format(path) or "csv"


def _is_svmlight_name(path: Path) -> bool:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in SVMLIGHT_COMPRESSION:
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in SVMLIGHT_SUFFIXES


def _refuse_table_options(*, target: str | None, features: str | None, drop_missing: bool) -> None:
    given = [flag for flag, value in (("--target", target), ("--features", features), ("--drop-missing", drop_missing))
             if value]
    if given:
        one = len(given) == 1
        raise typer.BadParameter(
            f"{', '.join(given)} {'applies' if one else 'apply'} to CSV and Parquet files; an svmlight file's target "
            f"is the label that begins each line, its features are numbered and it has no missing cells: leave "
            f"{'it' if one else 'them'} out", param_hint=f"'{given[0]}'")


def _fit_svmlight(model: LinearRegression, path: Path, *, n_features: int | None,
                  show_progress: bool) -> _StreamedTable:
    """Fit ``model`` on an svmlight file read as a sparse matrix (the estimator streams it: engine_ is
    "streaming"); a spinner on stderr while reading and fitting when ``show_progress``."""
    columns = [TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not show_progress) as bar:
        task = bar.add_task(f"reading {escape(_shown_name(path))}", total=None)
        data = _read_svmlight(path, n_features=n_features)
        n_rows, width = data.X.shape
        bar.update(task, description=f"fitting {n_rows:,} rows × {width:,} features ({data.X.nnz:,} stored values)")
        with _warnings_to_stderr():
            model.fit(data.X, data.y)
    return _StreamedTable(None, None, n_rows, n_rows)


@dataclass(frozen=True)
class _SvmlightData:
    """An svmlight file read into memory: X (scipy.sparse CSR, column j = feature index j) and the labels."""

    X: object
    y: np.ndarray


#: scikit-learn's words for a file wider than the n_features it was given (sklearn.datasets._svmlight_format_io).
_TOO_WIDE = re.compile(r"n_features was set to (\d+), but input file contains (\d+) features")

#: scikit-learn's parse errors, and what they mean on a line of an svmlight file.
_PARSE_REASONS = (
    (re.compile(r"could not convert string to float: b?'(.*)'"), "'{0}' is not a number"),
    (re.compile(r"invalid literal for int\(\) with base 10: b?'(.*)'"),
     "'{0}' is not a feature index (a whole number)"),
    (re.compile(r"need more than 1 value to unpack"), "a feature without ':value'"),
    (re.compile(r"Feature indices .* sorted and unique"),
     "the feature indices must increase along the line, each once"),
    (re.compile(r"Invalid index (-?\d+)"), "feature index {0} is negative"),
    (re.compile(r"value too large to convert"), "a feature index is too large"),
)

#: What an svmlight line holds, for the error messages.
SVMLIGHT_LINE = "'label index:value index:value ...'"

def _read_svmlight(path: Path, *, n_features: int | None, model_path: Path | None = None) -> _SvmlightData:
    """Read an svmlight/libsvm file with scikit-learn's reader; every problem is a one-line DataError
    naming the file (and the line, found again with the same reader where the problem is on one).

    The indices are read as written (``zero_based=True``): feature index j is column j. scikit-learn's
    default, ``"auto"``, decides per file (a file without an index 0 is shifted down by one), so a
    prediction file lacking feature 0 would silently be read one column off from its training file.
    A file that counts from 1 gets an empty column 0, whose coefficient is 0.

    ``n_features`` fixes the width (a narrower file is padded with zero columns); ``model_path`` says
    that it is the width of that model (predict): the labels are not used then, nor checked.
    """
    from sklearn.datasets import load_svmlight_file

    if path.is_dir():
        raise DataError(f"{path}: is a directory; svmlight data are read from one file "
                        f"({', '.join(SVMLIGHT_SUFFIXES)}, also compressed as .gz or .bz2)")
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    try:
        with _open_svmlight(path) as handle:
            X, y = load_svmlight_file(handle, n_features=n_features, zero_based=True, dtype=np.float64)
    except OSError as error:
        if error.errno is not None:  # permissions and the like: the caller names the file and the reason
            raise
        raise DataError(f"{path}: cannot be read ({error})") from None  # not gzip/bzip2 data after all
    except (EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be decompressed ({error}); is the file complete?") from None
    except (ValueError, OverflowError) as error:
        wide = _TOO_WIDE.search(str(error))
        if wide is not None:
            raise DataError(_too_wide_message(path, int(wide[2]), int(wide[1]), model_path)) from None
        raise DataError(_parse_error_message(path, error)) from None
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data lines (the file is empty, or holds only comments and blank lines); "
                        f"each line is {SVMLIGHT_LINE}")
    if model_path is None:
        _check_width_fits(path, X.shape[1], explicit=n_features is not None)
    labels = model_path is None
    if not (np.isfinite(X.data).all() and (not labels or np.isfinite(y).all())):
        raise DataError(_non_finite_message(path, labels=labels))
    return _SvmlightData(X, y)


def _check_width_fits(path: Path, width: int, *, explicit: bool) -> None:
    """Refuse a width whose d-vectors would not fit in memory: one mistyped index (``1 4000000000:1``)
    makes billions of columns, and the fit would exhaust the machine's memory rather than fail."""
    from gradfit.engine import available_memory, streaming_bytes

    needed, available = streaming_bytes(width), available_memory()
    if available is None or needed <= available:
        return
    about = (f"a fit over {width:,} columns needs about {needed / 1e9:.3g} GB, more than the "
             f"{available / 1e9:.3g} GB available")
    if explicit:
        raise DataError(f"{path}: --n-features {width}: {about}")
    found = _first_line_where(path, lambda chunk: _svmlight_width(chunk) >= width)
    where = f", line {found[0]}" if found is not None else ""
    raise DataError(f"{path}{where}: feature index {width - 1:,}: {about}; check that index (svmlight indices are "
                    "column numbers: the largest sets the width)")


def _svmlight_width(chunk: bytes) -> int:
    from sklearn.datasets import load_svmlight_file

    return load_svmlight_file(io.BytesIO(chunk), zero_based=True)[0].shape[1]


def _open_svmlight(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed by its suffix (any case; scikit-learn's own check is case-sensitive)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    return path.open("rb")


def _too_wide_message(path: Path, width: int, limit: int, model_path: Path | None) -> str:
    found = (f"{path}: its largest feature index is {width - 1}, so it has {width} feature columns "
             "(indices count from 0)")
    if model_path is None:
        return f"{found}, more than --n-features {limit}; give --n-features {width} or more"
    return (f"{found}, but the model {model_path} was fitted on {limit}; fit it again with --n-features {width} "
            f"or more, so that the training and prediction files agree")


def _parse_error_message(path: Path, error: Exception) -> str:
    message = _one_line(str(error))
    reason = message
    for pattern, explanation in _PARSE_REASONS:
        match = pattern.search(message)
        if match is not None:
            reason = explanation.format(*match.groups())
            break
    found = _first_line_where(path, _fails_to_parse)
    if found is None:
        return f"{path}: not svmlight data ({reason}); each line is {SVMLIGHT_LINE}"
    number, line = found
    return f"{path}, line {number}: {reason}, in {_excerpt(line)}; each line is {SVMLIGHT_LINE}"


def _non_finite_message(path: Path, *, labels: bool) -> str:
    from sklearn.datasets import load_svmlight_file

    def non_finite(chunk: bytes) -> bool:
        X, y = load_svmlight_file(io.BytesIO(chunk), zero_based=True)
        return not (np.isfinite(X.data).all() and (not labels or np.isfinite(y).all()))

    found = _first_line_where(path, non_finite)
    if found is None:  # not expected: the whole file has one, so some line has
        return f"{path}: holds NaN or infinite values; remove or impute them"
    number, line = found
    X, y = load_svmlight_file(io.BytesIO(line), zero_based=True)
    if labels and not np.isfinite(y[0]):
        what = f"the label is {y[0]}"
    else:
        first = int(np.flatnonzero(~np.isfinite(X.data))[0])
        what = f"feature {X.indices[first]} is {X.data[first]}"
    return f"{path}, line {number}: {what}; remove or impute it"


def _fails_to_parse(chunk: bytes) -> bool:
    from sklearn.datasets import load_svmlight_file

    try:
        load_svmlight_file(io.BytesIO(chunk), zero_based=True)
    except (ValueError, OverflowError):
        return True
    return False


def _first_line_where(path: Path, bad: Callable[[bytes], bool]) -> tuple[int, bytes] | None:
    """The number (from 1) and bytes of the first line of ``path`` for which ``bad`` holds, or None.

    For a property of single lines (a parse error, a NaN), found by bisection with ``bad`` applied to
    runs of whole lines: about one more reading of the file, and only on the way to an error message.
    """
    with _open_svmlight(path) as handle:
        data = handle.read()
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
    starts = np.unique(np.concatenate(([0], newlines, [len(data)])))  # line k is data[starts[k]:starts[k + 1]]
    low, high = 0, len(starts) - 1
    if high <= low or not bad(data[starts[low]:starts[high]]):
        return None
    while high - low > 1:  # the first bad line is in [low, high)
        middle = (low + high) // 2
        if bad(data[starts[low]:starts[middle]]):
            high = middle
        else:
            low = middle
    return low + 1, data[starts[low]:starts[low + 1]]


def _excerpt(line: bytes, limit: int = 60) -> str:
    text = line.decode("utf-8", "backslashreplace").strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _name_list(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(name) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... {len(names)} in all"


def _fit_streamed(model: LinearRegression, path: Path, *, target: str, features: list[str] | None,
                  drop_missing: bool, data_format: str, show_progress: bool,
                  delimiter: str | None = None) -> _StreamedTable:
    """Fit ``model`` on files streamed through pyarrow, with a progress bar on stderr when ``show_progress``."""
    from gradfit.sources.files import FileSource

    source = FileSource(path, target=target, features=features, format=data_format, drop_missing=drop_missing,
                        delimiter=delimiter)
    columns = [TextColumn("reading {task.description}"), BarColumn(), TaskProgressColumn(), _RowsColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[loss]}")]
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not show_progress) as bar:
        task = bar.add_task(escape(_shown_name(path)), total=None, rows=0, rows_total=None, loss="")
        if show_progress:
            source.progress = _StreamProgress(lambda **fields: bar.update(task, **fields), source)
        with _warnings_to_stderr():
            model.fit(source)
    return _StreamedTable(target, list(source.feature_names), source.n_samples, source.n_rows_read, source.n_dropped)


class _StreamProgress:
    """``progress(rows_done, rows_total)`` for a :class:`~gradfit.sources.files.FileSource`.

    On every batch, passes ``update(completed=, total=, rows=, rows_total=)``: the bar's fraction is
    of the rows where their total is known (Parquet footers), else of the bytes (CSV); ``rows`` and
    ``rows_total`` are for the text. Now and then it also passes ``loss=``, the text of the loss of
    the least-squares fit to the rows read so far: the mean squared residual / 2 (as ``final_loss``)
    of the exact fit with an intercept, solved from the partial statistics (O(d³), never from the rows). There is no iterate during the pass, so this
    is the honest loss to show: where the fit is heading (the final loss of ``--solver exact``).
    It is recomputed at most every LOSS_INTERVAL seconds, and never more often than LOSS_COST_RATIO
    times what it took, so it costs the pass under 5% however many features there are.
    """

    def __init__(self, update: Callable[..., None], source, *, clock: Callable[[], float] = time.monotonic) -> None:  # noqa: ANN001
        self.update = update
        self.source = source
        self.clock = clock
        self.next_loss = clock() + LOSS_INTERVAL  # the first batches say little; let the rows show first

    def __call__(self, rows_done: int, rows_total: int | None) -> None:
        fields: dict = {"completed": rows_done, "total": rows_total, "rows": rows_done, "rows_total": rows_total}
        bytes_read = getattr(self.source, "bytes_read", None)
        if rows_total is None and bytes_read is not None:
            fields.update(completed=min(bytes_read, self.source.n_bytes), total=self.source.n_bytes)
        if self.clock() >= self.next_loss:
            stats = self.source.partial_stats()
            if stats is not None:
                started = self.clock()
                loss = least_squares_loss(stats)
                cost = self.clock() - started
                self.next_loss = self.clock() + max(LOSS_INTERVAL, LOSS_COST_RATIO * cost)
                if loss is not None:
                    fields["loss"] = format_loss(loss)
        self.update(**fields)


def format_loss(loss: float) -> str:
    """The text beside the progress bar: ``loss 0.4997 (least-squares fit to the rows so far)``."""
    return f"loss {loss:.6g} (least-squares fit to the rows so far)"


def least_squares_loss(stats) -> float | None:  # noqa: ANN001 - SufficientStats
    """``Σ r²/2m`` (target's units) of the exact least-squares fit, with an intercept, to the rows
    ``stats`` describes; None where it cannot be had. Solved from the statistics by the estimator
    itself (``solver="exact"`` on a source that only has statistics), never from the rows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a display: whatever the partial data are, say nothing
            loss = LinearRegression(solver="exact").fit(_Gathered(stats)).final_loss_
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return None
    # Rounding can leave a perfect fit (fewer rows than parameters) a hair below zero.
    return max(float(loss), 0.0) if math.isfinite(loss) else None


class _Gathered:
    """The least a Source is: statistics already gathered (so the estimator solves from them alone)."""

    def __init__(self, stats) -> None:  # noqa: ANN001 - SufficientStats
        self._stats = stats
        self.n_samples = stats.n_samples
        self.n_features = stats.n_features

    def stats(self):  # noqa: ANN201
        return self._stats


def format_rows(done: float, total: float | None) -> str:
    """``1,234 of 5,000 rows``, or ``1,234 rows`` where the total is not known (CSV)."""
    return f"{int(done):,} rows" if total is None else f"{int(done):,} of {int(total):,} rows"


class _RowsColumn(ProgressColumn):
    """The rows read, beside the progress bar (see :func:`format_rows`)."""

    def render(self, task: Task) -> Text:
        return Text(format_rows(task.fields.get("rows", 0), task.fields.get("rows_total")))


def _write_csv_predictions(predictions: Iterable[np.ndarray], handle: TextIO) -> int:
    """``prediction`` then one shortest round-trip number per line, written block by block as each
    is read and checked (so a bad first block writes nothing); returns the count."""
    header = "prediction\n"
    count = 0
    for values in predictions:
        if len(values):
            handle.write(header + "\n".join(map(repr, values.tolist())) + "\n")
            header = ""
        count += len(values)
    handle.write(header)
    return count


def _write_predictions_file(predictions: Iterable[np.ndarray], output: Path, *, force: bool) -> int:
    """Write the predictions next to ``output`` under a temporary name, then move them into place:
    an error or Ctrl-C half-way leaves no partial file, and without ``force`` nothing is replaced,
    even a file that appeared meanwhile. Parquet for a ``.parquet`` name, CSV otherwise."""
    partial = output.with_name(f".{output.name}.{uuid.uuid4().hex}.partial")
    # os.open applies the umask, so the file gets the permissions a plain open() would give (as modelio does).
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if output.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([("prediction", pa.float64())])
            count = 0
            with os.fdopen(descriptor, "wb") as handle, pq.ParquetWriter(handle, schema) as writer:
                for values in predictions:
                    writer.write_table(pa.table({"prediction": values}, schema=schema))
                    count += len(values)
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as text:
                count = _write_csv_predictions(predictions, text)
        _move_into_place(partial, output, force=force)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


def _move_into_place(partial: Path, output: Path, *, force: bool) -> None:
    if force:
        os.replace(partial, output)
        return
    try:
        os.link(partial, output)  # fails if output exists, whoever made it
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "already exists; pass --force to replace it, or choose another name",
                              str(output)) from None
    except OSError:  # no hard links on this file system
        _check_writable(output, force=False, flag="--output")
        os.replace(partial, output)
        return
    partial.unlink()


def _parse_features(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise typer.BadParameter(f"{text!r} has an empty name; give names separated by commas", param_hint="'--features'")
    return names


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
        raise FileExistsError(errno.EEXIST, "already exists; pass --force to replace it, or choose another name", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {path.parent} does not exist; create it first", str(path))


def _check_out_files(out: Path, names: Sequence[str], *, force: bool) -> None:
    """Refuse, before any work, to write into ``--out`` over files already there (unless ``--force``)
    or over folders of those names (typer refuses an ``--out`` that is a file)."""
    for name in names:
        path = out / name
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, f"is a folder, where the command writes its {name}; choose another --out", str(path))
        if path.exists() and not force:
            raise FileExistsError(errno.EEXIST, "already exists; pass --force to replace it, or choose another --out", str(path))


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show each warning raised inside as one line, ``warning: <message>``, on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for record in caught:
                message = in_command_line_syntax(_one_line(str(record.message)))
                if message not in seen:
                    seen.add(message)
                    print(f"warning: {message}", file=sys.stderr)


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _fail(message: str, code: int) -> int:
    print(f"error: {in_command_line_syntax(_one_line(message))}", file=sys.stderr)
    return code


def _note(message: str) -> None:
    print(f"note: {in_command_line_syntax(message)}", file=sys.stderr)


def _interrupted() -> int:
    print("interrupted (Ctrl-C)", file=sys.stderr)
    return EXIT_INTERRUPTED


def _describe_os_error(error: OSError) -> str:
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


def _silence_stdout() -> None:
    """Point stdout at the null device so that the interpreter's final flush does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _print_json(payload: dict) -> None:
    """Exactly one JSON object on stdout; a non-finite number is written as null (JSON has none)."""
    sys.stdout.write(json.dumps(_finite(payload), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _finite(value):
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _print_demo(run, data_plot: Path, loss_plot: Path) -> None:
    from gradfit.article import ARTICLE_QUOTE

    is_auto = run.learning_rate == run.auto_learning_rate
    alpha = f"α = 1/L = {run.learning_rate:.4g}" if is_auto else f"α = {run.learning_rate:.4g}"
    data = f"seed {run.seed}" if run.seed is not None else "fresh random data"
    stdout.print(f"[bold]The article's gradient descent[/]: {run.iterations} updates at {alpha} from θ = (1, 1)")
    stdout.print(f"on {len(run.y)} points of y = 2x + 1 + noise ({data})")
    stdout.print()
    table = Table(box=None, padding=(0, 2))
    table.add_column("")
    table.add_column("intercept", justify="right")
    table.add_column("slope", justify="right")
    table.add_column("cost J(θ)", justify="right")
    table.add_row("θ found", f"{run.intercept:.4f}", f"{run.slope:.4f}", f"{run.final_loss:.6f}")
    table.add_row("exact optimum", f"{run.optimum_intercept:.4f}", f"{run.optimum_slope:.4f}", f"{run.optimum_loss:.6f}")
    table.add_row("article quotes", f"{ARTICLE_QUOTE[0]:.4f}", f"{ARTICLE_QUOTE[1]:.4f}", "")
    stdout.print(table)
    stdout.print()

    criterion = f"tolerance: each within {run.tol:g}, relatively"
    if run.converged:
        stdout.print(f"[bold green]Converged[/]: {run.iterations} updates at {alpha} reach the optimum.")
        stdout.print(f"  within {run.error:.2g} after {_updates(run.updates_needed)} ({criterion})")
    else:
        stdout.print(
            f"[bold red]Did NOT converge[/]: {run.iterations} updates at {alpha} stop short of the optimum."
        )
        stdout.print(f"  a coefficient is still {run.error:.1%} off ({criterion})")
    stdout.print()
    stdout.print("[bold]What converges[/] (from θ = (1, 1), to that tolerance)")
    options = Table.grid(padding=(0, 2))
    options.add_column(min_width=2)
    options.add_column()
    options.add_column()
    if not is_auto:
        options.add_row("", alpha, _updates(run.updates_needed))
    options.add_row("", f"α = 1/L = {run.auto_learning_rate:.4g}", _updates(run.updates_needed_auto))
    stdout.print(options)
    stdout.print(f"  Any constant α below 2/L = {run.stable_bound:.4g} converges; a larger one diverges.")
    stdout.print()
    stdout.print(f"Figures: {escape(str(data_plot))}, {escape(str(loss_plot))}")


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


def _run_sweep(path: Path | None, *, target, features, drop_missing: bool, seed: int | None,
               learning_rates: list[float] | None, max_iter: int, tol: float, delimiter: str | None):  # noqa: ANN001
    from gradfit.learning import article_sweep, sweep_learning_rates

    if path is None:
        _refuse_csv_options(target=target, features=features, drop_missing=drop_missing, delimiter=delimiter)
        return article_sweep(seed=seed, learning_rates=learning_rates, max_iter=max_iter, tol=tol)
    table = _read_csv_for_toolkit(path, target=target, features=features, drop_missing=drop_missing, seed=seed,
                                  delimiter=delimiter)
    return sweep_learning_rates(
        table.X, table.y, learning_rates=learning_rates, max_iter=max_iter, tol=tol, standardize=True,
        problem=f"{_shown_name(path)} ({table.n_samples} rows, {len(table.feature_names)} features, standardized)",
    )


def _fit_csv_for_report(path: Path, *, target, features, drop_missing: bool, seed: int | None,
                        learning_rate: float | str | None, learning_rates: list[float] | None, max_iter: int | None,
                        coordinates: tuple[str, str] | None, delimiter: str | None):  # noqa: ANN001, ANN202
    """The CSV, the sweep (with the reported rate and 1/L among its rates) and the reported run: the
    sweep's run at that rate, fitted again with its path, so that the report and its table agree."""
    from gradfit.learning import DEFAULT_TOL, fit_run, sweep_learning_rates

    table = _read_csv_for_toolkit(path, target=target, features=features, drop_missing=drop_missing, seed=seed,
                                  delimiter=delimiter)
    unknown = [name for name in coordinates or () if name != "intercept" and name not in table.feature_names]
    if unknown:
        raise typer.BadParameter(
            f"{unknown[0]!r} is neither 'intercept' nor a feature ({', '.join(table.feature_names)})",
            param_hint="'--surface'",
        )
    rate = "auto" if learning_rate is None else learning_rate
    result = sweep_learning_rates(
        table.X, table.y, learning_rates=learning_rates, include=["auto", rate], max_iter=max_iter, tol=DEFAULT_TOL,
        standardize=True, problem=f"{_shown_name(path)} ({table.n_samples} rows, {len(table.feature_names)} features, standardized)",
    )
    model = fit_run(table.X, table.y, result, result.auto_learning_rate if rate == "auto" else rate)
    if model.status_ == "interrupted":
        raise KeyboardInterrupt
    # As 'gradfit fit' does: the CSV's column names, for the coefficient table.
    model.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    return table, result, model


def _report_outcome(model, run, report_path: Path, *, certified=None) -> dict:  # noqa: ANN001 - LinearRegression, SweepRun
    """``report --json``: the report's path and the reported run's outcome, judged as the report judges
    it (by the sweep's run at the same rate, which made at most as many updates when it converged),
    with the error the estimator certifies where it stopped (``certified``'s, as in the report's
    coefficient table, else the model's own)."""
    converged = run.outcome == "converged" and run.n_iter <= model.n_iter_
    return {
        "report": str(report_path),
        "converged": converged,
        "outcome": "converged" if converged else ("floor" if run.outcome == "floor" else "max_iter"),
        "n_iter": int(model.n_iter_),
        "error_bound": float((certified if certified is not None else model).error_bound_),
        "final_loss": float(model.final_loss_),
        "message": run.verdict if run.n_iter == model.n_iter_ or converged else (
            f"did not converge in {int(model.n_iter_):,} updates{run.needs_text()}"),
    }


def _write_article_report(run, out: Path, *, sweep=None, frames: int = DEFAULT_REPORT_FRAMES) -> Path:  # noqa: ANN001
    from gradfit.report import article_report, write_report

    return write_report(article_report(run, sweep=sweep, frames=frames), out)


def _print_sweep(result) -> None:  # noqa: ANN001 - LearningRateSweep
    stdout.print(f"[bold]Learning-rate sweep[/] on {escape(result.problem)}")
    stdout.print(
        f"L = {result.lipschitz:.4g}: 1/L = {result.auto_learning_rate:.4g} ('auto'), stable below 2/L = "
        f"{result.stable_bound:.4g}"
    )
    stdout.print(f"Each run stops when {escape(result.tolerance_text())}, {escape(result.budget_text())}.")
    stdout.print()
    table = Table(show_edge=False)
    table.add_column("learning rate", justify="right")
    table.add_column("× 1/L", justify="right")
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("final loss", justify="right")
    styles = {"converged": "green", "max_iter": "yellow", "floor": "magenta", "diverged": "bold red"}
    for run, (rate, factor, regime, verdict, loss) in zip(result.runs, result.rows()):
        table.add_row(rate, factor.removesuffix("/L"), regime, f"[{styles[run.outcome]}]{escape(verdict)}[/]", loss)
    stdout.print(table)


def _updates(count: int | None) -> str:
    return "more than a million updates" if count is None else f"{count:,} updates"


def _print_fit(result: dict, *, source: Path) -> None:
    coef = result["coef"]
    named = isinstance(coef, dict)
    if named:
        title = f"Linear model for {result['target']!r}"
        names, values = [escape(name) for name in coef], list(coef.values())
        shown_all = len(values) <= MAX_NAMED_COEFFICIENTS
    else:  # an svmlight file: numbered features, perhaps thousands
        title = f"Linear model for the labels of {_shown_name(source)}"
        names, values = [f"feature {index}" for index in range(len(coef))], list(coef)
        shown_all = len(values) <= MAX_TABLE_COEFFICIENTS
    order = range(len(values))
    if not shown_all:  # thousands of features: the largest ones tell most
        magnitude = np.abs(np.asarray(values))
        largest = np.argpartition(-magnitude, MAX_TABLE_COEFFICIENTS)[:MAX_TABLE_COEFFICIENTS]
        order = largest[np.argsort(-magnitude[largest], kind="stable")]
        title += f" (the {MAX_TABLE_COEFFICIENTS} largest of {len(values):,} coefficients)"
    rows = [(names[index], values[index]) for index in order]
    hidden = len(values) - len(rows)
    if not result["converged"]:
        stdout.print("[bold red]Did not converge[/]: these are not the least-squares coefficients (see message).")
    if named and shown_all:
        table = Table(title=escape(title), title_justify="left", show_edge=False)
    else:  # a title line of its own: as the table's, it would wrap to the width of the two narrow columns
        stdout.print(escape(title), style="italic")
        table = Table(show_edge=False)
    # On a narrow screen a long name wraps (cut short, names often differ only at their ends); numbers never do.
    table.add_column("term", overflow="fold")
    table.add_column("coefficient", justify="right", no_wrap=True)
    for name, value in rows:
        table.add_row(name, f"{value:.10g}")
    if hidden:
        table.add_row(f"[dim]... {hidden:,} smaller[/]", "[dim]all in --json or --save[/]")
    table.add_row("(intercept)", f"{result['intercept']:.10g}")
    stdout.print(table)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    samples = str(result["n_samples"])
    if result["n_dropped"]:
        samples += f" ({result['n_dropped']} of {result['n_rows_read']} rows dropped for missing values)"
    facts.add_row("n_samples", samples)
    if not isinstance(coef, dict):
        facts.add_row("n_features", f"{result['n_features']} (indices 0 to {result['n_features'] - 1})")
    facts.add_row("engine", f"{result['engine']}, {result['n_passes']} pass{'es' if result['n_passes'] != 1 else ''} "
                  "over the data")
    facts.add_row("solver", result["solver"])
    facts.add_row("n_iter", str(result["n_iter"]))
    converged = "[green]yes[/]" if result["converged"] else "[red]no[/]"
    facts.add_row("converged", converged)
    facts.add_row("final_loss", f"{result['final_loss']:.6g}  (Σ r² / 2m)")
    facts.add_row("message", escape(in_command_line_syntax(result["message"])))
    if result["saved"]:
        facts.add_row("saved to", escape(result["saved"]))
    stdout.print(facts)


# --- messages in the command line's syntax --------------------------------------------------------
#
# The library's messages give Python advice (``Increase max_iter ... or use solver='exact'``). The
# command line prints every message through in_command_line_syntax, which rewrites that advice in
# the options of the command being run (``--max-iter``, ``--solver exact``), whatever the sentence:
# it knows the estimator's parameters and the options of every command, not the messages.

#: Estimator parameters that no command sets. A message names them only when Python set them, so
#: they keep Python's syntax (a test checks that every parameter is an option or here).
PYTHON_ONLY_PARAMETERS = frozenset({"fit_intercept", "momentum", "batch_size", "schedule", "random_state",
                                    "record_path"})

#: ``name=value`` in Python's syntax: a quoted string, a list, a number, True, False or None.
_ASSIGNMENT = re.compile(
    r"(?<![\w.\-])(?P<name>[A-Za-z_]\w*)=(?!=)(?P<value>'[^']*'|\"[^\"]*\"|\[[^\]]*\]"
    r"|[-+]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])|True\b|False\b|None\b)"
)
#: A call with no arguments, ``summary()``.
_CALL = re.compile(r"(?<![\w.\-])(?P<name>[A-Za-z_]\w*)\(\)")
#: An option as a message names it, perhaps with its value: ``--max-iter``, ``--solver exact``.
_OPTION_MENTION = re.compile(r"--[a-z][a-z0-9-]*")
_OPTION_PHRASE = re.compile(r"(--[a-z][a-z0-9-]*)(?: +\S+)?")
#: A parenthesis without parentheses inside, with the blank before it.
_PARENTHETICAL = re.compile(r" ?\(([^()]*)\)")


@dataclass(frozen=True)
class _Spelling:
    """How the command line spells a Python parameter: its option, and for a flag the value it sets."""

    option: str
    flag_value: bool | None
    commands: frozenset[str]


def in_command_line_syntax(message: str) -> str:
    """``message`` as the command line says it: Python advice in the options of the command being run.

    ``name=value`` for a parameter that an option sets becomes that option (``solver='exact'`` →
    ``--solver exact``, ``standardize=False`` → ``--no-standardize``, ``drop_missing=True`` →
    ``--drop-missing``); ``summary()`` becomes ``--summary``; a bare parameter name with an
    underscore (``max_iter``) becomes its option (plain words such as "solver" are left alone).
    An option the command being run does not have is given with the command that has it
    (``'gradfit fit --solver exact'``). A parenthesis that only repeats options already named, as
    in a library message that gave both spellings, is dropped; the temporary file standard input
    was copied to is called ``<stdin>``. Parameters no option sets keep Python's syntax.

    Examples
    --------
    >>> in_command_line_syntax("Increase max_iter, or use solver='exact'.")
    'Increase --max-iter, or use --solver exact.'
    >>> in_command_line_syntax("use standardize=True (the default) or pass drop_missing=True (--drop-missing)")
    'use without --no-standardize (the default) or pass --drop-missing'
    """
    for copy, shown in _invocation.shown_names.items():
        message = message.replace(copy, shown)
    spellings = _spellings()

    def spelled(name: str, value: str | None) -> str | None:
        spelling = spellings.get(name)
        if spelling is None:
            return None
        if spelling.flag_value is not None:
            if value is None:
                return _available(spelling, spelling.option)
            if value not in ("True", "False"):
                return None
            given = (value == "True") == spelling.flag_value
            return _available(spelling, spelling.option) if given else f"without {spelling.option}"
        if value is None:
            return _available(spelling, spelling.option)
        if value == "None":
            return f"without {spelling.option}"
        return _available(spelling, f"{spelling.option} {_option_value(spelling.option, value)}")

    def assignment(match: re.Match) -> str:
        return spelled(match["name"], match["value"]) or match[0]

    def call(match: re.Match) -> str:
        spelling = spellings.get(match["name"])
        return match[0] if spelling is None else _available(spelling, spelling.option)

    def bare(match: re.Match) -> str:
        return spelled(match[0], None) or match[0]

    message = _ASSIGNMENT.sub(assignment, message)
    message = _CALL.sub(call, message)
    underscored = sorted((name for name in spellings if "_" in name), key=len, reverse=True)
    if underscored:
        message = re.sub(rf"(?<![\w.\-])(?:{'|'.join(underscored)})(?![\w(=])", bare, message)
    return _without_repeated_options(message)


def _option_value(option: str, value: str) -> str:
    """A Python value as an option's argument: a string unquoted (quoted for the shell where it must
    be), a list as ``a,b``, a placeholder list ``[...]`` as the option's value name."""
    if value[:1] in "'\"":
        text = value[1:-1]
        return shlex.quote(text) if text else "''"
    if value.startswith("["):
        items = [item.strip().strip("'\"") for item in value[1:-1].split(",") if item.strip()]
        if items in ([], ["..."]):
            return OPTION_VALUES.get(option, "...")
        return shlex.quote(",".join(items))
    return value


def _available(spelling: _Spelling, text: str) -> str:
    """``text`` as is where the command being run has the option; else with the command that has it."""
    command = _invocation.command
    if command is None or command not in _spellings_by_command() or command in spelling.commands:
        return text
    other = "fit" if "fit" in spelling.commands else min(spelling.commands)
    return f"'gradfit {other} {text}'"


def _without_repeated_options(message: str) -> str:
    """Drop from each parenthesis of options those the message has already named (and the
    parenthesis if nothing is left): ``pass --drop-missing (--drop-missing)`` → ``pass --drop-missing``."""
    pieces: list[str] = []
    said: set[str] = set()
    position = 0
    for match in _PARENTHETICAL.finditer(message):
        before = message[position:match.start()]
        said.update(_OPTION_MENTION.findall(before))
        pieces.append(before)
        position = match.end()
        parts = [part.strip() for part in re.split(r",|;| or ", match[1])]
        if not all(_OPTION_PHRASE.fullmatch(part) for part in parts):
            said.update(_OPTION_MENTION.findall(match[0]))
            pieces.append(match[0])
            continue
        kept = []
        for part in parts:
            option = _OPTION_MENTION.match(part)[0]
            if option not in said:
                kept.append(part)
                said.add(option)
        if kept:
            pieces.append(f"{' ' if match[0].startswith(' ') else ''}({', '.join(kept)})")
    pieces.append(message[position:])
    return "".join(pieces)


@functools.cache
def _spellings() -> dict[str, _Spelling]:
    """Each Python name an option sets (``max_iter``, ``standardize``, ``drop_missing``, ``format``), with
    that option: from the options of every command, so a new option is known as soon as it exists."""
    found: dict[str, tuple[str, bool | None, set[str]]] = {}
    for command, options in _spellings_by_command().items():
        for option, is_flag in options:
            if is_flag and option.startswith("--no-"):
                name, flag_value = option[len("--no-"):], False
            else:
                name, flag_value = option[2:], (True if is_flag else None)
            entry = found.setdefault(name.replace("-", "_"), (option, flag_value, set()))
            entry[2].add(command)
    return {name: _Spelling(option, flag_value, frozenset(commands))
            for name, (option, flag_value, commands) in found.items()}


@functools.cache
def _spellings_by_command() -> dict[str, tuple[tuple[str, bool], ...]]:
    """Every command's visible long options (``--help`` aside), each with whether it is a flag."""
    group = typer.main.get_command(app)
    table = {}
    for name, command in group.commands.items():
        table[name] = tuple(
            (option, bool(getattr(param, "is_flag", False)))
            for param in command.params
            if getattr(param, "param_type_name", None) == "option" and not getattr(param, "hidden", False)
            for option in param.opts
            if option.startswith("--") and option != "--help"
        )
    return table


class _Invocation:
    """The command being run, as its messages need it: its name (to give advice in its own options),
    and the temporary copy of standard input it read (removed when it ends, called ``<stdin>``)."""

    def __init__(self) -> None:
        self.command: str | None = None
        self.shown_names: dict[str, str] = {}
        self.stdin_copy: Path | None = None

    def begin(self, args: Sequence[str]) -> None:
        # The group has no options that take a value, so its first word that is not an option is the command.
        self.command = next((str(arg) for arg in args if not str(arg).startswith("-")), None)
        self.shown_names = {}
        self.stdin_copy = None

    def copy_stdin(self) -> Path:
        """Standard input, copied to a temporary file (once) that the messages call ``<stdin>``."""
        if self.stdin_copy is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise DataError("DATA is '-', standard input, but nothing is piped into it; pipe the data in, "
                                "as in 'cat data.csv | gradfit fit - --target y', or give a file name")
            with tempfile.NamedTemporaryFile(prefix="gradfit-stdin-", delete=False) as copy:
                self.stdin_copy = Path(copy.name)
                self.shown_names.update({copy.name: "<stdin>", self.stdin_copy.name: "<stdin>"})
                shutil.copyfileobj(getattr(sys.stdin, "buffer", sys.stdin), copy, STDIN_CHUNK_BYTES)
        return self.stdin_copy

    def end(self) -> None:
        if self.stdin_copy is not None:
            self.stdin_copy.unlink(missing_ok=True)
        self.begin([])  # a message translated afterwards (from Python, a test) is of no command


_invocation = _Invocation()


if __name__ == "__main__":
    main()
