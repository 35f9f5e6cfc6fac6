"""Racing over seeds: give a config more seeds only while it could still be the best.

Every config draws its seeds from one sequence (paired: seed ``s`` of one config meets seed
``s`` of every other). The race looks at the scores at a few seed counts (:func:`looks`: 3, 5,
8, 12, 18, 20 for 3 to 20 seeds); at each look :func:`tuning.statistics.compare` (the study's
one test, no second copy) drops the configs that some config beats, and the race ends when one
config is left, every config left has ``max`` seeds, or every config left is equivalent to the
best within the margin.

Why it keeps its error rate over many looks: each look tests at its own share of ``level``,
spent by a Pocock-type function of the seeds used so far (Lan & DeMets 1983),
``level * log(1 + (e - 1) * n / max)``. The shares add up to ``level``, so by the union bound a
config that is truly the best is dropped at some look with probability at most ``level``,
however the looks depend on each other; a Pocock-type function spends more early than
O'Brien-Fleming's, which is where racing saves (hopeless configs leave after a few seeds).

Elitist: a config is only ever judged on the seeds *it* has, against configs that have them too
(:func:`next_round` compares each group of configs at its own seed count), so the incumbent,
which has the most seeds, is never dropped by a challenger that has not caught up with it.

Two ways configs enter a race. With the grid and random samplers the whole plan is known, so
every config starts together and the race ends for all at once (one left, all at ``max``, or all
equivalent). A model-based sampler (TPE, CMA-ES) proposes a config from the values of the trials
told before, so configs *arrive* one or a few at a time (``Race(arriving=True)``): each newcomer
races alone against every config that has its seeds, the ones that left before included (SMAC's
intensification: a challenger runs on the incumbent's seeds), and leaves when it is dropped or
has ``max`` seeds. Nothing ends such a race early for being the last one running, so every
survivor has ``max`` seeds and the comparison with the next challenger is on all of them.

The module is pure NumPy: :func:`replay` runs a race on a matrix of scores that is already
complete (a finished exhaustive study's fits, or a simulated study), which is how the race is
measured (``benchmarks/racing.py``) and how a user sees what it would have saved on their own
study; a live study asks :func:`next_round` after every round of fits.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> scores = np.array([[0.0], [0.2], [3.0]]) + rng.normal(0, 0.3, (3, 20))
    >>> result = replay(scores, Race(min_seeds=3, max_seeds=20))
    >>> result.seeds.tolist()[2] < 20, result.winner
    (True, 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from tuning.objective import parse_margin
from tuning.statistics import LEVEL, compare, resolve_margin

#: how much the seed count grows from one look to the next (3, 5, 8, 12, 18, ...)
GROWTH = 1.5


@dataclass(frozen=True)
class Race:
    """How a race runs: seeds per config between ``min_seeds`` and ``max_seeds``, tests at ``level``
    over the whole race, and the margin (metric units; NaN: none) that ends it early when every
    config left is equivalent to the best."""

    min_seeds: int = 3
    max_seeds: int = 20
    level: float = LEVEL
    margin: float = math.nan
    arriving: bool = False  # configs join one or a few at a time (a model-based sampler's proposals)
    objective_margin: object | None = None  # or the study's objective.margin ("2%": of the best's mean at each look)

    @classmethod
    def with_margin(cls, margin: object | None, **settings) -> Race:
        """A race whose margin is a study's ``objective.margin`` (checked here): a number in the
        metric's units, or a percentage of the best's mean read at each look; ``None``: no margin,
        the race does not end on equivalence (the 5 % default is for reading the results)."""
        if margin is not None:
            parse_margin(margin)
        return cls(**settings, objective_margin=margin)

    @property
    def margin_text(self) -> str:
        """", margin 0.01" / ", margin 2 % of the best's aggregate" / "" (no margin)."""
        if math.isfinite(self.margin):
            return f", margin {self.margin:g}"
        if self.objective_margin is None:
            return ""
        value, relative = parse_margin(self.objective_margin)
        return f", margin {resolve_margin(self.objective_margin, 1.0)[1]}" if relative else f", margin {value:g}"

    def margin_at(self, best_mean: float) -> float:
        """The margin in the metric's units when the best config left has mean ``best_mean``
        (:func:`tuning.statistics.resolve_margin`, the rule every other reading of a margin uses)."""
        if math.isfinite(self.margin) or self.objective_margin is None:
            return self.margin
        return resolve_margin(self.objective_margin, best_mean)[0]

    def __post_init__(self) -> None:
        if not 2 <= self.min_seeds <= self.max_seeds:
            raise ValueError(f"a race needs 2 <= min <= max seeds (got min {self.min_seeds}, max {self.max_seeds})")
        if not 0 < self.level < 1:
            raise ValueError(f"alpha must be between 0 and 1 (got {self.level})")


def looks(race: Race) -> list[int]:
    """The seed counts at which the race tests: ``min_seeds``, then about ``GROWTH`` times more
    each time, ending at ``max_seeds``."""
    counts = [race.min_seeds]
    while counts[-1] < race.max_seeds:
        counts.append(min(race.max_seeds, max(counts[-1] + 1, math.ceil(counts[-1] * GROWTH))))
    return counts


def level_at(race: Race, seeds: int) -> float:
    """The share of ``race.level`` the look at ``seeds`` tests at: the Pocock-type spending
    function's increase since the previous look (the shares of all looks add up to the level)."""
    counts = looks(race)
    if seeds not in counts:
        raise ValueError(f"{seeds} seeds is not a look of this race ({counts})")

    def spent(n: int) -> float:
        return race.level * math.log(1 + (math.e - 1) * n / race.max_seeds)

    at = counts.index(seeds)
    return spent(seeds) - (spent(counts[at - 1]) if at else 0.0)


