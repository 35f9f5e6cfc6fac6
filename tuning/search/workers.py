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
from typing import TYPE_CHECKING, Any

from tuning.errors import SpecError
from tuning.store import process_gone
from tuning.trials import owner_tag
from tuning.vocabulary import DEFAULT_LEASE

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

    def fits_left(self, fits_run: int) -> int | None:
        """How many more fits this worker may claim (``None``: no limit): a runner that fuses a
        config's seeds computes every fit it is handed, so a claim never exceeds what is left."""
        return None if self.max_fits is None else max(self.max_fits - fits_run, 0)

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
        if float(duration[1]) <= 0:
            raise SpecError(f"{text!r} is no time at all: give a duration to run for, like 30m", field="--until")
        return now + float(duration[1]) * {"s": 1, "m": 60, "h": 3600}[duration[2]]
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    try:
        if clock:
            today = dt.datetime.fromtimestamp(now)
            at = today.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
            return (at + dt.timedelta(days=1) if at.timestamp() <= now else at).timestamp()
        when = dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise SpecError(f"not a time: {text!r} (a duration like 30m or 2h, a clock time like 18:30, or an ISO "
                        "date and time like 2026-12-24T08:00)", field="--until") from None
    if when <= now:  # a worker told to stop before it starts would fit nothing and say so nowhere
        raise SpecError(f"{text!r} has already passed: give a time to come", field="--until")
    return when


#: How often a worker re-reads who else works on its study for its live progress (seconds).
VIEW_SECONDS = 5.0


class WorkerSession:
    """This process's lease on ``study``: registered on entry, renewed by a heartbeat thread,
    every claim released on exit. ``leases`` is what the backend and the evaluator claim with.

    ``watch``: the reporter to tell, from the heartbeat thread every :data:`VIEW_SECONDS`, what
    the study's other workers are doing (:func:`workers_line`) and when one joins, stops or is
    lost (:func:`worker_events`); ``None`` for a worker nobody watches.
    """

    def __init__(self, store: Store, study: str, options: WorkerOptions | None = None, watch: Any = None):
        self.options = options or WorkerOptions()
        self.owner = owner_tag()
        self.leases: Leases = store.leases(study, self.owner, self.options.lease)
        self._store, self._study, self._watch = store, study, watch
        self._seen: dict[str, str] = {}  # owner -> state, as last shown
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
        gone = [owner for owner, pid in self.leases.running_on(host) if owner != self.owner and process_gone(pid)]
        self.leases.expire(gone)
        return gone

    def show_workers(self) -> None:
        """Tell the watching reporter what the other workers hold now, and who joined, stopped or
        was lost since the last look (a look that fails is skipped: the view is not worth a crash)."""
        if self._watch is None:
            return
        try:
            workers = [{**w, "state": state_now(w)} for w in self._store.workers(self._study)]
        except Exception:
            return
        for event in worker_events(self._seen, workers, self.owner):
            self._watch.note(event)
        self._seen = {w["owner"]: w["state"] for w in workers}
        self._watch.workers(workers_line(workers, self.owner))

    def _beat(self) -> None:
        renew_every = self.options.lease / 3
        tick = min(renew_every, VIEW_SECONDS) if self._watch is not None else renew_every
        renewed = time.monotonic()
        while not self._stop.wait(tick):
            if time.monotonic() - renewed >= renew_every - 0.01:
                try:
                    self.leases.renew()
                    renewed = time.monotonic()
                except Exception:  # the database is away for a moment; the next beat tries again
                    self.heartbeat_failures += 1
            self.show_workers()

    @property
    def poll_seconds(self) -> float:
        """How often an idle worker looks for work that another worker's lease let go."""
        return max(0.2, min(2.0, self.options.lease / 6))


def ended_here(worker: dict[str, Any]) -> bool:
    """A worker of this host whose process has ended (``kill -9``, a crash): gone before its lease
    says so. Workers of other hosts are known by their lease alone."""
    return worker["host"] == os.uname().nodename and process_gone(worker["pid"])


def state_now(worker: dict[str, Any]) -> str:
    """A worker's state as status and the live row both read it: its stored state, except that a
    running worker of this host whose process has ended is lost now, not when its lease runs out."""
    return "lost" if worker["state"] == "running" and ended_here(worker) else worker["state"]


def live_owners(store: Store, study: str) -> set[str]:
    """The owners that can still finish what they started: their lease runs, their process lives."""
    return store.live_owners(study) - {w["owner"] for w in store.workers(study) if ended_here(w)}


