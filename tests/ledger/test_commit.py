import os

import pytest

from ledger.commit import Commit, CommitSig, make_commit, sign_precommit
from ledger.crypto import PrivateKey
from ledger.encoding import decode
from ledger.errors import ValidationError
from ledger.validators import Validator, ValidatorSet

CHAIN = "test-chain"
BLOCK = os.urandom(32)


def vset(powers):
    keys = [PrivateKey.generate() for _ in powers]
    vs = ValidatorSet.of(Validator(f"v{i}", "beijing", k.public_key, p) for i, (k, p) in enumerate(zip(keys, powers)))
    return keys, vs


@pytest.fixture(scope="module")
def four():
    return vset((1, 1, 1, 1))


def commit_by(keys, height=5, round_=0, block=BLOCK):
    return make_commit(height, round_, block, [sign_precommit(k, CHAIN, height, round_, block) for k in keys])


def test_quorum_uses_integer_two_thirds():
    _, vs = vset((1, 1, 1, 1))
    assert not vs.is_quorum(2) and vs.is_quorum(3)
    _, vs3 = vset((1, 1, 1))
    assert not vs3.is_quorum(2) and vs3.is_quorum(3)  # 2/3 exactly is not more than two thirds


def test_commit_with_three_of_four_verifies(four):
    keys, vs = four
    commit_by(keys[:3]).verify(CHAIN, vs, 5, BLOCK)


def test_commit_with_two_of_four_is_insufficient(four):
    keys, vs = four
    with pytest.raises(ValidationError) as err:
        commit_by(keys[:2]).verify(CHAIN, vs, 5, BLOCK)
    assert err.value.code == "commit.insufficient_power"


def test_weighted_power_decides_not_the_count():
    keys, vs = vset((10, 1, 1, 1))
    commit_by(keys[:1]).verify(CHAIN, vs, 5, BLOCK)  # 10 of 13 > 2/3
    with pytest.raises(ValidationError):
        commit_by(keys[1:]).verify(CHAIN, vs, 5, BLOCK)


def test_commit_round_trips_and_hash_is_stable(four):
    keys, _ = four
    c = commit_by(keys)
    again = Commit.from_json(decode(c.to_bytes()))
    assert again == c and again.hash() == c.hash()


@pytest.mark.parametrize("height, block, code", [(6, BLOCK, "commit.wrong_height"), (5, bytes(32), "commit.wrong_block")])
def test_commit_for_other_height_or_block_is_rejected(four, height, block, code):
    keys, vs = four
    with pytest.raises(ValidationError) as err:
        commit_by(keys).verify(CHAIN, vs, height, block)
    assert err.value.code == code


def test_duplicate_or_unsorted_signers_are_rejected(four):
    keys, vs = four
    c = commit_by(keys)
    dup = Commit(c.height, c.round, c.block_hash, (c.signatures[0],) + c.signatures)
    with pytest.raises(ValidationError) as err:
        dup.verify(CHAIN, vs, 5, BLOCK)
    assert err.value.code == "commit.unsorted"
    rev = Commit(c.height, c.round, c.block_hash, tuple(reversed(c.signatures)))
    with pytest.raises(ValidationError):
        rev.verify(CHAIN, vs, 5, BLOCK)


def test_signature_by_non_validator_is_rejected(four):
    keys, vs = four
    with pytest.raises(ValidationError) as err:
        commit_by(keys[:2] + [PrivateKey.generate(), PrivateKey.generate()]).verify(CHAIN, vs, 5, BLOCK)
    assert err.value.code == "commit.unknown_validator"


def test_signature_for_another_round_or_chain_is_rejected(four):
    keys, vs = four
    good = commit_by(keys)
    other_round = commit_by(keys, round_=1)
    mixed = Commit(5, 0, BLOCK, (other_round.signatures[0],) + good.signatures[1:])
    with pytest.raises(ValidationError) as err:
        mixed.verify(CHAIN, vs, 5, BLOCK)
    assert err.value.code == "commit.bad_signature"
    foreign = make_commit(5, 0, BLOCK, [sign_precommit(k, "other-chain", 5, 0, BLOCK) for k in keys])
    with pytest.raises(ValidationError):
        foreign.verify(CHAIN, vs, 5, BLOCK)


def test_commit_from_json_names_bad_fields(four):
    keys, _ = four
    obj = decode(commit_by(keys).to_bytes())
    obj["signatures"][1]["validator"] = "AA"
    with pytest.raises(ValidationError) as err:
        Commit.from_json(obj)
    assert err.value.field == "commit.signatures[1].validator"
    assert isinstance(commit_by(keys).signatures[0], CommitSig)
