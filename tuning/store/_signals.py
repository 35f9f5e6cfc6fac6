"""Ctrl-C and SIGTERM held while a store write (or a trial asked or told) finishes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the enclosed block has finished (a store write, a trial asked
    or told), then deliver the first one received to the handler that was in place.

    A signal raising inside a SQLAlchemy session leaves SQLite's write lock with the broken
    session, so the interrupted trial could not even be marked interrupted ("database is
    locked"); holding it also keeps the Python side (which rows were written, which trials are in
    flight) in step with the database.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signum = received[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)
