"""The node's end of the gateway: answers its API process without holding the consensus loop
(DESIGN §8a; the channel's form is node.gateway.protocol).

Two threads per channel. The reader takes requests in order: reads of a committed height
(`get`, `iterate`) are answered from that height's store snapshot on the reader thread itself,
never on the loop; transactions to admit are parsed there, then handed to the loop as one short
callback (the mempool lives on the loop); `status` and `pending` (is a transaction in the
mempool) are one short callback each; use records go to the
host's journal on a thread of its own, which takes every request queued meanwhile and journals
them together (one sync to disk for the group). The writer sends every answer
and event, so nothing on the loop ever waits for the API process to read. When the channel
closes the host is told on the loop.

Never lets a request run for long on the loop, never answers for a height it holds no snapshot
of, and never logs a request's contents.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
from collections.abc import Mapping
from typing import Protocol

from ledger.errors import LedgerError
from ledger.tx import Tx
from node.gateway.protocol import (
    ANSWER, EVENT, MAX_ADMIT, MAX_KEY_BYTES, MAX_KEYS, MAX_PAGE, MAX_PAGE_BYTES, MAX_RECORDS, MAX_TX_FRAME_BYTES,
    MAX_VERIFIED, MAX_VERIFIED_ENTRY, REFUSAL, GatewayError, encode_frame, error_of, need_byte_items, need_bytes,
    need_int, need_list, need_map, read_frame,
)
from node.gateway.snapshots import Snapshots

log = logging.getLogger("eledger.gateway")

MAX_HEIGHT = 2**53 - 1
TX_ID_BYTES = 32
#: Frames waiting for the API process to read them before the channel is deemed stuck.
MAX_QUEUED_FRAMES = 50_000
_CLOSE = b""
#: The journal thread calls the host's `gateway_idle` after this long without records.
JOURNAL_IDLE_S = 0.1


class GatewayHost(Protocol):
    """What the gateway needs from the node. `admit`, `status` and `pending` run on the consensus loop;
    `record_uses` and `idle` on a journal thread; `closed` on the loop."""

    def gateway_admit(self, txs: list[Tx], verified: list[bytes]) -> list[LedgerError | None]:
        """Admit `txs` (signature checks in `verified` were done by the API process)."""
        ...

    def gateway_status(self) -> dict[str, object]:
        ...

    def gateway_pending(self, tx_id: bytes) -> bool:
        """Whether the mempool holds the transaction `tx_id`."""
        ...

    def gateway_record_uses(self, batches: list[list[dict[str, object]]]) -> list[list[dict[str, object]] | LedgerError]:
        """Journal every batch of records durably (one sync) and return, per batch, its signed
        receipts in order or the LedgerError that refused it."""
        ...

    def gateway_idle(self) -> None:
        """The journal thread had nothing to record for JOURNAL_IDLE_S: time for work that
        waits for a quiet moment (packing the last, partial use.record transaction)."""
        ...

    def gateway_closed(self) -> None:
        ...


class GatewayServer:
    """Serves one API process over `sock` (blocking, connected) for `host`, reading from
    `snapshots`; `loop` is the consensus loop. `start()` starts the threads."""

    def __init__(self, sock: socket.socket, host: GatewayHost, snapshots: Snapshots, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._host = host
        self._snapshots = snapshots
        self._loop = loop
        self._out: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._queued = 0
        self._queued_lock = threading.Lock()
        self._closed = threading.Event()
        self._uses: queue.SimpleQueue[tuple[int, list[dict[str, object]]] | None] = queue.SimpleQueue()
        self._journal = threading.Thread(target=self._journal_loop, name="gateway-journal", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="gateway-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="gateway-writer", daemon=True)
        self.requests = 0

    def start(self) -> None:
        self._reader.start()
        self._writer.start()
        self._journal.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def publish(self, event: Mapping[str, object]) -> None:
        """Send an event to the API process (from any thread; never blocks)."""
        self._send([0, EVENT, dict(event)])

    def close(self) -> None:
        """Stop serving: shut the socket (the API process sees the end) and let the threads end."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._out.put(_CLOSE)
        self._uses.put(None)

    def join(self, timeout: float = 5.0) -> None:
        for thread in (self._reader, self._writer, self._journal):
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)
        self._sock.close()

    # -- sending -------------------------------------------------------------------------------

    def _send(self, message: list[object]) -> None:
        if self._closed.is_set():
            return
        try:
            frame = encode_frame(message)
        except GatewayError as exc:
            request = message[0]
            if request:
                frame = encode_frame([request, REFUSAL, error_of(exc)])
            else:
                log.error("gateway event too large; not sent", extra={"fields": {"event": str(message[2].get("event") if isinstance(message[2], dict) else "")}})
                return
        with self._queued_lock:
            self._queued += 1
            stuck = self._queued > MAX_QUEUED_FRAMES
        if stuck:
            log.error("the API process does not read its gateway channel; closing it", extra={"fields": {"queued": self._queued}})
            self._shut()
            return
        self._out.put(frame)

    def _answer(self, request: int, result: object) -> None:
        self._send([request, ANSWER, result])

    def _refuse(self, request: int, exc: LedgerError) -> None:
        self._send([request, REFUSAL, error_of(exc)])

    def _write_loop(self) -> None:
        while True:
            frame = self._out.get()
            if frame is _CLOSE:
                return
            with self._queued_lock:
                self._queued -= 1
            try:
                self._sock.sendall(frame)
            except OSError:
                self._shut()
                return

    def _shut(self) -> None:
        if not self._closed.is_set():
            self.close()
            self._loop.call_soon_threadsafe(self._host.gateway_closed)

    # -- reading requests -------------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    message = read_frame(self._sock)
                except GatewayError as exc:
                    log.error("malformed frame from the API process; closing the channel", extra={"fields": {"code": exc.code, "reason": str(exc)}})
                    break
                if message is None:
                    break
                self.requests += 1
                request = message[0] if isinstance(message, list) and len(message) == 3 and isinstance(message[0], int) else 0
                if request < 1 or not isinstance(message[1], str):
                    log.error("request of the wrong form from the API process; closing the channel")
                    break
                try:
                    self._dispatch(request, message[1], need_map(message[2]))
                except LedgerError as exc:
                    self._refuse(request, exc)
        except OSError:
            pass
        finally:
            self._shut()

    def _dispatch(self, request: int, op: str, args: Mapping[str, object]) -> None:
        if op == "get":
            self._answer(request, self._get(args))
        elif op == "iterate":
            self._answer(request, self._iterate(args))
        elif op == "admit":
            txs, verified = self._parse_admit(args)
            self._loop.call_soon_threadsafe(self._admit_on_loop, request, txs, verified)
        elif op == "status":
            self._loop.call_soon_threadsafe(self._status_on_loop, request)
        elif op == "pending":
            tx_id = need_bytes(args, "tx_id", TX_ID_BYTES)
            if len(tx_id) != TX_ID_BYTES:  # type: ignore[arg-type]
                raise GatewayError(f"tx_id must be {TX_ID_BYTES} bytes", code="gateway.bad_request", field="tx_id")
            self._loop.call_soon_threadsafe(self._pending_on_loop, request, tx_id)
        elif op == "uses":
            records = need_list(args, "records", 1, MAX_RECORDS)
            for i, record in enumerate(records):
                if not isinstance(record, dict):
                    raise GatewayError(f"records[{i}] must be a map", code="gateway.bad_request", field=f"records[{i}]")
            self._uses.put((request, records))  # type: ignore[arg-type]
        else:
            raise GatewayError(f"unknown gateway operation {op[:40]!r}", code="gateway.unknown_op", field="op")

    def _get(self, args: Mapping[str, object]) -> list[bytes | None]:
        height = need_int(args, "height", 0, MAX_HEIGHT)
        keys = need_byte_items(need_list(args, "keys", 1, MAX_KEYS), "keys", MAX_KEY_BYTES)
        with self._snapshots.lease(height) as snapshot:
            return [snapshot.get(key) for key in keys]

    def _iterate(self, args: Mapping[str, object]) -> dict[str, object]:
        height = need_int(args, "height", 0, MAX_HEIGHT)
        prefix = need_bytes(args, "prefix", MAX_KEY_BYTES)
        start = need_bytes(args, "start", MAX_KEY_BYTES, optional=True)
        limit = need_int(args, "limit", 1, MAX_PAGE)
        items: list[list[bytes]] = []
        size = 0
        with self._snapshots.lease(height) as snapshot:
            for key, value in snapshot.iterate(prefix, start):  # type: ignore[arg-type]
                if len(items) >= limit or (items and size + len(key) + len(value) > MAX_PAGE_BYTES):
                    return {"items": items, "more": True}
                items.append([key, value])
                size += len(key) + len(value)
        return {"items": items, "more": False}

    @staticmethod
    def _parse_admit(args: Mapping[str, object]) -> tuple[list[Tx | LedgerError], list[bytes]]:
        raws = need_byte_items(need_list(args, "txs", 1, MAX_ADMIT), "txs", MAX_TX_FRAME_BYTES)
        verified = need_byte_items(need_list(args, "verified", 0, MAX_VERIFIED), "verified", MAX_VERIFIED_ENTRY)
        parsed: list[Tx | LedgerError] = []
        for raw in raws:
            try:
                parsed.append(Tx.from_bytes(raw))
            except LedgerError as exc:
                parsed.append(exc)
        return parsed, verified

    # -- on the consensus loop ----------------------------------------------------------------

    def _admit_on_loop(self, request: int, parsed: list[Tx | LedgerError], verified: list[bytes]) -> None:
        txs = [item for item in parsed if isinstance(item, Tx)]
        try:
            refusals = iter(self._host.gateway_admit(txs, verified) if txs else [])
        except LedgerError as exc:
            self._refuse(request, exc)
            return
        outcome = []
        for item in parsed:
            error = item if isinstance(item, LedgerError) else next(refusals)
            outcome.append(None if error is None else error_of(error))
        self._answer(request, outcome)

    def _status_on_loop(self, request: int) -> None:
        try:
            self._answer(request, self._host.gateway_status())
        except LedgerError as exc:
            self._refuse(request, exc)

    def _pending_on_loop(self, request: int, tx_id: bytes) -> None:
        self._answer(request, bool(self._host.gateway_pending(tx_id)))

    # -- on the journal thread ----------------------------------------------------------------

    def _journal_loop(self) -> None:
        while True:
            try:
                first = self._uses.get(timeout=JOURNAL_IDLE_S)
            except queue.Empty:
                self._idle()
                continue
            if first is None:
                return
            group = [first]
            while True:
                try:
                    item = self._uses.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._uses.put(None)
                    break
                group.append(item)
            self._record_uses(group)

    def _idle(self) -> None:
        try:
            self._host.gateway_idle()
        except Exception:
            log.exception("the journal thread's idle work failed")

    def _record_uses(self, group: list[tuple[int, list[dict[str, object]]]]) -> None:
        try:
            outcomes = self._host.gateway_record_uses([records for _, records in group])
        except LedgerError as exc:
            for request, _ in group:
                self._refuse(request, exc)
            return
        except Exception:
            log.exception("recording use records failed")
            for request, _ in group:
                self._refuse(request, GatewayError("the node could not record the use; retry", code="gateway.busy"))
            return
        for (request, _), outcome in zip(group, outcomes):
            if isinstance(outcome, LedgerError):
                self._refuse(request, outcome)
            else:
                self._answer(request, outcome)
