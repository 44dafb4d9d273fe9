"""`warmline` command line: check, serve, demo, transcribe, prompts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from warmline import __version__
from warmline.calls.listening import listening_sessions
from warmline.calls.transcribe import transcribe_file
from warmline.catalog import open_store
from warmline.config import Settings, load_settings
from warmline.errors import WarmlineError
from warmline.health import CheckResult
from warmline.logs import setup_logging
from warmline.memory import MemoryReleaser, limit_arenas
from warmline.numbers.routing import with_routing_overrides
from warmline.plugins import load_pbx_plugin
from warmline.speech import prompts
from warmline.speech.services import build_engine, build_services, build_vad

log = logging.getLogger("warmline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="warmline", description="On-prem voice-AI front line for your PBX.")
    parser.add_argument("--version", action="version", version=f"warmline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("check", "validate the configuration and every connection; non-zero exit on any failure"),
        ("serve", "run the Stasis application and take calls"),
        ("watchdog", "hold no models; while no live serve holds the calls, hand callers to the fallback"),
        ("health", "is a Warmline serving right now? reads its heartbeat, loads no models (exit 0/1)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", "-c", help="TOML file (default: $WARMLINE_CONFIG, ./warmline.toml, /etc/warmline/warmline.toml)")
    sub.choices["check"].add_argument(
        "--only", choices=("models",),
        help="models: only the VAD, STT and intent models and the flows with their prompt catalog (no PBX, CRM or built prompts)",
    )
    demo = sub.add_parser("demo", help="scripted calls through Warmline on the sandbox Asterisk")
    demo.add_argument("--sandbox", default="default", help="sandbox name (scripts/asterisk-sandbox up --name)")
    demo.add_argument("--console", nargs="?", const="127.0.0.1:8088", default="", metavar="HOST:PORT",
                      help="also run the producer console (default 127.0.0.1:8088) and keep it up until Ctrl-C")
    tr = sub.add_parser("transcribe", help="print PATH<TAB>TEXT for 8 or 16 kHz mono WAV files")
    tr.add_argument("files", nargs="+", metavar="FILE")
    tr.add_argument("--config", "-c", help="TOML file ([vad] and [stt] are used)")
    pr = sub.add_parser("prompts", help="render the prompt texts to 8 kHz sound files, or list them")
    pr.add_argument("action", choices=("build", "list"))
    pr.add_argument("--config", "-c", help="TOML file ([prompts] is used)")
    trn = sub.add_parser("train", help="train the intent model and write it with its card (needs the train extra)")
    trn.add_argument("--out", default="models/intent", help="output folder (default: models/intent)")
    trn.add_argument("--clinc", default=None, help="CLINC150 data_full.json (default: models/intents/clinc150/data_full.json)")
    crm = sub.add_parser("crm", help="the embedded CRM: `seed` fills it with the demo agency")
    crm.add_argument("action", choices=("seed",))
    crm.add_argument("path", nargs="?", help="SQLite file (default: [crm] sqlite_path)")
    crm.add_argument("--config", "-c", help="TOML file ([crm] is used)")
    con = sub.add_parser("console", help="the producer console: `user add|list|remove` manages its accounts")
    con.add_argument("what", choices=("user",))
    con.add_argument("action", choices=("add", "list", "remove"))
    con.add_argument("name", nargs="?", help="the account's login name")
    con.add_argument("--role", choices=("producer", "supervisor", "owner", "admin"))
    con.add_argument("--producer", default="", help="the producer's name as [handoff] producers spell it")
    con.add_argument("--phone", default="", help="a supervisor's own phone, e.g. PJSIP/2001 (listen, whisper, barge)")
    con.add_argument("--config", "-c", help="TOML file ([console] database is used)")
    cls = sub.add_parser("classify", help="one utterance per line on stdin → one JSON object per line")
    cls.add_argument("--config", "-c", help="TOML file ([nlu] is used)")
    from warmline.numbers import cli as numbers_cli

    numbers_cli.add_commands(sub)  # report, numbers, feedback, routing; train --with-feedback
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return asyncio.run(load_pbx_plugin("asterisk").demo(args.sandbox, args.console))
        if args.command == "train" and args.with_feedback is not None:
            from warmline.numbers.retrain import retrain_command

            return retrain_command(load_settings(args.config), args)
        if args.command == "train":
            from warmline.nlu.cli import train_command

            return train_command(args.out, args.clinc)
        settings = with_routing_overrides(load_settings(args.config))  # applied from the weekly review, audited
        if args.command in numbers_cli.COMMANDS:
            return numbers_cli.run(args, settings, open_store)
        if args.command == "crm":
            from warmline.crm.seed import seed_command

            return seed_command(args.path or settings.crm.sqlite_path)
        if args.command == "console":
            from warmline.console.cli import user_command

            return user_command(settings.console.database, args.action, args.name, args.role, args.producer,
                                args.phone)
        if args.command == "classify":
            from warmline.nlu.cli import classify_command

            return classify_command(settings.nlu)
        if args.command == "transcribe":
            setup_logging("WARNING", settings.log.format, settings.secrets())
            return asyncio.run(transcribe(settings, args.files))
        if args.command == "prompts":
            return prompts_command(settings, args.action)
        if args.command == "check":
            setup_logging("ERROR", "text", settings.secrets())  # verdicts are the output; keep library chatter out
            logging.getLogger("panoramisk").setLevel(logging.CRITICAL)
            return asyncio.run(check(settings, only=args.only))
        setup_logging(settings.log.level, settings.log.format, settings.secrets())
        if args.command == "health":
            return asyncio.run(health(settings))
        if args.command == "watchdog":
            return asyncio.run(watchdog(settings))
        return asyncio.run(serve(settings))
    except WarmlineError as exc:
        print(f"warmline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def check(settings: Settings, only: str | None = None) -> int:
    everything = only is None  # only == "models": what ships in the install, nothing it must reach
    results = [CheckResult("config", True, "valid")]
    if everything:
        try:
            plugin = load_pbx_plugin(settings.pbx)
            results += await plugin.check(settings)
        except WarmlineError as exc:
            results.append(CheckResult("pbx-plugin", False, str(exc)))
    results += await asyncio.to_thread(check_models, settings)
    if everything:
        results.append(check_prompts(settings))
    results.append(check_intent_model(settings))
    results.append(check_flows(settings))
    if everything:
        results.append(await check_crm(settings))
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'}  {result.item:<11} {result.detail}")
    return 0 if all(r.ok for r in results) else 1


def check_models(settings: Settings) -> list[CheckResult]:
    """Load each model the configuration names, exactly as serve would."""
    results = []
    try:
        vad = build_vad(settings.vad)
        results.append(CheckResult("vad-model", True, f"{vad.name} VAD loaded"))
    except WarmlineError as exc:
        results.append(CheckResult("vad-model", False, str(exc)))
    try:
        engine = build_engine(settings.stt)
        results.append(CheckResult("stt-model", True, engine.describe()))
    except WarmlineError as exc:
        results.append(CheckResult("stt-model", False, str(exc)))
    return results


def check_intent_model(settings: Settings) -> CheckResult:
    from warmline.nlu.classify import model_dir
    from warmline.nlu.model import IntentModel

    try:
        return CheckResult("intent", True, IntentModel(model_dir(settings.nlu)).describe())
    except WarmlineError as exc:
        return CheckResult("intent", False, str(exc))


def check_flows(settings: Settings) -> CheckResult:
    from warmline.conversation.build import flows_path, load_checked_flows

    try:
        flows = load_checked_flows(settings.dialog, prompts.load_catalog(settings.prompts))
    except WarmlineError as exc:
        return CheckResult("flows", False, str(exc))
    return CheckResult("flows", True, f"{len(flows.intents)} intent flows in {flows_path(settings.dialog)}")


async def check_crm(settings: Settings) -> CheckResult:
    from warmline.crm.settings import open_crm

    try:
        crm = await open_crm(settings.crm)
        try:
            agency = await crm.agency()
        finally:
            await crm.close()
    except WarmlineError as exc:
        return CheckResult("crm", False, str(exc))
    return CheckResult("crm", True, f"{settings.crm.backend} CRM answers for {agency.name}")


def check_prompts(settings: Settings) -> CheckResult:
    try:
        catalog = prompts.load_catalog(settings.prompts)
    except WarmlineError as exc:
        return CheckResult("prompts", False, str(exc))
    cfg = settings.prompts
    stale = prompts.unbuilt(catalog, Path(cfg.dir), cfg.engine, cfg.voice or None)
    if stale:
        shown = ", ".join(stale[:5]) + (" …" if len(stale) > 5 else "")
        return CheckResult("prompts", False, f"{len(stale)} of {len(catalog.texts)} prompts not built or out of date "
                                             f"in {cfg.dir} ({shown}): run `warmline prompts build`")
    return CheckResult("prompts", True, f"{len(catalog.texts)} prompts built in {cfg.dir}")


def prompts_command(settings: Settings, action: str) -> int:
    catalog = prompts.load_catalog(settings.prompts)
    cfg = settings.prompts
    if action == "list":
        stale = set(prompts.unbuilt(catalog, Path(cfg.dir), cfg.engine, cfg.voice or None))
        for key, text in catalog.texts.items():
            print(f"{key}\t{'to build' if key in stale else 'built'}\t{text}")
        return 0
    report = prompts.build(catalog, Path(cfg.dir), cfg.engine, cfg.voice or None)
    print(f"prompts: {len(report.rendered)} rendered, {len(report.kept)} unchanged, "
          f"{len(report.removed)} removed in {cfg.dir}")
    return 0


async def transcribe(settings: Settings, files: list[str]) -> int:
    services = build_services(settings.vad, settings.stt)
    failures = 0
    try:
        for name in files:
            try:
                text = await transcribe_file(Path(name), services)
            except WarmlineError as exc:
                print(f"warmline: {exc}", file=sys.stderr)
                failures += 1
                continue
            print(f"{name}\t{text}", flush=True)
    finally:
        services.close()
    return 1 if failures else 0


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def health(settings: Settings) -> int:
    result = await load_pbx_plugin(settings.pbx).health(settings)
    print(f"{'ok' if result.ok else 'FAIL':<5} {result.item:<11} {result.detail}")
    return 0 if result.ok else 1


async def watchdog(settings: Settings) -> int:
    await load_pbx_plugin(settings.pbx).watchdog(settings, stop_on_signals())
    return 0


def live_metrics(services):
    from warmline.numbers.prometheus import SttPoolCollector, live

    metrics = live()
    metrics.add_collector(SttPoolCollector(services.stt))
    return metrics


async def standalone_metrics(settings: Settings, metrics):
    """[metrics] listen: /metrics on its own port while serve runs (the console serves it too); None when off."""
    from warmline.numbers.prometheus import start_metrics_server

    return await start_metrics_server(settings.metrics.listen, metrics) if settings.metrics.listen else None


async def serve(settings: Settings) -> int:
    limit_arenas()  # before the model threads start (warmline/memory.py)
    plugin = load_pbx_plugin(settings.pbx)
    # callers a dead process left behind are handed on while the models load, not after
    services, _ = await asyncio.gather(asyncio.to_thread(build_services, settings.vad, settings.stt),
                                       plugin.prepare(settings))
    stop = stop_on_signals()
    metrics = live_metrics(services)  # fed by the store: every event this process records, the console's too
    metrics_site = await standalone_metrics(settings, metrics)
    store = open_store(settings.store, on_commit=metrics.on_commit)
    kit = None
    try:
        if settings.dialog.enabled:
            from warmline.conversation.build import open_conversation

            kit = await open_conversation(settings)
            sessions = kit.sessions(services, barge_in=settings.prompts.barge_in)
        else:
            sessions = listening_sessions(services, barge_in=settings.prompts.barge_in)
        log.info("warmline %s serving", __version__, extra={"pbx": settings.pbx})
        # the releaser: freed native memory back to the system after calls (warmline/memory.py)
        listeners = [store.record, MemoryReleaser()]
        async with console_for(settings, store, metrics) as console:
            if console is not None:
                listeners.append(console)  # every event of every call: the screen pop, the board, wrap-ups
            await plugin.serve(settings, sessions, stop, listeners, desk=console)
    finally:
        if kit is not None:
            await kit.crm.close()
        store.close()
        services.close()
        if metrics_site is not None:
            await metrics_site.cleanup()
    log.info("warmline stopped")
    return 0


def console_for(settings: Settings, store, metrics=None):
    """The producer console when [console] enabled, else nothing (an empty context)."""
    if not settings.console.enabled:
        return contextlib.nullcontext()
    from warmline.console.server import running_console

    return running_console(settings, store, metrics)


if __name__ == "__main__":
    sys.exit(main())
