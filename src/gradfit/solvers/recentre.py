"""Recentring, as a wrapper around a solver: near the rounding floor of θ itself, the run goes on in
the coordinates ``δ = θ − anchor`` of a recentred objective (``LeastSquares.recentred``), whose
gradient is formed in double-double, so updates far below the float spacing of θ still move it. The
solvers know nothing of it: the driver wraps a run in :class:`Recentred` where the objective
``can_recentre`` and the solver does not draw rows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers.base import State, Trajectory

__all__ = ["Recentred", "Recentring", "RECENTRE_FACTOR"]

#: A run is recentred once its gradient is within this factor of the rounding floor ``ε·L·‖θ‖``,
#: below which steps on θ itself start to round away.
RECENTRE_FACTOR = 16.0


@dataclass(frozen=True)
class Recentring(State):
    """A state of a recentred run: the :class:`State` fields in parameters (``theta = anchor + δ``),
    with the inner solver's own state in δ coordinates (``inner``), the ``anchor`` and the recentred
    objective (``shifted``) it steps on."""

    inner: State = field(default=None, repr=False)
    anchor: NDArray[np.float64] = field(default=None, repr=False)
    shifted: object = field(default=None, repr=False)


def _lifted(inner: State, anchor: NDArray[np.float64], shifted) -> Recentring:
    return Recentring(theta=anchor + inner.theta, k=inner.k, loss=inner.loss, grad=inner.grad, grad_norm=inner.grad_norm,
                      step=inner.step, inner=inner, anchor=anchor, shifted=shifted)


@dataclass(frozen=True)
class Recentred:
    """``inner`` with recentring on ``objective``: before each update (or block of updates), once
    ``‖∇J‖ ≤ RECENTRE_FACTOR·ε·L·‖θ‖``, the inner solver restarts (momentum and memory are lost) from
    δ = 0 at the same point, on ``objective.recentred(θ)``. Until then it is ``inner``, state for state;
    after, its states are :class:`Recentring`, whose θ is in parameters like any other state's."""

    inner: object
    below: float  # recentre once ‖∇J‖ ≤ below·‖θ‖

    @classmethod
    def around(cls, inner, objective) -> Recentred:
        return cls(inner, RECENTRE_FACTOR * np.finfo(np.float64).eps * objective.lipschitz)

    def init(self, objective, theta0: NDArray[np.float64]) -> State:
        return self.inner.init(objective, theta0)

    def _current(self, objective, state: State) -> tuple[State, NDArray[np.float64] | None, object]:
        """(inner state, anchor or None, the objective it steps on), recentred first where it is due."""
        inner, anchor, shifted = (state.inner, state.anchor, state.shifted) if isinstance(state, Recentring) else (state, None, objective)
        if inner.grad_norm <= self.below * float(np.linalg.norm(inner.theta)):
            anchor = inner.theta if anchor is None else anchor + inner.theta
            shifted = shifted.recentred(inner.theta)
            inner = replace(self.inner.init(shifted, np.zeros_like(inner.theta)), k=inner.k)
        return inner, anchor, shifted

    def step(self, objective, state: State) -> State:
        inner, anchor, shifted = self._current(objective, state)
        new = self.inner.step(shifted, inner)
        return new if anchor is None else _lifted(new, anchor, shifted)

    @property
    def advance(self):
        """The inner solver's closed-form blocks, on the recentred objective once there is one (None where
        the inner solver has none)."""
        if self.inner.advance is None:
            return None
        return self._advance

    def _advance(self, objective, state: State, n_steps: int) -> Trajectory | None:
        inner, anchor, shifted = self._current(objective, state)
        trajectory = self.inner.advance(shifted, inner, n_steps)
        if trajectory is None or anchor is None:
            return trajectory
        thetas = anchor + trajectory.thetas_at(np.arange(1, n_steps + 1))
        return replace(
            trajectory,
            theta_norm=np.linalg.norm(thetas, axis=1),
            state_at=lambda j: _lifted(trajectory.state_at(j), anchor, shifted),
            thetas_at=lambda js: anchor + trajectory.thetas_at(js),
        )
