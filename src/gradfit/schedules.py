"""Step-size schedules for the stochastic solvers: plain callables of the epoch number.

A schedule maps the epoch ``k`` (0-based) and the step it started from to the step for that epoch.
"adaptive" also looks at whether the loss still improves, so it is a small stateful policy instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["constant", "inverse_scaling", "AdaptiveSchedule", "SCHEDULES"]

Schedule = Callable[[int, float], float]

#: sklearn's SGDRegressor divides the step by 5 when the loss stops improving ("adaptive").
ADAPTIVE_DIVISOR = 5.0


def constant(epoch: int, initial_step: float) -> float:
    """``η_k = η_0``."""
    return initial_step


def inverse_scaling(epoch: int, initial_step: float, *, power: float = 0.25) -> float:
    """``η_k = η_0 / (k + 1)^power`` (sklearn's "invscaling", with its default power 0.25)."""
    return initial_step / (epoch + 1) ** power


@dataclass(frozen=True)
class AdaptiveSchedule:
    """Keep ``η`` while the loss improves by more than ``tol`` relative; divide it by 5 after
    ``patience`` epochs without improvement (sklearn's "adaptive").

    ``next_step(step, best_loss, loss, stalled)`` returns ``(step, best_loss, stalled)``.
    """

    patience: int = 5
    tol: float = 1e-4

    def next_step(self, step: float, best_loss: float, loss: float, stalled: int) -> tuple[float, float, int]:
        if loss < best_loss * (1 - self.tol):
            return step, loss, 0
        stalled += 1
        if stalled >= self.patience:
            return step / ADAPTIVE_DIVISOR, min(best_loss, loss), 0
        return step, min(best_loss, loss), stalled


SCHEDULES = ("constant", "invscaling", "adaptive")
