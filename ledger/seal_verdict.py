"""One verdict on a sealed document (docs/spec/domain.md §4, a GB/T 38540 subset; api.md §2.9):
every check of the seal signature over the presented document hash, each passed, failed or
undecided, and the verdict they make (valid, invalid, indeterminate, as domain.md §9.2).

A sealed document is a document hash with its seal signature (optionally the organisation whose
seal it must be), or a licence document (domain.md §7), whose hash, seal signature and issuer
are its own. When the ledger recorded that very signature (a `seal.sign` record, or the record
of the licence it sealed), the judgement is for a record made at the recording time, as §4 asks
of a later verifier of a record: a revocation of the seal or the key at or before that time
then counts too. Otherwise the signature is judged at its own signing time, unless the caller
names the time it was presented (`at_time`).

Reads the state it is given; never the clock, never raises for a signature that fails (that is
a verdict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ledger.checks import Check
from ledger.document import LicenceDocument
from ledger.encoding import encode
from ledger.errors import LedgerError
from ledger.kv import KVReader
from ledger.licences import read_licence, stored_seal_signature
from ledger.seals import SealSignature, read_seal, read_seal_signature, seal_checks

VALID, INVALID, INDETERMINATE = "valid", "invalid", "indeterminate"


@dataclass(frozen=True)
class Recorded:
    """Where the ledger holds the judged signature: `kind` "seal.sign" (its `sealsig/` record)
    or "licence" (the seal signature of licence `licence_id`), recorded at `at` (ms)."""

    kind: str
    at: int
    licence_id: str | None = None

    def to_json(self) -> dict[str, object]:
        shown: dict[str, object] = {"kind": self.kind, "at": self.at}
        if self.licence_id is not None:
            shown["licence_id"] = self.licence_id
        return shown


@dataclass(frozen=True)
class SealVerdict:
    """The judgement of `signature` over `document_hash` (§4): `checks` in the order of
    `seal_checks`, the `verdict` they make, the `owner` the seal had to belong to (None: any),
    the time it was judged for (`at_time`; None: its signing time), where the ledger recorded
    it, and the seal's record (None when not registered)."""

    verdict: str
    document_hash: bytes
    signature: SealSignature
    owner: str | None
    at_time: int | None
    recorded: Recorded | None
    checks: tuple[Check, ...]
    seal: Mapping[str, object] | None

    def to_json(self) -> dict[str, object]:
        """`{"verdict", "document_hash", "seal_id", "signer", "signing_time", "owner", "at_time",
        "recorded", "checks": [{"name", "ok", "outcome", "detail"}], "seal"}` (api.md §2.9)."""
        return {
            "verdict": self.verdict, "document_hash": self.document_hash, "seal_id": self.signature.seal_id,
            "signer": self.signature.signer, "signing_time": self.signature.signing_time, "owner": self.owner,
            "at_time": self.at_time, "recorded": None if self.recorded is None else self.recorded.to_json(),
            "checks": [{"name": c.name, "ok": c.ok, "outcome": outcome_of(c), "detail": c.detail} for c in self.checks],
            "seal": None if self.seal is None else dict(self.seal),
        }


def outcome_of(check: Check) -> str:
    return "undecided" if check.ok is None else "passed" if check.ok else "failed"


def verdict_of(checks: tuple[Check, ...]) -> str:
    """domain.md §9.2: invalid if a check failed; else indeterminate if one is undecided."""
    if any(c.ok is False for c in checks):
        return INVALID
    return INDETERMINATE if any(c.ok is None for c in checks) else VALID


def verify_sealed_hash(
    reader: KVReader, chain_id: str, signature: SealSignature, document_hash: bytes, *, owner: str | None = None, at_time: int | None = None,
) -> SealVerdict:
    """Judge `signature` over the presented `document_hash` (a seal of `owner` when given) by the
    state `reader`. Judged for `at_time` when given, else for the time the ledger recorded this
    signature with `seal.sign` (if it did), else at its signing time.

    Preconditions: `owner` is a well-formed USCC or None, `at_time` an integer >= 0 or None."""
    stored = read_seal_signature(reader, signature.document_hash, signature.seal_id)
    recorded = None
    if stored is not None and _same(dict(stored, recorded_at=None), {**signature.to_json(), "recorded_at": None}):
        recorded = Recorded("seal.sign", stored["recorded_at"])  # type: ignore[arg-type]
    return _judge(reader, chain_id, signature, document_hash, owner, at_time, recorded)


def verify_sealed_document(reader: KVReader, chain_id: str, document: LicenceDocument, *, at_time: int | None = None) -> SealVerdict:
    """Judge a licence document's seal signature over the document's own hash (§7), as a seal of
    its issuer. Judged for `at_time` when given, else for the time the ledger recorded the
    licence version this signature sealed (its `issued_at`, when the record carries exactly
    this signature), else at its signing time.

    Precondition: `at_time` is an integer >= 0 or None."""
    signature = document.seal_signature
    record = read_licence(reader, document.licence.id)
    recorded = None
    if record is not None:
        try:
            if stored_seal_signature(record) == signature:
                recorded = Recorded("licence", record["issued_at"], document.licence.id)  # type: ignore[arg-type]
        except LedgerError:
            recorded = None  # a record whose signature cannot be read records nothing for this one
    return _judge(reader, chain_id, signature, document.hash, document.licence.issuer_uscc, at_time, recorded)


def _judge(
    reader: KVReader, chain_id: str, signature: SealSignature, document_hash: bytes, owner: str | None, at_time: int | None,
    recorded: Recorded | None,
) -> SealVerdict:
    when = at_time if at_time is not None else recorded.at if recorded is not None else None
    checks = tuple(seal_checks(reader, chain_id, signature, document_hash, owner=owner, at_time=when))
    seal = read_seal(reader, signature.seal_id)
    return SealVerdict(
        verdict_of(checks), document_hash, signature, owner, when, recorded, checks,
        None if seal is None else MappingProxyType(seal),
    )


def _same(left: Mapping[str, object], right: Mapping[str, object]) -> bool:
    return encode(dict(left)) == encode(dict(right))
