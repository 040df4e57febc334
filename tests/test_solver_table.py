"""The solver table: every solver × every source × known problems, through the estimator, against the
exact least-squares answer in rational arithmetic (``references.exact_least_squares``: code gradfit
does not share).

A row is either a fit whose claim is true, or a refusal that names what would work:

- every coefficient and the intercept within ``error_bound_`` of the exact answer, relatively (the
  bound is the estimator's certificate, so no tolerance of the test's own is needed beyond the one
  rounding of the comparison: ``2ε`` relative);
- ``converged_`` exactly when that bound is within ``tol``; every deterministic solver converges on
  these problems (κ ≤ 1.2e3 in the optimised coordinates);
- a combination a source cannot offer (random rows from a stream, the d × d statistics of a sparse
  design) raises ``ValueError`` naming the solvers that can.

Sources: a dense ndarray (statistics engine), a CSR matrix (the streaming engine: fused passes), a
Parquet file streamed in record batches, Dask arrays (four blocks, synchronous scheduler: the table
is about the solver and the source, not the cluster; ``test_dask.py`` runs a LocalCluster).
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

import gradfit.sources
from gradfit import LinearRegression
from gradfit.solvers import SOLVERS

from references import exact_least_squares

DETERMINISTIC = ("gd", "momentum", "nesterov", "cg", "lbfgs", "exact", "auto")
STOCHASTIC = ("sgd", "minibatch", "adam")
SOURCES = ("dense", "sparse", "parquet", "dask")
TOL = 1e-8
#: The comparison ``|found − exact| ≤ bound·|exact|`` is itself evaluated in float64 (found and the
#: rounded exact value each within ε/2 relative): 2ε covers it.
COMPARISON_ROUNDING = 2 * np.finfo(np.float64).eps
#: Epochs a stochastic solver runs here: its row updates are a Python loop (3 ms an epoch on 200
#: rows), and the row of the table is about its claim, not its speed.
STOCHASTIC_EPOCHS = 30


def problem(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(X, y, fit_intercept) of a known problem; crc32 of the name seeds it (str hash() is salted)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if name in ("well-conditioned", "no intercept"):
        X = rng.normal(size=(200, 4)) * [1, 10, 0.1, 3] + [5, -2, 0, 1]
        y = X @ [1.0, -0.5, 20.0, 0.3] + 2.0 + 0.1 * rng.normal(size=200)
        return X, y, name == "well-conditioned"
    if name == "correlated":  # three noisy copies of one column: κ of the centred design ≈ 1.2e3
        base = rng.normal(size=(300, 1))
        X = base + 0.05 * rng.normal(size=(300, 3))
        y = X @ [1.0, 2.0, -1.0] + 0.5 + 0.01 * rng.normal(size=300)
        return X, y, True
    raise ValueError(name)


PROBLEMS = ("well-conditioned", "no intercept", "correlated")


@pytest.fixture(scope="module")
def exact():
    return {name: exact_least_squares(*problem(name)[:2], fit_intercept=problem(name)[2]) for name in PROBLEMS}


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("table")
    paths = {}
    for name in PROBLEMS:
        X, y, _ = problem(name)
        path = folder / f"{zlib.crc32(name.encode())}.parquet"
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(y=y)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        paths[name] = path
    return paths


def fit_arguments(source: str, name: str, parquet_files) -> tuple:
    X, y, _ = problem(name)
    if source == "dense":
        return X, y
    if source == "sparse":
        return sp.csr_matrix(X), y
    if source == "parquet":
        return (gradfit.sources.parquet(parquet_files[name], target="y"),)
    da = pytest.importorskip("dask.array")
    rows = -(-len(y) // 4)
    return da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)


def refusal(solver: str, source: str) -> str | None:
    """The start of the message a combination is refused with, or None where it is offered."""
    if solver == "adam" and source == "sparse":  # sgd and minibatch walk a sparse X's nonzeros; Adam's moments are dense
        return f"solver='{solver}' is not offered for this X"
    if solver in STOCHASTIC and source == "dask":
        return f"solver='{solver}' draws random rows, which a streamed source cannot give"
    if solver == "exact" and source == "sparse":
        return "solver='exact' needs the d × d statistics"
    return None


def test_the_table_covers_every_registered_solver():
    assert set(DETERMINISTIC + STOCHASTIC) == set(SOLVERS) | {"exact", "auto"}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("solver", DETERMINISTIC + STOCHASTIC)
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_solver_on_every_source_gives_what_it_claims(solver, source, name, exact, parquet_files):
    import dask

    fit_intercept = problem(name)[2]
    stochastic = solver in STOCHASTIC
    model = LinearRegression(
        solver=solver, tol=TOL, fit_intercept=fit_intercept, random_state=0,
        max_iter=STOCHASTIC_EPOCHS if stochastic else 200_000,
    )
    arguments = fit_arguments(source, name, parquet_files)
    refused = refusal(solver, source)
    if refused is not None:
        with pytest.raises(ValueError, match=refused) as caught:
            model.fit(*arguments)
        assert "'cg'" in str(caught.value)  # it names a solver that works here
        return
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        # A stochastic run stopped at max_iter warns (ConvergenceWarning); a deterministic one may not.
        warnings.simplefilter("ignore" if stochastic else "error")
        model.fit(*arguments)
    expected = np.array([float(value) for value in exact[name]])
    found = np.r_[model.intercept_, model.coef_] if fit_intercept else model.coef_
    bound = model.error_bound_
    if source == "sparse":
        # The streaming engine certifies θ as a whole: ‖θ − θ*‖ ≤ error_bound_·‖θ‖ in its standardized
        # coordinates (see LinearRegression.error_bound_).
        theta, rounding = standardized(found, problem(name)), standardized(expected, problem(name))
        error = np.linalg.norm(theta[0] - rounding[0])
        assert error <= bound * np.linalg.norm(theta[0]) + rounding[1] + theta[1], (
            f"{solver} on {source}: normwise error {error / np.linalg.norm(theta[0]):.2e} above its bound {bound:.2e}"
        )
    else:
        assert np.all(np.abs(found - expected) <= (bound + COMPARISON_ROUNDING) * np.abs(expected)), (
            f"{solver} on {source}: error {np.max(np.abs(found - expected) / np.abs(expected)):.2e} above its bound {bound:.2e}"
        )
    assert model.converged_ == (bound <= TOL)
    if not stochastic:
        assert model.converged_, model.message_


def standardized(answer: np.ndarray, data: tuple[np.ndarray, np.ndarray, bool]) -> tuple[np.ndarray, float]:
    """``answer`` ([intercept,] coefficients in the user's units) in the optimised coordinates of
    ``standardize=True`` (population moments): ``θ_j = coef_j·σ_j/τ`` and, with an intercept,
    ``θ0 = (intercept + Σ coef_j μ_j − μ_y)/τ`` (or ``σ``, ``τ`` the root mean squares without one);
    with the rounding this conversion may add in norm: each θ_j is three roundings off (3ε
    relative), and θ0 a sum of d + 2 terms, so (d + 2)·ε of the sum of their sizes."""
    X, y, fit_intercept = data
    eps = np.finfo(np.float64).eps
    coef = answer[1:] if fit_intercept else answer
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), y.mean()
        x_unit, y_unit = X.std(axis=0), y.std()
        terms = np.r_[answer[0], coef * x_mean, -y_mean]
        weights = coef * x_unit / y_unit
        theta = np.r_[terms.sum() / y_unit, weights]
        rounding = (len(terms) * eps * np.abs(terms).sum() / y_unit) + 3 * eps * np.linalg.norm(weights)
    else:
        x_unit, y_unit = np.sqrt((X**2).mean(axis=0)), np.sqrt((y**2).mean())
        theta = coef * x_unit / y_unit
        rounding = 3 * eps * np.linalg.norm(theta)
    return theta, float(rounding)
