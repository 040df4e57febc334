"""LinearRegression: the scikit-learn facade. Validates at the edge, builds the objective, calls the
driver, and stores the results on the original feature scale."""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, fields, replace
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from gradfit.cost import least_squares_cost as _cost
from gradfit.driver import minimize
from gradfit.errors import DataError
from gradfit.history import History
from gradfit.objective import DENSE_SPECTRUM_MAX, LeastSquares, StreamingLeastSquares
from gradfit.schedules import SCHEDULES
from gradfit.solvers import SOLVERS
from gradfit.solvers.direct import ACCURACY_TARGET, REFINED_FLOOR, qr_preconditioner, solve_from_statistics
from gradfit.solvers.exact import solve_exact, solve_exact_counted
from gradfit.solvers.gd import LINE_SEARCHES
from gradfit.sources import InMemorySource, Source, as_source, is_dask_collection, power_of_two_scale
from gradfit.sources import streaming
from gradfit.sources.streaming import StreamingSource, streaming_reason

if TYPE_CHECKING:
    from gradfit.summary import ModelSummary

__all__ = ["LinearRegression", "OptimumGap"]

#: Solvers that run without iterating.
DIRECT_SOLVERS = ("exact",)
#: Solvers that draw random rows, which only an in-memory source can give.
STOCHASTIC_SOLVERS = ("sgd", "minibatch", "adam")
#: Iterates kept by ``record_path=True`` (evenly thinned over longer runs).
DEFAULT_PATH_POINTS = 2000
#: Solvers with a proximal step, so they can honour an L1 penalty.
L1_SOLVERS = tuple(name for name, cls in SOLVERS.items() if cls.supports_l1)


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


