"""The same study on a real PostgreSQL server: run, SIGKILL, resume, status, results, report.

SQLite is the default store, but the store is any SQLAlchemy URL; this runs the real ``tuning``
command against a throwaway PostgreSQL server (tests/postgres.py) to show the tables, Optuna's
storage and the recovery of a killed run work there too.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import sqlalchemy as sa
from helpers.cli import TINY_SPEC, run_tuning, tuning_command
from helpers.postgres import postgres_server

from tuning import load_results
from tuning.store import normalise_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # starts a PostgreSQL server

GRID_POINTS, SEEDS = 3, 2


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server() as url:
        yield url


def fits(url: str) -> list[tuple]:
    engine = sa.create_engine(normalise_url(url))  # the driver tuning picks
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("tuning_fits"):
                return []
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT id, config_key, seed, created_at FROM tuning_fits ORDER BY id"))]
    finally:
        engine.dispose()


def test_study_killed_and_resumed_on_postgresql(pg_url, tmp_path):
    spec = tmp_path / "tiny.yaml"
    # runner sequential: fits must arrive one seed at a time for the kill to land inside a trial. On
    # JAX: the store is the subject, and JAX starts and fits these faster than TensorFlow (whose kill
    # -9 and resume on SQLite is test_cli_resume's).
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=2, db="unused.db") + "runner: sequential\nkeras_backend: jax\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--storage", pg_url, "--quiet"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(fits(pg_url)) < 3:
        assert proc.poll() is None, f"study ended before 3 fits: {proc.communicate()}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    before = fits(pg_url)
    assert 3 <= len(before) < GRID_POINTS * SEEDS

    resumed = run_tuning("resume", "tiny", "--storage", pg_url, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after = fits(pg_url)
    assert len(after) == GRID_POINTS * SEEDS == len({(k, s) for _, k, s, _ in after})
    assert after[: len(before)] == before  # finished fits untouched, none recomputed
    assert f"{GRID_POINTS * SEEDS - len(before)} fits run" in resumed.stdout

    status = run_tuning("status", "tiny", "--storage", pg_url, cwd=tmp_path)
    assert status.returncode == 0 and f"{GRID_POINTS} complete" in status.stdout, status.stdout + status.stderr
    results = load_results("tiny", pg_url)
    assert len(results.fits) == GRID_POINTS * SEEDS and len(results.summary) == GRID_POINTS
    report = run_tuning("report", "tiny", "--storage", pg_url, "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "index.html").exists()


def test_a_password_in_the_url_appears_in_no_output_report_or_stored_spec(pg_url, tmp_path):
    """The server trusts local connections, so a URL with a password connects as the docs' URL does;
    the password must not reach the terminal, the shared report or the study's record. A database
    no run has used yet says 'no study' in one line (it printed the driver's traceback)."""
    secret = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    spec = tmp_path / "pw.yaml"
    spec.write_text(TINY_SPEC.format(name="pw", epochs=1, db="unused.db"))
    outputs = [run_tuning("run", str(spec), "--storage", secret, "--quiet", cwd=tmp_path),
               run_tuning("resume", "pw", "--storage", secret, "--quiet", cwd=tmp_path),
               run_tuning("status", "pw", "--storage", secret, cwd=tmp_path),
               run_tuning("report", "pw", "--storage", secret, "--out", str(tmp_path / "report"), cwd=tmp_path),
               run_tuning("status", "nosuch", "--storage", secret, cwd=tmp_path)]
    assert [done.returncode for done in outputs] == [0, 0, 0, 0, 2], [done.stderr for done in outputs]
    assert all("s3cret" not in done.stdout + done.stderr for done in outputs)
    assert "postgres:***@" in outputs[2].stdout
    pages = [p.read_text() for p in (tmp_path / "report").rglob("*.html")]
    assert pages and not any("s3cret" in page for page in pages)
    engine = sa.create_engine(normalise_url(pg_url))
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT spec_json FROM tuning_studies WHERE name = 'pw'")).scalar()
    engine.dispose()
    assert "s3cret" not in stored and "postgres:***@" in stored
    fresh = pg_url.replace("/tuning?", "/postgres?")  # the server's own database: no tables of ours
    empty = run_tuning("status", "pw", "--storage", fresh, cwd=tmp_path)
    assert empty.returncode == 2 and empty.stderr.strip().endswith("no study named 'pw' (studies: none)"), empty.stderr


def test_a_server_stopped_under_a_running_study_is_one_line_naming_the_resume(tmp_path):
    """A server of its own, stopped at once (as a crash or `pg_ctl stop -m immediate`) while the
    study fits: the run ends in one line naming the database's error and the resume command (it
    printed 82 frames ending in Optuna's 'invalid data in the commit')."""
    import signal
    from pathlib import Path
    from urllib.parse import parse_qs, urlparse

    with postgres_server() as url:
        spec = tmp_path / "gone.yaml"
        spec.write_text(TINY_SPEC.format(name="gone", epochs=150, db="unused.db"))
        proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--storage", url, "--quiet"], cwd=tmp_path,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while len(fits(url)) < 1:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.2)
            data = Path(parse_qs(urlparse(url).query)["host"][0]).parent / "data"
            postmaster = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, err
    assert lines[0].startswith("error: the store went away mid-run (") and "tuning resume gone --storage" in lines[0]
