"""What a learning-rate sweep found: each run's fate and cost curve (:class:`SweepRun`), the sweep as a whole
(:class:`LearningRateSweep`, its table and JSON), the regimes a rate falls in, and the words that print counts,
fractions and losses.

No fitting here: :mod:`gradfit.learning.counting` counts the updates and :mod:`gradfit.learning.sweep` runs the
sweep that fills these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gradfit.estimator import LinearRegression

#: Learning rates from JUST_RIGHT[0]/L to JUST_RIGHT[1]/L are "just right": at most 25% more updates
#: than 1/L in the slow directions, and an overshoot of at most a fifth in the steepest one.
JUST_RIGHT = (0.8, 1.2)
#: Two learning rates closer than this (relative) are the same rate (1/L computed twice).
SAME_RATE = 1e-12

Outcome = Literal["converged", "max_iter", "floor", "diverged"]
Regime = Literal["too small", "just right", "overshoots", "too large"]
#: The regimes, in order of learning rate.
REGIMES: tuple[Regime, ...] = ("too small", "just right", "overshoots", "too large")

#: Plain words for the usual tolerances.
_FRACTION_WORDS = {1e-3: "a thousandth", 1e-6: "a millionth", 1e-9: "a billionth", 1e-12: "a trillionth"}


@dataclass(frozen=True, eq=False)
class SweepRun:
    """One learning rate's run.

    Attributes
    ----------
    learning_rate : float
        ``α``, in the optimised coordinates (raw ones when the sweep does not standardize).
    factor : float
        ``α·L``: the learning rate in units of ``1/L`` (``2`` is the stable bound).
    outcome : {"converged", "max_iter", "floor", "diverged"}
        ``floor``: rounding keeps the coefficients from being certified to the tolerance, so the
        estimator stops short of it (within the budget or, with ``n_iter`` the budget, after it).
    n_iter : int
        Updates made: to the tolerance (converged), to the rounding floor (floor, when within the
        budget), the whole budget, or the update at which the divergence became clear.
    final_loss : float
        Cost ``Σr²/2m`` where the run stopped (at the divergence point for a divergent run; may be inf).
    loss : ndarray of shape (n_iter + 1,)
        ``J(θ_k)`` for ``k = 0 … n_iter`` in the target's units. For a divergent run it ends at the
        cost where the divergence was caught.
    updates_needed : int or None
        For a run that did not finish in the budget: the updates it needs to reach the tolerance
        (counted up to :data:`COUNT_LIMIT`, else the contraction's estimate); for a floor run, the
        update at which the estimator stops at the floor. None otherwise, or when unknown.
    needed_is_estimate : bool
        ``updates_needed`` is an estimate from the contraction of ``I − αG``, not a count.
    error_bound : float
        The largest relative error of a coefficient (or the intercept) that the estimator certifies
        where the run converged or stopped at the floor; nan otherwise.
    model : LinearRegression or None
        The estimator's fit that stopped there by itself (``converged_``, or status "floor"): see
        :attr:`Count.model`. None for the other outcomes.
    """

    learning_rate: float
    factor: float
    outcome: Outcome
    n_iter: int
    final_loss: float
    loss: NDArray[np.float64] = field(repr=False)
    updates_needed: int | None = None
    needed_is_estimate: bool = False
    error_bound: float = math.nan
    model: LinearRegression | None = field(default=None, repr=False)

    @property
    def regime(self) -> Regime:
        """``too small`` (below 0.8/L), ``just right`` (0.8/L to 1.2/L), ``overshoots`` (up to 2/L) or
        ``too large`` (diverges)."""
        if self.outcome == "diverged" or self.factor >= 2.0:
            return "too large"
        if self.factor < JUST_RIGHT[0]:
            return "too small"
        if self.factor <= JUST_RIGHT[1]:
            return "just right"
        return "overshoots"

    @property
    def verdict(self) -> str:
        """``converged in k updates``, ``did not converge in N updates (needs M)``, ``cannot converge:
        stopped by rounding after k updates, …`` or ``diverged at update k``."""
        if self.outcome == "converged":
            return f"converged in {updates_text(self.n_iter)}"
        if self.outcome == "max_iter":
            return f"did not converge in {updates_text(self.n_iter)}{self.needs_text()}"
        if self.outcome == "floor":
            if self.updates_needed is not None and self.updates_needed > self.n_iter:
                return (f"did not converge in {updates_text(self.n_iter)}, and cannot: stopped by rounding after "
                        f"{self.updates_needed:,}, within {self.error_bound:.2g} at best")
            return f"cannot converge: stopped by rounding after {updates_text(self.n_iter)}, within {self.error_bound:.2g} at best"
        return f"diverged at update {self.n_iter:,}"

    def needs_text(self) -> str:
        """`` (needs 18,923)``, `` (needs about 1,300,000)`` or nothing."""
        if self.updates_needed is None or self.outcome != "max_iter":
            return ""
        if self.needed_is_estimate:
            return f" (needs about {_round_up(self.updates_needed):,})"
        return f" (needs {self.updates_needed:,})"

    def to_dict(self) -> dict:
        """Plain JSON types (a non-finite number stays a float; the CLI writes it as null)."""
        return {
            "learning_rate": float(self.learning_rate),
            "factor": float(self.factor),
            "regime": self.regime,
            "outcome": self.outcome,
            "n_iter": int(self.n_iter),
            "updates_needed": self.updates_needed,
            "needed_is_estimate": self.needed_is_estimate,
            "error_bound": float(self.error_bound),
            "verdict": self.verdict,
            "final_loss": float(self.final_loss),
        }


@dataclass(frozen=True, eq=False)
class LearningRateSweep:
    """The runs of a sweep and the facts they are judged by.

    Attributes
    ----------
    runs : tuple of SweepRun
        In increasing order of learning rate.
    lipschitz : float
        ``L``, the largest eigenvalue of ``XᵀX/m`` in the optimised coordinates.
    condition_number : float or None
        ``κ = L/μ`` in the same coordinates (None when unknown).
    optimum_loss : float
        The least cost any model reaches (exact least squares), target's units.
    initial_loss : float
        Cost at the common starting point.
    max_iter : int
        The update budget of every run.
    budget_source : {"problem", "given", "article"}
        Where ``max_iter`` came from: the problem (what ``1/L`` needs, see ``auto_needed``, else
        :func:`update_budget`), the caller, or the article's 1000 updates.
    tol : float
        A run has converged when every coefficient and the intercept are within ``tol`` of the exact
        least-squares answer, relatively (as :class:`LinearRegression` certifies it).
    standardize : bool
        Whether the learning rates are in standardized coordinates.
    problem : str
        What was fitted, in words.
    auto_needed : int or None
        Updates ``1/L`` needed, when the budget was derived from them.
    """

    runs: tuple[SweepRun, ...]
    lipschitz: float
    condition_number: float | None
    optimum_loss: float
    initial_loss: float
    max_iter: int
    budget_source: Literal["problem", "given", "article"]
    tol: float
    standardize: bool
    problem: str
    auto_needed: int | None = None

    @property
    def auto_learning_rate(self) -> float:
        """``1/L``, what ``learning_rate="auto"`` uses."""
        return 1.0 / self.lipschitz

    @property
    def stable_bound(self) -> float:
        """``2/L``: constant steps below it converge, steps above it diverge."""
        return 2.0 / self.lipschitz

    def run_at(self, learning_rate: float) -> SweepRun | None:
        """The run at ``learning_rate`` (to rounding), or None when the sweep has none."""
        for run in self.runs:
            if math.isclose(run.learning_rate, learning_rate, rel_tol=SAME_RATE):
                return run
        return None

    def tolerance_text(self) -> str:
        """The convergence test in words: ``every coefficient and the intercept are within …``."""
        return f"every coefficient and the intercept are within {self.tolerance_target()}"

    def tolerance_target(self) -> str:
        """How close, in words: ``a millionth (1e-06) of their exact least-squares values``."""
        return f"{_fraction(self.tol)} their exact least-squares values"

    def budget_text(self) -> str:
        """The update budget in words, with where it comes from."""
        text = f"at most {updates_text(self.max_iter)} each"
        if self.budget_source == "article":
            return f"{text}, as the article makes"
        if self.budget_source == "problem" and self.auto_needed is not None:
            return f"{text}: enough for 1/L, which needs {updates_text(self.auto_needed)}"
        if self.budget_source == "problem" and self.condition_number is not None and math.isfinite(self.condition_number):
            return (f"{text}: κ·ln(error at the start/tol) with κ = L/μ = {self.condition_number:.3g} (steepest "
                    "over flattest curvature)")
        return text

    def to_dict(self) -> dict:
        """Plain JSON types: the facts and one entry per run."""
        kappa = self.condition_number
        return {
            "problem": self.problem,
            "standardize": self.standardize,
            "lipschitz": float(self.lipschitz),
            "condition_number": float(kappa) if kappa is not None and math.isfinite(kappa) else None,
            "auto_learning_rate": float(self.auto_learning_rate),
            "stable_bound": float(self.stable_bound),
            "initial_loss": float(self.initial_loss),
            "optimum_loss": float(self.optimum_loss),
            "max_iter": int(self.max_iter),
            "budget_source": self.budget_source,
            "auto_needed": self.auto_needed,
            "tol": float(self.tol),
            "convergence": f"converged when {self.tolerance_text()}",
            "runs": [run.to_dict() for run in self.runs],
        }

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Table rows as text: learning rate, α in units of 1/L, regime, verdict, final loss."""
        return [
            (f"{run.learning_rate:.4g}", f"{run.factor:.3g}/L", run.regime, run.verdict, _loss_text(run.final_loss))
            for run in self.runs
        ]

    def __str__(self) -> str:
        header = ("learning rate", "α·L", "step", "outcome", "final loss")
        rows = [header, *self.rows()]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        lines = [
            f"Learning-rate sweep on {self.problem}: L = {self.lipschitz:.4g}, 1/L = {self.auto_learning_rate:.4g}, "
            f"2/L = {self.stable_bound:.4g}",
            f"Each run stops when {self.tolerance_text()}, {self.budget_text()}.",
        ]
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(width) if column in (2, 3) else cell.rjust(width)
                                   for column, (cell, width) in enumerate(zip(row, widths))).rstrip())
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


def updates_text(count: int) -> str:
    """``1 update``, ``18,923 updates``."""
    return f"{count:,} update{'s' if count != 1 else ''}"


def _round_up(count: int) -> int:
    """``count`` rounded up to two significant digits (13,816 → 14,000)."""
    if count < 100:
        return int(count)
    unit = 10 ** (len(str(int(count))) - 2)
    return int(-(-count // unit) * unit)


def _fraction(tol: float) -> str:
    for value, words in _FRACTION_WORDS.items():
        if math.isclose(tol, value, rel_tol=1e-12):
            return f"{words} ({tol:g}) of"
    return f"a relative {tol:g} of"


def _loss_text(loss: float) -> str:
    return f"{loss:.6g}" if math.isfinite(loss) else "inf"
