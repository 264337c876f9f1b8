"""Receipts of use records: what a verifying node hands its caller, checkable offline
(docs/spec/receipts.md).

A receipt is a use record (ledger/uses.py, domain.md §10) signed by the validator that answered
(the genesis validator named `record.node`, purpose "receipt"). Once the record is committed, the
receipt can also carry its place (height, transaction, record index) and the proof of it: the
`use.record` transaction, its RFC 9162 inclusion proof in the global log at the block's header,
the previous header (which fixes where the block starts in the log), and a quorum of the block's
precommits (ledger/signed_header.py, as proof bundles carry them). `verify_receipt` checks one
against nothing but a trusted genesis and returns what it proves.

Never reads the clock, opens files or touches the network; never trusts a member the genesis, a
signature or a hash does not vouch for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from ledger.block import MAX_BLOCK_TXS, Header
from ledger.crypto import PrivateKey, Signature
from ledger.encoding import b64decode, decode, encode
from ledger.errors import CryptoError, EncodingError, LedgerError, ProofError, StoreError, ValidationError
from ledger.fields import expect_keys, expect_object, get_int, get_list, get_str
from ledger.genesis import Genesis
from ledger.merkle import HASH_SIZE, verify_inclusion
from ledger.signed_header import Precommits, read_signed_header, verify_signed_header
from ledger.tx import CHAIN_ID_RE, MAX_TX_BYTES, Tx
from ledger.uses import KIND, MAX_RECORDS, Place, check_record, find_record, format_use_id

if TYPE_CHECKING:
    from ledger.view import ChainView

FORMAT = "eledger-receipt/1"
PURPOSE = "receipt"
MAX_RECEIPT_BYTES = 2 * MAX_TX_BYTES
MAX_INCLUSION = 64

_FIELDS = ("format", "chain_id", "record", "signature")
_COMMITTED_FIELDS = ("place", "proof")
_PROOF_FIELDS = ("tx", "log_index", "inclusion", "header", "previous", "commit")


@dataclass(frozen=True)
class RecordProof:
    """Why a place is true (§2): the transaction, its log index and inclusion proof at `header`,
    the header before it (None at height 1) and a quorum of `header`'s precommits."""

    tx: Tx
    log_index: int
    inclusion: tuple[bytes, ...]
    header: Header
    previous: Header | None
    commit: Precommits

    def to_json(self) -> dict[str, object]:
        return {
            "tx": self.tx.to_json(),
            "log_index": self.log_index,
            "inclusion": list(self.inclusion),
            "header": self.header.to_json(),
            "previous": None if self.previous is None else self.previous.to_json(),
            "commit": self.commit.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str, *, decoded: bool = False) -> RecordProof:
        """Parse a receipt's `proof` (§2); raises ValidationError naming the field."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, _PROOF_FIELDS)
        tx = Tx.from_json(obj["tx"], f"{where}.tx", decoded=decoded)
        log_index = get_int(obj, "log_index", where)
        items = get_list(obj, "inclusion", where, max_items=MAX_INCLUSION)
        inclusion = tuple(_hash(item, f"{where}.inclusion[{i}]") for i, item in enumerate(items))
        header = Header.from_json(obj["header"], f"{where}.header")
        previous = None if obj["previous"] is None else Header.from_json(obj["previous"], f"{where}.previous")
        commit = Precommits.from_json(obj["commit"], f"{where}.commit")
        return cls(tx, log_index, inclusion, header, previous, commit)


def _hash(item: object, field: str) -> bytes:
    if not isinstance(item, str):
        raise ValidationError(f"{field} must be a base64url string", code="validation.type", field=field)
    try:
        value = b64decode(item, field=field)
    except EncodingError as exc:
        raise ValidationError(f"{field}: {exc}", code="validation.binary", field=field) from exc
    if len(value) != HASH_SIZE:
        raise ValidationError(f"{field} must be {HASH_SIZE} bytes, got {len(value)}", code="validation.length", field=field)
    return value


@dataclass(frozen=True)
class Receipt:
    """A receipt (§1): a use record signed by its node; committed when it has `place` and `proof`.

    `record` is a checked record in canonical member order (`check_record`)."""

    chain_id: str
    record: Mapping[str, object]
    signature: Signature
    place: Place | None = None
    proof: RecordProof | None = None

    @property
    def id(self) -> str:
        """`<node>:<seq>`, the name of the record and its receipt."""
        return format_use_id(self.record)

    @property
    def committed(self) -> bool:
        return self.proof is not None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"format": FORMAT, "chain_id": self.chain_id, "record": dict(self.record), "signature": self.signature.to_json()}
        if self.place is not None and self.proof is not None:
            out["place"] = self.place._asdict()
            out["proof"] = self.proof.to_json()
        return out

    def to_bytes(self) -> bytes:
        """The canonical bytes of the receipt (the form served and kept)."""
        return encode(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Receipt:
        """Parse canonical receipt bytes of at most MAX_RECEIPT_BYTES.

        Raises ValidationError "receipt.too_large" (before anything is read), EncodingError (not
        canonical JSON) and what `from_json` raises."""
        if len(data) > MAX_RECEIPT_BYTES:
            raise ValidationError(
                f"receipt is {len(data)} bytes; at most {MAX_RECEIPT_BYTES} are accepted",
                code="receipt.too_large", field="receipt", size=len(data), limit=MAX_RECEIPT_BYTES,
            )
        return cls.from_json(decode(data, max_bytes=MAX_RECEIPT_BYTES), decoded=True)

    @classmethod
    def from_json(cls, obj: object, *, decoded: bool = False) -> Receipt:
        """Parse a decoded receipt (§3 step 2). `decoded=True` promises `obj` is what `decode`
        returned (its transaction is then not re-encoded).

        Raises ValidationError: "receipt.unsupported_format" (checked first), the `validation.*`
        codes naming the field (`place` and `proof` come together: the one missing is
        `validation.missing_field`), `check_record`'s codes under `receipt.record`,
        "receipt.bad_signature_form", and the form errors of a transaction, header or commit."""
        where = "receipt"
        obj = expect_object(obj, where)
        fmt = obj.get("format")
        if fmt != FORMAT:
            shown = repr(fmt)[:80] if isinstance(fmt, str) else "missing or not a string"
            raise ValidationError(f"receipt format {shown} is not supported; this verifier reads {FORMAT!r}", code="receipt.unsupported_format", field="receipt.format")
        expect_keys(obj, where, _FIELDS, _COMMITTED_FIELDS)
        for present, absent in (("place", "proof"), ("proof", "place")):
            if present in obj and absent not in obj:
                raise ValidationError(f"receipt.{absent} is required with receipt.{present}", code="validation.missing_field", field=f"receipt.{absent}")
        chain_id = get_str(obj, "chain_id", where, pattern=CHAIN_ID_RE, max_len=50)
        record = check_record(obj["record"], "receipt.record")
        try:
            signature = Signature.from_json(obj["signature"])
        except LedgerError as exc:
            raise ValidationError(f"receipt.signature: {exc}", code="receipt.bad_signature_form", field="receipt.signature") from exc
        if "place" not in obj:
            return cls(chain_id, record, signature)
        return cls(chain_id, record, signature, _place(obj["place"], "receipt.place"), RecordProof.from_json(obj["proof"], "receipt.proof", decoded=decoded))


def _place(obj: object, where: str) -> Place:
    obj = expect_object(obj, where)
    expect_keys(obj, where, Place._fields)
    return Place(
        get_int(obj, "height", where, minimum=1),
        get_int(obj, "tx_index", where, maximum=MAX_BLOCK_TXS - 1),
        get_int(obj, "record_index", where, maximum=MAX_RECORDS - 1),
    )


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a receipt proves (§4): validator `signer` of chain `chain_id` signed `record`
    (named `id`); if `committed`, the record is record `place.record_index` of transaction
    `place.tx_index` of block `place.height`, committed by a quorum of the genesis validators,
    with block time `time` (ms), block hash `block_hash`, transaction `tx_id`."""

    id: str
    chain_id: str
    record: Mapping[str, object]
    signer: str
    committed: bool
    place: Place | None = None
    time: int | None = None
    block_hash: bytes | None = None
    tx_id: bytes | None = None


