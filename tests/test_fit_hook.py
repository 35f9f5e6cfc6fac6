"""The per-epoch hook (issue 26): every fit path tells it each epoch's monitored value and stops
the fits it asks to stop; without one, every fit is what it was.

``fit_one`` (a Keras callback) and the TensorFlow fused trainer run here; the JAX fused trainer
and ``fit_one`` on JAX run in a process of their own (Keras picks its backend once per process).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.fused_cases import EXACT, SINE, assert_same_fit, tasks
from helpers.jax_process import run_json

from tuning.errors import SpecError
from tuning.fit import fit_one
from tuning.fit._hook import stop_mask
from tuning.fit.fused import fit_group


class StopAt:
    """Stops the fits in ``stops`` ((config_key, seed) -> 0-based epoch) and records every call."""

    def __init__(self, stops=None, monitor="val_loss"):
        self.stops, self.monitor = dict(stops or {}), monitor
        self.calls: list[tuple[int, list[tuple[str, int]], list[float]]] = []

    def __call__(self, epoch, fits, values):
        self.calls.append((epoch, list(fits), [float(v) for v in values]))
        return [self.stops.get(fit) == epoch for fit in fits]

    def seen(self, fit) -> list[float]:
        """The values this hook was told for ``fit``, epoch by epoch."""
        return [values[fits.index(fit)] for _, fits, values in self.calls if fit in fits]


def same_numbers(a, b) -> bool:
    return a.status == b.status and a.scores == b.scores and a.curves == b.curves and a.epochs_run == b.epochs_run


def test_a_hook_answer_becomes_a_stop_mask_or_none():
    assert stop_mask(None, 3) is None and stop_mask(False, 3) is None and stop_mask([0, 0, 0], 3) is None
    assert stop_mask(True, 2).tolist() == [True, True]
    assert stop_mask(np.array([False, True]), 2).tolist() == [False, True]
    with pytest.raises(ValueError, match="answered 3 stop flags for 2 fits"):
        stop_mask([True, False, False], 2)


def test_fit_one_stops_at_the_epoch_the_hook_asks_and_the_hook_sees_the_stored_curves():
    (task,) = tasks({"family": "vanilla", "epochs": 4}, [0], SINE)
    fit = (task.config_key, task.seed)
    hook = StopAt({fit: 1})
    stopped = fit_one(task, hook)
    assert stopped.ok and stopped.epochs_run == 2 and stopped.stopped_by_hook == 2
    assert [c[0] for c in hook.calls] == [0, 1] and hook.seen(fit) == stopped.curves["val_loss"]
    assert len(stopped.curves["loss"]) == 2 and stopped.scores["train_loss"] == stopped.curves["loss"][1]


@pytest.mark.slow  # four fits: about 8 s on 2 cores
def test_fit_one_with_a_hook_that_does_not_stop_it_is_the_fit_without_one():
    (task,) = tasks({"family": "vanilla", "epochs": 5}, [0], SINE)
    fit = (task.config_key, task.seed)
    plain = fit_one(task)
    never = StopAt(monitor="loss")
    watched = fit_one(task, never)
    assert plain.stopped_by_hook is None and watched.stopped_by_hook is None
    assert same_numbers(watched, plain)  # a hook that never stops changes nothing
    assert [c[0] for c in never.calls] == [0, 1, 2, 3, 4] and never.seen(fit) == plain.curves["loss"]

    stopped = fit_one(task, StopAt({fit: 1}))
    assert stopped.stopped_by_hook == 2
    for name, values in plain.curves.items():  # the epochs it ran are the unhooked fit's
        assert stopped.curves[name] == values[:2]
    assert stopped.scores["val_loss"] != plain.scores["val_loss"]

    last = fit_one(task, StopAt({fit: 4}))  # asked at its last epoch: it ended on its own
    assert last.stopped_by_hook is None and same_numbers(last, plain)


def test_a_hook_monitoring_a_curve_the_fit_does_not_log_is_a_spec_error():
    (task,) = tasks({"family": "vanilla", "epochs": 1}, [0], SINE)
    with pytest.raises(SpecError, match="monitors 'val_auc'"):
        fit_one(task, StopAt(monitor="val_auc"))


@pytest.mark.slow  # three fused graphs of 4 replicas and a fit_one: about 10 s on 2 cores
def test_a_hook_stops_only_the_replica_it_names_in_a_fused_group():
    early = {**EXACT, "early_stopping": {"monitor": "val_loss", "patience": 1, "min_delta": 0.5}}
    group = (tasks({"family": "vanilla", "epochs": 5}, [0, 1, 2], SINE, fit=early)
             + tasks({"family": "vanilla", "epochs": 5, "learning_rate": 0.01}, [0], SINE, fit=early))
    fits = [(t.config_key, t.seed) for t in group]
    plain = fit_group(group)
    assert all(r.stopped_by_hook is None for r in plain)
    never = StopAt({fits[0]: 1})  # asked when early stopping ends it anyway: not a stop
    watched = fit_group(group, epoch_hook=never)
    for a, b in zip(watched, plain, strict=True):
        assert same_numbers(a, b) and a.stopped_by_hook is None and a.best_epoch == b.best_epoch
    for fit, result in zip(fits, plain, strict=True):  # told exactly the curves, while each trained
        assert never.seen(fit) == result.curves["val_loss"]
    # early stopping (min_delta 0.5) ends every replica after 2 epochs: the hook stops one after 1
    assert [r.epochs_run for r in plain] == [2, 2, 2, 2]

    longer = (tasks({"family": "vanilla", "epochs": 5}, [0, 1, 2], SINE)
              + tasks({"family": "vanilla", "epochs": 5, "learning_rate": 0.01}, [0], SINE))
    fits = [(t.config_key, t.seed) for t in longer]
    plain = fit_group(longer)
    hook = StopAt({fits[1]: 2})  # replica 1 (seed 1) after its third epoch
    hooked = fit_group(longer, epoch_hook=hook)
    assert [r.epochs_run for r in hooked] == [5, 3, 5, 5]
    assert [r.stopped_by_hook for r in hooked] == [None, 3, None, None]
    assert [len(fs) for _, fs, _ in hook.calls] == [4, 4, 4, 3, 3]  # a stopped replica is told no more
    stopped = hooked[1]
    assert stopped.ok and hook.seen(fits[1]) == stopped.curves["val_loss"]
    for name, values in plain[1].curves.items():
        assert stopped.curves[name] == pytest.approx(values[:3], rel=1e-6)
    for r in (0, 2, 3):  # the others train on as if alone
        assert_same_fit(hooked[r], plain[r], tolerance=1e-6)
    alone = fit_one(longer[1], StopAt({fits[1]: 2}))  # the stopped replica is its standalone fit, stopped
    assert_same_fit(stopped, alone)


# fit_one on JAX and the JAX fused trainer, each with a hook; what the process imported.
ON_JAX = """
import json, sys
from tuning.fit import FitTask, fit_one
from tuning.fit.jax import fit_seeds
params = {"length": 8, "horizon": 2, "n_train": 40, "n_val": 12, "n_test": 12}
tasks = [FitTask.make("damped_sine", params, {"shuffle": True}, {"units": 3, "epochs": 4, "batch_size": 16}, s,
                      keras_backend="jax") for s in (0, 3, 5)]
