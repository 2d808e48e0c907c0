"""The forms pages of the review app through its test client: list, a new form from a blank sheet, the editor's
save (checked by load_form; nothing stored when refused), earlier versions kept for batches, delete, rename,
admins only, CSRF on every POST. The blank sheet is the rendered city petition (samples/city_form.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.forms import add_named_form, load_named_form, named_forms
from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace, batches
from pipeline.store.batches import UploadedFile
from pipeline.users import add_user
from samples.city_form import blank_form
from scanner.types import Role
from tests.pipeline.review.conftest import PASSWORD, TEST_HOSTS, csrf_of, login
from tests.support import DPI


@pytest.fixture(scope="module")
def blank_png() -> bytes:
    out = io.BytesIO()
    blank_form(DPI).save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


@pytest.fixture
def root(tmp_path, blank_png) -> Path:
    """A workspace with an admin (ada), a reviewer (rita) and the city form stored as 'city' by ada."""
    folder = tmp_path / "ws"
    store = Workspace.open(folder)
    try:
        add_user(store, "ada", PASSWORD, role="admin")
        add_user(store, "rita", PASSWORD, role="reviewer")
        (tmp_path / "blank.png").write_bytes(blank_png)
        add_named_form(store, "city", tmp_path / "blank.png", created_by="ada")
    finally:
        store.close()
    return folder


def _client(root: Path, name: str, **settings) -> TestClient:
    app = create_app(ReviewSettings(workspace=root, allowed_hosts=TEST_HOSTS, **settings), run_batches=False)
    client = TestClient(app)
    assert login(client, name).status_code == 303
    client.csrf = csrf_of(client.get("/review").text)
    return client


@pytest.fixture
def ada(root):
    with _client(root, "ada") as client:
        yield client


@pytest.fixture
def rita(root):
    with _client(root, "rita") as client:
        yield client


def _store(root: Path):
    return Workspace.open(root, create=False)


def _add_batch(root: Path, form: str, state: str) -> int:
    store = _store(root)
    try:
        with store.transaction():
            batch_id = batches.insert_batch(store, "ada", [UploadedFile("a.png", 1, "0" * 64)], form=form)
            batches.set_state(store, batch_id, state, "")
        return batch_id
    finally:
        store.close()


def _batch_forms(root: Path) -> dict[int, str | None]:
    store = _store(root)
    try:
        return {b.id: b.form for b in batches.all_batches(store)}
    finally:
        store.close()


def _new_draft(client: TestClient, png: bytes) -> tuple[str, dict]:
    response = client.post("/admin/forms/new", data={"csrf": client.csrf},
                           files=[("files", ("blank sheet.png", io.BytesIO(png), "image/png"))], follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    token = re.fullmatch(r"/admin/form-drafts/([0-9a-f]{32})", location).group(1)
    page = client.get(location)
    assert page.status_code == 200
    return token, _editor_data(page.text)


def _editor_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="fe-data">(.*?)</script>', html, re.DOTALL).group(1))


def _save(client: TestClient, name: str, source: str, form: dict, *, replace: bool = False, csrf: str | None = None):
    return client.post("/admin/forms/save", json={"name": name, "source": source, "form": form, "replace": replace},
                       headers={"X-CSRF-Token": client.csrf if csrf is None else csrf, "Accept": "application/json"})


def _field(form: dict, role: str) -> dict:
    return next(f for f in form["fields"] if f["role"] == role)


# The list ----------------------------------------------------------------------------------------------


def test_the_forms_page_lists_each_stored_form_and_the_batches_that_name_it(root, ada):
    batch = _add_batch(root, "city", "done")
    page = ada.get("/admin/forms")
    assert page.status_code == 200
    row = re.search(r'<tr data-form="city">(.*?)</tr>', page.text, re.DOTALL).group(1)
    assert "<td>5</td>" in row and "signature" in row and "name" in row and "<td>yes</td>" in row
    assert "by ada at" in row and f"<td>{batch}</td>" in row
    assert 'href="/admin/forms/city/edit"' in row
    assert 'href="/admin/forms"' in ada.get("/admin").text  # the nav link


def test_text_on_the_forms_page_is_escaped(root, ada, tmp_path, blank_png):
    store = _store(root)
    try:
        (tmp_path / "b.png").write_bytes(blank_png)
        add_named_form(store, "other", tmp_path / "b.png", created_by="<img src=x onerror=alert(1)>")
    finally:
        store.close()
    page = ada.get("/admin/forms").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# A new form and the editor ------------------------------------------------------------------------------


def test_a_blank_sheet_becomes_a_draft_the_editor_shows_over_its_image(ada):
    blank = io.BytesIO()
    blank_form(DPI).save(blank, format="PNG")
    token, data = _new_draft(ada, blank.getvalue())
    assert data["source"] == f"draft:{token}" and data["name"] == ""
    assert len(data["form"]["line_bounds"]) == 6  # five lines
    assert {"line_number", "name", "signature", "address", "date", "ward"} <= {f["role"] for f in data["form"]["fields"]}
    assert {r["value"] for r in data["roles"]} == {r.value for r in Role}  # every role the model has, 'other' too
    sheet = ada.get(data["sheet"])
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
    assert (data["width"], data["height"]) == (1703, 2202)
    page = ada.get(f"/admin/form-drafts/{token}")
    # No inline script (the CSP allows only the app's own files): data travels as JSON, code as a file.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.DOTALL)
    assert all('type="application/json"' in attrs or ('src="/static/' in attrs and not body.strip())
               for attrs, body in scripts)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"\s(style|on[a-z]+)=", page.text)  # no inline style or event handler either
    assert ada.get("/static/form_editor.js").status_code == 200


def test_a_draft_saved_is_a_stored_form_with_the_edits_and_its_blank_sheet(root, ada, blank_png):
    token, data = _new_draft(ada, blank_png)
    form = data["form"]
    _field(form, "ward")["role"] = "other"
    name, date = _field(form, "name"), _field(form, "date")
    name["x1"] = date["x0"] = round(name["x1"] + 0.01, 4)
    form["line_bounds"][-1] -= 0.004
    response = _save(ada, "city-2", data["source"], form)
    assert response.status_code == 200, response.text
    assert response.json()["location"] == "/admin/forms?saved=city-2"
    store = _store(root)
    try:
        stored = load_named_form(store, "city-2")
    finally:
        store.close()
    roles = [f.role for f in stored.fields]
    assert Role.WARD not in roles and Role.OTHER in roles
    assert next(f for f in stored.fields if f.role is Role.NAME).x1 == pytest.approx(name["x1"], abs=1e-4)
    assert stored.line_bounds[-1] == pytest.approx(form["line_bounds"][-1], abs=1e-4)
    assert stored.template == (root / "forms" / "city-2.png").resolve() and stored.template.is_file()
    assert not (root / "forms" / ".drafts" / token).exists()  # the draft is gone once stored
    assert "Saved form city-2." in ada.get("/admin/forms?saved=city-2").text


@pytest.mark.parametrize(("change", "status", "says"), [
    (lambda f: _field(f, "name").update(role="other"), 422, "needs a 'name' and a 'signature' field"),
    (lambda f: f["line_bounds"].reverse(), 422, "line_bounds must hold at least two increasing values"),
    (lambda f: _field(f, "date").update(x0=0.9, x1=0.8), 422, "field 'date' has a box outside 0..1 or empty"),
    (lambda f: _field(f, "date").update(x1="wide"), 422, "reload the page"),
    (lambda f: _field(f, "date").update(role="birthday"), 422, "reload the page"),
    (lambda f: f.update(line_bounds=[0.5]), 422, "1 to 60 lines"),
])
def test_a_form_that_cannot_be_used_is_refused_with_what_to_change_and_nothing_is_stored(root, ada, change, status,
                                                                                          says):
    data = _editor_data(ada.get("/admin/forms/city/edit").text)
    before = (root / "forms" / "city.toml").read_text(encoding="utf-8")
    change(data["form"])
    response = _save(ada, "city", data["source"], data["form"])
    assert response.status_code == status and says in response.json()["error"], response.text
    assert "/tmp" not in response.json()["error"] and ".edit-" not in response.json()["error"]
    assert (root / "forms" / "city.toml").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in (root / "forms").iterdir()) == ["city.png", "city.toml"]
    store = _store(root)
    try:
        assert [f.name for f in named_forms(store, earlier_versions=True)] == ["city"]
    finally:
        store.close()


@pytest.mark.parametrize("name", ["", "bad name", "../city", "city@1", "x" * 61])
def test_a_name_that_is_not_letters_digits_dash_underscore_is_refused(ada, name):
    data = _editor_data(ada.get("/admin/forms/city/edit").text)
    response = _save(ada, name, data["source"], data["form"])
    assert response.status_code == 422 and "is not allowed" in response.json()["error"]


def test_saving_over_another_stored_form_needs_replace_and_keeps_the_one_replaced(root, ada, blank_png):
    _, data = _new_draft(ada, blank_png)
    _field(data["form"], "ward")["role"] = "other"
    taken = _save(ada, "city", data["source"], data["form"])
    assert taken.status_code == 409 and "replace it" in taken.json()["error"]
    assert "role = \"ward\"" in (root / "forms" / "city.toml").read_text(encoding="utf-8")
    replaced = _save(ada, "city", data["source"], data["form"], replace=True)
    assert replaced.status_code == 200 and "kept as city@1" in replaced.json()["message"]
    assert 'role = "ward"' in (root / "forms" / "city@1.toml").read_text(encoding="utf-8")
    assert 'role = "ward"' not in (root / "forms" / "city.toml").read_text(encoding="utf-8")


# Earlier versions: a batch always names the form it was read with ---------------------------------------------


def test_editing_a_form_batches_were_read_with_keeps_that_version_for_them(root, ada):
    done, failed, queued = _add_batch(root, "city", "done"), _add_batch(root, "city", "failed"), _add_batch(
        root, "city", "queued")
    data = _editor_data(ada.get("/admin/forms/city/edit").text)
    assert data["name"] == "city" and data["source"] == "form:city"
    before = (root / "forms" / "city.toml").read_text(encoding="utf-8")
    _field(data["form"], "ward")["role"] = "other"
    response = _save(ada, "city", data["source"], data["form"])
    assert response.status_code == 200
    assert f"batches {done}, {failed} name it" in response.json()["message"]
    # The earlier version is the same form as before, under its new name; the batches read with it name it.
    assert (root / "forms" / "city@1.toml").read_text(encoding="utf-8") == before.replace(
        'name = "city"', 'name = "city@1"').replace('"city.png"', '"city@1.png"')
    assert (root / "forms" / "city@1.png").read_bytes() == (root / "forms" / "city.png").read_bytes()
    assert _batch_forms(root) == {done: "city@1", failed: "city@1", queued: "city"}
    page = ada.get("/admin/forms").text
    assert "Earlier versions" in page and '<tr data-form="city@1">' in page
    assert '<option value="city@1"' not in ada.get("/admin/upload").text  # never offered for new uploads
    # Saving the same form again changes nothing: no new version.
    assert _save(ada, "city", data["source"], data["form"]).json()["message"] == "Saved form city."
    assert not (root / "forms" / "city@2.toml").exists()


def test_a_form_no_batch_names_is_deleted_with_its_files(root, ada):
    response = ada.post("/admin/forms/city/delete", data={"csrf": ada.csrf})
    assert response.status_code == 200 and "Deleted form city." in response.text
    assert list((root / "forms").glob("city*")) == []
    assert "No stored forms yet" in ada.get("/admin/forms").text


def test_a_form_batches_name_is_kept_for_them_when_deleted_and_that_version_cannot_be(root, ada):
    batch = _add_batch(root, "city", "queued")
    response = ada.post("/admin/forms/city/delete", data={"csrf": ada.csrf})
    assert response.status_code == 200 and "kept for them as city@1" in response.text
    assert _batch_forms(root) == {batch: "city@1"}
    assert not (root / "forms" / "city.toml").exists() and (root / "forms" / "city@1.toml").is_file()
    store = _store(root)
    try:
        assert load_named_form(store, "city@1").name == "city@1"  # what the batch runner reads it with
        assert [f.name for f in named_forms(store)] == []  # off the upload page's list
    finally:
        store.close()
    refused = ada.post("/admin/forms/city@1/delete", data={"csrf": ada.csrf})
    assert refused.status_code == 409 and f"batches {batch} were read with it" in refused.text
    assert (root / "forms" / "city@1.toml").is_file()


def test_a_rename_moves_the_files_and_the_batches_follow(root, ada):
    batch = _add_batch(root, "city", "done")
    response = ada.post("/admin/forms/city/rename", data={"csrf": ada.csrf, "new_name": "north-harbor"})
    assert response.status_code == 200 and "Renamed form city to north-harbor." in response.text
    assert not (root / "forms" / "city.toml").exists()
    assert 'template = "north-harbor.png"' in (root / "forms" / "north-harbor.toml").read_text(encoding="utf-8")
    assert _batch_forms(root) == {batch: "north-harbor"}
    store = _store(root)
    try:
        assert load_named_form(store, "north-harbor").template.is_file()
    finally:
        store.close()


@pytest.mark.parametrize(("new_name", "status", "says"), [("bad name", 422, "is not allowed"),
                                                          ("city", 409, "already")])
def test_a_rename_to_a_bad_or_taken_name_is_refused(ada, new_name, status, says):
    response = ada.post("/admin/forms/city/rename", data={"csrf": ada.csrf, "new_name": new_name})
    assert response.status_code == status and says in response.text


def test_an_unknown_form_is_a_404(ada):
    assert ada.get("/admin/forms/county/edit").status_code == 404
    assert ada.get("/admin/forms/county/sheet.png").status_code == 404
    assert ada.get("/admin/form-drafts/" + "0" * 32).status_code == 404
    assert ada.get("/admin/form-drafts/..%2F..%2Fforms").status_code == 404
    assert ada.post("/admin/forms/county/delete", data={"csrf": ada.csrf}).status_code == 404


# The upload of a blank sheet: the upload page's checks -----------------------------------------------------


def test_a_blank_sheet_that_is_not_an_image_or_too_large_is_refused_and_nothing_is_kept(root, blank_png):
    with _client(root, "ada", max_file_bytes=len(blank_png) - 1) as ada:
        big = ada.post("/admin/forms/new", data={"csrf": ada.csrf},
                       files=[("files", ("blank.png", io.BytesIO(blank_png), "image/png"))])
        text = ada.post("/admin/forms/new", data={"csrf": ada.csrf},
                        files=[("files", ("blank.png", io.BytesIO(b"not an image at all"), "image/png"))])
        empty = ada.post("/admin/forms/new", data={"csrf": ada.csrf},
                         files=[("files", ("blank.png", io.BytesIO(_white_png()), "image/png"))])
    assert big.status_code == 413 and text.status_code == 415
    assert empty.status_code == 422 and "no layout could be proposed" in empty.text
    assert not any((root / "uploads").glob("*")) and not any((root / "forms" / ".drafts").glob("*"))


def _white_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (850, 1100), 255).save(out, format="PNG")
    return out.getvalue()


# Admins only; CSRF on every POST ---------------------------------------------------------------------------


def test_reviewers_get_403_everywhere(rita, blank_png):
    for url in ("/admin/forms", "/admin/forms/city/edit", "/admin/forms/city/sheet.png"):
        assert rita.get(url).status_code == 403, url
    assert rita.post("/admin/forms/new", data={"csrf": rita.csrf},
                     files=[("files", ("b.png", io.BytesIO(blank_png), "image/png"))]).status_code == 403
    assert _save(rita, "mine", "form:city", {}).status_code == 403
    assert rita.post("/admin/forms/city/delete", data={"csrf": rita.csrf}).status_code == 403
    assert rita.post("/admin/forms/city/rename", data={"csrf": rita.csrf, "new_name": "x"}).status_code == 403
    assert "/admin/forms" not in rita.get("/review").text


def test_not_logged_in_is_sent_to_log_in(root):
    app = create_app(ReviewSettings(workspace=root, allowed_hosts=TEST_HOSTS), run_batches=False)
    with TestClient(app) as client:
        page = client.get("/admin/forms", follow_redirects=False)
        api = client.post("/admin/forms/save", json={}, headers={"Accept": "application/json"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/forms"
    assert api.status_code == 401


def test_every_post_without_its_csrf_token_is_refused_and_changes_nothing(root, ada, blank_png):
    data = _editor_data(ada.get("/admin/forms/city/edit").text)
    assert _save(ada, "other", data["source"], data["form"], csrf="forged").status_code == 403
    assert ada.post("/admin/forms/city/delete", data={"csrf": "forged"}).status_code == 403
    assert ada.post("/admin/forms/city/rename", data={"new_name": "x"}).status_code == 403
    new = ada.post("/admin/forms/new", data={"csrf": "forged"},
                   files=[("files", ("b.png", io.BytesIO(blank_png), "image/png"))])
    assert new.status_code == 403
    assert sorted(p.name for p in (root / "forms").iterdir()) == ["city.png", "city.toml"]
    assert not any((root / "uploads").glob("*"))


def test_a_host_the_app_does_not_serve_is_refused(root):
    app = create_app(ReviewSettings(workspace=root, allowed_hosts=TEST_HOSTS), run_batches=False)
    with TestClient(app) as client:
        assert client.get("/admin/forms", headers={"Host": "evil.example"}).status_code == 400


def test_a_proposal_without_a_name_field_opens_in_the_editor_and_is_stored_once_fixed(root, ada, blank_png):
    token, _ = _new_draft(ada, blank_png)
    proposal = root / "forms" / ".drafts" / token / "layout.json"
    layout = json.loads(proposal.read_text(encoding="utf-8"))
    next(f for f in layout["fields"] if f["role"] == "name")["role"] = "signature"  # issue 8: the roles detect gave
    proposal.write_text(json.dumps(layout), encoding="utf-8")
    data = _editor_data(ada.get(f"/admin/form-drafts/{token}").text)
    refused = _save(ada, "county", data["source"], data["form"])
    assert refused.status_code == 422 and "needs a 'name' and a 'signature' field" in refused.json()["error"]
    assert not (root / "forms" / "county.toml").exists()
    [f for f in data["form"]["fields"] if f["role"] == "signature"][-1]["role"] = "name"
    assert _save(ada, "county", data["source"], data["form"]).status_code == 200


def test_a_form_without_a_blank_sheet_is_edited_on_a_plain_page(root, ada):
    text = (root / "forms" / "city.toml").read_text(encoding="utf-8")
    hand = root / "hand.toml"
    hand.write_text("\n".join(line for line in text.splitlines() if not line.startswith("template")), encoding="utf-8")
    store = _store(root)
    try:
        from pipeline.forms import save_named_form

        save_named_form(store, "by-hand", hand, created_by="ada")
    finally:
        store.close()
    page = ada.get("/admin/forms/by-hand/edit").text
    data = _editor_data(page)
    assert data["sheet"] == "" and (data["width"], data["height"]) == (1700, 2200) and 'class="fe-paper"' in page
    assert ada.get("/admin/forms/by-hand/sheet.png").status_code == 404
    _field(data["form"], "date")["role"] = "other"
    assert _save(ada, "by-hand", data["source"], data["form"]).status_code == 200
    assert not (root / "forms" / "by-hand.png").exists()


def test_only_a_blank_sheet_the_workspace_keeps_is_served(root, ada, tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes((root / "forms" / "city.png").read_bytes())
    toml = root / "forms" / "city.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"city.png"', f'"{outside}"'), encoding="utf-8")
    assert ada.get("/admin/forms/city/sheet.png").status_code == 404
