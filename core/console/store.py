"""The console's own tables: accounts, sessions, wrap-ups, call-backs.

A small table layer over DB-API (the event store's SqliteFile today; its Postgres can follow, as
the SQL here is plain and the parameter mark is the database's). sqlite3 blocks, so every call
runs in a worker thread on one connection, serialised by a lock. The file is owner-only (0600).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from warmline.calls.databases import Database, SqliteFile, one_line
from warmline.errors import WarmlineError

T = TypeVar("T")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS accounts (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, producer TEXT NOT NULL, phone TEXT NOT NULL,
        password_hash TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY, account TEXT NOT NULL, csrf TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS wrapups (
        call_id TEXT NOT NULL, producer TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
        due DOUBLE PRECISION NOT NULL, reminded INTEGER NOT NULL, saved_by TEXT NOT NULL,
        disposition TEXT NOT NULL, saved DOUBLE PRECISION NOT NULL, PRIMARY KEY (call_id, producer))""",
    """CREATE TABLE IF NOT EXISTS callbacks (
        call_id TEXT PRIMARY KEY, queue TEXT NOT NULL, requested DOUBLE PRECISION NOT NULL,
        claimed_by TEXT NOT NULL, closed DOUBLE PRECISION NOT NULL)""",
)


class ConsoleError(WarmlineError):
    """The console's database, an account or a request is not usable; one line naming the fix."""


class Role(StrEnum):
    PRODUCER = "producer"  # sees the calls handed to them, tags their transfers
    SUPERVISOR = "supervisor"  # sees every call, the board; listens, whispers, barges, takes over
    OWNER = "owner"  # sees every call and the board
    ADMIN = "admin"  # manages accounts; sees no calls


SEES_ALL = frozenset({Role.SUPERVISOR, Role.OWNER})


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    producer: str = ""  # the producer's name as [handoff] producers spell it
    phone: str = ""  # a supervisor's own phone, e.g. PJSIP/2001

    @property
    def sees_all(self) -> bool:
        return self.role in SEES_ALL


@dataclass(frozen=True, slots=True)
class Session:
    account: Account
    csrf: str
    last_seen: float


@dataclass(frozen=True, slots=True)
class WrapUp:
    call_id: str
    producer: str
    started: float
    due: float
    reminded: bool = False
    saved_by: str = ""
    disposition: str = ""  # the stored DispositionRecorded fields as JSON, once saved
    saved: float = 0.0

    @property
    def done(self) -> bool:
        return bool(self.disposition)


@dataclass(frozen=True, slots=True)
class Callback:
    call_id: str
    queue: str
    requested: float
    claimed_by: str = ""
    closed: float = 0.0


