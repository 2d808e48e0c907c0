"""A rendered government-style city ballot-initiative petition (synthetic: handwriting fonts, invented people).

The form, as an organizer's sheet looks: letter portrait; a handwritten "Sheet __ of __" at the top; a title;
a boxed summary of the measure whose text sits on its own ruled lines; a warning paragraph; then the table.
Its header has two lines per column ("SIGNATURE AND ADDRESS / OF PETITIONER | PRINTED NAME / OF PETITIONER |
DATE / SIGNED | WARD"). Five numbered lines follow, each 1/20 of the page tall, their numbers in a narrow
column at the left. A line's left cell is split into two sub-rows labelled SIGNATURE and ADDRESS in small
print at their left; the printed-name cell spans the whole line, with "PRINTED NAME OF SIGNER" printed small
at its top left (PRINTED underlined); DATE and WARD are plain cells. Below the table: a NOTICE TO CIRCULATORS
paragraph and a circulator's affidavit box with fill-in rules, a date and a signature line.

Signers write in black or blue ballpoint, names mostly in mixed case; signatures often cross into the ADDRESS
sub-row, sometimes into the line above or below; a circulator sometimes strikes a whole line through.

- blank_form(dpi): the unfilled, undegraded form (what an organizer scans as the template).
- render_city_sheet(seed=, dpi=, blank=, name_font=, statuses=): a clean filled (or blank) sheet and its truth
  (render.SheetTruth with layout "city" and field roles address, date, ward; CitySheetTruth adds the sheet
  number and the circulator's name).
- write_city_set(out_dir, count, seed=): skewed grey JPEG scans of filled sheets and blank copies, one phone
  photo, struck lines, and truth.json in the format `petition eval` reads.

    python samples/city_form.py OUT_DIR --count 10 [--seed 1] [--template blank.png] [--form city-form.toml]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Sequence

from PIL import Image, ImageDraw

if __package__ in (None, ""):
    # Run as `python samples/city_form.py`: make the repo root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if TYPE_CHECKING:  # the reader's form type; only form_file needs the scanner, and imports it itself
    from scanner.form import Form

from samples import handwriting as hw  # noqa: E402
from samples import render  # noqa: E402
from samples.render import Box, FormLine, LineTruth, SheetTruth  # noqa: E402

LAYOUT = "city"
ROLES = ("address", "date", "ward")  # scanner.types.Role values; the signature is told by the status
ROWS = 5
ROW_IN = render.PAGE_IN[1] / 20  # each line 1/20 of the page: 0.55 in on letter paper
# Mixed-case hands: semi-cursive (kalam, caveat, bad-script joins its letters) and neat print. bad-script is
# from the calibration split of samples/handwriting.py, never the held-out test split.
CITY_NAME_FONTS: tuple[str, ...] = ("kalam", "caveat", "patrick-hand", "bad-script", "indie-flower")

CITY = "North Harbor"
TITLE = "PETITION FOR A CITY BALLOT INITIATIVE"
PREAMBLE = (f"To the City Clerk of the City of {CITY}: We, the undersigned registered voters of the City of "
            f"{CITY}, petition that the measure summarized below be submitted to the voters of the City at the "
            "next regular municipal election.")
SUMMARY_HEAD = "SUMMARY OF THE PROPOSED MEASURE (prepared by the City Attorney)"
SUMMARY = ("This measure would add a Welcoming City Ordinance to the Municipal Code. It would prohibit the use of "
           "City funds, personnel and facilities to assist federal civil immigration enforcement except where "
           "required by state or federal law or a judicial warrant; require the Police Department to publish a "
           "quarterly report of all requests for assistance received from federal immigration agencies; and "
           "create a seven-member community oversight board, appointed by the City Council, to review "
           "compliance. The measure would take effect ninety days after its approval by the voters.")
WARNING = ("Any person who signs any name other than his or her own to this petition, or who knowingly signs "
           "his or her name more than once for the same measure, or who signs this petition knowing that he or "
           "she is not a registered voter of the City, is guilty of a misdemeanor punishable by a fine of not "
           "more than $1,000 or imprisonment for not more than one year, or both.")
HEADERS = (("", ""), ("SIGNATURE AND ADDRESS", "OF PETITIONER"), ("PRINTED NAME", "OF PETITIONER"),
           ("DATE", "SIGNED"), ("WARD", ""))
COLUMNS_IN = (0.35, 3.45, 2.2, 0.8, 0.7)  # number, signature/address, printed name, date, ward: 7.5 in
NOTICE = ("Only registered voters of the City of {city} may sign. The circulator must personally witness every "
          "signature on this sheet. Each signer must sign, print his or her name and give the residence address "
          "at which he or she is registered. Leave the WARD column blank if unsure: the Clerk will complete it. "
          "Do not erase: strike a line signed in error through with one line. Number every sheet you circulate "
          "and complete the affidavit below before filing.").format(city=CITY)
AFFIDAVIT = ("that the signatures on this sheet were signed in my presence; that to the best of my knowledge "
             "and belief each signer is a registered voter of the City of {city} and signed with full knowledge "
             "of the contents of the petition; and that each signer's residence address is correctly "
             "stated.").format(city=CITY)
FOOTER = "Form CBI-5 (Rev. 01/2026)   Five signatures per sheet. File all sheets together with the City Clerk."


@dataclass(frozen=True)
class CitySheetTruth(SheetTruth):
    """render.SheetTruth plus what is handwritten outside the table ("" where nothing was written)."""

    sheet: str = ""  # "3 of 12"
    circulator: str = ""  # the circulator's printed name in the affidavit


@dataclass(frozen=True)
class CityForm:
    """Where things are on the printed form (page pixels)."""

    lines: tuple[FormLine, ...]  # cells: number, signature, address, name, name_across, date, ward
    sheet_blanks: tuple[Box, Box]  # the "Sheet __ of __" fill-ins
    affidavit: dict[str, Box]  # circulator_name, circulator_address, circulator_date, circulator_signature
    table: Box


# ---------------------------------------------------------------- the printed form


def _fill_in(draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, dpi: int, ink: int = 30) -> Box:
    """A fill-in rule at baseline y; returns the box above it where handwriting goes."""
    render._hline(draw, x0, x1, y + 0.02 * dpi, render._pt(dpi, 0.5), ink)
    return Box(x0, y - 0.26 * dpi, x1, y + 0.02 * dpi)


def _draw_form(page: Image.Image, dpi: int) -> CityForm:
    """Print the form on a white page; the same pixels every time (no randomness)."""
    draw = ImageDraw.Draw(page)
    inch = float(dpi)
    left, right = 0.5 * inch, 8.0 * inch
    regular = lambda pt: render._font("roboto-regular", render._pt(dpi, pt))  # noqa: E731
    bold = lambda pt: render._font("roboto-bold", render._pt(dpi, pt))  # noqa: E731

    # Masthead and the sheet number fill-ins.
    draw.text((left, 0.42 * inch), f"CITY OF {CITY.upper()}  \u00b7  OFFICE OF THE CITY CLERK", font=bold(8),
              fill=10, anchor="ls")
    small = regular(9)
    x = right - 2.3 * inch
    baseline = 0.42 * inch
    draw.text((x, baseline), "Sheet", font=small, fill=10, anchor="ls")
    x += draw.textlength("Sheet ", font=small)
    first = _fill_in(draw, x, x + 0.6 * inch, baseline, dpi)
    x += 0.6 * inch + draw.textlength(" ", font=small)
    draw.text((x, baseline), "of", font=small, fill=10, anchor="ls")
    x += draw.textlength("of ", font=small)
    second = _fill_in(draw, x, x + 0.6 * inch, baseline, dpi)

    # Title and preamble.
    draw.text((page.width / 2, 0.82 * inch), TITLE, font=bold(15), fill=0, anchor="ms")
    body, lead = regular(8.5), render._pt(dpi, 10.5)
    y = 1.0 * inch
    for ln in render._wrap(draw, PREAMBLE, body, right - left):
        draw.text((left, y), ln, font=body, fill=15)
        y += lead

    # The summary box: a heading, then its text written on its own thin rules.
    box_top = y + 0.1 * inch
    draw.text((left + 0.1 * inch, box_top + 0.08 * inch), SUMMARY_HEAD, font=bold(8.5), fill=0)
    text_font, rule_gap = regular(8), 0.2 * inch
    y = box_top + 0.3 * inch
    for ln in render._wrap(draw, SUMMARY, text_font, right - left - 0.3 * inch):
        draw.text((left + 0.15 * inch, y + rule_gap - 0.04 * inch), ln, font=text_font, fill=20, anchor="ls")
        render._hline(draw, left + 0.1 * inch, right - 0.1 * inch, y + rule_gap, render._pt(dpi, 0.4), 120)
        y += rule_gap
    box_bottom = y + 0.12 * inch
    frame = render._pt(dpi, 1.0)
    for yy in (box_top, box_bottom):
        render._hline(draw, left, right, yy, frame, 20)
    for xx in (left, right):
        render._vline(draw, xx, box_top, box_bottom, frame, 20)

    # Warning paragraph.
    y = box_bottom + 0.12 * inch
    warn_bold, warn = bold(8), regular(8)
    label = "WARNING: "
    indent = draw.textlength(label, font=warn_bold)
    draw.text((left, y), label, font=warn_bold, fill=0)
    first_line, *rest = render._wrap(draw, WARNING, warn, right - left - indent)
    draw.text((left + indent, y), first_line, font=warn, fill=15)
    remaining = " ".join(rest)
    y += render._pt(dpi, 10)
    for ln in render._wrap(draw, remaining, warn, right - left):
        draw.text((left, y), ln, font=warn, fill=15)
        y += render._pt(dpi, 10)

    # The table: a two-line header, then five lines of ROW_IN each.
    table_top, head_h, row_h = y + 0.14 * inch, 0.42 * inch, ROW_IN * inch
    cols = [left]
    for w in COLUMNS_IN:
        cols.append(cols[-1] + w * inch)
    bottom = table_top + head_h + ROWS * row_h
    outer, inner, thin, ink = render._pt(dpi, 1.2), render._pt(dpi, 0.75), render._pt(dpi, 0.45), 20
    for k, xx in enumerate(cols):
        render._vline(draw, xx, table_top, bottom, outer if k in (0, len(cols) - 1) else inner, ink)
    render._hline(draw, left, right, table_top, outer, ink)
    head_font, head_lead = bold(7.5), render._pt(dpi, 9)
    for (top_word, bottom_word), x0, x1 in zip(HEADERS, cols, cols[1:]):
        words = [w for w in (top_word, bottom_word) if w]
        y_text = table_top + head_h / 2 - head_lead * (len(words) - 1) / 2
        for j, word in enumerate(words):
            draw.text(((x0 + x1) / 2, y_text + j * head_lead), word, font=head_font, fill=5, anchor="mm")
    label_font, num_font = regular(5.5), bold(10)
    label_pad = 0.05 * inch
    lines = []
    for i in range(ROWS + 1):
        render._hline(draw, left, right, table_top + head_h + i * row_h, outer if i in (0, ROWS) else inner, ink)
    for i in range(ROWS):
        y0 = table_top + head_h + i * row_h
        y1, mid = y0 + row_h, y0 + row_h / 2
        draw.text(((cols[0] + cols[1]) / 2, mid), str(i + 1), font=num_font, fill=0, anchor="mm")
        render._hline(draw, cols[1], cols[2], mid, thin, 40)  # the left cell's two sub-rows
        for word, y_mid in (("SIGNATURE", (y0 + mid) / 2), ("ADDRESS", (mid + y1) / 2)):
            draw.text((cols[1] + label_pad, y_mid), word, font=label_font, fill=25, anchor="lm")
        write_x = cols[1] + label_pad + draw.textlength("SIGNATURE", font=label_font) + 0.06 * inch
        # "PRINTED NAME OF SIGNER" at the name cell's top left, PRINTED underlined.
        lx, ly = cols[2] + label_pad, y0 + 0.04 * inch
        draw.text((lx, ly), "PRINTED", font=label_font, fill=25, anchor="lt")
        word_w = draw.textlength("PRINTED", font=label_font)
        _, _, _, under = draw.textbbox((lx, ly), "PRINTED", font=label_font, anchor="lt")
        render._hline(draw, lx, lx + word_w, under + 0.012 * inch, max(1, render._pt(dpi, 0.35)), 25)
        draw.text((lx + word_w + draw.textlength(" ", font=label_font), ly), "NAME OF SIGNER", font=label_font,
                  fill=25, anchor="lt")
        label_h = 0.13 * inch
        cells = {
            "number": Box(cols[0], y0, cols[1], y1),
            "signature": Box(write_x, y0, cols[2], mid),
            "address": Box(write_x, mid, cols[2], y1),
            "name": Box(cols[2], y0 + label_h, cols[3], y1),
            "name_across": Box(cols[2], y0, cols[3], y0 + 0.6 * row_h),
            "date": Box(cols[3], y0, cols[4], y1),
            "ward": Box(cols[4], y0, cols[5], y1),
        }
        lines.append(FormLine(i + 1, Box(left, y0, right, y1), cells))

    # Notice to circulators.
    y = bottom + 0.16 * inch
    draw.text((left, y), "NOTICE TO CIRCULATORS", font=bold(8.5), fill=0)
    y += render._pt(dpi, 12)
    notice = regular(7.5)
    for ln in render._wrap(draw, NOTICE, notice, right - left):
        draw.text((left, y), ln, font=notice, fill=15)
        y += render._pt(dpi, 9.5)

    # The circulator's affidavit: a box with its own fill-in rules, a date and a signature line.
    aff_top = y + 0.12 * inch
    draw.text((left + 0.12 * inch, aff_top + 0.1 * inch), "CIRCULATOR'S AFFIDAVIT", font=bold(8.5), fill=0)
    aff, lead = regular(8), render._pt(dpi, 10)
    inner_left, inner_right = left + 0.12 * inch, right - 0.12 * inch
    base = aff_top + 0.68 * inch
    draw.text((inner_left, base), "I,", font=aff, fill=10, anchor="ls")
    x0 = inner_left + draw.textlength("I, ", font=aff)
    name_box = _fill_in(draw, x0, x0 + 3.2 * inch, base, dpi)
    draw.text((x0 + 3.25 * inch, base), "(print name), being first duly sworn, depose and say:", font=aff,
              fill=10, anchor="ls")
    base += 0.42 * inch
    draw.text((inner_left, base), "that I reside at", font=aff, fill=10, anchor="ls")
    x0 = inner_left + draw.textlength("that I reside at ", font=aff)
    address_box = _fill_in(draw, x0, x0 + 4.6 * inch, base, dpi)
    draw.text((x0 + 4.65 * inch, base), ";", font=aff, fill=10, anchor="ls")
    y = base + 0.12 * inch
    for ln in render._wrap(draw, AFFIDAVIT, aff, inner_right - inner_left):
        draw.text((inner_left, y), ln, font=aff, fill=10)
        y += lead
    base = y + 0.5 * inch
    draw.text((inner_left, base), "Date:", font=aff, fill=10, anchor="ls")
    x0 = inner_left + draw.textlength("Date: ", font=aff)
    date_box = _fill_in(draw, x0, x0 + 1.6 * inch, base, dpi)
    sig_x0 = inner_right - 3.3 * inch
    signature_box = _fill_in(draw, sig_x0, inner_right, base, dpi)
    caption = regular(6.5)
    draw.text((sig_x0, base + 0.05 * inch), "Signature of Circulator", font=caption, fill=20, anchor="lt")
    aff_bottom = base + 0.28 * inch
    for yy in (aff_top, aff_bottom):
        render._hline(draw, left, right, yy, frame, 20)
    for xx in (left, right):
        render._vline(draw, xx, aff_top, aff_bottom, frame, 20)
    draw.text((left, aff_bottom + 0.14 * inch), FOOTER, font=regular(6.5), fill=40, anchor="lt")
    if aff_bottom + 0.3 * inch > page.height:
        raise AssertionError("the city form does not fit on the page")  # a layout bug, never a runtime case
    affidavit = {"circulator_name": name_box, "circulator_address": address_box, "circulator_date": date_box,
                 "circulator_signature": Box(signature_box.x0, signature_box.y0 - 0.1 * inch, signature_box.x1,
                                             signature_box.y1)}
    return CityForm(tuple(lines), (first, second), affidavit,
                    Box(left, table_top, right, bottom))


def _page(dpi: int) -> Image.Image:
    return Image.new("L", (round(render.PAGE_IN[0] * dpi), round(render.PAGE_IN[1] * dpi)), 255)


def blank_form(dpi: int = 200) -> Image.Image:
    """The unfilled, undegraded form: what an organizer scans as the template."""
    page = _page(dpi)
    _draw_form(page, dpi)
    return page


def city_form_layout(dpi: int = 200) -> CityForm:
    """Where the printed form's cells are at dpi (render coordinates, as render.FormLine boxes)."""
    return _draw_form(_page(dpi), dpi)


