"""Figures: written where asked and nowhere else, valid and not blank, read from a fitted model only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from sklearn.exceptions import NotFittedError

from gradfit import LinearRegression
from gradfit.article import run_article
from gradfit.plots import data_fit_figure, loss_figure, loss_surface, moved_most, plot_data_fit, plot_loss
from gradfit.plots._style import DPI, FIGSIZE, FIT_COLOUR, TRUE_COLOUR
from gradfit.plots.fit import COST_RESOLUTION
from gradfit.plots.surface import SURFACE_MARGIN, _ordinal

EXPECTED_SHAPE = (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))


@pytest.fixture(scope="module")
def run():
    return run_article(seed=0)


def read_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == EXPECTED_SHAPE
    return image[..., :3]


def distinct_colours(image) -> int:
    return len(np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0))


def has_colour(image, colour, tolerance=0.06) -> bool:
    return bool(np.any(np.all(np.abs(image - np.array(to_rgb(colour))) < tolerance, axis=-1)))


def test_data_fit_png(run, tmp_path):
    path = plot_data_fit(run.X, run.y, run.model, tmp_path / "fit.png")
    assert path == tmp_path / "fit.png"
    image = read_png(path)
    assert distinct_colours(image) > 100
    assert (image < 0.9).any(axis=-1).mean() > 0.02
    assert has_colour(image, FIT_COLOUR) and has_colour(image, TRUE_COLOUR)


def test_loss_png(run, tmp_path):
    path = plot_loss(run.model, tmp_path / "loss.png", optimum_loss=run.optimum_loss)
    image = read_png(path)
    assert distinct_colours(image) > 50
    assert has_colour(image, FIT_COLOUR)


def test_figures_say_what_they_show(run):
    figure = data_fit_figure(run.X, run.y, run.model, title="The article's run")
    axes = figure.axes[0]
    assert axes.get_title() == "The article's run"
    assert axes.get_xlabel() == "x" and axes.get_ylabel() == "y"
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels[0] == "data (100 points)"
    assert labels[1] == "true line: y = 2x + 1"
    assert labels[2] == f"fitted line: y = {run.slope:.4g}x + {run.intercept:.4g}"

    figure = loss_figure(run.model, optimum_loss=run.optimum_loss)
    axes = figure.axes[0]
    assert axes.get_title() and axes.get_xlabel() and "2m" in axes.get_ylabel()
    curve = axes.get_lines()[0]
    np.testing.assert_array_equal(curve.get_ydata()[:-1], run.model.loss_history_)
    assert curve.get_ydata()[-1] == run.model.final_loss_
    assert any(f"{run.optimum_loss:.4g}" in text.get_text() for text in axes.get_legend().get_texts())


def test_loss_axis_is_linear_for_a_short_span_and_log_for_a_long_one(run):
    # The article's costs fall from 0.22 to 0.015: one decade, a linear axis.
    assert loss_figure(run.model).axes[0].get_yscale() == "linear"
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 1)) * 100
    y = 3 * X[:, 0] + 5 + rng.normal(size=200)
    model = LinearRegression(solver="gd", learning_rate=1e-4, max_iter=300, tol=0, standardize=False).fit(X, y)
    assert model.loss_history_.max() > 100 * model.loss_history_.min()
    assert loss_figure(model).axes[0].get_yscale() == "log"


def test_unfitted_model_is_refused(run, tmp_path):
    with pytest.raises(NotFittedError):
        plot_data_fit(run.X, run.y, LinearRegression(), tmp_path / "fit.png")
    with pytest.raises(NotFittedError):
        plot_loss(LinearRegression(), tmp_path / "loss.png")
    assert not list(tmp_path.iterdir())


def test_exact_model_has_no_loss_curve_but_has_a_line(run, tmp_path):
    model = LinearRegression(solver="exact").fit(run.X, run.y)
    with pytest.raises(ValueError, match="no loss history"):
        plot_loss(model, tmp_path / "loss.png")
    plot_data_fit(run.X, run.y, model, tmp_path / "fit.png")
    assert [p.name for p in tmp_path.iterdir()] == ["fit.png"]


def test_plots_never_refit(run, tmp_path, monkeypatch):
    model = run.model
    before = (model.coef_.copy(), model.intercept_, model.n_iter_, model.loss_history_.copy())

    def refuse(*args, **kwargs):
        raise AssertionError("a plot refitted the model")

    monkeypatch.setattr(model, "fit", refuse)
    plot_data_fit(run.X, run.y, model, tmp_path / "fit.png")
    plot_loss(model, tmp_path / "loss.png")
    np.testing.assert_array_equal(model.coef_, before[0])
    assert (model.intercept_, model.n_iter_) == before[1:3]
    np.testing.assert_array_equal(model.loss_history_, before[3])


def test_parent_folders_are_created_and_neighbours_left_alone(run, tmp_path):
    neighbour = tmp_path / "figures" / "notes.txt"
    neighbour.parent.mkdir()
    neighbour.write_text("keep me")
    target = tmp_path / "figures" / "deeper" / "loss.png"
    assert plot_loss(run.model, target) == target
    assert target.is_file()
    assert neighbour.read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["deeper", "notes.txt"]
    assert [p.name for p in target.parent.iterdir()] == ["loss.png"]


def test_data_must_have_one_feature(run, tmp_path):
    with pytest.raises(ValueError, match="one feature"):
        plot_data_fit(np.hstack([run.X, run.X]), run.y, run.model, tmp_path / "fit.png")
    with pytest.raises(ValueError, match="rows"):
        plot_data_fit(run.X, run.y[:-1], run.model, tmp_path / "fit.png")


def test_large_data_are_thinned_for_the_scatter():
    rng = np.random.default_rng(0)
    X = rng.random((20_000, 1))
    y = -3 * X[:, 0] + rng.normal(size=20_000)
    model = LinearRegression(solver="gd").fit(X, y)
    axes = data_fit_figure(X, y, model, true_line=(-3.0, 0.0)).axes[0]
    assert len(axes.collections[0].get_offsets()) == 5000
    assert axes.get_legend().get_texts()[0].get_text() == "data (5000 of 20000 points)"


def test_only_plots_imports_matplotlib_and_never_pyplot(tmp_path):
    code = (
        "import sys\n"
        "import gradfit, gradfit.article\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported outside gradfit.plots'\n"
        "from gradfit.plots import plot_data_fit, plot_loss\n"
        "run = gradfit.article.run_article(seed=0)\n"
        f"plot_data_fit(run.X, run.y, run.model, {str(tmp_path / 'a.png')!r})\n"
        f"plot_loss(run.model, {str(tmp_path / 'b.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def diabetes_run():
    """Gradient descent at 1/L on the diabetes data to a relative gradient of 1e-6 (3,972 updates)."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    model = LinearRegression(solver="gd", learning_rate="auto", max_iter=3972, tol=0, record_path=True).fit(X, y)
    optimum = LinearRegression(solver="exact").fit(X, y).final_loss_
    return X, y, model, optimum


