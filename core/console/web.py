"""The console's web side: pages, the live stream, the forms; sessions, CSRF and roles on every request.

Unauthenticated: 401 for the API and the live stream, a redirect to the login page for pages.
Wrong role: 403. Every state-changing request carries the session's CSRF token (a form field or
the X-CSRF-Token header); the login form carries its own, bound to a cookie.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import jinja2
from aiohttp import web
from warmline.console.auth import LoginLimiter, verify_password
from warmline.console.cards import build_pop, payload_of
from warmline.console.pops import Phase, PopStatus
from warmline.console.service import Console
from warmline.console.store import Account, ConsoleError, Role
from warmline.console.wrapup import LABELS, FormError, parse_form
from warmline.errors import WarmlineError
from warmline.pbx import SuperviseMode

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "wl_session"
LOGIN_COOKIE = "wl_login"
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)
HEARTBEAT_S = 15.0
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = ("/login", "/static/")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Report = Callable[[str | None], Awaitable[str]]  # ISO week or None (the last complete one) -> the review's HTML
# the review is one self-contained page: its own inline style, charts as data: images, no script at all
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"

CONSOLE = web.AppKey("console", Console)
CONFIG = web.AppKey("config", dict)
# the request's session (aiohttp 3.12+ types request storage; older ones take the plain name)
SESSION = getattr(web, "RequestKey", lambda name, _t: name)("session", object)


def templates() -> jinja2.Environment:
    # autoescape everything: caller words reach the page as text, never as markup
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["clock"] = lambda at: time.strftime("%H:%M:%S", time.localtime(at)) if at else "—"
    return env


def make_app(console: Console, *, texts: dict[str, str] | None = None, queues: tuple[str, ...] = (),
             intents: tuple[str, ...] = (), report: Report | None = None,
             metrics: Handler | None = None) -> web.Application:
    """`report(week or None)` renders the weekly review for owners and supervisors; `metrics` serves
    Prometheus' /metrics (open like any scrape target: its labels carry no personal data)."""
    settings = console.settings
    app = web.Application(middlewares=[_headers, _session, _csrf], client_max_size=64 * 1024)
    app[CONSOLE] = console
    app[CONFIG] = {"env": templates(), "texts": texts or {}, "queues": queues, "intents": intents,
                   "limiter": LoginLimiter(settings.login_attempts, settings.login_window_s),
                   "secure": settings.secure, "idle_s": settings.idle_timeout_s, "report": report,
                   "open": OPEN_PATHS + (("/metrics",) if metrics else ())}
    if metrics is not None:
        app.router.add_get("/metrics", metrics)
    if report is not None:
        app.router.add_get("/report", report_page)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
    app.router.add_get("/board", board_page)
    app.router.add_get("/accounts", accounts_page)
    app.router.add_get("/calls/{call_id}", call_page)
    app.router.add_get("/api/calls/{call_id}", call_json)
    app.router.add_post("/calls/{call_id}/disposition", disposition)
    app.router.add_post("/calls/{call_id}/supervise", supervise)
    app.router.add_post("/calls/{call_id}/take-over", take_over)
    app.router.add_post("/callbacks/{call_id}/claim", claim_callback)
    app.router.add_post("/callbacks/{call_id}/close", close_callback)
    app.router.add_post("/api/alive", alive)
    app.router.add_get("/events", live)
    app.router.add_get("/fragments/{name}", fragment)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    return app


# --- middlewares --------------------------------------------------------------------------------

def _is_api(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/events", "/fragments/"))


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[SESSION] = None
    token = request.cookies.get(SESSION_COOKIE)
    config = request.app[CONFIG]
    if token:
        touch = request.path != "/events"  # an open stream is not activity; the page's own pings are
        request[SESSION] = await request.app[CONSOLE].store.session(token, time.time(), config["idle_s"],
                                                                      touch=touch)
    if request[SESSION] is None and not request.path.startswith(config["open"]):
        if _is_api(request) or request.method in UNSAFE:
            raise web.HTTPUnauthorized(text='{"error": "log in first"}', content_type="application/json")
        raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
    return await handler(request)


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE and request.path != "/login":
        given = request.headers.get("X-CSRF-Token", "")
        if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            given = str((await request.post()).get("csrf", ""))
        if not hmac.compare_digest(given.encode(), request[SESSION].csrf.encode()):
            raise web.HTTPForbidden(text="the form is stale or forged (CSRF token): reload the page and try again")
    return await handler(request)


def account_of(request: web.Request) -> Account:
    return request[SESSION].account


def need(request: web.Request, *roles: Role) -> Account:
    account = account_of(request)
    if account.role not in roles:
        raise web.HTTPForbidden(text=f"not for a {account.role} account")
    return account


def render(request: web.Request, name: str, status: int = 200, **values) -> web.Response:
    session = request.get(SESSION)
    values.setdefault("account", session.account if session else None)
    values.setdefault("csrf", session.csrf if session else "")
    html = request.app[CONFIG]["env"].get_template(name).render(**values)
    return web.Response(text=html, content_type="text/html", status=status)


# --- login --------------------------------------------------------------------------------------

def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=request.app[CONFIG]["secure"],
                        path="/")


