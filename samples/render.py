"""Render synthetic petition signature sheets (fonts, never real handwriting) with ground truth."""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import textwrap
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

if __package__ in (None, ""):
    # Run as `python samples/render.py`: make the repo root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from samples import degrade as _degrade  # noqa: E402

LAYOUTS = ("seed", "ballot", "stacked")
NAME_FONTS: tuple[str, ...] = (
    "patrick-hand", "kalam", "architects-daughter", "gochi-hand", "indie-flower", "shadows-into-light", "caveat",
)
SIGNATURE_FONTS: tuple[str, ...] = ("homemade-apple", "mrs-saint-delafield", "dancing-script")
# Neat hand-printed letters (what a petition's "please print" gets); the others are casual, loopy hands.
PRINT_STYLE_FONTS: tuple[str, ...] = ("patrick-hand", "kalam", "architects-daughter")
STATUSES = ("signed", "name_only", "signature_only", "blank", "struck")

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SEED_PETITION_PATH = Path("/work/shared/seed-petition.txt")
PAGE_IN = (8.5, 11.0)

SEED_TITLE = "USA: STOP MILITARIZED IMMIGRATION ENFORCEMENT"
SEED_LETTER = textwrap.dedent("""\
    Dear Secretary Noem,

    I am writing to express my deep concern and alarm at the violent, militarized immigration enforcement by Immigration and Customs Enforcement (ICE), Border Patrol and other federal agents in cities and communities across the USA. These operations must cease and all human rights violations must be fully investigated and prosecuted.

    I am appalled to learn that, in a single month (January 2026), following the expansion of ICE and Border Patrol operations in Minneapolis and St. Paul, Minnesota, federal agents have:

    - extrajudicially executed Renee Good, a writer and mother, and Alex Pretti, an ICU nurse, who were actively observing ICE and Border Patrol operations;
    - threatened a pregnant immigration lawyer in her firm's parking lot; targeted and detained refugees; detained numerous U.S. citizens, including one who was dragged out of his house in his underwear and another taken without her family knowing her whereabouts;
    - smashed in the windows of cars and detained their occupants, including a U.S. citizen who was on her way to a medical appointment at a traumatic brain injury center; deployed crowd-control grenades and a tear gas container next to a car that contained six children, including a 6-month-old;
    - subjected entire communities to racial profiling;
    - and detained a 5-year-old and used him as "bait" to detain additional family members.

    As you must be aware, these widespread enforcement actions have resulted in racialized communities living in fear, afraid to leave their homes, children missing school, and food insecurity, and have placed individuals in detention facilities that are rife with abuse. It is unacceptable that, already in 2026, at least six migrants have died while in ICE custody, including one that was determined a homicide.

    I demand that you uphold your international human rights obligations and end the militarized enforcement across the USA; work with local authorities to investigate all excessive use of force incidents against residents and protesters, including the use of lethal force, and hold those responsible accountable; while end the use of mass deportation and detention and the use of racial profiling in immigration enforcement.

    Sincerely,""")
BALLOT_TEXT = (
    "We, the undersigned, call on the Secretary of Homeland Security to end militarized immigration "
    "enforcement in our communities, to investigate every excessive use of force by federal agents, and to "
    "uphold the United States' international human rights obligations, including an end to racial profiling."
)

