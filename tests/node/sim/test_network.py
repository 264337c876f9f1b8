"""The simulator's virtual time and network rules (tests/node/sim/network.py)."""

from __future__ import annotations

import random

from tests.node.sim.network import FOREVER, Loop, Network, Rule, isolate, partition


def test_loop_runs_in_time_then_sequence_order_and_stops_at_the_deadline():
    loop = Loop(100)
    seen = []
    loop.at(130, seen.append, "c")
    loop.at(110, seen.append, "a")
    loop.at(110, seen.append, "b")
    loop.at(50, seen.append, "late")  # never before now
    loop.at(500, seen.append, "after deadline")
    assert loop.run(lambda: False, 400) is False
    assert seen == ["late", "a", "b", "c"] and loop.now == 130
    assert loop.run(lambda: "after deadline" in seen, 1000) is True


def deliveries(network: Network, loop: Loop, sends: list[tuple[int, int, str]]) -> list[tuple[int, int, int, bytes]]:
    """Send each (sender, receiver, kind) with the kind as data; (time, sender, receiver, data)."""
    got: list[tuple[int, int, int, bytes]] = []
    for sender, receiver, kind in sends:
        network.send(sender, receiver, kind, kind.encode(), lambda s, d, r=receiver: got.append((loop.now, s, r, d)))
    loop.run(lambda: False, FOREVER)
    return got


def test_base_delay_is_within_its_range_and_reorders():
    loop = Loop()
    network = Network(loop, random.Random(1), base_delay=(10, 200))
    got = deliveries(network, loop, [(0, 1, f"m{i}") for i in range(50)])
    assert len(got) == 50 and all(10 <= t <= 200 for t, *_ in got)
    assert [d for *_, d in got] != [f"m{i}".encode() for i in range(50)]


def test_rules_match_by_sender_receiver_type_and_window():
    rule = Rule(senders=frozenset({0}), receivers=frozenset({2}), types=frozenset({"prevote"}), start=10, end=20)
    assert rule.matches(0, 2, "prevote", 10) and rule.matches(0, 2, "prevote", 19)
    assert not rule.matches(0, 2, "prevote", 20) and not rule.matches(0, 2, "prevote", 9)
    assert not rule.matches(1, 2, "prevote", 15) and not rule.matches(0, 1, "prevote", 15)
    assert not rule.matches(0, 2, "precommit", 15)


def test_partition_drops_across_groups_only_until_it_heals():
    loop = Loop()
    network = Network(loop, random.Random(2), base_delay=(1, 1), rules=partition([[0, 1], [2, 3]], 0, 100))
    got = deliveries(network, loop, [(0, 1, "in"), (0, 2, "across"), (3, 1, "across"), (2, 3, "in")])
    assert sorted(d for *_, d in got) == [b"in", b"in"] and network.stats.dropped == 2
    loop.now = 100
    got = deliveries(network, loop, [(0, 2, "healed")])
    assert [d for *_, d in got] == [b"healed"]


def test_isolate_cuts_one_node_both_ways():
    loop = Loop()
    network = Network(loop, random.Random(3), base_delay=(1, 1), rules=isolate(1, range(4), 0, 50))
    got = deliveries(network, loop, [(1, 0, "x"), (0, 1, "x"), (2, 3, "y")])
    assert [d for *_, d in got] == [b"y"]


def test_drop_and_duplicate_rates_follow_the_seeded_rng():
    def run(seed: int) -> tuple[int, int, int]:
        loop = Loop()
        network = Network(loop, random.Random(seed), rules=[Rule(drop=0.3, duplicate=0.2)])
        got = deliveries(network, loop, [(0, 1, "m")] * 2000)
        return len(got), network.stats.dropped, network.stats.duplicated

    first = run(7)
    assert first == run(7)
    delivered, dropped, duplicated = first
    assert 500 < dropped < 700 and 200 < duplicated < 360
    assert delivered == 2000 - dropped + duplicated


def test_rule_delay_adds_to_the_base_delay():
    loop = Loop()
    network = Network(loop, random.Random(4), base_delay=(5, 5), rules=[Rule(types=frozenset({"slow"}), delay=(100, 100))])
    got = deliveries(network, loop, [(0, 1, "slow"), (0, 1, "fast")])
    assert sorted((t, d) for t, _, _, d in got) == [(5, b"fast"), (105, b"slow")]
