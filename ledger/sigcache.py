"""A bounded memory of signature checks that verified (docs/spec/consensus.md §7).

A node verifies each transaction's signatures when its mempool admits it; when the same
transactions come back in a block, execution finds them here and does not verify them again.
An entry is (key id, SHA-256 of the signing bytes, signature suite and value): it stands for
exactly one successful `PublicKey.verify`, so a hit is as good as verifying again, and a
different signature over the same bytes, or the same signature by another key, is a miss.

Only successes are remembered, never failures. Pure: no clock, no I/O; the least recently used
entry is forgotten first once `max_entries` is reached. `SignatureCache` is for one thread (the
node's loop); `SharedSignatureCache` may be used by many at once (an API process's workers).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable

from ledger.crypto import PublicKey, Signature, signing_bytes
from ledger.crypto.pool import Item

DEFAULT_MAX_ENTRIES = 100_000


def check_entry(public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> bytes:
    """The cache entry that stands for the check `public_key.verify(purpose, chain_id, message,
    signature)`: what a node's API process reports for each check it verified (docs/node.md)."""
    return _entry(public_key, purpose, chain_id, message, signature)


def _entry(public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> bytes:
    # 32-byte key id, 32-byte digest and 64-byte value have fixed sizes, so the suite name
    # appended last keeps the concatenation unambiguous (crypto.md §3, §4).
    digest = hashlib.sha256(signing_bytes(purpose, chain_id, message)).digest()
    return public_key.key_id + digest + signature.value + signature.suite.value.encode()


class SignatureCache:
    """Signature checks known to verify, least recently used forgotten first.

    `max_entries` must be a positive integer (ValueError otherwise)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, not {max_entries!r}")
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, item: Item) -> bool:
        """Whether the check `(public_key, purpose, chain_id, message, signature)` is known to
        verify (does not count as a use). Raises CryptoError "crypto.bad_domain" /
        "crypto.bad_message" for malformed inputs, as `signing_bytes` does."""
        return _entry(*item) in self._entries

    def check(self, public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> None:
        """Return at once if this check is known to verify (and mark it used); otherwise verify
        it with `public_key.verify` and remember it. Raises exactly what `PublicKey.verify`
        raises (CryptoError "crypto.bad_signature", "crypto.suite_mismatch", ...); a failure is
        not remembered."""
        entry = _entry(public_key, purpose, chain_id, message, signature)
        try:
            self._entries.move_to_end(entry)
            return
        except KeyError:
            pass
        public_key.verify(purpose, chain_id, message, signature)
        self._add(entry)

    def remember(self, public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> None:
        """Record a check the caller has verified (e.g. in a `SignaturePool`).

        Precondition: `public_key.verify(purpose, chain_id, message, signature)` returned None;
        remembering an unverified check would let a bad signature pass later."""
        entry = _entry(public_key, purpose, chain_id, message, signature)
        if entry in self._entries:
            self._entries.move_to_end(entry)
        else:
            self._add(entry)

    def remember_entries(self, entries: Iterable[bytes]) -> None:
        """Record checks verified elsewhere, given by their `check_entry` bytes.

        Precondition: each entry stands for a check that verified. The node takes them only from
        its own API process, which verified the signatures of the transactions it forwards;
        an entry for a check that does not verify would let a bad signature pass here (peers,
        which verify for themselves, would still refuse a block holding it)."""
        for entry in entries:
            if entry in self._entries:
                self._entries.move_to_end(entry)
            else:
                self._add(entry)

    def _add(self, entry: bytes) -> None:
        self._entries[entry] = None
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class SharedSignatureCache(SignatureCache):
    """A SignatureCache several threads may use at once: the bookkeeping is locked, the
    verification itself is not (two threads may verify the same new check; both then agree)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__(max_entries)
        self._lock = threading.Lock()

    def __contains__(self, item: Item) -> bool:
        entry = _entry(*item)
        with self._lock:
            return entry in self._entries

    def check(self, public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> None:
        entry = _entry(public_key, purpose, chain_id, message, signature)
        with self._lock:
            if entry in self._entries:
                self._entries.move_to_end(entry)
                return
        public_key.verify(purpose, chain_id, message, signature)
        with self._lock:
            if entry not in self._entries:
                self._add(entry)

    def remember(self, public_key: PublicKey, purpose: str, chain_id: str, message: bytes, signature: Signature) -> None:
        with self._lock:
            super().remember(public_key, purpose, chain_id, message, signature)

    def remember_entries(self, entries: Iterable[bytes]) -> None:
        with self._lock:
            super().remember_entries(entries)
