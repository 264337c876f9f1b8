"""The licence document the holder keeps (docs/spec/domain.md §6, §7).

A document is `{"format", "licence", "seal_signature"}`: the licence part in full (with a person
holder's name, ID number and salt, which never reach the ledger), and the issuing seal's
signature over its hash. The hash is split (§7): a *ledger part* (the members the ledger records)
and a *private hash* over the rest, so the ledger recomputes the document hash from a transaction
body without seeing personal data, and the seal signature over it authenticates those members.
The ledger stores only the document hash and, for a person, the salted
holder commitment. This module builds documents, computes their hash and the commitment, and
parses a presented document strictly (canonical bytes, size-limited, every field checked, errors
`document.*` naming the field). It must never put a holder's name or ID number into an error
message, and never draws randomness itself: the caller supplies the salt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from ledger.calendar import format_date, parse_date
from ledger.crypto import PrivateKey
from ledger.encoding import b64encode, decode, encode, encode_decoded
from ledger.errors import EncodingError, LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_str
from ledger.files import write_new_file
from ledger.hashing import hash_object, tagged_hash
from ledger.ids import parse_licence_id, validate_uscc
from ledger.seals import ISSUE_KIND, SealSignature

FORMAT = "eledger-licence/2"
DOCUMENT_TAG = "licence-document-2"
PRIVATE_TAG = "licence-private"
FIRST_VERSION = "001"
MAX_DOCUMENT_BYTES = 64 * 1024
SALT_SIZE = 16
MAX_FIELDS = 64
MAX_FIELD_NAME = 64
MAX_FIELD_VALUE = 1024
MAX_NAME = 128
MAX_ID_NUMBER = 64
DOCUMENT_MODE = 0o600  # a person's document holds personal data (§6)

_WHERE = "document"


def holder_commitment(name: str, id_number: str, salt: bytes) -> bytes:
    """The 32-byte commitment to a natural person (§6): tagged_hash("holder", canonical({...})).

    Precondition: `salt` is SALT_SIZE bytes (ValueError otherwise). `name` and `id_number` are
    hashed exactly as given (no normalisation): the document carries the same strings.
    """
    if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
        raise ValueError(f"holder salt must be {SALT_SIZE} bytes")
    return hash_object("holder", {"id_number": id_number, "name": name, "salt": salt})


@dataclass(frozen=True)
class EnterpriseHolder:
    """An enterprise holder: its USCC is public and goes to the ledger in clear."""

    uscc: str
    name: str

    def to_json(self) -> dict[str, object]:
        return {"kind": "enterprise", "uscc": self.uscc, "name": self.name}

    def to_ledger(self) -> dict[str, object]:
        """The `holder` member of a licence.issue body (§5)."""
        return {"kind": "enterprise", "uscc": self.uscc}


@dataclass(frozen=True)
class PersonHolder:
    """A natural person: only `commitment` goes to the ledger; name, ID number and salt stay here."""

    name: str
    id_number: str
    salt: bytes

    def __repr__(self) -> str:  # never show personal data in logs or tracebacks
        return "PersonHolder(<withheld>)"

    @property
    def commitment(self) -> bytes:
        return holder_commitment(self.name, self.id_number, self.salt)

    def to_json(self) -> dict[str, object]:
        return {"kind": "person", "name": self.name, "id_number": self.id_number, "salt": self.salt}

    def to_ledger(self) -> dict[str, object]:
        """The `holder` member of a licence.issue body (§5)."""
        return {"kind": "person", "commitment": self.commitment}


Holder = EnterpriseHolder | PersonHolder


@dataclass(frozen=True)
class LicencePart:
    """The `licence` member of a document: what the document hash covers (§7).

    Dates are `datetime.date`; `fields` is a tuple of (name, value) pairs sorted by name."""

    id: str
    type: str
    type_name: str
    issuer_uscc: str
    issuer_name: str
    holder: Holder
    fields: tuple[tuple[str, str], ...]
    issue_date: date
    valid_from: date
    valid_until: date | None
    commitment_deadline: date | None

    def to_ledger(self) -> dict[str, object]:
        """The ledger part (§7): exactly the members a licence.issue body, or a new version with
        its record, gives the ledger: id, holder in ledger form, the three dates, the deadline."""
        return {
            "commitment_deadline": None if self.commitment_deadline is None else format_date(self.commitment_deadline),
            "holder": self.holder.to_ledger(),
            "id": self.id,
            "issue_date": format_date(self.issue_date),
            "valid_from": format_date(self.valid_from),
            "valid_until": None if self.valid_until is None else format_date(self.valid_until),
        }

    def private_hash(self) -> bytes:
        """The private hash (§7): tagged_hash("licence-private", canonical({fields, holder,
        issuer_name, type_name})), the holder in full (a person's name, ID number and salt)."""
        return hash_object(PRIVATE_TAG, {"fields": dict(self.fields), "holder": self.holder.to_json(), "issuer_name": self.issuer_name, "type_name": self.type_name})

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "type": self.type,
            "type_name": self.type_name,
            "issuer": {"uscc": self.issuer_uscc, "name": self.issuer_name},
            "holder": self.holder.to_json(),
            "fields": dict(self.fields),
            "issue_date": format_date(self.issue_date),
            "valid_from": format_date(self.valid_from),
            "valid_until": None if self.valid_until is None else format_date(self.valid_until),
            "commitment_deadline": None if self.commitment_deadline is None else format_date(self.commitment_deadline),
        }

    @classmethod
    def from_json(cls, obj: object, where: str = f"{_WHERE}.licence") -> LicencePart:
        """Parse and check a licence part; raises ValidationError `document.*` naming the field."""
        with _document_errors():
            return _parse_licence(obj, where)


