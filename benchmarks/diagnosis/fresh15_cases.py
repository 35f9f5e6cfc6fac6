"""The fifteenth fresh held-out set (issue 22, round 19): seven constructions per label, checked by truth.py.

Written after round 19 was committed as frozen (2ef952f: a fit's forecast may take its config's other
seeds' epochs up to the cut, the median of the seeds' forecasts; no label rule changed since round 18),
and committed before anything in it is fitted. Fresh sets 1 to 14 and the old corpus are development
data from round 19 on.

Built like sets 5 to 14 (good fits on series with noise in their targets, overfits on a few dozen
noisy samples, underfits by far too few epochs or far too slow a learning rate, unstable by learning
rates that break the optimiser); ``score.py --confirmed`` also scores the fits whose curves show
their label. Unlike set 14, **no construction was pilot-fitted**: the list is as written, and a case
that does not show its label is left out of the confirmed score by ``truth.py`` and reported so.

New seeds (base seed 20000), data seed 80 for the synthetic problems, and new data written by
``make_fresh.py --set 15``: a continuous glucose monitor's trace in mg/dL every 5 minutes (~110, meals
as delayed bumps, a dawn rise, drift and sensor noise), the grid frequency in Hz every 10 seconds (~50,
an hourly market dip, rare generator trips, meter noise in thousandths of a Hz), and, new to the
fresh sets, the ``arrays`` problem: an activity-recognition set as a NumPy ``.npz`` (40 steps of three
noisy axes, five activities, 10 % of labels flipped; 2,000 or 40 training sequences) whose integer
labels are trained with sparse categorical cross-entropy, a loss no earlier set used. Loss scales:
sparse, binary and multiclass cross-entropy; MAE on the glucose in mg/dL unscaled (~110) and
min-max scaled; MSE on the grid frequency in Hz unscaled (~2,500 before the output reaches 50) and on
standardised and min-max scaled series. Each config's label is its construction; every seed shares it.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 20000}

case = partial(labelled_case, seeds=SEEDS, prefix="fresh15")


def arrays(file: str) -> dict:
    return {"name": "arrays", "params": {"path": f"{{work}}/{file}"}}


ACTIVITY = arrays("fresh15_activity.npz")
ACTIVITY_SMALL = arrays("fresh15_activity_small.npz")
CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 18, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 80}}
ECHO = {"name": "echo", "params": {"length": 12, "n_features": 9, "out_index": 4, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 80}}
ECHO_SMALL = {"name": "echo", "params": {"length": 9, "n_features": 16, "out_index": 2, "n_train": 24,
                                         "n_val": 400, "n_test": 10, "seed": 80}}
ADDITION = {"name": "addition", "params": {"n_terms": 2, "largest": 50, "n_train": 2000, "n_val": 300,
                                           "n_test": 10, "seed": 80}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 24, "seed": 80}}
GLUCOSE = csv("fresh15_glucose.csv", look_back=36, train_fraction=0.7, val_fraction=0.2, scaling="standard")
GLUCOSE_MINMAX = csv("fresh15_glucose.csv", look_back=36, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
GLUCOSE_RAW = csv("fresh15_glucose.csv", look_back=36, train_fraction=0.7, val_fraction=0.2, scaling="none")
GLUCOSE_SMALL = csv("fresh15_glucose.csv", look_back=36, train_fraction=0.03, val_fraction=0.5, scaling="standard")
GRID = csv("fresh15_grid.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="standard")
GRID_MINMAX = csv("fresh15_grid.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="minmax")
GRID_RAW = csv("fresh15_grid.csv", look_back=30, train_fraction=0.7, val_fraction=0.2, scaling="none")
GRID_SMALL = csv("fresh15_grid.csv", look_back=30, train_fraction=0.027, val_fraction=0.5, scaling="standard")
GRID_SMALL_90 = csv("fresh15_grid.csv", look_back=90, train_fraction=0.044, val_fraction=0.5, scaling="standard")

FRESH15 = [
    # --- underfit: far too few epochs, or far too slow a learning rate ------------------------------
    case("glucose-raw-mae-sgd-slow", UNDERFIT, "MAE on the glucose in mg/dL (~110, unscaled), 16 cells, SGD at lr "
         "1e-3 without momentum for 20 epochs: the output climbs towards the level and is nowhere near it",
         GLUCOSE_RAW, lstm(16, optimizer="sgd", learning_rate=1e-3, momentum=0.0, loss="mae"),
         {"epochs": 20, "batch_size": 32}),
    case("grid-raw-mse-4-epochs", UNDERFIT, "MSE on the grid frequency in Hz (~50, unscaled), 24 cells at lr 3e-4 "
         "for 4 epochs", GRID_RAW, lstm(24, learning_rate=3e-4), {"epochs": 4, "batch_size": 32}),
    case("activity-gru-adagrad-slow", UNDERFIT, "sparse CE, 16 GRU cells, Adagrad at lr 1e-3 for 12 epochs",
         ACTIVITY, gru(16, optimizer="adagrad", learning_rate=1e-3), {"epochs": 12, "batch_size": 32}),
    case("grid-dense-sgd-slow", UNDERFIT, "the grid frequency (standardised), the dense family, SGD at lr 3e-5 "
         "without momentum for 12 epochs", GRID, {"family": "dense", "optimizer": "sgd", "learning_rate": 3e-5,
                                                  "momentum": 0.0}, {"epochs": 12, "batch_size": 32}),
    case("echo-bidirectional-rmsprop-1e5", UNDERFIT, "multiclass CE, bidirectional LSTM 16, RMSprop at lr 1e-5 for "
         "10 epochs", ECHO, {"family": "bidirectional", "units": 16, "optimizer": "rmsprop", "learning_rate": 1e-5},
         {"epochs": 10, "batch_size": 32}),
    case("cumsum-stacked-gru-5-epochs", UNDERFIT, "binary CE, 2x16 GRU at lr 3e-4 for 5 epochs", CUMSUM,
         stacked(16, cell="gru", learning_rate=3e-4), {"epochs": 5, "batch_size": 32}),
    case("addition-ed-sgd-slow", UNDERFIT, "multiclass CE per output character, encoder-decoder 32, SGD at lr 1e-2 "
         "without momentum for 15 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 32, "optimizer": "sgd", "learning_rate": 1e-2, "momentum": 0.0},
         {"epochs": 15, "batch_size": 32}),
    # --- overfit: a large model memorising a few dozen noisy samples, trained long -----------------
    case("glucose-small-2x128", OVERFIT, "the glucose (standardised), 2x128 LSTM at lr 5e-3 on ~54 windows, 200 "
         "epochs", GLUCOSE_SMALL, stacked(128, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("glucose-small-bidirectional-gru-mae", OVERFIT, "MAE on the glucose (standardised), bidirectional GRU 128 "
         "at lr 5e-3 on ~54 windows, 200 epochs", GLUCOSE_SMALL,
         {"family": "bidirectional", "cell": "gru", "units": 128, "learning_rate": 5e-3, "loss": "mae"},
         {"epochs": 200, "batch_size": 8}),
    case("activity-small-gru-192", OVERFIT, "sparse CE, 192 GRU cells on 40 sequences (10 % of labels flipped), 150 "
         "epochs", ACTIVITY_SMALL, gru(192, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("activity-small-cnn-lstm", OVERFIT, "sparse CE, CNN-LSTM 128 (64 filters, kernel 5) on 40 sequences, 150 "
         "epochs", ACTIVITY_SMALL, {"family": "cnn_lstm", "units": 128, "filters": 64, "kernel_size": 5,
                                    "learning_rate": 3e-3}, {"epochs": 150, "batch_size": 8}),
    case("grid-small-256", OVERFIT, "the grid frequency (standardised), 256 cells at lr 5e-3 on ~51 windows, 200 "
         "epochs", GRID_SMALL, lstm(256, learning_rate=5e-3), {"epochs": 200, "batch_size": 8}),
    case("grid-small-dense-90", OVERFIT, "the grid frequency (standardised), the dense family on 90-step windows "
         "fitted to ~42 windows at lr 1e-2, 200 epochs: more weights than samples", GRID_SMALL_90,
         {"family": "dense", "learning_rate": 1e-2}, {"epochs": 200, "batch_size": 8}),
    case("echo-small-bidirectional-96", OVERFIT, "multiclass CE, bidirectional LSTM 96 on 24 sequences, 150 epochs",
         ECHO_SMALL, {"family": "bidirectional", "units": 96, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 8}),
    # --- good fit: enough data with noise in the targets, early stopping or a long, moderate run ------
    case("glucose-early", GOOD_FIT, "the glucose (standardised), 32 cells at lr 3e-3, early stopping (patience 12)",
         GLUCOSE, lstm(32, learning_rate=3e-3), {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    case("glucose-minmax-gru-mae-converged", GOOD_FIT, "MAE on the glucose (min-max scaled), 24 GRU cells at lr 3e-3 "
         "for 60 epochs", GLUCOSE_MINMAX, gru(24, learning_rate=3e-3, loss="mae"), {"epochs": 60, "batch_size": 32}),
    case("grid-gru-early", GOOD_FIT, "the grid frequency (standardised), 24 GRU cells at lr 3e-3, early stopping "
         "(patience 15)", GRID, gru(24, learning_rate=3e-3),
         {"epochs": 200, "batch_size": 32, "early_stopping": early(15)}),
    case("grid-minmax-converged", GOOD_FIT, "MSE on the grid frequency (min-max scaled), 16 cells at lr 3e-3 for 40 "
         "epochs", GRID_MINMAX, lstm(16, learning_rate=3e-3), {"epochs": 40, "batch_size": 32}),
    case("activity-early", GOOD_FIT, "sparse CE, 32 cells at lr 3e-3 on 2,000 sequences (10 % of labels flipped), "
         "early stopping (patience 10)", ACTIVITY, lstm(32, learning_rate=3e-3),
         {"epochs": 100, "batch_size": 32, "early_stopping": early(10)}),
    case("two-sine-stacked-gru-early", GOOD_FIT, "MSE, two noisy sines, 2x16 GRU at lr 3e-3, early stopping "
         "(patience 10)", TWO_SINE, stacked(16, cell="gru", learning_rate=3e-3),
         {"epochs": 150, "batch_size": 32, "early_stopping": early(10)}),
    case("glucose-cnn-lstm-early", GOOD_FIT, "the glucose (standardised), CNN-LSTM 24 (32 filters) at lr 3e-3, early "
         "stopping (patience 12)", GLUCOSE, {"family": "cnn_lstm", "units": 24, "filters": 32, "learning_rate": 3e-3},
         {"epochs": 150, "batch_size": 32, "early_stopping": early(12)}),
    # --- unstable: learning rates that break the optimiser (one early-stopped with the best restored) --
    case("glucose-adam-lr2", UNSTABLE, "the glucose (standardised), 16 cells, Adam at lr 2", GLUCOSE,
         lstm(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("glucose-gru-rmsprop-lr1-early", UNSTABLE, "the glucose (standardised), 16 GRU cells, RMSprop at lr 1, early "
         "stopping (patience 10, best epoch restored)", GLUCOSE, gru(16, optimizer="rmsprop", learning_rate=1.0),
         {"epochs": 60, "batch_size": 32, "early_stopping": early(10)}),
    case("grid-stacked-adagrad-lr20", UNSTABLE, "the grid frequency (standardised), 2x16 LSTM, Adagrad at lr 20", GRID,
         stacked(16, optimizer="adagrad", learning_rate=20.0), {"epochs": 30, "batch_size": 32}),
    case("activity-gru-adam-lr2", UNSTABLE, "sparse CE, 16 GRU cells, Adam at lr 2", ACTIVITY,
         gru(16, learning_rate=2.0), {"epochs": 30, "batch_size": 32}),
    case("two-sine-bidirectional-rmsprop-lr2", UNSTABLE, "MSE, two noisy sines, bidirectional LSTM 16, RMSprop at "
         "lr 2", TWO_SINE, {"family": "bidirectional", "units": 16, "optimizer": "rmsprop", "learning_rate": 2.0},
         {"epochs": 30, "batch_size": 32}),
    case("cumsum-sgd-momentum-lr5", UNSTABLE, "binary CE, 16 cells, SGD at lr 5 with momentum 0.9", CUMSUM,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("echo-cnn-lstm-adam-lr3", UNSTABLE, "multiclass CE, CNN-LSTM 16 (16 filters), Adam at lr 3", ECHO,
         {"family": "cnn_lstm", "units": 16, "filters": 16, "learning_rate": 3.0}, {"epochs": 30, "batch_size": 32}),
]
