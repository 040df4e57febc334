r"""The exact least-squares solver: the answer key every other solver is tested against.

Method
------
All work happens on a *scaled* problem. Column ``j`` of ``X`` is multiplied by ``2**-e_j`` and ``y``
by ``2**-e_y`` (``e`` from :func:`numpy.frexp` of the largest magnitude), so every entry lies in
``[-1, 1)``. Powers of two scale without rounding, so the scaled problem has exactly the same
solution up to that scaling, and data near ``1e±300`` neither overflow nor underflow.

With ``A = [1, X D]`` (the ones column only when an intercept is fitted; ``D = diag(2**-e_j)``) the
solution ``x`` of ``min ‖y_s − A x‖₂`` is found in two stages:

1. **Factorization.** Householder QR of the centred design ``F = [1, X D − 1 m̃ᵀ]`` (``m̃`` the
   computed column means), so ``A = F T`` with ``T = [[1, m̃ᵀ], [0, I]]`` and ``A ≈ Q (R T)``.
   Centring only shapes the *preconditioner*: the errors of the factorization are relative to the
   centred columns, so the refinement below converges whenever ``κ(centred, scaled design)·u < 1``
   even when the raw design (a year column, say) is far more ill-conditioned.
2. **Iterative refinement** (Björck 1967) of the augmented system

   .. math::  \begin{bmatrix} I & A \\ A^T & 0 \end{bmatrix}
              \begin{bmatrix} r \\ x \end{bmatrix} = \begin{bmatrix} y_s \\ 0 \end{bmatrix},

   whose residuals ``f = y_s − r − A x`` and ``g = −Aᵀ r`` are computed from the *uncentred,
   exact* data in about twice the working precision (see :class:`_Residuals`). Each correction is
   solved with the QR factors: ``h = R⁻ᵀ g``, ``t = Qᵀ f − h``, ``Δx = R⁻¹ t``, ``Δr = f − Q t``.
   Refining ``r`` along with ``x`` is what keeps large-residual problems accurate: refining ``x``
   alone contracts only by about ``κ²·u·‖r‖/(‖A‖‖x‖)`` per step, which is no contraction at all
   once the residual is large and the problem ill-conditioned.

   The loop stops when every component of the correction is within one unit roundoff of its
   component of ``x`` (the solution is settled to its last bit), when the correction stops
   shrinking (what is left is rounding noise), or after ``MAX_REFINEMENT_STEPS`` corrections.

The result is accurate to about one unit in the last place of float64 whenever
``κ(centred, scaled design) ≲ 1/(p·u)``, because the residuals carry an error of order ``u²`` and the
corrections contract by a factor of order ``κ·u`` per step (two residual passes for ``κ ≲ 1e8``,
a few more up to ``κ ≈ 1e13``).

Residuals in double-double, at the speed of BLAS
-----------------------------------------------
An entry ``a ∈ [-1, 1]`` is split without error (Rump's ExtractScalar, ``(a + σ) − σ``) into
``a = a₁ + a₂ + a₃ + a₄`` where ``a_k`` is a multiple of ``2**(-21k)`` and ``|a_k| ≤ 2**(-21(k-1))``
for ``k ≤ 3``; the vector ``x`` (and ``r``) is split the same way. A product ``a_k x_l`` then needs
at most 42 bits, so a BLAS dot product of up to 1024 such products is *exact* whatever the order of
summation or the use of FMA. The products are grouped by ``k + l`` into exact partial results, the
few terms of size below ``2**-63`` are added in ordinary float64, and the partial results are
combined with error-free TwoSum (Ogita, Rump & Oishi 2005). This costs ten elementwise operations
per entry (scale and split) and two small matrix products per block of rows, where Dekker's
TwoProduct with a TwoSum reduction costs about thirty elementwise operations per entry for both
products; n = 2,000,000 rows by d = 50 columns takes a few seconds, dominated by the QR.

Rank-deficient problems
-----------------------
The numerical rank of the centred, scaled design is the number of singular values of its
triangular factor above ``τ = p·eps·‖A‖_F``, the size of the rounding error already present in the
data, times the accumulation factor of Householder QR. Below ``τ`` a direction cannot be told apart
from rounding noise. In that case the solver returns the minimum-norm solution of the centred
problem, as :class:`sklearn.linear_model.LinearRegression` does: a basic solution on a
well-conditioned subset of columns (column-pivoted QR), refined as above, moved along the numerical
null space to the point of least norm ``‖diag(column_unit) coef‖₂``, then the intercept refined
for those coefficients. Columns that are exactly constant (with an intercept) or exactly zero get a
coefficient of exactly 0. The fit of a minimum-norm solution is as accurate as a full-rank one;
its norm is minimal up to rounding relative to the basic solution, which can show (in the last
digits, or worse) only when the norm's column units span many orders of magnitude.

References
----------
Å. Björck, "Iterative refinement of linear least squares solutions I", BIT 7 (1967) 257–278.
T. Ogita, S. M. Rump, S. Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005).
S. M. Rump, T. Ogita, S. Oishi, "Accurate floating-point summation part I", SIAM J. Sci. Comput. 31
(2008) (ExtractScalar).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray

from gradfit.errors import DataError

__all__ = ["solve_exact", "solve_exact_counted", "rank_tolerance", "ResidualSums", "residual_sums"]

EPS = float(np.finfo(np.float64).eps)
_MIN_EXPONENT, _MAX_EXPONENT = int(np.finfo(np.float64).minexp), int(np.finfo(np.float64).maxexp) - 1

#: Refinement stops after this many corrections even if they still shrink.
MAX_REFINEMENT_STEPS = 10

#: Bits per slice when an entry is split for the exact products: two slices multiply into 42 bits,
#: leaving 11 bits of headroom for exact sums of up to 2**11 products in a 53-bit significand.
SLICE_BITS = 21

#: Number of exact slices; a fourth slice holds the remainder (below ``2**-63`` of the maximum).
_EXACT_SLICES = 3
_SLICES = _EXACT_SLICES + 1

#: Rows summed per exact BLAS product in ``Aᵀ r``: 1024 products of 42 bits stay below 2**52.
ROW_BLOCK = 1024

#: Columns summed per exact BLAS product in ``A x`` (the level with three products per column
#: stays below ``2.5 · 2**40 · 1024 < 2**53``).
COLUMN_BLOCK = 1024

#: ExtractScalar constants: ``(a + σ_k) − σ_k`` rounds ``a`` to a multiple of ``2**(-21k)`` exactly
#: when ``|a| < 2**(51 − 21k)``; ``σ_k = 1.5 · 2**(52 − 21k)`` sits mid-binade with that spacing.
_EXTRACTORS = tuple(1.5 * 2.0 ** (52 - SLICE_BITS * k) for k in range(1, _EXACT_SLICES + 1))


# ----------------------------------------------------------------------------------------------
# Error-free transformations
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


def _two_sum(a, b):
    """Knuth's TwoSum: ``s + e == a + b`` exactly, ``s = fl(a + b)``."""
    s = a + b
    t = s - a
    e = (a - (s - t)) + (b - t)
    return s, e


