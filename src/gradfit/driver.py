"""The one loop: history, tolerance, divergence, callbacks and Ctrl-C live here and nowhere else."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from gradfit.errors import DivergenceError
from gradfit.history import History, HistoryBuilder, PathRecorder, Result, Status
from gradfit.solvers.base import Solver, State, Trajectory
from gradfit.solvers.recentre import Recentred
from gradfit.solvers.replay import Replayed

__all__ = ["minimize", "DIVERGENCE_GROWTH", "STALL_EPOCHS", "Resume", "Checkpoint"]

#: A run has diverged once its loss is this many times its starting loss (times the solver's
#: ``transient_growth``): a descent method never gets there, and at a step past 2/L the loss grows
#: geometrically, so it crosses within a few iterations of the growth being clear.
DIVERGENCE_GROWTH = 1e3

#: Elements (steps × parameters) per closed-form block; bounds the memory of ``Solver.advance``.
BLOCK_ELEMENTS = 2**20
#: Steps in the first closed-form block; each next block is twice as long. The blocks are fixed by the
#: update count alone (see :func:`block_bounds`), never by max_iter or where a run stopped, so a run
#: continued from any update computes the iterates an uninterrupted one does, bit for bit.
FIRST_BLOCK_STEPS = 1024
#: A stochastic run with tol > 0 stops (status "stalled") once its loss has not gone below its best for
#: this many epochs: the sampled gradients' noise, not the number of epochs, then limits it (as
#: scikit-learn's SGD stops after n_iter_no_change = 5 epochs without improvement; 10 here, since
#: gradfit's loss is the whole objective's, smoother than a running average).
STALL_EPOCHS = 10
#: Iterates of a closed-form block whose relative error is checked at once (a batch costs a few
#: matrix products of this many rows by p columns).
CANDIDATES_AT_ONCE = 1024

Callback = Callable[[State], bool | None]


@dataclass(frozen=True)
class Resume:
    """Where a run stands, to go on from exactly.

    Attributes
    ----------
    state : State
        The solver's state after ``state.k`` updates (its own class: momentum, memory, moments, step
        count, schedule; a wrapper's state where one applied).
    origin : State or None
        For a run in closed-form blocks stopped inside one, the state the block started from: the
        rest of the block is computed from it, as the uninterrupted run computes it. None otherwise.
    history : History
        The records of the ``state.k`` updates made (elapsed times from the first run's start).
    """

    state: State
    origin: State | None
    history: History


class Checkpoint(Protocol):
    """Where :func:`minimize` hands its :class:`Resume` while it runs: ``due(k)`` is asked after each
    update (or block), ``next_due(k)`` before a block (so it stops there); when due, and at the run's
    end (interrupted or not), ``write(resume)`` is called."""

    def due(self, k: int) -> bool: ...

    def next_due(self, k: int) -> int | None: ...

    def write(self, resume: Resume) -> None: ...


def block_bounds(k: int, cap: int) -> tuple[int, int]:
    """The closed-form block that update ``k + 1`` falls in, as update counts ``[start, end)``: the
    first :data:`FIRST_BLOCK_STEPS` long, each next twice the last, none longer than ``cap``."""
    start, length = 0, min(FIRST_BLOCK_STEPS, cap)
    while start + length <= k:
        start += length
        length = min(2 * length, cap)
    return start, start + length


def _tail(trajectory: Trajectory, done: int) -> Trajectory:
    """``trajectory`` without its first ``done`` updates (those a continued run has made already)."""
    if done == 0:
        return trajectory
    return replace(trajectory, loss=trajectory.loss[done:], grad_norm=trajectory.grad_norm[done:],
                   theta_norm=trajectory.theta_norm[done:], state_at=lambda j: trajectory.state_at(j + done),
                   thetas_at=lambda js: trajectory.thetas_at(js + done))


def minimize(
    objective,
    solver: Solver,
    theta0: NDArray[np.float64],
    *,
    max_iter: int,
    tol: float,
    callbacks: Sequence[Callback] = (),
    record_path: int | None = None,
    start: Resume | None = None,
    checkpoint: Checkpoint | None = None,
) -> Result:
    """Run ``solver`` on ``objective`` from ``theta0`` until θ is within ``tol`` of the optimum, or ``max_iter``.

    The test is an error bound, not the gradient alone: the run has converged once
    ``objective.error_bound(‖∇J(θ)‖, ‖θ‖, J(θ)) ≤ tol·‖θ‖``, that is (without rounding)
    ``‖θ − θ*‖ ≤ ‖∇J(θ)‖/μ ≤ tol·‖θ‖`` with μ the smallest curvature. When the rounding floor of that
    bound is above ``tol·‖θ‖`` and the gradient's share has fallen below the floor, no further update
    can meet the tolerance: the run stops there with status ``"floor"``.

    Parameters
    ----------
    objective : Objective
        See :class:`gradfit.objective.Objective`: ``loss_grad(θ)``, ``accuracy``, ``error_bound``, its capabilities.
    solver : Solver
    theta0 : ndarray of shape (p,)
    max_iter : int
        Most updates to make.
    tol : float
        Relative error tolerance on θ (``0`` makes exactly ``max_iter`` updates).
    callbacks : sequence of callables
        Each is called with every new :class:`State`; returning True stops the run (status "callback").
        With callbacks the solver steps one update at a time.
    record_path : int or None
        Keep up to this many iterates, evenly thinned over the run (see :class:`PathRecorder`).
    start : Resume or None
        Go on from where an earlier run on the same objective stood (its ``Result.resume``, or a
        checkpoint's): ``theta0`` is then unused, ``max_iter`` counts the earlier updates too, and the
        iterates and history equal those of one run that was never stopped, bit for bit (elapsed
        times aside).
    checkpoint : Checkpoint or None
        Handed the run's :class:`Resume` whenever it is due, and at its end (interrupted or not).

    Returns
    -------
    Result

    Raises
    ------
    DivergenceError
        When the loss stops being finite or exceeds ``DIVERGENCE_GROWTH`` times its starting value.
    """
    started = time.perf_counter()
    # init, step and advance go through the wrappers (Krylov replay on streaming objectives, recentring
    # near the rounding floor on double-double statistics); the other capabilities are the solver's own.
    stepper = Replayed(solver) if solver.krylov_replay else solver
    if objective.can_recentre and not solver.needs_rows:
        stepper = Recentred.around(stepper, objective)
    history = HistoryBuilder()
    if start is None:
        state = stepper.init(objective, np.asarray(theta0, dtype=np.float64))
        origin = None  # where the current closed-form block started, while inside one
        earlier = 0.0
        initial_loss = state.loss
    else:
        state, origin = start.state, start.origin
        before = start.history.truncated(state.k)
        history.add(before.loss, before.grad_norm, before.step_size, before.elapsed)
        earlier = float(before.elapsed[-1]) if len(before) and np.isfinite(before.elapsed[-1]) else 0.0
        started -= earlier  # elapsed times go on from the earlier run's
        initial_loss = float(before.loss[0]) if len(before) else state.loss
    reached = time.perf_counter() - started  # when the current state was reached
    # Stochastic runs that should stop early watch their loss for a stall (STALL_EPOCHS); a continued
    # run takes the watch up from its history, so it stops where the uninterrupted run would.
    watch = solver.needs_rows and tol > 0
    best_loss, best_k = np.inf, 0
    if watch and start is not None and len(before):
        best_k = int(np.argmin(before.loss))
        best_loss = float(before.loss[best_k])
    # Momentum methods may raise the loss for a while before it falls (their iteration matrix is
    # not normal); a solver says by how much at most, and only growth beyond that is divergence.
    transient = solver.transient_growth
    growth_limit = DIVERGENCE_GROWTH * (transient(objective) if transient else 1.0)
    advance = None if callbacks else stepper.advance
    block_cap = max(1, BLOCK_ELEMENTS // max(1, objective.n_params))
    status: Status | None = None
    path = PathRecorder(record_path) if record_path else None
    if path is not None:
        path.add(np.array([0]), state.theta[None, :])

    def verdict(theta: NDArray[np.float64], grad: NDArray[np.float64], stationarity: float, loss: float) -> tuple[bool, bool]:
        """(converged, stuck at the rounding floor) for the state at θ; tol = 0 never stops early."""
        if tol == 0:
            return False, False
        accuracy = objective.accuracy(theta, grad, stationarity, loss)
        # Stuck: even an exact iterate would leave the error above tol, and the iterate's own error is
        # already within the rounding floor, so no update can certify the tolerance.
        return accuracy.error <= tol, bool(accuracy.error > tol and accuracy.floor > tol and accuracy.at_floor)

    def first_done(trajectory: Trajectory, first_bad: int) -> int:
        """The first update of a closed-form block (before ``first_bad``) whose state is done, or the
        block's length. Checked on the iterates where a normwise necessary condition holds (a
        component's relative error is at least ``‖θ − θ*‖/(√p·‖θ‖)`` and ``‖θ − θ*‖ ≥ ‖∇J‖/L``),
        :data:`CANDIDATES_AT_ONCE` at a time, each batch by matrix products."""
        if tol == 0:
            return len(trajectory.loss)
        floor = objective.error_bound(np.zeros_like(trajectory.grad_norm), trajectory.theta_norm, trajectory.loss)
        reach = objective.lipschitz * np.sqrt(objective.n_params) * np.maximum(tol * trajectory.theta_norm, floor)
        candidates = np.flatnonzero(trajectory.grad_norm <= reach)
        candidates = candidates[candidates < first_bad]
        for start in range(0, candidates.size, CANDIDATES_AT_ONCE):
            chosen = candidates[start : start + CANDIDATES_AT_ONCE]
            error, floor_error, at_floor = objective.accuracy_rows(trajectory.thetas_at(chosen + 1),
                                                                trajectory.loss[chosen])
            done = np.flatnonzero((error <= tol) | ((error > tol) & (floor_error > tol) & at_floor))
            if done.size:
                return int(chosen[done[0]])
        return len(trajectory.loss)

    def diverged(loss: NDArray[np.float64], grad_norm: NDArray[np.float64]) -> NDArray[np.bool_]:
        with np.errstate(invalid="ignore"):
            blown = ~np.isfinite(loss) | ~np.isfinite(grad_norm)
            return blown | ((loss > growth_limit * initial_loss) & (initial_loss > 0))

    def divergence(iteration: int, loss: float) -> DivergenceError:
        stable_bound = solver.stable_bound
        return DivergenceError(
            iteration=iteration,
            loss=float(loss),
            initial_loss=initial_loss,
            learning_rate=state.step,
            stable_bound=stable_bound(objective) if stable_bound else None,
            solver=solver.name,
        )

    try:
        while True:
            converged, stuck = verdict(state.theta, state.grad, state.grad_norm, state.loss)
            if converged:
                status = "tol"
                break
            if stuck:
                status = "floor"
                break
            if watch:
                if state.loss < best_loss:
                    best_loss, best_k = state.loss, state.k
                elif state.k - best_k >= STALL_EPOCHS:
                    status = "stalled"
                    break
            if state.k >= max_iter:
                status = "max_iter"
                break
            if advance is not None:
                # The block is fixed by its origin's update count (blocks grow, so a run that converges
                # early computes little past it); cut short at max_iter or the next checkpoint, which
                # leaves every iterate as it is (each is computed from the origin alone).
                origin = state if origin is None else origin
                end = min(block_bounds(origin.k, block_cap)[1], max_iter)
                due = checkpoint.next_due(state.k) if checkpoint is not None else None
                end = min(end, due) if due is not None and due > state.k else end
                done = state.k - origin.k  # updates of this block made already (a continued run)
                trajectory = advance(objective, origin, end - origin.k)
                block_end = time.perf_counter() - started
                if trajectory is None:
                    advance = origin = None
                    continue
                # A continued run records the block's own figures for its first state, as the
                # uninterrupted run did (the state's are evaluated afresh and may differ in rounding).
                first_loss, first_grad_norm = ((state.loss, state.grad_norm) if done == 0
                                               else (trajectory.loss[done - 1], trajectory.grad_norm[done - 1]))
                trajectory = _tail(trajectory, done)
                n_steps = end - state.k
                bad = diverged(trajectory.loss, trajectory.grad_norm)
                first_bad = int(np.argmax(bad)) if bad.any() else n_steps
                stop = min(first_bad, first_done(trajectory, first_bad), n_steps - 1)
                history.add(
                    np.concatenate([[first_loss], trajectory.loss[:stop]]),
                    np.concatenate([[first_grad_norm], trajectory.grad_norm[:stop]]),
                    np.full(stop + 1, trajectory.step_size),
                    reached + (block_end - reached) * np.arange(stop + 1) / n_steps,
                )
                if first_bad <= stop:
                    raise divergence(state.k + first_bad + 1, trajectory.loss[first_bad])
                if path is not None:
                    kept = path.wanted(state.k + 1, state.k + stop + 1)
                    path.add(kept, trajectory.thetas_at(kept - state.k))
                state = trajectory.state_at(stop + 1)
                reached = reached + (block_end - reached) * (stop + 1) / n_steps
                if state.k == block_bounds(origin.k, block_cap)[1]:
                    origin = None  # the block is done: the next starts here
                _checkpoint(checkpoint, state, origin, history, due_only=True)
                continue
            try:
                with np.errstate(over="raise", invalid="raise", divide="raise"):
                    new_state = stepper.step(objective, state)
            except FloatingPointError:
                raise divergence(state.k + 1, np.inf) from None
            history.add(state.loss, state.grad_norm, new_state.step, reached)
            reached = time.perf_counter() - started
            if diverged(np.array(new_state.loss), np.array(new_state.grad_norm)).item():
                raise divergence(new_state.k, new_state.loss)
            state = new_state
            if path is not None:
                path.add(np.array([state.k]), state.theta[None, :])
            _checkpoint(checkpoint, state, origin, history, due_only=True)
            if any(callback(state) for callback in callbacks):
                status = "callback"
                break
    except KeyboardInterrupt:
        status = "interrupted"
    # The run's last state, whatever stopped it (after Ctrl-C: the last update completed, since an
    # update is made whole or not at all), so that a longer run can go on from it.
    _checkpoint(checkpoint, state, origin, history, due_only=False)

    n_iter = state.k
    records = history.build().truncated(n_iter)
    theta = state.theta
    path_iterations, path_thetas = path.build(state.k, theta) if path is not None else (None, None)
    # A run that was never to stop early (tol = 0) on an objective whose curvature would cost passes
    # over the data to learn leaves its error unestimated rather than pay them.
    if tol > 0 or objective.curvature_known:
        accuracy = objective.accuracy(theta, state.grad, state.grad_norm, state.loss)
        bound, floor = accuracy.error, accuracy.floor
    else:
        bound = floor = float("nan")
    return Result(
        theta=theta,
        n_iter=n_iter,
        converged=status == "tol",
        status=status,
        message=_message(status, n_iter, bound, floor, tol, max_iter),
        history=records,
        final_loss=state.loss,
        final_grad_norm=state.grad_norm,
        error_bound=bound,
        error_floor=floor,
        path_iterations=path_iterations,
        path=path_thetas,
        resume=Resume(state, origin, records),
    )


def _checkpoint(checkpoint: Checkpoint | None, state: State, origin: State | None, history: HistoryBuilder, *,
                due_only: bool) -> None:
    """Hand ``checkpoint`` the run's :class:`Resume` (where due, unless ``due_only`` is False)."""
    if checkpoint is not None and (not due_only or checkpoint.due(state.k)):
        checkpoint.write(Resume(state, origin, history.build().truncated(state.k)))


def _message(status: Status, n_iter: int, bound: float, floor: float, tol: float, max_iter: int) -> str:
    if np.isnan(bound):
        within = "their distance to the least-squares solution was not estimated"
    elif np.isinf(bound):
        within = "the statistics cannot bound how far the coefficients are from the least-squares solution"
    else:
        within = f"the coefficients are within {_beside(bound, tol)} (relative error bound) of the least-squares solution"
    if status == "tol":
        return f"converged after {n_iter} updates: {within} (tol={tol:g})"
    if status == "floor":
        return (
            f"stopped after {n_iter} updates at the rounding floor: {within}, and rounding in the gradient "
            f"limits this solver to about {_beside(floor, tol)}, above tol={tol:g}"
        )
    if status == "stalled":
        return (f"stopped after {n_iter} epochs: the loss has not gone below its best for {STALL_EPOCHS} epochs, so "
                f"the noise of the sampled gradients, not more epochs, limits this run; {within}, above tol={tol:g}")
    if status == "max_iter" and tol == 0:
        return f"made all max_iter={max_iter} updates (tol=0: no early stop); {within}"
    if status == "max_iter":
        return f"stopped at max_iter={max_iter} before reaching the tolerance tol={tol:g}: {within}"
    if status == "callback":
        return f"stopped by a callback after {n_iter} updates; {within}"
    return f"interrupted after {n_iter} updates; the model holds the last iterate ({within})"


def _beside(value: float, tol: float) -> str:
    """``value`` to two significant digits, or to as many more as tell it apart from ``tol`` (a floor
    of 1.04e-08 above tol=1e-08 reads 1.04e-08, not 1e-08)."""
    for digits in range(2, 7):
        text = f"{value:.{digits}g}"
        if tol <= 0 or float(text) != tol or value == tol:
            return text
    return text
