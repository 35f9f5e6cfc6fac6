"""One worker on a study: its lease kept alive by a heartbeat, its limits, its clean exit.

Every run of the search loop is a worker (``tuning run`` is the study's first, ``tuning worker``
joins it): it registers in the store, a heartbeat thread renews its lease and its claims every
third of the lease while it trains (the fits run in this process's other threads or in worker
processes, so the heartbeat is not held up by them), and on the way out, however the loop ended
(done, a limit, Ctrl-C, SIGTERM, an error), every claim is released in one transaction. A worker
killed outright releases nothing: its claims expire with its lease and the next worker takes them
over (:mod:`tuning.store._claims`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuning.errors import SpecError
from tuning.store import DEFAULT_LEASE
from tuning.trials import owner_tag

if TYPE_CHECKING:
    from tuning.store import Leases, Store


class WorkerLimit(Exception):
    """A worker reached its ``--max-fits`` or ``--until``: it stops as after a Ctrl-C, and exits 0."""


@dataclass(frozen=True)
class WorkerOptions:
    """How long a worker's claims live without a heartbeat, and when it stops of its own accord.

    Args:
        lease: seconds; a killed worker's work is taken over this long after its last heartbeat.
        max_fits: stop once this many fits were computed by this worker (``None``: no limit).
        until: stop taking work at this time (seconds since the epoch; ``None``: no limit).
    """

    lease: float = DEFAULT_LEASE
    max_fits: int | None = None
    until: float | None = None

    def reached(self, fits_run: int) -> str | None:
        """Why this worker should stop now, or ``None``."""
        if self.max_fits is not None and fits_run >= self.max_fits:
            return f"--max-fits {self.max_fits} reached"
        if self.until is not None and time.time() >= self.until:
            return "--until reached"
        return None


def parse_until(text: str, now: float | None = None) -> float:
    """``--until``: a duration from now (``90s``, ``30m``, ``2h``), a clock time today or tomorrow
    (``18:30``), or an ISO date and time (``2026-12-24T08:00``); seconds since the epoch."""
    now = time.time() if now is None else now
    duration = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smh])", text.strip())
    if duration:
        return now + float(duration[1]) * {"s": 1, "m": 60, "h": 3600}[duration[2]]
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    try:
        if clock:
            today = dt.datetime.fromtimestamp(now)
            at = today.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
            return (at + dt.timedelta(days=1) if at.timestamp() <= now else at).timestamp()
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise SpecError(f"not a time: {text!r} (a duration like 30m or 2h, a clock time like 18:30, or an ISO "
                        "date and time like 2026-12-24T08:00)", field="--until") from None


class WorkerSession:
    """This process's lease on ``study``: registered on entry, renewed by a heartbeat thread,
    every claim released on exit. ``leases`` is what the backend and the evaluator claim with."""

    def __init__(self, store: Store, study: str, options: WorkerOptions | None = None):
        self.options = options or WorkerOptions()
        self.owner = owner_tag()
        self.leases: Leases = store.leases(study, self.owner, self.options.lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="tuning-heartbeat", daemon=True)
        self.heartbeat_failures = 0

    def __enter__(self) -> WorkerSession:
        self.leases.register(os.uname().nodename, os.getpid())
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.leases.stop()
        except Exception:  # the database is gone: the claims expire with the lease instead
            if exc_info[0] is None:
                raise

    def expire_gone(self) -> list[str]:
        """End at once the leases of this host's workers on the study whose process has ended
        (``kill -9``, a crash): their work is taken over now instead of a lease later. Workers of
        other hosts, and a reused pid, wait out their lease. Returns their owner tags."""
        host = os.uname().nodename
        gone = [owner for owner, pid in self.leases.running_on(host) if owner != self.owner and _process_gone(pid)]
        self.leases.expire(gone)
        return gone

    def _beat(self) -> None:
        while not self._stop.wait(self.options.lease / 3):
            try:
                self.leases.renew()
            except Exception:  # the database is away for a moment; the next beat tries again
                self.heartbeat_failures += 1

    @property
    def poll_seconds(self) -> float:
        """How often an idle worker looks for work that another worker's lease let go."""
        return max(0.2, min(2.0, self.options.lease / 6))


def worker_lines(store: Store, study: str, now: float | None = None) -> list[str]:
    """What ``tuning status`` says of the workers that joined ``study``: each one alive or not,
    what it holds now, the fits it started and the stale claims it took over; then the fits
    started in all against the fits stored (a dead worker's lost fits are the difference)."""
    now = time.time() if now is None else now
    workers = store.workers(study)
    if not workers:
        return []
    lines = []
    for w in workers:
        points = sum(1 for item in w["holds"] if item.startswith("point:"))
        fits = len(w["holds"]) - points
        state = {"running": f"alive (heartbeat {now - w['heartbeat_at']:.0f} s ago)",
                 "lost": f"lost (no heartbeat for {now - w['heartbeat_at']:.0f} s: its claims are taken over)",
                 "stopped": "stopped"}[w["state"]]
        lines.append(f"worker {w['owner']}: {state}; holds {points} config(s), {fits} fit(s); "
                     f"{w['fits_started']} fits started, {w['takeovers']} stale claim(s) taken over")
    alive = sum(1 for w in workers if w["state"] == "running")
    lines.append(f"workers: {alive} alive of {len(workers)}; {store.count_fit_starts(study)} fits started, "
                 f"{store.count_fits(study)} stored")
    return lines


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it runs
        return False
    return False
