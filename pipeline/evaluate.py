"""Accuracy against the samples' ground truth (truth.json beside the scans)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SIGNATURE_STATUSES = {"signed", "signature_only"}
UNSEEN_NAME_STATUSES = ("blank", "signature_only")  # a written name on such a line was not seen as writing
WRITTEN_STATUSES = ("signed", "name_only", "signature_only", "struck")  # what a blank line must never be called


@dataclass(frozen=True)
class Scores:
    truth_lines: int
    lines_found: int
    spurious_lines: int
    automatic_lines: int
    signature_correct_automatic: int
    status_correct_automatic: int
    review_rate: float
    review_rate_plain: float  # among lines truly signed or blank: what a sheet of ordinary lines costs
    names_in_truth: int
    names_seen: int  # written names whose line did not come out blank or signature-only
    names_exact: int
    names_exact_unaccented: int  # exact once accents are set aside: how much of the rest is accents alone
    name_cer: float
    names_auto_accepted: int
    names_auto_accepted_exact: int
    # Lines with nothing written (blank copies, unused lines): printed labels, rules and specks must stay blank.
    blank_lines: int = 0
    blank_kept_blank: int = 0
    blank_called_written: int = 0  # called signed/name-only/signature-only/struck, or given a name
    blank_called_written_silently: int = 0  # ... and not sent to review: the failure that costs a petition
    # Per other handwritten field: (field, values read exactly, values written) over the signers' lines.
    fields_exact: tuple[tuple[str, int, int], ...] = ()

    @property
    def signature_accuracy(self) -> float:
        return self.signature_correct_automatic / max(self.automatic_lines, 1)

    @property
    def status_accuracy(self) -> float:
        return self.status_correct_automatic / max(self.automatic_lines, 1)

    @property
    def name_seen_rate(self) -> float:
        return self.names_seen / max(self.names_in_truth, 1)

    @property
    def name_exact_rate(self) -> float:
        return self.names_exact / max(self.names_in_truth, 1)

    @property
    def name_exact_unaccented_rate(self) -> float:
        return self.names_exact_unaccented / max(self.names_in_truth, 1)

    @property
    def auto_accept_precision(self) -> float:
        return self.names_auto_accepted_exact / max(self.names_auto_accepted, 1)

    @property
    def auto_accept_coverage(self) -> float:
        return self.names_auto_accepted / max(self.names_in_truth, 1)


def truth_frame(truth_path: Path) -> pd.DataFrame:
    """truth.json flattened to one row per physical line."""
    data = json.loads(truth_path.read_text(encoding="utf-8"))
    records = []
    for file_name, entry in data["files"].items():
        for page in entry["pages"]:
            for line in page["lines"]:
                records.append({"file": file_name, "page": int(page["page"]), "line": int(line["line"]),
                                "truth_status": line["status"], "truth_name": line["name"],
                                "truth_fields": line.get("fields", {}),
                                "layout": page.get("layout", ""), "name_font": page.get("name_font", ""),
                                "name_style": page.get("name_style", "")})
    return pd.DataFrame.from_records(records)


def same_name(read: str, truth: str) -> bool:
    """Exact match up to case, spacing and the period after an initial ("T." = "T"): what a roster needs."""
    return _canonical(read) == _canonical(truth)


def same_name_unaccented(read: str, truth: str) -> bool:
    """same_name with accents set aside ("Jose" = "José"): not what a roster needs, but it tells how many
    misses are accents alone (at 200 dpi a handwritten accent is a few pixels)."""
    return _unaccented(_canonical(read)) == _unaccented(_canonical(truth))


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _canonical(name: str) -> str:
    return " ".join(str(name).replace(".", " ").split()).casefold()


def char_error_rate(read: str, truth: str) -> float:
    """Levenshtein distance over the truth's length (case-insensitive)."""
    a, b = " ".join(str(read).split()).casefold(), " ".join(str(truth).split()).casefold()
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(len(b), 1)


