"""Transaction envelope (docs/spec/transactions.md).

A transaction is `{chain_id, kind, body, signer, nonce, signature}`. Its id is the tagged hash of
the canonical envelope *without* the signature, and the signer signs that id under the purpose
"tx" and the chain id, so a transaction can neither be replayed on another chain nor have its id
changed by re-encoding its signature. A sealed kind (§5, licence.issue) carries a seal signature
instead, over a statement that execution rebuilds from the body. This module checks form only; whether the signer may do
what the body asks is decided by execution against state (ledger.execute).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from ledger.crypto import PrivateKey, PublicKey, Signature
from ledger.encoding import decode, encode, encode_decoded
from ledger.errors import LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_str
from ledger.hashing import tagged_hash
from ledger.merkle.hasher import leaf_hash

MAX_TX_BYTES = 64 * 1024
NONCE_SIZE = 16
KEY_ID_SIZE = 32
SIGN_PURPOSE = "tx"

CHAIN_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}")

_FIELDS = ("chain_id", "kind", "body", "signer", "nonce", "signature")
_PAYLOAD_FIELDS = ("body", "chain_id", "kind", "nonce", "signer")  # canonical (sorted) order


@dataclass(frozen=True)
class Tx:
    """A signed transaction. Build with `Tx.create`, parse with `Tx.from_bytes`."""

    chain_id: str
    kind: str
    body: dict[str, object]
    signer: bytes
    nonce: bytes
    signature: Signature
    id: bytes = field(default=b"", repr=False, compare=False)
    raw: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.id and self.raw:  # computed by from_json from the decoded form
            return
        payload = _payload(self.chain_id, self.kind, self.body, self.signer, self.nonce)
        object.__setattr__(self, "id", tagged_hash("tx", payload))
        raw = encode(self.to_json())
        if len(raw) > MAX_TX_BYTES:
            raise ValidationError(f"transaction is {len(raw)} bytes; at most {MAX_TX_BYTES} allowed", code="tx.too_large", field="tx")
        object.__setattr__(self, "raw", raw)

    @classmethod
    def create(cls, chain_id: str, kind: str, body: dict[str, object], key: PrivateKey, nonce: bytes) -> Tx:
        """Sign a new transaction. `nonce` is 16 bytes chosen by the caller (random for a new tx)."""
        _check_envelope(chain_id, kind, body, nonce)
        encoded = encode(body)
        if len(encoded) > MAX_TX_BYTES:
            raise ValidationError(f"tx.body is {len(encoded)} bytes; at most {MAX_TX_BYTES} allowed", code="tx.too_large", field="tx.body")
        body = decode(encoded, max_bytes=MAX_TX_BYTES)  # binary values become their text form
        signer = key.public_key.key_id
        payload = _payload(chain_id, kind, body, signer, nonce)
        signature = key.sign(SIGN_PURPOSE, chain_id, tagged_hash("tx", payload))
        return cls(chain_id, kind, body, signer, nonce, signature)

    @classmethod
    def sealed(cls, chain_id: str, kind: str, body: dict[str, object], signer: bytes, nonce: bytes, signature: Signature) -> Tx:
        """A transaction of a sealed kind (§5): its `signature` is a seal signature by `signer`
        that execution checks against the statement it rebuilds from `body`, not a signature of
        the id. Nothing is signed here. Raises ValidationError as `create` does."""
        _check_envelope(chain_id, kind, body, nonce)
        if not isinstance(signer, bytes) or len(signer) != KEY_ID_SIZE:
            raise ValidationError(f"tx.signer must be a {KEY_ID_SIZE}-byte key id", code="validation.length", field="tx.signer")
        encoded = encode(body)
        if len(encoded) > MAX_TX_BYTES:
            raise ValidationError(f"tx.body is {len(encoded)} bytes; at most {MAX_TX_BYTES} allowed", code="tx.too_large", field="tx.body")
        return cls(chain_id, kind, decode(encoded, max_bytes=MAX_TX_BYTES), signer, bytes(nonce), signature)

    @functools.cached_property
    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash of the canonical bytes, the leaf of both the block's tx root
        and the global log (blocks.md §2); computed once."""
        return leaf_hash(self.raw)

    def verify_signature(self, public_key: PublicKey) -> None:
        """Raise CryptoError unless `public_key` is the signer's and signed this tx's id.

        Only for a kind that is not sealed: a sealed kind's signature (§5) is over a statement
        execution rebuilds from the body, so this check always fails for it."""
        if public_key.key_id != self.signer:
            raise ValidationError("public key does not match tx.signer", code="tx.signer_mismatch", field="tx.signer")
        public_key.verify(SIGN_PURPOSE, self.chain_id, self.id, self.signature)

    def to_json(self) -> dict[str, object]:
        return {
            "chain_id": self.chain_id,
            "kind": self.kind,
            "body": self.body,
            "signer": self.signer,
            "nonce": self.nonce,
            "signature": self.signature.to_json(),
        }

    def to_bytes(self) -> bytes:
        return self.raw

    @classmethod
    def from_json(cls, obj: object, where: str = "tx", *, decoded: bool = False) -> Tx:
        """Parse a transaction object; raises ValidationError naming the field.

        `decoded=True` promises that `obj` is exactly what `decode` returned (canonical member
        order and values), which lets the id and bytes be computed without re-validation."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, _FIELDS)
        chain_id = get_str(obj, "chain_id", where, pattern=CHAIN_ID_RE, max_len=50)
        kind = get_str(obj, "kind", where, pattern=KIND_RE, max_len=64)
        body = expect_object(obj["body"], f"{where}.body")
        signer = get_bytes(obj, "signer", where, size=KEY_ID_SIZE)
        nonce = get_bytes(obj, "nonce", where, size=NONCE_SIZE)
        try:
            signature = Signature.from_json(obj["signature"])
        except LedgerError as exc:
            raise ValidationError(f"{where}.signature: {exc}", code="tx.bad_signature_form", field=f"{where}.signature") from exc
        if not decoded:
            return cls(chain_id, kind, body, signer, nonce, signature)
        payload = encode_decoded({k: obj[k] for k in _PAYLOAD_FIELDS})
        raw = encode_decoded(obj)
        if len(raw) > MAX_TX_BYTES:
            raise ValidationError(f"transaction is {len(raw)} bytes; at most {MAX_TX_BYTES} allowed", code="tx.too_large", field=where)
        return cls(chain_id, kind, body, signer, nonce, signature, tagged_hash("tx", payload), raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> Tx:
        """Parse canonical transaction bytes (at most MAX_TX_BYTES)."""
        if len(data) > MAX_TX_BYTES:
            raise ValidationError(f"transaction is {len(data)} bytes; at most {MAX_TX_BYTES} allowed", code="tx.too_large", field="tx")
        return cls.from_json(decode(data, max_bytes=MAX_TX_BYTES), decoded=True)


def _check_envelope(chain_id: str, kind: str, body: object, nonce: bytes) -> None:
    if not CHAIN_ID_RE.fullmatch(chain_id):
        raise ValidationError(f"tx.chain_id {chain_id!r} does not match {CHAIN_ID_RE.pattern}", code="validation.format", field="tx.chain_id")
    if not KIND_RE.fullmatch(kind) or len(kind) > 64:
        raise ValidationError(f"tx.kind {kind!r} does not match {KIND_RE.pattern}", code="validation.format", field="tx.kind")
    if not isinstance(body, dict):
        raise ValidationError("tx.body must be an object", code="validation.type", field="tx.body")
    if len(nonce) != NONCE_SIZE:
        raise ValidationError(f"tx.nonce must be {NONCE_SIZE} bytes", code="validation.length", field="tx.nonce")


def _payload(chain_id: str, kind: str, body: dict[str, object], signer: bytes, nonce: bytes) -> bytes:
    return encode({"chain_id": chain_id, "kind": kind, "body": body, "signer": signer, "nonce": nonce})
