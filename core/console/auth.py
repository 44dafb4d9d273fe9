"""Passwords (argon2id) and the login rate limit (sans-IO: the clock is passed in)."""

from __future__ import annotations

import asyncio
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from warmline.console.store import ConsoleError

MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# verified when the account does not exist, so a wrong name takes as long as a wrong password
_DUMMY = _hasher.hash("warmline-console-no-such-account")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConsoleError(f"the password is too short: give at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Blocking (tens of ms by design): call it through verify_password on the event loop."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(check_password, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class LoginLimiter:
    """At most `attempts` failed logins per account name and per client address in `window_s`.

    Both keys count: guessing one account's password from many addresses is stopped by the name,
    trying many names from one address by the address."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, keys: tuple[str, ...], now: float) -> float:
        """0 when a login may be tried now; otherwise the seconds until it may."""
        waits = [self.window_s - (now - times[0]) for key in keys
                 if len(times := self._recent(key, now)) >= self.attempts]
        return max(waits, default=0.0)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        self._failures.pop(keys[0], None)  # the account's count; the address keeps its own