# ---------------------------------------------------------------- writers


def form_file(template: Path | None, dpi: int = 200) -> Form:
    """The form file for this sheet, from the cells it was drawn with (what a corrected `form detect` gives);
    `template` is its blank sheet's image, if any."""
    from scanner.form import Form, FormField  # the reader's own type: only this function needs the scanner
    from scanner.types import Role

    drawn = city_form_layout(dpi)
    width, height = blank_form(dpi).size
    first = drawn.lines[0]
    line_h = first.box.h

    def field(role: Role, cell: str, *, whole_line: bool = False) -> FormField:
        box = first.cells[cell]
        top, bottom = (0.0, 1.0) if whole_line else ((box.y0 - first.box.y0) / line_h, (box.y1 - first.box.y0) / line_h)
        return FormField(role, box.x0 / width, box.x1 / width, round(top, 3), round(bottom, 3))

    fields = (field(Role.LINE_NUMBER, "number"), field(Role.SIGNATURE, "signature"), field(Role.ADDRESS, "address"),
              field(Role.NAME, "name", whole_line=True), field(Role.DATE, "date"), field(Role.WARD, "ward"))
    bounds = (first.box.y0 / height, *(line.box.y1 / height for line in drawn.lines))
    table = drawn.table
    return Form("city", (table.x0 / width, table.y0 / height, table.x1 / width, table.y1 / height), bounds, fields,
                template)



