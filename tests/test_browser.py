"""The report in a real headless Chromium: rows, sorting by a header click, images, no JS errors.

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
from helpers.cli import tuning_command
from helpers.stores import add_fit, tiny_store

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
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
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


def test_served_report_reloads_itself_when_fits_arrive(browser, store_url, tmp_path):
    copy = tmp_path / "live.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    with serving(url, tmp_path, "--refresh", "0.5") as base:
        page, problems = open_page(browser, base + "study/tiny/")
        assert page.locator("#live").is_visible()
        assert "6 fits" in page.inner_text("body")
        page.wait_for_timeout(1500)  # a few polls with nothing new: no reload
        assert "6 fits" in page.inner_text("body")
        add_fit(url, "tiny", 7)  # as a running study's worker would
        page.wait_for_function("document.body.innerText.includes('7 fits')", timeout=90_000)
        assert problems == []
        page.close()


def test_report_file_never_polls(browser, store_url, tmp_path):
    index = build_report("tiny", store_url, tmp_path / "report")
    page, problems = open_page(browser, index.as_uri())
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.wait_for_timeout(1000)
    assert not page.locator("#live").is_visible() and requests == [] and problems == []
    page.close()
