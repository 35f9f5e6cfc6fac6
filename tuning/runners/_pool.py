"""Worker processes that are replaced before they grow: the executor of every runner's fits on this host.

Keras on TensorFlow keeps state for every model a process has built, so a process that fits
models one after another grows by megabytes per fit (docs/performance.md, "Bounded memory") and
a long study would exhaust the machine. Celery's ``max-tasks-per-child`` and Dask's memory-limit
restarts answer the same problem: here each worker reports its resident memory after each task,
and the pool retires it (killed between tasks, never during one) once it has run
:attr:`Recycle.tasks` tasks or has grown more than :attr:`Recycle.growth_mb` since its first
task; the next task starts a fresh process. A task is one call of the mapped function: one fit,
or one fused graph of a config's seeds.

The workers are fresh interpreters (no forked copy of a parent's TensorFlow threads), ignore Ctrl-C
(the parent decides what to stop), and die with the parent however it ends
(:func:`exit_with_parent`: the kernel's parent-death signal, and a thread polling the parent's
pid), so ``kill -9`` of a study leaves no worker behind.
A worker that dies in a task (killed, out of memory) gets its task re-run once in a new worker.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from multiprocessing import connection
from typing import Any

from tuning.vocabulary import RECYCLE_GROWTH_MB, RECYCLE_TASKS

#: Seconds between a worker's looks at its parent: a worker outlives its killed parent by at most this.
PARENT_POLL = 0.5


@dataclass(frozen=True)
class Recycle:
    """When a worker process is replaced: after ``tasks`` tasks, or once its resident memory grew by
    more than ``growth_mb`` since its first task ended (``None``: never, for that rule).

    The defaults keep a study's memory flat to about 150 MB per worker (``benchmarks/soak.py``)
    while a fresh worker, which imports TensorFlow again (about 3 s), is rare: at the growth
    measured on TensorFlow (1-13 MB per fit) a worker is replaced every dozen to hundred fits.
    """

    tasks: int | None = RECYCLE_TASKS
    growth_mb: float | None = RECYCLE_GROWTH_MB

    def due(self, tasks: int, growth_mb: float) -> bool:
        """Whether a worker that ran ``tasks`` tasks and grew ``growth_mb`` is to be replaced now."""
        return ((self.tasks is not None and tasks >= self.tasks)
                or (self.growth_mb is not None and growth_mb > self.growth_mb))


class Growth:
    """A process's resident memory growth since its first task ended, and its tasks so far: what
    recycling a worker, and the warning of a process that cannot be recycled, both judge."""

    def __init__(self) -> None:
        self.tasks = 0
        self.mb = 0.0
        self._first: int | None = None

    def after_task(self, rss: int) -> float:
        """Count a task that ended at ``rss`` resident bytes; the growth since the first, in MB."""
        self.tasks += 1
        if self._first is None:
            self._first = rss
        self.mb = (rss - self._first) / 2**20
        return self.mb


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a task twice (killed, out of memory, crashed)."""