def test_cost_over_thousands_of_updates_is_drawn_above_the_optimum_on_a_log_axis(diabetes_run):
    # The cost falls from 2965 to 1430 within a few updates and then looks flat on a linear axis;
    # above the optimum it spans 9 decades, which a log axis shows as a steady slope.
    _, _, model, optimum = diabetes_run
    axes = loss_figure(model, optimum_loss=optimum).axes[0]
    assert axes.get_yscale() == "log"
    assert "J(θ) − J(θ*)" in axes.get_ylabel() and "log scale" in axes.get_ylabel()
    curve = axes.get_lines()[0]
    loss = np.append(model.loss_history_, model.final_loss_)
    excess = loss - optimum
    drawn = curve.get_ydata()
    # Drawn down to the cost's rounding level (COST_RESOLUTION of the largest cost, the start's: the
    # cost is a sum of terms that large), not below: rounding, not progress, from there on.
    level = COST_RESOLUTION * loss.max()
    below = np.flatnonzero(excess <= level)
    kept = np.arange(excess.size) < (below[0] if below.size else excess.size)
    np.testing.assert_array_equal(drawn[kept], excess[kept])
    assert np.isnan(drawn[~kept]).all()
    assert drawn[0] / np.nanmin(drawn) > 1e6
    dotted = [line for line in axes.get_lines() if line.get_linestyle() == ":"]
    if below.size:  # the run goes on below that level: dotted along it to its last update
        (flat,) = dotted
        assert list(flat.get_xdata()) == [below[0], excess.size - 1] and list(flat.get_ydata()) == [level, level]
    else:
        assert not dotted
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert any(f"{optimum:.6g}" in label and "0 on this axis" in label for label in labels)
    # Without the optimum the costs themselves are drawn (they span less than two decades here).
    plain = loss_figure(model).axes[0]
    assert plain.get_yscale() == "linear" and "J(θ*)" not in plain.get_ylabel()


