"""The "will it qualify" report as one self-contained HTML file (inline CSS and SVG bar charts, no script, no
external asset, every text escaped), its figures as CSV beside it, and the random sample's lines as CSV (the
lines to review first). CSVs go through pipeline.spreadsheet (formula-like text neutralised)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from pipeline import spreadsheet
from pipeline.qualify import FAILS_BELOW, QUALIFIES_ABOVE, Qualification

_STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:860px;margin:2em auto;padding:0 1em;color:#1b1b1b}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;
text-align:right;border-bottom:1px solid #ddd}td:first-child,th:first-child{text-align:left}.big{font-size:2.2em;
font-weight:700}.note{color:#555;font-size:.9em}svg text{font:13px system-ui,sans-serif}"""
_GREEN, _GREY, _RED, _BLUE = "#2e7d32", "#9e9e9e", "#c62828", "#1565c0"


def write_report(q: Qualification, output: Path) -> list[Path]:
    """OUTPUT (HTML), OUTPUT with .csv (the figures) and with .sample.csv (the sampled lines); their paths."""
    output.parent.mkdir(parents=True, exist_ok=True)
    figures, sample = output.with_suffix(".csv"), output.with_suffix(".sample.csv")
    partial = output.with_name(output.name + ".partial")
    partial.write_text(render(q), encoding="utf-8")
    partial.replace(output)
    spreadsheet.write_csv(figures_frame(q), figures)
    spreadsheet.write_csv(sample_frame(q), sample)
    return [output, figures, sample]


def figures_frame(q: Qualification) -> pd.DataFrame:
    """Every figure of the report: section, name, value."""
    p = q.projection
    rows = [("summary", "voter file", q.voter_file or "none"), ("summary", "lines", q.lines),
            ("summary", "raw signatures", q.raw), ("summary", "signed with a name", q.signed),
            ("summary", "valid", q.valid)]
    if q.required is not None:
        rows += [("summary", "required", q.required), ("summary", "margin", q.margin), ("summary", "outlook",
                                                                                          q.outlook())]
    rows += [("invalid", reason, count) for reason, count in q.invalid.items()]
    rows += [row for ward, signed, valid in q.wards for row in (("ward signed", ward, signed),
                                                                 ("ward valid", ward, valid))]
    rows += [("projection", name, value) for name, value in (
        ("sample size", p.sample_size), ("valid in sample", p.sample_valid),
        ("duplicates in sample", p.sample_duplicates), ("sampled lines reviewed by a person", p.sample_reviewed),
        ("uncorrected valid", p.uncorrected), ("duplicate weight", p.duplicate_weight),
        ("duplicate penalty", p.duplicate_penalty), ("projected valid", p.projected), ("95% low", p.low),
        ("95% high", p.high))]
    return pd.DataFrame(rows, columns=["section", "name", "value"], dtype=object)  # numbers stay numbers


def sample_frame(q: Qualification) -> pd.DataFrame:
    by_id = {v.occurrence: v for v in q.verdicts}
    rows = [(k + 1, v.file, v.page, v.line, v.name, v.voter_id, v.reason or "valid", "yes" if v.human else "")
            for k, v in enumerate(by_id[o] for o in q.sample)]
    return pd.DataFrame(rows, columns=["draw", "file", "page", "line", "name", "voter_id", "verdict", "reviewed"])


def render(q: Qualification) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>Will it qualify?</title><style>{_STYLE}"
             "</style><h1>Will it qualify?</h1>",
             f"<p class=big>{q.valid:,} valid signatures</p><p>{e(q.headline())}.</p>",
             f"<p class=note>Voter file: {e(q.voter_file or 'none loaded (petition voters import FILE)')}. A line is"
             " valid when it is signed, has a name, is matched to a registered voter, is not a repeat of a signer"
             " already counted, and (when the sheets ask) is dated and in the petition's ward.</p>",
             _summary_table(q), "<h2>Why lines do not count</h2>",
             _bars([(r, n, _RED) for r, n in q.invalid.items()]) if q.invalid else "<p>Every line counts.</p>",
             "<h2>Per ward</h2>", _ward_chart(q), _projection(q), "</html>"]
    return "\n".join(parts)


