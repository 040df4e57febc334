"""The report of a model fitted to the user's data: :func:`data_report` (never refitting the model; its verdict is
the sweep's, run on the same data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from gradfit.cost import least_squares_optimum
from gradfit.estimator import LinearRegression
from gradfit.learning import (
    DEFAULT_TOL,
    LearningRateSweep,
    certificate,
    sweep_learning_rates,
    updates_text,
)
from gradfit.report.page import _alpha_text, _badge, _document, _escape, _quote
from gradfit.report.sections import REPORT_FRAMES, _certified_error, _glance_verdict, _sections, _verdict

__all__ = ["data_report"]


def data_report(
    X: ArrayLike,
    y: ArrayLike,
    model,
    *,
    feature_names: Sequence[str] | None = None,
    target_name: str = "y",
    source: str = "the data",
    learning_rates: Sequence[float] | None = None,
    sweep: LearningRateSweep | None = None,
    sweep_max_iter: int | None = None,
    sweep_tol: float = DEFAULT_TOL,
    coordinates: tuple[int | str, int | str] | None = None,
    explorer: str | None = None,
    frames: int = REPORT_FRAMES,
    exact_command: str | None = None,
) -> str:
    """The HTML report of a gradient-descent model fitted to the user's data.

    Whether the model converged is judged as the sweep judges its runs, by the estimator's own
    test (see :mod:`gradfit.learning`): the sweep has a run at the model's learning rate from the
    same start, and the model has converged when it made at least the updates that run needed to
    have every coefficient within the tolerance. A model from :func:`gradfit.learning.fit_run`
    stops exactly there, so the report and the sweep's table agree; the coefficient table's caption
    gives the error the model itself certifies (its ``error_bound_``).

    Parameters
    ----------
    X : array-like of shape (m, d)
    y : array-like of shape (m,)
    model : LinearRegression
        Fitted on (X, y) by gradient descent (``solver="gd"``) from the default start, with ``record_path=True``.
    feature_names : sequence of str, optional
    target_name : str
    source : str
        Where the data came from, in words (e.g. the CSV file's name).
    learning_rates : sequence of float, optional
        Rates of the sweep, in the model's optimised coordinates (default: fractions and multiples
        of 1/L). The model's own rate and 1/L are always among them.
    sweep : LearningRateSweep, optional
        A sweep already run on these data (then ``learning_rates`` is ignored).
    sweep_max_iter : int, optional
        Updates per sweep run (default: from the problem, see :func:`gradfit.learning.update_budget`).
    sweep_tol : float, default=1e-6
        The sweep's tolerance: a run has converged when every coefficient and the intercept are within
        ``sweep_tol`` of the exact least-squares answer, relatively.
    coordinates : pair of int or str, optional
        The two parameters of the cost slice (default: the two that moved most; see
        :func:`gradfit.plots.loss_surface`).
    explorer : str, optional
        Relative address of an explorer page written beside the report (one feature: its plane is the
        article's), linked from the top.
    frames : int, default=30
    exact_command : str, optional
        The command that computes the exact least-squares answer for these data (e.g.
        ``gradfit fit data.csv --target y --solver exact``), offered when the model did not converge.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        When the model has no recorded path (fit it with ``record_path=True``) or was solved directly.
    """
    from gradfit.plots import data_fit_figure, predicted_actual_figure

    if getattr(model, "path_", None) is None:
        raise ValueError("the report needs the path of the iterates: fit the model with record_path=True "
                         "and an iterative solver")
    x = np.asarray(X, dtype=np.float64)
    target = np.asarray(y, dtype=np.float64).reshape(-1)
    names = [str(name) for name in feature_names] if feature_names is not None else (
        ["x"] if x.shape[1] == 1 else [f"x{index}" for index in range(x.shape[1])]
    )
    rate = model.learning_rate_
    if sweep is None:
        sweep = sweep_learning_rates(x, target, learning_rates=learning_rates, standardize=model.standardize,
                                     include=["auto", *([rate] if rate is not None else [])],
                                     max_iter=sweep_max_iter, tol=sweep_tol, problem=source)
    reference = LinearRegression(solver="exact", fit_intercept=model.fit_intercept).fit(x, target)
    _, optimum_loss = least_squares_optimum(model, x, target)
    if x.shape[1] == 1:
        fit_figure = data_fit_figure(x, target, model, true_line=None,
                                     title=f"{target_name} against {names[0]}, with the fitted line")
        fit_axes = fit_figure.axes[0]
        fit_axes.set_xlabel(names[0])
        fit_axes.set_ylabel(target_name)
    else:
        fit_figure = predicted_actual_figure(x, target, model, target_name=target_name)
    scale = "standardized" if model.standardize else "raw"
    alpha = (f"{_alpha_text(rate, sweep.auto_learning_rate)} (in {scale} coordinates)" if rate is not None
             else "found by line search")
    certified = certificate(x, target, sweep, model)
    verdict = _verdict(sweep, rate, int(model.n_iter_), alpha, fallback=bool(model.converged_),
                       error_bound=_certified_error(certified, model))
    intro = (
        f"A linear model for {_quote(target_name)} from {len(names)} feature{'s' if len(names) != 1 else ''} "
        f"({_escape(', '.join(names))}) fitted to {target.size:,} rows of {_escape(source)} by gradient descent "
        f"with learning rate {_escape(alpha)}, stopping once {_escape(sweep.tolerance_text())}. This report shows "
        "what the updates did, and why."
    )
    gap = float(model.final_loss_) - optimum_loss
    glance = (
        f"{updates_text(int(model.n_iter_))} brought the cost from {float(model.loss_history_[0]):.4g} to "
        f"{float(model.final_loss_):.4g}; the least possible is {optimum_loss:.4g} "
        f"({'a gap of ' + format(gap, '.3g') if gap > 0 else 'reached'}). "
        + _glance_verdict(verdict, converged="The run converged.", short="The run did not converge")
    )
    verdict_body = f"<p>{_badge(verdict.converged)}</p>"
    sections = _sections(
        X=x, y=target, model=model, sweep=sweep, fit_figure=fit_figure, optimum_loss=optimum_loss, true_line=None,
        feature_names=names, target_name=target_name, frames=frames, verdict=verdict, verdict_body=verdict_body,
        coordinates=coordinates, certified=certified, reference=reference, exact_command=exact_command,
    )
    return _document(f"Gradient descent on {source}", intro, glance, sections, explorer=explorer)
