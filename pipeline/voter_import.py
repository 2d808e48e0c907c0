"""`petition voters import`: a voter file (CSV or XLSX) streamed into the workspace as a new version.

Rows are read one at a time (the csv module; openpyxl in read-only mode) and written in batches inside one
transaction, so a million rows take a few hundred MB at most and an interrupted import leaves nothing behind.
Columns are recognised by their header (VOTER_ID, FIRST_NAME, RES_ADDRESS, ZIP, WARD, ...) or named with
`--map COLUMN=field`. A row that cannot be used (no voter id, a repeated one, no name, a broken CSV row) is
skipped and reported with its line number; the good rows are imported all the same. Every value is kept as
text: zip codes keep their leading zeros.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.names import parse_name
from pipeline.store import Workspace
from pipeline.store import voters as stored
from pipeline.voter_keys import name_keys, zip_key
from scanner.errors import ExitCode, SheetError

FIELDS = ("voter_id", "first_name", "middle_name", "last_name", "name", "address", "city", "zip", "ward",
          "birth_year")
IGNORE = "ignore"
BATCH = 5000
# SQLite's page cache while importing: the voters' key indexes of a million-voter file fit in it (measured: the
# import's peak memory stays well under its 1 GB goal).
IMPORT_CACHE_MIB = 128
# Header spellings seen in state and county voter files, upper case without spaces or punctuation.
ALIASES: dict[str, str] = {
    **dict.fromkeys(("VOTERID", "ID", "VOTERNUMBER", "REGISTRATIONNUMBER", "REGISTRANTID", "SOSVOTERID",
                     "STATEVOTERID", "VUID", "LALVOTERID", "VOTERREGNUM", "NCID"), "voter_id"),
    **dict.fromkeys(("FIRSTNAME", "FIRST", "NAMEFIRST", "GIVENNAME", "FNAME"), "first_name"),
    **dict.fromkeys(("MIDDLENAME", "MIDDLE", "NAMEMIDDLE", "MIDDLEINITIAL", "MNAME"), "middle_name"),
    **dict.fromkeys(("LASTNAME", "LAST", "NAMELAST", "SURNAME", "FAMILYNAME", "LNAME"), "last_name"),
    **dict.fromkeys(("NAME", "FULLNAME", "VOTERNAME"), "name"),
    **dict.fromkeys(("ADDRESS", "RESADDRESS", "RESIDENCEADDRESS", "RESIDENTIALADDRESS", "STREETADDRESS",
                     "ADDRESS1", "ADDRESSLINE1", "RESSTREETADDRESS", "RESSTREET"), "address"),
    **dict.fromkeys(("CITY", "RESCITY", "RESIDENCECITY", "RESIDENTIALCITY"), "city"),
    **dict.fromkeys(("ZIP", "ZIPCODE", "RESZIP", "RESZIPCODE", "POSTALCODE", "ZIP5", "RESIDENCEZIPCODE"), "zip"),
    **dict.fromkeys(("WARD", "WARDNUMBER", "DISTRICT", "COUNCILDISTRICT", "WARDDISTRICT"), "ward"),
    **dict.fromkeys(("BIRTHYEAR", "YOB", "YEAROFBIRTH", "DOB", "BIRTHDATE", "DATEOFBIRTH"), "birth_year"),
}
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


class VoterFileError(SheetError):
    """A voter file that cannot be imported at all (its format, or a required column missing)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class ImportReport:
    version: int
    rows: int  # voters imported
    skipped: int  # rows left out
    problems: tuple[stored.Problem, ...]  # the first ones (all are kept in the workspace)
    columns: dict[str, str]


Progress = Callable[[int, float], None]  # rows read so far, share of the file read (0..1)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """--map COLUMN=field options as {column: field}; a field may be 'ignore'."""
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        field = field.strip().lower()
        if not sep or not column.strip() or field not in (*FIELDS, IGNORE):
            raise VoterFileError(f"--map {pair!r}: write COLUMN=field, field one of {', '.join(FIELDS)} or {IGNORE}")
        mapping[column.strip()] = field
    return mapping


