"""Dask: statistics per block on a real LocalCluster's workers, tree-reduced there (issue 4)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import pandas as pd  # noqa: E402
from dask.utils import key_split  # noqa: E402

from gradfit import LinearRegression  # noqa: E402
from gradfit.errors import DataError  # noqa: E402
from gradfit.sources import as_source  # noqa: E402
from gradfit.sources.dask import BLOCK_PREFIX, MERGE_PREFIX, ORIGIN_PREFIX, DaskSource  # noqa: E402
from references import assert_same_predictions  # noqa: E402

#: Componentwise, fits from the cluster's statistics against in-memory ones. Each is within
#: κ(G)·((m + p)·u + tol) ≈ 2.6e-12 of the solution normwise in the standardized coordinates
#: (κ = 1.09, m = 6000, tol = 1e-12); the smallest standardized coefficient of `problem` is 0.017
#: of the norm, so 1.5e-10 for it, and the intercept, x̄·coef = 14.5 times its size, 4e-11.
RTOL = 1e-9
N_ROWS, N_FEATURES = 6_000, 5


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each: the blocks really live in other processes."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    """A problem with means far from zero (so the shared origin matters) and known exact answer."""
    rng = np.random.default_rng(42)
    X = rng.normal(size=(N_ROWS, N_FEATURES)) * rng.uniform(0.5, 4.0, N_FEATURES) + rng.uniform(-50, 50, N_FEATURES)
    y = X @ rng.normal(size=N_FEATURES) + 7.0 + rng.normal(size=N_ROWS)
    weight = rng.uniform(0.0, 3.0, N_ROWS)
    return X, y, weight


def close(model, reference) -> None:
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=RTOL, atol=0)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=RTOL, atol=0)


def on_cluster(client, *arrays, chunks):
    """Dask arrays of ``arrays`` (columns stacked) persisted on the workers, one block per chunk of
    rows: X's and y's pieces of a block live on the same worker, as columns of one table do."""
    stacked = np.column_stack(arrays)
    table = client.persist(da.from_array(stacked, chunks=(chunks, stacked.shape[1])))
    distributed.wait(table)
    return table


@pytest.mark.parametrize("solver", ["exact", "auto", "cg"])
def test_dask_arrays_fit_as_in_memory(client, problem, solver):
    X, y, _ = problem
    table = on_cluster(client, X, y, chunks=1000)
    model = LinearRegression(solver=solver, tol=1e-12).fit(table[:, :N_FEATURES], table[:, N_FEATURES])
    close(model, LinearRegression(solver="exact").fit(X, y))
    close(model, LinearRegression(solver=solver, tol=1e-12).fit(X, y))
    assert model.n_features_in_ == N_FEATURES and not hasattr(model, "feature_names_in_")
    assert model.solver_ == ("exact" if solver == "auto" else solver)  # streamed: 'auto' solves from the statistics


def test_dataframe_gives_feature_names(client, problem):
    X, y, _ = problem
    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = pd.DataFrame(X, columns=names).assign(target=y)
    table = client.persist(dd.from_pandas(frame, npartitions=5))
    model = LinearRegression(solver="auto").fit(table[names], table["target"])
    close(model, LinearRegression(solver="exact").fit(X, y))
    assert list(model.feature_names_in_) == names and model.n_features_in_ == N_FEATURES
    # A one-column DataFrame works as y too.
    close(LinearRegression(solver="auto").fit(table[names], table[["target"]]), model)


def test_targets_cut_to_the_frames_partitions(client, problem):
    """y in memory, or a Series partitioned otherwise, is cut to X's partitions."""
    X, y, _ = problem
    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = client.persist(dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=4))
    reference = LinearRegression(solver="exact").fit(X, y)
    source = DaskSource(frame, y)  # the partitions' lengths are counted on the cluster
    assert source.n_samples == N_ROWS
    close(LinearRegression(solver="auto").fit(source), reference)
    other = dd.from_pandas(pd.Series(y, name="target"), npartitions=7)  # known divisions: repartitioned
    close(LinearRegression(solver="auto").fit(frame, other), reference)


def test_uneven_chunks_and_chunks_along_columns(client, problem):
    X, y, _ = problem
    rows = (1, 999, 2500, 37, 2463)
    X_dask = client.persist(da.from_array(X, chunks=(rows, (2, 3))))  # cut along the columns too
    y_dask = client.persist(da.from_array(y, chunks=700))  # other row blocks than X's
    source = as_source(X_dask, y_dask)
    assert isinstance(source, DaskSource) and source.n_blocks == len(rows) and source.n_samples == N_ROWS
    model = LinearRegression(solver="auto").fit(X_dask, y_dask)
    close(model, LinearRegression(solver="exact").fit(X, y))


