"""``gradfit fit``: a linear model fitted to CSV or Parquet files, streamed, or to an svmlight file."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from gradfit.cli.group import EXIT_NOT_CONVERGED, _Command, app
from gradfit.cli.messages import _data_path, _note, _shown_name, _warnings_to_stderr
from gradfit.cli.options import (
    _DEFAULTS,
    DataArgument,
    DelimiterOption,
    FileFormat,
    FormatOption,
    SolverName,
    _check_writable,
    _data_format,
    _parse_delimiter,
    _parse_features,
    _parse_learning_rate,
    _refuse_delimiter,
    _refuse_table_options,
    n_features_option,
)
from gradfit.cli.output import _print_fit, _print_json, _RowsColumn, _StreamProgress, stdout

if TYPE_CHECKING:
    from gradfit.fitting import FittedState, Settings


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
            "'sgd', 'minibatch' and 'adam' read the files once an epoch, shuffling rows within 64 MiB blocks."
        ),
    ] = SolverName(_DEFAULTS["solver"]),  # noqa: B008 - an enum member, made once: typer reads it as the default
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
        typer.Option(min=0.0, help="Stop once every coefficient and the intercept are within tol of their least-squares "
                     "values, relatively (streamed or with an L1 penalty: the coefficient vector, in norm); 0: make every update."),
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
    force: Annotated[bool, typer.Option("--force", help="Let --save or --checkpoint replace an existing file.")] = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the row order of --solver sgd, minibatch and adam: the same seed, the same model. "
                     "Default: one drawn afresh each run.", show_default=False),
    ] = None,
    keep_statistics: Annotated[
        bool,
        typer.Option("--keep-statistics", help="Keep the fit's d × d statistics in the --save file (about 25·d² bytes), "
                     "so that 'gradfit fit MORE.csv --target T --update MODEL' can add rows to it later, exactly."),
    ] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Keep the run's full state in this file (iterative solvers), replaced "
                     "atomically as it runs and when it is interrupted (Ctrl-C); --resume FILE finishes the same fit, "
                     "bit for bit.", show_default=False),
    ] = None,
    checkpoint_every: Annotated[
        str | None,
        typer.Option("--checkpoint-every", help="How often to write --checkpoint: a number of updates (1000) or of "
                     "seconds (30s, 5m). Default: every 60s.", show_default=False),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Go on from this --checkpoint file: the same data and settings; --max-iter "
                     "counts the updates it made.", show_default=False),
    ] = None,
    update: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Add the rows of the data to this saved model (saved with --keep-statistics) "
                     "and write it back in place (or to --save): the model of all its rows, as if fitted at once. "
                     "It keeps its own solver and settings.", show_default=False),
    ] = None,
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
    from gradfit.fitting import Settings
    from gradfit.solvers import STOCHASTIC_SOLVERS

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
        if target is None and update is None:  # --update takes the model's own
            raise typer.BadParameter("a CSV or Parquet file needs --target, the column to predict",
                                     param_hint="'--target'")
    if summary and alpha > 0:
        raise typer.BadParameter("a penalised fit (--alpha > 0) has no least-squares inference table: its "
                                 "coefficients are shrunk; drop --summary, or fit with --alpha 0 for the table",
                                 param_hint="'--summary'")
    if keep_statistics and save is None and update is None:  # --update keeps them anyway
        raise typer.BadParameter("--keep-statistics keeps them in the model file: give --save MODEL.json too",
                                 param_hint="'--keep-statistics'")
    if keep_statistics and update is None and (kind == "svmlight" or solver.value in STOCHASTIC_SOLVERS):
        why = ("an svmlight file is fitted by streaming passes, which gather no d × d statistics" if kind == "svmlight"
               else f"--update adds rows with the deterministic solvers only, not --solver {solver.value}")
        raise typer.BadParameter(f"{why}; drop --keep-statistics", param_hint="'--keep-statistics'")
    if update is not None:
        if checkpoint is not None or resume is not None:
            raise typer.BadParameter("--update adds statistics in one pass, with no run to checkpoint or resume; "
                                     "drop --checkpoint and --resume", param_hint="'--update'")
        return _update(update, path, target=target, kind=kind, save=save, force=force, drop_missing=drop_missing,
                       delimiter=separator, json_output=json_output, quiet=quiet, summary=summary,
                       chosen={"--solver": solver.value, "--learning-rate": rate, "--max-iter": max_iter, "--tol": tol,
                               "--no-standardize": no_standardize, "--alpha": alpha, "--l1-ratio": l1_ratio,
                               "--features": features})
    resumable = _resumable(checkpoint, checkpoint_every, resume, force=force, data=path)
    if save is not None:
        _check_writable(save, force=force, flag="--save", inputs=[path])
    # The core fits (no scikit-learn: about 0.8 s of start-up); the estimator is built from its state
    # only where a model is needed, to save it or for its summary.
    settings = Settings(solver=solver.value, learning_rate=rate, max_iter=max_iter, tol=tol,
                        standardize=not no_standardize, alpha=alpha, l1_ratio=l1_ratio, random_state=seed)
    show_progress = not (json_output or quiet) and sys.stderr.isatty()
    if kind == "svmlight":
        state, table = _fit_svmlight(settings, path, n_features=n_features, show_progress=show_progress,
                                     resumable=resumable)
    else:
        state, table = _fit_streamed(settings, path, target=target, features=feature_list, drop_missing=drop_missing,
                                     data_format=kind, show_progress=show_progress, delimiter=separator,
                                     resumable=resumable)
    if state.status == "interrupted":
        if checkpoint is not None:
            _note(f"interrupted after {state.n_iter:,} updates; the run's state is kept in {_shown_name(checkpoint)}: "
                  f"run the same command with --resume {_shown_name(checkpoint)} to finish this fit")
        raise KeyboardInterrupt
    # Before saving: a summary the fit cannot give (a streaming fit has no d × d statistics) is an
    # error, and a failed command leaves no model file behind. A fit that stopped short has no table
    # (its coefficients are not the least-squares answer), which the exit code and a note say.
    model = None
    if save is not None or (summary and state.converged):
        from gradfit.estimator import LinearRegression

        model = LinearRegression.from_fit(state, settings)
    inference = model.summary() if summary and state.converged else None
    if save is not None:
        _check_writable(save, force=force, flag="--save", inputs=[path])
        model.save(save, statistics=keep_statistics, target=table.target)
    return _report(state, table, inference, path=path, save=save, summary=summary, json_output=json_output)


def _report(state: FittedState, table, inference, *, path: Path, save: Path | None, summary: bool,
            json_output: bool) -> int | None:
    """Print a fit's result (table or JSON, and the summary where there is one); the exit code."""
    if table.n_dropped:
        _note(f"dropped {table.n_dropped} of {table.n_rows_read} rows with a missing value (--drop-missing)")
    names = table.feature_names
    result = {
        "target": table.target,
        "features": names,
        "n_features": int(state.n_features),
        "intercept": float(state.intercept),
        # svmlight columns have no names: the coefficients are a list, position = feature index
        "coef": [float(value) for value in state.coef] if names is None
        else {name: float(value) for name, value in zip(names, state.coef)},
        "n_samples": table.n_samples,
        "n_rows_read": table.n_rows_read,
        "n_dropped": table.n_dropped,
        "solver": state.solver,
        "learning_rate": state.learning_rate,
        "n_iter": int(state.n_iter),
        "converged": bool(state.converged),
        "error_bound": float(state.error_bound),
        "status": state.status,
        "final_loss": float(state.final_loss),
        "message": state.message,
        "engine": state.engine,
        "n_passes": int(state.n_passes),
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
    if not state.converged:
        if summary:
            _note("no --summary table: the fit did not converge, so its coefficients are not the least-squares "
                  "solution and standard errors or p values would describe the wrong numbers; use --solver auto")
        return EXIT_NOT_CONVERGED
    return None


@dataclass(frozen=True)
class _StreamedTable:
    """What ``fit`` reports about streamed files (the fields of a CsvTable it uses); no target or
    feature names for an svmlight file (the label is the target, the features are numbered)."""

    target: str | None
    feature_names: list[str] | None
    n_samples: int
    n_rows_read: int
    n_dropped: int = 0


def _update(model_path: Path, path: Path, *, target: str | None, kind: str, save: Path | None, force: bool,
            drop_missing: bool, delimiter: str | None, json_output: bool, quiet: bool, summary: bool,
            chosen: dict) -> int | None:
    """``fit DATA --update MODEL``: the saved model's statistics plus those of DATA's rows, solved with
    the model's own settings, written back atomically (to --save where given)."""
    from gradfit import load
    from gradfit.estimator import LinearRegression

    if kind == "svmlight":
        raise typer.BadParameter("an svmlight file is fitted by streaming passes, which keep no d × d statistics "
                                 "to add rows to; fit all the rows at once", param_hint="'--update'")
    given = [option for option, value in chosen.items() if value is not None and value != _UPDATE_DEFAULTS[option]]
    if given:
        raise typer.BadParameter(f"--update goes on with the saved model's own settings; drop {', '.join(given)}",
                                 param_hint="'--update'")
    model = load(model_path)
    from gradfit.solvers import STOCHASTIC_SOLVERS

    if model.solver in STOCHASTIC_SOLVERS:
        raise typer.BadParameter(f"{model_path} was fitted by --solver {model.solver}, which steps on rows rather than "
                                 "statistics; fit all the rows with --solver auto, or keep a long run going with "
                                 "--checkpoint FILE and --resume FILE", param_hint="'--update'")
    if getattr(model, "_stats", None) is None:
        raise typer.BadParameter(f"{model_path} keeps no statistics to add rows to: it was saved without "
                                 "--keep-statistics; fit all the rows once with --save MODEL.json --keep-statistics",
                                 param_hint="'--update'")
    saved_target = getattr(model, "_target_name", None)
    if target is None and saved_target is not None:
        target = saved_target  # the model's own
    elif saved_target is not None and target != saved_target:
        raise typer.BadParameter(f"{model_path} predicts {saved_target!r}, not {target!r}: rows of another target "
                                 f"would be mixed into its statistics; give --target {saved_target}",
                                 param_hint="'--target'")
    if target is None:
        raise typer.BadParameter(f"{model_path} does not name its target: give --target, the column it predicts",
                                 param_hint="'--target'")
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise typer.BadParameter(f"{model_path} has no feature names to pick the columns of the data by",
                                 param_hint="'--update'")
    in_place = save is None or (save.exists() and save.samefile(model_path))
    written = model_path if in_place else save
    if not in_place:
        _check_writable(save, force=force, flag="--save", inputs=[path, model_path])
    settings = model_settings(model)
    state, table = _fit_streamed(settings, path, target=target, features=[str(name) for name in names],
                                 drop_missing=drop_missing, data_format=kind, delimiter=delimiter,
                                 show_progress=not (json_output or quiet) and sys.stderr.isatty(), stats=model._stats)
    if state.status == "interrupted":
        raise KeyboardInterrupt
    updated = LinearRegression.from_fit(state, settings)
    updated.save(written, statistics=True, target=target)
    size = written.stat().st_size
    _note(f"added {table.n_samples:,} rows to the {state.stats.n_samples - table.n_samples:,} of {_shown_name(model_path)}; "
          f"{_shown_name(written)} holds the model of all {state.stats.n_samples:,} rows, with its d × d statistics "
          f"({size:,} bytes)")
    inference = updated.summary() if summary and state.converged else None
    # The model is of all its rows; the rows read are this file's.
    table = replace(table, n_samples=state.stats.n_samples)
    return _report(state, table, inference, path=path, save=written, summary=summary, json_output=json_output)


#: What the options that --update refuses to change are when not given.
_UPDATE_DEFAULTS = {"--solver": _DEFAULTS["solver"], "--learning-rate": _DEFAULTS["learning_rate"],
                    "--max-iter": _DEFAULTS["max_iter"], "--tol": _DEFAULTS["tol"], "--no-standardize": False,
                    "--alpha": _DEFAULTS["alpha"], "--l1-ratio": _DEFAULTS["l1_ratio"], "--features": None}


def model_settings(model) -> Settings:  # a LinearRegression
    """The settings a saved model was fitted with."""
    from gradfit.fitting import Settings

    params = model.get_params(deep=False)
    return Settings(**{name: params[name] for name in Settings.__dataclass_fields__})


def _resumable(checkpoint: Path | None, every: str | None, resume: Path | None, *, force: bool, data: Path) -> dict:
    """The checkpoint writer and the file to resume from, as :func:`_fit` takes them; the checkpoint's
    file checked before any work (as --save's: never the data, an existing file only with --force or
    when it is the one resumed)."""
    from gradfit.checkpoints import CheckpointFile

    if every is not None and checkpoint is None:
        raise typer.BadParameter("--checkpoint-every says how often to write --checkpoint FILE; give it too",
                                 param_hint="'--checkpoint-every'")
    writer = None
    if checkpoint is not None:
        updates, seconds = _parse_every(every)
        resumed = resume is not None and resume.exists() and checkpoint.exists() and resume.samefile(checkpoint)
        _check_writable(checkpoint, force=force or resumed, flag="--checkpoint", inputs=[data])
        writer = CheckpointFile(checkpoint, every_updates=updates, every_seconds=seconds, replace=True)
    return {"checkpoint": writer, "resume": resume}


def _parse_every(text: str | None) -> tuple[int | None, float | None]:
    """``1000`` (updates), ``30s`` or ``5m`` (seconds); (None, None) for the default; a usage error otherwise."""
    if text is None:
        return None, None
    value = text.strip().lower()
    try:
        if value.endswith("s"):
            seconds = float(value[:-1])
        elif value.endswith("m"):
            seconds = 60 * float(value[:-1])
        else:
            updates = int(value)
            if updates < 1:
                raise ValueError
            return updates, None
        if not (seconds > 0 and seconds < float("inf")):
            raise ValueError
        return None, seconds
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither a number of updates (1000) nor of seconds (30s, 5m)",
                                 param_hint="'--checkpoint-every'") from None


