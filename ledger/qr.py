"""The QR payload of a licence document (docs/spec/qr.md): what an online check needs, compact.

A holder document's QR code carries `EL1:` followed by the base45 text (RFC 9285) of the zlib
stream of one canonical CBOR map (RFC 8949 §4.2.1): the chain id, the licence id (its version
included), the document hash, and the holder binding in its ledger form: an enterprise's USCC,
or a person's salted commitment (domain.md §6). With it a verifier asks the ledger whether the
recorded document hash and holder are the presented ones (domain.md §9.1), as with the document
itself, without seeing it.

`encode_qr` builds a payload from a parsed document; `decode_qr` parses a presented one strictly,
in this order: size (before anything else), prefix and version, base45, bounded decompression
(never more than MAX_CBOR_BYTES + 1 bytes are inflated: no zip bomb), CBOR structure and types,
canonical encoding, then each member (the licence id with its check character). Every error is a
ValidationError `qr.<reason>` naming the member at fault. A payload never holds a person's name
or ID number, and no error repeats the payload's content beyond the licence id and chain id.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import cbor2

from ledger.base45 import b45decode, b45encode
from ledger.document import LicenceDocument, PersonHolder
from ledger.errors import EncodingError, ValidationError
from ledger.ids import LicenceId, parse_licence_id, validate_uscc
from ledger.tx import CHAIN_ID_RE

PREFIX = "EL1:"
#: A presented payload longer than this is refused before it is read further (qr.md §3).
MAX_PAYLOAD_CHARS = 600
#: At most this many bytes of CBOR are inflated from a payload (qr.md §3).
MAX_CBOR_BYTES = 512
#: zlib level of `encode_qr` (qr.md §2); a decoder accepts any zlib stream.
ZLIB_LEVEL = 9
HASH_SIZE = 32

# CBOR map keys (qr.md §2), in canonical order.
KEY_CHAIN_ID = 1
KEY_LICENCE_ID = 2
KEY_DOCUMENT_HASH = 3
KEY_HOLDER_USCC = 4
KEY_HOLDER_COMMITMENT = 5
_MEMBER_NAMES = {
    KEY_CHAIN_ID: "chain_id", KEY_LICENCE_ID: "licence_id", KEY_DOCUMENT_HASH: "document_hash",
    KEY_HOLDER_USCC: "holder_uscc", KEY_HOLDER_COMMITMENT: "holder_commitment",
}
_VERSION_RE = re.compile(r"EL([0-9]{1,3}):")
_WHERE = "qr"


@dataclass(frozen=True)
class QrClaim:
    """What a QR payload states: a licence of chain `chain_id`, the hash of the holder's
    document, and its holder in ledger form: exactly one of `holder_uscc` (an enterprise) and
    `holder_commitment` (a person's 32-byte commitment, domain.md §6)."""

    chain_id: str
    licence_id: LicenceId
    document_hash: bytes
    holder_uscc: str | None = None
    holder_commitment: bytes | None = None

    def __post_init__(self) -> None:
        if (self.holder_uscc is None) == (self.holder_commitment is None):
            raise ValueError("a QR claim names exactly one of holder_uscc and holder_commitment")

    @classmethod
    def from_document(cls, document: LicenceDocument, chain_id: str) -> QrClaim:
        """The claim of a parsed document on chain `chain_id`. Raises ValidationError
        "qr.bad_chain_id" for a chain id that is not one (transactions.md)."""
        _check_chain_id(chain_id)
        holder = document.licence.holder
        licence_id = parse_licence_id(document.licence.id, "document.licence.id")
        if isinstance(holder, PersonHolder):
            return cls(chain_id, licence_id, document.hash, holder_commitment=holder.commitment)
        return cls(chain_id, licence_id, document.hash, holder_uscc=holder.uscc)

    @property
    def holder(self) -> dict[str, object]:
        """The holder in ledger form (domain.md §5): {"kind": "enterprise", "uscc"} or
        {"kind": "person", "commitment": bytes}."""
        if self.holder_uscc is not None:
            return {"kind": "enterprise", "uscc": self.holder_uscc}
        return {"kind": "person", "commitment": self.holder_commitment}

    def to_json(self) -> dict[str, object]:
        """The claim as canonical-encodable JSON (binary values as bytes)."""
        return {"chain_id": self.chain_id, "document_hash": self.document_hash, "holder": self.holder, "licence_id": self.licence_id.text}

    def to_cbor(self) -> bytes:
        """The canonical CBOR map of qr.md §2."""
        holder = (KEY_HOLDER_USCC, self.holder_uscc) if self.holder_uscc is not None else (KEY_HOLDER_COMMITMENT, self.holder_commitment)
        members = {KEY_CHAIN_ID: self.chain_id, KEY_LICENCE_ID: self.licence_id.text, KEY_DOCUMENT_HASH: self.document_hash, holder[0]: holder[1]}
        return cbor2.dumps(members, canonical=True)


def encode_qr(document: LicenceDocument, chain_id: str) -> str:
    """The QR payload (qr.md §2) of `document` on chain `chain_id`: `EL1:` + base45(zlib(CBOR)).

    Raises ValidationError "qr.bad_chain_id". The payload is at most MAX_PAYLOAD_CHARS
    characters for every document (qr.md §3), and only of QR alphanumeric characters."""
    return encode_claim(QrClaim.from_document(document, chain_id))


def encode_claim(claim: QrClaim) -> str:
    """The QR payload of `claim` (qr.md §2)."""
    text = PREFIX + b45encode(zlib.compress(claim.to_cbor(), ZLIB_LEVEL))
    if len(text) > MAX_PAYLOAD_CHARS:  # cannot happen within the id and chain id limits (qr.md §3)
        raise ValidationError(f"the QR payload would be {len(text)} characters; at most {MAX_PAYLOAD_CHARS}", code="qr.too_large", field=_WHERE, size=len(text))
    return text


def decode_qr(text: object) -> QrClaim:
    """Parse a presented QR payload strictly (qr.md §3).

    Raises ValidationError, in the order checked: "qr.type" (not text), "qr.too_large" (more
    than MAX_PAYLOAD_CHARS characters, with `size`), "qr.unsupported_version" (an `EL<n>:`
    prefix other than `EL1:`, with `version`), "qr.prefix", "qr.base45" (with `position` in
    the payload and `reason`), "qr.compression" (not one complete zlib stream, or bytes after
    it), "qr.inflated_too_large" (inflates past MAX_CBOR_BYTES), "qr.cbor" (not CBOR),
    "qr.structure" (not a map with integer keys), "qr.unknown_member" / "qr.missing_member" /
    "qr.holder" (members other than qr.md §2's; none or both holder forms), "qr.member_type",
    "qr.not_canonical" (not the deterministic encoding, duplicate keys or trailing bytes), and
    for the members "qr.bad_chain_id", "qr.bad_licence_id" (with `part`),
    "qr.bad_check_character" (with `expected`), "qr.bad_document_hash", "qr.bad_uscc" (with
    `expected` when only the check character is wrong), "qr.bad_commitment"."""
    if not isinstance(text, str):
        raise ValidationError("a QR payload is text", code="qr.type", field=_WHERE)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise ValidationError(f"the QR payload has {len(text)} characters; at most {MAX_PAYLOAD_CHARS}", code="qr.too_large", field=_WHERE, size=len(text), max=MAX_PAYLOAD_CHARS)
    if not text.startswith(PREFIX):
        version = _VERSION_RE.match(text)
        if version is not None:
            raise ValidationError(f"QR payload version {version.group(1)} is not supported; this verifier reads {PREFIX}", code="qr.unsupported_version", field=_WHERE, version=version.group(1))
        raise ValidationError(f"a QR payload of an eledger licence starts with {PREFIX!r}", code="qr.prefix", field=_WHERE)
    try:
        compressed = b45decode(text[len(PREFIX):])
    except EncodingError as exc:
        position = exc.fields.get("position")
        shown = {} if position is None else {"position": len(PREFIX) + position}  # type: ignore[operator]
        where = "" if position is None else f" at character {shown['position']}"
        raise ValidationError(f"the QR payload is not base45{where}: {exc}", code="qr.base45", field=_WHERE, reason=exc.code, **shown) from None
    raw = _inflate(compressed)
    return _parse(raw)


def _inflate(data: bytes) -> bytes:
    """The CBOR bytes of one complete zlib stream, inflating at most MAX_CBOR_BYTES + 1 bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_CBOR_BYTES + 1)
    except zlib.error as exc:
        raise ValidationError(f"the QR payload is not a zlib stream: {exc}", code="qr.compression", field=_WHERE) from None
    if len(out) > MAX_CBOR_BYTES:
        raise ValidationError(f"the QR payload inflates past {MAX_CBOR_BYTES} bytes", code="qr.inflated_too_large", field=_WHERE, max=MAX_CBOR_BYTES)
    if not inflater.eof:
        raise ValidationError("the QR payload's zlib stream is truncated", code="qr.compression", field=_WHERE)
    if inflater.unused_data:
        raise ValidationError(f"the QR payload has {len(inflater.unused_data)} bytes after its zlib stream", code="qr.compression", field=_WHERE)
    return out


_NO_BREAK_MARKER = object()


def _parse(raw: bytes) -> QrClaim:
    try:
        # Untrusted bytes (at most MAX_CBOR_BYTES) through a third-party decoder: whatever it
        # raises means the bytes are not a CBOR item we can read.
        obj = cbor2.loads(raw)
    except Exception as exc:  # noqa: BLE001
        raise ValidationError(f"the QR payload does not hold CBOR: {type(exc).__name__}", code="qr.cbor", field=_WHERE) from None
    if obj is getattr(cbor2, "break_marker", _NO_BREAK_MARKER):
        # A lone break (0xff) is no data item. cbor2 5 returns its marker object for it,
        # cbor2 6 raises; both are "not CBOR" here.
        raise ValidationError("the QR payload does not hold CBOR: a lone break code", code="qr.cbor", field=_WHERE)
    if type(obj) is not dict or any(type(k) is not int for k in obj):
        raise ValidationError("the QR payload's CBOR is not a map with integer keys", code="qr.structure", field=_WHERE)
    unknown = sorted(k for k in obj if k not in _MEMBER_NAMES)
    if unknown:
        raise ValidationError(f"the QR payload has unknown member {unknown[0]}", code="qr.unknown_member", field=_WHERE, key=unknown[0])
    for key in (KEY_CHAIN_ID, KEY_LICENCE_ID, KEY_DOCUMENT_HASH):
        if key not in obj:
            raise ValidationError(f"the QR payload lacks member {key} ({_MEMBER_NAMES[key]})", code="qr.missing_member", field=_field(key), key=key)
    if (KEY_HOLDER_USCC in obj) == (KEY_HOLDER_COMMITMENT in obj):
        raise ValidationError(
            f"the QR payload names its holder by exactly one of member {KEY_HOLDER_USCC} (an enterprise's USCC) and {KEY_HOLDER_COMMITMENT} (a person's commitment)",
            code="qr.holder", field=f"{_WHERE}.holder",
        )
    for key, value in obj.items():
        want = bytes if key in (KEY_DOCUMENT_HASH, KEY_HOLDER_COMMITMENT) else str
        if type(value) is not want:
            kind = "a byte string" if want is bytes else "a text string"
            raise ValidationError(f"QR member {key} ({_MEMBER_NAMES[key]}) must be {kind}", code="qr.member_type", field=_field(key), key=key)
    if cbor2.dumps(obj, canonical=True) != raw:
        raise ValidationError("the QR payload's CBOR is not in the deterministic encoding of qr.md §2 (or repeats a key, or has bytes after the map)", code="qr.not_canonical", field=_WHERE)
    chain_id = _check_chain_id(obj[KEY_CHAIN_ID])
    licence_id = _licence_id(obj[KEY_LICENCE_ID])
    document_hash = _hash(obj[KEY_DOCUMENT_HASH], KEY_DOCUMENT_HASH, "qr.bad_document_hash")
    if KEY_HOLDER_USCC in obj:
        return QrClaim(chain_id, licence_id, document_hash, holder_uscc=_uscc(obj[KEY_HOLDER_USCC]))
    return QrClaim(chain_id, licence_id, document_hash, holder_commitment=_hash(obj[KEY_HOLDER_COMMITMENT], KEY_HOLDER_COMMITMENT, "qr.bad_commitment"))


def _field(key: int) -> str:
    return f"{_WHERE}.{_MEMBER_NAMES[key]}"


def _check_chain_id(chain_id: object) -> str:
    if not isinstance(chain_id, str) or not CHAIN_ID_RE.fullmatch(chain_id):
        raise ValidationError(f"the chain id must match {CHAIN_ID_RE.pattern}", code="qr.bad_chain_id", field=_field(KEY_CHAIN_ID))
    return chain_id


def _licence_id(text: str) -> LicenceId:
    field = _field(KEY_LICENCE_ID)
    try:
        return parse_licence_id(text, field)
    except ValidationError as exc:
        code = "qr." + exc.code.split(".", 1)[1]  # qr.bad_licence_id, qr.bad_check_character
        raise ValidationError(str(exc), code=code, **{**exc.fields, "field": field}) from None


def _hash(value: bytes, key: int, code: str) -> bytes:
    if len(value) != HASH_SIZE:
        raise ValidationError(f"QR member {key} ({_MEMBER_NAMES[key]}) must be {HASH_SIZE} bytes, not {len(value)}", code=code, field=_field(key), size=len(value))
    return value


def _uscc(text: str) -> str:
    field = _field(KEY_HOLDER_USCC)
    try:
        return validate_uscc(text, field)
    except ValidationError as exc:
        kept = {"expected": exc.fields["expected"]} if "expected" in exc.fields else {}
        raise ValidationError(f"{field} is not a valid USCC: {exc}", code="qr.bad_uscc", field=field, **kept) from None
