"""The ``arrays`` problem: your own .npz data, every mistake one line naming the file and the key.

Arrays are generated in each test and saved with ``np.savez``; nothing is downloaded.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers.cli import run_tuning
from helpers.keras_calls import forward

from tuning.errors import DataError, SpecError
from tuning.problems import load_problem

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 6, 3)).astype("float32")


def save(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def split(y, **extra):
    return {"x_train": X[:30], "y_train": y[:30], "x_val": X[30:], "y_val": y[30:], **extra}


def test_integer_labels_are_multiclass_kept_as_given_with_the_majority_class_baseline(tmp_path):
    labels = np.r_[np.zeros(20, int), np.ones(12, int), np.full(8, 2)]
    problem = load_problem("arrays", {"path": save(tmp_path, **split(labels))})
    assert problem.task == "multiclass" and problem.loss == "sparse_categorical_crossentropy"
    # the labels the model is fed are the user's: shape and integer dtype kept
    assert problem.y_train.shape == (30,) and problem.y_train.dtype == labels.dtype
    assert np.array_equal(problem.y_train, labels[:30]) and problem.sparse and problem.n_classes == 3
    assert problem.output_shape == (3,) and problem.input_shape == (6, 3) and not problem.sequence_output
    # the naive baseline predicts the training class frequencies: its accuracy is the majority class's
    assert problem.baseline()["val_accuracy"] == pytest.approx(np.mean(labels[30:] == 0))
    assert problem.naive_val.shape == (10, 3)


@pytest.mark.parametrize(("y", "extra", "label_shape", "output_shape", "loss"), [
    (np.arange(40) % 4, {}, (), (4,), "sparse_categorical_crossentropy"),
    ((np.arange(40) % 3)[:, None].astype("int32"), {}, (1,), (3,), "sparse_categorical_crossentropy"),
    ((np.arange(40) % 3).astype("uint8"), {}, (), (3,), "sparse_categorical_crossentropy"),
    (np.arange(40) % 3, {"n_classes": 5}, (), (5,), "sparse_categorical_crossentropy"),
    (RNG.integers(0, 3, (40, 6)), {"task": "multiclass"}, (6,), (6, 3), "sparse_categorical_crossentropy"),
    (RNG.integers(0, 3, (40, 6, 1)), {}, (6, 1), (6, 3), "sparse_categorical_crossentropy"),
    (np.eye(4)[np.arange(40) % 4], {}, (4,), (4,), "categorical_crossentropy"),
    (RNG.integers(0, 2, 40), {}, (), (1,), "binary_crossentropy"),
    (RNG.integers(0, 2, (40, 1)), {}, (1,), (1,), "binary_crossentropy"),
])
def test_labels_reach_the_model_as_given_and_the_loss_follows_them(tmp_path, y, extra, label_shape, output_shape, loss):
    problem = load_problem("arrays", {"path": save(tmp_path, **split(y, x_test=X[30:], y_test=y[30:])), **extra})
    assert (problem.label_shape, problem.output_shape, problem.loss) == (label_shape, output_shape, loss)
    assert problem.sequence_output == (len(output_shape) == 2)
    if y.dtype.kind in "iu":  # integer labels keep their dtype: Keras's sparse crossentropy needs class indices
        assert problem.y_train.dtype == y.dtype and np.array_equal(problem.y_val, y[30:])
    # every score works on the labels as given: the baseline, and a model's predictions in its output shape
    scores = problem.baseline()
    assert {"val_loss", "val_accuracy", "test_loss", "test_accuracy"} <= set(scores)
    dense = problem.dense(problem.y_val)
    assert dense.shape == (10, *output_shape) and dense.dtype == np.float32
    perfect = problem.score(problem.y_val, np.clip(dense, 1e-3, 1 - 1e-3))
    assert perfect["accuracy"] == 1.0 and perfect["loss"] < 0.01


def test_integer_labels_hash_as_their_one_hot_rows_so_studies_made_before_still_resume(tmp_path):
    """The fingerprint is taken on the targets' dense form, the form every study stored before
    labels were kept as given: the digests below were computed by that version (commit ce2d0b3)."""
    x = np.random.default_rng(3).normal(size=(40, 6, 3)).astype("float32")
    cases = {
        "eed3acb91c6c2a51": (np.random.default_rng(4).integers(0, 2, 40), {}),  # binary, [samples]
        "776fd029db17f6cf": (np.arange(40) % 4, {}),
        "a6655f77aeb7668e": ((np.arange(40) % 3)[:, None].astype("int32"), {}),
        "2e8e3c8d2501cdbd": (np.arange(40) % 3, {"n_classes": 5}),
        "bcf3941e93b77f82": (np.random.default_rng(5).integers(0, 3, (40, 6)), {"task": "multiclass"}),  # per step
    }
    for digest, (y, extra) in cases.items():
        path = save(tmp_path, x_train=x[:30], y_train=y[:30], x_val=x[30:], y_val=y[30:], x_test=x[30:], y_test=y[30:])
        assert load_problem("arrays", {"path": path, **extra}).fingerprint() == digest, (y[:5], extra)
    # integer labels and the same classes one-hot are the same data
    one_hot = np.eye(4)[np.arange(40) % 4]
    path = save(tmp_path, x_train=x[:30], y_train=one_hot[:30], x_val=x[30:], y_val=one_hot[30:], x_test=x[30:],
                y_test=one_hot[30:])
    assert load_problem("arrays", {"path": path}).fingerprint() == "776fd029db17f6cf"


@pytest.mark.parametrize(("y", "task", "shape"), [
    (RNG.normal(size=(40, 2)), "regression", (30, 2)),
    (RNG.integers(0, 2, size=40), "binary", (30,)),
    (np.eye(4)[RNG.integers(0, 4, size=40)], "multiclass", (30, 4)),
    (RNG.normal(size=(40, 6, 1)), "regression", (30, 6, 1)),  # one target per step
])
def test_the_task_is_inferred_when_the_targets_leave_no_doubt(tmp_path, y, task, shape):
    problem = load_problem("arrays", {"path": save(tmp_path, **split(y))})
    assert problem.task == task and problem.y_train.shape == shape
    assert problem.sequence_output == (len(shape) == 3)
    assert set(problem.baseline()) >= {"val_loss"}


def test_regression_baselines_training_mean_or_persistence_of_a_feature(tmp_path):
    y = X[:, -1, 1:2] + 0.01  # tomorrow is almost today's feature 1
    path = save(tmp_path, **split(y))
    mean = load_problem("arrays", {"path": path})
    persistent = load_problem("arrays", {"path": path, "persistence_feature": 1})
    assert persistent.baseline()["val_mse"] == pytest.approx(1e-4, rel=1e-3)
    assert mean.baseline()["val_mse"] > 100 * persistent.baseline()["val_mse"]
    assert np.allclose(mean.naive_val, y[:30].mean(axis=0))


def test_a_test_split_is_kept_and_scored(tmp_path):
    y = RNG.normal(size=(40, 1))
    path = save(tmp_path, x_train=X[:20], y_train=y[:20], x_val=X[20:30], y_val=y[20:30], x_test=X[30:], y_test=y[30:])
    problem = load_problem("arrays", {"path": path})
    assert problem.has_test and "test_mse" in problem.baseline()


@pytest.mark.parametrize(("arrays", "expected"), [
    (split(np.zeros(40), x_train=X[:30, :, 0]), r"x_train has shape \(30, 6\) \(2 dims\): inputs need 3 dims \[samples, "
                                                 r"time steps, features\]; for one feature per step reshape to \(30, 6, 1\)"),
    (split(np.zeros(40), y_val=np.zeros(7)), "x_val has 10 samples but y_val has 7"),
    (split(np.where(np.arange(40) == 33, np.nan, 0.5)), r"y_val has 1 NaN/inf value\(s\), the first at index \(3,\)"),
    (split(np.arange(40) % 3, y_val=np.array([0, 1, 2, -1, 0, 1, 2, 0, 1, 2])),
     "y_val has label -1, outside the classes 0..2 of the labels"),
    ({"x_train": X[:30], "y_train": np.zeros(30), "x_val": X[30:]}, "missing key 'y_val'; expected keys x_train"),
    (split(np.zeros(40), X_test=X[:2]), "unexpected key 'X_test'"),
    (split(np.zeros(40), x_test=X[:2]), "x_test and y_test come together"),
    (split(np.zeros(40), x_val=X[30:, :4]), r"x_val has samples of shape \(4, 3\) but x_train \(6, 3\)"),
    (split(np.arange(40) % 5 + 2.0), "cannot tell the task from y_train .* set problem.params.task"),
])
def test_every_data_mistake_is_one_line_naming_the_file_and_the_key(tmp_path, arrays, expected):
    path = save(tmp_path, **arrays)
    with pytest.raises(DataError, match=expected) as caught:
        load_problem("arrays", {"path": path})
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_labels_out_of_the_stated_classes_are_refused(tmp_path):
    path = save(tmp_path, **split(np.arange(40) % 3, y_val=np.array([0, 1, 2, 5, 0, 1, 2, 0, 1, 2])))
    with pytest.raises(DataError, match="y_val has label 5, outside the classes 0..2 of n_classes 3"):
        load_problem("arrays", {"path": path, "n_classes": 3})
    assert load_problem("arrays", {"path": path}).output_shape == (6,)  # by default: classes 0..5


def test_labels_that_contradict_the_stated_task_are_refused(tmp_path):
    path = save(tmp_path, **split(RNG.integers(0, 3, 40)))
    with pytest.raises(DataError, match="y_train has the value 2: binary labels are 0 or 1"):
        load_problem("arrays", {"path": path, "task": "binary"})
    with pytest.raises(SpecError, match="unknown task 'ordinal'"):
        load_problem("arrays", {"path": path, "task": "ordinal"})
    with pytest.raises(SpecError, match="file not found"):
        load_problem("arrays", {"path": str(tmp_path / "nope.npz")})


def test_the_data_is_checked_before_tensorflow_is_imported(tmp_path):
    path = save(tmp_path, **split(np.zeros(40), x_train=X[:30, :, 0]))
    code = ("import sys\nfrom tuning.problems import load_problem\n"
            f"try:\n    load_problem('arrays', {{'path': {path!r}}})\nexcept Exception as exc:\n    print(type(exc).__name__)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["DataError", "[]"], done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.e2e
def test_an_npz_study_runs_from_the_cli_and_bad_data_is_exit_2(tmp_path):
    labels = RNG.integers(0, 3, 40)
    good = save(tmp_path, "good.npz", **split(labels))
    bad = save(tmp_path, "bad.npz", **split(labels, x_train=X[:30, :, 0]))
    spec = ("name: {name}\nproblem: {{name: arrays, params: {{path: {path}}}}}\nmodel: {{units: 2}}\n"
            "fit: {{epochs: 2, batch_size: 10}}\nspace: {{units: [1, 2]}}\nsampler: grid\nrepeats: 2\n"
            f"storage: sqlite:///{tmp_path / 'store.db'}\n")
    (tmp_path / "good.yaml").write_text(spec.format(name="npz", path=good))
    (tmp_path / "bad.yaml").write_text(spec.format(name="npzbad", path=bad))
    done = run_tuning("run", "good.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    status = run_tuning("status", "npz", "--storage", f"sqlite:///{tmp_path / 'store.db'}", cwd=tmp_path)
    assert "2 complete" in status.stdout and "could be the best" in status.stdout
    refused = run_tuning("run", "bad.yaml", "--quiet", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"error: {bad}: x_train has shape (30, 6)")


@pytest.mark.slow
def test_resuming_on_changed_arrays_is_refused_and_the_store_keeps_its_fits(tmp_path):
    import tuning
    from tuning.store import Store

    labels = RNG.integers(0, 2, 40)
    path = save(tmp_path, "data.npz", **split(labels))
    spec = {"name": "npz", "problem": {"name": "arrays", "params": {"path": path}}, "model": {"units": 2},
            "fit": {"epochs": 1, "batch_size": 10}, "sampler": "grid", "repeats": 2,
            "storage": f"sqlite:///{tmp_path / 'store.db'}"}
    assert tuning.run_study(dict(spec)).fits_run == 2
    again = tuning.run_study(dict(spec))  # same file, same data: the finished study resumes, nothing to fit
    assert again.complete == 1 and again.fits_run == 0
    save(tmp_path, "data.npz", **split(1 - labels))  # the file rewritten under the same name
    with pytest.raises(SpecError, match="already exists in .* with other data .*give the study a new name"):
        tuning.run_study(dict(spec))
    assert Store(spec["storage"]).count_fits("npz") == 2


CLI_SPEC = ("name: {name}\nproblem: {{name: arrays, params: {{path: {path}{extra}}}}}\nmodel: {{units: 2}}\n"
            "fit: {{epochs: 1, batch_size: 10}}\nsampler: grid\nrepeats: 1\nstorage: sqlite:///{db}\n")
NAN_X = X[:30].copy()
NAN_X[4, 2, 1] = np.nan


@pytest.mark.e2e
@pytest.mark.parametrize("arrays, extra, expected", [
    (split(np.zeros(40), x_train=X[:30, :, 0]), "", "x_train has shape (30, 6) (2 dims): inputs need 3 dims"),
    (split(np.zeros(40), y_val=np.zeros(9)), "", "x_val has 10 samples but y_val has 9"),
    (split(np.zeros(40), x_train=NAN_X), "", "x_train has 1 NaN/inf value(s), the first at index (4, 2, 1)"),
    (split(RNG.integers(0, 3, 40)), ", n_classes: 2", "label 2, outside the classes 0..1 of n_classes 2"),
    (split(np.zeros(40)), ", task: ordinal", "unknown task 'ordinal'"),
], ids=["2-D inputs", "mismatched lengths", "NaN", "labels out of range", "unknown task"])
def test_bad_arrays_through_the_cli_are_one_line_and_exit_2(tmp_path, arrays, extra, expected):
    path = save(tmp_path, **arrays)
    (tmp_path / "spec.yaml").write_text(CLI_SPEC.format(name="bad", path=path, extra=extra, db=tmp_path / "s.db"))
    done = run_tuning("run", "spec.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "s.db").exists()


@pytest.mark.slow
@pytest.mark.e2e
def test_tuning_resume_on_rewritten_arrays_is_one_line_and_keeps_the_fits(tmp_path):
    from helpers.cli import stored_fits

    labels = RNG.integers(0, 2, 40)
    path = save(tmp_path, **split(labels))
    db = tmp_path / "s.db"
    (tmp_path / "spec.yaml").write_text(CLI_SPEC.format(name="npz", path=path, extra="", db=db))
    assert run_tuning("run", "spec.yaml", "--quiet", cwd=tmp_path).returncode == 0
    before = stored_fits(db)
    save(tmp_path, **split(1 - labels))
    done = run_tuning("resume", "npz", "--storage", str(db), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "with other data" in lines[0], done.stderr
    assert stored_fits(db) == before


# ---- the built-in families on the labels as given ----------------------------------------------

def _classes(tmp_path, form: str) -> dict:
    """Three classes (which third is channel 0's mean in?) as ``integers``, ``one_hot`` rows, ``per_step``
    integers [samples, steps] (the class of each step's running mean), or ``binary`` 0/1; with a test split."""
    mean = X[:, :, 0].mean(axis=1)
    classes = np.digitize(mean, [-0.15, 0.15])
    y = {"integers": classes, "one_hot": np.eye(3, dtype="float32")[classes], "binary": (mean > 0).astype(int),
         "per_step": np.digitize(np.cumsum(X[:, :, 0], axis=1) / np.arange(1, 7), [-0.3, 0.3])}[form]
    extra = {"task": "multiclass", "n_classes": 3} if form == "per_step" else {}
    return {"path": save(tmp_path, f"{form}.npz", **split(y, x_test=X[30:], y_test=y[30:])), **extra}


@pytest.mark.parametrize(("form", "loss", "output"), [
    ("integers", "sparse_categorical_crossentropy", (None, 3)),
    ("per_step", "sparse_categorical_crossentropy", (None, 6, 3)),
    ("one_hot", "categorical_crossentropy", (None, 3)),
    ("binary", "binary_crossentropy", (None, 1)),
])
def test_the_built_in_families_train_with_the_loss_of_the_labels(tmp_path, form, loss, output):
    from tuning.models import build_model

    problem = load_problem("arrays", _classes(tmp_path, form))
    family = "encoder_decoder" if form == "integers" else "vanilla"  # a vector of classes decoded in one step
    model = build_model({"family": family, "units": 2}, problem)
    assert model.loss == loss and model.output_shape == output
    # the compiled accuracy is tuning's on the same predictions: a metric that matches the labels
    found = model.evaluate(problem.x_val, problem.y_val, verbose=0, return_dict=True)
    scored = problem.score(problem.y_val, forward(model, problem.x_val))  # model.predict, without its tracing
    assert found["accuracy"] == pytest.approx(scored["accuracy"]) and found["loss"] == pytest.approx(scored["loss"], rel=1e-4)


@pytest.mark.slow
def test_fused_seeds_and_standalone_fits_agree_on_every_form_of_the_labels(tmp_path):
    """Integer labels train with sparse crossentropy standalone and as one-hot rows in the fused graph:
    the same fit (to float32 rounding), and the same as the one-hot labels of the same classes."""
    import json

    from tuning.fit import FitSettings, FitTask, fit_one
    from tuning.runners import FusedRunner
    from tuning.spec import config_key

    config = {"units": 3, "epochs": 2, "batch_size": 16}
    val_losses = {}
    for form in ("integers", "one_hot", "per_step", "binary"):
        params = json.dumps(_classes(tmp_path, form), sort_keys=True)
        tasks = [FitTask("arrays", params, config, config_key(config), seed, FitSettings.resolve({}, config))
                 for seed in (0, 1)]
        runner = FusedRunner(1, notice=lambda line, form=form: pytest.fail(f"{form}: {line}"))
        fused = list(runner.map(tasks))
        assert runner.counts == {"fused": 2, "fallback": 0} and all(f.ok for f in fused), (form, fused)
        alone = fit_one(tasks[1])
        assert alone.ok, alone.error
        assert set(alone.scores) == set(fused[1].scores) and set(alone.curves) == set(fused[1].curves)
        for name, value in alone.scores.items():
            assert fused[1].scores[name] == pytest.approx(value, rel=1e-4, abs=1e-6), (form, name)
        val_losses[form] = alone.scores["val_loss"]
    assert val_losses["integers"] == pytest.approx(val_losses["one_hot"], rel=1e-5)