def test_sample_weight(client, problem):
    X, y, weight = problem
    table = on_cluster(client, X, y, weight, chunks=1500)
    reference = LinearRegression(solver="exact").fit(X, y, sample_weight=weight)
    model = LinearRegression(solver="auto").fit(table[:, :N_FEATURES], table[:, N_FEATURES], sample_weight=table[:, -1])
    close(model, reference)
    # In-memory y and weights beside a Dask X are cut to X's blocks.
    X_dask = table[:, :N_FEATURES]
    close(LinearRegression(solver="auto").fit(X_dask, y, sample_weight=weight), reference)
    # A constant weight changes nothing.
    close(LinearRegression(solver="auto").fit(X_dask, y, sample_weight=2.0), LinearRegression(solver="exact").fit(X, y))


def test_nan_in_a_block_names_the_column_row_and_block(client, problem):
    X, y, _ = problem
    bad = X.copy()
    bad[4321, 3] = np.nan
    table = on_cluster(client, bad, y, chunks=1000)
    with pytest.raises(DataError, match=r"X column 3 is NaN or infinite at row 4321 \(block 4\)"):
        LinearRegression().fit(table[:, :N_FEATURES], table[:, N_FEATURES])

    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = client.persist(dd.from_pandas(pd.DataFrame(bad, columns=names).assign(target=y), npartitions=3))
    with pytest.raises(DataError, match=r"X column 'x3' is NaN or infinite at row \d+ of partition 2, index 4321"):
        LinearRegression().fit(frame[names], frame["target"])

    bad_y = y.copy()
    bad_y[0] = np.inf  # the first row is also every block's origin
    table = on_cluster(client, X, bad_y, chunks=1000)
    with pytest.raises(DataError, match=r"y is NaN or infinite at row 0 \(block 0\)"):
        LinearRegression().fit(table[:, :N_FEATURES], table[:, N_FEATURES])


def test_statistics_are_reduced_on_the_workers(client, problem):
    """One compute: a task per block on both workers, a merge tree there, and only d×d pieces move.

    Every worker logs what it sends, key by key, to other workers and to the client. Of gradfit's
    tasks only statistics (d×d) and the origin (d + 1 numbers) travel, and the client receives
    nothing else: no block of data (10 kB of X and y each here, 120 kB in all) comes to it.
    """
    X, y, _ = problem
    table = on_cluster(client, X, y, chunks=500)  # 12 blocks: two levels of merges at split_every=8
    source = DaskSource(table[:, :N_FEATURES], table[:, N_FEATURES])

    def sent(dask_worker) -> list:  # noqa: ANN001 - distributed passes the Worker
        return list(dask_worker.transfer_outgoing_log)

    before = {worker: len(log) for worker, log in client.run(sent).items()}
    with distributed.get_task_stream(client) as stream:
        stats = source.stats()
    transfers = [entry for worker, log in client.run(sent).items() for entry in log[before[worker]:]]

    tasks = [(key_split(task["key"]), task["worker"]) for task in stream.data]
    assert sum(name == BLOCK_PREFIX for name, _ in tasks) == 12
    assert {worker for name, worker in tasks if name == BLOCK_PREFIX} == set(client.scheduler_info()["workers"])
    assert sum(name == MERGE_PREFIX for name, _ in tasks) == 3  # ⌈12/8⌉ = 2 merges, then 1: a tree on the workers
    part_bytes = ((N_FEATURES + 2) ** 2 + 4 * (N_FEATURES + 1)) * 8  # xx, xy, offsets, magnitude: d×d-sized
    to_client = [(key, size) for entry in transfers if entry["who"] is None for key, size in entry["keys"].items()]
    # The client gets the origin and the root of the merge tree (level 1), nothing else.
    assert sorted((key_split(key), key[1]) for key, _ in to_client) == sorted([(ORIGIN_PREFIX, 0), (MERGE_PREFIX, 1)])
    ours = [size for entry in transfers for key, size in entry["keys"].items() if key_split(key).startswith("gradfit")]
    assert ours and max(ours) <= part_bytes
    assert sum(entry["total"] for entry in transfers) < X.nbytes / 2  # the scheduler may balance a block, no more
    assert stats.n_samples == N_ROWS and stats.xx.shape == (N_FEATURES, N_FEATURES)


def test_empty_partitions_and_frame_lengths(client, problem):
    X, y, _ = problem
    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = dd.from_pandas(pd.DataFrame(X, columns=names).assign(target=y), npartitions=4)
    kept = frame.map_partitions(lambda part: part[part.index >= 1600])  # the first partition (0-1499) is empty
    source = DaskSource(kept[names], kept["target"])
    model = LinearRegression(solver="auto").fit(source)
    close(model, LinearRegression(solver="exact").fit(X[1600:], y[1600:]))
    assert source.n_samples == N_ROWS - 1600
    nothing = frame.map_partitions(lambda part: part[part.index < 0])
    with pytest.raises(DataError, match="no rows"):
        LinearRegression().fit(nothing[names], nothing["target"])


def test_extreme_columns_are_scaled_by_powers_of_two(client, problem):
    X, y, _ = problem
    extreme = X * np.array([1e200, 1.0, 1e-150, 1.0, 1.0])  # beyond 2^±400: squares would overflow or underflow
    target = y * 1e130
    table = on_cluster(client, extreme, target, chunks=2000)
    model = LinearRegression(solver="auto").fit(table[:, :N_FEATURES], table[:, N_FEATURES])
    close(model, LinearRegression(solver="exact").fit(extreme, target))


