"""A store's URL: which database it names, and how it may be shown (printed, written into a
report, stored with the study).

A PostgreSQL URL may carry a password (``postgresql://user:PASSWORD@host/db``); reports and logs
are shared and a study's record is read by everyone with access to the store, so the password is
replaced by ``***`` everywhere but in the connection itself (SQLAlchemy's own rendering).
"""

from __future__ import annotations

#: The databases a study can live in: a SQLite file (one machine) or PostgreSQL (many workers).
DATABASES = ("sqlite", "postgresql")
DATABASE_EXAMPLES = "a file path, sqlite:///file.db or postgresql://user@host/db"


def database_of(storage: str) -> str:
    """The database a storage names (``sqlite`` for a bare file path; ``postgres://``, the spelling
    of many hosting services, is PostgreSQL), or ``ValueError`` in the user's words: a misspelt
    scheme is refused where it is read (the spec's ``storage``, ``--storage``), before anything runs."""
    if "://" not in storage:
        return "sqlite"
    scheme = storage.split("://", 1)[0]
    database = scheme.split("+", 1)[0]  # postgresql+psycopg2: a database and its driver
    database = "postgresql" if database == "postgres" else database
    if database not in DATABASES:
        raise ValueError(f"no database of kind {scheme!r} (expected {DATABASE_EXAMPLES})")
    return database


def shown_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``; anything else unchanged."""
    if "@" not in url or ":" not in url.split("@", 1)[0].split("//", 1)[-1]:
        return url  # no user:password part (every SQLite URL, a URL with a user alone)
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: the store reports that; show nothing of it
        return url.split("://", 1)[0] + "://***"
