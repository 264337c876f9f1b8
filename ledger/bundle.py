"""Proof bundles: state entries at one committed height, checkable offline (docs/spec/proofs.md).

A bundle carries a block header, a quorum of the precommits stored for it (named by genesis
validator names: `Precommits`) and, for each requested state key, its value (or absence) with a
sparse Merkle proof against the header's state root. `build_bundle` reads them from a `Chain`;
`verify_bundle` checks a bundle against nothing but a trusted genesis and returns what it
proves. Verification is generic over state entries: what a record *means* is decided by the
domain rules over the verified entries (a `VerifiedBundle` is a read-only KV reader);
ledger/licence_bundle.py does so for licences with `verify_licence`.

Never reads the clock, opens files or touches the network; never trusts a field of the bundle
that the genesis, a signature or a hash does not vouch for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ledger.block import Header
from ledger.chain import Chain
from ledger.encoding import decode, encode
from ledger.errors import EncodingError, ProofError, StoreError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_list
from ledger.genesis import Genesis
from ledger.kv import Prefixed
from ledger.signed_header import Precommits, quorum_of, read_signed_header, verify_signed_header
from ledger.smt import MAX_KEY_BYTES, MAX_VALUE_BYTES, SparseMerkleTree, StateProof, verify_proof
from ledger.state import SMT_PREFIX
from ledger.view import ChainView

__all__ = [
    "FORMAT", "MAX_BUNDLE_BYTES", "MAX_ENTRIES", "Bundle", "Entry", "Precommits", "VerifiedBundle",
    "build_bundle", "quorum_of", "verify_bundle",
]

FORMAT = "eledger-bundle/3"
MAX_BUNDLE_BYTES = 64 * 1024
MAX_ENTRIES = 64
_FIELDS = ("format", "header", "commit", "entries")


@dataclass(frozen=True)
class Entry:
    """One state key, its value at the bundle's root (None: absent) and the proof of that.

    `value` holds the state's bytes: the canonical encoding of a JSON object (every state value
    is one, docs/spec/domain.md); the bundle carries the object itself (§2)."""

    key: bytes
    value: bytes | None
    proof: StateProof

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "value": None if self.value is None else decode(self.value), "proof": self.proof.to_bytes()}

    @classmethod
    def from_json(cls, obj: object, where: str) -> Entry:
        """Parse one entry (§2); raises ValidationError naming the field, ProofError for the proof's form."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("key", "value", "proof"))
        key = get_bytes(obj, "key", where, max_size=MAX_KEY_BYTES)
        value = None
        if obj["value"] is not None:
            value = encode(expect_object(obj["value"], f"{where}.value"))
            if len(value) > MAX_VALUE_BYTES:
                raise ValidationError(f"{where}.value encodes to {len(value)} bytes; at most {MAX_VALUE_BYTES}", code="validation.length", field=f"{where}.value")
        # Any length the bundle can hold is read, so that StateProof.from_bytes judges it: a
        # proof over MAX_PROOF_BYTES is "proof.too_large" (state.md §8), not a field length.
        raw_proof = get_bytes(obj, "proof", where, max_size=MAX_BUNDLE_BYTES)
        try:
            proof = StateProof.from_bytes(raw_proof)
        except ProofError as exc:
            raise ProofError(f"{where}.proof: {exc}", code=exc.code, **{**exc.fields, "field": f"{where}.proof"}) from exc
        return cls(key, value, proof)


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle (§2). Parsing checks form only; `verify_bundle` checks meaning.

    `entries` are sorted by key, without repeats (checked by `from_json`; `build_bundle` makes them so).
    """

    header: Header
    commit: Precommits
    entries: tuple[Entry, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "header": self.header.to_json(),
            "commit": self.commit.to_json(),
            "entries": [e.to_json() for e in self.entries],
        }

    def to_bytes(self) -> bytes:
        """The canonical bytes of the bundle (the form written to files and served)."""
        return encode(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Bundle:
        """Parse canonical bundle bytes of at most MAX_BUNDLE_BYTES.

        Raises ValidationError "bundle.too_large" (checked before anything is read), EncodingError
        (not canonical JSON, docs/spec/encoding.md §7) and whatever `from_json` raises.
        """
        if len(data) > MAX_BUNDLE_BYTES:
            raise ValidationError(
                f"bundle is {len(data)} bytes; at most {MAX_BUNDLE_BYTES} are accepted",
                code="bundle.too_large", field="bundle", size=len(data), limit=MAX_BUNDLE_BYTES,
            )
        return cls.from_json(decode(data, max_bytes=MAX_BUNDLE_BYTES))

    @classmethod
    def from_json(cls, obj: object) -> Bundle:
        """Parse a decoded bundle (§2, §3 step 2).

        Raises ValidationError: "bundle.unsupported_format" (checked first), "bundle.no_entries",
        "bundle.too_many_entries", "bundle.entries_unsorted", "bundle.duplicate_entry", the
        `validation.*` codes of ledger.fields naming the field, and the form errors of Header;
        ProofError for an entry's proof that is not in strict compact form (state.md §8).
        """
        where = "bundle"
        obj = expect_object(obj, where)
        fmt = obj.get("format")
        if fmt != FORMAT:
            shown = repr(fmt)[:80] if isinstance(fmt, str) else "missing or not a string"
            raise ValidationError(
                f"bundle format {shown} is not supported; this verifier reads {FORMAT!r}",
                code="bundle.unsupported_format", field="bundle.format",
            )
        expect_keys(obj, where, _FIELDS)
        header = Header.from_json(obj["header"], "bundle.header")
        commit = Precommits.from_json(obj["commit"], "bundle.commit")
        items = get_list(obj, "entries", where, max_items=MAX_BUNDLE_BYTES)
        if not items:
            raise ValidationError("bundle proves no entries", code="bundle.no_entries", field="bundle.entries")
        if len(items) > MAX_ENTRIES:
            raise ValidationError(f"bundle has {len(items)} entries; at most {MAX_ENTRIES}", code="bundle.too_many_entries", field="bundle.entries")
        entries = tuple(Entry.from_json(item, f"bundle.entries[{i}]") for i, item in enumerate(items))
        for i in range(1, len(entries)):
            if entries[i].key == entries[i - 1].key:
                raise ValidationError(f"bundle.entries[{i}] repeats the key of the entry before it", code="bundle.duplicate_entry", field=f"bundle.entries[{i}].key")
            if entries[i].key < entries[i - 1].key:
                raise ValidationError(f"bundle.entries[{i}] is out of order; entries are sorted by key bytes", code="bundle.entries_unsorted", field=f"bundle.entries[{i}].key")
        return cls(header, commit, entries)


@dataclass(frozen=True)
class VerifiedBundle:
    """What a bundle proves: at committed `height` (block `block_hash`, block time `time` in ms)
    of chain `chain_id`, each key of `entries` held its value (None: the key was absent).
    `signers` names the validators whose precommits the commit carries."""

    chain_id: str
    height: int
    time: int
    block_hash: bytes
    state_root: bytes
    signers: tuple[str, ...]
    entries: Mapping[bytes, bytes | None]

    def get(self, key: bytes) -> bytes | None:
        """The proven value of `key` (None: proven absent). With this method a verified bundle
        is a `ledger.kv.KVReader`, so the domain's read helpers work over it unchanged.

        Raises ValidationError "bundle.key_not_proven" when the bundle says nothing about `key`
        (absence must be proven, never inferred from a missing entry).
        """
        if key not in self.entries:
            raise ValidationError(f"the bundle carries no proof for key {key!r}", code="bundle.key_not_proven", field="bundle.entries", key=key)
        return self.entries[key]


def build_bundle(chain: Chain | ChainView, keys: Sequence[bytes], height: int | None = None) -> Bundle:
    """A bundle proving `keys` (1..MAX_ENTRIES, repeats ignored) at committed `height` (default: the tip).

    Raises ValidationError "bundle.no_entries", "bundle.too_many_entries", "bundle.unknown_height"
    (not a committed height ≥ 1), "bundle.validator_change_unsupported" (the block names another
    validator set than the genesis one: no verifier of this format could check it),
    "bundle.too_large" (the result would exceed MAX_BUNDLE_BYTES) and the `smt.key_*` codes for a
    malformed key; StoreError "state.pruned" (with `height`, `oldest`) for a height below
    `chain.oldest_state_height` (blocks.md §6.1), "store.missing_block", "store.missing_commit", "store.corrupt_block",
    "store.corrupt_commit", "store.corrupt_value" (a state value that is not a canonical JSON
    object) and the `smt.*` store errors if the store is damaged.
    """
    unique = sorted(set(keys))
    if not unique:
        raise ValidationError("a bundle needs at least one key", code="bundle.no_entries", field="keys")
    if len(unique) > MAX_ENTRIES:
        raise ValidationError(f"a bundle proves at most {MAX_ENTRIES} keys, {len(unique)} asked", code="bundle.too_many_entries", field="keys")
    h = chain.height if height is None else height
    if not 1 <= h <= chain.height:
        raise ValidationError(
            f"height {h} is not committed (committed heights are 1..{chain.height})",
            code="bundle.unknown_height", field="height", height=h, tip=chain.height,
        )
    oldest = chain.oldest_state_height
    if h < oldest:
        raise StoreError(f"the state of height {h} is pruned (the oldest retained is {oldest})", code="state.pruned", height=h, oldest=oldest)
    header, precommits = read_signed_header(chain, h)
    root = header.state_root
    tree = SparseMerkleTree(Prefixed(chain.kv, SMT_PREFIX))
    entries = tuple(Entry(key, _stored_object(key, tree.get(root, key)), tree.prove(root, key)) for key in unique)
    bundle = Bundle(header, precommits, entries)
    size = len(bundle.to_bytes())
    if size > MAX_BUNDLE_BYTES:
        raise ValidationError(
            f"the bundle would be {size} bytes; at most {MAX_BUNDLE_BYTES}: prove fewer keys",
            code="bundle.too_large", field="keys", size=size, limit=MAX_BUNDLE_BYTES,
        )
    return bundle


def _stored_object(key: bytes, value: bytes | None) -> bytes | None:
    """`value` if it is the canonical encoding of a JSON object (every state value is), else
    StoreError "store.corrupt_value"."""
    if value is None:
        return None
    try:
        if isinstance(decode(value), dict):
            return value
    except EncodingError:
        pass
    raise StoreError(f"the state value of {key!r} is not a canonical JSON object", code="store.corrupt_value", key=key)


def verify_bundle(bundle: bytes | Mapping[str, object] | Bundle, genesis: Genesis) -> VerifiedBundle:
    """Check `bundle` (canonical bytes, decoded JSON or a parsed Bundle) against the trusted
    `genesis` alone (docs/spec/proofs.md §3) and return what it proves.

    Raises, at the first failed check: ValidationError "bundle.too_large" and EncodingError for
    bytes that are not a bundle's canonical JSON; the form errors of `Bundle.from_json`;
    ValidationError "bundle.wrong_chain", "bundle.time_before_genesis", "bundle.genesis_link",
    "bundle.untrusted_validators", and the `commit.*` codes (a signer that is no genesis
    validator, a bad signature, insufficient power); ProofError `proof.*` (with `field` naming
    the entry) for an entry the state root does not back.
    """
    if isinstance(bundle, (bytes, bytearray)):
        parsed = Bundle.from_bytes(bytes(bundle))
    elif isinstance(bundle, Bundle):
        parsed = bundle
    else:
        parsed = Bundle.from_json(bundle)
        size = len(parsed.to_bytes())
        if size > MAX_BUNDLE_BYTES:
            raise ValidationError(f"bundle is {size} bytes; at most {MAX_BUNDLE_BYTES} are accepted", code="bundle.too_large", field="bundle", size=size, limit=MAX_BUNDLE_BYTES)
    header = parsed.header
    validators = genesis.validators
    commit = verify_signed_header(header, parsed.commit, genesis)
    for i, entry in enumerate(parsed.entries):
        try:
            verify_proof(header.state_root, entry.key, entry.value, entry.proof)
        except ProofError as exc:
            where = f"bundle.entries[{i}]"
            raise ProofError(f"{where}: {exc}", code=exc.code, **{**exc.fields, "field": where, "key": entry.key}) from exc
    signers = tuple(v.name for v in (validators.get(s.validator) for s in commit.signatures) if v is not None)
    return VerifiedBundle(
        chain_id=header.chain_id, height=header.height, time=header.time, block_hash=commit.block_hash,
        state_root=header.state_root, signers=signers,
        entries=MappingProxyType({e.key: e.value for e in parsed.entries}),
    )
