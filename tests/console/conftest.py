"""The console on real SQLite files (its own, the CRM's, the event store's) in a test folder."""

from __future__ import annotations

import functools
import re
from datetime import date
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.console.auth import hash_password
from warmline.console.service import Console
from warmline.console.settings import ConsoleSettings
from warmline.console.store import Account, ConsoleStore, Role
from warmline.console.web import make_app
from warmline.crm.seed import seed_demo
from warmline.crm.sqlite import SqliteCrm
from warmline.nlu.taxonomy import INTENTS

PASSWORD = "correct horse battery"
ACCOUNTS = (Account("dana", Role.PRODUCER, "Dana Reyes"), Account("sam", Role.PRODUCER, "Sam Ortiz"),
            Account("sue", Role.SUPERVISOR, phone="PJSIP/2001"), Account("olive", Role.OWNER),
            Account("ada", Role.ADMIN))
QUEUES = ("claims", "licensed", "retention", "service")


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow by design: once per test run


class RecordingDesk:
    """DeskActions that remembers what the console asked of the PBX."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def pause_producer(self, producer, paused, reason):
        self.calls.append(("pause", producer, paused, reason))

    async def supervise(self, call_id, supervisor_endpoint, mode):
        self.calls.append(("supervise", call_id, supervisor_endpoint, str(mode)))

    async def take_over(self, call_id, supervisor, supervisor_endpoint):
        self.calls.append(("take_over", call_id, supervisor, supervisor_endpoint))


class Bench:
    """A console with its stores, as serve builds it, on files in tmp_path; reopenable (a restart)."""

    def __init__(self, tmp_path: Path, **settings) -> None:
        self.tmp = tmp_path
        self.settings = ConsoleSettings(enabled=True, database=str(tmp_path / "console.sqlite3"), **settings)
        self.crm_path = tmp_path / "crm.sqlite3"
        if not self.crm_path.exists():
            seed_demo(self.crm_path, date.today())
        self.console: Console | None = None

    async def open(self, clock=None) -> Console:
        store = ConsoleStore(Path(self.settings.database))
        if not store.accounts_now():
            for account in ACCOUNTS:
                store.add_account_now(account, password_hash())
        self.events = EventStore(self.tmp / "events.sqlite3", EVENT_KINDS)
        self.crm = await SqliteCrm.open(self.crm_path)
        kw = {"clock": clock} if clock else {}
        self.console = Console(self.settings, store, self.events, self.crm, producers=["Dana Reyes", "Sam Ortiz"],
                               queues_of={"Dana Reyes": {"licensed"}, "Sam Ortiz": {"licensed", "service"}}, **kw)
        await self.console.start()
        return self.console

    def app(self):
        return make_app(self.console, queues=QUEUES, intents=tuple(INTENTS))

    def feed(self, events) -> None:
        for event in events:
            self.events.record(event)
            self.console(event)

    async def close(self) -> None:
        if self.console is not None:
            await self.console.stop()
            self.console.store.close()
            await self.crm.close()
            self.events.close()
            self.console = None


@pytest.fixture
async def bench(tmp_path):
    b = Bench(tmp_path)
    await b.open()
    yield b
    await b.close()


@pytest.fixture
async def client(bench):
    async with TestClient(TestServer(bench.app())) as c:
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Logs in; returns the session's CSRF token."""
    page = await client.get("/login")
    resp = await client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(await page.text()),
                                             "next": "/"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    home = await client.get("/")
    return csrf_of(await home.text())
