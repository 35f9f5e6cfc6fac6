"""Compiled Keras sequence models built from one flat hyperparameter config.

A config is a plain dict, as the sampler draws it and the store records it, so that any point
of a search space turns into a model without further glue. The output head, its activation and
the default loss follow from the :class:`~tuning.problems.Problem`, so one config can be
tried on any problem whose target shape the family can produce.

Config keys (all optional; anything else, e.g. ``epochs`` or ``batch_size``, is ignored here
because fit settings belong to the evaluator):

``family`` (``"vanilla"``)
    ``vanilla``: one recurrent layer; ``stacked``: two by default; ``bidirectional``: every
    recurrent layer wrapped in ``Bidirectional``; ``gru``: vanilla/stacked with GRU cells;
    ``cnn_lstm``: a Conv1D (+ optional MaxPooling1D) front before the recurrent stack;
    ``encoder_decoder``: encoder stack -> RepeatVector(out_steps) -> decoder stack ->
    TimeDistributed(Dense), the only family that maps n input steps to m != n output steps;
    ``dense``: no recurrent layer at all, the window flattened into the Dense head (a linear
    model for regression, logistic for classification; per-step targets get the head on every
    step). It is the learned baseline a recurrent model has to beat; the recurrent keys
    (cell, layers, units, dropout ...) are ignored.
``cell`` (``"lstm"``)
    ``"lstm"`` or ``"gru"``; family ``gru`` forces ``"gru"``.
``layers`` (2 for ``stacked``, else 1)
    Number of recurrent layers (of the encoder, for ``encoder_decoder``).
``units`` (32)
    Width of every recurrent layer, or a list with one width per layer (length == ``layers``).
``dropout``, ``recurrent_dropout`` (0.0)
    Input and recurrent dropout of every recurrent layer, in [0, 1).
``activation`` (``"tanh"``)
    Activation of the recurrent layers; one of :data:`ACTIVATIONS`.
``initializer`` (``"glorot_uniform"``)
    ``kernel_initializer`` of the recurrent, conv and dense layers; one of :data:`INITIALIZERS`.
``optimizer`` (``"adam"``), ``learning_rate`` (0.001 for every optimizer), ``momentum`` (0.9)
    One of :data:`OPTIMIZERS`; ``momentum`` is only read for ``sgd``. A single learning-rate
    default keeps configs comparable across optimizers; search it when sgd/adagrad are in play.
``loss`` (``problem.loss``)
    Override of the problem's loss, e.g. ``"mae"`` for a regression problem.
``filters`` (32), ``kernel_size`` (3), ``pool_size`` (1 = no pooling)
    The Conv1D front of ``cnn_lstm`` (``same`` padding, relu).
``decoder_layers`` (1), ``decoder_units`` (the encoder's last width)
    The decoder stack of ``encoder_decoder``; ``decoder_units`` may be a per-layer list too.
``mask_value`` (none)
    Padded variable-length sequences: a ``Masking(mask_value)`` layer on the inputs, so that the
    steps whose features all equal ``mask_value`` are skipped by the recurrent layers. The Conv1D
    front of ``cnn_lstm`` and the flattened window of ``dense`` carry no mask: there the padded
    steps are set to 0, and the recurrent layers after the Conv1D get the input's mask (pooled
    like the steps with ``pool_size``).
``builder``, ``style``
    Your own model instead of a family: see :mod:`tuning.builders`; :func:`build_model` calls it
    and compiles what it returns unless it came compiled.

Heads: regression is linear, binary sigmoid, multiclass softmax. The loss is the labels'
(``problem.loss``): ``sparse_categorical_crossentropy`` for integer class labels (fed as given),
``categorical_crossentropy`` for one-hot rows, ``binary_crossentropy`` for 0/1. Vector targets read the last
recurrent state; per-step targets (as many output steps as input steps) put a TimeDistributed
Dense on the full sequence. ``encoder_decoder`` on a vector regression target of length H decodes
H steps of one value and reshapes them to (H,), so it can forecast multi-step horizons.

Invalid values raise :class:`~tuning.errors.SpecError` with ``field="model.<key>"``. The caller
seeds Keras (``keras.utils.set_random_seed``) before building; nothing here seeds, so one
function call per (config, seed) gives reproducible initial weights.
"""

from __future__ import annotations

from typing import Any

from tuning.models._config import check_configs, model_defaults
from tuning.vocabulary import ACTIVATIONS, CELLS, FAMILIES, INITIALIZERS, OPTIMIZERS

__all__ = ["ACTIVATIONS", "CELLS", "FAMILIES", "INITIALIZERS", "OPTIMIZERS", "build_model", "check_configs",
           "model_defaults", "try_builder"]


def __getattr__(name: str) -> Any:
    """``build_model`` and ``try_builder`` load Keras, so they are imported when first used."""
    if name in ("build_model", "try_builder"):
        from tuning.models import _build

        return getattr(_build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
