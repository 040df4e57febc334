"""gradfit: linear regression by gradient descent, from the classroom example to data at scale.

``import gradfit`` is cheap: :class:`LinearRegression` (and with it scikit-learn) and ``__version__``
(the installed package's metadata) are imported when first asked for, ``from gradfit import
LinearRegression`` included.
"""

from __future__ import annotations

from gradfit.errors import DataError, DivergenceError, GradfitError, ModelFileError


def load(path):  # re-exported with its real signature below
    """Read a model written by :meth:`LinearRegression.save`; refuses anything else with ValueError."""
    from gradfit.estimator import load_model

    return load_model(path)


def __getattr__(name: str):  # module attribute hook
    """``gradfit.LinearRegression`` without importing scikit-learn until it is asked for, and
    ``gradfit.__version__`` without reading the package metadata until then."""
    if name == "LinearRegression":
        from gradfit.estimator import LinearRegression

        globals()["LinearRegression"] = LinearRegression  # asked once
        return LinearRegression
    if name == "__version__":
        from gradfit._version import __version__

        globals()["__version__"] = __version__
        return __version__
    raise AttributeError(f"module 'gradfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = ["LinearRegression", "DivergenceError", "DataError", "GradfitError", "ModelFileError", "load", "__version__"]
