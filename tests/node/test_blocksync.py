"""Block sync (node/blocksync.py, consensus.md §8) against real chains.

A source chain is built with LocalNetwork; fresh chains sync from "peers" that answer requests
from source chains in the test loop. Dishonest peers send tampered blocks and commits."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from ledger.block import Block, tx_root
from ledger.chain import Chain
from ledger.commit import Commit, make_commit, sign_precommit
from ledger.errors import LedgerError
from ledger.kv import MemoryKV, Overlay
from ledger.tx import Tx
from node.blocksync import BlockSync, Received, apply_synced_block
from node.local import LocalNetwork
from tests.ledger.conftest import GENESIS_TIME, Net, make_net

BLOCKS = 30
TXS_PER_BLOCK = 3

Answer = tuple[Block | bytes, Commit]
Serve = Callable[[int], Answer | None]


def build(net: Net, blocks: int, *, start: int = 0, local: LocalNetwork | None = None) -> LocalNetwork:
    local = local if local is not None else net.local()
    for i in range(blocks):
        local.produce([net.anchor(label=f"b{start + i}.{j}") for j in range(TXS_PER_BLOCK)], GENESIS_TIME + 1000 * (start + i + 1))
    return local


@pytest.fixture(scope="module")
def net() -> Net:
    return make_net()


@pytest.fixture(scope="module")
def source(net: Net) -> Chain:
    return build(net, BLOCKS).chain


@pytest.fixture(scope="module")
def fork(net: Net) -> Chain:
    """Another chain of the same genesis, signed by the same validator keys (as if they
    equivocated): its blocks and commits are well signed but are not the source's."""
    return build(net, 4).chain


@pytest.fixture(scope="module")
def foreign() -> Chain:
    return build(make_net(chain_id="other-chain"), 4).chain


def honest(chain: Chain) -> Serve:
    def serve(height: int) -> Answer | None:
        raw, commit = chain.block_bytes(height), chain.commit(height)
        return None if raw is None or commit is None else (raw, commit)
    return serve


def fresh(net: Net) -> Chain:
    return Chain(MemoryKV(), net.genesis)


def replica(net: Net, source: Chain, height: int) -> Chain:
    chain = fresh(net)
    for h in range(1, height + 1):
        apply_synced_block(chain, source.block(h), source.commit(h))
    return chain


def snapshot(chain: Chain) -> list[tuple[bytes, bytes]]:
    return list(chain.kv.iterate(b""))


def run(
    chain: Chain, peers: dict[str, tuple[int, Serve]], *, sync: BlockSync | None = None, order: Callable[[list], None] = lambda a: None,
    step: int = 1000, max_steps: int = 200,
) -> BlockSync:
    """Drive `sync` until `chain` reaches every peer's top height and is caught up: each step,
    every peer sends its status, the requests go out, the answers come back in `order`."""
    sync = sync if sync is not None else BlockSync(chain.height)
    target = max(height for height, _ in peers.values())
    now = 0
    for _ in range(max_steps):
        for name, (height, _) in peers.items():
            sync.on_status(name, height, now)
        answers = [(peer, h, peers[peer][1](h)) for peer, h in sync.requests(now)]
        order(answers)
        for peer, h, answer in answers:
            if answer is not None:
                sync.on_block(peer, h, answer[0], answer[1], now)
        sync.apply(chain)
        if chain.height == target and sync.caught_up(chain.height):
            return sync
        now += step
    raise AssertionError(f"sync stalled at height {chain.height} of {target}")


def assert_same_tip(chain: Chain, source: Chain) -> None:
    assert chain.tip == source.tip
    assert chain.block_bytes(source.height) == source.block_bytes(source.height)


# -- apply_synced_block ----------------------------------------------------------------------


def test_apply_synced_block_replays_the_source_chain(net: Net, source: Chain) -> None:
    chain = replica(net, source, BLOCKS)
    assert_same_tip(chain, source)
    assert chain.commit(BLOCKS) == source.commit(BLOCKS)


def flipped_tx(net: Net, source: Chain, h: int) -> Answer:
    block = source.block(h)
    txs = (net.anchor(label="flipped"), *block.txs[1:])
    return Block(block.header, txs, block.last_commit), source.commit(h)


