"""The report in a real headless Chromium: rows, sorting, the interactive plots (hover a seed dot,
zoom, log scale, toggle a seed), the config pages, the compare view, live updates, no JS errors.

This drives Debian's ``/usr/bin/chromium`` through Playwright's Python package; Playwright's own
browser download is never used (the machine has no network beyond package registries). A missing
browser fails the test with the fix in the message instead of skipping: a skipped browser test
in CI would look green while testing nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.cli import start_tuning_and_wait_for_fits, tuning_command
from helpers.stores import add_fit, rename_study, tiny_store

from tuning.report import build_report

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    copy = tmp_path_factory.mktemp("browser") / "store.db"
    shutil.copy(tiny_store(tmp_path_factory), copy)
    return f"sqlite:///{copy}"


@contextmanager
def serving(store_url: str, cwd: Path, *options: str) -> Iterator[str]:
    """``tuning serve --port 0`` in a subprocess; yields its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([*tuning_command(), "serve", "--port", "0", "--storage", store_url, *options], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"no URL printed: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield found.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def live_copy(store_url, tmp_path) -> Iterator[tuple[str, str]]:
    """A copy of the tiny study's store that a test may add fits to, served with a fast refresh:
    (its URL, the server's)."""
    copy = tmp_path / "live.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    with serving(f"sqlite:///{copy}", tmp_path, "--refresh", "0.5") as base:
        yield f"sqlite:///{copy}", base


@pytest.fixture
def server(store_url, tmp_path):
    with serving(store_url, tmp_path) as url:
        yield url


def open_page(browser, url: str):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url)
    return page, problems


def column(page, header: str) -> list[str]:
    """The cells under ``header`` of the summary table, in display order."""
    index = page.locator("#summary thead th").all_inner_texts().index(header)
    return page.eval_on_selector_all(
        "#summary tbody tr", f"rows => rows.map(r => r.cells[{index}].getAttribute('data-sort') || r.cells[{index}].textContent)")


def check_report(page, problems: list[str]) -> None:
    assert page.locator("#summary tbody tr").count() == 3
    page.wait_for_selector("#plot-history .main-svg")  # Plotly loaded from beside the page and drew
    ranked = column(page, "config")
    page.locator("#summary thead th", has_text="mean").first.click()
    ascending = [float(x) for x in column(page, "mean")]
    assert ascending == sorted(ascending)
    page.locator("#summary thead th", has_text="mean").first.click()
    descending = [float(x) for x in column(page, "mean")]
    assert descending == sorted(descending, reverse=True)
    assert column(page, "config") != ranked  # the rows moved
    page.locator("#summary thead th", has_text="config").first.click()
    assert column(page, "config") == sorted(ranked)  # text sort
    assert problems == []


def test_served_report_in_chromium(browser, server):
    page, problems = open_page(browser, server)
    page.get_by_role("link", name="tiny").click()
    page.wait_for_url("**/study/tiny/")
    assert page.title() == "tuning report: tiny"
    check_report(page, problems)
    page.close()


