"""The six consensus-network messages and their one canonical encoding (consensus.md §2).

Proposal and Vote are signed by a validator key (purposes "proposal" and "vote", bound to the
chain id); Status, TxMessage, GetBlock and BlockResponse are unsigned (a response's block is
proven by its commit, §8). Every message is an immutable value checked for form when built;
`verify` checks the signature and the author against a validator set and raises, never returns
False. `decode_message` accepts exactly the bytes `encode_message` produces and rejects anything
else with a ValidationError whose code starts with "message." and names the field. This module
must never read the clock or hold state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Union

from ledger.block import MAX_BLOCK_BYTES, MAX_BLOCK_TXS, Block, Header
from ledger.commit import HASH_SIZE, MAX_ROUND, VOTE_PURPOSE, Commit, VoteType, vote_sign_bytes
from ledger.crypto import Signature
from ledger.encoding import MAX_DEPTH, decode, encode, encode_decoded
from ledger.errors import CryptoError, EncodingError, LedgerError, ValidationError
from ledger.fields import expect_keys, expect_object, get_bytes, get_int, get_list
from ledger.tx import Tx
from ledger.validators import ValidatorSet
from node.consensus.proposer import proposer_at

PROPOSAL_PURPOSE = "proposal"
MAX_FRAME = 8 * 1024 * 1024
MAX_HEIGHT = (1 << 53) - 1
# A message nests a block (or a tx) one level deeper than the block (tx) alone.
MESSAGE_MAX_DEPTH = MAX_DEPTH + 2

__all__ = [
    "MAX_FRAME", "PROPOSAL_PURPOSE", "VOTE_PURPOSE", "BlockResponse", "GetBlock", "Message", "Proposal",
    "Status", "Step", "TxMessage", "Vote", "decode_message", "encode_message", "proposal_sign_bytes",
]


class Step(IntEnum):
    """The steps of a round, in the order the signer guard compares them (§1, §5)."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


def _invalid(message: str, code: str, field: str, **fields: object) -> ValidationError:
    return ValidationError(message, code=code, field=field, **fields)


def _check_position(where: str, height: int, round_: int) -> None:
    if not 1 <= height <= MAX_HEIGHT:
        raise _invalid(f"{where}.height must be in 1..{MAX_HEIGHT}, got {height}", "message.bad_height", f"{where}.height")
    if not 0 <= round_ < MAX_ROUND:
        raise _invalid(f"{where}.round must be in 0..{MAX_ROUND - 1}, got {round_}", "message.bad_round", f"{where}.round")


def _signature_from_json(obj: dict[str, object], where: str) -> Signature:
    try:
        return Signature.from_json(obj.get("signature"))
    except (CryptoError, EncodingError) as exc:
        raise _invalid(f"{where}.signature: {exc}", "message.bad_signature_form", f"{where}.signature", cause=exc.code) from exc


def proposal_sign_bytes(height: int, round_: int, pol_round: int, block_hash: bytes) -> bytes:
    """The `m` a proposer signs with purpose "proposal" (§2)."""
    return encode({"type": "proposal", "height": height, "round": round_, "pol_round": pol_round, "block": block_hash})


def block_from_json(obj: object, where: str) -> Block:
    """A block from its decoded canonical JSON (precondition: `obj` came out of `decode`
    unmodified), checked as Block.from_bytes checks; raises ValidationError naming the field."""
    obj = expect_object(obj, where)
    expect_keys(obj, where, ("header", "txs", "last_commit"))
    header = Header.from_json(obj["header"], f"{where}.header")
    items = get_list(obj, "txs", where, max_items=MAX_BLOCK_TXS)
    txs = tuple(Tx.from_json(item, f"{where}.txs[{i}]", decoded=True) for i, item in enumerate(items))
    last_commit = None if obj["last_commit"] is None else Commit.from_json(obj["last_commit"], f"{where}.last_commit")
    raw = encode_decoded(obj)
    if len(raw) > MAX_BLOCK_BYTES:
        raise _invalid(f"{where} is {len(raw)} bytes; at most {MAX_BLOCK_BYTES}", "message.block_too_large", where)
    return Block(header, txs, last_commit, raw)


