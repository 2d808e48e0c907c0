"""Admin pages for forms: the stored forms and the batches that name each; a new form from an uploaded blank
sheet; the editor (form_editor.html and static/form_editor.js: the sheet with its layout drawn over it); save,
delete and rename. The work is pipeline.forms' and form_drafts'; these routes check, call and show."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pipeline.forms import (FORMS, FormInUse, FormNameError, FormNameTaken, Kept, UnknownForm, delete_named_form,
                            named_forms, rename_named_form)
from pipeline.review import auth, form_drafts, uploads
from pipeline.review.form_drafts import BadEdit, EditorSource, UnknownDraft
from pipeline.review.web import (BodyCaps, ReviewSettings, admin_csrf_session, admin_session, render, settings_of,
                                 workspace)
from pipeline.store import forms as form_store
from scanner.errors import SheetError

router = APIRouter()
NEW_FORM_ROUTE = ("POST", "/admin/forms/new")
MB = 1024**2
_SHEET_HEADERS = {"Cache-Control": "no-cache"}  # a form saved again has a new sheet under the same address


@dataclass(frozen=True)
class _WithNewFormRoute(ReviewSettings):
    """What web.Guard is given: the new-form upload (one blank sheet) may be as large as one uploaded file."""

    @property
    def body_caps(self) -> BodyCaps:
        caps = super().body_caps
        return BodyCaps(caps.default, {**caps.routes, NEW_FORM_ROUTE: self.max_file_bytes + MB})


def guard_settings(settings: ReviewSettings) -> ReviewSettings:
    """The settings with the new-form route's body cap added (every other cap as before)."""
    return _WithNewFormRoute(**{f.name: getattr(settings, f.name) for f in fields(settings)})


# The list --------------------------------------------------------------------------------------------


