"""node.catchup: when consensus starts, pauses for block sync, and fetches a missed height."""

from __future__ import annotations

from node.blocksync import BlockSync
from node.catchup import CatchUp, Change

GRACE = 2000
LAG = 3000


def make(tip: int = 0, peers=("a", "b", "c"), now: int = 0) -> CatchUp:
    return CatchUp(BlockSync(tip), peers, now, start_grace_ms=GRACE, lag_ms=LAG)


def test_start_waits_for_every_listed_peer_then_starts_consensus():
    c = make()
    c.on_status("a", 0, 10)
    c.on_status("b", 0, 20)
    assert c.step(0, running=False, undecided=False, now=30) == (None, [])
    assert c.starting
    c.on_status("c", 0, 40)
    assert c.step(0, running=False, undecided=False, now=50) == (Change.START, [])
    assert not c.starting


def test_start_goes_ahead_after_the_grace_period_without_a_silent_peer():
    c = make()
    c.on_status("a", 0, 10)
    assert c.step(0, running=False, undecided=False, now=GRACE - 1) == (None, [])
    assert c.step(0, running=False, undecided=False, now=GRACE) == (Change.START, [])


def test_a_node_without_peers_starts_at_once():
    assert make(peers=()).step(0, running=False, undecided=False, now=0) == (Change.START, [])


def test_an_empty_store_syncs_from_a_peer_with_blocks_instead_of_voting():
    c = make()
    c.on_status("a", 3, 10)
    change, requests = c.step(0, running=False, undecided=False, now=20)
    assert change is None and requests == [("a", 1), ("a", 2), ("a", 3)]
    assert not c.starting


def test_a_running_node_two_heights_behind_pauses_and_resumes_once_caught_up():
    c = make(tip=5)
    for peer in "abc":
        c.on_status(peer, 5, 0)
    assert c.step(5, running=False, undecided=False, now=1) == (Change.START, [])
    c.on_status("b", 7, 100)
    change, requests = c.step(5, running=True, undecided=True, now=110)
    assert change is Change.PAUSE and requests == [("b", 6), ("b", 7)]
    assert c.step(7, running=False, undecided=False, now=200) == (Change.START, [])


def test_one_height_behind_fetches_the_block_only_after_the_lag_period():
    c = make(tip=5, peers=("a",))
    c.on_status("a", 5, 0)
    assert c.step(5, running=False, undecided=False, now=0) == (Change.START, [])
    c.on_status("a", 6, 100)
    assert c.step(5, running=True, undecided=True, now=100) == (None, [])
    assert c.step(5, running=True, undecided=True, now=100 + LAG - 1) == (None, [])
    assert c.step(5, running=True, undecided=True, now=100 + LAG) == (None, [("a", 6)])


def test_a_decision_or_a_restart_forgets_the_lag():
    c = make(tip=5, peers=("a",))
    c.on_status("a", 6, 0)
    assert c.step(5, running=False, undecided=False, now=0) == (Change.START, [])
    assert c.step(5, running=True, undecided=True, now=0) == (None, [])
    assert c.step(5, running=True, undecided=False, now=LAG) == (None, [])
    assert c.step(5, running=True, undecided=True, now=LAG + 1) == (None, [])
    c.on_consensus_started()
    assert c.step(5, running=True, undecided=True, now=2 * LAG) == (None, [])
    assert c.step(5, running=True, undecided=True, now=3 * LAG) == (None, [("a", 6)])


def test_a_peer_that_left_no_longer_counts_as_ahead():
    c = make(tip=5, peers=("a",))
    c.on_status("a", 5, 0)
    assert c.step(5, running=False, undecided=False, now=0) == (Change.START, [])
    c.on_status("a", 9, 1)
    assert c.step(5, running=True, undecided=True, now=1)[0] is Change.PAUSE
    c.on_peer_gone("a")
    assert c.step(5, running=False, undecided=False, now=10) == (Change.START, [])
