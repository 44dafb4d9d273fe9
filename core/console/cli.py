"""`warmline console user add|list|remove`: the console's accounts, from the command line."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from warmline.console.auth import hash_password
from warmline.console.store import Account, ConsoleError, ConsoleStore, Role


def read_password(name: str) -> str:
    """Typed twice at a terminal; the first line of stdin otherwise (scripts, provisioning)."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ConsoleError("no password on standard input: pipe it in, or run at a terminal to be asked")
        return password
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise ConsoleError("the two passwords differ; run the command again")
    return first


def user_command(database: str, action: str, name: str | None, role: str | None, producer: str,
                 phone: str) -> int:
    store = ConsoleStore(Path(database).expanduser())
    try:
        if action == "list":
            for account in store.accounts_now():
                print(f"{account.name}\t{account.role}\t{account.producer}\t{account.phone}")
            return 0
        if not name:
            raise ConsoleError(f"`warmline console user {action}` needs the account NAME")
        if action == "remove":
            if not store.remove_account_now(name):
                raise ConsoleError(f"no account {name!r}; `warmline console user list` shows them")
            print(f"account {name} removed (and logged out)")
            return 0
        account = _account(name, role, producer, phone)
        store.add_account_now(account, hash_password(read_password(name)))
        print(f"account {name} added ({account.role}{', producer ' + producer if producer else ''})")
        return 0
    finally:
        store.close()


def _account(name: str, role: str | None, producer: str, phone: str) -> Account:
    try:
        chosen = Role(role or "")
    except ValueError:
        raise ConsoleError(f"--role {role!r}: choose one of {', '.join(r.value for r in Role)}") from None
    if chosen == Role.PRODUCER and not producer:
        raise ConsoleError("a producer account needs --producer \"NAME\" as [handoff] producers spell it, "
                           "e.g. --producer \"Dana Reyes\"")
    if phone and "/" not in phone:
        raise ConsoleError(f"--phone {phone!r} is not a dialable endpoint: write it like PJSIP/2001")
    return Account(name=name, role=chosen, producer=producer, phone=phone)
