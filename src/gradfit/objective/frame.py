"""The coordinates of the optimisation (:class:`Frame`: θ ↔ the model's coefficients in the user's
units) and how close an iterate is to the least-squares solution in them (:class:`Accuracy`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from gradfit.sources.stats import SufficientStats

__all__ = ["Accuracy", "Frame"]

EPS = float(np.finfo(np.float64).eps)


class Accuracy(NamedTuple):
    """How close an iterate is to the least-squares solution of the data (see ``accuracy`` methods).

    Attributes
    ----------
    error : float
        Largest relative error of a coefficient or the intercept (user's units), rounding included;
        on the streaming engine and with L1, the relative error of θ as a whole.
    floor : float
        The part of ``error`` that rounding sets: what an exact iterate would still be granted.
    at_floor : bool
        Whether the iterate's own error is already within the rounding floor (no update can lower
        ``error`` much further).
    """

    error: float
    floor: float
    at_floor: bool


@dataclass(frozen=True)
class Frame:
    """Coordinates of the optimisation: ``Z_j = (x_j/x_scale_j − x_shift_j)/x_unit_j`` and
    ``t = (y/y_scale − y_shift)/y_unit``; θ is ``[θ0, w]`` with an intercept, ``w`` without.

    ``x_scale``/``y_scale`` are exact powers of two (see :func:`gradfit.sources.power_of_two_scale`);
    the other fields are in the units after that exact rescaling, so every product stays near 1.

    Attributes
    ----------
    fit_intercept : bool
    x_shift, x_unit, x_scale : ndarray of shape (d,)
    y_shift, y_unit, y_scale : float
    inert : ndarray of bool, shape (d,), optional
        Columns that carry nothing (zero, or constant beside an intercept): their coefficient is 0
        in every iterate, so it is left out of the relative error (:meth:`relative_error`).
    """

    fit_intercept: bool
    x_shift: NDArray[np.float64]
    x_unit: NDArray[np.float64]
    x_scale: NDArray[np.float64]
    y_shift: float
    y_unit: float
    y_scale: float
    inert: NDArray[np.bool_] | None = None

    @classmethod
    def for_stats(cls, stats: SufficientStats, *, fit_intercept: bool, standardize: bool) -> Frame:
        """Standardized coordinates (centred when there is an intercept) or the raw ones."""
        n = stats.weight
        return cls.for_moments(
            stats.x_mean, np.diag(stats.xx) / n, stats.y_mean, stats.yy / n, stats.x_scale, stats.y_scale,
            fit_intercept=fit_intercept, standardize=standardize,
        )

    @classmethod
    def for_moments(
        cls,
        x_mean: NDArray[np.float64],
        x_var: NDArray[np.float64],
        y_mean: float,
        y_var: float,
        x_scale: NDArray[np.float64],
        y_scale: float,
        *,
        fit_intercept: bool,
        standardize: bool,
    ) -> Frame:
        """The frame from column means and variances of ``X/x_scale`` and ``y/y_scale``."""
        if standardize and fit_intercept:
            x_shift, x_unit = x_mean, np.sqrt(x_var)
            y_shift, y_unit = y_mean, float(np.sqrt(y_var))
        elif standardize:
            x_shift, x_unit = np.zeros_like(x_mean), np.sqrt(x_var + x_mean**2)
            y_shift, y_unit = 0.0, float(np.sqrt(y_var + y_mean**2))
        else:
            x_shift, x_unit = np.zeros_like(x_mean), 1.0 / x_scale
            y_shift, y_unit = 0.0, 1.0 / y_scale
        # Zero columns carry nothing; a constant one carries nothing only once it is centred away
        # (an intercept, standardized): on the raw design it shares the intercept's work.
        inert = (x_var == 0) if fit_intercept and standardize else (x_var + x_mean**2 == 0)
        # A constant column (or target) has nothing to scale: keep its unit so its weight stays put.
        x_unit = np.where(x_unit > 0, x_unit, 1.0)
        y_unit = y_unit if y_unit > 0 else 1.0
        return cls(
            fit_intercept=fit_intercept,
            x_shift=np.asarray(x_shift, dtype=np.float64),
            x_unit=np.asarray(x_unit, dtype=np.float64),
            x_scale=np.asarray(x_scale, dtype=np.float64),
            y_shift=float(y_shift),
            y_unit=float(y_unit),
            y_scale=float(y_scale),
            inert=np.asarray(inert, dtype=bool),
        )

    def relative_error(self, theta, error, bound):  # one iterate or rows of them alike
        """The largest relative error of a coefficient or the intercept, in the user's units, at θ
        whose error is ``error`` (θ − θ*, any sign) give or take ``bound`` in norm.

        A coefficient is θ_j times its own unit, so its relative error is ``(|e_j| + bound)/|θ*_j|``.
        The intercept mixes θ0 with every coefficient: ``y_unit·(|e0 − Σ e_j s_j| + bound·√(1 + Σ s_j²))``
        over ``|intercept*|`` with ``s = x_shift/x_unit`` (Cauchy-Schwarz for the bound's share).
        ``θ* = θ − error`` (far from the answer, relative to θ itself would understate the error),
        each known to within the same ``bound``: the denominators are ``|θ*_j|`` less that share, so a
        component that ``bound`` could put at 0 has no certified digit (inf), unless it and its error
        are both within the rounding of θ itself (``√p·ε·‖θ‖``): then it is 0 to within rounding (a
        feature that explains nothing, say), where a relative error means nothing, and it is left
        out, as inert columns are.
        ``theta`` and ``error`` of shape (p,), or rows (k, p) with ``bound`` of shape (k,).
        """
        rows = np.ndim(theta) == 2
        error = np.atleast_2d(np.asarray(error, dtype=np.float64))
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64)) - error
        bound = np.asarray(bound, dtype=np.float64).reshape(-1, 1)
        kept, shift, spread = self._error_layout
        # Columns: the kept coefficients, then the intercept. A norm-sized quantity reaches a
        # coefficient as itself, the intercept spread by Cauchy-Schwarz (``spread``).
        size = np.empty((theta.shape[0], spread.size))
        errors = np.empty_like(size)
        np.abs(theta[:, kept], out=size[:, : kept.size])
        np.abs(error[:, kept], out=errors[:, : kept.size])
        if self.fit_intercept:
            size[:, -1] = np.abs(self.y_shift + self.y_unit * (theta[:, 0] - theta[:, 1:] @ shift))
            errors[:, -1] = self.y_unit * np.abs(error[:, 0] - error[:, 1:] @ shift)
        share = bound * spread
        numerator, value = errors + share, size - share
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(numerator == 0, 0.0, np.where(value > 0, numerator / value, np.inf))
        # 0 to within the rounding of θ itself, √p·ε·‖θ‖, with an error within it too: a feature
        # that explains nothing.
        zero_level = np.sqrt(theta.shape[1]) * EPS * np.linalg.norm(theta, axis=1, keepdims=True) * spread
        ratios[(size <= zero_level) & (errors <= zero_level)] = 0.0
        worst = ratios.max(axis=1) if ratios.shape[1] else np.zeros(ratios.shape[0])
        return worst if rows else float(worst[0])

    @cached_property
    def _error_layout(self) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
        """What :meth:`relative_error` needs of the frame alone, worked out once: the columns of θ
        whose coefficients count (not inert), ``s = x_shift/x_unit``, and the spread of a norm-sized
        error over each counted column (1 for a coefficient, ``y_unit·√(1 + Σ s_j²)`` for the intercept)."""
        start = 1 if self.fit_intercept else 0
        active = np.ones(self.x_unit.size, dtype=bool) if self.inert is None else ~self.inert
        kept = start + np.flatnonzero(active)
        shift = self.x_shift / self.x_unit
        spread = np.ones(kept.size + start)
        if self.fit_intercept:
            spread[-1] = self.y_unit * np.sqrt(1.0 + float(shift @ shift))
        return kept, shift, spread

    def penalty_weights(self, alpha: float, l1_ratio: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-coefficient (ridge, l1) weights in θ's units for the user-unit elastic net.

        With ``coef_j = τ θ_j / σ_j`` (τ, σ the target and column units) and losses divided by τ²:
        ``ridge_j = α(1 − l1_ratio)/σ_j²`` and ``l1_j = α·l1_ratio/(τ σ_j)``.
        """
        zeros = np.zeros_like(self.x_unit)
        if alpha == 0:
            return zeros, zeros
        # Extreme column scales over/underflow σ²; the limits (no or infinite penalty) are what the
        # nan_to_num below makes of them.
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            sigma = self.x_unit * self.x_scale
            tau = self.y_unit * self.y_scale
            ridge = alpha * (1.0 - l1_ratio) / sigma**2
            l1 = alpha * l1_ratio / (tau * sigma)
        return np.nan_to_num(ridge, posinf=np.finfo(float).max), np.nan_to_num(l1, posinf=np.finfo(float).max)

    @property
    def n_params(self) -> int:
        return self.x_shift.shape[0] + int(self.fit_intercept)

    @property
    def loss_scale(self) -> float:
        """Factor from a loss in θ's units to a loss in the target's units."""
        with np.errstate(over="ignore"):
            return float(np.float64(self.y_unit * self.y_scale) ** 2)

    def to_model(self, theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """θ (p,) → (coef (d,), intercept) in the user's units."""
        return self.unscaled(*self.to_scaled(theta))

    def to_scaled(self, theta: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """θ (p,) → (coef, intercept) of ``y/y_scale`` on ``X/x_scale`` (the power-of-two units)."""
        theta0, weights = (theta[0], theta[1:]) if self.fit_intercept else (0.0, theta)
        coef_scaled = self.y_unit * weights / self.x_unit
        intercept_scaled = self.y_shift + self.y_unit * theta0 - float(coef_scaled @ self.x_shift)
        return coef_scaled, float(intercept_scaled)

    def scaled_step(self, step: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """The linear part of :meth:`to_scaled`: how a move of θ moves (coef, intercept) in those units."""
        step0, weights = (step[0], step[1:]) if self.fit_intercept else (0.0, step)
        coef_step = self.y_unit * weights / self.x_unit
        return coef_step, float(self.y_unit * step0 - coef_step @ self.x_shift) if self.fit_intercept else 0.0

    def unscaled(self, coef_scaled: NDArray[np.float64], intercept_scaled: float) -> tuple[NDArray[np.float64], float]:
        """(coef, intercept) in the power-of-two units → the user's units (exact short of overflow)."""
        with np.errstate(over="ignore", under="ignore"):
            coef = coef_scaled * (self.y_scale / self.x_scale)
        return coef, float(intercept_scaled * self.y_scale)

    def from_model(self, coef: NDArray[np.float64], intercept: float) -> NDArray[np.float64]:
        """(coef (d,), intercept) in the user's units → θ (p,). Inverse of :meth:`to_model`."""
        return self.from_scaled(np.asarray(coef, dtype=np.float64) * (self.x_scale / self.y_scale), intercept / self.y_scale)

    def from_scaled(self, coef_scaled: NDArray[np.float64], intercept_scaled: float) -> NDArray[np.float64]:
        """(coef, intercept) in the power-of-two units → θ (p,). Inverse of :meth:`to_scaled`."""
        weights = coef_scaled * self.x_unit / self.y_unit
        if not self.fit_intercept:
            return weights
        theta0 = (intercept_scaled - self.y_shift + float(coef_scaled @ self.x_shift)) / self.y_unit
        return np.concatenate([[theta0], weights])


def _normwise(bound: float, theta_norm: float) -> float:
    """``bound/‖θ‖`` (0 for an exact 0; inf for a positive bound at θ = 0)."""
    if bound == 0:
        return 0.0
    return bound / theta_norm if theta_norm > 0 else float("inf")
