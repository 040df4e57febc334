"""The learners' toolkit: the cost bowl with the path, the learning-rate sweep, the moving line, and their CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image
from sklearn.exceptions import ConvergenceWarning

from gradfit import LinearRegression
from gradfit.datasets import ARTICLE_START, make_article_data
from gradfit.learning import (
    DEFAULT_FACTORS,
    FALLBACK_BUDGET,
    MAX_BUDGET,
    MIN_BUDGET,
    REGIMES,
    SweepRun,
    article_sweep,
    fit_run,
    learning_rate_sweep,
    sweep_learning_rates,
    update_budget,
)
from gradfit.plots import animate_fit, loss_surface, plot_loss_surface, plot_sweep, sweep_figure
from gradfit.plots._style import PATH_COLOUR
from gradfit.plots.animation import ANIMATION_HOLD_FRAMES
from gradfit.solvers.exact import solve_exact

from conftest import reference_article_loop

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ARTICLE_SEED = 0


def brute_cost(X, y, intercept, coef):
    residual = X @ np.atleast_1d(coef) + intercept - y
    return float(residual @ residual / (2 * len(y)))


@pytest.fixture(scope="module")
def article():
    X, y = make_article_data(seed=ARTICLE_SEED)
    intercept0, slope0 = ARTICLE_START
    model = LinearRegression(solver="gd", learning_rate=0.01, max_iter=300, tol=0, standardize=False, record_path=True)
    model.fit(X, y, coef_init=[slope0], intercept_init=intercept0)
    return X, y, model


@pytest.fixture(scope="module")
def three_features():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((150, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]
    y = X @ [1.5, -0.25, 4.0] + 2.0 + 0.1 * rng.standard_normal(150)
    model = LinearRegression(solver="gd", record_path=True).fit(X, y)
    return X, y, model


@pytest.fixture(scope="module")
def sweep():
    return article_sweep(seed=ARTICLE_SEED, max_iter=500)


def legend_texts(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


# --- the bowl -------------------------------------------------------------------------------------


def test_surface_is_the_cost_with_the_path_start_and_optimum(article):
    X, y, model = article
    figure = loss_surface(model, X, y)
    axes = figure.axes[0]
    assert axes.get_title() and "intercept θ₀" in axes.get_xlabel() and "slope θ₁" in axes.get_ylabel()
    assert "units of y" in axes.get_xlabel()

    # The path is the model's own iterates: (intercept, slope), from the article's start to the final model.
    path_line = next(line for line in axes.get_lines() if line.get_label().startswith("path of gradient descent"))
    np.testing.assert_array_equal(path_line.get_xdata(), model.path_[:, 0])
    np.testing.assert_array_equal(path_line.get_ydata(), model.path_[:, 1])
    assert tuple(model.path_[0]) == ARTICLE_START
    assert path_line.get_color() == PATH_COLOUR

    coef_star, intercept_star = solve_exact(X, y, fit_intercept=True)
    star = next(line for line in axes.get_lines() if line.get_label().startswith("optimum"))
    assert star.get_xdata()[0] == pytest.approx(intercept_star, abs=1e-12)
    assert star.get_ydata()[0] == pytest.approx(coef_star[0], abs=1e-12)

    labels = legend_texts(axes)
    assert any(label == f"start (cost {model.loss_history_[0]:.4g})" for label in labels)
    assert any(label == f"after 300 updates (cost {model.final_loss_:.4g})" for label in labels)

    # The filled levels run from the optimum's cost to the highest cost on the plotted box, which for
    # a convex cost is at a corner: both agree with the cost computed row by row.
    levels = axes.collections[0].levels
    assert levels[0] == pytest.approx(brute_cost(X, y, intercept_star, coef_star), rel=1e-12)
    (a0, a1), (b0, b1) = axes.get_xlim(), axes.get_ylim()
    corner = max(brute_cost(X, y, a, b) for a in (a0, a1) for b in (b0, b1))
    assert levels[-1] == pytest.approx(corner, rel=1e-9)
    # The box holds the whole path and the optimum.
    assert a0 < min(model.path_[:, 0].min(), intercept_star) and a1 > max(model.path_[:, 0].max(), intercept_star)
    assert b0 < min(model.path_[:, 1].min(), coef_star[0]) and b1 > max(model.path_[:, 1].max(), coef_star[0])


def test_surface_3d_view_adds_the_bowl(article):
    X, y, model = article
    figure = loss_surface(model, X, y, view_3d=True)
    kinds = [axes.name for axes in figure.axes]
    assert "3d" in kinds
    bowl = next(axes for axes in figure.axes if axes.name == "3d")
    assert bowl.get_zlabel() == "cost J(θ)" and bowl.get_title()


def test_surface_png_is_written_and_not_blank(article, tmp_path):
    X, y, model = article
    path = plot_loss_surface(model, X, y, tmp_path / "bowl" / "surface.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)[..., :3]
    assert len(np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 200


def test_surface_slices_more_features_through_the_optimum(three_features):
    X, y, model = three_features
    figure = loss_surface(model, X, y, coordinates=("rooms", "area"), feature_names=["rooms", "area", "age"],
                          target_name="price")
    axes = figure.axes[0]
    assert "Slice" in axes.get_title()
    assert "rooms" in axes.get_xlabel() and "area" in axes.get_ylabel() and "price" in axes.get_xlabel()
    path_line = axes.get_lines()[0]
    np.testing.assert_array_equal(path_line.get_xdata(), model.path_[:, 1])
    np.testing.assert_array_equal(path_line.get_ydata(), model.path_[:, 2])
    # The slice's lowest level is the optimum's cost; its corners are costs with the third coefficient
    # and the intercept held at the optimum.
    coef_star, intercept_star = solve_exact(X, y, fit_intercept=True)
    levels = axes.collections[0].levels
    assert levels[0] == pytest.approx(brute_cost(X, y, intercept_star, coef_star), rel=1e-9)
    (a0, a1), (b0, b1) = axes.get_xlim(), axes.get_ylim()
    corner = max(brute_cost(X, y, intercept_star, [a, b, coef_star[2]]) for a in (a0, a1) for b in (b0, b1))
    assert levels[-1] == pytest.approx(corner, rel=1e-9)
    # Integer coordinates pick the same plane.
    same = loss_surface(model, X, y, coordinates=(1, 2)).axes[0].collections[0].levels
    np.testing.assert_allclose(same, levels)


@pytest.mark.parametrize(
    ("coordinates", "match"),
    [((1, 1), "two different"), ((0, 9), "out of range"), (("intercept", "nope"), "unknown coordinate")],
)
def test_surface_refuses_bad_coordinates(three_features, coordinates, match):
    X, y, model = three_features
    with pytest.raises(ValueError, match=match):
        loss_surface(model, X, y, coordinates=coordinates)


def test_surface_without_a_path_marks_the_model_alone(article):
    X, y, _ = article
    model = LinearRegression(solver="exact").fit(X, y)
    labels = legend_texts(loss_surface(model, X, y).axes[0])
    assert not any(label.startswith("path") for label in labels)
    assert any("record_path=True" in label for label in labels)


# --- the sweep ------------------------------------------------------------------------------------


#: The estimator certifies a run's error with rounding floors added (κ·√p·ε·‖θ‖/|θ_j| ≈ 1e-14 on the
#: article's data, 1e-8 of tol), and lstsq is itself within κ·ε of the optimum, so an independent
#: check compares the plain loop's error with tol up to this share of it (as test_article does); one
#: update changes the error by a factor of at most 1 − α·λ_min ≈ 1 − 2e-4 at these rates, so the
#: margin still pins the count to one update.
CERTIFICATE_MARGIN = 1e-6


def article_relative_error(X, y, theta):
    """The largest relative error of (intercept, slope) against numpy's lstsq, in plain numpy."""
    design = np.column_stack([np.ones(len(y)), X[:, 0]])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    return float(np.max(np.abs(np.asarray(theta) - optimum) / np.abs(optimum)))


