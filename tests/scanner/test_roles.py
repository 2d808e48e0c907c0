"""Roles: header and label words name a column, tolerating OCR slips."""

from __future__ import annotations

import pytest

from scanner.roles import role_from_text
from scanner.types import Role


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("PRINTED NAME OF PETITIONER", Role.NAME),
        ("PRINTED NAME OF SIGNER", Role.NAME),
        ("Name", Role.NAME),
        ("SIGNATURE OF PETITIONER", Role.SIGNATURE),
        ("SIGNATURE", Role.SIGNATURE),
        ("SIGNATIJRE", Role.SIGNATURE),  # OCR slip
        ("SIGN ATURE", Role.SIGNATURE),  # OCR splits a word (seen on 200-dpi stacked sheets)
        ("EM AIL", Role.EMAIL),  # the same slip on the stacked sheet's EMAIL label
        ("RESIDENCE ADDRESS", Role.ADDRESS),
        ("STREET", Role.ADDRESS),
        ("ZIP", Role.ZIP),
        ("E-MAIL", Role.EMAIL),
        ("email", Role.EMAIL),
        ("DATE", Role.DATE),
        ("WARD", Role.WARD),
        ("LINE", Role.LINE_NUMBER),
        ("hello", None),
        ("", None),
        ("ZAP", None),  # short keywords must match exactly
        ("SIGNATURE AND ADDRESS OF PETITIONER", Role.SIGNATURE),  # where people sign, never the address
        ("DATE SIGNED", Role.DATE),
        # Two columns read as one (their divider missed): the name is written at the cell's left.
        ("PRINTED NAME OF PETITIONER SIGNATURE", Role.NAME),
        ("SIGNATURE / PRINTED NAME", Role.SIGNATURE),
    ],
)
def test_role_from_text(text, role):
    assert role_from_text(text) is role


def test_a_header_box_squeezed_to_nothing_is_blank_not_a_crash():
    """Regression: a phone photo's header box cut to zero height at the page edge crashed the page."""
    import numpy as np

    from scanner.grid import Masks
    from scanner.roles import _clean
    from scanner.types import Box

    gray = np.full((50, 80), 255, np.uint8)
    empty = np.zeros_like(gray)
    crop = _clean(gray, Masks(empty, empty, empty, empty), Box(10, 20, 60, 20))
    assert crop.size >= 1 and int(crop.min()) == 255


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("SIGNATURE AND ADDRESS OF PETITIONER", (Role.SIGNATURE, Role.ADDRESS)),
        ("NAME AND ADDRESS", (Role.NAME, Role.ADDRESS)),
        ("ADDRESS / SIGNATURE", (Role.ADDRESS, Role.SIGNATURE)),
        ("PRINTED NAME OF SIGNER", (Role.NAME,)),
        ("DATE SIGNED", (Role.DATE,)),
        ("", ()),
    ],
)
def test_roles_in_text_in_reading_order(text, roles):
    from scanner.roles import roles_in_text

    assert roles_in_text(text) == roles


# The city form's columns: number | signature over address | printed name | date | ward.
_SPLIT = 0.49


def _city_slots():
    from scanner.grid import Slot

    return {"number": Slot(0, 0, 70, 0.0, 1.0), "signature": Slot(0, 70, 760, 0.0, _SPLIT),
            "name": Slot(0, 760, 1200, 0.0, 1.0), "date": Slot(0, 1200, 1360, 0.0, 1.0),
            "ward": Slot(0, 1360, 1500, 0.0, 1.0), "address": Slot(1, 70, 760, _SPLIT, 1.0)}


def _headings(**columns: str):
    from scanner.roles import _Heading, role_from_text, roles_in_text

    slots = _city_slots()
    return {(slots[key].x0, slots[key].x1): _Heading(role_from_text(text), roles_in_text(text))
            for key, text in columns.items()}


_CITY_HEADER = {"signature": "SIGNATURE AND ADDRESS OF PETITIONER", "name": "PRINTED NAME OF PETITIONER",
                "date": "DATE SIGNED", "ward": "WARD"}


def _named(label_roles, headings):
    from scanner.roles import _with_header_roles

    slots = _city_slots()
    named = _with_header_roles(list(slots.values()), {slots[k]: label_roles.get(k) for k in slots}, headings)
    return {key: named[slot] for key, slot in slots.items()}


def test_header_alone_names_a_column_of_sub_rows_top_to_bottom():
    """No in-cell labels (a phone photo's are too small to read): the two-line header names every column, and
    "SIGNATURE AND ADDRESS" over the split cell gives the signature on top and the address below."""
    named = _named({}, _headings(**_CITY_HEADER))
    assert named == {"number": None, "signature": Role.SIGNATURE, "address": Role.ADDRESS, "name": Role.NAME,
                     "date": Role.DATE, "ward": Role.WARD}


def test_labels_and_header_together():
    """In-cell labels name their own cells; the header names the columns without (DATE, WARD)."""
    labels = {"signature": Role.SIGNATURE, "address": Role.ADDRESS, "name": Role.NAME}
    named = _named(labels, _headings(**_CITY_HEADER))
    assert named == {"number": None, "signature": Role.SIGNATURE, "address": Role.ADDRESS, "name": Role.NAME,
                     "date": Role.DATE, "ward": Role.WARD}


def test_a_header_naming_signature_and_address_over_a_whole_cell_is_the_signature():
    from scanner.grid import Slot
    from scanner.roles import _Heading, _with_header_roles, roles_in_text

    cell = Slot(0, 70, 760, 0.0, 1.0)
    heading = _Heading(Role.SIGNATURE, roles_in_text("SIGNATURE AND ADDRESS"))
    assert _with_header_roles([cell], {cell: None}, {(70, 760): heading}) == {cell: Role.SIGNATURE}


