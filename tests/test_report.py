"""The HTML report: one self-contained file, every figure explained, and it renders in a real browser."""

from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from gradfit import LinearRegression
from gradfit.article import run_article
from gradfit.cli import run as run_cli
from gradfit.explorer import EXPLORER_NAME
from gradfit.learning import article_sweep, certificate, fit_run, sweep_learning_rates
from gradfit.report import REPORT_NAME, article_report, data_report, write_report

#: Frames of the animation in these tests: enough to move, few enough to stay fast.
FRAMES = 5

SECTIONS = ("data", "loss", "bowl", "sweep", "animation", "verdict", "coefficients")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


class Page(HTMLParser):
    """The parts of a page these tests look at: images, links, scripts, sections and their text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.links: list[str] = []
        self.scripts = 0
        self.sections: dict[str, str] = {}
        self.captions: list[str] = []
        self.all_text = ""
        self._in_style = False
        self.first_in_table: list[str] = []  # the first element inside each <table>
        self._section: str | None = None
        self._caption: str | None = None
        self._table_opened = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self._table_opened:
            self.first_in_table.append(tag)
            self._table_opened = False
        if tag == "table":
            self._table_opened = True
        if tag == "caption":
            self._caption = ""
        if tag == "style":
            self._in_style = True
        if tag == "img":
            self.images.append(attributes)
        if tag in ("script", "iframe", "object", "embed"):
            self.scripts += 1
        for name in ("href", "src"):
            if name in attributes and tag != "img":
                self.links.append(attributes[name])
        if tag == "section":
            self._section = attributes["id"]
            self.sections[self._section] = ""

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag == "section":
            self._section = None
        if tag == "caption":
            self.captions.append(self._caption)
            self._caption = None

    def handle_data(self, data):
        if not self._in_style:
            self.all_text += data + " "
        if self._section is not None:
            self.sections[self._section] += data
        if self._caption is not None:
            self._caption += data

    def text(self) -> str:
        """Every word of the page (not its style sheet), spaced as a reader sees them."""
        return " ".join(self.all_text.split())


@pytest.fixture(scope="module")
def article_page(tmp_path_factory):
    run = run_article(seed=0, iterations=300)
    path = write_report(article_report(run, frames=FRAMES), tmp_path_factory.mktemp("report"))
    return path, run


def image_bytes(source: str) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:(image/(?:png|gif));base64,([A-Za-z0-9+/=]+)", source)
    assert match, source[:80]
    return match.group(1), base64.b64decode(match.group(2), validate=True)


def check_self_contained(text: str) -> Page:
    page = Page(text)
    assert page.scripts == 0
    # Anchors within the page, and the explorer written beside it (a relative file name: no network).
    assert all(link.startswith("#") or link == EXPLORER_NAME for link in page.links), page.links
    assert not re.search(r"(?i)(https?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\()", text.replace("http-equiv", ""))
    for image in page.images:
        mime, data = image_bytes(image["src"])
        signature = b"\x89PNG\r\n\x1a\n" if mime == "image/png" else b"GIF8"
        assert data.startswith(signature)
        assert image.get("alt")
    return page


def test_article_report_is_one_self_contained_file(article_page):
    path, run = article_page
    assert path.name == REPORT_NAME
    assert [p.name for p in path.parent.iterdir()] == [REPORT_NAME]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in text
    page = check_self_contained(text)
    assert [image_bytes(image["src"])[0] for image in page.images] == ["image/png"] * 4 + ["image/gif"]
    assert list(page.sections) == list(SECTIONS)
    for anchor, words in page.sections.items():
        assert len(words.split()) >= 25, anchor  # each part says in words what it shows


def test_article_report_says_what_happened(article_page):
    path, run = article_page
    page = Page(path.read_text(encoding="utf-8"))
    # The report judges the run as its sweep judges every rate: the same rate, start and budget.
    sweep = article_sweep(seed=0, X=run.X, y=run.y, include=[run.learning_rate, "auto"], max_iter=run.iterations)
    article_run, auto = sweep.run_at(run.learning_rate), sweep.run_at(sweep.auto_learning_rate)
    assert article_run.outcome == "max_iter" and auto.outcome == "converged" and sweep.max_iter == 300
    verdict = " ".join(page.sections["verdict"].split())
    assert "Did not converge" in verdict and "After 300 updates at learning rate 0.01" in verdict
    assert f"at 0.01 it needs {article_run.updates_needed:,} updates" in verdict
    assert f"at 1/L = {auto.learning_rate:.3g} it needs {auto.n_iter:,} updates" in verdict
    coefficients = page.sections["coefficients"]
    assert "intercept" in coefficients and "\nx" not in coefficients and "x0" not in coefficients
    assert f"{run.slope:.4g}" in coefficients and f"{run.intercept:.4g}" in coefficients
    assert f"{run.optimum_slope:.4g}" in coefficients and f"{run.optimum_intercept:.4g}" in coefficients
    sweep_text = " ".join(page.sections["sweep"].split())
    for fragment in ("diverged at update", f"did not converge in 300 updates (needs {article_run.updates_needed:,})",
                     f"converged in {auto.n_iter} updates", "too small", "just right", "overshoots", "too large",
                     "within a millionth (1e-06) of their exact least-squares values", "at most 300 updates each"):
        assert fragment in sweep_text, fragment
    assert "bowl" in page.sections["bowl"] and "downhill" in page.sections["bowl"]


def test_report_words_are_for_a_report(article_page):
    # Plain words where a learner reads: no parameter syntax, no "3th", no Python advice.
    path, _ = article_page
    text = Page(path.read_text(encoding="utf-8")).text()
    for code in ("max_iter", "tol=", "solver=", "record_path", "‖∇J(0)‖", "3th", "2th", "1th"):
        assert code not in text, code
    assert "no early stop" in text


def test_coefficient_table_says_at_its_top_when_the_fit_did_not_converge(article_page):
    path, run = article_page
    page = Page(path.read_text(encoding="utf-8"))
    not_converged = [caption for caption in page.captions if caption.startswith("Did not converge")]
    assert len(not_converged) == 1
    assert "coefficients after 300 updates, not the least-squares answer" in not_converged[0]
    # How far the fit itself certifies them (its error_bound_, 41% here) ...
    assert f"The fit certifies them only to within {100 * run.model.error_bound_:,.0f}% (relative error; the " \
           "tolerance is 1e-06)." in not_converged[0]
    # ... and by how much they differ: the intercept, as computed here from the run and its exact
    # answer, on the scale of the least-squares answer's standard error (a table of standard errors
    # at coefficients that are not the answer would mislead, so there is none for them).
    differences = {"intercept": abs(run.intercept - run.optimum_intercept) / abs(run.optimum_intercept),
                   "x": abs(run.slope - run.optimum_slope) / abs(run.optimum_slope)}
    worst = max(differences, key=differences.get)
    summary = LinearRegression(solver="exact").fit(run.X, run.y).summary()
    std_err = dict(zip(summary.names, summary.std_err))[worst]
    ratio = abs(run.intercept - run.optimum_intercept) / std_err if worst == "intercept" else None
    assert worst == "intercept" and ratio > 1
    assert (f"The largest difference from the least-squares answer is {100 * differences[worst]:,.0f}% (intercept), "
            f"{ratio:.2g} times its standard error.") in not_converged[0]
    # The caption is the table's first element, so it stays with the table wherever it is shown.
    assert page.first_in_table.count("caption") == 1


def test_data_report_for_several_features(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 3))
    y = X @ [2.0, -1.0, 0.5] + 4.0 + 0.1 * rng.standard_normal(120)
    sweep = sweep_learning_rates(X, y, max_iter=100, problem="prices.csv")
    model = fit_run(X, y, sweep, sweep.auto_learning_rate)
    text = data_report(X, y, model, feature_names=["a", "b", "c"], target_name="price", source="prices.csv",
                       coordinates=("b", "c"), frames=4, sweep=sweep)
    page = check_self_contained(text)
    assert len(page.images) == 5 and list(page.sections) == list(SECTIONS)
    assert "Converged" in page.sections["verdict"] and sweep.run_at(sweep.auto_learning_rate).outcome == "converged"
    assert "standardized" in page.sections["bowl"] and "two parameters vary, b and c (" in page.sections["bowl"]
    certified = certificate(X, y, sweep, model)
    assert certified is sweep.run_at(sweep.auto_learning_rate).model and certified.converged_
    assert page.captions and page.captions[-1].startswith(
        f"Converged: after {model.n_iter_} updates every coefficient and the intercept are within "
        f"{certified.error_bound_:.2g} of the least-squares answer")
    assert "std err" in page.sections["coefficients"] and "P>|t|" in page.sections["coefficients"]
    for name in ("a", "b", "c"):
        assert f"\n{name}\n" in page.sections["coefficients"] or name in page.sections["coefficients"]
    with pytest.raises(ValueError, match="record_path=True"):
        data_report(X, y, LinearRegression(solver="gd", max_iter=50).fit(X, y))


def test_data_report_that_did_not_converge_offers_the_command(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 2)) @ [[1.0, 0.99], [0.0, 0.1]]  # correlated columns: κ ≈ 400
    y = X @ [1.0, -2.0] + 0.1 * rng.standard_normal(80)
    sweep = sweep_learning_rates(X, y, max_iter=30)
    model = fit_run(X, y, sweep, sweep.auto_learning_rate)
    text = data_report(X, y, model, sweep=sweep, frames=3, exact_command="gradfit fit my data.csv --target y")
    page = Page(text)
    assert sweep.run_at(sweep.auto_learning_rate).outcome == "max_iter"
    caption = page.captions[-1]
    assert caption.startswith("Did not converge: these are the coefficients after 30 updates")
    assert "run gradfit fit my data.csv --target y" in caption
    assert "<code>gradfit fit my data.csv --target y</code>" in text


# --- the commands ---------------------------------------------------------------------------------


def test_cli_report_on_the_article(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("report", "--seed", "1", "--max-iter", "200", "--frames", FRAMES,
                         "--out", tmp_path / "site", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["report"] == str(tmp_path / "site" / REPORT_NAME)
    assert payload["converged"] is False and payload["n_iter"] == 200
    check_self_contained(Path(payload["report"]).read_text(encoding="utf-8"))


def test_cli_report_on_a_csv(tmp_path, gradfit_cli):
    rng = np.random.default_rng(5)
    hours = rng.random(60) * 10
    score = 3 * hours - 4 + rng.normal(size=60)
    (tmp_path / "study.csv").write_text("hours,score\n" + "\n".join(f"{float(h)!r},{float(s)!r}" for h, s in zip(hours, score)))
    code, out, err = gradfit_cli("report", tmp_path / "study.csv", "--target", "score", "--frames", FRAMES,
                         "--learning-rates", "0.5,2.5", "--out", tmp_path)
    assert code == 0, err
    assert out.strip() == f"Report: {tmp_path / REPORT_NAME}"
    page = check_self_contained((tmp_path / REPORT_NAME).read_text(encoding="utf-8"))
    assert "hours" in page.sections["coefficients"] and "score" in page.sections["data"] + page.sections["bowl"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--surface", "a,b"], "--surface"), (["--target", "y"], "--target"), (["--frames", "1"], "--frames")],
)
def test_cli_report_usage_errors(tmp_path, gradfit_cli, args, fragment):
    code, out, err = gradfit_cli("report", *args, "--out", tmp_path)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / REPORT_NAME).exists()


def test_demo_report_flag(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("demo", "--seed", "0", "--iterations", "100", "--report", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["report"] == str(tmp_path / REPORT_NAME)
    # The report links to the explorer, so it is written beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.png", EXPLORER_NAME, "loss.png", REPORT_NAME]
    code, out, err = gradfit_cli("demo", "--seed", "0", "--iterations", "100", "--out", tmp_path / "plain")
    assert code == 0 and "Report:" not in out
    assert not (tmp_path / "plain" / REPORT_NAME).exists()


# --- in a real browser ----------------------------------------------------------------------------


def chromium_driver(user_data_dir: str):
    """Headless Chromium through chromedriver; skips with the reason when either is missing."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.skip(f"Chromium is not installed ({', '.join(missing)} missing; apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}", "--window-size=1100,1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_report_renders_in_headless_chromium(article_page, tmp_path):
    path, _ = article_page
    with tempfile.TemporaryDirectory(prefix="gradfit-chromium-") as profile:
        driver = chromium_driver(profile)
        try:
            driver.set_page_load_timeout(60)
            driver.get(path.resolve().as_uri())
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])"
            )
            text = driver.execute_script("return document.body.innerText")
            height = driver.execute_script("return document.documentElement.scrollHeight")
            screenshot = tmp_path / "report.png"
            assert driver.save_screenshot(str(screenshot))
        finally:
            driver.quit()
    assert len(images) == 5
    for complete, width, height_px, alt in images:
        assert complete and width > 0 and height_px > 0, (alt, width, height_px)
    assert len(text.split()) > 300 and "Did not converge" in text
    assert height > 3000  # the figures take their room: the page is not collapsed or blank
    from matplotlib.image import imread

    shot = imread(screenshot)[..., :3]
    assert shot.shape[0] > 500 and shot.std() > 0.05  # not a blank page


