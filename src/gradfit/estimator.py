"""LinearRegression: the scikit-learn facade. Checks its parameters and validates arrays at the
edge, then fits through :func:`gradfit.fitting.fit` (validate → plan → objective → solve → unpack)
and keeps what it found as fitted attributes on the original feature scale."""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import fields
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn import get_config
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from gradfit import fitting
from gradfit.checkpoints import CheckpointFile
from gradfit.errors import DataError, ModelFileError
from gradfit.fitting import FittedState, OptimumGap, Settings
from gradfit.history import History
from gradfit.modelio import read_model, write_model
from gradfit.schedules import SCHEDULES
from gradfit.solvers import SOLVERS, STOCHASTIC_SOLVERS
from gradfit.solvers.direct import DIRECT_SOLVERS
from gradfit.solvers.gd import LINE_SEARCHES
from gradfit.sources import Source, as_source, is_dask_collection, is_device_array
from gradfit.summary import same_terms
from gradfit.validation import check_source_arguments, refuse_non_numeric

if TYPE_CHECKING:
    from gradfit.summary import ModelSummary

__all__ = ["FITTED_ATTRIBUTES", "LinearRegression", "load_model", "save_model"]

#: The fitted attributes that describe a model (what :meth:`LinearRegression.fitted_state` gives).
FITTED_ATTRIBUTES = (
    "n_features_in_", "feature_names_in_", "coef_", "intercept_", "n_iter_", "history_", "loss_history_",
    "converged_", "status_", "solver_", "message_", "final_loss_", "learning_rate_", "lipschitz_",
    "condition_number_",
)


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
    warm_start : bool, default=False
        ``fit`` goes on from the previous fit: on the same data with the same solver, the run
        continues exactly where it stopped (momentum, L-BFGS memory, Adam's moments, step count and
        schedule, the row order's seed), for ``max_iter`` more updates, so that fits of 50 and 50
        updates equal one of 100, bit for bit, history included. On other data it starts from the
        previous ``coef_`` and ``intercept_`` (scikit-learn's meaning). The direct solver has nothing
        to continue.

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
        ``"exact"``, ``"tol"``, ``"floor"`` (stopped at its rounding floor, above ``tol``), ``"stalled"``
        (a stochastic run whose loss had not gone below its best for ``driver.STALL_EPOCHS`` epochs),
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
        "warm_start": ["boolean"],
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
        warm_start: bool = False,
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
        self.warm_start = warm_start

    def fit(
        self,
        X: ArrayLike | Source,
        y: ArrayLike | None = None,
        coef_init: ArrayLike | None = None,
        intercept_init: float | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int | None = None,
        checkpoint_seconds: float | None = None,
        resume: str | os.PathLike[str] | None = None,
    ) -> LinearRegression:
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
        checkpoint : path, optional
            Keep the run's full state in this file (iterative solvers), replaced atomically every
            ``checkpoint_every`` updates or ``checkpoint_seconds`` seconds (60 s when neither is
            given), and when the fit is interrupted (Ctrl-C). ``fit(..., resume=checkpoint)`` on the
            same data then finishes the same fit, bit for bit, whenever it was stopped (a kill -9 too).
        checkpoint_every : int, optional
        checkpoint_seconds : float, optional
        resume : path, optional
            A checkpoint file to go on from: the same data, solver and settings, or refused by name.
            ``max_iter`` counts the updates the checkpoint made.

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
        # (an ndarray is never a Source: not asked, since the protocol's check inspects X's attributes)
        given_source = not isinstance(X, np.ndarray) and (is_device_array(X) or isinstance(X, Source)
                                                          or is_dask_collection(X))
        if not given_source:
            # NaN/inf in X are found by the source's own pass (the statistics propagate them), which
            # names the row and column; a separate check would read X once more. A Dask collection
            # is checked on its workers, block by block (validate_data would compute it into memory).
            y = refuse_non_numeric(X, y)
            X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64, y_numeric=True,
                                 ensure_min_samples=1, ensure_all_finite=False)
        settings = Settings(**{name: getattr(self, name) for name in _SETTINGS})
        continuation = None
        if self.warm_start and hasattr(self, "coef_"):
            continuation = getattr(self, "_continuation", None)
            if coef_init is None and intercept_init is None:  # where the run cannot go on: start from it
                coef, intercept = self._terms()
                coef_init, intercept_init = coef, (intercept if self.fit_intercept else None)
        writer = None
        if checkpoint is not None:
            same = resume is not None and os.path.abspath(resume) == os.path.abspath(checkpoint)
            writer = CheckpointFile(checkpoint, every_updates=checkpoint_every, every_seconds=checkpoint_seconds,
                                    replace=same)
        elif checkpoint_every is not None or checkpoint_seconds is not None:
            raise ValueError("checkpoint_every and checkpoint_seconds say how often to write the checkpoint; pass its path too, as in checkpoint='fit.ckpt'")
        state = fitting.fit(X, y, settings=settings, sample_weight=sample_weight, coef_init=coef_init,
                            intercept_init=intercept_init, continuation=continuation, resume=resume, checkpoint=writer)
        self._store(state, given_source=given_source, placed_like=X)
        for message, kind in state.warnings:
            warnings.warn(message, _WARNINGS[kind], stacklevel=2)
        return self

    def partial_fit(self, X: ArrayLike | Source, y: ArrayLike | None = None,
                    sample_weight: ArrayLike | None = None) -> LinearRegression:
        """Add the rows of (X, y) to the model: after any split of the rows into batches, the model is
        :meth:`fit`'s on all of them (coefficients and :meth:`summary`), to the accuracy of the
        statistics (``error_bound_``; the earlier rows are not kept, so there are no refinement passes).

        Each call reads its batch once for its sufficient statistics (d × d), merges them into the
        model's (those of every earlier ``partial_fit``, or of a :meth:`fit` before), and solves on
        them with the model's solver: ``"auto"``/``"exact"`` directly, an iterative solver from 0 on
        the merged statistics. A first call starts a new model, as :meth:`fit` would.

        With ``"sgd"``, ``"minibatch"`` or ``"adam"``, each call is one more epoch over its batch (as
        scikit-learn's ``SGDRegressor.partial_fit``), going on from the run so far: step count,
        schedule, Adam's moments, the row order's seed and the first batch's coordinates carry over,
        so n calls on the same rows equal ``fit`` with ``max_iter=n, tol=0``, bit for bit.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or a :class:`~gradfit.sources.Source`
            The same features, in the same order, as the earlier batches. A source (files streamed in
            batches, ``gradfit.sources.parquet(...)``) carries its own target: then no ``y``.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            As :meth:`fit`; a batch with another number of features; for the deterministic solvers,
            data too wide for d × d statistics (streamed by :meth:`fit`), or a model fitted on the
            streaming engine or loaded without statistics, which keeps none to add to.
        """
        self._validate_params()
        first = not hasattr(self, "coef_")
        if not first and self.solver in STOCHASTIC_SOLVERS:
            run, ran = getattr(self, "_continuation", None), getattr(self, "solver_", None)
            if ran != self.solver:
                raise ValueError(f"this model's last fit was by solver={ran!r}; partial_fit with "
                                 f"solver={self.solver!r} goes on only from a run of that solver: keep "
                                 f"solver={ran!r}, or start a new model")
            if run is None or run.frame is None:
                raise ValueError(f"this model keeps no run of solver={self.solver!r} to go on from (a model file keeps "
                                 "the coefficients, not the optimiser's state); start a new model's partial_fit, or fit again")
        if not first and self.solver not in STOCHASTIC_SOLVERS and getattr(self, "_stats", None) is None:
            if getattr(self, "engine_", None) == "streaming":
                raise ValueError("this model was fitted on the streaming engine, which keeps no d × d statistics "
                                 "to add rows to; fit all the rows at once")
            raise ValueError("this model keeps no statistics to add rows to: a model file keeps them only when saved "
                             "with save(path, statistics=True); save it that way after fitting, or fit all the rows at once")
        placed_like = X
        if is_device_array(X) or is_dask_collection(X):  # read where it lives, as fit does (not into memory)
            X, y, sample_weight = as_source(X, y, sample_weight), None, None
        given_source = not isinstance(X, np.ndarray) and isinstance(X, Source)
        if given_source:
            check_source_arguments(y, sample_weight)
            if not first and X.n_features != self.n_features_in_:
                raise ValueError(f"X has {X.n_features} features, but LinearRegression is expecting "
                                 f"{self.n_features_in_} features as input.")
        else:
            y = refuse_non_numeric(X, y)
            X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64, y_numeric=True,
                                 ensure_min_samples=1, ensure_all_finite=False, reset=first)
        settings = Settings(**{name: getattr(self, name) for name in _SETTINGS})
        state = fitting.partial_fit(X, y, settings=settings, stats=None if first else self._stats,
                                    sample_weight=sample_weight,
                                    continuation=None if first else getattr(self, "_continuation", None))
        self._store(state, given_source=given_source, placed_like=placed_like)
        for message, kind in state.warnings:
            warnings.warn(message, _WARNINGS[kind], stacklevel=2)
        return self

    def _store(self, state: FittedState, *, given_source: bool, placed_like=None) -> None:
        """Keep a fit's state as the fitted attributes; its statistics for :meth:`summary`, with its
        coefficients (never before: a fit that fails keeps the table of the coefficients it leaves),
        and drop a table read from a file. ``placed_like``: the X fitted; under scikit-learn's
        ``array_api_dispatch``, ``coef_`` and ``intercept_`` of an array on a device are put in its
        namespace, on its device (float64 where the device has it)."""
        if given_source:  # validate_data set these for arrays
            self.n_features_in_ = state.n_features
            if state.feature_names is not None:
                self.feature_names_in_ = np.asarray(state.feature_names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        self.engine_ = state.engine
        self.solver_ = state.solver
        self.coef_, self.intercept_ = state.coef, state.intercept
        if state.path is not None:
            self.path_ = state.path
            self.path_iterations_ = state.path_iterations
        self._stats = state.stats
        self._continuation = state.continuation
        self._saved_summary = None
        self.n_iter_ = state.n_iter
        self.history_: History = state.history
        self.loss_history_ = state.history.loss
        self.converged_ = state.converged
        self.status_ = state.status
        self.message_ = state.message
        self.final_loss_ = state.final_loss
        self.learning_rate_ = state.learning_rate
        self.lipschitz_ = state.lipschitz
        self.condition_number_ = state.condition_number
        self.n_passes_ = state.n_passes
        self.error_bound_ = state.error_bound
        if placed_like is not None and is_device_array(placed_like) and get_config()["array_api_dispatch"]:
            # scikit-learn's convention: fitted arrays in X's namespace, on X's device
            from gradfit.sources.arrays import placed_as

            self.coef_, self.intercept_ = placed_as(placed_like, state.coef, state.intercept)
            self.loss_history_ = placed_as(placed_like, state.history.loss)
            if state.path is not None:
                self.path_iterations_ = placed_as(placed_like, state.path_iterations)

    def _terms(self) -> tuple[NDArray[np.float64], float]:
        """``coef_`` and ``intercept_`` on the host (numpy float64 and a float), wherever they were put."""
        coef, intercept = self.coef_, self.intercept_
        if isinstance(coef, np.ndarray):
            return coef, intercept
        from gradfit.numerics.array_api import to_host

        return to_host(coef), float(to_host(intercept))

    @classmethod
    def from_fit(cls, state: FittedState, settings: Settings) -> LinearRegression:
        """The model that :meth:`fit` would have left after :func:`gradfit.fitting.fit` gave ``state``
        with ``settings`` (its parameters, checked as :meth:`fit` checks them): for a caller that fits
        through the core, without scikit-learn, and wants a model only afterwards (to save it, or for
        :meth:`summary`). ``n_features_in_`` and ``feature_names_in_`` come from the state (its
        ``feature_names``: None, no ``feature_names_in_``). Warnings in the state are not raised again."""
        model = cls(**{name: getattr(settings, name) for name in _SETTINGS})
        model._validate_params()
        model._store(state, given_source=True)
        return model

    @classmethod
    def from_params(cls, params: dict) -> LinearRegression:
        """An unfitted model with these parameters, checked as :meth:`fit` checks them (ValueError
        naming the one rejected)."""
        model = cls()
        model.set_params(**params)
        model._validate_params()
        return model

    def fitted_state(self) -> dict:
        """The fitted attributes that describe the model (see :data:`FITTED_ATTRIBUTES`), by name:
        what a model file keeps and :meth:`with_fitted_state` takes back (``feature_names_in_`` is
        None where X had no column names)."""
        check_is_fitted(self)
        state = {name: getattr(self, name, None) for name in FITTED_ATTRIBUTES}
        if state["coef_"] is not None:
            state["coef_"], state["intercept_"] = self._terms()
            state["loss_history_"] = self.history_.loss
        return state

    def with_fitted_state(self, state: dict, *, summary: ModelSummary | None = None) -> LinearRegression:
        """This model with the fitted attributes of ``state`` (as :meth:`fitted_state` gives them), and
        the inference table that a model file kept (None: the model has none), for :meth:`summary`.

        Raises ValueError, setting nothing, when ``summary`` is of other coefficients than ``state``'s."""
        if summary is not None and not same_terms(summary, state["coef_"], state["intercept_"],
                                                  fit_intercept=self.fit_intercept):
            raise ValueError("the summary is of other coefficients than coef_ and intercept_")
        for name in FITTED_ATTRIBUTES:
            if state[name] is not None or name != "feature_names_in_":
                setattr(self, name, state[name])
        self._saved_summary = summary
        return self

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
        if get_config()["array_api_dispatch"]:
            # scikit-learn's rule under dispatch: X in the namespace and on the device the model was fitted on
            from sklearn.utils._array_api import check_same_namespace

            check_same_namespace(X, self, attribute="coef_", method="predict")
        coef, intercept = self._terms()
        if is_dask_collection(X):
            from gradfit.sources.dask import predict_blocks

            return predict_blocks(X, coef, intercept, getattr(self, "feature_names_in_", None))
        if is_device_array(X):
            from gradfit.sources.arrays import predict_on_device

            return predict_on_device(X, coef, intercept)
        files = sys.modules.get("gradfit.sources.files.source")  # a FileSource exists only once it is imported
        if files is not None and isinstance(X, files.FileSource):
            return self._predict_source(X)
        refuse_non_numeric(X, None)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return np.asarray(X @ coef + intercept, dtype=np.float64)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """R² of the predictions, ``1 − Σw(y − ŷ)²/Σw(y − ȳ)²`` (scikit-learn's). Arrays on a device are
        scored there: the residuals' and the target's sums from one pass each, two numbers to the host."""
        if not is_device_array(X):
            return super().score(X, y, sample_weight=sample_weight)
        check_is_fitted(self)
        coef, intercept = self._terms()
        return self._device_rows(X, y, sample_weight).r2_score(coef, intercept)

    def _device_rows(self, X, y, sample_weight=None):  # -> ArraySource
        """Rows on a device as the source that reads them there, with as many features as the model's."""
        source = as_source(X, y, sample_weight)
        if source.n_features != self.n_features_in_:
            raise ValueError(f"X has {source.n_features} features, but LinearRegression is expecting "
                             f"{self.n_features_in_} features as input.")
        return source

    def _predict_source(self, source) -> NDArray[np.float64]:  # FileSource
        from gradfit.sources.files import feature_batches

        names = getattr(self, "feature_names_in_", None)
        if names is None:
            raise DataError(
                "the model has no feature names (fitted on an unnamed array), so the files' columns cannot be "
                "matched to it; fit it on a named table or on files"
            )
        blocks = feature_batches(source.path, features=[str(name) for name in names], format=source.format,
                                 batch_rows=source.batch_rows)
        coef, intercept = self._terms()
        predictions = [block @ coef + intercept for block in blocks]
        return np.concatenate(predictions) if predictions else np.empty(0)

    def distance_to_optimum(self, X: ArrayLike, y: ArrayLike) -> OptimumGap:
        """How far this model is from the exact least-squares fit of (X, y)."""
        check_is_fitted(self)
        coef, intercept = self._terms()
        if is_device_array(X):  # the optimum and the losses computed where the rows are
            return fitting.distance_on_device(self._device_rows(X, y), coef, intercept, fit_intercept=self.fit_intercept,
                                              standardize=self.standardize)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=False)
        y = np.asarray(y, dtype=np.float64)
        return fitting.distance_to_optimum(X, y, coef, intercept, fit_intercept=self.fit_intercept,
                                           standardize=self.standardize)

    def summary(self) -> ModelSummary:
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
        coef, intercept = self._terms()
        return summarize(stats, coef, intercept if self.fit_intercept else 0.0,
                         fit_intercept=self.fit_intercept, feature_names=names)

    def _is_summary_of_coefficients(self, summary: ModelSummary) -> bool:
        """Whether a table's estimates are ``[intercept_, *coef_]`` (``coef_`` without intercept), bit for bit."""
        coef, intercept = self._terms()
        return same_terms(summary, coef, intercept, fit_intercept=self.fit_intercept)

    def save(self, path: str | Path, *, statistics: bool = False, target: str | None = None) -> None:
        """Write the fitted model as versioned JSON (see :func:`gradfit.load`); with ``statistics``,
        its d × d sufficient statistics too (about 25·d² bytes), so that the loaded model can
        :meth:`partial_fit` more rows exactly; ``target``, the name of the column it predicts."""
        save_model(self, path, statistics=statistics, target=target)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True  # arrays of the array API are read on their device (sources/arrays.py)
        return tags