# Invented, diverse name pools; full names are random pairings, never real people on purpose.
FIRST_NAMES = tuple("""
Maria Jose Ana Luis Carmen Diego Sofia Mateo Valentina Camila Javier Lucia Alejandro Rosa Miguel Elena Pablo Marisol
Guadalupe Ernesto Wei Mei Jun Hana Kenji Yuki Haruto Min-jun Seo-yeon Ji-ho Thanh Linh Minh Bao Anh Priya Arjun Rohan
Ananya Vikram Deepa Sanjay Kavya Farhan Ayesha Omar Fatima Yusuf Layla Hassan Amira Karim Noor Zainab Tariq Leila
Amina Kwame Ama Kofi Chidi Ngozi Emeka Adaeze Tunde Folake Abebe Tigist Dawit Selam Amadou Aissatou Moussa Fatou
Ibrahima Mariam Jamal Keisha Darnell Tamika Andre Latoya Marcus Imani Tyrone Aaliyah DeShawn Nia Olga Dmitri Irina
Sergei Natasha Pavel Katya Andrzej Agnieszka Tomasz Zofia Jakub Magda Giulia Marco Francesca Luca Chiara Matteo Sean
Siobhan Ciaran Aoife Declan Niamh Liam Emma Olivia Noah Ava Ethan Mia Lucas Harper Mason Evelyn Logan Abigail Owen
Emily Caleb Grace Henry Chloe Samuel Zoe Isaac Nora Eli Ruth Miriam David Sarah Rebecca Aaron Esther Levi Naomi Ingrid
Lars Astrid Erik Freya Sven Jean-Pierre Marie-Claire Luc Amelie Hugo Chloe-Ann Kai Leilani Keoni Malia Tala Ayasha
Dakota Winona Koa Rashid Samira Bilal Mei-Ling Hyun-woo Anh-Thu Ximena Rodrigo Paloma Emilio Ines Tomas Beatriz
Gabriel Joao Thiago Larissa Bruno Renata Dario Milan Jelena Nikola Vesna Goran Bogdan Teodora Aziz Dilnoza Timur
Anders Bjorn Patrice Rosalind Gwen Rhys Bronwen Cormac Tess Ruby Hazel Felix Otis June Iris Silas Violet Jasper
""".split())
LAST_NAMES = tuple("""
Lopez Garcia Hernandez Martinez Rodriguez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera Gomez Diaz Morales
Reyes Cruz Ortiz Gutierrez Chavez Ramos Castillo Mendoza Vargas Castro Romero Herrera Medina Aguilar Delgado Nguyen
Tran Pham Le Hoang Vo Chen Wang Li Zhang Liu Huang Zhao Wu Lin Kim Park Choi Jung Kang Yoon Tanaka Suzuki Takahashi
Watanabe Yamamoto Nakamura Kobayashi Sato Patel Shah Singh Kumar Sharma Gupta Reddy Iyer Nair Desai Mehta Chowdhury
Rahman Hossain Khan Ahmed Ali Hussein Haddad Nasser Saleh Khalil Abdi Farah Osman Warsame Okafor Okonkwo Adeyemi
Mensah Owusu Boateng Asante Diallo Traore Keita Ndiaye Toure Bekele Tesfaye Haile Kiprop Mwangi Otieno Washington
Jefferson Jackson Robinson Harris Walker Coleman Brooks Freeman Simmons Banks Jenkins Ivanov Petrov Smirnov Volkov
Kowalski Nowak Wisniewski Zielinski Novak Horvat Kovac Popescu Ionescu Rossi Russo Bianchi Romano Esposito Ricci
O'Brien O'Connor O'Neill McCarthy Murphy Kelly Byrne Gallagher Doyle Walsh Smith Johnson Williams Brown Jones Miller
Davis Wilson Anderson Taylor Thomas Moore Martin Thompson White Clark Lewis Young Allen Wright Scott Green Baker Adams
Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker Collins Edwards Stewart Morris Cohen Levy
Friedman Katz Goldberg Schwartz Weiss Muller Schmidt Fischer Weber Becker Hoffmann Larsen Hansen Johansson Lindqvist
Dubois Moreau Lefebvre Laurent Girard D'Angelo D'Souza N'Diaye Garcia-Lopez Smith-Jones Nakamura-Reed Silva Santos
Oliveira Souza Pereira Costa Ferreira Almeida Begay Yazzie Tsosie Redcloud Kealoha Kahananui Fonoti Tuilagi Aziz
Yilmaz Demir Kaya Celik Sahin Papadopoulos Georgiou Nikolaidis Abramyan Sargsyan Grigoryan Haas Vance Quinlan
""".split())
STREETS = tuple("""Oak Maple Cedar Elm Pine Lake Hill Main Park Sunset River Mill Church Spring Highland Chestnut
Walnut Willow Ridge Franklin Grand Valley Bay Forest Meadow Orchard Aspen Birch Harbor Prairie Summit Lincoln Juniper
Magnolia Cherry Cypress""".split())
STREET_KINDS = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl")
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")
# Random pairings can land on a famous name; these are re-drawn.
FAMOUS_NAMES = frozenset({
    "Grace Kelly", "Grace Jones", "Grace Park", "Emma Thompson", "Emma Roberts", "Liam Gallagher", "Naomi Campbell",
    "Owen Wilson", "Aaron Carter", "Samuel Jackson", "Ethan Allen", "Henry Adams", "Sean Young", "Chloe Kim",
    "Ruby Walsh", "Andre Johnson", "Mia Hamm", "David Walsh", "Marcus Smith", "Ruth Moore",
})
FIELD_ROLES = {"seed": (), "ballot": ("address", "zip", "date"), "stacked": ("email", "address")}


@dataclass(frozen=True)
class LineTruth:
    """What is really written on one physical line of the sheet."""

    line: int
    status: str
    name: str
    fields: dict[str, str]


@dataclass(frozen=True)
class SheetTruth:
    """Ground truth for one rendered page."""

    layout: str
    name_font: str
    dpi: int
    degradations: tuple[str, ...]
    lines: tuple[LineTruth, ...]