@dataclass
class Elimination:
    """Why a config stopped getting seeds: the look (its seed count), the config that beat it
    and the step-down p-value (at most the look's level)."""

    config: int
    seeds: int
    beaten_by: int
    p: float


def elimination_text(dropped: Elimination, race: Race, beaten_by: object) -> str:
    """What a race says of a config it dropped: the look, who beat it, and its p beside the share of
    the race's level that look tests at (the level is spent over the looks, so a p under the race's
    ``alpha`` need not drop a config: its look's share is the threshold)."""
    counts = looks(race)
    level = f" (the level at that look: {level_at(race, dropped.seeds):.3g})" if dropped.seeds in counts else ""
    return f"eliminated after {dropped.seeds} seeds: worse than trial {beaten_by}, p = {dropped.p:.3g}{level}"


@dataclass
class Round:
    """What :func:`next_round` decided: the configs dropped now, the configs that leave the race
    still in it (``survived``: the outcome to record), the seed count each config still running should reach next,
    and, once nothing is left to fit, why the race ended."""

    eliminated: list[Elimination] = field(default_factory=list)
    survived: dict[int, str] = field(default_factory=dict)
    targets: dict[int, int] = field(default_factory=dict)
    finished: str | None = None


def next_round(scores, given, alive, race: Race) -> Round:
    """One decision of a race, from the scores so far.

    Args:
        scores: (configs, seeds) matrix, lower is better; column ``s`` is the ``s``-th seed of
            the shared sequence; NaN where a config has not been fitted with it (yet) or its fit
            failed.
        given: per config, how many leading seeds of the sequence it has been given (failed
            fits included).
        alive: bool per config: still in the race (``False`` once eliminated).
        race: the race's settings.

    A look is judged when every config still in the race has reached it (no more, no fewer
    seeds): the configs that reached it are compared on its seeds (those dropped at this very
    look included, so that asking again, after a crash between two decisions of one look, gives
    the same family and the same decisions), and those Hsu's MCB rules out as the true best are
    dropped. A config behind the leaders gets seeds up to its next look while the leaders wait
    (a challenger never judges an incumbent on fewer seeds than the incumbent has); when all
    are level and judged, each gets seeds up to the next look. The function keeps no state: the
    scores, the seed counts and who is still in the race say everything.
    """
    x = np.asarray(scores, dtype=float)
    given = np.asarray(given, dtype=int)
    alive = np.asarray(alive, dtype=bool).copy()
    counts = looks(race)
    if race.arriving:
        return _arriving_round(x, given, alive, race, counts)
    decision = _closed_round(x, given, alive, race, counts)
    if decision.finished:
        decision.survived = {int(c): f"left when the race ended: {decision.finished}" for c in np.flatnonzero(alive)}
    return decision


def _closed_round(x: np.ndarray, given: np.ndarray, alive: np.ndarray, race: Race, counts: list[int]) -> Round:
    """A race among the whole plan, which every config started together."""
    decision = Round()
    left = np.flatnonzero(alive)
    look = int(given[left].min()) if len(left) else 0
    if len(left) >= 2 and given[left].max() == look and look in counts:
        for config, dropped in _ruled_out(x, np.flatnonzero(given >= look), look, race).items():
            if alive[config]:
                decision.eliminated.append(dropped)
                alive[config] = False
    left = np.flatnonzero(alive)
    if len(left) == 1 and given[left[0]] < race.min_seeds:  # a study of one config: it still gets its seeds
        decision.targets = {int(left[0]): race.min_seeds}
        return decision
    if len(left) <= 1:
        decision.finished = "one config left" if len(left) == 1 else "no config left"
        return decision
    top = max(given[left].max(), race.min_seeds)
    if (given[left] >= race.max_seeds).all():
        decision.finished = f"every config left has {race.max_seeds} seeds"
        return decision
    level_now = (given[left] == top).all() and top >= race.min_seeds
    margin = race.margin_at(_best_mean(x[left, :top])) if level_now else math.nan
    if math.isfinite(margin) and margin > 0:
        level = level_at(race, top) if top in counts else race.level
        equivalent = compare(x[left, :top], margin=margin, level=level).equivalent_to_best
        if equivalent.all():
            decision.finished = "every config left is equivalent to the best"
            return decision
    behind = left[given[left] < top]
    if len(behind):  # configs behind catch up with the leaders (on the leaders' seeds) first
        decision.targets = {int(c): min(_next_look(counts, int(given[c])), int(top)) for c in behind}
    else:
        decision.targets = {int(c): _next_look(counts, int(given[c])) for c in left}
    return decision


