"""How much of a core each of some running processes gets, second by second.

``python benchmarks/cpu_share.py PID [PID ...] [--seconds N]`` prints one line a second with each
process's CPU time over that second, as a share of one core (user + system, from
``/proc/PID/stat``), then the mean of each. Used to see whether two fitting workers really get
two cores (docs/performance.md, "Workers sharing a study"):
``python benchmarks/cpu_share.py $(pgrep -f "_pool import serve")`` while they fit.
"""

from __future__ import annotations

import argparse
import os
import time


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (``None`` once it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pids", type=int, nargs="+")
    parser.add_argument("--seconds", type=int, default=25)
    args = parser.parse_args()
    before = {pid: cpu_seconds(pid) for pid in args.pids}
    shares: dict[int, list[float]] = {pid: [] for pid in args.pids}
    for _ in range(args.seconds):
        time.sleep(1)
        now = {pid: cpu_seconds(pid) for pid in args.pids}
        cells = []
        for pid in args.pids:
            if now[pid] is None or before[pid] is None:
                cells.append("    -")
                continue
            shares[pid].append(100 * (now[pid] - before[pid]))
            cells.append(f"{shares[pid][-1]:4.0f}%")
        print(" ".join(cells), flush=True)
        before = now
    print("mean " + " ".join(f"{sum(v) / len(v):4.0f}%" if v else "    -" for v in shares.values()))


if __name__ == "__main__":
    main()