def _weighted_pair(v, hi, lo):  # noqa: ANN001, ANN202 - arrays
    """``v·(hi + lo)`` as a pair: the leading product exact by TwoProduct, its error and ``v·lo``
    (a second-order term) added below it."""
    product, error = _two_product(v, hi)
    return product, error + v * lo


def _accurate_sum(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum ``terms`` over axis 0 as if in twice the working precision, then round (see :func:`_sum_pair`)."""
    return _sum_pair(terms)[0]


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


def _magnitude_exponent(v: NDArray[np.float64]) -> int:
    """``e`` with ``max |v| < 2**e`` (0 for an empty or zero array)."""
    return int(np.frexp(float(np.max(np.abs(v))) if v.size else 0.0)[1])


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
# Residuals of the augmented system in extended precision
# ----------------------------------------------------------------------------------------------


class _Residuals:
    """``f = y_s − r − b − A_w w`` and ``g = −Aᵀ r`` of the scaled problem, to about ``u²``; with row
    weights v, ``f = v∘(y_s − b − A_w w) − r`` (``r`` is then the weighted residual).

    ``A_w = X[:, columns] · 2**-exponents`` is never stored. Each block of ``ROW_BLOCK`` rows is
    scaled, split into exact slices and multiplied by BLAS while it is in cache; blocks this small
    also keep OpenBLAS on its fast single-threaded path for skinny products.
    """

    def __init__(self, X, columns, exponents, y_scaled, weight=None):
        self.X = X
        self.weight = weight
        self.columns = None if len(columns) == X.shape[1] else np.asarray(columns)
        self.to_scaled = _PowerOfTwo(-np.asarray(exponents))
        self.y = y_scaled
        self.n = X.shape[0]
        self.d = len(columns)
        self.blocks = [(s, min(s + COLUMN_BLOCK, self.d)) for s in range(0, self.d, COLUMN_BLOCK)]
        self.n_row_blocks = -(-self.n // ROW_BLOCK)
        #: Passes made over X (each call reads every row once).
        self.passes = 0

    @staticmethod
    def _level_matrices(w_slices):
        """``W[k]`` with ``(a_k W[k])[:, s]`` the part of ``a w`` at level ``s``: products
        ``a_k w_l`` with ``k + l = s`` for the three exact levels, everything else in column 3."""
        w1, w2, w3, w4 = w_slices
        zero = np.zeros_like(w1)
        return np.stack(
            [
                np.stack([w1, w2, w3, w4], axis=1),
                np.stack([zero, w1, w2, w3 + w4], axis=1),
                np.stack([zero, zero, w1, w2 + w3 + w4], axis=1),
                np.stack([zero, zero, zero, w1 + w2 + w3 + w4], axis=1),
            ]
        )

    def _scaled_block(self, row0, row1, out):
        chunk = self.X[row0:row1]
        if self.columns is not None:
            chunk = chunk[:, self.columns]
        m = row1 - row0
        self.to_scaled(chunk, out=out[:m])
        out[m:] = 0.0

    def _pass_buffers(self, w: NDArray[np.float64]):  # noqa: ANN202
        """A pass's level matrices of ``w`` and its scratch: block products (n_blocks, 4, d, 4), block
        sums of the second vector's slices (n_blocks, 4), a scaled block, its slices, the vector's
        slices (counting the pass)."""
        self.passes += 1
        level_matrices = [self._level_matrices(_split_vector(w[a:b], _magnitude_exponent(w))) for a, b in self.blocks]
        return (level_matrices, np.empty((self.n_row_blocks, _SLICES, self.d, _SLICES)),
                np.empty((self.n_row_blocks, _SLICES)), np.empty((ROW_BLOCK, self.d)),
                np.empty((_SLICES, ROW_BLOCK, self.d)), np.zeros((ROW_BLOCK, _SLICES)))

    def _residual_pair(self, row0: int, row1: int, sliced, level_matrices, intercept: float, r=None):
        """``f = y_s − r − b − A_w w`` on rows ``row0:row1`` as an unrounded pair ``(hi, lo)``, from the
        block's slices (``r`` None: 0), with a cascade of TwoSums over the rows of the block."""
        m = row1 - row0
        if r is None:
            hi, lo = self.y[row0:row1], np.zeros(m)
        else:
            hi, lo = _two_sum(self.y[row0:row1], -r[row0:row1])
        if intercept:
            hi, e = _two_sum(hi, -intercept)
            lo = lo + e
        for b, (start, stop) in enumerate(self.blocks):
            # Each slice's product is exact and so is their sum over k: they share the grid of
            # their level and stay below 2**53 units of it.
            levels = np.matmul(sliced[:, :m, start:stop], level_matrices[b]).sum(axis=0)
            for level in levels.T:
                hi, e = _two_sum(hi, -level)
                lo += e
        return hi, lo

    def __call__(self, intercept: float, w: NDArray[np.float64], r: NDArray[np.float64]):
        """Return ``f`` (n,), ``g_b`` (float, ``−Σ r``) and ``g_w`` (d,), each rounded once.

        Everything is done block by block, so no temporary is longer than ``ROW_BLOCK`` rows.
        """
        n, d = self.n, self.d
        level_matrices, products, r_sums, scaled, sliced, r_slices = self._pass_buffers(w)
        r_exponent = _magnitude_exponent(r)
        f = np.empty(n)
        for block, row0 in enumerate(range(0, n, ROW_BLOCK)):
            row1 = min(row0 + ROW_BLOCK, n)
            m = row1 - row0
            self._scaled_block(row0, row1, scaled)
            _split(scaled, list(sliced))
            r_slices[:m] = _split_vector(r[row0:row1], r_exponent).T
            r_slices[m:] = 0.0
            # g: a_kᵀ r_l over one row block is exact for k, l < 3.
            np.matmul(sliced.transpose(0, 2, 1), r_slices, out=products[block])
            r_sums[block] = r_slices.sum(axis=0)
            if self.weight is None:
                hi, lo = self._residual_pair(row0, row1, sliced, level_matrices, intercept, r)
            else:  # v∘(y_s − b − A_w w) − r: the product by TwoProduct, the pair kept to the end
                hi, lo = _weighted_pair(self.weight[row0:row1], *self._residual_pair(row0, row1, sliced, level_matrices, intercept))
                hi, e = _two_sum(hi, -r[row0:row1])
                lo = lo + e
            f[row0:row1] = hi + lo

        # g_w: the exact products a_kᵀ r_l of every row block, summed in double-double.
        g_w = -_accurate_sum(products.transpose(0, 1, 3, 2).reshape(-1, d)) if d else np.zeros(0)
        # g_b: the slices of r sum exactly over a row block.
        g_b = -float(_accurate_sum(r_sums.reshape(-1)))
        return f, g_b, g_w

    def weighted_sums(self, intercept: float, w: NDArray[np.float64], weight: NDArray[np.float64] | None):
        """Sums of ``s = v∘f`` for ``f = y_s − b − A_w w`` (``v`` the row weights, 1 when None).

        Returns ``(Σ s, A_wᵀ s)`` as double-double pairs ``((hi, lo), (hi (d,), lo (d,)))``, each to
        about ``u²`` relative to the sums of magnitudes, and ``Σ v f²`` in float64. ``f`` is never
        rounded: it is kept as ``hi + lo`` per row, ``hi`` split into exact slices whose products
        with the slices of ``A_w`` are exact in BLAS, ``lo`` (and the weights' TwoProduct error)
        carried in the inexact last slice, where its rounding is of order ``u²``. Refinement on
        the normal equations needs exactly this: the gradient ``A_wᵀf`` near the optimum is a small
        difference of large terms, and rounding ``f`` first would leave it an error of ``u·|A|ᵀ|f|``.
        """
        n, d = self.n, self.d
        level_matrices, products, f_sums, scaled, sliced, f_slices = self._pass_buffers(w)
        squares = 0.0
        for block, row0 in enumerate(range(0, n, ROW_BLOCK)):
            row1 = min(row0 + ROW_BLOCK, n)
            m = row1 - row0
            self._scaled_block(row0, row1, scaled)
            _split(scaled, list(sliced))
            hi, lo = self._residual_pair(row0, row1, sliced, level_matrices, intercept)
            hi, lo = _two_sum(hi, lo)  # renormalised: |lo| ≤ u·|hi|
            if weight is not None:
                v = weight[row0:row1]
                squares += float((v * hi) @ hi)
                hi, lo = _weighted_pair(v, hi, lo)
            else:
                squares += float(hi @ hi)
            f_slices[:m] = _split_vector(hi, _magnitude_exponent(hi)).T
            f_slices[:m, _EXACT_SLICES] += lo
            f_slices[m:] = 0.0
            np.matmul(sliced.transpose(0, 2, 1), f_slices, out=products[block])
            f_sums[block] = f_slices.sum(axis=0)
        xf = _sum_pair(products.transpose(0, 1, 3, 2).reshape(-1, d)) if d else (np.zeros(0), np.zeros(0))
        total = _sum_pair(f_sums.reshape(-1, 1))
        return (float(total[0][0]), float(total[1][0])), xf, squares


@dataclass(frozen=True)
class ResidualSums:
    """Weighted sums of the residual ``f = y − intercept − X·coef`` of some rows, to about ``u²``.

    All in the frame's power-of-two units (``X/x_scale``, ``y/y_scale``), as double-double pairs
    where a refinement needs them: near the optimum ``Σ v f`` and ``Xᵀ(v∘f)`` are small differences
    of large terms. Partial sums of disjoint rows :meth:`merge` by TwoSum, so a pass can be split
    over chunks, threads, files or workers in any grouping.

    Attributes
    ----------
    n_samples : int
    total : tuple of float
        ``Σ v_i f_i`` as ``(hi, lo)``.
    gradient : tuple of ndarray of shape (d,)
        ``Σ v_i f_i x_i`` as ``(hi, lo)``.
    squares : float
        ``Σ v_i f_i²`` (float64: the loss needs no more).
    """

    n_samples: int
    total: tuple[float, float]
    gradient: tuple[NDArray[np.float64], NDArray[np.float64]]
    squares: float

    def merge(self, other: "ResidualSums") -> "ResidualSums":
        """The sums over both sets of rows (TwoSum on the leading parts, so nothing is lost)."""
        total_hi, total_error = _two_sum(self.total[0], other.total[0])
        gradient_hi, gradient_error = _two_sum(self.gradient[0], other.gradient[0])
        return ResidualSums(
            n_samples=self.n_samples + other.n_samples,
            total=(float(total_hi), float(self.total[1] + other.total[1] + total_error)),
            gradient=(gradient_hi, self.gradient[1] + other.gradient[1] + gradient_error),
            squares=self.squares + other.squares,
        )


def residual_sums(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    weight: NDArray[np.float64] | None,
    *,
    coef: NDArray[np.float64],
    intercept: float,
    x_scale: NDArray[np.float64],
    y_scale: float,
    weight_scale: float = 1.0,
) -> ResidualSums:
    """:class:`ResidualSums` of some rows, for ``coef``/``intercept`` in the frame's units.

    The rows' columns are brought into ``[-1, 1)`` by their own powers of two (exact), the residual
    is formed in double-double from exact slice products, and every product of the gradient is
    exact in BLAS (see :meth:`_Residuals.weighted_sums`); the results are mapped back to the
    frame's units by powers of two. Cost: about fifteen elementwise operations per entry plus
    small BLAS products, in blocks of ``ROW_BLOCK`` rows that stay in cache.

    Parameters
    ----------
    X : ndarray of shape (k, d)
        Rows in the user's units (finite).
    y : ndarray of shape (k,)
    weight : ndarray of shape (k,) or None
    coef : ndarray of shape (d,)
        ``coef_user · x_scale / y_scale``.
    intercept : float
        ``intercept_user / y_scale``.
    x_scale : ndarray of shape (d,)
        Powers of two (see :class:`~gradfit.sources.SufficientStats`).
    y_scale : float
        A power of two.
    weight_scale : float, default=1
        A power of two the weights (1 for every row when ``weight`` is None) are divided by, exactly,
        before use, so that the products of huge weights neither overflow nor lose their TwoProduct
        split; the sums are those of the divided weights (one scale for all the chunks of a pass,
        so that they merge).
    """
    k, d = X.shape
    unweighted_share = 1.0
    if weight is not None:
        weight = weight / weight_scale
    else:
        unweighted_share = 1.0 / weight_scale  # a power of two: applied to the sums below, exactly
    if k == 0:
        return ResidualSums(0, (0.0, 0.0), (np.zeros(d), np.zeros(d)), 0.0)
    # Units: A_j = X_j 2^-e_j and y_s = y 2^-e_y, so f_s = f_frame · y_scale 2^-e_y, and a product
    # Σ A_j f_s is Σ (X_j/x_scale_j) f_frame times 2^(log2 x_scale_j − e_j + log2 y_scale − e_y):
    # the way back to the frame multiplies by 2^(e_j + e_y − log2 x_scale_j − log2 y_scale).
    exponents = _exponent(np.max(np.abs(X), axis=0))
    y_exponent = int(_exponent(np.max(np.abs(y))))
    x_log, y_log = _exponent(x_scale) - 1, int(_exponent(y_scale)) - 1  # log2 of the powers of two
    to_frame = _PowerOfTwo(exponents - x_log + y_exponent - y_log)
    f_to_frame = _PowerOfTwo(np.array([y_exponent - y_log]))
    residuals = _Residuals(X, np.arange(d), exponents, _times_power_of_two(y, -y_exponent))
    w = _times_power_of_two(coef, exponents - x_log + y_log - y_exponent)
    b = float(_times_power_of_two(np.array([intercept]), np.array([y_log - y_exponent]))[0])
    (total_hi, total_lo), (gradient_hi, gradient_lo), squares = residuals.weighted_sums(b, w, weight)
    total_hi, total_lo, squares = total_hi * unweighted_share, total_lo * unweighted_share, squares * unweighted_share
    gradient_hi, gradient_lo = gradient_hi * unweighted_share, gradient_lo * unweighted_share
    total = f_to_frame(np.array([total_hi, total_lo]))
    square_factor = float(_times_power_of_two(np.array([1.0]), np.array([2 * (y_exponent - y_log)]))[0])
    return ResidualSums(
        n_samples=k,
        total=(float(total[0]), float(total[1])),
        gradient=(to_frame(gradient_hi), to_frame(gradient_lo)),
        squares=squares * square_factor,
    )


# ----------------------------------------------------------------------------------------------
# Orthogonal bases for the correction solves
# ----------------------------------------------------------------------------------------------


class _Basis(Protocol):
    """An orthonormal ``Q`` (n × q) with ``A_S ≈ Q R`` for the unknowns being refined."""

    def qt(self, f: NDArray[np.float64]) -> NDArray[np.float64]: ...

    def q(self, t: NDArray[np.float64]) -> NDArray[np.float64]: ...


class _HouseholderBasis:
    """``Q = (I − V T Vᵀ)[:, :k] · inner`` from the Householder vectors of an ``n × p`` QR.

    ``V`` (unit lower trapezoidal, ``n × k``) overwrites LAPACK's reflector storage in place, and
    the compact-WY factor ``T`` is formed once, so each application is two BLAS matrix-vector
    products instead of LAPACK's ``dormqr``, which rebuilds ``T`` from ``V`` on every call.
    ``inner`` (``k × q``, orthonormal columns) selects a subset of the factored columns.
    """

    def __init__(self, reflectors, tau):
        k = len(tau)
        V = reflectors[:, :k]
        top = V[:k]
        top[np.triu_indices(k)] = 0.0  # R lives here; it was returned separately
        top[np.diag_indices(k)] = 1.0
        gram = V.T @ V
        T = np.zeros((k, k))
        for i in range(k):  # LAPACK dlarft, forward columnwise: H_1 ⋯ H_k = I − V T Vᵀ
            T[i, i] = tau[i]
            T[:i, i] = -tau[i] * (T[:i, :i] @ gram[:i, i])
        self.V, self.T, self.k, self.inner = V, T, k, None

    def restricted(self, inner):
        """The same reflectors followed by ``inner``: the basis of a subset of the columns."""
        other = object.__new__(_HouseholderBasis)
        other.V, other.T, other.k, other.inner = self.V, self.T, self.k, inner
        return other

    def qt(self, f):
        """``Qᵀ f``: the first ``k`` entries of ``(I − V Tᵀ Vᵀ) f``, then ``innerᵀ``."""
        head = f[: self.k] - self.V[: self.k] @ (self.T.T @ (self.V.T @ f))
        return head if self.inner is None else self.inner.T @ head

    def q(self, t):
        """``Q t = (I − V T Vᵀ) [t; 0]`` (after ``inner``)."""
        head = t if self.inner is None else self.inner @ t
        out = -(self.V @ (self.T @ (self.V[: self.k].T @ head)))
        out[: self.k] += head
        return out


class _ConstantBasis:
    """``Q = d/‖d‖``: the basis of the intercept-only problem (``d`` the rows' root weights, or ones)."""

    def __init__(self, root_weight):
        self.norm = float(np.linalg.norm(root_weight))
        self.unit = root_weight / self.norm

    def qt(self, f):
        return np.array([self.unit @ f])

    def q(self, t):
        return self.unit * t[0]


def _refine(
    residuals: _Residuals,
    basis: _Basis,
    R: NDArray[np.float64],
    *,
    intercept: float,
    w: NDArray[np.float64],
    columns: NDArray[np.intp],
    fit_intercept: bool,
    root_weight: NDArray[np.float64] | None = None,
) -> tuple[float, NDArray[np.float64]]:
    """Björck's iterative refinement of ``min ‖y_s − b − A_w w‖`` over ``b`` (when ``fit_intercept``)
    and ``w[columns]``, starting from the given values, with ``A_S ≈ Q R`` for those unknowns.

    With row weights (``root_weight = √v``, and ``Q R ≈ diag(√v)·A_S``) the system refined is
    ``[[V⁻¹, A], [Aᵀ, 0]] [r; x] = [y_s; 0]``, ``r = V(y_s − Ax)`` the weighted residual: its residuals
    ``v∘(y_s − Ax) − r`` and ``−Aᵀr`` need no square root, so they are exact to about u², and a
    correction solves the same system scaled by ``√v`` with the QR factors:
    ``h = R⁻ᵀg``, ``t = Qᵀ(f/√v) − h``, ``Δx = R⁻¹t``, ``Δr = f − √v∘(Qt)``.

    Returns the refined ``(intercept, w)``; entries of ``w`` outside ``columns`` stay fixed.
    """
    w = np.array(w, dtype=np.float64)
    r = np.zeros(residuals.n)
    x = np.concatenate([[intercept] if fit_intercept else [], w[columns]])
    previous = np.inf
    for step in range(MAX_REFINEMENT_STEPS):
        if step == 0 and not np.any(w) and intercept == 0.0 and root_weight is None:
            f, g = residuals.y, np.zeros(len(x))  # r = 0, x = 0: the residuals are exact
        else:
            f, g_b, g_w = residuals(x[0] if fit_intercept else 0.0, w, r)
            g = np.concatenate([[g_b] if fit_intercept else [], g_w[columns]])
        h = scipy.linalg.solve_triangular(R, g, trans="T", check_finite=False)
        if root_weight is None:
            t = basis.qt(f) - h
        else:  # rows of weight 0 have f = −r = 0 and no say in the factors
            with np.errstate(divide="ignore", invalid="ignore"):
                t = basis.qt(np.where(root_weight > 0, f / root_weight, 0.0)) - h
        dx = scipy.linalg.solve_triangular(R, t, check_finite=False)
        size = float(np.max(np.abs(dx))) if dx.size else 0.0
        if step > 0 and size >= previous:
            break  # the corrections stopped shrinking: they are rounding noise (or diverging)
        x = x + dx
        r = r + (f - (basis.q(t) if root_weight is None else root_weight * basis.q(t)))
        if fit_intercept:
            intercept = float(x[0])
        w[columns] = x[1:] if fit_intercept else x
        if np.all(np.abs(dx) <= EPS * np.abs(x)):
            break  # every component is settled to within its last bit
        previous = size
    return intercept, w


def _refine_intercept(residuals: _Residuals, *, intercept: float, w: NDArray[np.float64],
                      root_weight: NDArray[np.float64] | None = None) -> float:
    """The intercept ``b = mean(y_s − A_w w)`` (weighted: the weighted mean) for fixed ``w``, refined to the last bit."""
    basis = _ConstantBasis(np.ones(residuals.n) if root_weight is None else root_weight)
    refined, _ = _refine(residuals, basis, np.array([[basis.norm]]), intercept=intercept, w=w,
                         columns=np.zeros(0, dtype=np.intp), fit_intercept=True, root_weight=root_weight)
    return refined


# ----------------------------------------------------------------------------------------------
# The solver
# ----------------------------------------------------------------------------------------------


def rank_tolerance(n_parameters: int, design_norm: float) -> float:
    r"""Singular values of the centred, scaled design at or below this count as zero.

    ``τ = p · eps · ‖A‖_F`` with ``A`` the power-of-two scaled design (ones column included). The
    data already carry rounding errors of ``eps/2`` relative to each entry, a perturbation of norm up
    to ``eps·‖A‖_F``; Householder QR adds a backward error growing like ``p`` times that. A direction
    whose singular value is below ``τ`` cannot be told apart from that noise, and a correction along
    it would not converge in the refinement (whose contraction factor is about ``κ·p·eps``).
    Unlike ``max(n, p)·eps·σ_max`` (numpy's ``matrix_rank``) it does not grow with ``n``, so a large
    sample of an informative but nearly constant column (a year, say) keeps its full rank.

    Parameters
    ----------
    n_parameters : int
        ``p``: the columns of the design, the ones column included.
    design_norm : float
        ``‖A‖_F`` of the scaled design.
    """
    return n_parameters * EPS * design_norm


def _exponent(values):
    """Exponents ``e`` with ``|values| < 2**e`` (0 for zeros), as integers."""
    return np.frexp(values)[1].astype(np.int64)


def _norm_weights(column_unit, exponents):
    """Diagonal weights ``E`` (≤ 1) with ``‖E z‖ ∝ ‖diag(column_unit) coef‖`` for scaled ``z``.

    ``coef_j = z_j 2**(e_y − e_j)``; the common factor ``2**e_y`` does not change the minimiser.
    Computed in the exponent domain so that no product overflows; weights that underflow are floored
    at the smallest normal number so that the norm stays a norm.
    """
    mantissa, unit_exponent = np.frexp(column_unit)
    total = unit_exponent.astype(np.int64) - exponents
    with np.errstate(under="ignore"):
        weights = np.ldexp(mantissa, total - total.max())
    return np.maximum(weights, np.finfo(np.float64).tiny)


def _build_design(X, columns, exponents, fit_intercept, weight=None):
    """The Fortran-ordered design ``F = [1, X_S D − 1 m̃ᵀ]`` that LAPACK factors in place; with row
    weights v, its rows times ``√v`` and ``m̃`` the weighted means.

    Rows are copied in blocks of ``ROW_BLOCK``: a whole-array transpose copy is several times
    slower than blocks that stay in cache.
    """
    n = X.shape[0]
    offset = 1 if fit_intercept else 0
    F = np.empty((n, offset + len(columns)), order="F")
    whole = len(columns) == X.shape[1]
    to_scaled = _PowerOfTwo(-exponents)
    for row0 in range(0, n, ROW_BLOCK):
        chunk = X[row0 : row0 + ROW_BLOCK]
        F[row0 : row0 + ROW_BLOCK, offset:] = to_scaled(chunk if whole else chunk[:, columns])
    means = np.zeros(len(columns))
    if fit_intercept:
        F[:, 0] = 1.0
        means = F[:, 1:].mean(axis=0) if weight is None else (weight @ F[:, 1:]) / weight.sum()
        F[:, 1:] -= means
    if weight is not None:
        F *= np.sqrt(weight)[:, None]
    return F, means


def _with_shift(R, means):
    """``R T`` with ``T = [[1, m̃ᵀ], [0, I]]``: only row 0 changes. ``A ≈ Q (R T)``."""
    RA = np.array(R, dtype=np.float64)
    RA[0, 1:] += R[0, 0] * means
    return RA


def _check_inputs(X, y, column_unit):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"solve_exact needs X of shape (n, d) and y of shape (n,), n, d >= 1; got {X.shape} and {y.shape}")
    if column_unit is not None:
        column_unit = np.asarray(column_unit, dtype=np.float64)
        if column_unit.shape != (X.shape[1],) or not np.all(np.isfinite(column_unit)) or np.any(column_unit <= 0):
            raise ValueError(f"column_unit must hold {X.shape[1]} positive finite numbers; got {column_unit!r}")
    return X, y, column_unit