@dataclass(frozen=True)
class Box:
    """A pixel rectangle (x0, y0) - (x1, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class FormLine:
    """The ruled cells of one physical line: 'box' spans all cells, 'cells' maps role -> writing area."""

    number: int
    box: Box
    cells: dict[str, Box]


@dataclass(frozen=True)
class Person:
    """One invented signer and what they write."""

    name: str
    signature: str
    fields: dict[str, str]


# render_sheet hooks: people(rng, roles, font) -> Person; pen(rng, dpi) -> (gray, stroke);
# writer(page, rng, font, text, cell, cap_frac, gray, stroke) (the signature of _write_text).
PeopleSource = Callable[[random.Random, tuple[str, ...], str], Person]
PenSource = Callable[[random.Random, int], tuple[int, int]]
Writer = Callable[[Image.Image, random.Random, str, str, Box, float, int, int], None]


# ---------------------------------------------------------------- fonts & text


@lru_cache(maxsize=256)
def _font(name: str, px: int) -> ImageFont.FreeTypeFont:
    """Load a bundled font at a pixel size (memoised: fonts are immutable)."""
    return ImageFont.truetype(str(FONT_DIR / f"{name}.woff"), max(4, px))


@lru_cache(maxsize=32)
def _cap_ratio(name: str) -> float:
    """Cap height of a font as a fraction of its pixel size."""
    _, top, _, bottom = _font(name, 200).getbbox("H", anchor="ls")
    return (bottom - top) / 200


def _pt(dpi: int, points: float) -> int:
    return max(1, round(points * dpi / 72))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap to a pixel width."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return lines + ([current] if current else [])


def petition_text() -> tuple[str, str]:
    """Title and letter from the shared seed petition if present, else the embedded copy."""
    try:
        raw = SEED_PETITION_PATH.read_text(encoding="utf-8")
    except OSError:
        return SEED_TITLE, SEED_LETTER
    lines = [ln.strip() for ln in raw.splitlines()]
    title = next((ln for ln in lines if ln), "")
    start = next((i for i, ln in enumerate(lines) if ln.startswith("Dear")), None)
    end = next((i for i, ln in enumerate(lines) if ln.startswith("Sincerely")), None)
    if not title or start is None or end is None or end < start:
        return SEED_TITLE, SEED_LETTER
    return title, "\n".join(lines[start:end + 1])


# ---------------------------------------------------------------- printed forms


def _hline(draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, width: int, fill: int,
           rng: random.Random | None = None) -> None:
    """Horizontal rule; with an rng, some rules get small print gaps like a worn photocopy."""
    spans = [(x0, x1)]
    if rng is not None and rng.random() < 0.55:
        cuts = sorted(rng.uniform(x0, x1) for _ in range(rng.randint(1, 4)))
        spans, start = [], x0
        for cut in cuts:
            gap = rng.uniform(0.004, 0.012) * (x1 - x0)
            spans.append((start, cut))
            start = cut + gap
        spans.append((start, x1))
    for a, b in spans:
        if b > a:
            draw.rectangle([round(a), round(y - width / 2), round(b), round(y - width / 2) + width - 1], fill=fill)


def _vline(draw: ImageDraw.ImageDraw, x: float, y0: float, y1: float, width: int, fill: int) -> None:
    draw.rectangle([round(x - width / 2), round(y0), round(x - width / 2) + width - 1, round(y1)], fill=fill)


def _seed_form(page: Image.Image, dpi: int) -> list[FormLine]:
    """The project's first sheet: title, letter, call to action and a 15-line NAME/SIGNATURE table."""
    draw = ImageDraw.Draw(page)
    inch = float(dpi)
    left, right, top = 0.5 * inch, 8.0 * inch, 0.45 * inch
    row_h, head_h, rows = 0.36 * inch, 0.3 * inch, 15
    table_bottom_max = (PAGE_IN[1] - 0.45) * inch
    title, letter = petition_text()
    bold_title = _font("roboto-bold", _pt(dpi, 13))
    action = _font("roboto-bold", _pt(dpi, 11))
    body_top = top + 0.32 * inch
    # Shrink the letter until title + letter + call to action + table fit above the bottom margin.
    size = 9.0
    while True:
        body = _font("roboto-regular", _pt(dpi, size))
        leading = _pt(dpi, size * 1.2)
        laid: list[tuple[float, float, str]] = []
        y = body_top
        for para in letter.split("\n"):
            if not para.strip():
                y += leading * 0.45
                continue
            indent = 0.18 * inch if para.startswith("- ") else 0.0
            text = "\u2022 " + para[2:] if indent else para
            for i, ln in enumerate(_wrap(draw, text, body, right - left - indent)):
                laid.append((left + (indent - 0.1 * inch if indent and not i else indent), y, ln))
                y += leading
        table_top = y + 0.45 * inch
        if table_top + head_h + rows * row_h <= table_bottom_max or size <= 6.0:
            break
        size -= 0.25
    draw.text((left, top), title, font=bold_title, fill=0)
    for x, y_line, ln in laid:
        draw.text((x, y_line), ln, font=body, fill=20)
    draw.text((left, table_top - 0.33 * inch), "SIGN THE PETITION OR ACT ONLINE!", font=action, fill=0)
    rule, ink = _pt(dpi, 0.75), 25
    num_w, name_w = 0.45 * inch, 3.35 * inch
    cols = [left, left + num_w, left + num_w + name_w, right]
    bottom = table_top + head_h + rows * row_h
    for x in cols:
        _vline(draw, x, table_top, bottom, rule, ink)
    head_font = _font("roboto-bold", _pt(dpi, 9))
    for label, x in (("NAME", cols[1]), ("SIGNATURE", cols[2])):
        draw.text((x + 0.08 * inch, table_top + head_h / 2), label, font=head_font, fill=0, anchor="lm")
    num_font = _font("roboto-regular", _pt(dpi, 9))
    lines = []
    for i in range(rows + 1):
        _hline(draw, left, right, table_top + head_h + i * row_h, rule, ink)
    _hline(draw, left, right, table_top, rule, ink)
    for i in range(rows):
        y0 = table_top + head_h + i * row_h
        draw.text((cols[1] - 0.08 * inch, y0 + row_h / 2), f"{i + 1}.", font=num_font, fill=0, anchor="rm")
        cells = {"number": Box(cols[0], y0, cols[1], y0 + row_h), "name": Box(cols[1], y0, cols[2], y0 + row_h),
                 "signature": Box(cols[2], y0, cols[3], y0 + row_h)}
        lines.append(FormLine(i + 1, Box(left, y0, right, y0 + row_h), cells))
    return lines


