"""The search loop's own cost per trial as a grid grows: does it stay flat, or grow with the trials?

One grid study of N points (``units`` 1..N) x 3 seeds on ``tenths`` through the real loop
(``tuning.search.loop.run_search``: Optuna on a fresh SQLite file, claims, the store), its fits
made instantly by the tests' ``FakeRunner`` (no Keras), so what is timed is the bookkeeping: ask,
claim, store, tell. Prints the whole run's milliseconds per trial and the same for each block of
100 trials in order (from the fits' start times): a loop that re-reads every trial at each ask
would show it growing block by block.

Run: ``python benchmarks/loop_scale.py 1000 --in-flight 8`` (a few minutes on 2 cores; 8 trials in
flight is what a fused grid keeps). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points", type=int, nargs="?", default=300)
    parser.add_argument("--in-flight", type=int, default=1)
    args = parser.parse_args()

    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.spec import apply_overrides, load_spec

    class Timed(FakeRunner):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.stamps: list[float] = []

        def fit(self, task):
            self.stamps.append(time.perf_counter())
            return super().fit(task)

    with tempfile.TemporaryDirectory() as folder:
        spec = {"name": "s", "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 2},
                "space": {"units": list(range(1, args.points + 1))}, "sampler": "grid", "repeats": 3,
                "storage": f"sqlite:///{folder}/loop.db"}
        runner = Timed(trials_in_flight=args.in_flight)
        started = time.perf_counter()
        run_search(apply_overrides(load_spec(spec)), runner=runner)
        total = time.perf_counter() - started
    s, block = runner.stamps, 300  # 100 trials of 3 fits
    per_block = [(s[min(i + block, len(s)) - 1] - s[i]) / max(min(i + block, len(s)) - i - 1, 1) * 3000
                 for i in range(0, len(s), block)]
    print(f"points={args.points} in_flight={args.in_flight}: {total:.1f} s, {1000 * total / args.points:.0f} ms per "
          f"trial; by block of 100 trials: " + " ".join(f"{b:.0f}" for b in per_block))


if __name__ == "__main__":
    main()
