"""ledger.execute: signature checks a handler asks for, inline and deferred; DeferredSignatures
settling a block in worker processes; a validator's deferred replay agreeing with the proposer;
a sealed kind (licence.issue, transactions.md §5) checked by one signature, the seal's."""

from __future__ import annotations

import os

import pytest

from ledger.chain import Chain
from ledger.crypto import PrivateKey
from ledger.crypto.pool import SignaturePool
from ledger.errors import ValidationError
from ledger.execute import Context, DeferredSignatures, TxView, execute_txs
from ledger.kv import MemoryKV, Overlay
from ledger.licence_bodies import issue_tx
from ledger.seals import ISSUE_KIND, SealSignature
from ledger.sigcache import SignatureCache
from ledger.state import State
from ledger.smt import EMPTY_ROOT
from ledger.tx import SIGN_PURPOSE, Tx

from .test_governance import Ledger
from .test_licences import Dept, issue, make_doc, world  # noqa: F401  (world is a fixture)

CHAIN = "test-chain"


def signed(key: PrivateKey, message: bytes, *, forged: bool = False):
    return key.public_key, "seal", CHAIN, message, key.sign("seal", CHAIN, b"other" if forged else message)


def test_verify_signature_inline_passes_a_good_one_and_raises_the_given_code_for_a_bad_one():
    key = PrivateKey.generate()
    view = TxView(MemoryKV())
    view.verify_signature(*signed(key, b"document"), field="tx.body.sig", code="kind.bad_sig")
    with pytest.raises(ValidationError) as info:
        view.verify_signature(*signed(key, b"document", forged=True), field="tx.body.sig", code="kind.bad_sig", check="seal.signature")
    assert (info.value.code, info.value.field, info.value.check) == ("kind.bad_sig", "tx.body.sig", "seal.signature")


def test_verify_signature_deferred_records_the_check_and_the_block_fails_at_that_transaction():
    key = PrivateKey.generate()
    deferred = DeferredSignatures()
    view = TxView(MemoryKV(), deferred, 7)
    view.verify_signature(*signed(key, b"document", forged=True), field="tx.body.sig", code="kind.bad_sig", check="seal.signature")
    assert deferred.tx_indexes == [7] and len(deferred.items) == 1
    with pytest.raises(ValidationError) as info:
        deferred.verify()
    error = info.value
    assert (error.code, error.field, error.index, error.check) == ("kind.bad_sig", "block.txs[7]", 7, "seal.signature")
    assert "tx.body.sig" in str(error)


