"""The classical least-squares inference table: its fields, its JSON form and its text.

:class:`ModelSummary` holds what :func:`gradfit.inference.summarize` computes from the sufficient
statistics (R², adjusted R², the F test, standard errors, t statistics, p values and confidence
intervals, log-likelihood, AIC and BIC, as statsmodels' ``OLS``/``WLS`` reports them); this module
writes it as plain JSON (and reads it back, bit for bit) and as a fixed-width text table.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CONFIDENCE_LEVEL", "INTERCEPT_NAME", "ModelSummary", "same_terms"]

#: Coverage of the reported confidence intervals.
CONFIDENCE_LEVEL = 0.95

#: Name of the intercept row in the term table.
INTERCEPT_NAME = "intercept"

#: Encoding of non-finite floats in :meth:`ModelSummary.to_dict` (JSON has no inf or nan).
_NON_FINITE_JSON = {"nan": "nan", "inf": "inf", "-inf": "-inf"}

#: Significant digits in the printed table (term rows) and header block.
_TABLE_DIGITS = 4
_HEADER_DIGITS = 6

#: Columns the printed table fits where no terminal says otherwise.
_DEFAULT_WIDTH = 80
#: Blanks before each number column of the term table.
_COLUMN_GAP = 2
#: The narrowest term-name column: longer names wrap within it rather than lose characters.
_MIN_NAME_WIDTH = 12
#: Separators a wrapped name is preferably broken after (``household_income``, ``rate.2020``).
_NAME_BREAKS = "_ .-/"
#: Indent of a wrapped name's continuation lines, and of a wrapped note's.
_CONTINUATION = "  "


# --------------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ModelSummary:
    """Inference table of a linear least-squares fit (statsmodels ``OLS``/``WLS`` conventions).

    Scalars describe the whole model; the per-term arrays have one entry per parameter, the intercept
    first when the model has one. Arrays are read-only. Undefined statistics are ``nan``; statistics
    that are infinite in exact arithmetic (a perfect fit) are ``±inf``; :attr:`notes` says why.

    Attributes
    ----------
    n_samples : int
        Number of rows ``n`` (rows with zero weight included, as statsmodels counts them).
    df_model : int
        ``rank − k``, where ``k`` is 1 when the model has a constant (explicit or implicit), else 0.
    df_resid : int
        ``n − rank``.
    rank : int
        Numerical rank of the (weighted) design, intercept column included.
    r_squared : float
        ``1 − RSS/TSS``; TSS is centred about the (weighted) mean of y when the model has a constant,
        otherwise uncentred ``Σ wᵢ yᵢ²``.
    adj_r_squared : float
        ``1 − (n − k)/df_resid · (1 − R²)``.
    f_statistic, f_pvalue : float
        ``F = (ESS/df_model) / (RSS/df_resid)`` with ``ESS = TSS − RSS``, and ``P(F(df_model,
        df_resid) > F)``; ``nan`` when ``df_model = 0``.
    sigma : float
        Residual standard deviation ``σ̂ = √(RSS/df_resid)``, in the units of y (for weighted data, of
        ``√w·y``).
    log_likelihood, aic, bic : float
        Profile Gaussian log-likelihood ``ℓ = −n/2·(log(2π·RSS/n) + 1)``, ``AIC = −2ℓ + 2·rank`` and
        ``BIC = −2ℓ + log(n)·rank``. With sample weights, ``ℓ`` omits statsmodels' constant
        ``½ Σ log wᵢ``, which the sufficient statistics do not carry.
    names : tuple of str
        Term names, ``("intercept", *feature_names)`` or just the feature names.
    coef, std_err, t, p_value, ci_low, ci_high : ndarray of shape (p,)
        Estimate, standard error, ``t = coef/std_err``, two-sided p value from Student's t with
        ``df_resid`` degrees of freedom, and the :data:`CONFIDENCE_LEVEL` interval
        ``coef ± t_{0.975, df_resid}·std_err``.
    notes : tuple of str
        Plain-language remarks on special cases (rank deficiency, perfect fit, no residual degrees of
        freedom, constant target, implicit constant, weights).
    """

    n_samples: int
    df_model: int
    df_resid: int
    rank: int
    r_squared: float
    adj_r_squared: float
    f_statistic: float
    f_pvalue: float
    sigma: float
    log_likelihood: float
    aic: float
    bic: float
    names: tuple[str, ...]
    coef: NDArray[np.float64]
    std_err: NDArray[np.float64]
    t: NDArray[np.float64]
    p_value: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    notes: tuple[str, ...] = field(default=())

    #: Per-term fields, in table order.
    TERM_FIELDS = ("coef", "std_err", "t", "p_value", "ci_low", "ci_high")
    #: Model-level fields, in header order.
    MODEL_FIELDS = (
        "n_samples",
        "df_model",
        "df_resid",
        "rank",
        "r_squared",
        "adj_r_squared",
        "f_statistic",
        "f_pvalue",
        "sigma",
        "log_likelihood",
        "aic",
        "bic",
    )

    def __post_init__(self) -> None:
        # A frozen dataclass only freezes attribute assignment; freeze the arrays' contents too.
        for name in self.TERM_FIELDS:
            values = np.array(getattr(self, name), dtype=np.float64)
            values.setflags(write=False)
            object.__setattr__(self, name, values)
        object.__setattr__(self, "names", tuple(str(name) for name in self.names))
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: ints, floats, strings, lists and dicts only.

        JSON has no infinities or NaN, so non-finite floats are written as the strings ``"nan"``,
        ``"inf"`` and ``"-inf"`` (``float()`` reads them back); ``json.dumps(..., allow_nan=False)``
        accepts the result.

        Returns
        -------
        dict
            The model-level fields, ``"confidence_level"``, ``"notes"`` (list of str) and ``"terms"``:
            a list of ``{"name", "coef", "std_err", "t", "p_value", "ci_low", "ci_high"}`` dicts.
        """
        result: dict[str, Any] = {}
        for name in self.MODEL_FIELDS:
            value = getattr(self, name)
            result[name] = int(value) if isinstance(value, (int, np.integer)) else _json_float(value)
        result["confidence_level"] = CONFIDENCE_LEVEL
        result["notes"] = list(self.notes)
        result["terms"] = [
            {"name": term, **{name: _json_float(getattr(self, name)[i]) for name in self.TERM_FIELDS}}
            for i, term in enumerate(self.names)
        ]
        return result

    def to_json(self) -> str:
        """:meth:`to_dict` as strict JSON text."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ModelSummary:
        """The summary :meth:`to_dict` wrote, bit for bit (how a saved model keeps its summary).

        Raises
        ------
        ValueError
            Naming the first field that is missing or not what :meth:`to_dict` writes.
        """
        if not isinstance(document, dict):
            raise ValueError(f"a summary must be an object; got {type(document).__name__}")

        def get(container: dict[str, Any], name: str, where: str) -> Any:
            if name not in container:
                raise ValueError(f"missing field {where + name!r}")
            return container[name]

        def number(value: Any, where: str) -> float:
            if isinstance(value, str) and value in _NON_FINITE_JSON:
                return float(value)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"field {where!r} must be a number (or \"nan\", \"inf\", \"-inf\")")
            return float(value)

        values: dict[str, Any] = {}
        for name in cls.MODEL_FIELDS:
            value = get(document, name, "")
            if name in ("n_samples", "df_model", "df_resid", "rank"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"field {name!r} must be an integer")
                values[name] = value
            else:
                values[name] = number(value, name)
        level = number(get(document, "confidence_level", ""), "confidence_level")
        if level != CONFIDENCE_LEVEL:
            raise ValueError(f"field 'confidence_level' is {level}; this gradfit reports {CONFIDENCE_LEVEL} intervals")
        notes = get(document, "notes", "")
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise ValueError("field 'notes' must be an array of strings")
        terms = get(document, "terms", "")
        if not isinstance(terms, list) or not terms or not all(isinstance(term, dict) for term in terms):
            raise ValueError("field 'terms' must be a non-empty array of objects")
        names = []
        for index, term in enumerate(terms):
            name = get(term, "name", f"terms[{index}].")
            if not isinstance(name, str):
                raise ValueError(f"field 'terms[{index}].name' must be a string")
            names.append(name)
        for field_name in cls.TERM_FIELDS:
            values[field_name] = [
                number(get(term, field_name, f"terms[{index}]."), f"terms[{index}].{field_name}")
                for index, term in enumerate(terms)
            ]
        return cls(names=tuple(names), notes=tuple(notes), **values)

    def to_frame(self) -> Any:
        """The term table as a ``pandas.DataFrame`` indexed by term name (pandas is imported here).

        Returns
        -------
        pandas.DataFrame of shape (p, 6)
            Columns ``coef, std_err, t, p_value, ci_low, ci_high``.
        """
        import pandas as pd  # optional dependency: only this method needs it

        return pd.DataFrame(
            {name: np.array(getattr(self, name)) for name in self.TERM_FIELDS},
            index=pd.Index(list(self.names), name="term"),
        )

    def __str__(self) -> str:
        """The table as text, fitting the terminal (``COLUMNS``, else 80 columns): long term names wrap."""
        return _format_summary(self, width=shutil.get_terminal_size((_DEFAULT_WIDTH, 0)).columns)


def same_terms(summary: ModelSummary, coef: NDArray[np.float64], intercept: float, *, fit_intercept: bool) -> bool:
    """Whether a table's estimates are ``[intercept, *coef]`` (``coef`` without intercept), bit for bit."""
    terms = np.asarray([intercept, *coef] if fit_intercept else coef, dtype=np.float64)
    table = np.asarray(summary.coef, dtype=np.float64)
    return table.shape == terms.shape and table.tobytes() == terms.tobytes()


