"""Learning-curve diagnosis: hand-made curves for every rule, noise and scale, the labelled corpus of real fits.

The corpus (tests/data/diagnosis_corpus.json, made by benchmarks/diagnosis/make_corpus.py) holds
the curves of real Keras fits labelled by construction; round 1's thresholds were chosen on its
"tune" half and checked on its "heldout" half. Rounds 2 and 3 (issue 22) tuned on the whole corpus
and, in round 3, on the first fresh set too; each round's claim is a fresh set made after its
method was frozen (diagnosis_fresh.json, diagnosis_fresh2.json), whose measured numbers the tests
here guard. No test here trains a model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tuning
from tuning.analysis import Results
from tuning.analysis.diagnose import (
    GOOD_FIT,
    LABELS,
    OVERFIT,
    UNDERFIT,
    UNSTABLE,
    Thresholds,
    common_mean_curve,
    diagnose_config,
    diagnose_curve,
    diagnose_study,
    extrapolated_gain,
    mean_curve,
)
from tuning.analysis.relative import against_study, study_minima
from tuning.analysis.shape import curve_shape

EPOCHS = np.arange(100)


def labelled(name: str) -> list[dict]:
    """The configs of a labelled set of real fits in tests/data (the corpus or a fresh set)."""
    return json.loads((Path(__file__).parent / "data" / f"diagnosis_{name}.json").read_text())["configs"]


CORPUS = labelled("corpus")
HELDOUT = [c for c in CORPUS if c["split"] == "heldout"]


def overfit_curves() -> tuple[list[float], list[float]]:
    """Train falls all along; val bottoms out at epoch 30 and ends 50 % higher."""
    train = 1.0 * np.exp(-EPOCHS / 20) + 0.01
    val = np.where(EPOCHS <= 29, 1.0 - 0.7 * EPOCHS / 29, 0.3 + 0.15 * (EPOCHS - 29) / 70)
    return train.tolist(), val.tolist()


def good_curves(seed: int = 0) -> tuple[list[float], list[float]]:
    """Both converge to a plateau by epoch 30 of 60, with 1 % noise."""
    rng = np.random.default_rng(seed)
    e = np.arange(60)
    train = 0.1 + 0.9 * np.exp(-e / 5) + rng.normal(0, 0.001, 60)
    val = 0.12 + 0.9 * np.exp(-e / 5) + rng.normal(0, 0.001, 60)
    return train.tolist(), val.tolist()


# -- the two cases users reported ---------------------------------------------------------------------


def test_short_run_still_falling_every_epoch_is_underfit():
    # 8 epochs, the loss falling 1.5 % an epoch in a straight line: the old "5 % over the last 20 %"
    # rule saw a 2-epoch tail and called it a good fit.
    train = 0.5 * 0.985 ** np.arange(8)
    found = diagnose_curve(train, 1.1 * train, max_epochs=8)
    assert found.label == UNDERFIT, found.evidence
    assert "still falling" in found.evidence and "more epochs" in found.suggestion
    assert found.still_improving > 1  # another 8 epochs would add more than all so far
    assert re.search(r"another 8 epochs would lower it by about \d+ % \(80 % interval [-+\d. ]+ to [-+\d. ]+ %\)",
                     found.evidence), found.evidence
    assert found.gain_low < found.gain_2x < found.gain_high


def test_textbook_overfit_with_train_wobbling_near_zero_is_overfit_not_unstable():
    # Val bottoms out at epoch 20 and climbs for 130 epochs; train falls to ~0.0003 and wobbles up
    # to ~0.0008. Against its minimum the wobble is a 170 % rise; against the curve's range, nothing.
    e = np.arange(150)
    rng = np.random.default_rng(3)
    train = 0.05 * np.exp(-e / 15) + 0.0003 + 0.0005 * rng.random(150) * (e > 60)
    val = np.where(e < 20, 0.08 - 0.04 * e / 20, 0.04 + 0.04 * (e - 20) / 130)
    found = diagnose_curve(train, val)
    assert found.label == OVERFIT, found.evidence
    assert found.evidence.startswith("val loss lowest at epoch 2")
    assert max(train[-38:]) / min(train) > 2  # the wobble is there, and is large against the minimum


# -- hand-made curves, one per rule --------------------------------------------------------------------


def test_overfit_evidence_has_the_numbers():
    found = diagnose_curve(*overfit_curves())
    assert found.label == OVERFIT and found.best_epoch == 30 and found.epochs == 100
    assert re.fullmatch(r"val loss lowest at epoch 30/100 \(0\.31\d?\), \d+ % higher over the last 25 epochs while train "
                        r"fell \d+ %: the val/train gap grew \d+ %; gap [\d.]+x train", found.evidence), found.evidence
    assert found.val_rise > 0.3 and found.train_fall > 0.5 and found.gap_ratio > 10
    assert "dropout" in found.suggestion and "early stopping" in found.suggestion


def test_val_rising_while_train_rose_within_the_old_tolerance_says_rose_and_is_not_overfit():
    # Fresh set 9 printed "while train fell -22 %": the rule let train rise a little, and the words
    # then said a negative fall. (Round 15: the tolerance is 10 % of train's improvement and of its
    # level at the val minimum; this curve's train rose 14 % before round 15, 5 % now.) Rounds 15 to
    # 17 called this curve overfit; round 18 asks train to keep falling, so a val rise over a train
    # curve that rose is unstable, and the words still say it rose.
    e = np.arange(30)
    train = np.where(e < 12, 1.0 - 0.8 * e / 12, 0.2 + 0.015 * (e - 12) / 18)
    val = np.where(e < 12, 1.1 - 0.8 * e / 12, 0.3 + 0.2 * (e - 12) / 18)
    found = diagnose_curve(train, val)
    assert found.label == UNSTABLE and "while train rose 5" in found.evidence, found.evidence
    assert "fell -" not in found.evidence and "erratic, not overfitting" in found.evidence
    assert -0.1 < found.train_fall < 0  # within round 15's tolerance, as before


def blown_up_then_rising_curves() -> tuple[np.ndarray, np.ndarray]:
    """Adagrad at a high rate: train 1,500 in the first epoch, down to 0.5 by epoch 18, then back up."""
    e = np.arange(30)
    train = np.where(e < 18, 0.5 + 12 * np.exp(-e / 2), 0.5 + 0.02 * (e - 17))
    train[0] = 1500.0
    val = np.where(e < 18, 0.6 + 8 * np.exp(-e / 2), 0.6 + 0.08 * (e - 17))
    return train, val


def test_val_rising_while_train_rose_by_much_of_its_level_is_unstable_even_after_a_blown_up_first_epoch():
    # Round 15. Rule 5a's tolerance for a train rise was a share of the train curve's improvement
    # only, and a first epoch the optimiser blew up (1,500 against a level of 0.5) makes that
    # improvement huge: train rising from 0.5 to 1.1 (about 1 % of it) let val's rise read as
    # overfitting. A training loss that rose by a large share of its own level is not fitting the
    # training data better.
    train, val = blown_up_then_rising_curves()
    found = diagnose_curve(train, val)
    assert found.label == UNSTABLE, found.evidence
    assert "while train rose too" in found.evidence and "of its level then" in found.evidence, found.evidence
    assert "erratic, not overfitting" in found.evidence
    assert -found.train_fall > 0.1  # train rose more than 10 % of its level at the val minimum
    # A train curve that kept falling under the same val rise is overfitting.
    train3 = np.where(np.arange(30) < 18, train, 0.5 - 0.01 * (np.arange(30) - 17))
    assert diagnose_curve(train3, val).label == OVERFIT


def test_real_fits_whose_val_rose_while_train_rose_after_a_blow_up_are_unstable():
    # The two development fits round 15 moved from overfit to unstable (truth: unstable).
    for configs, name, seed in ((FRESH8, "daily-adagrad-lr25", 13000), (FRESH9, "two-sine-ahead-adam-lr2", 14002)):
        config = next(c for c in configs if c["name"] == name)
        fit = next(f for f in config["fits"] if f["seed"] == seed)
        found = diagnose_curve(fit["train"], fit["val"], max_epochs=config["max_epochs"])
        assert found.label == UNSTABLE and "while train rose too" in found.evidence, (name, found.evidence)


def test_a_curve_still_falling_whose_forecast_is_a_rise_says_both():
    # "still falling at the end (...); another 200 epochs would raise it by about ..." read as a
    # contradiction; the slope and the forecast disagree, and the words now say so.
    config = next(c for c in FRESH8 if c["name"] == "sensor-small-bidirectional")
    fit = next(f for f in config["fits"] if f["seed"] == 13002)
    found = diagnose_curve(fit["train"], fit["val"], max_epochs=config["max_epochs"])
    assert found.label == UNDERFIT and found.gain_2x < 0, found.evidence
    assert "still falling at the end" in found.evidence and \
        "; its forecast, though, sees it level off: another 200 epochs would raise it by about" in found.evidence


def test_overfit_threshold_is_a_parameter():
    # With a higher rise threshold the gap rule still sees val stall far above train...
    assert diagnose_curve(*overfit_curves(), Thresholds(overfit_rise=0.6)).label == OVERFIT
    # ...and with both loosened the same curves are no longer called overfit.
    assert diagnose_curve(*overfit_curves(), Thresholds(overfit_rise=0.6, gap_ratio=50,
                                                        stall_gap_growth=math.inf)).label != OVERFIT


def test_overfit_by_gap_when_val_stalls_far_above_train():
    train = np.linspace(0.3, 0.05, 50).tolist()
    found = diagnose_curve(train, [0.3] * 50)
    assert found.label == OVERFIT and "stalled over the last 25 of 50 epochs" in found.evidence, found.evidence
    assert "gap 3.7x train" in found.evidence and "rose" not in found.evidence  # flat is not rising
    assert found.gap_ratio >= Thresholds().gap_ratio
    # Without the stall rule the gap rule still reads it.
    found = diagnose_curve(train, [0.3] * 50, Thresholds(stall_gap_growth=math.inf))
    assert found.label == OVERFIT and "no longer falling" in found.evidence and "3.7x the train loss" in found.evidence


def test_good_fit():
    found = diagnose_curve(*good_curves())
    assert found.label == GOOD_FIT, found.evidence
    assert found.evidence.startswith("val loss 0.12 (median of the last 15 of 60 epochs)")
    assert "converged" in found.evidence and "gap 1.2x train" in found.evidence
    assert abs(found.still_improving) < Thresholds().improving_share


def test_still_improving_is_underfit_with_more_epochs_suggested():
    curve = (1.0 - 0.03 * np.arange(20)).tolist()
    found = diagnose_curve(curve, curve)
    assert found.label == UNDERFIT and "still falling" in found.evidence and "more epochs" in found.suggestion
    assert found.tail_drop > 0.05 and math.isfinite(found.gain_2x) and found.gain_2x > 0.1


def test_early_stopped_run_still_falling_is_underfit_with_more_patience_suggested():
    # Issue 22: a patience-2 run stopped on noise while still falling was called a good fit. Its
    # label comes from its curves: still falling -> underfit; the fix is more patience.
    curve = (1.0 - 0.03 * np.arange(20)).tolist()
    found = diagnose_curve(curve, curve, max_epochs=100, patience=2)
    assert found.label == UNDERFIT and found.evidence.endswith("stopped at epoch 20 (best 18) of 100"), found.evidence
    assert "patience" in found.suggestion
    assert diagnose_curve(curve, curve, max_epochs=100).evidence.endswith("stopped early after 20 of 100 epochs")


def test_patience_epochs_after_a_restored_best_epoch_are_not_overfitting():
    # Early stopping (patience 15) ended the run 15 epochs after val's minimum and restored that epoch.
    train, val = overfit_curves()
    train, val = train[:45], val[:45]
    restored = diagnose_curve(train, val, max_epochs=100, patience=15, restored=True)
    assert restored.label == GOOD_FIT, restored.evidence
    assert "stopped at epoch 45 (best 30) of 100" in restored.evidence and "early stopping kept" in restored.suggestion
    # Without restoring, the model kept is the last epoch's: the rise is real.
    assert diagnose_curve(train, val, max_epochs=100, patience=15, restored=False).label == OVERFIT


def test_close_to_the_naive_baseline_is_underfit():
    train, val = good_curves()
    found = diagnose_curve(train, val, baseline=0.125)
    assert found.label == UNDERFIT and "x the naive baseline's (0.125)" in found.evidence
    assert found.skill == pytest.approx(1 - 0.12 / 0.125, abs=0.01)
    assert diagnose_curve(train, val, baseline=1.0).label == GOOD_FIT


def test_stuck_far_above_the_naive_baseline_is_unstable():
    # Flat from the first epoch at 6x what the last value would give: the weights were blown up.
    flat = (0.6 + 0.001 * np.sin(np.arange(30))).tolist()
    found = diagnose_curve(flat, flat, baseline=0.1)
    assert found.label == UNSTABLE and "stuck at 6" in found.evidence
    # One that came down from 0.2 and is still 8x the baseline is underfit (lr 1e-3 on tenths,
    # as in studies/cells.yaml and the old quickstart).
    slow = (0.08 + 0.12 * np.exp(-np.arange(300) / 60)).tolist()
    found = diagnose_curve(slow, slow, baseline=0.01)
    assert found.label == UNDERFIT and "x the naive baseline" in found.evidence, found.evidence


def test_a_slow_learner_far_above_the_baseline_is_underfit_not_stuck():
    """Round 7 (fresh set 5, ``sales-raw-8-epochs``): lr 1e-3 on a target in its own units near 300
    leaves the val loss at 57x the naive baseline's, falling 0.6 % over 8 epochs and never up. That
    is a learner far too slow for its target's scale, not weights blown up: underfit. A curve that
    sits flat to the digit there is still stuck."""
    slow = [134800.0, 134700.0, 134700.0, 134600.0, 134600.0, 134500.0, 134100.0, 134000.0]
    train = [v * 0.82 for v in slow]
    found = diagnose_curve(train, slow, baseline=2336.0, max_epochs=8)
    assert found.label == UNDERFIT, found.evidence
    saturated = [7.62] * 30
    assert diagnose_curve([7.5] * 30, saturated, baseline=0.26).label == UNSTABLE


def test_diverged_nan_is_unstable_with_the_epoch():
    train = [1.0, 0.8, 0.7, 0.9, 3.0, 40.0, math.nan]
    found = diagnose_curve(train, [1.0, 0.9, 0.8, 1.0, 4.0, math.inf, math.nan])
    assert found.label == UNSTABLE and found.diverged_epoch == 6
    assert found.evidence == "diverged at epoch 6 of 7 (val loss inf)" and "learning rate" in found.suggestion


def test_rising_train_loss_is_unstable():
    train = [1.0, 0.5, 0.6, 0.9, 1.2, 1.5]
    found = diagnose_curve(train, train)
    assert found.label == UNSTABLE and "train loss" in found.evidence and "learning rate" in found.suggestion


def test_thrashing_loss_is_unstable():
    rng = np.random.default_rng(1)
    train = (0.3 * np.exp(rng.normal(0, 0.4, 40))).tolist()  # jumps ~40 % epoch to epoch, never descends
    found = diagnose_curve(train, train)
    assert found.label == UNSTABLE and "epoch to epoch" in found.evidence


def test_val_rising_while_train_rises_too_is_unstable_not_overfit():
    train = [1.0, 0.5, 0.4] + np.linspace(0.4, 0.5, 17).tolist()
    val = [1.0, 0.5, 0.4] + np.linspace(0.4, 0.6, 17).tolist()
    found = diagnose_curve(train, val)
    assert found.label == UNSTABLE and found.evidence.startswith("train loss ends at"), found.evidence


def test_minimum_inside_the_tail_is_not_overfitting_yet():
    train = np.linspace(1.0, 0.5, 20).tolist()
    val = np.linspace(1.0, 0.5, 20).tolist()
    val[-3:] = [0.3, 0.6, 0.6]  # a noisy dip in the last epochs
    assert diagnose_curve(train, val).label != OVERFIT


# -- noise and scale ------------------------------------------------------------------------------------


def _converged(rng, n=60, gap=1.15):
    e = np.arange(n)
    train = (0.1 + 0.9 * np.exp(-e / 6)) * (1 + 0.01 * rng.standard_normal(n))
    val = (gap * 0.1 + 0.9 * np.exp(-e / 6)) * (1 + 0.05 * rng.standard_normal(n))
    return train, val


def test_converged_curve_with_5_percent_epoch_noise_is_a_good_fit_in_90_percent_of_draws():
    rng = np.random.default_rng(0)
    labels = Counter(diagnose_curve(*_converged(rng)).label for _ in range(200))
    assert labels[GOOD_FIT] >= 180, labels


def test_true_overfit_with_5_percent_epoch_noise_stays_overfit_in_90_percent_of_draws():
    rng = np.random.default_rng(1)
    e = np.arange(100)
    train = 0.02 + 0.9 * np.exp(-e / 8)
    val = 0.2 + 0.8 * np.exp(-e / 6) + 0.15 * np.clip(e - 30, 0, None) / 70  # min near epoch 30, +60 % by the end
    labels = Counter(diagnose_curve(train * (1 + 0.01 * rng.standard_normal(100)),
                                    val * (1 + 0.05 * rng.standard_normal(100))).label for _ in range(200))
    assert labels[OVERFIT] >= 180, labels


@pytest.mark.parametrize("factor", [1e-3, 1e3])
def test_labels_do_not_depend_on_the_loss_scale(factor):
    changed = []
    for config in HELDOUT:
        baseline = config["baseline_val_loss"]
        for fit in config["fits"]:
            train, val = _curve(fit["train"]), _curve(fit["val"])
            if not (train or val):
                continue
            before = diagnose_curve(train, val, baseline=baseline, **_options(config)).label
            after = diagnose_curve([x * factor for x in train], [x * factor for x in val],
                                   baseline=baseline * factor if baseline else None, **_options(config)).label
            if before != after:
                changed.append((config["name"], fit["seed"], before, after))
    assert not changed


# -- the held-out half of the corpus of real fits --------------------------------------------------------


def _curve(values: list) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _options(config: dict) -> dict:
    return dict(max_epochs=config["max_epochs"], patience=config["patience"],
                restored=bool(config["restore_best_weights"]) if config["patience"] is not None else True)


def _diagnose(config: dict, reference: tuple | None = None):
    """Each seed's and the config's diagnosis; ``reference`` reads them against the config's study (round 4)."""
    runs = {f["seed"]: (_curve(f["train"]), _curve(f["val"])) for f in config["fits"] if f["train"] or f["val"]}
    # as diagnose_study: the baseline's val loss is not comparable with a config's own loss (mae)
    baseline = None if config.get("loss") else config["baseline_val_loss"]
    per_seed = {s: against_study(diagnose_curve(*pair, baseline=baseline, **_options(config)), pair[1], reference)
                for s, pair in runs.items()}
    whole = diagnose_config(runs, baseline=baseline, per_seed=per_seed, **_options(config))
    whole = against_study(whole, common_mean_curve([va for _, va in runs.values()]), reference)
    return per_seed, whole


