"""Step-only solvers. Each is a frozen dataclass of hyperparameters with ``init`` and ``step``;
the loop, the history, the tolerance and divergence checks live in :mod:`gradfit.driver`.

A new solver is one new module registered in :data:`SOLVERS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "State", "ReplayState", "Trajectory", "Solver", "SOLVERS", "evaluate", "evaluate_after_move", "make_solver",
    "ask_for_krylov_space", "with_replay", "replayed", "reciprocal", "STOCHASTIC_SOLVERS", "resolve_auto",
]

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


@dataclass(frozen=True)
class ReplayState(State):
    """A :class:`State` that may carry the run's next updates, already computed in the Krylov space
    of a streaming objective's Lanczos estimate (see :func:`with_replay`)."""

    #: Updates computed in the coordinates of ``space``: the next updates return them in turn,
    #: lifted to parameters by :func:`replayed`.
    replay: tuple[State, ...] = ()
    space: object | None = None
    #: The fields that hold parameter-space vectors (coordinates while in ``replay``).
    vectors: ClassVar[tuple[str, ...]] = ("theta", "grad")


def ask_for_krylov_space(objective, theta0: NDArray[np.float64]) -> None:
    """Ask a streaming objective to keep the Lanczos vectors of its L, μ estimate (before it is made),
    where a solver started at ``theta0`` can use them: from 0, without L1 (the objective hands them
    over only then)."""
    if hasattr(objective, "want_krylov_space") and not objective.has_l1 and not np.any(theta0):
        objective.want_krylov_space()


def with_replay(solver, objective, theta0: NDArray[np.float64], state: ReplayState) -> ReplayState:
    """``state`` with the solver's first updates precomputed in the Krylov space of the estimate.

    The solver's own ``init`` and ``step`` run on the objective restricted to that space (no
    passes; see :class:`~gradfit.objective.KrylovSpace`) and the states are kept in its coordinates:
    :func:`replayed` lifts them to parameters one update at a time. ``state`` as it is where the
    objective kept no space (in memory, a warm start, L1, or the estimate made before it was asked)."""
    space = objective.krylov_space(theta0) if hasattr(objective, "krylov_space") else None
    if space is None:
        return state
    restricted = space.restricted(objective)
    small = solver.init(restricted, np.zeros(space.dimension))
    replay = []
    for _ in range(space.exact_updates):
        small = solver.step(restricted, small)
        replay.append(small)
    return replace(state, replay=tuple(replay), space=space)


def replayed(state: ReplayState) -> ReplayState:
    """The next precomputed update, lifted from Krylov coordinates to parameters."""
    small, space, rest = state.replay[0], state.space, state.replay[1:]
    if not isinstance(small, ReplayState):  # a solver whose steps make plain states (gradient descent)
        small = ReplayState(**{field.name: getattr(small, field.name) for field in fields(small)})
    lifted = {name: space.lift(value) for name in small.vectors if (value := getattr(small, name)) is not None}
    return replace(small, **lifted, replay=rest, space=space if rest else None)


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
    if getattr(objective, "streaming", False) and not objective.has_l1 and (state.k + 1) % GRADIENT_REFRESH:
        grad = state.grad + curved
        loss = state.loss + float(state.grad @ move) + 0.5 * float(move @ curved)
        # J ≥ 0; near an exact fit the recurrence can cancel to a rounding error below 0
        return max(loss, 0.0), grad, objective.stationarity(theta, grad)
    return evaluate(objective, theta)


class Solver(Protocol):
    """An optimiser as two pure functions. ``advance`` is optional: a solver whose iterates have a
    closed form on the objective at hand returns many steps at once, or ``None`` to step instead."""

    name: ClassVar[str]
    supports_l1: ClassVar[bool]
    #: Whether it draws random rows, which only a source holding them in memory can give.
    needs_rows: ClassVar[bool]
    #: Whether it needs the d × d statistics (it cannot run on the streaming engine).
    needs_statistics: ClassVar[bool]
    #: The named step policies it takes as ``learning_rate`` besides "auto" (a number it takes
    #: where it has a ``learning_rate`` field).
    step_policies: ClassVar[tuple[str, ...]]

    def init(self, objective, theta0: NDArray[np.float64]) -> State: ...

    def step(self, objective, state: State) -> State: ...


def _registry() -> dict[str, type]:
    from gradfit.solvers.cg import ConjugateGradient
    from gradfit.solvers.gd import GradientDescent
    from gradfit.solvers.lbfgs import LBFGS
    from gradfit.solvers.momentum import HeavyBall, Nesterov
    from gradfit.solvers.stochastic import SGD, Adam, MiniBatch

    solvers = (GradientDescent, HeavyBall, Nesterov, ConjugateGradient, LBFGS, SGD, MiniBatch, Adam)
    return {cls.name: cls for cls in solvers}


SOLVERS: dict[str, type] = _registry()


def make_solver(name: str, **hyperparameters: float | str) -> Solver:
    """Build the solver registered as ``name`` with its hyperparameters."""
    try:
        cls = SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; choose one of {sorted(SOLVERS)}") from None
    return cls(**hyperparameters)


#: Solvers that draw random rows, which only an in-memory source can give.
STOCHASTIC_SOLVERS = tuple(name for name, cls in SOLVERS.items() if cls.needs_rows)


def resolve_auto(solver: str, *, has_l1: bool, streams: bool) -> str:
    """The solver to run; for ``"auto"``, the fastest way to the least-squares answer.

    With the statistics gathered (dense data, in memory, in files or on a cluster) that is the
    direct solve: O(p³) on the statistics, then refinement passes over the rows only where the
    condition number calls for them (:func:`~gradfit.solvers.direct.solve_from_statistics`).
    An L1 penalty has no direct solution: Nesterov's method (FISTA), to ``tol``. Without
    statistics (sparse or very wide X, the streaming engine): conjugate gradients, one pass an
    update, to ``tol``.
    """
    if solver != "auto":
        return solver
    if has_l1:
        return "nesterov"
    if streams:
        return "cg"  # one pass an update, and the fewest updates on a smooth problem
    return "exact"
