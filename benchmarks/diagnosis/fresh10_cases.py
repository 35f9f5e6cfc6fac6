"""The tenth fresh held-out set (issue 22, round 13): seven constructions per label, checked by truth.py.

Written after round 13's method was committed as frozen (commit 7688ae9: a run the curve rules
call underfit whose first epoch's train loss was >= 10x the naive baseline and >= 20x its final
level is unstable), and committed before anything in it is fitted. Fresh set 9 is development data
from round 13 on.

Built like sets 5 to 9 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 15000), data seeds (75), and two newly generated CSV series written by
``make_fresh.py --set 10``: a daily river-level-like series in metres (~2, a wet-season cycle, slow
floods from storms that rise over a few days and recede over weeks, long wet and dry spells from a
slowly wandering AR(1) level) and a daily web-traffic-like series (~3,000-8,000 views, a weekly
cycle with low weekends, growth, bursts that decay over a few days, log-normal AR(1) noise).

What round 13's rule is tested with, both ways: unstable constructions of the "blew up, then
recovered" kind (Adagrad at lr 20, Adam at lr 1.5-2, SGD with momentum on a series in its own
units), and slow learners on the river series in its own units (metres: an untrained model starts
~600x the naive baseline with no high learning rate at all): too few epochs of Adam, SGD with MAE,
a CNN-LSTM at lr 1e-4; beside them fast-learning good fits on the raw river and on raw river flow.
New to the fresh sets: the Box-Cox transform and seasonal differencing (web traffic, lag 7), CNN-LSTM
with its own filters and kernel, a bidirectional GRU, an encoder-decoder forecasting four steps of
two sines, two-term sums up to 99. Loss scales: binary and multiclass cross-entropy, seq2seq CE,
MAE and MSE, from standardised series to metres and flow in their own units. Each config's label
is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 15000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh10")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 12, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 75}}
ECHO = {"name": "echo", "params": {"length": 11, "n_features": 15, "out_index": 3, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 75}}
ECHO_SMALL = {"name": "echo", "params": {"length": 11, "n_features": 20, "out_index": 6, "n_train": 24,
                                         "n_val": 400, "n_test": 10, "seed": 75}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 99, "n_train": 1500, "n_val": 200,
                                           "n_test": 10, "seed": 75}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 99, "n_train": 30, "n_val": 400,
                                                 "n_test": 10, "seed": 75}}
DAMPED = {"name": "damped_sine", "params": {"length": 26, "horizon": 2, "n_train": 1500, "n_val": 300, "n_test": 10,
                                            "seed": 75}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 24, "seed": 75}}
TWO_SINE_AHEAD = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 24, "horizon": 4, "seed": 75}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 80, "n_steps": 24, "seed": 75}}
RIVER = csv("fresh10_river.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
RIVER_RAW = csv("fresh10_river.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="none")
RIVER_SMALL = csv("fresh10_river.csv", look_back=30, train_fraction=0.045, val_fraction=0.5, scaling="standard")
WEB = csv("fresh10_web.csv", look_back=28, train_fraction=0.7, val_fraction=0.2, scaling="standard",
          transform="boxcox")
WEB_SEASONAL = csv("fresh10_web.csv", look_back=28, train_fraction=0.7, val_fraction=0.2, scaling="standard",
                   transform="log", seasonal_difference=7)
WEB_SMALL = csv("fresh10_web.csv", look_back=28, train_fraction=0.05, val_fraction=0.5, scaling="standard",
                transform="log")
FLOW_RAW = csv("fresh7_flow.csv", look_back=20, train_fraction=0.7, val_fraction=0.2, scaling="none")
BURSTY_SMALL = csv("fresh4_bursty.csv", look_back=20, train_fraction=0.04, val_fraction=0.5, scaling="standard")

FRESH10 = [
    # --- underfit: far too few epochs, or far too slow a learning rate -------------------------------
    case("river-raw-5-epochs", UNDERFIT, "MSE on the river level in metres (~2, unscaled), 16 cells at lr 2e-3 "
         "for 5 epochs: a slow learner starting far above the baseline with no high learning rate", RIVER_RAW,
         lstm(16, learning_rate=2e-3), {"epochs": 5, "batch_size": 32}),
    case("river-raw-mae-gru-sgd-slow", UNDERFIT, "MAE on the river level in metres, 16 GRU cells, SGD at lr 1e-3 "
         "without momentum for 20 epochs", RIVER_RAW,
         gru(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0, loss="mae"), {"epochs": 20, "batch_size": 32}),
    case("river-raw-cnn-lstm-1e4", UNDERFIT, "MSE on the river level in metres, CNN-LSTM 16 (16 filters, kernel 5) "
         "at lr 1e-4 for 12 epochs", RIVER_RAW,
         {"family": "cnn_lstm", "units": 16, "filters": 16, "kernel_size": 5, "learning_rate": 1e-4},
         {"epochs": 12, "batch_size": 32}),
    case("web-boxcox-stacked-gru-sgd-slow", UNDERFIT, "web traffic (Box-Cox, standardised), 2x16 GRU, SGD at lr 5e-4 "
         "without momentum for 15 epochs", WEB,
         stacked(16, cell="gru", optimizer="sgd", learning_rate=5e-4, momentum=0.0), {"epochs": 15, "batch_size": 32}),
    case("echo-stacked-sgd-slow", UNDERFIT, "multiclass CE, 2x24 LSTM, SGD at lr 1e-3 with momentum 0.9 for 12 epochs",
         ECHO, stacked(24, optimizer="sgd", learning_rate=1e-3, momentum=0.9), {"epochs": 12, "batch_size": 32}),
    case("addition99-ed-3-epochs", UNDERFIT, "seq2seq CE on sums up to 99+99, encoder-decoder 48 at lr 1e-3 for "
         "3 epochs", ADDITION, {"family": "encoder_decoder", "units": 48, "learning_rate": 1e-3},
         {"epochs": 3, "batch_size": 32}),
    case("cumsum-bidirectional-rmsprop-1e5", UNDERFIT, "binary CE, bidirectional 16, RMSprop at lr 1e-5 for 15 epochs",
         CUMSUM, {"family": "bidirectional", "units": 16, "optimizer": "rmsprop", "learning_rate": 1e-5},
         {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("river-small-2x96", OVERFIT, "river level (standardised), 2x96 LSTM on ~50 windows, 200 epochs", RIVER_SMALL,
         stacked(96, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("web-small-cnn-lstm-mae", OVERFIT, "MAE on web traffic's log (standardised), CNN-LSTM 96 (64 filters, "
         "kernel 5) on ~50 windows, 200 epochs", WEB_SMALL,
         {"family": "cnn_lstm", "units": 96, "filters": 64, "kernel_size": 5, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("web-small-gru-128", OVERFIT, "web traffic's log (standardised), 128 GRU cells on ~50 windows, 200 epochs",
         WEB_SMALL, gru(128, learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    case("echo-small-bidirectional-gru-128", OVERFIT, "multiclass CE, bidirectional GRU 128 on 24 sequences, "
         "150 epochs", ECHO_SMALL, {"family": "bidirectional", "cell": "gru", "units": 128, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 8}),
    case("two-sine-small-stacked-gru-128", OVERFIT, "MSE, 2x128 GRU on 56 noisy two-sine series, 200 epochs",
         TWO_SINE_SMALL, stacked(128, cell="gru", learning_rate=3e-3), {"epochs": 200, "batch_size": 8}),
    case("addition99-small-ed-128", OVERFIT, "seq2seq CE, encoder-decoder 128 on 30 sums up to 99+99, 200 epochs",
         ADDITION_SMALL, {"family": "encoder_decoder", "units": 128, "learning_rate": 5e-3},
         {"epochs": 200, "batch_size": 8}),
    case("bursty-small-2x128-mae", OVERFIT, "MAE on the bursty AR(1) series (standardised), 2x128 LSTM on ~50 "
         "windows, 200 epochs", BURSTY_SMALL, stacked(128, learning_rate=3e-3, loss="mae"),
         {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("river-raw-early", GOOD_FIT, "MSE on the river level in metres (unscaled), 24 cells at lr 5e-3, early "
         "stopping (patience 12): a fast learner starting far above the baseline", RIVER_RAW,
         lstm(24, learning_rate=5e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("river-raw-gru-mae-converged", GOOD_FIT, "MAE on the river level in metres, 16 GRU cells at lr 5e-3 for "
         "60 epochs", RIVER_RAW, gru(16, learning_rate=5e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("flow-raw-mae-early", GOOD_FIT, "MAE on river flow in its own units (~30), 24 cells at lr 1e-2, early "
         "stopping (patience 15)", FLOW_RAW, lstm(24, learning_rate=1e-2, loss="mae"),
         {"epochs": 200, "batch_size": 32, "early_stopping": early(15)}),
    case("web-boxcox-early", GOOD_FIT, "web traffic (Box-Cox, standardised), 24 cells, early stopping (patience 12)",
         WEB, lstm(24, learning_rate=2e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("river-cnn-lstm-early", GOOD_FIT, "river level (standardised), CNN-LSTM 16 (32 filters, kernel 3), early "
         "stopping (patience 12)", RIVER, {"family": "cnn_lstm", "units": 16, "learning_rate": 2e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("two-sine-ahead-ed-early", GOOD_FIT, "MSE, two sines four steps ahead, encoder-decoder 24, early stopping "
         "(patience 10)", TWO_SINE_AHEAD, {"family": "encoder_decoder", "units": 24, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("cumsum-stacked-gru-early", GOOD_FIT, "binary CE, 2x16 GRU, early stopping (patience 10)", CUMSUM,
         stacked(16, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    # --- unstable: learning rates that break the optimiser (several blow up, then recover) -----------
    case("river-adagrad-lr20", UNSTABLE, "river level (standardised), Adagrad at lr 20", RIVER,
         lstm(16, optimizer="adagrad", learning_rate=20.0), {"epochs": 30, "batch_size": 32}),
    case("web-boxcox-gru-adam-lr2", UNSTABLE, "web traffic (Box-Cox, standardised), 16 GRU cells, Adam at lr 2", WEB,
         gru(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("web-seasonal-stacked-rmsprop-lr1", UNSTABLE, "web traffic's log, differenced at lag 7 (standardised), "
         "2x16 LSTM, RMSprop at lr 1", WEB_SEASONAL, stacked(16, optimizer="rmsprop", learning_rate=1.0),
         {"epochs": 30, "batch_size": 32}),
    case("two-sine-cnn-lstm-adam-lr1p5", UNSTABLE, "MSE, two sines, CNN-LSTM 16, Adam at lr 1.5", TWO_SINE,
         {"family": "cnn_lstm", "units": 16, "learning_rate": 1.5}, {"epochs": 30, "batch_size": 32}),
    case("echo-gru-adagrad-lr10", UNSTABLE, "multiclass CE, 16 GRU cells, Adagrad at lr 10", ECHO,
         gru(16, optimizer="adagrad", learning_rate=10.0), {"epochs": 30, "batch_size": 32}),
    case("river-raw-sgd-momentum", UNSTABLE, "MSE on the river level in metres (unscaled), SGD at lr 0.03 with "
         "momentum 0.9", RIVER_RAW, lstm(16, optimizer="sgd", learning_rate=0.03, momentum=0.9),
         {"epochs": 30, "batch_size": 32}),
    case("damped-ahead-ed-adam-lr1p5", UNSTABLE, "MSE, damped sines two steps ahead, encoder-decoder 16, Adam at "
         "lr 1.5", DAMPED, {"family": "encoder_decoder", "units": 16, "learning_rate": 1.5},
         {"epochs": 30, "batch_size": 32}),
]
