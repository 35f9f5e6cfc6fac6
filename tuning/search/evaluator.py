"""The evaluator: fit one config once per seed, keep every seed, report the aggregate.

For each config it takes the finished fits from the store, sends the missing (config, seed)
tasks to the runner (:mod:`tuning.runners`: *where* fits run), writes each result the moment it
arrives, checks that every seed came back, and aggregates the objective over the seeds.
"""

from __future__ import annotations

import json
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
    ):
        self.runner = runner
        self.problem_name = problem_name
        self.problem_params_json = json.dumps(problem_params, sort_keys=True)
        self.fit_settings = fit_settings
        self.metric, self.aggregate, self.direction, self.k = metric, aggregate, direction, k
        self.record = record
        self.finished = finished
        self.keras_backend = keras_backend
        self._handed_over: set[tuple[str, int]] = set()  # (config key, seed) given to on_fit in its trial

    @classmethod
    def for_spec(cls, runner: Runner, spec: StudySpec, *, record: Callable[[FitResult], None],
                 finished: Callable[[str], list[FitResult]]) -> Evaluator:
        """The evaluator of a study: its problem, fit settings and objective from the spec."""
        objective = spec.objective
        return cls(runner, problem_name=spec.problem.name, problem_params=spec.problem.params, fit_settings=spec.fit,
                   metric=objective.metric, aggregate=objective.aggregate, direction=objective.direction,
                   k=objective.k, record=record, finished=finished, keras_backend=spec.keras_backend)

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
        for fit in self.runner.map(tasks, epoch_hook):
            if fit.stopped_by_hook is not None and fit.status == OK:
                fit = replace(fit, status=PRUNED)
            self.record(fit)
            key = fit.config_key
            done[key][fit.seed] = fit
            self._hand_over(fit, False, on_fit)
            if len(done[key]) == len(wanted[key]):
                pending.remove(key)
                if hasattr(epoch_hook, "config_done"):  # a pruner: this config now counts as finished
                    epoch_hook.config_done(key)
                yield self._result(by_key[key], key, [done[key][s] for s in wanted[key]])
        if pending:  # a runner that drops work is a bug, not a user mistake
            missing = {key: sorted(set(wanted[key]) - set(done[key])) for key in pending}
            raise RuntimeError(f"runner returned no result for {missing}")

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