def worker_lines(store: Store, study: str, now: float | None = None) -> list[str]:
    """What ``tuning status`` says of the workers that joined ``study``: each one alive or not,
    what it holds now, the fits it started and the stale claims it took over; then the fits
    started in all against the fits stored (a dead worker's lost fits are the difference).
    Nothing for a study one run fitted and ended cleanly (every fit it started stored)."""
    now = time.time() if now is None else now
    workers = store.workers(study)
    if not workers:
        return []
    started, stored = store.count_fit_starts(study), store.count_fits(study)
    if len(workers) == 1 and workers[0]["state"] == "stopped" and started <= stored:
        return []  # one run that ended cleanly: nothing a reader needs about workers
    lines = []
    alive = 0
    # A study run, resumed and joined many times keeps every worker it had: past the newest few,
    # the ended ones holding nothing are summed up in one line.
    ended = [w for w in workers if w["state"] != "running" and not w["holds"]]
    summed = ended[_SHOWN_ENDED:] if len(ended) > _SHOWN_ENDED + 1 else []
    summed_owners = {w["owner"] for w in summed}
    for w in workers:
        if w["owner"] in summed_owners:
            continue
        since = now - w["heartbeat_at"]
        if state_now(w) == "lost" and w["state"] == "running":
            # killed (kill -9, a crash) within its lease: the next worker or resume here takes over at once
            state = f"lost (its process {w['pid']} is gone; heartbeat {since:.0f} s ago: its claims are taken over)"
        elif w["state"] == "running":
            state = f"alive (heartbeat {since:.0f} s ago, lease {w['lease']:.0f} s)"
            alive += 1
        elif w["state"] == "lost":
            state = f"lost (no heartbeat for {since:.0f} s: its claims are taken over)"
        else:
            state = "stopped"
        lines.append(f"worker {w['owner']}: {state}; holds {_holding(w)}; "
                     f"{w['fits_started']} fits started, {w['takeovers']} stale claim(s) taken over")
    if summed:
        lines.append(f"{len(summed)} older worker(s) stopped or lost, holding nothing; "
                     f"{sum(w['fits_started'] for w in summed)} fits started, "
                     f"{sum(w['takeovers'] for w in summed)} stale claim(s) taken over")
    unfinished = (f" ({started - stored} started and not stored: running now, or in flight when their worker "
                  "stopped or was lost; they are fitted again, and no finished fit is lost)" if started > stored else "")
    lines.append(f"workers: {alive} alive of {len(workers)}; {started} fits started, {stored} stored{unfinished}")
    return lines


def workers_line(workers: list[dict[str, Any]], me: str) -> str:
    """The live progress row of the workers on a study (``workers`` as :meth:`Store.workers` gives
    them): how many are alive and lost, what this worker and each other live one holds, the stale
    claims taken over. Empty while this worker is the only live one and none was lost."""
    others = [w for w in workers if w["owner"] != me and w["state"] != "stopped"]
    if not others:
        return ""
    alive = sum(1 for w in workers if w["state"] == "running")
    lost = sum(1 for w in workers if w["state"] == "lost")
    parts = [f"{alive} alive" + (f", {lost} lost" if lost else "")]
    mine = next((w for w in workers if w["owner"] == me), None)
    if mine is not None:
        parts.append(f"this one holds {_holding(mine)}")
    running = [w for w in others if w["state"] == "running"]
    parts += [f"{_short_owner(w['owner'])} {_holding(w)}" for w in running[:_SHOWN_OTHERS]]
    if len(running) > _SHOWN_OTHERS:
        parts.append(f"{len(running) - _SHOWN_OTHERS} more")
    takeovers = sum(w["takeovers"] for w in workers)
    if takeovers:
        parts.append(f"{takeovers} stale claim(s) taken over")
    return " · ".join(parts)


def worker_events(seen: dict[str, str], workers: list[dict[str, Any]], me: str) -> list[str]:
    """One line per other worker that joined, stopped or was lost since ``seen`` (owner -> state
    at the last look; empty at the first look, when only the lost ones still holding work are worth
    a line: one lost runs ago, its claims taken over since, is no news to every later run)."""
    events = []
    for w in workers:
        owner, state, before = w["owner"], w["state"], seen.get(w["owner"])
        if owner == me or state == before:
            continue
        if state == "running" and seen:
            events.append(f"worker {owner} joined the study")
        elif state == "lost" and (seen or w["holds"]):
            why = f"its process {w['pid']} is gone" if ended_here(w) else "no heartbeat for a lease"  # as status says
            events.append(f"worker {owner} lost ({why}): its claims are taken over")
        elif state == "stopped" and before == "running":
            events.append(f"worker {owner} stopped: its claims released")
    return events


_SHOWN_OTHERS = 4
#: ended workers holding nothing that `tuning status` lists one a line (the newest) before summing up the rest
_SHOWN_ENDED = 5


def _holding(worker: dict[str, Any]) -> str:
    points = sum(1 for item in worker["holds"] if item.startswith("point:"))
    fits = sum(1 for item in worker["holds"] if item.startswith("fit:"))
    return f"{points} config(s), {fits} fit(s)"


def _short_owner(owner: str) -> str:
    """``host:pid`` of a ``host:pid:nonce`` tag: enough to find the process."""
    return ":".join(owner.split(":")[:2])


