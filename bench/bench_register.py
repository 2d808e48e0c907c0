"""What registering pages to a form's blank sheet costs: the layout stage with and without the blank sheet.

Both rows read the same rendered city-form pages (200-dpi grey JPEG scans, skewed, one phone photo) with the
same form (the renderer's true cells); the only difference is the form's `template`. Seconds are the layout
stage alone (`scanner.layout.find_layout`: leveling, registration, the form placed, labels dropped), page
decoding excluded, in one process with one thread. Goal: registration adds at most 0.1 s per page.

Usage: python bench/bench_register.py [--pages N] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sections import write_section  # noqa: E402

GOAL_SECONDS = 0.1


def _pages(folder: Path, count: int) -> list:
    from samples import city_form, render
    from scanner import ingest

    pages = []
    for seed in range(count):
        image, truth = city_form.render_city_sheet(seed=100 + seed, blank=seed % 3 == 1)
        options = dict(photo=True) if seed == count - 1 else dict(skew_deg=(-1) ** seed * (0.4 + seed % 4 * 0.5),
                                                                   noise=True)
        scanned, _ = render.degrade(image, truth, seed=seed, **options)
        path = folder / f"city_{seed:02d}.jpg"
        scanned.convert("L").save(path, quality=85)
        pages.append(ingest.load_page(ingest.page_refs(path, pdf_dpi=200)[0]))
    return pages


def _time(pages: list, form) -> list[float]:
    from scanner.layout import find_layout
    from scanner.ocr import default_engine
    from scanner.read import ReadSettings

    settings, engine, seconds = ReadSettings(), default_engine(), []
    for page in pages:
        started = time.perf_counter()
        found = find_layout(page, settings=settings, engine=engine, form=form)
        seconds.append(time.perf_counter() - started)
        if form.template is not None and not (found.registration and found.registration.ok):
            raise RuntimeError(f"{page.ref.file_name} did not register: {found.registration}")
    return seconds


def _registration_alone(pages: list, template_path: Path, form) -> list[float]:
    """register() and the labels carried onto the page and moved onto its print, on pages already leveled
    (what the blank sheet adds)."""
    from scanner.form import form_on_page, table_rows
    from scanner.grid import ruling_masks
    from scanner.normalize import level
    from scanner.register import labels_on_page, load_template, register

    template, seconds = load_template(template_path), []
    for page in pages:
        leveled = level(page)
        masks = ruling_masks(leveled.gray)
        ink = masks.ink > 0
        started = time.perf_counter()
        fit = register(leveled.gray, ink, template)
        placed = form_on_page(form, fit.homography, template.shape, leveled.gray.shape)
        labels_on_page(template, fit.homography, leveled.gray.shape, ink=masks.faint,
                       rows=table_rows(placed, leveled.gray.shape))
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(count: int) -> str:
    from samples import city_form

    with tempfile.TemporaryDirectory(prefix="bench_register_") as tmp:
        folder = Path(tmp)
        template = folder / "city.png"
        city_form.blank_form(200).save(template)
        registered = city_form.form_file(template)
        plain = replace(registered, template=None)
        pages = _pages(folder, count)
        _time(pages[:1], registered)  # the blank sheet is read and its features found once per process
        with_sheet, without = _time(pages, registered), _time(pages, plain)
        alone = _registration_alone(pages, template, registered)
    mean_added = statistics.mean(alone)
    rows = ["| layout stage | pages | mean s/page | median s/page | max s/page |", "| --- | ---: | ---: | ---: | ---: |"]
    for label, values in (("form without its blank sheet (snapped to the rules)", without),
                          ("form with its blank sheet (registered, labels dropped)", with_sheet),
                          ("registration alone (features, matching, fit, check, labels placed and moved onto the print)", alone)):
        rows.append(f"| {label} | {len(values)} | {statistics.mean(values):.3f} | {statistics.median(values):.3f} "
                    f"| {max(values):.3f} |")
    verdict = "**PASS**" if mean_added <= GOAL_SECONDS else "**FAIL**"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "## Registration to a form's blank sheet (bench/bench_register.py)", "", *rows, "",
        f"- registration adds at most {GOAL_SECONDS} s per page (mean of registration alone): "
        f"{mean_added:.3f} s → {verdict}", "",
        f"Pages: {count} rendered city-form sheets (`samples/city_form.py`; 200-dpi grey JPEG, skewed, noise, the "
        "last one a phone photo; a third of them blank copies). Both rows read the same pages with the same form; "
        "seconds are the layout stage alone, page decoding excluded, one process, OMP_THREAD_LIMIT=1. The blank "
        "sheet is loaded once per process (not timed, as a worker does it once for all its pages). The form "
        "without its blank sheet asks Tesseract's orientation check on every page (it has no grid to tell up from "
        "down); the registered form does not need it, which is why its whole stage is the faster one.", "",
        f"Machine: nproc {os.cpu_count()}, load average (1 min, at end) {os.getloadavg()[0]:.2f}, date {when}", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    body = measure(args.pages)
    print(body)
    if args.out:
        write_section(args.out, body, name="register")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
