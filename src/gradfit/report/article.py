"""The report of the article's run: :func:`article_report` (the article's data and its line beside the best one, the
sweep with the article's learning rate among its rates).
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.base import clone

from gradfit.estimator import LinearRegression
from gradfit.learning import (
    LearningRateSweep,
    article_sweep,
    certificate,
    updates_text,
)
from gradfit.report.page import _alpha_text, _badge, _document, _escape, _number
from gradfit.report.sections import REPORT_FRAMES, _certified_error, _glance_verdict, _sections, _verdict

__all__ = ["article_report"]


def article_report(
    run,
    *,
    learning_rates: Sequence[float] | None = None,
    sweep: LearningRateSweep | None = None,
    frames: int = REPORT_FRAMES,
    explorer: str | None = None,
) -> str:
    """The HTML report of the article's run.

    Parameters
    ----------
    run : gradfit.article.ArticleRun
        From :func:`gradfit.article.run_article`. If its model kept no path, the run is replayed
        once with ``record_path=True`` (same data, settings and start, so the same iterates).
    learning_rates : sequence of float, optional
        Rates of the sweep (default: the article's 0.01 and fractions and multiples of 1/L). The
        run's own rate and 1/L are always among them.
    sweep : LearningRateSweep, optional
        A sweep already run on ``run``'s data (then ``learning_rates`` is ignored).
    frames : int, default=30
        Distinct frames of the animation.
    explorer : str, optional
        Relative address of an explorer page written beside the report (``explorer.html``), linked from the top.

    Returns
    -------
    str
        The whole HTML document.
    """
    from gradfit.article import ARTICLE_QUOTE
    from gradfit.datasets import ARTICLE_INTERCEPT, ARTICLE_SLOPE, ARTICLE_START
    from gradfit.plots import data_fit_figure

    intercept0, slope0 = ARTICLE_START
    model = run.model
    if getattr(model, "path_", None) is None:
        model = clone(model).set_params(record_path=True).fit(run.X, run.y, coef_init=[slope0], intercept_init=intercept0)
    if sweep is None:
        # The article's run is one row of the sweep: same rate, same start, its updates the budget.
        sweep = article_sweep(seed=run.seed, X=run.X, y=run.y, learning_rates=learning_rates,
                              include=[run.learning_rate, run.auto_learning_rate], max_iter=run.iterations)
    alpha = _alpha_text(run.learning_rate, run.auto_learning_rate)
    certified = certificate(run.X, run.y, sweep, model)
    verdict = _verdict(sweep, run.learning_rate, int(model.n_iter_), alpha, fallback=run.converged,
                       error_bound=_certified_error(certified, model))
    data = f"seed {run.seed}" if run.seed is not None else "fresh random data"
    intro = (
        f"The article fits a straight line to {len(run.y)} points scattered around y = 2x + 1 ({data}) by "
        f"gradient descent: start from intercept 1 and slope 1, then take {run.iterations:,} steps downhill on "
        f"the cost (no early stop), each of size {alpha} times the gradient. This report shows what those steps "
        "do, and why they work (or do not)."
    )
    glance = (
        f"After {run.iterations:,} updates the line is y = {run.slope:.4f}x + {run.intercept:.4f}; the best "
        f"possible line is y = {run.optimum_slope:.4f}x + {run.optimum_intercept:.4f}. "
        + _glance_verdict(verdict, converged="The run reached the bottom of the bowl.",
                          short="The run stopped short of the bottom")
    )
    fit_figure = data_fit_figure(run.X, run.y, model, true_line=(ARTICLE_SLOPE, ARTICLE_INTERCEPT),
                                 title="The article's data, the true line and the line gradient descent found")
    rows = [
        ("found after " + updates_text(run.iterations), run.intercept, run.slope, _number(run.final_loss, 6)),
        ("best possible (least squares)", run.optimum_intercept, run.optimum_slope, _number(run.optimum_loss, 6)),
        ("the article quotes", ARTICLE_QUOTE[0], ARTICLE_QUOTE[1], "–"),
    ]
    verdict_body = (
        f"<p>{_badge(verdict.converged)}</p>"
        '<div class="scroll"><table><thead><tr><th></th><th>intercept</th><th>slope</th><th>cost J(θ)</th></tr></thead>'
        "<tbody>" + "".join(f"<tr><td>{_escape(name)}</td><td>{a:.4f}</td><td>{b:.4f}</td><td>{cost}</td></tr>"
                            for name, a, b, cost in rows) + "</tbody></table></div>"
    )
    reference = LinearRegression(solver="exact").fit(run.X, run.y)
    sections = _sections(
        X=run.X, y=run.y, model=model, sweep=sweep, fit_figure=fit_figure, optimum_loss=run.optimum_loss,
        true_line=(ARTICLE_SLOPE, ARTICLE_INTERCEPT), feature_names=["x"], target_name="y", frames=frames,
        verdict=verdict, verdict_body=verdict_body, coordinates=(0, 1), certified=certified, reference=reference,
        exact_command=None,
    )
    return _document("Why gradient descent works: the article's example", intro, glance, sections, explorer=explorer)
