"""Which Keras backend this process runs on: chosen once, before Keras is first imported.

Keras 3 reads ``$KERAS_BACKEND`` when it is first imported and keeps that backend for the life of
the process. :func:`use_keras_backend` is the one place ``tuning`` chooses it: the study's process
calls it before anything imports Keras (the search loop, a refit), and every fit calls it again
with its task's backend, so a worker process (which starts with the parent's environment) fits on
the study's backend whatever it inherited. On TensorFlow it imports TensorFlow quietly and pins
its threads; on JAX TensorFlow is never imported (the fit's batches come from NumPy) and a worker
given one thread gets a single-threaded XLA CPU client.
"""

from __future__ import annotations

import os
import sys

from tuning.errors import SpecError, one_line
from tuning.fit._compile_cache import use_compilation_cache
from tuning.fit._tf import configure_threads
from tuning.quiet import import_tensorflow_quietly
from tuning.vocabulary import KERAS_BACKEND_VARIABLE


def use_keras_backend(name: str, threads: int | None = None, *, new_study: bool = False) -> None:
    """Make Keras run on ``name`` in this process, once Keras is imported (which this leaves to the
    caller: the study's process may never need it). ``threads``: the CPU threads a worker may use;
    ``new_study``: a study about to be created, which could still take this process's backend (a
    stored study's refit cannot: its scores were computed on ``name``).

    Raises:
        SpecError: Keras was already imported on another backend in this process (a script that
            imported Keras before calling ``tuning.run_study``): it cannot switch.
    """
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if current != name:
            other = (f", or give a new study keras_backend: {current}" if new_study else
                     f" (the study's fits ran on {name}; a model rebuilt on {current} would not be theirs)")
            raise SpecError(f"this process imported Keras on {current} before the study could choose {name}: "
                            f"set {KERAS_BACKEND_VARIABLE}={name} before importing keras{other}", field="keras_backend")
    else:
        os.environ[KERAS_BACKEND_VARIABLE] = name
        if name == "jax" and threads == 1 and "jax" not in sys.modules:
            # XLA's CPU client sizes its thread pool when JAX starts; one worker, one thread.
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def start_keras(name: str, threads: int | None = None) -> None:
    """Before a fit: Keras on ``name`` (:func:`use_keras_backend`), TensorFlow imported quietly
    with its threads pinned if that is the backend; on any other backend TensorFlow stays out,
    and on JAX compiled programs are kept on disk (:mod:`tuning.fit._compile_cache`)."""
    use_keras_backend(name, threads)
    if name == "tensorflow":
        import_tensorflow_quietly()
        configure_threads(threads)
    else:
        _keras_without_tensorflow()
        if name == "jax":
            _jax_starts()
            use_compilation_cache()


def _jax_starts() -> None:
    """Refuse in one line a JAX that cannot start a device here (``JAX_PLATFORMS=cuda`` on a machine
    without CUDA raised a bare ``AssertionError`` from inside the first fit): a spec error that
    every fit would hit alike, so the study stops instead of failing each fit."""
    import jax

    try:
        jax.devices()
    except Exception as exc:  # AssertionError, RuntimeError: whatever JAX raises for a platform it lacks
        asked = os.environ.get("JAX_PLATFORMS")
        raise SpecError(f"JAX cannot start a device on this machine ({one_line(exc)}; "
                        + (f"JAX_PLATFORMS={asked}" if asked else "its default platforms")
                        + "): set JAX_PLATFORMS to one this machine has, e.g. cpu", field="keras_backend") from None


def _keras_without_tensorflow() -> None:
    """Tell Keras that TensorFlow is absent, so that it does not import it where it may: Keras
    imports TensorFlow, when installed, to seed it beside the backend (``keras.utils.set_random_seed``)
    and to accept ``tf.data``, neither of which a fit on JAX uses (its batches are NumPy's). Keras
    asks through a lazy module whose availability is decided once; this decides it.
    (tests/test_fit_jax.py checks that a JAX fit leaves TensorFlow unimported.)"""
    if "tensorflow" in sys.modules:
        return
    from keras.src.utils import module_utils

    if module_utils.tensorflow._available is None:
        module_utils.tensorflow._available = False


def keras_backend() -> str:
    """The backend Keras runs on in this process (importing Keras if it is not yet)."""
    import keras

    return keras.backend.backend()
