"""Checks at the edge: input that is not numbers, weights, starting values, and the compatibility of
the solver with the penalty, the step and the data.

Every rule here is checked before any pass over the data. The compatibility rules are driven by
what each solver declares it supports (:class:`~gradfit.solvers.Solver`: ``supports_l1``,
``needs_rows``, ``needs_statistics``, ``step_policies``, and a ``learning_rate`` field where it
takes a constant step), so a new solver states its limits in its own class.
"""

from __future__ import annotations

import math
import sys
from dataclasses import fields
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gradfit.errors import DataError
from gradfit.schedules import SCHEDULES
from gradfit.solvers import SOLVERS
from gradfit.solvers.direct import DIRECT_SOLVERS
from gradfit.solvers.gd import LINE_SEARCHES

__all__ = ["L1_SOLVERS", "check_compatibility", "check_settings", "check_initial", "check_source_arguments", "check_weights",
           "refuse_non_numeric"]

#: Solvers with a proximal step, so they can honour an L1 penalty.
L1_SOLVERS = tuple(name for name, cls in SOLVERS.items() if cls.supports_l1)


def check_settings(*, solver, learning_rate, max_iter, tol, alpha, l1_ratio, momentum, batch_size, schedule,
                   record_path, **_others) -> None:
    """Refuse a hyper-parameter out of its range, naming it as ``name=value`` (the command line shows
    that as its option) with the range it must lie in. The core's own check, so that a fit through
    :func:`gradfit.fitting.fit` without the estimator's parameter validation is as safe; the estimator
    checks the same ranges first, in scikit-learn's words."""

    def refuse(name: str, value, must: str) -> None:
        raise ValueError(f"{name}={value!r} is out of range: {name} must be {must}")

    def number(value) -> bool:
        return isinstance(value, Real)  # bools included, as scikit-learn's parameter check takes them

    names = {"auto", *SOLVERS, *DIRECT_SOLVERS}
    if solver not in names:
        refuse("solver", solver, "one of " + ", ".join(repr(name) for name in sorted(names)))
    if not ((number(learning_rate) and math.isfinite(learning_rate) and learning_rate > 0) or learning_rate in ("auto", *LINE_SEARCHES)):
        refuse("learning_rate", learning_rate, "a finite number above 0, 'auto', or one of " + ", ".join(map(repr, LINE_SEARCHES)))
    if not (isinstance(max_iter, Integral) and max_iter >= 1):
        refuse("max_iter", max_iter, "a whole number of updates, at least 1")
    for name, value in (("tol", tol), ("alpha", alpha)):
        if not (number(value) and math.isfinite(value) and value >= 0):
            refuse(name, value, "a finite number, 0 or above")
    if not (number(l1_ratio) and 0 <= l1_ratio <= 1):
        refuse("l1_ratio", l1_ratio, "a number from 0 to 1")
    if momentum is not None and not (number(momentum) and 0 <= momentum < 1):
        refuse("momentum", momentum, "a number from 0 up to (not including) 1, or None for the solver's own")
    if batch_size is not None and not (isinstance(batch_size, Integral) and batch_size >= 1):
        refuse("batch_size", batch_size, "a whole number of rows, at least 1, or None")
    if schedule is not None and schedule not in SCHEDULES:
        refuse("schedule", schedule, "one of " + ", ".join(map(repr, SCHEDULES)) + ", or None")
    if not (isinstance(record_path, bool | np.bool_) or (isinstance(record_path, Integral) and record_path >= 2)):
        refuse("record_path", record_path, "True, False, or a number of iterates to keep, at least 2")


