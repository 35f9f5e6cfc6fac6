"""The diagnosis' vocabulary: the four labels, what to try for each, the thresholds, the result.

Shared by the per-curve rules (:mod:`tuning.analysis.curves`), the measures they read
(:mod:`tuning.analysis.shape`) and the config and study diagnosis (:mod:`tuning.analysis.diagnose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["GOOD_FIT", "LABELS", "OVERFIT", "SUGGESTIONS", "UNDERFIT", "UNSTABLE", "Diagnosis", "Thresholds"]

UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE = "underfit", "overfit", "good fit", "unstable"
LABELS = (UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE)

SUGGESTIONS = {
    "diverged": "lower the learning rate (e.g. /10), clip gradients (clipnorm) or check the inputs for extreme values",
    "erratic": "lower the learning rate or raise the batch size",
    "seeds": "lower the learning rate or raise the batch size, and run more seeds before trusting the ranking",
    "overfit": "regularise: dropout or recurrent dropout, early stopping (restore the best epoch), "
               "a smaller model or more training data",
    "few": "train for more epochs before judging the curves",
    "improving": "train for more epochs: the loss was still falling when training stopped",
    "flat": "the model is not learning: raise the learning rate, add capacity or check inputs and targets",
    "high": "add capacity (more units or layers) or train longer; try a higher learning rate",
    "high_stopped": "add capacity (more units or layers) or try a higher learning rate: early stopping ended the "
                    "run at this level, so more epochs alone did not help",
    "capacity": "add capacity (more units or layers) or train longer: another config of the study reached a much "
                "lower loss",
    "good": "nothing to fix; compare configs by their seed scores",
    "good_but_falling": "converged by its curve's shape, but its forecast (beside the label) says more epochs would "
                        "still lower the loss: train longer before trusting the ranking",
    "stopped_falling": "raise the early-stopping patience (or min_delta lower): the loss was still falling "
                       "when early stopping ended the run",
    "stopped": "nothing to fix: early stopping kept the best epoch; compare configs by their seed scores",
}


@dataclass(frozen=True)
class Thresholds:
    """When a curve counts as still improving, overfitting, flat, diverging or seed-dependent.

    Shares are of the curve's own improvement (its highest smoothed value before its minimum,
    minus that minimum), so they do not depend on the loss's scale. Defaults were chosen on the
    tuning half of a corpus of real fits and checked on the held-out half (docs/analysis.md).

    Attributes:
        min_epochs: fewer epochs than this cannot show a trend; such runs are labelled underfit
            ("too few epochs to judge"), since more epochs is the fix either way.
        tail_fraction: the end of training is the last 25 % of epochs (at least 3).
        significance: a trend, rise or fall counts only if it is this many standard errors of
            the curve's epoch-to-epoch noise.
        improving_share: still improving -> underfit when the slope over the tail, continued for
            as many epochs again as were run, would add this share of the improvement so far.
        overfit_rise: val loss at the end at least this fraction above its minimum ...
        overfit_range: ... with that rise or the val-train gap at least this share of the val
            curve's improvement (a rise invisible on a linear plot of the curve is not one) ...
        gap_growth: ... and the val/train ratio grown by this fraction since the val minimum ...
        train_fall: ... while the train loss did not rise by more than this share of its own
            improvement since the val minimum, nor (round 15) by more than this share of its level
            at the val minimum (if it did rise: unstable) ...
        rise_train_fall: ... and (round 18) fell since the val minimum by at least this share of
            its level then and by ``significance`` standard errors -> overfit; a train curve that
            did not (flat, or rising within ``train_fall``) under that rise and growth -> unstable:
            the gap grew by val alone, the model is not fitting its training data better.
        gap_ratio: val/train of 2 or more (and a visible share) with val stalled -> overfit.
        flat_change: the whole curve stays within 1 % of its maximum -> flat (not learning).
        erratic_noise, erratic_share: epoch-to-epoch noise of the train or val loss of at
            least 10 % of its level and 8 % of its improvement -> unstable (thrashing).
        diverge_rise: the train loss ends above its minimum by this share of its improvement
            or more -> unstable (the optimiser is not descending).
        stuck_loss, stuck_gain: a stalled val loss at 3x the naive baseline's or worse, which
            never improved by more than 25 % of its level -> unstable (a model that learnt
            nothing would do better: the weights were blown up). One that did improve and is
            still that high is underfit (``high_loss``).
        slow_fall: ... unless it never went up and fell by at least this share of its first
            epoch's value: a learner far too slow for its target's scale, not a broken one
            (round 7; a loss saturated flat to the digit is still stuck).
        seeds_ratio: seeds with different labels whose final val losses differ by this factor or
            more (never when all seeds have the same label: round 20), by more than their own noise explains
            and by ``seeds_share`` of what training improved -> unstable (config level).
        seeds_share: see ``seeds_ratio``.
        unstable_share: this share of a config's seeds unstable -> the config is unstable.
        high_loss: val loss at 0.9x the naive baseline's or worse -> underfit (baseline known).
        improving_gain, improving_visible: or still improving when another run as long would lower
            the current level by 10 % (extrapolated) and that drop is 5 % of the improvement.
        improving_significance: still improving needs the tail's fall at this many standard errors
            (round 4: 4, was ``significance``'s 3; three converged good fits of the development sets
            fell at 3.2-3.7 s.e.).
        wander_share, wander_noise, wander_epochs: a val loss at ``high_loss`` x the baseline or
            worse, not falling, whose epoch noise is >= 10 % of all it improved and >= 1 % of its
            level after >= 10 epochs -> unstable (round 4: the optimiser moves the weights without
            learning; Adam at lr 0.5 left cross-entropies at 1.05-1.1x the baseline like this). A
            learning rate too small is smooth there, and stays underfit. "Not falling" (round 11):
            a robust line through the second half of the run falls by less than ``significance``
            s.e. "All it improved" (round 16) counts from the first epoch the curve came within
            ``wander_settle`` x its level: the epochs before are an untrained or blown-up start.
        wander_settle: see ``wander_share``.
        capacity_ratio: a good fit still at its lowest whose level is this many times the lowest
            minimum another config of the study reached -> underfit (round 4, study level:
            :mod:`tuning.analysis.relative`).
        stall_val_fall, stall_train_fall, stall_gap_growth: overfit when over the second half of
            the run val fell < 20 % of its level while train fell >= 20 % (3 s.e.) and val/train
            grew >= 25 % (round 3: were 10 % and 30 %, tuned on the old corpus and the first fresh
            set). No overfitting reading fires while val ends at or below train (round 3).

    Changed from the first version: ``improving_drop`` (a fixed 5 % over the tail) became
    ``improving_share``; ``seeds_cv`` (std/mean of final scores) became ``seeds_ratio`` and
    ``seeds_share``; ``significance``, ``overfit_range``, ``gap_growth``, ``erratic_noise``,
    ``erratic_share``, ``stuck_loss``, ``stuck_gain`` and ``unstable_share`` are new; ``train_fall`` and
    ``diverge_rise`` are now shares of the train curve's improvement, not of its minimum;
    ``tail_fraction`` is 0.25 (was 0.2) and ``gap_ratio`` 2 (was 3).
    """

    min_epochs: int = 3
    tail_fraction: float = 0.25
    significance: float = 3.0
    improving_share: float = 0.2
    improving_significance: float = 4.0
    improving_gain: float = 0.1
    improving_visible: float = 0.05
    overfit_rise: float = 0.10
    overfit_range: float = 0.02
    gap_growth: float = 0.2
    train_fall: float = 0.1
    rise_train_fall: float = 0.02
    gap_ratio: float = 2.0
    stall_val_fall: float = 0.2
    stall_train_fall: float = 0.2
    stall_gap_growth: float = 0.25
    flat_change: float = 0.01
    erratic_noise: float = 0.1
    erratic_share: float = 0.08
    diverge_rise: float = 0.5
    stuck_loss: float = 3.0
    stuck_gain: float = 0.25
    slow_fall: float = 0.001
    seeds_ratio: float = 3.0
    seeds_share: float = 0.1
    unstable_share: float = 0.25
    high_loss: float = 0.9
    wander_share: float = 0.1
    wander_noise: float = 0.01
    wander_epochs: int = 10
    wander_settle: float = 3.0
    capacity_ratio: float = 2.0


@dataclass(frozen=True)
class Diagnosis:
    """A label, the numbers behind it (as text and as fields), and what to try next.

    Fractions are plain ratios (0.18 is 18 %); NaN or None where a number does not apply.
    ``best_epoch`` is 1-based (the minimum of the smoothed val curve, else train);
    ``tail_drop`` is how much the loss fell over the tail, as a share of its level there;
    ``still_improving`` is the tail slope continued for as many epochs again, as a share of the
    improvement so far; ``noise`` the epoch-to-epoch noise as a share of the level;
    ``gain_2x`` the extrapolated fall of the loss if trained twice as long (share of its level),
    ``gain_low``/``gain_high`` its 80 % interval, ``gain_epochs`` the epochs it adds (for a config:
    of its seed-mean curve over the epochs every seed ran, which may be fewer than ``epochs``);
    ``agreement`` the share of seeds whose own label is the config's.
    """

    label: str
    evidence: str
    suggestion: str
    epochs: int = 0
    best_epoch: int | None = None
    val_rise: float = math.nan
    train_fall: float = math.nan
    gap_ratio: float = math.nan
    tail_drop: float = math.nan
    still_improving: float = math.nan
    noise: float = math.nan
    gain_2x: float = math.nan
    gain_low: float = math.nan
    gain_high: float = math.nan
    gain_epochs: int | None = None   # the epochs the forecast adds: as many as its curve ran
    diverged_epoch: int | None = None
    skill: float = math.nan
    seeds: int = 1
    seeds_cv: float = math.nan
    agreement: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

