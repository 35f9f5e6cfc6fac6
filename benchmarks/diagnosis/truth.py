"""Plain definitions of the four regimes, to check that a labelled case did what it was built for.

Issue 22, round 6. A case's label is its construction (a learning rate 100x too small is built to
underfit), and constructions miss: in fresh set 4, two of the six "overfit" configs never overfit
in 150 epochs, and a "good fit" on a noise-like series ended barely better than the naive
baseline. Scoring the diagnosis against such a label measures the construction as much as the
diagnosis. Round 5's advice was to make the truth firmer before scoring again; this module is that.

Each definition says whether one fit shows the regime its case claims, in the words a practitioner
would use, with round numbers fixed in this file before any curve of fresh set 5 existed (the
commit that adds it comes before ``fresh5_cases.py`` is fitted). Round 7 (after set 5 was scored,
before set 6 existed) judged the good fits on medians of epochs rather than single noisy epochs,
and an early-stopped run by whether the epochs after its best carry a falling trend on. They are deliberately cruder than
``tuning.diagnose``: no noise model, no extrapolation, no study comparison, only the claimed label
is checked, and they import nothing from ``tuning``.

* **underfit**: still learning when the run ended, and with far to go. The validation minimum falls
  in the last tenth of the run and both losses fell over its last quarter; and either they fell
  there by at least 5 % of their level, or the best validation loss is still above 0.9 of the naive
  baseline, or above half of the first epoch's (a slow learner far from where it could be).
* **overfit**: training keeps improving while validation does not. Either the validation loss
  rose at least 10 % above its minimum, which came before the last tenth of the run, while the
  training loss fell at least 10 % after it; or the validation loss improved less than 2 % over
  the second half while the training loss fell at least 30 % and the validation/training ratio
  grew by at least half.
* **good fit**: settled. The best validation loss improved less than 5 % over the last quarter of
  the run and the median of its last three epochs is within 10 % of that best; or, when early
  stopping restored the best epoch, the epochs after it do not carry a falling trend on (the
  median of their second half is not 5 % below that of their first: early stopping found the
  minimum rather than a dip in the noise of a falling curve). In both, training did not fall
  another 10 % with the ratio growing up to the epoch that counts (that would be the stall above), and where the study has a
  naive baseline the loss that counts (the last, or the restored) is at most 0.8 of it: clearly
  better than naive, not in the 0.8-0.9 band where "the data allow no more" and "the model is too
  small" look alike.
* **unstable**: erratic or broken. A non-finite loss; or the validation loss jumping by half or
  more from one epoch to the next at least twice; or the training loss jumping by half or more at
  least once; or a training loss that ends at or above its first epoch; or, where there is a naive
  baseline, a validation loss never below 0.95 of it that is not still learning (by the underfit
  definition's first half): the optimiser broke the model rather than moved it slowly.

A fit is *confirmed* when the definition of its own label holds; a config when most of its seeds
are (3 of 4). ``score.py --confirmed`` scores only the confirmed fits and configs, and says how
many were left out.
"""

from __future__ import annotations

import math
from statistics import median

UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE = "underfit", "overfit", "good fit", "unstable"

#: The round numbers, frozen with this file (issue 22, round 6).
STILL_FALLING = 0.05  # underfit: both curves fell at least this share over the last quarter
ROSE = 0.10  # overfit: validation rose this much above its minimum ...
TRAIN_FELL = 0.10  # ... while training fell this much after it
STALLED = 0.02  # overfit (stall): validation improved less than this over the second half ...
TRAIN_FELL_STALL = 0.30  # ... while training fell this much
GAP_GREW = 1.5  # ... and the validation/training ratio grew by this factor
SETTLED = 0.05  # good fit: the best improved less than this over the last quarter
LEARNED = 0.9  # underfit: best above this share of the naive baseline is far from it
LEARNED_WELL = 0.8  # good fit: the loss that counts at most this share of the naive baseline
JUMP = 1.5  # unstable: a loss this many times its previous epoch's
FAR = 0.5  # underfit: best validation loss still above this share of the first epoch's
STUCK = 0.95  # unstable: never below this share of the naive baseline


def _finite(values: list[float]) -> bool:
    return bool(values) and all(v is not None and math.isfinite(v) for v in values)


