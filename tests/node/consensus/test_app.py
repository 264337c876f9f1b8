"""ChainApp (node/app.py): the application of consensus over a Chain (consensus.md §3.1–§3.2)."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.chain import Chain
from ledger.commit import make_commit, sign_precommit
from ledger.errors import LedgerError, ValidationError
from ledger.genesis import Genesis, Params
from ledger.kv import MemoryKV
from node.app import ChainApp
from node.errors import AppError

from .harness import NET, T0
from .support import TxPool, build_block

PROPOSER = NET.keys[0].public_key.key_id


def app_with(txs: int = 0, genesis=NET.genesis) -> tuple[ChainApp, TxPool]:
    pool = TxPool()
    for i in range(txs):
        pool.add(NET.anchor(bytes([i]) * 32, bytes([i]) * 16))
    return ChainApp(Chain(MemoryKV(), genesis), pool), pool


def commit_of(block):
    return make_commit(block.header.height, 0, block.hash, [sign_precommit(k, NET.chain_id, block.header.height, 0, block.hash) for k in NET.keys])


class CountingChain(Chain):
    executions = 0

    def execute_block(self, block, **kw):
        CountingChain.executions += 1
        return super().execute_block(block, **kw)


def test_validators_are_known_for_the_next_two_heights_only():
    app, _ = app_with()
    assert app.validators(1) == NET.validators == app.validators(2)
    for height in (0, 3):
        with pytest.raises(AppError) as err:
            app.validators(height)
        assert err.value.code == "app.height"


def test_propose_builds_from_the_pool_and_commit_reuses_the_execution():
    app, pool = app_with(txs=3)
    block = app.propose(1, 0, T0, PROPOSER, None)
    assert len(block.txs) == 3 and block.header.proposer == PROPOSER and block.header.time == T0
    assert app.has_txs()
    app.validate(block)  # it built it: known valid
    app.commit(block, commit_of(block))
    assert app.chain.height == 1 and app.last_block_time() == T0
    with pytest.raises(AppError):
        app.propose(1, 0, T0 + 1, PROPOSER, None)


def test_validate_executes_each_block_once_and_remembers_the_verdict():
    CountingChain.executions = 0
    app = ChainApp(CountingChain(MemoryKV(), NET.genesis), TxPool())
    good = build_block(NET.chain(), NET.keys[1], T0)
    bad = dataclasses.replace(good, header=dataclasses.replace(good.header, state_root=bytes(32)))
    app.validate(good)
    app.validate(good)
    for _ in range(2):
        with pytest.raises(ValidationError) as err:
            app.validate(bad)
        assert err.value.code == "block.state_root_mismatch"
    assert CountingChain.executions == 2
    app.commit(good, commit_of(good))
    assert CountingChain.executions == 2


def test_a_block_committed_elsewhere_resets_what_was_remembered():
    app, _ = app_with()
    block = build_block(NET.chain(), NET.keys[1], T0)
    app.validate(block)
    app.chain.commit_block(app.chain.execute_block(block), commit_of(block))  # as block sync would
    with pytest.raises(AppError) as err:
        app.validate(block)
    assert err.value.code == "app.height"
    nxt = build_block(app.chain, NET.keys[2], T0 + 1, last_commit=app.chain.commit(1))
    app.validate(nxt)


def test_blocks_over_the_byte_limit_are_invalid_and_proposals_stay_under_it():
    small = dataclasses.replace(NET.genesis, params=Params(max_block_txs=100, max_block_bytes=4096))
    genesis = Genesis(small.chain_id, small.genesis_time, small.regions, small.validators, small.params)
    app, pool = app_with(txs=20, genesis=genesis)
    block = app.propose(1, 0, T0, PROPOSER, None)
    assert 0 < len(block.txs) < 20 and len(block.to_bytes()) <= 4096
    big = Chain(MemoryKV(), genesis).build_block(pool.reap(20, 10**6), T0, PROPOSER, None).block
    other, _ = app_with(genesis=genesis)
    with pytest.raises(LedgerError) as err:
        other.validate(big)
    assert err.value.code == "block.too_large"


def test_commit_of_an_unseen_invalid_block_raises():
    app, _ = app_with()
    good = build_block(NET.chain(), NET.keys[1], T0)
    bad = dataclasses.replace(good, header=dataclasses.replace(good.header, log_size=9))
    with pytest.raises(ValidationError):
        app.commit(bad, commit_of(bad))
    assert app.chain.height == 0
