"""The names a spec accepts, the defaults it gets, and the small rules several stages share.

A leaf: it imports nothing of ``tuning`` (nor NumPy, Keras or Optuna), so the spec validates with
it, and the runners, backends, models, fit package and store read the same lists from here
instead of re-stating them. The aggregates over seeds and the margin rule live in the other leaf,
:mod:`tuning.objective`.

Example:
    >>> direction_of("val_accuracy"), direction_of("val_mae")
    ('maximize', 'minimize')
    >>> default_layers("stacked"), default_layers("vanilla"), default_layers("stacked", 3)
    (2, 1, 3)
"""

from __future__ import annotations

import os

# -- the built-in model families (checked without importing Keras) ---------------------------------

FAMILIES = ("vanilla", "stacked", "bidirectional", "gru", "cnn_lstm", "encoder_decoder", "dense")
CELLS = ("lstm", "gru")
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "random_uniform", "random_normal", "orthogonal",
)
OPTIMIZERS = ("adam", "rmsprop", "sgd", "adagrad")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "softsign", "linear")
#: The losses a spec may name for a built-in family (``model.loss``); without one a model is
#: compiled with its labels' loss (``Problem.loss``).
SPEC_LOSSES = ("mse", "mae")
#: Recurrent layers of a family when the spec sets none (a family not named here has one).
FAMILY_LAYERS = {"stacked": 2}
#: SGD's momentum when the config sets none (the other optimizers have no momentum).
SGD_MOMENTUM = 0.9
#: The model settings that drop units of the recurrent layers (whose masks a study draws one way or another).
DROPOUT_KEYS = ("dropout", "recurrent_dropout")


def default_layers(family: str, layers: int | None = None) -> int:
    """``layers`` if set, else the family's default (2 for ``stacked``, else 1)."""
    return layers if layers is not None else FAMILY_LAYERS.get(family, 1)


# -- backends, samplers, runners -----------------------------------------------------------------

BACKENDS = ("optuna", "kerastuner")
DEFAULT_BACKEND = "optuna"
SAMPLERS = ("grid", "random", "tpe", "cmaes", "bayesian", "hyperband")
#: The samplers each backend offers, and the one a spec gets when it names none.
BACKEND_SAMPLERS = {"optuna": ("grid", "random", "tpe", "cmaes"),
                    "kerastuner": ("grid", "random", "bayesian", "hyperband")}
DEFAULT_SAMPLER = {"optuna": "tpe", "kerastuner": "bayesian"}
#: Samplers whose proposals do not depend on the values told so far: their trials can all be in
#: flight at once (a fused runner shares graphs across them; a race starts every config together).
PLAN_SAMPLERS = ("grid", "random")


def races(spec: dict | None) -> bool:
    """Whether a stored spec (a plain mapping) gives its configs seeds by a race (``repeats.strategy: race``)."""
    return ((spec or {}).get("repeats") or {}).get("strategy") == "race"


#: Epoch pruners (Optuna's classes, judging a config's seed aggregate: tuning.pruning; ``none``:
#: every config trains all its epochs).
PRUNERS = ("median", "percentile", "successive_halving", "hyperband", "none")
#: A spec's ``runner`` names (``tuning.runners.RUNNERS`` maps each to its runner).
RUNNERS = ("auto", "sequential", "processes", "fused", "dask")
DEFAULT_RUNNER = "auto"
#: The problem of arrays handed to ``tuning.run_study``: they live in that process only, so its fits run there.
IN_MEMORY_PROBLEM = "in_memory"
#: When a worker process on this host is replaced (``recycle`` in a spec, ``tuning.runners.Recycle``):
#: after this many tasks (a fit, or a fused graph of a config's seeds) ...
RECYCLE_TASKS = 1000
#: ... or once its resident memory grew this much (MB) since its first task ended.
RECYCLE_GROWTH_MB = 150.0
#: Growth (MB) of a study's own process, fitting on TensorFlow because its data or model lives only
#: there, past which it warns once (at the 13 MB per fit measured, after about 80 fits).
IN_PROCESS_WARN_MB = 1000.0

#: Keras 3's backends a spec may name (``keras_backend``); a study keeps the one it was started
#: with, since the same seeds give other scores on another backend. ``torch`` is refused for now.
KERAS_BACKENDS = ("tensorflow", "jax", "torch")
#: The backend of a spec that names none, when ``$KERAS_BACKEND`` is not set either.
DEFAULT_KERAS_BACKEND = "tensorflow"
#: Keras's own environment variable for its backend, honoured as Keras does.
KERAS_BACKEND_VARIABLE = "KERAS_BACKEND"


