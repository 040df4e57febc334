"""Start-up: ``gradfit --help`` and ``import gradfit`` leave the heavy libraries and the estimator unimported
(``benchmarks/startup.py`` times them); the defaults the command line writes out for that reason are the
library's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradfit import LinearRegression
from gradfit.cli import options
from gradfit.solvers.direct import DIRECT_SOLVERS
from gradfit.learning import DEFAULT_TOL
from gradfit.report import REPORT_FRAMES
from gradfit.solvers import SOLVERS

#: What a start must not import: each costs a tenth of a second or more (scikit-learn about 0.8 s).
HEAVY = ("sklearn", "scipy", "matplotlib", "pyarrow", "dask", "pandas", "gradfit.estimator")

#: Seconds a fresh interpreter may take to start (far more than it needs, on a busy machine).
TIMEOUT = 120

LOADED = "import json, sys; print(json.dumps(sorted(sys.modules)))"


@pytest.mark.parametrize("code", [
    "import gradfit",
    "import contextlib, io\nfrom gradfit.cli import run\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n    run(['--help'])",
], ids=["import gradfit", "gradfit --help"])
def test_start_imports_nothing_heavy(code):
    done = subprocess.run([sys.executable, "-c", f"{code}\n{LOADED}"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert not [name for name in loaded if name.startswith(HEAVY)]


def test_defaults_written_out_for_help_are_the_librarys():
    parameters = LinearRegression().get_params()
    assert options._DEFAULTS == {name: parameters[name] for name in options._DEFAULTS}
    assert set(options.SOLVER_NAMES) == set(SOLVERS) | set(DIRECT_SOLVERS)
    assert options.DEFAULT_SWEEP_TOL == DEFAULT_TOL and options.DEFAULT_REPORT_FRAMES == REPORT_FRAMES
