"""A raced study of the built-in `tenths` problem (its spec as a mapping), and running it with a
runner without Keras: what the racing tests share."""

from __future__ import annotations


def race_spec(tmp_path, name: str = "race", **changes) -> dict:
    """Five configs (units 1 to 8) racing from 3 to 12 seeds, stored in ``tmp_path/study.db``;
    ``changes`` replace top-level fields."""
    spec = {"name": name, "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 3, "batch_size": 5},
            "space": {"units": [1, 2, 3, 4, 8]}, "sampler": "grid",
            "repeats": {"strategy": "race", "min": 3, "max": 12}, "storage": f"sqlite:///{tmp_path / 'study.db'}"}
    spec.update(changes)
    return spec


def run_race(data: dict, runner):
    """Run the study ``data`` with ``runner`` through the search loop: (its outcome, the runner)."""
    from tuning.search.loop import run_search
    from tuning.spec import apply_overrides, load_spec

    return run_search(apply_overrides(load_spec(data)), runner=runner), runner
