"""Voter file import: header recognition, --map, bad rows with their line numbers, versions, XLSX, zip codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.store import Workspace
from pipeline.store import voters as stored
from pipeline.voter_import import VoterFileError, import_voter_file, parse_mapping
from pipeline.voter_keys import name_keys

HEADER = "VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP,WARD,DOB\n"


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    store = Workspace.open(tmp_path / "ws")
    yield store
    store.close()


def _csv(tmp_path: Path, text: str, name: str = "voters.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_recognised_headers_import_every_good_row_and_report_bad_ones_by_line(workspace, tmp_path):
    path = _csv(tmp_path, HEADER + "1,Koa,Mensah,1 Main St,02134,3,1980-01-02\n"
                "2,,Vargas,,01001,,\n"  # a surname alone is a (partial) voter
                ",Nobody,Here,,,,\n"  # line 4: no id
                "1,Dup,Dup,,,,\n"  # line 5: repeated id
                "3,Ann,Lee,2 Elm,07001,4,abc\n"  # line 6: kept, birth year dropped
                "4,x,y,z,1,2,3,extra\n"  # line 7: one field too many
                "5,Only,,,,,\n")  # line 8: no surname
    report = import_voter_file(workspace, path)
    assert report.rows == 3 and report.skipped == 4
    lines = {(p.source_line, p.skipped) for p in stored.problems(workspace, report.version)}
    assert lines == {(4, True), (5, True), (6, False), (7, True), (8, True)}
    voters = stored.voters_by_id(workspace, report.version, ["1", "2", "3"])
    assert voters["1"].zip == "02134" and voters["1"].birth_year == 1980 and voters["1"].ward == "3"
    assert voters["2"].first_name == "" and voters["2"].last_name == "Vargas"
    assert voters["3"].zip == "07001" and voters["3"].birth_year is None


def test_reimport_makes_a_new_version_and_keeps_the_old_one(workspace, tmp_path):
    first = import_voter_file(workspace, _csv(tmp_path, HEADER + "1,Koa,Mensah,,,,\n"))
    second = import_voter_file(workspace, _csv(tmp_path, HEADER + "9,Ann,Lee,,,,\n2,Bo,Ng,,,,\n", "new.csv"))
    assert second.version > first.version
    assert stored.current_version(workspace).version == second.version
    assert [v.version for v in stored.versions(workspace)] == [first.version, second.version]
    assert stored.count_voters(workspace, first.version) == 1 and stored.count_voters(workspace, second.version) == 2


def test_map_names_unrecognised_columns_and_a_whole_name_is_split(workspace, tmp_path):
    path = _csv(tmp_path, "Reg No;Voter;Postcode\nA1;MENSAH, KOA J;02134\nA2;Imani Q. Vargas;\nA3;Okafor;\n")
    report = import_voter_file(workspace, path, mapping=parse_mapping(["Reg No=voter_id", "Voter=name",
                                                                       "postcode=zip"]))
    voters = stored.voters_by_id(workspace, report.version, ["A1", "A2", "A3"])
    assert (voters["A1"].first_name, voters["A1"].middle_name, voters["A1"].last_name) == ("Koa", "J", "Mensah")
    assert (voters["A2"].first_name, voters["A2"].last_name) == ("Imani", "Vargas")
    assert (voters["A3"].first_name, voters["A3"].last_name) == ("", "Okafor")
    assert voters["A1"].zip == "02134"


def test_a_file_without_an_id_column_is_refused_with_what_to_do(workspace, tmp_path):
    with pytest.raises(VoterFileError, match="--map"):
        import_voter_file(workspace, _csv(tmp_path, "FIRST_NAME,LAST_NAME\nKoa,Mensah\n"))
    assert stored.current_version(workspace) is None  # nothing half-imported


def test_bad_map_options_are_refused():
    with pytest.raises(VoterFileError):
        parse_mapping(["Reg No"])
    with pytest.raises(VoterFileError):
        parse_mapping(["Reg No=shoe_size"])


def test_xlsx_zip_stored_as_a_number_gets_its_leading_zero_back(workspace, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Voter ID", "Last Name", "First Name", "Zip Code", "Birth Year"])
    sheet.append([101, "Mensah", "Koa", 2134, 1980])
    sheet.append([102, "Lee", "Ann", "07001", None])
    path = tmp_path / "voters.xlsx"
    book.save(path)
    report = import_voter_file(workspace, path)
    voters = stored.voters_by_id(workspace, report.version, ["101", "102"])
    assert voters["101"].zip == "02134" and voters["101"].birth_year == 1980
    assert voters["102"].zip == "07001"


def test_latin1_file_is_read_as_windows_1252(workspace, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("VOTER_ID,FIRST_NAME,LAST_NAME\n1,Inés,Núñez\n".encode("cp1252"))
    report = import_voter_file(workspace, path)
    assert stored.voters_by_id(workspace, report.version, ["1"])["1"].last_name == "Núñez"


def test_name_keys_put_recognizer_confusions_in_one_block():
    assert name_keys("Koa", "Mensah").whole == name_keys("Koa", "Nensah").whole  # M read as N
    assert name_keys("Imani", "Vargas").whole == name_keys("Imani", "Uargas").whole  # V read as U
    assert name_keys("Abigail", "Gallagher").phonetic == name_keys("Abigail", "Galagher").phonetic
    assert name_keys("", "Mensah").tail == ""  # a surname alone has no first-name key


def test_a_name_key_lookup_reads_its_covering_index_alone_and_groups_voters_by_name(workspace, tmp_path):
    path = _csv(tmp_path, HEADER + "1,Koa,Mensah,1 Main St,02134,3,\n2,Koa,Mensah,9 Oak Av,02134,3,\n"
                "3,Koa,Nensah,1 Elm,02134,3,\n4,Ann,Lee,2 Elm,07001,4,\n")
    version = import_voter_file(workspace, path).version
    keys = name_keys("Koa", "Mensah")
    for column, key in (("k_phonetic", keys.phonetic), ("k_prefix", keys.prefix), ("k_tail", keys.tail),
                        ("k_whole", keys.whole)):
        # without the name fields in the index, SQLite fetches every voter's row from the table (a million-voter
        # file made 10,000 lines' lookups take twice as long)
        plan = " ".join(row[3] for row in workspace.db.execute(
            f"EXPLAIN QUERY PLAN SELECT {column}, k_whole, key_first, key_last, first_name, group_concat(rowid)"
            f" FROM voters WHERE version = ? AND {column} IN (?) GROUP BY {column}, k_whole, key_first, key_last,"
            " first_name", (version, key)))
        assert f"COVERING INDEX voters_by_{column[2:]}" in plan and "TEMP B-TREE" not in plan, (column, plan)
        voters = {(hit[4], hit[3]): sorted(v.voter_id for v in stored.voters_by_rowid(
            workspace, stored.rowids_of(hit)).values()) for hit in stored.lookup(workspace, version, column, [key])}
        assert voters[("Koa", "mensah")] == ["1", "2"], (column, voters)  # one name, its two voters
        assert ("Ann", "lee") not in voters
