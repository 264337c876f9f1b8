"""Key-value storage interface for authenticated structures.

The Merkle log and the sparse Merkle state read their nodes through `KVReader` and collect
their writes in an `Overlay`; the caller commits an overlay's changes in one atomic batch
(`ledger.store` does so with LevelDB, `MemoryKV` in memory). Nothing here touches a disk.
Keys and values are bytes; structures namespace their keys with a short prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol


class KVReader(Protocol):
    """Read access to a key-value store."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under `key`, or None."""
        ...


class KVStore(KVReader, Protocol):
    """A store that applies a batch of puts and deletes atomically."""

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), *, sync: bool = True) -> None:
        """Apply all `puts` and `deletes` as one atomic batch (durable when `sync`)."""
        ...

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """All (key, value) pairs whose key starts with `prefix`, in key order; with `start`,
        only those whose key is at least `start` (a full key, e.g. a page's resume point)."""
        ...


class SnapshotReader(KVReader, Protocol):
    """Reads of a store as it was at one moment, unchanged by later writes (a LevelDB snapshot;
    in memory, a copy). The API reads a committed height through one (docs/spec/api.md)."""

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """As KVStore.iterate, over the snapshot."""
        ...


class MemoryKV:
    """An in-memory `KVStore` (tests, simulations, building proofs in memory)."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def write(self, puts: Mapping[bytes, bytes], deletes: Iterable[bytes] = (), *, sync: bool = True) -> None:
        for key in deletes:
            self._data.pop(key, None)
        self._data.update(puts)

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        floor = prefix if start is None else max(prefix, start)
        for key in sorted(k for k in self._data if k.startswith(prefix) and k >= floor):
            yield key, self._data[key]

    def snapshot(self) -> MemorySnapshot:
        """A copy of the store as it is now (later writes do not show in it)."""
        copy = MemoryKV()
        copy._data = dict(self._data)
        return MemorySnapshot(copy)

    def __len__(self) -> int:
        return len(self._data)


class MemorySnapshot:
    """A `SnapshotReader` over a frozen copy of a MemoryKV."""

    def __init__(self, kv: MemoryKV) -> None:
        self._kv = kv

    def get(self, key: bytes) -> bytes | None:
        return self._kv.get(key)

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return self._kv.iterate(prefix, start)

    def close(self) -> None:
        """Nothing to release (the copy is dropped with the object)."""


class Overlay:
    """Pending writes layered over a reader: reads see the pending writes first.

    Used to execute a block against committed state without touching it; `puts` and
    `deletes` are then committed in one batch, or the overlay is dropped.

    Reads of the base are remembered until `commit_to`: a block reads the same few records
    (its signers, their organisations, seals) for every transaction. So the base must not change
    under a live overlay except through `commit_to` (a chain keeps one writer).
    """

    def __init__(self, base: KVReader) -> None:
        self.base = base
        self.puts: dict[bytes, bytes] = {}
        self.deletes: set[bytes] = set()
        self._read: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        value = self.puts.get(key)
        if value is not None:
            return value
        if key in self.deletes:
            return None
        try:
            return self._read[key]
        except KeyError:
            value = self._read[key] = self.base.get(key)
            return value

    def put(self, key: bytes, value: bytes) -> None:
        self.deletes.discard(key)
        self.puts[key] = value

    def delete(self, key: bytes) -> None:
        self.puts.pop(key, None)
        self.deletes.add(key)

    def put_many(self, items: Mapping[bytes, bytes]) -> None:
        """`put` every (key, value) of `items` (one call for a structure's whole batch)."""
        if self.deletes:
            self.deletes.difference_update(items)
        self.puts.update(items)

    def delete_many(self, keys: Iterable[bytes]) -> None:
        """`delete` every key of `keys`."""
        keys = list(keys)
        if self.puts:
            pop = self.puts.pop
            for key in keys:
                pop(key, None)
        self.deletes.update(keys)

    def commit_to(self, store: KVStore, *, sync: bool = True) -> None:
        """Write the pending changes into `store` as one batch and clear them."""
        store.write(self.puts, self.deletes, sync=sync)
        self.puts = {}
        self.deletes = set()
        self._read = {}


class Prefixed:
    """A view of a reader or overlay with every key prefixed (one namespace per structure)."""

    def __init__(self, inner: KVReader, prefix: bytes) -> None:
        self.inner = inner
        self.prefix = prefix

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(self.prefix + key)

    def put(self, key: bytes, value: bytes) -> None:
        self.inner.put(self.prefix + key, value)  # type: ignore[attr-defined]

    def delete(self, key: bytes) -> None:
        self.inner.delete(self.prefix + key)  # type: ignore[attr-defined]
