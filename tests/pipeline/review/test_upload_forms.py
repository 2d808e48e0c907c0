"""The upload page offers the workspace's stored forms; a batch uploaded with one records it and is read with it."""

from __future__ import annotations

import io
import time

import pytest
from fastapi.testclient import TestClient

from pipeline.forms import add_named_form
from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace, batches
from samples.city_form import blank_form, render_city_sheet
from tests.pipeline.review.conftest import TEST_HOSTS, csrf_of, login
from tests.support import DPI


@pytest.fixture
def with_city_form(workspace_dir, tmp_path):
    blank = tmp_path / "blank.png"
    blank_form(DPI).save(blank, dpi=(DPI, DPI))
    store = Workspace.open(workspace_dir, create=False)
    try:
        add_named_form(store, "city", blank, created_by="ada")
    finally:
        store.close()
    return workspace_dir


def _blank_copy() -> bytes:
    out = io.BytesIO()
    render_city_sheet(seed=7, blank=True)[0].save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def _upload(client, form: str):
    return client.post("/admin/upload", data={"csrf": client.csrf, "form": form},
                       files=[("files", ("city.png", io.BytesIO(_blank_copy()), "image/png"))], follow_redirects=False)


def test_the_upload_page_offers_none_and_each_stored_form(with_city_form, clock):
    app = create_app(ReviewSettings(workspace=with_city_form, clock=clock, allowed_hosts=TEST_HOSTS), run_batches=False)
    with TestClient(app) as client:
        login(client, "ada")
        page = client.get("/admin/upload").text
    assert '<select name="form">' in page and '<option value="">none' in page
    assert '<option value="city">city (5 lines, blank sheet)</option>' in page


def test_a_batch_uploaded_with_a_stored_form_records_it_and_is_read_with_it(with_city_form, clock):
    app = create_app(ReviewSettings(workspace=with_city_form, clock=clock, allowed_hosts=TEST_HOSTS))
    with TestClient(app) as client:
        login(client, "ada")
        client.csrf = csrf_of(client.get("/admin").text)
        assert _upload(client, "city").status_code == 303
        deadline = time.monotonic() + 90
        while 'data-state="done"' not in (page := client.get("/admin/batches").text) and time.monotonic() < deadline:
            if 'data-state="failed"' in page:
                break
            time.sleep(0.3)
    assert 'data-state="done"' in page and "form city" in page, page
    store = Workspace.open(with_city_form, create=False)
    try:
        (batch,) = batches.all_batches(store)
        (sha,) = [f.sha256 for f in batches.batch_files(store, batch.id)]
        (registration,) = store.db.execute("SELECT registration FROM pages WHERE file_sha256 = ?", (sha,)).fetchone()
        statuses = [r[0] for r in store.db.execute(
            "SELECT status FROM effective_lines WHERE file_sha256 = ? ORDER BY line_no", (sha,))]
    finally:
        store.close()
    assert batch.form == "city"
    assert registration is not None and registration > 0.9  # lined up with the stored form's blank sheet
    assert statuses == ["blank"] * 5


def test_an_upload_naming_a_form_the_workspace_does_not_have_is_refused_and_nothing_is_kept(with_city_form, clock):
    app = create_app(ReviewSettings(workspace=with_city_form, clock=clock, allowed_hosts=TEST_HOSTS), run_batches=False)
    with TestClient(app) as client:
        login(client, "ada")
        client.csrf = csrf_of(client.get("/admin").text)
        response = _upload(client, "../../etc/county")
        forged = client.post("/admin/upload", data={"csrf": "not the token", "form": "city"},
                             files=[("files", ("city.png", io.BytesIO(_blank_copy()), "image/png"))])
    assert response.status_code == 422 and "no stored form" in response.text
    assert forged.status_code == 403
    assert not any((with_city_form / "uploads").glob("*"))
    store = Workspace.open(with_city_form, create=False)
    try:
        assert batches.all_batches(store) == []
    finally:
        store.close()