def solve_exact(
    X: ArrayLike, y: ArrayLike, *, fit_intercept: bool, column_unit: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], float]:
    r"""Least-squares coefficients and intercept, accurate to the limit of float64 (see
    :func:`solve_exact_counted`, which also says how many passes over X it made)."""
    coef, intercept, _ = solve_exact_counted(X, y, fit_intercept=fit_intercept, column_unit=column_unit,
                                             sample_weight=sample_weight)
    return coef, intercept


def solve_exact_counted(
    X: ArrayLike, y: ArrayLike, *, fit_intercept: bool, column_unit: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], float, int]:
    r"""Least-squares coefficients and intercept, accurate to the limit of float64.

    Solves

    .. math::  \min_{w, b} \; \lVert y - X w - b\,\mathbf{1} \rVert_2

    (``b = 0`` when ``fit_intercept`` is false) by Householder QR of the power-of-two scaled,
    centred design followed by Björck's iterative refinement of the augmented system with residuals
    in double-double precision (see the module docstring). When the solution is unique the result is
    within a few units in the last place of the exact answer for condition numbers of the centred,
    column-scaled design up to about ``1/(p·eps)``.

    When the centred design is rank-deficient (duplicate, constant or zero columns, more columns
    than rows, or a singular value below ``p·eps·‖A‖_F`` of the scaled design), the minimum-norm
    solution of the centred problem is returned, the intercept not being part of the norm, as
    :class:`sklearn.linear_model.LinearRegression` does. Exactly constant columns (with an
    intercept) and exactly zero columns get a coefficient of exactly 0.

    The accuracy is that of the data as given, with one exception: an entry smaller than
    ``2**-1022`` times the largest magnitude in its column becomes subnormal when the column is
    scaled, and loses low-order bits. Its effect on the answer is below the unit roundoff unless
    the answer depends on such entries alone.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Finite float64 design, n >= 1, d >= 1 (validated by the caller).
    y : ndarray of shape (n,)
        Finite float64 target.
    fit_intercept : bool
        Fit ``b``; the columns are then centred implicitly (the intercept absorbs constants).
    column_unit : ndarray of shape (d,), optional
        Positive units: the minimum norm of a rank-deficient problem is measured in the
        coordinates ``w_j * column_unit_j`` (the estimator passes the feature standard deviations
        when it standardizes). Plain ``‖w‖₂`` when omitted. Has no effect on a unique solution.
    sample_weight : ndarray of shape (n,), optional
        Non-negative finite row weights: ``min Σ v_i (y_i − x_i·w − b)²`` (weighted least squares).
        The refinement keeps the weighted residual ``V(y − Xw − b)`` as its second unknown, so its
        residuals need no square root of a weight and stay exact to about u²; only the factors
        (of the rows times ``√v``) see the weights rounded.

    Returns
    -------
    coef : ndarray of shape (d,)
        In the user's units.
    intercept : float
        ``0.0`` when ``fit_intercept`` is false.
    passes : int
        Passes made over X: two scans for the column scales (its largest and its smallest values),
        the copy into the factored design, and one per residual evaluation of the refinement.

    Raises
    ------
    DataError
        When a coefficient of the solution is too large to be represented in float64.

    Notes
    -----
    Cost: one Householder QR of the ``n × p`` design (``2np²`` flops, the dominant term), then two
    passes over ``X`` for ``κ ≲ 1e8`` (a few more up to ``κ ≈ 1e13``), each about ten elementwise
    operations per entry plus BLAS. Memory: one ``n × p`` copy of the design. A rank-deficient
    design adds an ``O(d³)`` SVD. On 2 shared cores, n = 2,000,000 and d = 50 take about 4 s.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> coef, intercept, passes = solve_exact_counted(X, np.array([1.0, 3.0, 5.0]), fit_intercept=True)
    >>> coef.tolist(), intercept
    ([2.0], 1.0)
    """
    X, y, column_unit = _check_inputs(X, y, column_unit)
    n, d = X.shape
    weight = root_weight = None
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.shape != (n,) or not np.all(np.isfinite(weight)) or np.any(weight < 0) or not weight.sum() > 0:
            raise ValueError(f"sample_weight must hold {n} finite non-negative numbers, not all 0")
        # Divided by a power of two (exactly, the answer unchanged) so no product of weights overflows.
        weight = _times_power_of_two(weight, -_magnitude_exponent(weight))
        root_weight = np.sqrt(weight)
    top, bottom = X.max(axis=0), X.min(axis=0)
    magnitude = np.maximum(top, -bottom)
    # Structurally inert columns: their coefficient is 0 in the minimum-norm solution, exactly.
    inert = (top == bottom) if fit_intercept else (magnitude == 0)
    columns = np.flatnonzero(~inert)
    exponents = _exponent(magnitude[columns])
    y_exponent = int(_exponent(np.max(np.abs(y))))
    y_scaled = _times_power_of_two(y, -y_exponent)
    residuals = _Residuals(X, columns, exponents, y_scaled, weight)
    da = len(columns)

    if da == 0:
        z = np.zeros(0)
        intercept = 0.0
        if fit_intercept:
            intercept = _refine_intercept(residuals, intercept=0.0, w=z, root_weight=root_weight)
        return (*_unscale(d, columns, z, exponents, intercept, y_exponent), 2 + residuals.passes)

    F, means = _build_design(X, columns, exponents, fit_intercept, weight)
    (reflectors, tau), R = scipy.linalg.qr(F, mode="raw", overwrite_a=True, check_finite=False)
    del F  # the reflectors now live in its memory
    k, p = R.shape
    offset = 1 if fit_intercept else 0
    RA = _with_shift(R, means) if fit_intercept else R
    centred = R[offset:, offset:]
    singular_values = scipy.linalg.svdvals(centred, check_finite=False)
    # ‖A‖_F = ‖R T‖_F: the Frobenius norm of the scaled, uncentred design, from its triangular factor.
    rank = int(np.count_nonzero(singular_values > rank_tolerance(p, float(np.linalg.norm(RA)))))
    basis = _HouseholderBasis(reflectors, tau)

    if rank == da:
        intercept, z = _refine(residuals, basis, RA, intercept=0.0, w=np.zeros(da), columns=np.arange(da),
                               fit_intercept=fit_intercept, root_weight=root_weight)
        return (*_unscale(d, columns, z, exponents, intercept, y_exponent), 3 + residuals.passes)

    # Rank-deficient: basic solution on the best-conditioned `rank` columns (column-pivoted QR of
    # the centred factor), then the minimum-norm member of the solution set.
    _, pivots = scipy.linalg.qr(centred, mode="r", pivoting=True, check_finite=False)
    chosen = np.sort(pivots[:rank])
    kept = np.concatenate([[0] if fit_intercept else [], offset + chosen]).astype(np.intp)
    inner, R_sub = scipy.linalg.qr(R[:, kept], mode="economic", check_finite=False)
    R_sub = _with_shift(R_sub, means[chosen]) if fit_intercept else R_sub
    sub_basis = basis.restricted(inner)
    intercept, z = _refine(residuals, sub_basis, R_sub, intercept=0.0, w=np.zeros(da), columns=chosen,
                           fit_intercept=fit_intercept, root_weight=root_weight)

    unit = np.ones(da) if column_unit is None else column_unit[columns]
    z = _minimum_norm(z, centred, rank, _norm_weights(unit, exponents))
    if fit_intercept:
        intercept = _refine_intercept(residuals, intercept=intercept, w=z, root_weight=root_weight)
    return (*_unscale(d, columns, z, exponents, intercept, y_exponent), 3 + residuals.passes)


