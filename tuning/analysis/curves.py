"""Label one learning curve underfit, overfit, good fit or unstable, with the numbers that say why.

A label alone invites arguing; a label with its evidence ("val loss lowest at epoch 42/100,
18 % higher by the end while train fell 30 %") can be checked against the plot in a second.

Every judgement is made against the curve's own scale and noise, never against a fixed
percentage or its minimum alone: a loss of 1e-4 and one of 10 get the same label for the same
shape, a training loss wobbling near zero is not "rising", and a validation curve with 5 %
epoch-to-epoch noise is not "still falling" because its last epochs happened to dip. The
measures (details and their validation in docs/analysis.md):

* **noise**: a robust epoch-to-epoch noise level (median absolute second difference), so that a
  trend, a rise or a fall counts only when it is several noise standard errors large;
* **level** and **minimum**: the median of the last epochs and the minimum of a running median,
  so that one noisy epoch cannot flip a label;
* **convergence** by shape: the slope over the last epochs (a line fitted there) as a share of
  the improvement made so far, per run length: "another run this long would still gain x".
  A saturating curve fitted to the loss extrapolates what twice the epochs would buy;
* **rises** judged both against the minimum level and against the curve's own range.

The rules, in the order they are tried (the first that fires wins):

1. a NaN/inf value -> unstable ("diverged at epoch k");
2. fewer than ``min_epochs`` epochs -> underfit ("too few epochs to judge");
3. the train loss blows up or thrashes: it ends far above its minimum, measured against what it
   had improved -> unstable;
4. the val loss stalls or rises while train keeps falling and the val/train gap widens, beyond
   the noise, val ending above train -> overfit, whether or not early stopping cut the run (with restored weights the
   curves are read up to the restored epoch: the patience epochs are what it stopped); a val rise
   that widened the gap under a train curve that did not keep falling -> unstable (round 18); a
   val curve that thrashes is read as such only after these (round 4: a small training set makes
   val noisy), and up to the restored epoch too (round 17);
5. the loss is still falling: the slope adds a share of the improvement so far, or the
   extrapolation (:func:`extrapolated_gain`) lowers the current level by ``improving_gain`` ->
   underfit (early-stopped runs too: the fix is more patience); a val loss near the naive
   baseline's that only wanders (round 4) -> unstable; flat, or close to the naive baseline ->
   underfit;
6. otherwise good fit.

A config's label comes from its seeds (:func:`tuning.analysis.diagnose.diagnose_config`), and a
good fit that another config of the study beat by far is underfit (:mod:`tuning.analysis.relative`).
Curves are losses (lower is better, not negative): a score or a negative curve is refused in
one line (``ValueError``). Nothing here imports TensorFlow: reading a
study's curves must work where no backend is installed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuning.analysis.extrapolation import NO_GAIN, extrapolated_gain
from tuning.analysis.labels import GOOD_FIT, OVERFIT, SUGGESTIONS, UNDERFIT, UNSTABLE, Diagnosis, Thresholds
from tuning.analysis.shape import as_array, check_loss, curve_shape, median_window, pct, se_text

__all__ = ["diagnose_curve"]


def diagnose_curve(train: list[float] | None, val: list[float] | None = None, thresholds: Thresholds = Thresholds(),
                   baseline: float | None = None, *, name: str = "loss", max_epochs: int | None = None,
                   patience: int | None = None, restored: bool = True, extrapolate: bool = True) -> Diagnosis:
    """Diagnose one run from its per-epoch train and validation losses.

    Args:
        train: training loss per epoch (may be empty when only validation was logged).
        val: validation loss per epoch; without it overfitting cannot be judged and the train
            curve stands in for the checks of improvement.
        thresholds: see :class:`Thresholds`.
        baseline: the naive baseline's validation loss on the same split, when comparable.
        name: the curve's name in the evidence ("loss", "mae" ...).
        max_epochs: epochs asked for; a shorter run is reported as stopped early.
        patience: the run had early stopping with this patience; with ``restored`` (Keras's
            ``restore_best_weights``) the model kept is the best epoch's, so the epochs after it
            are not evidence of overfitting.
        extrapolate: quote what twice the epochs would buy (:func:`extrapolated_gain`) in the
            evidence and the ``gain_*`` fields; the still-falling rule reads it either way.

    Raises:
        ValueError: both curves are empty (a fit that failed before its first epoch), or they are
            not losses (negative values, or ``name`` is a score such as accuracy): one line.
    """
    th = thresholds
    t, v = as_array(train), as_array(val)
    if len(t) and len(v) and len(t) != len(v):  # Keras logs both every epoch; be lenient anyway
        t, v = t[: min(len(t), len(v))], v[: min(len(t), len(v))]
    n = max(len(t), len(v))
    if n == 0:
        raise ValueError("no epochs to diagnose: both curves are empty")
    check_loss(name, t, v)
    bad = [(int(i), side, curve[i]) for curve, side in ((t, "train"), (v, "val")) for i in np.flatnonzero(~np.isfinite(curve))]
    if bad:
        first, side, value = min(bad, key=lambda b: b[0])
        return Diagnosis(UNSTABLE, f"diverged at epoch {first + 1} of {max(max_epochs or n, n)} ({side} {name} {value})",
                         SUGGESTIONS["diverged"], epochs=n, diverged_epoch=first + 1)
    if n < th.min_epochs:
        return Diagnosis(UNDERFIT, f"{n} epoch{'s' if n > 1 else ''}: too few to judge a trend (need >= {th.min_epochs})",
                         SUGGESTIONS["few"], epochs=n)
    main, main_name = (v, f"val {name}") if len(v) else (t, f"train {name}")
    m = curve_shape(main, th)
    tr = curve_shape(t, th) if len(t) else None
    stopped = bool(max_epochs and n < max_epochs)
    kept_best = bool(patience is not None and restored)
    fields: dict[str, Any] = dict(epochs=n, best_epoch=m.best + 1, tail_drop=-m.slope * (m.k - 1) / max(m.level, 1e-300),
                                  still_improving=m.still_improving, noise=m.noise / max(m.level, 1e-300))
    gap_text = ""
    if len(v):
        fields["val_rise"] = m.rise / max(m.minimum, 1e-300)
    if tr is not None and len(v):
        train_then = float(tr.smooth[m.best])  # train at the val minimum
        fields["train_fall"] = (train_then - tr.level) / max(abs(train_then), 1e-300)
        gap = m.level / tr.level if tr.level > 0 else math.inf
        fields["gap_ratio"] = gap
        gap_text = f"; gap {gap:.1f}x train" if gap < 100 else f"; gap {gap:,.0f}x train"
    skill = math.nan
    if baseline and baseline > 0 and len(v):
        skill = 1 - m.level / baseline
        fields["skill"] = skill
    if stopped and patience is not None:
        stop_text = f"; stopped at epoch {n} (best {n - patience}) of {max_epochs}"
    elif stopped:
        stop_text = f"; stopped early after {n} of {max_epochs} epochs"
    else:
        stop_text = ""
    last = f"the last {m.k} epochs"
    level = f"{m.level:.3g} (median of the last {m.k} of {n} epochs)"
    noise_text = f"noise {pct(fields['noise'])} per epoch"
    gain = extrapolated_gain(main, train=t if len(v) and len(t) else None) if extrapolate else NO_GAIN
    fields.update(gain_2x=gain.gain, gain_low=gain.low, gain_high=gain.high,
                  gain_epochs=gain.epochs if math.isfinite(gain.gain) else None)

    def result(label: str, evidence: str, suggestion: str) -> Diagnosis:
        return Diagnosis(label, evidence + stop_text, SUGGESTIONS[suggestion], **fields)

    significant = th.significance

    def thrashing(curve, side: str) -> Diagnosis:
        return result(UNSTABLE, f"{side} {name} jumps {pct(curve.noise / curve.level)} epoch to epoch "
                                f"({pct(curve.share(curve.noise))} of all it improved): the optimiser thrashes", "erratic")

    if tr is not None and tr.erratic(th):
        return thrashing(tr, "train")
    # A noisy val curve under a smooth train curve may be overfitting (round 4): its overfitting
    # readings are tried before val's thrashing is.
    val_erratic = bool(len(v)) and m.erratic(th)
    if val_erratic and (tr is None or not len(v)):
        return thrashing(m, "val")
    if tr is not None:
        t_rise = tr.share(tr.rise)
        if t_rise >= th.diverge_rise and tr.rise_z() >= significant:
            return result(UNSTABLE, f"train {name} ends at {tr.level:.3g}, {t_rise:.1f}x its improvement above its "
                                    f"minimum {tr.minimum:.3g} (epoch {tr.best + 1}/{n}): the optimiser is not descending",
                          "erratic")
    if len(v):
        # Overfitting is read off the curves the kept model saw: with early stopping that restored
        # the best epoch, the epochs up to it (the patience epochs after it are what it stopped).
        cut = n - patience if kept_best and stopped and patience else n
        judged = cut if cut >= max(th.min_epochs, 8) and cut < n else n
        found = _overfit(t[:judged], v[:judged], th, name, judged < n) if tr is not None else None
        if found is not None:
            return result(found[0], found[1], "overfit" if found[0] == OVERFIT else "erratic")
        if tr is None and judged == n and m.rise >= th.overfit_rise * m.minimum and m.rise_z() >= significant \
                and m.share(m.rise) >= th.overfit_range:
            return result(OVERFIT, f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                                   f"{pct(fields['val_rise'])} higher over {last} (no train curve logged)", "overfit")
        if tr is not None:
            rose_too = m.rise >= th.overfit_rise * m.minimum and m.rise_z() >= significant and \
                _train_rise(tr, train_then) > th.train_fall and judged == n
            if rose_too and m.share(m.rise) >= th.overfit_range:
                rise = tr.level - train_then
                of = (f"{pct(tr.share(rise))} of its improvement" if tr.share(rise) > th.train_fall else
                      f"{pct(rise / max(abs(train_then), 1e-300))} of its level then")
                return result(UNSTABLE, f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                                        f"{pct(fields['val_rise'])} higher over {last} while train rose too "
                                        f"({of}): erratic, not overfitting", "erratic")
    if val_erratic:
        # Like overfitting, val's thrashing is read off the epochs the kept model saw (round 17):
        # the patience epochs after a restored best epoch are what early stopping cut, and a small
        # val set makes those noisy without the optimiser thrashing up to the epoch kept.
        kept = curve_shape(v[:judged], th) if judged < n else m
        if kept.erratic(th):
            return result(UNSTABLE, f"val {name} jumps {pct(kept.noise / kept.level)} epoch to epoch "
                                    f"({pct(kept.share(kept.noise))} of all it improved"
                                    f"{' up to the epoch early stopping restored' if judged < n else ''}): "
                                    "the optimiser thrashes", "erratic")
    versus = f"; {1 - skill:.3g}x the naive baseline ({baseline:.3g})" if math.isfinite(skill) else ""
    falling = m.falling >= th.improving_significance
    more = f"; {gain.text()}" if math.isfinite(gain.gain) else ""
    # More to gain: the slope continued would add a share of the improvement so far, or the
    # extrapolation lowers the current level by a share of it that is also visible on the curve.
    # The forecast is read only where it can decide (a curve falling, but by its slope alone not
    # enough): fitting its curve families is most of what a study's diagnosis costs.
    def forecast_decides() -> bool:
        now = gain if math.isfinite(gain.gain) or extrapolate else extrapolated_gain(main, train=t if len(v) and len(t) else None)
        visible = now.gain * m.level / max(m.improvement, m.noise, 1e-300) if math.isfinite(now.gain) else 0.0
        return now.gain >= th.improving_gain and visible >= th.improving_visible

    improving = falling and (m.still_improving >= th.improving_share or forecast_decides())
    if improving:
        why = "improving" if not stopped else "stopped_falling"
        measured = (f"{se_text(m.falling)} over {last}, {noise_text}" if n >= 8 else
                    f"over its {n} epochs, too few to measure its noise")  # under 8 the noise is the whole run's
        if math.isfinite(gain.gain) and gain.gain < 0:  # the slope says falling, the forecast a rise: say both
            more = f"; its forecast, though, sees it level off: {gain.text()}"
        return result(UNDERFIT, f"{main_name} still falling at the end ({measured}){more}{versus}", why)
    # A val curve that never went up and fell visibly (a saturated one stays put to the digit) is
    # a slow learner, however slow, not a broken one (round 7).
    slow_learner = not m.rises and main[-1] < (1 - th.slow_fall) * main[0]
    if math.isfinite(skill) and 1 - skill >= th.stuck_loss and m.improvement < th.stuck_gain * m.level \
            and not slow_learner:
        return result(UNSTABLE, f"{main_name} {level} is stuck at {1 - skill:.3g}x the naive baseline's ({baseline:.3g}) "
                                f"after improving {pct(m.improvement / m.level)} of that level in all: worse than a "
                                "model that learnt nothing; the optimiser likely blew the weights up", "diverged")
    if math.isfinite(skill) and 1 - skill >= th.high_loss and n >= th.wander_epochs and m.noise >= th.wander_noise * m.level \
            and _wander_share(m, th) >= th.wander_share and not m.falling_late(th):
        return result(UNSTABLE, f"{main_name} {level} wanders at {1 - skill:.3g}x the naive baseline's ({baseline:.3g}): "
                                f"its epoch noise ({pct(m.noise / m.level)} per epoch) is {pct(_wander_share(m, th))} of all "
                                f"it improved once within {th.wander_settle:g}x that level, so the optimiser is moving the "
                                "weights without learning", "erratic")
    change = (float(m.smooth.max()) - float(m.smooth.min())) / max(abs(float(m.smooth.max())), 1e-12)
    if change < th.flat_change and not (math.isfinite(skill) and 1 - skill < th.high_loss):
        return result(UNDERFIT, f"{main_name} flat: within {pct(change)} over {n} epochs "
                                f"({main[0]:.3g} -> {main[-1]:.3g}){versus}", "flat")
    if math.isfinite(skill) and 1 - skill >= th.high_loss:
        return result(UNDERFIT, f"{main_name} {level} is {1 - skill:.3g}x the naive baseline's ({baseline:.3g}){more}",
                      "high_stopped" if stopped and patience is not None else "high")
    converged = f"converged ({noise_text})" if not falling else f"still falling but slowly ({se_text(m.falling)}, {noise_text})"
    return result(GOOD_FIT, f"{main_name} {level}, {pct(fields.get('val_rise', m.rise / max(m.minimum, 1e-300)))} "
                            f"above its minimum at epoch {m.best + 1}; {converged}{more}{gap_text}{versus}",
                  "stopped" if kept_best and stopped else "good")


def _wander_share(m, th: Thresholds) -> float:
    """The val curve's epoch noise as a share of what it improved once within ``wander_settle`` x its
    level (round 16): a start the optimiser blew up and brought down in a few epochs is not learning
    the noise can be set against (:meth:`tuning.analysis.shape.Shape.improvement_within`)."""
    return m.noise / max(m.improvement_within(th.wander_settle), m.noise, 1e-12 * max(abs(m.level), 1e-300))


def _train_rise(tr, train_then: float) -> float:
    """How far the train loss rose from ``train_then`` (its level at the val minimum) to its level now.

    As a share of the train curve's improvement, or of ``train_then`` itself when that is larger
    (round 15). The improvement alone lets a first epoch the optimiser blew up (train 1,540, then
    0.56) hide a later rise: train going from 0.56 to 1.4 while val rose is 7 % of that
    improvement but 150 % of its level, and a model whose training loss rose that much is not
    fitting its training data better; overfitting needs train to keep falling.
    """
    rise = tr.level - train_then
    return max(tr.share(rise), rise / max(abs(train_then), 1e-300))


def _overfit(t: np.ndarray, v: np.ndarray, th: Thresholds, name: str, cut: bool) -> tuple[str, str] | None:
    """(OVERFIT, evidence) when val stalled or rose while train kept falling and the gap widened, else None.

    Three readings, each beyond the curves' noise: val rose from a minimum reached before the
    tail (``overfit_rise``) while train fell (round 18: by ``rise_train_fall`` of its level and by
    ``significance`` s.e.) and val/train grew; the same rise and growth under a train curve that
    did not keep falling is (UNSTABLE, evidence): the gap grew by val alone; val stalled over the second half
    of the run (fell less than ``stall_val_fall`` of its level) while train fell
    ``stall_train_fall`` of its level and val/train grew ``stall_gap_growth``; val no longer
    falling at ``gap_ratio`` x train. ``cut``: these are the epochs up to the one early stopping
    restored.
    """
    n = len(v)
    m, tr = curve_shape(v, th), curve_shape(t, th)
    significant = th.significance
    upto = " (up to the epoch early stopping restored)" if cut else ""
    last = f"the last {m.k} epochs"
    gap = m.level / tr.level if tr.level > 0 else math.inf
    gap_text = f"; gap {gap:.1f}x train" if gap < 100 else f"; gap {gap:,.0f}x train"
    gap_share = m.share(m.level - tr.level)
    visible = max(m.share(m.rise), gap_share) >= th.overfit_range
    train_then = float(tr.smooth[m.best])
    if gap <= 1:  # val at or below train: whatever its shape, the model does not fit train better than val
        return None
    if m.rise >= th.overfit_rise * m.minimum and visible and m.rise_z() >= significant:
        growth = (m.level / max(tr.level, 1e-300)) / (m.minimum / max(train_then, 1e-300)) - 1
        if _train_rise(tr, train_then) <= th.train_fall and growth >= th.gap_growth:
            fall = (train_then - tr.level) / max(abs(train_then), 1e-300)
            rose = (f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                    f"{pct(m.rise / max(m.minimum, 1e-300))} higher over {last} while train ")
            z = tr.change_z(train_then - tr.level)  # train's fall since the val minimum
            if fall >= th.rise_train_fall and z >= significant:
                return OVERFIT, f"{rose}fell {pct(fall)}: the val/train gap grew {pct(growth)}{gap_text}{upto}"
            # Round 18: overfitting is val rising while the model fits its training data better. A
            # train curve flat (or rising a little) under a val rise widens the gap by val alone.
            moved = f"fell only {pct(fall)} ({se_text(z)})" if fall >= 0 else f"rose {pct(-fall)}"
            return UNSTABLE, (f"{rose}{moved}: the val/train gap grew {pct(growth)} by val alone"
                              f"{gap_text}{upto}: erratic, not overfitting")
    if n >= 8 and gap_share >= th.overfit_range:
        h = n // 2
        v0, t0 = float(m.smooth[h]), float(tr.smooth[h])
        if v0 > 0 and t0 > 0 and tr.level > 0:
            val_fall = 1 - m.level / v0
            train_fall = 1 - tr.level / t0
            growth = (m.level / tr.level) / (v0 / t0) - 1
            train_z = (t0 - tr.level) / max(tr.noise * math.sqrt(1 / tr.k + 1 / median_window(n)), 1e-300)
            if (val_fall < th.stall_val_fall and train_fall >= th.stall_train_fall and growth >= th.stall_gap_growth
                    and train_z >= significant):
                trend = f"rose {pct(-val_fall)}" if val_fall < 0 else f"fell only {pct(val_fall)}"
                return OVERFIT, (f"val {name} stalled over the last {n - h} of {n} epochs (it {trend}) while train fell "
                                 f"{pct(train_fall)}: the val/train gap grew {pct(growth)}{gap_text}{upto}")
    if gap >= th.gap_ratio and gap_share >= th.overfit_range and m.falling < significant:
        trend = f"rising {se_text(-m.falling)}" if m.falling <= -significant else f"flat within noise, {se_text(m.falling)}"
        return OVERFIT, f"val {name} no longer falling over {last} ({trend}) at {gap:.1f}x the train {name}{upto}"
    return None

