"""Several workers on one study, in seconds: claims with leases, takeover after a kill, SIGTERM,
what a worker shows of the others.

Each worker is a real process running the study's loop on a real SQLite file with real Optuna;
only the fits are the fake runner's (tests/helpers/fake_worker.py), each taking a fraction of a
second so that workers overlap and a kill lands mid-fit. How the workers share a study's work
(grid, random, CMA-ES, races, a config's seeds, a stress run) is in test_workers_sharing.py; the
same proofs with the real ``tuning worker`` command and Keras fits, on SQLite and PostgreSQL, are
in test_workers_e2e.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers.cli import run_tuning
from helpers.reporters import Notes
from helpers.worker_study import POINTS, SEEDS, SPEC, check_done_once, finish, query, start_workers, wait_for

from tuning.api import status_lines, study_status
from tuning.errors import SpecError
from tuning.search.workers import parse_until
from tuning.store import Store, fit_item


def test_a_worker_killed_mid_fit_loses_only_what_it_held(tmp_path):
    procs = start_workers(tmp_path, 3, fit_seconds=0.4, lease=30)
    db = tmp_path / "w.db"
    victim = procs[0]
    owner = f"{os.uname().nodename}:{victim.pid}:"

    def held() -> list[tuple]:
        return query(db, "SELECT item FROM tuning_claims WHERE owner LIKE ? AND item LIKE 'fit:%'", owner + "%")

    wait_for(lambda: len(query(db, "SELECT id FROM tuning_fits")) >= 3 and held(), procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    lost = len(held())  # the fits it held when it died: computed again by the others
    results = finish(procs[1:])
    assert [code for code, _, _ in results] == [0, 0], results
    check_done_once(db)
    starts = query(db, "SELECT COUNT(*) FROM tuning_fit_starts")[0][0]
    assert POINTS * SEEDS <= starts <= POINTS * SEEDS + lost
    # The others took its claims over (a process of this host that is gone: no waiting out the lease).
    assert sum(n for (n,) in query(db, "SELECT takeovers FROM tuning_workers")) >= 1
    interrupted = query(db, "SELECT COUNT(*) FROM trials WHERE state = 'FAIL'")[0][0]
    assert interrupted == 1  # its trial, marked interrupted by a survivor
    lines = status_lines(study_status("w", Store(f"sqlite:///{db}", create=False)))
    assert any(line.strip().startswith(f"worker {owner}") and "lost" in line for line in lines), lines
    assert any("workers: 0 alive of 3" in line for line in lines), lines


@pytest.mark.slow  # worker processes for 7 s; the fast tier keeps the killed-mid-fit case
def test_a_killed_workers_trial_is_interrupted_when_its_claims_are_taken_over_not_at_the_end(tmp_path):
    """One survivor that never waits (nothing is held elsewhere once the other is dead) used to mark
    the dead worker's trial interrupted only when the study ended, leaving it RUNNING beside the
    new trial of its config all along."""
    procs = start_workers(tmp_path, 2, fit_seconds=0.3, lease=1.5)  # its claims expire while the other works
    db = tmp_path / "w.db"
    victim = procs[0]
    owner = f"{os.uname().nodename}:{victim.pid}:"
    wait_for(lambda: query(db, "SELECT item FROM tuning_claims WHERE owner LIKE ? AND item LIKE 'point:%'",
                           owner + "%") and len(query(db, "SELECT id FROM tuning_fits")) >= 2, procs)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert [code for code, _, _ in finish(procs[1:])] == [0]
    check_done_once(db)
    (marked,) = query(db, "SELECT datetime_complete FROM trials WHERE state = 'FAIL'")[0]
    (last,) = query(db, "SELECT MAX(datetime_complete) FROM trials WHERE state = 'COMPLETE'")[0]
    assert marked < last, (marked, last)


def test_status_after_a_kill_says_the_running_trial_is_a_gone_workers(tmp_path):
    """Read before anyone resumes: the trial is still RUNNING in the store (reading alters nothing),
    and status said '1 running' beside the worker line 'lost (its process is gone)'."""
    (victim,) = start_workers(tmp_path, 1, fit_seconds=0.5)
    db = tmp_path / "w.db"
    wait_for(lambda: query(db, "SELECT id FROM tuning_fits"), [victim])
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    store = Store(f"sqlite:///{db}", create=False)
    info = study_status("w", store)
    assert info["running"] >= 1 and info["stranded"] == info["running"], info
    line = status_lines(info)[1]
    assert f"{info['running']} running ({info['stranded']} of them left by a worker that is gone: " in line, line
    started = query(db, "SELECT COUNT(*) FROM tuning_fit_starts")[0][0]
    stored = query(db, "SELECT COUNT(*) FROM tuning_fits")[0][0]
    assert started > stored  # the killed worker was fitting: the difference is said, not left to read as lost
    assert info["workers"][-1] == (f"workers: 0 alive of 1; {started} fits started, {stored} stored ({started - stored} "
                                   "started and not stored: running now, or in flight when their worker stopped or "
                                   "was lost; they are fitted again, and no finished fit is lost)")


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_or_ctrl_c_stops_a_worker_at_once_with_its_claims_released(tmp_path, signum, exit_code):
    (proc,) = start_workers(tmp_path, 1, fit_seconds=0.5)
    db = tmp_path / "w.db"
    wait_for(lambda: query(db, "SELECT item FROM tuning_claims WHERE item LIKE 'fit:%'"), [proc])
    proc.send_signal(signum)
    ((code, _, stderr),) = finish([proc], timeout=30)
    assert code == exit_code, stderr
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]
    assert query(db, "SELECT state FROM tuning_workers") == [("stopped",)]
    assert query(db, "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING'") == [(0,)]
    assert "Traceback" not in stderr


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    first, second = store.leases("s", "first", lease=0.3), store.leases("s", "second", lease=30)
    first.register("elsewhere", 1)  # another host: only its lease tells whether it lives
    item = fit_item("k", 0)
    assert first.claim([item], fits=[("k", 0)]) == [item]
    assert second.claim([item], fits=[("k", 0)]) == []
    assert first.claim([item]) == [item]  # held already: still its own, no second fit start
    time.sleep(0.4)
    assert store.live_owners("s") == set()
    assert second.claim([item], fits=[("k", 0)]) == [item]
    assert store.count_fit_starts("s") == 2
    workers = {w["owner"]: w for w in store.workers("s")}
    assert workers["first"]["state"] == "lost" and workers["first"]["fits_started"] == 1
    assert first.renew() == 0  # its claim is gone: a late heartbeat does not win it back


def test_until_takes_a_duration_a_clock_time_or_a_date():
    now = 1_000_000.0
    assert parse_until("90s", now) == now + 90 and parse_until("2h", now) == now + 7200
    assert parse_until("2026-12-24T08:00", now) > now
    clock = parse_until("00:00", now)
    assert now < clock <= now + 86400
    with pytest.raises(SpecError, match="--until: not a time"):
        parse_until("soon", now)
    # a time already gone made a worker that fitted nothing and said nothing
    with pytest.raises(SpecError, match="--until: '1970-01-02T00:00' has already passed"):
        parse_until("1970-01-02T00:00", now + 86400 * 365)
    with pytest.raises(SpecError, match="--until: '0s' is no time at all"):
        parse_until("0s", now)


def test_a_worker_given_bad_input_says_so_in_one_line(tmp_path):
    Store(f"sqlite:///{tmp_path / 'w.db'}")
    missing = run_tuning("worker", "nosuch", "--storage", str(tmp_path / "w.db"), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing
    assert "no study named 'nosuch'" in missing.stderr and "Traceback" not in missing.stderr
    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(db=tmp_path / "w.db"))
    soon = run_tuning("worker", str(spec), "--until", "soon", cwd=tmp_path)
    assert soon.returncode == 2 and soon.stderr.startswith("error: --until: not a time"), soon
    assert query(tmp_path / "w.db", "SELECT COUNT(*) FROM tuning_workers") == [(0,)]  # nothing started


def test_max_fits_stops_a_worker_cleanly_and_the_next_one_reuses_its_fits(tmp_path):
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.search.workers import WorkerOptions
    from tuning.spec import load_spec

    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(db=tmp_path / "w.db"))
    first = run_search(load_spec(str(spec)), runner=FakeRunner(), worker=WorkerOptions(max_fits=2))
    assert first.fits_run == 2 and first.complete == 0
    db = tmp_path / "w.db"
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]
    assert query(db, "SELECT state FROM trials") == [("FAIL",)]  # interrupted, not left RUNNING
    reason = query(db, "SELECT value_json FROM trial_user_attributes WHERE key = 'fail_reason'")
    assert "--max-fits 2 reached" in reason[0][0]
    rest = run_search(load_spec(str(spec)), runner=FakeRunner())
    assert (rest.complete, rest.fits_run, rest.fits_reused) == (POINTS, POINTS * SEEDS - 2, 2)


def test_max_fits_claims_no_more_than_it_may_compute_even_from_a_runner_that_fuses_seeds(tmp_path):
    """A fusing runner computes every fit it is handed: a worker with --max-fits 2 on a config of
    three seeds claims two of them, so no fit is computed and then dropped (it used to claim all
    three, compute them, store two and report "3 fits started")."""
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.search.workers import WorkerOptions
    from tuning.spec import load_spec

    class FusingRunner(FakeRunner):
        def map(self, tasks, epoch_hook=None):
            fits = list(super().map(tasks, epoch_hook))  # all seeds computed before the first is told
            yield from fits

    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(db=tmp_path / "w.db"))
    runner = FusingRunner()
    first = run_search(load_spec(str(spec)), runner=runner, worker=WorkerOptions(max_fits=2))
    assert first.fits_run == 2 and len(runner.tasks) == 2
    assert query(tmp_path / "w.db", "SELECT COUNT(*) FROM tuning_fits") == [(2,)]
    assert query(tmp_path / "w.db", "SELECT COUNT(*) FROM tuning_fit_starts") == [(2,)]  # what status calls started


class RecordingReporter(Notes):
    """A reporter that keeps what a watched worker is told: its workers rows and its notes."""

    shows_workers = True

    def __init__(self):
        super().__init__()
        self.rows: list[str] = []

    def workers(self, line: str) -> None:
        self.rows.append(line)


def test_the_live_view_shows_what_each_other_worker_holds_and_who_joined_stopped_or_was_lost(tmp_path):
    from tuning.search.workers import WorkerOptions, WorkerSession

    store = Store(f"sqlite:///{tmp_path / 'v.db'}")
    other = store.leases("s", "elsewhere:1:a", lease=0.5)
    other.register("elsewhere", 1)
    assert other.claim([fit_item("k", 0), fit_item("k", 1)], fits=[("k", 0), ("k", 1)])
    watch = RecordingReporter()
    with WorkerSession(store, "s", WorkerOptions(lease=30), watch=watch) as session:
        session.show_workers()
        assert watch.rows[-1] == "2 alive · this one holds 0 config(s), 0 fit(s) · elsewhere:1 0 config(s), 2 fit(s)"
        assert watch.notes == []  # the first look: a worker already there did not just join
        third = store.leases("s", "third:2:b", lease=30)
        third.register("third", 2)
        session.show_workers()
        assert watch.notes == ["worker third:2:b joined the study"]
        assert "3 alive" in watch.rows[-1] and "third:2 0 config(s), 0 fit(s)" in watch.rows[-1]
        time.sleep(0.6)  # the first other's lease runs out: lost, its two fits up for takeover
        third.stop()
        session.show_workers()
        assert sorted(watch.notes[1:]) == ["worker elsewhere:1:a lost (no heartbeat for a lease): its claims are taken "
                                           "over", "worker third:2:b stopped: its claims released"]
        assert watch.rows[-1].startswith("1 alive, 1 lost · this one holds")
        assert "elsewhere:1" not in watch.rows[-1]  # a lost worker holds nothing it will compute
        mine = store.leases("s", session.owner, lease=30)
        assert mine.claim([fit_item("k", 0)], fits=[("k", 0)]) == [fit_item("k", 0)]  # taken over
        session.show_workers()
        assert watch.rows[-1] == "1 alive, 1 lost · this one holds 0 config(s), 1 fit(s) · 1 stale claim(s) taken over"
        ended = subprocess.Popen(["true"])
        ended.wait()  # a worker of this host killed within its lease: its process is gone, not its heartbeat
        node = os.uname().nodename
        store.leases("s", f"{node}:{ended.pid}:c", lease=30).register(node, ended.pid)
        session.show_workers()  # at the next look, as `tuning status` says, before any worker expires its lease
        lost = f"worker {node}:{ended.pid}:c lost (its process {ended.pid} is gone): its claims are taken over"
        assert watch.notes[-1] == lost and watch.rows[-1].startswith("1 alive, 2 lost"), watch.rows[-1]
        session.expire_gone()
        session.show_workers()
        assert watch.notes.count(lost) == 1  # said once
    # Alone on the study, nothing to show: the row disappears.
    alone = RecordingReporter()
    with WorkerSession(Store(f"sqlite:///{tmp_path / 'alone.db'}"), "s", watch=alone) as session:
        session.show_workers()
    assert alone.rows == [""] and alone.notes == []


def test_a_watched_worker_shows_the_other_workers_row_while_it_runs(tmp_path):
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.spec import load_spec

    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(db=tmp_path / "w.db"))
    other = Store(f"sqlite:///{tmp_path / 'w.db'}").leases("w", "elsewhere:7:c", lease=60)
    other.register("elsewhere", 7)  # another live worker on the study, holding nothing
    watch = RecordingReporter()
    outcome = run_search(load_spec(str(spec)), runner=FakeRunner(), reporter=watch)
    assert outcome.complete == POINTS
    assert watch.rows and watch.rows[0].startswith("2 alive · this one holds")
    assert "elsewhere:7 0 config(s), 0 fit(s)" in watch.rows[0]
    # The worker's heartbeat stores the lease it was given: `tuning status` shows it.
    lines = status_lines(study_status("w", Store(f"sqlite:///{tmp_path / 'w.db'}", create=False)))
    assert any("worker elsewhere:7:c: alive" in line and "lease 60 s" in line for line in lines), lines


def test_status_calls_a_worker_of_this_host_whose_process_is_gone_lost_within_its_lease(tmp_path):
    """After a kill -9 the dead worker's lease still runs (60 s here), but on its own host the
    process can be looked at: status says it is lost, as the next worker or resume treats it."""
    from tuning.search.workers import worker_lines

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    host = os.uname().nodename
    store.leases("s", f"{host}:{ended.pid}:dead", lease=60).register(host, ended.pid)
    store.leases("s", f"{host}:{os.getpid()}:me", lease=60).register(host, os.getpid())
    lines = worker_lines(store, "s")
    assert any(f"{host}:{ended.pid}:dead: lost (its process {ended.pid} is gone" in line for line in lines), lines
    assert any(f"{host}:{os.getpid()}:me: alive (heartbeat" in line for line in lines), lines
    assert lines[-1].startswith("workers: 1 alive of 2;"), lines


def test_status_sums_up_the_many_ended_workers_of_a_study_resumed_again_and_again(tmp_path):
    """Every run and resume joins as a worker: a study resumed by 40 batch jobs listed 40 'stopped'
    lines under `tuning status`. The newest ended ones keep a line; the rest are one line."""
    from tuning.search.workers import _SHOWN_ENDED, worker_lines

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    host = os.uname().nodename
    for job in range(40):
        leases = store.leases("s", f"{host}:{100000 + job}:job{job}", lease=60)
        leases.register(host, 100000 + job)
        leases.stop()
    store.leases("s", f"{host}:{os.getpid()}:me", lease=60).register(host, os.getpid())
    lines = worker_lines(store, "s")
    assert len(lines) == 1 + _SHOWN_ENDED + 2, lines  # the live one, the newest ended, the sum, the total
    assert any(f"{host}:{os.getpid()}:me: alive" in line for line in lines), lines
    assert f"{40 - _SHOWN_ENDED} older worker(s) stopped or lost, holding nothing; 0 fits started, 0 stale claim(s) " \
        "taken over" in lines, lines
    assert lines[-1].startswith("workers: 1 alive of 41;"), lines


def test_a_worker_lost_runs_ago_and_holding_nothing_is_not_announced_by_every_later_run():
    """After a kill -9 and a resume that took its claims over, every later run of the study still
    began with 'worker HOST:PID:... lost (its process PID is gone): its claims are taken over'."""
    from tuning.search.workers import worker_events

    def lost(holds):
        return {"owner": "elsewhere:15291:a", "host": "elsewhere", "pid": 15291, "state": "lost", "holds": holds}

    assert worker_events({}, [lost([])], "me") == []
    assert worker_events({}, [lost(["fit:k:0"])], "me") == [
        "worker elsewhere:15291:a lost (no heartbeat for a lease): its claims are taken over"]
    assert worker_events({"elsewhere:15291:a": "running"}, [lost([])], "me") == [  # lost while this one watched
        "worker elsewhere:15291:a lost (no heartbeat for a lease): its claims are taken over"]
