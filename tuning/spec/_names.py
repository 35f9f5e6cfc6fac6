"""The names a spec's ``model``, ``fit`` and ``space`` sections may use, and the one hint for a misspelt one."""

from __future__ import annotations

from tuning.vocabulary import ACTIVATIONS, CELLS, FAMILIES, INITIALIZERS, OPTIMIZERS, SPEC_LOSSES

#: Names a searched parameter may have, with the accepted values of the categorical ones.
MODEL_KEYS: dict[str, tuple | None] = {
    "family": FAMILIES, "cell": CELLS, "layers": None, "units": None, "dropout": None,
    "recurrent_dropout": None, "activation": ACTIVATIONS, "initializer": INITIALIZERS,
    "optimizer": OPTIMIZERS, "learning_rate": None, "momentum": None, "filters": None,
    "kernel_size": None, "pool_size": None, "decoder_layers": None, "decoder_units": None, "loss": SPEC_LOSSES,
    "mask_value": None,
}
FIT_KEYS = ("epochs", "batch_size", "patience")
SEARCHABLE = tuple(MODEL_KEYS) + FIT_KEYS
#: The model keys ``tuning`` itself reads when a builder makes the model: it compiles with them.
COMPILE_KEYS = ("optimizer", "learning_rate", "momentum", "loss")
#: How a builder is called: ``build(config, problem)``, or KerasTuner's ``build(hp)`` (tuning.builders).
STYLES = ("config", "kerastuner")


def did_you_mean(word: str, allowed: list[str] | tuple[str, ...], listed: str | None = "fields") -> str:
    """``"; did you mean 'sampler'?"`` for the allowed name closest to a misspelt ``word``; without
    one, ``"; expected one of a, b, c"`` (the allowed ``listed``: ``"fields"``), or nothing when
    ``listed`` is ``None`` (the message lists them already)."""
    import difflib

    swapped = [str(a) for a in allowed if sorted(str(a)) == sorted(str(word))]  # letters swapped: val_mea
    close = swapped[:1] or difflib.get_close_matches(str(word), [str(a) for a in allowed], n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; the {listed} are {', '.join(str(a) for a in allowed)}" if listed and allowed else ""
