"""Asterisk's device states and AstDB Do Not Disturb, read into the engine's neutral Availability."""

import pytest
from warmline.ari_app.presence import availability, state_device
from warmline.handoff.routing import Availability, Producer


@pytest.mark.parametrize("device_state,expected", [
    ("NOT_INUSE", Availability.FREE),
    ("UNKNOWN", Availability.UNKNOWN),  # Asterisk cannot tell (Local channels): worth a try
    ("INUSE", Availability.BUSY), ("BUSY", Availability.BUSY), ("RINGING", Availability.BUSY),
    ("RINGINUSE", Availability.BUSY), ("ONHOLD", Availability.BUSY),
    ("UNAVAILABLE", Availability.OFFLINE), ("INVALID", Availability.OFFLINE),
    ("SOMETHING_NEW", Availability.BUSY),  # a state this code does not know: do not ring blind
])
def test_device_state(device_state, expected):
    assert availability(device_state, dnd=False) is expected
    assert availability(device_state, dnd=True) is Availability.DND  # Do Not Disturb always wins


@pytest.mark.parametrize("endpoint,device,expected", [
    ("PJSIP/1001", "", "PJSIP/1001"),
    ("PJSIP/alice@desk-1001", "", "PJSIP/desk-1001"),  # PJSIP/user@endpoint: the endpoint has the state
    ("PJSIP/1001/sip:1001@10.0.0.5", "", "PJSIP/1001"),  # an explicit contact: still the endpoint
    ("SIP/1001@pbx-2", "", "SIP/1001"),
    ("Local/1001@producers", "", None),  # a Local channel: Asterisk cannot say, so nobody asks
    ("Local/1001@producers", "PJSIP/1001", "PJSIP/1001"),  # unless the device is configured
    ("PJSIP/1001", "Custom:dana", "Custom:dana"),
])
def test_state_device(endpoint, device, expected):
    producer = Producer(name="dana", endpoint=endpoint, queues=("service",), device=device)
    assert state_device(producer) == expected
