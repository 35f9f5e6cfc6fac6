"""The ``tuning`` command: a thin layer over the Python API.

One module per group of commands (:mod:`tuning.cli._study` runs studies and says where they
stand, :mod:`tuning.cli._results` reads them), on the app and shared options of
:mod:`tuning.cli._app`. Heavy imports (TensorFlow, Optuna, pandas) happen inside the commands that
need them, so ``tuning --help`` and the read-only commands start fast.
"""

from __future__ import annotations

import os
import sys

# Each module registers its commands on the app as it is imported, in the order `tuning --help` lists.
# isort: off
from tuning.cli import _study  # noqa: F401  run, resume, worker, status, init, list
from tuning.cli import _results  # noqa: F401  report, replay, export, serve, dashboard
from tuning.cli._app import EXIT_INTERRUPTED, app
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter (no GPU found ...)
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. while importing)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
