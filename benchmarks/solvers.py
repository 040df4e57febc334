"""Every gradfit solver against scikit-learn and statsmodels, on the same problems, in the same run.

    python benchmarks/solvers.py [--size small|full] [--repeats 5] [--only NAME] [--markdown] [--seed 0]

What is measured, per problem and per method:

* **time**: the median wall-clock time of ``fit`` (``time.perf_counter``) over ``--repeats`` runs,
  after one warm-up run. Every method starts from the same in-memory float64 arrays and is timed end
  to end (its own validation, copies and centring included). A method whose warm-up run takes longer
  than ``TIME_BUDGET_S`` is timed by fewer runs (by its warm-up run alone when it is slower than the
  budget); the ``runs`` column says how many.
* **anchor**: one ``X.T @ X`` on the same data, timed in the same run (before and after the methods,
  pooled), so the ``× XᵀX`` column can be compared across machines and loads.
* **accuracy**: the largest relative error of ``[intercept, *coef]`` against the reference answer,
  and ``digits = −log10`` of it (16 when it agrees to the last bit). The reference is
  ``gradfit.LinearRegression(solver="exact")``, cross-checked against ``numpy.linalg.lstsq`` on the
  augmented design (the printed agreement says how far apart they are).
* **iterations** and **converged**: what the method reports. gradfit's iterative solvers run to
  ``tol = GRADFIT_TOL``: converged means every coefficient and the intercept are within ``tol`` of
  the least-squares answer, relatively (the bound gradfit certifies, ``error_bound_``). Its
  stochastic solvers get a fixed budget of updates instead (they do not reach such a tolerance). A
  ``ConvergenceWarning`` (or any other warning) from the warm-up run is caught and named in the
  ``notes`` column. ``—`` under converged marks a direct method; under
  iterations, a method that does not report them (``Ridge(solver="sparse_cg")`` among them).

Problems (built from ``--seed``, so every run sees the same data):

* ``dense``: well-conditioned Gaussian design with noise (200,000 × 20 at full size).
* ``illcond``: correlated columns mixed from a geometric spectrum, so the standardized ``XᵀX`` has a
  condition number near ``ILL_CONDITION_TARGET`` (50,000 × 20; the measured value is printed).
* ``article``: the article's 100-point problem (``gradfit.datasets.make_article_data``).
* ``ridge``: the ``dense`` data with a ridge penalty. scikit-learn's ``Ridge(alpha=a)`` minimises
  ``‖r‖² + a‖w‖²``, gradfit's and SGDRegressor's ``alpha`` the same objective divided by ``2m``, so
  ``a = m · RIDGE_ALPHA``. Ridge's ``"lbfgs"`` solver is skipped: it only supports ``positive=True``.

On the unpenalised problems scikit-learn's ``Ridge`` runs with ``alpha=0``, which is the same
least-squares problem, so each of its solvers is compared on the same answer.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import scipy
import sklearn
import statsmodels
import statsmodels.api as sm
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression as SklearnLinearRegression
from sklearn.linear_model import Ridge, SGDRegressor

from gradfit import LinearRegression
from gradfit.datasets import make_article_data

N_FEATURES = 20
#: Intercept of the generated problems; coefficients have random signs and magnitudes in this range,
#: away from zero so that a relative error per coefficient means something.
TRUE_INTERCEPT = 3.0
COEF_MAGNITUDE = (1.0, 2.0)
DENSE_NOISE = 0.5
#: Small noise on the ill-conditioned problem: its least-squares coefficients then stay near the
#: true ones (noise along the weak directions is amplified by up to √κ).
ILL_NOISE = 0.01
ILL_CONDITION_TARGET = 1e5
#: Ridge strength in gradfit's convention (Σr²/2m + α/2‖w‖²); scikit-learn's Ridge gets m times it.
RIDGE_ALPHA = 0.1
PROBLEMS = ("dense", "illcond", "article", "ridge")

GRADFIT_TOL = 1e-10
#: Enough for plain gradient descent at κ ≈ 1e5 (it needs about κ·ln(1/tol) ≈ 2.3e6 updates).
GRADFIT_MAX_ITER = 10_000_000
GRADFIT_ITERATIVE = ("gd", "momentum", "nesterov", "cg", "lbfgs")
GRADFIT_STOCHASTIC = ("sgd", "minibatch", "adam")
GRADFIT_DIRECT = ("exact", "auto")
#: Rows per update of gradfit's stochastic solvers (their defaults).
STOCHASTIC_BATCH = {"sgd": 1, "minibatch": 64, "adam": 64}
#: Stochastic solvers get a budget of updates (see ``Size``), rounded up to whole epochs, at least
#: one and at most SGDRegressor's own max_iter; they run a Python step per update.
STOCHASTIC_MAX_EPOCHS = 1000

SKLEARN_TOL = 1e-10
RIDGE_SOLVERS = ("svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga")
RIDGE_ITERATIVE = ("lsqr", "sparse_cg", "sag", "saga")
#: scikit-learn's own default epoch limit for sag/saga, written out.
SAG_MAX_ITER = 1000
SGD_MAX_ITER = 1000
SGD_TOL = 1e-6

#: Timed runs of one method stop short of ``--repeats`` once they would take longer than this.
TIME_BUDGET_S = 5.0
#: The anchor is fast and noisy, so it gets at least this many runs, before and after the methods.
ANCHOR_MIN_REPEATS = 21
DIGITS_TARGET = 9
#: Digits reported for an exact match (float64 carries about 15.95).
MAX_DIGITS = 16.0
MS_PER_S = 1e3


@dataclass(frozen=True)
class Size:
    """Rows of the generated problems, and the updates each stochastic gradfit solver may make."""

    dense_rows: int
    illcond_rows: int
    stochastic_updates: int


SIZES = {
    "small": Size(dense_rows=20_000, illcond_rows=5_000, stochastic_updates=10_000),
    "full": Size(dense_rows=200_000, illcond_rows=50_000, stochastic_updates=100_000),
}


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Attributes
    ----------
    name : str
    title : str
    X : ndarray of shape (m, d)
    y : ndarray of shape (m,)
    alpha : float
        Ridge strength in gradfit's convention (0 for plain least squares).
    stochastic_updates : int
        Budget of updates of each stochastic gradfit solver.
    """

    name: str
    title: str
    X: NDArray[np.float64]
    y: NDArray[np.float64]
    alpha: float = 0.0
    stochastic_updates: int = 0


