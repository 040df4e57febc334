"""The L1 part of an objective, ``h(θ) = Σ_j l1_j |θ_j|``, shared by every objective class."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["L1Penalty"]


class L1Penalty:
    """Mixin: the L1 part of an objective with per-coordinate weights ``l1`` (None without one), and
    what solvers ask of it (its value, its proximal map, the stationarity measure it makes)."""

    l1: NDArray[np.float64] | None

    @property
    def has_l1(self) -> bool:
        return self.l1 is not None

    def penalty(self, theta: NDArray[np.float64]) -> float:
        """The L1 part, ``Σ l1_j |θ_j|`` (0 without one)."""
        return float(self.l1 @ np.abs(theta)) if self.l1 is not None else 0.0

    def prox(self, theta: NDArray[np.float64], step: float) -> NDArray[np.float64]:
        """``argmin_x ‖x − θ‖²/2step + Σ l1_j|x_j|``: soft thresholding (identity without L1)."""
        if self.l1 is None:
            return theta
        return np.sign(theta) * np.maximum(np.abs(theta) - step * self.l1, 0.0)

    def stationarity(self, theta: NDArray[np.float64], grad: NDArray[np.float64]) -> float:
        """Norm of the smallest subgradient of J at θ (``‖∇J(θ)‖`` without L1); 0 exactly at the optimum."""
        if self.l1 is None:
            return float(np.linalg.norm(grad))
        at_zero = np.sign(grad) * np.maximum(np.abs(grad) - self.l1, 0.0)
        subgradient = np.where(theta != 0, grad + self.l1 * np.sign(theta), at_zero)
        return float(np.linalg.norm(subgradient))
