"""Messages of consensus.md §2: round trips through the one canonical encoding, signatures and
authors, and precise rejections."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.commit import VoteType, make_commit, sign_precommit, vote_sign_bytes
from ledger.crypto import Signature
from ledger.encoding import encode
from ledger.errors import ValidationError
from node.consensus.messages import (
    MAX_FRAME, BlockResponse, GetBlock, Proposal, Status, TxMessage, Vote, decode_message, encode_message,
)

from .harness import NET, T0, proposer_index
from .support import build_block, fixed_key, sign_proposal, sign_vote

CHAIN = NET.chain()
TXS = [NET.anchor(bytes([i]) * 32, bytes([i]) * 16) for i in range(3)]
P0 = proposer_index(1, 0)
BLOCK = build_block(CHAIN, NET.keys[P0], T0, TXS)
PROPOSAL = sign_proposal(NET.keys[P0], 1, 0, BLOCK)
VOTE = sign_vote(NET.keys[1], VoteType.PRECOMMIT, 1, 0, BLOCK.hash)
NIL_VOTE = sign_vote(NET.keys[2], VoteType.PREVOTE, 1, 3, None)
COMMIT = make_commit(1, 0, BLOCK.hash, [sign_precommit(k, NET.chain_id, 1, 0, BLOCK.hash) for k in NET.keys])
MESSAGES = [PROPOSAL, VOTE, NIL_VOTE, Status(0, 0), Status(7, 2), TxMessage(TXS[0]), GetBlock(1), BlockResponse(1, BLOCK, COMMIT)]


def rejected(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        decode_message(data)
    return err.value


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_encode_then_decode_gives_the_message_back(msg):
    data = encode_message(msg)
    assert data == encode(msg.to_json())  # the fast path is the canonical encoding
    back = decode_message(data)
    assert back == msg and encode_message(back) == data


def test_decoded_proposal_keeps_block_bytes_and_hash():
    back = decode_message(encode_message(PROPOSAL))
    assert back.block.hash == BLOCK.hash and back.block.to_bytes() == BLOCK.to_bytes()
    assert [t.id for t in back.block.txs] == [t.id for t in TXS]
    back.verify(NET.chain_id, NET.validators)


def test_proposal_signs_the_bytes_of_section_2():
    expected = encode({"block": BLOCK.hash, "height": 1, "pol_round": -1, "round": 0, "type": "proposal"})
    assert PROPOSAL.sign_bytes() == expected
    assert PROPOSAL.proposer == NET.keys[P0].public_key.key_id


def test_vote_signs_exactly_the_commit_vote():
    assert VOTE.sign_bytes() == vote_sign_bytes(VoteType.PRECOMMIT, 1, 0, BLOCK.hash)
    VOTE.verify(NET.chain_id, NET.validators)
    NIL_VOTE.verify(NET.chain_id, NET.validators)


def test_re_proposal_is_signed_by_the_round_proposer_and_keeps_the_builder():
    p1 = proposer_index(1, 1)
    proposal = sign_proposal(NET.keys[p1], 1, 1, BLOCK, pol_round=0)
    proposal.verify(NET.chain_id, NET.validators)
    assert proposal.proposer == NET.keys[P0].public_key.key_id
    with pytest.raises(ValidationError) as err:
        sign_proposal(NET.keys[P0], 1, 1, BLOCK, pol_round=0).verify(NET.chain_id, NET.validators)
    assert err.value.code == "message.bad_signature"


def test_re_proposal_of_a_block_built_by_a_stranger_is_refused():
    stranger = fixed_key("stranger").public_key.key_id
    block = CHAIN.build_block([], T0, stranger, None).block
    proposal = sign_proposal(NET.keys[proposer_index(1, 1)], 1, 1, block, pol_round=0)
    with pytest.raises(ValidationError) as err:
        proposal.verify(NET.chain_id, NET.validators)
    assert (err.value.code, err.value.field) == ("message.unknown_proposer", "proposal.block.header.proposer")


def test_verify_rejects_wrong_proposer_bad_signature_and_other_chain():
    wrong = next(i for i in range(4) if i != P0)
    cases = [
        (sign_proposal(NET.keys[wrong], 1, 0, build_block(CHAIN, NET.keys[wrong], T0)), "message.wrong_proposer"),
        (dataclasses.replace(PROPOSAL, signature=VOTE.signature), "message.bad_signature"),
        (sign_proposal(NET.keys[P0], 1, 0, BLOCK, chain_id="other-chain"), "message.bad_signature"),
    ]
    for proposal, code in cases:
        with pytest.raises(ValidationError) as err:
            proposal.verify(NET.chain_id, NET.validators)
        assert err.value.code == code
    with pytest.raises(ValidationError) as err:
        PROPOSAL.verify("other-chain", NET.validators)
    assert err.value.code == "message.wrong_chain"


def test_vote_verify_rejects_strangers_and_forgeries():
    with pytest.raises(ValidationError) as err:
        sign_vote(fixed_key("stranger"), VoteType.PREVOTE, 1, 0, None).verify(NET.chain_id, NET.validators)
    assert err.value.code == "message.unknown_validator"
    with pytest.raises(ValidationError) as err:
        dataclasses.replace(VOTE, block_hash=None).verify(NET.chain_id, NET.validators)
    assert (err.value.code, err.value.field) == ("message.bad_signature", "vote.signature")


def test_oversize_frame_is_rejected_before_parsing():
    err = rejected(b" " * (MAX_FRAME + 1))
    assert err.code == "message.too_large"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        (b'{"height":1, "type":"get_block"}', "message.not_canonical", "message"),
        (b'{"type":"get_block","height":1}', "message.not_canonical", "message"),
        (b'{"height":1.5,"type":"get_block"}', "message.bad_encoding", "message"),
        (b'{"height":1', "message.bad_encoding", "message"),
        (b"[1,2]", "message.not_object", "message"),
        (b'{"height":1}', "message.missing_type", "message.type"),
        (b'{"height":1,"type":"hello"}', "message.unknown_type", "message.type"),
        (b'{"height":"1","type":"get_block"}', "message.invalid_field", "message.height"),
        (b'{"height":0,"type":"get_block"}', "message.invalid_field", "message.height"),
        (b'{"height":1,"round":0,"type":"status","x":1}', "message.invalid_field", "message.x"),
    ],
)
def test_decode_rejects_precisely(data, code, field):
    err = rejected(data)
    assert (err.code, err.field) == (code, field)


def _proposal_json(**changes):
    obj = PROPOSAL.to_json()
    obj.update(changes)
    return encode(obj)


def test_decode_rejects_bad_proposals_naming_the_field():
    assert rejected(_proposal_json(pol_round=0)).code == "message.bad_pol_round"
    assert rejected(_proposal_json(height=2)).code == "message.height_mismatch"
    err = rejected(_proposal_json(signature={"suite": "ecdsa-p256-sha256", "value": "AAAA"}))
    assert (err.code, err.field) == ("message.bad_signature_form", "message.signature")
    block = PROPOSAL.to_json()["block"]
    block["header"]["time"] = "noon"
    err = rejected(_proposal_json(block=block))
    assert (err.code, err.field) == ("message.invalid_field", "message.block.header.time")


def test_decode_rejects_bad_votes():
    obj = VOTE.to_json()
    assert rejected(encode({**obj, "block": b"short"})).field == "message.block"
    assert rejected(encode({**obj, "round": -1})).code == "message.invalid_field"
    assert rejected(encode({**obj, "signature": {"suite": "rsa", "value": "AA"}})).code == "message.bad_signature_form"


def test_block_response_must_agree_on_its_height():
    obj = BlockResponse(1, BLOCK, COMMIT).to_json()
    assert rejected(encode({**obj, "height": 2})).code == "message.height_mismatch"


def test_form_is_checked_at_construction():
    with pytest.raises(ValidationError) as err:
        Proposal(1, 0, 0, BLOCK, PROPOSAL.signature)
    assert err.value.code == "message.bad_pol_round"
    with pytest.raises(ValidationError) as err:
        Vote(VoteType.PREVOTE, 0, 0, None, VOTE.validator, VOTE.signature)
    assert err.value.code == "message.bad_height"
    with pytest.raises(ValidationError) as err:
        Vote(VoteType.PREVOTE, 1, 0, b"x", VOTE.validator, VOTE.signature)
    assert err.value.code == "message.bad_hash"
    with pytest.raises(ValidationError) as err:
        GetBlock(0)
    assert err.value.code == "message.bad_height"


def test_from_json_of_a_built_object_reencodes_it():
    assert Proposal.from_json(PROPOSAL.to_json()) == PROPOSAL
    assert isinstance(VOTE.signature, Signature) and Vote.from_json(VOTE.to_json()) == VOTE
    with pytest.raises(TypeError):
        encode_message(object())  # type: ignore[arg-type]
