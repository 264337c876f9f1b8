"""node.mempool: admission checks in the order of consensus.md §7 (size, duplicate, execution
against the tip, room), reaping in arrival order within limits, re-checking after a commit, and
the signature cache it shares with block execution."""

from __future__ import annotations

import dataclasses
import os

import pytest

from ledger.chain import Chain
from ledger.crypto import PrivateKey, Signature
from ledger.errors import ValidationError
from ledger.execute import DeferredSignatures
from ledger.genesis import Params
from ledger.kv import MemoryKV
from ledger.licence_bodies import issue_tx
from ledger.seals import SIGN_PURPOSE as SEAL_PURPOSE
from ledger.sigcache import SignatureCache
from ledger.tx import Tx
from node.mempool import Mempool, MempoolError
from tests.ledger.conftest import make_net
from tests.ledger.test_governance import Ledger, grant, uscc
from tests.ledger.test_licences import T_OPEN, make_doc, world  # noqa: F401  (world is a fixture)


@pytest.fixture(scope="module")
def net():
    return make_net()


@pytest.fixture
def ledger(net) -> Ledger:
    return Ledger(net)


def store_items(chain: Chain) -> dict[bytes, bytes]:
    return dict(chain.kv.iterate(b""))


def test_add_holds_transactions_and_reap_returns_them_in_arrival_order(ledger, net):
    pool = Mempool(ledger.local.chain)
    assert not pool.has_txs() and len(pool) == 0 and pool.size_bytes == 0
    txs = [net.anchor("tianjin"), net.anchor("beijing"), net.anchor("hebei")]
    before = store_items(ledger.local.chain)
    for tx in txs:
        pool.add(tx)
    assert store_items(ledger.local.chain) == before  # admission writes nothing
    assert pool.has_txs() and len(pool) == 3 and pool.size_bytes == sum(len(t.raw) for t in txs)
    assert all(pool.contains(t.id) for t in txs) and not pool.contains(net.anchor().id)
    assert pool.reap(10, 1 << 20) == txs
    assert len(pool) == 3  # reaping does not remove


def test_reap_stops_at_max_txs_and_passes_over_what_exceeds_max_bytes(ledger, net):
    pool = Mempool(ledger.local.chain)
    small_1, big, small_2, small_3 = net.anchor(), net.anchor(label="x" * 128), net.anchor(), net.anchor()
    for tx in (small_1, big, small_2, small_3):
        pool.add(tx)
    assert pool.reap(2, 1 << 20) == [small_1, big]
    assert len(big.raw) == len(small_1.raw) + 128 == len(small_2.raw) + 128
    assert pool.reap(10, len(small_1.raw) + len(small_2.raw) + 100) == [small_1, small_2]
    assert pool.reap(10, len(small_1.raw) - 1) == []
    assert pool.reap(0, 1 << 20) == []


def test_add_rejects_a_transaction_larger_than_max_tx_bytes(net):
    genesis = dataclasses.replace(net.genesis, params=Params(max_tx_bytes=256))
    pool = Mempool(Chain(MemoryKV(), genesis))
    tx = Tx.create(genesis.chain_id, "document.anchor", {"document_hash": os.urandom(32)}, net.admin_keys["beijing"], os.urandom(16))
    with pytest.raises(MempoolError) as info:
        pool.add(tx)
    assert (info.value.code, info.value.size, info.value.limit) == ("mempool.too_large", len(tx.raw), 256)
    assert len(pool) == 0


def test_add_rejects_a_transaction_already_held(ledger, net):
    pool = Mempool(ledger.local.chain)
    tx = net.anchor()
    pool.add(tx)
    with pytest.raises(MempoolError) as info:
        pool.add(Tx.from_bytes(tx.raw))
    assert info.value.code == "mempool.duplicate" and len(pool) == 1


def test_full_by_count_says_how_many_are_held(ledger, net):
    pool = Mempool(ledger.local.chain, max_txs=2)
    pool.add(net.anchor())
    pool.add(net.anchor())
    with pytest.raises(MempoolError) as info:
        pool.add(net.anchor())
    error = info.value
    assert (error.code, error.txs, error.max_txs) == ("mempool.full", 2, 2)
    assert "2 of 2 transactions" in str(error) and len(pool) == 2


def test_a_full_mempool_refuses_before_executing_anything(ledger, net, monkeypatch):
    pool = Mempool(ledger.local.chain, max_txs=1)
    pool.add(net.anchor())
    executed = []
    monkeypatch.setattr(pool, "_execute", lambda tx, now: executed.append(tx))
    with pytest.raises(MempoolError) as info:
        pool.add(net.anchor())
    assert info.value.code == "mempool.full" and executed == []


