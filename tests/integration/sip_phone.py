"""A real SIP caller for the integration tests: SIPp (Debian's sip-tester) as the caller's phone.

Each `SipPhone` is one SIPp process placing one call, over UDP from the sandbox's `sip_caller`
port (the endpoint pjsip_local.conf identifies by address and port, with digest auth), to the
sandbox's own SIP port: a real INVITE, a 401 challenge answered, SDP offering only G.711 μ-law
(PCMU) or only A-law (PCMA), RTP both ways, digits as SIP INFO, BYE from either side.

SIPp plays a scenario written here for the call. What it says is fixed when the scenario is
written (the phrases of the script, synthesised by flite at 8 kHz and encoded to the call's law
by sox), but *when* it says them is the test's: the scenario waits on SIPp's 3PCC control
socket, which this module serves. The phone reports `answered`, then `ready` after each thing it
did, and at the end `bye` (the PBX hung up), `hungup` (it did) or `refused` (its INVITE got no
200); the test sends `say N`, `keys N` or `hangup`. Between phrases the phone streams silence,
as a real phone does, so the PBX and Warmline always hear a continuous stream. (What the PBX
sends back reaches SIPp's media port and is not listened to.)

Control messages are SIP-like text blocks carrying the call's Call-ID, ended by ESC (0x1b), as
SIPp's twin-socket protocol has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import wave
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from warmline.calls.events import CallEnded, CallEvent, CallStarted, PromptEnded, PromptStarted
from warmline.speech.tts import synthesize

CODECS = {"PCMU": (0, "mu-law", b"\xff"), "PCMA": (8, "a-law", b"\xd5")}  # payload type, sox encoding, silence
FRAME = 160  # bytes of G.711 in one 20 ms RTP packet
ESC = b"\x1b"


def why_no_sipp() -> str | None:
    if shutil.which("sipp") is None:
        return "SIPp is not installed (apt-get install sip-tester; scripts/bootstrap does)"
    return None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Phrase:
    text: str
    slow: bool = False  # spoken at 0.6× tempo: a slow talker

    @staticmethod
    def parse(answer: str) -> "Phrase":
        return Phrase(answer.removeprefix("slow:"), slow=answer.startswith("slow:"))


@dataclass
class Rendered:
    path: Path
    seconds: float


def render(phrase: Phrase, codec: str, folder: Path, index: int) -> Rendered:
    """The phrase as raw G.711 in whole 20 ms packets, ending in 0.4 s of silence."""
    _, encoding, silence = CODECS[codec]
    wav = folder / f"say{index}.wav"
    synthesize(phrase.text, wav, rate=8000)
    raw = folder / f"say{index}.{codec.lower()}"
    effects = ["tempo", "-s", "0.6"] if phrase.slow else []
    done = subprocess.run(["sox", str(wav), "-t", "raw", "-r", "8000", "-c", "1", "-e", encoding, str(raw), *effects],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"sox could not encode {wav} as {encoding}: {done.stderr.strip()}")
    data = raw.read_bytes() + silence * 3200
    data += silence * (-len(data) % FRAME)
    raw.write_bytes(data)
    return Rendered(raw, len(data) / 8000)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


# --- the scenario ---------------------------------------------------------------------------------

def _request(method: str, *, uri: str = "[next_url]", body: str = "", content_type: str = "",
             extra: str = "") -> str:
    headers = [
        f"{method} {uri} SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        'From: "SIP Caller" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]',
        "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]",
        "Call-ID: [call_id]",
        f"CSeq: [cseq] {method}",
        "Contact: <sip:[$caller]@[local_ip]:[local_port]>",
        "Max-Forwards: 70",
        "User-Agent: Warmline test phone (SIPp)",
    ]
    if extra:
        headers.append(extra)
    if content_type:
        headers.append(f"Content-Type: {content_type}")
    headers.append("Content-Length: [len]")
    return "\n".join(headers) + "\n\n" + body


def _cdata(text: str) -> str:
    return "<![CDATA[\n" + text + "\n]]>"


def _cmd(event: str) -> str:
    body = _cdata("Call-ID: [call_id]\nEvent: " + event + "\n")
    return f"  <sendCmd>{body}</sendCmd>\n"


def _then_wait(event: str) -> str:
    """Report `event` at the wait point: the report goes out just before the recvCmd, so a
    command the test sends in answer always finds the scenario waiting for it."""
    return (f'  <nop><action><assignstr assign_to="last" value="{event}"/></action></nop>\n'
            '  <nop next="wait"/>\n')


def scenario(codec: str, caller: str, phrases: list[Rendered], keys: list[str], silence: Path) -> str:
    """SIPp's XML for one call: invite (answering the digest challenge), then serve commands."""
    pt, _, _ = CODECS[codec]
    sdp = "\n".join([
        "v=0", "o=sipp 1 1 IN IP[local_ip_type] [local_ip]", "s=Warmline test phone",
        "c=IN IP[media_ip_type] [media_ip]", "t=0 0", f"m=audio [media_port] RTP/AVP {pt}",
        f"a=rtpmap:{pt} {codec}/8000", "a=ptime:20", "a=sendrecv", "",
    ])
    invite_uri = "sip:[service]@[remote_ip]:[remote_port]"
    first_to = "To: <sip:[service]@[remote_ip]:[remote_port]>"
    invite = _request("INVITE", uri=invite_uri, body=sdp, content_type="application/sdp").replace(
        first_to + "[peer_tag_param]", first_to)
    authed = _request("INVITE", uri=invite_uri, body=sdp, content_type="application/sdp",
                      extra="[authentication]").replace(first_to + "[peer_tag_param]", first_to)
    ack_401 = "\n".join([
        f"ACK {invite_uri} SIP/2.0", "[last_Via:]", "[last_From:]", "[last_To:]", "Call-ID: [call_id]",
        "CSeq: [cseq] ACK", "Max-Forwards: 70", "Content-Length: 0", "",
    ])
    ack = _request("ACK", extra="[routes]")
    bye = _request("BYE", extra="[routes]")
    ok = "\n".join(["SIP/2.0 200 OK", "[last_Via:]", "[last_From:]", "[last_To:]", "[last_Call-ID:]",
                    "[last_CSeq:]", "Contact: <sip:[$caller]@[local_ip]:[local_port]>", "Content-Length: 0", ""])
    silence_loop = f'  <nop><action><exec rtp_stream="{silence},-1,{pt}"/></action></nop>\n'

    xml = ['<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="warmline test phone">\n',
           f'  <nop><action><assignstr assign_to="caller" value="{escape(caller)}"/></action></nop>\n',
           f'  <send retrans="500">{_cdata(invite)}</send>\n',
           '  <recv response="100" optional="true"/>\n',
           '  <recv response="401" auth="true"/>\n',
           f'  <send>{_cdata(ack_401)}</send>\n',
           f'  <send retrans="500">{_cdata(authed)}</send>\n',
           '  <recv response="100" optional="true"/>\n',
           '  <recv response="180" optional="true"/>\n',
           '  <recv response="183" optional="true"/>\n',
           # challenged again, or forbidden: this phone is not let in
           '  <recv response="401" optional="true" next="refused"/>\n',
           '  <recv response="403" optional="true" next="refused"/>\n',
           '  <recv response="200" rrs="true"/>\n',
           f'  <send>{_cdata(ack)}</send>\n',
           silence_loop,
           _then_wait("answered"),
           # the dispatcher: report, wait for the test's command, then jump to its block
           '  <label id="wait"/>\n',
           _cmd("[$last]"),
           '  <recvCmd><action><ereg regexp="Do: [a-z0-9]+" search_in="msg" assign_to="do"/></action></recvCmd>\n']
    blocks = [("hangup", "hangup")] + [(f"say{i}", f"say{i}") for i in range(len(phrases))] + \
        [(f"keys{i}", f"keys{i}") for i in range(len(keys))]
    for command, label in blocks:
        xml.append(f'  <nop><action><strcmp assign_to="cmp" variable="do" value="Do: {command}"/>'
                   f'<test assign_to="hit" variable="cmp" compare="equal" value="0"/></action></nop>\n')
        xml.append(f'  <nop test="hit" next="{label}"/>\n')
    xml.append(_then_wait("unknown"))
    for i, said in enumerate(phrases):
        xml.append(f'  <label id="say{i}"/>\n')
        xml.append(f'  <nop><action><exec rtp_stream="{said.path},1,{pt}"/></action></nop>\n')
        xml.append(f'  <pause milliseconds="{round(said.seconds * 1000)}"/>\n')
        xml.append(silence_loop)
        xml.append(_then_wait(f"ready say{i}"))
    for i, digits in enumerate(keys):
        xml.append(f'  <label id="keys{i}"/>\n')
        for digit in digits:
            info = _request("INFO", body=f"Signal={digit}\nDuration=120\n", content_type="application/dtmf-relay",
                            extra="[routes]")
            xml.append(f'  <send retrans="500">{_cdata(info)}</send>\n')
            xml.append('  <recv response="200"/>\n')
            xml.append('  <pause milliseconds="200"/>\n')
        xml.append(_then_wait(f"ready keys{i}"))
    xml.append('  <label id="refused"/>\n')
    xml.append(f'  <send>{_cdata(ack_401)}</send>\n')
    xml.append(_cmd("refused"))
    xml.append('  <nop next="end"/>\n')
    xml.append('  <label id="hangup"/>\n')
    xml.append('  <nop><action><exec rtp_stream="pause"/></action></nop>\n')
    xml.append(f'  <send retrans="500">{_cdata(bye)}</send>\n')
    xml.append('  <recv response="200" crlf="true"/>\n')
    xml.append(_cmd("hungup"))
    xml.append('  <nop next="end"/>\n')
    # anything the scenario did not wait for: the PBX hanging up (BYE), answered, then reported
    xml.append('  <label id="_unexp.main"/>\n')
    xml.append('  <recv request="BYE"/>\n')
    xml.append('  <nop><action><exec rtp_stream="pause"/></action></nop>\n')
    xml.append(f'  <send>{_cdata(ok)}</send>\n')
    xml.append(_cmd("bye"))
    xml.append('  <label id="end"/>\n')
    xml.append('  <timewait milliseconds="200"/>\n')
    xml.append("</scenario>\n")
    return "".join(xml)