def _best_mean(x: np.ndarray) -> float:
    """The lowest mean of the rows' finished scores (NaN when no row has one)."""
    counts = np.isfinite(x).sum(axis=1)
    means = np.where(counts > 0, np.nansum(x, axis=1) / np.maximum(counts, 1), np.inf)
    return float(means.min()) if np.isfinite(means).any() else math.nan


def _arriving_round(x: np.ndarray, given: np.ndarray, alive: np.ndarray, race: Race, counts: list[int]) -> Round:
    """Each config still running, judged at its own look against every config with its seeds."""
    decision = Round()
    for config in np.flatnonzero(alive):
        have = int(given[config])
        family = np.flatnonzero(given >= have)
        if have in counts and len(family) >= 2:
            dropped = _ruled_out(x, family, have, race).get(int(config))
            if dropped is not None:
                decision.eliminated.append(dropped)
                continue
        if have >= race.max_seeds:
            decision.survived[int(config)] = (f"survived the race: {race.max_seeds} seeds and no config it raced "
                                              "against beats it")
        else:
            decision.targets[int(config)] = _next_look(counts, have)
    if not decision.targets:
        decision.finished = "every config running has left"
    return decision


@dataclass
class RaceResult:
    """A race run to its end on a complete matrix (:func:`replay`)."""

    seeds: np.ndarray                 # seeds each config was given
    alive: np.ndarray                 # still in the race at the end
    eliminations: list[Elimination]
    winner: int | None                # lowest mean among the configs with the most seeds left
    finished: str
    rounds: int

    @property
    def fits(self) -> int:
        return int(self.seeds.sum())


def replay(scores, race: Race) -> RaceResult:
    """Run a race on a complete (configs, seeds) matrix: what it would have given each config,
    whom it would have dropped when, and what it would have picked. Seeds beyond ``max_seeds``
    are not used; a config whose cell is NaN (a failed fit) simply has one score fewer there.
    Under ``race.arriving`` the configs join one at a time, in row order (a model-based
    sampler's proposals), each racing until it leaves before the next one joins."""
    full = np.asarray(scores, dtype=float)
    if full.ndim != 2 or full.shape[1] < race.min_seeds:
        raise ValueError(f"replay needs a (configs, seeds) matrix with at least {race.min_seeds} seeds")
    race = replace(race, max_seeds=min(race.max_seeds, full.shape[1]))
    configs = full.shape[0]
    given = np.zeros(configs, dtype=int)
    alive = np.zeros(configs, dtype=bool)
    survived = np.zeros(configs, dtype=bool)
    eliminations: list[Elimination] = []
    rounds = 0
    finished = "no seeds left to give"
    for joining in ([[c] for c in range(configs)] if race.arriving else [list(range(configs))]):
        alive[joining] = True
        if not race.arriving:
            given[joining] = race.min_seeds
        while True:
            rounds += 1
            view = np.where(np.arange(full.shape[1])[None, :] < given[:, None], full, np.nan)
            decision = next_round(view, given, alive, race)
            eliminations.extend(decision.eliminated)
            alive[[dropped.config for dropped in decision.eliminated]] = False
            alive[list(decision.survived)] = False
            survived[list(decision.survived)] = True
            finished = decision.finished or finished
            if decision.finished or not decision.targets:
                break
            for config, target in decision.targets.items():
                given[config] = target
    left = np.flatnonzero(survived | alive)
    winner = None
    if len(left):
        most = given[left].max()
        top = left[given[left] == most]
        winner = int(top[np.nanargmin(np.nanmean(full[top, :most], axis=1))])
    return RaceResult(given.copy(), survived | alive, eliminations, winner, finished, rounds)


def _next_look(counts: list[int], have: int) -> int:
    later = [c for c in counts if c > have]
    return later[0] if later else have


def _ruled_out(x: np.ndarray, family: np.ndarray, look: int, race: Race) -> dict[int, Elimination]:
    """The configs of ``family`` (rows of ``x``) that Hsu's MCB rules out as the best on their
    first ``look`` seeds, at the look's share of the race's level: why each would be dropped."""
    comparison = compare(x[family, :look], level=level_at(race, look))
    return {int(family[p]): Elimination(int(family[p]), look, int(family[_beaten_by(comparison, p)]),
                                        float(comparison.p_not_best[p]))
            for p in np.flatnonzero(~comparison.mcb_best)}


def _beaten_by(comparison, position: int) -> int:
    """The config with the largest significant lead over ``position`` (the smallest one-sided p)."""
    t = comparison.difference[position] / comparison.se[position]
    t = np.where(np.isfinite(t), t, -np.inf)
    t[position] = -np.inf
    return int(np.argmax(t))
