"""Votes' signed bytes and commit certificates (docs/spec/blocks.md §4).

A commit certificate proves that validators holding more than two thirds of the voting power
precommitted a block: `{height, round, block_hash, signatures}` with one signature per validator,
sorted by key id. Each signature is over the canonical vote (purpose "vote", bound to the chain id).
The consensus engine (node/consensus) signs exactly these bytes; this module only checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ledger.crypto import PrivateKey, Signature
from ledger.encoding import encode
from ledger.errors import CryptoError, LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list
from ledger.hashing import hash_object
from ledger.validators import MAX_VALIDATORS, ValidatorSet

VOTE_PURPOSE = "vote"
HASH_SIZE = 32
MAX_ROUND = 1 << 31


class VoteType(str, Enum):
    PREVOTE = "prevote"
    PRECOMMIT = "precommit"


def vote_sign_bytes(vote_type: VoteType, height: int, round_: int, block_hash: bytes | None) -> bytes:
    """The canonical vote a validator signs (block_hash None is a vote for nil)."""
    return encode({"type": vote_type.value, "height": height, "round": round_, "block": block_hash})


@dataclass(frozen=True)
class CommitSig:
    validator: bytes
    signature: Signature

    def to_json(self) -> dict[str, object]:
        return {"validator": self.validator, "signature": self.signature.to_json()}


@dataclass(frozen=True)
class Commit:
    """Precommit signatures for `block_hash` at (`height`, `round`)."""

    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSig, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "height": self.height,
            "round": self.round,
            "block_hash": self.block_hash,
            "signatures": [s.to_json() for s in self.signatures],
        }

    def to_bytes(self) -> bytes:
        return encode(self.to_json())

    def hash(self) -> bytes:
        return hash_object("commit", self.to_json())

    @classmethod
    def from_json(cls, obj: object, where: str = "commit") -> Commit:
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("height", "round", "block_hash", "signatures"))
        height = get_int(obj, "height", where, minimum=1)
        round_ = get_int(obj, "round", where, maximum=MAX_ROUND)
        block_hash = get_bytes(obj, "block_hash", where, size=HASH_SIZE)
        sigs = []
        for i, item in enumerate(get_list(obj, "signatures", where, max_items=MAX_VALIDATORS)):
            at = f"{where}.signatures[{i}]"
            item = expect_object(item, at)
            expect_keys(item, at, ("validator", "signature"))
            validator = get_bytes(item, "validator", at, size=HASH_SIZE)
            try:
                signature = Signature.from_json(item["signature"])
            except LedgerError as exc:
                raise ValidationError(f"{at}.signature: {exc}", code="commit.bad_signature_form", field=f"{at}.signature") from exc
            sigs.append(CommitSig(validator, signature))
        return cls(height, round_, block_hash, tuple(sigs))

    def verify(self, chain_id: str, validators: ValidatorSet, height: int, block_hash: bytes) -> None:
        """Raise unless this commit is for (`height`, `block_hash`) and signed by a quorum of `validators`.

        Checks: height and block hash match; signers sorted by key id without repeats; every signer
        is in the set; every signature verifies; their power is a quorum (`3 * power > 2 * total`).
        """
        if self.height != height:
            raise ValidationError(f"commit is for height {self.height}, expected {height}", code="commit.wrong_height", field="commit.height")
        if self.block_hash != block_hash:
            raise ValidationError("commit is for another block", code="commit.wrong_block", field="commit.block_hash", expected=block_hash.hex(), got=self.block_hash.hex())
        message = vote_sign_bytes(VoteType.PRECOMMIT, self.height, self.round, self.block_hash)
        power = 0
        previous = b""
        for i, sig in enumerate(self.signatures):
            field = f"commit.signatures[{i}]"
            if sig.validator <= previous:
                raise ValidationError(f"{field}: signers must be sorted by key id without repeats", code="commit.unsorted", field=field)
            previous = sig.validator
            validator = validators.get(sig.validator)
            if validator is None:
                raise ValidationError(f"{field}: {sig.validator.hex()[:16]} is not a validator", code="commit.unknown_validator", field=field)
            try:
                validator.public_key.verify(VOTE_PURPOSE, chain_id, message, sig.signature)
            except CryptoError as exc:
                raise ValidationError(f"{field}: signature of validator {validator.name} does not verify", code="commit.bad_signature", field=field) from exc
            power += validator.power
        if not validators.is_quorum(power):
            raise ValidationError(
                f"commit carries {power} of {validators.total_power} voting power; more than two thirds needed",
                code="commit.insufficient_power", field="commit.signatures", power=power, total=validators.total_power,
            )


def sign_precommit(key: PrivateKey, chain_id: str, height: int, round_: int, block_hash: bytes) -> CommitSig:
    """One validator's precommit signature for a commit (the consensus signer guard wraps this)."""
    message = vote_sign_bytes(VoteType.PRECOMMIT, height, round_, block_hash)
    return CommitSig(key.public_key.key_id, key.sign(VOTE_PURPOSE, chain_id, message))


def make_commit(height: int, round_: int, block_hash: bytes, sigs: list[CommitSig]) -> Commit:
    """A commit from collected precommit signatures (sorted, one per validator)."""
    unique = {s.validator: s for s in sigs}
    return Commit(height, round_, block_hash, tuple(unique[k] for k in sorted(unique)))
