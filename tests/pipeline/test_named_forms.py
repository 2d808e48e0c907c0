"""Named forms kept in a workspace: `form add`, `form save`, `form list` and `add --form NAME`, through the real CLI
on a real SQLite workspace; the city petition's blank sheet (samples/city_form.py) is the form."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import EXIT_OK, EXIT_USAGE, app
from pipeline.forms import FormNameError, check_name, load_named_form
from pipeline.store import Workspace
from pipeline.store.forms import all_forms
from samples.city_form import blank_form, render_city_sheet
from tests.support import DPI

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A workspace holding the city form under the name 'city', stored from its blank sheet by `form add`."""
    folder = tmp_path_factory.mktemp("named-forms")
    blank = folder / "blank.png"
    blank_form(DPI).save(blank, dpi=(DPI, DPI))
    result = _invoke("form", "add", "city", blank, "--workspace", folder / "ws")
    assert result.exit_code == EXIT_OK, result.output
    assert "forms/city.toml" in result.output and "form save city" in result.output
    return folder / "ws"


@pytest.fixture
def workspace(stored, tmp_path) -> Path:
    return Path(shutil.copytree(stored, tmp_path / "ws"))


@pytest.fixture
def blank_page(tmp_path) -> Path:
    path = tmp_path / "blank-copy.png"
    render_city_sheet(seed=4, blank=True)[0].save(path, dpi=(DPI, DPI))
    return path


def test_form_add_stores_the_form_and_its_blank_sheet_and_list_shows_it(stored):
    toml = stored / "forms" / "city.toml"
    assert (stored / "forms" / "city.png").is_file() and 'template = "city.png"' in toml.read_text(encoding="utf-8")
    store = Workspace.open(stored, create=False)
    try:
        (row,) = all_forms(store)
    finally:
        store.close()
    assert row.name == "city" and row.sha256 == hashlib.sha256(toml.read_bytes()).hexdigest()
    listed = _invoke("form", "list", "--workspace", stored)
    assert listed.exit_code == EXIT_OK
    (line,) = listed.output.splitlines()
    name, lines, roles, sheet = line.split("\t")
    assert (name, lines, sheet) == ("city", "5 lines", "blank sheet")
    assert {"name", "signature"} <= set(roles.split(", "))


def test_add_with_a_stored_form_name_reads_with_it(workspace, blank_page):
    result = _invoke("add", blank_page, "--workspace", workspace, "--form", "city")
    assert result.exit_code == EXIT_OK, result.output
    store = Workspace.open(workspace, create=False)
    try:
        statuses = [r[0] for r in store.db.execute("SELECT status FROM effective_lines ORDER BY line_no")]
        (registration,) = store.db.execute("SELECT registration FROM pages").fetchone()
    finally:
        store.close()
    assert statuses == ["blank"] * 5
    # Read with the stored form's blank sheet: the page was lined up with it (NULL when no blank sheet is used).
    assert registration is not None and registration > 0.9


def test_add_with_an_unknown_form_name_exits_2_naming_the_known_forms(workspace, blank_page):
    result = _invoke("add", blank_page, "--workspace", workspace, "--form", "county")
    assert result.exit_code == EXIT_USAGE
    assert "'county'" in result.output and "city" in result.output
    store = Workspace.open(workspace, create=False)
    try:
        assert store.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    finally:
        store.close()


