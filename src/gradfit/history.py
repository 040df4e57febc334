"""Per-iteration records and the result of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["History", "PathRecorder", "Result", "Status"]

Status = Literal["tol", "floor", "stalled", "max_iter", "callback", "interrupted"]


@dataclass(frozen=True)
class History:
    """What each update started from: entry ``i`` describes the iterate before update ``i + 1``.

    Attributes
    ----------
    loss : ndarray of shape (n_iter,)
        ``J(θ_i)``, recorded before update ``i + 1`` (as the article records its cost).
    grad_norm : ndarray of shape (n_iter,)
        ``‖∇J(θ_i)‖``.
    step_size : ndarray of shape (n_iter,)
        Step size used by update ``i + 1``.
    elapsed : ndarray of shape (n_iter,)
        Seconds from the start of the run to iterate ``i`` (within a closed-form block of constant
        steps, spread evenly over the block's time).
    """

    loss: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    grad_norm: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    step_size: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    elapsed: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        # Histories written before elapsed times were recorded have none: fill with NaN, not a lie.
        if self.elapsed.shape[0] != self.loss.shape[0]:
            object.__setattr__(self, "elapsed", np.full(self.loss.shape[0], np.nan))

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def scaled(self, loss_scale: float) -> History:
        """The same history with losses multiplied by ``loss_scale`` (to the target's units)."""
        with np.errstate(over="ignore"):
            return History(self.loss * loss_scale, self.grad_norm, self.step_size, self.elapsed)

    def truncated(self, n_iter: int) -> History:
        """The first ``n_iter`` records."""
        return History(self.loss[:n_iter], self.grad_norm[:n_iter], self.step_size[:n_iter], self.elapsed[:n_iter])

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "loss": self.loss.tolist(),
            "grad_norm": self.grad_norm.tolist(),
            "step_size": self.step_size.tolist(),
            "elapsed": self.elapsed.tolist(),
        }

    def to_pandas(self):  # pandas is optional
        """The history as a ``pandas.DataFrame`` indexed by iteration (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("History.to_pandas() needs pandas: pip install pandas") from error
        frame = pd.DataFrame(
            {"loss": self.loss, "grad_norm": self.grad_norm, "step_size": self.step_size, "elapsed": self.elapsed}
        )
        frame.index.name = "iteration"
        return frame


class HistoryBuilder:
    """Collects records in blocks and joins them once at the end."""

    def __init__(self) -> None:
        self._blocks: list[tuple[NDArray[np.float64], ...]] = []

    def add(self, loss, grad_norm, step_size, elapsed) -> None:  # floats or arrays
        """Append records: each argument a float or an array of one length."""
        self._blocks.append(tuple(np.atleast_1d(np.asarray(part, dtype=np.float64)) for part in (loss, grad_norm, step_size, elapsed)))

    def build(self) -> History:
        if not self._blocks:
            return History()
        return History(*(np.concatenate(parts) for parts in zip(*self._blocks)))


class PathRecorder:
    """Keeps at most ``capacity`` iterates, evenly thinned: every ``stride``-th iterate is kept, and
    when the buffer fills, every other one is dropped and the stride doubles. Memory stays
    O(capacity · p) however long the run.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError(f"a path needs room for at least 2 iterates; got capacity={capacity}")
        self.capacity = capacity
        self.stride = 1
        self._iterations: list[int] = []
        self._thetas: list[NDArray[np.float64]] = []

    def wanted(self, first: int, last: int) -> NDArray[np.intp]:
        """Iteration numbers in ``[first, last]`` the current stride keeps."""
        start = -(-first // self.stride) * self.stride
        return np.arange(start, last + 1, self.stride, dtype=np.intp)

    def add(self, iterations: NDArray[np.intp], thetas: NDArray[np.float64]) -> None:
        """Record iterates (rows of ``thetas``) taken at ``iterations``, increasing."""
        for k, theta in zip(iterations.tolist(), np.atleast_2d(thetas)):
            if k % self.stride:
                continue
            self._iterations.append(k)
            self._thetas.append(np.array(theta, dtype=np.float64))
            if len(self._iterations) >= self.capacity:
                self.stride *= 2
                keep = [i for i, kept in enumerate(self._iterations) if kept % self.stride == 0]
                self._iterations = [self._iterations[i] for i in keep]
                self._thetas = [self._thetas[i] for i in keep]

    def build(self, final_iteration: int, final_theta: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """``(iterations (k,), thetas (k, p))``, always ending with the final iterate."""
        iterations, thetas = list(self._iterations), list(self._thetas)
        if not iterations or iterations[-1] != final_iteration:
            iterations.append(final_iteration)
            thetas.append(np.array(final_theta, dtype=np.float64))
        return np.array(iterations, dtype=np.intp), np.vstack(thetas)


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`gradfit.driver.minimize`.

    Attributes
    ----------
    theta : ndarray of shape (p,)
        Final iterate, in the optimised coordinates.
    n_iter : int
        Number of updates made; ``len(history) == n_iter``.
    converged : bool
        Whether the tolerance was met.
    status : {"tol", "floor", "stalled", "max_iter", "callback", "interrupted"}
    message : str
        One sentence saying why the run stopped, with the figures.
    history : History
    final_loss, final_grad_norm : float
        Loss and gradient norm at ``theta``.
    error_bound : float
        Bound on ``‖θ − θ*‖/‖θ‖`` at ``theta`` (θ* the least-squares solution), rounding included.
    error_floor : float
        The part of that bound that rounding sets: no iterate can be certified closer.
    path_iterations : ndarray of shape (k,) or None
        With ``record_path``: the iteration numbers of the kept iterates (0 first, the last last).
    path : ndarray of shape (k, p) or None
        The kept iterates θ.
    resume : gradfit.driver.Resume or None
        Where the run stands, to go on from exactly (see :func:`gradfit.driver.minimize`'s ``start``).
    """

    theta: NDArray[np.float64]
    n_iter: int
    converged: bool
    status: Status
    message: str
    history: History
    final_loss: float
    final_grad_norm: float
    error_bound: float
    error_floor: float
    path_iterations: NDArray[np.intp] | None = None
    path: NDArray[np.float64] | None = None
    resume: object = None