# --- the phone ------------------------------------------------------------------------------------

@dataclass
class PhoneLog:
    events: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SipPhone:
    """One SIPp call to the sandbox. Use as a Warmline journal listener too (it learns its
    caller channel's id from CallStarted), then `async with` it to place the call.

        phone = SipPhone(sandbox.state, tmp_path, codec="PCMA", says=[...], keys=[...])
        async with running_app(settings, factory, [journals, phone]), phone:
            await phone.answered()
            await phone.say("What's my balance?")
    """

    def __init__(self, state: dict, folder: Path, *, codec: str = "PCMU", says: Iterable[str] = (),
                 keys: Iterable[str] = (), caller_number: str | None = None, from_port: int | None = None,
                 password: str | None = None) -> None:
        """from_port and password: only to prove the PBX refuses a phone that is not the caller's."""
        if codec not in CODECS:
            raise ValueError(f"codec {codec!r}: use PCMU or PCMA")
        self.state, self.codec = state, codec
        self.folder = folder / f"sip-phone-{codec.lower()}-{os.getpid()}-{random.randrange(10**6)}"
        self.says = list(dict.fromkeys(says))
        self.keys_list = list(dict.fromkeys(keys))
        self.caller_number = caller_number or f"617555{random.randrange(10**4):04d}"
        self.from_port, self.password = from_port, password
        self.channel_id: str | None = None
        self.sip_call_id: str | None = None
        self.log = PhoneLog()
        self.events: list[CallEvent] = []  # this call's journal, as Warmline wrote it
        self._known = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self.returncode: int | None = None

    # journal listener
    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, CallStarted) and event.caller_number == self.caller_number:
            self.channel_id = event.channel_id
            self._call_id = event.call_id
            self._known.set()
        if self._known.is_set() and event.call_id == self._call_id:
            self.events.append(event)

    async def __aenter__(self) -> "SipPhone":
        self.folder.mkdir(parents=True)
        silence = self.folder / f"silence.{self.codec.lower()}"
        silence.write_bytes(CODECS[self.codec][2] * 8000)
        rendered = [await asyncio.to_thread(render, Phrase.parse(text), self.codec, self.folder, i)
                    for i, text in enumerate(self.says)]
        caller = self.state["sip_caller"]
        xml = self.folder / "call.xml"
        xml.write_text(scenario(self.codec, self.caller_number, rendered, self.keys_list, silence))
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        twin_port = self._server.sockets[0].getsockname()[1]
        cmd = ["sipp", f"127.0.0.1:{self.state['sip_port']}", "-sf", str(xml), "-m", "1", "-nostdin",
               "-i", caller["host"], "-p", str(self.from_port or caller["port"]), "-t", "u1",
               "-mi", "127.0.0.1", "-mp", str(free_udp_port()),
               "-s", caller["extension"], "-au", caller["username"], "-ap", self.password or caller["password"],
               "-3pcc", f"127.0.0.1:{twin_port}", "-timeout", "300s", "-timeout_error",
               "-trace_err", "-error_file", str(self.folder / "errors.log"),
               "-trace_msg", "-message_file", str(self.folder / "messages.log"),
               "-trace_screen", "-screen_file", str(self.folder / "screen.log")]
        self._out = open(self.folder / "sipp.out", "wb")
        self._proc = await asyncio.create_subprocess_exec(*cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                                          stderr=subprocess.STDOUT, cwd=self.folder)
        try:
            await self._until(self._connected.wait(), 10, "SIPp did not connect to its control socket")
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            if self._writer is not None and not self.done:
                with contextlib.suppress(Exception):
                    await self._send("hangup")
                    await asyncio.wait_for(self._proc.wait(), 5)
            if self._proc.returncode is None:
                self._proc.terminate()
                try:
                    await asyncio.wait_for(self._proc.wait(), 5)
                except TimeoutError:
                    self._proc.kill()
                    await self._proc.wait()
        if self._proc is not None:
            self.returncode = self._proc.returncode
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if getattr(self, "_out", None):
            self._out.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._connected.set()
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = (await reader.readuntil(ESC))[:-1].decode(errors="replace")
                headers = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
                if "Call-ID" in headers:
                    self.sip_call_id = headers["Call-ID"].strip()
                if event := headers.get("Event", "").strip():
                    self.log.events.append(event)
                    self.log.changed.set()

    async def _send(self, command: str) -> None:
        assert self._writer is not None and self.sip_call_id, "the phone has no call yet"
        self._writer.write(f"Call-ID: {self.sip_call_id}\r\nDo: {command}\r\n".encode() + ESC)
        await self._writer.drain()

    async def _until(self, awaitable, timeout: float, what: str):
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except TimeoutError:
            raise AssertionError(f"{what} within {timeout} s (phone log: {self.log.events}; "
                                 f"SIPp's files in {self.folder})") from None

    async def wait_event(self, found, timeout: float, what: str) -> str:
        async def seen() -> str:
            while True:
                for event in self.log.events:
                    if found(event):
                        return event
                self.log.changed.clear()
                await self.log.changed.wait()
        return await self._until(seen(), timeout, what)

    @property
    def done(self) -> bool:
        return any(e in ("bye", "hungup") for e in self.log.events)

    async def answered(self, timeout: float = 15) -> str:
        """Once Warmline has answered: the caller channel's id on the PBX."""
        if await self.wait_event(lambda e: e in ("answered", "refused"), timeout,
                                 "the call was not answered") == "refused":
            raise AssertionError(f"the PBX refused the call: {self.responses()}")
        await self._until(self._known.wait(), 10, "Warmline reported no CallStarted for this caller")
        return self.channel_id

    async def _do(self, command: str, timeout: float) -> None:
        if self.done:
            raise AssertionError(f"the call is over ({self.log.events[-1]}): cannot {command}")
        await self._send(command)
        await self.wait_event(lambda e: e in (f"ready {command}", "bye", "hungup", "unknown"), timeout,
                              f"the phone did not finish {command}")
        if self.log.events[-1] == "unknown":
            raise AssertionError(f"the phone's scenario has no {command}")

    async def say(self, answer: str, timeout: float = 60) -> None:
        """Speak one of the phrases given at construction (to its end)."""
        await self._do(f"say{self.says.index(answer)}", timeout)

    async def keys(self, digits: str, timeout: float = 30) -> None:
        await self._do(f"keys{self.keys_list.index(digits)}", timeout)

    async def hang_up(self, timeout: float = 10) -> None:
        await self._send("hangup")
        await self.wait_event(lambda e: e in ("hungup", "bye"), timeout, "the phone did not hang up")

    async def finished(self, timeout: float = 60) -> int:
        """SIPp's exit code once the call is over (0: the call went as the scenario says)."""
        assert self._proc is not None
        await self._until(self._proc.wait(), timeout, "SIPp did not exit")
        self.returncode = self._proc.returncode
        return self.returncode

    def responses(self) -> list[int]:
        """The status codes of the SIP responses the phone received, in order."""
        text = (self.folder / "messages.log").read_text(errors="replace")
        return [int(code) for code in re.findall(r"^SIP/2\.0 (\d{3}) ", text, re.M)]

    async def pbx_codec(self, client) -> str:
        """The codec the PBX negotiated on the caller's channel (ulaw / alaw)."""
        reply = await client.get(f"/channels/{self.channel_id}/variable",
                                 params={"variable": "CHANNEL(audionativeformat)"})
        return reply["value"].strip("()")  # Asterisk writes a format list: (ulaw)


