"""ledger.ids: USCC (GB 32100), licence type codes and GB/T 36904 licence identifiers with the
ISO/IEC 7064 MOD 37,36 check character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.ids import (
    MOD37_36_ALPHABET,
    USCC_ALPHABET,
    LicenceId,
    complete_uscc,
    compute_uscc_check,
    format_licence_id,
    mod37_36_check,
    next_version,
    parse_licence_id,
    validate_type_code,
    validate_uscc,
)

# docs/spec/domain.md §2.
VECTOR = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
TYPE = "11100000000013338W032"
ISSUER = "11220000013544541J"
USCC = "91350100M000100Y43"  # valid per GB 32100 §5 (also tests/certs/test_uscc.py)

alnum = st.text(alphabet=MOD37_36_ALPHABET, min_size=1, max_size=60)


def reference_is_valid(text: str) -> bool:
    """ISO/IEC 7064 hybrid system, literally: P1 = M; S_j = ||P_j + a_j||_M (0 read as M);
    P_{j+1} = 2·S_j mod (M+1); a string with its check character is valid when the last
    S ≡ 1 (mod M). Here M = 36 and the check character is included as the last a_j."""
    m = 36
    p = m
    s = 0
    for ch in text:
        s = (p + MOD37_36_ALPHABET.index(ch)) % m or m
        p = (2 * s) % (m + 1)
    return s % m == 1


def code_of(exc_info) -> str:
    return exc_info.value.code


# -- MOD 37,36 -------------------------------------------------------------------------------


def test_mod37_36_check_gives_the_spec_vector():
    assert mod37_36_check(TYPE + ISSUER + "2430599" + "001") == "F"


def test_mod37_36_check_gives_the_grid_vector():
    # GRid (IFPI Global Release Identifier, which uses ISO 7064 MOD 37,36): A1-2425G-ABC1234002-M.
    assert mod37_36_check("A12425GABC1234002") == "M"


@settings(max_examples=300, deadline=None)
@given(alnum)
def test_mod37_36_check_is_the_only_valid_character(text):
    check = mod37_36_check(text)
    assert [c for c in MOD37_36_ALPHABET if reference_is_valid(text + c)] == [check]


@settings(max_examples=300, deadline=None)
@given(alnum, st.data())
def test_mod37_36_detects_every_single_character_change(text, data):
    full = text + mod37_36_check(text)
    position = data.draw(st.integers(0, len(full) - 1))
    replacement = data.draw(st.sampled_from(MOD37_36_ALPHABET).filter(lambda c: c != full[position]))
    changed = full[:position] + replacement + full[position + 1 :]
    assert not reference_is_valid(changed)
    assert mod37_36_check(changed[:-1]) != changed[-1]


def _state_before(text: str, index: int) -> int:
    p = 36
    for ch in text[:index]:
        p = (2 * ((p + MOD37_36_ALPHABET.index(ch)) % 36 or 36)) % 37
    return p


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=MOD37_36_ALPHABET, min_size=2, max_size=60), st.data())
def test_mod37_36_detects_adjacent_transpositions_except_the_known_pair(text, data):
    """A hybrid MOD 37,36 system misses a swap of adjacent a, b only when the running sums
    P + a and P + b are 18 and 19 (mod 36): 72 of the 45,360 (P, a, b) cases. Every other
    adjacent transposition of the payload is detected."""
    i = data.draw(st.integers(0, len(text) - 2))
    a, b = text[i], text[i + 1]
    if a == b:
        return
    swapped = text[:i] + b + a + text[i + 2 :]
    p = _state_before(text, i)
    sums = {(p + MOD37_36_ALPHABET.index(a)) % 36, (p + MOD37_36_ALPHABET.index(b)) % 36}
    assert (mod37_36_check(swapped) == mod37_36_check(text)) == (sums == {18, 19})


def test_mod37_36_undetected_transpositions_are_exactly_72_cases():
    def step(p: int, a: int) -> int:
        return (2 * ((p + a) % 36 or 36)) % 37

    missed = [(p, a, b) for p in range(1, 37) for a in range(36) for b in range(36) if a != b and step(step(p, a), b) == step(step(p, b), a)]
    assert len(missed) == 72
    assert all({(p + a) % 36, (p + b) % 36} == {18, 19} for p, a, b in missed)


def test_vector_transpositions_are_missed_only_where_the_theory_says():
    payload = TYPE + ISSUER + "2430599" + "001"
    missed, predicted = [], []
    for i in range(len(payload) - 1):
        a, b = payload[i], payload[i + 1]
        if a != b:
            if mod37_36_check(payload[:i] + b + a + payload[i + 2 :]) == "F":
                missed.append(i)
            p = _state_before(payload, i)
            if {(p + MOD37_36_ALPHABET.index(a)) % 36, (p + MOD37_36_ALPHABET.index(b)) % 36} == {18, 19}:
                predicted.append(i)
    assert missed == predicted == [35]  # "...544541J" -> "...544451J" keeps the check 'F'


@pytest.mark.parametrize("text", ["", "abc", "A-B", "Ä"])
def test_mod37_36_check_rejects_characters_outside_the_alphabet(text):
    with pytest.raises(ValidationError) as info:
        mod37_36_check(text)
    assert code_of(info) == "ids.bad_character"


# -- USCC ------------------------------------------------------------------------------------


def test_validate_uscc_accepts_valid_codes_exactly_as_given():
    assert validate_uscc(USCC) == USCC
    assert validate_uscc(ISSUER) == ISSUER


@pytest.mark.parametrize(
    "text, fragment",
    [
        (" 91350100M000100Y43", "has 19 characters"),
        ("91350100m000100Y43", "position 9"),
        ("91350100M000100Y44", "give '3'"),
        ("91350100M000100Y4Z", "check character 'Z' is not allowed"),
        (913501, "must be a string"),
    ],
)
def test_validate_uscc_rejects_and_names_the_field(text, fragment):
    with pytest.raises(ValidationError, match=fragment) as info:
        validate_uscc(text, "tx.body.uscc")
    assert code_of(info) == "ids.bad_uscc" and info.value.field == "tx.body.uscc"


def test_validate_uscc_reports_the_expected_check_character():
    with pytest.raises(ValidationError) as info:
        validate_uscc("91350100M000100Y44")
    assert info.value.expected == "3"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_complete_uscc_makes_valid_codes(body):
    code = complete_uscc(body)
    assert code[:17] == body and validate_uscc(code) == code
    assert compute_uscc_check(body) == code[-1]


# -- type codes ------------------------------------------------------------------------------


def test_validate_type_code_accepts_authority_uscc_and_three_digits():
    assert validate_type_code(TYPE) == TYPE


@pytest.mark.parametrize("text", [TYPE[:-1], TYPE + "1", TYPE[:-3] + "03A", "11100000000013338X032", 7, ISSUER])
def test_validate_type_code_rejects_bad_codes(text):
    with pytest.raises(ValidationError) as info:
        validate_type_code(text, "tx.body.code")
    assert code_of(info) == "ids.bad_type_code" and info.value.field == "tx.body.code"


# -- licence identifiers ---------------------------------------------------------------------


def test_parse_licence_id_reads_the_spec_vector():
    parsed = parse_licence_id(VECTOR)
    assert parsed == LicenceId(TYPE, ISSUER, "2430599", "001", "F")
    assert parsed.text == VECTOR
    assert parsed.payload == TYPE + ISSUER + "2430599001"


def test_format_licence_id_is_the_inverse_of_parse():
    assert format_licence_id(TYPE, ISSUER, "2430599", "001") == VECTOR


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=20), st.integers(1, 999))
def test_format_then_parse_round_trips(serial, version):
    text = format_licence_id(TYPE, ISSUER, serial, f"{version:03d}")
    parsed = parse_licence_id(text)
    assert (parsed.serial, parsed.version, parsed.text) == (serial, f"{version:03d}", text)


def test_parse_licence_id_names_the_expected_check_character():
    with pytest.raises(ValidationError) as info:
        parse_licence_id(VECTOR[:-1] + "G", "tx.body.id")
    assert code_of(info) == "ids.bad_check_character"
    assert info.value.expected == "F" and info.value.field == "tx.body.id"


@pytest.mark.parametrize(
    "text",
    [
        VECTOR.lower(),
        VECTOR.replace("1.2.156.3005.2.", "1.2.156.3005.3."),
        VECTOR.replace(".2430599.", ".123456789012345678901."),
        VECTOR.replace(".001.", ".01."),
        VECTOR.replace(".001.", ".000."),
        VECTOR.replace(ISSUER, ISSUER[:-1] + "K"),
        VECTOR.replace(TYPE, "11100000000013338X032"),
        VECTOR + ".",
        None,
    ],
)
def test_parse_licence_id_rejects_bad_forms(text):
    with pytest.raises(ValidationError) as info:
        parse_licence_id(text, "tx.body.id")
    assert code_of(info) == "ids.bad_licence_id" and info.value.field == "tx.body.id"


def test_format_licence_id_rejects_bad_parts():
    for args in ((TYPE, ISSUER, "", "001"), (TYPE, ISSUER, "12a", "001"), (TYPE, ISSUER, "1", "1"), (TYPE, ISSUER, "1", "000"), (TYPE, "X", "1", "001")):
        with pytest.raises(ValidationError) as info:
            format_licence_id(*args)
        assert code_of(info) == "ids.bad_licence_id"


def test_next_version_increments_and_recomputes_the_check():
    following = next_version(VECTOR)
    parsed = parse_licence_id(following)
    assert (parsed.serial, parsed.version) == ("2430599", "002")
    assert parsed.check == mod37_36_check(parsed.payload)
    assert next_version(parsed) == format_licence_id(TYPE, ISSUER, "2430599", "003")


def test_next_version_stops_after_999():
    last = format_licence_id(TYPE, ISSUER, "7", "999")
    with pytest.raises(ValidationError) as info:
        next_version(last)
    assert code_of(info) == "ids.version_exhausted"
