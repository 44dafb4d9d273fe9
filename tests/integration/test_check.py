"""`warmline check` against the sandbox: all green, and each broken item named on one line."""

import os
import socket
import subprocess
import sys


def run_check(config: str, **env: str) -> tuple[int, list[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WARMLINE_")} | env
    done = subprocess.run([sys.executable, "-m", "warmline.cli", "check", "-c", config],
                          capture_output=True, text=True, timeout=60, env=environment)
    assert "Traceback" not in done.stdout + done.stderr
    return done.returncode, done.stdout.splitlines()


def verdicts(lines: list[str]) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in lines}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_all_green_against_the_sandbox(sandbox):
    code, lines = run_check(sandbox.state["config"])
    assert code == 0, lines
    assert verdicts(lines) == {"config": "ok", "ari": "ok", "stasis-app": "ok", "ami": "ok",
                               "vad-model": "ok", "stt-model": "ok", "prompts": "ok", "intent": "ok",
                               "flows": "ok", "crm": "ok"}
    assert any("Asterisk 22." in line for line in lines)


def test_wrong_ari_password_is_named(sandbox):
    code, lines = run_check(sandbox.state["config"], WARMLINE_ARI__PASSWORD="not-the-password")
    assert code == 1
    assert verdicts(lines)["ari"] == "FAIL" and verdicts(lines)["ami"] == "ok"
    [ari_line] = [line for line in lines if line.split()[1] == "ari"]
    assert "ari.username/ari.password" in ari_line
    assert "not-the-password" not in "\n".join(lines)


def test_wrong_ami_secret_is_named(sandbox):
    code, lines = run_check(sandbox.state["config"], WARMLINE_AMI__PASSWORD="nope")
    assert code == 1
    assert verdicts(lines) == {"config": "ok", "ari": "ok", "stasis-app": "ok", "ami": "FAIL",
                               "vad-model": "ok", "stt-model": "ok", "prompts": "ok", "intent": "ok",
                               "flows": "ok", "crm": "ok"}
    assert "ami.username/ami.password" in lines[3]


def test_asterisk_down_is_named(sandbox):
    code, lines = run_check(sandbox.state["config"], WARMLINE_ARI__URL=f"http://127.0.0.1:{free_port()}",
                            WARMLINE_AMI__PORT=str(free_port()))
    assert code == 1
    assert verdicts(lines) == {"config": "ok", "ari": "FAIL", "stasis-app": "FAIL", "ami": "FAIL",
                               "vad-model": "ok", "stt-model": "ok", "prompts": "ok", "intent": "ok",
                               "flows": "ok", "crm": "ok"}
    assert "unreachable" in lines[1] and "is it running?" in lines[1]
    assert "AMI unreachable" in lines[3]
