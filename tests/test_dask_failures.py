"""Dask: a worker killed mid-fit (issue 13). Dask recomputes what it held where the graph says how, and the
fit returns what it returns without the kill; rows whose only copy died with it raise LostDataError."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from dask.utils import key_split  # noqa: E402 - after the importorskip of dask above

from gradfit import LinearRegression  # noqa: E402 - after the importorskip of dask above
from gradfit.errors import DataError, LostDataError  # noqa: E402 - after the importorskip of dask above
from gradfit.sources.dask import DaskSource  # noqa: E402 - after the importorskip of dask above

N_ROWS, N_FEATURES, BLOCK_ROWS = 6_000, 5, 500  # 12 blocks, 4 per worker
SLEEP = 0.05  # seconds per block task: a pass takes at least 4 × 50 ms, so a kill lands inside one


@pytest.fixture(scope="module")
def client():
    """Three worker processes, one thread each, under nannies that start a new worker for one killed."""
    with distributed.LocalCluster(
        n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def make_problem(spread: float):
    """Columns 3 and 4 ``spread`` apart: at 1e-4 the direct solver refines twice (3 passes); cg takes 7."""
    rng = np.random.default_rng(13)
    X = rng.normal(size=(N_ROWS, N_FEATURES)) + 30.0
    X[:, 4] = X[:, 3] + spread * rng.normal(size=N_ROWS)
    y = X @ rng.normal(size=N_FEATURES) + 3.0 + rng.normal(size=N_ROWS)
    return X, y


def slow(block):
    time.sleep(SLEEP)
    return block


class Killer:
    """Kills one worker (SIGKILL of its process) ``delay`` seconds after the fit's ``at``-th pass starts.

    Every pass goes through ``DaskSource._sum_blocks`` or ``_compute``; a pass takes at least 200 ms
    here, so the kill lands inside that pass or the next, while tasks run and blocks sit on the worker.
    """

    def __init__(self, client, victim: str, *, at: int, delay: float = 0.1) -> None:
        self.client, self.victim, self.at, self.delay = client, victim, at, delay
        self.pid = client.run(os.getpid)[victim]
        self.passes = 0
        self.killed_at: float | None = None

    def wrap(self, monkeypatch) -> None:
        compute = DaskSource._compute

        def counted(source, *collections):
            self.passes += 1
            if self.passes == self.at:
                threading.Timer(self.delay, self.kill).start()
            return compute(source, *collections)

        monkeypatch.setattr(DaskSource, "_compute", counted)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.killed_at = time.perf_counter()

    def check_died(self, fit_ended: float) -> None:
        assert self.killed_at is not None and self.killed_at < fit_ended, "the kill must land inside the fit"
        assert self.pid not in self.client.run(os.getpid).values()  # that process is gone (its nanny restarts one)


def fresh_cluster(client) -> None:
    client.wait_for_workers(3, timeout=30)  # the nanny of a worker killed by an earlier test has restarted it


def timed_fit(client, X, y, **params):
    with distributed.get_task_stream(client) as stream:
        model = LinearRegression(**params).fit(X, y)
    ended = time.perf_counter()
    return model, ended, [key_split(task["key"]) for task in stream.data]


@pytest.mark.parametrize("engine_kind", ["statistics", "streaming"])
def test_a_worker_killed_mid_fit_changes_nothing(client, engine_kind, monkeypatch):
    """Persisted blocks (from_array: recomputable) and partial results die with the worker; Dask
    recomputes them, and the fit gives the same bits and the same n_passes_ as without the kill."""
    from gradfit import engine

    fresh_cluster(client)
    X, y = make_problem(1e-4 if engine_kind == "statistics" else 1.0)
    params = {"solver": "exact"}
    if engine_kind == "streaming":  # d × d statistics "do not fit": cg, one pass over the blocks per update
        monkeypatch.setattr(engine, "available_memory", lambda: 100)
        monkeypatch.setattr(engine, "STATISTICS_MEMORY_FLOOR", 0)
        params = {"solver": "cg", "tol": 1e-10}
    table = client.persist(da.from_array(np.column_stack([X, y]), chunks=(BLOCK_ROWS, N_FEATURES + 1)))
    distributed.wait(table)
    data = table.map_blocks(slow)
    reference, _, reference_tasks = timed_fit(client, data[:, :N_FEATURES], data[:, N_FEATURES], **params)
    assert reference.n_passes_ >= 3  # so the kill below lands mid-fit, with a pass still to come

    holders = client.who_has(table)  # a worker that holds persisted blocks: they are lost with it
    victim = max(client.scheduler_info()["workers"], key=lambda w: sum(w in held for held in holders.values()))
    killer = Killer(client, victim, at=2)  # during the second pass: the statistics (or moments) are in
    killer.wrap(monkeypatch)
    model, ended, tasks = timed_fit(client, data[:, :N_FEATURES], data[:, N_FEATURES], **params)
    killer.check_died(ended)

    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12, atol=0)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-12, abs=0)
    assert model.n_passes_ == reference.n_passes_ and model.n_iter_ == reference.n_iter_
    # Dask redid the lost blocks' tasks (the persisted blocks, and the sleeps in flight on the worker),
    # no more than that: each pass still ran one task per block, and gradfit ran no pass again. A kill
    # between two tasks loses no sleep in flight, only persisted blocks (never recomputed without the
    # kill): both are counted (counting the sleeps alone failed once in a full run).
    redone = ("slow", key_split(table.name))
    recomputed = (sum(name in redone for name in tasks) - sum(name in redone for name in reference_tasks))
    assert recomputed > 0
    assert killer.passes == reference.n_passes_  # one dask.compute per pass, none repeated


def test_rows_lost_with_their_only_copy_are_named(client, monkeypatch):
    """Scattered blocks have no lineage: when their worker dies, the fit says which rows are gone."""
    fresh_cluster(client)
    X, y = make_problem(1e-4)  # the direct solver's 3 passes: the kill lands in the second or the third
    table = np.column_stack([X, y])
    futures = client.scatter([table[start:start + BLOCK_ROWS] for start in range(0, N_ROWS, BLOCK_ROWS)])
    holders = client.who_has(futures)
    victim = holders[futures[0].key][0]
    lost = tuple(number for number, future in enumerate(futures) if victim in holders[future.key])
    data = da.concatenate(
        [da.from_delayed(future, shape=(BLOCK_ROWS, N_FEATURES + 1), dtype=float) for future in futures]
    ).map_blocks(slow)
    killer = Killer(client, victim, at=2)
    killer.wrap(monkeypatch)
    with pytest.raises(LostDataError) as caught:
        LinearRegression(solver="exact").fit(data[:, :N_FEATURES], data[:, N_FEATURES])
    killer.check_died(time.perf_counter())
    assert isinstance(caught.value, DataError) and caught.value.blocks == lost
    rows = [f"{number} (rows {number * BLOCK_ROWS}-{(number + 1) * BLOCK_ROWS - 1})" for number in lost]
    message = str(caught.value)
    assert message.startswith(f"blocks {', '.join(rows[:-1])} and {rows[-1]} of the Dask data were lost: "), message
    assert "only copy was on a worker that died" in message and "nothing was fitted" in message
    assert "scatter or persist the data again and fit again" in message
