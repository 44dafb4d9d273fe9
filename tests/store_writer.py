"""A process that writes events as fast as it can and prints each batch the store acknowledges,
for the tests that kill a writer mid-call (SQLite in tests/unit, PostgreSQL in tests/postgres).

    python -m tests.store_writer sqlite PATH
    python -m tests.store_writer postgres URL KEY_FILE
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def killed_after(args: list[str], acknowledged: int) -> list[str]:
    """Run the writer until it has acknowledged this many events, kill -9 it, return what it acknowledged."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.store_writer", *args], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    acked: list[str] = []
    try:
        while len(acked) < acknowledged:
            line = proc.stdout.readline()
            assert line, f"the writer died early (exit {proc.poll()})"
            acked.extend(line.split())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return acked


def main(kind: str, *where: str) -> None:
    from warmline.calls.events import PromptStarted
    from warmline.calls.store import EventStore, Postgres
    from warmline.catalog import EVENT_KINDS

    def acknowledged(events) -> None:
        print(" ".join(e.prompt for e in events), flush=True)

    database = Path(where[0]) if kind == "sqlite" else Postgres(where[0])
    key = Path(where[1]) if len(where) > 1 else None
    store = EventStore(database, EVENT_KINDS, key_file=key, on_commit=acknowledged)
    for i in range(10**9):
        store.record(PromptStarted(call_id=f"c{i % 5}", prompt=f"p{i}"))
        if i % 50 == 0:
            time.sleep(0.001)


if __name__ == "__main__":
    main(*sys.argv[1:])
