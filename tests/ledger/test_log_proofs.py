"""ledger.log_proofs: a committed transaction's inclusion proofs at its block and at the tip, the
consistency proof between two log sizes, and the first block showing a log size, over a chain
with full and empty blocks; each proof checked with ledger.merkle against the headers' roots,
and `height_of_log_size` against a literal walk over every header."""

from __future__ import annotations

import orjson
import pytest

from ledger.chain import BLOCK_PREFIX, height_key
from ledger.encoding import encode
from ledger.errors import ProofError, StoreError
from ledger.log_proofs import find_transaction, height_of_log_size, prove_log_consistency
from ledger.merkle import EMPTY_ROOT, verify_consistency, verify_inclusion
from ledger.view import ChainView

from .conftest import GENESIS_TIME

#: Transactions per block: empty blocks first, between and last.
SHAPE = (0, 3, 0, 0, 1, 4, 0, 2, 0)


@pytest.fixture(scope="module")
def chain(net):
    """A chain of len(SHAPE) blocks holding SHAPE[h - 1] anchors each; its txs by height."""
    local = net.local()
    txs = {}
    for h, count in enumerate(SHAPE, start=1):
        block = local.produce([net.anchor(label=f"{h}.{i}") for i in range(count)], GENESIS_TIME + 1000 * h).block
        txs[h] = block.txs
    return local.chain, txs


def view_of(chain) -> ChainView:
    return ChainView(chain.kv.snapshot(), chain.genesis)


def test_every_committed_transaction_is_proven_at_its_block_and_at_the_tip(chain):
    chain, txs = chain
    view = view_of(chain)
    tip = view.tip
    for height, block_txs in txs.items():
        header = chain.header(height)
        for index, tx in enumerate(block_txs):
            found = find_transaction(view, tx.id)
            assert (found.height, found.index, found.time, found.tx) == (height, index, header.time, tx.raw)
            assert found.log_index == header.log_size - len(block_txs) + index
            at_block, at_tip = found.at_block, found.at_tip
            assert (at_block.height, at_block.log_size, at_block.log_root) == (height, header.log_size, header.log_root)
            assert (at_tip.height, at_tip.log_size, at_tip.log_root) == (tip.height, tip.log_size, tip.log_root)
            verify_inclusion(tx.leaf_hash, found.log_index, at_block.log_size, at_block.proof, header.log_root)
            verify_inclusion(tx.leaf_hash, found.log_index, at_tip.log_size, at_tip.proof, tip.log_root)


def test_a_transaction_not_committed_is_not_found(chain, net):
    chain, _ = chain
    assert find_transaction(view_of(chain), net.anchor().id) is None


def test_a_transaction_committed_after_the_view_is_not_found_in_it(net):
    local = net.local()
    local.produce([], GENESIS_TIME + 1000)
    view = view_of(local.chain)
    tx = net.anchor()
    local.produce([tx], GENESIS_TIME + 2000)
    assert find_transaction(view, tx.id) is None
    assert find_transaction(view_of(local.chain), tx.id).height == 2


def test_a_stored_block_that_does_not_hold_the_logged_transaction_is_a_store_error(net):
    local = net.local()
    first, second = net.anchor(), net.anchor()
    local.produce([first, second], GENESIS_TIME + 1000)
    raw = orjson.loads(local.chain.block_bytes(1))
    raw["txs"].reverse()
    local.chain.kv.write({height_key(BLOCK_PREFIX, 1): encode(raw)})
    with pytest.raises(StoreError) as err:
        find_transaction(view_of(local.chain), first.id)
    assert err.value.code == "store.corrupt_block"


def reference_height(chain, size: int) -> int | None:
    """The literal definition: the first of heights 1..tip whose header shows `size`."""
    for height in range(1, chain.height + 1):
        if chain.header(height).log_size == size:
            return height
    return None


def test_the_height_of_every_log_size_is_the_first_header_showing_it(chain):
    chain, _ = chain
    view = view_of(chain)
    for size in range(-1, chain.tip.log_size + 3):
        assert height_of_log_size(view, size) == reference_height(chain, size), size


def test_a_chain_without_blocks_shows_no_log_size(net):
    view = view_of(net.local().chain)
    assert height_of_log_size(view, 0) is None


def test_consistency_between_every_pair_of_sizes_verifies(chain):
    chain, _ = chain
    view = view_of(chain)
    size = chain.tip.log_size
    for first in range(size + 1):
        for second in range(first, size + 1):
            proof = prove_log_consistency(view, first, second)
            verify_consistency(first, second, proof.proof, proof.first.root, proof.second.root)
            for point in (proof.first, proof.second):
                assert point.height == reference_height(chain, point.size)
                if point.height is not None:
                    assert point.root == chain.header(point.height).log_root
    assert prove_log_consistency(view, 0, 0).first.root == EMPTY_ROOT


@pytest.mark.parametrize("first, second, code", [(3, 2, "proof.sizes_out_of_order"), (0, 11, "proof.size_out_of_range"), (11, 12, "proof.size_out_of_range")])
def test_consistency_refuses_sizes_out_of_order_or_beyond_the_log(chain, first, second, code):
    chain, _ = chain
    with pytest.raises(ProofError) as err:
        prove_log_consistency(view_of(chain), first, second)
    assert err.value.code == code


def test_the_shape_holds_what_the_tests_need(chain):
    chain, _ = chain
    assert chain.tip.log_size == sum(SHAPE) == 10  # the sizes 11 and 12 above lie beyond it