def test_a_header_that_contradicts_the_labels_is_not_used():
    """Text above the table that is no header (a title, an instruction) must not name the unlabelled cells."""
    labels = {"signature": Role.SIGNATURE, "address": Role.ADDRESS, "name": Role.NAME}
    named = _named(labels, _headings(name="EMAIL IS OPTIONAL", date="DATE", ward="WARD"))
    assert named["date"] is None and named["ward"] is None


def test_a_role_a_label_names_is_not_given_again_by_the_header():
    labels = {"signature": Role.SIGNATURE, "address": Role.ADDRESS, "name": Role.NAME}
    named = _named(labels, _headings(name="PRINTED NAME", date="NAME", ward="WARD"))
    assert named["date"] is None and named["ward"] is Role.WARD


def test_a_header_tesseract_cannot_read_is_read_by_pp_ocr():
    """The sample phone photo's "ZIP" header is a blurred blot of three letters that Tesseract reads as nothing at
    every size: the zip column was left unnamed and no zip of the sheet was read."""
    import cv2

    from scanner.types import Role
    from tests.support import SCANS, read_gray

    gray = cv2.imread(str(SCANS / "ballot_phone.jpg"), cv2.IMREAD_GRAYSCALE)
    result = read_gray(gray)
    assert Role.ZIP in result.roles, result.roles
    first = next(line for line in result.lines if line.line == 1)
    assert first.fields[Role.ZIP].text == "21576"  # as written (samples/scans/truth.json)


@pytest.mark.parametrize(("reading", "kept"), [
    ("ZIP", "ZIP"), ("PRINTED NAME OF PETITIONER", "PRINTED NAME OF PETITIONER"),
    # the petition's prose above a table, read well: "sigate" (from "investigate") looks like SIGNATURE to the
    # fuzzy match Tesseract's slips need, and made a name column a signature column on a held-out sheet
    ("sigate ever exessive use of for", ""), ("We the undersigned call on the Secretary of State to", ""),
])
def test_the_header_fallback_counts_only_a_label_that_names_a_role_exactly(reading, kept):
    import numpy as np

    from scanner.grid import Masks
    from scanner.ocr import OcrResult
    from scanner.roles import _Naming, _read_header_again
    from scanner.scale import WORK_UNIT
    from scanner.settings import LayoutSettings
    from scanner.types import Box

    class Fallback:
        def read_line(self, image, *, kind):
            return OcrResult(reading, (90.0,), (90.0,) * len(reading))

    gray = np.full((80, 300), 255, np.uint8)
    gray[30:50, 40:200] = 20  # some print in the header cell
    empty = np.zeros_like(gray)
    naming = _Naming(gray, Masks(empty, empty, empty, empty), None, LayoutSettings(), WORK_UNIT, Fallback())
    assert _read_header_again(naming, Box(0, 0, 300, 80)) == kept


def test_an_in_cell_label_tesseract_cannot_read_is_read_by_pp_ocr():
    """On the calibration split's stacked phone photos Tesseract read the small EMAIL label printed in every
    line as "AL" or nothing, so the email sub-cell had no role and no email of the sheet was read. The label
    template (what every line has printed, never handwriting) is read again by PP-OCR's v6-small. Here
    Tesseract is made to miss that label on a blank stacked form; the real v6-small names it."""
    from scanner.grid import find_grid, ruling_masks
    from scanner.handwriting import PpOcrEngine
    from scanner.normalize import normalize
    from scanner.ocr import OcrResult, default_engine
    from scanner.pp_ocr import shared_recognizer
    from scanner.roles import build_layout
    from tests.support import blank_form, page_from_array, to_gray

    tesseract = default_engine()

    class MissesEmail:
        def read_line(self, image, *, kind):
            result = tesseract.read_line(image, kind=kind)
            return OcrResult("", (), ()) if role_from_text(result.text) is Role.EMAIL else result

    upright = normalize(page_from_array(to_gray(blank_form("stacked")[0]))).gray
    masks = ruling_masks(upright)
    grid = find_grid(masks)
    without = build_layout(upright, masks, grid, MissesEmail())
    assert Role.EMAIL not in {f.role for f in without.fields}  # the miss is real: nothing else names the cell
    found = build_layout(upright, masks, grid, MissesEmail(), header_fallback=PpOcrEngine(shared_recognizer()))
    assert Role.EMAIL in {f.role for f in found.fields}
    assert {f.role for f in found.fields} - {Role.OTHER} == {f.role for f in build_layout(
        upright, masks, grid, tesseract).fields} - {Role.OTHER}


@pytest.mark.parametrize(("reading", "kept"), [
    ("EMAL", "EMAL"),  # its thin I lost: matched as Tesseract's slips are, in a template only print survives
    ("EMAIL", "EMAIL"),
    ("We the undersigned call on the Secretary of State to", ""),  # more words than a label has
    ("Ticket", ""),
])
def test_the_label_template_fallback_matches_roles_as_tesseracts_readings_are(reading, kept):
    import numpy as np

    from scanner.grid import Masks
    from scanner.ocr import OcrResult
    from scanner.roles import _Naming, _read_print_again
    from scanner.scale import WORK_UNIT
    from scanner.settings import LayoutSettings

    class Fallback:
        def read_line(self, image, *, kind):
            return OcrResult(reading, (90.0,), (90.0,) * len(reading))

    template = np.full((80, 300), 255, np.uint8)
    template[30:50, 40:200] = 20  # the print every line has
    empty = np.zeros_like(template)
    naming = _Naming(template, Masks(empty, empty, empty, empty), None, LayoutSettings(), WORK_UNIT, Fallback())
    assert _read_print_again(naming, template, exact=False) == kept
