"""The least-squares objective in the coordinates being optimised.

With ``Z`` the design in those coordinates (centred and scaled columns, and a column of ones when
there is an intercept) and ``t`` the target in the same units,

    J(θ) = Σ (Zθ − t)² / 2m = ½ (θᵀGθ − 2bᵀθ + c),   ∇J(θ) = Gθ − b,

with ``G = ZᵀZ/m``, ``b = Zᵀt/m`` and ``c = tᵀt/m``. :class:`Frame` is the affine map between θ and
the model's ``coef_``/``intercept_`` in the user's units.

The rooms:

- ``frame.py``: :class:`Frame` (θ ↔ coefficients) and :class:`Accuracy`;
- ``statistics.py``: :class:`LeastSquares`, from sufficient statistics (O(p²) per evaluation);
- ``streaming.py``: :class:`StreamingLeastSquares`, by passes over the rows (no d × d matrix);
- ``krylov.py``: :class:`KrylovSpace`, :class:`KrylovObjective` (Lanczos replay);
- ``penalty.py``: the L1 part every objective shares.

What callers may use is declared here, as protocols: :class:`Objective` (solvers and the driver),
:class:`StatisticsObjective` (the direct solver and closed-form blocks), :class:`RowObjective` (the
stochastic solvers) and :class:`SparseRowObjective` (the same solvers on a sparse X in memory, on
the streaming engine). Optional capabilities are attributes every objective class declares, with the
defaults given below, so no caller probes for them by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from gradfit.objective.frame import Accuracy, Frame
from gradfit.objective.krylov import KrylovObjective, KrylovSpace
from gradfit.objective.statistics import DENSE_SPECTRUM_MAX, LeastSquares, RowArrays, SparseRowArrays
from gradfit.objective.streaming import LANCZOS_STEPS, StreamingLeastSquares

__all__ = [
    "Accuracy", "Frame", "KrylovObjective", "KrylovSpace", "LeastSquares", "RowArrays", "StreamingLeastSquares",
    "SparseRowArrays", "Objective", "StatisticsObjective", "RowObjective", "SparseRowObjective", "DENSE_SPECTRUM_MAX",
    "LANCZOS_STEPS",
]


class Objective(Protocol):
    """What solvers and the driver use of an objective: :class:`LeastSquares`,
    :class:`StreamingLeastSquares`, and :class:`KrylovObjective` for the step part (the driver's part,
    from ``frame`` on, is not asked of a Krylov restriction: only solvers step on it).

    Optional capabilities, with the value an objective that lacks one declares:

    - ``streaming`` (False): each evaluation reads the data, so solvers reuse evaluations
      (gradients by recurrence, a lookahead's gradient by linearity);
    - ``lipschitz_estimated`` (False): L is an estimate (Lanczos), so momentum methods with automatic
      parameters check the curvature along each move;
    - ``extended`` (None): double-double ``(G, b)`` pairs, which gradients are evaluated from (no
      closed-form blocks then: every iterate gets its accurate gradient);
    - ``can_recentre`` (False): :meth:`recentred` applies (the driver recentres near the rounding floor);
    - ``want_krylov_space()`` (does nothing) and ``krylov_space(θ0)`` (None): the Lanczos vectors of
      the estimate of L and μ, kept for a solver to replay its first updates from.
    """

    n_params: int
    l1: NDArray[np.float64] | None
    streaming: bool
    lipschitz_estimated: bool
    extended: tuple | None

    @property
    def has_l1(self) -> bool: ...

    @property
    def can_recentre(self) -> bool: ...

    @property
    def lipschitz(self) -> float: ...

    @property
    def strong_convexity(self) -> float: ...

    @property
    def gradient_scale(self) -> float: ...

    def loss_grad(self, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]: ...

    def hess_vec(self, vector: NDArray[np.float64]) -> NDArray[np.float64]: ...

    def penalty(self, theta: NDArray[np.float64]) -> float: ...

    def prox(self, theta: NDArray[np.float64], step: float) -> NDArray[np.float64]: ...

    def stationarity(self, theta: NDArray[np.float64], grad: NDArray[np.float64]) -> float: ...

    def want_krylov_space(self) -> None: ...

    def krylov_space(self, theta0: NDArray[np.float64]) -> KrylovSpace | None: ...

    # --- the driver's part (LeastSquares, StreamingLeastSquares) ----------------------------------

    frame: Frame

    @property
    def condition_number(self) -> float: ...

    @property
    def curvature_known(self) -> bool: ...

    def error_bound(self, stationarity, theta_norm, loss): ...  # floats or arrays alike

    def accuracy(self, theta: NDArray[np.float64], grad: NDArray[np.float64], stationarity: float, loss: float) -> Accuracy: ...


class StatisticsObjective(Objective, Protocol):
    """An objective with its statistics at hand (:class:`LeastSquares`): what the direct solver, a
    solver's closed-form block (``Solver.advance``) and recentring use besides :class:`Objective`."""

    G: NDArray[np.float64]
    b: NDArray[np.float64]
    c: float
    ridge: NDArray[np.float64]

    @property
    def spectrum(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

    def solve(self, rhs: NDArray[np.float64]) -> NDArray[np.float64]: ...

    def recentred(self, anchor: NDArray[np.float64]) -> StatisticsObjective: ...

    def accuracy_rows(self, thetas: NDArray[np.float64], losses: NDArray[np.float64]): ...


class RowObjective(StatisticsObjective, Protocol):
    """An objective over rows in memory (:class:`LeastSquares` built from such a source): what the
    stochastic solvers draw their batches from, by :meth:`batch_gradient`, or in a compiled epoch over
    :meth:`row_arrays` (the rows as dense arrays and their map to θ's coordinates; None where the rows
    are not dense float64 arrays, and the solvers fall back to :meth:`batch_gradient`). Rows in files
    come by :meth:`row_blocks` instead (one scan an epoch, shuffled within each block)."""

    @property
    def n_samples(self) -> int: ...

    def max_row_norm2(self) -> float: ...

    def design(self, X: NDArray[np.float64]) -> NDArray[np.float64]: ...

    def batch_gradient(self, theta: NDArray[np.float64], indices: NDArray[np.intp]) -> NDArray[np.float64]: ...

    def row_arrays(self) -> RowArrays | None: ...

    def row_blocks(self, max_rows: int) -> Iterator[RowArrays] | None: ...


class SparseRowObjective(Objective, Protocol):
    """An objective over a sparse X in memory without statistics (:class:`StreamingLeastSquares` on a
    scipy.sparse X): what ``sgd`` and ``minibatch`` walk in their compiled epochs, by
    :meth:`row_arrays` (the CSR arrays and their map to θ's coordinates, :class:`SparseRowArrays`),
    besides the :class:`Objective` they evaluate at each epoch's end (one pass). ``row_blocks`` is
    None (the rows are in memory); there is no ``batch_gradient`` (no Python loop over sparse rows)."""

    ridge: NDArray[np.float64]

    @property
    def n_samples(self) -> int: ...

    def max_row_norm2(self) -> float: ...

    def row_arrays(self) -> SparseRowArrays | None: ...

    def row_blocks(self, max_rows: int) -> None: ...
