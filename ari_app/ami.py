"""AMI over panoramisk: login check now; screen-pop events and device state build on it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
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
