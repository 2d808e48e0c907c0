"""Name parsing and matching keys: known answers, the fast path against nameparser, folding properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nameparser import parse

from pipeline.names import (
    _census_folder,
    _plain_parts,
    are_nicknames,
    fold,
    nickname_key,
    ocr_fold,
    parse_name,
    surname_frequency,
)


def _census(list_name: str, top: int) -> list[str]:
    lines = (_census_folder() / list_name).read_text().splitlines()[:top]
    return [line.split()[0].title() for line in lines]


FIRSTS = _census("dist.female.first", 300) + _census("dist.male.first", 300)
LASTS = _census("dist.all.last", 3000)


@pytest.mark.parametrize(("a", "b"), [
    ("José García", "Jose Garcia"),
    ("Bob Smith", "Robert Smith"),
    ("Bobby Smith", "Robert Smith"),
    ("Bill Jones", "William Jones"),
    ("Patrick O'Brien", "Patrick OBrien"),
    ("Patrick O’Brien", "PATRICK O'BRIEN"),
    ("Smith, John", "John Smith"),
    ("J0HN SMITH", "John Smith"),
    ("Zoë Müller", "Zoe Muller"),
    ("Søren Łukasz", "Soren Lukasz"),
])
def test_same_person_same_keys(a: str, b: str) -> None:
    x, y = parse_name(a), parse_name(b)
    assert (x.key_first, x.key_last, x.initials) == (y.key_first, y.key_last, y.initials)


@pytest.mark.parametrize(("a", "b"), [("Mary Smith", "Maria Smith"), ("Leah Ross", "Ashley Ross"),
                                      ("Bill Smith", "Bob Smith"), ("John Smith", "Joan Smith")])
def test_different_first_names_keep_different_keys(a: str, b: str) -> None:
    assert parse_name(a).key_first != parse_name(b).key_first


def test_all_caps_parses_like_title_case_and_keeps_the_writing() -> None:
    name = parse_name("MARIA  LOPEZ ")
    assert (name.first, name.middle, name.last) == ("Maria", "", "Lopez")
    assert name.written == "MARIA LOPEZ"
    assert parse_name("JEAN-PIERRE O'NEIL").first == "Jean-Pierre"
    assert parse_name("JEAN-PIERRE O'NEIL").last == "O'Neil"


def test_comma_order_and_middle_initial() -> None:
    name = parse_name("Roe, Jane Q.")
    assert (name.first, name.middle, name.last) == ("Jane", "Q.", "Roe")
    assert parse_name("Jane Q. Roe").middle == "Q."
    assert parse_name("Jane Q. Roe").initials == "jr"


def test_hyphenated_and_spaced_first_names_fold_alike() -> None:
    assert fold("Jean-Pierre") == "jean pierre"
    joined, spaced = parse_name("Jean-Pierre Dupont"), parse_name("Jean Pierre Dupont")
    assert joined.key_first == "jeanpierre"
    assert (spaced.first, spaced.middle) == ("Jean", "Pierre")  # nameparser's reading; dedupe compares whole names


def test_titles_and_suffixes_go_through_nameparser() -> None:
    name = parse_name("Dr. Martin Luther King Jr.")
    assert (name.first, name.middle, name.last) == ("Martin", "Luther", "King")
    assert parse_name("Maria de la Cruz").key_last == "delacruz"


def test_empty_and_odd_input_do_not_crash() -> None:
    for text in ("", "   ", "-", "12345", "李小龍", "Cher"):
        name = parse_name(text)
        assert name.initials == name.key_first[:1] + name.key_last[:1]


def test_ocr_fold_known_confusions() -> None:
    assert ocr_fold("J0hn") == ocr_fold("John")
    assert ocr_fold("Rnaria") == ocr_fold("Maria")
    assert ocr_fold("5ara") == ocr_fold("Sara")
    assert ocr_fold("Ro8ert") == ocr_fold("Robert")
    assert ocr_fold("Vvilliam") == ocr_fold("William")
    assert ocr_fold("Ian") == ocr_fold("lan") == ocr_fold("1an") == ocr_fold("|an")
    assert ocr_fold("Clark") != ocr_fold("Dark")  # cl -> d is deliberately not folded
    assert ocr_fold("John") != ocr_fold("Joan")


def test_nickname_keys() -> None:
    assert nickname_key("bob") == nickname_key("bobby") == nickname_key("robert") == "robert"
    assert nickname_key("bill") == nickname_key("william") == "william"
    assert nickname_key("jim") == "james"
    assert nickname_key("leah") == "leah"  # a common name in its own right stays itself
    assert nickname_key("mary") == "mary"
    assert nickname_key("j") == "j"
    assert are_nicknames("kate", "katherine") and are_nicknames("katherine", "kate")
    assert not are_nicknames("john", "mary")
    assert not are_nicknames("", "")


def test_surname_frequency() -> None:
    assert surname_frequency("smith") > 1.0
    assert surname_frequency("forcino") < 0.01 <= surname_frequency("erwin")  # listed, but rare (0.000%)
    assert surname_frequency("zzyzxq") == 0.0


def test_fast_path_agrees_with_nameparser_on_census_names() -> None:
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        first, last = rng.choice(FIRSTS), rng.choice(LASTS)
        middle = rng.choice(["", "", chr(rng.randrange(65, 91)) + ".", rng.choice(FIRSTS)])
        text = rng.choice([f"{first} {middle} {last}".replace("  ", " "), f"{last}, {first} {middle}".strip()])
        fast = _plain_parts(text)
        if fast is None:
            continue
        parsed = parse(text)
        assert fast == (parsed.given, parsed.middle, parsed.family), text
        checked += 1
    assert checked > 2500  # the fast path takes nearly all plain names


WORDS = st.sampled_from(FIRSTS + LASTS + ["Van", "De", "La", "Jr", "Iii", "Mac", "St", "Dr", "Mr", "Bin", "Abu",
                                          "O'Neil", "Smith-Jones", "José", "Nguyễn", "Ng", "Le", "Mc", "Y", "E"])
SHAPES = st.tuples(WORDS, WORDS, st.one_of(st.just(""), WORDS, st.sampled_from(["A.", "Q", "Z."])), st.booleans())


@settings(max_examples=300, deadline=None)
@given(SHAPES)
def test_fast_path_agrees_with_nameparser_on_tricky_words(shape: tuple[str, str, str, bool]) -> None:
    first, last, middle, comma = shape
    text = f"{last}, {first} {middle}".strip() if comma else " ".join(w for w in (first, middle, last) if w)
    fast = _plain_parts(text)
    if fast is not None:
        parsed = parse(text)
        assert fast == (parsed.given, parsed.middle, parsed.family)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_fold_is_idempotent_and_plain(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert ocr_fold(ocr_fold(text)) == ocr_fold(text)
    assert all(c.isalnum() or c == " " for c in folded)
    assert folded == folded.strip() and "  " not in folded
