"""The ``gradfit`` command: ``demo``, ``fit`` and ``predict``. The only module importing typer and rich.

The commands are thin: they parse options, call the library, and print. The library raises typed
errors; :func:`main` turns each into one line on stderr, ``error: <message>``, and an exit code.
Warnings the library raises (a ``ConvergenceWarning``, for example) become one line each,
``warning: <message>``, on stderr.

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
130
    Interrupted (Ctrl-C).
"""

from __future__ import annotations

import enum
import errno
import json
import math
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Sequence

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import gradfit
from gradfit.errors import DataError, DivergenceError, GradfitError
from gradfit.estimator import DIRECT_SOLVERS, LinearRegression
from gradfit.solvers import SOLVERS
from gradfit.solvers.gd import LINE_SEARCHES
from gradfit.sources.files import read_csv_table

__all__ = ["app", "main", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Set (to anything but empty or 0) to get the traceback of an unexpected error instead of one line.
DEBUG_VARIABLE = "GRADFIT_DEBUG"

#: The estimator's defaults, shown in ``--help`` and used when an option is left out.
_DEFAULTS = LinearRegression().get_params()

SolverName = enum.Enum(
    "SolverName", {name: name for name in sorted(set(SOLVERS) | set(DIRECT_SOLVERS) | {"auto"})}, type=str
)

app = typer.Typer(
    name="gradfit",
    help="Linear regression by gradient descent: the article's example, and fitting your own CSV files.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

stdout = Console(highlight=False)


# --- commands ------------------------------------------------------------------------------------


@app.command()
def demo(
    seed: Annotated[
        int | None, typer.Option(help="Seed of the article's 100 random points. Default: fresh data each run.")
    ] = None,
    learning_rate: Annotated[
        str | None,
        typer.Option(
            "--learning-rate",
            help="Step size α in the article's raw scale, a positive number or 'auto' (1/L). Default: the article's 0.01.",
            show_default=False,
        ),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(min=1, help="Gradient-descent updates to make. Default: the article's 1000.", show_default=False),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", file_okay=False, help="Folder for data.png and loss.png (created; those two files are replaced)."
        ),
    ] = Path("demo-output"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the run and the figure paths) instead of the summary.")
    ] = False,
) -> None:
    """Run the article's gradient descent on its y = 2x + 1 example and show how far it gets.

    Writes a figure of the data with the fitted line, and one of the cost per update.
    """
    from gradfit.article import run_article
    from gradfit.plots import plot_data_fit, plot_loss

    options: dict = {"seed": seed}
    if learning_rate is not None:
        options["learning_rate"] = _parse_learning_rate(learning_rate)
    if iterations is not None:
        options["iterations"] = iterations
    with _warnings_to_stderr():
        run = run_article(**options)
        if run.model.status_ == "interrupted":
            raise KeyboardInterrupt
        data_plot = plot_data_fit(run.X, run.y, run.model, out / "data.png")
        loss_plot = plot_loss(run.model, out / "loss.png", optimum_loss=run.optimum_loss)
    if json_output:
        _print_json({**run.to_json(), "data_plot": str(data_plot), "loss_plot": str(loss_plot)})
        return
    _print_demo(run, data_plot, loss_plot)