def token_hash(token: str) -> str:
    """What the sessions table keeps of a cookie: a stolen file holds no usable session."""
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleStore:
    def __init__(self, database: Path | Database) -> None:
        self.db = SqliteFile(database) if isinstance(database, Path) else database
        try:
            self._conn = self.db.connect()
            for statement in SCHEMA:
                self._conn.execute(statement)
            self._conn.commit()
        except (OSError, *self.db.errors) as exc:
            raise ConsoleError(f"cannot open the console database {self.db}: {one_line(exc)}; "
                               "set [console] database to a writable file") from None
        self._lock = threading.Lock()

    # --- the table layer ------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.db.mark)

    def _locked(self, work: Callable[[Any], T]) -> T:
        with self._lock:
            try:
                result = work(self._conn)
                self._conn.commit()
                return result
            except self.db.errors as exc:
                self._conn.rollback()
                raise ConsoleError(f"console database {self.db}: {one_line(exc)}") from None

    async def _run(self, work: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> Callable[[Any], list]:
        return lambda c: c.execute(self._sql(statement), tuple(params)).fetchall()

    def _change(self, statement: str, params: Sequence[Any] = ()) -> Callable[[Any], int]:
        return lambda c: c.execute(self._sql(statement), tuple(params)).rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- accounts -------------------------------------------------------------------------------

    def add_account_now(self, account: Account, password_hash: str) -> None:
        """Blocking (the command line): a new account, or ConsoleError if the name is taken."""
        def add(c) -> None:
            if c.execute(self._sql("SELECT 1 FROM accounts WHERE name = ?"), (account.name,)).fetchone():
                raise ConsoleError(f"account {account.name!r} exists already; pick another name or remove it first")
            c.execute(self._sql("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)"),
                      (account.name, account.role.value, account.producer, account.phone, password_hash, time.time()))
        self._locked(add)

    def remove_account_now(self, name: str) -> bool:
        def remove(c) -> int:
            c.execute(self._sql("DELETE FROM sessions WHERE account = ?"), (name,))
            return c.execute(self._sql("DELETE FROM accounts WHERE name = ?"), (name,)).rowcount
        return self._locked(remove) > 0

    def accounts_now(self) -> list[Account]:
        rows = self._locked(self._rows("SELECT name, role, producer, phone FROM accounts ORDER BY name"))
        return [Account(r[0], Role(r[1]), r[2], r[3]) for r in rows]

    async def accounts(self) -> list[Account]:
        return await asyncio.to_thread(self.accounts_now)

    async def credentials(self, name: str) -> tuple[Account, str] | None:
        rows = await self._run(self._rows(
            "SELECT name, role, producer, phone, password_hash FROM accounts WHERE name = ?", (name,)))
        if not rows:
            return None
        r = rows[0]
        return Account(r[0], Role(r[1]), r[2], r[3]), r[4]

    async def set_password_hash(self, name: str, password_hash: str) -> None:
        await self._run(self._change("UPDATE accounts SET password_hash = ? WHERE name = ?", (password_hash, name)))

    # --- sessions -------------------------------------------------------------------------------

    async def open_session(self, account: Account, now: float) -> tuple[str, str]:
        """A new session: (cookie token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        await self._run(self._change("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                                     (token_hash(token), account.name, csrf, now, now)))
        return token, csrf

    async def session(self, token: str, now: float, idle_s: float, *, touch: bool = True) -> Session | None:
        """The live session behind this cookie; an idle one is ended here."""
        digest = token_hash(token)

        def look(c) -> Session | None:
            row = c.execute(self._sql(
                "SELECT a.name, a.role, a.producer, a.phone, s.csrf, s.last_seen FROM sessions s "
                "JOIN accounts a ON a.name = s.account WHERE s.token_hash = ?"), (digest,)).fetchone()
            if row is None:
                return None
            if now - row[5] > idle_s:
                c.execute(self._sql("DELETE FROM sessions WHERE token_hash = ?"), (digest,))
                return None
            if touch:
                c.execute(self._sql("UPDATE sessions SET last_seen = ? WHERE token_hash = ?"), (now, digest))
            return Session(Account(row[0], Role(row[1]), row[2], row[3]), row[4], now if touch else row[5])
        return await self._run(look)

    async def close_session(self, token: str) -> None:
        await self._run(self._change("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),)))

    async def purge_sessions(self, now: float, idle_s: float) -> None:
        await self._run(self._change("DELETE FROM sessions WHERE last_seen < ?", (now - idle_s,)))

    # --- wrap-ups -------------------------------------------------------------------------------

    @staticmethod
    def _wrapup(row) -> WrapUp:
        return WrapUp(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])

    async def start_wrapup(self, call_id: str, producer: str, now: float, due: float) -> WrapUp:
        """Idempotent: a wrap-up already started (or saved) is returned as it is."""
        def start(c) -> WrapUp:
            c.execute(self._sql("INSERT INTO wrapups SELECT ?, ?, ?, ?, 0, '', '', 0 WHERE NOT EXISTS "
                                "(SELECT 1 FROM wrapups WHERE call_id = ? AND producer = ?)"),
                      (call_id, producer, now, due, call_id, producer))
            return self._wrapup(c.execute(self._sql("SELECT * FROM wrapups WHERE call_id = ? AND producer = ?"),
                                          (call_id, producer)).fetchone())
        return await self._run(start)

    async def wrapup(self, call_id: str, producer: str) -> WrapUp | None:
        rows = await self._run(self._rows("SELECT * FROM wrapups WHERE call_id = ? AND producer = ?",
                                          (call_id, producer)))
        return self._wrapup(rows[0]) if rows else None

    async def open_wrapups(self) -> list[WrapUp]:
        rows = await self._run(self._rows("SELECT * FROM wrapups WHERE disposition = '' ORDER BY started"))
        return [self._wrapup(r) for r in rows]

    async def remind_wrapup(self, call_id: str, producer: str) -> None:
        await self._run(self._change("UPDATE wrapups SET reminded = 1 WHERE call_id = ? AND producer = ?",
                                     (call_id, producer)))

    async def save_wrapup(self, call_id: str, producer: str, by: str, disposition: str, now: float) -> WrapUp:
        """The first save wins; a second one (a double submit) changes nothing."""
        def save(c) -> WrapUp:
            c.execute(self._sql("UPDATE wrapups SET saved_by = ?, disposition = ?, saved = ? "
                                "WHERE call_id = ? AND producer = ? AND disposition = ''"),
                      (by, disposition, now, call_id, producer))
            return self._wrapup(c.execute(self._sql("SELECT * FROM wrapups WHERE call_id = ? AND producer = ?"),
                                          (call_id, producer)).fetchone())
        return await self._run(save)

    # --- call-backs -----------------------------------------------------------------------------

    @staticmethod
    def _callback(row) -> Callback:
        return Callback(row[0], row[1], row[2], row[3], row[4])

    async def add_callback(self, call_id: str, queue: str, now: float) -> None:
        await self._run(self._change("INSERT INTO callbacks SELECT ?, ?, ?, '', 0 WHERE NOT EXISTS "
                                     "(SELECT 1 FROM callbacks WHERE call_id = ?)", (call_id, queue, now, call_id)))

    async def open_callbacks(self) -> list[Callback]:
        rows = await self._run(self._rows("SELECT * FROM callbacks WHERE closed = 0 ORDER BY requested"))
        return [self._callback(r) for r in rows]

    async def callback(self, call_id: str) -> Callback | None:
        rows = await self._run(self._rows("SELECT * FROM callbacks WHERE call_id = ?", (call_id,)))
        return self._callback(rows[0]) if rows else None

    async def claim_callback(self, call_id: str, by: str) -> Callback | None:
        """The first claim wins; the claimer sees it again if they ask twice."""
        await self._run(self._change("UPDATE callbacks SET claimed_by = ? WHERE call_id = ? AND claimed_by = ''",
                                     (by, call_id)))
        return await self.callback(call_id)

    async def close_callback(self, call_id: str, by: str, now: float) -> Callback | None:
        await self._run(self._change("UPDATE callbacks SET closed = ? WHERE call_id = ? AND claimed_by = ? "
                                     "AND closed = 0", (now, call_id, by)))
        return await self.callback(call_id)
