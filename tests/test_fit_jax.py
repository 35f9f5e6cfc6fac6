"""Keras 3 on JAX (issue 24): the batch order, one fit, and a study's Keras backend kept and said.

Keras picks its backend when it is first imported, and the test process has Keras on TensorFlow,
so every JAX fit here runs in a subprocess of its own (``python -c`` or the real ``tuning``).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.cli import TINY_SPEC, run_tuning
from helpers.jax_process import run_json

from tuning import load_results
from tuning.fit.pipeline import batch_order


def test_batch_order_is_a_permutation_drawn_from_seed_and_epoch():
    first = batch_order(11, 4, seed=3, epoch=0, shuffle=True)
    assert [len(b) for b in first] == [4, 4, 3]
    assert sorted(np.concatenate(first).tolist()) == list(range(11))
    again = batch_order(11, 4, seed=3, epoch=0, shuffle=True)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    later = np.concatenate(batch_order(11, 4, seed=3, epoch=1, shuffle=True))
    other = np.concatenate(batch_order(11, 4, seed=4, epoch=0, shuffle=True))
    assert not (later == np.concatenate(first)).all() and not (other == np.concatenate(first)).all()
    assert np.concatenate(batch_order(11, 4, seed=3, epoch=5, shuffle=False)).tolist() == list(range(11))


# Two seeds of one tiny config fitted on JAX in one process, seed 0 twice; what it imported.
FIT_ON_JAX = """
import json, sys
from tuning.fit import FitTask, fit_one, keras_backend
config = {"units": 2, "epochs": 2, "batch_size": 5}
task = lambda seed: FitTask.make("tenths", "{}", {"shuffle": True}, config, seed, keras_backend="jax")
fits = [fit_one(task(0)), fit_one(task(0)), fit_one(task(1))]
print(json.dumps({"backend": keras_backend(), "tensorflow": "tensorflow" in sys.modules,
                  "fits": [[f.status, f.scores, f.curves, f.error] for f in fits]}))
"""


@pytest.mark.slow  # a JAX process and three compiled fits: 18 s at a load of 4 on 2 cores
def test_a_fit_on_jax_is_deterministic_and_never_imports_tensorflow():
    out = run_json(FIT_ON_JAX, timeout=240)
    assert out["backend"] == "jax" and out["tensorflow"] is False
    (status, scores, curves, error), again, other = out["fits"]
    assert status == "ok" and error is None and {"loss", "val_loss"} <= set(curves) and len(curves["loss"]) == 2
    assert again[1] == scores and again[2] == curves  # the same seed, the same fit
    assert other[1]["val_loss"] != scores["val_loss"]


TENSORFLOW_WITHOUT_JAX = """
import json, sys
from tuning.fit import FitTask, fit_one, keras_backend
fit = fit_one(FitTask.make("tenths", "{}", {"shuffle": True}, {"units": 3, "epochs": 2}, 0))
loaded = "jax" in sys.modules
import jax, jax.numpy as jnp
print(json.dumps({"backend": keras_backend(), "status": fit.status, "jax_during_fit": loaded,
                  "jax_after": float(jnp.arange(4.0).sum())}))