@dataclass(frozen=True)
class Proposal:
    """A proposal of `block` for (`height`, `round`), signed by the proposer of that round (§2, §4).

    `pol_round` is -1 for a block built in this round, else the round `< round` whose quorum of
    prevotes for the block is its proof of lock. A fresh block (pol_round -1) names its author
    in `header.proposer`; a re-proposed valid block keeps the header it was built with.
    Construction raises ValidationError "message.bad_height" / "message.bad_round" /
    "message.bad_pol_round" / "message.height_mismatch".
    """

    height: int
    round: int
    pol_round: int
    block: Block
    signature: Signature

    def __post_init__(self) -> None:
        _check_position("proposal", self.height, self.round)
        if not -1 <= self.pol_round < self.round:
            raise _invalid(f"proposal.pol_round must be -1 or in 0..{self.round - 1}, got {self.pol_round}", "message.bad_pol_round", "proposal.pol_round")
        if self.block.header.height != self.height:
            raise _invalid(
                f"proposal is for height {self.height} but its block for {self.block.header.height}",
                "message.height_mismatch", "proposal.block.header.height",
            )

    @property
    def proposer(self) -> bytes:
        """The key id in the block's header: the validator that built the block."""
        return self.block.header.proposer

    def sign_bytes(self) -> bytes:
        return proposal_sign_bytes(self.height, self.round, self.pol_round, self.block.hash)

    def verify(self, chain_id: str, validators: ValidatorSet) -> None:
        """Raise unless this proposal is for `chain_id` and signed by the proposer of its
        (height, round) under `validators` (§2, §4). Codes: "message.wrong_chain",
        "message.wrong_proposer" (a fresh block naming another validator than the round's
        proposer), "message.unknown_proposer" (a re-proposed block whose builder is not in
        the set), "message.bad_signature". Says nothing about the block's validity (§3.2)."""
        header = self.block.header
        if header.chain_id != chain_id:
            raise _invalid(f"proposal is for chain {header.chain_id!r}, not {chain_id!r}", "message.wrong_chain", "proposal.block.header.chain_id")
        author = proposer_at(validators, self.height, self.round)
        if self.pol_round == -1 and header.proposer != author.key_id:
            raise _invalid(
                f"the proposer of height {self.height} round {self.round} is {author.name}, not the block's proposer",
                "message.wrong_proposer", "proposal.block.header.proposer", expected=author.key_id, got=header.proposer,
            )
        if self.pol_round >= 0 and validators.get(header.proposer) is None:
            raise _invalid("the re-proposed block's proposer is not a validator", "message.unknown_proposer", "proposal.block.header.proposer")
        try:
            author.public_key.verify(PROPOSAL_PURPOSE, chain_id, self.sign_bytes(), self.signature)
        except CryptoError as exc:
            raise _invalid(f"proposal signature of {author.name} does not verify", "message.bad_signature", "proposal.signature", cause=exc.code) from exc

    def to_json(self) -> dict[str, object]:
        return {
            "type": "proposal", "height": self.height, "round": self.round, "pol_round": self.pol_round,
            "block": self.block.to_json(), "signature": self.signature.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "proposal", *, decoded: bool = False) -> Proposal:
        """Parse; `decoded=True` promises `obj` came out of `decode` unmodified."""
        obj = _canonical_object(obj, where, decoded)
        expect_keys(obj, where, ("type", "height", "round", "pol_round", "block", "signature"))
        height = get_int(obj, "height", where, minimum=1, maximum=MAX_HEIGHT)
        round_ = get_int(obj, "round", where, maximum=MAX_ROUND - 1)
        pol_round = get_int(obj, "pol_round", where, minimum=-1, maximum=MAX_ROUND - 1)
        block = block_from_json(obj["block"], f"{where}.block")
        return cls(height, round_, pol_round, block, _signature_from_json(obj, where))


