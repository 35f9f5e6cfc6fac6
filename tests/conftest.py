"""Shared fixtures: quiet TensorFlow and a tiny study spec. Helpers that test modules import live in
``tests/helpers/`` (the CLI in a subprocess, stores, the fused cases, a fake runner, PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.cli import TINY_SPEC

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

@pytest.fixture
def tiny_spec(tmp_path: Path):
    """Write a 3-point grid × 2 seeds study on the 0.0…0.9 problem; returns (spec path, db path).

    Without ``runner`` the spec names none, so it runs with the default (``auto``: the fused runner,
    since the tiny model has no dropout); a test that needs fits to arrive one seed at a time pins
    ``runner="sequential"``.
    """

    def write(name: str = "tiny", epochs: int = 2, runner: str | None = None) -> tuple[Path, Path]:
        db = tmp_path / "store.db"
        path = tmp_path / f"{name}.yaml"
        path.write_text(TINY_SPEC.format(name=name, epochs=epochs, db=db) + (f"runner: {runner}\n" if runner else ""))
        return path, db

    return write
