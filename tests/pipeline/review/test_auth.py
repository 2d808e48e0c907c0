"""Login, sessions, CSRF, the login throttle, roles, logout, and the log lines the server writes."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from pipeline.review import auth
from pipeline.review.app import bind_warning
from tests.pipeline.review.conftest import PASSWORD, csrf_of, login

PAGES = ["/", "/review", "/duplicates", "/admin", "/admin/users", "/admin/upload", "/admin/batches",
         "/admin/export/rows.csv", "/crop/0123456789abcdef0123456789abcdef"]
API = [("GET", "/api/next"), ("POST", "/api/decide"), ("POST", "/api/skip"), ("POST", "/api/undo"),
       ("POST", "/api/heartbeat")]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_session(app, path):
    with TestClient(app) as client:
        response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path"), API)
def test_the_api_answers_401_without_a_session(app, method, path):
    with TestClient(app) as client:
        response = client.request(method, path, json={})
    assert response.status_code == 401


def test_login_sets_a_strict_httponly_session_cookie_and_logout_ends_it(app):
    with TestClient(app) as client:
        response = login(client, "rita")
        assert response.status_code == 303 and response.headers["location"] == "/review"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        page = client.get("/review")
        assert page.status_code == 200 and "rita" in page.text
        assert client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False).status_code == 303
        assert client.get("/review", follow_redirects=False).status_code == 303


def test_a_stolen_cookie_value_is_not_stored_in_the_database(app, workspace_dir):
    with TestClient(app) as client:
        login(client, "rita")
        token = client.cookies[auth.SESSION_COOKIE]
    assert token.encode() not in (workspace_dir / "workspace.sqlite").read_bytes()


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app):
    with TestClient(app) as client:
        wrong_password = login(client, "rita", "not the password")
        no_such_user = login(client, "nobody", "not the password")
    assert wrong_password.status_code == no_such_user.status_code == 401
    assert "Wrong name or password" in wrong_password.text and "Wrong name or password" in no_such_user.text


def test_login_without_its_csrf_token_is_refused(app):
    with TestClient(app) as client:
        client.get("/login")
        response = client.post("/login", data={"name": "rita", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403


def test_five_failures_lock_the_name_for_unknown_browsers_with_a_growing_window(app, clock):
    with TestClient(app) as client:
        for _ in range(auth.LOCK_AFTER):
            assert login(client, "rita", "wrong guess").status_code == 401
        locked = login(client, "rita")  # even the right password waits
        assert locked.status_code == 429 and "Retry-After" in locked.headers
        assert login(client, "sam").status_code == 303  # another account is not locked
        clock.now += auth.LOCK_BASE_SECONDS + 1
        assert login(client, "rita", "wrong again").status_code == 401
        clock.now += auth.LOCK_BASE_SECONDS + 1  # the window doubled: still locked
        assert login(client, "rita").status_code == 429
        clock.now += auth.LOCK_BASE_SECONDS + 1
        assert login(client, "rita").status_code == 303


def test_wrong_guesses_at_the_admin_from_a_shared_address_do_not_lock_out_the_admins_browser(app):
    """Behind a proxy everyone has the proxy's address: an attacker's guesses must not keep the admin out."""
    with TestClient(app) as admin, TestClient(app) as attacker:  # one address for both, as behind a proxy
        assert login(admin, "ada").status_code == 303  # an earlier login: this browser is known
        assert admin.post("/logout", data={"csrf": csrf_of(admin.get("/admin").text)},
                          follow_redirects=False).status_code == 303
        guesses = [login(attacker, "ada", f"guess number {i}").status_code for i in range(8)]
        assert guesses == [401] * auth.LOCK_AFTER + [429] * (8 - auth.LOCK_AFTER)
        assert login(attacker, "ada").status_code == 429  # the right password from an unknown browser waits too
        assert login(admin, "ada").status_code == 303  # the admin's own browser gets in at once


def test_a_known_browser_that_keeps_guessing_is_throttled_like_an_unknown_one(app):
    """The device cookie is no licence to guess: after DEVICE_LOCK_AFTER failures it stops counting."""
    with TestClient(app) as client:
        assert login(client, "rita").status_code == 303
        guesses = [login(client, "rita", f"guess number {i}").status_code
                   for i in range(auth.DEVICE_LOCK_AFTER + auth.LOCK_AFTER + 2)]
    assert guesses == [401] * (auth.DEVICE_LOCK_AFTER + auth.LOCK_AFTER) + [429] * 2


def test_one_wrong_guess_at_each_of_many_names_from_one_address_is_throttled(app, clock):
    """Password spraying: one guess per name never trips a per-name lock, so the address has a budget."""
    with TestClient(app) as known, TestClient(app) as spray:
        assert login(known, "sam").status_code == 303  # logged in here before the spray started
        guesses = [login(spray, f"user{i}", "Winter2025!").status_code for i in range(50)]
        assert guesses[:10] == [401] * 10, guesses  # a few failures are typos, not an attack
        first = guesses.index(429)
        assert guesses[first:] == [429] * (50 - first), guesses
        assert login(spray, "rita").status_code == 429  # an unknown browser at this address waits, right or wrong
        assert login(known, "sam").status_code == 303  # a browser that logged in before does not
        with TestClient(app, client=("203.0.113.9", 50000)) as elsewhere:
            assert login(elsewhere, "rita").status_code == 303  # other addresses are not held back
        clock.now += auth.FAILURE_WINDOW_SECONDS + 1
        assert login(spray, "rita").status_code == 303  # and the budget refills


def test_the_login_throttle_keeps_no_row_per_guess_forever(app, clock, workspace_dir):
    """Failed logins are kept only for the window they count in, so guessing cannot grow the database."""
    from pipeline.store import Workspace

    with TestClient(app) as client:
        for i in range(3):
            login(client, f"user{i}", "wrong")
        clock.now += auth.FAILURE_WINDOW_SECONDS + 1
        login(client, "user9", "wrong")
    store = Workspace.open(workspace_dir, create=False)
    try:
        assert store.db.execute("SELECT count(*) FROM review_failed_logins").fetchone()[0] == 1
    finally:
        store.close()


def test_posts_without_the_csrf_token_are_rejected(open_reviewer):
    rita = open_reviewer("rita")
    item = rita.item["item"]
    body = {"item": item, "status": "signed", "name": "X"}
    assert rita.client.post("/api/decide", json=body).status_code == 403
    assert rita.client.post("/api/decide", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert rita.client.post("/review/decide", data={"item": item, "status": "signed"}).status_code == 403
    assert rita.client.post("/logout", follow_redirects=False).status_code == 403
    assert rita.decide(item, "signed", "X").status_code == 200


def test_reviewers_get_403_on_admin_pages_and_exports(open_reviewer):
    rita = open_reviewer("rita")
    for path in ["/admin", "/admin/users", "/admin/upload", "/admin/batches", "/admin/export/rows.csv",
                 "/admin/export/roster.csv"]:
        assert rita.client.get(path).status_code == 403, path
    response = rita.client.post("/admin/users", data={"name": "eve", "password": "x" * 12, "role": "admin",
                                                      "csrf": rita.csrf})
    assert response.status_code == 403


def test_only_local_redirects_after_login(app):
    assert auth.safe_next("/duplicates") == "/duplicates"
    for target in ["//evil.example/x", "https://evil.example", "/\\evil", "", None]:
        assert auth.safe_next(target) == "/review"


def test_binding_beyond_loopback_warns():
    assert bind_warning("127.0.0.1") == "" and bind_warning("localhost") == ""
    assert "WARNING" in bind_warning("0.0.0.0") and "HTTPS" in bind_warning("0.0.0.0")


def test_server_log_has_route_templates_and_statuses_but_no_names_or_ids(open_reviewer, caplog):
    rita = open_reviewer("rita")
    item = rita.item
    with caplog.at_level(logging.INFO, logger="pipeline.review"):
        rita.decide(item["item"], "signed", "Zebulon Quartermaine")
        crop = item["crops"]["line"]
        assert rita.client.get(crop).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.review"]
    assert "POST /api/decide 200" in " ".join(lines) and "GET /crop/{crop_id} 200" in " ".join(lines)
    text = "\n".join(lines)
    assert "Zebulon" not in text and crop.split("/")[-1] not in text and item["item"] not in text


def test_pages_carry_security_headers(app):
    with TestClient(app) as client:
        response = client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
