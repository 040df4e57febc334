"""Picking the used columns of a table by name: the one set of checks every file reader shares.

The readers (:func:`gradfit.sources.files.csv_text.read_csv_table`, :class:`gradfit.sources.files.FileSource`
and the prediction batches of :func:`gradfit.sources.files.feature_batches`) each know their
file's column names; this module turns ``target`` and ``features`` into the feature columns, or a
one-line :class:`~gradfit.errors.DataError` that names the file and lists the columns there are, and
checks that the files of a directory all have the same columns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from gradfit.errors import DataError

__all__ = ["select_features", "list_columns", "check_same_columns"]


def list_columns(names: Iterable[str]) -> str:
    """Column names as error messages show them: ``'a', 'b c', 'y'`` (quoted, so blanks and commas show)."""
    return ", ".join(repr(name) for name in names)


def select_features(
    file: str | os.PathLike,
    names: list[str],
    *,
    target: str | None,
    features: list[str] | None,
    hidden: frozenset[str] = frozenset(),
    feature_role: str = "asked for as a feature",
) -> list[str]:
    """The feature columns, in the order wanted, checked against the file's column ``names``.

    Parameters
    ----------
    file : str or path-like
        Named in the messages.
    names : list of str
        The file's columns, in the file's order.
    target : str or None
        The column to predict; None when only features are read (to predict from them).
    features : list of str or None
        The feature columns asked for; None takes every column but ``target`` and ``hidden``.
    hidden : frozenset of str
        Columns that are not data (a pandas index stored in Parquet), left out of the default features.
    feature_role : str
        How a missing feature was asked for, in the message (``"a feature of the model"`` when predicting).

    Returns
    -------
    list of str

    Raises
    ------
    DataError
        The target or a feature is not a column (the message lists the columns there are), the
        target is the only column, no features were given, a feature is listed twice, or the
        target is also listed as a feature.

    Examples
    --------
    >>> select_features("data.csv", ["a", "y", "b"], target="y", features=None)
    ['a', 'b']
    >>> select_features("data.csv", ["a", "y"], target="y", features=["c"])
    Traceback (most recent call last):
    ...
    gradfit.errors.DataError: data.csv: no column named 'c' (asked for as a feature); the columns are: 'a', 'y'
    """
    available = list_columns(names)
    if target is not None and target not in names:
        raise DataError(f"{file}: no column named {target!r} for the target; the columns are: {available}")
    if features is None:
        chosen = [name for name in names if name != target and name not in hidden]
        if not chosen:
            raise DataError(f"{file}: the only column is the target {target!r}; there are no feature columns")
        return chosen
    chosen = list(features)
    if not chosen:
        raise DataError("no feature columns were given; name at least one, or leave the list out to use all")
    if not all(isinstance(name, str) for name in chosen):
        raise DataError(f"features must be column names (str); got {features!r}")
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise DataError(f"{file}: no column named {list_columns(unknown)} ({feature_role}); the columns are: {available}")
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        raise DataError(f"feature {list_columns(repeated)} is listed more than once; list each once")
    if target is not None and target in chosen:
        raise DataError(f"column {target!r} is both the target and a feature; leave it out of the features")
    return chosen


def check_same_columns(
    first: str | os.PathLike, first_names: list[str], file: str | os.PathLike, names: list[str]
) -> None:
    """Every part has the columns of the first (in any order)."""
    missing = [name for name in first_names if name not in names]
    if missing:
        raise DataError(
            f"{file}: has no column {missing[0]!r}, which {first} has; every file must have the same "
            "columns (rewrite this part, or move it out of the directory)"
        )
    extra = [name for name in names if name not in first_names]
    if extra:
        raise DataError(
            f"{file}: has a column {extra[0]!r} that {first} has not; every file must have the same "
            "columns (rewrite this part, or move it out of the directory)"
        )
