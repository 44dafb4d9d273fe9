"""Capacity: N concurrent scripted conversations against the real Warmline on the sandbox Asterisk.

    .venv/bin/python bench/capacity_bench.py [--n 1,4,8,16,24] [--sandbox NAME] [--seed 1]
        [--gap 0.25,2.5 | --poisson 1.4] [--stall-s 10] [--profile 8,16] [--out bench/results]

Needs matplotlib for the chart (not a Warmline dependency): `.venv/bin/pip install matplotlib`
(and `py-spy` for --profile). Without matplotlib the JSON and the table are still written.

What runs. For each N a fresh Warmline process (this file with --serve) is started exactly as
`warmline demo` serves: the real StasisApp with `open_conversation` (flows, classifier, the
seeded demo SQLite CRM), Whisper tiny.en in the shared SttPool (one worker per core), Silero VAD,
the event store, the demo's producers. This process is the PBX side only: the demo's scripted
callers (`warmline.ari_app.scripted.converse`: flite speech played by the sandbox, DTMF keys), a
mix of contained (balance, ID card, appointment) and escalated (coverage question, asks for a
person, frustrated) callers, arriving uniformly 0.25-2.5 s apart (or Poisson), all on 127.0.0.1.
Warmline's events reach this process over a pipe; the callers answer when the question ends.

What is measured, per turn. Latency = end of the caller's voiced speech → first audio of
Warmline's reply, both on **Asterisk's clock**: a second ARI app subscribed to both halves of
each call records Asterisk's own events. Caller's voice end = PlaybackFinished of the caller's
file on the caller side (line channel) minus the file's trailing silence (last 10 ms frame above
-40 dBFS); reply = Warmline's next PlaybackStarted on the caller's channel. "audible" adds the
reply prompt file's leading silence (sox). DTMF turns (policy number keyed with #) are timed
from Asterisk's ChannelDtmfReceived '#' and reported apart (no speech recognition in them).
Stages come from the Warmline process (same host clock): utterance cut by the segmenter (an
instrumented ListeningSession._handle), decode queued/started/finished (wrappers on the pool's
transcribe and the engine's transcribe), CallerUtterance, CallerTurn, PromptStarted events.
CPU: /proc of the Warmline process (event-loop thread and other threads apart) and of Asterisk,
and the whole machine (what else runs on it is "others"); RSS per call = (peak - idle) / N.
STT queue depth and refusals: the pool's SttPool.metrics, sampled at every decode and every 0.25 s.
A turn whose reply does not start within --stall-s is a stall; a call whose outcome (contained /
escalated with the expected reason) differs from the script's is a wrong outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import wave
from dataclasses import fields as dc_fields
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SANDBOX_DEFAULT = f"cap-{os.getpid()}"
MARK = "@@"

# (name, expected outcome, expected escalation reason or None, expected action or None)
EXPECTED = {
    "balance": ("contained", None, "read_balance"),
    "ID card": ("contained", None, "send_id_card"),
    "appointment": ("contained", None, "book_appointment"),
    "coverage question": ("escalated", "regulated_intent", None),
    "asks for a person": ("escalated", "caller_requested_human", None),
    "frustrated": ("escalated", "negative_sentiment", None),
}
ORDER = ["balance", "coverage question", "ID card", "asks for a person", "appointment", "frustrated"]


# ================================================================================================
# The Warmline process (--serve): the demo's Warmline, instrumented, events written to stdout
# ================================================================================================

def _out(kind: str, **data) -> None:
    sys.stdout.write(MARK + json.dumps({"k": kind, **data}, default=str) + "\n")
    sys.stdout.flush()


class Acc:
    """Seconds spent and calls made in one instrumented function (on whichever thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # of the calling thread: excludes time the thread was preempted
        self.calls = 0

    def wrap(self, fn):
        acc = self

        def timed(*args, **kwargs):
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                acc.seconds += time.perf_counter() - started
                acc.cpu_seconds += time.thread_time() - cpu
                acc.calls += 1
        return timed

    def async_wrap(self, fn):
        acc = self

        async def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                acc.seconds += time.perf_counter() - started
                acc.calls += 1
        return timed


async def serve(state_file: str) -> None:
    from warmline.ari_app.app import StasisApp
    from warmline.ari_app.demo import PRODUCERS
    from warmline.calls import listening
    from warmline.catalog import open_store
    from warmline.config import load_settings
    from warmline.conversation.build import open_conversation
    from warmline.crm.seed import seed_demo
    from warmline.logs import setup_logging
    from warmline.speech import convert, prompts, vad
    from warmline.speech.cutter import Utterance
    from warmline.speech.services import build_services
    from datetime import date

    state = json.loads(Path(state_file).read_text())
    settings = load_settings(state["config"])
    settings = settings.model_copy(update={"handoff": settings.handoff.model_copy(update={"producers": PRODUCERS})})
    setup_logging("WARNING", settings.log.format, settings.secrets())
    await asyncio.to_thread(prompts.build, prompts.load_catalog(settings.prompts), Path(settings.prompts.dir),
                            settings.prompts.engine, settings.prompts.voice or None)
    seed_demo(Path(settings.crm.sqlite_path), date.today())
    kit = await open_conversation(settings)
    services = await asyncio.to_thread(build_services, settings.vad, settings.stt)
    store = open_store(settings.store)
    # Warm-up: the first decode on each worker allocates CTranslate2's buffers (timed, reported);
    # done before the calls so that RSS per call is the calls' own.
    cold = []
    for _round in range(2):
        started = time.perf_counter()
        await asyncio.gather(*(services.stt.transcribe(np.zeros(16000, dtype=np.float32))
                               for _ in range(services.stt.workers)))
        cold.append(round((time.perf_counter() - started) * 1000))

    # --- instrumentation (this process only; Warmline's code is unchanged) -----------------------
    accs = {name: Acc() for name in ("vad", "resample", "on_audio", "store", "pipe", "classify")}
    vad.SileroVadStream.process = accs["vad"].wrap(vad.SileroVadStream.process)
    vad.WebRtcVadStream.process = accs["vad"].wrap(vad.WebRtcVadStream.process)
    convert.Resampler.__call__ = accs["resample"].wrap(convert.Resampler.__call__)
    listening.ListeningSession.on_audio = accs["on_audio"].async_wrap(listening.ListeningSession.on_audio)
    try:
        kit.classifier.classify = accs["classify"].wrap(kit.classifier.classify)
    except AttributeError:
        pass

    original_handle = listening.ListeningSession._handle

    def handle(self, events):
        events = list(events)
        for event in events:
            if isinstance(event, Utterance):
                _out("cut", call=self.info.call_id, t=time.time(), start_ms=event.start_ms, end_ms=event.end_ms,
                     now_ms=self._cutter.segmenter.now_ms if self._cutter else None, reason=event.reason,
                     audio_s=round(event.seconds, 3))
        return original_handle(self, events)
    listening.ListeningSession._handle = handle

    pool = services.stt
    pending: dict[int, dict] = {}
    peak = {"waiting": 0, "busy": 0}
    pool_transcribe, engine_transcribe = pool.transcribe, pool.engine.transcribe

    async def transcribe(audio, rate=16000):
        record = {"task": asyncio.current_task().get_name(), "t_enter": time.time(),
                  "waiting_at_entry": pool.metrics.waiting, "busy_at_entry": pool.metrics.busy,
                  "audio_s": round(len(audio) / rate, 3)}
        pending[id(audio)] = record
        try:
            return await pool_transcribe(audio, rate)
        finally:
            pending.pop(id(audio), None)
            record["t_return"] = time.time()
            peak["waiting"] = max(peak["waiting"], record["waiting_at_entry"] + (1 if pool._slots.locked() else 0))
            _out("decode", **record)

    keep = Path(os.environ[KEEP_ENV]) if os.environ.get(KEEP_ENV) else None

    def engine(audio, rate):
        record = pending.get(id(audio))
        started, cpu = time.time(), time.thread_time()
        peak["busy"] = max(peak["busy"], pool.metrics.busy)
        text = None
        try:
            text = engine_transcribe(audio, rate)
            return text
        finally:
            if record is not None:
                record.update(t_start=started, t_end=time.time(), thread_cpu=time.thread_time() - cpu)
            if keep is not None and text is not None:
                keep_utterance(keep, audio, rate, text)
    pool.transcribe, pool.engine.transcribe = transcribe, engine

    fields_of: dict[type, list[str]] = {}

    def forward(event) -> None:
        started = time.perf_counter()
        names = fields_of.setdefault(type(event), [f.name for f in dc_fields(event)])
        _out("event", type=type(event).__name__, data={n: getattr(event, n) for n in names})
        accs["pipe"].seconds += time.perf_counter() - started
        accs["pipe"].calls += 1

    app = StasisApp(settings, kit.sessions(services, barge_in=settings.prompts.barge_in),
                    [forward, accs["store"].wrap(store.record)])
    stop = asyncio.Event()
    serving = asyncio.create_task(app.run(stop), name="bench-stasis-app")
    lags: list[float] = []

    async def ticker() -> None:  # event-loop lag: how late a 20 ms sleep wakes up
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            lags.append(loop.time() - before - 0.02)

    async def sampler() -> None:
        while True:
            await asyncio.sleep(0.25)
            m = pool.metrics
            _out("sample", t=time.time(), waiting=m.waiting, busy=m.busy, rejected=m.rejected,
                 timed_out=m.timed_out, failed=m.failed, decoded=m.decoded,
                 lag_max=max(lags) if lags else 0.0, lag_p99=_pct(lags, 99) if lags else 0.0)
            lags.clear()

    async def control() -> None:
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            if line.strip() == b"stop":
                break
            if line.strip() == b"reset":
                for acc in accs.values():
                    acc.seconds, acc.cpu_seconds, acc.calls = 0.0, 0.0, 0
                peak.update(waiting=0, busy=0)
                _out("reset", t=time.time())
        stop.set()

    helpers = [asyncio.create_task(c()) for c in (ticker, sampler)]
    controller = asyncio.create_task(control())
    await asyncio.wait_for(app.connected.wait(), 20)
    _out("ready", pid=os.getpid(), stt_workers=pool.workers, max_queue=pool.max_queue,
         hangover_ms=settings.vad.hangover_ms, warmup_ms=cold, vad=settings.vad.engine, stt=settings.stt.engine,
         prompts_dir=settings.prompts.dir, asterisk_prompts_dir=settings.prompts.asterisk_dir)
    await controller
    await serving
    for task in helpers:
        task.cancel()
    m = pool.metrics
    _out("final", accs={k: {"seconds": round(a.seconds, 4), "cpu_seconds": round(a.cpu_seconds, 4), "calls": a.calls} for k, a in accs.items()},
         pool={"decoded": m.decoded, "rejected": m.rejected, "timed_out": m.timed_out, "failed": m.failed,
               "audio_seconds": round(m.audio_seconds, 2), "decode_seconds": round(m.decode_seconds, 2)},
         peak=peak)
    services.close()
    store.close()
    await kit.crm.close()


# ================================================================================================
# The PBX side: scripted callers, Asterisk's own events, /proc sampling
# ================================================================================================

KEEP_ENV = "CAPACITY_KEEP_UTTERANCES"


def keep_utterance(folder: Path, audio, rate: int, text: str) -> None:
    """The audio Whisper was given (16 kHz float) and what it read, for offline comparisons."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}"
    np.save(folder / f"{name}.npy", audio.astype(np.float32))
    with open(folder / "texts.jsonl", "a") as texts:
        texts.write(json.dumps({"file": f"{name}.npy", "rate": rate, "text": text}) + "\n")


def _pct(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(ordered)))  # nearest-rank percentile
    return ordered[rank - 1]


def pbx_time(event: dict) -> float:
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def machine_info() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem_kb = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    import platform
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "python": platform.python_version()}


CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    fields = open(path).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def proc_threads(pid: int) -> dict[int, tuple[str, float]]:
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            out[int(tid)] = (comm, proc_cpu(pid, int(tid)))
        except OSError:
            pass
    return out


def proc_rss_mb(pid: int) -> float:
    return next(int(ln.split()[1]) for ln in open(f"/proc/{pid}/status") if ln.startswith("VmRSS")) / 1024


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK, total / CLK


def voiced_span(path: Path, threshold_dbfs: float = -40.0) -> tuple[float, float, float]:
    """(voice onset, voice end, file length) in seconds: 10 ms frames above threshold_dbfs."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    frame = rate // 100
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    level = 20 * np.log10(rms / 32768 + 1e-9)
    voiced = np.nonzero(level > threshold_dbfs)[0]
    if not len(voiced):
        return 0.0, 0.0, len(samples) / rate
    return voiced[0] * 0.01, (voiced[-1] + 1) * 0.01, len(samples) / rate


def sox_leading_silence(path: Path, threshold: str = "-40d") -> float:
    """Seconds of leading silence, by sox: the file's length minus its length once sox's
    `silence 1 0.01 -40d` effect has trimmed the start."""
    total = float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout)
    trimmed = subprocess.run(["sox", str(path), "-n", "silence", "1", "0.01", threshold, "stat"],
                             capture_output=True, text=True)
    length = next((float(ln.split(":")[1]) for ln in trimmed.stderr.splitlines() if ln.startswith("Length")), total)
    return total - length


