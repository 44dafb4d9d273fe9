"""AMI over panoramisk: login check now; screen-pop events and device state build on it."""

from __future__ import annotations

import asyncio
import logging

from panoramisk import Manager
from warmline.ari_app.settings import AmiSettings
from warmline.errors import PbxError

log = logging.getLogger(__name__)


class AmiError(PbxError):
    """AMI refused or failed."""


async def ami_login_check(settings: AmiSettings, timeout: float = 5.0) -> str:
    """Log in and ping once. Returns a short description or raises AmiError."""
    manager = Manager(
        loop=asyncio.get_running_loop(), host=settings.host, port=settings.port,
        username=settings.username, secret=settings.password.get_secret_value(),
        # A one-shot check: panoramisk must not ping or reconnect behind our back.
        ping_delay=_NEVER_S, reconnect_timeout=_NEVER_S,
    )
    where = f"{settings.host}:{settings.port}"
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout)
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"AMI unreachable at {where} ({type(exc).__name__}): "
                           "check ami.host/ami.port and that manager.conf is enabled") from None
        await asyncio.sleep(0)  # let panoramisk send the Login it queues on connect
        # shielded: on a timeout wait_for would cancel the future, and panoramisk's own callback
        # on it (Manager.login) would then fail and be logged as a traceback
        reply = await asyncio.wait_for(asyncio.shield(manager.authenticated_future), timeout)
        if not reply.success:
            raise AmiError(f"AMI at {where} rejected the login for user {settings.username!r}: "
                           "check ami.username/ami.password against manager.conf")
        pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), timeout)
        if not pong.success:
            raise AmiError(f"AMI ping at {where} failed: {pong.get('Message', 'no reason given')}")
        return f"logged in to {where} as {settings.username}"
    except TimeoutError:
        raise AmiError(f"AMI at {where} did not answer in {timeout:.0f} s") from None
    finally:
        manager.close()


_NEVER_S = 86400
