"""Tests of ledger/b64.py: binary values as unpadded base64url, one text form each
(docs/spec/encoding.md §4)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.b64 import b64decode, b64encode
from ledger.errors import EncodingError


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"), (b"fooba", "Zm9vYmE"),
     (b"foobar", "Zm9vYmFy"), (b"\xfb\xff", "-_8"), (b"\xff\xef\xbe", "_---")],
)
def test_b64_rfc4648_vectors_without_padding(data: bytes, text: str) -> None:
    assert b64encode(data) == text
    assert b64decode(text) == data


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Zg==", "encoding.base64_padding"),
        ("Zm9v=", "encoding.base64_padding"),
        ("Zm9+", "encoding.base64_alphabet"),
        ("Zm9/", "encoding.base64_alphabet"),
        ("Zm 9v", "encoding.base64_alphabet"),
        ("Zm9v\n", "encoding.base64_alphabet"),
        ("Zm9é", "encoding.base64_alphabet"),
        ("Z", "encoding.base64_length"),
        ("Zm9vY", "encoding.base64_length"),
        ("Zh", "encoding.base64_bits"),
        ("Zm9", "encoding.base64_bits"),
        ("-_9", "encoding.base64_bits"),
    ],
)
def test_b64decode_rejects_non_canonical_text(text: str, code: str) -> None:
    with pytest.raises(EncodingError) as caught:
        b64decode(text, field="$.body.sig")
    assert caught.value.code == code
    assert caught.value.path == "$.body.sig"


def test_b64decode_rejects_non_string() -> None:
    with pytest.raises(EncodingError) as caught:
        b64decode(b"Zg")  # type: ignore[arg-type]
    assert caught.value.code == "encoding.type"


def test_b64decode_accepts_exactly_one_two_character_form_per_byte() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    accepted: dict[bytes, str] = {}
    for first in alphabet:
        for second in alphabet:
            try:
                data = b64decode(first + second)
            except EncodingError as error:
                assert error.code == "encoding.base64_bits"
                continue
            assert data not in accepted
            accepted[data] = first + second
    assert sorted(accepted) == [bytes([byte]) for byte in range(256)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_b64_round_trips_and_matches_stdlib(data: bytes) -> None:
    text = b64encode(data)
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64decode(text) == data


@settings(max_examples=300, deadline=None)
@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=12))
def test_b64decode_accepts_only_the_one_text_form(text: str) -> None:
    try:
        data = b64decode(text)
    except EncodingError as error:
        assert error.code in ("encoding.base64_length", "encoding.base64_bits")
    else:
        assert b64encode(data) == text
