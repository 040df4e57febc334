"""Start-up of the command line and of ``import gradfit``, whole process, against Python's own (issue 12).

Targets, on the project's 2-core machine: ``gradfit --help`` in at most 0.3 s and ``gradfit fit
small.csv --target y`` in at most 0.6 s.

    python benchmarks/startup.py [--repeats 7]

What is measured: the wall-clock seconds of a fresh process, from start to exit (``subprocess.run``
timed with ``perf_counter``), median of ``--repeats`` runs after one untimed run of each (so the
files are in the page cache); the commands are interleaved, run by run, so that a busy moment of the
machine slows them alike. The anchors, measured in the same run, are ``python -c pass`` (the
interpreter's own start) and ``python -c "import numpy"`` (the least any numerical command pays);
each time is printed with its ratio to both. ``import typer.rich_utils`` (typer, click and rich as
``--help`` uses them) is the floor of any ``--help`` written with typer. The CSV is 100 rows of
``x, y`` written to a temporary folder; the ``gradfit`` command is the console script next to this
interpreter when it is installed, else ``python -m gradfit.cli``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Runs of each command timed (a median of 7 stays put when one run catches the machine busy).
REPEATS = 7
#: Rows of the small CSV that ``gradfit fit`` reads.
SMALL_ROWS = 100


def gradfit_command() -> list[str]:
    script = Path(sys.executable).with_name("gradfit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gradfit.cli"]


def write_small_csv(folder: Path) -> Path:
    path = folder / "small.csv"
    rows = [(i / SMALL_ROWS, 2 * i / SMALL_ROWS + 1 + (-1) ** i * 0.01) for i in range(SMALL_ROWS)]  # y = 2x + 1 ± 0.01
    lines = ["x,y"] + [f"{x:.3f},{y:.4f}" for x, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wall_time(command: list[str], *, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gradfit-startup-") as folder:
        cwd = Path(folder)
        csv = write_small_csv(cwd)
        gradfit = gradfit_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
            'python -c "import typer.rich_utils"': [sys.executable, "-c", "import typer.rich_utils"],
            'python -c "import gradfit"': [sys.executable, "-c", "import gradfit"],
            "gradfit --help": [*gradfit, "--help"],
            "gradfit fit small.csv --target y": [*gradfit, "fit", str(csv), "--target", "y"],
        }
        for command in commands.values():  # untimed: the page cache, the .pyc files
            wall_time(command, cwd=cwd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                times[name].append(wall_time(command, cwd=cwd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare, numpy = medians["python -c pass"], medians['python -c "import numpy"']
    print(f"whole-process wall time, median of {args.repeats} ({sys.executable})")
    print(f"{'command':<36} {'median s':>9} {'min-max s':>13} {'× pass':>7} {'× numpy':>8}")
    for name, median in medians.items():
        low, high = min(times[name]), max(times[name])
        print(f"{name:<36} {median:9.3f} {low:6.3f}-{high:<6.3f} {median / bare:7.1f} {median / numpy:8.2f}")


if __name__ == "__main__":
    main()
