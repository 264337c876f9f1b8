"""Virtual time and a seeded, lossy network for the consensus simulator.

`Loop` is the event queue: callbacks ordered by (virtual time in ms, sequence number), so two
runs with one seed do the same things in the same order. `Network` carries encoded messages
between nodes through composable `Rule`s, each matching by sender, receiver, message type and
a window of virtual time and adding drop probability, duplication and extra delay; the base
link adds a random delay to every copy, which also reorders. A partition or an isolated node
is a rule that drops everything across it until it heals. One `random.Random` per network,
seeded by the caller: nothing here reads the clock or the OS's randomness.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

FOREVER = 1 << 62


class Loop:
    """Callbacks at virtual times (ms from `start`); `run` pops them in (time, sequence) order."""

    def __init__(self, start: int = 0) -> None:
        self.now = start
        self._queue: list[tuple[int, int, Callable[..., None], tuple[object, ...]]] = []
        self._seq = 0

    def at(self, time: int, fn: Callable[..., None], *args: object) -> None:
        """Run `fn(*args)` at virtual `time` (not before now)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(time, self.now), self._seq, fn, args))

    def after(self, delay: int, fn: Callable[..., None], *args: object) -> None:
        self.at(self.now + delay, fn, *args)

    def run(self, until: Callable[[], bool], deadline: int) -> bool:
        """Run events until `until()` holds (True) or virtual time passes `deadline` (False)."""
        while self._queue:
            if until():
                return True
            time, _, fn, args = self._queue[0]
            if time > deadline:
                break
            heapq.heappop(self._queue)
            self.now = time
            fn(*args)
        return until()


@dataclass(frozen=True)
class Rule:
    """Extra faults on links matching every given filter (None: any) during [start, end)."""

    senders: frozenset[int] | None = None
    receivers: frozenset[int] | None = None
    types: frozenset[str] | None = None
    drop: float = 0.0
    duplicate: float = 0.0
    delay: tuple[int, int] = (0, 0)
    start: int = 0
    end: int = FOREVER

    def matches(self, sender: int, receiver: int, kind: str, now: int) -> bool:
        return (
            self.start <= now < self.end
            and (self.senders is None or sender in self.senders)
            and (self.receivers is None or receiver in self.receivers)
            and (self.types is None or kind in self.types)
        )


def partition(groups: Iterable[Iterable[int]], start: int, end: int) -> list[Rule]:
    """Rules that drop every message between different `groups` during [start, end)."""
    sets = [frozenset(g) for g in groups]
    rules = []
    for i, a in enumerate(sets):
        for b in sets[i + 1:]:
            rules.append(Rule(senders=a, receivers=b, drop=1.0, start=start, end=end))
            rules.append(Rule(senders=b, receivers=a, drop=1.0, start=start, end=end))
    return rules


def isolate(node: int, nodes: Iterable[int], start: int, end: int) -> list[Rule]:
    """Rules that cut `node` off from every other node during [start, end)."""
    return partition([[node], [n for n in nodes if n != node]], start, end)


@dataclass
class Stats:
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0


@dataclass
class Network:
    """Links between node indices with a base delay range and a list of fault rules; rule
    windows count from `epoch` (virtual ms)."""

    loop: Loop
    rng: random.Random
    base_delay: tuple[int, int] = (1, 50)
    rules: list[Rule] = field(default_factory=list)
    epoch: int = 0
    stats: Stats = field(default_factory=Stats)

    def send(self, sender: int, receiver: int, kind: str, data: bytes, deliver: Callable[[int, bytes], None]) -> None:
        """Schedule `deliver(sender, data)` at the receiver after this link's faults."""
        now = self.loop.now - self.epoch
        self.stats.sent += 1
        matching = [r for r in self.rules if r.matches(sender, receiver, kind, now)]
        if any(r.drop > 0 and self.rng.random() < r.drop for r in matching):
            self.stats.dropped += 1
            return
        copies = 1
        if any(r.duplicate > 0 and self.rng.random() < r.duplicate for r in matching):
            copies = 2
            self.stats.duplicated += 1
        for _ in range(copies):
            delay = self.rng.randint(*self.base_delay)
            for r in matching:
                delay += self.rng.randint(*r.delay)
            self.loop.after(delay, deliver, sender, data)