def test_full_by_bytes_says_how_many_bytes_are_held(ledger, net):
    first, second = net.anchor(), net.anchor()
    pool = Mempool(ledger.local.chain, max_bytes=len(first.raw) + len(second.raw) - 1)
    pool.add(first)
    with pytest.raises(MempoolError) as info:
        pool.add(second)
    error = info.value
    assert (error.code, error.bytes, error.size, error.max_bytes) == ("mempool.full", len(first.raw), len(second.raw), pool.max_bytes)
    assert pool.reap(10, 1 << 20) == [first] and pool.size_bytes == len(first.raw)


def test_a_committed_transaction_is_rejected_as_a_replay(ledger, net):
    tx = net.anchor()
    ledger.accept(tx)
    pool = Mempool(ledger.local.chain)
    with pytest.raises(ValidationError) as info:
        pool.add(tx)
    assert info.value.code == "tx.replay" and len(pool) == 0


def tampered(tx: Tx) -> Tx:
    value = tx.signature.value
    return Tx(tx.chain_id, tx.kind, tx.body, tx.signer, tx.nonce, Signature(tx.signature.suite, value[:-1] + bytes([value[-1] ^ 1])))


@pytest.mark.parametrize("make, code, verified", [
    (lambda net, ledger: ledger.signed(PrivateKey.generate(), "document.anchor", {"document_hash": os.urandom(32)}), "tx.unknown_signer", 0),
    (lambda net, ledger: ledger.signed(net.validator_keys[0], "document.anchor", {"document_hash": os.urandom(32)}), "tx.forbidden", 0),
    (lambda net, ledger: ledger.admin("beijing", "no.such_kind", {}), "tx.unknown_kind", 0),
    (lambda net, ledger: tampered(net.anchor()), "tx.bad_signature", 0),
    (lambda net, ledger: Tx.create("other-chain", "document.anchor", {"document_hash": os.urandom(32)}, net.admin_keys["beijing"], os.urandom(16)), "tx.wrong_chain", 0),
    (lambda net, ledger: ledger.admin("beijing", "document.anchor", {"document_hash": b"short"}), "validation.length", 1),
])
def test_a_transaction_execution_rejects_is_not_admitted_and_keeps_its_code(ledger, net, make, code, verified):
    pool = Mempool(ledger.local.chain)
    with pytest.raises(ValidationError) as info:
        pool.add(make(net, ledger))
    # only a signature that verified is remembered (a bad body comes after a good tx signature)
    assert info.value.code == code and len(pool) == 0 and len(pool.cache) == verified


def sealed_issue(ledger: Ledger, dept, serial: int, **options: object) -> Tx:
    """The sealed licence.issue of a first version (transactions.md §5): its signature is the seal's."""
    return issue_tx(make_doc(ledger, dept, serial, **options), ledger.net.genesis.chain_id)


def test_a_licence_of_a_type_not_granted_is_rejected_and_a_granted_one_admitted(world):
    ledger, a, b = world
    pool = Mempool(ledger.local.chain)
    with pytest.raises(ValidationError) as info:
        pool.add(sealed_issue(ledger, b, 7, type=T_OPEN))
    assert (info.value.code, info.value.field) == ("licence.type_not_granted", "tx.body.id")
    pool.add(sealed_issue(ledger, a, 7, type=T_OPEN))
    assert len(pool) == 1


def test_a_sealed_issue_is_admitted_and_the_cache_holds_its_seal_check_not_a_tx_signature(world):
    ledger, a, _ = world
    document = make_doc(ledger, a, 5)
    tx = issue_tx(document, ledger.net.genesis.chain_id)
    pool = Mempool(ledger.local.chain)
    pool.add(tx)
    seal = document.seal_signature
    assert tx.signature == seal.signature and tx.signer == a.key.public_key.key_id
    assert len(pool.cache) == 1  # one signature: the seal's is the transaction's
    assert (a.key.public_key, SEAL_PURPOSE, tx.chain_id, seal.message(), tx.signature) in pool.cache


def test_a_sealed_issue_with_a_bad_signature_is_rejected_and_nothing_is_cached(world):
    ledger, a, _ = world
    pool = Mempool(ledger.local.chain)
    with pytest.raises(ValidationError) as info:
        pool.add(tampered(sealed_issue(ledger, a, 6)))
    assert (info.value.code, info.value.check, info.value.field) == ("licence.bad_seal", "seal.signature", "tx.signature")
    assert len(pool) == 0 and len(pool.cache) == 0


