"""svmlight/libsvm files (``label index:value index:value ...`` per line) read into memory as a sparse
matrix, with scikit-learn's reader; every problem is a one-line :class:`~gradfit.errors.DataError`
naming the file, and the line where the problem is on one.

A file is svmlight by its suffix (:data:`SVMLIGHT_SUFFIXES`, optionally compressed:
:data:`SVMLIGHT_COMPRESSION`) or because the caller says so. The messages' advice on the width is
in Python's syntax (``n_features=40``) unless the caller spells it otherwise (the command line's
``--n-features 40``, see :func:`read_svmlight`).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from gradfit.errors import DataError

__all__ = ["SVMLIGHT_SUFFIXES", "SVMLIGHT_COMPRESSION", "SVMLIGHT_LINE", "SvmlightData", "is_svmlight_name",
           "python_width", "read_svmlight"]

#: Suffixes that mark an svmlight/libsvm file (``label index:value ...``), optionally followed by a
#: compression suffix that scikit-learn's reader undoes on the fly.
SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm")
SVMLIGHT_COMPRESSION = (".gz", ".bz2")


def is_svmlight_name(path: Path) -> bool:
    """Whether ``path``'s suffix marks an svmlight file (any case; ``.gz`` or ``.bz2`` after it allowed)."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in SVMLIGHT_COMPRESSION:
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in SVMLIGHT_SUFFIXES


@dataclass(frozen=True)
class SvmlightData:
    """An svmlight file read into memory: X (scipy.sparse CSR, column j = feature index j) and the labels."""

    X: object
    y: np.ndarray


#: scikit-learn's words for a file wider than the n_features it was given (sklearn.datasets._svmlight_format_io).
_TOO_WIDE = re.compile(r"n_features was set to (\d+), but input file contains (\d+) features")

#: scikit-learn's parse errors, and what they mean on a line of an svmlight file.
_PARSE_REASONS = (
    (re.compile(r"could not convert string to float: b?'(.*)'"), "'{0}' is not a number"),
    (re.compile(r"invalid literal for int\(\) with base 10: b?'(.*)'"),
     "'{0}' is not a feature index (a whole number)"),
    (re.compile(r"need more than 1 value to unpack"), "a feature without ':value'"),
    (re.compile(r"Feature indices .* sorted and unique"),
     "the feature indices must increase along the line, each once"),
    (re.compile(r"Invalid index (-?\d+)"), "feature index {0} is negative"),
    (re.compile(r"value too large to convert"), "a feature index is too large"),
)

#: What an svmlight line holds, for the error messages.
SVMLIGHT_LINE = "'label index:value index:value ...'"


def python_width(width: int) -> str:
    """The width as Python passes it, ``n_features=40``: the messages' advice unless the caller has its own."""
    return f"n_features={width}"


