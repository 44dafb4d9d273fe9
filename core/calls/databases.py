"""Where the event store keeps its rows: an SQLite file on the box, or a PostgreSQL server several
boxes share. Both speak DB-API; what differs (connecting, the parameter mark, errors) is here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warmline.errors import WarmlineError
from warmline.privacy import private_file


class StoreError(WarmlineError):
    """The event store cannot be opened, written or read."""


class SqliteFile:
    """The embedded default: one file, owner-only, in WAL mode."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    mark = "?"

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def connect(self, *, reader: bool = False) -> sqlite3.Connection:
        if not reader:
            private_file(self.path)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA secure_delete=ON")  # a purged call's bytes are zeroed, not left in free pages
        return db


class Postgres:
    """A PostgreSQL server shared by several Warmline processes (`[store] url`)."""

    mark = "%s"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("[store] url names a PostgreSQL server but psycopg is not installed: "
                             "pip install 'warmline[postgresql]'") from None
        self.url, self._psycopg = url, psycopg
        self.errors = (psycopg.Error,)

    def __str__(self) -> str:  # never the password
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"

    def connect(self, *, reader: bool = False):
        # the reader sees each commit at once; the writer commits its own transactions
        return self._psycopg.connect(self.url, autocommit=reader, connect_timeout=10)


Database = SqliteFile | Postgres


def one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