@dataclass
class _Pen:
    """One writer's ballpoint and hand: writes text in the sheet's name font."""

    font: str
    gray: int
    stroke: int
    hand: hw.Hand | None  # for samples/handwriting.py's letter-by-letter fonts
    dpi: int

    def write(self, page: Image.Image, rng: random.Random, text: str, cell: Box, cap_frac: float) -> None:
        if self.hand is None:
            render._write_text(page, rng, self.font, text, cell, cap_frac, self.gray, self.stroke)
            return
        source = hw.HandwritingSource(self.dpi)
        source._hand = self.hand  # noqa: SLF001  (what source.pen() would set, with our ink instead of its draw)
        source.write(page, rng, self.font, text, cell, cap_frac, self.gray, 0)


def _pen(rng: random.Random, font: str, dpi: int) -> _Pen:
    """Black or blue ballpoint (blue as a scanner's luma sees it)."""
    blue = rng.random() < 0.45
    gray = hw._blue_gray(rng) if blue else rng.randint(10, 45)  # noqa: SLF001
    if font in render.NAME_FONTS:
        return _Pen(font, gray, rng.choice((0, 0, max(1, round(dpi / 300)))), None, dpi)
    hand = hw.Hand("blue" if blue else "black", gray, rng.uniform(0.3, 0.5),
                   slant=rng.uniform(0.0, 0.3), size=rng.uniform(0.9, 1.1), tracking=rng.uniform(-0.03, 0.08),
                   spacing="normal")
    return _Pen(font, gray, 0, hand, dpi)