def sign_receipt(record: Mapping[str, object], key: PrivateKey, chain_id: str, *, checked: bool = False) -> Receipt:
    """The receipt of `record`, signed with `key`, the validator key of the node `record.node`
    names (§1; the caller makes sure it is). Raises `check_record`'s ValidationError (field
    `record.<member>`) for a malformed record. With `checked`, `record` is what `check_record`
    returned (the node's journal checked it once already) and is signed as it is."""
    checked = dict(record) if checked else check_record(record, "record")
    return Receipt(chain_id, checked, key.sign(PURPOSE, chain_id, encode(checked)))


def build_committed_receipt(view: ChainView, receipt: Receipt) -> Receipt:
    """`receipt` with the place and proof of its record, as committed at the view's tip.

    Raises ValidationError "receipt.not_committed" (with `id`, `height`: the view's tip) when the
    record is not committed (yet), "receipt.record_mismatch" when the committed record of that
    node and seq differs from the receipt's, "bundle.validator_change_unsupported", and
    "receipt.too_large"; StoreError for a damaged store (`store.*`, as `read_signed_header`)."""
    node, seq = receipt.record["node"], receipt.record["seq"]
    found = find_record(view, node, seq)  # type: ignore[arg-type]
    if found is None:
        raise ValidationError(f"record {receipt.id} is not committed at height {view.height}", code="receipt.not_committed", field="receipt.record", id=receipt.id, height=view.height)
    committed, place = found
    if encode(committed) != encode(receipt.record):
        raise ValidationError(f"the committed record {receipt.id} differs from this receipt's", code="receipt.record_mismatch", field="receipt.record", id=receipt.id)
    header, precommits = read_signed_header(view, place.height)
    previous = None
    if place.height > 1:
        previous = view.header(place.height - 1)
        if previous is None:
            raise StoreError(f"the store lacks block {place.height - 1}", code="store.missing_block", height=place.height - 1)
    log_index = view.log_index(place.height, place.tx_index)
    inclusion = tuple(view.log().prove_inclusion(log_index, header.log_size))
    proof = RecordProof(view.tx(place.height, place.tx_index), log_index, inclusion, header, previous, precommits)
    result = Receipt(receipt.chain_id, receipt.record, receipt.signature, place, proof)
    size = len(result.to_bytes())
    if size > MAX_RECEIPT_BYTES:
        raise ValidationError(f"the receipt would be {size} bytes; at most {MAX_RECEIPT_BYTES}", code="receipt.too_large", field="receipt", size=size, limit=MAX_RECEIPT_BYTES)
    return result


