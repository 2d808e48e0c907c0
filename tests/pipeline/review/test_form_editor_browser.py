"""The form editor in real headless Chromium: an admin uploads the city petition's blank sheet, sees the proposed
boxes over it, changes roles by clicking and by keyboard, drags a column edge, saves; the stored form has the
edits and `petition add --form NAME` reads with it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from pipeline.cli import EXIT_OK
from pipeline.cli import app as cli_app
from pipeline.forms import load_named_form
from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace
from pipeline.users import add_user
from samples.city_form import blank_form, render_city_sheet
from scanner.types import Role
from tests.pipeline.review.conftest import PASSWORD
from tests.support import DPI

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
def root(tmp_path) -> Path:
    folder = tmp_path / "ws"
    store = Workspace.open(folder)
    try:
        add_user(store, "ada", PASSWORD, role="admin")
    finally:
        store.close()
    return folder


@pytest.fixture
def live_url(root) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(ReviewSettings(workspace=root), run_batches=False), host="127.0.0.1",
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
def page(live_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = chromium.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        # Every failed request but the favicon the browser asks for on its own (the app has none).
        tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
               if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        tab.errors = errors
        yield tab
        chromium.close()


def _log_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'name'")
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/review", timeout=10_000)


def _role_at(page, field: int) -> str:
    return page.get_attribute(f'.fe-field[data-line="0"][data-field="{field}"]', "data-role")


def _focused(page) -> dict:
    return page.evaluate("({field: document.activeElement.dataset.field, role: document.activeElement.dataset.role})")


def test_an_admin_makes_a_form_from_a_blank_sheet_in_the_browser(page, live_url, root, tmp_path):
    blank = tmp_path / "city blank.png"
    blank_form(DPI).save(blank, dpi=(DPI, DPI))
    _log_in(page, live_url)
    page.goto(f"{live_url}/admin/forms")
    page.set_input_files('input[name="files"]', str(blank))
    page.click("text=Propose its layout")
    page.wait_for_url(f"{live_url}/admin/form-drafts/*", timeout=60_000)

    # The proposed layout over the sheet: a box per field on each of the five lines, labelled with its role.
    page.wait_for_selector('.fe-field[data-line="4"]')
    fields = page.evaluate("JSON.parse(document.getElementById('fe-data').textContent).form.fields")
    roles = [f["role"] for f in fields]
    assert {"line_number", "signature", "address", "name", "date", "ward"} <= set(roles)
    assert page.locator('.fe-field[data-line="0"]').count() == len(fields)
    assert page.locator(".fe-field").count() == 5 * len(fields)
    assert page.locator('.fe-field[data-line="0"][data-role="signature"] text').text_content() == "signature"
    assert page.evaluate("document.getElementById('fe-image').getBBox().width") > 1000  # the sheet is drawn

    # By clicking: the ward box on line 3, then 'other' in the menu.
    ward = roles.index("ward")
    page.click(f'.fe-field[data-line="2"][data-field="{ward}"]')
    page.click('#fe-roles button[data-role="other"]')
    assert _role_at(page, ward) == "other" and page.locator('.fe-field[data-role="other"]').count() == 5

    # A field can be split in two (the new half is 'other') and removed again.
    page.click("#fe-split-across")
    assert page.locator('.fe-field[data-line="0"]').count() == len(fields) + 1
    assert page.evaluate("document.activeElement.dataset.field") == str(len(fields))  # the new half
    page.click("#fe-remove-field")
    assert page.locator('.fe-field[data-line="0"]').count() == len(fields)

    # By keyboard: the first box, Tab and the arrows to the date box, then its role's key.
    page.focus('.fe-field[data-line="0"]:first-of-type')
    first = _focused(page)
    page.keyboard.press("Tab")
    assert _focused(page)["field"] != first["field"]
    date = roles.index("date")
    for _ in range(len(fields)):
        if _focused(page)["role"] == "date":
            break
        page.keyboard.press("ArrowRight")
    assert _focused(page) == {"field": str(date), "role": "date"}
    page.keyboard.press("e")
    assert _role_at(page, date) == "email" and _focused(page)["field"] == str(date)  # focus stays on the box

    # Drag the column edge between the printed name and the date 40 px to the right (a shared boundary).
    name = roles.index("name")
    before = fields[name]["x1"]
    edge = page.locator(f'.fe-edge-x1[data-field="{name}"][data-line="1"]').bounding_box()
    width = page.locator("#fe-svg").bounding_box()["width"]
    x, y = edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y, steps=4)
    page.mouse.move(x + 40, y, steps=4)
    page.mouse.up()
    moved = before + 40 / width  # the view spans the page's whole width
    edited = page.evaluate("JSON.parse(document.getElementById('fe-data').textContent)")  # the page's data is fixed
    assert edited["form"]["fields"][name]["x1"] == before

    # From the keyboard: Shift+Down lowers the signature/address sub-row boundary (a tenth of a line's tenth).
    signature = roles.index("signature")
    page.focus(f'.fe-field[data-line="0"][data-field="{signature}"]')
    page.keyboard.press("Shift+ArrowDown")
    split = fields[signature]["bottom"] + 0.02

    # Drag the last line's bottom edge up 10 px.
    scale = page.evaluate("JSON.parse(document.getElementById('fe-data').textContent).width") / width
    height = page.evaluate("JSON.parse(document.getElementById('fe-data').textContent).height")
    bottom_edge = page.locator('.fe-bound[data-bound="5"]').bounding_box()
    x, y = bottom_edge["x"] + bottom_edge["width"] * 0.3, bottom_edge["y"] + bottom_edge["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 10, steps=4)
    page.mouse.up()
    last_bound = page.evaluate("JSON.parse(document.getElementById('fe-data').textContent).form.line_bounds[5]")
    raised = last_bound - 10 * scale / height

    # Lines can be added and removed.
    page.click("#fe-add-line")
    assert page.locator('.fe-field[data-line="5"]').count() == len(fields)
    page.click("#fe-remove-line")
    assert page.locator('.fe-field[data-line="5"]').count() == 0

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "form_editor.png"), full_page=True)
    page.fill("#fe-name", "city-edited")
    page.click("#fe-save")
    page.wait_for_url(f"{live_url}/admin/forms?saved=city-edited", timeout=10_000)
    assert "Saved form city-edited." in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "forms_page.png"), full_page=True)
    assert page.errors == []

    store = Workspace.open(root, create=False)
    try:
        form = load_named_form(store, "city-edited")
    finally:
        store.close()
    by_role = {f.role: f for f in form.fields}
    assert Role.WARD not in by_role and Role.DATE not in by_role
    assert by_role[Role.OTHER].x0 == pytest.approx(fields[ward]["x0"], abs=1e-4)
    assert by_role[Role.EMAIL].x0 == pytest.approx(moved, abs=0.002)  # the date cell's left edge moved along
    assert by_role[Role.NAME].x1 == pytest.approx(moved, abs=0.002)
    assert len(form.line_bounds) == 6 and form.template is not None and form.template.is_file()
    assert by_role[Role.SIGNATURE].bottom == pytest.approx(split, abs=1e-4)
    assert by_role[Role.ADDRESS].top == pytest.approx(split, abs=1e-4)
    assert form.line_bounds[-1] == pytest.approx(raised, abs=0.001)

    # `petition add --form NAME` reads with it: a blank copy of the sheet, its five lines blank.
    copy = tmp_path / "blank-copy.png"
    render_city_sheet(seed=3, blank=True)[0].save(copy, dpi=(DPI, DPI))
    result = CliRunner().invoke(cli_app, ["add", str(copy), "--workspace", str(root), "--form", "city-edited"])
    assert result.exit_code == EXIT_OK, result.output
    store = Workspace.open(root, create=False)
    try:
        statuses = [r[0] for r in store.db.execute("SELECT status FROM effective_lines ORDER BY line_no")]
    finally:
        store.close()
    assert statuses == ["blank"] * 5
