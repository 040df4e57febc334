"""Kernels a source runs over its rows, wherever they live: numpy rows on the host, or rows of an
array-API namespace on their device (:mod:`gradfit.numerics.array_api`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gradfit.numerics.array_api import residual_sums_on_device
from gradfit.numerics.residuals import ResidualSums, residual_sums

__all__ = ["ResidualKernel"]


@dataclass(frozen=True)
class ResidualKernel:
    """:func:`~gradfit.numerics.residuals.residual_sums` for one ``coef``/``intercept``, as a kernel a
    source runs over its rows (``reduce_rows``): called on numpy rows, or through :meth:`on_device` on
    rows that live on a device, where the pass runs without moving them.

    Attributes
    ----------
    coef : ndarray of shape (d,)
    intercept, y_scale, weight_scale : float
    x_scale : ndarray of shape (d,)
    """

    coef: NDArray[np.float64]
    intercept: float
    x_scale: NDArray[np.float64]
    y_scale: float
    weight_scale: float = 1.0

    def __call__(self, X: NDArray[np.float64], y: NDArray[np.float64], weight: NDArray[np.float64] | None) -> ResidualSums:
        return residual_sums(X, y, weight, coef=self.coef, intercept=self.intercept, x_scale=self.x_scale,
                             y_scale=self.y_scale, weight_scale=self.weight_scale)

    def on_device(self, xp, X, y, weight) -> ResidualSums:  # arrays of the namespace xp
        """The same sums of float64 rows of namespace ``xp``, computed on their device."""
        return residual_sums_on_device(xp, X, y, weight, coef=self.coef, intercept=self.intercept,
                                       x_scale=self.x_scale, y_scale=self.y_scale, weight_scale=self.weight_scale)
