"""The twelfth fresh held-out set (issue 22, round 16): seven constructions per label, checked by truth.py.

Written after round 16's method was committed as frozen (the wander rule reads a val curve's epoch
noise against what it improved from the first epoch within 3x its level, not against a blown-up
start), and committed before anything in it is fitted. Fresh sets 1 to 11 and the old corpus are
development data from round 16 on.

Built like sets 5 to 11 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label.

New seeds (base seed 17000), data seeds (77), and two newly generated CSV series written by
``make_fresh.py --set 12``: an hourly tide gauge in millimetres (~2,600 mm: four tidal constituents
of incommensurate periods, so a spring-neap beat of about 15 days, a storm surge as a slow AR(1),
gauge noise, whole millimetres) and an electrocardiogram-like trace in millivolts (a sharp pulse
of P, QRS and T waves per beat, beats 20-28 samples apart with a wandering rate, a slow baseline
drift and noise). New to the fresh sets: a quasi-periodic series whose cycle beats (the tides) and a
series made of sharp, irregularly spaced pulses (the trace).

What round 16's change is tested with, both ways: unstable runs whose start blows up and that then
sit near or above the naive baseline (SGD with momentum on the tide in mm, Adagrad at lr 20, RMSprop
at lr 1, Adam at lr 2), and slow learners in raw units whose val loss starts far above the baseline
and comes down (three on the tide in mm, MAE and MSE), which must stay underfit; a good fit whose
first epochs start far above its level (min-max scaled tide, early stopping). Loss scales: binary
and multiclass cross-entropy, MAE (damped sines, the tide in mm, min-max scaled and standardised,
the trace), MSE on standardised series and on the tide in mm (a level of 2,600 squared). Each
config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 17000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh12")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 16, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 77}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 16, "n_train": 32, "n_val": 400, "n_test": 10, "seed": 77}}
ECHO = {"name": "echo", "params": {"length": 12, "n_features": 10, "out_index": 3, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 77}}
ECHO_SMALL = {"name": "echo", "params": {"length": 10, "n_features": 14, "out_index": 6, "n_train": 24,
                                         "n_val": 400, "n_test": 10, "seed": 77}}
DAMPED = {"name": "damped_sine", "params": {"length": 30, "horizon": 1, "n_train": 1500, "n_val": 300,
                                            "n_test": 10, "seed": 77}}
DAMPED_AHEAD = {"name": "damped_sine", "params": {"length": 30, "horizon": 2, "n_train": 1500, "n_val": 300,
                                                  "n_test": 10, "seed": 77}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 24, "seed": 77}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 80, "n_steps": 24, "seed": 77}}
TIDE = csv("fresh12_tide.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
TIDE_MINMAX = csv("fresh12_tide.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
TIDE_RAW = csv("fresh12_tide.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="none")
TIDE_SMALL = csv("fresh12_tide.csv", look_back=30, train_fraction=0.027, val_fraction=0.5, scaling="standard")
TRACE = csv("fresh12_trace.csv", look_back=32, train_fraction=0.7, val_fraction=0.2, scaling="standard")
TRACE_SMALL = csv("fresh12_trace.csv", look_back=32, train_fraction=0.03, val_fraction=0.5, scaling="standard")

FRESH12 = [
    # --- underfit: far too few epochs, or far too slow a learning rate (three slow learners in mm) ---
    case("tide-raw-mae-slow", UNDERFIT, "MAE on the tide in mm (~2,600, unscaled), 16 cells at lr 3e-3 for 20 "
         "epochs: the output climbs towards the level and is nowhere near it", TIDE_RAW,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 20, "batch_size": 32}),
    case("tide-raw-mse-10-epochs", UNDERFIT, "MSE on the tide in mm (unscaled), 24 cells at lr 1e-2 for 10 epochs",
         TIDE_RAW, lstm(24, learning_rate=1e-2), {"epochs": 10, "batch_size": 32}),
    case("tide-raw-gru-mae-15-epochs", UNDERFIT, "MAE on the tide in mm (unscaled), 16 GRU cells at lr 3e-2 for "
         "15 epochs", TIDE_RAW, gru(16, learning_rate=3e-2, loss="mae"), {"epochs": 15, "batch_size": 32}),
    case("trace-sgd-slow", UNDERFIT, "the trace (standardised), 16 cells, SGD at lr 1e-3 without momentum for 15 "
         "epochs", TRACE, lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0),
         {"epochs": 15, "batch_size": 32}),
    case("two-sine-gru-6-epochs", UNDERFIT, "MSE, two noisy sines, 16 GRU cells at lr 1e-3 for 6 epochs", TWO_SINE,
         gru(16, learning_rate=1e-3), {"epochs": 6, "batch_size": 32}),
    case("echo-bidirectional-3e4", UNDERFIT, "multiclass CE, bidirectional 12 at lr 3e-4 for 10 epochs", ECHO,
         {"family": "bidirectional", "units": 12, "learning_rate": 3e-4}, {"epochs": 10, "batch_size": 32}),
    case("damped-ahead-stacked-rmsprop-1e5", UNDERFIT, "MAE, damped sines two steps ahead, 2x16 LSTM, RMSprop at "
         "lr 1e-5 for 15 epochs", DAMPED_AHEAD, stacked(16, optimizer="rmsprop", learning_rate=1e-5),
         {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long ---------------------
    case("tide-small-2x128", OVERFIT, "the tide (standardised), 2x128 LSTM on ~50 windows, 200 epochs", TIDE_SMALL,
         stacked(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("tide-small-2x96-gru-mae", OVERFIT, "MAE on the tide (standardised), 2x96 GRU on ~50 windows, 200 epochs",
         TIDE_SMALL, stacked(96, cell="gru", learning_rate=3e-3, loss="mae"), {"epochs": 200, "batch_size": 8}),
    case("trace-small-gru-128", OVERFIT, "the trace (standardised), 128 GRU cells at lr 5e-3 on ~60 windows, "
         "200 epochs", TRACE_SMALL, gru(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("trace-small-cnn-lstm-mae", OVERFIT, "MAE on the trace (standardised), CNN-LSTM 96 (64 filters, kernel 5) "
         "on ~60 windows, 200 epochs", TRACE_SMALL,
         {"family": "cnn_lstm", "units": 96, "filters": 64, "kernel_size": 5, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("two-sine-small-256", OVERFIT, "MSE, 256 cells at lr 5e-3 on 56 noisy two-sine series, 200 epochs",
         TWO_SINE_SMALL, lstm(256, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("echo-small-bidirectional-128", OVERFIT, "multiclass CE, bidirectional 128 on 24 sequences, 150 epochs",
         ECHO_SMALL, {"family": "bidirectional", "units": 128, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 8}),
    case("cumsum-small-128", OVERFIT, "binary CE, 128 cells on 32 sequences, 200 epochs", CUMSUM_SMALL,
         lstm(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("tide-early", GOOD_FIT, "the tide (standardised), 32 cells at lr 3e-3, early stopping (patience 12)", TIDE,
         lstm(32, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("tide-minmax-mae-early", GOOD_FIT, "MAE on the tide (min-max scaled), 24 cells at lr 3e-3, early stopping "
         "(patience 15): its first epochs start far above its level", TIDE_MINMAX,
         lstm(24, learning_rate=3e-3, loss="mae"), {"epochs": 200, "batch_size": 32, "early_stopping": early(15)}),
    case("trace-early", GOOD_FIT, "the trace (standardised), 32 cells at lr 3e-3, early stopping (patience 12)",
         TRACE, lstm(32, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("trace-gru-mae-converged", GOOD_FIT, "MAE on the trace (standardised), 24 GRU cells at lr 3e-3 for 60 "
         "epochs", TRACE, gru(24, learning_rate=3e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("two-sine-early", GOOD_FIT, "MSE, two noisy sines, 24 cells, early stopping (patience 10)", TWO_SINE,
         lstm(24, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("damped-stacked-early", GOOD_FIT, "MAE, damped sines, 2x24 LSTM at lr 3e-3, early stopping (patience 10)",
         DAMPED, stacked(24, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("cumsum-early", GOOD_FIT, "binary CE, 24 cells at lr 3e-3, early stopping (patience 10)", CUMSUM,
         lstm(24, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(10)}),
    # --- unstable: learning rates that break the optimiser (several blow up, then sit near the baseline)
    case("tide-raw-sgd-momentum", UNSTABLE, "MSE on the tide in mm (~2,600, unscaled), SGD at lr 3e-3 with "
         "momentum 0.9", TIDE_RAW, lstm(16, optimizer="sgd", learning_rate=3e-3, momentum=0.9),
         {"epochs": 30, "batch_size": 32}),
    case("tide-adagrad-lr20", UNSTABLE, "the tide (standardised), 16 cells, Adagrad at lr 20", TIDE,
         lstm(16, optimizer="adagrad", learning_rate=20.0), {"epochs": 30, "batch_size": 32}),
    case("trace-stacked-rmsprop-lr1", UNSTABLE, "the trace (standardised), 2x16 LSTM, RMSprop at lr 1", TRACE,
         stacked(16, optimizer="rmsprop", learning_rate=1.0), {"epochs": 30, "batch_size": 32}),
    case("trace-gru-adam-lr2", UNSTABLE, "the trace (standardised), 16 GRU cells, Adam at lr 2", TRACE,
         gru(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-bidirectional-adagrad-lr15", UNSTABLE, "MSE, two noisy sines, bidirectional 16, Adagrad at lr 15",
         TWO_SINE, {"family": "bidirectional", "units": 16, "optimizer": "adagrad", "learning_rate": 15.0},
         {"epochs": 30, "batch_size": 32}),
    case("echo-sgd-momentum-lr5", UNSTABLE, "multiclass CE, 16 cells, SGD at lr 5 with momentum 0.9", ECHO,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("damped-cnn-lstm-rmsprop-lr2", UNSTABLE, "MAE, damped sines, CNN-LSTM 16, RMSprop at lr 2", DAMPED,
         {"family": "cnn_lstm", "units": 16, "optimizer": "rmsprop", "learning_rate": 2.0},
         {"epochs": 30, "batch_size": 32}),
]
