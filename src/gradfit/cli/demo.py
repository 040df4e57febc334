"""``gradfit demo``: the article's gradient descent on its y = 2x + 1 example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gradfit.cli.group import _Command, app
from gradfit.cli.messages import _note, _warnings_to_stderr
from gradfit.cli.options import ForceOutOption, _check_out_files, _parse_learning_rate
from gradfit.cli.output import _print_demo, _print_json, _write_article_report, stdout


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
    explore: Annotated[
        bool,
        typer.Option("--explore", help="Also write explorer.html to --out: one offline page where you drive the same "
                     "gradient descent yourself (see 'gradfit explore')."),
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

    _check_out_files(out, ["data.png", "loss.png", *(["report.html"] if report else []),
                           *(["explorer.html"] if report or explore else [])], force=force)
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
        explorer_path = _write_explorer(run, out, written=report) if explore or report else None
    if json_output:
        extra = {"report": str(report_path)} if report_path is not None else {}
        if explorer_path is not None:
            extra["explorer"] = str(explorer_path)
        _print_json({**run.to_json(), "data_plot": str(data_plot), "loss_plot": str(loss_plot), **extra})
        return
    _print_demo(run, data_plot, loss_plot)
    if report_path is not None:
        stdout.print(f"Report: {escape(str(report_path))}")
    if explorer_path is not None:
        stdout.print(f"Explorer: {escape(str(explorer_path))}")


def _write_explorer(run, out: Path, *, written: bool) -> Path:
    """explorer.html on the run's own points; ``written``: the report has just written it beside itself."""
    from gradfit.explorer import EXPLORER_NAME, article_explorer, write_explorer

    return out / EXPLORER_NAME if written else write_explorer(article_explorer(seed=run.seed, data=(run.X, run.y)), out)
