"""A block header with a quorum of its precommits, checkable against the genesis alone
(docs/spec/proofs.md §2 `commit`, §3 steps 3–5, §5).

Every offline proof (a proof bundle, a committed receipt) rests on the same thing: a header
that validators of the trusted genesis holding more than two thirds of its voting power
precommitted. `Precommits` is that commit certificate in its compact form (named by genesis
validator, round once); `read_signed_header` reads a committed header and the fewest of its
stored precommits that make a quorum (`quorum_of`); `verify_signed_header` checks one against a
genesis. Never reads the clock, opens files or touches the network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.block import Header
from ledger.commit import MAX_ROUND, Commit, CommitSig
from ledger.crypto import SIGNATURE_SIZE, Signature
from ledger.errors import LedgerError, StoreError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int
from ledger.genesis import Genesis
from ledger.validators import MAX_VALIDATORS, NAME_RE, ValidatorSet

if TYPE_CHECKING:
    from ledger.chain import Chain
    from ledger.view import ChainView


@dataclass(frozen=True)
class Precommits:
    """The commit certificate of a header in the proofs' form (§2): the round and, by genesis
    validator name, each precommit's 64-byte signature value. The height and block hash are the
    header's and each signature's suite is its validator key's, so none is repeated.

    `signatures` are sorted by name, without repeats (canonical JSON objects are)."""

    round: int
    signatures: tuple[tuple[str, bytes], ...]

    def to_json(self) -> dict[str, object]:
        return {"round": self.round, "signatures": dict(self.signatures)}

    @classmethod
    def from_json(cls, obj: object, where: str) -> Precommits:
        """Parse a proof's `commit` (§2); raises ValidationError naming the field."""
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

    def to_commit(self, header: Header, validators: ValidatorSet, where: str = "bundle.commit") -> Commit:
        """The commit certificate these precommits make for `header` under `validators`.

        Raises ValidationError "commit.unknown_validator" (field `<where>.signatures.<name>`)
        for a name outside the set."""
        by_name = {v.name: v for v in validators}
        sigs = []
        for name, value in self.signatures:
            validator = by_name.get(name)
            if validator is None:
                raise ValidationError(
                    f"{where}.signatures: {name!r} is not a validator of the trusted genesis",
                    code="commit.unknown_validator", field=f"{where}.signatures.{name}",
                )
            sigs.append(CommitSig(validator.key_id, Signature(validator.public_key.suite, value)))
        return Commit(header.height, self.round, header.hash(), tuple(sorted(sigs, key=lambda s: s.validator)))


def quorum_of(commit: Commit, validators: ValidatorSet) -> Commit:
    """`commit` with only the fewest signatures, highest voting power first, that still make a
    quorum of `validators` (§5: a proof needs no more), kept in key-id order. Returned unchanged
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


def read_signed_header(chain: Chain | ChainView, height: int) -> tuple[Header, Precommits]:
    """The header of committed block `height` (1..tip, pruned or not: headers are kept) and a
    quorum of its stored precommits in the proofs' form (§5).

    Raises ValidationError "bundle.validator_change_unsupported" (the block names another
    validator set than the genesis one: no verifier of the genesis could check it); StoreError
    "store.missing_commit", "store.missing_block", "store.corrupt_block", "store.corrupt_commit"
    for a damaged store. Precondition: 1 <= height <= chain.height."""
    commit = chain.commit(height)
    if commit is None:
        raise StoreError(f"the store lacks the commit of block {height}", code="store.missing_commit", height=height)
    header = _read_header(chain, height, commit)
    validators = chain.genesis.validators
    if header.validators_hash != validators.hash():
        raise ValidationError(
            f"block {height} names a validator set other than the genesis set; this proof format cannot prove it",
            code="bundle.validator_change_unsupported", field="height", height=height,
        )
    return header, Precommits.of(quorum_of(commit, validators), validators)


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


def verify_signed_header(header: Header, precommits: Precommits, genesis: Genesis, where: str = "bundle") -> Commit:
    """Check that validators of `genesis` holding a quorum precommitted `header` (proofs.md §3
    steps 3–5); returns the commit certificate the precommits make.

    Raises ValidationError, fields under `<where>.header` / `<where>.commit`: "bundle.wrong_chain",
    "bundle.time_before_genesis", "bundle.genesis_link", "bundle.untrusted_validators" (with
    `expected`, `got`), and the `commit.*` codes (a name that is no genesis validator's, a bad
    signature, insufficient power with `power` and `total`)."""
    if header.chain_id != genesis.chain_id:
        raise ValidationError(f"header is of chain {header.chain_id!r}, the trusted genesis is of {genesis.chain_id!r}", code="bundle.wrong_chain", field=f"{where}.header.chain_id")
    if header.time <= genesis.genesis_time:
        raise ValidationError("header time is not after the genesis time", code="bundle.time_before_genesis", field=f"{where}.header.time")
    if header.height == 1 and header.previous_hash != genesis.hash:
        raise ValidationError("block 1 does not link to the trusted genesis", code="bundle.genesis_link", field=f"{where}.header.previous_hash")
    validators = genesis.validators
    if header.validators_hash != validators.hash():
        raise ValidationError(
            "header names a validator set other than the trusted genesis set: the proof is of another chain, "
            "or of a later validator set (this format carries no change proofs)",
            code="bundle.untrusted_validators", field=f"{where}.header.validators_hash",
            expected=validators.hash().hex(), got=header.validators_hash.hex(),
        )
    commit = precommits.to_commit(header, validators, f"{where}.commit")
    commit.verify(genesis.chain_id, validators, header.height, commit.block_hash)
    return commit