def _studies(configs: list[dict]) -> dict[str, tuple]:
    """Config name -> the lowest minimum another config on the same data and loss reached (as score.py groups them)."""
    studies: dict[tuple, dict] = {}
    for c in configs:
        key = (c["problem"], c["baseline_val_loss"], c.get("loss"))
        studies.setdefault(key, {})[c["name"]] = common_mean_curve([_curve(f["val"]) for f in c["fits"] if f["val"]])
    found: dict[str, tuple] = {}
    for members in studies.values():
        found.update(study_minima(members))
    return found


def _agreement(configs: list[dict], study: bool = True) -> tuple[int, int, int]:
    """(fits right, fits, configs right) of a set, each config read against its study unless ``study`` is false."""
    refs = _studies(configs) if study else {}
    fit_hits = fits = config_hits = 0
    for config in configs:
        per_seed, whole = _diagnose(config, refs.get(config["name"]))
        config_hits += whole.label == config["truth"]
        fits += len(per_seed)
        fit_hits += sum(per_seed[f["seed"]].label == f["truth"] for f in config["fits"] if f["seed"] in per_seed)
    return fit_hits, fits, config_hits


def test_corpus_is_split_by_config_with_every_label_on_both_sides():
    assert len(CORPUS) >= 40 and sum(len(c["fits"]) for c in CORPUS) >= 160
    for label in LABELS:
        assert {c["split"] for c in CORPUS if c["truth"] == label} == {"tune", "heldout"}
    assert all(len(c["fits"]) >= 4 for c in CORPUS)
    assert {c["fit_truth"] for c in CORPUS} == {"config", "own regime"}


@pytest.mark.parametrize("label", LABELS)
def test_every_label_on_held_out_real_fits(label):
    configs = [c for c in HELDOUT if c["truth"] == label]
    config_hits, fit_pairs = 0, []
    for config in configs:
        per_seed, whole = _diagnose(config)
        config_hits += whole.label == label
        fit_pairs += [(f["truth"], per_seed[f["seed"]].label) for f in config["fits"] if f["seed"] in per_seed]
        assert whole.evidence and whole.suggestion
    # Each label's configs: all but at most one right; its fits: at least two thirds right (the
    # weakest, unstable, is at 69 % of its fits: docs/analysis.md has the matrix).
    assert config_hits >= len(configs) - 1, (label, config_hits, len(configs))
    assert sum(t == s for t, s in fit_pairs) >= 2 / 3 * len(fit_pairs)


def test_held_out_agreement_meets_the_goals():
    fit_hits = fits = config_hits = 0
    for config in HELDOUT:
        per_seed, whole = _diagnose(config)
        config_hits += whole.label == config["truth"]
        for fit in config["fits"]:
            if fit["seed"] in per_seed:
                fits += 1
                fit_hits += per_seed[fit["seed"]].label == fit["truth"]
    assert fit_hits / fits >= 0.90 and config_hits / len(HELDOUT) >= 0.95, (fit_hits, fits, config_hits)


def test_seeds_an_order_of_magnitude_apart_make_an_unstable_config():
    config = next(c for c in CORPUS if c["name"] == "echo-long-seeds")  # some seeds find the signal, some never
    per_seed, whole = _diagnose(config)
    assert whole.label == UNSTABLE and whole.evidence.startswith("seeds disagree: final losses"), whole.evidence
    assert {per_seed[f["seed"]].label for f in config["fits"]} >= {UNDERFIT, GOOD_FIT}


def test_seeds_that_all_share_a_label_do_not_disagree_however_far_apart_they_end():
    """Round 20: four overfits end where each one's rise took it. Up to round 19 seeds of one label were
    "seeds disagree" (unstable) at 10x apart; fresh set 15's grid-small-256 (four overfits, 21x apart) was."""
    train, val = overfit_curves()
    runs = {seed: ((scale * np.asarray(train)).tolist(), (scale * np.asarray(val)).tolist())
            for seed, scale in enumerate((1.0, 2.0, 6.0, 20.0))}
    found = diagnose_config(runs)
    assert found.label == OVERFIT and found.evidence.startswith("4 of 4 seeds overfit; mean of 4 seeds: "), found.evidence
    config = next(c for c in FRESH15 if c["name"] == "grid-small-256")
    per_seed, whole = _diagnose(config)
    assert {d.label for d in per_seed.values()} == {OVERFIT}
    assert whole.label == OVERFIT and "seeds disagree" not in whole.evidence, whole.evidence
    # seeds whose labels differ still disagree at 3x (echo-long-seeds above), and unanimous unstable seeds
    # are unstable as before, by their count rather than by their spread (set 15's cumsum-sgd-momentum-lr5)
    config = next(c for c in FRESH15 if c["name"] == "cumsum-sgd-momentum-lr5")
    _, whole = _diagnose(config)
    assert whole.label == UNSTABLE and whole.evidence.startswith("4 of 4 seeds unstable"), whole.evidence


