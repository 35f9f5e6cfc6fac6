"""The seventh fresh held-out set (issue 22, round 9): seven constructions per label, checked by truth.py.

Written after the round-9 method was committed as frozen (commit dc12107: a curve still learning
through its noise neither thrashes nor wanders; the learning-rate advice read against the study),
and committed before anything in it is fitted. Fresh set 6 is development data from round 9 on.

Built like sets 5 and 6 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 12000), data seeds (71), and two newly generated CSV series written by
``make_fresh.py --set 7``: a daily load-like series (a level near 400 with a trend, weekly and
yearly cycles and AR(1) noise, fitted standardised and, as a new user's study did, as its daily
changes with the weekly seasonal-naive baseline) and a weekly river-flow-like series (a yearly
cycle of 52 weeks, log-normal floods; fitted standardised and once in its own units with MAE).
Earlier sets' series (weekly, bursty, temperature-like, sales) at new sizes. Loss scales: binary
and multiclass cross-entropy, MAE, MSE. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 12000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh7")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 71}}
ECHO = {"name": "echo", "params": {"length": 11, "n_features": 13, "out_index": 3, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 71}}
ECHO_SMALL = {"name": "echo", "params": {"length": 11, "n_features": 17, "out_index": 6, "n_train": 30,
                                         "n_val": 400, "n_test": 10, "seed": 71}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 40, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 71}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 40, "n_train": 40, "n_val": 400,
                                                 "n_test": 10, "seed": 71}}
DAMPED = {"name": "damped_sine", "params": {"length": 26, "horizon": 1, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 71}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2500, "n_steps": 18, "seed": 71}}
DAILY = csv("fresh7_daily.csv", look_back=14, train_fraction=0.7, val_fraction=0.15, scaling="standard")
DAILY_CHANGES = csv("fresh7_daily.csv", look_back=14, train_fraction=0.7, val_fraction=0.15, scaling="standard",
                    difference=1, season=7)
DAILY_SMALL = csv("fresh7_daily.csv", look_back=14, train_fraction=0.045, val_fraction=0.5, scaling="standard")
FLOW = csv("fresh7_flow.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="standard")
FLOW_RAW = csv("fresh7_flow.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="none")
FLOW_SMALL = csv("fresh7_flow.csv", look_back=26, train_fraction=0.05, val_fraction=0.5, scaling="standard")
WEEKLY = csv("fresh2_weekly.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="standard")
WEEKLY_RAW = csv("fresh2_weekly.csv", look_back=26, train_fraction=0.7, val_fraction=0.2, scaling="none")
WEEKLY_SMALL = csv("fresh2_weekly.csv", look_back=26, train_fraction=0.045, val_fraction=0.5, scaling="standard")
BURSTY = csv("fresh4_bursty.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="standard")
BURSTY_SMALL = csv("fresh4_bursty.csv", look_back=20, train_fraction=0.035, val_fraction=0.5, scaling="standard")
TEMP = csv("fresh6_temp.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
TEMP_SMALL = csv("fresh6_temp.csv", look_back=30, train_fraction=0.035, val_fraction=0.5, scaling="standard")
SALES = csv("fresh5_sales.csv", look_back=21, train_fraction=0.7, val_fraction=0.2, scaling="standard")

FRESH7 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("daily-changes-4-epochs", UNDERFIT, "daily load's changes, 16 cells at lr 1e-3 for 4 epochs", DAILY_CHANGES,
         lstm(16, learning_rate=1e-3), {"epochs": 4, "batch_size": 32}),
    case("echo-sgd-slow", UNDERFIT, "multiclass CE, SGD at lr 5e-4 without momentum for 15 epochs", ECHO,
         lstm(16, optimizer="sgd", learning_rate=5e-4, momentum=0.0), {"epochs": 15, "batch_size": 32}),
    case("cumsum-adam-1e5", UNDERFIT, "binary CE, Adam at lr 1e-5 for 20 epochs", CUMSUM,
         lstm(16, learning_rate=1e-5), {"epochs": 20, "batch_size": 32}),
    case("damped-gru-5-epochs", UNDERFIT, "MSE, 16 GRU cells at lr 3e-4 for 5 epochs", DAMPED,
         gru(16, learning_rate=3e-4), {"epochs": 5, "batch_size": 32}),
    case("flow-raw-mae-slow", UNDERFIT, "MAE on river flow in its own units, 16 cells at lr 1e-4 for 20 epochs",
         FLOW_RAW, lstm(16, learning_rate=1e-4, loss="mae"), {"epochs": 20, "batch_size": 32}),
    case("addition-ed-rmsprop-slow", UNDERFIT, "seq2seq CE, encoder-decoder 16, RMSprop at lr 1e-5 for 10 epochs",
         ADDITION, {"family": "encoder_decoder", "units": 16, "optimizer": "rmsprop", "learning_rate": 1e-5},
         {"epochs": 10, "batch_size": 32}),
    case("two-sine-bidirectional-6-epochs", UNDERFIT, "MSE, bidirectional 16 at lr 3e-4 for 6 epochs", TWO_SINE,
         {"family": "bidirectional", "units": 16, "learning_rate": 3e-4}, {"epochs": 6, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("daily-small-2x64", OVERFIT, "daily load (standardised), 2x64 LSTM on ~35 windows, 200 epochs",
         DAILY_SMALL, stacked(64, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("flow-small-cnn-lstm", OVERFIT, "river flow (standardised), CNN-LSTM 64 on ~50 windows, 200 epochs",
         FLOW_SMALL, {"family": "cnn_lstm", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("echo-small-bidirectional", OVERFIT, "multiclass CE, bidirectional 64 on 30 sequences, 150 epochs",
         ECHO_SMALL, {"family": "bidirectional", "units": 64, "learning_rate": 3e-3}, {"epochs": 150, "batch_size": 8}),
    case("weekly-small-gru-96", OVERFIT, "weekly series (standardised), 96 GRU cells on ~40 windows, 200 epochs",
         WEEKLY_SMALL, gru(96, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("addition-small-ed-64", OVERFIT, "seq2seq CE, encoder-decoder 64 on 40 sums, 200 epochs", ADDITION_SMALL,
         {"family": "encoder_decoder", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("bursty-small-mae-96", OVERFIT, "MAE on the bursty series, 96 cells on ~40 windows, 200 epochs",
         BURSTY_SMALL, lstm(96, learning_rate=5e-3, loss="mae"), {"epochs": 200, "batch_size": 8}),
    case("temp-small-gru-2x64", OVERFIT, "temperature-like series, 2x64 GRU on ~40 windows, 200 epochs", TEMP_SMALL,
         stacked(64, cell="gru", learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("daily-early", GOOD_FIT, "daily load (standardised), 16 cells, early stopping (patience 12)", DAILY,
         lstm(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("flow-gru-early", GOOD_FIT, "river flow (standardised), 16 GRU cells, early stopping (patience 12)", FLOW,
         gru(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("weekly-mae-early", GOOD_FIT, "MAE on the weekly series (standardised), 16 cells, early stopping "
         "(patience 12)", WEEKLY, lstm(16, learning_rate=3e-3, loss="mae"),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("temp-converged", GOOD_FIT, "temperature-like series, 16 cells at lr 2e-3 for 60 epochs", TEMP,
         lstm(16, learning_rate=2e-3), {"epochs": 60, "batch_size": 32}),
    case("bursty-early", GOOD_FIT, "bursty series, 16 cells, early stopping (patience 15)", BURSTY,
         lstm(16, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(15)}),
    case("sales-gru-converged", GOOD_FIT, "sales (standardised), 16 GRU cells at lr 2e-3 for 60 epochs", SALES,
         gru(16, learning_rate=2e-3), {"epochs": 60, "batch_size": 32}),
    case("daily-cnn-lstm-early", GOOD_FIT, "daily load (standardised), CNN-LSTM 16, early stopping (patience 12)",
         DAILY, {"family": "cnn_lstm", "units": 16, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    # --- unstable: learning rates that break the optimiser ------------------------------------------
    case("daily-adam-lr2", UNSTABLE, "daily load (standardised), Adam at lr 2", DAILY, lstm(16, learning_rate=2.0),
         {"epochs": 30, "batch_size": 32}),
    case("flow-sgd-lr10", UNSTABLE, "river flow (standardised), SGD at lr 10", FLOW,
         lstm(16, optimizer="sgd", learning_rate=10.0), {"epochs": 30, "batch_size": 32}),
    case("echo-rmsprop-lr2", UNSTABLE, "multiclass CE, RMSprop at lr 2", ECHO,
         lstm(16, optimizer="rmsprop", learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("cumsum-adagrad-lr30", UNSTABLE, "binary CE, Adagrad at lr 30", CUMSUM,
         lstm(16, optimizer="adagrad", learning_rate=30.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-sgd-momentum", UNSTABLE, "MSE, SGD at lr 4 with momentum 0.9", TWO_SINE,
         lstm(16, optimizer="sgd", learning_rate=4.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("weekly-raw-sgd", UNSTABLE, "MSE on the weekly series in its own units (~50), SGD at lr 0.05", WEEKLY_RAW,
         lstm(16, optimizer="sgd", learning_rate=0.05), {"epochs": 30, "batch_size": 32}),
    case("temp-adam-lr1", UNSTABLE, "temperature-like series, Adam at lr 1.2", TEMP, lstm(16, learning_rate=1.2),
         {"epochs": 30, "batch_size": 32}),
]