def _ballot_form(page: Image.Image, dpi: int, rng: random.Random) -> list[FormLine]:
    """A ballot-initiative style sheet: faint, thin, broken ruling and no side borders."""
    draw = ImageDraw.Draw(page)
    inch = float(dpi)
    left, right = 0.5 * inch, 8.0 * inch
    body = _font("roboto-regular", _pt(dpi, 9.5))
    y = 0.6 * inch
    for ln in _wrap(draw, BALLOT_TEXT, body, right - left):
        draw.text((left, y), ln, font=body, fill=15)
        y += _pt(dpi, 12)
    table_top, head_h, row_h, rows = y + 0.35 * inch, 0.45 * inch, 0.5 * inch, 12
    widths = (0.4, 2.0, 1.9, 1.9, 0.6, 0.7)
    labels = ("LINE", "PRINTED NAME OF PETITIONER", "SIGNATURE", "RESIDENCE ADDRESS", "ZIP", "DATE")
    roles = ("number", "name", "signature", "address", "zip", "date")
    cols = [left]
    for w in widths:
        cols.append(cols[-1] + w * inch)
    faint, rule = rng.randint(170, 190), _pt(dpi, 0.5)
    bottom = table_top + head_h + rows * row_h
    for x in cols[1:-1]:  # internal dividers only: no outer border left or right
        _vline(draw, x, table_top, bottom, rule, faint)
    for i in range(rows + 2):
        y_rule = table_top if i == 0 else table_top + head_h + (i - 1) * row_h
        _hline(draw, left, right, y_rule, rule, faint, rng)
    head_font = _font("roboto-bold", _pt(dpi, 6.5))
    for label, x0, x1 in zip(labels, cols, cols[1:]):
        wrapped = _wrap(draw, label, head_font, x1 - x0 - 0.08 * inch)
        lead = _pt(dpi, 7.5)
        y_text = table_top + head_h / 2 - lead * (len(wrapped) - 1) / 2
        for j, ln in enumerate(wrapped):
            draw.text(((x0 + x1) / 2, y_text + j * lead), ln, font=head_font, fill=10, anchor="mm")
    num_font = _font("roboto-regular", _pt(dpi, 9))
    lines = []
    for i in range(rows):
        y0 = table_top + head_h + i * row_h
        draw.text(((cols[0] + cols[1]) / 2, y0 + row_h / 2), str(i + 1), font=num_font, fill=10, anchor="mm")
        cells = {role: Box(cols[k], y0, cols[k + 1], y0 + row_h) for k, role in enumerate(roles)}
        lines.append(FormLine(i + 1, Box(left, y0, right, y0 + row_h), cells))
    return lines


def _stacked_form(page: Image.Image, dpi: int) -> list[FormLine]:
    """Two sub-rows per signer, each sub-cell with a small printed label; no header row."""
    draw = ImageDraw.Draw(page)
    inch = float(dpi)
    left, right = 0.5 * inch, 8.0 * inch
    draw.text((left, 0.55 * inch), "PETITION TO END MILITARIZED IMMIGRATION ENFORCEMENT",
              font=_font("roboto-bold", _pt(dpi, 13)), fill=0)
    draw.text((left, 0.55 * inch + _pt(dpi, 19)), "One signer per box. Please print clearly; email is optional.",
              font=_font("roboto-regular", _pt(dpi, 9)), fill=20)
    table_top, line_h, rows = 1.3 * inch, 1.0 * inch, 8
    num_w, top_div, bottom_div = 0.45 * inch, 4.85 * inch, 4.05 * inch
    rule, thin, ink = _pt(dpi, 0.8), _pt(dpi, 0.45), 20
    label_font = _font("roboto-regular", _pt(dpi, 6))
    num_font = _font("roboto-bold", _pt(dpi, 11))
    label_h = 0.13 * inch  # writing starts below the printed label
    pad = 0.04 * inch
    lines = []
    for i in range(rows):
        y0, y1 = table_top + i * line_h, table_top + (i + 1) * line_h
        mid = (y0 + y1) / 2
        _hline(draw, left, right, y0, rule, ink)
        _hline(draw, left + num_w, right, mid, thin, ink)  # thinner divider, does not cross the number column
        _vline(draw, left + num_w, y0, y1, rule, ink)
        _vline(draw, left + top_div, y0, mid, rule, ink)
        _vline(draw, left + bottom_div, mid, y1, rule, ink)
        draw.text((left + num_w / 2, (y0 + y1) / 2), f"{i + 1}.", font=num_font, fill=0, anchor="mm")
        subcells = {"name": Box(left + num_w, y0, left + top_div, mid), "email": Box(left + top_div, y0, right, mid),
                    "signature": Box(left + num_w, mid, left + bottom_div, y1),
                    "address": Box(left + bottom_div, mid, right, y1)}
        labels = {"name": "PRINTED NAME OF SIGNER", "email": "EMAIL", "signature": "SIGNATURE", "address": "ADDRESS"}
        for role, box in subcells.items():
            draw.text((box.x0 + pad, box.y0 + pad), labels[role], font=label_font, fill=30)
        cells = {"number": Box(left, y0, left + num_w, y1)}
        cells.update({role: replace(box, y0=box.y0 + label_h) for role, box in subcells.items()})
        lines.append(FormLine(i + 1, Box(left, y0, right, y1), cells))
    last = table_top + rows * line_h
    _hline(draw, left, right, last, rule, ink)
    _vline(draw, left, table_top, last, rule, ink)
    _vline(draw, right, table_top, last, rule, ink)
    return lines


# ---------------------------------------------------------------- handwriting


@dataclass(frozen=True)
class Ink:
    """A handwriting coverage mask (255 = ink) and the y of its baseline inside the mask."""

    mask: Image.Image
    baseline: float


def _text_ink(font: ImageFont.FreeTypeFont, text: str, stroke: int) -> Ink:
    """Render text into a tight mask, remembering where the baseline is."""
    x0, y0, x1, y1 = font.getbbox(text, anchor="ls", stroke_width=stroke)
    pad = 4 + stroke
    mask = Image.new("L", (int(x1 - x0) + 2 * pad, int(y1 - y0) + 2 * pad), 0)
    ImageDraw.Draw(mask).text((pad - x0, pad - y0), text, font=font, fill=255, anchor="ls",
                              stroke_width=stroke, stroke_fill=255)
    return Ink(mask, pad - y0)


