"""The sections both reports share: the cost per update, the bowl with the path, the learning-rate sweep, the
animation, and the convergence verdict (:class:`_Verdict`, by the sweep's test) with the coefficient table.
The figures come from :mod:`gradfit.plots`, imported only when a report is built.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradfit.learning import (
    DEFAULT_TOL,
    REGIMES,
    LearningRateSweep,
    updates_text,
)
from gradfit.report.page import Section, _escape, _number, _percent, _relative

#: Distinct frames of the embedded animation.
REPORT_FRAMES = 30

#: Coefficients closer than this (relative) to the exact ones look the same at the table's 4 digits.
SAME_DIGITS = 5e-5


@dataclass(frozen=True)
class _Verdict:
    """Whether the reported run converged, by the sweep's test (the estimator's), and what would get there.

    Attributes
    ----------
    converged : bool
    updates : int
        Updates the reported run made.
    rate : str
        Its learning rate, in words.
    error_bound : float
        The largest relative error of a coefficient or the intercept the reported model certifies
        where it stopped (its ``error_bound_``; nan when unknown).
    tol : float
        The tolerance it is judged by.
    floor : bool
        Rounding keeps the run from ever certifying ``tol`` (the estimator stops at the floor).
    needed : int or None
        Updates the run's learning rate needs to converge (None: unknown, or the run converged).
    needed_is_estimate : bool
    auto_needed : str or None
        What 1/L needs, in words ("1/L = 0.756 it needs 244 updates"), when the run is not at 1/L.
    """

    converged: bool
    updates: int
    rate: str
    error_bound: float = math.nan
    tol: float = DEFAULT_TOL
    floor: bool = False
    needed: int | None = None
    needed_is_estimate: bool = False
    auto_needed: str | None = None

    def bound_text(self) -> str:
        """The certified error in words: ``9.9e-07`` or ``31%`` (empty when unknown)."""
        return _relative(self.error_bound)

    def needs(self) -> str:
        """``at 0.01 it needs 18,923 updates; at 1/L = 0.756 it needs 244 updates`` (or less, where unknown)."""
        parts = []
        if self.needed is not None:
            about = "about " if self.needed_is_estimate else ""
            parts.append(f"at {self.rate} it needs {about}{self.needed:,} updates")
        if self.auto_needed is not None:
            parts.append(f"at {self.auto_needed}")
        return "; ".join(parts)


def _sections(*, X, y, model, sweep: LearningRateSweep, fit_figure, optimum_loss: float, true_line,
              feature_names: list[str], target_name: str, frames: int, verdict: _Verdict, verdict_body: str,
              coordinates, certified, reference, exact_command: str | None) -> list[Section]:
    from gradfit.plots import animate_fit, loss_figure, loss_surface, moved_most, png_bytes, sweep_figure

    one_feature = len(feature_names) == 1
    n_updates = int(model.n_iter_)
    sections = []

    fit_text = (
        f"Each green dot is one data point ({_escape(feature_names[0])} across, {_escape(target_name)} up). "
        "The dashed blue line is the line gradient descent ended with; "
        + ("the red line is the line the points were drawn around. The closer the two lines, the better the fit."
           if true_line is not None else "it is the line that makes the squared vertical distances to the dots small.")
        if one_feature else
        "With several features there is no single line to draw. Instead each dot is one row: across, the value "
        "the model predicts; up, the actual value. A perfect model would put every dot on the red diagonal."
    )
    sections.append(Section("data", "The data and the fit", fit_text, png_bytes(fit_figure),
                            alt="Scatter of the data with the fitted model"))

    cost_figure = loss_figure(model, optimum_loss=optimum_loss,
                              title=f"Cost per gradient-descent update ({n_updates:,} updates)")
    on_log = cost_figure.axes[0].get_yscale() == "log" and "J(θ*)" in cost_figure.axes[0].get_ylabel()
    loss_text = (
        "The cost J(θ) is half the average squared vertical distance between the line and the points: one number "
        "that says how wrong the line is. Gradient descent lowers it at every update. "
        + ("Over this many updates the cost itself would drop in a cliff and then look flat, so the curve shows "
           "how far the cost still is above the lowest cost any line can reach (the exact least-squares answer), "
           "on a log scale: each grid line down is ten times closer. A straight stretch is steady progress: the "
           "same fraction of the remaining gap closed at every update. The fast fall at the start is the steep "
           "directions of the bowl being settled; the long straight slope after it is the slowest direction, "
           "which sets how many updates the run needs."
           + (" Where the curve turns into a dotted line, the gap has shrunk below what the cost can show: it is "
              "computed from sums about as large as the starting cost, whose rounding hides smaller differences. "
              "The coefficients still move closer to the answer there (the cost depends on their error squared), "
              "and the run goes on until every one of them is close enough."
              if any(line.get_linestyle() == ":" for line in cost_figure.axes[0].get_lines()) else "")
           if on_log else
           "The curve falls steeply at first, while the line is far off, and flattens as it nears the bottom, "
           "because the steps are proportional to the slope of the cost, which shrinks there. The dashed line is "
           "the lowest cost any line can reach (the exact least-squares answer).")
    )
    sections.append(Section("loss", "The cost at each update", loss_text, png_bytes(cost_figure),
                            alt="Cost per update, falling towards the optimum"))

    if coordinates is None:
        coordinates = (0, 1) if one_feature else moved_most(model, X)
    parameter_names = ["intercept", *feature_names]
    shown = [parameter_names[item] if isinstance(item, (int, np.integer)) else str(item) for item in coordinates]
    bowl_text = (
        (f"Every choice of intercept θ₀ and slope θ₁ (the change in {_escape(target_name)} per unit of "
         f"{_escape(feature_names[0])}) gives a line, and every line has a cost. Drawn over all "
         "choices, the cost is a bowl: the top panel shows it from above, with rings of equal cost, the bottom one "
         "in 3D. ")
        if one_feature else
        (f"With {len(feature_names)} features the cost is a bowl in {len(feature_names) + 1} dimensions. This is a "
         f"slice through its bottom in which two parameters vary, {_escape(' and '.join(shown))} (the two whose "
         "moves changed the predictions most, unless you chose others), and the others stay at their best values; "
         "the path is the shadow of the iterates on that slice, and the picture is zoomed to hold it. ")
    ) + (
        "Gradient descent starts at the white dot and at every update moves straight downhill, across the rings "
        "(along minus the gradient), by the learning rate times the steepness. The star marks the bottom, the best "
        "parameters; the path is drawn over it. In a long, narrow valley the steepest way down points mostly "
        "across the valley, not along it, so the path first drops to the valley floor and then creeps along it."
    ) + (
        " Here the updates were made on standardized features (each rescaled to mean 0 and spread 1), where the "
        "bowl is rounder; in these original units the steps need not cross the rings at right angles."
        if model.standardize else ""
    )
    sections.append(Section(
        "bowl", "The bowl and the path of the iterates", bowl_text,
        png_bytes(loss_surface(model, X, y, coordinates=coordinates, view_3d=one_feature,
                               feature_names=feature_names, target_name=target_name)),
        alt="Contours of the cost with the path of gradient descent"))

    curves = sweep_figure(sweep, target_name=target_name)
    dotted = any(line.get_linestyle() == ":" for line in curves.axes[0].get_lines())
    sections.append(Section(
        "sweep", "Learning rates: too small, just right, too large", _sweep_text(sweep, dotted=dotted),
        png_bytes(curves), alt="Cost curves at several learning rates on a log scale", body=_sweep_table(sweep)))

    with tempfile.TemporaryDirectory(prefix="gradfit-report-") as folder:
        gif = animate_fit(model, X, y, Path(folder) / "fit.gif", frames=frames, true_line=true_line,
                          target_name=target_name, optimum_loss=optimum_loss)
        animation = gif.read_bytes()
    movie_text = (
        "The fit as it happens: the line at a selection of updates (more of the early, fast ones), with the cost "
        "curve growing beside it. Watch the line swing towards the points while the cost drops."
        if one_feature else
        "The fit as it happens: the predictions at a selection of updates gather on the diagonal while the cost "
        "curve grows beside them."
    )
    sections.append(Section("animation", "The fit, moving", movie_text, animation, mime="image/gif",
                            alt="Animation of the fitted line moving as the cost falls"))

    sections.append(Section("verdict", "Did it converge?", _verdict_text(verdict, sweep), body=verdict_body))

    sections.append(Section(
        "coefficients", "The coefficients",
        ("The fitted coefficients, each with its standard error (how much it would vary with new data of the same "
         "kind), t and p (whether it is distinguishable from zero) and a 95% interval, as a statistics package "
         "reports them, for the coefficients where gradient descent stopped. The last column is the exact "
         "least-squares answer, for comparison."
         if verdict.converged and certified is not None and certified.converged_ else
         "The coefficients where gradient descent stopped, beside the exact least-squares answer. Standard errors, t "
         "and p values describe the least-squares answer, not coefficients that stopped short of it, so the table "
         "gives only the least-squares answer's standard error (how much it would vary with new data of the same "
         "kind): it shows how far off the coefficients are on the scale of the data's own uncertainty."),
        body=_summary_table(model, feature_names, verdict=verdict, certified=certified, reference=reference,
                            exact_command=exact_command)))
    return sections


def _sweep_text(sweep: LearningRateSweep, *, dotted: bool = False) -> str:
    kinds = {run.regime for run in sweep.runs}
    text = (
        "The same problem run from the same start at several learning rates, measured in units of 1/L, where L "
        "is the steepest curvature of the bowl. Each curve is the cost above the best possible, on a log scale, "
        f"so steady progress is a straight line. Each run stops once {_escape(sweep.tolerance_text())}, or after "
        f"{_escape(sweep.budget_text())}. "
        "Below 1/L every step is shorter than it could safely be, so the rate is too small: it crawls. At 1/L "
        "(just right) the steepest direction is settled in one step and nothing overshoots. Between 1/L and 2/L "
        "the steps overshoot the bottom in the steepest direction, so the path zigzags across the valley; the "
        "overshoot shrinks at every update, so it still converges, and in a long, narrow valley it can even "
        "arrive sooner, because the slow direction along the valley floor moves further at each step. Past 2/L "
        f"(here {sweep.stable_bound:.4g}) every step overshoots by more than the one before, and the cost "
        "explodes: the run is stopped and marked with a cross."
    )
    if dotted:
        text += (" A curve that turns dotted has got closer to the bottom than the cost can show (its rounding "
                 "hides smaller differences), while the coefficients still settle; its dot marks where it stopped.")
    if any(run.outcome == "floor" for run in sweep.runs):
        text += (" A run marked as stopped by rounding cannot get that close at all: floating-point rounding blurs "
                 "the very bottom of the bowl, and the fit stops where it can no longer certify progress.")
    missing = [regime for regime in REGIMES if regime not in kinds]
    if missing:
        text += f" (These learning rates include none that is {_escape(' or '.join(missing))}.)"
    return text


def _sweep_table(sweep: LearningRateSweep) -> str:
    rows = []
    for run, (rate, factor, regime, verdict, loss) in zip(sweep.runs, sweep.rows()):
        rows.append(f"<tr><td>{rate}</td><td>{factor}</td><td class=\"text\">{_escape(regime)}</td>"
                    f"<td class=\"text {run.outcome}\">{_escape(verdict)}</td><td>{loss}</td></tr>")
    return (
        f"<p class=\"meta\">Problem: {_escape(sweep.problem)}. L = {sweep.lipschitz:.4g}, "
        f"1/L = {sweep.auto_learning_rate:.4g}, 2/L = {sweep.stable_bound:.4g}; learning rates in "
        f"{'standardized' if sweep.standardize else 'raw'} coordinates.</p>"
        '<div class="scroll"><table><thead><tr><th>learning rate</th><th>as a multiple of 1/L</th>'
        '<th class="text">step</th><th class="text">outcome</th><th>final cost</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _summary_table(model, feature_names: list[str], *, verdict: _Verdict, certified, reference,
                   exact_command: str | None) -> str:  # LinearRegression (or None for certified)
    """The coefficient table: the inference table of the coefficients where gradient descent stopped
    when the estimator certifies them (``certified`` converged there: its ``summary()``), else those
    coefficients beside the least-squares answer (``reference``, fitted exactly) with its standard
    errors for scale; either way with the least-squares answer in the last column."""
    answer = _named_terms(reference.summary().to_dict(), feature_names, reference)
    least_squares = [term["coef"] for term in answer["terms"]]
    updates = updates_text(verdict.updates)
    bound = verdict.bound_text()
    command = (f" To compute it for your data, run <code>{_escape(exact_command)}</code>."
               if exact_command else "")
    if verdict.converged and certified is not None and certified.converged_:
        summary = _named_terms(certified.summary().to_dict(), feature_names, certified)
        difference = _largest_difference(summary["terms"], least_squares, answer["terms"])
        within = (f"within {bound} of the least-squares answer (relative error, as the fit certifies it; the tolerance "
                  f"is {verdict.tol:g})" if bound else f"within {verdict.tol:g} of the least-squares answer")
        caption = (f'<caption class="good">Converged: after {updates} every coefficient and the intercept are '
                   f"{within}. {difference}</caption>")
        facts = [
            ("observations", f"{summary['n_samples']:,}"),
            ("R²", _number(summary["r_squared"])),
            ("adjusted R²", _number(summary["adj_r_squared"])),
            ("residual standard deviation σ", _number(summary["sigma"])),
            ("F statistic (p)", f"{_number(summary['f_statistic'])} ({_number(summary['f_pvalue'], 3)})"),
        ]
        head = "".join(f"<tr><td>{_escape(name)}</td><td>{value}</td></tr>" for name, value in facts)
        terms = "".join(
            f"<tr><td>{_escape(term['name'])}</td><td>{_number(term['coef'])}</td><td>{_number(term['std_err'])}</td>"
            f"<td>{_number(term['t'])}</td><td>{_number(term['p_value'], 3)}</td>"
            f"<td>{_number(term['ci_low'])}</td><td>{_number(term['ci_high'])}</td>"
            f"<td class=\"exact\">{_number(value)}</td></tr>"
            for term, value in zip(summary["terms"], least_squares)
        )
        level = summary.get("confidence_level", 0.95)
        low, high = (1 - level) / 2, 1 - (1 - level) / 2
        notes = "".join(f"<p class=\"meta\">{_escape(str(note))}</p>" for note in summary.get("notes", []))
        return (
            f'<div class="scroll"><table><tbody>{head}</tbody></table></div>'
            f'<div class="scroll"><table>{caption}<thead><tr><th>term</th><th>coefficient</th><th>std err</th><th>t</th>'
            f"<th>P&gt;|t|</th><th>[{low:g}</th><th>{high:g}]</th><th>least squares</th></tr></thead>"
            f"<tbody>{terms}</tbody></table></div>{notes}"
        )
    found = [model.intercept_, *model.coef_] if model.fit_intercept else list(model.coef_)
    stopped = [{"name": term["name"], "coef": float(value)} for term, value in zip(answer["terms"], found)]
    difference = _largest_difference(stopped, least_squares, answer["terms"])
    if verdict.floor:
        within = f", within {bound} of it as the fit certifies them" if bound else ""
        caption = (f'<caption class="bad">Cannot converge to {verdict.tol:g}: rounding stops gradient descent short of '
                   f"it. These are the coefficients after {updates}, not the least-squares answer, which is in the "
                   f"last columns{within}. {difference}{command}</caption>")
    else:
        within = (f" The fit certifies them only to within {bound} (relative error; the tolerance is "
                  f"{verdict.tol:g})." if bound else "")
        caption = (f'<caption class="bad">Did not converge: these are the coefficients after {updates}, not the '
                   f"least-squares answer, which is in the last columns.{within} {difference}{command}</caption>")
    terms = "".join(
        f"<tr><td>{_escape(term['name'])}</td><td>{_number(term['coef'])}</td>"
        f"<td class=\"exact\">{_number(value)}</td><td class=\"exact\">{_number(exact['std_err'])}</td></tr>"
        for term, value, exact in zip(stopped, least_squares, answer["terms"])
    )
    return (
        f'<div class="scroll"><table>{caption}<thead><tr><th>term</th><th>coefficient</th><th>least squares</th>'
        f"<th>its std err</th></tr></thead><tbody>{terms}</tbody></table></div>"
    )


def _named_terms(summary: dict, feature_names: list[str], model) -> dict:  # LinearRegression
    """``summary`` with its features named as the report names them (a model fitted on a plain array
    calls them x0, x1, …)."""
    features = [term for term in summary["terms"] if term["name"] != "intercept"]
    if not hasattr(model, "feature_names_in_") and len(features) == len(feature_names):
        for term, name in zip(features, feature_names):
            term["name"] = name
    return summary


def _largest_difference(terms: list[dict], least_squares: list[float], reference_terms: list[dict]) -> str:
    """The largest relative difference between the fitted coefficients (``terms``, in the order of the
    least-squares answer's) and the exact ones, in words, with how it compares to that coefficient's
    standard error in the least-squares fit. A run that stops short can be far off along the flat
    valley floor while its cost is nearly the least."""
    worst = None
    for term, exact, reference in zip(terms, least_squares, reference_terms):
        if exact is None or exact == 0 or not math.isfinite(term["coef"]):
            continue
        relative = abs(term["coef"] - exact) / abs(exact)
        if worst is None or relative > worst[0]:
            worst = (relative, term, abs(term["coef"] - exact), reference["std_err"])
    if worst is None:
        return ""
    relative, term, absolute, std_err = worst
    if relative < SAME_DIGITS:
        return "They agree with the least-squares answer (last column) to the digits shown."
    text = f"The largest difference from the least-squares answer is {_percent(relative)} ({_escape(term['name'])})"
    if isinstance(std_err, float) and math.isfinite(std_err) and std_err > 0:
        errors = absolute / std_err
        text += (f", {_percent(errors)} of its standard error" if errors < 1 else
                 f", {errors:.2g} times its standard error")
    return text + "."


def _verdict(sweep: LearningRateSweep, rate: float | None, updates: int, alpha: str, *, fallback: bool,
             error_bound: float) -> _Verdict:
    """Judge a run of ``updates`` at ``rate`` by the sweep's run at that rate (the same start and
    test); ``error_bound`` is the reported model's own certified error."""
    auto = sweep.run_at(sweep.auto_learning_rate)
    auto_needed = None
    if auto is not None and (rate is None or auto is not sweep.run_at(rate)):
        at = f"1/L = {auto.learning_rate:.3g} it needs"
        if auto.outcome == "converged":
            auto_needed = f"{at} {updates_text(auto.n_iter)}"
        elif auto.outcome == "max_iter" and auto.updates_needed is not None:
            auto_needed = f"{at} {'about ' if auto.needed_is_estimate else ''}{updates_text(auto.updates_needed)}"
    common = {"updates": updates, "rate": alpha, "error_bound": error_bound, "tol": sweep.tol,
              "auto_needed": auto_needed}
    run = sweep.run_at(rate) if rate is not None else None
    if run is None or run.outcome == "diverged":
        return _Verdict(converged=fallback, **common)
    if run.outcome == "converged":
        converged = updates >= run.n_iter
        return _Verdict(converged=converged, needed=None if converged else run.n_iter, **common)
    if run.outcome == "floor":
        return _Verdict(converged=False, floor=True, **common)
    return _Verdict(converged=False, needed=run.updates_needed, needed_is_estimate=run.needed_is_estimate, **common)


