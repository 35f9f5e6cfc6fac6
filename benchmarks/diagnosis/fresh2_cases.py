"""The second fresh held-out set (issue 22, round 3): new real fits, made after the method was frozen again.

The old corpus (``cases.py``) and the first fresh set (``fresh_cases.py``) became development data
in round 3: the rules and the extrapolation were tuned on them. This set was written as a list of
constructions while that tuning went on, and nothing in it was fitted, plotted or diagnosed before
the round-3 method was committed as frozen (the commit before the one that adds the curves).

It differs from both earlier sets in its seeds (base seed 3000), its data seeds (23), the
problems' parameters, two newly generated CSV series, and in cells, optimisers and families the
earlier sets barely used (GRU cells, a bidirectional layer, a CNN-LSTM, RMSprop and Adagrad):

* binary cross-entropy: ``cumsum`` with 9 steps;
* multiclass cross-entropy: ``echo`` with 7-9 symbols of 10-14, ``addition`` of three terms;
* MAE regression: ``damped_sine`` with 15 steps and a CSV series, both with ``loss: mae``;
* CSV series: a weekly-like seasonal series with a trend and a noisy two-period series (written by
  ``make_fresh.py --set 2``), one case unscaled (values near 50);
* ``two_sine`` (MSE).

Each config's label is its construction, fixed here before fitting; every seed shares it:

* underfit: a learning rate 50-100x below the optimiser's usual one, Adagrad's slow start, 6-10
  epochs, or 3 cells for 20 epochs: far from what the same problem reaches otherwise;
* overfit: 48-64 cells (2 layers or bidirectional) on 25-150 training samples, 120-150 epochs with
  nothing to stop them, validated on several times more samples;
* good fit: 12-24 cells on 1200-2000 training samples, enough epochs or early stopping (restored);
* unstable: RMSprop at lr 1, Adam at lr 0.5, SGD at lr 0.5-5 (on an unscaled series, with relu).

The models and data are small on purpose (two shared cores; every fit runs once).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import GOOD_FIT, OVERFIT, UNDERFIT, UNSTABLE, csv, early, gru, lstm, stacked  # noqa: E402
from cases import case as labelled_case  # noqa: E402

SEEDS = {"count": 4, "base_seed": 3000}


case = partial(labelled_case, seeds=SEEDS, prefix="fresh2")


CUMSUM = {"name": "cumsum", "params": {"n_timesteps": 9, "n_train": 1500, "n_val": 300, "n_test": 10, "seed": 23}}
CUMSUM_SMALL = {"name": "cumsum", "params": {"n_timesteps": 9, "n_train": 25, "n_val": 300, "n_test": 10, "seed": 23}}
ECHO = {"name": "echo", "params": {"length": 7, "n_features": 12, "out_index": 4, "n_train": 1500, "n_val": 300,
                                   "n_test": 10, "seed": 23}}
ECHO_SMALL = {"name": "echo", "params": {"length": 9, "n_features": 14, "out_index": 1, "n_train": 40,
                                         "n_val": 300, "n_test": 10, "seed": 23}}
ADDITION = {"name": "addition", "params": {"n_terms": 3, "largest": 15, "n_train": 1000, "n_val": 200,
                                           "n_test": 10, "seed": 23}}
ADDITION_SMALL = {"name": "addition", "params": {"n_terms": 2, "largest": 30, "n_train": 150, "n_val": 300,
                                                 "n_test": 10, "seed": 23}}
DAMPED = {"name": "damped_sine", "params": {"length": 15, "horizon": 2, "n_train": 1200, "n_val": 300, "n_test": 10,
                                            "seed": 23}}
TWO_SINE = {"name": "two_sine", "params": {"n_series": 2000, "n_steps": 18, "seed": 23}}
TWO_SINE_SMALL = {"name": "two_sine", "params": {"n_series": 190, "n_steps": 18, "seed": 23}}
WEEKLY = csv("fresh2_weekly.csv", look_back=12, train_fraction=0.7, val_fraction=0.2, scaling="standard")
WEEKLY_SMALL = csv("fresh2_weekly.csv", look_back=12, train_fraction=0.08, val_fraction=0.5, scaling="standard")
WEEKLY_RAW = csv("fresh2_weekly.csv", look_back=12, train_fraction=0.7, val_fraction=0.2, scaling="none")
NOISY = csv("fresh2_noisy.csv", look_back=20, train_fraction=0.75, val_fraction=0.2)
NOISY_SMALL = csv("fresh2_noisy.csv", look_back=20, train_fraction=0.07, val_fraction=0.5)

FRESH2 = [
    # --- underfit ---------------------------------------------------------------------------------
    case("cumsum-gru-tiny-lr", UNDERFIT, "binary CE, 8 GRU cells at lr 2e-5 for 25 epochs", CUMSUM,
         gru(8, learning_rate=2e-5), {"epochs": 25, "batch_size": 32}),
    case("echo-10-epochs", UNDERFIT, "multiclass CE, 6 GRU cells at lr 5e-4 for 10 epochs", ECHO,
         gru(6, learning_rate=5e-4), {"epochs": 10, "batch_size": 32}),
    case("damped-mae-3-cells", UNDERFIT, "MAE, 3 cells at lr 3e-4 for 20 epochs", DAMPED,
         lstm(3, learning_rate=3e-4, loss="mae"), {"epochs": 20, "batch_size": 32}),
    case("weekly-adagrad", UNDERFIT, "CSV series, Adagrad at lr 1e-3 for 30 epochs", WEEKLY,
         lstm(12, optimizer="adagrad", learning_rate=1e-3), {"epochs": 30, "batch_size": 16}),
    case("two-sine-tiny-lr", UNDERFIT, "MSE, 16 cells at lr 1e-5 for 25 epochs", TWO_SINE,
         lstm(16, learning_rate=1e-5), {"epochs": 25, "batch_size": 32}),
    case("addition-6-epochs", UNDERFIT, "seq2seq CE, encoder-decoder 12 for 6 epochs", ADDITION,
         {"family": "encoder_decoder", "units": 12}, {"epochs": 6, "batch_size": 32}),
    # --- overfit ----------------------------------------------------------------------------------
    case("cumsum-small-gru-2x64", OVERFIT, "binary CE, 2x64 GRU on 25 sequences, 150 epochs", CUMSUM_SMALL,
         stacked(64, cell="gru", learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("echo-small-bidirectional", OVERFIT, "multiclass CE, bidirectional 48 on 40 sequences, 120 epochs",
         ECHO_SMALL, {"family": "bidirectional", "units": 48, "learning_rate": 3e-3},
         {"epochs": 120, "batch_size": 8}),
    case("weekly-small-mae-2x48", OVERFIT, "MAE, 2x48 LSTM on ~100 windows of the weekly series, 150 epochs",
         WEEKLY_SMALL, stacked(48, learning_rate=3e-3, loss="mae"), {"epochs": 150, "batch_size": 8}),
    case("two-sine-small-gru-64", OVERFIT, "MSE, 64 GRU cells on 130 series, 120 epochs", TWO_SINE_SMALL,
         gru(64, learning_rate=3e-3), {"epochs": 120, "batch_size": 8}),
    case("noisy-small-64", OVERFIT, "noisy CSV series, 64 cells on ~100 windows, 150 epochs", NOISY_SMALL,
         lstm(64, learning_rate=3e-3), {"epochs": 150, "batch_size": 8}),
    case("addition-small-ed-64", OVERFIT, "seq2seq CE, encoder-decoder 64 on 150 sums, 120 epochs",
         ADDITION_SMALL, {"family": "encoder_decoder", "units": 64, "learning_rate": 3e-3},
         {"epochs": 120, "batch_size": 8}),
    # --- good fit ---------------------------------------------------------------------------------
    case("cumsum-gru-early", GOOD_FIT, "binary CE, 16 GRU cells on 1500 sequences, early stopping (patience 6)",
         CUMSUM, gru(16, learning_rate=3e-3), {"epochs": 100, "batch_size": 32, "early_stopping": early(6)}),
    case("echo-early", GOOD_FIT, "multiclass CE, 24 cells on 1500 sequences, early stopping (patience 5)", ECHO,
         lstm(24, learning_rate=3e-3), {"epochs": 60, "batch_size": 32, "early_stopping": early(5)}),
    case("weekly-mae-converged", GOOD_FIT, "MAE, 12 cells on ~1000 windows of the weekly series, 40 epochs",
         WEEKLY, lstm(12, learning_rate=3e-3, loss="mae"), {"epochs": 40, "batch_size": 16}),
    case("two-sine-gru-converged", GOOD_FIT, "MSE, 12 GRU cells on 2000 series, 50 epochs", TWO_SINE,
         gru(12, learning_rate=3e-3), {"epochs": 50, "batch_size": 32}),
    case("damped-mae-early", GOOD_FIT, "MAE, 16 cells on 1200 series, early stopping (patience 8)", DAMPED,
         lstm(16, learning_rate=3e-3, loss="mae"), {"epochs": 100, "batch_size": 32, "early_stopping": early(8)}),
    # --- unstable ---------------------------------------------------------------------------------
    case("cumsum-rmsprop-lr1", UNSTABLE, "binary CE, RMSprop at lr 1", CUMSUM,
         lstm(16, optimizer="rmsprop", learning_rate=1.0), {"epochs": 30, "batch_size": 32}),
    case("echo-gru-adam-lr05", UNSTABLE, "multiclass CE, 16 GRU cells, Adam at lr 0.5", ECHO,
         gru(16, learning_rate=0.5), {"epochs": 30, "batch_size": 32}),
    case("weekly-raw-sgd", UNSTABLE, "unscaled weekly series (values near 50), MAE, SGD at lr 0.5", WEEKLY_RAW,
         lstm(16, optimizer="sgd", learning_rate=0.5, loss="mae"), {"epochs": 30, "batch_size": 16}),
    case("two-sine-sgd-lr5", UNSTABLE, "MSE, SGD at lr 5 with momentum 0.9", TWO_SINE,
         lstm(16, optimizer="sgd", learning_rate=5.0, momentum=0.9), {"epochs": 30, "batch_size": 32}),
    case("damped-relu-sgd", UNSTABLE, "relu cells, SGD at lr 2 with momentum 0.9", DAMPED,
         lstm(16, activation="relu", optimizer="sgd", learning_rate=2.0, momentum=0.9),
         {"epochs": 30, "batch_size": 32}),
]