def test_bad_inputs_are_refused_clearly(client, problem):
    X, y, _ = problem
    X_dask = da.from_array(X, chunks=1000)
    with pytest.raises(ValueError, match="y has 5999 rows but X has 6000"):
        LinearRegression().fit(X_dask, da.from_array(y[:-1], chunks=1000))
    with pytest.raises(ValueError, match="y is required"):
        LinearRegression().fit(X_dask)
    with pytest.raises(ValueError, match="2-D"):
        LinearRegression().fit(da.from_array(y, chunks=1000), y)
    with pytest.raises(ValueError, match="draws random rows"):
        LinearRegression(solver="sgd").fit(X_dask, y)
    with pytest.raises(DataError, match=r"sample_weight is -1 at row 1234 \(block 1\)"):
        weight = np.ones(N_ROWS)
        weight[1234] = -1.0
        LinearRegression().fit(X_dask, y, sample_weight=da.from_array(weight, chunks=1000))
    frame = dd.from_pandas(pd.DataFrame({"a": X[:, 0], "label": ["u"] * N_ROWS}), npartitions=2)
    with pytest.raises(DataError, match="X column 'label' is not numeric"):
        LinearRegression().fit(frame, y)


def test_without_dask_the_message_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name == "dask" or name.startswith("dask.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.delitem(sys.modules, "gradfit.sources.dask")
    with pytest.raises(ImportError, match=r"Dask support needs the optional extra: pip install 'gradfit\[dask\]'"):
        importlib.import_module("gradfit.sources.dask")


def test_predict_runs_on_the_cluster_and_stays_lazy(client, problem):
    X, y, _ = problem
    table = on_cluster(client, X, y, chunks=1000)
    model = LinearRegression(solver="exact").fit(table[:, :N_FEATURES], table[:, N_FEATURES])
    predicted = model.predict(table[:, :N_FEATURES])
    assert isinstance(predicted, da.Array) and predicted.numblocks == (6,)
    assert_same_predictions(predicted.compute(), model.predict(X), X, model.coef_, model.intercept_)
    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = client.persist(dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=4))
    model = LinearRegression(solver="exact").fit(frame, table[:, N_FEATURES].rechunk(frame.to_dask_array(lengths=True).chunks[0]))
    series = model.predict(frame)
    assert isinstance(series, dd.Series)
    assert_same_predictions(series.compute().to_numpy(), model.predict(pd.DataFrame(X, columns=names)), X, model.coef_,
                            model.intercept_)
    with pytest.raises(ValueError, match=r"columns differ.*missing 'x4'"):
        model.predict(frame[names[:4]])
    with pytest.raises(ValueError, match=r"fitted on 5 features"):
        LinearRegression().fit(X, y).predict(table[:, :3])


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_too_little_memory_for_statistics_streams_on_the_cluster(client, problem, kind, monkeypatch):
    """Huge d: instead of d × d statistics, cg makes one distributed pass per update (d-vectors travel)."""
    from gradfit.sources import streaming

    X, y, weight = problem
    table = on_cluster(client, X, y, weight, chunks=1000)
    names = [f"x{j}" for j in range(N_FEATURES)]
    data = table[:, :N_FEATURES]
    if kind == "frame":
        data = dd.from_dask_array(data, columns=names)
    reference = LinearRegression(solver="exact").fit(X, y, sample_weight=weight)
    monkeypatch.setattr(streaming, "available_memory", lambda: 100)
    monkeypatch.setattr(streaming, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    model = LinearRegression(solver="auto", tol=1e-13).fit(data, table[:, N_FEATURES], sample_weight=table[:, N_FEATURES + 1])
    assert model.engine_ == "streaming" and model.solver_ == "cg"
    assert "switched to streaming passes over the data" in model.message_
    assert model.n_passes_ <= model.n_iter_ + 2 + model.n_iter_ // 50
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-8)
    with pytest.raises(ValueError, match=r"solver='exact' needs the d × d statistics.*solver='auto'"):
        LinearRegression(solver="exact").fit(data, table[:, N_FEATURES])


def test_streaming_pass_on_the_cluster_names_a_nan(client, problem, monkeypatch):
    from gradfit.sources import streaming

    X, y, _ = problem
    X = X.copy()
    X[2345, 3] = np.nan
    table = on_cluster(client, X, y, chunks=1000)
    monkeypatch.setattr(streaming, "available_memory", lambda: 100)
    monkeypatch.setattr(streaming, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    with pytest.raises(DataError, match=r"column 3.* is NaN or infinite at row 2345"):
        LinearRegression().fit(table[:, :N_FEATURES], table[:, N_FEATURES])


def test_sparse_blocks_are_refused_clearly():
    import scipy.sparse as sp

    X = da.from_array(np.random.default_rng(0).random((100, 5)), chunks=(50, 5)).map_blocks(sp.csr_matrix)
    y = da.from_array(np.ones(100), chunks=50)
    with pytest.raises(TypeError, match=r"scipy.sparse blocks.*X.compute\(\)"):
        LinearRegression().fit(X, y)
