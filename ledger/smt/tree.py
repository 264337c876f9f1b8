"""The sparse Merkle state map over a store of versioned node instances (docs/spec/state.md §4–§6).

`SparseMerkleTree` reads records through a `ledger.kv` reader and writes with `put_many` and
`delete_many` (an
`Overlay`, or a `Prefixed` view of one, that the caller commits in its block's batch). A root
names one version of the map. An update writes the changed paths as new instances of a new
version and lists the instances it replaced (the stale list), so every earlier root stays
readable and provable until the caller prunes that list (§6.4). The tree never commits, syncs or
opens a store, and removes nothing except in `prune`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.errors import StoreError, ValidationError
from ledger.kv import KVReader, Prefixed
from ledger.smt.batch import apply_batch
from ledger.smt.hasher import DEPTH, EMPTY_HASH, EMPTY_ROOT, HASH_SIZE, check_key, check_value, path_of
from ledger.smt.nodes import (
    EMPTY_KEY,
    HEAD_SIZE,
    LATEST_SPACE,
    LEAF_TAG,
    MAX_VERSION,
    NODE_SPACE,
    PRIVATE_CACHE_CAPACITY,
    PRUNED_KEY,
    ROOT_ENTRY_SIZE,
    ROOT_SPACE,
    VERSION_KEY,
    VERSION_SIZE,
    NodeCache,
    decode_stale_list,
    encode_stale_list,
    key_version,
    leaf_value,
    load_record,
    too_deep,
)
from ledger.smt.proof import StateProof

__all__ = ["EMPTY_ROOT", "SparseMerkleTree", "Update"]

_sha256 = hashlib.sha256


def _check_root(root: object) -> bytes:
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValidationError(
            f"state root must be {HASH_SIZE} bytes, got {type(root).__name__} "
            f"of length {len(root) if isinstance(root, (bytes, bytearray)) else '?'}",
            code="smt.root_invalid",
            field="root",
        )
    return root


def _flatten(store: KVReader) -> tuple[KVReader, bytes]:
    """The innermost store under any `Prefixed` views of `store`, and their joint prefix."""
    prefix = b""
    while isinstance(store, Prefixed):
        prefix = store.prefix + prefix
        store = store.inner
    return store, prefix


def _writer(target: KVReader, method: str) -> None:
    if not callable(getattr(target, method, None)):
        raise StoreError(
            f"the state tree's store has no {method}(); give it an Overlay (or a Prefixed view of one)",
            code="smt.read_only_store",
        )


@dataclass(frozen=True, slots=True)
class Update:
    """One applied batch (§5.2, §6.4): the new `root`; the `version` its new instances were
    written as; `retired`, the old root's hash and root entry when the batch replaced a
    non-empty root (else None); `stale`, the node keys of the instances reachable from the old
    root and not from the new one. `retired` is None and `stale` empty when nothing changed."""

    root: bytes
    version: int
    retired: tuple[bytes, bytes] | None
    stale: tuple[bytes, ...]

    def stale_list(self) -> bytes:
        """What `SparseMerkleTree.prune` takes to forget the old root: b"" if nothing."""
        if self.retired is None and not self.stale:
            return b""
        return encode_stale_list(self.retired, self.stale)


class SparseMerkleTree:
    """The state map over `store` (must have `get`; updates also need `put_many`, pruning
    `delete_many`: an `Overlay`, or a `Prefixed` view of one).

    `cache` holds the upper internal nodes of the latest tree (§6.5); pass one `NodeCache` to
    the trees built over successive block overlays, or every block starts cold (a tree made
    without one gets a small cache of its own, for the few paths a reader walks). With
    `latest_values`, updates keep each live key's value once, in the latest-value table, not
    in its leaf (§6.3); such a tree must be updated from its latest root only. Reads handle
    both kinds of leaf whatever the flag.
    """

    def __init__(self, store: KVReader, *, cache: NodeCache | None = None, latest_values: bool = False) -> None:
        self.store = store
        self.cache = cache if cache is not None else NodeCache(PRIVATE_CACHE_CAPACITY)
        self.latest_values = latest_values
        # Every access goes straight to the innermost store (one concatenation, no wrappers).
        self._base, self._prefix = _flatten(store)
        self._nodes = self._prefix + NODE_SPACE
        self._root: tuple[bytes, bytes, bytes] | None = None  # the last root looked up, its node key and entry

    # -- roots -----------------------------------------------------------------------------

    def root_version(self, root: bytes) -> int | None:
        """The version of the instance `root` names (None for the empty root).

        Raises ValidationError "smt.root_invalid"; StoreError "state.pruned" when the root is
        not in the store and the store has been pruned (the root is older than the retention
        window, or was never one of its roots), "smt.missing_node" when it is not and the store
        was never pruned."""
        key = self._root_key(_check_root(root))
        return None if key == EMPTY_KEY else key_version(key)

    def _root_key(self, root: bytes, *, fresh: bool = False) -> bytes:
        """The node key of the instance `root` names (§6.2); remembers it with its entry."""
        if root == EMPTY_HASH:
            return EMPTY_KEY
        memo = self._root
        if memo is not None and memo[0] == root and not fresh:
            return memo[1]
        entry = self._base.get(self._prefix + ROOT_SPACE + root)
        if entry is None:
            self._root = None
            if self._base.get(self._prefix + PRUNED_KEY) is not None:
                raise StoreError(
                    f"state root {root.hex()} is not retained: its state was pruned (older than the "
                    "retention window) or never committed to this store",
                    code="state.pruned",
                    root=root,
                )
            raise StoreError(f"state root {root.hex()} is not in the store (unknown root)", code="smt.missing_node", node=root)
        if len(entry) != ROOT_ENTRY_SIZE:
            raise StoreError(f"the entry of state root {root.hex()} is malformed", code="smt.corrupt_node", node=root)
        key = entry[:VERSION_SIZE] + root
        self._root = (root, key, entry)
        return key

    def _recheck(self, root: bytes, used: bytes, error: StoreError) -> bytes:
        """After `error` (a node missing under `root`, walked from instance `used`): raise
        "state.pruned" if the root has gone meanwhile, return its current instance if that
        changed (walk again), else re-raise `error` (damaged store)."""
        key = self._root_key(root, fresh=True)
        if key == used:
            raise error
        return key

    # -- reading ---------------------------------------------------------------------------

    def _read(self, key: bytes, place: int) -> bytes:
        """The record of non-empty instance `key` at position `place` (§6.5), from the cache
        or the store (then cached if internal and above the cache's depth limit)."""
        record = self.cache.find(place, key)
        if record is None:
            record = load_record(self._base, key, self._nodes)
            self.cache.remember(place, key, record)
        return record

    def get(self, root: bytes, key: bytes) -> bytes | None:
        """The value of `key` in the map named by `root`, or None if absent (§5.1).

        Raises ValidationError for a malformed root or key; StoreError "state.pruned" for a
        root no longer retained (see `root_version`), "smt.missing_node", "smt.corrupt_node"
        or "smt.value_mismatch" if the store lacks or garbles a node or value under `root`.
        """
        _check_root(root)
        path = path_of(check_key(key))
        start = self._root_key(root)
        while True:
            try:
                return self._get(start, path, key)
            except StoreError as exc:
                if exc.code != "smt.missing_node":
                    raise
                start = self._recheck(root, start, exc)

    def _get(self, node: bytes, path: bytes, key: bytes) -> bytes | None:
        bits = int.from_bytes(path, "big")
        depth, place = 0, 1
        while node != EMPTY_KEY:
            record = self._read(node, place)
            if record[0] == LEAF_TAG:
                if record[1:33] != path:
                    return None
                value = leaf_value(record)
                return self._latest(key, record) if value is None else value
            if depth == DEPTH:
                raise too_deep(node)
            bit = (bits >> (255 - depth)) & 1
            node = record[41:81] if bit else record[1:41]
            depth, place = depth + 1, 2 * place + bit
        return None

    def _latest(self, key: bytes, record: bytes) -> bytes:
        """The value of a live leaf kept in the latest-value table (§6.3), checked against it."""
        value = self._base.get(self._prefix + LATEST_SPACE + key)
        if value is None or _sha256(value).digest() != record[33:HEAD_SIZE]:
            raise StoreError(
                f"the latest value of state key {key!r} does not match its leaf (damaged store)",
                code="smt.value_mismatch",
                key=key,
            )
        return value

    def prove(self, root: bytes, key: bytes) -> StateProof:
        """A proof of the membership or non-membership of `key` at `root` (§7.1).

        The proof lists the siblings of the path's nodes from the root down to where the path
        ends: at `key`'s leaf (membership), at an empty subtree, or at another key's leaf
        (non-membership; the proof then carries that leaf's path and value hash).
        Raises as `get` does.
        """
        _check_root(root)
        path = path_of(check_key(key))
        start = self._root_key(root)
        while True:
            try:
                return self._prove(start, path)
            except StoreError as exc:
                if exc.code != "smt.missing_node":
                    raise
                start = self._recheck(root, start, exc)

    def _prove(self, node: bytes, path: bytes) -> StateProof:
        bits = int.from_bytes(path, "big")
        siblings: list[bytes] = []
        depth, place = 0, 1
        while node != EMPTY_KEY:
            record = self._read(node, place)
            if record[0] == LEAF_TAG:
                if record[1:33] == path:
                    break
                return StateProof(tuple(siblings), record[1:33], record[33:65])
            if depth == DEPTH:
                raise too_deep(node)
            bit = (bits >> (255 - depth)) & 1
            if bit:
                siblings.append(record[9:41])
                node = record[41:81]
            else:
                siblings.append(record[49:81])
                node = record[1:41]
            depth, place = depth + 1, 2 * place + bit
        return StateProof(tuple(siblings))

    # -- writing ---------------------------------------------------------------------------

    def update(self, root: bytes, changes: Mapping[bytes, bytes | None], *, version: int | None = None) -> bytes:
        """Apply a batch of changes to the map named by `root` and return the new root (§5.2).
        As `write_version`, for callers that do not prune."""
        return self.write_version(root, changes, version=version).root

    def write_version(self, root: bytes, changes: Mapping[bytes, bytes | None], *, version: int | None = None) -> Update:
        """Apply a batch of changes to the map named by `root`, writing its new node instances
        as `version` (default: one more than the last version written to the store, or 1), and
        return the new root with the stale list (§5.2, §6.2, §6.4).

        `changes` maps keys to new values; None deletes (a no-op for an absent key). The batch
        is applied as one: the union of the changed paths is rewritten once. Nothing is
        removed, so `root` stays readable until its stale lists are pruned. A batch that
        changes nothing returns `root` and writes nothing. Raises ValidationError for a
        malformed root, key or value (before anything is written; after a later error the
        store may hold records no root names: drop the overlay) and "smt.version_invalid" (not
        an integer in 0..2^64-1 above the last version written); StoreError
        "smt.read_only_store" if the store has no `put_many` (nor `delete_many`, with `latest_values`),
        and StoreError as `get` does for missing or damaged nodes.
        """
        _check_root(root)
        if not changes:
            return Update(root, self._version(root, version), None, ())
        _writer(self._base, "put_many")
        if self.latest_values:
            _writer(self._base, "delete_many")
        items = []
        for key, value in changes.items():
            check_key(key)
            if value is not None:
                check_value(value)
            items.append((path_of(key), key, value))
        number = self._version(root, version)
        items.sort(key=lambda item: item[0])
        old = self._root_key(root)
        retired = None if old == EMPTY_KEY else (root, self._root[2])  # type: ignore[index]
        new, stale = apply_batch(self._base, self._prefix, self.cache, items, old, number, self.latest_values)
        if new == old:
            return Update(root, number, None, ())
        stamp = number.to_bytes(VERSION_SIZE, "big")
        marks = {self._prefix + VERSION_KEY: stamp}
        new_root = new[VERSION_SIZE:]
        if new != EMPTY_KEY:
            entry = new[:VERSION_SIZE] + stamp
            marks[self._prefix + ROOT_SPACE + new_root] = entry
            self._root = (new_root, new, entry)
        self._base.put_many(marks)  # type: ignore[attr-defined]
        return Update(new_root, number, retired, tuple(stale))

    def _version(self, root: bytes, version: int | None) -> int:
        """`version`, or the default, checked against the last version written (§6.2)."""
        self._root_key(root)  # the root must be retained
        raw = self._base.get(self._prefix + VERSION_KEY)
        last = None if raw is None else int.from_bytes(raw, "big")
        if version is None:
            return (last or 0) + 1
        if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
            raise ValidationError(
                f"a state version is an integer in 0..{MAX_VERSION}, not {version!r}", code="smt.version_invalid", field="version"
            )
        if last is not None and version <= last:
            raise ValidationError(
                f"version {version} is not above the last version written to this store, {last}",
                code="smt.version_invalid",
                field="version",
                last_version=last,
            )
        return version

    def prune(self, stale_list: bytes) -> None:
        """Forget the roots written before the batch whose `Update.stale_list()` this is
        (§6.4): delete its stale node instances and, unless a later batch made that root the
        root again, the retired root's entry; mark the store as pruned.

        Precondition: the stale lists of the batches before that one were pruned first (or
        are never to be), and nothing will read a root older than that batch's new root: those
        raise "state.pruned" from now on. Raises StoreError "smt.read_only_store" if the store
        has no `delete_many` or `put_many`, "smt.corrupt_stale_list" for bytes that are not a
        stale list."""
        _writer(self._base, "delete_many")
        _writer(self._base, "put_many")
        if not stale_list:
            return
        retired, deletes = decode_stale_list(stale_list, self._nodes)
        store, roots = self._base, self._prefix + ROOT_SPACE
        if retired is not None and store.get(roots + retired[0]) == retired[1]:
            deletes.append(roots + retired[0])
        # The cache is left alone (§6.5): the batch that made these instances stale dropped
        # their records, and any other record (read through an old root) is still its
        # instance's content, named by no retained root, and ages out.
        store.delete_many(deletes)  # type: ignore[attr-defined]
        store.put_many({self._prefix + PRUNED_KEY: b"\x01"})  # type: ignore[attr-defined]
        self._root = None