class Observer:
    """A second ARI app recording Asterisk's own events, with Asterisk's timestamps, for the
    channels it is subscribed to (both halves of every simulated call)."""

    APP = "cap-observer"

    def __init__(self, client) -> None:
        self.client = client
        self.events: list[dict] = []

    async def __aenter__(self):
        url = f"{self.client.ws_base}/ari/events?app={self.APP}&subscribeAll=false"
        self._ws = await self.client.http.ws_connect(url, headers=self.client.headers)
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc):
        await self._ws.close()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _pump(self):
        import aiohttp
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                event = json.loads(message.data)
                if event.get("type") in ("PlaybackStarted", "PlaybackFinished", "ChannelDtmfReceived",
                                         "StasisStart", "ChannelDestroyed"):
                    self.events.append(event)

    async def watch(self, *channel_ids: str) -> None:
        await self.client.post(f"/applications/{self.APP}/subscription",
                               params={"eventSource": ",".join(f"channel:{c}" for c in channel_ids)})


def _rebuilt(kind, data: dict):
    """An event from the fields the serving process forwarded (JSON: tuples came as lists)."""
    def tuples(value):
        return tuple(tuples(v) if isinstance(v, list) else v for v in value)
    return kind(**{name: tuples(v) if isinstance(v, list) else v for name, v in data.items()})


