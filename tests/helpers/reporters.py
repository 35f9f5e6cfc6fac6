"""A study's reporter that keeps what the run tells the user (its notes), for the tests to read."""

from __future__ import annotations

from tuning.progress import SilentReporter


class Notes(SilentReporter):
    """Draws nothing, as ``--quiet``; keeps every note the run makes, in order."""

    def __init__(self):
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)