def _rotated(ink: Ink, degrees: float) -> Ink:
    """Rotate about the centre; for small angles the baseline keeps its offset from the centre."""
    out = ink.mask.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)
    return Ink(out, out.height / 2 + ink.baseline - ink.mask.height / 2)


def _slanted(ink: Ink, slant: float) -> Ink:
    """Shear so the writing leans right by slant (dx per dy)."""
    w, h = ink.mask.size
    extra = int(abs(slant) * h) + 1
    data = (1, slant, -slant * h, 0, 1, 0)
    out = ink.mask.transform((w + extra, h), Image.Transform.AFFINE, data, resample=Image.Resampling.BICUBIC)
    return Ink(out, ink.baseline)


def _stamp(page: Image.Image, mask: Image.Image, x: float, y: float, gray: int) -> None:
    """Composite ink of a given gray through a coverage mask (clipped at the page edge)."""
    page.paste(gray, (round(x), round(y)), mask)


def _write_text(page: Image.Image, rng: random.Random, font_name: str, text: str, cell: Box, cap_frac: float,
                gray: int, stroke: int) -> None:
    """Write print-style handwriting in a cell: jittered start, baseline, size and angle."""
    margin = 0.06 * cell.h + 4
    size = cell.h * cap_frac / _cap_ratio(font_name) * rng.uniform(0.9, 1.1)
    ink = _text_ink(_font(font_name, round(size)), text, stroke)
    room = cell.w - 2 * margin
    if ink.mask.width > room:  # people squeeze long names into the box
        ink = _text_ink(_font(font_name, round(size * room / ink.mask.width)), text, stroke)
    cap = _cap_ratio(font_name) * size
    ink = _rotated(ink, rng.uniform(-2.0, 2.0))
    slack = max(0.0, cell.w - 2 * margin - ink.mask.width)
    x = cell.x0 + margin + slack * rng.uniform(0.0, 0.35)
    baseline = cell.y0 + (cell.h + cap) / 2 + rng.uniform(-0.06, 0.1) * cell.h
    _stamp(page, ink.mask, x, baseline - ink.baseline, gray)


def _write_signature(page: Image.Image, rng: random.Random, text: str, cell: Box, overflow: int, gray: int) -> None:
    """A larger, slanted script signature; overflow -1/+1 pushes it past the top/bottom ruling."""
    font_name = rng.choice(SIGNATURE_FONTS)
    ink = _text_ink(_font(font_name, round(cell.h * 1.2)), text, 0)
    ink = _rotated(_slanted(ink, rng.uniform(0.1, 0.35)), rng.uniform(-5.0, 4.0))
    mask = ink.mask.crop(ink.mask.getbbox())
    if overflow:
        height = cell.h * rng.uniform(1.0, 1.25)
        spill = cell.h * rng.uniform(0.2, 0.35)
        height = min(height, spill + 0.95 * cell.h)  # the bulk of the ink stays on its own line
    else:
        height = cell.h * rng.uniform(0.6, 0.88)
    width = mask.width * height / mask.height
    max_w = cell.w * rng.uniform(0.55, 0.9)
    if width > max_w:
        width, height = (max_w, height) if overflow else (max_w, height * max_w / width)
    mask = mask.resize((max(1, round(width)), max(1, round(height))), Image.Resampling.LANCZOS)
    x = cell.x0 + 0.05 * cell.w + rng.uniform(0.0, max(0.0, cell.w * 0.92 - width - 0.05 * cell.w))
    if overflow < 0:
        y = cell.y0 - spill
    elif overflow > 0:
        y = cell.y1 + spill - height
    else:
        y = cell.y0 + (cell.h - height) / 2 + rng.uniform(-0.06, 0.06) * cell.h
    _stamp(page, mask, x, y, gray)


def _strike(page: Image.Image, rng: random.Random, line: FormLine, gray: int, dpi: int) -> None:
    """One slightly slanted, slightly wavy pen stroke through the whole line."""
    box = line.box
    number = line.cells["number"]
    x0 = number.x0 + rng.uniform(0.2, 1.0) * number.w
    x1 = box.x1 - rng.uniform(-0.05, 0.15) * dpi
    # Stacked lines have a ruled divider in the middle; writers strike through the written name instead.
    y_mid = box.y0 + box.h * (rng.uniform(0.3, 0.42) if box.h > 0.8 * dpi else rng.uniform(0.42, 0.58))
    # Up to ±2°, but a writer keeps the stroke on the line: total drift stays within ~30% of its height.
    max_slope = min(math.tan(math.radians(2.0)), 0.3 * min(box.h, 0.5 * dpi) / (x1 - x0))
    slope = rng.uniform(-max_slope, max_slope)
    y_mid -= slope * (x1 - x0) / 2
    amp, phase, waves = rng.uniform(0.005, 0.02) * dpi, rng.uniform(0, math.tau), rng.uniform(1.0, 3.0)
    n = 60
    points = []
    for k in range(n + 1):
        t = k / n
        x = x0 + t * (x1 - x0)
        points.append((x, y_mid + slope * (x - x0) + amp * math.sin(phase + waves * math.tau * t)))
    ImageDraw.Draw(page).line(points, fill=gray, width=max(2, round(rng.uniform(0.018, 0.03) * dpi)), joint="curve")


def _stray_mark(page: Image.Image, rng: random.Random, cell: Box, gray: int, dpi: int) -> None:
    """A small dot or tick (< 0.08 in) left on an otherwise blank line."""
    draw = ImageDraw.Draw(page)
    cx = rng.uniform(cell.x0 + 0.1 * cell.w, cell.x1 - 0.1 * cell.w)
    cy = rng.uniform(cell.y0 + 0.3 * cell.h, cell.y1 - 0.3 * cell.h)
    if rng.random() < 0.5:
        r = rng.uniform(0.008, 0.02) * dpi
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=gray)
    else:
        s = rng.uniform(0.03, 0.07) * dpi
        draw.line([(cx - s * 0.4, cy - s * 0.2), (cx, cy + s * 0.4), (cx + s * 0.6, cy - s * 0.6)],
                  fill=gray, width=max(2, round(0.012 * dpi)), joint="curve")