async def login_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    if request[SESSION] is not None and not error:
        raise web.HTTPFound("/")
    # one token per browser: a second tab, or the browser's own /favicon.ico sent here, must not make
    # the open form stale by replacing the cookie it is checked against
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not LOGIN_TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, error=error, login_csrf=token,
                      next=_local(request.query.get("next", "/")))
    _cookie(response, request, LOGIN_COOKIE, token)
    return response


def _local(target: str) -> str:
    """Only paths on this console: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    config, console = request.app[CONFIG], request.app[CONSOLE]
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")).encode(), expected.encode()):
        raise web.HTTPForbidden(text="the login form is stale (CSRF token): reload the page and try again")
    name = str(form.get("name", "")).strip()
    keys = (f"name:{name.lower()}", f"addr:{request.remote}")
    limiter: LoginLimiter = config["limiter"]
    now = time.monotonic()
    if wait := limiter.retry_after(keys, now):
        response = await login_page(request, error="Too many failed logins: wait a few minutes and try again.",
                                    status=429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    found = await console.store.credentials(name) if name else None
    ok = await verify_password(found[1] if found else None, str(form.get("password", "")))
    if not ok or found is None:
        limiter.failed(keys, now)
        log.info("console: a login failed")  # never the name tried: it may be a password typed in the wrong box
        return await login_page(request, error="Wrong name or password.", status=401)
    limiter.succeeded(keys)
    token, _ = await console.store.open_session(found[0], time.time())
    response = web.HTTPSeeOther(_local(str(form.get("next", "/"))))
    _cookie(response, request, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[CONSOLE].store.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def alive(request: web.Request) -> web.Response:
    """The page's activity ping (keys, clicks): what keeps an attended session from idling out."""
    return web.json_response({"ok": True})


# --- pages --------------------------------------------------------------------------------------

async def home(request: web.Request) -> web.StreamResponse:
    account = account_of(request)
    if account.sees_all:
        raise web.HTTPFound("/board")
    if account.role == Role.ADMIN:
        raise web.HTTPFound("/accounts")
    return render(request, "desk.html", pops=await _pops(request, account), callbacks=await _callbacks(request),
                  saved=request.query.get("saved", ""), **_form_choices(request))


def _form_choices(request: web.Request) -> dict:
    config = request.app[CONFIG]
    return {"labels": LABELS, "queues": config["queues"], "intents": config["intents"]}


async def _pops(request: web.Request, account: Account, only: str | None = None) -> list:
    console = request.app[CONSOLE]
    pops = []
    for card in console.router.pops_of(account.producer):
        if only and card.call_id != only:
            continue
        pops.append(await _pop(request, card, account.producer))
    return [p for p in pops if p is not None]


async def _pop(request: web.Request, card, viewer: str):
    console, config = request.app[CONSOLE], request.app[CONFIG]
    payload = payload_of(card)
    if payload is None:
        return None
    pop = build_pop(card, payload, viewer=viewer, texts=config["texts"], snapshot=console.snapshots.get(card.call_id))
    if viewer and card.status(viewer) in (PopStatus.WRAP_UP, PopStatus.DONE):
        wrap = await console.store.wrapup(card.call_id, viewer)
        if wrap is not None:
            object.__setattr__(pop, "reminded", wrap.reminded)
            object.__setattr__(pop, "saved", json.loads(wrap.disposition) if wrap.disposition else {})
    return pop


async def _callbacks(request: web.Request) -> list:
    console = request.app[CONSOLE]
    account = account_of(request)
    out = []
    for cb in await console.store.open_callbacks():
        if not console.sees_callbacks(account, cb.queue):
            continue
        card = await console.card(cb.call_id)
        payload = payload_of(card) if card else None
        out.append({"cb": cb, "view": build_pop(card, payload, viewer="", texts=request.app[CONFIG]["texts"])
                    if payload else None})
    return out


async def call_page(request: web.Request) -> web.Response:
    account = need(request, Role.PRODUCER, Role.SUPERVISOR, Role.OWNER)
    pop = await _viewable(request, account)
    return render(request, "call.html", pop=pop, **_form_choices(request))


