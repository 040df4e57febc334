"""A run's full state, kept to go on from exactly: in memory (a fitted model's ``warm_start``) and in
checkpoint files (``fit(..., checkpoint=PATH)``, ``gradfit fit --checkpoint PATH``).

A checkpoint file is a NumPy ``.npz`` archive (a zip; read with ``allow_pickle=False``, never
unpickled): one entry ``meta`` holds JSON (format, versions, the solver and its hyper-parameters with
its seed, the data's fingerprint, the structure of the states), the others the arrays of the solver's
state, of the closed-form block's origin where the run is inside one, and of the history so far. It
is written through :func:`gradfit.fileio.write_atomically`, so a kill at any moment leaves the previous
checkpoint or the new one, never half of one.

The fingerprint is a SHA-256 of what the run iterates on: the objective's statistics (G, b, c) where it
has them, and its frame (the columns' shifts and units, which one pass over the data gives). Resuming
on other data, or with another solver, is refused by name; so is a file from another gradfit.

Files streamed for their statistics (:class:`~gradfit.sources.files.FileSource`) are checkpointed
during that pass too, after each whole file (kind ``"pass"``): the files read, the partial merges of
the statistics, the counters. Resuming skips the files already read and merges the rest exactly as
the uninterrupted pass would have. Such a checkpoint names the files (path, size, modification time),
columns and options it is of, and is refused for others.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import time
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradfit._version import __version__
from gradfit.driver import Resume
from gradfit.errors import GradfitError
from gradfit.fileio import check_parent_folder, write_atomically
from gradfit.history import History
from gradfit.solvers import SOLVERS
from gradfit.solvers.base import Solver, State
from gradfit.solvers.replay import Replaying
from gradfit.sources.stats import SufficientStats

if TYPE_CHECKING:  # the files' modules import pyarrow: only where files are read
    from gradfit.sources.files.reduce import PassPosition

__all__ = ["DEFAULT_SECONDS", "CheckpointError", "CheckpointFile", "Continuation", "PassKeeper", "checkpoint_kind",
           "describe_files", "fingerprint", "read_checkpoint", "read_pass"]

FORMAT = "gradfit-checkpoint"
FORMAT_VERSION = 1
#: How often a checkpoint is written when neither a number of updates nor of seconds is given.
DEFAULT_SECONDS = 60.0


class CheckpointError(GradfitError, ValueError):
    """A checkpoint file that cannot be resumed from here: unreadable, of another run, or of other data."""


@dataclass(frozen=True)
class Continuation:
    """A run to go on from: where it stands (:class:`~gradfit.driver.Resume`), the solver that ran it
    (hyper-parameters and seed), the fingerprint of the objective it ran on, and that objective's
    coordinates (``frame``: a stochastic ``partial_fit`` goes on in them on the next batch)."""

    resume: Resume
    solver: Solver
    fingerprint: str
    frame: object = None


def fingerprint(objective) -> str:
    """SHA-256 of what a run iterates on: the frame, and the statistics where the objective has them."""
    digest = hashlib.sha256()
    frame = objective.frame
    for part in (frame.x_shift, frame.x_unit, frame.x_scale, np.array([frame.y_shift, frame.y_unit, frame.y_scale]),
                 np.array([float(frame.fit_intercept), float(objective.n_params)])):
        digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
    for name in ("G", "b"):
        value = getattr(objective, name, None)
        if isinstance(value, np.ndarray):
            digest.update(np.ascontiguousarray(value).tobytes())
    c = getattr(objective, "c", None)
    if isinstance(c, float):
        digest.update(np.float64(c).tobytes())
    l1 = getattr(objective, "l1", None)
    if isinstance(l1, np.ndarray):
        digest.update(np.ascontiguousarray(l1, dtype=np.float64).tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------ states


def _state_classes() -> dict[str, type]:
    """Every State class by name (the solvers' own and the wrappers'), not the replay's made-up ones."""
    found, pending = {}, [State]
    while pending:
        cls = pending.pop()
        if not issubclass(cls, Replaying):
            found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def _encode_state(state: State, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The state's fields as JSON, its arrays put in ``arrays`` under ``prefix``."""
    record: dict[str, Any] = {"class": type(state).__name__, "fields": {}}
    for item in fields(state):
        value = getattr(state, item.name)
        key = f"{prefix}.{item.name}"
        if value is None:
            encoded: Any = {"none": True}
        elif isinstance(value, State):
            encoded = {"state": _encode_state(value, key, arrays)}
        elif isinstance(value, np.ndarray):
            arrays[key] = value
            encoded = {"array": key}
        elif isinstance(value, tuple):  # L-BFGS's pairs: a tuple of tuples of arrays
            shape = []
            for i, pair in enumerate(value):
                shape.append(len(pair))
                for j, vector in enumerate(pair):
                    arrays[f"{key}.{i}.{j}"] = vector
            encoded = {"pairs": shape, "key": key}
        elif item.name == "shifted":  # a recentred objective: its shifted target, the statistics shared
            b_hi, b_lo = value.extended[1]
            arrays[f"{key}.b_hi"], arrays[f"{key}.b_lo"] = b_hi, b_lo
            encoded = {"shifted": key, "c": _float(value.c)}
        elif isinstance(value, bool | int | float | np.floating | np.integer):
            encoded = {"number": _float(value) if isinstance(value, float | np.floating) else int(value)}
        else:
            raise TypeError(f"cannot keep the field {item.name!r} of {type(state).__name__} in a checkpoint")
        record["fields"][item.name] = encoded
    return record


def _decode_state(record: dict[str, Any], arrays, objective, refuse) -> State:
    classes = _state_classes()
    cls = classes.get(record.get("class"))
    if cls is None:
        raise refuse(f"holds a state of an unknown kind {record.get('class')!r}")
    values = {}
    for name, encoded in record["fields"].items():
        if "none" in encoded:
            values[name] = None
        elif "state" in encoded:
            values[name] = _decode_state(encoded["state"], arrays, objective, refuse)
        elif "array" in encoded:
            values[name] = np.array(arrays[encoded["array"]])
        elif "pairs" in encoded:
            key = encoded["key"]
            values[name] = tuple(tuple(np.array(arrays[f"{key}.{i}.{j}"]) for j in range(length))
                                 for i, length in enumerate(encoded["pairs"]))
        elif "shifted" in encoded:
            key = encoded["shifted"]
            values[name] = objective.with_shifted_target((np.array(arrays[f"{key}.b_hi"]), np.array(arrays[f"{key}.b_lo"])),
                                                         _unfloat(encoded["c"]))
        else:
            number = encoded["number"]
            values[name] = _unfloat(number) if isinstance(number, float | str) else number
    known = {item.name for item in fields(cls)}
    if set(values) != known:
        raise refuse(f"holds a {cls.__name__} with fields {sorted(values)}, not {sorted(known)}")
    return cls(**values)


def _float(value) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _unfloat(value) -> float:
    return float(value)  # "inf", "-inf", "nan" and numbers alike


def _solver_record(solver: Solver) -> dict[str, Any]:
    return {"name": solver.name, "fields": {item.name: getattr(solver, item.name) for item in fields(solver)}}


# ------------------------------------------------------------------------------------------ files


class CheckpointFile:
    """Writes a run's :class:`~gradfit.driver.Resume` to ``path`` every ``every_updates`` updates or
    ``every_seconds`` seconds (whichever comes first; :data:`DEFAULT_SECONDS` when neither is given),
    and when the run is interrupted. A state the solver is replaying from a Krylov space (the first
    updates of a streamed run) is not written; the next one is."""

    def __init__(self, path: str | Path, *, every_updates: int | None = None, every_seconds: float | None = None,
                 replace: bool = False) -> None:
        """Checked before any work: a positive ``every_updates``/``every_seconds``, a folder that exists, and
        no file at ``path`` unless ``replace`` (the run resumed from it, or the command line's ``--force``):
        nothing the user has is overwritten, an unfinished run's checkpoint included."""
        path = Path(path)
        if every_updates is not None and (isinstance(every_updates, bool) or not isinstance(every_updates, int)
                                          or every_updates < 1):
            raise ValueError(f"checkpoint_every must be a whole number of updates, at least 1; got {every_updates!r}")
        if every_seconds is not None and not (isinstance(every_seconds, int | float) and 0 < every_seconds < math.inf):
            raise ValueError(f"checkpoint_seconds must be a positive number of seconds; got {every_seconds!r}")
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder; give the checkpoint a file name", str(path))
        if path.exists() and not replace:
            raise FileExistsError(errno.EEXIST, "exists: a checkpoint replaces its file, so it refuses one already there "
                                  "(resume from it with resume='FILE', or name another file)", str(path))
        check_parent_folder(path)
        self.path = path
        self.every_updates = every_updates
        self.every_seconds = DEFAULT_SECONDS if every_updates is None and every_seconds is None else every_seconds
        self.solver: Solver | None = None  # the run's, its objective and settings: see bind
        self.objective, self.settings = None, {}
        self._last_k: int | None = None
        self._last_time = time.monotonic()
        self.written = 0

    def bind(self, *, solver: Solver, objective, settings: dict[str, Any]) -> CheckpointFile:
        """This writer for a run of ``solver`` on ``objective`` (what the file records beside the state)."""
        self.solver, self.objective, self.settings = solver, objective, settings
        return self

    def due(self, k: int) -> bool:
        if self._last_k is None:
            self._last_k = k - 1 if self.every_updates == 1 else k  # the run's first state is not worth a file
        if self.every_updates is not None and k - self._last_k >= self.every_updates:
            return True
        return self.every_seconds is not None and time.monotonic() - self._last_time >= self.every_seconds

    def next_due(self, k: int) -> int | None:
        """The update count at which the next checkpoint is due by updates (None: by time only)."""
        if self.every_updates is None:
            return None
        last = k if self._last_k is None else self._last_k
        return last + self.every_updates

    def due_by_time(self) -> bool:
        """Whether a checkpoint counted in seconds only (no ``every_updates``) is due."""
        return (self.every_updates is None and self.every_seconds is not None
                and time.monotonic() - self._last_time >= self.every_seconds)

    def write(self, resume: Resume) -> None:
        if isinstance(resume.state, Replaying) or isinstance(resume.origin, Replaying):
            return
        arrays: dict[str, np.ndarray] = {}
        meta = {
            "solver": _solver_record(self.solver),
            "settings": self.settings,
            "fingerprint": fingerprint(self.objective),
            "n_params": int(self.objective.n_params),
            "updates": int(resume.state.k),
            "state": _encode_state(resume.state, "state", arrays),
            "origin": None if resume.origin is None else _encode_state(resume.origin, "origin", arrays),
        }
        history = resume.history
        for name in ("loss", "grad_norm", "step_size", "elapsed"):
            arrays[f"history.{name}"] = getattr(history, name)
        self.save("run", meta, arrays)
        self._last_k = resume.state.k

    def save(self, kind: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Write one checkpoint of ``kind`` (``"run"`` or ``"pass"``) atomically: the format's header and
        ``meta`` as JSON beside ``arrays``."""
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "gradfit_version": __version__, "kind": kind}
        text = json.dumps({**header, **meta}, allow_nan=False)
        write_atomically(self.path, lambda handle: np.savez(handle, meta=np.array(text), **arrays))
        self._last_time = time.monotonic()
        self.written += 1


def _encode_stats(stats: SufficientStats, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for item in fields(stats):
        value = getattr(stats, item.name)
        if isinstance(value, np.ndarray):
            arrays[f"{key}.{item.name}"] = value
            record[item.name] = {"array": f"{key}.{item.name}"}
        else:
            record[item.name] = {"number": int(value) if item.name == "n_samples" else _float(value)}
    return record


def _decode_stats(record: dict[str, Any], arrays) -> SufficientStats:
    values = {}
    for name, encoded in record.items():
        if "array" in encoded:
            values[name] = np.array(arrays[encoded["array"]])
        else:
            values[name] = encoded["number"] if name == "n_samples" else _unfloat(encoded["number"])
    return SufficientStats(**values)


def describe_files(source, settings: dict[str, Any]) -> dict[str, Any]:
    """What a statistics pass over ``source``'s files depends on: each file's path, size and
    modification time, the columns, and the options that change the batches or the rows kept."""
    files = []
    for file in source.files:
        status = Path(file).stat()
        files.append([str(Path(file).resolve()), status.st_size, status.st_mtime_ns])
    return {"files": files, "target": source.target, "features": list(source.feature_names),
            "drop_missing": source.drop_missing, "batch_rows": source.batch_rows, "settings": settings}


class PassKeeper:
    """A :class:`CheckpointFile`'s writer for the statistics pass over files: handed each
    :class:`~gradfit.sources.files.reduce.PassPosition` (after a whole file), it writes those that are
    due (every file when the checkpoint counts updates; by its seconds otherwise) and the last one
    when the pass is interrupted."""

    def __init__(self, checkpoint: CheckpointFile, identity: dict[str, Any]) -> None:
        self.checkpoint, self.identity = checkpoint, identity

    def __call__(self, position: PassPosition, interrupted: bool) -> None:
        counted_in_updates = self.checkpoint.every_updates is not None
        if not (interrupted or counted_in_updates or self.checkpoint.due_by_time()):
            return
        arrays: dict[str, np.ndarray] = {"pass.origin": position.origin}
        if position.shift is not None:
            arrays["pass.shift"] = position.shift
        stack = []
        for number, (level, stats, magnitude) in enumerate(position.stack):
            arrays[f"pass.stack.{number}.magnitude"] = magnitude
            stack.append({"level": level, "stats": _encode_stats(stats, f"pass.stack.{number}", arrays)})
        meta = {"data": self.identity, "files_done": position.files_done, "groups_done": position.groups_done,
                "rows_done": position.rows_done, "kept": position.kept, "stack": stack, "updates": 0}
        self.checkpoint.save("pass", meta, arrays)


def checkpoint_kind(path: str | Path) -> str:
    """``"pass"`` (the statistics pass over files was under way) or ``"run"`` (the solver's run)."""
    meta, _ = _open(Path(path))
    return meta.get("kind", "run")


def read_pass(path: str | Path, *, identity: dict[str, Any]) -> PassPosition:
    """The position a ``"pass"`` checkpoint holds, for files and options described by ``identity``
    (:func:`describe_files`); refused (:class:`CheckpointError`) for others."""
    path = Path(path)
    meta, arrays = _open(path)
    recorded = meta["data"]
    for name in ("files", "target", "features", "drop_missing", "batch_rows", "settings"):
        if recorded.get(name) != identity[name]:
            what = "files (or their sizes or times)" if name == "files" else name
            raise CheckpointError(f"{path}: is a pass over other {what} than these; resume it on the files and "
                                  f"with the options it was started with, or start again, without resume={path.name!r}")
    stack = tuple((entry["level"], _decode_stats(entry["stats"], arrays), np.array(arrays[f"pass.stack.{number}.magnitude"]))
                  for number, entry in enumerate(meta["stack"]))
    shift = np.array(arrays["pass.shift"]) if "pass.shift" in arrays else None
    from gradfit.sources.files.reduce import PassPosition

    return PassPosition(meta["files_done"], meta["rows_done"], meta["kept"], np.array(arrays["pass.origin"]), shift, stack,
                        meta.get("groups_done", 0))


def _open(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The meta and arrays of a checkpoint file, refused (:class:`CheckpointError`) where it is not one."""

    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}")

    damaged = ("is empty, cut short or damaged ({}), so there is nothing to go on from; start the fit again, without "
               f"resume={path.name!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise refuse("no such checkpoint file") from None
    except IsADirectoryError:
        raise refuse("is a folder, not a checkpoint file") from None
    except (EOFError, zipfile.BadZipFile) as error:
        raise refuse(damaged.format(error)) from None
    except (OSError, ValueError):
        # numpy's own words here would suggest unpickling, which gradfit never does
        raise refuse("is not a gradfit checkpoint (those are .npz archives written by fit with a checkpoint)") from None
    if not hasattr(archive, "files"):  # a lone .npy array
        raise refuse("is not a gradfit checkpoint (those are .npz archives written by fit with a checkpoint)")
    try:
        with archive:
            if "meta" not in archive.files:
                raise refuse("is a .npz archive but not a gradfit checkpoint (it has no 'meta')")
            try:
                meta = json.loads(str(archive["meta"]))
            except ValueError:
                raise refuse("its 'meta' is not JSON: not a gradfit checkpoint") from None
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise refuse("is not a gradfit checkpoint")
            if meta.get("format_version") != FORMAT_VERSION:
                raise refuse(f"is checkpoint format {meta.get('format_version')}; this gradfit reads {FORMAT_VERSION}")
            arrays = {name: archive[name] for name in archive.files if name != "meta"}
    except (EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise refuse(damaged.format(error)) from None
    return meta, arrays


def read_checkpoint(path: str | Path, *, objective, solver_name: str, settings: dict[str, Any] | None = None) -> Continuation:
    """The run a checkpoint file holds, for ``objective`` (the same data, as its fingerprint says) and
    the solver named ``solver_name`` (the one the fit asks for).

    Raises
    ------
    CheckpointError
        When the file is missing or not a checkpoint, is of another gradfit or format version, of
        another solver, or of other data.
    """
    path = Path(path)

    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}")

    meta, arrays = _open(path)
    if meta.get("kind", "run") != "run":
        raise refuse("holds a statistics pass over files, not a solver's run")
    recorded = meta["solver"]
    if recorded["name"] != solver_name:
        raise refuse(f"is a run of solver={recorded['name']!r}, not solver={solver_name!r}; resume it with "
                     f"solver={recorded['name']!r}")
    if meta["fingerprint"] != fingerprint(objective):
        recorded_settings = meta.get("settings", {})
        for name, value in (settings or {}).items():
            if name not in recorded_settings or recorded_settings[name] == value:
                continue
            was = f"{name}={recorded_settings[name]!r}"
            raise refuse(f"is a run set otherwise (the run: {was}; this fit: {name}={value!r}); resume it as the run "
                         f"was set: {was}")
        if meta.get("n_params") not in (None, objective.n_params):
            raise refuse(f"is a run with {meta['n_params']} parameters (intercept and coefficients), and these data "
                         f"give {objective.n_params}: resume it on the columns it was fitted on")
        raise refuse("is a run on other data (their statistics differ from these): resume it on the data it "
                     "was fitted on")
    solver = SOLVERS[solver_name](**recorded["fields"])
    state = _decode_state(meta["state"], arrays, objective, refuse)
    origin = None if meta["origin"] is None else _decode_state(meta["origin"], arrays, objective, refuse)
    history = History(*(np.array(arrays[f"history.{name}"]) for name in ("loss", "grad_norm", "step_size", "elapsed")))
    return Continuation(Resume(state, origin, history), solver, meta["fingerprint"])
