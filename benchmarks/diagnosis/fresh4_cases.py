"""The fourth fresh held-out set (issue 22, round 5): new real fits, made after the round-5 method was frozen.

The old corpus and fresh sets 1-3 are development data in round 5 (round 5 was written on the
misses of fresh set 3). This list was written after the round-5 method was committed as frozen
(commit 9144704), and nothing in it is fitted, plotted or diagnosed before it is committed.

It differs from the earlier sets in its seeds (base seed 7000), its data seeds (53), the problems'
parameters, two newly generated CSV series (a load-like series: a daily and a weekly cycle
multiplied by a slow trend; and a bursty one: an AR(1) process with rare jumps, written by
``make_fresh.py --set 4``), and in optimisers and cells the earlier sets barely used (Adagrad,
RMSprop slow, GRU encoder sizes):

* binary cross-entropy: ``cumsum`` with 12 steps;
* multiclass cross-entropy: ``echo`` with 8 symbols of 12 (and 9 of 14 on a small set); ``addition``
  of two terms up to 30 (encoder-decoders);
* MAE regression: ``damped_sine`` with 24 steps (``loss: mae``), ``two_sine`` on a small set with ``loss: mae``;
* CSV series: the load-like series (standardised) and the bursty series;
* MSE on ``two_sine`` and ``damped_sine``.

Configs on the same data and loss form one study (the scorer reads each config against them).
Each config's label is its construction, fixed here before fitting; every seed shares it:

* underfit: a learning rate 100x below the optimiser's usual one, 3-4 cells, 6-15 epochs;
* overfit: 48-64 cells (2 layers, GRU or bidirectional) on 40-150 training samples, 120-150
  epochs with nothing to stop them, validated on several times more samples;
* good fit: 12-32 cells on 1200-2000 training samples, 40-50 epochs or early stopping (restored);
* unstable: Adam at lr 0.5-0.8, RMSprop at lr 1, SGD at lr 6, Adagrad at lr 5.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 7000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh4")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 1600, "n_val": 300, "n_test": 10, "seed": 53}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 40, "n_val": 400, "n_test": 10, "seed": 53}}
ECHO = {"name": "echo", "params": {"length": 8, "n_features": 12, "out_index": 4, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 53}}
ECHO_SMALL = {"name": "echo", "params": {"length": 9, "n_features": 14, "out_index": 2, "n_train": 40,
                                         "n_val": 300, "n_test": 10, "seed": 53}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 30, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 53}}
DAMPED = {"name": "damped_sine", "params": {"length": 24, "horizon": 1, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 53}}
DAMPED_SMALL = {"name": "damped_sine", "params": {"length": 24, "horizon": 1, "n_train": 60, "n_val": 400,
                                                  "n_test": 10, "seed": 53}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 18, "seed": 53}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 190, "n_steps": 18, "seed": 53}}
LOAD = csv("fresh4_load.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
LOAD_SMALL = csv("fresh4_load.csv", look_back=24, train_fraction=0.05, val_fraction=0.5, scaling="standard")
BURSTY = csv("fresh4_bursty.csv", look_back=16, train_fraction=0.7, val_fraction=0.2, scaling="standard")
BURSTY_SMALL = csv("fresh4_bursty.csv", look_back=16, train_fraction=0.06, val_fraction=0.5, scaling="standard")

FRESH4 = [
    # --- underfit ---------------------------------------------------------------------------------
    case("cumsum-lr-1e5", UNDERFIT, "binary CE, 12 cells at lr 1e-5 for 30 epochs", CUMSUM,
         lstm(12, learning_rate=1e-5), {"epochs": 30, "batch_size": 32}),
    case("echo-4-cells", UNDERFIT, "multiclass CE, 4 cells at lr 1e-3 for 10 epochs", ECHO,
         lstm(4, learning_rate=1e-3), {"epochs": 10, "batch_size": 32}),
    case("damped-mae-6-epochs", UNDERFIT, "MAE, 12 cells for 6 epochs", DAMPED,
         lstm(12, learning_rate=1e-3, loss="mae"), {"epochs": 6, "batch_size": 32}),
    case("load-rmsprop-slow", UNDERFIT, "CSV series, RMSprop at lr 1e-5 for 25 epochs", LOAD,
         lstm(16, optimizer="rmsprop", learning_rate=1e-5), {"epochs": 25, "batch_size": 32}),
    case("two-sine-gru-3-cells", UNDERFIT, "MSE, 3 GRU cells at lr 1e-3 for 15 epochs", TWO_SINE,
         gru(3, learning_rate=1e-3), {"epochs": 15, "batch_size": 32}),
    case("addition-ed-6-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 16 at lr 1e-3 for 6 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 16, "learning_rate": 1e-3}, {"epochs": 6, "batch_size": 32}),
    # --- overfit ----------------------------------------------------------------------------------
    case("load-small-2x64", OVERFIT, "CSV series, 2x64 LSTM on ~100 windows, 150 epochs", LOAD_SMALL,
         stacked(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("cumsum-small-64", OVERFIT, "binary CE, 64 cells on 40 sequences, 150 epochs", CUMSUM_SMALL,
         lstm(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("damped-small-bidirectional", OVERFIT, "MSE, bidirectional 48 on 60 series, 150 epochs", DAMPED_SMALL,
         {"family": "bidirectional", "units": 48, "learning_rate": 3e-3}, {"epochs": 150, "batch_size": 8}),
    case("bursty-small-gru-64", OVERFIT, "CSV series, 64 GRU cells on ~100 windows, 150 epochs", BURSTY_SMALL,
         gru(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("echo-small-2x48", OVERFIT, "multiclass CE, 2x48 LSTM on 40 sequences, 120 epochs", ECHO_SMALL,
         stacked(48, learning_rate=3e-3), {"epochs": 120, "batch_size": 8}),
    case("two-sine-small-mae-64", OVERFIT, "MAE, 64 cells on 150 series, 150 epochs", TWO_SINE_SMALL,
         lstm(64, learning_rate=3e-3, loss="mae"), {"epochs": 150, "batch_size": 8}),
    # --- good fit ---------------------------------------------------------------------------------
    case("echo-converged", GOOD_FIT, "multiclass CE, 24 cells on 1500 sequences, 40 epochs", ECHO,
         lstm(24, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    case("addition-ed-early", GOOD_FIT, "seq2seq CE, encoder-decoder 32 on 1500 sums, early stopping (patience 8)",
         ADDITION, {"family": "encoder_decoder", "units": 32, "learning_rate": 3e-3},
         {"epochs": 100, "batch_size": 32, "early_stopping": early(8)}),
    case("load-gru-early", GOOD_FIT, "CSV series, 16 GRU cells on ~1400 windows, early stopping (patience 8)", LOAD,
         gru(16, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(8)}),
    case("damped-mae-converged", GOOD_FIT, "MAE, 16 cells on 1500 series, 50 epochs", DAMPED,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 50, "batch_size": 32}),
    case("bursty-converged", GOOD_FIT, "CSV series, 12 cells on ~1400 windows, 40 epochs", BURSTY,
         lstm(12, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    # --- unstable ---------------------------------------------------------------------------------
    case("cumsum-rmsprop-lr1", UNSTABLE, "binary CE, RMSprop at lr 1", CUMSUM,
         lstm(16, optimizer="rmsprop", learning_rate=1.0), {"epochs": 30, "batch_size": 32}),
    case("echo-gru-adam-lr05", UNSTABLE, "multiclass CE, 16 GRU cells, Adam at lr 0.5", ECHO,
         gru(16, learning_rate=0.5), {"epochs": 30, "batch_size": 32}),
    case("load-sgd-lr6", UNSTABLE, "CSV series, SGD at lr 6", LOAD, lstm(16, optimizer="sgd", learning_rate=6.0),
         {"epochs": 30, "batch_size": 32}),
    case("damped-adagrad-lr5", UNSTABLE, "MSE, Adagrad at lr 5", DAMPED,
         lstm(16, optimizer="adagrad", learning_rate=5.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-adam-lr08", UNSTABLE, "MSE, 16 cells, Adam at lr 0.8", TWO_SINE, lstm(16, learning_rate=0.8),
         {"epochs": 30, "batch_size": 32}),
]
