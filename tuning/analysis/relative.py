"""A config read against the rest of its study: a "good fit" that other configs beat by far is underfit.

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
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import numpy as np

from tuning.analysis.labels import GOOD_FIT, SUGGESTIONS, UNDERFIT, Diagnosis, Thresholds
from tuning.analysis.shape import as_array, curve_shape

__all__ = ["against_study", "study_minima"]


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
