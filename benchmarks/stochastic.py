"""The stochastic solvers per epoch against scikit-learn's SGDRegressor, on the same data, in the same run (issue 13).

Target: per epoch on dense 1,000,000 × 10 and 200,000 × 100 float64, gradfit's ``sgd`` takes at most
the time of ``SGDRegressor(tol=None, shuffle=True)`` per epoch (ratio ≤ 1).

    python benchmarks/stochastic.py [--shapes 1000000x10,200000x100] [--sparse 1000000x100000] [--per-row 50]
        [--epochs 5] [--repeats 3] [--solvers sgd,minibatch,adam] [--no-fit]

What is measured, per shape:

Every repeat times each method once, in turn (so a burst of load on a shared machine hits them alike);
the medians over the repeats are printed.

* **gradfit, per epoch** (``step``): the objective is built once, as a fit builds it
  (``LeastSquares.from_source`` on a ``MemorySource``); then, per repeat, the solver's ``init``, one
  untimed warm-up epoch (the ``1st epoch`` column, of the first repeat: the kernels are loaded by
  then, by the warm-up fits, or by it with ``--no-fit``) and ``--epochs`` epochs, each timed alone: one ``solver.step``, that is the permutation
  (``default_rng([seed, k]).permutation``), the pass over the batches and the evaluation of the full
  objective at the epoch's end (O(p²) from the statistics). The median over every timed epoch is printed.
* **gradfit, whole fit** (``fit / epochs``): ``LinearRegression(solver=..., max_iter=epochs, tol=0)``
  end to end (validation, the statistics pass, the step size's pass over the rows) divided by the
  epochs, after one warm-up fit. ``--no-fit`` leaves it out.
* **SGDRegressor**: ``SGDRegressor(max_iter=epochs, tol=None, shuffle=True, random_state=0).fit(X, y)``
  divided by the epochs (its per-fit overhead spread over them, which favours it over ``max_iter=1``),
  after one warm-up fit. The ratio column is gradfit's per-epoch time over this.
* **anchor**: one ``X @ theta`` over the same X (a memory-bandwidth floor for one epoch), the best of
  3 in each repeat.
* **compile**: the first epoch in a fresh interpreter with an empty ``NUMBA_CACHE_DIR`` (numba compiles the
  kernels) and in a second one with that cache filled (numba loads them), on a 1,000 × 5 problem, for
  every solver; less one epoch's time there, this is what a first fit pays before its first epoch.

**Sparse** (``--sparse``, default 1,000,000 × 100,000 CSR, ``--per-row`` 50 nonzeros a row, from
``sparse_problem``; ``sgd`` and ``minibatch`` only: ``adam`` is refused for sparse X): the objective is
``StreamingLeastSquares`` on a ``StreamingSource``, as a fit builds it; ``step`` is timed as above (its
end-of-epoch evaluation is a pass over X here, printed apart as ``loss_grad``); SGDRegressor is
``SGDRegressor(max_iter=1, tol=None)`` a fit, one epoch. The target is the same: ``sgd``'s step ≤ 1×.

The data: standard normal columns (so SGDRegressor, which does not standardize, is stable), a linear
target with unit noise, from ``np.random.default_rng(0)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import SGDRegressor

from gradfit import LinearRegression
from gradfit.objective import LeastSquares, StreamingLeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.memory import MemorySource
from gradfit.sources.passes import StreamingSource

SOLVERS = ("sgd", "minibatch", "adam")
SHAPES = "1000000x10,200000x100"
#: Sparse CSR shapes (``--sparse``), their nonzeros a row, and the solvers offered for a sparse X.
SPARSE_SHAPES = "1000000x100000"
SPARSE_PER_ROW = 50
SPARSE_SOLVERS = ("sgd", "minibatch")
#: The solver whose ratio the target is about.
TARGET_SOLVER = "sgd"
TARGET_RATIO = 1.0

#: Run in a fresh interpreter: one epoch of every stochastic solver on a small problem, timed.
FIRST_EPOCH = """
import time, numpy as np
t0 = time.perf_counter()
from gradfit.objective import LeastSquares
from gradfit.solvers import make_solver
from gradfit.sources.memory import MemorySource
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 5)); y = X @ rng.normal(size=5) + rng.standard_normal(1000)
objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
start = time.perf_counter()
for name in {solvers!r}:
    solver = make_solver(name, random_state=0)
    solver.step(objective, solver.init(objective, np.zeros(objective.n_params)))
