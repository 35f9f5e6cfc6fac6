"""The thirteenth fresh held-out set (issue 22, round 17): seven constructions per label, checked by truth.py.

Written after round 17's method was committed as frozen (with early stopping that restored the best
epoch, the val curve's thrashing is read up to that epoch, as its overfitting already was), and
committed before anything in it is fitted. Fresh sets 1 to 12 and the old corpus are development
data from round 17 on.

Built like sets 5 to 12 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 18000), data seeds (78), and two newly generated CSV series written by
``make_fresh.py --set 13``: a chaotic delay-differential series (the Mackey-Glass equation with a
delay of 17, integrated in small steps and sampled every 3 time units, plus a little observation
noise; values near 1) and an hourly wind speed in km/h (a skewed, non-negative series: a latent
AR(1) with a daily cycle pushed through a Weibull-like transform, gusts, whole tenths of a km/h).
New to the fresh sets: a deterministic chaotic series (aperiodic but learnable) and a skewed,
bounded-below series whose noise grows with its level (the wind).

What round 17's change is tested with, both ways: good fits early-stopped with the best epoch
restored on a small val split (whose val curve is noisy, mostly after the best epoch), which must be
good fits; unstable runs early-stopped with the best epoch restored, whose val thrashes before it,
which must stay unstable; and overfits of big models on a few dozen samples of the noisy wind and
the chaotic series, whose val curves are noisy. Loss scales: binary and multiclass cross-entropy,
MAE (damped sines, the wind in km/h unscaled and min-max scaled, the chaotic series), MSE on
standardised series and on the wind in km/h (a level near 20). Each config's label is its
construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 18000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh13")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 14, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 78}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 14, "n_train": 28, "n_val": 400, "n_test": 10, "seed": 78}}
ECHO = {"name": "echo", "params": {"length": 12, "n_features": 8, "out_index": 4, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 78}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 12, "out_index": 5, "n_train": 24,
                                         "n_val": 400, "n_test": 10, "seed": 78}}
DAMPED = {"name": "damped_sine", "params": {"length": 30, "horizon": 1, "n_train": 1500, "n_val": 300,
                                            "n_test": 10, "seed": 78}}
DAMPED_AHEAD = {"name": "damped_sine", "params": {"length": 30, "horizon": 2, "n_train": 1500, "n_val": 300,
                                                  "n_test": 10, "seed": 78}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 24, "seed": 78}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 70, "n_steps": 24, "seed": 78}}
CHAOS = csv("fresh13_chaos.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
CHAOS_MINMAX = csv("fresh13_chaos.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
CHAOS_SMALL = csv("fresh13_chaos.csv", look_back=30, train_fraction=0.028, val_fraction=0.5, scaling="standard")
WIND = csv("fresh13_wind.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="standard")
WIND_SMALL_VAL = csv("fresh13_wind.csv", look_back=24, train_fraction=0.8, val_fraction=0.06, scaling="standard")
WIND_MINMAX = csv("fresh13_wind.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
WIND_RAW = csv("fresh13_wind.csv", look_back=24, train_fraction=0.7, val_fraction=0.2, scaling="none")
WIND_SMALL = csv("fresh13_wind.csv", look_back=24, train_fraction=0.025, val_fraction=0.5, scaling="standard")

FRESH13 = [
    # --- underfit: far too few epochs, or far too slow a learning rate ------------------------------
    case("wind-raw-mae-slow", UNDERFIT, "MAE on the wind in km/h (~20, unscaled), 16 cells at lr 1e-3 for 20 "
         "epochs: the output climbs towards the level and is nowhere near it", WIND_RAW,
         lstm(16, learning_rate=1e-3, loss="mae"), {"epochs": 20, "batch_size": 32}),
    case("chaos-sgd-slow", UNDERFIT, "the chaotic series (standardised), 16 cells, SGD at lr 1e-3 without momentum "
         "for 15 epochs", CHAOS, lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0),
         {"epochs": 15, "batch_size": 32}),
    case("chaos-gru-5-epochs", UNDERFIT, "the chaotic series (standardised), 16 GRU cells at lr 1e-3 for 5 epochs",
         CHAOS, gru(16, learning_rate=1e-3), {"epochs": 5, "batch_size": 32}),
    case("wind-stacked-adagrad-slow", UNDERFIT, "the wind (standardised), 2x16 LSTM, Adagrad at lr 1e-3 for 12 "
         "epochs", WIND, stacked(16, optimizer="adagrad", learning_rate=1e-3), {"epochs": 12, "batch_size": 32}),
    case("cumsum-rmsprop-1e5", UNDERFIT, "binary CE, 16 cells, RMSprop at lr 1e-5 for 10 epochs", CUMSUM,
         lstm(16, optimizer="rmsprop", learning_rate=1e-5), {"epochs": 10, "batch_size": 32}),
    case("echo-gru-3e4", UNDERFIT, "multiclass CE, 12 GRU cells at lr 3e-4 for 10 epochs", ECHO,
         gru(12, learning_rate=3e-4), {"epochs": 10, "batch_size": 32}),
    case("damped-ahead-sgd-slow", UNDERFIT, "MAE, damped sines two steps ahead, 16 cells, SGD at lr 1e-3 without "
         "momentum for 15 epochs", DAMPED_AHEAD, lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0, loss="mae"),
         {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long (noisy val) ---------
    case("wind-small-256", OVERFIT, "the wind (standardised), 256 cells at lr 5e-3 on ~50 windows, 200 epochs",
         WIND_SMALL, lstm(256, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("wind-small-bidirectional-96-mae", OVERFIT, "MAE on the wind (standardised), bidirectional 96 on ~50 "
         "windows, 200 epochs", WIND_SMALL, {"family": "bidirectional", "units": 96, "learning_rate": 3e-3,
                                             "loss": "mae"}, {"epochs": 200, "batch_size": 8}),
    case("chaos-small-2x128", OVERFIT, "the chaotic series (standardised) with observation noise, 2x128 LSTM on "
         "~55 windows, 200 epochs", CHAOS_SMALL, stacked(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("chaos-small-gru-160-mae", OVERFIT, "MAE on the chaotic series (standardised), 160 GRU cells on ~55 "
         "windows, 200 epochs", CHAOS_SMALL, gru(160, learning_rate=5e-3, loss="mae"), {"epochs": 200, "batch_size": 8}),
    case("two-sine-small-cnn-lstm", OVERFIT, "MSE, CNN-LSTM 128 (64 filters, kernel 3) on 49 noisy two-sine series, "
         "200 epochs", TWO_SINE_SMALL, {"family": "cnn_lstm", "units": 128, "filters": 64, "kernel_size": 3,
                                        "learning_rate": 5e-3}, {"epochs": 200, "batch_size": 8}),
    case("echo-small-stacked-128", OVERFIT, "multiclass CE, 2x128 LSTM on 24 sequences, 150 epochs", ECHO_SMALL,
         stacked(128, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("cumsum-small-gru-128", OVERFIT, "binary CE, 128 GRU cells on 28 sequences, 200 epochs", CUMSUM_SMALL,
         gru(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("chaos-early", GOOD_FIT, "the chaotic series (standardised), 32 cells at lr 3e-3, early stopping "
         "(patience 12)", CHAOS, lstm(32, learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("chaos-minmax-mae-early", GOOD_FIT, "MAE on the chaotic series (min-max scaled), 24 GRU cells at lr 3e-3, "
         "early stopping (patience 15)", CHAOS_MINMAX, gru(24, learning_rate=3e-3, loss="mae"),
         {"epochs": 200, "batch_size": 32, "early_stopping": early(15)}),
    case("wind-small-val-early", GOOD_FIT, "the wind (standardised), 32 cells at lr 3e-3 on a small val split "
         "(~150 windows, a noisy val curve), early stopping (patience 15)", WIND_SMALL_VAL,
         lstm(32, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(15)}),
    case("wind-minmax-mae-converged", GOOD_FIT, "MAE on the wind (min-max scaled), 24 cells at lr 3e-3 for 60 epochs",
         WIND_MINMAX, lstm(24, learning_rate=3e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("damped-gru-early", GOOD_FIT, "MAE, damped sines, 24 GRU cells at lr 3e-3, early stopping (patience 10)",
         DAMPED, gru(24, learning_rate=3e-3, loss="mae"),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("two-sine-stacked-early", GOOD_FIT, "MSE, two noisy sines, 2x24 LSTM at lr 3e-3, early stopping "
         "(patience 10)", TWO_SINE, stacked(24, learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("echo-early", GOOD_FIT, "multiclass CE, 24 cells at lr 3e-3, early stopping (patience 10)", ECHO,
         lstm(24, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(10)}),
    # --- unstable: learning rates that break the optimiser (two early-stopped with the best restored) --
    case("wind-raw-sgd-momentum", UNSTABLE, "MSE on the wind in km/h (unscaled), SGD at lr 1e-2 with momentum 0.9",
         WIND_RAW, lstm(16, optimizer="sgd", learning_rate=1e-2, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("wind-rmsprop-lr1-early", UNSTABLE, "the wind (standardised), 16 cells, RMSprop at lr 1, early stopping "
         "(patience 10, best epoch restored)", WIND, lstm(16, optimizer="rmsprop", learning_rate=1.0),
         {"epochs": 60, "batch_size": 32, "early_stopping": early(10)}),
    case("chaos-gru-adam-lr2", UNSTABLE, "the chaotic series (standardised), 16 GRU cells, Adam at lr 2", CHAOS,
         gru(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("chaos-adagrad-lr20-early", UNSTABLE, "the chaotic series (standardised), 16 cells, Adagrad at lr 20, early "
         "stopping (patience 10, best epoch restored)", CHAOS, lstm(16, optimizer="adagrad", learning_rate=20.0),
         {"epochs": 60, "batch_size": 32, "early_stopping": early(10)}),
    case("two-sine-stacked-adam-lr1p5", UNSTABLE, "MSE, two noisy sines, 2x16 LSTM, Adam at lr 1.5", TWO_SINE,
         stacked(16, learning_rate=1.5), {"epochs": 30, "batch_size": 32}),
    case("echo-rmsprop-lr2", UNSTABLE, "multiclass CE, 16 cells, RMSprop at lr 2", ECHO,
         lstm(16, optimizer="rmsprop", learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("damped-sgd-momentum-lr5", UNSTABLE, "MAE, damped sines, 16 cells, SGD at lr 5 with momentum 0.9", DAMPED,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9, loss="mae"), {"epochs": 30, "batch_size": 32}),
]
