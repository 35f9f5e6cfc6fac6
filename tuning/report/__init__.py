"""A study's report: one self-contained ``index.html`` plus every table as CSV and JSON.

Self-contained means the page needs nothing but itself: images are base64 data URIs, CSS and
the few lines of sorting JavaScript are inline, and nothing is fetched from the network, so the
file can be mailed, archived or opened from ``file://`` on an offline machine. Every piece of
text that came from a user (study name, parameter values, error messages, the spec) goes
through jinja2's autoescaping: a study called ``<script>...`` is shown, never run.

Example:
    >>> build_report("quickstart", "sqlite:///tuning.db")          # doctest: +SKIP
    PosixPath('reports/quickstart/index.html')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuning.store import Store

__all__ = ["build_report", "default_out_dir", "render_report"]


def default_out_dir(study: str) -> Path:
    """``reports/<study>/``, with characters a file name should not hold replaced by ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", study).strip(".") or "study"
    return Path("reports") / safe


def render_report(study: str, storage: str | Store | None = None, out_dir: str | Path | None = None, *,
                  margin: object | None = None) -> str:
    """The report page of ``study`` as HTML text; exports are written into ``out_dir`` if given.

    ``storage``: an open store, a URL, or None for ``$TUNING_STORAGE`` / ``sqlite:///tuning.db``;
    the whole report is read through one :class:`~tuning.store.Store`.

    ``margin`` overrides the spec's ``objective.margin`` (a number, or a string like ``"2%"``).
    """
    from tuning.report._html import render

    return render(study, storage, out_dir, margin)


def build_report(study: str, storage: str | Store | None = None, out_dir: str | Path | None = None, *,
                 margin: object | None = None) -> Path:
    """Write ``index.html`` and the CSV/JSON exports of ``study`` into ``out_dir``; return the page."""
    out = Path(out_dir) if out_dir is not None else default_out_dir(study)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    text = render_report(study, storage, out, margin=margin)
    tmp = page.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(page)  # a browser reloading mid-write sees the old page or the new, never half
    return page