print(time.perf_counter() - start)
"""


def problem(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = X @ rng.normal(size=d) + 3.0 + rng.standard_normal(n)
    return X, y


def sparse_problem(n: int, d: int, per_row: int):
    """A CSR ``n × d`` with ``per_row`` distinct nonzeros a row (sorted columns, standard normal values)
    and a linear target with unit noise, from ``np.random.default_rng(0)``. Columns are drawn as sorted
    integers below ``d − per_row`` plus ``0, 1, …, per_row − 1``: distinct without a rejection loop."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    columns = np.sort(rng.integers(0, d - per_row, size=(n, per_row), dtype=np.int32), axis=1)
    columns += np.arange(per_row, dtype=np.int32)
    data = rng.standard_normal(n * per_row)
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32 if n * per_row < 2**31 else np.int64)
    X = sp.csr_matrix((data, columns.reshape(-1), indptr), shape=(n, d))
    y = X @ rng.normal(size=d) + 3.0 + rng.standard_normal(n)
    return X, y


def epoch_samples(objective, solver, samples: list[float]) -> float:
    """One repeat of ``solver``: init, an untimed warm-up epoch (returned: its seconds), then
    ``len(samples)`` epochs, each timed into ``samples``."""
    state = solver.init(objective, np.zeros(objective.n_params))
    start = time.perf_counter()
    state = solver.step(objective, state)  # warm-up: the kernel compiles or loads here, the first time
    first = time.perf_counter() - start
    for index in range(len(samples)):
        start = time.perf_counter()
        state = solver.step(objective, state)
        samples[index] = time.perf_counter() - start
    return first


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def interleaved(X, y, objective, solvers: tuple[str, ...], *, epochs: int, repeats: int, whole_fits: bool,
                reference_epochs: int | None = None):
    """Seconds per epoch, medians: ``{"anchor", "sklearn", name, name + " fit"}`` (and ``"evaluation"``,
    one ``objective.loss_grad``), and each solver's first epoch. Every repeat times each method once, in
    turn, so a burst of load on a shared machine hits them alike instead of one method's whole series.
    SGDRegressor runs ``reference_epochs`` epochs a fit (default ``epochs``), timed per epoch."""
    theta = np.ones(X.shape[1])
    reference_epochs = reference_epochs or epochs
    reference = SGDRegressor(max_iter=reference_epochs, tol=None, shuffle=True, random_state=0)
    at = np.full(objective.n_params, 0.01)
    models = {name: LinearRegression(solver=name, max_iter=epochs, tol=0.0, random_state=0) for name in solvers}
    stepping = {name: make_solver(name, random_state=0) for name in solvers}
    samples: dict[str, list[float]] = {"anchor": [], "sklearn": []}
    first: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, as asked
        reference.fit(X, y)  # warm-up
        for model in models.values() if whole_fits else ():
            model.fit(X, y)
        for _ in range(repeats):
            samples["anchor"].append(min(timed(lambda: X @ theta) for _ in range(3)))
            samples["sklearn"].append(timed(lambda: reference.fit(X, y)) / reference_epochs)
            samples.setdefault("evaluation", []).append(timed(lambda: objective.loss_grad(at)))
            for name in solvers:
                epochs_timed = [0.0] * epochs
                seconds = epoch_samples(objective, stepping[name], epochs_timed)
                first.setdefault(name, seconds)
                samples.setdefault(name, []).extend(epochs_timed)
                if whole_fits:
                    samples.setdefault(name + " fit", []).append(timed(lambda name=name: models[name].fit(X, y)) / epochs)
    return {key: statistics.median(values) for key, values in samples.items()}, first


def first_epochs(solvers: tuple[str, ...]) -> tuple[float, float]:
    """Seconds of the first epoch of every solver in a fresh interpreter: cold cache, then warm."""
    code = FIRST_EPOCH.format(solvers=solvers)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                for _ in range(2)]
    return float(runs[0].stdout.split()[-1]), float(runs[1].stdout.split()[-1])


