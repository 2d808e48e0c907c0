"""The review app in real headless Chromium, keyboard only, against uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace
from tests.pipeline.review.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-dev-shm-usage"]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
                                                                " (apt-get install chromium); CI installs it")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_url(workspace_dir) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(ReviewSettings(workspace=workspace_dir), run_batches=False), host="127.0.0.1",
                            port=port, access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _log_in(page, url: str, name: str) -> None:
    """Keyboard only: the name field has the focus."""
    page.goto(f"{url}/login")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'name'")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/review", timeout=10_000)
    page.wait_for_function("document.body.dataset.item")


def _current(page) -> str:
    return page.evaluate("document.body.dataset.item || ''")


def _wait_for_change(page, before: str) -> str:
    page.wait_for_function("before => (document.body.dataset.item || '') !== before", arg=before, timeout=10_000)
    return _current(page)


def _decided_lines(workspace_dir: Path, user: str) -> list[tuple]:
    store = Workspace.open(workspace_dir, create=False)
    try:
        return [tuple(r) for r in store.db.execute(
            "SELECT DISTINCT file_sha256, page_no, line_no FROM decisions WHERE decided_by = ?", (user,))]
    finally:
        store.close()


def test_ten_lines_reviewed_by_keyboard_only(browser, live_url, workspace_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    _log_in(page, live_url, "rita")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "review_page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot of the review page: {shot}")
    seen = [_current(page)]
    for step in range(10):
        before = seen[-1]
        if step % 4 == 1:
            page.keyboard.type("Corrected Name")  # the machine's name is selected: typing replaces it
        elif step % 4 == 2:
            page.keyboard.press("Alt+KeyB")  # blank, from inside the name box
        elif step % 4 == 3:
            page.keyboard.press("Escape")  # leave the name box; plain keys are commands now
            page.keyboard.press("x")
        page.keyboard.press("Enter")
        seen.append(_wait_for_change(page, before))
    assert len(set(seen[:10])) == 10
    assert len(_decided_lines(workspace_dir, "rita")) == 10
    assert page.locator('[data-p="mine_today"]').inner_text() == "10"
    store = Workspace.open(workspace_dir, create=False)
    try:
        values = {(r[0], r[1]) for r in store.db.execute("SELECT field, value FROM decisions WHERE decided_by = 'rita'")}
    finally:
        store.close()
    assert {("name", "Corrected Name"), ("status", "blank"), ("status", "struck")} <= values
    # Undo brings the last line back and appends restoring decisions; nothing is deleted.
    page.keyboard.press("Alt+KeyU")
    assert _wait_for_change(page, seen[-1]) == seen[-2]
    store = Workspace.open(workspace_dir, create=False)
    try:
        assert store.db.execute("SELECT count(*) FROM review_actions WHERE kind = 'undo'").fetchone()[0] == 1
    finally:
        store.close()


def test_skip_by_keyboard_asks_for_a_reason(browser, live_url, workspace_dir):
    page = browser.new_page()
    _log_in(page, live_url, "rita")
    before = _current(page)
    page.keyboard.press("Alt+KeyK")
    assert page.locator("#skipping").is_visible()
    page.keyboard.press("2")
    _wait_for_change(page, before)
    store = Workspace.open(workspace_dir, create=False)
    try:
        row = store.db.execute("SELECT item, kind, detail FROM review_actions").fetchone()
    finally:
        store.close()
    assert tuple(row) == (before, "skip", "needs a second opinion")


def test_two_volunteers_at_once_never_get_the_same_line(browser, live_url, workspace_dir):
    pages = {}
    for name in ("rita", "sam"):
        context = browser.new_context()
        pages[name] = context.new_page()
        _log_in(pages[name], live_url, name)
    shown = {name: [_current(page)] for name, page in pages.items()}
    for _ in range(4):
        for name, page in pages.items():
            before = shown[name][-1]
            page.keyboard.press("Enter")
            shown[name].append(_wait_for_change(page, before))
    assert not set(shown["rita"]) & set(shown["sam"]), shown
    rita, sam = _decided_lines(workspace_dir, "rita"), _decided_lines(workspace_dir, "sam")
    assert len(rita) == len(sam) == 4 and not set(rita) & set(sam)