# -- configs from several seeds --------------------------------------------------------------------------


def test_mean_curve_averages_the_seeds_still_running():
    assert mean_curve([[1.0, 2.0, 3.0], [3.0, 4.0], []]).tolist() == [2.0, 3.0, 3.0]
    assert common_mean_curve([[1.0, 2.0, 3.0], [3.0, 4.0], []]).tolist() == [2.0, 3.0]


def test_a_config_whose_mean_curve_agrees_with_the_majority_still_tallies_the_seeds():
    """"1 of 3 seeds overfit; mean of 3 seeds: ..." hid which way the other two went; the tally is
    given whenever the seeds disagree, as it is when the mean curve disagrees."""
    train, val = overfit_curves()
    flat = np.where(EPOCHS <= 29, 1.0 - 0.7 * EPOCHS / 29, 0.3)
    found = diagnose_config({0: (train, val), 1: (train, val), 2: ((0.95 * flat).tolist(), flat.tolist())})
    assert found.label == OVERFIT
    assert found.evidence.startswith("2 of 3 seeds overfit (per seed: 2 overfit, 1 good fit); mean of 3 seeds: "), \
        found.evidence
    unanimous = diagnose_config({0: (train, val), 1: (train, val)})
    assert unanimous.evidence.startswith("2 of 2 seeds overfit; mean of 2 seeds: ")


def test_config_with_early_stopped_seeds_of_unequal_length_votes_per_seed():
    train, val = overfit_curves()
    found = diagnose_config({0: (train, val), 1: (train[:80], val[:80]), 2: (train[:40], val[:40])})
    assert found.label == OVERFIT and found.seeds == 3 and found.epochs == 100
    assert found.agreement == pytest.approx(2 / 3)
    assert found.evidence.startswith("2 of 3 seeds overfit (per seed: 2 overfit, 1 good fit)"), found.evidence
    assert "mean curve over the 40 epochs all ran" in found.evidence


def test_config_with_one_diverged_seed_is_unstable():
    train, val = good_curves()
    found = diagnose_config({0: (train, val), 1: (train, val), 2: ([1.0, 0.9, 5.0, math.nan], [1.0, 1.0, 9.0, math.nan])})
    assert found.label == UNSTABLE and found.diverged_epoch == 4
    assert found.evidence == "diverged: seed 2 at epoch 4 (1 of 3 seeds)"


def test_seeds_that_differ_moderately_while_all_underfit_are_underfit_not_unstable():
    e = np.arange(15)
    runs = {s: ((1.0 - 0.02 * (1 + 0.4 * s) * e).tolist(),) * 2 for s in range(4)}  # 15 epochs, all still falling
    found = diagnose_config(runs)
    assert found.label == UNDERFIT and found.agreement == 1.0, found.evidence
    assert found.evidence.startswith("4 of 4 seeds underfit; mean of 4 seeds: val loss still falling")


def test_config_whose_seeds_land_far_apart_is_unstable():
    e = np.arange(60)
    found_signal = (0.01 + 2.3 * np.exp(-e / 8)).tolist()
    stuck = (2.2 + 0.1 * np.exp(-e / 8)).tolist()
    found = diagnose_config({0: (found_signal, found_signal), 1: (stuck, stuck), 2: (found_signal, found_signal)},
                            baseline=2.3)
    assert found.label == UNSTABLE and "x apart" in found.evidence and "per seed: 1 underfit, 2 good fit" in found.evidence
    # The same spread is noise when it is a thousandth of what training achieved.
    close = [(0.001 * (1 + s) + 2.3 * np.exp(-e / 8)).tolist() for s in range(3)]
    assert diagnose_config({s: (c, c) for s, c in enumerate(close)}).label == GOOD_FIT


# -- edge cases -------------------------------------------------------------------------------------------


def test_flat_curve_is_underfit_unless_already_far_better_than_the_baseline():
    flat = [0.5] * 10
    found = diagnose_curve(flat, flat)
    assert found.label == UNDERFIT and found.evidence.startswith("val loss flat: within 0.0 % over 10 epochs")
    assert diagnose_curve(flat, flat, baseline=5.0).label == GOOD_FIT  # it learnt everything in epoch 1


def test_flat_at_zero_does_not_divide_by_zero():
    assert diagnose_curve([0.0] * 5, [0.0] * 5).label in LABELS


@pytest.mark.parametrize("epochs", [1, 2])
def test_too_few_epochs_to_judge_is_underfit(epochs):
    found = diagnose_curve([0.5] * epochs, [0.6] * epochs)
    assert found.label == UNDERFIT and found.epochs == epochs
    assert found.evidence.startswith(f"{epochs} epoch{'s' if epochs > 1 else ''}: too few to judge")


def test_no_epochs_at_all_raises():
    with pytest.raises(ValueError, match="no epochs"):
        diagnose_curve([], [])


def test_train_only_cannot_overfit_and_says_which_curve():
    found = diagnose_curve((1.0 - 0.03 * np.arange(20)).tolist(), None)
    assert found.label == UNDERFIT and found.evidence.startswith("train loss still falling")
    assert math.isnan(found.val_rise) and math.isnan(found.gap_ratio)
    assert diagnose_curve(overfit_curves()[0], []).label != OVERFIT
    found = diagnose_curve([], overfit_curves()[1])  # val only: a rise is still read as overfitting
    assert found.label == OVERFIT and found.evidence.endswith("(no train curve logged)")


def test_extrapolated_gain_of_twice_the_epochs():
    e = np.arange(40, dtype=float)
    assert extrapolated_gain(0.1 + np.exp(-e / 100)).gain > 0.2  # far from its floor of 0.1: much to gain
    assert abs(extrapolated_gain(0.1 + np.exp(-e / 3)).gain) < 0.01   # at its floor already
    assert math.isnan(extrapolated_gain([1.0, 0.9]).gain)


