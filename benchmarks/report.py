"""How long a study report takes to build for a large study, without running a single Keras fit.

What is measured
----------------
A synthetic store of 1,000 trials x 10 seeds x 100 epochs (10,000 fits, 4 curves each: ``loss``,
``val_loss``, ``mae``, ``val_mae``, i.e. 4 million curve points) is written, then in one process:

1. ``load_results``: every fit and its curves out of SQLite (fits as a DataFrame, curves as one
   list per fit and curve);
2. tables: ``diagnose_study`` + ``summary_table`` (given that diagnosis) + ``marginals``;
3. ``export_tables``: CSV + JSON of those tables and of ``fits`` (given the tables, ``curves=False``);
4. ``export_curves``: ``curves.csv`` + ``curves.json``, one row per (fit, curve), 4 million values;
5. plots: ``read_trials`` + ``study_plots`` (what the report draws, importance included);
6. ``build_report``: the whole report from scratch (load, tables, every export, the index page
   with the data its Plotly plots draw, a page per config with its curves);
7. page load (issue 29), after the timed steps: the built ``index.html`` and one config page
   opened from ``file://`` in Debian's Chromium (headless, through Playwright), seven times
   each at 1,280 x 900 (the median is reported: on a shared machine single loads vary by 2x); recorded from Chromium's navigation timing (``loadEventEnd``) and the
   moment the report's script finished drawing the first plot (``window.tuningDrawn``, the
   optimisation history with every seed's dot), and the CPU time of the page's main thread by
   then (Chromium's ``ThreadTime`` metric: on a shared machine wall times stretch with other
   processes' load, CPU time much less); plus the pages' sizes and whether the configs table
   fits the 1,280 px window without scrolling sideways.

Targets (issue 3): the tables (steps 1-3: the tables a user reads, in Python and as files) under
10 s, and the whole report (step 6, curve exports included) under 60 s; (issue 29) the index
page loaded in under 3 s (step 7). Step 5 (the seaborn PNGs of ``tuning.plots``) is what
notebooks draw; the report no longer embeds them. The curve export (step 4)
is the raw data dump rather than a table; it is timed on its own and paid inside step 6.
Nothing is asserted; the script reports met / missed and exits 0.

Why a synthetic store
---------------------
A real study of that size is hours of Keras fits; the report only reads the store, so the store
is written directly, through the library's own code paths where they are cheap:
``load_spec`` validates a random-sampler spec on problem ``tenths`` (searched axes: units,
dropout, learning_rate on a log scale, batch_size), ``Store.save_study`` stores it with the
problem's real naive baseline, ``SearchSpace.to_config`` / ``config_key`` give each trial its
config and key, and the trials are real Optuna trials (``optuna.create_study`` on
``Store.optuna_storage()`` + ``study.add_trials``) with the user attributes
``OptunaBackend.tell`` writes. Fits are NOT written with ``Store.record_fit`` (one transaction
per fit, about a minute for 10,000 fits) but with one bulk ``INSERT`` (SQLAlchemy executemany)
into ``tuning_fits``, each row built exactly as ``record_fit`` builds it from a ``FitResult``.

Curves are plausible, from a seeded NumPy generator: train loss decays exponentially from
~0.3 to a floor that depends on units and dropout, at a speed set by the learning rate and
batch size; validation loss sits above it and, for large models with little dropout, rises
after a while (overfitting); per-epoch noise grows with the learning rate; every seed moves the
floor and the speed. About 4 % of fits fail: most diverge (NaN from some epoch on; more likely
with learning rates above 0.05), a few raise before the first epoch (no curve). A trial with a
failed seed is a failed trial, as in a real study.

The store is cached as ``<tmp>/tuning-bench-report/report_<trials>x<seeds>x<epochs>.db``, so a
re-run skips generation (``--regenerate`` rebuilds it). ``--quick`` uses 100 trials.
``--profile`` re-runs every step under cProfile after the timed pass (timings above are never
profiled) and prints the top functions by cumulative time.

Usage::

    python benchmarks/report.py [--quick] [--regenerate] [--profile] [--json PATH]
    python benchmarks/report.py --pages OUT/report     # step 7 again on a report built before
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _machine import describe_machine

TABLES_TARGET = 10.0  # seconds, load_results + tables + export_tables
ALL_TARGET = 60.0  # seconds, build_report with every plot
PAGE_TARGET = 3.0  # seconds, the index page's load in Chromium (issue 29)
CHROMIUM = "/usr/bin/chromium"
CACHE_VERSION = 2  # bump when the generator changes, so that stale caches are not reused

UNITS = [8, 16, 32, 64]
DROPOUT_STEP = 0.1
BATCH_SIZES = [1, 5]


# -- the synthetic store ---------------------------------------------------------------------------


def study_name(trials: int, seeds: int, epochs: int) -> str:
    return f"bench-report-{trials}x{seeds}x{epochs}"


def make_spec(name: str, url: str, trials: int, seeds: int, epochs: int):
    """A random-sampler study on ``tenths``, validated by the library (no Keras involved)."""
    from tuning.spec import load_spec

    return load_spec({
        "name": name,
        "problem": {"name": "tenths"},
        "model": {"family": "vanilla", "units": 32},
        "fit": {"epochs": epochs, "batch_size": 5, "shuffle": False},
        "space": {
            "units": UNITS,
            "dropout": {"low": 0.0, "high": 0.5, "step": DROPOUT_STEP},
            "learning_rate": {"low": 1.0e-4, "high": 1.0e-1, "log": True},
            "batch_size": BATCH_SIZES,
        },
        "sampler": {"name": "random", "seed": 0},
        "n_trials": trials,
        "repeats": seeds,
        "objective": {"metric": "val_loss", "aggregate": "mean"},
        "storage": url,
    }, label="benchmarks/report.py")


def simulate_config(rng: np.random.Generator, point: dict[str, Any], seeds: list[int], epochs: int,
                    key: str) -> list:
    """The fits of one config, one :class:`FitResult` per seed, with plausible curves."""
    from tuning.results import FAILED, OK, FitResult

    units, dropout, lr, batch = point["units"], point["dropout"], point["learning_rate"], point["batch_size"]
    n = len(seeds)
    e = np.arange(1, epochs + 1, dtype=float)
    # Per seed: where the train loss settles (capacity vs regularisation) and how fast it gets there.
    floor = 4e-4 * (32 / units) ** 0.7 * (1 + 2 * dropout) * np.exp(rng.normal(0, 0.15, n))
    tau = np.clip(30 * (1e-3 / lr) ** 0.6 * (0.5 if batch == 1 else 1.0), 2, 500) * np.exp(rng.normal(0, 0.1, n))
    start = 0.3 * np.exp(rng.normal(0, 0.05, n))
    noise = 0.03 + 2.0 * lr
    train = (floor[:, None] + (start - floor)[:, None] * np.exp(-e[None, :] / tau[:, None]))
    train = train * np.exp(rng.normal(0, noise, (n, epochs)))
    # Validation: above train; big models with little dropout overfit after ~2 tau.
    gap = 1.15 + 0.2 * rng.random(n)
    overfit = max(0.0, units / 64 - dropout / 0.3) * 0.08 * floor
    onset = 2 * tau
    val = train * gap[:, None] + overfit[:, None] * np.maximum(0.0, e[None, :] - onset[:, None])
    val = val * np.exp(rng.normal(0, 2 * noise, (n, epochs)))
    mae, val_mae = 0.8 * np.sqrt(train), 0.8 * np.sqrt(val)
    p_diverge = 0.25 if lr > 0.05 else 0.004

    fits = []
    for i, seed in enumerate(seeds):
        seconds = float(1.0 + epochs * 0.004 * (5 / batch) * math.sqrt(units / 32) * (1 + 0.1 * rng.random()))
        curves = {"loss": train[i], "mae": mae[i], "val_loss": val[i], "val_mae": val_mae[i]}
        draw = rng.random()
        if draw < 0.002:  # raised before the first epoch: no curve at all
            fits.append(FitResult(key, seed, FAILED, {}, {}, 0, None, float(rng.random()),
                                  f"ResourceExhaustedError: OOM when allocating tensor (seed {seed})"))
        elif draw < 0.002 + p_diverge:  # diverged: NaN from epoch k, training stopped there
            k = int(rng.integers(3, max(4, epochs // 2)))
            bad = {name: [*map(float, values[: k - 1]), math.nan] for name, values in curves.items()}
            fits.append(FitResult(key, seed, FAILED, {}, bad, k, None, seconds * k / epochs,
                                  f"diverged at epoch {k}, seed {seed}"))
        else:
            last_val, last_mae = float(val[i, -1]), float(val_mae[i, -1])
            scores = {"val_loss": last_val, "val_mse": last_val, "val_mae": last_mae,
                      "val_rmse": math.sqrt(last_val), "train_loss": float(train[i, -1])}
            fits.append(FitResult(key, seed, OK, scores, {k: v.tolist() for k, v in curves.items()}, epochs,
                                  None, seconds))
    return fits


def fit_row(study: str, config: dict[str, Any], fit, trial_number: int, created_at: float) -> dict[str, Any]:
    """A ``tuning_fits`` row, built exactly as :meth:`tuning.store.Store.record_fit` builds it."""
    return dict(
        study=study, config_key=fit.config_key, seed=fit.seed, config_json=json.dumps(config, sort_keys=True),
        status=fit.status, scores_json=json.dumps(fit.scores), curves_json=json.dumps(fit.curves),
        epochs_run=fit.epochs_run, best_epoch=fit.best_epoch, fit_seconds=fit.fit_seconds,
        error=fit.error, trial_number=trial_number, created_at=created_at,
    )


def generate(path: Path, trials: int, seeds: int, epochs: int) -> str:
    """Write the synthetic study into a new SQLite file at ``path``; return the study name."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import TrialState

    from tuning.problems import load_problem
    from tuning.results import TrialResult
    from tuning.space import SearchSpace, base_config
    from tuning.spec import config_key
    from tuning.store import Store, fits_table

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = study_name(trials, seeds, epochs)
    url = f"sqlite:///{path}"
    spec = make_spec(name, url, trials, seeds, epochs)
    store = Store(url)
    store.save_study(name, spec.to_json(), load_problem("tenths", {}).baseline())
    space, base = SearchSpace.from_spec(spec), base_config(spec)
    distributions = {
        "batch_size": CategoricalDistribution(BATCH_SIZES),
        "dropout": FloatDistribution(0.0, 0.5, step=DROPOUT_STEP),
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "units": CategoricalDistribution(UNITS),
    }
    rng = np.random.default_rng(20240603)
    rows, frozen, now = [], [], time.time()
    for number in range(trials):
        point = {"batch_size": int(rng.choice(BATCH_SIZES)),
                 "dropout": round(float(rng.integers(0, 6)) * DROPOUT_STEP, 10),
                 "learning_rate": float(10 ** rng.uniform(-4, -1)),
                 "units": int(rng.choice(UNITS))}
        config = space.to_config(point, base)
        key = config_key(config)
        fits = simulate_config(rng, point, spec.seeds, epochs, key)
        rows += [fit_row(name, config, f, number, now + number) for f in fits]
        result = TrialResult(config, key, fits, "val_loss", None)
        failed = [f for f in fits if not f.ok]
        attrs = {"owner": "benchmark:0", "config_key": key, "config": json.loads(json.dumps(config)),
                 "seeds": [f.seed for f in fits], "seed_values": {str(s): v for s, v in result.seed_values.items()},
                 "n_seeds": len(fits), "mean": result.mean, "std": result.std,
                 "tuning_status": "failed" if failed else "complete"}
        if failed:
            attrs["fail_reason"] = f"{len(failed)} of {len(fits)} seeds failed: {failed[0].error}"
            frozen.append(optuna.trial.create_trial(state=TrialState.FAIL, params=point,
                                                    distributions=distributions, user_attrs=attrs))
        else:
            frozen.append(optuna.trial.create_trial(params=point, distributions=distributions, value=result.mean,
                                                    user_attrs=attrs))
    with store.engine.begin() as conn:
        conn.execute(fits_table.insert(), rows)
    study = optuna.create_study(storage=store.optuna_storage(), study_name=name, direction="minimize")
    study.add_trials(frozen)
    store.checkpoint()  # the file is renamed into the cache next: without this its data stays in -wal
    store.engine.dispose()
    return name


