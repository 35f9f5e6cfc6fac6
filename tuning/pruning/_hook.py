"""The pruner as an epoch hook: what every fit path calls, deciding on each config's seed aggregate.

:class:`SeedAggregatePruning` is a :class:`tuning.fit.EpochHook`. After every epoch a fit path
tells it the monitored value of each fit that trained the epoch; it groups them by config, adds
the config's seeds that trained before (stored, or earlier in this run), reports the config's
aggregate to an :class:`~tuning.pruning.EpochPruner` and answers "stop" for every fit of a config
the pruner prunes. The same hook serves every runner:

* fused seeds (TensorFlow's graph, JAX's ``vmap``): every seed of a config reports an epoch in the
  same call, so the aggregate of epoch ``e`` is reported once, when all of them have reached it;
* one seed at a time (``sequential``, ``processes``, a ``model.builder``): the fit's seed joins
  the seeds fitted before it, and the aggregate over those seeds so far is reported (a new
  Optuna trial of the config each time the seed count grows, see :mod:`tuning.pruning`); a
  config pruned while one seed trains has its later seeds skipped (:meth:`skips`).

Decisions live in the store. The hook is made for each batch of trials from the study's stored
fits (:class:`Concluded`, one per config that has fits, in the order its last fit was stored):
pruned fits carry status ``pruned`` and the curves up to the epoch they stopped at, so a fresh
:class:`~tuning.pruning.EpochPruner` that replays them (:meth:`EpochPruner.replay`) reaches the
state the study's pruner had when the batch started, in this process, in a worker process, after
``kill -9`` and on another machine alike. Configs that train together in one batch are judged
against the configs concluded before it and each other's reports: a config whose fits are all in
counts among the finished ones from then on in this process (:meth:`config_done`, which the
evaluator calls), and a resume that rebuilds the history from the store finds it there, in the same
order. Configs that train at the same time (in one fused graph, or in other worker processes,
each with its copy of the hook) do not see each other finish, as Optuna's parallel workers do not.

The hook is plain data until its first call (the Optuna study is built there), so it pickles to
worker processes with the fits it decides for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tuning.pruning._judge import EpochPruner, aggregate_curves
from tuning.vocabulary import DEFAULT_MONITOR, direction_of


def monitored_curve(spec: dict) -> tuple[str, str]:
    """(the curve a study's pruner judges, its direction), from the spec as stored (a plain dict):
    ``pruner.monitor``, else the early stopping's monitor, else ``val_loss``; better in the
    direction its name says (``val_accuracy`` higher). The live pruner and ``tuning replay`` both ask here."""
    early = (spec.get("fit") or {}).get("early_stopping") or {}
    monitor = ((spec.get("pruner") or {}).get("monitor") or early.get("monitor") or DEFAULT_MONITOR)
    return monitor, direction_of(monitor.removeprefix("val_"))


@dataclass(frozen=True)
class Concluded:
    """A config the study's pruner has seen before this batch: its aggregate curve as reported, and
    whether it was pruned (else it trained to its end)."""

    config: str
    curve: tuple[float, ...]
    pruned: bool


def stored_decisions(fits: Iterable[tuple[str, int, bool, Sequence[float] | None]], *, direction: str,
                     aggregate: str, training: Iterable[str] = ()
                     ) -> tuple[list[Concluded], dict[str, list[list[float]]], dict[str, int]]:
    """What the study's pruner had decided, rebuilt from its stored fits.

    Args:
        fits: ``(config_key, seed, pruned, monitored curve)`` of every stored fit, oldest first;
            the curve is ``None`` for a failed fit (it takes no part).
        training: config keys of the batch about to train: they are judged, not history.

    Returns:
        (the configs concluded, in the order their last fit was stored; per config of ``training``
        the curves of its seeds already stored, which join its aggregate; the configs of
        ``training`` pruned already, with the epochs their pruned seed ran: a study interrupted
        after the pruner stopped one seed must not start the config's next seeds on resume).
    """
    training = set(training)
    curves: dict[str, list[Sequence[float]]] = {}
    pruned: dict[str, bool] = {}
    order: dict[str, int] = {}
    stopped: dict[str, int] = {}
    for position, (key, _seed, was_pruned, curve) in enumerate(fits):
        order[key] = position
        pruned[key] = pruned.get(key, False) or was_pruned
        if was_pruned and key in training:
            stopped[key] = max(stopped.get(key, 0), len(curve or ()))
        if curve is not None and len(curve):
            curves.setdefault(key, []).append(curve)
    history = [Concluded(key, tuple(_aggregate(curves[key], direction, aggregate)), pruned[key])
               for key in sorted(order, key=order.get) if key not in training and key in curves]
    return history, {key: [list(c) for c in curves.get(key, [])] for key in training}, stopped


def _aggregate(curves: Sequence[Sequence[float]], direction: str, aggregate: str) -> np.ndarray:
    """The per-epoch seed aggregate of curves of different lengths (a seed that stopped keeps its value)."""
    longest = max(len(c) for c in curves)
    padded = np.full((len(curves), longest), np.nan)
    for row, curve in enumerate(curves):
        padded[row, :len(curve)] = curve
    return aggregate_curves(padded, direction, aggregate)


@dataclass
class SeedAggregatePruning:
    """An epoch hook that prunes configs on their seed aggregate (see the module's docstring).

    Args:
        pruner: a name of :data:`tuning.vocabulary.PRUNERS`.
        monitor: the curve judged (``val_loss``); ``direction`` the way it is better.
        aggregate: the study's seed aggregate (``mean``, ...).
        epochs: the fits' epochs (the default warm-up, Hyperband's ``max_resource``).
        settings: Optuna keyword arguments over :func:`tuning.pruning.default_settings`.
        history: the configs concluded before this batch (:func:`stored_decisions`).
        stored: per config of this batch, the curves of its seeds already stored.
        min_seeds: the fewest seeds a config is judged on (``pruner.min_seeds``): with seeds fitted
            one at a time, 2 lets the first seed train to its end and judges it with the second.
    """

    pruner: str
    monitor: str
    direction: str
    aggregate: str
    epochs: int | None
    settings: dict = field(default_factory=dict)
    history: list[Concluded] = field(default_factory=list)
    stored: dict[str, list[list[float]]] = field(default_factory=dict)
    pruned: dict[str, int] = field(default_factory=dict)  # config -> epochs trained when pruned, this batch
    min_seeds: int = 1

    def __post_init__(self) -> None:
        self._judge: EpochPruner | None = None
        self._seen: dict[str, dict[int, list[float]]] = {}  # config -> seed -> this run's values so far

    def __getstate__(self) -> dict:  # a worker process rebuilds the judge from the history
        return {k: v for k, v in self.__dict__.items() if k != "_judge"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._judge = None

    def judge(self) -> EpochPruner:
        """The study's pruner as of this batch's start (the history replayed), built once."""
        if self._judge is None:
            self._judge = EpochPruner(self.pruner, self.direction, epochs=self.epochs, **self.settings)
            for concluded in self.history:
                self._judge.replay(concluded.config, concluded.curve, pruned=concluded.pruned)
        return self._judge

    def config_done(self, config: str, stopped: bool) -> None:
        """Every fit of ``config`` in this batch is in; ``stopped``: whether this hook stopped or
        skipped any of them. A config that trained to its end (a stop asked at the epoch its fits
        ended anyway included) now counts among the finished ones (the median's), for the configs
        judged after it in this process, as it does for a study resumed from its stored fits."""
        if not stopped:
            self.pruned.pop(config, None)
        self.judge().conclude(config, stopped=config in self.pruned)

    def skips(self, fit: tuple[str, int]) -> bool:
        """Is ``(config, seed)``'s config pruned already (its seed need not start)?"""
        return fit[0] in self.pruned

    def __call__(self, epoch: int, fits: Sequence[tuple[str, int]], values: np.ndarray) -> np.ndarray:
        judge = self.judge()
        stop = np.zeros(len(fits), dtype=bool)
        positions: dict[str, list[int]] = {}
        for position, (key, seed) in enumerate(fits):
            positions.setdefault(key, []).append(position)
            seen = self._seen.setdefault(key, {}).setdefault(seed, [])
            seen += [math.nan] * (epoch - len(seen)) + [float(values[position])]
        for key, where in positions.items():
            if key in self.pruned:
                stop[where] = True
                continue
            curves = self.stored.get(key, []) + list(self._seen[key].values())
            if len(curves) < self.min_seeds:  # too few seeds yet to judge the config on
                continue
            value = _aggregate([c[: epoch + 1] for c in curves], self.direction, self.aggregate)[epoch]
            if math.isfinite(value) and judge.report(key, epoch, value, seeds=len(curves)):
                self.pruned[key] = epoch + 1
                stop[where] = True
        return stop
