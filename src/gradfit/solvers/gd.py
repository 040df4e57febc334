"""Gradient descent with a constant step: the article's update rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.objective import DENSE_SPECTRUM_MAX
from gradfit.solvers import State, Trajectory

__all__ = ["GradientDescent"]


@dataclass(frozen=True)
class GradientDescent:
    """``θ_{k+1} = θ_k − α ∇J(θ_k)``.

    Parameters
    ----------
    learning_rate : float or "auto"
        The step α in the optimised coordinates; ``"auto"`` is ``1/L`` with ``L`` the largest
        eigenvalue of ``G = ZᵀZ/m``. Any ``α < 2/L`` converges; ``α > 2/L`` diverges.

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
    learning_rate: float | Literal["auto"] = "auto"

    def step_size(self, objective) -> float:
        return 1.0 / objective.lipschitz if self.learning_rate == "auto" else float(self.learning_rate)

    def init(self, objective, theta0: NDArray[np.float64]) -> State:
        loss, grad = objective.loss_grad(theta0)
        return State(theta0, 0, loss, grad, float(np.linalg.norm(grad)), self.step_size(objective))

    def step(self, objective, state: State) -> State:
        theta = state.theta - state.step * state.grad
        loss, grad = objective.loss_grad(theta)
        return State(theta, state.k + 1, loss, grad, float(np.linalg.norm(grad)), state.step)

    def advance(self, objective, state: State, n_steps: int) -> Trajectory | None:
        """The next ``n_steps`` iterates in closed form, when the objective is a small quadratic.

        In G's eigenbasis (``G = QΛQᵀ``, ``z = Qᵀθ``, ``β = Qᵀb``) each coordinate evolves alone:
        ``z_k = q^k z_0 + α β S_k`` with ``q = 1 − αλ`` and ``S_k = Σ_{j<k} q^j = (1 − q^k)/(αλ)``.
        These are the same iterates as :meth:`step` (to rounding), at O(p) per step.
        """
        if objective.n_params > DENSE_SPECTRUM_MAX:
            return None
        eigenvalues, eigenvectors = objective.spectrum
        alpha = state.step
        beta = eigenvectors.T @ objective.b
        z0 = eigenvectors.T @ state.theta
        rate = alpha * eigenvalues
        k = np.arange(1, n_steps + 1, dtype=np.float64)[:, None]
        contracting = (rate > 0) & (rate < 1)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            # For 0 < αλ < 1, log1p/expm1 keep q^k and 1 − q^k accurate even when αλ is tiny.
            log_q = np.log1p(-np.where(contracting, rate, 0.0))
            power = np.where(contracting, np.exp(k * log_q), np.power(1.0 - rate, k))
            one_minus_power = np.where(contracting, -np.expm1(k * log_q), 1.0 - power)
            partial_sum = np.where(rate != 0, one_minus_power / np.where(rate != 0, rate, 1.0), k)
            z = power * z0 + alpha * beta * partial_sum
            grad = eigenvalues * z - beta
            grad_norm = np.sqrt(np.sum(grad * grad, axis=1))
            loss = 0.5 * (np.sum((eigenvalues * z - 2.0 * beta) * z, axis=1) + objective.c)

        def state_at(j: int) -> State:
            theta = eigenvectors @ z[j - 1]
            loss_j, grad_j = objective.loss_grad(theta)
            return State(theta, state.k + j, loss_j, grad_j, float(np.linalg.norm(grad_j)), alpha)

        return Trajectory(loss=loss, grad_norm=grad_norm, step_size=alpha, state_at=state_at)
