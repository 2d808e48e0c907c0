"""The voter-match page: an unsure line with its crops and candidates; 1-3 pick, N not on the file; the verdict
is an append-only match decision that the exports then use, and only the lease holder may give it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from pipeline.export import effective_lines
from pipeline.match import match_workspace
from pipeline.store import Workspace
from pipeline.store import matches as stored_matches
from pipeline.voter_import import import_voter_file
from tests.pipeline.review.conftest import SEED_SHA, csrf_of, login

# Seed sheet lines 1 and 2 read KOA MENSAH and PAVEL HARRIS: two namesakes each, nothing to tell them apart.
VOTERS = """VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP
1,KOA,MENSAH,1 OAK ST,02134
2,KOA,MENSAH,9 ELM AVE,94110
3,PAVEL,HARRIS,5 PINE RD,60601
4,PAVEL,HARRIS,7 LAKE DR,30301
"""


def _load_voters(workspace_dir, tmp_path) -> None:
    path = tmp_path / "voters.csv"
    path.write_text(VOTERS, encoding="utf-8")
    store = Workspace.open(workspace_dir, create=False)
    import_voter_file(store, path)
    match_workspace(store, pixels=False)
    store.close()


def _form(html: str) -> tuple[str, list[str]]:
    item = re.search(r'name="item" value="([^"]+)"', html).group(1)
    return item, re.findall(r'name="voter" value="([^"]+)" data-key', html)


def test_a_volunteer_picks_the_voter_and_the_export_follows(app, workspace_dir, tmp_path):
    _load_voters(workspace_dir, tmp_path)
    with TestClient(app) as client:
        assert login(client, "rita").status_code == 303
        page = client.get("/voters")
        item, choices = _form(page.text)
        assert item == f"match:line:{SEED_SHA}:1:1" and choices[:2] == ["1", "2"] and choices[-1] == "none"
        assert "/crop/" in page.text and 'src="/static/voters.js"' in page.text
        decided = client.post("/voters/decide", data={"csrf": csrf_of(page.text), "item": item, "voter": "2"},
                              follow_redirects=False)
        assert decided.status_code == 303
        following = client.get("/voters")
        assert _form(following.text)[0] == f"match:line:{SEED_SHA}:1:2"  # the next unsure line
        refused = client.post("/voters/decide", data={"csrf": csrf_of(following.text),
                                                      "item": _form(following.text)[0], "voter": "1"})
        assert refused.status_code == 422  # voter 1 is not one of this line's candidates
    store = Workspace.open(workspace_dir, create=False)
    lines = effective_lines(store)
    first = lines[(lines["file_sha256"] == SEED_SHA) & (lines["line"] == 1)].iloc[0]
    assert (first["voter_id"], first["match_status"]) == ("2", "matched")
    assert list(stored_matches.latest_match_decisions(store).values()) == ["2"]
    store.close()


def test_another_volunteer_does_not_get_a_leased_line_nor_decide_it(app, workspace_dir, tmp_path):
    _load_voters(workspace_dir, tmp_path)
    with TestClient(app) as rita, TestClient(app) as sam:
        login(rita, "rita")
        login(sam, "sam")
        rita_item = _form(rita.get("/voters").text)[0]
        sam_page = sam.get("/voters")
        assert _form(sam_page.text)[0] != rita_item
        stolen = sam.post("/voters/decide", data={"csrf": csrf_of(sam_page.text), "item": rita_item, "voter": "none"})
        assert stolen.status_code == 409
