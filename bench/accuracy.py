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

from samples.render import write_eval_set  # noqa: E402

PETITION = Path(sys.executable).parent / "petition"


def evaluate(folder: Path, rows: Path, *, by: str) -> str:
    """Read the folder once, then score it overall and broken down."""
    subprocess.run([str(PETITION), "read", str(folder), "-o", str(rows), "--workers", "2"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = subprocess.run([str(PETITION), "eval", str(folder), "--rows", str(rows), "--by", by],
                          check=True, capture_output=True, text=True)
    pages = (rows.parent / "pages.csv").read_text(encoding="utf-8")
    failed = [line for line in pages.splitlines()[1:] if ",ok," not in line]
    note = "\n\nPages not read:\n" + "\n".join(f"    {line}" for line in failed) if failed else ""
    return done.stdout.rstrip() + note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-sheets", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "ACCURACY.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples = evaluate(ROOT / "samples" / "scans", work / "samples" / "rows.csv", by="file")
        write_eval_set(work / "evalset", args.eval_sheets, seed=7)
        larger = evaluate(work / "evalset", work / "evalset-rows" / "rows.csv", by="name_font")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        "# Accuracy", "",
        f"Written by `make eval` (bench/accuracy.py) on {stamp}; every figure below is `petition eval` output.",
        "Exact match ignores case, spacing and the period after an initial. Signature accuracy counts only",
        "automatic verdicts (lines not sent to review); auto-accept precision is the share of names not sent",
        "to review that are exactly right.", "",
        "## Committed samples (`samples/scans`, what `make demo` reads)", "", "```", samples, "```", "",
        f"## Rendered evaluation set ({args.eval_sheets} sheets: every layout and name font; skew up to ±12°,",
        "quarter turns, noise, blur, shadow, phone photos; 200 and 300 dpi; `samples/render.py --eval`)", "",
        "```", larger, "```", ""])
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