class ProcessPool:
    """``workers`` worker processes on this host, each replaced per ``recycle``; results unordered.

    Each worker's calls get ``cores // workers`` CPU threads (``threads``), so the workers do not
    oversubscribe the cores. ``replaced`` counts the workers retired by the recycling rule.
    """

    in_process = False

    def __init__(self, workers: int, recycle: Recycle | None = None, warm: Callable[[], Any] | None = None):
        import cloudpickle

        self.workers = max(1, int(workers))
        self.recycle = recycle or Recycle()
        self.threads = max(1, (os.cpu_count() or 1) // self.workers)
        self.replaced = 0
        self._warm = cloudpickle.dumps(warm) if warm is not None else None
        self._idle: list[_Worker] = []
        self._busy: dict[Any, tuple[_Worker, int, bytes]] = {}  # connection -> (worker, task index, task)
        self._finalizer = weakref.finalize(self, _stop_all, self._idle, self._busy)
        if warm is not None:  # started now, so that their imports overlap this process's own start
            self._idle += [_Worker.start(self._warm) for _ in range(self.workers)]

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        import cloudpickle

        code = cloudpickle.dumps(function)  # sent once to each worker per map, so a hook keeps its state
        pending = deque((index, cloudpickle.dumps(item)) for index, item in enumerate(items))
        tries: dict[int, int] = {}
        busy = self._busy
        try:
            while pending or busy:
                while pending and len(busy) < self.workers:
                    worker = self._idle.pop() if self._idle else _Worker.start(self._warm)
                    index, item = pending.popleft()
                    worker.send(code, item)
                    busy[worker.conn] = (worker, index, item)
                ready = connection.wait(list(busy))  # a result, or the end of a worker that died
                for conn in [c for c in busy if c in ready]:
                    worker, index, item = busy.pop(conn)
                    try:
                        ok, payload, rss = pickle.loads(conn.recv_bytes())
                    except (EOFError, OSError):  # died in the task: once more in a new worker
                        worker.kill()
                        tries[index] = tries.get(index, 0) + 1
                        if tries[index] > 1:
                            raise WorkerDied(f"a worker process died twice running the same task "
                                             f"(exit code {worker.process.returncode})") from None
                        pending.appendleft((index, item))
                        continue
                    worker.growth.after_task(rss)
                    if self.recycle.due(worker.growth.tasks, worker.growth.mb):
                        worker.kill()
                        self.replaced += 1
                    else:
                        self._idle.append(worker)
                    if not ok:
                        raise payload
                    yield payload
        finally:
            while busy:  # stopped early: their results are not wanted
                busy.popitem()[1][0].kill()

    def close(self) -> None:
        """Stop every worker now: busy ones killed, idle ones asked to exit (also done when the pool
        is collected or the process exits)."""
        self._finalizer()


class _Worker:
    """One worker process, the parent's ends of its two pipes, and what it has done so far.

    Started as ``python -m``-style code with the pipes' descriptors, not with ``multiprocessing``:
    its ``spawn`` re-imports the parent's main script in the child, which re-runs a user's script
    that calls :func:`tuning.run_study` without an ``if __name__ == "__main__"`` guard.
    """

    def __init__(self, process: subprocess.Popen, tasks_out: connection.Connection, results_in: connection.Connection):
        self.process, self.tasks_out, self.conn = process, tasks_out, results_in
        self.code: bytes | None = None
        self.growth = Growth()

    @classmethod
    def start(cls, warm: bytes | None = None) -> _Worker:
        """A new worker; it runs ``warm`` (a pickled function) first, while it waits for a task."""
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))  # this process's imports
        env = {**os.environ, "PYTHONPATH": path}
        process = _from_a_lasting_thread(partial(
            subprocess.Popen,
            [sys.executable, "-c", "import sys; from tuning.runners._pool import serve; serve(*map(int, sys.argv[1:]))",
             str(task_read), str(result_write), str(os.getpid())],
            pass_fds=(task_read, result_write), stdin=subprocess.DEVNULL, env=env))
        os.close(task_read)
        os.close(result_write)
        worker = cls(process, connection.Connection(task_write, readable=False),
                     connection.Connection(result_read, writable=False))
        if warm is not None:
            worker.tasks_out.send_bytes(pickle.dumps(("warm", warm)))
        return worker

    def send(self, code: bytes, item: bytes) -> None:
        self.tasks_out.send_bytes(pickle.dumps(("task", code if code != self.code else None, item)))
        self.code = code

    def kill(self) -> None:
        """End the worker at once: between tasks it holds nothing unwritten (results are sent whole),
        and TensorFlow's own exit takes seconds."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.tasks_out.close()
        self.conn.close()


def _stop_all(idle: list[_Worker], busy: dict[Any, tuple[_Worker, int, bytes]]) -> None:
    while busy:
        busy.popitem()[1][0].kill()
    while idle:
        idle.pop().kill()


def serve(tasks_fd: int, results_fd: int, parent: int) -> None:
    """A worker's life: run each task it is sent, answer (ok, result or error, resident bytes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    exit_with_parent(parent)
    import cloudpickle

    tasks = connection.Connection(tasks_fd, writable=False)
    conn = connection.Connection(results_fd, readable=False)
    function = None
    while True:
        try:
            message = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        if message is None:
            return
        if message[0] == "warm":  # imports, before the first task comes
            try:
                pickle.loads(message[1])()
            except Exception:  # noqa: BLE001 - the first task meets the same error and reports it
                pass
            continue
        _, code, item = message
        if code is not None:
            function = pickle.loads(code)
        try:
            answer = (True, function(pickle.loads(item)))
        except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
            answer = (False, _picklable(error))
        gc.collect()
        conn.send_bytes(cloudpickle.dumps((*answer, resident_bytes())))


def _picklable(error: BaseException) -> BaseException:
    import cloudpickle

    try:
        cloudpickle.loads(cloudpickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(error).__name__}: {error}")


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; elsewhere its peak so far)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def exit_with_parent(parent: int) -> None:
    """End this process as soon as ``parent`` (its starter) is gone.

    A worker blocked on its pipe would notice a dead parent, but one in a fit runs it to its end
    (minutes), holding hundreds of MB. Two watchers, because each misses a case:

    - The kernel's parent-death signal (Linux ``PR_SET_PDEATHSIG``, SIGKILL). It needs nothing of
      this process, so it fires even while the worker's main thread holds the GIL for seconds
      (loading TensorFlow's shared library, a long C++ call), which starved the polling thread
      past 10 s on a loaded machine. It fires when the *thread* that started the worker ends,
      which is why workers are started from the main thread or one that lasts as long
      (:func:`_from_a_lasting_thread`).
    - A daemon thread polling the parent pid every :data:`PARENT_POLL` seconds, where there is no
      such signal.

    Once re-parented the worker exits at once with ``os._exit``: a dead parent's pipes have nothing
    to flush to. ``parent`` comes from the parent, so a worker whose parent died before this ran
    exits too.
    """
    _kill_with_parent_thread()
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_starter: queue.SimpleQueue | None = None
_starter_lock = threading.Lock()


def _from_a_lasting_thread(start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """``start()`` (a process start) run on a thread that ends only with this process: the main
    thread, or else one daemon thread kept for it. A worker started from a thread that ends (a Dask
    worker's task thread, a user's own thread) would otherwise get its parent-death signal then,
    while its parent lives on. Not a ``ThreadPoolExecutor``: it refuses new work once the interpreter
    starts shutting down and ends its thread then, which would signal the workers it started."""
    global _starter
    if threading.current_thread() is threading.main_thread():
        return start()
    with _starter_lock:
        if _starter is None:
            _starter = queue.SimpleQueue()
            threading.Thread(target=_run_starts, args=(_starter,), name="tuning-worker-starter", daemon=True).start()
    future: Future = Future()
    _starter.put((start, future))
    return future.result()


def _forget_starter() -> None:
    """In a forked child: the starter thread was not copied, so a start there makes its own."""
    global _starter
    _starter = None


os.register_at_fork(after_in_child=_forget_starter)


def _run_starts(requests: queue.SimpleQueue) -> None:
    while True:
        start, future = requests.get()
        try:
            future.set_result(start())
        except BaseException as error:  # noqa: BLE001 - raised in the thread that asked
            future.set_exception(error)


def _kill_with_parent_thread() -> None:
    """Ask Linux for SIGKILL when the thread that started this process ends (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl in this libc: the polling thread still watches
        pass
