"""Your own data from Python (``run_study(spec, data=...)``) and your model out (``tuning export``).

Everything here fits for real (tiny arrays, 2 epochs). One module-scoped ``.npz`` study run
through the real ``tuning`` command serves every export test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_tuning, stored_fits, wait_for_fits

import tuning
from tuning.errors import DataError, SpecError


def _arrays(seed: int = 0, n: int = 48):
    """A small binary sequence task: is the sum of channel 0 positive? (train 32, val 16)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    return x[:32], y[:32], x[32:], y[32:]


def _spec(name: str, db: Path, **extra) -> dict:
    return {"name": name, "model": {"units": 3}, "fit": {"epochs": 2, "batch_size": 16},
            "space": {"units": [2, 3]}, "sampler": "grid", "repeats": 2, "storage": f"sqlite:///{db}", **extra}


# ---- in-memory arrays from Python ------------------------------------------------------------

@pytest.fixture(scope="module")
def memory_study(tmp_path_factory):
    """2 configs x 2 seeds on in-memory arrays, fitted by the default runner (auto: each config's
    seeds one fused graph, about 1 s, where four standalone fits took about 10 s; the in-memory
    arrays reach a fit task the same way whichever in-process runner fits it, and the sequential
    runner on them is the killed-and-resumed test's, slow tier)."""
    db = tmp_path_factory.mktemp("memory") / "m.db"
    spec = _spec("mem", db)
    first = tuning.run_study(spec, data=_arrays())
    return spec, db, first


def test_in_memory_study_runs_and_resumes_with_the_same_arrays(memory_study):
    spec, db, first = memory_study
    assert (first.complete, first.fits_run) == (2, 4)
    rows = stored_fits(db)
    again = tuning.run_study(spec, data=_arrays())  # a new process would hand the same arrays again
    assert (again.fits_run, again.complete) == (0, 2)
    assert stored_fits(db) == rows
    record = tuning.load_results("mem", f"sqlite:///{db}")
    assert record.spec["problem"] == {"name": "in_memory", "params": {"key": "mem"}}
    assert set(record.baseline) >= {"val_loss", "val_accuracy"}  # the majority-class baseline


def test_in_memory_study_refuses_other_arrays(memory_study):
    spec, db, _ = memory_study
    x, y, xv, yv = _arrays()
    with pytest.raises(SpecError, match="other data"):
        tuning.run_study(spec, data=(x, y, xv[::-1].copy(), yv[::-1].copy()))
    assert tuning.run_study(spec, data=_arrays()).fits_run == 0  # the store was left as it was


