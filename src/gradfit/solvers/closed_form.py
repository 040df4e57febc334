"""Constant-step gradient descent on a quadratic, in closed form: the driver's blocks of updates.

In G's eigenbasis (``G = QΛQᵀ``, ``z = Qᵀθ``, ``β = Qᵀb``) each coordinate of ``θ_{k+1} = θ_k −
α(Gθ_k − b)`` evolves alone: ``z_k = q^k z_0 + α β S_k`` with ``q = 1 − αλ`` and ``S_k = Σ_{j<k} q^j
= (1 − q^k)/(αλ)``. These are the same iterates as the update rule (to rounding), at O(p) per step,
so :class:`~gradfit.solvers.gd.GradientDescent` hands the driver whole blocks of them
(:meth:`~gradfit.solvers.gd.GradientDescent.advance`) while ``gd.py`` keeps the rule itself.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers.base import State, Trajectory, evaluate

__all__ = ["constant_step_trajectory"]


def constant_step_trajectory(objective, state: State, n_steps: int) -> Trajectory:  # a LeastSquares with its spectrum
    """The next ``n_steps`` states of constant-step gradient descent from ``state`` (step ``state.step``)
    on the quadratic ``objective``, as a :class:`~gradfit.solvers.base.Trajectory`: losses, gradient
    norms and ‖θ‖ of every update at once, the states themselves on demand."""
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
        theta_norm = np.sqrt(np.sum(z * z, axis=1))  # Q is orthonormal: ‖θ‖ = ‖z‖
        loss = 0.5 * (np.sum((eigenvalues * z - 2.0 * beta) * z, axis=1) + objective.c)

    def state_at(j: int) -> State:
        theta = eigenvectors @ z[j - 1]
        loss_j, grad_j, grad_norm_j = evaluate(objective, theta)
        return State(theta, state.k + j, loss_j, grad_j, grad_norm_j, alpha)

    def thetas_at(js: NDArray[np.intp]) -> NDArray[np.float64]:
        return z[js - 1] @ eigenvectors.T

    return Trajectory(loss=loss, grad_norm=grad_norm, theta_norm=theta_norm, step_size=alpha, state_at=state_at, thetas_at=thetas_at)
