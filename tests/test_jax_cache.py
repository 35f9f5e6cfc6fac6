"""JAX's persistent compilation cache (issue 24): where it lives, and that a program loaded from
it gives the scores a fresh compile gives, to the bit.

A fused JAX fit compiles its steps in a process of its own (this one has Keras on TensorFlow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.jax_process import run_json

from tuning.fit._compile_cache import compilation_cache_dir
from tuning.vocabulary import JAX_CACHE_VARIABLE


def test_the_cache_is_in_the_users_cache_directory_unless_named_or_off(monkeypatch, tmp_path):
    monkeypatch.delenv(JAX_CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compilation_cache_dir() == tmp_path / "xdg" / "tuning" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert compilation_cache_dir() == tmp_path / "home" / ".cache" / "tuning" / "jax"
    monkeypatch.setenv(JAX_CACHE_VARIABLE, str(tmp_path / "mine"))
    assert compilation_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv(JAX_CACHE_VARIABLE, "off")
    assert compilation_cache_dir() is None


def test_a_named_cache_that_cannot_be_written_is_said_not_silently_skipped(monkeypatch, tmp_path):
    """A typo in $TUNING_JAX_CACHE (a file's name) made every run cold without a word."""
    from tuning.fit._compile_cache import use_compilation_cache

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(JAX_CACHE_VARIABLE, str(blocker))
    with pytest.warns(UserWarning, match=rf"\$TUNING_JAX_CACHE={blocker} cannot hold JAX's compiled programs"):
        assert use_compilation_cache() is None


# Two seeds of a tiny config fused on JAX with the cache set by argv[1]; what JAX's cache did.
FUSED = """
import json, os, sys
os.environ["TUNING_JAX_CACHE"] = sys.argv[1]
import jax.monitoring
from tuning.fit import FitTask
from tuning.fit.jax import fit_seeds
events = {}
jax.monitoring.register_event_listener(lambda name, **kw: events.__setitem__(name, events.get(name, 0) + 1))
config = {"units": 3, "epochs": 2, "batch_size": 16}
params = {"length": 8, "horizon": 2, "n_train": 40, "n_val": 12, "n_test": 12}
fits = fit_seeds([FitTask.make("damped_sine", params, {"shuffle": True}, config, s, keras_backend="jax") for s in (0, 1)])
print(json.dumps({"fits": [[f.status, f.scores, f.curves] for f in fits],
                  "hits": events.get("/jax/compilation_cache/cache_hits", 0),
                  "misses": events.get("/jax/compilation_cache/cache_misses", 0)}))
"""


@pytest.mark.slow  # three JAX processes, each a fused fit: about 30 s on 2 shared cores
def test_a_program_loaded_from_the_cache_scores_as_a_fresh_compile(tmp_path):
    cache = tmp_path / "jax-cache"
    cold = run_json(FUSED, str(cache), timeout=300)
    assert cold["hits"] == 0 and cold["misses"] > 0
    written = sorted(p.name for p in Path(cache).iterdir())
    assert written, "nothing was written to the cache"
    warm = run_json(FUSED, str(cache), timeout=300)
    assert warm["hits"] >= 4  # the train step (full and short batch), the test and predict steps at least
    assert warm["misses"] < cold["misses"]
    fresh = run_json(FUSED, "off", timeout=300)
    assert fresh["hits"] == fresh["misses"] == 0  # no cache at all
    assert cold["fits"][0][0] == "ok" and cold["fits"][0][1] != cold["fits"][1][1]
    assert json.dumps(warm["fits"]) == json.dumps(cold["fits"]) == json.dumps(fresh["fits"])
