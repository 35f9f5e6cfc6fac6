"""Ctrl-C held while a store write (or a trial asked or told) finishes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold a Ctrl-C until the enclosed block has finished (a store write, a trial asked or told), then deliver it.

    SQLite would roll an interrupted transaction back anyway; holding the signal also keeps the
    Python side (which rows were written, which trials are in flight) in step with the database.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)
