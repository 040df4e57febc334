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

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from gradfit.history import History
from gradfit.numerics.scaling import power_of_two_scale
from gradfit.solvers.base import Solver
from gradfit.solvers.exact import solve_exact_counted
from gradfit.sources import FactoredSource, InMemorySource, ReducibleSource, Source, offers

__all__ = [
    "DIRECT_SOLVERS", "DirectFit", "DirectSolution", "Exact", "solve_direct", "solve_from_statistics", "qr_preconditioner",
    "column_unit", "ACCURACY_TARGET", "MAX_REFINEMENT_PASSES", "REFINED_FLOOR",
]

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
class Exact(Solver):
    """``solver="exact"``, declared as the iterative solvers declare themselves (see
    :class:`~gradfit.solvers.base.Solver`): it runs without iterating (:func:`solve_direct`), on the
    d × d statistics, without an L1 penalty or a step."""

    name: ClassVar[str] = "exact"
    supports_l1: ClassVar[bool] = False
    needs_statistics: ClassVar[bool] = True


#: Solvers that run without iterating, by name.
DIRECT_SOLVERS: dict[str, type] = {Exact.name: Exact}


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
    null_spread: NDArray[np.float64] | None = None,
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
        A pass's accurate gradient then checks them (:meth:`LeastSquares.dropped_signal`).
    null_spread : ndarray of shape (p,), optional
        How far, per component and in units of ‖θ‖, the answer may move because the directions ``solve``
        drops lie off the data's null space (a singular factor's): their angle times each component's
        share of them. Added to the estimate.

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
    # Directions dropped as collinear are checked by a pass's accurate gradient (dropped_signal), so a
    # refinable source makes one pass at least where G drops any.
    trusted = own_solve and not unresolved and objective.numerically_singular and objective.can_refine
    force_refinement = force_refinement or trusted
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
        last = (gradient, theta, losses[-1])
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
    if trusted and passes:
        # The dropped directions are G's eigenvectors, within about √p·ε·L/μ (μ its smallest kept
        # eigenvalue) of the data's null space: the minimum-norm answer moves by that much of ‖θ‖, along
        # them (measured: 2.2e-13 where the corrections said 1.4e-14, 3 rows and 4 parameters; and it
        # is what flags nearly collinear columns whose truncated answer was 100% off, certified, when
        # their gradient stays within the collinearity allowance).
        eigenvalues, eigenvectors = objective.spectrum
        kept = eigenvalues[eigenvalues > objective.rank_cutoff]
        angle = np.sqrt(objective.n_params) * EPS * objective.lipschitz / float(kept.min()) if kept.size else np.inf
        spread = angle * np.linalg.norm(eigenvectors[:, eigenvalues <= objective.rank_cutoff], axis=1)
        null_spread = spread if null_spread is None else np.maximum(null_spread, spread)
    if passes and null_spread is not None:
        theta_final = path[-1]
        estimate = max(estimate, frame.relative_error(theta_final, null_spread * float(np.linalg.norm(theta_final)), 0.0))
    if trusted and passes and objective.dropped_signal(*last):
        # Not collinearity: curvature G cannot resolve. The answer misses its part along those
        # directions, by an amount no pass here can tell: not settled (rows elsewhere go to QR).
        estimate = np.inf
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


def qr_preconditioner(objective, X: NDArray[np.float64], weight: NDArray[np.float64] | None):
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
    return triangular_solver(R)


def factor_preconditioner(objective, source):  # FactoredSource
    """:func:`qr_preconditioner` with the factor of the rows computed where they live (arrays on a device:
    only p × p comes back), the ridge's rows added to it on the host. Where the factor is numerically
    singular (σ ≤ p·ε·σmax: collinear columns, fewer rows than parameters, at the rows' own precision,
    not G's), its pseudo-inverse: the refinement then converges to the minimum-norm answer in θ's
    coordinates, as G⁺ and QR give it for rows in memory. Returns ``(solve, null_spread)`` (see
    :func:`solve_from_statistics`; None where nothing is dropped)."""
    R = source.triangular_factor(objective.frame)
    # The rows' rounding is relative to their own factor: the ridge's rows (exact, and as large as α/σ²
    # for a column of tiny spread) do not raise the level below which a direction is rounding.
    data_scale = float(np.linalg.norm(R, 2)) if R.size else 0.0
    if np.any(objective.ridge > 0):
        R = np.linalg.qr(np.vstack([R, np.diag(np.sqrt(objective.ridge))]), mode="r")
    _, singular, right = np.linalg.svd(R)
    kept = singular > R.shape[0] * EPS * data_scale
    if np.all(kept) or not np.all(np.isfinite(singular)):
        return triangular_solver(R), None
    directions, inverse = right[kept].T, 1.0 / singular[kept] ** 2

    def solve(rhs: NDArray[np.float64]) -> NDArray[np.float64]:
        return directions @ ((directions.T @ rhs) * inverse)

    # The dropped right singular vectors lie within √p·ε·σmax/σ (σ the smallest kept) of R's null space;
    # the answer moves by that much of ‖θ‖, along them.
    angle = float(np.sqrt(R.shape[0]) * EPS * data_scale / singular[kept][-1]) if np.any(kept) else np.inf
    return solve, angle * np.linalg.norm(right[~kept], axis=0)


