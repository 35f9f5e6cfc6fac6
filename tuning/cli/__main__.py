"""``python -m tuning.cli``: the ``tuning`` command."""

from tuning.cli import main

main()
