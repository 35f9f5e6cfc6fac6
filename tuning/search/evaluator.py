"""The evaluator: fit one config once per seed, keep every seed, report the aggregate.

For each config it takes the finished fits from the store, claims the missing (config, seed) fits
for this worker (when several workers share the study: :mod:`tuning.store._claims`), sends the
claimed tasks to the runner (:mod:`tuning.runners`: *where* fits run), writes each result the
moment it arrives, waits for the fits another worker holds (taking one over if that worker's
lease runs out), checks that every seed came back, and aggregates the objective over the seeds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tuning.fit import EpochHook, FitTask
from tuning.results import OK, PRUNED, FitResult, TrialResult, aggregate_seeds
from tuning.trials import FixedSeeds
from tuning.vocabulary import DEFAULT_KERAS_BACKEND

if TYPE_CHECKING:
    from tuning.runners import Runner
    from tuning.spec import FitSpec, StudySpec
    from tuning.store import Leases


class Evaluator:
    """Evaluates configs over seeds, reusing every fit the store already holds.

    Args:
        runner: where fits run.
        record: called with each new :class:`FitResult` as soon as it exists (the study writes it
            to the store there, so an interruption loses no finished fit).
        finished: returns the stored fits of a config key (so they are never recomputed).
        fit_settings: the spec's ``fit`` section (a ``FitSpec`` or its dict); each config's
            :class:`~tuning.fit.FitSettings` are resolved from it once, when its tasks are made.
        keras_backend: the study's Keras backend, carried by every task.
        leases: this worker's claims (``None``: the only worker, nothing to claim).
        poll_seconds: how often to look for a fit another worker holds.
        shared: whether other live workers share the study now. While they do, a runner that
            computes separate fits (``fits_at_once``) is handed a config's seeds a few at a time,
            each claimed just before it starts, so that an idle worker can take the others
            (:meth:`lend_a_hand`); alone, or fusing seeds, a batch is claimed and handed over whole.
        fits_left: how many more fits this worker may compute (``None``: no limit; a worker's
            ``--max-fits``): no claim is larger, so that no fit is computed and then dropped.
    """

    def __init__(
        self,
        runner: Runner,
        *,
        problem_name: str,
        problem_params: dict[str, Any],
        fit_settings: FitSpec | dict[str, Any],
        metric: str,
        aggregate: str,
        direction: str,
        k: float,
        record: Callable[[FitResult], None],
        finished: Callable[[str], list[FitResult]],
        keras_backend: str = DEFAULT_KERAS_BACKEND,
        leases: Leases | None = None,
        poll_seconds: float = 1.0,
        shared: Callable[[], bool] | None = None,
        fits_left: Callable[[], int | None] | None = None,
    ):
        self.runner = runner
        self.problem_name = problem_name
        self.problem_params_json = json.dumps(problem_params, sort_keys=True)
        self.fit_settings = fit_settings
        self.metric, self.aggregate, self.direction, self.k = metric, aggregate, direction, k
        self.record = record
        self.finished = finished
        self.keras_backend = keras_backend
        self.leases, self.poll_seconds = leases, poll_seconds
        self.shared = shared
        self.fits_left = fits_left
        self._handed_over: set[tuple[str, int]] = set()  # (config key, seed) given to on_fit in its trial

    @classmethod
    def for_spec(cls, runner: Runner, spec: StudySpec, *, record: Callable[[FitResult], None],
                 finished: Callable[[str], list[FitResult]], leases: Leases | None = None,
                 poll_seconds: float = 1.0, shared: Callable[[], bool] | None = None,
                 fits_left: Callable[[], int | None] | None = None) -> Evaluator:
        """The evaluator of a study: its problem, fit settings and objective from the spec."""
        objective = spec.objective
        return cls(runner, problem_name=spec.problem.name, problem_params=spec.problem.params, fit_settings=spec.fit,
                   metric=objective.metric, aggregate=objective.aggregate, direction=objective.direction,
                   k=objective.k, record=record, finished=finished, keras_backend=spec.keras_backend,
                   leases=leases, poll_seconds=poll_seconds, shared=shared, fits_left=fits_left)

    def evaluate(self, config: dict[str, Any], key: str, seeds: Iterable[int],
                 on_fit: Callable[[FitResult, bool], None] | None = None) -> TrialResult:
        """Fit ``config`` once per seed (skipping stored fits) and aggregate the objective."""
        (result,) = self.evaluate_many([(config, key)], seeds, on_fit)
        return result

    def evaluate_many(self, configs: list[tuple[dict[str, Any], str]],
                      seeds: Iterable[int] | FixedSeeds | Mapping[str, list[int]],
                      on_fit: Callable[[FitResult, bool], None] | None = None,
                      epoch_hook: EpochHook | None = None) -> Iterator[TrialResult]:
        """Evaluate several configs with one runner call; yield each as soon as its seeds are in.

        ``seeds``: the seeds every config gets, or per config key its own (a race gives the
        configs it keeps more seeds than those it dropped). Handing the runner every (config,
        seed) of a batch at once keeps all its workers busy: three seeds on two workers would
        otherwise leave one idle for every other round.

        ``on_fit(fit, reused)`` sees each (config, seed) once until :meth:`concluded` is called
        for the config: a race asks again for the seeds a config already has at every round of
        its trial, and those are not news; a later trial of the same config reuses them anew.

        ``epoch_hook`` goes to the runner's fit paths (a pruner: :mod:`tuning.pruning`); a fit it
        stopped is recorded with status ``pruned``, and its config's trial with ``pruned_at``.
        """
        if isinstance(seeds, Mapping):
            wanted = {key: list(seeds[key]) for _, key in configs}
        else:
            every = list(seeds.seeds if isinstance(seeds, FixedSeeds) else seeds)
            wanted = {key: every for _, key in configs}
        done: dict[str, dict[int, FitResult]] = {}
        tasks = []
        for config, key in configs:
            done[key] = {f.seed: f for f in self.finished(key) if f.seed in wanted[key]}
            for fit in done[key].values():
                self._hand_over(fit, True, on_fit)
            tasks += self._tasks(config, key, [s for s in wanted[key] if s not in done[key]])
        by_key = {key: config for config, key in configs}
        pending = [key for _, key in configs]
        for key in [k for k in pending if len(done[k]) == len(wanted[k])]:
            pending.remove(key)
            yield self._result(by_key[key], key, [done[key][s] for s in wanted[key]])

        def arrived(fit: FitResult, reused: bool) -> TrialResult | None:
            key = fit.config_key
            done[key][fit.seed] = fit
            self._hand_over(fit, reused, on_fit)
            if len(done[key]) < len(wanted[key]) or key not in pending:
                return None
            pending.remove(key)
            fits = [done[key][s] for s in wanted[key]]
            if hasattr(epoch_hook, "config_done"):  # a pruner: this config now counts as finished or pruned
                epoch_hook.config_done(key, stopped=any(f.status == PRUNED for f in fits))
            return self._result(by_key[key], key, fits)

        waiting: list[FitTask] = []  # fits another worker holds
        while tasks or waiting:
            if not tasks:  # claimed again: taken over if that worker's lease ran out
                tasks, waiting = waiting, []
            width = self._within_limit(None if epoch_hook is not None else self._handed_at_once())
            if width == 0:  # the worker stopped on its last fit; a claim of none would never end the loop
                width = 1
            batch, tasks = (tasks, []) if width is None else (tasks[:width], tasks[width:])
            mine, elsewhere = self._claim(batch)
            for fit in self.runner.map(mine, epoch_hook):
                if fit.stopped_by_hook is not None and fit.status == OK:
                    fit = replace(fit, status=PRUNED)
                self.record(fit)
                result = arrived(fit, False)
                if result is not None:
                    yield result
            # Fits another worker holds: their results from the store once there.
            before, still = len(waiting) + len(elsewhere), []
            for task in waiting + elsewhere:
                stored = {f.seed: f for f in self.finished(task.config_key)}
                if task.seed in stored:
                    result = arrived(stored[task.seed], True)
                    if result is not None:
                        yield result
                else:
                    still.append(task)
            waiting = still
            if waiting and not tasks and not mine and len(waiting) == before:
                time.sleep(self.poll_seconds)
        if pending:  # a runner that drops work is a bug, not a user mistake
            missing = {key: sorted(set(wanted[key]) - set(done[key])) for key in pending}
            raise RuntimeError(f"runner returned no result for {missing}")

    def lend_a_hand(self, config: dict[str, Any], key: str, seeds: Iterable[int],
                    record: Callable[[FitResult], None]) -> int:
        """Fit seeds of a config another worker is trialling that nobody has stored or claimed yet,
        as many as the runner computes at once; each stored through ``record`` the moment it
        exists. The worker trialling the config then finds them stored and reuses them. How many
        were fitted (0: nothing left to take, or a runner that fuses seeds)."""
        if self.runner.fits_at_once is None or self.leases is None:
            return 0
        width = self._within_limit(self.runner.fits_at_once)
        if not width:
            return 0
        stored = {f.seed for f in self.finished(key)}
        mine: list[FitTask] = []
        for task in self._tasks(config, key, [s for s in seeds if s not in stored]):
            if len(mine) == width:
                break
            mine += self._claim([task])[0]  # one at a time: never more than it will fit now
        for fit in self.runner.map(mine):
            record(fit)
        return len(mine)

    def _within_limit(self, width: int | None) -> int | None:
        """``width`` fits to claim at a time (``None``: all), no more than this worker may still
        compute (``fits_left``)."""
        left = self.fits_left() if self.fits_left else None
        if left is None:
            return width
        return left if width is None else min(width, left)

    def _handed_at_once(self) -> int | None:
        """How many of a batch's fits to claim and hand to the runner at a time (``None``: all)."""
        width = self.runner.fits_at_once
        if width is None or self.shared is None or not self.shared():
            return None
        return width

    def _claim(self, tasks: list[FitTask]) -> tuple[list[FitTask], list[FitTask]]:
        """``tasks`` split into those this worker now holds and those another worker is fitting."""
        if self.leases is None or not tasks:
            return tasks, []
        from tuning.store import fit_item

        held = set(self.leases.claim([fit_item(t.config_key, t.seed) for t in tasks],
                                     fits=[(t.config_key, t.seed) for t in tasks]))
        mine = [t for t in tasks if fit_item(t.config_key, t.seed) in held]
        return mine, [t for t in tasks if fit_item(t.config_key, t.seed) not in held]

    def concluded(self, key: str) -> None:
        """The trial of config ``key`` has been told: a later trial of it reports its fits again."""
        self._handed_over = {(k, seed) for k, seed in self._handed_over if k != key}

    def _hand_over(self, fit: FitResult, reused: bool, on_fit: Callable[[FitResult, bool], None] | None) -> None:
        if (fit.config_key, fit.seed) in self._handed_over:
            return
        self._handed_over.add((fit.config_key, fit.seed))
        if on_fit:
            on_fit(fit, reused)

    def _tasks(self, config: dict[str, Any], key: str, seeds: list[int]) -> list[FitTask]:
        return [FitTask.make(self.problem_name, self.problem_params_json, self.fit_settings, config, seed, key,
                             self.keras_backend) for seed in seeds]

    def _result(self, config: dict[str, Any], key: str, fits: list[FitResult]) -> TrialResult:
        pruned = [f.epochs_run for f in fits if f.status == PRUNED]
        if pruned:  # stopped early, not comparable: no objective (a failed seed beside it is in its fits)
            return TrialResult(config, key, fits, self.metric, None, pruned_at=max(pruned))
        failed = [f for f in fits if not f.ok]
        if failed:
            reasons = "; ".join(f.error or "failed" for f in failed)
            return TrialResult(config, key, fits, self.metric, None, failure=reasons)
        missing = [f.seed for f in fits if self.metric not in f.scores]
        if missing:
            known = ", ".join(sorted(fits[0].scores))
            return TrialResult(config, key, fits, self.metric, None,
                               failure=f"metric {self.metric!r} not scored (have {known})")
        values = [f.scores[self.metric] for f in fits]
        return TrialResult(config, key, fits, self.metric, aggregate_seeds(values, self.aggregate, self.direction, self.k))

