"""The sandbox itself: two side by side, separate ports and credentials, clean teardown."""

import os
import socket

from .conftest import start_sandbox, stop_sandbox


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_second_sandbox_runs_beside_the_first_and_leaves_nothing(sandbox):
    second = start_sandbox(f"test-{os.getpid()}-second")
    try:
        a, b = sandbox.state, second.state
        assert a["asterisk_version"].split(".")[:2] >= ["22", "10"]
        assert {a["ari_url"], a["ami_port"], a["sip_port"]}.isdisjoint({b["ari_url"], b["ami_port"], b["sip_port"]})
        assert a["ari_password"] != b["ari_password"] and a["ami_password"] != b["ami_password"]
        assert a["ari_url"].startswith("http://127.0.0.1:") and b["ari_url"].startswith("http://127.0.0.1:")
        assert port_open(b["ami_port"])
        assert oct(os.stat(b["config"]).st_mode & 0o777) == "0o600"
    finally:
        stop_sandbox(second)
    assert not second.pid_alive()
    assert not port_open(second.state["ami_port"])
    assert sandbox.pid_alive() and port_open(a["ami_port"]), "stopping one sandbox hurt the other"
