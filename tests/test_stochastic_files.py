"""The stochastic solvers on files: one scan of the files an epoch, rows shuffled within blocks of
bounded size (gradfit.solvers.stochastic.SHUFFLE_BUFFER_ELEMENTS), against a per-row numpy loop
written here over the same blocks in the same orders."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradfit.solvers.stochastic as stochastic
from gradfit import LinearRegression
from gradfit.driver import minimize
from gradfit.objective import LeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.files import csv, parquet

from problems import random_problem, write_csv
from references import adam_update, row_gradient

EPS = np.finfo(np.float64).eps
SEED = 3
BLOCK_ROWS = 70  # blocks of 70 rows: 300 rows come in 5 blocks, the last of 20


@pytest.fixture
def files(tmp_path):
    X, y = random_problem(21, n=300, d=3)
    folder = tmp_path / "parts"
    folder.mkdir()
    for number, part in enumerate(np.array_split(np.arange(300), 3)):
        write_csv(folder / f"part-{number}.csv", ["a", "b", "c", "y"], np.column_stack([X[part], y[part]]))
    return folder, X, y


def reference(objective, X, y, name, *, step, batch_size, epochs, block_rows):
    """Per row, in θ's coordinates: each epoch the rows in blocks of ``block_rows`` in file order, each
    block shuffled by default_rng([seed, epoch, block]) (constant step)."""
    frame, p = objective.frame, objective.n_params
    theta, first, second, t = np.zeros(p), np.zeros(p), np.zeros(p), 0
    for k in range(epochs):
        for number, start in enumerate(range(0, len(y), block_rows)):
            rows = np.arange(start, min(start + block_rows, len(y)))
            order = rows[np.random.default_rng([SEED, k, number]).permutation(rows.size)]
            for begin in range(0, order.size, batch_size):
                batch = order[begin : begin + batch_size]
                grad = row_gradient(frame, X[batch], y[batch], theta) / len(batch)
                t += 1
                if name == "adam":
                    theta, first, second = adam_update(theta, first, second, grad, step, t)
                else:
                    theta = theta - step * grad
    return theta, t


@pytest.mark.parametrize(("name", "batch_size"), [("sgd", 1), ("minibatch", 16), ("adam", 16)])
def test_an_epoch_over_files_shuffles_within_blocks(files, monkeypatch, name, batch_size):
    folder, X, y = files
    monkeypatch.setattr(stochastic, "SHUFFLE_BUFFER_ELEMENTS", BLOCK_ROWS * 5)  # p + 1 = 5 columns a row
    source = csv(folder, target="y")
    objective = LeastSquares.from_source(source, fit_intercept=True, standardize=True)
    step = 1e-2 if name == "adam" else make_solver(name, batch_size=batch_size).step_size(objective)
    solver = make_solver(name, random_state=SEED, learning_rate=step, schedule="constant", batch_size=batch_size)
    passes = source.passes
    result = minimize(objective, solver, np.zeros(objective.n_params), max_iter=3, tol=0.0)
    assert source.passes - passes == 3  # one scan of the files an epoch
    expected, updates = reference(objective, X, y, name, step=step, batch_size=batch_size, epochs=3, block_rows=BLOCK_ROWS)
    # Rounding apart (the kernel maps a row as x·(1/(s·u)) − sh/u), the same updates: within U·p·ε·max(1, ‖θ‖∞),
    # as the in-memory kernels' test argues (each update nonexpansive at these steps).
    tolerance = updates * objective.n_params * EPS * max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(result.theta, expected, rtol=0, atol=tolerance)
    assert not np.allclose(result.theta, 0.0)


@pytest.mark.parametrize("name", ["sgd", "minibatch", "adam"])
def test_files_fitted_by_stochastic_solvers_from_python_and_the_command_line(files, name, gradfit_cli):
    folder, X, y = files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stopping at max_iter warns
        runs = [LinearRegression(solver=name, random_state=0, max_iter=20).fit(csv(folder, target="y")) for _ in range(2)]
    assert np.array_equal(runs[0].coef_, runs[1].coef_)  # same seed, same files: same bits
    # The statistics' pass, one scan an epoch, and (sgd, minibatch: the automatic step) the row-norm scan.
    assert runs[0].n_passes_ == 1 + runs[0].n_iter_ + int(name != "adam")
    code, out, err = gradfit_cli("fit", folder, "--target", "y", "--solver", name, "--max-iter", "20", "--json")
    assert code in (0, 3) and '"engine": "statistics"' in out, err


def test_row_blocks_are_the_rows_in_file_order(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = random_problem(4, n=250, d=2)
    folder = tmp_path / "parts"
    folder.mkdir()
    for number, part in enumerate(np.array_split(np.arange(250), 2)):
        pq.write_table(pa.table({"a": X[part, 0], "b": X[part, 1], "y": y[part]}), folder / f"p{number}.parquet")
    blocks = list(parquet(folder, target="y", batch_rows=40).row_blocks(100))
    assert [block[0].shape[0] for block in blocks] == [100, 100, 50]  # whatever the batches (of 40)
    np.testing.assert_array_equal(np.concatenate([block[0] for block in blocks]), X)
    np.testing.assert_array_equal(np.concatenate([block[1] for block in blocks]), y)


def test_the_command_lines_seed_makes_a_stochastic_fit_reproducible(files, gradfit_cli):
    import json

    folder, _, _ = files
    runs = [json.loads(gradfit_cli("fit", folder, "--target", "y", "--solver", "sgd", "--max-iter", "3", "--seed", "7",
                                   "--json").stdout) for _ in range(2)]
    assert runs[0]["coef"] == runs[1]["coef"] and runs[0]["intercept"] == runs[1]["intercept"]
    code, _, err = gradfit_cli("fit", folder, "--target", "y", "--solver", "sgd", "--max-iter", "3", "--seed", "7")
    assert code == 3 and "raise --max-iter" not in err  # more epochs at the same steps would not help