def _normal(header: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", header.upper())


def resolve_columns(headers: Sequence[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Column index -> field, from --map first, then the known header names; the first column wins a field."""
    explicit = {_normal(k): v for k, v in mapping.items()}
    unknown = [k for k in mapping if _normal(k) not in {_normal(h) for h in headers}]
    if unknown:
        raise VoterFileError(f"--map names columns the file does not have: {', '.join(unknown)}"
                             f" (its columns: {', '.join(headers)})")
    fields: dict[int, str] = {}
    for index, header in enumerate(headers):
        field = explicit.get(_normal(header), ALIASES.get(_normal(header), IGNORE))
        if field != IGNORE and field not in fields.values():
            fields[index] = field
    found = set(fields.values())
    if "voter_id" not in found or not found & {"last_name", "name"}:
        raise VoterFileError(f"the file needs a voter id and a last name (or a whole name) column; its columns are"
                             f" {', '.join(headers)}: name them with --map COLUMN=voter_id, --map COLUMN=last_name")
    return fields


def import_voter_file(workspace: Workspace, path: Path, *, mapping: Mapping[str, str] = {},  # noqa: B006
                      imported_by: str = "", progress: Progress | None = None) -> ImportReport:
    """Read the file into a new version of the voter file (one transaction: all of it or nothing)."""
    source = _Source(path)
    rows = source.rows
    headers = next(rows, None)
    if headers is None:
        raise VoterFileError(f"{path.name} is empty: export the voter file again with its header row")
    header_names = [_text(h) for h in headers[1]]
    columns = resolve_columns(header_names, mapping)
    named = {header_names[i]: f for i, f in columns.items()}
    digest = _sha256(path)
    problems: list[stored.Problem] = []
    count = 0
    with workspace.page_cache(IMPORT_CACHE_MIB), workspace.transaction():
        version = stored.begin_version(workspace, source=path.name, sha256=digest, columns=named,
                                       imported_by=imported_by)
        seen: dict[str, int] = {}
        records = (_record(line, values, columns, len(header_names), seen, problems) for line, values in rows)
        good = (r for r in records if r is not None)
        while batch := list(islice(good, BATCH)):
            stored.add_voters(workspace, version, batch)
            count += len(batch)
            if progress is not None:
                progress(count, source.share_read())
        stored.add_problems(workspace, version, problems)
        skipped = sum(p.skipped for p in problems)
        stored.finish_version(workspace, version, rows=count, bad_rows=skipped)
    return ImportReport(version, count, skipped, tuple(problems[:20]), named)


def _record(line: int, values: Sequence[object], columns: Mapping[int, str], width: int, seen: dict[str, int],
            problems: list[stored.Problem]) -> tuple | None:
    """One voter row in the store's column order, or None (and a problem) for a row that cannot be used."""
    def skip(message: str) -> None:
        problems.append(stored.Problem(line, True, message))

    if any(_text(v) for v in values[width:]):  # a short row only lacks empty trailing fields: kept
        return skip(f"{len(values)} fields where the header has {width} (a stray delimiter or quote?)")
    row = {field: _text(values[i], field) if i < len(values) else "" for i, field in columns.items()}
    voter_id = row.get("voter_id", "")
    if not voter_id:
        return skip("no voter id")
    if voter_id in seen:
        return skip(f"voter id {voter_id} is already on line {seen[voter_id]}")
    first, middle, last = _name(row)
    if not last:
        return skip(f"voter {voter_id} has no last name")
    seen[voter_id] = line
    birth = _birth_year(row.get("birth_year", ""), line, problems)
    keys = name_keys(first, last)
    zip_code = row.get("zip", "")
    return (voter_id, line, first, middle, last, row.get("address", ""), row.get("city", ""), zip_code,
            row.get("ward", ""), birth, keys.first, keys.last, keys.phonetic, keys.prefix, keys.tail, keys.whole,
            zip_key(zip_code, keys))


def _name(row: Mapping[str, str]) -> tuple[str, str, str]:
    """(first, middle, last): the name columns, or the one whole-name column split; a single word is a surname."""
    if row.get("last_name"):
        return row.get("first_name", ""), row.get("middle_name", ""), row["last_name"]
    whole = row.get("name", "")
    if not whole:
        return "", "", ""
    if len(whole.replace(",", " ").split()) == 1:
        return "", "", whole.strip(" ,")
    parsed = parse_name(whole)
    return parsed.first, parsed.middle, parsed.last


def _birth_year(value: str, line: int, problems: list[stored.Problem]) -> int | None:
    if not value:
        return None
    found = _YEAR.search(value)
    if found is None:
        problems.append(stored.Problem(line, False, f"birth year {value!r} is not a year; imported without it"))
        return None
    return int(found[1])


def _text(value: object, field: str = "") -> str:
    """A cell as text. XLSX numbers come back as int or float: an int keeps its digits, and a zip stored as a
    number (its leading zeros lost in the spreadsheet already) is padded back to 5 digits, or 9 for ZIP+4."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if field == "zip" and 0 <= value < 10**9:
            return f"{value:05d}" if value < 10**5 else f"{value:09d}"
        return str(value)
    return " ".join(str(value).split())


class _Source:
    """The rows of a CSV or XLSX file, (line number, values) each, the header first; and how much is read."""

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
            raise VoterFileError(f"{path.name}: a voter file must be .csv or .xlsx (save it as one from the spreadsheet)")
        self.path = path
        self._raw: io.BufferedReader | None = None
        self._size = max(path.stat().st_size, 1) if path.exists() else 1
        self.rows = _xlsx_rows(path) if suffix.startswith(".xls") else self._csv_rows()

    def share_read(self) -> float:
        """How much of a CSV file has been read (0..1); 0 for XLSX, whose rows are counted instead."""
        raw = self._raw
        return 0.0 if raw is None or raw.closed else min(1.0, raw.tell() / self._size)

    def _csv_rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        try:
            raw = self._raw = self.path.open("rb")
        except OSError as exc:
            raise VoterFileError(f"cannot open {self.path}: {exc.strerror}") from exc
        head = raw.read(1 << 16)
        raw.seek(0)
        encoding = _encoding(head)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="replace")
        first_line = head.decode(encoding, errors="replace").split("\n", 1)[0]
        try:
            dialect = csv.Sniffer().sniff(first_line or ",", delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(text, dialect)
        try:
            for values in reader:
                if values:
                    yield reader.line_num, values
        except csv.Error as exc:
            raise VoterFileError(f"{self.path.name} line {reader.line_num}: {exc}; fix the quoting there and"
                                 " import again") from exc
        finally:
            raw.close()


def _encoding(head: bytes) -> str:
    """UTF-8 (with or without its BOM) when the start of the file decodes as such; Windows-1252 otherwise."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp1252"
    return "utf-8-sig"


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Sequence[object]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise VoterFileError(f"{path.name} is not a readable XLSX workbook ({type(exc).__name__})") from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(v is not None and str(v).strip() for v in values):
                yield number, values
    finally:
        book.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
