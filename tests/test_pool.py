"""The worker processes every runner's fits run in on this host: recycled before they grow, a task
re-run once when its worker dies, errors raised in the parent, no re-run of the user's script.

Plain Python tasks (no TensorFlow), except the last test, which checks that a fused study's
packing happens in the worker and TensorFlow stays out of the study's process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tuning.runners import ProcessPool, Recycle, WorkerDied

_held: list[bytearray] = []


def pid_after_growing(megabytes: int) -> int:
    """Keep ``megabytes`` more resident in this worker (touched, so it counts), return its pid."""
    block = bytearray(megabytes * 2**20)
    block[::4096] = b"\1" * len(block[::4096])
    _held.append(block)
    return os.getpid()


def test_a_worker_that_grew_past_the_limit_is_replaced_between_tasks():
    pool = ProcessPool(1, Recycle(tasks=None, growth_mb=100))
    try:
        pids = list(pool.map_unordered(pid_after_growing, [40] * 8))
    finally:
        pool.close()
    # Measured after each task against the first: +40, +80, +120 > 100 -> replaced after its 4th task.
    runs = [len(list(group)) for _, group in __import__("itertools").groupby(pids)]
    assert runs == [4, 4], pids
    assert pool.replaced == 2


def test_a_worker_is_replaced_after_its_tasks_and_never_without_a_rule():
    pool = ProcessPool(1, Recycle(tasks=2, growth_mb=None))
    try:
        pids = list(pool.map_unordered(pid_after_growing, [1] * 5))
    finally:
        pool.close()
    assert len(set(pids)) == 3 and pids[0] == pids[1] != pids[2] == pids[3] != pids[4], pids
    never = ProcessPool(2, Recycle(tasks=None, growth_mb=None))
    try:
        assert len(set(never.map_unordered(pid_after_growing, [30] * 8))) == 2
    finally:
        never.close()


def die_once(marker: str) -> str:
    """SIGKILL this worker the first time (``marker`` not yet there); answer the second."""
    if not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "done"


def always_die(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_task_whose_worker_died_runs_again_once(tmp_path):
    pool = ProcessPool(2)
    try:
        assert sorted(pool.map_unordered(die_once, [str(tmp_path / "a"), str(tmp_path / "b")])) == ["done", "done"]
        with pytest.raises(WorkerDied, match="died twice"):
            list(pool.map_unordered(always_die, [1]))
        assert list(pool.map_unordered(abs, [-3])) == [3]  # the pool goes on after both
    finally:
        pool.close()


def refuse(value: int) -> int:
    if value == 2:
        raise KeyError(f"no {value}")
    return value


def test_an_error_in_a_task_is_raised_in_the_parent_with_its_type():
    pool = ProcessPool(1)
    try:
        with pytest.raises(KeyError, match="no 2"):
            list(pool.map_unordered(refuse, [1, 2, 3]))
    finally:
        pool.close()


def test_workers_run_the_warm_up_before_their_first_task_and_keep_a_function_per_map(tmp_path):
    script = tmp_path / "no_guard.py"
    # No `if __name__ == "__main__"`: a worker that re-ran this script would start pools of its own.
    script.write_text(textwrap.dedent(f"""
        import os
        from tuning.runners import ProcessPool
        def warm():
            os.environ["WARMED"] = "yes"
        seen = []
        def task(i):
            seen.append(i)  # state of the function a worker was handed for this map
            return os.environ.get("WARMED"), len(seen)
        pool = ProcessPool(1, warm=warm)
        print(list(pool.map_unordered(task, range(3))))
        pool.close()
        open({str(tmp_path / "ran")!r}, "a").write("x")
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('yes', 1), ('yes', 2), ('yes', 3)]"
    assert (tmp_path / "ran").read_text() == "x"  # the script ran once: in the parent only


@pytest.mark.slow
def test_a_fused_runner_on_worker_processes_keeps_tensorflow_out_of_the_study_process(tmp_path):
    script = tmp_path / "fused.py"
    script.write_text(textwrap.dedent("""
        import sys
        from tuning.fit import FitTask
        from tuning.runners import FusedRunner, ProcessPool
        tasks = [FitTask.make("tenths", {}, {"epochs": 2, "batch_size": 5}, {"units": units}, seed)
                 for units in (1, 2) for seed in (0, 1)]
        pool = ProcessPool(2)
        runner = FusedRunner(2, executor=pool)
        results = list(runner.map(tasks))
        pool.close()
        print(len(results), sorted(r.status for r in results) == ["ok"] * 4, runner.counts["fused"],
              "tensorflow" in sys.modules, "keras" in sys.modules)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "True", "4", "False", "False"], done.stdout


def pid_then_sleep(seconds: float) -> int:
    if seconds:
        time.sleep(seconds)
    return os.getpid()


def test_a_map_stopped_early_kills_its_busy_workers_at_once():
    """A study stopped (Ctrl-C, an error) closes the map it was reading: the fit still running is
    not waited for."""
    pool = ProcessPool(2)
    try:
        items = pool.map_unordered(pid_then_sleep, [0, 600])
        first = next(items)
        busy = [w.process.pid for w, _, _ in pool._busy.values()]
        items.close()
        time.sleep(0.5)
        assert busy and first not in busy
        for pid in busy:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        pool.close()


def test_fits_kept_in_this_process_on_tensorflow_warn_once_past_the_growth(capsys):
    from tuning.runners import InProcessExecutor, make_executor
    from tuning.vocabulary import IN_PROCESS_WARN_MB

    here = make_executor("auto", 1, in_process=True, keras_backend="tensorflow")
    assert isinstance(here, InProcessExecutor) and here.warn_growth_mb == IN_PROCESS_WARN_MB
    assert make_executor("auto", 1, in_process=True, keras_backend="jax").warn_growth_mb is None  # flat on JAX
    assert isinstance(make_executor("auto", 1, keras_backend="tensorflow"), ProcessPool)

    watched = InProcessExecutor(50, why="save the arrays")
    assert list(watched.map_unordered(pid_after_growing, [20, 20, 20])) == [os.getpid()] * 3
    assert capsys.readouterr().err == ""  # +40 MB after the first: not yet
    list(watched.map_unordered(pid_after_growing, [20, 20, 20]))
    warned = capsys.readouterr().err.strip().splitlines()
    assert len(warned) == 1 and "grew by" in warned[0] and warned[0].endswith("save the arrays"), warned
    _held.clear()
