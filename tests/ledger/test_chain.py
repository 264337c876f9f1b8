import dataclasses
import os

import pytest

from ledger.block import Block
from ledger.chain import Chain
from ledger.commit import make_commit, sign_precommit
from ledger.errors import StoreError, ValidationError
from ledger.kv import MemoryKV
from ledger.tx import Tx

from .conftest import GENESIS_TIME, make_net


def test_empty_store_is_initialised_from_genesis(net):
    chain = Chain(MemoryKV(), net.genesis)
    assert chain.height == 0 and chain.tip.hash == net.genesis.hash
    assert chain.validators() == net.genesis.validators


def test_blocks_commit_and_reopen_with_the_same_tip(net):
    kv = MemoryKV()
    local = net.local(kv)
    for i in range(3):
        local.produce([net.anchor() for _ in range(5)], GENESIS_TIME + 1000 * (i + 1))
    reopened = Chain(kv, net.genesis)
    assert reopened.tip == local.chain.tip and reopened.height == 3
    assert reopened.tip.log_size == 15
    block = reopened.block(2)
    assert block.header.previous_hash == reopened.block(1).hash
    assert reopened.tx_location(block.txs[4].id) == (2, 4)


def test_store_of_another_genesis_is_refused(net):
    kv = MemoryKV()
    Chain(kv, net.genesis)
    with pytest.raises(StoreError) as err:
        Chain(kv, make_net().genesis)
    assert err.value.code == "store.genesis_mismatch"


def test_proposer_leaves_out_failing_and_replayed_transactions(net):
    local = net.local()
    tx = net.anchor()
    first = local.produce([tx, tx], GENESIS_TIME + 1)
    assert first.block.txs == (tx,) and first.rejected[0].error.code == "tx.replay"
    second = local.produce([tx], GENESIS_TIME + 2)
    assert second.block.txs == () and second.rejected[0].error.code == "tx.replay"


def test_same_document_cannot_be_anchored_twice(net):
    local = net.local()
    doc = os.urandom(32)
    local.produce([net.anchor(document=doc)], GENESIS_TIME + 1)
    pending = local.produce([net.anchor(region="hebei", document=doc)], GENESIS_TIME + 2)
    assert pending.rejected[0].error.code == "anchor.exists"


def test_unknown_signer_and_validator_role_are_refused(net):
    from ledger.crypto import PrivateKey

    local = net.local()
    stranger = Tx.create(net.genesis.chain_id, "document.anchor", {"document_hash": bytes(32)}, PrivateKey.generate(), os.urandom(16))
    validator_tx = Tx.create(net.genesis.chain_id, "document.anchor", {"document_hash": bytes(32)}, net.validator_keys[0], os.urandom(16))
    unknown_kind = Tx.create(net.genesis.chain_id, "licence.fly", {}, net.admin_keys["beijing"], os.urandom(16))
    pending = local.produce([stranger, validator_tx, unknown_kind], GENESIS_TIME + 1)
    assert [r.error.code for r in pending.rejected] == ["tx.unknown_signer", "tx.forbidden", "tx.unknown_kind"]


def _built(net):
    """A chain at height 1 and a valid, not yet executed block 2 made on a twin chain."""
    kv_a, kv_b = MemoryKV(), MemoryKV()
    a, b = net.local(kv_a), net.local(kv_b)
    txs = [net.anchor() for _ in range(3)]
    a.produce(txs, GENESIS_TIME + 1)
    b.chain.execute_block(a.chain.block(1))
    b.chain.commit_block(b.chain.execute_block(a.chain.block(1)), a.chain.commit(1))
    pending = a.chain.build_block([net.anchor() for _ in range(3)], GENESIS_TIME + 2, a.proposer(2).public_key.key_id, a.chain.commit(1))
    return b.chain, pending.block


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("state_root", bytes(32), "block.state_root_mismatch"),
        ("log_root", bytes(32), "block.log_root_mismatch"),
        ("log_size", 99, "block.log_size_mismatch"),
        ("tx_root", bytes(32), "block.tx_root_mismatch"),
        ("previous_hash", bytes(32), "block.broken_link"),
        ("height", 3, "block.wrong_height"),
        ("time", GENESIS_TIME, "block.time_not_increasing"),
        ("chain_id", "other-chain", "block.wrong_chain"),
        ("proposer", bytes(32), "block.unknown_proposer"),
        ("validators_hash", bytes(32), "block.validators_mismatch"),
        ("last_commit_hash", bytes(32), "block.last_commit_hash_mismatch"),
    ],
)
def test_execute_block_rejects_each_wrong_header_field(net, field, value, code):
    chain, block = _built(net)
    chain.execute_block(block)
    bad = Block(dataclasses.replace(block.header, **{field: value}), block.txs, block.last_commit)
    with pytest.raises(ValidationError) as err:
        chain.execute_block(bad)
    assert err.value.code == code


def test_execute_block_rejects_a_failing_transaction(net):
    chain, block = _built(net)
    replay = block.txs[0]
    bad = Block(block.header, block.txs + (replay,), block.last_commit)
    with pytest.raises(ValidationError):
        chain.execute_block(bad)


def test_commit_block_requires_a_quorum_commit(net):
    chain, block = _built(net)
    pending = chain.execute_block(block)
    weak = make_commit(2, 0, block.hash, [sign_precommit(k, net.genesis.chain_id, 2, 0, block.hash) for k in net.validator_keys[:2]])
    with pytest.raises(ValidationError) as err:
        chain.commit_block(pending, weak)
    assert err.value.code == "commit.insufficient_power"
    assert chain.height == 1
