"""node.transport.frames: the 4-byte big-endian length prefix of §9 and its limits."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from node.transport.frames import (
    HEADER_SIZE,
    MAX_FRAME,
    FrameError,
    encode_frame,
    read_frame,
    write_frame,
)

TIMEOUT = 5.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def read_all(stream: bytes, max_size: int = MAX_FRAME) -> list[bytes | None]:
    """Every frame of `stream` up to and including the end (None)."""

    async def main():
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        frames = []
        while True:
            frame = await read_frame(reader, max_size)
            frames.append(frame)
            if frame is None:
                return frames

    return run(main())


def read_error(stream: bytes, max_size: int = MAX_FRAME) -> FrameError:
    with pytest.raises(FrameError) as info:
        read_all(stream, max_size)
    return info.value


def test_encode_frame_prefixes_the_big_endian_length():
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode_frame(b"x" * 258)[:HEADER_SIZE] == b"\x00\x00\x01\x02"


def test_encode_frame_refuses_empty_and_oversize_data():
    with pytest.raises(FrameError) as empty:
        encode_frame(b"")
    assert empty.value.code == "frame.empty"
    with pytest.raises(FrameError) as large:
        encode_frame(bytes(MAX_FRAME + 1))
    assert large.value.code == "frame.too_large"
    assert (large.value.size, large.value.limit) == (MAX_FRAME + 1, MAX_FRAME)
    assert isinstance(large.value, LedgerError)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=8))
def test_read_frame_returns_each_written_payload_then_none(payloads):
    stream = b"".join(encode_frame(p) for p in payloads)
    assert read_all(stream) == [*payloads, None]


def test_read_frame_accepts_exactly_max_frame_bytes():
    payload = b"\x5a" * MAX_FRAME
    assert read_all(encode_frame(payload)) == [payload, None]


def test_read_frame_refuses_a_zero_length():
    assert read_error(b"\x00\x00\x00\x00rest").code == "frame.empty"


def test_read_frame_refuses_a_length_above_the_limit_without_reading_the_payload():
    async def main():
        reader = asyncio.StreamReader()
        reader.feed_data((MAX_FRAME + 1).to_bytes(4, "big") + b"payload")
        reader.feed_eof()
        with pytest.raises(FrameError) as info:
            await read_frame(reader)
        return info.value, await reader.read()

    error, rest = run(main())
    assert error.code == "frame.too_large"
    assert error.size == MAX_FRAME + 1
    assert rest == b"payload"


def test_read_frame_applies_a_smaller_max_size():
    assert read_all(encode_frame(b"12345"), max_size=5) == [b"12345", None]
    error = read_error(encode_frame(b"123456"), max_size=5)
    assert (error.code, error.size, error.limit) == ("frame.too_large", 6, 5)


def test_read_frame_reports_a_header_cut_short():
    error = read_error(encode_frame(b"ok") + b"\x00\x00")
    assert (error.code, error.expected, error.received) == ("frame.truncated", HEADER_SIZE, 2)


def test_read_frame_reports_a_payload_cut_short():
    error = read_error(b"\x00\x00\x00\x0aabc")
    assert (error.code, error.expected, error.received) == ("frame.truncated", 10, 3)


def test_write_frame_sends_frames_that_read_frame_reads_back():
    async def main():
        left, right = socket.socketpair()
        _, writer = await asyncio.open_connection(sock=left)
        reader, other = await asyncio.open_connection(sock=right)
        for payload in (b"first", b"\x00" * 70000, b"last"):
            await write_frame(writer, payload)
        writer.close()
        await writer.wait_closed()
        frames = [await read_frame(reader) for _ in range(4)]
        other.close()
        return frames

    assert run(main()) == [b"first", b"\x00" * 70000, b"last", None]


def test_write_frame_refuses_empty_data_and_writes_nothing():
    async def main():
        left, right = socket.socketpair()
        _, writer = await asyncio.open_connection(sock=left)
        reader, other = await asyncio.open_connection(sock=right)
        with pytest.raises(FrameError) as info:
            await write_frame(writer, b"")
        writer.close()
        await writer.wait_closed()
        rest = await reader.read()
        other.close()
        return info.value.code, rest

    assert run(main()) == ("frame.empty", b"")
