"""Roster deduplication at scale: time, peak memory and pairwise accuracy on synthetic rosters with known truth.

Usage: python bench/bench_dedupe.py [--sizes 10000,100000,1000000] [--out BENCHMARKS.md]
Each size runs in a fresh subprocess (this script with --child SIZE) so peak RSS belongs to that size alone.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sections import write_section  # noqa: E402

GOAL_SIZE, GOAL_SECONDS, GOAL_RSS_MB, GOAL_F1 = 1_000_000, 120.0, 4096.0, 0.98
SEED = 20261128
DUPLICATE_SHARE = 0.15  # records that are a further signature of someone already on the roster
COMMON_SURNAME_SHARE = 0.01  # one surname (Smith) holds 1% of everyone: the blocking stress case
ZIP_POOL = 5000
# One OCR-like slip: confusions ocr_fold() undoes, and others it does not (e→c, a→o, n→h, u→v, t→f, h→b).
OCR_SLIPS = (("o", "0"), ("l", "1"), ("s", "5"), ("b", "8"), ("m", "rn"), ("w", "vv"), ("i", "l"),
             ("e", "c"), ("a", "o"), ("n", "h"), ("u", "v"), ("t", "f"), ("h", "b"))
ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü", "n": "ñ", "c": "ç"}


@dataclass(frozen=True)
class Base:
    """One distinct person of the synthetic population."""

    first: str
    middle: str  # an initial or ""
    last: str
    zip: str
    email: str


# ---- generator ----

def _pools() -> tuple[list[str], list[str], list[str]]:
    """(census first names, international first names, census last names), Title Case, sorted."""
    census = Path(importlib.util.find_spec("names").origin).parent
    def read(name: str) -> list[str]:
        return [line.split()[0].title() for line in (census / name).read_text().splitlines() if line]

    firsts = sorted(set(read("dist.female.first") + read("dist.male.first")))
    lasts = sorted(set(read("dist.all.last")) - {"Smith"})
    michael = Path(importlib.util.find_spec("gender_guesser").origin).parent / "data" / "nam_dict.txt"
    world: set[str] = set()
    for line in michael.read_text(encoding="iso-8859-1").splitlines():
        name = line[3:29].strip()
        if not line.startswith("#") and re.fullmatch(r"[A-Z][a-z]{2,}", name):
            world.add(name)
    return firsts, sorted(world - set(firsts)), lasts


def population(n: int, rng: random.Random) -> list[Base]:
    """n distinct-ish people: names from large pools, 1% Smith, a zip each, an email for 40%."""
    firsts, world, lasts = _pools()
    people = []
    for k in range(n):
        first = rng.choice(firsts) if rng.random() < 0.6 else rng.choice(world)
        last = "Smith" if rng.random() < COMMON_SURNAME_SHARE else rng.choice(lasts)
        if rng.random() < 0.05:  # accented spellings, written either way on different sheets
            first, last = _accent(first, rng), _accent(last, rng)
        middle = chr(rng.randrange(65, 91)) if rng.random() < 0.3 else ""
        email = f"{_ascii(first)}.{_ascii(last)}{k}@example.org".lower() if rng.random() < 0.4 else ""
        people.append(Base(first, middle, last, f"{rng.randrange(ZIP_POOL) * 19 + 10001:05d}", email))
    return people


def _accent(word: str, rng: random.Random) -> str:
    spots = [k for k, c in enumerate(word) if c in ACCENTS]
    if not spots:
        return word
    k = rng.choice(spots)
    return word[:k] + ACCENTS[word[k]] + word[k + 1:]


def _ascii(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def roster(size: int, *, seed: int = SEED) -> tuple[list[tuple[str, str, str, str]], list[int]]:
    """(written name, zip, email, id) per record and the true person index of each record."""
    from nicknames import NickNamer

    rng = random.Random(seed)
    bases = population(round(size / (1 + DUPLICATE_SHARE)), rng)
    truth = list(range(len(bases))) + [rng.randrange(len(bases)) for _ in range(size - len(bases))]
    rng.shuffle(truth)
    seen: set[int] = set()
    namer = NickNamer()
    records = []
    for k, who in enumerate(truth):
        base = bases[who]
        written = _variant(base, rng, namer) if who in seen else _original(base, rng)
        seen.add(who)
        zip_code = base.zip if rng.random() < 0.85 else ""
        email = base.email if rng.random() < 0.7 else ""
        records.append((written, zip_code, email, f"{k:08d}"))
    return records, truth


def _original(base: Base, rng: random.Random) -> str:
    text = " ".join(p for p in (base.first, base.middle + "." if base.middle else "", base.last) if p)
    return text.upper() if rng.random() < 0.2 else text  # hand-printed capitals


def _variant(base: Base, rng: random.Random, namer) -> str:
    """The same person written differently: one or two of case, accents, nickname, middle, OCR slip, order."""
    first, middle, last = base.first, base.middle, base.last
    comma, case = False, None
    for change in rng.sample(("case", "accent", "nickname", "middle", "ocr", "order"), rng.choice((1, 1, 2))):
        if change == "case":
            case = rng.choice((str.upper, str.lower))
        elif change == "accent":
            first, last = (_ascii(first), _ascii(last)) if _ascii(first + last) != first + last else \
                (_accent(first, rng), _accent(last, rng))
        elif change == "nickname":
            nicks = sorted(namer.nicknames_of(first.lower()))
            first = rng.choice(nicks).title() if nicks else first
        elif change == "middle":
            middle = "" if middle else chr(rng.randrange(65, 91))
        elif change == "ocr":
            first, last = (_slip(first, rng), last) if rng.random() < 0.5 else (first, _slip(last, rng))
        else:
            comma = True
    middle = middle + "." if middle else ""
    text = f"{last}, {first} {middle}".strip() if comma else " ".join(p for p in (first, middle, last) if p)
    return case(text) if case else text


def _slip(word: str, rng: random.Random) -> str:
    slips = [(k, new) for k, c in enumerate(word.lower()) for old, new in OCR_SLIPS if c == old]
    if not slips:
        return word
    k, new = rng.choice(slips)
    return word[:k] + (new if word[k].islower() or not new.isalpha() else new.upper()) + word[k + 1:]


# ---- child side: one size in a fresh process, prints one JSON line ----

def child(size: int) -> dict:
    from pipeline.dedupe import Person, dedupe
    from pipeline.names import parse_name

    records, truth = roster(size)
    started = time.perf_counter()
    people = [Person(rid, parse_name(text), zip_code, email) for text, zip_code, email, rid in records]
    parsed = time.perf_counter()
    result = dedupe(people)
    done = time.perf_counter()
    precision, recall, f1 = pairwise_scores(result.clusters, {r[3]: t for r, t in zip(records, truth)})
    return {"size": size, "parse_s": parsed - started, "dedupe_s": done - parsed, "total_s": done - started,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "comparisons": result.comparisons,
            "clusters": len(result.clusters), "people": len(set(truth)), "possible": len(result.possible),
            "precision": precision, "recall": recall, "f1": f1}


def pairwise_scores(clusters, truth: dict[str, int]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of predicted clusters against the generator's true people."""
    pairs = lambda counts: sum(c * (c - 1) // 2 for c in counts)  # noqa: E731
    joint: dict[tuple[int, int], int] = {}
    true_sizes: dict[int, int] = {}
    for k, cluster in enumerate(clusters):
        for rid in cluster:
            joint[k, truth[rid]] = joint.get((k, truth[rid]), 0) + 1
    for person in truth.values():
        true_sizes[person] = true_sizes.get(person, 0) + 1
    hits, predicted, actual = pairs(joint.values()), pairs(len(c) for c in clusters), pairs(true_sizes.values())
    precision = hits / predicted if predicted else 1.0
    recall = hits / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ---- parent side ----

def measure(size: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(size)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"size {size} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> str:
    table = ["| records | people | parse s | dedupe s | total s | peak RSS MB | comparisons | precision | recall "
             "| F1 | possible pairs |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        table.append(f"| {r['size']:,} | {r['people']:,} | {r['parse_s']:.1f} | {r['dedupe_s']:.1f} "
                     f"| {r['total_s']:.1f} | {r['rss_mb']:.0f} | {r['comparisons']:,} | {r['precision']:.4f} "
                     f"| {r['recall']:.4f} | {r['f1']:.4f} | {r['possible']:,} |")
    big = next((r for r in rows if r["size"] == GOAL_SIZE), None)
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    if big is None:
        goals = [f"- (goals are judged at {GOAL_SIZE:,} records, which this run did not include)"]
    else:
        goals = [f"- {GOAL_SIZE:,} records in under {GOAL_SECONDS:.0f} s (parse + dedupe): {big['total_s']:.1f} s → "
                 f"{verdict(big['total_s'] < GOAL_SECONDS)}",
                 f"- peak RSS under {GOAL_RSS_MB:.0f} MB: {big['rss_mb']:.0f} MB → "
                 f"{verdict(big['rss_mb'] < GOAL_RSS_MB)}"]
    worst_f1 = min(r["f1"] for r in rows)
    goals.append(f"- pairwise F1 ≥ {GOAL_F1} at every size: {worst_f1:.4f} → {verdict(worst_f1 >= GOAL_F1)}")
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    facts = [f"- nproc: {len(os.sched_getaffinity(0))}", f"- CPU: {model}", f"- python: {platform.python_version()}",
             f"- load average (1 min, at end): {os.getloadavg()[0]:.2f}",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}"]
    notes = [f"- Rosters from a fixed seed ({SEED}): distinct people with first names drawn 60/40 from the US Census "
             "1990 lists (package `names`) and Jörg Michael's international list (package `gender-guesser`), last "
             f"names from the Census list with {COMMON_SURNAME_SHARE:.0%} Smith, 30% with a middle initial, 5% "
             f"accented, a zip from {ZIP_POOL:,}, an email for 40%.",
             f"- {DUPLICATE_SHARE:.0%} more records are further signatures of someone already drawn, written with one "
             "or two of: case change, accents added/dropped, a nickname, middle initial added/dropped, one OCR-like "
             "slip (some undone by ocr_fold, some not), \"Last, First\" order. Every record shows its zip with "
             "probability 0.85 and its person's email with 0.7.",
             "- parse = `parse_name` for every record; dedupe = `dedupe()`; generation is not timed. Peak RSS = "
             "ru_maxrss of the whole child process (generator data included). Comparisons = string-similarity "
             "evaluations while blocking. Precision/recall over pairs of records put in one cluster.",
             "- Default settings (same 0.95, possible 0.93), no human decisions, one core (workers=1)."]
    return "\n".join(["## Roster deduplication (bench/bench_dedupe.py)", "", *table, "", "Goals:", *goals, "",
                      "Machine:", *facts, "", *notes, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated roster sizes")
    parser.add_argument("--out", type=Path, help="write/replace the bench:dedupe section of this Markdown file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes must be comma-separated whole numbers, e.g. 10000,100000")
    if not sizes or min(sizes) < 2:
        parser.error("--sizes needs at least one size of 2 or more")
    rows = []
    for size in sizes:
        print(f"deduplicating {size:,} records…", file=sys.stderr, flush=True)
        rows.append(measure(size))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    body = report(rows)
    print(body)
    if args.out:
        write_section(args.out, body, name="dedupe")
    return 0


if __name__ == "__main__":
    sys.exit(main())
