"""Fits on a Dask cluster: the executor of ``runner: dask``.

Each task (one fit, or one fused graph of a config's seeds: plain picklable data) is a Dask
future, which the Dask worker runs in a process of its own (:func:`in_worker_process`); results come back as they finish (``as_completed``) and the study's process stores each
the moment it arrives, so only this process writes to the store and a fit is stored once. A
Dask worker that dies mid-task has its task re-run elsewhere by the scheduler (up to Dask's
``distributed.scheduler.allowed-failures``), and the stored fit is the one that finished.

Without a scheduler address (``--scheduler``, the spec's ``scheduler`` or
``$DASK_SCHEDULER_ADDRESS``) a ``LocalCluster`` is started on this machine: one worker process
per core (or per ``jobs``), one thread each, its web routes on a free loopback port; it stops
with the study, and its workers end with this process however it ends. ``distributed`` is imported here only.

Why a process of its own: a Dask worker's event loop and heartbeats share the interpreter with its
tasks and draw from Python's global ``random`` while a task runs (measured: ``random.seed(0)``
then three seconds later ``random.random()`` in a task gave 0.8451, not 0.8444). Keras seeds a
model's initializers from that generator after ``keras.utils.set_random_seed``, so a model built in
a Dask worker's thread got other initial weights now and then, and the same spec and seeds gave
other scores. In a process of its own nothing else draws; and that process is replaced as
:class:`~tuning.runners.Recycle` says, which bounds a Dask worker's memory as it bounds a local
worker's (Dask's memory limit sees the worker process, not what Keras holds in a child).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from tuning.errors import CutShort, TuningError
from tuning.runners._pool import ProcessPool, Recycle

#: Dask's own variable for the scheduler to connect to, honoured as Dask does.
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"
#: Seconds to wait for a scheduler before saying it cannot be reached, unless Dask's own setting
#: for it is in the environment (then Dask's value, as a ``Client`` takes it).
CONNECT_TIMEOUT = 10
CONNECT_TIMEOUT_VARIABLE = "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored while processes are started, which inherit that: a terminal's Ctrl-C reaches
    the whole process group, and a Dask worker process interrupted in its event loop prints
    tracebacks over the study's one line. This process still gets it, and closing the cluster
    (or its death) ends them. Only the main thread can change a signal's handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


#: Seconds a scheduler may take to answer Dask's handshake once the connection is open.
HANDSHAKE_SECONDS = 5


def _connect(distributed: Any, address: str) -> Any:
    """A ``Client`` of the scheduler at ``address``, or :class:`TimeoutError` once the connect timeout
    and :data:`HANDSHAKE_SECONDS` have passed.

    Dask bounds the opening of the connection but not the scheduler's answer to its handshake, so
    an address where something else listens (a web server, a database) would make the ``Client``
    wait forever; it is built in a daemon thread that is left behind when nothing answers.
    """
    import dask

    from_dask = CONNECT_TIMEOUT_VARIABLE in os.environ
    seconds = (dask.utils.parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")
               if from_dask else CONNECT_TIMEOUT)
    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = distributed.Client(address, **({} if from_dask else {"timeout": CONNECT_TIMEOUT}))
        except BaseException as exc:  # handed to the caller's thread
            made["error"] = exc

    thread = threading.Thread(target=connect, name="tuning-dask-connect", daemon=True)
    thread.start()
    thread.join(seconds + HANDSHAKE_SECONDS)
    if thread.is_alive():
        raise TimeoutError(f"something listens there but no Dask scheduler answered within "
                           f"{seconds + HANDSHAKE_SECONDS:g} s")
    error = made.get("error")
    if error is None:
        return made["client"]
    if isinstance(error, OSError | ValueError) or not isinstance(error, Exception):  # Ctrl-C stays Ctrl-C
        raise error
    # whatever answered was no Dask scheduler (a proxy's HTTP reply read as a frame size ...)
    raise OSError(f"what answered is no Dask scheduler ({type(error).__name__}: {_first_line(error)})")


class DaskUnavailable(TuningError):
    """``distributed`` is not installed, or its scheduler cannot be reached."""


class DaskLost(DaskUnavailable, CutShort):
    """The scheduler went away mid-study: what was stored is kept, and the study can be resumed."""


class DaskExecutor:
    """Tasks as Dask futures on the scheduler at ``address`` (else a ``LocalCluster`` of ``workers`` processes).

    ``workers`` becomes the number of tasks the cluster runs at once (its threads), which the
    fused runner uses to split graphs so that every worker has one; each task gets one CPU thread.
    """

    in_process = False
    threads = 1

    def __init__(self, address: str | None = None, workers: int | None = None, recycle: Recycle | None = None,
                 warm: Callable[[], Any] | None = None):
        try:
            import distributed
        except ImportError:
            raise DaskUnavailable("runner dask needs the distributed package: pip install 'tuning[dask]'") from None
        address = address or os.environ.get(SCHEDULER_VARIABLE) or None
        self.address = address
        self.recycle = recycle or Recycle()
        self.warm = warm
        self.cluster = None
        if address is None:
            # The cluster's processes leave Ctrl-C to this one, which stops them, and log nothing below
            # CRITICAL: a task's error reaches the study through its future; a worker's "failed to
            # reach the scheduler" as the run stops it would only bury the run's one line.
            with _ctrl_c_ignored():
                # A port of its own on loopback for the scheduler's web routes: None still takes :8787,
                # which a second study's cluster on the machine then fights over, warning in many lines.
                self.cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    dashboard_address="127.0.0.1:0", silence_logs=50)  # logging.CRITICAL
            self.client = distributed.Client(self.cluster)
        else:
            # The client's own logging (reconnect attempts, a lost scheduler's traceback) would bury the
            # run's one line: what goes wrong reaches the study through the futures and is said there.
            for name in ["distributed", *[n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]]:
                logging.getLogger(name).setLevel(logging.CRITICAL)  # Dask's config sets some children's own
            try:
                self.client = _connect(distributed, address)
            except (OSError, ValueError) as why:  # TimeoutError is an OSError
                raise DaskUnavailable(f"cannot reach the Dask scheduler at {address}: {_first_line(why)}") from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        from concurrent.futures import CancelledError

        from distributed import as_completed
        from distributed.comm.core import CommClosedError

        task = partial(in_worker_process, function, self.recycle, self.warm)
        futures = self.client.map(task, list(items), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        except (CancelledError, CommClosedError) as why:  # the scheduler went away mid-study
            where = f"the Dask scheduler at {self.address}" if self.address else "the study's LocalCluster"
            reason = ("its connection closed" if "scheduler-connection-lost" in str(why) or isinstance(why, CommClosedError)
                      else _first_line(why))  # not Dask's task key
            raise DaskLost(f"lost {where} mid-study ({reason}); every finished fit is stored") from None
        finally:  # stopped early (Ctrl-C, SIGTERM, an error): the cluster drops what is left
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        """Disconnect, and stop the ``LocalCluster`` if this executor started one."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


_pools = threading.local()


def in_worker_process(function: Callable[[Any], Any], recycle: Recycle, warm: Callable[[], Any] | None,
                      item: Any) -> Any:
    """Run on a Dask worker: ``function(item)`` in this worker thread's own child process.

    The child (a :class:`~tuning.runners.ProcessPool` of one, kept for the thread's later tasks)
    is a fresh interpreter with nothing else drawing random numbers, replaced per ``recycle``, and
    it dies with the Dask worker, however that one ends.
    """
    pool = getattr(_pools, "pool", None)
    if pool is None:
        pool = _pools.pool = ProcessPool(1, recycle, warm)
    [result] = pool.map_unordered(function, [item])
    return result


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
