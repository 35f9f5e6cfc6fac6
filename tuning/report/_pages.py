"""A page per config (``configs/<key>.html``) and the scripts every page loads, written beside them.

A config's page carries its own curves, so the index never does: at 1,000 configs x 10 seeds x
100 epochs the curves are four million numbers, 4,000 per config. Plotly (4.7 MB) and the
report's script are written once into the report directory and loaded by relative path; every
page still opens from ``file://`` with no network. Plotly is imported here only, when a report
is written: ``tuning status`` never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from tuning.report._data import config_page, page_name, script_json

__all__ = ["ENVIRONMENT", "write_assets", "write_config_pages"]

HERE = Path(__file__).parent
#: Every page's templates; autoescaping on, so no user text (study name, errors, settings) is markup.
ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True, trim_blocks=True,
                                 lstrip_blocks=True)
ASSETS = ("report.js",)


def write_assets(out_dir: Path) -> None:
    """``plotly.min.js`` (from the installed plotly package) and ``report.js``, each written only
    when missing or changed (a report rebuilt every few seconds by ``tuning serve`` rewrites nothing)."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not source.is_file():
        from plotly.offline import get_plotlyjs

        _write_if_changed(out_dir / "plotly.min.js", get_plotlyjs().encode("utf-8"))
    else:
        _write_if_changed(out_dir / "plotly.min.js", source.read_bytes())
    for name in ASSETS:
        _write_if_changed(out_dir / name, (HERE / name).read_bytes())


def _write_if_changed(path: Path, body: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(body) and path.read_bytes() == body:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


def write_config_pages(results, selected, tables: dict[str, pd.DataFrame], data: dict[str, Any],
                       gains: dict[str, str], names: dict[str, str], storage: str, out_dir: str | Path) -> int:
    """Write every config's page into ``out_dir/configs`` (and the assets into ``out_dir``); return how many."""
    out = Path(out_dir)
    write_assets(out)
    folder = out / "configs"
    folder.mkdir(exist_ok=True)
    template = ENVIRONMENT.get_template("config.html.j2")
    summary = tables["summary"]
    diagnosis = tables.get("diagnosis")
    per_config, per_fit = {}, {}
    if diagnosis is not None and len(diagnosis):
        for rec in diagnosis.to_dict("records"):
            if rec["scope"] == "config":
                per_config[rec["config_key"]] = rec
            else:
                per_fit[(rec["config_key"], int(rec["seed"]))] = rec
    rows = {c["key"]: c for c in data["configs"]}
    best = _best_row(summary, rows)
    fits_by_key: dict[str, list[dict]] = {}
    for fit in results.fits.to_dict("records"):  # once: a to_dict per config costs seconds at 1,000 configs
        fits_by_key.setdefault(fit["config_key"], []).append(fit)
    for rec in summary.to_dict("records"):
        key = rec["config_key"]
        found = per_config.get(key) or {}
        told = {"label": _text(found.get("label")), "evidence": _text(found.get("evidence")),
                "suggestion": _text(found.get("suggestion"))}
        page, curves = config_page(results, rec, best, selected.margin, told, gains.get(key), names, storage,
                                   fits_by_key[key])
        for fit in page["fits"]:
            label = per_fit.get((key, fit["seed"])) or {}
            fit["label"] = _text(label.get("label"))
        params = [(kind["name"], rows[key]["params"][i]) for i, kind in enumerate(data["params"])]
        text = template.render(study=results.name, page=page, params=params, storage=storage,
                               data_json=Markup(script_json(page, raw={"curves": curves})))
        _write_text(folder / page_name(key), text)
    return len(summary)


def _best_row(summary: pd.DataFrame, rows: dict[str, dict]) -> dict[str, Any] | None:
    """The config the comparisons are against (:func:`~tuning.analysis.tables.best_row`), seed -> score;
    None when no config has 2 seeds."""
    from tuning.analysis.tables import best_row

    best = best_row(summary)
    if best is None or summary.at[best, "n_seeds"] < 2:
        return None
    row = rows[summary.at[best, "config_key"]]
    return {"key": row["key"], "name": row["name"], "page": row["page"],
            "scores": {s: v for s, v in zip(row["seeds"], row["scores"], strict=True) if v is not None}}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
