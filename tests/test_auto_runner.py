"""The default runner, ``auto``: the fused runner where the fused fit *is* the standalone fit.

``auto`` is ``FusedRunner(exact_only=True)`` with its notices dropped: configs without dropout are
fused (each replica reproduces ``fit_one`` to float32 rounding), configs with dropout go to the
fallback runner (their fits are ``fit_one``'s, bit for bit), and nothing about fusing is printed.
The study-level tests (a spec without ``runner``, stored scores) are in test_study.py and
test_cli_e2e.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tuning import fused
from tuning.fused import FusedRunner
from tuning.repeats import FitTask, SequentialRunner, fit_one, make_runner
from tuning.spec import config_key

SINE = ("damped_sine", json.dumps({"length": 8, "n_train": 48, "n_val": 16, "n_test": 16}))


def tasks(config, seeds) -> list[FitTask]:
    config = {"units": 3, "epochs": 1, "batch_size": 16, **config}
    return [FitTask(SINE[0], SINE[1], config, config_key(config), seed, {"shuffle": True}) for seed in seeds]


def test_make_runner_auto_is_an_exact_only_silent_fused_runner():
    runner = make_runner("auto", 1)
    assert isinstance(runner, FusedRunner) and runner.exact_only and runner.name == "auto"
    assert isinstance(runner.fallback, SequentialRunner) and runner.notice is fused.no_notice
    parallel = make_runner("auto", 2)
    assert parallel.exact_only and parallel.jobs == 2 and parallel.fallback.name == "processes"
    explicit = make_runner("fused", 1)
    assert not explicit.exact_only and explicit.name == "fused" and explicit.notice is not fused.no_notice


def unsupported_loss(monkeypatch) -> dict:
    """A config the fused runner refuses: every config build_model makes is fused today, so the
    fused runner is told it does not compute ``mse`` (the fallback's fit_one does, as usual)."""
    monkeypatch.setattr(fused, "LOSSES", tuple(name for name in fused.LOSSES if name != "mse"))
    return {"family": "vanilla", "loss": "mse"}


def test_auto_fuses_only_configs_without_dropout_and_says_nothing(capfd, monkeypatch):
    runner = make_runner("auto", 1)
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


def test_exact_only_with_notices_is_silent_for_dropout_but_not_for_unsupported(monkeypatch):
    notices: list[str] = []
    runner = FusedRunner(exact_only=True, notice=notices.append, fallback=SequentialRunner())
    list(runner.map(tasks({"family": "vanilla", "dropout": 0.3}, [0])))
    assert notices == [] and runner.counts == {"fused": 0, "fallback": 1}
    list(runner.map(tasks(unsupported_loss(monkeypatch), [0])))
    assert len(notices) == 1 and "not fused" in notices[0] and "loss 'mse'" in notices[0] and runner.counts == {"fused": 0, "fallback": 2}


def test_exact_only_refuses_dropout_from_the_config_before_tensorflow_starts():
    probe = (
        "import sys\nfrom tuning import fused\nfrom tuning.repeats import FitTask\n"
        f"task = FitTask('damped_sine', {SINE[1]!r}, {{'dropout': 0.2, 'units': 3}}, 'k', 0, {{}})\n"
        "try:\n    fused.check_supported(task, exact_only=True)\nexcept fused.NotExact as exc:\n    print('NOT EXACT', exc)\n"
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules), len(fused._BUILT))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "NOT EXACT dropout" in out.stdout and "HEAVY [] 0" in out.stdout, out.stdout + out.stderr
    # Without exact_only the same config is fusable (with the replicas' own dropout masks), and the
    # model built for the check is kept for fit_group.
    (task,) = tasks({"family": "vanilla", "dropout": 0.2}, [0])
    assert fused.check_supported(task) >= 1 and len(fused._BUILT) == 1
    # With exact_only, the built-model check refuses it too, and keeps no model.
    with pytest.raises(fused.NotExact):
        fused.check_supported(task, exact_only=True)
    plain = tasks({"family": "vanilla"}, [0])[0]
    assert fused.check_supported(plain, exact_only=True) >= 1 and list(fused._BUILT) == [
        (plain.problem_name, plain.problem_params_json, plain.config_key, 0)]
