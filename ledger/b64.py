"""Binary values as text (docs/spec/encoding.md §4): base64url (RFC 4648 §5) without padding,
with exactly one text form per byte string.

Re-exported by `ledger.encoding`, whose canonical encoding carries every binary value this way.
This module must never accept padding, the standard alphabet's '+' and '/', or a text whose unused
trailing bits are not zero.
"""

from __future__ import annotations

import binascii
import re

from ledger.errors import EncodingError

_B64_NOT_ALPHABET = re.compile(r"[^A-Za-z0-9_-]")
_B64_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_B64_FROM_URLSAFE = str.maketrans("-_", "+/")
_B64_FROM_URLSAFE_BYTES = bytes.maketrans(b"-_", b"+/")


def b64encode(data: bytes) -> str:
    """The one text form of `data`: base64url (RFC 4648 §5) without padding.

    Precondition: `data` is bytes-like (TypeError otherwise).
    """
    encoded = binascii.b2a_base64(data, newline=False)
    return encoded.translate(_B64_TO_URLSAFE).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, field: str = "$") -> bytes:
    """The bytes whose one text form (§4) is `text`; `field` names it in errors.

    Raises EncodingError: `encoding.type` (not a str), `encoding.base64_padding` ("=" present),
    `encoding.base64_alphabet` (a character outside A-Z a-z 0-9 - _, with its `offset`),
    `encoding.base64_length` (length ≡ 1 mod 4), `encoding.base64_bits` (unused trailing bits
    not zero, so `text` is not the canonical form of any byte string).
    """
    if type(text) is not str:
        raise EncodingError(
            f"{field} must be a base64url string, got {type(text).__name__}", code="encoding.type", path=field
        )
    # Fast path: decode strictly and accept only if re-encoding gives `text` back (then it is the
    # one text form); anything else is explained by the checks below.
    try:
        raw = text.encode("ascii")
        data = binascii.a2b_base64(raw.translate(_B64_FROM_URLSAFE_BYTES) + b"=" * (-len(raw) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        pass
    else:
        if binascii.b2a_base64(data, newline=False).translate(_B64_TO_URLSAFE).rstrip(b"=") == raw:
            return data
    bad = _B64_NOT_ALPHABET.search(text)
    if bad is not None:
        if bad.group() == "=":
            raise EncodingError(
                f"{field} has base64 padding '=' at offset {bad.start()}; eledger uses unpadded base64url",
                code="encoding.base64_padding",
                path=field,
                offset=bad.start(),
            )
        raise EncodingError(
            f"{field} has {bad.group()!r} at offset {bad.start()}, "
            "outside the base64url alphabet A-Z a-z 0-9 - _",
            code="encoding.base64_alphabet",
            path=field,
            offset=bad.start(),
        )
    remainder = len(text) % 4
    if remainder == 1:
        raise EncodingError(
            f"{field} has length {len(text)} ≡ 1 (mod 4), which no byte string encodes to",
            code="encoding.base64_length",
            path=field,
        )
    data = binascii.a2b_base64((text + "=" * (-len(text) % 4)).translate(_B64_FROM_URLSAFE))
    if remainder and b64encode(data) != text:
        raise EncodingError(
            f"{field} ends in {text[-1]!r} whose unused low bits are not zero; the canonical form is "
            f"{b64encode(data)!r}",
            code="encoding.base64_bits",
            path=field,
        )
    return data