# ---------------------------------------------------------------- content


def _statuses(rng: random.Random, count: int) -> list[str]:
    """A realistic status mix with at least one signed, name_only and blank line."""
    # Base weights sit a little under the targets because the fix-ups below add the missing kinds.
    weights = (0.59, 0.08, 0.045, 0.175, 0.045)
    statuses = rng.choices(STATUSES, weights=weights, k=count)
    required = ["signed", "name_only", "blank"]
    required += ["struck"] if rng.random() < 0.85 else []
    required += ["signature_only"] if rng.random() < 0.8 else []
    for status in required:
        if status in statuses:
            continue
        spare = [i for i, s in enumerate(statuses) if statuses.count(s) > 1]
        statuses[rng.choice(spare)] = status
    return statuses


def _person(rng: random.Random, roles: tuple[str, ...]) -> Person:
    """Invent a signer, their written name, signature text and other fields."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    while f"{first} {last}" in FAMOUS_NAMES:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.12 else ""
    caps = rng.random() < 0.5
    name = f"{first}{middle} {last}"
    sig_style = rng.random()
    signature = name if sig_style < 0.55 else f"{first[0]}. {last}" if sig_style < 0.8 else f"{first[0]} {last}"
    fields: dict[str, str] = {}
    for role in roles:
        if role == "address":
            unit = f" #{rng.randint(1, 40)}" if rng.random() < 0.12 else ""
            value = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}{unit}"
            fields[role] = value.upper() if caps else value
        elif role == "zip":
            fields[role] = f"{rng.randint(1001, 99950):05d}"
        elif role == "date":
            month, day = rng.randint(1, 3), rng.randint(1, 28)
            fields[role] = f"{month:02d}/{day:02d}/26" if rng.random() < 0.2 else f"{month}/{day}/26"
        elif role == "email":
            local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
            if rng.random() < 0.35:
                local = "".join(c for c in f"{first[0]}{last}".lower() if c.isalnum()) + str(rng.randint(1, 99))
            fields[role] = "" if rng.random() < 0.15 else f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    return Person(name.upper() if caps else name, signature, fields)


def _ink_gray(rng: random.Random) -> int:
    """Pen ink as it looks in grayscale: near-black ballpoint or dark blue."""
    return rng.randint(8, 40) if rng.random() < 0.6 else rng.randint(38, 70)


def _overflow(rng: random.Random, index: int, statuses: list[str], layout: str) -> int:
    """-1 / +1 to spill a signature up / down, favouring blank neighbours (the hard case)."""
    if rng.random() >= 0.25:
        return 0
    # In the stacked layout, "up" from the signature row is the same signer's name row.
    below_blank = index + 1 < len(statuses) and statuses[index + 1] == "blank"
    above_blank = index > 0 and statuses[index - 1] == "blank" and layout != "stacked"
    options = [d for d, ok in ((-1, above_blank), (1, below_blank)) if ok]
    if options and rng.random() < 0.65:
        return rng.choice(options)
    return rng.choice((-1, 1))


def render_sheet(layout: str, *, seed: int, name_font: str | None = None, dpi: int = 300,
                 returning: tuple[str, ...] = (), name_fonts: tuple[str, ...] = NAME_FONTS,
                 people: PeopleSource | None = None, pen: PenSource | None = None,
                 writer: Writer | None = None) -> tuple[Image.Image, SheetTruth]:
    """A clean, upright, grayscale ('L') letter-size (8.5x11 in) sheet at dpi, filled with synthetic handwriting.

    `returning` names people who already signed another sheet: they sign this one's first signed lines again
    (as a campaign sees it: the same person at two events), so the roster has duplicates to find.

    Hooks (samples/handwriting.py uses them; the defaults draw exactly what they always did): `name_fonts` the
    allowed name fonts, `people(rng, roles, font)` invents each line's signer, `pen(rng, dpi)` picks each line's
    (ink gray, stroke) and `writer(...)` writes the name and fields (signatures keep their own path).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    rng = random.Random(f"{layout}:{seed}")
    font_name = name_font or rng.choice(name_fonts)
    if font_name not in name_fonts:
        raise ValueError(f"unknown name font {font_name!r}")
    write = writer or _write_text
    page = Image.new("L", (round(PAGE_IN[0] * dpi), round(PAGE_IN[1] * dpi)), 255)
    if layout == "seed":
        form = _seed_form(page, dpi)
    elif layout == "ballot":
        form = _ballot_form(page, dpi, rng)
    else:
        form = _stacked_form(page, dpi)
    roles = FIELD_ROLES[layout]
    statuses = _statuses(rng, len(form))
    stroke_choices = (0, 0, max(1, round(dpi / 300)))
    truths = []
    again = list(returning)
    for index, (line, status) in enumerate(zip(form, statuses)):
        person = _person(rng, roles) if people is None else people(rng, roles, font_name)
        if status == "signed" and again:
            name = again.pop(0)
            person = Person(name, name.title() if name.isupper() else name, person.fields)
        gray, stroke = (_ink_gray(rng), rng.choice(stroke_choices)) if pen is None else pen(rng, dpi)
        writes_name = status in ("signed", "name_only", "struck")
        if writes_name:
            name_cap = rng.uniform(0.45, 0.6)
            write(page, rng, font_name, person.name, line.cells["name"], name_cap, gray, stroke)
            for role, value in person.fields.items():
                if value:
                    write(page, rng, font_name, value, line.cells[role], name_cap * 0.8, gray, stroke)
        if status in ("signed", "signature_only", "struck"):
            spill = _overflow(rng, index, statuses, layout)
            _write_signature(page, rng, person.signature, line.cells["signature"], spill, gray)
        if status == "struck":
            _strike(page, rng, line, gray, dpi)
        if status == "blank" and rng.random() < 0.35:
            _stray_mark(page, rng, line.cells[rng.choice(("name", "signature"))], gray, dpi)
        fields = {role: (person.fields[role] if writes_name else "") for role in roles}
        truths.append(LineTruth(line.number, status, person.name if writes_name else "", fields))
    return page, SheetTruth(layout, font_name, dpi, (), tuple(truths))


