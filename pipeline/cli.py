"""The `petition` command: a thin layer over the library (after sqlite-utils' cli.py over db.py).

Exit codes (scanner.errors.ExitCode): 0 every page was read; 2 usage error, or a model or language file missing
from this machine; 3 some files or pages could not be read (the others are in the output); 4 nothing could be
read; 130 interrupted (`add`: run it again to continue). Only the command modules (cli*.py) exit: an error that stops a command
is printed as its one-line message and exits with its class's `exit_code`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pipeline import cli_voters
from pipeline.cli_common import DEFAULT_WORKSPACE, WorkspaceOption, exits_on_error, load_form, open_existing
from pipeline.cli_forms import form_app
from pipeline.cli_roster import roster_app
from pipeline.cli_voters import voters_app
from pipeline.job import ReadJob, limit_omp_threads
from scanner.errors import ExitCode

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL, EXIT_NOTHING = ExitCode.OK, ExitCode.USAGE, ExitCode.PARTIAL, ExitCode.NOTHING_READ
EXIT_INTERRUPTED = ExitCode.INTERRUPTED
RECOGNIZERS = ("pp-ocr", "tesseract")
RecognizerOption = Annotated[str, typer.Option(
    "--recognizer", help="What reads handwriting: pp-ocr (handwriting models, default) or tesseract (first version).")]

FormOption = Annotated[Optional[Path], typer.Option("--form", help="Form file (TOML) to use instead of auto-detection.")]
FormRefOption = Annotated[Optional[str], typer.Option("--form", help="Form file (TOML), or the name of a form stored"
                                                      " in the workspace (form add); an existing file wins.")]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, help="Pages read in parallel (processes).")]
ClusterOption = Annotated[Optional[str], typer.Option(
    "--cluster", envvar="PETITION_CLUSTER",
    help="Read the pages on a Dask cluster (tcp://HOST:PORT of a 'dask scheduler') instead of this machine's"
         " processes; --workers is then ignored. See README: Reading on several machines.")]
DpiOption = Annotated[int, typer.Option("--dpi", min=72, max=600, help="Resolution PDFs are rendered at.")]
TimeoutOption = Annotated[float, typer.Option("--page-timeout", min=0, help="Seconds a page may take (0: no limit).")]
AcceptOption = Annotated[Optional[float], typer.Option(
    "--accept-names-at", min=0.0, max=1.0,
    help="Accept a name without review when its confidence is at least this (default: the calibrated "
         "threshold, the lowest confidence whose names were >= 99% right on the calibration writers; 1 = never).")]

app = typer.Typer(help="Read scanned petition signature sheets into verified per-line results.", no_args_is_help=True,
                  add_completion=False)
app.add_typer(form_app, name="form")
app.add_typer(voters_app, name="voters")
app.add_typer(roster_app, name="roster")
app.command("match")(cli_voters.match)
app.command("report")(cli_voters.report)


@app.command()
def read(
    scans: Annotated[list[Path], typer.Argument(help="PDF, TIFF, JPEG or PNG files, or folders of them.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="rows.csv to write (pages.csv is written beside it).")] = Path("rows.csv"),
    form: FormOption = None,
    debug_dir: Annotated[Optional[Path], typer.Option("--debug-dir", help="Write overlay images of lines, cells and verdicts here.")] = None,
    workers: WorkersOption = ReadJob.workers,
    dpi: DpiOption = ReadJob.pdf_dpi,
    page_timeout: TimeoutOption = ReadJob.PAGE_TIMEOUT_S,
    recognizer: RecognizerOption = "pp-ocr",
    accept_names_at: AcceptOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Read every line of every sheet: status, name, confidence, review reasons → rows.csv."""
    from pipeline.batch import run
    from pipeline.sinks import CsvSink

    if cluster and debug_dir:  # overlays would be written on the machine that reads each page
        raise typer.BadParameter("--debug-dir works on this machine only; read without --cluster",
                                 param_hint="--debug-dir")
    limit_omp_threads()
    job = _job(ReadJob(debug_dir=str(debug_dir) if debug_dir else None, workers=workers, pdf_dpi=dpi),
               recognizer=recognizer, form=form, page_timeout_s=page_timeout, accept_name_confidence=accept_names_at)
    with _interruptible("nothing was written"), _executor(cluster) as executor:
        report = run(scans, job, CsvSink(), progress=_progress, executor=executor)
    if report.interrupted:
        _stop_interrupted("nothing was written")
    try:
        report.write(output)
    except OSError as exc:
        typer.echo(f"error: cannot write {output} ({exc.strerror}); choose another place with -o", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    typer.echo(summary(report.pages, output), err=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PARTIAL if report.any_ok else EXIT_NOTHING)


@app.command()
def add(
    scans: Annotated[list[Path], typer.Argument(help="PDF, TIFF, JPEG or PNG files, or folders of them.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    form: FormRefOption = None,
    workers: WorkersOption = ReadJob.workers,
    dpi: DpiOption = ReadJob.pdf_dpi,
    page_timeout: TimeoutOption = ReadJob.PAGE_TIMEOUT_S,
    recognizer: RecognizerOption = "pp-ocr",
    accept_names_at: AcceptOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Add scans to the campaign workspace; files already there (by content) are skipped, an interrupted
    run is finished by running the same command again."""
    from pipeline.add import WorkspaceSink
    from pipeline.batch import run
    from pipeline.match import match_if_loaded
    from pipeline.store import Workspace

    limit_omp_threads()
    job = _job(ReadJob(workers=workers, pdf_dpi=dpi), recognizer=recognizer, keep_crops=True,
               page_timeout_s=page_timeout, accept_name_confidence=accept_names_at)
    with exits_on_error():
        store = Workspace.open(workspace)
    job = replace(job, form=_form_file_or_name(form, store)) if form is not None else job
    # Ctrl-C after the pages were read (while files are settled): every saved page is kept all the same.
    with _interruptible(ADD_CONTINUES), closing(store), _executor(cluster) as executor, \
            _progress_bar(executor) as tick:
        report = run(scans, job, WorkspaceSink(store), progress=tick, executor=executor)
        matched = None if report.interrupted else match_if_loaded(store)  # a voter file is loaded: match too
    typer.echo(add_summary(report, workspace) + (f"\n{matched.headline()}" if matched else ""))
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_OK if report.all_read and report.files else EXIT_PARTIAL if report.any_read else EXIT_NOTHING)


ADD_CONTINUES = "every page read so far is saved; run the same command again to continue"


@contextmanager
def _interruptible(what_happened: str) -> Iterator[None]:
    """Ctrl-C outside the reading itself (which the report records): a plain line and 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        _stop_interrupted(what_happened)


def _stop_interrupted(what_happened: str) -> None:
    typer.echo(f"interrupted: {what_happened}")
    raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def status(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Pages, lines, signed, name-only, blank, struck, to review, duplicates."""
    from pipeline.status import format_status, workspace_status

    store = open_existing(workspace)
    try:
        typer.echo(format_status(workspace_status(store)))
    finally:
        store.close()


@app.command()
def export(
    what: Annotated[str, typer.Argument(help="rows (one per sheet line) or roster (one per signer).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.csv or FILE.xlsx")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    profile: Annotated[Optional[str], typer.Option("--profile", help="Shape a roster for actionnetwork, everyaction or nationbuilder.")] = None,
) -> None:
    """Export rows or the deduplicated roster (human decisions win) as CSV or XLSX."""
    from pipeline.export import PROFILES, effective_lines, rows_export, write_roster, write_table

    if what not in ("rows", "roster"):
        raise typer.BadParameter("choose rows or roster", param_hint="WHAT")
    if profile and (what != "roster" or profile not in PROFILES):
        raise typer.BadParameter(f"a profile shapes a roster; one of {', '.join(PROFILES)}", param_hint="--profile")
    store = open_existing(workspace)
    try:
        if what == "rows":
            frame = rows_export(effective_lines(store))
            write_table(frame, output)
            count = len(frame)
        else:  # streamed from the roster kept in the store (pipeline/roster.py)
            count = write_roster(store, output, profile=profile)
    finally:
        store.close()
    if profile:
        typer.echo("note: signers did not opt in to mail; some petitions (e.g. California ballot petitions) may not "
                   "be used for anything but qualification.", err=True)
    typer.echo(f"wrote {output}: {count} {'lines' if what == 'rows' else 'signers'}")


user_app = typer.Typer(help="Accounts for the review app (petition review).", no_args_is_help=True)
app.add_typer(user_app, name="user")


@app.command()
def review(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; keep 127.0.0.1 unless behind an HTTPS proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    allowed_host: Annotated[Optional[list[str]], typer.Option(
        "--allowed-host", help="A host name browsers use to reach the app (repeatable), e.g. review.example.org"
                               " behind a proxy; requests naming any other host get 400. 127.0.0.1, localhost"
                               " and [::1] are always allowed.")] = None,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark cookies Secure (sent over HTTPS only): set it when an HTTPS proxy serves the"
                                 " app; without HTTPS browsers would drop them and nobody could log in.")] = False,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option(
        "--forwarded-allow-ips", help="Addresses of the proxy (comma-separated) whose X-Forwarded-For/-Proto"
                                      " headers are believed; the login throttle then counts real client"
                                      " addresses. Off unless given.")] = None,
) -> None:
    """Serve the volunteer review app: log in, review lines worst first, possible duplicates, admin pages."""
    from pipeline.review.app import serve
    from pipeline.review.queue import ensure_review_schema
    from pipeline.review.web import LOOPBACK_HOSTS, ReviewSettings
    from pipeline.users import list_users

    store = open_existing(workspace)
    try:
        ensure_review_schema(store)
        if not list_users(store):
            typer.echo(f"no accounts yet: run 'petition user add NAME --role admin --workspace {workspace}' first", err=True)
            raise typer.Exit(EXIT_USAGE)
    finally:
        store.close()
    limit_omp_threads()
    typer.echo(f"petition review on http://{host}:{port}/ (Ctrl-C stops it)")
    settings = ReviewSettings(workspace=workspace, secure_cookies=secure_cookies,
                              allowed_hosts=(*LOOPBACK_HOSTS, *(allowed_host or ())))
    serve(settings, host=host, port=port, forwarded_allow_ips=forwarded_allow_ips)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name: letters, digits, '.', '_' or '-'.")],
    role: Annotated[str, typer.Option("--role", help="admin (uploads, users, exports) or reviewer.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Add a review app account. The password is asked twice, or read from the first line of stdin when piped;
    only its argon2 hash is stored."""
    from pipeline.users import add_user

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    store = open_existing(workspace)
    with exits_on_error(), closing(store):
        add_user(store, name, password, role=role)
    typer.echo(f"added {role} {name} to {workspace}")


def _job(job: ReadJob, *, recognizer: str, form: Path | None = None, **settings: Any) -> ReadJob:
    """The job a command asked for, checked before any page is read: a missing model or language file, or a
    broken form file, stops the run here with what to do."""
    job = job.with_settings(recognizer=_recognizer(recognizer), **settings)
    with exits_on_error():
        job.check_setup()
    return replace(job, form=load_form(form))


def _recognizer(name: str):
    from scanner.fields import Recognizer

    if name not in RECOGNIZERS:
        raise typer.BadParameter(f"choose {' or '.join(RECOGNIZERS)}", param_hint="--recognizer")
    return Recognizer(name)


def _form_file_or_name(value: str, store):
    """`add --form`: an existing file is a form file; anything else names a form stored in the workspace."""
    from pipeline.forms import load_named_form
    from pipeline.store import WorkspaceError
    from scanner.errors import SheetError

    if Path(value).is_file():
        return load_form(Path(value))
    try:
        return load_named_form(store, value)
    except (WorkspaceError, SheetError) as exc:  # unknown name, or a stored form that no longer loads: usage
        store.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc


def add_summary(report, workspace: Path) -> str:
    """Counts for this run, then a line for every file or page that was not read, with what to do."""
    pages = report.pages
    ok = sum(p.status.value == "ok" for p in pages)
    skipped = sum(f.status == "already added" for f in report.files)
    by_status = Counter([p.status.value for p in pages] + [f.status for f in report.files
                                                              if f.status not in ("new", "already added")])
    out = [f"{len(report.files)} files: {skipped} already in the workspace; {ok}/{len(pages)} pages read now"
           f" into {workspace}", "status     " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))]
    for item in report.files:
        if item.status not in ("new", "already added"):
            out.append(f"  {item.status:10s} {item.message}")
        for page in item.pages:
            if page.status.value != "ok":
                out.append(f"  {page.status.value:10s} {page.message}")
    if report.interrupted:
        out.append("interrupted: every page listed above is saved; run the same command again to continue")
    return "\n".join(out)


@contextmanager
def _executor(cluster: str | None) -> Iterator[Any]:
    """Where pages are read: None (this machine's processes), or the Dask cluster at `cluster`, whose workers
    are checked as they join (each one admitted or refused is printed) and whose throughput ends the run."""
    if not cluster:
        yield None
        return
    from pipeline.cluster import DaskCluster

    with exits_on_error(), DaskCluster(cluster, say=lambda line: typer.echo(line, err=True)) as executor:
        yield executor
        typer.echo(executor.summary(), err=True)


@contextmanager
def _progress_bar(cluster=None):
    """A progress bar with pages/s and time left on a terminal (on a cluster: pages/min and its workers);
    silent otherwise (logs, CI)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} pages"),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("reading", total=None, rate="")
        started = time.monotonic()

        def tick(_result, done: int, total: int) -> None:
            per_s = done / max(time.monotonic() - started, 1e-6)
            if cluster is None:
                bar.update(task, completed=done, total=total, rate=f"{per_s:.2f} pages/s")
            else:
                bar.update(task, completed=done, total=total, description=f"cluster, {cluster.workers} workers",
                           rate=f"{per_s * 60:.1f} pages/min")

        yield tick


@app.command("eval")
def evaluate(
    samples: Annotated[Path, typer.Argument(help="Folder with scans and their truth.json.")] = Path("samples/scans"),
    rows: Annotated[Optional[Path], typer.Option("--rows", help="Score this rows.csv instead of reading the scans again.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = ReadJob.workers,
    by: Annotated[str, typer.Option("--by", help="Also break figures down by: file, layout, name_font or name_style.")] = "",
    recognizer: Annotated[str, typer.Option("--recognizer", help="pp-ocr, tesseract, or both (side by side).")] = "pp-ocr",
) -> None:
    """Accuracy against ground truth: lines, signatures, review rate, names, auto-accept precision, and how
    well name confidence is calibrated (predicted vs observed); with repeat signers in the truth (person ids),
    how well the roster finds them (pairwise precision, recall, F1)."""
    import pandas as pd

    from pipeline.evaluate import accepted_misses, reliability, truth_frame
    from pipeline.roster_eval import roster_section

    truth = truth_frame(samples / "truth.json")
    if rows is not None:
        frames = {"": pd.read_csv(rows, keep_default_na=False, dtype=str)}
    else:
        names = RECOGNIZERS if recognizer == "both" else (recognizer,)
        frames = {name: _read_for_eval(samples, truth, name, workers) for name in names}
    for name, frame in frames.items():
        heading = f"== recognizer: {name} ==\n" if len(frames) > 1 else ""
        roster = roster_section(frame, truth, samples / "truth.json")  # "" unless the truth has repeat signers
        misses = accepted_misses(frame, truth)
        typer.echo(heading + _eval_report(frame, truth, by) + "\n\n" + reliability(frame, truth) + "\n"
                   + (f"\n{misses}\n" if misses else "") + (f"\n{roster}\n" if roster else ""))


def _read_for_eval(samples: Path, truth, recognizer: str, workers: int):
    """The samples read as `petition read` reads them (rows.csv as a frame)."""
    from pipeline.batch import run
    from pipeline.sinks import CsvSink

    paths = sorted(samples / name for name in truth["file"].unique())
    job = _job(ReadJob(workers=workers), recognizer=recognizer)
    return run(paths, job, CsvSink(), progress=_progress).rows()


def _eval_report(frame, truth, by: str) -> str:
    from pipeline.evaluate import report, score

    out = [report(score(frame, truth))]
    printed = truth[truth["name_style"] == "print"]
    if len(printed) and len(printed) < len(truth):
        out.append("\n[print-style handwriting fonts]\n" + report(score(_same_pages(frame, printed), printed)))
    if by:
        for key, part in truth.groupby(by):
            out.append(f"\n[{by} = {key}]\n" + report(score(_same_pages(frame, part), part)))
    return "\n".join(out)


def _same_pages(frame, truth):
    """The rows of the pages this part of the truth covers (a PDF's pages can differ in layout and font)."""
    pages = set(zip(truth["file"], truth["page"].astype(int)))
    return frame[[(f, int(p)) in pages for f, p in zip(frame["file"], frame["page"])]]


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


def _progress(result, _done: int, _total: int) -> None:
    if sys.stderr.isatty():
        where = f"{result.ref.file_name}:{result.ref.page}"
        sys.stderr.write(f"\r{where:40.40s} {result.status.value:10s}")
        sys.stderr.flush()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