"""


@pytest.mark.slow  # a TensorFlow process and one fit
def test_a_tensorflow_fit_never_loads_jax_which_still_imports_after():
    """TensorFlow would import JAX (for TFLite's JAX converter): 0.5 s and 100 MB a process."""
    out = run_json(TENSORFLOW_WITHOUT_JAX, timeout=240)
    assert out == {"backend": "tensorflow", "status": "ok", "jax_during_fit": False, "jax_after": 6.0}


@pytest.mark.e2e
@pytest.mark.slow
def test_a_study_keeps_its_keras_backend_and_says_which(tmp_path):
    db = tmp_path / "store.db"
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=2, db=db))
    done = run_tuning("run", str(spec), "--quiet", "--keras-backend", "jax", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6 fits run" in done.stdout
    fits = load_results("tiny", storage=str(db)).fits
    assert (fits["status"] == "ok").all()
    # runner auto on JAX fuses a config's seeds (jax.vmap): they share one step and its time equally
    assert (fits.groupby("config_key")["fit_seconds"].nunique() == 1).all()

    # The best model exported: refitted alone on JAX (fit_one), it is the fused replica stored.
    export = run_tuning("export", "tiny", "--storage", str(db), "--out", str(tmp_path / "best.keras"), cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert "as stored" in export.stdout and (tmp_path / "best.keras").is_file(), export.stdout

    # The same spec on TensorFlow (the default) is another study's scores: refused in one line.
    for refused in (run_tuning("run", str(spec), "--quiet", cwd=tmp_path),
                    run_tuning("resume", "tiny", "--storage", str(db), "--keras-backend", "tensorflow", cwd=tmp_path)):
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 2 and len(lines) == 1, refused.stderr
        assert "keras_backend" in lines[0] and "'jax'" in lines[0] and "--keras-backend jax" in lines[0]

    # Resumed as stored (on JAX), with more seeds: the new fits are JAX fits too.
    more = run_tuning("resume", "tiny", "--storage", str(db), "--repeats", "3", "--quiet", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "3 fits run, 6 reused" in more.stdout

    status = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0 and "keras backend: jax" in status.stdout, status.stdout + status.stderr
    assert "dropout masks" not in status.stdout  # no config asks for dropout: its masks are no part of a fit
    report = run_tuning("report", "tiny", "--storage", str(db), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "on Keras's jax backend" in (tmp_path / "report" / "index.html").read_text()


@pytest.mark.e2e
@pytest.mark.slow
def test_your_builder_on_jax_in_two_worker_processes_and_its_export(tmp_path):
    from helpers.builder_project import project, spec_text

    cwd = project(tmp_path)
    (cwd / "own.yaml").write_text(spec_text("own", '{builder: "demo_models:compiled_with_auc"}', space="{width: [2, 3]}",
                                             extra="objective: {metric: val_auc}\njobs: 2\nkeras_backend: jax\n"))
    result = run_tuning("run", "own.yaml", "--quiet", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "2 complete, 0 failed of 2 planned; 4 fits run" in result.stdout
    fits = load_results("own", storage=str(cwd / "store.db")).fits
    assert (fits["status"] == "ok").all() and fits["val_auc"].notna().all()
    # a builder's seeds are fused on JAX too: replicas of one step share its time equally
    assert (fits.groupby("config_key")["fit_seconds"].nunique() == 1).all()
    export = run_tuning("export", "own", "--storage", "store.db", "--out", "model.keras", cwd=cwd)
    assert export.returncode == 0, export.stderr
    assert "as stored" in export.stdout and (cwd / "model.keras").is_file()  # the refit on JAX is the stored fit


def test_the_jax_runner_proposes_grid_points_that_share_a_step_together():
    from tuning.runners import JaxFusedRunner

    points = [{"units": u, "learning_rate": r} for r in (0.1, 0.01) for u in (2, 4)]
    ordered = JaxFusedRunner(1).order_grid(points)
    assert sorted(map(str, ordered)) == sorted(map(str, points))
    assert [p["units"] for p in ordered] == [2, 2, 4, 4]


def test_keras_on_another_backend_is_refused_with_advice_the_user_can_follow():
    """A stored JAX study's best_model() in a process with Keras on TensorFlow was told to 'use
    keras_backend: tensorflow', which its stored scores rule out: only a new study may take it."""
    import keras

    from tuning.errors import SpecError
    from tuning.fit import use_keras_backend

    assert keras.backend.backend() == "tensorflow"  # this test process's Keras
    with pytest.raises(SpecError) as refit:
        use_keras_backend("jax")
    assert str(refit.value).endswith("set KERAS_BACKEND=jax before importing keras (the study's fits ran on jax; "
                                     "a model rebuilt on tensorflow would not be theirs)"), refit.value
    with pytest.raises(SpecError) as new:
        use_keras_backend("jax", new_study=True)
    assert str(new.value).endswith("or give a new study keras_backend: tensorflow"), new.value


@pytest.mark.slow
def test_a_jax_platform_this_machine_lacks_is_one_line_before_the_study_is_stored(tmp_path):
    """JAX_PLATFORMS=cuda on a CPU-only machine raised a bare AssertionError from inside the first
    fit (119 lines) and left the study's trials interrupted."""
    import os
    import subprocess

    from helpers.cli import tuning_command

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=tmp_path / "store.db") + "keras_backend: jax\n")
    done = subprocess.run([*tuning_command(), "run", str(spec), "--quiet"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "JAX_PLATFORMS": "cuda", "TF_CPP_MIN_LOG_LEVEL": "3"})
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(errors) == 1 and "keras_backend: JAX cannot start a device on this machine" in errors[0]
    assert "JAX_PLATFORMS=cuda" in errors[0] and not (tmp_path / "store.db").exists()
