"""Shared test helpers: the article's own loop, as the plain reference every GD path is held to."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

# Fixed seeds everywhere: hypothesis draws the same examples in every run and on every machine
# (derived from each test's name), and replays no failures saved by an earlier run.
settings.register_profile("fixed-seed", derandomize=True, database=None)
settings.load_profile("fixed-seed")


def reference_article_loop(X: np.ndarray, y: np.ndarray, *, times: int, alpha: float, theta0) -> tuple[np.ndarray, np.ndarray]:
    """The article's gradientDescent, written out again here: ones column, cost before each update.

    The same operations in the same order as the article (``np.dot``, then ``α·(gradient/m)``), so
    on any BLAS it gives the article loop's bits: the same calls on the same operands round alike.
    """
    m = len(y)
    design = np.hstack((np.ones((m, 1)), X))
    target = y.reshape(m, 1)
    theta = np.asarray(theta0, dtype=float).reshape(-1, 1)
    costs = np.empty(times)
    for i in range(times):
        diff = np.dot(design, theta) - target
        costs[i] = (diff**2).sum() / (2.0 * m)
        theta = theta - alpha * (np.dot(design.T, diff) / m)
    return theta.ravel(), costs


@pytest.fixture
def article_data():
    from gradfit.datasets import make_article_data

    return make_article_data(seed=2024)


@pytest.fixture
def gradfit_cli(capsys, monkeypatch, tmp_path):
    """``gradfit_cli(*args)``: the command line in this process (``gradfit.cli.run``), in ``tmp_path``;
    its exit code and output as a :class:`cli_checks.Outcome`."""
    import gradfit.cli as cli

    from cli_checks import Outcome

    monkeypatch.chdir(tmp_path)

    def invoke(*args) -> Outcome:
        code = cli.run([str(arg) for arg in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, out + err  # never, whatever the exit code
        return Outcome(code, out, err)

    return invoke
