"""The drill's web server: a Starlette app with HTTP endpoints, one WebSocket per page, and the page itself.

Every request goes through :meth:`DrillApp.guard`: the ``Host`` header must name this server and a browser's
``Origin`` must be this server (both stop DNS rebinding: a page of another site that resolves its name to
127.0.0.1 sends its own name in both), the sender's role comes from its cookie (or an ``Authorization:
Bearer`` token, for scripts), and each token has a rate limit. Refusals say why: 403 (wrong host or origin,
no or unknown token, a role that may not do it), 422 (each bad field named), 429 (with ``Retry-After``).

Endpoints
---------
``GET /join?token=T``
    Exchanges the token for an HttpOnly, SameSite=Strict cookie and redirects to ``/`` (the token leaves
    the address bar).
``GET /`` and ``GET /static/{name}``
    The page (plain HTML, JavaScript and CSS from the package: no build step, no external request).
``GET /api/me``, ``/api/map``, ``/api/state``
    The role and its command forms; the map; a snapshot (as the first WebSocket message).
``GET /api/msel``, ``/api/journal``
    The injects and the journal (controller and evaluators).
``POST /api/command``, ``/api/clock``, ``/api/inject``
    A command (desk players and the controller), a clock action or an inject fired by hand (controller).
``WS /ws``
    Pushes deltas (:mod:`twin.drill.views`) a few times a second; takes the same commands as the POSTs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from twin.drill.commands import COMMANDS, CommandError
from twin.drill.roles import DESK_GROUPS, DESKS, RateLimit, Role, Tokens, drill_roles
from twin.drill.session import DrillSession, RefusedError
from twin.drill.views import ClientView, map_document

COOKIE = "twin_drill"
PUSH_EVERY_S = 0.25
TICK_EVERY_S = 0.1
STATIC = {"drill.js": "text/javascript", "drill.css": "text/css", "index.html": "text/html"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class GuardError(Exception):
    """A refused request: its HTTP status and the reason."""

    def __init__(self, status: int, reason: str, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after_s = status, reason, retry_after_s


def local_hosts(host: str, port: int) -> list[str]:
    """The ``Host`` values this server answers to: the address it is bound to and the loopback names."""
    names = dict.fromkeys([host, "127.0.0.1", "localhost", "[::1]"])
    return [f"{name}:{port}" for name in names] + (list(names) if port == 80 else [])


class DrillApp:
    """The app around a session; :attr:`app` is the ASGI application.

    Parameters
    ----------
    session
        The drill.
    hosts
        Accepted ``Host`` header values (``name:port``; see :func:`local_hosts`).
    tokens
        The roles' tokens (default: fresh ones).
    rate
        A per-token rate limit (default 20 requests per second, bursts of 40).
    tick
        Whether to pace the engine (tests of the endpoints turn it off and step by hand).
    """

    def __init__(
        self,
        session: DrillSession,
        hosts: list[str],
        tokens: Tokens | None = None,
        rate: RateLimit | None = None,
        tick: bool = True,
    ) -> None:
        self.session = session
        self.hosts = set(hosts)
        self.origins = {f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")}
        self.tokens = tokens or Tokens(drill_roles(tuple(COMMANDS)))
        self.rate = rate or RateLimit()
        self.tick = tick
        self.map_json = json.dumps(map_document(session.model.city), separators=(",", ":"))
        self.finished = asyncio.Event()
        self.app = Starlette(routes=self._routes(), lifespan=self._lifespan)

    def _routes(self) -> list[Route | WebSocketRoute]:
        get, post = ["GET"], ["POST"]
        return [
            Route("/join", self.join, methods=get),
            Route("/", self.page, methods=get),
            Route("/static/{name}", self.static, methods=get),
            Route("/api/me", self._json(self.me, "read"), methods=get),
            Route("/api/map", self.map, methods=get),
            Route("/api/state", self._json(self.state, "read"), methods=get),
            Route("/api/msel", self._json(self.msel, "read"), methods=get),
            Route("/api/journal", self._json(self.journal, "read"), methods=get),
            Route("/api/command", self._json(self.command, "write"), methods=post),
            Route("/api/clock", self._json(self.clock, "write"), methods=post),
            Route("/api/inject", self._json(self.inject, "write"), methods=post),
            WebSocketRoute("/ws", self.websocket),
        ]

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self._pace()) if self.tick else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _pace(self) -> None:
        """Step the engine towards the clock in a worker thread, one step at a time, until the drill ends.

        The event loop only awaits each step, so requests and pushes go on while a step computes (commands
        that come meanwhile are journaled at once and applied when it ends: :meth:`DrillSession.step_once`);
        when no step is due it looks again a few times a second.
        """
        while not self.session.ended:
            if not await asyncio.to_thread(self.session.step_once):
                await asyncio.sleep(TICK_EVERY_S)
        if not self.session.closed:
            await asyncio.to_thread(self.session.finish)
        self.finished.set()

    # --- checks ------------------------------------------------------------------------------------------

    def guard(self, conn: HTTPConnection) -> Role:
        """The sender's role, after the Host, Origin, token and rate checks (GuardError when refused).

        The cookie is SameSite=Strict, so another site's page cannot send it; a browser always sends
        ``Origin`` with a WebSocket and a POST, so a page of another origin is refused here.
        """
        host = conn.headers.get("host", "")
        if host not in self.hosts:
            raise GuardError(403, f"wrong Host {host!r}: open the drill at one of {', '.join(sorted(self.hosts))}")
        origin = conn.headers.get("origin")
        if origin is not None and origin not in self.origins:
            raise GuardError(403, f"requests from the page of {origin!r} are refused: use the drill's own page")
        token = self._token(conn)
        role = self.tokens.role_of(token)
        if role is None:
            reason = "no token" if token is None else "unknown token"
            raise GuardError(403, f"{reason}: open the link for your role that twin drill printed when it started")
        wait = self.rate.take(role.name + ":" + str(token))
        if wait > 0:
            raise GuardError(429, f"too many requests: wait {wait:.1f} s", wait)
        return role

    def _token(self, conn: HTTPConnection) -> str | None:
        auth = conn.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return conn.cookies.get(COOKIE)

    def _json(
        self, handler: Callable[[Role, Any], dict[str, Any]], mode: str
    ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint that checks the sender, reads a JSON body (writes) and answers JSON, errors included."""

        async def endpoint(request: Request) -> Response:
            try:
                role = self.guard(request)
                body = await _body(request) if mode == "write" else None
                return _respond(200, handler(role, body))
            except GuardError as exc:
                return _refusal(exc)
            except RefusedError as exc:
                return _respond(403, {"error": str(exc)})
            except CommandError as exc:
                return _respond(422, _invalid(exc))

        return endpoint

    # --- endpoints ---------------------------------------------------------------------------------------

    async def join(self, request: Request) -> Response:
        """Swap the token of the link for a cookie, and take it out of the address bar."""
        token = request.query_params.get("token")
        host = request.headers.get("host", "")
        if host not in self.hosts:
            return _page_refusal(403, f"wrong Host {host!r}")
        if self.tokens.role_of(token) is None:
            return _page_refusal(403, "this link's token is not one of this drill's: use a link printed at its start")
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(COOKIE, str(token), httponly=True, samesite="strict", path="/")
        return response

    async def page(self, request: Request) -> Response:
        try:
            self.guard(request)
        except GuardError as exc:
            return _page_refusal(exc.status, exc.reason)
        return HTMLResponse(_static_text("index.html"), headers=SECURITY_HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", 404)
        try:
            self.guard(request)
        except GuardError as exc:
            return _refusal(exc)
        return Response(_static_text(name), media_type=STATIC[name], headers=SECURITY_HEADERS)

    async def map(self, request: Request) -> Response:
        try:
            self.guard(request)
        except GuardError as exc:
            return _refusal(exc)
        return Response(self.map_json, media_type="application/json", headers=SECURITY_HEADERS)

    def me(self, role: Role, _body: Any) -> dict[str, Any]:
        return {
            "role": role.name,
            "kind": role.kind,
            "title": role.title,
            "commands": [COMMANDS[name].describe() for name in role.commands if name in COMMANDS],
            "desks": DESKS,
            "controls": role.controls,
            "repairs": DESK_GROUPS.get(role.name),  # the group whose repairs the desk may put first (None: any)
            "scenario": self.session.model.spec.name,
        }

    def state(self, role: Role, _body: Any) -> dict[str, Any]:
        return ClientView(role).update(self.session) or {}

    def msel(self, role: Role, _body: Any) -> dict[str, Any]:
        if not role.sees_everything:
            raise RefusedError(f"the MSEL is for the controller and evaluators, not the {role.title} role")
        return {"injects": [{**i.describe(), "sent": i.number in self.session.fired} for i in self.session.injects]}

    def journal(self, role: Role, _body: Any) -> dict[str, Any]:
        if not role.sees_everything:
            raise RefusedError(f"the journal is for the controller and evaluators, not the {role.title} role")
        return {"entries": self.session.entries}

    def command(self, role: Role, body: Any) -> dict[str, Any]:
        return self.session.submit(role, body)

    def clock(self, role: Role, body: Any) -> dict[str, Any]:
        return self.session.control(role, body)

    def inject(self, role: Role, body: Any) -> dict[str, Any]:
        if not role.controls:
            raise RefusedError(f"only the controller fires injects, not the {role.title} role")
        if not isinstance(body, dict) or set(body) != {"number"} or not isinstance(body["number"], str):
            raise CommandError([("number", 'send {"number": "<the inject number>"} and nothing else')])
        return self.session.fire(role, body["number"])

    # --- the WebSocket -----------------------------------------------------------------------------------

    async def websocket(self, socket: WebSocket) -> None:
        """Push deltas to the page; answer its commands (``{"id", "type": command|clock|inject, ...}``)."""
        try:
            role = self.guard(socket)
        except GuardError as exc:
            await socket.close(code=1008, reason=exc.reason[:120])
            return
        await socket.accept()
        view = ClientView(role)
        pusher = asyncio.create_task(self._push(socket, view))
        try:
            while True:
                message = await socket.receive_text()
                await socket.send_text(json.dumps(self._answer(socket, message), allow_nan=False))
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pusher

    async def _push(self, socket: WebSocket, view: ClientView) -> None:
        while True:
            delta = view.update(self.session)
            if delta is not None:
                await socket.send_text(json.dumps({"type": "delta", **delta}, allow_nan=False))
            await asyncio.sleep(PUSH_EVERY_S)

    def _answer(self, socket: WebSocket, message: str) -> dict[str, Any]:
        """The reply to one WebSocket message: an ack or an error with the HTTP status it would have had."""
        ident = None
        try:
            data = json.loads(message)
            if not isinstance(data, dict):
                raise CommandError([("type", "send a JSON object with id, type and payload")])
            ident = data.get("id")
            role = self.guard(socket)
            kind, payload = data.get("type"), data.get("payload")
            handlers = {"command": self.command, "clock": self.clock, "inject": self.inject}
            if kind not in handlers:
                raise CommandError([("type", f"unknown type {kind!r}; types: {', '.join(handlers)}")])
            return {"type": "ack", "id": ident, **handlers[kind](role, payload)}
        except json.JSONDecodeError as exc:
            return {"type": "error", "id": ident, "status": 422, "error": f"not JSON: {exc.msg}"}
        except GuardError as exc:
            return {"type": "error", "id": ident, "status": exc.status, "error": exc.reason}
        except RefusedError as exc:
            return {"type": "error", "id": ident, "status": 403, "error": str(exc)}
        except CommandError as exc:
            return {"type": "error", "id": ident, "status": 422, **_invalid(exc)}


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError([("body", f"not JSON ({exc}); send a JSON object")]) from None


def _invalid(exc: CommandError) -> dict[str, Any]:
    return {"error": str(exc), "problems": [{"field": f, "message": m} for f, m in exc.problems]}


def _respond(status: int, data: dict[str, Any]) -> Response:
    return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)


def _refusal(exc: GuardError) -> Response:
    headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))} if exc.status == 429 else {}
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers={**SECURITY_HEADERS, **headers})


def _page_refusal(status: int, reason: str) -> Response:
    text = reason.replace("&", "&amp;").replace("<", "&lt;")
    return HTMLResponse(f"<!doctype html><title>twin drill</title><p>{text}</p>", status, headers=SECURITY_HEADERS)


def _static_text(name: str) -> str:
    return resources.files("twin.drill").joinpath("static", name).read_text(encoding="utf-8")
