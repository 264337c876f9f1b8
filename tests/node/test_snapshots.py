"""Tests of node.gateway.snapshots: snapshots by height are released only when superseded for
long enough and not leased."""

from __future__ import annotations

import pytest

from node.gateway.protocol import GatewayError
from node.gateway.snapshots import Snapshots


class Snap:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def get(self, key):
        assert not self.closed, "read after release"
        return self.name.encode()

    def iterate(self, prefix, start=None):
        return iter(())

    def close(self):
        assert not self.closed, "released twice"
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_newest_is_kept_however_old():
    clock = Clock()
    snaps = Snapshots(keep_s=10, clock=clock)
    first = Snap("1")
    snaps.publish(1, first)
    clock.now += 1000
    snaps.expire()
    with snaps.lease(1) as snap:
        assert snap.get(b"") == b"1"


def test_a_superseded_snapshot_lives_keep_s_after_it_was_superseded():
    clock = Clock()
    snaps = Snapshots(keep_s=10, clock=clock)
    first = Snap("1")
    snaps.publish(1, first)
    clock.now += 1000  # old, but still the newest
    snaps.publish(2, Snap("2"))
    assert not first.closed
    clock.now += 9
    snaps.expire()
    assert not first.closed
    clock.now += 1
    snaps.expire()
    assert first.closed
    with pytest.raises(GatewayError) as err:
        with snaps.lease(1):
            pass
    assert err.value.code == "gateway.snapshot_gone" and err.value.fields["newest"] == 2


def test_a_leased_snapshot_is_released_when_the_lease_ends():
    clock = Clock()
    snaps = Snapshots(keep_s=10, clock=clock)
    first = Snap("1")
    snaps.publish(1, first)
    with snaps.lease(1) as snap:
        snaps.publish(2, Snap("2"))
        clock.now += 11
        snaps.expire()
        assert not first.closed and snap.get(b"") == b"1"
    assert first.closed


def test_at_most_max_kept_are_held():
    clock = Clock()
    snaps = Snapshots(keep_s=10, max_kept=3, clock=clock)
    held = [Snap(str(h)) for h in range(6)]
    for h, snap in enumerate(held):
        snaps.publish(h, snap)
    assert len(snaps) == 3 and [s.closed for s in held] == [True, True, True, False, False, False]


def test_close_releases_everything_and_later_publications_at_once():
    snaps = Snapshots()
    first, second, late = Snap("1"), Snap("2"), Snap("3")
    snaps.publish(1, first)
    with snaps.lease(1):
        snaps.publish(2, second)
        snaps.close()
        assert second.closed and not first.closed
    assert first.closed
    snaps.publish(3, late)
    assert late.closed
