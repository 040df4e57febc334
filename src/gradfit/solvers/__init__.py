"""Step-only solvers. Each is a frozen dataclass of hyperparameters with ``init`` and ``step``;
the loop, the history, the tolerance and divergence checks live in :mod:`gradfit.driver`.

A new solver is one new module registered in :data:`SOLVERS`. What every solver shares is in
:mod:`gradfit.solvers.base` (the state, the :class:`Solver` base and its capabilities) and
:mod:`gradfit.solvers.replay` (Krylov replay on the streaming engine).
"""

from __future__ import annotations

from gradfit.solvers.base import Solver, State, Trajectory
from gradfit.solvers.cg import ConjugateGradient
from gradfit.solvers.gd import GradientDescent
from gradfit.solvers.lbfgs import LBFGS
from gradfit.solvers.momentum import HeavyBall, Nesterov
from gradfit.solvers.stochastic import SGD, Adam, MiniBatch

__all__ = ["State", "Trajectory", "Solver", "SOLVERS", "make_solver"]


def _registry() -> dict[str, type]:
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
