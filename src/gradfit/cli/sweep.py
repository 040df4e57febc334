"""``gradfit sweep``: gradient descent at several learning rates, compared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gradfit.cli.group import _Command, app
from gradfit.cli.messages import _data_path, _shown_name, _warnings_to_stderr
from gradfit.cli.options import (
    DEFAULT_SWEEP_TOL,
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
    _parse_learning_rates,
    _read_csv_for_toolkit,
    _refuse_csv_options,
)
from gradfit.cli.output import _print_json, _print_sweep, stdout


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


def _run_sweep(path: Path | None, *, target, features, drop_missing: bool, seed: int | None,
               learning_rates: list[float] | None, max_iter: int, tol: float, delimiter: str | None):
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
