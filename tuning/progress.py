"""What a running study shows: a bar for trials and one for the seeds of the current trial.

The study talks to a :class:`Reporter`; :class:`RichReporter` draws bars with an ETA on
stderr, :class:`SilentReporter` (``--quiet``, the Python API's default) draws nothing.
"""

from __future__ import annotations

import time
from typing import Any

from tuning.results import FitResult, TrialResult
from tuning.vocabulary import first_few


class SilentReporter:
    """Shows nothing. Subclasses override the hooks they care about.

    ``shows_workers``: whether :meth:`workers` is worth calling (the worker then re-reads who
    else works on the study every few seconds; nobody watching, it does not).
    """

    shows_workers = False

    def start(self, name: str, planned: int, finished: int, fits_stored: int) -> None: ...
    def trial_started(self, number: int, config_label: str, n_seeds: int) -> None: ...
    def fit_done(self, fit: FitResult, reused: bool) -> None: ...
    def trial_done(self, number: int, result: TrialResult) -> None: ...
    def note(self, message: str) -> None: ...
    def workers(self, line: str) -> None: ...
    def stop(self) -> None: ...


class RichReporter(SilentReporter):
    """Progress bars (trials, seeds) with elapsed time and ETA, one line per trial, and a row of
    the other workers on the study while there are any (what each holds, who was lost)."""

    shows_workers = True

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class WithWorkers(Progress):
            """The bars, then the other workers' row (a line of text, no bar) while there is one."""

            workers_line = ""

            def get_renderables(self):
                yield from super().get_renderables()
                if self.workers_line:
                    yield Text(self.workers_line)  # plain text: an owner tag is not markup

        self.console = Console(stderr=True)
        self.progress = WithWorkers(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), console=self.console, transient=False,
        )
        self.trials_task: Any = None
        self.seeds_task: Any = None
        self.labels: dict[int, str] = {}
        # Not a terminal (a log file, a batch job): the bars are drawn once, at the end, so a line
        # says how far the run is every `log_every` seconds (a grid race concludes no trial for hours).
        self.log_every = 60.0
        self._fits_done = 0
        self._said = time.monotonic()

    def start(self, name: str, planned: int, finished: int, fits_stored: int) -> None:
        # A top-up (more seeds for every config) starts at 0 trials done with every fit stored: say
        # that those fits are not run again, or "0/400 done, 1600 stored" reads as lost work.
        reused = " (a trial fits only the seeds it has not stored)" if fits_stored and finished < planned else ""
        self.console.print(f"study [bold]{_escape(name)}[/]: {finished}/{planned} trials done, {fits_stored} fits stored"
                           f"{reused}", soft_wrap=not self.console.is_terminal)
        self.progress.start()
        self.trials_task = self.progress.add_task("trials", total=planned, completed=finished)
        self.seeds_task = self.progress.add_task("seeds ", total=1, visible=False)

    def trial_started(self, number: int, config_label: str, n_seeds: int) -> None:
        # Several trials may run at once (one per worker): the seeds bar counts all their fits.
        self.labels[number] = config_label
        task = self.progress.tasks[self.seeds_task]
        if task.finished or not task.visible:
            self.progress.reset(self.seeds_task, total=n_seeds, completed=0, visible=True)
        else:
            self.progress.update(self.seeds_task, total=(task.total or 0) + n_seeds)
        numbers = list(self.labels)
        running = first_few(numbers, _SHOWN_TRIALS)
        self.progress.update(self.seeds_task, description=f"seeds  trial {running}")

    def fit_done(self, fit: FitResult, reused: bool) -> None:
        self.progress.advance(self.seeds_task)
        self._fits_done += not reused  # a stored fit handed back (a top-up's old seeds) was not run now
        if not self.console.is_terminal and time.monotonic() - self._said >= self.log_every:
            self._said = time.monotonic()
            trials = self.progress.tasks[self.trials_task]
            self.console.print(f"progress: {self._fits_done} new fits; {trials.completed:g}/"
                               f"{trials.total:g} trials done, {len(self.labels)} running", soft_wrap=True,
                               highlight=False)

    def trial_done(self, number: int, result: TrialResult) -> None:
        self.progress.advance(self.trials_task)
        label = self.labels.pop(number, "")
        if result.pruned:
            line = f"trial {number}: [yellow]pruned[/] after {result.pruned_at} epochs (n={len(result.fits)})  {_escape(label)}"
        elif result.value is None:
            line = f"trial {number}: [red]failed[/] {_escape(result.failure or '')}"
        else:
            spread = f"{result.std:.2g}" if len(result.seed_values) >= 2 else "–"  # as tuning status says it
            line = (f"trial {number}: {result.metric} {result.mean:.4g} ± {spread} "
                    f"(n={len(result.fits)})  {_escape(label)}")
        self.progress.console.print(line, soft_wrap=not self.console.is_terminal)  # one line a trial in a log

    def note(self, message: str) -> None:
        self.console.print(_escape(message), soft_wrap=True)  # a note is one line, however narrow the terminal

    def workers(self, line: str) -> None:
        self.progress.workers_line = f"workers {line}" if line else ""
        self.progress.refresh()

    def stop(self) -> None:
        self.progress.stop()


#: trials in flight the seeds bar names (a grid race has its whole plan in flight: 240 numbers
#: left no room for the bar)
_SHOWN_TRIALS = 8


def config_summary(config: dict[str, Any], keys: list[str] | None = None) -> str:
    """A short ``key=value`` rendering of the searched parts of a config."""
    items = config.items() if keys is None else ((k, config[k]) for k in keys if k in config)
    return " ".join(f"{k}={short_value(v)}" for k, v in items)


def short_value(value: Any) -> str:
    """A setting as people write it: a float to 4 significant digits (0.1938, not 0.19376823391999684)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ",".join(short_value(v) for v in value) + "]"
    return str(value)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
