"""ledger.audit: an intact chain passes; damage to a block, commit, header or LevelDB file, a
forged transaction signature and a forged or tampered seal signature of a sealed licence.issue
(transactions.md §5: its only signature) are each reported at their own height."""

import os
from pathlib import Path

import pytest

from ledger.audit import audit_chain
from ledger.chain import BLOCK_PREFIX, COMMIT_PREFIX, HEADER_PREFIX, height_key
from ledger.crypto import Signature
from ledger.encoding import b64encode
from ledger.errors import AuditError
from ledger.kv import MemoryKV
from ledger.licence_bodies import issue_tx
from ledger.seals import SealSignature
from ledger.store import LevelKV
from ledger.tx import Tx

from .conftest import GENESIS_TIME, make_net
from .test_execute import commit_unchecked
from .test_verify import make_doc, world  # noqa: F401  (world is a fixture)

BLOCKS = 6


@pytest.fixture()
def store(tmp_path, net):
    kv = LevelKV(tmp_path / "ledger")
    local = net.local(kv)
    for h in range(1, BLOCKS + 1):
        local.produce([net.anchor(region=r) for r in ("beijing", "tianjin", "hebei")], GENESIS_TIME + 1000 * h)
    yield kv
    if not kv.closed:
        kv.close()


def test_audit_accepts_an_intact_chain_and_reports_progress(store, net):
    seen = []
    report = audit_chain(store, net.genesis, progress=lambda h, top, n: seen.append((h, top, n)))
    assert report.height == BLOCKS and report.txs == 3 * BLOCKS
    assert seen[-1] == (BLOCKS, BLOCKS, 3 * BLOCKS) and len(seen) == BLOCKS


@pytest.mark.parametrize("offset", [40, 300, 900, -60])
def test_one_flipped_byte_in_a_block_names_that_height(store, net, offset):
    key = height_key(BLOCK_PREFIX, 4)
    raw = bytearray(store.get(key))
    raw[offset] ^= 0x01
    store.write({key: bytes(raw)})
    with pytest.raises(AuditError) as err:
        audit_chain(store, net.genesis)
    assert err.value.height == 4


def test_flipped_byte_in_a_commit_names_that_height(store, net):
    key = height_key(COMMIT_PREFIX, 3)
    raw = bytearray(store.get(key))
    raw[-30] ^= 0x02
    store.write({key: bytes(raw)})
    with pytest.raises(AuditError) as err:
        audit_chain(store, net.genesis)
    assert err.value.height == 3


def test_stored_header_that_differs_from_its_block_is_named(store, net):
    key = height_key(HEADER_PREFIX, 5)
    raw = bytearray(store.get(key))
    raw[raw.index(b'"time":') + 8] ^= 0x01
    store.write({key: bytes(raw)})
    with pytest.raises(AuditError) as err:
        audit_chain(store, net.genesis)
    assert err.value.height == 5 and err.value.code == "audit.bad_header"


def test_missing_block_is_named(store, net):
    store.write({}, [height_key(BLOCK_PREFIX, 5)])
    with pytest.raises(AuditError) as err:
        audit_chain(store, net.genesis)
    assert err.value.height == 5 and err.value.code == "audit.missing_block"


def test_audit_against_another_genesis_fails_at_height_zero(store):
    with pytest.raises(AuditError) as err:
        audit_chain(store, make_net().genesis)
    assert err.value.height == 0 and err.value.code == "audit.genesis_mismatch"


def test_flipped_byte_in_a_leveldb_file_is_reported_at_the_height_it_damages(tmp_path, net):
    path = tmp_path / "ledger"
    kv = LevelKV(path)
    local = net.local(kv)
    for h in range(1, 4):  # 12 txs a block: each block value fills its own LevelDB data block
        local.produce([net.anchor() for _ in range(12)], GENESIS_TIME + 1000 * h)
    needle = b64encode(local.chain.block(2).txs[5].signature.value).encode()
    kv.compact()
    kv.close()
    target, offset = _find_in_tables(path, needle)
    data = bytearray(target.read_bytes())
    data[offset] ^= 0x01
    target.write_bytes(bytes(data))
    kv = LevelKV(path, create=False, verify_checksums=True)
    try:
        with pytest.raises(AuditError) as err:
            audit_chain(kv, net.genesis)
        assert err.value.height == 2 and err.value.reason == "store.corrupt"
    finally:
        kv.close()