def triangular_solver(R: NDArray[np.float64]):
    """``rhs ↦ (RᵀR)⁻¹ rhs`` by two triangular solves (non-finite where R is singular)."""
    import scipy.linalg

    def solve(rhs: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            try:
                inner = scipy.linalg.solve_triangular(R, rhs, trans="T", check_finite=False)
                return scipy.linalg.solve_triangular(R, inner, check_finite=False)
            except np.linalg.LinAlgError:  # an exactly zero pivot (fewer rows than parameters)
                return np.full_like(rhs, np.nan)

    return solve


@dataclass(frozen=True)
class DirectFit:
    """What :func:`solve_direct` gives back: the answer and a record that reads like an iterative run's.

    Attributes
    ----------
    coef : ndarray of shape (d,)
        In the user's units.
    intercept : float
    history : History
        Update 1 is the solve from the statistics (from θ = 0), each further update a refinement's
        correction, the loss (target's units) recorded before each.
    path : list of ndarray
        θ at every recorded update (θ = 0 first), then the QR answer where QR gave it.
    n_passes : int
        Passes made over X: the statistics' pass, the refinement passes and those of a QR solve.
    settled : bool
        Whether the answer is certified to the target (``status_ "exact"``; else ``"precision"``).
    error_estimate : float
    final_loss : float
        Cost at the answer (target's units).
    message : str
        How the answer was found, with figures.
    warnings : list of str
        Convergence warnings for the caller to raise (the answer could not be resolved).
    within_tol : bool
        Not settled to the float64 limit, yet certified within ``tol``: statistics with no rows to refine
        from (``partial_fit``'s, a model file's) whose bound is above the limit but below ``tol``.
    """

    coef: NDArray[np.float64]
    intercept: float
    history: History
    path: list[NDArray[np.float64]]
    n_passes: int
    settled: bool
    error_estimate: float
    final_loss: float
    message: str
    warnings: list[str]
    within_tol: bool = False


def solve_direct(objective, source: Source, *, tol: float, alpha: float, fit_intercept: bool) -> DirectFit:  # LeastSquares
    """The least-squares answer from the statistics, refined by passes over the rows where the
    condition number calls for it (see :func:`solve_from_statistics`). Where the normal
    equations cannot resolve the data, rows in memory are solved by QR instead: with refinement
    on the augmented system (``solve_exact``) when unweighted and unpenalised, else refined with
    a QR factor of the rows in place of G. Files and Dask collections say what they reached.

    Its record reads like an iterative run's: update 1 is the solve from the statistics (from
    θ = 0), each further update a refinement's correction, the loss recorded before each.

    Parameters
    ----------
    objective : LeastSquares
        Built from ``source`` in standardized coordinates (one pass over the rows).
    source : Source
        The rows, read again for refinement passes (``reduce_rows``) and, in memory, for QR.
    tol : float
        A ``tol`` below :data:`ACCURACY_TARGET` tightens the target (0: the target).
    alpha : float
        The penalty's strength: with a ridge, a QR factor preconditions the refinement.
    fit_intercept : bool
    """
    started = time.perf_counter()
    target = min(ACCURACY_TARGET, tol) if tol > 0 else ACCURACY_TARGET
    frame = objective.frame
    in_memory = offers(source, InMemorySource)
    factored = offers(source, FactoredSource) and objective.float64_rows
    # Rows that can be factored (in memory, or on a device) decide collinearity by QR, at the rows'
    # own precision; files and Dask trust G, checked by a pass (LeastSquares.dropped_signal).
    solution = solve_from_statistics(objective, target=target, trust_collinearity=not (in_memory or factored))
    passes = 1 + solution.passes
    raised: list[str] = []
    if solution.passes == 0:
        how = (f"least-squares solution from the statistics (one pass over the data; estimated relative error "
               f"≤ {solution.error_estimate:.1g})")
    else:
        how = (f"least-squares solution from the statistics, refined by {solution.passes} accurate "
               f"pass{'es' if solution.passes > 1 else ''} over the data (estimated relative error "
               f"≤ {solution.error_estimate:.1g})")
    theta_final = None  # the answer in θ's coordinates, where another method than the statistics' gave it

    single = not objective.float64_rows  # a device without float64 gathered them

    def reason() -> str:
        if single:
            return (f"{getattr(source, 'device', 'the device')} has no float64, so the statistics were gathered in "
                    f"float32 there and no refinement pass can run")
        # Only where the solve did not settle: κ needs the full spectrum, O(p³) past DENSE_SPECTRUM_MAX.
        refuted = not np.isfinite(solution.error_estimate)  # dropped directions a pass showed not collinear
        collinear = ", nearly collinear columns" if objective.unresolved_directions or refuted else ""
        return (f"the normal equations cannot resolve these data (condition number of XᵀX/m ≈ "
                f"{objective.condition_number:.3g}{collinear})")
    if not solution.settled and in_memory:
        X, y = source.arrays()
        if alpha == 0:
            # Minimum norm (rank-deficient data) in units of the columns' spreads, as the statistics' G⁺.
            unit = frame.x_unit * frame.x_scale
            coef, intercept, qr_passes = solve_exact_counted(X, y, fit_intercept=fit_intercept, column_unit=unit,
                                                             sample_weight=source.sample_weight)
            solution = replace(solution, coef=coef, intercept=intercept, settled=True,
                               error_estimate=REFINED_FLOOR)
            theta_final = frame.from_model(coef, intercept)
            passes += qr_passes
            how = f"least-squares solution by QR on the scaled design with iterative refinement: {reason()}"
        else:
            refined = solve_from_statistics(objective, target=target, solve=qr_preconditioner(objective, X, source.sample_weight),
                                            force_refinement=True)
            passes += 1 + refined.passes  # the factor reads the rows once, then the refinement passes
            solution = refined
            how = (f"least-squares solution refined by {refined.passes} accurate passes with a QR factor of the rows: "
                   f"{reason()}")
    elif not solution.settled and factored:
        # Rows on a device: refinement preconditioned by a QR factor of the rows computed there.
        solve, null_spread = factor_preconditioner(objective, source)
        refined = solve_from_statistics(objective, target=target, solve=solve, force_refinement=True,
                                        null_spread=null_spread)
        passes += 1 + refined.passes  # the factor reads the rows once, then the refinement passes
        if refined.settled or refined.error_estimate < solution.error_estimate:
            solution = refined
            how = (f"least-squares solution refined by {refined.passes} accurate passes with a QR factor of the rows, "
                   f"computed on {getattr(source, 'device', 'their device')}: {reason()}")
    # Statistics alone (no rows to refine from: partial_fit's merged ones): the answer is what they
    # resolve; where that is within the caller's tol it is what was asked for, and said so.
    within_tol = (not solution.settled and not offers(source, ReducibleSource) and tol > 0
                  and solution.error_estimate <= tol)
    if within_tol:
        how = (f"least-squares solution from the statistics of every row so far (no rows kept to refine it "
               f"with): estimated relative error ≤ {solution.error_estimate:.1g}, within tol={tol:g}")
    elif not solution.settled:
        error = solution.error_estimate
        digits = f"about {max(-np.log10(error), 0.0):.0f}" if 0 < error < 1 else "no"
        how = f"solved from the statistics to {digits} correct digits, short of the float64 limit: {reason()}"
        remedy = ("move the data to a device with float64 (for PyTorch, X.to('cpu', torch.float64)), or raise tol "
                  "to the error above" if single else
                  "drop or combine nearly collinear features" if in_memory else
                  "drop or combine nearly collinear features, or fit the rows in memory, where QR resolves more"
                  if offers(source, ReducibleSource) else
                  "raise tol to the error above, or fit all the rows at once, where refinement passes resolve more")
        raised.append(
            f"the least-squares answer could be resolved to {digits} significant digits (estimated relative error "
            f"{error:.2g}): {reason()}. To get the answer, {remedy}."
        )
    with np.errstate(over="ignore"):
        if solution.final_loss is not None and theta_final is None:
            final = solution.final_loss  # from the last pass: accurate where the residual is small
        else:
            final = objective.loss_grad(theta_final if theta_final is not None else frame.from_model(solution.coef, solution.intercept))[0]
        final_loss = float(max(final, 0.0) * frame.loss_scale)
    # Before the solve from the statistics, θ = 0: J(0) = c/2 and ∇J(0) = −b.
    updates = solution.corrections
    losses = [0.5 * objective.c, *solution.losses[:updates]]
    gradient_norms = [float(np.linalg.norm(objective.b)), *solution.gradient_norms[:updates]]
    elapsed = time.perf_counter() - started
    history = History(np.array(losses), np.array(gradient_norms), np.ones(len(losses)),
                      np.linspace(0.0, elapsed, len(losses))).scaled(frame.loss_scale)
    path = [np.zeros(objective.n_params), *solution.path[: updates + 1]]
    if theta_final is not None:
        path.append(theta_final)
    return DirectFit(coef=solution.coef, intercept=solution.intercept, history=history, path=path, n_passes=passes,
                     settled=solution.settled, error_estimate=solution.error_estimate, final_loss=final_loss,
                     message=how, warnings=raised, within_tol=within_tol)


def column_unit(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Column standard deviations (1 for a constant column), computed on columns divided by exact
    powers of two so that features near 1e200 do not overflow when squared, nor 1e-200 underflow."""
    scale = power_of_two_scale(np.max(np.abs(X), axis=0))
    unit = (X / scale).std(axis=0) * scale
    return np.where(unit > 0, unit, 1.0)
