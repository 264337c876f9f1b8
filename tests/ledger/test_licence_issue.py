"""ledger.licences, licence.issue: a sealed transaction (docs/spec/transactions.md §5) whose
signature is the document's seal signature over the document hash the ledger recomputes from the
body (domain.md §5, §7); the stored record, every rejection with its code, check and field, and
every way to tamper with the body, the nonce, the signer or the signature."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

from ledger.crypto import PrivateKey
from ledger.document import EnterpriseHolder, LicenceDocument, LicencePart, PersonHolder, document_hash
from ledger.encoding import b64encode, decode, encode
from ledger.ids import format_licence_id
from ledger.licences import ISSUE_FIELDS, licence_key, list_index, read_licence, record_id, stored_seal_signature
from ledger.licence_bodies import issue_body
from ledger.seals import SealSignature
from ledger.state import INDEX_PREFIX
from ledger.tx import NONCE_SIZE, Tx

from .conftest import GENESIS_TIME
from .test_governance import Ledger, grant, uscc
from .test_licences import (
    ENTERPRISE_RECORD_BYTES, HOLDER, PERSON_RECORD_BYTES, RECORD_MEMBERS, STORED_SEAL_SIGNATURE_MEMBERS, T_DATED, T_OPEN,
    VECTOR_ID, VECTOR_ISSUER, check_indexes, issue, make_doc, world,  # noqa: F401  (world is a fixture)
)
from .test_seals import seal_body


def present(
    ledger: Ledger, doc: LicenceDocument, *, body: dict[str, object] | None = None, nonce: bytes | None = None,
    signer: bytes | None = None, signature=None,
) -> Tx:
    """A licence.issue built member by member from `doc` (issue_body, the hash's first 16 bytes,
    the seal signature's signer and value), any of them replaced: what an attacker can submit."""
    sig = doc.seal_signature
    return Tx.sealed(
        ledger.net.genesis.chain_id, "licence.issue", issue_body(doc) if body is None else body, sig.signer if signer is None else signer,
        doc.hash[:NONCE_SIZE] if nonce is None else nonce, sig.signature if signature is None else signature,
    )


def rejections(ledger: Ledger, txs: list[Tx]) -> list[tuple[str, object, str]]:
    """Submit `txs` in one block; every one must be rejected and the state root stay as it was.
    Their (code, check or None, field) in order."""
    root = ledger.local.chain.tip.state_root
    pending = ledger.produce(*txs)
    assert pending.block.txs == () and ledger.local.chain.tip.state_root == root
    return [(r.error.code, r.error.fields.get("check"), r.error.field) for r in pending.rejected]


# -- the record ------------------------------------------------------------------------------


def test_issue_stores_the_record_under_the_gbt36904_vector_id(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 2430599)
    assert doc.licence.id == VECTOR_ID
    signed_at = ledger.time
    ledger.accept(issue(ledger, a, doc))
    record = read_licence(ledger.state, VECTOR_ID)
    assert record == {
        "id": VECTOR_ID, "holder": {"kind": "enterprise", "uscc": HOLDER.uscc}, "document_hash": b64encode(doc.hash),
        "issue_date": "2026-01-01", "valid_from": "2026-01-01", "valid_until": "2027-12-31",
        "status": "valid", "reason": None, "region": "beijing", "commitment": None, "supersedes": None, "superseded_by": None,
        "seal_signature": {
            "seal_id": a.seal_id, "signer": b64encode(a.key.public_key.key_id),
            "signing_time": signed_at, "signature": doc.seal_signature.signature.to_json(),
        },
        "issued_at": ledger.time, "updated_at": ledger.time,
    }
    parts = record_id(record)
    assert (parts.type, parts.issuer, parts.serial, parts.version) == (T_DATED, VECTOR_ISSUER, "2430599", "001")
    assert stored_seal_signature(record) == doc.seal_signature
    kv = ledger.local.chain.kv
    assert list_index(kv, "holder", HOLDER.uscc) == list_index(kv, "issuer", VECTOR_ISSUER) == list_index(kv, "type", T_DATED) == [VECTOR_ID]
    assert list_index(kv, "type", T_OPEN) == []
    check_indexes(ledger)
    assert ledger.reject(issue(ledger, a, make_doc(ledger, a, 2430599))).code == "licence.exists"


def test_the_issue_tx_is_the_sealed_document_and_the_record_holds_nothing_it_can_derive(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 2430599, holder=EnterpriseHolder(uscc(702), "北京某某食品有限公司"))
    tx = issue(ledger, a, doc)
    # No document hash and no seal signature in the body: the ledger recomputes the one and
    # rebuilds the other from body.seal and the envelope.
    assert set(tx.body) == set(ISSUE_FIELDS) and tx.body["seal"] == {"seal_id": a.seal_id, "signing_time": doc.seal_signature.signing_time}
    assert tx.body["private"] == b64encode(doc.licence.private_hash())
    assert (tx.signer, tx.nonce, tx.signature) == (a.key.public_key.key_id, doc.hash[:NONCE_SIZE], doc.seal_signature.signature)
    ledger.accept(tx)
    raw = ledger.state.get(licence_key(doc.licence.id))
    record = decode(raw)
    assert set(record) == RECORD_MEMBERS and set(record["seal_signature"]) == STORED_SEAL_SIGNATURE_MEMBERS
    assert not {"type", "issuer", "serial", "version", "private"} & set(record) and "document_hash" not in record["seal_signature"]
    assert encode(record) == raw and list(record) == sorted(record)
    assert len(raw) <= ENTERPRISE_RECORD_BYTES


def test_issue_to_a_person_stores_only_the_commitment(world):
    ledger, a, _ = world
    person = PersonHolder("张三", "110101199003071234", bytes(range(16)))
    doc = make_doc(ledger, a, 9, holder=person, deadline="2026-03-01")
    tx = issue(ledger, a, doc)
    assert "张三" not in tx.raw.decode() and "110101199003071234" not in tx.raw.decode()
    ledger.accept(tx)
    record = read_licence(ledger.state, doc.licence.id)
    assert record["holder"] == {"kind": "person", "commitment": b64encode(person.commitment)}
    assert record["commitment"] == {"deadline": "2026-03-01", "state": "pending"}
    assert record["document_hash"] == b64encode(doc.hash)
    assert len(encode(record)) <= PERSON_RECORD_BYTES
    assert list_index(ledger.local.chain.kv, "holder", b64encode(person.commitment)) == [doc.licence.id]
    check_indexes(ledger)


def test_issue_stores_a_canonical_record_whatever_the_member_order_of_the_body(world):
    ledger, a, _ = world
    person = PersonHolder("李四", "110101199003071234", bytes(range(16, 32)))
    for serial, holder in ((11, HOLDER), (12, person)):
        doc = make_doc(ledger, a, serial, holder=holder, deadline="2026-06-30")
        tx = issue(ledger, a, doc)
        reordered = Tx(tx.chain_id, tx.kind, _reversed(tx.body), tx.signer, tx.nonce, tx.signature)
        assert reordered.id == tx.id and list(reordered.body) != list(tx.body) and list(reordered.body["holder"]) != list(tx.body["holder"])
        ledger.accept(reordered)
        raw = ledger.state.get(licence_key(doc.licence.id))
        assert encode(decode(raw)) == raw and decode(raw)["document_hash"] == b64encode(doc.hash)
        stored = {k: v for k, v in doc.seal_signature.to_json().items() if k not in ("document_hash", "kind")}
        assert decode(raw)["seal_signature"] == decode(encode(stored))
        assert stored_seal_signature(decode(raw)) == doc.seal_signature
    check_indexes(ledger)


def _reversed(value: object) -> object:
    if isinstance(value, dict):
        return {key: _reversed(value[key]) for key in reversed(list(value))}
    return value


# -- rejections --------------------------------------------------------------------------------


def test_issue_rejections_name_their_reason(world):
    ledger, a, b = world
    doc = make_doc(ledger, a, 1)
    bad_check = doc.licence.id[:-1] + ("A" if doc.licence.id[-1] != "A" else "B")
    body = issue_body(doc)
    cases = [
        (issue(ledger, b, make_doc(ledger, b, 1, type=T_OPEN)), "licence.type_not_granted", None, "tx.body.id"),
        (issue(ledger, b, make_doc(ledger, b, 1, issuer=a.uscc)), "licence.issuer_mismatch", None, "tx.body.id"),
        (issue(ledger, a, make_doc(ledger, a, 2, seal_key=b.key, seal_id=b.seal_id)), "licence.issuer_mismatch", None, "tx.body.id"),
        (present(ledger, make_doc(ledger, a, 1, version="002")), "licence.bad_id", None, "tx.body.id"),
        (issue(ledger, a, doc, id=bad_check), "ids.bad_check_character", None, "tx.body.id"),
        (issue(ledger, a, doc, id="1.2.156.3005.2.x"), "ids.bad_licence_id", None, "tx.body.id"),
        (issue(ledger, a, doc, valid_until=None), "licence.bad_dates", None, "tx.body.valid_until"),
        (issue(ledger, a, doc, valid_until="2025-12-31"), "licence.bad_dates", None, "tx.body.valid_until"),
        (issue(ledger, a, doc, commitment_deadline="2025-12-31"), "licence.bad_dates", None, "tx.body.commitment_deadline"),
        (issue(ledger, a, doc, valid_from="2026-02-30"), "validation.date", None, "tx.body.valid_from"),
        (issue(ledger, a, doc, private="x"), "validation.binary", None, "tx.body.private"),
        (issue(ledger, a, doc, private=bytes(31)), "validation.length", None, "tx.body.private"),
        (issue(ledger, a, doc, holder={"kind": "robot"}), "licence.bad_holder", None, "tx.body.holder.kind"),
        (issue(ledger, a, doc, holder={"kind": "person", "commitment": bytes(31)}), "validation.length", None, "tx.body.holder.commitment"),
        (issue(ledger, a, doc, holder={"kind": "enterprise", "uscc": HOLDER.uscc, "name": "x"}), "validation.unknown_field", None, "tx.body.holder.name"),
        (issue(ledger, a, doc, holder={"kind": "enterprise", "uscc": HOLDER.uscc[:-1] + "0"}), "ids.bad_uscc", None, "tx.body.holder.uscc"),
        (present(ledger, doc, body={k: v for k, v in body.items() if k != "commitment_deadline"}), "validation.missing_field", None, "tx.body.commitment_deadline"),
        (issue(ledger, a, doc, document_hash=doc.hash), "validation.unknown_field", None, "tx.body.document_hash"),
        (issue(ledger, a, make_doc(ledger, a, 3, seal_key=ledger.net.admin_keys["beijing"])), "tx.forbidden", None, "tx.signer"),
    ]
    assert rejections(ledger, [tx for tx, *_ in cases]) == [tuple(c[1:]) for c in cases]
    assert read_licence(ledger.state, doc.licence.id) is None
    assert [key for key, _ in ledger.local.chain.kv.iterate(INDEX_PREFIX) if not key.startswith(INDEX_PREFIX + b"seal/")] == []  # no licence entry
    ledger.accept(issue(ledger, a, doc))


def test_expired_revoked_and_suspended_issuers_cannot_issue(world):
    ledger, a, b = world
    short = PrivateKey.generate()
    ledger.accept(ledger.admin("beijing", "org.key_add", {"uscc": a.uscc, "key": grant(short, GENESIS_TIME, ledger.next_time)}))
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": a.uscc, "key_id": a.other.public_key.key_id, "reason": "key_lost"}))
    ledger.accept(ledger.admin("beijing", "org.suspend", {"uscc": b.uscc, "reason": "inspection"}))
    assert ledger.codes(
        issue(ledger, a, make_doc(ledger, a, 1, seal_key=short)),
        issue(ledger, a, make_doc(ledger, a, 2, seal_key=a.other)),
        issue(ledger, b, make_doc(ledger, b, 3)),
    ) == ["tx.signer_expired", "tx.signer_revoked", "org.status"]


def test_a_revoked_seal_cannot_issue(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 1)
    ledger.accept(ledger.signed(a.key, "seal.revoke", {"seal_id": a.seal_id, "reason": "replaced"}))
    error = ledger.reject(issue(ledger, a, doc))
    assert (error.code, error.check, error.field) == ("licence.bad_seal", "seal.valid_at_signing", "tx.body.seal.signing_time")


# -- the seal: body.seal and the envelope ------------------------------------------------------


def test_body_seal_errors_name_the_member(world):
    ledger, a, b = world
    doc = make_doc(ledger, a, 1)
    seal = issue_body(doc)["seal"]
    cases = [
        (issue(ledger, a, doc, seal="BJSEALA001"), "validation.type", None, "tx.body.seal"),
        (issue(ledger, a, doc, seal={"seal_id": a.seal_id}), "validation.missing_field", None, "tx.body.seal.signing_time"),
        (issue(ledger, a, doc, seal=seal | {"signer": b64encode(a.key.public_key.key_id)}), "validation.unknown_field", None, "tx.body.seal.signer"),
        (issue(ledger, a, doc, seal=seal | {"seal_id": "bj-1"}), "validation.format", None, "tx.body.seal.seal_id"),
        (issue(ledger, a, doc, seal=seal | {"signing_time": "now"}), "validation.type", None, "tx.body.seal.signing_time"),
        (issue(ledger, a, doc, seal=seal | {"seal_id": "NOSUCHSEAL01"}), "licence.bad_seal", "seal.registered", "tx.body.seal.seal_id"),
        (issue(ledger, a, make_doc(ledger, a, 2, seal_id="NOSUCHSEAL01")), "licence.bad_seal", "seal.registered", "tx.body.seal.seal_id"),
        (issue(ledger, a, make_doc(ledger, a, 3, seal_id=b.seal_id)), "licence.bad_seal", "seal.owner", "tx.body.seal.seal_id"),
        (issue(ledger, a, make_doc(ledger, a, 4, signing_time=ledger.next_time + 1)), "licence.bad_seal", "seal.valid_at_signing", "tx.body.seal.signing_time"),
        (issue(ledger, a, doc, seal=seal | {"signing_time": seal["signing_time"] - 1}), "licence.bad_seal", "seal.signature", "tx.signature"),
        (issue(ledger, a, doc, seal=seal | {"seal_id": b.seal_id}), "licence.bad_seal", "seal.owner", "tx.body.seal.seal_id"),
    ]
    assert rejections(ledger, [tx for tx, *_ in cases]) == [tuple(c[1:]) for c in cases]


def test_a_signer_the_seal_does_not_list_is_refused_naming_tx_signer(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 1)
    by_other = make_doc(ledger, a, 2, seal_key=a.other)
    swapped = present(ledger, doc, signer=a.other.public_key.key_id)
    assert rejections(ledger, [issue(ledger, a, by_other), swapped]) == [("licence.bad_seal", "seal.signer_allowed", "tx.signer")] * 2
    # A seal listing both keys: the signature must still be the named signer's.
    ledger.accept(ledger.signed(a.key, "seal.register", seal_body("BJSEALA002", a.uscc, a.key, a.other)))
    both = make_doc(ledger, a, 3, seal_id="BJSEALA002")
    assert rejections(ledger, [present(ledger, both, signer=a.other.public_key.key_id)]) == [("licence.bad_seal", "seal.signature", "tx.signature")]
    by_listed_other = make_doc(ledger, a, 4, seal_key=a.other, seal_id="BJSEALA002")
    ledger.accept(issue(ledger, a, both), issue(ledger, a, by_listed_other))
    assert read_licence(ledger.state, by_listed_other.licence.id)["seal_signature"]["signer"] == b64encode(a.other.public_key.key_id)


def test_a_wrong_signature_is_refused_inline_naming_tx_signature(world):
    ledger, a, _ = world
    chain_id = ledger.net.genesis.chain_id
    doc = make_doc(ledger, a, 1)
    other_doc = SealSignature.create(a.key, chain_id, a.seal_id, os.urandom(32), ledger.time, kind="licence.issue")
    other_chain = SealSignature.create(a.key, "other-chain", a.seal_id, doc.hash, ledger.time, kind="licence.issue")
    txs = [present(ledger, doc, signature=other_doc.signature), present(ledger, doc, signature=other_chain.signature)]
    assert rejections(ledger, txs) == [("licence.bad_seal", "seal.signature", "tx.signature")] * 2


def test_an_envelope_signature_made_with_tx_create_cannot_issue(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 1)
    chain_id = ledger.net.genesis.chain_id
    txs = [
        Tx.create(chain_id, "licence.issue", issue_body(doc), a.key, os.urandom(NONCE_SIZE)),
        Tx.create(chain_id, "licence.issue", issue_body(doc), a.key, doc.hash[:NONCE_SIZE]),
    ]
    assert rejections(ledger, txs) == [("tx.bad_nonce", None, "tx.nonce"), ("licence.bad_seal", "seal.signature", "tx.signature")]


def test_a_plain_seal_signature_of_the_same_document_hash_cannot_issue(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 1)
    sig = doc.seal_signature
    plain = SealSignature.create(a.key, ledger.net.genesis.chain_id, a.seal_id, doc.hash, sig.signing_time)
    assert plain.message() != sig.message() and plain.kind is None
    ledger.accept(ledger.signed(a.key, "seal.sign", {"seal_signature": plain.to_json()}))  # valid as what it states
    assert rejections(ledger, [present(ledger, doc, signature=plain.signature)]) == [("licence.bad_seal", "seal.signature", "tx.signature")]


# -- tampering with the body -------------------------------------------------------------------

_DAY = dt.timedelta(days=1)
# Each a change of one ledger member (or of the private part) of a sealed licence part.
TAMPERED = {
    "holder": lambda p: dataclasses.replace(p, holder=EnterpriseHolder(uscc(703), p.holder.name)),
    "issue_date": lambda p: dataclasses.replace(p, issue_date=p.issue_date + _DAY),
    "valid_from": lambda p: dataclasses.replace(p, valid_from=p.valid_from + _DAY),
    "valid_until": lambda p: dataclasses.replace(p, valid_until=p.valid_until + _DAY),
    "commitment_deadline": lambda p: dataclasses.replace(p, commitment_deadline=p.commitment_deadline + _DAY),
    "no commitment_deadline": lambda p: dataclasses.replace(p, commitment_deadline=None),
    "id serial": lambda p: dataclasses.replace(p, id=format_licence_id(p.type, p.issuer_uscc, "2430600", "001")),
    "private": lambda p: dataclasses.replace(p, fields=(("经营场所", "北京市西城区"),)),
}


def test_tampering_with_any_ledger_member_or_private_is_refused_and_changes_nothing(world):
    ledger, a, _ = world
    doc = make_doc(ledger, a, 2430599, deadline="2026-06-30")
    parts: list[LicencePart] = [change(doc.licence) for change in TAMPERED.values()]
    assert all(document_hash(p) != doc.hash for p in parts) and len({document_hash(p) for p in parts}) == len(parts)

    def tampered(part: LicencePart, nonce: bytes) -> Tx:
        return present(ledger, doc, body=issue_body(LicenceDocument(part, doc.seal_signature)), nonce=nonce)

    kept_nonce = [tampered(p, doc.hash[:NONCE_SIZE]) for p in parts]
    new_nonce = [tampered(p, document_hash(p)[:NONCE_SIZE]) for p in parts]
    raw_private = [issue(ledger, a, doc, private=os.urandom(32)), present(ledger, doc, nonce=os.urandom(NONCE_SIZE))]
    assert rejections(ledger, kept_nonce + raw_private) == [("tx.bad_nonce", None, "tx.nonce")] * (len(parts) + 2)
    assert rejections(ledger, new_nonce) == [("licence.bad_seal", "seal.signature", "tx.signature")] * len(parts)
    assert [key for key, _ in ledger.local.chain.kv.iterate(INDEX_PREFIX) if not key.startswith(INDEX_PREFIX + b"seal/")] == []  # no licence entry
    ledger.accept(issue(ledger, a, doc))
    assert read_licence(ledger.state, doc.licence.id)["document_hash"] == b64encode(doc.hash)
