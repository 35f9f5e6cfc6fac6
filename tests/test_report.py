"""The HTML report and the report server, on a real tiny study (3 configs × 2 seeds, ~30 s once).

The study is run once per test session and its SQLite file copied per module, so tests that
rename or add to a store never disturb another module.
"""

from __future__ import annotations

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
from helpers.cli import run_tuning, tuning_command
from helpers.stores import add_fit, rename_study, tiny_store

from tuning.report import build_report

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
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table, re.S).group(1)
    return re.findall(r"<tr>.*?</tr>", body, re.S)


def test_report_writes_page_and_exports(page):
    out, _ = page
    for name in ("index.html", "summary.csv", "summary.json", "marginals.csv", "fits.json", "curves.csv",
                 "plotly.min.js", "report.js"):
        assert (out / name).is_file(), name
    assert len(list((out / "configs").glob("*.html"))) == 3  # a page per config


def test_report_has_one_row_per_config_and_the_sections(page):
    _, html = page
    assert len(table_rows(html, "summary")) == 3
    # each config named as tuning status names it, its key in the tooltip and its page's name
    named = re.findall(r'<td data-sort="(\d+)\.0" title="config ([0-9a-f]{16})"><a href="configs/\2\.html">'
                       r'trial (\d+)</a></td>', html)
    assert len(named) == 3 and all(a == b for a, _, b in named), named
    assert html.count('title="the config every other is compared with">the best</td>') == 1  # not "paired" to itself
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
    out, html = page
    # the scripts are Plotly and the report's own, both beside the page; the data is inline JSON
    assert re.findall(r'<script[^>]*\ssrc="([^"]*)"', html) == ["plotly.min.js", "report.js"]
    assert (out / "plotly.min.js").stat().st_size > 1_000_000 and "Plotly" in (out / "plotly.min.js").read_text()[:5000]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from the network
    assert "https://cdn" not in (out / "report.js").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1))
    assert len(data["configs"]) == 3 and data["metric"] == "val_loss"
    assert all(len(c["seeds"]) == 2 and len(c["scores"]) == 2 and len(c["seconds"]) == 2 for c in data["configs"])
    assert "curves" not in data and '"loss"' not in html  # curves load with a config's page, never the index
    for config in (out / "configs").glob("*.html"):
        text = config.read_text(encoding="utf-8")
        assert re.findall(r'<script[^>]*\ssrc="([^"]*)"', text) == ["../plotly.min.js", "../report.js"]
        assert not re.search(r'(src|href)="(https?:)?//', text)


def test_config_page_shows_seeds_diagnosis_comparison_errors_and_export(store_url, tmp_path):
    copy = tmp_path / "config.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    add_fit(url, "tiny", 9, status="failed", scores={}, error="diverged at epoch 2 (loss nan)")
    out = tmp_path / "out"
    index = build_report("tiny", url, out).read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', index, re.S).group(1))
    best, other = sorted((c for c in data["configs"]), key=lambda c: c["rank"])[:2]
    assert f'href="configs/{best["page"]}"' in index
    text = (out / "configs" / other["page"]).read_text(encoding="utf-8")
    page = json.loads(re.search(r'id="page-data">(.*?)</script>', text, re.S).group(1))
    assert [c["seed"] for c in page["curves"]] == sorted(other["seeds"])
    assert all(len(c["curves"]["loss"]) == 3 and len(c["curves"]["val_loss"]) == 3 for c in page["curves"])
    pairs = page["comparison"]["pairs"]  # paired by seed: this config's score minus the best's
    assert [p[0] for p in pairs] == sorted(set(best["seeds"]) & set(other["seeds"]))
    for seed, mine, theirs, diff in pairs:
        assert mine == other["scores"][other["seeds"].index(seed)] and theirs == best["scores"][best["seeds"].index(seed)]
        assert diff == pytest.approx(mine - theirs)
    assert "p = " in text and "margin" in text and "Evidence:" in text
    assert page["other_scores"] and "val_loss" not in page["other_scores"]  # every other score of each seed
    assert all(len(f["others"]) == len(page["other_scores"]) for f in page["fits"])
    assert all(f"<th>{name}</th>" in text for name in page["other_scores"])
    assert f"tuning export tiny --config {other['key']} --out {other['key']}.keras --storage {url}" in text
    first = (out / "configs" / sorted(data["configs"], key=lambda c: c["trial"])[0]["page"]).read_text(encoding="utf-8")
    assert "diverged at epoch 2 (loss nan)" in first  # add_fit adds to the first config: its error is on its page
    done = run_tuning("export", "--help", cwd=tmp_path)
    assert "--config" in done.stdout and "--out" in done.stdout and "--storage" in done.stdout  # the command's real flags


