"""Transaction bodies of the licence kinds that carry a document (docs/spec/domain.md §5, §7;
transactions.md §5): what a department's client builds from a sealed licence document. The
ledger's side, checking them, is ledger/licences.py.

Builds values only: it signs nothing (a first version's document was sealed already, and its
seal signature is the licence.issue transaction's signature) and never reads state or the clock.
"""

from __future__ import annotations

from datetime import date

from ledger.calendar import format_date
from ledger.document import LicenceDocument, LicencePart
from ledger.ids import next_version
from ledger.seals import ISSUE_KIND
from ledger.tx import NONCE_SIZE, Tx


def issue_body(document: LicenceDocument) -> dict[str, object]:
    """The licence.issue body (§5) for a sealed first version: its ledger part (only the ledger
    form of the holder), its private hash and the seal's id and signing time."""
    sig = document.seal_signature
    return {
        **document.licence.to_ledger(), "private": document.licence.private_hash(),
        "seal": {"seal_id": sig.seal_id, "signing_time": sig.signing_time},
    }


def issue_tx(document: LicenceDocument, chain_id: str) -> Tx:
    """The sealed licence.issue transaction (transactions.md §5) of a first-version document: its
    signer and signature are the document's seal signature, its nonce the first 16 bytes of the
    document hash. Signs nothing: the document was sealed already.

    Precondition: the seal signature states kind "licence.issue" and is over the document's hash
    and `chain_id` (ValueError otherwise: such a transaction could never execute)."""
    sig = document.seal_signature
    if sig.kind != ISSUE_KIND or sig.document_hash != document.hash:
        raise ValueError("the document's seal signature is not a licence.issue statement over its hash")
    return Tx.sealed(chain_id, ISSUE_KIND, issue_body(document), sig.signer, document.hash[:NONCE_SIZE], sig.signature)


def version_body(document: LicenceDocument, previous_id: str, reason: str, *, note: str | None = None, with_holder: bool = False) -> dict[str, object]:
    """The licence.change / licence.renew body (§5) making `document` the next version of
    `previous_id`; `with_holder` (change only) sends the document's holder as the new holder.

    Precondition: the document's id is `next_version(previous_id)` (ValueError otherwise)."""
    part = document.licence
    if part.id != next_version(previous_id):
        raise ValueError(f"the document's id {part.id} is not the next version of {previous_id}")
    new: dict[str, object] = {
        "private": part.private_hash(), **_body_dates(part), "commitment_deadline": _optional_date(part.commitment_deadline),
        "seal_signature": document.seal_signature.to_json(),
    }
    if with_holder:
        new["holder"] = part.holder.to_ledger()
    body: dict[str, object] = {"id": previous_id, "reason": reason, "new": new}
    if note is not None:
        body["note"] = note
    return body


def _body_dates(part: LicencePart) -> dict[str, object]:
    return {"issue_date": format_date(part.issue_date), "valid_from": format_date(part.valid_from), "valid_until": _optional_date(part.valid_until)}


def _optional_date(day: date | None) -> str | None:
    return None if day is None else format_date(day)