@pytest.mark.parametrize("workers, batch", [(1, 256), (2, 64), (2, 1000)])
def test_deferred_checks_report_the_first_bad_one_in_block_order(workers, batch):
    key = PrivateKey.generate()
    with SignaturePool(workers) as pool:
        good = DeferredSignatures(pool, batch=batch)
        bad = DeferredSignatures(pool, batch=batch)
        for i in range(300):
            message = os.urandom(32)
            good.add_check(*signed(key, message), index=i // 2, code="c.good", field="f")
            bad.add_check(*signed(key, message, forged=i in (131, 250)), index=i // 2, code=f"c.item{i}", field="f")
        assert good.verify() is None
        with pytest.raises(ValidationError) as info:
            bad.verify()
    assert (info.value.code, info.value.index) == ("c.item131", 65)


def test_tx_view_position_is_the_index_it_was_made_with():
    """A handler's view of where its transaction is in the block (tests/ledger/test_uses.py
    checks that a proposer's positions skip the transactions it leaves out)."""
    assert TxView(MemoryKV()).position == 0
    assert TxView(MemoryKV(), None, 17).position == 17


def test_a_block_without_signature_checks_settles_at_once():
    deferred = DeferredSignatures()
    assert deferred.done() and deferred.verify() is None


def test_a_proposer_cannot_defer_signature_checks(net):
    state = State(Overlay(MemoryKV()), EMPTY_ROOT)
    with pytest.raises(ValueError):
        execute_txs(state, [], Context(CHAIN, 1, 0), lambda _: False, strict=False, deferred=DeferredSignatures())


# -- through blocks ------------------------------------------------------------------------------


def forge_seal_signature(ledger: Ledger, dept: Dept, serial: int) -> Tx:
    """A sealed licence.issue, well formed, whose signature is the department's licence.issue
    seal signature over another document: every check but the signature itself passes."""
    doc = make_doc(ledger, dept, serial)
    other = SealSignature.create(dept.key, ledger.net.genesis.chain_id, dept.seal_id, os.urandom(32), ledger.time, kind=ISSUE_KIND)
    tx = issue_tx(doc, ledger.net.genesis.chain_id)
    return Tx.sealed(tx.chain_id, tx.kind, tx.body, tx.signer, tx.nonce, other.signature)


def commit_unchecked(ledger: Ledger, monkeypatch, *txs) -> None:
    """Commit `txs` as a Byzantine quorum would: signature checks of handlers skipped."""
    with monkeypatch.context() as patch:
        patch.setattr(TxView, "verify_signature", lambda self, *args, **kwargs: None)
        ledger.accept(*txs)


def replica_at(ledger: Ledger, height: int) -> Chain:
    """A fresh chain holding the first `height` blocks of `ledger`."""
    source = ledger.local.chain
    chain = Chain(MemoryKV(), ledger.net.genesis)
    for h in range(1, height + 1):
        chain.commit_block(chain.execute_block(source.block(h)), source.commit(h))
    return chain


def test_a_proposer_leaves_out_a_licence_whose_seal_signature_is_forged(world):
    ledger, a, _ = world
    error = ledger.reject(forge_seal_signature(ledger, a, 1))
    assert (error.code, error.check, error.field) == ("licence.bad_seal", "seal.signature", "tx.signature")


def test_forged_seal_signature_fails_the_block_at_its_transaction_inline_and_deferred(world, monkeypatch):
    ledger, a, _ = world
    txs = [issue(ledger, a, make_doc(ledger, a, serial)) for serial in range(1, 4)]
    txs.insert(2, forge_seal_signature(ledger, a, 9))
    commit_unchecked(ledger, monkeypatch, *txs)
    height = ledger.local.chain.height
    block = ledger.local.chain.block(height)
    with pytest.raises(ValidationError) as inline:
        replica_at(ledger, height - 1).execute_block(block)
    deferred = DeferredSignatures()
    replica_at(ledger, height - 1).execute_block(block, deferred=deferred)
    assert len(deferred.items) == len(txs) and deferred.tx_indexes == [0, 1, 2, 3]  # one check per sealed issue
    with pytest.raises(ValidationError) as late:
        deferred.verify()
    for error in (inline.value, late.value):
        assert (error.code, error.index, error.field, error.check) == ("licence.bad_seal", 2, "block.txs[2]", "seal.signature")
        assert "tx.signature" in str(error)  # the member the transaction's own error names


def test_a_validator_deferring_every_signature_to_workers_reaches_the_proposer_state(world):
    ledger, a, b = world
    before = ledger.local.chain.height
    doc = make_doc(ledger, b, 77)
    sealed = SealSignature.create(a.key, ledger.net.genesis.chain_id, a.seal_id, os.urandom(32), ledger.time)
    ledger.accept(
        *(issue(ledger, a, make_doc(ledger, a, serial)) for serial in range(1, 40)),
        issue(ledger, b, doc), ledger.signed(a.key, "seal.sign", {"seal_signature": sealed.to_json()}),
    )
    replica = replica_at(ledger, before)
    block = ledger.local.chain.block(before + 1)
    with SignaturePool(2) as pool:
        deferred = DeferredSignatures(pool, batch=16)
        pending = replica.execute_block(block, deferred=deferred)
        deferred.verify()
    replica.commit_block(pending, ledger.local.chain.commit(before + 1))
    assert len(deferred.items) == len(block.txs) + 1  # one per sealed issue, two for the seal.sign
    assert replica.tip == ledger.local.chain.tip


def test_a_sealed_licence_issue_costs_one_signature_check_the_seal_statement_not_step_5(world):
    ledger, a, _ = world
    chain_id = ledger.net.genesis.chain_id
    doc = make_doc(ledger, a, 5)
    tx = issue(ledger, a, doc)
    sig, key = doc.seal_signature, a.key.public_key
    before = ledger.local.chain.height
    ledger.accept(tx)
    block = ledger.local.chain.block(before + 1)
    statement = (key, "seal", chain_id, sig.message(), sig.signature)
    assert b'"kind":"licence.issue"' in sig.message()
    deferred = DeferredSignatures()
    replica_at(ledger, before).execute_block(block, deferred=deferred)
    assert deferred.items == [statement] and deferred.tx_indexes == [0]
    deferred.verify()
    cache = SignatureCache()
    replica_at(ledger, before).execute_block(block, cache=cache)
    assert len(cache) == 1 and statement in cache and (key, SIGN_PURPOSE, chain_id, tx.id, tx.signature) not in cache
    # The cache holding the statement, a deferred replay checks nothing at all.
    deferred = DeferredSignatures()
    replica_at(ledger, before).execute_block(block, deferred=deferred, cache=cache)
    assert deferred.items == []
