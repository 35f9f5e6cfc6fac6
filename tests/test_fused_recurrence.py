"""The hand-differentiated LSTM and GRU loops (tuning/fit/fused/recurrence.py) against TensorFlow's autodiff.

The reference is the plain cell written step by step and differentiated by TensorFlow; outputs
and the gradients of every input must agree to float32 rounding, forwards and reversed, for the
last state and for every step's state.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tuning.fit.fused.recurrence import gru_sequence, lstm_sequence, supported  # noqa: E402

R, B, T, H = 3, 4, 6, 5


def _run(steps, reverse, return_sequences, cell):
    steps = steps[::-1] if reverse else steps
    h = tf.zeros([R, B, H])
    c = h
    outputs = []
    for x in steps:
        h, c = cell(x, h, c)
        outputs.append(h)
    return tf.stack(outputs[::-1] if reverse else outputs, axis=2) if return_sequences else h


def reference_lstm(xz, kernel, reverse, return_sequences):
    def cell(x, h, c):
        i, f, g, o = tf.split(x + h @ kernel, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    return _run(tf.unstack(xz, axis=2), reverse, return_sequences, cell)


def reference_gru(xz, kernel, bias, reverse, return_sequences):
    def cell(x, h, _):
        x_z, x_r, x_h = tf.split(x, 3, axis=-1)
        r_z, r_r, r_h = tf.split(h @ kernel + bias[:, None], 3, axis=-1)
        z, r = tf.sigmoid(x_z + r_z), tf.sigmoid(x_r + r_r)
        return z * h + (1 - z) * tf.tanh(x_h + r * r_h), None

    return _run(tf.unstack(xz, axis=2), reverse, return_sequences, cell)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_outputs_and_gradients_are_tensorflows(cell, reverse, return_sequences):
    rng = np.random.default_rng(1)
    gates = 4 if cell == "lstm" else 3
    xz = tf.constant(rng.normal(size=(R, B, T, gates * H)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(R, H, gates * H)).astype(np.float32) * 0.5)
    bias = tf.constant(rng.normal(size=(R, gates * H)).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(R, B, T, H) if return_sequences else (R, B, H)).astype(np.float32))
    inputs = [xz, kernel] + ([bias] if cell == "gru" else [])
    values = []
    for mine in (False, True):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            if cell == "lstm":
                out = lstm_sequence(xz, kernel, reverse=reverse, return_sequences=return_sequences) if mine \
                    else reference_lstm(xz, kernel, reverse, return_sequences)
            else:
                out = gru_sequence(xz, kernel, bias, reverse=reverse, return_sequences=return_sequences) if mine \
                    else reference_gru(xz, kernel, bias, reverse, return_sequences)
            loss = tf.reduce_sum(out * upstream)
        values.append([out, *tape.gradient(loss, inputs)])
    names = ["output", "d_xz", "d_kernel", "d_bias"][:len(values[0])]
    for name, expected, got in zip(names, *values, strict=True):
        scale = float(tf.reduce_max(tf.abs(expected)))
        assert float(tf.reduce_max(tf.abs(expected - got))) <= 1e-5 * scale, name


def test_only_the_default_activations_take_the_hand_written_loop():
    assert supported("lstm", "tanh", "sigmoid") and supported("gru", "tanh", "sigmoid")
    assert not supported("lstm", "relu", "sigmoid") and not supported("gru", "tanh", "hard_sigmoid")