def document_hash(licence: LicencePart) -> bytes:
    """The document hash (§7) of a licence part: `split_document_hash` of its ledger part and its
    private hash."""
    return hash_object(DOCUMENT_TAG, {"ledger": licence.to_ledger(), "private": licence.private_hash()})


def split_document_hash(ledger: Mapping[str, object], private: bytes) -> bytes:
    """tagged_hash("licence-document-2", canonical({"ledger": ledger, "private": private})) (§7).

    Precondition: `ledger` is the ledger part in decoded form (dates and binary values as text,
    as `decode` returns them), its members and its holder's in canonical order, every value
    already checked: it is encoded without the validating walk (encoding.md §3). `private` is
    32 bytes. This is how the ledger recomputes a document hash from a transaction body."""
    return tagged_hash(DOCUMENT_TAG, b'{"ledger":' + encode_decoded(ledger) + b',"private":"' + b64encode(private).encode("ascii") + b'"}')


def build_licence(
    *, id: str, type_name: str, issuer_name: str, holder: Holder, issue_date: date, valid_from: date,
    valid_until: date | None, commitment_deadline: date | None = None, fields: Mapping[str, str] | None = None,
) -> LicencePart:
    """A licence part from its members, checked exactly as a presented one would be.

    The type and issuer USCC are taken from `id`. Raises ValidationError `document.*`."""
    with _document_errors():
        parsed = parse_licence_id(id, f"{_WHERE}.licence.id")
        part = LicencePart(
            parsed.text, parsed.type, type_name, parsed.issuer, issuer_name, holder, tuple(sorted((fields or {}).items())),
            issue_date, valid_from, valid_until, commitment_deadline,
        )
        return _parse_licence(decode(encode(part.to_json())), f"{_WHERE}.licence")


def seal_document(licence: LicencePart, key: PrivateKey, chain_id: str, seal_id: str, signing_time: int) -> LicenceDocument:
    """The document of `licence` sealed with seal `seal_id` by `key` at `signing_time` (ms).

    A first version's seal signature states the kind "licence.issue": it is also the signature
    of the licence.issue transaction that records it (§7, transactions.md §5). Raises
    ValidationError as SealSignature.create does (bad seal id)."""
    kind = ISSUE_KIND if _version(licence.id) == FIRST_VERSION else None
    return LicenceDocument(licence, SealSignature.create(key, chain_id, seal_id, document_hash(licence), signing_time, kind=kind))


def _version(licence_id: str) -> str:
    return licence_id.rsplit(".", 2)[-2]  # `<...>.<version>.<check>` (§2)


