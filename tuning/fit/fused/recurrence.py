"""LSTM and GRU time loops over a replica axis, with their gradients written out by hand.

The fused runner (:mod:`tuning.fit.fused`) writes a recurrent layer's time loop out step by step.
Left to automatic differentiation, every step's gradient costs more than its forward pass: the
gate slices become ``StridedSliceGrad`` ops that fill whole-width zero tensors and ``AddN`` them
back together, and the recurrent kernel gets one weight-gradient matmul per step. Written by
hand, a step's backward pass is a dozen small elementwise ops and one matmul, the gates'
pre-activation gradients of all steps are stacked once, and the kernel's gradient is one batched
matmul over all steps. On the benchmark's 20-cell LSTM with 10 replicas that makes a training
step ~1.4x cheaper and the graph quicker to trace (``benchmarks/recurrence.py``; numbers in
``docs/performance.md``, "Fused seeds").

Both functions take the inputs already projected, ``xz`` = x @ kernel + bias, shaped
(R, B, T, gates * units), and the recurrent kernel (R, units, gates * units) in Keras's own
layout (LSTM gates i, f, c, o; GRU z, r, h with ``reset_after``), and return the last state
(R, B, units) or every step's state (R, B, T, units). They compute what Keras's cells compute
with the default activations (tanh, sigmoid) and no recurrent dropout; :func:`supported` says
when that holds, and :mod:`tuning.fit.fused` differentiates its own loop otherwise.
"""

from __future__ import annotations


def supported(cell: str, activation: str, recurrent_activation: str) -> bool:
    """True when the hand-written loop computes this layer (Keras's default activations).

    The caller keeps its own loop where recurrent dropout masks apply (training with
    ``recurrent_dropout`` > 0): these loops take no masks.
    """
    return cell in ("lstm", "gru") and activation == "tanh" and recurrent_activation == "sigmoid"


def lstm_sequence(xz, recurrent, *, reverse: bool = False, return_sequences: bool = False):
    """Keras's LSTM over (R, B, T, 4 * units) projected inputs; see the module docstring."""
    import tensorflow as tf

    @tf.custom_gradient
    def run(xz, recurrent):
        units = recurrent.shape[1]
        steps = _steps(xz, reverse)
        h = tf.zeros_like(steps[0][:, :, :units])
        c = h
        saved = []  # per step: what its backward pass reads
        outputs = []
        for x_t in steps:
            z = x_t + tf.matmul(h, recurrent)
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
            i, f, g, o = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_c), tf.sigmoid(z_o)
            h_prev, c_prev = h, c
            c = f * c_prev + i * g
            tanh_c = tf.tanh(c)
            h = o * tanh_c
            saved.append((h_prev, c_prev, i, f, g, o, tanh_c))
            outputs.append(h)

        def grad(upstream):
            per_step = _per_step_upstream(upstream, len(steps), return_sequences, reverse)
            dh = dc = None
            dzs = []
            for t in range(len(steps) - 1, -1, -1):
                h_prev, c_prev, i, f, g, o, tanh_c = saved[t]
                dh = _add(dh, per_step[t])
                dc = _add(dc, tf.raw_ops.TanhGrad(y=tanh_c, dy=dh * o))
                dz = tf.concat([tf.raw_ops.SigmoidGrad(y=i, dy=dc * g),
                                tf.raw_ops.SigmoidGrad(y=f, dy=dc * c_prev),
                                tf.raw_ops.TanhGrad(y=g, dy=dc * i),
                                tf.raw_ops.SigmoidGrad(y=o, dy=dh * tanh_c)], axis=-1)
                dc = dc * f
                dh = tf.matmul(dz, recurrent, transpose_b=True)
                dzs.append(dz)
            dzs.reverse()
            return _input_and_kernel_grads(dzs, [s[0] for s in saved], reverse)

        return (_stack(outputs, reverse) if return_sequences else h), grad

    return run(tf.convert_to_tensor(xz), tf.convert_to_tensor(recurrent))


