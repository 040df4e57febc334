"""Extended-precision arithmetic on float64: exact scaling by powers of two, error-free
transformations (TwoSum, TwoProduct), exact slices of an array, and double-double sums, Gram
matrices and affine maps ``Gθ − b``.

Used by the exact solver's refinement (:mod:`gradfit.solvers.exact`), the residual sums of the
direct solver (:mod:`gradfit.numerics.residuals`) and the double-double statistics of the objective
(:meth:`gradfit.objective.LeastSquares.with_extended_precision`). Imports nothing else from gradfit.

References
----------
T. Ogita, S. M. Rump, S. Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005).
S. M. Rump, T. Ogita, S. Oishi, "Accurate floating-point summation part I", SIAM J. Sci. Comput. 31
(2008) (ExtractScalar).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["ROW_BLOCK", "SLICE_BITS", "gram_double_double", "add_to_pair", "affine_double_double", "affine_pair"]

_MIN_EXPONENT, _MAX_EXPONENT = int(np.finfo(np.float64).minexp), int(np.finfo(np.float64).maxexp) - 1

#: Bits per slice when an entry is split for the exact products: two slices multiply into 42 bits,
#: leaving 11 bits of headroom for exact sums of up to 2**11 products in a 53-bit significand.
SLICE_BITS = 21

#: Number of exact slices; a fourth slice holds the remainder (below ``2**-63`` of the maximum).
_EXACT_SLICES = 3
_SLICES = _EXACT_SLICES + 1

#: Rows summed per exact BLAS product in ``Aᵀ r``: 1024 products of 42 bits stay below 2**52.
ROW_BLOCK = 1024

#: ExtractScalar constants: ``(a + σ_k) − σ_k`` rounds ``a`` to a multiple of ``2**(-21k)`` exactly
#: when ``|a| < 2**(51 − 21k)``; ``σ_k = 1.5 · 2**(52 − 21k)`` sits mid-binade with that spacing.
_EXTRACTORS = tuple(1.5 * 2.0 ** (52 - SLICE_BITS * k) for k in range(1, _EXACT_SLICES + 1))


# ----------------------------------------------------------------------------------------------
# Powers of two
# ----------------------------------------------------------------------------------------------


class _PowerOfTwo:
    """Multiplication by ``2**exponents`` (broadcast along the last axis), exact short of underflow.

    A multiplication by a float power of two is several times faster than :func:`numpy.ldexp`;
    ldexp is the fallback when a factor itself is not a normal float (data near 2**±1023).
    """

    def __init__(self, exponents):
        self.exponents = np.asarray(exponents, dtype=np.int64)
        in_range = self.exponents.size == 0 or (
            self.exponents.min() >= _MIN_EXPONENT and self.exponents.max() <= _MAX_EXPONENT
        )
        self.factors = np.exp2(self.exponents.astype(np.float64)) if in_range else None

    def __call__(self, values, out=None):
        with np.errstate(under="ignore"):  # only bits below 2**-1022 of the largest entry are lost
            if self.factors is not None:
                return np.multiply(values, self.factors, out=out)
            return np.ldexp(values, self.exponents, out=out)


def _times_power_of_two(values, exponents, out=None):
    """``values · 2**exponents``; see :class:`_PowerOfTwo`."""
    return _PowerOfTwo(exponents)(values, out=out)


def _exponent(values):
    """Exponents ``e`` with ``|values| < 2**e`` (0 for zeros), as integers."""
    return np.frexp(values)[1].astype(np.int64)


def _magnitude_exponent(v: NDArray[np.float64]) -> int:
    """``e`` with ``max |v| < 2**e`` (0 for an empty or zero array)."""
    return int(np.frexp(float(np.max(np.abs(v))) if v.size else 0.0)[1])


# ----------------------------------------------------------------------------------------------
# Error-free transformations
# ----------------------------------------------------------------------------------------------


def _two_sum(a, b):
    """Knuth's TwoSum: ``s + e == a + b`` exactly, ``s = fl(a + b)``."""
    s = a + b
    t = s - a
    e = (a - (s - t)) + (b - t)
    return s, e


