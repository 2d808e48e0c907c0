"""Matching typed-in lines to a voter file by their text: verdicts, idempotence, people's verdicts win."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.match import _split, match_workspace, written_suffix
from pipeline.match_pixels import written_forms
from pipeline.store import LineId, WorkspaceError
from pipeline.store import matches as stored_matches
from pipeline.store import voters as stored_voters
from pipeline.match_score import Candidate, MatchStatus, candidates_of, decide, line_name, weighted_distance
from pipeline.store.voters import Voter
from tests.pipeline.voters.support import FILE_SHA, make_workspace


@pytest.fixture
def workspace(tmp_path):
    store = make_workspace(tmp_path / "ws")
    yield store
    store.close()


def _by_line(store) -> dict[int, stored_matches.EffectiveMatch]:
    version = stored_voters.current_version(store).version
    return {line.line_no: m for line, m in stored_matches.effective_matches(store, version).items()}


def test_each_line_gets_the_verdict_its_evidence_supports(workspace):
    summary = match_workspace(workspace, pixels=False)
    found = _by_line(workspace)
    assert (found[1].status, found[1].voter_id) == ("matched", "100")
    assert (found[2].status, found[2].voter_id) == ("matched", "200")
    assert found[3].status == "ambiguous" and found[3].voter_id == ""
    assert found[4].status != "matched"
    assert found[5].status == "review"
    assert found[6].status == "not_found"
    assert (found[7].status, found[7].voter_id) == ("matched", "400")
    assert 8 not in found  # name only: not a signature to check
    assert summary.lines == 7 and summary.by_status["matched"] == 3


def test_matching_again_changes_nothing_and_a_corrected_name_is_matched_again(workspace):
    match_workspace(workspace, pixels=False)
    again = match_workspace(workspace, pixels=False)
    assert again.matched_now == 0
    workspace.record_decision(file_sha256=FILE_SHA, page_no=1, line_no=6, field="name", value="Ann Lee",
                              decided_by="vol")
    third = match_workspace(workspace, pixels=False)
    assert third.matched_now == 1
    assert _by_line(workspace)[6].status == "matched"


def test_a_persons_verdict_beats_the_machine(workspace):
    match_workspace(workspace, pixels=False)
    with workspace.transaction():
        stored_matches.append_match_decision(workspace, LineId(FILE_SHA, 1, 3), "201", decided_by="vol")
        stored_matches.append_match_decision(workspace, LineId(FILE_SHA, 1, 1), "", decided_by="vol")
    match_workspace(workspace, pixels=False)  # the machine's run does not undo them
    found = _by_line(workspace)
    assert (found[3].status, found[3].voter_id, found[3].by_human) == ("matched", "201", True)
    assert (found[1].status, found[1].voter_id) == ("not_found", "")


def test_match_without_a_voter_file_says_how_to_load_one(tmp_path):
    from pipeline.store import Workspace

    store = Workspace.open(tmp_path / "empty")
    with pytest.raises(WorkspaceError, match="voters import"):
        match_workspace(store, pixels=False)
    store.close()


def test_confusable_letters_cost_half_an_edit():
    assert weighted_distance("mensah", "nensah") == 0.5
    assert weighted_distance("mensah", "kensah") == 1.0
    assert weighted_distance("gallagher", "galagher") == 0.5
    assert weighted_distance("vargas", "vargas") == 0.0


def _candidate(voter_id: str, first: str, last: str, *, gap: float, support: int = 0, cost: float = 0.0):
    voter = Voter(voter_id, 2, first, "", last, "", "", "", "", None, first.lower(), last.lower())
    return Candidate(voter, cost, support, False, gap=gap)


def test_the_pixels_refuse_a_look_alike_the_crop_does_not_show():
    # The signer is not on the file; the nearest voter is one letter off and the crop explains it 9 nats worse.
    status, _ = decide([_candidate("1", "owen", "wux", gap=9.0, cost=1.0)])
    assert status is MatchStatus.NOT_FOUND


def test_a_signer_misread_at_their_own_address_is_offered_for_review_not_called_not_found():
    """Zip and address agreeing widen the crop's allowance (support_gap each) before the candidate is implausible
    as they do before it is matched: "Spren Nieminen" at SØREN NIEMINEN's address and zip, the crop 6.6 nats
    from his name, goes to a person; the same name at no address stays not found."""
    assert decide([_candidate("1", "soren", "nieminen", gap=6.6, cost=1.0, support=2)])[0] is MatchStatus.REVIEW
    assert decide([_candidate("1", "soren", "nieminen", gap=6.6, cost=1.0)])[0] is MatchStatus.NOT_FOUND


def test_the_pixels_pick_between_two_near_names():
    status, chosen = decide([_candidate("1", "koa", "mensah", gap=0.3, cost=0.5),
                             _candidate("2", "koa", "nensah", gap=7.5, cost=0.0)])
    assert status is MatchStatus.MATCHED and chosen.voter.voter_id == "1"
    status, _ = decide([_candidate("1", "koa", "mensah", gap=0.3), _candidate("2", "koa", "nensah", gap=1.0)])
    assert status is MatchStatus.REVIEW  # the crop cannot tell them apart


def _voter(voter_id: str, first: str, middle: str, last: str, zip_code: str = "") -> Voter:
    return Voter(voter_id, 2, first, middle, last, "", "", zip_code, "", None, first.lower(), last.lower())


def _namesakes_decided(line: str, voters: list[Voter], *, pixels: bool) -> tuple[MatchStatus, str]:
    """The verdict through the real scoring: the line's name split as match.py splits it, each voter scored; with
    `pixels`, every voter's name explained equally well by the crop (namesakes: the pixels cannot part them)."""
    first, middle, last, one_word = _split(line)
    name = line_name(first, middle, last, one_word=one_word, zip_code="", ward="", address="")
    candidates = candidates_of(name, voters)
    if pixels:
        candidates = [replace(c, gap=0.0) for c in candidates]
    status, chosen = decide(candidates)
    return status, chosen.voter.voter_id if chosen and status is MatchStatus.MATCHED else ""