def score(rows: pd.DataFrame, truth: pd.DataFrame) -> Scores:
    """Compare a rows.csv frame with the truth frame."""
    keys = ["file", "page", "line"]
    rows = rows.astype({"page": int, "line": int})
    found = _found(rows, truth)
    spurious = len(rows.merge(truth[keys], on=keys, how="left", indicator=True).query("_merge == 'left_only'"))
    automatic = found[~found["needs_review"]]
    plain = found[found["truth_status"].isin(("signed", "blank"))]
    sig_ok = automatic["status"].isin(SIGNATURE_STATUSES) == automatic["truth_status"].isin(SIGNATURE_STATUSES)
    named = _named(found)
    exact = [same_name(r, t) for r, t in zip(named["name"], named["truth_name"])]
    unaccented = [same_name_unaccented(r, t) for r, t in zip(named["name"], named["truth_name"])]
    cer = [char_error_rate(r, t) for r, t in zip(named["name"], named["truth_name"])]
    accepted = _accepted(named)
    accepted_exact = sum(same_name(r, t) for r, t in zip(accepted["name"], accepted["truth_name"]))
    blank = found[found["truth_status"] == "blank"]
    written = blank[blank["status"].isin(WRITTEN_STATUSES) | (blank["name"] != "")]
    return Scores(
        truth_lines=len(truth), lines_found=len(found), spurious_lines=spurious, automatic_lines=len(automatic),
        signature_correct_automatic=int(sig_ok.sum()),
        status_correct_automatic=int((automatic["status"] == automatic["truth_status"]).sum()),
        review_rate=float(found["needs_review"].mean()) if len(found) else 0.0,
        review_rate_plain=float(plain["needs_review"].mean()) if len(plain) else 0.0,
        names_in_truth=len(named), names_seen=int((~named["status"].isin(UNSEEN_NAME_STATUSES)).sum()),
        names_exact=int(sum(exact)), names_exact_unaccented=int(sum(unaccented)),
        name_cer=float(sum(cer) / max(len(cer), 1)),
        names_auto_accepted=len(accepted), names_auto_accepted_exact=int(accepted_exact),
        blank_lines=len(blank), blank_kept_blank=int((blank["status"] == "blank").sum()),
        blank_called_written=len(written), blank_called_written_silently=int((~written["needs_review"]).sum()),
        fields_exact=fields_exact(found),
    )


SCORED_FIELDS = ("address", "zip", "date", "email")


def fields_exact(found: pd.DataFrame) -> tuple[tuple[str, int, int], ...]:
    """Per field, how many of the values written on the signers' lines (not struck, truth not empty) were read
    exactly, case and spacing aside: a zip that lost its leading zero is wrong."""
    if "truth_fields" not in found.columns:
        return ()
    signers = found[found["truth_status"] != "struck"]
    out = []
    for field in SCORED_FIELDS:
        read = signers[field].fillna("").astype(str) if field in signers.columns else pd.Series("", index=signers.index)
        pairs = [(r, t[field]) for r, t in zip(read, signers["truth_fields"]) if isinstance(t, dict) and t.get(field)]
        if pairs:
            out.append((field, sum(_same_field(r, t) for r, t in pairs), len(pairs)))
    return tuple(out)


def _same_field(read: str, truth: str) -> bool:
    return " ".join(read.split()).casefold() == " ".join(str(truth).split()).casefold()


