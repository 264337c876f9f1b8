"""The consensus write-ahead log (docs/spec/consensus.md §10).

One file `<height>.log` per height in a WAL directory, each a sequence of records
`length (4 bytes BE) ‖ crc32 of the payload (4 bytes BE) ‖ payload`. The node appends every
consensus input before its state machine sees it and replays the log of `tip + 1` after a
restart. Payloads are opaque bytes here (the consensus layer encodes them). This module must
never skip a damaged record silently except a torn last one, never return a record whose CRC
fails, never read the clock, and never allocate a record larger than MAX_RECORD.

`MemoryWAL` has the same methods for the deterministic simulator and models what fsync
guarantees: after `crash()`, only records made durable by a synced append are certain to exist.
"""

from __future__ import annotations

import os
import random
import re
import struct
import zlib
from pathlib import Path

from ledger.errors import LedgerError
from ledger.files import sync_directory

# A proposal frame may be MAX_FRAME (8 MiB, §9); the record wraps it in {"kind", "height", ...}.
MAX_RECORD = 8 * 1024 * 1024 + 1024
HEADER = struct.Struct(">II")
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

_LOG_NAME = re.compile(r"([1-9][0-9]{0,15})\.log")


class WalError(LedgerError):
    """A WAL record or file cannot be written or read (§10)."""

    code = "wal.error"


def encode_record(payload: bytes) -> bytes:
    """`length ‖ crc32 ‖ payload` (§10).

    Raises WalError "wal.bad_payload" if `payload` is not bytes or is empty and "wal.too_large"
    if it is longer than MAX_RECORD.
    """
    _check_payload(payload)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def scan_records(data: bytes) -> tuple[list[bytes], int]:
    """The payloads of a log's bytes and the length of its intact prefix (§10).

    A last record that is short (header or payload cut off by the end of `data`), fails its CRC
    and ends exactly at the end, or is an all-zero tail (a file extended but never written)
    ends the intact prefix: the returned length is then less than len(data). A record before
    the last that fails its CRC or claims length 0, or any record claiming more than
    MAX_RECORD bytes, raises WalError "wal.corrupt" with its `offset`.
    """
    records: list[bytes] = []
    offset, size = 0, len(data)
    while size - offset >= HEADER.size:
        length, crc = HEADER.unpack_from(data, offset)
        if length > MAX_RECORD:
            raise _corrupt(offset, f"its length {length} exceeds the limit of {MAX_RECORD} bytes")
        if length == 0:
            if data.count(0, offset) == size - offset:
                break
            raise _corrupt(offset, "it claims length 0 and is not followed by zeros only")
        end = offset + HEADER.size + length
        if end > size:
            break
        payload = data[offset + HEADER.size : end]
        if zlib.crc32(payload) != crc:
            if end == size:
                break
            raise _corrupt(offset, "its CRC does not match its payload and more records follow")
        records.append(payload)
        offset = end
    return records, offset


def log_path(directory: str | os.PathLike[str], height: int) -> Path:
    """The log file of `height` in `directory`: `<height>.log` (§10)."""
    return Path(directory) / f"{_check_height(height)}.log"