@pytest.mark.parametrize("pixels", [False, True])
def test_a_middle_initial_only_one_namesake_has_decides_between_them(pixels):
    horvaths = [_voter("1", "MILOS", "", "HORVATH"), _voter("2", "MILOS", "D", "HORVATH"),
                _voter("3", "MILOS", "KAREL", "HORVATH")]
    assert _namesakes_decided("Milos D Horvath", horvaths, pixels=pixels) == (MatchStatus.MATCHED, "2")
    assert _namesakes_decided("Milos D. HORVATH", horvaths, pixels=pixels) == (MatchStatus.MATCHED, "2")
    # no initial on the line (people leave theirs out), or one no namesake has: nothing tells them apart
    assert _namesakes_decided("Milos Horvath", horvaths, pixels=pixels)[0] is MatchStatus.AMBIGUOUS
    assert _namesakes_decided("Milos E Horvath", horvaths, pixels=pixels)[0] is MatchStatus.AMBIGUOUS
    # two namesakes with that initial: still ambiguous
    twins = [*horvaths, _voter("4", "MILOS", "DAVID", "HORVATH")]
    assert _namesakes_decided("Milos D Horvath", twins, pixels=pixels)[0] is MatchStatus.AMBIGUOUS


def test_a_generation_suffix_is_left_out_of_the_name_as_written_or_misread():
    assert written_suffix("Erik SILVA IlI") == "IlI" and _split("Erik SILVA IlI")[::2] == ("Erik", "SILVA")
    assert written_suffix("Dmitri Wu Il") == "Il" and _split("Dmitri Wu Il")[2] == "Wu"
    assert written_suffix("Sanjay Aguilar Sr.") == "Sr." and _split("Sanjay Aguilar Sr.")[2] == "Aguilar"
    assert written_suffix("Jong Il Kim") == "" and _split("Jong Il Kim")[2] == "Kim"  # a given name stays
    assert written_suffix("Erik Il") == ""  # two words: a name, not a suffix
    forms = written_forms(_voter("5", "ERIK", "", "SILVA"), written_suffix="III")
    assert "ERIK SILVA III" in forms and "ERIK SILVA" in forms


def test_a_first_name_cut_short_is_the_same_given_name():
    from pipeline.names import is_short_form, longer_forms, same_given_name

    assert is_short_form("javi", "javier") and is_short_form("fred", "frederic")  # the start of the name
    assert is_short_form("sandro", "alessandro") and is_short_form("lupe", "guadalupe")  # or its end
    assert same_given_name("alessandro", "sandro") and same_given_name("bob", "robert")  # either way; nicknames
    assert not is_short_form("mari", "maria")  # one letter off is a misreading, not a short form
    assert not is_short_form("cal", "caleg") and not is_short_form("tariq", "tariqmorris")  # no first names
    assert not is_short_form("al", "alfred") and not is_short_form("dro", "alessandro")  # too short to tell
    assert "alessandro" in longer_forms("sandro") and "guadalupe" in longer_forms("lupe")
    # The crop is scored against the name as the signer wrote it.
    assert "Sandro ROSSI" in written_forms(_voter("1", "ALESSANDRO", "", "ROSSI"), "", "Sandro")


def _short_form_decided(line: str, voter: Voter, *, zip_code: str) -> MatchStatus:
    """The verdict with the crop explaining the written short form perfectly (as it does: it is what is written)."""
    first, middle, last, one_word = _split(line)
    name = line_name(first, middle, last, one_word=one_word, zip_code=zip_code, ward="", address="")
    return decide([replace(c, gap=0.0) for c in candidates_of(name, [voter])])[0]


def test_a_short_form_is_matched_only_where_the_zip_or_address_confirms_the_voter():
    """"Javi Torres" fits the crop whichever Javier or Javiera Torres signed, or a Javi the file does not hold: the
    file's JAVIER TORRES is the signer when the zip agrees, and a person decides when nothing does."""
    javier = _voter("1", "JAVIER", "", "TORRES", zip_code="10001")
    assert _short_form_decided("Javi Torres", javier, zip_code="10001") is MatchStatus.MATCHED
    assert _short_form_decided("Javi Torres", javier, zip_code="") is MatchStatus.REVIEW
    # A name in full needs no confirmation.
    assert _short_form_decided("Javier Torres", javier, zip_code="") is MatchStatus.MATCHED


