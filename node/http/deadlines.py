"""The deadlines of one connection, watched by a single timer.

A connection has at most two deadlines at a time: one for what it reads (the keep-alive wait,
the request head, the body, a lingering close) and one for what it writes (an answer the client
does not read). Moving a deadline is an assignment; the timer is re-armed only when a deadline
comes earlier than the timer, and otherwise re-arms itself for the earliest deadline when it
fires. So a request costs no timer of its own: a keep-alive connection fires about once per
keep-alive period. This module never closes anything: it calls `expired(reason)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: call_at may run a callback up to the loop's clock resolution early.
_SLACK_S = 0.001
WRITE = "write"


class Deadlines:
    """A read deadline (with the reason it is reported under) and a write deadline."""

    __slots__ = ("loop", "expired", "read", "read_reason", "write", "timer", "timer_when")

    def __init__(self, loop: asyncio.AbstractEventLoop, expired: Callable[[str], None]) -> None:
        self.loop = loop
        self.expired = expired
        self.read: float | None = None
        self.read_reason = ""
        self.write: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0

    def set_read(self, when: float, reason: str) -> None:
        """Report `reason` if nothing clears or moves the read deadline before `when`."""
        self.read = when
        self.read_reason = reason
        self._arm(when)

    def set_write(self, when: float, *, keep: bool = True) -> None:
        """Report "write" at `when`; with `keep`, an earlier write deadline already set stays."""
        if not keep or self.write is None:
            self.write = when
        self._arm(when)

    def cancel(self) -> None:
        """Forget both deadlines and stop the timer."""
        self.read = self.write = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _arm(self, when: float) -> None:
        if self.timer is None or when < self.timer_when:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_when = when
            self.timer = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self.timer = None
        now = self.loop.time() + _SLACK_S
        read, write = self.read, self.write
        if write is not None and write <= now:
            self.write = None
            self.expired(WRITE)
        elif read is not None and read <= now:
            self.read = None
            self.expired(self.read_reason)
        if self.timer is None:
            pending = [d for d in (self.read, self.write) if d is not None]
            if pending:
                self._arm(min(pending))
