"""TensorFlow in this process: imported quietly, its threads pinned once, the problem's data cached.

Nothing here imports TensorFlow at module level: ``tuning status``, ``tuning report`` and
``tuning --help`` import this package's public names and must start without it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

_threads_set = False


@contextmanager
def silenced_stderr() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for the block: C++ code (TensorFlow's absl logging)
    writes there directly, past Python's ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter kept off the user's terminal.

    TensorFlow prints absl lines ("Could not find cuda drivers ...", "failed call to cuInit")
    straight to file descriptor 2 before ``TF_CPP_MIN_LOG_LEVEL`` applies, at import and when it
    first looks for devices, so they would stand above every one-line error message. Both happen
    here, silenced. Python-level import errors still raise as usual.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery, and its CUDA probe, while silenced


def configure_threads(threads: int | None) -> None:
    """Pin TensorFlow's thread pools once per process, before any op runs (``None``: leave them)."""
    global _threads_set
    if _threads_set or not threads:
        return
    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: keep what it has
        pass
    _threads_set = True


def cached_problem(name: str, params_json: str):
    """The problem's data, generated once per process (the study and in-process fits share it).

    Data that can change under the same parameters (a ``csv`` or ``arrays`` file, arrays handed
    to ``run_study``) is read again when it did (:func:`tuning.problems.data_stamp`).
    """
    from tuning.problems import data_stamp

    return _problem(name, params_json, data_stamp(name, json.loads(params_json)))


@lru_cache(maxsize=4)
def _problem(name: str, params_json: str, stamp):
    from tuning.problems import load_problem

    return load_problem(name, json.loads(params_json))
