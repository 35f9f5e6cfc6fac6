"""Make a fresh held-out set of issue 22 from real Keras fits, resumably.

``--set 1`` (round 2: ``fresh_cases.py``, after the method was frozen in commit a9567c7) writes
``tests/data/diagnosis_fresh.json``; ``--set 2`` (round 3: ``fresh2_cases.py``, after the round-3
method was frozen) writes ``tests/data/diagnosis_fresh2.json``; ``--set 3`` (round 4: ``fresh3_cases.py``, after the round-4
method was frozen in commit 880860b) writes ``tests/data/diagnosis_fresh3.json``; ``--set 4`` (round 5:
``fresh4_cases.py``, after the round-5 method was frozen in commit 9144704) writes
``tests/data/diagnosis_fresh4.json``; ``--set 5`` (round 6: ``fresh5_cases.py``, after round 6's plain
definitions in ``truth.py`` were frozen) writes ``tests/data/diagnosis_fresh5.json``; ``--set 6`` (round 7:
``fresh6_cases.py``, after commit a53b08b) writes ``tests/data/diagnosis_fresh6.json``; ``--set 7`` (round 9:
``fresh7_cases.py``, after commit dc12107) writes ``tests/data/diagnosis_fresh7.json``; ``--set 8`` (round 10:
``fresh8_cases.py``, after commit a31cbe2) writes ``tests/data/diagnosis_fresh8.json``; ``--set 9`` (round 12:
``fresh9_cases.py``, after commit 7ef11e3, round 11's rules) writes ``tests/data/diagnosis_fresh9.json``; ``--set 10``
(round 13: ``fresh10_cases.py``, after commit 7688ae9) writes ``tests/data/diagnosis_fresh10.json``; ``--set 11``
(round 15: ``fresh11_cases.py``, after commit c1e02e1) writes ``tests/data/diagnosis_fresh11.json``; ``--set 12``
(round 16: ``fresh12_cases.py``, after commit a5d0008) writes ``tests/data/diagnosis_fresh12.json``; ``--set 13``
(round 17: ``fresh13_cases.py``, after commit c460d70) writes ``tests/data/diagnosis_fresh13.json``; ``--set 14``
(round 18: ``fresh14_cases.py``, after commit 73effc3) writes ``tests/data/diagnosis_fresh14.json``; ``--set 15``
(round 19: ``fresh15_cases.py``, after commit 2ef952f) writes ``tests/data/diagnosis_fresh15.json``; ``--set 16``
(round 20: ``fresh16_cases.py``, after commit afdd708) writes ``tests/data/diagnosis_fresh16.json`` (the sets
are listed in ``fresh_sets.py``). Each set is scored once by
``score.py --corpus tests/data/<file> --half all``. Every case is a one-config ``tuning`` study in
``work/fresh.db`` (set 2: ``work/fresh2.db``; re-running skips what is finished), and the curves
and labels are exported in the corpus's format (every config ``split: "fresh"``).

    nohup python benchmarks/diagnosis/make_fresh.py --set 2 > benchmarks/diagnosis/work/fresh2.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / "work"
BUNDLED = ROOT / "tuning" / "data" / "example_series.csv"
sys.path.insert(0, str(HERE))

from fresh_sets import SETS  # noqa: E402


def _write_missing(work: Path, series: dict[str, np.ndarray]) -> None:
    """Each series as a one-column CSV in ``work``, unless its file is already there (the fresh sets
    were fitted on those very bytes)."""
    for name, values in series.items():
        path = work / name
        if not path.exists():
            path.write_text("value\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")


def write_series2(work: Path) -> None:
    """Set 2's two new series: a weekly-like seasonal series near 50 with a trend, and a noisy two-period one."""
    rng = np.random.default_rng(2027)
    t = np.arange(1500)
    weekly = 50 + 0.004 * t + 4 * np.sin(2 * np.pi * t / 52) + 1.5 * np.sin(2 * np.pi * t / 13) \
        + np.cumsum(0.15 * rng.standard_normal(len(t))) + 0.8 * rng.standard_normal(len(t))
    noisy = np.sin(2 * np.pi * t / 29) + 0.7 * np.sin(2 * np.pi * t / 7) + 0.8 * rng.standard_normal(len(t))
    _write_missing(work, {"fresh2_weekly.csv": weekly, "fresh2_noisy.csv": noisy})


