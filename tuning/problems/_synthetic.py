"""Built-in synthetic sequence problems, each small enough to tune in minutes on a CPU.

Every generator draws from its own ``np.random.default_rng(seed)`` and never from the global
RNG: a study fits many configs over many training seeds, and all of them must see exactly the
same data, otherwise differences between configs would be confounded with differences in data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from tuning.errors import SpecError
from tuning.problems._base import Baseline, Problem, class_frequencies, persistence

#: Symbols of the addition problem: the ten digits, the plus sign and the padding space.
ADDITION_ALPHABET = "0123456789+ "

# Chronological shares of the two-sine series; the test share is whatever is left over.
_TWO_SINE_TRAIN_SHARE = 0.7
_TWO_SINE_VAL_SHARE = 0.2

# A naive baseline sees the inputs of one split and the training targets (class priors need them).
NaiveFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def summary_line(func: Callable) -> str:
    """First line of a problem function's docstring, used as its one-line description."""
    doc = inspect.getdoc(func) or ""
    return doc.splitlines()[0].strip() if doc else func.__name__


def _require_at_least(key: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise SpecError(f"must be >= {minimum}, got {value}", field=f"problem.params.{key}")


def _check_sizes(n_train: int, n_val: int, n_test: int) -> None:
    _require_at_least("n_train", n_train, 1)
    _require_at_least("n_val", n_val, 1)
    # n_test = 0 is allowed: the problem then simply has no held-out split.
    _require_at_least("n_test", n_test, 0)


def _one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype=np.float32)[indices]


def _decimal_digits(value: int) -> int:
    """Digits needed to write a non-negative integer; exact where ``log10`` may round."""
    return len(str(value))


def _assemble(
    name: str,
    task: str,
    x: np.ndarray,
    y: np.ndarray,
    sizes: tuple[int, int, int],
    naive: NaiveFn,
    *,
    description: str,
    params: dict,
    sequence_output: bool = False,
    loss: str = "",
) -> Problem:
    """Cut generated samples into consecutive train/val/test blocks and attach the baseline
    (named after the naive function: ``persistence`` or ``class frequencies``)."""
    n_train, n_val, n_test = sizes
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    x_train, x_val, x_test = np.split(x, [n_train, n_train + n_val])
    y_train, y_val, y_test = np.split(y, [n_train, n_train + n_val])
    has_test = n_test > 0
    return Problem(
        name=name,
        task=task,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        baselines=(Baseline(naive.__name__.strip("_").replace("_", " "), naive(x_val, y_train),
                            naive(x_test, y_train) if has_test else None),),
        x_test=x_test if has_test else None,
        y_test=y_test if has_test else None,
        sequence_output=sequence_output,
        loss=loss,
        description=description,
        params=params,
    )