class WarmlineProcess:
    """The Warmline process for one N; its events feed the callers' journals."""

    def __init__(self, state_file: Path, journals) -> None:
        self.state_file = state_file
        self.journals = journals
        self.records: dict[str, list[dict]] = {"event": [], "cut": [], "decode": [], "sample": [], "final": []}
        self.ready = asyncio.Event()
        self.info: dict = {}

    async def start(self) -> None:
        from warmline.catalog import EVENT_KINDS

        self._types = {kind.__name__: kind for kind in EVENT_KINDS}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--serve", str(self.state_file),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=2 ** 22, cwd=str(REPO))
        self._reader = asyncio.create_task(self._read())
        self._errors = asyncio.create_task(self._stderr())
        await asyncio.wait_for(self.ready.wait(), 120)

    async def _stderr(self) -> None:
        self.stderr_tail: list[str] = []
        while line := await self.proc.stderr.readline():
            self.stderr_tail = (self.stderr_tail + [line.decode(errors="replace").rstrip()])[-40:]

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            text = line.decode()
            if not text.startswith(MARK):
                continue
            record = json.loads(text[len(MARK):])
            kind = record.pop("k")
            if kind == "ready":
                self.info = record
                self.ready.set()
            elif kind == "event":
                record["at"] = record["data"]["at"]
                self.records["event"].append(record)
                kind_type = self._types.get(record["type"])
                if kind_type is not None:
                    try:
                        self.journals(_rebuilt(kind_type, record["data"]))
                    except TypeError:
                        pass
            else:
                self.records.setdefault(kind, []).append(record)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")

    async def stop(self) -> None:
        self.send("stop")
        await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self._reader
        await self._errors


