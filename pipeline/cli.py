"""The `petition` command: a thin layer over the library (after sqlite-utils' cli.py over db.py).

Exit codes: 0 every page was read; 2 usage error; 3 some files or pages could not be read (the others are
in the output); 4 nothing could be read.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

EXIT_OK, EXIT_PARTIAL, EXIT_NOTHING = 0, 3, 4

app = typer.Typer(help="Read scanned petition signature sheets into verified per-line results.", no_args_is_help=True,
                  add_completion=False)
form_app = typer.Typer(help="Make and check form files (a sheet's layout, for when auto-detection is not enough).",
                       no_args_is_help=True)
app.add_typer(form_app, name="form")


@app.command()
def read(
    scans: Annotated[list[Path], typer.Argument(help="PDF, TIFF, JPEG or PNG files, or folders of them.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="rows.csv to write (pages.csv is written beside it).")] = Path("rows.csv"),
    form: Annotated[Optional[Path], typer.Option("--form", help="Form file (TOML) to use instead of auto-detection.")] = None,
    debug_dir: Annotated[Optional[Path], typer.Option("--debug-dir", help="Write overlay images of lines, cells and verdicts here.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Pages read in parallel (processes).")] = 1,
    dpi: Annotated[int, typer.Option("--dpi", min=72, max=600, help="Resolution PDFs are rendered at.")] = 200,
) -> None:
    """Read every line of every sheet: status, name, confidence, review reasons → rows.csv."""
    from pipeline.batch import ReadJob, read_paths
    from pipeline.rows import pages_frame, rows_frame, write_csv
    from scanner.form import load_form

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    job = ReadJob(form=load_form(form) if form else None, debug_dir=str(debug_dir) if debug_dir else None)
    report = read_paths(list(scans), job=job, workers=workers, pdf_dpi=dpi, progress=_progress)
    write_csv(rows_frame(report.pages), output)
    write_csv(pages_frame(report.pages), output.with_name("pages.csv"))
    typer.echo(summary(report.pages, output), err=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PARTIAL if report.any_ok else EXIT_NOTHING)


@form_app.command("detect")
def form_detect(
    blank_sheet: Annotated[Path, typer.Argument(help="A scan of one blank (unsigned) sheet.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Form file (TOML) to write.")] = Path("form.toml"),
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of the file holds the blank sheet.")] = 1,
) -> None:
    """Propose an editable form (TOML) from one blank sheet."""
    from pipeline.forms import detect_form
    from scanner.errors import SheetError

    try:
        text = detect_form(blank_sheet, page=page)
    except SheetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_NOTHING) from exc
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}: check the roles and boxes, then pass it as --form")


@app.command("eval")
def evaluate(
    samples: Annotated[Path, typer.Argument(help="Folder with scans and their truth.json.")] = Path("samples/scans"),
    rows: Annotated[Optional[Path], typer.Option("--rows", help="Score this rows.csv instead of reading the scans again.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    by: Annotated[str, typer.Option("--by", help="Also break figures down by: file, layout or name_font.")] = "",
) -> None:
    """Accuracy against ground truth: lines, signatures, review rate, names, auto-accept precision."""
    import pandas as pd

    from pipeline.batch import read_paths
    from pipeline.evaluate import report, score, truth_frame
    from pipeline.rows import rows_frame

    truth = truth_frame(samples / "truth.json")
    if rows is not None:
        frame = pd.read_csv(rows, keep_default_na=False, dtype=str)
    else:
        paths = sorted(samples / name for name in truth["file"].unique())
        frame = rows_frame(read_paths(paths, workers=workers, progress=_progress).pages)
    typer.echo(report(score(frame, truth)))
    if by:
        for key, part in truth.groupby(by):
            files = set(part["file"])
            typer.echo(f"\n[{by} = {key}]\n" + report(score(frame[frame["file"].isin(files)], part)))


def summary(pages, output: Path) -> str:
    """What a user reads at the end of a run: counts, review load, and every page that failed."""
    lines = [line for page in pages for line in page.lines]
    statuses = Counter(line.status.value for line in lines)
    review = sum(line.needs_review for line in lines)
    ok_pages = sum(p.status.value == "ok" for p in pages)
    out = [f"{ok_pages}/{len(pages)} pages read, {len(lines)} lines: "
           + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
           f"{review} lines need review; wrote {output}"]
    for page in pages:
        if page.status.value != "ok":
            out.append(f"  {page.status.value:10s} {page.message}")
    return "\n".join(out)


def _progress(result) -> None:
    if sys.stderr.isatty():
        where = f"{result.ref.file_name}:{result.ref.page}"
        sys.stderr.write(f"\r{where:40.40s} {result.status.value:10s}")
        sys.stderr.flush()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