def test_thresholds_are_frozen_and_documented_defaults():
    th = Thresholds()
    assert (th.improving_share, th.overfit_rise, th.gap_ratio, th.seeds_ratio) == (0.2, 0.10, 2.0, 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        th.overfit_rise = 0.2  # type: ignore[misc]


def test_diagnose_functions_are_part_of_the_public_api():
    assert {"diagnose_curve", "diagnose_config", "Thresholds"} <= set(tuning.__all__)
    assert tuning.diagnose_curve is diagnose_curve and tuning.diagnose_config is diagnose_config


def test_study_table_has_a_row_per_fit_and_per_config():
    train, val = overfit_curves()
    curves = [
        {"config_key": key, "seed": seed, "epoch": e + 1, "curve": name, "value": v}
        for key, seed, pair in (("a", 0, (train, val)), ("a", 1, (train, val)), ("b", 0, ([1.0, math.nan], [1.0, math.nan])))
        for name, values in zip(("loss", "val_loss"), pair, strict=True) for e, v in enumerate(values)
    ]
    fits = pd.DataFrame([
        {"config_key": "a", "seed": 0, "status": "ok", "param_epochs": 100, "val_loss": val[-1], "error": None},
        {"config_key": "a", "seed": 1, "status": "ok", "param_epochs": 100, "val_loss": val[-1], "error": None},
        {"config_key": "b", "seed": 0, "status": "failed", "param_epochs": 100, "val_loss": math.nan,
         "error": "diverged at epoch 2, seed 0"},
        {"config_key": "b", "seed": 1, "status": "failed", "param_epochs": 100, "val_loss": math.nan,
         "error": "ValueError: bad shape (seed 1)"},
    ])
    results = Results("s", fits, pd.DataFrame(), pd.DataFrame(curves), {"val_loss": 2.0}, "val_loss", "minimize", {})
    table = diagnose_study(results)
    assert table["scope"].tolist() == ["fit"] * 4 + ["config"] * 2
    assert table["label"].fillna("missing").tolist() == [OVERFIT, OVERFIT, UNSTABLE, "missing", OVERFIT, UNSTABLE]
    assert table["seed"].isna().tolist() == [False] * 4 + [True] * 2
    assert table.loc[3, "evidence"] == "no curve: ValueError: bad shape (seed 1)"
    assert table.loc[4, "skill"] == pytest.approx(1 - np.median(val[-25:]) / 2.0)
    assert table.loc[4, "agreement"] == 1.0


def test_study_table_reads_early_stopping_from_the_spec():
    train, val = overfit_curves()
    train, val = train[:45], val[:45]
    curves = {("a", 0): {"loss": train, "val_loss": val}}
    fits = pd.DataFrame([{"config_key": "a", "seed": 0, "status": "ok", "param_epochs": 100, "param_patience": 15,
                          "val_loss": min(val), "error": None}])
    spec = {"fit": {"early_stopping": {"patience": 15, "restore_best_weights": True}}}
    restored = diagnose_study(Results("s", fits, pd.DataFrame(), curves, {}, "val_loss", "minimize", spec))
    assert restored["label"].tolist() == [GOOD_FIT, GOOD_FIT]
    spec["fit"]["early_stopping"]["restore_best_weights"] = False
    kept_last = diagnose_study(Results("s", fits, pd.DataFrame(), curves, {}, "val_loss", "minimize", spec))
    assert kept_last["label"].tolist() == [OVERFIT, OVERFIT]


# -- issue 22: overfitting a user would call so, level-based convergence, the extrapolation ----------------


def stalled_curves(seed: int = 0, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """The issue's case: val falls to 0.07 by epoch 25 and wanders there; train keeps falling 3x."""
    rng = np.random.default_rng(seed)
    e = np.arange(n)
    train = 0.04 + 0.9 * np.exp(-e / 6) - 0.027 * np.clip(e - 25, 0, None) / (n - 25)
    train = train * (1 + 0.01 * rng.standard_normal(n))
    val = (0.07 + 0.9 * np.exp(-e / 6)) * (1 + 0.04 * rng.standard_normal(n))
    return train, val


def test_stalled_validation_with_a_widening_gap_is_overfit_and_the_rule_is_what_says_so():
    for seed in range(5):
        train, val = stalled_curves(seed)
        found = diagnose_curve(train, val, max_epochs=120)
        assert found.label == OVERFIT, found.evidence
        assert found.evidence.startswith("val loss stalled over the last 60 of 120 epochs"), found.evidence
        assert "while train fell" in found.evidence and "the val/train gap grew" in found.evidence
        # Without the stall rule (and the gap rule, which the 5x gap also trips) it is not overfitting.
        assert diagnose_curve(train, val, Thresholds(stall_gap_growth=math.inf, gap_ratio=math.inf)).label != OVERFIT


def test_stall_needs_train_to_fall_beyond_its_noise():
    # Both converged; train wobbles 1 % and drifts 3 %: no widening gap to speak of.
    rng = np.random.default_rng(4)
    e = np.arange(100)
    train = (0.05 + 0.9 * np.exp(-e / 6)) * (1 - 0.0003 * e) * (1 + 0.01 * rng.standard_normal(100))
    val = (0.07 + 0.9 * np.exp(-e / 6)) * (1 + 0.03 * rng.standard_normal(100))
    assert diagnose_curve(train, val).label == GOOD_FIT


def test_early_stopped_overfit_with_restored_weights_is_overfit():
    # Early stopping (patience 5) restored epoch 50, a noise dip in a val curve that stalled at
    # epoch 15 while train fell 20x: the model kept overfits, whatever the stop says.
    train, val = stalled_curves(1, n=120)
    train, val = train[:55].copy(), val[:55].copy()
    train[15:] = np.geomspace(train[15], train[15] / 20, 40)
    val[49] = val[15:].min() * 0.97
    found = diagnose_curve(train, val, max_epochs=200, patience=5, restored=True)
    assert found.label == OVERFIT, found.evidence
    assert "(up to the epoch early stopping restored)" in found.evidence
    assert found.evidence.endswith("stopped at epoch 55 (best 50) of 200")
    assert "regularise" in found.suggestion


def test_early_stopped_good_fit_with_a_rise_in_the_patience_epochs_stays_good_fit():
    # Val and train fall together to epoch 40; the 10 patience epochs after it rise: what it stopped.
    e = np.arange(50)
    train = 0.1 + 0.9 * np.exp(-e / 8)
    val = 0.12 + 0.9 * np.exp(-e / 8) + 0.03 * np.clip(e - 39, 0, None) / 10
    found = diagnose_curve(train, val, max_epochs=300, patience=10, restored=True)
    assert found.label == GOOD_FIT, found.evidence
    assert found.evidence.endswith("stopped at epoch 50 (best 40) of 300")


def tiny_model_curve() -> list[float]:
    """4 cells, 15 epochs: the loss falls like 1/t, its minimum the last epoch, still 4 % of its level an epoch."""
    return (0.02 + 2.0 / np.arange(1, 16)).tolist()


def test_still_falling_tiny_model_is_underfit_by_its_current_level():
    curve = tiny_model_curve()
    found = diagnose_curve(curve, [x * 1.05 for x in curve], max_epochs=15)
    # The slope adds little of the improvement so far (the first epochs' drop is big) ...
    assert found.still_improving < Thresholds().improving_share
    # ... but a lot of the current level: underfit, with the gain quoted.
    assert found.label == UNDERFIT, found.evidence
    assert found.gain_2x >= 0.1 and found.gain_low < found.gain_2x < found.gain_high
    assert re.search(r"another 15 epochs would lower it by about \d+ % \(80 % interval", found.evidence), found.evidence
    # Removing the level rule gives the old answer.
    assert diagnose_curve(curve, [x * 1.05 for x in curve], Thresholds(improving_gain=math.inf),
                          max_epochs=15).label == GOOD_FIT


def test_good_fit_quotes_its_extrapolation_and_the_config_quotes_the_seed_mean():
    found = diagnose_curve(*good_curves())
    assert found.label == GOOD_FIT and re.search(r"another 60 epochs would (lower|raise) it by about", found.evidence)
    assert abs(found.gain_2x) < 0.02
    runs = {s: good_curves(s) for s in range(3)}
    config = diagnose_config(runs)
    mean = extrapolated_gain(common_mean_curve([v for _, v in runs.values()]),
                             train=common_mean_curve([t for t, _ in runs.values()]))
    assert config.gain_2x == pytest.approx(mean.gain) and config.gain_high == pytest.approx(mean.high)


@pytest.mark.parametrize("family, truth", [
    ("exponential", lambda t: 0.2 + 0.8 * np.exp(-t / 30)),
    ("power law", lambda t: 0.05 + 1.0 * t ** -0.7),
])
def test_extrapolated_gain_recovers_a_known_curve(family, truth):
    # The families alone (prior=False) recover a noise-free curve of their own shape; the default
    # moves it by what real curves of that shape did next (round 4, tested below).
    t = np.arange(1, 41, dtype=float)
    found = extrapolated_gain(truth(t), factor=2.0, prior=False)
    k = 4  # the level is the mean over the last tenth of the run
    real = 1 - truth(np.arange(77, 81, dtype=float)).mean() / truth(np.arange(37, 41, dtype=float)).mean()
    assert found.gain == pytest.approx(real, abs=0.06), (family, found)  # the shape grid's resolution
    assert found.low <= real <= found.high and found.epochs == 40 and len(found.families) == 3
    assert {name for name, _, _ in found.families} == {"exponential", "power law", "log-power"}
    assert k == max(3, round(0.1 * 40))


def test_extrapolated_gain_is_public_scale_free_and_refuses_what_is_not_a_loss():
    assert tuning.extrapolated_gain is extrapolated_gain and "extrapolated_gain" in tuning.__all__
    curve = tiny_model_curve()
    a, b = extrapolated_gain(curve), extrapolated_gain([x * 1e4 for x in curve])
    assert a.gain == pytest.approx(b.gain, rel=1e-6) and a.high == pytest.approx(b.high, rel=1e-6)
    assert extrapolated_gain(curve, factor=3.0).epochs == 30
    with pytest.raises(ValueError, match=r"negative values \(-0.2 at epoch 3\)"):
        extrapolated_gain([1.0, 0.5, -0.2] + [0.1] * 10)


@pytest.mark.parametrize(("curve", "kwargs", "words"), [
    ("loss", {"factor": 1.0}, "factor: a number above 1"),
    ("loss", {"factor": 0.5}, "factor: a number above 1"),
    ("loss", {"factor": float("nan")}, "factor: a number above 1"),
    ("loss", {"factor": float("inf")}, "factor: a number above 1"),
    ("loss", {"factor": "2"}, "factor: a number above 1"),
    ("grid", {}, "curve: one loss per epoch (a 1-D sequence), got an array of shape (2, 20)"),
    ("loss", {"train": [0.5] * 5}, "train: the training loss of the same epochs (20), got 5 values"),
])
def test_extrapolated_gain_refuses_what_it_cannot_forecast_in_one_line(curve, kwargs, words):
    loss = [1.0 / (1 + 0.2 * t) for t in range(20)]
    with pytest.raises(ValueError) as refused:
        extrapolated_gain(loss if curve == "loss" else [loss, loss], **kwargs)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_extrapolated_gain_of_a_loss_flat_at_zero_is_no_gain_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide by zero used to leak out
        assert math.isnan(extrapolated_gain([0.0] * 20).gain) and math.isnan(extrapolated_gain([1.0] * 10 + [0.0] * 10).gain)


def test_negative_or_score_curves_are_refused_in_one_line():
    shifted = [x - 1.0 for x in tiny_model_curve()]  # a loss with a negative offset
    with pytest.raises(ValueError, match="val loss has negative values") as error:
        diagnose_curve(tiny_model_curve(), shifted)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="is a score"):
        diagnose_curve([0.5, 0.6, 0.7], [0.5, 0.6, 0.7], name="accuracy")
    assert diagnose_curve([1.0, 0.5, 0.4, 0.35], [1.0, 0.6, 0.5, 0.45], name="mae").label in LABELS
    # A study's table: the fit and its config get no label, and the reason.
    curves = {("a", 0): {"loss": tiny_model_curve(), "val_loss": shifted}}
    fits = pd.DataFrame([{"config_key": "a", "seed": 0, "status": "ok", "param_epochs": 15, "val_loss": shifted[-1],
                          "error": None}])
    table = diagnose_study(Results("s", fits, pd.DataFrame(), curves, {}, "val_loss", "minimize", {}))
    assert table["label"].isna().all() and table["evidence"].str.contains("negative values").all()


def _halves(configs: list[dict]):
    """Every val curve of >= 20 epochs cut at half: (its config, its fit, the curve, the epochs
    run, the cut, the real gain of the second half: its last tenth's median against the first's)."""
    for config in configs:
        for fit in config["fits"]:
            v = fit["val"]
            if len(v) < 20 or any(x is None for x in v):
                continue
            y = np.asarray(v, dtype=float)
            n, m = len(y), len(y) // 2
            k = max(3, int(round(0.1 * m)))
            yield config, fit, y, n, m, 1 - np.median(y[n - k:]) / np.median(y[m - k:m])


def _cut_at_half(configs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    real, pred, low, high = [], [], [], []
    for _, _, y, n, m, gain in _halves(configs):
        g = extrapolated_gain(y[:m], factor=n / m)
        real.append(gain)
        pred.append(g.gain)
        low.append(g.low)
        high.append(g.high)
    return tuple(map(np.asarray, (real, pred, low, high)))


def test_extrapolation_on_the_corpus_cut_at_half_is_unbiased_and_its_interval_covers_80_percent():
    real, pred, low, high = _cut_at_half(CORPUS)
    assert len(real) == 150
    # Round 4: the prior holds these curves, so this is in-sample (the cross-validated numbers are
    # benchmarks/diagnosis/fit_prior.py's); measured -0.000, too low 51 %, coverage 0.79 with round 4's
    # interval and 0.83 with round 12's (calibrated on nine sets' out-of-set errors).
    assert abs(np.median(pred - real)) <= 0.03
    coverage = np.mean((real >= low) & (real <= high))
    assert 0.75 <= coverage <= 0.87, coverage
    assert 0.45 <= np.mean(pred < real) <= 0.6  # no longer too low 82 % of the time


def test_the_report_shows_each_configs_extrapolation_beside_its_label():
    from tuning.report._html import gain_texts, summary_rows

    train, val = (np.asarray(c) for c in good_curves())
    runs = {("a", s): {"loss": (train * (1 + 0.01 * s)).tolist(), "val_loss": (val * (1 + 0.01 * s)).tolist()}
            for s in range(2)}
    fits = pd.DataFrame([{"config_key": "a", "seed": s, "status": "ok", "param_epochs": 60, "val_loss": val[-1],
                          "error": None} for s in range(2)])
    table = diagnose_study(Results("s", fits, pd.DataFrame(), runs, {}, "val_loss", "minimize", {}))
    texts = gain_texts(table)
    assert re.fullmatch(r"another 60 epochs would (lower|raise) the loss by about [\d.]+ % \(80 % interval .+ %\)",
                        texts["a"]), texts
    summary = pd.DataFrame([{"config_key": "a", "diagnosis": GOOD_FIT, "diagnosis_evidence": "e",
                             "diagnosis_suggestion": "s"}])
    for column in ("rank", "n_seeds", "n_failed", "divergence_rate", "mean", "std", "ci95_low", "ci95_high",
                   "aggregate", "aggregate_low", "aggregate_high", "could_be_best", "prob_best", "p_vs_best", "paired",
                   "seed_corr", "equivalent_to_best", "trainable_weights", "skill_vs_baseline", "fit_seconds",
                   "status"):
        summary[column] = None
    headers, rows = summary_rows(summary, [], gains=texts)
    cell = rows[0][headers.index("diagnosis")]
    assert cell["text"] == GOOD_FIT and cell["note"] == texts["a"]


# -- the fresh held-out set (issue 22): made after the method was frozen, scored once ---------------------

FRESH = labelled("fresh")


def test_fresh_set_has_every_label_and_its_measured_agreement_holds():
    assert len(FRESH) == 20 and sum(len(c["fits"]) for c in FRESH) == 80
    assert {c["truth"] for c in FRESH} == set(LABELS)
    # Round 2's frozen rules scored it once: 67/80 fits and 18/20 configs. Rounds 3 and 4 tuned on it (it
    # is development data, docs/analysis.md): 71/80 and 18/20 in round 3; in round 4 71/80 and 18/20 per
    # curve, 75/80 and 19/20 read against the study. This guards the measured numbers.
    assert _agreement(FRESH, study=False) == (71, 80, 18)
    assert _agreement(FRESH) == (75, 80, 19)


def test_extrapolation_on_the_fresh_set_cut_at_half():
    real, pred, low, high = _cut_at_half(FRESH)
    assert len(real) == 68
    assert abs(np.median(pred - real)) <= 0.03  # round 4, in-sample (the prior holds these curves): +0.000
    # in-sample (the prior holds these curves, round 12's interval saw their out-of-set errors): 0.93
    assert 0.85 <= np.mean((real >= low) & (real <= high)) <= 0.97


# -- round 3 (issue 22): the stall rule's thresholds, val below train, the second fresh set ----------------


def weak_stall_curves(seed: int = 0, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Val falls only ~15 % over the second half while train falls 40 %; the gap ends at 1.9x (under gap_ratio)."""
    rng = np.random.default_rng(seed)
    e = np.arange(n)
    train = (0.01 + 0.5 * np.exp(-e / 8) + 0.085 * np.exp(-e / 60)) * (1 + 0.01 * rng.standard_normal(n))
    val = (0.04 + 0.5 * np.exp(-e / 8) + 0.043 * np.exp(-e / 60)) * (1 + 0.03 * rng.standard_normal(n))
    return train, val


def test_a_weak_stall_at_a_gap_under_2x_is_overfit_by_the_round_3_thresholds():
    for seed in range(4):
        train, val = weak_stall_curves(seed)
        found = diagnose_curve(train, val)
        assert found.label == OVERFIT and found.gap_ratio < Thresholds().gap_ratio, found.evidence
        assert "stalled over the last 60 of 120 epochs" in found.evidence, found.evidence
        # Round 2's thresholds (val fall < 10 %, gap growth >= 30 %) read it as no overfitting.
        assert diagnose_curve(train, val, Thresholds(stall_val_fall=0.1, stall_gap_growth=0.3)).label != OVERFIT


def test_val_rising_but_ending_below_train_is_not_overfitting():
    # Lowest at epoch 1, 30 % higher by the end while train fell 17 %: val/train "grew" from 0.5 to 0.9,
    # but val never rose above train (an MAE run with SGD at lr 3 on the first fresh set did this).
    e = np.arange(30)
    train = 0.8 + 0.2 * np.exp(-e / 5)
    val = 0.7 - 0.2 * np.exp(-e / 5)
    found = diagnose_curve(train, val)
    assert found.gap_ratio < 1 and found.val_rise > Thresholds().overfit_rise
    assert found.label != OVERFIT, found.evidence


FRESH2 = labelled("fresh2")


def test_second_fresh_set_has_every_label_and_its_measured_agreement_holds():
    # Made after the round-3 freeze (commit a815229) and scored once: 75/88 fits (0.85) and 19/22
    # configs (0.86), BELOW the goals of 0.92 and 0.95 (docs/analysis.md). This guards the numbers.
    assert len(FRESH2) == 22 and sum(len(c["fits"]) for c in FRESH2) == 88
    assert Counter(c["truth"] for c in FRESH2) == {UNDERFIT: 6, OVERFIT: 6, GOOD_FIT: 5, UNSTABLE: 5}
    # Round 4 tuned on it (development data since it was scored): 81/88 and 20/22 per curve, 84/88 and
    # 21/22 read against the study.
    assert _agreement(FRESH2, study=False) == (81, 88, 20)
    assert _agreement(FRESH2) == (84, 88, 21)


def test_extrapolation_on_the_second_fresh_set_cut_at_half():
    real, pred, low, high = _cut_at_half(FRESH2)
    assert len(real) == 76
    assert abs(np.median(pred - real)) <= 0.03  # round 4, in-sample (the prior holds these curves): -0.002
    assert 0.7 <= np.mean((real >= low) & (real <= high)) <= 0.9  # round 4, in-sample: 0.87


# -- round 4 (issue 22): thrashing after overfitting, wandering near the baseline, 4 s.e., the study, the prior --


def noisy_overfit_curves(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train falls smoothly; val bottoms out near epoch 40 and climbs, jumping ~16 % epoch to epoch."""
    rng = np.random.default_rng(seed)
    e = np.arange(120)
    train = (0.02 + 0.9 * np.exp(-e / 10)) * (1 + 0.01 * rng.standard_normal(120))
    val = (0.25 + 0.9 * np.exp(-e / 10) + 0.0015 * np.clip(e - 40, 0, None)) * (1 + 0.14 * rng.standard_normal(120))
    return train, val


def test_a_noisy_val_curve_that_rises_while_train_falls_is_overfit_not_thrashing():
    # A 64-cell GRU on 130 series did this on the second fresh set: its val noise met the thrashing
    # thresholds, and thrashing was tried before the overfitting readings.
    for seed in (0, 1):
        train, val = noisy_overfit_curves(seed)
        shape = curve_shape(val, Thresholds())
        assert shape.erratic(Thresholds()), seed  # the thrashing thresholds are met ...
        found = diagnose_curve(train, val)
        assert found.label == OVERFIT, found.evidence  # ... but the overfitting reading comes first
        assert "higher over the last 30 epochs while train fell" in found.evidence
    # A val curve as noisy whose noise meets no overfitting reading is still thrashing. (The cost of
    # the order: with 15-25 % noise, two of these three draws dip early enough by chance to read as
    # a rise, docs/analysis.md, round 4.)
    e = np.arange(40)
    clean = 0.3 + 0.5 * np.exp(-e / 4)
    noisy = clean * (1 + 0.15 * np.random.default_rng(1).standard_normal(40))
    found = diagnose_curve(0.95 * clean, noisy)
    assert found.label == UNSTABLE and "thrashes" in found.evidence, found.evidence


def wandering_curves(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Adam at lr 0.5 on a classification: val jumps 1-3 % around 1.04x the naive baseline's for 30 epochs."""
    rng = np.random.default_rng(seed)
    val = 2.6 * (1 + 0.03 * rng.standard_normal(30))
    val[0] = 2.7
    return 2.55 * (1 + 0.01 * rng.standard_normal(30)), val


def test_a_val_loss_wandering_near_the_baseline_is_unstable_and_a_smooth_one_underfit():
    for seed in range(3):
        train, val = wandering_curves(seed)
        found = diagnose_curve(train, val, baseline=2.49)
        assert found.label == UNSTABLE and "wanders at 1.0" in found.evidence, found.evidence
        # Without the rule it is "close to the baseline": underfit, as round 3 said.
        assert diagnose_curve(train, val, Thresholds(wander_share=math.inf), baseline=2.49).label == UNDERFIT
    # A learning rate too small: smooth, near the baseline, barely improving: underfit, not unstable.
    smooth = 2.7 - 0.1 * np.arange(30) / 29
    assert diagnose_curve(0.98 * smooth, smooth, baseline=2.49).label == UNDERFIT


def blown_up_then_wandering_curves(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SGD with momentum on a loss in raw units: val 10,900 at epoch 1, 50 at epoch 2, then about 9
    (7x the naive baseline's 1.26) jumping 15 % epoch to epoch for 27 epochs; train flat at 13."""
    rng = np.random.default_rng(seed)
    val = 9.0 * (1 + 0.15 * rng.standard_normal(30))
    val[:3] = 10_900.0, 50.0, 12.0
    train = 13.0 * (1 + 0.01 * rng.standard_normal(30))
    train[:3] = 130_000.0, 1_400.0, 26.0
    return train, val


def test_noise_after_a_blown_up_start_is_read_against_what_the_curve_improved_once_near_its_level():
    # Round 16. The wander rule reads the epoch noise as a share of all the val curve improved, and
    # a first epoch the optimiser blew up (10,900 against a level of 9) makes that improvement
    # ten thousand: 15 % noise was 2-4 % of it, under the rule's 10 %. Counted from the first epoch
    # within 3x the level, the curve improved a few units, and its noise is a large share of them.
    for seed in range(3):
        train, val = blown_up_then_wandering_curves(seed)
        found = diagnose_curve(train, val, baseline=1.26)
        assert found.label == UNSTABLE and "wanders at" in found.evidence, found.evidence
        assert "of all it improved once within 3x that level" in found.evidence
        # Counting the whole improvement (round 15) it was "far above the baseline": underfit.
        assert diagnose_curve(train, val, Thresholds(wander_settle=math.inf), baseline=1.26).label == UNDERFIT


def test_a_slow_learner_in_raw_units_is_not_read_as_wandering():
    # Round 16's count from the first epoch within 3x the level must leave a slow learner alone: a
    # curve that starts 500x above the baseline and comes down steadily, still falling or levelled
    # off smoothly far above it, improved nothing that a blow-up explains.
    e = np.arange(30)
    rng = np.random.default_rng(4)
    falling = (2.0 + 600 * np.exp(-e / 6)) * (1 + 0.02 * rng.standard_normal(30))
    assert diagnose_curve(1.1 * falling, falling, baseline=1.2).label == UNDERFIT
    levelled = (3.0 + 600 * np.exp(-e / 2)) * (1 + 0.03 * rng.standard_normal(30))
    found = diagnose_curve(1.1 * levelled, levelled, baseline=1.2)
    assert found.label == UNDERFIT and found.noise > 0.01, found.evidence  # noisy enough to be read
    shape = curve_shape(levelled, Thresholds())
    assert shape.improvement_within(3.0) < shape.improvement  # the count starts later ...
    assert shape.noise < 0.1 * shape.improvement_within(3.0)  # ... and the noise is still small next to it
    # Without a limit the whole improvement counts; the blown-up start's count is a tenth of it.
    shape = curve_shape(blown_up_then_wandering_curves()[1], Thresholds())
    assert shape.improvement_within(math.inf) == shape.improvement
    assert shape.improvement_within(3.0) < 0.2 * shape.improvement


def test_real_fits_that_wander_after_a_blown_up_start_are_unstable():
    # The development fits round 16 moved from underfit to unstable (truth: unstable), among them
    # three of set 11's pressure-raw-sgd-momentum, the lead round 15 left.
    moved = ((FRESH6, "temp-rmsprop-lr3", 11003), (FRESH7, "temp-adam-lr1", 12001), (FRESH8, "daily-adagrad-lr25", 13003),
             (FRESH10, "river-adagrad-lr20", 15000), (FRESH10, "echo-gru-adagrad-lr10", 15003),
             (FRESH11, "echo-bidirectional-adagrad-lr15", 16000), (FRESH11, "pressure-raw-sgd-momentum", 16000),
             (FRESH11, "pressure-raw-sgd-momentum", 16001), (FRESH11, "pressure-raw-sgd-momentum", 16003))
    for configs, name, seed in moved:
        config = next(c for c in configs if c["name"] == name)
        fit = next(f for f in config["fits"] if f["seed"] == seed)
        found = diagnose_curve(fit["train"], fit["val"], baseline=config["baseline_val_loss"],
                               max_epochs=config["max_epochs"])
        assert found.label == UNSTABLE and "wanders at" in found.evidence, (name, seed, found.evidence)
        before = diagnose_curve(fit["train"], fit["val"], Thresholds(wander_settle=math.inf),
                                baseline=config["baseline_val_loss"], max_epochs=config["max_epochs"])
        assert before.label == UNDERFIT, (name, seed, before.evidence)


def test_val_thrashing_is_read_up_to_the_epoch_early_stopping_restored():
    # Round 17. Two good fits of the development sets, early-stopped with the best epoch restored,
    # whose val curves are quiet up to that epoch and jump only over the patience epochs after it
    # (a small val set): read over the whole run their noise was 10 % of all they improved, the
    # thrash rule's 8 %; up to the epoch kept it is 4-5 %, and they are good fits.
    for configs, name, seed in ((FRESH9, "retail-early", 14001), (FRESH12, "tide-minmax-mae-early", 17003)):
        config = next(c for c in configs if c["name"] == name)
        fit = next(f for f in config["fits"] if f["seed"] == seed)
        options = dict(baseline=config["baseline_val_loss"] if not config.get("loss") else None,
                       max_epochs=config["max_epochs"], patience=config["patience"])
        found = diagnose_curve(fit["train"], fit["val"], **options)
        assert found.label == GOOD_FIT, (name, seed, found.evidence)
        # Over every epoch the val curve thrashes by the rule's measure; up to the epoch kept it does not.
        kept = len(fit["val"]) - config["patience"]
        assert curve_shape(np.asarray(fit["val"]), Thresholds()).erratic(Thresholds())
        assert not curve_shape(np.asarray(fit["val"][:kept]), Thresholds()).erratic(Thresholds())


def test_val_that_thrashes_before_the_restored_epoch_is_still_unstable():
    # Round 17's cut leaves a run that thrashed before the epoch it kept unstable, and says where it read.
    rng = np.random.default_rng(7)
    e = np.arange(60)
    train = (0.1 + 0.2 * np.exp(-e / 8)) * (1 + 0.01 * rng.standard_normal(60))
    val = (0.1 + 0.2 * np.exp(-e / 8)) * np.exp(0.35 * rng.standard_normal(60))  # around train: no gap
    found = diagnose_curve(train, val, max_epochs=200, patience=15)
    assert found.label == UNSTABLE and "thrashes" in found.evidence, found.evidence
    assert "up to the epoch early stopping restored" in found.evidence


def flat_train_rising_val_curves(noise: float = 0.002, seed: int = 18) -> tuple[np.ndarray, np.ndarray]:
    """An optimiser stuck after a few epochs: train flat at 7.7 within ``noise`` of its level, val
    bottoming out at epoch 10 and then 40 % higher, jumping 3 % an epoch (fresh set 13's
    echo-rmsprop-lr2 18002 and damped-sgd-momentum-lr5 18001 in outline)."""
    rng = np.random.default_rng(seed)
    e = np.arange(30)
    train = np.where(e < 4, 9.0 - 0.35 * e, 7.7) * (1 + noise * rng.standard_normal(30))
    val = np.where(e < 10, 8.0 - 0.2 * e, 6.0 + 2.4 * np.clip((e - 10) / 10, 0, 1)) * (1 + 0.03 * rng.standard_normal(30))
    return train, val


def test_val_rising_while_train_stays_flat_is_unstable_not_overfit():
    # Round 18. The rise reading asked only that train not rise (rounds 4 and 15), so a train curve
    # stuck flat under a val curve that rose 40 % read as overfitting: the val/train gap grew, but by
    # val alone. Overfitting is the model fitting its training data better while val gets worse:
    # train must have fallen since the val minimum by 2 % of its level and by 3 s.e. of its noise.
    train, val = flat_train_rising_val_curves()
    found = diagnose_curve(train, val, max_epochs=30)
    assert found.label == UNSTABLE, found.evidence
    assert re.search(r"higher over the last 8 epochs while train fell only [\d.]+ % \([-\d.]+ s\.e\.\): the val/train "
                     r"gap grew \d+ % by val alone; gap [\d.]+x train: erratic, not overfitting", found.evidence), found.evidence
    assert 0 <= found.train_fall < 0.02  # round 17's reading (train need only not rise) called it overfit
    # The same val rise over a train curve that kept falling 10 % (far beyond its noise) is overfitting.
    falling = train * np.where(np.arange(30) < 10, 1.0, 1 - 0.01 * (np.arange(30) - 10))
    assert diagnose_curve(falling, val, max_epochs=30).label == OVERFIT


def test_real_fits_whose_val_rose_over_a_flat_train_curve_are_unstable():
    # Round 18: the two development fits (fresh set 13, both unstable by construction and confirmed
    # by truth.py) that round 17 read as overfit. Train fell 0.2 % (0.1 s.e.) and 0.6 % (8.6 s.e.)
    # since the val minimum; the 280 overfit fits the rise reading decides on the development sets
    # fell 4.7 % or more (3.8 s.e. or more).
    for name, seed in (("echo-rmsprop-lr2", 18002), ("damped-sgd-momentum-lr5", 18001)):
        config = next(c for c in FRESH13 if c["name"] == name)
        fit = next(f for f in config["fits"] if f["seed"] == seed)
        options = dict(baseline=config["baseline_val_loss"] if not config.get("loss") else None,
                       max_epochs=config["max_epochs"])
        found = diagnose_curve(fit["train"], fit["val"], **options)
        assert found.label == UNSTABLE and "by val alone" in found.evidence, (name, seed, found.evidence)
        assert 0 <= found.train_fall < 0.01 and found.val_rise > 0.3, (name, seed)


def test_still_falling_needs_4_standard_errors():
    # A converged curve whose noise leaves a tail slope of 3.6 s.e.: round 3 (3 s.e.) called it underfit.
    e = np.arange(60)
    rng = np.random.default_rng(15)
    clean = 0.3 + 0.7 * np.exp(-e / 5) - 0.001 * e
    val = clean * (1 + 0.06 * rng.standard_normal(60))
    assert 3 <= curve_shape(val, Thresholds()).falling < 4
    assert diagnose_curve(0.9 * clean, val).label == GOOD_FIT
    assert diagnose_curve(0.9 * clean, val, Thresholds(improving_significance=3.0)).label == UNDERFIT


def _two_config_study(small_val: np.ndarray, big_val: np.ndarray) -> pd.DataFrame:
    curves = {(key, seed): {"loss": list(0.95 * v), "val_loss": list(v)}
              for key, v in (("small", small_val), ("big", big_val)) for seed in (0, 1)}
    fits = pd.DataFrame([{"config_key": key, "seed": seed, "status": "ok", "param_epochs": 20,
                          "val_loss": curves[(key, seed)]["val_loss"][-1], "error": None}
                         for key, seed in curves])
    return diagnose_study(Results("s", fits, pd.DataFrame(), curves, {}, "val_loss", "minimize", {}))


def test_a_good_fit_another_config_beat_by_far_is_underfit_for_the_fit_and_the_config():
    # A 4-cell model flattens at 0.30 after 20 epochs; a larger one reaches 0.06. Alone, the small
    # model's curve reads as converged; its study shows it is too small.
    e = np.arange(20)
    small = 0.30 + 0.6 * np.exp(-e / 3)
    big = 0.06 + 0.8 * np.exp(-e / 3)
    assert diagnose_curve(0.95 * small, small).label == GOOD_FIT
    table = _two_config_study(small, big).set_index(["scope", "config_key", "seed"]).sort_index()
    for row in (table.loc[("fit", "small", 0)], table.loc[("config", "small", pd.NA)]):
        assert row["label"] == UNDERFIT and "config big of the same study reached 0.06" in row["evidence"]
        assert "add capacity" in row["suggestion"]
    assert (table.loc[("fit", "big")]["label"] == GOOD_FIT).all()
    # Without the rule (capacity_ratio infinite) the small model is a good fit again.
    reference = study_minima({"small": small, "big": big})["small"]
    assert against_study(diagnose_curve(0.95 * small, small), small, reference,
                         Thresholds(capacity_ratio=math.inf)).label == GOOD_FIT


def test_a_curve_that_turned_up_is_not_made_underfit_by_the_study():
    # Its minimum came before the tail: whatever its level, it is not short of capacity.
    e = np.arange(40)
    risen = np.where(e < 15, 0.9 - 0.04 * e, 0.3 + 0.002 * (e - 15))
    found = diagnose_curve(0.9 * risen, risen, Thresholds(overfit_rise=math.inf, gap_ratio=math.inf,
                                                           stall_val_fall=-math.inf))
    assert found.label == GOOD_FIT, found.evidence
    assert against_study(found, risen, (0.01, "big")).label == GOOD_FIT


def test_the_prior_moves_the_families_forecast_by_its_nearest_curves_median():
    from tuning.analysis.curve_prior import load_prior, prior_correction
    from tuning.analysis.extrapolation import log_ratio, prior_row

    curve = tiny_model_curve() + [tiny_model_curve()[-1] * 0.98 ** i for i in range(1, 6)]
    with_prior, families = extrapolated_gain(curve), extrapolated_gain(curve, prior=False)
    features, base = prior_row(curve)
    assert base == pytest.approx(families.gain)
    correction, spread = prior_correction(features, load_prior())
    assert with_prior.gain == pytest.approx(1 - math.exp(-(log_ratio(base) + correction)))
    assert with_prior.families[-1][0] == "nearest curves" and spread >= 0
    # Leaving every stored curve out gives the families' gain back.
    prior = load_prior()
    every = {g for groups in prior["groups"] for g in groups}
    assert prior_correction(features, prior, every) == (0.0, 0.0)


def test_the_shipped_prior_is_what_fit_prior_makes_from_the_development_curves():
    # benchmarks/diagnosis/fit_prior.py writes tuning/data/curve_prior.json; its first rows, recomputed
    # by the package's own prior_row, must be the stored ones.
    from tuning.analysis.curve_prior import FEATURES, load_prior
    from tuning.analysis.extrapolation import prior_row

    prior = load_prior()
    assert prior is not None and prior["features"] == list(FEATURES) and prior["aggregate"] == "median"
    assert len(prior["rows"]) == 294 and prior["k"] == 10
    rows = [(f["val"], f["train"]) for c in CORPUS for f in c["fits"]
            if len(f["val"]) >= 20 and all(v is not None and math.isfinite(v) for v in f["val"])]
    for (val, train), stored in zip(rows[:5], prior["rows"][:5], strict=True):
        n, m = len(val), len(val) // 2
        features, _ = prior_row(np.asarray(val[:m]), n / m, train=np.asarray(train[:m]))
        assert np.allclose(features, stored, atol=2e-5, equal_nan=True)


FRESH3 = labelled("fresh3")


FRESH4, FRESH5, FRESH6 = labelled("fresh4"), labelled("fresh5"), labelled("fresh6")
FRESH7, FRESH8, FRESH9 = labelled("fresh7"), labelled("fresh8"), labelled("fresh9")
FRESH10, FRESH11, FRESH12 = labelled("fresh10"), labelled("fresh11"), labelled("fresh12")
FRESH13, FRESH14, FRESH15 = labelled("fresh13"), labelled("fresh14"), labelled("fresh15")
FRESH16 = labelled("fresh16")


# Each fresh set was made after a freeze, committed before scoring, and scored once (docs/analysis.md):
# - set 3 (frozen in 880860b) by round 4: 76/88 fits (0.86) and 19/22 configs (0.86), below the goals
#   of 0.92 and 0.95. Round 5 was written on its misses, so it is development data now: 83/88 and
#   20/22 (81/88 and 20/22 without the study comparison);
# - set 4 (frozen in 9144704) by round 5: 67/88 fits (0.76) and 18/22 configs (0.82), below the goals;
#   the same without the study comparison, and the same under round 4's rules;
# - set 5 (round 6: the method unchanged, six constructions per label, frozen with truth.py in
#   4b377c3): 86/96 fits (0.90) and 22/24 configs (0.92), below the goals; on the 79 fits and 19
#   configs whose curves show their label by truth.py, 76/79 (0.96) and 18/19 (0.95). Round 7 was
#   written on its misses (a slow learner is not stuck), so it is development data now: 87/96, 23/24;
# - set 6 (round 7, frozen in a53b08b, seven constructions per label): 99/112 fits (0.88) and 24/28
#   configs (0.86), below the goals; on the 98 fits and 24 configs whose curves show their label by
#   truth.py, 93/98 (0.95) and 23/24 (0.96) (tests/test_truth_definitions.py guards the 98 and 24).
#   Rounds 9 to 11 were written on a user's study and on sets 6 to 8, which are development data now;
# - set 7 (round 9, frozen in dc12107, seven constructions per label): 101/112 fits (0.90) and 27/28
#   configs (0.96): the config goal met, the fit goal not; on the 105 fits and 26 configs whose curves
#   show their label by truth.py, 98/105 (0.93) and 26/26;
# - set 8 (round 10, frozen in a31cbe2): 98/112 fits (0.88) and 27/28 configs (0.96): the config goal
#   met, the fit goal not (round 7's rules: 100/112, 27/28); confirmed by truth.py 92/98 and 24/24.
# Round 11 labels every fit of every set as round 7 did (sets 7 and 8 were made after round 7's
# freeze: for round 7's rules they are held out, 104/112 and 100/112 fits, 27/28 configs each).
# - set 9 (round 12, made after round 11's freeze in 7ef11e3): 101/112 fits (0.90) and 26/28 configs
#   (0.93): neither goal met (round 7's rules label it the same); confirmed by truth.py 86/92 and 21/22.
# Round 13 (a run read as underfit whose first epoch blew the weights up is unstable, written on all
# nine fresh sets, so none of them is held out for it) gains one fit on sets 4, 6, 7 and 9 and three
# on set 8, and changes no config.
# - set 10 (made after round 13's freeze in 7688ae9): 86/112 fits (0.77) and 21/28 configs (0.75):
#   neither goal met; confirmed by truth.py 77/90 and 19/22. Round 12's rules on it: 86/112 and 24/28
#   (confirmed 78/90, 21/22): round 13's rule gained 5 unstable fits and cost 5 underfit fits (slow
#   learners on a river level in metres start far above a strong persistence baseline) and 3 configs.
# Round 14 took round 13's rule out on that evidence: every set is labelled as in round 12 again.
# Round 15 (train rising by 10 % of its level at the val minimum is not "train kept falling", written
# on all eleven development sets) gains one unstable fit on each of sets 8 and 9 and changes no other
# fit and no config.
# - set 11 (made after round 15's freeze in c1e02e1): 92/112 fits (0.82) and 25/28 configs (0.89):
#   neither goal met; confirmed by truth.py 81/91 and 22/22. Round 14's rules label every fit and
#   config of it the same (round 15's rule fired on none of its fits).
# Round 16 (the wander rule reads the noise against what the val curve improved once within 3x its
# level, not against a blown-up start; written on all twelve development sets) gains one unstable
# fit on each of sets 6, 7 and 8, two on set 10 (and its config echo-gru-adagrad-lr10) and four on
# set 11, and changes no other fit and no config.
# - set 12 (made after round 16's freeze in a5d0008): 102/112 fits (0.91) and 25/28 configs (0.89):
#   neither goal met; confirmed by truth.py 91/95 (0.96) and 23/23. Round 15's rules label every fit
#   and config of it the same (round 16's rule decided none of its fits).
# Round 17 (val's thrashing read up to the epoch early stopping restored, as overfitting already was;
# written on all thirteen development sets) gains one good fit on set 9 and one on set 12 (and its
# config tide-minmax-mae-early), and changes no other fit and no config.
# - set 13 (made after round 17's freeze in c460d70): 98/112 fits (0.88) and 26/28 configs (0.93):
#   neither goal met; confirmed by truth.py 83/89 (0.93) and 21/21. Round 16's rules: 96/112 and 25/28
#   (confirmed 82/89, 21/21): round 17's rule gained two good fits (damped-gru-early 18000, 18003)
#   and that config, and cost nothing.
# Round 18 (a val rise over a train curve that did not keep falling, by 2 % of its level and 3 s.e.,
# is unstable, not overfit; written on all fourteen development sets) gains two unstable fits of set
# 13 (echo-rmsprop-lr2 18002, damped-sgd-momentum-lr5 18001), and changes no other fit and no config.
# - set 14 (made after round 18's freeze in 73effc3; its constructions drafted with one pilot fit each,
#   checked with truth.py): 111/112 fits (0.99) and 28/28 configs (1.00), every fit confirmed by
#   truth.py (111/112, 28/28). Round 17's rules label it identically (round 18's rule decided none of
#   its fits); the miss is damped-gru-sgd-momentum-lr5 19001 (unstable, said overfit).
# - set 15 (made after round 19's freeze in 2ef952f; no label rule changed since round 18; its
#   constructions not pilot-fitted): 100/112 fits (0.89) and 25/28 configs (0.89), the same without the
#   study; confirmed by truth.py 99/103 and 25/26. Two good-fit constructions on the grid frequency
#   did not show their label (both said underfit or unstable near the naive baseline).
# Round 20 (seeds that all share a label do not disagree, however far apart their final losses; written
# on all sixteen development sets) gains set 15's config grid-small-256 (four overfits 21x apart, said
# unstable: 25 -> 26/28 configs, with and without the study) and changes no fit and no other config.
# - set 16 (made after round 20's freeze; no construction pilot-fitted): 111/112 fits (0.99) and 28/28
#   configs, the same without the study; confirmed by truth.py 108/109 and 27/27. Round 19's rules label
#   it identically (round 20's rule decided none of its configs).
# This guards the numbers as the method stands.
@pytest.mark.parametrize(("configs", "labels", "with_study", "without_study"), [
    (FRESH3, (6, 6, 5, 5), (83, 88, 20), (81, 88, 20)),
    (FRESH4, (6, 6, 5, 5), (67, 88, 18), (67, 88, 18)),
    (FRESH5, (6, 6, 6, 6), (87, 96, 23), (87, 96, 23)),
    (FRESH6, (7, 7, 7, 7), (100, 112, 24), (100, 112, 24)),
    (FRESH7, (7, 7, 7, 7), (105, 112, 27), (105, 112, 27)),
    (FRESH8, (7, 7, 7, 7), (102, 112, 27), (102, 112, 27)),
    (FRESH9, (7, 7, 7, 7), (103, 112, 26), (103, 112, 26)),
    (FRESH10, (7, 7, 7, 7), (88, 112, 25), (87, 112, 25)),
    (FRESH11, (7, 7, 7, 7), (96, 112, 25), (96, 112, 25)),
    (FRESH12, (7, 7, 7, 7), (103, 112, 26), (103, 112, 26)),
    (FRESH13, (7, 7, 7, 7), (100, 112, 26), (100, 112, 26)),
    (FRESH14, (7, 7, 7, 7), (111, 112, 28), (111, 112, 28)),
    (FRESH15, (7, 7, 7, 7), (100, 112, 26), (100, 112, 26)),
    (FRESH16, (7, 7, 7, 7), (111, 112, 28), (111, 112, 28)),
], ids=["fresh set 3", "fresh set 4", "fresh set 5", "fresh set 6", "fresh set 7", "fresh set 8", "fresh set 9",
        "fresh set 10", "fresh set 11", "fresh set 12", "fresh set 13", "fresh set 14", "fresh set 15",
        "fresh set 16"])
def test_a_fresh_set_has_every_label_and_its_measured_agreement_holds(configs, labels, with_study, without_study):
    assert sum(len(c["fits"]) for c in configs) == 4 * len(configs)
    assert Counter(c["truth"] for c in configs) == dict(zip((UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE), labels, strict=True))
    assert _agreement(configs) == with_study
    assert _agreement(configs, study=False) == without_study


def test_extrapolation_on_the_third_fresh_set_cut_at_half():
    # Held out from the prior. The benchmark (which also gives the train curve) measured median error
    # -0.004, |error| 0.169, Spearman 0.48, coverage 0.71; without the train curve, as here: -0.000,
    # 0.159, coverage 0.74. The bias goal holds, the others do not (docs/analysis.md, round 4). Round
    # 12's interval, calibrated with this set's errors among nine sets': coverage 0.78 (0.81 here).
    real, pred, low, high = _cut_at_half(FRESH3)
    assert len(real) == 72
    assert abs(np.median(pred - real)) <= 0.03
    assert 0.75 <= np.mean((real >= low) & (real <= high)) <= 0.87


# -- round 5: the two measurement flaws fresh set 3 showed, on hand-made curves ---------------------


def test_a_period_two_oscillation_is_unstable_not_still_falling():
    """SGD at too high a rate can make the loss alternate between two levels every epoch: second
    differences then take two values whose median absolute deviation is 0, and round 4 read the
    noise as nil and the curve as "still falling at > 99 s.e.". The noise is now half the step."""
    n = 30
    val = np.array([1.52 if e % 2 else 0.47 for e in range(n)]) * np.linspace(1.0, 0.97, n)
    train = np.linspace(1.0, 0.8, n)
    shape = curve_shape(val, Thresholds())
    assert shape.noise == pytest.approx(np.median(np.abs(np.diff(val[n // 2:]))) / 2)
    found = diagnose_curve(train, val)
    assert found.label == UNSTABLE and "thrashes" in found.evidence, found.evidence
    white = np.random.default_rng(0).normal(0.5, 0.01, 200)  # white noise alternates about 2/3 of the time
    assert curve_shape(white, Thresholds()).noise == pytest.approx(0.01, rel=0.25)


def test_a_short_run_that_only_falls_is_underfit_not_thrashing():
    """Five epochs falling steeply (0.137 to 0.030): under 8 epochs the noise is measured on the
    whole run, and round 4 read the bend of the fall as noise, 16-62 % an epoch ("the optimiser
    thrashes"). A run that never goes up has no noise to measure, and is still falling."""
    train = np.array([0.137, 0.102, 0.051, 0.037, 0.030])
    found = diagnose_curve(train, 1.1 * train, max_epochs=5)
    assert found.label == UNDERFIT and "still falling" in found.evidence, found.evidence
    # Its lowest epoch is its last, and five epochs claim no measured noise (it said "> 99 s.e.,
    # noise 0.0 % per epoch" and, for three epochs, best epoch 1: the mirrored end tied there).
    assert found.best_epoch == 5 and "over its 5 epochs, too few to measure its noise" in found.evidence
    assert diagnose_curve(train[:3], 1.1 * train[:3]).best_epoch == 3
    # A short run that jumps up and down that much still thrashes.
    jumpy = np.array([0.137, 0.060, 0.120, 0.045, 0.110, 0.050])
    assert diagnose_curve(jumpy, 1.1 * jumpy, max_epochs=6).label == UNSTABLE


# The forecast on fresh sets 4 to 11, each curve cut at half without its train curve (the benchmark,
# benchmarks/diagnosis/extrapolation.py, gives it; docs/analysis.md has both): how many curves, the
# bias allowed, and the coverage of the 80 % interval. Measured (benchmark | here), with round 12's
# interval (calibrated on sets 1-8 among others, so held out only for sets 9 and 10):
# - set 4 (held out from the prior): -0.003, |error| 0.062, Spearman 0.76, coverage 0.90 | -0.015,
#   0.081, 0.90: the interval covers more than 0.85;
# - set 5: 0.000, 0.048, 0.29, 0.73 (round 4's interval 0.67) | -0.001, 0.071, 0.72;
# - set 6: -0.012, 0.071, 0.17, 0.76 (0.73) | -0.010, 0.084, 0.68;
# - set 7: -0.000, 0.057, 0.14, 0.75 (0.65) | -0.001, 0.067, 0.73;
# - set 8: -0.010, 0.063, 0.34, 0.77 (0.70) | -0.038, 0.065, 0.68: the bias goal holds with the train curve only;
# - set 9: -0.004, 0.126, 0.35, 0.72 (0.66) | -0.012, 0.142, 0.77;
# - set 10: -0.015, 0.141, 0.49, 0.78 | -0.012, 0.133, 0.81: bias and coverage goals hold, not |error| nor Spearman;
# - set 11 (round 15; the interval unchanged since round 12): -0.011, 0.102, 0.35, 0.76 | -0.022, 0.114, 0.74;
# - set 12 (round 16; the interval unchanged): -0.010, 0.131, 0.42, 0.82 | -0.013, 0.130, 0.82;
# - set 13 (round 17; the interval unchanged): -0.004, 0.151, 0.51, 0.82 | 0.004, 0.145, 0.80;
# - set 14 (round 18; the interval unchanged): 0.003, 0.087, 0.20, 0.63 | -0.012, 0.119, 0.58: the bias
#   goal holds, the coverage falls under 0.75 (overfits and cycling unstable runs whose second halves rise);
# - set 15 (round 19; the single-curve forecast unchanged): -0.005, 0.075, 0.22, 0.72 | -0.010, 0.084, 0.69.
@pytest.mark.parametrize(("configs", "curves", "bias", "coverage"), [
    (FRESH4, 67, 0.03, (0.85, 0.95)),
    (FRESH5, 79, 0.03, (0.55, 0.75)),
    (FRESH6, 84, 0.03, (0.55, 0.75)),
    (FRESH7, 84, 0.03, (0.55, 0.75)),
    (FRESH8, 84, 0.045, (0.55, 0.75)),
    (FRESH9, 82, 0.03, (0.7, 0.82)),
    (FRESH10, 88, 0.03, (0.75, 0.87)),
    (FRESH11, 91, 0.03, (0.68, 0.80)),
    (FRESH12, 88, 0.03, (0.75, 0.87)),
    (FRESH13, 84, 0.03, (0.74, 0.86)),
    (FRESH14, 86, 0.03, (0.52, 0.64)),
    (FRESH15, 87, 0.03, (0.63, 0.75)),
], ids=[f"fresh set {n}" for n in range(4, 16)])
def test_extrapolation_on_a_fresh_set_cut_at_half(configs, curves, bias, coverage):
    real, pred, low, high = _cut_at_half(configs)
    assert len(real) == curves
    assert abs(np.median(pred - real)) <= bias
    assert coverage[0] <= np.mean((real >= low) & (real <= high)) <= coverage[1]


def test_a_configs_tally_counts_the_labels_its_fits_show_after_the_study_rule():
    """Three seeds of a small config flatten at 0.5 while another config reaches 0.1: each fit is
    relabelled underfit against the study, and the config's evidence counts those labels, not the
    good fits they were before (a config page listed one tally beside other labels)."""
    from helpers.results import make_results

    from tuning.analysis import diagnose_study

    rng = np.random.default_rng(1)
    t = np.arange(40)
    rows = []
    levels = {"small": 0.5, "big": 0.1}
    for key, level in levels.items():
        for seed in range(3):
            val = np.minimum.accumulate(level + level * np.exp(-t / 4) - 1e-4 * t * level
                                        + rng.normal(0, level * 0.002, 40))
            rows += [{"config_key": key, "seed": seed, "epoch": int(e), "curve": curve, "value": float(v)}
                     for e in t for curve, v in (("val_loss", val[e]), ("loss", 0.95 * val[e]))]
    table = diagnose_study(make_results({k: [v] * 3 for k, v in levels.items()}, curves=pd.DataFrame(rows)))
    fits = table[table["scope"] == "fit"]
    assert (fits.loc[fits["config_key"] == "small", "label"] == "underfit").all()  # the study rule fired
    for config in table[table["scope"] == "config"].itertuples():
        labels = fits.loc[fits["config_key"] == config.config_key, "label"].value_counts().to_dict()
        count, of, label = re.match(r"(\d+) of (\d+) seeds (underfit|overfit|good fit|unstable)\b", config.evidence).groups()
        assert labels.get(label) == int(count) and sum(labels.values()) == int(of), (config.evidence, labels)
        assert config.label == label


def test_a_good_fit_whose_forecast_is_clearly_above_nothing_is_told_to_train_longer():
    """Noisy curves 0.2 + exp(-t / tau) the label reads as good fit either way: cut at epoch 20 of a
    tau-30 decay (doubling the epochs truly lowers it by 35 %) and run 45 epochs of a tau-8 one (2 %).
    Only the first is told to train on, by its forecast; the label is left as the rules give it."""
    from tuning.analysis import diagnose_config
    from tuning.analysis.labels import GOOD_FIT, SUGGESTIONS

    def seeds(epochs, tau):
        rng = np.random.default_rng(4)
        t = np.arange(epochs)
        return {s: (list(0.9 * (0.2 + np.exp(-t / tau)) * np.exp(rng.normal(0, 0.05 / 3, epochs))),
                    list((0.2 + np.exp(-t / tau)) * np.exp(rng.normal(0, 0.05, epochs)))) for s in range(3)}

    for epochs, tau, true_gain in ((20, 30, 0.35), (45, 8, 0.02)):
        level, later = (0.2 + math.exp(-epochs / tau)), (0.2 + math.exp(-2 * epochs / tau))
        assert 1 - later / level == pytest.approx(true_gain, abs=0.01)
        found = diagnose_config(seeds(epochs, tau))
        assert found.label == GOOD_FIT
        assert found.suggestion == SUGGESTIONS["good_but_falling" if true_gain > 0.05 else "good"], found.gain_low


def test_the_study_table_reads_a_run_shorter_than_the_epochs_asked_as_the_scorer_does():
    """Epochs not searched: the spec's fit.epochs is what was asked (the benchmark's scorer passes
    it too), so an early-stopped fit is read as stopped, and a diverged one says of how many."""
    import pandas as pd
    from helpers.results import make_results

    from tuning.analysis import diagnose_study

    t = np.arange(12)
    val = 0.3 + np.exp(-t / 2) + np.where(t > 6, 0.02 * (t - 6), 0)  # turned up at epoch 7, stopped at 12
    rows = [{"config_key": "a", "seed": 0, "epoch": int(e), "curve": c, "value": float(v)}
            for e in t for c, v in (("val_loss", val[e]), ("loss", 0.5 * val[e]))]
    rows += [{"config_key": "b", "seed": 0, "epoch": 0, "curve": c, "value": math.nan} for c in ("loss", "val_loss")]
    spec = {"fit": {"epochs": 40, "early_stopping": {"patience": 5}}}
    table = diagnose_study(make_results({"a": [1.3], "b": [math.nan]}, curves=pd.DataFrame(rows), spec=spec))
    fits = table[table["scope"] == "fit"].set_index("config_key")
    assert "stopped at epoch 12 (best 7) of 40" in fits.loc["a", "evidence"], fits.loc["a", "evidence"]
    assert fits.loc["b", "evidence"].startswith("diverged at epoch 1 of 40")


def test_the_diagnosis_medians_are_numpys_to_the_bit():
    """``median_of`` and the running median replace ``np.median`` for speed; every label, forecast
    and evidence number depends on them, so they must give the same floats, NaN and inf included."""
    from tuning.analysis.shape import _running_median, median_of

    rng = np.random.default_rng(7)
    for n in range(0, 40):
        for _ in range(5):
            x = rng.lognormal(size=n) * 10.0 ** rng.integers(-6, 6)
            if n and rng.random() < 0.2:
                x[rng.integers(n)] = rng.choice([np.nan, np.inf, -np.inf])
            expected = np.median(x) if n else np.nan
            assert median_of(x) == expected or (np.isnan(expected) and np.isnan(median_of(x))), (n, x)
            for w in (1, 3, 5, 7, 11):
                ours = _running_median(x, w)
                padded_half = min(w // 2, n - 1)
                if w > 1 and n >= 3 and n + 2 * padded_half >= w:  # the widths median_window gives (w <= n)
                    padded = np.concatenate([x[1: padded_half + 1][::-1], x, x[-padded_half - 1: -1][::-1]])
                    reference = np.median(np.lib.stride_tricks.sliding_window_view(padded, w), axis=1)
                    np.testing.assert_array_equal(ours, reference)


# -- round 19 (issue 22): a fit's forecast borrows its seeds' first halves ------------------------------


def test_a_fits_forecast_with_its_seeds_is_the_median_of_the_seeds_forecasts():
    """Four seeds of one config, cut at the same epoch: each is forecast from its own epochs and the
    median is every seed's forecast; the interval adds how much the seeds disagreed. A seed that
    ran fewer epochs than the curve, or one with a negative value, takes no part."""
    from tuning.analysis.curve_prior import load_prior

    t = np.arange(1, 31, dtype=float)
    rng = np.random.default_rng(4)
    seeds = [0.2 + tau / 40 * np.exp(-t / tau) + rng.normal(0, 0.004, 30) for tau in (8.0, 12.0, 20.0, 40.0)]
    alone = [extrapolated_gain(s) for s in seeds]
    found = extrapolated_gain(seeds[0], siblings=seeds[1:])
    assert found.gain == pytest.approx(np.median([g.gain for g in alone]))
    assert found.families[-1] == ("seeds' median", round(found.gain - alone[0].gain, 4), 4)
    gains = np.asarray([g.gain for g in alone])
    scale = (alone[0].low - alone[0].gain) / load_prior()["interval_q"][0]
    scale += 1.4826 * np.median(np.abs(gains - found.gain))
    q = load_prior()["interval_q_seeds"]
    assert (found.low, found.high) == pytest.approx((found.gain + q[0] * scale, min(found.gain + q[1] * scale, 1.0)))
    # (curve, train) pairs are taken too; seeds that cannot be cut at this curve's epochs are left out.
    pairs = extrapolated_gain(seeds[0], siblings=[(s, 1.05 * s) for s in seeds[1:]])
    assert pairs.families[-1][0] == "seeds' median" and math.isfinite(pairs.gain)
    left_out = extrapolated_gain(seeds[0], siblings=[seeds[1][:20], np.r_[-1.0, seeds[2][1:]]])
    assert left_out == alone[0]
    # As stored, None for an epoch without a value: such a seed takes no part (the benchmarks pass
    # stored curves as they are and rely on this).
    stored = [None if i == 3 else float(x) for i, x in enumerate(seeds[1])]
    assert extrapolated_gain(seeds[0], siblings=[stored]) == alone[0]
    assert extrapolated_gain(seeds[0], siblings=seeds[1:], prior=False).gain == extrapolated_gain(seeds[0], prior=False).gain


def _cut_at_half_with_seeds(configs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(real gain, forecast alone, forecast with the other seeds' epochs up to the cut) of every val curve of >= 20 epochs."""
    real, alone, seeded = [], [], []
    for config, fit, y, n, m, gain in _halves(configs):
        others = [o["val"] for o in config["fits"] if o is not fit]  # cut at m, and checked, by the forecast
        real.append(gain)
        alone.append(extrapolated_gain(y[:m], factor=n / m).gain)
        seeded.append(extrapolated_gain(y[:m], factor=n / m, siblings=others).gain)
    return tuple(map(np.asarray, (real, alone, seeded)))


# Measured (median |error| alone, with the seeds; here without the train curve, the benchmark's
# numbers with it are in docs/analysis.md's round 19): sets held out from the prior; set 15 was made
# after round 19's freeze (its benchmark: 0.075 alone, 0.056 with the seeds).
# The median signed error moves away from zero on set 9 (-0.012 -> -0.055 here, -0.046 in the
# benchmark): the bias goal (+-0.03) is lost there.
@pytest.mark.parametrize(("configs", "alone", "seeded", "bias"), [
    (FRESH9, 0.1421, 0.1226, 0.06),
    (FRESH10, 0.1332, 0.0907, 0.03),
    (FRESH13, 0.1446, 0.1241, 0.03),
    (FRESH14, 0.1193, 0.0830, 0.03),
    (FRESH15, 0.0843, 0.0624, 0.03),
], ids=["fresh set 9", "fresh set 10", "fresh set 13", "fresh set 14", "fresh set 15"])
def test_the_seeds_first_halves_lower_the_forecasts_error(configs, alone, seeded, bias):
    real, own, with_seeds = _cut_at_half_with_seeds(configs)
    assert np.median(np.abs(own - real)) == pytest.approx(alone, abs=0.0005)  # unchanged by round 19
    assert np.median(np.abs(with_seeds - real)) == pytest.approx(seeded, abs=0.0005)
    assert abs(np.median(with_seeds - real)) <= bias
