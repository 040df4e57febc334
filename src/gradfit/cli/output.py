"""What the commands print and write: the tables (rich), one JSON object, the progress bar of a
streamed fit, the predictions (CSV or Parquet) and the article's report."""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from gradfit.cli.messages import _shown_name, in_command_line_syntax
from gradfit.cli.options import DEFAULT_REPORT_FRAMES, REFUSE_TO_REPLACE
from gradfit.fileio import write_atomically

if TYPE_CHECKING:
    import numpy as np

#: Standard output, through rich (markup, tables); errors, warnings and notes go to stderr (messages.py).
stdout = Console(highlight=False)

#: Coefficients the table of an svmlight fit shows (the largest in magnitude; --json and --save have all).
MAX_TABLE_COEFFICIENTS = 20
#: Named coefficients (CSV, Parquet) are all shown up to this many; past it, the largest as above.
MAX_NAMED_COEFFICIENTS = 50


#: Seconds between two updates of the loss shown beside the progress bar, at least ...
LOSS_INTERVAL = 0.5
#: ... and at least this many times what computing it took (an O(d³) solve), so that it costs under 5%.
LOSS_COST_RATIO = 20.0


def _name_list(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(name) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... {len(names)} in all"


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

    def __init__(self, update: Callable[..., None], source, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.update = update
        self.source = source
        self.clock = clock
        self.next_loss = clock() + LOSS_INTERVAL  # the first batches say little; let the rows show first

    def __call__(self, rows_done: int, rows_total: int | None) -> None:
        fields: dict = {"completed": rows_done, "total": rows_total, "rows": rows_done, "rows_total": rows_total}
        bytes_read = self.source.bytes_read  # a FileSource: None for Parquet
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


def least_squares_loss(stats) -> float | None:  # SufficientStats
    """``Σ r²/2m`` (target's units) of the exact least-squares fit, with an intercept, to the rows
    ``stats`` describes; None where it cannot be had. Solved from the statistics by the core, as a
    fit is (``solver="exact"`` on a source that only has statistics), never from the rows."""
    import numpy as np

    from gradfit.fitting import Settings, fit
    from gradfit.sources.stats import GatheredSource

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a display: whatever the partial data are, say nothing
            loss = fit(GatheredSource(stats), settings=Settings(solver="exact")).final_loss
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return None
    # Rounding can leave a perfect fit (fewer rows than parameters) a hair below zero.
    return max(float(loss), 0.0) if math.isfinite(loss) else None


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
    """Write the predictions through :func:`gradfit.fileio.write_atomically`: an error or Ctrl-C
    half-way leaves no partial file, and without ``force`` nothing is replaced, even a file that
    appeared meanwhile. Parquet for a ``.parquet`` name, CSV otherwise."""
    if output.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("prediction", pa.float64())])

        def write(handle) -> int:  # a binary file
            count = 0
            with pq.ParquetWriter(handle, schema) as writer:
                for values in predictions:
                    writer.write_table(pa.table({"prediction": values}, schema=schema))
                    count += len(values)
            return count

        return write_atomically(output, write, replace=force, refusal=REFUSE_TO_REPLACE)
    return write_atomically(output, lambda text: _write_csv_predictions(predictions, text), text=True,
                            replace=force, refusal=REFUSE_TO_REPLACE)


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


def _write_article_report(run, out: Path, *, sweep=None, frames: int = DEFAULT_REPORT_FRAMES) -> Path:
    """report.html of the article's run, and beside it the explorer on the same points, which it links to."""
    from gradfit.explorer import EXPLORER_NAME, article_explorer, write_explorer
    from gradfit.report import article_report, write_report

    write_explorer(article_explorer(seed=run.seed, data=(run.X, run.y)), out)
    return write_report(article_report(run, sweep=sweep, frames=frames, explorer=EXPLORER_NAME), out)


def _print_sweep(result) -> None:  # LearningRateSweep
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
    import numpy as np

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
