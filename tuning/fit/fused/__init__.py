"""Fused seeds: train every seed of a config as one replica of one wider TensorFlow graph.

For tutorial-size sequence models on a CPU, almost all of a fit's time is per-step overhead
(Python, graph dispatch, tiny matmuls), not arithmetic. R replicas of the same network, whose
weights carry a leading replica axis ``(R, ...)`` and whose gates are computed by one batched
matmul per time step, cost much less than R fits: 10 seeds of a 10-cell LSTM about as much as
one standalone fit, of a 20-cell one about twice as much; at 50 cells the arithmetic itself
dominates and fusing gains less than 2x (``docs/performance.md``, "Fused seeds (issue 6)").

Each replica *is* the standalone fit of its seed (:func:`tuning.fit.fit_one`), as far as the
mathematics goes:

* initial weights: the standalone model is built for each seed exactly as ``fit_one`` builds it
  (``clear_session``, ``keras.utils.set_random_seed(seed)``, ``build_model``) and its weights are
  copied into slice ``r`` of the fused variables;
* batches: the seeded order of :func:`tuning.fit.pipeline.fit_data` (the same ``tf.data`` shuffle
  with the same seeds, run on the sample indices: its order depends on the seeds, not on the
  elements), so replica ``r`` sees at step ``s`` the samples its standalone twin sees;
* loss and gradients: the replicas' losses are summed, so each slice's gradient is its own
  replica's gradient; the optimizer is the model's own Keras optimizer, whose update is
  elementwise (Adam, RMSprop, SGD, Adagrad), so each slice's optimizer state is its own too;
* dropout: masks of the same distribution as Keras's (one mask per sequence; one per gate when
  ``recurrent_dropout`` > 0), drawn per replica from ``(seed, step)`` only, so a seed's result does
  not depend on which other seeds share its graph. They are not Keras's masks: with dropout, fused
  and standalone fits of one seed agree in distribution, not value by value;
* curves, early stopping (per replica, with Keras's rules and best-weight restore) and scores
  (``problem.score`` on the replica's predictions), one :class:`~tuning.results.FitResult` per seed;
* a replica whose epoch logs hold NaN/inf fails alone ("diverged at epoch k, seed s"): its loss is
  masked out and its slice zeroed, and the others go on.

Without dropout, one replica reproduces ``fit_one``'s curves to float32 rounding (the same
operations in another order), see ``tests/test_fused.py``.

What is fused: the families of :mod:`tuning.models` (vanilla, stacked, bidirectional, gru,
cnn_lstm, encoder_decoder, dense), LSTM and GRU cells, every head, losses mse/mae/binary, categorical
and sparse categorical crossentropy (class indices are fed to the graph as one-hot rows),
optimizers adam/rmsprop/sgd/adagrad without norm clipping: every config
:func:`tuning.models.build_model` builds today. Anything else (a loss the graph does not compute,
a layer or option this package does not know, a fused fit that raises) is handed by the fused
runner (:mod:`tuning.runners`) to its fallback runner (``processes`` with ``jobs`` > 1, else
``sequential``) with a one-line notice on stderr.

The modules, in the order a fit goes through them: :mod:`._plan` (which tasks share a graph, the
support check that returns a :class:`FusedPlan`, replicas per graph, :func:`fit_group`),
:mod:`._net` (the network in plain data), :mod:`._graph` (the replica graph), :mod:`._train`
(the trainer, per-replica early stopping, batch orders, scoring) and :mod:`.recurrence` (the
time loops with hand-written gradients).

``runner: auto`` (the default) is a ``FusedRunner`` without notices: it fuses every config it
can, dropout included (a study of ``seeded`` dropout masks, :mod:`tuning.runners`). A study of
``keras`` dropout masks (started with ``sequential`` or ``processes``, or with ``auto`` before it
fused dropout) gets ``keras_masks=True`` instead: only the configs whose fused fit *is* the
standalone fit (no ``dropout`` or ``recurrent_dropout`` > 0 in any recurrent layer) are fused, so
every stored score is ``fit_one``'s up to float32 rounding. :func:`fit_replica_model` fits one
task fused (seeded masks) and returns the trained model too (for ``tuning export``).
"""

from tuning.fit.fused._net import (
    ELEMENTWISE_OPTIMIZERS,
    FUSED_LOSSES,
    FusedNet,
    NeedsKerasMasks,
    Unsupported,
    parse_model,
)
from tuning.fit.fused._plan import (
    DEFAULT_MEMORY_BUDGET,
    DROPOUT_KEYS,
    GRAPH_THREADS,
    MAX_REPLICAS,
    PER_REPLICA_KEYS,
    CheckedModel,
    FusedPlan,
    config_dropout,
    fit_group,
    group_key,
    order_for_sharing,
    plan_graphs,
    replicas_per_graph,
    shared_part,
)
from tuning.fit.fused._replica import fit_replica_model
from tuning.fit.fused._train import batch_orders

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DROPOUT_KEYS",
    "ELEMENTWISE_OPTIMIZERS",
    "GRAPH_THREADS",
    "FUSED_LOSSES",
    "MAX_REPLICAS",
    "PER_REPLICA_KEYS",
    "CheckedModel",
    "FusedNet",
    "FusedPlan",
    "NeedsKerasMasks",
    "Unsupported",
    "batch_orders",
    "config_dropout",
    "fit_group",
    "fit_replica_model",
    "group_key",
    "order_for_sharing",
    "parse_model",
    "plan_graphs",
    "replicas_per_graph",
    "shared_part",
]
