"""Two costs of a test run that no test removes, cut where the run is organised (docs/architecture.md,
"Where a run's fixed cost goes").

* **One worker idle while the other finishes.** ``--dist loadfile`` hands out whole test files, so
  a module's shared study is built once; xdist hands them out biggest test count first, and a file
  of five slow tests handed out last kept one worker busy alone for 15 s. :class:`LongestFilesFirst`
  hands them out by their recorded seconds instead (longest first, the classic schedule for
  unequal jobs on a few machines), from ``tests/data/test_seconds.json``: a test not recorded
  there counts as the median test. ``pytest --record-test-seconds`` writes the table again from
  the run it ends (every phase of every test, setup included: a module's shared study is
  paid in its first test's setup).
* **A worker's exit.** Once a worker has sent its results, pytest's last cleanup collects garbage
  five times over a heap that holds TensorFlow, JAX and Dask, and the interpreter then tears all
  of it down, seconds in which the run waits for the worker to end. :func:`end_worker` runs the
  exit handlers (every ``weakref.finalize`` and ``atexit`` callback: process pools stopped, a
  tuner's folder removed, a cluster closed) and ends the process there.
"""

from __future__ import annotations

import atexit
import json
import os
import statistics
import sys
from collections.abc import Mapping
from pathlib import Path

TEST_SECONDS = Path(__file__).resolve().parent.parent / "data" / "test_seconds.json"


def recorded_seconds(path: Path = TEST_SECONDS) -> dict[str, float]:
    """Each test's recorded seconds by node id; empty when nothing was recorded."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def file_costs(nodeids: list[str], seconds: Mapping[str, float]) -> dict[str, float]:
    """Each test file's expected seconds for the tests collected from it, in their order."""
    typical = statistics.median(seconds.values()) if seconds else 1.0
    costs: dict[str, float] = {}
    for nodeid in nodeids:
        path = nodeid.split("::", 1)[0]
        costs[path] = costs.get(path, 0.0) + seconds.get(nodeid, typical)
    return costs


def write_seconds(seconds: Mapping[str, float], path: Path = TEST_SECONDS) -> None:
    """The table, one test a line, sorted, rounded to 10 ms (a new recording diffs line by line);
    tests of files that are gone are dropped."""
    root = path.parent.parent.parent
    rows = [f"  {json.dumps(nodeid)}: {round(value, 2)}" for nodeid, value in sorted(seconds.items())
            if (root / nodeid.split("::", 1)[0]).exists()]
    path.write_text("{\n" + ",\n".join(rows) + "\n}\n")


def longest_files_first_scheduler(config, log):
    """xdist's file scheduler handing out the longest files first (``--dist loadfile`` only)."""
    from xdist.scheduler import LoadFileScheduling

    class LongestFilesFirst(LoadFileScheduling):
        def schedule(self) -> None:
            # The parent builds its queue of files in an ordered dict; files already in it keep
            # their place, so placing them here, longest first, is the whole change.
            if self.collection is None and self.registered_collections:
                nodeids = list(next(iter(self.registered_collections.values())))
                costs = file_costs(nodeids, recorded_seconds())
                for path in sorted(costs, key=costs.__getitem__, reverse=True):
                    self.workqueue[path] = {}
            super().schedule()

    return LongestFilesFirst(config, log)


def end_worker() -> None:
    """End this xdist worker now that its results are sent: exit handlers run, the rest is skipped."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
