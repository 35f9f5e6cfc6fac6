"""Several ``tuning worker`` commands on one study, with real Keras fits, on one SQLite file and on a
real PostgreSQL server: one killed with SIGKILL mid-fit, the others finish it; SIGTERM of a
worker and Ctrl-C of a `tuning run` fitting with ``--jobs 2`` exit 143 and 130 and free their
claims at once; a KerasTuner study
refuses a second worker in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers.cli import run_tuning, tuning_command
from helpers.postgres import postgres_server

from tuning.store import normalise_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # Keras fits in several processes; a PostgreSQL server

POINTS, SEEDS = 4, 2
SPEC = """\
name: shared
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: {epochs}, batch_size: 5}}
space:
  units: [1, 2, 3, 4]
sampler: grid
repeats: 2
runner: sequential
storage: {storage}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def storage(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'shared.db'}"
    else:
        with postgres_server() as url:
            yield url


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = sa.create_engine(normalise_url(url))  # the driver tuning picks
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("tuning_claims") or not sa.inspect(conn).has_table("trials"):
                return []
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def clear(url: str) -> None:
    """Drop every table, so that each test of the module starts from an empty store."""
    engine = sa.create_engine(normalise_url(url))  # the driver tuning picks
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


def worker(spec: Path, *args: str, verb: str = "worker", lease: str = "10") -> subprocess.Popen:
    """``tuning VERB SPEC --quiet --lease LEASE ARGS`` in a session of its own (its process group is
    what a terminal's Ctrl-C reaches)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([*tuning_command(), verb, str(spec), "--quiet", "--lease", lease, *args],
                            cwd=spec.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def group_gone(pgid: int, timeout: float = 15) -> bool:
    """Whether every process of the group (the command and its fit processes) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def end(procs: list[subprocess.Popen], timeout: float = 600) -> list[tuple[int, str]]:
    """Wait for every process, killing (with its fit processes) any still running after ``timeout``
    seconds in all: (exit code, stderr) of each."""
    out = []
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            _, stderr = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
        out.append((proc.returncode, stderr))
    return out


def wait_until(condition, procs, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            results = end(procs, timeout=5)
            pytest.fail(f"no progress: {results}")
        time.sleep(0.2)


def test_three_workers_one_killed_mid_fit(storage, tmp_path):
    clear(storage)
    spec = tmp_path / "shared.yaml"
    spec.write_text(SPEC.format(epochs=20, storage=storage))
    procs = [worker(spec) for _ in range(3)]
    victim = procs[0]
    mine = f"{os.uname().nodename}:{victim.pid}:%"

    def held() -> list[tuple]:  # the fits the victim holds now
        return rows(storage, "SELECT item FROM tuning_claims WHERE owner LIKE :o AND item LIKE 'fit:%'", o=mine)

    def stored() -> list[tuple]:
        return rows(storage, "SELECT config_key, seed FROM tuning_fits")

    wait_until(lambda: held() and len(stored()) >= 1, procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    lost = len(held())
    results = end(procs)
    assert [code for code, _ in results[1:]] == [0, 0], results
    assert results[0][0] == -signal.SIGKILL
    fits = stored()
    assert len(fits) == len(set(fits)) == POINTS * SEEDS  # every grid point x seed stored once
    (starts,), = rows(storage, "SELECT COUNT(*) FROM tuning_fit_starts")
    assert POINTS * SEEDS <= starts <= POINTS * SEEDS + lost, (starts, lost)
    assert rows(storage, "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING'") == [(0,)]
    assert rows(storage, "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'") == [(POINTS,)]
    assert rows(storage, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]
    status = run_tuning("status", "shared", "--storage", storage, cwd=tmp_path)
    assert status.returncode == 0 and "workers: 0 alive of 3" in status.stdout, status
    assert "lost (no heartbeat" in status.stdout


@pytest.mark.parametrize(("verb", "signum", "exit_code", "said"), [("worker", signal.SIGTERM, 143, "terminated"),
                                                                  ("run", signal.SIGINT, 130, "interrupted")])
def test_a_worker_with_two_jobs_stops_at_once_on_sigterm_or_ctrl_c(storage, tmp_path, verb, signum, exit_code, said):
    """SIGTERM to a `tuning worker`, and Ctrl-C (to the whole process group, as a terminal sends it)
    of a `tuning run` (the study's first worker, with its own --lease), each fitting with two
    processes: the exit code, every claim released at once, no trial left RUNNING, no process left."""
    clear(storage)
    spec = tmp_path / "shared.yaml"
    spec.write_text(SPEC.format(epochs=40, storage=storage))
    proc = worker(spec, "--jobs", "2", "--runner", "processes", verb=verb, lease="7")
    wait_until(lambda: rows(storage, "SELECT item FROM tuning_claims WHERE item LIKE 'fit:%'"), [proc])
    (lease,), = rows(storage, "SELECT expires_at - heartbeat_at FROM tuning_workers WHERE state = 'running'")
    assert lease == pytest.approx(7.0)  # --lease reaches the store, on `run` as on `worker`
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signum)
    started = time.monotonic()
    ((code, stderr),) = end([proc], timeout=60)
    assert code == exit_code, stderr
    assert time.monotonic() - started < 30
    assert rows(storage, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]  # at once, not a lease later
    assert rows(storage, "SELECT state FROM tuning_workers") == [("stopped",)]
    assert rows(storage, "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING'") == [(0,)]
    assert "Traceback" not in stderr and said in stderr
    assert group_gone(proc.pid), "a fit process outlived its worker"


def test_a_kerastuner_study_refuses_a_second_worker(tmp_path):
    db = tmp_path / "kt.db"
    spec = tmp_path / "kt.yaml"
    # fits long enough that the first worker is still at work when the second has started (under
    # load, starting one takes longer than 8 fits of 40 epochs, and then there is nothing to refuse)
    # On JAX: the refusal is the study record's, whatever the Keras backend, and a JAX worker starts faster.
    spec.write_text(SPEC.format(epochs=2000, storage=f"sqlite:///{db}") + "backend: kerastuner\nkeras_backend: jax\n")
    first = worker(spec)
    try:
        wait_until(lambda: rows(f"sqlite:///{db}", "SELECT item FROM tuning_claims WHERE item LIKE 'fit:%'"), [first])
        second = run_tuning("worker", str(spec), "--quiet", cwd=tmp_path)
        assert second.returncode == 2, second
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "one worker per study" in lines[0] and "backend" in lines[0], lines
    finally:
        first.send_signal(signal.SIGTERM)
        ((code, stderr),) = end([first], timeout=60)
    assert code == 143, stderr
