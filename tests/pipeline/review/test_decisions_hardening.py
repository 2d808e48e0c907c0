"""A verdict is stored whole or not at all; names typed by reviewers; the duplicates page's cache; the queue
under load (progress kept up to date, a line claimed without holding the write lock while searching).

The crash tests run the real decision code in a child process that dies (os._exit, no cleanup) just before
its k-th write reaches SQLite, then look at what the workspace kept: a real crash, not a mocked one.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline import dedupe, export
from pipeline.review import queue
from pipeline.review.pairs import PairCache, decide_pair, next_pair
from pipeline.store import LineId, Workspace
from pipeline.store import review as store_review
from tests.pipeline.review import test_browser
from tests.pipeline.review.conftest import SEED_SHA, decisions, make_possible_duplicate
from tests.pipeline.review.test_browser import CHROMIUM, _current, _log_in, _wait_for_change

CRASHED = 77  # the child's exit code when it died at the chosen point
browser, live_url = test_browser.browser, test_browser.live_url  # Chromium and a live server, as there

# The child: open the workspace, install a hook that kills the process just before the k-th data change
# (INSERT/UPDATE/DELETE; crash_at "k") or just before the first COMMIT after more than n changes ("commit>n"),
# then run one queue operation.
_CHILD = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from pipeline.review import pairs, queue
    from pipeline.store import Workspace

    root, operation, crash_at, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    store = Workspace.open(Path(root), create=False)
    writes = 0

    def hook(sql: str) -> None:
        global writes
        verb = sql.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            writes += 1
            if crash_at.isdigit() and writes == int(crash_at):
                os._exit(77)
        elif verb in ("COMMIT", "END") and crash_at.startswith("commit>") and writes > int(crash_at[7:]):
            os._exit(77)

    store.db.set_trace_callback(hook)
    if operation == "decide":
        queue.decide_line(store, args["item"], args["user"], status=args["status"], name=args["name"], now=args["now"])
    elif operation == "skip":
        queue.skip(store, args["item"], args["user"], reason=args["reason"], now=args["now"])
    elif operation == "undo":
        queue.undo_last(store, args["user"], now=args["now"])
    elif operation == "pair":
        pairs.decide_pair(store, args["item"], args["user"], same=args["same"], now=args["now"])
    sys.exit(0)
""")


