"""What every solver shares: the :class:`State` of a run, a :class:`Trajectory` of many updates at
once, the :class:`Solver` base with its optional capabilities, and the evaluations a state records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["State", "Trajectory", "Solver", "GRADIENT_REFRESH", "evaluate", "evaluate_after_move", "reciprocal"]

#: On a streaming objective, a gradient updated by recurrence is recomputed from the data every
#: this many updates, so rounding in the recurrence cannot pile up.
GRADIENT_REFRESH = 50


@dataclass(frozen=True)
class State:
    """Where a run stands after ``k`` updates.

    Attributes
    ----------
    theta : ndarray of shape (p,)
    k : int
        Updates made so far.
    loss : float
        ``J(θ)``.
    grad : ndarray of shape (p,)
        ``∇J(θ)``.
    grad_norm : float
        Stationarity measure: ``‖∇J(θ)‖``, or the smallest subgradient's norm with an L1 penalty.
    step : float
        Step size of the update that produced this state (for constant-step methods, the step
        every update uses, already at the start).
    """

    theta: NDArray[np.float64]
    k: int
    loss: float
    grad: NDArray[np.float64]
    grad_norm: float
    step: float

    #: The fields that hold parameter-space vectors (a state class with more names them all).
    vectors: ClassVar[tuple[str, ...]] = ("theta", "grad")


@dataclass(frozen=True)
class Trajectory:
    """The next ``n`` states of a run, computed at once (see ``Solver.advance``).

    Attributes
    ----------
    loss, grad_norm, theta_norm : ndarray of shape (n,)
        For the states after updates ``1..n`` counted from the starting state (``theta_norm``: ‖θ‖).
    step_size : float
        Constant step of these updates.
    state_at : callable
        ``state_at(j)`` gives the full :class:`State` after ``j`` updates (1 ≤ j ≤ n).
    thetas_at : callable
        ``thetas_at(js)`` gives the iterates after ``js`` updates as rows (for recording a path).
    """

    loss: NDArray[np.float64]
    grad_norm: NDArray[np.float64]
    theta_norm: NDArray[np.float64]
    step_size: float
    state_at: Callable[[int], State]
    thetas_at: Callable[[NDArray[np.intp]], NDArray[np.float64]]


def reciprocal(curvature: float) -> float:
    """``1/curvature``, and 1 where the curvature is 0.

    L = 0 means G = 0: every row of the design is zero (X all zeros, no intercept), so ∇J = −b = 0
    everywhere, every step leaves θ where it is, and the run stops at its start."""
    return 1.0 / curvature if curvature > 0 else 1.0


def evaluate(objective, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64], float]:
    """``(J(θ), ∇f(θ), stationarity)``: what every state records about its iterate."""
    loss, grad = objective.loss_grad(theta)
    return loss, grad, objective.stationarity(theta, grad)


def evaluate_after_move(
    objective, state: State, theta: NDArray[np.float64], move: NDArray[np.float64], curved: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], float]:
    """:func:`evaluate` at ``θ = state.θ + move`` for a solver that already has ``curved = G·move``.

    On a smooth quadratic ``∇J(θ + s) = ∇J(θ) + Gs`` and ``J(θ + s) = J(θ) + ∇J(θ)ᵀs + ½sᵀGs``
    exactly, so a streaming objective (where an evaluation is a pass over the data) is spared the
    pass; every :data:`GRADIENT_REFRESH` updates the gradient is recomputed from the data anyway.
    Objectives in memory, or with an L1 part, are evaluated directly.
    """
    if objective.streaming and not objective.has_l1 and (state.k + 1) % GRADIENT_REFRESH:
        grad = state.grad + curved
        loss = state.loss + float(state.grad @ move) + 0.5 * float(move @ curved)
        # J ≥ 0; near an exact fit the recurrence can cancel to a rounding error below 0
        return max(loss, 0.0), grad, objective.stationarity(theta, grad)
    return evaluate(objective, theta)


class Solver:
    """An optimiser as two pure functions, ``init`` and ``step``, on a frozen dataclass of its
    hyperparameters. Every solver derives from this class, which declares the optional capabilities
    the driver and the estimator read, with the value a solver that lacks one has (None, False):

    - ``advance(objective, state, n_steps) -> Trajectory | None``: the next ``n_steps`` states at
      once, where the iterates have a closed form on the objective at hand (``None`` from the call:
      step instead);
    - ``step_size(objective) -> float``: the step the solver takes (or first tries);
    - ``stable_bound(objective) -> float``: the largest stable constant step, named when a run diverges;
    - ``transient_growth(objective) -> float``: by how much the loss may rise before it falls
      (momentum methods), so that only growth beyond it counts as divergence;
    - ``needs_rows``: whether updates draw random rows, which only a source holding them in memory
      can give (and a recentred objective is no use to them);
    - ``sparse_rows``: whether, of a solver that ``needs_rows``, its updates walk a sparse X's rows at
      O(nonzeros) each (``sgd``, ``minibatch``; without ridge or L1 penalty there);
    - ``needs_statistics``: whether it needs the d × d statistics (it cannot run on the streaming engine);
    - ``step_policies``: the named step policies it takes as ``learning_rate`` besides "auto" (a
      number it takes where it has a ``learning_rate`` field);
    - ``krylov_replay``: whether its first updates from 0 on a streaming objective may be computed
      in the Krylov space of the objective's Lanczos estimate, without passes (the driver then runs it
      wrapped in :class:`~gradfit.solvers.replay.Replayed`).

    :func:`gradfit.validation.check_compatibility` reads these declarations before any work.
    """

    name: ClassVar[str]
    supports_l1: ClassVar[bool]
    needs_rows: ClassVar[bool] = False
    sparse_rows: ClassVar[bool] = False
    needs_statistics: ClassVar[bool] = False
    step_policies: ClassVar[tuple[str, ...]] = ()
    krylov_replay: ClassVar[bool] = False
    advance: ClassVar[Callable[..., Trajectory | None] | None] = None
    step_size: ClassVar[Callable[..., float] | None] = None
    stable_bound: ClassVar[Callable[..., float] | None] = None
    transient_growth: ClassVar[Callable[..., float] | None] = None

    def init(self, objective, theta0: NDArray[np.float64]) -> State:
        raise NotImplementedError

    def step(self, objective, state: State) -> State:
        raise NotImplementedError
