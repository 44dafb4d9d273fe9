"""A real PostgreSQL server for the shared event store's tests: Debian's postgresql, a throwaway
cluster in a temporary folder, on 127.0.0.1 and a free port, password authentication.

Where it cannot run (not root, no postgresql), the tests are skipped with the reason; under CI
(CI=true) that is a failure instead."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the PostgreSQL tests start a server as the postgres user: run them as root"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "Debian's postgresql is not installed (scripts/bootstrap installs it as root)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, text=True)


@dataclass
class Server:
    url: str
    bin_dir: Path
    data: Path
    home: Path
    port: int

    def start(self) -> None:
        _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "log"), "-w", "-o",
                     f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.home}", "start")

    def stop(self) -> None:
        _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture(scope="session")
def postgres() -> Server:
    reason = _why_not()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    bin_dir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    home = Path(tempfile.mkdtemp(prefix="warmline-pg-"))  # not under pytest's root-only folders
    shutil.chown(home, "postgres")
    data, password, port = home / "data", secrets.token_urlsafe(16), _free_port()
    (home / "pw").write_text(password)
    shutil.chown(home / "pw", "postgres")
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-U", "warmline", "--auth=scram-sha-256",
                 f"--pwfile={home / 'pw'}")
    server = Server(f"postgresql://warmline:{password}@127.0.0.1:{port}/postgres", bin_dir, data, home, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