#: The hyper-parameters a fit takes (see :class:`~gradfit.fitting.Settings`): all of the estimator's.
_SETTINGS = tuple(field.name for field in fields(Settings))
#: How each kind of warning a fit returns is raised.
_WARNINGS: dict[str, type[Warning]] = {"convergence": ConvergenceWarning, "interrupted": UserWarning}


def save_model(estimator, path: str | os.PathLike[str], *, statistics: bool = False, target: str | None = None) -> None:
    """Write a fitted :class:`LinearRegression` to ``path`` as versioned JSON (see :mod:`gradfit.modelio`).

    The file is written next to ``path`` under a temporary name and moved into place with
    :func:`os.replace`, so a crash leaves either the old file or the complete new one.

    Parameters
    ----------
    estimator : LinearRegression
        A fitted model.
    path : str or path-like
        Where to write; an existing file is replaced.
    statistics : bool, default=False
        Keep the fit's sufficient statistics in the file (d × d numbers), for :meth:`~LinearRegression.partial_fit`
        after loading.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``estimator`` has not been fitted.
    ModelFileError
        When a parameter holds a value JSON cannot represent (a callable, an array, ...), or
        ``statistics`` is asked of a model that has none (a streaming fit, or loaded without them).
    """
    if not isinstance(estimator, LinearRegression):
        raise TypeError(f"save_model expects a gradfit LinearRegression; got {type(estimator).__name__}")
    check_is_fitted(estimator)
    kept = getattr(estimator, "_stats", None) if statistics else None
    if statistics and kept is None:
        raise ModelFileError("this model has no sufficient statistics to keep (a fit on the streaming engine gathers "
                             "none, and a model loaded from a file saved without them has none); save it without statistics")
    write_model(path, params=estimator.get_params(deep=False), state=estimator.fitted_state(),
                summary=lambda: _summary_document(estimator), statistics=kept, target=target)