@dataclass(frozen=True)
class Vote:
    """A prevote or precommit of `validator` for `block_hash` (None: nil) at (height, round);
    its signed bytes are exactly ledger.commit.vote_sign_bytes (§2). Construction raises
    ValidationError "message.bad_height" / "message.bad_round" / "message.bad_hash"."""

    type: VoteType
    height: int
    round: int
    block_hash: bytes | None
    validator: bytes
    signature: Signature

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", VoteType(self.type))
        _check_position("vote", self.height, self.round)
        if self.block_hash is not None and len(self.block_hash) != HASH_SIZE:
            raise _invalid(f"vote.block must be null or {HASH_SIZE} bytes", "message.bad_hash", "vote.block")
        if len(self.validator) != HASH_SIZE:
            raise _invalid(f"vote.validator must be {HASH_SIZE} bytes", "message.bad_hash", "vote.validator")

    @property
    def step(self) -> Step:
        return Step.PREVOTE if self.type is VoteType.PREVOTE else Step.PRECOMMIT

    def sign_bytes(self) -> bytes:
        return vote_sign_bytes(self.type, self.height, self.round, self.block_hash)

    def verify(self, chain_id: str, validators: ValidatorSet) -> None:
        """Raise unless `validator` is in `validators` ("message.unknown_validator") and signed
        this vote for `chain_id` ("message.bad_signature")."""
        validator = validators.get(self.validator)
        if validator is None:
            raise _invalid(f"{self.validator.hex()[:16]} is not a validator", "message.unknown_validator", "vote.validator")
        try:
            validator.public_key.verify(VOTE_PURPOSE, chain_id, self.sign_bytes(), self.signature)
        except CryptoError as exc:
            raise _invalid(f"{self.type.value} signature of {validator.name} does not verify", "message.bad_signature", "vote.signature", cause=exc.code) from exc

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.type.value, "height": self.height, "round": self.round, "block": self.block_hash,
            "validator": self.validator, "signature": self.signature.to_json(),
        }

    @classmethod
    def from_json(cls, obj: object, where: str = "vote", *, decoded: bool = False) -> Vote:
        obj = _canonical_object(obj, where, decoded)
        expect_keys(obj, where, ("type", "height", "round", "block", "validator", "signature"))
        try:
            vote_type = VoteType(obj["type"])
        except ValueError as exc:
            raise _invalid(f"{where}.type must be prevote or precommit", "message.unknown_type", f"{where}.type") from exc
        height = get_int(obj, "height", where, minimum=1, maximum=MAX_HEIGHT)
        round_ = get_int(obj, "round", where, maximum=MAX_ROUND - 1)
        block_hash = None if obj["block"] is None else get_bytes(obj, "block", where, size=HASH_SIZE)
        validator = get_bytes(obj, "validator", where, size=HASH_SIZE)
        return cls(vote_type, height, round_, block_hash, validator, _signature_from_json(obj, where))


@dataclass(frozen=True)
class Status:
    """A node's last committed height and current round (§2, §8); unsigned."""

    height: int
    round: int

    def to_json(self) -> dict[str, object]:
        return {"type": "status", "height": self.height, "round": self.round}

    @classmethod
    def from_json(cls, obj: object, where: str = "status", *, decoded: bool = False) -> Status:
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("type", "height", "round"))
        return cls(get_int(obj, "height", where, maximum=MAX_HEIGHT), get_int(obj, "round", where, maximum=MAX_ROUND - 1))


@dataclass(frozen=True)
class TxMessage:
    """A transaction gossiped between mempools (§7)."""

    tx: Tx

    def to_json(self) -> dict[str, object]:
        return {"type": "tx", "tx": self.tx.to_json()}

    @classmethod
    def from_json(cls, obj: object, where: str = "tx_message", *, decoded: bool = False) -> TxMessage:
        obj = _canonical_object(obj, where, decoded)
        expect_keys(obj, where, ("type", "tx"))
        return cls(Tx.from_json(obj["tx"], f"{where}.tx", decoded=True))


@dataclass(frozen=True)
class GetBlock:
    """A request for the committed block and commit at `height` (§8)."""

    height: int

    def __post_init__(self) -> None:
        if not 1 <= self.height <= MAX_HEIGHT:
            raise _invalid(f"get_block.height must be in 1..{MAX_HEIGHT}", "message.bad_height", "get_block.height")

    def to_json(self) -> dict[str, object]:
        return {"type": "get_block", "height": self.height}

    @classmethod
    def from_json(cls, obj: object, where: str = "get_block", *, decoded: bool = False) -> GetBlock:
        obj = expect_object(obj, where)
        expect_keys(obj, where, ("type", "height"))
        return cls(get_int(obj, "height", where, minimum=1, maximum=MAX_HEIGHT))