def test_importance_sits_beside_the_seed_noise_share(page, store_url):
    import numpy as np

    from tuning.analysis import load_results
    from tuning.analysis.variance import split_variance

    _, html = page
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', html, re.S).group(1))
    results = load_results("tiny", store_url)
    matrix = results.fits.pivot_table(index="config_key", columns="seed", values="val_loss").to_numpy()
    split = split_variance(np.asarray(matrix, dtype=float))
    share = split.seed_share
    assert data["variance"]["seed"] == pytest.approx(share) and data["variance"]["shared"] == pytest.approx(
        split.shared_share)  # the tiny study's configs share their seeds
    sentence = data["variance"]["sentence"]
    assert sentence.startswith(f"seed noise explains {100 * share:.0f} % of the variance in val_loss (") and \
        "; units " in sentence
    assert data["variance"]["params"][0][1] == pytest.approx(1 - share)  # one parameter: all the rest
    assert sentence in html
    caption = re.search(r'id="importance-note"[^>]*>(.*?)</figcaption>', html, re.S).group(1)
    assert "two-way random-effects ANOVA" in caption and "one-way" not in caption  # the split that was computed


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
    # Plotly, the report's script and the data (JSON, inert); inside it no "<" can close the element
    assert re.findall(r"<script[^>]*>", html) == ['<script src="plotly.min.js" defer>', '<script src="report.js" defer>',
                                                   '<script type="application/json" id="page-data">']
    data = re.search(r'id="page-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and json.loads(data)["study"] == XSS
    for config in (tmp_path / "out" / "configs").glob("*.html"):
        text = config.read_text(encoding="utf-8")
        assert XSS not in text and "<img src=x" not in text and len(re.findall(r"<script", text)) == 3


def test_report_command(store_url, tmp_path):
    done = run_tuning("report", "tiny", "--storage", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports" / "tiny" / "index.html").is_file()
    assert (tmp_path / "reports" / "tiny" / "summary.csv").is_file()
    missing = run_tuning("report", "nope", "--storage", store_url, cwd=tmp_path)
    assert missing.returncode == 2 and "no study named 'nope'" in missing.stderr


def test_a_report_into_another_studys_report_folder_is_refused_in_one_line(store_url, tmp_path):
    """Its config pages would stay beside the new study's and be browsed as if they were its own."""
    out = tmp_path / "shared"
    assert run_tuning("report", "tiny", "--storage", store_url, "--out", str(out), cwd=tmp_path).returncode == 0
    before = sorted(p.name for p in (out / "configs").iterdir())
    copy = tmp_path / "other.db"
    shutil.copy(store_url.removeprefix("sqlite:///"), copy)
    rename_study(f"sqlite:///{copy}", "tiny", "other")
    refused = run_tuning("report", "other", "--storage", str(copy), "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"--out: {out} holds the report of study 'tiny'" in refused.stderr and "reports/other" in refused.stderr
    assert sorted(p.name for p in (out / "configs").iterdir()) == before
    assert "tuning report: tiny" in (out / "index.html").read_text(encoding="utf-8")
    again = run_tuning("report", "tiny", "--storage", store_url, "--out", str(out), cwd=tmp_path)  # its own: rewritten
    assert again.returncode == 0, again.stderr


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


def test_report_never_imports_tensorflow_nor_the_notebook_plots(store_url, tmp_path):
    # The report draws in the browser; matplotlib and seaborn are tuning.plots' (notebooks), about
    # half a second of every `tuning report` when the report took one helper from there.
    code = (f"import sys; from tuning.report import build_report; build_report('tiny', {store_url!r}, {str(tmp_path)!r});"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported';"
            "assert 'matplotlib' not in sys.modules and 'seaborn' not in sys.modules, 'plots imported'")
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
        assert re.search(r'<meta name="tuning-live" content="5" data-built="[^"]+">', html)  # the served page polls ...
        live = json.loads(get(base + "study/a%2Fb%20c/live.json")[1])
        assert live["built"] == live["current"]
        add_fit(url, "a/b c", 7)
        live = json.loads(get(base + "study/a%2Fb%20c/live.json")[1])  # ... and sees the new fit
        assert live["built"] != live["current"] and cache.builds == 1  # asking never builds
        status, html = get(base + "study/a%2Fb%20c/")
        assert status == 200 and "7 fits" in html and cache.builds == 2
        assert get(base + "study/a%2Fb%20c/summary.csv")[0] == 200
        assert get(base + "study/a%2Fb%20c/plotly.min.js")[0] == 200
        config = re.search(r'href="(configs/[^"]+)"', html).group(1)
        status, page = get(base + "study/a%2Fb%20c/" + config)
        assert status == 200 and "tuning-live" in page and cache.builds == 2
        assert json.loads(get(base + "study/a%2Fb%20c/configs/live.json")[1])["current"] == live["current"]
        assert get(base + "study/nope/")[0] == 404
        assert get(base + "study/a%2Fb%20c/..%2F..%2Fstore.db")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_report_folder_keeps_a_plain_name_and_never_merges_two_studies():
    from tuning.report import default_out_dir

    assert default_out_dir("quickstart") == Path("reports/quickstart")
    assert default_out_dir("étude-2") == Path("reports/étude-2")  # letters of any script are kept
    # names a folder cannot carry as they are: readable, and never the folder of another study
    names = ["sales v2", "sales_v2", "sales/v2", "sales:v2", "..", ".", "", ".hidden", "hidden"]
    folders = [default_out_dir(n) for n in names]
    assert len(set(folders)) == len(names)
    assert all(f.parent == Path("reports") and f.name not in ("", ".", "..") and "/" not in f.name for f in folders)
    assert folders[0].name.startswith("sales_v2-") and folders[1] == Path("reports/sales_v2")
