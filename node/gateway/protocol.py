"""The gateway channel between a node and its API process: frames, messages and their checks
(docs/node.md "The API process").

One stream socket (a socketpair the node makes) carries length-prefixed frames: a 4-byte
big-endian length, then that many bytes of CBOR (RFC 8949) holding one array:

    request   (API -> node)   [id, op, args]        id >= 1, op a text, args a map
    answer    (node -> API)   [id, 0, result]       the request succeeded
    refusal   (node -> API)   [id, 1, error]        error = {"code", "message", "fields"}
    event     (node -> API)   [0, 2, event]         event = {"event": name, ...}

The node treats the API process as the part of itself that faces the network: it trusts the
signature checks the API process reports (their cache entries, consensus.md §7) but checks the
form and size of every request before acting on it, so a confused API process can make at most
a refused request. This module does no I/O beyond reading and writing the sockets it is given.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping
from typing import Any

import cbor2

from ledger.errors import LedgerError

HEADER = struct.Struct(">I")
#: The largest frame either side sends or accepts: a block of 4 MiB, or a page of state entries,
#: with room for the CBOR around it.
MAX_FRAME = 16 * 1024 * 1024

ANSWER, REFUSAL, EVENT = 0, 1, 2

#: Bounds of the requests (checked by the node, respected by the client).
MAX_KEYS = 256
MAX_KEY_BYTES = 1024
MAX_PAGE = 1000
MAX_PAGE_BYTES = 1 << 20
MAX_ADMIT = 1000
MAX_TX_FRAME_BYTES = 64 * 1024
MAX_VERIFIED = 4 * MAX_ADMIT
MAX_VERIFIED_ENTRY = 256
MAX_RECORDS = 256


class GatewayError(LedgerError):
    """A failure of the gateway channel or a request it refuses. Codes: "gateway.closed" (the
    other side is gone), "gateway.frame" (a frame that is empty, too large or not CBOR),
    "gateway.bad_request" (a request of the wrong form; `field` names the member),
    "gateway.unknown_op", "gateway.snapshot_gone" (the height's snapshot was released; read at
    the new tip), "gateway.timeout" (no answer in time), "gateway.busy"."""

    code = "gateway.error"


def encode_frame(message: object) -> bytes:
    """The frame carrying `message`. Raises GatewayError "gateway.frame" if it exceeds MAX_FRAME."""
    payload = cbor2.dumps(message)
    if len(payload) > MAX_FRAME:
        raise GatewayError(f"a gateway frame of {len(payload)} bytes exceeds {MAX_FRAME}", code="gateway.frame", size=len(payload))
    return HEADER.pack(len(payload)) + payload


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: socket.socket) -> Any:
    """The next message on the blocking socket `sock`, or None at a clean end of stream. Raises
    GatewayError "gateway.frame" for an empty or oversized frame, bytes that are not CBOR, or a
    stream cut inside a frame; OSError from the socket."""
    header = _recv_exact(sock, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if not 0 < size <= MAX_FRAME:
        raise GatewayError(f"a gateway frame announces {size} bytes; 1..{MAX_FRAME} allowed", code="gateway.frame", size=size)
    payload = _recv_exact(sock, size)
    if payload is None:
        raise GatewayError("the gateway stream ended inside a frame", code="gateway.frame")
    try:
        return cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise GatewayError(f"a gateway frame is not CBOR: {exc}", code="gateway.frame") from None


class FrameWriter:
    """Writes whole frames to a blocking socket from any thread, one frame at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def write(self, message: object) -> None:
        """Send `message`. Raises GatewayError "gateway.closed" if the socket is gone."""
        frame = encode_frame(message)
        with self._lock:
            try:
                self._sock.sendall(frame)
            except OSError as exc:
                raise GatewayError(f"the gateway channel is closed: {exc}", code="gateway.closed") from None


def error_of(exc: LedgerError) -> dict[str, object]:
    """The refusal form of `exc`: its code, message and the fields CBOR can carry."""
    fields = {k: v for k, v in exc.fields.items() if isinstance(v, (str, int, bytes, bool)) or v is None}
    return {"code": exc.code, "message": str(exc), "fields": fields}


class RemoteError(LedgerError):
    """A LedgerError the node raised for a request, rebuilt on the API side with its code."""

    code = "gateway.remote"


def error_from(obj: object) -> LedgerError:
    """The LedgerError a refusal carries (RemoteError with its code and fields)."""
    if not isinstance(obj, Mapping):
        return GatewayError("the node refused a request without saying why", code="gateway.frame")
    fields = obj.get("fields")
    fields = dict(fields) if isinstance(fields, Mapping) else {}
    fields.pop("code", None)
    return RemoteError(str(obj.get("message", "")), code=str(obj.get("code", "gateway.remote")), **fields)


# -- checks of request arguments (node side) ------------------------------------------------------


def bad(message: str, field: str) -> GatewayError:
    return GatewayError(message, code="gateway.bad_request", field=field)


def need_map(args: object) -> Mapping[str, object]:
    if not isinstance(args, Mapping):
        raise bad("request arguments must be a map", "args")
    return args


def need_int(args: Mapping[str, object], name: str, low: int, high: int) -> int:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(f"{name} must be an integer in {low}..{high}", name)
    return value


def need_bytes(args: Mapping[str, object], name: str, max_size: int, *, optional: bool = False) -> bytes | None:
    value = args.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, bytes) or len(value) > max_size:
        raise bad(f"{name} must be a byte string of at most {max_size} bytes", name)
    return value


def need_list(args: Mapping[str, object], name: str, low: int, high: int) -> list[object]:
    value = args.get(name)
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise bad(f"{name} must be an array of {low}..{high} items", name)
    return value


def need_byte_items(items: list[object], name: str, max_size: int) -> list[bytes]:
    for i, item in enumerate(items):
        if not isinstance(item, bytes) or not 0 < len(item) <= max_size:
            raise bad(f"{name}[{i}] must be a byte string of 1..{max_size} bytes", f"{name}[{i}]")
    return items  # type: ignore[return-value]