def check_compatibility(
    requested: str,
    resolved: str,
    *,
    learning_rate: float | str,
    alpha: float,
    l1_ratio: float,
    streams: bool,
    rows_in_memory: bool,
    given_source: bool,
    reason: str | None,
    sparse_rows: bool = False,
    device: object = None,
) -> None:
    """Refuse a solver asked for what it does not declare it supports (ValueError naming the way out).

    Parameters
    ----------
    requested : str
        The solver asked for (``"auto"`` included): the messages name it.
    resolved : str
        The solver that will run (see :func:`~gradfit.solvers.resolve_auto`): its declarations decide.
    learning_rate, alpha, l1_ratio
        The estimator's parameters.
    streams : bool
        Whether the fit runs on the streaming engine (no d × d statistics).
    rows_in_memory : bool
        Whether random rows can be drawn from the source.
    given_source : bool
        Whether the data came as a :class:`~gradfit.sources.Source` (else as arrays).
    reason : str or None
        Why the fit streams, where it does.
    sparse_rows : bool
        Whether X is a scipy.sparse matrix in memory: its rows can be walked at O(nonzeros) each by a
        solver that declares ``sparse_rows``, though the fit streams.
    device : optional
        The device the rows live on, for arrays read there (None elsewhere).
    """
    declared = SOLVERS[resolved] if resolved in SOLVERS else DIRECT_SOLVERS[resolved]
    if declared.needs_rows and not rows_in_memory and sparse_rows and declared.sparse_rows and alpha > 0:
        # The shift of the centred columns is kept lazily (one scalar for all d coefficients); a ridge
        # term's decay differs column by column in θ's units, and L1's thresholding touches every one.
        penalty = f"an L1 penalty (alpha={alpha}, l1_ratio={l1_ratio})" if l1_ratio > 0 else f"a ridge penalty (alpha={alpha})"
        raise ValueError(
            f"solver={requested!r} on a sparse X cannot honour {penalty}: each update would touch all "
            f"coefficients, not just the row's nonzeros; use 'auto' or 'nesterov', which read X in fused "
            f"passes, or alpha=0"
        )
    if declared.needs_rows and not rows_in_memory and not (sparse_rows and declared.sparse_rows):
        if sparse_rows:
            raise ValueError(
                f"solver={requested!r} is not offered for this X ({reason}): its moments make every update "
                f"touch all d coefficients, not just the row's nonzeros; use 'sgd' or 'minibatch' (O(nonzeros) "
                f"a row), or 'auto', 'cg', 'nesterov', 'gd', 'momentum' or 'lbfgs', which read X in fused passes"
            )
        if device is not None:
            raise ValueError(
                f"solver={requested!r} draws rows one at a time, which would bring X from {device} to the host "
                f"row by row; on arrays on a device use 'auto', 'exact', 'gd', 'cg', 'nesterov', 'momentum' or "
                f"'lbfgs', which run on the statistics or passes gathered there"
            )
        if given_source:
            raise ValueError(
                f"solver={requested!r} draws random rows, which a streamed source cannot give; use 'cg', "
                f"'nesterov', 'gd', 'exact' or 'auto'"
            )
        raise ValueError(
            f"solver={requested!r} is not offered for this X ({reason}); use 'auto', 'cg', "
            f"'nesterov', 'gd', 'momentum' or 'lbfgs', which read X in fused passes"
        )
    if alpha > 0 and l1_ratio > 0 and not declared.supports_l1:
        raise ValueError(
            f"solver={requested!r} cannot honour an L1 penalty (alpha={alpha}, l1_ratio={l1_ratio}); "
            f"use one of {', '.join(repr(name) for name in L1_SOLVERS)} or 'auto', or set l1_ratio=0 (ridge)"
        )
    if learning_rate in LINE_SEARCHES and learning_rate not in declared.step_policies:
        raise ValueError(
            f"learning_rate={learning_rate!r} is a step policy of solver='gd'; solver={requested!r} "
            f"takes a number or 'auto'"
        )
    if declared.needs_statistics and streams:
        raise ValueError(
            f"solver={resolved!r} needs the d × d statistics, but {reason}; use solver='auto' "
            f"(conjugate gradients, one pass over X per update) or 'cg'"
        )
    if learning_rate != "auto" and "learning_rate" not in {field.name for field in fields(declared)}:
        if resolved in DIRECT_SOLVERS:
            raise ValueError(
                f"learning_rate={learning_rate!r} is the step of a gradient method, but solver={requested!r} "
                "solves for the least-squares answer directly; pass solver='gd' for gradient descent (the "
                "article's method), or leave learning_rate='auto'"
            )
        raise ValueError(
            f"solver={resolved!r} finds its own steps by exact line search; leave learning_rate='auto' "
            f"(got {learning_rate!r})"
        )


def check_source_arguments(y, sample_weight) -> None:  # whatever was passed beside a Source
    """A :class:`~gradfit.sources.Source` carries its own target and weights: refuse others beside it."""
    if y is not None or sample_weight is not None:
        raise ValueError(
            "a Source carries its own target (and weights): call fit(source) without y or sample_weight"
        )


