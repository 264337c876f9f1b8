"""The WAL of a height read back as the inputs a fresh state machine replays (consensus.md §10).

When consensus (re)starts at `tip + 1`, after a crash or after block sync, a node builds a new
engine and feeds it Start and then every input its WAL recorded for that height, in order: the
proposals and votes it received or signed, the timeouts that fired, the wake-ups of the empty
block wait. Its own votes come out again re-signed idempotently (§5), so the node regains its
lock and valid value. `read_replay` is that reading, shared by the node runtime (node.driver)
and the simulator. Pure: it reads no file (the caller passes the records), never reads the
clock and never drops a readable record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.errors import LedgerError
from node.consensus.events import Event, Start, wal_event


@dataclass(frozen=True)
class Replay:
    """What a restart at one height feeds its fresh engine (§10).

    `log_start`: the log was empty, so Start is a new input and must be appended to the WAL
    like any other; otherwise Start is in the log already. `events`: the recorded inputs after
    Start, oldest first (they are in the WAL: they are not appended again). `skipped`: the error
    of each record that could not be read back, in order."""

    log_start: bool
    events: tuple[Event, ...]
    skipped: tuple[LedgerError, ...]


def read_replay(records: Iterable[bytes]) -> Replay:
    """The replay of a log whose payloads are `records` (WAL.records, oldest first).

    A record `wal_event` refuses is left out and its ValidationError ("wal.bad_record") kept in
    `skipped`: the CRC vouched for its bytes, so it comes from a writer this reader does not
    understand, and replaying the others keeps more of the node's state than refusing to start.
    Start records are left out of `events` (the caller feeds Start first, once)."""
    payloads = list(records)
    events: list[Event] = []
    skipped: list[LedgerError] = []
    for payload in payloads:
        try:
            event = wal_event(payload)
        except LedgerError as exc:
            skipped.append(exc)
            continue
        if not isinstance(event, Start):
            events.append(event)
    return Replay(log_start=not payloads, events=tuple(events), skipped=tuple(skipped))
