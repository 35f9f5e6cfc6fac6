"""``tuning serve``: every study of a store as a live report, on stdlib ``http.server`` only.

A report is rebuilt when its study's data changed since it was built, so a running study can be
watched in the browser: a served page (the index or a config's) asks ``live.json`` every few
seconds whether the store moved past the report it shows, and when it did fetches its own HTML
again and swaps the changed parts and its plot data in place: new fits appear without a reload
(a report opened from a file never polls). "Changed" is a cheap fingerprint read per request (count and highest id of the
study's fits, and its trials by state) instead of rebuilding on every hit: building draws all the
plots and takes seconds. Reports are written into a private cache
directory, one sub-directory per study named by a hash (study names can hold any character),
and served from there with their CSV/JSON exports. The server binds to 127.0.0.1 by default:
a study's spec and errors are nobody else's business.
"""

from __future__ import annotations

import hashlib
import html
import json
import mimetypes
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa

from tuning.report import build_report
from tuning.store import Store, fits_table


def fingerprint(store: Store, study: str) -> tuple:
    """What a report was built from: (fit count, max fit id, trials per state). Cheap SQL only."""
    with store.engine.connect() as conn:
        count, last = conn.execute(sa.select(sa.func.count(), sa.func.max(fits_table.c.id))
                                   .where(fits_table.c.study == study)).one()
        try:  # Optuna's own tables: trial states move (running -> complete) without a new fit
            states = conn.execute(sa.text(
                "SELECT t.state, COUNT(*) FROM trials t JOIN studies s ON s.study_id = t.study_id "
                "WHERE s.study_name = :name GROUP BY t.state ORDER BY t.state"), {"name": study}).all()
        except sa.exc.SQLAlchemyError:
            states = []
    return count, last, tuple((str(s), n) for s, n in states)


class ReportCache:
    """Built reports by study, rebuilt only when the study's fingerprint moved."""

    def __init__(self, storage: str, root: Path):
        self.storage, self.root = storage, root
        self.store = Store(storage, create=False)
        self.built: dict[str, tuple] = {}
        self.builds = 0  # how many reports were built, for tests and the log
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def directory(self, study: str) -> Path:
        return self.root / hashlib.sha256(study.encode()).hexdigest()[:16]

    def report(self, study: str) -> Path:
        """The study's up-to-date report directory (built now if its data changed)."""
        with self._guard:
            lock = self._locks.setdefault(study, threading.Lock())
        with lock:  # two reloads at once build once
            now = fingerprint(self.store, study)
            out = self.directory(study)
            if self.built.get(study) != now or not (out / "index.html").exists():
                build_report(study, self.storage, out)
                self.built[study] = now
                self.builds += 1
            return out

    def live(self, study: str) -> dict[str, str]:
        """The fingerprint the served report was built from, and the store's now (as text)."""
        return {"built": repr(self.built.get(study)), "current": repr(fingerprint(self.store, study))}


def index_page(store: Store) -> str:
    """The list of studies, each linking to its report (names escaped and URL-quoted)."""
    items = "\n".join(
        f'<li><a href="/study/{quote(name, safe="")}/">{html.escape(name)}</a> · {store.count_fits(name)} fits</li>'
        for name in store.study_names()) or "<li>no studies yet</li>"
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            "<title>tuning studies</title><style>body{font:15px system-ui,sans-serif;margin:2em}</style></head>"
            f"<body><h1>Studies in <code>{html.escape(store.shown)}</code></h1><ul>{items}</ul>"
            "<p>A report is rebuilt when its study has new fits; an open report shows them without a reload.</p>"
            "</body></html>")


def make_handler(cache: ReportCache, refresh: float = 5.0) -> type[BaseHTTPRequestHandler]:
    """Request handler over ``cache``; served reports poll for new fits every ``refresh`` s (0: never)."""

    def live_tag(study: str) -> bytes:
        """The tag that turns polling on, with the fingerprint the page was built from (the page
        compares it with ``live.json``'s ``current``, so it also catches up on a build another
        browser caused)."""
        if refresh <= 0:
            return b""
        built = html.escape(repr(cache.built.get(study)), quote=True)
        return f'<meta name="tuning-live" content="{refresh:g}" data-built="{built}">'.encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "tuning-serve"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                return self._send(index_page(cache.store).encode(), "text/html; charset=utf-8")
            if not path.startswith("/study/"):
                return self.send_error(HTTPStatus.NOT_FOUND)
            name, sep, rest = path.removeprefix("/study/").partition("/")
            study = unquote(name)
            if not sep:  # /study/NAME -> /study/NAME/ so that relative export links resolve
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", f"/study/{name}/")
                self.end_headers()
                return None
            if study not in cache.store.study_names():
                return self.send_error(HTTPStatus.NOT_FOUND, "no such study")
            if rest.rpartition("/")[2] == "live.json":  # cheap: never builds (asked from config pages too)
                return self._send(json.dumps(cache.live(study)).encode(), "application/json")
            out = cache.report(study)
            top = out.resolve()
            file = (out / (unquote(rest) or "index.html")).resolve()
            if top not in file.parents or not file.is_file():  # no escaping the report directory
                return self.send_error(HTTPStatus.NOT_FOUND)
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            body = file.read_bytes()
            if file.suffix == ".html":  # the pages on disk stay static; the served ones poll
                body = body.replace(b"</head>", live_tag(study) + b"</head>", 1)
            # Plotly (4.7 MB) and the report's script change only with the installed packages
            cached = file.suffix == ".js"
            return self._send(body, kind + ("; charset=utf-8" if kind.startswith("text/") else ""), cached)

        def _send(self, body: bytes, kind: str, cached: bool = False) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=600" if cached else "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            pass  # quiet: the terminal shows the URL, not every image request

    return Handler


def make_server(storage: str, host: str = "127.0.0.1", port: int = 0, cache_dir: str | Path | None = None,
                refresh: float = 5.0) -> tuple[ThreadingHTTPServer, ReportCache]:
    """A ready (not yet serving) server and its cache; port 0 picks a free port; open reports
    check for new fits every ``refresh`` seconds (0 turns that off)."""
    root = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="tuning-serve-"))
    cache = ReportCache(storage, root)
    server = ThreadingHTTPServer((host, port), make_handler(cache, refresh))
    server.daemon_threads = True
    return server, cache


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
