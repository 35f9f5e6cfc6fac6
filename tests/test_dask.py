"""``runner: dask``: fits as tasks of a real Dask cluster (a LocalCluster on loopback), stored once each.

The cluster of the first tests is the test's own (scheduler + 2 worker processes, one thread
each), reached by ``--scheduler`` as a remote one would be; the last starts none and lets
``tuning run`` start its own LocalCluster, then kills ``tuning run`` with ``kill -9``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from helpers.cli import TINY_SPEC, stored_fits, tuning_command, wait_for_fits
from test_orphans import GRACE, session_processes

distributed = pytest.importorskip("distributed")

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes on 127.0.0.1, for this module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as local, \
            distributed.Client(local) as client:
        yield local, client


def write_spec(tmp_path: Path, name: str, epochs: int, units: str = "[1, 2, 3]") -> tuple[Path, Path]:
    db = tmp_path / "store.db"
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(TINY_SPEC.format(name=name, epochs=epochs, db=db).replace("[1, 2, 3]", units))
    return spec, db


def start_on_cluster(spec: Path, local, cwd: Path) -> subprocess.Popen:
    """``tuning run SPEC --runner dask`` on the test's cluster, in the background."""
    return subprocess.Popen([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler",
                             local.scheduler_address, "--quiet"], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fit_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT config_key, seed, status FROM tuning_fits").fetchall()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_grid_study_on_a_dask_cluster_stores_every_fit_once(tmp_path, cluster):
    local, client = cluster
    spec, db = write_spec(tmp_path, "on_dask", epochs=2)
    done = subprocess.run([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler",
                           local.scheduler_address, "--quiet"], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = fit_rows(db)
    assert len(rows) == 6 and len({(key, seed) for key, seed, _ in rows}) == 6, rows
    assert {status for _, _, status in rows} == {"ok"}
    # The fits ran on the cluster: its workers' logs of finished tasks hold them.
    assert sum(len(log) for log in client.run(lambda dask_worker: list(dask_worker.state.log)).values()) > 0
    # ... and computed what runner auto computes on this machine, value for value, again on the
    # same (now warm) workers: a Dask worker's own threads draw from Python's global random, from
    # which Keras seeds its initializers, so fits in the worker's thread got other weights now and then.
    here, again = tmp_path / "here", tmp_path / "again"
    here.mkdir()
    again.mkdir()
    same, same_db = write_spec(here, "on_dask", epochs=2)
    assert subprocess.run([*tuning_command(), "run", str(same), "--quiet"], cwd=here, env=ENV, capture_output=True,
                          timeout=600).returncode == 0
    rerun, rerun_db = write_spec(again, "on_dask", epochs=2)
    assert subprocess.run([*tuning_command(), "run", str(rerun), "--runner", "dask", "--scheduler",
                           local.scheduler_address, "--quiet"], cwd=again, env=ENV, capture_output=True,
                          timeout=600).returncode == 0
    assert scores(same_db) == scores(db) == scores(rerun_db)


def scores(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT config_key, seed, scores_json, curves_json FROM tuning_fits "
                            "ORDER BY config_key, seed").fetchall()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_dask_worker_killed_mid_task_has_its_task_run_again(tmp_path, cluster):
    """Fits of about ten seconds; once a task is being processed, its worker process is killed with
    SIGKILL. The scheduler runs the task again on a worker the nanny restarted: every fit once."""
    local, client = cluster
    spec, db = write_spec(tmp_path, "killed_dask_worker", epochs=300, units="[1, 2]")
    proc = start_on_cluster(spec, local, tmp_path)
    try:
        deadline = time.monotonic() + 300
        while True:  # a worker with a task of this study in progress
            busy = [address for address, keys in client.processing().items() if keys]
            if busy:
                break
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        time.sleep(2)  # into the task
        victim = client.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rows = fit_rows(db)
    assert len(rows) == 4 and len({(key, seed) for key, seed, _ in rows}) == 4, rows
    assert {status for _, _, status in rows} == {"ok"}, rows
    client.wait_for_workers(2, timeout=120)  # the nanny brought the killed worker back


@pytest.mark.e2e
def test_an_unreachable_scheduler_is_one_line_and_stores_nothing(tmp_path):
    spec, db = write_spec(tmp_path, "nowhere", epochs=1)
    env = {**ENV, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}  # Dask's own setting, honoured (10 s without)
    done = subprocess.run([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler",
                           "tcp://127.0.0.1:9"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not db.exists()


@pytest.mark.e2e
@pytest.mark.slow  # Dask waits out its handshake timeout (6 s); the unreachable case stays fast
def test_an_address_where_no_dask_scheduler_answers_is_one_line_within_its_timeout(tmp_path):
    """Something listens at the address (here a socket that accepts and never speaks; a web server or
    a database alike), so the connection opens and Dask's handshake would wait for an answer forever."""
    import socket

    spec, db = write_spec(tmp_path, "silent", epochs=1)
    env = {**ENV, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        done = subprocess.run([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler", address],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"error: cannot reach the Dask scheduler at {address}: something listens there but "
                                   "no Dask scheduler answered within 6 s")
    assert not db.exists()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_ctrl_c_before_the_study_is_stored_says_there_is_nothing_to_resume(tmp_path):
    """Stopped while it waits for a scheduler (15 s here), the run has stored nothing: the resume
    command it would print cannot find the study, so it says to run it again instead."""
    import socket

    spec, db = write_spec(tmp_path, "waiting", epochs=1)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler", address],
                                cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        silent.settimeout(60)
        silent.accept()  # the run is connecting: Ctrl-C now
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted before study 'waiting' was stored: nothing to resume; run it again"
    assert not db.exists()


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 143),
                                                  (signal.SIGINT, 130)], ids=["kill -9", "SIGTERM", "Ctrl-C"])
def test_a_study_with_its_own_local_cluster_leaves_no_process_however_it_ends(tmp_path, signum, exit_code):
    """kill -9, SIGTERM, or Ctrl-C (to the process group, as a terminal sends it) of a run that
    started its own LocalCluster: the run's exit code, and no process of its session left."""
    spec, db = write_spec(tmp_path, "own_cluster", epochs=200)
    with open(tmp_path / "stderr", "w") as err:
        proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--runner", "dask", "--jobs", "2", "--quiet"],
                                cwd=tmp_path, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for_fits(proc, db, 1)
        before = session_processes(proc.pid)
        assert len(before) >= 3, before  # tuning run and its two Dask worker processes at least
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signum)
        code = proc.wait(timeout=120)
        deadline = time.monotonic() + GRACE
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = session_processes(proc.pid)
    finally:
        for pid in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
    assert not alive, f"alive {GRACE} s after the signal: {alive} (of {before})"
    assert code == exit_code, (tmp_path / "stderr").read_text()
    assert len(stored_fits(db)) >= 1
    if signum != signal.SIGKILL:  # the run's one line, not the cluster's processes' tracebacks
        lines = (tmp_path / "stderr").read_text().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(("interrupted: ", "terminated: ")), lines


@pytest.mark.e2e
@pytest.mark.slow
def test_ctrl_c_cancels_the_cluster_s_tasks_and_resume_runs_exactly_the_missing_fits(tmp_path, cluster):
    local, client = cluster
    spec, db = write_spec(tmp_path, "stopped_on_dask", epochs=150, units="[1, 2, 3, 4]")
    proc = start_on_cluster(spec, local, tmp_path)
    try:
        wait_for_fits(proc, db, 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 30
    while any(client.processing().values()):  # the run's tasks were cancelled, not left running
        assert time.monotonic() < deadline, client.processing()
        time.sleep(0.2)
    before = {(key, seed) for key, seed, _ in fit_rows(db)}
    assert 1 <= len(before) < 8
    resumed = subprocess.run([*tuning_command(), "resume", "stopped_on_dask", "--storage", f"sqlite:///{db}",
                              "--scheduler", local.scheduler_address, "--quiet"], cwd=tmp_path, env=ENV,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    rows = fit_rows(db)
    assert len(rows) == 8 and len({(key, seed) for key, seed, _ in rows}) == 8, rows
    # exactly the missing fits ran ("reused" counts only the fits of trials left unfinished, and a
    # config whose graph came back before Ctrl-C is a finished trial)
    assert f"{8 - len(before)} fits run," in resumed.stdout, resumed.stdout


@pytest.mark.e2e
@pytest.mark.slow
def test_a_scheduler_killed_mid_study_is_one_line_and_loses_no_finished_fit(tmp_path):
    """A scheduler and a worker of their own (processes, as on a real cluster); the scheduler is
    killed with SIGKILL once the study has stored a fit. The run ends in one line naming the
    address (it printed Dask's traceback), and a resume on a LocalCluster finishes the study."""
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {**ENV, "DASK_LOGGING__DISTRIBUTED": "critical"}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--no-dashboard"], env=quiet,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--no-dashboard"], env=quiet, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spec, db = write_spec(tmp_path, "lost_scheduler", epochs=60)
    proc = None
    try:
        proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--runner", "dask", "--scheduler", address,
                                 "--quiet"], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        wait_for_fits(proc, db, 1, timeout=300)
        scheduler.kill()
        out, err = proc.communicate(timeout=180)
    finally:
        for process in (proc, scheduler, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"error: lost the Dask scheduler at {address} mid-study (") and "Traceback" not in err
    assert "in_worker_process" not in lines[0]  # not Dask's task key
    assert lines[0].endswith(f"`tuning resume lost_scheduler --storage sqlite:///{db}` once a scheduler is back (with "
                             "--scheduler ADDRESS or $DASK_SCHEDULER_ADDRESS; neither starts a LocalCluster)"), lines[0]
    kept = fit_rows(db)
    assert kept and all(status == "ok" for _, _, status in kept)
    resumed = subprocess.run([*tuning_command(), "resume", "lost_scheduler", "--storage", f"sqlite:///{db}",
                              "--runner", "sequential", "--quiet"], cwd=tmp_path, env=ENV, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    rows = fit_rows(db)
    assert len(rows) == 6 and set(kept) <= set(rows)
