"""A study's report: ``index.html``, a page per config in ``configs/``, and every table as CSV and JSON.

The pages are interactive and still work offline: each carries its data as inline JSON and is
drawn in the browser by Plotly, whose ``plotly.min.js`` is written once into the report
directory beside the report's own ``report.js`` (nothing is fetched from the network, so the
directory can be archived, mailed as a zip or opened from ``file://`` on an offline machine).
The index holds every seed's score of every config, never a curve: a config's curves load with
its page, so the index stays fast at 1,000 trials x 10 seeds (docs/performance_report.md).
Every piece of text that came from a user (study name, parameter values, error messages, the
spec) goes through jinja2's autoescaping, and the inline JSON has ``<`` escaped: a study called
``<script>...`` is shown, never run. The seaborn PNGs of :mod:`tuning.plots` stay for notebooks.

Example:
    >>> build_report("quickstart", "sqlite:///tuning.db")          # doctest: +SKIP
    PosixPath('reports/quickstart/index.html')
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuning.store import Store

__all__ = ["build_report", "default_out_dir", "render_report"]


def default_out_dir(study: str) -> Path:
    """``reports/<study>/``; a name a folder cannot carry as it is (a space, a slash, a leading dot)
    has those characters replaced by ``_`` and a short digest of the name added, so that two
    studies ("sales v2" and "sales_v2") never write into one folder.

    Example:
        >>> default_out_dir("quickstart"), default_out_dir("étude")
        (PosixPath('reports/quickstart'), PosixPath('reports/étude'))
    """
    safe = re.sub(r"[^\w.-]", "_", study).strip(".")
    if safe != study or not safe:
        safe = f"{safe or 'study'}-{hashlib.sha1(study.encode()).hexdigest()[:6]}"
    return Path("reports") / safe


def render_report(study: str, storage: str | Store | None = None, out_dir: str | Path | None = None, *,
                  margin: object | None = None) -> str:
    """The index page of ``study`` as HTML text; exports, config pages and scripts are written into
    ``out_dir`` if given (without it the page has no ``plotly.min.js`` beside it to draw with).

    ``storage``: an open store, a URL, or None for ``$TUNING_STORAGE`` / ``sqlite:///tuning.db``;
    the whole report is read through one :class:`~tuning.store.Store`.

    ``margin`` overrides the spec's ``objective.margin`` (a number, or a string like ``"2%"``).
    """
    from tuning.report._html import render

    return render(study, storage, out_dir, margin)


def reported_study(out_dir: str | Path) -> str | None:
    """The study whose report ``out_dir`` holds (``None``: no report of ours, or one written before
    reports named their study)."""
    import html

    index = Path(out_dir) / "index.html"
    if not index.is_file():
        return None
    with index.open(encoding="utf-8", errors="replace") as page:
        head = page.read(4000)  # the meta tag is in the head: not the megabytes of a large study's page
    found = re.search(r'<meta name="tuning-study" content="([^"]*)">', head)
    return html.unescape(found[1]) if found else None


def build_report(study: str, storage: str | Store | None = None, out_dir: str | Path | None = None, *,
                 margin: object | None = None) -> Path:
    """Write ``index.html``, ``configs/*.html``, the scripts they load and the CSV/JSON exports of
    ``study`` into ``out_dir``; return the index page."""
    from tuning.errors import SpecError
    from tuning.store import open_store

    out = Path(out_dir) if out_dir is not None else default_out_dir(study)
    store = open_store(storage)
    store.require_study(study)  # a mistyped study or store leaves no empty folder behind
    if out.exists() and not out.is_dir():
        raise SpecError(f"{out} is a file; the report is a folder (index.html, configs/, exports)", field="--out")
    other = reported_study(out)
    if other is not None and other != study:  # its config pages would stay beside this study's
        raise SpecError(f"{out} holds the report of study {other!r}; write this one into another folder "
                        f"(the default: {default_out_dir(study)}) or delete that one first", field="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file on the way, no permission, a read-only disk
        raise SpecError(f"cannot make the folder {out}: {exc.strerror or exc}", field="--out") from None
    page = out / "index.html"
    text = render_report(study, store, out, margin=margin)
    tmp = page.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(page)  # a browser reloading mid-write sees the old page or the new, never half
    return page
