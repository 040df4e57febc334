"""Stochastic solvers: plain SGD, mini-batch SGD and Adam. One update of the driver is one epoch.

Each epoch draws a fresh permutation of the rows from ``default_rng([random_state, epoch])``, so
the same seed gives the same iterates, and walks through it in batches. The loss, gradient norm and
tolerance test at the end of the epoch use the full objective, so ``tol`` means what it means for
every other solver.

The walk is compiled (:mod:`gradfit.solvers.stochastic_kernels`, numba, imported at the first step)
where the objective gives its rows as dense float64 arrays (``objective.row_arrays()``: a dense X in
memory, whatever its memory order), or as CSR arrays (:class:`~gradfit.objective.SparseRowArrays`:
a scipy.sparse X, on the streaming engine, for ``sgd`` and ``minibatch`` without a penalty; each
row costs O(its nonzeros), the centring kept as a lazy shift, see ``sparse_sgd_epoch``). Elsewhere
(a ``MemorySource`` given a float32 X, say) it is a Python loop over
``objective.batch_gradient`` and ``objective.prox``: the same updates, 20-50× slower per epoch.
Both make the same updates from the same permutation; their results differ in rounding only (the
row's map to θ's coordinates and the sums over a row or a batch are evaluated in another order).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.objective.statistics import SparseRowArrays
from gradfit.schedules import AdaptiveSchedule, constant, inverse_scaling
from gradfit.solvers.base import Solver, State, evaluate, reciprocal

__all__ = ["SGD", "MiniBatch", "Adam", "StochasticState"]

#: Elements (rows × columns) of the buffer a stochastic epoch over files shuffles at once: 64 MiB of
#: float64. Rows are shuffled within a buffer, never across (see the README's trade-off).
SHUFFLE_BUFFER_ELEMENTS = 2**23
#: Adam's defaults (Kingma & Ba, 2015), but for the step: 1e-2 suits the standardized coordinates, where coefficients are O(1).
ADAM_STEP = 1e-2
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-8
#: Rows ahead whose CSR entries the sparse epoch prefetches (:func:`~gradfit.solvers.stochastic_kernels.sparse_sgd_epoch`).
SPARSE_PREFETCH_ROWS = 16


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
    """Shared epoch loop; subclasses define ``_update`` (one update of the Python loop) and
    ``_compiled_epoch`` (a whole epoch by their kernel)."""

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
        rows = objective.row_arrays()
        blocks = objective.row_blocks(SHUFFLE_BUFFER_ELEMENTS // (objective.n_params + 1)) if rows is None else None
        if blocks is not None:
            theta, moments, updates = self._streamed_epoch(objective, state, blocks, step)
        elif rows is None:
            order = np.random.default_rng([self.random_state, state.k]).permutation(objective.n_samples)
            theta, moments, updates = self._python_epoch(objective, state, order, step)
        else:
            from gradfit.solvers import stochastic_kernels  # here, not at the top: numba costs a start about 0.5 s

            order = np.random.default_rng([self.random_state, state.k]).permutation(objective.n_samples)
            theta, moments, updates = self._compiled_epoch(stochastic_kernels, objective, rows, state, order, step)
            _check_finite(theta)
        loss, grad, grad_norm = evaluate(objective, theta)
        base_step, best_loss, stalled = state.base_step, state.best_loss, state.stalled
        if self.schedule == "adaptive":
            base_step, best_loss, stalled = AdaptiveSchedule().next_step(base_step, best_loss, loss, stalled)
        return replace(
            state, theta=theta, k=state.k + 1, loss=loss, grad=grad, grad_norm=grad_norm, step=step,
            base_step=base_step, best_loss=best_loss, stalled=stalled, updates=updates,
            first_moment=moments[0], second_moment=moments[1],
        )

    def _streamed_epoch(self, objective, state: StochasticState, blocks, step: float):
        """The epoch over rows that come in blocks (files, one scan): each block shuffled on its own, by
        ``default_rng([random_state, epoch, block])``, and stepped through compiled, in the files' order."""
        from gradfit.solvers import stochastic_kernels

        going = state
        for number, rows in enumerate(blocks):
            order = np.random.default_rng([self.random_state, state.k, number]).permutation(rows.X.shape[0])
            theta, moments, updates = self._compiled_epoch(stochastic_kernels, objective, rows, going, order, step)
            _check_finite(theta)
            going = replace(going, theta=theta, first_moment=moments[0], second_moment=moments[1], updates=updates)
        return going.theta, (going.first_moment, going.second_moment), going.updates

    def _python_epoch(self, objective, state: StochasticState, order, step: float):
        """The epoch as a Python loop over ``objective.batch_gradient``: ``(θ, moments, updates)``."""
        theta, moments, updates = state.theta, (state.first_moment, state.second_moment), state.updates
        for start in range(0, order.shape[0], self.batch_size):
            grad = objective.batch_gradient(theta, order[start : start + self.batch_size])
            updates += 1
            theta, moments = self._update(objective, theta, grad, step, moments, updates)
        return theta, moments, updates


