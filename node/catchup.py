"""When a node runs consensus and when it syncs blocks instead (docs/spec/consensus.md §8).

`CatchUp` wraps the block-sync bookkeeping (node.blocksync.BlockSync) with the decisions the
runtime takes around it:

- at start, wait until every listed peer reported its status, or `start_grace_ms` passed, so
  that a node with an empty or old store learns that its peers are ahead before it votes;
- a peer two or more heights ahead (or any block while the store is empty): pause consensus
  and request blocks; once no peer is ahead by two, (re)start consensus at `tip + 1`;
- a peer one height ahead while consensus has not decided that height for `lag_ms`: the
  node missed that height's votes (it was down), so fetch the block the same verified way.

Pure: no clock (`now`, ms, is passed in), no network, no store; the runtime sends the requests
returned and commits through `BlockSync.apply`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from node.blocksync import BlockSync


class Change(Enum):
    """What the runtime must do to consensus after a `step`."""

    START = "start"  # (re)start consensus at tip + 1
    PAUSE = "pause"  # stop consensus: block sync runs


class CatchUp:
    """The §8 decisions for a node whose listed peers are `peers`, from time `now` on."""

    def __init__(self, blocksync: BlockSync, peers: Iterable[str], now: int, *, start_grace_ms: int, lag_ms: int) -> None:
        self.blocksync = blocksync
        self.lag_ms = lag_ms
        self._peers = frozenset(peers)
        self._reported: set[str] = set()
        self._starting_until: int | None = now + start_grace_ms
        self._lag_since: int | None = None

    @property
    def starting(self) -> bool:
        """Still waiting for the peers' first statuses."""
        return self._starting_until is not None

    def on_status(self, peer: str, height: int, now: int) -> None:
        """`peer` reported `height` as its last committed height."""
        self._reported.add(peer)
        self.blocksync.on_status(peer, height, now)

    def on_peer_gone(self, peer: str) -> None:
        self.blocksync.on_peer_gone(peer)

    def on_consensus_started(self) -> None:
        """Consensus (re)started at tip + 1: a lag seen before no longer counts."""
        self._lag_since = None

    def step(self, tip: int, *, running: bool, undecided: bool, now: int) -> tuple[Change | None, list[tuple[str, int]]]:
        """Decide, for committed height `tip` and a consensus that is `running` (and has not
        decided its height: `undecided`), what changes and which (peer, height) blocks to
        request now."""
        behind = self.blocksync.syncing(tip)
        if self._starting_until is not None:
            if not behind and now < self._starting_until and not self._peers <= self._reported:
                return None, []
            self._starting_until = None
            if not behind:
                return Change.START, []
        if behind:
            self._lag_since = None
            return (Change.PAUSE if running else None), self.blocksync.requests(now)
        if not running:
            return Change.START, []
        if undecided and max(self.blocksync.peers.values(), default=0) > tip:
            if self._lag_since is None:
                self._lag_since = now
            elif now - self._lag_since >= self.lag_ms:
                return None, self.blocksync.requests(now)
        else:
            self._lag_since = None
        return None, []
