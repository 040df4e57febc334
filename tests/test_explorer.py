"""The explorer (``gradfit explore``): the page agrees with the library, its verdicts, its size and its silence on
the network, and a learner's hands on it in headless Chromium (Step, the slider, dragging the start, a shared link)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from gradfit import LinearRegression
from gradfit.datasets import make_article_data
from gradfit.explorer import EXPLORER_NAME, article_explorer, write_explorer
from gradfit.explorer.page import PAGE_BUDGET
from test_report import chromium_driver

#: The iterates the page computes must equal gradfit's to this, relatively, after 1,000 updates (the issue's
#: bound). They run the same float operations on the same doubles; gradient descent in the library makes its
#: updates in closed-form blocks (G's eigenbasis), which round differently, by a few ε times κ ≈ 19 per block.
AGREEMENT = 1e-12

#: The article's run after its 1000 updates at α = 0.01 from (1, 1), seed 0 (docs: θ ≈ (1.204, 1.681)).
ARTICLE_THETA = (1.204, 1.681)

#: Where the explorer writes its screenshots when GRADFIT_SCREENSHOTS is unset: the test's own folder.
WIDTHS = {"laptop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return write_explorer(article_explorer(seed=0), tmp_path_factory.mktemp("explorer"))


@pytest.fixture(scope="module")
def browser(page):
    with tempfile.TemporaryDirectory(prefix="gradfit-chromium-") as profile:
        driver = chromium_driver(profile)
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def open_page(driver, page: Path, fragment: str = "") -> None:
    driver.get("about:blank")  # a new document: a fragment alone would not reload the page
    driver.get(page.resolve().as_uri() + fragment)
    assert driver.execute_script("return typeof window.gradfitExplorer") == "object"


def control(driver, name: str):
    return driver.find_element("css selector", f'[data-control="{name}"]')


def readout(driver, name: str) -> str:
    return driver.find_element("css selector", f'[data-readout="{name}"]').text


def library_run(*, learning_rate, momentum=0.0, method="heavy-ball", updates=1000, start=(1.0, 1.0), standardize=False):
    X, y = make_article_data(seed=0)
    solver = "gd" if momentum == 0 else ("nesterov" if method == "nesterov" else "momentum")
    extra = {} if solver == "gd" else {"momentum": momentum}
    model = LinearRegression(solver=solver, learning_rate=learning_rate, max_iter=updates, tol=0, standardize=standardize, **extra)
    model.fit(X, y, coef_init=[start[1]], intercept_init=start[0])
    return np.array([model.intercept_, model.coef_[0]]), model.loss_history_


# --- the page as a file ----------------------------------------------------------------------------


def test_page_is_one_small_file_that_allows_only_its_own_script_and_style(page):
    text = page.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < PAGE_BUDGET
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text).group(1)
    assert policy.startswith("default-src 'none'") and "unsafe" not in policy
    script = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    style = re.findall(r"<style>(.*?)</style>", text, flags=re.S)
    assert len(script) == 1 and len(style) == 1
    for source in (script[0], style[0]):
        digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in policy
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "nothing may come from the network"
    assert ' style="' not in text  # inline style attributes would need 'unsafe-inline'


def test_cli_explore_writes_the_page_and_never_overwrites_without_force(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("explore", "--out", tmp_path / "out")
    assert code == 0 and "explorer.html" in out, err
    code, _, err = gradfit_cli("explore", "--out", tmp_path / "out")
    assert code == 2 and "--force" in err
    assert gradfit_cli("explore", "--out", tmp_path / "out", "--force").code == 0
    data = tmp_path / "data.csv"
    data.write_text("a,b,y\n1,2,3\n2,3,5\n3,5,7\n4,4,9\n5,7,11\n")
    code, _, err = gradfit_cli("explore", data, "--target", "y", "--out", tmp_path / "csv")
    assert code == 2 and "--feature" in err and "a, b" in err
    code, out, err = gradfit_cli("explore", data, "--target", "y", "--feature", "b", "--out", tmp_path / "csv")
    assert code == 0, err
    assert "np.loadtxt" in (tmp_path / "csv" / EXPLORER_NAME).read_text()


def test_demo_explore_and_the_report_link_to_it(tmp_path, gradfit_cli):
    code, out, err = gradfit_cli("demo", "--seed", "0", "--max-iter", "50", "--explore", "--out", tmp_path / "demo")
    assert code == 0 and (tmp_path / "demo" / EXPLORER_NAME).is_file(), err
    code, out, err = gradfit_cli("report", "--seed", "0", "--max-iter", "50", "--frames", "2", "--out", tmp_path / "report")
    assert code == 0, err
    report = (tmp_path / "report" / "report.html").read_text()
    assert f'<a href="{EXPLORER_NAME}">' in report and (tmp_path / "report" / EXPLORER_NAME).is_file()


def test_a_report_on_one_feature_of_a_csv_links_its_explorer(tmp_path, gradfit_cli):
    from problems import write_csv

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, size=80)
    write_csv(tmp_path / "one.csv", ["size", "price"], np.column_stack([x, 3 * x + 2 + rng.normal(size=80)]))
    write_csv(tmp_path / "two.csv", ["size", "age", "price"], np.column_stack([x, x**2, 3 * x + 2]))
    code, _, err = gradfit_cli("report", "one.csv", "--target", "price", "--frames", "2", "--out", "one")
    assert code == 0, err
    assert f'<a href="{EXPLORER_NAME}">' in (tmp_path / "one" / "report.html").read_text()
    assert "size" in (tmp_path / "one" / EXPLORER_NAME).read_text()
    # Two features have no plane to drive in: no explorer, no link.
    code, _, err = gradfit_cli("report", "two.csv", "--target", "price", "--frames", "2", "--out", "two")
    assert code == 0, err
    assert not (tmp_path / "two" / EXPLORER_NAME).exists()
    assert EXPLORER_NAME not in (tmp_path / "two" / "report.html").read_text()
    # An explorer already there is not replaced without --force, and nothing is written.
    (tmp_path / "one" / "report.html").unlink()
    code, _, err = gradfit_cli("report", "one.csv", "--target", "price", "--frames", "2", "--out", "one")
    assert code == 2 and "--force" in err and not (tmp_path / "one" / "report.html").exists()


# --- in a real browser -----------------------------------------------------------------------------


def test_the_article_settings_reproduce_the_library_to_1e_12(browser, page):
    open_page(browser, page)
    cases = [
        {"learning_rate": 0.01},
        {"learning_rate": 0.3, "momentum": 0.6},
        {"learning_rate": 0.3, "momentum": 0.6, "method": "nesterov"},
        {"learning_rate": 0.05, "standardize": True},
        {"learning_rate": 0.2, "momentum": 0.8, "standardize": True},
        {"learning_rate": 0.2, "momentum": 0.8, "method": "nesterov", "standardize": True, "start": (-3.0, 5.0)},
    ]
    worst = 0.0
    for case in cases:
        settings = {"momentum": 0.0, "method": "heavy-ball", "updates": 1000, "start": (1.0, 1.0), "standardize": False, **case}
        shown = browser.execute_script("return window.gradfitExplorer.run(arguments[0])", {**settings, "start": list(settings["start"])})
        theta, losses = library_run(**settings)
        difference = float(np.max(np.abs(np.array(shown["theta"]) - theta) / np.abs(theta)))
        worst = max(worst, difference)
        assert difference <= AGREEMENT, (case, shown["theta"], theta)
        assert len(shown["costs"]) == len(losses) == 1000
        # The costs: the same J(θ) from the same sums; gd's closed-form blocks round their own way.
        np.testing.assert_allclose(shown["costs"], losses, rtol=1e-11)
    print(f"worst relative difference from gradfit over {len(cases)} runs: {worst:.2g}")
    article = browser.execute_script("return window.gradfitExplorer.state()")
    assert np.allclose(article["theta"], ARTICLE_THETA, atol=5e-4) and article["iteration"] == 1000
    assert readout(browser, "intercept") == "1.20409" and readout(browser, "slope") == "1.68135"
    assert float(browser.find_element("css selector", '[data-readout="intercept"]').get_attribute("data-value")) == pytest.approx(
        library_run(learning_rate=0.01)[0][0], rel=AGREEMENT)


def test_verdicts_below_at_and_past_the_stable_bound(browser, page):
    open_page(browser, page)
    assert browser.execute_script("return window.gradfitExplorer.verdict") == "too-slow"  # the article: 0.01, 1000 updates
    assert "18,923 updates" in browser.find_element("id", "verdict-text").text  # as gradfit report counts them
    browser.find_element("id", "mark-1").click()
    assert browser.execute_script("return window.gradfitExplorer.verdict") == "converging"
    assert readout(browser, "verdict") == "Converging" and "= 1/L" in browser.find_element("id", "rate-text").text
    slider = control(browser, "learning-rate")
    from selenium.webdriver.common.keys import Keys

    slider.send_keys(Keys.END)  # the slider's far right: 4/L
    assert browser.execute_script("return window.gradfitExplorer.verdict") == "diverging"
    words = browser.find_element("id", "verdict-text").text
    assert readout(browser, "verdict") == "Diverging" and "past the stable bound 2/L" in words and "At update" in words
    # Just below 2/L the top direction swings back and forth and settles too slowly for 1,000 updates.
    lipschitz = browser.execute_script("return window.gradfitExplorer.lipschitz(false)")
    swinging = browser.execute_script("return window.gradfitExplorer.run(arguments[0])",
                                      {"learning_rate": 1.995 / lipschitz, "updates": 1000})
    assert swinging["verdict"] == "oscillating" and swinging["updates_needed"] > 1000


def test_step_three_times_grows_the_count_and_the_path_by_three(browser, page):
    open_page(browser, page)
    control(browser, "reset").click()
    before = browser.execute_script("return window.gradfitExplorer.state()")
    path = browser.find_element("css selector", "#map polyline.path")
    points_before = int(path.get_attribute("data-points"))
    for _ in range(3):
        control(browser, "step").click()
    after = browser.execute_script("return window.gradfitExplorer.state()")
    assert after["iteration"] == before["iteration"] + 3 == 3
    assert len(after["path"]) == len(before["path"]) + 3
    assert int(path.get_attribute("data-points")) == points_before + 3
    assert readout(browser, "iteration").startswith("3 of")


def test_dragging_the_start_point_restarts_the_path_there(browser, page):
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, page)
    handle = browser.find_element("css selector", '#map [data-control="start"]')
    ActionChains(browser).click_and_hold(handle).move_by_offset(60, -40).move_by_offset(20, -10).release().perform()
    state = browser.execute_script("return window.gradfitExplorer.state()")
    start = state["settings"]["start"]
    assert start[0] > 1.05 and start[1] > 1.05  # moved right (intercept) and up (slope)
    assert state["path"][0] == pytest.approx(start, rel=1e-12) and state["iteration"] == 1000
    theta, _ = library_run(learning_rate=0.01, start=tuple(start))
    assert np.allclose(state["theta"], theta, rtol=AGREEMENT, atol=0)
    assert f"start={start[0]},{start[1]}" in browser.execute_script("return window.location.hash")


def test_a_link_with_a_fragment_restores_the_view(browser, page):
    fragment = "#rate=0.4&momentum=0.5&method=nesterov&updates=300&start=0,3&coordinates=standardized&at=40"
    open_page(browser, page, fragment)
    state = browser.execute_script("return window.gradfitExplorer.state()")
    assert state["settings"] == {"learning_rate": 0.4, "momentum": 0.5, "method": "nesterov", "updates": 300,
                                 "start": [0, 3], "standardize": True}
    assert state["iteration"] == 40 and len(state["path"]) == 41
    assert control(browser, "standardize").is_selected() and control(browser, "updates").get_attribute("value") == "300"
    assert control(browser, "momentum").get_attribute("value") == "0.5"
    assert browser.find_element("id", "method").get_attribute("value") == "nesterov"
    assert readout(browser, "iteration").startswith("40 of 300")


def test_the_page_asks_nothing_of_the_network(browser, page):
    open_page(browser, page)
    control(browser, "play").click()
    control(browser, "play").click()
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors  # a Content-Security-Policy violation would be one


def test_screenshots_at_a_learners_and_a_phones_width(browser, page, tmp_path):
    """No control overlaps another and nothing is wider than the window; the screenshots are kept to look at."""
    folder = Path(tempfile.gettempdir()) / "gradfit-explorer-screenshots"
    folder.mkdir(exist_ok=True)
    for name, width in WIDTHS.items():
        browser.set_window_size(width, 1400)
        open_page(browser, page)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        boxes = browser.execute_script(
            "return Array.from(document.querySelectorAll('input, select, button, [data-readout]')).map(e => {"
            "const r = e.getBoundingClientRect(); return [e.id || e.dataset.control || e.dataset.readout, r.left, r.top, r.right, r.bottom]; })")
        for i, (first, *a) in enumerate(boxes):
            assert a[2] <= width + 0.5, (name, first, a)
            for second, *b in boxes[i + 1:]:
                apart = a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5 or a[3] <= b[1] + 0.5 or b[3] <= a[1] + 0.5
                assert apart, (name, first, second, a, b)
        shot = folder / f"explorer-{name}.png"
        browser.set_window_size(width, browser.execute_script("return document.documentElement.scrollHeight") + 150)
        assert browser.save_screenshot(str(shot))
        shutil.copy(shot, tmp_path / shot.name)
    browser.set_window_size(1100, 1400)
