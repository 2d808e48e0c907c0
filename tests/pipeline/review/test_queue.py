"""The line queue over HTTP: worst first, leases between volunteers, decisions with before/after, skip, undo."""

from __future__ import annotations

import pytest

from pipeline.export import effective_lines
from pipeline.store import LineId, Workspace
from tests.pipeline.review.conftest import SEED_SHA, decisions


def _queue_order(workspace_dir) -> list[str]:
    store = Workspace.open(workspace_dir, create=False)
    try:
        rows = store.db.execute(
            "SELECT p.file_sha256, p.page_no, l.line_no, l.name_confidence, l.review_reasons FROM lines l"
            " JOIN pages p ON p.id = l.page_id WHERE l.needs_review = 1").fetchall()
    finally:
        store.close()
    ranked = sorted(rows, key=lambda r: (r[3], -len([x for x in r[4].split(";") if x]), r[0], r[1], r[2]))
    return [LineId(r[0], r[1], r[2]).item for r in ranked]


def test_the_queue_shows_the_worst_line_first_with_crops_and_the_machine_guess(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    assert rita.item["item"] == _queue_order(workspace_dir)[0]
    page = rita.client.get("/review").text  # reloading shows the same line: it is still hers
    assert rita.item["item"] in page
    for part in ("line", "name", "signature"):
        assert rita.item["crops"][part].startswith("/crop/")
        assert rita.item["crops"][part] in page
    assert f'value="{rita.item["status"]}" checked' in page
    assert "<kbd>Enter</kbd>" in page and "<kbd>K</kbd>" in page and "<kbd>U</kbd>" in page


def test_the_next_line_is_prefetched_and_leased_too(open_reviewer):
    rita = open_reviewer("rita")
    upcoming = rita.client.get("/api/next", params={"after": rita.item["item"]}).json()["item"]
    assert upcoming["item"] != rita.item["item"]
    again = rita.client.get("/api/next", params={"after": rita.item["item"]}).json()["item"]
    assert again["item"] == upcoming["item"]  # held, not a third lease
    sam = open_reviewer("sam")
    assert sam.item["item"] not in (rita.item["item"], upcoming["item"])


def test_a_decision_is_stored_with_who_before_and_after_and_wins_on_export(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    item = rita.item
    response = rita.decide(item["item"], "signed", "Grace  Hopper\u0007")
    assert response.status_code == 200
    assert response.json()["progress"]["mine_today"] == 1
    stored = [d for d in decisions(workspace_dir) if d["decided_by"] == "rita"]
    by_field = {d["field"]: d for d in stored}
    assert by_field["status"]["previous"] == item["status"] and by_field["status"]["value"] == "signed"
    assert by_field["name"]["previous"] == item["name"] and by_field["name"]["value"] == "Grace Hopper"
    store = Workspace.open(workspace_dir, create=False)
    try:
        key = LineId.parse(item["item"])
        lines = effective_lines(store)
    finally:
        store.close()
    row = lines[(lines.file_sha256 == key.file_sha256) & (lines.page == key.page_no) & (lines.line == key.line_no)].iloc[0]
    assert (row["status"], row["name"], bool(row["human_confirmed"])) == ("signed", "Grace Hopper", True)
    assert rita.client.get("/review").text.count(item["item"]) == 0  # decided: out of the queue


def test_accepting_unchanged_records_a_confirmation_of_the_status_only(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    assert rita.decide(rita.item["item"], rita.item["status"], rita.item["name"]).status_code == 200
    stored = decisions(workspace_dir)
    assert [(d["field"], d["value"], d["previous"]) for d in stored] == [
        ("status", rita.item["status"], rita.item["status"]), ("reviewed", "yes", "")]


def test_the_no_javascript_form_posts_the_same_decision(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    response = rita.client.post("/review/decide", data={"item": rita.item["item"], "status": "blank", "name": "",
                                                        "csrf": rita.csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/review"
    assert decisions(workspace_dir)[0]["value"] == "blank"


def test_two_reviewers_never_get_the_same_line_and_only_the_holder_may_submit(open_reviewer, workspace_dir):
    rita, sam = open_reviewer("rita"), open_reviewer("sam")
    assert rita.item["item"] != sam.item["item"]
    refused = sam.decide(rita.item["item"], "blank")
    assert refused.status_code == 409 and "not saved" in refused.json()["error"]
    assert decisions(workspace_dir) == []
    assert rita.decide(rita.item["item"], "blank").status_code == 200


def test_an_abandoned_line_returns_after_the_lease_expires_and_the_late_submit_is_refused(open_reviewer, clock, settings):
    rita, sam = open_reviewer("rita"), open_reviewer("sam")
    clock.now += settings.lease_seconds + 1
    sam_next = sam.client.get("/api/next", params={"after": sam.item["item"]}).json()["item"]
    assert sam_next["item"] == rita.item["item"]  # worst first, free again
    assert rita.decide(rita.item["item"], "blank").status_code == 409
    assert sam.decide(rita.item["item"], "blank").status_code == 200


def test_the_heartbeat_keeps_a_lease_alive(open_reviewer, clock, settings):
    rita, sam = open_reviewer("rita"), open_reviewer("sam")
    for _ in range(3):
        clock.now += settings.lease_seconds / 2
        assert rita.post("/api/heartbeat").json()["renewed"] >= 1
    sam_next = sam.client.get("/api/next", params={"after": sam.item["item"]}).json()["item"]
    assert sam_next["item"] != rita.item["item"]
    assert rita.decide(rita.item["item"], "signed").status_code == 200


def test_skip_is_recorded_with_a_reason_and_the_line_stays_in_the_queue_for_others(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    skipped = rita.item["item"]
    assert rita.post("/api/skip", {"item": skipped, "reason": "no reason at all"}).status_code == 422
    assert rita.post("/api/skip", {"item": skipped, "reason": "crop unreadable"}).status_code == 200
    store = Workspace.open(workspace_dir, create=False)
    try:
        logged = [tuple(r) for r in store.db.execute("SELECT item, user_name, kind, detail FROM review_actions")]
    finally:
        store.close()
    assert logged == [(skipped, "rita", "skip", "crop unreadable")]
    assert decisions(workspace_dir) == []
    assert skipped not in rita.client.get("/review").text
    sam = open_reviewer("sam")
    assert sam.item["item"] == skipped


def test_undo_appends_a_decision_restoring_the_previous_value_and_reopens_the_line(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    item = rita.item
    rita.decide(item["item"], "blank", "Wrong Name")
    undone = rita.post("/api/undo")
    assert undone.status_code == 200 and undone.json()["item"]["item"] == item["item"]
    assert undone.json()["item"]["status"] == item["status"] and undone.json()["item"]["name"] == item["name"]
    stored = decisions(workspace_dir)
    assert [(d["field"], d["value"]) for d in stored] == [
        ("status", "blank"), ("name", "Wrong Name"), ("reviewed", "yes"),
        ("status", item["status"]), ("name", item["name"]), ("reviewed", "")]
    assert rita.post("/api/undo").status_code == 409  # nothing more of hers to undo
    assert rita.decide(item["item"], "signed").status_code == 200  # reopened and leased to her again
    assert len(decisions(workspace_dir)) == 8


def test_undo_does_not_overwrite_someone_elses_later_decision(open_reviewer, clock, settings):
    rita = open_reviewer("rita")
    item = rita.item["item"]
    rita.decide(item, "blank")
    rita.post("/api/undo")
    clock.now += settings.lease_seconds + 1
    sam = open_reviewer("sam")
    assert sam.item["item"] == item
    sam.decide(item, "struck")
    assert rita.post("/api/undo").status_code == 409


def test_bad_items_and_statuses_are_422(open_reviewer):
    rita = open_reviewer("rita")
    assert rita.decide(rita.item["item"], "maybe").status_code == 422
    assert rita.decide("line:../../etc:1:1", "blank").status_code == 422


def test_an_empty_queue_says_so(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    while rita.item:
        assert rita.decide(rita.item["item"], rita.item["status"], rita.item["name"]).status_code == 200
        rita.item = rita.client.get("/api/next").json()["item"]
    page = rita.client.get("/review")
    assert "Nothing left to review" in page.text
    progress = rita.post("/api/heartbeat")
    assert progress.status_code == 200


@pytest.mark.parametrize("crop_id", ["..%2F..%2Fworkspace.sqlite", "../workspace.sqlite", "..%2F", "%2E%2E", "abc",
                                     "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdef",
                                     "%2Fetc%2Fpasswd", "0123456789abcdef0123456789abcde.jpg"])
def test_crops_are_served_by_opaque_id_only(open_reviewer, crop_id):
    rita = open_reviewer("rita")
    assert rita.client.get(f"/crop/{crop_id}").status_code == 404


def test_a_real_crop_is_a_cacheable_private_jpeg(open_reviewer):
    rita = open_reviewer("rita")
    response = rita.client.get(rita.item["crops"]["name"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff" and "private" in response.headers["cache-control"]


def test_decisions_survive_a_re_read_of_the_page(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    seed_items = []
    item = rita.item
    while item and not seed_items:
        if LineId.parse(item["item"]).file_sha256 == SEED_SHA:
            seed_items.append(item)
        rita.decide(item["item"], "struck")
        item = rita.client.get("/api/next").json()["item"]
    store = Workspace.open(workspace_dir, create=False)
    try:
        store.db.execute("UPDATE pages SET pipeline_version = 'old' WHERE file_sha256 = ?", (SEED_SHA,))
        from dataclasses import replace

        from pipeline.add import add_paths
        from pipeline.batch import ReadJob
        from scanner.read import ReadSettings
        from tests.support import SCANS

        add_paths(store, [SCANS / "seed_clean.png"], job=ReadJob(settings=replace(ReadSettings(), keep_crops=True)))
        key = LineId.parse(seed_items[0]["item"])
        assert store.effective_value(key.file_sha256, key.page_no, key.line_no, "status") == "struck"
    finally:
        store.close()


def test_an_undone_line_exports_as_the_machine_read_it_and_still_needs_review(open_reviewer, workspace_dir):
    from pipeline.export import effective_lines
    from pipeline.store import Workspace

    rita = open_reviewer("rita")
    item = rita.item
    rita.decide(item["item"], "struck", "Somebody Else")
    rita.post("/api/undo")
    workspace = Workspace.open(workspace_dir, create=False)
    try:
        lines = effective_lines(workspace)
    finally:
        workspace.close()
    _, sha, page, number = item["item"].split(":")
    line = lines[(lines["file_sha256"] == sha) & (lines["page"] == int(page)) & (lines["line"] == int(number))]
    assert len(line) == 1
    assert line.iloc[0]["status"] == item["status"] and line.iloc[0]["name"] == item["name"]
    assert not bool(line.iloc[0]["human_confirmed"]) and bool(line.iloc[0]["needs_review"])
