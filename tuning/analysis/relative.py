"""A config read against the rest of its study: a "good fit" that other configs beat by far is
underfit, and "lower the learning rate" is not said where the study's lower rates did worse.

A model too small to go further flattens early, and its curve looks exactly like a converged
one: on the development sets no measure of a single curve told the 3- and 4-cell models from the
good fits (docs/analysis.md, rounds 3 and 4). What shows it is the study: another config on the
same data and loss reached a val loss several times lower. So a config (or a fit) labelled good
fit whose val loss is still at its lowest at the end (it has not turned up: not overfitting) and
whose level is ``capacity_ratio`` times the lowest minimum another config's seed-mean curve reached
is relabelled underfit, naming that config.

:func:`study_minima` finds, for every config, the lowest minimum of the *other* configs;
:func:`against_study` applies the rule to one diagnosis. ``diagnose_study`` and the benchmark's
scorer call both, so the report and the measured agreement come from the same code.

An unstable run is told to lower its learning rate. When the study itself tried a lower rate on
the same config otherwise and that scored worse (a lower rate also learns more slowly, so within
the same epochs it can lose), the advice says so instead of sending the user back to what the
study already shows worse, nor, at the lowest rate tried, when a higher one did better
(:func:`other_rates` and :func:`advise_against_study`; the label is unchanged).

An underfit whose objective is an accuracy or AUC already within 1 % of 1 keeps its label (its loss
is still falling) but its advice says what more epochs would buy: surer predictions, hardly a
better score (:func:`advise_near_ceiling`; a user was told "train for more epochs" at 99.5 %).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from tuning.analysis.labels import GOOD_FIT, SUGGESTIONS, UNDERFIT, Diagnosis, Thresholds
from tuning.analysis.shape import as_array, curve_shape

__all__ = ["advise_against_study", "advise_near_ceiling", "against_study", "other_rates", "study_minima"]

#: An objective on [0, 1], maximized, at least this close to 1 has no room left worth more epochs.
CEILING_ROOM = 0.01

#: The suggestions that ask for a lower learning rate first (:data:`SUGGESTIONS`' "erratic", "seeds", "diverged").
LOWER_RATE = ("erratic", "seeds", "diverged")


class OtherRate(NamedTuple):
    """A config of the study that differs from another only by its learning rate."""

    learning_rate: float
    mean: float           # its mean objective over its finished seeds
    against: float        # the other config's mean
    better: bool          # whether ``mean`` is better than ``against``
    lower: bool           # whether its learning rate is the lower one


def other_rates(fits: Any, metric: str, direction: str) -> dict[Hashable, list[OtherRate]]:
    """For each config, the study's configs equal to it but for their ``learning_rate``.

    ``fits`` is a study's fits frame (``config_key``, ``status``, ``param_*`` and ``metric``
    columns); only finished fits count. A study that does not vary the learning rate gets nothing.
    """
    if fits is None or fits.empty or "param_learning_rate" not in fits or metric not in fits:
        return {}
    done = fits[(fits["status"] == "ok") & fits[metric].notna()]
    others = [c for c in done.columns if c.startswith("param_") and c != "param_learning_rate"]
    configs = {}
    for key, group in done.groupby("config_key", sort=False):
        first = group.iloc[0]
        rate = first["param_learning_rate"]
        if rate is None or rate != rate:
            continue
        rest = tuple(None if (v is None or v != v) else str(v) for v in (first[c] for c in others))
        configs[key] = (float(rate), rest, float(group[metric].mean()))
    sign = -1.0 if direction == "maximize" else 1.0
    found: dict[Hashable, list[OtherRate]] = {}
    for key, (rate, rest, mean) in configs.items():
        rates = [OtherRate(r, m, mean, sign * m < sign * mean, r < rate) for other, (r, o, m) in configs.items()
                 if other != key and o == rest and r != rate]
        if rates:
            found[key] = sorted(rates)
    return found


def advise_against_study(found: Diagnosis, rates: list[OtherRate] | None, *, metric: str) -> Diagnosis:
    """``found`` with its "lower the learning rate" advice read against the study's other rates.

    Only the advice changes, and only when it asks for a lower rate and the study tried another
    rate on the same config otherwise. A lower rate tried: worse, the advice names it and the epochs
    it would need; better, it names the rate to prefer. Only higher rates tried, and one of them
    better: lowering the rate further goes against what the study shows, and the advice says so.
    """
    if not rates or found.suggestion not in (SUGGESTIONS[k] for k in LOWER_RATE):
        return found
    lower = [r for r in rates if r.lower]
    shown = [r for r in lower if r.better] or lower or [r for r in rates if r.better]
    if not shown:  # only higher rates, none better: the study does not speak against a lower one
        return found
    names = ", ".join(f"{r.learning_rate:g}" for r in shown)
    scores = f"mean {metric} {', '.join(f'{r.mean:.4g}' for r in shown)} against {shown[0].against:.4g} here"
    if not lower:
        advice = (f"the study's higher learning rate {names} scored better ({scores}): a lower rate is not what "
                  "this config needs; read its seeds' curves (a noisy or slow start can look like this)")
    elif shown[0].better:
        advice = f"the study's lower learning rate {names} scored better ({scores}): prefer it; {found.suggestion}"
    else:
        advice = (f"the study's lower learning rate {names} scored worse ({scores}): a lower rate learns more "
                  "slowly, so give it more epochs, or raise the batch size instead")
    return replace(found, suggestion=advice)


def advise_near_ceiling(found: Diagnosis, scores: list[float], *, metric: str, direction: str) -> Diagnosis:
    """``found`` with its "train longer" advice qualified when ``metric`` (an accuracy or AUC,
    maximized) is within :data:`CEILING_ROOM` of 1 on the mean of ``scores``.

    Only an underfit's advice changes: the loss still falling is what the label says, and it is
    true, but the score it would move has almost nothing left to gain, so "train for more epochs"
    alone sends the user after a gain the metric cannot show.
    """
    from tuning.objective import metric_range

    finite = [s for s in scores if math.isfinite(s)]
    if found.label != UNDERFIT or direction != "maximize" or metric_range(metric) != (0.0, 1.0) or not finite:
        return found
    mean = float(np.mean(finite))
    if mean < 1.0 - CEILING_ROOM:
        return found
    where = "its best possible" if mean >= 1.0 else f"within {1.0 - mean:.2g} of its best possible 1"
    advice = (f"{metric} is already {mean:.4g}, {where}: more epochs would "
              f"lower the loss (surer predictions) but can hardly raise {metric}; train longer only if the loss "
              "itself matters")
    return replace(found, suggestion=advice)


def study_minima(mean_curves: dict[Hashable, Any], thresholds: Thresholds = Thresholds()) -> dict[Hashable, tuple[float, Hashable]]:
    """For each config, (the lowest smoothed minimum among the other configs' curves, that config).

    ``mean_curves`` maps a config to its seed-mean val curve (configs on the same data and loss
    only: a study's). Curves with a non-finite value or fewer than ``min_epochs`` epochs take no
    part. A config alone gets nothing.
    """
    minima: dict[Hashable, float] = {}
    for key, values in mean_curves.items():
        y = as_array(values)
        if len(y) >= thresholds.min_epochs and np.all(np.isfinite(y)):
            minima[key] = curve_shape(y, thresholds).minimum
    found = {}
    for key in mean_curves:
        others = [(value, other) for other, value in minima.items() if other != key and value > 0]
        if others:
            found[key] = min(others, key=lambda pair: pair[0])
    return found


def against_study(found: Diagnosis, val: Any, reference: tuple[float, Hashable] | None,
                  thresholds: Thresholds = Thresholds(), *, name: str = "loss") -> Diagnosis:
    """``found`` relabelled underfit when another config of the study reached ``capacity_ratio`` x lower.

    Only a good fit changes, and only when its val curve is still at its lowest over the last
    epochs (its smoothed minimum inside the tail): a curve that has turned up is not short of
    capacity. ``reference`` is :func:`study_minima`'s entry for the config.
    """
    if found.label != GOOD_FIT or reference is None:
        return found
    y = as_array(val)
    if len(y) < thresholds.min_epochs or not np.all(np.isfinite(y)):
        return found
    shape = curve_shape(y, thresholds)
    lowest, other = reference
    ratio = shape.level / lowest if lowest > 0 else math.nan
    if not (shape.best >= shape.n - shape.k and math.isfinite(ratio) and ratio >= thresholds.capacity_ratio):
        return found
    evidence = (f"val {name} {shape.level:.3g} is still at its lowest at the end, but config {other} of the same "
                f"study reached {lowest:.3g} ({ratio:.1f}x lower): a model that stops this far above what the "
                f"problem allows is too small or trained too little; {found.evidence}")
    return replace(found, label=UNDERFIT, evidence=evidence, suggestion=SUGGESTIONS["capacity"])