@dataclass(frozen=True)
class Fit:
    """What one fit returned.

    Attributes
    ----------
    theta : ndarray of shape (d + 1,)
        ``[intercept, *coef]``.
    iterations : int or None
        Iterations (epochs for the stochastic methods) the method reports; None when it has none.
    converged : bool or None
        None for a direct method.
    note : str
    """

    theta: NDArray[np.float64]
    iterations: int | None = None
    converged: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Method:
    """A labelled fitting function ``fit(X, y) -> Fit``."""

    label: str
    library: str
    fit: Callable[[NDArray[np.float64], NDArray[np.float64]], Fit]


@dataclass(frozen=True)
class Row:
    """One line of a results table."""

    label: str
    library: str
    seconds: float
    runs: int
    iterations: int | None
    converged: bool | None
    error: float
    note: str

    @property
    def digits(self) -> float:
        return MAX_DIGITS if self.error == 0 else min(MAX_DIGITS, max(0.0, -math.log10(self.error)))


# --------------------------------------------------------------------------------------------- data


def random_coefficients(rng: np.random.Generator, *, n_features: int) -> NDArray[np.float64]:
    """Coefficients with random signs and magnitudes in ``COEF_MAGNITUDE``."""
    return rng.choice([-1.0, 1.0], n_features) * rng.uniform(*COEF_MAGNITUDE, n_features)


