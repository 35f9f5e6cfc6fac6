"""One task fitted fused (as one replica, seeded dropout masks), and a standalone Keras model holding what it learnt.

``tuning export`` needs the very model whose scores a study stored. For a fit with Keras's own
dropout masks that is :func:`tuning.fit.fit_and_keep`; for a fit with seeded masks (a config
with dropout under ``runner: auto`` or ``fused``) it is the fused replica of that seed, whose
dropout masks were drawn from (seed, step) and so do not depend on which other seeds shared its
graph. :func:`fit_replica_model` fits the seed as a graph holding one replica and copies the trained
replica's weights into the model :func:`tuning.models.build_model` builds for the config: at
inference there is no dropout, so ``model.predict`` is the replica's own forward pass (to float32
rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuning.fit import FitTask, cached_problem
from tuning.fit.fused._net import standalone_model
from tuning.fit.fused._plan import fit_graph
from tuning.results import FitResult


def fit_replica_model(task: FitTask) -> tuple[FitResult, Any]:
    """(result, trained Keras model) of ``task`` fitted fused, as one replica.

    The result is the one a fused study stores for this (config, seed), to float32 rounding of a
    graph of other width (``tests/test_fused_replica.py`` measures it); the model is ``None`` when
    the fit failed. Raises :class:`~tuning.fit.fused.Unsupported` for a config the fused graph does
    not take: its stored fits are ``fit_one``'s, so export it with :func:`tuning.fit.fit_and_keep`.
    """
    from tuning.space import split_config

    (result,), graph = fit_graph([task])
    if not result.ok:
        return result, None
    trained = [np.array(v.numpy())[0] for v in graph.variables]  # replica 0, net.weight_layers order
    problem = cached_problem(task.problem_name, task.problem_params_json)
    model = standalone_model(split_config(task.config)[0], problem, task.seed)
    start = 0
    for name in graph.net.weight_layers:
        layer = model.get_layer(name)
        count = len(layer.get_weights())
        layer.set_weights(trained[start:start + count])
        start += count
    return result, model
