"""`warmline demo --console`: the demo agency's calls with the producer console up beside them.

Each demo producer and a supervisor and an owner get an account with a password made for this run
(printed once, never stored in clear); the console listens on 127.0.0.1 only and stays up after
the calls until Ctrl-C, with a few weeks of demo history seeded so the weekly review has numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

from warmline.calls.store import EventStore
from warmline.console.auth import hash_password
from warmline.console.server import running_console
from warmline.console.store import Account, ConsoleStore, Role
from warmline.errors import ConfigError

SUPERVISOR_PHONE = "PJSIP/silent@producer-phones"  # a sandbox desk phone that answers and stays on
HISTORY_WEEKS = 6


def console_settings(settings, instance_dir: Path, listen: str):
    host = listen.rpartition(":")[0].strip("[]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"--console {listen}: the demo console listens on this machine only; "
                          "use 127.0.0.1:PORT")
    console = settings.console.model_copy(update={"enabled": True, "listen": listen,
                                                  "database": str(instance_dir / "console.sqlite3")})
    return settings.model_copy(update={"console": console})


def demo_accounts(settings) -> list[Account]:
    producers = [Account(p.name.split()[0].lower(), Role.PRODUCER, p.name) for p in settings.handoff.producers]
    return [*producers, Account("pat", Role.SUPERVISOR, phone=SUPERVISOR_PHONE), Account("olive", Role.OWNER)]


def create_accounts(database: Path, accounts: list[Account]) -> str:
    """The accounts, all with one password made now (returned to print); earlier demo accounts go."""
    password = secrets.token_urlsafe(9)
    store = ConsoleStore(database)
    try:
        for account in store.accounts_now():
            store.remove_account_now(account.name)
        digest = hash_password(password)
        for account in accounts:
            store.add_account_now(account, digest)
    finally:
        store.close()
    return password


def seed_history(store: EventStore) -> int:
    from warmline.numbers.demo import seed
    from warmline.numbers.history import Week

    return seed(store, Week.of(date.today()), HISTORY_WEEKS)


@contextlib.asynccontextmanager
async def demo_console(settings, store: EventStore) -> AsyncIterator[object]:
    """The console as serve runs it, with the demo's accounts; prints how to log in."""
    accounts = demo_accounts(settings)
    password = await asyncio.to_thread(create_accounts, Path(settings.console.database), accounts)
    await asyncio.to_thread(seed_history, store)
    async with running_console(settings, store) as console:
        print(f"Producer console on http://{settings.console.listen}/  (password for every account this run: "
              f"{password})")
        for account in accounts:
            seen = f"producer {account.producer}" if account.producer else account.role.value
            print(f"  {account.name:<6} {seen}")
        yield console
