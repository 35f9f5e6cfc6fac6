"""The third fresh held-out set (issue 22, round 4): new real fits, made after the round-4 method was frozen.

The old corpus and the first two fresh sets are development data in round 4: the rules, the
study-level comparison and the extrapolation's learned prior were tuned or fitted on them. This
list was written after the round-4 method was committed as frozen (commit 880860b), and nothing
in it is fitted, plotted or diagnosed before it is committed.

It differs from the earlier sets in its seeds (base seed 5000), its data seeds (37), the
problems' parameters, two newly generated CSV series (an hourly-like series with a daily cycle and
a change of regime, and a seasonal random walk, written by ``make_fresh.py --set 3``), and in cells,
optimisers and families (GRU and bidirectional layers, RMSprop, plain SGD):

* binary cross-entropy: ``cumsum`` with 10 steps;
* multiclass cross-entropy: ``echo`` with 9 symbols of 11 (and 10 of 15 on a small set), ``addition`` of two terms;
* MAE regression: ``damped_sine`` with 18 steps and a small window of the hourly series, ``loss: mae``;
* CSV series: the hourly-like series (standardised) and the seasonal walk (differenced);
* ``two_sine`` (MSE).

Configs on the same data and loss are what one study would hold (the scorer reads each config
against them), as in the earlier sets: every tiny or short config has a good fit beside it, except
the hourly series' slow SGD, which has only an unstable config beside it.

Each config's label is its construction, fixed here before fitting; every seed shares it:

* underfit: a learning rate 100x below the optimiser's usual one, plain SGD at lr 1e-3, 2-3 cells,
  5-8 epochs;
* overfit: 48-64 cells (2 layers, GRU or bidirectional) on 30-150 training samples, 120-150 epochs
  with nothing to stop them, validated on several times more samples;
* good fit: 16-24 cells on 1200-2000 training samples, 40-50 epochs or early stopping (restored);
* unstable: Adam at lr 0.7-1, RMSprop at lr 0.5, SGD at lr 4-8.

The models and data are small on purpose (two shared cores; every fit runs once).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 5000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh3")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 10, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 37}}
ECHO = {"name": "echo", "params": {"length": 9, "n_features": 11, "out_index": 5, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 37}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 15, "out_index": 3, "n_train": 40,
                                         "n_val": 300, "n_test": 10, "seed": 37}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 25, "n_train": 1200, "n_val": 200,
                                           "n_test": 10, "seed": 37}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 40, "n_train": 120, "n_val": 300,
                                                 "n_test": 10, "seed": 37}}
DAMPED = {"name": "damped_sine", "params": {"length": 18, "horizon": 2, "n_train": 1200, "n_val": 300, "n_test": 10,
                                            "seed": 37}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 22, "seed": 37}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 190, "n_steps": 22, "seed": 37}}
HOURLY = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
HOURLY_SMALL = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.05, val_fraction=0.5, scaling="standard")
REGIME_SMALL = csv("fresh3_hourly.csv", look_back=16, train_fraction=0.04, val_fraction=0.5, scaling="standard")
WALK_SMALL = csv("fresh3_walk.csv", look_back=12, train_fraction=0.06, val_fraction=0.5, difference=1)

FRESH3 = [
    # --- underfit ---------------------------------------------------------------------------------
    case("cumsum-tiny-lr", UNDERFIT, "binary CE, 10 cells at lr 1.5e-5 for 25 epochs", CUMSUM,
         lstm(10, learning_rate=1.5e-5), {"epochs": 25, "batch_size": 32}),
    case("echo-3-cells", UNDERFIT, "multiclass CE, 3 cells at lr 2e-3 for 12 epochs", ECHO,
         lstm(3, learning_rate=2e-3), {"epochs": 12, "batch_size": 32}),
    case("damped-mae-2-cells", UNDERFIT, "MAE, 2 cells at lr 1e-3 for 15 epochs", DAMPED,
         lstm(2, learning_rate=1e-3, loss="mae"), {"epochs": 15, "batch_size": 32}),
    case("hourly-sgd-slow", UNDERFIT, "CSV series, plain SGD at lr 1e-3 for 20 epochs", HOURLY,
         lstm(12, optimizer="sgd", learning_rate=1e-3), {"epochs": 20, "batch_size": 32}),
    case("two-sine-5-epochs", UNDERFIT, "MSE, 16 cells for 5 epochs", TWO_SINE,
         lstm(16, learning_rate=1e-3), {"epochs": 5, "batch_size": 32}),
    case("addition-ed-8-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 12 at lr 1e-3 for 8 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 12, "learning_rate": 1e-3}, {"epochs": 8, "batch_size": 32}),
    # --- overfit ----------------------------------------------------------------------------------
    case("hourly-small-2x64", OVERFIT, "CSV series, 2x64 LSTM on ~100 windows, 150 epochs", HOURLY_SMALL,
         stacked(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("echo-small-gru-64", OVERFIT, "multiclass CE, 64 GRU cells on 40 sequences, 120 epochs", ECHO_SMALL,
         gru(64, learning_rate=3e-3), {"epochs": 120, "batch_size": 8}),
    case("two-sine-small-bidirectional", OVERFIT, "MSE, bidirectional 48 on 150 series, 120 epochs", TWO_SINE_SMALL,
         {"family": "bidirectional", "units": 48, "learning_rate": 3e-3}, {"epochs": 120, "batch_size": 8}),
    case("regime-small-mae-64", OVERFIT, "MAE, 64 cells on ~80 windows of the hourly series, 150 epochs",
         REGIME_SMALL, lstm(64, learning_rate=3e-3, loss="mae"), {"epochs": 150, "batch_size": 8}),
    case("addition-small-ed-64", OVERFIT, "seq2seq CE, encoder-decoder 64 on 120 sums, 120 epochs", ADDITION_SMALL,
         {"family": "encoder_decoder", "units": 64, "learning_rate": 3e-3}, {"epochs": 120, "batch_size": 8}),
    case("walk-small-2x48", OVERFIT, "differenced seasonal walk, 2x48 GRU on ~100 windows, 150 epochs", WALK_SMALL,
         stacked(48, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    # --- good fit ---------------------------------------------------------------------------------
    case("cumsum-converged", GOOD_FIT, "binary CE, 16 cells on 1500 sequences, 40 epochs", CUMSUM,
         lstm(16, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    case("echo-gru-early", GOOD_FIT, "multiclass CE, 24 GRU cells on 1500 sequences, early stopping (patience 6)",
         ECHO, gru(24, learning_rate=3e-3), {"epochs": 80, "batch_size": 32, "early_stopping": early(6)}),
    case("damped-mae-converged", GOOD_FIT, "MAE, 16 cells on 1200 series, 50 epochs", DAMPED,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 50, "batch_size": 32}),
    case("hourly-early", GOOD_FIT, "CSV series, 16 cells on ~1400 windows, early stopping (patience 8)", HOURLY,
         lstm(16, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(8)}),
    case("two-sine-converged", GOOD_FIT, "MSE, 16 cells on 2000 series, 40 epochs", TWO_SINE,
         lstm(16, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    # --- unstable ---------------------------------------------------------------------------------
    case("cumsum-adam-lr07", UNSTABLE, "binary CE, Adam at lr 0.7", CUMSUM, lstm(16, learning_rate=0.7),
         {"epochs": 30, "batch_size": 32}),
    case("echo-sgd-lr8", UNSTABLE, "multiclass CE, SGD at lr 8", ECHO, lstm(16, optimizer="sgd", learning_rate=8.0),
         {"epochs": 30, "batch_size": 32}),
    case("hourly-rmsprop-lr05", UNSTABLE, "CSV series, RMSprop at lr 0.5", HOURLY,
         lstm(16, optimizer="rmsprop", learning_rate=0.5), {"epochs": 30, "batch_size": 32}),
    case("damped-mae-sgd-lr4", UNSTABLE, "MAE, SGD at lr 4 with momentum 0.9", DAMPED,
         lstm(16, optimizer="sgd", learning_rate=4.0, momentum=0.9, loss="mae"), {"epochs": 30, "batch_size": 32}),
    case("two-sine-gru-adam-lr1", UNSTABLE, "MSE, 16 GRU cells, Adam at lr 1", TWO_SINE,
         gru(16, learning_rate=1.0), {"epochs": 30, "batch_size": 32}),
]
