"""Accelerated gradient methods: heavy ball ("momentum") and Nesterov's method (FISTA with L1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers.base import Solver, State, evaluate, reciprocal

__all__ = ["HeavyBall", "Nesterov", "MomentumState"]


@dataclass(frozen=True)
class MomentumState(State):
    """A :class:`~gradfit.solvers.base.State` that also remembers the previous iterate and FISTA's ``t``."""

    previous: NDArray[np.float64] | None = None
    t: float = 1.0
    previous_grad: NDArray[np.float64] | None = None
    #: The curvature bound L the automatic parameters are made for (raised when an update sees more).
    lipschitz: float = 0.0
    vectors: ClassVar[tuple[str, ...]] = ("theta", "grad", "previous", "previous_grad")


#: The momentum methods check their curvature only where L is an estimate (an objective with
#: ``lipschitz_estimated``: the streaming engine's Lanczos L), with their automatic parameters. A
#: curvature seen along a step becomes the new L only when it exceeds the L in use by more than this
#: share: near the gradient's rounding floor the quotient is noise, which the next gate keeps out.
CURVATURE_MARGIN = 1e-3
#: ... and only from gradient changes this large against the driver's gradient scale (‖∇J(0)‖, or
#: ‖∇J‖ at the anchor after recentring): smaller ones are rounding-prone.
CURVATURE_MIN_CHANGE = 1e-8
#: The new L is the curvature seen times (1 + this): a Rayleigh quotient is only a lower bound on
#: λmax, and the optimal tunings are stable only a little past L (heavy ball: up to L + μ), so the
#: margin makes the next estimate stable without waiting for the top direction to dominate.
CURVATURE_SAFETY = 0.1


def _curvature(move: NDArray[np.float64], change: NDArray[np.float64], gradient_scale: float) -> float:
    """``sᵀGs/sᵀs`` for a move ``s`` and the gradient change ``Gs`` it made (0 when too small to trust).

    On a quadratic this Rayleigh quotient is a curvature of G, so it bounds λmax from below."""
    moved = float(move @ move)
    if moved == 0.0 or float(np.linalg.norm(change)) < CURVATURE_MIN_CHANGE * gradient_scale:
        return 0.0
    return float(move @ change) / moved


def _checks_curvature(solver, objective) -> bool:
    """Whether updates measure their curvature against L: automatic parameters on an estimated L."""
    return solver.learning_rate == "auto" and solver.momentum is None and objective.lipschitz_estimated


@dataclass(frozen=True)
class HeavyBall(Solver):
    """Polyak's heavy ball: ``θ_{k+1} = θ_k − α ∇J(θ_k) + β (θ_k − θ_{k−1})``.

    Parameters
    ----------
    learning_rate : float or "auto"
        α. ``"auto"`` is Polyak's optimal ``4 / (√L + √μ)²`` for quadratics.
    momentum : float in [0, 1) or None
        β. ``None`` is ``((√L − √μ)/(√L + √μ))²``, which contracts the error by
        ``(√κ − 1)/(√κ + 1)`` per update instead of gradient descent's ``(κ − 1)/(κ + 1)``.

    ``L`` and ``μ`` are the largest and smallest (non-negligible) eigenvalues of ``G``.
    Smooth objectives only: an L1 penalty needs :class:`Nesterov` or gradient descent.

    Polyak's step is stable only for curvatures below ``L + μ``; where L is estimated (the streaming
    engine) and the parameters are automatic, each update measures the curvature along its move, and one above L (an estimated L that fell short), times
    1.1, becomes the new L, the momentum dropped. On a streaming objective its first updates from 0
    are computed in the Krylov space of the Lanczos estimate of L and μ, as :class:`Nesterov`'s are.
    """

    name: ClassVar[str] = "momentum"
    supports_l1: ClassVar[bool] = False
    krylov_replay: ClassVar[bool] = True
    learning_rate: float | Literal["auto"] = "auto"
    momentum: float | None = None

    def parameters(self, objective, lipschitz: float | None = None) -> tuple[float, float]:
        """(α, β) on ``objective``, for curvature bound ``lipschitz`` (default: the objective's L)."""
        lipschitz = objective.lipschitz if lipschitz is None else lipschitz
        root_l, root_mu = math.sqrt(lipschitz), math.sqrt(objective.strong_convexity)
        if root_l == 0.0:  # G = 0: nothing moves (see reciprocal)
            alpha, beta = 1.0, 0.0
        else:
            alpha = 4.0 / (root_l + root_mu) ** 2
            beta = ((root_l - root_mu) / (root_l + root_mu)) ** 2
        alpha = alpha if self.learning_rate == "auto" else float(self.learning_rate)
        beta = beta if self.momentum is None else float(self.momentum)
        return alpha, beta

    def step_size(self, objective) -> float:
        return self.parameters(objective)[0]

    def stable_bound(self, objective) -> float:
        """``2(1 + β)/L``: the heavy ball is stable on a quadratic exactly for ``0 < α < 2(1 + β)/L``."""
        return 2.0 * (1.0 + self.parameters(objective)[1]) * reciprocal(objective.lipschitz)

    def transient_growth(self, objective) -> float:
        """At Polyak's parameters each mode is a Jordan block: its error grows like ``k ρ^k``
        (peak about √κ/2e) before it decays, so the loss may rise by up to about κ."""
        mu = objective.strong_convexity
        return objective.lipschitz / mu if mu > 0 else 1.0

    def init(self, objective, theta0: NDArray[np.float64]) -> MomentumState:
        loss, grad, grad_norm = evaluate(objective, theta0)
        return MomentumState(theta0, 0, loss, grad, grad_norm, self.parameters(objective)[0], previous=theta0,
                             previous_grad=grad, lipschitz=objective.lipschitz)

    def step(self, objective, state: MomentumState) -> MomentumState:
        alpha, beta = self.parameters(objective, state.lipschitz)
        theta = state.theta - alpha * state.grad + beta * (state.theta - state.previous)
        loss, grad, grad_norm = evaluate(objective, theta)
        if _checks_curvature(self, objective):
            curvature = _curvature(theta - state.theta, grad - state.grad, objective.gradient_scale)
            if curvature > state.lipschitz * (1.0 + CURVATURE_MARGIN):
                # Polyak's step is stable only below L + μ: L was underestimated (see Nesterov);
                # go on with (a little more than) the curvature seen as L, without the momentum so far.
                lipschitz = curvature * (1.0 + CURVATURE_SAFETY)
                return MomentumState(theta, state.k + 1, loss, grad, grad_norm, self.parameters(objective, lipschitz)[0],
                                     previous=theta, previous_grad=grad, lipschitz=lipschitz)
        return MomentumState(theta, state.k + 1, loss, grad, grad_norm, alpha, previous=state.theta,
                             previous_grad=state.grad, lipschitz=state.lipschitz)


