"""The sixth fresh held-out set (issue 22, round 7): seven constructions per label, checked by truth.py.

Written after the round-7 method and round 7's definitions in ``truth.py`` were committed as frozen
(commit a53b08b), and committed before anything in it is fitted. Fresh set 5 is development data
from round 7 on.

Like set 5, each label is built seven ways on problems where the regime is plain (good fits on
series with noise in their targets, overfits on a few dozen noisy samples, underfits by far too few
epochs or far too slow a learning rate, unstable by learning rates that break the optimiser), and
``score.py --confirmed`` scores the fits whose curves show their label besides the full set.

New seeds (base seed 11000), data seeds (67), and two newly generated CSV series written by
``make_fresh.py --set 6``: a temperature-like series (a cycle of 73 steps, AR(1) weather, level
near 15; standardised) and a count series (Poisson counts around 20 with a weekly cycle and a
trend; fitted unscaled once, so its MSE starts near 400). Loss scales: binary and multiclass
cross-entropy, MAE, MSE from ~0.01 to hundreds. Each config's label is its construction; every seed
shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 11000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh6")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 10, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 67}}
ECHO = {"name": "echo", "params": {"length": 9, "n_features": 11, "out_index": 5, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 67}}
ECHO_SMALL = {"name": "echo", "params": {"length": 9, "n_features": 15, "out_index": 4, "n_train": 30,
                                         "n_val": 400, "n_test": 10, "seed": 67}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 50, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 67}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 50, "n_train": 50, "n_val": 400,
                                                 "n_test": 10, "seed": 67}}
DAMPED = {"name": "damped_sine", "params": {"length": 22, "horizon": 1, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 67}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 16, "seed": 67}}
TEMP = csv("fresh6_temp.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
TEMP_SMALL = csv("fresh6_temp.csv", look_back=24, train_fraction=0.04, val_fraction=0.5, scaling="standard")
COUNTS_RAW = csv("fresh6_counts.csv", look_back=14, train_fraction=0.7, val_fraction=0.2, scaling="none")
COUNTS = csv("fresh6_counts.csv", look_back=14, train_fraction=0.7, val_fraction=0.2, scaling="standard")
COUNTS_SMALL = csv("fresh6_counts.csv", look_back=14, train_fraction=0.04, val_fraction=0.5, scaling="standard")
SAW = csv("fresh5_saw.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
SAW_SMALL = csv("fresh5_saw.csv", look_back=30, train_fraction=0.04, val_fraction=0.5, scaling="minmax")
SALES = csv("fresh5_sales.csv", look_back=14, train_fraction=0.7, val_fraction=0.2, scaling="standard")
SALES_SMALL = csv("fresh5_sales.csv", look_back=14, train_fraction=0.04, val_fraction=0.5, scaling="standard")
LOAD_SMALL = csv("fresh4_load.csv", look_back=24, train_fraction=0.03, val_fraction=0.5, scaling="standard")
NOISY = csv("fresh_series.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
HOURLY = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.6, val_fraction=0.3, scaling="standard")

FRESH6 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("echo-rmsprop-1e5", UNDERFIT, "multiclass CE, 16 cells, RMSprop at lr 1e-5 for 15 epochs", ECHO,
         lstm(16, optimizer="rmsprop", learning_rate=1e-5), {"epochs": 15, "batch_size": 32}),
    case("counts-raw-6-epochs", UNDERFIT, "MSE on counts in their own units (~20), 12 cells at lr 1e-3 for 6 epochs",
         COUNTS_RAW, lstm(12, learning_rate=1e-3), {"epochs": 6, "batch_size": 32}),
    case("cumsum-sgd-slow", UNDERFIT, "binary CE, SGD at lr 1e-3 without momentum for 15 epochs", CUMSUM,
         lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0), {"epochs": 15, "batch_size": 32}),
    case("addition-ed-4-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 16 at lr 1e-3 for 4 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 16, "learning_rate": 1e-3}, {"epochs": 4, "batch_size": 32}),
    case("temp-adam-1e5", UNDERFIT, "temperature-like series, Adam at lr 1e-5 for 20 epochs", TEMP,
         lstm(16, learning_rate=1e-5), {"epochs": 20, "batch_size": 32}),
    case("two-sine-gru-5-epochs", UNDERFIT, "MSE, 16 GRU cells at lr 1e-3 for 5 epochs", TWO_SINE,
         gru(16, learning_rate=1e-3), {"epochs": 5, "batch_size": 32}),
    case("damped-mae-sgd-slow", UNDERFIT, "MAE, SGD at lr 1e-3 without momentum for 15 epochs", DAMPED,
         lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0, loss="mae"), {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("temp-small-2x64", OVERFIT, "temperature-like series, 2x64 LSTM on ~55 windows, 200 epochs", TEMP_SMALL,
         stacked(64, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("counts-small-96", OVERFIT, "counts (standardised), 96 cells on ~60 windows, 200 epochs", COUNTS_SMALL,
         lstm(96, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("echo-small-gru-2x64", OVERFIT, "multiclass CE, 2x64 GRU on 30 sequences, 150 epochs", ECHO_SMALL,
         stacked(64, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("saw-small-bidirectional-mae", OVERFIT, "MAE on the sawtooth, bidirectional 64 on ~50 windows, 200 epochs",
         SAW_SMALL, {"family": "bidirectional", "units": 64, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("addition-small-ed-96", OVERFIT, "seq2seq CE, encoder-decoder 96 on 50 sums, 200 epochs", ADDITION_SMALL,
         {"family": "encoder_decoder", "units": 96, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("sales-small-cnn-lstm", OVERFIT, "sales (standardised), CNN-LSTM 64 on ~50 windows, 200 epochs",
         SALES_SMALL, {"family": "cnn_lstm", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("load-small-2x96", OVERFIT, "load-like series, 2x96 LSTM on ~30 windows, 200 epochs", LOAD_SMALL,
         stacked(96, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("temp-early", GOOD_FIT, "temperature-like series, 16 cells, early stopping (patience 12)", TEMP,
         lstm(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("counts-gru-early", GOOD_FIT, "counts (standardised), 16 GRU cells, early stopping (patience 12)", COUNTS,
         gru(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("saw-early", GOOD_FIT, "sawtooth with noise, 16 cells, early stopping (patience 12)", SAW,
         lstm(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("sales-mae-early", GOOD_FIT, "MAE on sales (standardised), 16 cells, early stopping (patience 12)", SALES,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("noisy-gru-converged", GOOD_FIT, "noisy sines, 16 GRU cells at lr 1e-3 for 60 epochs", NOISY,
         gru(16, learning_rate=1e-3), {"epochs": 60, "batch_size": 32}),
    case("temp-mae-converged", GOOD_FIT, "MAE on the temperature-like series, 16 cells at lr 2e-3 for 50 epochs", TEMP,
         lstm(16, learning_rate=2e-3, loss="mae"), {"epochs": 50, "batch_size": 32}),
    case("hourly-early", GOOD_FIT, "hourly series, 24 cells, early stopping (patience 15)", HOURLY,
         lstm(24, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(15)}),
    # --- unstable: learning rates that break the optimiser ------------------------------------------
    case("echo-adam-lr2", UNSTABLE, "multiclass CE, Adam at lr 2", ECHO, lstm(16, learning_rate=2.0),
         {"epochs": 30, "batch_size": 32}),
    case("cumsum-sgd-lr20", UNSTABLE, "binary CE, SGD at lr 20", CUMSUM, lstm(16, optimizer="sgd", learning_rate=20.0),
         {"epochs": 30, "batch_size": 32}),
    case("counts-raw-sgd", UNSTABLE, "MSE on counts in their own units, SGD at lr 0.1", COUNTS_RAW,
         lstm(16, optimizer="sgd", learning_rate=0.1), {"epochs": 30, "batch_size": 32}),
    case("temp-rmsprop-lr3", UNSTABLE, "temperature-like series, RMSprop at lr 3", TEMP,
         lstm(16, optimizer="rmsprop", learning_rate=3.0), {"epochs": 30, "batch_size": 32}),
    case("saw-sgd-momentum", UNSTABLE, "sawtooth, SGD at lr 5 with momentum 0.9", SAW,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("two-sine-adam-lr1p5", UNSTABLE, "MSE, Adam at lr 1.5", TWO_SINE, lstm(16, learning_rate=1.5),
         {"epochs": 30, "batch_size": 32}),
    case("sales-adagrad-lr20", UNSTABLE, "sales (standardised), Adagrad at lr 20", SALES,
         lstm(16, optimizer="adagrad", learning_rate=20.0), {"epochs": 30, "batch_size": 32}),
]
