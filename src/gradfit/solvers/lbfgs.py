"""Limited-memory BFGS with the exact line search least squares allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers import State, evaluate, evaluate_after_move

__all__ = ["LBFGS", "LBFGSState"]

#: Curvature pairs with sᵀy below this fraction of ‖s‖‖y‖ carry no information and are skipped.
MIN_CURVATURE = 1e-12


@dataclass(frozen=True)
class LBFGSState(State):
    """A :class:`State` with the last ``memory`` curvature pairs ``(s_i, y_i)``."""

    pairs: tuple[tuple[NDArray[np.float64], NDArray[np.float64]], ...] = ()


@dataclass(frozen=True)
class LBFGS:
    """L-BFGS: ``d_k = −H_k ∇J(θ_k)`` by the two-loop recursion over the last ``memory`` pairs
    ``s = θ_{k+1} − θ_k``, ``y = ∇J(θ_{k+1}) − ∇J(θ_k) = G s``, with ``H_0 = (sᵀy / yᵀy) I``;
    then the exact step ``α = −gᵀd / dᵀGd``.

    (scipy's L-BFGS-B runs its own loop; here the driver owns the loop, so the recursion is written out.)

    Parameters
    ----------
    memory : int
        Pairs kept.
    """

    name: ClassVar[str] = "lbfgs"
    supports_l1: ClassVar[bool] = False
    needs_rows: ClassVar[bool] = False
    needs_statistics: ClassVar[bool] = False
    step_policies: ClassVar[tuple[str, ...]] = ()
    memory: int = 10

    def init(self, objective, theta0: NDArray[np.float64]) -> LBFGSState:
        loss, grad, grad_norm = evaluate(objective, theta0)
        return LBFGSState(theta0, 0, loss, grad, grad_norm, 0.0)

    @staticmethod
    def _direction(grad: NDArray[np.float64], pairs) -> NDArray[np.float64]:
        q = grad.copy()
        alphas = []
        for s, y in reversed(pairs):
            a = float(s @ q) / float(y @ s)
            alphas.append(a)
            q -= a * y
        if pairs:
            s, y = pairs[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y), a in zip(pairs, reversed(alphas)):
            q += (a - float(y @ q) / float(y @ s)) * s
        return -q

    def step(self, objective, state: LBFGSState) -> LBFGSState:
        pairs = state.pairs
        direction = self._direction(state.grad, pairs)
        slope = float(state.grad @ direction)
        if slope >= 0:  # not a descent direction (rounding): forget the pairs
            pairs, direction, slope = (), -state.grad, -float(state.grad @ state.grad)
        curved = objective.hess_vec(direction)
        curvature = float(direction @ curved)
        alpha = -slope / curvature if curvature > 0 else 0.0
        s, y = alpha * direction, alpha * curved
        theta = state.theta + s
        loss, grad, grad_norm = evaluate_after_move(objective, state, theta, s, y)
        if float(s @ y) > MIN_CURVATURE * float(np.linalg.norm(s) * np.linalg.norm(y)):
            pairs = (*pairs, (s, y))[-self.memory :]
        return LBFGSState(theta, state.k + 1, loss, grad, grad_norm, alpha, pairs=pairs)