def _name(rng: random.Random, font: str) -> tuple[str, str]:
    """(printed name, signature text): an invented person, mostly in mixed case."""
    given, family, family_first, _ = hw.invent_name(rng)
    while f"{given} {family}" in render.FAMOUS_NAMES or f"{given} {family}" in hw.FAMOUS:
        given, family, family_first, _ = hw.invent_name(rng)
    connected = font in hw.EVAL_FONT_INFO and hw.EVAL_FONT_INFO[font].connected
    case = "as_is" if connected else rng.choices(("as_is", "caps", "mixed"), weights=(80, 12, 8))[0]
    first, last = (family, given) if family_first else (given, family)
    if case == "caps":
        first, last = first.upper(), last.upper()
    elif case == "mixed" and not family_first:
        last = last.upper()  # "Maria GARCIA"
    name = hw.drawable(f"{first} {last}", font)
    # Nobody signs in block capitals: "Maria GARCIA" signs "Maria Garcia".
    signature = " ".join(w.title() if w.isupper() and len(w) > 1 else w for w in name.split())
    if rng.random() < 0.3:
        words = signature.split()
        signature = f"{words[0][0]}. {words[-1]}"
    return name, hw.drawable(signature, *render.SIGNATURE_FONTS)


def _address(rng: random.Random, font: str, caps: bool) -> str:
    unit = f" #{rng.randint(1, 40)}" if rng.random() < 0.12 else ""
    value = f"{rng.randint(1, 9999)} {rng.choice(render.STREETS)} {rng.choice(render.STREET_KINDS)}{unit}"
    return hw.drawable(value.upper() if caps else value, font)


