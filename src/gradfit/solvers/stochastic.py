"""Stochastic solvers: plain SGD, mini-batch SGD and Adam. One update of the driver is one epoch.

Each epoch draws a fresh permutation of the rows from ``default_rng([random_state, epoch])``, so
the same seed gives the same iterates, and walks through it in batches. The loss, gradient norm and
tolerance test at the end of the epoch use the full objective, so ``tol`` means what it means for
every other solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.schedules import AdaptiveSchedule, constant, inverse_scaling
from gradfit.solvers.base import Solver, State, evaluate, reciprocal

__all__ = ["SGD", "MiniBatch", "Adam", "StochasticState"]

#: Adam's defaults (Kingma & Ba, 2015), but for the step: 1e-2 suits the standardized coordinates, where coefficients are O(1).
ADAM_STEP = 1e-2
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-8


@dataclass(frozen=True)
class StochasticState(State):
    """A :class:`State` with the epoch's base step, the adaptive schedule's memory, Adam's moments."""

    base_step: float = 0.0
    best_loss: float = math.inf
    stalled: int = 0
    updates: int = 0
    first_moment: NDArray[np.float64] | None = None
    second_moment: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class _Epochs(Solver):
    """Shared epoch loop; subclasses define ``_update``."""

    needs_rows: ClassVar[bool] = True
    learning_rate: float | Literal["auto"] = "auto"
    schedule: Literal["constant", "invscaling", "adaptive"] = "invscaling"
    power_t: float = 0.25
    batch_size: int = 1
    random_state: int = 0

    def step_size(self, objective) -> float:
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        # The batch Hessian Z_bᵀZ_b/B has largest eigenvalue about L + R²/B (R the largest row norm);
        # a step below its inverse keeps every update a contraction.
        radius2 = objective.max_row_norm2()
        return reciprocal(objective.lipschitz + radius2 / self.batch_size + float(np.max(objective.ridge)))

    def init(self, objective, theta0: NDArray[np.float64]) -> StochasticState:
        loss, grad, grad_norm = evaluate(objective, theta0)
        step = self.step_size(objective)
        zeros = np.zeros_like(theta0)
        return StochasticState(
            theta0, 0, loss, grad, grad_norm, step, base_step=step, best_loss=loss,
            first_moment=zeros, second_moment=zeros,
        )

    def _epoch_step(self, state: StochasticState) -> float:
        if self.schedule == "invscaling":
            return inverse_scaling(state.k, state.base_step, power=self.power_t)
        return constant(state.k, state.base_step)

    def step(self, objective, state: StochasticState) -> StochasticState:
        step = self._epoch_step(state)
        order = np.random.default_rng([self.random_state, state.k]).permutation(objective.n_samples)
        theta, moments, updates = state.theta, (state.first_moment, state.second_moment), state.updates
        for start in range(0, order.shape[0], self.batch_size):
            grad = objective.batch_gradient(theta, order[start : start + self.batch_size])
            updates += 1
            theta, moments = self._update(objective, theta, grad, step, moments, updates)
        loss, grad, grad_norm = evaluate(objective, theta)
        base_step, best_loss, stalled = state.base_step, state.best_loss, state.stalled
        if self.schedule == "adaptive":
            base_step, best_loss, stalled = AdaptiveSchedule().next_step(base_step, best_loss, loss, stalled)
        return replace(
            state, theta=theta, k=state.k + 1, loss=loss, grad=grad, grad_norm=grad_norm, step=step,
            base_step=base_step, best_loss=best_loss, stalled=stalled, updates=updates,
            first_moment=moments[0], second_moment=moments[1],
        )


@dataclass(frozen=True)
class SGD(_Epochs):
    """Stochastic gradient descent, one row per update: ``θ ← prox_{ηh}(θ − η z_i(z_iᵀθ − t_i))``.

    Parameters
    ----------
    learning_rate : float or "auto"
        η₀; ``"auto"`` is ``1/(L + R²)``, R the largest row norm in the optimised coordinates.
    schedule : {"invscaling", "constant", "adaptive"}
        ``η_k = η₀/(k+1)^power_t`` per epoch k; constant; or divided by 5 after 5 epochs without
        improvement (scikit-learn's SGDRegressor schedules, counted in epochs).
    power_t : float
    random_state : int
        Seed of the row order.
    """

    name: ClassVar[str] = "sgd"
    supports_l1: ClassVar[bool] = True

    def _update(self, objective, theta, grad, step, moments, updates):
        return objective.prox(theta - step * grad, step), moments


@dataclass(frozen=True)
class MiniBatch(SGD):
    """Mini-batch SGD: :class:`SGD` on batches of ``batch_size`` rows (gradients averaged)."""

    name: ClassVar[str] = "minibatch"
    batch_size: int = 64


@dataclass(frozen=True)
class Adam(_Epochs):
    """Adam on mini-batches: ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``θ ← θ − η m̂/(√v̂ + ε)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``. Smooth objectives only.

    Parameters
    ----------
    learning_rate : float or "auto"
        η; ``"auto"`` is 1e-2 (coefficients are O(1) in the standardized coordinates).
    schedule : {"constant", "invscaling", "adaptive"}
    beta1, beta2, epsilon : float
    batch_size : int
    random_state : int
    """

    name: ClassVar[str] = "adam"
    supports_l1: ClassVar[bool] = False
    schedule: Literal["constant", "invscaling", "adaptive"] = "constant"
    batch_size: int = 64
    beta1: float = ADAM_BETA1
    beta2: float = ADAM_BETA2
    epsilon: float = ADAM_EPSILON

    def step_size(self, objective) -> float:
        return ADAM_STEP if self.learning_rate == "auto" else float(self.learning_rate)

    def _update(self, objective, theta, grad, step, moments, updates):
        first = self.beta1 * moments[0] + (1 - self.beta1) * grad
        second = self.beta2 * moments[1] + (1 - self.beta2) * grad * grad
        corrected_first = first / (1 - self.beta1**updates)
        corrected_second = second / (1 - self.beta2**updates)
        return theta - step * corrected_first / (np.sqrt(corrected_second) + self.epsilon), (first, second)