def test_a_block_of_admitted_transactions_is_executed_without_verifying_them_again(world):
    ledger, a, _ = world
    pool = Mempool(ledger.local.chain)
    txs = [sealed_issue(ledger, a, n) for n in (1, 2, 3)]
    for tx in txs:
        pool.add(tx)
    assert len(pool.cache) == 3  # each: its seal signature, which is its tx signature
    chain = ledger.local.chain
    pending = chain.build_block(pool.reap(100, 1 << 20), ledger.next_time, ledger.net.validator_keys[0].public_key.key_id, chain.commit(chain.height), cache=pool.cache)
    assert pending.block.txs == tuple(txs) and len(pool.cache) == 3
    for cache, checks in ((pool.cache, 0), (SignatureCache(), 3)):
        deferred = DeferredSignatures()
        chain.execute_block(pending.block, deferred=deferred, cache=cache)
        deferred.verify()
        assert len(deferred.items) == checks


def test_update_removes_the_committed_and_drops_what_the_commit_invalidated(ledger, net):
    pool = Mempool(ledger.local.chain)
    document = os.urandom(32)
    first, rival, other = net.anchor("beijing", document=document), net.anchor("tianjin", document=document), net.anchor("hebei")
    for tx in (first, rival, other):
        pool.add(tx)
    ledger.accept(first)
    assert pool.update([first]) == [rival]
    assert pool.reap(10, 1 << 20) == [other] and pool.size_bytes == len(other.raw)
    with pytest.raises(ValidationError) as info:
        pool.add(rival)
    assert info.value.code == "anchor.exists"
    ledger.accept(other)
    assert pool.update([other]) == [] and not pool.has_txs() and pool.size_bytes == 0


def test_update_drops_transactions_of_a_key_revoked_by_a_block_the_pool_never_held(ledger, net):
    key = PrivateKey.generate()
    code = uscc(41)
    ledger.admit("beijing", code, key)
    pool = Mempool(ledger.local.chain)
    mine, kept = ledger.signed(key, "document.anchor", {"document_hash": os.urandom(32)}), net.anchor()
    pool.add(mine)
    pool.add(kept)
    ledger.accept(ledger.admin("beijing", "org.key_revoke", {"uscc": code, "key_id": key.public_key.key_id, "reason": "lost"}))
    assert pool.update([]) == [mine] and pool.reap(10, 1 << 20) == [kept]


def test_update_rechecks_only_the_head_and_reaches_the_rest_as_it_moves_up(ledger, net):
    first_doc, second_doc = os.urandom(32), os.urandom(32)
    winners = [net.anchor("beijing", document=d) for d in (first_doc, second_doc)]
    losers = [net.anchor("tianjin", document=d) for d in (first_doc, second_doc)]
    pool = Mempool(ledger.local.chain, recheck=1)
    for tx in (*losers, net.anchor("hebei")):
        pool.add(tx)
    for tx in winners:
        ledger.accept(tx)
    assert pool.update([]) == [losers[0]]  # only the head was re-checked
    assert pool.contains(losers[1].id)
    assert pool.update([]) == [losers[1]]
    assert len(pool) == 1


def test_add_executes_at_the_later_of_now_and_just_after_the_tip(ledger):
    key = PrivateKey.generate()
    starts = ledger.next_time + 60_000  # the key becomes valid a minute after the next block
    ledger.accept(ledger.admin("beijing", "org.admit", {"uscc": uscc(42), "name": "later", "keys": [grant(key, not_before=starts)], "licence_types": []}))
    pool = Mempool(ledger.local.chain)
    tx = ledger.signed(key, "document.anchor", {"document_hash": os.urandom(32)})
    for now in (None, ledger.time - 5_000, starts - 1):
        with pytest.raises(ValidationError) as info:
            pool.add(tx, now=now)
        assert info.value.code == "tx.signer_expired"
    pool.add(tx, now=starts)
    assert pool.update([], now=ledger.time) == [tx]


@pytest.mark.parametrize("limits", [{"max_txs": 0}, {"max_bytes": -1}, {"max_txs": True}, {"max_bytes": 1.5}, {"recheck": 0}])
def test_limits_must_be_positive_integers(ledger, limits):
    with pytest.raises(ValueError):
        Mempool(ledger.local.chain, **limits)
