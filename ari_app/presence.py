"""Producers' availability as Asterisk reports it (device state, AstDB Do Not Disturb), read into the
engine's neutral `Availability`."""

from __future__ import annotations

from warmline.handoff.routing import Availability, Producer

_DEVICE_STATES = {
    "NOT_INUSE": Availability.FREE,
    "UNKNOWN": Availability.UNKNOWN,  # Asterisk cannot tell (e.g. Local channels): worth a try
    "INUSE": Availability.BUSY,
    "BUSY": Availability.BUSY,
    "RINGING": Availability.BUSY,
    "RINGINUSE": Availability.BUSY,
    "ONHOLD": Availability.BUSY,
    "UNAVAILABLE": Availability.OFFLINE,
    "INVALID": Availability.OFFLINE,
}


def availability(device_state: str, dnd: bool) -> Availability:
    """Do Not Disturb wins; a state Asterisk may add later counts as busy (do not ring blind)."""
    if dnd:
        return Availability.DND
    return _DEVICE_STATES.get(device_state, Availability.BUSY)


def state_device(producer: Producer) -> str | None:
    """The device whose DEVICE_STATE tells if they are free; None when Asterisk cannot know."""
    if producer.device:
        return producer.device
    tech, resource = producer.endpoint.split("/", 1)
    if tech.lower() == "local":
        return None  # a Local channel's state is that of whatever it dials: unknown here
    if tech.upper() == "PJSIP":  # PJSIP/[user@]endpoint[/contact]: the state is the endpoint's
        return f"{tech}/{resource.split('/', 1)[0].rsplit('@', 1)[-1]}"
    return f"{tech}/{resource.split('@', 1)[0]}"
