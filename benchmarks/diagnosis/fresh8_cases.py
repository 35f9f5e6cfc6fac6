"""The eighth fresh held-out set (issue 22, round 10): seven constructions per label, checked by truth.py.

Written after the round-10 method was committed as frozen (commit a31cbe2: "still learning" read off
a least-squares line through the second half), and committed before anything in it is fitted.
Fresh set 7 is development data from round 10 on.

Built like sets 5 to 7 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 13000), data seeds (73), and two newly generated CSV series written by
``make_fresh.py --set 8``: an hourly solar-like series (a daily cycle that is zero at night, times
an AR(1) cloud factor, with noise) and a sensor-like series in its own units near 100 (a slow drift,
AR(1) noise and rare level shifts). Earlier sets' series (daily, flow, weekly, temperature-like,
counts, sales) at new sizes and with other models. Loss scales: binary and multiclass
cross-entropy, MAE, MSE. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 13000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh8")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 9, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 73}}
ECHO = {"name": "echo", "params": {"length": 10, "n_features": 12, "out_index": 2, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 73}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 16, "out_index": 5, "n_train": 25,
                                         "n_val": 400, "n_test": 10, "seed": 73}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 60, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 73}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 60, "n_train": 35, "n_val": 400,
                                                 "n_test": 10, "seed": 73}}
DAMPED = {"name": "damped_sine", "params": {"length": 24, "horizon": 1, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 73}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2200, "n_steps": 20, "seed": 73}}
SOLAR = csv("fresh8_solar.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
SOLAR_SMALL = csv("fresh8_solar.csv", look_back=24, train_fraction=0.03, val_fraction=0.5, scaling="standard")
SENSOR = csv("fresh8_sensor.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="standard")
SENSOR_RAW = csv("fresh8_sensor.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="none")
SENSOR_SMALL = csv("fresh8_sensor.csv", look_back=20, train_fraction=0.045, val_fraction=0.5, scaling="standard")
DAILY = csv("fresh7_daily.csv", look_back=21, train_fraction=0.7, val_fraction=0.15, scaling="standard")
DAILY_SMALL = csv("fresh7_daily.csv", look_back=21, train_fraction=0.06, val_fraction=0.5, scaling="standard")
FLOW = csv("fresh7_flow.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="standard")
FLOW_RAW = csv("fresh7_flow.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="none")
FLOW_SMALL = csv("fresh7_flow.csv", look_back=20, train_fraction=0.04, val_fraction=0.5, scaling="standard")
WEEKLY = csv("fresh2_weekly.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="standard")
TEMP = csv("fresh6_temp.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="standard")
COUNTS = csv("fresh6_counts.csv", look_back=21, train_fraction=0.7, val_fraction=0.2, scaling="standard")
SALES_SMALL = csv("fresh5_sales.csv", look_back=14, train_fraction=0.035, val_fraction=0.5, scaling="standard")

FRESH8 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("solar-4-epochs", UNDERFIT, "hourly solar (standardised), 16 cells at lr 1e-3 for 4 epochs", SOLAR,
         lstm(16, learning_rate=1e-3), {"epochs": 4, "batch_size": 32}),
    case("sensor-raw-slow", UNDERFIT, "MSE on the sensor in its own units (~100), 16 cells at lr 3e-4 for 15 epochs",
         SENSOR_RAW, lstm(16, learning_rate=3e-4), {"epochs": 15, "batch_size": 32}),
    case("echo-adagrad-slow", UNDERFIT, "multiclass CE, Adagrad at lr 1e-3 for 15 epochs", ECHO,
         lstm(16, optimizer="adagrad", learning_rate=1e-3), {"epochs": 15, "batch_size": 32}),
    case("cumsum-gru-sgd-slow", UNDERFIT, "binary CE, 16 GRU cells, SGD at lr 2e-3 without momentum for 15 epochs",
         CUMSUM, gru(16, optimizer="sgd", learning_rate=2e-3, momentum=0.0), {"epochs": 15, "batch_size": 32}),
    case("damped-stacked-1e5", UNDERFIT, "MSE, 2x16 LSTM at lr 1e-5 for 20 epochs", DAMPED,
         stacked(16, learning_rate=1e-5), {"epochs": 20, "batch_size": 32}),
    case("two-sine-cnn-lstm-4-epochs", UNDERFIT, "MSE, CNN-LSTM 16 at lr 3e-4 for 4 epochs", TWO_SINE,
         {"family": "cnn_lstm", "units": 16, "learning_rate": 3e-4}, {"epochs": 4, "batch_size": 32}),
    case("addition-ed-adagrad", UNDERFIT, "seq2seq CE, encoder-decoder 16, Adagrad at lr 1e-3 for 8 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 16, "optimizer": "adagrad", "learning_rate": 1e-3},
         {"epochs": 8, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("solar-small-2x64", OVERFIT, "hourly solar (standardised), 2x64 LSTM on ~48 windows, 200 epochs",
         SOLAR_SMALL, stacked(64, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("sensor-small-bidirectional", OVERFIT, "sensor (standardised), bidirectional 64 on ~48 windows, 200 epochs",
         SENSOR_SMALL, {"family": "bidirectional", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("echo-small-gru-96", OVERFIT, "multiclass CE, 96 GRU cells on 25 sequences, 150 epochs", ECHO_SMALL,
         gru(96, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("addition-small-ed-96", OVERFIT, "seq2seq CE, encoder-decoder 96 on 35 sums, 200 epochs", ADDITION_SMALL,
         {"family": "encoder_decoder", "units": 96, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("daily-small-cnn-lstm-mae", OVERFIT, "MAE on daily load (standardised), CNN-LSTM 64 on ~45 windows, "
         "200 epochs", DAILY_SMALL, {"family": "cnn_lstm", "units": 64, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("flow-small-gru-2x64", OVERFIT, "river flow (standardised), 2x64 GRU on ~40 windows, 200 epochs", FLOW_SMALL,
         stacked(64, cell="gru", learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("sales-small-bidirectional", OVERFIT, "sales (standardised), bidirectional 64 on ~40 windows, 200 epochs",
         SALES_SMALL, {"family": "bidirectional", "units": 64, "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("solar-early", GOOD_FIT, "hourly solar (standardised), 16 cells, early stopping (patience 12)", SOLAR,
         lstm(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("sensor-gru-early", GOOD_FIT, "sensor (standardised), 16 GRU cells, early stopping (patience 12)", SENSOR,
         gru(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("flow-mae-converged", GOOD_FIT, "MAE on river flow (standardised), 16 cells at lr 2e-3 for 60 epochs", FLOW,
         lstm(16, learning_rate=2e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("daily-gru-converged", GOOD_FIT, "daily load (standardised), 16 GRU cells at lr 2e-3 for 60 epochs", DAILY,
         gru(16, learning_rate=2e-3), {"epochs": 60, "batch_size": 32}),
    case("temp-bidirectional-early", GOOD_FIT, "temperature-like series, bidirectional 16, early stopping "
         "(patience 12)", TEMP, {"family": "bidirectional", "units": 16, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("weekly-stacked-early", GOOD_FIT, "weekly series (standardised), 2x16 LSTM, early stopping (patience 12)",
         WEEKLY, stacked(16, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("counts-early", GOOD_FIT, "counts (standardised), 16 cells, early stopping (patience 15)", COUNTS,
         lstm(16, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(15)}),
    # --- unstable: learning rates that break the optimiser ------------------------------------------
    case("solar-adam-lr3", UNSTABLE, "hourly solar (standardised), Adam at lr 3", SOLAR, lstm(16, learning_rate=3.0),
         {"epochs": 30, "batch_size": 32}),
    case("sensor-sgd-lr15", UNSTABLE, "sensor (standardised), SGD at lr 15", SENSOR,
         lstm(16, optimizer="sgd", learning_rate=15.0), {"epochs": 30, "batch_size": 32}),
    case("echo-adam-lr1p5", UNSTABLE, "multiclass CE, Adam at lr 1.5", ECHO, lstm(16, learning_rate=1.5),
         {"epochs": 30, "batch_size": 32}),
    case("cumsum-rmsprop-lr3", UNSTABLE, "binary CE, RMSprop at lr 3", CUMSUM,
         lstm(16, optimizer="rmsprop", learning_rate=3.0), {"epochs": 30, "batch_size": 32}),
    case("damped-sgd-momentum-lr6", UNSTABLE, "MSE, SGD at lr 6 with momentum 0.9", DAMPED,
         lstm(16, optimizer="sgd", learning_rate=6.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("flow-raw-sgd", UNSTABLE, "MSE on river flow in its own units (~30), SGD at lr 0.02", FLOW_RAW,
         lstm(16, optimizer="sgd", learning_rate=0.02), {"epochs": 30, "batch_size": 32}),
    case("daily-adagrad-lr25", UNSTABLE, "daily load (standardised), Adagrad at lr 25", DAILY,
         lstm(16, optimizer="adagrad", learning_rate=25.0), {"epochs": 30, "batch_size": 32}),
]