class WAL:
    """The file WAL: appends to the log of one open height; reads and deletes any height's log.

    Not thread-safe; one process per directory.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        """Use `WAL.open`. Creates `directory` (mode 0700) if missing; raises WalError "wal.io"."""
        self.directory = Path(directory)
        self._fd: int | None = None
        self._height: int | None = None
        try:
            if not self.directory.is_dir():
                self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
                sync_directory(self.directory.parent)
        except OSError as exc:
            raise WalError(f"cannot create WAL directory {self.directory}: {exc.strerror}", code="wal.io", path=str(self.directory)) from exc

    @classmethod
    def open(cls, directory: str | os.PathLike[str], height: int) -> WAL:
        """A WAL over `directory` with the log of `height` open for appending (torn tail repaired).

        Raises WalError "wal.bad_request" for a height < 1, "wal.corrupt" as `records`, "wal.io".
        """
        wal = cls(directory)
        wal.open_height(height)
        return wal

    @property
    def height(self) -> int | None:
        """The height whose log `append` writes to; None once closed."""
        return self._height

    def open_height(self, height: int) -> None:
        """Close the open log and open (creating it durably) the log of `height` for appending.

        Its torn tail, if any, is truncated away first. Raises WalError as `open`.
        """
        path = log_path(self.directory, height)
        self.records(height)
        self.close()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
            try:
                if os.fstat(fd).st_size == 0:
                    os.fchmod(fd, FILE_MODE)
                    sync_directory(self.directory)
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            raise WalError(f"cannot open WAL log {path}: {exc.strerror}", code="wal.io", path=str(path)) from exc
        self._fd, self._height = fd, height

    def append(self, payload: bytes, *, sync: bool) -> None:
        """Append one record to the open log; with `sync`, it and every record before it are
        durable when this returns (fdatasync, §10).

        Raises WalError "wal.closed", "wal.bad_payload", "wal.too_large" (nothing written) or
        "wal.io" (the log is closed: a partial record may remain, which reopening truncates).
        """
        record = encode_record(payload)
        if self._fd is None:
            raise WalError("the WAL is closed", code="wal.closed")
        try:
            view = memoryview(record)
            while view:
                view = view[os.write(self._fd, view) :]
            if sync:
                os.fdatasync(self._fd)
        except OSError as exc:
            height = self._height
            self.close()
            raise WalError(f"cannot append to the WAL log of height {height}: {exc.strerror}", code="wal.io", height=height) from exc

    def records(self, height: int) -> list[bytes]:
        """The payloads in the log of `height`, oldest first ([] if there is no log).

        A torn last record is truncated away from the file (fsynced) and left out. Raises
        WalError "wal.corrupt" (with `path` and `offset`) for a damaged earlier record and
        "wal.io" if the file cannot be read or repaired.
        """
        path = log_path(self.directory, height)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise WalError(f"cannot read WAL log {path}: {exc.strerror}", code="wal.io", path=str(path)) from exc
        try:
            records, end = scan_records(data)
        except WalError as exc:
            raise WalError(f"WAL log {path}: {exc}", code=exc.code, path=str(path), height=height, **exc.fields) from exc
        if end < len(data):
            _truncate(path, end)
        return records

    def heights(self) -> list[int]:
        """The heights that have a log in the directory, ascending; raises WalError "wal.io"."""
        try:
            names = os.listdir(self.directory)
        except OSError as exc:
            raise WalError(f"cannot list WAL directory {self.directory}: {exc.strerror}", code="wal.io", path=str(self.directory)) from exc
        return sorted(int(match.group(1)) for name in names if (match := _LOG_NAME.fullmatch(name)))

    def drop_below(self, height: int) -> None:
        """Delete the logs of every height below `height` (after commit, §10), durably.

        Raises WalError "wal.bad_request" if the open log is among them, "wal.io" on failure.
        """
        _check_height(height)
        doomed = [h for h in self.heights() if h < height]
        if self._height is not None and self._height in doomed:
            raise WalError(f"cannot drop the open log of height {self._height}", code="wal.bad_request", height=self._height)
        try:
            for h in doomed:
                os.unlink(log_path(self.directory, h))
            if doomed:
                sync_directory(self.directory)
        except OSError as exc:
            raise WalError(f"cannot delete WAL logs below {height}: {exc.strerror}", code="wal.io", height=height) from exc

    def close(self) -> None:
        """Close the open log without syncing (unsynced records survive a process crash, not
        necessarily a power loss). Closing twice is harmless."""
        if self._fd is not None:
            fd, self._fd, self._height = self._fd, None, None
            os.close(fd)


class MemoryWAL:
    """The WAL in memory for the simulator, with fsync semantics: a record is durable once it or
    a later record of the same log was appended with `sync=True`; `drop_below` is durable at once.
    """

    def __init__(self, height: int) -> None:
        """A WAL with the log of `height` open; raises WalError "wal.bad_request" for height < 1."""
        self._logs: dict[int, list[bytes]] = {}
        self._durable: dict[int, int] = {}
        self._height: int | None = None
        self.open_height(height)

    @property
    def height(self) -> int | None:
        return self._height

    def open_height(self, height: int) -> None:
        """Open the log of `height` for appending (the open one is closed)."""
        self._logs.setdefault(_check_height(height), [])
        self._durable.setdefault(height, 0)
        self._height = height

    def append(self, payload: bytes, *, sync: bool) -> None:
        """As `WAL.append`: raises WalError "wal.closed", "wal.bad_payload", "wal.too_large"."""
        _check_payload(payload)
        if self._height is None:
            raise WalError("the WAL is closed", code="wal.closed")
        log = self._logs[self._height]
        log.append(bytes(payload))
        if sync:
            self._durable[self._height] = len(log)

    def records(self, height: int) -> list[bytes]:
        """The payloads in the log of `height`, oldest first ([] if there is none)."""
        return list(self._logs.get(_check_height(height), ()))

    def heights(self) -> list[int]:
        return sorted(self._logs)

    def drop_below(self, height: int) -> None:
        """As `WAL.drop_below`; raises WalError "wal.bad_request" for the open log."""
        _check_height(height)
        doomed = [h for h in self._logs if h < height]
        if self._height in doomed:
            raise WalError(f"cannot drop the open log of height {self._height}", code="wal.bad_request", height=self._height)
        for h in doomed:
            del self._logs[h], self._durable[h]

    def close(self) -> None:
        self._height = None

    def crash(self, rng: random.Random | None = None) -> None:
        """Lose what a power loss may lose, and close: each log keeps its durable records and,
        with `rng`, a random number (possibly none) of the records after them; without `rng`,
        none of them. A restarted node then calls `open_height`.
        """
        for height, log in self._logs.items():
            keep = self._durable[height]
            if rng is not None:
                keep += rng.randint(0, len(log) - keep)
            del log[keep:]
            self._durable[height] = keep
        self._height = None


def _check_payload(payload: object) -> None:
    if not isinstance(payload, (bytes, bytearray)):
        raise WalError(f"a WAL payload must be bytes, not {type(payload).__name__}", code="wal.bad_payload")
    if not payload:
        raise WalError("a WAL payload must not be empty", code="wal.bad_payload")
    if len(payload) > MAX_RECORD:
        raise WalError(
            f"WAL payload of {len(payload)} bytes exceeds the limit of {MAX_RECORD}", code="wal.too_large", size=len(payload), max_size=MAX_RECORD
        )


def _check_height(height: object) -> int:
    if not isinstance(height, int) or isinstance(height, bool) or not 1 <= height < 10**16:
        raise WalError(f"a WAL height must be an integer >= 1, got {height!r}", code="wal.bad_request", field="height")
    return height


def _corrupt(offset: int, reason: str) -> WalError:
    return WalError(f"damaged record at byte {offset}: {reason}", code="wal.corrupt", offset=offset, reason=reason)


def _truncate(path: Path, length: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            os.ftruncate(fd, length)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise WalError(f"cannot truncate the torn tail of WAL log {path}: {exc.strerror}", code="wal.io", path=str(path)) from exc
