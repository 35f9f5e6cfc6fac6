"""Fused seeds on JAX (issue 24): each replica of ``tuning.fit.jax.fit_seeds`` is its seed's
standalone JAX fit (``fit_one``), dropout masks included, and a diverging replica fails alone.

Keras's backend is chosen per process and this one has TensorFlow, so the fits run in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.jax_process import run_json

# One JAX process compiles 6 fused steps and 36 standalone fits: 110-260 s on 2 cores at a load of
# 2-5, so more time than the suite's default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# For each config: its seeds fused, then each fitted alone; what the process imported.
COMPARE = """
import json, sys
sys.path.insert(0, sys.argv[2])  # the builders of tests/data
from tuning.fit import FitTask, fit_one
from tuning.fit.jax import Unsupported, fit_config_seeds, fit_seeds
params = {"length": 8, "horizon": 2, "n_train": 40, "n_val": 12, "n_test": 12}
out = {}
for name, (configs, fit) in json.loads(sys.argv[1]).items():
    configs = configs if isinstance(configs, list) else [configs]
    tasks = [FitTask.make("damped_sine", params, fit, c, s, keras_backend="jax") for c in configs for s in (0, 3, 5)]
    try:
        fused = (fit_config_seeds if name.startswith("fallback") else fit_seeds)(tasks)
    except Unsupported as exc:
        out[name] = str(exc)
        continue
    alone = [fit_one(t) for t in tasks]
    out[name] = [[[f.status, f.scores, f.curves, f.error, f.epochs_run, f.best_epoch, f.trainable_weights] for f in pair] for pair in zip(fused, alone)]
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "out": out}))
"""

SHUFFLED = {"shuffle": True}
#: name -> (config, the spec's fit section)
CONFIGS = {
    "plain": ({"units": 3, "epochs": 3, "batch_size": 16}, SHUFFLED),
    "dropout": ({"family": "stacked", "units": 3, "epochs": 3, "batch_size": 16, "dropout": 0.3,
                 "recurrent_dropout": 0.2}, SHUFFLED),
    "diverges": ({"units": 4, "optimizer": "sgd", "learning_rate": 1e6, "epochs": 4, "batch_size": 16, "loss": "mse"},
                 SHUFFLED),
    # patience 1 with a min_delta some replicas miss: they stop at different epochs, best weights restored
    # configs that differ only in learning rate: replicas of one step, each with its own rate
    "two_rates": ([{"units": 3, "epochs": 3, "batch_size": 16, "learning_rate": rate} for rate in (0.1, 0.001)],
                  SHUFFLED),
    "early": ({"units": 3, "epochs": 6, "batch_size": 16, "learning_rate": 0.05},
              {"shuffle": True, "early_stopping": {"patience": 1, "min_delta": 0.01, "restore_best_weights": True}}),
    # a builder's model: its seeds are replicas too
    "builder": ({"builder": "demo_models:conv_lstm", "width": 2, "epochs": 3, "batch_size": 16}, SHUFFLED),
    # a builder that raises for this config: each seed fitted alone, failed with the builder's message
    "fallback_builder": ({"builder": "demo_models:fails_for_wide", "width": 3, "epochs": 3, "batch_size": 16},
                         SHUFFLED),
    # a builder whose seeds build models of different shapes: each seed fitted alone
    "fallback_shapes": ({"builder": "demo_models:width_from_seed", "epochs": 2, "batch_size": 16}, SHUFFLED),
}


@pytest.fixture(scope="module")
def compared():
    return run_json(COMPARE, json.dumps(CONFIGS), str(Path(__file__).resolve().parent / "data"))


def _close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", ["plain", "dropout", "two_rates", "builder"])
def test_each_replica_is_its_seeds_standalone_fit(compared, name):
    assert compared["tensorflow"] is False
    pairs = compared["out"][name]
    assert len(pairs) == (6 if name == "two_rates" else 3)
    for fused, alone in pairs:
        assert fused[0] == alone[0] == "ok" and fused[4] == alone[4] == 3
        assert set(fused[1]) == set(alone[1]) and set(fused[2]) == set(alone[2])
        assert all(_close(fused[1][k], alone[1][k]) for k in alone[1]), (fused[1], alone[1])
        assert all(_close(u, v) for k in alone[2] for u, v in zip(fused[2][k], alone[2][k], strict=True)), (fused[2], alone[2])
    # the replicas are different fits, not one fit several times
    assert len({round(fused[1]["val_loss"], 6) for fused, _ in pairs}) == len(pairs)


def test_a_diverging_replica_fails_as_its_standalone_fit_does(compared):
    for fused, alone in compared["out"]["diverges"]:
        assert fused[0] == alone[0]
        assert fused[3] == alone[3]  # "diverged at epoch k, seed s", or both fine
        assert fused[4] == alone[4]


def test_early_stopping_per_replica_is_each_seeds_own(compared):
    pairs = compared["out"]["early"]
    for fused, alone in pairs:
        assert fused[0] == alone[0] == "ok" and fused[4] == alone[4]  # stopped after the same epoch
        assert fused[5] == alone[5]  # and kept the same best epoch's weights
        assert all(_close(fused[1][k], alone[1][k]) for k in alone[1]), (fused[1], alone[1])
    assert any(alone[4] < 6 for _, alone in pairs), "no replica stopped early: the case tests nothing"


def test_a_builder_that_raises_fails_each_seed_as_its_standalone_fit_does(compared):
    pairs = compared["out"]["fallback_builder"]
    assert len(pairs) == 3
    for fused, alone in pairs:
        assert fused[0] == alone[0] == "failed" and fused[3] == alone[3]
        assert "width 3 is not supported" in fused[3]


def test_a_builder_whose_seeds_differ_in_shape_is_fitted_one_seed_at_a_time(compared):
    pairs = compared["out"]["fallback_shapes"]
    assert len({alone[6] for _, alone in pairs}) > 1  # the seeds' models really differ in size
    for fused, alone in pairs:
        assert fused[0] == alone[0] == "ok" and fused[6] == alone[6]
        assert fused[1] == alone[1] and fused[2] == alone[2]  # the standalone fit itself, to the bit

