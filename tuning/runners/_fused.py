"""The fused runner: all seeds of a config as replicas of one graph; other configs to a fallback runner.

Packing and running are separate steps. :meth:`FusedRunner.pack` groups the tasks and checks
each group (:func:`tuning.fit.fused.plan_graphs`), giving plain :class:`~tuning.fit.fused.FusedPlan`
objects and the tasks left for the fallback; the plans then go to an executor
(:mod:`tuning.runners._executors`): this process, worker processes on this host, or a Dask
cluster; the fallback's fits run on the same executor.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import partial
from typing import Any

from tuning.fit import EpochHook, FitTask, configure_threads, tell_configs_done
from tuning.fit.fused import (
    DEFAULT_MEMORY_BUDGET,
    GRAPH_THREADS,
    FusedPlan,
    NeedsKerasMasks,
    config_dropout,
    group_key,
    order_for_sharing,
    plan_graphs,
)
from tuning.results import FAILED, FitResult
from tuning.runners._base import Runner
from tuning.runners._executors import Executor, InProcessExecutor, share_out
from tuning.runners._pool import ProcessPool
from tuning.runners._sequential import SequentialRunner
from tuning.space import split_config

#: Trials a study keeps in flight under a fused runner with the grid or random sampler, so that
#: configs differing only in :data:`tuning.fit.fused.PER_REPLICA_KEYS` can meet in one graph.
TRIALS_IN_FLIGHT = 8


class FusedRunner:
    """Fits all seeds of a config as replicas of one graph; other configs go to ``fallback``.

    Tasks are grouped by (problem, :func:`~tuning.fit.fused.shared_part` of the config, fit
    settings), so the seeds of configs that differ only in
    :data:`~tuning.fit.fused.PER_REPLICA_KEYS` (learning rate, initializer, epochs, patience) train
    together (and, unless ``keras_masks``, in dropout rates, as long as the same layers drop); each
    group is split into graphs of at most ``max_replicas`` replicas (by default as many as
    :data:`~tuning.fit.fused.DEFAULT_MEMORY_BUDGET` allows for the model's size, at most
    :data:`~tuning.fit.fused.MAX_REPLICAS`). On an executor of worker processes or a Dask
    cluster, each worker packs and fits its share of the groups itself (:func:`fuse_here`), the
    largest split until every worker has one, and the fallback's fits run there too. Graphs run
    with :data:`~tuning.fit.fused.GRAPH_THREADS` TensorFlow threads: the process that fits them is
    pinned to them before its first TensorFlow op (so the fallback's fits there run with them
    too; a standalone fit was as fast with one thread as with TensorFlow's default in
    ``benchmarks/fused.py``).

    Args:
        keras_masks: fuse only configs whose fused fit reproduces ``fit_one`` (no dropout or
            recurrent dropout > 0 anywhere in the model); the others go to ``fallback`` without
            a notice, since that is the rule and not a surprise. This is ``runner: auto`` of a
            study that draws Keras's dropout masks (:func:`tuning.runners.make_runner`).
        notice: called with each one-line notice (a config not fused, a fused fit that failed);
            ``None`` prints it on stderr, :func:`no_notice` drops it.
        name: the spec's ``runner`` value this runner stands for (``fused``, or ``auto``).
        executor: where the graphs and the fallback's fits run (default: this process with
            ``jobs`` == 1, else ``jobs`` worker processes; a study's comes from
            :func:`tuning.runners.make_executor`).
        fallback: the runner of the configs not fused, in the process that packs them (default:
            one fit after another there).

    ``counts`` tells where this runner's fits went: ``{"fused": n, "fallback": m}``, one per
    (config, seed) result it yielded.

    A graph that fails as a whole (an exhausted resource, a bug) does not lose its seeds: under
    ``keras_masks`` the fallback runner refits them (its fits are the Keras-mask fits these
    configs follow anyway); otherwise each seed is refitted as a graph of its own, so that no
    config mixes Keras's dropout masks with fused ones, and a seed failing alone too is recorded
    failed with the error.
    """

    #: Trials a study may keep in flight for this runner (see :data:`TRIALS_IN_FLIGHT`).
    trials_in_flight = TRIALS_IN_FLIGHT
    fits_at_once = None  # a config's seeds share one graph: handed over whole

    def __init__(self, jobs: int = 1, *, max_replicas: int | None = None, fallback: Runner | None = None,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET, notice=None, keras_masks: bool = False,
                 executor: Executor | None = None, name: str = "fused"):
        self.jobs = max(1, int(jobs))
        self.max_replicas = max_replicas
        self.memory_budget = memory_budget
        self.executor = executor or (InProcessExecutor() if self.jobs == 1 else ProcessPool(self.jobs))
        self.fallback = fallback or SequentialRunner()
        self.notice = notice or _print_notice
        self.keras_masks = keras_masks
        self.name = name
        self.threads = GRAPH_THREADS  # in this process or in each worker
        self.counts = {"fused": 0, "fallback": 0}

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Grid points that can share a graph made adjacent, so that they are in flight together."""
        return order_for_sharing(points, keras_masks=self.keras_masks)

    def pack(self, tasks: list[FitTask]) -> tuple[list[FusedPlan], list[FitTask]]:
        """(graphs to fit, tasks for the fallback runner): planning only, nothing is trained.

        A config that cannot be fused goes to the fallback with a notice; under ``keras_masks`` a
        config with dropout goes there silently. Spec mistakes (``TuningError``) are raised: every
        seed would fail alike, as in ``fit_one``.
        """
        from tuning.errors import TuningError

        groups: dict[tuple, list[FitTask]] = {}
        for task in tasks:  # configs that differ only in per-replica settings share a graph
            groups.setdefault(group_key(task, self.keras_masks), []).append(task)
        plans: list[FusedPlan] = []
        fallback: list[FitTask] = []
        for group in groups.values():
            try:
                plans += plan_graphs(group, memory_budget=self.memory_budget, keras_masks=self.keras_masks,
                                     max_replicas=self.max_replicas)
            except TuningError:
                raise
            except NeedsKerasMasks:  # keras_masks and dropout: the fallback's fits are the standalone ones
                fallback += group
            except Exception as why:  # Unsupported, or anything unexpected while checking
                self.notice(f"fused runner: config {group[0].config_key} not fused ({why}); fitting its "
                            f"{len(group)} seed(s) with the {getattr(self.fallback, 'name', 'fallback')} runner")
                fallback += group
        return plans, fallback

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        if not self.executor.in_process:
            yield from self._map_on_workers(tasks, epoch_hook)
        else:  # graphs run here, one after another: a pruner judges each against those finished
            yield from tell_configs_done(self._map_here(tasks, epoch_hook), tasks, epoch_hook)

    def _map_here(self, tasks: list[FitTask], epoch_hook: EpochHook | None) -> Iterator[FitResult]:
        configure_threads(self.threads)  # pins this process's TensorFlow threads if no op has run yet
        plans, fallback = self.pack(tasks)
        if fallback:
            yield from self._fall_back(fallback, epoch_hook)
        indexed = list(enumerate(plans))
        failed: list[FitTask] = []
        fit = partial(fit_plan_or_error, epoch_hook=epoch_hook)
        for index, results in self.executor.map_unordered(fit, indexed):
            if isinstance(results, str):  # the graph failed as a whole: refit its seeds one by one
                # Without dropout the fallback's fit is the seed's fused fit (to float32 rounding);
                # with dropout only a graph of its own is (another mask), see _refit_alone.
                chunk = [t for t in plans[index].tasks if not config_dropout(split_config(t.config)[0])]
                failed += [t for t in plans[index].tasks if t not in chunk]
                if chunk:
                    self.notice(f"fused runner: config {chunk[0].config_key} failed fused ({results}); "
                                f"refitting its {len(chunk)} seed(s) with the fallback runner")
                    yield from self._fall_back(chunk, epoch_hook)
            else:
                for result in results:
                    self.counts["fused"] += 1
                    yield result
        if failed:
            yield from self._refit_alone(failed, epoch_hook)

    def _map_on_workers(self, tasks: list[FitTask], epoch_hook: EpochHook | None) -> Iterator[FitResult]:
        """Each worker packs and fits its share as this runner would in its process (:func:`fuse_here`).

        Packing builds a config's standalone model to check it and size its graphs; done here, it
        would import TensorFlow into the study's process and leave a model's memory behind per
        config, which recycling the workers cannot give back. The tasks that can share a graph are
        sent together, the largest share split until every worker has one.
        """
        groups: dict[tuple, list[FitTask]] = {}
        for task in tasks:
            groups.setdefault(group_key(task, self.keras_masks), []).append(task)
        here = partial(fuse_here, max_replicas=self.max_replicas, memory_budget=self.memory_budget,
                       keras_masks=self.keras_masks, epoch_hook=epoch_hook)
        for results, notices, counts in self.executor.map_unordered(here, share_out(list(groups.values()),
                                                                                      self.executor.workers)):
            for notice in notices:
                self.notice(notice)
            for where, count in counts.items():
                self.counts[where] += count
            yield from results

    def _refit_alone(self, tasks: list[FitTask], epoch_hook: EpochHook | None) -> Iterator[FitResult]:
        """The seeds of failed graphs, each as a graph of its own (seeded masks, as fused).

        Keras's masks are not the study's masks for a config with dropout, and a replica's fit
        does not depend on its graph mates, so each seed is refitted fused alone (a smaller graph:
        what an exhausted resource needs); a seed that fails alone too is recorded failed.
        """
        alone = [FusedPlan([task]) for task in tasks]
        if not self.executor.in_process:
            alone = [plan.with_threads(self.threads) for plan in alone]
        self.notice(f"fused runner: {len(tasks)} seed(s) of config(s) {', '.join(sorted({t.config_key for t in tasks}))} "
                    "failed in a shared graph; refitting each seed as a graph of its own")
        fit = partial(fit_plan_or_error, epoch_hook=epoch_hook)
        for index, results in self.executor.map_unordered(fit, list(enumerate(alone))):
            task = alone[index].tasks[0]
            self.counts["fused"] += 1
            if isinstance(results, str):
                yield FitResult(task.config_key, task.seed, FAILED, {}, {}, 0, None, 0.0,
                                f"fused fit failed: {results} (seed {task.seed})")
            else:
                yield from results

    def _fall_back(self, tasks: list[FitTask], epoch_hook: EpochHook | None) -> Iterator[FitResult]:
        for result in self.fallback.map(tasks, epoch_hook):
            self.counts["fallback"] += 1
            yield result