def make_dense(n_rows: int, *, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Well-conditioned problem: ``X ~ N(0, 1)``, ``y = X w + TRUE_INTERCEPT + N(0, DENSE_NOISE²)``."""
    rng = np.random.default_rng([seed, 1])
    X = rng.standard_normal((n_rows, N_FEATURES))
    y = X @ random_coefficients(rng, n_features=N_FEATURES) + TRUE_INTERCEPT + DENSE_NOISE * rng.standard_normal(n_rows)
    return X, y


def make_ill_conditioned(n_rows: int, *, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Correlated columns: ``X = Z diag(s) Q`` with ``Z ~ N(0, 1)``, ``s`` geometric from 1 to
    ``1/√ILL_CONDITION_TARGET`` and ``Q`` a random rotation, so ``XᵀX/m ≈ Qᵀ diag(s²) Q``."""
    rng = np.random.default_rng([seed, 2])
    spectrum = np.geomspace(1.0, 1.0 / math.sqrt(ILL_CONDITION_TARGET), N_FEATURES)
    rotation, _ = np.linalg.qr(rng.standard_normal((N_FEATURES, N_FEATURES)))
    X = (rng.standard_normal((n_rows, N_FEATURES)) * spectrum) @ rotation
    y = X @ random_coefficients(rng, n_features=N_FEATURES) + TRUE_INTERCEPT + ILL_NOISE * rng.standard_normal(n_rows)
    return X, y


def build_problems(size: str, *, seed: int) -> dict[str, Problem]:
    """The benchmark problems at ``size`` ("small" or "full"), keyed by name."""
    rows = SIZES[size]
    budget = rows.stochastic_updates
    dense_X, dense_y = make_dense(rows.dense_rows, seed=seed)
    ill_X, ill_y = make_ill_conditioned(rows.illcond_rows, seed=seed)
    article_X, article_y = make_article_data(seed=seed)
    return {
        "dense": Problem("dense", "Well-conditioned dense least squares", dense_X, dense_y, stochastic_updates=budget),
        "illcond": Problem(
            "illcond", "Ill-conditioned least squares (correlated columns)", ill_X, ill_y, stochastic_updates=budget
        ),
        "article": Problem("article", "The article's 100-point problem", article_X, article_y, stochastic_updates=budget),
        "ridge": Problem("ridge", "Ridge on the dense data", dense_X, dense_y, alpha=RIDGE_ALPHA, stochastic_updates=budget),
    }


def standardized_condition_number(X: NDArray[np.float64]) -> float:
    """Condition number of the standardized ``XᵀX`` (the correlation matrix of the columns)."""
    return float(np.linalg.cond(np.atleast_2d(np.corrcoef(X, rowvar=False))))


# ---------------------------------------------------------------------------------------- reference


def lstsq_solution(problem: Problem) -> NDArray[np.float64]:
    """``[intercept, *coef]`` from ``numpy.linalg.lstsq``: on ``[1, X]`` without a penalty, and on the
    centred design stacked over ``√(m·alpha)·I`` with one (the intercept is not penalised)."""
    X, y = problem.X, problem.y
    n_rows, n_features = X.shape
    if problem.alpha == 0:
        design = np.hstack((np.ones((n_rows, 1)), X))
        return np.linalg.lstsq(design, y, rcond=None)[0]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    design = np.vstack((X - x_mean, math.sqrt(n_rows * problem.alpha) * np.eye(n_features)))
    target = np.concatenate((y - y_mean, np.zeros(n_features)))
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    return np.concatenate(([y_mean - x_mean @ coef], coef))


def reference_solution(problem: Problem) -> tuple[NDArray[np.float64], float]:
    """The reference ``[intercept, *coef]`` (gradfit's exact solver) and its largest relative
    difference from :func:`lstsq_solution`."""
    model = LinearRegression(solver="exact", alpha=problem.alpha).fit(problem.X, problem.y)
    theta = np.concatenate(([model.intercept_], model.coef_))
    return theta, relative_error(lstsq_solution(problem), reference=theta)


def relative_error(theta: NDArray[np.float64], *, reference: NDArray[np.float64]) -> float:
    """``max_i |θ_i − θ*_i| / |θ*_i|`` (infinite when θ is not finite)."""
    if not np.all(np.isfinite(theta)):
        return math.inf
    return float(np.max(np.abs(theta - reference) / np.abs(reference)))


# ------------------------------------------------------------------------------------------ methods


def fit_gradfit(X, y, *, solver: str, alpha: float, max_iter: int, seed: int) -> Fit:
    """gradfit's ``LinearRegression`` with ``tol = GRADFIT_TOL``."""
    model = LinearRegression(solver=solver, tol=GRADFIT_TOL, max_iter=max_iter, alpha=alpha, random_state=seed)
    model.fit(X, y)
    theta = np.concatenate(([model.intercept_], model.coef_))
    note = f"ran {model.solver_}" if solver == "auto" else ""
    if model.solver_ == "exact":
        return Fit(theta, note=note)
    return Fit(theta, iterations=model.n_iter_, converged=bool(model.converged_), note=note)


def stochastic_epochs(n_rows: int, *, solver: str, updates: int) -> int:
    """Epochs of a stochastic gradfit solver that cover ``updates`` updates (1 to STOCHASTIC_MAX_EPOCHS)."""
    updates_per_epoch = math.ceil(n_rows / STOCHASTIC_BATCH[solver])
    return max(1, min(STOCHASTIC_MAX_EPOCHS, math.ceil(updates / updates_per_epoch)))


def gradfit_methods(problem: Problem, *, seed: int) -> list[Method]:
    """Every gradfit solver, and ``"auto"``."""
    methods = []
    for solver in GRADFIT_DIRECT + GRADFIT_ITERATIVE + GRADFIT_STOCHASTIC:
        max_iter = GRADFIT_MAX_ITER
        label = f"gradfit {solver}"
        if solver in GRADFIT_STOCHASTIC:
            max_iter = stochastic_epochs(problem.X.shape[0], solver=solver, updates=problem.stochastic_updates)
            label += f" ({max_iter} epochs)"
        fit = partial(fit_gradfit, solver=solver, alpha=problem.alpha, max_iter=max_iter, seed=seed)
        methods.append(Method(label, "gradfit", fit))
    return methods


def fit_sklearn_linear(X, y) -> Fit:
    """scikit-learn's ``LinearRegression`` (scipy's lstsq on the centred design)."""
    model = SklearnLinearRegression().fit(X, y)
    return Fit(np.concatenate(([model.intercept_], model.coef_)))


def fit_sklearn_ridge(X, y, *, solver: str, ridge_alpha: float, seed: int) -> Fit:
    """scikit-learn's ``Ridge`` with ``solver``; iterative solvers run to ``SKLEARN_TOL``."""
    max_iter = SAG_MAX_ITER if solver in ("sag", "saga") else None
    model = Ridge(alpha=ridge_alpha, solver=solver, tol=SKLEARN_TOL, max_iter=max_iter, random_state=seed).fit(X, y)
    theta = np.concatenate(([model.intercept_], model.coef_))
    if solver not in RIDGE_ITERATIVE:
        return Fit(theta)
    iterations = None if model.n_iter_ is None else int(np.max(model.n_iter_))
    converged = iterations is None or max_iter is None or iterations < max_iter
    return Fit(theta, iterations=iterations, converged=converged)


def fit_sklearn_sgd(X, y, *, alpha: float, seed: int) -> Fit:
    """scikit-learn's ``SGDRegressor`` (default schedule), unpenalised or with the matching ridge."""
    if alpha == 0:
        model = SGDRegressor(penalty=None, max_iter=SGD_MAX_ITER, tol=SGD_TOL, random_state=seed)
    else:
        model = SGDRegressor(penalty="l2", alpha=alpha, max_iter=SGD_MAX_ITER, tol=SGD_TOL, random_state=seed)
    model.fit(X, y)
    theta = np.concatenate((model.intercept_, model.coef_))
    return Fit(theta, iterations=int(model.n_iter_), converged=model.n_iter_ < SGD_MAX_ITER)


def sklearn_methods(problem: Problem, *, seed: int) -> list[Method]:
    """scikit-learn's LinearRegression (unpenalised only), Ridge with each solver, SGDRegressor."""
    ridge_alpha = problem.alpha * problem.X.shape[0]
    methods = []
    if problem.alpha == 0:
        methods.append(Method("sklearn LinearRegression", "scikit-learn", fit_sklearn_linear))
    for solver in RIDGE_SOLVERS:
        fit = partial(fit_sklearn_ridge, solver=solver, ridge_alpha=ridge_alpha, seed=seed)
        methods.append(Method(f"sklearn Ridge {solver} (alpha={ridge_alpha:g})", "scikit-learn", fit))
    tolerances = f"max_iter={SGD_MAX_ITER}, tol={SGD_TOL:g}"
    sgd_label = f"sklearn SGDRegressor ({tolerances})" if problem.alpha == 0 else f"sklearn SGDRegressor (l2, alpha={problem.alpha:g}, {tolerances})"
    methods.append(Method(sgd_label, "scikit-learn", partial(fit_sklearn_sgd, alpha=problem.alpha, seed=seed)))
    return methods


def fit_statsmodels_ols(X, y, *, method: str) -> Fit:
    """statsmodels ``OLS(y, add_constant(X)).fit(method=...)``."""
    return Fit(np.asarray(sm.OLS(y, sm.add_constant(X, has_constant="add")).fit(method=method).params))


def fit_statsmodels_ridge(X, y, *, alpha: float) -> Fit:
    """statsmodels ``OLS.fit_regularized(L1_wt=0)`` (its closed-form ridge, by SVD), with the
    intercept's penalty set to zero; its ``alpha`` is per row, as gradfit's."""
    design = sm.add_constant(X, has_constant="add")
    penalties = np.concatenate(([0.0], np.full(X.shape[1], alpha)))
    return Fit(np.asarray(sm.OLS(y, design).fit_regularized(method="elastic_net", alpha=penalties, L1_wt=0).params))


def statsmodels_methods(problem: Problem) -> list[Method]:
    """statsmodels OLS (pinv and QR), or its ridge when the problem is penalised."""
    if problem.alpha == 0:
        return [
            Method(f"statsmodels OLS {method}", "statsmodels", partial(fit_statsmodels_ols, method=method))
            for method in ("pinv", "qr")
        ]
    fit = partial(fit_statsmodels_ridge, alpha=problem.alpha)
    return [Method("statsmodels fit_regularized (ridge)", "statsmodels", fit)]


# ------------------------------------------------------------------------------------------- timing


def time_runs(function: Callable[[], object], *, runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` calls of ``function``, warnings silenced."""
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(runs):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return times


def time_anchor(X: NDArray[np.float64], *, repeats: int) -> list[float]:
    """Seconds of ``X.T @ X`` (one warm-up, then at least ``ANCHOR_MIN_REPEATS`` runs)."""
    X.T @ X
    return time_runs(lambda: X.T @ X, runs=max(repeats, ANCHOR_MIN_REPEATS))


def measure(method: Method, problem: Problem, *, reference: NDArray[np.float64], repeats: int) -> Row:
    """Warm up once (recording the result and any warnings), then time up to ``repeats`` fits."""
    X, y = problem.X, problem.y
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        fit = method.fit(X, y)
        warm_up = time.perf_counter() - start
    categories = sorted({warning.category.__name__ for warning in caught})
    if any(issubclass(warning.category, ConvergenceWarning) for warning in caught) and fit.converged is not None:
        fit = replace(fit, converged=False)
    runs = min(repeats, int(TIME_BUDGET_S // warm_up))
    times = time_runs(lambda: method.fit(X, y), runs=runs) if runs else [warm_up]
    note = "; ".join(filter(None, [fit.note, *categories]))
    return Row(
        label=method.label,
        library=method.library,
        seconds=statistics.median(times),
        runs=runs,
        iterations=fit.iterations,
        converged=fit.converged,
        error=relative_error(fit.theta, reference=reference),
        note=note,
    )


# ------------------------------------------------------------------------------------------- output


def machine_description() -> str:
    """Platform, CPUs, library versions and the BLAS libraries loaded (numpy's and scipy's may differ)."""
    blas = "BLAS unknown"
    try:
        from threadpoolctl import threadpool_info

        libraries = [info for info in threadpool_info() if info.get("user_api") == "blas"]
        if libraries:
            blas = "BLAS: " + ", ".join(
                f"{Path(info['filepath']).parent.name.removesuffix('.libs')} {info['internal_api']} {info.get('version')} "
                f"({info['num_threads']} threads, {info.get('architecture')})"
                for info in libraries
            )
    except ImportError:
        pass
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs; python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, statsmodels {statsmodels.__version__}; {blas}"
    )


def format_cells(row: Row, *, anchor_seconds: float) -> list[str]:
    """The table cells of ``row``."""
    converged = "—" if row.converged is None else ("yes" if row.converged else "NO")
    return [
        row.label,
        f"{row.seconds * MS_PER_S:.2f}",
        f"{row.seconds / anchor_seconds:.1f}",
        "—" if row.iterations is None else f"{row.iterations:,}",
        converged,
        f"{row.error:.1e}",
        f"{row.digits:.1f}",
        str(row.runs) if row.runs else "1 (warm-up)",
        row.note,
    ]


HEADER = ["method", "time (ms)", "× XᵀX", "iterations", "converged", "max rel err", "digits", "runs", "notes"]
RIGHT_ALIGNED = {1, 2, 3, 5, 6, 7}


def render_table(rows: list[Row], *, anchor_seconds: float, markdown: bool) -> str:
    """The results table, as fixed-width text or as Markdown."""
    cells = [format_cells(row, anchor_seconds=anchor_seconds) for row in rows]
    if markdown:
        rule = ["---:" if column in RIGHT_ALIGNED else "---" for column in range(len(HEADER))]
        return "\n".join("| " + " | ".join(line) + " |" for line in [HEADER, rule, *cells])
    widths = [max(len(line[column]) for line in [HEADER, *cells]) for column in range(len(HEADER))]

    def render(line: list[str]) -> str:
        return "  ".join(
            text.rjust(width) if column in RIGHT_ALIGNED else text.ljust(width)
            for column, (text, width) in enumerate(zip(line, widths))
        ).rstrip()

    return "\n".join([render(HEADER), render(["-" * width for width in widths]), *map(render, cells)])


def fastest_line(rows: list[Row], *, anchor_seconds: float) -> str:
    """Names the fastest method with at least ``DIGITS_TARGET`` digits, and the fastest gradfit one."""
    accurate = [row for row in rows if row.digits >= DIGITS_TARGET]
    if not accurate:
        return f"No method reached {DIGITS_TARGET} digits."

    def describe(row: Row) -> str:
        return f"{row.label} ({row.seconds * MS_PER_S:.2f} ms, {row.seconds / anchor_seconds:.1f}× XᵀX)"

    best = min(accurate, key=lambda row: row.seconds)
    line = f"Fastest to ≥ {DIGITS_TARGET} digits: {describe(best)}"
    gradfit_rows = [row for row in accurate if row.library == "gradfit"]
    if best.library != "gradfit" and gradfit_rows:
        line += f"; fastest gradfit: {describe(min(gradfit_rows, key=lambda row: row.seconds))}"
    return line + "."


def run_problem(problem: Problem, *, repeats: int, seed: int, markdown: bool) -> str:
    """Measure every method on ``problem`` and return its report."""
    reference, agreement = reference_solution(problem)
    anchor_times = time_anchor(problem.X, repeats=repeats)
    methods = gradfit_methods(problem, seed=seed) + sklearn_methods(problem, seed=seed) + statsmodels_methods(problem)
    rows = [measure(method, problem, reference=reference, repeats=repeats) for method in methods]
    anchor_times += time_anchor(problem.X, repeats=repeats)
    anchor = statistics.median(anchor_times)

    n_rows, n_features = problem.X.shape
    penalty = "" if problem.alpha == 0 else f"; ridge alpha = {problem.alpha:g} (gradfit, SGDRegressor, statsmodels) = {problem.alpha * n_rows:g} (Ridge)"
    facts = [
        f"{n_rows:,} × {n_features}; condition number of the standardized XᵀX: {standardized_condition_number(problem.X):.3g}{penalty}",
        f"reference: gradfit exact; numpy.linalg.lstsq agrees to {agreement:.1e} (max relative difference)",
        f"anchor X.T @ X: {anchor * MS_PER_S:.3f} ms (median of {len(anchor_times)})",
    ]
    table = render_table(rows, anchor_seconds=anchor, markdown=markdown)
    if markdown:
        heading = f"### `{problem.name}`: {problem.title}"
        return "\n\n".join([heading, "\n".join(f"- {fact}" for fact in facts), table, fastest_line(rows, anchor_seconds=anchor)])
    heading = f"== {problem.name}: {problem.title} =="
    return "\n".join([heading, *facts, "", table, "", fastest_line(rows, anchor_seconds=anchor)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="full", help="problem sizes (small: a quick run)")
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per method after a warm-up (median reported)")
    parser.add_argument("--only", choices=PROBLEMS, help="run one problem")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for the README)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every problem's data and of the stochastic solvers")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    start = time.perf_counter()
    problems = build_problems(args.size, seed=args.seed)
    names = [args.only] if args.only else list(PROBLEMS)
    print(("Machine: " if args.markdown else "machine: ") + machine_description())
    print(
        f"size {args.size}, median of {args.repeats} timed fits after one warm-up (fewer when a fit is slower than "
        f"{TIME_BUDGET_S:g} s in all), seed {args.seed}; gradfit tol {GRADFIT_TOL:g} (relative error of every coefficient), "
        f"scikit-learn tol {SKLEARN_TOL:g}; gradfit's stochastic solvers: {SIZES[args.size].stochastic_updates:,} updates "
        f"(whole epochs, {STOCHASTIC_MAX_EPOCHS} at most)\n",
        flush=True,
    )
    for name in names:
        print(run_problem(problems[name], repeats=args.repeats, seed=args.seed, markdown=args.markdown) + "\n", flush=True)
    print(f"Total runtime: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