async def call_json(request: web.Request) -> web.Response:
    account = need(request, Role.PRODUCER, Role.SUPERVISOR, Role.OWNER)
    pop = await _viewable(request, account)
    return web.json_response({"call_id": pop.call_id, "status": pop.status, "caller_name": pop.caller_name,
                              "verified": pop.verified, "reason": pop.reason, "intent": pop.intent,
                              "transcript": [[t.at, t.speaker, t.text] for t in pop.transcript]})


async def _viewable(request: web.Request, account: Account):
    """The call's pop for this account: 403 for a producer it was never handed to."""
    call_id = request.match_info["call_id"]
    console = request.app[CONSOLE]
    card = await console.card(call_id)
    if not account.sees_all:
        wrap = await console.store.wrapup(call_id, account.producer)
        cb = await console.store.callback(call_id)
        handed = card is not None and console.router.handed_to(call_id, account.producer)
        if not (handed or wrap or (cb and console.sees_callbacks(account, cb.queue))):
            raise web.HTTPForbidden(text="this call was not handed to you")
    if card is None or payload_of(card) is None:
        raise web.HTTPNotFound(text="no such call with a hand-off")
    return await _pop(request, card, "" if account.sees_all else account.producer)


async def board_page(request: web.Request) -> web.Response:
    need(request, Role.SUPERVISOR, Role.OWNER)
    return render(request, "board.html", **_board(request))


def _board(request: web.Request) -> dict:
    console = request.app[CONSOLE]
    rows = []
    for card in console.router.board():
        if card.phase == Phase.WITH_AI:
            where, since, detail = "with the AI", card.started_at, f"{card.intent.replace('_', ' ') or '…'}, turn {card.turns}"
        elif card.phase in (Phase.ON_HOLD, Phase.RINGING, Phase.IN_QUEUE):
            ringing = f"ringing {card.producer}" if card.producer else card.phase.value.replace("_", " ")
            where, since, detail = "on hold", card.holding_since, ringing
        elif card.phase == Phase.CALLBACK:
            where, since, detail = "call-back list", card.holding_since, card.queue
        else:
            where, since, detail = f"with {card.bridged_to}", card.bridged_at, card.queue
        rows.append({"call_id": card.call_id, "where": where, "since": since, "detail": detail,
                     "supervisors": card.supervisors, "with_ai": card.phase == Phase.WITH_AI,
                     "bridged": bool(card.bridged_to)})
    return {"calls": rows, "producers": console.board_producers(), "now": time.time(),
            "connected": console.actions is not None}


async def report_page(request: web.Request) -> web.Response:
    """GET /report[?week=2026-W48]: the weekly review (owners, supervisors, admins)."""
    need(request, Role.OWNER, Role.SUPERVISOR, Role.ADMIN)
    week = request.query.get("week") or None
    try:
        html = await request.app[CONFIG]["report"](week)
    except WarmlineError as exc:
        raise web.HTTPBadRequest(text=f"{exc} (e.g. /report?week=2026-W48)") from None
    return web.Response(text=html, content_type="text/html", headers={"Content-Security-Policy": REPORT_CSP})


async def accounts_page(request: web.Request) -> web.Response:
    need(request, Role.ADMIN)
    return render(request, "accounts.html", accounts=await request.app[CONSOLE].store.accounts())


async def fragment(request: web.Request) -> web.Response:
    """A piece of a page, re-rendered for the live stream's reader."""
    account = account_of(request)
    name = request.match_info["name"]
    if name == "board":
        need(request, Role.SUPERVISOR, Role.OWNER)
        return render(request, "_board.html", **_board(request))
    if name == "callbacks":
        return render(request, "_callbacks.html", callbacks=await _callbacks(request))
    if name == "pops" and account.role == Role.PRODUCER:
        return render(request, "_pops.html", pops=await _pops(request, account), **_form_choices(request))
    raise web.HTTPNotFound()


# --- forms ----------------------------------------------------------------------------------------

def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def disposition(request: web.Request) -> web.StreamResponse:
    account = need(request, Role.PRODUCER)
    call_id = request.match_info["call_id"]
    config = request.app[CONFIG]
    form = {k: str(v) for k, v in (await request.post()).items()}
    try:
        fields = parse_form(form, queues=config["queues"], intents=config["intents"])
        wrap = await request.app[CONSOLE].record(account, call_id, fields)
    except (FormError, ConsoleError) as exc:
        if _wants_json(request):
            return web.json_response({"error": str(exc)}, status=400)
        pops = await _pops(request, account)
        return render(request, "desk.html", status=400, pops=pops, callbacks=await _callbacks(request),
                      saved="", error=str(exc), error_call=call_id, form=form, **_form_choices(request))
    if _wants_json(request):
        return web.json_response({"saved": True, "disposition": json.loads(wrap.disposition)})
    raise web.HTTPSeeOther(f"/?saved={quote(call_id)}")