#: Where JAX keeps the programs it compiles, so that a step of one shape is compiled once for all
#: the configs, processes and studies on this machine (``tuning.fit._compile_cache``): a
#: directory, or ``off``. Unset: :data:`DEFAULT_JAX_CACHE` under ``$XDG_CACHE_HOME`` (``~/.cache``).
JAX_CACHE_VARIABLE = "TUNING_JAX_CACHE"
DEFAULT_JAX_CACHE = "tuning/jax"


def stored_keras_backend(spec: dict) -> str:
    """The Keras backend that fitted a stored study (its spec as a dict): a study stored before the
    field existed was fitted on :data:`DEFAULT_KERAS_BACKEND`, whatever ``$KERAS_BACKEND`` says now."""
    return spec.get("keras_backend") or DEFAULT_KERAS_BACKEND


def default_keras_backend(name: str | None = None) -> str:
    """``name`` if given, else ``$KERAS_BACKEND``, else :data:`DEFAULT_KERAS_BACKEND` (the one rule)."""
    return name or os.environ.get(KERAS_BACKEND_VARIABLE) or DEFAULT_KERAS_BACKEND


#: How a study draws the dropout masks of its configs with dropout, fixed when it is created:
#: ``seeded`` - the seeds of a config train fused, as replicas of one graph, each replica's masks
#: drawn from (seed, step); ``keras`` - a config with dropout is fitted one seed at a time with
#: Keras's own masks. Configs without dropout are fused under both (the same fit to float32
#: rounding). The two give the same distribution of scores over seeds, other values.
DROPOUT_MASKS = ("seeded", "keras")
#: The dropout masks a new study started with each runner draws.
RUNNER_DROPOUT_MASKS = {"auto": "seeded", "fused": "seeded", "dask": "seeded", "sequential": "keras",
                        "processes": "keras"}


def dropout_masks_of(runner: str, *, builder: bool = False) -> str:
    """How a new study run with ``runner`` draws its dropout masks: the one rule.

    ``keras`` for a model of the user's ``model.builder`` (not fused on TensorFlow, whose fused graph
    builds the built-in families only; on JAX its seeds are fused with Keras's own masks) and for
    ``sequential`` / ``processes``; ``seeded`` for ``auto`` and ``fused``.
    """
    return "keras" if builder else RUNNER_DROPOUT_MASKS[runner]

# -- fitting and scoring ----------------------------------------------------------------------------

#: Epochs without improvement before early stopping, when ``fit.early_stopping`` names none.
DEFAULT_PATIENCE = 10
#: Words in a metric's name that make larger better (its direction when the spec names none).
MAXIMIZED = ("accuracy", "exact_match", "auc", "precision", "recall", "f1")


#: the per-epoch curve watched when nothing names one: Keras's ``EarlyStopping`` default, also
#: early stopping's, an epoch hook's and the pruner's
DEFAULT_MONITOR = "val_loss"


def direction_of(metric: str) -> str:
    """``"maximize"`` for a metric whose name says larger is better (accuracy, AUC, ...), else ``"minimize"``."""
    return "maximize" if any(word in metric for word in MAXIMIZED) else "minimize"


# -- the store --------------------------------------------------------------------------------------

#: The store used when neither the command, the spec nor ``$TUNING_STORAGE`` names one.
DEFAULT_STORAGE = "sqlite:///tuning.db"
#: The environment variable that sets the default store.
STORAGE_VARIABLE = "TUNING_STORAGE"
#: Seconds a worker's claims live without a heartbeat (``--lease``); the heartbeat renews them
#: every third of that, and a killed worker's work is taken over this long after its last beat.
DEFAULT_LEASE = 60.0


def default_storage(storage: str | None = None) -> str:
    """``storage`` if given, else ``$TUNING_STORAGE``, else :data:`DEFAULT_STORAGE` (the one rule)."""
    return storage or os.environ.get(STORAGE_VARIABLE) or DEFAULT_STORAGE


#: How many items :func:`first_few` names before "and N more".
FIRST_FEW = 5


def first_few(items, shown: int = FIRST_FEW) -> str:
    """``"a, b, c and 4 more"``: the first ``shown`` of ``items`` and how many others (all of them
    when there are no more), so a list that grows with a study (trials running, configs tied) stays
    one short line wherever it is said.

    Example:
        >>> first_few(range(3)), first_few(range(8), 3)
        ('0, 1, 2', '0, 1, 2 and 5 more')
    """
    named = [str(item) for item in items]
    return ", ".join(named[:shown]) + (f" and {len(named) - shown} more" if len(named) > shown else "")