@pytest.mark.parametrize("name", ["bad name", "../city", "city.toml", "", "x" * 61])
def test_a_form_name_that_is_not_letters_digits_dash_underscore_is_refused(name, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(b"never read: the name is refused first")
    result = _invoke("form", "add", name, blank, "--workspace", tmp_path / "ws")
    assert result.exit_code == EXIT_USAGE
    assert "is not allowed" in result.output
    assert not any((tmp_path / "ws" / "forms").glob("*.toml"))
    with pytest.raises(FormNameError):
        check_name(name)


def test_names_up_to_60_letters_digits_dashes_underscores_are_allowed():
    assert check_name("City_2026-v" + "x" * 49) == "City_2026-v" + "x" * 49


def test_form_save_stores_an_edited_copy_with_its_blank_sheet(workspace, tmp_path):
    edited = tmp_path / "edit" / "mine.toml"
    edited.parent.mkdir()
    shutil.copy(workspace / "forms" / "city.png", edited.with_name("city.png"))
    text = (workspace / "forms" / "city.toml").read_text(encoding="utf-8")
    edited.write_text(text.replace('role = "ward"', 'role = "other"'), encoding="utf-8")
    assert _invoke("form", "save", "city-edited", edited, "--workspace", workspace).exit_code == EXIT_OK
    stored = (workspace / "forms" / "city-edited.toml").read_text(encoding="utf-8")
    assert 'template = "city-edited.png"' in stored and 'role = "other"' in stored and 'role = "ward"' not in stored
    assert (workspace / "forms" / "city-edited.png").read_bytes() == (workspace / "forms" / "city.png").read_bytes()
    listed = _invoke("form", "list", "--workspace", workspace).output
    assert [line.split("\t")[0] for line in listed.splitlines()] == ["city", "city-edited"]


def test_the_form_commands_have_help():
    for command, options in ((["form", "add"], ["--workspace", "--page"]), (["form", "save"], ["--workspace"]),
                             (["form", "list"], ["--workspace"]), (["form", "delete"], ["--workspace"]),
                             (["form", "rename"], ["--workspace"]), (["add"], ["--form"])):
        result = _invoke(*command, "--help")
        assert result.exit_code == 0 and all(option in result.output for option in options)


def test_a_stored_form_whose_files_are_gone_is_listed_as_unusable_and_the_others_still_work(tmp_path):
    from pipeline.forms import describe, named_forms

    root = tmp_path / "ws"
    blank = tmp_path / "blank.png"
    blank_form(200).save(blank)
    for name in ("city", "other"):
        assert _invoke("form", "add", name, str(blank), "--workspace", str(root)).exit_code == 0
    (root / "forms" / "other.png").unlink()
    store = Workspace.open(root)
    try:
        listed = {form.name: form for form in named_forms(store)}
    finally:
        store.close()
    assert listed["city"].lines == 5 and not listed["city"].problem
    assert "other.png is missing" in listed["other"].problem
    assert "cannot be used" in describe(listed["other"])


@pytest.mark.parametrize(("text", "says"), [
    ("[form\nname = ", "is not valid TOML"),
    ('[form]\nname = "x"\n', "has no 'line_bounds'"),
    ('[form]\ntable = [0, 0, 1, 1]\nline_bounds = [0.2, 0.4]\n[[fields]]\nrole = "name"\nx = [0.1, 0.5]\n',
     "needs a 'name' and a 'signature' field"),
])
def test_form_save_with_a_broken_form_file_is_a_usage_error_with_its_message(workspace, tmp_path, text, says):
    broken = tmp_path / "broken.toml"
    broken.write_text(text, encoding="utf-8")
    before = (workspace / "forms" / "city.toml").read_text(encoding="utf-8")
    result = _invoke("form", "save", "city", broken, "--workspace", workspace)
    assert result.exit_code == EXIT_USAGE, result.output
    assert says in result.output and "Traceback" not in result.output
    assert (workspace / "forms" / "city.toml").read_text(encoding="utf-8") == before
    assert not (workspace / "forms" / "city@1.toml").exists()


def _batch(workspace: Path, form: str, state: str) -> int:
    from pipeline.store import batches
    from pipeline.store.batches import UploadedFile

    store = Workspace.open(workspace, create=False)
    try:
        with store.transaction():
            batch_id = batches.insert_batch(store, "ada", [UploadedFile("a.png", 1, "0" * 64)], form=form)
            batches.set_state(store, batch_id, state, "")
        return batch_id
    finally:
        store.close()


def _batch_forms(workspace: Path) -> dict[int, str | None]:
    from pipeline.store import batches

    store = Workspace.open(workspace, create=False)
    try:
        return {b.id: b.form for b in batches.all_batches(store)}
    finally:
        store.close()


def test_form_save_over_a_form_batches_were_read_with_keeps_it_for_them(workspace, tmp_path):
    read, queued = _batch(workspace, "city", "done"), _batch(workspace, "city", "queued")
    edited = tmp_path / "edited.toml"
    shutil.copy(workspace / "forms" / "city.png", tmp_path / "city.png")
    before = (workspace / "forms" / "city.toml").read_text(encoding="utf-8")
    edited.write_text(before.replace('role = "ward"', 'role = "other"'), encoding="utf-8")
    result = _invoke("form", "save", "city", edited, "--workspace", workspace)
    assert result.exit_code == EXIT_OK and f"kept as city@1; batches {read} name it" in result.output
    assert _batch_forms(workspace) == {read: "city@1", queued: "city"}  # the queued batch is read with the new one
    assert 'role = "ward"' in (workspace / "forms" / "city@1.toml").read_text(encoding="utf-8")
    listed = _invoke("form", "list", "--workspace", workspace).output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["city", "city@1"]
    assert listed[1].endswith(f"earlier version of city, read batches {read}")
    # A batch reading with the earlier version gets exactly what it was read with before.
    store = Workspace.open(workspace, create=False)
    try:
        assert load_named_form(store, "city@1").fields == load_form_text(before, workspace).fields
    finally:
        store.close()


def load_form_text(text: str, workspace: Path):
    from scanner.form import load_form

    path = workspace / "forms" / "before.toml"
    path.write_text(text, encoding="utf-8")
    try:
        return load_form(path)
    finally:
        path.unlink()


def test_form_delete_removes_an_unused_form_and_keeps_a_used_one_for_its_batches(workspace):
    result = _invoke("form", "delete", "city", "--workspace", workspace)
    assert result.exit_code == EXIT_OK and "deleted form city" in result.output
    assert list((workspace / "forms").glob("*.toml")) == []
    assert _invoke("form", "delete", "city", "--workspace", workspace).exit_code == EXIT_USAGE


def test_form_delete_of_a_form_batches_name_keeps_it_and_its_kept_version_cannot_be_deleted(workspace):
    batch = _batch(workspace, "city", "done")
    result = _invoke("form", "delete", "city", "--workspace", workspace)
    assert result.exit_code == EXIT_OK and f"batches {batch} name it, so it is kept for them as city@1" in result.output
    assert _batch_forms(workspace) == {batch: "city@1"}
    refused = _invoke("form", "delete", "city@1", "--workspace", workspace)
    assert refused.exit_code == EXIT_USAGE and "cannot be deleted" in refused.output
    assert (workspace / "forms" / "city@1.toml").is_file() and (workspace / "forms" / "city@1.png").is_file()


def test_form_rename_moves_the_form_and_its_batches_follow(workspace, blank_page):
    batch = _batch(workspace, "city", "done")
    result = _invoke("form", "rename", "city", "north-harbor", "--workspace", workspace)
    assert result.exit_code == EXIT_OK, result.output
    assert _batch_forms(workspace) == {batch: "north-harbor"}
    assert sorted(p.name for p in (workspace / "forms").iterdir()) == ["north-harbor.png", "north-harbor.toml"]
    assert _invoke("form", "rename", "north-harbor", "bad name", "--workspace", workspace).exit_code == EXIT_USAGE
    assert _invoke("form", "rename", "city", "x", "--workspace", workspace).exit_code == EXIT_USAGE
    store = Workspace.open(workspace, create=False)
    try:
        (row,) = all_forms(store)
        assert row.sha256 == hashlib.sha256((workspace / "forms" / "north-harbor.toml").read_bytes()).hexdigest()
    finally:
        store.close()
    added = _invoke("add", blank_page, "--workspace", workspace, "--form", "north-harbor")
    assert added.exit_code == EXIT_OK, added.output


def test_a_rename_to_a_taken_name_is_refused(workspace):
    shutil.copy(workspace / "forms" / "city.png", workspace / "copy.png")
    text = (workspace / "forms" / "city.toml").read_text(encoding="utf-8").replace('"city.png"', '"copy.png"')
    (workspace / "copy.toml").write_text(text, encoding="utf-8")
    assert _invoke("form", "save", "town", workspace / "copy.toml", "--workspace", workspace).exit_code == EXIT_OK
    result = _invoke("form", "rename", "city", "town", "--workspace", workspace)
    assert result.exit_code == EXIT_USAGE and "already" in result.output