def write_series3(work: Path) -> None:
    """Set 3's two new series: an hourly-like one (a daily cycle, a change of regime, noise) and a seasonal walk."""
    rng = np.random.default_rng(2028)
    t = np.arange(2400)
    regime = np.where(t < 1300, 1.0, 1.6)
    hourly = 10 + regime * (2 * np.sin(2 * np.pi * t / 24) + 0.7 * np.sin(2 * np.pi * t / 168)) \
        + 0.5 * np.sin(2 * np.pi * t / 7.3) + 0.9 * rng.standard_normal(len(t))
    walk = np.cumsum(0.3 * rng.standard_normal(1200)) + 3 * np.sin(2 * np.pi * np.arange(1200) / 12) \
        + 0.6 * rng.standard_normal(1200)
    _write_missing(work, {"fresh3_hourly.csv": hourly, "fresh3_walk.csv": walk})


def write_series4(work: Path) -> None:
    """Set 4's two new series: a load-like one (daily and weekly cycles times a slow trend, noise) and a
    bursty one (an AR(1) process with rare jumps)."""
    rng = np.random.default_rng(2029)
    t = np.arange(1800)
    load = (1 + 0.0003 * t) * (20 + 3 * np.sin(2 * np.pi * t / 24) + 1.2 * np.sin(2 * np.pi * t / 168)) \
        + 0.6 * rng.standard_normal(len(t))
    bursty = np.zeros(len(t))
    for i in range(1, len(t)):
        bursty[i] = 0.85 * bursty[i - 1] + 0.3 * rng.standard_normal() + (3.0 if rng.random() < 0.01 else 0.0)
    _write_missing(work, {"fresh4_load.csv": load, "fresh4_bursty.csv": bursty})


def write_series5(work: Path) -> None:
    """Set 5's two new series: "sales" in its own units (a level near 300 with a weekly cycle, a trend and
    multiplicative noise) and a sawtooth of period 20 with noise."""
    rng = np.random.default_rng(2031)
    t = np.arange(1600)
    sales = (300 + 0.05 * t + 40 * np.sin(2 * np.pi * t / 7)) * (1 + 0.08 * rng.standard_normal(len(t)))
    t = np.arange(2000)
    saw = (t % 20) / 20.0 + 0.15 * rng.standard_normal(len(t))
    _write_missing(work, {"fresh5_sales.csv": sales, "fresh5_saw.csv": saw})


def write_series6(work: Path) -> None:
    """Set 6's two new series: a temperature-like one (a cycle of 73 steps, AR(1) weather, level near 15)
    and Poisson counts around 20 with a weekly cycle and a trend."""
    rng = np.random.default_rng(2033)
    t = np.arange(2000)
    weather = np.zeros(len(t))
    for i in range(1, len(t)):
        weather[i] = 0.7 * weather[i - 1] + 1.2 * rng.standard_normal()
    temp = 15 + 8 * np.sin(2 * np.pi * t / 73) + weather
    t = np.arange(1800)
    counts = rng.poisson(20 + 6 * np.sin(2 * np.pi * t / 7) + 0.004 * t).astype(float)
    _write_missing(work, {"fresh6_temp.csv": temp, "fresh6_counts.csv": counts})


def write_series7(work: Path) -> None:
    """Set 7's two new series: a daily load-like one (a level near 400 with a trend, weekly and yearly
    cycles, AR(1) noise) and a weekly river-flow-like one (a yearly cycle of 52 weeks, log-normal floods)."""
    rng = np.random.default_rng(2035)
    t = np.arange(1100)
    weather = np.zeros(len(t))
    for i in range(1, len(t)):
        weather[i] = 0.6 * weather[i - 1] + 10 * rng.standard_normal()
    daily = 400 + 0.05 * t + 40 * np.sin(2 * np.pi * t / 7) + 60 * np.sin(2 * np.pi * t / 365.25) + weather
    t = np.arange(1500)
    flow = 30 * np.exp(0.6 * np.sin(2 * np.pi * t / 52) + 0.35 * rng.standard_normal(len(t)))
    _write_missing(work, {"fresh7_daily.csv": daily, "fresh7_flow.csv": flow})