def tampered_header(net: Net, source: Chain, h: int) -> Answer:
    block = source.block(h)
    header = replace(block.header, state_root=bytes(32))
    return Block(header, block.txs, block.last_commit), source.commit(h)


def forged_signature(net: Net, source: Chain, h: int) -> Answer:
    commit = source.commit(h)
    sigs = list(commit.signatures)
    sigs[0] = replace(sigs[0], signature=sigs[1].signature)
    return source.block(h), replace(commit, signatures=tuple(sigs))


def too_few_signatures(net: Net, source: Chain, h: int) -> Answer:
    commit = source.commit(h)
    return source.block(h), replace(commit, signatures=commit.signatures[:2])


def commit_of_other_height(net: Net, source: Chain, h: int) -> Answer:
    return source.block(h), source.commit(h + 1)


BAD_ANSWERS = [
    (flipped_tx, "block.tx_root_mismatch"),
    (tampered_header, "commit.wrong_block"),
    (forged_signature, "commit.bad_signature"),
    (too_few_signatures, "commit.insufficient_power"),
    (commit_of_other_height, "commit.wrong_height"),
]


@pytest.mark.parametrize(("make", "code"), BAD_ANSWERS, ids=[m.__name__ for m, _ in BAD_ANSWERS])
def test_apply_synced_block_rejects_tampering_and_changes_nothing(net: Net, source: Chain, make, code: str) -> None:
    chain = replica(net, source, 3)
    before, tip = snapshot(chain), chain.tip
    block, commit = make(net, source, 4)
    with pytest.raises(LedgerError) as caught:
        apply_synced_block(chain, block, commit)
    assert caught.value.code == code
    assert snapshot(chain) == before and chain.tip == tip
    apply_synced_block(chain, source.block(4), source.commit(4))
    assert chain.tip.hash == source.block(4).hash


def test_apply_synced_block_rejects_blocks_not_next(net: Net, source: Chain) -> None:
    chain = replica(net, source, 3)
    before = snapshot(chain)
    for h in (3, 5):
        with pytest.raises(LedgerError) as caught:
            apply_synced_block(chain, source.block(h), source.commit(h))
        assert caught.value.code == "block.wrong_height"
    assert snapshot(chain) == before


def test_apply_synced_block_rejects_another_chain(net: Net, source: Chain, foreign: Chain) -> None:
    chain = replica(net, source, 3)
    before = snapshot(chain)
    with pytest.raises(LedgerError) as caught:
        apply_synced_block(chain, foreign.block(4), foreign.commit(4))
    assert caught.value.code == "block.wrong_chain"
    assert snapshot(chain) == before


def test_apply_synced_block_rejects_a_well_signed_fork(net: Net, source: Chain, fork: Chain) -> None:
    chain = replica(net, source, 3)
    before = snapshot(chain)
    with pytest.raises(LedgerError) as caught:
        apply_synced_block(chain, source.block(4), fork.commit(4))
    assert caught.value.code == "commit.wrong_block"
    with pytest.raises(LedgerError) as caught:
        apply_synced_block(chain, fork.block(4), fork.commit(4))
    assert caught.value.code == "block.broken_link"
    assert snapshot(chain) == before


def test_apply_synced_block_verifies_deferred_tx_signatures(net: Net, source: Chain) -> None:
    """A block signed by a quorum that holds a transaction with a bad signature (the roots
    recomputed to match) still fails, at that transaction, and commits nothing."""
    chain = replica(net, source, 3)
    block = source.block(4)
    good = block.txs[0]
    bad = Tx(good.chain_id, good.kind, good.body, good.signer, good.nonce, block.txs[1].signature)
    txs = (bad, *block.txs[1:])
    log = chain.log(Overlay(chain.kv))
    for tx in txs:
        log.append(tx.raw)
    header = replace(block.header, tx_root=tx_root(txs), log_root=log.root())
    forged = Block(header, txs, block.last_commit)
    commit = make_commit(4, 0, forged.hash, [sign_precommit(k, net.genesis.chain_id, 4, 0, forged.hash) for k in net.validator_keys])
    before = snapshot(chain)
    with pytest.raises(LedgerError) as caught:
        apply_synced_block(chain, forged, commit)
    assert caught.value.code == "tx.bad_signature"
    assert caught.value.field == "block.txs[0]"
    assert snapshot(chain) == before


