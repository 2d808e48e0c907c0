"""A synthetic voter file for a set of rendered sheets: the sheets' signers (from their truth.json), look-alike
decoys of each, some signers left out as not registered, and invented filler voters up to N records.

Everything is invented (render.py's and handwriting.py's name pools, random addresses); no real person's data.
Decoys are what makes matching hard: per signer, someone with the same surname and another first name, someone
whose name is one letter off (half of them by a letter the recognizer confuses: m/n, u/v, a/o, e/c, i/l), and
for about one registered signer in eight a namesake at another address and ward. Unregistered signers get the
look-alikes too (a matcher that takes the nearest name would match them), but no namesake: a sheet without an
address could not tell them from a registered namesake, nor could a board.

Beside the CSV, `<out>.truth.json` says who each sheet line is: {"lines": {"file|page|line": person},
"people": {person: voter_id or null}}.

    python samples/voter_file.py samples/scans/truth.json -o out/voters.csv [--records 50000] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.names import fold, parse_name  # noqa: E402
from samples import handwriting, render  # noqa: E402

COLUMNS = ("VOTER_ID", "LAST_NAME", "FIRST_NAME", "MIDDLE_NAME", "RES_ADDRESS", "RES_CITY", "ZIP", "WARD",
           "BIRTH_YEAR")
UNREGISTERED_SHARE = 0.15
NAMESAKE_SHARE = 0.125
WARDS = 9
CITIES = ("Riverton", "Lakeside", "Fairview", "Brookfield")
_CONFUSABLE = {"m": "n", "n": "m", "u": "v", "v": "u", "a": "o", "o": "a", "e": "c", "c": "e", "i": "l", "l": "i"}


@dataclass(frozen=True)
class Voter:
    first: str
    middle: str
    last: str
    address: str
    zip: str
    ward: str
    birth_year: int


def signers(truth: dict) -> tuple[dict[str, str], dict[str, tuple[str, dict]]]:
    """(line "file|page|line" -> person, person -> (name as first written, that line's fields)) of every line
    with a name; a person is truth's "person" id, else the folded first + last name."""
    lines: dict[str, str] = {}
    people: dict[str, tuple[str, dict]] = {}
    for file_name, entry in truth["files"].items():
        for page in entry["pages"]:
            for line in page["lines"]:
                if not line.get("name", "").strip():
                    continue
                parsed = parse_name(line["name"])
                person = line.get("person") or fold(f"{parsed.first} {parsed.last}")
                lines[f"{file_name}|{page['page']}|{line['line']}"] = person
                fields = {k: v for k, v in line.get("fields", {}).items() if v}
                known = people.get(person)
                # The name as first written; address and zip from whichever line shows them (a person keeps theirs
                # on every sheet; a sheet without those columns shows none).
                people[person] = (known[0], {**fields, **known[1]}) if known else (line["name"], fields)
    return lines, people


def is_registered(person: str, seed: int) -> bool:
    """About 85% of signers are on the file, chosen by a hash (the same people at any --records)."""
    digest = hashlib.sha256(f"{seed}:{person}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 >= UNREGISTERED_SHARE


def _address(rng: random.Random) -> str:
    return f"{rng.randint(1, 9999)} {rng.choice(render.STREETS)} {rng.choice(render.STREET_KINDS)}".upper()


def _zip(rng: random.Random) -> str:
    return f"{rng.choice((1, 2, 6, 7, 8, 10, 21, 30, 55, 60, 68, 90, 94)) * 1000 + rng.randint(0, 999):05d}"


def _invented(rng: random.Random, first: str = "", last: str = "") -> Voter:
    given, family, _, _ = handwriting.invent_name(rng)
    middle = rng.choice("ABCDEFGHJKLMNPRSTW") if rng.random() < 0.4 else ""
    return Voter((first or given).upper(), middle, (last or family).upper(), _address(rng), _zip(rng),
                 str(rng.randint(1, WARDS)), rng.randint(1936, 2007))


def _one_letter_off(rng: random.Random, word: str) -> str:
    letters = [i for i, c in enumerate(word.lower()) if c.isalpha()]
    if not letters:
        return word + "X"
    at = rng.choice(letters[1:] or letters)
    char = word[at].lower()
    swap = _CONFUSABLE.get(char) if rng.random() < 0.5 else None
    swap = swap or rng.choice([c for c in "abcdefghiklmnoprstuvy" if c != char])
    return word[:at] + swap.upper() + word[at + 1:]


def person_records(name: str, fields: dict, rng: random.Random, *, registered: bool) -> list[Voter]:
    """The signer (when registered) and their look-alike decoys."""
    parsed = parse_name(name)
    first, last = parsed.first.upper(), parsed.last.upper()
    middle = parsed.middle.strip(". ").upper()  # a whole middle name stays whole (Juan Carlos)
    zip_code = fields.get("zip") or _zip(rng)
    own = Voter(first, middle, last, (fields.get("address") or _address(rng)).upper(), zip_code,
                fields.get("ward") or str(rng.randint(1, WARDS)), rng.randint(1936, 2007))
    decoys = [_invented(rng, last=last)]
    if rng.random() < 0.5:
        off_last = _one_letter_off(rng, last)
        decoys.append(_invented(rng, first=first, last=off_last))
    else:
        decoys.append(_invented(rng, first=_one_letter_off(rng, first), last=last))
    if registered and rng.random() < NAMESAKE_SHARE:  # an unregistered signer's namesake would be a voter no
        decoys.append(_invented(rng, first=first, last=last))  # sheet without an address could tell apart
    return ([own] if registered else []) + decoys


def _whole(first: str, last: str) -> str:
    return fold(f"{first}{last}").replace(" ", "")


def _wholes(name: str) -> set[str]:
    """A signer's name run together, with and without the middle name: filler must have neither."""
    parsed = parse_name(name)
    return {_whole(parsed.first, parsed.last), _whole(parsed.first + parsed.middle, parsed.last)}


def voter_id(index: int) -> str:
    """Unique per index below 9,000,000, in no visible order (a multiplicative permutation)."""
    return f"{10_000_000 + (index * 7919 + 123457) % 9_000_000}"


def _rows(special: list[Voter], records: int, rng: random.Random, taken: set[str]) -> Iterator[Voter]:
    """Every special record once and filler up to `records`, specials at random places. Filler never has a
    signer's name (`taken`): a namesake of a signer is a decoy, with its own address and ward, or nobody."""
    total = max(records, len(special))
    places = set(rng.sample(range(total), len(special)))
    pending = iter(special)
    for index in range(total):
        if index in places:
            yield next(pending)
            continue
        filler = _invented(rng)
        while _whole(filler.first, filler.last) in taken:
            filler = _invented(rng)
        yield filler


def write_voter_file(truth_path: Path, out: Path, *, records: int = 0, seed: int = 1) -> dict[str, int]:
    """Write the CSV and its truth sidecar; counts of what was written."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    lines, people = signers(truth)
    rng = random.Random(f"voter-file:{seed}")
    special: list[Voter] = []
    assigned: dict[str, int | None] = {}
    for person in sorted(people):
        name, fields = people[person]
        registered = is_registered(person, seed)
        records_of = person_records(name, fields, rng, registered=registered)
        assigned[person] = len(special) if registered else None
        special += records_of
    rng.shuffle(order := list(range(len(special))))
    position = {k: i for i, k in enumerate(order)}
    shuffled = [special[k] for k in order]
    ids: dict[int, str] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        special_seen = 0
        taken = {_whole(v.first, v.last) for v in special} | {w for n, _ in people.values() for w in _wholes(n)}
        for index, voter in enumerate(_rows(shuffled, records, rng, taken)):
            if special_seen < len(shuffled) and voter is shuffled[special_seen]:
                ids[special_seen] = voter_id(index)
                special_seen += 1
            writer.writerow((voter_id(index), voter.last, voter.first, voter.middle, voter.address,
                             CITIES[int(voter.ward) % len(CITIES)], voter.zip, voter.ward, voter.birth_year))
    people_ids = {p: (ids[position[k]] if k is not None else None) for p, k in assigned.items()}
    sidecar = {"version": 1, "lines": lines, "people": people_ids}
    out.with_name(out.name + ".truth.json").write_text(json.dumps(sidecar, indent=1, sort_keys=True), encoding="utf-8")
    return {"records": index + 1, "signers": len(people), "registered": sum(v is not None for v in people_ids.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", type=Path, help="truth.json of the rendered sheets")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the voter CSV to write")
    parser.add_argument("--records", type=int, default=0, help="pad with invented voters up to this many rows")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    counts = write_voter_file(args.truth, args.out, records=args.records, seed=args.seed)
    print(f"wrote {args.out}: {counts['records']:,} voters; {counts['registered']} of the {counts['signers']}"
          " signers registered")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
