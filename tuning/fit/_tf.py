"""TensorFlow in this process: its threads pinned once (imported quietly, by :mod:`tuning.quiet`).

Nothing here imports TensorFlow at module level: ``tuning status``, ``tuning report`` and
``tuning --help`` import this package's public names and must start without it.
"""

from __future__ import annotations

from tuning.quiet import import_tensorflow_quietly

_threads_set = False


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
