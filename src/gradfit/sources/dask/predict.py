"""Predictions on the cluster: :func:`predict_blocks`, ``X @ coef + intercept`` block by block, lazily."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradfit.sources.dask.align import _is_frame
from gradfit.sources.kinds import is_device_array

__all__ = ["predict_blocks"]


def predict_blocks(X: Any, coef: NDArray[np.float64], intercept: float, feature_names: NDArray | None) -> Any:
    """``X @ coef + intercept`` block by block on the cluster: a lazy Dask array for a Dask array X, a
    Dask Series (X's index) for a DataFrame, whose columns must be the fitted feature names."""
    if _is_frame(X):
        columns = [str(name) for name in X.columns]
        if feature_names is not None and columns != [str(name) for name in feature_names]:
            missing = [str(name) for name in feature_names if str(name) not in columns]
            raise ValueError(
                f"X's columns differ from the ones the model was fitted on ({', '.join(map(repr, map(str, feature_names)))})"
                + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
            )
        if len(columns) != coef.shape[0]:
            raise ValueError(f"X has {len(columns)} columns but the model was fitted on {coef.shape[0]}")
        import pandas as pd

        def block(part: Any) -> Any:
            return pd.Series(part.to_numpy(dtype=np.float64) @ coef + intercept, index=part.index, name="prediction")

        return X.map_partitions(block, meta=pd.Series([], dtype=np.float64, name="prediction"))
    if X.ndim != 2 or X.shape[1] != coef.shape[0]:
        raise ValueError(f"X has shape {X.shape} but the model was fitted on {coef.shape[0]} features")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    meta = X._meta
    if not isinstance(meta, np.ndarray):  # CuPy blocks: predictions stay on the workers' devices, as CuPy arrays
        from gradfit.sources.arrays import array_namespace

        meta = array_namespace(meta).empty((0,))
    else:
        meta = np.empty((0,), dtype=np.float64)
    import dask.array as da

    # Whole rows a block, handed over as they are (concatenate=False: Dask would join the one block of
    # columns with numpy's concatenate, which a device array's library may not be).
    return da.blockwise(_predict_block, "i", X, "ij", dtype=np.float64, meta=meta, concatenate=False,
                        coef=coef, intercept=intercept)


def _predict_block(blocks: list, *, coef: NDArray[np.float64], intercept: float) -> Any:
    """One block of rows' predictions (``blocks``: its one block of columns): on its device where it is a
    device array (float64 there), else in numpy."""
    (block,) = blocks
    if is_device_array(block):
        from gradfit.sources.arrays import predict_on_device

        return predict_on_device(block, coef, intercept)
    return np.asarray(block, dtype=np.float64) @ coef + intercept
