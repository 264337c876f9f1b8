"""ledger.base45 (RFC 9285): the RFC's own examples, a literal reference implementation, and
strict decoding (alphabet, length, group overflow)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.base45 import ALPHABET, b45decode, b45encode
from ledger.errors import EncodingError

# RFC 9285 §4.3 (encoding examples) and §4.4 (decoding example).
RFC_9285_VECTORS = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")]


def reference_encode(data: bytes) -> str:
    """RFC 9285 §4 read literally: pairs as a·256 + b = c + d·45 + e·45², a last byte as c + d·45."""
    out = ""
    for i in range(0, len(data), 2):
        chunk = data[i:i + 2]
        n = int.from_bytes(chunk, "big")
        digits = 3 if len(chunk) == 2 else 2
        for _ in range(digits):
            out += ALPHABET[n % 45]
            n //= 45
    return out


@pytest.mark.parametrize(("data", "text"), RFC_9285_VECTORS)
def test_b45encode_and_b45decode_agree_with_rfc_9285_examples(data, text):
    assert b45encode(data) == text
    assert b45decode(text) == data


def test_alphabet_is_the_rfc_9285_table():
    assert len(ALPHABET) == 45 and len(set(ALPHABET)) == 45
    assert ALPHABET[36] == " " and ALPHABET[44] == ":"


@given(st.binary(max_size=300))
def test_b45encode_matches_the_reference_and_round_trips(data):
    assert b45encode(data) == reference_encode(data)
    assert b45decode(b45encode(data)) == data


def test_b45decode_rejects_characters_outside_the_alphabet_naming_the_position():
    for text, position in (("bb8", 0), ("BB8a", 3), ("BB\n", 2), ("BB8ÄÄ", 3)):
        with pytest.raises(EncodingError) as err:
            b45decode(text)
        assert err.value.code == "base45.bad_character" and err.value.position == position


def test_b45decode_rejects_a_dangling_character():
    with pytest.raises(EncodingError) as err:
        b45decode("BB8B")
    assert err.value.code == "base45.bad_length"


def test_b45decode_rejects_groups_beyond_their_bytes():
    with pytest.raises(EncodingError) as err:
        b45decode("ZZZ")  # RFC 9285 §4.3: 91124 > 65535
    assert (err.value.code, err.value.position) == ("base45.overflow", 0)
    with pytest.raises(EncodingError) as err:
        b45decode("BB8:6")  # a last pair of value 6·45 + 44 = 314 > 255
    assert (err.value.code, err.value.position) == ("base45.overflow", 3)
    assert b45decode("FGW") == b"\xff\xff" and b45decode("U5") == b"\xff"


def test_b45decode_refuses_non_text():
    with pytest.raises(EncodingError) as err:
        b45decode(b"BB8")  # type: ignore[arg-type]
    assert err.value.code == "base45.type"