def test_article_sweep_table_semantics(sweep):
    X, y = make_article_data(seed=ARTICLE_SEED)
    rates = [run.learning_rate for run in sweep.runs]
    assert rates == sorted(rates)
    assert 0.01 in rates and len(rates) == len(DEFAULT_FACTORS) + 1
    assert sweep.stable_bound == pytest.approx(2 / sweep.lipschitz)
    assert [run.factor for run in sweep.runs[1:]] == pytest.approx(list(DEFAULT_FACTORS))
    assert sweep.max_iter == 500 and sweep.budget_source == "given"
    # The estimator's test, checked on the article's loop in plain numpy: converged at update k means
    # the intercept and the slope are within tol of the least-squares answer, relatively, at θ_k and
    # not yet at θ_{k−1} (up to the certificate's rounding floor, CERTIFICATE_MARGIN).
    # A run's cost comes from the statistics, ½(θᵀGθ − 2θᵀb + c): terms up to S = mean((|Z||θ| + |y|)²)/2,
    # each with (m + 2p + 3)·u of rounding, so a run at the optimum may read that far below it:
    # 3.4e-11 of it here, where cost and terms differ by 370 (a fixed 1e-12 was below that).
    design = np.hstack([np.ones((len(y), 1)), X])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    terms = np.mean((np.abs(design) @ np.abs(optimum) + np.abs(y)) ** 2) / 2
    loss_rounding = (len(y) + 2 * design.shape[1] + 3) * np.finfo(np.float64).eps * terms / sweep.optimum_loss
    for run in sweep.runs:
        if run.learning_rate > sweep.stable_bound:
            assert run.outcome == "diverged" and run.regime == "too large"
            assert run.verdict == f"diverged at update {run.n_iter}"
            assert run.final_loss > 1e3 * sweep.initial_loss
            assert run.loss.size == run.n_iter + 1 and run.loss[-1] == run.final_loss
            # The recovered curve before the blow-up is the article's own loop at that rate.
            _, costs = reference_article_loop(X, y, times=run.n_iter, alpha=run.learning_rate, theta0=ARTICLE_START)
            np.testing.assert_allclose(run.loss[:-1], costs, rtol=1e-9)
            continue
        # Its cost curve is the article's loop at that rate (to rounding: the closed-form blocks and
        # the loop round differently, by a few ε relative on costs of order 1).
        _, costs = reference_article_loop(X, y, times=run.n_iter + 1, alpha=run.learning_rate, theta0=ARTICLE_START)
        np.testing.assert_allclose(run.loss, costs, rtol=1e-12)
        assert run.final_loss == run.loss[-1] and run.loss[0] == pytest.approx(sweep.initial_loss, rel=1e-15)
        assert run.final_loss >= sweep.optimum_loss * (1 - loss_rounding)
        needed = run.n_iter if run.outcome == "converged" else run.updates_needed
        assert needed is not None and not run.needed_is_estimate
        before, _ = reference_article_loop(X, y, times=needed - 1, alpha=run.learning_rate, theta0=ARTICLE_START)
        after, _ = reference_article_loop(X, y, times=needed, alpha=run.learning_rate, theta0=ARTICLE_START)
        assert article_relative_error(X, y, after) <= sweep.tol * (1 + CERTIFICATE_MARGIN)
        assert article_relative_error(X, y, before) > sweep.tol * (1 - CERTIFICATE_MARGIN)
        if run.outcome == "converged":
            assert run.verdict == f"converged in {run.n_iter} updates" and run.n_iter <= 500
            assert run.error_bound <= sweep.tol
        else:
            assert run.n_iter == 500 and needed > 500
            assert run.verdict == f"did not converge in 500 updates (needs {needed:,})"
    assert [run.regime for run in sweep.runs] == [
        "too small", "too small", "too small", "just right", "overshoots", "too large"
    ]
    assert [run.outcome for run in sweep.runs] == ["max_iter", "max_iter", "converged", "converged", "converged",
                                                   "diverged"]


