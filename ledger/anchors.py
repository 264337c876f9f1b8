"""Document anchoring: a registered key records that a document hash existed at a block.

Kind "document.anchor", body `{"document_hash": <32 bytes>, "label": <0..128 chars>}`; state key
b"anchor/" + document hash; value `{signer, height, time, tx, label}`. A hash can be anchored once;
the first anchor stands. This is the simplest use of the ledger (the audit trail a department or a
partner region keeps of a document) and the base that seal signature records build on.
"""

from __future__ import annotations

from ledger.errors import ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.governance import org_of_signer
from ledger.fields import expect_keys, get_bytes, get_str
from ledger.identity import Identity, Role
from ledger.tx import Tx

KIND = "document.anchor"
PREFIX = b"anchor/"


def anchor_key(document_hash: bytes) -> bytes:
    return PREFIX + document_hash


def _anchor(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    where = "tx.body"
    expect_keys(tx.body, where, ("document_hash",), ("label",))
    document_hash = get_bytes(tx.body, "document_hash", where, size=32)
    label = get_str(tx.body, "label", where, max_len=128, min_len=0) if "label" in tx.body else ""
    if signer.role is Role.ISSUER:
        org_of_signer(view, signer)  # a suspended department anchors nothing
    key = anchor_key(document_hash)
    if view.get(key) is not None:
        raise ValidationError("this document hash is already anchored", code="anchor.exists", field=f"{where}.document_hash")
    view.put(key, {"signer": tx.signer, "height": ctx.height, "time": ctx.time, "tx": tx.id, "label": label})


register(TxKind(KIND, frozenset({Role.REGION_ADMIN, Role.ISSUER}), _anchor))
