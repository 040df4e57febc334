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

import pandas as pd  # noqa: E402 - after the importorskip of dask above
from dask.utils import key_split  # noqa: E402 - after the importorskip of dask above

from gradfit import LinearRegression  # noqa: E402 - after the importorskip of dask above
from gradfit.errors import DataError  # noqa: E402 - after the importorskip of dask above
from gradfit.sources import as_source  # noqa: E402 - after the importorskip of dask above
from gradfit.sources.dask import BLOCK_PREFIX, MERGE_PREFIX, ORIGIN_PREFIX, DaskSource  # noqa: E402 - after the importorskip of dask above

from references import assert_same_predictions  # noqa: E402 - after the importorskip of dask above

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
    model = LinearRegression(solver=solver, tol=1e-10).fit(table[:, :N_FEATURES], table[:, N_FEATURES])
    close(model, LinearRegression(solver="exact").fit(X, y))
    close(model, LinearRegression(solver=solver, tol=1e-10).fit(X, y))
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
    X, y, weight = problem
    names = [f"x{j}" for j in range(N_FEATURES)]
    frame = client.persist(dd.from_pandas(pd.DataFrame(X, columns=names), npartitions=4))
    reference = LinearRegression(solver="exact").fit(X, y)
    source = DaskSource(frame, y)  # the partitions' lengths are counted on the cluster
    assert source.n_samples == N_ROWS
    close(LinearRegression(solver="auto").fit(source), reference)
    other = dd.from_pandas(pd.Series(y, name="target"), npartitions=7)  # known divisions: repartitioned
    close(LinearRegression(solver="auto").fit(frame, other), reference)
    # y a column of X's frame, the weights from elsewhere: one read of X and y, the weights repartitioned.
    table = frame.assign(target=dd.from_pandas(pd.Series(y, name="target"), npartitions=4))
    weights = dd.from_pandas(pd.Series(weight, name="w"), npartitions=3)
    close(LinearRegression(solver="auto").fit(table[names], table["target"], sample_weight=weights),
          LinearRegression(solver="exact").fit(X, y, sample_weight=weight))


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

    def sent(dask_worker) -> list:  # distributed passes the Worker
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
    with pytest.raises(DataError, match="y has 5999 rows but X has 6000"):
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
    from gradfit import engine

    X, y, weight = problem
    table = on_cluster(client, X, y, weight, chunks=1000)
    names = [f"x{j}" for j in range(N_FEATURES)]
    data = table[:, :N_FEATURES]
    if kind == "frame":
        data = dd.from_dask_array(data, columns=names)
    reference = LinearRegression(solver="exact").fit(X, y, sample_weight=weight)
    monkeypatch.setattr(engine, "available_memory", lambda: 100)
    monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    model = LinearRegression(solver="auto", tol=1e-13).fit(data, table[:, N_FEATURES], sample_weight=table[:, N_FEATURES + 1])
    assert model.engine_ == "streaming" and model.solver_ == "cg"
    assert "switched to streaming passes over the data" in model.message_
    assert model.n_passes_ <= model.n_iter_ + 2 + model.n_iter_ // 50
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-8)
    with pytest.raises(ValueError, match=r"solver='exact' needs the d × d statistics.*solver='auto'"):
        LinearRegression(solver="exact").fit(data, table[:, N_FEATURES])


def test_streaming_pass_on_the_cluster_names_a_nan(client, problem, monkeypatch):
    from gradfit import engine

    X, y, _ = problem
    X = X.copy()
    X[2345, 3] = np.nan
    table = on_cluster(client, X, y, chunks=1000)
    monkeypatch.setattr(engine, "available_memory", lambda: 100)
    monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)  # consult it even for small d
    with pytest.raises(DataError, match=r"column 3.* is NaN or infinite at row 2345"):
        LinearRegression().fit(table[:, :N_FEATURES], table[:, N_FEATURES])


def test_sparse_blocks_are_refused_clearly():
    import scipy.sparse as sp

    X = da.from_array(np.random.default_rng(0).random((100, 5)), chunks=(50, 5)).map_blocks(sp.csr_matrix)
    y = da.from_array(np.ones(100), chunks=50)
    with pytest.raises(TypeError, match=r"scipy.sparse blocks.*X.compute\(\)"):
        LinearRegression().fit(X, y)


# --- Frames read from files: X and y partitioned differently by Dask, aligned by gradfit ----------

