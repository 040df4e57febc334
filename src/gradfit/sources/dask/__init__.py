"""Rows on a Dask cluster: statistics gathered per block on the workers and tree-reduced there.

``LinearRegression().fit(X, y)`` with a Dask array or DataFrame ``X`` (and ``y``, ``sample_weight``
as Dask arrays or Series, or small in-memory arrays) wraps them in a :class:`DaskSource`. Its
:meth:`~DaskSource.stats` is one ``dask.compute`` of a graph with

* one task per block of rows: :meth:`SufficientStats.from_chunk` over the block, 2 MiB at a time
  (as :class:`~gradfit.sources.memory.MemorySource` does), merged in a balanced tree;
* a tree of merge tasks (``split_every`` parts each, Chan et al.'s pairwise update) on the workers.

Each task returns a :class:`SufficientStats`: a (d, d) matrix and a few d-vectors. The blocks stay
where they are; only those d×d results move between workers, and one of them reaches the client.
Every solver then iterates on the client in O(d²) per update, without touching the cluster again.
The graph runs on whatever scheduler is active: a ``distributed.Client``'s cluster when there is one.

Which rows make a block is decided in one place, :func:`align_blocks`: Dask may partition
``df[features]`` and ``df["y"]`` differently (``read_parquet`` reads fewer columns in bigger
partitions), so y and the weights are lined up with X's blocks in the graph, lazily, and every
pass (statistics, streaming passes) maps over the same aligned blocks. Columns of one DataFrame are
read together, once per pass.

The workers need gradfit installed (``pip install 'gradfit[dask]'`` on them too).

Examples
--------
>>> import dask
>>> import dask.array as da
>>> import numpy as np
>>> from gradfit import LinearRegression
>>> rng = np.random.default_rng(0)
>>> X = da.from_array(rng.normal(size=(1000, 3)), chunks=(250, 3))
>>> y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
>>> with dask.config.set(scheduler="synchronous"):  # on a cluster: the distributed.Client's workers
...     model = LinearRegression(solver="auto").fit(X, y)
>>> np.round(model.coef_, 12), round(model.intercept_, 12), model.solver_
(array([ 1. , -2. ,  0.5]), 3.0, 'exact')

On a cluster, fit the files' DataFrame as it is (each file is read once per pass; persist it first
when a streaming fit will make many passes)::

    from distributed import Client
    client = Client("scheduler-address:8786")        # or Client(LocalCluster(n_workers=2))
    frame = dask.dataframe.read_parquet("s3://bucket/table/")
    model = LinearRegression().fit(frame.drop(columns="y"), frame["y"])
    model.feature_names_in_                          # the frame's column names
"""

from __future__ import annotations

# The one place that says which extra is missing: the rooms below import dask plainly, after this.
try:
    import dask
    import dask.array
    import dask.delayed
    import dask.sizeof  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised with dask hidden from sys.modules
    raise ImportError("Dask support needs the optional extra: pip install 'gradfit[dask]'") from error

from gradfit.sources.dask.align import AlignedBlocks, align_blocks
from gradfit.sources.dask.predict import predict_blocks
from gradfit.sources.dask.source import BLOCK_PREFIX as BLOCK_PREFIX  # the graph's task names: importable here, not in __all__
from gradfit.sources.dask.source import MERGE_PREFIX as MERGE_PREFIX
from gradfit.sources.dask.source import ORIGIN_PREFIX as ORIGIN_PREFIX
from gradfit.sources.dask.source import DaskSource

__all__ = ["AlignedBlocks", "DaskSource", "align_blocks", "predict_blocks"]
