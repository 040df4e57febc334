"""Step-only solvers. Each is a frozen dataclass of hyperparameters with ``init`` and ``step``;
the loop, the history, the tolerance and divergence checks live in :mod:`gradfit.driver`.

A new solver is one new module registered in :data:`SOLVERS`. What every solver shares is in
:mod:`gradfit.solvers.base` (the state, the :class:`Solver` base and its capabilities) and
:mod:`gradfit.solvers.replay` (Krylov replay on the streaming engine, a wrapper the driver puts
around solvers that declare ``krylov_replay``).
"""

from __future__ import annotations

from gradfit.solvers.base import Solver, State, Trajectory
from gradfit.solvers.cg import ConjugateGradient
from gradfit.solvers.gd import GradientDescent
from gradfit.solvers.lbfgs import LBFGS
from gradfit.solvers.momentum import HeavyBall, Nesterov
from gradfit.solvers.stochastic import SGD, Adam, MiniBatch

__all__ = ["State", "Trajectory", "Solver", "SOLVERS", "STOCHASTIC_SOLVERS", "make_solver", "resolve_auto"]


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