def _fit(X, y=None, *, settings: Settings, stats=None, checkpoint=None, resume=None) -> FittedState:  # arrays, a sparse matrix or a FileSource
    """:func:`gradfit.fitting.fit`, as the estimator's ``fit`` runs it for arrays and sources the
    command line has checked (the settings check their own ranges when made), and the fit's warnings
    raised, for :func:`_warnings_to_stderr` to show."""
    from gradfit.fitting import fit, partial_fit

    if stats is not None:
        state = partial_fit(X, y, settings=settings, stats=stats)
    else:
        try:
            state = fit(X, y, settings=settings, checkpoint=checkpoint, resume=resume)
        except KeyboardInterrupt:
            if checkpoint is not None and checkpoint.written:  # interrupted in the pass over the files
                name = _shown_name(checkpoint.path)
                _note(f"interrupted while reading the files; the files read whole are kept in {name}: run the "
                      f"same command with --resume {name} to go on after them")
            raise
    for message, _kind in state.warnings:
        warnings.warn(message, stacklevel=2)
    return state


def _fit_svmlight(settings: Settings, path: Path, *, n_features: int | None,
                  show_progress: bool, resumable: dict) -> tuple[FittedState, _StreamedTable]:
    """Fit an svmlight file read as a sparse matrix (streamed: engine "streaming"); a spinner on stderr
    while reading and fitting when ``show_progress``."""
    from gradfit import engine
    from gradfit.sources.svmlight import read_svmlight

    columns = [TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not show_progress) as bar:
        task = bar.add_task(f"reading {escape(_shown_name(path))}", total=None)
        data = read_svmlight(path, n_features=n_features, spell_width=n_features_option,
                             memory=(engine.streaming_bytes, engine.available_memory))
        n_rows, width = data.X.shape
        bar.update(task, description=f"fitting {n_rows:,} rows × {width:,} features ({data.X.nnz:,} stored values)")
        with _warnings_to_stderr():
            state = _fit(data.X, data.y, settings=settings, **resumable)
    return state, _StreamedTable(None, None, n_rows, n_rows)


def _fit_streamed(settings: Settings, path: Path, *, target: str, features: list[str] | None,
                  drop_missing: bool, data_format: str, show_progress: bool,
                  delimiter: str | None = None, stats=None, resumable: dict | None = None
                  ) -> tuple[FittedState, _StreamedTable]:
    """Fit files streamed through pyarrow, with a progress bar on stderr when ``show_progress``; with
    ``stats`` (a saved model's), their rows added to those (:func:`gradfit.fitting.partial_fit`)."""
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
            state = _fit(source, settings=settings, stats=stats, **(resumable or {}))
    return state, _StreamedTable(target, list(source.feature_names), source.n_samples, source.n_rows_read,
                                 source.n_dropped)