def _accurate_sum(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum ``terms`` over axis 0 as if in twice the working precision, then round (see :func:`_sum_pair`)."""
    return _sum_pair(terms)[0]


#: Veltkamp's splitter for float64: ``(2**27 + 1)·a`` splits ``a`` into two 26-bit halves.
_VELTKAMP = 2.0**27 + 1.0


def _two_product(a, b):
    """Dekker's TwoProduct: ``p + e == a·b`` exactly, ``p = fl(a·b)`` (no overflow assumed)."""
    p = a * b
    a_big = _VELTKAMP * a
    a_hi = a_big - (a_big - a)
    a_lo = a - a_hi
    b_big = _VELTKAMP * b
    b_hi = b_big - (b_big - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def _sum_pair(terms: NDArray[np.float64], xp=None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(hi, lo)`` with ``hi + lo`` the sum of ``terms`` over axis 0 to about ``u²·Σ|t|`` (a TwoSum tree).

    ``xp``: the array-API namespace of ``terms`` where they are not numpy (rows on a device: the
    tree runs there, in log₂(N) whole-array steps)."""
    # A binary tree of TwoSums keeps the leading parts exact; the rounding errors, each below
    # u·|partial sum|, are summed in float64: a second-order error (≈ log₂(N)²·u²·Σ|t|).
    if xp is None:
        xp, hi = np, np.array(terms, dtype=np.float64)
        concat = np.concatenate
    else:
        hi, concat = terms, xp.concat
    lo = xp.zeros_like(hi[0, ...]) if hi.shape[0] else np.zeros(hi.shape[1:])
    if hi.shape[0] == 0:
        return lo, np.zeros_like(lo)
    while hi.shape[0] > 1:
        half = hi.shape[0] // 2
        s, e = _two_sum(hi[:half, ...], hi[half : 2 * half, ...])
        lo = lo + xp.sum(e, axis=0)
        hi = concat([s, hi[2 * half :, ...]]) if hi.shape[0] % 2 else s
    head, tail = _two_sum(hi[0, ...], lo)  # renormalise: |tail| ≤ u·|head|
    return head, tail


def _divide_pair(hi, lo, divisor: float):
    """``(hi + lo)/divisor`` in double-double."""
    q = hi / divisor
    p, e = _two_product(q, divisor)
    return _two_sum(q, ((hi - p) - e + lo) / divisor)


# ----------------------------------------------------------------------------------------------
# Exact slices
# ----------------------------------------------------------------------------------------------


def _split(values: NDArray[np.float64], out: list[NDArray[np.float64]]) -> None:
    """Split ``values`` (all in ``[-1, 1]``, overwritten) into ``_SLICES`` exact parts in ``out``.

    ``out[k]`` (k < 3) is a multiple of ``2**(-21(k+1))`` bounded by ``2**(-21k)``; ``out[3]`` is the
    remainder, below ``2**-64``. The parts add up to ``values`` exactly.
    """
    rest = values
    for sigma, part in zip(_EXTRACTORS, out):
        np.add(rest, sigma, out=part)
        np.subtract(part, sigma, out=part)
        np.subtract(rest, part, out=rest)
    out[_EXACT_SLICES][...] = rest


def _split_vector(v: NDArray[np.float64], exponent: int | None = None) -> NDArray[np.float64]:
    """Slices of ``v`` (shape ``(_SLICES,) + v.shape``) on grids relative to ``2**exponent``
    (default: the magnitude of ``v``; pass a common one to split a long vector piece by piece)."""
    if exponent is None:
        exponent = _magnitude_exponent(v)
    work = _times_power_of_two(v, -exponent)
    parts = np.empty((_SLICES,) + v.shape)
    _split(work, list(parts))
    # Scaling the slices back by a power of two keeps them exact (short of underflow, which only
    # drops bits far below the unit roundoff of the largest entry).
    return _times_power_of_two(parts, exponent)


# ----------------------------------------------------------------------------------------------
# Double-double statistics, for gradient methods on small ill-conditioned problems
# ----------------------------------------------------------------------------------------------


def gram_double_double(
    A: NDArray[np.float64], *, divisor: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``AᵀA/n`` (or ``/divisor``) as a double-double pair ``(hi, lo)``, accurate to about ``u²``
    relative to ``|A|ᵀ|A|/n``.

    Columns are scaled by powers of two into [-1, 1) and split into 21-bit slices (see
    :func:`_split`); the slice products over blocks of ``ROW_BLOCK`` rows are exact in BLAS, and
    their sum is taken with TwoSums. Cost: about 16 BLAS products of A's size; meant for small
    problems (the estimator uses it when ``n·p²`` is small and the problem ill-conditioned).

    Parameters
    ----------
    A : ndarray of shape (n, q)

    Returns
    -------
    hi, lo : ndarray of shape (q, q)
    """
    n, q = A.shape
    exponents = _exponent(np.max(np.abs(A), axis=0, initial=0.0))
    scaled = _times_power_of_two(A, -exponents)
    slices = np.empty((_SLICES, n, q))
    _split(scaled, list(slices))
    terms = [
        slices[k, start : start + ROW_BLOCK].T @ slices[j, start : start + ROW_BLOCK]
        for start in range(0, n, ROW_BLOCK)
        for k in range(_SLICES)
        for j in range(_SLICES)
    ]
    hi, lo = _sum_pair(np.stack(terms))
    scale = np.add.outer(exponents, exponents)
    hi = _times_power_of_two(hi.ravel(), scale.ravel()).reshape(q, q)
    lo = _times_power_of_two(lo.ravel(), scale.ravel()).reshape(q, q)
    return _divide_pair(hi, lo, float(n if divisor is None else divisor))


def add_to_pair(pair, values):
    """``(hi, lo) + values`` as a renormalised double-double pair."""
    hi, e = _two_sum(pair[0], values)
    return hi, pair[1] + e


def affine_double_double(G_pair, b_pair, theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """``G θ − b`` for double-double ``G`` and ``b``, rounded once (see :func:`affine_pair`)."""
    hi, lo = affine_pair(G_pair, b_pair, theta)
    return hi + lo


def affine_pair(G_pair, b_pair, theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``G θ − b`` for double-double ``G`` (p, p) and ``b`` (p,), as a double-double pair.

    Near a least-squares optimum ``Gθ`` and ``b`` agree in most of their digits; computed in
    float64 the gradient then drowns in rounding of size ``u·|G||θ|``. Here every product is
    exact (TwoProduct) and the sum is a TwoSum tree, so the error is about ``u·|Gθ − b|``.
    """
    G_hi, G_lo = G_pair
    b_hi, b_lo = b_pair
    products, errors = _two_product(G_hi, theta[None, :])
    terms = np.concatenate([products.T, errors.T, (G_lo @ theta)[None, :], -b_hi[None, :], -b_lo[None, :]])
    return _sum_pair(terms)