def test_sweep_runs_match_a_plain_fit():
    X, y = make_article_data(seed=ARTICLE_SEED)
    result = sweep_learning_rates(X, y, learning_rates=[0.5], max_iter=2000, tol=1e-6, standardize=False,
                                  coef_init=[1.0], intercept_init=1.0)
    (run,) = result.runs
    assert run.outcome == "converged" and run.regime == "too small" and result.budget_source == "given"
    # The same run through the estimator, as many updates and no early stop: the same costs.
    model = LinearRegression(solver="gd", learning_rate=0.5, max_iter=run.n_iter, tol=0, standardize=False)
    model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    np.testing.assert_array_equal(run.loss[:-1], model.loss_history_)
    # The last cost comes from a longer run's closed-form block, the model's from its final state:
    # the same iterate, rounded along two routes (a few ε relative).
    assert run.final_loss == pytest.approx(model.final_loss_, rel=1e-13)
    same = fit_run(X, y, result, 0.5, coef_init=[1.0], intercept_init=1.0)
    assert same.n_iter_ == run.n_iter and same.solver == "gd" and same.path_ is not None
    np.testing.assert_array_equal(same.loss_history_, model.loss_history_)
    with pytest.raises(ValueError, match="no run at learning rate 0.3"):
        fit_run(X, y, result, 0.3)


