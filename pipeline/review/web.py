"""What every route shares: settings, a workspace connection per thread, the session and CSRF checks, templates,
and the ASGI guard that checks the Host header, caps request bodies per route, sets security headers and logs
without personal data."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from pipeline.review import auth
from pipeline.review.claims import LEASE_SECONDS
from pipeline.store import Workspace

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
log = logging.getLogger("pipeline.review")

# Names a browser on this machine uses; any port. A page on another name that resolves to 127.0.0.1 (DNS
# rebinding) arrives with its own name in Host and is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
UPLOAD_ROUTE = ("POST", "/admin/upload")
KB = 1024


@dataclass(frozen=True)
class ReviewSettings:
    workspace: Path
    lease_seconds: float = LEASE_SECONDS
    max_file_bytes: int = 200 * 1024**2
    max_files: int = 50
    clock: Callable[[], float] = field(default=time.time)
    secure_cookies: bool = False  # set when served over HTTPS (behind a proxy); browsers drop Secure cookies on http
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # Host header names served (any port); others get 400
    # Every body but an upload's: a login, a verdict, a user form. 8 KB holds any of them many times over
    # and is what a request may cost before its session (or password) is checked.
    max_form_bytes: int = 8 * KB

    @property
    def max_request_bytes(self) -> int:
        """The upload route's cap: every file at its limit, plus room for the multipart framing."""
        return self.max_file_bytes * self.max_files + 1024**2

    @property
    def body_caps(self) -> BodyCaps:
        return BodyCaps(default=self.max_form_bytes, routes={UPLOAD_ROUTE: self.max_request_bytes})


@dataclass(frozen=True)
class BodyCaps:
    """The largest request body per route: `routes` by (method, path), `default` for every other route."""

    default: int
    routes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def of(self, method: str, path: str) -> int:
        return self.routes.get((method, path), self.default)


def host_name(value: str) -> str:
    """The name in a Host header or an allowed-host entry, lower case, without port or final dot:
    'LocalHost.:8000' -> 'localhost', '[::1]:8000' -> '[::1]', '::1' -> '[::1]'; '' when there is none."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 1 else ""
    if value.count(":") > 1:  # a bare IPv6 address (configuration only: a Host header brackets it)
        return f"[{value}]"
    return value.split(":", 1)[0].rstrip(".")


class ThreadWorkspaces:
    """sqlite3 connections belong to the thread that made them: one Workspace per server thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()

    def get(self) -> Workspace:
        workspace = getattr(self._local, "workspace", None)
        if workspace is None:
            workspace = Workspace.open(self.root, create=False)
            self._local.workspace = workspace
        return workspace


def settings_of(request: Request) -> ReviewSettings:
    return request.app.state.settings


def workspace(request: Request) -> Workspace:
    return request.app.state.workspaces.get()


def clock(request: Request) -> float:
    return settings_of(request).clock()


def session(request: Request) -> auth.Session:
    return auth.find_session(workspace(request), request.cookies.get(auth.SESSION_COOKIE), now=clock(request))


async def csrf_session(request: Request, current: auth.Session = Depends(session)) -> auth.Session:
    """A session whose POST carries its CSRF token (header for fetch, form field for forms)."""
    return await _with_csrf(request, current)


async def _with_csrf(request: Request, current: auth.Session) -> auth.Session:
    given = request.headers.get(auth.CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                                              "multipart/form-data")):
        given = (await request.form()).get("csrf")
    if not auth.tokens_match(current.csrf, given if isinstance(given, str) else None):
        raise auth.CsrfRejected()
    return current


def admin_session(current: auth.Session = Depends(session)) -> auth.Session:
    if not current.user.is_admin:
        raise HTTPException(403, "admins only")
    return current


async def admin_csrf_session(request: Request, current: auth.Session = Depends(admin_session)) -> auth.Session:
    """The role first: a reviewer's form is refused before its body is parsed for the CSRF field."""
    return await _with_csrf(request, current)


