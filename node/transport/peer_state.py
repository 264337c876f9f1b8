"""What the transport keeps per peer and per connection (consensus.md §9): the bounded send
queue with its counters, and the state of one admitted TLS connection.

Plain state, no I/O: the transport (transport.py) drives it. Never holds key material.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque

from node.transport.peers import PeerInfo, PeerStats

#: Queued frames are written in batches of about this many bytes, then drained.
BATCH_BYTES = 256 * 1024


class Connection:
    """One admitted TLS connection. Only the peer's `active` connection is written to."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, outbound: bool
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.outbound = outbound
        self.active = False
        self.closing = False
        self.frames = 0
        self.writer_task: asyncio.Task[None] | None = None
        self.timers: list[asyncio.TimerHandle] = []


class PeerState:
    """Queue, counters and connections of one peer (listed, or connected to us unlisted)."""

    def __init__(self, name: str, info: PeerInfo | None, max_messages: int, max_bytes: int) -> None:
        self.name = name
        self.info = info
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.queue: deque[bytes] = deque()
        self.queued_bytes = 0
        self.wake = asyncio.Event()  # something to send, or the active connection changed
        self.changed = asyncio.Event()  # the active connection changed
        self.active: Connection | None = None
        self.connections: set[Connection] = set()
        self.received = self.sent = self.dropped = self.connects = 0
        self.errors: Counter[str] = Counter()

    def push(self, data: bytes) -> None:
        self.queue.append(data)
        self.queued_bytes += len(data)
        while len(self.queue) > self.max_messages or self.queued_bytes > self.max_bytes:
            self.queued_bytes -= len(self.queue.popleft())
            self.dropped += 1
        self.wake.set()

    @property
    def reachable(self) -> bool:
        """Frames for this peer are queued: it is listed (and dialled), or connected."""
        return self.info is not None or self.active is not None

    def clear(self) -> None:
        self.queue.clear()
        self.queued_bytes = 0

    def pop_batch(self) -> list[bytes]:
        batch: list[bytes] = []
        size = 0
        while self.queue and (not batch or size + len(self.queue[0]) <= BATCH_BYTES):
            data = self.queue.popleft()
            self.queued_bytes -= len(data)
            size += len(data)
            batch.append(data)
        return batch

    def stats(self) -> PeerStats:
        active = self.active
        return PeerStats(
            connected=active is not None,
            outbound=active.outbound if active is not None else None,
            queued=len(self.queue),
            received=self.received,
            sent=self.sent,
            dropped=self.dropped,
            connects=self.connects,
            errors=dict(self.errors),
        )
