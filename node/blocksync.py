"""Block sync (docs/spec/consensus.md §8): fetch committed blocks from peers that are ahead,
check each one by the commit that comes with it and by re-executing it, then commit it.

`apply_synced_block` is the one path by which a synced block enters the store. `BlockSync` is
the pure bookkeeping around it: which peer is at which height, which heights to ask whom
for, which answers wait out of order, and which peers are banned for sending invalid blocks.
It is sans-I/O: the runtime feeds it statuses, blocks and departures, sends the requests it
returns and calls `apply`. It must never read the clock (`now`, integer ms, is passed in),
touch the network, or commit a block whose commit and re-execution did not both verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from ledger.block import Block
from ledger.chain import Chain
from ledger.commit import Commit
from ledger.crypto.pool import SignaturePool
from ledger.errors import CryptoError, LedgerError, StoreError, ValidationError
from ledger.execute import DeferredSignatures
from ledger.sigcache import SignatureCache

MAX_IN_FLIGHT = 16
WINDOW = 64
TIMEOUT_MS = 5_000
BAN_MS = 60_000
MAX_BUFFERED_BYTES = 64 * 1024 * 1024


def apply_synced_block(
    chain: Chain, block: Block, commit: Commit, pool: SignaturePool | None = None, cache: SignatureCache | None = None,
) -> None:
    """Verify `block` with its `commit` as the next block of `chain` and commit it (§8).

    Order: the block is for this chain and the next height; `commit` verifies for the block's
    height and hash against `chain.validators()` (blocks.md §4) before anything is executed;
    the block re-executes with its signature checks deferred (to `pool`'s workers if given) and
    those checks verify (signatures already in `cache`, the node's verified-signature cache, are
    not checked again); then `chain.commit_block` writes it in one synced batch.

    Raises ValidationError "block.wrong_chain" / "block.wrong_height", the "commit.*" error of
    Commit.verify, the "block.*" or transaction error of execution or of a deferred signature
    check (field "block.txs[<i>]"); StoreError or CryptoError "crypto.worker_failed" for local
    faults. On any error nothing is written and the chain is unchanged.
    """
    h = block.header
    chain_id = chain.genesis.chain_id
    if h.chain_id != chain_id:
        raise ValidationError(f"block is for chain {h.chain_id!r}, not {chain_id!r}", code="block.wrong_chain", field="block.header.chain_id")
    if h.height != chain.height + 1:
        raise ValidationError(f"expected height {chain.height + 1}, got {h.height}", code="block.wrong_height", field="block.header.height")
    commit.verify(chain_id, chain.validators(), h.height, block.hash)
    deferred = DeferredSignatures(pool)
    pending = chain.execute_block(block, deferred=deferred, cache=cache)
    deferred.verify()
    chain.commit_block(pending, commit)


def is_local_fault(error: LedgerError) -> bool:
    """Whether `error` from `apply_synced_block` is this node's fault (its store or its
    signature workers) rather than the fault of the block or commit a peer sent."""
    return isinstance(error, StoreError) or (isinstance(error, CryptoError) and error.code == "crypto.worker_failed")


class Received(Enum):
    """What `BlockSync.on_block` did with an answer."""

    BUFFERED = "buffered"  # kept until its height is next
    IGNORED = "ignored"  # not asked for, already held, out of the window, or from a banned peer
    REJECTED = "rejected"  # malformed or for another height: the peer is banned


@dataclass(frozen=True)
class Ban:
    """`peer` sent an invalid block (`error` says why) and is ignored until `until` (ms)."""

    peer: str
    until: int
    error: LedgerError


@dataclass(frozen=True)
class _Request:
    peer: str
    deadline: int


@dataclass(frozen=True)
class _Answer:
    peer: str
    block: Block
    commit: Commit
    size: int


class BlockSync:
    """Bookkeeping of §8 for a node whose last committed height is `height`.

    Heights `height + 1 .. height + window` are asked for, at most `max_in_flight` at a time,
    each from the peer with the fewest requests in flight among those whose status reaches
    it, preferring peers not yet asked for that height. A request unanswered after
    `timeout_ms` is dropped, its peer is taken to be below that height until its next status,
    and the height is asked again. Answers wait in a buffer bounded by the window and by
    `max_buffered_bytes` (past that, only the next height is asked for). A peer whose block
    is malformed or fails `apply_synced_block` is banned for `ban_ms`: its status, requests
    and buffered blocks are dropped and nothing it sends is used until the ban ends.

    Time is the latest `now` given to any method; `apply` bans with it.
    """

    def __init__(
        self, height: int, *, max_in_flight: int = MAX_IN_FLIGHT, window: int = WINDOW, timeout_ms: int = TIMEOUT_MS,
        ban_ms: int = BAN_MS, max_buffered_bytes: int = MAX_BUFFERED_BYTES,
    ) -> None:
        """Raises ValueError if `window < max_in_flight` or a limit is not positive."""
        if min(max_in_flight, timeout_ms, ban_ms, max_buffered_bytes) <= 0 or window < max_in_flight:
            raise ValueError("block sync limits must be positive and window >= max_in_flight")
        self.height = height
        self.max_in_flight = max_in_flight
        self.window = window
        self.timeout_ms = timeout_ms
        self.ban_ms = ban_ms
        self.max_buffered_bytes = max_buffered_bytes
        self._now = 0
        self._peers: dict[str, int] = {}
        self._in_flight: dict[int, _Request] = {}
        self._asked: dict[int, set[str]] = {}
        self._buffer: dict[int, _Answer] = {}
        self._bans: dict[str, Ban] = {}

    # -- what the runtime reads ------------------------------------------------------------

    @property
    def peers(self) -> Mapping[str, int]:
        """Last status height of each peer that is connected and not banned."""
        return dict(self._peers)

    @property
    def in_flight(self) -> Mapping[int, str]:
        """Height -> peer of every request sent and not yet answered or timed out."""
        return {h: r.peer for h, r in self._in_flight.items()}

    @property
    def buffered(self) -> list[int]:
        """Heights received and waiting for `apply`, ascending."""
        return sorted(self._buffer)

    @property
    def bans(self) -> Mapping[str, Ban]:
        """Bans not yet over (as of the latest `now`); the runtime drops these peers."""
        return {p: b for p, b in self._bans.items() if b.until > self._now}

    def syncing(self, tip: int) -> bool:
        """Whether the node at committed height `tip` must sync (§8): a peer is at least two
        heights ahead, or the store is empty (`tip == 0`) and a peer has a block."""
        self._advance(tip)
        top = max(self._peers.values(), default=0)
        return top >= tip + 2 or (tip == 0 and top >= 1)

    def caught_up(self, tip: int) -> bool:
        """Whether the node at `tip` may rejoin consensus at `tip + 1`: no peer is ahead by
        two or more (and, with an empty store, none has a block). The negation of `syncing`."""
        return not self.syncing(tip)

    # -- inputs ----------------------------------------------------------------------------

    def on_status(self, peer: str, height: int, now: int) -> None:
        """`peer` reports `height` as its last committed height (ignored while it is banned)."""
        self._note(now)
        if peer not in self.bans:
            self._peers[peer] = height

    def on_peer_gone(self, peer: str) -> None:
        """`peer` disconnected: forget its status; its requests are asked elsewhere at once.
        Blocks it already sent stay buffered (each is verified by its commit anyway)."""
        self._peers.pop(peer, None)
        for height, request in list(self._in_flight.items()):
            if request.peer == peer:
                del self._in_flight[height]
        for asked in self._asked.values():
            asked.discard(peer)

    def requests(self, now: int) -> list[tuple[str, int]]:
        """Time out overdue requests, then choose new ones: (peer, height) pairs to send a
        `get_block` for, lowest height first."""
        self._note(now)
        for height, request in list(self._in_flight.items()):
            if request.deadline <= now:
                del self._in_flight[height]
                if request.peer in self._peers:
                    self._peers[request.peer] = min(self._peers[request.peer], height - 1)
        load = {peer: 0 for peer in self._peers}
        for request in self._in_flight.values():
            load[request.peer] = load.get(request.peer, 0) + 1
        buffered_bytes = sum(answer.size for answer in self._buffer.values())
        top = min(max(self._peers.values(), default=0), self.height + self.window)
        out: list[tuple[str, int]] = []
        for height in range(self.height + 1, top + 1):
            if len(self._in_flight) >= self.max_in_flight:
                break
            if height > self.height + 1 and buffered_bytes >= self.max_buffered_bytes:
                break
            if height in self._in_flight or height in self._buffer:
                continue
            asked = self._asked.setdefault(height, set())
            candidates = [peer for peer, reach in self._peers.items() if reach >= height]
            if not candidates:
                continue
            peer = min(candidates, key=lambda p: (p in asked, load[p], p))
            load[peer] += 1
            asked.add(peer)
            self._in_flight[height] = _Request(peer, now + self.timeout_ms)
            out.append((peer, height))
        return out

    def on_block(self, peer: str, height: int, block: Block | bytes, commit: Commit, now: int) -> Received:
        """An answer from `peer` for `height`: `block` as a Block or its canonical bytes, with
        its commit. Accepted only if `peer` was asked for that height (a late answer after a
        timeout counts) and the height is not yet held. Bytes that do not parse, or a block of
        another height, ban the peer (REJECTED). Nothing is verified against the chain here:
        that is `apply`'s work."""
        self._note(now)
        if peer in self.bans or peer not in self._asked.get(height, ()):
            return Received.IGNORED
        if height <= self.height or height in self._buffer:
            return Received.IGNORED
        try:
            parsed = Block.from_bytes(block) if isinstance(block, bytes) else block
            if parsed.header.height != height:
                raise ValidationError(
                    f"asked for block {height}, got block {parsed.header.height}", code="block.wrong_height",
                    field="block.header.height", expected=height, got=parsed.header.height,
                )
        except LedgerError as exc:
            self._ban(peer, exc)
            return Received.REJECTED
        size = len(block) if isinstance(block, bytes) else len(parsed.to_bytes())
        self._in_flight.pop(height, None)
        self._buffer[height] = _Answer(peer, parsed, commit, size)
        return Received.BUFFERED

    def apply(self, chain: Chain, pool: SignaturePool | None = None, cache: SignatureCache | None = None) -> list[int]:
        """Commit every buffered block that is next, in order, through `apply_synced_block`;
        returns the heights committed. A block that fails bans the peer that sent it and its
        height is asked again elsewhere. Local faults (`is_local_fault`) are raised, with the
        block kept buffered."""
        self._advance(chain.height)
        committed: list[int] = []
        while (answer := self._buffer.pop(self.height + 1, None)) is not None:
            try:
                apply_synced_block(chain, answer.block, answer.commit, pool, cache)
            except LedgerError as exc:
                if is_local_fault(exc):
                    self._buffer[self.height + 1] = answer
                    raise
                self._ban(answer.peer, exc)
                continue
            committed.append(chain.height)
            self._advance(chain.height)
        return committed

    # -- internals -------------------------------------------------------------------------

    def _note(self, now: int) -> None:
        self._now = max(self._now, now)
        for peer in [p for p, b in self._bans.items() if b.until <= self._now]:
            del self._bans[peer]

    def _advance(self, tip: int) -> None:
        """The store's tip is now `tip`: forget everything at or below it."""
        if tip <= self.height:
            return
        self.height = tip
        for table in (self._in_flight, self._asked, self._buffer):
            for height in [h for h in table if h <= tip]:
                del table[height]

    def _ban(self, peer: str, error: LedgerError) -> None:
        self._bans[peer] = Ban(peer, self._now + self.ban_ms, error)
        self._peers.pop(peer, None)
        for table in (self._in_flight, self._buffer):
            for height in [h for h, item in table.items() if item.peer == peer]:
                del table[height]
        for asked in self._asked.values():
            asked.discard(peer)
