"""A stopped study leaves no process behind: ``kill -9``, SIGTERM or Ctrl-C (SIGINT) of ``tuning run``
ends its worker processes and their resource trackers within seconds, whatever the runner.

Each study runs in a session of its own, so every process it starts (worker processes, resource
trackers) is found by its session id in ``/proc`` even after the study's death re-parents it.
Only the ``tuning`` process gets the signal, as from ``kill`` in another terminal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers.cli import tuning_command, wait_for_fits

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")

#: Seconds a stopped study's processes may take to end.
GRACE = 10

# Six configs x two seeds of about a second each per worker: the study is still running when its
# first fit is stored, whichever runner packs them.
SPEC = """\
name: orphans
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: 200, batch_size: 5}}
space:
  units: [1, 2, 3, 4, 5, 6]
sampler: grid
repeats: 2
storage: sqlite:///{db}
runner: {runner}
jobs: 2
"""

#: What a worker process's command line holds (tuning.runners.ProcessPool starts them).
WORKER_MARK = "tuning.runners._pool"
SIGNALS = {"kill -9": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "Ctrl-C": signal.SIGINT}
#: (runner, signal) of the end-to-end tests: every runner and every signal once (about 30 s each);
#: all twelve pairs passed when the fix was made, and all runners' workers come from one executor.
STUDY_CASES = [("auto", "kill -9"), ("fused", "Ctrl-C"), ("processes", "SIGTERM"), ("sequential", "kill -9")]


def session_processes(session: int) -> dict[int, str]:
    """pid -> command line of every live process in ``session`` (a zombie is dead: it holds no memory)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # ended meanwhile
            continue
        state, _parent, _group, sid = stat[stat.rindex(")") + 2:].split()[:4]
        if int(sid) == session and state != "Z":
            found[int(entry.name)] = command
    return found


def stop_and_wait(proc: subprocess.Popen, signum: int, workers: int) -> tuple[dict[int, str], dict[int, str]]:
    """Send ``signum`` to ``proc`` alone once it runs ``workers`` worker processes; return (its session's
    processes just before, those still alive ``GRACE`` seconds after, or none as soon as all ended).
    Whatever is left is killed, so a failing test leaves nothing behind."""
    before = session_processes(proc.pid)
    assert sum(WORKER_MARK in c for c in before.values()) >= workers, before
    proc.send_signal(signum)
    deadline = time.monotonic() + GRACE
    try:
        while True:
            proc.poll()  # reaps the study itself once it has ended
            alive = session_processes(proc.pid)
            if not alive or time.monotonic() > deadline:
                return before, alive
            time.sleep(0.2)
    finally:
        for pid in session_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait()


#: What a worker does when its parent is stopped: waits with the GIL released, or holds the GIL in
#: one long C call (catastrophic backtracking in ``re``, as TensorFlow's library load or a long C++
#: call holds it), when a thread of the worker's own cannot run to notice its parent is gone.
WORK = {
    "sleeping": "    time.sleep(600)\n",
    "holding the GIL": "    re.match(r'(a+)+$', 'a' * 40 + 'b')\n",
}


def start_executor_parent(tmp_path: Path, work: str, in_thread: bool = False) -> subprocess.Popen:
    """A bare process (no TensorFlow: seconds) whose two pool workers both do ``WORK[work]``, the pool
    used from its main thread or from a thread of its own; returned once both workers work."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import re, signal, sys, threading, time\n"
        "from pathlib import Path\n"
        # a test worker may run with SIGINT ignored, which a child inherits: Ctrl-C as a terminal sends it
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from tuning.runners import ProcessPool\n"
        "def work(path):\n"
        "    Path(path).touch()\n"
        f"{WORK[work]}"
        "def use_pool():\n"
        f"    for _ in ProcessPool(2).map_unordered(work, [{str(tmp_path / 'a')!r}, {str(tmp_path / 'b')!r}]):\n"
        "        pass\n"
        + ("thread = threading.Thread(target=use_pool)\nthread.start()\nthread.join()\n" if in_thread else
           "use_pool()\n"))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ((tmp_path / "a").exists() and (tmp_path / "b").exists()):  # both workers are working
        assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
        time.sleep(0.1)
    return proc


@pytest.mark.parametrize("work", WORK)
@pytest.mark.parametrize("how", SIGNALS)
def test_executor_workers_end_with_their_parent(tmp_path, how, work):
    """The executor every runner's workers come from, used from the parent's main thread."""
    proc = start_executor_parent(tmp_path, work)
    before, alive = stop_and_wait(proc, SIGNALS[how], workers=2)
    assert not alive, f"alive {GRACE} s after {how}: {alive} (of {before})"


def test_workers_started_from_another_thread_end_with_their_parent_even_holding_the_gil(tmp_path):
    """A pool used from a thread that is not the main one (a Dask worker's task thread): its workers
    still get the kernel's parent-death signal."""
    proc = start_executor_parent(tmp_path, "holding the GIL", in_thread=True)
    before, alive = stop_and_wait(proc, signal.SIGKILL, workers=2)
    assert not alive, f"alive {GRACE} s after kill -9: {alive} (of {before})"


def test_a_worker_outlives_the_thread_that_started_it():
    """The parent-death signal follows the thread that started a worker; a pool's worker started from
    a thread that then ends still serves the pool's next task (the same process)."""
    from tuning.runners import ProcessPool

    def worker_pid(_):
        return os.getpid()

    pool = ProcessPool(1)
    first = []
    thread = threading.Thread(target=lambda: first.extend(pool.map_unordered(worker_pid, [None])))
    try:
        thread.start()
        thread.join()
        time.sleep(1)  # a signal on the thread's end would have killed the worker by now
        assert list(pool.map_unordered(worker_pid, [None])) == first != [os.getpid()]
        assert pool.replaced == 0
    finally:
        pool.close()


FORKED_AFTER_A_THREAD_STARTED_A_WORKER = """
import os, sys, threading
from tuning.runners import ProcessPool
def pid(_):
    return os.getpid()
def use_pool():
    print(len(list(ProcessPool(1).map_unordered(pid, [None]))), flush=True)
thread = threading.Thread(target=use_pool)
thread.start()
thread.join()
child = os.fork()
if child == 0:
    thread = threading.Thread(target=use_pool)
    thread.start()
    thread.join(60)
    os._exit(0 if not thread.is_alive() else 3)
_, status = os.waitpid(child, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_starts_workers_from_a_thread_of_its_own():
    """The thread that starts workers for other threads is not copied by ``fork``: a child that
    starts workers from a thread makes its own instead of waiting on the parent's forever."""
    done = subprocess.run([sys.executable, "-c", FORKED_AFTER_A_THREAD_STARTED_A_WORKER],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(("runner", "how"), STUDY_CASES)
def test_stopped_study_leaves_no_process(tmp_path, runner, how):
    """``tuning run`` with ``jobs: 2`` stopped after its first stored fit (``sequential`` with 2 jobs
    is the process runner)."""
    db = tmp_path / "store.db"
    spec = tmp_path / "orphans.yaml"
    spec.write_text(SPEC.format(db=db, runner=runner))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(tmp_path / "stderr", "w") as err:
        proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--quiet"], cwd=tmp_path, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for_fits(proc, db, 1)
    except BaseException:
        stop_and_wait(proc, signal.SIGKILL, workers=0)
        raise
    before, alive = stop_and_wait(proc, SIGNALS[how], workers=2)
    assert not alive, f"runner {runner}: alive {GRACE} s after {how}: {alive} (of {before})"
    if how == "Ctrl-C":
        assert proc.returncode == 130, (tmp_path / "stderr").read_text()