def _certified_error(certified, model) -> float:  # LinearRegression (or None)
    """The error the estimator certifies for the reported coefficients: its own stopping fit's, else
    the reported model's ``error_bound_`` (nan when unknown)."""
    source = certified if certified is not None else model
    return float(getattr(source, "error_bound_", math.nan))


def _glance_verdict(verdict: _Verdict, *, converged: str, short: str) -> str:
    if verdict.converged:
        return converged
    if verdict.floor:
        return (f"Rounding keeps gradient descent from getting the coefficients within {verdict.tol:g} of the "
                "least-squares answer, however many updates it makes.")
    return f"{short}: {_escape(verdict.needs() or 'it needs more updates')}."


def _verdict_text(verdict: _Verdict, sweep: LearningRateSweep) -> str:
    bound = verdict.bound_text()
    after = f"After {updates_text(verdict.updates)} at learning rate {_escape(verdict.rate)}"
    if verdict.converged:
        certified = f" (the fit certifies an error of at most {bound})" if bound else ""
        return (f"Yes. {after}, {_escape(sweep.tolerance_text())}{certified}: close enough to the bottom of the bowl "
                "to stop. The same test judges every run of the sweep above.")
    if verdict.floor:
        return (f"Not to this tolerance, and more updates would not help. The test every run of the sweep is judged by "
                f"asks that {_escape(sweep.tolerance_text())}. Gradient descent computes in floating-point "
                "numbers, whose rounding blurs the very bottom of the bowl; here it limits how closely the fit can "
                f"pin the coefficients down" + (f" to about {bound}" if bound else "") + ", so the run stops at "
                "that rounding floor. The exact least-squares answer is in the last column of the coefficient "
                "table below.")
    needs = verdict.needs()
    still = f", a coefficient may still be {bound} off its exact least-squares value (as the fit certifies it)" if bound else ""
    return (f"No. {after}{still}, while the test every run of the sweep is judged by asks that "
            f"{_escape(sweep.tolerance_text())}. So the parameters are not yet at the bottom of the bowl. More updates, "
            "or a larger learning rate below the stable bound 2/L, would get there" + (f": {_escape(needs)}." if needs else "."))