def _minimum_norm(z, centred, rank, weights):
    """The solution of least ``‖E z‖`` (``E = diag(weights)``) with the same fit as ``z``.

    The fit is shared by ``z + N c`` for ``N`` an orthonormal basis of the numerical null space of
    the centred factor (its right singular vectors beyond ``rank``), so the answer is ``z − N c``
    with ``c`` the least-squares solution of ``(E N) c ≈ E z``. Updating ``z`` along ``N`` keeps the
    fit to rounding error however ``E`` is scaled; a projection in the coordinates ``E z`` would
    amplify rounding by ``max E / min E``. That small weighted problem is solved by Householder QR
    with rows sorted by decreasing size and column pivoting, which is stable for weights of any
    range (Cox & Higham, BIT 1998).

    Cost: a full SVD of the ``d × d`` (padded) centred factor, so ``O(d³)`` for a rank-deficient
    design.
    """
    k, d = centred.shape
    square = centred if k >= d else np.vstack([centred, np.zeros((d - k, d))])
    _, _, vt = scipy.linalg.svd(square, check_finite=False)
    null = vt[rank:].T
    weighted = weights[:, None] * null
    order = np.argsort(-np.linalg.norm(weighted, axis=1), kind="stable")
    q, r, pivots = scipy.linalg.qr(weighted[order], mode="economic", pivoting=True, check_finite=False)
    c = np.empty(null.shape[1])
    c[pivots] = scipy.linalg.solve_triangular(r, q.T @ (weights * z)[order], check_finite=False)
    return z - null @ c


