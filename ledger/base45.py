"""Base45 (RFC 9285): bytes as text of the 45 characters a QR code holds in alphanumeric mode.

Each pair of bytes [a, b] is n = a·256 + b, written as three characters c, d, e with
n = c + d·45 + e·45² (least significant first); a last single byte as two characters (RFC 9285
§4). Decoding is strict: only the 45 characters of `ALPHABET` (upper-case letters, no lower-case
alias), a length that is not 1 mod 3, and no group whose value exceeds what its bytes can hold
(RFC 9285 §4.3: "ZZZ" is 91124 > 65535). Errors are EncodingError `base45.*` naming the
character position. Pure functions; nothing here trims or upper-cases input.
"""

from __future__ import annotations

from ledger.errors import EncodingError

#: RFC 9285 §4: the 45 characters, each at its value.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}


def b45encode(data: bytes) -> str:
    """The base45 text of `data` (RFC 9285 §4.2)."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        e, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[e])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The bytes whose base45 text is `text` (RFC 9285 §4.3).

    Raises EncodingError "base45.bad_character" (with `position`, 0-based, of the first
    character outside ALPHABET), "base45.bad_length" (length 1 mod 3: a dangling character) or
    "base45.overflow" (with `position` of the group whose value exceeds 65535, or 255 for a
    last pair)."""
    if not isinstance(text, str):
        raise EncodingError("base45 input must be text", code="base45.type")
    values = []
    for position, ch in enumerate(text):
        value = _VALUES.get(ch)
        if value is None:
            raise EncodingError(f"character {position} is not one of the 45 base45 characters", code="base45.bad_character", position=position)
        values.append(value)
    if len(values) % 3 == 1:
        raise EncodingError(f"base45 text of {len(values)} characters: a length 1 mod 3 leaves a dangling character", code="base45.bad_length", length=len(values))
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i:i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise EncodingError(f"base45 group at character {i} has value {n}; at most 65535", code="base45.overflow", position=i)
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise EncodingError(f"base45 last pair at character {i} has value {n}; at most 255", code="base45.overflow", position=i)
            out.append(n)
    return bytes(out)