def test_tuning_resume_of_an_in_memory_study_says_why_in_one_line(memory_study, tmp_path):
    _, db, _ = memory_study
    before = stored_fits(db)
    done = run_tuning("resume", "mem", "--storage", str(db), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "in-memory arrays" in lines[0] and "with the same arrays continues it" in lines[0], done.stderr
    assert stored_fits(db) == before
    # an export has the same remedy, and says it in one line
    done = run_tuning("export", "mem", "--storage", str(db), "--out", "m.keras", cwd=tmp_path)
    assert done.returncode == 2 and "continues it (it refits nothing stored; repeats=N adds seeds)" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.keras").exists()


@pytest.mark.slow
def test_status_report_and_diagnosis_read_an_in_memory_study(memory_study, tmp_path):
    _, db, _ = memory_study
    status = run_tuning("status", "mem", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "2 complete" in status.stdout and "naive baseline" in status.stdout
    report = run_tuning("report", "mem", "--storage", str(db), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "in_memory" in (tmp_path / "r" / "index.html").read_text()
    pages = [p.read_text() for p in (tmp_path / "r" / "configs").glob("*.html")]
    # its export is the Python call that works, not `tuning export`, which refuses an in-memory study
    assert pages and all("tuning.load_results(&#39;mem&#39;" in p and "tuning export" not in p for p in pages)
    diagnosis = tuning.load_results("mem", f"sqlite:///{db}").diagnosis
    assert len(diagnosis) and diagnosis["label"].notna().all()


def test_in_memory_data_errors_are_the_arrays_problems_lines(tmp_path):
    x, y, xv, yv = _arrays()
    spec = _spec("bad", tmp_path / "b.db")
    with pytest.raises(DataError, match=r"^data: x_train has shape \(32, 5\) \(2 dims\)"):
        tuning.run_study(spec, data=(x[:, :, 0], y, xv, yv))
    with pytest.raises(DataError, match="^data: x_val has 16 samples but y_val has 15"):
        tuning.run_study(spec, data=(x, y, xv, yv[:15]))
    with pytest.raises(SpecError, match="data: missing key 'y_val'"):
        tuning.run_study(spec, data={"x_train": x, "y_train": y, "x_val": xv})
    with pytest.raises(SpecError, match="either as data= or as the spec's problem"):
        tuning.run_study({**spec, "problem": {"name": "tenths"}}, data=(x, y, xv, yv))
    with pytest.raises(SpecError, match="jobs"):
        tuning.run_study(spec, data=(x, y, xv, yv), jobs=2)
    # whole numbers that could be any task: the fix for arrays in hand is theirs, not the spec's problem's
    ambiguous = (np.arange(len(y)) % 9 - 4.0).astype(np.int64)
    with pytest.raises(DataError, match=r"pass data=tuning.ArrayProblem\(x_train, y_train, x_val, y_val, task=...\) "
                                        r"with task one of regression"):
        tuning.run_study(spec, data=(x, ambiguous, xv, (np.arange(len(yv)) % 9 - 4).astype(np.int64)))
    assert not (tmp_path / "b.db").exists() or not stored_fits(tmp_path / "b.db")


def test_array_problem_states_the_task(tmp_path):
    x, y, xv, yv = _arrays()
    labels = tuning.ArrayProblem(x, y * 2, xv, yv * 2, task="multiclass", n_classes=3)
    spec = _spec("three", tmp_path / "t.db", space={"units": [2]}, repeats=1)
    outcome = tuning.run_study(spec, data=labels)
    assert outcome.complete == 1
    results = tuning.load_results("three", f"sqlite:///{tmp_path / 't.db'}")
    assert results.spec["problem"]["params"] == {"key": "three", "task": "multiclass", "n_classes": 3}


def conv_lstm(config, problem):
    """A model of one's own: Conv1D front, LSTM, sigmoid head (uncompiled: tuning compiles it)."""
    import keras

    inputs = keras.Input(problem.input_shape)
    h = keras.layers.Conv1D(config["filters"], 3, padding="same", activation="relu")(inputs)
    h = keras.layers.LSTM(config["units"])(h)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))


def kerastuner_build(hp):
    """A KerasTuner build(hp), unchanged: it compiles itself, with an AUC metric."""
    import keras

    inputs = keras.Input((5, 2))
    h = keras.layers.LSTM(hp.Int("units", 2, 4, step=2))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [0.01, 0.001])), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    return model


@pytest.mark.slow
def test_in_memory_arrays_and_builder_from_python(tmp_path):
    from tuning.refit import refit

    db = tmp_path / "b.db"
    spec = {**_spec("own", db), "model": {"params": {"filters": 4}}}
    first = tuning.run_study(spec, data=_arrays(), build=conv_lstm)
    assert (first.complete, first.fits_run) == (2, 4)
    results = tuning.load_results("own", f"sqlite:///{db}")
    assert results.spec["model"]["builder"] == "test_own_data:conv_lstm"
    assert tuning.run_study(spec, data=_arrays(), build=conv_lstm).fits_run == 0
    again = refit(tuning.load_results("own", f"sqlite:///{db}"))
    assert again.same and again.procedure == "standalone fit"
    assert [layer.__class__.__name__ for layer in again.model.layers][1:3] == ["Conv1D", "LSTM"]


@pytest.mark.slow
def test_kerastuner_build_from_python_with_space_from_builder(tmp_path):
    db = tmp_path / "k.db"
    spec = {"name": "kt", "space": "from_builder", "fit": {"epochs": 2, "batch_size": 16}, "sampler": "grid",
            "repeats": 2, "objective": {"metric": "val_auc"}, "storage": f"sqlite:///{db}"}
    outcome = tuning.run_study(spec, data=_arrays(), build=kerastuner_build)
    assert (outcome.planned, outcome.complete) == (4, 4)  # units {2, 4} x lr {0.01, 0.001}, read off build(hp)
    results = tuning.load_results("kt", f"sqlite:///{db}")
    assert results.direction == "maximize"
    assert results.summary["mean"].between(0, 1).all()
    assert {"param_units", "param_lr"} <= set(results.summary.columns)


