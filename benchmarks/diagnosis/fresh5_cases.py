"""The fifth fresh held-out set (issue 22, round 6): several constructions per label, a plain check of each.

Round 6 changes no rule of the diagnosis and nothing of the extrapolation: the method is frozen as
round 5 left it. It changes the truth. Fresh set 4 missed its goal mostly where a construction did
not do what it was built for, so this set:

* builds each label six ways, by different mechanisms, on problems where the regime is plain:
  good fits on series with noise in their targets (a deterministic problem's loss keeps halving
  towards zero, and "converged" and "still falling" are then both fair readings), overfits on a
  few dozen noisy windows or sequences (memorising noise is what overfitting is), underfits by
  stopping far too early or learning far too slowly, unstable by learning rates that break the
  optimiser;
* checks every fit against ``truth.py``'s plain definitions, committed before this file and
  before anything here is fitted; ``score.py --confirmed`` scores the fits (and configs) whose
  curves show their label, and the full set is scored as well.

New seeds (base seed 9000), data seeds (61), and two newly generated CSV series written by
``make_fresh.py --set 5``: a "sales" series in its own units (level near 300, a weekly cycle, a
trend, multiplicative noise; fitted unscaled, so its MSE is in the hundreds) and a noisy sawtooth
(period 20, min-max scaled). Loss scales: binary cross-entropy (``cumsum``), multiclass
cross-entropy (``echo``; ``addition`` with encoder-decoders), MAE (``loss: mae``), MSE from ~0.01
to hundreds. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 9000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh5")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 14, "n_train": 1400, "n_val": 300, "n_test": 10, "seed": 61}}
ECHO = {"name": "echo", "params": {"length": 10, "n_features": 10, "out_index": 3, "n_train": 1400, "n_val": 300,
                                   "n_test": 10, "seed": 61}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 16, "out_index": 6, "n_train": 30,
                                         "n_val": 400, "n_test": 10, "seed": 61}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 40, "n_train": 1400, "n_val": 200,
                                           "n_test": 10, "seed": 61}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 40, "n_train": 60, "n_val": 400,
                                                 "n_test": 10, "seed": 61}}
DAMPED = {"name": "damped_sine", "params": {"length": 20, "horizon": 2, "n_train": 1400, "n_val": 300, "n_test": 10,
                                            "seed": 61}}
SALES = csv("fresh5_sales.csv", look_back=14, train_fraction=0.7, val_fraction=0.2, scaling="none")
SALES_STD = csv("fresh5_sales.csv", look_back=14, train_fraction=0.7, val_fraction=0.2, scaling="standard")
SALES_SMALL = csv("fresh5_sales.csv", look_back=14, train_fraction=0.04, val_fraction=0.5, scaling="standard")
SAW = csv("fresh5_saw.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
SAW_SMALL = csv("fresh5_saw.csv", look_back=30, train_fraction=0.05, val_fraction=0.5, scaling="minmax")
NOISY = csv("fresh_series.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
NOISY_SMALL = csv("fresh_series.csv", look_back=24, train_fraction=0.04, val_fraction=0.5, scaling="standard")
HOURLY = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.6, val_fraction=0.3, scaling="standard")
HOURLY_SMALL = csv("fresh3_hourly.csv", look_back=24, train_fraction=0.03, val_fraction=0.5, scaling="standard")

FRESH5 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("echo-adam-1e5", UNDERFIT, "multiclass CE, 16 cells, Adam at lr 1e-5 for 20 epochs", ECHO,
         lstm(16, learning_rate=1e-5), {"epochs": 20, "batch_size": 32}),
    case("sales-raw-8-epochs", UNDERFIT, "MSE in the series' units (~300), 16 cells at lr 1e-3 for 8 epochs",
         SALES, lstm(16, learning_rate=1e-3), {"epochs": 8, "batch_size": 32}),
    case("cumsum-4-epochs", UNDERFIT, "binary CE, 8 cells at lr 1e-3 for 4 epochs", CUMSUM,
         lstm(8, learning_rate=1e-3), {"epochs": 4, "batch_size": 32}),
    case("addition-ed-5-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 24 at lr 1e-3 for 5 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 24, "learning_rate": 1e-3}, {"epochs": 5, "batch_size": 32}),
    case("saw-sgd-slow", UNDERFIT, "MSE on the sawtooth, SGD at lr 1e-3 without momentum for 20 epochs", SAW,
         lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0), {"epochs": 20, "batch_size": 32}),
    case("noisy-mae-adagrad-slow", UNDERFIT, "MAE, Adagrad at lr 1e-3 for 20 epochs", NOISY,
         gru(16, optimizer="adagrad", learning_rate=1e-3, loss="mae"), {"epochs": 20, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("saw-small-2x64", OVERFIT, "sawtooth with noise, 2x64 LSTM on ~70 windows, 200 epochs", SAW_SMALL,
         stacked(64, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("sales-small-96", OVERFIT, "sales (standardised), 96 cells on ~50 windows, 200 epochs", SALES_SMALL,
         lstm(96, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("echo-small-2x64", OVERFIT, "multiclass CE, 2x64 LSTM on 30 sequences, 150 epochs", ECHO_SMALL,
         stacked(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("noisy-small-bidirectional", OVERFIT, "noisy sines, bidirectional 64 on ~55 windows, 200 epochs",
         NOISY_SMALL, {"family": "bidirectional", "units": 64, "learning_rate": 5e-3},
         {"epochs": 200, "batch_size": 8}),
    case("addition-small-ed-64", OVERFIT, "seq2seq CE, encoder-decoder 64 on 60 sums, 200 epochs", ADDITION_SMALL,
         {"family": "encoder_decoder", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("hourly-small-gru-96-mae", OVERFIT, "MAE, 96 GRU cells on ~50 windows of the hourly series, 200 epochs",
         HOURLY_SMALL, gru(96, learning_rate=5e-3, loss="mae"), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, enough epochs or early stopping -------------
    case("sales-early", GOOD_FIT, "sales (standardised), 16 cells, early stopping (patience 10)", SALES_STD,
         lstm(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("saw-gru-60-epochs", GOOD_FIT, "sawtooth with noise, 16 GRU cells for 60 epochs", SAW,
         gru(16, learning_rate=3e-3), {"epochs": 60, "batch_size": 32}),
    case("noisy-early", GOOD_FIT, "noisy sines, 24 cells, early stopping (patience 10)", NOISY,
         lstm(24, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("hourly-converged", GOOD_FIT, "hourly series, 24 cells for 50 epochs", HOURLY,
         lstm(24, learning_rate=3e-3), {"epochs": 50, "batch_size": 32}),
    case("noisy-mae-converged", GOOD_FIT, "MAE on the noisy sines, 16 cells for 50 epochs", NOISY,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 50, "batch_size": 32}),
    case("hourly-gru-early", GOOD_FIT, "hourly series, 16 GRU cells, early stopping (patience 12)", HOURLY,
         gru(16, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    # --- unstable: learning rates that break the optimiser ------------------------------------------
    case("echo-sgd-lr10", UNSTABLE, "multiclass CE, SGD at lr 10", ECHO, lstm(16, optimizer="sgd", learning_rate=10.0),
         {"epochs": 30, "batch_size": 32}),
    case("cumsum-adam-lr1", UNSTABLE, "binary CE, Adam at lr 1", CUMSUM, lstm(16, learning_rate=1.0),
         {"epochs": 30, "batch_size": 32}),
    case("sales-raw-sgd", UNSTABLE, "MSE in the series' units, SGD at lr 0.05", SALES,
         lstm(16, optimizer="sgd", learning_rate=0.05), {"epochs": 30, "batch_size": 32}),
    case("saw-rmsprop-lr2", UNSTABLE, "sawtooth, RMSprop at lr 2", SAW, lstm(16, optimizer="rmsprop", learning_rate=2.0),
         {"epochs": 30, "batch_size": 32}),
    case("damped-mae-adagrad-lr10", UNSTABLE, "MAE, Adagrad at lr 10", DAMPED,
         lstm(16, optimizer="adagrad", learning_rate=10.0, loss="mae"), {"epochs": 30, "batch_size": 32}),
    case("noisy-sgd-momentum", UNSTABLE, "noisy sines, SGD at lr 3 with momentum 0.95", NOISY,
         gru(16, optimizer="sgd", learning_rate=3.0, momentum=0.95), {"epochs": 30, "batch_size": 32}),
]