def _check_finite(theta: NDArray[np.float64]) -> None:
    """Where a compiled epoch left the floats, do what numpy would have done at the overflow under the
    error state in force: raise FloatingPointError under the driver's (which reports a divergence),
    warn under numpy's default. A kernel cannot tell numpy of its overflows; an inf or NaN in θ persists
    to the epoch's end (no update maps it back to a float), so it is seen there."""
    if np.all(np.isfinite(theta)):
        return
    mode = np.geterr()["over"]
    if mode == "raise":
        raise FloatingPointError("overflow encountered in a stochastic epoch")
    if mode == "warn":
        warnings.warn("overflow encountered in a stochastic epoch", RuntimeWarning, stacklevel=3)


def _row_map(rows) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(x_factor, x_offset)``: Z = (X/x_scale − x_shift)/x_unit as X·x_factor − x_offset, a product and a
    difference an entry."""
    x_factor = np.ascontiguousarray(1.0 / (rows.x_scale * rows.x_unit), dtype=np.float64)
    x_offset = np.ascontiguousarray(rows.x_shift / rows.x_unit, dtype=np.float64)
    return x_factor, x_offset


def _row_arguments(objective, rows) -> tuple:
    """The row arguments every kernel takes, from ``objective.row_arrays()`` (an absent weight or L1
    part as an empty array: the kernels then skip them)."""
    weight = rows.weight if rows.weight is not None else np.empty(0)
    x_factor, x_offset = _row_map(rows)
    return (rows.X, rows.y, weight, rows.weight_scale, x_factor, x_offset, rows.y_scale, rows.y_shift, rows.y_unit,
            np.ascontiguousarray(objective.ridge, dtype=np.float64))


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
    sparse_rows: ClassVar[bool] = True

    def _update(self, objective, theta, grad, step, moments, updates):
        return objective.prox(theta - step * grad, step), moments

    def _compiled_epoch(self, kernels, objective, rows, state, order, step):
        batches = -(-order.shape[0] // self.batch_size)
        if isinstance(rows, SparseRowArrays):  # no ridge, no L1 here: check_compatibility refuses them
            x_factor, x_offset = _row_map(rows)
            weight = rows.weight if rows.weight is not None else np.empty(0)
            theta = kernels.sparse_sgd_epoch(state.theta, order, self.batch_size, float(step), rows.indptr,
                                             rows.indices, rows.data, rows.y, weight, rows.weight_scale, x_factor,
                                             x_offset, rows.y_scale, rows.y_shift, rows.y_unit, SPARSE_PREFETCH_ROWS)
            return theta, (state.first_moment, state.second_moment), state.updates + batches
        l1 = objective.l1 if objective.l1 is not None else np.empty(0)
        theta = kernels.sgd_epoch(state.theta, order, self.batch_size, float(step), *_row_arguments(objective, rows),
                                  np.ascontiguousarray(l1, dtype=np.float64), kernels.prefetch_distance(rows.X.shape[1]))
        return theta, (state.first_moment, state.second_moment), state.updates + batches


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

    def _compiled_epoch(self, kernels, objective, rows, state, order, step):
        theta, first, second, updates = kernels.adam_epoch(
            state.theta, state.first_moment, state.second_moment, state.updates, order, self.batch_size, float(step),
            float(self.beta1), float(self.beta2), float(self.epsilon), *_row_arguments(objective, rows),
            kernels.prefetch_distance(rows.X.shape[1]),
        )
        return theta, (first, second), int(updates)
