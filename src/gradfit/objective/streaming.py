"""The least-squares objective evaluated by passes over the rows, for the streaming engine: no
``d × d`` matrix, L and μ estimated by a few Lanczos steps (:class:`StreamingLeastSquares`)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from gradfit.objective.frame import Accuracy, Frame, _normwise
from gradfit.objective.krylov import KrylovSpace
from gradfit.objective.penalty import L1Penalty
from gradfit.objective.statistics import STATISTICS_ROUNDING, SparseRowArrays

__all__ = ["StreamingLeastSquares", "LANCZOS_STEPS", "LANCZOS_CURVATURE_SHARE"]

#: The bottom Ritz value of a few Lanczos steps approaches μ from above (7% high on the sparse
#: benchmark, about 40% on 20,000 × 5,000 sparse data in a test), so the streaming error bound takes
#: this share of it: the bound then stays above the error measured against LSQR run to 1e-15.
LANCZOS_CURVATURE_SHARE = 0.5
#: Lanczos steps (one pass each) that estimate L and μ of a streaming objective. On 1,000,000 ×
#: 100,000 sparse data (κ ≈ 3.8): 8 steps put λmax 2.3% low and λmin 7% high; ARPACK needed 21
#: passes for 1% and 93 for 0.1%.
LANCZOS_STEPS = 8


class StreamingLeastSquares(L1Penalty):
    """The objective of :class:`LeastSquares`, evaluated by passes over the rows: no ``d × d`` matrix.

    With ``Z`` the design in θ's coordinates, every ``loss_grad(θ)`` is one fused pass computing
    ``r = Zθ − t`` and ``Zᵀr`` (see :meth:`gradfit.sources.passes.StreamingSource.residual_pass`),
    and every ``hess_vec(v) = ZᵀZv/m + ridge∘v`` is one pass too. Centring and scaling stay implicit:
    ``Zθ = X(θ_w/(σ·s)) + θ0 − Σ μ_j θ_j/σ_j``, so a sparse X is used as it is.

    ``streaming`` is True: solvers should reuse evaluations (update gradients by recurrence, get
    the gradient at an extrapolated point by linearity) rather than ask for new ones. ``L`` and ``μ``
    are estimated by a few Lanczos steps (:data:`LANCZOS_STEPS` passes), only when a solver asks.

    Parameters
    ----------
    source : StreamingSource
    fit_intercept, standardize : bool
    alpha, l1_ratio : float
        scikit-learn's elastic-net penalty, as in :meth:`LeastSquares.from_stats`.
    """

    streaming = True
    #: L comes from a few Lanczos steps, not an eigendecomposition (see :attr:`spectrum_estimate`).
    lipschitz_estimated = True
    #: No statistics, so no double-double ones, and nothing to recentre on.
    extended = None
    can_recentre = False

    def __init__(self, source, *, fit_intercept: bool, standardize: bool, alpha: float = 0.0, l1_ratio: float = 0.0) -> None:
        # Only standardized frames need the columns' spreads, and only centred ones their means.
        moments = source.columns(means=standardize and fit_intercept, squares=standardize)
        self.frame = Frame.for_moments(
            moments.x_mean, moments.x_var, moments.y_mean, moments.y_var, moments.x_scale, moments.y_scale,
            fit_intercept=fit_intercept, standardize=standardize,
        )
        self.source = source
        self.stats = None
        self.moments = moments
        self.n_params = self.frame.n_params
        ridge, l1 = self.frame.penalty_weights(alpha, l1_ratio)
        if fit_intercept:
            ridge, l1 = np.concatenate([[0.0], ridge]), np.concatenate([[0.0], l1])
        self.ridge = ridge
        self.l1 = l1 if np.any(l1 > 0) else None
        frame = self.frame
        self._column_factor = 1.0 / (frame.x_unit * frame.x_scale)  # θ_w → v
        self._shift_factor = frame.x_shift / frame.x_unit  # θ_w → its share of the constant a
        self._at_zero: tuple[float, NDArray[np.float64]] | None = None
        self._krylov_wanted = False
        self._krylov: KrylovSpace | None = None

    # --- rows for the stochastic solvers (SparseRowObjective) ----------------------------------

    @property
    def n_samples(self) -> int:
        return self.moments.n_samples

    def max_row_norm2(self) -> float:
        """Largest ``‖z_i‖²`` over the rows in θ's coordinates (the stochastic solvers' step bound), at
        O(nonzeros) for a sparse X; computed once, then remembered."""
        if "_max_row_norm2" not in self.__dict__:
            self._max_row_norm2 = self.source.max_row_norm2(self._column_factor, self._shift_factor,
                                                            float(self.frame.fit_intercept))
        return self._max_row_norm2

    def row_arrays(self) -> SparseRowArrays | None:
        """The rows of a sparse X as CSR arrays with the map to θ's coordinates (:class:`SparseRowArrays`),
        for the stochastic solvers' compiled epochs (counted as a pass); None for a dense X (the
        stochastic solvers are not offered for it on this engine). Nothing is copied."""
        arrays = self.source.csr_arrays()
        if arrays is None:
            return None
        indptr, indices, data, y, weight = arrays
        frame = self.frame
        weight_scale = float(self.moments.n_samples / self.moments.weight) if weight is not None else 1.0
        return SparseRowArrays(indptr, indices, data, self.source.n_features, y, weight, weight_scale, frame.x_scale,
                               frame.x_shift, frame.x_unit, float(frame.y_scale), float(frame.y_shift),
                               float(frame.y_unit), bool(frame.fit_intercept))

    def row_blocks(self, max_rows: int) -> None:
        """None: the rows are in memory (:meth:`row_arrays`)."""
        return None

    def _split(self, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        return (float(theta[0]), theta[1:]) if self.frame.fit_intercept else (0.0, theta)

    def _pass(self, theta: NDArray[np.float64], *, with_target: bool) -> tuple[float, NDArray[np.float64]]:
        """(Σ w r² / 2W, Zᵀ(w∘r)/W) for ``r = Zθ − t`` (or ``Zθ`` without the target)."""
        frame = self.frame
        theta0, weights = self._split(theta)
        constant = theta0 - float(self._shift_factor @ weights)
        beta = 0.0
        if with_target:
            constant += frame.y_shift / frame.y_unit
            beta = 1.0 / (frame.y_unit * frame.y_scale)
        total = self.moments.weight
        sum_r2, x_residual, sum_r = self.source.residual_pass(weights * self._column_factor, constant, beta)
        grad_w = x_residual * self._column_factor - self._shift_factor * sum_r
        grad = np.concatenate([[sum_r], grad_w]) if frame.fit_intercept else grad_w
        return sum_r2 / (2.0 * total), grad / total

    def loss_grad(self, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        """Loss (penalty included) and the smooth part's gradient, from one pass over the rows."""
        at_zero = not np.any(theta)
        if at_zero and self._at_zero is not None:
            half_mean_r2, grad = self._at_zero
        else:
            half_mean_r2, grad = self._pass(theta, with_target=True)
            if at_zero:
                self._at_zero = (half_mean_r2, grad)
        grad = grad + self.ridge * theta
        return half_mean_r2 + 0.5 * float(theta @ (self.ridge * theta)) + self.penalty(theta), grad

    def hess_vec(self, vector: NDArray[np.float64]) -> NDArray[np.float64]:
        """``G v = ZᵀZv/m + ridge∘v``: one pass."""
        return self._pass(vector, with_target=False)[1] + self.ridge * vector

    @cached_property
    def gradient_scale(self) -> float:
        """``‖∇J(0)‖`` (one pass, which the solver's start at 0 then reuses; a constant, kept)."""
        norm = float(np.linalg.norm(self.loss_grad(np.zeros(self.n_params))[1]))
        return norm if norm > 0 else 1.0

    @property
    def passes(self) -> int:
        """Passes over the rows made so far (the column pass included)."""
        return self.source.passes

    @cached_property
    def spectrum_estimate(self) -> tuple[float, float]:
        """(λmin, λmax) of G estimated by :data:`LANCZOS_STEPS` Lanczos steps from ``∇J(0)``.

        The top Ritz value plus its residual bound overestimates λmax slightly (steps of 1/L are
        then safe); the bottom Ritz value overestimates λmin, which only costs momentum methods
        some speed. With more parameters than rows G is singular and λmin is 0.

        After :meth:`want_krylov_space`, the Lanczos vectors are kept (:meth:`krylov_space`): an
        update of a method whose iterates stay in their span can be computed from them without
        another pass.
        """
        p = self.n_params
        steps = min(LANCZOS_STEPS, p)
        loss_at_zero, start = self.loss_grad(np.zeros(p))
        from_gradient = bool(np.any(start))
        if not from_gradient:
            start = np.ones(p)
        start_norm = float(np.linalg.norm(start))
        basis = np.empty((steps + 1, p))
        diagonal, offdiagonal = [], []
        vector = start / start_norm
        residual_norm = 0.0
        for j in range(steps):
            basis[j] = vector
            product = self.hess_vec(vector)
            diagonal.append(float(vector @ product))
            for _ in range(2):  # full reorthogonalisation, twice: the vectors stay orthonormal to rounding
                product -= basis[: j + 1].T @ (basis[: j + 1] @ product)
            residual_norm = float(np.linalg.norm(product))
            if residual_norm <= 1e-12 * max(abs(diagonal[-1]), 1e-300):
                residual_norm = 0.0  # an invariant subspace: G maps the span into itself
                break
            offdiagonal.append(residual_norm)
            vector = product / residual_norm
        k = len(diagonal)
        tridiagonal = np.diag(diagonal) + np.diag(offdiagonal[: k - 1], 1) + np.diag(offdiagonal[: k - 1], -1)
        ritz, vectors = np.linalg.eigh(tridiagonal)
        top = float(ritz[-1] + residual_norm * abs(vectors[-1, -1]))
        singular = p > self.moments.n_samples and not np.all(self.ridge[int(self.frame.fit_intercept):] > 0)
        # The Krylov space of ∇J(0) lies in G's range, so ritz[0] estimates the smallest curvature
        # there even when G is singular: what bounds the error of iterates that stay in that range.
        self._range_curvature = float(max(ritz[0], 0.0))
        bottom = 0.0 if singular else self._range_curvature
        if from_gradient and self._krylov_wanted:
            # G Q_kᵀ = Q_{k+1}ᵀ T̃ with T̃ the tridiagonal and, below it, the last residual's norm.
            if residual_norm > 0:
                basis[k] = vector
                extended = np.vstack([tridiagonal, np.zeros((1, k))])
                extended[k, k - 1] = residual_norm
            else:
                extended = tridiagonal
            kept = basis if extended.shape[0] == basis.shape[0] else basis[: extended.shape[0]].copy()
            self._krylov = KrylovSpace(kept, extended, start_norm, loss_at_zero)
        return bottom, max(top, 0.0)

    def want_krylov_space(self) -> None:
        """Ask :attr:`spectrum_estimate` (not yet computed) to keep its Lanczos vectors for
        :meth:`krylov_space`; otherwise they are dropped (``k + 1`` vectors of length p)."""
        self._krylov_wanted = True

    def krylov_space(self, theta0: NDArray[np.float64]) -> KrylovSpace | None:
        """The Lanczos vectors kept by :attr:`spectrum_estimate` as a :class:`KrylovSpace`, handed over
        once (the objective lets go of them), when they span the iterates of a method started at
        ``theta0`` (that is, θ0 = 0); None otherwise."""
        space, self._krylov = self._krylov, None
        return None if np.any(theta0) else space

    def error_bound(self, stationarity, theta_norm, loss):  # floats or arrays alike
        """:meth:`LeastSquares.error_bound` with the estimated μ and L, and the rounding of a
        gradient computed by a pass (about ``√p·ε·(L‖θ‖ + ‖∇J(0)‖)``); there are no statistics.
        With more columns than rows μ is the smallest curvature in G's range, where the iterates of a
        method started at 0 stay (they converge to the minimum-norm solution)."""
        mu = LANCZOS_CURVATURE_SHARE * (self.strong_convexity or self._range_curvature)
        theta_norm = np.asarray(theta_norm, dtype=np.float64)
        if self.lipschitz == 0:  # G = 0 (X all zeros, no intercept): the minimum-norm answer is 0
            return np.broadcast_to(theta_norm, np.broadcast(stationarity, theta_norm).shape)[()]
        if not mu > 0:
            return np.full(np.broadcast(stationarity, theta_norm).shape, np.inf)[()]
        rounding = STATISTICS_ROUNDING * np.sqrt(self.n_params)
        return (np.asarray(stationarity) + rounding * (self.lipschitz * theta_norm + self.gradient_scale)) / mu

    def accuracy(self, theta: NDArray[np.float64], grad: NDArray[np.float64], stationarity: float, loss: float) -> Accuracy:
        """:class:`Accuracy` of θ as a whole: ``error_bound/‖θ‖``. Without the
        d × d statistics the error vector itself is not known, so a bound on one coefficient would be
        the bound on all of them, hopeless for the smallest of 100,000."""
        theta_norm = float(np.linalg.norm(theta))
        bound = float(self.error_bound(stationarity, theta_norm, loss))
        floor = float(self.error_bound(0.0, theta_norm, loss))
        return Accuracy(_normwise(bound, theta_norm), _normwise(floor, theta_norm), bound <= 2.0 * floor)

    @property
    def curvature_known(self) -> bool:
        """Whether L and μ have been estimated (asking for them otherwise costs Lanczos passes)."""
        return "spectrum_estimate" in self.__dict__

    @property
    def lipschitz(self) -> float:
        """L, estimated from above (see :attr:`spectrum_estimate`)."""
        return self.spectrum_estimate[1]

    @property
    def strong_convexity(self) -> float:
        """μ, estimated (from above; 0 when G is singular)."""
        return self.spectrum_estimate[0]

    @property
    def condition_number(self) -> float:
        """L/μ as estimated (``inf`` when G is singular)."""
        low, high = self.spectrum_estimate
        return high / low if low > 0 else float("inf")
