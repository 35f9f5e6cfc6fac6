"""Keras calls that cost the tests less than the obvious ones and compute the same thing."""

from __future__ import annotations

import numpy as np


def forward(model, x) -> np.ndarray:
    """``model``'s inference pass on ``x``, called eagerly.

    ``model.predict`` computes the same outputs, but traces a predict function for every new model
    (0.3 to 0.5 s each on the test machine); a test that builds a model to look at a few predictions
    needs the outputs, not the tracing.
    """
    import keras

    return keras.ops.convert_to_numpy(model(x, training=False))
