"""What every route shares: settings, a workspace connection per thread, the session and CSRF checks, templates,
and the ASGI guard that sets security headers, caps request bodies and logs without personal data."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from pipeline.review import auth
from pipeline.review.queue import LEASE_SECONDS
from pipeline.store import Workspace

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
log = logging.getLogger("pipeline.review")


@dataclass(frozen=True)
class ReviewSettings:
    workspace: Path
    lease_seconds: float = LEASE_SECONDS
    max_file_bytes: int = 200 * 1024**2
    max_files: int = 50
    clock: Callable[[], float] = field(default=time.time)
    secure_cookies: bool = False  # set when served over HTTPS (behind a proxy); browsers drop Secure cookies on http

    @property
    def max_request_bytes(self) -> int:
        return self.max_file_bytes * self.max_files + 1024**2


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
    """The role first: a reviewer's upload is refused before its body is parsed for the CSRF field."""
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


class Guard:
    """Pure ASGI (no per-request task overhead): security headers, a body-size cap checked before any byte is
    read, and one log line per request with the method, the route *template* and the status: never ids,
    names, query strings or form values."""

    def __init__(self, app, *, max_request_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_request_bytes:
            await _too_large(send, self.max_request_bytes)
            status["code"] = 413
        else:
            async def send_with_headers(message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    message["headers"] = list(message.get("headers", [])) + _HEADERS
                await send(message)

            await self.app(scope, receive, send_with_headers)
        route = scope.get("route")
        template = getattr(route, "path", None) or ("/static/…" if scope["path"].startswith("/static/") else "(no route)")
        log.info("%s %s %d %.1fms", scope["method"], template, status["code"], (time.perf_counter() - started) * 1000)


async def _too_large(send, limit: int) -> None:
    body = f"upload too large: at most {limit // 1024**2} MB per request".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
                + _HEADERS})
    await send({"type": "http.response.body", "body": body})
