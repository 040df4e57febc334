"""Exact scaling by powers of two: columns beyond 2^±SAFE_EXPONENT are divided by one before their
products are formed, so they neither overflow nor underflow (and not a bit of their mantissas changes)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["SAFE_EXPONENT", "power_of_two_scale", "safe_scale"]

#: Columns whose largest magnitude lies within 2^±SAFE_EXPONENT are used as they are: their products
#: summed over up to 2^40 rows stay far inside float64's range (2^±1022), so dividing by a power of
#: two (a pass over the data) would change nothing.
SAFE_EXPONENT = 400


def safe_scale(max_abs: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 for columns whose squares cannot overflow or underflow, else :func:`power_of_two_scale`."""
    max_abs = np.asarray(max_abs, dtype=np.float64)
    safe = (max_abs == 0) | ((max_abs < 2.0**SAFE_EXPONENT) & (max_abs > 2.0**-SAFE_EXPONENT))
    return np.where(safe, 1.0, power_of_two_scale(max_abs))


def power_of_two_scale(max_abs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Smallest power of two at or above each value (1 where the value is 0).

    Dividing by a power of two is exact, so data can be brought near 1 before squaring without
    changing a single bit of its mantissa: features near 1e200 or 1e-200 then neither overflow
    nor underflow when their products are formed.
    """
    max_abs = np.asarray(max_abs, dtype=np.float64)
    mantissa, exponent = np.frexp(np.where(max_abs > 0, max_abs, 1.0))
    # frexp gives value = mantissa·2^exponent with mantissa in [0.5, 1): a power of two has mantissa 0.5.
    exponent = np.where(mantissa == 0.5, exponent - 1, exponent)
    # Never below the smallest normal power of two: a subnormal scale's reciprocal overflows (values below
    # 2^-1022 are then divided by it, still exactly, into [0, 1)).
    exponent = np.maximum(exponent, _MIN_NORMAL_EXPONENT)
    return np.ldexp(1.0, exponent).astype(np.float64)


#: log₂ of float64's smallest normal number.
_MIN_NORMAL_EXPONENT = int(np.finfo(np.float64).minexp)
