"""The sixteenth fresh held-out set (issue 22, round 20): seven constructions per label, checked by truth.py.

Written after round 20 was committed as frozen (afdd708: seeds that all share a label are
never read as seeds that disagree; no per-fit rule changed since round 18), and committed before anything in it
is fitted. Fresh sets 1 to 15 and the old corpus are development data from round 20 on.

Built like sets 5 to 15 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label. Like set 15, **no construction was pilot-fitted**: the list is as written, and a case
that does not show its label is left out of the confirmed score by ``truth.py`` and reported so.

New seeds (base seed 21000), data seed 90 for the synthetic problems, and new data written by
``make_fresh.py --set 16``: a wearable's heart rate in beats per minute once a minute (~58 asleep, ~74
awake, exercise bouts ramping to 120-165 and recovering over minutes, AR(1) drift, sensor noise, whole
bpm), the hourly PM2.5 concentration at a roadside monitor in ug/m3 (~18: rush hours, quieter weekends,
a log-AR(1) weather factor, rain washouts, multiplicative noise; one config reads it through the ``csv``
problem's log transform), and a bearing-fault set as NumPy arrays (``arrays`` problem, 0/1 labels:
binary cross-entropy through an ``.npz`` for the first time): 48 steps of two vibration axes, a faulty
bearing ringing at periodic impacts, 8 % of labels flipped, 2,000 or 40 training sequences. Loss
scales: binary cross-entropy (the bearings, the running sum), multiclass cross-entropy (echo,
addition), MAE on the heart rate in bpm unscaled (~74) and min-max scaled and on the standardised
heart rate, MSE on PM2.5 in ug/m3 unscaled (~390 before the output reaches the level), on its log and on
standardised series. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 21000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh16")


def arrays(file: str) -> dict:
    return {"name": "arrays", "params": {"path": f"{{work}}/{file}"}}


BEARING = arrays("fresh16_bearing.npz")
BEARING_SMALL = arrays("fresh16_bearing_small.npz")
CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 16, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 90}}
ECHO = {"name": "echo", "params": {"length": 10, "n_features": 8, "out_index": 3, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 90}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 14, "out_index": 2, "n_train": 28,
                                         "n_val": 400, "n_test": 10, "seed": 90}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 60, "n_train": 2000, "n_val": 300,
                                           "n_test": 10, "seed": 90}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 22, "seed": 90}}
HEART = csv("fresh16_heart.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
HEART_MINMAX = csv("fresh16_heart.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
HEART_RAW = csv("fresh16_heart.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="none")
HEART_SMALL = csv("fresh16_heart.csv", look_back=30, train_fraction=0.03, val_fraction=0.5, scaling="standard")
PM25 = csv("fresh16_pm25.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
PM25_LOG = csv("fresh16_pm25.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard",
               transform="log")
PM25_RAW = csv("fresh16_pm25.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="none")
PM25_SMALL = csv("fresh16_pm25.csv", look_back=30, train_fraction=0.027, val_fraction=0.5, scaling="standard")
PM25_SMALL_72 = csv("fresh16_pm25.csv", look_back=72, train_fraction=0.038, val_fraction=0.5, scaling="standard")

FRESH16 = [
    # --- underfit: far too few epochs, or far too slow a learning rate ------------------------------
    case("heart-raw-mae-sgd-slow", UNDERFIT, "MAE on the heart rate in bpm (~74, unscaled), 16 cells, SGD at lr "
         "1e-3 without momentum for 20 epochs: the output climbs towards the level and is nowhere near it",
         HEART_RAW, lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0, loss="mae"),
         {"epochs": 20, "batch_size": 32}),
    case("pm25-raw-mse-4-epochs", UNDERFIT, "MSE on PM2.5 in ug/m3 (~18, unscaled), 24 cells at lr 3e-4 for 4 "
         "epochs", PM25_RAW, lstm(24, learning_rate=3e-4), {"epochs": 4, "batch_size": 32}),
    case("bearing-gru-adagrad-slow", UNDERFIT, "binary CE, 16 GRU cells, Adagrad at lr 1e-3 for 12 epochs",
         BEARING, gru(16, optimizer="adagrad", learning_rate=1e-3), {"epochs": 12, "batch_size": 32}),
    case("heart-dense-sgd-slow", UNDERFIT, "the heart rate (standardised), the dense family, SGD at lr 3e-5 "
         "without momentum for 12 epochs", HEART, {"family": "dense", "optimizer": "sgd", "learning_rate": 3e-5,
                                                   "momentum": 0.0}, {"epochs": 12, "batch_size": 32}),
    case("echo-gru-rmsprop-1e5", UNDERFIT, "multiclass CE, 16 GRU cells, RMSprop at lr 1e-5 for 10 epochs", ECHO,
         gru(16, optimizer="rmsprop", learning_rate=1e-5), {"epochs": 10, "batch_size": 32}),
    case("cumsum-stacked-lstm-5-epochs", UNDERFIT, "binary CE, 2x16 LSTM at lr 3e-4 for 5 epochs", CUMSUM,
         stacked(16, learning_rate=3e-4), {"epochs": 5, "batch_size": 32}),
    case("addition-ed-gru-sgd-slow", UNDERFIT, "multiclass CE per output character, GRU encoder-decoder 32, SGD at "
         "lr 1e-2 without momentum for 15 epochs", ADDITION,
         {"family": "encoder_decoder", "cell": "gru", "units": 32, "optimizer": "sgd", "learning_rate": 1e-2,
          "momentum": 0.0}, {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long -----------------
    case("heart-small-2x128", OVERFIT, "the heart rate (standardised), 2x128 LSTM at lr 5e-3 on ~60 windows, 200 "
         "epochs", HEART_SMALL, stacked(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("heart-small-bidirectional-gru-mae", OVERFIT, "MAE on the heart rate (standardised), bidirectional GRU 128 "
         "at lr 5e-3 on ~60 windows, 200 epochs", HEART_SMALL,
         {"family": "bidirectional", "cell": "gru", "units": 128, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("bearing-small-gru-192", OVERFIT, "binary CE, 192 GRU cells on 40 sequences (8 % of labels flipped), 150 "
         "epochs", BEARING_SMALL, gru(192, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("bearing-small-cnn-lstm", OVERFIT, "binary CE, CNN-LSTM 128 (64 filters, kernel 5) on 40 sequences, 150 "
         "epochs", BEARING_SMALL, {"family": "cnn_lstm", "units": 128, "filters": 64, "kernel_size": 5,
                                   "learning_rate": 3e-3}, {"epochs": 150, "batch_size": 8}),
    case("pm25-small-256", OVERFIT, "PM2.5 (standardised), 256 cells at lr 5e-3 on ~51 windows, 200 epochs",
         PM25_SMALL, lstm(256, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("pm25-small-dense-72", OVERFIT, "PM2.5 (standardised), the dense family on 72-step windows fitted to ~42 "
         "windows at lr 1e-2, 200 epochs: more weights than samples", PM25_SMALL_72,
         {"family": "dense", "learning_rate": 1e-2}, {"epochs": 200, "batch_size": 8}),
    case("echo-small-stacked-gru-96", OVERFIT, "multiclass CE, 2x96 GRU on 28 sequences, 150 epochs", ECHO_SMALL,
         stacked(96, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("heart-early", GOOD_FIT, "the heart rate (standardised), 32 cells at lr 3e-3, early stopping (patience 12)",
         HEART, lstm(32, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("heart-minmax-gru-mae-converged", GOOD_FIT, "MAE on the heart rate (min-max scaled), 24 GRU cells at lr "
         "3e-3 for 60 epochs", HEART_MINMAX, gru(24, learning_rate=3e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("pm25-gru-early", GOOD_FIT, "PM2.5 (standardised), 24 GRU cells at lr 3e-3, early stopping (patience 15)",
         PM25, gru(24, learning_rate=3e-3), {"epochs": 200, "batch_size": 32, "early_stopping": early(15)}),
    case("pm25-log-converged", GOOD_FIT, "MSE on the log of PM2.5 (standardised), 16 cells at lr 3e-3 for 40 epochs",
         PM25_LOG, lstm(16, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    case("bearing-early", GOOD_FIT, "binary CE, 32 cells at lr 3e-3 on 2,000 sequences (8 % of labels flipped), "
         "early stopping (patience 10)", BEARING, lstm(32, learning_rate=3e-3),
         {"epochs": 100, "batch_size": 32, "early_stopping": early(10)}),
    case("two-sine-cnn-lstm-early", GOOD_FIT, "MSE, two noisy sines, CNN-LSTM 24 (32 filters) at lr 3e-3, early "
         "stopping (patience 10)", TWO_SINE, {"family": "cnn_lstm", "units": 24, "filters": 32, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("pm25-cnn-lstm-early", GOOD_FIT, "PM2.5 (standardised), CNN-LSTM 24 (32 filters) at lr 3e-3, early stopping "
         "(patience 12)", PM25, {"family": "cnn_lstm", "units": 24, "filters": 32, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    # --- unstable: learning rates that break the optimiser (one early-stopped with the best restored) --
    case("heart-adam-lr2", UNSTABLE, "the heart rate (standardised), 16 cells, Adam at lr 2", HEART,
         lstm(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("heart-gru-rmsprop-lr1-early", UNSTABLE, "the heart rate (standardised), 16 GRU cells, RMSprop at lr 1, "
         "early stopping (patience 10, best epoch restored)", HEART, gru(16, optimizer="rmsprop", learning_rate=1.0),
         {"epochs": 60, "batch_size": 32, "early_stopping": early(10)}),
    case("pm25-sgd-momentum-lr3", UNSTABLE, "PM2.5 (standardised), 16 cells, SGD at lr 3 with momentum 0.9", PM25,
         lstm(16, optimizer="sgd", learning_rate=3.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("bearing-gru-adam-lr2", UNSTABLE, "binary CE, 16 GRU cells, Adam at lr 2", BEARING,
         gru(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-stacked-rmsprop-lr2", UNSTABLE, "MSE, two noisy sines, 2x16 LSTM, RMSprop at lr 2", TWO_SINE,
         stacked(16, optimizer="rmsprop", learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("cumsum-gru-sgd-momentum-lr5", UNSTABLE, "binary CE, 16 GRU cells, SGD at lr 5 with momentum 0.9", CUMSUM,
         gru(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("echo-cnn-lstm-rmsprop-lr2", UNSTABLE, "multiclass CE, CNN-LSTM 16 (16 filters), RMSprop at lr 2", ECHO,
         {"family": "cnn_lstm", "units": 16, "filters": 16, "optimizer": "rmsprop", "learning_rate": 2.0},
         {"epochs": 30, "batch_size": 32}),
]
