"""The ninth fresh held-out set (issue 22, round 12): seven constructions per label, checked by truth.py.

Written after round 11's method was committed as frozen (commit 7ef11e3: round 7's thrash rule back,
"wandering" needing a curve not falling along a Theil-Sen line through its second half), and
committed before anything in it is fitted. Fresh sets 7 and 8 are development data from round 11 on.

Built like sets 5 to 8 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 14000), data seeds (74), and two newly generated CSV series written by
``make_fresh.py --set 9``: a weekly retail-like series near 200 (a trend, a 52-week cycle, holiday
spikes in the same weeks each year and an Easter spike that moves; fitted standardised, four weeks
ahead at once, and once in its own units) and a slowly trending series with multiplicative
seasonality (a 12-step cycle whose swings grow with the level, log-normal noise; fitted on its log,
standardised, and once min-max scaled without the log). What no earlier set had: the log transform,
multi-step targets (the retail series four steps ahead, damped sines and two sines three and five
steps ahead), dropout in a good fit, two-layer GRU and stacked GRU beside LSTM, bidirectional and
encoder-decoder (no CNN-LSTM this time), echo, cumsum and addition at other sizes (three-term sums).
Earlier sets' series not used in set 8 (hourly, seasonal walk, load, sawtooth, noisy sines). Loss
scales: binary and multiclass cross-entropy, MAE, MSE, from a [0, 1] sawtooth to a series near 200
in its own units. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 14000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh9")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 14, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 74}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 14, "n_train": 30, "n_val": 400, "n_test": 10,
                                             "seed": 74}}
ECHO = {"name": "echo", "params": {"length": 9, "n_features": 14, "out_index": 4, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 74}}
ECHO_SMALL = {"name": "echo", "params": {"length": 9, "n_features": 18, "out_index": 1, "n_train": 28,
                                         "n_val": 400, "n_test": 10, "seed": 74}}
ADDITION = {"name": "addition", "params": {"n_terms": 3, "largest": 30, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 74}}
DAMPED = {"name": "damped_sine", "params": {"length": 22, "horizon": 3, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 74}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 22, "horizon": 5, "seed": 74}}
RETAIL = csv("fresh9_retail.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="standard")
RETAIL_AHEAD = csv("fresh9_retail.csv", look_back=26, horizon=4, train_fraction=0.7, val_fraction=0.2,
                   scaling="standard")
RETAIL_RAW = csv("fresh9_retail.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="none")
RETAIL_SMALL = csv("fresh9_retail.csv", look_back=26, train_fraction=0.045, val_fraction=0.5, scaling="standard")
TRAVEL = csv("fresh9_travel.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard",
             transform="log")
TRAVEL_MINMAX = csv("fresh9_travel.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
TRAVEL_SMALL = csv("fresh9_travel.csv", look_back=24, train_fraction=0.04, val_fraction=0.5, scaling="standard",
                   transform="log")
HOURLY = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
HOURLY_SMALL = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.03, val_fraction=0.5, scaling="standard")
LOAD = csv("fresh4_load.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
WALK_SMALL = csv("fresh3_walk.csv", look_back=12, train_fraction=0.045, val_fraction=0.5, scaling="standard",
                 difference=1)
SAW = csv("fresh5_saw.csv", look_back=25, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
NOISY_SMALL = csv("fresh2_noisy.csv", look_back=20, train_fraction=0.045, val_fraction=0.5, scaling="standard")

FRESH9 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("retail-ahead-5-epochs", UNDERFIT, "weekly retail (standardised) four weeks ahead, 24 cells at lr 5e-4 for "
         "5 epochs", RETAIL_AHEAD, lstm(24, learning_rate=5e-4), {"epochs": 5, "batch_size": 32}),
    case("travel-log-rmsprop-slow", UNDERFIT, "the multiplicative series' log (standardised), RMSprop at lr 2e-5 for "
         "20 epochs", TRAVEL, lstm(16, optimizer="rmsprop", learning_rate=2e-5), {"epochs": 20, "batch_size": 32}),
    case("echo-bidirectional-1e5", UNDERFIT, "multiclass CE, bidirectional 16, Adam at lr 1e-5 for 15 epochs", ECHO,
         {"family": "bidirectional", "units": 16, "learning_rate": 1e-5}, {"epochs": 15, "batch_size": 32}),
    case("cumsum-stacked-gru-4-epochs", UNDERFIT, "binary CE, 2x12 GRU at lr 3e-4 for 4 epochs", CUMSUM,
         stacked(12, cell="gru", learning_rate=3e-4), {"epochs": 4, "batch_size": 32}),
    case("damped-ahead-adagrad-slow", UNDERFIT, "damped sines three steps ahead, 24 cells, Adagrad at lr 5e-4 for "
         "15 epochs", DAMPED, lstm(24, optimizer="adagrad", learning_rate=5e-4), {"epochs": 15, "batch_size": 32}),
    case("addition3-ed-rmsprop-6-epochs", UNDERFIT, "seq2seq CE on three-term sums, encoder-decoder 24, RMSprop at "
         "lr 3e-4 for 6 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 24, "optimizer": "rmsprop", "learning_rate": 3e-4},
         {"epochs": 6, "batch_size": 32}),
    case("load-gru-2x-sgd-slow", UNDERFIT, "load-like series (standardised), 2x16 GRU, SGD at lr 1e-3 without "
         "momentum for 15 epochs", LOAD,
         {"family": "gru", "layers": 2, "units": 16, "optimizer": "sgd", "learning_rate": 1e-3, "momentum": 0.0},
         {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("retail-small-gru-2x96", OVERFIT, "weekly retail (standardised), 2x96 GRU on ~45 windows, 200 epochs",
         RETAIL_SMALL, {"family": "gru", "layers": 2, "units": 96, "learning_rate": 5e-3},
         {"epochs": 200, "batch_size": 8}),
    case("travel-small-bidirectional-mae", OVERFIT, "MAE on the multiplicative series' log, bidirectional 96 on "
         "~50 windows, 200 epochs", TRAVEL_SMALL,
         {"family": "bidirectional", "units": 96, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("echo-small-stacked-gru-96", OVERFIT, "multiclass CE, 2x96 GRU on 28 sequences, 150 epochs", ECHO_SMALL,
         stacked(96, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("cumsum-small-bidirectional-96", OVERFIT, "binary CE, bidirectional 96 on 30 sequences, 150 epochs",
         CUMSUM_SMALL, {"family": "bidirectional", "units": 96, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 8}),
    case("hourly-small-2x128", OVERFIT, "hourly series (standardised), 2x128 LSTM on ~50 windows, 200 epochs",
         HOURLY_SMALL, stacked(128, learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    case("noisy-small-160", OVERFIT, "noisy sines (standardised), 160 cells on ~50 windows, 200 epochs", NOISY_SMALL,
         lstm(160, learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    case("walk-small-gru-128-mae", OVERFIT, "MAE on the seasonal walk's changes, 128 GRU cells on ~40 windows, "
         "200 epochs", WALK_SMALL, gru(128, learning_rate=5e-3, loss="mae"), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("retail-early", GOOD_FIT, "weekly retail (standardised), 24 cells, early stopping (patience 12)", RETAIL,
         lstm(24, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("travel-log-gru-early", GOOD_FIT, "the multiplicative series' log (standardised), 24 GRU cells, early "
         "stopping (patience 12)", TRAVEL, gru(24, learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("travel-minmax-converged", GOOD_FIT, "the multiplicative series (min-max), 16 cells at lr 3e-3 for 60 epochs",
         TRAVEL_MINMAX, lstm(16, learning_rate=3e-3), {"epochs": 60, "batch_size": 32}),
    case("hourly-stacked-gru-early", GOOD_FIT, "hourly series (standardised), 2x16 GRU, early stopping (patience 12)",
         HOURLY, stacked(16, cell="gru", learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("saw-bidirectional-converged", GOOD_FIT, "sawtooth with noise (min-max), bidirectional 16 at lr 2e-3 for "
         "60 epochs", SAW, {"family": "bidirectional", "units": 16, "learning_rate": 2e-3},
         {"epochs": 60, "batch_size": 32}),
    case("load-dropout-early", GOOD_FIT, "load-like series (standardised), 24 cells with dropout 0.2, early stopping "
         "(patience 12)", LOAD, lstm(24, dropout=0.2, learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("echo-gru-converged", GOOD_FIT, "multiclass CE, 24 GRU cells at lr 3e-3 for 40 epochs on 1500 sequences",
         ECHO, gru(24, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    # --- unstable: learning rates that break the optimiser ------------------------------------------
    case("retail-rmsprop-lr2", UNSTABLE, "weekly retail (standardised), RMSprop at lr 2", RETAIL,
         lstm(16, optimizer="rmsprop", learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("retail-raw-sgd", UNSTABLE, "MSE on weekly retail in its own units (~200), SGD at lr 0.01", RETAIL_RAW,
         lstm(16, optimizer="sgd", learning_rate=0.01), {"epochs": 30, "batch_size": 32}),
    case("travel-log-adagrad-lr30", UNSTABLE, "the multiplicative series' log (standardised), Adagrad at lr 30",
         TRAVEL, lstm(16, optimizer="adagrad", learning_rate=30.0), {"epochs": 30, "batch_size": 32}),
    case("echo-bidirectional-sgd-lr12", UNSTABLE, "multiclass CE, bidirectional 16, SGD at lr 12", ECHO,
         {"family": "bidirectional", "units": 16, "optimizer": "sgd", "learning_rate": 12.0},
         {"epochs": 30, "batch_size": 32}),
    case("cumsum-gru-rmsprop-lr2", UNSTABLE, "binary CE, 16 GRU cells, RMSprop at lr 2", CUMSUM,
         gru(16, optimizer="rmsprop", learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-ahead-adam-lr2", UNSTABLE, "MSE, two sines five steps ahead, Adam at lr 2", TWO_SINE,
         lstm(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("hourly-sgd-momentum-lr5", UNSTABLE, "hourly series (standardised), SGD at lr 5 with momentum 0.9", HOURLY,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
]
