"""A fit without scikit-learn: validate → plan → objective → solve → unpack.

:func:`fit` takes validated arrays (or a :class:`~gradfit.sources.Source`, or a Dask collection)
and the hyper-parameters (:class:`Settings`), and returns everything a fit found as a
:class:`FittedState`. :class:`~gradfit.LinearRegression` is a thin scikit-learn adapter on it: it
checks its parameters and the arrays (``validate_data``), calls :func:`fit`, and stores the state as
its fitted attributes. Warnings are returned, not raised, with their kind, so that each caller
raises them its own way (the estimator as scikit-learn's ``ConvergenceWarning``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gradfit.checkpoints import (
    CheckpointFile,
    Continuation,
    PassKeeper,
    checkpoint_kind,
    describe_files,
    fingerprint,
    read_checkpoint,
    read_pass,
)
from gradfit.cost import least_squares_cost
from gradfit.driver import Resume, minimize
from gradfit.engine import STATISTICS_MAX_FEATURES, Plan, plan
from gradfit.history import History
from gradfit.objective import LeastSquares, StreamingLeastSquares
from gradfit.solvers import SOLVERS, STOCHASTIC_SOLVERS
from gradfit.solvers.base import evaluate
from gradfit.solvers.direct import DIRECT_SOLVERS, column_unit, solve_direct
from gradfit.solvers.exact import solve_exact
from gradfit.sources import CheckpointableSource, is_sparse, offers
from gradfit.sources.memory import sparse_statistics
from gradfit.sources.stats import GatheredSource, SufficientStats
from gradfit.validation import check_initial, check_settings, check_weights

__all__ = ["DEFAULT_PATH_POINTS", "FittedState", "OptimumGap", "Settings", "distance_to_optimum", "fit", "partial_fit"]

#: Iterates kept by ``record_path=True`` (evenly thinned over longer runs).
DEFAULT_PATH_POINTS = 2000


@dataclass(frozen=True)
class Settings:
    """The hyper-parameters of a fit, as :class:`~gradfit.LinearRegression` documents them (same
    names and defaults), each checked against its range when made (``ValueError`` naming it; see
    :func:`~gradfit.validation.check_settings`)."""

    solver: str = "auto"
    learning_rate: float | str = "auto"
    max_iter: int = 10_000
    tol: float = 1e-8
    standardize: bool = True
    fit_intercept: bool = True
    alpha: float = 0.0
    l1_ratio: float = 0.0
    momentum: float | None = None
    batch_size: int | None = None
    schedule: str | None = None
    random_state: int | np.random.RandomState | None = None
    record_path: bool | int = False

    def __post_init__(self) -> None:
        check_settings(**{field.name: getattr(self, field.name) for field in fields(self)})


@dataclass(frozen=True)
class FittedState:
    """Everything a fit found, in the user's units (the estimator's fitted attributes, without the
    trailing underscore; see :class:`~gradfit.LinearRegression` for each).

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    intercept : float
    n_iter : int
    history : History
        Losses in the target's units.
    converged : bool
    status : str
    message : str
    final_loss : float
    learning_rate, lipschitz, condition_number : float or None
    engine : str
        ``"statistics"`` or ``"streaming"``.
    solver : str
        The solver that ran (``"auto"`` resolved).
    n_passes : int
    error_bound : float
    path : ndarray of shape (n_points, 1 + n_features) or None
        ``[intercept, *coef]`` at kept iterates, where the fit recorded them.
    path_iterations : ndarray of shape (n_points,) or None
    stats : SufficientStats or None
        The statistics gathered (None on the streaming engine), for the inference table.
    continuation : Continuation or None
        Where an iterative run stands, to go on from exactly (``warm_start``); None for the direct solver.
    n_features : int
    feature_names : list of str or None
        The source's column names, where the data came as a source that has them.
    warnings : list of (str, str)
        ``(message, kind)`` for the caller to raise: kind ``"convergence"`` (short of ``tol``, or
        of the float64 limit for the direct solver) or ``"interrupted"``.
    """

    coef: NDArray[np.float64]
    intercept: float
    n_iter: int
    history: History
    converged: bool
    status: str
    message: str
    final_loss: float
    learning_rate: float | None
    lipschitz: float | None
    condition_number: float | None
    engine: str
    solver: str
    n_passes: int
    error_bound: float
    path: NDArray[np.float64] | None
    path_iterations: NDArray[np.intp] | None
    stats: SufficientStats | None
    n_features: int
    feature_names: list[str] | None
    warnings: list[tuple[str, str]]
    continuation: Continuation | None = None


def fit(
    X,  # validated ndarray or scipy.sparse, a Dask collection, or a Source
    y: ArrayLike | None = None,
    *,
    settings: Settings = Settings(),
    sample_weight: ArrayLike | None = None,
    coef_init: ArrayLike | None = None,
    intercept_init: float | None = None,
    continuation: Continuation | None = None,
    resume: str | os.PathLike[str] | None = None,
    checkpoint: CheckpointFile | None = None,
) -> FittedState:
    """Fit least squares by the settings' solver: validate → plan → objective → solve → unpack.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features), a Dask array or DataFrame, or a Source
        Arrays validated by the caller: float64, 2-D, at least one row; NaN/inf in X are named by
        the first pass over it (see :meth:`~gradfit.LinearRegression.fit` for the engines).
    y : ndarray of shape (n_samples,), optional
        None for a Source, which carries its own target.
    settings : Settings
    sample_weight, coef_init, intercept_init
        As :meth:`~gradfit.LinearRegression.fit` takes them.
    continuation : Continuation or None
        An earlier run to go on from (a fitted state's ``continuation``), where it ran on the same data
        with the same solver: ``max_iter`` more updates, bit for bit those of one longer run. Elsewhere
        unused (the starting values then say where to start).
    resume : path or None
        A checkpoint file to go on from (see :mod:`gradfit.checkpoints`): of the same data and solver,
        or refused; ``max_iter`` counts its updates too, so the fit ends as the uninterrupted one would.
    checkpoint : CheckpointFile or None
        Where to keep the run's state while it runs, and when it is interrupted.

    Returns
    -------
    FittedState

    Raises
    ------
    ValueError, DataError, DivergenceError
        As :meth:`~gradfit.LinearRegression.fit` says.
    """
    the_plan = plan(X, y, sample_weight, solver=settings.solver, learning_rate=settings.learning_rate,
                    alpha=settings.alpha, l1_ratio=settings.l1_ratio)
    coef_start, intercept_start = check_initial(coef_init, intercept_init, n_features=the_plan.source.n_features,
                                                fit_intercept=settings.fit_intercept)
    # The statistics pass over files is checkpointed between files, and resumed after the last one kept.
    by_files = (checkpoint is not None or resume is not None) and not the_plan.streams and offers(
        the_plan.source, CheckpointableSource)
    if by_files:
        identity = describe_files(the_plan.source, _objective_settings(settings))
        kind = checkpoint_kind(resume) if resume is not None else None
        # Resuming a solver's run, the pass is read whole again, unkept: a pass checkpoint would replace
        # the run's state (often in the same file) before it is read.
        if checkpoint is not None and kind != "run":
            the_plan.source.keep_position = PassKeeper(checkpoint, identity)
        if kind == "pass":
            the_plan.source.resume_position = read_pass(resume, identity=identity)
            resume = None  # the pass goes on; the run then starts afresh
    with the_plan.threads():
        objective = _objective(the_plan, settings)
        theta0 = _initial_theta(objective, coef_start, intercept_start)
        if the_plan.solver in DIRECT_SOLVERS:
            if resume is not None:  # a solver's run: refused, naming the solver to resume it with
                read_checkpoint(resume, objective=objective, solver_name=the_plan.solver)
            if checkpoint is not None and not by_files:
                raise ValueError(f"solver={the_plan.solver!r} solves in one go, with nothing to checkpoint or resume "
                                 "but a pass over files; checkpoints are for the iterative solvers, such as "
                                 "solver='gd' or solver='cg', and for the statistics of files")
            return _solve_direct(the_plan, objective, settings)
        solver = _make_solver(the_plan.solver, settings)
        start = None
        if resume is not None:
            continuation = read_checkpoint(resume, objective=objective, solver_name=solver.name,
                                           settings=_objective_settings(settings))
            _check_same_solver(continuation.solver, solver, settings)
            solver, start = continuation.solver, continuation.resume
            if settings.max_iter < start.state.k:
                raise ValueError(f"the checkpoint has made {start.state.k:,} updates, more than max_iter={settings.max_iter}; "
                                 f"max_iter counts them too: give one above {start.state.k} to go on")
        elif continuation is not None and _continues(continuation, objective, solver, settings):
            solver, start = continuation.solver, continuation.resume
            settings = replace(settings, max_iter=start.state.k + settings.max_iter)
        return _solve_iterative(the_plan, objective, theta0, settings, solver=solver, start=start, checkpoint=checkpoint)


def _objective_settings(settings: Settings) -> dict:
    """The settings that shape the objective: a checkpoint is resumed only with the same."""
    return {name: getattr(settings, name) for name in ("fit_intercept", "standardize", "alpha", "l1_ratio")}


def _run_settings(settings: Settings) -> dict:
    """The settings a checkpoint records beside a run: the objective's, and the run's budget."""
    return {"max_iter": settings.max_iter, "tol": settings.tol, **_objective_settings(settings)}


def _same_solver(recorded, solver, settings: Settings) -> tuple[str, object, object] | None:
    """The first hyper-parameter in which ``recorded`` (a run's solver) differs from ``solver`` (the
    settings'), as (name, recorded, asked); None where they agree (a drawn seed agrees with any)."""
    for item in fields(solver):
        if item.name == "random_state" and not isinstance(settings.random_state, Integral):
            continue
        if getattr(recorded, item.name) != getattr(solver, item.name):
            return item.name, getattr(recorded, item.name), getattr(solver, item.name)
    return None


def _check_same_solver(recorded, solver, settings: Settings) -> None:
    differs = _same_solver(recorded, solver, settings)
    if differs is not None:
        name, theirs, ours = differs
        raise ValueError(f"the checkpoint's run used {name}={theirs!r}, and this fit asks for {name}={ours!r}; "
                         f"resume with the run's own settings ({name}={theirs!r}) to finish it")


def _continues(continuation: Continuation, objective, solver, settings: Settings) -> bool:
    """Whether ``continuation`` is a run of ``solver`` on ``objective``'s data, so it can go on."""
    return (continuation.solver.name == solver.name and _same_solver(continuation.solver, solver, settings) is None
            and continuation.fingerprint == fingerprint(objective))


def partial_fit(
    X,  # validated ndarray or scipy.sparse
    y: ArrayLike,
    *,
    settings: Settings,
    stats: SufficientStats | None = None,
    sample_weight: ArrayLike | None = None,
    continuation: Continuation | None = None,
) -> FittedState:
    """Add the rows of (X, y) to a fit of earlier rows.

    Deterministic solvers: ``stats`` are the earlier rows' statistics (None: these are the first).
    One pass over the batch for its statistics, merged into ``stats`` exactly as the chunks of one fit
    are merged, then the settings' solver on the merged statistics alone. After any split of the rows
    into batches the answer is :func:`fit`'s on all of them, to the statistics' accuracy (no
    refinement passes: the earlier rows are gone; the state's ``error_bound`` says how close).

    Stochastic solvers (``sgd``, ``minibatch``, ``adam``): one more epoch over this batch, going on
    from ``continuation`` (the earlier calls' or fit's run: step count, schedule, moments, the row
    order's seed, and the coordinates of the first batch), as scikit-learn's ``partial_fit`` makes one
    epoch. So n calls on the same rows equal ``fit`` with ``max_iter=n``, ``tol=0``, bit for bit.

    Raises
    ------
    ValueError
        Data the statistics engine would stream (too wide for d × d statistics), for a deterministic
        solver: named, with what to do instead.
    """
    if settings.solver in STOCHASTIC_SOLVERS:
        state = _one_more_epoch(X, y, settings=settings, continuation=continuation, sample_weight=sample_weight)
        # The statistics of every row seen go on too, so that a deterministic partial_fit after these
        # epochs (or summary()) is of all of them.
        return replace(state, stats=state.stats if stats is None else stats.combined(state.stats))
    names = None
    if is_sparse(X) and X.shape[1] <= STATISTICS_MAX_FEATURES:
        # fit streams sparse data (never densified); a batch narrow enough has d × d statistics,
        # gathered a block of rows at a time.
        batch = sparse_statistics(X, np.asarray(y, dtype=np.float64), check_weights(sample_weight, X.shape[0]))
    else:
        the_plan = plan(X, y, sample_weight, solver=settings.solver, learning_rate=settings.learning_rate,
                        alpha=settings.alpha, l1_ratio=settings.l1_ratio)
        if the_plan.streams:
            raise ValueError(f"partial_fit adds each batch's d × d statistics to the model's, and these data are "
                             f"fitted without them ({the_plan.reason}); fit all the rows at once (the streaming "
                             f"engine reads them in passes, from files too)")
        with the_plan.threads():
            batch = the_plan.source.stats()
        names = the_plan.feature_names
    merged = batch if stats is None else stats.combined(batch)
    state = fit(GatheredSource(merged), settings=settings)
    return replace(state, n_passes=1, stats=merged, feature_names=names)  # this batch, read once


def _one_more_epoch(X, y, *, settings: Settings, continuation: Continuation | None,
                    sample_weight: ArrayLike | None) -> FittedState:
    """A stochastic solver's ``partial_fit``: one epoch over this batch, from where ``continuation`` stood."""
    the_plan = plan(X, y, sample_weight, solver=settings.solver, learning_rate=settings.learning_rate,
                    alpha=settings.alpha, l1_ratio=settings.l1_ratio)
    if the_plan.streams:
        # A sparse batch's epoch would run (fit does), but in the frame of this batch's own moments:
        # the next batches' epochs need the first batch's frame, which only the statistics objective takes.
        raise ValueError(
            f"partial_fit with solver={settings.solver!r} is not offered for this X ({the_plan.reason}): each batch "
            f"would be centred and scaled on its own; fit all the rows at once (its epochs walk a sparse X's "
            f"nonzeros), or give the batches dense"
        )
    going_on = continuation is not None and continuation.frame is not None and continuation.solver.name == settings.solver
    with the_plan.threads():
        objective = LeastSquares.from_source(the_plan.source, fit_intercept=settings.fit_intercept,
                                             standardize=settings.standardize, alpha=settings.alpha,
                                             l1_ratio=settings.l1_ratio,
                                             frame=continuation.frame if going_on else None)
        if not going_on:
            solver = _make_solver(the_plan.solver, settings)
            return _solve_iterative(the_plan, objective, np.zeros(objective.n_params),
                                    replace(settings, max_iter=1, tol=0.0), solver=solver, start=None, checkpoint=None)
        previous = continuation.resume
        # The state goes on; its loss and gradient are this batch's (what the epoch's schedule compares).
        loss, grad, grad_norm = evaluate(objective, previous.state.theta)
        start = Resume(replace(previous.state, loss=loss, grad=grad, grad_norm=grad_norm), None, previous.history)
        return _solve_iterative(the_plan, objective, previous.state.theta,
                                replace(settings, max_iter=previous.state.k + 1, tol=0.0),
                                solver=continuation.solver, start=start, checkpoint=None)


def _objective(the_plan: Plan, settings: Settings) -> LeastSquares | StreamingLeastSquares:
    """The least-squares objective over the plan's source, in the coordinates the solver steps in."""
    penalty = {"fit_intercept": settings.fit_intercept, "standardize": settings.standardize, "alpha": settings.alpha,
               "l1_ratio": settings.l1_ratio}
    if the_plan.streams:
        return StreamingLeastSquares(the_plan.source, **penalty)
    direct = the_plan.solver in DIRECT_SOLVERS
    # `standardize` chooses the coordinates a gradient method steps in. The direct solve is
    # always made in the standardized ones, where G is best conditioned (raw columns with
    # large means couple the intercept to every slope); its answer is the same least-squares
    # solution (for rank-deficient data, the minimum norm is in units of the columns' spreads).
    return LeastSquares.from_source(the_plan.source, **{**penalty, "standardize": penalty["standardize"] or direct},
                                    iterative=not direct)


def _initial_theta(objective, coef: NDArray[np.float64] | None, intercept: float | None) -> NDArray[np.float64]:
    """θ₀ from checked starting values (see :func:`~gradfit.validation.check_initial`): zeros in the
    optimised coordinates by default, and the intercept that goes with ``coef`` at θ = 0 where only
    the coefficients are given."""
    if coef is None and intercept is None:
        return np.zeros(objective.n_params)
    default_coef, default_intercept = objective.frame.to_model(np.zeros(objective.n_params))
    return objective.frame.from_model(default_coef if coef is None else coef,
                                      default_intercept if intercept is None else intercept)


def _solve_direct(the_plan: Plan, objective: LeastSquares, settings: Settings) -> FittedState:
    solution = solve_direct(objective, the_plan.source, tol=settings.tol, alpha=settings.alpha,
                            fit_intercept=settings.fit_intercept)
    path = path_iterations = None
    if settings.record_path:
        models = [objective.frame.to_model(theta) for theta in solution.path]
        path = np.array([[intercept_k, *coef_k] for coef_k, intercept_k in models])
        path_iterations = np.arange(len(solution.path))
    return FittedState(
        coef=solution.coef, intercept=solution.intercept, n_iter=len(solution.history.loss), history=solution.history,
        converged=solution.settled or solution.within_tol,
        status="exact" if solution.settled else ("tol" if solution.within_tol else "precision"), message=solution.message,
        final_loss=solution.final_loss, learning_rate=None, lipschitz=objective.lipschitz,
        condition_number=objective.condition_number if objective.condition_number_known else None,
        engine=the_plan.engine, solver=the_plan.solver, n_passes=solution.n_passes,
        error_bound=solution.error_estimate, path=path, path_iterations=path_iterations, stats=objective.stats,
        n_features=the_plan.source.n_features, feature_names=the_plan.feature_names,
        warnings=[(message, "convergence") for message in solution.warnings],
    )


def _solve_iterative(the_plan: Plan, objective, theta0: NDArray[np.float64], settings: Settings, *, solver,
                     start: Resume | None, checkpoint: CheckpointFile | None) -> FittedState:
    record = settings.record_path
    capacity = (DEFAULT_PATH_POINTS if record is True else int(record)) if record else None
    if checkpoint is not None:
        checkpoint.bind(solver=solver, objective=objective, settings=_run_settings(settings))
    result = minimize(objective, solver, theta0, max_iter=settings.max_iter, tol=settings.tol, record_path=capacity,
                      start=start, checkpoint=checkpoint)
    frame = objective.frame
    coef, intercept = frame.to_model(result.theta)
    path = path_iterations = None
    if result.path is not None:
        models = [frame.to_model(theta) for theta in result.path]
        path = np.array([[intercept_k, *coef_k] for coef_k, intercept_k in models])
        path_iterations = result.path_iterations
    loss_scale = frame.loss_scale
    with np.errstate(over="ignore"):
        final_loss = float(result.final_loss * loss_scale)
    learning_rate = solver.step_size(objective) if solver.step_size is not None else None
    message = result.message
    if objective.streaming:
        # Estimated only when the solver needed them (a few passes); cg and lbfgs do not.
        known = objective.curvature_known
        lipschitz = objective.lipschitz if known else None
        condition_number = objective.condition_number if known else None
        n_passes = objective.passes
        message = f"{message}; {objective.passes} passes over X ({the_plan.reason})"
    else:
        lipschitz = objective.lipschitz
        condition_number = objective.condition_number if objective.condition_number_known else None
        # the statistics' pass (and the double-double one), and the stochastic solvers' scans of the rows
        n_passes = (1 if objective.extended is None else 2) + objective.row_passes
    raised = []
    if result.status in ("max_iter", "floor", "stalled") and settings.tol > 0:
        raised = [(_convergence_advice(result, solver=the_plan.solver, condition_number=condition_number,
                                       settings=settings), "convergence")]
    elif result.status == "interrupted":
        raised = [(result.message, "interrupted")]
    return FittedState(
        coef=coef, intercept=intercept, n_iter=result.n_iter, history=result.history.scaled(loss_scale),
        converged=result.converged, status=result.status, message=message, final_loss=final_loss,
        learning_rate=learning_rate, lipschitz=lipschitz, condition_number=condition_number, engine=the_plan.engine,
        solver=the_plan.solver, n_passes=n_passes, error_bound=result.error_bound, path=path,
        path_iterations=path_iterations, stats=objective.stats, n_features=the_plan.source.n_features,
        feature_names=the_plan.feature_names, warnings=raised,
        continuation=Continuation(result.resume, solver, fingerprint(objective), objective.frame),
    )


def _make_solver(name: str, settings: Settings):  # a registered solver
    """The registered solver with the hyper-parameters of these settings that it takes (whether it
    takes the learning rate was checked with the plan, see :func:`~gradfit.validation.check_compatibility`)."""
    cls = SOLVERS[name]
    takes = {field.name for field in fields(cls)}
    options: dict = {}
    if "learning_rate" in takes:
        options["learning_rate"] = settings.learning_rate
    chosen = {"momentum": settings.momentum, "batch_size": settings.batch_size, "schedule": settings.schedule}
    options.update({key: value for key, value in chosen.items() if key in takes and value is not None})
    if "random_state" in takes:
        options["random_state"] = _seed(settings.random_state)
    return cls(**options)


def _seed(random_state) -> int:  # int, RandomState or None
    """An integer seed: an int is used as given (same seed, same iterates); otherwise one is drawn
    (from numpy's global RandomState for None, as scikit-learn's ``check_random_state`` gives it)."""
    if isinstance(random_state, Integral):
        return int(random_state)
    generator = np.random.mtrand._rand if random_state is None else random_state
    return int(generator.randint(np.iinfo(np.int32).max))


def _convergence_advice(result, *, solver: str, condition_number: float | None, settings: Settings) -> str:  # the driver's Result
    """The warning for a run that stopped short of ``tol``: what it reached, and what would get there."""
    direct = "solver='auto' (the least-squares solution, directly)"
    if result.status == "floor":
        if not np.isfinite(result.error_floor):  # a coefficient the floor could put at 0
            return f"{solver}: {result.message}. Use {direct}."
        looser = 10.0 ** np.ceil(np.log10(max(result.error_floor, np.finfo(np.float64).tiny)))
        return f"{solver}: {result.message}. Use {direct}, or a tol of {looser:.0e} or more."
    if solver in STOCHASTIC_SOLVERS:
        # More epochs at the same steps do not help: the error settles at the noise of the sampled gradients.
        return (f"{solver}: {result.message}. Use {direct}; a stochastic solver's error settles where the noise "
                "of its sampled gradients keeps it, so more epochs help only with steps that shrink "
                "(schedule='invscaling') or larger batches (solver='minibatch', batch_size)")
    advice = f"{solver}: {result.message}. Use {direct}, or raise max_iter"
    kappa = condition_number
    if kappa is not None and np.isfinite(kappa) and kappa > 1e3 and solver == "gd" and np.isfinite(result.error_bound):
        updates = kappa * np.log(max(result.error_bound, 1.0) / settings.tol)
        advice += (
            f" (the problem is ill-conditioned, condition number of XᵀX/m ≈ {kappa:.3g}: gradient descent needs "
            f"about κ·ln(error/tol) ≈ {updates:.3g} more updates at learning_rate='auto', max_iter={int(settings.max_iter + updates)})"
        )
    elif settings.learning_rate != "auto" and solver in ("gd", "momentum", "nesterov"):
        advice += ", or raise the learning rate (up to learning_rate='auto')"
    return advice + "."


@dataclass(frozen=True)
class OptimumGap:
    """How far a fitted model is from the exact least-squares optimum (see ``solve_exact``).

    Attributes
    ----------
    coef_optimum : ndarray of shape (d,)
    intercept_optimum : float
    coef_error : float
        ``‖coef − coef*‖ / ‖coef*‖`` (absolute when ``coef* = 0``).
    intercept_error : float
        ``|intercept − intercept*|``.
    loss_gap : float
        ``J(model) − J(optimum)`` in the target's units (``½ mean squared residual``).
    """

    coef_optimum: NDArray[np.float64]
    intercept_optimum: float
    coef_error: float
    intercept_error: float
    loss_gap: float

    @classmethod
    def between(cls, coef: NDArray[np.float64], intercept: float, coef_opt: NDArray[np.float64], intercept_opt: float,
                loss) -> OptimumGap:
        """The gap from (coef, intercept) to the optimum, ``loss(coef, intercept)`` giving J."""
        norm = float(np.linalg.norm(coef_opt))
        error = float(np.linalg.norm(coef - coef_opt))
        return cls(coef_optimum=coef_opt, intercept_optimum=intercept_opt,
                   coef_error=error / norm if norm > 0 else error, intercept_error=abs(intercept - intercept_opt),
                   loss_gap=loss(coef, intercept) - loss(coef_opt, intercept_opt))


def distance_on_device(source, coef: NDArray[np.float64], intercept: float, *, fit_intercept: bool,
                       standardize: bool) -> OptimumGap:  # ArraySource
    """:func:`distance_to_optimum` for rows on a device: the optimum by the exact fit there (statistics,
    refinement and QR factor, all on the device), each loss from one pass (``residual_pass``)."""
    optimum = fit(source, None, settings=Settings(solver="exact", fit_intercept=fit_intercept, standardize=standardize))
    coef_opt, intercept_opt = optimum.coef, float(optimum.intercept)

    def loss(c: NDArray[np.float64], b: float) -> float:
        squares, _, _ = source.residual_pass(np.asarray(c, dtype=np.float64), float(b), 1.0)
        return squares / (2.0 * source.n_samples)

    return OptimumGap.between(coef, intercept, coef_opt, intercept_opt, loss)


def distance_to_optimum(
    X: NDArray[np.float64], y: NDArray[np.float64], coef: NDArray[np.float64], intercept: float, *,
    fit_intercept: bool, standardize: bool,
) -> OptimumGap:
    """How far ``coef``, ``intercept`` are from the exact least-squares fit of validated (X, y)
    (the minimum norm in units of the columns' spreads when ``standardize``)."""
    unit = column_unit(X) if standardize else None
    coef_opt, intercept_opt = solve_exact(X, y, fit_intercept=fit_intercept, column_unit=unit)
    return OptimumGap.between(coef, intercept, coef_opt, intercept_opt, lambda c, b: least_squares_cost(X, y, c, b))