def _crash(workspace_dir: Path, operation: str, crash_at: str, **args) -> None:
    """Run one operation in a child that dies at `crash_at`; it must really die there (else the test is void)."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(workspace_dir), operation, crash_at, json.dumps(args)],
                          cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == CRASHED, f"the child did not crash at {crash_at}: {done.returncode} {done.stderr}"


def _open(workspace_dir: Path) -> Workspace:
    store = Workspace.open(workspace_dir, create=False)
    queue.ensure_review_schema(store)
    return store


def _actions(store: Workspace) -> list[tuple]:
    return [tuple(r) for r in store.db.execute("SELECT item, user_name, kind, detail FROM review_actions ORDER BY id")]


def _exported(store: Workspace, item: str) -> dict:
    key = LineId.parse(item)
    lines = export.effective_lines(store)
    row = lines[(lines.file_sha256 == key.file_sha256) & (lines.page == key.page_no) & (lines.line == key.line_no)]
    assert len(row) == 1
    return row.iloc[0].to_dict()


# 1. A verdict is one transaction ------------------------------------------------------------------------

# decide_line with a changed name makes six data changes: the lease check (UPDATE), status, name and "reviewed"
# decisions, the action log, the lease release. Die before the 3rd, 5th or 6th, or at the commit after them.
@pytest.mark.parametrize("crash_at", ["3", "5", "6", "commit>5"])
def test_a_verdict_killed_half_way_leaves_nothing_and_the_line_stays_open(workspace_dir, crash_at):
    store = _open(workspace_dir)
    try:
        now = time.time()
        line = queue.next_line(store, "rita", now=now)
        assert line is not None
        machine = _exported(store, line.key.item)
        _crash(workspace_dir, "decide", crash_at, item=line.key.item, user="rita", status="signed",
               name="Grace Hopper", now=now + 1)
        assert decisions(workspace_dir) == []
        assert _actions(store) == []
        after = _exported(store, line.key.item)
        assert not after["human_confirmed"] and after["needs_review"]
        assert (after["status"], after["name"]) == (machine["status"], machine["name"])
        # Still open and still hers (her lease was never released): she gets it again, and her verdict then
        # stores everything, her name on every decision.
        again = queue.next_line(store, "rita", now=now + 2)
        assert again is not None and again.key == line.key
        queue.decide_line(store, line.key.item, "rita", status="signed", name="Grace Hopper", now=now + 3)
        stored = decisions(workspace_dir)
        assert [(d["field"], d["value"], d["decided_by"]) for d in stored] == [
            ("status", "signed", "rita"), ("name", "Grace Hopper", "rita"), ("reviewed", "yes", "rita")]
        confirmed = _exported(store, line.key.item)
        assert confirmed["human_confirmed"] and confirmed["name"] == "Grace Hopper"
        assert [a[2] for a in _actions(store)] == ["decide"]
        assert queue.undo_last(store, "rita", now=now + 4).key == line.key
        undone = _exported(store, line.key.item)
        assert not undone["human_confirmed"] and (undone["status"], undone["name"]) == (machine["status"], machine["name"])
    finally:
        store.close()


# undo_last makes five: three restoring decisions, the lease, the action log.
@pytest.mark.parametrize("crash_at", ["2", "5", "commit>4"])
def test_an_undo_killed_half_way_leaves_the_verdict_whole_and_can_be_done_again(workspace_dir, crash_at):
    store = _open(workspace_dir)
    try:
        now = time.time()
        line = queue.next_line(store, "rita", now=now)
        queue.decide_line(store, line.key.item, "rita", status="signed", name="Grace Hopper", now=now + 1)
        before = decisions(workspace_dir)
        _crash(workspace_dir, "undo", crash_at, user="rita", now=now + 2)
        assert decisions(workspace_dir) == before
        assert [a[2] for a in _actions(store)] == ["decide"]
        kept = _exported(store, line.key.item)
        assert kept["human_confirmed"] and (kept["status"], kept["name"]) == ("signed", "Grace Hopper")
        assert queue.undo_last(store, "rita", now=now + 3).key == line.key
        assert [a[2] for a in _actions(store)] == ["decide", "undo"]
        assert not _exported(store, line.key.item)["human_confirmed"]
    finally:
        store.close()


def test_a_skip_killed_before_the_release_is_not_half_logged(workspace_dir):
    store = _open(workspace_dir)
    try:
        now = time.time()
        line = queue.next_line(store, "rita", now=now)
        _crash(workspace_dir, "skip", "3", item=line.key.item, user="rita", reason="crop unreadable", now=now + 1)
        assert _actions(store) == []
        queue.skip(store, line.key.item, "rita", reason="crop unreadable", now=now + 2)
        assert _actions(store) == [(line.key.item, "rita", "skip", "crop unreadable")]
    finally:
        store.close()


def test_a_pair_verdict_killed_before_its_log_is_not_stored(workspace_dir):
    store = _open(workspace_dir)
    try:
        store.record_decision(file_sha256=SEED_SHA, page_no=1, line_no=10, field="name", value="Pavel Haris",
                              decided_by="setup")
        now = time.time()
        pair = next_pair(store, PairCache(), "rita", now=now)
        assert pair is not None
        _crash(workspace_dir, "pair", "3", item=pair.item, user="rita", same=False, now=now + 1)
        assert store.duplicate_decisions() == {}
        assert _actions(store) == []
        decide_pair(store, pair.item, "rita", same=False, now=now + 2)
        assert list(store.duplicate_decisions().values()) == [False]
        assert [a[2] for a in _actions(store)] == ["duplicate"]
    finally:
        store.close()


def test_a_failing_step_rolls_the_whole_verdict_back(workspace_dir, monkeypatch):
    """The same promise in-process: an error in the last step (the release) undoes the decisions and the log."""
    store = _open(workspace_dir)
    try:
        now = time.time()
        line = queue.next_line(store, "rita", now=now)
        real = store.db

        class Failing:
            def __getattr__(self, name):
                return getattr(real, name)

            def execute(self, sql, *args):
                if sql.startswith("DELETE FROM review_leases"):
                    raise RuntimeError("disk gone")
                return real.execute(sql, *args)

        monkeypatch.setattr(store, "db", Failing())
        with pytest.raises(RuntimeError):
            queue.decide_line(store, line.key.item, "rita", status="blank", name="", now=now + 1)
        monkeypatch.undo()
        assert decisions(workspace_dir) == [] and _actions(store) == []
        assert not store.db.in_transaction
    finally:
        store.close()


# 2. Names typed by reviewers -------------------------------------------------------------------------


@pytest.mark.parametrize("typed, stored", [
    ("Mary\nJane Smith", "Mary Jane Smith"),
    ("Mary\r\n\tJane\u00a0Smith", "Mary Jane Smith"),
    ("Mary\u0007Jane \u2028 Smith ", "Mary Jane Smith"),
    ("  Mary Jane\x00Smith\x7f", "Mary Jane Smith"),
])
def test_pasted_line_breaks_tabs_and_control_characters_separate_words(open_reviewer, workspace_dir, typed, stored):
    rita = open_reviewer("rita")
    assert rita.decide(rita.item["item"], "signed", typed).status_code == 200
    names = [d["value"] for d in decisions(workspace_dir) if d["field"] == "name"]
    assert names == [stored]


def test_a_name_over_the_limit_is_refused_with_a_message_and_nothing_is_cut(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    long_name = "Maria " + "x" * 250
    refused = rita.decide(rita.item["item"], "signed", long_name)
    assert refused.status_code == 422
    message = refused.json()["error"]
    assert "too long" in message and "200" in message and str(len(long_name)) in message
    assert decisions(workspace_dir) == []
    # The line is still hers: shortened, the same verdict goes through.
    assert rita.decide(rita.item["item"], "signed", "Maria " + "x" * 190).status_code == 200
    assert [d["value"] for d in decisions(workspace_dir) if d["field"] == "name"] == ["Maria " + "x" * 190]


def test_the_limit_counts_the_name_as_stored_not_as_pasted(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    padded = "Maria" + " \n\t " * 100 + "Lopez"  # 405 characters pasted, 11 stored
    assert rita.decide(rita.item["item"], "signed", padded).status_code == 200
    assert [d["value"] for d in decisions(workspace_dir) if d["field"] == "name"] == ["Maria Lopez"]


def test_the_no_javascript_form_shows_the_too_long_message(open_reviewer, workspace_dir):
    rita = open_reviewer("rita")
    response = rita.client.post("/review/decide", data={"item": rita.item["item"], "status": "signed",
                                                        "name": "y" * 201, "csrf": rita.csrf})
    assert response.status_code == 422
    assert "too long" in response.text and "200" in response.text
    assert decisions(workspace_dir) == []


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_review_page_shows_why_a_pasted_name_was_refused_and_keeps_the_line(browser, live_url, workspace_dir):
    page = browser.new_page()
    _log_in(page, live_url, "rita")
    before = _current(page)
    page.keyboard.insert_text("Maria " + "x" * 250)  # pasted over the selected machine name
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('too long')", timeout=10_000)
    assert "at most 200" in page.locator("#notice").inner_text()
    assert _current(page) == before and page.evaluate("document.activeElement.id") == "name"
    assert decisions(workspace_dir) == []
    page.keyboard.press("Control+KeyA")  # shortened, the same line goes through
    page.keyboard.type("Maria Lopez")
    page.keyboard.press("Enter")
    _wait_for_change(page, before)
    assert [d["value"] for d in decisions(workspace_dir) if d["field"] == "name"] == ["Maria Lopez"]


# 3. The duplicates page does not rebuild the roster after every decision ------------------------------


@pytest.fixture
def builds(monkeypatch) -> dict[str, int]:
    """Calls of the whole-workspace steps: reading every line (export.effective_lines) and pairing (dedupe)."""
    counts = {"effective_lines": 0, "candidate_pairs": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(export, "effective_lines")
    counting(dedupe, "candidate_pairs")
    return counts


def test_status_and_pair_decisions_do_not_rebuild_the_possible_pairs(open_reviewer, workspace_dir, builds):
    make_possible_duplicate(workspace_dir)
    rita = open_reviewer("rita")
    page = rita.client.get("/duplicates").text
    assert "Pavel Haris" in page and "PAVEL HARRIS" in page
    assert builds["candidate_pairs"] == 1
    builds.update(effective_lines=0, candidate_pairs=0)
    # A status-only verdict that changes nobody's place in the roster (the worst line is not a signed one).
    line = rita.item
    assert line["status"] != "signed"
    other = "uncertain" if line["status"] != "uncertain" else "blank"
    assert rita.decide(line["item"], other, line["name"]).status_code == 200
    assert "Pavel Haris" in rita.client.get("/duplicates").text
    item = rita.client.get("/duplicates").text.split('name="item" value="')[1].split('"')[0]
    done = rita.client.post("/duplicates/decide", data={"item": item, "same": "no", "csrf": rita.csrf},
                            follow_redirects=False)
    assert done.status_code == 303
    assert "No possible duplicates" in rita.client.get("/duplicates").text
    assert builds == {"effective_lines": 0, "candidate_pairs": 0}


def test_a_name_change_updates_the_pairs_and_its_undo_takes_them_back(open_reviewer, builds):
    rita = open_reviewer("rita")
    assert "No possible duplicates" in rita.client.get("/duplicates").text
    assert rita.decide(rita.item["item"], "signed", "Pavel Haris").status_code == 200
    page = rita.client.get("/duplicates").text
    assert "Pavel Haris" in page and "PAVEL HARRIS" in page
    assert rita.post("/api/undo").status_code == 200
    assert "No possible duplicates" in rita.client.get("/duplicates").text
    # The first visit built the stored roster (one pairing of every signer, read by the store, not through
    # export.effective_lines); the changes after it were folded into it (pipeline/roster.py).
    assert builds == {"effective_lines": 0, "candidate_pairs": 1}


def test_the_pairs_follow_a_re_read_page(workspace_dir):
    """A page read again replaces its lines (the last page's rows may even get the same ids back)."""
    store = _open(workspace_dir)
    try:
        cache = PairCache()
        assert cache.pairs(store) == ()
        with store.transaction() as db:
            line = db.execute("SELECT l.id, l.page_id, l.line_no FROM lines l JOIN pages p ON p.id = l.page_id"
                              " WHERE p.file_sha256 = ? AND l.line_no = 10", (SEED_SHA,)).fetchone()
            row = dict(db.execute("SELECT * FROM lines WHERE id = ?", (line["id"],)).fetchone())
            db.execute("DELETE FROM lines WHERE id = ?", (line["id"],))
            db.execute(f"INSERT INTO lines ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       [*({**row, "name": "Pavel Haris"}.values())])
            db.execute("UPDATE pages SET read_at = '2999-01-01T00:00:00+00:00' WHERE id = ?", (line["page_id"],))
        assert len(cache.pairs(store)) == 1
    finally:
        store.close()


def test_the_updated_pairs_always_equal_a_rebuild(workspace_dir):
    """Whatever mix of decisions comes in, the incrementally kept pairs are those of a build from scratch."""
    store = _open(workspace_dir)
    try:
        cache = PairCache()
        cache.pairs(store)
        keys = [tuple(r) for r in store.db.execute(
            "SELECT p.file_sha256, p.page_no, l.line_no FROM lines l JOIN pages p ON p.id = l.page_id ORDER BY l.id")]
        # Names near PAVEL HARRIS (line 2 of the seed sheet; "Harris" is common, so one slip is only "possible").
        choices = {"name": ["Pavel Haris", "Pavel Harriss", "Pavel Harris", "Pavel Haris", "Imani Varga", ""],
                   "status": ["signed", "signed", "signed", "blank"], "zip": ["02139", "02140", ""],
                   "reviewed": ["yes", ""]}
        rng = random.Random(5)
        changed = 0
        for step in range(40):
            sha, page, line = rng.choice(keys)
            field = rng.choice(["name", "name", "status", "zip", "reviewed"])
            store.record_decision(file_sha256=sha, page_no=page, line_no=line, field=field,
                                  value=rng.choice(choices[field]), decided_by="test")
            pairs = cache.pairs(store)
            if pairs and step % 3 == 0:
                store.record_duplicate_decision(pairs[0][0], pairs[0][1], same=rng.random() < 0.5, decided_by="test")
            fresh = PairCache().pairs(store)
            assert cache.pairs(store) == fresh, f"step {step}: {field} of line {line}"
            changed += bool(fresh)
        assert changed >= 5  # the decisions did make pairs to compare, not only empty lists
    finally:
        store.close()


# 4. Progress is counted once per connection, then kept up to date -------------------------------------


def _counted_from_scratch(store: Workspace) -> tuple[int, int]:
    """(done, left) by the queue's own definition of an open line, every line checked."""
    total = store.db.execute("SELECT count(*) FROM lines WHERE needs_review = 1").fetchone()[0]
    left = len(store_review.open_lines(store))
    return total - left, left


def test_progress_stays_exact_through_verdicts_undos_skips_and_outside_decisions(workspace_dir):
    store = _open(workspace_dir)
    try:
        now = time.time()
        first = queue.progress(store, "rita", now=now)
        assert first.done == 0 and first.left > 3
        steps = []
        line = queue.next_line(store, "rita", now=now)
        queue.decide_line(store, line.key.item, "rita", status="blank", name="", now=now)
        steps.append(queue.progress(store, "rita", now=now))
        queue.undo_last(store, "rita", now=now)  # reopened
        steps.append(queue.progress(store, "rita", now=now))
        queue.decide_line(store, line.key.item, "rita", status="struck", name="", now=now)
        second = queue.next_line(store, "rita", now=now)
        queue.skip(store, second.key.item, "rita", reason="other", now=now)  # a skip leaves it open
        steps.append(queue.progress(store, "rita", now=now))
        other = queue.next_line(store, "sam", now=now)  # decided outside the queue (admin, CLI): closed too
        store.record_decision(file_sha256=other.key.file_sha256, page_no=other.key.page_no, line_no=other.key.line_no,
                              field="status", value="signed", decided_by="ada")
        steps.append(queue.progress(store, "rita", now=now))
        assert [(s.done, s.left, s.mine_today) for s in steps] == [
            (1, first.left - 1, 1), (0, first.left, 0), (1, first.left - 1, 1), (2, first.left - 2, 1)]
        assert (steps[-1].done, steps[-1].left) == _counted_from_scratch(store)
    finally:
        store.close()


def test_a_line_claimed_by_someone_else_between_search_and_lease_is_not_handed_out_twice(workspace_dir, monkeypatch):
    """next_line searches before taking the write lock: a line taken in between must be re-found, not shared."""
    rita_store, sam_store = _open(workspace_dir), _open(workspace_dir)
    try:
        now = time.time()
        real = rita_store.transaction
        taken: list[queue.LineItem] = []

        @contextlib.contextmanager
        def sam_first(**kwargs):
            if not taken:  # rita has searched; sam claims the same worst line before her lock
                taken.append(queue.next_line(sam_store, "sam", now=now))
            with real(**kwargs) as db:
                yield db

        monkeypatch.setattr(rita_store, "transaction", sam_first)
        rita_line = queue.next_line(rita_store, "rita", now=now)
        assert taken[0] is not None and rita_line is not None and rita_line.key != taken[0].key
        leases = dict(rita_store.db.execute("SELECT item, holder FROM review_leases").fetchall())
        assert leases == {taken[0].key.item: "sam", rita_line.key.item: "rita"}
    finally:
        rita_store.close()
        sam_store.close()