def test_sweep_on_user_data_survives_an_immediate_blow_up(three_features):
    X, y, _ = three_features
    result = sweep_learning_rates(X, y, learning_rates=[1e-3, 0.5, 100.0], max_iter=200, problem="three features")
    slow, good, wild = result.runs
    assert slow.outcome == "max_iter" and good.outcome == "converged"
    assert wild.outcome == "diverged" and wild.n_iter == 1
    assert wild.loss.size == 2 and wild.loss[0] == pytest.approx(result.initial_loss)
    text = str(result)
    assert "three features" in text and "diverged at update 1" in text and "did not converge in 200 updates" in text
    assert "within a millionth (1e-06) of their exact least-squares values" in text and "at most 200 updates each" in text
    payload = json.loads(json.dumps(result.to_dict()))
    assert [entry["outcome"] for entry in payload["runs"]] == ["max_iter", "converged", "diverged"]
    assert [entry["regime"] for entry in payload["runs"]] == [run.regime for run in result.runs]


def test_update_budget_is_the_contraction_for_one_over_l():
    # κ·ln(initial error/tol), rounded up to two significant digits: the fallback budget when 1/L
    # cannot be counted.
    assert update_budget(470.08, 1e-6) == 6500  # 470.08 · 13.8155 = 6494.4
    assert update_budget(12_220.0, 1e-6) == 170_000  # 168,825
    assert update_budget(1.0, 1e-6) == MIN_BUDGET  # 14 updates: too few to show a curve
    assert update_budget(1e12, 1e-6) == MAX_BUDGET
    assert update_budget(None, 1e-6) == update_budget(math.inf, 1e-6) == FALLBACK_BUDGET
    # A start whose largest relative error is e needs κ more updates than one whose error is 1.
    assert update_budget(1000.0, 1e-6, initial_error=math.e) == 15_000  # 1000 · 14.8155