def _found(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The truth's lines the machine found, with its reading beside them (needs_review as bool, name as text)."""
    merged = truth.merge(rows, on=["file", "page", "line"], how="left", indicator=True)
    found = merged[merged["_merge"] == "both"].copy()
    found["needs_review"] = found["needs_review"].astype(str).str.lower() == "true"
    found["name"] = found["name"].fillna("").astype(str)
    return found


def _named(found: pd.DataFrame) -> pd.DataFrame:
    """Lines whose truth holds a signer's name (a struck line's name is no signer's)."""
    return found[(found["truth_name"] != "") & (found["truth_status"] != "struck")]


def _accepted(named: pd.DataFrame) -> pd.DataFrame:
    """Names the machine read and accepted without review."""
    return named[(~named["needs_review"]) & (named["name"] != "")]


def report(scores: Scores) -> str:
    """The figures `petition eval` prints."""
    s = scores
    return "\n".join([
        f"lines found               {s.lines_found}/{s.truth_lines} ({s.lines_found / max(s.truth_lines, 1):.1%})",
        f"spurious lines            {s.spurious_lines}",
        f"signature accuracy (auto) {s.signature_accuracy:.2%} of {s.automatic_lines} automatic lines",
        f"status accuracy (auto)    {s.status_accuracy:.2%}",
        f"review rate               {s.review_rate:.1%}",
        f"review rate, signed/blank {s.review_rate_plain:.1%} (name-only, signature-only and struck lines always go)",
        f"name seen as writing      {s.name_seen_rate:.1%} ({s.names_seen}/{s.names_in_truth})",
        f"name exact match          {s.name_exact_rate:.1%} ({s.names_exact}/{s.names_in_truth})",
        f"name exact, accents aside {s.name_exact_unaccented_rate:.1%} ({s.names_exact_unaccented}/{s.names_in_truth})",
        f"name character error rate {s.name_cer:.3f}",
        f"auto-accept precision     {s.auto_accept_precision:.1%} ({s.names_auto_accepted_exact}/{s.names_auto_accepted})",
        f"auto-accept coverage      {s.auto_accept_coverage:.1%} of names",
        f"blank lines kept blank    {s.blank_kept_blank / max(s.blank_lines, 1):.1%} ({s.blank_kept_blank}/{s.blank_lines}); "
        f"called written {s.blank_called_written}, silently {s.blank_called_written_silently}",
        *(["fields exact              " + ", ".join(f"{field} {exact / total:.1%} ({exact}/{total})"
                                                    for field, exact, total in s.fields_exact)] if s.fields_exact else []),
    ])


def accepted_misses(rows: pd.DataFrame, truth: pd.DataFrame) -> str:
    """Every name accepted without review that is not exactly right, with where it is and its confidence: a
    wrong name silently accepted is the worst failure, and each one is worth looking at ("" when none)."""
    accepted = _accepted(_named(_found(rows.astype({"page": int, "line": int}), truth)))
    wrong = accepted[[not same_name(r, t) for r, t in zip(accepted["name"], accepted["truth_name"])]]
    if wrong.empty:
        return ""
    lines = [f"names accepted without review but wrong ({len(wrong)} of {len(accepted)} accepted)"]
    for r in wrong.sort_values(["file", "page", "line"]).itertuples():
        lines.append(f"  {r.file} page {r.page} line {r.line}: read {r.name!r}, truth {r.truth_name!r}, "
                     f"confidence {float(r.name_confidence):.3f}")
    return "\n".join(lines)


RELIABILITY_BINS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)


def reliability(rows: pd.DataFrame, truth: pd.DataFrame) -> str:
    """Name confidence against how often the name was exactly right, per confidence bin; expected calibration
    error (ECE, count-weighted |predicted - observed|) and the Brier score. Names the machine read only."""
    keys = ["file", "page", "line"]
    merged = truth.merge(rows.astype({"page": int, "line": int}), on=keys, how="inner")
    named = merged[(merged["truth_name"] != "") & (merged["name"].fillna("").astype(str) != "")]
    if named.empty:
        return "calibration: no names read"
    predicted = named["name_confidence"].astype(float).to_numpy()
    observed = [same_name(r, t) for r, t in zip(named["name"], named["truth_name"])]
    out = ["name confidence calibration (predicted vs observed exact)",
           "bin          names  predicted  observed"]
    ece = 0.0
    for low, high in zip(RELIABILITY_BINS, RELIABILITY_BINS[1:]):
        inside = [(p, o) for p, o in zip(predicted, observed) if low <= p < high]
        if not inside:
            continue
        mean_p = sum(p for p, _ in inside) / len(inside)
        mean_o = sum(o for _, o in inside) / len(inside)
        ece += len(inside) * abs(mean_p - mean_o)
        out.append(f"{low:.2f}-{min(high, 1.0):.2f}  {len(inside):6d}  {mean_p:9.3f}  {mean_o:8.3f}")
    brier = sum((p - o) ** 2 for p, o in zip(predicted, observed)) / len(predicted)
    out.append(f"ECE {ece / len(predicted):.3f}  Brier {brier:.3f}  ({len(predicted)} names read)")
    return "\n".join(out)