def _summary_document(estimator: LinearRegression) -> dict[str, Any] | None:
    """The model's inference table as :meth:`~gradfit.summary.ModelSummary.to_dict` writes it; None
    where it has none (a streaming fit gathers no d × d statistics, a penalised fit has no table)."""
    # The table is extra: whatever keeps it from being computed (no statistics, no rows, coefficients
    # that overflow it, a loaded table that coef_ no longer matches) leaves it out, never the model.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return estimator.summary().to_dict()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None


def load_model(path: str | os.PathLike[str]) -> LinearRegression:
    """Read a model written by :func:`save_model` (see :mod:`gradfit.modelio`).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    LinearRegression
        Fitted, with every attribute the saved model had; its predictions are bitwise identical.

    Raises
    ------
    ModelFileError
        When the file is not a model file that this gradfit reads, or holds parameters that
        ``LinearRegression`` rejects (every refusal: :func:`gradfit.modelio.read_model`).
    """
    params, state, summary, statistics = read_model(path, defaults=LinearRegression().get_params(deep=False),
                                                    check_params=LinearRegression.from_params)
    model = LinearRegression.from_params(params).with_fitted_state(state, summary=summary)
    model._stats = statistics  # None: saved without them, and partial_fit says so
    model._target_name = state["target_name"]  # the command line's files name it
    return model