@pytest.mark.parametrize(
    ("factor", "outcome", "regime"),
    [(0.1, "max_iter", "too small"), (0.79, "converged", "too small"), (0.8, "converged", "just right"),
     (1.0, "converged", "just right"), (1.2, "converged", "just right"), (1.21, "converged", "overshoots"),
     (1.99, "converged", "overshoots"), (2.0, "max_iter", "too large"), (2.1, "diverged", "too large")],
)
def test_regimes_are_read_from_the_learning_rate(factor, outcome, regime):
    run = SweepRun(learning_rate=factor, factor=factor, outcome=outcome, n_iter=5, final_loss=1.0, loss=np.ones(6))
    assert run.regime == regime and run.regime in REGIMES


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"learning_rates": [0.1, -1.0]}, "positive"),
        ({"learning_rates": []}, "empty"),
        ({"learning_rates": [math.nan]}, "positive"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_sweep_refuses_bad_settings(options, match):
    X, y = make_article_data(seed=1)
    with pytest.raises(ValueError, match=match):
        sweep_learning_rates(X, y, **options)


def test_sweep_figure_is_log_scale_with_one_curve_per_rate(sweep, tmp_path):
    figure = sweep_figure(sweep)
    axes = figure.axes[0]
    assert axes.get_yscale() == "log"
    assert "2/L" in axes.get_title() and "updates" in axes.get_xlabel() and "J(θ*)" in axes.get_ylabel()
    labels = legend_texts(axes)
    assert len(labels) == len(sweep.runs)
    for label, run in zip(labels, sweep.runs):
        assert run.verdict in label and f"{run.learning_rate:.3g}" in label
    dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == sum(run.outcome == "diverged" for run in sweep.runs)
    path = plot_sweep(sweep, tmp_path / "sweep.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_learning_rate_sweep_runs_and_draws(tmp_path, three_features):
    result = learning_rate_sweep(seed=3, max_iter=200, path=tmp_path / "article.png")
    assert (tmp_path / "article.png").is_file() and result.runs[-1].outcome == "diverged"
    assert "seed 3" in result.problem
    X, y, _ = three_features
    result = learning_rate_sweep(X, y, learning_rates=[0.2, 2.5], max_iter=200)  # 0.2 needs 101 updates
    assert [run.outcome for run in result.runs] == ["converged", "diverged"]
    with pytest.raises(ValueError, match="both X and y"):
        learning_rate_sweep(X)


# --- the moving line ------------------------------------------------------------------------------


def gif_frames(path):
    image = Image.open(path)
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(np.asarray(image.convert("RGB")))
    return frames


def test_animation_moves_the_line(article, tmp_path):
    X, y, model = article
    path = animate_fit(model, X, y, tmp_path / "movie" / "fit.gif", frames=6, true_line=(2.0, 1.0))
    assert path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    frames = gif_frames(path)
    # Pillow may merge the held copies of the last frame; the distinct frames all remain.
    assert 2 <= len(frames) <= 6 + ANIMATION_HOLD_FRAMES
    assert len({frame.shape for frame in frames}) == 1
    assert frames[0].shape[1] > frames[0].shape[0]
    assert not np.array_equal(frames[0], frames[-1])
    assert frames[0].std() > 10


def test_animation_of_several_features(three_features, tmp_path):
    X, y, model = three_features
    frames = gif_frames(animate_fit(model, X, y, tmp_path / "fit.gif", frames=4, target_name="price"))
    assert len(frames) >= 2 and not np.array_equal(frames[0], frames[-1])


def test_animation_is_written_atomically(article, tmp_path, monkeypatch):
    """A GIF that fails half-way leaves the file that was there as it was, and no partial file."""
    X, y, model = article
    path = tmp_path / "fit.gif"
    path.write_bytes(b"the user's earlier animation")

    def broken_save(image, handle, **options):
        handle.write(b"GIF89a half")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        animate_fit(model, X, y, path, frames=3)
    assert path.read_bytes() == b"the user's earlier animation"
    assert [entry.name for entry in tmp_path.iterdir()] == ["fit.gif"]


def test_animation_needs_a_path(tmp_path):
    X, y = make_article_data(seed=1)
    model = LinearRegression(solver="gd", max_iter=50).fit(X, y)
    with pytest.raises(ValueError, match="record_path=True"):
        animate_fit(model, X, y, tmp_path / "fit.gif")
    assert not (tmp_path / "fit.gif").exists()


# --- gradfit sweep ----------------------------------------------------------------------------------


def test_cli_sweep_on_the_article(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("sweep", "--seed", "0", "--max-iter", "300", "--out", tmp_path / "figures")
    assert code == 0, out + err
    # (The table wraps its cells to the 80 columns of a test's console: fragments within a line.)
    for fragment in ("Learning-rate sweep", "2/L", "did not converge in 300", "(needs 18,923)", "converged in",
                     "diverged at update", "too small", "just right", "overshoots", "too large", "at most 300 updates each"):
        assert fragment in out
    assert (tmp_path / "figures" / "sweep.png").read_bytes()[:8] == PNG_SIGNATURE


def test_cli_sweep_json_with_rates(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("sweep", "--seed", "0", "--learning-rates", "0.5, 3", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert [run["learning_rate"] for run in payload["runs"]] == [0.5, 3.0]
    assert payload["runs"][0]["verdict"].startswith("converged in")
    assert payload["runs"][1]["verdict"].startswith("diverged at update")
    assert payload["plot"] == str(tmp_path / "sweep.png")


def test_cli_sweep_on_a_csv(tmp_path, gradfit_cli, three_features):
    X, y, _ = three_features
    rows = "\n".join(",".join(repr(float(value)) for value in row) for row in np.column_stack([X, y]))
    (tmp_path / "train.csv").write_text("rooms,area,age,price\n" + rows + "\n")
    code, out, err = gradfit_cli("sweep", tmp_path / "train.csv", "--target", "price", "--features", "rooms,area",
                         "--max-iter", "200", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["standardize"] is True and "train.csv" in payload["problem"]
    assert payload["runs"][-1]["outcome"] == "diverged"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--learning-rates", "0.1,abc"], "--learning-rates"),
        (["--target", "y"], "--target"),
        (["data.csv"], "--target"),
        (["data.csv", "--target", "y", "--seed", "1"], "--seed"),
        (["--tol", "0"], "tol"),
    ],
)
def test_cli_sweep_usage_errors_are_one_line(tmp_path, gradfit_cli, args, fragment):
    (tmp_path / "data.csv").write_text("x,y\n0,1\n1,3\n2,5\n")
    code, out, err = gradfit_cli("sweep", *[tmp_path / arg if arg == "data.csv" else arg for arg in args],
                         "--out", tmp_path)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert not (tmp_path / "sweep.png").exists()


def test_cli_help_lists_the_new_commands(gradfit_cli):
    code, out, _ = gradfit_cli("--help")
    assert code == 0 and "sweep" in out and "report" in out
    code, out, _ = gradfit_cli("sweep", "--help")
    for option in ("--learning-rates", "--target", "--seed", "--max-iter", "--tol", "--json", "--out"):
        assert option in out


# --- real data --------------------------------------------------------------------------------------


def write_real_data(folder, name):
    """One of the data sets a newcomer tried, as a CSV with its target column; returns (path, target)."""
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        frame, target = load_diabetes(as_frame=True).frame, "target"
    else:
        datasets = pytest.importorskip("statsmodels.api").datasets
        frame, target = {"longley": (datasets.longley, "TOTEMP"), "macrodata": (datasets.macrodata, "realgdp")}[name]
        frame = frame.load_pandas().data
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, target


@pytest.mark.parametrize("name", ["diabetes", "longley", "macrodata"])
def test_cli_sweep_shows_every_regime_on_real_data(tmp_path, gradfit_cli, name):
    # Before: 4 of 5 rates "did not converge in 1,000 updates" on each of these, 1/L included.
    path, target = write_real_data(tmp_path, name)
    code, out, err = gradfit_cli("sweep", path, "--target", target, "--json", "--out", tmp_path / "figures")
    assert code == 0, err
    payload = json.loads(out)
    runs = payload["runs"]
    assert [run["factor"] for run in runs] == pytest.approx(list(DEFAULT_FACTORS), rel=1e-12)
    assert [run["regime"] for run in runs] == ["too small", "too small", "just right", "overshoots", "too large"]
    # The budget is what 1/L needs, rounded up to two significant digits (at most 10% more), so 1/L
    # converges within it, as does 1.9/L (whose slowest direction shrinks 1.9 times as fast, its
    # fastest by 0.9 an update).
    small, smaller_still, just_right, overshoots, too_large = (runs[1], runs[0], runs[2], runs[3], runs[4])
    assert payload["budget_source"] == "problem" and payload["auto_needed"] == just_right["n_iter"]
    assert just_right["n_iter"] <= payload["max_iter"] <= max(MIN_BUDGET, 1.1 * just_right["n_iter"])
    assert just_right["outcome"] == overshoots["outcome"] == "converged"
    assert just_right["verdict"] == f"converged in {just_right['n_iter']:,} updates"
    assert just_right["error_bound"] <= payload["tol"] and overshoots["error_bound"] <= payload["tol"]
    assert too_large["outcome"] == "diverged" and too_large["verdict"] == f"diverged at update {too_large['n_iter']}"
    # Below 1/L every direction shrinks more slowly, so a smaller rate needs more updates: finished
    # or not, the table says how many.
    needs = [run["n_iter"] if run["outcome"] == "converged" else run["updates_needed"]
             for run in (smaller_still, small, just_right)]
    assert needs[0] > needs[1] > needs[2] > 0
    assert smaller_still["outcome"] == "max_iter" and "(needs " in smaller_still["verdict"]
    assert (tmp_path / "figures" / "sweep.png").read_bytes()[:8] == PNG_SIGNATURE
    # "Converged" is meant as the estimator means it: after 1/L's updates every coefficient and the
    # intercept are within tol of the exact answer (checked on the iterate itself, by a fit that makes
    # exactly those updates, against the exact solver). The gradient test it replaced called 1/L
    # converged on longley after 72,022 updates while POP was still 1.7% off.
    frame = __import__("pandas").read_csv(path)
    y = frame.pop(target).to_numpy(dtype=float)
    X = frame.to_numpy(dtype=float)
    at = LinearRegression(solver="gd", learning_rate=just_right["learning_rate"], max_iter=just_right["n_iter"],
                          tol=0).fit(X, y)
    exact = LinearRegression(solver="exact").fit(X, y)
    reached = np.max(np.abs(np.append(at.coef_, at.intercept_) - np.append(exact.coef_, exact.intercept_))
                     / np.abs(np.append(exact.coef_, exact.intercept_)))
    # The exact solver's own error (κ·ε ≈ 1e-11 at most here) is far below tol.
    assert reached <= payload["tol"]


# --- counting as the estimator counts ----------------------------------------------------------------


def test_counting_from_near_the_crossing_gives_the_estimators_own_count(monkeypatch):
    # Long runs are judged by the estimator from a kept iterate shortly before the tolerance is
    # crossed rather than from the start (its per-iterate certificate is what costs). Forced here on
    # runs short enough to fit from the start as well: the counts are the estimator's own, exactly
    # (consecutive certified errors differ by at least αμ ≥ 2e-4 of themselves, their rounding by
    # κ·ε ≈ 1e-13).
    from sklearn.datasets import load_diabetes

    import gradfit.learning as learning
    from gradfit.learning import counting

    X, y = load_diabetes(return_X_y=True)
    article_X, article_y = make_article_data(seed=8)
    problems = [
        (X, y, {}, [0.5, 1.0]),  # × 1/L
        (article_X, article_y, {"standardize": False, "coef_init": [1.0], "intercept_init": 1.0}, [0.01]),
    ]
    monkeypatch.setattr(counting, "DIRECT_UPDATES", 0)
    for features, target, settings, rates in problems:
        lipschitz = LinearRegression(solver="gd", max_iter=1, tol=0,
                                     standardize=settings.get("standardize", True)).fit(features, target).lipschitz_
        for rate in rates:
            rate = rate / lipschitz if features is X else rate
            count = learning.updates_to_converge(features, target, rate, tol=1e-6, **settings)
            start = {key: settings[key] for key in ("coef_init", "intercept_init") if key in settings}
            direct = LinearRegression(solver="gd", learning_rate=rate, tol=1e-6, max_iter=100_000,
                                      standardize=settings.get("standardize", True)).fit(features, target, **start)
            assert direct.status_ == count.status == "tol" and not count.estimate
            assert count.updates == direct.n_iter_ > 1000
            assert count.error_bound <= 1e-6


def test_a_run_rounding_keeps_from_the_tolerance_says_so(tmp_path, gradfit_cli):
    # Asked for 1e-14 on the article's data the estimator stops at its rounding floor (about 6e-14)
    # at every rate: the sweep shows that in words, not as "did not converge (needs …)".
    sweep = article_sweep(seed=ARTICLE_SEED, tol=1e-14)
    X, y = make_article_data(seed=ARTICLE_SEED)
    auto = sweep.run_at(sweep.auto_learning_rate)
    model = LinearRegression(solver="gd", learning_rate="auto", tol=1e-14, max_iter=10_000, standardize=False)
    with pytest.warns(ConvergenceWarning, match="rounding floor"):
        model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    assert model.status_ == auto.outcome == "floor" and auto.n_iter == model.n_iter_
    assert auto.error_bound == model.error_bound_ > 1e-14
    assert auto.verdict == f"cannot converge: stopped by rounding after {model.n_iter_} updates, within " \
                           f"{model.error_bound_:.2g} at best"
    article = sweep.run_at(0.01)
    assert article.outcome == "floor" and article.n_iter == 1000 and article.updates_needed > 1000
    assert article.verdict.startswith("did not converge in 1,000 updates, and cannot: stopped by rounding after")
    assert not any(run.outcome in ("converged", "max_iter") for run in sweep.runs)
    # The runs that stop there get within rounding of J* in cost before they stop: their curves run
    # dotted along that level to their last update, where their dot is.
    dotted = [line for line in sweep_figure(sweep).axes[0].get_lines() if line.get_linestyle() == ":"]
    ends = sorted(int(line.get_xdata()[-1]) for line in dotted if len(line.get_xdata()))
    stopped = sorted(run.n_iter for run in sweep.runs if run.outcome == "floor" and run.updates_needed <= run.n_iter)
    assert stopped == sorted([auto.n_iter, sweep.runs[-2].n_iter]) and set(stopped) <= set(ends)
    assert set(ends) <= {run.n_iter for run in sweep.runs}
    code, out, err = gradfit_cli("sweep", "--seed", "0", "--tol", "1e-14", "--out", tmp_path)
    assert code == 0, err
    assert "stopped by rounding" in " ".join(out.split()) and "(needs" not in out
