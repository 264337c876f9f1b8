"""Crash safety of the LevelDB store: a block is committed wholly or not at all."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.audit import audit_chain
from ledger.chain import BLOCK_PREFIX, COMMIT_PREFIX, TX_INDEX_PREFIX, Chain, height_key
from ledger.store import LevelKV

WRITER = Path(__file__).with_name("store_writer.py")


def _prepare(tmp_path, net) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "genesis.bin").write_bytes(net.genesis.to_bytes())
    (home / "validators.pem").write_text("\n\n".join(k.to_pem().decode() for k in net.validator_keys))
    (home / "admin.pem").write_bytes(net.admin_keys["beijing"].to_pem())
    return home


@pytest.mark.parametrize("delay, retain", [(0.0, None), (0.013, None), (0.037, 2), (0.071, 2)])
def test_sigkill_mid_stream_leaves_last_block_whole_or_absent(tmp_path, net, delay, retain):
    """Also with pruning (retain 2): the stale nodes of an old height go in the same batch."""
    home = _prepare(tmp_path, net)
    store = tmp_path / "ledger"
    argv = [sys.executable, str(WRITER), str(home), str(store)] + ([] if retain is None else [str(retain)])
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        reported = 0
        while reported < 3 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            reported = int(line)
        assert reported >= 3, "writer did not commit three blocks"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        child.stdout.close()

    kv = LevelKV(store)
    try:
        chain = Chain(kv, net.genesis, retain_heights=retain)
        tip = chain.height
        assert tip >= reported  # everything acknowledged is there
        assert kv.get(height_key(BLOCK_PREFIX, tip + 1)) is None
        assert kv.get(height_key(COMMIT_PREFIX, tip + 1)) is None
        assert sum(1 for _ in kv.iterate(TX_INDEX_PREFIX)) == chain.tip.log_size == 200 * tip
        report = audit_chain(kv, net.genesis)
        assert report.height == tip
        # the store keeps working after the crash
        from node.local import LocalNetwork

        LocalNetwork(chain, net.validator_keys).produce([net.anchor()], net.genesis.genesis_time + 1000 * (tip + 1))
        assert Chain(kv, net.genesis, retain_heights=retain).height == tip + 1
    finally:
        kv.close()


def test_write_applies_deletes_then_puts_as_one_batch(tmp_path):
    with LevelKV(tmp_path / "db") as kv:
        kv.write({b"k%03d" % i: b"v%d" % i for i in range(500)})
        kv.write({b"k000": b"again", b"new": b"1"}, [b"k000", b"k001", b"missing"])
        assert kv.get(b"k000") == b"again" and kv.get(b"k001") is None and kv.get(b"new") == b"1"
        assert sum(1 for _ in kv.iterate(b"k")) == 499
    with LevelKV(tmp_path / "db", create=False) as kv:
        assert kv.get(b"k499") == b"v499" and kv.get(b"k001") is None


def test_snapshot_reads_and_iterates_the_store_as_it_was(tmp_path):
    with LevelKV(tmp_path / "db") as kv:
        kv.write({b"p/1": b"a", b"p/2": b"b", b"p\xff": b"x", b"q": b"y"})
        snap = kv.snapshot()
        kv.write({b"p/1": b"changed", b"p/3": b"c"}, [b"p/2"])
        assert snap.get(b"p/1") == b"a" and snap.get(b"p/3") is None
        assert list(snap.iterate(b"p/")) == [(b"p/1", b"a"), (b"p/2", b"b")]
        assert [k for k, _ in snap.iterate(b"p/", b"p/2")] == [b"p/2"]
        assert [k for k, _ in kv.iterate(b"p/", b"p/2")] == [b"p/3"]
        assert [k for k, _ in kv.iterate(b"p")] == [b"p/1", b"p/3", b"p\xff"]
        snap.close()


def test_iterate_over_a_prefix_of_ff_bytes_has_no_upper_bound(tmp_path):
    with LevelKV(tmp_path / "db") as kv:
        kv.write({b"\xff\xff": b"1", b"\xff\xff\x01": b"2", b"\xfe": b"3"})
        assert [k for k, _ in kv.iterate(b"\xff\xff")] == [b"\xff\xff", b"\xff\xff\x01"]
