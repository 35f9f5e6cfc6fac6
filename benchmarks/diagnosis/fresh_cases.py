"""The fresh held-out set of issue 22: new real fits, made after the method was frozen (commit a9567c7).

Nothing here was fitted or looked at before the diagnosis' thresholds and extrapolation were
committed. The set differs from the old corpus (``cases.py``) in its seeds (base seed 1000), its
problems' parameters and data seeds, and its loss scales: binary cross-entropy (``cumsum`` with 12
steps), multiclass cross-entropy (``echo`` with 6-8 symbols of 8-16, ``addition`` of two terms),
MAE regression (``damped_sine`` with 20 steps, MAE loss), the bundled monthly CSV series
(``tuning/data/example_series.csv``, differenced) and a generated CSV series (two sines and noise,
written by ``make_fresh.py``), and ``two_sine`` (MSE).

Each config's label is its construction, fixed here before fitting, and every seed shares it:

* underfit: a learning rate 30-300x below Adam's default (1e-5-3e-5) for 12-30 epochs, or 5-15
  epochs, or 2-4 cells: far from what the same problem reaches with a normal learning rate;
* overfit: a model of 2x48-2x64 cells (or 48 cells) on 30-120 training samples, trained 120-200
  epochs with nothing to stop it, validated on 3-10x more samples;
* good fit: 16-24 cells on 1000-1500 training samples (most of the data), enough epochs, most
  with early stopping (restored weights) so the run ends when val stops improving;
* unstable: plain SGD at lr 3-10 or Adam at lr 0.5-0.8: steps far beyond what the loss surface
  allows.

The models are small on purpose (the fits share two cores with other work).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 1000}


case = partial(labelled_case, seeds=SEEDS, prefix="fresh")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 1200, "n_val": 300, "n_test": 10, "seed": 11}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 30, "n_val": 300, "n_test": 10, "seed": 11}}
ECHO = {"name": "echo", "params": {"length": 6, "n_features": 8, "out_index": 3, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 11}}
ECHO_SMALL = {"name": "echo", "params": {"length": 8, "n_features": 16, "out_index": 2, "n_train": 50, "n_val": 300,
                                         "n_test": 10, "seed": 11}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 20, "n_train": 800, "n_val": 200, "n_test": 10,
                                           "seed": 11}}
DAMPED = {"name": "damped_sine", "params": {"length": 20, "horizon": 3, "n_train": 1000, "n_val": 300, "n_test": 10,
                                            "seed": 11}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 170, "n_steps": 25, "seed": 11}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 1500, "n_steps": 25, "seed": 11}}
MONTHLY = {"name": "csv", "params": {"path": "{bundled}", "look_back": 12, "difference": 1,
                                     "train_fraction": 0.7, "val_fraction": 0.2}}
SERIES = csv("fresh_series.csv", look_back=16, train_fraction=0.75, val_fraction=0.2)
SERIES_SMALL = csv("fresh_series.csv", look_back=16, train_fraction=0.06, val_fraction=0.5)

FRESH = [
    # --- underfit ---------------------------------------------------------------------------------
    case("cumsum-tiny-lr", UNDERFIT, "binary CE, lr 1e-5 for 20 epochs", CUMSUM, lstm(8, learning_rate=1e-5),
         {"epochs": 20, "batch_size": 32}),
    case("echo-few-epochs", UNDERFIT, "multiclass CE, 4 cells at lr 3e-4 for 12 epochs", ECHO,
         lstm(4, learning_rate=3e-4), {"epochs": 12, "batch_size": 32}),
    case("addition-5-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 16 for 5 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 16}, {"epochs": 5, "batch_size": 32}),
    case("damped-mae-tiny-lr", UNDERFIT, "MAE, lr 3e-5 for 25 epochs", DAMPED, lstm(8, learning_rate=3e-5),
         {"epochs": 25, "batch_size": 32}),
    case("two-sine-4-cells", UNDERFIT, "MSE, 4 cells, 15 epochs (the issue's tiny model)", TWO_SINE,
         lstm(4, learning_rate=1e-3), {"epochs": 15, "batch_size": 32}),
    case("monthly-tiny-lr", UNDERFIT, "bundled monthly series, lr 1e-5 for 30 epochs", MONTHLY,
         lstm(8, learning_rate=1e-5), {"epochs": 30, "batch_size": 8}),
    # --- overfit ----------------------------------------------------------------------------------
    case("cumsum-small-2x64", OVERFIT, "binary CE, 2x64 LSTM on 30 sequences, 150 epochs", CUMSUM_SMALL,
         stacked(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("echo-small-2x64", OVERFIT, "multiclass CE, 2x64 LSTM on 50 sequences, 150 epochs", ECHO_SMALL,
         stacked(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("two-sine-stalled", OVERFIT, "MSE, 48 cells on 120 noisy series, 120 epochs (the issue's stalled val)",
         TWO_SINE_SMALL, lstm(48, learning_rate=3e-3), {"epochs": 120, "batch_size": 8}),
    case("series-small-2x48", OVERFIT, "generated noisy series, 2x48 LSTM on ~100 windows, 200 epochs", SERIES_SMALL,
         stacked(48, learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    case("monthly-2x64", OVERFIT, "bundled monthly series (~150 windows), 2x64 LSTM, 200 epochs", MONTHLY,
         stacked(64, learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    # --- good fit ---------------------------------------------------------------------------------
    case("cumsum-early", GOOD_FIT, "binary CE, 16 cells on 1200 sequences, early stopping (patience 8)", CUMSUM,
         lstm(16, learning_rate=3e-3), {"epochs": 120, "batch_size": 32, "early_stopping": early(8)}),
    case("echo-early", GOOD_FIT, "multiclass CE, 24 cells on 1500 sequences, early stopping (patience 6)", ECHO,
         lstm(24, learning_rate=3e-3), {"epochs": 80, "batch_size": 32, "early_stopping": early(6)}),
    case("damped-mae-early", GOOD_FIT, "MAE, 16 cells on 1000 series, early stopping (patience 8)", DAMPED,
         lstm(16, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(8)}),
    case("series-converged", GOOD_FIT, "generated series, 12 cells on ~1500 windows, 40 epochs", SERIES,
         lstm(12, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    case("two-sine-early", GOOD_FIT, "MSE, 16 cells on 1500 series, early stopping (patience 6)", TWO_SINE,
         lstm(16, learning_rate=3e-3), {"epochs": 80, "batch_size": 32, "early_stopping": early(6)}),
    # --- unstable ---------------------------------------------------------------------------------
    case("cumsum-adam-lr08", UNSTABLE, "binary CE, Adam at lr 0.8", CUMSUM, lstm(16, learning_rate=0.8),
         {"epochs": 30, "batch_size": 32}),
    case("echo-sgd-lr10", UNSTABLE, "multiclass CE, SGD at lr 10", ECHO, lstm(16, optimizer="sgd", learning_rate=10.0),
         {"epochs": 30, "batch_size": 32}),
    case("damped-mae-sgd-lr3", UNSTABLE, "MAE, SGD lr 3 with momentum 0.9", DAMPED,
         lstm(16, optimizer="sgd", learning_rate=3.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("series-adam-lr05", UNSTABLE, "generated series, 2x32 LSTM, Adam at lr 0.5", SERIES,
         stacked(32, learning_rate=0.5), {"epochs": 40, "batch_size": 32}),
]
