"""What every backend is: it proposes configs and records what each trial concluded.

A backend decides *what* to try next; the evaluator decides *how* to fit it. The search loop
(:func:`tuning.search.loop.run_study`) talks to a backend only through :class:`Backend`: ``planned``,
``done``, ``recover``, ``ask``, ``tell`` and ``interrupt``, and reads what it supports from its
class attributes instead of probing it. Both backends keep their trials in Optuna's tables of the
study's store (:mod:`tuning.trials` writes and reads the records), so the bookkeeping that only
reads those tables lives here, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from tuning import trials as records
from tuning.results import TrialStatus
from tuning.trials import CONCLUDED, FixedSeeds, seed_policy, status_of

if TYPE_CHECKING:
    import optuna

    from tuning.results import TrialResult
    from tuning.space import SearchSpace
    from tuning.spec import StudySpec
    from tuning.store import Leases, Store

#: Reorders grid points (the runner's, so that configs able to share its work are asked together).
GridOrder = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class Backend(ABC):
    """Proposes the configs of one study and records each trial's outcome in the store.

    Class attributes say what the backend supports (the loop reads them, nothing else):

    * ``name``: the spec's ``backend`` value;
    * ``samplers``: the sampler names it offers (``tuning.vocabulary.BACKEND_SAMPLERS`` is the table);
    * ``parallel_trials``: whether several trials may be in flight at once (KerasTuner's oracle
      proposes one at a time);
    * ``resumable``: whether its search state survives ``kill -9`` (both keep it in the store);
    * ``shared``: whether several workers may run the study at once (each claims a config in the
      store before it trials it, :meth:`claim`).

    Subclasses set ``spec``, ``study`` (the Optuna study holding the trial records) and ``grid``
    (a grid sampler's points in the order they are asked, else ``None``). The loop
    hands the backend this worker's claims on the study (:meth:`join`) before it asks for a trial.
    """

    name: ClassVar[str]
    samplers: ClassVar[tuple[str, ...]]
    parallel_trials: ClassVar[bool] = True
    resumable: ClassVar[bool] = True
    shared: ClassVar[bool] = True

    spec: StudySpec
    study: optuna.Study
    grid: list[dict[str, Any]] | None = None
    leases: Leases | None = None

    @abstractmethod
    def __init__(self, spec: StudySpec, store: Store, space: SearchSpace, base: dict[str, Any], *,
                 order_grid: GridOrder | None = None): ...

    @abstractmethod
    def planned(self) -> int:
        """How many trials the study is to finish in all."""

    @abstractmethod
    def done(self) -> list[optuna.trial.FrozenTrial]:
        """Finished trials that count towards the plan (evaluated on every seed the policy asks for)."""

    @abstractmethod
    def recover(self, alive: set[str]) -> list[int]:
        """Mark trials left RUNNING by a worker whose owner tag is not in ``alive`` (those whose lease
        is renewed) interrupted; return their numbers."""

    @abstractmethod
    def ask(self, busy: set[str] | None = None) -> tuple[Any, dict[str, Any], str] | None:
        """The next trial, its config and config key; ``None`` when nothing is to start now."""

    @abstractmethod
    def tell(self, trial: Any, result: TrialResult) -> None:
        """Record a trial's outcome."""

    @abstractmethod
    def interrupt(self, trial: Any, reason: str = "stopped by the user") -> None:
        """Mark a trial cut short; it is proposed again on the next run."""

    # -- bookkeeping shared by every backend (it only reads the trial records) --------------------

    def join(self, leases: Leases, alone: bool) -> None:
        """Claim through ``leases`` from now on (``alone``: no other worker is on the study now)."""
        self.leases = leases

    @property
    def owner(self) -> str:
        """The tag a trial started here records: this worker's (its leases'), else this process's."""
        return self.leases.owner if self.leases is not None else records.owner_tag()

    def claim(self, key: str) -> bool:
        """Claim config ``key`` for this worker's trial (always granted without leases)."""
        from tuning.store import point_item

        return self.leases is None or bool(self.leases.claim([point_item(key)]))

    def held_elsewhere(self) -> set[str]:
        """Config keys another live worker is trialling now."""
        if self.leases is None:
            return set()
        return {item.removeprefix("point:") for item in self.leases.held_by_others("point:")}

    @property
    def seeds(self) -> FixedSeeds:
        """Which seeds a config gets: the study's seed-allocation policy (fixed, or a race's)."""
        return seed_policy(self.spec)

    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def finished(self) -> list[optuna.trial.FrozenTrial]:
        """Trials that concluded (complete, or failed for a reason of their own)."""
        return [t for t in self.trials() if status_of(t) in CONCLUDED]

    def covers_seeds(self, trial: optuna.trial.FrozenTrial) -> bool:
        return self.seeds.covers(records.seeds_of(trial), records.race_of(trial),
                                 pruned=status_of(trial) == TrialStatus.PRUNED)

    def done_keys(self) -> set[str]:
        """Configs with a finished trial on every seed the policy asks for."""
        return {records.config_key_of(t) for t in self.finished() if self.covers_seeds(t)}

    def needing_more_seeds(self) -> list[optuna.trial.FrozenTrial]:
        """One finished trial per config that lacks some of the seeds asked for (``--repeats`` grew)."""
        done_keys = self.done_keys()
        needing: dict[str, optuna.trial.FrozenTrial] = {}
        for trial in self.finished():
            key = records.config_key_of(trial)
            if key not in done_keys and not self.covers_seeds(trial):
                needing.setdefault(key, trial)
        return list(needing.values())
