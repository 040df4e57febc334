"""Accelerated gradient methods: heavy ball ("momentum") and Nesterov's method (FISTA with L1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.solvers import State, evaluate

__all__ = ["HeavyBall", "Nesterov", "MomentumState"]


@dataclass(frozen=True)
class MomentumState(State):
    """A :class:`State` that also remembers the previous iterate and FISTA's ``t``."""

    previous: NDArray[np.float64] | None = None
    t: float = 1.0
    previous_grad: NDArray[np.float64] | None = None
    #: Updates already computed in the coordinates of ``space`` (see :meth:`Nesterov.init`): the
    #: next updates return them in turn, lifted to parameters.
    replay: tuple["MomentumState", ...] = ()
    space: object | None = None


def _step_size(learning_rate: float | str, objective) -> float:
    return 1.0 / objective.lipschitz if learning_rate == "auto" else float(learning_rate)


@dataclass(frozen=True)
class HeavyBall:
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
    """

    name: ClassVar[str] = "momentum"
    supports_l1: ClassVar[bool] = False
    learning_rate: float | Literal["auto"] = "auto"
    momentum: float | None = None

    def parameters(self, objective) -> tuple[float, float]:
        root_l, root_mu = math.sqrt(objective.lipschitz), math.sqrt(objective.strong_convexity)
        alpha = 4.0 / (root_l + root_mu) ** 2 if self.learning_rate == "auto" else float(self.learning_rate)
        beta = ((root_l - root_mu) / (root_l + root_mu)) ** 2 if self.momentum is None else float(self.momentum)
        return alpha, beta

    def step_size(self, objective) -> float:
        return self.parameters(objective)[0]

    def stable_bound(self, objective) -> float:
        """``2(1 + β)/L``: the heavy ball is stable on a quadratic exactly for ``0 < α < 2(1 + β)/L``."""
        return 2.0 * (1.0 + self.parameters(objective)[1]) / objective.lipschitz

    def transient_growth(self, objective) -> float:
        """At Polyak's parameters each mode is a Jordan block: its error grows like ``k ρ^k``
        (peak about √κ/2e) before it decays, so the loss may rise by up to about κ."""
        mu = objective.strong_convexity
        return objective.lipschitz / mu if mu > 0 else 1.0

    def init(self, objective, theta0: NDArray[np.float64]) -> MomentumState:
        loss, grad, grad_norm = evaluate(objective, theta0)
        return MomentumState(theta0, 0, loss, grad, grad_norm, self.parameters(objective)[0], previous=theta0)

    def step(self, objective, state: MomentumState) -> MomentumState:
        alpha, beta = self.parameters(objective)
        theta = state.theta - alpha * state.grad + beta * (state.theta - state.previous)
        loss, grad, grad_norm = evaluate(objective, theta)
        return MomentumState(theta, state.k + 1, loss, grad, grad_norm, alpha, previous=state.theta)


@dataclass(frozen=True)
class Nesterov:
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
    0.43 instead of 0.48, 16 updates to 1e-6 instead of 19).

    Whenever the momentum points uphill (``(y − θ_{k+1})ᵀ(θ_{k+1} − θ_k) > 0``) the next update
    starts again without it (O'Donoghue & Candès, 2015): robust when μ is estimated badly.

    On a streaming objective the passes that estimate L and μ are Lanczos steps from ∇J(0), and
    Nesterov's first iterates from θ = 0 lie in the Krylov space they span: those updates are
    computed from the Lanczos relation (:meth:`~gradfit.objective.StreamingLeastSquares.krylov_space`)
    instead of new passes, so the estimate costs no passes of its own.
    """

    name: ClassVar[str] = "nesterov"
    supports_l1: ClassVar[bool] = True
    learning_rate: float | Literal["auto"] = "auto"
    momentum: float | None = None

    def _quadratic_tuning(self, objective) -> tuple[float, float] | None:
        """(α, β) of the fastest constant tuning on a smooth strongly convex quadratic, where it applies."""
        if self.learning_rate != "auto" or self.momentum is not None or objective.has_l1:
            return None
        mu = objective.strong_convexity
        if not mu > 0:
            return None
        lipschitz = objective.lipschitz
        root = math.sqrt(3.0 * lipschitz / mu + 1.0)
        return 4.0 / (3.0 * lipschitz + mu), (root - 2.0) / (root + 2.0)

    def step_size(self, objective) -> float:
        tuned = self._quadratic_tuning(objective)
        return tuned[0] if tuned is not None else _step_size(self.learning_rate, objective)

    def stable_bound(self, objective) -> float:
        """``2(1 + β)/((1 + 2β)L)``, the stability limit of Nesterov's method on a quadratic
        (β the momentum; FISTA's β → 1 gives 4/3L)."""
        beta = self._beta(objective, 1.0)[0] if self.momentum is not None or objective.strong_convexity > 0 else 1.0
        return 2.0 * (1.0 + beta) / ((1.0 + 2.0 * beta) * objective.lipschitz)

    def transient_growth(self, objective) -> float:
        """Restarts cap the rise of the loss, but between them it may grow by about √κ."""
        mu = objective.strong_convexity
        return (objective.lipschitz / mu) ** 0.5 if mu > 0 else 1.0

    def _beta(self, objective, t: float) -> tuple[float, float]:
        """(β for this update, t for the next one)."""
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        if self.momentum is not None:
            return float(self.momentum), t_next
        tuned = self._quadratic_tuning(objective)
        if tuned is not None:
            return tuned[1], t_next
        mu = 0.0 if objective.has_l1 else objective.strong_convexity
        if mu > 0:
            root_kappa = math.sqrt(objective.lipschitz / mu)
            return (root_kappa - 1.0) / (root_kappa + 1.0), t_next
        return (t - 1.0) / t_next, t_next

    def init(self, objective, theta0: NDArray[np.float64]) -> MomentumState:
        krylov = hasattr(objective, "want_krylov_space") and not objective.has_l1 and not np.any(theta0)
        if krylov:
            objective.want_krylov_space()
        loss, grad, grad_norm = evaluate(objective, theta0)
        state = MomentumState(theta0, 0, loss, grad, grad_norm, self.step_size(objective), previous=theta0, t=1.0,
                              previous_grad=grad)
        self._beta(objective, 1.0)  # L and μ, where the parameters need them, are known from here on
        space = objective.krylov_space(theta0) if krylov else None
        if space is None:
            return state
        # The same updates, made on the objective restricted to the Krylov space (no passes), are
        # lifted back one at a time as the driver asks for them.
        restricted = space.restricted(objective)
        small = self.init(restricted, np.zeros(space.dimension))
        replay = []
        for _ in range(space.exact_updates):
            small = self.step(restricted, small)
            replay.append(small)
        return replace(state, replay=tuple(replay), space=space)

    def step(self, objective, state: MomentumState) -> MomentumState:
        if state.replay:
            small, space = state.replay[0], state.space
            rest = state.replay[1:]
            return replace(small, theta=space.lift(small.theta), grad=space.lift(small.grad),
                           previous=space.lift(small.previous), previous_grad=space.lift(small.previous_grad),
                           replay=rest, space=space if rest else None)
        alpha = state.step
        beta, t_next = self._beta(objective, state.t)
        lookahead = state.theta + beta * (state.theta - state.previous)
        if objective.streaming:
            # ∇f is affine, so ∇f(θ + β(θ − θ')) = (1 + β)∇f(θ) − β∇f(θ'): no pass over the data
            # for the lookahead, one per update in all.
            lookahead_grad = (1.0 + beta) * state.grad - beta * state.previous_grad
        else:
            _, lookahead_grad = objective.loss_grad(lookahead)
        theta = objective.prox(lookahead - alpha * lookahead_grad, alpha)
        loss, grad, grad_norm = evaluate(objective, theta)
        if float((lookahead - theta) @ (theta - state.theta)) > 0:
            # restart: forget the momentum (and FISTA's t) from here on
            return MomentumState(theta, state.k + 1, loss, grad, grad_norm, alpha, previous=theta, t=1.0,
                                 previous_grad=grad)
        return replace(state, theta=theta, k=state.k + 1, loss=loss, grad=grad, grad_norm=grad_norm,
                       previous=state.theta, t=t_next, previous_grad=state.grad)
