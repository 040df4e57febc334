"""When the cluster loses data: :func:`on_cluster` turns ``distributed``'s own errors for a worker that died
into a :class:`~gradfit.errors.LostDataError` that names the blocks whose rows are gone and what to do.

A worker that dies mid-pass costs nothing here: Dask recomputes what it held from the graph (a block read from
files, made by ``da.from_array`` or a seeded ``da.random``, a persisted collection, which keeps its lineage) and
the pass returns what it would have. Only data whose one copy lived on that worker (``client.scatter``-ed
blocks, ``da.from_delayed`` or ``dd.from_delayed`` of such futures) cannot come back; the scheduler then
cancels every task that needs them ("lost dependencies", "already forgotten"), and the pass must fail, saying
which rows. A task that was running on workers that died too often (``KilledWorker``: a block too big for a
worker's memory, say) is named the same way.
"""

from __future__ import annotations

import concurrent.futures
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dask.core import get_dependencies
from dask.delayed import delayed

from gradfit.errors import LostDataError
from gradfit.sources.dask.align import _Block

#: Prefix of the keys of the tasks that check, after a loss, which blocks can still be read.
PROBE_PREFIX = "gradfit-probe"

#: What to do when a block's only copy is gone.
LOST_ADVICE = (
    "nothing was fitted. Dask can recompute a lost block only from where it came from: scatter or persist "
    "the data again and fit again, or build the collection from its source (files read with dask, "
    "da.from_array, a seeded da.random) so that a worker that dies costs a recomputation, not the fit"
)


def _failures() -> tuple[type[BaseException], ...]:
    """The errors that mean the cluster lost something (``distributed``'s are looked up only where it is loaded)."""
    kinds: list[type[BaseException]] = [concurrent.futures.CancelledError]  # FutureCancelledError is one
    scheduler = sys.modules.get("distributed.scheduler")
    if scheduler is not None and hasattr(scheduler, "KilledWorker"):
        kinds.append(scheduler.KilledWorker)
    return tuple(kinds)


@contextmanager
def on_cluster(blocks: Sequence[_Block], row_chunks: Sequence[int] | None, *, frame: bool) -> Iterator[None]:
    """Run a pass; if the cluster lost data it needs, raise :class:`LostDataError` naming the blocks lost."""
    try:
        yield
    except _failures() as error:
        raise _lost(error, blocks, row_chunks, frame=frame) from error


def _lost(error: BaseException, blocks: Sequence[_Block], row_chunks: Sequence[int] | None, *, frame: bool) -> LostDataError:
    task = getattr(error, "task", None)
    if task is not None:  # KilledWorker: one task kept killing the workers that ran it
        which = _blocks_of_task(task, blocks)
        where = _names(which, row_chunks, frame=frame) if which else f"task {task!r}"
        return LostDataError(
            f"the Dask workers running {where} died {_failures_text(error)}; nothing was fitted. A block "
            "that does not fit in a worker's memory kills it: give the workers more memory or the "
            "collection smaller blocks (X.rechunk or repartition), and fit again",
            blocks=which,
        )
    which = _unreadable(blocks)
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    if not which:
        return LostDataError(
            f"the Dask cluster lost data this fit needs and could not recompute it (Dask: {reason!r}); {LOST_ADVICE}",
            blocks=(),
        )
    return LostDataError(
        f"{_names(which, row_chunks, frame=frame)} of the Dask data {'was' if len(which) == 1 else 'were'} "
        f"lost: {'its' if len(which) == 1 else 'their'} only copy was on a worker that died (Dask: {reason!r}); "
        + LOST_ADVICE,
        blocks=which,
    )


def _failures_text(error: BaseException) -> str:
    allowed = getattr(error, "allowed_failures", None)
    return "more times than the scheduler allows" if allowed is None else f"{allowed + 1} times"


def _unreadable(blocks: Sequence[_Block]) -> tuple[int, ...]:
    """Blocks whose rows can no longer be computed: a tiny task on each block's pieces, all at once."""
    distributed = sys.modules.get("distributed")
    if distributed is None:  # pragma: no cover - the failures above come from distributed
        return ()
    try:
        client = distributed.get_client()
        token = uuid.uuid4().hex
        probes = [
            delayed(_present, pure=False)(block.X, block.y, block.weight, dask_key_name=(f"{PROBE_PREFIX}-{token}", block.index))
            for block in blocks
        ]
        # One submission each: the scheduler cancels a whole submission that needs a lost key.
        futures = [client.compute(probe) for probe in probes]
        for future in futures:
            try:
                distributed.wait(future)
            except concurrent.futures.CancelledError:  # FuturesCancelledError: this block's rows are gone
                pass
        lost = tuple(block.index for block, future in zip(blocks, futures) if future.status == "cancelled")
        client.cancel(futures)
        return lost
    except Exception:  # noqa: BLE001 - the probe only names the blocks; the loss is reported either way
        return ()


def _present(*pieces: Any) -> bool:
    return True


def _blocks_of_task(task: Any, blocks: Sequence[_Block]) -> tuple[int, ...]:
    """The blocks whose rows ``task`` computes: a gradfit task on one block has its number in its key
    (merges have three parts); any other task (a read, a user's ``map_blocks``) is looked for among
    what each block's pieces depend on."""
    if isinstance(task, tuple) and len(task) == 2 and str(task[0]).startswith("gradfit-") and isinstance(task[1], int):
        return (task[1],)
    return tuple(block.index for block in blocks if any(_depends_on(piece, task) for piece in (block.X, block.y, block.weight)))


def _depends_on(piece: Any, task: Any) -> bool:
    if not hasattr(piece, "__dask_graph__") or not hasattr(piece, "key"):  # a constant weight, or none
        return False
    graph = dict(piece.__dask_graph__())
    if task not in graph:
        return False
    seen: set = set()
    stack = [piece.key]
    while stack:
        key = stack.pop()
        if key == task:
            return True
        if key in seen or key not in graph:
            continue
        seen.add(key)
        stack.extend(get_dependencies(graph, key))
    return False


def _names(which: Sequence[int], row_chunks: Sequence[int] | None, *, frame: bool) -> str:
    """"block 2 (rows 1000-1499)", "blocks 0 (rows 0-499) and 3 (rows 1500-1999)", "partition 4"."""
    kind = "partition" if frame else "block"
    starts = None
    if row_chunks is not None:
        starts = [0]
        for length in row_chunks:
            starts.append(starts[-1] + length)

    def one(index: int) -> str:
        if starts is None or index + 1 >= len(starts):
            return str(index)
        return f"{index} (rows {starts[index]}-{starts[index + 1] - 1})"

    names = [one(index) for index in which]
    shown = names if len(names) <= 10 else names[:10] + [f"{len(names) - 10} more"]
    joined = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"{kind}{'s' if len(which) > 1 else ''} {joined}"