def _doc_blocks(after: str) -> tuple[str, str]:
    """The python block that starts with ``after`` in docs/own-data.md and the yaml block after it."""
    text = (Path(__file__).parents[1] / "docs" / "own-data.md").read_text()
    start = text.index(f"```python\n{after}")
    code = text[start + len("```python\n"):text.index("```", start + 10)]
    yaml_start = text.index("```yaml\n", start)
    return code, text[yaml_start + len("```yaml\n"):text.index("```", yaml_start + 8)]


@pytest.mark.slow
@pytest.mark.e2e
def test_the_docs_builder_example_runs_on_0_1_labels_and_on_integer_labels(tmp_path):
    """docs/own-data.md's build(config, problem) and its spec, as printed, through the real command on
    binary 0/1 labels (its Dense(problem.n_classes, "softmax") head: 2 units), then on 3 integer classes."""
    import yaml

    code, model_yaml = _doc_blocks("# mymodels.py")
    assert "Dense(problem.n_classes" in code and "builder: mymodels:build" in model_yaml
    (tmp_path / "mymodels.py").write_text(code)
    x, y, xv, yv = _arrays()
    np.savez(tmp_path / "data.npz", x_train=x, y_train=y, x_val=xv, y_val=yv)  # 0/1 labels, [samples]
    (tmp_path / "doc.yaml").write_text("name: doc\nproblem: {name: arrays, params: {path: data.npz}}\n" + model_yaml
                                       + "fit: {epochs: 1, batch_size: 16}\nsampler: grid\nrepeats: 1\n"
                                         "storage: sqlite:///store.db\n")
    done = run_tuning("run", "doc.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 complete, 0 failed of 4 planned; 4 fits run" in done.stdout, done.stdout
    results = tuning.load_results("doc", f"sqlite:///{tmp_path / 'store.db'}")
    assert results.fits["val_accuracy"].between(0, 1).all() and np.isfinite(results.fits["val_loss"]).all()

    three = np.digitize(np.concatenate([x, xv])[:, :, 1].mean(axis=1), [-0.2, 0.2])  # classes 0..2
    spec = {"name": "doc3", **yaml.safe_load(model_yaml), "fit": {"epochs": 1, "batch_size": 16},
            "sampler": "grid", "repeats": 1, "storage": f"sqlite:///{tmp_path / 'store.db'}"}
    spec["model"]["builder"] = f"{tmp_path / 'mymodels.py'}:build"
    spec["space"] = {"units": spec["space"]["units"][:1]}  # one config is enough here
    outcome = tuning.run_study(spec, data=(x, three[:32], xv, three[32:]))
    assert (outcome.complete, outcome.failed) == (1, 0)
    fits = tuning.load_results("doc3", f"sqlite:///{tmp_path / 'store.db'}").fits
    assert fits["error"].isna().all() and np.isfinite(fits["val_loss"]).all()


KILLED_SCRIPT = textwrap.dedent("""\
    import sys
    import numpy as np
    import tuning
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 5, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    spec = {{"name": "killed", "model": {{"units": 3}}, "fit": {{"epochs": 2, "batch_size": 16}},
            "space": {{"units": [1, 2, 3]}}, "sampler": "grid", "repeats": 2, "runner": "sequential",
            "storage": "sqlite:///{db}"}}
    outcome = tuning.run_study(spec, data=(x[:32], y[:32], x[32:], y[32:]))
    print(outcome.fits_run, outcome.fits_reused, outcome.complete)
""")


@pytest.mark.slow
def test_in_memory_study_killed_then_resumed_from_python_redoes_no_fit(tmp_path):
    db = tmp_path / "k.db"
    script = tmp_path / "study.py"
    script.write_text(KILLED_SCRIPT.format(db=db))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_fits(proc, db, 3)
    proc.kill()
    proc.wait()
    before = stored_fits(db)
    assert 3 <= len(before) < 6
    resumed = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    run, _, complete = map(int, resumed.stdout.split())
    assert (run, complete) == (6 - len(before), 3)
    assert stored_fits(db)[: len(before)] == before


# ---- tuning export ---------------------------------------------------------------------------

NPZ_SPEC = """\
name: npz
problem: {{name: arrays, params: {{path: data.npz}}}}
model: {{units: 3, dropout: {dropout}}}
fit: {{epochs: 2, batch_size: 16}}
space:
  units: [2, 3]
sampler: grid
repeats: 2
runner: {runner}
storage: sqlite:///{db}
"""


@pytest.fixture(scope="module")
def npz_study(tmp_path_factory):
    """An .npz study with dropout run by the real command under ``runner: auto``: the fused
    procedure, seeds as replicas of one graph with dropout masks drawn per replica (the harder
    case for export; a standalone study's export is tested with the builder above)."""
    root = tmp_path_factory.mktemp("npz")
    x, y, xv, yv = _arrays()
    np.savez(root / "data.npz", x_train=x, y_train=y, x_val=xv, y_val=yv)
    db = root / "store.db"
    (root / "spec.yaml").write_text(NPZ_SPEC.format(db=db, runner="auto", dropout=0.25))
    done = run_tuning("run", "spec.yaml", "--quiet", cwd=root)
    assert done.returncode == 0, done.stderr
    return root, db


def _stored(db: Path, key: str, seed: int) -> dict:
    import sqlite3

    with sqlite3.connect(db) as conn:
        (scores,) = conn.execute("SELECT scores_json FROM tuning_fits WHERE config_key=? AND seed=?",
                                 (key, seed)).fetchone()
    return json.loads(scores)


@pytest.mark.slow
@pytest.mark.filterwarnings("error::UserWarning")  # the saved model loads without Keras's optimizer warning
def test_export_best_gives_the_model_of_the_stored_score(npz_study):
    import keras

    from tuning.problems import load_problem

    root, db = npz_study
    done = run_tuning("export", "spec.yaml", "--out", "best.keras", cwd=root)  # the spec names study and store
    assert done.returncode == 0, done.stderr
    assert "as stored" in done.stdout, done.stdout
    assert "fused replica" in done.stdout
    results = tuning.load_results("npz", f"sqlite:///{db}")
    best = results.summary.iloc[0]["config_key"]
    seeds = results.fits[results.fits["config_key"] == best]
    seed = int(seeds.sort_values("val_loss")["seed"].iloc[0])  # the default: the best seed
    assert f"config {best}, seed {seed}, the best of its {len(seeds)} seeds on val_loss (their mean " \
           f"{seeds['val_loss'].mean():.6g}; --seed picks another)" in done.stdout, done.stdout  # the luckiest: said
    model = keras.models.load_model(root / "best.keras")
    problem = load_problem("arrays", {"path": str(root / "data.npz")})
    scores = problem.score(problem.y_val, model.predict(problem.x_val, verbose=0))
    stored = _stored(db, best, seed)
    assert scores["loss"] == pytest.approx(stored["val_loss"], rel=1e-4)
    assert scores["accuracy"] == pytest.approx(stored["val_accuracy"])


@pytest.mark.slow
def test_export_by_trial_and_seed_and_best_model_from_python(npz_study, monkeypatch):
    root, db = npz_study
    monkeypatch.chdir(root)  # the spec's data path is relative to where the study ran
    results = tuning.load_results("npz", f"sqlite:///{db}")
    from tuning.refit import refit

    again = refit(results, config=1, seed=0)
    assert again.same and again.seed == 0 and again.trial == 1
    assert again.refitted == pytest.approx(_stored(db, again.config_key, 0)["val_loss"], rel=1e-4)
    model = results.best_model(config=1, seed=0)
    assert model.count_params() > 0


@pytest.mark.slow
@pytest.mark.parametrize("args, field", [
    (["--config", "99"], "no finished fit of trial 99"),
    (["--config", "nonsense"], "is not best, simplest, a trial number or a config key"),
    (["--seed", "7"], "has no finished fit with seed 7"),
    (["--out", "model.txt"], "Keras saves models as .keras"),
])
def test_export_mistakes_are_one_line(npz_study, args, field):
    root, db = npz_study
    out = [] if "--out" in args else ["--out", "m.keras"]
    done = run_tuning("export", "npz", "--storage", str(db), *out, *args, cwd=root)
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], done.stderr
    assert not (root / "m.keras").exists()
