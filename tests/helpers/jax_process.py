"""A Python snippet run in a process of its own, Keras there choosing its backend afresh (this test
process has Keras on TensorFlow already): the JSON its last line prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_json(script: str, *args: str, timeout: float = 900) -> Any:
    """Run ``script`` with ``args`` (``$KERAS_BACKEND`` unset: the tasks name their backend); fail
    the test with its stderr if it fails."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
