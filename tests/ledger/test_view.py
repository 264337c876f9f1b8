"""Tests of ledger.view.ChainView: a committed chain as of one tip, over a snapshot, read the way
the chain itself reads it."""

from __future__ import annotations

import pytest

from ledger.chain import Chain
from ledger.errors import StoreError
from ledger.kv import MemoryKV
from ledger.merkle import root_from_inclusion, verify_inclusion
from ledger.store import LevelKV
from ledger.verify import StateAt
from ledger.view import ChainView
from tests.ledger.conftest import GENESIS_TIME


def _grow(net, local, blocks: int, per_block: int = 3) -> list:
    txs = []
    for b in range(blocks):
        batch = [net.anchor() for _ in range(per_block)]
        local.produce(batch, GENESIS_TIME + 1000 * (local.chain.height + 1))
        txs.extend(batch)
    return txs


def test_view_reads_what_the_chain_reads(net):
    local = net.local()
    txs = _grow(net, local, 3)
    chain = local.chain
    view = ChainView(chain.kv, net.genesis)
    assert view.tip == chain.tip and view.height == 3
    for h in (1, 2, 3):
        assert view.block_bytes(h) == chain.block_bytes(h)
        assert view.header(h) == chain.header(h) and view.commit(h) == chain.commit(h)
        assert view.header_bytes(h) is not None and view.commit_bytes(h) is not None
    assert view.block(0) is None and view.block(4) is None and view.header(True) is None
    for i, tx in enumerate(txs):
        height, index = view.tx_location(tx.id)
        assert (height, index) == chain.tx_location(tx.id)
        assert view.tx(height, index).id == tx.id
        assert view.log_index(height, index) == i
    assert view.validators().hash() == chain.validators().hash()
    assert view.oldest_state_height == 0


def test_a_view_over_a_snapshot_stays_at_its_height(net, tmp_path):
    with LevelKV(tmp_path / "db") as kv:
        local = net.local(kv)
        _grow(net, local, 2)
        snap = kv.snapshot()
        view = ChainView(snap, net.genesis)
        before = view.tip
        later = _grow(net, local, 2)
        assert view.tip == before and view.height == 2
        assert view.block_bytes(3) is None and view.tx_location(later[0].id) is None
        assert local.chain.tx_location(later[0].id) is not None
        root = StateAt(view, 2).state_root
        assert root == local.chain.header(2).state_root
        snap.close()


def test_log_proofs_from_a_view_verify_against_the_header(net):
    local = net.local()
    txs = _grow(net, local, 4, per_block=5)
    view = ChainView(local.chain.kv, net.genesis)
    header = view.header(2)
    height, index = view.tx_location(txs[7].id)
    assert height == 2
    position = view.log_index(height, index)
    proof = view.log().prove_inclusion(position, header.log_size)
    verify_inclusion(txs[7].leaf_hash, position, header.log_size, proof, header.log_root)
    assert root_from_inclusion(txs[7].leaf_hash, position, header.log_size, proof) == header.log_root


def test_iterating_state_and_indexes_strips_their_prefixes(net):
    local = net.local()
    _grow(net, local, 1)
    view = ChainView(local.chain.kv, net.genesis)
    regions = [key for key, _ in view.iterate_state(b"region/")]
    assert regions == sorted(f"region/{r.name}".encode() for r in net.genesis.regions)
    assert [key for key, _ in view.iterate_state(b"region/", b"region/t")] == [b"region/tianjin", b"region/xiongan"]
    assert list(view.iterate_index(b"holder/")) == []


def test_a_store_without_a_chain_has_no_view(net):
    with pytest.raises(StoreError) as err:
        ChainView(MemoryKV(), net.genesis)
    assert err.value.code == "store.no_tip"
