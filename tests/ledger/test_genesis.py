import dataclasses

import pytest

from ledger.encoding import decode, encode
from ledger.errors import EncodingError, ValidationError
from ledger.genesis import MAX_GENESIS_BYTES, Genesis

from .conftest import make_net


def test_genesis_round_trips_and_hash_is_stable(net, tmp_path):
    path = tmp_path / "genesis.json"
    net.genesis.write(path)
    again = Genesis.read(path)
    assert again == net.genesis and again.hash == net.genesis.hash
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_genesis_is_never_overwritten(net, tmp_path):
    path = tmp_path / "genesis.json"
    net.genesis.write(path)
    with pytest.raises(ValidationError) as err:
        make_net().genesis.write(path)
    assert err.value.code == "genesis.exists"
    assert Genesis.read(path) == net.genesis


def test_genesis_hash_changes_with_any_field(net):
    assert dataclasses.replace(net.genesis, chain_id="other-chain").hash != net.genesis.hash
    assert dataclasses.replace(net.genesis, genesis_time=net.genesis.genesis_time + 1).hash != net.genesis.hash


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda g: g["regions"].append(g["regions"][0]), "genesis.duplicate_region"),
        (lambda g: g["validators"][0].update(region="shanghai"), "genesis.unknown_region"),
        (lambda g: g["regions"][1].update(admins=[]), "genesis.no_admin"),
        (lambda g: g.update(validators=[]), "validators.empty"),
        (lambda g: g["validators"].append(g["validators"][0]), "validators.duplicate_key"),
        (lambda g: g["params"].update(max_block_txs=0), "validation.range"),
        (lambda g: g.update(extra=True), "validation.unknown_field"),
    ],
)
def test_genesis_rejects_inconsistent_documents(net, mutate, code):
    obj = decode(net.genesis.to_bytes())
    mutate(obj)
    with pytest.raises(ValidationError) as err:
        Genesis.from_bytes(encode(obj))
    assert err.value.code == code


def test_genesis_read_refuses_oversized_and_non_canonical_files(net, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_GENESIS_BYTES + 1))
    with pytest.raises(ValidationError) as err:
        Genesis.read(big)
    assert err.value.code == "genesis.too_large"
    pretty = tmp_path / "pretty.json"
    pretty.write_bytes(net.genesis.to_bytes().replace(b",", b", ", 1))
    with pytest.raises(EncodingError) as err:
        Genesis.read(pretty)
    assert err.value.code == "encoding.not_canonical"
    with pytest.raises(ValidationError) as err:
        Genesis.read(tmp_path / "missing.json")
    assert err.value.code == "genesis.unreadable"