def check_initial(
    coef_init: ArrayLike | None, intercept_init: float | None, *, n_features: int, fit_intercept: bool
) -> tuple[NDArray[np.float64] | None, float | None]:
    """``coef_init`` as a float64 vector of one finite number per feature, ``intercept_init`` as a finite
    float (None stays None); checked whatever the solver (the direct one has no use for a start, but a
    bad one is still an error)."""
    coef = intercept = None
    if coef_init is not None:
        coef = np.asarray(coef_init, dtype=np.float64).reshape(-1)
        if coef.shape != (n_features,) or not np.all(np.isfinite(coef)):
            raise ValueError(
                f"coef_init must hold {n_features} finite numbers (one per feature); "
                f"got shape {np.shape(coef_init)}"
            )
    if intercept_init is not None:
        if not fit_intercept:
            raise ValueError("intercept_init was given but fit_intercept=False; drop one of them")
        intercept = float(intercept_init)
        if not np.isfinite(intercept):
            raise ValueError(f"intercept_init must be a finite number; got {intercept_init!r}")
    return coef, intercept


def refuse_non_numeric(X, y):  # array-likes as given
    """Name a table's column that is not numbers (text, dates, categories of text), or text in y,
    before numpy's conversion fails with a message that names neither. Text that reads as numbers
    and categories of numbers are taken, as scikit-learn takes them; missing values (None, NA) are
    left to the NaN check, which names their row. Returns y, as float64 where it was text or objects."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a pandas DataFrame
        if len(dtypes) == 0:
            raise DataError("X has no columns; give it at least one feature")
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        for position, (name, dtype) in enumerate(dtypes.items()):
            categories = getattr(dtype, "categories", None)
            if categories is not None:  # categorical: fine when its categories are numbers
                if is_numeric_dtype(categories.dtype):
                    continue
            elif is_numeric_dtype(dtype) or is_bool_dtype(dtype):
                continue
            advice = "encode it first (for example with scikit-learn's OneHotEncoder in a Pipeline) or drop it"
            if categories is not None or dtype.kind in "mM":
                raise DataError(f"column {name!r} of X is {dtype}, not numbers; {advice}")
            _first_non_number(X.iloc[:, position].to_numpy(), f"column {name!r} of X", advice)
    if y is None:
        return y
    values = y if hasattr(y, "dtype") else np.asarray(y)
    if getattr(values.dtype, "kind", None) in ("U", "S", "O"):
        _first_non_number(np.asarray(values, dtype=object).reshape(-1), "y", "convert it to numbers first")
        return np.asarray(values, dtype=np.float64)
    return y


def _first_non_number(values: NDArray, what: str, advice: str) -> None:
    """Refuse the first value that is neither a number nor missing, naming ``what`` and its row."""
    for row, value in enumerate(values):
        try:
            float(value)
        except (TypeError, ValueError):
            if not _is_missing(value):
                raise DataError(f"{what} holds {value!r} (row {row}), not a number; {advice}") from None


def _is_missing(value) -> bool:  # a cell float() refused
    """None, or pandas' NA and NaT (pandas is there whenever such values are)."""
    if value is None:
        return True
    pandas = sys.modules.get("pandas")
    try:
        return pandas is not None and bool(pandas.isna(value))
    except (TypeError, ValueError):
        return False


def check_weights(sample_weight: ArrayLike | None, n_samples: int) -> NDArray[np.float64] | None:
    """Validated sample weights: finite, non-negative, one per row, not all zero (None stays None)."""
    if sample_weight is None:
        return None
    try:
        weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be numbers, one per row of X") from None
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {weight.shape} but X has {n_samples} rows; give one weight per row")
    bad = np.flatnonzero(~np.isfinite(weight))
    if bad.size:
        raise ValueError(f"sample_weight is NaN or infinite at row {bad[0]} ({bad.size} rows in all)")
    negative = np.flatnonzero(weight < 0)
    if negative.size:
        raise ValueError(f"sample_weight must be non-negative; row {negative[0]} has {weight[negative[0]]:g}")
    total = float(np.sum(weight / 2.0**64)) * 2.0**64 if np.all(np.isfinite(weight)) else np.inf  # no overflow on the way
    if not np.isfinite(total):
        raise ValueError("sample_weight sums to more than float64 can hold; divide the weights by a constant "
                         "(the fit does not change)")
    if not weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: no row would count")
    return weight
