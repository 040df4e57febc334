"""What the command-line tests check of every run: exit code, no traceback, one-line errors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Outcome:
    """A finished command: exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

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
