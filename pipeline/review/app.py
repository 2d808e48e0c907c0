"""The review app: login, the worst-first line queue, possible duplicates, crops by opaque id.

Routes are sync functions on purpose: SQLite calls block, so they run in the server's thread pool, each
thread with its own connection (web.ThreadWorkspaces).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.review import admin, auth, forms_page, pairs, queue, voters, web
from pipeline.review.uploads import BatchRunner
from pipeline.review.web import ReviewSettings, clock, csrf_session, render, session, settings_of, workspace
from pipeline.store import Workspace, WorkspaceError
from pipeline.users import LoginRefused

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def create_app(settings: ReviewSettings, *, run_batches: bool = True) -> FastAPI:
    """The app for one workspace (which must exist); opening it migrates it (the review tables included)."""
    store = Workspace.open(settings.workspace, create=False)
    try:
        runner = BatchRunner(settings.workspace)
        if run_batches:
            runner.start(store)
    finally:
        store.close()
    # No slash redirects: "/crop/..%2F" must be a plain 404, not a redirect somewhere else.
    app = FastAPI(title="petition review", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.settings = settings
    app.state.workspaces = web.ThreadWorkspaces(settings.workspace)
    app.state.pairs = pairs.PairCache()
    app.state.batches = runner
    app.mount("/static", StaticFiles(directory=web.HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(forms_page.router)
    app.include_router(voters.router)
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(auth.CsrfRejected, _csrf_rejected)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(web.Guard, settings=forms_page.guard_settings(settings))  # + the blank sheet upload's cap
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _login_required(request: Request, _exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": "log in first"}, status_code=401)
    target = request.url.path if request.method == "GET" else "/review"
    return RedirectResponse(f"/login?next={target}", status_code=303)


def _http_error(request: Request, exc: Exception) -> Response:
    """JSON for the API and fetch calls, a short page for people; the message says what to do."""
    assert isinstance(exc, StarletteHTTPException)
    if _wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return render(request, "error.html", None, status_code=exc.status_code, message=exc.detail)


def _csrf_rejected(request: Request, _exc: Exception) -> Response:
    message = "the form's security token is missing or stale: reload the page and try again"
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=403)
    return render(request, "error.html", None, status_code=403, message=message)


router = APIRouter()


# Login ---------------------------------------------------------------------------------------------


def _login_page(request: Request, *, message: str = "", status_code: int = 200, next_path: str = "/review") -> Response:
    token = auth.new_token()
    response = render(request, "login.html", None, status_code=status_code, message=message, login_csrf=token,
                      next_path=auth.safe_next(next_path))
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings_of(request).secure_cookies, path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/review") -> Response:
    return _login_page(request, next_path=next)


@router.post("/login")
def login(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form("/review")) -> Response:
    if not auth.tokens_match(request.cookies.get(auth.LOGIN_CSRF_COOKIE, ""), csrf):
        return _login_page(request, message="The login form expired: please try again.", status_code=403)
    ip = request.client.host if request.client else ""
    store, device = workspace(request), request.cookies.get(auth.DEVICE_COOKIE)
    try:
        user = auth.log_in(store, name, password, ip, device_token=device, now=clock(request))
    except auth.LoginLocked as exc:
        response = _login_page(request, status_code=429, message=f"Too many failed attempts. {str(exc).capitalize()}."
                               " A browser that has logged in here before is not held back.")
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    except LoginRefused:
        return _login_page(request, message="Wrong name or password.", status_code=401, next_path=next)
    token, _ = auth.start_session(store, user, now=clock(request))
    secure = settings_of(request).secure_cookies
    response = RedirectResponse(auth.safe_next(next), status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=auth.SESSION_SECONDS,
                        secure=secure)
    # Kept after logout: it is what lets this browser past the throttle when others guess at this name.
    response.set_cookie(auth.DEVICE_COOKIE, auth.remember_device(store, user, device, now=clock(request)),
                        httponly=True, samesite="strict", max_age=auth.DEVICE_SECONDS, secure=secure, path="/login")
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login", secure=secure, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, _current: auth.Session = Depends(csrf_session)) -> Response:
    auth.end_session(workspace(request), request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, secure=settings_of(request).secure_cookies, httponly=True,
                           samesite="strict")
    return response


@router.get("/")
def home(_current: auth.Session = Depends(session)) -> Response:
    return RedirectResponse("/review", status_code=303)


# Lines ---------------------------------------------------------------------------------------------


@router.get("/review")
def review_page(request: Request, current: auth.Session = Depends(session)) -> Response:
    store, now = workspace(request), clock(request)
    item = queue.next_line(store, current.user.name, now=now, lease_seconds=settings_of(request).lease_seconds)
    return render(request, "review.html", current, item=item.as_json() if item else None,
                  progress=queue.progress(store, current.user.name, now=now).as_json(),
                  statuses=queue.STATUSES, skip_reasons=queue.SKIP_REASONS, lease_seconds=settings_of(request).lease_seconds)


@router.post("/review/decide")
def decide_form(request: Request, item: str = Form(...), status: str = Form(...), name: str = Form(""),
                current: auth.Session = Depends(csrf_session)) -> Response:
    """The no-JavaScript path: the same verdict as /api/decide, then the next item."""
    _decide(request, current, item, status, name)
    return RedirectResponse("/review", status_code=303)


class DecideBody(BaseModel):
    item: str
    status: str
    name: str = ""


class SkipBody(BaseModel):
    item: str
    reason: str


MAX_NAME = 200  # characters of a name as stored


def _name_char(c: str) -> str:
    """A pasted line break, tab or other control character separates words like a space (dropping it glued
    "Mary\\nJane" into "MaryJane"); other invisible characters (format, private use) are dropped."""
    if c.isspace() or c < " " or "\x7f" <= c <= "\x9f":
        return " "
    return c if c.isprintable() else ""


def _clean_name(name: str) -> str:
    """The name as it will be stored: words separated by one space. Too long is refused, never cut: a cut name
    would be stored as if the reviewer had typed it."""
    cleaned = " ".join("".join(map(_name_char, name)).split())
    if len(cleaned) > MAX_NAME:
        raise ValueError(f"the name is too long ({len(cleaned)} characters, at most {MAX_NAME}): shorten it and"
                         " save again; nothing was saved")
    return cleaned


def _decide(request: Request, current: auth.Session, item: str, status: str, name: str) -> None:
    try:
        queue.decide_line(workspace(request), item, current.user.name, status=status, name=_clean_name(name),
                          now=clock(request))
    except queue.LeaseLost as exc:
        raise HTTPException(409, "this line is no longer yours (your lease expired and someone else may have it);"
                                 " your verdict was not saved: take the next line") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/api/next")
def api_next(request: Request, after: str = "", current: auth.Session = Depends(session)) -> dict:
    """The next line for this user (prefetch): a held one other than `after`, else a newly leased one."""
    store, now = workspace(request), clock(request)
    item = queue.next_line(store, current.user.name, now=now, after=after, lease_seconds=settings_of(request).lease_seconds)
    return {"item": item.as_json() if item else None}


@router.post("/api/decide")
def api_decide(request: Request, body: DecideBody, current: auth.Session = Depends(csrf_session)) -> dict:
    _decide(request, current, body.item, body.status, body.name)
    return {"ok": True, "progress": queue.progress(workspace(request), current.user.name, now=clock(request)).as_json()}


@router.post("/api/skip")
def api_skip(request: Request, body: SkipBody, current: auth.Session = Depends(csrf_session)) -> dict:
    try:
        queue.skip(workspace(request), body.item, current.user.name, reason=body.reason, now=clock(request))
    except queue.LeaseLost as exc:
        raise HTTPException(409, "this line is no longer yours; take the next line") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"ok": True, "progress": queue.progress(workspace(request), current.user.name, now=clock(request)).as_json()}


@router.post("/api/undo")
def api_undo(request: Request, current: auth.Session = Depends(csrf_session)) -> dict:
    store, now = workspace(request), clock(request)
    try:
        item = queue.undo_last(store, current.user.name, now=now, lease_seconds=settings_of(request).lease_seconds)
    except queue.NothingToUndo as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"item": item.as_json(), "progress": queue.progress(store, current.user.name, now=now).as_json()}


@router.post("/api/heartbeat")
def api_heartbeat(request: Request, current: auth.Session = Depends(csrf_session)) -> dict:
    renewed = queue.renew(workspace(request), current.user.name, now=clock(request),
                          lease_seconds=settings_of(request).lease_seconds)
    return {"renewed": renewed}


# Duplicates ----------------------------------------------------------------------------------------


@router.get("/duplicates")
def duplicates_page(request: Request, current: auth.Session = Depends(session)) -> Response:
    pair = pairs.next_pair(workspace(request), request.app.state.pairs, current.user.name, now=clock(request),
                           lease_seconds=settings_of(request).lease_seconds)
    return render(request, "duplicates.html", current, pair=pair)


@router.post("/duplicates/decide")
def duplicates_decide(request: Request, item: str = Form(...), same: str = Form(...),
                      current: auth.Session = Depends(csrf_session)) -> Response:
    if same not in ("yes", "no"):
        raise HTTPException(422, "same must be yes or no")
    try:
        pairs.decide_pair(workspace(request), item, current.user.name, same=same == "yes", now=clock(request))
    except queue.LeaseLost as exc:
        raise HTTPException(409, "this pair is no longer yours; take the next one") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return RedirectResponse("/duplicates", status_code=303)


# Crops ---------------------------------------------------------------------------------------------


@router.get("/crop/{crop_id}")
def crop(request: Request, crop_id: str, _current: auth.Session = Depends(session)) -> Response:
    """By opaque id only: Workspace.crop_path refuses anything but 32 hex digits, so no path ever reaches disk."""
    try:
        path = workspace(request).crop_path(crop_id)
    except WorkspaceError as exc:
        raise HTTPException(404, "no such crop") from exc
    if not path.is_file():
        raise HTTPException(404, "no such crop")
    # Content-addressed: the same id is always the same bytes, so the browser may keep it (privately).
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400, immutable"})


# Serving -------------------------------------------------------------------------------------------


def bind_warning(host: str) -> str:
    """What to print when the app listens beyond this machine ('' when it does not)."""
    if host in LOCAL_HOSTS:
        return ""
    return (f"WARNING: listening on {host}: anyone who can reach this machine can try to log in, and signer names "
            "are personal data. Serve it behind HTTPS (a reverse proxy) or keep the default 127.0.0.1; the name"
            " browsers use must be allowed with --allowed-host.")


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def serve(settings: ReviewSettings, *, host: str = "127.0.0.1", port: int = 8000,
          forwarded_allow_ips: str | None = None) -> None:
    """Run the app with uvicorn; its access log is off (web.Guard logs route templates, never paths).

    A specific address to listen on is also a Host name to answer to (an address typed into the browser cannot
    be rebound). `forwarded_allow_ips`: the proxies whose X-Forwarded-For/-Proto uvicorn believes (the client
    address is what the login throttle counts); None leaves proxy headers ignored, as anyone can send them."""
    import logging
    from dataclasses import replace

    import uvicorn

    warning = bind_warning(host)
    if warning:
        print(warning, file=sys.stderr)
    if host not in WILDCARD_HOSTS:
        settings = replace(settings, allowed_hosts=(*settings.allowed_hosts, host))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_level="warning",
                server_header=False, proxy_headers=forwarded_allow_ips is not None,
                forwarded_allow_ips=forwarded_allow_ips)


def main(argv: list[str] | None = None) -> None:
    """`python -m pipeline.review.app WORKSPACE [PORT]`: for development; the CLI is `petition review`."""
    args = sys.argv[1:] if argv is None else argv
    serve(ReviewSettings(workspace=Path(args[0])), port=int(args[1]) if len(args) > 1 else 8000)


if __name__ == "__main__":
    main()