def test_cli_report_refuses_an_unknown_surface_coordinate_before_fitting(tmp_path, gradfit_cli):
    (tmp_path / "data.csv").write_text("a,b,y\n0,1,1\n1,0,3\n2,2,5\n3,1,6\n")
    code, out, err = gradfit_cli("report", tmp_path / "data.csv", "--target", "y", "--surface", "a,c", "--out", tmp_path)
    assert code == 2 and out == "" and "'c' is neither 'intercept' nor a feature (a, b)" in err, err
    assert not (tmp_path / REPORT_NAME).exists()


#: Window widths of the layout check: a laptop, and a narrow window (or a tablet held upright).
LAYOUT_WIDTHS = (1280, 800)

#: For every monospace box and every table: its width and content width, how it overflows, and whether
#: it sticks out of the page's main column (more than a pixel, for subpixel rounding).
BOX_CHECK = """
const column = document.querySelector('main').getBoundingClientRect();
const style = getComputedStyle(document.querySelector('main'));
const right = column.right - parseFloat(style.paddingRight) + 1;
return Array.from(document.querySelectorAll('pre, code, table')).map(box => {
  const scroller = box.tagName === 'TABLE' ? box.parentElement : box;
  return {tag: box.tagName, text: box.textContent.slice(0, 60), scroll: scroller.scrollWidth,
          client: scroller.clientWidth, overflow: getComputedStyle(scroller).overflowX,
          sticksOut: scroller.getBoundingClientRect().right > right};
});
"""


