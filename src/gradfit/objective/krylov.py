"""Krylov replay on the streaming engine: the span of the Lanczos vectors from ``∇J(0)`` and ``G`` on
it (:class:`KrylovSpace`), and the quadratic in those coordinates (:class:`KrylovObjective`), where a
solver's first updates from 0 are made without a pass over the data."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gradfit.objective.penalty import L1Penalty

__all__ = ["KrylovSpace", "KrylovObjective"]


class KrylovSpace:
    """The span of ``k`` Lanczos vectors from ``∇J(0)`` of a quadratic objective, and ``G`` on it.

    With the vectors as rows of ``Q`` (orthonormal; a ``k+1``-th is the normalised last residual)
    and ``T̃`` the ``(k+1) × k`` Lanczos matrix, ``G Q_kᵀ = Q_{k+1}ᵀ T̃``. For θ = Q_kᵀc therefore
    ``∇J(θ) = Q_{k+1}ᵀ(T̃c + ‖∇J(0)‖e₁)`` and ``J(θ) = J(0) + ‖∇J(0)‖c₁ + cᵀT_kc/2``, exactly,
    without a pass over the data. A Krylov-type method (gradient descent, momentum, Nesterov, CG)
    started at 0 without L1 keeps its ``j``-th iterate in the span of the first ``j`` vectors, so
    its first ``k`` updates can be made on :meth:`restricted` coordinates and lifted back: the same
    numbers, up to rounding.

    Parameters
    ----------
    basis : ndarray of shape (m, p)
        ``Q`` (m = k + 1, or k when the span is invariant under G).
    lanczos : ndarray of shape (m, k)
        ``T̃``.
    start_norm : float
        ``‖∇J(0)‖`` (``∇J(0) = start_norm · Q[0]``).
    loss_at_zero : float
        ``J(0)``.
    """

    def __init__(self, basis: NDArray[np.float64], lanczos: NDArray[np.float64], start_norm: float, loss_at_zero: float) -> None:
        self.basis, self.lanczos = basis, lanczos
        self.start_norm, self.loss_at_zero = start_norm, loss_at_zero

    @property
    def dimension(self) -> int:
        """m, the length of the coordinate vectors."""
        return self.basis.shape[0]

    @property
    def exact_updates(self) -> int:
        """k: how many updates from 0 stay where G is known."""
        return self.lanczos.shape[1]

    def lift(self, coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
        """``Qᵀc``: the vector of parameters with these coordinates."""
        return coordinates @ self.basis

    def restricted(self, objective) -> KrylovObjective:  # the objective it came from
        """The objective in these coordinates (its L and μ are ``objective``'s estimates)."""
        return KrylovObjective(self, objective.lipschitz, objective.strong_convexity)


class KrylovObjective(L1Penalty):
    """A :class:`KrylovSpace`'s quadratic in coordinates, with the objective interface solvers use.

    It declares itself ``streaming`` so that a solver makes exactly the arithmetic it makes on the
    streaming objective (gradients by linearity). Coordinates past the ``k`` known columns of G must
    be zero: they are for every iterate within ``k`` updates of 0.
    """

    streaming = True
    l1 = None
    #: Its L and μ are given (the streaming objective's estimates): updates check no curvature here.
    lipschitz_estimated = False
    extended = None
    can_recentre = False

    def __init__(self, space: KrylovSpace, lipschitz: float, strong_convexity: float) -> None:
        self.space = space
        self.lipschitz, self.strong_convexity = lipschitz, strong_convexity
        self.n_params = space.dimension
        self.gradient_scale = space.start_norm

    def want_krylov_space(self) -> None:
        """Nothing to keep: this is already a Krylov space."""

    def krylov_space(self, theta0: NDArray[np.float64]) -> None:
        """None: the updates here are the replay itself."""
        return None

    def hess_vec(self, coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
        """``G v`` in these coordinates: ``T̃ c`` (the coordinates past the known columns must be 0)."""
        known = self.space.exact_updates
        if np.any(coordinates[known:]):
            raise ValueError("a point outside the span where G is known")
        return self.space.lanczos @ coordinates[:known]

    def loss_grad(self, coordinates: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        space, known = self.space, self.space.exact_updates
        if np.any(coordinates[known:]):
            raise ValueError("a point outside the span where G is known")
        c = coordinates[:known]
        curved = space.lanczos @ c
        grad = curved.copy()
        grad[0] += space.start_norm
        loss = space.loss_at_zero + space.start_norm * float(c[0]) + 0.5 * float(c @ curved[:known])
        return max(loss, 0.0), grad  # J ≥ 0; near an exact fit the sum can cancel to a rounding below 0