# -- BlockSync with honest peers -------------------------------------------------------------


@pytest.mark.parametrize("peers", [1, 2, 3])
def test_sync_from_honest_peers_reaches_the_source_tip(net: Net, source: Chain, peers: int) -> None:
    chain = fresh(net)
    sync = run(chain, {f"p{i}": (BLOCKS, honest(source)) for i in range(peers)})
    assert_same_tip(chain, source)
    assert not sync.bans and not sync.in_flight and not sync.buffered


def test_requests_are_bounded_and_spread_over_peers(net: Net, source: Chain) -> None:
    sync = BlockSync(0)
    for name in ("a", "b", "c"):
        sync.on_status(name, BLOCKS, 0)
    sent = sync.requests(0)
    assert [h for _, h in sent] == list(range(1, 17))
    per_peer = {name: sum(1 for p, _ in sent if p == name) for name in ("a", "b", "c")}
    assert sorted(per_peer.values()) == [5, 5, 6]
    assert sync.requests(0) == []


def test_requests_go_only_to_peers_that_have_the_height() -> None:
    sync = BlockSync(0)
    sync.on_status("low", 2, 0)
    sync.on_status("high", 5, 0)
    assert {h: p for p, h in sync.requests(0)} == {1: "high", 2: "low", 3: "high", 4: "high", 5: "high"}


def test_sync_accepts_answers_out_of_order(net: Net, source: Chain) -> None:
    chain = fresh(net)
    run(chain, {"a": (BLOCKS, honest(source)), "b": (BLOCKS, honest(source))}, order=lambda answers: answers.reverse())
    assert_same_tip(chain, source)


def test_out_of_order_blocks_wait_for_the_missing_height(net: Net, source: Chain) -> None:
    chain = fresh(net)
    sync = BlockSync(0)
    sync.on_status("a", BLOCKS, 0)
    sent = sync.requests(0)
    serve = honest(source)
    for peer, h in sent[1:]:
        assert sync.on_block(peer, h, *serve(h), 0) is Received.BUFFERED
    assert sync.apply(chain) == [] and chain.height == 0
    assert sync.buffered == list(range(2, 17))
    assert sync.on_block("a", 1, *serve(1), 0) is Received.BUFFERED
    assert sync.apply(chain) == list(range(1, 17))
    assert chain.tip.hash == source.block(16).hash


