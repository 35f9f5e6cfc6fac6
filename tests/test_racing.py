"""The race over seeds (tuning.racing): who gets more seeds, who is dropped, and its error rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuning.racing import Race, level_at, looks, next_round, replay


def staircase(rng, seeds: int, means, rho: float = 0.5, scale=None) -> np.ndarray:
    means = np.asarray(means, dtype=float)
    scale = np.ones(len(means)) if scale is None else np.asarray(scale, dtype=float)
    return (means[:, None] + math.sqrt(rho) * rng.standard_normal((1, seeds))
            + math.sqrt(1 - rho) * scale[:, None] * rng.standard_normal((len(means), seeds)))


def test_looks_grow_to_max_and_their_levels_add_up_to_the_race_level():
    race = Race(min_seeds=3, max_seeds=20, level=0.05)
    counts = looks(race)
    assert counts[0] == 3 and counts[-1] == 20 and counts == sorted(set(counts))
    shares = [level_at(race, n) for n in counts]
    assert all(s > 0 for s in shares)
    assert sum(shares) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="not a look"):
        level_at(race, 4)


def test_a_clearly_worse_config_gets_fewer_seeds_and_says_who_beat_it():
    x = staircase(np.random.default_rng(3), 20, [0.0, 0.3, 6.0, 8.0])
    result = replay(x, Race(min_seeds=3, max_seeds=20))
    assert result.seeds[2] < result.seeds[0] and result.seeds[3] < result.seeds[0]
    assert result.winner == 0 and result.alive[0]
    dropped = {e.config: e for e in result.eliminations}
    assert set(dropped) >= {2, 3}
    assert all(e.beaten_by in (0, 1) and 0 <= e.p <= level_at(Race(), e.seeds) for e in dropped.values())
    assert result.fits < 4 * 20


def test_the_incumbent_is_not_judged_by_a_challenger_that_has_fewer_seeds():
    rng = np.random.default_rng(5)
    x = staircase(rng, 8, [1.0, 0.0])
    x[1, 3:] = np.nan  # the challenger has 3 seeds, far better on them; the incumbent 8
    decision = next_round(x, [8, 3], [True, True], Race(min_seeds=3, max_seeds=20))
    assert all(e.config != 0 for e in decision.eliminated)
    assert decision.targets.get(1) == 5 and 0 not in decision.targets  # the challenger catches up first


def test_a_race_ends_when_every_config_left_is_equivalent_to_the_best():
    x = staircase(np.random.default_rng(8), 20, [0.0, 0.0], rho=0.9)
    with_margin = replay(x, Race(min_seeds=3, max_seeds=20, margin=2.0))
    without = replay(x, Race(min_seeds=3, max_seeds=20))
    assert with_margin.finished == "every config left is equivalent to the best"
    assert with_margin.fits < without.fits == 40


def test_failed_fits_leave_a_gap_and_the_race_goes_on():
    x = staircase(np.random.default_rng(2), 20, [0.0, 0.2, 5.0])
    x[0, 1] = np.nan
    result = replay(x, Race(min_seeds=3, max_seeds=20))
    assert result.winner in (0, 1) and result.seeds[2] < 20


def test_the_true_best_is_dropped_at_most_at_the_race_level_under_unequal_noise():
    # the best tied with a 3x noisier config; 2 configs x up to 10 seeds, 600 races (MC s.e. ~0.009)
    rng = np.random.default_rng(11)
    race = Race(min_seeds=3, max_seeds=10)
    dropped = sum(not replay(staircase(rng, 10, [0.0, 0.0], scale=[1.0, 3.0]), race).alive[0] for _ in range(600))
    assert dropped / 600 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 600)


def test_configs_that_arrive_one_at_a_time_race_against_those_before_them():
    rng = np.random.default_rng(4)
    x = staircase(rng, 12, [0.0, 0.1, 6.0, 7.0, 0.05])
    result = replay(x, Race(min_seeds=3, max_seeds=12, arriving=True))
    assert result.seeds[0] == 12  # the first has no rival: every seed
    assert result.seeds[2] == result.seeds[3] == 3  # far behind the first: out at their first look
    assert {e.config for e in result.eliminations} >= {2, 3}
    assert all(e.beaten_by < e.config for e in result.eliminations)  # only those that came before
    survivors = np.flatnonzero(result.alive)
    assert 0 in survivors and all(result.seeds[c] == 12 for c in survivors)  # no survivor left short
    assert result.winner in (0, 1, 4)


def test_an_arriving_race_drops_the_true_best_at_most_at_its_level():
    # the true best arrives last, after a tied config 3x noisier and a worse one; 600 races
    rng = np.random.default_rng(12)
    race = Race(min_seeds=3, max_seeds=10, arriving=True)
    dropped = sum(not replay(staircase(rng, 10, [0.0, 0.5, 0.0], scale=[3.0, 1.0, 1.0]), race).alive[2]
                  for _ in range(600))
    assert dropped / 600 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 600)


def test_bad_race_settings_are_refused_in_words():
    with pytest.raises(ValueError, match="min <= max"):
        Race(min_seeds=5, max_seeds=3)
    with pytest.raises(ValueError, match="alpha"):
        Race(level=1.5)


# -- replay on a stored study ---------------------------------------------------------------------


def stored_study(scores: np.ndarray, direction: str = "minimize", seeds: list[int] | None = None):
    """A finished study as load_results returns it, built from a (configs, seeds) score matrix."""
    import pandas as pd

    from tuning.analysis import CURVE_COLUMNS, Results

    seeds = seeds or list(range(scores.shape[1]))
    rows = [{"trial": c, "config_key": f"k{c}", "seed": seed, "status": "ok", "param_units": c,
             "val_loss": float(scores[c, j]), "train_loss": 0.0, "epochs_run": 10 + c, "best_epoch": None,
             "fit_seconds": 1.0, "error": None}
            for c in range(scores.shape[0]) for j, seed in enumerate(seeds)]
    spec = {"repeats": {"seeds": seeds}}
    return Results("synthetic", pd.DataFrame(rows), pd.DataFrame(), pd.DataFrame(columns=CURVE_COLUMNS),
                   {"val_loss": 1.0}, "val_loss", direction, spec)


def test_replay_on_a_stored_study_is_the_race_on_its_seed_matrix_in_the_spec_s_seed_order():
    from tuning.replay import replay_study

    x = staircase(np.random.default_rng(4), 12, [0.0, 0.1, 4.0, 6.0])
    seeds = [30, 10, 20, 0, 50, 40, 60, 70, 80, 90, 100, 110]  # the race draws them in this order
    race = Race(min_seeds=3, max_seeds=12)
    done = replay_study(stored_study(x, seeds=seeds), race)
    direct = replay(x, race)
    assert done.seeds == seeds
    assert done.table.set_index("config_key").loc[[f"k{c}" for c in range(4)], "seeds_given"].tolist() \
        == direct.seeds.tolist()
    assert done.picked == f"k{direct.winner}" and done.fit_share == direct.fits / 48
    epochs_given = sum(int(n) * (10 + c) for c, n in enumerate(direct.seeds))
    assert done.epoch_share == pytest.approx(epochs_given / sum(12 * (10 + c) for c in range(4)))
    assert "eliminated after 3 seeds: worse than trial" in done.text
    # an accuracy-like metric: higher is better, the race runs on the negated scores
    flipped = replay_study(stored_study(-x, direction="maximize", seeds=seeds), race)
    assert flipped.picked == done.picked


def test_a_replay_of_many_equal_configs_lists_those_the_race_kept_in_one_line():
    from tuning.replay import replay_study

    x = np.random.default_rng(5).normal(0.0, 1.0, (60, 4))  # 60 configs no race can tell apart on 4 seeds
    done = replay_study(stored_study(x), Race(min_seeds=2, max_seeds=4))
    lines = done.text.splitlines()
    assert len(lines) == 5, lines  # three lines of summary, the pick, one line for the 59 others
    assert lines[4].startswith("  59 configs, trials ") and lines[4].endswith(" and 54 more: 4/4 seeds, left in the race")


def test_replay_refuses_a_study_with_too_few_seeds_in_words():
    from tuning.replay import replay_study

    with pytest.raises(ValueError, match="trial 0 has 2 stored seeds; a race starts with 3"):
        replay_study(stored_study(np.zeros((2, 2))), Race(min_seeds=3, max_seeds=10))


def test_asking_again_after_a_crash_gives_the_same_decisions():
    x = staircase(np.random.default_rng(3), 20, [0.0, 0.3, 6.0, 8.0, 7.0])
    race = Race(min_seeds=3, max_seeds=20)
    view = np.where(np.arange(20) < 3, x, np.nan)
    first = next_round(view, [3] * 5, [True] * 5, race)
    dropped = [e.config for e in first.eliminated]
    assert len(dropped) >= 2
    # the process died after recording the first decision only: the rest come out the same
    alive = np.ones(5, dtype=bool)
    alive[dropped[0]] = False
    again = next_round(view, [3] * 5, alive, race)
    assert [(e.config, e.beaten_by, e.p) for e in again.eliminated] == \
        [(e.config, e.beaten_by, e.p) for e in first.eliminated[1:]]
    assert again.targets == first.targets
    # it died mid-round: the survivors that got their next seeds wait for the others, nobody is judged
    survivors = sorted(first.targets)
    given = np.array([3] * 5)
    given[survivors[0]] = 5
    alive = np.ones(5, dtype=bool)
    alive[dropped] = False
    view = np.where(np.arange(20)[None, :] < given[:, None], x, np.nan)
    mid = next_round(view, given, alive, race)
    assert mid.eliminated == [] and mid.targets == {c: 5 for c in survivors[1:]}