def render(request: Request, template: str, current: auth.Session | None, status_code: int = 200, **context):
    context.update(user=current.user if current else None, csrf=current.csrf if current else "")
    return templates.TemplateResponse(request, template, context, status_code=status_code)


_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self';"
                                 b" frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class BodyTooLarge(Exception):
    """Raised from the guarded receive() once a body passes its route's cap: whoever was reading stops there."""


class _Exchange:
    """One request's progress through the Guard (mutable on purpose: its receive and send wrappers update it)."""

    __slots__ = ("received", "body_done", "too_large", "started", "replaced", "status")

    def __init__(self) -> None:
        self.received = 0
        self.body_done = False
        self.too_large = False
        self.started = False
        self.replaced = False
        self.status = 0


class Guard:
    """Pure ASGI (no per-request task overhead), in front of every route:

    - a Host header not on the allow-list is 400 (DNS rebinding);
    - each route has a body cap (a few KB everywhere but the upload route): a Content-Length over it is 413
      before any byte is read, and a body without one (chunked) is counted as it is received and cut off
      with 413 the moment it passes the cap, wherever it was being read (form, JSON, upload);
    - a response sent while the request body is still unread closes the connection, so the server does not
      go on reading (and discarding) whatever the client keeps sending;
    - security headers, and one log line per request with the method, the route *template* and the status:
      never ids, names, query strings or form values."""

    def __init__(self, app, *, settings: ReviewSettings) -> None:
        self.app = app
        self.caps = settings.body_caps
        self.allowed_hosts = frozenset(filter(None, map(host_name, settings.allowed_hosts)))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        exchange = _Exchange()
        cap = self.caps.of(scope["method"], scope["path"])
        if not self._host_allowed(scope):
            exchange.status = await _refuse(scope, send, 400, "this server does not answer to that host name;"
                                                              " its admin can allow it with --allowed-host")
        elif _content_length(scope) > cap:
            exchange.status = await _refuse(scope, send, 413, _too_large(cap))
        else:
            await self._run(scope, receive, send, exchange, cap)
        route = scope.get("route")
        template = getattr(route, "path", None) or ("/static/…" if scope["path"].startswith("/static/") else "(no route)")
        log.info("%s %s %d %.1fms", scope["method"], template, exchange.status, (time.perf_counter() - started) * 1000)

    def _host_allowed(self, scope) -> bool:
        hosts = [value for key, value in scope["headers"] if key == b"host"]
        if len(hosts) != 1:
            return False
        return host_name(hosts[0].decode("latin-1")) in self.allowed_hosts

    async def _run(self, scope, receive, send, exchange: _Exchange, cap: int) -> None:
        announced = _content_length(scope) > 0 or any(key == b"transfer-encoding" for key, _ in scope["headers"])
        exchange.body_done = not announced

        async def counted_receive():
            message = await receive()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
                exchange.body_done = not message.get("more_body", False)
                if exchange.received > cap:
                    exchange.too_large = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message) -> None:
            if message["type"] == "http.response.start":
                if exchange.too_large:  # the reader caught BodyTooLarge and answered (FastAPI: 400): it is a 413
                    exchange.replaced = True
                    exchange.status = await _refuse(scope, send, 413, _too_large(cap))
                    return
                exchange.started = True
                exchange.status = message["status"]
                closing = [] if exchange.body_done else [(b"connection", b"close")]
                message["headers"] = list(message.get("headers", [])) + _HEADERS + closing
            elif exchange.replaced:
                return
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            if exchange.started:
                raise
            if not exchange.replaced:
                exchange.status = await _refuse(scope, send, 413, _too_large(cap))


def _content_length(scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else 0  # the HTTP server has refused a malformed one already
    return 0


def _size(n: int) -> str:
    return f"{n // 1024**2} MB" if n >= 1024**2 else f"{max(1, n // KB)} KB"


def _too_large(cap: int) -> str:
    return f"request too large: at most {_size(cap)} here"


async def _refuse(scope, send, status: int, message: str) -> int:
    """Answer without the app, and close the connection (whatever body the client is still sending is not read)."""
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")] + _HEADERS})
    await send({"type": "http.response.body", "body": body})
    return status
