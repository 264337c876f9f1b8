"""certs.uscc: GB 32100-2015 unified social credit code check character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.errors import CertError
from certs.uscc import ALPHABET, WEIGHTS, complete_uscc, compute_check_character, validate_uscc

# A code of the real form (category 91 enterprise, division 350100), valid per GB 32100 §5.
VALID = "91350100M000100Y43"


def reference_is_valid(code: str) -> bool:
    """Literal restatement of GB 32100 §5: Σ v_i·w_i over 17 chars + v_18 ≡ 0 (mod 31)."""
    values = [ALPHABET.index(c) for c in code]
    return (sum(v * w for v, w in zip(values[:17], WEIGHTS, strict=True)) + values[17]) % 31 == 0


def test_weights_are_powers_of_three_mod_31():
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert len(ALPHABET) == 31 and not set("IOSVZ") & set(ALPHABET)


def test_validate_uscc_accepts_published_example():
    assert validate_uscc(VALID) == VALID
    assert reference_is_valid(VALID)


def test_validate_uscc_returns_canonical_upper_case():
    assert validate_uscc(" 91350100m000100y43 ") == VALID


@pytest.mark.parametrize("position", range(18))
def test_validate_uscc_rejects_every_one_char_mutation(position):
    for replacement in ALPHABET:
        if replacement == VALID[position]:
            continue
        mutated = VALID[:position] + replacement + VALID[position + 1 :]
        with pytest.raises(CertError) as info:
            validate_uscc(mutated)
        assert info.value.code == "cert.bad_uscc"


def test_validate_uscc_rejects_adjacent_transposition():
    mutated = VALID[:8] + VALID[9] + VALID[8] + VALID[10:]
    assert mutated != VALID
    with pytest.raises(CertError, match="check character"):
        validate_uscc(mutated)


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("91350100M000100Y4", "has 17 characters"),
        ("91350100M000100Y433", "has 19 characters"),
        ("91350100M0001O0Y43", "position 14"),
        ("91350100I000100Y43", "position 9"),
        ("91350100M000100Y4Z", "check character 'Z' is not allowed"),
        ("", "has 0 characters"),
    ],
)
def test_validate_uscc_explains_malformed_codes(code, fragment):
    with pytest.raises(CertError, match=fragment) as info:
        validate_uscc(code)
    assert info.value.code == "cert.bad_uscc"


def test_validate_uscc_rejects_non_string():
    with pytest.raises(CertError) as info:
        validate_uscc(913501)  # type: ignore[arg-type]
    assert info.value.code == "cert.bad_uscc"


def test_compute_check_character_rejects_wrong_length():
    with pytest.raises(CertError, match="17 characters"):
        compute_check_character("123")


@settings(max_examples=250, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_complete_uscc_agrees_with_reference(body):
    code = complete_uscc(body)
    assert code[:17] == body
    assert reference_is_valid(code)
    assert validate_uscc(code) == code


@settings(max_examples=250, deadline=None)
@given(
    st.text(alphabet=ALPHABET, min_size=17, max_size=17),
    st.integers(0, 17),
    st.integers(1, 30),
)
def test_validate_uscc_detects_any_single_substitution(body, position, shift):
    code = complete_uscc(body)
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not reference_is_valid(mutated)
    with pytest.raises(CertError):
        validate_uscc(mutated)
