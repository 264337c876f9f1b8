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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ledger.block import Header
from ledger.chain import Chain
from ledger.commit import MAX_ROUND, Commit, CommitSig
from ledger.crypto import SIGNATURE_SIZE, Signature
from ledger.encoding import decode, encode
from ledger.errors import EncodingError, LedgerError, ProofError, StoreError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list
from ledger.genesis import Genesis
from ledger.kv import Prefixed
from ledger.smt import MAX_KEY_BYTES, MAX_VALUE_BYTES, SparseMerkleTree, StateProof, verify_proof
from ledger.state import SMT_PREFIX
from ledger.validators import MAX_VALIDATORS, NAME_RE, ValidatorSet
from ledger.view import ChainView

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
class Precommits:
    """The commit certificate of a bundle's header in the bundle's form (§2): the round and, by
    genesis validator name, each precommit's 64-byte signature value. The height and block hash
    are the header's and each signature's suite is its validator key's, so none is repeated.

    `signatures` are sorted by name, without repeats (canonical JSON objects are)."""

    round: int
    signatures: tuple[tuple[str, bytes], ...]

    def to_json(self) -> dict[str, object]:
        return {"round": self.round, "signatures": dict(self.signatures)}

    @classmethod
    def from_json(cls, obj: object, where: str) -> Precommits:
        """Parse the bundle's `commit` (§2); raises ValidationError naming the field."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("round", "signatures"))
        round_ = get_int(obj, "round", where, minimum=0, maximum=MAX_ROUND)
        sigs = expect_object(obj["signatures"], f"{where}.signatures")
        if len(sigs) > MAX_VALIDATORS:
            raise ValidationError(f"{where}.signatures has {len(sigs)} members; at most {MAX_VALIDATORS}", code="validation.length", field=f"{where}.signatures")
        for name in sigs:
            if not NAME_RE.fullmatch(name):
                raise ValidationError(f"{where}.signatures: {name[:40]!r} is not a validator name", code="validation.format", field=f"{where}.signatures")
        return cls(round_, tuple((name, get_bytes(sigs, name, f"{where}.signatures", size=SIGNATURE_SIZE)) for name in sorted(sigs)))

    @classmethod
    def of(cls, commit: Commit, validators: ValidatorSet) -> Precommits:
        """`commit` named against `validators`. Raises StoreError "store.corrupt_commit" when a
        signer is not in the set or signed in another suite than its key's (a stored commit of
        a header naming that set never does)."""
        named = []
        for sig in commit.signatures:
            validator = validators.get(sig.validator)
            if validator is None:
                why = f"a precommit of key {sig.validator.hex()[:16]}, which is no genesis validator's"
            elif sig.signature.suite is not validator.public_key.suite:
                why = f"a {sig.signature.suite.value} precommit of {validator.name}, whose key is {validator.public_key.suite.value}"
            else:
                named.append((validator.name, sig.signature.value))
                continue
            raise StoreError(f"the stored commit of block {commit.height} carries {why}", code="store.corrupt_commit", height=commit.height)
        return cls(commit.round, tuple(sorted(named)))

    def to_commit(self, header: Header, validators: ValidatorSet) -> Commit:
        """The commit certificate these precommits make for `header` under `validators`.

        Raises ValidationError "commit.unknown_validator" for a name outside the set."""
        by_name = {v.name: v for v in validators}
        sigs = []
        for name, value in self.signatures:
            validator = by_name.get(name)
            if validator is None:
                raise ValidationError(
                    f"bundle.commit.signatures: {name!r} is not a validator of the trusted genesis",
                    code="commit.unknown_validator", field=f"bundle.commit.signatures.{name}",
                )
            sigs.append(CommitSig(validator.key_id, Signature(validator.public_key.suite, value)))
        return Commit(header.height, self.round, header.hash(), tuple(sorted(sigs, key=lambda s: s.validator)))


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
    commit = chain.commit(h)
    if commit is None:
        raise StoreError(f"the store lacks the commit of block {h}", code="store.missing_commit", height=h)
    header = _read_header(chain, h, commit)
    validators = chain.genesis.validators
    if header.validators_hash != validators.hash():
        raise ValidationError(
            f"block {h} names a validator set other than the genesis set; this bundle format cannot prove it",
            code="bundle.validator_change_unsupported", field="height", height=h,
        )
    precommits = Precommits.of(quorum_of(commit, validators), validators)
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


def quorum_of(commit: Commit, validators: ValidatorSet) -> Commit:
    """`commit` with only the fewest signatures, highest voting power first, that still make a
    quorum of `validators` (§5: a bundle needs no more), kept in key-id order. Returned unchanged
    when it names a signer outside the set or holds no quorum (verification then says why)."""
    members = [(validators.get(s.validator), s) for s in commit.signatures]
    if any(v is None for v, _ in members):
        return commit
    kept, power = set(), 0
    for validator, sig in sorted(members, key=lambda m: -m[0].power):  # type: ignore[union-attr]
        if validators.is_quorum(power):
            break
        kept.add(sig.validator)
        power += validator.power  # type: ignore[union-attr]
    if not validators.is_quorum(power):
        return commit
    return dataclasses.replace(commit, signatures=tuple(s for s in commit.signatures if s.validator in kept))


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


def _read_header(chain: Chain | ChainView, height: int, commit: Commit) -> Header:
    """The stored header of block `height`, checked against the stored commit.

    Raises StoreError "store.missing_block" or "store.corrupt_block"."""
    try:
        header = chain.header(height)
    except LedgerError as exc:
        raise StoreError(f"stored header {height} is unreadable: {exc}", code="store.corrupt_block", height=height) from exc
    if header is None:
        raise StoreError(f"the store lacks block {height}", code="store.missing_block", height=height)
    if header.hash() != commit.block_hash or header.height != height:
        raise StoreError(f"stored block {height} does not match its stored commit", code="store.corrupt_block", height=height)
    return header


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
    if header.chain_id != genesis.chain_id:
        raise ValidationError(f"header is of chain {header.chain_id!r}, the trusted genesis is of {genesis.chain_id!r}", code="bundle.wrong_chain", field="bundle.header.chain_id")
    if header.time <= genesis.genesis_time:
        raise ValidationError("header time is not after the genesis time", code="bundle.time_before_genesis", field="bundle.header.time")
    if header.height == 1 and header.previous_hash != genesis.hash:
        raise ValidationError("block 1 does not link to the trusted genesis", code="bundle.genesis_link", field="bundle.header.previous_hash")
    validators = genesis.validators
    if header.validators_hash != validators.hash():
        raise ValidationError(
            "header names a validator set other than the trusted genesis set: the bundle is of another chain, "
            "or of a later validator set (this format carries no change proofs)",
            code="bundle.untrusted_validators", field="bundle.header.validators_hash",
            expected=validators.hash().hex(), got=header.validators_hash.hex(),
        )
    commit = parsed.commit.to_commit(header, validators)
    commit.verify(genesis.chain_id, validators, header.height, commit.block_hash)
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
