"""What makes a stored study the same study, asked once when a run starts.

A run of study NAME continues the stored study only if it computes the same fits on the same
data with the same code: the Keras backend (the same seeds give other scores on another), the
spec's identity (problem, model, space, objective, fit settings:
:meth:`~tuning.spec.StudySpec.identity`), the data fingerprint, the builder's fingerprint, the
backend (and a KerasTuner sampler, whose state is stored). How the study draws its dropout masks
(:data:`tuning.vocabulary.DROPOUT_MASKS`) is fixed when it is created and kept on every later
run, so that no config's seeds mix two kinds of masks. :func:`open_study` creates the record or
checks it and returns the study's masks; :func:`study_runner` makes the runner that draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuning.errors import SpecError
from tuning.spec import StudySpec, load_spec
from tuning.vocabulary import dropout_masks_of

if TYPE_CHECKING:
    from tuning.runners import Executor, Runner
    from tuning.store import Store

#: Each way of drawing dropout masks in a few words (``tuning status`` and the notices say it so).
MASKS_WORDS = {"seeded": "every config fused, dropout included, as runner auto",
               "keras": "dropout configs fitted one by one with Keras's masks; others may be fused, the same fit"}
#: A study on TensorFlow whose model is the user's builder: nothing is fused, so the line says that instead.
BUILDER_MASKS_WORDS = "every fit one seed at a time with Keras's own masks: model.builder is not fused on TensorFlow"
#: A study on JAX: its fused replicas are Keras's own fits, masks included.
JAX_MASKS_WORDS = "Keras's own masks in every fit; on JAX fused seeds draw them too, the same fit"


def masks_words(masks: str, *, builder: bool = False, keras_backend: str = "tensorflow") -> str:
    """A study's dropout masks in a few words, as ``tuning status`` says them (``builder``: the model
    is the user's ``model.builder``, not fused on TensorFlow; ``keras_backend``: the study's)."""
    if masks == "keras" and keras_backend == "jax":
        return JAX_MASKS_WORDS
    return BUILDER_MASKS_WORDS if builder and masks == "keras" else MASKS_WORDS[masks]


def masks_notice(study: str, runner: str, masks: str) -> str | None:
    """The one line that says a run's ``runner`` gives way to the study's dropout masks, or ``None``."""
    if masks == dropout_masks_of(runner):
        return None
    return (f"study {study!r} keeps the {masks} dropout masks it was started with ({MASKS_WORDS[masks]}): "
            f"runner {runner!r} would fit its dropout configs another way")


def study_executor(spec: StudySpec) -> Executor:
    """Where this run's fits go (made before the study is touched: a Dask scheduler that cannot be
    reached stores nothing). The caller closes it when the run ends.

    Fits run where :func:`fits_in_process` says: in worker processes replaced before they grow
    (on TensorFlow, every model a process builds leaves memory behind), or in this process when
    the study's data or model lives only here, or its memory stays flat anyway (JAX); or on a
    Dask cluster with ``runner: dask``.
    """
    from tuning.runners import Recycle, make_executor

    return make_executor(spec.runner, spec.jobs, in_process=fits_in_process(spec), scheduler=spec.scheduler,
                         recycle=Recycle(spec.recycle.tasks, spec.recycle.growth_mb), keras_backend=spec.keras_backend)


def study_runner(spec: StudySpec, masks: str, executor: Executor) -> tuple[Runner, list[str]]:
    """The runner of this run (``spec.runner`` on ``executor``, drawing the study's ``masks``) and the
    notes to show.

    On JAX ``auto`` fuses each config's seeds with ``jax.vmap`` (:class:`~tuning.runners.JaxFusedRunner`),
    each replica its seed's standalone fit, masks included, a builder's model too. On TensorFlow a
    builder's model is fitted one seed at a time: ``auto`` means ``sequential`` for it.
    """
    from tuning.runners import JaxFusedRunner, make_runner

    if spec.keras_backend == "jax" and spec.runner in _FUSING:
        return JaxFusedRunner(spec.jobs, name=spec.runner, executor=executor), []
    name = runner_name(spec)
    builder_auto = name != spec.runner
    runner = make_runner(name, spec.jobs, masks, executor)
    notes = []
    if builder_auto:
        notes.append(f"runner {spec.runner}: {runner.name} for model.builder (TensorFlow's fused seeds need a "
                     "built-in family)")
    notice = masks_notice(spec.name, name, masks)
    if notice:
        notes.append(notice)
    return runner, notes


#: The runners that fuse what they can, silently.
_FUSING = ("auto", "dask")
#: The runners that fit a config's seeds one after another.
_ONE_SEED_AT_A_TIME = ("sequential", "processes")


def runner_name(spec: StudySpec) -> str:
    """The runner a study's fits run on: ``spec.runner``, except that on TensorFlow a builder's model
    under a fusing runner is fitted by ``sequential`` (TensorFlow's fused seeds need a built-in family)."""
    fused_builder = spec.runner in _FUSING and spec.model.builder is not None and spec.keras_backend != "jax"
    return "sequential" if fused_builder else spec.runner


def seeds_fitted_together(spec: StudySpec) -> bool:
    """Whether a config's seeds train side by side (then a pruner's stop at their last epoch stops
    nothing) rather than one after another (then it can still spare the later seeds)."""
    return runner_name(spec) not in _ONE_SEED_AT_A_TIME


def fits_in_process(spec: StudySpec) -> bool:
    """Whether a run with one job fits in this process rather than in a worker process.

    In this process: in-memory arrays and a builder that only this process can call (a notebook's
    function), which no other process can see; and a study on JAX, whose memory stays flat over
    thousands of fits (docs/performance.md, "Bounded memory"). Everything else runs in a worker
    process replaced before it grows.
    """
    from tuning.builders import importable_by_workers
    from tuning.problems import IN_MEMORY

    builder = spec.model.builder
    return (spec.problem.name == IN_MEMORY or (builder is not None and not importable_by_workers(builder))
            or spec.keras_backend == "jax")


def model_fingerprints(spec: StudySpec) -> tuple[str, ...] | None:
    """The builder's fingerprint (its path and the code it uses), then those earlier versions of
    ``tuning`` stored for the same code; ``None`` for the built-in families."""
    if spec.model.builder is None:
        return None
    from tuning.builders import fingerprints

    return fingerprints(spec.model.builder)


def open_study(store: Store, spec: StudySpec, baseline: dict, data_fingerprint: str) -> str:
    """Create the study's record, or check that the stored one computes the same fits on the same
    data; return the study's dropout masks (those it was created with).

    Raises:
        SpecError: the stored study differs in what a fit computes (one line naming the field).
    """
    record = store.study_record(spec.name)
    model_prints = model_fingerprints(spec)
    model_print = model_prints[0] if model_prints else None
    if record is None:
        # On JAX every fit is Keras's, masks included (a fused replica is its seed's standalone fit).
        masks = dropout_masks_of(spec.runner, builder=spec.model.builder is not None or spec.keras_backend != "tensorflow")
        if store.save_study(spec.name, spec.to_json(), baseline, data_fingerprint, dropout_masks=masks,
                            model_fingerprint=model_print):
            return masks
        return open_study(store, spec, baseline, data_fingerprint)  # another worker created it first
    stored = load_spec(record["spec"], label=f"study {spec.name!r}")
    adopted = {column: now for column, now in (("data_fingerprint", data_fingerprint), ("model_fingerprint", model_print))
               if record.get(column) is None and now is not None}
    if adopted:  # stored before fingerprints were kept: this run's data and code are the record
        store.update_study(spec.name, **adopted)
    _same_study(store, spec, stored, what_changed(record, data_fingerprint, spec.model.builder, model_prints))
    if spec.to_json() != stored.to_json():  # more trials or seeds, another sampler or runner
        store.update_study(spec.name, spec_json=spec.to_json())
    return record["dropout_masks"]


def what_changed(record: dict, data_print: str | None, builder: str | None,
                 model_prints: tuple[str, ...] | None) -> tuple[str, str] | None:
    """``(field, words)`` when the study's data or its builder's code is not what its fits were
    computed with, else ``None``: the one rule a run, a resume and a refit (``tuning export``,
    ``best_model()``) all apply. A record kept before fingerprints were has nothing to compare
    with and is taken as the same; ``data_print`` ``None`` means the caller does not check the data.
    """
    stored = record.get("data_fingerprint")
    if None not in (stored, data_print) and stored != data_print:
        return "problem", f"other data (data fingerprint {stored}, now {data_print})"
    stored = record.get("model_fingerprint")
    if builder is not None and stored is not None and stored not in (model_prints or ()):
        now = model_prints[0] if model_prints else None
        return "model.builder", f"another version of builder {builder} (builder fingerprint {stored}, now {now})"
    return None


def _refuse(spec: StudySpec, store: Store, what: str, field: str) -> SpecError:
    """The one refusal of a run that is not the stored study: what differs, and (every time) the
    two ways to start afresh: another name, or deleting the stored study first."""
    import shlex

    source, named = spec.named_field(field)  # a value a flag gave is named by its flag
    delete = f"tuning delete {shlex.quote(spec.name)} --storage {shlex.quote(store.shown)}"
    return SpecError(f"study {spec.name!r} already exists in {store.shown} with {what}; to start afresh, give the "
                     f"study a new name, or delete the stored one (`{delete}`)", source=source, field=named)


def _same_study(store: Store, spec: StudySpec, stored: StudySpec, changed: tuple[str, str] | None) -> None:
    if spec.keras_backend != stored.keras_backend:  # a spec stored before the field was: tensorflow
        raise _refuse(spec, store, f"keras_backend {stored.keras_backend!r}, whose scores another backend would not "
                      f"reproduce; continue it with --keras-backend {stored.keras_backend} (or `tuning resume "
                      f"{spec.name}`)", "keras_backend")
    field = spec.identity_change(stored)
    if field is not None:
        raise _refuse(spec, store, f"a different {field}", field)
    if changed is not None:
        field, what = changed
        cause = "the data as it was" if field == "problem" else "the builder's code as it was"
        raise _refuse(spec, store, f"{what}: its fits were computed on {cause}", field)
    if spec.backend != stored.backend:
        raise _refuse(spec, store, f"backend {stored.backend!r}; it cannot continue with backend {spec.backend!r} "
                      f"(the search state is the backend's own); continue it with --backend {stored.backend} "
                      f"(or `tuning resume {spec.name}`)", "backend")
    if spec.backend == "kerastuner" and spec.sampler != stored.sampler:
        was, now = stored.sampler, spec.sampler
        raise _refuse(spec, store, f"KerasTuner sampler {was.name!r} (seed {was.seed}), whose state is stored; it "
                      f"cannot continue as {now.name!r} (seed {now.seed})", "sampler")
