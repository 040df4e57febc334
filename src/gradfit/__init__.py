"""gradfit: linear regression by gradient descent, from the classroom example to data at scale."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from gradfit.errors import DataError, DivergenceError, GradfitError, ModelFileError

try:
    __version__ = version("gradfit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"


def __getattr__(name: str):  # noqa: ANN202 - PEP 562: LinearRegression on first use
    """``gradfit.LinearRegression``, imported on first use: the estimator brings in scikit-learn, which
    ``import gradfit`` (and so the command line's start-up) need not pay for until it is used."""
    if name == "LinearRegression":
        from gradfit.estimator import LinearRegression

        return LinearRegression
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(path):  # noqa: ANN001, ANN201 - re-exported with its real signature below
    """Read a model written by :meth:`LinearRegression.save`; refuses anything else with ValueError."""
    from gradfit.modelio import load_model

    return load_model(path)


__all__ = ["LinearRegression", "DivergenceError", "DataError", "GradfitError", "ModelFileError", "load", "__version__"]
