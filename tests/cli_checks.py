"""What the command-line tests check of every run: exit code, no traceback, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The console script next to this interpreter when the package is installed; else ``python -m``.
SCRIPT = Path(sys.executable).with_name("gradfit")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gradfit.cli"]
#: Seconds any one command may take (the demo imports matplotlib and runs a few thousand updates).
TIMEOUT = 120


@dataclass
class Outcome:
    """A finished command: exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

    def __iter__(self):
        """``code, stdout, stderr = outcome``."""
        return iter((self.code, self.stdout, self.stderr))

    def __str__(self) -> str:
        return f"exit code {self.code}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


def expect(outcome: Outcome, code: int = 0) -> Outcome:
    assert outcome.code == code, str(outcome)
    assert "Traceback" not in outcome.stdout + outcome.stderr, str(outcome)
    return outcome


def expect_error(outcome: Outcome, *fragments: str, code: int = 2) -> str:
    """One line ``error: ...`` on stderr holding every fragment, nothing on stdout; returns the line."""
    expect(outcome, code)
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), str(outcome)
    assert outcome.stdout == "", str(outcome)
    for fragment in fragments:
        assert fragment in lines[0], str(outcome)
    return lines[0]


def run_installed(*args: object, cwd: Path, columns: int | None = None) -> Outcome:
    """The installed ``gradfit`` command as a subprocess in ``cwd``. With ``columns``, in a bare
    environment as a new user's shell has it (PATH, a terminal ``columns`` wide, UTF-8; PYTHONPATH
    kept where set, so a checkout's own source is what runs)."""
    environment = None
    if columns is not None:
        environment = {"PATH": "/usr/bin:/bin", "COLUMNS": str(columns), "PYTHONIOENCODING": "utf-8"}
        if "PYTHONPATH" in os.environ:
            environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          timeout=TIMEOUT, env=environment)
    return Outcome(done.returncode, done.stdout, done.stderr)
