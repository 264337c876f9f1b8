"""Duplicate-vote evidence: proof on the ledger that a validator signed two conflicting votes.

Kind "evidence.duplicate_vote" (docs/spec/consensus.md §6, transactions.md §4), signed by a
validator key: body `{"vote_a": vote, "vote_b": vote}` where a vote is the consensus vote's JSON
`{"type", "height", "round", "block": hash | null, "validator": key id, "signature"}`. Both votes
must come from one validator of the current set, for one height, round and type, name different
blocks, and carry signatures that verify over `ledger.commit.vote_sign_bytes` (purpose "vote").
The first such evidence is stored under `evidence/<validator key id hex>/<height>/<round>/<type>`;
another for the same slot is rejected (`evidence.exists`).

This module records misbehaviour; it never changes voting power or the validator set.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.chain import VALIDATORS_KEY
from ledger.commit import HASH_SIZE, MAX_ROUND, VOTE_PURPOSE, VoteType, vote_sign_bytes
from ledger.crypto import KEY_ID_SIZE, Signature
from ledger.encoding import decode
from ledger.errors import LedgerError, StoreError, ValidationError
from ledger.execute import Context, TxKind, TxView, register
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_str
from ledger.identity import Identity, Role
from ledger.tx import Tx
from ledger.validators import ValidatorSet

KIND = "evidence.duplicate_vote"
PREFIX = b"evidence/"
_VOTE_FIELDS = ("type", "height", "round", "block", "validator", "signature")
_VOTE_TYPES = {t.value: t for t in VoteType}


def evidence_key(validator: bytes, height: int, round_: int, vote_type: VoteType) -> bytes:
    """The state key of the evidence against `validator` for one vote slot (consensus.md §6)."""
    return PREFIX + f"{validator.hex()}/{height}/{round_}/{vote_type.value}".encode()


@dataclass(frozen=True)
class SignedVote:
    """One consensus vote as evidence carries it (consensus.md §2, Vote)."""

    type: VoteType
    height: int
    round: int
    block: bytes | None
    validator: bytes
    signature: Signature

    def sign_bytes(self) -> bytes:
        return vote_sign_bytes(self.type, self.height, self.round, self.block)

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.type.value, "height": self.height, "round": self.round, "block": self.block,
            "validator": self.validator, "signature": self.signature.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str) -> SignedVote:
        """Parse a decoded vote object; raises ValidationError naming the field: validation.*
        for form, "evidence.bad_vote_type" and "evidence.bad_signature_form"."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, _VOTE_FIELDS)
        vote_type = _VOTE_TYPES.get(get_str(obj, "type", where, max_len=16))
        if vote_type is None:
            raise ValidationError(f"{where}.type must be one of {', '.join(_VOTE_TYPES)}", code="evidence.bad_vote_type", field=f"{where}.type")
        height = get_int(obj, "height", where, minimum=1)
        round_ = get_int(obj, "round", where, maximum=MAX_ROUND)
        block = None if obj["block"] is None else get_bytes(obj, "block", where, size=HASH_SIZE)
        validator = get_bytes(obj, "validator", where, size=KEY_ID_SIZE)
        try:
            signature = Signature.from_json(obj["signature"])
        except LedgerError as exc:
            raise ValidationError(f"{where}.signature: {exc}", code="evidence.bad_signature_form", field=f"{where}.signature") from exc
        return cls(vote_type, height, round_, block, validator, signature)


@dataclass(frozen=True)
class DuplicateVote:
    """Two votes of one validator for one (height, round, type) naming different blocks."""

    vote_a: SignedVote
    vote_b: SignedVote

    def key(self) -> bytes:
        a = self.vote_a
        return evidence_key(a.validator, a.height, a.round, a.type)

    def to_json(self) -> dict[str, object]:
        """The transaction body."""
        return {"vote_a": self.vote_a.to_json(), "vote_b": self.vote_b.to_json()}

    @classmethod
    def from_json(cls, obj: object, where: str = "tx.body") -> DuplicateVote:
        """Parse a body and check that the votes conflict (everything but the signatures).

        Raises ValidationError naming the field of `vote_b` that differs or should: codes
        "evidence.validator_mismatch", "evidence.height_mismatch", "evidence.round_mismatch",
        "evidence.type_mismatch", "evidence.same_block"; form errors as `SignedVote.from_json`."""
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("vote_a", "vote_b"))
        a = SignedVote.from_json(obj["vote_a"], f"{where}.vote_a")
        b = SignedVote.from_json(obj["vote_b"], f"{where}.vote_b")
        for name, left, right in (
            ("validator", a.validator, b.validator), ("height", a.height, b.height), ("round", a.round, b.round), ("type", a.type, b.type),
        ):
            if left != right:
                raise ValidationError(
                    f"{where}: the votes differ in {name}; evidence needs two votes of one validator for one height, round and type",
                    code=f"evidence.{name}_mismatch", field=f"{where}.vote_b.{name}",
                )
        if a.block == b.block:
            raise ValidationError(f"{where}: both votes name the same block; that is no conflict", code="evidence.same_block", field=f"{where}.vote_b.block")
        return cls(a, b)


def _current_validators(view: TxView) -> ValidatorSet:
    raw = view.get(VALIDATORS_KEY)
    if raw is None:
        raise StoreError("state has no validator set", code="store.no_validators")
    return ValidatorSet.from_json(decode(raw))


def _record_evidence(view: TxView, tx: Tx, signer: Identity, ctx: Context) -> None:
    where = "tx.body"
    evidence = DuplicateVote.from_json(tx.body, where)
    validator = _current_validators(view).get(evidence.vote_a.validator)
    if validator is None:
        raise ValidationError(
            f"{where}.vote_a.validator {evidence.vote_a.validator.hex()[:16]} is not in the current validator set",
            code="evidence.unknown_validator", field=f"{where}.vote_a.validator",
        )
    key = evidence.key()
    if view.get(key) is not None:
        raise ValidationError("evidence for this validator, height, round and vote type is already recorded", code="evidence.exists", field=where)
    for name, vote in (("vote_a", evidence.vote_a), ("vote_b", evidence.vote_b)):
        view.verify_signature(
            validator.public_key, VOTE_PURPOSE, ctx.chain_id, vote.sign_bytes(), vote.signature,
            field=f"{where}.{name}.signature", code="evidence.bad_signature", validator=validator.name,
        )
    view.put(key, {**evidence.to_json(), "reporter": tx.signer, "recorded_height": ctx.height, "recorded_at": ctx.time, "tx": tx.id})


register(TxKind(KIND, frozenset({Role.VALIDATOR}), _record_evidence))
