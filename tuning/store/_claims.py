"""Claims with leases: how several workers share one study without doing the same work twice.

A worker *claims* a piece of work before it computes it: ``point:<config_key>`` while it trials a
config, ``fit:<config_key>:<seed>`` while it fits one seed of it. A claim is a row keyed by (study,
item), so on every database exactly one worker gets it. It carries a lease: an expiry that the
worker's heartbeat pushes forward while it lives (:meth:`Leases.renew`). A claim whose lease ran
out (its worker was killed, its machine rebooted, its network cut) is *taken over* by the next
worker that asks for it, and that is recorded (``taken_from``, ``tuning_workers.takeovers``).

Liveness is the lease alone, never a process id: a worker on another host is alive exactly as
long as it renews its lease. Times are each worker's wall clock, so the hosts' clocks must agree
to well within a lease (NTP does).

On SQLite (several workers on one host) the database file is switched to WAL, every connection
waits up to a minute for a lock, and each claim transaction is retried when SQLite still answers
"database is locked"; PostgreSQL (several hosts) needs none of that.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa

from tuning.store._schema import claims_table, fit_starts_table, fits_table, workers_table
from tuning.vocabulary import DEFAULT_LEASE

#: The retries' jitter, drawn from a generator of its own: the heartbeat thread retries while a
#: fit in this process builds its model, and Keras seeds initializers from Python's global one.
_jitter = random.Random()

T = TypeVar("T")


def point_item(config_key: str) -> str:
    """The claim item of a config being trialled."""
    return f"point:{config_key}"


def fit_item(config_key: str, seed: int) -> str:
    """The claim item of one (config, seed) fit."""
    return f"fit:{config_key}:{seed}"


def retrying(action: Callable[[], T], attempts: int = 30) -> T:
    """Run a database ``action`` again while SQLite answers "database is locked" (or busy).

    The busy timeout covers most waits; a writer that began its transaction by reading can still be
    refused at once (SQLite would otherwise deadlock two such writers), and the whole transaction
    is then safe to run again. Other errors pass through.
    """
    for attempt in range(attempts):
        try:
            return action()
        except sa.exc.OperationalError as exc:
            text = str(exc.orig or exc).lower()
            if attempt == attempts - 1 or ("locked" not in text and "busy" not in text):
                raise
            time.sleep(min(2.0, 0.02 * 2 ** attempt) * (0.5 + _jitter.random()))
    raise AssertionError("unreachable")


def _insert_ignoring(engine: sa.Engine, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the engine's dialect (SQLite and PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


class Leases:
    """One worker's claims on one study, in the store at ``engine``.

    Args:
        engine: the store's engine.
        study: the study's name.
        owner: this worker's tag (unique per process: ``host:pid:nonce``).
        lease: seconds a claim lives unless renewed.
    """

    def __init__(self, engine: sa.Engine, study: str, owner: str, lease: float = DEFAULT_LEASE):
        self.engine, self.study, self.owner, self.lease = engine, study, owner, lease
        self.takeovers = 0  #: stale claims this worker took over so far (its loop then recovers their trials)

    # -- the worker's own row ------------------------------------------------------------------

    def register(self, host: str, pid: int) -> None:
        """Record this worker as running on the study (its lease starts now)."""
        now = time.time()
        row = dict(owner=self.owner, study=self.study, host=host, pid=pid, started_at=now, heartbeat_at=now,
                   expires_at=now + self.lease, state="running", fits_started=0, takeovers=0)

        def act():
            with self.engine.begin() as conn:
                conn.execute(workers_table.delete().where(workers_table.c.owner == self.owner))
                conn.execute(workers_table.insert().values(**row))

        retrying(act)

    def renew(self) -> int:
        """The heartbeat: push this worker's lease and every claim it holds a lease further on.
        Returns how many claims it holds."""
        now = time.time()

        def act():
            with self.engine.begin() as conn:
                conn.execute(workers_table.update().where(workers_table.c.owner == self.owner)
                             .values(heartbeat_at=now, expires_at=now + self.lease))
                return conn.execute(claims_table.update().where(claims_table.c.owner == self.owner)
                                    .values(expires_at=now + self.lease)).rowcount

        return retrying(act)

    def stop(self) -> None:
        """Release every claim at once and mark the worker stopped (a clean exit, whatever ended it)."""
        def act():
            with self.engine.begin() as conn:
                conn.execute(claims_table.delete().where(claims_table.c.owner == self.owner))
                conn.execute(workers_table.update().where(workers_table.c.owner == self.owner)
                             .values(state="stopped", expires_at=time.time()))

        retrying(act)

    def expire(self, owners: Iterable[str]) -> None:
        """End the leases of ``owners`` now (workers known to be gone: a process of this host that
        no longer runs), so that their claims are taken over without waiting out the lease."""
        owners = list(owners)
        if not owners:
            return
        past = time.time() - 1

        def act():
            with self.engine.begin() as conn:
                conn.execute(workers_table.update().where(workers_table.c.owner.in_(owners),
                                                          workers_table.c.expires_at > past).values(expires_at=past))
                conn.execute(claims_table.update().where(claims_table.c.study == self.study,
                                                         claims_table.c.owner.in_(owners)).values(expires_at=past))

        retrying(act)

    def running_on(self, host: str) -> list[tuple[str, int]]:
        """(owner, pid) of the workers on this study from ``host`` whose lease has not run out."""
        w = workers_table.c
        with self.engine.connect() as conn:
            return [(r.owner, r.pid) for r in conn.execute(sa.select(w.owner, w.pid).where(
                w.study == self.study, w.host == host, w.state == "running", w.expires_at >= time.time()))]

    # -- claims --------------------------------------------------------------------------------

    def claim(self, items: Iterable[str], fits: Iterable[tuple[str, int]] = ()) -> list[str]:
        """Claim ``items`` in one transaction; return those now held by this worker (free ones, ones
        it already held, and expired ones taken over). ``fits``: the (config_key, seed) of the fit
        items, whose start is recorded in ``tuning_fit_starts`` when claimed here (not when already
        held, so a fit is counted once per worker that starts it). A fit already stored is never
        claimed: another worker may have fitted it and released its claim a moment ago."""
        items = list(items)
        starts = {fit_item(key, seed): (key, seed) for key, seed in fits}

        def act():
            now = time.time()
            got, taken = [], 0
            c = claims_table.c
            with self.engine.begin() as conn:
                for item in items:
                    inserted = conn.execute(_insert_ignoring(self.engine, claims_table).values(
                        study=self.study, item=item, owner=self.owner, claimed_at=now,
                        expires_at=now + self.lease)).rowcount
                    if inserted:
                        got.append((item, True))
                        continue
                    row = conn.execute(sa.select(c.owner).where(c.study == self.study, c.item == item)).first()
                    if row is not None and row.owner == self.owner:
                        got.append((item, False))
                        continue
                    # Taken over only if its lease has run out: the WHERE is checked again under the
                    # row's write lock, so two workers cannot both take the same expired claim.
                    updated = conn.execute(claims_table.update().where(
                        c.study == self.study, c.item == item, c.expires_at < now).values(
                        owner=self.owner, claimed_at=now, expires_at=now + self.lease,
                        taken_from=row.owner if row is not None else None)).rowcount
                    if updated:
                        got.append((item, True))
                        taken += 1
                # A fit stored a moment ago by a worker that has just released its claim is not
                # computed again. Read after this transaction's first write: on SQLite the write
                # lock is held from there on, so no store can commit in between.
                stored = self._stored([item for item, _ in got if item in starts], starts, conn)
                if stored:
                    conn.execute(claims_table.delete().where(c.study == self.study, c.owner == self.owner,
                                                             c.item.in_(stored)))
                    got = [(item, new) for item, new in got if item not in stored]
                new_fits = [starts[item] for item, new in got if new and item in starts]
                if new_fits:
                    conn.execute(fit_starts_table.insert(), [dict(study=self.study, config_key=key, seed=seed,
                                                                  owner=self.owner, started_at=now)
                                                             for key, seed in new_fits])
                if new_fits or taken:
                    w = workers_table.c
                    conn.execute(workers_table.update().where(w.owner == self.owner).values(
                        fits_started=w.fits_started + len(new_fits), takeovers=w.takeovers + taken))
            return [item for item, _ in got], taken

        held, taken = retrying(act)
        self.takeovers += taken
        return held

    def _stored(self, items: list[str], starts: dict[str, tuple[str, int]], conn: sa.Connection) -> set[str]:
        """Which of the fit ``items`` are stored already (read on ``conn``, inside its transaction)."""
        if not items:
            return set()
        f = fits_table.c
        keys = sorted({starts[item][0] for item in items})
        rows = conn.execute(sa.select(f.config_key, f.seed).where(f.study == self.study, f.config_key.in_(keys)))
        return {fit_item(r.config_key, r.seed) for r in rows} & set(items)

    def release(self, items: Iterable[str]) -> None:
        """Give ``items`` back (a trial told or interrupted, a fit stored)."""
        items = list(items)
        if not items:
            return
        c = claims_table.c

        def act():
            with self.engine.begin() as conn:
                conn.execute(claims_table.delete().where(c.study == self.study, c.owner == self.owner,
                                                         c.item.in_(items)))

        retrying(act)

    def held_by_others(self, prefix: str = "") -> list[str]:
        """Items of the study (starting with ``prefix``) that another worker holds under a live lease."""
        c = claims_table.c
        query = sa.select(c.item).where(c.study == self.study, c.owner != self.owner, c.expires_at >= time.time())
        if prefix:
            query = query.where(c.item.startswith(prefix))
        with self.engine.connect() as conn:
            return [r.item for r in conn.execute(query)]


def live_owners(engine: sa.Engine, study: str) -> set[str]:
    """Owners of the workers on ``study`` whose lease has not run out (those that can still finish
    the trials they started)."""
    w = workers_table.c
    if not sa.inspect(engine).has_table("tuning_workers"):
        return set()
    with engine.connect() as conn:
        return {r.owner for r in conn.execute(sa.select(w.owner).where(
            w.study == study, w.state == "running", w.expires_at >= time.time()))}


def workers_of(engine: sa.Engine, study: str) -> list[dict[str, Any]]:
    """Every worker that joined ``study``, newest first, with what it holds now: plain dicts for
    ``tuning status`` (``state``: running, stopped, or lost, for a running one whose lease ran out)."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("tuning_workers"):
        return []
    w, c = workers_table.c, claims_table.c
    now = time.time()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(workers_table).where(w.study == study).order_by(w.started_at.desc())).all()
        claims = conn.execute(sa.select(c.owner, c.item, c.expires_at, c.taken_from)
                              .where(c.study == study)).all()
    out = []
    for r in rows:
        held = [cl.item for cl in claims if cl.owner == r.owner]
        state = r.state if r.state != "running" or r.expires_at >= now else "lost"
        # A running worker's lease is how far each heartbeat pushes its expiry (both set at one moment).
        lease = r.expires_at - r.heartbeat_at if r.state == "running" else None
        out.append(dict(owner=r.owner, host=r.host, pid=r.pid, state=state, started_at=r.started_at,
                        heartbeat_at=r.heartbeat_at, lease=lease, holds=held, fits_started=r.fits_started,
                        takeovers=r.takeovers))
    return out


def count_fit_starts(engine: sa.Engine, study: str) -> int:
    """How many fits were started on ``study`` by every worker (a fit started twice counts twice)."""
    if not sa.inspect(engine).has_table("tuning_fit_starts"):
        return 0
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(fit_starts_table.c.study == study)).scalar_one()


def process_gone(pid: int) -> bool:
    """Whether process ``pid`` of this host has ended (another user's process still runs). Only a
    same-host owner can be looked at; on other hosts the lease alone tells."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