def cached_store(trials: int, seeds: int, epochs: int, regenerate: bool) -> tuple[str, str, float | None]:
    """(storage URL, study name, generation seconds or None when the cached file was reused)."""
    folder = Path(tempfile.gettempdir()) / "tuning-bench-report"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report_{trials}x{seeds}x{epochs}_v{CACHE_VERSION}.db"
    name = study_name(trials, seeds, epochs)
    if path.exists() and not regenerate:
        return f"sqlite:///{path}", name, None
    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    generate(partial, trials, seeds, epochs)
    partial.replace(path)  # only a complete store is ever cached
    for suffix in ("-wal", "-shm"):  # the (checkpointed, empty) companions of the partial file
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}", name, time.perf_counter() - started


# -- timing ----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import matplotlib
    import optuna
    import pandas as pd
    import seaborn
    import sqlalchemy

    return describe_machine(pd, np, matplotlib, seaborn, optuna, sqlalchemy)


def steps(study: str, url: str, out: Path) -> list[tuple[str, Callable[[dict], Any]]]:
    """The timed steps, in order; each reads what earlier ones left in ``state``."""
    from tuning.analysis import (
        diagnose_study,
        export_curves,
        export_tables,
        load_results,
        marginals,
        summary_table,
    )
    from tuning.plots import study_plots
    from tuning.report import build_report
    from tuning.store import Store
    from tuning.trials import read_trials

    def load(state):
        state["results"] = load_results(study, url)

    def diagnose(state):
        state["diagnosis"] = diagnose_study(state["results"])

    def summary(state):
        state["summary"] = summary_table(state["results"], diagnosis=state["diagnosis"])

    def margins(state):
        state["marginals"] = marginals(state["results"])

    def export(state):
        tables = {"summary": state["summary"], "marginals": state["marginals"], "diagnosis": state["diagnosis"],
                  "fits": state["results"].fits}
        state["exports"] = export_tables(state["results"], out / "tables", tables=tables, curves=False)

    def curves(state):
        state["exports"] += export_curves(state["results"], out / "tables")

    def trials(state):
        state["trials"] = read_trials(Store(url, create=False), study)

    def plots(state):
        state["plots"] = study_plots(state["results"], state["summary"], state["trials"], url)

    def report(state):
        state["page"] = build_report(study, url, out / "report")

    return [("load_results", load), ("diagnose_study", diagnose), ("summary_table", summary),
            ("marginals", margins), ("export_tables", export), ("export_curves", curves), ("study_trials", trials),
            ("study_plots", plots), ("build_report", report)]