@pytest.fixture(scope="module")
def wide_csv_page(tmp_path_factory):
    """A CSV report with long unbroken names (a column, the file) and a fit that stops short, so that
    the page has a command box and wide tables."""
    folder = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(8)
    X = rng.standard_normal((50, 2)) @ [[1.0, 0.99], [0.0, 0.05]]
    y = X @ [1.0, -2.0] + 0.1 * rng.standard_normal(50)
    name = "measurement_from_the_second_instrument_after_calibration_in_millivolts"
    path = folder / ("a_data_file_with_a_rather_long_name_that_will_not_break_" * 2 + ".csv")
    path.write_text(f"short,{name},target\n" + "\n".join(f"{a!r},{b!r},{t!r}" for (a, b), t in zip(X.tolist(), y.tolist())))
    code = run_cli(["report", str(path), "--target", "target", "--max-iter", "20", "--frames", "3",
                    "--out", str(folder / "site")])
    assert code == 0
    return folder / "site" / REPORT_NAME


def test_no_box_is_cut_off_at_any_width(article_page, wide_csv_page, tmp_path):
    pages = {"article": article_page[0], "csv": wide_csv_page}
    assert "<code>" in wide_csv_page.read_text(encoding="utf-8")  # the command box is there to check
    with tempfile.TemporaryDirectory(prefix="gradfit-chromium-") as profile:
        driver = chromium_driver(profile)
        try:
            driver.set_page_load_timeout(60)
            for width in LAYOUT_WIDTHS:
                driver.set_window_size(width, 1000)
                for name, path in pages.items():
                    driver.get(path.resolve().as_uri())
                    page_width = driver.execute_script(
                        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                    boxes = driver.execute_script(BOX_CHECK)
                    height = driver.execute_script("return document.documentElement.scrollHeight")
                    driver.set_window_size(width, min(height + 200, 16000))
                    assert driver.save_screenshot(str(tmp_path / f"{name}-{width}.png"))
                    driver.set_window_size(width, 1000)
                    assert page_width[0] <= page_width[1], (name, width, page_width)  # no sideways scrolling
                    assert boxes and any(box["tag"] == "TABLE" for box in boxes)
                    for box in boxes:
                        # Every box fits its column; wider content wraps (pre, code) or scrolls inside its own
                        # box (a table's wrapper), never past the page's edge.
                        assert not box["sticksOut"], (name, width, box)
                        assert box["scroll"] <= box["client"] or box["overflow"] in ("auto", "scroll"), (name, width, box)
        finally:
            driver.quit()
    for shot in tmp_path.glob("*.png"):
        from matplotlib.image import imread

        assert imread(shot)[..., :3].std() > 0.05  # not a blank page


def test_cli_report_on_real_data_agrees_with_its_sweep(tmp_path, gradfit_cli):
    # Before: the report's run converged after 6,134 updates (the estimator's defaults) while its own
    # sweep said that 1/L "did not converge in 1,000 updates".
    from sklearn.datasets import load_diabetes

    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    code, out, err = gradfit_cli("report", tmp_path / "diabetes.csv", "--target", "target", "--frames", 3, "--json",
                         "--out", tmp_path / "site")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["converged"] is True and payload["message"] == f"converged in {payload['n_iter']:,} updates"
    page = Page(Path(payload["report"]).read_text(encoding="utf-8"))
    sweep = page.sections["sweep"]
    # The reported run is the sweep's 1/L row (its cells, joined without spaces): the same updates in
    # the same words.
    assert f"1/Ljust right{payload['message']}" in sweep
    assert f"After {payload['n_iter']:,} updates at learning rate 1/L" in " ".join(page.sections["verdict"].split())
    # The caption gives the error the estimator certifies where the run stopped (the JSON's too).
    assert payload["error_bound"] <= 1e-6
    assert page.captions[-1].startswith(f"Converged: after {payload['n_iter']:,} updates every coefficient and the "
                                        f"intercept are within {payload['error_bound']:.2g} of the least-squares answer")
    for regime in ("too small", "just right", "overshoots", "too large"):
        assert regime in sweep


def test_demo_sweep_and_report_count_alike(tmp_path, gradfit_cli):
    # One meaning of "converged" everywhere: the updates `gradfit demo` says α = 0.01 and 1/L need
    # (intercept and slope within 1e-6 of the exact answer) are the ones the sweep and the report give.
    code, out, err = gradfit_cli("demo", "--seed", "0", "--json", "--out", tmp_path / "demo")
    assert code == 0, err
    demo = json.loads(out)
    needed, needed_auto = demo["updates_needed"], demo["updates_needed_auto"]
    assert needed > 1000 > needed_auto
    code, out, err = gradfit_cli("demo", "--seed", "0", "--out", tmp_path / "demo-text")
    assert code == 0 and f"{needed:,} updates" in out and f"{needed_auto:,} updates" in out

    code, out, err = gradfit_cli("sweep", "--seed", "0", "--json", "--out", tmp_path / "sweep")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    article_row = next(run for run in runs if run["learning_rate"] == 0.01)
    auto_row = next(run for run in runs if run["factor"] == pytest.approx(1.0, rel=1e-12))
    assert article_row["outcome"] == "max_iter" and not article_row["needed_is_estimate"]
    assert article_row["updates_needed"] == needed
    assert auto_row["outcome"] == "converged" and auto_row["n_iter"] == needed_auto

    code, out, err = gradfit_cli("report", "--seed", "0", "--json", "--frames", FRAMES, "--out", tmp_path / "report")
    assert code == 0, err
    report = json.loads(out)
    assert report["converged"] is False and report["message"] == f"did not converge in 1,000 updates (needs {needed:,})"
    page = Page(Path(report["report"]).read_text(encoding="utf-8"))
    verdict = " ".join(page.sections["verdict"].split())
    assert f"at 0.01 it needs {needed:,} updates" in verdict
    assert f"at 1/L = {demo['auto_learning_rate']:.3g} it needs {needed_auto:,} updates" in verdict
    table = page.sections["sweep"]
    assert f"(needs {needed:,})" in table and f"converged in {needed_auto:,} updates" in table


def test_report_says_when_rounding_keeps_the_fit_from_the_tolerance():
    # Asked for 1e-14, gradient descent on the article's data stops at its rounding floor: the report
    # says so in words, and gives no inference table for coefficients that are not certified.
    from gradfit.datasets import make_article_data

    X, y = make_article_data(seed=0)
    sweep = sweep_learning_rates(X, y, tol=1e-14, max_iter=2000, standardize=False)  # raw, as the article
    run = sweep.run_at(sweep.auto_learning_rate)
    model = fit_run(X, y, sweep, sweep.auto_learning_rate)
    assert run.outcome == "floor" and run.model.status_ == "floor" and model.n_iter_ == run.n_iter
    page = Page(data_report(X, y, model, sweep=sweep, frames=3))
    assert page.captions[-1].startswith("Cannot converge to 1e-14: rounding stops gradient descent short of it. "
                                        f"These are the coefficients after {run.n_iter:,} updates")
    assert f"within {run.model.error_bound_:.2g} of it as the fit certifies them" in page.captions[-1]
    verdict = " ".join(page.sections["verdict"].split())
    assert "Not to this tolerance, and more updates would not help" in verdict
    assert f"stopped by rounding after {run.n_iter:,} updates" in " ".join(page.sections["sweep"].split())
    assert "P>|t|" not in page.sections["coefficients"] and "Did not converge" in page.sections["verdict"]
