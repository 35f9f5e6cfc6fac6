"""Run a study: spec → problem and baseline → trials × seeds → store, resumable at any point.

:func:`run_search` is what ``tuning run`` and ``tuning resume`` call (through
:func:`tuning.api.run_study`, the Python API, or the CLI). It is safe to call again
on a study that was interrupted in any way: finished fits are reused, trials left RUNNING by
a dead process are recovered, and finished grid points are not proposed again.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tuning.errors import SpecError, Terminated
from tuning.progress import SilentReporter, config_summary
from tuning.results import FAILED
from tuning.search.workers import WorkerLimit, WorkerOptions, WorkerSession
from tuning.spec import StudySpec, did_you_mean, load_spec, with_source
from tuning.store import Store, open_store, uninterrupted
from tuning.vocabulary import PLAN_SAMPLERS

#: The claim of the worker that runs a study's race (the race's plan is never split between workers).
RACE_ITEM = "race"

if TYPE_CHECKING:
    from tuning.runners import Runner


@dataclass
class StudyOutcome:
    """What a call to :func:`run_search` did.

    ``fits_run``: fits this run computed (``fits_failed`` of them failed, recorded with their
    error). ``fits_reused``: fits of the configs this run trialled that were in the store already
    (seeds a top-up or a resume did not fit again); a run that finds every config complete trials
    none, so it reuses 0 and runs 0. ``fits_stored``: the study's fits in the store when the run
    ended, every run's and every worker's.
    """

    name: str
    storage: str
    planned: int
    complete: int
    failed: int  # concluded without an objective for a reason of their own (pruned ones not among them)
    fits_run: int
    fits_reused: int
    recovered: list[int]
    pruned: int = 0
    fits_failed: int = 0  # of ``fits_run``: fits that raised or diverged (recorded, with their error)
    fits_stored: int = 0


def resolve_resume_spec(name: str, storage: str | Store | None) -> StudySpec:
    """The spec a stored study was run with (what ``tuning resume NAME`` continues)."""
    store = open_store(storage)
    record = store.require_study(name)
    # a scheduler's address is the run's, not the study's (an older version stored it): a resume's own
    stored = {**record["spec"], "scheduler": None}
    return load_spec(stored, label=f"study {name!r} in {store.shown}")


def run_search(spec: StudySpec, *, reporter: SilentReporter | None = None, runner: Runner | None = None,
               worker: WorkerOptions | None = None) -> StudyOutcome:
    """Run (or continue) ``spec`` as one worker until its trials are done (other workers on the
    same store share the work). Ctrl-C raises KeyboardInterrupt, SIGTERM :class:`Terminated`, after
    the running trials have been marked interrupted and this worker's claims released; every
    finished fit is already stored.

    ``runner``: where the fits run; by default the spec's runner drawing the study's dropout masks
    (:func:`tuning.search.study_record.study_runner`). The tests pass a runner without Keras.
    ``worker``: this worker's lease and limits (:class:`~tuning.search.workers.WorkerOptions`).
    """
    from tuning.backends import grid_sample_words, make_backend
    from tuning.problems import cached_problem
    from tuning.search.study_record import open_study, study_executor, study_runner
    from tuning.space import SearchSpace, base_config, split_config

    reporter = reporter or SilentReporter()
    if runner is None:  # this process's Keras on the study's backend, before anything imports Keras
        from tuning.fit import use_keras_backend

        use_keras_backend(spec.keras_backend, new_study=True)
    if spec.space == "from_builder":  # a KerasTuner build(hp)'s own space, read by a dry run
        from tuning.fit import start_keras
        from tuning.spec import resolve_builder_space

        start_keras(spec.keras_backend)
        spec = resolve_builder_space(spec)
    try:
        problem = cached_problem(spec.problem.name, json.dumps(spec.problem.params, sort_keys=True))
    except SpecError as exc:  # a value the problem refuses while generating its data
        raise with_source(exc, spec._source) from None
    # The strongest naive baseline on the study's metric, its name, every baseline, the data's facts.
    baseline = {**problem.baseline(spec.objective.metric, spec.objective.direction), "data": problem.facts()}
    space = SearchSpace.from_spec(spec)
    base = base_config(spec)
    scored = {k for k, v in baseline.items() if isinstance(v, float)}
    if spec.model.builder is not None:  # tried once before the store is touched; its model may score more
        # the model settings alone, as a fit builds it (split_config): epochs and batch_size are the fit's
        scored |= _try_builder(spec, problem, split_config(space.to_config(space.first_point(), base))[0])
    else:  # every value the models would refuse, refused now rather than after the study is stored
        from tuning.models import check_configs

        try:
            check_configs((space.to_config(p, base) for p in space.points_to_check()), problem, space.params,
                          monitors=_monitors(spec))
        except SpecError as exc:
            raise with_source(exc, spec._source) from None
    if spec.objective.metric not in scored:
        offered = sorted(m for m in scored if not m.startswith("test_")) or sorted(scored)
        close = did_you_mean(spec.objective.metric, offered, listed=None)
        raise SpecError(f"unknown metric {spec.objective.metric!r} for problem {problem.name!r}{close or ';'} "
                        f"{'the metrics are' if close else 'choose one of'} {', '.join(offered)}",
                        source=spec._source, field="objective.metric")
    if spec.objective.metric.startswith("test_"):
        reporter.note(f"objective.metric {spec.objective.metric}: the configs are chosen on the test split, so the "
                      "best one's test score is no longer an estimate of unseen data; a val_ metric keeps the test "
                      "split for the final check")
    with contextlib.ExitStack() as started:
        if runner is None:  # its worker processes or cluster end with the run
            executor = study_executor(spec)
            started.callback(executor.close)
            if executor.in_process and spec.keras_backend != "tensorflow":  # fits here: a backend that cannot
                from tuning.fit import start_keras  # start is refused before the study is stored

                try:
                    start_keras(spec.keras_backend)
                except SpecError as exc:
                    raise with_source(exc, spec._source) from None
        store = Store(spec.storage)
        masks = open_study(store, spec, baseline, problem.fingerprint())  # the same study, or a new one
        if runner is None:
            runner, notes = study_runner(spec, masks, executor)  # the study's masks, whatever this run names
            for note in notes:
                reporter.note(note)
        try:
            backend = make_backend(spec, store, space, base, order_grid=runner.order_grid)
        except SpecError as exc:  # e.g. KerasTuner's bayesian sampler without scikit-learn
            raise with_source(exc, spec._source) from None
        sampled = grid_sample_words(spec, None if backend.grid is None else len(backend.grid))  # the grid it built
        if sampled:
            reporter.note(f"grid sampled: {sampled}")
        session = WorkerSession(store, spec.name, worker, watch=reporter if reporter.shows_workers else None)
        with session:  # this worker's lease, renewed while it works; every claim released however it ends
            return _search(spec, store, backend, runner, session, reporter)


def _search(spec: StudySpec, store: Store, backend: Any, runner: Runner, session: WorkerSession,
            reporter: SilentReporter) -> StudyOutcome:
    """The loop of one worker: ask (claiming each config), evaluate (claiming each fit), tell."""
    from tuning.search.allocation import FixedAllocation, seed_allocation
    from tuning.search.epoch_pruning import batch_pruner
    from tuning.search.evaluator import Evaluator
    from tuning.store import point_item
    from tuning.trials import read_trials, trial_numbers

    session.expire_gone()
    if not backend.shared:
        _only_worker(spec, store, session)
    alive = store.live_owners(spec.name)
    backend.join(session.leases, alone=not alive - {session.owner})
    recovered = backend.recover(alive)
    if recovered:
        reporter.note(f"recovered interrupted trial(s) {', '.join(map(str, recovered))}")
    if alive - {session.owner}:
        reporter.note(f"{len(alive - {session.owner})} other worker(s) on study {spec.name!r}: the configs and fits "
                      "they hold are left to them (`tuning status` lists them)")

    # A config is named by the first trial that ran it (a resumed config keeps its number).
    numbers = trial_numbers(read_trials(store, spec.name))
    counts = {"run": 0, "reused": 0, "failed": 0}
    in_flight: dict[str, tuple[Any, dict[str, Any]]] = {}  # config_key -> (trial, config)
    stop_requested = threading.Event()
    settled = False  # nothing to ask for, and no other worker holding work, seen once already

    def record(fit):
        trial, config = in_flight[fit.config_key]
        store.record_fit(spec.name, config, fit, trial.number, owner=session.owner)

    def on_fit(fit, reused):
        counts["reused" if reused else "run"] += 1
        counts["failed"] += not reused and fit.status == FAILED
        reporter.fit_done(fit, reused)
        if stop_requested.is_set():  # a Ctrl-C that landed where Python swallowed it
            raise _stop_error(stop_requested)
        limit = session.options.reached(counts["run"])
        if limit:
            raise WorkerLimit(limit)

    evaluator = Evaluator.for_spec(runner, spec, record=record, finished=lambda key: store.fits(spec.name, key),
                                   leases=session.leases, poll_seconds=session.poll_seconds,
                                   shared=lambda: bool(store.live_owners(spec.name) - {session.owner}),
                                   fits_left=lambda: session.options.fits_left(counts["run"]))
    allocation = seed_allocation(spec, store)  # which seeds each config gets, and when its trial is told
    reporter.start(spec.name, backend.planned(), len(backend.done()), store.count_fits(spec.name))
    session.show_workers()  # the others' row from the start; the heartbeat thread keeps it current
    searched = sorted(spec.space) + (["epochs"] if spec.sampler.name == "hyperband" else [])
    # With N worker processes, N trials run at once so that no worker waits for a trial's last seed
    # (KerasTuner's oracle proposes one trial at a time: there, the workers share its seeds). A
    # runner may want more (the fused one: so that configs can share a graph); grid and random
    # proposals do not depend on the trials in flight, TPE's and CMA-ES's do, so only those two.
    batch_size = spec.jobs
    if spec.sampler.name in PLAN_SAMPLERS:
        batch_size = max(batch_size, runner.trials_in_flight)
    if not backend.parallel_trials:
        batch_size = 1
    if allocation.races_the_plan:  # every config of the plan races from the start
        batch_size = max(batch_size, backend.planned())
    taken_over = [session.leases.takeovers]

    def recover_taken_over() -> None:
        """Once this worker has taken a dead worker's claims over, its trials are interrupted at once
        (not left RUNNING beside the new trial of the same config until the study ends)."""
        if session.leases.takeovers == taken_over[0]:
            return
        taken_over[0] = session.leases.takeovers
        orphans = backend.recover(store.live_owners(spec.name))
        if orphans:
            reporter.note(f"trial(s) {', '.join(map(str, orphans))} of a worker that is gone: interrupted, "
                          "their work taken over")
        recovered.extend(orphans)

    with _ctrl_c(stop_requested):
        try:
            while not stop_requested.is_set():
                try:
                    recover_taken_over()
                    limit = session.options.reached(counts["run"])
                    if limit:
                        raise WorkerLimit(limit)
                    # A Ctrl-C is held while a trial is asked for or told, so that every trial the
                    # backend has started is either in `in_flight` (and is marked interrupted below) or
                    # told: none is left RUNNING. (The fused runner delivers a config's seeds together,
                    # so a Ctrl-C just after a fit often lands right here.)
                    # A race keeps its whole plan in one worker (its looks compare every config at
                    # once): the worker holding the study's race claim runs it, the others wait.
                    ours = not allocation.races_the_plan or bool(session.leases.claim([RACE_ITEM]))
                    while ours and len(in_flight) < _fair_share(batch_size, spec, store, backend, allocation):
                        with uninterrupted():
                            proposal = backend.ask(busy=set(in_flight))
                            if proposal is not None:
                                trial, config, key = proposal
                                in_flight[key] = (trial, config)
                        if proposal is None:
                            break
                        number = numbers.setdefault(key, trial.number)
                        reporter.trial_started(number, config_summary(config, searched), allocation.most_seeds)
                    recover_taken_over()
                    if not in_flight:
                        # Nothing to start: done, or the rest is held by other workers. Wait while
                        # they hold it (a dead one's lease runs out and its work is taken over);
                        # ask once more after the last claim is gone before leaving.
                        held = backend.held_elsewhere() or not ours
                        if settled and not held:
                            break
                        settled = not held
                        if held and ours and isinstance(allocation, FixedAllocation) and not spec.pruner.active:
                            helped = _lend_a_hand(spec, store, backend, evaluator, session.owner)
                            counts["run"] += helped
                            if helped:  # more may be left to take: look again at once
                                continue
                        if held:
                            time.sleep(session.poll_seconds)
                            session.expire_gone()
                            orphans = backend.recover(store.live_owners(spec.name))
                            if orphans:
                                reporter.note(f"trial(s) {', '.join(map(str, orphans))} of a worker whose "
                                              "lease ran out: interrupted, their work taken over")
                            recovered += orphans
                        continue
                    settled = False
                    steps = allocation.step(list(in_flight))
                    hook = batch_pruner(spec, store, list(in_flight))  # None without a pruner
                    for result in evaluator.evaluate_many([(c, k) for k, (_, c) in in_flight.items()],
                                                          {key: step.seeds for key, step in steps.items()},
                                                          on_fit=on_fit, epoch_hook=hook):
                        step = steps[result.config_key]
                        if not step.concludes and not result.pruned:  # a race's survivor: more seeds next round
                            continue
                        result = replace(result, race=step.race)
                        with uninterrupted():
                            trial, _ = in_flight.pop(result.config_key)
                            backend.tell(trial, result)
                            session.leases.release([point_item(result.config_key)])
                        evaluator.concluded(result.config_key)
                        reporter.trial_done(numbers[result.config_key], result)
                except WorkerLimit as exc:  # --max-fits / --until: stop as after a Ctrl-C, but exit 0
                    for trial, _ in in_flight.values():
                        backend.interrupt(trial, reason=f"worker stopped: {exc}")
                    session.leases.release([point_item(key) for key in in_flight])
                    in_flight.clear()
                    reporter.note(f"worker stopped: {exc}")
                    break
                except KeyboardInterrupt as exc:
                    with uninterrupted():  # a second Ctrl-C waits until the trials say why they stopped
                        for trial, _ in in_flight.values():
                            backend.interrupt(trial, reason="stopped by SIGTERM" if isinstance(exc, Terminated)
                                              else "stopped by the user")
                    raise
                except SpecError as exc:  # found while building the model: every config would fail
                    for trial, _ in in_flight.values():
                        backend.interrupt(trial, reason="invalid spec")
                    raise with_source(exc, spec._source) from None
                except BaseException:
                    for trial, _ in in_flight.values():
                        backend.interrupt(trial, reason="error")
                    raise
            if stop_requested.is_set():
                raise _stop_error(stop_requested)
        finally:
            reporter.stop()
    recovered += backend.recover(store.live_owners(spec.name))  # a dead worker's trial, no longer RUNNING
    finished = backend.done()
    complete = sum(1 for t in finished if t.state.name == "COMPLETE")
    pruned = sum(1 for t in finished if t.state.name == "PRUNED")
    store.checkpoint()  # the .db file alone now holds the study (a copy of it copies everything)
    return StudyOutcome(spec.name, store.shown, backend.planned(), complete, len(finished) - complete - pruned,
                        counts["run"], counts["reused"], sorted(set(recovered)), pruned, counts["failed"],
                        store.count_fits(spec.name))


def _lend_a_hand(spec: StudySpec, store: Store, backend: Any, evaluator: Any, owner: str) -> int:
    """With no config left to trial, fit seeds of the configs other workers are trialling that
    nobody has claimed (a few, as the runner fits at once), stored under their trial: the last
    configs of a study then use every worker instead of one each. How many were fitted."""
    from tuning.trials import config_key_of, config_of, owner_of

    seeds = backend.seeds.seeds  # every config gets these (a race is not helped: it decides per look)
    others = backend.held_elsewhere()
    for trial in backend.trials():
        key = config_key_of(trial)
        if trial.state.name != "RUNNING" or key not in others or owner_of(trial) == owner:
            continue
        config = config_of(trial)  # written before its key (trials.start_attrs)

        def record(fit, config=config, number=trial.number):
            store.record_fit(spec.name, config, fit, number, owner=owner)

        helped = evaluator.lend_a_hand(config, key, seeds, record)
        if helped:
            return helped
    return 0


def _fair_share(batch_size: int, spec: StudySpec, store: Store, backend: Any, allocation: Any) -> int:
    """How many trials this worker keeps in flight: its runner's batch, but no more than its share
    of what is left among the live workers, so that the first worker of a grid under the fused
    runner (8 trials in flight) does not take most of the grid while the others wait. A race keeps
    its whole plan in flight (its looks compare every config)."""
    if batch_size <= spec.jobs or allocation.races_the_plan:
        return batch_size
    workers = len(store.live_owners(spec.name))
    if workers <= 1:
        return batch_size
    left = max(0, backend.planned() - len(backend.done()))
    return max(spec.jobs, min(batch_size, -(-left // workers)))


def _only_worker(spec: StudySpec, store: Store, session: WorkerSession) -> None:
    """Refuse a second worker on a study whose backend keeps its search state in one process."""
    others = store.live_owners(spec.name) - {session.owner}
    if others:
        raise SpecError(f"study {spec.name!r} is searched by {spec.backend}, whose search state one process keeps: "
                        f"one worker per study, and {sorted(others)[0]} is running it", source=spec._source,
                        field="backend")


def _monitors(spec: StudySpec) -> list[tuple[str, str]]:
    """The curves the spec names for early stopping and the pruner, with their fields (a pruner
    naming none watches early stopping's, or ``val_loss``, which every fit logs)."""
    watched = []
    if spec.fit.early_stopping is not None:
        watched.append(("fit.early_stopping.monitor", spec.fit.early_stopping.monitor))
    if spec.pruner.active and spec.pruner.monitor is not None:
        watched.append(("pruner.monitor", spec.pruner.monitor))
    return watched


def _try_builder(spec: StudySpec, problem: Any, config: dict[str, Any]) -> set[str]:
    """Build the spec's builder once on ``config``; the ``val_``/``test_`` scores its compiled metrics add.

    A builder that lives only in this process (``tuning.builders.register_builder``) cannot be
    imported by worker processes, so it is refused with ``jobs`` > 1 here, in one line.
    """
    from tuning.builders import importable_by_workers
    from tuning.fit import start_keras

    if spec.jobs > 1 and not importable_by_workers(spec.model.builder):
        raise SpecError(f"{spec.model.builder} is a function of this process only, which worker processes cannot "
                        "import: use jobs 1, or put it in a module and name it module:function",
                        source=spec._source, field="model.builder")
    start_keras(spec.keras_backend)  # before Keras (tuning.models) is imported: TF's start-up chatter off stderr
    from tuning.models import try_builder

    try:
        names = try_builder(config, problem)
    except SpecError as exc:
        raise with_source(exc, spec._source) from None
    splits = ("val", "test") if problem.has_test else ("val",)
    return {f"{split}_{name}" for name in names for split in splits}


def _stop_error(stop_requested: threading.Event) -> KeyboardInterrupt:
    """What a stop request raises: :class:`Terminated` for SIGTERM, KeyboardInterrupt for Ctrl-C."""
    return Terminated() if getattr(stop_requested, "terminated", False) else KeyboardInterrupt()


@contextmanager
def _ctrl_c(stop_requested: threading.Event) -> Iterator[None]:
    """Make Ctrl-C (and SIGTERM) both raise at once and leave a flag the loop checks after every fit.

    Python drops a KeyboardInterrupt raised inside a finaliser or weakref callback (TensorFlow
    runs many), so a plain ``default_int_handler`` sometimes loses the user's Ctrl-C. SIGTERM
    raises :class:`Terminated`, a KeyboardInterrupt, so that it takes the same way out: trials
    marked interrupted, claims released, and the command exits 143.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop_requested.terminated = signum == signal.SIGTERM
        stop_requested.set()
        raise _stop_error(stop_requested)

    def quiet_unraisable(unraisable):
        # The swallowed Ctrl-C has set the flag; the loop stops after the running fit.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous = signal.signal(signal.SIGINT, handler)
    previous_term = signal.signal(signal.SIGTERM, handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = quiet_unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
        sys.unraisablehook = previous_hook