def test_report_file_works_offline(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    check_report(page, problems)
    page.close()


def dots(page) -> int:
    """How many seed dots the optimisation history draws (its first trace)."""
    return page.evaluate("document.getElementById('plot-history').data[0].x.length")


def test_served_report_gains_a_new_fit_without_a_reload(browser, live_copy):
    url, base = live_copy
    page, problems = open_page(browser, base + "study/tiny/")
    page.wait_for_selector("#plot-history .main-svg")
    assert page.locator("#live").is_visible()
    assert "6 fits" in page.inner_text("#meta") and dots(page) == 6
    page.evaluate("window.sameDocument = true")  # gone if the page reloaded
    page.wait_for_timeout(1500)  # a few polls with nothing new: nothing redrawn
    assert page.evaluate("window.tuningUpdates || 0") == 0
    add_fit(url, "tiny", 7)  # as a running study's worker would
    page.wait_for_function("document.getElementById('plot-history').data[0].x.length === 7", timeout=90_000)
    assert page.evaluate("window.sameDocument") is True and "7 fits" in page.inner_text("#meta")
    seeds = page.evaluate("document.getElementById('plot-history').data[0].customdata.map(d => d[0])")
    assert 7 in seeds
    assert problems == []
    page.close()


def test_served_config_page_gains_the_new_seed_without_a_reload(browser, live_copy):
    from tuning.report._data import page_name
    from tuning.store import Store

    url, base = live_copy
    key = next(Store(url, create=False).fit_rows("tiny"))["config_key"]  # the config add_fit extends
    page, problems = open_page(browser, base + f"study/tiny/configs/{page_name(key)}")
    page.wait_for_selector("#plot-curves .main-svg")
    assert page.locator("#seed-toggles input").count() == 2
    page.evaluate("window.sameDocument = true")
    add_fit(url, "tiny", 8)
    page.wait_for_function("document.querySelectorAll('#seed-toggles input').length === 3", timeout=90_000)
    assert page.evaluate("window.sameDocument") is True
    assert page.locator("#fits tbody tr").count() == 3 and "8" in page.locator("#fits tbody").inner_text()
    assert problems == []
    page.close()


def test_a_sorted_configs_table_stays_sorted_when_a_new_fit_arrives(browser, live_copy):
    url, base = live_copy
    page, problems = open_page(browser, base + "study/tiny/")
    page.wait_for_selector("#plot-history .main-svg")
    ranked = column(page, "units")
    header = page.locator("#summary thead th", has_text="units").first
    header.click()  # ascending: not the rank order (more units fit this study better)
    ascending = column(page, "units")
    assert ascending == sorted(ascending, key=float) and ascending != ranked
    add_fit(url, "tiny", 8)
    page.wait_for_function("(window.tuningUpdates || 0) >= 1", timeout=90_000)
    assert column(page, "units") == ascending and header.get_attribute("aria-sort") == "ascending"
    assert problems == []
    page.close()


def test_served_report_follows_a_running_study(browser, tiny_spec, tmp_path):
    """A real `tuning run` writes fits while `tuning serve` serves its store: dots arrive, no reload."""
    spec, db = tiny_spec(name="running", epochs=60, runner="sequential")
    proc = start_tuning_and_wait_for_fits(spec, db, tmp_path, 1)
    try:
        with serving(f"sqlite:///{db}", tmp_path, "--refresh", "0.5") as base:
            page, problems = open_page(browser, base + "study/running/")
            page.wait_for_selector("#plot-history .main-svg")
            first = dots(page)
            assert first < 6, "the study finished before the page opened: nothing left to watch"
            page.evaluate("window.sameDocument = true")
            page.wait_for_function(f"document.getElementById('plot-history').data[0].x.length > {first}",
                                   timeout=240_000)
            assert page.evaluate("window.sameDocument") is True and page.evaluate("window.tuningUpdates") >= 1
            assert problems == []
            page.close()
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_report_file_never_polls(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.wait_for_timeout(1000)
    assert not page.locator("#live").is_visible() and requests == [] and problems == []
    page.close()


def point_on_screen(page, plot: str, trace: int, index: int) -> tuple[float, float]:
    """Where Plotly drew point ``index`` of trace ``trace`` of ``plot``, in page pixels."""
    return tuple(page.evaluate("""([id, t, i]) => {
        const gd = document.getElementById(id), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const box = gd.getBoundingClientRect(), trace = gd._fullData[t];
        return [box.left + xa._offset + xa.l2p(xa.d2l(trace.x[i])), box.top + ya._offset + ya.l2p(ya.d2l(trace.y[i]))];
    }""", [plot, trace, index]))


def test_hover_a_seed_dot_and_zoom(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    page.wait_for_selector("#plot-history .main-svg")
    page.locator("#plot-history").scroll_into_view_if_needed()
    seed, score, seconds, name = page.evaluate("""(() => { const d = document.getElementById('plot-history').data[0];
        return [d.customdata[0][0], d.y[0], d.customdata[0][2], d.customdata[0][3]]; })()""")
    x, y = point_on_screen(page, "plot-history", 0, 0)
    page.mouse.move(x, y)
    tip = page.locator("#plot-history .hoverlayer .hovertext").first
    tip.wait_for()
    text = tip.text_content()
    assert f"seed {seed}: {float(f'{score:.4g}'):g}" in text, text
    assert f"fit {seconds} s" in text and name.split(" (")[0] in text
    before = page.evaluate("document.getElementById('plot-history')._fullLayout.xaxis.range.slice()")
    box = page.locator("#plot-history .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.7 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function(f"document.getElementById('plot-history')._fullLayout.xaxis.range[1] < {before[1]}")
    after = page.evaluate("document.getElementById('plot-history')._fullLayout.xaxis.range.slice()")
    assert after[1] - after[0] < 0.5 * (before[1] - before[0])  # zoomed in on the dragged box
    assert problems == []
    page.close()


def test_hostile_text_is_shown_never_run(browser, store_url, tmp_path):
    """A study named like a script and an error holding markup, on every page and in the tooltips."""
    copy = tmp_path / "xss.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    name = "<script>alert(1)</script><b>x</b>"
    rename_study(url, "tiny", name)
    add_fit(url, name, 9, status="failed", scores={}, error='<img src=x onerror="alert(2)">')
    index = build_report(name, url, tmp_path / "report")
    dialogs: list[str] = []
    shown: list[str] = []
    for target in [index, *sorted((index.parent / "configs").glob("*.html"))]:
        page, problems = open_page(browser, target.as_uri())
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector(".js-plotly-plot .main-svg")
        assert name in page.inner_text("body") or target != index
        assert page.locator("b", has_text="x").count() == 0 and page.locator("img[src=x]").count() == 0
        page.wait_for_timeout(300)
        shown.append(page.inner_text("body"))
        assert problems == []
        page.close()
    assert dialogs == []
    assert any('<img src=x onerror="alert(2)">' in text for text in shown[1:])  # the error, as text, on its config's page


def test_pruned_fits_are_marked_on_the_history(browser, store_url, tmp_path):
    copy = tmp_path / "pruned.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    add_fit(f"sqlite:///{copy}", "tiny", 5, status="pruned")  # as the pruner stores a fit it stopped
    index = build_report("tiny", f"sqlite:///{copy}", tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    page.wait_for_selector("#plot-history .main-svg")
    names = page.evaluate("document.getElementById('plot-history').data.map(t => t.name)")
    assert "pruned fit (stopped early)" in names
    cut = page.evaluate("document.getElementById('plot-history').data.find(t => (t.name || '').startsWith('pruned')).customdata")
    assert [row[1] for row in cut] == [5]
    assert problems == []
    page.close()


def test_config_page_log_scale_and_seed_toggles(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    row = page.locator("#summary tbody tr").first
    target = row.locator("a").get_attribute("href")
    row.locator("td").first.click()  # a click on the row (its rank), not its link, opens the config's page
    page.wait_for_url(f"**/{target}")
    page.wait_for_selector("#plot-curves .main-svg")
    assert page.locator("h1").inner_text().startswith("trial ")
    assert page.evaluate("document.getElementById('plot-curves')._fullLayout.yaxis.type") == "linear"
    page.locator("#log-scale").check()
    page.wait_for_function("document.getElementById('plot-curves')._fullLayout.yaxis.type === 'log'")
    lines = "document.querySelectorAll('#plot-curves .scatterlayer .trace').length"
    shown = page.evaluate(lines)
    assert shown == 4  # 2 seeds x (train, val)
    first = page.locator("#seed-toggles input").first
    seed = int(first.get_attribute("data-seed"))
    first.uncheck()
    page.wait_for_function(f"{lines} === 2")
    hidden = page.evaluate(f"document.getElementById('plot-curves').data.filter(t => t.meta === {seed}).map(t => t.visible)")
    assert hidden == ["legendonly", "legendonly"]
    first.check()
    page.wait_for_function(f"{lines} === 4")
    assert "tuning export tiny --config " in page.locator("#export-command").inner_text()
    assert problems == []
    page.close()


def test_compare_view(browser, store_url, tmp_path):
    from scipy import stats

    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    page.locator("#compare").scroll_into_view_if_needed()
    page.wait_for_selector("#plot-compare .main-svg")
    keys = page.eval_on_selector_all("#compare-a option", "os => os.map(o => o.value)")
    assert len(keys) == 3
    page.select_option("#compare-a", keys[2])
    page.select_option("#compare-b", keys[0])
    verdict = page.locator("#compare-verdict").inner_text()
    assert "paired t over 2 shared seeds" in verdict and "p = " in verdict, verdict
    assert page.locator("#compare-table tbody tr").count() == 2
    assert page.evaluate("document.getElementById('plot-compare').data[0].y.length") == 2
    for t, df in ((0.5, 1), (2.3, 4), (-3.1, 9), (12.0, 2)):  # the page's Student t against SciPy's
        assert page.evaluate(f"window.tuningStudentP({t}, {df})") == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-6)
    page.select_option("#compare-b", keys[2])
    assert "the same config twice" in page.locator("#compare-verdict").inner_text()
    assert problems == []
    page.close()


def test_compare_view_opens_from_a_link(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    keys = page.evaluate("JSON.parse(document.getElementById('page-data').textContent).configs.map(c => c.key)")
    page.goto(index.as_uri() + f"#compare={keys[1]},{keys[2]}")
    page.reload()
    page.wait_for_selector("#plot-compare .main-svg")
    assert page.input_value("#compare-a") == keys[1] and page.input_value("#compare-b") == keys[2]
    assert problems == []
    page.close()


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory) -> Path:
    """The benchmark's synthetic study at 40 trials x 4 seeds x 30 epochs (4 searched axes, a log
    one, failed fits): the configs table a real search makes."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import report as bench
    finally:
        sys.path.pop(0)
    folder = tmp_path_factory.mktemp("wide")
    name = bench.generate(folder / "wide.db", 40, 4, 30)
    return build_report(name, f"sqlite:///{folder / 'wide.db'}", folder / "report")


def test_the_configs_table_fits_1280_px_and_every_plot_draws(browser, wide_report):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(wide_report.as_uri())
    page.wait_for_selector("#plot-history .main-svg")
    page.locator("#summary").scroll_into_view_if_needed()  # laid out once on screen (content-visibility)
    page.wait_for_timeout(200)
    width = "(() => { const s = document.querySelector('#summary').parentElement; return [s.scrollWidth, s.clientWidth]; })()"
    scroll, client = page.evaluate(width)
    assert scroll <= client and client > 1000, (scroll, client)  # no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.locator("#all-columns").check()  # every column one click away (this one may scroll)
    assert page.locator("#summary th", has_text="seed corr").is_visible()
    for plot in ("plot-slices", "plot-parallel", "plot-importance"):
        page.locator(f"#{plot}").scroll_into_view_if_needed()
        page.wait_for_selector(f"#{plot} .main-svg")
    assert page.locator("#plot-slices .js-plotly-plot").count() == 4
    # each slice drawn as wide as its own grid cell, none under its neighbour (the first one was drawn
    # while alone in the grid, twice as wide, and half hidden)
    sizes = page.evaluate("[0, 1, 2, 3].map(i => { const d = document.getElementById('plot-slice-' + i); "
                          "return [d._fullLayout.width, d.getBoundingClientRect().width]; })")
    assert all(abs(drawn - cell) <= 2 for drawn, cell in sizes), sizes
    assert page.evaluate("document.getElementById('plot-slice-2')._fullLayout.xaxis.type") in ("log", "category", "linear")
    log_axis = page.evaluate("JSON.parse(document.getElementById('page-data').textContent).params.findIndex(p => p.log)")
    assert page.evaluate(f"document.getElementById('plot-slice-{log_axis}')._fullLayout.xaxis.type") == "log"
    sentence = page.locator("#variance-sentence").inner_text()
    assert sentence.startswith("seed noise explains ") and "learning_rate" in sentence
    assert problems == []
    page.close()
