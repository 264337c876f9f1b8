"""Signature suites, the domain-separated bytes every signature covers, and signature values
(docs/spec/crypto.md §1–§3).

Every key and signature in eledger carries its suite. Every signature is over
`signing_bytes(purpose, chain_id, message)`, so that a signature made for one purpose or one chain
never verifies for another. This module holds plain values only; it must never touch a key or a
backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ledger.errors import CryptoError

SIGNING_PREFIX = b"eledger-sig/v1\x00"
MAX_DOMAIN_LEN = 64
SIGNATURE_SIZE = 64


class Suite(str, Enum):
    """A signature suite: algorithm, curve and hash, named by its stable wire string (§1)."""

    P256 = "ecdsa-p256-sha256"
    ED25519 = "ed25519"
    SM2 = "sm2-sm3"

    @classmethod
    def parse(cls, value: object) -> Suite:
        """The suite named by `value` (a Suite or its wire string).

        Raises CryptoError "crypto.unknown_suite" for anything else.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for suite in cls:
                if suite.value == value:
                    return suite
        raise CryptoError(
            f"unknown signature suite {value!r}; expected one of {', '.join(s.value for s in cls)}",
            code="crypto.unknown_suite",
            suite=repr(value),
        )


DEFAULT_SUITE = Suite.P256


def _check_domain(name: str, value: object) -> bytes:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_DOMAIN_LEN:
        raise CryptoError(
            f"{name} must be a string of 1..{MAX_DOMAIN_LEN} printable ASCII characters",
            code="crypto.bad_domain",
            field=name,
        )
    if not (value.isascii() and value.isprintable()):  # for ASCII, printable is exactly 0x20..0x7E
        raise CryptoError(f"{name} {value!r} contains a character that is not printable ASCII", code="crypto.bad_domain", field=name)
    return value.encode("ascii")


def signing_bytes(purpose: str, chain_id: str, message: bytes) -> bytes:
    """The exact bytes a signature covers (§2):

    "eledger-sig/v1" 0x00 purpose 0x00 chain_id 0x00 message

    `purpose` and `chain_id` are 1..64 printable ASCII characters (0x20..0x7E), which excludes
    NUL and so keeps the framing unambiguous. Raises CryptoError "crypto.bad_domain" for a bad
    purpose or chain id and "crypto.bad_message" if `message` is not bytes.
    """
    framed = _check_domain("purpose", purpose) + b"\x00" + _check_domain("chain_id", chain_id) + b"\x00"
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise CryptoError(f"message must be bytes, not {type(message).__name__}", code="crypto.bad_message")
    return SIGNING_PREFIX + framed + bytes(message)


def require_json_object(obj: object, fields: tuple[str, ...], what: str) -> dict[str, str]:
    """`obj` as a dict whose keys are exactly `fields`, each a string (strict JSON form, §5).

    Raises CryptoError "crypto.bad_json" naming the offending field.
    """
    if not isinstance(obj, dict):
        raise CryptoError(f"{what} must be a JSON object", code="crypto.bad_json", field=what)
    if set(obj) != set(fields):
        extra = sorted(str(k) for k in set(obj) - set(fields))
        missing = sorted(set(fields) - set(obj))
        raise CryptoError(
            f"{what} must have exactly the fields {', '.join(fields)} (missing {missing}, unexpected {extra})",
            code="crypto.bad_json",
            field=what,
        )
    for name in fields:
        if not isinstance(obj[name], str):
            raise CryptoError(f"{what}.{name} must be a string", code="crypto.bad_json", field=f"{what}.{name}")
    return obj


@dataclass(frozen=True)
class Signature:
    """A signature value tagged with its suite (§3).

    `value` is 64 bytes for every suite: r||s big-endian for ECDSA P-256 (IEEE P1363, low-S)
    and SM2, R||S for Ed25519. Construction raises CryptoError "crypto.unknown_suite" or
    "crypto.bad_signature_length".
    """

    suite: Suite
    value: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "suite", Suite.parse(self.suite))
        if not isinstance(self.value, bytes) or len(self.value) != SIGNATURE_SIZE:
            size = len(self.value) if isinstance(self.value, (bytes, bytearray)) else type(self.value).__name__
            raise CryptoError(
                f"{self.suite.value} signature must be {SIGNATURE_SIZE} bytes, got {size}",
                code="crypto.bad_signature_length",
                suite=self.suite.value,
            )

    def __repr__(self) -> str:
        return f"Signature({self.suite.value}, {self.value.hex()[:16]}…)"

    def to_json(self) -> dict[str, str]:
        """{"suite": wire name, "value": base64url without padding}."""
        from ledger.encoding import b64encode

        return {"suite": self.suite.value, "value": b64encode(self.value)}

    @classmethod
    def from_json(cls, obj: object) -> Signature:
        """Parse the form written by `to_json`; exactly those two fields, both strings.

        Raises CryptoError ("crypto.bad_json", "crypto.unknown_suite",
        "crypto.bad_signature_length") or EncodingError from ledger.encoding for bad base64url.
        """
        from ledger.encoding import b64decode

        fields = require_json_object(obj, ("suite", "value"), "signature")
        suite = Suite.parse(fields["suite"])
        return cls(suite, b64decode(fields["value"], field="signature.value"))
