"""Fused seeds on JAX for every built-in family and its problem's head: each replica is its seed's
standalone JAX fit (a file of its own so that the two xdist workers share the JAX processes)."""

from __future__ import annotations

import json

import pytest
from helpers.jax_process import run_json

# Measured 2026-12-02 at a load of about 5: relative differences 0 to 1.7e-7 (gru); 136 s in all.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SINES = ("damped_sine", {"length": 8, "horizon": 2, "n_train": 40, "n_val": 12, "n_test": 0})
FAMILIES = {  # family -> (problem, params): regression, per-step binary, two series, sequence to sequence
    "vanilla": SINES, "stacked": SINES, "cnn_lstm": SINES, "dense": SINES,
    "bidirectional": ("cumsum", {}), "gru": ("two_sine", {}), "encoder_decoder": ("addition", {}),
}

COMPARE = """
import json, sys
from tuning.fit import FitTask, fit_one
from tuning.fit.jax import fit_seeds
out = {}
for family, (problem, params) in json.loads(sys.argv[1]).items():
    config = {"family": family, "units": 3, "epochs": 2, "batch_size": 16}
    tasks = [FitTask.make(problem, params, {"shuffle": True}, config, s, keras_backend="jax") for s in (0, 1)]
    out[family] = [[[f.status, f.scores] for f in pair] for pair in zip(fit_seeds(tasks), [fit_one(t) for t in tasks])]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def compared():
    return run_json(COMPARE, json.dumps(FAMILIES))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_fused_on_jax_is_each_seeds_standalone_fit(compared, family):
    for (status, scores), (alone_status, alone_scores) in compared[family]:
        assert status == alone_status == "ok" and set(scores) == set(alone_scores)
        assert all(scores[k] == pytest.approx(alone_scores[k], rel=1e-5, abs=1e-6) for k in alone_scores)