def _date(rng: random.Random) -> str:
    month, day = rng.randint(1, 3), rng.randint(1, 28)
    return f"{month:02d}/{day:02d}/26" if rng.random() < 0.2 else f"{month}/{day}/26"


def _statuses(rng: random.Random) -> list[str]:
    """Mostly signed lines, some blank (often at the end of a sheet), now and then the other kinds."""
    statuses = rng.choices(render.STATUSES, weights=(0.6, 0.1, 0.07, 0.15, 0.08), k=ROWS)
    if "signed" not in statuses:
        statuses[rng.randrange(ROWS)] = "signed"
    if rng.random() < 0.5:  # people fill a sheet from the top: its blank lines come last
        statuses = [s for s in statuses if s != "blank"] + [s for s in statuses if s == "blank"]
    return statuses


def _signature(page: Image.Image, rng: random.Random, text: str, line: FormLine, index: int, gray: int) -> None:
    """In the SIGNATURE sub-row; often down into the ADDRESS sub-row, sometimes up into the line above or,
    large, down through the address into the line below."""
    cell = line.cells["signature"]
    roll = rng.random()
    if roll < 0.55:
        render._write_signature(page, rng, text, cell, 0, gray)
    elif roll < 0.83:
        render._write_signature(page, rng, text, cell, +1, gray)  # into this line's ADDRESS sub-row
    elif roll < 0.91 and index > 0:
        render._write_signature(page, rng, text, cell, -1, gray)  # into the ADDRESS sub-row of the line above
    else:
        # Starts low in the SIGNATURE sub-row, runs through the ADDRESS sub-row and past the line's bottom rule.
        low = Box(cell.x0, line.box.y0 + 0.3 * line.box.h, cell.x1, line.box.y1)
        render._write_signature(page, rng, text, low, +1 if index < ROWS - 1 else 0, gray)


