"""One worker of a study whose fits are the fake runner's, in its own process: several of them on
one store test claims, leases and takeover in seconds, without Keras.

``python tests/helpers/fake_worker.py SPEC.yaml FIT_SECONDS LEASE`` runs the study's loop as one
worker; each fit takes ``FIT_SECONDS`` (so that workers overlap and a kill lands mid-fit). It
exits as ``tuning worker`` does: 0 when the study is done, 130 on Ctrl-C, 143 on SIGTERM.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.fake_runner import FakeRunner, fake_fit  # noqa: E402


class SlowFakeRunner(FakeRunner):
    def __init__(self, seconds: float):
        super().__init__(trials_in_flight=1, fits_at_once=1)  # one fit at a time, as `runner: sequential`
        self.seconds = seconds

    def fit(self, task):
        time.sleep(self.seconds)
        return fake_fit(task)


def main() -> int:
    from tuning.errors import Terminated
    from tuning.search.loop import run_search
    from tuning.search.workers import WorkerOptions
    from tuning.spec import load_spec

    spec_path, seconds, lease = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    try:
        outcome = run_search(load_spec(spec_path), runner=SlowFakeRunner(seconds), worker=WorkerOptions(lease))
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    print(f"fits_run={outcome.fits_run} fits_reused={outcome.fits_reused}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
