"""The input pipeline of a fit: every sample once an epoch, a seeded order, a short last batch, fixed validation."""

from __future__ import annotations

import numpy as np

from tuning.fit.pipeline import VALIDATION_BATCH, fit_data


def epochs_of(data, epochs: int) -> list[list[int]]:
    """The sample ids of each training epoch, batch by batch."""
    batches = iter(data.train)
    return [[int(v) for _ in range(data.steps_per_epoch) for v in next(batches)[1].numpy()] for _ in range(epochs)]


def arrays(n: int = 10):
    x = np.arange(n, dtype="float32").reshape(n, 1, 1)
    return x, np.arange(n, dtype="float32")


def test_every_sample_once_an_epoch_in_a_new_seeded_order():
    x, y = arrays()
    data = fit_data(x, y, x, y, batch_size=4, seed=3, shuffle=True)
    assert data.steps_per_epoch == 3  # 4 + 4 + a short last batch of 2
    first, second = epochs_of(data, 2)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    again = epochs_of(fit_data(x, y, x, y, batch_size=4, seed=3, shuffle=True), 2)
    other = epochs_of(fit_data(x, y, x, y, batch_size=4, seed=4, shuffle=True), 2)
    assert again == [first, second] and other != [first, second]  # the order is the seed's alone


def test_without_shuffle_the_order_is_the_data_order_and_batches_are_capped():
    x, y = arrays(5)
    data = fit_data(x, y, x, y, batch_size=50, seed=0, shuffle=False)
    assert data.steps_per_epoch == 1 and epochs_of(data, 2) == [list(range(5))] * 2


def test_validation_is_fixed_and_batched_large():
    x, y = arrays(3)
    x_val, y_val = arrays(VALIDATION_BATCH + 5)
    data = fit_data(x, y, x_val, y_val, batch_size=2, seed=0, shuffle=True)
    assert data.validation_steps == 2
    batches = iter(data.validation)
    seen = [int(v) for _ in range(2 * data.validation_steps) for v in next(batches)[1].numpy()]
    assert seen == list(range(VALIDATION_BATCH + 5)) * 2