@dataclass(frozen=True)
class Nesterov(Solver):
    """Nesterov's accelerated gradient, with a proximal step for L1 (FISTA) and adaptive restart.

    ``y = θ_k + β_k (θ_k − θ_{k−1})``, ``θ_{k+1} = prox_{αh}(y − α ∇f(y))``, where ``h`` is the L1
    penalty (identity prox without one).

    Parameters
    ----------
    learning_rate : float or "auto"
        α. ``"auto"`` is ``4/(3L + μ)`` when μ > 0 is known, the penalty is smooth and ``momentum``
        is left to choose, else ``1/L``.
    momentum : float in [0, 1) or None
        β. ``None`` uses ``(√(3κ + 1) − 2)/(√(3κ + 1) + 2)`` (κ = L/μ) with the automatic step,
        ``(√κ − 1)/(√κ + 1)`` with a given step, and FISTA's ``β_k = (t_k − 1)/t_{k+1}``,
        ``t_{k+1} = (1 + √(1 + 4t_k²))/2``, when μ is 0 or unknown (or with L1).

    The automatic pair is the tuning of Nesterov's method that is fastest on a quadratic with its
    curvatures in [μ, L] (Lessard, Recht & Packard, 2016): the error contracts by ``1 − 2/√(3κ + 1)``
    per update, against ``1 − 1/√κ`` for the textbook ``1/L`` with ``(√κ − 1)/(√κ + 1)`` (on κ = 3.7:
    0.43 instead of 0.48, 17 updates to 1e-6 instead of 19). It is stable only while every curvature
    stays below about ``L(1 + 0.38/√κ)``, so where L is estimated (the streaming engine) and the
    parameters are automatic, each update also measures the curvature along its move (``sᵀGs/sᵀs``, from the two gradients it has): one above L means L
    was underestimated (a streaming fit estimates it from a few Lanczos steps), and the run goes on
    with 1.1 times that curvature as L, restarting its momentum.

    Whenever the momentum points uphill (``(y − θ_{k+1})ᵀ(θ_{k+1} − θ_k) > 0``) the next update
    starts again without it (O'Donoghue & Candès, 2015): robust when μ is estimated badly.

    On a streaming objective the passes that estimate L and μ are Lanczos steps from ∇J(0), and
    Nesterov's first iterates from θ = 0 lie in the Krylov space they span: without L1, those
    updates are computed from the Lanczos relation
    (:meth:`~gradfit.objective.StreamingLeastSquares.krylov_space`) instead of new passes, so a run
    from 0 of at least that many updates pays nothing for the estimate.
    """

    name: ClassVar[str] = "nesterov"
    supports_l1: ClassVar[bool] = True
    krylov_replay: ClassVar[bool] = True
    learning_rate: float | Literal["auto"] = "auto"
    momentum: float | None = None

    def _parameters(self, lipschitz: float, mu: float, has_l1: bool) -> tuple[float, float | None]:
        """(α, β) for curvature bound ``lipschitz``; β None stands for FISTA's schedule."""
        auto = self.learning_rate == "auto"
        if self.momentum is None and auto and not has_l1 and mu > 0:
            root = math.sqrt(3.0 * lipschitz / mu + 1.0)
            return 4.0 / (3.0 * lipschitz + mu), (root - 2.0) / (root + 2.0)
        alpha = reciprocal(lipschitz) if auto else float(self.learning_rate)
        if self.momentum is not None:
            return alpha, float(self.momentum)
        if not has_l1 and mu > 0:
            root_kappa = math.sqrt(lipschitz / mu)
            return alpha, (root_kappa - 1.0) / (root_kappa + 1.0)
        return alpha, None

    def _objective_parameters(self, objective) -> tuple[float, float | None]:
        mu = 0.0 if objective.has_l1 else objective.strong_convexity
        return self._parameters(objective.lipschitz, mu, objective.has_l1)

    def step_size(self, objective) -> float:
        return self._objective_parameters(objective)[0]

    def stable_bound(self, objective) -> float:
        """``2(1 + β)/((1 + 2β)L)``, the stability limit of Nesterov's method on a quadratic
        (β the momentum; FISTA's β → 1 gives 4/3L)."""
        beta = self._objective_parameters(objective)[1]
        beta = 1.0 if beta is None else beta
        return 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta) * reciprocal(objective.lipschitz)

    def transient_growth(self, objective) -> float:
        """Restarts cap the rise of the loss, but between them it may grow by about √κ."""
        mu = objective.strong_convexity
        return (objective.lipschitz / mu) ** 0.5 if mu > 0 else 1.0

    def init(self, objective, theta0: NDArray[np.float64]) -> MomentumState:
        loss, grad, grad_norm = evaluate(objective, theta0)
        # L and μ are known from here on (the driver needs them too, for its divergence test).
        alpha = self.step_size(objective)
        _ = objective.strong_convexity
        return MomentumState(theta0, 0, loss, grad, grad_norm, alpha, previous=theta0, t=1.0,
                             previous_grad=grad, lipschitz=objective.lipschitz)

    def step(self, objective, state: MomentumState) -> MomentumState:
        mu = 0.0 if objective.has_l1 else objective.strong_convexity
        alpha, beta = self._parameters(state.lipschitz, mu, objective.has_l1)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * state.t * state.t)) / 2.0
        if beta is None:
            beta = (state.t - 1.0) / t_next
        lookahead = state.theta + beta * (state.theta - state.previous)
        if objective.streaming:
            # ∇f is affine, so ∇f(θ + β(θ − θ')) = (1 + β)∇f(θ) − β∇f(θ'): no pass over the data
            # for the lookahead, one per update in all.
            lookahead_grad = (1.0 + beta) * state.grad - beta * state.previous_grad
        else:
            _, lookahead_grad = objective.loss_grad(lookahead)
        theta = objective.prox(lookahead - alpha * lookahead_grad, alpha)
        loss, grad, grad_norm = evaluate(objective, theta)
        if _checks_curvature(self, objective):
            curvature = _curvature(theta - lookahead, grad - lookahead_grad, objective.gradient_scale)
            if curvature > state.lipschitz * (1.0 + CURVATURE_MARGIN):
                # G curves more than the L the step was made for (an estimate of L from a few
                # Lanczos steps can fall short): take the step for the curvature seen, and restart.
                lipschitz = curvature * (1.0 + CURVATURE_SAFETY)
                alpha = self._parameters(lipschitz, mu, objective.has_l1)[0]
                return MomentumState(theta, state.k + 1, loss, grad, grad_norm, alpha, previous=theta, t=1.0,
                                     previous_grad=grad, lipschitz=lipschitz)
        if float((lookahead - theta) @ (theta - state.theta)) > 0:
            # restart: forget the momentum (and FISTA's t) from here on
            return MomentumState(theta, state.k + 1, loss, grad, grad_norm, alpha, previous=theta, t=1.0,
                                 previous_grad=grad, lipschitz=state.lipschitz)
        return replace(state, theta=theta, k=state.k + 1, loss=loss, grad=grad, grad_norm=grad_norm,
                       previous=state.theta, t=t_next, previous_grad=state.grad)
