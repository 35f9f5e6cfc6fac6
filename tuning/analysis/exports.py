"""Every table of a study as CSV and JSON files, and its curves in wide form.

An export holds exactly what the Python API gives (``fits`` is :func:`tuning.load_results`'s
DataFrame, unchanged), written so that any language reads it without pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tuning.analysis.diagnose import Thresholds, diagnose_study
from tuning.analysis.inputs import config_numbers
from tuning.analysis.tables import marginals, summary_table

if TYPE_CHECKING:
    from tuning.analysis.inputs import StudyFrames


def analysis_tables(results: StudyFrames, level: float = 0.05, thresholds: Thresholds = Thresholds(),
                    **options) -> dict[str, pd.DataFrame]:
    """Every table of a study by name: summary, marginals, diagnosis, fits.

    ``fits`` is the DataFrame :func:`tuning.load_results` returns, unchanged, so an export holds
    exactly what the Python API gives. The curves are exported too, by :func:`export_tables`,
    from ``results.fit_curves``.
    """
    diagnosis = diagnose_study(results, thresholds)
    return {
        "summary": summary_table(results, level, thresholds, diagnosis=diagnosis, **options),
        "marginals": marginals(results),
        "diagnosis": diagnosis,
        "fits": results.fits,
    }


def export_tables(results: StudyFrames, out_dir: str | Path, level: float = 0.05,
                  thresholds: Thresholds = Thresholds(), *, tables: dict[str, pd.DataFrame] | None = None,
                  curves: bool = True, **options) -> list[Path]:
    """Write every table of :func:`analysis_tables` as ``<table>.csv`` and ``<table>.json``, then
    (unless ``curves=False``) the curves as ``curves.csv`` and ``curves.json`` (see :func:`export_curves`).

    JSON is a list of records (one object per row, NaN/NA as null), which every language reads
    without pandas. Pass ``tables`` when they are already computed (the report does) so the
    diagnosis is not run twice. Returns the written paths, CSV and JSON per table.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if tables is None:
        tables = analysis_tables(results, level, thresholds, **options)
    for name, table in tables.items():
        csv_path, json_path = out / f"{name}.csv", out / f"{name}.json"
        table.to_csv(csv_path, index=False)
        table.to_json(json_path, orient="records", indent=1, force_ascii=False)
        written += [csv_path, json_path]
    return written + (export_curves(results, out) if curves else [])


def export_curves(results: StudyFrames, out_dir: str | Path) -> list[Path]:
    """Write ``curves.csv`` and ``curves.json``: one row per (config, seed, curve), epochs in order.

    Wide, not the long ``results.curves``: a 1,000-trial x 10-seed study has 4 million curve
    points, and one row per point made the export most of a report's build time and 600 MB.
    CSV columns are ``trial, config_key, seed, curve, epochs, 1, 2, ... N`` (empty past a run's
    last epoch; ``trial`` is the number the summary and diagnosis name the config by, empty when
    the store has none); ``pd.read_csv(path).melt(id_vars=["trial", "config_key", "seed", "curve",
    "epochs"], var_name="epoch")`` gives the long form back. JSON records carry ``values``, a list per curve.
    Values keep 15 significant digits (Keras logs float32, about 7); NaN and inf are written
    as empty / null.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = [(key, seed, curve, values) for (key, seed), named in results.fit_curves.items()
           for curve, values in named.items()]
    numbers = config_numbers(results.fits)
    index = pd.DataFrame({"trial": pd.Series([numbers.get(i[0]) for i in ids], dtype="Int64"),
                          "config_key": pd.Series([i[0] for i in ids], dtype=object),
                          "seed": pd.Series([i[1] for i in ids], dtype="int64"),
                          "curve": pd.Series([i[2] for i in ids], dtype=object),
                          "epochs": pd.Series([len(i[3]) for i in ids], dtype="int64")})
    json_path, csv_path = out / "curves.json", out / "curves.csv"
    index.assign(values=[list(i[3]) for i in ids]).to_json(json_path, orient="records", double_precision=15)
    width = int(index["epochs"].max()) if len(index) else 0
    matrix = np.full((len(ids), width), np.nan)
    for row, (*_, values) in enumerate(ids):
        matrix[row, : len(values)] = values
    # pandas' JSON writer formats floats in C, several times faster than to_csv; its rows are
    # "[v,v,...]" with null for NaN, which is a CSV line once the brackets and nulls go.
    body = pd.DataFrame(matrix).to_json(orient="values", double_precision=15)[2:-2].split("],[") if ids else []
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["trial", "config_key", "seed", "curve", "epochs", *map(str, range(1, width + 1))]) + "\n")
        for (key, seed, curve, values), cells in zip(ids, body, strict=True):
            trial = numbers.get(key)
            handle.write(f"{'' if trial is None else trial},{_csv_field(key)},{seed},{_csv_field(curve)},"
                         f"{len(values)},{cells.replace('null', '')}\n")
    return [csv_path, json_path]


def _csv_field(text: object) -> str:
    text = str(text)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text
