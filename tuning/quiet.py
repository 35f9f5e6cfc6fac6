"""TensorFlow imported with its C++ start-up chatter kept off the user's terminal.

A leaf: the fit package, the search loop (a builder tried once) and the KerasTuner backend all
import TensorFlow through here, and nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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


@contextmanager
def _jax_kept_out() -> Iterator[None]:
    """``import jax`` refused for the block, unless JAX is already loaded.

    TensorFlow imports JAX whenever it is installed, only so that TFLite's converter of JAX models
    can find ``jax.jit``: on this project's machine that is 0.5 s of CPU and 100 MB of memory in every
    process that imports TensorFlow through here (``tuning run``, its fused workers), for a converter
    nothing here calls (docs/performance.md, "TensorFlow without JAX"). TensorFlow catches the
    ImportError; JAX imports as usual once the block ends. Only that converter stays without it.
    """
    if "jax" in sys.modules:
        yield
        return
    sys.modules["jax"] = None  # the import system's own "refuse this module" marker
    try:
        yield
    finally:
        if "jax" in sys.modules and sys.modules["jax"] is None:
            del sys.modules["jax"]


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
    with silenced_stderr(), _jax_kept_out():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery, and its CUDA probe, while silenced
