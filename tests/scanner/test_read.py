"""Line verdicts: status from the two ink verdicts, review reasons, name confidence."""

from __future__ import annotations

import itertools

import pytest

from scanner.ocr import OcrResult, TextKind
from scanner.fields import TESSERACT_ACCEPT_AT
from scanner.read import ReadSettings, decide_status, review_reasons
from scanner.textread import looks_like_name, text_confidence, tidy_text
from scanner.types import LineStatus, Presence, ReviewReason, TextRead

P, A, M = Presence.PRESENT, Presence.ABSENT, Presence.MARGINAL
S = LineStatus
R = ReviewReason

STATUS_TABLE = {
    (P, P): S.SIGNED, (P, A): S.NAME_ONLY, (A, P): S.SIGNATURE_ONLY, (A, A): S.BLANK,
    (M, P): S.UNCERTAIN, (M, A): S.UNCERTAIN, (P, M): S.UNCERTAIN, (A, M): S.UNCERTAIN, (M, M): S.UNCERTAIN,
}


@pytest.mark.parametrize(("name", "signature"), list(itertools.product(Presence, Presence)))
def test_decide_status_table(name, signature):
    assert decide_status(name, signature, False) is STATUS_TABLE[(name, signature)]
    assert decide_status(name, signature, True) is S.STRUCK


ACCEPT = 0.9


@pytest.mark.parametrize(
    ("status", "name", "signature", "confidence", "reasons"),
    [
        (S.SIGNED, P, P, 0.99, set()),
        (S.SIGNED, P, P, ACCEPT, set()),  # the threshold itself is accepted
        (S.SIGNED, P, P, ACCEPT - 0.01, {R.LOW_NAME_CONFIDENCE}),
        (S.NAME_ONLY, P, A, 0.99, {R.NAME_WITHOUT_SIGNATURE}),
        (S.NAME_ONLY, P, A, 0.10, {R.NAME_WITHOUT_SIGNATURE, R.LOW_NAME_CONFIDENCE}),
        (S.SIGNATURE_ONLY, A, P, 0.0, {R.SIGNATURE_WITHOUT_NAME}),
        (S.BLANK, A, A, 0.0, set()),
        (S.STRUCK, P, P, 0.0, {R.STRUCK}),
        (S.UNCERTAIN, P, M, 0.99, {R.MARGINAL_SIGNATURE}),
        (S.UNCERTAIN, M, P, 0.99, {R.MARGINAL_NAME}),
        (S.UNCERTAIN, M, M, 0.20, {R.MARGINAL_SIGNATURE, R.MARGINAL_NAME, R.LOW_NAME_CONFIDENCE}),
        (S.UNCERTAIN, A, M, 0.0, {R.MARGINAL_SIGNATURE}),
    ],
)
def test_review_reasons_table(status, name, signature, confidence, reasons):
    found = review_reasons(status, name, signature, TextRead("x", confidence), ACCEPT)
    assert set(found) == reasons
    assert len(found) == len(set(found))


@pytest.mark.parametrize(("name", "signature", "struck"), list(itertools.product(Presence, Presence, (False, True))))
def test_every_non_routine_status_goes_to_review(name, signature, struck):
    """Only signed and blank lines may be accepted by the machine alone."""
    status = decide_status(name, signature, struck)
    for confidence in (0.0, 0.5, 1.0):
        reasons = review_reasons(status, name, signature, TextRead("Ana Reyes", confidence), ACCEPT)
        if status not in (S.SIGNED, S.BLANK):
            assert reasons, (status, confidence)
        if Presence.MARGINAL in (name, signature):
            assert reasons


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria Lopez", True),
        ("MARIA LOPEZ", True),
        ("Jean-Pierre O'Brien", True),
        ("Aoife O'Neill", True),
        ("Luca D'Angelo", True),
        ("IRIS N'DIAYE", True),
        ("Noor N. Hussein", True),
        ("Ronald McDonald", True),
        ("Garcia-Lopez Ana", True),
        ("Maria", False),  # one part
        ("Ma1ria Lopez", False),  # digit
        ("mARIA lOPEZ", False),  # case noise
        ("Maria LoPeZ", False),
        ("a b", False),  # lower-case single letters
        ("Maria 1", False),
        ("Ana Maria de la Cruz Lopez", False),  # six parts
        ("", False),
    ],
)
def test_looks_like_name(text, expected):
    assert looks_like_name(text) is expected


def _reads(count: int, confidence: float = 95.0) -> list[OcrResult]:
    return [OcrResult("Maria Lopez", (confidence, confidence))] * count


def test_text_confidence_drops_when_reads_disagree():
    unanimous = text_confidence("Maria Lopez", _reads(3), 3, TextKind.NAME)
    majority = text_confidence("Maria Lopez", _reads(2), 3, TextKind.NAME)
    alone = text_confidence("Maria Lopez", _reads(1), 3, TextKind.NAME)
    assert 0.9 <= unanimous <= 1.0
    assert alone < majority < unanimous
    assert majority < TESSERACT_ACCEPT_AT


def test_text_confidence_drops_for_weak_words_and_non_names():
    strong = text_confidence("Maria Lopez", _reads(3), 3, TextKind.NAME)
    weak = text_confidence("Maria Lopez", _reads(3, confidence=40.0), 3, TextKind.NAME)
    noise = text_confidence("mAria lOpez", [OcrResult("mAria lOpez", (95.0, 95.0))] * 3, 3, TextKind.NAME)
    assert weak < strong and noise < strong
    assert all(0.0 <= c <= 1.0 for c in (strong, weak, noise))


def test_text_confidence_of_empty_read_is_zero():
    assert text_confidence("", [], 3, TextKind.NAME) == 0.0


def test_tidy_text_drops_edge_punctuation_and_a_lone_small_letter():
    assert tidy_text(" -Maria  Lopez. ", TextKind.NAME) == "Maria Lopez"
    assert tidy_text("Maria Lopez x", TextKind.NAME) == "Maria Lopez"
    assert tidy_text("a Pablo Owusu", TextKind.NAME) == "Pablo Owusu"
    assert tidy_text("12 Oak St A", TextKind.ADDRESS) == "12 Oak St A"


@pytest.mark.parametrize("read, fixed", [
    ("Patrice lonescu", "Patrice Ionescu"),  # a name starts with a capital: l is I
    ("KAl MCCARTHY", "KAI MCCARTHY"),  # printed in capitals: no small l
    ("Amelia Lill", "Amelia Lill"),  # a small l inside a word stays
    ("Jericho de los Santos", "Jericho de los Santos"),  # a lowercase particle keeps its l
    ("Ana de la Cruz", "Ana de la Cruz"),
    ("Maria Lopez", "Maria Lopez"),
])
def test_tidy_text_undoes_the_l_for_i_confusion(read, fixed):
    assert tidy_text(read, TextKind.NAME) == fixed


def test_a_page_that_takes_too_long_becomes_timed_out_not_an_exception():
    from dataclasses import replace

    from scanner import ingest
    from scanner.read import read_file_page
    from scanner.types import PageStatus
    from tests.support import SCANS

    ref = ingest.page_refs(SCANS / "seed_clean.png", pdf_dpi=200)[0]
    result = read_file_page(ref, settings=replace(ReadSettings(), page_timeout_s=0.01))
    assert result.status is PageStatus.TIMED_OUT
    assert result.lines == () and "seed_clean.png page 1" in result.message
    assert read_file_page(ref, settings=replace(ReadSettings(), page_timeout_s=60)).status is PageStatus.OK
