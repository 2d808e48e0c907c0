"""Rebuild the evaluation handwriting fonts in this folder from their Fontsource npm packages.

Not run by tests or `make`: the .woff files are committed. Needs `npm` and `fonttools` (any recent
version; e.g. `python -m venv /tmp/ft && /tmp/ft/bin/pip install fonttools`, then run with that python).

    python samples/fonts/eval/build_fonts.py [--work /tmp/fontfetch]

Fontsource splits each font by unicode range: `<name>-latin-400-normal.woff` holds Basic Latin and Latin-1
(A-Z, a-z, é è ç ñ ü ö ã ô Á ...), `-latin-ext-` holds Latin Extended (ă ł ş č ...) WITHOUT A-Z, and
`-vietnamese-` the Vietnamese precomposed letters (ễ ộ ...). So for each font this script merges the
regular-weight (400) latin, latin-ext and vietnamese subsets that exist into one file, keeps only the
characters names, addresses and e-mails need (subsetting), and writes `<name>.woff` here. A font with only a
latin subset, or whose copyright declares an OFL Reserved Font Name (a modified version would have to be
renamed), is copied unmodified from the package's latin file instead. It prints each
font's package version, license (package.json) and copyright (name table) for the README table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from samples.handwriting import EVAL_FONT_INFO  # noqa: E402

SUBSETS = ("latin", "latin-ext", "vietnamese")
# Basic Latin, Latin-1, Latin Extended-A/B, combining marks, Vietnamese precomposed, dashes and quotes.
KEEP = [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370), *range(0x1EA0, 0x1EFA),
        *range(0x2010, 0x2028)]
MAX_BYTES = 300_000


def fetch(package: str, work: Path) -> Path:
    """npm pack the package into work/ and unpack it; returns the package folder."""
    work.mkdir(parents=True, exist_ok=True)
    tgz = subprocess.run(["npm", "pack", "--silent", package], cwd=work, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    dest = work / tgz.removesuffix(".tgz")
    with tarfile.open(work / tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def _merge(parts: list[Path], out: Path) -> None:
    """Merge the subset files into one font and keep only the characters the samples need."""
    from fontTools import subset
    from fontTools.merge import Merger
    from fontTools.ttLib import TTFont

    font = Merger().merge([str(p) for p in parts])
    original = TTFont(str(parts[0]))["head"]  # the merger stamps "now": keep the font's own dates instead
    font["head"].created, font["head"].modified = original.created, original.modified
    options = subset.Options()
    # Glyphs are drawn one at a time, so contextual alternates and ligatures never apply: keep only
    # kerning and the features that place accents (this also keeps Playpen Sans under 300 KB).
    options.layout_features = ["kern", "ccmp", "locl", "mark", "mkmk"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=KEEP)
    subsetter.subset(font)
    font.flavor = "woff"
    font.recalcTimestamp = False  # reproducible bytes
    font.save(str(out))


def build(name: str, package_dir: Path) -> dict[str, object]:
    from fontTools.ttLib import TTFont

    meta = json.loads((package_dir / "package.json").read_text())
    parts = [package_dir / "files" / f"{name}-{sub}-400-normal.woff" for sub in SUBSETS]
    parts = [p for p in parts if p.exists()]
    out = HERE / f"{name}.woff"
    reserved = "Reserved Font Name" in str(TTFont(str(parts[0]))["name"].getDebugName(0))
    if len(parts) == 1 or reserved:
        # Nothing to merge, or an OFL Reserved Font Name (a modified font would have to be renamed):
        # ship Fontsource's latin file as it is.
        parts = parts[:1]
        shutil.copyfile(parts[0], out)
    else:
        _merge(parts, out)
    font = TTFont(str(out))
    cmap = font.getBestCmap()
    copyright_ = " ".join(str(font["name"].getDebugName(0)).split())
    missing = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@/#.-'" if ord(c) not in cmap]
    if missing:
        raise SystemExit(f"{name}: lacks basic glyphs {''.join(missing)}")
    size = out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{name}: {size} bytes is over the {MAX_BYTES} limit")
    return {"file": out.name, "package": f"{meta['name']}@{meta['version']}", "license": meta.get("license"),
            "copyright": copyright_, "subsets": [p.name.split(f"{name}-")[1].removesuffix("-400-normal.woff")
                                                 for p in parts],
            "bytes": size, "non_ascii_letters": sum(1 for cp in cmap if cp > 0x7F and chr(cp).isalpha())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fontfetch"))
    args = parser.parse_args()
    for name, info in EVAL_FONT_INFO.items():
        package_dir = fetch(f"@fontsource/{name}", args.work)
        license_ = json.loads((package_dir / "package.json").read_text()).get("license")
        if license_ not in ("OFL-1.1", "Apache-2.0"):
            raise SystemExit(f"{name}: license {license_!r} is not OFL-1.1 or Apache-2.0")
        print(json.dumps({"name": name, "split": info.split, "style": info.style, **build(name, package_dir)},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
