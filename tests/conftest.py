"""Shared fixtures: quiet TensorFlow and a tiny study spec. Helpers that test modules import live in
``tests/helpers/`` (the CLI in a subprocess, stores, the fused cases, a fake runner, PostgreSQL)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Compiled once, read after: the test modules (rewritten for pytest's assertions) and the package in
# every `tuning` subprocess a test starts, even where $PYTHONDONTWRITEBYTECODE asks for no
# __pycache__ (docs/architecture.md, "Where a run's fixed cost goes"; __pycache__ is ignored by git).
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest  # noqa: E402
from helpers.cli import TINY_SPEC  # noqa: E402

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


def pytest_addoption(parser):
    parser.addoption("--record-test-seconds", action="store_true",
                     help="write each test's seconds to tests/data/test_seconds.json, which orders the files "
                          "handed to xdist's workers (tests/helpers/runner_costs.py)")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from helpers.runner_costs import longest_files_first_scheduler

    return longest_files_first_scheduler(config, log)


_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    _SECONDS[report.nodeid] = _SECONDS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    if session.config.getoption("record_test_seconds") and not hasattr(session.config, "workerinput"):
        from helpers.runner_costs import recorded_seconds, write_seconds

        write_seconds({**recorded_seconds(), **_SECONDS})


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if hasattr(config, "workerinput"):  # an xdist worker, its results sent
        from helpers.runner_costs import end_worker

        end_worker()
