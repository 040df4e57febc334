"""Interruption and resume lose nothing: a run continued from any update (in memory with
``warm_start``, or from a checkpoint file, after Ctrl-C or kill -9) makes the iterates and history of
one run that was never stopped, bit for bit. No tolerances here: the claim is equality (elapsed times
aside), since the continued run computes every number from the same state by the same operations
(closed-form blocks of gd are fixed by the update count, not by where a run stopped)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from gradfit import LinearRegression
from gradfit.checkpoints import CheckpointError
from gradfit.cli.group import EXIT_NOT_CONVERGED
from gradfit.driver import minimize
from gradfit.objective import LeastSquares
from gradfit.solvers import SOLVERS
from gradfit.solvers.recentre import Recentring
from gradfit.sources.memory import MemorySource

from cli_checks import COMMAND
from problems import random_problem, write_csv

ITERATIVE = list(SOLVERS)  # gd, momentum, nesterov, cg, lbfgs, sgd, minibatch, adam


def same_run(one, other):
    assert np.array_equal(one.coef_, other.coef_) and one.intercept_ == other.intercept_
    for name in ("loss", "grad_norm", "step_size"):
        assert np.array_equal(getattr(one.history_, name), getattr(other.history_, name)), name
    assert one.n_iter_ == other.n_iter_


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # runs stopped at max_iter warn; that is not what is tested here
        yield


@pytest.mark.parametrize("solver", ITERATIVE)
@pytest.mark.parametrize("split", [1, 37, 50])
def test_warm_start_continues_every_solver_bit_for_bit(solver, split):
    X, y = random_problem(3, n=200, d=4)
    whole = LinearRegression(solver=solver, tol=0, max_iter=100, random_state=0).fit(X, y)
    model = LinearRegression(solver=solver, tol=0, max_iter=split, random_state=0, warm_start=True).fit(X, y)
    model.set_params(max_iter=100 - split).fit(X, y)
    same_run(model, whole)


@pytest.mark.parametrize("solver", ["gd", "cg", "nesterov", "lbfgs", "momentum"])
def test_streamed_sparse_runs_continue_bit_for_bit(solver, tmp_path):
    """The streaming engine (Krylov replay in its first updates, gradient recurrences) continues too,
    from memory and from a checkpoint file."""
    rng = np.random.default_rng(0)
    X = sp.random(500, 50, density=0.1, random_state=1, format="csr")
    y = X @ rng.normal(size=50) + 0.1 * rng.normal(size=500)
    whole = LinearRegression(solver=solver, tol=0, max_iter=60).fit(X, y)
    model = LinearRegression(solver=solver, tol=0, max_iter=23, warm_start=True).fit(X, y)
    same_run(model.set_params(max_iter=37).fit(X, y), whole)
    path = tmp_path / "run.ckpt"
    LinearRegression(solver=solver, tol=0, max_iter=23).fit(X, y, checkpoint=path, checkpoint_every=5)
    same_run(LinearRegression(solver=solver, tol=0, max_iter=60).fit(X, y, resume=path), whole)


def test_a_recentred_run_continues_from_its_checkpoint(tmp_path):
    """Near the rounding floor a run on double-double statistics is recentred (the state holds the
    anchor and the recentred target); its checkpoint keeps both."""
    x = np.arange(21.0)
    X = np.vander(x, 6, increasing=True)[:, 1:]
    y = 10 * np.sin(x / 3) + np.mod(np.arange(21), 3)
    objective = LeastSquares.from_source(MemorySource(X, y), fit_intercept=True, standardize=True)
    cg = SOLVERS["cg"]()
    first = minimize(objective, cg, np.zeros(objective.n_params), max_iter=40, tol=0)
    assert isinstance(first.resume.state, Recentring), "the run did not recentre: the test would show nothing"
    whole = LinearRegression(solver="cg", tol=0, max_iter=80).fit(X, y)
    path = tmp_path / "run.ckpt"
    LinearRegression(solver="cg", tol=0, max_iter=40).fit(X, y, checkpoint=path)
    same_run(LinearRegression(solver="cg", tol=0, max_iter=80).fit(X, y, resume=path), whole)


@pytest.mark.parametrize("solver", ITERATIVE)
def test_checkpoints_every_few_updates_resume_to_the_same_fit(solver, tmp_path):
    X, y = random_problem(5, n=150, d=3)
    whole = LinearRegression(solver=solver, tol=0, max_iter=100, random_state=1).fit(X, y)
    path = tmp_path / "run.ckpt"
    LinearRegression(solver=solver, tol=0, max_iter=41, random_state=1).fit(X, y, checkpoint=path, checkpoint_every=9)
    same_run(LinearRegression(solver=solver, tol=0, max_iter=100, random_state=1).fit(X, y, resume=path), whole)


def test_resuming_elsewhere_is_refused_by_name(tmp_path):
    X, y = random_problem(5, n=150, d=3)
    path = tmp_path / "run.ckpt"
    LinearRegression(solver="gd", tol=0, max_iter=20).fit(X, y, checkpoint=path)
    with pytest.raises(CheckpointError, match="is a run on other data"):
        LinearRegression(solver="gd", tol=0, max_iter=40).fit(X[:-1], y[:-1], resume=path)
    with pytest.raises(CheckpointError, match=r"the run: alpha=0.0; this fit: alpha=0.1\); resume it as the run was set: alpha=0.0"):
        LinearRegression(solver="gd", tol=0, max_iter=40, alpha=0.1).fit(X, y, resume=path)
    with pytest.raises(ValueError, match="the checkpoint has made 20 updates, more than max_iter=10"):
        LinearRegression(solver="gd", tol=0, max_iter=10).fit(X, y, resume=path)
    with pytest.raises(CheckpointError, match="is a run with 4 parameters"):
        LinearRegression(solver="gd", tol=0, max_iter=40).fit(X[:, :2], y, resume=path)
    with pytest.raises(CheckpointError, match=r"is a run of solver='gd', not solver='cg'; resume it with solver='gd'"):
        LinearRegression(solver="cg", max_iter=40).fit(X, y, resume=path)
    with pytest.raises(ValueError, match=r"used learning_rate='auto', and this fit asks for learning_rate=0.1"):
        LinearRegression(solver="gd", learning_rate=0.1, max_iter=40).fit(X, y, resume=path)
    (tmp_path / "other.ckpt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"other.ckpt: is not a gradfit checkpoint"):
        LinearRegression(solver="gd").fit(X, y, resume=tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        LinearRegression(solver="gd").fit(X, y, resume=tmp_path / "missing.ckpt")
    with pytest.raises(ValueError, match="solves in one go, with nothing to checkpoint"):
        LinearRegression().fit(X, y, checkpoint=tmp_path / "new.ckpt")


def test_a_checkpoint_never_replaces_what_is_there(tmp_path, gradfit_cli):
    """Not the data, not a model, not an unfinished run's checkpoint: only the file resumed from, or
    (command line) with --force; a missing folder is named before any work."""
    X, y = random_problem(5, n=150, d=3)
    data = write_csv(tmp_path / "data.csv", ["a", "b", "c", "y"], np.column_stack([X, y]))
    before = data.read_bytes()
    with pytest.raises(FileExistsError, match="exists: a checkpoint replaces its file"):
        LinearRegression(solver="gd").fit(X, y, checkpoint=data)
    code, _, err = gradfit_cli("fit", "data.csv", "--target", "y", "--solver", "gd", "--checkpoint", "data.csv", "--force")
    assert code == 2 and "is the command's own input" in err
    assert data.read_bytes() == before
    LinearRegression(solver="gd", max_iter=20, tol=0).fit(X, y, checkpoint=tmp_path / "run.ckpt")
    with pytest.raises(FileExistsError):
        LinearRegression(solver="gd", max_iter=40, tol=0).fit(X, y, checkpoint=tmp_path / "run.ckpt")
    resumed = LinearRegression(solver="gd", max_iter=40, tol=0).fit(X, y, checkpoint=tmp_path / "run.ckpt",
                                                                  resume=tmp_path / "run.ckpt")
    assert resumed.n_iter_ == 40
    code, _, err = gradfit_cli("fit", "data.csv", "--target", "y", "--solver", "gd", "--checkpoint", "run.ckpt")
    assert code == 2 and "--force" in err
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        LinearRegression(solver="gd").fit(X, y, checkpoint=tmp_path / "nowhere" / "run.ckpt")
    with pytest.raises(ValueError, match="checkpoint_every must be a whole number of updates, at least 1"):
        LinearRegression(solver="gd").fit(X, y, checkpoint=tmp_path / "other.ckpt", checkpoint_every=0)


def test_warm_start_on_other_data_starts_from_the_previous_coefficients():
    """scikit-learn's meaning where the run cannot go on: the previous coef_ as the starting point."""
    X, y = random_problem(5, n=150, d=3)
    model = LinearRegression(solver="gd", warm_start=True).fit(X, y)
    first = model.coef_.copy()
    model.fit(X[:100], y[:100])
    assert model.n_iter_ < LinearRegression(solver="gd").fit(X[:100], y[:100]).n_iter_
    assert not np.array_equal(model.coef_, first)


