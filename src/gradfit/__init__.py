"""gradfit: linear regression by gradient descent, from the classroom example to data at scale."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from gradfit.errors import DataError, DivergenceError, GradfitError, ModelFileError
from gradfit.estimator import LinearRegression

try:
    __version__ = version("gradfit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"


def load(path):  # noqa: ANN001, ANN201 - re-exported with its real signature below
    """Read a model written by :meth:`LinearRegression.save`; refuses anything else with ValueError."""
    from gradfit.modelio import load_model

    return load_model(path)


__all__ = ["LinearRegression", "DivergenceError", "DataError", "GradfitError", "ModelFileError", "load", "__version__"]