def _json_float(value: float) -> float | str:
    value = float(value)
    if math.isfinite(value):
        return value
    return _NON_FINITE_JSON[repr(value)]


# --------------------------------------------------------------------------------------------------
# Text table
# --------------------------------------------------------------------------------------------------


def _number(value: float, digits: int) -> str:
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _format_summary(summary: ModelSummary, *, width: int | None = None) -> str:
    """statsmodels-like fixed-width text: a two-column header block, then the term table.

    Each number column is as wide as its longest entry; the term names get what is left of
    ``width`` columns (all they need, where it fits), at least :data:`_MIN_NAME_WIDTH`, and a longer
    name wraps onto indented lines below its numbers, so numbers keep their digits and names their
    characters. ``width=None``: names are never wrapped.
    """
    lower = (1.0 - CONFIDENCE_LEVEL) / 2.0
    headers = ("coef", "std err", "t", "P>|t|", f"[{lower:.3g}", f"{1.0 - lower:.3g}]")
    numbers = [
        [_number(getattr(summary, field_name)[i], _TABLE_DIGITS) for field_name in ModelSummary.TERM_FIELDS]
        for i in range(len(summary.names))
    ]
    column_widths = [
        _COLUMN_GAP + max([len(header)] + [len(row[j]) for row in numbers]) for j, header in enumerate(headers)
    ]
    longest = max([len(name) for name in summary.names] + [len("term")])
    name_width = longest
    if width is not None and longest + sum(column_widths) > width:
        name_width = max(width - sum(column_widths), min(longest, _MIN_NAME_WIDTH))
    table_width = name_width + sum(column_widths)

    def header_cell(label: str, value: str) -> str:
        half = max(table_width // 2 - 2, len(label) + len(value) + 1)
        return f"{label:<{half - len(value)}}{value}"

    left = [
        ("No. observations:", str(summary.n_samples)),
        ("Df residuals:", str(summary.df_resid)),
        ("Df model:", str(summary.df_model)),
        ("Rank:", str(summary.rank)),
        ("Residual std (σ):", _number(summary.sigma, _HEADER_DIGITS)),
    ]
    right = [
        ("R-squared:", _number(summary.r_squared, _HEADER_DIGITS)),
        ("Adj. R-squared:", _number(summary.adj_r_squared, _HEADER_DIGITS)),
        ("F-statistic:", _number(summary.f_statistic, _HEADER_DIGITS)),
        ("Prob (F-statistic):", _number(summary.f_pvalue, _TABLE_DIGITS)),
        ("Log-likelihood:", _number(summary.log_likelihood, _HEADER_DIGITS)),
        ("AIC:", _number(summary.aic, _HEADER_DIGITS)),
        ("BIC:", _number(summary.bic, _HEADER_DIGITS)),
    ]
    left += [("", "")] * (len(right) - len(left))
    title = "Least squares regression summary".center(table_width).rstrip()
    heavy, light = "=" * table_width, "-" * table_width
    lines = [title, heavy]
    for (left_label, left_value), (right_label, right_value) in zip(left, right):
        left_text = header_cell(left_label, left_value) if left_label else ""
        lines.append(f"{left_text:<{table_width // 2 + 2}}{header_cell(right_label, right_value)}".rstrip())
    lines += [heavy, " " * name_width + "".join(f"{h:>{w}}" for h, w in zip(headers, column_widths)), light]
    for name, row in zip(summary.names, numbers):
        first, *rest = _wrap_name(name, name_width)
        lines.append(f"{first:<{name_width}}" + "".join(f"{cell:>{w}}" for cell, w in zip(row, column_widths)))
        lines += rest
    lines.append(heavy)
    if summary.notes:
        lines.append("Notes:")
        for i, note in enumerate(summary.notes, start=1):
            lines += textwrap.wrap(f"[{i}] {note}", max(table_width, _MIN_NAME_WIDTH),
                                   subsequent_indent=_CONTINUATION, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


def _wrap_name(name: str, width: int) -> list[str]:
    """``name`` in lines of at most ``width`` characters, the later ones indented by :data:`_CONTINUATION`,
    broken after a separator (:data:`_NAME_BREAKS`) where one falls in the second half of a line."""
    lines: list[str] = []
    room = width
    while len(name) > room:
        cut = max(name.rfind(separator, 0, room) for separator in _NAME_BREAKS) + 1
        if cut <= room // 2:
            cut = room
        lines.append(name[:cut].rstrip())
        name = name[cut:].lstrip()
        room = max(width - len(_CONTINUATION), 1)
    lines.append(name)
    return [lines[0], *(_CONTINUATION + line for line in lines[1:])]
