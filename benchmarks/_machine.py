"""What machine a benchmark ran on, recorded next to its numbers (shared by the scripts here)."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any


def describe_machine(*modules: Any) -> dict[str, Any]:
    """CPU model, cores, memory, load average, Python, and the ``__version__`` of each module."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gb = math.nan
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1),
            "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            **{module.__name__: getattr(module, "__version__", "?") for module in modules}}


def write_json(path: Path, report: dict[str, Any]) -> None:
    """The numbers of a run as indented JSON (NumPy scalars as floats), announced on stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {path}")
