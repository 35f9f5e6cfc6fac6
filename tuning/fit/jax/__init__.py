"""Keras on JAX, beyond what a standalone fit needs: every seed of a config as a replica of one
compiled step (:func:`fit_seeds`, ``jax.vmap`` over the replica axis). Imports JAX only inside its
functions, never TensorFlow.
"""

from tuning.fit.jax._fused import (
    PER_REPLICA,
    Unsupported,
    check_fusable,
    fit_config_seeds,
    fit_seeds,
    step_key,
)

__all__ = ["PER_REPLICA", "Unsupported", "check_fusable", "fit_config_seeds", "fit_seeds", "step_key"]
