"""ledger.sigcache: what a cached check stands for, LRU bounds, and the execution hook (a cached
signature is neither verified inline nor deferred; one verified inline is remembered), also for
a sealed licence.issue, whose one check is its seal signature."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.crypto import PrivateKey, Signature, Suite
from ledger.errors import CryptoError, ValidationError
from ledger.execute import DeferredSignatures, TxView
from ledger.kv import MemoryKV
from ledger.licence_bodies import issue_tx
from ledger.sigcache import SignatureCache
from ledger.tx import SIGN_PURPOSE, Tx

from .conftest import GENESIS_TIME
from .test_verify import make_doc, world  # noqa: F401  (world is a fixture)

CHAIN = "test-chain"
KEY = PrivateKey.generate()


def signed(message: bytes, key: PrivateKey = KEY):
    return key.public_key, "seal", CHAIN, message, key.sign("seal", CHAIN, message)


def tampered(signature: Signature) -> Signature:
    return Signature(signature.suite, signature.value[:-1] + bytes([signature.value[-1] ^ 1]))


def test_check_verifies_once_and_remembers_only_success():
    cache = SignatureCache()
    check = signed(b"document")
    cache.check(*check)
    assert len(cache) == 1 and check in cache
    cache.check(*check)
    assert len(cache) == 1
    bad = (*check[:4], tampered(check[4]))
    with pytest.raises(CryptoError) as info:
        cache.check(*bad)
    assert info.value.code == "crypto.bad_signature"
    assert bad not in cache and len(cache) == 1


def test_check_trusts_a_remembered_entry_without_verifying():
    # remember() is for checks verified elsewhere; a hit is never verified again, which this
    # shows by (wrongly, on purpose) remembering a signature that does not verify.
    cache = SignatureCache()
    public_key, purpose, chain_id, message, signature = signed(b"document")
    forged = tampered(signature)
    cache.remember(public_key, purpose, chain_id, message, forged)
    cache.check(public_key, purpose, chain_id, message, forged)
    with pytest.raises(CryptoError):
        SignatureCache().check(public_key, purpose, chain_id, message, forged)


@pytest.mark.parametrize("change", ["key", "purpose", "chain_id", "message", "signature"])
def test_a_cached_check_does_not_cover_any_other_check(change):
    cache = SignatureCache()
    public_key, purpose, chain_id, message, signature = check = signed(b"document")
    cache.check(*check)
    other = {
        "key": (PrivateKey.generate().public_key, purpose, chain_id, message, signature),
        "purpose": (public_key, "vote", chain_id, message, signature),
        "chain_id": (public_key, purpose, "other-chain", message, signature),
        "message": (public_key, purpose, chain_id, b"document2", signature),
        "signature": (public_key, purpose, chain_id, message, tampered(signature)),
    }[change]
    assert other not in cache
    with pytest.raises(CryptoError):
        cache.check(*other)


def test_same_signature_value_under_another_suite_is_not_a_hit():
    cache = SignatureCache()
    public_key, purpose, chain_id, message, signature = signed(b"document")
    cache.check(public_key, purpose, chain_id, message, signature)
    relabelled = Signature(Suite.ED25519, signature.value)
    assert (public_key, purpose, chain_id, message, relabelled) not in cache
    with pytest.raises(CryptoError) as info:
        cache.check(public_key, purpose, chain_id, message, relabelled)
    assert info.value.code == "crypto.suite_mismatch"


def test_least_recently_used_entry_is_forgotten_first():
    cache = SignatureCache(max_entries=2)
    a, b, c = (signed(bytes([i]) * 8) for i in range(3))
    cache.check(*a)
    cache.check(*b)
    cache.check(*a)  # a is now the most recently used
    cache.check(*c)
    assert len(cache) == 2 and a in cache and c in cache and b not in cache
    cache.remember(*b)
    assert len(cache) == 2 and b in cache and a not in cache


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_max_entries_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError):
        SignatureCache(max_entries=bad)


# -- the execution hook (ledger/execute.py) ----------------------------------------------------


def test_txview_inline_remembers_what_it_verified_and_skips_what_is_cached():
    cache = SignatureCache()
    view = TxView(MemoryKV(), cache=cache)
    good = signed(b"document")
    view.verify_signature(*good, field="tx.body.sig", code="kind.bad_sig")
    assert good in cache
    public_key, purpose, chain_id, message, signature = signed(b"other")
    forged = tampered(signature)
    with pytest.raises(ValidationError) as info:
        view.verify_signature(public_key, purpose, chain_id, message, forged, field="tx.body.sig", code="kind.bad_sig")
    assert info.value.code == "kind.bad_sig" and len(cache) == 1
    cache.remember(public_key, purpose, chain_id, message, forged)
    view.verify_signature(public_key, purpose, chain_id, message, forged, field="tx.body.sig", code="kind.bad_sig")


def test_txview_deferred_records_only_checks_the_cache_does_not_hold():
    cache = SignatureCache()
    held, new = signed(b"held"), signed(b"new")
    cache.check(*held)
    deferred = DeferredSignatures()
    view = TxView(MemoryKV(), deferred, 3, cache)
    view.verify_signature(*held, field="tx.body.sig", code="kind.bad_sig")
    view.verify_signature(*new, field="tx.body.sig", code="kind.bad_sig")
    assert deferred.items == [new] and deferred.tx_indexes == [3]
    deferred.verify()


def test_block_built_with_a_cache_is_checked_again_without_deferring_its_signatures(net):
    proposer = net.validator_keys[0].public_key.key_id
    txs = [net.anchor(), net.anchor("tianjin")]
    cache = SignatureCache()
    pending = Chain(MemoryKV(), net.genesis).build_block(txs, GENESIS_TIME + 1000, proposer, None, cache=cache)
    assert pending.block.txs == tuple(txs) and len(cache) == 2
    assert all((net.admin_keys[r].public_key, SIGN_PURPOSE, tx.chain_id, tx.id, tx.signature) in cache for r, tx in zip(("beijing", "tianjin"), txs))
    for held, expected in ((cache, 0), (SignatureCache(), 2), (None, 2)):
        deferred = DeferredSignatures()
        replayed = Chain(MemoryKV(), net.genesis).execute_block(pending.block, deferred=deferred, cache=held)
        deferred.verify()
        assert len(deferred.items) == expected and replayed.block.header.state_root == pending.block.header.state_root


def test_block_with_a_bad_tx_signature_fails_inline_with_a_cache(net):
    tx = net.anchor()
    bad = Tx(tx.chain_id, tx.kind, tx.body, tx.signer, tx.nonce, tampered(tx.signature))
    cache = SignatureCache()
    pending = Chain(MemoryKV(), net.genesis).build_block([bad], GENESIS_TIME + 1000, net.validator_keys[0].public_key.key_id, None, cache=cache)
    assert pending.block.txs == () and [r.error.code for r in pending.rejected] == ["tx.bad_signature"] and len(cache) == 0


def test_a_sealed_issue_costs_one_seal_signature_check_which_the_cache_spares_on_replay(world):
    """A licence.issue's only signature is its document's seal signature (transactions.md §5): a
    proposer with a cache verifies and keeps exactly that statement, never a "tx" one, and a
    replay holding the cache defers nothing; without it, one check per issue is deferred."""
    ledger, dept = world
    chain, chain_id = ledger.local.chain, ledger.net.genesis.chain_id
    docs = [make_doc(ledger, dept, serial) for serial in (1, 2)]
    txs = [issue_tx(doc, chain_id) for doc in docs]
    cache = SignatureCache()
    proposer = ledger.local.proposer(chain.height + 1).public_key.key_id
    pending = chain.build_block(txs, ledger.next_time, proposer, chain.commit(chain.height), cache=cache)
    assert pending.block.txs == tuple(txs) and not pending.rejected and len(cache) == 2
    key = dept.key.public_key
    assert all((key, "seal", chain_id, doc.seal_signature.message(), tx.signature) in cache for doc, tx in zip(docs, txs))
    assert not any((key, SIGN_PURPOSE, chain_id, tx.id, tx.signature) in cache for tx in txs)
    for held, expected in ((cache, 0), (None, 2)):
        deferred = DeferredSignatures()
        replayed = chain.execute_block(pending.block, deferred=deferred, cache=held)
        deferred.verify()
        assert len(deferred.items) == expected and replayed.block.header.state_root == pending.block.header.state_root
    assert [(purpose, message) for _, purpose, _, message, _ in deferred.items] == [("seal", doc.seal_signature.message()) for doc in docs]


def test_entries_verified_elsewhere_are_hits_and_unrelated_ones_are_not():
    from ledger.sigcache import check_entry

    key = PrivateKey.generate()
    other = PrivateKey.generate()
    signature = key.sign("tx", "chain", b"message")
    cache = SignatureCache()
    cache.remember_entries([check_entry(key.public_key, "tx", "chain", b"message", signature)])
    assert (key.public_key, "tx", "chain", b"message", signature) in cache
    assert (other.public_key, "tx", "chain", b"message", signature) not in cache
    assert (key.public_key, "tx", "chain", b"other", signature) not in cache
    assert (key.public_key, "seal", "chain", b"message", signature) not in cache
