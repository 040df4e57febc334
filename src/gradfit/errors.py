"""Typed errors. The library raises these; the CLI turns them into one-line messages and exit codes."""

from __future__ import annotations

__all__ = ["GradfitError", "DataError", "LostDataError", "DivergenceError", "ModelFileError"]


class GradfitError(Exception):
    """Base class of every error gradfit raises on purpose."""


class DataError(GradfitError, ValueError):
    """The data cannot be used as given: a file, a column, a row or a value is wrong.

    The message names the place (file, line, column) and says what to do.
    """


class LostDataError(DataError):
    """Rows a fit needs are gone from a Dask cluster: their only copy was on a worker that died.

    Dask recomputes what a lost worker held wherever the graph says how (blocks read from files, made
    by ``da.from_array``, persisted collections), and the fit goes on; this is raised only for data it
    cannot recompute (``client.scatter``-ed blocks, say), or for a task that kept killing its workers.
    Nothing is fitted. The message names the blocks (and their rows, where known) and what to do.

    Attributes
    ----------
    blocks : tuple of int
        Numbers of the blocks (partitions) lost, in X's order; empty where they could not be told.
    """

    def __init__(self, message: str, *, blocks: tuple[int, ...] = ()) -> None:
        self.blocks = tuple(blocks)
        super().__init__(message)


class ModelFileError(GradfitError, ValueError):
    """A file is not a gradfit model file (wrong format, truncated, wrong fields or types)."""


class DivergenceError(GradfitError, ValueError):
    """Gradient descent blew up: the loss grew without bound.

    Attributes
    ----------
    iteration : int
        Number of updates made when the divergence became clear.
    loss : float
        Loss (in the optimised scale) at that point; may be ``inf``.
    initial_loss : float
        Loss at the starting point, same scale.
    learning_rate : float or None
        The step size that was used, in the optimised scale.
    stable_bound : float or None
        The largest constant step for which the solver is stable on this problem: ``2/L`` for
        gradient descent; it depends on the momentum β for the others (heavy ball ``2(1 + β)/L``,
        Nesterov ``2(1 + β)/((1 + 2β)L)``).
    """

    def __init__(
        self,
        *,
        iteration: int,
        loss: float,
        initial_loss: float,
        learning_rate: float | None,
        stable_bound: float | None,
        solver: str,
    ) -> None:
        self.iteration = iteration
        self.loss = loss
        self.initial_loss = initial_loss
        self.learning_rate = learning_rate
        self.stable_bound = stable_bound
        self.solver = solver
        super().__init__(self._message())

    def _message(self) -> str:
        head = (
            f"solver {self.solver!r} diverged at iteration {self.iteration}: "
            f"the loss grew from {self.initial_loss:.4g} to {self.loss:.4g}."
        )
        if self.learning_rate is None or self.stable_bound is None:
            return head + " Use a smaller learning rate."
        if self.solver != "gd":  # a momentum method: its bound depends on the momentum, not just 2/L
            bound = (f"{self.stable_bound:.6g}, the largest stable learning rate of solver {self.solver!r} with "
                     "its momentum on this problem")
            if self.learning_rate > self.stable_bound:
                why = f" learning_rate={self.learning_rate:.6g} is above {bound}."
            elif self.learning_rate >= 0.9 * self.stable_bound:
                why = f" learning_rate={self.learning_rate:.6g} is at or near {bound}."
            else:
                why = (f" learning_rate={self.learning_rate:.6g} is below {bound} as computed from L, so L "
                       "was short of the data's largest curvature.")
            return head + why + " Use a smaller learning_rate, or solver='cg', which needs none."
        auto = self.stable_bound / 2
        if self.learning_rate > self.stable_bound:
            why = (
                f" learning_rate={self.learning_rate:.6g} is above {self.stable_bound:.6g}, the largest "
                f"stable learning rate (2/L, with L = {1 / auto:.6g} the largest eigenvalue of XᵀX/m in "
                f"the scale being optimised)."
            )
        else:
            why = (
                f" learning_rate={self.learning_rate:.6g} is at or near the largest stable learning rate "
                f"{self.stable_bound:.6g} (2/L)."
            )
        return head + why + f" Use learning_rate='auto' (1/L = {auto:.6g}) or any value below {self.stable_bound:.6g}."


def non_finite(name: str, value: float, row: int, column: int | None = None) -> DataError:
    """The error for a NaN or infinite value in array ``name`` ("X", "y"), naming where it is."""
    what = "NaN" if value != value else "infinity"
    where = f"row {row}" if column is None else f"row {row}, column {column}"
    return DataError(f"Input {name} contains {what} at {where}; remove or impute it")