def write_series8(work: Path) -> None:
    """Set 8's two new series: an hourly solar-like one (a daily cycle, zero at night, times an AR(1)
    cloud factor, with noise) and a sensor-like one near 100 (a slow drift, AR(1) noise, rare level shifts)."""
    rng = np.random.default_rng(2037)
    t = np.arange(2400)
    cloud = np.zeros(len(t))
    for i in range(1, len(t)):
        cloud[i] = 0.95 * cloud[i - 1] + 0.15 * rng.standard_normal()
    sun = np.clip(np.sin(2 * np.pi * ((t % 24) - 6) / 24), 0, None)
    solar = 5 * sun * np.clip(0.8 + cloud, 0.2, 1.2) + 0.1 * rng.standard_normal(len(t))
    t = np.arange(1500)
    noise = np.zeros(len(t))
    for i in range(1, len(t)):
        noise[i] = 0.9 * noise[i - 1] + rng.standard_normal()
    shifts = np.cumsum(np.where(rng.random(len(t)) < 0.004, rng.normal(0, 6, len(t)), 0.0))
    sensor = 100 + 0.01 * t + noise + shifts
    _write_missing(work, {"fresh8_solar.csv": solar, "fresh8_sensor.csv": sensor})


def write_series9(work: Path) -> None:
    """Set 9's two new series: a weekly retail-like one near 200 (a trend, a 52-week cycle, holiday spikes
    in the same weeks each year and an Easter spike that moves, AR(1) noise) and a slowly trending one
    with multiplicative seasonality (a level growing 1.4x over the run, a 12-step cycle of +-20 % and
    log-normal AR(1) noise, so the swings grow with the level)."""
    rng = np.random.default_rng(2039)
    t = np.arange(1600)
    week = t % 52
    noise = np.zeros(len(t))
    for i in range(1, len(t)):
        noise[i] = 0.5 * noise[i - 1] + 8 * rng.standard_normal()
    easter = np.zeros(len(t))
    for start in range(0, len(t), 52):
        easter[start + rng.integers(12, 17)] = 35.0
    holidays = 80.0 * (week == 47) + 60.0 * (week == 50) + 110.0 * (week == 51) - 45.0 * (week == 0)
    retail = 200 + 0.03 * t + 20 * np.sin(2 * np.pi * week / 52) + holidays + easter[:len(t)] + noise
    t = np.arange(1800)
    log_noise = np.zeros(len(t))
    for i in range(1, len(t)):
        log_noise[i] = 0.6 * log_noise[i - 1] + 0.05 * rng.standard_normal()
    season = 0.18 * np.sin(2 * np.pi * t / 12) + 0.07 * np.sin(4 * np.pi * t / 12)
    travel = 100 * np.exp(0.0002 * t + season + log_noise)
    _write_missing(work, {"fresh9_retail.csv": retail, "fresh9_travel.csv": travel})


def write_series10(work: Path) -> None:
    """Set 10's two new series: a daily river-level-like one in metres (~2: a wet-season cycle of 365 days,
    storms, more of them in the wet season, each a flood that rises over a few days and recedes over weeks,
    long wet and dry spells from a slowly wandering AR(1) level, gauge noise) and a daily web-traffic-like
    one (~3,000-8,000 views: a weekly cycle with low weekends, growth, rare bursts that decay over a few
    days, log-normal AR(1) noise)."""
    rng = np.random.default_rng(2041)
    n = 1800
    t = np.arange(n)
    wet = np.sin(2 * np.pi * (t - 60) / 365.25)
    storms = np.where(rng.random(n) < 0.025 + 0.025 * (wet > 0), rng.exponential(0.7, n), 0.0)
    lag = np.arange(150)
    floods = np.convolve(storms, (1 - np.exp(-lag / 2.0)) * np.exp(-lag / 18.0))[:n]
    spell = np.zeros(n)
    for i in range(1, n):
        spell[i] = 0.995 * spell[i - 1] + 0.025 * rng.standard_normal()
    river = np.clip(1.8 + 0.5 * wet + spell + floods + 0.02 * rng.standard_normal(n), 0.2, None)
    n = 1600
    t = np.arange(n)
    weekday = np.array([1.0, 1.06, 1.05, 1.02, 0.94, 0.68, 0.62])[t % 7]
    kicks = np.where(rng.random(n) < 0.012, rng.lognormal(0.3, 0.6, n), 0.0)
    bursts = np.convolve(kicks, np.exp(-np.arange(30) / 3.0))[:n]
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.6 * noise[i - 1] + 0.07 * rng.standard_normal()
    web = 3000 * np.exp(0.0006 * t + noise) * weekday * (1 + bursts)
    _write_missing(work, {"fresh10_river.csv": river, "fresh10_web.csv": web})