# --- the command line, interrupted for real -----------------------------------------------------------


def long_fit(tmp_path, *extra):
    """A command that steps one update at a time for a few seconds (momentum at a small step)."""
    X, y = random_problem(9, n=2000, d=5)
    write_csv(tmp_path / "data.csv", ["a", "b", "c", "d", "e", "y"], np.column_stack([X, y]))
    return [*COMMAND, "fit", "data.csv", "--target", "y", "--solver", "momentum", "--learning-rate", "0.001",
            "--tol", "0", "--max-iter", "60000", "--json", "--quiet", *extra]


#: What a run with tol=0 ends with: every update made, so "not converged" by the exit code's account.
FINISHED = EXIT_NOT_CONVERGED


def coefficients(stdout: str) -> tuple:
    result = json.loads(stdout)
    return tuple(result["coef"].values()), result["intercept"], result["n_iter"]


def checkpointed_updates(path) -> int | None:
    """The update count a checkpoint file holds (None while there is none). Read while the fit runs
    and replaces it: it must always be a whole archive."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as archive:
        return int(json.loads(str(archive["meta"]))["updates"])


def test_kill_9_at_random_moments_then_resume_gives_the_uninterrupted_model(tmp_path):
    command = long_fit(tmp_path)
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == FINISHED, done.stderr
    expected = coefficients(done.stdout)
    rng = np.random.default_rng(2026)
    checkpoint = tmp_path / "run.ckpt"
    for attempt in range(3):
        checkpoint.unlink(missing_ok=True)
        # Killed at a random point of its progress (not of the clock, which runs at each machine's speed).
        target = int(rng.integers(2_000, 50_000))
        running = subprocess.Popen([*command, "--checkpoint", "run.ckpt", "--checkpoint-every", "1000"], cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while running.poll() is None and (checkpointed_updates(checkpoint) or 0) < target:
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0.0, 0.01)))  # and then at any moment, mid-write included
        running.kill()  # SIGKILL: no handler runs, no file is closed
        running.communicate(timeout=60)
        assert running.returncode == -signal.SIGKILL, f"attempt {attempt}: the fit ended before it was killed"
        assert checkpointed_updates(checkpoint) >= target
        resumed = subprocess.run([*command, "--checkpoint", "run.ckpt", "--resume", "run.ckpt"], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)
        assert resumed.returncode == FINISHED, resumed.stderr
        assert coefficients(resumed.stdout) == expected, f"attempt {attempt}, killed past update {target}"


def test_ctrl_c_writes_the_state_says_how_to_resume_and_exits_130(tmp_path):
    command = long_fit(tmp_path, "--checkpoint", "run.ckpt", "--checkpoint-every", "2000")
    expected = coefficients(subprocess.run(long_fit(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                                           timeout=300).stdout)
    running = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while running.poll() is None and (checkpointed_updates(tmp_path / "run.ckpt") or 0) < 10_000:
        time.sleep(0.002)  # interrupted once the run is under way (not during start-up), at its own pace
    os.kill(running.pid, signal.SIGINT)
    _, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr
    assert "run the same command with --resume run.ckpt to finish this fit" in stderr
    resumed = subprocess.run([*command, "--resume", "run.ckpt"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == FINISHED, resumed.stderr
    assert coefficients(resumed.stdout) == expected


# --- a statistics pass over files, interrupted between files ------------------------------------------


def write_parquet_parts(folder, n_files=6, rows=500):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    X, y = random_problem(12, n=n_files * rows, d=3)
    for number in range(n_files):
        part = slice(number * rows, (number + 1) * rows)
        table = pa.table({"a": X[part, 0], "b": X[part, 1], "c": X[part, 2], "y": y[part]})
        pq.write_table(table, folder / f"part-{number:02d}.parquet", row_group_size=200)
    return folder


@pytest.mark.parametrize("solver", ["auto", "gd"])
def test_an_interrupted_pass_over_files_resumes_after_the_last_whole_file(solver, tmp_path):
    from gradfit.sources.files import parquet

    folder = write_parquet_parts(tmp_path / "parts")
    whole = LinearRegression(solver=solver, tol=0 if solver == "gd" else 1e-8, max_iter=200).fit(parquet(folder, target="y"))

    source = parquet(folder, target="y", batch_rows=250)
    seen = []

    def stop_in_file_four(rows_done, total):
        seen.append(rows_done)
        if rows_done > 3 * 500 + 250:  # inside the fourth file's second row group (of 200, 200 and 100 rows)
            raise KeyboardInterrupt

    source.progress = stop_in_file_four
    path = tmp_path / "pass.ckpt"
    with pytest.raises(KeyboardInterrupt):
        LinearRegression(solver=solver, tol=0 if solver == "gd" else 1e-8, max_iter=200).fit(
            source, checkpoint=path, checkpoint_every=1)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
    # Kept after the last whole row group: three files and the fourth's first row group.
    assert meta["kind"] == "pass" and (meta["files_done"], meta["groups_done"], meta["rows_done"]) == (3, 1, 1700)

    again = parquet(folder, target="y", batch_rows=250)
    read = []
    again.progress = lambda rows_done, total: read.append(rows_done)
    resumed = LinearRegression(solver=solver, tol=0 if solver == "gd" else 1e-8, max_iter=200).fit(again, resume=path)
    # Not read again: the first three files, nor the fourth's first row group. Batches never span row groups.
    assert read == [1900, 2000, 2200, 2400, 2500, 2700, 2900, 3000]
    # batch_rows differs from the whole fit's default, so compare with an uninterrupted pass of the same batches.
    same = parquet(folder, target="y", batch_rows=250)
    reference = LinearRegression(solver=solver, tol=0 if solver == "gd" else 1e-8, max_iter=200).fit(same)
    assert np.array_equal(resumed.coef_, reference.coef_) and resumed.intercept_ == reference.intercept_
    np.testing.assert_allclose(resumed.coef_, whole.coef_, rtol=1e-12)  # other batches: rounding apart


def test_a_pass_checkpoint_is_refused_for_other_files(tmp_path):
    from gradfit.sources.files import parquet

    folder = write_parquet_parts(tmp_path / "parts")
    source = parquet(folder, target="y", batch_rows=250)

    def stop(rows_done, total):
        if rows_done > 1200:
            raise KeyboardInterrupt

    source.progress = stop
    with pytest.raises(KeyboardInterrupt):
        LinearRegression().fit(source, checkpoint=tmp_path / "pass.ckpt", checkpoint_every=1)
    (folder / "part-05.parquet").unlink()
    with pytest.raises(CheckpointError, match="is a pass over other files"):
        LinearRegression().fit(parquet(folder, target="y", batch_rows=250), resume=tmp_path / "pass.ckpt")


def test_a_damaged_checkpoint_is_named_with_what_to_do(tmp_path, gradfit_cli):
    X, y = random_problem(5, n=150, d=3)
    write_csv(tmp_path / "data.csv", ["a", "b", "c", "y"], np.column_stack([X, y]))
    assert gradfit_cli("fit", "data.csv", "--target", "y", "--solver", "gd", "--tol", "0", "--max-iter", "50",
                       "--checkpoint", "run.ckpt").code == 3
    whole = (tmp_path / "run.ckpt").read_bytes()
    flipped = bytearray(whole)
    with zipfile.ZipFile(tmp_path / "run.ckpt") as archive:  # a byte of an array's data, not of a header
        member = max(archive.infolist(), key=lambda info: info.file_size)
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    flipped[start + member.file_size // 2] ^= 0xFF
    cases = {"empty.ckpt": b"", "cut.ckpt": whole[: len(whole) // 3], "flipped.ckpt": bytes(flipped)}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        code, _, err = gradfit_cli("fit", "data.csv", "--target", "y", "--solver", "gd", "--resume", name)
        assert code == 2 and f"{name}: is empty, cut short or damaged" in err, err
        assert f"start the fit again, without --resume {name}" in err
        with pytest.raises(CheckpointError, match="is empty, cut short or damaged"):
            LinearRegression(solver="gd").fit(X, y, resume=tmp_path / name)
    code, _, err = gradfit_cli("fit", "data.csv", "--target", "y", "--solver", "gd", "--resume", "data.csv")
    assert code == 2 and "is not a gradfit checkpoint" in err and "pickle" not in err


@pytest.mark.parametrize("solver", ["sgd", "minibatch", "adam"])
def test_a_stochastic_run_stops_when_its_loss_stalls_and_a_continued_one_stops_there_too(solver):
    """With tol > 0 a stochastic run stops once its loss has not gone below its best for STALL_EPOCHS
    epochs (status "stalled", said), not after max_iter epochs that cannot help; the watch is taken up
    from the history, so a run continued part-way stops at the same epoch, bit for bit."""
    from gradfit.driver import STALL_EPOCHS

    X, y = random_problem(3, n=2000, d=5)
    whole = LinearRegression(solver=solver, random_state=0).fit(X, y)
    assert whole.status_ == "stalled" and not whole.converged_ and whole.n_iter_ < 10_000
    assert f"has not gone below its best for {STALL_EPOCHS} epochs" in whole.message_
    best = int(np.argmin(np.r_[whole.history_.loss, whole.final_loss_]))
    assert whole.n_iter_ - best == STALL_EPOCHS
    part = LinearRegression(solver=solver, random_state=0, max_iter=whole.n_iter_ - 3, warm_start=True).fit(X, y)
    same_run(part.set_params(max_iter=10_000).fit(X, y), whole)
