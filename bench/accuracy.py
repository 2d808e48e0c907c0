"""Write ACCURACY.md: `petition eval` on the committed samples and on a larger rendered evaluation set.

Every figure in the file is printed by `petition eval` in this run; nothing is typed by hand.
Usage: python bench/accuracy.py [--eval-sheets N] [--out ACCURACY.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from samples.handwriting import EVAL_FONTS, write_handwriting_eval_set  # noqa: E402
from samples.render import write_eval_set  # noqa: E402

PETITION = Path(sys.executable).parent / "petition"


def evaluate(folder: Path, rows: Path, *, by: str, recognizer: str = "pp-ocr", form: Path | None = None) -> str:
    """Read the folder once with one recognizer, then score it overall, broken down, and its calibration."""
    subprocess.run([str(PETITION), "read", str(folder), "-o", str(rows), "--workers", "2", "--recognizer", recognizer,
                    *(["--form", str(form)] if form else [])],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = subprocess.run([str(PETITION), "eval", str(folder), "--rows", str(rows), "--by", by],
                          check=True, capture_output=True, text=True)
    pages = (rows.parent / "pages.csv").read_text(encoding="utf-8")
    failed = [line for line in pages.splitlines()[1:] if ",ok," not in line]
    note = "\n\nPages not read:\n" + "\n".join(f"    {line}" for line in failed) if failed else ""
    return done.stdout.rstrip() + note


def side_by_side(folder: Path, work: Path, *, by: str) -> list[str]:
    """The same sheets read by both recognizers, one block each."""
    out = []
    for recognizer in ("pp-ocr", "tesseract"):
        figures = evaluate(folder, work / f"{folder.name}-{recognizer}" / "rows.csv", by=by, recognizer=recognizer)
        out += [f"### Recognizer: {recognizer}", "", "```", figures, "```", ""]
    return out


def city_form(work: Path, sheets: int) -> list[str]:
    """The government-style city form, read as a new user would first (auto layout) and then with its form file:
    the sheet's true cells and its blank sheet (`samples.city_form.form_file`), as a corrected `form detect`
    gives."""
    from samples import city_form as city

    folder = work / "city"
    city.write_city_set(folder, sheets, seed=31)
    form, _ = city.write_form_file(work / "city-form.toml")
    out = []
    for label, used in (("automatic layout, no form", None), ("with its form file and blank sheet", form)):
        figures = evaluate(folder, work / f"city-{'form' if used else 'auto'}" / "rows.csv", by="", form=used)
        out += [f"### {label}", "", "```", figures, "```", ""]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-sheets", type=int, default=42)
    parser.add_argument("--test-sheets", type=int, default=60)
    parser.add_argument("--repeat-sheets", type=int, default=36)
    parser.add_argument("--city-sheets", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "ACCURACY.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples = side_by_side(ROOT / "samples" / "scans", work, by="file")
        write_handwriting_eval_set(work / "test-fonts", args.test_sheets, split="test", seed=23)
        held_out = side_by_side(work / "test-fonts", work, by="name_font")
        write_handwriting_eval_set(work / "test-repeats", args.repeat_sheets, split="test", seed=29, repeat_share=0.3)
        repeats = side_by_side(work / "test-repeats", work, by="")
        write_eval_set(work / "evalset", args.eval_sheets, seed=7)
        own_fonts = side_by_side(work / "evalset", work, by="name_font")
        city = city_form(work, args.city_sheets)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    test_fonts = ", ".join(EVAL_FONTS["test"])
    calibration_fonts = ", ".join(EVAL_FONTS["calibration"])
    text = "\n".join([
        "# Accuracy", "",
        f"Written by `make eval` (bench/accuracy.py) on {stamp}; every figure below is `petition eval` output.",
        "Exact match ignores case, spacing and the period after an initial (accents count). Signature accuracy",
        "counts only automatic verdicts (lines not sent to review); auto-accept precision is the share of names",
        "not sent to review that are exactly right. Each set is read by both recognizers in the same run: the",
        "PP-OCR handwriting recognizer (default) and the first version's Tesseract reader (`--recognizer tesseract`).",
        "The calibration table bins names by the confidence the reader gave them and shows how often names in",
        "each bin were exactly right (ECE: count-weighted gap between the two; Brier: mean squared error).", "",
        f"## Held-out handwriting fonts ({args.test_sheets} sheets; `samples/handwriting.py`, test split)", "",
        f"Fonts never used to fit the confidence or tune the reader: {test_fonts}. The confidence",
        f"(`scanner/calibration.json`) was fit by `make calibrate` on other fonts: {calibration_fonts}.",
        "Letter-level jitter, slant, stroke width, baseline wobble, spaced capitals, pale ballpoint, names of many",
        "origins; every layout, skew, quarter turns, noise, blur, shadow, phone photos, 200 and 300 dpi.", "",
        *held_out,
        f"## Repeat signers in the test fonts ({args.repeat_sheets} sheets, about 30% of signed lines are people who",
        "signed an earlier sheet: same name, other case, middle initial added or dropped, or a short form of the",
        "given name, each time in that sheet's hand). The roster line scores the deduplicated roster built from",
        "the machine's reading alone (no human decisions), pairwise over occurrences.", "",
        *repeats,
        "## Committed samples (`samples/scans`, what `make demo` reads)", "", *samples,
        f"## The project's own fonts ({args.eval_sheets} sheets: every layout and the samples' name fonts; skew up",
        "to ±12°, quarter turns, noise, blur, shadow, phone photos; 200 and 300 dpi; `samples/render.py --eval`)", "",
        *own_fonts,
        f"## A government-style city petition ({args.city_sheets} sheets, `samples/city_form.py`: two of every five "
        "blank copies; 200-dpi grey JPEG scans, skewed, struck lines, one phone photo)", "",
        "Five lines a sheet, the left cell split into SIGNATURE and ADDRESS sub-rows, \"PRINTED NAME OF SIGNER\"",
        "printed in every name cell, a summary box above and an affidavit below. The pp-ocr recognizer.", "",
        *city])
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