def _unscale(d, columns, z, exponents, intercept, y_exponent):
    """Map scaled ``(z, b)`` back to the user's units: ``coef_j = z_j 2**(e_y − e_j)``, ``b 2**e_y``."""
    coef = np.zeros(d)
    try:
        with np.errstate(over="raise", under="ignore"):
            coef[columns] = np.ldexp(z, y_exponent - exponents)
            intercept = float(np.ldexp(intercept, y_exponent))
    except FloatingPointError:
        raise DataError(
            "the least-squares coefficients are too large to represent in float64; rescale X or y"
        ) from None
    return coef, intercept


# ----------------------------------------------------------------------------------------------
# Double-double statistics, for gradient methods on small ill-conditioned problems
# ----------------------------------------------------------------------------------------------

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


def _sum_pair(terms: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(hi, lo)`` with ``hi + lo`` the sum of ``terms`` over axis 0 to about ``u²·Σ|t|`` (a TwoSum tree)."""
    # A binary tree of TwoSums keeps the leading parts exact; the rounding errors, each below
    # u·|partial sum|, are summed in float64: a second-order error (≈ log₂(N)²·u²·Σ|t|).
    hi = np.array(terms, dtype=np.float64)
    lo = np.zeros(hi.shape[1:])
    if hi.shape[0] == 0:
        return lo, np.zeros_like(lo)
    while hi.shape[0] > 1:
        half = hi.shape[0] // 2
        s, e = _two_sum(hi[:half], hi[half : 2 * half])
        lo += e.sum(axis=0)
        hi = np.concatenate([s, hi[2 * half :]]) if hi.shape[0] % 2 else s
    head, tail = _two_sum(hi[0], lo)  # renormalise: |tail| ≤ u·|head|
    return head, tail


def _divide_pair(hi, lo, divisor: float):
    """``(hi + lo)/divisor`` in double-double."""
    q = hi / divisor
    p, e = _two_product(q, divisor)
    return _two_sum(q, ((hi - p) - e + lo) / divisor)


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
        slices[k, start : start + ROW_BLOCK].T @ slices[l, start : start + ROW_BLOCK]
        for start in range(0, n, ROW_BLOCK)
        for k in range(_SLICES)
        for l in range(_SLICES)
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