stop = json.loads(sys.argv[1])
calls = []
def hook(epoch, fits, values):
    calls.append([epoch, [list(f) for f in fits], [float(v) for v in values]])
    return [stop.get(str(seed)) == epoch for _, seed in fits]
def out(fits):
    return [[f.status, f.scores, f.curves, f.epochs_run, f.stopped_by_hook] for f in fits]
result = {"plain": out(fit_seeds(tasks)), "never": out(fit_seeds(tasks, lambda e, f, v: None)),
          "hooked": out(fit_seeds(tasks, hook)), "calls": calls}
calls = []
result["one"] = out([fit_one(tasks[1], hook)])
result["one_calls"] = calls
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, **result}))
"""


@pytest.mark.slow  # a JAX process compiling three fused steps and a fit: 30-60 s on 2 shared cores
def test_on_jax_a_hook_stops_the_replica_it_names_and_fit_one_at_the_epoch_asked():
    out = run_json(ON_JAX, json.dumps({"3": 1}), timeout=600)
    assert out["tensorflow"] is False
    assert out["never"] == out["plain"]
    assert [f[3] for f in out["hooked"]] == [4, 2, 4] and [f[4] for f in out["hooked"]] == [None, 2, None]
    for r in (0, 2):
        assert out["hooked"][r][:4] == out["plain"][r][:4]  # the others as if alone
    status, scores, curves, epochs_run, stopped = out["hooked"][1]
    assert status == "ok" and {k: v[:2] for k, v in out["plain"][1][2].items()} == curves
    assert [len(fits) for _, fits, _ in out["calls"]] == [3, 3, 2, 2]
    assert [values[1] for _, _, values in out["calls"][:2]] == curves["val_loss"]
    (one,) = out["one"]  # fit_one on JAX: the Keras callback stops it after 2 epochs
    assert one[0] == "ok" and one[3] == 2 and one[4] == 2
    assert [values[0] for _, _, values in out["one_calls"]] == one[2]["val_loss"]
