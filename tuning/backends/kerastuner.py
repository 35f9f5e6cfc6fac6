"""KerasTuner proposes configs; ``tuning`` fits them, seed by seed, into the same store.

The spec's search space becomes KerasTuner ``HyperParameters`` (``Int``, ``Float`` with log
sampling, ``Choice``; per-layer ``units_<i>`` in a ``conditional_scope`` on ``layers``), and one
of KerasTuner's own tuners proposes the configs: ``GridSearch``, ``RandomSearch``,
``BayesianOptimization`` or ``Hyperband``. The tuner's oracle is driven the way
``Tuner.search`` drives it (``create_trial`` → run → ``update_trial`` → ``end_trial``), but a trial
is run by the project's own seed-repeated :class:`~tuning.search.evaluator.Evaluator`, not by KerasTuner's
``executions_per_trial``: every seed's scores and curves go to ``tuning_fits``, and the oracle is
told the aggregate objective.

Each KerasTuner trial is **mirrored** into an Optuna trial of the study of the same name in the
same storage, carrying exactly the user attributes :class:`~tuning.backends.optuna.OptunaBackend`
writes (``config_key``, ``config``, ``owner``, ``seeds``, ``seed_values``, ``n_seeds``, ``mean``,
``std``, ``tuning_status``, ``fail_reason``) plus ``kt_trial_id`` and ``kt_values``. So
``tuning status``, ``tuning report`` and :func:`tuning.load_results` read a KerasTuner study
unchanged.

Resume: KerasTuner keeps its search state in a project folder (``oracle.json``, ``tuner0.json``,
``trial_*/trial.json``). Here that folder is a temporary one, filled from the store's
``tuning_backend_state`` table when the backend starts, and copied back into the table (the
changed files, in one transaction) whenever a trial starts or ends. KerasTuner reloads it with
``overwrite=False``; a trial that was RUNNING when its process died is put on the oracle's retry
queue by KerasTuner itself and is proposed again first, with the same values, so the Evaluator
reuses its stored fits and runs only the missing seeds. Its Optuna mirror is marked
``interrupted`` (as the Optuna backend does) and a new mirror records the finished run.

Hyperband: ``max_epochs`` is ``fit.epochs``; a trial trains ``tuner/epochs`` epochs **from
scratch** (no warm start from the checkpoint of its previous round: a different epoch count is a
different config in the store, fitted and stored for every seed).

One KerasTuner trial runs at a time; ``--jobs N`` fits its seeds in parallel.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cmp_to_key
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tuning import trials as records
from tuning.backends import HYPERBAND_FACTOR, HYPERBAND_ITERATIONS, planned_trials
from tuning.backends._base import Backend, GridOrder
from tuning.backends._kt_space import SpaceMapping
from tuning.errors import SpecError
from tuning.results import TrialResult
from tuning.space import SearchSpace
from tuning.spec import StudySpec, config_key
from tuning.store import Store, process_gone
from tuning.vocabulary import BACKEND_SAMPLERS

#: The spec's sampler name -> KerasTuner's tuner class.
TUNERS = {"grid": "GridSearch", "random": "RandomSearch", "bayesian": "BayesianOptimization", "hyperband": "Hyperband"}
PROJECT = "project"  # the project folder's name inside the temporary directory
FOLDER_PREFIX = "tuning-kerastuner-"  # temporary directories: tuning-kerastuner-<pid>-<random>
TUNER_ID = "tuner0"

optuna.logging.set_verbosity(logging.WARNING)


@dataclass
class KerasTunerTrial:
    """A running trial: its Optuna mirror (``number``, ``trial_id``) and the KerasTuner trial.

    ``kt_trial`` is ``None`` for a trial that only tops up a finished config with more seeds.
    """

    number: int
    trial_id: int
    params: dict[str, Any]
    kt_trial: Any = None
    user_attrs: dict[str, Any] = field(default_factory=dict)


def import_keras_tuner():
    """Import ``keras_tuner`` (and TensorFlow, on that Keras backend) with their start-up chatter
    kept off the terminal; the study has set ``$KERAS_BACKEND`` before (the search loop)."""
    from tuning.quiet import import_tensorflow_quietly, silenced_stderr
    from tuning.vocabulary import default_keras_backend

    try:
        if default_keras_backend() == "tensorflow":
            import_tensorflow_quietly()
        if "keras_tuner" not in sys.modules:
            with silenced_stderr():
                import keras_tuner  # noqa: F401
        import keras_tuner
    except ModuleNotFoundError as exc:
        raise SpecError(f"backend 'kerastuner' needs the {exc.name} package: pip install keras-tuner scikit-learn",
                        field="backend") from None
    return keras_tuner


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """KerasTuner prints (reloading, trial tables, summaries) to stdout, and its Gaussian process
    (scikit-learn, SciPy) warns on stderr about convergence: keep the CLI's output clean."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class KerasTunerBackend(Backend):
    """Proposes configs with a KerasTuner tuner; same interface as ``OptunaBackend``.

    ``ask`` returns one trial at a time (``None`` while one runs, or when the tuner is done),
    ``tell`` records it in the Optuna mirror and in the oracle, ``interrupt`` and ``recover``
    mark a trial cut short as interrupted; the oracle proposes it again on the next run.
    """

    name = "kerastuner"
    samplers = BACKEND_SAMPLERS["kerastuner"]
    parallel_trials = False  # KerasTuner's oracle proposes one trial at a time
    shared = False  # its oracle's state is one process's files, saved whole: a second worker would overwrite it

    def __init__(self, spec: StudySpec, store: Store, space: SearchSpace, base: dict[str, Any], *,
                 order_grid: GridOrder | None = None):  # KerasTuner orders its own grid
        self.spec, self.store, self.space, self.base = spec, store, space, base
        self.kt = import_keras_tuner()
        self.storage = store.optuna_storage()
        self.study = optuna.create_study(storage=self.storage, study_name=spec.name,
                                         direction=spec.objective.direction, load_if_exists=True)
        self.study_id = self.storage.get_study_id_from_name(spec.name)
        self.sampler = spec.sampler.name
        self.grid = space.grid() if self.sampler == "grid" else None
        hyperband = self.sampler == "hyperband"
        self.mapping = SpaceMapping(space, grid=self.grid is not None, max_epochs=spec.fit.epochs if hyperband else None)
        self.mapping.declare(self.kt.HyperParameters())  # the value decoding, also when KerasTuner reloads
        _remove_stale_folders()
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, True)
        self.project_dir = Path(self.folder) / PROJECT
        self._saved = self._materialise(store.backend_state(spec.name))
        self.tuner = self._make_tuner()
        self.oracle = self.tuner.oracle

    # -- KerasTuner's project folder <-> the store ----------------------------------------------

    def _materialise(self, files: dict[str, str]) -> dict[str, str]:
        for rel, content in files.items():
            path = (self.project_dir / rel).resolve()
            if self.project_dir.resolve() not in path.parents:
                raise RuntimeError(f"unexpected path in the stored KerasTuner state: {rel!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        return dict(files)

    def _snapshot(self) -> None:
        """Save the tuner and copy every changed project file into the store (one transaction)."""
        with _quiet():
            self.tuner.save()
        changed = {}
        for path in sorted(self.project_dir.rglob("*.json")):
            rel = path.relative_to(self.project_dir).as_posix()
            content = path.read_text(encoding="utf-8")
            if self._saved.get(rel) != content:
                changed[rel] = content
        self.store.save_backend_state(self.spec.name, changed)
        self._saved.update(changed)

    def _make_tuner(self) -> Any:
        kt = self.kt
        hypermodel_class = type("SpaceHyperModel", (kt.HyperModel,), {
            "build": lambda _self, hp: self.mapping.declare(hp),  # the space only: fits are tuning's
        })
        direction = "min" if self.spec.objective.direction == "minimize" else "max"
        kwargs: dict[str, Any] = dict(
            hypermodel=hypermodel_class(name="tuning_space"),
            objective=kt.Objective(self.spec.objective.metric, direction=direction),
            # KerasTuner draws a random seed for seed=0 (falsy): pass seed + 1 so that 0 is a seed too.
            seed=self.spec.sampler.seed + 1,
            directory=self.folder, project_name=PROJECT, overwrite=False,
            max_consecutive_failed_trials=None,  # a failed config is recorded; the study goes on
        )
        if self.sampler == "hyperband":
            kwargs.update(max_epochs=self.spec.fit.epochs, factor=HYPERBAND_FACTOR,
                          hyperband_iterations=HYPERBAND_ITERATIONS)
        else:
            kwargs["max_trials"] = self.planned()
        try:
            with _quiet():
                tuner = getattr(kt, TUNERS[self.sampler])(**kwargs)
        except ImportError as exc:  # BayesianOptimization without scikit-learn
            raise SpecError(f"sampler 'bayesian' needs scikit-learn: pip install scikit-learn ({exc})",
                            field="sampler") from None
        if self.sampler == "hyperband" and self.spec.n_trials:
            tuner.oracle.max_trials = self.spec.n_trials  # checked by Oracle.create_trial before Hyperband's schedule
        tuner.oracle.verbose = 0
        if self.sampler == "grid" and tuner.oracle.trials and not tuner.oracle._populate_next:
            _restore_grid_order(tuner.oracle)
        return tuner

    # -- bookkeeping (the Optuna mirror) --------------------------------------------------------

    def planned(self) -> int:
        """How many trials the study is to finish in all: the plan, or fewer once KerasTuner's tuner
        ended early (its random or Hyperband sampling ran out of new configs)."""
        ended = self.study.user_attrs.get(records.TUNER_ENDED)
        return planned_trials(self.spec, None if self.grid is None else len(self.grid),
                              None if ended is None else int(ended))

    def done(self) -> list[optuna.trial.FrozenTrial]:
        """Finished mirrors evaluated on every current seed, one per KerasTuner trial (per grid point)."""
        covering = [t for t in self.finished() if self.covers_seeds(t)]
        if self.grid is not None:
            return list({records.config_key_of(t): t for t in covering}.values())
        return list({records.mirrored_of(t)[0] or f"#{t.number}": t for t in covering}.values())

    def _concluded(self, kt_trial_id: str) -> optuna.trial.FrozenTrial | None:
        """The finished mirror of a KerasTuner trial, if its outcome was recorded before a kill."""
        mirrors = [t for t in self.finished() if records.mirrored_of(t)[0] == kt_trial_id and self.covers_seeds(t)]
        return mirrors[-1] if mirrors else None

    def recover(self, alive: set[str]) -> list[int]:
        """Mark mirrors left RUNNING by a worker whose lease is gone interrupted (KerasTuner retries the trial)."""
        recovered = []
        for trial in self.trials():
            if trial.state == TrialState.RUNNING and records.is_orphaned(trial, alive):
                self._interrupt(self.storage.get_trial_id_from_study_id_trial_number(self.study_id, trial.number),
                                trial.number, reason="owner process gone")
                recovered.append(trial.number)
        return recovered

    def _interrupt(self, trial_id: int, number: int, reason: str) -> None:
        records.write(lambda name, value: self.storage.set_trial_user_attr(trial_id, name, value),
                      records.interrupted_attrs(reason))
        self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)

    # -- the loop -------------------------------------------------------------------------------

    def ask(self, busy: set[str] | None = None) -> tuple[KerasTunerTrial, dict[str, Any], str] | None:
        """The next trial, its config and config key; ``None`` while one runs or when done."""
        if busy:
            return None  # one KerasTuner trial at a time
        while True:
            needing = self.needing_more_seeds()
            if needing:  # configs run with fewer seeds than asked are topped up first
                old = needing[0]
                extra = {**records.origin_attrs(more_seeds_for=old.number), **records.mirror_attrs(*records.mirrored_of(old))}
                return self._start(dict(old.params), None, extra)
            with _quiet():
                kt_trial = self.oracle.create_trial(TUNER_ID)
            if kt_trial.status != "RUNNING":  # STOPPED: the tuner is done (IDLE only with other trials running)
                done = len(self.done())
                if done < self.planned():
                    self.study.set_user_attr(records.TUNER_ENDED, done)  # the plan shrinks to what it ran
                return None
            self._snapshot()  # the trial is RUNNING in the stored state: a kill now retries it
            concluded = self._concluded(kt_trial.trial_id)
            if concluded is not None:  # killed after its mirror was told, before the oracle was saved
                value = concluded.value if concluded.state == TrialState.COMPLETE else None
                self._end_kt(kt_trial, value, records.fail_reason_of(concluded))
                continue
            values = dict(kt_trial.hyperparameters.values)
            extra = records.mirror_attrs(kt_trial.trial_id, values)
            return self._start(self.mapping.to_point(values), kt_trial, extra)

    def _start(self, point: dict[str, Any], kt_trial: Any, extra: dict[str, Any]):
        config = self.space.to_config(point, self.base)
        key = config_key(config)
        attrs = {**records.start_attrs(self.owner, config, key), **records.mirror_attrs(None, None), **extra}
        frozen = optuna.trial.create_trial(state=TrialState.RUNNING, params=point,
                                           distributions=self.mapping.distributions(point), user_attrs=attrs)
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=frozen)
        number = self.storage.get_trial_number_from_id(trial_id)
        return KerasTunerTrial(number, trial_id, point, kt_trial, attrs), config, key

    def tell(self, trial: KerasTunerTrial, result: TrialResult) -> None:
        """Record a trial's outcome in its Optuna mirror, then in KerasTuner's oracle."""
        records.write(lambda name, value: self.storage.set_trial_user_attr(trial.trial_id, name, value),
                      records.outcome_attrs(result))
        if result.value is None:
            self.study.tell(trial.number, state=TrialState.FAIL)
        else:
            self.study.tell(trial.number, result.value)
        if trial.kt_trial is not None:
            self._end_kt(trial.kt_trial, result.value, result.failure)

    def _end_kt(self, kt_trial: Any, value: float | None, failure: str | None) -> None:
        with _quiet():
            if value is None:
                kt_trial.status, kt_trial.message = "FAILED", failure
            else:
                self.oracle.update_trial(kt_trial.trial_id, {self.spec.objective.metric: value})
                kt_trial.status = "COMPLETED"
            self.oracle.end_trial(kt_trial)
        self._snapshot()

    def interrupt(self, trial: KerasTunerTrial, reason: str = "stopped by the user") -> None:
        """Mark the mirror interrupted; the KerasTuner trial stays open and is retried next run."""
        self._interrupt(trial.trial_id, trial.number, reason)


def _restore_grid_order(oracle: Any) -> None:
    """Rebuild the GridSearch oracle's walk after a reload.

    ``GridSearchOracle`` keeps the order of the tried points (``_ordered_ids``) and the trials
    whose successor is still to be proposed (``_populate_next``) outside its saved state, so a
    reloaded grid would stop at once. Both follow from the trials: sort them in the oracle's own
    order and queue them all; a point whose successor was tried is skipped by the oracle.
    """
    trials = oracle.trials

    def compare(a: str, b: str) -> int:
        return oracle._compare(trials[a].hyperparameters.values, trials[b].hyperparameters.values)

    ordered_ids = sorted(trials, key=cmp_to_key(compare))
    linked = type(oracle._ordered_ids)()
    for trial_id in ordered_ids:
        linked.insert(trial_id)
    oracle._ordered_ids = linked
    oracle._populate_next = list(ordered_ids)


def _remove_stale_folders() -> None:
    """Delete the temporary project folders of processes that were killed (the store has their state)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if pid.isdigit() and process_gone(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


