"""Krylov replay: a solver's first updates from 0 on a streaming objective, computed in the Krylov
space of the objective's Lanczos estimate of L and μ (no passes over the data) and handed out one
update at a time."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers.base import State

__all__ = ["ReplayState", "ask_for_krylov_space", "with_replay", "replayed"]


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
    if not objective.has_l1 and not np.any(theta0):
        objective.want_krylov_space()


def with_replay(solver, objective, theta0: NDArray[np.float64], state: ReplayState) -> ReplayState:
    """``state`` with the solver's first updates precomputed in the Krylov space of the estimate.

    The solver's own ``init`` and ``step`` run on the objective restricted to that space (no
    passes; see :class:`~gradfit.objective.KrylovSpace`) and the states are kept in its coordinates:
    :func:`replayed` lifts them to parameters one update at a time. ``state`` as it is where the
    objective kept no space (in memory, a warm start, L1, or the estimate made before it was asked)."""
    space = objective.krylov_space(theta0)
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
