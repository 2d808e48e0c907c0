"""Possible duplicates, admin counts, exports, user management, uploads and background batches."""

from __future__ import annotations

import io
import logging
import re
import time

import pytest
from fastapi.testclient import TestClient

from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace
from tests.pipeline.review.conftest import PASSWORD, SEED_SHA, TEST_HOSTS, csrf_of, login, make_possible_duplicate
from tests.support import SCANS

# What an admin must never see on a page: a traceback, an exception class, a source file.
PYTHON_INTERNALS = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception|Warning)\b|\.py\b|<class ")


@pytest.fixture
def admin(app):
    with TestClient(app) as client:
        assert login(client, "ada").status_code == 303
        client.csrf = csrf_of(client.get("/admin").text)
        yield client


def test_a_possible_duplicate_shows_both_crops_and_one_key_decides(app, workspace_dir, open_reviewer):
    make_possible_duplicate(workspace_dir)
    rita, sam = open_reviewer("rita"), open_reviewer("sam")
    page = rita.client.get("/duplicates").text
    assert "Pavel Haris" in page and "PAVEL HARRIS" in page
    assert len(re.findall(r'src="/crop/[0-9a-f]{32}"', page)) == 6
    assert "<kbd>S</kbd>" in page and "<kbd>D</kbd>" in page
    item = re.search(r'name="item" value="([^"]+)"', page).group(1)
    assert "No possible duplicates" in sam.client.get("/duplicates").text  # leased to rita
    refused = sam.client.post("/duplicates/decide", data={"item": item, "same": "yes", "csrf": sam.csrf})
    assert refused.status_code == 409
    done = rita.client.post("/duplicates/decide", data={"item": item, "same": "yes", "csrf": rita.csrf},
                            follow_redirects=False)
    assert done.status_code == 303
    store = Workspace.open(workspace_dir, create=False)
    try:
        assert list(store.duplicate_decisions().values()) == [True]
    finally:
        store.close()
    assert "No possible duplicates" in rita.client.get("/duplicates").text


def test_admin_overview_shows_counts(admin):
    page = admin.get("/admin").text
    assert "to review" in page and "signers" in page and "rows.csv" in page


def test_exports_are_csv_downloads_with_human_decisions_applied(admin, workspace_dir):
    store = Workspace.open(workspace_dir, create=False)
    try:
        store.record_decision(file_sha256=SEED_SHA, page_no=1, line_no=4, field="status", value="signed", decided_by="ada")
        store.record_decision(file_sha256=SEED_SHA, page_no=1, line_no=4, field="name", value="Ada Lovelace",
                              decided_by="ada")
    finally:
        store.close()
    rows = admin.get("/admin/export/rows.csv")
    assert rows.status_code == 200 and rows.headers["content-type"].startswith("text/csv")
    assert "attachment" in rows.headers["content-disposition"] and rows.headers["cache-control"] == "no-store"
    assert rows.text.splitlines()[0].startswith("file,page,line,status,name")
    assert "seed_clean.png,1,4,signed,Ada Lovelace" in rows.text
    roster = admin.get("/admin/export/roster.csv")
    assert roster.status_code == 200 and "Ada Lovelace" in roster.text
    shaped = admin.get("/admin/export/roster.csv", params={"profile": "actionnetwork"})
    assert shaped.text.splitlines()[0].startswith("first_name,last_name,email")
    assert admin.get("/admin/export/people.csv").status_code == 404
    assert admin.get("/admin/export/roster.csv", params={"profile": "nope"}).status_code == 404


def test_admins_add_users_change_roles_and_disable_accounts(admin, app):
    post = lambda url, **data: admin.post(url, data={**data, "csrf": admin.csrf}, follow_redirects=False)  # noqa: E731
    assert post("/admin/users", name="vic", password=PASSWORD, role="reviewer").status_code == 303
    assert post("/admin/users", name="vic", password=PASSWORD, role="reviewer").status_code == 422
    assert "at least 10" in post("/admin/users", name="tiny", password="short", role="reviewer").text
    assert post("/admin/users", name="bad name", password=PASSWORD, role="reviewer").status_code == 422
    with TestClient(app) as vic:
        assert login(vic, "vic").status_code == 303
        assert vic.get("/admin").status_code == 403
        assert post("/admin/users/vic/role", role="admin").status_code == 303
        assert vic.get("/admin").status_code == 200
        assert post("/admin/users/vic/disabled", disabled="yes").status_code == 303
        assert vic.get("/review", follow_redirects=False).status_code == 303  # session ended
        assert login(vic, "vic").status_code == 401
    assert post("/admin/users/ada/disabled", disabled="yes").status_code == 422  # not yourself
    assert post("/admin/users/ada/role", role="reviewer").status_code == 422
    assert post("/admin/users/ghost/role", role="admin").status_code == 422
    assert post("/admin/users/vic/role", role="owner").status_code == 422
    assert "vic" in admin.get("/admin/users").text