def verify_receipt(data: bytes | Mapping[str, object] | Receipt, genesis: Genesis) -> VerifiedReceipt:
    """Check a receipt (canonical bytes, decoded JSON or a parsed Receipt) against the trusted
    `genesis` alone (receipts.md §3) and return what it proves. Never reads the clock.

    Raises, at the first failed check: "receipt.too_large" and EncodingError (bytes); the form
    errors of `Receipt.from_json`; "receipt.wrong_chain", "receipt.unknown_node",
    "receipt.bad_signature"; for a committed receipt the header and commit checks of proofs.md
    §3 steps 3–5 (`bundle.*`, `commit.*`, fields under `receipt.proof`), then
    "receipt.previous_mismatch", "receipt.place_mismatch", ProofError `proof.*` (field
    `receipt.proof.inclusion`), "receipt.tx_mismatch", "receipt.record_mismatch"."""
    if isinstance(data, (bytes, bytearray)):
        receipt = Receipt.from_bytes(bytes(data))
    elif isinstance(data, Receipt):
        receipt = data
    else:
        receipt = Receipt.from_json(data)
    if not isinstance(data, (bytes, bytearray)):
        size = len(receipt.to_bytes())
        if size > MAX_RECEIPT_BYTES:
            raise ValidationError(f"receipt is {size} bytes; at most {MAX_RECEIPT_BYTES} are accepted", code="receipt.too_large", field="receipt", size=size, limit=MAX_RECEIPT_BYTES)
    record = receipt.record
    if receipt.chain_id != genesis.chain_id:
        raise ValidationError(f"receipt is of chain {receipt.chain_id!r}, the trusted genesis is of {genesis.chain_id!r}", code="receipt.wrong_chain", field="receipt.chain_id")
    validator = next((v for v in genesis.validators if v.name == record["node"]), None)
    if validator is None:
        raise ValidationError(f"receipt.record.node {record['node']!r} is not a validator of the trusted genesis", code="receipt.unknown_node", field="receipt.record.node")
    try:
        validator.public_key.verify(PURPOSE, genesis.chain_id, encode(record), receipt.signature)
    except CryptoError as exc:
        raise ValidationError(f"receipt.signature: not {validator.name}'s signature of this record: {exc}", code="receipt.bad_signature", field="receipt.signature") from exc
    if receipt.place is None or receipt.proof is None:
        return VerifiedReceipt(receipt.id, receipt.chain_id, MappingProxyType(dict(record)), validator.name, False)
    place, proof = receipt.place, receipt.proof
    commit = verify_signed_header(proof.header, proof.commit, genesis, "receipt.proof")
    _check_place(place, proof)
    try:
        verify_inclusion(proof.tx.leaf_hash, proof.log_index, proof.header.log_size, proof.inclusion, proof.header.log_root)
    except ProofError as exc:
        raise ProofError(f"receipt.proof.inclusion: {exc}", code=exc.code, **{**exc.fields, "field": "receipt.proof.inclusion"}) from exc
    tx = proof.tx
    for name, ok in (("kind", tx.kind == KIND), ("signer", tx.signer == validator.key_id), ("chain_id", tx.chain_id == genesis.chain_id)):
        if not ok:
            raise ValidationError(f"receipt.proof.tx is not a {KIND} transaction of {validator.name} on this chain ({name})", code="receipt.tx_mismatch", field=f"receipt.proof.tx.{name}")
    records = tx.body.get("records")
    if not isinstance(records, list) or place.record_index >= len(records) or _canonical(records[place.record_index]) != encode(record):
        raise ValidationError(
            f"record {place.record_index} of the committed transaction is not the receipt's record",
            code="receipt.record_mismatch", field="receipt.place.record_index",
        )
    return VerifiedReceipt(
        receipt.id, receipt.chain_id, MappingProxyType(dict(record)), validator.name, True,
        place, proof.header.time, commit.block_hash, tx.id,
    )