@dataclass(frozen=True)
class BlockResponse:
    """A committed block with its commit certificate (§8). Construction raises
    ValidationError "message.height_mismatch" unless block and commit are for `height`."""

    height: int
    block: Block
    commit: Commit

    def __post_init__(self) -> None:
        if self.block.header.height != self.height or self.commit.height != self.height:
            raise _invalid(f"block response for height {self.height} carries another height", "message.height_mismatch", "block.height")

    def to_json(self) -> dict[str, object]:
        return {"type": "block", "height": self.height, "block": self.block.to_json(), "commit": self.commit.to_json()}

    @classmethod
    def from_json(cls, obj: object, where: str = "block_response", *, decoded: bool = False) -> BlockResponse:
        obj = _canonical_object(obj, where, decoded)
        expect_keys(obj, where, ("type", "height", "block", "commit"))
        height = get_int(obj, "height", where, minimum=1, maximum=MAX_HEIGHT)
        block = block_from_json(obj["block"], f"{where}.block")
        return cls(height, block, Commit.from_json(obj["commit"], f"{where}.commit"))


Message = Union[Proposal, Vote, Status, TxMessage, GetBlock, BlockResponse]

_TYPES: dict[str, type] = {
    "proposal": Proposal, "prevote": Vote, "precommit": Vote, "status": Status,
    "tx": TxMessage, "get_block": GetBlock, "block": BlockResponse,
}


def _canonical_object(obj: object, where: str, decoded: bool) -> dict[str, object]:
    """`obj` as a dict in the exact form `decode` returns (re-encoded and decoded unless the
    caller promises it already is): blocks and txs take their bytes from it."""
    if not decoded:
        try:
            obj = decode(encode(obj), max_bytes=MAX_FRAME, max_depth=MESSAGE_MAX_DEPTH)
        except EncodingError as exc:
            raise _invalid(f"{where}: {exc}", "message.bad_encoding", where, cause=exc.code) from exc
    return expect_object(obj, where)


def encode_message(msg: Message) -> bytes:
    """The canonical bytes of `msg` (§2): encode(msg.to_json()), with a block's or a tx's
    bytes reused rather than encoded again."""
    if isinstance(msg, Proposal):
        return b"".join((
            b'{"block":', msg.block.to_bytes(), b',"height":%d,"pol_round":%d,"round":%d,"signature":' % (msg.height, msg.pol_round, msg.round),
            encode(msg.signature.to_json()), b',"type":"proposal"}',
        ))
    if isinstance(msg, BlockResponse):
        return b"".join((b'{"block":', msg.block.to_bytes(), b',"commit":', msg.commit.to_bytes(), b',"height":%d,"type":"block"}' % msg.height))
    if isinstance(msg, TxMessage):
        return b'{"tx":' + msg.tx.raw + b',"type":"tx"}'
    if isinstance(msg, (Vote, Status, GetBlock)):
        return encode(msg.to_json())
    raise TypeError(f"not a consensus message: {type(msg).__name__}")


def decode_message(data: bytes) -> Message:
    """The message whose canonical bytes are exactly `data` (§2).

    Raises ValidationError: "message.too_large" (above MAX_FRAME), "message.not_canonical" /
    "message.bad_encoding" (not canonical JSON; `cause` holds the encoding code),
    "message.not_object", "message.missing_type", "message.unknown_type", the form errors of
    the message classes, and "message.invalid_field" for a bad member (`field` names it,
    `cause` the underlying code).
    """
    if len(data) > MAX_FRAME:
        raise _invalid(f"message is {len(data)} bytes; at most {MAX_FRAME}", "message.too_large", "message", size=len(data))
    try:
        obj = decode(data, max_bytes=MAX_FRAME, max_depth=MESSAGE_MAX_DEPTH)
    except EncodingError as exc:
        code = "message.not_canonical" if exc.code == "encoding.not_canonical" else "message.bad_encoding"
        raise _invalid(f"message: {exc}", code, "message", cause=exc.code) from exc
    if not isinstance(obj, dict):
        raise _invalid("a message must be a JSON object", "message.not_object", "message")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise _invalid("message.type is missing or not a string", "message.missing_type", "message.type")
    cls = _TYPES.get(kind)
    if cls is None:
        raise _invalid(f"unknown message type {kind[:32]!r}", "message.unknown_type", "message.type")
    try:
        return cls.from_json(obj, "message", decoded=True)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        if exc.code.startswith("message."):
            raise
        field = exc.fields.get("field", "message")
        raise _invalid(str(exc), "message.invalid_field", str(field), cause=exc.code) from exc
    except LedgerError as exc:
        raise _invalid(f"message: {exc}", "message.invalid_field", "message", cause=exc.code) from exc
