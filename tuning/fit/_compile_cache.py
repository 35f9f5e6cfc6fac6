"""JAX's compiled programs: kept on disk across fits, processes and studies, dropped from memory
between fits.

On a 2-core CPU compiling is most of a short fused JAX fit (docs/performance.md, "Keras backends"):
about 1.2-1.6 s for each vmapped train step (two a config: the last batch of an epoch is shorter),
0.3-0.5 s for the test and predict steps, and 1-2 s of small programs that initialise a new
shape's weights. The programs depend on a config's shapes and fit settings, not on its seeds, its
learning rate or the study, so the configs of one shape, the worker processes of a run, a resumed
study and the next study with the same families compile each program once. JAX keys a program
by its computation, the jaxlib version, the device and XLA's flags, so a loaded program is the
program a compile would give: the scores are the same to the bit (tests/test_jax_cache.py).

In memory JAX keeps every program it compiled for as long as the process lives, a fit's step
and every small program a new shape needed (about 4.5 MB a fit through ``tuning run``, 690 MB
over 200 fits; docs/performance.md), so each JAX fit starts by dropping them
(:func:`forget_compiled`); what a later fit needs again is loaded from the disk cache.

The cache lives in the user's cache directory (``$XDG_CACHE_HOME/tuning/jax``, else
``~/.cache/tuning/jax``), not beside the store: a store may be a database on another machine or
in memory, while the programs are this machine's (its CPU, its jaxlib). ``$TUNING_JAX_CACHE`` names
another directory, or ``off``. Imports JAX only inside :func:`use_compilation_cache`.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuning.vocabulary import DEFAULT_JAX_CACHE, JAX_CACHE_VARIABLE

#: Every program is written, however fast it compiled (JAX's default leaves out those under 1 s):
#: since each fit drops what JAX holds in memory (:func:`forget_compiled`), the small programs a
#: fit needs (weight initialisers, Keras's metric updates, about 20 ms each) would be compiled
#: again by every fit, 0.4 of a 2.1 s Conv1D+LSTM fit, where loading them takes a few ms.
MIN_COMPILE_SECONDS = 0.0


def compilation_cache_dir() -> Path | None:
    """The directory of the cache (``$TUNING_JAX_CACHE``, else the user's cache directory), or
    ``None`` when ``$TUNING_JAX_CACHE`` is ``off``."""
    named = os.environ.get(JAX_CACHE_VARIABLE, "").strip()
    if named.lower() == "off":
        return None
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / DEFAULT_JAX_CACHE


def use_compilation_cache() -> Path | None:
    """Have this process's JAX read and write :func:`compilation_cache_dir` (once; before its first
    compile, so before a fit). The directory it uses, or ``None``."""
    import jax

    directory = compilation_cache_dir()
    if directory is None or jax.config.jax_compilation_cache_dir == str(directory):
        return directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise PermissionError(f"{directory} is not writable")
    except OSError as exc:  # a read-only home, a file in the way: compile every time, as without a cache
        if os.environ.get(JAX_CACHE_VARIABLE, "").strip():  # one the user named: a typo makes every run cold
            import warnings

            warnings.warn(f"${JAX_CACHE_VARIABLE}={directory} cannot hold JAX's compiled programs "
                          f"({exc.strerror or exc}): every JAX fit compiles anew", stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory


def forget_compiled() -> None:
    """Drop the programs JAX holds in memory (not the disk cache): before each JAX fit, so that a
    process running many fits does not grow with them. A program needed again is loaded from
    the disk cache or compiled again, the same program either way."""
    import jax

    jax.clear_caches()
