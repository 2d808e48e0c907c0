"""Admin pages: workspace counts, uploads and batches, user management, export downloads (admins only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.export import PROFILES, build_roster, effective_lines, rows_export, shape
from pipeline.forms import named_forms
from pipeline.review import auth, uploads
from pipeline.review.web import admin_csrf_session, admin_session, render, settings_of, workspace
from pipeline.spreadsheet import csv_text
from pipeline.status import workspace_status
from pipeline.users import ROLES, UserError, add_user, list_users, set_disabled, set_role

router = APIRouter(prefix="/admin")


@router.get("")
def overview(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    return render(request, "admin.html", current, status=workspace_status(workspace(request)), profiles=sorted(PROFILES))


# Exports -------------------------------------------------------------------------------------------


@router.get("/export/{what}.csv")
def export(request: Request, what: str, profile: str = "", _current: auth.Session = Depends(admin_session)) -> Response:
    """rows.csv or roster.csv, human decisions applied, text that starts like a formula quoted (csv_text);
    never cached by the browser (personal data)."""
    store = workspace(request)
    if what == "rows":
        frame = rows_export(effective_lines(store))
    elif what == "roster":
        frame = build_roster(store)[0]
        if profile:
            if profile not in PROFILES:
                raise HTTPException(404, f"no profile {profile}; one of {', '.join(sorted(PROFILES))}")
            frame = shape(frame, profile)
    else:
        raise HTTPException(404, "export rows or roster")
    stamp = dt.date.today().isoformat()
    suffix = f"-{profile}" if profile and what == "roster" else ""
    return Response(csv_text(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{what}{suffix}-{stamp}.csv"',
                             "Cache-Control": "no-store"})


# Users ---------------------------------------------------------------------------------------------


def _users_page(request: Request, current: auth.Session, *, message: str = "", status_code: int = 200) -> Response:
    return render(request, "users.html", current, status_code=status_code, users=list_users(workspace(request)),
                  roles=ROLES, message=message)


@router.get("/users")
def users(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    return _users_page(request, current)


@router.post("/users")
def users_add(request: Request, name: str = Form(...), password: str = Form(...), role: str = Form("reviewer"),
              current: auth.Session = Depends(admin_csrf_session)) -> Response:
    return _change_users(request, current, lambda: add_user(workspace(request), name, password, role=role))


@router.post("/users/{name}/role")
def users_role(request: Request, name: str, role: str = Form(...),
               current: auth.Session = Depends(admin_csrf_session)) -> Response:
    if name == current.user.name and role != "admin":
        return _users_page(request, current, message="you cannot remove your own admin role", status_code=422)
    return _change_users(request, current, lambda: set_role(workspace(request), name, role))


@router.post("/users/{name}/disabled")
def users_disabled(request: Request, name: str, disabled: str = Form(...),
                   current: auth.Session = Depends(admin_csrf_session)) -> Response:
    if name == current.user.name:
        return _users_page(request, current, message="you cannot disable your own account", status_code=422)
    return _change_users(request, current, lambda: set_disabled(workspace(request), name, disabled == "yes"))


def _change_users(request: Request, current: auth.Session, change) -> Response:
    """Apply one account change; a refused change shows the users page again with the reason (422)."""
    try:
        change()
    except UserError as exc:
        return _users_page(request, current, message=str(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=303)


# Uploads and batches -------------------------------------------------------------------------------


def _upload_page(request: Request, current: auth.Session, *, message: str = "", status_code: int = 200) -> Response:
    return render(request, "upload.html", current, status_code=status_code, message=message,
                  max_mb=settings_of(request).max_file_bytes // 1024**2, forms=named_forms(workspace(request)))


@router.get("/upload")
def upload_form(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    return _upload_page(request, current)


@router.post("/upload")
async def upload(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    """The session and role come from the cookie before a byte of the body is read; the CSRF token (header, or
    the form field sent before the files) before a byte of a file is written. Files stream to disk, each
    checked as it arrives; a rejected file rejects the whole upload with a message (413 / 415) and nothing
    of it is kept. The body as a whole is capped by web.Guard."""
    settings = settings_of(request)
    header_token = request.headers.get(auth.CSRF_HEADER)

    def check_csrf(fields: Mapping[str, str]) -> None:
        if not auth.tokens_match(current.csrf, header_token if header_token is not None else fields.get("csrf")):
            raise auth.CsrfRejected()

    store = request.app.state.workspaces
    try:
        received = await uploads.receive_upload(
            request.stream(), request.headers.get("content-type", ""), settings.workspace, before_files=check_csrf,
            limits=uploads.UploadLimits(max_file_bytes=settings.max_file_bytes, max_files=settings.max_files))
        # Hashing and recording block: run them in the thread pool, with that thread's own connection.
        batch_id = await run_in_threadpool(lambda: uploads.record_upload(store.get(), received, current.user.name))
    except uploads.UploadRejected as exc:
        return _upload_page(request, current, message=str(exc), status_code=exc.status_code)
    request.app.state.batches.submit(batch_id)
    return RedirectResponse("/admin/batches", status_code=303)


@router.get("/batches")
def batches(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    return render(request, "batches.html", current, batches=uploads.list_batches(workspace(request)))
