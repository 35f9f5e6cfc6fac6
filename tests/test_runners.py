"""Runners (``tuning.runners``): the registry, the process runner, the default, ``auto``, and the
two ways a study draws its dropout masks.

``auto`` is ``FusedRunner`` with its notices dropped: every config the fused graph takes is fused,
dropout included (``seeded`` masks). A study of ``keras`` masks (started with
``sequential``/``processes``, or with ``auto`` before it fused dropout) gets
``FusedRunner(keras_masks=True)`` for ``auto``: configs without dropout fused (each replica
reproduces ``fit_one`` to float32 rounding), configs with dropout to the fallback runner (their
fits are ``fit_one``'s, bit for bit). The study-level tests (a spec without ``runner``, stored
scores, resume of an old store) are in test_search_loop.py, test_fused_procedure.py and
test_cli_e2e.py.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tuning import runners
from tuning.fit import FitSettings, FitTask, fit_one
from tuning.fit import fused as fit_fused
from tuning.runners import RUNNERS, FusedRunner, ProcessRunner, SequentialRunner, make_runner
from tuning.search.study_record import masks_notice
from tuning.spec import config_key
from tuning.store._migrations import dropout_masks_from_v2
from tuning.vocabulary import RUNNER_DROPOUT_MASKS

TINY = {"units": 2, "epochs": 2, "batch_size": 5}
SINE = ("damped_sine", json.dumps({"length": 8, "n_train": 48, "n_val": 16, "n_test": 16}))


def tasks(config, seeds) -> list[FitTask]:
    config = {"units": 3, "epochs": 1, "batch_size": 16, **config}
    settings = FitSettings.resolve({"shuffle": True}, config)
    return [FitTask(SINE[0], SINE[1], config, config_key(config), seed, settings) for seed in seeds]


def test_make_runner_auto_is_a_silent_fused_runner_and_keras_masks_for_a_keras_masks_study():
    runner = make_runner("auto", 1)
    assert isinstance(runner, FusedRunner) and not runner.keras_masks and runner.name == "auto"
    assert isinstance(runner.fallback, SequentialRunner) and runner.notice is runners.no_notice
    parallel = make_runner("auto", 2)
    # on two worker processes, each packing its share and fitting what it cannot fuse itself
    assert not parallel.keras_masks and isinstance(parallel.executor, runners.ProcessPool)
    assert parallel.executor.workers == 2 and parallel.fallback.name == "sequential"
    explicit = make_runner("fused", 1)
    assert not explicit.keras_masks and explicit.name == "fused" and explicit.notice is not runners.no_notice
    # A study of keras masks: auto and fused fuse only where the fused fit is fit_one's.
    old_auto = make_runner("auto", 2, "keras")
    assert old_auto.keras_masks and old_auto.name == "auto" and old_auto.notice is runners.no_notice
    assert old_auto.executor.workers == 2 and old_auto.fallback.name == "sequential"
    assert make_runner("fused", 1, "keras").keras_masks
    assert isinstance(make_runner("sequential", 1, "keras"), SequentialRunner)
    # A study of seeded masks: sequential and processes give way to auto.
    kept = make_runner("processes", 2, "seeded")
    assert isinstance(kept, FusedRunner) and not kept.keras_masks and kept.jobs == 2 and kept.name == "auto"
    assert runners.dropout_masks_of("auto") == runners.dropout_masks_of("fused") == "seeded"
    assert runners.dropout_masks_of("sequential") == runners.dropout_masks_of("processes") == "keras"
    assert runners.dropout_masks_of("auto", builder=True) == "keras"  # a builder's model is never fused
    assert set(RUNNER_DROPOUT_MASKS) == set(RUNNERS)
    # Stores from before dropout masks were recorded (schema 2: a procedure column): auto then was keras-only.
    assert dropout_masks_from_v2(None, {"runner": "auto"}) == "keras"
    assert dropout_masks_from_v2(None, {"runner": "fused"}) == "seeded"
    assert dropout_masks_from_v2(None, {}) == "keras"  # a spec that named no runner: auto
    assert dropout_masks_from_v2("fused", {"runner": "sequential"}) == "seeded"  # recorded wins
    assert masks_notice("s", "auto", "seeded") is None
    line = masks_notice("s", "auto", "keras")
    assert "keeps the keras dropout masks" in line and "\n" not in line
    assert "keeps the seeded dropout masks" in masks_notice("s", "sequential", "seeded")


def unsupported_loss(monkeypatch) -> dict:
    """A config the fused runner refuses: every config build_model makes is fused today, so the
    fused planner is told it does not compute ``mse`` (the fallback's fit_one does, as usual)."""
    from tuning.fit.fused import _plan  # the support check's list of losses

    monkeypatch.setattr(_plan, "FUSED_LOSSES", tuple(name for name in _plan.FUSED_LOSSES if name != "mse"))
    return {"family": "vanilla", "loss": "mse"}


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_auto_fuses_dropout_configs_too_and_says_nothing(capfd, monkeypatch):
    runner = make_runner("auto", 1)
    plain = tasks({"family": "vanilla"}, [0, 1])
    dropout = tasks({"family": "vanilla", "dropout": 0.2, "recurrent_dropout": 0.2}, [0, 1])
    lighter = tasks({"family": "vanilla", "dropout": 0.1, "recurrent_dropout": 0.3}, [2])
    refused = tasks(unsupported_loss(monkeypatch), [0])  # a notice under `fused`, none under `auto`
    results = {(r.config_key, r.seed): r for r in runner.map(plain + dropout + lighter + refused)}
    assert runner.counts == {"fused": 5, "fallback": 1}  # counted: only the refused config fell back
    assert "fused" not in capfd.readouterr().err
    seconds = {key: fit.fit_seconds for key, fit in results.items()}
    # Configs differing only in dropout rates share a graph (same layers drop); no dropout: another.
    assert len({seconds[(t.config_key, t.seed)] for t in dropout + lighter}) == 1
    assert seconds[(plain[0].config_key, 0)] != seconds[(dropout[0].config_key, 0)]
    for task in dropout:  # its own masks (same distribution, other values than fit_one's)
        fit = results[(task.config_key, task.seed)]
        assert fit.ok and fit.scores != fit_one(task).scores
    for task in refused:
        assert results[(task.config_key, task.seed)].scores == fit_one(task).scores


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_a_keras_masks_study_under_auto_fuses_only_configs_without_dropout(capfd, monkeypatch):
    runner = make_runner("auto", 1, "keras")  # `auto` as it was: keras masks
    plain = tasks({"family": "vanilla"}, [0, 1])
    dropout = tasks({"family": "vanilla", "recurrent_dropout": 0.2}, [0, 1])
    refused = tasks(unsupported_loss(monkeypatch), [0])  # a notice under `fused`, none under `auto`
    results = {(r.config_key, r.seed): r for r in runner.map(plain + dropout + refused)}
    assert runner.counts == {"fused": 2, "fallback": 3}
    assert "fused" not in capfd.readouterr().err
    for task in dropout + refused:  # the fallback's fits are fit_one's, bit for bit
        fit = results[(task.config_key, task.seed)]
        assert fit.scores == fit_one(task).scores
    for task in plain:  # fused: the standalone fit to float32 rounding
        fit, standalone = results[(task.config_key, task.seed)], fit_one(task)
        assert fit.ok and set(fit.scores) == set(standalone.scores)
        for name, value in standalone.scores.items():
            assert fit.scores[name] == pytest.approx(value, rel=1e-4), name
    assert results[(plain[0].config_key, 0)].fit_seconds == results[(plain[0].config_key, 1)].fit_seconds


def test_keras_masks_with_notices_is_silent_for_dropout_but_not_for_unsupported(monkeypatch):
    from helpers.fake_runner import FakeRunner  # where the fallback's fits run does not matter here

    notices: list[str] = []
    runner = FusedRunner(keras_masks=True, notice=notices.append, fallback=FakeRunner())
    list(runner.map(tasks({"family": "vanilla", "dropout": 0.3}, [0])))
    assert notices == [] and runner.counts == {"fused": 0, "fallback": 1}
    list(runner.map(tasks(unsupported_loss(monkeypatch), [0])))
    assert len(notices) == 1 and "not fused" in notices[0] and "loss 'mse'" in notices[0] and runner.counts == {"fused": 0, "fallback": 2}


def test_keras_masks_refuses_dropout_from_the_config_before_tensorflow_starts():
    probe = (
        "import sys\nfrom tuning.fit import fused, FitSettings, FitTask\n"
        f"task = FitTask('damped_sine', {SINE[1]!r}, {{'dropout': 0.2, 'units': 3}}, 'k', 0, FitSettings.resolve({{}}, {{}}))\n"
        "try:\n    fused.plan_graphs([task], keras_masks=True)\nexcept fused.NeedsKerasMasks as exc:\n    print('NEEDS KERAS MASKS', exc)\n"
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "NEEDS KERAS MASKS dropout" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr
    # Without keras_masks the same config is fusable (with the replicas' own dropout masks), and what
    # the check found for the model it built (plain data, no Keras object) travels in the plan.
    (task,) = tasks({"family": "vanilla", "dropout": 0.2}, [0])
    (plan,) = fit_fused.plan_graphs([task])
    assert plan.capacity >= 1 and plan.checked is not None and plan.checked.is_for(task)
    assert all(isinstance(w, np.ndarray) for w in plan.checked.weights)
    # With keras_masks, the built-model check refuses it too.
    with pytest.raises(fit_fused.NeedsKerasMasks):
        fit_fused.plan_graphs([task], keras_masks=True)
    plain = tasks({"family": "vanilla"}, [0])[0]
    (plan,) = fit_fused.plan_graphs([plain], keras_masks=True)
    assert plan.capacity >= 1 and plan.checked.is_for(plain) and plan.tasks == [plain]
    # The plan survives pickling (a worker process gets it) and fits the seed as fit_one does.
    (fused_fit,) = pickle.loads(pickle.dumps(plan)).fit()
    assert fused_fit.scores["val_loss"] == pytest.approx(fit_one(plain).scores["val_loss"], rel=1e-4)


def test_the_registry_knows_every_runner_a_spec_may_name():
    from tuning.spec import RUNNERS as SPEC_RUNNERS

    assert sorted(RUNNERS) == sorted(SPEC_RUNNERS)
    assert isinstance(make_runner("sequential", 1), SequentialRunner)
    assert isinstance(make_runner("sequential", 2), ProcessRunner)  # jobs > 1 means processes
    assert isinstance(make_runner("processes", 1), ProcessRunner)
    for name in RUNNERS:  # what a study reads of any runner
        runner = make_runner(name, 1)
        assert runner.name == name
        assert runner.trials_in_flight >= 1
    points = [{"units": u, "learning_rate": r} for r in (0.1, 0.01) for u in (1, 2)]
    assert make_runner("sequential", 1).order_grid(points) == points
    assert make_runner("auto", 1).order_grid(points) == fit_fused.order_for_sharing(points, keras_masks=False)
    assert make_runner("auto", 1, "keras").order_grid(points) == fit_fused.order_for_sharing(points, keras_masks=True)
    assert make_runner("fused", 1).order_grid(points) == [points[0], points[2], points[1], points[3]]


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_process_runner_gives_the_sequential_scores():
    tasks = [FitTask("tenths", "{}", TINY, config_key(TINY), s, FitSettings.resolve({"shuffle": True}, TINY))
             for s in (0, 1)]
    sequential = {f.seed: f.scores for f in SequentialRunner().map(tasks)}
    parallel = {f.seed: f.scores for f in ProcessRunner(2).map(tasks)}
    assert parallel.keys() == {0, 1}
    for seed in (0, 1):
        assert parallel[seed]["val_loss"] == pytest.approx(sequential[seed]["val_loss"], rel=1e-6)


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_a_failed_shared_graph_is_refitted_seed_by_seed_fused_never_with_keras_masks(monkeypatch):
    """A graph that raises (here: any graph of more than one replica, then every graph of a config
    with 2 units) must not lose its seeds, and under seeded masks must not refit a dropout
    config with Keras's masks: each of its seeds is refitted as a graph of its own, or recorded
    failed. A config without dropout goes to the fallback: fit_one's fit is its fused fit."""
    from tuning.fit.fused import FusedPlan

    original = FusedPlan.fit

    def flaky(plan, epoch_hook=None):
        if len(plan.tasks) > 1 or plan.tasks[0].config.get("units") == 2:
            raise MemoryError("no room for this graph")
        return original(plan, epoch_hook)

    monkeypatch.setattr(FusedPlan, "fit", flaky)
    notices: list[str] = []
    runner = FusedRunner(notice=notices.append, fallback=SequentialRunner())
    dropout = tasks({"family": "vanilla", "dropout": 0.3}, [0, 1])
    bad = tasks({"family": "vanilla", "units": 2, "dropout": 0.3}, [0])
    plain = tasks({"family": "vanilla"}, [0, 1])
    results = {(r.config_key, r.seed): r for r in runner.map(dropout + bad + plain)}
    assert runner.counts == {"fused": 3, "fallback": 2}
    assert sum("as a graph of its own" in n for n in notices) == 1
    assert sum("with the fallback runner" in n for n in notices) == 1
    for task in dropout:  # the seed's fused fit: its masks do not depend on its graph mates
        alone = fit_fused.fit_group([task])[0]
        assert results[(task.config_key, task.seed)].scores == pytest.approx(alone.scores, rel=1e-6)
    failed = results[(bad[0].config_key, 0)]
    assert not failed.ok and failed.error == "fused fit failed: MemoryError: no room for this graph (seed 0)"
    assert {t.seed: results[(t.config_key, t.seed)].scores for t in plain} == {t.seed: fit_one(t).scores for t in plain}