def write_series11(work: Path) -> None:
    """Set 11's two new series: an hourly electricity load in MW beside the hourly temperature that drives it
    (one file, columns ``load`` and ``temp``: a two-peaked daily profile, weekends at 85 %, heating below
    14 °C and cooling above 22 °C, AR(1) noise; the temperature a slow seasonal drift, a daily cycle and
    AR(1) weather), and an hourly barometric pressure sensor in hPa (~1013: fronts as a slow AR(1), a
    semi-diurnal atmospheric tide, white noise, rare glitches, quantised to 0.1 hPa)."""
    rng = np.random.default_rng(2043)
    n = 3000
    t = np.arange(n)
    hour, day = t % 24, (t // 24) % 7
    weather = np.zeros(n)
    for i in range(1, n):
        weather[i] = 0.98 * weather[i - 1] + 0.45 * rng.standard_normal()
    temp = 14 + 7 * np.sin(2 * np.pi * t / (24 * 110)) + 4.5 * np.sin(2 * np.pi * (hour - 9) / 24) + weather
    profile = 0.55 * np.exp(-((hour - 8.5) / 2.2) ** 2) + 0.75 * np.exp(-((hour - 19) / 2.8) ** 2) \
        - 0.35 * np.exp(-((hour - 3.5) / 3.0) ** 2)
    weekday = np.where(day >= 5, 0.85, 1.0)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.8 * noise[i - 1] + 14 * rng.standard_normal()
    load = weekday * (1050 + 320 * profile) + 28 * np.clip(14 - temp, 0, None) + 35 * np.clip(temp - 22, 0, None) \
        + noise + 8 * rng.standard_normal(n)
    path = work / "fresh11_load.csv"
    if not path.exists():
        path.write_text("load,temp\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in zip(load, temp, strict=True)))
    n = 2000
    t = np.arange(n)
    fronts = np.zeros(n)
    for i in range(1, n):
        fronts[i] = 0.985 * fronts[i - 1] + 0.7 * rng.standard_normal()
    tide = 0.9 * np.sin(2 * np.pi * (t - 10) / 12) + 0.35 * np.sin(2 * np.pi * (t - 4) / 24)
    glitches = np.where(rng.random(n) < 0.004, rng.normal(0, 5, n), 0.0)
    pressure = np.round(1013 + fronts + tide + 0.55 * rng.standard_normal(n) + glitches, 1)
    _write_missing(work, {"fresh11_pressure.csv": pressure})


def write_series12(work: Path) -> None:
    """Set 12's two new series: an hourly tide gauge in mm (~2,600: the M2, S2, K1 and O1 constituents, whose
    periods beat into a spring-neap cycle of about 15 days, a storm surge as a slow AR(1), gauge noise, whole
    millimetres) and an electrocardiogram-like trace in mV (per beat a P wave, a sharp QRS complex and a T
    wave; beats 20-28 samples apart with an AR(1) rate, a slow baseline drift, noise)."""
    rng = np.random.default_rng(2047)
    n = 3000
    t = np.arange(n, dtype=float)
    constituents = ((1100.0, 12.4206, 0.3), (380.0, 12.0, 1.1), (160.0, 23.9345, 2.0), (120.0, 25.8193, 0.7))
    astronomical = sum(a * np.cos(2 * np.pi * t / period - phase) for a, period, phase in constituents)
    surge = np.zeros(n)
    for i in range(1, n):
        surge[i] = 0.97 * surge[i - 1] + 25 * rng.standard_normal()
    tide = np.round(2600 + astronomical + surge + 12 * rng.standard_normal(n))
    n = 3000
    waves = ((0.15, -6.0, 1.5), (-0.1, -1.2, 0.5), (1.2, 0.0, 0.6), (-0.25, 1.2, 0.6), (0.3, 8.0, 2.5))
    trace = 0.1 * np.sin(2 * np.pi * np.arange(n) / 600) + 0.03 * rng.standard_normal(n)
    rate, beat = 0.0, 10.0
    while beat < n + 20:
        for amplitude, offset, width in waves:
            trace += amplitude * np.exp(-0.5 * ((np.arange(n) - beat - offset) / width) ** 2)
        rate = 0.8 * rate + 1.2 * rng.standard_normal()
        beat += float(np.clip(24 + rate, 20, 28))
    _write_missing(work, {"fresh12_tide.csv": tide, "fresh12_trace.csv": trace})


def write_series13(work: Path) -> None:
    """Set 13's two new series: a chaotic Mackey-Glass series (delay 17, Euler steps of 0.1, sampled every 3
    time units, observation noise 0.02; values near 1) and an hourly wind speed in km/h (a latent AR(1) with a
    daily cycle, mapped to a skewed non-negative speed, gusts, whole tenths of a km/h)."""
    rng = np.random.default_rng(2048)
    n, dt, tau, every = 3000, 0.1, 17.0, 30
    lag = int(tau / dt)
    x = np.full(lag + 1 + n * every + 500 * every, 1.2)
    for i in range(lag, len(x) - 1):
        delayed = x[i - lag]
        x[i + 1] = x[i] + dt * (0.2 * delayed / (1 + delayed ** 10) - 0.1 * x[i])
    chaos = x[lag + 1 + 500 * every::every][:n] + 0.02 * rng.standard_normal(n)
    latent = np.zeros(n)
    for i in range(1, n):
        latent[i] = 0.95 * latent[i - 1] + 0.31 * rng.standard_normal()
    daily = 0.5 * np.sin(2 * np.pi * (np.arange(n) - 9) / 24)
    speed = 18 * np.log1p(np.exp(0.9 * (latent + daily)))  # softplus: non-negative, skewed
    gusts = np.where(rng.random(n) < 0.04, rng.exponential(8.0, n), 0.0)
    wind = np.round(np.maximum(0.0, speed + gusts + 1.5 * rng.standard_normal(n)), 1)
    _write_missing(work, {"fresh13_chaos.csv": chaos, "fresh13_wind.csv": wind})


def write_series14(work: Path) -> None:
    """Set 14's two new series: a gait accelerometer's magnitude in m/s^2 at 10 Hz (~9.81 at rest; a Markov chain of
    rest, walking and running whose oscillation changes amplitude and period with the regime, a wandering cadence,
    impacts while running, sensor noise) and a spare part's daily demand in units (zero at weekends and on a fifth of
    weekdays; when it sells, 1 + Poisson(4 x intensity) units, the intensity a slow log-AR(1) with a yearly cycle)."""
    rng = np.random.default_rng(2049)
    n = 3000
    amps, periods = np.array([0.15, 2.4, 5.5]), np.array([11.0, 11.0, 7.0])
    state, states = 1, np.zeros(n, dtype=int)
    for i in range(n):
        if rng.random() > 0.985:
            state = int(rng.choice([s for s in range(3) if s != state]))
        states[i] = state
    cadence = np.zeros(n)
    for i in range(1, n):
        cadence[i] = 0.97 * cadence[i - 1] + 0.02 * rng.standard_normal()
    phase = np.cumsum(2 * np.pi / periods[states] * (1 + cadence))
    amp = np.convolve(amps[states], np.ones(5) / 5, mode="same")
    impacts = np.where((states == 2) & (rng.random(n) < 0.05), rng.exponential(3.0, n), 0.0)
    gait = 9.81 + amp * (np.sin(phase) + 0.35 * np.sin(2 * phase + 0.8)) + impacts + 0.45 * rng.standard_normal(n)
    t = np.arange(2400)
    level = np.zeros(len(t))
    for i in range(1, len(t)):
        level[i] = 0.98 * level[i - 1] + 0.12 * rng.standard_normal()
    intensity = np.exp(level + 0.25 * np.sin(2 * np.pi * t / 365.25))
    sells = np.clip(np.where(t % 7 < 5, 0.8, 0.0) * np.sqrt(intensity), 0.0, 0.97)
    demand = np.where(rng.random(len(t)) < sells, 1 + rng.poisson(4 * intensity), 0).astype(float)
    _write_missing(work, {"fresh14_gait.csv": gait, "fresh14_demand.csv": demand})


def write_series15(work: Path) -> None:
    """Set 15's new data: a continuous glucose monitor's trace in mg/dL every 5 minutes (~110: a dawn rise, three
    meals a day at jittered times and random snacks, each a gamma-shaped bump peaking after ~45 minutes,
    physiological AR(1) drift, sensor noise, whole mg/dL), the grid frequency in Hz every 10 seconds (~50: a slow
    AR(1) imbalance, a dip at each hour's market boundary, rare generator trips that drop it ~0.1 Hz and recover
    over minutes, meter noise, thousandths of a Hz), and an activity-recognition set as NumPy arrays (``arrays``
    problem, integer labels: sparse categorical cross-entropy): 40 steps of three noisy axes whose rhythm, shape
    and tilt name one of five activities, 10 % of labels flipped, in a large and a small (40 sequences) version."""
    rng = np.random.default_rng(2051)
    n = 3000
    t = np.arange(n)
    lag = np.arange(60, dtype=float)
    kernel = (lag / 9.0) * np.exp(1 - lag / 9.0)  # peaks 9 samples (45 minutes) after the meal
    meals = np.zeros(n)
    for day in range(0, n, 288):
        for hour, size in ((7.5, 45.0), (12.5, 55.0), (19.0, 60.0)):
            at = day + int(hour * 12) + int(rng.integers(-6, 7))
            if at < n:
                meals[at] += size * rng.lognormal(0.0, 0.3)
    meals += np.where(rng.random(n) < 0.004, rng.exponential(20.0, n), 0.0)
    drift = np.zeros(n)
    for i in range(1, n):
        drift[i] = 0.97 * drift[i - 1] + 1.2 * rng.standard_normal()
    dawn = 12 * np.exp(-0.5 * (((t % 288) - 84) / 18.0) ** 2)
    glucose = np.round(np.clip(100 + dawn + np.convolve(meals, kernel)[:n] + drift + 3.0 * rng.standard_normal(n),
                               45, None))
    n = 3000
    t = np.arange(n)
    imbalance = np.zeros(n)
    for i in range(1, n):
        imbalance[i] = 0.995 * imbalance[i - 1] + 0.0015 * rng.standard_normal()
    since_hour = t % 360
    market = -0.025 * np.exp(-since_hour / 12.0)
    trips = np.where(rng.random(n) < 0.003, rng.uniform(0.06, 0.14, n), 0.0)
    recovery = np.convolve(trips, np.exp(-np.arange(60) / 15.0))[:n]
    grid = np.round(50 + imbalance + market - recovery + 0.003 * rng.standard_normal(n), 3)
    _write_missing(work, {"fresh15_glucose.csv": glucose, "fresh15_grid.csv": grid})
    periods, shapes, tilts = (12.0, 9.0, 7.0, 5.5, 4.5), (0.0, 0.6, 0.0, 0.6, 0.3), (0.0, 0.0, 0.8, 0.8, -0.5)

    def sequences(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 5, count)
        steps = np.arange(40, dtype=float)
        x = np.empty((count, 40, 3))
        for i, c in enumerate(labels):
            phase = rng.uniform(0, 2 * np.pi)
            period = periods[c] * rng.uniform(0.85, 1.15)
            wave = np.sin(2 * np.pi * steps / period + phase)
            x[i, :, 0] = rng.uniform(0.7, 1.3) * wave + shapes[c] * np.sin(4 * np.pi * steps / period + phase)
            x[i, :, 1] = rng.uniform(0.5, 1.0) * np.cos(2 * np.pi * steps / period + phase) + tilts[c]
            x[i, :, 2] = tilts[c] * 0.5 + 0.3 * wave
        x += 0.9 * rng.standard_normal(x.shape)
        flipped = rng.random(count) < 0.1
        labels = np.where(flipped, rng.integers(0, 5, count), labels)
        return x.astype("float32"), labels.astype("int64")

    _write_arrays(work, "fresh15_activity", sequences)


def write_series16(work: Path) -> None:
    """Set 16's new data: a wearable's heart rate in beats per minute, once a minute (~58 asleep, ~74 awake: a sleep
    and wake cycle, exercise bouts that ramp up to 120-165 bpm and recover over minutes, AR(1) drift, optical-sensor
    noise, whole bpm), the hourly PM2.5 concentration at a roadside monitor in ug/m3 (~25: morning and evening rush
    hours, quieter weekends, a multiplicative log-AR(1) weather factor, rain that washes it out and recovers over a
    day, multiplicative and additive noise, tenths), and a bearing-fault set as NumPy arrays (``arrays`` problem, 0/1
    labels: binary cross-entropy): 48 steps of two vibration axes, a faulty bearing ringing at periodic impacts,
    8 % of labels flipped, in a large and a small (40 sequences) version."""
    rng = np.random.default_rng(2161)
    n = 3000
    t = np.arange(n)
    minute = t % 1440
    asleep = (minute < 7 * 60) | (minute >= 23 * 60)
    target = np.where(asleep, 58.0, 74.0)
    for start in rng.choice(n - 60, size=6, replace=False):
        target[start:start + int(rng.integers(20, 50))] = rng.uniform(120, 165)
    heart = np.empty(n)
    heart[0] = target[0]
    drift = np.zeros(n)
    for i in range(1, n):
        drift[i] = 0.95 * drift[i - 1] + 0.8 * rng.standard_normal()
        tau = 3.0 if target[i] > heart[i - 1] else 7.0
        heart[i] = heart[i - 1] + (target[i] - heart[i - 1]) / tau
    heart = np.round(heart + drift + 3.0 * rng.standard_normal(n))
    hour, day = t % 24, (t // 24) % 7
    rush = 14 * np.exp(-0.5 * ((hour - 8) / 1.5) ** 2) + 11 * np.exp(-0.5 * ((hour - 18) / 2.0) ** 2)
    weather = np.zeros(n)
    for i in range(1, n):
        weather[i] = 0.97 * weather[i - 1] + 0.08 * rng.standard_normal()
    rain = np.convolve(np.where(rng.random(n) < 0.01, 1.0, 0.0), np.exp(-np.arange(72) / 24.0))[:n]
    level = (18 + rush) * np.where(day >= 5, 0.7, 1.0) * np.exp(weather) * np.exp(-0.6 * np.minimum(rain, 1.5))
    pm25 = np.round(np.clip(level * rng.lognormal(0.0, 0.15, n) + 1.5 * rng.standard_normal(n), 1.0, None), 1)
    _write_missing(work, {"fresh16_heart.csv": heart, "fresh16_pm25.csv": pm25})

    def sequences(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 2, count)
        steps = np.arange(48, dtype=float)
        x = np.empty((count, 48, 2))
        for i, faulty in enumerate(labels):
            shaft = np.sin(2 * np.pi * steps / rng.uniform(10, 14) + rng.uniform(0, 2 * np.pi))
            ring = np.zeros(48)
            if faulty:
                every, first = int(rng.integers(6, 10)), int(rng.integers(0, 6))
                for at in range(first, 48, every):
                    ring[at:] += rng.uniform(0.8, 1.4) * np.exp(-(steps[at:] - at) / 1.5) * np.cos(2.5 * (steps[at:] - at))
            x[i, :, 0] = rng.uniform(0.6, 1.2) * shaft + ring
            x[i, :, 1] = 0.5 * shaft + 0.6 * ring
        x += 1.0 * rng.standard_normal(x.shape)
        flipped = rng.random(count) < 0.08
        labels = np.where(flipped, 1 - labels, labels)
        return x.astype("float32"), labels.astype("int64")

    _write_arrays(work, "fresh16_bearing", sequences)


def _write_arrays(work: Path, stem: str, sequences) -> None:
    """``stem.npz`` (2,000 training sequences) and ``stem_small.npz`` (40), each with 400 validation
    and 20 test sequences drawn after them: made every time, written once, so the draws are the same
    whatever files exist already."""
    for name, n_train in ((f"{stem}.npz", 2000), (f"{stem}_small.npz", 40)):
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = sequences(n_train), sequences(400), sequences(20)
        if not (work / name).exists():
            np.savez(work / name, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test,
                     y_test=y_test)


def write_series(work: Path) -> None:
    """A new generated series (not one of the old corpus's): two sines, a slow drift and noise."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "fresh_series.csv"
    if path.exists():
        return
    rng = np.random.default_rng(2026)
    t = np.arange(2000)
    values = (np.sin(2 * np.pi * t / 37) + 0.5 * np.sin(2 * np.pi * t / 11) + 0.3 * np.sin(2 * np.pi * t / 500)
              + 0.5 * rng.standard_normal(len(t)))
    _write_missing(work, {path.name: values})


def resolved(entry: dict, storage: str) -> dict:
    text = json.dumps(entry["spec"]).replace("{work}", str(WORK)).replace("{bundled}", str(BUNDLED))
    spec = json.loads(text)
    spec["storage"] = storage
    return spec


def _round(values: list[float]) -> list[float | None]:
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values]


def export(storage: str, path: Path, cases: list[dict], about: str) -> dict:
    import tuning

    configs = []
    for entry in cases:
        try:
            results = tuning.load_results(entry["spec"]["name"], storage=storage)
        except Exception as error:  # a study not fitted (yet): left out, said
            print(f"not exported: {entry['name']}: {error}")
            continue
        spec = results.spec
        early = spec["fit"].get("early_stopping")
        baseline = results.baseline.get("val_loss")
        fits = []
        for fit in results.fits.sort_values("seed").to_dict("records"):
            curves = results.fit_curves.get((fit["config_key"], int(fit["seed"])), {})
            fits.append({"seed": int(fit["seed"]), "truth": entry["truth"], "status": fit["status"],
                         "train": _round(curves.get("loss", [])), "val": _round(curves.get("val_loss", []))})
        configs.append({
            "name": entry["name"], "truth": entry["truth"], "fit_truth": "config", "why": entry["why"],
            "split": "fresh", "problem": spec["problem"]["name"], "loss": spec["model"].get("loss") or None,
            "max_epochs": int(spec["fit"]["epochs"]), "patience": int(early["patience"]) if early else None,
            "restore_best_weights": bool(early.get("restore_best_weights", True)) if early else None,
            "baseline_val_loss": float(baseline) if baseline is not None and math.isfinite(baseline) else None,
            "fits": fits})
    data = {"about": about, "configs": configs}
    if not configs:  # an unfitted set (--no-fit before any fit): keep the committed file as it is
        raise SystemExit(f"no fitted study of this set in {storage}: {path} left as it was")
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=int, choices=sorted(SETS), default=1)
    parser.add_argument("--storage", help="default: work/fresh.db (set 1), work/fresh2.db (set 2), work/fresh3.db (set 3)")
    parser.add_argument("--no-fit", action="store_true",
                        help="fit nothing: write the series, then export what the store already holds (nothing "
                             "is written over the data file when the store holds no study of the set)")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    cases, file, store, about = SETS[args.set]
    storage = args.storage or f"sqlite:///{WORK / store}"
    data_path = ROOT / "tests" / "data" / file
    write_series(WORK)
    write_series2(WORK)
    write_series3(WORK)
    write_series4(WORK)
    write_series5(WORK)
    write_series6(WORK)
    write_series7(WORK)
    write_series8(WORK)
    write_series9(WORK)
    write_series10(WORK)
    write_series11(WORK)
    write_series12(WORK)
    write_series13(WORK)
    write_series14(WORK)
    write_series15(WORK)
    write_series16(WORK)
    if not args.no_fit:
        import tuning

        for i, entry in enumerate(cases, 1):
            if args.only and entry["name"] not in args.only:
                continue
            print(f"[{i}/{len(cases)}] {entry['name']} ({entry['truth']})", flush=True)
            try:
                tuning.run_study(resolved(entry, storage), quiet=True)
            except Exception as error:  # one bad case must not stop the rest
                print(f"  failed: {type(error).__name__}: {error}", flush=True)
    data = export(storage, data_path, cases, about)
    print(f"exported {len(data['configs'])} configs, {sum(len(c['fits']) for c in data['configs'])} fits to {data_path}")


if __name__ == "__main__":
    main()