def _upload(client, files: list[tuple[str, bytes]]):
    return client.post("/admin/upload", data={"csrf": client.csrf},
                       files=[("files", (name, io.BytesIO(content), "application/octet-stream")) for name, content in files],
                       follow_redirects=False)


def test_an_upload_that_is_not_a_scan_is_415_with_a_message_whatever_its_name(admin, workspace_dir):
    response = _upload(admin, [("sheet.png", b"<html>not an image</html>")])
    assert response.status_code == 415
    assert "not a PDF, TIFF, JPEG or PNG" in response.text
    assert not any((workspace_dir / "uploads").glob("batch-*"))


def test_a_reviewer_upload_is_403(open_reviewer):
    rita = open_reviewer("rita")
    rita.client.csrf = rita.csrf
    assert _upload(rita.client, [("seed_clean.png", (SCANS / "seed_clean.png").read_bytes())]).status_code == 403


def test_an_oversized_upload_is_413_with_a_message(workspace_dir, clock):
    app = create_app(ReviewSettings(workspace=workspace_dir, clock=clock, max_file_bytes=64 * 1024,
                                    allowed_hosts=TEST_HOSTS), run_batches=False)
    with TestClient(app) as client:
        login(client, "ada")
        client.csrf = csrf_of(client.get("/admin").text)
        response = _upload(client, [("seed_clean.png", (SCANS / "seed_clean.png").read_bytes())])
    assert response.status_code == 413
    assert "larger than the" in response.text and "limit" in response.text


def test_a_request_body_beyond_the_cap_is_refused_before_it_is_read(workspace_dir, clock):
    app = create_app(ReviewSettings(workspace=workspace_dir, clock=clock, max_file_bytes=1024, max_files=1,
                                    allowed_hosts=TEST_HOSTS),
                     run_batches=False)
    with TestClient(app) as client:
        response = client.post("/admin/upload", content=b"x" * (2 * 1024**2),
                               headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413


def test_uploaded_scans_are_read_in_the_background_with_progress_per_page(workspace_dir, clock):
    app = create_app(ReviewSettings(workspace=workspace_dir, clock=clock, allowed_hosts=TEST_HOSTS))
    with TestClient(app) as client:
        login(client, "ada")
        client.csrf = csrf_of(client.get("/admin").text)
        response = _upload(client, [("../../my scan.png", (SCANS / "seed_rotated.tif").read_bytes())])
        assert response.status_code == 303 and response.headers["location"] == "/admin/batches"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            page = client.get("/admin/batches").text
            if 'data-state="done"' in page or 'data-state="failed"' in page:
                break
            time.sleep(0.3)
    assert 'data-state="done"' in page, page
    assert "my_scan.png" in page and "p1 ok" in page
    assert (workspace_dir / "uploads" / "batch-1" / "my_scan.png").exists()
    store = Workspace.open(workspace_dir, create=False)
    try:
        assert store.db.execute("SELECT count(*) FROM files").fetchone()[0] == 3
    finally:
        store.close()


def test_a_batch_that_crashes_says_so_in_plain_words_and_logs_where_without_names(workspace_dir, clock, monkeypatch,
                                                                                  caplog):
    """An unexpected failure while reading a batch: the batches page tells the admin what to do, with no Python
    class name; the server log says where it failed, without the exception's text (it can hold signer names)."""
    def crash(*_args, **_kwargs):
        raise KeyError("Jane Q. Signer, 12 Elm St")

    monkeypatch.setattr("pipeline.review.uploads.add_paths", crash)
    app = create_app(ReviewSettings(workspace=workspace_dir, clock=clock, allowed_hosts=TEST_HOSTS))
    with caplog.at_level(logging.INFO, logger="pipeline.review"), TestClient(app) as client:
        login(client, "ada")
        client.csrf = csrf_of(client.get("/admin").text)
        assert _upload(client, [("sheet.png", (SCANS / "seed_clean.png").read_bytes())]).status_code == 303
        deadline = time.monotonic() + 30
        while 'data-state="failed"' not in (page := client.get("/admin/batches").text) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert 'data-state="failed"' in page, page
    message = re.search(r"· (reading stopped[^<]*)</p>", page).group(1)
    assert "upload the same files again" in message
    assert not PYTHON_INTERNALS.search(message) and "Jane" not in page
    (logged,) = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert logged.startswith("batch 1 failed: KeyError at ") and "uploads.py" in logged
    assert "Jane" not in caplog.text and "Elm" not in caplog.text