def gru_sequence(xz, recurrent, recurrent_bias, *, reverse: bool = False, return_sequences: bool = False):
    """Keras's GRU (``reset_after``) over (R, B, T, 3 * units) projected inputs (input bias added)."""
    import tensorflow as tf

    @tf.custom_gradient
    def run(xz, recurrent, recurrent_bias):
        units = recurrent.shape[1]
        steps = _steps(xz, reverse)
        h = tf.zeros_like(steps[0][:, :, :units])
        bias = tf.broadcast_to(recurrent_bias[:, None, :], tf.shape(steps[0]))
        bias.set_shape(steps[0].shape)
        saved = []
        outputs = []
        for x_t in steps:
            x_z, x_r, x_h = tf.split(x_t, 3, axis=-1)
            r_z, r_r, r_h = tf.split(tf.matmul(h, recurrent) + bias, 3, axis=-1)
            z = tf.sigmoid(x_z + r_z)
            r = tf.sigmoid(x_r + r_r)
            candidate = tf.tanh(x_h + r * r_h)
            h_prev = h
            h = z * h_prev + (1.0 - z) * candidate
            saved.append((h_prev, z, r, candidate, r_h))
            outputs.append(h)

        def grad(upstream):
            per_step = _per_step_upstream(upstream, len(steps), return_sequences, reverse)
            dh = None
            d_inputs, d_inners = [], []
            for t in range(len(steps) - 1, -1, -1):
                h_prev, z, r, candidate, r_h = saved[t]
                dh = _add(dh, per_step[t])
                dz = tf.raw_ops.SigmoidGrad(y=z, dy=dh * (h_prev - candidate))
                da = tf.raw_ops.TanhGrad(y=candidate, dy=dh - dh * z)
                dr = tf.raw_ops.SigmoidGrad(y=r, dy=da * r_h)
                d_inner = tf.concat([dz, dr, da * r], axis=-1)
                d_inputs.append(tf.concat([dz, dr, da], axis=-1))
                d_inners.append(d_inner)
                dh = dh * z + tf.matmul(d_inner, recurrent, transpose_b=True)
            d_inputs.reverse()
            d_inners.reverse()
            dxz, _ = _input_and_kernel_grads(d_inputs, None, reverse)
            _, d_recurrent = _input_and_kernel_grads(d_inners, [s[0] for s in saved], reverse)
            d_bias = tf.reduce_sum(tf.add_n(d_inners), axis=1)
            return dxz, d_recurrent, d_bias

        return (_stack(outputs, reverse) if return_sequences else h), grad

    return run(tf.convert_to_tensor(xz), tf.convert_to_tensor(recurrent), tf.convert_to_tensor(recurrent_bias))


# -- shared pieces ---------------------------------------------------------------------------------

def _steps(xz, reverse: bool) -> list:
    """The projected inputs, one (R, B, G) tensor per step in processing order."""
    import tensorflow as tf

    steps = tf.unstack(xz, axis=2)
    return steps[::-1] if reverse else steps


def _stack(outputs: list, reverse: bool):
    """Every step's state as (R, B, T, units), in input order (a backward layer's flipped back)."""
    import tensorflow as tf

    return tf.stack(outputs[::-1] if reverse else outputs, axis=2)


def _per_step_upstream(upstream, steps: int, return_sequences: bool, reverse: bool) -> list:
    """The gradient arriving at each state, in processing order (None where nothing arrives)."""
    import tensorflow as tf

    if not return_sequences:
        return [None] * (steps - 1) + [upstream]
    per_step = tf.unstack(upstream, axis=2)  # input order
    return per_step[::-1] if reverse else per_step


def _add(a, b):
    if a is None:
        return b
    return a if b is None else a + b


def _input_and_kernel_grads(dzs: list, h_prevs: list | None, reverse: bool):
    """Gradients of xz (input order) and of the recurrent kernel, from per-step gate gradients.

    ``dzs`` and ``h_prevs`` are in processing order; the kernel's gradient is one batched matmul
    of all steps' previous states with their gate gradients, instead of one matmul per step.
    """
    import tensorflow as tf

    stacked = tf.stack(dzs, axis=2)  # (R, B, T, G), processing order
    d_recurrent = None
    if h_prevs is not None:
        states = tf.stack(h_prevs, axis=2)
        replicas, width, gates = states.shape[0], states.shape[-1], stacked.shape[-1]
        d_recurrent = tf.matmul(tf.reshape(states, [replicas, -1, width]),
                                tf.reshape(stacked, [replicas, -1, gates]), transpose_a=True)
    dxz = tf.reverse(stacked, axis=[2]) if reverse else stacked
    return dxz, d_recurrent
