"""The learners' toolkit: the cost bowl with the path, the learning-rate sweep, the moving line, and their CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image
from sklearn.exceptions import ConvergenceWarning

from gradfit import LinearRegression
from gradfit.article import ARTICLE_START
from gradfit.cli import run as run_cli
from gradfit.datasets import make_article_data
from gradfit.learning import DEFAULT_FACTORS, article_sweep, sweep_learning_rates
from gradfit.plots import (
    ANIMATION_HOLD_FRAMES,
    PATH_COLOUR,
    animate_fit,
    learning_rate_sweep,
    loss_surface,
    plot_loss_surface,
    plot_sweep,
    sweep_figure,
)
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
    model = LinearRegression(learning_rate=0.01, max_iter=300, tol=0, standardize=False, record_path=True)
    model.fit(X, y, coef_init=[slope0], intercept_init=intercept0)
    return X, y, model


@pytest.fixture(scope="module")
def three_features():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((150, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]
    y = X @ [1.5, -0.25, 4.0] + 2.0 + 0.1 * rng.standard_normal(150)
    model = LinearRegression(record_path=True).fit(X, y)
    return X, y, model


@pytest.fixture(scope="module")
def sweep():
    return article_sweep(seed=ARTICLE_SEED, max_iter=400)


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


def test_article_sweep_table_semantics(sweep):
    X, y = make_article_data(seed=ARTICLE_SEED)
    rates = [run.learning_rate for run in sweep.runs]
    assert rates == sorted(rates)
    assert 0.01 in rates and len(rates) == len(DEFAULT_FACTORS) + 1
    assert sweep.stable_bound == pytest.approx(2 / sweep.lipschitz)
    assert [run.factor for run in sweep.runs[1:]] == pytest.approx(list(DEFAULT_FACTORS))
    assert any(run.learning_rate > sweep.stable_bound for run in sweep.runs)
    # A run's cost comes from the statistics, ½(θᵀGθ − 2θᵀb + c): terms up to S = mean((|Z||θ| + |y|)²)/2,
    # each with (m + 2p + 3)·u of rounding, so a run at the optimum may read that far below it:
    # 3.4e-11 of it here, where cost and terms differ by 370 (a fixed 1e-12 was below that).
    design = np.hstack([np.ones((len(y), 1)), X])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    terms = np.mean((np.abs(design) @ np.abs(optimum) + np.abs(y)) ** 2) / 2
    loss_rounding = (len(y) + 2 * design.shape[1] + 3) * np.finfo(np.float64).eps * terms / sweep.optimum_loss
    for run in sweep.runs:
        if run.learning_rate > sweep.stable_bound:
            assert run.outcome == "diverged"
            assert run.verdict == f"diverged at iteration {run.n_iter}"
            assert run.final_loss > 1e3 * sweep.initial_loss
            assert run.loss.size == run.n_iter + 1 and run.loss[-1] == run.final_loss
            # The recovered curve before the blow-up is the article's own loop at that rate.
            _, costs = reference_article_loop(X, y, times=run.n_iter, alpha=run.learning_rate, theta0=ARTICLE_START)
            np.testing.assert_allclose(run.loss[:-1], costs, rtol=1e-9)
            continue
        model = LinearRegression(learning_rate=run.learning_rate, max_iter=400, tol=1e-6, standardize=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y, coef_init=[ARTICLE_START[1]], intercept_init=ARTICLE_START[0])
        assert run.n_iter == model.n_iter_ and run.final_loss == model.final_loss_
        assert run.outcome == ("converged" if model.converged_ else "max_iter")
        if run.outcome == "converged":
            assert run.verdict == f"converged in {run.n_iter} updates" and run.n_iter < 400
        else:
            assert run.outcome == "max_iter" and run.verdict == "did not converge in 400 updates"
        assert run.loss[0] == pytest.approx(sweep.initial_loss)
        assert run.final_loss >= sweep.optimum_loss * (1 - loss_rounding)
    outcomes = [run.outcome for run in sweep.runs]
    assert outcomes[0] == "max_iter" and "converged" in outcomes and outcomes[-1] == "diverged"


def test_sweep_runs_match_a_plain_fit():
    X, y = make_article_data(seed=ARTICLE_SEED)
    result = sweep_learning_rates(X, y, learning_rates=[0.5], max_iter=2000, tol=1e-6, standardize=False,
                                  coef_init=[1.0], intercept_init=1.0)
    (run,) = result.runs
    model = LinearRegression(learning_rate=0.5, max_iter=2000, tol=1e-6, standardize=False)
    model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    assert run.outcome == "converged" and run.n_iter == model.n_iter_
    np.testing.assert_array_equal(run.loss[:-1], model.loss_history_)
    assert run.final_loss == model.final_loss_


def test_sweep_on_user_data_survives_an_immediate_blow_up(three_features):
    X, y, _ = three_features
    result = sweep_learning_rates(X, y, learning_rates=[1e-3, 0.5, 100.0], max_iter=200, problem="three features")
    slow, good, wild = result.runs
    assert slow.outcome == "max_iter" and good.outcome == "converged"
    assert wild.outcome == "diverged" and wild.n_iter == 1
    assert wild.loss.size == 2 and wild.loss[0] == pytest.approx(result.initial_loss)
    text = str(result)
    assert "three features" in text and "diverged at iteration 1" in text and "did not converge in 200 updates" in text
    payload = json.loads(json.dumps(result.to_dict()))
    assert [entry["outcome"] for entry in payload["runs"]] == ["max_iter", "converged", "diverged"]


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
    result = learning_rate_sweep(X, y, learning_rates=[0.2, 2.5], max_iter=100)
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


def test_animation_needs_a_path(tmp_path):
    X, y = make_article_data(seed=1)
    model = LinearRegression(max_iter=50).fit(X, y)
    with pytest.raises(ValueError, match="record_path=True"):
        animate_fit(model, X, y, tmp_path / "fit.gif")
    assert not (tmp_path / "fit.gif").exists()


# --- gradfit sweep ----------------------------------------------------------------------------------


def cli(capsys, *args):
    code = run_cli([str(arg) for arg in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_cli_sweep_on_the_article(tmp_path, capsys):
    code, out, err = cli(capsys, "sweep", "--seed", "0", "--max-iter", "300", "--out", tmp_path / "figures")
    assert code == 0, out + err
    for fragment in ("Learning-rate sweep", "2/L", "did not converge in 300 updates", "converged in", "diverged at iteration"):
        assert fragment in out
    assert (tmp_path / "figures" / "sweep.png").read_bytes()[:8] == PNG_SIGNATURE


def test_cli_sweep_json_with_rates(tmp_path, capsys):
    code, out, err = cli(capsys, "sweep", "--seed", "0", "--learning-rates", "0.5, 3", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert [run["learning_rate"] for run in payload["runs"]] == [0.5, 3.0]
    assert payload["runs"][0]["verdict"].startswith("converged in")
    assert payload["runs"][1]["verdict"].startswith("diverged at iteration")
    assert payload["plot"] == str(tmp_path / "sweep.png")


def test_cli_sweep_on_a_csv(tmp_path, capsys, three_features):
    X, y, _ = three_features
    rows = "\n".join(",".join(repr(float(value)) for value in row) for row in np.column_stack([X, y]))
    (tmp_path / "train.csv").write_text("rooms,area,age,price\n" + rows + "\n")
    code, out, err = cli(capsys, "sweep", tmp_path / "train.csv", "--target", "price", "--features", "rooms,area",
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
def test_cli_sweep_usage_errors_are_one_line(tmp_path, capsys, args, fragment):
    (tmp_path / "data.csv").write_text("x,y\n0,1\n1,3\n2,5\n")
    code, out, err = cli(capsys, "sweep", *[tmp_path / arg if arg == "data.csv" else arg for arg in args],
                         "--out", tmp_path)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert not (tmp_path / "sweep.png").exists()


def test_cli_help_lists_the_new_commands(capsys):
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "sweep" in out and "report" in out
    code, out, _ = cli(capsys, "sweep", "--help")
    for option in ("--learning-rates", "--target", "--seed", "--max-iter", "--tol", "--json", "--out"):
        assert option in out
