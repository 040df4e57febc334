r"""The least-squares answer from sufficient statistics, refined to the float64 limit when it must be.

One pass gathers ``G``, ``b`` (see :class:`~gradfit.objective.LeastSquares`); ``θ₀ = G⁺b`` is then an
O(p³) solve. Its error comes from the rounding of the statistics: of ``G``, about ``ε`` relative per
entry, which the condition number amplifies to ``κ(G)·√p·ε·‖θ‖``; and of ``b``, about
``√p·ε·√(L·c)`` (relative to the terms it sums, not to ``b`` itself: when X explains little of y,
``b`` is small and its rounding is not), which ``G⁻¹`` amplifies by ``1/μ``. When that bound, carried
to each coefficient and to the intercept (:meth:`~gradfit.objective.Frame.relative_error`), is below
the target (:data:`ACCURACY_TARGET`, or a smaller ``tol``), ``θ₀`` is the answer and the data were
read once.

Otherwise the answer is refined on the normal equations (iterative refinement, Wilkinson/Moler):

.. math::  θ_{k+1} = θ_k − G^{+}\,∇J(θ_k),

where each gradient ``∇J(θ_k) = Zᵀ(Zθ_k − t)/W`` comes from one pass over the rows, computed to
about ``ε²`` (:func:`gradfit.numerics.residuals.residual_sums`: the residual in double-double from exact
slice products, its products with the rows exact in BLAS). The unknowns themselves are kept as the
coefficients and intercept in the data's power-of-two units, so that the intercept of an
uncentred problem (a year column, say) is not lost to cancellation. Each step contracts the error
by a factor of about κ(G)·ε (more where the rounded column means couple the intercept to the
slopes). The loop stops when the last correction moved no component by more than an ulp, or when
the corrections stop shrinking: they are then the noise of the iterate's own rounding (an
uncentred intercept beside small coefficients leaves a few times ε·‖θ‖/|θ_j|), and the iterate
lies within a few corrections of the answer, which is what the solution reports. Where that is
above the target the solution is not settled: the estimator then solves rows held in memory by
QR, and says how many digits files and Dask collections reached.

A numerically singular G (an eigenvalue at rounding level, ``≤ p·ε·λmax``) is solved by its
pseudo-inverse, which is the least-squares answer only when those directions are exact
collinearity in the data (duplicate, constant or dummy-coded columns): then ``b`` has no component
along them above rounding. Where it has (nearly collinear columns, a high-degree polynomial), the
directions carry information the statistics cannot resolve: the solution is reported not settled,
however small its corrections (:attr:`~gradfit.objective.LeastSquares.unresolved_directions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["DirectSolution", "solve_from_statistics", "qr_preconditioner", "ACCURACY_TARGET", "MAX_REFINEMENT_PASSES", "REFINED_FLOOR"]

EPS = float(np.finfo(np.float64).eps)

#: The statistics' solve stands without a refinement pass when its error bound, carried to every
#: coefficient and the intercept, is below this relative size: ten times below the 1e-10 the
#: estimator promises for its default answer. The bound is itself conservative: on the real data
#: sets of the tests and on 2,000,000 × 50 random data it exceeded the measured error 5-45×, so
#: well-conditioned data are answered from the one pass (the benchmark's 1.3 × X.T @ X).
ACCURACY_TARGET = 1e-11
#: Most refinement passes. Each contracts the error by about κ(G)·ε, so ten reach the last bit
#: for any κ(G) the normal equations can resolve; past that the corrections stop shrinking first.
MAX_REFINEMENT_PASSES = 10
#: Once the corrections stop shrinking they are the noise of the iterate's own rounding, and the
#: iterate lies within this many times the last correction of the answer (a correction that is
#: noise can itself add its size: measured at most 2.9× on random designs with weights, κ ≤ 1e14).
NOISE_MARGIN = 4.0
#: A refined answer is not certified closer than this, however small its last correction: along
#: a weak direction of G an error moves the gradient by less than the rounding of the iterate
#: itself, so no correction sees it (measured: up to 32ε on random designs with κ(G) ≈ 6e10).
REFINED_FLOOR = 64 * EPS


@dataclass(frozen=True)
class DirectSolution:
    """What :func:`solve_from_statistics` found.

    Attributes
    ----------
    coef : ndarray of shape (d,)
        In the user's units.
    intercept : float
    passes : int
        Refinement passes over the rows (0 when the statistics' solve stood).
    settled : bool
        Whether ``error_estimate`` is within the target: the a-priori bound was met, or the
        refinement's corrections shrank to within it.
    error_estimate : float
        Estimated largest relative error of a coefficient or the intercept: the a-priori bound when
        no pass was made, else :data:`NOISE_MARGIN` times the last correction (the one that moved no
        component by more than an ulp, or the one that no longer shrank); inf where the statistics
        cannot resolve some direction.
    losses, gradient_norms : list of float
        For each pass: ``J`` and ``‖∇J‖`` (θ's units, without the penalty) at the iterate it read,
        the one the next correction starts from.
    corrections : int
        Corrections applied (a pass whose correction had stopped shrinking applies none).
    path : list of ndarray
        θ after the first solve and after each correction.
    """

    coef: NDArray[np.float64]
    intercept: float
    passes: int
    settled: bool
    error_estimate: float
    losses: list[float]
    gradient_norms: list[float]
    corrections: int
    path: list[NDArray[np.float64]]

    @property
    def final_loss(self) -> float | None:
        """``J`` from the last pass (None without a pass)."""
        return self.losses[-1] if self.losses else None


def solve_from_statistics(
    objective,
    *,
    target: float = ACCURACY_TARGET,
    solve: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
    force_refinement: bool = False,
    trust_collinearity: bool = True,
) -> DirectSolution:
    """Solve ``Gθ = b`` and refine the answer by passes over the rows where its error bound asks for it.

    Parameters
    ----------
    objective : LeastSquares
        Built from a source; refinement needs ``objective.can_refine``.
    target : float, default=ACCURACY_TARGET
        The relative error per coefficient the answer must be certified to (a smaller ``tol``).
    solve : callable, optional
        ``rhs ↦ G⁻¹ rhs`` to use instead of ``objective.solve`` (the pseudo-inverse of the
        statistics' G): a QR factor of the rows, say, where G cannot resolve the data.
    force_refinement : bool, default=False
        Refine even where the a-priori bound is met (it is G's, not that of another ``solve``).
    trust_collinearity : bool, default=True
        Where G is numerically singular, take its dropped directions for exact collinearity when
        ``b`` shows no signal along them (the best the statistics can tell: for files and Dask);
        False: report such a G not settled at once, without passes (rows in memory, which QR solves).

    Returns
    -------
    DirectSolution
    """
    frame = objective.frame
    own_solve = solve is None
    solve = objective.solve if own_solve else solve
    # G's pseudo-inverse cannot see the directions it drops; only exact collinearity may be dropped.
    unresolved = own_solve and objective.numerically_singular and (
        not trust_collinearity or objective.unresolved_directions)
    theta = solve(objective.b)
    bound = np.inf if unresolved else _a_priori_bound(objective, theta)
    path = [theta]
    if unresolved or not objective.can_refine or (bound <= target and not force_refinement):
        coef, intercept = frame.to_model(theta)
        return DirectSolution(coef, intercept, 0, bound <= target, bound, [], [], 0, path)

    coef, intercept = frame.to_scaled(theta)
    passes, previous, estimate = 0, np.inf, bound
    losses, gradient_norms = [], []
    while passes < MAX_REFINEMENT_PASSES:
        sums = objective.residual_sums(coef, intercept)
        passes += 1
        theta = frame.from_scaled(coef, intercept)
        gradient = objective.gradient_from_sums(sums, theta)
        losses.append(sums.squares / (2.0 * objective.scaled_weight * frame.y_unit**2))  # f = −y_unit·(Zθ − t)
        gradient_norms.append(float(np.linalg.norm(gradient)))
        step = -solve(gradient)
        # The correction moves θ to θ + step: it is the error of θ (sign aside), per component.
        size = frame.relative_error(theta, -step, 0.0)
        if not np.isfinite(size):
            break  # an overflowing or undefined correction: the previous iterate stands, not settled
        if size == 0:  # nothing left to correct (G = 0 has nothing to solve for at all)
            estimate = 0.0
            break
        if size >= previous:
            # No longer shrinking: the corrections are now the noise of the iterate's own rounding
            # (an uncentred intercept, small coefficients beside large ones), and the iterate is
            # within that noise of the answer. The previous iterate stands.
            estimate = NOISE_MARGIN * size
            break
        coef_step, intercept_step = frame.scaled_step(step)
        coef = coef + coef_step
        intercept = intercept + intercept_step
        path.append(frame.from_scaled(coef, intercept))
        # What is left after this correction: a few of its size once it is rounding noise, and the
        # rest of a geometric series where the corrections shrink slowly (κ(G)·ε near 1).
        contraction = size / previous
        estimate = size * max(NOISE_MARGIN, contraction / (1.0 - contraction))
        if size <= EPS:
            break  # this correction moved no component by more than an ulp
        previous = size
    if passes:
        estimate = max(estimate, REFINED_FLOOR, _representation_floor(objective, path[-1]) if own_solve else 0.0)
    coef_model, intercept_model = frame.unscaled(coef, intercept)
    return DirectSolution(coef_model, intercept_model, passes, estimate <= target, estimate,
                          losses, gradient_norms, len(path) - 1, path)


def _representation_floor(objective, theta: NDArray[np.float64]) -> float:
    """What no correction can see: θ is held in float64, so the gradient at the answer itself is the
    rounding of θ, ``G·δθ`` with ``|δθ| ≲ ε·|θ|``, and a correction ``G_stat⁺ G δθ`` returns δθ only
    to within ``κ(G)·√p·ε`` of itself: ``κ·√p·ε·ε·‖θ‖`` in norm, which a coefficient far smaller than
    the others in θ's units carries relatively largest (measured on a degree-10 polynomial,
    κ ≈ 1.8e14: 7e-11 where the corrections had shrunk to 1e-13; this gives 6e-7 there, and 3e-22
    on star98 with κ ≈ 1.3e5)."""
    frame = objective.frame
    weights = theta[1:] if frame.fit_intercept else theta
    if frame.inert is not None:
        weights = weights[~frame.inert]
    # Coefficients that are 0 to within θ's own rounding have no relative error to speak of (see
    # Frame.relative_error): only the others are weighed.
    weights = weights[np.abs(weights) > np.sqrt(theta.size) * EPS * np.linalg.norm(theta)]
    if not weights.size:
        return 0.0
    mu = objective.strong_convexity
    kappa = objective.lipschitz / mu if mu > 0 else np.inf
    correction_rounding = min(1.0, kappa * np.sqrt(objective.n_params) * EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(correction_rounding * EPS * np.linalg.norm(theta) / np.min(np.abs(weights)))


def _a_priori_bound(objective, theta: NDArray[np.float64]) -> float:
    """The statistics' rounding carried to θ (see the module docstring), then to each coefficient and
    the intercept, relative to each (inf where G is numerically singular, or a component is 0)."""
    error = objective.statistics_rounding(float(np.linalg.norm(theta)))
    return objective.frame.relative_error(theta, np.zeros_like(theta), error) if np.isfinite(error) else np.inf


def qr_preconditioner(objective, X: NDArray[np.float64], weight: NDArray[np.float64] | None):  # noqa: ANN201
    """``rhs ↦ G⁻¹ rhs`` from a QR factor of the rows themselves, for :func:`solve_from_statistics`
    where the statistics' G cannot resolve the data (rows in memory only).

    ``G = ZᵀWZ/ΣW + diag(ridge) = RᵀR`` with R the triangular factor of ``[√(w/ΣW)·Z; √ridge]``, Z the
    rows in θ's coordinates. The factor's own rounding is relative to the rows, not to their Gram
    matrix, so refinement with it converges where G's would not, while the corrections' gradients
    still come from the exact data (a singular factor gives non-finite corrections, which the
    refinement reports as not settled).
    """
    import scipy.linalg

    Z = objective.design(X)
    share = np.full(Z.shape[0], 1.0 / Z.shape[0]) if weight is None else weight / weight.sum()
    rows = Z * np.sqrt(share)[:, None]
    if np.any(objective.ridge > 0):
        rows = np.vstack([rows, np.diag(np.sqrt(objective.ridge))])
    _, R = scipy.linalg.qr(rows, mode="raw", overwrite_a=True, check_finite=False)
    if R.shape[0] < R.shape[1]:  # fewer rows than parameters: a singular factor
        R = np.vstack([R, np.zeros((R.shape[1] - R.shape[0], R.shape[1]))])

    def solve(rhs: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inner = scipy.linalg.solve_triangular(R, rhs, trans="T", check_finite=False)
            return scipy.linalg.solve_triangular(R, inner, check_finite=False)

    return solve
