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
    """Console-script entry point.

    A mistake in the command line itself (a flag out of range, an unknown option, a missing
    argument) is one line, ``error: ...``, exit 2, as every other user mistake is: Typer would
    draw a box of several lines around it.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter (no GPU found ...)
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. while importing)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `tuning` or `tuning run`: the help, as before
            print(exc.ctx.get_help())
        else:
            print("error: " + " ".join(exc.format_message().split()), file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _is_usage_error(exc: Exception) -> bool:
    """Click's own errors (Typer vendors Click, so they are recognised by what they offer)."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


if __name__ == "__main__":
    main()