def fuse_here(tasks: list[FitTask], *, max_replicas: int | None, memory_budget: int, keras_masks: bool,
              epoch_hook: EpochHook | None = None) -> tuple[list[FitResult], list[str], dict[str, int]]:
    """Run on a worker: ``tasks`` packed and fitted by a fused runner in that process, with the
    fallback's fits there too; (results, its notices, where its fits went)."""
    notices: list[str] = []
    runner = FusedRunner(1, max_replicas=max_replicas, memory_budget=memory_budget, keras_masks=keras_masks,
                         notice=notices.append)
    return list(runner.map(tasks, epoch_hook)), notices, runner.counts


def fit_plan_or_error(item: tuple[int, FusedPlan], epoch_hook: EpochHook | None = None) -> tuple[int, list[FitResult] | str]:
    """Run on an executor: (index, results), or (index, one-line error) if the fused fit raised.

    A bug or an exhausted resource must not lose the seeds: the runner refits them with its
    fallback. Spec mistakes (``TuningError``) are raised.
    """
    from tuning.errors import TuningError, one_line

    index, plan = item
    try:
        return index, plan.fit(epoch_hook)
    except TuningError:
        raise
    except Exception as exc:
        return index, one_line(exc)


def _print_notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def no_notice(message: str) -> None:
    """A ``notice`` that drops the message (``runner: auto``: the user did not ask for fusing)."""