def test_a_short_form_from_the_end_of_the_name_finds_its_voter(tmp_path):
    """Sandro shares no initial with Alessandro, so no name key of the line led to the voter: the line is looked
    up by the lists' longer forms of its first name too. Here the zip and address confirm him."""
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file
    from scanner.types import LineStatus
    from tests.pipeline.voters.support import page

    store = Workspace.open(tmp_path / "ws")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page({1: ("Sandro Rossi", "8 Harbor Pl", "32723", "", LineStatus.SIGNED),
                                    2: ("Sandro Rossi", "", "", "", LineStatus.SIGNED)}))
    voters = tmp_path / "voters.csv"
    voters.write_text("VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP\n700,ALESSANDRO,ROSSI,8 HARBOR PL,32723\n"
                      "701,ALESSANDRA,BIANCHI,3 OAK ST,32723\n", encoding="utf-8")
    import_voter_file(store, voters)
    match_workspace(store, pixels=False)
    found = _by_line(store)
    assert (found[1].status, found[1].voter_id) == ("matched", "700")
    assert found[2].status == "review"  # found, but only a person can say this Sandro is him
    store.close()


def test_a_garbled_reading_is_judged_by_the_crop_when_the_zip_or_address_agrees():
    """"SOLÈNE GTZATZD" is four edits from SOLÈNE GIRARD, past any text match; her zip agrees and the crop spells
    GIRARD within a nat of its own best reading (a calibration-split line): the pixels decide. Without the crop,
    or with the zip disagreeing, such a voter is no candidate."""
    far = _candidate("1", "solene", "girard", gap=1.1, cost=4.0, support=1)
    assert decide([far])[0] is MatchStatus.MATCHED
    assert decide([replace(far, gap=3.5)])[0] is MatchStatus.REVIEW  # plausible, but not as good as a right reading
    assert decide([replace(far, gap=None)])[0] is MatchStatus.NOT_FOUND  # the text alone says nothing that far off
    assert decide([replace(far, support=0, veto=True)])[0] is MatchStatus.NOT_FOUND
    # A near rival the crop cannot tell from it: a person decides.
    assert decide([far, _candidate("2", "solene", "girardo", gap=2.0, cost=1.0, support=1)])[0] is MatchStatus.REVIEW


def test_a_surname_read_as_two_words_is_looked_up_joined(tmp_path):
    """A space read inside the surname ("JEAN-FRANGOIS ROUSSE AU", a calibration-split line) made "ROUSSE" a
    middle name and "AU" the surname, and no key led to JEAN-FRANÇOIS ROUSSEAU: not found. Joined, he is found;
    the text alone (one letter off) leaves him to a person, with his address in agreement."""
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file
    from scanner.types import LineStatus
    from tests.pipeline.voters.support import page

    store = Workspace.open(tmp_path / "ws")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page({1: ("JEAN-FRANGOIS ROUSSE AU", "1169 Harbor Ave", "", "", LineStatus.SIGNED)}))
    voters = tmp_path / "voters.csv"
    voters.write_text("VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP\n800,JEAN-FRANÇOIS,ROUSSEAU,1169 HARBOR AVE,"
                      "02116\n801,JEAN,AUBERT,4 ELM ST,02116\n", encoding="utf-8")
    import_voter_file(store, voters)
    match_workspace(store, pixels=False)
    (stored,) = stored_matches.stored_matches(store, stored_voters.current_version(store).version).values()
    assert stored.status == "review" and stored.candidates[0][0] == "800"
    store.close()


def test_a_line_no_name_key_finds_meets_the_voters_of_its_zip_and_initials(tmp_path):
    """The zip key (zip and both initials) brings in voters however far their names are from a garbled reading,
    for the crop to judge; without a crop they stay candidates a person can pick, and the line is not found."""
    from pipeline.store import Workspace
    from pipeline.voter_import import import_voter_file
    from scanner.types import LineStatus
    from tests.pipeline.voters.support import page

    store = Workspace.open(tmp_path / "ws")
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page({1: ("SOLÈNE GTZATZD", "", "65779", "", LineStatus.SIGNED)}))
    voters = tmp_path / "voters.csv"
    voters.write_text("VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP\n900,SOLÈNE,GIRARD,1507 SUNSET ST,65779\n"
                      "901,SOLÈNE,GIRARD,8 OAK ST,10001\n", encoding="utf-8")  # a namesake elsewhere: no candidate
    import_voter_file(store, voters)
    match_workspace(store, pixels=False)
    (stored,) = stored_matches.stored_matches(store, stored_voters.current_version(store).version).values()
    assert stored.status == "not_found" and [voter for voter, _ in stored.candidates] == ["900"]
    store.close()
