"""The data pipeline of a fit: seeded shuffling and batching owned by ``tuning``, not Keras.

Why not ``model.fit(x, y, shuffle=True)``? Two reasons, both measured:

* Speed. With NumPy arrays Keras rebuilds its input pipeline every epoch; for the small data
  sets of sequence-model tutorials that costs more than the training step itself (about 75 ms
  an epoch for a 5-sample problem, against about 20 ms for a repeated ``tf.data`` pipeline;
  ``docs/performance.md``).
* Control. The order of batches is a function of the seed alone, computed here, so another
  runner (the fused runner of a later issue) can feed each replica exactly the batches its
  standalone twin sees.

On a Keras backend other than TensorFlow (JAX), TensorFlow is not imported at all: the batches
come from NumPy (:func:`numpy_fit_data`), in the order :func:`batch_order` draws from (seed,
epoch). That order is not ``tf.data``'s, so a JAX fit's scores differ from the TensorFlow fit's
of the same seed (as its initial weights do): a study keeps one backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

VALIDATION_BATCH = 1024  # validation only evaluates; bigger batches mean fewer steps


@dataclass
class FitData:
    """Datasets and step counts for ``model.fit``."""

    train: Any
    steps_per_epoch: int
    validation: Any
    validation_steps: int


def fit_data(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, batch_size: int,
             seed: int, shuffle: bool) -> FitData:
    """Repeated ``tf.data`` pipelines: training reshuffled every epoch with ``seed``, validation fixed.

    The training set is shuffled, then batched, then repeated, so every epoch sees every sample
    once in a new order (the last batch of an epoch may be short, as with Keras's own batching).
    """
    import tensorflow as tf

    batch_size = max(1, min(int(batch_size), len(x)))
    train = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        train = train.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    train = train.batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    val_batch = max(1, min(len(x_val), VALIDATION_BATCH))
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(val_batch).cache().repeat()
    return FitData(train, math.ceil(len(x) / batch_size), validation, math.ceil(len(x_val) / val_batch))


def batch_order(n: int, batch_size: int, seed: int, epoch: int, shuffle: bool) -> list[np.ndarray]:
    """The row indices of each batch of ``epoch`` (from 0): a permutation drawn from (seed, epoch)
    alone, cut into batches of ``batch_size`` (the last may be short), or the rows in order.

    Example:
        >>> [b.tolist() for b in batch_order(5, 2, seed=0, epoch=0, shuffle=False)]
        [[0, 1], [2, 3], [4]]
    """
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def numpy_fit_data(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *, batch_size: int,
                   seed: int, shuffle: bool) -> FitData:
    """:func:`fit_data` without TensorFlow: endless generators of NumPy batches, training in
    :func:`batch_order`'s order (a new permutation every epoch), validation in fixed batches."""
    batch_size = max(1, min(int(batch_size), len(x)))
    val_batch = max(1, min(len(x_val), VALIDATION_BATCH))

    def train():
        epoch = 0
        while True:
            for rows in batch_order(len(x), batch_size, seed, epoch, shuffle):
                yield x[rows], y[rows]
            epoch += 1

    def validation():
        while True:
            for start in range(0, len(x_val), val_batch):
                yield x_val[start:start + val_batch], y_val[start:start + val_batch]

    return FitData(train(), math.ceil(len(x) / batch_size), validation(), math.ceil(len(x_val) / val_batch))
