"""The consensus WAL (docs/spec/consensus.md §10): record format, torn-tail repair, corruption,
size limits, per-height logs, the in-memory WAL's fsync model, and SIGKILL of a writer."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.wal import MAX_RECORD, WAL, MemoryWAL, WalError, encode_record, scan_records
from tests.node.children import kill_after_first_line
from tests.node.wal_writer import payload as writer_payload

WRITER = Path(__file__).with_name("wal_writer.py")
PAYLOADS = [b'{"kind":"start"}', b"x" * 300, bytes(range(256)), b'{"kind":"vote","n":1}']


def reference_record(payload: bytes) -> bytes:
    """Literal §10: length (4 bytes BE) ‖ zlib.crc32 of the payload (4 bytes BE) ‖ payload."""
    return len(payload).to_bytes(4, "big") + zlib.crc32(payload).to_bytes(4, "big") + payload


def write_log(directory: Path, height: int, payloads: list[bytes]) -> Path:
    wal = WAL.open(directory, height)
    for item in payloads:
        wal.append(item, sync=False)
    wal.close()
    return directory / f"{height}.log"


@pytest.fixture(params=["file", "memory"])
def make_wal(request, tmp_path):
    if request.param == "file":
        return lambda height: WAL.open(tmp_path / "wal", height)
    return MemoryWAL


def test_log_file_holds_exactly_the_reference_records(tmp_path):
    path = write_log(tmp_path, 3, PAYLOADS)
    assert path.read_bytes() == b"".join(reference_record(p) for p in PAYLOADS)
    assert path.stat().st_mode & 0o777 == 0o600
    assert encode_record(PAYLOADS[0]) == reference_record(PAYLOADS[0])


def test_round_trip_across_reopen_and_heights(make_wal):
    wal = make_wal(4)
    for index, item in enumerate(PAYLOADS):
        wal.append(item, sync=index % 2 == 0)
    assert wal.height == 4
    wal.open_height(5)
    wal.append(b"next", sync=True)
    assert wal.records(4) == PAYLOADS
    assert wal.records(5) == [b"next"]
    assert wal.records(6) == []
    assert wal.heights() == [4, 5]
    wal.close()
    assert wal.height is None


def test_reopened_file_wal_appends_after_the_old_records(tmp_path):
    write_log(tmp_path, 2, PAYLOADS[:2])
    wal = WAL.open(tmp_path, 2)
    wal.append(b"third", sync=True)
    assert wal.records(2) == PAYLOADS[:2] + [b"third"]
    wal.close()


def test_torn_last_record_is_truncated_at_every_offset(tmp_path):
    path = write_log(tmp_path, 1, PAYLOADS)
    whole = path.read_bytes()
    last_start = len(whole) - len(reference_record(PAYLOADS[-1]))
    for cut in range(last_start + 1, len(whole)):
        path.write_bytes(whole[:cut])
        wal = WAL(tmp_path)
        assert wal.records(1) == PAYLOADS[:-1], cut
        assert path.stat().st_size == last_start, cut
    wal = WAL.open(tmp_path, 1)  # the repaired log takes new records
    wal.append(b"after repair", sync=True)
    assert wal.records(1) == PAYLOADS[:-1] + [b"after repair"]
    wal.close()


def test_last_record_failing_its_crc_or_zero_filled_tail_is_truncated(tmp_path):
    path = write_log(tmp_path, 1, PAYLOADS)
    whole = path.read_bytes()
    path.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))
    assert WAL(tmp_path).records(1) == PAYLOADS[:-1]
    path.write_bytes(whole + bytes(4096))  # extended by the file system, never written
    assert WAL(tmp_path).records(1) == PAYLOADS
    assert path.read_bytes() == whole


@pytest.mark.parametrize("index", [0, 1, 2])
def test_damaged_record_before_the_last_is_corrupt_with_its_offset(tmp_path, index):
    path = write_log(tmp_path, 7, PAYLOADS)
    whole = bytearray(path.read_bytes())
    offset = sum(len(reference_record(p)) for p in PAYLOADS[:index])
    whole[offset + 8] ^= 0x40  # first payload byte
    path.write_bytes(bytes(whole))
    with pytest.raises(WalError, match=f"byte {offset}") as info:
        WAL(tmp_path).records(7)
    assert info.value.code == "wal.corrupt"
    assert (info.value.offset, info.value.height, info.value.path) == (offset, 7, str(path))
    assert path.read_bytes() == bytes(whole)  # nothing was truncated
    with pytest.raises(WalError):
        WAL.open(tmp_path, 7)


def test_zero_length_record_followed_by_data_is_corrupt(tmp_path):
    path = write_log(tmp_path, 1, PAYLOADS[:1])
    path.write_bytes(path.read_bytes() + bytes(8) + reference_record(b"later"))
    with pytest.raises(WalError, match="length 0") as info:
        WAL(tmp_path).records(1)
    assert info.value.offset == len(reference_record(PAYLOADS[0]))


def test_record_claiming_more_than_max_record_is_corrupt_on_read(tmp_path):
    path = write_log(tmp_path, 1, PAYLOADS[:1])
    header = struct.pack(">II", MAX_RECORD + 1, 0)
    path.write_bytes(path.read_bytes() + header + b"tail")
    with pytest.raises(WalError, match="exceeds") as info:
        WAL(tmp_path).records(1)
    assert info.value.code == "wal.corrupt"


def test_append_checks_the_payload_and_writes_nothing_when_refused(make_wal):
    wal = make_wal(1)
    wal.append(b"m" * MAX_RECORD, sync=False)
    for bad, code in [(b"m" * (MAX_RECORD + 1), "wal.too_large"), (b"", "wal.bad_payload"), ("text", "wal.bad_payload")]:
        with pytest.raises(WalError) as info:
            wal.append(bad, sync=True)
        assert info.value.code == code
    assert [len(r) for r in wal.records(1)] == [MAX_RECORD]


def test_append_after_close_is_refused(make_wal):
    wal = make_wal(1)
    wal.close()
    with pytest.raises(WalError) as info:
        wal.append(b"late", sync=True)
    assert info.value.code == "wal.closed"


def test_drop_below_deletes_older_logs_but_never_the_open_one(make_wal):
    wal = make_wal(1)
    for height in (2, 3, 4):
        wal.open_height(height)
        wal.append(b"%d" % height, sync=True)
    wal.drop_below(3)
    assert wal.heights() == [3, 4]
    assert wal.records(2) == []
    assert wal.records(3) == [b"3"]
    with pytest.raises(WalError) as info:
        wal.drop_below(5)
    assert info.value.code == "wal.bad_request"
    assert wal.heights() == [3, 4]


@pytest.mark.parametrize("height", [0, -1, True, "2"])
def test_bad_heights_are_refused(make_wal, height):
    with pytest.raises(WalError) as info:
        make_wal(height)
    assert info.value.code == "wal.bad_request"


def test_file_wal_ignores_files_that_are_not_logs(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "01.log").write_text("x")
    wal = WAL.open(tmp_path, 3)
    assert wal.heights() == [3]
    wal.drop_below(3)
    assert (tmp_path / "01.log").exists()
    wal.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.data())
def test_scan_of_any_truncation_returns_the_whole_records_before_it(payloads, data):
    log = b"".join(reference_record(p) for p in payloads)
    cut = data.draw(st.integers(0, len(log)))
    records, end = scan_records(log[:cut])
    ends = [sum(len(reference_record(p)) for p in payloads[:k]) for k in range(len(payloads) + 1)]
    whole = max(k for k, e in enumerate(ends) if e <= cut)
    assert records == payloads[:whole]
    assert end == ends[whole]


def test_memory_wal_crash_keeps_records_made_durable_by_a_synced_append():
    wal = MemoryWAL(1)
    wal.append(b"a", sync=False)
    wal.append(b"b", sync=True)  # makes a and b durable
    wal.append(b"c", sync=False)
    wal.open_height(2)
    wal.append(b"d", sync=False)  # a sync of another log does not cover this one
    wal.open_height(3)
    wal.append(b"e", sync=True)
    wal.crash()
    assert wal.height is None
    assert [wal.records(h) for h in (1, 2, 3)] == [[b"a", b"b"], [], [b"e"]]
    with pytest.raises(WalError):
        wal.append(b"f", sync=True)
    wal.open_height(2)
    wal.append(b"g", sync=False)
    assert wal.records(2) == [b"g"]


def test_memory_wal_crash_with_rng_keeps_a_prefix_at_least_as_long_as_the_durable_part():
    kept = set()
    for seed in range(40):
        wal = MemoryWAL(1)
        for index in range(6):
            wal.append(b"%d" % index, sync=index == 1)
        wal.crash(random.Random(seed))
        records = wal.records(1)
        assert records == [b"%d" % i for i in range(len(records))]
        kept.add(len(records))
    assert min(kept) == 2 and max(kept) == 6 and len(kept) > 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_of_a_writer_leaves_a_prefix_with_every_acknowledged_record(tmp_path, seed):
    directory = tmp_path / "wal"
    acknowledged = -1
    for run in range(2):  # the second writer resumes over what the first left
        child = subprocess.Popen([sys.executable, str(WRITER), str(directory), "9"], stdout=subprocess.PIPE, text=True)
        last = kill_after_first_line(child, random.Random(seed * 10 + run).uniform(0.0, 0.1))
        acknowledged = max(acknowledged, int(last))
        records = WAL(directory).records(9)
        assert len(records) > acknowledged
        assert records == [writer_payload(i) for i in range(len(records))]
    wal = WAL.open(directory, 9)
    wal.append(b"after the crashes", sync=True)
    assert wal.records(9)[-1] == b"after the crashes"
    wal.close()
