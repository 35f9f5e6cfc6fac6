"""The HTML report and the report server, on a real tiny study (3 configs × 2 seeds, ~30 s once).

The study is run once per test session and its SQLite file copied per module, so tests that
rename or add to a store never disturb another module.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers.cli import run_tuning, tuning_command
from helpers.stores import PNG, add_fit, tiny_store

from tuning.report import build_report
from tuning.store import Store

pytestmark = pytest.mark.slow

XSS = "<script>alert(1)</script>"
@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    copy = tmp_path_factory.mktemp("report") / "store.db"
    shutil.copy(tiny_store(tmp_path_factory), copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="module")
def page(store_url, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("built")
    index = build_report("tiny", store_url, out)
    return out, index.read_text(encoding="utf-8")


def table_rows(html: str, table_id: str) -> list[str]:
    table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return re.findall(r"<tr>.*?</tr>", body, re.S)


def rename_study(url: str, old: str, new: str) -> None:
    """Give a stored study another name in our tables and Optuna's (a name nobody would type)."""
    with Store(url, create=False).engine.begin() as conn:
        conn.execute(sa.text("UPDATE tuning_studies SET name = :new WHERE name = :old"), {"new": new, "old": old})
        conn.execute(sa.text("UPDATE tuning_fits SET study = :new WHERE study = :old"), {"new": new, "old": old})
        conn.execute(sa.text("UPDATE studies SET study_name = :new WHERE study_name = :old"), {"new": new, "old": old})


def test_report_writes_page_and_exports(page):
    out, _ = page
    for name in ("index.html", "summary.csv", "summary.json", "marginals.csv", "fits.json", "curves.csv"):
        assert (out / name).is_file(), name


def test_report_has_one_row_per_config_and_the_sections(page):
    _, html = page
    assert len(table_rows(html, "summary")) == 3
    assert len(table_rows(html, "marginals")) == 3  # units = 1, 2, 3
    for text in ("Best config", "95 % CI", "Naive baseline", "Optimisation history", "Parameter importance",
                 "only one searched parameter", "No failed trials or fits", "metric: val_loss"):
        assert text in html, text
    assert 'class="badge tie"' in html
    assert re.search(r'title="[^"]*mean of 2 seeds[^"]*"><span class="badge diag-', html)  # evidence as tooltip
    # issue 12: the reading at the top, and its columns
    verdict = re.search(r'<ul id="verdict">(.*?)</ul>', html, re.S).group(1)
    assert verdict.index("could be the best:") < verdict.index("simplest config equivalent to the best")
    assert "seeds needed: to separate trial" in verdict and "the default" in verdict
    assert html.index('id="verdict"') < html.index('id="summary"')
    for header in ("could be best", "P(best)", "paired", "seed corr", "equivalent", "weights", "diverged",
                   "aggregate (mean)", "its 95 % interval"):
        assert f"<th>{header}</th>" in html, header


def test_report_margin_overrides_the_default_and_names_the_command(store_url, tmp_path):
    html = build_report("tiny", store_url, tmp_path, margin="50%").read_text(encoding="utf-8")
    verdict = re.search(r'<ul id="verdict">(.*?)</ul>', html, re.S).group(1)
    assert "50 % of the best&#39;s aggregate" in verdict and "the default" not in verdict
    assert re.search(r"seeds needed: .*`tuning resume tiny --repeats \d+ --storage sqlite:///", verdict), verdict


def test_report_is_self_contained(page):
    _, html = page
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(sources) >= 4
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from the network
    assert "<style>" in html and "<script>" in html


def test_user_text_is_escaped(store_url, tmp_path):
    copy = tmp_path / "xss.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    rename_study(url, "tiny", XSS)
    add_fit(url, XSS, 9, status="failed", scores={}, error='<img src=x onerror="alert(2)">')
    html = build_report(XSS, url, tmp_path / "out").read_text(encoding="utf-8")
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
    assert html.count("<script") == 1  # only the page's own sorting script


def test_report_command(store_url, tmp_path):
    done = run_tuning("report", "tiny", "--storage", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports" / "tiny" / "index.html").is_file()
    assert (tmp_path / "reports" / "tiny" / "summary.csv").is_file()
    missing = run_tuning("report", "nope", "--storage", store_url, cwd=tmp_path)
    assert missing.returncode == 2 and "no study named 'nope'" in missing.stderr


def test_dashboard_serves_the_study_from_the_same_store(store_url, tmp_path):
    import socket

    with socket.socket() as probe:  # a free port for the dashboard
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*tuning_command(), "dashboard", "tiny", "--storage", store_url, "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                status, body = get(f"http://127.0.0.1:{port}/api/studies")
                break
            except OSError:
                assert time.monotonic() < deadline, "optuna-dashboard did not start"
                time.sleep(0.5)
        assert status == 200 and '"tiny"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    missing = run_tuning("dashboard", "ghost", "--storage", store_url, cwd=tmp_path)
    assert missing.returncode == 2 and "no study named 'ghost'" in missing.stderr


def test_report_never_imports_tensorflow(store_url, tmp_path):
    code = (f"import sys; from tuning.report import build_report; build_report('tiny', {store_url!r}, {str(tmp_path)!r});"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_serve_rebuilds_when_the_study_has_new_fits(store_url, tmp_path):
    from tuning.report.serve import make_server, server_url

    copy = tmp_path / "live.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    rename_study(url, "tiny", "a/b c")  # a name that needs URL quoting
    server, cache = make_server(url, port=0, cache_dir=tmp_path / "cache")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = server_url(server)
        assert base.startswith("http://127.0.0.1:")
        status, index = get(base)
        assert status == 200 and 'href="/study/a%2Fb%20c/"' in index
        status, html = get(base + "study/a%2Fb%20c/")
        assert status == 200 and "6 fits" in html and cache.builds == 1
        assert get(base + "study/a%2Fb%20c/")[0] == 200 and cache.builds == 1  # unchanged: not rebuilt
        assert '<meta name="tuning-live" content="5">' in html  # the served page polls ...
        live = json.loads(get(base + "study/a%2Fb%20c/live.json")[1])
        assert live["built"] == live["current"]
        add_fit(url, "a/b c", 7)
        live = json.loads(get(base + "study/a%2Fb%20c/live.json")[1])  # ... and sees the new fit
        assert live["built"] != live["current"] and cache.builds == 1  # asking never builds
        status, html = get(base + "study/a%2Fb%20c/")
        assert status == 200 and "7 fits" in html and cache.builds == 2
        assert get(base + "study/a%2Fb%20c/summary.csv")[0] == 200
        assert get(base + "study/nope/")[0] == 404
        assert get(base + "study/a%2Fb%20c/..%2F..%2Fstore.db")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