def run_timed(study: str, url: str, out: Path) -> dict[str, float]:
    state: dict[str, Any] = {}
    seconds = {}
    for name, step in steps(study, url, out):
        started = time.perf_counter()
        step(state)
        seconds[name] = time.perf_counter() - started
        print(f"  {name:<16} {seconds[name]:8.2f} s", flush=True)
    seconds["tables (diagnose + summary + marginals)"] = (
        seconds["diagnose_study"] + seconds["summary_table"] + seconds["marginals"])
    seconds["plots (study_trials + study_plots)"] = seconds["study_trials"] + seconds["study_plots"]
    seconds["tables target (load + tables + export)"] = (
        seconds["load_results"] + seconds["tables (diagnose + summary + marginals)"] + seconds["export_tables"])
    n_plots = len(state["plots"])
    points = sum(len(v) for named in state["results"].fit_curves.values() for v in named.values())
    print(f"  ({len(state['results'].fits)} fits, {points} curve points, {n_plots} plots, "
          f"report {state['page']})")
    return seconds


def page_load(report: Path, runs: int = 7) -> dict[str, Any]:
    """The built report in headless Chromium: navigation timing of the index page and of one
    config page (median of ``runs`` fresh tabs), the first plot drawn, sizes, the table's fit."""
    import statistics as stats

    from playwright.sync_api import sync_playwright

    timing = """(() => { const n = performance.getEntriesByType('navigation')[0];
        return {dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, drawn: window.tuningDrawn}; })()"""
    configs = sorted((report / "configs").glob("*.html"))
    pages = {"index": report / "index.html", "config": configs[0]}
    found: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for name, path in pages.items():
            samples, errors = [], []
            for _ in range(runs):
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                cdp = tab.context.new_cdp_session(tab)
                cdp.send("Performance.enable")
                tab.goto(path.as_uri(), wait_until="load")
                tab.wait_for_function("window.tuningDrawn !== undefined", timeout=120_000)
                sample = tab.evaluate(timing)
                # CPU seconds of the page's main thread up to here: what the load costs on a quiet
                # machine (wall times above stretch with other processes' load; CPU time much less)
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                sample["main_thread_cpu"] = 1000 * metrics.get("ThreadTime", float("nan"))
                samples.append(sample)
                if name == "index":  # laid out once scrolled to (content-visibility), then measured
                    tab.locator("#summary").scroll_into_view_if_needed()
                    tab.wait_for_timeout(200)
                    found["table_fits_1280"] = tab.evaluate(
                        "(() => { const s = document.getElementById('summary').parentElement;"
                        " return s.scrollWidth <= s.clientWidth; })()")
                tab.close()
            found[name] = {k: stats.median(s[k] for s in samples) / 1000 for k in samples[0]}
            found[name]["runs"] = [{k: round(v / 1000, 3) for k, v in s.items()} for s in samples]
            found[name]["errors"] = errors
        browser.close()
    found["bytes"] = {"index.html": (report / "index.html").stat().st_size,
                      "plotly.min.js": (report / "plotly.min.js").stat().st_size,
                      "config pages": sum(c.stat().st_size for c in configs), "config page (mean)":
                      int(sum(c.stat().st_size for c in configs) / max(len(configs), 1)), "config pages (count)": len(configs)}
    return found


