"""``gradfit report``: one self-contained HTML page of a gradient-descent fit, explained for learners."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gradfit.cli.group import _Command, app
from gradfit.cli.messages import _data_path, _shown_name, _warnings_to_stderr
from gradfit.cli.options import (
    DEFAULT_REPORT_FRAMES,
    MAX_REPORT_FRAMES,
    CsvArgument,
    DelimiterOption,
    DropMissingOption,
    FeaturesOption,
    ForceOutOption,
    LearningRatesOption,
    SeedOption,
    TargetOption,
    _check_out_files,
    _parse_delimiter,
    _parse_learning_rate,
    _parse_learning_rates,
    _parse_surface,
    _read_csv_for_toolkit,
    _refuse_csv_options,
)
from gradfit.cli.output import _print_json, _write_article_report, stdout


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
    _check_out_files(out, ["report.html", *(["explorer.html"] if path is None else [])], force=force)
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
            # One feature: the parameter space is the article's plane, so the explorer goes beside the report.
            explorer = None
            if len(table.feature_names) == 1:
                from gradfit.explorer import EXPLORER_NAME, csv_explorer, write_explorer

                _check_out_files(out, [EXPLORER_NAME], force=force)
                explorer = csv_explorer(path, table, shown_name=_shown_name(path), delimiter=separator)
            document = data_report(
                table.X, table.y, model, feature_names=table.feature_names, target_name=table.target,
                source=_shown_name(path), sweep=sweep_result, coordinates=coordinates, frames=frames, exact_command=command,
                explorer=None if explorer is None else EXPLORER_NAME,
            )
            if explorer is not None:
                write_explorer(explorer, out)
            report_path = write_report(document, out)
            reported_rate, data = model.learning_rate_, (table.X, table.y)
    if json_output:
        from gradfit.learning import certificate

        certified = certificate(*data, sweep_result, model)
        _print_json(_report_outcome(model, sweep_result.run_at(reported_rate), report_path, certified=certified))
        return
    stdout.print(f"Report: {escape(str(report_path))}")


def _fit_csv_for_report(path: Path, *, target, features, drop_missing: bool, seed: int | None,
                        learning_rate: float | str | None, learning_rates: list[float] | None, max_iter: int | None,
                        coordinates: tuple[str, str] | None, delimiter: str | None):
    """The CSV, the sweep (with the reported rate and 1/L among its rates) and the reported run: the
    sweep's run at that rate, fitted again with its path, so that the report and its table agree."""
    import numpy as np

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


def _report_outcome(model, run, report_path: Path, *, certified=None) -> dict:  # LinearRegression, SweepRun
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