def degrade(image: Image.Image, truth: SheetTruth, *, seed: int, skew_deg: float = 0.0, rotate_quarters: int = 0,
            noise: bool = False, blur: bool = False, shadow: bool = False, photo: bool = False,
            dpi_out: int | None = None) -> tuple[Image.Image, SheetTruth]:
    """Scan/phone degradations; returns the new image and truth with degradations recorded. (Image may become RGB for photo.)"""
    result = _degrade.apply(image, truth.dpi, rng=np.random.default_rng(seed), skew_deg=skew_deg,
                            rotate_quarters=rotate_quarters, noise=noise, blur=blur, shadow=shadow, photo=photo,
                            dpi_out=dpi_out)
    return result.image, replace(truth, dpi=result.dpi, degradations=truth.degradations + result.tags)


# ---------------------------------------------------------------- sample sets


def _page_json(page: int, truth: SheetTruth) -> dict[str, object]:
    style = "print" if truth.name_font in PRINT_STYLE_FONTS else "casual"
    return {"page": page, "layout": truth.layout, "name_font": truth.name_font, "name_style": style, "dpi": truth.dpi,
            "degradations": list(truth.degradations), "lines": [asdict(line) for line in truth.lines]}


def _write_truth(out_dir: Path, files: dict[str, list[SheetTruth]]) -> None:
    """Write truth.json in the shared format (pages 1-based in file order)."""
    doc = {"version": 1, "files": {name: {"pages": [_page_json(i + 1, t) for i, t in enumerate(pages)]}
                                   for name, pages in files.items()}}
    (out_dir / "truth.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _jpeg(truth: SheetTruth, quality: int) -> SheetTruth:
    return replace(truth, degradations=truth.degradations + (f"jpeg:{quality}",))


def _sheet(layout: str, font: str, seed: int, dpi: int = 300, returning: tuple[str, ...] = (),
           **degradations: object) -> tuple[Image.Image, SheetTruth]:
    """Render and degrade one page of the demo set."""
    image, truth = render_sheet(layout, seed=seed, name_font=font, dpi=dpi, returning=returning)
    return degrade(image, truth, seed=seed + 7, **degradations) if degradations else (image, truth)  # type: ignore[arg-type]


def write_demo_set(out_dir: Path) -> None:
    """Writes the committed demo set + out_dir/truth.json (format below)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[SheetTruth]] = {}

    image, truth = _sheet("seed", "patrick-hand", 101)
    image.save(out_dir / "seed_clean.png", optimize=True, dpi=(truth.dpi, truth.dpi))
    files["seed_clean.png"] = [truth]

    returning = _returning_signers(truth)
    image, truth = _sheet("seed", "kalam", 102, returning=returning[:1], skew_deg=6.0, noise=True)
    image.save(out_dir / "seed_skewed.png", optimize=True, dpi=(truth.dpi, truth.dpi))
    files["seed_skewed.png"] = [truth]

    first, t1 = _sheet("seed", "architects-daughter", 103, dpi=200, rotate_quarters=2)
    second, t2 = _sheet("seed", "gochi-hand", 104, dpi=200, rotate_quarters=1, skew_deg=-3.0)
    first.save(out_dir / "seed_rotated.tif", save_all=True, append_images=[second], compression="tiff_lzw",
               dpi=(200, 200))
    files["seed_rotated.tif"] = [t1, t2]

    pages = [_sheet("ballot", "patrick-hand", 105, dpi=200, skew_deg=2.0),
             _sheet("ballot", "indie-flower", 106, dpi=200, skew_deg=-1.5, shadow=True),
             _sheet("ballot", "kalam", 107, dpi=200, returning=returning[1:], skew_deg=9.0)]
    pages[0][0].save(out_dir / "ballot_batch.pdf", "PDF", save_all=True, append_images=[p[0] for p in pages[1:]],
                     resolution=200, quality=85, creationDate=None, modDate=None)  # no dates: reproducible bytes
    files["ballot_batch.pdf"] = [_jpeg(t, 85) for _, t in pages]

    for name, layout, font, seed in (("ballot_phone.jpg", "ballot", "kalam", 108),
                                     ("seed_phone.jpg", "seed", "caveat", 111)):
        image, truth = _sheet(layout, font, seed, photo=True)
        image.save(out_dir / name, quality=80)
        files[name] = [_jpeg(truth, 80)]

    image, truth = _sheet("stacked", "patrick-hand", 109, skew_deg=-4.0, noise=True)
    image.save(out_dir / "stacked_scan.png", optimize=True, dpi=(truth.dpi, truth.dpi))
    files["stacked_scan.png"] = [truth]

    image, truth = _sheet("stacked", "architects-daughter", 110, skew_deg=12.0, blur=True, dpi_out=150)
    image.save(out_dir / "stacked_lowres.jpg", quality=80, dpi=(150, 150))
    files["stacked_lowres.jpg"] = [_jpeg(truth, 80)]

    order = ("seed_clean.png", "seed_skewed.png", "seed_rotated.tif", "ballot_batch.pdf", "ballot_phone.jpg",
             "stacked_scan.png", "stacked_lowres.jpg", "seed_phone.jpg")
    _write_truth(out_dir, {name: files[name] for name in order})


_NICKNAMES = {"Robert": "Bob", "William": "Bill", "James": "Jim", "Michael": "Mike", "Elizabeth": "Liz",
              "Katherine": "Kate", "Alexander": "Alex", "Margaret": "Peggy", "Richard": "Rick", "Joseph": "Joe"}


def _returning_signers(truth: SheetTruth) -> tuple[str, ...]:
    """Two people from a sheet who sign again elsewhere: once written the other case, once with a nickname
    or without their middle initial (how repeat signers really differ)."""
    signed = [line.name for line in truth.lines if line.status == "signed" and line.name]
    first, second = signed[0], signed[2 % len(signed)]
    recased = first.title() if first.isupper() else first.upper()
    given, *rest = second.split()
    nickname = _NICKNAMES.get(given.title())
    if nickname:
        varied = " ".join([nickname.upper() if second.isupper() else nickname, *rest])
    else:
        varied = " ".join([given, rest[-1]]) if len(rest) > 1 else f"{given} Q. {rest[-1]}"
    return recased, varied


def write_bench_set(out_dir: Path, count: int, *, seed: int = 1) -> list[Path]:
    """count clean-ish 300-dpi seed-layout PNG sheets (mild skew ±2°, light noise) + truth.json; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"bench:{seed}")
    files: dict[str, list[SheetTruth]] = {}
    paths = []
    for i in range(count):
        sheet_seed = seed * 100_003 + i
        image, truth = render_sheet("seed", seed=sheet_seed, name_font=NAME_FONTS[i % len(NAME_FONTS)])
        image, truth = degrade(image, truth, seed=sheet_seed, skew_deg=round(rng.uniform(-2.0, 2.0), 1), noise=True)
        path = out_dir / f"bench_{i + 1:04d}.png"
        image.save(path, optimize=True, dpi=(truth.dpi, truth.dpi))
        files[path.name] = [truth]
        paths.append(path)
    _write_truth(out_dir, files)
    return paths


