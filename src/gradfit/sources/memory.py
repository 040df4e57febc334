"""In-memory dense numpy data."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gradfit.sources import SufficientStats, merge_all, power_of_two_scale

__all__ = ["MemorySource"]

#: Rows per chunk: 8192 rows × 64 features × 8 bytes is 4 MiB, about one L2/L3 slice, so a chunk's
#: scaled, centred copy stays in cache while its products are formed.
CHUNK_BYTES = 4 * 2**20


class MemorySource:
    """A dense ``X`` (n, d) and ``y`` (n,) held in memory. Copies at most one chunk at a time.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, finite
    y : ndarray of shape (n,), float64, finite
    sample_weight : ndarray of shape (n,), non-negative, optional
    """

    def __init__(
        self, X: NDArray[np.float64], y: NDArray[np.float64], sample_weight: NDArray[np.float64] | None = None
    ) -> None:
        self._X = X
        self._y = y
        self._weight = sample_weight
        self.n_samples, self.n_features = X.shape

    @property
    def sample_weight(self) -> NDArray[np.float64] | None:
        return self._weight

    def chunk_rows(self) -> int:
        """Rows per chunk for :meth:`stats` (at least one, at most all)."""
        row_bytes = max(1, self.n_features) * self._X.itemsize
        return max(1, min(self.n_samples, CHUNK_BYTES // row_bytes))

    def stats(self) -> SufficientStats:
        """Gather the statistics chunk by chunk and merge them pairwise."""
        x_scale = power_of_two_scale(np.max(np.abs(self._X), axis=0, initial=0.0))
        y_scale = float(power_of_two_scale(np.max(np.abs(self._y), initial=0.0)))
        # The first row is the shared origin: subtracting it is exact for nearby values.
        x_origin = self._X[0] / x_scale
        y_origin = float(self._y[0] / y_scale)
        step = self.chunk_rows()
        parts = [
            SufficientStats.from_chunk(
                self._X[start : start + step],
                self._y[start : start + step],
                x_scale=x_scale,
                y_scale=y_scale,
                x_origin=x_origin,
                y_origin=y_origin,
                sample_weight=None if self._weight is None else self._weight[start : start + step],
            )
            for start in range(0, self.n_samples, step)
        ]
        return merge_all(parts)

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self._X, self._y

    def rows(
        self, indices: NDArray[np.intp]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
        """``(X[indices], y[indices], sample_weight[indices] or None)`` for the stochastic solvers."""
        weight = None if self._weight is None else self._weight[indices]
        return self._X[indices], self._y[indices], weight

    def max_row_norm2(self, transform) -> float:
        """Largest ``‖transform(x_i)‖²`` over the rows, chunk by chunk (for stochastic step sizes)."""
        step = self.chunk_rows()
        return max(
            float(np.max(np.sum(transform(self._X[start : start + step]) ** 2, axis=1)))
            for start in range(0, self.n_samples, step)
        )