def print_solvers(times: dict, first: dict, names, *, whole_fits: bool) -> int:
    """gradfit's rows of one shape's table, per epoch against SGDRegressor and the anchor; 1 where the
    target solver misses TARGET_RATIO, else 0."""
    anchor, reference = times["anchor"], times["sklearn"]
    status = 0
    for name in names:
        seconds = times[name]
        ratio = seconds / reference
        verdict = ""
        if name == TARGET_SOLVER:
            met = ratio <= TARGET_RATIO
            status |= 0 if met else 1
            verdict = "  MET" if met else "  MISSED"
        print(f"{'gradfit ' + name + ' (step)':34s} {seconds:9.4f} {ratio:9.3f} {seconds / anchor:8.1f} {first[name]:10.4f}{verdict}")
        if whole_fits:
            whole = times[name + " fit"]
            print(f"{'gradfit ' + name + ' (fit / epochs)':34s} {whole:9.4f} {whole / reference:9.3f} {whole / anchor:8.1f}")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=SHAPES, help="comma-separated ROWSxFEATURES of dense X, or 'none'")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--no-fit", action="store_true", help="leave out the whole-fit timings")
    parser.add_argument("--sparse", default=SPARSE_SHAPES, help="comma-separated ROWSxFEATURES of sparse CSR X, or 'none'")
    parser.add_argument("--per-row", type=int, default=SPARSE_PER_ROW, help="nonzeros a row of the sparse X")
    args = parser.parse_args()
    solvers = tuple(args.solvers.split(","))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"numpy {np.__version__}, scikit-learn {sklearn.__version__}")
    try:
        import numba

        print(f"numba {numba.__version__}")
    except ImportError:
        print("numba not installed")
    cold, warm = first_epochs(solvers)
    print(f"first epoch of {', '.join(solvers)} in a fresh interpreter (1,000 × 5): {cold:.2f} s with an empty "
          f"numba cache (compile), {warm:.2f} s with it filled (load)")
    status = 0
    for shape in () if args.shapes == "none" else args.shapes.split(","):
        n, d = (int(part) for part in shape.split("x"))
        X, y = problem(n, d)
        objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
        times, first = interleaved(X, y, objective, solvers, epochs=args.epochs, repeats=args.repeats, whole_fits=not args.no_fit)
        anchor, reference = times["anchor"], times["sklearn"]
        print(f"\ndata: {n:,} × {d} float64 ({X.nbytes / 2**20:.0f} MiB); {args.epochs} epochs, "
              f"medians over {args.repeats} repeats, interleaved")
        print(f"{'method':34s} {'s/epoch':>9s} {'÷ sklearn':>9s} {'÷ X@θ':>8s} {'1st epoch':>10s}")
        print(f"{'X @ theta (anchor)':34s} {anchor:9.4f} {anchor / reference:9.3f} {1.0:8.1f}")
        print(f"{'SGDRegressor(tol=None)':34s} {reference:9.4f} {1.0:9.3f} {reference / anchor:8.1f}")
        status |= print_solvers(times, first, solvers, whole_fits=not args.no_fit)
    sparse_solvers = tuple(name for name in solvers if name in SPARSE_SOLVERS)
    for shape in () if args.sparse == "none" else args.sparse.split(","):
        n, d = (int(part) for part in shape.split("x"))
        start = time.perf_counter()
        X, y = sparse_problem(n, d, args.per_row)
        built = time.perf_counter() - start
        objective = StreamingLeastSquares(StreamingSource(X, y), fit_intercept=True, standardize=True)
        times, first = interleaved(X, y, objective, sparse_solvers, epochs=args.epochs, repeats=args.repeats,
                                   whole_fits=not args.no_fit, reference_epochs=1)
        anchor, reference = times["anchor"], times["sklearn"]
        size = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
        print(f"\ndata: {n:,} × {d:,} CSR, {args.per_row} nonzeros a row ({size:.0f} MiB, built in {built:.0f} s); "
              f"{args.epochs} epochs, medians over {args.repeats} repeats, interleaved")
        print(f"{'method':34s} {'s/epoch':>9s} {'÷ sklearn':>9s} {'÷ X@θ':>8s} {'1st epoch':>10s}")
        print(f"{'X @ theta (anchor)':34s} {anchor:9.4f} {anchor / reference:9.3f} {1.0:8.1f}")
        print(f"{'SGDRegressor(max_iter=1, tol=None)':34s} {reference:9.4f} {1.0:9.3f} {reference / anchor:8.1f}")
        evaluation = times["evaluation"]
        print(f"{'  gradfit loss_grad (in each step)':34s} {evaluation:9.4f} {evaluation / reference:9.3f} {evaluation / anchor:8.1f}")
        status |= print_solvers(times, first, sparse_solvers, whole_fits=not args.no_fit)
    print(f"\ntarget: gradfit {TARGET_SOLVER} per epoch ≤ {TARGET_RATIO}× SGDRegressor's on every shape")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