@pytest.mark.parametrize("seed", range(8))
def test_sync_survives_drops_duplicates_and_shuffles(net: Net, source: Chain, seed: int) -> None:
    rng = random.Random(seed)

    def order(answers: list) -> None:
        answers[:] = [a for a in answers if rng.random() > 0.3]
        answers.extend(rng.sample(answers, len(answers) // 3))
        rng.shuffle(answers)

    chain = fresh(net)
    run(chain, {name: (BLOCKS, honest(source)) for name in ("a", "b", "c")}, order=order)
    assert_same_tip(chain, source)


def test_unanswered_requests_are_asked_again_elsewhere_after_the_timeout(net: Net, source: Chain) -> None:
    chain = fresh(net)
    asked: list[int] = []

    def silent(h: int) -> None:
        asked.append(h)
        return None

    sync = run(chain, {"a-silent": (BLOCKS, silent), "b": (BLOCKS, honest(source))})
    assert_same_tip(chain, source)
    assert asked and not sync.bans


def test_timed_out_request_moves_to_another_peer_only_after_the_timeout() -> None:
    sync = BlockSync(0, timeout_ms=5000)
    sync.on_status("a", 3, 0)
    assert sync.requests(0) == [("a", 1), ("a", 2), ("a", 3)]
    sync.on_status("b", 3, 100)
    assert sync.requests(4999) == []
    assert sync.requests(5000) == [("b", 1), ("b", 2), ("b", 3)]
    assert sync.peers["a"] == 0


def test_height_asked_again_goes_first_to_a_peer_not_yet_asked() -> None:
    sync = BlockSync(0, timeout_ms=5000)
    sync.on_status("a", 3, 0)
    sync.on_status("b", 3, 0)
    assert sync.requests(0) == [("a", 1), ("b", 2), ("a", 3)]
    assert sync.requests(5000) == [("b", 1)]  # b, not asked for 1, still reaches it
    sync.on_status("a", 3, 5000)
    sync.on_status("b", 3, 5000)
    assert sync.requests(5000) == [("a", 2), ("b", 3)]


def test_late_answer_after_a_timeout_is_used(net: Net, source: Chain) -> None:
    sync = BlockSync(0, timeout_ms=10)
    sync.on_status("a", 1, 0)
    assert sync.requests(0) == [("a", 1)]
    sync.requests(20)
    assert sync.on_block("a", 1, *honest(source)(1), 30) is Received.BUFFERED


def test_unrequested_and_duplicate_answers_are_ignored(net: Net, source: Chain) -> None:
    sync = BlockSync(0)
    sync.on_status("a", BLOCKS, 0)
    sync.on_status("b", BLOCKS, 0)
    sent = dict((h, p) for p, h in sync.requests(0))
    other = "b" if sent[1] == "a" else "a"
    assert sync.on_block(other, 1, *honest(source)(1), 0) is Received.IGNORED
    assert sync.on_block(sent[1], 1, *honest(source)(1), 0) is Received.BUFFERED
    assert sync.on_block(sent[1], 1, *honest(source)(1), 0) is Received.IGNORED
    assert sync.on_block("a", 40, *honest(source)(2), 0) is Received.IGNORED
    assert not sync.bans


def test_peer_gone_mid_sync_hands_its_requests_to_another_peer(net: Net, source: Chain) -> None:
    chain = fresh(net)
    sync = BlockSync(0)
    sync.on_status("a", BLOCKS, 0)
    sync.on_status("b", BLOCKS, 0)
    sent = sync.requests(0)
    serve = honest(source)
    for peer, h in sent:
        if peer == "a":
            sync.on_block(peer, h, *serve(h), 0)
    held_by_a = {h for p, h in sent if p == "a"}
    sync.on_peer_gone("a")
    assert "a" not in sync.peers and set(sync.in_flight.values()) == {"b"}
    assert sync.buffered == sorted(held_by_a)
    again = sync.requests(0)
    assert again and all(p == "b" for p, _ in again)
    run(chain, {"b": (BLOCKS, serve)}, sync=sync)
    assert_same_tip(chain, source)


def test_buffer_is_bounded_by_the_window_and_by_bytes(net: Net, source: Chain) -> None:
    sync = BlockSync(0, max_in_flight=4, window=6)
    sync.on_status("a", BLOCKS, 0)
    serve = honest(source)
    for _ in range(5):
        for peer, h in sync.requests(0):
            if h != 1:
                sync.on_block(peer, h, *serve(h), 0)
    assert max(sync.buffered) <= 6 and max(sync.in_flight) <= 6

    small = BlockSync(0, max_buffered_bytes=1)
    small.on_status("a", BLOCKS, 0)
    first = small.requests(0)
    for peer, h in first[1:]:
        small.on_block(peer, h, *serve(h), 0)
    assert small.requests(0) == []
    assert small.requests(10_000) == []
    small.on_status("a", BLOCKS, 10_000)
    assert small.requests(10_000) == [("a", 1)]


# -- BlockSync with dishonest peers ----------------------------------------------------------


def bad_peer(make, net: Net, source: Chain) -> Serve:
    def serve(h: int) -> Answer:
        block, commit = make(net, source, h)
        return (block.to_bytes() if isinstance(block, Block) else block), commit
    return serve


def commit_of_next_height(net: Net, source: Chain, h: int) -> Answer:
    return source.block(h), source.commit(h % BLOCKS + 1)


BAD_PEERS = [(m, c) for m, c in BAD_ANSWERS if m is not commit_of_other_height] + [(commit_of_next_height, "commit.wrong_height")]


@pytest.mark.parametrize(("make", "code"), BAD_PEERS, ids=[m.__name__ for m, _ in BAD_PEERS])
def test_peer_sending_a_tampered_block_is_banned_and_sync_completes(net: Net, source: Chain, make, code: str) -> None:
    chain = fresh(net)
    sync = run(chain, {"a-evil": (BLOCKS, bad_peer(make, net, source)), "b": (BLOCKS, honest(source))})
    assert_same_tip(chain, source)
    assert set(sync.bans) == {"a-evil"}
    assert sync.bans["a-evil"].error.code == code


def test_peer_of_another_chain_is_banned(net: Net, source: Chain, foreign: Chain) -> None:
    chain = fresh(net)
    sync = run(chain, {"a-foreign": (4, honest(foreign)), "b": (BLOCKS, honest(source))})
    assert_same_tip(chain, source)
    assert sync.bans["a-foreign"].error.code == "block.wrong_chain"


def test_peer_sending_garbage_or_another_height_is_rejected_at_once(net: Net, source: Chain) -> None:
    sync = BlockSync(0, ban_ms=1000)
    for name in ("a", "b", "c"):
        sync.on_status(name, BLOCKS, 0)
    sent = {p: h for p, h in reversed(sync.requests(0))}
    assert sync.on_block("a", sent["a"], b"{not json", source.commit(1), 0) is Received.REJECTED
    assert sync.bans["a"].error.code.startswith("encoding.")
    h = sent["b"]
    assert sync.on_block("b", h, *honest(source)(h + 1), 0) is Received.REJECTED
    assert sync.bans["b"].error.code == "block.wrong_height"
    assert set(sync.in_flight.values()) == {"c"} and "a" not in sync.peers
    sync.on_status("a", BLOCKS, 999)
    assert "a" not in sync.peers
    sync.on_status("a", BLOCKS, 1000)
    assert sync.peers["a"] == BLOCKS and "a" not in sync.bans


def test_banned_peer_blocks_are_dropped_and_nothing_is_committed(net: Net, source: Chain) -> None:
    chain = fresh(net)
    sync = BlockSync(0)
    sync.on_status("a", BLOCKS, 0)
    sent = sync.requests(0)
    evil = bad_peer(flipped_tx, net, source)
    for peer, h in sent:
        sync.on_block(peer, h, *evil(h), 0)
    before = snapshot(chain)
    assert sync.apply(chain) == []
    assert snapshot(chain) == before and chain.height == 0
    assert sync.bans["a"].error.code == "block.tx_root_mismatch"
    assert sync.buffered == [] and sync.in_flight == {} and sync.peers == {}
    assert sync.requests(1) == []


# -- syncing / caught up ---------------------------------------------------------------------


def test_syncing_starts_two_heights_behind_or_with_an_empty_store() -> None:
    sync = BlockSync(0)
    assert not sync.syncing(0) and sync.caught_up(0)
    sync.on_status("a", 1, 0)
    assert sync.syncing(0)
    assert not sync.syncing(1) and sync.caught_up(1)
    sync.on_status("a", 6, 0)
    assert sync.syncing(4) and not sync.caught_up(4)
    assert not sync.syncing(5) and sync.caught_up(5)
    assert sync.height == 5



def test_apply_synced_block_does_not_verify_again_what_the_cache_holds(net: Net, source: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    """Transaction signatures this node already verified (its mempool's cache) are not checked
    again; without the cache they are. The commit's signatures are always checked."""
    from ledger.crypto import PublicKey
    from ledger.sigcache import SignatureCache

    block, commit = source.block(1), source.commit(1)
    cache = SignatureCache()
    fresh(net).execute_block(block, cache=cache)  # inline checks, remembered
    validators = {v.key_id for v in source.validators()}
    verify = PublicKey.verify

    def only_validators(self: PublicKey, *args: object) -> None:
        if self.key_id not in validators:
            raise AssertionError("a cached signature was verified again")
        verify(self, *args)

    monkeypatch.setattr(PublicKey, "verify", only_validators)
    cached = fresh(net)
    apply_synced_block(cached, block, commit, cache=cache)
    assert cached.height == 1 and cached.tip.state_root == source.header(1).state_root
    with pytest.raises(AssertionError):
        apply_synced_block(fresh(net), block, commit)
