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
        self._section: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
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
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section is not None:
            self.sections[self._section] += data


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
    assert all(link.startswith("#") for link in page.links), page.links
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
    verdict = page.sections["verdict"]
    assert "Did NOT converge" in verdict and f"{run.updates_needed_auto} updates at α=1/L" in verdict
    assert "made all max_iter=300 updates" in verdict
    coefficients = page.sections["coefficients"]
    assert "intercept" in coefficients and "\nx" not in coefficients and "x0" not in coefficients
    assert f"{run.slope:.4g}" in coefficients and f"{run.intercept:.4g}" in coefficients
    sweep = page.sections["sweep"]
    assert "diverged at iteration" in sweep and "did not converge in 1,000 updates" in sweep
    assert "bowl" in page.sections["bowl"] and "downhill" in page.sections["bowl"]


def test_data_report_for_several_features(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 3))
    y = X @ [2.0, -1.0, 0.5] + 4.0 + 0.1 * rng.standard_normal(120)
    model = LinearRegression(record_path=True, max_iter=500).fit(X, y)
    text = data_report(X, y, model, feature_names=["a", "b", "c"], target_name="price", source="prices.csv",
                       coordinates=("b", "c"), frames=4, sweep_max_iter=100)
    page = check_self_contained(text)
    assert len(page.images) == 5 and list(page.sections) == list(SECTIONS)
    assert "Converged" in page.sections["verdict"]
    assert "standardized" in page.sections["bowl"] and "(b, c)" in page.sections["bowl"]
    for name in ("a", "b", "c"):
        assert f"\n{name}\n" in page.sections["coefficients"] or name in page.sections["coefficients"]
    with pytest.raises(ValueError, match="record_path=True"):
        data_report(X, y, LinearRegression(max_iter=50).fit(X, y))


# --- the commands ---------------------------------------------------------------------------------


def cli(capsys, *args):
    code = run_cli([str(arg) for arg in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_cli_report_on_the_article(tmp_path, capsys):
    code, out, err = cli(capsys, "report", "--seed", "1", "--max-iter", "200", "--frames", FRAMES,
                         "--out", tmp_path / "site", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["report"] == str(tmp_path / "site" / REPORT_NAME)
    assert payload["converged"] is False and payload["n_iter"] == 200
    check_self_contained(Path(payload["report"]).read_text(encoding="utf-8"))


def test_cli_report_on_a_csv(tmp_path, capsys):
    rng = np.random.default_rng(5)
    hours = rng.random(60) * 10
    score = 3 * hours - 4 + rng.normal(size=60)
    (tmp_path / "study.csv").write_text("hours,score\n" + "\n".join(f"{float(h)!r},{float(s)!r}" for h, s in zip(hours, score)))
    code, out, err = cli(capsys, "report", tmp_path / "study.csv", "--target", "score", "--frames", FRAMES,
                         "--learning-rates", "0.5,2.5", "--out", tmp_path)
    assert code == 0, err
    assert out.strip() == f"Report: {tmp_path / REPORT_NAME}"
    page = check_self_contained((tmp_path / REPORT_NAME).read_text(encoding="utf-8"))
    assert "hours" in page.sections["coefficients"] and "score" in page.sections["data"] + page.sections["bowl"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--surface", "a,b"], "--surface"), (["--target", "y"], "--target"), (["--frames", "1"], "--frames")],
)
def test_cli_report_usage_errors(tmp_path, capsys, args, fragment):
    code, out, err = cli(capsys, "report", *args, "--out", tmp_path)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / REPORT_NAME).exists()


def test_demo_report_flag(tmp_path, capsys):
    code, out, err = cli(capsys, "demo", "--seed", "0", "--iterations", "100", "--report", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["report"] == str(tmp_path / REPORT_NAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.png", "loss.png", REPORT_NAME]
    code, out, err = cli(capsys, "demo", "--seed", "0", "--iterations", "100", "--out", tmp_path / "plain")
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
    assert len(text.split()) > 300 and "Did NOT converge" in text
    assert height > 3000  # the figures take their room: the page is not collapsed or blank
    from matplotlib.image import imread

    shot = imread(screenshot)[..., :3]
    assert shot.shape[0] > 500 and shot.std() > 0.05  # not a blank page


def test_cli_report_refuses_an_unknown_surface_coordinate_before_fitting(tmp_path, capsys):
    (tmp_path / "data.csv").write_text("a,b,y\n0,1,1\n1,0,3\n2,2,5\n3,1,6\n")
    code, out, err = cli(capsys, "report", tmp_path / "data.csv", "--target", "y", "--surface", "a,c", "--out", tmp_path)
    assert code == 2 and out == "" and "'c' is neither 'intercept' nor a feature (a, b)" in err, err
    assert not (tmp_path / REPORT_NAME).exists()