class LinearRegression(RegressorMixin, BaseEstimator):
    """Least-squares linear regression fitted by gradient descent, with an exact solver beside it.

    Minimises ``J(coef, intercept) = Σ (x_i·coef + intercept − y_i)² / 2m``.

    Parameters
    ----------
    solver : str, default="auto"
        ``"auto"``: the least-squares answer, the fastest way to it (``solver_`` says which ran):
        ``"exact"`` wherever there are d × d statistics (in memory, files, Dask), ``"cg"`` on the
        streaming engine (sparse or very wide X), ``"nesterov"`` with an L1 penalty. ``"exact"``:
        solved from the statistics, refined by accurate passes over the rows where the condition
        number calls for it, to the float64 limit (see :mod:`gradfit.solvers.direct`; rows in memory
        that the normal equations cannot resolve fall back to QR with refinement; minimum-norm when
        rank-deficient). ``"gd"``: gradient descent, ``θ ← θ − α ∇J(θ)`` (proximal with L1), the
        article's method. ``"momentum"`` (heavy ball), ``"nesterov"`` (FISTA with L1), ``"cg"``,
        ``"lbfgs"``: accelerated and quasi-Newton methods on the same objective. ``"sgd"``,
        ``"minibatch"``, ``"adam"``: stochastic, one update of the history per epoch.
    learning_rate : float > 0, "auto", "armijo" or "line_search", default="auto"
        The step α in the coordinates being optimised (standardized ones when ``standardize``).
        ``"auto"`` is ``1/L``, ``L`` the largest eigenvalue of ``XᵀX/m`` in those coordinates (for
        ``"momentum"`` Polyak's step; for ``"nesterov"`` with ``momentum=None``, no L1 and μ > 0,
        ``4/(3L + μ)`` with its matching momentum, the fastest constant tuning on a quadratic); for
        gradient descent any constant
        ``α < 2/L`` converges and larger ones raise :class:`DivergenceError`. For ``"gd"``,
        ``"armijo"`` backtracks and ``"line_search"`` takes the exact minimising step.
    max_iter : int ≥ 1, default=10_000
        Most updates of an iterative solver. Reaching it before ``tol`` raises a ``ConvergenceWarning``.
    tol : float ≥ 0, default=1e-8
        An iterative run has converged when every coefficient and the intercept are within ``tol``
        of the least-squares answer, relatively (on the streaming engine and with L1: the whole
        coefficient vector, in norm). The error is computed (``G⁺∇J(θ)`` on a quadratic) with the
        rounding floors added, so a run that cannot certify ``tol`` stops at its floor and says so.
        ``0`` runs all ``max_iter`` updates, as the article does.
    standardize : bool, default=True
        Optimise over centred (when ``fit_intercept``) and unit-variance features and target, then
        map the coefficients back. ``False`` runs on the raw design with a column of ones, as the
        article does; its step sizes then depend on the data's units.
    fit_intercept : bool, default=True
        Whether to fit an intercept (it is never penalised, and is an iterated parameter).
    alpha : float ≥ 0, default=0
        Penalty strength, in scikit-learn's ElasticNet convention (``Ridge(alpha=a)`` is ``a/m`` here).
    l1_ratio : float in [0, 1], default=0
        Share of L1 in the penalty: 0 ridge, 1 lasso. L1 needs a proximal solver (gd, nesterov, sgd, minibatch).
    momentum : float in [0, 1) or None
        Momentum of "momentum"/"nesterov"; None derives it from L and μ.
    batch_size : int or None
        Rows per update of the stochastic solvers (sgd: 1, minibatch/adam: 64 by default).
    schedule : {"constant", "invscaling", "adaptive"} or None
        Step schedule of the stochastic solvers (per epoch; invscaling for sgd/minibatch, constant for adam).
    random_state : int, RandomState or None
        Seed of the stochastic solvers' row order: the same int gives the same result.
    record_path : bool or int, default=False
        Keep the iterates (up to 2000, or this many, evenly thinned) in ``path_`` for plots.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Updates made; for ``"exact"``, its solves (the one from the statistics, then one per
        refinement correction).
    loss_history_ : ndarray of shape (n_iter_,)
        ``loss_history_[i]`` is the cost ``Σ r²/2m`` (target's units) before update ``i + 1``.
    history_ : History
        Loss, gradient norm (optimised coordinates) and step size per update.
    converged_ : bool
        Whether the coefficients are the least-squares answer to ``tol`` (to the float64 limit for
        ``"exact"``).
    error_bound_ : float
        The largest relative error of a coefficient or the intercept that the fit certifies (inf
        where it cannot bound it; nan for a ``tol=0`` streaming run, which does not pay for μ). On
        the streaming engine and with an L1 penalty, the relative error of the coefficient vector
        as a whole, in standardized units: without the d × d statistics the error of one
        coefficient is not known. For the direct solver, its estimate (refined answers: at least
        64ε, since a weak direction of G can hide a few tens of ulps from every correction).
    status_ : str
        ``"exact"``, ``"tol"``, ``"floor"`` (stopped at its rounding floor, above ``tol``),
        ``"max_iter"``, ``"precision"`` (the direct solve could not settle: files or Dask data too
        ill-conditioned for the normal equations), ``"callback"`` or ``"interrupted"``.
    message_ : str
        Why the fit stopped, with figures.
    final_loss_ : float
        Cost at the returned coefficients (target's units).
    learning_rate_ : float or None
        The step the run started with (optimised coordinates); None for ``"exact"``. Each update's
        step is in ``history_.step_size`` (line searches, and momentum methods on the streaming engine
        that found L underestimated, change it).
    lipschitz_ : float or None
        ``L``, the largest eigenvalue of ``XᵀX/m`` in the optimised coordinates (2/L is the stable bound).
    condition_number_ : float or None
        ``λmax/λmin`` of that matrix; gradient descent needs about ``κ·ln(1/tol)`` updates.
        (Streaming engine: estimated by a few Lanczos steps, and None when the solver needed neither.
        Statistics engine with more than 1024 parameters: None unless the solver computed G's
        eigendecomposition anyway, as ``"exact"`` does; it costs O(p³).)
    engine_ : str
        ``"statistics"`` (one pass gathers ``XᵀX``-sized sums, then O(d²) per update) or
        ``"streaming"`` (sparse or very wide X: one fused pass over X per update; ``message_`` says why).
    n_passes_ : int
        Passes made over X (statistics engine: 1, plus one per refinement pass of ``"exact"``, one
        for double-double statistics, or the QR's).
    path_ : ndarray of shape (n_points, 1 + n_features)
        With ``record_path``: ``[intercept, *coef]`` at kept iterates, in the user's units.
    path_iterations_ : ndarray of shape (n_points,)
        The iteration number of each row of ``path_`` (0 is the start; the last is the final model).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    Examples
    --------
    >>> from gradfit import LinearRegression
    >>> from gradfit.datasets import make_article_data
    >>> X, y = make_article_data(seed=0)
    >>> model = LinearRegression().fit(X, y)
    >>> round(float(model.coef_[0]), 2), model.converged_
    (2.1, True)
    """

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS) | set(DIRECT_SOLVERS) | {"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto", *LINE_SEARCHES})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "standardize": ["boolean"],
        "fit_intercept": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "momentum": [Interval(Real, 0, 1, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "schedule": [StrOptions(set(SCHEDULES)), None],
        "random_state": ["random_state"],
        "record_path": ["boolean", Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        solver: str = "auto",
        *,
        learning_rate: float | str = "auto",
        max_iter: int = 10_000,
        tol: float = 1e-8,
        standardize: bool = True,
        fit_intercept: bool = True,
        alpha: float = 0.0,
        l1_ratio: float = 0.0,
        momentum: float | None = None,
        batch_size: int | None = None,
        schedule: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        record_path: bool | int = False,
    ) -> None:
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.momentum = momentum
        self.batch_size = batch_size
        self.schedule = schedule
        self.random_state = random_state
        self.record_path = record_path

    def fit(
        self,
        X: ArrayLike | Source,
        y: ArrayLike | None = None,
        coef_init: ArrayLike | None = None,
        intercept_init: float | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> "LinearRegression":
        """Fit the model.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features), a Dask array or DataFrame, or a :class:`~gradfit.sources.Source`
            Sparse X (CSR/CSC), and dense X with more than 4,096 columns or whose d × d statistics would
            not fit in memory, are fitted by streaming passes (see ``engine_``). A Dask collection is
            reduced on its cluster. A source (for example files streamed in batches) carries its own
            target: then no ``y``.
        y : array-like of shape (n_samples,)
        coef_init : array-like of shape (n_features,), optional
            Starting coefficients (user's units); zeros in the optimised coordinates by default.
        intercept_init : float, optional
            Starting intercept; by default the one that goes with ``coef_init`` at θ = 0
            (the mean of y when standardizing, 0 otherwise).
        sample_weight : array-like of shape (n_samples,) or float, optional
            Non-negative row weights: the loss becomes ``Σ w_i r_i² / 2Σw`` (weighted least squares).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad parameters or data (NaN/inf, empty, mismatched lengths, 1-D X, bad ``coef_init`` or
            ``sample_weight``, an L1 penalty with a solver that cannot honour it).
        DivergenceError
            When the loss grows without bound; the message gives the largest stable learning rate.
        """
        self._validate_params()
        engine_chosen = False  # for in-memory X, _in_memory_source chooses (and checks memory) once
        if isinstance(X, Source):
            source = self._check_source(X, y, sample_weight)
        elif is_dask_collection(X):
            # A Dask array or DataFrame: as_source wraps it in a DaskSource, checked and reduced on the
            # workers block by block (validate_data would compute it into memory here).
            source = self._check_source(as_source(X, y, sample_weight), None, None)
        else:
            # NaN/inf in X are found by the source's own pass (the statistics propagate them), which
            # names the row and column; a separate check would read X once more.
            y = _refuse_non_numeric(X, y)
            X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64, y_numeric=True,
                                 ensure_min_samples=1, ensure_all_finite=False)
            source = self._in_memory_source(X, y, _check_weights(sample_weight, X.shape[0]))
            engine_chosen = True
        # The streaming engine's own threads are the parallelism. BLAS threads woken by the solver's
        # vector products would spin between passes and take the cores from the pass's threads
        # (1,000,000 × 100,000 sparse cg: 1.78 s, 1.32 s with BLAS single-threaded).
        single_blas = threadpool_limits(limits=1, user_api="blas") if isinstance(source, StreamingSource) else nullcontext()
        with single_blas:
            raised = self._fit_objective(source, coef_init, intercept_init, engine_chosen=engine_chosen)
        for message, category in raised:
            warnings.warn(message, category, stacklevel=2)
        return self

    def _in_memory_source(self, X, y: NDArray[np.float64], weight: NDArray[np.float64] | None) -> Source:  # noqa: ANN001
        """The engine for validated in-memory data: sufficient statistics, or streaming passes when X is
        sparse or too wide for a d × d matrix (``engine_`` and ``message_`` say which, and why)."""
        self._engine_reason = streaming_reason(X)
        if self._engine_reason is None:
            return as_source(X, y, weight)
        if self.solver in STOCHASTIC_SOLVERS:
            raise ValueError(
                f"solver={self.solver!r} is not offered for this X ({self._engine_reason}); use 'auto', 'cg', "
                f"'nesterov', 'gd', 'momentum' or 'lbfgs', which read X in fused passes"
            )
        needed, available = streaming.streaming_bytes(X.shape[1]), streaming.available_memory()
        if available is not None and needed > available:  # even d-vectors do not fit: a mistyped width?
            raise DataError(
                f"X has {X.shape[1]:,} columns: a fit needs about {needed / 1e9:.3g} GB for its d-vectors, more "
                f"than the {available / 1e9:.3g} GB available; check the number of columns"
            )
        return StreamingSource(X, y, weight)

    def _check_source(self, source: Source, y, sample_weight) -> Source:  # noqa: ANN001
        """Validate a :class:`~gradfit.sources.Source` given as X (a file or directory streamed in batches, ...)."""
        if y is not None or sample_weight is not None:
            raise ValueError(
                "a Source carries its own target (and weights): call fit(source) without y or sample_weight"
            )
        if self.solver in STOCHASTIC_SOLVERS and not isinstance(source, InMemorySource):
            raise ValueError(
                f"solver={self.solver!r} draws random rows, which a streamed source cannot give; use 'cg', "
                f"'nesterov', 'gd', 'exact' or 'auto'"
            )
        self.n_features_in_ = source.n_features
        names = getattr(source, "feature_names", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return source

    def _fit_objective(self, source: Source, coef_init, intercept_init, *, engine_chosen: bool) -> list[tuple[str, type[Warning]]]:  # noqa: ANN001
        """Fit on ``source``; returns the warnings for :meth:`fit` to raise at the caller's line.

        ``engine_chosen``: :meth:`_in_memory_source` has already chosen between the engines (and set
        ``_engine_reason``); other sources are chosen for here."""
        has_l1 = self.alpha > 0 and self.l1_ratio > 0
        if has_l1 and self.solver in SOLVERS and not SOLVERS[self.solver].supports_l1 or has_l1 and self.solver == "exact":
            raise ValueError(
                f"solver={self.solver!r} cannot honour an L1 penalty (alpha={self.alpha}, l1_ratio={self.l1_ratio}); "
                f"use one of {', '.join(repr(name) for name in L1_SOLVERS)} or 'auto', or set l1_ratio=0 (ridge)"
            )
        if self.learning_rate in LINE_SEARCHES and self.solver != "gd":
            raise ValueError(
                f"learning_rate={self.learning_rate!r} is a step policy of solver='gd'; solver={self.solver!r} "
                f"takes a number or 'auto'"
            )
        penalty = {"fit_intercept": self.fit_intercept, "standardize": self.standardize, "alpha": self.alpha,
                   "l1_ratio": self.l1_ratio}
        streams = isinstance(source, StreamingSource)
        if not engine_chosen:
            # Checked before any d × d allocation: rather than an out-of-memory crash, a source that can
            # serve streaming passes (a Dask cluster, or files scanned once per update) streams.
            shortfall = streaming.statistics_shortfall(source.n_features)
            if shortfall is not None and not hasattr(source, "residual_pass"):  # a third-party Source
                raise DataError(f"{shortfall}; select fewer feature columns, or give X as a scipy.sparse matrix")
            streams = shortfall is not None
            self._engine_reason = f"{shortfall}: switched to streaming passes over the data" if streams else None
        if streams and self.solver == "exact":
            raise ValueError(
                f"solver='exact' needs the d × d statistics, but {self._engine_reason}; use solver='auto' "
                f"(conjugate gradients, one pass over X per update) or 'cg'"
            )
        solver_name = self._resolve_solver(streams=streams)
        if solver_name in DIRECT_SOLVERS and self.learning_rate != "auto":
            raise ValueError(
                f"learning_rate={self.learning_rate!r} is the step of a gradient method, but solver={self.solver!r} "
                "solves for the least-squares answer directly; pass solver='gd' for gradient descent (the "
                "article's method), or leave learning_rate='auto'"
            )
        if streams:
            objective = StreamingLeastSquares(source, **penalty)
        else:
            direct = solver_name in DIRECT_SOLVERS
            # `standardize` chooses the coordinates a gradient method steps in. The direct solve is
            # always made in the standardized ones, where G is best conditioned (raw columns with
            # large means couple the intercept to every slope); its answer is the same least-squares
            # solution (for rank-deficient data, the minimum norm is in units of the columns' spreads).
            objective = LeastSquares.from_source(source, **{**penalty, "standardize": penalty["standardize"] or direct},
                                                 iterative=not direct)
        self.engine_ = "streaming" if streams else "statistics"
        self.solver_ = solver_name
        # Checked whatever the solver: the direct one has no use for a start, but a bad one is still an error.
        theta0 = self._initial_theta(objective, coef_init, intercept_init, source.n_features)
        if self.solver_ in DIRECT_SOLVERS:
            raised = self._fit_direct(source, objective)
            self._keep_statistics(objective)
            return raised
        solver = self._make_solver(self.solver_)
        capacity = (DEFAULT_PATH_POINTS if self.record_path is True else int(self.record_path)) if self.record_path else None
        result = minimize(objective, solver, theta0, max_iter=self.max_iter, tol=self.tol, record_path=capacity)
        coef, intercept = objective.frame.to_model(result.theta)
        if result.path is not None:
            models = [objective.frame.to_model(theta) for theta in result.path]
            self.path_ = np.array([[intercept_k, *coef_k] for coef_k, intercept_k in models])
            self.path_iterations_ = result.path_iterations
        loss_scale = objective.frame.loss_scale
        self.coef_, self.intercept_ = coef, intercept
        self._keep_statistics(objective)
        self.n_iter_ = result.n_iter
        self.history_: History = result.history.scaled(loss_scale)
        self.loss_history_ = self.history_.loss
        self.converged_ = result.converged
        self.status_ = result.status
        self.message_ = result.message
        with np.errstate(over="ignore"):
            self.final_loss_ = float(result.final_loss * loss_scale)
        self.learning_rate_ = solver.step_size(objective) if solver.step_size is not None else None
        if objective.streaming:
            # Estimated only when the solver needed them (a few passes); cg and lbfgs do not.
            known = "spectrum_estimate" in objective.__dict__
            self.lipschitz_ = objective.lipschitz if known else None
            self.condition_number_ = objective.condition_number if known else None
            self.n_passes_ = objective.passes
            self.message_ = f"{self.message_}; {objective.passes} passes over X ({self._engine_reason})"
        else:
            self.lipschitz_ = objective.lipschitz
            self.condition_number_ = _condition_number(objective)
            self.n_passes_ = 1 if objective.extended is None else 2
        self.error_bound_ = result.error_bound
        if result.status in ("max_iter", "floor") and self.tol > 0:
            return [(self._convergence_advice(result), ConvergenceWarning)]
        if result.status == "interrupted":
            return [(result.message, UserWarning)]
        return []

    def _resolve_solver(self, *, streams: bool) -> str:
        """The solver to run; for ``"auto"``, the fastest way to the least-squares answer.

        With the statistics gathered (dense data, in memory, in files or on a cluster) that is the
        direct solve: O(p³) on the statistics, then refinement passes over the rows only where the
        condition number calls for them (:func:`~gradfit.solvers.direct.solve_from_statistics`).
        An L1 penalty has no direct solution: Nesterov's method (FISTA), to ``tol``. Without
        statistics (sparse or very wide X, the streaming engine): conjugate gradients, one pass an
        update, to ``tol``.
        """
        if self.solver != "auto":
            return self.solver
        if self.alpha > 0 and self.l1_ratio > 0:
            return "nesterov"
        if streams:
            return "cg"  # one pass an update, and the fewest updates on a smooth problem
        return "exact"

    def _make_solver(self, name: str):
        """The registered solver with the hyperparameters of this estimator that it takes."""
        cls = SOLVERS[name]
        takes = {field.name for field in fields(cls)}
        options: dict = {}
        if "learning_rate" in takes:
            options["learning_rate"] = self.learning_rate
        elif self.learning_rate != "auto":
            raise ValueError(
                f"solver={name!r} finds its own steps by exact line search; leave learning_rate='auto' "
                f"(got {self.learning_rate!r})"
            )
        chosen = {"momentum": self.momentum, "batch_size": self.batch_size, "schedule": self.schedule}
        options.update({key: value for key, value in chosen.items() if key in takes and value is not None})
        if "random_state" in takes:
            options["random_state"] = _seed(self.random_state)
        return cls(**options)

    def _keep_statistics(self, objective) -> None:  # noqa: ANN001 - LeastSquares or StreamingLeastSquares
        """Keep the fit's statistics for :meth:`summary`, with its coefficients (never before: a fit that
        fails keeps the table of the coefficients it leaves), and drop a table read from a file."""
        self._stats = objective.stats
        self._saved_summary = None

    def _fit_direct(self, source: Source, objective: LeastSquares) -> list[tuple[str, type[Warning]]]:
        """The least-squares answer from the statistics, refined by passes over the rows where the
        condition number calls for it (see :mod:`gradfit.solvers.direct`). Where the normal
        equations cannot resolve the data, rows in memory are solved by QR instead: with refinement
        on the augmented system (``solve_exact``) when unweighted and unpenalised, else refined with
        a QR factor of the rows in place of G. Files and Dask collections say what they reached.

        Its record reads like an iterative run's: update 1 is the solve from the statistics (from
        θ = 0), each further update a refinement's correction, the loss recorded before each."""
        started = time.perf_counter()
        target = min(ACCURACY_TARGET, self.tol) if self.tol > 0 else ACCURACY_TARGET
        frame = objective.frame
        in_memory = isinstance(source, InMemorySource)
        solution = solve_from_statistics(objective, target=target, trust_collinearity=not in_memory)
        passes = 1 + solution.passes
        raised: list[tuple[str, type[Warning]]] = []
        if solution.passes == 0:
            how = (f"least-squares solution from the statistics (one pass over the data; estimated relative error "
                   f"≤ {solution.error_estimate:.1g})")
        else:
            how = (f"least-squares solution from the statistics, refined by {solution.passes} accurate "
                   f"pass{'es' if solution.passes > 1 else ''} over the data (estimated relative error "
                   f"≤ {solution.error_estimate:.1g})")
        theta_final = None  # the answer in θ's coordinates, where another method than the statistics' gave it

        def reason() -> str:
            # Only where the solve did not settle: κ needs the full spectrum, O(p³) past DENSE_SPECTRUM_MAX.
            collinear = ", nearly collinear columns" if objective.unresolved_directions else ""
            return (f"the normal equations cannot resolve these data (condition number of XᵀX/m ≈ "
                    f"{objective.condition_number:.3g}{collinear})")
        if not solution.settled and in_memory:
            X, y = source.arrays()
            if self.alpha == 0:
                # Minimum norm (rank-deficient data) in units of the columns' spreads, as the statistics' G⁺.
                unit = frame.x_unit * frame.x_scale
                coef, intercept, qr_passes = solve_exact_counted(X, y, fit_intercept=self.fit_intercept, column_unit=unit,
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
        if not solution.settled:
            error = solution.error_estimate
            digits = f"about {max(-np.log10(error), 0.0):.0f}" if 0 < error < 1 else "no"
            how = f"solved from the statistics to {digits} correct digits, short of the float64 limit: {reason()}"
            remedy = ("drop or combine nearly collinear features" if in_memory else
                      "drop or combine nearly collinear features, or fit the rows in memory, where QR resolves more")
            raised.append((
                f"the least-squares answer could be resolved to {digits} significant digits (estimated relative error "
                f"{error:.2g}): {reason()}. To get the answer, {remedy}.",
                ConvergenceWarning,
            ))
        self.coef_, self.intercept_ = solution.coef, solution.intercept
        with np.errstate(over="ignore"):
            if solution.final_loss is not None and theta_final is None:
                final = solution.final_loss  # from the last pass: accurate where the residual is small
            else:
                final = objective.loss_grad(theta_final if theta_final is not None else frame.from_model(self.coef_, self.intercept_))[0]
            self.final_loss_ = float(max(final, 0.0) * frame.loss_scale)
        # Before the solve from the statistics, θ = 0: J(0) = c/2 and ∇J(0) = −b.
        updates = solution.corrections
        losses = [0.5 * objective.c, *solution.losses[:updates]]
        gradient_norms = [float(np.linalg.norm(objective.b)), *solution.gradient_norms[:updates]]
        elapsed = time.perf_counter() - started
        self.history_ = History(np.array(losses), np.array(gradient_norms), np.ones(len(losses)),
                                np.linspace(0.0, elapsed, len(losses))).scaled(frame.loss_scale)
        self.loss_history_ = self.history_.loss
        self.n_iter_ = len(losses)
        if self.record_path:
            thetas = [np.zeros(objective.n_params), *solution.path[: updates + 1]]
            if theta_final is not None:
                thetas.append(theta_final)
            models = [frame.to_model(theta) for theta in thetas]
            self.path_ = np.array([[intercept_k, *coef_k] for coef_k, intercept_k in models])
            self.path_iterations_ = np.arange(len(thetas))
        self.n_passes_ = passes
        self.converged_ = solution.settled
        self.error_bound_ = solution.error_estimate
        self.status_ = "exact" if solution.settled else "precision"
        self.message_ = how
        self.learning_rate_ = None
        self.lipschitz_ = objective.lipschitz
        self.condition_number_ = _condition_number(objective)
        return raised

    def _initial_theta(self, objective: LeastSquares, coef_init, intercept_init, n_features: int) -> NDArray[np.float64]:
        if coef_init is None and intercept_init is None:
            return np.zeros(objective.n_params)
        default_coef, default_intercept = objective.frame.to_model(np.zeros(objective.n_params))
        if coef_init is None:
            coef = default_coef
        else:
            coef = np.asarray(coef_init, dtype=np.float64).reshape(-1)
            if coef.shape != (n_features,) or not np.all(np.isfinite(coef)):
                raise ValueError(
                    f"coef_init must hold {n_features} finite numbers (one per feature); "
                    f"got shape {np.shape(coef_init)}"
                )
        if intercept_init is None:
            intercept = default_intercept
        elif not self.fit_intercept:
            raise ValueError("intercept_init was given but fit_intercept=False; drop one of them")
        else:
            intercept = float(intercept_init)
            if not np.isfinite(intercept):
                raise ValueError(f"intercept_init must be a finite number; got {intercept_init!r}")
        return objective.frame.from_model(coef, intercept)

    def _convergence_advice(self, result) -> str:  # noqa: ANN001 - the driver's Result
        """The warning for a run that stopped short of ``tol``: what it reached, and what would get there."""
        direct = "solver='auto' (the least-squares solution, directly)"
        if result.status == "floor":
            if not np.isfinite(result.error_floor):  # a coefficient the floor could put at 0
                return f"{self.solver_}: {result.message}. Use {direct}."
            looser = 10.0 ** np.ceil(np.log10(max(result.error_floor, np.finfo(np.float64).tiny)))
            return f"{self.solver_}: {result.message}. Use {direct}, or a tol of {looser:.0e} or more."
        advice = f"{self.solver_}: {result.message}. Use {direct}, or raise max_iter"
        kappa = self.condition_number_
        if kappa is not None and np.isfinite(kappa) and kappa > 1e3 and self.solver_ == "gd" and np.isfinite(result.error_bound):
            updates = kappa * np.log(max(result.error_bound, 1.0) / self.tol)
            advice += (
                f" (the problem is ill-conditioned, condition number of XᵀX/m ≈ {kappa:.3g}: gradient descent needs "
                f"about κ·ln(error/tol) ≈ {updates:.3g} more updates at learning_rate='auto', max_iter={int(self.max_iter + updates)})"
            )
        elif self.learning_rate != "auto" and self.solver_ in ("gd", "momentum", "nesterov"):
            advice += ", or raise the learning rate (up to learning_rate='auto')"
        return advice + "."

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Predictions ``X @ coef_ + intercept_``, shape (n_samples,).

        A Dask array or DataFrame gets a lazy Dask array or Series back, computed block by block on
        its cluster (X never travels to the client). A :class:`~gradfit.sources.files.FileSource`
        (``gradfit.sources.files.parquet(...)`` or ``csv(...)``, say of a test set: a source names
        its target, which its files must hold) is read batch by batch, its columns picked by the
        model's feature names, every row predicted (none dropped); only the predictions are held.
        For files without the target, ``gradfit predict MODEL DATA`` on the command line.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            from gradfit.sources.dask import predict_blocks

            return predict_blocks(X, self.coef_, self.intercept_, getattr(self, "feature_names_in_", None))
        files = sys.modules.get("gradfit.sources.files.source")  # a FileSource exists only once it is imported
        if files is not None and isinstance(X, files.FileSource):
            return self._predict_source(X)
        _refuse_non_numeric(X, None)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64)

    def _predict_source(self, source) -> NDArray[np.float64]:  # noqa: ANN001 - FileSource
        from gradfit.sources.files import feature_batches

        names = getattr(self, "feature_names_in_", None)
        if names is None:
            raise DataError(
                "the model has no feature names (fitted on an unnamed array), so the files' columns cannot be "
                "matched to it; fit it on a named table or on files"
            )
        blocks = feature_batches(source.path, features=[str(name) for name in names], format=source.format,
                                 batch_rows=source.batch_rows)
        predictions = [block @ self.coef_ + self.intercept_ for block in blocks]
        return np.concatenate(predictions) if predictions else np.empty(0)

    def distance_to_optimum(self, X: ArrayLike, y: ArrayLike) -> OptimumGap:
        """How far this model is from the exact least-squares fit of (X, y)."""
        check_is_fitted(self)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=False)
        unit = _column_unit(X) if self.standardize else None
        coef_opt, intercept_opt = solve_exact(X, y, fit_intercept=self.fit_intercept, column_unit=unit)
        norm = float(np.linalg.norm(coef_opt))
        error = float(np.linalg.norm(self.coef_ - coef_opt))
        return OptimumGap(
            coef_optimum=coef_opt,
            intercept_optimum=intercept_opt,
            coef_error=error / norm if norm > 0 else error,
            intercept_error=abs(self.intercept_ - intercept_opt),
            loss_gap=_cost(X, y, self.coef_, self.intercept_) - _cost(X, y, coef_opt, intercept_opt),
        )

    def summary(self) -> "ModelSummary":
        """Inference table of the fitted coefficients: R², adjusted R², F, and per term the standard
        error, t, p and 95% interval (OLS/WLS formulas, as statsmodels reports them).

        Computed from the sufficient statistics gathered by ``fit`` (never from the rows again), at
        whatever coefficients the solver reached; ``print(model.summary())`` shows the table. A model
        saved with :meth:`save` keeps its summary in the file, and :func:`gradfit.load` gives it back.
        A penalised fit (``alpha > 0``) has no such table: its shrunk coefficients are not OLS
        estimates, and the formulas' standard errors and p values would mislead. Neither has a fit
        that did not converge (``converged_`` False: ``max_iter`` reached, a rounding floor, an
        interrupted run, or ``tol=0``): the table would be of coefficients that are not the answer.
        """
        check_is_fitted(self)
        if self.alpha > 0:
            kind = "lasso/elastic-net" if self.l1_ratio > 0 else "ridge"
            raise ValueError(
                f"summary() gives ordinary least-squares inference, which does not hold for a penalised "
                f"({kind}, alpha={self.alpha}) fit: its coefficients are shrunk, so the OLS standard errors, "
                f"p values and intervals would be wrong; fit with alpha=0 for the table"
            )
        if not getattr(self, "converged_", True):
            remedy = ("drop or combine nearly collinear features, so that the answer can be resolved"
                      if self.solver_ == "exact" else
                      "fit with solver='auto' (the least-squares solution directly) for the table, or let the "
                      "iterative solver converge (raise max_iter)")
            raise ValueError(
                f"this fit did not converge ({self.message_}): its coefficients are not the least-squares "
                f"solution, so standard errors, t and p values would describe numbers the data do not support; "
                f"{remedy}"
            )
        stats = getattr(self, "_stats", None)
        saved = getattr(self, "_saved_summary", None)
        if stats is None and saved is not None:  # a loaded model: the table its file kept
            if not self._is_summary_of_coefficients(saved):
                raise ValueError(
                    "the summary saved with this model is of other coefficients than coef_ and intercept_ "
                    "now hold (they were changed after loading); fit the model again to get their summary"
                )
            return saved
        if stats is None and getattr(self, "engine_", None) == "streaming":
            raise ValueError(
                "summary() needs the d × d statistics, which a streaming fit (sparse or very wide X) does "
                "not gather: standard errors would need (XᵀX)⁻¹. For inference on these data use fewer "
                "features, or statsmodels on a dense X."
            )
        if stats is None:
            raise ValueError(
                "summary() needs the training statistics gathered by fit(); this model was loaded from a "
                "file that holds no summary (saved from a streaming fit, from one whose table could not be "
                "computed, or by an older gradfit). Fit the model again to get its summary."
            )
        from gradfit.inference import summarize

        names = [str(name) for name in self.feature_names_in_] if hasattr(self, "feature_names_in_") else None
        return summarize(stats, self.coef_, self.intercept_ if self.fit_intercept else 0.0,
                         fit_intercept=self.fit_intercept, feature_names=names)

    def _is_summary_of_coefficients(self, summary: "ModelSummary") -> bool:
        """Whether a table's estimates are ``[intercept_, *coef_]`` (``coef_`` without intercept), bit for bit."""
        terms = np.asarray([self.intercept_, *self.coef_] if self.fit_intercept else self.coef_, dtype=np.float64)
        table = np.asarray(summary.coef, dtype=np.float64)
        return table.shape == terms.shape and table.tobytes() == terms.tobytes()

    def save(self, path: str | Path) -> None:
        """Write the fitted model as versioned JSON (see :func:`gradfit.load`)."""
        from gradfit.modelio import save_model

        save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _condition_number(objective: LeastSquares) -> float | None:
    """κ(G) where it is at hand. Beyond DENSE_SPECTRUM_MAX parameters it needs a full
    eigendecomposition (O(p³): 13.6 s of an 18.5 s fit at p = 5000), so it is reported only when the
    solver computed the spectrum anyway."""
    known = objective.n_params <= DENSE_SPECTRUM_MAX or "spectrum" in objective.__dict__
    return objective.condition_number if known else None


def _column_unit(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Column standard deviations (1 for a constant column), computed on columns divided by exact
    powers of two so that features near 1e200 do not overflow when squared, nor 1e-200 underflow."""
    scale = power_of_two_scale(np.max(np.abs(X), axis=0))
    unit = (X / scale).std(axis=0) * scale
    return np.where(unit > 0, unit, 1.0)


def _refuse_non_numeric(X, y):  # noqa: ANN001, ANN202 - array-likes as given
    """Name a table's column that is not numbers (text, dates, categories of text), or text in y,
    before numpy's conversion fails with a message that names neither. Text that reads as numbers
    and categories of numbers are taken, as scikit-learn takes them; missing values (None, NA) are
    left to the NaN check, which names their row. Returns y, as float64 where it was text or objects."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a pandas DataFrame
        if len(dtypes) == 0:
            raise DataError("X has no columns; give it at least one feature")
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        for position, (name, dtype) in enumerate(dtypes.items()):
            categories = getattr(dtype, "categories", None)
            if categories is not None:  # categorical: fine when its categories are numbers
                if is_numeric_dtype(categories.dtype):
                    continue
            elif is_numeric_dtype(dtype) or is_bool_dtype(dtype):
                continue
            advice = "encode it first (for example with scikit-learn's OneHotEncoder in a Pipeline) or drop it"
            if categories is not None or dtype.kind in "mM":
                raise DataError(f"column {name!r} of X is {dtype}, not numbers; {advice}")
            _first_non_number(X.iloc[:, position].to_numpy(), f"column {name!r} of X", advice)
    if y is None:
        return y
    values = y if hasattr(y, "dtype") else np.asarray(y)
    if getattr(values.dtype, "kind", None) in ("U", "S", "O"):
        _first_non_number(np.asarray(values, dtype=object).reshape(-1), "y", "convert it to numbers first")
        return np.asarray(values, dtype=np.float64)
    return y


def _first_non_number(values: NDArray, what: str, advice: str) -> None:
    """Refuse the first value that is neither a number nor missing, naming ``what`` and its row."""
    for row, value in enumerate(values):
        try:
            float(value)
        except (TypeError, ValueError):
            if not _is_missing(value):
                raise DataError(f"{what} holds {value!r} (row {row}), not a number; {advice}") from None


def _is_missing(value) -> bool:  # noqa: ANN001 - a cell float() refused
    """None, or pandas' NA and NaT (pandas is there whenever such values are)."""
    if value is None:
        return True
    pandas = sys.modules.get("pandas")
    try:
        return pandas is not None and bool(pandas.isna(value))
    except (TypeError, ValueError):
        return False


def _check_weights(sample_weight: ArrayLike | None, n_samples: int) -> NDArray[np.float64] | None:
    """Validated sample weights: finite, non-negative, one per row, not all zero (None stays None)."""
    if sample_weight is None:
        return None
    try:
        weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be numbers, one per row of X") from None
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(f"sample_weight has shape {weight.shape} but X has {n_samples} rows; give one weight per row")
    bad = np.flatnonzero(~np.isfinite(weight))
    if bad.size:
        raise ValueError(f"sample_weight is NaN or infinite at row {bad[0]} ({bad.size} rows in all)")
    negative = np.flatnonzero(weight < 0)
    if negative.size:
        raise ValueError(f"sample_weight must be non-negative; row {negative[0]} has {weight[negative[0]]:g}")
    total = float(np.sum(weight / 2.0**64)) * 2.0**64 if np.all(np.isfinite(weight)) else np.inf  # no overflow on the way
    if not np.isfinite(total):
        raise ValueError("sample_weight sums to more than float64 can hold; divide the weights by a constant "
                         "(the fit does not change)")
    if not weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: no row would count")
    return weight


def _seed(random_state) -> int:  # noqa: ANN001 - int, RandomState or None
    """An integer seed: an int is used as given (same seed, same iterates); otherwise one is drawn."""
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
