"""Regenerate tests/e2e/expected_rows.csv from the current reader (review the diff before committing it).

    .venv/bin/python tests/e2e/update_expected.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANS = ROOT / "samples" / "scans"
EXPECTED = Path(__file__).resolve().parent / "expected_rows.csv"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.csv"
        # The same command the end-to-end test runs.
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "read", str(SCANS), "-o", str(rows)], cwd=ROOT,
                              check=False)
        if done.returncode not in (0, 3):
            print(f"petition read exited {done.returncode}", file=sys.stderr)
            return 1
        shutil.copyfile(rows, EXPECTED)
    print(f"wrote {EXPECTED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