def _forms_page(request: Request, current: auth.Session, *, message: str = "", error: str = "",
                status_code: int = 200) -> Response:
    listed = named_forms(workspace(request), earlier_versions=True)
    return render(request, "forms.html", current, status_code=status_code, message=message, error=error,
                  current_forms=[f for f in listed if not f.is_earlier_version],
                  earlier_forms=[f for f in listed if f.is_earlier_version],
                  max_mb=settings_of(request).max_file_bytes // MB)


@router.get("/admin/forms")
def forms_list(request: Request, saved: str = "", current: auth.Session = Depends(admin_session)) -> Response:
    known = saved in form_store.form_names(workspace(request))
    return _forms_page(request, current, message=f"Saved form {saved}." if known else "")


# A new form from a blank sheet -------------------------------------------------------------------------


@router.post("/admin/forms/new")
async def forms_new(request: Request, current: auth.Session = Depends(admin_session)) -> Response:
    """The blank sheet arrives as an upload does (uploads.receive_upload: CSRF before any file byte, checked by
    content, capped); the layout is proposed from it and the editor opens on the draft."""
    settings = settings_of(request)
    header_token = request.headers.get(auth.CSRF_HEADER)

    def check_csrf(fields: Mapping[str, str]) -> None:
        if not auth.tokens_match(current.csrf, header_token if header_token is not None else fields.get("csrf")):
            raise auth.CsrfRejected()

    try:
        received = await uploads.receive_upload(
            request.stream(), request.headers.get("content-type", ""), settings.workspace, before_files=check_csrf,
            limits=uploads.UploadLimits(max_file_bytes=settings.max_file_bytes, max_files=1))
    except uploads.UploadRejected as exc:
        return _forms_page(request, current, error=str(exc), status_code=exc.status_code)
    name = received.files[0][0]
    try:
        token = await run_in_threadpool(form_drafts.new_draft, settings.workspace, received.folder / name)
    except SheetError as exc:
        return _forms_page(request, current, status_code=422,
                           error=f"no layout could be proposed from {name}: {exc}")
    finally:
        shutil.rmtree(received.folder, ignore_errors=True)  # the draft keeps the upright sheet, not the upload
    return RedirectResponse(f"/admin/form-drafts/{token}", status_code=303)


# The editor --------------------------------------------------------------------------------------------


def _editor(request: Request, current: auth.Session, source: EditorSource, sheet_url: str) -> Response:
    data = form_drafts.editor_data(workspace(request), source, sheet_url=sheet_url)
    return render(request, "form_editor.html", current, data=data, source=source)


def _source(request: Request, ref: str) -> EditorSource:
    try:
        return form_drafts.source_of(workspace(request), ref)
    except UnknownDraft as exc:
        raise HTTPException(404, "no such draft: it was saved already or is more than a day old; upload the"
                                 " blank sheet again") from exc
    except (UnknownForm, FormNameError) as exc:
        raise HTTPException(404, "no stored form by that name: see the forms page") from exc
    except SheetError as exc:  # the stored file no longer loads (FormError)
        raise HTTPException(422, f"this form cannot be edited: {exc}") from exc


@router.get("/admin/form-drafts/{token}")
def draft_editor(request: Request, token: str, current: auth.Session = Depends(admin_session)) -> Response:
    return _editor(request, current, _source(request, f"draft:{token}"), f"/admin/form-drafts/{token}/sheet.png")


@router.get("/admin/form-drafts/{token}/sheet.png")
def draft_sheet(request: Request, token: str, _current: auth.Session = Depends(admin_session)) -> Response:
    return _sheet(request, _source(request, f"draft:{token}").sheet)


@router.get("/admin/forms/{name}/edit")
def form_editor(request: Request, name: str, current: auth.Session = Depends(admin_session)) -> Response:
    return _editor(request, current, _source(request, f"form:{name}"), f"/admin/forms/{name}/sheet.png")


@router.get("/admin/forms/{name}/sheet.png")
def form_sheet(request: Request, name: str, _current: auth.Session = Depends(admin_session)) -> Response:
    return _sheet(request, _source(request, f"form:{name}").sheet)


def _sheet(request: Request, path: Path | None) -> Response:
    """Only a sheet the workspace keeps (forms/, drafts included), whatever path a hand-edited form names."""
    kept = (settings_of(request).workspace / FORMS).resolve()
    if path is None or not path.is_file() or not path.resolve().is_relative_to(kept):
        raise HTTPException(404, "this form has no blank sheet")
    return FileResponse(path, media_type="image/png", headers=_SHEET_HEADERS)


class SaveBody(BaseModel):
    name: str
    source: str
    form: dict
    replace: bool = False


@router.post("/admin/forms/save")
def forms_save(request: Request, body: SaveBody, current: auth.Session = Depends(admin_csrf_session)) -> dict:
    """The editor's save (JSON, CSRF header): 409 for a name taken (save again with `replace`), 422 with what
    to change for a form that cannot be used; nothing is stored then."""
    edit = form_drafts.Edit(body.name.strip(), body.source, body.form, body.replace)
    try:
        kept = form_drafts.save_edit(workspace(request), edit, created_by=current.user.name)
    except FormNameTaken as exc:
        raise HTTPException(409, str(exc)) from exc
    except (FormNameError, BadEdit) as exc:
        raise HTTPException(422, str(exc)) from exc
    except (UnknownDraft, UnknownForm) as exc:
        raise HTTPException(409, "the form this editor started from is gone (saved or deleted meanwhile):"
                                 " open it again from the forms page") from exc
    except SheetError as exc:  # the stored form it started from no longer loads
        raise HTTPException(422, str(exc)) from exc
    return {"ok": True, "name": edit.name, "message": _kept_message(f"Saved form {edit.name}.", kept),
            "location": f"/admin/forms?saved={edit.name}"}


def _kept_message(done: str, kept: Kept) -> str:
    if not kept.kept_as:
        return done
    read = f" (batches {', '.join(map(str, kept.batches))} name it)" if kept.batches else ""
    return f"{done} The version it replaces is kept as {kept.kept_as}{read}."


# Delete and rename -------------------------------------------------------------------------------------


@router.post("/admin/forms/{name}/delete")
def forms_delete(request: Request, name: str, current: auth.Session = Depends(admin_csrf_session)) -> Response:
    try:
        removed = delete_named_form(workspace(request), name)
    except (UnknownForm, FormNameError):
        return _forms_page(request, current, error=f"there is no stored form {name!r}", status_code=404)
    except FormInUse as exc:
        return _forms_page(request, current, error=str(exc), status_code=409)
    if removed.kept_as:
        return _forms_page(request, current, message=f"Deleted form {name} from the list. Batches"
                           f" {', '.join(map(str, removed.batches))} were read with it (or are queued to be), so it"
                           f" is kept for them as {removed.kept_as}.")
    return _forms_page(request, current, message=f"Deleted form {name}.")


@router.post("/admin/forms/{name}/rename")
def forms_rename(request: Request, name: str, new_name: str = Form(""),
                 current: auth.Session = Depends(admin_csrf_session)) -> Response:
    try:
        rename_named_form(workspace(request), name, new_name.strip())
    except UnknownForm:
        return _forms_page(request, current, error=f"there is no stored form {name!r}", status_code=404)
    except FormNameError as exc:
        return _forms_page(request, current, error=str(exc), status_code=422)
    except (FormNameTaken, FormInUse) as exc:
        return _forms_page(request, current, error=str(exc), status_code=409)
    except SheetError as exc:  # its file no longer loads: it can only be deleted
        return _forms_page(request, current, error=f"form {name} cannot be renamed: {exc}", status_code=422)
    return _forms_page(request, current, message=f"Renamed form {name} to {new_name.strip()}.")