def _circulator(page: Image.Image, rng: random.Random, form: CityForm, font: str, dpi: int) -> str:
    pen = _pen(rng, font, dpi)
    name, signature = _name(rng, font)
    boxes = form.affidavit
    pen.write(page, rng, name, boxes["circulator_name"], rng.uniform(0.45, 0.55))
    pen.write(page, rng, f"{_address(rng, font, name.isupper())}, {CITY}", boxes["circulator_address"],
              rng.uniform(0.45, 0.55))
    pen.write(page, rng, _date(rng), boxes["circulator_date"], rng.uniform(0.45, 0.55))
    render._write_signature(page, rng, signature, boxes["circulator_signature"], 0, pen.gray)
    return name


def render_city_sheet(*, seed: int, dpi: int = 200, blank: bool = False, name_font: str | None = None,
                      statuses: Sequence[str] | None = None) -> tuple[Image.Image, CitySheetTruth]:
    """A clean, upright, grey ('L') letter-size city petition at dpi and its truth.

    blank=True: an unsigned copy (every line "blank"); its sheet number may still be handwritten and its
    affidavit is usually empty. statuses: the five lines' statuses (render.STATUSES) instead of a random mix.
    name_font: one of render.NAME_FONTS or samples/handwriting.py's EVAL_FONT_INFO (default: from
    CITY_NAME_FONTS); every line, the sheet number and the affidavit are written in it.
    """
    rng = random.Random(f"{LAYOUT}:{seed}")
    font = name_font or rng.choice(CITY_NAME_FONTS)
    if font not in render.NAME_FONTS and font not in hw.EVAL_FONT_INFO:
        raise ValueError(f"unknown name font {font!r}")
    if statuses is not None:
        statuses = list(statuses)
        if len(statuses) != ROWS or not set(statuses) <= set(render.STATUSES):
            raise ValueError(f"statuses must be {ROWS} of {render.STATUSES}, not {statuses}")
        if blank and set(statuses) != {"blank"}:
            raise ValueError("a blank copy has only blank lines")
    page = _page(dpi)
    form = _draw_form(page, dpi)
    sheet = ""
    if not blank or rng.random() < 0.6:
        total = rng.randint(2, 40)
        number = rng.randint(1, total)
        pen = _pen(rng, font, dpi)
        for value, box in zip((str(number), str(total)), form.sheet_blanks):
            pen.write(page, rng, value, box, rng.uniform(0.5, 0.6))
        sheet = f"{number} of {total}"
    if blank:
        statuses = ["blank"] * ROWS
    elif statuses is None:
        statuses = _statuses(rng)
    truths = []
    for index, (line, status) in enumerate(zip(form.lines, statuses)):
        pen = _pen(rng, font, dpi)
        name, signature = _name(rng, font)
        writes_name = status in ("signed", "name_only", "struck")
        signs = status in ("signed", "signature_only", "struck")
        fields = dict.fromkeys(ROLES, "")
        if writes_name or signs:
            if rng.random() < (0.92 if writes_name else 0.5):
                fields["address"] = _address(rng, font, name.isupper())
            if rng.random() < 0.9:
                fields["date"] = _date(rng)
            if rng.random() < 0.55:
                fields["ward"] = hw.drawable(str(rng.randint(1, 50)), font)
        if writes_name:
            cell, cap = ((line.cells["name_across"], rng.uniform(0.45, 0.55)) if rng.random() < 0.3
                         else (line.cells["name"], rng.uniform(0.3, 0.42)))
            pen.write(page, rng, name, cell, cap)
        if signs:
            _signature(page, rng, signature, line, index, pen.gray)
        if fields["address"]:
            pen.write(page, rng, fields["address"], line.cells["address"], rng.uniform(0.42, 0.52))
        if fields["date"]:
            pen.write(page, rng, fields["date"], line.cells["date"], rng.uniform(0.24, 0.3))
        if fields["ward"]:
            pen.write(page, rng, fields["ward"], line.cells["ward"], rng.uniform(0.24, 0.3))
        if status == "struck":
            render._strike(page, rng, line, pen.gray, dpi)
        if status == "blank" and not blank and rng.random() < 0.25:
            render._stray_mark(page, rng, line.cells["signature"], pen.gray, dpi)
        truths.append(LineTruth(line.number, status, name if writes_name else "", fields))
    circulator = ""
    if rng.random() < (0.25 if blank else 0.85):
        circulator = _circulator(page, rng, form, font, dpi)
    return page, CitySheetTruth(LAYOUT, font, dpi, (), tuple(truths), sheet=sheet, circulator=circulator)


