"""A user's project for the builder tests: generated arrays in ``data.npz``, the demo builders
module beside them, and a spec naming both (shared by the builder tests on each Keras backend)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo_models.py"


def arrays(n: int = 48, steps: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """Binary labels: is the mean of channel 0 positive? (train 32, val 16)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 2)).astype("float32")
    y = (x[:, :, 0].mean(axis=1) > 0).astype("int64")
    return {"x_train": x[:32], "y_train": y[:32], "x_val": x[32:], "y_val": y[32:]}


def project(tmp_path: Path) -> Path:
    """A working directory with the data and the builders module, as a user's project has."""
    np.savez(tmp_path / "data.npz", **arrays())
    shutil.copy(DEMO, tmp_path / "demo_models.py")
    return tmp_path


def spec_text(name: str, model: str, *, space: str = "{width: [2, 3, 4]}", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        name: {name}
        problem: {{name: arrays, params: {{path: data.npz}}}}
        model: {model}
        space: {space}
        sampler: grid
        repeats: 2
        fit: {{epochs: 1, batch_size: 16}}
        storage: sqlite:///store.db
        """) + extra