class ProcSampler:
    def __init__(self, warmline_pid: int, asterisk_pid: int, bench_pid: int) -> None:
        self.pids = {"warmline": warmline_pid, "asterisk": asterisk_pid, "bench": bench_pid}
        self.samples: list[dict] = []
        self._task: asyncio.Task | None = None

    def snap(self) -> dict:
        busy, total = machine_busy()
        wl = self.pids["warmline"]
        threads = proc_threads(wl)
        return {"t": time.time(), "machine_busy": busy, "machine_total": total,
                "warmline": proc_cpu(wl), "warmline_loop": threads.get(wl, ("", 0.0))[1],
                "warmline_threads": {str(t): v for t, v in threads.items()},
                "asterisk": proc_cpu(self.pids["asterisk"]), "bench": proc_cpu(self.pids["bench"]),
                "rss_mb": proc_rss_mb(wl), "load1": os.getloadavg()[0]}

    async def run(self, every_s: float = 0.5) -> None:
        while True:
            self.samples.append(self.snap())
            await asyncio.sleep(every_s)


async def run_level(n: int, state: dict, args, rng: random.Random, out_dir: Path) -> dict:
    import aiohttp
    from warmline.ari_app.client import AriClient
    from warmline.ari_app.demo import CALLERS
    from warmline.ari_app.scripted import Journals, Voices, converse
    from warmline.ari_app.simulate import CallerSimulator
    from warmline.config import load_settings

    scripts = dict(CALLERS)
    settings = load_settings(state["config"])
    journals = Journals()
    warmline = WarmlineProcess(Path(state["state_file"]), journals)
    await warmline.start()
    voices = Voices(Path(state["instance_dir"]) / "sounds", f"{state['instance_dir_inside']}/sounds")
    for name in ORDER:  # render every caller sentence before timing anything
        for _question, answer in scripts[name]:
            if not answer.startswith("keys:") and answer not in ("silence", "hangup"):
                await asyncio.to_thread(voices.render, answer)
    sampler = ProcSampler(warmline.info["pid"], state["pid"], os.getpid())
    await asyncio.sleep(2.0)  # the process settles after loading its models
    idle = sampler.snap()
    profiler = None
    if n in args.profile:
        profiler = subprocess.Popen(["py-spy", "record", "--pid", str(warmline.info["pid"]), "--rate", "50",
                                     "--nonblocking", "--threads", "--format", "raw",
                                     "-o", str(out_dir / f"pyspy-n{n}.txt")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    gaps = [0.0] + [rng.expovariate(1 / args.poisson) if args.poisson else rng.uniform(*args.gap) for _ in range(n - 1)]
    arrivals = list(np.cumsum(gaps))
    calls: list[dict] = []
    sampling = asyncio.create_task(sampler.run())
    bound_s = args.max_run_s or (arrivals[-1] + 150)
    started = time.time()
    async with aiohttp.ClientSession() as http:
        ari = AriClient(settings.ari, http)
        async with CallerSimulator(ari) as sim, Observer(ari) as observer:
            async def one(i: int, at: float) -> None:
                name = ORDER[i % len(ORDER)]
                await asyncio.sleep(max(0.0, started + at - time.time()))
                record = {"i": i, "caller": name, "placed": time.time()}
                calls.append(record)
                try:
                    call = await sim.place()
                    record.update(caller_channel=call.caller_channel_id, line_channel=call.line_channel_id)
                    await observer.watch(call.caller_channel_id, call.line_channel_id)
                    await converse(sim, journals, voices, call, scripts[name], turn_timeout_s=args.turn_timeout_s)
                    record["ended"] = time.time()
                except TimeoutError:
                    record["stalled_script"] = True
                    record["ended"] = time.time()
                    await sim.hang_up(call)
                except Exception as exc:  # noqa: BLE001 - one broken call must not end the run
                    record["error"] = repr(exc)
                    record["ended"] = time.time()

            tasks = [asyncio.create_task(one(i, at)) for i, at in enumerate(arrivals)]
            done, late = await asyncio.wait(tasks, timeout=bound_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            finished = time.time()
            busy_end = sampler.snap()
            await asyncio.sleep(1.5)  # the last Asterisk events
            leftovers = await _drain(ari)
    sampling.cancel()
    if profiler is not None:
        profiler.send_signal(2)
        try:
            profiler.wait(30)
        except subprocess.TimeoutExpired:
            profiler.kill()
    await warmline.stop()
    result = analyse(n, calls, observer.events, warmline, sampler.samples, idle, busy_end, started, finished,
                     voices, state, args)
    result["leftovers"] = leftovers
    result["bound_s"] = bound_s
    result["unfinished_at_bound"] = len(late)
    if warmline.proc.returncode:
        result["warmline_stderr"] = warmline.stderr_tail
    return result


async def _drain(ari) -> str:
    for _ in range(150):  # handed-off callers talk to producers or queue agents for a while
        channels, bridges = await ari.get("/channels"), await ari.get("/bridges")
        if not channels and not bridges:
            return "none"
        await asyncio.sleep(0.2)
    for channel in channels:
        await ari.delete(f"/channels/{channel['id']}", missing_ok=True)
    return f"{len(channels)} channels, {len(bridges)} bridges after 30 s (channels hung up)"


def analyse(n, calls, pbx, warmline, samples, idle, busy_end, started, finished, voices, state, args) -> dict:
    events = warmline.records["event"]
    by_call: dict[str, list[dict]] = {}
    channel_call: dict[str, str] = {}
    for record in events:
        by_call.setdefault(record["data"]["call_id"], []).append(record)
        if record["type"] == "CallStarted":
            channel_call[record["data"]["channel_id"]] = record["data"]["call_id"]
    cuts: dict[str, list[dict]] = {}
    for cut in warmline.records["cut"]:
        cuts.setdefault(cut["call"], []).append(cut)
    decodes: dict[tuple[str, int], dict] = {}
    for decode in warmline.records["decode"]:
        _stt, rest = decode["task"].split("-", 1)
        call_id, start_ms = rest.rsplit("-", 1)
        decodes[(call_id, int(start_ms))] = decode
    prompt_dir = Path(warmline.info["prompts_dir"])
    lead_cache: dict[str, float] = {}
    span_cache: dict[str, tuple[float, float, float]] = {}
    host_sounds, inside_sounds = voices.host_dir, voices.inside_dir

    def lead_of(media_uri: str) -> float | None:
        if not media_uri.startswith("sound:"):
            return None
        key = media_uri.rsplit("/", 1)[1]
        if key not in lead_cache:
            path = prompt_dir / f"{key}.wav"
            lead_cache[key] = sox_leading_silence(path) if path.exists() else None
        return lead_cache[key]

    turns, dtmf_turns, wrong, stalls = [], [], [], []
    for call in calls:
        cid_chan, line = call.get("caller_channel"), call.get("line_channel")
        call_id = channel_call.get(cid_chan)
        mine = sorted((e for e in pbx if _target(e) in (f"channel:{cid_chan}", f"channel:{line}")
                       or (e.get("channel") or {}).get("id") in (cid_chan, line)), key=pbx_time)
        replies = [e for e in mine if e["type"] == "PlaybackStarted" and _target(e) == f"channel:{cid_chan}"]
        evs = by_call.get(call_id, [])
        # --- speech turns ---
        line_started = {e["playback"]["id"]: e for e in mine
                        if e["type"] == "PlaybackStarted" and _target(e) == f"channel:{line}"}
        for end in (e for e in mine if e["type"] == "PlaybackFinished" and _target(e) == f"channel:{line}"):
            uri = end["playback"]["media_uri"]
            name = uri.rsplit("/", 1)[1]
            if name not in span_cache:
                span_cache[name] = voiced_span(host_sounds / f"{name}.wav")
            onset, voice_end, length = span_cache[name]
            t_end = pbx_time(end) - (length - voice_end)
            begin = line_started.get(end["playback"]["id"])
            t_start_anchor = pbx_time(begin) + voice_end if begin else None
            reply = next((r for r in replies if pbx_time(r) > t_end), None)
            turn = {"call": call["i"], "caller": call["caller"], "sentence": name, "voice_end": t_end,
                    "anchor_diff_ms": None if t_start_anchor is None else round((t_end - t_start_anchor) * 1000, 1)}
            if reply is None or pbx_time(reply) - t_end > args.stall_s:
                turn["stalled"] = True
                stalls.append(turn)
                turns.append(turn)
                continue
            t_reply = pbx_time(reply)
            turn.update(latency_ms=(t_reply - t_end) * 1000, reply=reply["playback"]["media_uri"].rsplit("/", 1)[1])
            lead = lead_of(reply["playback"]["media_uri"])
            if lead is not None:
                turn["audible_ms"] = turn["latency_ms"] + lead * 1000
                turn["lead_silence_ms"] = lead * 1000
            # --- Warmline's stages for this turn ---
            cut = next((c for c in reversed(cuts.get(call_id, [])) if t_end - 3 < c["t"] < t_reply), None)
            if cut is not None:
                d = decodes.get((call_id, cut["start_ms"]))
                utter = next((e for e in evs if e["type"] == "CallerUtterance" and e["data"]["start_ms"] == cut["start_ms"]), None)
                prompt = next((e for e in evs if e["type"] == "PromptStarted" and utter and e["at"] >= utter["at"]), None)
                stages = {"endpoint": cut["t"] - t_end,
                          "hangover": (cut["now_ms"] - cut["end_ms"]) / 1000 if cut.get("now_ms") else None}
                if d and "t_start" in d:
                    stages.update(schedule=d["t_enter"] - cut["t"], queue=d["t_start"] - d["t_enter"],
                                  decode=d["t_end"] - d["t_start"], wake=(utter["at"] if utter else d["t_return"]) - d["t_end"],
                                  waiting_at_entry=d["waiting_at_entry"], busy_at_entry=d["busy_at_entry"],
                                  audio_s=d["audio_s"])
                if utter and prompt:
                    stages["dialogue"] = prompt["at"] - utter["at"]
                    stages["prompt_start"] = t_reply - prompt["at"]
                turn["stages_ms"] = {k: (round(v * 1000, 1) if isinstance(v, float) and k not in ("audio_s",) else v)
                                     for k, v in stages.items() if v is not None}
                turn["text"] = utter["data"]["text"] if utter else None
            turns.append(turn)
        # --- DTMF turns ---
        for key in (e for e in mine if e["type"] == "ChannelDtmfReceived" and e["digit"] == "#"
                    and e["channel"]["id"] == cid_chan):
            t_key = pbx_time(key)
            reply = next((r for r in replies if pbx_time(r) > t_key), None)
            if reply is not None and pbx_time(reply) - t_key <= args.stall_s:
                dtmf_turns.append({"call": call["i"], "latency_ms": (pbx_time(reply) - t_key) * 1000})
            else:
                stalls.append({"call": call["i"], "caller": call["caller"], "dtmf": True})
        # --- outcome ---
        outcome = next((e["data"]["outcome"] for e in evs if e["type"] == "ConversationEnded"), None)
        reason = next((e["data"]["reason"] for e in evs if e["type"] == "EscalationDecided"), None)
        actions = [e["data"]["action"] for e in evs if e["type"] == "ActionTaken" and e["data"].get("ok")]
        ended = next((e["data"]["reason"] for e in evs if e["type"] == "CallEnded"), None)
        want_outcome, want_reason, want_action = EXPECTED[call["caller"]]
        call.update(call_id=call_id, outcome=outcome, reason=reason, actions=actions, call_ended=ended,
                    heard=[e["data"]["text"] for e in evs if e["type"] == "CallerUtterance"])
        ok = outcome == want_outcome and (want_reason is None or reason == want_reason) \
            and (want_action is None or want_action in actions)
        if not ok or call.get("error") or call.get("stalled_script"):
            wrong.append({k: call.get(k) for k in ("i", "caller", "outcome", "reason", "actions", "call_ended",
                                                  "heard", "error", "stalled_script")})
    return summarise(n, calls, turns, dtmf_turns, wrong, stalls, warmline, samples, idle, busy_end, started,
                     finished, lead_cache)


def _target(event: dict) -> str | None:
    return (event.get("playback") or {}).get("target_uri")


def summarise(n, calls, turns, dtmf_turns, wrong, stalls, warmline, samples, idle, busy_end, started, finished,
              lead_cache) -> dict:
    wall = busy_end["t"] - idle["t"]

    def cpu(key):
        return (busy_end[key] - idle[key]) / wall * 100

    threads_before, threads_after = idle["warmline_threads"], busy_end["warmline_threads"]
    others_threads = sum(v[1] - threads_before.get(t, ("", 0.0))[1] for t, v in threads_after.items()
                         if int(t) != warmline.info["pid"])
    machine = (busy_end["machine_busy"] - idle["machine_busy"]) / (busy_end["machine_total"] - idle["machine_total"])
    machine_pct = machine * (os.cpu_count() or 1) * 100
    rss_peak = max((s["rss_mb"] for s in samples), default=idle["rss_mb"])
    lat = [t["latency_ms"] for t in turns if "latency_ms" in t]
    aud = [t["audible_ms"] for t in turns if "audible_ms" in t]
    stage_names = ["endpoint", "hangover", "schedule", "queue", "decode", "wake", "dialogue", "prompt_start"]
    staged = [t["stages_ms"] for t in turns if "stages_ms" in t]
    stages = {}
    for name in stage_names:
        values = [s[name] for s in staged if name in s]
        if values:
            stages[name] = {"mean": round(statistics.fmean(values), 1), "p50": round(_pct(values, 50), 1),
                            "p95": round(_pct(values, 95), 1)}
    peak10 = _peak_window(samples, 10.0)
    ws = warmline.records["sample"]
    final = (warmline.records["final"] or [{}])[-1]
    active = _concurrency(calls)
    in_window = [s for s in ws if started <= s["t"] <= finished]
    return {
        "n": n, "calls": len(calls), "turns": len(lat), "dtmf_turns": len(dtmf_turns),
        "wall_s": round(finished - started, 1), "peak_concurrent": active["peak"],
        "mean_concurrent": active["mean"],
        "latency_ms": _dist(lat), "audible_ms": _dist(aud), "dtmf_latency_ms": _dist([d["latency_ms"] for d in dtmf_turns]),
        "stages_ms": stages,
        "cpu_pct": {"warmline": round(cpu("warmline"), 1), "warmline_loop_thread": round(cpu("warmline_loop"), 1),
                    "warmline_other_threads": round(others_threads / wall * 100, 1),
                    "asterisk": round(cpu("asterisk"), 1), "bench_callers": round(cpu("bench"), 1),
                    "machine": round(machine_pct, 1),
                    "others_on_machine": round(machine_pct - cpu("warmline") - cpu("asterisk") - cpu("bench"), 1),
                    "load1_max": round(max((s["load1"] for s in samples), default=0.0), 2)},
        "cpu_pct_busiest_10s": peak10,
        "rss_mb": {"idle": round(idle["rss_mb"], 1), "peak": round(rss_peak, 1),
                   "per_call": round((rss_peak - idle["rss_mb"]) / max(1, active["peak"]), 2)},
        "stt": {"max_waiting": max((s["waiting"] for s in ws), default=0),
                "max_waiting_at_decode": max((d["waiting_at_entry"] for d in warmline.records["decode"]), default=0),
                "max_busy": max((s["busy"] for s in ws), default=0),
                "rejected": final.get("pool", {}).get("rejected"), "timed_out": final.get("pool", {}).get("timed_out"),
                "failed": final.get("pool", {}).get("failed"), "decoded": final.get("pool", {}).get("decoded"),
                "workers": warmline.info.get("stt_workers"), "max_queue": warmline.info.get("max_queue")},
        "loop_lag_ms": {"max": round(max((s["lag_max"] for s in in_window), default=0) * 1000, 1),
                        "p99_of_windows": round(_pct([s["lag_p99"] for s in in_window], 99) * 1000, 1) if in_window else None},
        "on_loop_s": final.get("accs"), "warmup_ms": warmline.info.get("warmup_ms"),
        "stalls": stalls, "wrong_outcomes": wrong,
        "prompt_leading_silence_ms": {k: round(v * 1000, 1) for k, v in lead_cache.items() if v is not None},
        "turn_detail": turns, "dtmf_detail": dtmf_turns,
        "call_detail": [{k: c.get(k) for k in ("i", "caller", "call_id", "outcome", "reason", "actions", "call_ended",
                                               "heard", "error", "stalled_script")} | {
                            "duration_s": round(c.get("ended", c["placed"]) - c["placed"], 1)} for c in calls],
    }


def _peak_window(samples: list[dict], window_s: float) -> dict:
    """CPU % over the 10 s with the most Warmline CPU (the run's mean is diluted by ramp-up and drain)."""
    best: dict = {}
    j = 0
    for i, first in enumerate(samples):
        while j < len(samples) and samples[j]["t"] - first["t"] < window_s:
            j += 1
        if j >= len(samples):
            break
        last = samples[j]
        wall = last["t"] - first["t"]
        wl = (last["warmline"] - first["warmline"]) / wall * 100
        if wl > best.get("warmline", -1):
            machine = (last["machine_busy"] - first["machine_busy"]) / (last["machine_total"] - first["machine_total"])
            best = {"warmline": round(wl, 1),
                    "warmline_loop_thread": round((last["warmline_loop"] - first["warmline_loop"]) / wall * 100, 1),
                    "asterisk": round((last["asterisk"] - first["asterisk"]) / wall * 100, 1),
                    "machine": round(machine * (os.cpu_count() or 1) * 100, 1)}
    return best


def _concurrency(calls) -> dict:
    points = sorted([(c["placed"], 1) for c in calls] + [(c.get("ended", c["placed"]), -1) for c in calls])
    level = peak = 0
    area = 0.0
    last = points[0][0] if points else 0
    for t, step in points:
        area += level * (t - last)
        last = t
        level += step
        peak = max(peak, level)
    span = (points[-1][0] - points[0][0]) if points else 1
    return {"peak": peak, "mean": round(area / span, 1) if span else 0}


def _dist(values) -> dict:
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50": round(_pct(values, 50)), "p95": round(_pct(values, 95)),
            "p99": round(_pct(values, 99)), "max": round(max(values)), "mean": round(statistics.fmean(values))}


def table(results: list[dict]) -> str:
    head = ("|  N | peak conc | turns | p50 ms | p95 ms | p99 ms | audible p50/p95 | DTMF p50 | "
            "Warmline CPU % (loop / other) | busiest 10 s: Warmline / Asterisk / machine % | Asterisk CPU % | others % | RSS MB/call | STT max queue | refused | stalls | wrong |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        la, au, c = r["latency_ms"], r["audible_ms"], r["cpu_pct"]
        rows.append(f"| {r['n']:>2} | {r['peak_concurrent']} | {la['count']} | {la.get('p50', '-')} | {la.get('p95', '-')} | "
                    f"{la.get('p99', '-')} | {au.get('p50', '-')}/{au.get('p95', '-')} | {r['dtmf_latency_ms'].get('p50', '-')} | "
                    f"{c['warmline']} ({c['warmline_loop_thread']} / {c['warmline_other_threads']}) | "
                    f"{r['cpu_pct_busiest_10s'].get('warmline')} / {r['cpu_pct_busiest_10s'].get('asterisk')} / "
                    f"{r['cpu_pct_busiest_10s'].get('machine')} | {c['asterisk']} | "
                    f"{c['others_on_machine']} | {r['rss_mb']['per_call']} | {r['stt']['max_waiting_at_decode']} | "
                    f"{r['stt']['rejected']} | {len(r['stalls'])} | {len(r['wrong_outcomes'])} |")
    return "\n".join(rows)


def stage_table(results: list[dict]) -> str:
    names = ["endpoint", "hangover", "schedule", "queue", "decode", "wake", "dialogue", "prompt_start"]
    rows = ["|  N | " + " | ".join(f"{s} mean/p95" for s in names) + " |", "|" + "---|" * (len(names) + 1)]
    for r in results:
        cells = [f"{r['stages_ms'][s]['mean']:.0f}/{r['stages_ms'][s]['p95']:.0f}" if s in r["stages_ms"] else "-"
                 for s in names]
        rows.append(f"| {r['n']:>2} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def chart(results: list[dict], path: Path, machine: dict) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (`.venv/bin/pip install matplotlib`): no chart", file=sys.stderr)
        return False
    ns = [r["n"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for q, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
        left.plot(ns, [r["latency_ms"].get(q, float("nan")) for r in results], style, label=f"{q} to PlaybackStarted")
    left.plot(ns, [r["audible_ms"].get("p50", float("nan")) for r in results], "o--", alpha=0.6, label="p50 audible")
    left.set_xlabel("concurrent scripted calls (N)")
    left.set_ylabel("caller's voice end → reply (ms, Asterisk clock)")
    left.set_xticks(ns)
    left.grid(alpha=0.3)
    left.legend()
    right.plot(ns, [r["cpu_pct"]["warmline"] for r in results], "o-", label="Warmline process")
    right.plot(ns, [r["cpu_pct"]["warmline_loop_thread"] for r in results], "o--", label="  its event-loop thread")
    right.plot(ns, [r["cpu_pct"]["asterisk"] for r in results], "s-", label="Asterisk")
    right.plot(ns, [r["cpu_pct"]["machine"] for r in results], "x:", label="whole machine")
    right.axhline(100 * (machine["cores"] or 1), color="grey", lw=0.8)
    right.set_xlabel("concurrent scripted calls (N)")
    right.set_ylabel("CPU % of one core")
    right.set_xticks(ns)
    right.grid(alpha=0.3)
    right.legend()
    fig.suptitle(f"Warmline capacity — {machine['cpu']}, {machine['cores']} cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


async def bench(args) -> None:
    state_file = subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "up", "--name", args.sandbox],
                                capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    state = json.loads(Path(state_file).read_text()) | {"state_file": state_file}
    machine = machine_info()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    results = []
    rng = random.Random(args.seed)
    try:
        for n in args.n:
            print(f"N={n}: running (load {os.getloadavg()[0]:.2f})", flush=True)
            result = await run_level(n, state, args, rng, out_dir)
            results.append(result)
            la = result["latency_ms"]
            print(f"N={n}: {la.get('count')} turns p50 {la.get('p50')} p95 {la.get('p95')} p99 {la.get('p99')} ms; "
                  f"Warmline {result['cpu_pct']['warmline']}% Asterisk {result['cpu_pct']['asterisk']}% "
                  f"others {result['cpu_pct']['others_on_machine']}%; stalls {len(result['stalls'])}, "
                  f"wrong {len(result['wrong_outcomes'])}, leftovers {result['leftovers']}", flush=True)
            _write(out_dir, stamp, args, machine, results)
    finally:
        if not args.keep_sandbox:
            subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "down", "--name", args.sandbox], capture_output=True)
    path = _write(out_dir, stamp, args, machine, results)
    drew = chart(results, out_dir / f"capacity-{stamp}.png", machine)
    print(f"\nmachine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
          f"Python {machine['python']}")
    print(table(results))
    print("\nstages (ms) of the speech turns: endpoint = voice end → utterance cut (hangover = the segmenter's "
          "silence run inside it), schedule = cut → decode task runs, queue = waiting for an STT worker, "
          "decode, wake = decode done → CallerUtterance, dialogue = CallerUtterance → PromptStarted, "
          "prompt_start = PromptStarted → Asterisk PlaybackStarted")
    print(stage_table(results))
    print(f"\nresults: {path}" + (f", chart: {out_dir / f'capacity-{stamp}.png'}" if drew else ""))


def _write(out_dir: Path, stamp: str, args, machine: dict, results: list[dict]) -> Path:
    path = out_dir / f"capacity-{stamp}.json"
    path.write_text(json.dumps({
        "when": stamp, "machine": machine, "command": " ".join(sys.argv),
        "arrivals": f"poisson mean {args.poisson} s" if args.poisson else f"uniform {args.gap[0]}-{args.gap[1]} s",
        "seed": args.seed, "stall_s": args.stall_s,
        "latency_clock": "Asterisk event timestamps: caller-side PlaybackFinished minus the file's trailing "
                         "silence → Warmline's PlaybackStarted on the caller channel",
        "results": results}, indent=1, default=str))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1,4,8,16,24", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--sandbox", default=SANDBOX_DEFAULT)
    parser.add_argument("--keep-sandbox", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gap", default="0.25,2.5", type=lambda s: tuple(float(x) for x in s.split(",")),
                        help="uniform seconds between arrivals (min,max)")
    parser.add_argument("--poisson", type=float, default=0.0, help="mean seconds between Poisson arrivals instead")
    parser.add_argument("--stall-s", type=float, default=10.0)
    parser.add_argument("--turn-timeout-s", type=float, default=30.0)
    parser.add_argument("--max-run-s", type=float, default=0.0, help="bound per N (default: arrivals + 150 s)")
    parser.add_argument("--profile", default="", type=lambda s: [int(x) for x in s.split(",") if x],
                        help="N values to record with py-spy (raw stacks in --out)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--keep-utterances", default="", help="save every decoded utterance (audio .npy + text) "
                        "in this folder, for offline engine comparisons")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keep_utterances:
        os.environ[KEEP_ENV] = str(Path(args.keep_utterances).resolve())  # the serving child inherits it
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
