"""A fit task in, :class:`~tuning.results.FitResult` (s) out: the only package that imports TensorFlow.

* :class:`FitTask` / :class:`FitSettings` - what a worker is handed: plain, picklable data, the
  fit settings resolved once from the spec's ``fit`` section and the config.
* :func:`fit_one` - one (config, seed) as a standalone Keras fit.
* :class:`EpochHook` - what every fit path calls after each epoch with the monitored value of
  each fit that trained it, and which may stop some of them (a pruner plugs in here).
* :mod:`tuning.fit.fused` - every seed of a config as one replica of one graph
  (:func:`tuning.fit.fused.fit_group`), and the planning that packs tasks into such graphs.
* :mod:`tuning.fit.pipeline` - the seeded input pipeline both share.

TensorFlow is imported inside the functions that fit, never by importing this package, so the
commands that only read the store start without it.
"""

from tuning.fit._backend import keras_backend, start_keras, use_keras_backend
from tuning.fit._hook import DEFAULT_MONITOR, ConfigsDone, EpochHook, tell_configs_done
from tuning.fit._keras import fit_and_keep, fit_one, trainable_weights, training_arrays
from tuning.fit._task import EarlyStopping, FitSettings, FitTask
from tuning.fit._tf import configure_threads
from tuning.problems import cached_problem
from tuning.quiet import import_tensorflow_quietly, silenced_stderr

__all__ = [
    "DEFAULT_MONITOR",
    "ConfigsDone",
    "EarlyStopping",
    "EpochHook",
    "FitSettings",
    "FitTask",
    "cached_problem",
    "fit_and_keep",
    "configure_threads",
    "fit_one",
    "import_tensorflow_quietly",
    "keras_backend",
    "start_keras",
    "tell_configs_done",
    "silenced_stderr",
    "trainable_weights",
    "training_arrays",
    "use_keras_backend",
]