@pytest.mark.parametrize(
    ("number", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (10, "10th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (23, "23rd"), (63, "63rd"), (101, "101st"), (111, "111th"), (112, "112th")],
)
def test_ordinals(number, text):
    assert _ordinal(number) == text


def test_bowl_of_real_data_shows_the_path(diabetes_run):
    # The default slice used to be (intercept, age): the intercept does not move on centred features,
    # and the box, sized by the bowl, shrank the path to a dot under the optimum's star.
    X, y, model, _ = diabetes_run
    axes = loss_surface(model, X, y).axes[0]
    spread = np.concatenate([[1.0], X.std(axis=0)])
    moves = (model.path_.max(axis=0) - model.path_.min(axis=0)) * spread
    chosen = sorted(np.argsort(-moves)[:2].tolist())
    assert moved_most(model, X) == tuple(chosen) and 0 not in chosen
    path = next(line for line in axes.get_lines() if line.get_label().startswith("path of gradient descent"))
    np.testing.assert_array_equal(path.get_xdata(), model.path_[:, chosen[0]])
    np.testing.assert_array_equal(path.get_ydata(), model.path_[:, chosen[1]])
    # The box is the path and the optimum plus a margin on each side, so the path spans most of it
    # (all but the margins and the last stretch to the optimum, which the run stopped short of).
    star = next(line for line in axes.get_lines() if line.get_label().startswith("optimum"))
    for data, optimum, limits in ((path.get_xdata(), star.get_xdata()[0], axes.get_xlim()),
                                  (path.get_ydata(), star.get_ydata()[0], axes.get_ylim())):
        low, high = min(data.min(), optimum), max(data.max(), optimum)
        assert limits == pytest.approx((low - SURFACE_MARGIN * (high - low), high + SURFACE_MARGIN * (high - low)))
        assert (data.max() - data.min()) / (limits[1] - limits[0]) > 0.7
    assert path.get_zorder() > star.get_zorder()
    assert "every 2nd kept" in path.get_label()  # 3,973 iterates, 2,000 kept


def test_a_run_past_the_costs_rounding_level_is_drawn_to_its_end():
    # At 1/L the article's cost gets within rounding of J* after about 280 updates, while a run judged
    # by its coefficients may go on: the curve stops at the cost's rounding level and runs dotted along
    # it to the last update, instead of ending early as if the run had stopped there.
    from gradfit.datasets import make_article_data

    X, y = make_article_data(seed=0)
    model = LinearRegression(solver="gd", learning_rate="auto", max_iter=2000, tol=0, standardize=False)
    model.fit(X, y, coef_init=[1.0], intercept_init=1.0)
    optimum = LinearRegression(solver="exact").fit(X, y).final_loss_
    axes = loss_figure(model, optimum_loss=optimum).axes[0]
    loss = np.append(model.loss_history_, model.final_loss_)
    level = COST_RESOLUTION * loss.max()
    first_below = int(np.flatnonzero(loss - optimum <= level)[0])
    assert 0 < first_below < 2000
    curve, flat = axes.get_lines()[:2]
    assert np.isnan(curve.get_ydata()[first_below:]).all() and np.isfinite(curve.get_ydata()[:first_below]).all()
    assert flat.get_linestyle() == ":" and list(flat.get_xdata()) == [first_below, 2000]
    assert list(flat.get_ydata()) == [level, level]
    assert f"from update {first_below:,}: at the cost's rounding level" in [t.get_text() for t in axes.get_legend().get_texts()]
