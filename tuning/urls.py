"""A store's URL as it may be shown: printed, written into a report, stored with the study.

A PostgreSQL URL may carry a password (``postgresql://user:PASSWORD@host/db``); reports and logs
are shared and a study's record is read by everyone with access to the store, so the password is
replaced by ``***`` everywhere but in the connection itself (SQLAlchemy's own rendering).
"""

from __future__ import annotations


def shown_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``; anything else unchanged."""
    if "@" not in url or ":" not in url.split("@", 1)[0].split("//", 1)[-1]:
        return url  # no user:password part (every SQLite URL, a URL with a user alone)
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: the store reports that; show nothing of it
        return url.split("://", 1)[0] + "://***"
