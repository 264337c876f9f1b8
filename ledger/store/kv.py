"""LevelDB implementation of `ledger.kv.KVStore`.

One LevelDB directory per node. `write` applies puts and deletes in one write batch; with
`sync=True` LevelDB fsyncs its log before returning, so a batch is either wholly on disk after
a crash or not at all. Must never be used by two processes at once (LevelDB's own lock refuses).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import plyvel

from ledger.errors import StoreError


# Most reads are of Merkle nodes by their (random) hash: a bloom filter per table saves the disk
# reads of tables that do not hold the key, and a larger block cache keeps hot tables in memory.
BLOOM_FILTER_BITS = 10
BLOCK_CACHE_BYTES = 64 << 20
WRITE_BUFFER_BYTES = 16 << 20


class LevelKV:
    """A LevelDB database opened at `path` (created if absent unless `create=False`)."""

    def __init__(self, path: str | Path, *, create: bool = True, verify_checksums: bool = False) -> None:
        self.path = Path(path)
        self._verify = verify_checksums
        try:
            self._db = plyvel.DB(
                str(self.path), create_if_missing=create, paranoid_checks=True,
                bloom_filter_bits=BLOOM_FILTER_BITS, lru_cache_size=BLOCK_CACHE_BYTES, write_buffer_size=WRITE_BUFFER_BYTES,
            )
        except plyvel.IOError as exc:
            raise StoreError(f"cannot open LevelDB at {self.path}: {exc}", code="store.open_failed", path=str(self.path)) from exc
        except plyvel.Error as exc:
            raise StoreError(f"LevelDB at {self.path} is unusable: {exc}", code="store.corrupt", path=str(self.path)) from exc

    def get(self, key: bytes) -> bytes | None:
        """The value under `key`; StoreError "store.corrupt" if LevelDB finds damage."""
        try:
            return self._db.get(key, verify_checksums=self._verify)
        except plyvel.Error as exc:
            raise StoreError(f"LevelDB at {self.path} is damaged: {exc}", code="store.corrupt", path=str(self.path)) from exc

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), *, sync: bool = True) -> None:
        with self._db.write_batch(sync=sync) as batch:
            # A block's batch holds tens of thousands of entries: no Python loop per entry.
            deque(map(batch.delete, deletes), maxlen=0)
            deque(map(batch.put, puts.keys(), puts.values()), maxlen=0)

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        yield from _iterate(self._db, self.path, prefix, start)

    def snapshot(self) -> LevelSnapshot:
        """The database as it is now: later writes never show in reads through it (LevelDB
        snapshots are safe to read from any thread). Release it with `close`."""
        return LevelSnapshot(self._db.snapshot(), self.path, self._verify)

    def compact(self) -> None:
        """Compact the whole key range (moves everything from the log into sorted tables).

        Not a full rewrite: LevelDB drops an overwritten value or a deleted one only in a
        compaction that takes in its table, and a table already in the deepest level (a freshly
        flushed log can land there directly) is never taken in again. So a store that deleted
        much may keep some of it after this; copy its live entries to measure what it needs."""
        self._db.compact_range()

    def close(self) -> None:
        """Close the database. Every snapshot of it must have been closed first."""
        self._db.close()

    @property
    def closed(self) -> bool:
        return self._db.closed

    def __enter__(self) -> LevelKV:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LevelSnapshot:
    """A read-only view of a LevelKV at one moment (ledger.kv.SnapshotReader)."""

    def __init__(self, snapshot: plyvel.Snapshot, path: Path, verify_checksums: bool) -> None:
        self._snapshot = snapshot
        self.path = path
        self._verify = verify_checksums

    def get(self, key: bytes) -> bytes | None:
        """The value under `key` at the snapshot; StoreError "store.corrupt" on damage."""
        try:
            return self._snapshot.get(key, verify_checksums=self._verify)
        except plyvel.Error as exc:
            raise StoreError(f"LevelDB at {self.path} is damaged: {exc}", code="store.corrupt", path=str(self.path)) from exc

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        yield from _iterate(self._snapshot, self.path, prefix, start)

    def close(self) -> None:
        """Release the snapshot (LevelDB keeps what it needs until then)."""
        self._snapshot.close()


def _upper_bound(prefix: bytes) -> bytes | None:
    """The least key greater than every key starting with `prefix` (None: no such key)."""
    trimmed = prefix.rstrip(b"\xff")
    return None if not trimmed else trimmed[:-1] + bytes([trimmed[-1] + 1])


def _iterate(source: plyvel.DB | plyvel.Snapshot, path: Path, prefix: bytes, start: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """Pairs of `source` whose key starts with `prefix` and is at least `start`, in key order.
    plyvel cannot combine `prefix` with `start`, so the range is given by its two bounds."""
    floor = prefix if start is None or start < prefix else start
    try:
        with source.iterator(start=floor, stop=_upper_bound(prefix)) as it:
            for key, value in it:
                if not key.startswith(prefix):
                    return
                yield key, value
    except plyvel.Error as exc:
        raise StoreError(f"LevelDB at {path} is damaged: {exc}", code="store.corrupt", path=str(path)) from exc
