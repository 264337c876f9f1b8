import dataclasses
import os

import pytest

from ledger.anchors import anchor_key
from ledger.audit import audit_chain
from ledger.block import Block
from ledger.chain import STALE_PREFIX, Chain
from ledger.commit import make_commit, sign_precommit
from ledger.errors import StoreError, ValidationError
from ledger.kv import MemoryKV, Prefixed
from ledger.smt import SparseMerkleTree, verify_proof
from ledger.smt.nodes import NODE_SPACE
from ledger.state import FLAT_PREFIX, SMT_PREFIX
from ledger.tx import Tx
from node.local import LocalNetwork

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


@pytest.mark.parametrize("retain", [-1, True, 1.5, "3"])
def test_retain_heights_must_be_none_or_a_non_negative_integer(net, retain):
    with pytest.raises(ValidationError) as err:
        Chain(MemoryKV(), net.genesis, retain_heights=retain)
    assert err.value.code == "store.retain_heights_invalid"


def _anchored_chain(net, kv, retain, blocks=8):
    """A chain over `kv` keeping `retain` heights, with three anchors per block; returns it and
    the anchor keys of each height."""
    local = LocalNetwork(Chain(kv, net.genesis, retain_heights=retain), net.validator_keys)
    keys_by_height: list[list[bytes]] = [[]]
    for height in range(1, blocks + 1):
        documents = [os.urandom(32) for _ in range(3)]
        local.produce([net.anchor(document=doc) for doc in documents], GENESIS_TIME + 1000 * height)
        keys_by_height.append([anchor_key(doc) for doc in documents])
    return local.chain, keys_by_height


def test_a_pruning_chain_keeps_its_window_whole_and_says_state_pruned_below_it(net):
    kv = MemoryKV()
    chain, keys_by_height = _anchored_chain(net, kv, retain=2)
    assert chain.height == 8 and chain.oldest_state_height == 6
    every_key = [key for keys in keys_by_height for key in keys]
    tree = SparseMerkleTree(Prefixed(chain.kv, SMT_PREFIX))
    for height in range(1, chain.height + 1):
        root = chain.header(height).state_root
        if height < chain.oldest_state_height:
            with pytest.raises(StoreError) as err:
                tree.get(root, every_key[0])
            assert err.value.code == "state.pruned"
            continue
        anchored = {key for keys in keys_by_height[: height + 1] for key in keys}
        for key in every_key:
            value = tree.get(root, key)
            assert (value is not None) == (key in anchored)
            verify_proof(root, key, value, tree.prove(root, key))
    assert sorted(int.from_bytes(key[len(STALE_PREFIX) :], "big") for key, _ in kv.iterate(STALE_PREFIX)) == [7, 8]
    reopened = Chain(kv, net.genesis, retain_heights=2)
    assert reopened.oldest_state_height == 6 and reopened.validators() == net.genesis.validators
    assert audit_chain(kv, net.genesis).height == 8


def _node_count(kv: MemoryKV) -> int:
    return sum(1 for _ in kv.iterate(SMT_PREFIX + NODE_SPACE))


def test_a_chain_keeping_only_its_tip_stores_less_and_replays_the_same_blocks(net):
    full_kv, tip_kv = MemoryKV(), MemoryKV()
    full, keys_by_height = _anchored_chain(net, full_kv, retain=None)
    tip_only = Chain(tip_kv, net.genesis, retain_heights=0)
    for height in range(1, full.height + 1):
        tip_only.commit_block(tip_only.execute_block(full.block(height)), full.commit(height))
    assert tip_only.tip == full.tip and tip_only.oldest_state_height == full.height
    assert full.oldest_state_height == 0 and list(full_kv.iterate(STALE_PREFIX)) == []
    assert _node_count(tip_kv) < _node_count(full_kv)
    tree = SparseMerkleTree(Prefixed(tip_kv, SMT_PREFIX))
    for key in (key for keys in keys_by_height for key in keys):
        assert tree.get(tip_only.tip.state_root, key) == full_kv.get(FLAT_PREFIX + key)
    with pytest.raises(StoreError) as err:
        tree.get(full.header(full.height - 1).state_root, keys_by_height[1][0])
    assert err.value.code == "state.pruned"


def test_pruning_on_leveldb_survives_a_reopen(net, tmp_path):
    from ledger.store import LevelKV

    with LevelKV(tmp_path / "db") as kv:
        chain, keys_by_height = _anchored_chain(net, kv, retain=1, blocks=5)
        tip_root = chain.tip.state_root
    with LevelKV(tmp_path / "db", create=False) as kv:
        reopened = Chain(kv, net.genesis, retain_heights=1)
        assert reopened.oldest_state_height == 4
        tree = SparseMerkleTree(Prefixed(kv, SMT_PREFIX))
        assert all(tree.get(tip_root, key) is not None for keys in keys_by_height for key in keys)
        assert audit_chain(kv, net.genesis).height == 5
