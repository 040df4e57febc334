"""Residuals of least squares and their sums in double-double, at the speed of BLAS.

:class:`_Residuals` gives the residuals of the exact solver's augmented system
(:mod:`gradfit.solvers.exact`) and :func:`residual_sums` the accurate gradient of the direct
solver's refinement (:mod:`gradfit.solvers.direct`, through
:meth:`gradfit.objective.LeastSquares.residual_sums`), both to about ``u²``.

Method
------
An entry ``a ∈ [-1, 1]`` is split without error (Rump's ExtractScalar, ``(a + σ) − σ``) into
``a = a₁ + a₂ + a₃ + a₄`` where ``a_k`` is a multiple of ``2**(-21k)`` and ``|a_k| ≤ 2**(-21(k-1))``
for ``k ≤ 3``; the vector ``x`` (and ``r``) is split the same way. A product ``a_k x_l`` then needs
at most 42 bits, so a BLAS dot product of up to 1024 such products is *exact* whatever the order of
summation or the use of FMA. The products are grouped by ``k + l`` into exact partial results, the
few terms of size below ``2**-63`` are added in ordinary float64, and the partial results are
combined with error-free TwoSum (Ogita, Rump & Oishi 2005). This costs ten elementwise operations
per entry (scale and split) and two small matrix products per block of rows, where Dekker's
TwoProduct with a TwoSum reduction costs about thirty elementwise operations per entry for both
products.

References
----------
T. Ogita, S. M. Rump, S. Oishi, "Accurate sum and dot product", SIAM J. Sci. Comput. 26 (2005).
S. M. Rump, T. Ogita, S. Oishi, "Accurate floating-point summation part I", SIAM J. Sci. Comput. 31
(2008) (ExtractScalar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradfit.numerics.extended import (
    _EXACT_SLICES,
    _SLICES,
    ROW_BLOCK,
    _accurate_sum,
    _exponent,
    _magnitude_exponent,
    _PowerOfTwo,
    _split,
    _split_vector,
    _sum_pair,
    _times_power_of_two,
    _two_product,
    _two_sum,
)

__all__ = ["COLUMN_BLOCK", "ResidualSums", "residual_sums"]

#: Columns summed per exact BLAS product in ``A x`` (the level with three products per column
#: stays below ``2.5 · 2**40 · 1024 < 2**53``).
COLUMN_BLOCK = 1024


def _weighted_pair(v, hi, lo):  # arrays
    """``v·(hi + lo)`` as a pair: the leading product exact by TwoProduct, its error and ``v·lo``
    (a second-order term) added below it."""
    product, error = _two_product(v, hi)
    return product, error + v * lo


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

    def _pass_buffers(self, w: NDArray[np.float64]):
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

    def merge(self, other: ResidualSums) -> ResidualSums:
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