async def supervise(request: web.Request) -> web.Response:
    account = need(request, Role.SUPERVISOR)
    form = await request.post()
    try:
        mode = SuperviseMode(str(form.get("mode", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="mode must be listen, whisper or barge") from None
    actions = _actions(request, account)
    await _desk(actions.supervise(request.match_info["call_id"], account.phone, mode))
    return _done(request, f"{mode.value}: your phone ({account.phone}) is ringing")


async def take_over(request: web.Request) -> web.Response:
    account = need(request, Role.SUPERVISOR)
    actions = _actions(request, account)
    await _desk(actions.take_over(request.match_info["call_id"], account.name, account.phone))
    return _done(request, f"taking over: your phone ({account.phone}) will ring with the caller")


def _actions(request: web.Request, account: Account):
    if not account.phone:
        raise web.HTTPBadRequest(text="your account has no phone: `warmline console user add NAME --role supervisor "
                                 "--phone PJSIP/2001` (or ask an admin)")
    actions = request.app[CONSOLE].actions
    if actions is None:
        raise web.HTTPServiceUnavailable(text="the PBX is not connected right now; try again in a moment")
    return actions


async def _desk(step) -> None:
    try:
        await step
    except ConsoleError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    except Exception as exc:  # the PBX refused: say so without leaking its details
        log.warning("console: a desk action failed: %s", type(exc).__name__)
        raise web.HTTPBadGateway(text=f"the PBX could not do it ({type(exc).__name__})") from None


def _done(request: web.Request, message: str) -> web.Response:
    if _wants_json(request):
        return web.json_response({"ok": True, "message": message})
    return render(request, "done.html", message=message)


async def claim_callback(request: web.Request) -> web.StreamResponse:
    account = need(request, Role.PRODUCER, Role.SUPERVISOR)
    cb = await request.app[CONSOLE].claim(account, request.match_info["call_id"])
    if cb is None:
        raise web.HTTPNotFound(text="no such call-back")
    if cb.claimed_by != account.name:
        raise web.HTTPConflict(text=f"already claimed by {cb.claimed_by}")
    raise web.HTTPSeeOther("/" if not account.sees_all else "/board")


async def close_callback(request: web.Request) -> web.StreamResponse:
    account = need(request, Role.PRODUCER, Role.SUPERVISOR)
    cb = await request.app[CONSOLE].close_callback(account, request.match_info["call_id"])
    if cb is None or not cb.closed:
        raise web.HTTPConflict(text="only the one who claimed a call-back closes it")
    raise web.HTTPSeeOther("/" if not account.sees_all else "/board")


# --- the live stream ------------------------------------------------------------------------------

async def live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a card, the board or the call-backs changed; the browser reconnects by itself."""
    session = request[SESSION]
    console, config = request.app[CONSOLE], request.app[CONFIG]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    sub = console.subscribe(session.account)
    try:
        await response.write(b"retry: 1000\n\n")
        while True:
            try:
                message = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                if await console.store.session(request.cookies.get(SESSION_COOKIE, ""), time.time(),
                                               config["idle_s"], touch=False) is None:
                    await _send(response, "expired", {})
                    break
                await response.write(b": alive\n\n")
                continue
            if message[0] == "bye":
                break
            if message[0] == "board":
                while not sub.queue.empty() and sub.queue._queue[0] == ("board",):  # coalesce a burst
                    sub.queue.get_nowait()
            await _send(response, *await _message(request, session.account, message))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        console.unsubscribe(sub)
    return response


async def _message(request: web.Request, account: Account, message: tuple) -> tuple[str, dict]:
    env = request.app[CONFIG]["env"]
    session = request[SESSION]
    if message[0] == "card":
        card = request.app[CONSOLE].router.calls.get(message[1])
        pop = await _pop(request, card, account.producer) if card else None
        if pop is None:
            return "remove", {"call_id": message[1]}
        html = env.get_template("_card.html").render(pop=pop, csrf=session.csrf, account=account,
                                                     **_form_choices(request))
        return "card", {"call_id": pop.call_id, "status": pop.status, "html": html}
    if message[0] == "board":
        return "board", {"html": env.get_template("_board.html").render(**_board(request), csrf=session.csrf,
                                                                         account=account)}
    callbacks = await _callbacks(request)
    return "callbacks", {"html": env.get_template("_callbacks.html").render(callbacks=callbacks, csrf=session.csrf,
                                                                             account=account)}


async def _send(response: web.StreamResponse, kind: str, data: dict) -> None:
    await response.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())


# --- serving --------------------------------------------------------------------------------------

def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConsoleError(f"[console] tls_cert/tls_key cannot be loaded ({exc}); give a PEM certificate and "
                           "its key") from None
    return context
