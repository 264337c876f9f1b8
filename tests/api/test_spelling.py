"""The patterns of api/spelling.py against the ledger's parsers they stand for (api.md §1.2,
encoding.md §4): a text matches exactly when the parser takes it in form, so a request built
from the OpenAPI document is never refused for its shape, and one refused for its shape never
fits the document."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.spelling import LICENCE_ID_PATTERN, USE_ID_PATTERN, b64_pattern, decimal_pattern
from ledger.encoding import b64decode, b64encode
from ledger.errors import LedgerError
from ledger.ids import format_licence_id, parse_licence_id
from ledger.uses import parse_use_id


def matches(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def decodes(text: str) -> bool:
    try:
        b64decode(text)
        return True
    except LedgerError:
        return False


@settings(max_examples=300)
@given(st.binary(max_size=70))
def test_every_binary_value_matches_its_pattern_and_the_pattern_of_its_size_only(data):
    text = b64encode(data)
    assert matches(b64_pattern(), text) and matches(b64_pattern(len(data)), text)
    assert not matches(b64_pattern(len(data) + 1), text)


@settings(max_examples=500)
@given(st.text("AQgwBRhx09_-=+/", max_size=8))
def test_a_base64url_text_matches_the_pattern_exactly_when_the_ledger_decodes_it(text):
    assert matches(b64_pattern(), text) == decodes(text)


@pytest.mark.parametrize("text", ["AB", "AAB", "AAAAB", "AAAA="])
def test_texts_with_bits_beyond_the_data_or_a_dangling_character_do_not_match(text):
    assert not matches(b64_pattern(), text) and not decodes(text)


@pytest.mark.parametrize("maximum", [0, 1, 9, 10, 19, 99, 100, 909, 1000, 3070, 2**31, 2**53 - 1])
def test_decimal_pattern_matches_exactly_the_integers_up_to_the_maximum_in_their_one_spelling(maximum):
    exact = re.compile(f"(?:{decimal_pattern(maximum)})")
    samples = {*range(0, 1200), maximum - 1, maximum, maximum + 1, maximum * 10, maximum + 10**len(str(maximum))}
    for n in (s for s in samples if s >= 0):
        assert (exact.fullmatch(str(n)) is not None) == (n <= maximum), n
    assert not any(exact.fullmatch(t) for t in ("00", "01", "-1", "+1", " 1", "1 ", "1.0", ""))


@pytest.mark.parametrize("text", ["beijing-1:0", "beijing-1:42", "a:9007199254740991", "beijing-1:9007199254740992", "beijing-1:01", "B:1", "x:"])
def test_a_use_id_matches_its_pattern_exactly_when_it_parses(text):
    try:
        parse_use_id(text)
        parses = True
    except LedgerError:
        parses = False
    assert matches(USE_ID_PATTERN, text) == parses


@settings(max_examples=100)
@given(st.integers(0, 10**20 - 1), st.integers(1, 999))
def test_every_licence_id_matches_the_pattern(serial, version):
    assert matches(LICENCE_ID_PATTERN, format_licence_id("11100000000013338W041", "11110000962960950K", str(serial), f"{version:03d}"))


@pytest.mark.parametrize("text", [
    "1.2.156.3005.2.11100000000013338W041.11110000962960950K.1.000.U",  # version 000
    "1.2.156.3005.2.11100000000013338W041.1111000096296095OK.1.001.U",  # O is not of the USCC alphabet
    "1.2.156.3005.2.11100000000013338W04.11110000962960950K.1.001.U",  # a type code of 20 characters
])
def test_a_licence_id_of_the_wrong_shape_matches_no_pattern_and_does_not_parse(text):
    assert not matches(LICENCE_ID_PATTERN, text)
    with pytest.raises(LedgerError):
        parse_licence_id(text)
