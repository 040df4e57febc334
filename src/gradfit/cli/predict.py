"""``gradfit predict``: predictions of a saved model, streamed to stdout or to a file."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

import gradfit
from gradfit.cli.group import _Command, app
from gradfit.cli.messages import _data_path, _warnings_to_stderr
from gradfit.cli.options import DelimiterOption, FileFormat, FormatOption, _check_writable, _data_format, _parse_delimiter, _refuse_delimiter, n_features_option
from gradfit.cli.output import _name_list, _write_csv_predictions, _write_predictions_file, stdout
from gradfit.errors import DataError


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
    from gradfit.sources.svmlight import read_svmlight

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
        blocks: Iterable = [read_svmlight(path, n_features=model.n_features_in_, model_path=model_path,
                                             spell_width=n_features_option).X]
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
