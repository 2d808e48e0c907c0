"""A small real workspace (two sample sheets read by real Tesseract, crops kept), made once per session and
copied for every test that changes it; accounts and logged-in clients for the review app."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.add import add_paths, file_sha256
from pipeline.batch import ReadJob
from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace
from pipeline.users import add_user
from scanner.read import ReadSettings
from tests.support import SCANS

PASSWORD = "correct horse battery"
# Starlette's in-process TestClient sends `Host: testserver`; the app serves only the names it is told to, as in
# production, so tests that drive it in process allow that name rather than the app making an exception for it.
TEST_HOSTS = ("testserver",)
USERS = {"ada": "admin", "rita": "reviewer", "sam": "reviewer"}
SEED_SHA = file_sha256(SCANS / "seed_clean.png")


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review") / "workspace"
    store = Workspace.open(root)
    try:
        report = add_paths(store, [SCANS / "seed_clean.png", SCANS / "stacked_scan.png"],
                           job=ReadJob(settings=replace(ReadSettings(), keep_crops=True)))
        assert report.all_read
        for name, role in USERS.items():
            add_user(store, name, PASSWORD, role=role)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return root


@pytest.fixture
def workspace_dir(seeded, tmp_path) -> Path:
    target = tmp_path / "workspace"
    shutil.copytree(seeded, target)
    return target


@dataclass
class FakeClock:
    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def settings(workspace_dir, clock) -> ReviewSettings:
    return ReviewSettings(workspace=workspace_dir, clock=clock, allowed_hosts=TEST_HOSTS)


@pytest.fixture
def app(settings):
    return create_app(settings, run_batches=False)


def login(client: TestClient, name: str, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": token}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'data-csrf="([^"]*)"', html).group(1)


def item_of(html: str) -> dict | None:
    return json.loads(re.search(r'id="first-item">(.*?)</script>', html, re.S).group(1))


@dataclass
class Reviewer:
    """A logged-in client with its CSRF token, and the line its review page showed."""

    client: TestClient
    csrf: str
    item: dict | None

    def post(self, url: str, json_body: dict | None = None):
        return self.client.post(url, json=json_body or {}, headers={"X-CSRF-Token": self.csrf})

    def decide(self, item: str, status: str, name: str = ""):
        return self.post("/api/decide", {"item": item, "status": status, "name": name})


@pytest.fixture
def open_reviewer(app):
    clients = []

    def make(name: str) -> Reviewer:
        client = TestClient(app)
        clients.append(client)
        assert login(client, name).status_code == 303
        page = client.get("/review")
        return Reviewer(client, csrf_of(page.text), item_of(page.text))

    yield make
    for client in clients:
        client.close()


def make_possible_duplicate(workspace_dir: Path) -> None:
    """'Pavel Haris' on line 10 is close to line 2's 'PAVEL HARRIS': a pair for a person to look at."""
    store = Workspace.open(workspace_dir, create=False)
    try:
        store.record_decision(file_sha256=SEED_SHA, page_no=1, line_no=10, field="name", value="Pavel Haris",
                              decided_by="setup")
    finally:
        store.close()


def decisions(workspace_dir: Path) -> list[dict]:
    store = Workspace.open(workspace_dir, create=False)
    try:
        return [dict(r) for r in store.db.execute("SELECT * FROM decisions ORDER BY id")]
    finally:
        store.close()


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: drives the review app in real headless Chromium (/usr/bin/chromium)")