def read_svmlight(path: Path, *, n_features: int | None, model_path: Path | None = None,
                  spell_width: Callable[[int], str] = python_width,
                  memory: tuple[Callable[[int], int], Callable[[], int | None]] | None = None) -> SvmlightData:
    """Read an svmlight/libsvm file with scikit-learn's reader; every problem is a one-line DataError
    naming the file (and the line, found again with the same reader where the problem is on one).

    The indices are read as written (``zero_based=True``): feature index j is column j. scikit-learn's
    default, ``"auto"``, decides per file (a file without an index 0 is shifted down by one), so a
    prediction file lacking feature 0 would silently be read one column off from its training file.
    A file that counts from 1 gets an empty column 0, whose coefficient is 0.

    ``n_features`` fixes the width (a narrower file is padded with zero columns); ``model_path`` says
    that it is the width of that model (predict): the labels are not used then, nor checked.
    ``spell_width`` writes a width as the messages' advice gives it: Python's ``n_features=40``
    unless the caller has its own syntax (the command line's ``--n-features 40``). ``memory``, the
    engine's ``(bytes a streaming fit over d columns needs, bytes available)`` (see
    :mod:`gradfit.engine`), refuses a training file too wide to fit.
    """
    from sklearn.datasets import load_svmlight_file

    if path.is_dir():
        raise DataError(f"{path}: is a directory; svmlight data are read from one file "
                        f"({', '.join(SVMLIGHT_SUFFIXES)}, also compressed as .gz or .bz2)")
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    try:
        with _open_svmlight(path) as handle:
            X, y = load_svmlight_file(handle, n_features=n_features, zero_based=True, dtype=np.float64)
    except OSError as error:
        if error.errno is not None:  # permissions and the like: the caller names the file and the reason
            raise
        raise DataError(f"{path}: cannot be read ({error})") from None  # not gzip/bzip2 data after all
    except (EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be decompressed ({error}); is the file complete?") from None
    except (ValueError, OverflowError) as error:
        wide = _TOO_WIDE.search(str(error))
        if wide is not None:
            raise DataError(_too_wide_message(path, int(wide[2]), int(wide[1]), model_path, spell_width)) from None
        raise DataError(_parse_error_message(path, error)) from None
    if X.shape[0] == 0:
        raise DataError(f"{path}: no data lines (the file is empty, or holds only comments and blank lines); "
                        f"each line is {SVMLIGHT_LINE}")
    if model_path is None and memory is not None:
        _check_width_fits(path, X.shape[1], explicit=n_features is not None, spell_width=spell_width, memory=memory)
    labels = model_path is None
    if not (np.isfinite(X.data).all() and (not labels or np.isfinite(y).all())):
        raise DataError(_non_finite_message(path, labels=labels))
    return SvmlightData(X, y)


def _check_width_fits(path: Path, width: int, *, explicit: bool, spell_width: Callable[[int], str],
                      memory: tuple[Callable[[int], int], Callable[[], int | None]]) -> None:
    """Refuse a width whose d-vectors would not fit in memory: one mistyped index (``1 4000000000:1``)
    makes billions of columns, and the fit would exhaust the machine's memory rather than fail."""
    streaming_bytes, available_memory = memory
    needed, available = streaming_bytes(width), available_memory()
    if available is None or needed <= available:
        return
    about = (f"a fit over {width:,} columns needs about {needed / 1e9:.3g} GB, more than the "
             f"{available / 1e9:.3g} GB available")
    if explicit:
        raise DataError(f"{path}: {spell_width(width)}: {about}")
    found = _first_line_where(path, lambda chunk: _svmlight_width(chunk) >= width)
    where = f", line {found[0]}" if found is not None else ""
    raise DataError(f"{path}{where}: feature index {width - 1:,}: {about}; check that index (svmlight indices are "
                    "column numbers: the largest sets the width)")


def _svmlight_width(chunk: bytes) -> int:
    from sklearn.datasets import load_svmlight_file

    return load_svmlight_file(io.BytesIO(chunk), zero_based=True)[0].shape[1]


def _open_svmlight(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed by its suffix (any case; scikit-learn's own check is case-sensitive)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    return path.open("rb")


def _too_wide_message(path: Path, width: int, limit: int, model_path: Path | None,
                      spell_width: Callable[[int], str]) -> str:
    found = (f"{path}: its largest feature index is {width - 1}, so it has {width} feature columns "
             "(indices count from 0)")
    if model_path is None:
        return f"{found}, more than {spell_width(limit)}; give {spell_width(width)} or more"
    return (f"{found}, but the model {model_path} was fitted on {limit}; fit it again with {spell_width(width)} "
            f"or more, so that the training and prediction files agree")


def _parse_error_message(path: Path, error: Exception) -> str:
    message = " ".join(part.strip() for part in str(error).splitlines() if part.strip())  # one line
    reason = message
    for pattern, explanation in _PARSE_REASONS:
        match = pattern.search(message)
        if match is not None:
            reason = explanation.format(*match.groups())
            break
    found = _first_line_where(path, _fails_to_parse)
    if found is None:
        return f"{path}: not svmlight data ({reason}); each line is {SVMLIGHT_LINE}"
    number, line = found
    return f"{path}, line {number}: {reason}, in {_excerpt(line)}; each line is {SVMLIGHT_LINE}"


def _non_finite_message(path: Path, *, labels: bool) -> str:
    from sklearn.datasets import load_svmlight_file

    def non_finite(chunk: bytes) -> bool:
        X, y = load_svmlight_file(io.BytesIO(chunk), zero_based=True)
        return not (np.isfinite(X.data).all() and (not labels or np.isfinite(y).all()))

    found = _first_line_where(path, non_finite)
    if found is None:  # not expected: the whole file has one, so some line has
        return f"{path}: holds NaN or infinite values; remove or impute them"
    number, line = found
    X, y = load_svmlight_file(io.BytesIO(line), zero_based=True)
    if labels and not np.isfinite(y[0]):
        what = f"the label is {y[0]}"
    else:
        first = int(np.flatnonzero(~np.isfinite(X.data))[0])
        what = f"feature {X.indices[first]} is {X.data[first]}"
    return f"{path}, line {number}: {what}; remove or impute it"


def _fails_to_parse(chunk: bytes) -> bool:
    from sklearn.datasets import load_svmlight_file

    try:
        load_svmlight_file(io.BytesIO(chunk), zero_based=True)
    except (ValueError, OverflowError):
        return True
    return False


def _first_line_where(path: Path, bad: Callable[[bytes], bool]) -> tuple[int, bytes] | None:
    """The number (from 1) and bytes of the first line of ``path`` for which ``bad`` holds, or None.

    For a property of single lines (a parse error, a NaN), found by bisection with ``bad`` applied to
    runs of whole lines: about one more reading of the file, and only on the way to an error message.
    """
    with _open_svmlight(path) as handle:
        data = handle.read()
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
    starts = np.unique(np.concatenate(([0], newlines, [len(data)])))  # line k is data[starts[k]:starts[k + 1]]
    low, high = 0, len(starts) - 1
    if high <= low or not bad(data[starts[low]:starts[high]]):
        return None
    while high - low > 1:  # the first bad line is in [low, high)
        middle = (low + high) // 2
        if bad(data[starts[low]:starts[middle]]):
            high = middle
        else:
            low = middle
    return low + 1, data[starts[low]:starts[low + 1]]


def _excerpt(line: bytes, limit: int = 60) -> str:
    text = line.decode("utf-8", "backslashreplace").strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")

