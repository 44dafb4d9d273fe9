"""AMI over panoramisk: the login check, and serve's long-lived link (queue pauses, queue events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message
from warmline.ari_app.settings import AmiSettings
from warmline.errors import PbxError

log = logging.getLogger(__name__)


class AmiError(PbxError):
    """AMI refused or failed."""


class _GuardedProtocol(AMIProtocol):
    """panoramisk parses AMI inside data_received, where an exception (a header given twice where
    it wants one, e.g. two ActionIDs) is logged by asyncio as a traceback and the connection
    dropped. Here the connection is dropped too, and what went wrong is handed to the waiting
    check as one line."""

    def data_received(self, data: bytes) -> None:
        try:
            super().data_received(data)
        except Exception as exc:
            unreadable: asyncio.Future[str] = self.factory.unreadable
            if not unreadable.done():
                unreadable.set_result(f"{type(exc).__name__}: {exc}")
            self.transport.close()


async def ami_login_check(settings: AmiSettings, timeout: float = 5.0) -> str:
    """Log in and ping once. Returns a short description or raises AmiError."""
    manager = Manager(
        loop=asyncio.get_running_loop(), host=settings.host, port=settings.port,
        username=settings.username, secret=settings.password.get_secret_value(),
        # A one-shot check: panoramisk must not ping or reconnect behind our back.
        ping_delay=_NEVER_S, reconnect_timeout=_NEVER_S, protocol_factory=_GuardedProtocol,
    )
    manager.unreadable = asyncio.get_running_loop().create_future()
    where = f"{settings.host}:{settings.port}"
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout)
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"AMI unreachable at {where} ({type(exc).__name__}): "
                           "check ami.host/ami.port and that manager.conf is enabled") from None
        await asyncio.sleep(0)  # let panoramisk send the Login it queues on connect
        login = manager.authenticated_future
        # panoramisk's own callback on it (pinger, on_login) is not wanted in a one-shot check
        login.remove_done_callback(manager.login)
        reply = await _reply(manager, login, timeout, where)
        if not reply.success:
            raise AmiError(f"AMI at {where} rejected the login for user {settings.username!r}: "
                           "check ami.username/ami.password against manager.conf")
        pong = await _reply(manager, manager.send_action({"Action": "Ping"}), timeout, where)
        if not pong.success:
            reason = " ".join(str(pong.get("Message", "no reason given")).split())
            raise AmiError(f"AMI ping at {where} failed: {reason}")
        return f"logged in to {where} as {settings.username}"
    except TimeoutError:
        raise AmiError(f"AMI at {where} did not answer in {timeout:.0f} s") from None
    finally:
        manager.close()


async def _reply(manager: Manager, action: asyncio.Future, timeout: float, where: str) -> Any:
    """An action's reply, or AmiError if AMI sent what cannot be read. asyncio.wait, not
    wait_for: panoramisk's futures must not be cancelled."""
    done, _ = await asyncio.wait((action, manager.unreadable), timeout=timeout,
                                 return_when=asyncio.FIRST_COMPLETED)
    if manager.unreadable in done:
        raise AmiError(f"AMI at {where} sent a message that cannot be read ({manager.unreadable.result()}): "
                       "check that ami.host/ami.port is Asterisk's manager interface")
    if action not in done:
        raise TimeoutError
    return action.result()


_NEVER_S = 86400


AmiEvent = Callable[[Message], None]


class _Manager(Manager):
    """panoramisk's manager, which reconnects (and logs in again) by itself, but must stop doing so
    once closed: a reconnect it had already scheduled would open a connection nobody closes."""

    closing = False

    def connect(self, *args, **kwargs):
        if self.closing:
            return None
        return super().connect(*args, **kwargs)


class AmiLink:
    """One AMI login for as long as serve runs: actions the desk sends, events it maps (the calls
    that left Stasis for the dialplan's queues are seen only here)."""

    def __init__(self, settings: AmiSettings, events: dict[str, AmiEvent], timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.where = f"{settings.host}:{settings.port}"
        self.logged_in = asyncio.Event()
        self._manager: _Manager | None = None
        self._events = events

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        manager = self._manager = _Manager(
            loop=asyncio.get_running_loop(), host=s.host, port=s.port, username=s.username,
            secret=s.password.get_secret_value(), ping_delay=10, ping_interval=10, reconnect_timeout=2,
            on_login=lambda _m: self._on_login(), on_disconnect=lambda _m, _exc: self._on_disconnect(),
            log=logging.getLogger("panoramisk"))
        for name, handle in self._events.items():
            manager.register_event(name, lambda _m, message, handle=handle: self._dispatch(handle, message))
        manager.connect()
        try:
            await stop.wait()
        finally:
            manager.closing = True
            self.logged_in.clear()
            manager.close()

    def _on_login(self) -> None:
        log.info("logged in to AMI", extra={"ami": self.where})
        self.logged_in.set()

    def _on_disconnect(self) -> None:
        if self.logged_in.is_set():
            log.warning("lost the AMI connection at %s; reconnecting", self.where)
        self.logged_in.clear()

    @staticmethod
    def _dispatch(handle: AmiEvent, message: Message) -> None:
        try:
            handle(message)
        except Exception:  # one odd event must not stop the others
            log.exception("could not handle an AMI %s event", message.get("Event"))

    async def send(self, action: dict[str, str]) -> Message:
        """One action's reply (success or not: the caller reads it); AmiError when AMI is out of reach."""
        manager = self._manager
        if manager is None or not self.logged_in.is_set() or manager.protocol is None:
            raise AmiError(f"AMI at {self.where} is not connected: check [ami] and that Asterisk runs")
        reply = manager.send_action(dict(action))
        done, _ = await asyncio.wait({reply}, timeout=self.timeout)  # panoramisk's futures: never cancelled
        if not done:
            raise AmiError(f"AMI at {self.where} did not answer {action.get('Action')} in {self.timeout:.0f} s")
        return reply.result()


def one_line(value: str, limit: int = 80) -> str:
    """A value safe in an AMI header: one line, printable ASCII (no header can be smuggled in)."""
    return "".join(ch for ch in value if 32 <= ord(ch) < 127)[:limit]