# --- a conversation -------------------------------------------------------------------------------

Script = list[tuple[str, str]]  # (question, answer) as in warmline.ari_app.scripted, plus the forms below


def phrases_of(script: Script) -> tuple[list[str], list[str]]:
    """What the phone must be able to say and key for this script."""
    says, keys = [], []
    for _, answer in script:
        if answer.startswith("keys:"):
            keys.append(answer.removeprefix("keys:"))
        elif answer not in ("silence", "hangup"):
            says.append(answer.split("|", 1)[-1])
    return says, keys


async def converse(phone: SipPhone, journals, script: Script, *, turn_timeout_s: float = 60) -> list[CallEvent]:
    """Play the script against Warmline over SIP, then wait for the call to end.

    A question is a prompt key: the answer follows its PromptEnded. "during:<key>" answers while
    that prompt is still playing (1.5 s after it started). An answer is words, "slow:<words>",
    "keys:<digits>", "silence" or "hangup", optionally after a pause: "wait:<seconds>|<answer>".
    """
    channel = phone.channel_id
    next_event = 0
    for question, answer in script:
        during = question.startswith("during:")
        key = question.removeprefix("during:")

        def asked(event: CallEvent, key=key, kind=PromptStarted if during else PromptEnded) -> bool:
            return isinstance(event, kind) and event.prompt.split()[0] == key
        try:
            next_event = await journals.wait(channel, asked, turn_timeout_s, next_event) + 1
        except TimeoutError:
            raise AssertionError(f"Warmline did not ask {question!r} within {turn_timeout_s} s; the call so far: "
                                 f"{_story(journals.of(channel).events)}") from None
        if during:
            await asyncio.sleep(1.5)
        if answer.startswith("wait:"):
            pause, answer = answer.removeprefix("wait:").split("|", 1)
            await asyncio.sleep(float(pause))
        if answer == "silence":
            continue
        if answer == "hangup":
            await phone.hang_up()
        elif answer.startswith("keys:"):
            await phone.keys(answer.removeprefix("keys:"))
        else:
            await phone.say(answer)
    try:
        await journals.wait(channel, lambda e: isinstance(e, CallEnded), turn_timeout_s)
    except TimeoutError:
        raise AssertionError(f"the call did not end within {turn_timeout_s} s of the last answer; the call so far: "
                             f"{_story(journals.of(channel).events)}") from None
    return list(journals.of(channel).events)


def _story(events: list[CallEvent]) -> list[str]:
    """The prompts and what was heard, for a failure message."""
    told = []
    for event in events:
        if isinstance(event, PromptStarted):
            told.append(f"asked {event.prompt.split()[0]}")
        elif (text := getattr(event, "text", None)) is not None:
            told.append(f"{type(event).__name__} {text!r}")
        elif type(event).__name__ in ("KeysPressed", "EscalationDecided", "CallEnded", "NoInputTimeout"):
            told.append(type(event).__name__)
    return told
