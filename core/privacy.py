"""Keep personal data out of logs, and away from other users at rest."""

import os
from pathlib import Path


def mask_number(number: str | None) -> str:
    """A phone number as its last two digits: enough to tell calls apart in a log, not to identify anyone."""
    digits = "".join(ch for ch in (number or "") if ch.isdigit())
    return f"…{digits[-2:]}" if len(digits) > 2 else "…"


def private_file(path: Path, *, create_folder: bool = True) -> None:
    """A file that will hold personal data (an SQLite database): owner-only (0600), and so are the
    -wal/-shm files SQLite makes beside it (it gives them the database's mode); a folder created
    for it is 0700. Call before opening the database."""
    if create_folder and not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists() and each.stat().st_mode & 0o077:
            os.chmod(each, 0o600)