def _find_in_tables(path: Path, needle: bytes) -> tuple[Path, int]:
    """A LevelDB table file and an offset in it holding a 16-byte slice of `needle`. Snappy may
    replace a few bytes of the needle by a back-reference to an equal run elsewhere in the data
    block, so the whole needle need not appear; some 16-byte literal run of it does."""
    for f in sorted(path.iterdir()):
        if f.suffix == ".ldb":
            data = f.read_bytes()
            for start in range(0, len(needle) - 16 + 1, 4):
                found = data.find(needle[start : start + 16])
                if found >= 0:
                    return f, found + 8
    raise AssertionError("no part of the needle is in any LevelDB table file")


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_transaction_signature_in_a_committed_block_is_found_at_its_height(tmp_path, net, monkeypatch, workers):
    """A block signed by a (Byzantine) quorum although one transaction's signature is forged."""
    kv = MemoryKV()
    local = net.local(kv)
    local.produce([net.anchor() for _ in range(80)], GENESIS_TIME + 1000)
    txs = [net.anchor() for _ in range(80)]
    other = net.anchor()
    forged = Tx(txs[41].chain_id, txs[41].kind, txs[41].body, txs[41].signer, txs[41].nonce, Signature(other.signature.suite, other.signature.value))
    txs[41] = forged
    with monkeypatch.context() as patch:
        patch.setattr(Tx, "verify_signature", lambda self, key: None)
        local.produce(txs, GENESIS_TIME + 2000)
    local.produce([net.anchor() for _ in range(80)], GENESIS_TIME + 3000)
    with pytest.raises(AuditError) as err:
        audit_chain(kv, net.genesis, workers=workers)
    assert (err.value.height, err.value.reason, err.value.index) == (2, "tx.bad_signature", 41)


def test_audit_with_worker_processes_matches_inline(store, net):
    assert audit_chain(store, net.genesis, workers=2) == audit_chain(store, net.genesis, workers=1)


def issue(ledger, dept, serial: int) -> Tx:
    """The sealed licence.issue of a fresh first version (transactions.md §5)."""
    return issue_tx(make_doc(ledger, dept, serial), ledger.net.genesis.chain_id)


def with_signature(tx: Tx, signature: Signature) -> Tx:
    return Tx.sealed(tx.chain_id, tx.kind, tx.body, tx.signer, tx.nonce, signature)


def forge_seal_signature(ledger, dept, serial: int) -> Tx:
    """A licence.issue whose signature is a well-formed seal signature, by the seal's own signer,
    of another document: the statement the ledger rebuilds from the body does not verify."""
    other = SealSignature.create(dept.key, ledger.net.genesis.chain_id, dept.seal_id, os.urandom(32), ledger.time, kind="licence.issue")
    return with_signature(issue(ledger, dept, serial), other.signature)


def flip_signature(tx: Tx) -> Tx:
    """`tx` with one bit of its (seal) signature value flipped."""
    value = tx.signature.value
    return with_signature(tx, Signature(tx.signature.suite, value[:-1] + bytes([value[-1] ^ 0x01])))


@pytest.mark.parametrize("workers", [1, 2])
def test_audit_accepts_a_chain_of_sealed_licence_issues(world, workers):
    """Each licence.issue's only signature is its seal signature: the replay verifies it (deferred,
    in workers) as the statement rebuilt from the body, and an intact chain passes."""
    ledger, dept = world
    before = ledger.local.chain.height
    ledger.accept(*(issue(ledger, dept, serial) for serial in range(1, 70)))  # more than one batch of 64 checks
    ledger.accept(issue(ledger, dept, 70))
    report = audit_chain(ledger.local.chain.kv, ledger.net.genesis, workers=workers)
    assert report.height == before + 2 and report.state_root == ledger.local.chain.tip.state_root


@pytest.mark.parametrize("workers", [1, 2])
def test_forged_seal_signature_of_a_committed_licence_is_found_at_its_height(world, monkeypatch, workers):
    """A licence committed by a (Byzantine) quorum although its seal signature is forged."""
    ledger, dept = world
    ledger.accept(*(issue(ledger, dept, serial) for serial in range(1, 10)))
    txs = [issue(ledger, dept, serial) for serial in range(10, 49)]
    txs.insert(5, forge_seal_signature(ledger, dept, 99))  # its check is in the first batch of 64, sent to a worker
    commit_unchecked(ledger, monkeypatch, *txs)
    bad_height = ledger.local.chain.height
    ledger.accept(issue(ledger, dept, 100))
    with pytest.raises(AuditError) as err:
        audit_chain(ledger.local.chain.kv, ledger.net.genesis, workers=workers)
    assert (err.value.height, err.value.reason, err.value.index) == (bad_height, "licence.bad_seal", 5)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_tampered_issue_signature_in_a_committed_block_is_found_at_its_height(world, monkeypatch, workers):
    """One bit of a committed licence.issue's signature flipped (its id, which leaves the signature
    out, is unchanged): the replay rejects the block with licence.bad_seal at that transaction."""
    ledger, dept = world
    ledger.accept(issue(ledger, dept, 1))
    txs = [issue(ledger, dept, serial) for serial in range(2, 6)]
    tampered = flip_signature(txs[3])
    assert tampered.id == txs[3].id and tampered.signature != txs[3].signature
    txs[3] = tampered
    commit_unchecked(ledger, monkeypatch, *txs)
    bad_height = ledger.local.chain.height
    ledger.accept(issue(ledger, dept, 6))
    with pytest.raises(AuditError) as err:
        audit_chain(ledger.local.chain.kv, ledger.net.genesis, workers=workers)
    assert (err.value.height, err.value.reason, err.value.index) == (bad_height, "licence.bad_seal", 3)
