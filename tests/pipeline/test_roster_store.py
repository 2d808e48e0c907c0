"""The roster kept in the store: folding changes in gives what a rebuild from scratch gives, and both give what
dedupe() over every signer gives; status and export read it without clustering again.

Real SQLite workspaces with synthetic signers (bench/bench_dedupe.py's generator, plus a crowd of Smiths so that
blocks grow past max_block, set small here, and pair by sorted windows)."""

from __future__ import annotations

import random

import pytest

from bench.bench_dedupe import roster as synthetic_roster
from pipeline import roster
from pipeline.dedupe import DedupeSettings, dedupe
from pipeline.export import effective_lines, people
from pipeline.names import parse_name, plain_display_parts
from pipeline.store import LineId, Workspace
from pipeline.store import matches as stored_matches
from pipeline.store import roster as stored
from pipeline.voter_import import import_voter_file
from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence, Role,
                           TextRead)

SETTINGS = DedupeSettings(max_block=12, window=4)  # small enough that the Smiths' blocks go oversized
PER_PAGE = 20
SHA = "ab" * 32


def _records(count: int, seed: int) -> list[tuple[str, str, str]]:
    """(name, zip, email): bench_dedupe's signers plus Smiths sharing few first names and zips."""
    rng = random.Random(seed)
    records = [(name, zip_code, email) for name, zip_code, email, _ in synthetic_roster(count, seed=seed)[0]]
    firsts = ["John", "Jon", "Joan", "Jane", "Janet", "James", "Jim", "Jamie"]
    for _ in range(count // 4):
        last = rng.choice(["Smith", "Smith", "Smyth", "Smit"])
        records.append((f"{rng.choice(firsts)} {last}", rng.choice(["02134", "02135", ""]), ""))
    rng.shuffle(records)
    return records


def _page(number: int, records: list[tuple[str, str, str]]) -> PageResult:
    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    readings = tuple(LineReading(line=k + 1, status=LineStatus.SIGNED, name=TextRead(name, 0.5 + (k % 5) / 10),
                                 fields={Role.ZIP: TextRead(zip_code, 0.9), Role.EMAIL: TextRead(email, 0.9)},
                                 signature=ink, name_ink=ink, struck=False, needs_review=k % 7 == 0,
                                 review_reasons=())
                     for k, (name, zip_code, email) in enumerate(records))
    return PageResult(ref=PageRef(path="typed.pdf", file_name="typed.pdf", page=number, kind="pdf", dpi=0),
                      status=PageStatus.OK, sha256=f"{number}", lines=readings, roles=(Role.ZIP, Role.EMAIL))


def _add_pages(workspace: Workspace, records, first_page: int) -> int:
    pages = [records[k:k + PER_PAGE] for k in range(0, len(records), PER_PAGE)]
    for k, chunk in enumerate(pages):
        workspace.save_page(SHA, _page(first_page + k, chunk))
    return first_page + len(pages)


def _snapshot(workspace: Workspace) -> tuple[frozenset, frozenset]:
    """Clusters as sets of occurrences, and stored pairs by occurrence: what must not depend on how it was built."""
    of = stored.cluster_of_occurrences(workspace)
    groups: dict[int, set[str]] = {}
    for occurrence, cluster in of.items():
        groups.setdefault(cluster, set()).add(occurrence)
    entries = {e: o for o, e in stored.entries_of_occurrences(workspace, (LineId.parse(x) for x in of)).items()}
    pairs = workspace.db.execute("SELECT a, b, score, reasons FROM roster_pairs").fetchall()
    return (frozenset(frozenset(g) for g in groups.values()),
            frozenset((*sorted((entries[a], entries[b])), s, r) for a, b, s, r in pairs))


def _heads_are_first_occurrences(workspace: Workspace) -> None:
    of = stored.cluster_of_occurrences(workspace)
    names = stored.occurrences(workspace, set(of.values()))
    for occurrence, cluster in of.items():
        assert names[cluster] <= occurrence


def _from_scratch(workspace: Workspace) -> frozenset:
    """dedupe() over every signer, the way the roster was computed before it was stored."""
    result = dedupe(people(effective_lines(workspace)), settings=SETTINGS, decisions=workspace.duplicate_decisions())
    return frozenset(frozenset(c) for c in result.clusters)


def _rows(workspace: Workspace) -> list[tuple]:
    """The stored rows export reads, without the cluster's entry number (a rebuild numbers entries anew)."""
    return sorted(stored.stored_rows(workspace, stored.ROW_COLUMNS))


def _assert_incremental_is_rebuild(workspace: Workspace) -> None:
    done = roster.update(workspace, settings=SETTINGS)
    assert not done.rebuilt
    folded, folded_rows = _snapshot(workspace), _rows(workspace)
    _heads_are_first_occurrences(workspace)
    roster.rebuild(workspace, settings=SETTINGS)
    rebuilt = _snapshot(workspace)
    assert folded[0] == rebuilt[0]
    assert folded[1] == rebuilt[1]
    assert rebuilt[0] == _from_scratch(workspace)
    # Every row a fold touched was rendered again, and only those can have changed: the rows equal a rebuild's.
    assert len(folded_rows) == len(rebuilt[0])
    assert folded_rows == _rows(workspace)


def test_folding_in_pages_corrections_verdicts_and_voter_matches_equals_a_rebuild(tmp_path):
    records = _records(700, seed=3)
    workspace = Workspace.open(tmp_path / "ws")
    workspace.add_file(sha256=SHA, name="typed.pdf", size=1, kind="pdf", page_count=1000, status="ok")
    next_page = _add_pages(workspace, records[:500], 1)
    first = roster.update(workspace, settings=SETTINGS)
    assert first.rebuilt  # never built: built from scratch
    assert _snapshot(workspace)[0] == _from_scratch(workspace)
    smiths = [x for x in workspace.db.execute("SELECT line_id, name FROM effective_lines WHERE name LIKE '%Smith%'")]
    assert max(len(m) for m in _blocks(workspace)) > SETTINGS.max_block  # the windowed path is exercised

    # pages arrive one by one
    for k in range(500, len(records), 200):
        next_page = _add_pages(workspace, records[k:k + 200], next_page)
        _assert_incremental_is_rebuild(workspace)

    # name corrections (into and out of the Smiths' blocks), a line struck, a line signed again
    rng = random.Random(9)
    lines = [LineId.parse(x) for (x,) in workspace.db.execute("SELECT line_id FROM effective_lines ORDER BY line_id")]
    for line in rng.sample(lines, 6):
        workspace.record_decision(file_sha256=line.file_sha256, page_no=line.page_no, line_no=line.line_no,
                                  field="name", value=rng.choice(["Jon Smith", "Jane Smyth", "Ana Okafor"]),
                                  decided_by="vol")
    struck = LineId.parse(smiths[0][0])
    workspace.record_decision(file_sha256=struck.file_sha256, page_no=struck.page_no, line_no=struck.line_no,
                              field="status", value="struck", decided_by="vol")
    _assert_incremental_is_rebuild(workspace)

    # a line confirmed as read, with no field changed: only its row's review columns change
    waiting = next(LineId.parse(x) for (x,) in workspace.db.execute(
        "SELECT line_id FROM effective_lines WHERE needs_review AND status = 'signed' ORDER BY line_id"))
    before = {r[0]: r for r in _rows(workspace)}
    workspace.record_decision(file_sha256=waiting.file_sha256, page_no=waiting.page_no, line_no=waiting.line_no,
                              field="reviewed", value="yes", decided_by="vol")
    assert roster.lag(workspace, settings=SETTINGS).decisions == 1
    _assert_incremental_is_rebuild(workspace)
    changed = [r for r in _rows(workspace) if before.get(r[0]) != r]
    assert len(changed) == 1 and "human" in changed[0][6].split(";")  # source_states

    # duplicate verdicts: "different" splits a cluster, "same" merges two
    clusters = _clusters(workspace)
    pair = sorted(next(c for c in clusters if len(c) >= 2))[:2]
    workspace.record_duplicate_decision(pair[0], pair[1], same=False, decided_by="vol")
    alone = sorted(c for c in clusters if len(c) == 1)
    workspace.record_duplicate_decision(next(iter(alone[0])), next(iter(alone[1])), same=True, decided_by="vol")
    _assert_incremental_is_rebuild(workspace)
    after = _clusters(workspace)
    assert not any(pair[0] in c and pair[1] in c for c in after)  # split
    assert any(next(iter(alone[0])) in c and next(iter(alone[1])) in c for c in after)  # merged

    # voter matches: a voter file (a rebuild: every voter id may change), then people's match verdicts
    voters = tmp_path / "voters.csv"
    voters.write_text("VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP,WARD\n7,ZED,QUILL,1 A ST,02134,1\n")
    import_voter_file(workspace, voters)
    assert roster.lag(workspace, settings=SETTINGS).voter_file_changed
    assert roster.update(workspace, settings=SETTINGS).rebuilt
    apart = sorted(c for c in _clusters(workspace) if len(c) == 1)[2:4]
    for members in apart:
        line = LineId.parse(next(iter(members)))
        with workspace.transaction():
            stored_matches.append_match_decision(workspace, line, "7", decided_by="vol")
    _assert_incremental_is_rebuild(workspace)
    assert any(all(next(iter(m)) in c for m in apart) for c in _clusters(workspace))  # one voter: one signer
    workspace.close()


def _clusters(workspace: Workspace) -> list[set[str]]:
    groups: dict[int, set[str]] = {}
    for occurrence, cluster in stored.cluster_of_occurrences(workspace).items():
        groups.setdefault(cluster, set()).add(occurrence)
    return list(groups.values())


def _blocks(workspace: Workspace) -> list[list[int]]:
    rows = workspace.db.execute("SELECT group_concat(entry) FROM roster_entries WHERE k0 IS NOT NULL GROUP BY k0")
    return [r[0].split(",") for r in rows]


@pytest.fixture
def built(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    workspace.add_file(sha256=SHA, name="typed.pdf", size=1, kind="pdf", page_count=1000, status="ok")
    _add_pages(workspace, _records(200, seed=5), 1)
    roster.update(workspace)
    yield workspace
    workspace.close()


def test_status_and_export_read_the_stored_roster_without_clustering_again(built, tmp_path):
    from pipeline.export import build_roster, signer_id, write_roster
    from pipeline.status import workspace_status

    before = stored.roster_state(built)
    status = workspace_status(built)
    frame, result = build_roster(built)
    write_roster(built, tmp_path / "roster.csv")
    assert frame["signer_id"].tolist() == [signer_id(c[0]) for c in result.clusters]  # by first occurrence text
    assert frame["occurrences"].tolist() == [len(c) for c in result.clusters]
    after = stored.roster_state(built)
    assert (after.rebuilds, after.updates) == (before.rebuilds, before.updates)  # nothing folded, nothing rebuilt
    assert status.signers == len(frame) == stored.counts(built)[1]
    assert status.roster == "up to date"
    assert (tmp_path / "roster.csv").read_text().count("\n") == len(frame) + 1


def test_a_new_page_is_folded_in_lazily_by_status_and_shown_as_lag_before(built):
    from pipeline.status import workspace_status

    _add_pages(built, [("Ama Mensah", "02134", ""), ("AMA MENSAH", "02134", "")], 900)
    lag = roster.lag(built)
    assert lag.behind and lag.lines == 2
    before = stored.roster_state(built)
    status = workspace_status(built)
    after = stored.roster_state(built)
    assert (after.updates, after.rebuilds) == (before.updates + 1, before.rebuilds)  # folded in, not rebuilt
    assert after.rescored - before.rescored == 2
    assert not roster.lag(built).behind and status.roster.startswith("was behind by 2 line(s) read")
    mensah = [c for c in _clusters(built) if any("900" in o for o in c)]
    assert len(mensah) == 1 and len(mensah[0]) == 2


def test_the_exported_members_carry_the_effective_lines_values(built):
    """store.roster.members computes the effective_lines view's values its own (faster) way: they must agree,
    decisions included."""
    lines = [LineId.parse(x) for (x,) in built.db.execute("SELECT line_id FROM effective_lines ORDER BY line_id")]
    for k, (field, value) in enumerate([("name", "Zora Neale"), ("zip", "=1+2"), ("email", "Z@X.ORG"),
                                         ("address", "1 Main St"), ("reviewed", "yes"), ("reviewed", ""),
                                         ("name", "Juan de la Cruz")]):
        line = lines[(0, 1, 2, 0, 1, 1, 3)[k]]
        built.record_decision(file_sha256=line.file_sha256, page_no=line.page_no, line_no=line.line_no, field=field,
                              value=value, decided_by="vol")
    roster.update(built)
    view = {str(x.id): x for x in __import__("pipeline.store.lines", fromlist=["all_lines"]).all_lines(built)}
    members = list(stored.members(built, None))
    assert len(members) == stored.counts(built)[0]
    for m in members:
        line = view[m.occurrence]
        assert (m.file, m.page_no, m.line_no) == (line.file, line.id.page_no, line.id.line_no)
        assert (m.name, m.address, m.zip, m.email) == (line.name, line.address, line.zip, line.email)
        assert (bool(m.human_confirmed), bool(m.needs_review)) == (line.human_confirmed, line.needs_review)
    assert view[str(lines[0])].name == "Zora Neale"
    split = [m for m in members if m.first is not None]  # names nameparser splits: parts kept in the store
    assert any(m.name == "Juan de la Cruz" for m in split)
    for m in members:
        name = parse_name(m.name)
        if m.first is not None:
            assert (m.first, m.middle, m.last) == (name.first, name.middle, name.last)
        else:
            assert plain_display_parts(m.name) == (name.written, name.first, name.middle, name.last)
    counts, frame = stored.line_counts(built), effective_lines(built)
    assert counts.by_status == {k: int(v) for k, v in frame["status"].value_counts().items()}
    assert counts.lines == len(frame) and counts.to_review == int(frame["needs_review"].sum())
    assert counts.human_decided == int(frame["human_confirmed"].sum()) >= 1


def test_the_exported_roster_after_folding_in_equals_the_one_after_a_rebuild(built, tmp_path):
    from pipeline.export import write_roster

    _add_pages(built, [("Ama Mensah", "02134", ""), ("Kofi Boateng", "", "kofi@example.org")], 901)
    built.record_decision(file_sha256=SHA, page_no=1, line_no=3, field="name", value="Ama Mensah", decided_by="vol")
    write_roster(built, tmp_path / "folded.csv")
    assert stored.roster_state(built).rebuilds == 1  # folded in, never rebuilt since the fixture built it
    roster.rebuild(built)
    write_roster(built, tmp_path / "rebuilt.csv")
    folded, rebuilt = ((tmp_path / n).read_text().splitlines() for n in ("folded.csv", "rebuilt.csv"))
    assert folded[0] == rebuilt[0] and sorted(folded) == sorted(rebuilt)
    assert any("Kofi Boateng" in row for row in folded) and any("Ama Mensah" in row for row in folded)


def test_the_roster_commands_show_the_lag_fold_it_in_and_rebuild(built, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    root = str(built.root)
    _add_pages(built, [("Ama Mensah", "02134", "")], 902)
    shown = runner.invoke(app, ["roster", "status", "-w", root])
    assert shown.exit_code == 0 and "behind by 1 line(s) read" in shown.output
    folded = runner.invoke(app, ["roster", "update", "-w", root])
    assert folded.exit_code == 0 and "folded in 1 line(s)" in folded.output
    assert "up to date" in runner.invoke(app, ["roster", "status", "-w", root]).output
    rebuilt = runner.invoke(app, ["roster", "rebuild", "-w", root])
    assert rebuilt.exit_code == 0 and "roster rebuilt" in rebuilt.output
    assert stored.roster_state(built).rebuilds == 2
    status = runner.invoke(app, ["status", "-w", root])
    assert status.exit_code == 0 and "roster     up to date" in status.output
    out = tmp_path / "roster.csv"
    exported = runner.invoke(app, ["export", "roster", "-o", str(out), "-w", root, "--profile", "nationbuilder"])
    assert exported.exit_code == 0 and out.read_text().startswith("external_id,first_name,last_name,email,")


HOSTILE = ["=HYPERLINK(\"http://x\")", "+1 555", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "O'Brien, Jr.",
           'Say "hi"', "two\nlines", "Zoë Ñúñez", "  spaced  ", "a,b\n=c", "'quoted'"]


def test_the_csv_sqlite_writes_is_byte_for_byte_what_csv_writer_writes(built, tmp_path):
    """store.roster.csv_lines writes each line in SQL: hostile text (formula triggers, commas, quotes, newlines,
    carriage returns, accents) comes out as spreadsheet.neutralise and csv.writer would write it."""
    import csv
    import io

    from pipeline import spreadsheet
    from pipeline.export import PROFILES, roster_columns, roster_rows, write_roster

    assert stored.FORMULA_TRIGGERS == spreadsheet.FORMULA_TRIGGERS
    lines = [LineId.parse(x) for (x,) in built.db.execute(
        "SELECT line_id FROM effective_lines WHERE status = 'signed' ORDER BY line_id")]
    for k, text in enumerate(HOSTILE):
        line = lines[k]
        for field in ("name", "address", "email"):
            built.record_decision(file_sha256=line.file_sha256, page_no=line.page_no, line_no=line.line_no,
                                  field=field, value=text if field != "name" else f"{text} Okafor{k}",
                                  decided_by="vol")
    written = write_roster(built, tmp_path / "roster.csv")
    expected = io.StringIO()
    out = csv.writer(expected, lineterminator="\n")
    out.writerow([spreadsheet.neutralise(c) for c in roster_columns(built)])
    rows = list(roster_rows(built))
    out.writerows([spreadsheet.neutralise(v) for v in row] for row in rows)
    text = (tmp_path / "roster.csv").read_bytes().decode("utf-8")  # no newline translation: "\r" stays
    assert written == len(rows) and text == expected.getvalue()
    assert sum(h in text for h in ('"\'=HYPERLINK(""http://x"")"', "'+1 555", "'\tTab", '"two\nlines"')) == 4

    spec = PROFILES["nationbuilder"]
    write_roster(built, tmp_path / "nb.csv", profile="nationbuilder")
    shaped = io.StringIO()
    out = csv.writer(shaped, lineterminator="\n")
    columns = roster_columns(built)
    out.writerow([spreadsheet.neutralise(c) for c in [*spec.columns.values(), *spec.constants]])
    out.writerows([spreadsheet.neutralise(row[columns.index(c)]) for c in spec.columns] + list(spec.constants.values())
                  for row in rows)
    assert (tmp_path / "nb.csv").read_bytes().decode("utf-8") == shaped.getvalue()


def test_a_new_possible_duplicate_is_counted_on_the_row_of_the_signer_it_pairs_with(built):
    """A new line that repeats a signer (a strong pair) and only looks like another (a possible pair): the other
    signer's row, whose cluster did not change, counts the newcomer as a possible duplicate after the fold, as
    after a rebuild."""
    pair = next(p for p in roster.possible_pairs(built) if "kept_apart_by_decision" not in p.reasons)
    line = LineId.parse(pair.a)
    name, zip_code, email = (built.effective_value(line.file_sha256, line.page_no, line.line_no, f)
                             for f in ("name", "zip", "email"))
    other = stored.entries_of_occurrences(built, [LineId.parse(pair.b)])[pair.b]
    cluster = stored.clusters_of(built, [other])

    def count() -> int:
        return [r for c, *r in built.db.execute("SELECT cluster, possible_duplicates FROM roster_rows")
                if c in cluster][0][0]

    before = count()
    _add_pages(built, [(name, zip_code, email)], 950)
    done = roster.update(built)
    assert not done.rebuilt and stored.clusters_of(built, [other]) == cluster  # its cluster did not change
    assert count() > before  # it gained the newcomer as a possible duplicate
    folded = _rows(built)
    roster.rebuild(built)
    assert folded == _rows(built)


def test_the_stored_csv_lines_carry_the_voter_id_when_a_voter_file_is_loaded(built, tmp_path):
    import csv
    import io

    from pipeline import spreadsheet
    from pipeline.export import roster_columns, roster_rows, write_roster

    voters = tmp_path / "voters.csv"
    voters.write_text('VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP,WARD\n"-7,1",ZED,QUILL,1 A ST,02134,1\n')
    import_voter_file(built, voters)
    line = LineId.parse(built.db.execute("SELECT line_id FROM effective_lines WHERE status = 'signed'"
                                         " ORDER BY line_id").fetchone()[0])
    with built.transaction():
        stored_matches.append_match_decision(built, line, "-7,1", decided_by="vol")
    write_roster(built, tmp_path / "roster.csv")
    assert roster_columns(built)[-1] == "voter_id"
    expected = io.StringIO()
    out = csv.writer(expected, lineterminator="\n")
    out.writerow(roster_columns(built))
    out.writerows([spreadsheet.neutralise(v) for v in row] for row in roster_rows(built))
    text = (tmp_path / "roster.csv").read_bytes().decode("utf-8")
    assert text == expected.getvalue() and text.count(",\"'-7,1\"\n") == 1