@dataclass(frozen=True)
class LicenceDocument:
    """A complete licence document: the licence part and the issuing seal signature."""

    licence: LicencePart
    seal_signature: SealSignature

    @property
    def hash(self) -> bytes:
        return document_hash(self.licence)

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT, "licence": self.licence.to_json(), "seal_signature": self.seal_signature.to_json()}

    def to_bytes(self) -> bytes:
        """The canonical bytes of the document (what `write_document` stores)."""
        return encode(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> LicenceDocument:
        """Parse a presented document. It must be canonical JSON of at most MAX_DOCUMENT_BYTES.

        Raises ValidationError: `document.too_large`, `document.<encoding reason>` (e.g.
        `document.not_canonical`, `document.syntax`), `document.format`, and `document.<reason>`
        for a field (`document.missing_field`, `document.bad_uscc`, `document.bad_dates`, ...)."""
        if not isinstance(data, (bytes, bytearray)):
            raise ValidationError("a licence document must be bytes", code="document.type", field=_WHERE)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ValidationError(
                f"licence document is {len(data)} bytes; at most {MAX_DOCUMENT_BYTES} allowed",
                code="document.too_large", field=_WHERE, size=len(data),
            )
        with _document_errors():
            return cls.from_json(decode(bytes(data), max_bytes=MAX_DOCUMENT_BYTES))

    @classmethod
    def from_json(cls, obj: object) -> LicenceDocument:
        """Parse a decoded document; raises ValidationError `document.*` naming the field."""
        with _document_errors():
            obj = expect_object(obj, _WHERE)
            expect_keys(obj, _WHERE, ("format", "licence", "seal_signature"))
            if obj["format"] != FORMAT:
                raise ValidationError(f"document.format must be {FORMAT!r}", code="document.format", field=f"{_WHERE}.format")
            licence = _parse_licence(obj["licence"], f"{_WHERE}.licence")
            seal_signature = SealSignature.from_json(obj["seal_signature"], f"{_WHERE}.seal_signature")
            want = ISSUE_KIND if _version(licence.id) == FIRST_VERSION else None
            if seal_signature.kind != want:
                states = f"the kind {want!r}" if want is not None else "no kind"
                raise ValidationError(f"the seal signature of version {_version(licence.id)} states {states}", code="document.inconsistent", field=f"{_WHERE}.seal_signature.kind")
        return cls(licence, seal_signature)


def write_document(path: str | os.PathLike[str], document: LicenceDocument) -> None:
    """Write `document` as a new file with mode 0600 (never replaces one).

    Raises ValidationError "document.exists" or "document.io"."""
    name = os.fspath(path)
    try:
        write_new_file(name, document.to_bytes(), DOCUMENT_MODE)
    except FileExistsError as exc:
        raise ValidationError(f"refusing to overwrite {name}", code="document.exists", path=name) from exc
    except OSError as exc:
        raise ValidationError(f"cannot write {name}: {exc.strerror}", code="document.io", path=name) from exc


def read_document(path: str | os.PathLike[str]) -> LicenceDocument:
    """Read and parse a document file (at most MAX_DOCUMENT_BYTES).

    Raises ValidationError "document.not_found", "document.io", or what `from_bytes` raises."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError as exc:
        raise ValidationError(f"{name} does not exist", code="document.not_found", path=name) from exc
    except OSError as exc:
        raise ValidationError(f"cannot read {name}: {exc.strerror}", code="document.io", path=name) from exc
    return LicenceDocument.from_bytes(data)


# -- parsing -----------------------------------------------------------------------------------


@contextmanager
def _document_errors() -> Iterator[None]:
    """Re-raise any ledger error as ValidationError `document.<reason>`, keeping its fields.

    An encoding error is restated without the offending value: it may be personal data."""
    try:
        yield
    except LedgerError as exc:
        if exc.code.startswith("document."):
            raise
        code = "document." + exc.code.split(".", 1)[-1]
        if isinstance(exc, EncodingError):
            where = exc.fields.get("path", "$")
            kept = {k: v for k, v in exc.fields.items() if k in ("offset", "size", "max_bytes")}
            raise ValidationError(f"{_WHERE} is not canonical eledger JSON ({exc.code} at {where})", code=code, field=_WHERE, location=where, **kept) from None
        raise ValidationError(str(exc), code=code, **{"field": _WHERE, **exc.fields}) from exc


def _parse_licence(obj: object, where: str) -> LicencePart:
    obj = expect_object(obj, where)
    expect_keys(obj, where, ("id", "type", "type_name", "issuer", "holder", "fields", "issue_date", "valid_from", "valid_until", "commitment_deadline"))
    licence_id = parse_licence_id(get_str(obj, "id", where, max_len=128), f"{where}.id")
    type_code = get_str(obj, "type", where, max_len=21, min_len=21)
    if type_code != licence_id.type:
        raise ValidationError(f"{where}.type differs from the type in the licence id", code="document.inconsistent", field=f"{where}.type")
    type_name = get_str(obj, "type_name", where, max_len=MAX_NAME)
    issuer = expect_object(obj["issuer"], f"{where}.issuer")
    expect_keys(issuer, f"{where}.issuer", ("uscc", "name"))
    issuer_uscc = validate_uscc(get_str(issuer, "uscc", f"{where}.issuer", max_len=18, min_len=18), f"{where}.issuer.uscc")
    if issuer_uscc != licence_id.issuer:
        raise ValidationError(f"{where}.issuer.uscc differs from the issuer in the licence id", code="document.inconsistent", field=f"{where}.issuer.uscc")
    issuer_name = get_str(issuer, "name", f"{where}.issuer", max_len=MAX_NAME)
    holder = _parse_holder(obj["holder"], f"{where}.holder")
    fields = _parse_fields(obj["fields"], f"{where}.fields")
    issue_date = parse_date(obj["issue_date"], f"{where}.issue_date")
    valid_from = parse_date(obj["valid_from"], f"{where}.valid_from")
    valid_until = None if obj["valid_until"] is None else parse_date(obj["valid_until"], f"{where}.valid_until")
    deadline = None if obj["commitment_deadline"] is None else parse_date(obj["commitment_deadline"], f"{where}.commitment_deadline")
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError(f"{where}.valid_until is before valid_from", code="document.bad_dates", field=f"{where}.valid_until")
    if deadline is not None and deadline < issue_date and licence_id.version == FIRST_VERSION:  # a later version keeps the first's deadline (§5)
        raise ValidationError(f"{where}.commitment_deadline is before issue_date", code="document.bad_dates", field=f"{where}.commitment_deadline")
    return LicencePart(
        licence_id.text, type_code, type_name, issuer_uscc, issuer_name, holder, fields,
        issue_date, valid_from, valid_until, deadline,
    )


def _parse_holder(obj: object, where: str) -> Holder:
    obj = expect_object(obj, where)
    kind = obj.get("kind")
    if kind == "enterprise":
        expect_keys(obj, where, ("kind", "uscc", "name"))
        uscc = validate_uscc(get_str(obj, "uscc", where, max_len=18, min_len=18), f"{where}.uscc")
        return EnterpriseHolder(uscc, get_str(obj, "name", where, max_len=MAX_NAME))
    if kind == "person":
        expect_keys(obj, where, ("kind", "name", "id_number", "salt"))
        name = get_str(obj, "name", where, max_len=MAX_NAME)
        id_number = get_str(obj, "id_number", where, max_len=MAX_ID_NUMBER)
        return PersonHolder(name, id_number, get_bytes(obj, "salt", where, size=SALT_SIZE))
    raise ValidationError(f"{where}.kind must be \"enterprise\" or \"person\"", code="document.holder_kind", field=f"{where}.kind")


def _parse_fields(obj: object, where: str) -> tuple[tuple[str, str], ...]:
    obj = expect_object(obj, where)
    if len(obj) > MAX_FIELDS:
        raise ValidationError(f"{where} has {len(obj)} entries; at most {MAX_FIELDS}", code="document.length", field=where)
    for name in obj:
        if not 1 <= len(name) <= MAX_FIELD_NAME:
            raise ValidationError(f"{where} names must be 1..{MAX_FIELD_NAME} characters", code="document.length", field=where)
        get_str(obj, name, where, max_len=MAX_FIELD_VALUE, min_len=0)
    return tuple(sorted(obj.items()))  # type: ignore[arg-type]
