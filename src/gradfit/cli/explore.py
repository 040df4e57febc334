"""``gradfit explore``: the explorer, one offline page where a learner drives gradient descent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gradfit.cli.group import _Command, app
from gradfit.cli.messages import _data_path, _shown_name, _warnings_to_stderr
from gradfit.cli.options import (
    CsvArgument,
    DelimiterOption,
    DropMissingOption,
    ForceOutOption,
    TargetOption,
    _check_out_files,
    _parse_delimiter,
    _read_csv_for_toolkit,
    _refuse_csv_options,
)
from gradfit.cli.output import stdout

#: The explorer's file name (gradfit.explorer.EXPLORER_NAME, written out so that --help imports nothing).
EXPLORER_FILE = "explorer.html"


@app.command(cls=_Command)
def explore(
    path: CsvArgument = None,
    target: TargetOption = None,
    feature: Annotated[
        str | None,
        typer.Option("--feature", help="The one feature column of the CSV to fit the target on (plus an intercept). "
                     "Default: the CSV's only column besides the target.", show_default=False),
    ] = None,
    drop_missing: DropMissingOption = False,
    delimiter: DelimiterOption = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the article's 100 random points (without a CSV); 0 is the article's run.")
    ] = 0,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False,
                           help="Folder for explorer.html (created if need be; an explorer.html there is replaced only with --force).")
    ] = Path("explorer-output"),
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the web browser once written.")] = False,
    force: ForceOutOption = False,
) -> None:
    """Write the explorer: one self-contained web page where you drive gradient descent yourself.

    Set the learning rate (1/L and 2/L marked), the momentum (heavy ball or Nesterov), the updates and the
    start point, step, play or reset, switch to standardized coordinates, and watch the path on the cost
    bowl, the line on the data and the cost per update, with a verdict in words. The page computes with
    gradfit's own update rules on the data's exact sums; it loads nothing from the network and opens offline.
    With a CSV it fits the target on one feature (the CSV is read into memory; the page shows at most 2,000
    of its points).
    """
    from gradfit.explorer import article_explorer, csv_explorer, write_explorer

    separator = _parse_delimiter(delimiter)
    path = _data_path(path)
    _check_out_files(out, [EXPLORER_FILE], force=force)
    with _warnings_to_stderr():
        if path is None:
            _refuse_csv_options(target=target, features=feature, drop_missing=drop_missing, delimiter=delimiter)
            document = article_explorer(seed=seed)
        else:
            table = _read_csv_for_toolkit(path, target=target, features=feature or _only_feature(path, target, separator),
                                          drop_missing=drop_missing, seed=None, delimiter=separator)
            document = csv_explorer(path, table, shown_name=_shown_name(path), delimiter=separator)
    page = write_explorer(document, out)
    stdout.print(f"Explorer: {escape(str(page))}")
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


def _only_feature(path: Path, target: str | None, delimiter: str | None) -> str:
    """The CSV's one column besides the target; a usage error naming the columns where there are more."""
    from gradfit.sources.files.csv_text import sniff_delimiter

    if target is None:
        raise typer.BadParameter("a CSV needs --target, the column to predict", param_hint="'--target'")
    with open(path, encoding="utf-8-sig") as handle:
        names = [name.strip().strip('"') for name in handle.readline().rstrip("\r\n").split(delimiter or sniff_delimiter(path))]
    others = [name for name in names if name != target]
    if len(others) != 1:
        raise typer.BadParameter(f"the explorer fits the target on one feature; name it with --feature (one of: "
                                 f"{', '.join(others)})", param_hint="'--feature'")
    return others[0]
