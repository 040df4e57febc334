"""What kind of data ``X`` is, told from its type without importing the library it comes from (a
command's start imports neither scipy, Dask nor any array library it is not given)."""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["DEVICE_ARRAY_LIBRARIES", "is_dask_collection", "is_device_array", "is_sparse"]


def is_dask_collection(X: object) -> bool:
    """Whether ``X`` is a Dask array or DataFrame (told by its type's module: dask is not imported)."""
    return type(X).__module__.startswith("dask")


#: Libraries whose arrays are read where they live (:class:`~gradfit.sources.arrays.ArraySource`), told by
#: their type's module so that none of them is imported to ask.
DEVICE_ARRAY_LIBRARIES = ("torch", "cupy", "array_api_strict", "jax", "jaxlib")


def is_device_array(X: object) -> bool:
    """Whether ``X`` is an array of the array API standard other than numpy's (a PyTorch tensor, a CuPy
    array, array-api-strict's), which a fit reads on its device: told by its type's module, importing nothing."""
    if isinstance(X, np.ndarray | np.generic):
        return False
    module = type(X).__module__.split(".")[0]
    return module in DEVICE_ARRAY_LIBRARIES or (hasattr(X, "__array_namespace__") and module not in ("numpy", "dask"))


def is_sparse(X: object) -> bool:
    """Whether ``X`` is a scipy.sparse matrix or array, without importing scipy (about 0.15 s of a
    command's start): none exists before scipy.sparse is imported."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)
