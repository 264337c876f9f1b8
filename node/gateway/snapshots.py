"""Store snapshots by committed height, kept while the API may read them (DESIGN §8a).

After each commit the node publishes a snapshot of its store at the new tip; the API process reads
that height until it learns of the next one, and a request may still be reading an older height
for a while. A snapshot is released `keep_s` after a newer one superseded it, and only when no
reader holds a lease on it: releasing a LevelDB snapshot during a read would read
freed memory. Thread-safe: the consensus loop publishes, the gateway thread leases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.kv import SnapshotReader
from node.gateway.protocol import GatewayError


@dataclass
class _Held:
    snapshot: SnapshotReader
    superseded: float | None = None
    leases: int = 0
    expired: bool = False


class Snapshots:
    """Snapshots by height. `keep_s`: how long a superseded snapshot stays readable; at most
    `max_kept` are held (the oldest unleased go first)."""

    def __init__(self, *, keep_s: float = 10.0, max_kept: int = 64, clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_s = keep_s
        self.max_kept = max_kept
        self._clock = clock
        self._held: dict[int, _Held] = {}
        self._newest = -1
        self._lock = threading.Lock()
        self._closed = False

    @property
    def newest(self) -> int:
        return self._newest

    def publish(self, height: int, snapshot: SnapshotReader) -> None:
        """Make `snapshot` the one of `height` (the new tip) and release what has expired."""
        with self._lock:
            if self._closed:
                _close(snapshot)
                return
            old = self._held.pop(height, None)
            if old is not None:
                self._retire(old)
            now = self._clock()
            for other in self._held.values():
                if other.superseded is None:
                    other.superseded = now
            self._held[height] = _Held(snapshot)
            self._newest = max(self._newest, height)
            self._expire()

    @contextmanager
    def lease(self, height: int) -> Iterator[SnapshotReader]:
        """The snapshot of `height`, held until the block exits. Raises GatewayError
        "gateway.snapshot_gone" when there is none (released, or never published)."""
        with self._lock:
            held = self._held.get(height)
            if held is None or held.expired:
                raise GatewayError(
                    f"the snapshot of height {height} is no longer held (the newest is {self._newest}); read at the new tip",
                    code="gateway.snapshot_gone", height=height, newest=self._newest,
                )
            held.leases += 1
        try:
            yield held.snapshot
        finally:
            with self._lock:
                held.leases -= 1
                if held.expired and held.leases == 0:
                    _close(held.snapshot)

    def expire(self) -> None:
        """Release the snapshots that have expired (also done by each `publish`)."""
        with self._lock:
            self._expire()

    def close(self) -> None:
        """Release every snapshot not leased now; those leased are released when their lease
        ends. Later publications are released at once. Call before closing the store."""
        with self._lock:
            self._closed = True
            for held in self._held.values():
                self._retire(held)
            self._held.clear()

    def __len__(self) -> int:
        return len(self._held)

    def _expire(self) -> None:
        now = self._clock()
        old = sorted(h for h in self._held if h != self._newest)
        excess = len(self._held) - self.max_kept
        for height in old:
            held = self._held[height]
            if excess > 0 or (held.superseded is not None and now - held.superseded >= self.keep_s):
                del self._held[height]
                self._retire(held)
                excess -= 1

    @staticmethod
    def _retire(held: _Held) -> None:
        held.expired = True
        if held.leases == 0:
            _close(held.snapshot)


def _close(snapshot: SnapshotReader) -> None:
    close = getattr(snapshot, "close", None)
    if close is not None:
        close()
