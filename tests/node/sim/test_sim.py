"""The deterministic consensus simulator over many seeds (DESIGN §10, consensus.md §3).

Every seed draws a scenario (tests/node/sim/world.py) and must keep safety (one block per
height, one state root per height, acknowledged transactions exactly once, evidence only
against the Byzantine validator) and make progress after the network heals. Set
ELEDGER_SIM_SEEDS to run more or fewer seeds; a failing seed is fixed, never skipped, and the
scenarios that once failed are pinned below as they were drawn.
"""

from __future__ import annotations

import os

import pytest

from tests.node.consensus.support import TestNet, make_test_net
from tests.node.sim.network import Rule, partition
from tests.node.sim.world import Scenario, World

SEEDS = int(os.environ.get("ELEDGER_SIM_SEEDS", "300"))

REGRESSIONS = [
    # Locked nodes re-proposed their valid block after a 2|2 partition (and a crash) healed; the
    # others never saw its proof of lock until nodes relayed the prevotes of their valid round:
    # no height at all within the bound.
    Scenario(
        103, (15, 415),
        (Rule(drop=0.05, duplicate=0.2), *partition([[0, 2], [1, 3]], 486, 4425),
         Rule(senders=frozenset({0}), receivers=frozenset({3}), types=frozenset({"proposal"}), drop=0.5, delay=(100, 1500), end=4425)),
        4425, None, (3, 3526, 4376), None, ("2|2 partition, slow proposals 0->3, crash 3: proof of lock relayed",),
    ),
    # The same with nothing but 30 % loss and the first node to commit height 1 cut off.
    Scenario(530, (4, 404), (Rule(drop=0.3),), 2846, None, None, (1, 729), ("drop 0.3, first committer isolated",)),
]


@pytest.fixture(scope="module")
def sim_net() -> TestNet:
    return make_test_net(label="sim")


@pytest.mark.parametrize("seed", range(SEEDS))
def test_seed_is_safe_and_makes_progress(seed, sim_net):
    World(Scenario.from_seed(seed), sim_net).run()


@pytest.mark.parametrize("scenario", REGRESSIONS, ids=lambda s: f"seed{s.seed}")
def test_pinned_scenario_is_safe_and_makes_progress(scenario, sim_net):
    World(scenario, sim_net).run()


def trace(world: World) -> tuple[object, ...]:
    node = world.correct[0]
    blocks = [(node.chain.commit(h).round, [tx.id for tx in node.chain.block(h).txs]) for h in range(1, node.chain.height + 1)]
    return (world.heights(), world.network.stats, blocks, len(world.evidence), world.loop.now)


def test_a_seed_replays_the_same_run(sim_net):
    seed = next(s for s in range(100) if Scenario.from_seed(s).byzantine is not None)
    first, second = World(Scenario.from_seed(seed), sim_net), World(Scenario.from_seed(seed), sim_net)
    first.run()
    second.run()
    assert trace(first) == trace(second)


def test_seeds_cover_every_kind_of_fault():
    scenarios = [Scenario.from_seed(s) for s in range(max(SEEDS, 50))]
    notes = " ".join(n for s in scenarios for n in s.notes)
    for fault in ("partition", "isolate ", "lossy slow", "byzantine", "crash", "first node to commit", "drop 0.3", "duplicate 0.2"):
        assert fault in notes


def test_byzantine_validator_is_caught_equivocating(sim_net):
    seed = next(s for s in range(100) if Scenario.from_seed(s).byzantine is not None)
    world = World(Scenario.from_seed(seed), sim_net)
    world.run()
    byzantine = sim_net.keys[world.scenario.byzantine].public_key.key_id
    assert world.evidence and all(ev.vote_a.validator == byzantine for _, ev in world.evidence)


def test_crashed_validator_restarts_from_its_chain_and_catches_up(sim_net):
    seed = next(s for s in range(100) if Scenario.from_seed(s).crash is not None)
    world = World(Scenario.from_seed(seed), sim_net)
    world.run()
    node = world.nodes[world.scenario.crash[0]]
    assert node.incarnation > 1 and node.up and node.chain.height >= world.healed_at + 2


def test_a_fork_is_reported_with_its_seed(sim_net):
    world = World(Scenario.from_seed(0), sim_net)
    a = world.nodes[0].chain.build_block([], sim_net.genesis.genesis_time + 1, sim_net.keys[0].public_key.key_id, None).block
    b = world.nodes[0].chain.build_block([], sim_net.genesis.genesis_time + 2, sim_net.keys[0].public_key.key_id, None).block
    world.record_commit(0, a)
    world.record_commit(1, b)
    with pytest.raises(AssertionError, match="seed 0: .*another block at height 1"):
        world.run()