def run_profiled(study: str, url: str, out: Path, top: int) -> dict[str, list[dict[str, Any]]]:
    """Every step again under cProfile; the ``top`` functions by cumulative time of each."""
    state: dict[str, Any] = {}
    hotspots = {}
    for name, step in steps(study, url, out):
        profile = cProfile.Profile()
        profile.enable()
        step(state)
        profile.disable()
        profile.dump_stats(out / f"{name}.prof")
        stats = pstats.Stats(profile, stream=io.StringIO())
        rows = []
        for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():
            rows.append({"where": f"{_short(filename)}:{line}({function})", "calls": calls,
                         "tottime": round(tottime, 3), "cumtime": round(cumtime, 3)})
        total = max((r["cumtime"] for r in rows), default=0.0)
        rows.sort(key=lambda r: r["cumtime"], reverse=True)
        hotspots[name] = rows[:top]
        print(f"\n{name}: {total:.2f} s under cProfile (profile in {out / f'{name}.prof'})")
        print(f"  {'cumtime':>8} {'tottime':>8} {'calls':>9}  function")
        for r in rows[:top]:
            print(f"  {r['cumtime']:8.2f} {r['tottime']:8.2f} {r['calls']:9d}  {r['where']}")
    return hotspots


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 trials instead of 1,000")
    parser.add_argument("--trials", type=int, help="trials (default 1000, 100 with --quick)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per trial (default 10)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs per fit (default 100)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached synthetic store")
    parser.add_argument("--profile", action="store_true", help="then re-run every step under cProfile")
    parser.add_argument("--top", type=int, default=15, help="functions shown per profiled step (default 15)")
    parser.add_argument("--out", type=Path, help="where exports, report and profiles go (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    parser.add_argument("--pages", type=Path, metavar="REPORT_DIR",
                        help="only measure the pages of a report built before (step 7), e.g. OUT/report")
    args = parser.parse_args(argv)
    if args.pages:
        pages = page_load(args.pages)
        print(json.dumps({k: v for k, v in pages.items()}, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "command": " ".join([Path(sys.executable).name,
                                                                                        *sys.argv]), "pages": pages}, indent=1))
        return 0
    trials = args.trials or (100 if args.quick else 1000)

    print(f"store: {trials} trials x {args.seeds} seeds x {args.epochs} epochs", flush=True)
    url, study, generated = cached_store(trials, args.seeds, args.epochs, args.regenerate)
    how = "cached" if generated is None else f"generated in {generated:.1f} s"
    size = Path(url.removeprefix("sqlite:///")).stat().st_size / 2**20
    print(f"  {url} ({how}, {size:.0f} MiB)", flush=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="tuning-bench-report-"))
    out.mkdir(parents=True, exist_ok=True)

    import matplotlib  # noqa: F401  imports paid here, not by the first timed step
    import optuna  # noqa: F401
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401
    import seaborn  # noqa: F401

    import tuning.report._html  # noqa: F401

    print("timed steps:", flush=True)
    seconds = run_timed(study, url, out)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    tables, total = seconds["tables target (load + tables + export)"], seconds["build_report"]
    verdicts = {"tables": {"seconds": tables, "target": TABLES_TARGET, "met": tables < TABLES_TARGET},
                "all": {"seconds": total, "target": ALL_TARGET, "met": total < ALL_TARGET}}

    print("\n| step | seconds |\n|---|---:|")
    for name, value in seconds.items():
        print(f"| {name} | {value:.2f} |")
    print(f"\npeak RSS {peak_gib:.1f} GiB")
    print(f"tables (load_results + tables + export_tables): {tables:.2f} s, target < {TABLES_TARGET:g} s: "
          f"{'met' if verdicts['tables']['met'] else 'MISSED'}")
    print(f"all (build_report, every plot): {total:.2f} s, target < {ALL_TARGET:g} s: "
          f"{'met' if verdicts['all']['met'] else 'MISSED'}")

    print("page load in Chromium (median of 7 tabs):", flush=True)
    pages = page_load(out / "report")
    for name in ("index", "config"):
        print(f"  {name:<7} DOMContentLoaded {pages[name]['dom_content_loaded']:.2f} s, load {pages[name]['load']:.2f} s, "
              f"first plot drawn {pages[name]['drawn']:.2f} s, main-thread CPU {pages[name]['main_thread_cpu']:.2f} s, "
              f"errors {pages[name]['errors'] or 'none'}")
    print(f"  sizes: {pages['bytes']}; configs table fits 1,280 px: {pages['table_fits_1280']}")
    load = pages["index"]["load"]
    verdicts["page"] = {"seconds": load, "target": PAGE_TARGET, "met": load < PAGE_TARGET}
    print(f"index page load: {load:.2f} s, target < {PAGE_TARGET:g} s: {'met' if load < PAGE_TARGET else 'MISSED'}")

    hotspots = run_profiled(study, url, out, args.top) if args.profile else None
    if args.json:
        args.json.write_text(json.dumps({
            "store": {"trials": trials, "seeds": args.seeds, "epochs": args.epochs, "url": url,
                      "generation_seconds": generated},
            "machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "seconds": seconds, "targets": verdicts, "peak_rss_gib": peak_gib, "pages": pages, "hotspots": hotspots,
        }, indent=1))
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