# ---------------------------------------------------------------- sample sets


def page_json(page: int, truth: SheetTruth, *, blank_copy: bool) -> dict[str, object]:
    """render's page entry, with the name style of handwriting.py's fonts, the sheet number and circulator."""
    doc = render._page_json(page, truth)
    if truth.name_font in hw.EVAL_FONT_INFO:
        doc["name_style"] = hw.EVAL_FONT_INFO[truth.name_font].style
    doc["blank_copy"] = blank_copy
    if isinstance(truth, CitySheetTruth):
        doc["sheet"], doc["circulator"] = truth.sheet, truth.circulator
    return doc


def write_city_set(out_dir: Path, count: int, *, seed: int = 1) -> list[Path]:
    """count single-page city sheets + truth.json (the format `petition eval` reads); returns the paths.

    Of every five sheets, two are blank copies (positions 2 and 4); the rest are filled, every other filled
    sheet with a struck line. All are slightly skewed (0.3-2.5°) 200-dpi grey JPEG scans, except one phone
    photo (the last filled sheet, when count >= 3)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"city-set:{seed}")
    kinds = ["blank" if i % 5 in (1, 3) else "filled" for i in range(count)]
    filled = [i for i, kind in enumerate(kinds) if kind == "filled"]
    photo_at = filled[-1] if count >= 3 and filled else None
    pages: dict[str, dict[str, object]] = {}
    paths = []
    for i, kind in enumerate(kinds):
        sheet_seed = seed * 1_000_003 + i
        font = CITY_NAME_FONTS[i % len(CITY_NAME_FONTS)]
        statuses = None
        if kind == "filled" and filled.index(i) % 2 == 0:
            statuses = _statuses(random.Random(f"{LAYOUT}-statuses:{sheet_seed}"))
            if "struck" not in statuses:
                spare = [k for k, s in enumerate(statuses) if s != "blank" and statuses.count(s) > 1] or [0]
                statuses[rng.choice(spare)] = "struck"
        image, truth = render_city_sheet(seed=sheet_seed, dpi=200, blank=kind == "blank", name_font=font,
                                         statuses=statuses)
        photo = i == photo_at
        if photo:
            image, truth = render.degrade(image, truth, seed=sheet_seed + 7, photo=True)
            quality = 80
        else:
            skew = round(rng.uniform(0.3, 2.5), 1) * rng.choice((-1, 1))  # slightly, and never quite straight
            image, truth = render.degrade(image, truth, seed=sheet_seed + 7, skew_deg=skew, noise=True,
                                          blur=rng.random() < 0.3)
            quality = rng.choice((75, 80, 85, 90))
        truth = render._jpeg(truth, quality)
        name = f"city_{i + 1:04d}_{kind}_{'photo' if photo else 'scan'}.jpg"
        image.save(out_dir / name, quality=quality, dpi=(truth.dpi, truth.dpi))
        pages[name] = {"pages": [page_json(1, truth, blank_copy=kind == "blank")]}
        paths.append(out_dir / name)
    doc = {"version": 1, "layout": LAYOUT, "seed": seed, "files": pages}
    (out_dir / "truth.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a set of rendered city ballot-initiative petition sheets.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=10, metavar="N", help="sheets to write (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--template", type=Path, metavar="PNG", help="also write the unfilled form here")
    parser.add_argument("--dpi", type=int, default=200, help="--template resolution (default 200)")
    parser.add_argument("--form", type=Path, metavar="TOML",
                        help="also write the form's true cells here, with its blank sheet beside it (TOML with .png)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    for path in write_city_set(args.out_dir, args.count, seed=args.seed):
        print(path)
    print(args.out_dir / "truth.json")
    if args.template:
        blank_form(args.dpi).save(args.template, dpi=(args.dpi, args.dpi))
        print(args.template)
    if args.form:
        print(*write_form_file(args.form, args.dpi), sep="\n")
    return 0


def write_form_file(path: Path, dpi: int = 200) -> tuple[Path, Path]:
    """The form file a corrected `petition form detect` gives for this form, and its blank sheet beside it."""
    from scanner.form import to_toml

    path.parent.mkdir(parents=True, exist_ok=True)
    template = path.with_suffix(".png")
    blank_form(dpi).save(template, dpi=(dpi, dpi))
    path.write_text(to_toml(form_file(template, dpi)), encoding="utf-8")
    return path, template


if __name__ == "__main__":
    raise SystemExit(main())