#: Machine epsilon of float64: every tolerance below is a multiple of it.
EPS = np.finfo(np.float64).eps
FILES, ROW_GROUP_ROWS = 3, 500  # 3 files of 2,000 rows, 4 row groups each
CSV_BLOCK_BYTES = 100_000  # about 3 blocks per CSV file of ~330 kB


def solution_tolerance(X) -> float:
    """Norm-wise relative difference allowed between two least-squares fits of the same rows.

    Both solve the normal equations of the centred data, gathered in a different order (block by
    block on the cluster, in one piece in memory). A sum of n products is within n·ε of the exact
    one relative to |X|ᵀ|X| (Higham, *Accuracy and Stability*, §3.1, worst case), whose norm is at
    most d times ‖XᵀX‖; the solution moves by at most κ(XᵀX) = κ(X_centred)² times that relative
    change. Two fits, each that far from the exact answer: twice n·d·ε·κ².
    """
    n, d = X.shape
    return 2 * n * d * EPS * np.linalg.cond(X - X.mean(axis=0)) ** 2


def same_fit(model, reference, X) -> None:
    """Coefficients within :func:`solution_tolerance` of the in-memory fit's; the intercept
    ``ȳ − x̄ᵀβ`` within that much of ``|b| + ‖x̄‖‖β‖`` (what an error of that size in β moves it by)."""
    tolerance = solution_tolerance(X)
    assert np.linalg.norm(model.coef_ - reference.coef_) <= tolerance * np.linalg.norm(reference.coef_)
    scale = abs(reference.intercept_) + np.linalg.norm(X.mean(axis=0)) * np.linalg.norm(reference.coef_)
    assert abs(model.intercept_ - reference.intercept_) <= tolerance * scale


def same_predictions(predicted, model, frame) -> None:
    """Each prediction is a sum of d + 1 terms, added in another order by the whole-array product
    than block by block: within (d + 1)·ε of ``|x|·|β| + |b|`` each way, so twice that apart."""
    d = frame.shape[1]
    bound = 2 * (d + 1) * EPS * (np.abs(frame.to_numpy()) @ np.abs(model.coef_) + abs(model.intercept_))
    assert np.all(np.abs(np.asarray(predicted) - model.predict(frame)) <= bound)


@pytest.fixture(scope="module")
def files(tmp_path_factory, problem):
    """The problem as 3 Parquet files (4 row groups each) and 3 CSV files, columns x0..x4 and y."""
    X, y, weight = problem
    names = [f"x{j}" for j in range(N_FEATURES)]
    table = pd.DataFrame(X, columns=names).assign(y=y, w=weight)
    root = tmp_path_factory.mktemp("files")
    (root / "parquet").mkdir()
    (root / "csv").mkdir()
    rows = N_ROWS // FILES
    for number in range(FILES):
        part = table.iloc[number * rows : (number + 1) * rows]
        part.to_parquet(root / "parquet" / f"part{number}.parquet", row_group_size=ROW_GROUP_ROWS, index=False)
        part.to_csv(root / "csv" / f"part{number}.csv", index=False)
    return root, names


def read(root, kind: str, **options):
    """The files as a Dask DataFrame, and the same rows as read in memory (the fit's reference)."""
    if kind == "parquet":
        return dd.read_parquet(root / "parquet", **options), pd.read_parquet(root / "parquet")
    pattern = str(root / "csv" / "*.csv")
    in_memory = pd.concat([pd.read_csv(path) for path in sorted((root / "csv").glob("*.csv"))], ignore_index=True)
    return dd.read_csv(pattern, blocksize=CSV_BLOCK_BYTES, **options), in_memory


def features(frame, names, selection: str):
    return frame[names] if selection == "columns" else frame.drop(columns=["y", "w"])


def partitions(collection) -> int:
    """Partitions once Dask's optimiser has planned the read (what computing it would give)."""
    return collection.optimize().npartitions


