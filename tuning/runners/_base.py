"""The runner protocol: where fits run. A runner maps fit tasks to results; it knows nothing of
stores, studies or backends.

The study calls, in this order: ``order_grid`` once (when a grid backend is made, so that grid
points whose fits can run together are proposed together), then ``map`` once per batch of trials
in flight (at most ``trials_in_flight`` trials with the grid or random sampler, whose proposals
do not depend on the trials in flight). ``name`` is what ``runner:`` in a spec says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from tuning.fit import EpochHook, FitTask
from tuning.results import FitResult


class Runner(Protocol):
    """Where fits run.

    Attributes:
        name: the spec's ``runner`` value this runner implements (``sequential``, ``fused`` ...).
        trials_in_flight: how many trials the study may hand over at once to keep this runner
            busy (1: one trial's seeds are enough).
        fits_at_once: how many separate fits it computes at once, when fits are handed to it a
            few at a time (while other workers share the study, so that they can help with a
            config's seeds); ``None`` for a runner that fuses a batch's seeds and wants it whole.
    """

    name: str
    trials_in_flight: int
    fits_at_once: int | None

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        """One result per task, in any order, each yielded as soon as it is done (so it is stored at once).

        ``epoch_hook`` goes to every fit path the runner uses (:class:`~tuning.fit.EpochHook`): in
        worker processes each worker has its copy, deciding on what its own fits report.
        """
        ...

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The grid's points in the order to propose them (a permutation of ``points``)."""
        ...
