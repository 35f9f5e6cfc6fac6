"""The replica graph: batched weights of R replicas and their forward pass, losses and metrics.

Each variable carries a leading replica axis ``(R, ...)``; every projection that does not recur
is one batched matmul over all steps, and the recurrent layers' time loops are written out step by
step (with the hand-written gradients of :mod:`.recurrence` where the cell allows it).
"""

from __future__ import annotations

import numpy as np

from tuning.fit.fused import recurrence
from tuning.fit.fused._net import ACTIVATIONS, ConvSpec, FlattenSpec, FusedNet, HeadSpec, RepeatSpec, RnnSpec


class FusedGraph:
    """Batched weights of R replicas and the forward pass over inputs shaped (R, batch, T, F)."""

    def __init__(self, net: FusedNet, weights: list[list[np.ndarray]], seeds: list[int],
                 dropout_rates: np.ndarray | None = None):
        import keras
        import tensorflow as tf

        self.net = net
        self.replicas = len(weights)
        self.seeds = tf.constant(np.asarray(seeds, dtype=np.int64))
        # (R, masks) when replicas drop with different rates; else net.dropout_widths' rates for all
        self.dropout_rates = None if dropout_rates is None else tf.constant(dropout_rates)
        stacked = [np.stack([replica[i] for replica in weights]).astype(np.float32)
                   for i in range(len(net.weight_shapes))]
        self.variables = [keras.Variable(value, trainable=True, name=f"fused_{i}") for i, value in enumerate(stacked)]
        # TensorFlow's own functions where Keras's are the same maths (less Python per traced op).
        self._activations = {name: keras.activations.get(name) for name in ACTIVATIONS}
        self._activations.update({"tanh": tf.tanh, "sigmoid": tf.sigmoid, "relu": tf.nn.relu, "linear": tf.identity,
                                  "softmax": tf.nn.softmax})

    # slices of self.variables per layer, in the order of net.weight_layers
    def _layer_weights(self):
        index = 0
        out = []
        for spec in self.net.layers:
            if isinstance(spec, ConvSpec) or isinstance(spec, HeadSpec):
                count = 2
            elif isinstance(spec, RnnSpec):
                count = 6 if spec.bidirectional else 3
            else:
                out.append(())
                continue
            out.append(tuple(self.variables[index:index + count]))
            index += count
        return out

    def _draw_masks(self, batch, step):
        """Per replica, one uniform draw per step keyed by (seed, step); split into the masks."""
        import tensorflow as tf

        widths = self.net.dropout_widths
        total = sum(w for _, w in widths)
        draws = []
        for r in range(self.replicas):
            seed = tf.stack([self.seeds[r], tf.cast(step, tf.int64)])
            draws.append(tf.random.stateless_uniform(tf.stack([batch, total]), seed=seed))
        draw = tf.stack(draws)  # (R, B, total)
        masks, start = [], 0
        for index, (rate, width) in enumerate(widths):
            if self.dropout_rates is not None:  # replica r's own rate, shaped to broadcast over (B, width)
                rate = self.dropout_rates[:, index][:, None, None]
            keep = tf.cast(draw[:, :, start:start + width] >= rate, tf.float32)
            masks.append(keep / (1.0 - rate))
            start += width
        return masks

    def forward(self, x, *, training: bool, step=None):
        """Outputs (R, B, *target), the head's logits, and whether the loss may use the logits.

        Sequences stay batch-major, (R, B, T, C): every projection that does not recur is one
        batched matmul over all steps, and the time loop is written out step by step (a while
        loop, and its gradient's stacks, cost several times more per step on a CPU).
        """
        import tensorflow as tf

        masks = None
        if training and self.net.dropout_widths:
            masks = iter(self._draw_masks(tf.shape(x)[1], step))
        h = x
        for spec, weights in zip(self.net.layers, self._layer_weights(), strict=True):
            if isinstance(spec, ConvSpec):
                h = self._conv(spec, weights, h)
            elif isinstance(spec, RnnSpec):
                if spec.bidirectional:
                    forward = self._rnn(spec, weights[:3], h, masks, reverse=False, training=training)
                    backward = self._rnn(spec, weights[3:], h, masks, reverse=True, training=training)
                    h = tf.concat([forward, backward], axis=-1)
                else:
                    h = self._rnn(spec, weights, h, masks, reverse=False, training=training)
            elif isinstance(spec, RepeatSpec):
                h = tf.tile(h[:, :, None, :], [1, 1, spec.n, 1])
            elif isinstance(spec, FlattenSpec):
                h = tf.reshape(h, [self.replicas, -1, spec.width])
            else:
                return self._head(spec, weights, h)
        raise AssertionError("no head")

    def _project(self, h, kernel):
        """(R, B, T, F) @ (R, F, G) -> (R, B, T, G) as one batched matmul."""
        import tensorflow as tf

        steps = h.shape[2]
        flat = tf.matmul(tf.reshape(h, [self.replicas, -1, h.shape[-1]]), kernel)
        return tf.reshape(flat, [self.replicas, -1, steps, kernel.shape[-1]])

    def _conv(self, spec: ConvSpec, weights, h):
        import tensorflow as tf

        kernel, bias = weights  # (R, k, F, C), (R, C)
        k = spec.kernel_size
        steps = h.shape[2]
        before = (k - 1) // 2  # TensorFlow's "same" padding
        padded = tf.pad(h, [[0, 0], [0, 0], [before, k - 1 - before], [0, 0]])
        patches = tf.concat([padded[:, :, j:j + steps] for j in range(k)], axis=-1)  # (R, B, T, k*F)
        flat = tf.reshape(kernel, [self.replicas, k * spec.input_width, spec.filters])
        out = self._activations[spec.activation](self._project(patches, flat) + bias[:, None, None, :])
        if spec.pool > 1:
            kept = (steps // spec.pool) * spec.pool
            out = tf.reshape(out[:, :, :kept], [self.replicas, -1, steps // spec.pool, spec.pool, spec.filters])
            out = tf.reduce_max(out, axis=3)
        return out

    def _rnn(self, spec: RnnSpec, weights, h, masks, *, reverse: bool, training: bool):
        import tensorflow as tf

        kernel, recurrent, bias = weights
        units = spec.units
        gates = 4 if spec.cell == "lstm" else 3
        act = self._activations[spec.activation]
        rec_act = self._activations[spec.recurrent_activation]
        use_dropout = training and masks is not None
        per_gate = spec.recurrent_dropout > 0  # Keras's implementation 1: one mask per gate
        in_masks = rec_masks = None
        if use_dropout and spec.dropout > 0:
            in_masks = [next(masks) for _ in range(gates if per_gate else 1)]
        if use_dropout and spec.recurrent_dropout > 0:
            rec_masks = [next(masks) for _ in range(gates)]
        if spec.cell == "gru":
            in_bias, rec_bias = bias[:, 0], bias[:, 1]
        else:
            in_bias, rec_bias = bias, None
        # Inputs projected for every step at once (masks are per sequence, constant over steps).
        if in_masks is None:
            xz = self._project(h, kernel)
        elif len(in_masks) == 1:
            xz = self._project(h * in_masks[0][:, :, None, :], kernel)
        else:
            xz = tf.concat([self._project(h * m[:, :, None, :], kernel[:, :, i * units:(i + 1) * units])
                            for i, m in enumerate(in_masks)], axis=-1)
        xz = xz + in_bias[:, None, None, :]
        # (no recurrent masks: no recurrent dropout, or not training, where Keras applies none either)
        if rec_masks is None and recurrence.supported(spec.cell, spec.activation, spec.recurrent_activation):
            if spec.cell == "lstm":  # the loop with its gradient written out by hand (recurrence.py)
                return recurrence.lstm_sequence(xz, recurrent, reverse=reverse, return_sequences=spec.return_sequences)
            return recurrence.gru_sequence(xz, recurrent, rec_bias, reverse=reverse,
                                           return_sequences=spec.return_sequences)
        inputs = tf.unstack(xz, axis=2)
        if reverse:
            inputs = inputs[::-1]
        state = tf.zeros_like(inputs[0][:, :, :units])  # static shape when the batch is static
        carry = state
        ones = tf.ones_like(state)
        rec_parts = [recurrent[:, :, i * units:(i + 1) * units] for i in range(gates)] if rec_masks else None
        if rec_bias is not None:  # broadcast once, so the adds in the loop have equal shapes
            rec_bias_b = tf.broadcast_to(rec_bias[:, None, :], tf.shape(inputs[0]))
            rec_bias_b.set_shape(inputs[0].shape)
        outputs = []
        for x_t in inputs:
            if rec_masks is None:
                inner = tf.matmul(state, recurrent)
            else:
                inner = tf.concat([tf.matmul(state * m, part) for m, part in zip(rec_masks, rec_parts, strict=True)],
                                  axis=-1)
            if spec.cell == "lstm":
                z = x_t + inner
                i, f, _, o = tf.split(rec_act(z), 4, axis=-1)
                carry = f * carry + i * act(z[:, :, 2 * units:3 * units])
                state = o * act(carry)
            else:
                inner = inner + rec_bias_b
                x_z, x_r, x_h = tf.split(x_t, 3, axis=-1)
                r_z, r_r, r_h = tf.split(inner, 3, axis=-1)
                z = rec_act(x_z + r_z)
                r = rec_act(x_r + r_r)
                state = z * state + (ones - z) * act(x_h + r * r_h)
            if spec.return_sequences:
                outputs.append(state)
        if not spec.return_sequences:
            return state
        if reverse:  # Bidirectional flips the backward layer's outputs back into input order
            outputs = outputs[::-1]
        return tf.stack(outputs, axis=2)

    def _head(self, spec: HeadSpec, weights, h):
        import tensorflow as tf

        kernel, bias = weights
        if spec.time_distributed:
            logits = self._project(h, kernel) + bias[:, None, None, :]
        else:
            logits = tf.matmul(h, kernel) + bias[:, None, :]
        out = self._activations[spec.activation](logits) if spec.activation != "linear" else logits
        if spec.reshape_to is not None:
            out = tf.reshape(out, [self.replicas, -1, *spec.reshape_to])
        # Keras computes crossentropy from the logits when the output is the activation's own
        # tensor; TimeDistributed stacks per-step outputs, so there it clips probabilities.
        from_logits = not spec.time_distributed and spec.reshape_to is None and spec.activation in ("sigmoid", "softmax")
        return out, logits, from_logits


# -- losses and metrics, per replica ---------------------------------------------------------------

def loss_values(name: str, y, out, logits, from_logits: bool):
    """Per-sample (per-step) loss values, shape (R, B[, T]), as Keras's loss function returns them."""
    import keras
    import tensorflow as tf

    eps = keras.backend.epsilon()
    if name == "mse":
        return tf.reduce_mean(tf.square(y - out), axis=-1)
    if name == "mae":
        return tf.reduce_mean(tf.abs(y - out), axis=-1)
    if name == "binary_crossentropy":
        if from_logits:
            values = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        else:
            p = tf.clip_by_value(out, eps, 1.0 - eps)
            values = -(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
        return tf.reduce_mean(values, axis=-1)
    # categorical crossentropy of one-hot rows; sparse crossentropy is the same of the class
    # indices' one-hot rows (the trainer is fed those), only without renormalising ``out``
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits, axis=-1)
    p = out if name == "sparse_categorical_crossentropy" else out / tf.reduce_sum(out, axis=-1, keepdims=True)
    p = tf.clip_by_value(p, eps, 1.0 - eps)
    return -tf.reduce_sum(y * tf.math.log(p), axis=-1)


def metric_values(name: str, loss: str, y, out):
    """Values Keras's metric averages (per sample, per step, or per element for binary accuracy)."""
    import tensorflow as tf

    if name == "mae":
        return tf.reduce_mean(tf.abs(y - out), axis=-1)
    if name == "mse":
        return tf.reduce_mean(tf.square(y - out), axis=-1)
    if loss == "binary_crossentropy":
        return tf.cast(tf.equal(y, tf.cast(out > 0.5, y.dtype)), tf.float32)
    return tf.cast(tf.equal(tf.argmax(y, axis=-1), tf.argmax(out, axis=-1)), tf.float32)


def per_replica(values, how):
    """Reduce every axis but the replica axis."""
    axes = list(range(1, len(values.shape)))
    return how(values, axis=axes)