@app.command()
def fit(
    path: Annotated[
        Path, typer.Argument(metavar="CSV", help="CSV file with a header line naming the columns.", show_default=False)
    ],
    target: Annotated[str, typer.Option(help="Name of the column to predict.", show_default=False)],
    features: Annotated[
        str | None,
        typer.Option(help="Comma-separated feature columns, e.g. 'a,b'. Default: every column but the target."),
    ] = None,
    solver: Annotated[
        SolverName,
        typer.Option(
            help="'gd': gradient descent; 'exact': the least-squares solution directly; 'auto': the fastest that "
            "reaches --tol (the output says which ran). The others are the registry's iterative solvers."
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
        bool, typer.Option("--drop-missing", help="Leave out rows with a missing value in a used column.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    save: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write the fitted model to this JSON file (see 'gradfit predict')."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --save replace an existing file.")] = False,
) -> None:
    """Fit a linear model to a CSV file and print its coefficients."""
    feature_list = _parse_features(features)
    rate = _parse_learning_rate(learning_rate)
    if save is not None:
        _check_writable(save, force=force, flag="--save")
    table = read_csv_table(path, target=target, features=feature_list, drop_missing=drop_missing)
    model = LinearRegression(
        solver=solver.value,
        learning_rate=rate,
        max_iter=max_iter,
        tol=tol,
        standardize=not no_standardize,
        alpha=alpha,
        l1_ratio=l1_ratio,
    )
    with _warnings_to_stderr():
        model.fit(table.X, table.y)
    if model.status_ == "interrupted":
        raise KeyboardInterrupt
    # Fitted on a plain array, the estimator cannot know the CSV's column names; record them as
    # scikit-learn does for a DataFrame, so that the saved model can pick its columns when predicting.
    model.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    if save is not None:
        _check_writable(save, force=force, flag="--save")
        model.save(save)
    if table.n_dropped:
        _note(f"dropped {table.n_dropped} of {table.n_rows_read} rows with a missing value (--drop-missing)")
    result = {
        "target": table.target,
        "features": table.feature_names,
        "intercept": float(model.intercept_),
        "coef": {name: float(value) for name, value in zip(table.feature_names, model.coef_)},
        "n_samples": table.n_samples,
        "n_rows_read": table.n_rows_read,
        "n_dropped": table.n_dropped,
        "solver": model.solver_,
        "learning_rate": model.learning_rate_,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "status": model.status_,
        "final_loss": float(model.final_loss_),
        "message": model.message_,
        "saved": None if save is None else str(save),
    }
    inference = model.summary() if summary else None
    if inference is not None:
        result["summary"] = inference.to_dict()
    if json_output:
        _print_json(result)
    else:
        _print_fit(result)
        if inference is not None:
            stdout.print(escape(str(inference)), highlight=False)


@app.command()
def predict(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by 'gradfit fit --save'.", show_default=False)
    ],
    path: Annotated[
        Path,
        typer.Argument(metavar="CSV", help="CSV file with a column for each of the model's features.", show_default=False),
    ],
    output: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Write the predictions to this file instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --output replace an existing file.")] = False,
) -> None:
    """Predict from a saved model: one CSV column, 'prediction', one row per row of the input."""
    if output is not None:
        _check_writable(output, force=force, flag="--output")
    model = gradfit.load(model_path)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise DataError(
            f"{model_path}: the model has no feature names (it was fitted on an unnamed array), so the "
            "CSV's columns cannot be matched to it; fit it with 'gradfit fit' or on a named table"
        )
    table = read_csv_table(path, target=None, features=[str(name) for name in names])
    with _warnings_to_stderr(), warnings.catch_warnings():
        # The columns were just picked by name, so the array is in the model's order already.
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        predictions = model.predict(table.X)
    lines = "".join(f"{float(value)!r}\n" for value in predictions)
    text = "prediction\n" + lines
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(output, "w" if force else "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
    stdout.print(f"wrote {len(predictions)} predictions to {escape(str(output))}")


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


def _parse_features(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise typer.BadParameter(f"{text!r} has an empty name; give names separated by commas", param_hint="'--features'")
    return names


def _check_writable(path: Path, *, force: bool, flag: str) -> None:
    """Refuse to replace an existing file unless ``--force``; never replace a folder."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"is a folder; give {flag} a file name", str(path))
    if path.exists() and not force:
        raise FileExistsError(errno.EEXIST, "already exists; pass --force to replace it, or choose another name", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"the folder {path.parent} does not exist", str(path))


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
                message = _one_line(str(record.message))
                if message not in seen:
                    seen.add(message)
                    print(f"warning: {message}", file=sys.stderr)


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _fail(message: str, code: int) -> int:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return code


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


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

    criterion = f"{run.grad_tol:.3g} (tol {run.tol:g} × ‖∇J(0)‖)"
    if run.converged:
        stdout.print(f"[bold green]Converged[/]: {run.iterations} updates at {alpha} reach the optimum.")
        stdout.print(f"  gradient norm {run.grad_norm:.3g} ≤ {criterion} after {_updates(run.updates_needed)}")
    else:
        ratio = run.grad_norm / run.grad_tol if run.grad_tol > 0 else math.inf
        stdout.print(
            f"[bold red]Did NOT converge[/]: {run.iterations} updates at {alpha} stop short of the optimum."
        )
        stdout.print(f"  gradient norm {run.grad_norm:.3g} is {ratio:,.0f}× the tolerance {criterion}")
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


def _updates(count: int | None) -> str:
    return "more than a million updates" if count is None else f"{count:,} updates"


def _print_fit(result: dict) -> None:
    table = Table(title=escape(f"Linear model for {result['target']!r}"), title_justify="left", show_edge=False)
    table.add_column("term")
    table.add_column("coefficient", justify="right")
    for name, value in result["coef"].items():
        table.add_row(escape(name), f"{value:.10g}")
    table.add_row("(intercept)", f"{result['intercept']:.10g}")
    stdout.print(table)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    samples = str(result["n_samples"])
    if result["n_dropped"]:
        samples += f" ({result['n_dropped']} of {result['n_rows_read']} rows dropped for missing values)"
    facts.add_row("n_samples", samples)
    facts.add_row("solver", result["solver"])
    facts.add_row("n_iter", str(result["n_iter"]))
    converged = "[green]yes[/]" if result["converged"] else "[red]no[/]"
    facts.add_row("converged", converged)
    facts.add_row("final_loss", f"{result['final_loss']:.6g}  (Σ r² / 2m)")
    facts.add_row("message", escape(result["message"]))
    if result["saved"]:
        facts.add_row("saved to", escape(result["saved"]))
    stdout.print(facts)


if __name__ == "__main__":
    main()
