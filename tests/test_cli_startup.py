"""Start-up: ``gradfit --help`` and ``import gradfit`` leave the heavy libraries and the estimator unimported,
and ``gradfit fit`` on a CSV or Parquet file all but pyarrow (``benchmarks/startup.py`` times them); the
defaults and the refusals the command line writes out for that reason are the library's."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from gradfit import LinearRegression
from gradfit.cli import options
from gradfit.learning import DEFAULT_TOL
from gradfit.report import REPORT_FRAMES
from gradfit.solvers import SOLVERS
from gradfit.solvers.direct import DIRECT_SOLVERS

#: What a start must not import: each costs a tenth of a second or more (scikit-learn about 0.8 s; numba,
#: which compiles the stochastic solvers' epochs, about 0.5 s, llvmlite with it).
HEAVY = ("sklearn", "scipy", "matplotlib", "pyarrow", "dask", "pandas", "numba", "llvmlite", "gradfit.estimator",
         "gradfit.solvers.stochastic_kernels")

#: Seconds a fresh interpreter may take to start (far more than it needs, on a busy machine).
TIMEOUT = 120

#: What ``gradfit fit`` on a CSV or Parquet file must not import: it fits through the core (``fitting.fit``),
#: and pyarrow reads the file.
FIT_HEAVY = tuple(name for name in HEAVY if name != "pyarrow")

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


@pytest.mark.parametrize("suffix, options", [(".csv", []), (".csv", ["--json"]), (".parquet", ["--quiet"])])
def test_fit_imports_no_scikit_learn(tmp_path, suffix, options):
    rows = [(i / 20, 2 * i / 20 + 1 + (-1) ** i * 0.01) for i in range(20)]
    path = tmp_path / f"small{suffix}"
    if suffix == ".csv":
        path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"x": [x for x, _ in rows], "y": [y for _, y in rows]}), path)
    code = ("import contextlib, io\nfrom gradfit.cli import run\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert run(['fit', {str(path)!r}, '--target', 'y', *{options!r}]) == 0")
    done = subprocess.run([sys.executable, "-c", f"{code}\n{LOADED}"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert not [name for name in loaded if name.startswith(FIT_HEAVY)]


@pytest.mark.parametrize("name", ["tol", "alpha"])
def test_infinite_values_refused_by_the_core_and_shown_as_options(name, gradfit_cli, tmp_path):
    """``fit`` fits through the core, without the estimator's parameter check: the core's settings
    refuse an infinite --tol or --alpha themselves (their option ranges let it through), and the
    command line names the option."""
    from gradfit.fitting import Settings

    with pytest.raises(ValueError, match=rf"{name}=inf is out of range: {name} must be a finite number"):
        Settings(**{name: math.inf})
    with pytest.raises(ValueError, match=rf"'{name}' parameter of LinearRegression"):  # the estimator: scikit-learn's words
        LinearRegression(**{name: math.inf}).fit([[0.0], [1.0]], [0.0, 1.0])
    data = tmp_path / "small.csv"
    data.write_text("x,y\n1,2\n2,4.1\n3,5.9\n")
    code, out, err = gradfit_cli("fit", str(data), "--target", "y", f"--{name}", "inf")
    assert code == 2 and not out
    assert f"--{name} inf is out of range: {name} must be a finite number, 0 or above" in err