@pytest.mark.parametrize("selection", ["columns", "drop"])
@pytest.mark.parametrize("split_row_groups", ["infer", True])
def test_read_parquet_frames_partitioned_apart_fit_as_in_memory(client, files, selection, split_row_groups):
    """``df[features]`` and ``df["y"]`` of one read_parquet: Dask reads fewer columns in bigger
    partitions, so X and y come in different blocks. gradfit lines them up (the issue's failure:
    ``block 0 of X has 2000 rows but y's has 4000``)."""
    root, names = files
    frame, in_memory = read(root, "parquet", split_row_groups=split_row_groups)
    X, y = features(frame, names, selection), frame["y"]
    assert partitions(X) != partitions(y)  # what made the fit fail: Dask plans the reads apart
    X_memory = in_memory[names].to_numpy()
    reference = LinearRegression(solver="exact").fit(X_memory, in_memory["y"])
    model = LinearRegression(solver="auto").fit(X, y)
    same_fit(model, reference, X_memory)
    assert list(model.feature_names_in_) == names
    weighted = LinearRegression(solver="auto").fit(X, y, sample_weight=frame["w"])
    same_fit(weighted, LinearRegression(solver="exact").fit(X_memory, in_memory["y"], sample_weight=in_memory["w"]), X_memory)
    # y in memory beside the files' X: cut to X's partitions, as before.
    same_fit(LinearRegression(solver="auto").fit(X, in_memory["y"].to_numpy()), reference, X_memory)

    predicted = model.predict(X)
    assert isinstance(predicted, dd.Series)  # lazy, on X's index
    series = predicted.compute()
    assert series.index.equals(X.index.compute())
    same_predictions(series.to_numpy(), model, in_memory[names])


@pytest.mark.parametrize("selection", ["columns", "drop"])
def test_read_csv_frames_fit_as_in_memory(client, files, selection):
    root, names = files
    frame, in_memory = read(root, "csv")
    X, y = features(frame, names, selection), frame["y"]
    assert partitions(X) > FILES  # several blocks per file
    X_memory = in_memory[names].to_numpy()
    model = LinearRegression(solver="auto").fit(X, y, sample_weight=frame["w"])
    same_fit(model, LinearRegression(solver="exact").fit(X_memory, in_memory["y"], sample_weight=in_memory["w"]), X_memory)
    predicted = model.predict(X)
    assert isinstance(predicted, dd.Series)
    same_predictions(predicted.compute().to_numpy(), model, in_memory[names])


def counting_reads(monkeypatch, kind: str) -> list[tuple[int, list[str]]]:
    """Wrap Dask's reader of a Parquet piece or a CSV block: each call's rows and columns are
    appended to the list returned (in this process: run the graph on the synchronous scheduler)."""
    reads: list[tuple[int, list[str]]] = []
    if kind == "parquet":
        from dask.dataframe.io.parquet.arrow import ArrowDatasetEngine

        original = ArrowDatasetEngine._read_table.__func__

        def read_table(cls, *args, **kwargs):
            table = original(cls, *args, **kwargs)
            reads.append((table.num_rows, list(table.column_names)))
            return table

        monkeypatch.setattr(ArrowDatasetEngine, "_read_table", classmethod(read_table))
    else:
        from dask.dataframe.io import csv

        original_text = csv.pandas_read_text

        def read_text(*args, **kwargs):
            block = original_text(*args, **kwargs)
            reads.append((len(block), list(block.columns)))
            return block

        monkeypatch.setattr(csv, "pandas_read_text", read_text)
    return reads


@pytest.mark.parametrize("selection", ["columns", "drop"])
@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_each_pass_reads_the_files_once(files, kind, selection, monkeypatch):
    """A pass reads each row once, with all its columns: X's, y's and the weights' blocks come out of
    the same read (no pass to count rows, none to re-chunk). Before, each CSV block was read three
    times (X, y, weights: 18,000 rows for 6,000) and Parquet reads of y were planned apart from X's.
    The statistics pass and a later pass (here a streaming one) map over the same aligned blocks."""
    root, names = files
    frame, _ = read(root, kind)
    reads = counting_reads(monkeypatch, kind)
    with dask.config.set(scheduler="synchronous"):
        source = DaskSource(features(frame, names, selection), frame["y"], frame["w"])
        assert not reads  # lining the blocks up read nothing
        source.stats()
        assert sum(rows for rows, _ in reads) == N_ROWS
        assert all(set(names) | {"y", "w"} <= set(columns) for _, columns in reads)
        # 3 files of 4 row groups: one read per file (its row groups together); CSV: one per block.
        assert len(reads) == (FILES if kind == "parquet" else partitions(frame)) == source.n_blocks
        reads.clear()
        source.residual_pass(np.zeros(N_FEATURES), 0.0, 1.0)
        assert sum(rows for rows, _ in reads) == N_ROWS and len(reads) == source.n_blocks


