"""Length-prefixed frames on a byte stream (docs/spec/consensus.md §9).

A frame is a 4-byte big-endian length followed by that many bytes (one canonical JSON message,
which this module never looks into). A length of 0 or above `MAX_FRAME` is refused before any
payload is read, so a peer cannot make a node allocate more than `MAX_FRAME` bytes per frame.
This module only reads and writes the streams it is given: it never opens, closes or retries a
connection.
"""

from __future__ import annotations

import asyncio

from ledger.errors import LedgerError

#: §9: the largest frame payload a node sends or accepts (8 MiB).
MAX_FRAME = 8 * 1024 * 1024
HEADER_SIZE = 4


class FrameError(LedgerError):
    """A frame is empty, longer than allowed, or cut short by the end of the stream.

    Codes: "frame.empty", "frame.too_large" (fields `size`, `limit`), "frame.truncated"
    (fields `expected`, `received`: bytes of the header or payload that were missing).
    """

    code = "frame.invalid"


def check_frame_size(size: int, limit: int = MAX_FRAME) -> None:
    """Raise FrameError "frame.empty" if `size` is 0 and "frame.too_large" if it exceeds `limit`."""
    if size == 0:
        raise FrameError("a frame must carry at least one byte (§9)", code="frame.empty")
    if size > limit:
        raise FrameError(
            f"a frame of {size} bytes exceeds the limit of {limit} bytes (§9)",
            code="frame.too_large",
            size=size,
            limit=limit,
        )


def encode_frame(data: bytes) -> bytes:
    """`data` prefixed with its 4-byte big-endian length.

    Raises FrameError "frame.empty" / "frame.too_large" if `data` is empty or longer than
    `MAX_FRAME`: such a frame would be refused by every peer.
    """
    check_frame_size(len(data))
    return len(data).to_bytes(HEADER_SIZE, "big") + data


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes | None:
    """The payload of the next frame of `reader`, or None if the stream ended between frames.

    Raises FrameError "frame.empty" or "frame.too_large" on a bad length (the payload is not
    read), "frame.truncated" if the stream ends inside a header or a payload; and the OSError
    of the underlying connection (for example ConnectionResetError).
    """
    try:
        header = await reader.readexactly(HEADER_SIZE)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError(
            f"the stream ended after {len(exc.partial)} of the {HEADER_SIZE} header bytes",
            code="frame.truncated",
            expected=HEADER_SIZE,
            received=len(exc.partial),
        ) from None
    size = int.from_bytes(header, "big")
    check_frame_size(size, max_size)
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise FrameError(
            f"the stream ended after {len(exc.partial)} of the {size} payload bytes",
            code="frame.truncated",
            expected=size,
            received=len(exc.partial),
        ) from None


async def write_frame(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write `data` as one frame and wait until the stream accepted it (`drain`).

    Raises FrameError like `encode_frame` (nothing is written then) and the OSError of the
    underlying connection.
    """
    writer.write(encode_frame(data))
    await writer.drain()