def _check_place(place: Place, proof: RecordProof) -> None:
    """§3 steps 5–6: the previous header is the header's, and the place is where the log index
    falls in that block."""
    header, previous = proof.header, proof.previous
    if header.height == 1:
        if previous is not None:
            raise ValidationError("receipt.proof.previous must be null at height 1 (block 1 follows the genesis)", code="receipt.previous_mismatch", field="receipt.proof.previous")
        start = 0
    else:
        if previous is None or previous.hash() != header.previous_hash:
            raise ValidationError("receipt.proof.previous is not the header the proven block follows", code="receipt.previous_mismatch", field="receipt.proof.previous")
        start = previous.log_size
    if place.height != header.height:
        raise ValidationError(f"receipt.place.height {place.height} is not the proven block's height {header.height}", code="receipt.place_mismatch", field="receipt.place.height")
    if not start <= proof.log_index < header.log_size:
        raise ValidationError(
            f"receipt.proof.log_index {proof.log_index} is not in block {header.height} (log indexes {start}..{header.log_size - 1})",
            code="receipt.place_mismatch", field="receipt.proof.log_index",
        )
    if proof.log_index - start != place.tx_index:
        raise ValidationError(
            f"receipt.place.tx_index {place.tx_index} is not the proven transaction's index {proof.log_index - start}",
            code="receipt.place_mismatch", field="receipt.place.tx_index",
        )


def _canonical(obj: object) -> bytes | None:
    try:
        return encode(obj)
    except EncodingError:
        return None