def _class_frequencies(x_part: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    return class_frequencies(y_train, len(x_part))


def _persistence_baseline(horizon: int) -> NaiveFn:
    def _persistence(x_part: np.ndarray, _y_train: np.ndarray) -> np.ndarray:
        return persistence(x_part, horizon)

    return _persistence


def echo(
    *,
    length: int = 5,
    n_features: int = 10,
    out_index: int = 2,
    n_train: int = 1000,
    n_val: int = 200,
    n_test: int = 200,
    seed: int = 0,
) -> Problem:
    """Recall which symbol stood at a fixed position of a random one-hot sequence (multiclass).

    The model has to carry one early input across the remaining steps, the smallest test of
    memory there is. Chance level is ``1 / n_features``.

    Args:
        length: time steps per input sequence.
        n_features: alphabet size, so both the one-hot width and the number of classes.
        out_index: position (0-based) of the step whose symbol is the target.
        n_train, n_val, n_test: samples per split.
        seed: seed of the data generator.
    """
    _require_at_least("length", length, 1)
    _require_at_least("n_features", n_features, 2)
    if not 0 <= out_index < length:
        raise SpecError(f"must be in [0, {length - 1}] for length={length}, got {out_index}",
                        field="problem.params.out_index")
    _check_sizes(n_train, n_val, n_test)
    params = dict(length=length, n_features=n_features, out_index=out_index,
                  n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_features, size=(n_train + n_val + n_test, length))
    x = _one_hot(symbols, n_features)
    y = x[:, out_index, :]
    return _assemble("echo", "multiclass", x, y, (n_train, n_val, n_test), _class_frequencies,
                     description=summary_line(echo), params=params)


def damped_sine(
    *,
    length: int = 50,
    horizon: int = 5,
    n_train: int = 2000,
    n_val: int = 500,
    n_test: int = 500,
    seed: int = 0,
) -> Problem:
    """Forecast the next steps of damped sine waves with random period and decay (regression, MAE).

    Each series is ``0.5 + 0.5 * sin(2*pi*i/period) * exp(-decay*i)``, so it stays in [0, 1]
    and needs no scaling; the period is an integer in [10, 20] and the decay in [0.01, 0.1].
    The loss is MAE, as in the stacked-LSTM tutorial the problem comes from.

    Args:
        length: observed steps per input.
        horizon: future steps to predict, all at once, as one output vector.
        n_train, n_val, n_test: series per split.
        seed: seed of the data generator.
    """
    _require_at_least("length", length, 1)
    _require_at_least("horizon", horizon, 1)
    _check_sizes(n_train, n_val, n_test)
    params = dict(length=length, horizon=horizon, n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    rng = np.random.default_rng(seed)
    n_total = n_train + n_val + n_test
    period = rng.integers(10, 21, size=(n_total, 1))  # upper bound exclusive: 20 is included
    decay = rng.uniform(0.01, 0.1, size=(n_total, 1))
    step = np.arange(length + horizon)[None, :]
    series = 0.5 + 0.5 * np.sin(2 * np.pi * step / period) * np.exp(-decay * step)
    x = series[:, :length, None]
    y = series[:, length:]
    return _assemble("damped_sine", "regression", x, y, (n_train, n_val, n_test),
                     _persistence_baseline(horizon), loss="mae",
                     description=summary_line(damped_sine), params=params)


def _addition_widths(n_terms: int, largest: int) -> tuple[int, int]:
    """Characters of the padded question ("10+6+5") and of the padded answer ("21")."""
    question = n_terms * _decimal_digits(largest) + n_terms - 1
    # ceil(log10(n_terms * (largest + 1))), the tutorial's answer width, computed without floats:
    # the smallest k with 10**k >= m is the number of digits of m - 1.
    answer = _decimal_digits(n_terms * (largest + 1) - 1)
    return question, answer


def _encode_strings(texts: list[str]) -> np.ndarray:
    lookup = {char: i for i, char in enumerate(ADDITION_ALPHABET)}
    indices = np.array([[lookup[char] for char in text] for text in texts], dtype=np.int64)
    return _one_hot(indices, len(ADDITION_ALPHABET))


def decode_addition(array: np.ndarray) -> list[str]:
    """Turn one-hot (or probability) sequences of the addition problem back into text.

    Meant for reading inputs, targets and predictions side by side, e.g.
    ``decode_addition(problem.x_val[:3])`` gives ``[' 3+10+7', ...]``.

    Args:
        array: [samples, steps, 12] or a single [steps, 12] sequence.

    Returns:
        One string per sample, padding spaces kept so the widths line up.
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[-1] != len(ADDITION_ALPHABET):
        raise ValueError(f"expected [samples, steps, {len(ADDITION_ALPHABET)}], got shape {array.shape}")
    symbols = np.asarray(list(ADDITION_ALPHABET))
    return ["".join(row) for row in symbols[np.argmax(array, axis=-1)]]


def addition(
    *,
    n_terms: int = 3,
    largest: int = 10,
    n_train: int = 5000,
    n_val: int = 500,
    n_test: int = 500,
    seed: int = 0,
) -> Problem:
    """Read a sum like "10+6+5" character by character and write its result (seq2seq, multiclass).

    Inputs and outputs are strings over ``"0123456789+ "``, one-hot encoded and left-padded
    with spaces to fixed widths, so the output is a short sequence of characters: an
    encoder-decoder task where per-step accuracy and exact-match accuracy can differ a lot.

    Args:
        n_terms: numbers added in each question.
        largest: terms are drawn uniformly from [1, largest].
        n_train, n_val, n_test: questions per split.
        seed: seed of the data generator.
    """
    _require_at_least("n_terms", n_terms, 1)
    _require_at_least("largest", largest, 1)
    _check_sizes(n_train, n_val, n_test)
    params = dict(n_terms=n_terms, largest=largest, n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    rng = np.random.default_rng(seed)
    terms = rng.integers(1, largest + 1, size=(n_train + n_val + n_test, n_terms))
    question_width, answer_width = _addition_widths(n_terms, largest)
    questions = ["+".join(str(t) for t in row).rjust(question_width) for row in terms]
    answers = [str(total).rjust(answer_width) for total in terms.sum(axis=1)]
    x = _encode_strings(questions)
    y = _encode_strings(answers)
    return _assemble("addition", "multiclass", x, y, (n_train, n_val, n_test), _class_frequencies,
                     sequence_output=True, description=summary_line(addition), params=params)


def two_sine(
    *,
    n_series: int = 10000,
    n_steps: int = 50,
    horizon: int = 1,
    seed: int = 0,
) -> Problem:
    """Forecast noisy sums of two sine waves with random frequencies and phases (regression).

    The series is ``0.5*sin((t-o1)*(10*f1+10)) + 0.2*sin((t-o2)*(20*f2+20)) + 0.1*(u-0.5)`` on
    ``t`` in [0, 1], with f, o, u uniform per series (u per step). Series are split in order,
    70 % train, 20 % validation, the rest test. ``horizon=10`` is the ten-steps-ahead variant.

    Args:
        n_series: number of series (samples) over all splits.
        n_steps: observed steps per input.
        horizon: future steps to predict as one output vector.
        seed: seed of the data generator.
    """
    _require_at_least("n_steps", n_steps, 1)
    _require_at_least("horizon", horizon, 1)
    n_train = int(round(n_series * _TWO_SINE_TRAIN_SHARE))
    n_val = int(round(n_series * _TWO_SINE_VAL_SHARE))
    n_test = n_series - n_train - n_val
    if min(n_train, n_val, n_test) < 1:
        raise SpecError(f"must be large enough to give every split a series (70/20/10 %), got {n_series}",
                        field="problem.params.n_series")
    params = dict(n_series=n_series, n_steps=n_steps, horizon=horizon, seed=seed)
    rng = np.random.default_rng(seed)
    freq1, freq2, offset1, offset2 = rng.random((4, n_series, 1))
    time = np.linspace(0, 1, n_steps + horizon)
    series = 0.5 * np.sin((time - offset1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offset2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((n_series, n_steps + horizon)) - 0.5)
    x = series[:, :n_steps, None]
    y = series[:, n_steps:]
    return _assemble("two_sine", "regression", x, y, (n_train, n_val, n_test),
                     _persistence_baseline(horizon), description=summary_line(two_sine), params=params)


def cumsum(
    *,
    n_timesteps: int = 10,
    n_train: int = 1000,
    n_val: int = 200,
    n_test: int = 200,
    seed: int = 0,
) -> Problem:
    """Tag each step by whether the running sum has passed a quarter of the length (binary, per step).

    Inputs are uniform values in [0, 1); the label of step t is 1 once the cumulative sum up to
    and including t exceeds ``n_timesteps / 4``. The labels are monotone (0...0 1...1), so the
    model must accumulate over time rather than look at single values.

    Args:
        n_timesteps: steps per sequence, both in and out.
        n_train, n_val, n_test: sequences per split.
        seed: seed of the data generator.
    """
    _require_at_least("n_timesteps", n_timesteps, 1)
    _check_sizes(n_train, n_val, n_test)
    params = dict(n_timesteps=n_timesteps, n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    rng = np.random.default_rng(seed)
    values = rng.random((n_train + n_val + n_test, n_timesteps))
    labels = np.cumsum(values, axis=1) > n_timesteps / 4.0
    return _assemble("cumsum", "binary", values[..., None], labels[..., None], (n_train, n_val, n_test),
                     _class_frequencies, sequence_output=True, description=summary_line(cumsum), params=params)


def tenths(*, seed: int = 0) -> Problem:
    """Predict the next tenth: train on 0.0..0.4 -> 0.1..0.5, validate on 0.5..0.9 -> 0.6..1.0.

    A sanity check rather than a benchmark: the validation inputs lie outside the training
    range, so it shows how a recurrent net extrapolates. Persistence (predict the input) is off
    by exactly 0.1 everywhere, a validation MSE of 0.01. There is no test split.

    Args:
        seed: accepted so every problem has the same interface; the data is fixed.
    """
    # Build the values from integers so 0.1 * k is as close to the decimal as float32 allows.
    values = (np.arange(11) / 10).astype(np.float32)
    x_train, y_train = values[0:5].reshape(5, 1, 1), values[1:6].reshape(5, 1)
    x_val, y_val = values[5:10].reshape(5, 1, 1), values[6:11].reshape(5, 1)
    return Problem(
        name="tenths",
        task="regression",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        baselines=(Baseline("persistence", persistence(x_val, 1)),),
        description=summary_line(tenths),
        params={"seed": seed},
    )


#: Registry entries of this module, in the order they are listed.
PROBLEMS: dict[str, Callable[..., Problem]] = {
    "echo": echo,
    "damped_sine": damped_sine,
    "addition": addition,
    "two_sine": two_sine,
    "cumsum": cumsum,
    "tenths": tenths,
}