def _summary_table(q: Qualification) -> str:
    rows = [("lines on the sheets", q.lines), ("signatures (raw count)", q.raw), ("signed with a name", q.signed),
            ("valid", q.valid)]
    if q.required is not None:
        rows += [("required", q.required), ("margin", f"{q.margin:+,}")]
    body = "".join(f"<tr><td>{html.escape(k)}<td>{v if isinstance(v, str) else f'{v:,}'}" for k, v in rows)
    return f"<table>{body}</table>"


def _bars(items: list[tuple[str, int, str]], *, width: int = 520) -> str:
    """Horizontal bars, one per item, labelled and counted."""
    top = max((n for _, n, _ in items), default=1) or 1
    row, label = 26, 170
    out = [f'<svg role=img width="{label + width + 70}" height="{row * len(items) + 4}">']
    for k, (name, count, color) in enumerate(items):
        y, w = k * row + 2, max(1, round(width * count / top))
        out.append(f'<text x="0" y="{y + 17}">{html.escape(name)}</text><rect x="{label}" y="{y + 3}" width="{w}"'
                   f' height="{row - 8}" fill="{color}"/><text x="{label + w + 6}" y="{y + 17}">{count:,}</text>')
    return "".join(out) + "</svg>"


def _ward_chart(q: Qualification) -> str:
    if not q.wards:
        return "<p>No signatures yet.</p>"
    items = []
    for ward, signed, valid in q.wards:
        items += [(f"{ward}: signed", signed, _GREY), (f"{ward}: valid", valid, _GREEN)]
    return _bars(items)


def _projection(q: Qualification) -> str:
    p, e = q.projection, html.escape
    if p.full_count:
        return (f"<h2>A board's check</h2><p>With {p.raw:,} signatures a board verifies every one (a random sample"
                f" is at least 500): the count above is the check.</p>")
    text = (f"<h2>A board's random sample</h2><p>Projected valid: <b>{p.projected:,}</b> (95% interval {p.low:,}"
            f"–{p.high:,}). From a simple random sample of {p.sample_size:,} of the {p.raw:,} signatures (500 or 3%,"
            f" whichever is greater; listed in the .sample.csv beside this report, {p.sample_reviewed:,} of them"
            f" confirmed by a person so far): {p.sample_valid:,} valid, {p.sample_duplicates:,} duplicates inside"
            f" the sample. Estimator: raw count × valid share = {p.uncorrected:,}, minus each duplicate weighted"
            f" A(A−1) = {p.duplicate_weight:,.1f} (A = raw / sample), {p.duplicate_penalty:,} in all, as in"
            " California's random-sample verification (Cal. Code Regs. tit. 2 §§20530–20531). The interval is"
            " the normal approximation of the sampled share with the finite-population correction; it leaves out"
            " the uncertainty of the duplicate penalty.</p>")
    if q.required is not None:
        text += (f"<p>Against {q.required:,} required: above {QUALIFIES_ABOVE:.0%} of it a petition qualifies, below"
                 f" {FAILS_BELOW:.0%} it fails, in between every signature is counted. Outlook:"
                 f" <b>{e(q.outlook())}</b>.</p>" + _projection_chart(q))
    return text


def _projection_chart(q: Qualification, width: int = 600) -> str:
    """The projection and its interval against the requirement and the two thresholds."""
    p, need = q.projection, q.required or 1
    top = max(p.high, need * QUALIFIES_ABOVE, q.valid) * 1.05 or 1
    x = lambda v: round(width * v / top)  # noqa: E731
    marks = "".join(f'<line x1="{x(v)}" x2="{x(v)}" y1="0" y2="60" stroke="{c}" stroke-dasharray="4 3"/>'
                    f'<text x="{x(v) + 3}" y="74">{html.escape(label)}</text>'
                    for v, c, label in ((need * FAILS_BELOW, _RED, "95%"), (need, "#000", "required"),
                                        (need * QUALIFIES_ABOVE, _GREEN, "110%")))
    return (f'<svg role=img width="{width + 80}" height="80"><rect x="0" y="18" width="{x(p.projected)}" height="24"'
            f' fill="{_BLUE}"/><line x1="{x(p.low)}" x2="{x(p.high)}" y1="30" y2="30" stroke="#000"'
            f' stroke-width="2"/>{marks}</svg>')