def _quarter(n: int) -> int:
    return max(2, n // 4)


def _fell(values: list[float], start: int) -> float:
    """How much of its level the curve lost from ``start`` to its end (positive: it fell)."""
    return (values[start] - values[-1]) / abs(values[start]) if values[start] else 0.0


def _falling_at_the_end(train: list[float], val: list[float]) -> bool:
    """The validation minimum in the last tenth of the run, and both losses lower than a quarter ago."""
    n = len(val)
    if n < 4 or not (_finite(train) and _finite(val)):
        return False
    best = min(range(n), key=val.__getitem__)
    start = n - 1 - _quarter(n)
    return best >= n - 1 - max(1, n // 10) and _fell(val, start) > 0 and _fell(train, start) > 0


def still_learning(train: list[float], val: list[float], baseline: float | None = None) -> bool:
    if not _falling_at_the_end(train, val):
        return False
    n = len(val)
    start = n - 1 - _quarter(n)
    fast = _fell(val, start) >= STILL_FALLING and _fell(train, start) >= STILL_FALLING
    far_from_naive = baseline is not None and math.isfinite(baseline) and min(val) > LEARNED * baseline
    return fast or far_from_naive or min(val) > FAR * val[0]


def overfitting(train: list[float], val: list[float]) -> bool:
    n = len(val)
    if n < 8 or not (_finite(train) and _finite(val)) or min(train) <= 0:
        return False
    best = min(range(n), key=val.__getitem__)
    rising = val[-1] >= (1 + ROSE) * val[best] and best < n - 1 - max(1, n // 10) \
        and train[-1] <= (1 - TRAIN_FELL) * train[best]
    half = n // 2
    stalled = min(val[half:]) >= (1 - STALLED) * min(val[: half + 1]) \
        and train[-1] <= (1 - TRAIN_FELL_STALL) * train[half] \
        and val[-1] / train[-1] >= GAP_GREW * val[half] / train[half]
    return rising or stalled


def settled(train: list[float], val: list[float], *, max_epochs: int, patience: int | None = None,
            restored: bool = True, baseline: float | None = None) -> bool:
    n = len(val)
    if n < 4 or not (_finite(train) and _finite(val)):
        return False
    best = min(range(n), key=val.__getitem__)
    stopped = patience is not None and n < max_epochs
    end = best if stopped and restored else n - 1
    if end < 3:
        return False
    start = end - _quarter(end + 1)
    stall = min(train) > 0 and train[end] <= (1 - TRAIN_FELL) * train[start] \
        and val[end] / train[end] >= GAP_GREW * val[start] / train[start]
    learned = baseline is None or not math.isfinite(baseline) or val[end] <= LEARNED_WELL * baseline
    if stopped and restored:
        # Early stopping found the minimum if the epochs after it do not carry a falling trend on:
        # the median of their second half is not 5 % below that of their first (round 7).
        after = val[best + 1:]
        flattened = len(after) >= 4 and median(after[len(after) // 2:]) >= (1 - SETTLED) * median(after[: len(after) // 2])
        return flattened and not stall and learned
    improved = (min(val[: start + 1]) - val[best]) / abs(val[best]) if val[best] else 0.0
    climbed = median(val[-3:]) > (1 + ROSE) * val[best]
    return improved < SETTLED and not climbed and not stall and learned


def erratic(train: list[float], val: list[float], baseline: float | None = None) -> bool:
    if not (_finite(train) and _finite(val)):
        return True
    jumps = sum(1 for a, b in zip(val, val[1:], strict=False) if a > 0 and b >= JUMP * a)
    train_jumps = sum(1 for a, b in zip(train, train[1:], strict=False) if a > 0 and b >= JUMP * a)
    stuck = baseline is not None and math.isfinite(baseline) and baseline > 0 and min(val) >= STUCK * baseline \
        and not _falling_at_the_end(train, val)
    return jumps >= 2 or train_jumps >= 1 or (len(train) > 1 and train[-1] >= train[0]) or stuck


def shows(label: str, train: list[float], val: list[float], *, max_epochs: int, patience: int | None = None,
          restored: bool = True, baseline: float | None = None) -> bool:
    """Whether one fit's curves show ``label`` by the plain definitions above."""
    if label == UNDERFIT:
        return still_learning(train, val, baseline)
    if label == OVERFIT:
        return overfitting(train, val)
    if label == GOOD_FIT:
        return settled(train, val, max_epochs=max_epochs, patience=patience, restored=restored, baseline=baseline)
    if label == UNSTABLE:
        return erratic(train, val, baseline)
    raise ValueError(f"unknown label {label!r}")


def confirmed_config(fits_confirmed: list[bool]) -> bool:
    """A config is confirmed when most of its seeds are (3 of 4)."""
    return bool(fits_confirmed) and sum(fits_confirmed) > len(fits_confirmed) / 2


def _curve(values: list) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def confirmations(config: dict) -> dict[int, bool]:
    """Seed -> whether the fit shows its own truth, for one config of a corpus file
    (``tests/data/diagnosis_*.json``: its curves, epochs asked, early stopping, naive baseline)."""
    baseline = None if config.get("loss") else config["baseline_val_loss"]  # the baseline is in the problem's loss
    restored = config["restore_best_weights"] if config["patience"] is not None else True
    return {f["seed"]: shows(f["truth"], _curve(f["train"]), _curve(f["val"]), max_epochs=config["max_epochs"],
                             patience=config["patience"], restored=restored, baseline=baseline)
            for f in config["fits"]}