def write_eval_set(out_dir: Path, count: int, *, seed: int = 7) -> list[Path]:
    """count varied sheets (every layout and name font, scan and photo degradations) + truth.json.

    Not committed: a larger, held-apart set for tuning and for `make eval`, rendered on demand.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"eval:{seed}")
    files: dict[str, list[SheetTruth]] = {}
    paths = []
    for i in range(count):
        layout = LAYOUTS[i % len(LAYOUTS)]
        font = NAME_FONTS[(i // len(LAYOUTS)) % len(NAME_FONTS)]
        sheet_seed = seed * 1_000_003 + i
        photo = rng.random() < 0.2
        options = dict(skew_deg=0.0 if photo else round(rng.uniform(-12.0, 12.0), 1),
                       rotate_quarters=0 if photo else rng.choice((0, 0, 0, 1, 2, 3)),
                       noise=rng.random() < 0.5, blur=rng.random() < 0.3, shadow=rng.random() < 0.3, photo=photo)
        image, truth = _sheet(layout, font, sheet_seed, dpi=rng.choice((200, 300)), **options)
        name = f"eval_{i + 1:04d}_{layout}.{'jpg' if photo else 'png'}"
        if photo:
            image.save(out_dir / name, quality=80)
            truth = _jpeg(truth, 80)
        else:
            image.save(out_dir / name, dpi=(truth.dpi, truth.dpi))
        files[name] = [truth]
        paths.append(out_dir / name)
    _write_truth(out_dir, files)
    return paths


def main(argv: list[str] | None = None) -> int:
    """CLI: write the demo set, or a bench set with --bench N, or a handwriting eval split."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--bench", type=int, metavar="N", help="write N bench sheets instead of the demo set")
    parser.add_argument("--eval", type=int, metavar="N", help="write N varied evaluation sheets instead")
    parser.add_argument("--handwriting-eval", type=int, metavar="N",
                        help="write N sheets in unseen handwriting fonts (samples/handwriting.py) instead")
    parser.add_argument("--split", choices=("calibration", "test"), help="font split for --handwriting-eval")
    parser.add_argument("--seed", type=int, default=1, help="bench/eval set seed")
    parser.add_argument("--repeat-share", type=float, default=0.0, metavar="F",
                        help="--handwriting-eval: about this share of signed lines are people who signed an "
                             "earlier sheet (truth gets person ids)")
    args = parser.parse_args(argv)
    if args.repeat_share and args.handwriting_eval is None:
        parser.error("--repeat-share goes with --handwriting-eval")
    if args.handwriting_eval is not None:
        if args.split is None:
            parser.error("--handwriting-eval needs --split calibration|test")
        from samples.handwriting import write_handwriting_eval_set

        for path in write_handwriting_eval_set(args.out_dir, args.handwriting_eval, split=args.split,
                                               seed=args.seed, repeat_share=args.repeat_share):
            print(path)
    elif args.eval is not None:
        for path in write_eval_set(args.out_dir, args.eval, seed=args.seed):
            print(path)
    elif args.bench is not None:
        for path in write_bench_set(args.out_dir, args.bench, seed=args.seed):
            print(path)
    else:
        write_demo_set(args.out_dir)
        print(args.out_dir / "truth.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
