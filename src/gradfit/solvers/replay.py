"""Krylov replay, as a wrapper around a solver: its first updates from 0 on a streaming objective,
computed in the Krylov space of the objective's Lanczos estimate of L and μ (no passes over the data)
and handed out one update at a time. The solvers themselves know nothing of it: the driver wraps
those that declare ``krylov_replay`` in :class:`Replayed`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass, replace
from functools import cache

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers.base import Solver, State

__all__ = ["Replayed", "Replaying", "replaying", "ask_for_krylov_space", "with_replay", "replayed"]


class Replaying:
    """Marks a state that carries the run's next updates, already computed in the Krylov space of a
    streaming objective's Lanczos estimate (see :func:`with_replay`): its ``replay`` field holds them
    in the coordinates of its ``space`` field. Such a state is an instance of the solver's own state
    class too (see :func:`replaying`)."""

    replay: tuple[State, ...]
    space: object


@cache
def replaying(state_class: type) -> type:
    """``state_class`` with the fields ``replay`` and ``space`` added (a subclass, made once per class)."""
    return make_dataclass(
        f"Replaying{state_class.__name__}",
        [("replay", tuple, field(default=())), ("space", object, field(default=None))],
        bases=(state_class, Replaying),
        frozen=True,
    )


def ask_for_krylov_space(objective, theta0: NDArray[np.float64]) -> None:
    """Ask a streaming objective to keep the Lanczos vectors of its L, μ estimate (before it is made),
    where a solver started at ``theta0`` can use them: from 0, without L1 (the objective hands them
    over only then)."""
    if not objective.has_l1 and not np.any(theta0):
        objective.want_krylov_space()


def _values(state: State) -> dict:
    return {f.name: getattr(state, f.name) for f in fields(state) if f.name not in ("replay", "space")}


def with_replay(solver: Solver, objective, theta0: NDArray[np.float64], state: State) -> State:
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
    if not replay:
        return state
    return replaying(type(state))(**_values(state), replay=tuple(replay), space=space)


def replayed(state: Replaying) -> State:
    """The next precomputed update, lifted from Krylov coordinates to parameters (a plain state of the
    solver's own class once it is the last)."""
    small, space, rest = state.replay[0], state.space, state.replay[1:]
    lifted = {name: space.lift(value) for name in small.vectors if (value := getattr(small, name)) is not None}
    if not rest:
        return replace(small, **lifted)
    return replaying(type(small))(**{**_values(small), **lifted}, replay=rest, space=space)


@dataclass(frozen=True)
class Replayed:
    """``inner`` with Krylov replay: ``init`` asks the objective to keep the Lanczos vectors of its
    estimate and precomputes ``inner``'s first updates in their span (:func:`with_replay`); ``step``
    hands those out in turn (:func:`replayed`), then steps ``inner``. Where the objective keeps no
    space (in memory, a warm start, L1) it is ``inner``, state for state."""

    inner: Solver

    def init(self, objective, theta0: NDArray[np.float64]) -> State:
        ask_for_krylov_space(objective, theta0)
        return with_replay(self.inner, objective, theta0, self.inner.init(objective, theta0))

    def step(self, objective, state: State) -> State:
        if isinstance(state, Replaying):
            return replayed(state)
        return self.inner.step(objective, state)

    @property
    def advance(self):
        """The inner solver's closed-form blocks, as they are: a replaying objective streams, and no
        solver has closed-form blocks on a streaming objective."""
        return self.inner.advance
