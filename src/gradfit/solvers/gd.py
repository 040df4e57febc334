"""Gradient descent (the article's update rule), proximal for L1 (ISTA), with four step policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.objective.statistics import DENSE_SPECTRUM_MAX
from gradfit.solvers.base import Solver, State, Trajectory, evaluate, evaluate_after_move, reciprocal
from gradfit.solvers.closed_form import constant_step_trajectory

__all__ = ["GradientDescent", "LINE_SEARCHES"]

#: Step policies that search along the gradient at every update (the others are constant steps).
LINE_SEARCHES = ("armijo", "line_search")
#: Backtracking shrinks the trial step by this factor.
BACKTRACK_FACTOR = 0.5
#: Halvings before giving up on a step (2⁻⁶⁰ of the trial step: only rounding can get there).
MAX_BACKTRACKS = 60


@dataclass(frozen=True)
class GradientDescent(Solver):
    """``θ_{k+1} = prox_{α_k h}(θ_k − α_k ∇f(θ_k))``; without L1 the prox is the identity, so
    ``θ_{k+1} = θ_k − α_k ∇J(θ_k)``, the article's rule.

    Parameters
    ----------
    learning_rate : float, "auto", "armijo" or "line_search"
        The step α_k in the optimised coordinates.

        - a float: constant α. Any ``α < 2/L`` converges; ``α > 2/L`` diverges.
        - ``"auto"``: constant ``1/L``, ``L`` the largest eigenvalue of ``G = ZᵀZ/m``. On a
          streaming objective L is estimated by Lanczos steps from ``∇J(0)``; a run from 0 without
          L1 makes its first updates from them (see :class:`~gradfit.objective.KrylovSpace`), so the
          estimate costs no passes of its own.
        - ``"armijo"``: backtracking from twice the last step, halving until
          ``f(θ⁺) ≤ f(θ) + ∇f(θ)ᵀ(θ⁺ − θ) + ‖θ⁺ − θ‖²/2α`` (Beck & Teboulle's proximal form of
          Armijo's rule; without L1 it reads ``f(θ⁺) ≤ f(θ) − ½α‖∇f‖²``). Every ``α ≤ 1/L`` passes.
          On least squares the test is checked as ``sᵀGs ≤ ‖s‖²/α`` (``s = θ⁺ − θ``), its exact equivalent.
        - ``"line_search"``: the exact minimiser along −g, ``α = gᵀg / gᵀGg`` (steepest descent;
          smooth objectives only).

    Examples
    --------
    >>> import numpy as np
    >>> from gradfit.objective import Frame, LeastSquares
    >>> from gradfit.driver import minimize
    >>> G, b = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([2.0, 1.0])
    >>> frame = Frame(False, np.zeros(2), np.ones(2), np.ones(2), 0.0, 1.0, 1.0)
    >>> result = minimize(LeastSquares(G, b, 2.0, frame), GradientDescent("auto"), np.zeros(2), max_iter=500, tol=1e-12)
    >>> np.round(result.theta, 10).tolist()
    [1.0, 1.0]
    """

    name: ClassVar[str] = "gd"
    supports_l1: ClassVar[bool] = True
    step_policies: ClassVar[tuple[str, ...]] = LINE_SEARCHES
    learning_rate: float | Literal["auto", "armijo", "line_search"] = "auto"

    @property
    def constant(self) -> bool:
        return self.learning_rate not in LINE_SEARCHES

    def stable_bound(self, objective) -> float:
        """``2/L``: constant steps above it diverge."""
        return 2.0 * reciprocal(objective.lipschitz)

    def step_size(self, objective) -> float:
        """The constant step, or the first trial step of a search (``1/L``)."""
        return reciprocal(objective.lipschitz) if self.learning_rate == "auto" or not self.constant else float(self.learning_rate)

    @property
    def krylov_replay(self) -> bool:
        """The automatic step needs L: on a streaming objective its Lanczos passes are the first updates."""
        return self.learning_rate == "auto"

    def init(self, objective, theta0: NDArray[np.float64]) -> State:
        loss, grad, grad_norm = evaluate(objective, theta0)
        return State(theta0, 0, loss, grad, grad_norm, self.step_size(objective))

    def step(self, objective, state: State) -> State:
        if self.learning_rate == "line_search":
            curved = objective.hess_vec(state.grad)
            curvature = float(state.grad @ curved)
            alpha = float(state.grad @ state.grad) / curvature if curvature > 0 else state.step
            theta = objective.prox(state.theta - alpha * state.grad, alpha)
            if not objective.has_l1:  # one pass an update on streaming data: ∇J moves by −αGg
                loss, grad, grad_norm = evaluate_after_move(objective, state, theta, -alpha * state.grad, -alpha * curved)
                return State(theta, state.k + 1, loss, grad, grad_norm, alpha)
        elif self.learning_rate == "armijo":
            theta, alpha = self._backtrack(objective, state)
        else:
            alpha = state.step
            theta = objective.prox(state.theta - alpha * state.grad, alpha)
        loss, grad, grad_norm = evaluate(objective, theta)
        return State(theta, state.k + 1, loss, grad, grad_norm, alpha)

    def _backtrack(self, objective, state: State) -> tuple[NDArray[np.float64], float]:
        # On a quadratic f, the test f(θ⁺) ≤ f(θ) + gᵀs + ‖s‖²/2α (s = θ⁺ − θ) is exactly
        # sᵀGs ≤ ‖s‖²/α. Checked in that form it cannot fail by cancellation near the optimum,
        # where f(θ⁺) − f(θ) is below the rounding of f itself.
        alpha = 2.0 * state.step
        for _ in range(MAX_BACKTRACKS):
            theta = objective.prox(state.theta - alpha * state.grad, alpha)
            move = theta - state.theta
            if float(move @ objective.hess_vec(move)) <= float(move @ move) / alpha:
                return theta, alpha
            alpha *= BACKTRACK_FACTOR
        return state.theta, alpha

    def advance(self, objective, state: State, n_steps: int) -> Trajectory | None:
        """The next ``n_steps`` iterates in closed form (:func:`~gradfit.solvers.closed_form.constant_step_trajectory`),
        for a constant step on a small smooth quadratic; ``None`` elsewhere (the driver steps then)."""
        if not self.constant or objective.has_l1 or objective.n_params > DENSE_SPECTRUM_MAX or objective.streaming:
            return None
        if objective.extended is not None:
            return None  # gradients in double-double: step, so every iterate gets one
        return constant_step_trajectory(objective, state, n_steps)