def test_reads_run_once_per_block_on_the_cluster(client, files):
    """On the workers too: one read task per block (a Parquet row group here), each feeding X, y and
    the weights of its rows to that block's statistics."""
    root, names = files
    frame, _ = read(root, "parquet", split_row_groups=True)
    source = DaskSource(frame[names], frame["y"], frame["w"])
    assert source.n_blocks == FILES * (N_ROWS // FILES // ROW_GROUP_ROWS)  # the row groups, not y's fused partitions
    with distributed.get_task_stream(client) as stream:
        source.stats()
    names_run = [key_split(task["key"]) for task in stream.data]
    assert sum(name.startswith("read") for name in names_run) == source.n_blocks
    assert names_run.count(BLOCK_PREFIX) == source.n_blocks


def test_dask_arrays_chunked_apart(client, problem):
    """y and the weights in other row chunks than X's are rechunked to X's on the workers; of unknown
    chunks, they are paired block for block when their numbers match, and refused when not."""
    X, y, weight = problem
    X_dask = client.persist(da.from_array(X, chunks=(1500, N_FEATURES)))
    y_dask = client.persist(da.from_array(y, chunks=1100))
    weight_dask = client.persist(da.from_array(weight, chunks=2600))
    model = LinearRegression(solver="auto").fit(X_dask, y_dask, sample_weight=weight_dask)
    same_fit(model, LinearRegression(solver="exact").fit(X, y, sample_weight=weight), X)
    assert DaskSource(X_dask, y_dask, weight_dask).n_blocks == 4  # X's blocks

    finite = da.from_array(y, chunks=1500)
    unknown = finite[da.isfinite(finite)]  # all rows kept, but Dask knows the lengths only on computing
    assert np.isnan(unknown.shape[0])
    same_fit(LinearRegression(solver="auto").fit(X_dask, unknown), LinearRegression(solver="exact").fit(X, y), X)
    with pytest.raises(DataError, match=r"^y has 6 blocks and X has 4, and their lengths are unknown, so their rows cannot "
                                        r"be lined up; call .compute_chunk_sizes\(\) on X and y first"):
        finer = da.from_array(y, chunks=1000)
        LinearRegression().fit(X_dask, finer[da.isfinite(finer)])


def test_rows_that_cannot_be_lined_up_are_refused_in_one_line(client, files, problem):
    root, names = files
    frame, in_memory = read(root, "parquet")
    X = frame[names]
    with pytest.raises(DataError, match=r"^y has 5999 rows but X has 6000; give one y value per row of X$"):
        LinearRegression().fit(X, in_memory["y"].to_numpy()[:-1])
    with pytest.raises(DataError, match=r"^y has 5999 rows but X has 6000; give one y value per row of X$"):
        LinearRegression().fit(da.from_array(in_memory[names].to_numpy(), chunks=1000), da.from_array(in_memory["y"].to_numpy()[:-1]))
    # X filtered, y not: the partitions of one read hold other rows (whichever fails first is named).
    median = float(in_memory["x0"].median())
    kept = frame[frame["x0"] > median]
    with pytest.raises(DataError, match=r"^partition \d of X has \d+ rows but y's has 2000; select X and y as columns of one "
                                        r"DataFrame, after any filtering \(df = df.dropna\(\); df\[features\], df\[column\]\)$"):
        LinearRegression().fit(kept[names], frame["y"])
    kept_memory = in_memory[in_memory["x0"] > median]
    same_fit(
        LinearRegression(solver="auto").fit(kept[names], kept["y"]),
        LinearRegression(solver="exact").fit(kept_memory[names].to_numpy(), kept_memory["y"]),
        kept_memory[names].to_numpy(),
    )
    # y from another source, partitioned otherwise, with no divisions to line the rows up by.
    other, _ = read(root, "csv")
    assert partitions(other) != partitions(X)
    with pytest.raises(DataError, match=r"^y has 6 partitions and X has 3, of unknown divisions, so their rows cannot be lined "
                                        r"up; select X and y as columns of one DataFrame.*, or pass y in memory$"):
        LinearRegression().fit(X, other["y"])
    # As many partitions, but other index labels in them: refused, not reindexed or paired blindly.
    X_values, y_values, _ = problem
    shifted = dd.from_pandas(pd.Series(y_values, name="y"), npartitions=FILES, sort=False)
    # (partition k of X starts at index 0, y's at 2000·k; whichever of 1 and 2 fails first is named)
    with pytest.raises(DataError, match=r"^partition (1|2) of X and of y hold other rows \(index 0 against (2000|4000) at row 0\); "):
        LinearRegression().fit(X, shifted)
