"""Fitted models as versioned, human-readable JSON; never pickle.

A model file is one JSON object::

    {
      "format": "gradfit-model",
      "format_version": 1,
      "gradfit_version": "0.1.0",
      "params": {"solver": "gd", "learning_rate": "auto", ...},    # LinearRegression.get_params()
      "n_features_in": 2,
      "feature_names": ["rooms", "area"],                          # or null
      "coef": [2.0999999999999996, -0.5],
      "intercept": 1.0,
      "n_iter": 37, "converged": true, "status": "tol", "message": "...",
      "final_loss": 0.0061,
      "loss_history": [...],                                      # loss_history_
      "history": {"loss": [...], "grad_norm": [...], "step_size": [...], "elapsed": [...]},
      "learning_rate": 1.0, "lipschitz": 1.0, "condition_number": "inf",
      "summary": {"n_samples": 100, "r_squared": 0.99, ..., "terms": [...]},  # or null
      "statistics": {"n_samples": 100, "weight": 100.0, "xx": [[...], ...], ...}   # only if asked for
    }

Numbers are written with Python's shortest round-tripping repr, so every float64 (negative zero and
subnormals included) reads back bit for bit and a loaded model predicts exactly what the saved one
did. JSON has no infinities or NaN: a non-finite float is written as the string ``"inf"``, ``"-inf"``
or ``"nan"`` (in ``params`` too) and read back as the float. ``learning_rate``, ``lipschitz`` and
``condition_number`` are ``null`` when the solver has none (``"exact"``). ``summary`` is the
inference table (:meth:`~gradfit.summary.ModelSummary.to_dict`) of ``coef`` and ``intercept``,
so that a loaded model's ``summary()`` gives what the fitted one did; it is ``null`` where the model
has none (a streaming fit gathers no d × d statistics) or it could not be computed (no rows,
coefficients that are not finite), and absent from files written before it was added (they load
without it).

``statistics``, written only where the saver asks for it (``save(path, statistics=True)``,
``--keep-statistics``), holds the fit's sufficient statistics (:class:`~gradfit.sources.stats.SufficientStats`:
count, weight, means as origin + offset, the centred d × d cross-products ``xx``, ``xy``, ``yy``, the
powers of two the columns were scaled by), bit for bit, so that ``partial_fit`` (``gradfit fit
--update``) can add rows to the loaded model exactly. It costs d² numbers: about 25·d² bytes.

Anything that is not such a file is refused with :class:`~gradfit.errors.ModelFileError` (a
``ValueError``) and a one-line message that names the problem.

This module knows documents, not estimators: it turns a model's parameters and fitted state (dicts,
as :meth:`~gradfit.LinearRegression.get_params` and :meth:`~gradfit.LinearRegression.fitted_state`
give them) into a file and back, checking the file's structure and numbers. The estimator, which owns
what its parameters and state mean, calls down into it (:func:`gradfit.estimator.save_model`,
:func:`gradfit.estimator.load_model`), so the import points one way.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gradfit._version import __version__
from gradfit.errors import ModelFileError
from gradfit.fileio import check_parent_folder, write_atomically
from gradfit.history import History
from gradfit.sources.stats import SufficientStats
from gradfit.summary import ModelSummary, same_terms

__all__ = ["FORMAT", "FORMAT_VERSION", "write_model", "read_model"]

#: Value of the ``"format"`` field.
FORMAT = "gradfit-model"
#: The newest file layout this gradfit writes and reads.
FORMAT_VERSION = 1

#: How the non-finite floats are spelled in a file (JSON numbers cannot hold them).
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}

#: Pickle streams of protocol 2 and later begin with the PROTO opcode and the protocol number.
_PICKLE_PROTO = 0x80


# ----------------------------------------------------------------------------------------- saving


def write_model(
    path: str | os.PathLike[str],
    *,
    params: dict[str, Any],
    state: dict[str, Any],
    summary: Callable[[], dict[str, Any] | None],
    statistics: SufficientStats | None = None,
    target: str | None = None,
) -> None:
    """Write a fitted model's parameters and state to ``path`` as versioned JSON.

    The file is written next to ``path`` under a temporary name and moved into place with
    :func:`os.replace`, so a crash leaves either the old file or the complete new one.

    Parameters
    ----------
    path : str or path-like
        Where to write; an existing file is replaced.
    params : dict
        The model's parameters by name (``get_params(deep=False)``).
    state : dict
        Its fitted attributes by name (``fitted_state()``).
    summary : callable
        Gives the inference table as :meth:`~gradfit.summary.ModelSummary.to_dict` writes it, or None
        where the model has none; asked for last, once the parameters and numbers are known to be
        savable (a parameter set behind ``set_params``' back may keep the table from being computed).
    statistics : SufficientStats or None
        Kept in the file where given (see the module's notes), for ``partial_fit`` after loading.
    target : str or None
        The name of the column the model predicts, where it was fitted on named columns (the command
        line's files): ``"target"`` in the file, so that rows added later are of the same target.

    Raises
    ------
    ModelFileError
        When ``coef_`` or ``intercept_`` is not finite, or a parameter holds a value JSON cannot
        represent (a callable, an array, ...).
    """
    if not (np.all(np.isfinite(state["coef_"])) and np.isfinite(state["intercept_"])):
        raise ModelFileError(
            "cannot save a model whose coef_ or intercept_ holds NaN or infinity: it would predict nothing "
            "useful; fit it again"
        )
    document = _document(params, state, summary)
    if statistics is not None:
        document["statistics"] = _encode_statistics(statistics)
    if target is not None:
        document["target"] = str(target)
    _write_atomically(Path(path), _encode_document(document).encode("utf-8"))


def _document(
    params: dict[str, Any], state: dict[str, Any], summary: Callable[[], dict[str, Any] | None]
) -> dict[str, Any]:
    history: History = state["history_"]
    names = state["feature_names_in_"]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gradfit_version": __version__,
        "params": {name: _encode_param(name, value) for name, value in params.items()},
        "n_features_in": int(state["n_features_in_"]),
        "feature_names": None if names is None else [str(name) for name in names],
        "coef": _encode_floats(state["coef_"]),
        "intercept": _encode_float(state["intercept_"]),
        "n_iter": int(state["n_iter_"]),
        "converged": bool(state["converged_"]),
        "status": str(state["status_"]),
        "solver": str(state["solver_"]),
        "message": str(state["message_"]),
        "final_loss": _encode_float(state["final_loss_"]),
        "loss_history": _encode_floats(state["loss_history_"]),
        "history": {
            "loss": _encode_floats(history.loss),
            "grad_norm": _encode_floats(history.grad_norm),
            "step_size": _encode_floats(history.step_size),
            "elapsed": _encode_floats(history.elapsed),
        },
        "learning_rate": _encode_optional_float(state["learning_rate_"]),
        "lipschitz": _encode_optional_float(state["lipschitz_"]),
        "condition_number": _encode_optional_float(state["condition_number_"]),
        "summary": summary(),
    }


def _encode_statistics(stats: SufficientStats) -> dict[str, Any]:
    return {
        "n_samples": int(stats.n_samples),
        "weight": _encode_float(stats.weight),
        "x_origin": _encode_floats(stats.x_origin),
        "x_offset": _encode_floats(stats.x_offset),
        "y_origin": _encode_float(stats.y_origin),
        "y_offset": _encode_float(stats.y_offset),
        "xx": [_encode_floats(row) for row in stats.xx],
        "xy": _encode_floats(stats.xy),
        "yy": _encode_float(stats.yy),
        "x_scale": _encode_floats(stats.x_scale),
        "y_scale": _encode_float(stats.y_scale),
    }


def _encode_float(value) -> float | str:
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _encode_optional_float(value) -> float | str | None:
    return None if value is None else _encode_float(value)


def _encode_floats(values) -> list[float | str]:
    return [_encode_float(value) for value in np.asarray(values, dtype=np.float64).reshape(-1).tolist()]


def _encode_param(name: str, value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _encode_float(value)
    raise ModelFileError(
        f"cannot save parameter {name!r}: its value is a {type(value).__name__}, and a model file holds "
        f"only numbers, strings, booleans and null"
    )


def _encode_document(document: dict[str, Any]) -> str:
    """Indented JSON with every list on one line, so a long loss history stays readable."""

    def encode(value, indent: str) -> str:
        if isinstance(value, dict) and value:
            inner = indent + "  "
            items = (f"{inner}{json.dumps(key)}: {encode(item, inner)}" for key, item in value.items())
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    return encode(document, "") + "\n"


def _write_atomically(path: Path, data: bytes) -> None:
    check_parent_folder(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name for the model", str(path))
    write_atomically(path, lambda handle: handle.write(data))


# ---------------------------------------------------------------------------------------- loading


def read_model(
    path: str | os.PathLike[str],
    *,
    defaults: dict[str, Any],
    check_params: Callable[[dict[str, Any]], object],
) -> tuple[dict[str, Any], dict[str, Any], ModelSummary | None, SufficientStats | None]:
    """Read the parameters, fitted state, inference table and statistics of a model written by :func:`write_model`.

    Parameters
    ----------
    path : str or path-like
    defaults : dict
        Every parameter the model knows, with its default (``LinearRegression().get_params()``): a
        file's parameter not among them is refused, and one the file leaves out takes its default.
    check_params : callable
        Called with the file's parameters; raises ValueError naming the one the model rejects.

    Returns
    -------
    params : dict
        ``defaults`` updated with the file's parameters.
    state : dict
        The fitted attributes by name, as :meth:`~gradfit.LinearRegression.with_fitted_state` takes
        them; read back bit for bit.
    summary : ModelSummary or None
        The inference table the file kept (None: it has none), of ``state``'s coefficients and names.
    statistics : SufficientStats or None
        The sufficient statistics the file kept (None: it was saved without them).

    Raises
    ------
    ModelFileError
        When the file is missing or unreadable, is not UTF-8 JSON (a pickle, say), is truncated, is
        not a gradfit model, has a newer ``format_version`` than this gradfit reads, lacks a field,
        has a field of the wrong type or inconsistent lengths, or holds parameters that
        ``LinearRegression`` rejects.
    """
    path = Path(path)

    def refuse(problem: str) -> ModelFileError:
        return ModelFileError(f"{path}: {problem}")

    document = _read_document(path, refuse)
    reader = _Reader(document, refuse)
    return reader.model(defaults, check_params)


def _read_document(path: Path, refuse) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse("no such model file") from None
    except IsADirectoryError:
        raise refuse("is a directory, not a model file") from None
    except OSError as error:
        raise refuse(f"cannot read the model file ({error.strerror or error})") from None
    if len(data) >= 2 and data[0] == _PICKLE_PROTO and data[1] <= 5:
        raise refuse("looks like a pickle; gradfit model files are JSON and gradfit never unpickles")
    if b"\x00" in data:
        raise refuse("is a binary file, not a JSON model file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.end == len(data) and error.reason == "unexpected end of data":
            raise refuse("ends in the middle of a UTF-8 character (truncated file?)") from None
        raise refuse(f"is not UTF-8 text (invalid byte at offset {error.start}); a model file is JSON") from None
    if not text.strip():
        raise refuse("is empty; a model file is a JSON object")
    try:
        document = json.loads(text, parse_float=_parse_float, object_pairs_hook=_unique_keys)
    except _DuplicateKey as error:
        raise refuse(f"the key {error.args[0]!r} appears twice in one JSON object") from None
    except _FloatOutOfRange as error:
        raise refuse(f"the number {error.args[0]} is outside the float64 range") from None
    except json.JSONDecodeError as error:
        if _ends_early(text, error):
            raise refuse(f"JSON ends early at line {error.lineno} column {error.colno} (truncated file?)") from None
        raise refuse(f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError as error:  # an integer too long to convert, for one
        raise refuse(f"is not valid JSON: {_one_line(str(error))}") from None
    except RecursionError:
        raise refuse("is not a model file: its JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise refuse(f"holds a JSON {_json_type(document)}, not an object; it is not a gradfit model file")
    return document


def _ends_early(text: str, error: json.JSONDecodeError) -> bool:
    """Whether the JSON would have parsed had the text gone on: the parser failed at the very end,
    inside a string (it only reports "Unterminated string" when the text runs out), or inside a
    number or literal that the text cuts short (``[1.``, ``tr``)."""
    if error.msg == "Extra data":  # a complete document followed by more text
        return False
    rest = text[error.pos :]
    return error.msg.startswith("Unterminated string") or re.fullmatch(r"[0-9A-Za-z.+-]*\s*", rest) is not None


class _DuplicateKey(Exception):
    pass


class _FloatOutOfRange(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _FloatOutOfRange(text)
    return value


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Reader:
    """Typed access to the fields of a model document; every failure names its field."""

    def __init__(self, document: dict[str, Any], refuse) -> None:
        self.document = document
        self.refuse = refuse

    # -------------------------------------------------------------------------------- fields

    def raw(self, name: str, container: dict[str, Any] | None = None, prefix: str = ""):
        source = self.document if container is None else container
        if name not in source:
            raise self.refuse(f"missing field {prefix + name!r}")
        return source[name]

    def wrong_type(self, name: str, expected: str, value) -> ModelFileError:
        return self.refuse(f"field {name!r} must be {expected}; got a JSON {_json_type(value)}")

    def string(self, name: str) -> str:
        value = self.raw(name)
        if not isinstance(value, str):
            raise self.wrong_type(name, "a string", value)
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if not isinstance(value, bool):
            raise self.wrong_type(name, "true or false", value)
        return value

    def integer(self, name: str, minimum: int) -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(name, "an integer", value)
        if value < minimum:
            raise self.refuse(f"field {name!r} must be at least {minimum}; got {value}")
        return value

    def float_value(self, name: str, value) -> float:
        decoded = _decode_float(value)
        if decoded is None:
            raise self.wrong_type(name, 'a number (or "inf", "-inf", "nan")', value)
        return decoded

    def number(self, name: str) -> float:
        return self.float_value(name, self.raw(name))

    def optional_number(self, name: str) -> float | None:
        value = self.raw(name)
        return None if value is None else self.float_value(name, value)

    def numbers(self, name: str, container: dict[str, Any] | None = None, prefix: str = "") -> np.ndarray:
        value = self.raw(name, container, prefix)
        full_name = prefix + name
        if not isinstance(value, list):
            raise self.wrong_type(full_name, "an array of numbers", value)
        decoded = np.empty(len(value), dtype=np.float64)
        for index, item in enumerate(value):
            number = _decode_float(item)
            if number is None:
                raise self.refuse(
                    f"field {full_name!r} must be an array of numbers; item {index} is a JSON {_json_type(item)}"
                )
            decoded[index] = number
        return decoded

    def object(self, name: str) -> dict[str, Any]:
        value = self.raw(name)
        if not isinstance(value, dict):
            raise self.wrong_type(name, "an object", value)
        return value

    # -------------------------------------------------------------------------------- model

    def model(
        self, defaults: dict[str, Any], check_params: Callable[[dict[str, Any]], object]
    ) -> tuple[dict[str, Any], dict[str, Any], ModelSummary | None, SufficientStats | None]:
        if "format" not in self.document:
            raise self.refuse(f'not a gradfit model file: it has no "format" field (a model file says "format": "{FORMAT}")')
        file_format = self.raw("format")
        if file_format != FORMAT:
            raise self.refuse(f'"format" is {file_format!r}, not {FORMAT!r}: not a gradfit model file')
        version = self.integer("format_version", minimum=1)
        if version > FORMAT_VERSION:
            raise self.refuse(
                f"model file format_version {version} is newer than this gradfit reads "
                f"(format_version {FORMAT_VERSION}); upgrade gradfit to load it"
            )
        self.string("gradfit_version")

        params = self.params(self.object("params"), defaults, check_params)

        n_features = self.integer("n_features_in", minimum=1)
        coef = self.numbers("coef")
        if coef.shape[0] != n_features:
            raise self.refuse(f"'coef' has {coef.shape[0]} values but 'n_features_in' is {n_features}")
        names = self.feature_names(n_features)
        loss_history = self.numbers("loss_history")
        history = self.history()
        if loss_history.tobytes() != history.loss.tobytes():
            raise self.refuse("'loss_history' differs from 'history.loss'; they must be the same array")

        intercept = self.number("intercept")
        for name, values in (("coef", coef), ("intercept", np.array([intercept]))):
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                where = f" item {int(bad[0])}" if name == "coef" else ""
                raise self.refuse(f"field {name!r}{where} is {float(values[bad[0]])}: a model's coefficients must be finite numbers")
        state = {
            "n_features_in_": n_features,
            "feature_names_in_": names,
            "coef_": coef,
            "intercept_": intercept,
            "n_iter_": self.integer("n_iter", minimum=0),
            "history_": history,
            "loss_history_": history.loss,
            "converged_": self.boolean("converged"),
            "status_": self.string("status"),
            # the solver that ran ("auto" resolves to one); files from before it was recorded name the parameter
            "solver_": self.string("solver") if "solver" in self.document else params["solver"],
            "message_": self.string("message"),
            "final_loss_": self.number("final_loss"),
            "learning_rate_": self.optional_number("learning_rate"),
            "lipschitz_": self.optional_number("lipschitz"),
            "condition_number_": self.optional_number("condition_number"),
        }
        # the summary came later in format 1; files without one load without it
        summary = self.summary(n_features + int(params["fit_intercept"])) if "summary" in self.document else None
        if summary is not None and not same_terms(summary, coef, intercept, fit_intercept=params["fit_intercept"]):
            raise self.refuse("'summary' is of other coefficients than 'coef' and 'intercept'; they must be the same numbers")
        if summary is not None:
            self.check_summary_names(names, summary)
        statistics = self.statistics(n_features) if "statistics" in self.document else None
        # the target's name came later in format 1, written by the command line only
        state["target_name"] = self.string("target") if "target" in self.document else None
        return params, state, summary, statistics

    def statistics(self, n_features: int) -> SufficientStats:
        records = self.object("statistics")
        prefix = "statistics."

        def vector(name: str) -> np.ndarray:
            values = self.numbers(name, records, prefix)
            if values.shape != (n_features,):
                raise self.refuse(f"'{prefix}{name}' has {values.shape[0]} values but 'n_features_in' is {n_features}")
            return values

        def scalar(name: str) -> float:
            return self.float_value(prefix + name, self.raw(name, records, prefix))

        rows = self.raw("xx", records, prefix)
        if not isinstance(rows, list) or len(rows) != n_features:
            raise self.refuse(f"'{prefix}xx' must be {n_features} rows of {n_features} numbers (the d × d cross-products)")
        xx = np.array([self.numbers(str(index), {str(index): row}, f"{prefix}xx.") for index, row in enumerate(rows)])
        if xx.shape != (n_features, n_features):
            raise self.refuse(f"'{prefix}xx' must be {n_features} rows of {n_features} numbers (the d × d cross-products)")
        n_samples = self.raw("n_samples", records, prefix)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise self.wrong_type(prefix + "n_samples", "a positive integer", n_samples)
        stats = SufficientStats(
            n_samples=n_samples, weight=scalar("weight"), x_origin=vector("x_origin"), x_offset=vector("x_offset"),
            y_origin=scalar("y_origin"), y_offset=scalar("y_offset"), xx=xx, xy=vector("xy"), yy=scalar("yy"),
            x_scale=vector("x_scale"), y_scale=scalar("y_scale"),
        )
        numbers = np.concatenate([[stats.weight, stats.y_origin, stats.y_offset, stats.yy, stats.y_scale],
                                  stats.x_origin, stats.x_offset, stats.xx.ravel(), stats.xy, stats.x_scale])
        if not np.all(np.isfinite(numbers)) or stats.weight <= 0:
            raise self.refuse(f"'{prefix[:-1]}' holds a non-finite number or a weight that is not positive; "
                              "save the model again from a fit")
        return stats

    def params(
        self, params: dict[str, Any], defaults: dict[str, Any], check_params: Callable[[dict[str, Any]], object]
    ) -> dict[str, Any]:
        """The file's parameters over ``defaults``, checked as fit() checks them."""
        decoded = {name: _NON_FINITE.get(value, value) if isinstance(value, str) else value for name, value in params.items()}
        unknown = sorted(set(decoded) - set(defaults))
        if unknown:
            raise self.refuse(
                f"'params' has parameters LinearRegression does not know: {', '.join(map(repr, unknown))}"
            )
        try:
            check_params(decoded)
        except ValueError as error:
            raise self.refuse(f"'params' are rejected by LinearRegression: {_one_line(str(error))}") from None
        return {**defaults, **decoded}

    def feature_names(self, n_features: int) -> np.ndarray | None:
        value = self.raw("feature_names")
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise self.wrong_type("feature_names", "an array of strings or null", value)
        if len(value) != n_features:
            raise self.refuse(f"'feature_names' has {len(value)} names but 'n_features_in' is {n_features}")
        return np.asarray(value, dtype=object)

    def summary(self, n_terms: int):  # ModelSummary or None

        value = self.raw("summary")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.wrong_type("summary", "an object or null", value)
        try:
            summary = ModelSummary.from_dict(value)
        except ValueError as error:
            raise self.refuse(f"'summary': {error}") from None
        if len(summary.names) != n_terms:
            raise self.refuse(
                f"'summary' has {len(summary.names)} terms but the model has {n_terms} coefficients "
                "(intercept included)"
            )
        return summary

    def check_summary_names(self, names: np.ndarray | None, summary) -> None:  # ModelSummary
        """Refuse a table that names other features than the model."""
        if names is not None and list(summary.names[-len(names):]) != [str(name) for name in names]:
            raise self.refuse("'summary' names other terms than 'feature_names'")

    def history(self) -> History:
        records = self.object("history")
        loss, grad_norm, step_size = (self.numbers(name, records, "history.") for name in ("loss", "grad_norm", "step_size"))
        # elapsed times came later in format 1; files without them read back with NaN times
        elapsed = self.numbers("elapsed", records, "history.") if "elapsed" in records else np.full(loss.shape, np.nan)
        if not loss.shape == grad_norm.shape == step_size.shape == elapsed.shape:
            raise self.refuse(
                f"'history' arrays differ in length: loss {loss.shape[0]}, grad_norm {grad_norm.shape[0]}, "
                f"step_size {step_size.shape[0]}, elapsed {elapsed.shape[0]}"
            )
        return History(loss, grad_norm, step_size, elapsed)


def _decode_float(value) -> float | None:
    """A JSON number or a spelled-out non-finite float as a float; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return None
    if isinstance(value, str):
        return _NON_FINITE.get(value)
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())
